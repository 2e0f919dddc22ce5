# pg_budget.rules: classes by application_name, database, client address
# and membership, judged once at login over TCP and the Unix socket (and
# replication=database), charged to the rule's class, never raising a
# session's priority; bad rules stop the start and are kept out at
# reload; a reload that removes a rule's class skips the rule and locks
# nobody out.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbNode;

my $classes =
  'web(max=10, priority=100), ai(max=2, priority=10), bulk(max=10, priority=0), admin(priority=1000)';
my $node = pgb_node(
	'rules',
	conf => q{
max_connections = 40
superuser_reserved_connections = 3
listen_addresses = '127.0.0.1'
wal_level = replica
max_wal_senders = 4
},
	classes => $classes,
	hba => "host all all 127.0.0.1/32 trust\n",
	start => 0);

#
# (a) bad rules in postgresql.conf stop the server, naming the token
#
my @bad_start = (
	[
		'app=celery* => ai',
		qr/invalid value for parameter "pg_budget.rules": rule 1: unknown attribute "app"/,
		'unknown attribute'
	],
	[
		'database=x => web, client_addr=10.0.5.0/33 => bulk',
		qr/invalid value for parameter "pg_budget.rules": rule 2: invalid address "10.0.5.0\/33" for client_addr/,
		'bad CIDR'
	],
	[
		'application_name=cel[ery => ai',
		qr/invalid value for parameter "pg_budget.rules": rule 1: invalid pattern "cel\[ery" for application_name/,
		'bad glob'
	],
	[
		'application_name=celery* => nosuch',
		qr/invalid value for parameter "pg_budget.rules": rule 1: class "nosuch" is not defined in pg_budget.classes/,
		'a class the table lacks'
	]);
for my $case (@bad_start)
{
	my ($rules, $re, $what) = @$case;
	start_fails($node, "pg_budget.rules = '$rules'", $re, $what);
}

my $rules =
	'application_name=celery* => ai, database=analytics => bulk, '
  . 'member_of=analysts => bulk, client_addr=127.0.0.1 => bulk, '
  . 'application_name=psql_admin => admin, client_addr=local => web';
$node->append_conf('postgresql.conf', "pg_budget.rules = '$rules'");
ok($node->start(fail_ok => 1), 'server starts once the rules are fixed');

pgb_setup(
	$node,
	roles => [ app => [ 'web', 'REPLICATION' ], loader => 'bulk', plain => undef, analyst => 'web' ],
	sql => q{
CREATE ROLE analysts;
GRANT analysts TO analyst;
CREATE DATABASE analytics;
CREATE DATABASE dbbulk;
ALTER DATABASE dbbulk SET pg_budget.class = 'bulk';
});
$node->safe_psql($_, 'CREATE EXTENSION pg_budget') for ('analytics', 'dbbulk');

