# A soak of mixed load: caps, active limits, the WAL budget, savepoints,
# procedures that commit, two-phase commit and large objects, under
# cancels, terminations, pauses and reloads.  At the end every class has
# nothing connected, in progress or queued, the server never crashed, and
# every transaction a client saw committed has its row.
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

my $seconds = $ENV{PGB_SOAK_SECONDS} // 20;
my $classes_a =
  'web(max=8, priority=100), ai(max=10, active=2, priority=10, shed=cancel, queue_timeout=2s), '
  . 'bulk(max=5, priority=0, wal=2MB/s, shed=terminate), lo(max=2, active=1, priority=50)';
(my $classes_b = $classes_a) =~ s/active=2/active=3/;

my $node = pgb_node(
	'soak',
	session => 1,
	conf => "max_connections = 50\nmax_prepared_transactions = 4\npg_budget.shedding = on\n",
	classes => $classes_a,
	roles => [ w => 'web', a => 'ai', b => 'bulk', l => 'lo' ],
	sql => q{
CREATE TABLE ledger(id bigserial PRIMARY KEY, tag text NOT NULL, at timestamptz DEFAULT now());
CREATE TABLE filler(x text);
GRANT ALL ON ledger, ledger_id_seq, filler TO PUBLIC;
CREATE PROCEDURE two_commits() LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO ledger(tag) VALUES ('proc'); COMMIT; INSERT INTO ledger(tag) VALUES ('proc'); END $$;
GRANT EXECUTE ON PROCEDURE two_commits() TO PUBLIC;
});
my $su = $node->safe_psql('postgres', 'SELECT current_user');
my $ctl = control_session($su);
my $dir = $PostgreSQL::Test::Utils::tmp_check;

sub script
{
	my ($name, $sql) = @_;
	open(my $fh, '>', "$dir/$name.sql") or die;
	print $fh $sql;
	close $fh;
	return "$dir/$name.sql";
}

my %scripts = (
	web => script('web', "INSERT INTO ledger(tag) VALUES ('web');\nSELECT count(*) FROM ledger WHERE id < 10;\n"),
	ai => script('ai',
		"BEGIN;\nSAVEPOINT s;\nSELECT pg_sleep(0.005);\nRELEASE s;\nSAVEPOINT t;\nSELECT count(*) FROM ledger WHERE id < 5;\nRELEASE t;\nINSERT INTO ledger(tag) VALUES ('ai');\nCOMMIT;\n"),
	bulk => script('bulk',
		"BEGIN;\nINSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 100);\nINSERT INTO ledger(tag) VALUES ('bulk');\nCOMMIT;\n"),
);

# the pgbench runs: one client each, so that a client refused at login (the
# worker lowers a class's admission limit while the machine is busy) does
# not take the others down with it; each has its transaction log, and a run
# that ends early (its client cancelled, terminated or refused) is started
# again until the time is up
my $end = time + $seconds;
my %runs;
my %clients = (web => [ 'w', 4 ], ai => [ 'a', 8 ], bulk => [ 'b', 3 ]);
my $nruns = 0;

