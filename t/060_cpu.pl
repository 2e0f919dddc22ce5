# CPU weights by class through a real cgroup directory: cgroup v1's cpu
# hierarchy (PGB_TEST_CGROUP_V1: scripts/test.sh makes one under
# /sys/fs/cgroup/cpu and gives it to the server's OS user) or a cgroup v2
# directory delegated as systemd's Delegate=yes does (PGB_TEST_CGROUP_V2:
# scripts/uml-v2.sh, in a user-mode Linux kernel; see t/PgbCgroup.pm): the
# class directories and their weights (cpu.shares, cpu.weight), the
# server's own processes in their leaf (walsenders too; on v2 the server
# is first started inside the delegated directory itself, as systemd
# starts a service, and whatever else is there goes into the leaf with it
# before pg_budget enables the cpu controller), a login's pid in its
# class's cgroup.procs and in pg_budget_backends.cgroup,
# pg_budget_status.cpu_weight, a reload that reweights, adds and removes
# classes (a busy one is left and said so), a crash restart and a clean
# restart that reuse the tree, and directories that can not be used: a
# WARNING naming the path, and logins as before; one made while the server
# runs is set up at the next reload; and the kernel's sharing: web's
# sessions get far more CPU than ai's.
# v2's file protocol is also tested without a kernel, in test/unit/test_cgroup_fs.c.
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
my $v2 = $ver eq 'v2';
my $wf = weight_file();
my $has_idle = -f "$cg/cpu.idle";
my $leaf = "$cg/pg_budget.server";

my $node = pgb_node(
	'cpu',
	session => 1,
	init => { allows_streaming => 'logical' },
	hba => "local replication all trust\n",
	conf => qq{
max_connections = 30
restart_after_crash = on
log_min_messages = debug1
pg_budget.cgroup = '$cg'
},
	classes => 'web(priority=100, cpu=200), ai(priority=10, cpu=1), bulk(cpu=idle)',
	start => 0);
my $offset = 0;

