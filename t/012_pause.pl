# pg_budget_pause in each mode with sessions of the class open: reject
# leaves them alone and refuses new logins; cancel also cancels their
# running queries; terminate also ends them.  Exempt superusers and the
# caller's own session are never signalled; only superusers and the roles
# granted EXECUTE may pause and resume, and a caller who is not a superuser
# signals only the sessions pg_terminate_backend would let it signal.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbSession;
use PgbNode;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $node = pgb_node(
	'pause',
	session => 1,
	conf => "max_connections = 40\nlog_error_verbosity = verbose\n",
	classes => 'web(max=20, priority=100), ai(max=10, priority=10, shed=terminate)',
	roles => [ w => 'web', a => 'ai', suai => [ 'ai', 'SUPERUSER' ], plain => undef, opr => 'ai' ],
	sql => 'GRANT EXECUTE ON FUNCTION pg_budget_pause(text, text), pg_budget_resume(text) TO opr;');
my $su = $node->safe_psql('postgres', 'SELECT current_user');

#
# Sessions (t/PgbSession.pm): a psql reading SQL from a pipe, whose
# output is kept so that what its client saw can be checked.
#
my $ctl = control_session($su);

sub ai_login_refused
{
	my ($name) = @_;
	my $offset = -s $node->logfile;
	my ($ret, $out, $err) = login('a');
	isnt($ret, 0, "$name: a new ai login is refused");
	like(
		$err,
		qr/FATAL:  pg_budget: class "ai" is paused\nDETAIL:  New logins of class "ai" are refused until pg_budget_resume\('ai'\) is called\.\nHINT:  Retry after \d+ ms\./,
		"$name: ... with the paused message");
	like(slurp_file($node->logfile, $offset),
		qr/FATAL:  53300: pg_budget: class "ai" is paused/,
		"$name: ... SQLSTATE 53300 in the log");
}

sub ai_login_works
{
	my ($name) = @_;
	my ($ret, $out, $err) = login('a');
	is($ret, 0, "$name: ai logs in") or diag $err;
	is($out, 'ai', "$name: ... admitted under ai");
}

sub gone
{
	my ($pid) = @_;
	return ctl("SELECT count(*) FROM pg_stat_activity WHERE pid = $pid") eq
	  '0';
}

ctl('SELECT pg_budget_reset()');
my $ev_mark = ctl('SELECT count(*) FROM pg_budget_events');
my $web = session('w');

#
# reject: sessions are left alone, new logins refused.
#
my $a1 = session('a');
my $a2 = holding('a');
is(ctl("SELECT pg_budget_pause('ai')"), '0', 'reject: no session signalled');
is(status('ai', qw(paused pause_mode connected)),
	'paused=true pause_mode=reject connected=2',
	'reject: pg_budget_status shows ai paused in mode reject');
is(sess_query($a1, "SELECT 'a1 alive'"), 'a1 alive',
	'reject: an idle ai session keeps working');
is(sess_query($a2, "SELECT 'a2 alive'; COMMIT"), 'a2 alive',
	'reject: an ai session in a transaction keeps working');
ai_login_refused('reject');
my ($ret, $out, $err) = login('w');
is($ret, 0, 'reject: web logs in');
ctl("SELECT pg_budget_resume('ai')");
is(status('ai', qw(paused pause_mode)),
	'paused=false pause_mode=null', 'resume: ai no longer paused');
ai_login_works('resume after reject');

#
# cancel: the running query of an ai session is cancelled right away; an
# idle one is left alone; new logins are refused.
#
my $offset = -s $node->logfile;
sess_send($a1, "SELECT pg_sleep(60);\n\\echo a1-after-sleep");
ok(wait_ctl("SELECT wait_event FROM pg_stat_activity WHERE pid = $a1->{pid}",
		'PgSleep'),
	'cancel: an ai session runs pg_sleep(60)');
my $t0 = time;
my $signalled = ctl("SELECT pg_budget_pause('ai', 'cancel')");
ok(sess_wait($a1, qr/canceling statement/, 5),
	'cancel: the sleeping client got an error');
my $took = time - $t0;
cmp_ok($took, '<', 1, "cancel: the query was cancelled within a second (${took}s)");
is($signalled, '1', 'cancel: pg_budget_pause returned 1 (one session signalled)');
like(
	$a1->{stderr},
	qr/ERROR:  canceling statement due to user request\nDETAIL:  pg_budget cancelled the query of this session: class "ai" paused \(mode cancel\) by role "$su"/,
	'cancel: the client sees the cancel and why');
# psql goes on to the \echo after the error: read it before the next query
sess_wait($a1, qr/a1-after-sleep/, 10);
is(sess_query($a1, "SELECT 'a1 alive'"), 'a1 alive',
	'cancel: the cancelled session is still connected');
is(sess_query($a2, "SELECT 'a2 alive'"), 'a2 alive',
	'cancel: the idle ai session is untouched');
