# The pg_budget worker: it runs, comes back after pg_terminate_backend
# (logins work while it is gone) and keeps sampling and shedding, reacts to
# reloads, runs on a hot standby, and comes back after a kill -9 makes the
# postmaster restart everything.
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

my $node = pgb_node(
	'primary',
	session => 1,
	init => { allows_streaming => 1 },
	conf => q{
max_connections = 40
log_error_verbosity = verbose
restart_after_crash = on
pg_budget.lock_wait_threshold = 300ms
},
	classes => 'web(max=20, priority=100), ai(max=10, priority=10, shed=terminate)',
	roles => [ w => 'web', a => 'ai' ],
	sql => q{
CREATE TABLE jobs (id int PRIMARY KEY, owner text);
INSERT INTO jobs SELECT g, 'nobody' FROM generate_series(1, 10) g;
GRANT SELECT, UPDATE ON jobs TO w, a;
});
my $su = $node->safe_psql('postgres', 'SELECT current_user');

#
# Sessions (t/PgbSession.pm): a psql reading SQL from a pipe, whose
# output is kept so that what its client saw can be checked.
#
# Poll $sql on node $n (a new connection each time, so it also works
# across a restart) until it returns $expected, for at most $secs.
sub poll
{
	my ($n, $sql, $expected, $secs) = @_;
	my $deadline = time + ($secs // 30);
	my ($ret, $out, $err);
	while (1)
	{
		($ret, $out, $err) = $n->psql('postgres', $sql, on_error_stop => 0);
		return 1 if $ret == 0 && $out eq $expected;
		last if time > $deadline;
		usleep(20_000);
	}
	diag "waited for [$sql] to return [$expected], last got [$out] [$err]";
	return 0;
}

my $worker_pid_sql =
  "SELECT coalesce(string_agg(pid::text, ','), '') FROM pg_stat_activity WHERE backend_type = 'pg_budget worker'";

sub worker_pid
{
	my ($n) = @_;
	return $n->safe_psql('postgres', $worker_pid_sql);
}

# Wait for exactly one worker whose pid is not $old; return its pid.
sub new_worker
{
	my ($n, $old, $secs) = @_;
	my $deadline = time + ($secs // 30);
	while (time < $deadline)
	{
		my ($ret, $pid) = $n->psql('postgres', $worker_pid_sql);
		return $pid if $ret == 0 && $pid =~ /^\d+$/ && $pid ne $old;
		usleep(20_000);
	}
	return undef;
}

sub log_matches
{
	my ($n, $re, $offset, $secs) = @_;
	my $deadline = time + ($secs // 10);
	while (1)
	{
		return 1 if slurp_file($n->logfile, $offset) =~ $re;
		return 0 if time > $deadline;
		usleep(50_000);
	}
}

#
# The worker runs.
#
my $wpid = new_worker($node, '', 10);
ok(defined $wpid, 'a pg_budget worker shows in pg_stat_activity');
ok( log_matches(
		$node,
		qr/LOG:  00000: pg_budget worker started \(sampling every 10 ms, shedding on\)/,
		0),
	'the server log has the worker start');
is( $node->safe_psql(
		'postgres',
		"SELECT backend_type FROM pg_stat_activity WHERE pid = $wpid"
	),
	'pg_budget worker',
	'its backend_type is "pg_budget worker"');

#
# pg_terminate_backend: logins still work while it is gone, and a new
# worker comes back within a few seconds.
#
my $offset = -s $node->logfile;
is($node->safe_psql('postgres', "SELECT pg_terminate_backend($wpid)"),
	't', 'pg_terminate_backend of the worker');
my $t0 = time;
my ($login_ok, $ret, $out, $err);
for (1 .. 20)
{
	# the login's own query tells whether the worker was gone meanwhile
	($ret, $out, $err) = $node->psql(
		'postgres',
		"SHOW pg_budget.class; $worker_pid_sql",
		connstr => $node->connstr('postgres') . ' user=a',
		on_error_stop => 0);
	if ($ret == 0 && $out eq "ai\n")
	{
		$login_ok = 1;
		last;
	}
	usleep(10_000);
}
ok($login_ok, 'an ai login succeeds while no worker runs')
  or diag "last: $ret [$out] [$err]";
my $wpid2 = new_worker($node, $wpid, 10);
my $back = time - $t0;
ok(defined $wpid2, 'a new worker is back');
cmp_ok($back, '<', 5, "... within a few seconds (${back}s)");
ok( log_matches(
		$node,
		qr/background worker "pg_budget worker" \(PID $wpid\) exited with exit code 1/,
		$offset),
	'the server log has the old worker exit');

# The new worker samples: a session opened now shows as idle, then as idle
# in transaction.
my $ai = session($node, 'a');
ok( poll(
		$node,
		"SELECT idle || ' ' || idle_in_transaction FROM pg_budget_status WHERE class = 'ai'",
		'1 0'),
	'the new worker sees the new ai session idle');
sess_query($ai, "BEGIN; UPDATE jobs SET owner = 'ai' WHERE id = 1;");
ok( poll(
		$node,
		"SELECT idle || ' ' || idle_in_transaction FROM pg_budget_status WHERE class = 'ai'",
		'0 1'),
	'... and then idle in transaction');

#
# Reloads: with shedding = dry_run the inversion is only recorded; back to
# on, the same inversion is broken.
#
$node->safe_psql('postgres', q{
ALTER SYSTEM SET pg_budget.shedding = 'dry_run';
SELECT pg_reload_conf();
});
ok(poll($node, 'SHOW pg_budget.shedding', 'dry_run'),
	'pg_budget.shedding is dry_run after the reload');
$offset = -s $node->logfile;
my $web = session($node, 'w');
sess_query($web, "SET statement_timeout = '60s'");
sess_send($web,
	"UPDATE jobs SET owner = 'web' WHERE id = 1 RETURNING 'web updated ' || id;"
);
ok( poll(
		$node,
		"SELECT count(*) > 0 FROM pg_budget_events WHERE pid = $ai->{pid} AND action = 'would terminate'",
		't'),
	"dry_run: the blocker is recorded as 'would terminate'");
ok( log_matches(
		$node, qr/pg_budget: dry run: would terminate pid $ai->{pid} of class "ai"/,
		$offset),
	'dry_run: the server log has the dry run line');
is(sess_query($ai, "SELECT 'ai alive'"),
	'ai alive', 'dry_run: the blocker keeps its session');
ok(!sess_wait($web, qr/web updated/, 0.5), 'dry_run: web still waits');

$node->safe_psql('postgres', q{
ALTER SYSTEM RESET pg_budget.shedding;
SELECT pg_reload_conf();
});
ok(sess_wait($web, qr/^web updated 1$/m, 10),
	'shedding back on: the web UPDATE completes');
sess_send($ai, "SELECT 'still here';");
ok(sess_wait_exit($ai, 10), '... the ai blocker lost its connection');
like(
	$ai->{stderr},
	qr/FATAL:  terminating connection due to administrator command\nDETAIL:  pg_budget terminated this session: it blocked pid $web->{pid} of class "web"/,
	'... terminated by pg_budget');
is( $node->safe_psql(
		'postgres',
		"SELECT action || ' ' || signal FROM pg_budget_events WHERE pid = $ai->{pid} AND action !~ 'would'"
	),
	'terminate lock',
	'... one terminate in pg_budget_events');
sess_close($ai);
sess_close($web);

# A changed class table is a 'reload' event.
my $ev_mark = $node->safe_psql('postgres', 'SELECT count(*) FROM pg_budget_events');
$node->safe_psql('postgres', q{
ALTER SYSTEM SET pg_budget.classes = 'web(max=20, priority=100), ai(max=10, priority=10, shed=terminate), batch(max=5)';
SELECT pg_reload_conf();
});
ok( poll(
		$node,
		qq{SELECT concat_ws('|', action, signal, reason) FROM pg_budget_events() WITH ORDINALITY e(at, class, pid, role, action, signal, reason, count, n) WHERE n > $ev_mark AND action = 'reload'},
		'reload|config|pg_budget.classes changed'),
	"the worker records the new class table as a 'reload' event");
ok( poll(
		$node, "SELECT max FROM pg_budget_status WHERE class = 'batch'", '5'),
	'the new class shows in pg_budget_status');

#
# A hot standby runs the worker too.
#
$node->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'bk', has_streaming => 1);
$standby->start;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'the standby is in recovery');
ok(defined new_worker($standby, '', 10),
	'the standby runs a pg_budget worker');
my $sai = session($standby, 'a');
is(sess_query($sai, 'SHOW pg_budget.class'), 'ai',
	'an ai session on the standby is of class ai');
ok( poll(
		$standby,
		"SELECT connected || ' ' || idle FROM pg_budget_status WHERE class = 'ai'",
		'1 1'),
	"the standby's worker samples it as idle");
sess_close($sai);
$standby->stop;

#
# kill -9 of the worker: the postmaster restarts everything and the worker
# comes back; counts start from zero.
#
$wpid = worker_pid($node);
like($wpid, qr/^\d+$/, 'one worker before the kill');
my $held = session($node, 'a');
$offset = -s $node->logfile;
ok(kill('KILL', $wpid), 'kill -9 of the worker');
ok( log_matches(
		$node,
		qr/background worker "pg_budget worker" \(PID $wpid\) was terminated by signal 9/,
		$offset),
	'the postmaster saw the worker crash');
ok( log_matches(
		$node, qr/all server processes terminated; reinitializing/, $offset),
	'... and reinitialized');
sess_send($held, "SELECT 'still here';");
ok( sess_wait($held, qr/server closed the connection unexpectedly/, 20),
	'the session held across the crash lost its connection');
like(
	$held->{stderr},
	qr/terminating connection because of crash of another server process/,
	'... its client was told of the crash');
unlike($held->{stdout}, qr/still here/, '... and ran nothing more');
my $wpid3 = new_worker($node, $wpid, 30);
ok(defined $wpid3, 'a new worker runs after the crash restart');
($ret, $out, $err) = $node->psql(
	'postgres', 'SHOW pg_budget.class',
	connstr => $node->connstr('postgres') . ' user=a',
	on_error_stop => 0);
is($out, 'ai', 'ai logs in after the restart');
my $ai2 = session($node, 'a');
ok( poll(
		$node,
		"SELECT connected || ' ' || idle FROM pg_budget_status WHERE class = 'ai'",
		'1 1'),
	'counts restarted from zero and the new worker samples the new session');
sess_close($ai2);
sess_close($held);

$node->stop;
done_testing();
