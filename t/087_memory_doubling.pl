# A query growing by doublings against a real cgroup v1 memory limit (as
# t/080_memory.pl: a child of PGB_TEST_MEMCG_V1, here of 768 MB, with
# pg_budget.memory_guard = 0.9: the mark 691 MB, the last-resort mark 730
# MB, the early mark 614 MB).
#
# The hash aggregate of bench/memory.sh's slow hog grows by doubling its
# bucket array (steps of about 48, 96, 195, 385 MB, then 770 MB), and
# honours a cancel only once a step's copy ends.  What a user sees: the
# same query over 3 million groups, whose last step fits, returns its
# result though the step after it would pass the guard's mark (it grows no
# more); over 100 million groups, it is cancelled with SQLSTATE 53200 and a
# message naming its doublings, between two steps, before the one that
# would take the server past its limit, and its session stays usable; no crash
# restart, no OOM kill.  The cancel is an event and a LOG line.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbSession;
use PgbCgroup qw(read_file write_file wait_until);
use Time::HiRes qw(time usleep);

my $mcg = $ENV{PGB_TEST_MEMCG_V1};
plan skip_all =>
  'PGB_TEST_MEMCG_V1 is not set (scripts/test.sh sets it, run as root on a machine with /sys/fs/cgroup/memory, to a directory of the memory hierarchy owned by the server user)'
  unless defined $mcg && $mcg ne '';
ok(-d $mcg && -w $mcg && -f "$mcg/memory.limit_in_bytes",
	"PGB_TEST_MEMCG_V1=$mcg is a memory cgroup the server user may write")
  or BAIL_OUT("$mcg is not a writable cgroup v1 memory directory");

my $MB = 1024 * 1024;
my $limit = 768 * $MB;

# The server in a child cgroup with the limit (see t/080_memory.pl).
my $child = "$mcg/server_$$";
mkdir($child) or BAIL_OUT("mkdir $child: $!");
write_file("$child/memory.limit_in_bytes", $limit)
  or BAIL_OUT("could not write $child/memory.limit_in_bytes: $!");

my ($bindir) = grep { -x "$_/pg_ctl" } split /:/, $ENV{PATH};
BAIL_OUT('no pg_ctl in PATH') unless defined $bindir;
my $wrapdir = PostgreSQL::Test::Utils::tempdir('pgctl_wrap');
write_file("$wrapdir/pg_ctl",
	"#!/bin/sh\necho \$\$ > '$child/cgroup.procs' || exit 1\nexec '$bindir/pg_ctl' \"\$@\"\n")
  or BAIL_OUT("could not write $wrapdir/pg_ctl");
chmod(0755, "$wrapdir/pg_ctl");

my $node = PostgreSQL::Test::Cluster->new('doubling');
PgbSession::set_node($node);
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_budget'
shared_buffers = 32MB
max_connections = 20
restart_after_crash = on
max_parallel_workers_per_gather = 0
jit = off
pg_budget.memory_guard = 0.9
pg_budget.classes = 'web(priority=100), ai(priority=10, shed=cancel)'
});
{
	local $ENV{PATH} = "$wrapdir:$ENV{PATH}";
	$node->start;
}
my $su = $node->safe_psql('postgres', 'SELECT current_user');
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_budget;
CREATE ROLE w LOGIN;
CREATE ROLE a LOGIN;
ALTER ROLE w SET pg_budget.class = 'web';
ALTER ROLE a SET pg_budget.class = 'ai';
});
my $ctl = control_session($su);
my $started = ctl('SELECT pg_postmaster_start_time()');
like(slurp_file($node->logfile),
	qr/LOG:  pg_budget: memory limit 768 MB, from cgroup v1 memory\.limit_in_bytes of \Q$child\E; the guard cancels queries past 691 MB \(90%\), any class's past 730 MB/,
	'the server runs in the 768 MB cgroup, marks at 691 and 730 MB');

sub use_bytes
{
	return ctl('SELECT use_bytes FROM pg_budget_memory');
}

sub memory_events
{
	my ($since) = @_;
	my $rows = ctl(qq{SELECT string_agg(class || '|' || pid || '|' || action || '|' || coalesce(signal, '') || '|' || reason, E'\\n' ORDER BY at)
	  FROM pg_budget_events WHERE at > '$since' AND reason LIKE 'memory:%'});
	return () if $rows eq '';
	return split /\n/, $rows;
}

