# No slot leaks: whatever way a session of a capped class ends, its slot
# comes back, and logins that never got admitted never take one.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbNode;

my $node = pgb_node(
	'slots',
	conf => q{
max_connections = 20
log_error_verbosity = verbose
# connect_fails with log_like waits for the backend's exit at DEBUG2 (18)
log_min_messages = debug2
restart_after_crash = on
},
	classes => 'ai(max=3, priority=10), web(max=10)',
	start => 0);

# apw is an ai role that must give a password, so that a login can fail
# authentication; every other local login is trusted.
my $hba = $node->data_dir . '/pg_hba.conf';
my $hba_text = slurp_file($hba);
open my $fh, '>', $hba or die "could not write $hba: $!";
print $fh "local all apw scram-sha-256\n", $hba_text;
close $fh;

$node->start;

pgb_setup(
	$node,
	roles => [ a => 'ai', b => 'ai' ],
	sql => q{
ALTER ROLE b SET session_preload_libraries = 'pgb_no_such_lib';
SET password_encryption = 'scram-sha-256';
CREATE ROLE apw LOGIN PASSWORD 'right';
ALTER ROLE apw SET pg_budget.class = 'ai';
CREATE DATABASE noconnect;
REVOKE CONNECT ON DATABASE noconnect FROM PUBLIC;
});

my $cap_msg = qr/FATAL:  pg_budget: class "ai" is at its cap of 3 connections/;
my $cap_log = qr/FATAL:  53300: pg_budget: class "ai" is at its cap of 3 connections/;

# "connected|rows in pg_budget_backends" for class ai
my $ai_state_sql = q{SELECT (SELECT connected FROM pg_budget_status WHERE class = 'ai')
	|| '|' || (SELECT count(*) FROM pg_budget_backends WHERE class = 'ai')};

sub ai_state
{
	return $node->safe_psql('postgres', $ai_state_sql);
}

# Slots are freed slightly after the client goes, so wait for the count.
sub wait_ai
{
	my ($n, $name) = @_;
	ok($node->poll_query_until('postgres', $ai_state_sql, "$n|$n"),
		"$name: ai has connected = $n and $n rows in pg_budget_backends")
	  or diag('ai state: ' . ai_state());
}

# An ai session that stays open; returns it with its backend pid.
sub ai_session
{
	my $s = $node->background_psql('postgres', extra_params => [ '-U', 'a' ]);
	my $pid = $s->query_safe('SELECT pg_backend_pid()');
	is($s->query_safe('SHOW pg_budget.class'), 'ai', "session $pid admitted as ai");
	return ($s, $pid);
}

sub in_backends
{
	my ($pid) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_budget_backends WHERE pid = $pid");
}

sub refused_by_cap
{
	my ($name) = @_;
	$node->connect_fails(
		'user=a dbname=postgres', "$name: ai login refused at the cap",
		expected_stderr => $cap_msg,
		log_like => [$cap_log]);
}

# The user-visible check of a returned slot: at the cap a login is refused;
# once the slot is back, a new one gets in (and stays, to refill the cap).
sub refill_after
{
	my ($name) = @_;
	my ($s, $pid) = ai_session();
	wait_ai(3, "$name: refilled");
	refused_by_cap("$name: refilled");
	return ($s, $pid);
}

my (@s, @pid);
for my $i (0 .. 2)
{
	($s[$i], $pid[$i]) = ai_session();
}
wait_ai(3, 'three ai sessions');
refused_by_cap('initial');

# (a) normal exit
$s[0]->quit;
wait_ai(2, 'normal exit');
is(in_backends($pid[0]), '0', 'normal exit: pid gone from pg_budget_backends');
($s[0], $pid[0]) = refill_after('normal exit');

# (b) FATAL after admission: the server ends idle sessions
my $off = -s $node->logfile;
$s[1]->query_safe("SET idle_session_timeout = '200ms'");
wait_ai(2, 'idle_session_timeout');
ok( $node->log_contains(
		qr/\[$pid[1]\] \S* *FATAL:  57P05: terminating connection due to idle-session timeout/,
		$off),
	'idle_session_timeout: the server ended the session with FATAL');
is(in_backends($pid[1]), '0',
	'idle_session_timeout: pid gone from pg_budget_backends');
$s[1]->quit;
($s[1], $pid[1]) = refill_after('idle_session_timeout');

$off = -s $node->logfile;
$s[2]->query_safe("SET idle_in_transaction_session_timeout = '200ms'");
$s[2]->query_safe('BEGIN');
wait_ai(2, 'idle_in_transaction_session_timeout');
ok( $node->log_contains(
		qr/\[$pid[2]\] \S* *FATAL:  25P03: terminating connection due to idle-in-transaction timeout/,
		$off),
	'idle_in_transaction_session_timeout: the server ended the session with FATAL');
is(in_backends($pid[2]), '0',
	'idle_in_transaction_session_timeout: pid gone from pg_budget_backends');
$s[2]->quit;

