# Bad input is refused as core refuses its own: a bad value of any
# pg_budget setting or class key stops the server at start (the log names
# the setting and the value), ALTER SYSTEM refuses it and writes nothing,
# a reload keeps the old value and logs why.  The queue_timeout key and
# setting read the same durations, the wal key and wal_rate_floor the same
# rates.
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
use Encode ();

# names below are UTF-8 bytes, sent and read as such
$ENV{PGCLIENTENCODING} = 'UTF8';

# Is $bytes valid UTF-8?
sub valid_utf8
{
	my ($bytes) = @_;
	return eval { Encode::decode('UTF-8', $bytes, Encode::FB_CROAK); 1 } ? 1 : 0;
}

my $node = pgb_node(
	'input',
	session => 1,
	# UTF-8, so that the server checks every text value it is given or returns
	init => { extra => [ '--encoding=UTF8', '--locale=C' ] },
	conf => "max_connections = 40\nsuperuser_reserved_connections = 3\nlog_error_verbosity = verbose\n",
	start => 0);

#
# (a) at start: a bad value stops the server, the log names the setting
# and the value with SQLSTATE 22023, as core does for its own settings
#
my @bad_start = (
	[
		'pg_budget.queue_timeout', '1d1ms', '10s',
		qr/FATAL:  22023: invalid value for parameter "pg_budget.queue_timeout": "1d1ms"\n.*DETAIL:  Expected -1 or a duration such as 500ms, 1\.5s, 1min or 1d, at most 1d\./
	],
	[
		'pg_budget.queue_timeout', '-0.5', '10s',
		qr/FATAL:  22023: invalid value for parameter "pg_budget.queue_timeout": "-0.5"/
	],
	[
		'pg_budget.cpu_pressure_threshold', '-1', '1.5',
		qr/FATAL:  22023: -1 is outside the valid range for parameter "pg_budget.cpu_pressure_threshold" \(0\.1 \.\. 100\)/
	],
	[
		'pg_budget.wal_rate_floor', '0.1B/s', '1MB/s',
		qr/FATAL:  22023: invalid value for parameter "pg_budget.wal_rate_floor": "0.1B\/s"\n.*DETAIL:  Expected a rate such as 500kB\/s, 20MB\/s or 1GB\/min, at least 1B\/s and at most 1TB\/s, or a size a second such as 1MB\./
	],
	[
		'pg_budget.shedding', 'sometimes', 'on',
		qr/FATAL:  22023: invalid value for parameter "pg_budget.shedding": "sometimes"/
	],
	[
		'pg_budget.history_size', '5s', '600s',
		qr/FATAL:  22023: 5 s is outside the valid range for parameter "pg_budget.history_size" \(10( s)? \.\. 86400( s)?\)/
	],
	[
		'pg_budget.classes', 'bulk(wal=0.1B/s)', '',
		qr/invalid value for parameter "pg_budget.classes": class "bulk": invalid value "0.1B\/s" for key "wal" \(expected a rate such as 500kB\/s, 20MB\/s or 1GB\/min, at least 1B\/s and at most 1TB\/s\)/
	],
	[
		'pg_budget.classes', 'ai(queue_timeout=-0.5)', '',
		qr/invalid value for parameter "pg_budget.classes": class "ai": invalid value "-0.5" for key "queue_timeout" \(expected -1 or a duration such as 500ms, 1\.5s, 1min or 1d, at most 1d\)/
	]);
for my $case (@bad_start)
{
	my ($name, $bad, $good, $re) = @$case;
	$node->append_conf('postgresql.conf', "$name = '$bad'");
	my $offset = -s $node->logfile // 0;
	ok(!$node->start(fail_ok => 1), "server does not start: $name = '$bad'");
	like(slurp_file($node->logfile, $offset),
		$re, "the start log names $name and '$bad'");
	$node->append_conf('postgresql.conf', "$name = '$good'");
}

