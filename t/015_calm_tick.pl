# The calm tick: on a server with nothing to watch the worker wakes about
# ten times a second, not a hundred; a lock wait or a transaction queued at
# the gate brings back the 10 ms tick at once, and calm stretches it again
# once they end; a statement that runs through a calm stretch keeps the
# wait samples a 10 ms tick gives it (each calm tick's samples count for
# the time it covered); a statement of a class with switch_time keeps the
# tick short, and an exempt superuser's statements there wake nothing.
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
use IPC::Run;

plan skip_all => 'needs /proc/<pid>/status' unless -r "/proc/$$/status";

my $node = pgb_node(
	'calm',
	session => 1,
	conf => q{
max_connections = 20
pg_budget.sample_interval = 10ms
# the memory guard keeps the tick short near its mark: off here, so that
# the machine's own memory use can not decide the test
pg_budget.memory_guard = 0
},
	classes =>
	  'web(max=10, priority=100), ai(max=10, priority=10, active=1, shed=never), bulk(max=5, priority=0, switch_time=60s, switch_to=cancel)',
	roles => [ w => 'web', a => 'ai', b => 'bulk', sbulk => [ 'bulk', 'SUPERUSER' ] ],
	sql => q{
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t VALUES (1, 0);
GRANT ALL ON t TO w, a;
});

my $wpid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_budget worker'");
like($wpid, qr/^\d+$/, 'the worker runs');

# The worker's wake-ups a second over $secs: each tick ends one wait on
# its latch, a voluntary context switch.
sub wakeups
{
	my ($secs) = @_;
	my $read = sub {
		open(my $fh, '<', "/proc/$wpid/status") or die "/proc/$wpid/status: $!";
		my ($n) = map { /^voluntary_ctxt_switches:\s+(\d+)/ ? $1 : () } <$fh>;
		close $fh;
		return $n;
	};
	my ($t0, $n0) = (time, $read->());
	usleep($secs * 1_000_000);
	my ($t1, $n1) = (time, $read->());
	return ($n1 - $n0) / ($t1 - $t0);
}

# Calm: far fewer than the 100 wake-ups a second of a 10 ms tick.  Busy:
# far more than calm's 10 (a slow machine delays ticks, never adds them).
my $calm_max = 30;
my $busy_min = 40;

# Calm comes back once what was seen has gone, and once the pressure it
# left has decayed (a moving average over pressure_window): measured a
# second at a time, for up to 30 s.  Returns the last rate.
sub calm_again
{
	my ($rate, $secs);
	for $secs (1 .. 30)
	{
		$rate = wakeups(1);
		if ($rate <= $calm_max)
		{
			note "calm again after ${secs} s";
			last;
		}
	}
	return $rate;
}

#
# Nothing to watch: an idle server, and one web session.
#
control_session($node->safe_psql('postgres', 'SELECT current_user'));
my $web = session('w');
sleep 1;
my $idle = wakeups(2);
cmp_ok($idle, '<=', $calm_max,
	sprintf('an idle server: the worker wakes %.0f times a second', $idle));

#
# A statement that runs three seconds through a calm stretch (pg_sleep is
# neither a lock nor a WAL wait): the tick stays stretched, and its wait
# samples are what a 10 ms tick counts, about 300.
#
sess_send($web, "SELECT pg_sleep(3);\n\\echo slept");
usleep(300_000);
my $sleeping = wakeups(2);
cmp_ok($sleeping, '<=', $calm_max,
	sprintf('a web statement sleeping: still calm (%.0f wake-ups a second)', $sleeping));
ok(sess_wait($web, qr/^slept$/m, 10), 'the sleep ends');
my $samples = $node->safe_psql('postgres',
	"SELECT coalesce(sum(samples), 0) FROM pg_budget_wait_stats WHERE class = 'web' AND wait_event = 'PgSleep'");
cmp_ok($samples, '>=', 200, "the 3 s sleep has $samples PgSleep samples, at least 200");
cmp_ok($samples, '<=', 450, '... and at most 450 (300 at 10 ms)');

#
# A lock wait: web waits on a row ai holds.  The tick is back to 10 ms
# while it waits, stretched again once it ended.
#
my $ai = session('a');
is(sess_query($ai, 'BEGIN; SELECT v FROM t WHERE id = 1 FOR UPDATE'), '0',
	'ai holds the row');
