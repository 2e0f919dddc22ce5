# Physical replication is never judged nor counted: every login that is
# judged falls in class "nobody" (max=0), yet a REPLICATION role takes base
# backups and streams to a standby.  A replication=database connection runs
# SQL as well as logical decoding: it is judged like any login (refused in
# nobody; counted, capped and paused in its class), and decodes when its
# class has room.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbSession qw(psql_c);
use PgbNode;

my $primary = pgb_node(
	'primary',
	init => { allows_streaming => 'logical' },
	conf => 'log_error_verbosity = verbose',
	classes => 'nobody(max=0), admin(max=3), logi(max=1, shed=terminate)',
	start => 0);
$primary->start;

# The test's own superuser gets class admin before superusers lose their
# exemption and the default class becomes nobody.
my $su = $primary->safe_psql('postgres', 'SELECT current_user');
pgb_setup(
	$primary,
	roles => [
		repl => [ undef, 'REPLICATION' ],
		lrepl => [ 'logi', 'REPLICATION' ],
		u => undef
	],
	sql => qq{
ALTER ROLE "$su" SET pg_budget.class = 'admin';
CREATE TABLE t (i int);
});
$primary->append_conf(
	'postgresql.conf', q{
pg_budget.default_class = 'nobody'
pg_budget.exempt_superusers = off
});
$primary->reload;
$primary->poll_query_until('postgres',
	"SELECT current_setting('pg_budget.default_class') || ' ' || current_setting('pg_budget.exempt_superusers')",
	'nobody off')
  or die 'new settings not in force';
$primary->safe_psql('postgres', 'SELECT pg_budget_reset()');

my $base = $primary->connstr('postgres');

# Ordinary logins are judged, and class nobody has no room at all.
my ($ret, $out, $err) = psql_c($primary, 'postgres', 'SELECT 1',
	connstr => "$base user=u",
	extra_params => ['-w']);
isnt($ret, 0, 'ordinary login of a plain role is refused');
like(
	$err,
	qr/FATAL:  pg_budget: class "nobody" is at its cap of 0 connections\nDETAIL:  Class "nobody" has 0 of max=0 connections\./,
	'the plain role is refused by the cap of nobody');
my $offset = -s $primary->logfile;
($ret, $out, $err) = psql_c($primary, 'postgres', 'SELECT 1',
	connstr => "$base user=repl",
	extra_params => ['-w']);
isnt($ret, 0, 'ordinary (non-replication) login of repl is refused');
like(
	slurp_file($primary->logfile, $offset),
	qr/FATAL:  53300: pg_budget: class "nobody" is at its cap of 0 connections/,
	'repl is of class nobody: 53300 in the log');

# Replication connections of the same role get in.
($ret, $out, $err) = psql_c($primary, 'postgres', 'IDENTIFY_SYSTEM',
	connstr => "$base user=repl replication=true",
	extra_params => ['-w']);
is($ret, 0, 'physical replication connection (replication=true) admitted')
  or diag $err;
like($out, qr/^\d+\|1\|[0-9A-F]+\/[0-9A-F]+\|$/,
	'IDENTIFY_SYSTEM answers on the physical replication connection');

# A logical replication connection of repl (class nobody) is judged: refused.
$offset = -s $primary->logfile;
($ret, $out, $err) = psql_c($primary, 'postgres', 'IDENTIFY_SYSTEM',
	connstr => "$base user=repl replication=database",
	extra_params => ['-w']);
isnt($ret, 0, 'replication=database of repl (class nobody) is refused');
like($err,
	qr/FATAL:  pg_budget: class "nobody" is at its cap of 0 connections/,
	'... by the cap of nobody');

# lrepl is of class logi (max=1): one logical connection gets in and is
# counted; a second is refused at the cap.
($ret, $out, $err) = psql_c($primary, 'postgres',
	'IDENTIFY_SYSTEM; CREATE_REPLICATION_SLOT pgb_logical LOGICAL test_decoding;',
	connstr => "$base user=lrepl replication=database",
	extra_params => ['-w']);
is($ret, 0,
	'logical replication connection (replication=database) of lrepl admitted')
  or diag $err;
like($out, qr/^\d+\|1\|[0-9A-F]+\/[0-9A-F]+\|postgres\n/,
	'IDENTIFY_SYSTEM names the database on the logical connection');
