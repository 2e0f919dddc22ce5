# The gate and the worker: a session queued at the gate that blocks
# another (an advisory lock it holds; a DDL statement queued behind its
# AccessShareLock) is let through at once, past its class's limit; under
# CPU pressure, while a higher class needs the CPU, the lowest sheddable
# class admits fewer transactions (never below its floor), and gets the
# whole machine back when the higher class goes quiet; in a dry run the
# limit is recorded, never enforced.
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
	'gate_adaptive',
	session => 1,
	conf => q{
max_connections = 60
log_error_verbosity = verbose
},
	quick_worker => 1,
	classes => 'web(priority=100), one(active=1, priority=5, queue_timeout=60s), '
	  . 'ai(priority=10, floor=2, shed=cancel, queue_timeout=60s)',
	roles => [ w => 'web', o => 'one', a => 'ai' ],
	sql => q{
CREATE TABLE t(id int PRIMARY KEY, v int);
INSERT INTO t SELECT g, 0 FROM generate_series(1, 10) g;
GRANT ALL ON t TO PUBLIC;
});
my $su = $node->safe_psql('postgres', 'SELECT current_user');

my $ctl = control_session($su);

#
# An advisory lock held by a queued session.
#
{
	my $q = session('o');
	sess_query($q, 'SELECT pg_advisory_lock(42)');
	my $h = holding('o');
	sess_send($q, "SELECT 'q-done';");
	ok(queued($q),
		'the session holding the advisory lock is queued');
	my $w = session('w');
	my $t0 = time;
	sess_send($w, "SELECT pg_advisory_lock(42), 'w-done';");
	ok(sess_wait($q, qr/q-done/, 10), 'the queued blocker is let through');
	my $took = time - $t0;
	cmp_ok($took, '<', 3, "within ${took}s, not after its queue_timeout");
	is(status('one', 'let_through'), 'let_through=1', 'counted as let through');
	is(ctl("SELECT state FROM pg_stat_activity WHERE pid = $h->{pid}"),
		'idle in transaction', 'while the holder still has the only place');
	like(
		ctl("SELECT reason FROM pg_budget_events WHERE action = 'let through' AND pid = $q->{pid}"),
		qr/^queued at the gate, it blocked pid $w->{pid} of class "web" on a lock$/,
		'the event names the waiter it blocked');
	sess_query($q, 'SELECT pg_advisory_unlock(42)');
	ok(sess_wait($w, qr/w-done/, 10), 'the waiter gets the lock');
	sess_query($h, 'COMMIT');
	is(status('one', 'in_progress', 'queued'), 'in_progress=0 queued=0', 'nothing left');
	sess_close($_) for ($q, $h, $w);
}

#
# DDL queued behind a reader that waits at the gate with its
# AccessShareLock, and a reader queued behind the DDL.
#
{
	my $h = holding('o');
	my $r = gated_session('o');
	sess_send($r, "SELECT count(*) || ' rows' FROM t;");
	ok(queued($r),
		'a reader of t is queued (its parse analysis locked t)');
	my $ddl = session($su);
	my $t0 = time;
	sess_send($ddl, "ALTER TABLE t ADD COLUMN x int; SELECT 'ddl-done';");
	my $r2 = session('w');
	sess_send($r2, "SELECT count(*) || ' later' FROM t;");
	ok(sess_wait($ddl, qr/ddl-done/, 10), 'the DDL statement completes');
	is($ddl->{stderr}, '', 'without an error');
	cmp_ok(time - $t0, '<', 3, 'without waiting for the queue timeout');
	ok(sess_wait($r, qr/10 rows/, 10), 'the queued reader was let through');
	ok(sess_wait($r2, qr/10 later/, 10), 'the reader behind the DDL ran');
	ok(status('one', 'let_through') =~ /let_through=(\d+)/ && $1 >= 2,
		'counted as let through');
	sess_query($h, 'COMMIT');
	sess_close($_) for ($h, $r, $ddl, $r2);
}

