# The statistics views with shedding off (the worker only samples): the
# per-second history and its ring, a lock wait between two classes in
# pg_budget_wait_stats / pg_budget_lock_stats / pg_budget_status, a commit
# waiting on a missing synchronous standby, pseudo-classes, reset, the
# history across a reload of the class table, and who may read what.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbNode;
use Time::HiRes qw(time usleep);

my $node = pgb_node(
	'wait_stats',
	# max_wal_senders > 0, or commits never wait for a synchronous standby
	init => { allows_streaming => 1 },
	conf => q{
max_connections = 30
pg_budget.shedding = off
pg_budget.history_size = 10
pg_budget.lock_stats_threshold = 100
pg_budget.lock_wait_threshold = 1000
},
	classes => 'web(max=10, priority=100), ai(max=10, priority=10, shed=terminate)',
	roles => [
		w => 'web', a => 'ai', plain => undef,
		mon => [ undef, 'IN ROLE pg_read_all_stats' ], adm => undef
	],
	sql => q{
-- what a DBA grants a role to read one view: SELECT on it, EXECUTE on its function
GRANT SELECT ON pg_budget_wait_stats, pg_budget_lock_stats, pg_budget_history,
	pg_budget_events TO adm;
GRANT EXECUTE ON FUNCTION pg_budget_wait_stats(), pg_budget_lock_stats(),
	pg_budget_history(), pg_budget_events() TO adm;
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t VALUES (1, 0);
CREATE TABLE t2 (id int);
GRANT ALL ON t, t2 TO w, a;
});

# The control session is a superuser in class "default"; web and ai each
# hold one idle session from here on.
my $ctl = $node->background_psql('postgres');
my $web = $node->background_psql('postgres', extra_params => [ '-U', 'w' ]);
my $ai = $node->background_psql('postgres', extra_params => [ '-U', 'a' ]);
my $held_since = $ctl->query_safe(
	"SELECT max(admitted_at) FROM pg_budget_backends WHERE class IN ('web', 'ai')");