# the values the wal key and the queue_timeout key take, in the settings
my $classes =
  'web(priority=100), one(active=1, priority=5), forever(active=1, queue_timeout=-1), bulk(wal=1B/s)';
$node->append_conf(
	'postgresql.conf', qq{
pg_budget.queue_timeout = '0.4ms'
pg_budget.wal_rate_floor = '10MB/s'
pg_budget.classes = '$classes'
});
ok($node->start(fail_ok => 1),
	"the server starts with queue_timeout = '0.4ms' and wal_rate_floor = '10MB/s'");
is($node->safe_psql('postgres', 'SHOW pg_budget.wal_rate_floor'),
	'10MB/s', 'wal_rate_floor takes 10MB/s, as the wal key writes it');

my $su = $node->safe_psql('postgres', 'SELECT current_user');
pgb_setup($node, roles => [ o => 'one', f => 'forever' ]);
my $ctl = control_session($su);
is(ctl("SELECT class || ' ' || queue_timeout_ms || ' ' || coalesce(wal_budget::text, 'null') FROM pg_budget_status WHERE class IN ('one', 'forever', 'bulk') ORDER BY class"),
	"bulk 1 1\nforever -1 null\none 1 null",
	'0.4ms is 1 ms, not 0; the key -1 is kept; wal=1B/s is a budget of 1');

#
# (b) queue_timeout = '0.4ms' waits a millisecond: it does not refuse at
# once as 0 would; queue_timeout=-1 in the class waits without limit
#
{
	my $h = holding('o');
	my $w = gated_session('o');
	sess_send($w, "\\set VERBOSITY verbose\n");
	my ($out, $err) = sess_query_err($w, 'SELECT 42');
	like(
		$err,
		qr/ERROR:  53400: pg_budget: class "one" is at its limit of 1 active transactions\n.*DETAIL:  The transaction waited \d+ ms \(queue_timeout\) for its turn; class "one" has 1 transactions in progress and 0 queued \(active=1\)\./,
		"queue_timeout = '0.4ms': the transaction waited (1 ms), it was not refused at once"
	);
	sess_query($h, 'COMMIT');
	sess_close($h);
	sess_close($w);

	$h = session('f');
	sess_query($h, 'BEGIN; SELECT 1');
	$w = gated_session('f');
	sess_send($w, "SELECT 'through';");
	ok(wait_ctl("SELECT queued FROM pg_budget_status WHERE class = 'forever'", '1'),
		'queue_timeout=-1: the second transaction is queued');
	usleep(1_500_000);
	is(ctl("SELECT queued || ' ' || queue_timeouts FROM pg_budget_status WHERE class = 'forever'"),
		'1 0', 'queue_timeout=-1: still queued 1.5 s later, no timeout');
	sess_query($h, 'COMMIT');
	ok(sess_wait($w, qr/^through$/m, 30), 'queue_timeout=-1: it goes in once the place is free');
	sess_close($h);
	sess_close($w);
}

#
# (c) ALTER SYSTEM refuses a bad value, with SQLSTATE 22023, and writes
# nothing
#
for my $case (
	[
		'pg_budget.queue_timeout', "'1d1ms'",
		qr/ERROR:  22023: invalid value for parameter "pg_budget.queue_timeout": "1d1ms"\n.*DETAIL:  Expected -1 or a duration such as 500ms, 1\.5s, 1min or 1d, at most 1d\./
	],
	[
		'pg_budget.cpu_pressure_threshold', '-1',
		qr/ERROR:  22023: -1 is outside the valid range for parameter "pg_budget.cpu_pressure_threshold" \(0\.1 \.\. 100\)/
	],
	[
		'pg_budget.wal_rate_floor', "'0.1B/s'",
		qr/ERROR:  22023: invalid value for parameter "pg_budget.wal_rate_floor": "0.1B\/s"/
	],
	[
		'pg_budget.classes', "'bulk(wal=0.1B/s)'",
		qr/ERROR:  22023: invalid value for parameter "pg_budget.classes": "bulk\(wal=0.1B\/s\)"\n.*DETAIL:  class "bulk": invalid value "0.1B\/s" for key "wal"/
	])
{
	my ($name, $value, $re) = @$case;
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nALTER SYSTEM SET $name = $value");
	like($err, $re, "ALTER SYSTEM SET $name = $value is refused");
}
unlike(slurp_file($node->data_dir . '/postgresql.auto.conf'),
	qr/pg_budget/, 'ALTER SYSTEM wrote nothing');