is($a2->{stderr}, '', 'cancel: ... and saw no error');
is(status('ai', qw(paused pause_mode shed_cancel shed_terminate)),
	'paused=true pause_mode=cancel shed_cancel=1 shed_terminate=0',
	'cancel: pg_budget_status shows the pause and counts the cancel');
ai_login_refused('cancel');
ok( $node->log_contains(
		qr/pg_budget: cancelled pid $a1->{pid} of class "ai" \(role "a"\), signal pause: class "ai" paused \(mode cancel\) by role "$su"/,
		$offset),
	'cancel: the server log names the cancelled pid');
ok( $node->log_contains(
		qr/pg_budget: class "ai" paused \(mode cancel\) by role "$su"; 1 sessions signalled/,
		$offset),
	'cancel: the server log has the pause');
ctl("SELECT pg_budget_resume('ai')");
ai_login_works('resume after cancel');

#
# terminate: every ai session ends right away, except the superuser's;
# other classes are untouched.
#
$offset = -s $node->logfile;
my $a3 = session('a');
sess_query($a2, 'BEGIN; SELECT 1');
my $suai = session('suai');
is(sess_query($suai, 'SHOW pg_budget.class'), 'ai', 'suai is of class ai');
sess_send($a3, "SELECT pg_sleep(60);\n\\echo a3-after-sleep");
ok(wait_ctl("SELECT wait_event FROM pg_stat_activity WHERE pid = $a3->{pid}",
		'PgSleep'),
	'terminate: an ai session runs pg_sleep(60)');
is(ctl("SELECT connected FROM pg_budget_status WHERE class = 'ai'"),
	'4', 'terminate: ai has 4 sessions (a1 idle, a2 in a transaction, a3 active, suai)');
my @victims = ($a1, $a2, $a3);
my %out_from = map { $_->{pid} => length $_->{stdout} } @victims;
$t0 = time;
$signalled = ctl("SELECT pg_budget_pause('ai', 'terminate')");
ok(sess_wait($a3, qr/FATAL/, 5), 'terminate: the sleeping client got FATAL');
my $fatal_took = time - $t0;
my $all_gone;
while (time - $t0 < 5)
{
	$all_gone = !grep { !gone($_->{pid}) } @victims;
	last if $all_gone;
	usleep(5_000);
}
$took = time - $t0;
ok($all_gone, 'terminate: the three ai sessions are gone');
cmp_ok($took, '<', 1, "terminate: ... within a second (${took}s)");
cmp_ok($fatal_took, '<', 1,
	"terminate: the sleeping client saw FATAL within a second (${fatal_took}s)");
is($signalled, '3', 'terminate: pg_budget_pause returned 3');
for my $s ($a1, $a2)
{
	sess_send($s, "SELECT 'still here';");
}
for my $s (@victims)
{
	ok(sess_wait_exit($s, 10), "terminate: client of $s->{pid} lost its connection");
	like(
		$s->{stderr},
		qr/FATAL:  terminating connection due to administrator command\nDETAIL:  pg_budget terminated this session: class "ai" paused \(mode terminate\) by role "$su"/,
		"terminate: client of $s->{pid} sees FATAL with the reason");
	unlike(substr($s->{stdout}, $out_from{ $s->{pid} }),
		qr/still here|after-sleep/,
		"terminate: nothing more ran in $s->{pid}");
}
is(sess_query($suai, "SELECT 'suai alive'"),
	'suai alive', 'terminate: the superuser session of class ai is untouched');
is(sess_query($web, "SELECT 'web alive'"),
	'web alive', 'terminate: the web session is untouched');
is($web->{stderr} . $suai->{stderr}, '', 'terminate: ... and they saw no error');
ok( wait_ctl(
		"SELECT connected FROM pg_budget_status WHERE class = 'ai'", '1'),
	'terminate: only the superuser is left in ai');
is(status('ai', qw(paused pause_mode shed_cancel shed_terminate)),
	'paused=true pause_mode=terminate shed_cancel=1 shed_terminate=3',
	'terminate: pg_budget_status shows the pause and counts the terminates');
ai_login_refused('terminate');
for my $s (@victims)
{
	ok( $node->log_contains(
			qr/pg_budget: terminated pid $s->{pid} of class "ai" \(role "a"\), signal pause/,
			$offset),
		"terminate: the server log names pid $s->{pid}");
}
ctl("SELECT pg_budget_resume('ai')");
ai_login_works('resume after terminate');
sess_close($_) for @victims;

#
# Who may pause.
#
($ret, $out, $err) = login('plain', "SELECT pg_budget_pause('ai')");
like($err, qr/ERROR:  permission denied for function pg_budget_pause/,
	'a plain role may not pause');
($ret, $out, $err) = login('plain', "SELECT pg_budget_resume('ai')");
like($err, qr/ERROR:  permission denied for function pg_budget_resume/,
	'a plain role may not resume');