# The aggregate of bench/memory.sh's slow hog over $n groups (integers from
# a generate_series in the select list: nothing kept before the hash
# table), then $secs s of pg_sleep (in the projection of the count, once)
# with the table still held.
sub doubling_sql
{
	my ($n, $secs) = @_;
	return "SELECT count(*) + length(pg_sleep($secs)::text) FROM (SELECT g FROM (SELECT generate_series(1, $n) g) x GROUP BY g) s;";
}

sub ai_session
{
	my $s = session('a');
	sess_send($s, '\set VERBOSITY verbose');
	sess_query($s, "SET work_mem = '2GB'");
	sess_query($s, 'SET hash_mem_multiplier = 10');
	return $s;
}

# Two web sessions doing nothing much: they must be there at the end.
my @web = map { session('w') } 1 .. 2;

#
# Its last step fits: left alone, though its next would not
#
{
	ok(wait_until(sub { use_bytes() < 200 * $MB }, 'use below 200 MB'), 'calm before the first case');
	my $since = ctl('SELECT clock_timestamp()');
	my $s = ai_session();
	my $out = sess_query($s, doubling_sql(3_000_000, 3));
	is($out, '3000000',
		'3 million groups: the aggregate returns its result (its last step fits; the next, four times its last give-back, would pass the mark, but it grows no more)');
	is($s->{stderr}, '', 'and gets no error');
	my @ev = memory_events($since);
	is(scalar @ev, 0, 'no memory event') or diag(join("\n", @ev));
	sess_close($s);
}

#
# It keeps growing: cancelled between two steps
#
{
	ok(wait_until(sub { use_bytes() < 200 * $MB }, 'use below 200 MB'), 'calm before the hog');
	my $since = ctl('SELECT clock_timestamp()');
	my $s = ai_session();
	my $peak = 0;
	sess_send($s, doubling_sql(100_000_000, 0));
	my $deadline = time + 60;
	while (time < $deadline && alive($s) && $s->{stderr} !~ /ERROR/)
	{
		my $u = use_bytes();
		$peak = $u if $u > $peak;
		$s->{run}->pump_nb;
		usleep(20_000);
	}
	is(sess_query($s, "SELECT 'still usable'"), 'still usable', 'the hog\'s session is usable after the cancel');
	like($s->{stderr},
		qr/ERROR:  53200: pg_budget: query of class "ai" cancelled: it grows by doublings; its next, (\d+) MB, would take the server past (691|730) MB/,
		'the hog gets SQLSTATE 53200 and a message naming its doublings and the mark its next step would pass');
	my @ev = memory_events($since);
	is(scalar @ev, 1, 'one memory event') or diag(join("\n", @ev));
	like($ev[0] // '',
		qr/^ai\|$s->{pid}\|cancel\|memory\|memory: the session held (\d+) MB, growing by doublings; its next, (\d+) MB, with the server at (\d+) of 768 MB, would pass (?:691|730) MB$/,
		'pg_budget_events: the cancel and its reason, the predicted step');
	if (($ev[0] // '') =~ /held (\d+) MB, growing by doublings; its next, (\d+) MB, with the server at (\d+) of/)
	{
		ok($3 < 614 && $3 + $2 >= 691,
			"cancelled under the early mark (the server at $3 MB, the hog at $1 MB), its next step ($2 MB) past the mark");
	}
	else
	{
		fail('the numbers of the event');
	}
	note("the server's use at most $peak bytes, read by the test");
	like(slurp_file($node->logfile),
		qr/LOG:  pg_budget: cancelled pid $s->{pid} of class "ai" \(role "a"\), signal memory: memory: the session held \d+ MB, growing by doublings/,
		'a LOG line says who was cancelled and why');
	sess_close($s);
}

is(sess_query($web[0], "SELECT 'web alive'"), 'web alive', 'the web sessions are still there');
is(ctl('SELECT pg_postmaster_start_time()'), $started, 'pg_postmaster_start_time is unchanged');
my $log = slurp_file($node->logfile);
unlike($log, qr/all server processes terminated; reinitializing/, 'no crash restart');
my $oom = read_file("$child/memory.oom_control") // '';
if ($oom =~ /^oom_kill (\d+)$/m)
{
	is($1, 0, 'the cgroup\'s memory.oom_control: oom_kill 0');
}
note('memory.max_usage_in_bytes: ' . (read_file("$child/memory.max_usage_in_bytes") // '?'));

sess_close($_) for @web;
sess_close($ctl);
$node->stop;
rmdir($child) or diag("could not remove $child: $!");
done_testing();
