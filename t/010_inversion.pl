# Priority inversion: a session of a higher class waits on a lock held by a
# session of a lower, sheddable class for longer than
# pg_budget.lock_wait_threshold, and the worker sheds the holder (terminate
# if it is idle in transaction, cancel if it is running a query).  Holders
# of higher priority, of shed=never classes, of shed=cancel classes sitting
# idle in a transaction and exempt superusers are left alone; dry_run only
# records, off does nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbSession;
use PgbNode;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $threshold_ms = 300;

my $node = pgb_node(
	'inversion',
	session => 1,
	conf => "max_connections = 40\nlog_error_verbosity = verbose\n"
	  . "pg_budget.lock_wait_threshold = ${threshold_ms}ms\n",
	classes => 'web(max=20, priority=100), ai(max=10, priority=10, shed=terminate), '
	  . 'soft(max=10, priority=5, shed=cancel), batch(max=10, priority=1)',
	roles => [ w => 'web', a => 'ai', sc => 'soft', bt => 'batch', suai => [ 'ai', 'SUPERUSER' ] ],
	sql => q{
CREATE TABLE jobs (id int PRIMARY KEY, owner text);
INSERT INTO jobs SELECT g, 'nobody' FROM generate_series(1, 20) g;
GRANT SELECT, UPDATE ON jobs TO w, a, sc, bt;
});
my $su = $node->safe_psql('postgres', 'SELECT current_user');

#
# Sessions (t/PgbSession.pm): a psql reading SQL from a pipe, whose
# output is kept so that what its client saw can be checked.
#
# The control session: superuser of the default class.
my $ctl = control_session($su);

# Number of events recorded so far: the sheds of a case are those after it.
sub event_mark
{
	return ctl('SELECT count(*) FROM pg_budget_events');
}

# class|action|signal|pid of the shed (or would-shed) events after $mark
sub sheds_since
{
	my ($mark) = @_;
	return ctl(
		qq{SELECT coalesce(string_agg(concat_ws('|', class, action, signal, pid), ',' ORDER BY n), '')
			 FROM pg_budget_events() WITH ORDINALITY e(at, class, pid, role, action, signal, reason, count, n)
			WHERE n > $mark AND action ~ '(cancel|terminate)'});
}

sub lock_stat
{
	my ($waiter, $blocker, $col) = @_;
	return ctl(
		"SELECT coalesce(sum($col), 0) FROM pg_budget_lock_stats WHERE waiter_class = '$waiter' AND blocker_class = '$blocker'"
	);
}