sess_send($web, "UPDATE t SET v = 1 WHERE id = 1;\n\\echo web updated");
ok( poll_is_wait(
		"SELECT wait_event_type FROM pg_stat_activity WHERE usename = 'w' AND state = 'active'",
		'Lock'),
	'web waits on the lock');
usleep(200_000);
my $waiting = wakeups(2);
cmp_ok($waiting, '>=', $busy_min,
	sprintf('a lock wait: the 10 ms tick is back (%.0f wake-ups a second)', $waiting));
sess_query($ai, 'COMMIT');
ok(sess_wait($web, qr/web updated/, 10), 'the wait ends with the commit');
my $after = calm_again();
cmp_ok($after, '<=', $calm_max,
	sprintf('the wait over: calm again (%.0f wake-ups a second)', $after));

#
# A transaction queued at the gate (ai has active=1): the same.
#
is(sess_query($ai, 'BEGIN; SELECT 1'), '1', 'one ai transaction holds the place');
my $ai2 = gated_session('a');
sess_send($ai2, "BEGIN; SELECT 2;\n\\echo ai2 through");
ok(queued($ai2), 'a second ai transaction queues at the gate');
usleep(200_000);
my $queued = wakeups(2);
cmp_ok($queued, '>=', $busy_min,
	sprintf('a session queued: the 10 ms tick is back (%.0f wake-ups a second)', $queued));
sess_query($ai, 'COMMIT');
ok(sess_wait($ai2, qr/ai2 through/, 10), 'the queued transaction goes through');
sess_query($ai2, 'COMMIT');
$after = calm_again();
cmp_ok($after, '<=', $calm_max,
	sprintf('nothing queued: calm again (%.0f wake-ups a second)', $after));

#
# A statement of a class with switch_time is timed: the tick stays short
# while it runs (its CPU time is read from when the worker sees it, which
# the statement's wake of the worker makes at once).
#
my $bulk = session('b');
sess_send($bulk, "SELECT pg_sleep(3);\n\\echo bulk slept");
usleep(300_000);
my $timed = wakeups(2);
cmp_ok($timed, '>=', $busy_min,
	sprintf('a statement of a class with switch_time: the 10 ms tick (%.0f wake-ups a second)', $timed));
ok(sess_wait($bulk, qr/bulk slept/, 10), 'the bulk statement ends');
$after = calm_again();
cmp_ok($after, '<=', $calm_max,
	sprintf('it ended: calm again (%.0f wake-ups a second)', $after));

#
# Short statements of an exempt superuser of that class are never timed:
# they do not wake the worker, however many (pgbench, one client, 2000
# SELECT 1 a second: each would take the wake were they counted, and the
# rate keeps the CPU, which the gate's calm counts, low on a small
# machine).
#
{
	my $script = "$PostgreSQL::Test::Utils::tmp_check/select1.sql";
	open(my $fh, '>', $script) or die "$script: $!";
	print $fh "SELECT 1;\n";
	close $fh;
	my ($out, $err) = ('', '');
	my $run = IPC::Run::start(
		[
			'pgbench', '-n', '-c', '1', '-R', '2000', '-T', '4', '-f', $script, '-U', 'sbulk',
			'-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
	usleep(1_000_000);
	my $storm = wakeups(2);
	$run->finish;
	my ($tps) = $out =~ /tps = ([0-9.]+)/;
	cmp_ok($storm, '<=', $calm_max,
		sprintf('%s statements a second of an exempt superuser of the class: still calm (%.0f wake-ups a second)',
			$tps // '?', $storm));
	cmp_ok($tps // 0, '>', 100, '... and pgbench ran them');
}

# Poll $sql on a new connection until it returns $expected.
sub poll_is_wait
{
	my ($sql, $expected) = @_;
	my $deadline = time + 30;
	my $got = '';
	while (time < $deadline)
	{
		$got = $node->safe_psql('postgres', $sql);
		return 1 if $got eq $expected;
		usleep(50_000);
	}
	diag "waited for [$sql] to return [$expected], last got [$got]";
	return 0;
}

sess_close($_) for ($web, $ai, $ai2, $bulk);
$node->stop;
done_testing();
