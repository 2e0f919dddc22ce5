# Runaway statements switched to a lower class (switch_to=CLASS) through a
# real cgroup directory (PGB_TEST_CGROUP_V1 or PGB_TEST_CGROUP_V2, as
# t/061_cpu_boost.pl; t/PgbCgroup.pm): a spinning statement of ai
# (switch_time=300ms, switch_to=bulk) runs in bulk's cgroup (the kernel's
# /proc/<pid>/cgroup says so), pg_budget_backends shows it switched, an
# event and a LOG line say so, its WAL is bulk's; once the statement ends
# it is back in ai's cgroup and shown switched no more; a statement that
# sleeps past the time is not switched; a switched lock holder a web
# session waits on is boosted into web's cgroup (the boost wins).  How far past switch_time of CPU
# a switch lands is measured here (doc/runaways.md).  The decisions
# themselves are unit-tested in test/unit/test_plan_runaway.c.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbSession;
use PgbNode;
use PgbCgroup;
use Time::HiRes qw(time usleep);

my ($cg, $ver) = cgroup_dir(writable => 1);

# polled every 20 ms
sub wait_for
{
	my ($cond, $what) = @_;
	return wait_until($cond, $what, 20);
}

my $node = pgb_node(
	'runaway_switch',
	session => 1,
	conf => qq{
max_connections = 20
pg_budget.cgroup = '$cg'
pg_budget.shedding = on
# no shedding of the lock holder below: it is about its cgroup
pg_budget.lock_wait_threshold = '10min'
},
	classes =>
	  'web(priority=100, cpu=200), ai(priority=10, cpu=100, switch_time=300ms, switch_to=bulk), bulk(priority=1, cpu=1)',
	roles => [ w => 'web', a => 'ai' ],
	sql => q{
CREATE TABLE w (id int);
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t VALUES (1, 0);
CREATE TABLE go (n int);
GRANT ALL ON w, t, go TO PUBLIC;
-- Spin on the CPU until go has a row.
CREATE FUNCTION spin_go() RETURNS bigint LANGUAGE plpgsql AS
$$ DECLARE n bigint := 0; t timestamptz := clock_timestamp();
   BEGIN
     LOOP
       n := n + 1;
       EXIT WHEN n % 20000 = 0 AND ((SELECT count(*) FROM go) > 0 OR clock_timestamp() > t + interval '60 s');
     END LOOP;
     RETURN n;
   END $$;
-- Spin on the CPU until pg_budget_backends shows this session switched,
-- then hold seconds more; returns the class it was switched to.  Spinning
-- until switched (rather than for a wall time) makes the test independent
-- of how much CPU a busy machine gives it.
CREATE FUNCTION spin_switched(hold float8) RETURNS text LANGUAGE plpgsql AS
$$ DECLARE n bigint := 0; t timestamptz := clock_timestamp(); s text; sw timestamptz;
   BEGIN
     LOOP
       n := n + 1;
       IF n % 20000 = 0 THEN
         IF sw IS NULL THEN
           SELECT switched_to INTO s FROM pg_budget_backends WHERE pid = pg_backend_pid();
           IF s IS NOT NULL THEN sw := clock_timestamp(); END IF;
         END IF;
         EXIT WHEN clock_timestamp() > t + interval '60 s';
         EXIT WHEN sw IS NOT NULL AND clock_timestamp() >= sw + hold * interval '1 s';
       END IF;
     END LOOP;
     RETURN coalesce(s, 'not switched');
   END $$;
});
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $ctl = control_session($su);

# The cpu controller's path of a pid from the kernel (/proc/<pid>/cgroup).
sub proc_cgroup
{
	my ($pid) = @_;
	my $c = read_file("/proc/$pid/cgroup") // '';
	my ($v1) = $c =~ /^\d+:[^:\n]*\bcpu\b[^:\n]*:(\S+)$/m;
	return $v1 if defined $v1;
	my ($v2) = $c =~ /^0::(\S+)$/m;
	return $v2 // '';
}

sub events_since
{
	my ($since, $pid) = @_;
	return ctl(qq{SELECT coalesce(string_agg(class || '|' || action || '|' || reason, E'\\n' ORDER BY at), '')
	  FROM pg_budget_events WHERE at > '$since' AND signal = 'runaway' AND pid = $pid});
}