# Poll the server log from $offset until it matches $re (at most $secs).
sub log_matches
{
	my ($re, $offset, $secs) = @_;
	my $deadline = time + ($secs // 10);
	while (1)
	{
		return 1 if slurp_file($node->logfile, $offset) =~ $re;
		return 0 if time > $deadline;
		usleep(50_000);
	}
}

# Wait until pid $pid waits on a lock, or sleeps in pg_sleep.
sub wait_event_is
{
	my ($pid, $event) = @_;
	return wait_ctl(
		"SELECT wait_event FROM pg_stat_activity WHERE pid = $pid",
		$event);
}

sub set_shedding
{
	my ($mode) = @_;
	ctl("ALTER SYSTEM SET pg_budget.shedding = '$mode'");
	ctl('SELECT pg_reload_conf()');
	# a new session sees what the postmaster (and so the worker) was told
	ok( $node->poll_query_until(
			'postgres', 'SHOW pg_budget.shedding', $mode),
		"pg_budget.shedding is $mode after the reload");
}

ctl('SELECT pg_budget_reset()');
my $web = session('w');
my $webpid = $web->{pid};
is(sess_query($web, 'SHOW pg_budget.class'), 'web', 'w is of class web');

#
# (a) An ai session idle in transaction holds a row lock; a web UPDATE of
# that row would wait forever.  The worker terminates the ai session once
# web has waited past the threshold.
#
my $mark = event_mark();
my $offset = -s $node->logfile;
my $ai = session('a');
my $aipid = $ai->{pid};
is(sess_query($ai, 'SHOW pg_budget.class'), 'ai', 'a is of class ai');
sess_query($ai, "BEGIN; UPDATE jobs SET owner = 'ai' WHERE id = 1;");
ok(wait_ctl("SELECT state FROM pg_stat_activity WHERE pid = $aipid",
		'idle in transaction'),
	'(a) the ai session is idle in transaction holding row 1');

sess_query($web, "SET statement_timeout = '30s'");
my $t0 = time;
sess_send($web,
	"UPDATE jobs SET owner = 'web' WHERE id = 1 RETURNING 'web updated ' || id;"
);
ok(sess_wait($web, qr/^web updated 1$/m, 35),
	'(a) the web UPDATE of the locked row completes');
my $waited = time - $t0;
cmp_ok($waited, '>=', $threshold_ms / 1000,
	'(a) web waited at least lock_wait_threshold before the holder was shed');
cmp_ok($waited, '<', 10, "(a) ... and not much longer (waited ${waited}s)");
unlike($web->{stderr}, qr/ERROR/, '(a) the web UPDATE got no error');

# the ai client learns about it at its next query
sess_send($ai, "SELECT 'ai still here';");
ok(sess_wait_exit($ai), '(a) the ai client lost its connection');
unlike($ai->{stdout}, qr/ai still here/, '(a) the ai query did not run');
like(
	$ai->{stderr},
	qr/FATAL:  terminating connection due to administrator command\nDETAIL:  pg_budget terminated this session: it blocked pid $webpid of class "web" \(priority 100\) for \d+\.\d s on a lock/,
	'(a) the ai client sees why it was terminated');
sess_close($ai);
is(ctl('SELECT owner FROM jobs WHERE id = 1'),
	'web', "(a) row 1 holds web's update, ai's was rolled back");

is(sheds_since($mark), "ai|terminate|lock|$aipid",
	'(a) pg_budget_events: one terminate of the ai session, signal lock');
like(
	ctl(qq{SELECT reason FROM pg_budget_events WHERE pid = $aipid AND action = 'terminate'}),
	qr/^it blocked pid $webpid of class "web" \(priority 100\) for \d+\.\d s on a lock$/,
	'(a) the event gives the reason');
is(status('ai', qw(shed shed_cancel shed_terminate)),
	'shed=1 shed_cancel=0 shed_terminate=1',
	'(a) pg_budget_status counts the terminate for ai');
is(status('web', qw(shed)), 'shed=0', '(a) nothing shed of web');
cmp_ok(lock_stat('web', 'ai', 'inversions_acted'),
	'>=', 1, '(a) pg_budget_lock_stats: web/ai inversions_acted >= 1');
cmp_ok(lock_stat('web', 'ai', 'waits'),
	'>=', 1, '(a) pg_budget_lock_stats: web/ai waits >= 1');
cmp_ok(lock_stat('web', 'ai', 'longest_wait_ms'),
	'>=', $threshold_ms, '(a) pg_budget_lock_stats: web/ai longest wait past the threshold');
ok( log_matches(
		qr/LOG:  00000: pg_budget: terminated pid $aipid of class "ai" \(role "a"\), signal lock: it blocked pid $webpid of class "web"/,
		$offset),
	'(a) the server log names the terminated pid');
ok(wait_ctl("SELECT connected FROM pg_budget_status WHERE class = 'ai'", '0'),
	'(a) the ai slot is given back');

#
# (b) An ai session holding the lock while running a query is cancelled:
# its transaction aborts, which releases the lock, and it stays connected.
#
$mark = event_mark();
$offset = -s $node->logfile;
my $ai2 = session('a');
my $ai2pid = $ai2->{pid};
sess_send($ai2,
	"BEGIN;\nUPDATE jobs SET owner = 'ai' WHERE id = 2;\nSELECT pg_sleep(60);"
);
ok(wait_event_is($ai2pid, 'PgSleep'),
	'(b) the ai session sleeps in pg_sleep holding row 2');
$t0 = time;
sess_send($web,
	"UPDATE jobs SET owner = 'web' WHERE id = 2 RETURNING 'web updated ' || id;"
);
ok(sess_wait($web, qr/^web updated 2$/m, 35),
	'(b) the web UPDATE of the locked row completes');
$waited = time - $t0;
cmp_ok($waited, '>=', $threshold_ms / 1000,
	'(b) web waited at least lock_wait_threshold');
cmp_ok($waited, '<', 10, "(b) ... and not much longer (waited ${waited}s)");
ok( sess_wait($ai2, qr/canceling statement/, 5),
	'(b) the ai client got an error');
like(
	$ai2->{stderr},
	qr/ERROR:  canceling statement due to user request\nDETAIL:  pg_budget cancelled the query of this session: it blocked pid $webpid of class "web" \(priority 100\) for \d+\.\d s on a lock/,
	'(b) the ai client sees why its query was cancelled');
is(sess_query($ai2, "ROLLBACK; SELECT 'ai2 alive'"),
	'ai2 alive', '(b) the cancelled ai session is still connected');
is(sheds_since($mark), "ai|cancel|lock|$ai2pid",
	'(b) pg_budget_events: one cancel of the ai session, signal lock');
is(status('ai', qw(shed shed_cancel shed_terminate)),
	'shed=2 shed_cancel=1 shed_terminate=1',
	'(b) pg_budget_status counts the cancel for ai');
ok( log_matches(
		qr/pg_budget: cancelled pid $ai2pid of class "ai" \(role "a"\), signal lock: it blocked pid $webpid/,
		$offset),
	'(b) the server log names the cancelled pid');
sess_close($ai2);
ok(wait_ctl("SELECT connected FROM pg_budget_status WHERE class = 'ai'", '0'),
	'(b) the ai slot is given back');

# Each inversion was answered by shedding its blocker: two of them are no
# steady stream (pg_budget.lock_pressure_rate), so ai's admission limit is
# untouched and nothing else of ai was shed.
is(ctl("SELECT effective_max FROM pg_budget_status WHERE class = 'ai'"),
	'10', '(a, b) two inversions leave the ai admission limit at its max');
is(ctl("SELECT count(*) FROM pg_budget_events WHERE action IN ('limit', 'would limit')"),
	'0', '(a, b) no limit change was recorded');

#
# (c) The other way round: web holds the lock and ai waits.  A blocker of
# higher priority is never shed, however long the wait.
#
$mark = event_mark();
my $inv_before = lock_stat('ai', 'web', 'inversions_acted');
sess_query($web, "BEGIN; UPDATE jobs SET owner = 'web' WHERE id = 3;");
my $ai3 = session('a');
sess_query($ai3, "SET statement_timeout = '30s'");
sess_send($ai3,
	"UPDATE jobs SET owner = 'ai' WHERE id = 3 RETURNING 'ai updated ' || id;"
);
ok( wait_ctl(
		"SELECT coalesce(max(longest_wait_ms), 0) >= 3 * $threshold_ms FROM pg_budget_lock_stats WHERE waiter_class = 'ai' AND blocker_class = 'web'",
		't'),
	'(c) ai has waited on web for three times the threshold');
is( ctl("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $ai3->{pid}"),
	'Lock', '(c) the ai UPDATE is still waiting');
is(sheds_since($mark), '', '(c) nobody was shed');
is(status('web', qw(shed)), 'shed=0', '(c) pg_budget_status: web shed = 0');
is(lock_stat('ai', 'web', 'inversions_acted'),
	$inv_before, '(c) ai/web inversions_acted unchanged');
is(sess_query($web, "SELECT 'web alive'"),
	'web alive', '(c) the web session still works');
sess_query($web, 'COMMIT');
ok(sess_wait($ai3, qr/^ai updated 3$/m, 10),
	'(c) the ai UPDATE completes once web commits');
sess_close($ai3);
ok(wait_ctl("SELECT connected FROM pg_budget_status WHERE class = 'ai'", '0'),
	'(c) the ai slot is given back');

# A holder that may not be shed: web waits for 1 s (over three times the
# threshold) and is cancelled by its own statement_timeout, not by
# pg_budget; the holder stays.
sub blocked_web_update
{
	my ($id) = @_;
	my $errs = length $web->{stderr};
	sess_query($web, "SET statement_timeout = '1s'");
	my $out = sess_query($web,
		"UPDATE jobs SET owner = 'web' WHERE id = $id RETURNING 'web updated ' || id;",
		30);
	sess_query($web, "SET statement_timeout = '30s'");
	return ($out, substr($web->{stderr}, $errs));
}

#
# (d) batch (shed=never) holds the lock: web waits, nothing is shed, but
# the wait is in the lock statistics.
#
$mark = event_mark();
my $bt = session('bt');
is(sess_query($bt, 'SHOW pg_budget.class'), 'batch', 'bt is of class batch');
sess_query($bt, "BEGIN; UPDATE jobs SET owner = 'batch' WHERE id = 4;");
my ($out, $err) = blocked_web_update(4);
is($out, '', '(d) the web UPDATE did not get the row');
like(
	$err,
	qr/ERROR:  canceling statement due to statement timeout\n/,
	'(d) web waited until its own statement_timeout');
unlike($err, qr/pg_budget/, '(d) ... and pg_budget did not cancel it');
is(sess_query($bt, "SELECT 'batch alive'"),
	'batch alive', '(d) the batch session still holds its transaction');
is(sheds_since($mark), '', '(d) nobody was shed');
is(status('batch', qw(shed)), 'shed=0', '(d) pg_budget_status: batch shed = 0');
cmp_ok(lock_stat('web', 'batch', 'waits'),
	'>=', 1, '(d) pg_budget_lock_stats records web waiting on batch');
# blockers are looked up every 250 ms, so the longest wait seen is a bit
# short of the full second
cmp_ok(lock_stat('web', 'batch', 'longest_wait_ms'),
	'>=', 2 * $threshold_ms, '(d) ... for well past the threshold');
is(lock_stat('web', 'batch', 'inversions_acted'),
	'0', '(d) ... with inversions_acted 0');
sess_query($bt, 'COMMIT');
is(ctl('SELECT owner FROM jobs WHERE id = 4'), 'batch',
	"(d) batch's update is committed");
sess_close($bt);

#
# (e) soft (shed=cancel) idle in transaction: a cancel does not reach an
# idle session and terminate is not allowed, so it stays.
#
$mark = event_mark();
my $sc = session('sc');
is(sess_query($sc, 'SHOW pg_budget.class'), 'soft', 'sc is of class soft');
sess_query($sc, "BEGIN; UPDATE jobs SET owner = 'soft' WHERE id = 5;");
($out, $err) = blocked_web_update(5);
like(
	$err,
	qr/ERROR:  canceling statement due to statement timeout\n/,
	'(e) web waited until its own statement_timeout');
is(sess_query($sc, "SELECT 'soft alive'"),
	'soft alive', '(e) the soft session still holds its transaction');
unlike($sc->{stderr}, qr/./, '(e) the soft client saw no error');
is(sheds_since($mark), '', '(e) nothing was shed');
is(status('soft', qw(shed)), 'shed=0', '(e) pg_budget_status: soft shed = 0');
cmp_ok(lock_stat('web', 'soft', 'waits'),
	'>=', 1, '(e) pg_budget_lock_stats records web waiting on soft');
is(lock_stat('web', 'soft', 'inversions_acted'),
	'0', '(e) ... with inversions_acted 0');
sess_query($sc, 'COMMIT');
sess_close($sc);

#
# (f) A superuser whose class is ai, idle in transaction: exempt.
#
$mark = event_mark();
my $inv_web_ai = lock_stat('web', 'ai', 'inversions_acted');
my $suai = session('suai');
is(sess_query($suai, 'SHOW pg_budget.class'), 'ai', 'suai is of class ai');
sess_query($suai, "BEGIN; UPDATE jobs SET owner = 'suai' WHERE id = 6;");
($out, $err) = blocked_web_update(6);
like(
	$err,
	qr/ERROR:  canceling statement due to statement timeout\n/,
	'(f) web waited on the superuser until its own statement_timeout');
is(sess_query($suai, "SELECT 'suai alive'"),
	'suai alive', '(f) the superuser session still holds its transaction');
is(sheds_since($mark), '', '(f) nothing was shed');
is(status('ai', qw(shed)), 'shed=2', '(f) ai shed count unchanged');
is(lock_stat('web', 'ai', 'inversions_acted'),
	$inv_web_ai, '(f) web/ai inversions_acted unchanged');
sess_query($suai, 'COMMIT');
sess_close($suai);
ok(wait_ctl("SELECT connected FROM pg_budget_status WHERE class = 'ai'", '0'),
	'(f) the ai slot is given back');

#
# (g) dry_run: the ai holder would be terminated; that is recorded and
# logged, but it keeps its lock and web waits until it lets go.
#
set_shedding('dry_run');
$mark = event_mark();
$offset = -s $node->logfile;
my $ai4 = session('a');
my $ai4pid = $ai4->{pid};
sess_query($ai4, "BEGIN; UPDATE jobs SET owner = 'ai' WHERE id = 7;");
$t0 = time;
sess_send($web,
	"UPDATE jobs SET owner = 'web' WHERE id = 7 RETURNING 'web updated ' || id;"
);
ok( wait_ctl(
		"SELECT count(*) > 0 FROM pg_budget_events WHERE pid = $ai4pid AND action = 'would terminate' AND signal = 'lock'",
		't'),
	"(g) pg_budget_events: 'would terminate' of the ai holder");
ok( log_matches(
		qr/pg_budget: dry run: would terminate pid $ai4pid of class "ai" \(role "a"\), signal lock: it blocked pid $webpid of class "web"/,
		$offset),
	'(g) the server log has the dry run line');
# give a real shed every chance to happen
usleep(3 * $threshold_ms * 1000);
is(ctl("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $webpid"),
	'Lock', '(g) web still waits on the lock');
is(sess_query($ai4, "SELECT 'ai4 alive'"),
	'ai4 alive', '(g) the ai holder still works');
is(sheds_since($mark) =~ s/ai\|would terminate\|lock\|$ai4pid,?//gr,
	'', '(g) only would-terminate events of the holder');
is(status('ai', qw(shed shed_cancel shed_terminate)),
	'shed=2 shed_cancel=1 shed_terminate=1',
	'(g) shed counters unchanged');
is(lock_stat('web', 'ai', 'inversions_acted'),
	$inv_web_ai, '(g) web/ai inversions_acted unchanged');
sess_query($ai4, 'ROLLBACK');
ok(sess_wait($web, qr/^web updated 7$/m, 10),
	'(g) the web UPDATE completes once the holder rolls back');
cmp_ok(time - $t0, '>=', 1, '(g) ... having waited all along');
unlike(slurp_file($node->logfile, $offset),
	qr/pg_budget: terminated pid $ai4pid/, '(g) no real terminate in the log');
sess_close($ai4);

#
# (h) off: the worker only samples.  Nothing is recorded as shed or
# would-shed, but the lock statistics still count the wait.
#
set_shedding('off');
$mark = event_mark();
$offset = -s $node->logfile;
my $waits_before = lock_stat('web', 'ai', 'waits');
my $ai5 = session('a');
my $ai5pid = $ai5->{pid};
sess_query($ai5, "BEGIN; UPDATE jobs SET owner = 'ai' WHERE id = 8;");
($out, $err) = blocked_web_update(8);
like(
	$err,
	qr/ERROR:  canceling statement due to statement timeout\n/,
	'(h) web waited until its own statement_timeout');
is(sess_query($ai5, "SELECT 'ai5 alive'"),
	'ai5 alive', '(h) the ai holder still works');
is(sheds_since($mark), '', '(h) nothing recorded as shed or would-shed');
unlike(slurp_file($node->logfile, $offset),
	qr/pg_budget: (dry run: would )?(terminated?|cancel)/,
	'(h) no shed in the log');
cmp_ok(lock_stat('web', 'ai', 'waits'),
	'>', $waits_before, '(h) the lock statistics still count the wait');
is(status('ai', qw(shed)), 'shed=2', '(h) ai shed count unchanged');
sess_query($ai5, 'ROLLBACK');
sess_close($ai5);

sess_close($web);
sess_close($ctl);
$node->stop;
done_testing();
