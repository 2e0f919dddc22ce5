# Runaways and idle blockers, as a user sees them: a statement past its
# class's switch_time of CPU is cancelled (57014, a message naming the
# class and the limit; the session stays usable), one that sleeps as long
# is not; a session idle in a transaction is terminated once it has
# blocked another for idle_blocker_timeout, and not while it blocks
# nobody; superusers are never ended for either; bad values are refused;
# without cgroups, switch_to=CLASS switches the class a statement counts
# as all the same (t/091_runaway_switch.pl: with a cgroup).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbSession;
use PgbNode;
use Time::HiRes qw(time usleep);

my $classes =
  'web(priority=100), ai(priority=10, switch_time=1s, switch_to=cancel, idle_blocker_timeout=2s), '
  . 'bulk(priority=0)';
my $node = pgb_node(
	'runaway',
	session => 1,
	conf => "pg_budget.shedding = on\n",
	classes => $classes,
	roles => [ w => 'web', a => 'ai', b => 'bulk', suai => [ 'ai', 'SUPERUSER' ] ],
	sql => q{
CREATE TABLE queue(id int PRIMARY KEY, taken_by text);
INSERT INTO queue SELECT g, NULL FROM generate_series(1, 10) g;
GRANT ALL ON queue TO PUBLIC;
} . pgb_spin_sql());
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $ctl = control_session($su);

sub verbose_session
{
	my ($role) = @_;
	my $s = session($role);
	sess_send($s, '\set VERBOSITY verbose');
	return $s;
}

# Poll $cond every 50 ms for up to 30 s.
sub poll_until
{
	my ($cond) = @_;
	my $deadline = time + 30;
	while (time < $deadline)
	{
		return 1 if $cond->();
		usleep(50_000);
	}
	return 0;
}

sub events_since
{
	my ($since, $signal) = @_;
	return ctl(qq{SELECT coalesce(string_agg(class || '|' || pid || '|' || action || '|' || reason, E'\\n' ORDER BY at), '')
	  FROM pg_budget_events WHERE at > '$since' AND signal = '$signal'});
}

#
# switch_time with switch_to=cancel
#
my $since = ctl('SELECT clock_timestamp()');
my $ai = verbose_session('a');
my ($out, $err) = sess_query_err($ai, 'SELECT spin(30) > 0');
like($err, qr/ERROR:  57014: pg_budget: statement of class "ai" cancelled: it used more than switch_time \(1\.00 s\) of CPU/,
	'a statement past switch_time of CPU: 57014, naming the class and its limit');
like($err, qr/DETAIL:  the statement used (\d+\.\d+) s of CPU, past switch_time=1\.00 s of class "ai" \(switch_to=cancel\)/,
	'the DETAIL says how much CPU it used');
like($err, qr/HINT:  A statement of the class may use switch_time of CPU/, 'and a HINT');
is(sess_query($ai, 'SELECT 1'), '1', 'the session is still usable');
my $ev = events_since($since, 'runaway');
like($ev, qr/^ai\|$ai->{pid}\|cancel\|the statement used (\d+\.\d+) s of CPU/,
	'pg_budget_events: one cancel of signal runaway');
if ($ev =~ /used (\d+\.\d+) s of CPU/)
{
	my $late = $1 - 1.0;
	diag(sprintf('the cancel landed %.0f ms of CPU past switch_time', 1000 * $late));
	ok($late >= 0 && $late < 1.0, 'it landed within a second of CPU past the limit');
}
else
{
	fail('the event names the CPU time');
}
like(slurp_file($node->logfile), qr/LOG:  pg_budget: cancelled pid $ai->{pid} of class "ai" \(role "a"\), signal runaway: the statement used/,
	'and a LOG line');

$since = ctl('SELECT clock_timestamp()');
($out, $err) = sess_query_err($ai, 'SELECT pg_sleep(2.5)');
is($err, '', 'a statement that sleeps past switch_time of wall time is not cancelled');
is(events_since($since, 'runaway'), '', 'no runaway event for it');

