# The WAL budget: WAL bytes are counted by class and pseudo-class and add
# up to pg_stat_wal; wal=R holds a class to its rate over 10 s of
# flat-out inserts; a throttled session waits at the start of its next
# transaction, can be cancelled and terminated without a leak, and is let
# through at once when it holds a lock someone waits for; VACUUM,
# autovacuum and walsenders are never throttled; under WAL pressure the
# worker lowers the WAL budget of the lowest sheddable class, and calm
# lifts it.
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
	'wal_budget',
	session => 1,
	init => { allows_streaming => 'logical' },
	conf => q{
max_connections = 40
log_error_verbosity = verbose
autovacuum = off
max_wal_size = 1GB
},
	quick_worker => 1,
	classes => 'web(priority=100), bulk(priority=0, wal=4MB/s, shed=cancel), '
	  . 'slow(priority=0, wal=256kB/s, shed=cancel), free(priority=5, shed=cancel)',
	hba => "local replication all trust\nhost replication all 127.0.0.1/32 trust\n",
	roles => [ w => 'web', b => 'bulk', s => [ 'slow', 'REPLICATION' ], f => 'free' ],
	sql => q{
CREATE TABLE big(id bigserial, x text);
CREATE TABLE t(id int PRIMARY KEY, v int);
INSERT INTO t SELECT g, 0 FROM generate_series(1, 10) g;
GRANT ALL ON big, big_id_seq, t TO PUBLIC;
});
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $v = $node->safe_psql('postgres', 'SHOW server_version_num');
my $wal_event = $v >= 170000 ? 'PgBudgetWal' : 'Extension';

my $ctl = control_session($su);
my $tmp = $PostgreSQL::Test::Utils::tmp_check;
open(my $fh, '>', "$tmp/insert.sql") or die;
print $fh "INSERT INTO big(x) SELECT repeat('x', 1000) FROM generate_series(1, 200);\n";
close $fh;

sub pgbench
{
	my ($role, $clients, $secs, $script) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'pgbench', '-n', '-c', $clients, '-T', $secs, '-f', $script,
			'-U', $role, '-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
	return $h;
}

sub wal_of
{
	my ($class) = @_;
	return ctl("SELECT coalesce((SELECT wal_bytes FROM pg_budget_wal WHERE class = '$class'), 0)");
}

#
# WAL by class adds up to pg_stat_wal.
#
{
	ctl("SELECT pg_stat_reset_shared('wal')");
	ctl('SELECT pg_budget_reset()');
	my @h = (pgbench('f', 2, 4, "$tmp/insert.sql"), pgbench('w', 1, 4, "$tmp/insert.sql"));
	$_->finish for @h;
	$node->safe_psql('postgres', 'VACUUM big; UPDATE t SET v = v + 1');
	# every backend that wrote has exited or flushed its statistics
	ctl('SELECT pg_stat_force_next_flush()') if $v >= 150000;
	usleep(300_000);
	my $ours = ctl('SELECT sum(wal_bytes) FROM pg_budget_wal');
	my $core = ctl('SELECT wal_bytes FROM pg_stat_wal');
	cmp_ok($core, '>', 5_000_000, "a real amount of WAL was written ($core bytes)");
	my $diff = abs($ours - $core) / $core;
	cmp_ok($diff, '<', 0.03,
		sprintf('WAL by class (%d) matches pg_stat_wal (%d) within 3%% (%.2f%%)',
			$ours, $core, 100 * $diff));
	cmp_ok(wal_of('free'), '>', 0, 'free is charged');
	cmp_ok(wal_of('web'), '>', 0, 'web is charged');
	like(ctl("SELECT string_agg(class, ',') FROM pg_budget_wal WHERE pseudo_class"),
		qr/.*/, 'pseudo-classes listed');
}

