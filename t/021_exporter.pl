# Debian's prometheus-postgres-exporter with
# contrib/postgres_exporter/pg_budget.yaml: /metrics shows the classes'
# sessions, admission counters (a refused login bumps them), the pause
# gauge and the wait-event samples, with the metric types of the file.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbNode;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use HTTP::Tiny;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time usleep);

my $exporter = $ENV{PGB_POSTGRES_EXPORTER}
  // '/usr/bin/prometheus-postgres-exporter';
plan skip_all =>
  "$exporter not found (Debian package prometheus-postgres-exporter)"
  unless -x $exporter;

my $queries =
  abs_path(dirname(__FILE__) . '/../contrib/postgres_exporter/pg_budget.yaml');
ok(defined $queries && -f $queries, 'the query file is in contrib/');

my $node = pgb_node(
	'exporter',
	conf => 'pg_budget.shedding = off',
	classes => 'web(max=10, priority=100), ai(max=2, priority=10)',
	roles => [ w => 'web', a => 'ai', prom => [ undef, 'IN ROLE pg_monitor' ] ]);

# The exporter as a child process; its connection (role prom, in pg_monitor
# so that it sees the sampled columns) counts in class "default".
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $log = "$PostgreSQL::Test::Utils::log_path/021_exporter_prometheus.log";
my $dsn = sprintf('host=%s port=%d user=prom dbname=postgres sslmode=disable',
	$node->host, $node->port);
# The collectors to switch off are named differently across releases
# (bgwriter in 0.11, stat_bgwriter from 0.15): ask the binary which it has.
my $help = `$exporter --help 2>&1`;
my @off = grep { my $c = $_; $help =~ /--collector\.\Q$c\E\s/ }
  qw(database bgwriter stat_bgwriter);
my $pid = fork() // die "fork: $!";
if ($pid == 0)
{
	$ENV{DATA_SOURCE_NAME} = $dsn;
	open(STDOUT, '>', $log) or die "$log: $!";
	open(STDERR, '>&', \*STDOUT) or die "dup: $!";
	exec($exporter, "--web.listen-address=127.0.0.1:$port",
		"--extend.query-path=$queries", '--disable-default-metrics',
		'--disable-settings-metrics', map { "--no-collector.$_" } @off)
	  or die "exec $exporter: $!";
}
END
{
	# a test that dies half way must not leave the exporter behind
	if ($pid)
	{
		kill 'TERM', $pid;
		waitpid($pid, 0);
	}
}

# loopback only: never through a proxy from the environment
my $http = HTTP::Tiny->new(timeout => 10, no_proxy => ["127.0.0.1"]);
my $url = "http://127.0.0.1:$port/metrics";
my $text = '';

# One scrape as { 'name{label="v",...}' => value }, the server label left
# out, labels sorted; the raw text is kept in $text.
sub scrape
{
	my $res = $http->get($url);
	return undef unless $res->{success};
	$text = $res->{content};
	my %m;
	for my $line (split /\n/, $text)
	{
		next if $line =~ /^#/;
		my ($name, $labels, $value) =
		  $line =~ /^(\w+)(?:\{(.*)\})? (\S+)$/ or next;
		my @l;
		while (defined $labels && $labels =~ /(\w+)="((?:[^"\\]|\\.)*)"/g)
		{
			push @l, qq{$1="$2"} unless $1 eq 'server';
		}
		$m{ $name . '{' . join(',', sort @l) . '}' } = $value;
	}
	return \%m;
}

# Scrape until $cond->(metrics) holds, for at most 30 s; the last scrape.
sub scrape_until
{
	my ($cond) = @_;
	my $deadline = time + 30;
	my $m;
	while (1)
	{
		$m = scrape();
		return $m if $m && $cond->($m);
		return $m // {} if time > $deadline;
		usleep(200_000);
	}
}

sub key
{
	my ($name, %l) = @_;
	return $name . '{' . join(',', map { qq{$_="$l{$_}"} } sort keys %l) . '}';
}

