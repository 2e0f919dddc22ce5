# For the TAP tests of CPU weights (t/06x): the cgroup directory they are
# given, and reading the kernel's files in it.
#
# PGB_TEST_CGROUP_V1: a directory of cgroup v1's cpu hierarchy owned by the
# server's OS user (scripts/test.sh makes it on this project's machines).
# PGB_TEST_CGROUP_V2: a cgroup v2 directory delegated to the server's OS
# user as systemd's Delegate=yes does (the directory, its cgroup.procs,
# cgroup.subtree_control and cgroup.threads owned by that user, the cpu
# controller in its cgroup.controllers); scripts/uml-v2.sh makes one in a
# user-mode Linux kernel and runs the tests from a leaf of it, as a
# delegated service keeps its own processes.  The tests then set
# pg_budget.cgroup to it, as doc/cpu.md tells a DBA to set it to the
# service's cgroup.
package PgbCgroup;

use strict;
use warnings;
use Exporter 'import';
use Test::More;
use Time::HiRes qw(time usleep);

our @EXPORT = qw(cgroup_dir read_file write_file in_cgroup wait_until cgroup_clean
  weight_file weight_value own_cgroup);

# Is this a v2 run?  Set by cgroup_dir.
our $v2 = 0;

# The directory and 'v1' or 'v2'; the whole test is skipped when neither
# variable is set.  writable => 1: given, it must be usable (one test): a
# broken set-up fails, it does not skip.
sub cgroup_dir
{
	my (%o) = @_;
	my $d1 = $ENV{PGB_TEST_CGROUP_V1} // '';
	my $d2 = $ENV{PGB_TEST_CGROUP_V2} // '';
	plan skip_all =>
	  'neither PGB_TEST_CGROUP_V1 nor PGB_TEST_CGROUP_V2 is set (scripts/test.sh sets the first, run as root on a machine with /sys/fs/cgroup/cpu, to a directory of the cpu hierarchy owned by the server user; scripts/uml-v2.sh the second, to a cgroup v2 directory delegated to it)'
	  if $d1 eq '' && $d2 eq '';
	if ($d1 ne '')
	{
		if ($o{writable})
		{
			ok(-d $d1 && -f "$d1/cpu.shares" && -w "$d1/cgroup.procs",
				"PGB_TEST_CGROUP_V1=$d1 is a cpu cgroup the server user may write")
			  or BAIL_OUT("$d1 is not a writable cgroup v1 cpu directory");
		}
		return ($d1, 'v1');
	}
	$v2 = 1;
	if ($o{writable})
	{
		my $controllers = read_file("$d2/cgroup.controllers") // '';
		ok( -d $d2
			  && -w $d2
			  && -w "$d2/cgroup.procs"
			  && -w "$d2/cgroup.subtree_control"
			  && grep({ $_ eq 'cpu' } split /\s+/, $controllers),
			"PGB_TEST_CGROUP_V2=$d2 is a cgroup v2 delegated to the server user, with the cpu controller ($controllers)"
		) or BAIL_OUT("$d2 is not a delegated cgroup v2 directory with the cpu controller");
	}
	return ($d2, 'v2');
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

# Write $text to a file (a cgroup file: one write); true if the kernel
# took it, else $! says why.
sub write_file
{
	my ($path, $text) = @_;
	open(my $fh, '>', $path) or return 0;
	my $ok = print $fh $text;
	return close($fh) && $ok;
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

# The file of a class's weight: cpu.weight (v2) or cpu.shares (v1).
sub weight_file
{
	return $v2 ? 'cpu.weight' : 'cpu.shares';
}

# What that file holds for cpu=W (doc/cpu.md): W on v2, W * 1024 / 100 on v1.
my %shares = (1 => 10, 30 => 307, 50 => 512, 100 => 1024, 200 => 2048);

sub weight_value
{
	my ($w) = @_;
	die "no cpu.shares known for cpu=$w" unless $v2 || exists $shares{$w};
	return $v2 ? $w : $shares{$w};
}

# v2: the cgroup directory of this process (/proc/self/cgroup's "0::"
# line), undef on v1 (where the tests run outside the directory given).
sub own_cgroup
{
	return undef unless $v2;
	my ($path) = (read_file('/proc/self/cgroup') // '') =~ /^0::(\S+)$/m;
	return defined $path ? "/sys/fs/cgroup$path" : undef;
}

# Once the server has stopped: remove the directories it made in $cg
# (those of the classes and the server's leaf), children first; the
# directory this test runs in (v2: a leaf of $cg, see above) is not the
# test's to remove.  On v2 a process that exited stays in its cgroup until
# its parent reaps it (the postmaster's parent is init once pg_ctl has
# exited), and the directory can not be removed meanwhile though its
# cgroup.procs is empty: such a directory is tried again for a few seconds.
sub cgroup_clean
{
	my ($cg) = @_;
	my $own = own_cgroup() // '';
	for my $d (sort { length($b) <=> length($a) } glob("$cg/*/*"), glob("$cg/*"))
	{
		next unless -d $d;
		next if $own eq $d || index($own, "$d/") == 0;
		my $deadline = time + 10;
		until (rmdir($d))
		{
			my $err = "$!";
			my $busy = $!{EBUSY};
			my $procs = read_file("$d/cgroup.procs") // 'x';
			if ($busy && $procs eq '' && time < $deadline)
			{
				usleep(100_000);
				next;
			}
			diag("could not remove $d: $err" . ($procs ne '' ? " (cgroup.procs: $procs)" : ''));
			last;
		}
	}
}

1;
