# OS-level priority inheritance through a real cgroup directory, v1's cpu
# hierarchy or a delegated v2 directory (PGB_TEST_CGROUP_V1 or
# PGB_TEST_CGROUP_V2, as t/060_cpu.pl; t/PgbCgroup.pm): a session of ai
# (cpu=1) that computes while it holds a row a session of web (cpu=200)
# waits for runs in web's cgroup until web has the row, then goes back to
# ai's; each move is a "cpu boost" event naming both; a boosted holder
# that exits leaves nothing behind; a worker that restarts sends the
# boosted home and boosts them again.  The decisions themselves are
# unit-tested in test/unit/test_boost_math.c.
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
	'cpu_boost',
	session => 1,
	conf => qq{
max_connections = 20
pg_budget.cgroup = '$cg'
# no shedding of the holder: this test is about its CPU, not its query
pg_budget.lock_wait_threshold = '10min'
},
	classes => 'web(priority=100, cpu=200), ai(priority=10, cpu=1)',
	roles => [ w => 'web', a => 'ai' ],
	sql => q{
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t VALUES (1, 0);
CREATE TABLE go (n int);
GRANT ALL ON t, go TO w, a;
});
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $ctl = control_session($su);
my $last_event = 0;

# Events "cpu boost" of pid since the last call, as "reason" lines.
sub boost_events
{
	my ($pid) = @_;
	return ctl("SELECT coalesce(string_agg(class || ': ' || reason, E'\\n' ORDER BY at), '') FROM pg_budget_events WHERE action = 'cpu boost' AND signal = 'lock' AND pid = $pid");
}

# The holder: a row locked, then a computation that ends when go has $n
# rows (each statement of the loop sees them: read committed), then commit.
my $round = 0;
sub hold_and_compute
{
	my ($s) = @_;
	$round++;
	sess_send($s, qq{BEGIN;
UPDATE t SET v = v + 1 WHERE id = 1;
DO \$\$ BEGIN WHILE (SELECT count(*) FROM go) < $round LOOP PERFORM count(*) FROM generate_series(1, 20000); END LOOP; END \$\$;
COMMIT;
\\echo holder-done-$round});
}

# where cpu_ms comes from: v2's cpu.stat; on v1 cpuacct.usage where
# cpuacct is mounted with cpu, else each session's /proc/<pid>/stat (as on
# this project's machines, where cpuacct is a hierarchy of its own)
my $source =
    $ver eq 'v2' ? 'cpu\.stat \(usage_usec\) of each class\'s cgroup'
  : -f "$cg/cpuacct.usage" ? 'cpuacct\.usage of each class\'s cgroup'
  :                          '/proc/<pid>/stat of each session';
like(slurp_file($node->logfile),
	qr/LOG:  pg_budget: CPU weights in force under "\Q$cg\E" \(cgroup $ver\): web 200, ai 1, default 100; CPU time by class from $source/,
	'the start says where CPU time by class comes from');

my $wsess = session('w');
my $hold = session('a');
ok(in_cgroup("$cg/ai", $hold->{pid}), 'the ai session starts in ai/cgroup.procs');
ok(in_cgroup("$cg/web", $wsess->{pid}), 'the web session in web/cgroup.procs');

# The holder has the row and computes: in its DO loop (its UPDATE done),
# on CPU.  Until then web could still take the row first: on one core a
# web session (cpu=200) runs ahead of the ai one (cpu=1) as soon as both
# want the CPU.
sub holder_computes
{
	return ctl("SELECT state = 'active' AND wait_event IS NULL AND query LIKE 'DO %' FROM pg_stat_activity WHERE pid = $hold->{pid}") eq 't';
}

#
# a web session waits for a row an ai session holds while it computes
#
hold_and_compute($hold);
ok(wait_for(sub { holder_computes() }, 'holder on CPU'),
	'the ai holder computes');
ok(!in_cgroup("$cg/web", $hold->{pid}), 'blocking nobody, it is not in web');
sess_send($wsess, "UPDATE t SET v = v + 10 WHERE id = 1;\n\\echo web-done-1");
ok(wait_for(sub { in_cgroup("$cg/web", $hold->{pid}) }, 'holder in web'),
	"while web waits for the row, the holder's pid is in web/cgroup.procs");
ok(!in_cgroup("$cg/ai", $hold->{pid}), 'and no longer in ai/cgroup.procs');
is(ctl("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $wsess->{pid}"), 'Lock',
	'web still waits on the lock meanwhile');
like(ctl("SELECT cgroup || ' ' || cpu_boost FROM pg_budget_backends WHERE pid = $hold->{pid}"),
	qr{/web web$}, 'pg_budget_backends: the holder\'s cgroup is web\'s, cpu_boost web');
is(ctl("SELECT cpu_boost IS NULL FROM pg_budget_backends WHERE pid = $wsess->{pid}"), 't',
	'the waiter is not boosted');
like(boost_events($hold->{pid}),
	qr/^ai: runs in the cgroup of class "web" while it blocks pid $wsess->{pid} of class "web" \(priority 100\) on a lock$/,
	'a cpu boost event names the holder (its pid and class) and the waiter');
like(slurp_file($node->logfile),
	qr/LOG:  pg_budget: pid $hold->{pid} of class "ai": runs in the cgroup of class "web"/,
	'and the log says so');

