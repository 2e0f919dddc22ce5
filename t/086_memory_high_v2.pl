# Would memory.high on the cgroups of classes with mem= help?  A
# measurement in a real cgroup v2 kernel (scripts/uml-v2.sh: Linux 6.1 in
# user-mode Linux), set up as in t/085_memory_v2.pl: PGB_TEST_MEMCG_V2 is a
# directory delegated to the server's OS user; in it the test makes a unit
# with memory.max = 1 GB (a unit's MemoryMax=) and, in that, pg_budget.cgroup,
# where the server starts.  pg_budget enables only the cpu controller there
# and writes no memory.high (measured not to help:
# bench/results/memory-high.md, doc/memory.md): the test enables the memory
# controller below pg_budget.cgroup itself and writes memory.high = mem= on
# the "h" classes, as the feature would have; the "n" classes keep "max".
#
# Hogs of classes with mem=256MB, PGB_MEMHIGH_RUNS (3) of each, one class
# each (memory.peak can not be reset on 6.1).  For each: the class's
# memory.peak past mem=, the worker's cancel event to the client's error,
# memory.events' high count, the growth rate, and the times of a web
# session's SELECT 1, one every 250 ms meanwhile (diag lines).  Checked:
# each hog cancelled with 53200 for its class's mem=, its session usable,
# no crash restart, no OOM kill.  PGB_MEMHIGH_HOGS='agg fill' adds the
# fill hog (repeat(), which does not look at interrupts: it ends in a crash
# restart, with or without memory.high); PGB_MEMHIGH_CAP (150) bounds a
# hog's run, in seconds.  Not in scripts/uml-v2.sh's default list (some 5
# minutes): PGB_UML_TESTS=t/086_memory_high_v2.pl.
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
use List::Util qw(max sum);
use Time::HiRes qw(time usleep);

my $svc = $ENV{PGB_TEST_MEMCG_V2};
plan skip_all =>
  'PGB_TEST_MEMCG_V2 is not set (scripts/uml-v2.sh sets it, in a user-mode Linux kernel, to a cgroup v2 directory delegated to the server user)'
  unless defined $svc && $svc ne '';

my $MB = 1024 * 1024;
my $MEM = 256 * $MB;
my $runs = $ENV{PGB_MEMHIGH_RUNS} // 3;

my $controllers = read_file("$svc/cgroup.controllers") // '';
ok(-d $svc && -w "$svc/cgroup.subtree_control" && $controllers =~ /(^| )memory( |$)/,
	"PGB_TEST_MEMCG_V2=$svc is delegated, with the memory controller ($controllers)")
  or BAIL_OUT("$svc is not a delegated cgroup v2 directory with memory");
ok(write_file("$svc/cgroup.subtree_control", "+cpu +memory"),
	'cpu and memory enabled for the children of the delegated directory');

my $unit = "$svc/unit_$$";
my $pg = "$unit/postgresql";
mkdir($unit) or BAIL_OUT("mkdir $unit: $!");
write_file("$unit/memory.max", 1024 * $MB) or BAIL_OUT("memory.max of $unit: $!");
ok(write_file("$unit/cgroup.subtree_control", '+cpu +memory'), 'cpu and memory enabled below the unit');
mkdir($pg) or BAIL_OUT("mkdir $pg: $!");

# pg_ctl, wrapped: the postmaster starts in postgresql
my ($bindir) = grep { -x "$_/pg_ctl" } split /:/, $ENV{PATH};
BAIL_OUT('no pg_ctl in PATH') unless defined $bindir;
my $wrapdir = PostgreSQL::Test::Utils::tempdir('pgctl_wrap');
write_file("$wrapdir/pg_ctl",
	"#!/bin/sh\necho \$\$ > '$pg/cgroup.procs' || exit 1\nexec '$bindir/pg_ctl' \"\$@\"\n")
  or BAIL_OUT("could not write $wrapdir/pg_ctl");
chmod(0755, "$wrapdir/pg_ctl");

# per hog: "h" classes get memory.high = mem= from the test, "n" ones keep
# max
my %hogs = (
	agg => "SET work_mem = '2GB'; SET hash_mem_multiplier = 10;\n"
	  . 'SELECT count(*) FROM (SELECT g FROM generate_series(1, 50000000) g GROUP BY g) s;',
	fill => q{SELECT length(repeat(repeat('x', 1048576), 600));});
