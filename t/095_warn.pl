# Warn mode (enforce=warn), as a user sees it: a class in warn mode has
# every limit judged as usual, and nothing done to it.  A login past its
# cap gets in; a transaction past active=N goes in at once; one that its
# WAL budget would hold goes on; a statement past switch_time runs to its
# end; a query past session_mem returns its result; an idle blocker past
# idle_blocker_timeout stays.  Each would-be action is counted in
# pg_budget_status (warned and warned_* by reason) and recorded in
# pg_budget_events (action "warn: ...", the reason as its signal), and the
# worker's are LOG lines.  A pause is the operator's own act and is kept.
# A reload to enforce=on enforces the same limits at once, and the same
# table with enforce=on refuses what warn let through.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbSession;
use PgbNode;
use Time::HiRes qw(time usleep);

my $ai_keys =
  'priority=10, shed=cancel, max=2, active=1, queue_timeout=0, switch_time=500ms, switch_to=cancel, '
  . 'idle_blocker_timeout=1s, session_mem=32MB';
my $classes = "web(priority=100), ai($ai_keys, enforce=warn), bulk(priority=5, wal=64kB/s, enforce=warn)";
my $node = pgb_node(
	'warn',
	session => 1,
	conf => "pg_budget.shedding = on\nmax_parallel_workers_per_gather = 0\njit = off\n",
	classes => $classes,
	roles => [ w => 'web', a => 'ai', b => 'bulk', suai => [ 'ai', 'SUPERUSER' ] ],
	sql => q{
CREATE TABLE queue(id int PRIMARY KEY, taken_by text);
INSERT INTO queue SELECT g, NULL FROM generate_series(1, 10) g;
CREATE TABLE sink(v text);
GRANT ALL ON queue, sink TO PUBLIC;
} . pgb_spin_sql());
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $ctl = control_session($su);

is(ctl("SELECT string_agg(class || ':' || enforce, ' ' ORDER BY class) FROM pg_budget_status WHERE class IN ('ai', 'bulk', 'web')"),
	'ai:warn bulk:warn web:on', 'pg_budget_status.enforce shows each class\'s mode');

sub warned
{
	my ($class, $col) = @_;
	return ctl("SELECT $col FROM pg_budget_status WHERE class = '$class'");
}

# "action|signal|count" of the events of $class with "warn" in their action
sub warn_events
{
	my ($class, $signal) = @_;
	return ctl(qq{SELECT coalesce(sum(count), 0) FROM pg_budget_events
	  WHERE class = '$class' AND action LIKE 'warn: %' AND signal = '$signal'});
}

sub verbose_session
{
	my ($role) = @_;
	my $s = session($role);
	sess_send($s, '\set VERBOSITY verbose');
	return $s;
}

#
# The cap: a third login of ai (max=2) gets in
#
my @ai = map { verbose_session('a') } 1 .. 3;
is(scalar(grep { alive($_) } @ai), 3, 'three logins of ai (max=2, enforce=warn) are all in');
is(sess_query($ai[2], 'SELECT 1'), '1', 'the third runs queries');
is(warned('ai', 'warned_cap'), '1', 'pg_budget_status.warned_cap counts the login past the cap');
is(warned('ai', 'rejected'), '0', 'and nothing was rejected');
like(ctl(q{SELECT action || '|' || signal || '|' || reason FROM pg_budget_events WHERE class = 'ai' AND signal = 'cap'}),
	qr/^warn: refuse\|cap\|cap: 2 connections, cap 2,/, 'pg_budget_events: "warn: refuse" with the numbers of the refusal');
my ($rc, $o, $e) = login('a');
is($rc, 0, 'a fourth login is let in too');
is(warned('ai', 'warned_cap'), '2', 'and counted');

