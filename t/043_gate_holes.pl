# No holes in the gate and the WAL budget.  Each block here failed on
# 0.2.0: a wait cancelled inside a savepoint left the rest of the
# transaction running without a place; PREPARE waited; a fast-path call
# (psql's \lo_import) ran past the limit; a class removed at reload, or
# pg_budget.enabled turned off, kept its queue waiting for the holder; the
# WAL of a terminated session went to "(unjudged)" and was never debited;
# a long transaction's WAL showed only at its end; a debt had no bound; a
# queued statement of a client that had gone still ran.  And one that
# held already and must keep holding: a procedure's plain expression after
# COMMIT waits for its place.
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

my $classes =
  'one(active=1, priority=5, queue_timeout=30s), quick(active=1, queue_timeout=500ms), '
  . 'gone(active=1, queue_timeout=60s), bulk(priority=0, wal=256kB/s), walc(priority=1), '
  . 'rem(active=1, queue_timeout=60s)';
(my $without_rem = $classes) =~ s/, rem\(.*\)$//;

my $node = pgb_node(
	'holes',
	session => 1,
	conf => "max_connections = 40\nlog_error_verbosity = verbose\n",
	classes => $classes,
	roles => [ o => 'one', q => 'quick', g => 'gone', b => 'bulk', w => 'walc', r => 'rem' ],
	sql => q{
CREATE TABLE fifo(id serial PRIMARY KEY, who text);
CREATE TABLE big(x text);
GRANT ALL ON fifo, fifo_id_seq, big TO PUBLIC;
CREATE FUNCTION note(w text) RETURNS int LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO fifo(who) VALUES (w); RETURN 1; END $$;
CREATE PROCEDURE commit_then_expr() LANGUAGE plpgsql AS
  $$ DECLARE x int; BEGIN PERFORM pg_sleep(1.5); COMMIT; x := note('expr'); END $$;
GRANT EXECUTE ON FUNCTION note(text) TO PUBLIC;
GRANT EXECUTE ON PROCEDURE commit_then_expr() TO PUBLIC;
});
my $su = $node->safe_psql('postgres', 'SELECT current_user');

my $ctl = control_session($su);
my $v = ctl('SHOW server_version_num');

#
# 1. A wait cancelled inside a savepoint leaves the queue; the rest of the
# transaction waits for a place at its next work, never runs without one.
#
{
	my $h = holding('o');
	my $s = gated_session('o');
	sess_query($s, 'BEGIN; SAVEPOINT a');
	my ($out, $err) = sess_query_err($s,
		"SET LOCAL statement_timeout = '300ms'; INSERT INTO fifo(who) VALUES ('in-savepoint')");
	like($err, qr/canceling statement due to statement timeout/,
		'a statement queued inside a savepoint is cancelled by statement_timeout');
	sess_query($s, "ROLLBACK TO a; SET LOCAL statement_timeout = 0");
	is(status('one', 'queued', 'in_progress'), 'queued=0 in_progress=1',
		'after ROLLBACK TO the session is out of the queue and holds no place');
	sess_send($s, "INSERT INTO fifo(who) VALUES ('after-savepoint');");
	ok(queued($s, 10), 'its next statement waits for a place');
	is(ctl("SELECT state FROM pg_stat_activity WHERE pid = $s->{pid}"), 'active',
		'and has not run while the class is at its limit');
	is(status('one', 'in_progress', 'queued'), 'in_progress=1 queued=1', 'one in, one queued');
	sess_query($h, 'COMMIT');
	ok(wait_ctl("SELECT count(*) FROM fifo WHERE who = 'after-savepoint'", '0'),
		'the row is not visible before the transaction commits');
	is(sess_query($s, 'COMMIT'), '', 'the transaction commits once it has the place');
	is(ctl("SELECT count(*) FROM fifo WHERE who = 'after-savepoint'"), '1', 'with its row');
	is(status('one', 'in_progress_peak', 'in_progress', 'queued'),
		'in_progress_peak=1 in_progress=0 queued=0', 'never more than one in progress');

	# pg_cancel_backend inside a savepoint: the same
	sess_query($h, 'BEGIN; SELECT 1');
	sess_query($s, 'BEGIN; SAVEPOINT a');
	sess_send($s, "INSERT INTO fifo(who) VALUES ('cancelled');");
	ok(queued($s, 10), 'queued inside a savepoint');
	ctl("SELECT pg_cancel_backend($s->{pid})");
	ok(sess_wait($s, qr/canceling statement due to user request/, 10), 'cancelled');
	sess_query($s, 'ROLLBACK TO a');
	is(status('one', 'queued', 'in_progress'), 'queued=0 in_progress=1',
		'out of the queue after pg_cancel_backend');
	sess_query($s, 'ROLLBACK');
	sess_query($h, 'COMMIT');
	sess_close($h);
	sess_close($s);
}