is(status('ai', qw(paused)), 'paused=false', '... and ai is not paused');

# opr was granted EXECUTE, and is of class ai itself.  Without
# pg_signal_backend it may pause ai but not end the sessions of role a
# (pg_terminate_backend would refuse it too): none signalled, a NOTICE.
my $opr = session('opr');
my $a4 = session('a');
my ($o, $e) = sess_query_err($opr, "SELECT pg_budget_pause('ai', 'terminate')");
is($o, '0', 'the role granted EXECUTE may pause; without pg_signal_backend it signals none');
like($e,
	qr/NOTICE:  pg_budget: 1 sessions of class "ai" were not signalled: role "opr" may not signal them/,
	'... and a NOTICE says how many it could not signal');
is(sess_query($a4, "SELECT 'a4 alive'"), 'a4 alive', '... the ai session of role a is alive');
is(status('ai', qw(paused pause_mode)),
	'paused=true pause_mode=terminate', '... ai is paused');
($o, $e) = sess_query_err($opr, "SELECT pg_budget_resume('ai')");
is($e, '', 'the role granted EXECUTE may resume');

# with exempt_superusers off, a caller that is not a superuser still never
# signals a superuser's session, nor does a pause keep superusers out
ctl("ALTER SYSTEM SET pg_budget.exempt_superusers = off");
ctl("SELECT pg_reload_conf()");
ok(wait_ctl("SHOW pg_budget.exempt_superusers", 'off'), 'exempt_superusers is off');
ctl("GRANT pg_signal_backend TO opr");
($o, $e) = sess_query_err($opr, "SELECT pg_budget_pause('ai', 'terminate')");
is($o, '1', "with pg_signal_backend: one session signalled, not the caller's own nor the superuser's");
like($e,
	qr/NOTICE:  pg_budget: 1 sessions of class "ai" were not signalled/,
	'... the superuser session is the one it could not signal');
ok( wait_ctl("SELECT count(*) FROM pg_stat_activity WHERE pid = $a4->{pid}", '0'),
	'... the session of role a is gone');
is(sess_query($opr, "SELECT 'opr alive'"),
	'opr alive', "... the caller's own session of class ai is untouched");
is(sess_query($suai, "SELECT 'suai alive'"),
	'suai alive', '... the superuser session of class ai is untouched');
($ret, $out, $err) = login('suai', 'SELECT 1');
is("$ret $out", '0 1', 'a superuser of a paused class still logs in, exempt or not');
ctl("ALTER SYSTEM RESET pg_budget.exempt_superusers");
ctl("SELECT pg_reload_conf()");
ok(wait_ctl("SHOW pg_budget.exempt_superusers", 'on'), 'exempt_superusers is on again');
($o, $e) = sess_query_err($opr, "SELECT pg_budget_resume('ai')");
is($e, '', '... and resumes');
is(status('ai', qw(paused)), 'paused=false', '... ai is no longer paused');
ai_login_works('resume by opr');

($o, $e) = sess_query_err($opr, "SELECT pg_budget_pause('ai', 'stop')");
like($e, qr/ERROR:  invalid pause mode "stop"/, 'an unknown mode is refused');
($o, $e) = sess_query_err($opr, "SELECT pg_budget_pause('nosuch')");
like($e, qr/ERROR:  pg_budget class "nosuch" does not exist/,
	'an unknown class is refused');
is(status('ai', qw(paused)), 'paused=false', '... and ai is not paused');

is( ctl(
		qq{SELECT string_agg(concat_ws('|', class, action, signal, role), ',' ORDER BY n)
			 FROM pg_budget_events() WITH ORDINALITY e(at, class, pid, role, action, signal, reason, count, n)
			WHERE n > $ev_mark AND action IN ('pause', 'resume')}),
	join(',',
		"ai|pause|reject|$su", "ai|resume|$su",
		"ai|pause|cancel|$su", "ai|resume|$su",
		"ai|pause|terminate|$su", "ai|resume|$su",
		"ai|pause|terminate|opr", "ai|resume|opr",
		"ai|pause|terminate|opr", "ai|resume|opr"),
	"pg_budget_events: 'pause' and 'resume' rows with mode and role");
is( ctl(
		qq{SELECT string_agg(concat_ws('|', action, signal, pid), ',' ORDER BY n)
			 FROM pg_budget_events() WITH ORDINALITY e(at, class, pid, role, action, signal, reason, count, n)
			WHERE n > $ev_mark AND action IN ('cancel', 'terminate') AND pid = $a1->{pid}}),
	"cancel|pause|$a1->{pid},terminate|pause|$a1->{pid}",
	'pg_budget_events: the cancel and the terminate of a1, signal pause');

sess_close($_) for $a4, $opr, $suai, $web, $ctl;
$node->stop;
done_testing();
