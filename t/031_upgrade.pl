# pg_upgrade of a cluster with pg_budget installed, grants to roles that are
# not superusers and role settings naming classes: --check passes, the real
# upgrade passes, and afterwards logins are judged by class as before and
# the grants still work.  The old server is PGB_OLD_PG_CONFIG's (the
# matrix sets 17 when testing 18); without it, the same version on both
# sides.  The old server needs pg_budget built and installed for it.  The
# old cluster runs pg_budget 0.2.0; after the upgrade ALTER EXTENSION
# pg_budget UPDATE brings it to the objects and privileges of a fresh
# install given the same grants.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbSession qw(psql_c);
use PgbNode;
use PgbExtension;
use File::Basename qw(dirname);

my $new_bindir = `pg_config --bindir`;
chomp $new_bindir;
my $old_pg_config = $ENV{PGB_OLD_PG_CONFIG} || "$new_bindir/pg_config";
plan skip_all => "no old server: $old_pg_config not found"
  unless -x $old_pg_config;
my $old_bindir = `$old_pg_config --bindir`;
chomp $old_bindir;
my $old_lib = `$old_pg_config --pkglibdir`;
chomp $old_lib;
plan skip_all => "pg_budget is not installed for the old server ($old_lib)"
  unless -f "$old_lib/pg_budget.so";

my %conf = (
	conf => "max_connections = 30\npg_budget.shedding = off\n",
	classes => 'web(max=10, priority=100), ai(max=2, priority=10)');
my $grants = q{
GRANT EXECUTE ON FUNCTION pg_budget_pause(text, text), pg_budget_resume(text) TO oncall;
GRANT SELECT ON pg_budget_events TO reader;
GRANT EXECUTE ON FUNCTION pg_budget_events() TO reader;
GRANT EXECUTE ON FUNCTION pg_budget_admission_histogram() TO reader;
};

my $old = pgb_node(
	'old', %conf,
	install_path => dirname($old_bindir),
	extension => 0,
	sql => "CREATE EXTENSION pg_budget VERSION '0.2.0';\n"
	  . pgb_roles_sql([ w => 'web', a => undef, oncall => undef, mon => [ undef, 'IN ROLE pg_monitor' ], reader => undef ])
	  . "ALTER ROLE a IN DATABASE postgres SET pg_budget.class = 'ai';\n"
	  . $grants);
my $old_version = $old->safe_psql('postgres', 'SHOW server_version_num');
is($old->safe_psql('postgres', 'SHOW pg_budget.class', extra_params => [ '-U', 'a' ]),
	'ai', 'old server: a logs in under class ai');
$old->stop;

# 18's initdb turns data checksums on by default; pg_upgrade needs both
# sides alike
my $new = pgb_node(
	'new', %conf,
	init => sub {
		extra => ($_[0]->pg_version >= 18 && $old_version < 180000) ? ['--no-data-checksums'] : [];
	},
	start => 0);
my $new_version = $new->pg_version;
note("pg_upgrade from $old_version ($old_bindir) to $new_version ($new_bindir)");

# pg_upgrade writes its reports into the current directory (before 15) or
# the new data directory: run it from a scratch directory of the test's
my $scratch = PostgreSQL::Test::Utils::tempdir;
chdir $scratch or die "chdir $scratch: $!";
my @upgrade = (
	"$new_bindir/pg_upgrade", '--no-sync',
	'-b', $old_bindir, '-B', $new_bindir,
	'-d', $old->data_dir, '-D', $new->data_dir,
	'-s', $new->host, '-p', $old->port, '-P', $new->port);
command_ok([ @upgrade, '--check' ], 'pg_upgrade --check passes');
command_ok(\@upgrade, 'pg_upgrade passes');

$new->start;
is($new->safe_psql('postgres',
		"SELECT extversion FROM pg_extension WHERE extname = 'pg_budget'"),
	'0.2.0', 'new server: pg_budget 0.2.0 is installed');
my ($ret, $out, $err) = psql_c($new, 'postgres', 'ALTER EXTENSION pg_budget UPDATE');
is("$ret $err", '0 ', 'new server: ALTER EXTENSION pg_budget UPDATE');
is($new->safe_psql('postgres',
		"SELECT extversion FROM pg_extension WHERE extname = 'pg_budget'"),
	'0.4.0', '... to 0.4.0');
$new->safe_psql('postgres', 'CREATE DATABASE fresh');
$new->safe_psql('fresh', "CREATE EXTENSION pg_budget;\n$grants");
is(extension_listing($new, 'postgres'), extension_listing($new, 'fresh'),
	'new server: upgraded and updated, the objects, ACLs and initial privileges of a fresh install');
is($new->safe_psql('postgres', 'SHOW pg_budget.class', extra_params => [ '-U', 'w' ]),
	'web', 'new server: w logs in under class web (ALTER ROLE SET)');
is($new->safe_psql('postgres', 'SHOW pg_budget.class', extra_params => [ '-U', 'a' ]),
	'ai', 'new server: a logs in under class ai (ALTER ROLE IN DATABASE SET)');

# logins are judged by class: two ai sessions fill ai's cap
my @held = map { $new->background_psql('postgres', extra_params => [ '-U', 'a' ]) } 1 .. 2;
($ret, $out, $err) = psql_c($new, 'postgres', 'SELECT 1', extra_params => [ '-U', 'a' ]);
like($err, qr/FATAL:  pg_budget: class "ai" is at its cap of 2 connections/,
	'new server: a third ai login is refused at the cap');
$_->quit for @held;

# the grants came along
($ret, $out, $err) = psql_c($new, 'postgres',
	"SELECT pg_budget_pause('ai'); SELECT pg_budget_resume('ai')",
	extra_params => [ '-U', 'oncall' ]);
is("$ret $err", '0 ', 'new server: oncall may still pause and resume');
($ret, $out, $err) = psql_c($new, 'postgres',
	"SELECT count(*) > 0 FROM pg_budget_events WHERE action = 'pause'",
	extra_params => [ '-U', 'reader' ]);
is("$ret $out $err", '0 t ', 'new server: reader may still read pg_budget_events');
($ret, $out, $err) = psql_c($new, 'postgres',
	'SELECT count(*) >= 0 FROM pg_budget_wait_stats',
	extra_params => [ '-U', 'mon' ]);
is("$ret $out $err", '0 t ', 'new server: a pg_monitor member reads pg_budget_wait_stats');
($ret, $out, $err) = psql_c($new, 'postgres', "SELECT pg_budget_pause('ai')",
	extra_params => [ '-U', 'reader' ]);
like($err, qr/permission denied for function pg_budget_pause/,
	'new server: a role without the grant still may not pause');

$new->stop;
done_testing();