#
# 2. PREPARE does no work and never waits; EXECUTE does.
#
{
	my $h = holding('q');
	my $s = gated_session('q');
	my $t0 = time;
	my ($out, $err) = sess_query_err($s, 'PREPARE p AS SELECT count(*) FROM fifo');
	is($err, '', 'PREPARE in a class at its limit succeeds');
	cmp_ok(time - $t0, '<', 0.4, 'without waiting its queue_timeout (500 ms)');
	($out, $err) = sess_query_err($s, 'EXECUTE p');
	like($err, qr/pg_budget: class "quick" is at its limit of 1 active transactions/,
		'EXECUTE waits and times out');
	sess_query($h, 'COMMIT');
	is(sess_query($s, 'EXECUTE p'), ctl('SELECT count(*) FROM fifo'), 'EXECUTE runs later');
	sess_close($h);
	sess_close($s);
}

#
# 3. A fast-path call (psql's \lo_import uses libpq's large-object API,
# which is PQfn) enters the gate.
#
{
	my $file = "$PostgreSQL::Test::Utils::tmp_check/lo.txt";
	open(my $fh, '>', $file) or die;
	print $fh "large object\n" x 100;
	close $fh;
	# the first large-object call of a connection looks the functions up
	# in pg_proc with a query; the calls after it are fast-path only
	my $s = gated_session('q');
	my ($out, $err) = sess_query_err($s, "\\lo_import '$file'");
	is($err, '', 'with the class free a large object is imported');
	is(ctl('SELECT count(*) FROM pg_largeobject_metadata'), '1', 'one large object');
	my $h = holding('q');
	ctl('SELECT pg_budget_reset()');
	($out, $err) = sess_query_err($s, "\\lo_import '$file'");
	like($err, qr/pg_budget: class "quick" is at its limit of 1 active transactions/,
		'a fast-path large-object call waits at the gate and times out');
	is(ctl('SELECT count(*) FROM pg_largeobject_metadata'), '1', 'no large object was made');
	is(status('quick', 'queue_timeouts'), 'queue_timeouts=1', 'the timeout is counted');
	sess_query($h, 'COMMIT');
	($out, $err) = sess_query_err($s, "\\lo_import '$file'");
	is($err, '', 'with the class free again it imports');
	is(ctl('SELECT count(*) FROM pg_largeobject_metadata'), '2', 'two large objects');
	is(status('quick', 'transactions'), 'transactions=1',
		'and its transaction was counted by the gate');
	sess_close($h);
	sess_close($s);
}

#
# 4. A procedure's plain expression after COMMIT is the new transaction's
# first work: it waits for its place.
#
{
	my $s = session('o');
	sess_send($s, 'CALL commit_then_expr();');
	ok(wait_ctl("SELECT in_progress FROM pg_budget_status WHERE class = 'one'", '1'),
		'the procedure holds the place');
	my $h = gated_session('o');
	sess_send($h, 'BEGIN; SELECT 1;');
	ok(queued($h, 10), 'a second session queues behind it');
	ok(queued($s, 10), 'after its COMMIT the procedure\'s expression waits for its turn');
	is(ctl("SELECT count(*) FROM fifo WHERE who = 'expr'"), '0', 'the expression has not run');
	is(status('one', 'in_progress', 'queued'), 'in_progress=1 queued=1', 'one in, one queued');
	sess_query($h, 'COMMIT');
	ok(wait_ctl("SELECT count(*) FROM fifo WHERE who = 'expr'", '1'),
		'it runs when the place is given back');
	sess_close($h);
	sess_close($s);
}

