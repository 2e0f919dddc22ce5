# Memory by class against a real cgroup v1 memory limit.  The server runs
# inside a child of PGB_TEST_MEMCG_V1 (scripts/test.sh makes that
# directory under /sys/fs/cgroup/memory and gives it to the server's OS
# user) whose memory.limit_in_bytes is 640 MB: a query that grows without
# bound is stopped by that cgroup at the worst (the kernel kills it and the
# server restarts), never by the machine.  With pg_budget.memory_guard =
# 0.8 the guard's mark is 512 MB and the last-resort mark 576 MB.
#
# What a user sees: a hog of a sheddable class cancelled with SQLSTATE
# 53200, the message, DETAIL and HINT, its session usable after it, the
# web sessions that wait meanwhile untouched, no crash restart; two hogs of
# two low classes both cancelled, the lower first; a hog of a shed=never
# class cancelled only past the last-resort mark; the class keys mem and
# session_mem cancelling far below the server's mark; a query that fits
# left alone; the views (pg_budget_memory, mem_bytes of pg_budget_status,
# pg_budget_backends and pg_budget_history); pg_budget.memory_limit, and
# pg_budget.memory_guard = 0 turning the guard off.  Each cancel is an
# event and a LOG line.  Bad sizes are refused in sql/settings.sql.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbSession;
use Time::HiRes qw(time usleep);

my $mcg = $ENV{PGB_TEST_MEMCG_V1};
plan skip_all =>
  'PGB_TEST_MEMCG_V1 is not set (scripts/test.sh sets it, run as root on a machine with /sys/fs/cgroup/memory, to a directory of the memory hierarchy owned by the server user)'
  unless defined $mcg && $mcg ne '';
# given, it must be usable: a broken set-up fails, it does not skip
ok(-d $mcg && -w $mcg && -f "$mcg/memory.limit_in_bytes",
	"PGB_TEST_MEMCG_V1=$mcg is a memory cgroup the server user may write")
  or BAIL_OUT("$mcg is not a writable cgroup v1 memory directory");

my $MB = 1024 * 1024;
my $limit = 640 * $MB;

sub read_file
{
	my ($path) = @_;
	open(my $fh, '<', $path) or return undef;
	local $/;
	my $s = <$fh>;
	close $fh;
	$s =~ s/\s+\z// if defined $s;
	return $s;
}

sub write_file
{
	my ($path, $text) = @_;
	open(my $fh, '>', $path) or return 0;
	my $ok = print $fh $text;
	return close($fh) && $ok;
}

# Poll until $cond returns true.
sub wait_until
{
	my ($cond, $what, $secs) = @_;
	my $deadline = time + ($secs // 30);
	while (time < $deadline)
	{
		return 1 if $cond->();
		usleep(50_000);
	}
	diag("timed out waiting for $what");
	return 0;
}

#
# The server's cgroup: a child of the given directory with a limit.  The
# server is started by a pg_ctl that first writes its own pid into the
# child's cgroup.procs, so that the postmaster and every process it forks
# are charged there (the test's own processes, psql included, are not).
#
my $child = "$mcg/server_$$";
mkdir($child) or BAIL_OUT("mkdir $child: $!");
write_file("$child/memory.limit_in_bytes", $limit)
  or BAIL_OUT("could not write $child/memory.limit_in_bytes: $!");
is(read_file("$child/memory.limit_in_bytes"), $limit, 'the server\'s cgroup has a 640 MB limit');

my ($bindir) = grep { -x "$_/pg_ctl" } split /:/, $ENV{PATH};
BAIL_OUT('no pg_ctl in PATH') unless defined $bindir;
my $wrapdir = PostgreSQL::Test::Utils::tempdir('pgctl_wrap');
write_file("$wrapdir/pg_ctl",
	"#!/bin/sh\necho \$\$ > '$child/cgroup.procs' || exit 1\nexec '$bindir/pg_ctl' \"\$@\"\n")
  or BAIL_OUT("could not write $wrapdir/pg_ctl");
chmod(0755, "$wrapdir/pg_ctl");

my $node = PostgreSQL::Test::Cluster->new('memory');
PgbSession::set_node($node);
$node->init;
# No parallel workers: a query's memory is then all in its session's
# process, the one whose private memory the guard reads (the memory of a
# parallel worker counts in the server's use but in no session's).  No
# JIT, so that the hogs grow alike on every build.
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_budget'
shared_buffers = 32MB
max_connections = 40
restart_after_crash = on
max_parallel_workers_per_gather = 0
jit = off
pg_budget.memory_guard = 0.8
pg_budget.classes = 'web(priority=100), batch(priority=20, shed=cancel), ai(priority=10, shed=cancel), core(priority=50, shed=never), pool(priority=60, shed=cancel, mem=64MB), solo(priority=60, shed=cancel, session_mem=32MB, mem=256MB)'
});
{
	local $ENV{PATH} = "$wrapdir:$ENV{PATH}";
	$node->start;
}
my $pm_pid = (split /\n/, read_file($node->data_dir . '/postmaster.pid'))[0];
ok((grep { $_ eq $pm_pid } split /\n/, read_file("$child/cgroup.procs") // ''),
	'the postmaster runs in the limited cgroup');

my $su = $node->safe_psql('postgres', 'SELECT current_user');
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_budget;
CREATE ROLE w LOGIN;
CREATE ROLE a LOGIN;
CREATE ROLE b LOGIN;
CREATE ROLE c LOGIN;
CREATE ROLE p LOGIN;
CREATE ROLE s LOGIN;
ALTER ROLE w SET pg_budget.class = 'web';
ALTER ROLE a SET pg_budget.class = 'ai';
ALTER ROLE b SET pg_budget.class = 'batch';
ALTER ROLE c SET pg_budget.class = 'core';
ALTER ROLE p SET pg_budget.class = 'pool';
ALTER ROLE s SET pg_budget.class = 'solo';
});
my $ctl = control_session($su);
my $started = ctl('SELECT pg_postmaster_start_time()');

