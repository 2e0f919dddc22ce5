# Shared by the demo and test scripts: install what a fresh Debian machine
# lacks, build and install pg_budget, and run commands as an unprivileged
# OS user (initdb refuses root).

# PGB_PG_VERSION picks the server (15 on Debian 12, 17 on trixie, 18 on
# forky; scripts/matrix.sh runs the other two in chroots).
PGB_PG_VERSION=${PGB_PG_VERSION:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PGB_PG_VERSION/bin/pg_config}
PGB_PACKAGES="postgresql-$PGB_PG_VERSION postgresql-server-dev-$PGB_PG_VERSION libkrb5-dev
	libipc-run-perl postgresql-$PGB_PG_VERSION-pgtap libtap-parser-sourcehandler-pgtap-perl
	make gcc libc6-dev rsync gnuplot-nox prometheus-postgres-exporter clang libclang-rt-dev
	python3"
RUN_USER=${PGB_RUN_USER:-postgres}

pgb_root() { [ "$(id -u)" = 0 ]; }

# Install the Debian packages that are missing: the base set plus any
# named as arguments.
pgb_install_deps() {
	local missing="" p
	for p in $PGB_PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if ! pgb_root; then
		echo "missing packages:$missing (run as root to install them)" >&2
		return 1
	fi
	echo "== installing Debian packages:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Build with warnings as errors and install into the server's directories.
pgb_build_install() {
	echo "== building pg_budget"
	make -s -C "$PGB_TOP" PG_CONFIG="$PG_CONFIG" COPT='-Wall -Wextra -Werror'
	if pgb_root || [ -w "$("$PG_CONFIG" --pkglibdir)" ]; then
		make -s -C "$PGB_TOP" PG_CONFIG="$PG_CONFIG" install
	else
		sudo make -s -C "$PGB_TOP" PG_CONFIG="$PG_CONFIG" install
	fi
}

# For the cross-version pg_upgrade test (t/031_upgrade.pl): build and
# install pg_budget for the old server too, from a copy of the tree.
pgb_build_install_old() {
	local dir
	[ -n "${PGB_OLD_PG_CONFIG:-}" ] || return 0
	[ -x "$PGB_OLD_PG_CONFIG" ] || { echo "PGB_OLD_PG_CONFIG=$PGB_OLD_PG_CONFIG not found" >&2; return 1; }
	echo "== building pg_budget for the old server ($("$PGB_OLD_PG_CONFIG" --version))"
	dir=$(mktemp -d /tmp/pg_budget-old.XXXXXX)
	rsync -a --exclude .git --exclude '*.o' --exclude '*.so' "$PGB_TOP"/ "$dir"/
	# no JIT bitcode: the old server's headers come from another release,
	# whose llvm-lto does not read this release's clang output
	make -s -C "$dir" PG_CONFIG="$PGB_OLD_PG_CONFIG" with_llvm=no COPT='-Wall -Wextra -Werror' &&
		make -s -C "$dir" PG_CONFIG="$PGB_OLD_PG_CONFIG" with_llvm=no install
	local rc=$?
	rm -rf "$dir"
	return $rc
}

# Run "$@" as the unprivileged user with the server binaries first in PATH.
pgb_as_user() {
	local bindir
	bindir=$("$PG_CONFIG" --bindir)
	if pgb_root; then
		runuser -u "$RUN_USER" -- env PATH="$bindir:$PATH" PG_CONFIG="$PG_CONFIG" \
			PGB_OLD_PG_CONFIG="${PGB_OLD_PG_CONFIG:-}" \
			PGB_TEST_CGROUP_V1="${PGB_TEST_CGROUP_V1:-}" \
			PGB_TEST_MEMCG_V1="${PGB_TEST_MEMCG_V1:-}" "$@"
	else
		env PATH="$bindir:$PATH" PG_CONFIG="$PG_CONFIG" \
			PGB_OLD_PG_CONFIG="${PGB_OLD_PG_CONFIG:-}" \
			PGB_TEST_CGROUP_V1="${PGB_TEST_CGROUP_V1:-}" \
			PGB_TEST_MEMCG_V1="${PGB_TEST_MEMCG_V1:-}" "$@"
	fi
}

# A copy of the source tree the unprivileged user owns (the checkout may
# sit under a directory it can not enter, such as /root).
pgb_user_copy() {
	local dir
	dir=$(mktemp -d /tmp/pg_budget.XXXXXX)
	rsync -a --exclude .git --exclude '*.o' --exclude '*.so' "$PGB_TOP"/ "$dir"/
	if pgb_root; then
		chown -R "$RUN_USER" "$dir"
	fi
	echo "$dir"
}

# The cgroups of the tests that need one (t/060_cpu.pl and the others of
# the cpu hierarchy, t/080_memory.pl); pgb_cgroup_down removes them (a
# cgroup directory is removed with rmdir once it has no processes).
pgb_cgroup_up() {
	local rc=0
	pgb_cpucg_up || rc=1
	pgb_memcg_up || rc=1
	return $rc
}

# For t/060_cpu.pl: a directory of cgroup v1's cpu hierarchy that the test
# user owns, made when run as root where /sys/fs/cgroup/cpu exists (the
# host, or a chroot that has it bind-mounted), and exported as
# PGB_TEST_CGROUP_V1.  Without it the test skips.
pgb_cpucg_up() {
	local h=/sys/fs/cgroup/cpu
	[ -f "$h/cpu.shares" ] || { echo "== no $h: t/060_cpu.pl will skip"; return 0; }
	pgb_root || { echo "== not root: no cgroup for t/060_cpu.pl, it will skip"; return 0; }
	PGB_TEST_CGROUP_V1=$h/pgb_test_$$
	mkdir -p "$PGB_TEST_CGROUP_V1" &&
		chown -R "$RUN_USER" "$PGB_TEST_CGROUP_V1" || { echo "could not make $PGB_TEST_CGROUP_V1" >&2; return 1; }
	# the tests weigh CPU between classes inside it: give the whole a large
	# share, so that other work on the machine takes little from them
	echo 32768 >"$PGB_TEST_CGROUP_V1/cpu.shares" 2>/dev/null || true
	export PGB_TEST_CGROUP_V1
	echo "== cgroup for t/060_cpu.pl: $PGB_TEST_CGROUP_V1"
}

# pgb_cgroup_remove DIR...: remove cgroup directories (empty names and
# missing directories are skipped), children first; a directory still
# holding a process stays and says so.
pgb_cgroup_remove() {
	local d
	for d in "$@"; do
		[ -n "$d" ] && [ -d "$d" ] || continue
		find "$d" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
		rmdir "$d" || echo "== could not remove $d (a process is still in it?)" >&2
	done
	return 0
}

pgb_cgroup_down() {
	pgb_cgroup_remove "${PGB_TEST_CGROUP_V1:-}" "${PGB_TEST_MEMCG_V1:-}"
}

# For t/080_memory.pl: a directory of cgroup v1's memory hierarchy that the
# test user owns (chown -R: it makes a child per server, writes the child's
# memory.limit_in_bytes and starts the server in its cgroup.procs), made
# as pgb_cpucg_up makes the cpu one and exported as PGB_TEST_MEMCG_V1.
# Without it the test skips.  It sets no limit itself: each server's child
# does, so that a test's memory hog is bounded by its own server's limit.
pgb_memcg_up() {
	local h=/sys/fs/cgroup/memory
	[ -f "$h/memory.limit_in_bytes" ] || { echo "== no $h: t/080_memory.pl will skip"; return 0; }
	pgb_root || { echo "== not root: no memory cgroup for t/080_memory.pl, it will skip"; return 0; }
	PGB_TEST_MEMCG_V1=$h/pgb_test_$$
	mkdir -p "$PGB_TEST_MEMCG_V1" &&
		chown -R "$RUN_USER" "$PGB_TEST_MEMCG_V1" || { echo "could not make $PGB_TEST_MEMCG_V1" >&2; return 1; }
	export PGB_TEST_MEMCG_V1
	echo "== memory cgroup for t/080_memory.pl: $PGB_TEST_MEMCG_V1"
}