# the holder commits: web gets its row, the holder goes home
ctl('INSERT INTO go VALUES (1)');
ok(sess_wait($hold, qr/holder-done-1/, 30), 'the holder commits');
ok(sess_wait($wsess, qr/web-done-1/, 30), 'web gets the row');
ok(wait_for(sub { in_cgroup("$cg/ai", $hold->{pid}) }, 'holder back in ai'),
	"then the holder's pid is back in ai/cgroup.procs");
ok(!in_cgroup("$cg/web", $hold->{pid}), 'and not in web');
ok(wait_for(sub { boost_events($hold->{pid}) =~ /\nai: back in the cgroup of its class "ai": it no longer blocks a session of a higher class$/ }, 'back event'),
	'a cpu boost event says it is back');
is(ctl("SELECT cpu_boost IS NULL AND cgroup LIKE '%/ai' FROM pg_budget_backends WHERE pid = $hold->{pid}"), 't',
	'pg_budget_backends: back in ai, no boost');
is(ctl("SELECT v FROM t WHERE id = 1"), 11, 'both updates are in');

# the history: CPU time and run delay per second of each class
ok(wait_for(sub { ctl("SELECT coalesce(sum(cpu_ms), 0) > 0 FROM pg_budget_history WHERE class = 'ai'") eq 't' }, 'history cpu_ms'),
	'pg_budget_history.cpu_ms shows the holder\'s computing in ai');
is(ctl("SELECT sum(h.cpu_ms) <= max(s.cpu_ms) + 0.01 FROM pg_budget_history h, pg_budget_status s WHERE h.class = 'ai' AND s.class = 'ai'"),
	't', 'and no more, summed, than pg_budget_status.cpu_ms');
is(ctl("SELECT count(*) FROM pg_budget_history WHERE class NOT LIKE '(%' AND (cpu_ms IS NULL OR run_delay_ms IS NULL OR cpu_ms < 0 OR run_delay_ms < 0)"),
	0, 'every class row has a CPU time and a run delay');
is(ctl("SELECT count(*) > 0 AND count(*) FILTER (WHERE cpu_ms IS NOT NULL OR run_delay_ms IS NOT NULL) = 0 FROM pg_budget_history WHERE class LIKE '(%'"),
	't', 'pseudo-class rows have none (NULL)');

#
# a worker that restarts sends the boosted home, and its successor boosts
# them again while they still block
#
hold_and_compute($hold);
ok(wait_for(sub { holder_computes() }, 'holder on CPU'),
	'the ai holder computes again');
sess_send($wsess, "UPDATE t SET v = v + 10 WHERE id = 1;\n\\echo web-done-2");
# the move comes before its event: the worker is stopped only once both
# are in, so that the count below does not lose the event of this boost
ok(wait_for(sub { in_cgroup("$cg/web", $hold->{pid}) && ctl("SELECT count(*) FROM pg_budget_events WHERE action = 'cpu boost' AND pid = $hold->{pid} AND reason LIKE 'runs in%'") eq '2' }, 'boosted again'),
	'a second wait: the holder is in web again');
my $worker = ctl("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_budget worker'");
kill 'TERM', $worker;
ok(wait_for(sub { boost_events($hold->{pid}) =~ /back in the cgroup of its class "ai": the worker that boosted it restarted/ }, 'restart event'),
	'the next worker sends the boosted holder home (event)');
ok(wait_for(sub { ctl("SELECT count(*) FROM pg_budget_events WHERE action = 'cpu boost' AND pid = $hold->{pid} AND reason LIKE 'runs in%'") eq '3' }, 'boosted by the new worker'),
	'and boosts it again, as it still blocks web');
ok(in_cgroup("$cg/web", $hold->{pid}), 'so it is in web');

# pg_budget.enabled off: nobody is boosted; on again: boosted again
$node->append_conf('postgresql.conf', "pg_budget.enabled = off\n");
$node->reload;
ok(wait_for(sub { in_cgroup("$cg/ai", $hold->{pid}) }, 'home when disabled'),
	'pg_budget.enabled off: the holder goes back to ai though it still blocks web');
like(boost_events($hold->{pid}), qr/no longer in force \(or pg_budget\.enabled is off\)$/,
	'with an event');
$node->append_conf('postgresql.conf', "pg_budget.enabled = on\n");
$node->reload;
ok(wait_for(sub { in_cgroup("$cg/web", $hold->{pid}) }, 'boosted when enabled'),
	'on again: it is boosted again');

#
# a boosted holder that exits: web goes on, nothing points at it
#
my $hold_pid = $hold->{pid};
ctl("SELECT pg_terminate_backend($hold_pid)");
ok(sess_wait($wsess, qr/web-done-2/, 30), 'the holder terminated: web gets the row');
ok(wait_for(sub { boost_events($hold_pid) =~ /exited while it ran in the cgroup of (a higher class|class "web")/ }, 'exit event'),
	'a cpu boost event says it exited');
ok(wait_for(sub { !in_cgroup("$cg/web", $hold_pid) && !in_cgroup("$cg/ai", $hold_pid) }, 'holder gone'),
	'its pid is in no class cgroup');
is(ctl("SELECT count(*) FROM pg_budget_backends WHERE cpu_boost IS NOT NULL"), 0,
	'no session shows a boost');
my $next = session('a');
ok(in_cgroup("$cg/ai", $next->{pid}), 'a new ai login is in ai');
is(ctl("SELECT cpu_boost IS NULL FROM pg_budget_backends WHERE pid = $next->{pid}"), 't',
	'and not boosted');
sess_close($next);
sess_close($wsess);
eval { sess_close($hold) };    # terminated above
sess_close($ctl);

$node->stop;
cgroup_clean($cg);
done_testing();