#
# wal=4MB/s holds over 10 s of flat-out inserts.
#
{
	my $h = pgbench('b', 2, 13, "$tmp/insert.sql");
	sleep 2;
	my $b0 = wal_of('bulk');
	my $t0 = time;
	sleep 10;
	my $b1 = wal_of('bulk');
	my $t1 = time;
	$h->finish;
	my $rate = ($b1 - $b0) / ($t1 - $t0) / (1024 * 1024);
	cmp_ok($rate, '>=', 0.8 * 4, sprintf('bulk wrote %.2f MB/s: at least 0.8x its 4MB/s', $rate));
	cmp_ok($rate, '<=', 1.2 * 4, sprintf('and at most 1.2x (%.2f MB/s)', $rate));
	ok(status('bulk', 'wal_throttles') =~ /wal_throttles=(\d+)/ && $1 > 0,
		'its transactions were throttled');
	like(status('bulk', 'wal_budget', 'effective_wal'),
		qr/^wal_budget=4194304 effective_wal=4194304$/, 'the view shows the budget');
}

#
# A throttled session: wait event, cancel, terminate, no leak.
#
sub put_slow_in_debt
{
	# about 2 MB of WAL at 256kB/s: the next transaction waits several seconds
	my $d = session('s');
	sess_query($d, "INSERT INTO big(x) SELECT repeat('x', 1000) FROM generate_series(1, 2000)");
	sess_close($d);
}
{
	my $x = session('s');
	put_slow_in_debt();
	sess_send($x, 'SELECT 1;');
	ok(queued($x, 5),
		'the next transaction of slow is throttled');
	is(ctl("SELECT wait_event FROM pg_stat_activity WHERE pid = $x->{pid}"),
		$wal_event, "it shows the wait event $wal_event");
	ctl("SELECT pg_cancel_backend($x->{pid})");
	ok(sess_wait($x, qr/canceling statement due to user request/, 5),
		'a throttled statement can be cancelled');
	is(ctl("SELECT queued FROM pg_budget_backends WHERE pid = $x->{pid}"), 'f',
		'and is no longer waiting');
	sess_send($x, 'SELECT 1;');
	ok(queued($x, 5),
		'throttled again');
	ctl("SELECT pg_terminate_backend($x->{pid})");
	ok(sess_wait_exit($x, 5), 'a throttled session can be terminated');
	$x->{run}->finish;
	ok(wait_ctl("SELECT count(*) FROM pg_budget_backends WHERE queued", '0', 5),
		'nobody is left waiting');
	is(status('slow', 'in_progress', 'queued'), 'in_progress=0 queued=0',
		'no place and no queue entry leaked');
}

#
# A throttled session that holds an advisory lock web waits for is let
# through at once.
#
{
	my $q = session('s');
	sess_query($q, 'SELECT pg_advisory_lock(7)');
	put_slow_in_debt();
	sess_send($q, "SELECT 'q-done';");
	ok(queued($q, 5),
		'the lock holder is throttled');
	my $w = session('w');
	my $t0 = time;
	sess_send($w, "SELECT pg_advisory_lock(7), 'w-done';");
	ok(sess_wait($q, qr/q-done/, 10), 'the throttled blocker is let through');
	my $took = time - $t0;
	cmp_ok($took, '<', 2, sprintf('within %.2f s, not after its WAL debt', $took));
	like(
		ctl("SELECT reason FROM pg_budget_events WHERE action = 'let through' AND pid = $q->{pid} ORDER BY at DESC LIMIT 1"),
		qr/blocked pid $w->{pid} of class "web"/, 'the event names the waiter');
	sess_query($q, 'SELECT pg_advisory_unlock(7)', 30);
	ok(sess_wait($w, qr/w-done/, 30), 'web gets its lock');
	sess_close($_) for ($q, $w);
}

#
# A procedure that commits after each batch is held to its budget between
# batches: 6 batches of about 0.5 MB at 256kB/s take several seconds.
#
{
	ctl(q{CREATE PROCEDURE batches() LANGUAGE plpgsql AS $$
		BEGIN
			FOR i IN 1..6 LOOP
				INSERT INTO big(x) SELECT repeat('x', 1000) FROM generate_series(1, 400);
				COMMIT;
			END LOOP;
		END $$});
	my $x = session('s');
	# start without debt: wait until what earlier tests left is paid
	sleep 3;
	my $before = status('slow', 'wal_throttles');
	my $t0 = time;
	sess_query($x, 'CALL batches()', 60);
	my $took = time - $t0;
	cmp_ok($took, '>=', 4,
		sprintf('about 2.7 MB at 256kB/s less one burst: the procedure took %.1f s', $took));
	my ($n0) = $before =~ /=(\d+)/;
	my ($n1) = status('slow', 'wal_throttles') =~ /=(\d+)/;
	cmp_ok($n1 - $n0, '>=', 3, 'at least three of its batches waited for the budget');
	sess_close($x);
}

