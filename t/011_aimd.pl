# AIMD under sustained WAL-side waits, and recovery.  Commits that wait on
# a synchronous standby that does not exist (synchronous_standby_names =
# 'nosuch') sit in IPC SyncRep: a deterministic WAL-side wait.  The worker
# halves the admission limit of ai (the lowest-priority sheddable class)
# down to its floor, sheds the sessions above the limit (idle ones first),
# refuses new ai logins, and once the waits stop raises the limit back one
# step per aimd_interval until it is lifted.
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
	'aimd',
	session => 1,
	init => { allows_streaming => 1 },
	conf => q{
max_connections = 40
log_error_verbosity = verbose
pg_budget.pressure_window = 500ms
pg_budget.aimd_interval = 300ms
pg_budget.calm_time = 1000ms
pg_budget.wal_pressure_threshold = 0.3
},
	classes => 'web(max=20, priority=100), ai(max=8, priority=10, floor=2, shed=terminate)',
	roles => [ w => 'web', a => 'ai' ],
	sql => 'CREATE TABLE t (i int); GRANT SELECT, INSERT ON t TO a;');
my $su = $node->safe_psql('postgres', 'SELECT current_user');

#
# Sessions (t/PgbSession.pm): a psql reading SQL from a pipe, whose
# output is kept so that what its client saw can be checked.
#
my $ctl = control_session($su);

my $ai_status =
  "SELECT concat_ws('|', effective_max, connected, coalesce(pressure, '-')) FROM pg_budget_status WHERE class = 'ai'";

ctl('SELECT pg_budget_reset()');
my @idle = map { session('a') } 1 .. 4;
my @wal = map { session('a') } 1 .. 4;
my %idle_pid = map { $_->{pid} => 1 } @idle;
my %wal_pid = map { $_->{pid} => 1 } @wal;
is(ctl($ai_status), '8|8|-', 'ai: 8 sessions, limit 8, no pressure');
ok( wait_ctl(
		"SELECT idle || ' ' || active FROM pg_budget_status WHERE class = 'ai'",
		'8 0'),
	'the sampler sees the 8 ai sessions idle');

#
# Commits of four of them wait for a synchronous standby that never comes.
#
ctl("ALTER SYSTEM SET synchronous_standby_names = 'nosuch'");
ctl('SELECT pg_reload_conf()');
for my $s (@wal)
{
	my $ok = 0;
	for (1 .. 500)
	{
		$ok = 1, last
		  if sess_query($s, 'SHOW synchronous_standby_names') eq 'nosuch';
		usleep(10_000);
	}
	die "session $s->{pid} did not take the new synchronous_standby_names"
	  unless $ok;
}
my $log_offset = -s $node->logfile;
my $ev_mark = ctl('SELECT count(*) FROM pg_budget_events');
my $n = 0;
for my $s (@wal)
{
	$n++;
	sess_send($s, "INSERT INTO t VALUES ($n) RETURNING 'inserted ' || i;");
}

# Follow the class as the worker reacts: every (limit, connected, pressure)
# seen, until ai is down to its floor with only two sessions left.
my (@limits_seen, $saw_wal_pressure, $saw_syncrep);
my $deadline = time + 20;
my $state = '';
while (time < $deadline)
{
	$state = ctl($ai_status);
	my ($lim, $conn, $pressure) = split /\|/, $state;
	push @limits_seen, $lim unless @limits_seen && $limits_seen[-1] == $lim;
	$saw_wal_pressure = 1 if $pressure =~ /wal/;
	$saw_syncrep = 1
	  if !$saw_syncrep
	  && ctl(
		"SELECT count(*) FROM pg_stat_activity WHERE usename = 'a' AND wait_event = 'SyncRep'"
	  ) == 4;
	last if $lim == 2 && $conn == 2;
	$_->{run}->pump_nb for grep { alive($_) } @idle, @wal;
	usleep(10_000);
}
ok($saw_syncrep, 'the four commits waited in IPC SyncRep');
is( ctl(
		"SELECT concat_ws('|', wait_event_type, wait_event, category, is_wal, is_lock) FROM pg_budget_wait_stats WHERE class = 'ai' AND samples > 0 ORDER BY samples DESC LIMIT 1"
	),
	'IPC|SyncRep|wal|t|f',
	'pg_budget_wait_stats: ai waits mostly on IPC SyncRep, category wal');
