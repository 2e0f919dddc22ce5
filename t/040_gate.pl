# The transaction gate: at most active=N transactions of a class in
# progress, the others queued first come first served up to queue_timeout
# (then ERROR 53400, the session stays usable); cancel, statement_timeout
# and terminate while queued leak neither a place nor a queue entry; each
# protocol path enters the gate, and so does replication=database SQL;
# superusers, autovacuum, parallel workers and transaction control never
# queue; a crash restart while sessions are queued starts clean.
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
	'gate',
	session => 1,
	init => { allows_streaming => 'logical' },
	conf => q{
max_connections = 60
max_prepared_transactions = 4
restart_after_crash = on
log_error_verbosity = verbose
autovacuum_naptime = 1s
},
	classes => 'web(priority=100), ai(active=3, priority=10, queue_timeout=30s), '
	  . 'one(active=1, priority=5, queue_timeout=30s), quick(active=1, queue_timeout=500ms), '
	  . 'now(active=1, queue_timeout=0), default(active=1, queue_timeout=30s)',
	hba => "local replication all trust\nhost replication all 127.0.0.1/32 trust\n",
	roles => [
		a => 'ai', o => [ 'one', 'REPLICATION' ], q => 'quick', n => 'now',
		suone => [ 'one', 'SUPERUSER' ], plain => undef
	],
	sql => q{
CREATE TABLE fifo(id serial PRIMARY KEY, who text);
CREATE TABLE t(id int PRIMARY KEY, v int);
CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 200000) g;
ANALYZE big;
INSERT INTO t SELECT g, 0 FROM generate_series(1, 100) g;
GRANT ALL ON fifo, fifo_id_seq, t, big TO PUBLIC;
});
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $v = $node->safe_psql('postgres', 'SHOW server_version_num');
my $queue_event = $v >= 170000 ? 'PgBudgetQueue' : 'Extension';

my $ctl = control_session($su);

#
# 200 racing transactions at active=3: never more than 3 in progress, seen
# from inside (the gate's own peak) and from outside (pg_stat_activity).
#
{
	my $script = "$PostgreSQL::Test::Utils::tmp_check/race.sql";
	open(my $fh, '>', $script) or die;
	print $fh "SELECT pg_sleep(0.02);\n";
	close $fh;
	ctl('SELECT pg_budget_reset()');
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'pgbench', '-n', '-c', '20', '-j', '4', '-t', '10', '-f', $script,
			'-U', 'a', '-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
	my $seen_max = 0;
	my $polls = 0;
	while ($h->pumpable)
	{
		my $n = ctl(
			"SELECT count(*) FROM pg_stat_activity WHERE usename = 'a' AND wait_event = 'PgSleep'"
		);
		$seen_max = $n if $n > $seen_max;
		$polls++;
		$h->pump_nb;
		usleep(2_000);
	}
	$h->finish;
	like($out, qr/number of transactions actually processed: 200/,
		'200 transactions of ai ran');
	is(status('ai', 'transactions', 'in_progress_peak', 'in_progress', 'queued'),
		'transactions=200 in_progress_peak=3 in_progress=0 queued=0',
		'the gate counted 200, never more than 3 in progress, none left');
	cmp_ok($seen_max, '<=', 3,
		"at most 3 ai statements running at once over $polls samples");
	cmp_ok($seen_max, '>=', 2, 'the limit was reached');
	ok(status('ai', 'queue_waits') =~ /queue_waits=(\d+)/ && $1 > 0,
		'transactions queued');
}

#
# Idle in transaction keeps its place; others queue in order; the view
# shows them queued with the gate's wait event; BEGIN does not enter.
#
my $holder = session('o');
sess_query($holder, 'BEGIN');
is(status('one', 'in_progress'), 'in_progress=0', 'BEGIN alone does not enter the gate');
sess_query($holder, 'SELECT 1');
is(status('one', 'in_progress'), 'in_progress=1', 'the first statement enters');