#
# (d) a bad value at reload: logged, the old value stays in force
#
{
	my $offset = -s $node->logfile;
	$node->append_conf(
		'postgresql.conf', q{
pg_budget.queue_timeout = '-0.5'
pg_budget.cpu_pressure_threshold = -1
pg_budget.wal_rate_floor = '10MB/h'
});
	$node->reload;
	ok( $node->wait_for_log(
			qr/LOG:  22023: invalid value for parameter "pg_budget.queue_timeout": "-0.5"\n.*DETAIL:  Expected -1 or a duration/,
			$offset),
		'reload: the bad queue_timeout is logged');
	ok( $node->wait_for_log(
			qr/LOG:  22023: -1 is outside the valid range for parameter "pg_budget.cpu_pressure_threshold" \(0\.1 \.\. 100\)/,
			$offset),
		'reload: the bad cpu_pressure_threshold is logged');
	ok( $node->wait_for_log(
			qr/LOG:  22023: invalid value for parameter "pg_budget.wal_rate_floor": "10MB\/h"/,
			$offset),
		'reload: the bad wal_rate_floor is logged');
	ok( $node->wait_for_log(
			qr/LOG:  F0000: configuration file ".*postgresql.conf" contains errors; unaffected changes were applied/,
			$offset),
		'reload: the postmaster keeps the old values');
	is( $node->safe_psql(
			'postgres',
			"SELECT current_setting('pg_budget.queue_timeout') || ' ' || current_setting('pg_budget.cpu_pressure_threshold') || ' ' || current_setting('pg_budget.wal_rate_floor')"
		),
		'0.4ms 1.5 10MB/s',
		'reload: a new session has the old values');
	is(ctl("SELECT queue_timeout_ms FROM pg_budget_status WHERE class = 'one'"),
		'1', 'reload: the old queue_timeout is in force');
	$node->append_conf(
		'postgresql.conf', q{
pg_budget.queue_timeout = '0.4ms'
pg_budget.cpu_pressure_threshold = 1.5
pg_budget.wal_rate_floor = '10MB/s'
});
	$node->reload;
}

#
# (e) ALTER SYSTEM of max_connections or of the reserved slots that the
# class table would not fit in at the next start is refused, naming the
# class, and writes nothing; what fits is written and the server restarts
#
$node->safe_psql('postgres',
	"ALTER SYSTEM SET pg_budget.classes = 'web(max=20, reserve=5), admin(max=3, reserve=2), ai(max=4)'");
$node->reload;
$node->poll_query_until('postgres',
	"SELECT current_setting('pg_budget.classes') LIKE 'web(max=20%'")
  or die 'the table for (e) is not in force';
my $v = $node->safe_psql('postgres', 'SHOW server_version_num');
my @refused = (
	[
		'max_connections', '15',
		qr/ERROR:  22023: invalid value for parameter "max_connections": "15"\n.*DETAIL:  pg_budget.classes would not fit at the next start: class "web": max 20 exceeds the 12 usable connections\.\n.*HINT:  Lower that class's max or reserve in pg_budget.classes first \(a reload applies it\), or keep max_connections at 23 or more\./
	],
	[
		'superuser_reserved_connections', '30',
		qr/ERROR:  22023: invalid value for parameter "superuser_reserved_connections": "30"\n.*DETAIL:  pg_budget.classes would not fit at the next start: class "web": max 20 exceeds the 10 usable connections\./
	],
	[
		'max_connections', '9',
		qr/ERROR:  22023: invalid value for parameter "max_connections": "9"\n.*DETAIL:  pg_budget.classes would not fit at the next start: reservations total 7 \(web 5, admin 2\) but only 6 connections are usable/
	]);