like($out, qr/^pgb_logical\|/m,
	'the logical connection created a slot');

my $held = $primary->background_psql('postgres', replication => 'database',
	extra_params => [ '-U', 'lrepl' ]);
my $held_pid = $held->query_safe('SELECT pg_backend_pid()');
is($held->query_safe('SHOW pg_budget.class'), 'logi',
	'the logical connection was admitted under class logi');
is( $primary->safe_psql('postgres',
		"SELECT connected FROM pg_budget_status WHERE class = 'logi'"),
	'1', '... and is counted in it');
($ret, $out, $err) = psql_c($primary, 'postgres', 'IDENTIFY_SYSTEM',
	connstr => "$base user=lrepl replication=database",
	extra_params => ['-w']);
like($err,
	qr/FATAL:  pg_budget: class "logi" is at its cap of 1 connections/,
	'a second replication=database connection of lrepl is refused at the cap');

# pause terminate ends it
is( $primary->safe_psql('postgres', "SELECT pg_budget_pause('logi', 'terminate')"),
	'1', "pg_budget_pause('logi', 'terminate') signals the logical connection");
ok( $primary->poll_query_until('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE pid = $held_pid", '0'),
	'... which is gone');
eval { $held->quit };
($ret, $out, $err) = psql_c($primary, 'postgres', 'IDENTIFY_SYSTEM',
	connstr => "$base user=lrepl replication=database",
	extra_params => ['-w']);
like($err, qr/FATAL:  pg_budget: class "logi" is paused/,
	'while logi is paused, its logical connections are refused');
$primary->safe_psql('postgres', "SELECT pg_budget_resume('logi')");
ok( $primary->poll_query_until('postgres',
		"SELECT connected FROM pg_budget_status WHERE class = 'logi'", '0'),
	'logi is empty again');

# A base backup as repl: pg_basebackup opens two walsenders (-X stream).
$primary->backup('bb', backup_options => [ '-U', 'repl' ]);
ok(-f $primary->backup_dir . '/bb/PG_VERSION', 'pg_basebackup as repl worked');

# A standby streaming as repl catches up.
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bb', has_streaming => 1);
$standby->append_conf('postgresql.conf',
	"primary_conninfo = '" . $primary->connstr . " user=repl'");
$standby->start;
$primary->safe_psql('postgres',
	'INSERT INTO t SELECT generate_series(1, 100)');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'),
	'100', 'the standby streaming as repl caught up');
is( $primary->safe_psql(
		'postgres',
		"SELECT usename || ' ' || state FROM pg_stat_replication WHERE application_name = 'standby'"
	),
	'repl streaming',
	'the standby streams through a walsender of repl');

# The walsender is neither counted nor listed: only the querying session is.
ok( $primary->poll_query_until(
		'postgres',
		"SELECT string_agg(class || '=' || connected, ',' ORDER BY class) FROM pg_budget_status WHERE connected > 0",
		'admin=1'),
	'pg_budget_status counts only the querying session, not the walsender');
is( $primary->safe_psql(
		'postgres',
		'SELECT count(*) FROM pg_budget_backends b JOIN pg_stat_replication r USING (pid)'
	),
	'0',
	'pg_budget_backends does not list the walsender');

# Logical decoding as repl streams the insert.
my $endpos = $primary->lsn('insert');
{
	local $ENV{PGUSER} = 'lrepl';
	$out = $primary->pg_recvlogical_upto('postgres', 'pgb_logical', $endpos,
		$PostgreSQL::Test::Utils::timeout_default,
		'include-xids' => '0', 'skip-empty-xacts' => '1');
}
like($out, qr/table public\.t: INSERT: i\[integer\]:100/,
	'pg_recvlogical as lrepl (class logi, room for one) decoded the insert');

# The physical connections were not judged: nobody admitted none and
# refused the two ordinary logins and repl's logical one.
is( $primary->safe_psql(
		'postgres',
		"SELECT connected || ' ' || admitted || ' ' || rejected_cap FROM pg_budget_status WHERE class = 'nobody'"
	),
	'0 0 3',
	'class nobody: no session, no admission, three refusals');

$primary->safe_psql('postgres', "SELECT pg_drop_replication_slot('pgb_logical')");
$standby->stop;
$primary->stop;
done_testing();