my @waiters;
for my $who (qw(B C D))
{
	my $s = gated_session('o');
	sess_send($s, "INSERT INTO fifo(who) VALUES ('$who');");
	push @waiters, $s;
	my $n = scalar @waiters;
	ok(wait_ctl("SELECT queued FROM pg_budget_status WHERE class = 'one'", $n),
		"$who is queued (position $n)");
}
is( ctl(
		"SELECT string_agg(queued::text || '/' || wait_event_type || '/' || wait_event, ',' ORDER BY pid) FROM pg_budget_backends WHERE class = 'one' AND pid <> $holder->{pid}"
	),
	join(',', ("true/Extension/$queue_event") x 3),
	'pg_budget_backends shows the waiters queued, with the wait event');
usleep(300_000);
is(status('one', 'in_progress', 'queued'), 'in_progress=1 queued=3',
	'idle in transaction holds its place while three wait');
sess_query($holder, 'COMMIT');
ok(wait_ctl("SELECT count(*) FROM fifo", 3), 'the queue drains after COMMIT');
is(ctl("SELECT string_agg(who, '' ORDER BY id) FROM fifo"),
	'BCD', 'first come, first served');
is(status('one', 'in_progress', 'queued'), 'in_progress=0 queued=0',
	'no place and no queue entry left');

#
# Timeouts: ERROR 53400 with the class, its limit, the numbers and a
# retry-after; the session stays usable.  queue_timeout=0 refuses at once.
#
{
	my $h = holding('q');
	my $w = gated_session('q');
	sess_send($w, "\\set VERBOSITY verbose\n");
	my $t0 = time;
	my ($out, $err) = sess_query_err($w, 'SELECT 42');
	my $took = time - $t0;
	like(
		$err,
		qr/ERROR:  53400: pg_budget: class "quick" is at its limit of 1 active transactions\nDETAIL:  The transaction waited \d+ ms \(queue_timeout\) for its turn; class "quick" has 1 transactions in progress and 0 queued \(active=1\)\.\nHINT:  Retry after \d+ ms\./,
		'queue timeout: SQLSTATE 53400, class, limit, numbers, retry-after');
	cmp_ok($took, '>=', 0.45, 'it waited its queue_timeout of 500ms');
	is(status('quick', 'queue_timeouts', 'queued'), 'queue_timeouts=1 queued=0',
		'the timeout is counted and the queue is empty');
	sess_query($h, 'COMMIT');
	is(sess_query($w, 'SELECT 43'), '43', 'the session stays usable');
	like(
		ctl("SELECT reason FROM pg_budget_events WHERE action = 'queue timeout' AND class = 'quick'"),
		qr/^queue timeout after \d+ ms: 1 in progress, 0 queued, limit 1$/,
		'the timeout is in pg_budget_events');
	sess_close($h);
	sess_close($w);

	$h = session('n');
	sess_query($h, 'BEGIN; SELECT 1');
	$w = gated_session('n');
	$t0 = time;
	($out, $err) = sess_query_err($w, 'SELECT 1');
	like($err,
		qr/class "now" is at its limit of 1 active transactions\nDETAIL:  Class "now" has 1 transactions in progress \(active=1\) and queue_timeout=0 refuses at once\./,
		'queue_timeout=0 refuses at once');
	cmp_ok(time - $t0, '<', 0.4, 'without waiting');
	sess_query($h, 'COMMIT');
	sess_close($h);
	sess_close($w);
}

