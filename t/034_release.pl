# The version of a release is written in several places that must agree:
# pg_budget.control's default_version, META.json's version and its
# provides version (with a file that exists), the chain of scripts in sql/
# (every install script reaches default_version by update scripts, none
# goes past it), the version the pgTAP suite expects, and what the server
# makes of them (CREATE EXTENSION installs default_version, and
# pg_extension_update_paths finds a path from every older version).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PgbNode;
use JSON::PP;

sub vcmp
{
	my ($x, $y) = @_;
	my @x = split /\./, $x;
	my @y = split /\./, $y;
	while (@x || @y)
	{
		my $c = (shift(@x) // 0) <=> (shift(@y) // 0);
		return $c if $c;
	}
	return 0;
}

my $control = slurp_file('pg_budget.control');
my ($default) = $control =~ /^\s*default_version\s*=\s*'([^']+)'/m;
ok(defined $default, "pg_budget.control has a default_version: @{[ $default // 'none' ]}");

my $meta = decode_json(slurp_file('META.json'));
is($meta->{version}, $default, 'META.json version is the control file\'s default_version');
is($meta->{provides}{pg_budget}{version}, $default,
	'META.json provides pg_budget at that version');
ok(-f $meta->{provides}{pg_budget}{file},
	"META.json's provides file exists: $meta->{provides}{pg_budget}{file}");

# the scripts: pg_budget--V.sql installs V, pg_budget--A--B.sql updates A to B
my (%install, %update);
for my $f (glob('sql/pg_budget--*.sql'))
{
	if ($f =~ m{/pg_budget--([0-9.]+)--([0-9.]+)\.sql$})
	{
		push @{ $update{$1} }, $2;
	}
	elsif ($f =~ m{/pg_budget--([0-9.]+)\.sql$})
	{
		$install{$1} = 1;
	}
	else
	{
		fail("a script named neither pg_budget--V.sql nor pg_budget--A--B.sql: $f");
	}
}
ok(scalar keys %install, 'there is an install script: ' . join(' ', sort keys %install));
ok(!exists $update{$default}, "no update script starts at $default (nothing past the release)");
for my $from (sort keys %update)
{
	for my $to (@{ $update{$from} })
	{
		cmp_ok(vcmp($from, $to), '<', 0, "update $from to $to goes forward");
		cmp_ok(vcmp($to, $default), '<=', 0, "update $from to $to goes no further than $default");
	}
}
for my $start (sort keys %{ { %install, map { $_ => 1 } keys %update } })
{
	my %seen = ($start => 1);
	my @todo = ($start);
	while (my $v = shift @todo)
	{
		for my $to (@{ $update{$v} // [] })
		{
			push @todo, $to unless $seen{$to}++;
		}
	}
	ok($seen{$default}, "$default is reached from $start");
}
like(slurp_file('test/pgtap/objects.sql'), qr/'\Q$default\E', 'pg_budget is at version \Q$default\E'/,
	"the pgTAP suite expects $default");

# what the server makes of it
my $node = pgb_node('release', extension => 0);
is($node->safe_psql('postgres',
		q{SELECT default_version FROM pg_available_extensions WHERE name = 'pg_budget'}),
	$default, 'the installed control file says the same');
pgb_setup($node);
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'pg_budget'}),
	$default, "CREATE EXTENSION pg_budget installs $default");
is($node->safe_psql('postgres',
		qq{SELECT string_agg(source, ' ' ORDER BY source) FROM pg_extension_update_paths('pg_budget')
		    WHERE target = '$default' AND path IS NULL}),
	'', "the server finds a path to $default from every version it knows");
is($node->safe_psql('postgres',
		q{SELECT string_agg(version, ' ' ORDER BY version) FROM pg_available_extension_versions
		   WHERE name = 'pg_budget'}),
	join(' ', sort { vcmp($a, $b) } keys %{ { map { $_ => 1 } keys(%install), keys(%update), map { @$_ } values %update } }),
	'the server knows exactly the versions of the scripts');
$node->stop;
done_testing();
