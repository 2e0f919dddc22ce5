# pg_budget.classes handling: a bad table at start stops the server, a bad
# table at reload keeps the old one, ALTER SYSTEM refuses it, and a reload
# that removes a class or lowers a cap leaves nobody locked out.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbNode;

my $node = pgb_node(
	'config',
	conf => "max_connections = 40\nsuperuser_reserved_connections = 3\n",
	start => 0);

#
# (a) a bad table in postgresql.conf stops the server; the log names the
# class and the token at fault
#
my @bad_start = (
	[
		'web(maxx=10)',
		qr/invalid value for parameter "pg_budget.classes": class "web": unknown key "maxx"/,
		'unknown key'
	],
	[
		'web(max=10, reserve=20)',
		qr/invalid value for parameter "pg_budget.classes": class "web": reserve 20 exceeds max 10/,
		'reserve over max'
	],
	[
		'web(reserve=30), admin(reserve=30)',
		qr/invalid value for parameter "pg_budget.classes": reservations total 60 \(web 30, admin 30\) but only 37 connections are usable \(max_connections less the reserved slots\)/,
		'reservations over the usable connections'
	],
	[
		'web(max=1000)',
		qr/invalid value for parameter "pg_budget.classes": class "web": max 1000 exceeds the 37 usable connections/,
		'max over the usable connections'
	],
	[
		'web(max=10), web(max=5)',
		qr/invalid value for parameter "pg_budget.classes": duplicate class "web"/,
		'duplicate class'
	]);
for my $case (@bad_start)
{
	my ($table, $re, $what) = @$case;
	start_fails($node, "pg_budget.classes = '$table'", $re, $what);
}

my $good = 'web(max=2), ai(max=1), x(max=3), keep(max=5)';
$node->append_conf('postgresql.conf', "pg_budget.classes = '$good'");
ok($node->start(fail_ok => 1), 'server starts once the table is fixed');
is($node->safe_psql('postgres', 'SHOW pg_budget.classes'),
	$good, 'the fixed table is in force');

pgb_setup($node, roles => [ w => 'web', r => 'x', k => 'keep' ]);
my $ctl = $node->background_psql('postgres');

sub login
{
	my ($role, $sql) = @_;
	return $node->psql(
		'postgres', $sql // 'SHOW pg_budget.class',
		connstr => $node->connstr('postgres') . " user=$role",
		extra_params => ['-w'],
		on_error_stop => 0);
}

sub hold
{
	my ($role) = @_;
	return $node->background_psql('postgres',
		extra_params => [ '-U', $role ]);
}

# Poll through the control session until $sql returns $expected.
sub wait_ctl
{
	poll_is($ctl, @_);
}

# Reload and wait until new sessions see $setting = $value.
sub reload_to
{
	my ($setting, $value) = @_;
	$node->append_conf('postgresql.conf', "$setting = '$value'");
	$node->reload;
	$node->poll_query_until('postgres', "SHOW $setting", $value)
	  or die "$setting = '$value' not in force after reload";
}

#
# (b) a bad table at reload is logged and the old table stays in force
#
my @w = (hold('w'), hold('w'));
my $offset = -s $node->logfile;
$node->append_conf('postgresql.conf',
	"pg_budget.classes = 'web(max=2, reserve=5), ai(max=1)'");
$node->reload;
ok( $node->wait_for_log(
		qr/invalid value for parameter "pg_budget.classes": "web\(max=2, reserve=5\), ai\(max=1\)"\n.*DETAIL:  class "web": reserve 5 exceeds max 2\./,
		$offset),
	'bad table at reload: logged with the class and the token');
like(
	slurp_file($node->logfile, $offset),
	qr/LOG:  configuration file ".*postgresql.conf" contains errors; unaffected changes were applied/,
	'bad table at reload: the postmaster keeps the old value');
is($node->safe_psql('postgres', 'SHOW pg_budget.classes'),
	$good, 'bad table at reload: a new session still shows the old table');
my ($ret, $out, $err) = login('w');
like(
	$err,
	qr/FATAL:  pg_budget: class "web" is at its cap of 2 connections/,
	'bad table at reload: the old cap of web is still enforced');