#
# 5. A reload that removes the class, or turns pg_budget.enabled off,
# releases its queue at once, with the holder still holding.
#
{
	my $h = holding('r');
	my @w = map { my $x = gated_session('r'); sess_send($x, "INSERT INTO fifo(who) VALUES ('rem');"); $x }
	  1 .. 2;
	ok(wait_ctl("SELECT queued FROM pg_budget_status WHERE class = 'rem'", '2'), 'two queued');
	ctl("ALTER SYSTEM SET pg_budget.classes = '$without_rem'");
	ctl('SELECT pg_reload_conf()');
	my $t0 = time;
	ok(wait_ctl("SELECT count(*) FROM fifo WHERE who = 'rem'", '2', 10),
		'removing the class releases its queue');
	my $took = time - $t0;
	cmp_ok($took, '<', 3, sprintf('within %.1f s, while the holder still holds', $took));
	like(ctl("SELECT string_agg(reason, ';') FROM pg_budget_events WHERE action = 'gate release'"),
		qr/2 waiting sessions released: the class was removed/, 'an event says so');
	sess_query($h, 'COMMIT');
	sess_close($_) for ($h, @w);
	ctl("ALTER SYSTEM RESET pg_budget.classes");
	ctl('SELECT pg_reload_conf()');
	ok(wait_ctl("SELECT count(*) FROM pg_budget_status WHERE class = 'rem'", '1'), 'class back');

	$h = session('o');
	sess_query($h, 'BEGIN; SELECT 1');
	@w = map { my $x = gated_session('o'); sess_send($x, "INSERT INTO fifo(who) VALUES ('off');"); $x }
	  1 .. 2;
	ok(wait_ctl("SELECT queued FROM pg_budget_status WHERE class = 'one'", '2'), 'two queued');
	ctl('ALTER SYSTEM SET pg_budget.enabled = off');
	ctl('SELECT pg_reload_conf()');
	$t0 = time;
	ok(wait_ctl("SELECT count(*) FROM fifo WHERE who = 'off'", '2', 10),
		'pg_budget.enabled = off releases the queue');
	$took = time - $t0;
	cmp_ok($took, '<', 3, sprintf('within %.1f s', $took));
	sess_query($h, 'COMMIT');
	sess_close($_) for ($h, @w);
	ctl('ALTER SYSTEM RESET pg_budget.enabled');
	ctl('SELECT pg_reload_conf()');
	ok(wait_ctl("SELECT setting FROM pg_settings WHERE name = 'pg_budget.enabled'", 'on'),
		'enabled again');
}

#
# 6. WAL by class: a long transaction's WAL shows at each statement end; a
# terminated session's WAL is its class's, and is debited from its budget.
#
{
	ctl('SELECT pg_budget_reset()');
	my $s = session('w');
	sess_query($s, "BEGIN; INSERT INTO big SELECT repeat('x', 1000) FROM generate_series(1, 2000)");
	my ($bytes) = status('walc', 'wal_bytes') =~ /=(\d+)/;
	cmp_ok($bytes, '>', 1_500_000,
		"an open transaction's 2 MB show in wal_bytes before it commits ($bytes)");
	sess_query($s, 'ROLLBACK');
	sess_close($s);

	ctl('SELECT pg_budget_reset()');
	my $unjudged0 = ctl("SELECT wal_bytes FROM pg_budget_wal WHERE class = '(unjudged)'");
	my $t = holding('b');
	# one statement that writes 3 MB, then sleeps before its end
	sess_send($t,
		"INSERT INTO big SELECT repeat('y', 1000) || CASE WHEN g = 3000 THEN pg_sleep(60)::text ELSE '' END FROM generate_series(1, 3000) g;"
	);
	ok(wait_ctl("SELECT wait_event FROM pg_stat_activity WHERE pid = $t->{pid}", 'PgSleep'),
		'a bulk session has written 3 MB and sleeps in its statement');
	ctl("SELECT pg_terminate_backend($t->{pid}, 10000)");
	ok(sess_wait_exit($t, 10), 'it is terminated');
	ok(wait_ctl("SELECT count(*) FROM pg_stat_activity WHERE pid = $t->{pid}", '0'), 'and gone');
	($bytes) = status('bulk', 'wal_bytes') =~ /=(\d+)/;
	cmp_ok($bytes, '>', 2_500_000, "its WAL is charged to its class ($bytes bytes)");
	my $unjudged = ctl("SELECT wal_bytes FROM pg_budget_wal WHERE class = '(unjudged)'");
	cmp_ok($unjudged - $unjudged0, '<', 100_000, 'not to "(unjudged)"');
	my $n = gated_session('b');
	my $t0 = time;
	sess_query($n, 'SELECT 1', 30);
	my $waited = time - $t0;
	like(status('bulk', 'wal_throttles'), qr/=1$/,
		'the next bulk transaction waits for the debt it left');
	# 3 MB at 256kB/s less a burst would be 11 s: the debt is bounded to
	# five seconds of budget
	cmp_ok($waited, '<', 7, sprintf('for at most five seconds of budget (%.1f s)', $waited));
	cmp_ok($waited, '>', 3, 'but for the bounded debt');
	sess_close($n);
}

#
# 7. A queued statement of a client that has gone away never runs: the
# backend sees the closed socket and ends.
#
{
	my $h = holding('g');
	my $s = gated_session('g');
	sess_send($s, "INSERT INTO fifo(who) VALUES ('ghost');");
	ok(queued($s, 10), 'a statement is queued');
	$s->{run}->kill_kill;
	ok(wait_ctl("SELECT count(*) FROM pg_stat_activity WHERE pid = $s->{pid}", '0', 10),
		'when its client is killed the queued backend ends');
	is(status('gone', 'queued', 'in_progress'), 'queued=0 in_progress=1',
		'leaving the queue; the holder keeps its place');
	sess_query($h, 'COMMIT');
	is(ctl("SELECT count(*) FROM fifo WHERE who = 'ghost'"), '0', 'its INSERT never ran');
	sess_close($h);
}

sess_close($ctl);
$node->stop;
done_testing();