is($state =~ s/\|[^|]*$//r, '2|2', 'ai is down to its floor of 2 with 2 sessions')
  or diag "limits seen: @limits_seen";
ok($saw_wal_pressure, "pg_budget_status showed pressure 'wal' on ai");
is($limits_seen[0], 8, 'the limit started at max');
ok((grep { $_ < 8 } @limits_seen), 'the worker lowered the limit below 8');
ok(!(grep { $_ < 2 } @limits_seen), 'never below the floor')
  or diag "limits seen: @limits_seen";
is( ctl(
		qq{SELECT string_agg(concat_ws('|', action, signal, reason), ',' ORDER BY n)
			 FROM pg_budget_events() WITH ORDINALITY e(at, class, pid, role, action, signal, reason, count, n)
			WHERE n > $ev_mark AND class = 'ai' AND action = 'limit'}),
	'limit|wal|wal pressure: limit lowered to 4,limit|wal|wal pressure: limit lowered to 2',
	"pg_budget_events: 'limit' events halve ai under wal pressure, 8 to 4 to 2"
);
ok( $node->log_contains(
		qr/pg_budget: class "ai": wal pressure: limit lowered to 4/,
		$log_offset),
	'the server log has the limit change');

# Who was shed, in order: the four idle sessions first, then (the limit
# being down to 2) two of the sessions waiting in SyncRep; the other two
# were within the limit and are left alone.
my @sheds = split /\n/,
  ctl(
	qq{SELECT concat_ws('|', pid, action, signal)
		 FROM pg_budget_events() WITH ORDINALITY e(at, class, pid, role, action, signal, reason, count, n)
		WHERE n > $ev_mark AND class = 'ai' AND signal = 'limit' ORDER BY n});
my @first4 = map { (split /\|/)[0] } @sheds[ 0 .. 3 ];
is_deeply(
	[ sort @first4 ],
	[ sort keys %idle_pid ],
	'the first four sessions shed are the four idle ones');
is_deeply([ map { (split /\|/, $_)[1] } @sheds[ 0 .. 3 ] ],
	[ ('terminate') x 4 ], '... terminated');
my %shed_pid = map { (split /\|/)[0] => 1 } @sheds;
my @shed_wal = grep { $wal_pid{$_} } keys %shed_pid;
is(scalar(@shed_wal), 2,
	'two of the sessions waiting in SyncRep were shed (the excess over 2)')
  or diag "shed events: @sheds";
my @survivors = grep { alive($_) && !$shed_pid{ $_->{pid} } } @wal;
is(scalar(@survivors), 2, 'two SyncRep sessions were never signalled');
for my $s (@survivors)
{
	is( ctl("SELECT wait_event FROM pg_stat_activity WHERE pid = $s->{pid}"),
		'SyncRep', "survivor $s->{pid} still waits in SyncRep");
}
is( ctl(
		"SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_budget_backends WHERE class = 'ai'"
	),
	join(',', sort { $a <=> $b } map { $_->{pid} } @survivors),
	'pg_budget_backends lists only the survivors in ai');

# What the idle sessions' clients see at their next query.
for my $s (@idle)
{
	sess_send($s, "SELECT 'still here';");
	sess_wait_exit($s, 10);
}
is( scalar(
		grep {
			$_->{stderr} =~
			  /FATAL:  terminating connection due to administrator command\nDETAIL:  pg_budget terminated this session: class "ai" is over its admission limit of 4, lowered under wal pressure/
		} @idle),
	4,
	'each idle client sees FATAL with the reason');
ok( $node->log_contains(
		qr/pg_budget: terminated pid \d+ of class "ai" \(role "a"\), signal limit: class "ai" is over its admission limit of 4/,
		$log_offset),
	'the server log names the terminated sessions');
my $shed_count = ctl(
	"SELECT shed_terminate + shed_cancel FROM pg_budget_status WHERE class = 'ai'");
is($shed_count, scalar(@sheds), 'pg_budget_status counts every shed');

# Logins: ai is at its admission limit, web is not affected.
$log_offset = -s $node->logfile;
my ($ret, $out, $err) = login('a');
isnt($ret, 0, 'a new ai login is refused');
like(
	$err,
	qr/FATAL:  pg_budget: class "ai" is at its admission limit of 2 connections\nDETAIL:  Class "ai" has 2 connections; pg_budget lowered its limit from max=8 under pressure and raises it again when calm\.\nHINT:  Retry after \d+ ms\./,
	'... with the admission limit message');
ok( $node->log_contains(
		qr/FATAL:  53300: pg_budget: class "ai" is at its admission limit of 2 connections/,
		$log_offset),
	'... SQLSTATE 53300 in the log');
($ret, $out, $err) = login('w');
is($ret, 0, 'a web login still succeeds');
is($out, 'web', '... admitted under web');

# Still under pressure (the survivors' commits wait) for a few more
# aimd intervals: it does not go below the floor.
usleep(1_000_000);
my $lim_now = ctl("SELECT effective_max FROM pg_budget_status WHERE class = 'ai'");
if (@survivors)
{
	is($lim_now, '2',
		'still at the floor after more aimd intervals under pressure');
}
else
{
	# (no commit is left waiting, so the pressure may be gone already)
	cmp_ok($lim_now, '>=', 2, 'not below the floor');
}

#
# The waits stop: the commits complete, and once calm the limit climbs back
# one step per aimd_interval.
#
ctl("ALTER SYSTEM SET synchronous_standby_names = ''");
ctl('SELECT pg_reload_conf()');
for my $s (@survivors)
{
	ok(sess_wait($s, qr/^inserted \d$/m, 10),
		"the waiting commit of $s->{pid} completes");
	unlike($s->{stderr}, qr/canceling/, '... and was never cancelled');
}

@limits_seen = ();
$deadline = time + 20;
while (time < $deadline)
{
	my ($lim, $conn) = split /\|/, ctl($ai_status);
	push @limits_seen, $lim unless @limits_seen && $limits_seen[-1] == $lim;
	last if $lim == 8;
	usleep(10_000);
}
is($limits_seen[-1], 8, 'the limit is back at max');
cmp_ok(scalar(@limits_seen), '>', 2, 'it rose in several steps')
  or diag "limits seen: @limits_seen";
ok(!(grep { $limits_seen[$_] <= $limits_seen[ $_ - 1 ] } 1 .. $#limits_seen),
	"it only rose: @limits_seen");
my $calm = ctl(
	qq{SELECT string_agg(concat_ws('|', action, signal, reason), ',' ORDER BY n)
		 FROM pg_budget_events() WITH ORDINALITY e(at, class, pid, role, action, signal, reason, count, n)
		WHERE n > $ev_mark AND class = 'ai' AND action ~ 'limit' AND signal = 'calm'});
is( $calm,
	join(',',
		(map { "limit|calm|calm: limit raised to $_" } 3 .. 7),
		'limit|calm|calm: limit lifted (was 7)'),
	"pg_budget_events: 'limit'/'calm' events raise ai by one up to max");
cmp_ok(
	ctl(
		qq{SELECT min(extract(epoch FROM d) * 1000) FROM
			 (SELECT at - lag(at) OVER (ORDER BY n) AS d
				FROM pg_budget_events() WITH ORDINALITY e(at, class, pid, role, action, signal, reason, count, n)
			   WHERE n > $ev_mark AND class = 'ai' AND action = 'limit') s}),
	'>=', 290, 'at most one limit change per aimd_interval');
($ret, $out, $err) = login('a');
is($ret, 0, 'ai logins work again') or diag $err;
is($out, 'ai', '... admitted under ai');
is(ctl(qq{SELECT count(*) FROM t}), '4', 'all four inserts are committed');

sess_close($_) for @idle, @wal, $ctl;
$node->stop;
done_testing();
