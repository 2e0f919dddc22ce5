# The release files, without a server (runs alone too: prove t/033_dist.pl):
# META.json has what the PGXN meta spec 1.0.0 requires; the version is one
# (pg_budget.control's default_version) and META.json, debian/changelog, the
# newest update script and the package name in README's Install section
# agree with it; `make dist` makes pg_budget-<version>.zip with everything
# under pg_budget-<version>/, META.json, the scripts, sources and tests,
# and no .git or build output.  t/034_release.pl checks what the server
# makes of the scripts.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use File::Temp qw(tempdir);
use IO::Uncompress::Unzip qw($UnzipError);

sub slurp
{
	my $f = shift;
	open my $fh, '<:raw', $f or die "$f: $!";
	local $/;
	return <$fh>;
}

my $control = slurp('pg_budget.control');
my ($version) = $control =~ /^\s*default_version\s*=\s*'([^']+)'/m;
ok(defined $version, "pg_budget.control has a default_version: @{[ $version // 'none' ]}");
$version //= '';
my $semver = qr/^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-[0-9A-Za-z.-]+)?$/;
like($version, $semver, 'the version is a semantic version, as PGXN wants');

# META.json against the spec's required keys
my $meta = eval { decode_json(slurp('META.json')) };
ok($meta, 'META.json is valid JSON') or diag($@);
$meta //= {};
for my $key (qw(name abstract version maintainer license provides meta-spec))
{
	ok(exists $meta->{$key}, "META.json has the required key '$key'");
}
is($meta->{name}, 'pg_budget', 'META.json name is the extension');
ok(!ref $meta->{abstract} && length($meta->{abstract} // ''), 'the abstract is a non-empty string');
my @maint = ref $meta->{maintainer} eq 'ARRAY' ? @{ $meta->{maintainer} } : ($meta->{maintainer} // ());
ok(@maint && !grep({ ref $_ || !length $_ } @maint), 'maintainer is a string or a list of strings');
my %licenses = map { $_ => 1 }
  qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0
  mit mozilla_1_0 mozilla_1_1 openssl perl_5 postgresql qpl_1_0 ssleay sun zlib
  open_source restricted unrestricted unknown);
ok(ref $meta->{license} eq 'HASH' || $licenses{ $meta->{license} // '' },
	"license is one the spec knows: @{[ $meta->{license} // 'none' ]}");
is(ref $meta->{'meta-spec'}, 'HASH', 'meta-spec is an object');
is($meta->{'meta-spec'}{version}, '1.0.0', 'meta-spec version 1.0.0');
is(ref $meta->{provides}, 'HASH', 'provides is an object');
ok(exists $meta->{provides}{pg_budget}, 'provides names the extension pg_budget');
for my $ext (sort keys %{ $meta->{provides} // {} })
{
	my $p = $meta->{provides}{$ext};
	ok(defined $p->{file} && -f $p->{file}, "provides $ext: file exists (@{[ $p->{file} // 'none' ]})");
	like($p->{version} // '', $semver, "provides $ext: version is a semantic version");
}
if (exists $meta->{release_status})
{
	like($meta->{release_status}, qr/^(stable|testing|unstable)$/, 'release_status is one the spec knows');
}

# one version everywhere
is($meta->{version}, $version, 'META.json version is the control file\'s default_version');
is($meta->{provides}{pg_budget}{version}, $version, 'META.json provides pg_budget at that version');
my ($debversion) = slurp('debian/changelog') =~ /\A\S+ \(([^)]+)\)/;
ok(defined $debversion, "debian/changelog has a first entry: @{[ $debversion // 'none' ]}");
$debversion //= '';
is($debversion =~ s/-[^-]+$//r, $version, 'debian/changelog\'s newest entry is that upstream version');
my @updates = sort map { m{/pg_budget--[0-9.]+--([0-9.]+)\.sql$} ? $1 : () } glob('sql/pg_budget--*--*.sql');
ok(grep({ $_ eq $version } @updates), "an update script ends in $version (sql/pg_budget--*--$version.sql)");
like(slurp('README.md'), qr/apt install \.\/postgresql-15-pg-budget_\Q$debversion\E_amd64\.deb/,
	"README's Install section names the package of $debversion");

# make dist, from the checkout (git ls-files) and as from a copy without .git
my $make = $ENV{MAKE} // 'make';
for my $mode ('', 'PGB_DIST_NO_GIT=1')
{
	my $out = tempdir(CLEANUP => 1);
	my $label = $mode ? 'without git' : (-e '.git' ? 'in the checkout' : 'in a copy without .git');
	my $cmd = "$mode $make -s dist DIST_OUT=$out" . ($ENV{PG_CONFIG} ? " PG_CONFIG=$ENV{PG_CONFIG}" : '');
	my $said = `$cmd 2>&1`;
	is($?, 0, "make dist ($label)") or diag($said);
	my $zip = "$out/pg_budget-$version.zip";
	ok(-f $zip, "make dist ($label) wrote pg_budget-$version.zip") or next;

	my (%names, $zmeta);
	my $u = IO::Uncompress::Unzip->new($zip) or die "unzip: $UnzipError";
	for (my $status = 1; $status > 0; $status = $u->nextStream)
	{
		my $name = $u->getHeaderInfo->{Name};
		$names{$name} = 1;
		if ($name eq "pg_budget-$version/META.json")
		{
			local $/;
			$zmeta = <$u>;
		}
	}
	my @outside = grep { !m{^pg_budget-\Q$version\E/} } keys %names;
	is("@outside", '', "($label) every file is under pg_budget-$version/");
	my @want = ('META.json', 'pg_budget.control', 'Makefile', 'README.md', 'LICENSE',
		'test/regress.conf', 'debian/control.in', 't/033_dist.pl',
		map { s{^\./}{}r } glob('sql/pg_budget--*.sql src/*.c src/*.h sql/*.sql expected/*.out'));
	my @missing = grep { !$names{"pg_budget-$version/$_"} } @want;
	is("@missing", '', "($label) META.json, the install and update scripts, sources and tests are in");
	my @junk = grep {
		m{/\.git/|\.(o|so|bc)$|^pg_budget-\Q$version\E/(results|tmp_check|tmp_regress|test/unit/build[^/]*|test/fuzz/build)/|/regression\.(diffs|out)$}
	} sort keys %names;
	is("@junk", '', "($label) no .git and no build output");
	is($zmeta, slurp('META.json'), "($label) the zip's META.json is the tree's");
}

done_testing();