#
# Cancel and terminate while queued, 1000 times over: no place and no
# queue entry leak.
#
{
	my $h = holding('o');
	my $w = gated_session('o');
	sess_query($w, 'SET statement_timeout = 5');
	my $sql = join('', map { "SELECT $_;\n" } 1 .. 900);
	my ($out, $err) = sess_query_err($w, $sql);
	my $cancels = () = $err =~ /canceling statement due to statement timeout/g;
	is($cancels, 900, '900 queued statements ended by statement_timeout');
	sess_query($w, 'RESET statement_timeout');
	for my $i (1 .. 50)
	{
		sess_send($w, "SELECT 'c$i';");
		queued($w, 10);
		ctl("SELECT pg_cancel_backend($w->{pid})");
		my $deadline = time + 10;
		while (time < $deadline)
		{
			my $n = () = $w->{stderr} =~ /canceling statement due to user request/g;
			last if $n >= $i;
			$w->{run}->pump_nb;
			usleep(2_000);
		}
	}
	my $user_cancels = () = $w->{stderr} =~ /canceling statement due to user request/g;
	is($user_cancels, 50, '50 queued statements cancelled');
	my $terminated = 0;
	for my $i (1 .. 50)
	{
		my $x = gated_session('o');
		sess_send($x, 'SELECT 1;');
		queued($x, 10);
		ctl("SELECT pg_terminate_backend($x->{pid})");
		$terminated++ if sess_wait_exit($x, 10);
		$x->{run}->finish;
	}
	is($terminated, 50, '50 queued sessions terminated');
	is(status('one', 'in_progress', 'queued'), 'in_progress=1 queued=0',
		'after 1000 cycles only the holder is in, nobody queued');
	sess_query($h, 'COMMIT');
	is(status('one', 'in_progress'), 'in_progress=0', 'and it leaves');
	my $before = status('one', 'queue_waits');
	is(sess_query($w, 'SELECT 7'), '7', 'the next transaction passes');
	is(status('one', 'queue_waits'), $before, 'without queueing');
	sess_close($h);
	sess_close($w);
}

#
# pg_budget_pause(class, 'cancel') drains the queue: the queued statements
# are cancelled with the running ones, and told why.
#
{
	my $h = holding('o');
	my @q = map { gated_session('o') } 1 .. 2;
	sess_send($_, 'SELECT 1;') for @q;
	ok(wait_ctl("SELECT queued FROM pg_budget_status WHERE class = 'one'", 2),
		'two queued before the pause');
	is(ctl("SELECT pg_budget_pause('one', 'cancel')"), '2',
		'pause cancel signals the two queued sessions (the holder is idle)');
	for my $x (@q)
	{
		ok(sess_wait($x, qr/canceling statement due to user request/, 10),
			"queued pid $x->{pid} is cancelled");
	}
	is(status('one', 'in_progress', 'queued'), 'in_progress=1 queued=0',
		'the queue is empty, the holder keeps its place');
	ctl("SELECT pg_budget_resume('one')");
	sess_query($h, 'COMMIT');
	sess_close($_) for ($h, @q);
}

