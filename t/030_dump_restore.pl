# The DBA's workflows: pg_dumpall restored with ON_ERROR_STOP into a server
# with the same class table and into one that lacks a class the dump names;
# pg_dump/pg_restore of one database; ALTER EXTENSION pg_budget UPDATE from
# a real 0.1.0 install, whose pg_budget_admin role is dropped when nothing
# needs it and kept with a NOTICE when it has members; and from a real
# 0.2.0 install with the DBA's grants and revokes, which ends with exactly
# the objects and privileges of a fresh install given the same, before and
# after a dump and restore.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbNode;
use PgbExtension;

sub server
{
	my ($name, $classes) = @_;
	return pgb_node($name,
		conf => "max_connections = 30\npg_budget.shedding = off\n",
		classes => $classes,
		extension => 0);
}

my $src = server('src', 'web(max=10, priority=100), maint(max=3, priority=50), ai(max=2, priority=10)');
my $su = $src->safe_psql('postgres', 'SELECT current_user');
pgb_setup(
	$src,
	extension => 0,
	roles => [
		oncall => undef,
		pager => [ undef, 'IN ROLE oncall' ],
		mon => [ undef, 'IN ROLE pg_monitor' ],
		w => 'web',
		m => 'maint'
	],
	sql => 'CREATE DATABASE app;');
for my $db (qw(postgres app))
{
	$src->safe_psql(
		$db, q{
CREATE EXTENSION pg_budget;
GRANT EXECUTE ON FUNCTION pg_budget_pause(text, text), pg_budget_resume(text),
	pg_budget_reset() TO oncall;
});
}
$src->safe_psql('postgres', q{ALTER ROLE m IN DATABASE app SET pg_budget.class = 'ai'});

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $dump = "$tmp/all.sql";
$src->command_ok(
	[ 'pg_dumpall', '-h', $src->host, '-p', $src->port, '-f', $dump ],
	'pg_dumpall');

# The bootstrap superuser exists in every new cluster: its CREATE ROLE is
# the one statement of a pg_dumpall that fails on restore, by design.
my $text = slurp_file($dump);
ok($text =~ s/^CREATE ROLE \Q$su\E;\n//m, 'the dump creates the bootstrap superuser');
unlike($text, qr/pg_budget_admin/, 'the dump names no role pg_budget_admin');
my $restore = "$tmp/restore.sql";
open(my $fh, '>', $restore) or die "$restore: $!";
print $fh $text;
close $fh;

sub restore
{
	my ($node, $name) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', undef,
		extra_params => [ '-v', 'ON_ERROR_STOP=1', '-f', $restore ]);
	is($ret, 0, "$name: the dump restores with ON_ERROR_STOP");
	unlike($err, qr/ERROR/, "$name: ... and no ERROR") or note($err);
	return $err;
}

sub login_class
{
	my ($node, $role, $db) = @_;
	return $node->safe_psql($db // 'postgres', 'SHOW pg_budget.class',
		extra_params => [ '-U', $role ]);
}

# (a) into a server with the same class table
my $same = server('same', 'web(max=10, priority=100), maint(max=3, priority=50), ai(max=2, priority=10)');
restore($same, 'same table');
is(login_class($same, 'w'), 'web', 'same table: w is of class web');
is(login_class($same, 'm'), 'maint', 'same table: m is of class maint');
is(login_class($same, 'm', 'app'), 'ai', 'same table: m is of class ai in database app');
for my $db (qw(postgres app))
{
	my ($ret, $out, $err) = $same->psql($db,
		"SELECT pg_budget_pause('ai'); SELECT pg_budget_resume('ai')",
		extra_params => [ '-U', 'pager' ]);
	is("$ret $err", '0 ', "same table: a member of oncall may pause and resume in $db");
	($ret, $out, $err) = $same->psql($db, "SELECT pg_budget_reset()",
		extra_params => [ '-U', 'w' ]);
	like($err, qr/permission denied for function pg_budget_reset/,
		"same table: w still may not reset in $db");
}
is($same->safe_psql('postgres', 'SELECT count(*) >= 0 FROM pg_budget_events',
		extra_params => [ '-U', 'mon' ]),
	't', 'same table: a pg_monitor member reads pg_budget_events');