# The pg_budget_memory row: limit use guard last_resort.
sub memory_row
{
	return ctl(q{SELECT limit_bytes || ' ' || use_bytes || ' ' || coalesce(guard_bytes::text, 'null') || ' ' || coalesce(last_resort_bytes::text, 'null') FROM pg_budget_memory});
}

# Bytes computed from a share of the limit may be one off (the share is a
# double): equal within a byte.
sub near
{
	my ($got, $want) = @_;
	return defined $got && $got =~ /^\d+$/ && abs($got - $want) <= 1;
}

sub use_bytes
{
	return ctl('SELECT use_bytes FROM pg_budget_memory');
}

# Before each case: the memory the last one held given back.
sub calm
{
	my ($what) = @_;
	ok(wait_until(sub { use_bytes() < 256 * $MB }, "the server's use below 256 MB"),
		"$what: the server's use is back below 256 MB");
}

# The memory events since $since: "class|pid|action|signal|reason" each.
sub memory_events
{
	my ($since) = @_;
	my $rows = ctl(qq{SELECT string_agg(class || '|' || pid || '|' || action || '|' || coalesce(signal, '') || '|' || reason, E'\\n' ORDER BY at)
	  FROM pg_budget_events WHERE at > '$since' AND reason LIKE 'memory:%'});
	return () if $rows eq '';
	return split /\n/, $rows;
}

# The guard's message for a class: past its mark, or early (past the
# early mark and growing fast enough to reach the limit within a second).
sub guard_re
{
	my ($class, $mark, $early, $limit) = @_;
	return qr/ERROR:  53200: pg_budget: query of class "$class" cancelled: the server's memory(?: is past pg_budget\.memory_guard \($mark MB\)|, past $early MB and growing \d+ MB\/s, would reach its limit \($limit MB\) within 1 s)/;
}

sub now_ts
{
	return ctl('SELECT clock_timestamp()');
}

# A session whose errors carry their SQLSTATE (VERBOSITY verbose).
sub verbose_session
{
	my ($role) = @_;
	my $s = session($role);
	sess_send($s, '\set VERBOSITY verbose');
	return $s;
}

# A query that grows until something stops it: 50 million groups, all in
# memory (GBs), the rows of generate_series first.
my $hog_sql =
  'SELECT count(*) FROM (SELECT g FROM generate_series(1, 50000000) g GROUP BY g) s;';

sub start_hog
{
	my ($role) = @_;
	my $s = verbose_session($role);
	sess_query($s, "SET work_mem = '2GB'");
	sess_query($s, 'SET hash_mem_multiplier = 10');
	sess_send($s, $hog_sql);
	return $s;
}

# A query that holds $mb MB (a text value, $mb copies of 1 MB, that stays
# in its expression's memory while pg_sleep runs) for $secs seconds, then
# returns its length.  random() keeps the planner from computing the value
# itself.
sub hold_sql
{
	my ($mb, $secs) = @_;
	return "SELECT length(repeat(repeat('x', 1048576), $mb + (random() * 0)::int)) AS held, pg_sleep($secs);";
}