#
# Protocol paths.
#
{
	# extended and prepared protocols, through pgbench
	for my $mode (qw(extended prepared))
	{
		ctl('SELECT pg_budget_reset()');
		my $script = "$PostgreSQL::Test::Utils::tmp_check/one.sql";
		open(my $fh, '>', $script) or die;
		print $fh "SELECT pg_sleep(0.01);\n";
		close $fh;
		my ($out, $err) = ('', '');
		IPC::Run::run(
			[
				'pgbench', '-n', '-M', $mode, '-c', '4', '-t', '10', '-f', $script,
				'-U', 'o', '-h', $node->host, '-p', $node->port, 'postgres'
			],
			'>', \$out, '2>', \$err);
		like($out, qr/actually processed: 40/, "$mode protocol: 40 transactions");
		# -M prepared also sends one Parse per client in a transaction of its own
		my $expect = $mode eq 'prepared' ? 44 : 40;
		my $st = status('one', 'transactions', 'in_progress_peak');
		is($st, "transactions=$expect in_progress_peak=1",
			"$mode protocol: every transaction entered the gate, one at a time");
	}

	my $s = session('o');
	# a procedure that commits inside: each of its transactions enters
	ctl(q{CREATE PROCEDURE three_commits() LANGUAGE plpgsql AS $$
		BEGIN
			FOR i IN 1..3 LOOP
				INSERT INTO t VALUES (1000 + i, i) ON CONFLICT (id) DO UPDATE SET v = t.v + 1;
				COMMIT;
			END LOOP;
		END $$});
	ctl('SELECT pg_budget_reset()');
	sess_query($s, 'CALL three_commits()');
	is(status('one', 'transactions'), 'transactions=3',
		'a procedure that commits after each of three statements enters the gate three times');

	# a cursor WITH HOLD read in a later transaction, and COPY
	ctl('SELECT pg_budget_reset()');
	sess_query($s, 'BEGIN; DECLARE c CURSOR WITH HOLD FOR SELECT id FROM t ORDER BY id; COMMIT');
	is(sess_query($s, 'FETCH 2 FROM c'), "1\n2", 'fetch from a held cursor');
	is(status('one', 'transactions'), 'transactions=2',
		'the FETCH in its own transaction entered the gate');
	sess_query($s, 'CLOSE c');

	my $h = holding('o');
	sess_send($s, "COPY fifo(who) FROM STDIN;\ncopy\n\\.");
	ok(queued($s),
		'COPY waits in the queue');
	sess_query($h, 'COMMIT');
	ok(wait_ctl("SELECT count(*) FROM fifo WHERE who = 'copy'", 1), 'then copies');

	# PREPARE TRANSACTION leaves the gate; COMMIT PREPARED never enters
	sess_query($s, "BEGIN; INSERT INTO fifo(who) VALUES ('2pc'); PREPARE TRANSACTION 'x'");
	is(status('one', 'in_progress'), 'in_progress=0', 'PREPARE TRANSACTION leaves the gate');
	sess_query($h, 'BEGIN; SELECT 1');
	is(sess_query($s, "COMMIT PREPARED 'x'", 5), '',
		'COMMIT PREPARED runs while the class is at its limit');
	is(ctl("SELECT count(*) FROM fifo WHERE who = '2pc'"), '1', 'and commits');

	# never gated: an exempt superuser; SET and SHOW
	my $sup = gated_session('suone');
	is(sess_query($sup, 'SELECT 5', 5), '5',
		'a superuser of the class runs while it is at its limit');
	is(sess_query($s, "SET work_mem = '8MB'; SHOW work_mem", 5), '8MB',
		'SET and SHOW never wait');

	# a replication=database session's SQL is gated like any of its class
	my ($ret, $out, $err) = $node->psql(
		'postgres', "SET statement_timeout = '300ms'; SELECT 6",
		connstr => $node->connstr('postgres') . ' user=o replication=database',
		timeout => 10);
	like($err, qr/canceling statement due to statement timeout/,
		'a replication=database session of the class queues at its limit');
	is(status('one', 'queued'), 'queued=0', 'and leaves the queue when cancelled');

	# parallel workers of a session at the limit do not queue behind it
	sess_query($h, 'COMMIT');
	my $par = session('o');
	sess_query($par,
		'SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2; SET parallel_leader_participation = off'
	);
	my $plan = sess_query($par,
		'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM big', 20);
	like($plan, qr/Workers Launched: [12]/,
		'a parallel query at active=1 runs its workers');
	diag($par->{stderr}) if $plan !~ /Workers Launched/;
	sess_close($par);
	sess_close($sup);

	# autovacuum is never gated, even with the default class held
	my $d = holding('plain');
	is(status('default', 'in_progress'), 'in_progress=1', 'the default class is held');
	$node->safe_psql('postgres', 'UPDATE t SET v = v + 1');
	ok( $node->poll_query_until(
			'postgres',
			"SELECT autovacuum_count + autoanalyze_count > 0 FROM pg_stat_user_tables WHERE relname = 't'"
		),
		'autovacuum runs while the default class is at its limit');
	sess_close($d);
	sess_close($h);
	sess_close($s);
}

#
# A crash restart while sessions are queued starts with nothing in progress.
#
{
	my $h = holding('o');
	my @q = map { my $x = gated_session('o'); sess_send($x, 'SELECT 1;'); $x } 1 .. 3;
	ok(wait_ctl("SELECT queued FROM pg_budget_status WHERE class = 'one'", 3),
		'three queued before the crash');
	kill 'KILL', $h->{pid};
	$_->{run}->kill_kill for (@q, $h);
	$ctl->{run}->kill_kill;
	$node->poll_query_until('postgres', 'SELECT 1', '1');
	$ctl = control_session($su);
	is(status('one', 'in_progress', 'queued'), 'in_progress=0 queued=0',
		'after the crash restart nothing is in progress or queued');
	my ($ret, $out) = login('o', 'SELECT 8');
	is($out, '8', 'and a transaction of the class passes');
}

sess_close($ctl);
$node->stop;
done_testing();