my $ai = session('a');
my $pid = $ai->{pid};
ok(wait_for(sub { proc_cgroup($pid) =~ m{/ai$} }, 'ai session in ai'),
	'the ai session starts in ai\'s cgroup (/proc/<pid>/cgroup)');

#
# a spinning statement: switched to bulk, then back
#
my $since = ctl('SELECT clock_timestamp()');
sess_send($ai, "SELECT spin_switched(3);\n\\echo spin-done-1");
ok(wait_for(sub { proc_cgroup($pid) =~ m{/bulk$} }, 'moved into bulk'),
	'past switch_time of CPU the statement runs in bulk\'s cgroup (/proc/<pid>/cgroup)');
ok(in_cgroup("$cg/bulk", $pid) && !in_cgroup("$cg/ai", $pid),
	'its pid is in bulk/cgroup.procs, not in ai\'s');
is(ctl("SELECT class || '|' || coalesce(switched_to, '<null>') || '|' || (cgroup LIKE '%/bulk') FROM pg_budget_backends WHERE pid = $pid"),
	'ai|bulk|true', 'pg_budget_backends: class ai, switched_to bulk, its cgroup bulk\'s');
ok(wait_for(sub { ctl(q{SELECT active FROM pg_budget_status WHERE class = 'bulk'}) >= 1 }, 'bulk active'),
	'it counts as an active session of bulk in pg_budget_status');
ok(sess_wait($ai, qr/spin-done-1/, 60), 'the statement finishes (it is not cancelled)');
like($ai->{stdout}, qr/^bulk$/m, 'the statement saw itself switched to bulk');
my $ev = events_since($since, $pid);
like($ev, qr/^ai\|switch\|used (\d+\.\d+) s of CPU, past switch_time=0\.30 s of class "ai": runs as class "bulk" until the statement ends$/m,
	'pg_budget_events: a switch of signal runaway, with the CPU time');
like(slurp_file($node->logfile),
	qr/LOG:  pg_budget: switched pid $pid of class "ai" to class "bulk": used \d+\.\d+ s of CPU, past switch_time=0\.30 s/,
	'and a LOG line');
ok(wait_for(sub { proc_cgroup($pid) =~ m{/ai$} }, 'back in ai'),
	'once the statement ended its pid is back in ai\'s cgroup');
ok(wait_for(sub { ctl("SELECT switched_to IS NULL FROM pg_budget_backends WHERE pid = $pid") eq 't' }, 'not switched'),
	'and pg_budget_backends shows it switched no more');
like(events_since($since, $pid), qr/^ai\|switch back\|back in class "ai": the statement it was switched in ended$/m,
	'a switch back event says why');

