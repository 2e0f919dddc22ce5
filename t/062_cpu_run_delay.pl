# The run delay of a higher class as the gate's CPU signal where every
# class has its CPU weight in force (a cgroup v1 or v2 directory given by
# PGB_TEST_CGROUP_V1 or PGB_TEST_CGROUP_V2, as t/060_cpu.pl): web and ai
# weigh the same, so the weights are not enough; web's sessions wait for
# a CPU (runnable, not running: /proc/<pid>/schedstat) longer than
# pg_budget.run_delay_target, which alone is CPU pressure (sessions on CPU
# per core are set aside with weights), and ai, below web, admits fewer
# transactions; the event names web's run delay, pg_budget_status and
# pg_budget_history show it; with the target 0 nothing lowers it, however
# many sessions are on CPU.  The
# decision itself is unit-tested in test/unit/test_cpu_math.c and
# test_plan_math.c.
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
use IPC::Run;
use Time::HiRes qw(time usleep);

my ($cg) = cgroup_dir();

my $node = pgb_node(
	'run_delay',
	session => 1,
	conf => qq{
max_connections = 40
pg_budget.cgroup = '$cg'
pg_budget.run_delay_target = 20
},
	quick_worker => 1,
	classes => 'web(priority=100, cpu=100), ai(priority=10, cpu=100, floor=1, shed=cancel, queue_timeout=60s)',
	roles => [ w => 'web', a => 'ai' ]);
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $ctl = control_session($su);
is(ctl('SHOW pg_budget.run_delay_target'), '20', 'pg_budget.run_delay_target is set');
is(ctl("SELECT count(*) FROM pg_budget_status WHERE cpu_weight = 100"), 3,
	'every class (web, ai, default) has its weight in force');

my $ncores = `nproc` + 0 || 2;
{
	open(my $fh, '>', "$PostgreSQL::Test::Utils::tmp_check/cpu.sql") or die;
	print $fh "SELECT count(*) FROM generate_series(1, 300000);\n";
	close $fh;
}
my @runs;
sub start_clients
{
	my ($role, $n) = @_;
	for (1 .. $n)
	{
		my ($out, $err) = ('', '');
		push @runs,
		  IPC::Run::start(
			[
				'pgbench', '-n', '-c', '1', '-T', '60', '-f',
				"$PostgreSQL::Test::Utils::tmp_check/cpu.sql", '-U', $role, '-h',
				$node->host, '-p', $node->port, 'postgres'
			],
			'>', \$out, '2>', \$err);
	}
}

# more CPU-bound sessions than cores, web's among them: web waits for a CPU
start_clients('w', $ncores);
start_clients('a', 2 * $ncores);
ok( wait_ctl(
		"SELECT effective_active IS NOT NULL FROM pg_budget_status WHERE class = 'ai'",
		't', 30),
	'web waits for a CPU: ai gets an active limit');
my $reason = ctl("SELECT reason FROM pg_budget_events WHERE class = 'ai' AND action = 'active limit' ORDER BY at LIMIT 1");
like($reason,
	qr/^cpu pressure: active limit lowered to \d+ \(run delay of class "web" ([\d.]+) ms\/s per session, target 20\.0\)$/,
	'the event says web\'s run delay was the CPU pressure');
my ($rate) = $reason =~ /"web" ([\d.]+) ms/;
cmp_ok($rate // 0, '>=', 20, "web's run delay, $rate ms/s per session, is at the target or above");
ok( wait_ctl(
		"SELECT coalesce(pressure, '') LIKE '%cpu%' FROM pg_budget_status WHERE class = 'ai'",
		't', 10),
	'pg_budget_status shows the CPU pressure on ai');
is(ctl("SELECT run_delay_ms > 0 FROM pg_budget_status WHERE class = 'web'"), 't',
	'pg_budget_status.run_delay_ms of web counts it');
ok( wait_ctl(
		"SELECT coalesce(max(run_delay_ms), 0) > 0 FROM pg_budget_history WHERE class = 'web'",
		't', 10),
	'pg_budget_history shows web\'s run delay by second');

# the signal off: the limit goes back up (calm), and nothing lowers it
# again, though more sessions are on CPU than cpu_pressure_threshold (1.5
# per core) allows without weights
$node->append_conf('postgresql.conf', "pg_budget.run_delay_target = 0\n");
$node->reload;
ok( wait_ctl(
		"SELECT effective_active IS NULL FROM pg_budget_status WHERE class = 'ai'",
		't', 30),
	'run_delay_target = 0: the active limit of ai is lifted');
my $lowered = ctl("SELECT count(*) FROM pg_budget_events WHERE class = 'ai' AND action = 'active limit' AND reason LIKE '%lowered%'");
usleep(1_500_000);
is(ctl("SELECT count(*) FROM pg_budget_events WHERE class = 'ai' AND action = 'active limit' AND reason LIKE '%lowered%'"),
	$lowered, 'and not lowered again while the load goes on');

$_->kill_kill for @runs;
sess_close($ctl);
$node->stop;
cgroup_clean($cg);
done_testing();
