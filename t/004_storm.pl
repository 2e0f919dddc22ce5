# Exactness at a class boundary: hundreds of logins of one class arriving
# at once admit exactly max of them, refuse the rest with the cap message,
# never show more than max connected, and give every slot back.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbNode;
use IPC::Run;
use POSIX ();
use Time::HiRes qw(usleep time);

my $cap = 25;
my $lock = 4242;         # admitted sessions wait on it
my $stop_lock = 4243;    # the sampler runs until it is free

my $node = pgb_node(
	'storm',
	conf => "max_connections = 400\nlog_error_verbosity = verbose\nlog_statement = none\n",
	classes => "ai(max=$cap), web(max=50, reserve=10)",
	roles => [ a => 'ai', w => 'web' ]);

# Polls ai's connected count, its rows in pg_budget_backends and web's
# connected count until stop_lock can be taken; returns the extremes.
$node->safe_psql(
	'postgres', q{
CREATE FUNCTION storm_sample(stop_lock bigint, OUT samples int, OUT peak int,
	OUT peak_rows int, OUT web_min int, OUT web_max int)
LANGUAGE plpgsql AS $$
DECLARE
	c int;
	r int;
	w int;
BEGIN
	samples := 0; peak := 0; peak_rows := 0; web_min := 1000000; web_max := -1;
	LOOP
		PERFORM pg_stat_clear_snapshot();
		SELECT connected INTO c FROM pg_budget_status WHERE class = 'ai';
		SELECT count(*) INTO r FROM pg_budget_backends WHERE class = 'ai';
		SELECT connected INTO w FROM pg_budget_status WHERE class = 'web';
		samples := samples + 1;
		peak := greatest(peak, c);
		peak_rows := greatest(peak_rows, r);
		web_min := least(web_min, w);
		web_max := greatest(web_max, w);
		EXIT WHEN pg_try_advisory_lock_shared(stop_lock);
		PERFORM pg_sleep(0.001);
	END LOOP;
	PERFORM pg_advisory_unlock_shared(stop_lock);
END
$$;
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
# judged; a refused one exits with psql's connection error.  A sampler in
# the server polls the counts every millisecond meanwhile.
sub storm
{
	my ($round, $n, %opt) = @_;
	my $web_before = $opt{web_sessions} // 0;

	my $holder = $node->background_psql('postgres');
	$holder->query_safe("SELECT pg_advisory_lock($lock), pg_advisory_lock($stop_lock)");
	my $checker = $node->background_psql('postgres');
	my $before = class_row('ai');
	my $log_off = -s $node->logfile;

	my ($sout, $serr) = ('', '');
	my $sampler;
	{
		local %ENV = (%ENV, PGHOST => $node->host, PGPORT => $node->port);
		$sampler = IPC::Run::start(
			[ 'psql', '-X', '-w', '-At', '-d', 'dbname=postgres', '-c',
				"SELECT * FROM storm_sample($stop_lock)" ],
			'<', '/dev/null', '>', \$sout, '2>', \$serr);
	}
	ok( $node->poll_query_until(
			'postgres',
			q{SELECT count(*) FROM pg_stat_activity
				WHERE query LIKE '%storm_sample(%' AND state = 'active'
				  AND pid <> pg_backend_pid()}, '1'),
		"$round: the sampler runs");

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
	my ($wout, $werr) = ('', '');
	my $web;
	{
		local %ENV = (%ENV, PGHOST => $node->host, PGPORT => $node->port);
		$web = IPC::Run::start(
			[ 'psql', '-X', '-w', '-At', '-d', 'dbname=postgres user=w', '-c',
				'SHOW pg_budget.class' ],
			'<', '/dev/null', '>', \$wout, '2>', \$werr);
	}
	my $web_judged;

	# Poll until every attempt is judged: ended, or admitted and waiting
	# on the lock.
	my ($peak, $samples, $waiting) = (0, 0, 0);
	my $judged = 0;
	my $deadline = time + 60;
	while (time < $deadline)
	{
		$reap->();
		if (!defined $web_judged)
		{
			$web->pump_nb;
			$web_judged = scalar keys %status unless $web->pumpable;
		}
		my $s = $checker->query(
			qq{SELECT (SELECT connected FROM pg_budget_status WHERE class = 'ai'),
				(SELECT count(*) FROM pg_stat_activity WHERE usename = 'a'
					AND wait_event_type = 'Lock' AND wait_event = 'advisory')});
		my ($c, $wt) = split /\|/, $s;
		$samples++;
		$peak = $c if $c > $peak;
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
	$checker->quit;

	$web->finish;
	is($? >> 8, 0, "$round: a web login succeeds during the storm");
	is($wout, "web\n", "$round: it is admitted as web");
	is($werr, '', "$round: no error for the web login");
	note "$round: web login done when "
	  . ($web_judged // 'all') . " of $n ai attempts had ended";

	# stop the sampler and read what it saw
	$holder->query_safe("SELECT pg_advisory_unlock($stop_lock)");
	$sampler->finish;
	is($serr, '', "$round: the sampler ran without error");
	chomp $sout;
	my ($ssamples, $speak, $speak_rows, $web_min, $web_max) = split /\|/, $sout;

	my $during = class_row('ai');
	note sprintf(
		'%s: %d attempts judged in %.2fs; server sampler: %d samples, peak connected %d, peak backends rows %d, web %d..%d; client: %d samples, peak %d; %d admitted waiting',
		$round, $n, $storm_secs, $ssamples, $speak, $speak_rows, $web_min,
		$web_max, $samples, $peak, $waiting);

	is($waiting, $cap, "$round: exactly $cap ai sessions are connected and waiting");
	cmp_ok($ssamples, '>=', 20, "$round: the sampler polled many times");
	cmp_ok($speak, '<=', $cap, "$round: sampled connected never exceeded $cap");
	cmp_ok($peak, '<=', $cap, "$round: connected seen by the test never exceeded $cap");
	cmp_ok($speak_rows, '<=', $cap,
		"$round: sampled pg_budget_backends rows never exceeded $cap");
	is($speak, $cap, "$round: the sampler saw the class at its cap");
	is($during->{connected}, $cap, "$round: connected = $cap while they wait");
	is($during->{admitted} - $before->{admitted},
		$cap, "$round: admitted grew by $cap");
	is($during->{rejected_cap} - $before->{rejected_cap},
		$n - $cap, "$round: rejected_cap grew by attempts - $cap");
	is($during->{rejected} - $before->{rejected},
		$n - $cap, "$round: no refusal of another kind");
	is($web_min, $web_before,
		"$round: web never dropped below its $web_before sessions");
	cmp_ok($web_max, '<=', $web_before + 1,
		"$round: web had at most its sessions plus the extra login");

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

	return { ok => $ok, refused => $refused, peak => $speak, samples => $ssamples,
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