#
# Never throttled: VACUUM, autovacuum; throttled: replication=database SQL.
#
{
	my $x = session('s');
	put_slow_in_debt();
	my $before = status('slow', 'wal_throttles');
	my $t0 = time;
	sess_query($x, 'VACUUM big', 10);
	# the debt is about 8 s of the budget; a VACUUM of the table itself
	# takes well over a second on a loaded machine: half the debt's wait
	cmp_ok(time - $t0, '<', 4, 'VACUUM of a class in WAL debt is not throttled');
	is(status('slow', 'wal_throttles'), $before, 'no throttle counted');
	# a replication=database session's SQL is throttled like its class's
	put_slow_in_debt();
	$before = status('slow', 'wal_throttles');
	my ($ret, $out) = $node->psql(
		'postgres', 'SELECT 6',
		connstr => $node->connstr('postgres') . ' user=s replication=database',
		timeout => 30);
	is($out, '6', 'a replication=database session of the class runs SQL');
	my ($b0) = $before =~ /=(\d+)/;
	my ($b1) = status('slow', 'wal_throttles') =~ /=(\d+)/;
	is($b1 - $b0, 1, 'after waiting for its class\'s WAL budget');
	sess_close($x);

	ctl('ALTER SYSTEM SET autovacuum = on');
	ctl('ALTER SYSTEM SET autovacuum_naptime = 1');
	ctl('SELECT pg_reload_conf()');
	$node->safe_psql('postgres',
		'CREATE TABLE av AS SELECT g FROM generate_series(1, 2000) g; DELETE FROM av');
	ok( $node->poll_query_until(
			'postgres',
			"SELECT autovacuum_count > 0 FROM pg_stat_user_tables WHERE relname = 'av'"),
		'autovacuum runs');
	cmp_ok(wal_of('(autovacuum)'), '>', 0,
		'its WAL is counted under (autovacuum), no class, no budget');
	ctl('ALTER SYSTEM RESET autovacuum');
	ctl('ALTER SYSTEM RESET autovacuum_naptime');
	ctl('SELECT pg_reload_conf()');
}

#
# Adaptive: web's commits wait on WAL (a synchronous standby that does not
# exist: IPC SyncRep), free writes flat out with synchronous_commit=local:
# the worker lowers free's WAL budget; calm lifts it.
#
{
	# (every commit from here on waits for the standby but free's)
	ctl("ALTER ROLE f SET synchronous_commit = local");
	ctl("ALTER SYSTEM SET synchronous_standby_names = 'nosuch'");
	ctl('SELECT pg_reload_conf()');
	my $h = pgbench('f', 2, 60, "$tmp/insert.sql");
	my @web;
	for (1 .. 3)
	{
		my $x = session('w');
		sess_send($x, 'UPDATE t SET v = v + 1 WHERE id = ' . (scalar(@web) + 1) . ';');
		push @web, $x;
	}
	ok( wait_ctl(
			"SELECT effective_wal IS NOT NULL FROM pg_budget_status WHERE class = 'free'",
			't', 30),
		'WAL pressure: free gets a WAL budget');
	like(
		ctl("SELECT reason FROM pg_budget_events WHERE class = 'free' AND action = 'wal limit' ORDER BY at LIMIT 1"),
		qr/^wal pressure: WAL budget lowered to [\d.]+ MB\/s \(writing [\d.]+ MB\/s\)$/,
		'the event says so');
	is(status('web', 'effective_wal'), 'effective_wal=null', 'web is never limited');
	is(status('bulk', 'effective_wal'), 'effective_wal=4194304',
		'bulk keeps its own budget (it is idle: not the one to give way)');

	# the commits waiting on the standby give up: no more pressure
	ctl("ALTER SYSTEM RESET synchronous_standby_names");
	ctl('SELECT pg_reload_conf()');
	ok( wait_ctl(
			"SELECT effective_wal IS NULL FROM pg_budget_status WHERE class = 'free'",
			't', 60),
		'calm: the WAL budget of free is lifted');
	$h->kill_kill;
	sess_close($_) for @web;
}

sess_close($ctl);
$node->stop;
done_testing();