# Poll through the control session until $sql returns $expected.
sub wait_ctl
{
	my ($sql, $expected, $name, $timeout) = @_;
	my $deadline = time + ($timeout // 30);
	my $got;
	while (1)
	{
		$got = $ctl->query_safe($sql);
		last if $got eq $expected || time > $deadline;
		usleep(50_000);
	}
	is($got, $expected, $name);
	return $got eq $expected;
}

sub frames
{
	return $ctl->query_safe('SELECT count(DISTINCT at) FROM pg_budget_history');
}

#
# (d) history: one frame a second, one row per configured class in each.
# The ring holds 10 frames, so this runs first, before it fills up.
#
my $t0 = time;
my $n0 = frames();
cmp_ok($n0, '<', 7, "history is still filling up ($n0 frames)");
usleep(100_000) while time < $t0 + 3;
my $n1 = frames();
ok($n1 - $n0 >= 2 && $n1 - $n0 <= 4,
	"history gains about one frame a second: $n0 -> $n1 in 3 s");

is( $ctl->query_safe(
		q{SELECT count(*) FROM (SELECT at FROM pg_budget_history GROUP BY at
		   HAVING count(*) FILTER (WHERE class IN ('web', 'ai', 'default')) <> 3) f
		   WHERE at > (SELECT min(admitted_at) FROM pg_budget_backends)}),
	'0',
	'each second has one row per configured class (web, ai, default)');
is( $ctl->query_safe(
		q{SELECT count(*) FROM pg_budget_history
		   WHERE class NOT IN ('web', 'ai', 'default', '(autovacuum)',
			'(background worker)', '(system)', '(unjudged)', '(walsender)')}),
	'0',
	'history rows name a configured class or a pseudo-class');
is( $ctl->query_safe(
		q{SELECT count(*) FROM (SELECT at, lag(at) OVER (ORDER BY at) AS prev
		   FROM (SELECT DISTINCT at FROM pg_budget_history) d) f
		   WHERE at - prev NOT BETWEEN interval '0.5 s' AND interval '3 s'}),
	'0',
	'frames are about a second apart');

# Frames that lie wholly after the web and ai logins show one idle
# session each, nothing waiting, nothing refused or shed, and no limit.
my $steady = $ctl->query_safe(
	qq{SELECT string_agg(format('%s c=%s a=%s w=%s l=%s r=%s s=%s lim=%s',
			class, round(connected::numeric, 2), active, wal_waiting,
			lock_waiting, rejected, shed, coalesce(admission_limit::text, 'none')),
			' | ' ORDER BY class)
		 FROM (SELECT DISTINCT class, connected, active, wal_waiting,
				lock_waiting, rejected, shed, admission_limit
			 FROM pg_budget_history
			WHERE class IN ('web', 'ai')
			  AND at > '$held_since'::timestamptz + interval '1.1 s') h});
is($steady,
	'ai c=1.00 a=0 w=0 l=0 r=0 s=0 lim=none | web c=1.00 a=0 w=0 l=0 r=0 s=0 lim=none',
	'history of the held web and ai sessions: connected 1, idle, no limit');
is( $ctl->query_safe(
		q{SELECT string_agg(class || '=' || n, ' ' ORDER BY class)
		    FROM (SELECT class, sum(admitted) AS n FROM pg_budget_history
			   WHERE class IN ('web', 'ai') GROUP BY class) s}),
	'ai=1 web=1',
	'history counts the one web and the one ai login');

# The only background worker that the worker samples is the logical
# replication launcher (pg_budget's own worker does not sample itself);
# the autovacuum launcher is not a background worker.
is( $ctl->query_safe(
		qq{SELECT string_agg(DISTINCT connected::text, ',')
		     FROM pg_budget_history
		    WHERE class = '(background worker)'
		      AND at > '$held_since'::timestamptz + interval '1.1 s'}),
	'1',
	'history: "(background worker)" counts the logical replication launcher only');

#
# (a) a lock wait: web waits on a row that an idle-in-transaction ai
# session holds.  ai is sheddable and of lower priority, but with
# shedding off nothing is done about it.
#
$ai->query_safe('BEGIN; UPDATE t SET v = v + 1 WHERE id = 1');
$web->query_until(qr/waiting/,
	"\\echo waiting\nUPDATE t SET v = v + 10 WHERE id = 1;\n");

wait_ctl(
	q{SELECT format('%s %s %s', lock_waiting, active, lock_wait_share > 0)
	    FROM pg_budget_status WHERE class = 'web'},
	'1 1 t',
	'lock: web shows lock_waiting = 1 and lock_wait_share > 0 while it waits');
is( $ctl->query_safe(
		q{SELECT format('%s %s %s', lock_waiting, idle_in_transaction, coalesce(lock_wait_share, 0))
		    FROM pg_budget_status WHERE class = 'ai'}),
	'0 1 0',
	'lock: ai is idle in transaction, not waiting');
is( $ctl->query_safe(
		q{SELECT string_agg(format('%s %s %s %s %s', class, wait_event_type,
				wait_event, category, is_lock), ',')
		    FROM pg_budget_wait_stats WHERE is_lock OR wait_event_type = 'Lock'}),
	'web Lock transactionid lock t',
	'lock: the wait is in pg_budget_wait_stats under web only');

wait_ctl(
	q{SELECT format('%s %s %s %s', waiter_class, blocker_class, waits, inversions_acted)
	    FROM pg_budget_lock_stats WHERE longest_wait_ms >= 100},
	'web ai 1 0',
	'lock: pg_budget_lock_stats has web waiting on ai once');
my $longest1 = $ctl->query_safe(
	q{SELECT longest_wait_ms FROM pg_budget_lock_stats
	   WHERE waiter_class = 'web' AND blocker_class = 'ai'});
cmp_ok($longest1, '>=', 100, "lock: longest_wait_ms $longest1 >= 100");

# Past lock_wait_threshold, so that with shedding on ai would be shed.
wait_ctl(
	q{SELECT longest_wait_ms >= 1500 FROM pg_budget_lock_stats
	   WHERE waiter_class = 'web' AND blocker_class = 'ai'},
	't',
	'lock: longest_wait_ms grows while web waits');
is( $ctl->query_safe(
		q{SELECT string_agg(format('%s %s %s %s', waiter_class, blocker_class,
				waits, inversions_acted), ',') FROM pg_budget_lock_stats}),
	'web ai 1 0',
	'lock: one wait counted once however long it lasts, nothing acted on');
wait_ctl(
	q{SELECT max(lock_waiting) > 0.5 FROM pg_budget_history WHERE class = 'web'},
	't', 'lock: history shows web waiting on a lock');
is( $ctl->query_safe(
		q{SELECT coalesce(max(lock_waiting), 0) FROM pg_budget_history WHERE class = 'ai'}),
	'0',
	'lock: history shows ai not waiting');

$ai->query_safe('COMMIT');
is($web->query_safe('SELECT v FROM t WHERE id = 1'),
	'11', 'lock: the web update went through after ai committed');
is( $ctl->query_safe(
		q{SELECT count(*) FROM pg_budget_events
		   WHERE action IN ('cancel', 'terminate', 'would cancel', 'would terminate')}),
	'0',
	'lock: shedding off: no shed event');
is( $ctl->query_safe(
		q{SELECT format('%s %s %s', connected, shed, pressure IS NULL)
		    FROM pg_budget_status WHERE class = 'ai'}),
	'1 0 t',
	'lock: the ai session was not shed and no pressure is shown');
wait_ctl(q{SELECT lock_waiting FROM pg_budget_status WHERE class = 'web'},
	'0', 'lock: web no longer waits');

#
# (b) a commit waiting on a synchronous standby that does not exist.
#
$ctl->query_safe("ALTER SYSTEM SET synchronous_standby_names = 'nosuch'");
$ctl->query_safe('SELECT pg_reload_conf()');
$node->poll_query_until('postgres',
	'SHOW synchronous_standby_names', 'nosuch')
  or die 'synchronous_standby_names not reloaded';
# Commits wait only once the checkpointer has taken the new setting in;
# it got the same SIGHUP, give it a moment.
usleep(300_000);
$ai->query_until(qr/waiting/, "\\echo waiting\nINSERT INTO t2 VALUES (1);\n");

wait_ctl(
	q{SELECT format('%s %s', wal_waiting, wal_wait_share > 0)
	    FROM pg_budget_status WHERE class = 'ai'},
	'1 t',
	'syncrep: ai shows wal_waiting = 1 and wal_wait_share > 0');
# the commit may also be sampled in its WAL write before it waits for
# the standby (then wal_waiting above was that write, and the SyncRep
# sample comes a tick later): the SyncRep row must come, others may be
# there too
my $wal_rows = '';
for (my $i = 0; $i < 100; $i++)
{
	$wal_rows = $ctl->query_safe(
		q{SELECT string_agg(format('%s %s %s %s %s', class, wait_event_type,
				wait_event, category, is_wal), ',')
		    FROM pg_budget_wait_stats WHERE is_wal});
	last if $wal_rows =~ /(?:^|,)ai IPC SyncRep wal t(?:,|$)/;
	usleep(100_000);
}
like($wal_rows, qr/(?:^|,)ai IPC SyncRep wal t(?:,|$)/,
	'syncrep: the wait is in pg_budget_wait_stats as ai IPC/SyncRep, category wal');
wait_ctl(
	q{SELECT max(wal_waiting) > 0.5 FROM pg_budget_history WHERE class = 'ai'},
	't', 'syncrep: history shows ai waiting on WAL');
is($ctl->query_safe('SELECT count(*) FROM t2'),
	'0', 'syncrep: the insert is not committed yet');

$ctl->query_safe('ALTER SYSTEM RESET synchronous_standby_names');
$ctl->query_safe('SELECT pg_reload_conf()');
wait_ctl('SELECT count(*) FROM t2', '1',
	'syncrep: the commit completes once the standby is no longer required');
is($ai->query_safe('SELECT count(*) FROM t2'),
	'1', 'syncrep: the ai session carries on');
wait_ctl(q{SELECT wal_waiting FROM pg_budget_status WHERE class = 'ai'},
	'0', 'syncrep: ai no longer waits');

#
# (c) pseudo-classes: a parallel worker sleeping for a web query is a
# background worker, not web.
#
my $fpm = $node->pg_version >= 16 ? 'debug_parallel_query' : 'force_parallel_mode';
$web->query_safe("SET $fpm = on");
$web->query_safe('SELECT pg_sleep(0.5)');
$web->query_safe("RESET $fpm");
is( $ctl->query_safe(
		q{SELECT string_agg(format('%s %s %s %s', class, wait_event_type,
				wait_event, category), ',' ORDER BY class)
		    FROM pg_budget_wait_stats WHERE wait_event = 'PgSleep'}),
	'(background worker) Timeout PgSleep other',
	'pseudo: the parallel worker sleeps under "(background worker)"');
cmp_ok(
	$ctl->query_safe(
		q{SELECT coalesce(sum(samples), 0) FROM pg_budget_wait_stats
		   WHERE class = 'web' AND wait_event_type = 'IPC'}),
	'>', 0,
	'pseudo: the web leader waits for its worker under web');
is( $ctl->query_safe(
		q{SELECT count(*) FROM pg_budget_wait_stats
		   WHERE class NOT IN ('web', 'ai', 'default', '(autovacuum)',
			'(background worker)', '(system)', '(unjudged)', '(walsender)')}),
	'0',
	'pseudo: wait_stats rows name a configured class or a pseudo-class');

#
# (d) the ring: 10 frames, the oldest moving on.
#
wait_ctl('SELECT count(DISTINCT at) FROM pg_budget_history',
	'10', 'history holds pg_budget.history_size = 10 frames', 20);
my $oldest = $ctl->query_safe('SELECT min(at) FROM pg_budget_history');
wait_ctl(
	qq{SELECT min(at) > '$oldest'::timestamptz FROM pg_budget_history},
	't', 'history: the oldest frame moves on');
is(frames(), '10', 'history still holds 10 frames after wrapping');
my @at = split /\n/, $ctl->query_safe('SELECT at FROM pg_budget_history');
my $ordered = 1;
for my $i (1 .. $#at)
{
	$ordered = 0 if $at[$i] lt $at[ $i - 1 ];
}
ok($ordered && @at >= 30, 'history: at never goes back, oldest first');

#
# (e) reset clears wait and lock statistics; history and events stay.
#
$ctl->query_safe("SELECT pg_budget_pause('ai')");
$ctl->query_safe("SELECT pg_budget_resume('ai')");
my $events = $ctl->query_safe('SELECT count(*) FROM pg_budget_events');
cmp_ok($events, '>=', 2, 'reset: pause and resume recorded as events');
my $samples = $ctl->query_safe('SELECT sum(samples) FROM pg_budget_wait_stats');
my $after = $ctl->query_safe(
	q{SELECT pg_budget_reset();
	  SELECT format('%s %s %s',
		(SELECT count(*) FROM pg_budget_lock_stats),
		(SELECT count(*) FROM pg_budget_wait_stats
		  WHERE class IN ('web', 'ai') OR is_wal OR is_lock),
		(SELECT coalesce(sum(samples), 0) FROM pg_budget_wait_stats))});
$after =~ s/^\s+//;
my ($locks_after, $ours_after, $samples_after) = split / /, $after;
is($locks_after, '0', 'reset: pg_budget_lock_stats is empty');
is($ours_after, '0',
	'reset: no web, ai, wal or lock rows left in pg_budget_wait_stats');
cmp_ok($samples_after, '<', $samples,
	"reset: only samples taken since are left ($samples -> $samples_after)");
is( $ctl->query_safe(
		q{SELECT string_agg(format('%s %s %s %s', class,
				coalesce(wal_wait_share, 0), coalesce(lock_wait_share, 0), admitted),
				',' ORDER BY class)
		    FROM pg_budget_status WHERE class IN ('web', 'ai')}),
	'ai 0 0 0,web 0 0 0',
	'reset: wait shares and admission counters zeroed');
is($ctl->query_safe('SELECT count(*) FROM pg_budget_events'),
	$events, 'reset: events are kept');
is(frames(), '10', 'reset: history is kept');

#
# (g) history follows the class table: a class added by a reload has its
# rows from the next second on, and a class removed (with no session
# left) has none.  Only the control session runs queries here: a login
# would make every configured class known to shared memory.
#
sub reload_classes
{
	my ($classes, $check, $name) = @_;
	$ctl->query_safe("ALTER SYSTEM SET pg_budget.classes = '$classes'");
	$ctl->query_safe('SELECT pg_reload_conf()');
	wait_ctl(
		q{SELECT string_agg(class, ',' ORDER BY class) FROM pg_budget_status},
		$check, $name);
	# the worker got the same SIGHUP; frames from a second on are new
	my $mark = $ctl->query_safe(q{SELECT clock_timestamp() + interval '1 s'});
	wait_ctl(
		qq{SELECT count(DISTINCT at) >= 2 FROM pg_budget_history
		    WHERE at > '$mark'::timestamptz},
		't', "two history frames after the reload ($name)");
	return $mark;
}

my $mark = reload_classes(
	'web(max=10, priority=100), ai(max=10, priority=10, shed=terminate), bulk(max=2)',
	'ai,bulk,default,web', 'reload: class bulk added');
is( $ctl->query_safe(
		qq{SELECT string_agg(class || '=' || n, ' ' ORDER BY class)
		    FROM (SELECT h.class, count(*) AS n FROM pg_budget_history h
				   WHERE at > '$mark'::timestamptz
				     AND class IN ('web', 'ai', 'bulk', 'default')
				   GROUP BY h.class) c}),
	'ai=2 bulk=2 default=2 web=2',
	'history: a class added by a reload has a row each second before any login');

$ai->quit;
wait_ctl(q{SELECT connected FROM pg_budget_status WHERE class = 'ai'},
	'0', 'ai session gone');
$mark = reload_classes('web(max=10, priority=100), bulk(max=2)',
	'bulk,default,web', 'reload: class ai removed');
is( $ctl->query_safe(
		qq{SELECT count(*) FROM pg_budget_history
		    WHERE class = 'ai' AND at > '$mark'::timestamptz}),
	'0',
	'history: a removed class without sessions has no more rows');

#
# (f) privileges
#
for my $view (qw(pg_budget_wait_stats pg_budget_lock_stats pg_budget_history pg_budget_events))
{
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT * FROM $view",
		extra_params => [ '-U', 'plain' ]);
	like($err, qr/permission denied for view $view/,
		"privileges: a plain role may not read $view");
	for my $role (qw(mon adm))
	{
		($ret, $out, $err) = $node->psql('postgres',
			"SELECT count(*) >= 0 FROM $view",
			extra_params => [ '-U', $role ]);
		is("$ret $out $err", '0 t ', "privileges: $role reads $view");
	}
}

my $sampled = 'active, idle, idle_in_transaction, lock_waiting, wal_waiting, '
  . 'wal_wait_share, lock_wait_share, pressure';
my $status_sql = qq{SELECT format('%s %s %s %s', class,
		num_nulls($sampled), connected >= 1, admitted >= 1)
	  FROM pg_budget_status WHERE class = 'default'};
is($node->safe_psql('postgres', $status_sql, extra_params => [ '-U', 'plain' ]),
	'default 8 t t',
	'privileges: a plain role sees connected and admitted, but no sampled column');
is( $node->safe_psql(
		'postgres',
		q{SELECT format('%s %s %s', class, num_nulls(active, idle,
				idle_in_transaction, lock_waiting, wal_waiting), idle)
		    FROM pg_budget_status WHERE class = 'web'},
		extra_params => [ '-U', 'mon' ]),
	'web 0 1',
	'privileges: a pg_read_all_stats member sees the sampled columns');

$web->quit;
$ctl->quit;
$node->stop;
done_testing();