# The error a session's client printed since $from (its stderr).
sub error_text
{
	my ($s, $from) = @_;
	return substr($s->{stderr}, $from // 0);
}

#
# At start: the limit is the cgroup's, the marks follow
#
like(slurp_file($node->logfile),
	qr/LOG:  pg_budget: memory limit 640 MB, from cgroup v1 memory\.limit_in_bytes of \Q$child\E; the guard cancels queries past 512 MB \(80%\), any class's past 576 MB/,
	'the start says the limit, where it comes from and the marks');
my ($lim, $use, $guard, $last) = split / /, memory_row();
is($lim, read_file("$child/memory.limit_in_bytes"), 'pg_budget_memory.limit_bytes is the cgroup\'s memory.limit_in_bytes');
ok(near($guard, 512 * $MB), "guard_bytes: 0.8 of the limit ($guard)");
ok(near($last, 576 * $MB), "last_resort_bytes: halfway from the guard to the limit ($last)");
ok($use > 0 && $use < $guard, "use_bytes is read and below the guard ($use)");

is( ctl(q{SELECT string_agg(class || ':' || coalesce(mem_budget::text, 'null') || ':' || coalesce(session_mem_budget::text, 'null'), ' ' ORDER BY class) FROM pg_budget_status WHERE class IN ('ai', 'pool', 'solo')}),
	'ai:null:null pool:67108864:null solo:268435456:33554432',
	'pg_budget_status: mem_budget and session_mem_budget of each class');

#
# Web sessions that wait on a lock the control session holds: active all
# along the cases that follow, and finishing their query once it is let go.
#
my @web = map { session('w') } 1 .. 6;
ok(wait_until(sub { ctl(qq{SELECT count(*) FROM pg_budget_backends WHERE pid = $web[0]{pid} AND mem_bytes > 0}) == 1 }, 'mem_bytes of a web session', 5),
	'pg_budget_backends.mem_bytes of a session is there within seconds of its login');
my $web_round = 0;

sub web_wait
{
	$web_round++;
	ctl('SELECT pg_advisory_lock(4242)');
	for my $i (0 .. $#web)
	{
		sess_send($web[$i], "SELECT 'web-$web_round-$i' FROM pg_advisory_xact_lock_shared(4242);");
	}
	return wait_ctl(q{SELECT count(*) FROM pg_stat_activity WHERE usename = 'w' AND state = 'active' AND wait_event_type = 'Lock'},
		scalar @web);
}

# Let the web sessions go: each must finish its query, none lost or failed.
sub web_done
{
	my ($what) = @_;
	ctl('SELECT pg_advisory_unlock(4242)');
	my $ok = 0;
	for my $i (0 .. $#web)
	{
		$ok++ if sess_wait($web[$i], qr/^web-$web_round-$i$/m, 30);
	}
	is($ok, scalar @web, "$what: every web session finished its query");
	is(join('', map { $_->{stderr} } @web), '', "$what: no web session saw an error");
}

#
# A query that fits is left alone
#
{
	my $since = now_ts();
	my $s = verbose_session('a');
	sess_query($s, "SET work_mem = '64MB'");
	is(sess_query($s, 'SELECT count(*) FROM (SELECT g FROM generate_series(1, 500000) g GROUP BY g) s'),
		'500000', 'a modest hash aggregate of the lowest sheddable class returns its result');
	is($s->{stderr}, '', 'and gets no error');
	my @ev = memory_events($since);
	is(scalar @ev, 0, 'and no memory event');
	sess_close($s);
}

#
# One hog of the lowest sheddable class, web sessions waiting meanwhile
#
{
	calm('one hog');
	ok(web_wait(), 'six web sessions are in a query, waiting on a lock');
	my $since = now_ts();
	my $ai_before = ctl(q{SELECT mem_bytes FROM pg_budget_status WHERE class = 'ai'});
	my $hog = start_hog('a');
	my $ai_max = 0;
	my $deadline = time + 60;
	while (time < $deadline && alive($hog) && $hog->{stderr} !~ /ERROR/)
	{
		my $m = ctl(q{SELECT mem_bytes FROM pg_budget_status WHERE class = 'ai'});
		$ai_max = $m if $m > $ai_max;
		$hog->{run}->pump_nb;
		usleep(20_000);
	}
	is(sess_query($hog, "SELECT 'still usable'"), 'still usable',
		'the hog\'s session is usable after the cancel');
	my $err = error_text($hog);
	like($err, guard_re('ai', 512, 384, 640),
		'the hog gets SQLSTATE 53200 and a message naming pg_budget, its class and the mark');
	like($err, qr/DETAIL:  memory: the session held \d+ MB; the server used \d+ MB of its 640 MB limit/,
		'its DETAIL gives the numbers');
	like($err, qr/HINT:  The largest query of the lowest-priority class gives way first; the session is still usable\./,
		'and a HINT');
	ok($ai_max > $ai_before + 100 * $MB,
		"pg_budget_status.mem_bytes of ai grew while the hog ran ($ai_before to $ai_max)");
	# pg_budget_history keeps the most of each second: the readings that
	# found the hog (at least the one it was cancelled on) are in it
	ok( wait_until(sub { ctl(q{SELECT coalesce(max(mem_bytes), 0) FROM pg_budget_history WHERE class = 'ai'}) >= 100 * $MB }, 'ai in pg_budget_history', 5),
		'pg_budget_history.mem_bytes of ai shows the hog\'s growth');
	my @ev = memory_events($since);
	is(scalar @ev, 1, 'one memory event');
	like($ev[0] // '', qr/^ai\|$hog->{pid}\|cancel\|memory\|memory: the session held (\d+) MB; the server used (\d+) MB of its 640 MB limit$/,
		'pg_budget_events: the hog\'s cancel, signal memory');
	if (($ev[0] // '') =~ /the session held (\d+) MB; the server used (\d+) MB/)
	{
		ok($1 >= 256 && $2 >= 384 && $2 < 576,
			"the hog held most of it ($1 MB), the server was past the early mark (384 MB) and below the last-resort mark ($2 MB)");
	}
	else
	{
		fail('the numbers of the event');
	}
	like(slurp_file($node->logfile),
		qr/LOG:  pg_budget: cancelled pid $hog->{pid} of class "ai" \(role "a"\), signal memory: memory: the session held/,
		'a LOG line says who was cancelled and why');
	web_done('one hog');
	sess_close($hog);
}

#
# Two hogs at once, of two classes below web: ai's (priority 10) gives way
# first; batch's (priority 20) grows on alone past the mark and gives way
# too (each alone needs GBs, so both must be cancelled; the order is the
# guard's choice: the lowest priority first).
#
{
	calm('two hogs');
	ok(web_wait(), 'the web sessions are waiting again');
	my $since = now_ts();
	my $h_ai = start_hog('a');
	my $h_batch = start_hog('b');
	ok(sess_wait($h_ai, qr/ERROR/, 60), 'the ai hog is stopped');
	ok(sess_wait($h_batch, qr/ERROR/, 60), 'the batch hog is stopped');
	is(sess_query($h_ai, "SELECT 'ai usable'"), 'ai usable', 'the ai session is usable');
	is(sess_query($h_batch, "SELECT 'batch usable'"), 'batch usable', 'the batch session is usable');
	like(error_text($h_ai), guard_re('ai', 512, 384, 640),
		'ai: 53200 past the guard');
	like(error_text($h_batch), guard_re('batch', 512, 384, 640),
		'batch: 53200 past the guard');
	my @ev = memory_events($since);
	is(join(' ', map { (split /\|/)[0] } @ev), 'ai batch', 'two events: ai\'s cancel first, then batch\'s');
	web_done('two hogs');
	sess_close($h_ai);
	sess_close($h_batch);
}

#
# A hog of a class with shed=never, the only query that grows: past the
# guard nobody may be cancelled; past the last-resort mark it is.
#
{
	calm('shed=never');
	ok(web_wait(), 'the web sessions are waiting again');
	my $since = now_ts();
	my $hog = start_hog('c');
	ok(sess_wait($hog, qr/ERROR/, 60), 'the core hog is stopped');
	is(sess_query($hog, "SELECT 'core usable'"), 'core usable', 'its session is usable');
	like(error_text($hog), qr/ERROR:  53200: pg_budget: query of class "core" cancelled: the server's memory is past its last-resort mark \(576 MB\)/,
		'a shed=never class\'s hog is cancelled at the last-resort mark');
	my @ev = memory_events($since);
	is(scalar @ev, 1, 'one memory event');
	if (($ev[0] // '') =~ /^core\|$hog->{pid}\|cancel\|memory\|memory: the session held \d+ MB; the server used (\d+) MB of its 640 MB limit$/)
	{
		ok($1 >= 576 && $1 < 640, "it was cancelled past the last-resort mark ($1 MB), below the limit");
	}
	else
	{
		fail('the event of the core hog: ' . ($ev[0] // 'none'));
	}
	web_done('shed=never');
	sess_close($hog);
}

#
# The class keys: mem (the class's sessions together) and session_mem
# (one session), far below the server's mark
#
{
	calm('mem');
	my $since = now_ts();
	my $p1 = verbose_session('p');
	my $p2 = verbose_session('p');
	sess_send($p1, hold_sql(45, 6));
	ok(wait_until(sub { ctl("SELECT coalesce(mem_bytes, 0) FROM pg_budget_backends WHERE pid = $p1->{pid}") >= 45 * $MB }, 'the first pool session holding 45 MB', 10),
		'a pool session holds 45 MB, under its class\'s mem of 64 MB');
	ok(ctl(q{SELECT mem_bytes FROM pg_budget_status WHERE class = 'pool'}) >= 45 * $MB,
		'pg_budget_status.mem_bytes of pool counts it');
	# 45 + 24 > 64: the class is over; the larger session gives way
	sess_send($p2, hold_sql(24, 2));
	ok(sess_wait($p1, qr/ERROR/, 10), 'the first pool session is stopped');
	is(sess_query($p1, "SELECT 'pool usable'"), 'pool usable', 'and stays usable');
	like(error_text($p1), qr/ERROR:  53200: pg_budget: query cancelled: class "pool" holds more than its mem budget\n/,
		'mem: 53200 with the class budget\'s message');
	like(error_text($p1), qr/DETAIL:  memory: class "pool" held \d+ MB, past mem=64 MB; the session, its largest, 4\d MB/,
		'its DETAIL gives the session\'s and the class\'s memory');
	like(error_text($p1), qr/HINT:  The class's memory budget \(mem, session_mem in pg_budget.classes\) bounds its queries; the session is still usable\./,
		'its HINT names the class budget');
	ok(sess_wait($p2, qr/^25165824\|$/m, 10), 'the second pool session, under the budget once the first gave way, returns its result');
	is($p2->{stderr}, '', 'and saw no error');
	ok(use_bytes() < 512 * $MB, 'the server was far below its mark all along');
	my @ev = memory_events($since);
	is(join(' ', map { join '|', (split /\|/)[0, 1, 2, 3] } @ev), "pool|$p1->{pid}|cancel|memory",
		'one event: the first pool session\'s cancel');
	# the second one held its 24 MB for 2 s: at the end of a second
	ok( wait_until(sub { ctl(q{SELECT coalesce(max(mem_bytes), 0) FROM pg_budget_history WHERE class = 'pool'}) >= 24 * $MB }, 'pool in pg_budget_history', 5),
		'pg_budget_history.mem_bytes of pool shows what it held');
	sess_close($p1);
	sess_close($p2);

	$since = now_ts();
	my $s1 = verbose_session('s');
	my $s2 = verbose_session('s');
	sess_send($s1, hold_sql(40, 6));
	sess_send($s2, hold_sql(16, 2));
	ok(sess_wait($s1, qr/ERROR/, 10), 'a solo session holding 40 MB is stopped');
	is(sess_query($s1, "SELECT 'solo usable'"), 'solo usable', 'and stays usable');
	like(error_text($s1), qr/ERROR:  53200: pg_budget: query cancelled: the session holds more than session_mem of class "solo"\n/,
		'session_mem: 53200 with the session budget\'s message');
	like(error_text($s1), qr/DETAIL:  memory: the session held (\d+) MB, past session_mem=32 MB of class "solo"/,
		'its DETAIL gives the numbers');
	# past 32 MB, said rounded to the MB
	my ($held) = error_text($s1) =~ /the session held (\d+) MB/;
	ok(defined $held && $held >= 32 && $held <= 48, 'the session held past 32 MB (' . ($held // '?') . ' MB)');
	ok(use_bytes() < 512 * $MB, 'the server was far below its mark');
	ok(sess_wait($s2, qr/^16777216\|$/m, 10), 'a solo session holding 16 MB returns its result');
	is($s2->{stderr}, '', 'and saw no error');
	@ev = memory_events($since);
	is(join(' ', map { join '|', (split /\|/)[0, 1, 2, 3] } @ev), "solo|$s1->{pid}|cancel|memory",
		'one event: the solo session\'s cancel');
	sess_close($s1);
	sess_close($s2);
}

#
# pg_budget.memory_limit below the cgroup's, and pg_budget.memory_guard = 0:
# a query holding 300 MB (bounded: the cgroup's 640 MB is not in reach)
# runs past the limit uncancelled; with the guard back, it is cancelled.
#
{
	calm('guard off');
	my $offset = -s $node->logfile;
	ctl(q{ALTER SYSTEM SET pg_budget.memory_limit = '256MB'});
	ctl('ALTER SYSTEM SET pg_budget.memory_guard = 0');
	ctl('SELECT pg_reload_conf()');
	ok(wait_until(sub { memory_row() =~ /^268435456 \d+ null null$/ }, 'the new limit, no marks', 10),
		'pg_budget_memory: limit 256 MB, no guard_bytes nor last_resort_bytes with the guard off');
	ok($node->wait_for_log(qr/LOG:  pg_budget: memory limit 256 MB, from pg_budget\.memory_limit \(use read from cgroup v1 memory\.limit_in_bytes of \Q$child\E\); the guard is off \(pg_budget\.memory_guard = 0\)/, $offset),
		'the reload says the limit and that the guard is off');
	my $since = now_ts();
	my $s = verbose_session('a');
	sess_send($s, hold_sql(300, 2));
	ok(wait_until(sub { use_bytes() > 256 * $MB }, 'the use past 256 MB', 10),
		'the server\'s use goes past the limit');
	ok(sess_wait($s, qr/^314572800\|$/m, 15), 'with the guard off, a query holding 300 MB returns its result');
	is($s->{stderr}, '', 'and saw no error');
	my @ev = memory_events($since);
	is(scalar @ev, 0, 'no memory event');

	calm('guard back');
	$offset = -s $node->logfile;
	ctl('ALTER SYSTEM SET pg_budget.memory_guard = 0.9');
	ctl('SELECT pg_reload_conf()');
	ok($node->wait_for_log(qr/LOG:  pg_budget: memory limit 256 MB, from pg_budget\.memory_limit \(use read from cgroup v1 memory\.limit_in_bytes of \Q$child\E\); the guard cancels queries past 230 MB \(90%\), any class's past 243 MB/, $offset),
		'the reload that turns the guard on says its marks');
	ok(wait_until(sub { my @m = split / /, memory_row(); $m[0] == 256 * $MB && near($m[2], 0.9 * 256 * $MB) && near($m[3], 0.95 * 256 * $MB) }, 'the marks of 256 MB', 10),
		'with the guard at 0.9 of 256 MB, its marks are back');
	sess_send($s, hold_sql(300, 10));
	ok(sess_wait($s, qr/ERROR/, 15), 'the same query is stopped');
	like(error_text($s), qr/ERROR:  53200: pg_budget: query of class "ai" cancelled: the server's memory(?: is past (?:pg_budget\.memory_guard \(230 MB\)|its last-resort mark \(243 MB\))|, past 205 MB and growing \d+ MB\/s, would reach its limit \(256 MB\) within 1 s)/,
		'53200 with the marks of pg_budget.memory_limit');
	sess_close($s);
	ctl('ALTER SYSTEM RESET pg_budget.memory_limit');
	ctl('ALTER SYSTEM RESET pg_budget.memory_guard');
	ctl('SELECT pg_reload_conf()');
	ok(wait_until(sub { my @m = split / /, memory_row(); $m[0] == $limit && near($m[2], 512 * $MB) && near($m[3], 576 * $MB) }, 'the cgroup\'s limit back', 10),
		'reset: the cgroup\'s limit again, and the guard of postgresql.conf (0.8)');
}

#
# No crash restart through it all, and the kernel never killed anyone
#
is(ctl('SELECT pg_postmaster_start_time()'), $started, 'pg_postmaster_start_time is unchanged');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|was terminated by|server process .* exited with exit code [^01]/,
	'the server log has no process killed');
unlike($log, qr/all server processes terminated; reinitializing/, 'and no crash restart');
my $oom = read_file("$child/memory.oom_control") // '';
if ($oom =~ /^oom_kill (\d+)$/m)
{
	is($1, 0, 'the cgroup\'s memory.oom_control: oom_kill 0');
}
note('memory.failcnt of the server\'s cgroup: ' . (read_file("$child/memory.failcnt") // '?'));
note('memory.max_usage_in_bytes: ' . (read_file("$child/memory.max_usage_in_bytes") // '?'));

sess_close($_) for @web;
sess_close($ctl);
$node->stop;
rmdir($child) or diag("could not remove $child: $!");
done_testing();
