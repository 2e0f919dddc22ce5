# Admission at login: cap, reservation, pause, rate, the views that count
# them, superuser exemption, enabled = off, attempts to pick another class
# and the default class.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbSession qw(psql_c);
use PgbNode;
use Time::HiRes qw(usleep);

my $node = pgb_node(
	'admission',
	conf => q{
max_connections = 40
superuser_reserved_connections = 3
log_error_verbosity = verbose
pg_budget.retry_after = 1000
},
	classes =>
	  'web(max=20, reserve=5, priority=100), admin(max=3, reserve=2, priority=1000), ai(max=4, priority=10, shed=terminate), bulk(max=30, priority=0), slow(max=10, priority=5, rate=0.2/s, burst=2)',
	roles => [
		w => 'web', a => 'ai', b => 'bulk', s => 'slow', p => undef, m => 'admin',
		suai => [ 'ai', 'SUPERUSER' ]
	]);

# The bootstrap superuser (no class, so "default") runs the checks from one
# session held all along: it is counted once, and only once, in "default".
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $ctl = $node->background_psql('postgres');

sub connstr_for
{
	my ($role, $extra) = @_;
	return $node->connstr('postgres') . " user=$role" . ($extra // '');
}

# One login as $role: (exit code, stdout, stderr).
sub login
{
	my ($role, $sql, $extra) = @_;
	return psql_c($node,
		'postgres', $sql // 'SHOW pg_budget.class',
		connstr => connstr_for($role, $extra),
		extra_params => ['-w'],
		on_error_stop => 0);
}

# A session of $role held open until ->quit.
sub hold
{
	my ($role) = @_;
	return $node->background_psql('postgres',
		extra_params => [ '-U', $role ]);
}

sub quit_all
{
	$_->quit for @_;
}

# Poll through the control session (a new session would count itself)
# until $sql returns $expected: exited backends give their slot back a
# little after their client is gone.
sub wait_ctl
{
	poll_is($ctl, @_);
}

sub wait_connected
{
	my ($class, $n) = @_;
	wait_ctl(
		"SELECT coalesce(sum(connected), 0) FROM pg_budget_status WHERE class = '$class'",
		$n, "class $class has $n sessions counted");
}

# The pg_budget_status row of $class as "col=val ..." for the given columns.
sub status
{
	my ($class, @cols) = @_;
	my $sel = join(" || ' ' || ", map { "'$_=' || coalesce(${_}::text, 'null')" } @cols);
	return $ctl->query_safe(
		"SELECT $sel FROM pg_budget_status WHERE class = '$class'");
}

# The retry-after hint of a refusal, or undef.
sub hint_ms
{
	my ($stderr) = @_;
	return $stderr =~ /^HINT:  Retry after (\d+) ms\.$/m ? $1 : undef;
}

sub within
{
	my ($n, $lo, $hi, $name) = @_;
	ok(defined $n && $n >= $lo && $n <= $hi,
		"$name: " . ($n // 'undef') . " in [$lo, $hi]");
}

#
# (a) cap
#
$ctl->query_safe('SELECT pg_budget_reset()');
my @ai = map { hold('a') } 1 .. 4;
is( $ctl->query_safe(
		"SELECT string_agg(class || '/' || role, ',') FROM pg_budget_backends WHERE role <> current_user"
	),
	'ai/a,ai/a,ai/a,ai/a',
	'pg_budget_backends lists the four ai sessions of role a');
is( $ctl->query_safe(
		"SELECT class || '/' || role || '/' || superuser FROM pg_budget_backends WHERE pid = pg_backend_pid()"
	),
	"default/$su/true",
	'pg_budget_backends lists the superuser session under default');

my $log_offset = -s $node->logfile;
my ($ret, $out, $err) = login('a');
isnt($ret, 0, 'cap: fifth ai login is refused');
like(
	$err,
	qr/FATAL:  pg_budget: class "ai" is at its cap of 4 connections\nDETAIL:  Class "ai" has 4 of max=4 connections\.\nHINT:  Retry after \d+ ms\./,
	'cap: refusal message, detail and hint');
within(hint_ms($err), 500, 1500, 'cap: retry-after hint');
like(
	slurp_file($node->logfile, $log_offset),
	qr/FATAL:  53300: pg_budget: class "ai" is at its cap of 4 connections/,
	'cap: SQLSTATE 53300 in the verbose log');

($ret, $out, $err) = login('w');
is($ret, 0, 'cap: web still logs in while ai is at its cap');
is($out, 'web', 'cap: the web login is admitted under web');

$ai[0]->quit;
shift @ai;
wait_connected('ai', 3);
($ret, $out, $err) = login('a');
is($ret, 0, 'cap: ai logs in again once one ai session quit');
is($out, 'ai', 'cap: SHOW pg_budget.class says ai');
push @ai, hold('a');
wait_connected('ai', 4);
wait_connected('web', 0);
is( status(
		'ai', qw(connected admitted rejected rejected_cap rejected_reserve
		  rejected_paused rejected_rate)),
	'connected=4 admitted=6 rejected=1 rejected_cap=1 rejected_reserve=0 rejected_paused=0 rejected_rate=0',
	'cap: pg_budget_status counts for ai');
is(status('web', qw(connected admitted rejected)),
	'connected=0 admitted=1 rejected=0',
	'cap: pg_budget_status counts for web');

#
# (c) pause and resume; ai still holds 4 sessions, so quit two of them
# to show that pause refuses a class that is under its cap.
#
quit_all(splice(@ai, 0, 2));
wait_connected('ai', 2);
$ctl->query_safe('SELECT pg_budget_reset()');
$ctl->query_safe("SELECT pg_budget_pause('ai')");
is(status('ai', qw(paused pause_mode)),
	'paused=true pause_mode=reject', 'pause: ai shows as paused');

$log_offset = -s $node->logfile;
($ret, $out, $err) = login('a');
isnt($ret, 0, 'pause: ai login refused while paused');
like(
	$err,
	qr/FATAL:  pg_budget: class "ai" is paused\nDETAIL:  New logins of class "ai" are refused until pg_budget_resume\('ai'\) is called\.\nHINT:  Retry after \d+ ms\./,
	'pause: refusal message, detail and hint');
within(hint_ms($err), 500, 1500, 'pause: retry-after hint');
like(
	slurp_file($node->logfile, $log_offset),
	qr/FATAL:  53300: pg_budget: class "ai" is paused/,
	'pause: SQLSTATE 53300 in the verbose log');
is($ai[0]->query_safe('SELECT 1 + 1'), '2',
	'pause: an existing ai session keeps working');
($ret, $out) = login('w');
is($ret, 0, 'pause: web logs in while ai is paused');

$ctl->query_safe("SELECT pg_budget_resume('ai')");
is(status('ai', qw(paused pause_mode paused_since)),
	'paused=false pause_mode=null paused_since=null',
	'resume: ai no longer paused');
($ret, $out) = login('a');
is($ret, 0, 'resume: ai logs in again');
wait_connected('ai', 2);
is( status(
		'ai', qw(connected admitted rejected rejected_cap rejected_paused)),
	'connected=2 admitted=1 rejected=1 rejected_cap=0 rejected_paused=1',
	'pause: pg_budget_status counts for ai');

#
# (d) rate: slow has rate=0.2/s, burst=2; each login exits at once (a
# token every 5 s: three logins in a row on a busy machine, each a new
# psql, take well under that)
#
$ctl->query_safe('SELECT pg_budget_reset()');
my @rate;
for my $i (1 .. 3)
{
	my ($r, $o, $e) = login('s', 'SELECT 1');
	push @rate, [ $r, $e ];
}
is($rate[0][0], 0, 'rate: first quick login admitted');
is($rate[1][0], 0, 'rate: second quick login admitted (burst=2)');
isnt($rate[2][0], 0, 'rate: third quick login refused');
like(
	$rate[2][1],
	qr/FATAL:  pg_budget: class "slow" is over its login rate of 0\.2\/s\nDETAIL:  Class "slow" allows 0\.2 logins per second with a burst of 2\.\nHINT:  Retry after \d+ ms\./,
	'rate: refusal message, detail and hint');
my $rate_hint = hint_ms($rate[2][1]);
# time to the next token (at most 5 s at 0.2/s) plus up to 500 ms
within($rate_hint, 1, 5500, 'rate: retry-after hint');
usleep(1000 * ($rate_hint // 1000));
($ret, $out, $err) = login('s', 'SELECT 1');
is($ret, 0, 'rate: a login after the retry-after delay is admitted')
  or diag $err;
wait_connected('slow', 0);
is( status(
		'slow', qw(connected admitted rejected rejected_rate rate burst)),
	'connected=0 admitted=3 rejected=1 rejected_rate=1 rate=0.2 burst=2',
	'rate: pg_budget_status counts for slow');

#
# (f) superusers: suai names class ai, which is at its cap and paused
#
push @ai, hold('a'), hold('a');
wait_connected('ai', 4);
$ctl->query_safe('SELECT pg_budget_reset()');
$ctl->query_safe("SELECT pg_budget_pause('ai')");
($ret, $out, $err) = login('suai',
	"SELECT current_setting('pg_budget.class') || ' ' || connected FROM pg_budget_status WHERE class = 'ai'"
);
is($ret, 0, 'superuser of class ai logs in though ai is paused and at cap');
is($out, 'ai 5', 'the superuser is counted in ai, one above its max');
wait_connected('ai', 4);
is(status('ai', qw(admitted rejected)),
	'admitted=1 rejected=0',
	'the exempt superuser login counts as admitted, not rejected');

$node->append_conf('postgresql.conf', 'pg_budget.exempt_superusers = off');
$node->reload;
$node->poll_query_until('postgres', 'SHOW pg_budget.exempt_superusers',
	'off')
  or die 'exempt_superusers = off not in force';
($ret, $out, $err) = login('suai');
isnt($ret, 0, 'exempt_superusers = off: superuser of paused ai at its cap refused');
# a pause never keeps a superuser out (the one who must resume it); the
# cap does when superusers are not exempt (t/012_pause.pl: under the cap)
like($err, qr/FATAL:  pg_budget: class "ai" is at its cap of 4 connections/,
	'exempt_superusers = off: refused for the cap, not for the pause');
$ctl->query_safe("SELECT pg_budget_resume('ai')");
($ret, $out, $err) = login('suai');
isnt($ret, 0, 'exempt_superusers = off: superuser of ai at cap refused');
like(
	$err,
	qr/FATAL:  pg_budget: class "ai" is at its cap of 4 connections\nDETAIL:  Class "ai" has 4 of max=4 connections\./,
	'exempt_superusers = off: cap message');
$node->append_conf('postgresql.conf', 'pg_budget.exempt_superusers = on');
$node->reload;
$node->poll_query_until('postgres', 'SHOW pg_budget.exempt_superusers',
	'on')
  or die 'exempt_superusers = on not in force';
($ret, $out) = login('suai');
is($ret, 0, 'exempt_superusers back on: superuser of ai at cap logs in');
wait_connected('ai', 4);

#
# (g) pg_budget.enabled = off counts but never refuses
#
$ctl->query_safe('SELECT pg_budget_reset()');
$node->append_conf('postgresql.conf', 'pg_budget.enabled = off');
$node->reload;
$node->poll_query_until('postgres', 'SHOW pg_budget.enabled', 'off')
  or die 'enabled = off not in force';
my @over = (hold('a'), hold('a'));
is(status('ai', qw(connected admitted rejected)),
	'connected=6 admitted=2 rejected=0',
	'enabled = off: two ai logins over the cap admitted and counted');
$node->append_conf('postgresql.conf', 'pg_budget.enabled = on');
$node->reload;
$node->poll_query_until('postgres', 'SHOW pg_budget.enabled', 'on')
  or die 'enabled = on not in force';
($ret, $out, $err) = login('a');
isnt($ret, 0, 'enabled = on again: ai login over the cap refused');
like($err, qr/DETAIL:  Class "ai" has 6 of max=4 connections\./,
	'enabled = on again: cap message counts the six sessions');
quit_all(@over);
wait_connected('ai', 4);

#
# (h) a plain role of class ai tries to move itself to admin
#
quit_all(@ai);
@ai = ();
wait_connected('ai', 0);
($ret, $out, $err) = login(
	'a', q{
SET pg_budget.class = 'admin';
ALTER ROLE a SET pg_budget.class = 'admin';
SHOW pg_budget.class;
});
my @denied = $err =~ /ERROR:  permission denied to set parameter "pg_budget\.class"/g;
is(scalar @denied, 2,
	'plain role: SET and ALTER ROLE self SET pg_budget.class are both denied')
  or diag $err;
is($out, 'ai', 'plain role: the session is still of class ai');
($ret, $out, $err) =
  login('a', undef, " options='-c pg_budget.class=admin'");
isnt($ret, 0, 'plain role: pg_budget.class in startup options refused');
like(
	$err,
	qr/FATAL:  permission denied to set parameter "pg_budget.class"/,
	'plain role: startup option gives FATAL permission denied');
is( $node->safe_psql(
		'postgres',
		"SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting WHERE setrole = 'a'::regrole"
	),
	'pg_budget.class=ai',
	'plain role: its stored class is unchanged');
my $a_sess = hold('a');
is($a_sess->query_safe('SHOW pg_budget.class'),
	'ai', 'plain role: after every attempt a new session is of class ai');
is( $ctl->query_safe(
		"SELECT class FROM pg_budget_backends WHERE role = 'a'"),
	'ai',
	'plain role: pg_budget_backends counts it under ai');
$a_sess->quit;

#
# (i) not even a superuser moves a session after login
#
($ret, $out, $err) =
  login($su, "SET pg_budget.class = 'admin'; SHOW pg_budget.class");
like(
	$err,
	qr/ERROR:  pg_budget\.class can not be changed after login/,
	'superuser SET pg_budget.class after login is refused');
# not even to the empty string: SHOW must keep telling the admitted class
($ret, $out, $err) =
  login('suai', "SET pg_budget.class = ''; SHOW pg_budget.class");
like(
	$err,
	qr/ERROR:  pg_budget\.class can not be changed after login/,
	'superuser SET pg_budget.class = \'\' after login is refused');
is($out, 'ai', 'SHOW pg_budget.class still says ai after SET to \'\'');

#
# (b) reservation: fill with bulk until only the unused reserves of web (5)
# and admin (2) are left.  usable = 40 - 3 = 37; the control session counts
# 1, so bulk gets 37 - 1 - 7 = 29 sessions.
#
wait_connected('ai', 0);
wait_ctl('SELECT sum(connected) FROM pg_budget_status',
	'1', 'reservation: only the control session is counted');
$ctl->query_safe('SELECT pg_budget_reset()');
my @bulk = map { hold('b') } 1 .. 29;
is(status('bulk', 'connected'), 'connected=29', 'reservation: 29 bulk sessions');

$log_offset = -s $node->logfile;
($ret, $out, $err) = login('b');
isnt($ret, 0, 'reservation: 30th bulk login refused');
like(
	$err,
	qr/FATAL:  pg_budget: class "bulk" would take a slot reserved for web \(5\), admin \(2\)\nDETAIL:  7 of 37 usable connections are free and 7 of them are held in reserve; class "bulk" has 29 connections and reserve=0\.\nHINT:  Retry after \d+ ms\./,
	'reservation: message names web and admin, detail has the numbers');
within(hint_ms($err), 500, 1500, 'reservation: retry-after hint');
like(
	slurp_file($node->logfile, $log_offset),
	qr/FATAL:  53300: pg_budget: class "bulk" would take a slot reserved for web \(5\), admin \(2\)/,
	'reservation: SQLSTATE 53300 in the verbose log');

# web and admin still get in up to their reserves
my @web = map { hold('w') } 1 .. 5;
my @adm = (hold('m'));
($ret, $out, $err) = login('b');
like(
	$err,
	qr/FATAL:  pg_budget: class "bulk" would take a slot reserved for admin \(2\)\nDETAIL:  1 of 37 usable connections are free and 1 of them are held in reserve; class "bulk" has 29 connections and reserve=0\./,
	'reservation: with web in its reserve, only admin is named');
($ret, $out, $err) = login('w');
like(
	$err,
	qr/FATAL:  pg_budget: class "web" would take a slot reserved for admin \(2\)\nDETAIL:  1 of 37 usable connections are free and 1 of them are held in reserve; class "web" has 5 connections and reserve=5\./,
	'reservation: web past its own reserve can not take admin\'s');
push @adm, hold('m');
is( $ctl->query_safe(
		"SELECT string_agg(class || '=' || connected, ',' ORDER BY class) FROM pg_budget_status WHERE connected > 0"
	),
	'admin=2,bulk=29,default=1,web=5',
	'reservation: web and admin got their reserves');
is( status(
		'bulk', qw(connected admitted rejected rejected_reserve rejected_cap)),
	'connected=29 admitted=29 rejected=2 rejected_reserve=2 rejected_cap=0',
	'reservation: pg_budget_status counts for bulk');

# (f) with every usable slot counted (1 + 29 + 5 + 2 = 37), a superuser
# without a class still logs in, and is counted.  A web login is refused
# (by core, which keeps its last slots for superusers).
($ret, $out, $err) = login('w');
isnt($ret, 0, 'a web login is refused when every usable slot is taken');
like(
	$err,
	# the wording of core's message changed in 16
	qr/FATAL:  remaining connection slots are reserved for (non-replication superuser connections|roles with the SUPERUSER attribute)/,
	'the web login is refused by core, the slots being all taken');
($ret, $out, $err) = login($su,
	"SELECT current_setting('pg_budget.class') || ' ' || sum(connected) FROM pg_budget_status"
);
is($ret, 0, 'superuser logs in when every usable slot is counted');
is($out, 'default 38', 'the superuser is counted above the 37 usable slots');

quit_all(@bulk, @web, @adm);
wait_connected('bulk', 0);

#
# (j) the default class
#
my $p_sess = hold('p');
wait_connected('default', 2);
is($p_sess->query_safe('SHOW pg_budget.class'),
	'default', 'role without a class: SHOW pg_budget.class says default');
is( $ctl->query_safe(
		"SELECT class FROM pg_budget_backends WHERE role = 'p'"),
	'default',
	'role without a class is counted under default');
is(status('default', qw(connected is_default configured)),
	'connected=2 is_default=true configured=true',
	'default class row counts the control session and p');
$node->append_conf('postgresql.conf', "pg_budget.default_class = 'bulk'");
$node->reload;
$node->poll_query_until('postgres', 'SHOW pg_budget.default_class', 'bulk')
  or die 'default_class = bulk not in force';
my $p_sess2 = hold('p');
wait_connected('bulk', 1);
is($p_sess2->query_safe('SHOW pg_budget.class'),
	'bulk', 'default_class = bulk: a new session of p is of class bulk');
is( $ctl->query_safe(
		"SELECT string_agg(class, ',' ORDER BY class) FROM pg_budget_backends WHERE role = 'p'"
	),
	'bulk,default',
	'default_class = bulk: the old session stays in default, the new one is in bulk'
);
is(status('bulk', qw(connected is_default)),
	'connected=1 is_default=true', 'bulk is now the default class');
quit_all($p_sess, $p_sess2);

$ctl->quit;
$node->stop;
done_testing();