#
# The gate: a transaction past active=1 (queue_timeout=0) goes in at once
#
sess_query($ai[0], 'BEGIN; SELECT 1');
my ($out, $err) = sess_query_err($ai[1], 'SELECT 42');
is($out, '42', 'a transaction past active=1 runs at once');
is($err, '', '... with no error (queue_timeout=0 would refuse it)');
is(warned('ai', 'warned_active'), '1', 'pg_budget_status.warned_active counts it');
is(warned('ai', 'queue_timeouts'), '0', 'and no queue timeout');
is(warn_events('ai', 'active'), '1', 'pg_budget_events: one "warn: queue" of signal active');
sess_query($ai[0], 'COMMIT');

#
# The WAL budget: bulk (64kB/s) writes 4 MB in 8 transactions, no wait
#
my $bulk = verbose_session('b');
my $t0 = time;
for my $i (1 .. 8)
{
	sess_query($bulk, "INSERT INTO sink SELECT repeat('x', 500) FROM generate_series(1, 1000)");
}
my $wal_secs = time - $t0;
diag(sprintf('bulk wrote 8 transactions of WAL in %.1f s against a budget of 64kB/s', $wal_secs));
is(warned('bulk', 'wal_throttles'), '0', 'no bulk transaction waited for its WAL budget');
cmp_ok(warned('bulk', 'warned_wal'), '>=', 1, 'pg_budget_status.warned_wal counts those that would have');
like(ctl(q{SELECT action || '|' || reason FROM pg_budget_events WHERE class = 'bulk' AND signal = 'wal' ORDER BY at DESC LIMIT 1}),
	qr/^warn: throttle\|the WAL budget of 64 kB\/s was \d+ kB in debt: the transaction would have waited \d+ ms$/,
	'pg_budget_events: "warn: throttle", how far in debt and how long it would have waited');

#
# switch_time=500ms: a statement of 1.5 s of CPU runs to its end, counted once
#
($out, $err) = sess_query_err($ai[1], 'SELECT spin(1.5) > 0');
is($out, 't', 'a statement past switch_time of CPU runs to its end');
is($err, '', '... with no error');
is(warned('ai', 'warned_runaway'), '1', 'pg_budget_status.warned_runaway counts it once');
is(warn_events('ai', 'runaway'), '1', 'pg_budget_events: one "warn: cancel" of signal runaway');
like(slurp_file($node->logfile),
	qr/LOG:  pg_budget: warn: would cancel pid $ai[1]{pid} of class "ai" \(role "a"\), signal runaway: the statement used/,
	'and a LOG line saying what it would have done');
($out, $err) = sess_query_err($ai[1], 'SELECT spin(0.2) > 0');
is(warned('ai', 'warned_runaway'), '1', 'a statement under switch_time is not counted');

#
# session_mem=32MB: a query holding 48 MB returns its result
#
($out, $err) = sess_query_err($ai[1],
	"SELECT length(repeat(repeat('x', 1048576), 48 + (random() * 0)::int)), pg_sleep(2.5)");
is($out, '50331648|', 'a query past session_mem returns its result');
is($err, '', '... with no error');
is(warned('ai', 'warned_memory'), '1', 'pg_budget_status.warned_memory counts it once');
like(ctl(q{SELECT action || '|' || reason FROM pg_budget_events WHERE class = 'ai' AND signal = 'memory'}),
	qr/^warn: cancel\|memory: the session held \d+ MB, past session_mem=32 MB of class "ai"$/,
	'pg_budget_events: "warn: cancel" with the numbers');

#
# idle_blocker_timeout=1s: an idle blocker past it stays, counted
#
my $web = verbose_session('w');
sess_query($ai[2], "BEGIN; UPDATE queue SET taken_by = 'ai' WHERE id = 1");
sess_send($web, "UPDATE queue SET taken_by = 'web' WHERE id = 1;\n\\echo web-done");
ok(wait_ctl(q{SELECT warned_idle_blocker > 0 FROM pg_budget_status WHERE class = 'ai'}, 't', 20),
	'pg_budget_status.warned_idle_blocker counts the idle blocker past its timeout');