#
# how far past switch_time the switch lands: a few more statements
#
# The session's time on CPU in ms, from the kernel (/proc/<pid>/schedstat).
sub cpu_ms
{
	my ($p) = @_;
	my ($ns) = (read_file("/proc/$p/schedstat") // '') =~ /^(\d+)/;
	return defined $ns ? $ns / 1e6 : undef;
}

# Two measures: the worker's (the CPU time the event names, read by the
# worker when it decided) and the kernel's (the session's CPU time when
# its pid shows in bulk's cgroup, polled every 2 ms, less what it had
# before the statement began: it counts what the worker's baseline, taken
# when it first sees the statement, misses).
my (@late, @late_kernel);
for my $i (1 .. 4)
{
	$since = ctl('SELECT clock_timestamp()');
	my $cpu0 = cpu_ms($pid);
	sess_send($ai, "SELECT spin_switched(0);\n\\echo spin-done-l$i");
	my $deadline = time + 60;
	usleep(2_000) until proc_cgroup($pid) =~ m{/bulk$} || time > $deadline;
	my $cpu1 = cpu_ms($pid);
	push @late_kernel, $cpu1 - $cpu0 - 300 if defined $cpu0 && defined $cpu1 && time <= $deadline;
	ok(sess_wait($ai, qr/spin-done-l$i/, 60), "statement $i finishes");
	like($ai->{stdout}, qr/^bulk\nspin-done-l$i$/m, "... switched to bulk too");
	ok(wait_for(sub { ctl("SELECT switched_to IS NULL FROM pg_budget_backends WHERE pid = $pid") eq 't' }, 'not switched'),
		"... and back");
	push @late, 1000 * ($1 - 0.3) if events_since($since, $pid) =~ /\|switch\|used (\d+\.\d+) s of CPU/;
}
@late_kernel = sort { $a <=> $b } @late_kernel;
diag(sprintf('kernel: the pid showed in bulk\'s cgroup %s ms of CPU past switch_time=300ms',
	join(', ', map { sprintf('%.0f', $_) } @late_kernel)));
is(scalar @late_kernel, 4, 'the kernel measure of each of the four');
push @late, 1000 * ($1 - 0.3) if $ev =~ /\|switch\|used (\d+\.\d+) s of CPU/;
@late = sort { $a <=> $b } @late;
is(scalar @late, 5, 'each switch names the CPU time it landed at');
diag(sprintf('switches landed %s ms of CPU past switch_time=300ms (median %.0f ms)',
	join(', ', map { sprintf('%.0f', $_) } @late), $late[int(@late / 2)] // -1));
ok(@late && $late[0] >= 0 && $late[-1] < 1000, 'all within a second of CPU past the limit');

#
# its WAL is bulk's while switched
#
my $wal_bulk = ctl(q{SELECT wal_bytes FROM pg_budget_status WHERE class = 'bulk'});
my $wal_ai = ctl(q{SELECT wal_bytes FROM pg_budget_status WHERE class = 'ai'});
sess_query($ai, 'INSERT INTO w SELECT g FROM generate_series(1, 50000) g WHERE (SELECT spin_switched(0)) = \'bulk\'', 60);
is(sess_query($ai, 'SELECT count(*) FROM w'), '50000', 'a switched statement wrote 50000 rows');
my $d_bulk = ctl(q{SELECT wal_bytes FROM pg_budget_status WHERE class = 'bulk'}) - $wal_bulk;
my $d_ai = ctl(q{SELECT wal_bytes FROM pg_budget_status WHERE class = 'ai'}) - $wal_ai;
diag("WAL of the switched INSERT: bulk +$d_bulk bytes, ai +$d_ai bytes");
ok($d_bulk > 1024 * 1024, 'its WAL is charged to bulk (pg_budget_status.wal_bytes)');
ok($d_ai < $d_bulk / 10, 'not to ai');

#
# a statement that sleeps past switch_time is not switched
#
ok(wait_for(sub { proc_cgroup($pid) =~ m{/ai$} }, 'back in ai'), 'back in ai before sleeping');
$since = ctl('SELECT clock_timestamp()');
sess_send($ai, "SELECT pg_sleep(1.5);\n\\echo sleep-done");
my $seen_switched = 0;
until (sess_wait($ai, qr/sleep-done/, 0.05))
{
	$seen_switched = 1 if proc_cgroup($pid) !~ m{/ai$};
	$seen_switched = 1
	  if ctl("SELECT switched_to IS NOT NULL FROM pg_budget_backends WHERE pid = $pid") eq 't';
}
ok(!$seen_switched, 'a statement that sleeps 1.5 s stays in ai\'s cgroup and is never shown switched');
is(events_since($since, $pid), '', 'no runaway event for it');

#
# a statement sent at once after a switched one (no idle spell the worker
# could see between them) starts from zero CPU: it is not switched on the
# first one's CPU time
#
$since = ctl('SELECT clock_timestamp()');
sess_send($ai, "SELECT spin_switched(0.2) || '-at-once';\nSELECT pg_sleep(1.5);\n\\echo at-once-done");
ok(sess_wait($ai, qr/^bulk-at-once$/m, 60), 'the first statement is switched to bulk and ends');
my $first_done = ctl('SELECT clock_timestamp()');
ok(sess_wait($ai, qr/at-once-done/, 60), 'the statement sent at once after it ends');
$ev = events_since($since, $pid);
my @switches = $ev =~ /^ai\|switch\|/mg;
is(scalar(@switches), 1, 'one switch in all: the first statement\'s, none for the sleep after it')
  or diag("events:\n$ev");
is(ctl(qq{SELECT count(*) FROM pg_budget_events WHERE at > '$first_done'
	AND signal = 'runaway' AND pid = $pid AND action = 'switch'}), '0',
	'no switch event after the first statement ended');
ok(wait_for(sub { proc_cgroup($pid) =~ m{/ai$} }, 'back in ai after both'),
	'the session is back in ai\'s cgroup');

#
# a CPU boost wins over a switch: a switched statement that holds a row a
# web session waits for runs in web's cgroup; when the statement ends it
# is no longer switched but still boosted (its transaction holds the row),
# and it goes back to ai's cgroup once the waiter has the row
#
my $web = session('w');
sess_send($ai, "BEGIN;\nUPDATE t SET v = v + 1 WHERE id = 1;\nSELECT spin_go() > 0;\n\\echo spun\nSELECT pg_sleep(1);\nCOMMIT;\n\\echo holder-done");
ok(wait_for(sub { proc_cgroup($pid) =~ m{/bulk$} }, 'holder switched'),
	'the holder\'s spinning statement is switched into bulk\'s cgroup');
sess_send($web, "UPDATE t SET v = v + 1 WHERE id = 1;\n\\echo web-done");
ok(wait_for(sub { proc_cgroup($pid) =~ m{/web$} }, 'holder boosted'),
	'while web waits for its row the switched holder runs in web\'s cgroup: the boost wins');
is(ctl("SELECT coalesce(switched_to, '<null>') || '|' || coalesce(cpu_boost, '<null>') FROM pg_budget_backends WHERE pid = $pid"),
	'bulk|web', 'pg_budget_backends: switched to bulk and boosted into web');
ctl('INSERT INTO go VALUES (1)');
ok(sess_wait($ai, qr/spun/, 60), 'the spinning statement ends');
ok(wait_for(sub { ctl("SELECT switched_to IS NULL FROM pg_budget_backends WHERE pid = $pid") eq 't' }, 'switch ended'),
	'its switch ends with it');
ok(proc_cgroup($pid) =~ m{/web$}, 'but it stays in web\'s cgroup while web still waits (boosted)');
ok(sess_wait($web, qr/web-done/, 60), 'after the commit web has its row');
ok(wait_for(sub { proc_cgroup($pid) =~ m{/ai$} }, 'holder home'),
	'and the holder goes back to ai\'s cgroup, neither boosted nor switched');
ok(sess_wait($ai, qr/holder-done/, 60), 'the holder\'s transaction is done');
sess_close($web);

#
# a class in warn mode (enforce=warn) is not switched: the switch is
# counted as warned_runaway and recorded, once a statement
#
ctl(q{ALTER SYSTEM SET pg_budget.classes = 'web(priority=100, cpu=200), ai(priority=10, cpu=100, switch_time=300ms, switch_to=bulk, enforce=warn), bulk(priority=1, cpu=1)'});
ctl('SELECT pg_reload_conf()');
ok(wait_for(sub { ctl(q{SELECT enforce FROM pg_budget_status WHERE class = 'ai'}) eq 'warn' }, 'warn mode'),
	'ai is in warn mode after the reload');
$since = ctl('SELECT clock_timestamp()');
my $warned = ctl(q{SELECT warned_runaway FROM pg_budget_status WHERE class = 'ai'});
sess_send($ai, "SELECT spin_switched(0);\n\\echo warn-spin-done");
ok(wait_for(sub { events_since($since, $pid) =~ /\|warn: switch\|/ }, 'warn event'),
	'a statement past switch_time of a class in warn mode: an event "warn: switch"');
ok(proc_cgroup($pid) =~ m{/ai$}, 'it stays in ai\'s cgroup');
is(ctl("SELECT coalesce(switched_to, '<null>') FROM pg_budget_backends WHERE pid = $pid"), '<null>',
	'and is not shown switched');
is(ctl(q{SELECT warned_runaway FROM pg_budget_status WHERE class = 'ai'}), $warned + 1,
	'pg_budget_status.warned_runaway counts it once');
ctl("SELECT pg_cancel_backend($pid)");
ok(sess_wait($ai, qr/warn-spin-done/, 30), 'the statement, cancelled by hand, ends');

sess_close($ai);
my $log = slurp_file($node->logfile);
unlike($log, qr/was terminated by signal|PANIC|TRAP:/, 'no backend crashed');
sess_close($ctl);
$node->stop;
cgroup_clean($cg);
done_testing();
