# The memory guard against a real cgroup v2 kernel, set up as on a systemd
# machine: PGB_TEST_MEMCG_V2 is a cgroup v2 directory delegated to the
# server's OS user (scripts/uml-v2.sh makes one in a user-mode Linux
# kernel, as systemd's Delegate=yes does).  In it the test makes "unit"
# with memory.max = 320 MB (a unit's MemoryMax=) and, in that, "postgresql"
# (memory.max left at "max"), pg_budget.cgroup; the server starts inside
# postgresql itself, as systemd starts a service, and pg_budget moves it
# into postgresql/pg_budget.server, a cgroup with no memory.max file of
# its own (no one enables the memory controller below postgresql).  The
# limit is then found by walking up from the postmaster's "0::" line of
# /proc/<pid>/cgroup: the lowest memory.max on the way is unit's.
#
# What is checked: the start's LOG line (320 MB, from unit's memory.max;
# the marks), pg_budget_memory against the kernel's own memory.current and
# memory.stat of unit, and a query of a sheddable class that grows without
# bound cancelled with SQLSTATE 53200 before the kernel acts (no crash
# restart), its session usable after it.  The guard's other cases are in
# t/080_memory.pl (cgroup v1).
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

my $svc = $ENV{PGB_TEST_MEMCG_V2};
plan skip_all =>
  'PGB_TEST_MEMCG_V2 is not set (scripts/uml-v2.sh sets it, in a user-mode Linux kernel, to a cgroup v2 directory delegated to the server user)'
  unless defined $svc && $svc ne '';

my $MB = 1024 * 1024;

my $controllers = read_file("$svc/cgroup.controllers") // '';
ok( -d $svc
	  && -w "$svc/cgroup.procs"
	  && -w "$svc/cgroup.subtree_control"
	  && $controllers =~ /(^| )memory( |$)/
	  && $controllers =~ /(^| )cpu( |$)/,
	"PGB_TEST_MEMCG_V2=$svc is a cgroup v2 delegated to the server user, with the memory and cpu controllers ($controllers)"
) or BAIL_OUT("$svc is not a delegated cgroup v2 directory with memory and cpu");

# The delegatee enables what its children need (the directory has no
# process of its own: the test runs in a leaf of it), makes the unit with
# its limit, and in it the directory pg_budget is given.
ok(write_file("$svc/cgroup.subtree_control", "+cpu +memory"),
	'cpu and memory enabled for the children of the delegated directory')
  or diag("cgroup.subtree_control: $!");
my $unit = "$svc/unit_$$";
my $pg = "$unit/postgresql";
mkdir($unit) or BAIL_OUT("mkdir $unit: $!");
ok(write_file("$unit/memory.max", 320 * $MB), "unit: memory.max 320 MB")
  or BAIL_OUT("could not write $unit/memory.max: $!");
ok(write_file("$unit/cgroup.subtree_control", "+cpu +memory"),
	'unit: cpu and memory enabled for postgresql');
mkdir($pg) or BAIL_OUT("mkdir $pg: $!");
is(read_file("$pg/memory.max"), 'max', 'postgresql: memory.max is "max" (no limit of its own)');

# pg_ctl, wrapped: it first writes its own pid into postgresql's
# cgroup.procs, so that the postmaster starts there (the test's own
# processes, psql included, stay where they are)
my ($bindir) = grep { -x "$_/pg_ctl" } split /:/, $ENV{PATH};
BAIL_OUT('no pg_ctl in PATH') unless defined $bindir;
my $wrapdir = PostgreSQL::Test::Utils::tempdir('pgctl_wrap');
write_file("$wrapdir/pg_ctl",
	"#!/bin/sh\necho \$\$ > '$pg/cgroup.procs' || exit 1\nexec '$bindir/pg_ctl' \"\$@\"\n")
  or BAIL_OUT("could not write $wrapdir/pg_ctl");
chmod(0755, "$wrapdir/pg_ctl");

my $node = pgb_node(
	'memory_v2',
	session => 1,
	start => 0,
	conf => qq{
shared_buffers = 32MB
max_connections = 20
restart_after_crash = on
max_parallel_workers_per_gather = 0
jit = off
pg_budget.cgroup = '$pg'
pg_budget.memory_guard = 0.8
},
	classes => 'web(priority=100), ai(priority=10, shed=cancel)');
{
	local $ENV{PATH} = "$wrapdir:$ENV{PATH}";
	$node->start;
}
my $pm_pid = (split /\n/, read_file($node->data_dir . '/postmaster.pid'))[0];
my $pm_cgroup = read_file("/proc/$pm_pid/cgroup") // '';
is($pm_cgroup, "0::" . substr("$pg/pg_budget.server", length('/sys/fs/cgroup')),
	"the postmaster, started in postgresql, is in its leaf: /proc/<pid>/cgroup is \"$pm_cgroup\"");
