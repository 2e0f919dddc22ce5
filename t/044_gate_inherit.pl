# Priority inheritance at the gate is bounded, and it reaches recovery.
# Both failed on 0.2.0: eight ai sessions holding a shared advisory lock,
# queued, and a ninth holding ai's one place and waiting for that lock
# exclusively, let all eight through at once (8 on CPU at active=1); on a
# hot standby a queued session holding the AccessShareLock of its parse
# analysis stalled the replay of an ALTER TABLE for
# max_standby_streaming_delay.
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

my $primary = pgb_node(
	'inherit',
	session => 1,
	init => { allows_streaming => 1 },
	conf => "max_connections = 40\nlog_error_verbosity = verbose\nmax_standby_streaming_delay = 30s\n",
	classes => 'ai(active=1, priority=10, queue_timeout=120s), web(priority=100)',
	roles => [ a => 'ai' ],
	sql => q{
CREATE TABLE t(id int);
INSERT INTO t SELECT generate_series(1, 10);
GRANT SELECT ON t TO PUBLIC;
});
my $su = $primary->safe_psql('postgres', 'SELECT current_user');
my $ctl = control_session($su);

#
# 1. Bounded inheritance: a blocked waiter lends one place at a time.
#
{
	my @lockers = map { session('a') } 1 .. 8;
	sess_query($_, 'SELECT pg_advisory_lock_shared(42)') for @lockers;
	my $holder = holding('a');
	ctl('SELECT pg_budget_reset()');
	# each locker's next transaction: a quarter second or so of CPU
	sess_send($_, 'SELECT count(*) FROM generate_series(1, 1500000);') for @lockers;
	ok(wait_ctl("SELECT queued FROM pg_budget_status WHERE class = 'ai'", '8'),
		'eight lockers queued behind the holder');
	sess_send($holder, 'SELECT pg_advisory_lock(42);');
	ok(wait_ctl("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $holder->{pid}", 'Lock'),
		'the holder waits for the lock the queued lockers hold');

	my $peak = 0;
	my $deadline = time + 90;
	while (time < $deadline)
	{
		my ($running, $queued) = split /\|/, ctl(
			"SELECT (SELECT count(*) FROM pg_stat_activity WHERE usename = 'a' AND state = 'active' AND wait_event IS NULL), "
			  . "(SELECT queued FROM pg_budget_status WHERE class = 'ai')");
		$peak = $running if $running > $peak;
		last if $queued == 0 && $running == 0;
		usleep(10_000);
	}
	is(ctl("SELECT queued FROM pg_budget_status WHERE class = 'ai'"), '0',
		'all eight were let through in the end');
	cmp_ok($peak, '<=', 1, "never more than one ai session on CPU at active=1 (peak $peak)");
	like(status('ai', 'let_through'), qr/let_through=8$/, 'eight loans, one at a time');
	for my $s (@lockers)
	{
		ok(sess_wait($s, qr/^1500000$/m, 30), "locker $s->{pid} ran its query");
	}
	# the lockers give the lock back, again one transaction at a time
	sess_send($_, 'SELECT pg_advisory_unlock_shared(42);') for @lockers;
	ok(wait_ctl("SELECT state FROM pg_stat_activity WHERE pid = $holder->{pid}",
			'idle in transaction', 60),
		'the holder gets its lock');
	sess_query($holder, 'COMMIT');
	is(status('ai', 'in_progress', 'queued'), 'in_progress=0 queued=0', 'nothing left');
	sess_close($_) for (@lockers, $holder);
}

#
# 2. A hot standby: a queued session that blocks recovery is let through.
#
{
	$primary->backup('b');
	my $standby = PostgreSQL::Test::Cluster->new('inherit_standby');
	$standby->init_from_backup($primary, 'b', has_streaming => 1);
	$standby->start;
	$primary->wait_for_catchup($standby);

	my $sctl = session($standby, $su);
	my $q = session($standby, 'a');
	my $h = holding($standby, 'a');
	sess_send($q, 'SELECT count(*) FROM t;');
	ok( wait_sess($sctl, "SELECT queued FROM pg_budget_status WHERE class = 'ai'", '1'),
		'on the standby a read of t is queued, holding its AccessShareLock');

	my $t0 = time;
	$primary->safe_psql('postgres', 'ALTER TABLE t ADD COLUMN c int');
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
	my $took = time - $t0;
	cmp_ok($took, '<', 10,
		sprintf('the ALTER TABLE replays in %.1f s, not max_standby_streaming_delay (30 s)', $took));
	ok(sess_wait($q, qr/^10$/m, 10), 'the queued read was let through and ran, not cancelled');
	like(sess_query($sctl,
			"SELECT string_agg(reason, ';') FROM pg_budget_events WHERE action = 'let through'"),
		qr/on a hot standby while recovery \(pid \d+\) waits for a lock/,
		'an event says why');
	sess_query($h, 'COMMIT');
	sess_close($_) for ($h, $q, $sctl);
	$standby->stop;
}

sub wait_sess
{
	my ($s, $sql, $expected) = @_;
	my $deadline = time + 30;
	while (time < $deadline)
	{
		return 1 if (sess_query($s, $sql) // '') eq $expected;
		usleep(20_000);
	}
	return 0;
}

sess_close($ctl);
$primary->stop;
done_testing();
