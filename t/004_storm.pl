# Exactness at a class boundary: hundreds of logins of one class arriving
# at once admit exactly max of them, refuse the rest with the cap message,
# never show more than max connected, and give every slot back.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use POSIX ();
use Time::HiRes qw(usleep time);

my $cap = 25;
my $lock = 4242;

my $node = PostgreSQL::Test::Cluster->new('storm');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pg_budget'
max_connections = 400
log_error_verbosity = verbose
log_statement = none
pg_budget.classes = 'ai(max=$cap), web(max=50, reserve=10)'
});
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_budget;
CREATE ROLE a LOGIN;
ALTER ROLE a SET pg_budget.class = 'ai';
CREATE ROLE w LOGIN;
ALTER ROLE w SET pg_budget.class = 'web';
});
is($node->safe_psql('postgres', 'SHOW max_connections'),
	'400', 'the server runs with max_connections = 400');

my $outdir = PostgreSQL::Test::Utils::tempdir;

sub class_row
{
	my ($class) = @_;
	my @f = split /\|/, $node->safe_psql('postgres',
		"SELECT connected, admitted, rejected, rejected_cap FROM pg_budget_status WHERE class = '$class'"
	);
	return { connected => $f[0], admitted => $f[1], rejected => $f[2], rejected_cap => $f[3] };
}

# Fork $n children that all wait on one pipe, then open it at once so that
# their logins arrive together.  An admitted session blocks on an advisory
# lock the test holds, so it stays connected until every attempt has been
# judged; a refused one exits with psql's connection error.
sub storm
{
	my ($round, $n, %opt) = @_;
	my $web_before = $opt{web_sessions} // 0;

	my $holder = $node->background_psql('postgres');
	$holder->query_safe("SELECT pg_advisory_lock($lock)");
	my $sampler = $node->background_psql('postgres');
	my $before = class_row('ai');
	my $log_off = -s $node->logfile;

	pipe(my $gate_r, my $gate_w) or die "pipe: $!";
	my %kid;
	{
		local %ENV = (%ENV, PGHOST => $node->host, PGPORT => $node->port);
		for my $i (1 .. $n)
		{
			my $pid = fork();
			die "fork: $!" unless defined $pid;
			if ($pid == 0)
			{
				close $gate_w;
				my $buf;
				sysread($gate_r, $buf, 1);
				open STDIN, '<', '/dev/null';
				open STDOUT, '>', "$outdir/$round.$i.out";
				open STDERR, '>', "$outdir/$round.$i.err";
				exec 'psql', '-X', '-w', '-At', '-d', 'dbname=postgres user=a',
				  '-c',
				  "SELECT current_setting('pg_budget.class') FROM pg_advisory_lock_shared($lock)";
				POSIX::_exit(127);
			}
			$kid{$pid} = $i;
		}
	}
	close $gate_r;
	my $t0 = time;
	close $gate_w;    # all children connect now

	my %status;
	my $reap = sub {
		for my $pid (keys %kid)
		{
			next if exists $status{$pid};
			$status{$pid} = $? if waitpid($pid, POSIX::WNOHANG()) == $pid;
		}
	};

	# another class logs in while the storm runs
	my ($wret, $wout, $werr) = $node->psql(
		'postgres', 'SHOW pg_budget.class',
		connstr => 'user=w dbname=postgres',
		extra_params => ['-w']);
	$reap->();
	my $judged_at_web = scalar keys %status;
	is($wret, 0, "$round: a web login succeeds during the storm");
	is($wout, 'web', "$round: it is admitted as web");
	is($werr, '', "$round: no error for the web login");
	note "$round: web login done when $judged_at_web of $n ai attempts had ended";

	# Sample until every attempt is judged: ended, or admitted and waiting
	# on the lock.
	my ($peak, $peak_rows, $samples, $waiting) = (0, 0, 0, 0);
	my ($web_min, $web_max) = (1e9, -1);
	my $judged = 0;
	my $deadline = time + 60;
	while (time < $deadline)
	{
		$reap->();
		my $s = $sampler->query(
			qq{SELECT (SELECT connected FROM pg_budget_status WHERE class = 'ai'),
				(SELECT count(*) FROM pg_budget_backends WHERE class = 'ai'),
				(SELECT count(*) FROM pg_stat_activity WHERE usename = 'a'
					AND wait_event_type = 'Lock' AND wait_event = 'advisory'),
				(SELECT connected FROM pg_budget_status WHERE class = 'web')});
		my ($c, $rows, $wt, $web) = split /\|/, $s;
		$samples++;
		$peak = $c if $c > $peak;
		$peak_rows = $rows if $rows > $peak_rows;
		$web_min = $web if $web < $web_min;
		$web_max = $web if $web > $web_max;
		$waiting = $wt;
		if ((scalar keys %status) + $waiting == $n)
		{
			$judged = 1;
			last;
		}
	}
	my $storm_secs = time - $t0;
	ok($judged, "$round: all $n attempts judged")
	  or diag(sprintf('%d ended, %d waiting', scalar keys %status, $waiting));

	my $during = class_row('ai');
	my $ended_early = scalar keys %status;
	note sprintf(
		'%s: %d attempts judged in %.2fs; %d samples, peak connected %d, peak backends rows %d, %d waiting admitted',
		$round, $n, $storm_secs, $samples, $peak, $peak_rows, $waiting);

	is($waiting, $cap, "$round: exactly $cap ai sessions are connected and waiting");
	cmp_ok($peak, '<=', $cap, "$round: sampled connected never exceeded $cap");
	cmp_ok($peak_rows, '<=', $cap,
		"$round: sampled pg_budget_backends rows never exceeded $cap");
	is($peak, $cap, "$round: the samples saw the class at its cap");
	is($during->{connected}, $cap, "$round: connected = $cap while they wait");
	is($during->{admitted} - $before->{admitted},
		$cap, "$round: admitted grew by $cap");
	is($during->{rejected_cap} - $before->{rejected_cap},
		$n - $cap, "$round: rejected_cap grew by attempts - $cap");
	is($during->{rejected} - $before->{rejected},
		$n - $cap, "$round: no refusal of another kind");
	is("$web_min..$web_max", "$web_before..$web_before",
		"$round: web stayed at $web_before connected during the storm")
	  if $web_before;

	# let the admitted sessions finish, then judge every attempt's output
	$holder->query_safe("SELECT pg_advisory_unlock($lock)");
	$deadline = time + 60;
	while ((scalar keys %status) < $n && time < $deadline)
	{
		$reap->();
		usleep(20_000);
	}
	if ((scalar keys %status) < $n)
	{
		kill 'TERM', grep { !exists $status{$_} } keys %kid;
		fail("$round: some psql did not exit");
		$reap->();
	}
	$holder->quit;

	my ($ok, $refused, @other) = (0, 0);
	my $cap_err = qr/\Apsql: error: connection to server on socket "[^"]+" failed: FATAL:  pg_budget: class "ai" is at its cap of $cap connections