# One login: "class|classified_by" of the session itself, or the error.
sub who
{
	my (%o) = @_;
	my $cs = $o{tcp}
	  ? 'host=127.0.0.1 port=' . $node->port
	  : 'host=' . $node->host . ' port=' . $node->port;
	$cs .= ' dbname=' . ($o{db} // 'postgres') . ' user=' . $o{user};
	$cs .= " application_name=$o{app}" if defined $o{app};
	$cs .= " replication=database" if $o{replication};
	my ($ret, $out, $err) = $node->psql(
		'postgres',
		'SELECT class, classified_by FROM pg_budget_backends WHERE pid = pg_backend_pid()',
		connstr => $cs,
		extra_params => ['-w']);
	return $ret == 0 ? $out : "error: $err";
}

sub rule_counts
{
	return $node->safe_psql('postgres',
		'SELECT position, classified, raised FROM pg_budget_rules ORDER BY position');
}

#
# (b) the view of the rules
#
is( $node->safe_psql(
		'postgres',
		'SELECT position, attribute, pattern, class, rule, in_force FROM pg_budget_rules ORDER BY 1'),
	qq{1|application_name|celery*|ai|application_name=celery* => ai|t
2|database|analytics|bulk|database=analytics => bulk|t
3|member_of|analysts|bulk|member_of=analysts => bulk|t
4|client_addr|127.0.0.1|bulk|client_addr=127.0.0.1 => bulk|t
5|application_name|psql_admin|admin|application_name=psql_admin => admin|t
6|client_addr|local|web|client_addr=local => web|t},
	'pg_budget_rules shows the rules in order');
$node->safe_psql('postgres', 'SELECT pg_budget_reset()');

#
# (c) logins over the Unix socket and over TCP
#
is(who(user => 'app', app => 'celery-worker-1'),
	'ai|application_name=celery* => ai',
	'socket: a celery worker of role app goes to ai by its application_name');
is(who(user => 'app', app => 'rails'),
	'web|client_addr=local => web',
	'socket: the web app of the same role stays in web (rule client_addr=local)');
is(who(user => 'app', app => 'celery-worker-2', tcp => 1),
	'ai|application_name=celery* => ai',
	'TCP: a celery worker goes to ai');
is(who(user => 'app', app => 'rails', tcp => 1),
	'bulk|client_addr=127.0.0.1 => bulk',
	'TCP: from 127.0.0.1 the web app goes to bulk by its address');
is(who(user => 'app', db => 'analytics'),
	'bulk|database=analytics => bulk',
	'the analytics database goes to bulk');
is(who(user => 'analyst', app => 'x'),
	'bulk|member_of=analysts => bulk',
	'a member of analysts goes to bulk');
is(who(user => 'loader', app => 'x'),
	'bulk|role', 'a bulk role over the socket: the web rule would raise it, so its role decides');
is(who(user => 'plain', db => 'dbbulk', app => 'x'),
	'bulk|database', 'a class from ALTER DATABASE shows classified_by database');
is(who(user => 'plain', app => 'x'),
	'default|default', 'a role with no class shows classified_by default');

#
# (d) the spoofing attempt: a client picks its own application_name, and a
# rule never raises it above its role's class
#
my $offset = -s $node->logfile;
is(who(user => 'loader', app => 'psql_admin'),
	'bulk|role',
	'a bulk role calling itself psql_admin is not raised to admin');
is(who(user => 'loader', app => 'celery-1'),
	'bulk|role', 'nor to ai by calling itself celery');
is(who(user => 'app', app => 'psql_admin'),
	'web|client_addr=local => web',
	'a web role calling itself psql_admin is not raised either: the next rule takes it');
is( rule_counts(),
	qq{1|2|1
2|1|0
3|1|0
4|1|0
5|0|2
6|2|6},
	'pg_budget_rules counts the logins each rule classified, and those it skipped for raising (this superuser login too)'
);
is( $node->safe_psql('postgres',
		'DO $$BEGIN PERFORM pg_budget_reset(); END$$; SELECT sum(classified) + sum(raised) FROM pg_budget_rules'),
	'0', 'pg_budget_reset() zeroes the rules\' counters');

#
# (e) fixed at login: SET application_name changes nothing, and the quota
# is charged to the rule's class
#
my $w1 = do {
	local $ENV{PGAPPNAME} = 'celery-a';
	$node->background_psql('postgres', extra_params => [ '-U', 'app' ]);
};
my $w2 = do {
	local $ENV{PGAPPNAME} = 'celery-b';
	$node->background_psql('postgres', extra_params => [ '-U', 'app' ]);
};
is($w1->query_safe('SHOW pg_budget.class'), 'ai', 'a held celery session is in ai');
like(who(user => 'app', app => 'celery-c'),
	qr/FATAL:  pg_budget: class "ai" is at its cap of 2 connections/,
	'a third celery worker is refused at ai\'s cap, though its role is web');
is(who(user => 'app', app => 'rails'), 'web|client_addr=local => web',
	'while the web app of the same role gets in');
$w1->query_safe("SET application_name = 'rails'");
is( $w1->query_safe(
		'SELECT class, classified_by FROM pg_budget_backends WHERE pid = pg_backend_pid()'),
	'ai|application_name=celery* => ai',
	'SET application_name after login leaves the class as it was');
is( $node->safe_psql('postgres',
		"SELECT connected FROM pg_budget_status WHERE class = 'ai'"),
	'2', 'ai counts the two workers');
$w1->quit;
$w2->quit;
ok( $node->poll_query_until('postgres',
		"SELECT connected FROM pg_budget_status WHERE class = 'ai'", '0'),
	'ai is empty again');

#
# (f) replication=database logins are classified the same way
#
my $repl = do {
	local $ENV{PGAPPNAME} = 'celery-logical';
	$node->background_psql('postgres', replication => 'database',
		extra_params => [ '-U', 'app' ]);
};
my $repl_pid = $repl->query_safe('SELECT pg_backend_pid()');
is( $node->safe_psql('postgres',
		"SELECT class, classified_by FROM pg_budget_backends WHERE pid = $repl_pid"),
	'ai|application_name=celery* => ai',
	'a replication=database login named celery goes to ai');
$repl->quit;

#
# (g) a bad rule at reload keeps the old rules, and the log says why
#
$offset = -s $node->logfile;
$node->append_conf('postgresql.conf', "pg_budget.rules = 'client_addr=10.0.5.1/24 => bulk'");
$node->reload;
ok( $node->wait_for_log(
		qr/invalid value for parameter "pg_budget.rules": "client_addr=10.0.5.1\/24 => bulk"/,
		$offset),
	'a bad rule at reload is logged');
like(slurp_file($node->logfile, $offset),
	qr/DETAIL:  rule 1: invalid address "10.0.5.1\/24" for client_addr/,
	'... naming the token');
is($node->safe_psql('postgres', 'SHOW pg_budget.rules'), $rules, 'the old rules stay in force');
is(who(user => 'app', app => 'celery-x'), 'ai|application_name=celery* => ai',
	'and still classify');

#
# (h) a reload that removes a class a rule names: the rule is skipped with
# a WARNING, nobody is locked out; and when the class comes back, so does
# the rule
#
$offset = -s $node->logfile;
$node->append_conf('postgresql.conf',
	"pg_budget.rules = '$rules'\n"
	  . "pg_budget.classes = 'web(max=10, priority=100), bulk(max=10, priority=0), admin(priority=1000)'"
);
$node->reload;
ok( $node->wait_for_log(
		qr/WARNING:  pg_budget: rule 1 "application_name=celery\* => ai" names class "ai", which pg_budget.classes does not define; the rule is skipped/,
		$offset),
	'removing a class a rule names logs a WARNING naming the rule');
ok( $node->poll_query_until('postgres',
		"SELECT in_force FROM pg_budget_rules WHERE position = 1", 'f'),
	'pg_budget_rules shows the rule out of force');
is(who(user => 'app', app => 'celery-y'), 'web|client_addr=local => web',
	'a celery worker then logs in under the next rule that matches');
is(who(user => 'postgres', app => 'celery-y'), 'default|default',
	'and a superuser logs in (the socket rule would raise it above default)');
$node->append_conf('postgresql.conf', "pg_budget.classes = '$classes'");
$node->reload;
ok( $node->poll_query_until('postgres',
		"SELECT in_force FROM pg_budget_rules WHERE position = 1", 't'),
	'with the class back, the rule is in force again');
is(who(user => 'app', app => 'celery-z'), 'ai|application_name=celery* => ai',
	'and classifies again');

#
# (i) the rules and the classes changed in one reload: a rule naming a
# class added by the same reload works at once
#
$node->append_conf('postgresql.conf',
	"pg_budget.rules = 'application_name=sidekiq* => jobs, $rules'\n"
	  . "pg_budget.classes = '$classes, jobs(max=3, priority=5)'");
$node->reload;
ok( $node->poll_query_until('postgres',
		"SELECT count(*) FROM pg_budget_rules WHERE in_force AND class = 'jobs'", '1'),
	'a rule and its new class in one reload');
is(who(user => 'app', app => 'sidekiq-1'), 'jobs|application_name=sidekiq* => jobs',
	'a sidekiq worker goes to the new class jobs');

#
# (j) classified_by is hidden where pg_stat_activity hides details
#
is( $node->safe_psql(
		'postgres', q{
SET ROLE plain;
SELECT count(*) FROM pg_budget_backends WHERE classified_by IS NOT NULL AND role <> 'plain'}),
	'0', 'a plain role does not see how other roles\' sessions were classified');
my ($ret, $out, $err) = $node->psql('postgres',
	'SET ROLE plain; SELECT count(*) FROM pg_budget_rules');
like($err, qr/permission denied for view pg_budget_rules/,
	'nor may it read pg_budget_rules');

$node->stop;
done_testing();