sub start_run
{
	my ($class) = @_;
	my $role = $clients{$class}[0];
	my $left = int($end - time);
	return undef if $left < 1;
	my ($out, $err) = ('', '');
	$nruns++;
	return IPC::Run::start(
		[
			'pgbench', '-n', '-c', 1, '-T', $left,
			'-f', $scripts{$class}, '-l', "--log-prefix=$dir/soak_${class}_$nruns",
			'-U', $role, '-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
}
for my $class (keys %clients)
{
	$runs{"$class:$_"} = start_run($class) for 1 .. $clients{$class}[1];
}

# procedures, two-phase commit and large objects in a class nobody sheds
my $lofile = "$dir/lo.txt";
{
	open(my $fh, '>', $lofile) or die;
	print $fh "x" x 5000;
	close $fh;
}
my $iterations = 25;
my $lo_sql = '';
for my $i (1 .. $iterations)
{
	$lo_sql .= "CALL two_commits();\n";
	$lo_sql .= "BEGIN; INSERT INTO ledger(tag) VALUES ('2pc'); PREPARE TRANSACTION 'soak$i';\n";
	$lo_sql .= "COMMIT PREPARED 'soak$i';\n";
	$lo_sql .= "\\lo_import '$lofile'\n";
}
my ($lo_out, $lo_err) = ('', '');
my $lo = IPC::Run::start(
	[
		'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-f', script('lo', $lo_sql), '-d',
		$node->connstr('postgres') . ' user=l'
	],
	'>', \$lo_out, '2>', \$lo_err);

# chaos until the time is up, after the first logins are in; on a busy
# machine (each pgbench started again costs a fork) a round of chaos takes
# longer: the soak then goes on, two seconds at a time and for at most
# three times as long, until it has done its share of chaos
my %did = (cancel => 0, terminate => 0, pause => 0, reload => 0);
my $chaos_wanted = 21;
my $hard_end = time + 3 * $seconds;
my $flip = 0;
usleep(1_000_000);
while (1)
{
	my $done = $did{cancel} + $did{terminate} + $did{pause} + $did{reload};
	if (time >= $end)
	{
		last if $done >= $chaos_wanted || time >= $hard_end;
		$end += 2;
	}
	my $r = rand();
	if ($r < 0.35)
	{
		$did{cancel} += ctl(
			"SELECT count(pg_cancel_backend(pid)) FROM (SELECT pid FROM pg_stat_activity WHERE usename = 'a' AND state = 'active' ORDER BY random() LIMIT 1) x"
		);
	}
	elsif ($r < 0.55)
	{
		$did{terminate} += ctl(
			"SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity WHERE usename = 'b' ORDER BY random() LIMIT 1) x"
		);
	}
	elsif ($r < 0.65)
	{
		ctl("SELECT pg_budget_pause('ai', 'cancel')");
		usleep(150_000);
		ctl("SELECT pg_budget_resume('ai')");
		$did{pause}++;
	}
	elsif ($r < 0.75)
	{
		$flip = !$flip;
		ctl("ALTER SYSTEM SET pg_budget.classes = '" . ($flip ? $classes_b : $classes_a) . "'");
		ctl('SELECT pg_reload_conf()');
		$did{reload}++;
	}
	for my $run (keys %runs)
	{
		if (defined $runs{$run})
		{
			$runs{$run}->pump_nb if $runs{$run}->pumpable;
			next if $runs{$run}->pumpable;
			$runs{$run}->finish;
		}
		$runs{$run} = start_run((split /:/, $run)[0]);
	}
	$lo->pump_nb if $lo->pumpable;
	usleep(100_000);
}
defined $_ and $_->finish for values %runs;
diag("$nruns pgbench runs");
ok($lo->finish, 'the large-object, 2PC and procedure session ran to its end')
  or diag($lo_err);
diag(join(', ', map { "$_ $did{$_}" } sort keys %did));
cmp_ok($did{cancel} + $did{terminate} + $did{pause} + $did{reload}, '>=', $chaos_wanted, 'chaos was done');

# what each client saw committed: the lines of its transaction log
for my $class (qw(web ai bulk))
{
	my $seen = 0;
	for my $f (glob("$dir/soak_${class}_*"))
	{
		open(my $fh, '<', $f) or die;
		$seen++ while <$fh>;
		close $fh;
	}
	my $rows = ctl("SELECT count(*) FROM ledger WHERE tag = '$class'");
	cmp_ok($rows, '>=', $seen, "$class: every committed transaction has its row ($rows rows, $seen acknowledged)");
	cmp_ok($seen, '>', 0, "$class: transactions committed under the chaos");
}
is(ctl("SELECT count(*) FROM ledger WHERE tag = 'proc'"), 2 * $iterations,
	'each procedure committed both its transactions');
is(ctl("SELECT count(*) FROM ledger WHERE tag = '2pc'"), $iterations,
	'every prepared transaction was committed');
is(ctl('SELECT count(*) FROM pg_largeobject_metadata'), $iterations, 'every large object is there');
is(ctl('SELECT count(*) FROM pg_prepared_xacts'), '0', 'no prepared transaction left');

# nothing left anywhere
ctl("ALTER SYSTEM RESET pg_budget.classes");
ctl('SELECT pg_reload_conf()');
ok( wait_ctl(
		"SELECT string_agg(class || ':' || connected || '/' || in_progress || '/' || queued, ' ' ORDER BY class) FROM pg_budget_status WHERE class IN ('web', 'ai', 'bulk', 'lo')",
		'ai:0/0/0 bulk:0/0/0 lo:0/0/0 web:0/0/0', 20),
	'every class ends with 0 connected, 0 in progress and 0 queued');
my $log = slurp_file($node->logfile);
unlike($log, qr/was terminated by signal|server process .* exited with exit code [^01]|PANIC|TRAP:/,
	'no backend crashed');
unlike($log, qr/all server processes terminated; reinitializing/, 'no crash restart');

sess_close($ctl);
$node->stop;
done_testing();
