# A budgeted node for the TAP tests, from a compact description:
#
#   my $node = pgb_node('gate',
#       init    => { allows_streaming => 1 },   # options of init, or a
#                                               # sub of the node giving them
#       conf    => "max_connections = 40\n",    # postgresql.conf lines
#       classes => 'web(priority=100), ai(active=3, priority=10)',
#       quick_worker => 1,      # aimd_interval 200ms, calm_time 1s,
#                               # pressure_window 500ms
#       hba     => "local replication all trust\n",   # pg_hba.conf lines
#       roles   => [ w => 'web', a => 'ai', suai => [ 'ai', 'SUPERUSER' ],
#                    plain => undef, mon => [ undef, 'IN ROLE pg_monitor' ] ],
#       sql     => 'CREATE TABLE t (i int);',    # after the roles
#       session => 1);                           # PgbSession's default node
#
# makes PostgreSQL::Test::Cluster->new($name), init, writes
# shared_preload_libraries = 'pg_budget', conf and pg_budget.classes,
# starts it, and in one psql: CREATE EXTENSION pg_budget, CREATE ROLE
# name LOGIN [attributes] for each role, ALTER ROLE name SET
# pg_budget.class for each role that has a class, then sql.  roles is a
# list of pairs (created in that order) or a hash (in name order); a
# role's value is its class, or [ class, attributes ], the class undef for
# none.
#
# start => 0 leaves the node stopped and runs no SQL (pgb_setup($node,
# roles => ..., sql => ...) does that part later); extension => 0 leaves
# out CREATE EXTENSION; install_path is passed to new.
#
# Also: pgb_roles_sql(roles) the role statements alone; poll_is($bg,
# $sql, $expected, $name) polls a BackgroundPsql session; start_fails(
# $node, $line, $re, $what) tests that a line of postgresql.conf stops
# the start, saying why in the log.
package PgbNode;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PgbSession ();
use Test::More;
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Utils qw(slurp_file);

our @EXPORT = qw(pgb_node pgb_setup pgb_roles_sql pgb_spin_sql poll_is start_fails);

# quick_worker => 1: the worker's pressure and AIMD at a pace a test can
# wait for
my $quick_worker = q{pg_budget.aimd_interval = 200ms
pg_budget.calm_time = 1s
pg_budget.pressure_window = 500ms
};

sub ident
{
	my ($name) = @_;
	return $name if $name =~ /^[a-z_][a-z0-9_]*$/;
	(my $q = $name) =~ s/"/""/g;
	return qq{"$q"};
}

# The CREATE ROLE and ALTER ROLE statements of a roles description.
sub pgb_roles_sql
{
	my ($roles) = @_;
	my @pairs =
	  ref $roles eq 'HASH'
	  ? map { ($_ => $roles->{$_}) } sort keys %$roles
	  : @{ $roles // [] };
	my ($create, $alter) = ('', '');
	while (my ($name, $spec) = splice(@pairs, 0, 2))
	{
		my ($class, $attrs) = ref $spec eq 'ARRAY' ? @$spec : ($spec, undef);
		$create .= 'CREATE ROLE ' . ident($name) . ' LOGIN' . (defined $attrs ? " $attrs" : '') . ";\n";
		$alter .= 'ALTER ROLE ' . ident($name) . " SET pg_budget.class = '$class';\n"
		  if defined $class;
	}
	return $create . $alter;
}

# On a running node: the extension, the roles and sql, in one psql.
# pgb_spin_sql: SQL for spin(secs), a statement that uses secs of the
# backend's own CPU time (not of the clock: on a busy machine the clock runs
# far ahead of a session's CPU time), and cpu_secs(), that CPU time.  For
# the node's sql => ..., run by a superuser (cpu_secs reads /proc/self/stat
# as its owner).
sub pgb_spin_sql
{
	return q{
-- the backend's own CPU time in seconds (utime + stime, 100 ticks a second)
CREATE FUNCTION cpu_secs() RETURNS float8 LANGUAGE sql SECURITY DEFINER AS
  $$ SELECT ((f[12])::bigint + (f[13])::bigint) / 100.0
     FROM string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') f $$;
-- spins until the statement has used secs of CPU (not of the clock: on a
-- busy machine the clock runs far ahead of a session's CPU time)
CREATE FUNCTION spin(secs float8) RETURNS bigint LANGUAGE plpgsql AS
  $$ DECLARE n bigint := 0; c0 float8 := cpu_secs(); t timestamptz := clock_timestamp();
     BEGIN
       LOOP
         n := n + 1;
         IF n % 20000 = 0 THEN
           EXIT WHEN cpu_secs() - c0 >= secs OR clock_timestamp() > t + interval '25 s';
         END IF;
       END LOOP;
       RETURN n;
     END $$;
};
}

sub pgb_setup
{
	my ($node, %opt) = @_;
	my $sql = '';
	$sql .= "CREATE EXTENSION pg_budget;\n" if $opt{extension} // 1;
	$sql .= pgb_roles_sql($opt{roles});
	$sql .= $opt{sql} if defined $opt{sql};
	$node->safe_psql('postgres', $sql) if $sql ne '';
	return $node;
}

sub pgb_node
{
	my ($name, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name,
		defined $opt{install_path} ? (install_path => $opt{install_path}) : ());
	PgbSession::set_node($node) if $opt{session};
	$node->init(ref $opt{init} eq 'CODE' ? $opt{init}->($node) : %{ $opt{init} // {} });
	my $conf = "shared_preload_libraries = 'pg_budget'\n";
	if (defined $opt{conf})
	{
		$conf .= $opt{conf};
		$conf .= "\n" unless $conf =~ /\n\z/;
	}
	$conf .= $quick_worker if $opt{quick_worker};
	$conf .= "pg_budget.classes = '$opt{classes}'\n" if defined $opt{classes};
	$node->append_conf('postgresql.conf', $conf);
	$node->append_conf('pg_hba.conf', $opt{hba}) if defined $opt{hba};
	return $node if defined $opt{start} && !$opt{start};
	$node->start;
	return pgb_setup($node, %opt);
}

# Poll $sql through the BackgroundPsql session $bg (a new session would
# count itself) until it returns $expected, ten times a second for about
# the default timeout; then test that it did.
sub poll_is
{
	my ($bg, $sql, $expected, $name) = @_;
	my $got;
	for (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default)
	{
		$got = $bg->query_safe($sql);
		last if $got eq $expected;
		usleep(100_000);
	}
	is($got, $expected, $name);
}

# With $line added to postgresql.conf the stopped $node does not start,
# and the log of the attempt matches $re: two tests, named after $what.
sub start_fails
{
	my ($node, $line, $re, $what) = @_;
	$node->append_conf('postgresql.conf', $line);
	my $offset = -s $node->logfile // 0;
	ok(!$node->start(fail_ok => 1), "server does not start: $what");
	like(slurp_file($node->logfile, $offset), $re, "start log names it: $what");
}

1;
