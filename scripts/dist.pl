#!/usr/bin/perl
# The PGXN distribution: `make dist` runs
#	perl scripts/dist.pl SRCDIR NAME-VERSION [OUTDIR]
# and writes OUTDIR/NAME-VERSION.zip (OUTDIR defaults to the current
# directory), every file under the top directory NAME-VERSION/.  In a git
# checkout the files are the tracked ones (git ls-files: their content in
# the working tree); elsewhere (a copy without .git, an unpacked
# distribution) every file but version control and build output.  Either
# way nothing of .git, .ci, objects, libraries, test outputs or Debian
# build products goes in.  Only core Perl modules are used.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Find;
use IO::Compress::Zip qw(zip $ZipError);

my ($srcdir, $distname, $outdir) = @ARGV;
die "usage: $0 SRCDIR NAME-VERSION [OUTDIR]\n" unless defined $distname;
$outdir = abs_path($outdir // '.') // die "no directory $outdir\n";
chdir $srcdir or die "cd $srcdir: $!\n";

# never shipped, whatever lists them
my $skip = qr{
	(?:^|/)\.git(?:/|$) | ^\.ci/ | ^\.gitignore$
	| \.(?:o|so|bc|a|zip)$
	| ^(?:results|tmp_check|tmp_regress|log|output_iso|demo-output|bench/out)/
	| ^regression\.(?:diffs|out)$
	| ^test/unit/build | ^test/fuzz/build/
	| ^debian/(?:postgresql-[0-9]+-pg-budget[^/]*/|\.debhelper/|files$|debhelper-build-stamp$|[^/]*\.substvars$|[^/]*\.log$)
}x;

my @files;
if (!$ENV{PGB_DIST_NO_GIT} && -e '.git' && system('git rev-parse --is-inside-work-tree >/dev/null 2>&1') == 0)
{
	@files = split /\0/, `git ls-files -z`;
	die "git ls-files failed\n" if $?;
	# a tracked file deleted in the working tree is not packed
	@files = grep { -f $_ } @files;
}
else
{
	find(
		{
			no_chdir => 1,
			wanted => sub {
				my $f = $File::Find::name =~ s{^\./}{}r;
				if (-d $_ && $f ne '.' && "$f/" =~ $skip)
				{
					$File::Find::prune = 1;
					return;
				}
				push @files, $f if -f $_;
			}
		},
		'.');
}
@files = sort grep { $_ !~ $skip } @files;
die "no files to pack\n" unless @files;

my $zipfile = "$outdir/$distname.zip";
unlink $zipfile;
my $first = 1;
my $z;
for my $f (@files)
{
	my @st = stat $f or die "stat $f: $!\n";
	my %opt = (
		Name => "$distname/$f",
		Time => $st[9],
		ExtAttr => (($st[2] & 07777) | 0100000) << 16);
	if ($first)
	{
		$z = IO::Compress::Zip->new($zipfile, %opt) or die "zip: $ZipError\n";
		$first = 0;
	}
	else
	{
		$z->newStream(%opt) or die "zip: $ZipError\n";
	}
	open my $in, '<:raw', $f or die "$f: $!\n";
	local $/;
	my $data = <$in>;
	$z->print($data) if length $data;
	close $in;
}
$z->close;
print "$zipfile: ", scalar(@files), " files under $distname/\n";
