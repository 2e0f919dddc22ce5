# What a role sees of other roles' sessions in pg_budget_backends (and in
# pg_budget_backend_classes() called directly): exactly what
# pg_stat_activity shows it, column by column.  Viewers: a plain role, a
# member of the sessions' role, a NOINHERIT member, a pg_read_all_stats
# member and a superuser; the sessions watched: one idle in a transaction
# holding its class's only place at the gate, one queued behind it, one of
# another role.  And who sees the gate's live counts in pg_budget_status.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbSession;
use PgbNode;

my $node = pgb_node(
	'visibility',
	session => 1,
	conf => "max_connections = 30\npg_budget.shedding = off\n",
	classes => 'web(priority=100), one(active=1, priority=5, queue_timeout=120s)',
	roles => [
		owner => 'one',
		other => 'web',
		plain => undef,
		member => [ undef, 'IN ROLE owner' ],
		noinherit => [ undef, 'NOINHERIT IN ROLE owner' ],
		mon => [ undef, 'IN ROLE pg_read_all_stats' ]
	]);
my $su = $node->safe_psql('postgres', 'SELECT current_user');

my $ctl = control_session($su);
my $holder = holding('owner');
my $queued = gated_session('owner');
sess_send($queued, 'SELECT 2;');
ok(queued($queued),
	'a session of owner is queued behind the one idle in transaction');
my $web = session('other');
my %watched = (
	$holder->{pid} => 'holder',
	$queued->{pid} => 'queued',
	$web->{pid} => 'other');
my $pids = join(',', sort keys %watched);

# One statement, one snapshot of pg_stat_activity for both sides.
my @cols = qw(role database state wait_event_type wait_event backend_start since
  admitted_at queued class superuser cgroup mem_bytes);
my $sql = qq{
SELECT b.pid, @{[ join(', ', map { "coalesce(b.$_\::text, '<null>')" } @cols) ]},
	   coalesce(a.usename::text, '<null>'), coalesce(a.datname::text, '<null>'),
	   coalesce(a.state, '<null>'), coalesce(a.wait_event_type, '<null>'),
	   coalesce(a.wait_event, '<null>'), coalesce(a.backend_start::text, '<null>'),
	   coalesce(a.state_change::text, '<null>'),
	   coalesce(f.admitted_at::text, '<null>'), coalesce(f.queued::text, '<null>')
  FROM pg_budget_backends b
  JOIN pg_stat_activity a ON a.pid = b.pid
  JOIN pg_budget_backend_classes() f ON f.pid = b.pid
 WHERE b.pid IN ($pids)
 ORDER BY b.pid};

# viewer => which watched sessions it should see in full
my %sees = (
	plain => {},
	member => { holder => 1, queued => 1 },
	noinherit => {},
	mon => { holder => 1, queued => 1, other => 1 },
	$su => { holder => 1, queued => 1, other => 1 });

for my $viewer (sort keys %sees)
{
	my $out = $node->safe_psql('postgres', $sql,
		extra_params => [ '-U', $viewer, '-F', '|', '-A', '-t' ]);
	my @rows = map { [ split /\|/, $_, -1 ] } split /\n/, $out;
	is(scalar @rows, 3, "$viewer: pg_budget_backends has the three sessions");
	for my $r (@rows)
	{
		my ($pid, %b, %a, %f);
		($pid, @b{@cols}, @a{qw(usename datname state wait_event_type wait_event backend_start state_change)},
			@f{qw(admitted_at queued)}) = @$r;
		my $who = $watched{$pid};
		my $full = $sees{$viewer}{$who} ? 1 : 0;
		my $tag = "$viewer, session $who";

		# the columns pg_stat_activity shows everyone
		is($b{role}, $a{usename}, "$tag: role is pg_stat_activity's usename");
		is($b{database}, $a{datname}, "$tag: database is its datname");
		is($b{class}, $who eq 'other' ? 'web' : 'one', "$tag: class shown");
		is($b{superuser}, 'false', "$tag: superuser shown");
		# the columns pg_stat_activity shows only with the privileges
		is($a{backend_start} ne '<null>' ? 1 : 0, $full,
			"$tag: pg_stat_activity " . ($full ? 'shows' : 'hides') . ' its details');
		is($b{state}, $a{state}, "$tag: state as pg_stat_activity's");
		is($b{wait_event_type}, $a{wait_event_type}, "$tag: wait_event_type as pg_stat_activity's");
		is($b{wait_event}, $a{wait_event}, "$tag: wait_event as pg_stat_activity's");
		is($b{backend_start}, $a{backend_start}, "$tag: backend_start as pg_stat_activity's");
		is($b{since}, $a{state_change}, "$tag: since is its state_change");
		is($b{admitted_at} ne '<null>' ? 1 : 0, $full,
			"$tag: admitted_at " . ($full ? 'shown' : 'NULL') . ', as backend_start');
		is($b{queued},
			!$full ? '<null>' : $who eq 'queued' ? 'true' : 'false',
			"$tag: queued " . (!$full ? 'NULL, as state' : 'shown'));
		# where it runs and what it holds are details too
		is($b{cgroup} ne '<null>' ? 1 : 0, $full,
			"$tag: cgroup " . ($full ? 'shown' : 'NULL') . ', as backend_start');
		is($b{mem_bytes}, '<null>', "$tag: mem_bytes NULL, as backend_start")
		  unless $full;
		is("$f{admitted_at} $f{queued}", "$b{admitted_at} $b{queued}",
			"$tag: pg_budget_backend_classes() called directly shows the same");
	}
}

# pg_budget_status: the gate's transactions in progress and queued are
# what sessions are doing now, shown as the sampled columns are, to
# pg_read_all_stats; its cumulative counters to everyone.
my $status = q{SELECT concat_ws(' ', coalesce(in_progress::text, 'null'),
	coalesce(queued::text, 'null'), coalesce(active::text, 'null'),
	transactions IS NOT NULL, queue_waits IS NOT NULL, wal_bytes IS NOT NULL)
  FROM pg_budget_status WHERE class = 'one'};
ok(wait_ctl(q{SELECT active FROM pg_budget_status WHERE class = 'one'}, '1'),
	'the worker sampled the queued session as active');
is($node->safe_psql('postgres', $status, extra_params => [ '-U', 'plain' ]),
	'null null null t t t',
	'pg_budget_status for a plain role: no live counts, all cumulative counters');
is($node->safe_psql('postgres', $status, extra_params => [ '-U', 'member' ]),
	'null null null t t t',
	'... nor for a member of the class\'s only role (counts are by class, not role)');
is($node->safe_psql('postgres', $status, extra_params => [ '-U', 'mon' ]),
	'1 1 1 t t t',
	'... and all of it for a member of pg_read_all_stats');

sess_query($holder, 'COMMIT');
ok(sess_wait($queued, qr/^2$/m), 'the queued session goes through');
sess_close($_) for $holder, $queued, $web, $ctl;
$node->stop;
done_testing();