usleep(1_500_000);
ok(alive($ai[2]) && !sess_wait($web, qr/web-done/, 0.1), 'the idle blocker is still there, its waiter still waits');
is(sess_query($ai[2], 'COMMIT; SELECT 1'), '1', 'and its session is usable');
ok(sess_wait($web, qr/web-done/, 10), 'the waiter goes on after its commit');
like(ctl(q{SELECT action || '|' || reason FROM pg_budget_events WHERE class = 'ai' AND signal = 'idle blocker' LIMIT 1}),
	qr/^warn: terminate\|idle in transaction for \d+\.\d s while pid $web->{pid} \(class "web"\) waited/,
	'pg_budget_events: "warn: terminate" naming whom it blocked');

sess_close($ai[2]);
my $total = warned('ai', 'warned');
is($total, warned('ai', 'warned_cap + warned_reserve + warned_rate + warned_active + warned_wal + warned_shed + warned_memory + warned_runaway + warned_idle_blocker'),
	'warned is the sum of warned_*');

#
# A pause is the operator's act: kept in warn mode
#
ctl(q{SELECT pg_budget_pause('ai')});
($rc, $o, $e) = login('a');
like($e, qr/FATAL:  pg_budget: class "ai" is paused/, 'a paused class in warn mode still refuses logins');
ctl(q{SELECT pg_budget_resume('ai')});

#
# pg_budget_reset zeroes the counts
#
ctl('SELECT pg_budget_reset()');
is(warned('ai', 'warned'), '0', 'pg_budget_reset zeroes warned');

#
# enforce=on by a reload: the same limits enforced
#
(my $on = $classes) =~ s/enforce=warn/enforce=on/g;
ctl("ALTER SYSTEM SET pg_budget.classes = '$on'");
ctl('SELECT pg_reload_conf()');
ok(wait_ctl(q{SELECT enforce FROM pg_budget_status WHERE class = 'ai'}, 'on', 10), 'a reload turns enforce on');
($rc, $o, $e) = login('a');
# (the cap of 2, or the admission limit the worker lowered it to under
# the lock pressure above: judged as usual in warn mode, now enforced)
like($e, qr/FATAL:  pg_budget: class "ai" is at its (?:cap of 2|admission limit of [12]) connections/,
	'now a login past the cap is refused');
sess_query($ai[0], 'BEGIN; SELECT 1');
($out, $err) = sess_query_err($ai[1], 'SELECT 42');
like($err, qr/ERROR:  53400: pg_budget: class "ai" is at its limit of 1 active transactions/,
	'and a transaction past active=1 with queue_timeout=0 is refused');
sess_query($ai[0], 'COMMIT');
($out, $err) = sess_query_err($ai[1], 'SELECT spin(1.5) > 0');
like($err, qr/ERROR:  57014: pg_budget: statement of class "ai" cancelled/,
	'and a statement past switch_time is cancelled');
is(warned('ai', 'warned'), '0', 'nothing more is counted as warned');

#
# bad values: refused, the table in force unchanged
#
for my $bad ('ai(enforce=off)', 'ai(enforce=)', 'ai(enforce=warn, enforce=on)')
{
	my ($so, $se) = ('', '');
	$node->psql('postgres', "ALTER SYSTEM SET pg_budget.classes = '$bad'", stdout => \$so, stderr => \$se);
	like($se, qr/ERROR:  invalid value for parameter "pg_budget\.classes".*\n.*DETAIL:  class "ai": /,
		"ALTER SYSTEM refuses $bad with the class named");
}
is(ctl('SHOW pg_budget.classes'), $on, 'the table in force is unchanged');

$_->{run}->kill_kill for grep { alive($_) } (@ai[0, 1], $bulk, $web);
my $log = slurp_file($node->logfile);
unlike($log, qr/was terminated by signal|PANIC|TRAP:/, 'no backend crashed');
$node->stop;
done_testing();
