# For the TAP tests of CPU weights (t/06x): the cgroup v1 directory of the
# cpu hierarchy that scripts/test.sh makes and gives in
# PGB_TEST_CGROUP_V1, and reading the kernel's files in it.
package PgbCgroup;

use strict;
use warnings;
use Exporter 'import';
use Test::More;
use Time::HiRes qw(time usleep);

our @EXPORT = qw(cgroup_v1_dir read_file in_cgroup wait_until cgroup_clean);

# The directory; the whole test is skipped without one.  writable => 1:
# given, it must be usable (one test): a broken set-up fails, it does not
# skip.
sub cgroup_v1_dir
{
	my (%o) = @_;
	my $cg = $ENV{PGB_TEST_CGROUP_V1};
	plan skip_all =>
	  'PGB_TEST_CGROUP_V1 is not set (scripts/test.sh sets it, run as root on a machine with /sys/fs/cgroup/cpu, to a directory of the cpu hierarchy owned by the server user)'
	  unless defined $cg && $cg ne '';
	if ($o{writable})
	{
		ok(-d $cg && -f "$cg/cpu.shares" && -w "$cg/cgroup.procs",
			"PGB_TEST_CGROUP_V1=$cg is a cpu cgroup the server user may write")
		  or BAIL_OUT("$cg is not a writable cgroup v1 cpu directory");
	}
	return $cg;
}

# A file's text without its trailing white space, undef if unreadable.
sub read_file
{
	my ($path) = @_;
	open(my $fh, '<', $path) or return undef;
	local $/;
	my $s = <$fh>;
	close $fh;
	$s =~ s/\s+\z// if defined $s;
	return $s;
}

# Is $pid listed in the cgroup.procs of $dir (the kernel's own file)?
sub in_cgroup
{
	my ($dir, $pid) = @_;
	my $procs = read_file("$dir/cgroup.procs") // '';
	return scalar grep { $_ eq $pid } split /\n/, $procs;
}

# Poll until $cond returns true, every $poll_ms (50) for 30 s (a reload
# is carried out by the worker).
sub wait_until
{
	my ($cond, $what, $poll_ms) = @_;
	my $deadline = time + 30;
	while (time < $deadline)
	{
		return 1 if $cond->();
		usleep(1000 * ($poll_ms // 50));
	}
	diag("timed out waiting for $what");
	return 0;
}

# Once the server has stopped: remove the directories it made in $cg
# (those of the classes and the server's leaf), children first.
sub cgroup_clean
{
	my ($cg) = @_;
	for my $d (sort { length($b) <=> length($a) } glob("$cg/*/*"), glob("$cg/*"))
	{
		next unless -d $d;
		rmdir($d) or diag("could not remove $d: $!");
	}
}

1;