# two statements past switch_time sent at once (no idle spell the worker
# could see between them): a cancel of the first does not cover the second
$since = ctl('SELECT clock_timestamp()');
sess_send($ai, "SELECT spin(30) > 0 AS first;\nSELECT spin(30) > 0 AS second;\n\\echo two-done");
ok(sess_wait($ai, qr/two-done/, 90), 'two runaways sent at once both end');
# (the worker records an event just after its signal: wait for it)
my $two = sub {
	my @c = events_since($since, 'runaway') =~ /^ai\|$ai->{pid}\|cancel\|/mg;
	return scalar(@c);
};
poll_until(sub { $two->() >= 2 });
is($two->(), 2, 'both are cancelled, the second as the first');

# a superuser of the class is never cancelled for it
my $suai = verbose_session('suai');
($out, $err) = sess_query_err($suai, 'SELECT spin(2) > 0');
is($out, 't', 'a superuser of the class runs past switch_time');
is($err, '', '... with no error');
# web has no switch_time
my $web = verbose_session('w');
($out, $err) = sess_query_err($web, 'SELECT spin(1.5) > 0');
is($out, 't', 'a class without switch_time is not limited');

# pg_budget.shedding off: nothing
ctl("ALTER SYSTEM SET pg_budget.shedding = off");
ctl('SELECT pg_reload_conf()');
usleep(300_000);
($out, $err) = sess_query_err($ai, 'SELECT spin(1.5) > 0');
is($out, 't', 'with pg_budget.shedding off a statement past switch_time runs on');
ctl("ALTER SYSTEM RESET pg_budget.shedding");
ctl('SELECT pg_reload_conf()');
usleep(300_000);

#
# idle_blocker_timeout
#
$since = ctl('SELECT clock_timestamp()');
my $blocker = verbose_session('a');
sess_query($blocker, 'BEGIN; UPDATE queue SET taken_by = \'ai\' WHERE id = 1');
my $idle = verbose_session('a');
sess_query($idle, 'BEGIN; UPDATE queue SET taken_by = \'ai\' WHERE id = 2');
# idle for longer than the timeout while nobody waits: left alone
usleep(3_000_000);
is(sess_query($blocker, 'SELECT 1'), '1', 'an idle transaction that blocks nobody outlives idle_blocker_timeout');
my $t0 = time;
sess_send($web, "UPDATE queue SET taken_by = 'web' WHERE id = 1;\n\\echo web-done");
ok(sess_wait($web, qr/web-done/, 30), 'the waiting web session gets the row');
my $waited = time - $t0;
diag(sprintf('web waited %.1f s for the row (idle_blocker_timeout 2 s)', $waited));
ok($waited >= 1.5 && $waited < 10, 'after about idle_blocker_timeout');
# its client reads the FATAL when it next talks to the server
sess_send($blocker, 'SELECT 1;');
ok(sess_wait_exit($blocker, 10), 'the idle blocker\'s session ended');
like($blocker->{stderr}, qr/FATAL:  57P01: pg_budget: terminating connection of class "ai": idle in transaction while it blocked pid $web->{pid} for \d+\.\d s/,
	'its client saw FATAL 57P01 naming whom it blocked and for how long');
like($blocker->{stderr}, qr/DETAIL:  idle in transaction for \d+\.\d s while pid $web->{pid} \(class "web"\) waited \d+\.\d s on its lock, past idle_blocker_timeout=2\.0 s of class "ai"/,
	'with the numbers in the DETAIL');
like(events_since($since, 'idle blocker'), qr/^ai\|$blocker->{pid}\|terminate\|idle in transaction for/,
	'pg_budget_events: one terminate of signal idle blocker');
is(sess_query($idle, 'SELECT 1'), '1', 'the idle transaction that blocked nobody is still there');
sess_query($idle, 'ROLLBACK');

# a blocker that goes back to work before the timeout is left alone
my $worker = verbose_session('a');
sess_query($worker, 'BEGIN; UPDATE queue SET taken_by = \'ai\' WHERE id = 3');
sess_send($web, "UPDATE queue SET taken_by = 'web' WHERE id = 3;\n\\echo web-done-3");
usleep(1_000_000);
sess_query($worker, 'COMMIT');
ok(sess_wait($web, qr/web-done-3/, 10), 'a blocker that commits in time lets the waiter go');
is(sess_query($worker, 'SELECT 1'), '1', 'and is not ended');