push @refused,
  [
	'reserved_connections', '25',
	qr/ERROR:  22023: invalid value for parameter "reserved_connections": "25"\n.*DETAIL:  pg_budget.classes would not fit at the next start: class "web": max 20 exceeds the 12 usable connections\./
  ]
  if $v >= 160000;
for my $case (@refused)
{
	my ($name, $value, $re) = @$case;
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nALTER SYSTEM SET $name = $value");
	isnt($ret, 0, "ALTER SYSTEM SET $name = $value fails");
	like($err, $re, "ALTER SYSTEM SET $name = $value: SQLSTATE 22023, names the class");
}
unlike(slurp_file($node->data_dir . '/postgresql.auto.conf'),
	qr/connections/, 'the refused ALTER SYSTEMs wrote nothing');
$node->safe_psql('postgres', 'ALTER SYSTEM SET max_connections = 30');
$node->safe_psql('postgres', 'ALTER SYSTEM SET work_mem = \'8MB\'');
like(slurp_file($node->data_dir . '/postgresql.auto.conf'),
	qr/max_connections = '30'/, 'a max_connections the table fits in is written');
{
	my ($ret, $out, $err) = $node->psql('postgres',
		'ALTER SYSTEM SET superuser_reserved_connections = 12');
	like($err,
		qr/ERROR:  invalid value for parameter "superuser_reserved_connections": "12"\n.*DETAIL:  pg_budget.classes would not fit at the next start: class "web": max 20 exceeds the 18 usable connections\./,
		'judged against the max_connections = 30 already written, not the 40 in force');
}
$node->safe_psql('postgres', 'ALTER SYSTEM RESET work_mem');
sess_close($ctl);
$node->restart;
is($node->safe_psql('postgres', 'SHOW max_connections'),
	'30', 'the server restarts with what ALTER SYSTEM wrote');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET max_connections');

#
# (f) a max_connections edited by hand that the table does not fit in: the
# server refuses to start, naming the class; fixing either brings it back
#
$node->stop;
$node->append_conf('postgresql.conf', 'max_connections = 15');
{
	my $offset = -s $node->logfile;
	ok(!$node->start(fail_ok => 1),
		'max_connections = 15 by hand: the server does not start');
	like(
		slurp_file($node->logfile, $offset),
		qr/invalid value for parameter "pg_budget.classes": class "web": max 20 exceeds the 12 usable connections/,
		'the start log names the class that does not fit');
}
$node->append_conf('postgresql.conf', 'max_connections = 40');
ok($node->start(fail_ok => 1), 'max_connections put back: the server starts');
$ctl = control_session($su);