($s[2], $pid[2]) = refill_after('idle_in_transaction_session_timeout');

# (c) pg_terminate_backend by a superuser
$off = -s $node->logfile;
is($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid[0])"),
	't', 'pg_terminate_backend: superuser terminates an ai session');
wait_ai(2, 'pg_terminate_backend');
ok( $node->log_contains(
		qr/\[$pid[0]\] \S* *FATAL:  57P01: terminating connection due to administrator command/,
		$off),
	'pg_terminate_backend: the session was terminated');
is(in_backends($pid[0]), '0', 'pg_terminate_backend: pid gone from pg_budget_backends');
$s[0]->quit;
($s[0], $pid[0]) = refill_after('pg_terminate_backend');

# (d) crash restart: kill -9 of one ai backend makes the postmaster end
# every backend (the other two ai sessions never run their exit code) and
# re-create shared memory.
$off = -s $node->logfile;
is(kill('KILL', $pid[1]), 1, 'crash: sent SIGKILL to an ai backend');
# "server process" before 18, "client backend" from 18 on
$node->wait_for_log(
	qr/(?:server process|client backend) \(PID $pid[1]\) was terminated by signal 9/,
	$off);
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $off);
ok($node->poll_query_until('postgres', 'SELECT true'),
	'crash: server accepts connections again');
$_->quit for @s;
is(ai_state(), '0|0',
	'crash: after the restart ai has connected = 0 and no rows in pg_budget_backends');
for my $i (0 .. 2)
{
	($s[$i], $pid[$i]) = ai_session();
}
wait_ai(3, 'crash: three new ai logins');
refused_by_cap('crash: fourth ai login');

# (e) logins refused by the cap take no slot
my $rej0 = $node->safe_psql('postgres',
	"SELECT rejected_cap FROM pg_budget_status WHERE class = 'ai'");
my $refused = 0;
for my $i (1 .. 20)
{
	my ($ret, $out, $err) = $node->psql(
		'postgres', undef,
		connstr => 'user=a dbname=postgres',
		extra_params => ['-w']);
	if ($ret != 0 && $err =~ $cap_msg)
	{
		$refused++;
	}
	else
	{
		diag("refused login $i: ret $ret, stderr: $err");
	}
}
is($refused, 20, '20 ai logins at the cap refused with the cap message');
is(ai_state(), '3|3', 'after 20 refusals ai still has connected = 3');
is( $node->safe_psql(
		'postgres',
		"SELECT rejected_cap - $rej0 FROM pg_budget_status WHERE class = 'ai'"),
	'20',
	'rejected_cap counted the 20 refusals');
$s[0]->quit;
wait_ai(2, 'after the refusals, one session exits');
($s[0], $pid[0]) = refill_after('after the refusals, exactly one more fits');

# (f) logins that fail before admission take no slot
$_->quit for @s;
wait_ai(0, 'all ai sessions gone');
my $adm0 = $node->safe_psql('postgres',
	"SELECT admitted FROM pg_budget_status WHERE class = 'ai'");

$node->connect_fails(
	'user=a dbname=nosuchdb', 'ai login to a missing database fails',
	expected_stderr => qr/FATAL:  database "nosuchdb" does not exist/)
  for 1 .. 3;
$node->connect_fails(
	'user=apw password=wrong dbname=postgres', 'ai login with a bad password fails',
	expected_stderr => qr/FATAL:  password authentication failed for user "apw"/)
  for 1 .. 3;
$node->connect_fails(
	'user=a dbname=noconnect', 'ai login to a database without CONNECT fails',
	expected_stderr => qr/FATAL:  permission denied for database "noconnect"/)
  for 1 .. 3;
$node->connect_fails(
	"user=a dbname=postgres options='-c pg_budget.class=web'",
	'ai login choosing its own class fails',
	expected_stderr => qr/FATAL:  permission denied to set parameter "pg_budget.class"/)
  for 1 .. 3;
# b fails inside the login transaction, after its role settings apply
$node->connect_fails(
	'user=b dbname=postgres', 'ai login whose session_preload_libraries fails',
	expected_stderr => qr/FATAL:  could not access file "pgb_no_such_lib"/)
  for 1 .. 3;
is(ai_state(), '0|0', 'failed logins left ai with connected = 0');
is( $node->safe_psql(
		'postgres',
		"SELECT admitted - $adm0 FROM pg_budget_status WHERE class = 'ai'"),
	'0',
	'no failed login was counted as admitted');

# the password role itself is admitted as ai and counted
$node->connect_ok('user=apw password=right dbname=postgres',
	'apw logs in with the right password', sql => 'SHOW pg_budget.class',
	expected_stdout => qr/^ai$/);
wait_ai(0, 'apw session gone');

for my $i (0 .. 2)
{
	($s[$i], $pid[$i]) = ai_session();
}
wait_ai(3, 'after the failed logins, exactly three sessions fit');
refused_by_cap('after the failed logins, a fourth');
$_->quit for @s;
wait_ai(0, 'end');

$node->stop;
done_testing();