# fill only when PGB_MEMHIGH_HOGS names it: repeat() does not look at
# interrupts, and its backend was killed (a crash restart) either way
my %wanted = map { ($_ => 1) } split ' ', ($ENV{PGB_MEMHIGH_HOGS} // 'agg');
delete $hogs{$_} for grep { !$wanted{$_} } keys %hogs;
my (%h, %n);
for my $k (sort keys %hogs)
{
	$h{$k} = [ map { "h${k}$_" } 1 .. $runs ];
	$n{$k} = [ map { "n${k}$_" } 1 .. $runs ];
}
my @h = map { @{ $h{$_} } } sort keys %hogs;
my @n = map { @{ $n{$_} } } sort keys %hogs;
my $hog_class = 'priority=10, shed=cancel, mem=256MB';
my $classes = join(', ', 'web(priority=100)', map { "$_($hog_class)" } @h, @n);

my $node = pgb_node(
	'memory_high_v2',
	session => 1,
	start => 0,
	conf => qq{
shared_buffers = 32MB
max_connections = 30
restart_after_crash = on
max_parallel_workers_per_gather = 0
jit = off
pg_budget.cgroup = '$pg'
},
	classes => $classes);

{
	local $ENV{PATH} = "$wrapdir:$ENV{PATH}";
	$node->start;
}
unlike(slurp_file($node->logfile), qr/WARNING:  pg_budget/, 'no WARNING at start');
ok(-e "$pg/hagg1/cpu.weight" || !$hogs{agg}, 'the class directories are made');

# what memory.high on a class would be: the memory controller below
# pg_budget.cgroup (it has no process of its own: the server is in its
# leaf), memory.high = mem= on the h classes
ok(write_file("$pg/cgroup.subtree_control", '+memory'), 'the test enables memory below pg_budget.cgroup');
for my $c (@h)
{
	ok(write_file("$pg/$c/memory.high", $MEM), "$c: memory.high 256 MB, written by the test");
}
is(read_file("$pg/$n[0]/memory.high"), 'max', "$n[0]: memory.high max");

my @roles = (w => 'web', map { ($_ => $_) } @h, @n);
pgb_setup($node, roles => \@roles);
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $ctl = control_session($su);
my $started = ctl('SELECT pg_postmaster_start_time()');
is(ctl('SELECT limit_bytes FROM pg_budget_memory'), 1024 * $MB, 'the server\'s limit is the unit\'s memory.max');

my $w = session('w');
my $webq = 'SELECT 1';
sub web_ms
{
	my $t = time;
	sess_query($w, $webq);
	return 1000 * (time - $t);
}
my @base = sort { $a <=> $b } map { web_ms() } 1 .. 20;
my $base_med = $base[ @base / 2 ];
diag(sprintf('web query alone: median %.1f ms, max %.1f ms', $base_med, $base[-1]));

sub hog_run
{
	my ($class, $sql) = @_;
	my $dir = "$pg/$class";
	my $hog = session($class);
	sess_send($hog, '\set VERBOSITY verbose');
	my $from = length $hog->{stderr};
	my $ofrom = length $hog->{stdout};
	my $t0 = time;
	my ($cross, $end, $crashed, $maxcur, @lat) = (undef, undef, 0, 0);
	sess_send($hog, "$sql\n\\echo hog-done");
	my $next_web = $t0;
	while (time - $t0 < ($ENV{PGB_MEMHIGH_CAP} // 150))
	{
		# psql ends when its backend is killed (a crash restart)
		if (!eval { $hog->{run}->pump_nb; 1 })
		{
			$end = time;
			$crashed = 1;
			last;
		}
		if (substr($hog->{stdout}, $ofrom) =~ /hog-done/)
		{
			$end = time;
			last;
		}
		my $cur = read_file("$dir/memory.current") // 0;
		$maxcur = $cur if $cur > $maxcur;
		$cross //= time if $cur > $MEM;
		if (time >= $next_web)
		{
			push @lat, web_ms();
			$next_web = time + 0.25;
		}
		usleep(10_000);
	}
	my $err = substr($hog->{stderr}, $from);
	if ($crashed)
	{
		my $peak = read_file("$dir/memory.peak");
		diag(sprintf('%s: its backend was killed (a crash restart), %.1f s after the start; memory.peak %.0f MB; memory.events: %s',
				$class, $end - $t0, ($peak // 0) / $MB,
				join(', ', split /\n/, read_file("$dir/memory.events") // '')));
		return { class => $class, crashed => 1 };
	}
	unless (defined $end)
	{
		ctl("SELECT pg_cancel_backend($hog->{pid})");
		sess_wait($hog, qr/hog-done/, 60);
	}
	my $peak = read_file("$dir/memory.peak");
	my $ev = ctl(qq{SELECT extract(epoch FROM at) FROM pg_budget_events WHERE class = '$class' AND action = 'cancel' ORDER BY at DESC LIMIT 1});
	my ($high) = (read_file("$dir/memory.events") // '') =~ /^high (\d+)$/m;
	my ($held) = $err =~ /held (\d+) MB, past mem=256 MB/;
	@lat = sort { $a <=> $b } @lat;
	my %r = (
		class => $class,
		cancelled => scalar($err =~ /ERROR:  53200: pg_budget: query cancelled: class "\Q$class\E" holds more than its mem budget/),
		peak_mb => defined $peak ? ($peak - $MEM) / $MB : undef,
		maxcur_mb => ($maxcur - $MEM) / $MB,
		reaction_ms => defined $cross && defined $end ? 1000 * ($end - $cross) : undef,
		landing_ms => $ev ne '' && defined $end ? 1000 * ($end - $ev) : undef,
		rate => defined $end && $end > $t0 ? ($maxcur / $MB) / ($end - $t0) : undef,
		to_mem_s => defined $cross ? $cross - $t0 : undef,
		high => $high // 0,
		held => $held,
		web_med => @lat ? $lat[ @lat / 2 ] : 0,
		web_max => @lat ? $lat[-1] : 0,
		web_n => scalar @lat,
		usable => (sess_query($hog, 'SELECT 1') // '') eq '1');
	diag(sprintf('%s: %s; past mem=: memory.peak %s MB, memory.current sampled %+.0f MB; worker saw %s MB; growth %s MB/s; cgroup past mem= %s s after the start, error %s ms later; worker\'s cancel to error %s ms; memory.events high %d; web SELECT 1 median %.1f ms, max %.1f ms (%d)',
			$class, $r{cancelled} ? 'cancelled 53200' : 'NOT cancelled by mem=',
			defined $r{peak_mb} ? sprintf('%+.0f', $r{peak_mb}) : '?', $r{maxcur_mb},
			$held // '?', defined $r{rate} ? sprintf('%.0f', $r{rate}) : '?',
			defined $r{to_mem_s} ? sprintf('%.1f', $r{to_mem_s}) : '-',
			defined $r{reaction_ms} ? sprintf('%.0f', $r{reaction_ms}) : '-',
			defined $r{landing_ms} ? sprintf('%.0f', $r{landing_ms}) : '?',
			$r{high}, $r{web_med}, $r{web_max}, $r{web_n}));
	diag("  $class error: " . join(' | ', grep { /ERROR|DETAIL/ } split /\n/, $err)) unless $r{cancelled};
	sess_close($hog);
	return \%r;
}

my (%with, %without);
for my $k (sort keys %hogs)
{
	for my $i (0 .. $runs - 1)
	{
		push @{ $with{$k} }, hog_run($h{$k}[$i], $hogs{$k});
		push @{ $without{$k} }, hog_run($n{$k}[$i], $hogs{$k});
	}
}
for my $r (map { (@{ $with{$_} }, @{ $without{$_} }) } sort keys %hogs)
{
	ok($r->{cancelled}, "$r->{class}: the hog is cancelled with 53200 for its class's mem=");
	ok($r->{usable}, "$r->{class}: its session is still usable");
}
is($_->{high}, 0, "$_->{class}: not throttled (memory.high max)") for map { @{ $without{$_} } } sort keys %hogs;
is(ctl('SELECT pg_postmaster_start_time()'), $started, 'no crash restart');
my ($oom_kill) = (read_file("$unit/memory.events") // '') =~ /^oom_kill (\d+)$/m;
is($oom_kill, 0, 'the kernel killed nothing (the unit\'s memory.events: oom_kill 0)');

sub avg { my @v = grep { defined } @_; return @v ? sum(@v) / @v : -1 }
for my $set (map { ([ "$_ with memory.high", $with{$_} ], [ "$_ without", $without{$_} ]) } sort keys %hogs)
{
	my ($name, $rs) = @$set;
	diag(sprintf('%s (%d runs): memory.events high %s; memory.peak past mem= %s MB (mean %.0f); worker\'s cancel to error %s ms (mean %.0f); growth %s MB/s; web max %s ms',
			$name, scalar @$rs, join('/', map { $_->{high} } @$rs),
			join('/', map { defined $_->{peak_mb} ? sprintf('%.0f', $_->{peak_mb}) : '?' } @$rs),
			avg(map { $_->{peak_mb} } @$rs),
			join('/', map { defined $_->{landing_ms} ? sprintf('%.0f', $_->{landing_ms}) : '?' } @$rs),
			avg(map { $_->{landing_ms} } @$rs),
			join('/', map { defined $_->{rate} ? sprintf('%.0f', $_->{rate}) : '?' } @$rs),
			join('/', map { sprintf('%.0f', $_->{web_max}) } @$rs)));
}

sess_close($w);
sess_close($ctl);
$node->stop;
cgroup_clean($unit);
rmdir($unit) or diag("could not remove $unit: $!");
done_testing();
