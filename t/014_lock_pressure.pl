# Lock pressure: a lower class that blocks a higher one and can not be shed
# (shed=cancel can not reach a session idle in a transaction) keeps the
# higher class's sessions blocked past pg_budget.lock_wait_threshold.  That
# is lock pressure: the blocking class's admission limit is lowered, new
# logins above it are refused, but sessions above it are not ended (they
# block nobody; the one that blocks can not be shed).  When the wait ends
# the limit comes back.  A blocker that is shed at once (shed=terminate)
# causes no lock pressure at all.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbNode;
use Time::HiRes qw(usleep);

my $node = pgb_node(
	'lockpressure',
	conf => q{
max_connections = 40
pg_budget.lock_wait_threshold = 200ms
pg_budget.pressure_window = 300ms
pg_budget.aimd_interval = 200ms
pg_budget.calm_time = 500ms
pg_budget.aimd_increase = 1.0
},
	classes =>
	  'web(max=20, priority=100), soft(max=8, priority=5, shed=cancel), ai(max=8, priority=10, shed=terminate)',
	roles => [ w => 'web', s => 'soft', a => 'ai' ],
	sql => q{
CREATE TABLE jobs (id int PRIMARY KEY, v int);
INSERT INTO jobs SELECT g, 0 FROM generate_series(1, 10) g;
GRANT SELECT, UPDATE ON jobs TO w, s, a;
});

sub poll
{
	my ($sql, $expected, $name) = @_;
	ok($node->poll_query_until('postgres', $sql, $expected), $name);
}

sub limit_of
{
	my ($class) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(effective_max, -1) FROM pg_budget_status WHERE class = '$class'");
}

# Four soft sessions, one of them idle in a transaction holding row 1.
my @soft = map { $node->background_psql('postgres', extra_params => ['-U', 's']) } 1 .. 4;
$soft[0]->query_safe('BEGIN');
$soft[0]->query_safe('UPDATE jobs SET v = v + 1 WHERE id = 1');
my $holder = $soft[0]->query_safe('SELECT pg_backend_pid()');

# A web UPDATE of that row waits, and goes on waiting: the holder can
# only be cancelled, and a cancel does not reach it.
my $web = $node->background_psql('postgres', extra_params => ['-U', 'w'], on_error_stop => 0);
$web->query_until(qr/started/, "\\echo started\nUPDATE jobs SET v = v + 100 WHERE id = 1;\n");
poll("SELECT count(*) FROM pg_budget_backends WHERE class = 'web' AND wait_event_type = 'Lock'",
	'1', 'the web UPDATE waits on the soft session');

poll("SELECT pressure LIKE '%lock%' FROM pg_budget_status WHERE class = 'soft'",
	't', 'lock pressure on soft, the lowest sheddable class using more than its floor');
poll("SELECT effective_max < 4 FROM pg_budget_status WHERE class = 'soft'",
	't', 'soft admission limit lowered below its 4 sessions');
my $limit = limit_of('soft');
cmp_ok($limit, '>=', 1, "the limit ($limit) respects the floor");
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) > 0 FROM pg_budget_events WHERE class = 'soft' AND action = 'limit' AND signal = 'lock'"),
	't',
	'the limit change is an event with signal lock');

# Above the limit: no new soft login, but no soft session is ended.
my ($ret, $stdout, $stderr) =
  $node->psql('postgres', 'SELECT 1', extra_params => ['-U', 's']);
# (the limit may have gone on down to the floor since it was read)
like(
	$stderr,
	qr/pg_budget: class "soft" is at its admission limit of [1-$limit] connections/,
	'a new soft login is refused at the lowered limit');
is($node->safe_psql('postgres', "SELECT connected FROM pg_budget_status WHERE class = 'soft'"),
	'4', 'the four soft sessions are all still there');
is( $node->safe_psql(
		'postgres', "SELECT shed FROM pg_budget_status WHERE class = 'soft'"),
	'0', 'nothing of soft was shed: lock pressure does not end sessions');
is($soft[1]->query_safe('SELECT 42'), '42', 'a soft session above the limit still works');

# The wait ends: the holder commits, the web UPDATE completes, calm comes,
# and the limit is lifted.
$soft[0]->query_safe('COMMIT');
poll("SELECT count(*) FROM pg_budget_backends WHERE class = 'web' AND wait_event_type = 'Lock'",
	'0', 'the web UPDATE completed once the holder committed');
poll("SELECT effective_max FROM pg_budget_status WHERE class = 'soft'",
	'8', 'calm again: the soft limit is back at max');
($ret, $stdout, $stderr) =
  $node->psql('postgres', 'SELECT 1', extra_params => ['-U', 's']);
is($ret, 0, 'soft logins are admitted again');

# A blocker shed at once (ai, shed=terminate) is no lock pressure: its
# class's limit stays at max.
my $ai = $node->background_psql('postgres', extra_params => ['-U', 'a'], on_error_stop => 0);
$ai->query_safe('BEGIN');
$ai->query_safe('UPDATE jobs SET v = v + 1 WHERE id = 2');
my $before = $node->safe_psql('postgres', "SELECT count(*) FROM pg_budget_events WHERE action = 'limit'");
$web->query_until(qr/second/, "\\echo second\nUPDATE jobs SET v = v + 100 WHERE id = 2;\n");
poll("SELECT count(*) FROM pg_budget_events WHERE class = 'ai' AND action = 'terminate' AND signal = 'lock'",
	'1', 'the ai blocker was terminated');
poll("SELECT count(*) FROM pg_budget_backends WHERE class = 'web' AND wait_event_type = 'Lock'",
	'0', 'the second web UPDATE completed');
usleep(1_000_000);
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_budget_events WHERE action = 'limit'"),
	$before, 'a blocker shed at once caused no limit change');
is(limit_of('ai'), '8', 'ai is still admitted up to its max');

$_->quit for @soft[1 .. 3];
$soft[0]->quit;
$web->quit;
$node->stop;
done_testing();
