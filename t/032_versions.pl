# What differs between the server versions pg_budget supports, as a user
# sees it: the worker's own wait event (a name of its own from 17 on), the
# wait events the WAL and lock classification relies on (pg_wait_events,
# 17 on), and the connections counted as usable (reserved_connections
# from 16 on).  Also a bad pg_budget.classes at reload, which crashed the
# postmaster on 17 and 18 when GUC memory was released with free().
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbNode;

my $node = pgb_node(
	'versions',
	conf => "max_connections = 20\nsuperuser_reserved_connections = 3\npg_budget.sample_interval = 10\n",
	classes => 'web(max=10, priority=100)',
	start => 0);
my $v16 = $node->pg_version >= 16;
$node->append_conf('postgresql.conf', "reserved_connections = 2\n") if $v16;
$node->start;
pgb_setup($node);
my $version = $node->safe_psql('postgres', 'SHOW server_version_num');
note("server_version_num $version");

# the worker's wait between ticks
my $worker_wait = $version >= 170000 ? 'Extension PgBudgetWorkerMain' : 'Extension Extension';
ok( $node->poll_query_until(
		'postgres',
		q{SELECT wait_event_type || ' ' || wait_event FROM pg_stat_activity
		   WHERE backend_type = 'pg_budget worker'},
		$worker_wait),
	"the worker waits on '$worker_wait'");

# The classification is by type and name; every name it knows must exist.
SKIP:
{
	skip 'pg_wait_events is new in 17', 2 if $version < 170000;
	# 17 renamed the IO events (WALSync became WalSync); the LWLocks kept
	# their names
	my @known = (
		'LWLock WALWrite', 'LWLock WALInsert', 'LWLock WALBufMapping',
		'IO WalWrite', 'IO WalSync', 'IO WalInitSync', 'IO WalInitWrite',
		'IPC SyncRep', 'Client ClientRead');
	my $missing = $node->safe_psql(
		'postgres',
		sprintf(q{SELECT string_agg(k, ', ') FROM unnest(ARRAY[%s]) k
		   WHERE NOT EXISTS (SELECT FROM pg_wait_events WHERE type || ' ' || name = k)},
			join(',', map { "'$_'" } @known)));
	is($missing, '', 'every wait event the classification names exists in pg_wait_events');
	is($node->safe_psql('postgres',
			q{SELECT count(*) FROM pg_wait_events WHERE type = 'Lock'}) > 0 ? 't' : 'f',
		't', 'heavyweight lock waits are of type Lock');
}

# usable connections: max_connections less superuser_reserved_connections,
# and less reserved_connections from 16 on: 15 here on 16+, 17 on 15
my $usable = $v16 ? 15 : 17;
# (postgresql.conf, not ALTER SYSTEM, which refuses a bad table up front)
my $offset = -s $node->logfile;
$node->append_conf('postgresql.conf',
	"pg_budget.classes = 'web(reserve=" . ($usable + 1) . ")'\n");
$node->reload;
ok( $node->wait_for_log(
		qr/invalid value for parameter "pg_budget\.classes": "web\(reserve=@{[$usable + 1]}\)"\n.*DETAIL:  reservations total @{[$usable + 1]} \(web @{[$usable + 1]}\) but only $usable connections are usable/,
		$offset),
	"a reserve of " . ($usable + 1) . " does not fit in $usable usable connections: refused at reload");
is($node->safe_psql('postgres', 'SELECT 1'), '1',
	'the postmaster survived the bad table (GUC memory released the right way)');
is($node->safe_psql('postgres', q{SELECT max FROM pg_budget_status WHERE class = 'web'}),
	'10', 'the old table stays in force');

$node->append_conf('postgresql.conf', "pg_budget.classes = 'web(reserve=$usable)'\n");
$node->reload;
ok( $node->poll_query_until('postgres',
		q{SELECT reserve FROM pg_budget_status WHERE class = 'web'}, $usable),
	"a reserve of $usable fits and is taken at reload");

# ten bad reloads in a row: the postmaster's memory stays sound
for my $i (1 .. 10)
{
	$node->append_conf('postgresql.conf', "pg_budget.classes = 'web(max=$i, bogus=1)'\n");
	$node->reload;
}
ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'ten bad reloads: the server answers');
ok(!$node->log_contains(qr/terminated by signal|munmap_chunk|double free/),
	'ten bad reloads: no crash in the log');

$node->stop;
done_testing();
