# A psql session driven through a pipe, for the TAP tests of the worker:
# a query can be left running while the test goes on, and everything the
# client printed (errors with their DETAIL, a lost connection) can be
# checked afterwards.  An error does not end the session; a lost
# connection does.
package PgbSession;

use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use Time::HiRes qw(time usleep);

our @EXPORT = qw(session gated_session alive sess_send sess_wait sess_wait_exit
  sess_query sess_query_err sess_close control_session ctl wait_ctl status
  login psql_c holding queued);

my $default_node;
my $marker = 0;
my $ctl;

# The node session($role) connects to when it is not given one.
sub set_node
{
	($default_node) = @_;
}

# session($role) or session($node, $role)
sub session
{
	my $node = ref $_[0] ? shift : $default_node;
	my ($role) = @_;
	my $s = { stdin => '', stdout => '', stderr => '', role => $role };
	$s->{run} = IPC::Run::start(
		[
			'psql', '-XAtq', '-v', 'ON_ERROR_STOP=0', '-d',
			$node->connstr('postgres') . " user=$role", '-f', '-'
		],
		'<', \$s->{stdin}, '>', \$s->{stdout}, '2>', \$s->{stderr});
	$s->{pid} = sess_query($s, 'SELECT pg_backend_pid()');
	die "session of $role did not start: [$s->{stdout}] [$s->{stderr}]"
	  unless defined $s->{pid} && $s->{pid} =~ /^\d+$/;
	return $s;
}

# A session whose first statement may have to wait (a class at its
# transaction-gate limit): it only SETs its application_name, which never
# enters the gate, and its pid is read by the control session.
my $gated_sessions = 0;
sub gated_session
{
	my $node = ref $_[0] ? shift : $default_node;
	my ($role) = @_;
	my $name = 'pgb_gated_' . $$ . '_' . ++$gated_sessions;
	my $s = { stdin => '', stdout => '', stderr => '', role => $role };
	$s->{run} = IPC::Run::start(
		[
			'psql', '-XAtq', '-v', 'ON_ERROR_STOP=0', '-d',
			$node->connstr('postgres') . " user=$role", '-f', '-'
		],
		'<', \$s->{stdin}, '>', \$s->{stdout}, '2>', \$s->{stderr});
	sess_query($s, "SET application_name = '$name'");
	$s->{pid} = ctl("SELECT pid FROM pg_stat_activity WHERE application_name = '$name'");
	die "session of $role did not start: [$s->{stdout}] [$s->{stderr}]"
	  unless defined $s->{pid} && $s->{pid} =~ /^\d+$/;
	return $s;
}

sub alive
{
	my ($s) = @_;
	return $s->{run}->pumpable;
}

sub sess_send
{
	my ($s, $sql) = @_;
	$s->{stdin} .= "$sql\n";
	$s->{run}->pump_nb if alive($s);
}

# Pump until the client's output matches $re, or it exited, or $secs
# passed.  True if it matched.
sub sess_wait
{
	my ($s, $re, $secs) = @_;
	my $deadline = time + ($secs // 30);
	while (1)
	{
		return 1 if ($s->{stdout} . $s->{stderr}) =~ $re;
		return 0 if !alive($s) || time > $deadline;
		$s->{run}->pump_nb;
		usleep(2_000);
	}
}

sub sess_wait_exit
{
	my ($s, $secs) = @_;
	my $deadline = time + ($secs // 30);
	while (alive($s) && time < $deadline)
	{
		$s->{run}->pump_nb;
		usleep(5_000);
	}
	return !alive($s);
}

# Run $sql and return what it printed on stdout (undef if it did not
# finish within $secs).
sub sess_query
{
	my ($s, $sql, $secs) = @_;
	my $m = 'query-done-' . ++$marker;
	my $from = length $s->{stdout};
	$sql .= ';' unless $sql =~ /;\s*$/;
	sess_send($s, "$sql\n\\echo $m");
	return undef unless sess_wait($s, qr/^\Q$m\E$/m, $secs // 30);
	my $out = substr($s->{stdout}, $from);
	$out =~ s/\n?\Q$m\E\n.*//s;
	return $out;
}

# Like sess_query, but also return what it printed on stderr.
sub sess_query_err
{
	my ($s, $sql) = @_;
	my $from = length $s->{stderr};
	my $out = sess_query($s, $sql);
	return ($out, substr($s->{stderr}, $from));
}

sub sess_close
{
	my ($s) = @_;
	$s->{stdin} .= "\\q\n" if alive($s);
	$s->{run}->finish;
}

# The control session: the one ctl(), wait_ctl() and status() query.
sub control_session
{
	$ctl = session(@_);
	return $ctl;
}

# Run $sql in the control session; die if it fails.
sub ctl
{
	my ($sql) = @_;
	my $errs = length $ctl->{stderr};
	my $out = sess_query($ctl, $sql);
	die "control query failed: $sql: " . substr($ctl->{stderr}, $errs)
	  if !defined $out || length $ctl->{stderr} > $errs;
	return $out;
}

# Poll $sql in the control session until it returns $expected.
sub wait_ctl
{
	my ($sql, $expected, $secs) = @_;
	my $deadline = time + ($secs // 30);
	my $got;
	while (1)
	{
		$got = ctl($sql);
		return 1 if $got eq $expected;
		last if time > $deadline;
		usleep(20_000);
	}
	Test::More::diag("waited for [$sql] to return [$expected], last got [$got]");
	return 0;
}

# A session of $role in a transaction (BEGIN; SELECT 1): at the gate it
# holds a place of its class until it ends the transaction.
sub holding
{
	my $s = session(@_);
	sess_query($s, 'BEGIN; SELECT 1');
	return $s;
}

# Poll until the session $s (or the backend of pid $s) is queued at the
# gate, for at most $secs (30).
sub queued
{
	my ($s, $secs) = @_;
	my $pid = ref $s ? $s->{pid} : $s;
	return wait_ctl("SELECT queued FROM pg_budget_backends WHERE pid = $pid", 't', $secs);
}

# "col=value col=value" of a class's row in pg_budget_status.
sub status
{
	my ($class, @cols) = @_;
	my $sel = join(" || ' ' || ",
		map { "'$_=' || coalesce(${_}::text, 'null')" } @cols);
	return ctl("SELECT $sel FROM pg_budget_status WHERE class = '$class'");
}

# $node->psql with the SQL in a file (-f), not on stdin: a login that is
# refused ends psql before it reads stdin, and writing to it then fails
# with EPIPE inside IPC::Run (a flake seen under load).
my $sql_files = 0;
sub psql_c
{
	my ($node, $db, $sql, %params) = @_;
	my $file = $PostgreSQL::Test::Utils::tmp_check . '/pgb_sql_' . $$ . '_' . $sql_files++ . '.sql';
	open(my $fh, '>', $file) or die "$file: $!";
	print $fh $sql, "\n";
	close $fh;
	$params{extra_params} = [ @{ $params{extra_params} // [] }, '-f', $file ];
	my @r = $node->psql($db, '', %params);
	unlink $file;
	return @r;
}

# One login as $role to the default node: (exit code, stdout, stderr).
sub login
{
	my ($role, $sql) = @_;
	return psql_c($default_node,
		'postgres', $sql // 'SHOW pg_budget.class',
		connstr => $default_node->connstr('postgres') . " user=$role",
		extra_params => ['-w'],
		on_error_stop => 0);
}

1;
