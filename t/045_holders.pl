# Sessions that hold on: a place holder idle in a transaction while others
# of its class are queued is recorded (an "idle holder" event); a prepared
# transaction of a low class that blocks web shows in pg_budget_lock_stats
# under its class, with an event naming its xid, role and age.  On 0.2.0
# neither left a trace.
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

my $node = pgb_node(
	'holders',
	session => 1,
	conf => q{
max_connections = 30
max_prepared_transactions = 4
log_error_verbosity = verbose
pg_budget.lock_stats_threshold = 100
},
	classes => 'one(active=1, priority=5, queue_timeout=60s), web(priority=100), bulk(priority=0)',
	roles => [ o => 'one', w => 'web', b => 'bulk' ],
	sql => q{
CREATE TABLE t(id int PRIMARY KEY, v int);
INSERT INTO t SELECT g, 0 FROM generate_series(1, 10) g;
GRANT ALL ON t TO PUBLIC;
});
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $ctl = control_session($su);

#
# An idle place holder with others queued: one event per idle spell.
#
{
	my $h = holding('o');
	my $q = gated_session('o');
	sess_send($q, 'SELECT 2;');
	ok(wait_ctl("SELECT queued FROM pg_budget_status WHERE class = 'one'", '1'), 'one queued');
	ok( wait_ctl(
			"SELECT count(*) FROM pg_budget_events WHERE action = 'idle holder' AND pid = $h->{pid}",
			'1', 10),
		'the idle holder is recorded');
	like(
		ctl("SELECT reason FROM pg_budget_events WHERE action = 'idle holder' AND pid = $h->{pid}"),
		qr/^idle in transaction for \d+ ms holding a place of class "one" while 1 is queued$/,
		'with how long, its class and how many wait');
	usleep(1_500_000);
	is(ctl("SELECT count(*) FROM pg_budget_events WHERE action = 'idle holder' AND pid = $h->{pid}"),
		'1', 'once per idle spell');
	sess_query($h, 'COMMIT');
	ok(sess_wait($q, qr/^2$/m, 10), 'the queued one runs when the holder commits');
	sess_close($_) for ($h, $q);
}

#
# A prepared transaction of bulk that blocks web.
#
{
	ctl('SELECT pg_budget_reset()');
	my $b = session('b');
	sess_query($b, "BEGIN; UPDATE t SET v = 1 WHERE id = 1; PREPARE TRANSACTION 'held'");
	my $xid = ctl("SELECT transaction FROM pg_prepared_xacts WHERE gid = 'held'");
	sess_close($b);
	my $w = session('w');
	sess_send($w, 'UPDATE t SET v = 2 WHERE id = 1;');
	ok(wait_ctl("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $w->{pid}", 'Lock'),
		'web waits for the prepared transaction');
	ok( wait_ctl(
			"SELECT waits > 0 FROM pg_budget_lock_stats WHERE waiter_class = 'web' AND blocker_class = 'bulk'",
			't', 10),
		'pg_budget_lock_stats counts the wait under the prepared transaction\'s class');
	ok( wait_ctl(
			"SELECT count(*) FROM pg_budget_events WHERE action = 'prepared blocker' AND class = 'bulk'",
			'1', 10),
		'a "prepared blocker" event is recorded');
	like(ctl("SELECT role || ': ' || reason FROM pg_budget_events WHERE action = 'prepared blocker'"),
		qr/^b: prepared transaction $xid of role "b", prepared \d+ s ago, blocks pid $w->{pid} of class "web" on a lock$/,
		'naming its xid, role and age, and the waiter');
	ctl("ROLLBACK PREPARED 'held'");
	is(sess_query($w, 'SELECT v FROM t WHERE id = 1'), '2', 'its update is in');
	sess_close($w);
}

sess_close($ctl);
$node->stop;
done_testing();