is( $ctl->query_safe(
		"SELECT max || ' ' || reserve FROM pg_budget_status WHERE class = 'web'"),
	'2 0',
	'bad table at reload: pg_budget_status shows the old limits');
$_->quit for @w;
# put the good table back in the file for the reloads below
$node->append_conf('postgresql.conf', "pg_budget.classes = '$good'");
$node->reload;

#
# (c) ALTER SYSTEM refuses a bad table and writes nothing
#
($ret, $out, $err) = $node->psql('postgres',
	"ALTER SYSTEM SET pg_budget.classes = 'web(maxx=1)'");
isnt($ret, 0, 'ALTER SYSTEM with a bad table fails');
like(
	$err,
	qr/ERROR:  invalid value for parameter "pg_budget.classes": "web\(maxx=1\)"\nDETAIL:  class "web": unknown key "maxx"\./,
	'ALTER SYSTEM names the class and the token');
my $auto = slurp_file($node->data_dir . '/postgresql.auto.conf');
unlike($auto, qr/pg_budget/, 'postgresql.auto.conf holds no pg_budget setting');

#
# (d) class x is removed while role r names it and a session of r is in
#
my $r_old = hold('r');
is($r_old->query_safe('SHOW pg_budget.class'), 'x', 'r is admitted under x');
my $k = hold('k');
$offset = -s $node->logfile;
reload_to('pg_budget.classes', 'web(max=2), ai(max=1), keep(max=5)');
is( $ctl->query_safe(
		"SELECT class || ' ' || connected || ' ' || configured || ' ' || coalesce(max::text, 'null') FROM pg_budget_status WHERE class = 'x'"
	),
	'x 1 false null',
	'removed class: its row stays, configured = false, while it has a session'
);
is($r_old->query_safe('SELECT 1'),
	'1', 'removed class: the old session of r still works');
($ret, $out, $err) = login('r');
is($ret, 0, 'removed class: r still logs in');
is($out, 'default', 'removed class: r is admitted under the default class');
ok( $node->log_contains(
		qr/LOG:  pg_budget: role "r" names class "x", which is not defined; using class "default"/,
		$offset),
	'removed class: the log says r falls back to default');
($ret, $out) = login('k');
is($ret, 0, 'removed class: another class still logs in');
is($out, 'keep', 'removed class: k is still of class keep');
$r_old->quit;
wait_ctl("SELECT count(*) FROM pg_budget_status WHERE class = 'x'",
	'0', 'removed class: its row goes once its last session quits');
$k->quit;

#
# (e) a reload lowers the cap of keep below its sessions
#
my @k = map { hold('k') } 1 .. 3;
reload_to('pg_budget.classes', 'web(max=2), ai(max=1), keep(max=2)');
is($_->query_safe('SELECT 1'), '1', 'lowered cap: existing keep session stays')
  for @k;
is( $ctl->query_safe(
		"SELECT connected || ' of ' || max FROM pg_budget_status WHERE class = 'keep'"
	),
	'3 of 2',
	'lowered cap: three sessions counted against max=2');
($ret, $out, $err) = login('k');
like(
	$err,
	qr/FATAL:  pg_budget: class "keep" is at its cap of 2 connections\nDETAIL:  Class "keep" has 3 of max=2 connections\./,
	'lowered cap: a new keep login is refused');
(shift @k)->quit;
wait_ctl("SELECT connected FROM pg_budget_status WHERE class = 'keep'",
	'2', 'lowered cap: down to two sessions');
($ret, $out, $err) = login('k');
like(
	$err,
	qr/DETAIL:  Class "keep" has 2 of max=2 connections\./,
	'lowered cap: still refused at the new max');
(shift @k)->quit;
wait_ctl("SELECT connected FROM pg_budget_status WHERE class = 'keep'",
	'1', 'lowered cap: down to one session');
($ret, $out, $err) = login('k');
is($ret, 0, 'lowered cap: keep logs in once under the new max');
is($out, 'keep', 'lowered cap: admitted under keep');
$_->quit for @k;

$ctl->quit;
$node->stop;
done_testing();