# (b) into a server that lacks class maint: a NOTICE, not an ERROR, and m
# logs in under the default class
my $lacks = server('lacks', 'web(max=10, priority=100), ai(max=2, priority=10)');
my $err = restore($lacks, 'lacking maint');
like($err, qr/NOTICE:  pg_budget class "maint" does not exist/,
	'lacking maint: the restore says the class is missing');
is(login_class($lacks, 'm'), 'default', 'lacking maint: m logs in under the default class');
ok($lacks->log_contains(
		qr/pg_budget: role "m" names class "maint", which is not defined; using class "default"/),
	'lacking maint: ... with a LOG line');
is(login_class($lacks, 'w'), 'web', 'lacking maint: w is of class web');

# (c) pg_dump / pg_restore of one database
my $archive = "$tmp/app.dump";
$src->command_ok(
	[ 'pg_dump', '-h', $src->host, '-p', $src->port, '-Fc', '-f', $archive, 'app' ],
	'pg_dump -Fc of database app');
$same->safe_psql('postgres', 'CREATE DATABASE app2');
$same->command_ok(
	[ 'pg_restore', '-h', $same->host, '-p', $same->port, '--exit-on-error',
	  '-d', 'app2', $archive ],
	'pg_restore --exit-on-error into app2');
my ($ret, $out);
($ret, $out, $err) = $same->psql('app2', "SELECT pg_budget_reset()",
	extra_params => [ '-U', 'oncall' ]);
is("$ret $err", '0 ', 'app2: the grant to oncall came along');

# (d) ALTER EXTENSION UPDATE from a real 0.1.0 install, which created
# pg_budget_admin.  With a member the role is kept, with a NOTICE.
$src->safe_psql('postgres', 'CREATE DATABASE old1; CREATE DATABASE old2');
$src->safe_psql('old1', "CREATE EXTENSION pg_budget VERSION '0.1.0'");
is($src->safe_psql('postgres',
		"SELECT count(*) FROM pg_roles WHERE rolname = 'pg_budget_admin'"),
	'1', '0.1.0 created pg_budget_admin');
$src->safe_psql('postgres', 'GRANT pg_budget_admin TO pager');
($ret, $out, $err) = $src->psql('old1', 'ALTER EXTENSION pg_budget UPDATE');
is($ret, 0, 'ALTER EXTENSION pg_budget UPDATE from 0.1.0');
like($err, qr/WARNING:  pg_budget: role "pg_budget_admin" is kept: it has 1 members/,
	'... keeps pg_budget_admin, which has a member, with a WARNING');
is($src->safe_psql('old1', "SELECT extversion FROM pg_extension WHERE extname = 'pg_budget'"),
	'0.4.0', '... the extension is at 0.4.0, through 0.2.0 and 0.3.0');
is($src->safe_psql('old1',
		q{SELECT count(*) FROM pg_proc p, aclexplode(p.proacl) a
		   WHERE p.proname LIKE 'pg\_budget%' AND a.grantee = 'pg_budget_admin'::regrole}),
	'0', '... and pg_budget_admin holds no privilege on its functions');
($ret, $out, $err) = $src->psql('old1', "SELECT pg_budget_reset()",
	extra_params => [ '-U', 'pager' ]);
like($err, qr/permission denied for function pg_budget_reset/,
	'... its member lost the right to reset');

# Without members, the update drops the role.
$src->safe_psql('postgres', 'REVOKE pg_budget_admin FROM pager');
$src->safe_psql('old1', 'DROP EXTENSION pg_budget');
$src->safe_psql('postgres', 'DROP ROLE pg_budget_admin');
$src->safe_psql('old2', "CREATE EXTENSION pg_budget VERSION '0.1.0'");
($ret, $out, $err) = $src->psql('old2', 'ALTER EXTENSION pg_budget UPDATE');
is("$ret", '0', 'ALTER EXTENSION UPDATE of an install whose role has no members');
is($src->safe_psql('postgres',
		"SELECT count(*) FROM pg_roles WHERE rolname = 'pg_budget_admin'"),
	'0', '... drops pg_budget_admin');
my $again = "$tmp/again.sql";
$src->command_ok(
	[ 'pg_dumpall', '-h', $src->host, '-p', $src->port, '-f', $again ],
	'pg_dumpall after the update');
unlike(slurp_file($again), qr/pg_budget_admin/, '... names no pg_budget_admin');

