#!/usr/bin/env bash
# The version matrix: build pg_budget with -Wall -Wextra -Werror and run the
# whole test command of README.md (scripts/test.sh) on each PostgreSQL
# version.  15 runs on the host (Debian 12); 17 and 18 run in Debian chroots
# (trixie, forky) made here from the host's own apt mirror and reused
# between runs.  The forky chroot also carries PostgreSQL 17 from trixie, so
# that the cross-version pg_upgrade test (t/031_upgrade.pl) runs there.
#
#   bash scripts/matrix.sh [15|17|18|all]     (default: all)
#   bash scripts/matrix.sh prepare [17|18]    only make the chroots
#
# PROVE_TESTS (e.g. "t/060_cpu.pl t/087_memory_doubling.pl") runs only those
# TAP tests, in the chroots as on the host.
#
# (prepare 15 makes a bookworm chroot: scripts/package.sh builds and tests
# the Debian package of 15 there, with its own PGB_CHROOT_PACKAGES.)
#
# Runs as root.  Chroots live under $PGB_CHROOT_DIR (default
# /var/tmp/pg_budget-chroots), about 2 GB each.
set -uo pipefail
PGB_TOP=$(cd "$(dirname "$0")/.." && pwd)
CHROOTS=${PGB_CHROOT_DIR:-/var/tmp/pg_budget-chroots}

[ "$(id -u)" = 0 ] || { echo "matrix.sh: run as root (it makes chroots)" >&2; exit 1; }

suite_of() {
	case "$1" in
		15) echo bookworm ;;
		17) echo trixie ;;
		18) echo forky ;;
		*) echo "matrix.sh: no chroot for PostgreSQL $1" >&2; return 1 ;;
	esac
}

# The mirror is read from the machine's own apt sources, never written here.
host_mirror() {
	local m=""
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		m=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
	fi
	if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
		m=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
	fi
	[ -n "$m" ] || { echo "matrix.sh: no apt mirror found in /etc/apt" >&2; return 1; }
	echo "$m"
}

mounts_up() {
	local dir=$1
	mountpoint -q "$dir/proc" || mount -t proc proc "$dir/proc"
	mkdir -p "$dir/dev/shm"
	mountpoint -q "$dir/dev/shm" || mount -t tmpfs -o mode=1777 shm "$dir/dev/shm"
	mkdir -p "$dir/dev/pts"
	mountpoint -q "$dir/dev/pts" || mount -t devpts -o newinstance,ptmxmode=0666 devpts "$dir/dev/pts" 2>/dev/null || true
	# the cgroup hierarchies, so that t/060_cpu.pl runs on 17 and 18 too
	if [ -d /sys/fs/cgroup ]; then
		mkdir -p "$dir/sys/fs/cgroup"
		mountpoint -q "$dir/sys/fs/cgroup" || mount --rbind /sys/fs/cgroup "$dir/sys/fs/cgroup"
	fi
}

mounts_down() {
	local dir=$1 m
	for m in sys/fs/cgroup dev/pts dev/shm proc; do
		mountpoint -q "$dir/$m" && umount -l "$dir/$m"
	done
	return 0
}

in_chroot() {
	local dir=$1
	shift
	chroot "$dir" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive CI="${CI:-}" \
		PROVE_FLAGS="${PROVE_FLAGS:-}" PROVE_TESTS="${PROVE_TESTS:-}" "$@"
}