ok(!-e "$pg/pg_budget.server/memory.max", 'the leaf has no memory.max of its own');
is(read_file("$pg/cgroup.procs"), '', 'postgresql itself is left with no process');

pgb_setup($node, roles => [ w => 'web', a => 'ai' ]);
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $ctl = control_session($su);
my $started = ctl('SELECT pg_postmaster_start_time()');

#
# the limit: unit's memory.max, found from the leaf by walking up
#
like(slurp_file($node->logfile),
	qr/LOG:  pg_budget: memory limit 320 MB, from cgroup v2 memory\.max of \Q$unit\E; the guard cancels queries past 256 MB \(80%\), any class's past 288 MB/,
	'the start says the limit is unit\'s memory.max, and the marks');
unlike(slurp_file($node->logfile), qr/WARNING:  pg_budget/, 'no WARNING at start');
my ($lim, $use) = split / /, ctl(q{SELECT limit_bytes || ' ' || use_bytes FROM pg_budget_memory});
is($lim, 320 * $MB, 'pg_budget_memory.limit_bytes is unit\'s memory.max');

# the use: memory.current less inactive_file of unit, as the kernel has them
my $current = read_file("$unit/memory.current");
my ($inactive) = (read_file("$unit/memory.stat") // '') =~ /^inactive_file (\d+)$/m;
diag("unit: memory.current $current, inactive_file " . ($inactive // 'none') . "; use_bytes $use");
ok($use > 0 && $use <= $current, "use_bytes ($use) is read and at most unit's memory.current ($current)");
ok(defined $inactive && abs($use - ($current - $inactive)) < 32 * $MB,
	'and near memory.current less inactive_file of memory.stat');

#
# a query of ai that grows without bound: cancelled before the kernel acts
#
my $w = session('w');
my $hog = session('a');
sess_send($hog, '\set VERBOSITY verbose');
sess_query($hog, "SET work_mem = '2GB'");
sess_query($hog, 'SET hash_mem_multiplier = 10');
my $from = length $hog->{stderr};
sess_send($hog,
	"SELECT count(*) FROM (SELECT g FROM generate_series(1, 50000000) g GROUP BY g) s;\n\\echo hog-done");
ok(sess_wait($hog, qr/hog-done/, 180), 'the hog ends');
# past the guard, or (as in t/080_memory.pl) past the early mark, 0.6 of
# the limit, growing fast enough to reach the limit within a second: which
# comes first depends on when the worker's ticks fall on a busy host
like(substr($hog->{stderr}, $from),
	qr/ERROR:  53200: pg_budget: query of class "ai" cancelled: the server's memory(?: is past pg_budget\.memory_guard \(256 MB\)|, past 192 MB and growing \d+ MB\/s, would reach its limit \(320 MB\) within 1 s)/,
	'cancelled with SQLSTATE 53200 past the guard (256 MB), or past 192 MB growing to reach the limit within 1 s');
is(sess_query($hog, 'SELECT 1'), '1', 'its session is still usable');
is(sess_query($w, 'SELECT 2'), '2', 'the web session is untouched');
is(ctl('SELECT pg_postmaster_start_time()'), $started, 'no crash restart');
my $events = read_file("$unit/memory.events") // '';
my ($oom_kill) = $events =~ /^oom_kill (\d+)$/m;
is($oom_kill, 0, "the kernel killed nothing (unit's memory.events: oom_kill 0)");
diag("unit's memory.events: " . join(', ', split /\n/, $events));
like(ctl(q{SELECT reason FROM pg_budget_events WHERE class = 'ai' AND action = 'cancel' AND reason LIKE 'memory:%' ORDER BY at DESC LIMIT 1}),
	qr/^memory:/, 'the cancel is an event');

sess_close($w);
sess_close($hog);
sess_close($ctl);
$node->stop;
# what the test made (a busy directory is tried again: t/PgbCgroup.pm)
cgroup_clean($unit);
rmdir($unit) or diag("could not remove $unit: $!");
done_testing();