# (e) ALTER EXTENSION UPDATE from a real 0.2.0 install with the DBA's
# grants and revokes (on objects 0.3.0 makes anew, changes the privileges
# of, and leaves alone, and 0.4.0 replaces): the same objects, ACLs and
# initial privileges as a fresh 0.4.0 given the same statements, and a dump
# of it restores so.
my $dba = q{
GRANT EXECUTE ON FUNCTION pg_budget_pause(text, text), pg_budget_resume(text) TO oncall;
GRANT SELECT ON pg_budget_events TO w;
GRANT EXECUTE ON FUNCTION pg_budget_events() TO w WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_budget_gate_histogram() TO m;
REVOKE SELECT ON pg_budget_events FROM pg_read_all_stats;
REVOKE SELECT ON pg_budget_wal FROM PUBLIC;
GRANT SELECT ON pg_budget_wal TO m;
GRANT SELECT ON pg_budget_history TO mon;
GRANT EXECUTE ON FUNCTION pg_budget_history(), pg_budget_events() TO "On Call";
GRANT EXECUTE ON FUNCTION pg_budget_admission_histogram() TO oncall WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_budget_reset() TO oncall WITH GRANT OPTION;
SET ROLE oncall;
GRANT EXECUTE ON FUNCTION pg_budget_admission_histogram(), pg_budget_reset() TO pager;
RESET ROLE;
SET ROLE w;
GRANT EXECUTE ON FUNCTION pg_budget_events() TO pager;
RESET ROLE;
};
$src->safe_psql('postgres', 'CREATE ROLE "On Call"; CREATE DATABASE v020; CREATE DATABASE v030');
$src->safe_psql('v020', "CREATE EXTENSION pg_budget VERSION '0.2.0';\n$dba");
my $at020 = extension_listing($src, 'v020');
($ret, $out, $err) = $src->psql('v020', 'ALTER EXTENSION pg_budget UPDATE');
is("$ret $err", '0 ', "ALTER EXTENSION pg_budget UPDATE from 0.2.0 with the DBA's grants, without a word");
is($src->safe_psql('v020', "SELECT extversion FROM pg_extension WHERE extname = 'pg_budget'"),
	'0.4.0', '... the extension is at 0.4.0');
$src->safe_psql('v030', "CREATE EXTENSION pg_budget;\n$dba");
my $fresh = extension_listing($src, 'v030');
like($fresh, qr/^acl function pg_budget_events\(\) w EXECUTE WITH GRANT OPTION by /m,
	'the listing shows the grants');
like($fresh, qr/^acl function pg_budget_events\(\) "On Call" EXECUTE by /m,
	'... also to a role whose name needs quotes');
like($fresh, qr/^acl function pg_budget_events\(\) pager EXECUTE by w$/m,
	'... and grants made on a grant option, with their grantor');
isnt($at020, $fresh, '0.2.0 and 0.4.0 differ (the comparison below is not empty)');
my $updated = extension_listing($src, 'v020');
is($updated, $fresh, 'updated from 0.2.0: the objects, ACLs and initial privileges of a fresh 0.4.0')
  or diag(join("\n", '--- updated', $updated, '--- fresh', $fresh));
unlike($updated, qr/^init .* (w|m|oncall|mon|pager|"On Call") /m,
	'no grant of the DBA became an initial privilege (pg_dump would leave it out)');
unlike($updated, qr/pg_budget_acl/, 'the update left no helper behind');

# a dump of the updated database restores to the same listing
my $v020dump = "$tmp/v020.dump";
$src->command_ok(
	[ 'pg_dump', '-h', $src->host, '-p', $src->port, '-Fc', '-f', $v020dump, 'v020' ],
	'pg_dump of the updated database');
$same->safe_psql('postgres', 'CREATE ROLE "On Call"; CREATE DATABASE v020r');
$same->command_ok(
	[ 'pg_restore', '-h', $same->host, '-p', $same->port, '--exit-on-error',
	  '-d', 'v020r', $v020dump ],
	'pg_restore of it');
is(extension_listing($same, 'v020r'), $updated,
	'restored: the same objects, grants and revokes as the updated database');
($ret, $out, $err) = $same->psql('v020r', 'SELECT count(*) >= 0 FROM pg_budget_events',
	extra_params => [ '-U', 'w' ]);
is("$ret $out $err", '0 t ', 'restored: the grant on pg_budget_events came along');

$_->stop for $src, $same, $lacks;
done_testing();