# a superuser idle blocker is never ended
my $subl = verbose_session('suai');
sess_query($subl, 'BEGIN; UPDATE queue SET taken_by = \'su\' WHERE id = 4');
sess_send($web, "UPDATE queue SET taken_by = 'web' WHERE id = 4;\n\\echo web-done-4");
usleep(3_500_000);
is(sess_query($subl, 'SELECT 1'), '1', 'a superuser idle blocker is not ended');
sess_query($subl, 'COMMIT');
ok(sess_wait($web, qr/web-done-4/, 10), 'its waiter goes on after its commit');

#
# bad values: refused, the table in force unchanged
#
for my $bad ('ai(switch_time=1s)', 'ai(switch_time=0, switch_to=cancel)', 'ai(switch_time=1s, switch_to=web)',
	'ai(idle_blocker_timeout=0)', 'ai(idle_blocker_timeout=soon)')
{
	my ($ok, $o, $e) = ('', '', '');
	my $rc = $node->psql('postgres', "ALTER SYSTEM SET pg_budget.classes = '$bad'", stdout => \$o, stderr => \$e);
	like($e, qr/ERROR:  invalid value for parameter "pg_budget\.classes".*\n.*DETAIL:  class "ai": /,
		"ALTER SYSTEM refuses $bad with the class named");
}
is(ctl('SHOW pg_budget.classes'), $classes, 'the table in force is unchanged');

$_->{run}->kill_kill for grep { alive($_) } ($ai, $suai, $web, $idle, $worker, $subl);
my $log = slurp_file($node->logfile);
unlike($log, qr/was terminated by signal|PANIC|TRAP:/, 'no backend crashed');
sess_close($ctl);
$node->stop;

#
# switch_to=CLASS without cgroups (pg_budget.cgroup unset): the session
# counts as the lower class all the same, and the event says its cgroup
# was not changed (t/091_runaway_switch.pl: with a cgroup)
#
my $nocg = pgb_node(
	'runaway_nocg',
	session => 1,
	conf => "pg_budget.shedding = on\n",
	classes => 'ai(priority=10, switch_time=300ms, switch_to=bulk), bulk(priority=1)',
	roles => [ a => 'ai' ],
	sql => q{
CREATE FUNCTION spin_switched() RETURNS text LANGUAGE plpgsql AS
$$ DECLARE n bigint := 0; t timestamptz := clock_timestamp(); s text;
   BEGIN
     LOOP
       n := n + 1;
       IF n % 20000 = 0 THEN
         SELECT switched_to INTO s FROM pg_budget_backends WHERE pid = pg_backend_pid();
         EXIT WHEN s IS NOT NULL OR clock_timestamp() > t + interval '25 s';
       END IF;
     END LOOP;
     RETURN coalesce(s, 'not switched');
   END $$;
});
$ctl = control_session($nocg->safe_psql('postgres', 'SELECT current_user'));
my $sw = session('a');
$since = ctl('SELECT clock_timestamp()');
is(sess_query($sw, 'SELECT spin_switched()', 90), 'bulk',
	'without pg_budget.cgroup a statement past switch_time is switched all the same');
like(events_since($since, 'runaway'),
	qr/^ai\|$sw->{pid}\|switch\|used \d+\.\d+ s of CPU, past switch_time=0\.30 s of class "ai": runs as class "bulk" until the statement ends; cgroup unchanged: no CPU weight in force$/m,
	'its event says the cgroup was not changed');
ok(poll_until(sub { ctl("SELECT switched_to IS NULL FROM pg_budget_backends WHERE pid = $sw->{pid}") eq 't' }),
	'after the statement it is not switched');
like(slurp_file($nocg->logfile), qr/LOG:  pg_budget: pid $sw->{pid} of class "ai" no longer switched to class "bulk": back in class "ai"/,
	'a LOG line for its way back');
sess_close($sw);
sess_close($ctl);
$nocg->stop;
done_testing();
