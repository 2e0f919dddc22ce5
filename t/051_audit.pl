# The audit trail survives a flood of refusals: a class is paused, then a
# plain role of that class tries to log in thousands of times; the pause
# (and the resume after it) stay in pg_budget_events, and the refusals are
# a few rows, one per class, reason and second, whose counts add up to
# pg_budget_status.rejected.  Queue timeouts are counted the same way.
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

# events_size at its default, 1000: before 0.3.0 the flood below pushed
# everything else out of it
my $node = pgb_node(
	'audit',
	session => 1,
	conf => "max_connections = 40\npg_budget.shedding = off\n",
	classes => 'web(priority=100), ai(priority=10), now(active=1, queue_timeout=0)',
	roles => [ a => 'ai', n => 'now' ]);
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $ctl = control_session($su);

ctl(q{SELECT pg_budget_pause('ai')});

# The flood: 4 loops of 400 logins each, more than the 1000 entries of
# the events (before 0.3.0 each refusal took one), Unix socket only; each loop
# prints a line per attempt.  Bounded by count, not by time: a two-minute
# timeout on a busy machine ended a loop between a login and its echo,
# leaving the server one refusal ahead of the test's count.  Only a flood
# that hangs is stopped, by IPC::Run's timer, and then the test dies.
my $per_loop = 400;
my $loops = 4;
my $t0 = time;
my @h;
my @out = ('') x $loops;
for my $i (0 .. $loops - 1)
{
	my $script = sprintf(
		q{i=0; while [ $i -lt %d ]; do psql -X -w -q -h '%s' -p %d -U a -d postgres -c '' 2>/dev/null; echo; i=$((i + 1)); done},
		$per_loop, $node->host, $node->port);
	push @h,
	  IPC::Run::start([ 'bash', '-c', $script ], '>', \$out[$i],
		IPC::Run::timeout(5 * $PostgreSQL::Test::Utils::timeout_default));
}
$_->finish for @h;
my $took = time - $t0;
my $tried = 0;
$tried += () = $_ =~ /\n/g for @out;
note(sprintf('%d login attempts in %.1f s', $tried, $took));
cmp_ok($tried, '>', 1000, 'more login attempts than pg_budget.events_size (1000)');

# a refused backend counts itself, then records the event, then exits
ok( wait_ctl(
		q{SELECT (SELECT rejected FROM pg_budget_status WHERE class = 'ai') =
		        (SELECT sum(count) FROM pg_budget_events WHERE class = 'ai' AND action = 'reject')},
		't'),
	'the counts of the refusal rows add up to pg_budget_status.rejected');
my $rejected = ctl(q{SELECT rejected_paused FROM pg_budget_status WHERE class = 'ai'});
is($rejected, $tried, "all $tried logins were refused, as paused");
is(ctl(q{SELECT sum(count) FROM pg_budget_events WHERE class = 'ai' AND action = 'reject' AND signal = 'paused'}),
	$rejected, 'the refusal rows count every one of them');
my $rows = ctl(q{SELECT count(*) FROM pg_budget_events WHERE class = 'ai' AND action = 'reject'});
cmp_ok($rows, '<=', int($took) + 2,
	"... in $rows rows, at most one a second (the flood took ${\ sprintf('%.1f', $took)} s)");
is(ctl(q{SELECT count(*) FROM pg_budget_events WHERE action = 'reject'
		  GROUP BY class, signal, date_trunc('second', at) HAVING count(*) > 1}),
	'', '... no two rows of the same class, reason and second');
like(ctl(q{SELECT role || ' ' || reason FROM pg_budget_events WHERE action = 'reject' ORDER BY at DESC LIMIT 1}),
	qr/^a paused: /, '... each with the role and reason of its last refusal');

is(ctl(q{SELECT count(*) FROM pg_budget_events WHERE action = 'pause' AND class = 'ai' AND role = current_user}),
	'1', 'the pause is still in pg_budget_events after the flood');
ctl(q{SELECT pg_budget_resume('ai')});
is(ctl(q{SELECT string_agg(action || ':' || count, ' ' ORDER BY at) FROM pg_budget_events
		  WHERE action IN ('pause', 'resume')}),
	'pause:1 resume:1', 'pause and resume, one row each, in time order');
is(ctl(q{SELECT bool_and(prev IS NULL OR prev <= at) FROM
		  (SELECT at, lag(at) OVER () AS prev FROM pg_budget_events) e}),
	't', 'the view merges actions and refusals oldest first');
my ($ret, $out, $err) = login('a', 'SELECT 1');
is("$ret $out", '0 1', 'after the resume a logs in');

# Queue timeouts: 500 transactions refused at once by one session
{
	my $h = holding('n');
	my $w = gated_session('n');
	sess_query($w, join('', map { "SELECT $_;\n" } 1 .. 500));
	# the errors come on stderr, which may trail the marker on stdout
	my $refused;
	my $deadline = time + 30;
	while (1)
	{
		$refused = () = $w->{stderr} =~ /is at its limit of 1 active transactions/g;
		last if $refused >= 500 || time > $deadline;
		$w->{run}->pump_nb;
		usleep(10_000);
	}
	is($refused, 500, '500 transactions refused by queue_timeout=0');
	sess_query($h, 'COMMIT');
	sess_close($_) for $h, $w;
	is(ctl(q{SELECT queue_timeouts FROM pg_budget_status WHERE class = 'now'}), '500',
		'pg_budget_status counts 500 queue timeouts');
	is(ctl(q{SELECT sum(count) FROM pg_budget_events WHERE action = 'queue timeout' AND class = 'now'}),
		'500', 'the queue timeout rows count them all');
	cmp_ok(ctl(q{SELECT count(*) FROM pg_budget_events WHERE action = 'queue timeout'}),
		'<=', 5, '... in a few rows');
}
is(ctl(q{SELECT string_agg(action, ' ' ORDER BY at) FROM pg_budget_events WHERE action IN ('pause', 'resume')}),
	'pause resume', 'the pause and the resume are still there');

sess_close($ctl);
$node->stop;
done_testing();
