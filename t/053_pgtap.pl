# Runs the pgTAP suites in test/pgtap/ with pg_prove against a server that
# has pg_budget preloaded and both extensions installed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbNode;
use IPC::Run;

my @suites = sort glob('test/pgtap/*.sql');
ok(scalar(grep { m{/objects\.sql$} } @suites)
	  && scalar(grep { m{/privileges\.sql$} } @suites),
	'the pgTAP suites are there: ' . join(' ', @suites));

my $node = pgb_node(
	'pgtap',
	conf => 'max_connections = 40',
	classes => 'web(max=20, reserve=5), ai(max=4, priority=10)',
	extension => 0,
	sql => 'CREATE EXTENSION pgtap; CREATE EXTENSION pg_budget;');

# the bootstrap superuser is the OS user that ran initdb
my $os_user = getpwuid($<);
my ($out, $err) = ('', '');
my @cmd = (
	'pg_prove', '-h', $node->host, '-p', $node->port, '-d', 'postgres',
	'-U', $os_user, @suites);
my $ran = IPC::Run::run(\@cmd, '<', '/dev/null', '>', \$out, '2>', \$err);
my $code = $? >> 8;

my $passed = is($code, 0, 'pg_prove exited 0');
$passed = like($out, qr/^Result: PASS$/m, 'pg_prove says Result: PASS') && $passed;
note("pg_prove (@cmd) output:\n$out\nstderr:\n$err") unless $passed;

# the suites ran in transactions that rolled back and left no pause behind
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pgtap\_%'}),
	'0',
	'the roles the suites created are gone');
is( $node->safe_psql('postgres',
		"SELECT paused FROM pg_budget_status WHERE class = 'ai'"),
	'f',
	'class ai is not left paused');

$node->stop;
done_testing();