#
# (g) names and reasons are cut on character boundaries: a class of 63
# characters, roles named with 20 CJK characters (60 bytes each, after one
# ASCII letter), a refused login, a pause that terminates a session; the
# pause's reason is longer than the 159 bytes an event keeps, and would be
# cut 2 bytes into a character
#
{
	my $class = 'c' x 63;
	my $cjk = "\xe6\xbc\xa2" x 20;    # U+6F22, 20 times, in UTF-8
	my $victim = "v$cjk";
	my $pauser = "s$cjk";
	ctl("ALTER SYSTEM SET pg_budget.classes = 'web(max=20, reserve=5), admin(max=3, reserve=2), ai(max=4), $class(max=1)'");
	ctl('SELECT pg_reload_conf()');
	$node->poll_query_until('postgres',
		"SELECT current_setting('pg_budget.classes') LIKE '%$class(max=1)'")
	  or die 'the class of 63 characters is not in force';
	ctl(qq{CREATE ROLE "$victim" LOGIN});
	ctl(qq{CREATE ROLE "$pauser" LOGIN SUPERUSER});
	ctl(qq{ALTER ROLE "$victim" SET pg_budget.class = '$class'});

	my $offset = -s $node->logfile;
	my $v = session($victim);
	is(sess_query($v, 'SHOW pg_budget.class'), $class,
		'the CJK-named role is admitted under the class of 63 characters');
	my ($ret, $out, $err) = login($victim);
	like($err, qr/FATAL:  pg_budget: class "$class" is at its cap of 1 connections/,
		'its second login is refused');
	($ret, $out, $err) = psql_c($node, 'postgres',
		"SELECT pg_budget_pause('$class', 'terminate')",
		connstr => $node->connstr('postgres') . " user=$pauser");
	is($ret, 0, 'the CJK-named superuser pauses the class, terminating its session');
	# psql sees the end of its session when it next sends a query
	sess_send($v, 'SELECT 1;');
	ok(sess_wait_exit($v, 30), 'the victim session ends');
	like($v->{stderr}, qr/DETAIL:  pg_budget terminated this session: class "$class" paused \(mode terminate\) by role "s/,
		'the victim is told why');
	ok(valid_utf8($v->{stderr}), "the victim's DETAIL is valid UTF-8");
	($ret, $out, $err) = login($victim);
	like($err, qr/FATAL:  pg_budget: class "$class" is paused/, 'a login of the paused class is refused');

	my $rows = ctl(
		"SELECT action || ' ' || length(reason) || ' ' || octet_length(convert_to(reason, 'UTF8')) || ' ' || length(role) FROM pg_budget_events WHERE class = '$class' ORDER BY at, action");
	# the pause's reason (and the termination's): 105 bytes, then "s" and
	# 17 of the 20 characters
	is($rows, "reject 72 72 21\npause 123 157 21\nterminate 123 157 21\nreject 75 75 21",
		'pg_budget_events: length(reason) and convert_to work, the reason keeps whole characters');
	my ($reason) = ctl("SELECT reason FROM pg_budget_events WHERE action = 'pause' AND class = '$class'");
	is($reason, qq{class "$class" paused (mode terminate) by role "s} . ("\xe6\xbc\xa2" x 17),
		'the reason is cut after the last whole character');
	ctl("SELECT pg_budget_resume('$class')");
	my $log = slurp_file($node->logfile, $offset);
	like($log, qr/DETAIL:  pg_budget terminated this session: class "$class" paused/,
		"the log has the victim's DETAIL");
	my @bad = grep { !valid_utf8($_) } split /\n/, $log;
	is(scalar(@bad), 0, 'every log line is valid UTF-8')
	  or diag(join("\n", @bad));
}

#
# (h) every pg_budget setting, not only those above, refuses a bad value
# at start
#
{
	my @names = split /\n/,
	  ctl("SELECT name FROM pg_settings WHERE name LIKE 'pg_budget.%' ORDER BY 1");
	cmp_ok(scalar(@names), '>=', 24, 'pg_budget has its settings');
	sess_close($ctl);
	$node->stop;
	# in postgresql.auto.conf, which wins over what (g) wrote there
	my $conf = $node->data_dir . '/postgresql.auto.conf';
	my $good = slurp_file($conf);
	for my $name (@names)
	{
		$node->append_conf('postgresql.auto.conf', "$name = 'Bogus!'");
		my $offset = -s $node->logfile;
		my $started = $node->start(fail_ok => 1);
		ok(!$started, "$name = 'Bogus!': the server does not start");
		like(
			slurp_file($node->logfile, $offset),
			qr/FATAL:  22023: (invalid value for parameter "\Q$name\E": |parameter "\Q$name\E" requires a Boolean value)/,
			"$name = 'Bogus!': the log names it");
		$node->stop if $started;
		open(my $fh, '>', $conf) or die "$conf: $!";
		print $fh $good;
		close $fh;
	}
	ok($node->start(fail_ok => 1), 'the server starts again without them');
	$ctl = control_session($su);
}

sess_close($ctl);
$node->stop;
done_testing();