sub status_key
{
	my ($col, $class) = @_;
	return key("pg_budget_status_$col", class => $class);
}

my $m = scrape_until(sub { exists $_[0]->{'pg_up{}'} });
is($m->{'pg_up{}'}, '1', 'the exporter is up and reaches the server');
my @load = grep { /^pg_exporter_user_queries_load_error\{.*filename="\Q$queries\E"/ } keys %$m;
is(join(',', map { $m->{$_} } @load),
	'0', 'the exporter loaded pg_budget.yaml without error');
like($text, qr/^# TYPE pg_budget_status_connected gauge$/m,
	'connected is a gauge');
like($text, qr/^# TYPE pg_budget_status_rejected counter$/m,
	'rejected is a counter');
like($text, qr/^# TYPE pg_budget_wait_stats_samples counter$/m,
	'wait-event samples are a counter');
like($text, qr/^# HELP pg_budget_status_rejected_cap /m,
	'metrics carry the descriptions of the file');

#
# Sessions: two web, one ai, all idle.
#
my @held = map { $node->background_psql('postgres', extra_params => [ '-U', $_ ]) }
  qw(w w a);
$m = scrape_until(
	sub {
		($_[0]->{ status_key('connected', 'web') } // '') eq '2'
		  && ($_[0]->{ status_key('connected', 'ai') } // '') eq '1'
		  && ($_[0]->{ status_key('idle', 'web') } // '') eq '2'
		  && ($_[0]->{ status_key('idle', 'ai') } // '') eq '1';
	});
is($m->{ status_key('connected', 'web') }, '2',
	'pg_budget_status_connected{class="web"} is 2');
is($m->{ status_key('connected', 'ai') }, '1',
	'pg_budget_status_connected{class="ai"} is 1');
cmp_ok($m->{ status_key('connected', 'default') }, '>=', 1,
	'the exporter itself counts in class default');
is($m->{ status_key('idle', 'web') }, '2',
	'pg_budget_status_idle{class="web"} is 2 (sampled)');
is( join(' ', map { $m->{ status_key($_, 'ai') } } qw(max effective_max paused active)),
	'2 2 0 0', 'ai: max 2, effective_max 2, not paused, none active');
is($m->{ status_key('max', 'default') }, 'NaN',
	'a class with no cap has max NaN');
my $admitted_ai = $m->{ status_key('admitted', 'ai') };
cmp_ok($admitted_ai, '>=', 1, 'ai admissions are counted');

#
# A refused login bumps the rejected counters.
#
push @held, $node->background_psql('postgres', extra_params => [ '-U', 'a' ]);
my ($ret, $out, $err) = $node->psql('postgres', 'SELECT 1',
	extra_params => [ '-U', 'a', '-w' ]);
like($err, qr/pg_budget: class "ai" is at its cap of 2 connections/,
	'a third ai login is refused');
$m = scrape_until(
	sub { ($_[0]->{ status_key('rejected', 'ai') } // '') eq '1' });
is( join(' ', map { $m->{ status_key($_, 'ai') } }
		qw(connected rejected rejected_cap rejected_reserve rejected_paused rejected_rate)),
	'2 1 1 0 0 0',
	'the refusal shows in pg_budget_status_rejected and _rejected_cap');
is($m->{ status_key('admitted', 'ai') }, $admitted_ai + 1,
	'pg_budget_status_admitted counts the second ai login');
is($m->{ status_key('rejected', 'web') }, '0', 'web has no refusal');

#
# Pause: the gauge, and a refusal counted as paused.
#
$node->safe_psql('postgres', "SELECT pg_budget_pause('web')");
($ret, $out, $err) = $node->psql('postgres', 'SELECT 1',
	extra_params => [ '-U', 'w', '-w' ]);
like($err, qr/pg_budget: class "web" is paused/, 'a web login is refused while paused');
$m = scrape_until(
	sub { ($_[0]->{ status_key('rejected_paused', 'web') } // '') eq '1' });
is( join(' ', map { $m->{ status_key($_, 'web') } } qw(paused rejected rejected_paused)),
	'1 1 1', 'pg_budget_status_paused{class="web"} is 1 and the refusal counts as paused');
$node->safe_psql('postgres', "SELECT pg_budget_resume('web')");
$m = scrape_until(sub { ($_[0]->{ status_key('paused', 'web') } // '') eq '0' });
is($m->{ status_key('paused', 'web') }, '0', 'back to 0 after pg_budget_resume');

#
# Wait-event samples: a web session sleeping, and one on CPU.
#
$held[0]->query_safe('SELECT pg_sleep(0.3)');
$held[1]->query_safe(
	'DO $$DECLARE x int := 0; BEGIN FOR i IN 1..3000000 LOOP x := x + 1; END LOOP; END$$');
my $sleep_key = key(
	'pg_budget_wait_stats_samples',
	class => 'web',
	wait_event_type => 'Timeout',
	wait_event => 'PgSleep',
	category => 'other');
my $running_key = key(
	'pg_budget_wait_stats_samples',
	class => 'web',
	wait_event_type => 'running',
	wait_event => 'running',
	category => 'running');
$m = scrape();
cmp_ok($m->{$sleep_key} // 0, '>', 10,
	'pg_budget_wait_stats_samples{class="web",wait_event="PgSleep",...} counts the sleep');
cmp_ok($m->{$running_key} // 0, '>', 0,
	'a session on CPU is shown with wait_event_type and wait_event "running"');
is( scalar(grep { /^pg_budget_wait_stats_samples\{/ && !/category="(?:wal|lock|other|running)"/ }
		  keys %$m),
	0, 'every wait_stats series has a category label');
is( scalar(grep { /^pg_budget_wait_stats_samples\{/ && /wait_event(?:_type)?=""/ } keys %$m),
	0, 'no wait_stats series has an empty wait event label');

# CPU by class: the web session's loop above shows in its CPU time (read
# by the worker once a second); no pg_budget.cgroup here: no weight.
$m = scrape_until(sub { ($_[0]->{ status_key('cpu_seconds', 'web') } // 0) > 0 });
cmp_ok($m->{ status_key('cpu_seconds', 'web') } // 0, '>', 0,
	'pg_budget_status_cpu_seconds{class="web"} counts the loop');
like($text, qr/^# TYPE pg_budget_status_cpu_seconds counter$/m, 'cpu_seconds is a counter');
like($text, qr/^# TYPE pg_budget_status_run_delay_seconds counter$/m, 'run_delay_seconds is a counter');
ok(defined $m->{ status_key('run_delay_seconds', 'web') }, 'run_delay_seconds is there');
is($m->{ status_key('cpu_weight', 'web') }, 'NaN', 'cpu_weight without pg_budget.cgroup: NaN');

# pg_budget_reset() zeroes the counters: a counter reset to Prometheus.
$node->safe_psql('postgres', 'SELECT pg_budget_reset()');
$m = scrape_until(sub { ($_[0]->{ status_key('rejected', 'ai') } // '') eq '0' });
is( join(' ', map { $m->{ status_key($_, 'ai') } // 'none' } qw(rejected admitted connected)),
	'0 0 2', 'after pg_budget_reset the counters are 0 and the gauges stay');
ok(!exists $m->{$sleep_key}, 'after pg_budget_reset the web sleep samples are gone');

# Stop the exporter by its pid.
kill 'TERM', $pid;
my $deadline = time + 30;
my $gone = 0;
while (time < $deadline)
{
	if (waitpid($pid, WNOHANG) == $pid) { $gone = 1; last; }
	usleep(50_000);
}
ok($gone, 'the exporter stopped on SIGTERM');
$pid = 0 if $gone;

$_->quit for @held;
$node->stop;
done_testing();