DETAIL:  Class "ai" has $cap of max=$cap connections.
HINT:  Retry after (\d+) ms.
\z/;
	my ($retry_min, $retry_max) = (1e9, -1);
	for my $pid (keys %kid)
	{
		my $i = $kid{$pid};
		my $out = slurp_file("$outdir/$round.$i.out");
		my $err = slurp_file("$outdir/$round.$i.err");
		my $code = exists $status{$pid} ? $status{$pid} >> 8 : -1;
		if ($code == 0 && $out eq "ai\n" && $err eq '')
		{
			$ok++;
		}
		elsif ($code == 2 && $out eq '' && $err =~ $cap_err)
		{
			$refused++;
			$retry_min = $1 if $1 < $retry_min;
			$retry_max = $1 if $1 > $retry_max;
		}
		else
		{
			push @other, "attempt $i: exit $code, stdout '$out', stderr '$err'";
		}
	}
	is($ok, $cap, "$round: exactly $cap of $n logins succeeded");
	is($refused, $n - $cap, "$round: every other login was refused by the cap");
	is(scalar @other, 0, "$round: no login failed any other way")
	  or diag(join("\n", @other[ 0 .. ($#other < 9 ? $#other : 9) ]));
	is(scalar(grep { /too many clients/ } @other),
		0, "$round: nobody got 'too many clients'");
	ok($retry_min >= 500 && $retry_max <= 1500,
		"$round: retry hints between 500 and 1500 ms ($retry_min..$retry_max)");

	my $log = slurp_file($node->logfile, $log_off);
	my $log_refusals = () = $log =~
	  /FATAL:  53300: pg_budget: class "ai" is at its cap of $cap connections\n/g;
	is($log_refusals, $n - $cap,
		"$round: server log has attempts - $cap refusals with SQLSTATE 53300");
	unlike($log, qr/too many clients|sorry, too many/,
		"$round: server log has no core connection-limit refusal");

	ok( $node->poll_query_until(
			'postgres',
			q{SELECT connected || '|' || (SELECT count(*) FROM pg_budget_backends WHERE class = 'ai')
				FROM pg_budget_status WHERE class = 'ai'},
			'0|0'),
		"$round: after all exit ai has connected = 0 and no backends rows");
	$sampler->quit;

	return { ok => $ok, refused => $refused, peak => $peak, samples => $samples,
		secs => $storm_secs };
}

# Round 1: 300 logins of ai at once with nothing else running.
my $r1 = storm('round1', 300);

# Round 2: 200 more while web holds 10 sessions (its whole reservation).
my @web;
for (1 .. 10)
{
	push @web,
	  $node->background_psql('postgres', extra_params => [ '-U', 'w' ]);
}
is(class_row('web')->{connected}, 10, 'web holds 10 sessions');
my $r2 = storm('round2', 200, web_sessions => 10);
$_->quit for @web;
ok( $node->poll_query_until(
		'postgres',
		"SELECT connected FROM pg_budget_status WHERE class = 'web'", '0'),
	'web sessions gone');

note sprintf('round %d: %d admitted, %d refused, peak %d over %d samples, %.2fs',
	$_->[0], @{ $_->[1] }{qw(ok refused peak samples secs)})
  for [ 1, $r1 ], [ 2, $r2 ];

$node->stop;
done_testing();