# v2: the server starts inside the delegated directory itself, as systemd
# starts a service's processes in its cgroup, with another process there
# (this test's own, as pg_ctlcluster is under systemd).  The no-internal-
# processes rule lets a process in only while no controller is enabled
# for its children: the first start in a fresh delegated directory.
my $home = own_cgroup();
my $inside = 0;
if ($v2 && (read_file("$cg/cgroup.subtree_control") // 'x') eq '')
{
	$inside = write_file("$cg/cgroup.procs", "$$\n");
	diag("could not move the test into $cg: $!") unless $inside;
}
$node->start;
if ($v2)
{
	SKIP:
	{
		skip "$cg has controllers on for its children already (a test ran in it before): no process may start in it", 3
		  unless $inside;
		my $pm = (split /\n/, read_file($node->data_dir . '/postmaster.pid'))[0];
		ok(in_cgroup($leaf, $pm), 'v2: the postmaster started in the delegated directory is in pg_budget.server');
		ok(in_cgroup($leaf, $$), 'v2: and so is the other process that was there (this test)');
		is(read_file("$cg/cgroup.procs"), '', 'v2: the delegated directory is left with no process of its own');
	}
	like(read_file("$cg/cgroup.subtree_control"), qr/(^| )cpu( |$)/,
		'v2: pg_budget enabled the cpu controller for the class directories (cgroup.subtree_control)');
	# back to where the test came from, so that the leaf holds the server alone
	if ($inside)
	{
		write_file("$home/cgroup.procs", "$$\n") or die "could not move the test back to $home: $!";
	}
}
pgb_setup($node, roles => [ w => 'web', a => [ 'ai', 'REPLICATION' ], b => 'bulk', x => 'batch' ]);
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $ctl = control_session($su);

#
# at start: one directory per class with its weight, the server in its leaf
#
like(slurp_file($node->logfile),
	qr/LOG:  pg_budget: CPU weights in force under "\Q$cg\E" \(cgroup $ver\): web 200, ai 1, bulk idle, default 100/,
	'the start says which weights are in force');
is(read_file("$cg/web/$wf"), weight_value(200), "web (cpu=200): $wf " . weight_value(200));
is(read_file("$cg/ai/$wf"), weight_value(1), "ai (cpu=1): $wf " . weight_value(1));
is(read_file("$cg/default/$wf"), weight_value(100), "the default class (cpu 100): $wf " . weight_value(100));
SKIP:
{
	skip 'this kernel has no cpu.idle', 2 unless $has_idle;
	is(read_file("$cg/bulk/cpu.idle"), 1, 'bulk (cpu=idle): cpu.idle 1');
	is(read_file("$cg/web/cpu.idle"), 0, 'web: cpu.idle 0');
}
if ($v2)
{
	# the kernel shows each weight as the nice value whose weight is
	# nearest (cpu.weight.nice): 200 is nice -3, 1 is nice 19, 100 nice 0
	is(read_file("$cg/web/cpu.weight.nice"), -3, 'v2: web (cpu.weight 200): cpu.weight.nice -3');
	is(read_file("$cg/ai/cpu.weight.nice"), 19, 'v2: ai (cpu.weight 1): cpu.weight.nice 19');
	is(read_file("$cg/default/cpu.weight.nice"), 0, 'v2: default (cpu.weight 100): cpu.weight.nice 0');
}
my $pm_pid = (split /\n/, read_file($node->data_dir . '/postmaster.pid'))[0];
ok(in_cgroup($leaf, $pm_pid), 'the postmaster is in pg_budget.server');
my $worker = ctl("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_budget worker'");
ok(in_cgroup($leaf, $worker), 'the pg_budget worker stays with the server');
my $avl = ctl("SELECT pid FROM pg_stat_activity WHERE backend_type = 'autovacuum launcher'");
ok(in_cgroup($leaf, $avl), 'the autovacuum launcher stays with the server');
is( ctl("SELECT string_agg(class || ':' || coalesce(cpu_weight::text, 'null') || ':' || coalesce(cpu_idle::text, 'null'), ' ' ORDER BY class) FROM pg_budget_status"),
	'ai:1:false bulk:null:true default:100:false web:200:false',
	'pg_budget_status: cpu_weight and cpu_idle of each class');

#
# placement: each login in its class's cgroup before its first query
#
my $sa = session('a');
my $sw = session('w');
my $sb = session('b');
ok(in_cgroup("$cg/ai", $sa->{pid}), 'a login of ai is in ai/cgroup.procs');
ok(in_cgroup("$cg/web", $sw->{pid}), 'a login of web is in web/cgroup.procs');
ok(in_cgroup("$cg/bulk", $sb->{pid}), 'a login of bulk is in bulk/cgroup.procs');
ok(!in_cgroup($leaf, $sa->{pid}), 'and no longer with the server');
ok(in_cgroup("$cg/default", $ctl->{pid}), 'a superuser is in its class (default) too');
my $base = $cg;
$base =~ s{.*/}{};
like(ctl("SELECT cgroup FROM pg_budget_backends WHERE pid = $sa->{pid}"),
	qr{/\Q$base\E/ai$}, 'pg_budget_backends.cgroup of the ai session ends in /ai');
is(sess_query($sa, 'SELECT cgroup FROM pg_budget_backends WHERE pid = pg_backend_pid()')
	  =~ m{/\Q$base\E/ai$} ? 1 : 0,
	1, 'the session sees its own cgroup');
# the first query already runs there: /proc/self/cgroup as read by the session
my $first = session('w');
like(ctl("SELECT cgroup FROM pg_budget_backends WHERE pid = $first->{pid}"),
	qr{/\Q$base\E/web$}, 'a new web login is in web at its first query');
sess_close($first);
# a replication=database walsender of class ai is counted but stays with the server
my $ws = session('a replication=database');
ok(in_cgroup($leaf, $ws->{pid}) && !in_cgroup("$cg/ai", $ws->{pid}),
	'a walsender of class ai stays with the server');
is(ctl("SELECT class FROM pg_budget_backends WHERE pid = $ws->{pid}"), 'ai',
	'though it counts in ai');
sess_close($ws);

#
# CPU time and run delay by class, read once a second from /proc
#
my $before = ctl("SELECT cpu_ms FROM pg_budget_status WHERE class = 'ai'");
my $t0 = time;
sess_query($sa, 'SELECT count(*) FROM generate_series(1, 4000000)');
my $spent_ms = (time - $t0) * 1000;
ok( wait_until(
		sub { ctl("SELECT cpu_ms - $before >= least(100, $spent_ms / 4) FROM pg_budget_status WHERE class = 'ai'") eq 't' },
		'ai cpu_ms'),
	sprintf('a query of ai that ran %.0f ms shows in its cpu_ms', $spent_ms));
my $got_ms = ctl("SELECT cpu_ms - $before FROM pg_budget_status WHERE class = 'ai'");
cmp_ok($got_ms, '<=', $spent_ms + 1500, "and no more than it could have used ($got_ms ms)");
is(ctl("SELECT count(*) FROM pg_budget_status WHERE run_delay_ms >= 0 AND cpu_ms >= 0"),
	ctl("SELECT count(*) FROM pg_budget_status"), 'every class has a run delay and a CPU time');
my ($rc0, $seen) = login('w', 'SELECT count(*) FROM pg_budget_status WHERE cpu_ms IS NOT NULL OR run_delay_ms IS NOT NULL');
is($seen, '0', 'a plain role does not see them (as the other sampled columns)');
ctl('SELECT pg_budget_reset()');
cmp_ok(ctl("SELECT cpu_ms FROM pg_budget_status WHERE class = 'ai'"), '<', $got_ms,
	'pg_budget_reset starts them again');

# the effect: 3 sessions of web (cpu=200: cpu.shares 2048, cpu.weight 200)
# and 3 of ai (cpu=1: cpu.shares 10, cpu.weight 1) all on CPU at once, more
# than this machine has cores: over 3 s while all six run, the kernel gives
# web nearly all of it.  ai's start first: on a single core (user-mode
# Linux) web's weight leaves a later ai session too little CPU even to read
# its query, and it would run alone afterwards.
my (@busy_w, @busy_a);
push @busy_w, session('w') for 1 .. 3;
push @busy_a, session('a') for 1 .. 3;
my $busy_sql = 'SELECT count(*) FROM generate_series(1, 1000000000)';
my $busy_pids = join(',', map { $_->{pid} } @busy_w, @busy_a);
# how many of the sessions of @_ run the busy query
sub busy
{
	my $pids = join(',', map { $_->{pid} } @_);
	return ctl("SELECT count(*) FROM pg_stat_activity WHERE pid IN ($pids) AND state = 'active' AND query LIKE '$busy_sql%'");
}
sess_send($_, "SET statement_timeout = '120s';\n$busy_sql;\n\\echo busy-done") for @busy_a;
wait_until(sub { busy(@busy_a) == 3 }, 'ai busy');
sess_send($_, "SET statement_timeout = '120s';\n$busy_sql;\n\\echo busy-done") for @busy_w;
ok(wait_until(sub { busy(@busy_w, @busy_a) == 6 }, 'all six busy'),
	'3 web and 3 ai sessions are on CPU at once');
usleep(1_500_000);    # the worker's next reading, with all six on CPU
my %cpu0 = map { $_ => ctl("SELECT cpu_ms FROM pg_budget_status WHERE class = '$_'") } qw(web ai);
my $t_busy = time;
usleep(3_000_000);
my %cpu1 = map { $_ => ctl("SELECT cpu_ms FROM pg_budget_status WHERE class = '$_'") } qw(web ai);
$t_busy = time - $t_busy;
is(busy(@busy_w, @busy_a), 6, 'and all six still are at the second reading');
ctl("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid IN ($busy_pids)");
sess_wait($_, qr/^busy-done$/m, 30) for @busy_w, @busy_a;
my ($web_ms, $ai_ms) = ($cpu1{web} - $cpu0{web}, $cpu1{ai} - $cpu0{ai});
diag(sprintf('%.1f s of 3 web and 3 ai sessions on CPU: web %.0f ms of CPU, ai %.0f ms', $t_busy, $web_ms, $ai_ms));
cmp_ok($web_ms, '>', 1000, 'web got CPU');
cmp_ok($web_ms, '>', 5 * $ai_ms, 'and more than five times what ai got');
sess_close($_) for @busy_w, @busy_a;

#
# reload: reweighted, a class added, a class removed while a session is in it
#
$node->append_conf('postgresql.conf',
	"pg_budget.classes = 'web(priority=100, cpu=50), ai(priority=10, cpu=1), batch(cpu=30)'\n");
$offset = -s $node->logfile;
$node->reload;
ok( wait_until(
		sub {
			(read_file("$cg/batch/$wf") // '') eq weight_value(30)
			  && (read_file("$cg/web/$wf") // '') eq weight_value(50);
		},
		'web reweighted and batch made'),
	"reload: web reweighted to $wf " . weight_value(50) . ' and batch made');
is(read_file("$cg/batch/$wf"), weight_value(30), "batch (cpu=30): $wf " . weight_value(30));
ok(wait_until(sub { ctl("SELECT cpu_weight FROM pg_budget_status WHERE class = 'web'") eq '50' },
		'the view'),
	'pg_budget_status shows the new weight');
is(ctl("SELECT cpu_weight FROM pg_budget_status WHERE class = 'batch'"), 30,
	'and the new class');
ok(-d "$cg/bulk", 'bulk, removed while a session is in it, is left in place');
like(slurp_file($node->logfile, $offset),
	qr{LOG:  pg_budget: "\Q$cg\E/bulk" of a removed class is left in place: its sessions are still in it},
	'and the log says so');
ok(in_cgroup("$cg/bulk", $sb->{pid}), 'its session stays there');
my $sx = session('x');
ok(in_cgroup("$cg/batch", $sx->{pid}), 'a login of the new class batch is in batch');
sess_close($sb);
sess_close($sx);
ok(wait_until(sub { ctl("SELECT count(*) FROM pg_budget_backends WHERE role = 'b'") eq '0' }, 'b gone'),
	'the bulk session is gone');
wait_until(sub { (read_file("$cg/bulk/cgroup.procs") // 'x') eq '' }, 'bulk empty');
$node->reload;
ok(wait_until(sub { !-d "$cg/bulk" }, 'bulk removed'),
	'the next reload removes the empty directory of the removed class');

#
# a crash restart, then a clean one: the tree is reused, nothing blocks
#
$offset = -s $node->logfile;
kill 'KILL', $sa->{pid};
sess_close($sa);
sess_close($sw);
sess_close($ctl);
ok(wait_until(sub { $node->psql('postgres', 'SELECT 1') == 0 }, 'crash restart'),
	'the server is back after a crash restart');
my $again = session('a');
ok(in_cgroup("$cg/ai", $again->{pid}), 'after the crash restart a login of ai is in ai again');
sess_close($again);
$node->restart;
like(slurp_file($node->logfile, $offset),
	qr/LOG:  pg_budget: CPU weights in force under "\Q$cg\E" \(cgroup $ver\): web 50, ai 1, batch 30, default 100/,
	'a clean restart reuses the directories left');
unlike(slurp_file($node->logfile, $offset), qr/WARNING:  pg_budget/,
	'no WARNING from the restarts');
$again = session('a');
ok(in_cgroup("$cg/ai", $again->{pid}), 'after the restart a login of ai is in ai');
sess_close($again);

#
# directories that can not be used: a WARNING naming the path, logins as usual
#
sub start_with
{
	my ($dir, $what) = @_;
	$node->stop;
	$node->append_conf('postgresql.conf', "pg_budget.cgroup = '$dir'\n");
	$offset = -s $node->logfile;
	ok($node->start(fail_ok => 1), "$what: the server starts");
	my ($rc, $out, $err) = login('a', 'SHOW pg_budget.class');
	is($rc . ' ' . $out, '0 ai', "$what: a login of ai is admitted");
	($rc, $out, $err) = login('w', "SELECT count(*) FROM pg_budget_status WHERE cpu_weight IS NOT NULL OR cpu_idle");
	is($out, '0', "$what: no weight in force");
	return slurp_file($node->logfile, $offset);
}

my $log = start_with("$cg/missing", 'a missing directory');
like($log, qr{WARNING:  pg_budget: no CPU weights: could not access "\Q$cg\E/missing": No such file or directory},
	'a missing directory: the WARNING names the path and the reason');
is(scalar(() = $log =~ /WARNING:  pg_budget/g), 1, 'a missing directory: one WARNING');
$offset = -s $node->logfile;
$node->reload;
ok(wait_until(sub { slurp_file($node->logfile, $offset) =~ /WARNING:  pg_budget: no CPU weights: could not access/ }, 'reload warning'),
	'a missing directory: the WARNING again at reload');

# made while the server runs: the next reload sets it up and moves the
# sessions admitted meanwhile into their classes
my $early = session('a');
my $fixed = "$cg/missing";
mkdir($fixed) or die "mkdir $fixed: $!";
$offset = -s $node->logfile;
$node->reload;
ok(wait_until(sub { in_cgroup("$fixed/ai", $early->{pid}) }, 'the early session moved'),
	'a directory made later: at the next reload the session admitted before is moved into ai');
like(slurp_file($node->logfile, $offset),
	qr/LOG:  pg_budget: 1 sessions moved into the cgroups of their classes/,
	'and the log says so');
ok(in_cgroup("$fixed/pg_budget.server", (split /\n/, read_file($node->data_dir . '/postmaster.pid'))[0]),
	'and the postmaster is in its leaf');
sess_close($early);

mkdir("$cg/ro") or die "mkdir $cg/ro: $!";
chmod(0555, "$cg/ro") or die "chmod: $!";
$log = start_with("$cg/ro", 'an unwritable directory');
like($log, qr{WARNING:  pg_budget: no CPU weights: "\Q$cg\E/ro" is not writable by the server: Permission denied},
	'an unwritable directory: the WARNING names the path and the reason');

$log = start_with($node->data_dir, 'a directory that is no cgroup');
like($log, qr{WARNING:  pg_budget: no CPU weights: "\Q${\ $node->data_dir }\E" is not a cgroup with a cpu controller},
	'a directory that is no cgroup: the WARNING says so');

if ($v2)
{
	# a service's cgroup that is not delegated (no Delegate=yes): owned by
	# root, as the parent of the delegated directory is
	my $parent = $cg =~ s{/[^/]+$}{}r;
	$log = start_with($parent, 'v2: a cgroup not delegated');
	like($log, qr{WARNING:  pg_budget: no CPU weights: "\Q$parent\E" is not writable by the server: Permission denied},
		'v2: a cgroup not delegated: the WARNING names the path and the reason');

	# delegated, but the cpu controller not enabled for it by its parent
	mkdir("$cg/nocpu") or die "mkdir $cg/nocpu: $!";
	mkdir("$cg/nocpu/svc") or die "mkdir $cg/nocpu/svc: $!";
	$log = start_with("$cg/nocpu/svc", 'v2: a cgroup without the cpu controller');
	like($log,
		qr{WARNING:  pg_budget: no CPU weights: the cpu controller is not available in "\Q$cg\E/nocpu/svc" \(its cgroup.controllers lists "[^"]*"\); enable it in the parent's cgroup.subtree_control},
		'v2: a cgroup without the cpu controller: the WARNING says which and what to do');
}

#
# back to the good directory, then clean up what the test made
#
$node->stop;
$node->append_conf('postgresql.conf', "pg_budget.cgroup = ''\n");
$node->start;
my ($rc, $out) = login('a', 'SHOW pg_budget.class');
is($out, 'ai', 'without pg_budget.cgroup logins are as before');
$node->stop;
chmod(0755, "$cg/ro");
cgroup_clean($cg);
done_testing();