#
# Adaptive active limit under CPU pressure.
#
my $ncores = `nproc` + 0 || 2;
my $nai = 2 * $ncores + 2;
my @ai;
sub start_ai
{
	for (1 .. $nai)
	{
		my ($out, $err) = ('', '');
		push @ai,
		  IPC::Run::start(
			[
				'pgbench', '-n', '-c', '1', '-T', '60', '-f',
				"$PostgreSQL::Test::Utils::tmp_check/cpu.sql", '-U', 'a', '-h',
				$node->host, '-p', $node->port, 'postgres'
			],
			'>', \$out, '2>', \$err);
	}
}
sub stop_ai
{
	$_->kill_kill for @ai;
	@ai = ();
}
{
	open(my $fh, '>', "$PostgreSQL::Test::Utils::tmp_check/cpu.sql") or die;
	print $fh "SELECT count(*) FROM generate_series(1, 300000);\n";
	close $fh;
	open($fh, '>', "$PostgreSQL::Test::Utils::tmp_check/web.sql") or die;
	print $fh "SELECT v FROM t WHERE id = 1;\n";
	close $fh;
}

# web alone asks nothing of ai; ai alone is never held back
start_ai();
ok( wait_ctl(
		"SELECT effective_active IS NULL FROM pg_budget_status WHERE class = 'ai'",
		't', 30),
	'ai alone on the machine: no active limit');
my $held = 0;
for (1 .. 20)
{
	$held++ if ctl("SELECT effective_active IS NOT NULL FROM pg_budget_status WHERE class = 'ai'") eq 't';
	usleep(100_000);
}
is($held, 0, 'and none for the next 2 s while it has the machine to itself');

my ($wout, $werr) = ('', '');

# web's load: four pgbench clients for up to a minute
sub web_load
{
	return IPC::Run::start(
		[
			'pgbench', '-n', '-c', '4', '-T', '60', '-f',
			"$PostgreSQL::Test::Utils::tmp_check/web.sql", '-U', 'w', '-h',
			$node->host, '-p', $node->port, 'postgres'
		],
		'>', \$wout, '2>', \$werr);
}
my $web = web_load();
ok( wait_ctl(
		"SELECT effective_active IS NOT NULL FROM pg_budget_status WHERE class = 'ai'",
		't', 20),
	'web needs the CPU: ai gets an active limit');
ok( wait_ctl(
		"SELECT coalesce(pressure, '') LIKE '%cpu%' FROM pg_budget_status WHERE class = 'ai'",
		't', 10),
	'pg_budget_status shows the CPU pressure on ai');
ok( wait_ctl(
		"SELECT effective_active FROM pg_budget_status WHERE class = 'ai'", '2', 20),
	'lowered to its floor of 2 and no lower');
like(
	ctl("SELECT reason FROM pg_budget_events WHERE class = 'ai' AND action = 'active limit' ORDER BY at LIMIT 1"),
	qr/^cpu(\+wal)? pressure: active limit lowered to \d+( \(run delay of class "web" [\d.]+ ms\/s per session, target [\d.]+\))?$/,
	'the event says CPU pressure lowered it');
usleep(500_000);		# transactions begun under the last limit end
my $peak = 0;
for (1 .. 50)
{
	my $ip = ctl("SELECT in_progress FROM pg_budget_status WHERE class = 'ai'");
	$peak = $ip if $ip > $peak;
	usleep(20_000);
}
cmp_ok($peak, '<=', 2, "ai's transactions in progress stay at the limit (peak $peak)");
is(status('web', 'effective_active'), 'effective_active=null',
	'web, the higher class, is never limited');

# web goes quiet: ai gets the machine back
$web->kill_kill;
ok( wait_ctl(
		"SELECT effective_active IS NULL FROM pg_budget_status WHERE class = 'ai'",
		't', 30),
	'web quiet: the active limit of ai is lifted');
like(
	ctl("SELECT string_agg(reason, ';') FROM pg_budget_events WHERE class = 'ai' AND action = 'active limit' AND signal = 'calm'"),
	qr/calm: active limit (raised|lifted)/, 'calm raises it back');

# dry run: computed and recorded, never enforced
$node->append_conf('postgresql.conf', "pg_budget.shedding = dry_run\n");
$node->reload;
$web = web_load();
ok( wait_ctl(
		"SELECT count(*) > 0 FROM pg_budget_events WHERE class = 'ai' AND action = 'would limit active'",
		't', 20),
	'dry run: the active limit it would set is recorded');
is(status('ai', 'effective_active'), 'effective_active=null',
	'dry run: not enforced');
$web->kill_kill;
stop_ai();

sess_close($ctl);
$node->stop;
done_testing();