# Make (or reuse) the chroot of a version, with the packages of its test run.
prepare() {
	local ver=$1 suite dir mirror script="" aptopt=""
	suite=$(suite_of "$ver") || return 1
	dir=$CHROOTS/$suite
	mirror=$(host_mirror) || return 1
	if [ ! -x "$dir/usr/bin/apt-get" ] || [ ! -f "$dir/.pgb-debootstrap-done" ]; then
		command -v debootstrap >/dev/null || apt-get install -y -q --no-install-recommends debootstrap
		[ -f "/usr/share/debootstrap/scripts/$suite" ] || script=/usr/share/debootstrap/scripts/sid
		echo "== [$ver] debootstrap $suite into $dir"
		rm -rf "$dir"
		mkdir -p "$CHROOTS"
		debootstrap --variant=minbase "$suite" "$dir" "$mirror" $script >"$CHROOTS/$suite-debootstrap.log" 2>&1 \
			|| { echo "debootstrap failed, see $CHROOTS/$suite-debootstrap.log" >&2; tail -5 "$CHROOTS/$suite-debootstrap.log"; return 1; }
		touch "$dir/.pgb-debootstrap-done"
	fi
	# forky's Release file on the mirror may be past its Valid-Until date
	aptopt="-o Acquire::Check-Valid-Until=false"
	{
		echo "deb $mirror $suite main"
		# PostgreSQL 17 beside 18 for the cross-version pg_upgrade test
		[ "$ver" = 18 ] && echo "deb $mirror trixie main"
	} >"$dir/etc/apt/sources.list"
	cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
	mounts_up "$dir"
	local pkgs
	pkgs=$(PGB_PG_VERSION=$ver bash -c ". '$PGB_TOP/scripts/common.sh'; echo \$PGB_PACKAGES")
	[ "$ver" = 18 ] && pkgs="$pkgs postgresql-17 postgresql-server-dev-17"
	# scripts/package.sh names its own list (the package build and test)
	[ -n "${PGB_CHROOT_PACKAGES:-}" ] && pkgs=$PGB_CHROOT_PACKAGES
	# skip apt entirely when everything is there already
	if ! in_chroot "$dir" dpkg-query -W -f='${Status}\n' $pkgs 2>/dev/null | grep -qv "ok installed" &&
		[ "$(in_chroot "$dir" dpkg-query -W -f='${Status}\n' $pkgs 2>/dev/null | wc -l)" -eq "$(echo $pkgs | wc -w)" ]; then
		echo "== [$ver] chroot $dir is ready"
		return 0
	fi
	echo "== [$ver] installing packages in $dir"
	in_chroot "$dir" apt-get $aptopt update -q >"$CHROOTS/$suite-apt.log" 2>&1 &&
		in_chroot "$dir" apt-get $aptopt install -y -q --no-install-recommends $pkgs >>"$CHROOTS/$suite-apt.log" 2>&1 \
		|| { echo "apt-get failed in $dir, see $CHROOTS/$suite-apt.log" >&2; tail -20 "$CHROOTS/$suite-apt.log"; return 1; }
	echo "== [$ver] chroot $dir is ready"
}

run_version() {
	local ver=$1 suite dir start rc summary=""
	start=$(date +%s)
	if [ "$ver" = 15 ]; then
		echo "== [15] on the host"
		PGB_PG_VERSION=15 bash "$PGB_TOP/scripts/test.sh"
		rc=$?
		summary=$PGB_TOP/test-summary.txt
	else
		suite=$(suite_of "$ver") || return 1
		dir=$CHROOTS/$suite
		prepare "$ver" || return 1
		rm -rf "$dir/pg_budget-src"
		mkdir -p "$dir/pg_budget-src"
		(cd "$PGB_TOP" && tar --exclude=.git --exclude='*.o' --exclude='*.so' --exclude=tmp_check \
			--exclude=tmp_regress --exclude=demo-output -cf - .) | tar -xf - -C "$dir/pg_budget-src"
		echo "== [$ver] in the $suite chroot"
		local old=""
		# 18's chroot carries 17 too: the cross-version pg_upgrade test
		[ "$ver" = 18 ] && old=/usr/lib/postgresql/17/bin/pg_config
		# the fuzzer tests pure C: a short run shows it builds there too
		in_chroot "$dir" env PGB_PG_VERSION="$ver" PGB_OLD_PG_CONFIG="$old" \
			FUZZ_SECONDS="${FUZZ_SECONDS_CHROOT:-10}" \
			bash /pg_budget-src/scripts/test.sh
		rc=$?
		summary=$dir/pg_budget-src/test-summary.txt
		mounts_down "$dir"
	fi
	RESULTS+=("PostgreSQL $ver: $([ $rc = 0 ] && echo passed || echo FAILED) ($(( $(date +%s) - start )) s)")
	if [ $rc != 0 ]; then
		FAILURES+=("== what failed on PostgreSQL $ver")
		if [ -s "$summary" ]; then
			while IFS= read -r line; do FAILURES+=("   $line"); done <"$summary"
		else
			FAILURES+=("   (no summary: the run stopped before its tests; see above)")
		fi
	fi
	return $rc
}

# scripts/package.sh sources this file for the functions above
[ "${PGB_MATRIX_LIB:-}" = 1 ] && return 0

RESULTS=()
FAILURES=()
case "${1:-all}" in
	prepare)
		shift
		rc=0
		for v in "${@:-17 18}"; do
			for w in $v; do prepare "$w" || rc=1; mounts_down "$CHROOTS/$(suite_of "$w")"; done
		done
		exit $rc ;;
	all) versions="15 17 18" ;;
	15|17|18) versions=$1 ;;
	*) echo "usage: $0 [15|17|18|all] | prepare [17|18]" >&2; exit 2 ;;
esac

status=0
for v in $versions; do
	run_version "$v" || status=1
done
echo "== version matrix"
for r in "${RESULTS[@]}"; do echo "   $r"; done
for r in "${FAILURES[@]}"; do echo "$r"; done
exit $status
