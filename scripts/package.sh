#!/usr/bin/env bash
# The Debian package, as a user installs it: for each PostgreSQL version,
# build postgresql-NN-pg-budget from debian/ (pg_buildext; the build runs
# the regression tests against the built package with pg_budget
# preloaded), check it with lintian (no error allowed), install it with
# dpkg, run its autopkgtest (debian/tests/installcheck) against the
# installed files, then the upgrade a user makes: a 0.2.0 package (built
# from the 0.2.0 commit with this debian/) installed, a cluster with
# pg_budget preloaded and CREATE EXTENSION, the new package installed over
# it, a restart, ALTER EXTENSION pg_budget UPDATE.  Last, the package is
# purged and every file it brought must be gone.
#
#   bash scripts/package.sh [15|17|18|all]     (default: all)
#
# Runs as root.  Everything happens in Debian chroots, never on the host:
# bookworm for 15, trixie for 17, forky for 18, under $PGB_CHROOTS
# (default /var/tmp/pg_budget-chroots, the chroots of scripts/matrix.sh,
# which makes them; bookworm is made here the same way).  A clean system
# that never saw the source build shows what the package itself lacks, and
# the host's source build (used by the rest of CI) is left alone.  In the
# trixie and forky chroots, scripts/matrix.sh may have installed the source
# build: its files are removed first, so that the test sees only the
# package's; matrix.sh installs them again at its next run.
# The .deb files are left in $PGB_CHROOTS/<suite>/pgb-pkg/new/ (0.2.0's in
# pgb-pkg-old/, reused by the next run).
set -uo pipefail
PGB_TOP=$(cd "$(dirname "$0")/.." && pwd)
CHROOTS=${PGB_CHROOTS:-/var/tmp/pg_budget-chroots}
# the commit of release 0.2.0, the start of the upgrade test
PGB_OLD_COMMIT=${PGB_OLD_COMMIT:-f46d893}
PGB_OLD_VERSION=0.2.0

[ "$(id -u)" = 0 ] || { echo "package.sh: run as root (it uses chroots)" >&2; exit 1; }
# the chroot functions: suite_of, prepare, mounts_up, mounts_down, in_chroot
PGB_MATRIX_LIB=1 PGB_CHROOT_DIR=$CHROOTS . "$PGB_TOP/scripts/matrix.sh"

VERSION=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$PGB_TOP/pg_budget.control")
DEBVERSION=$(sed -n '1s/^pg-budget (\([^)]*\)).*/\1/p' "$PGB_TOP/debian/changelog")
[ "${DEBVERSION%-*}" = "$VERSION" ] || {
	echo "package.sh: debian/changelog is at $DEBVERSION, pg_budget.control at $VERSION" >&2
	exit 1
}

# The packages of the build (Build-Depends of debian/control.in), of lintian
# and of the autopkgtest (debian/tests/control).
packages_for() {
	echo "postgresql-$1 postgresql-server-dev-$1 postgresql-server-dev-all libkrb5-dev
		debhelper build-essential lintian"
}

step() { echo "== [$ver] $(date -u +%T) $*"; }

# Copy a source tree ($1, a directory) to $2/pg-budget-$3 with the orig
# tarball beside it, as a source package is unpacked.
lay_source() {
	local from=$1 to=$2 upstream=$3
	mkdir -p "$to/pg-budget-$upstream"
	(cd "$from" && tar --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		--exclude=tmp_check --exclude=tmp_regress --exclude=results --exclude=demo-output \
		--exclude='regression.*' --exclude='test/unit/build*' --exclude=test/fuzz/build \
		--exclude='pg_budget-*.zip' --exclude='debian/postgresql-*-pg-budget*' \
		--exclude=debian/.debhelper --exclude=debian/files --exclude='debian/*.substvars' \
		--exclude=debian/debhelper-build-stamp -cf - .) | tar -xf - -C "$to/pg-budget-$upstream"
	(cd "$to" && tar -czf "pg-budget_$upstream.orig.tar.gz" --exclude="pg-budget-$upstream/debian" \
		"pg-budget-$upstream")
}

# Build the source and binary packages of $1/pg-budget-$2 ($1 a path in
# the chroot) there; $3 are extra DEB_BUILD_OPTIONS.
build_in() {
	local dir=$1 upstream=$2 opts=${3:-} log=$D$1/build.log
	if ! in_chroot "$D" env DEB_BUILD_OPTIONS="$opts" sh -c \
		"cd $dir/pg-budget-$upstream && pg_buildext updatecontrol && dpkg-buildpackage -us -uc" \
		>"$log" 2>&1; then
		echo "package build failed, see $log" >&2
		tail -60 "$log" >&2
		return 1
	fi
}

# Run SQL ($1) as postgres against the test cluster and print the result.
psql_up() {
	in_chroot "$D" runuser -u postgres -- "$BIN/psql" -X -At -v ON_ERROR_STOP=1 \
		-h /tmp/pgb-upgrade -p 5432 -d postgres -c "$1"
}

expect() {
	local what=$1 want=$2 got=$3
	if [ "$got" = "$want" ]; then
		echo "ok - $what"
	else
		echo "not ok - $what: got '$got', want '$want'"
		FAILS=$((FAILS + 1))
	fi
}

# 0.2.0 to this version with packages, on a running cluster.
upgrade_test() {
	local old=$D/pgb-pkg-old pkg=postgresql-$ver-pg-budget stamp
	# a shallow clone lacks the old release: deepen it from its origin
	if ! git -C "$PGB_TOP" cat-file -e "$PGB_OLD_COMMIT^{commit}" 2>/dev/null &&
		[ "$(git -C "$PGB_TOP" rev-parse --is-shallow-repository 2>/dev/null)" = true ]; then
		git -C "$PGB_TOP" fetch -q --unshallow 2>/dev/null || true
	fi
	if ! git -C "$PGB_TOP" cat-file -e "$PGB_OLD_COMMIT^{commit}" 2>/dev/null; then
		echo "not ok - upgrade test: commit $PGB_OLD_COMMIT of $PGB_OLD_VERSION is not in this checkout"
		FAILS=$((FAILS + 1))
		return
	fi
	# the old package is kept between runs while the commit and debian/ are
	# the same (by content: a fresh clone has new mtimes)
	stamp="$(git -C "$PGB_TOP" rev-parse "$PGB_OLD_COMMIT") $(cd "$PGB_TOP" && find debian -type f | LC_ALL=C sort | xargs md5sum | md5sum)"
	if [ -f "$old/${pkg}_$PGB_OLD_VERSION-1_$ARCH.deb" ] && [ "$(cat "$old/stamp" 2>/dev/null)" = "$stamp" ]; then
		step "the $PGB_OLD_VERSION package of an earlier run (same commit, same debian/)"
	else
		step "building the $PGB_OLD_VERSION package from $PGB_OLD_COMMIT"
		rm -rf "$old"
		mkdir -p "$old/src"
		git -C "$PGB_TOP" archive "$PGB_OLD_COMMIT" | tar -xf - -C "$old/src"
		# this debian/, with a changelog whose only entry is 0.2.0, and
		# only the docs the old release has (CHANGELOG.md and doc/ came later)
		cp -a "$PGB_TOP/debian" "$old/src/"
		while read -r pat; do
			compgen -G "$old/src/$pat" >/dev/null && echo "$pat"
		done <"$PGB_TOP/debian/docs" >"$old/src/debian/docs"
		sed -n '/^ -- /{p;q}' "$PGB_TOP/debian/changelog" >"$old/trailer"
		{
			echo "pg-budget ($PGB_OLD_VERSION-1) unstable; urgency=medium"
			echo
			echo "  * Release $PGB_OLD_VERSION, packaged for the upgrade test."
			echo
			cat "$old/trailer"
		} >"$old/src/debian/changelog"
		lay_source "$old/src" "$old" "$PGB_OLD_VERSION"
		rm -rf "$old/src"
		# its tests ran in its own time: nocheck
		build_in /pgb-pkg-old "$PGB_OLD_VERSION" nocheck || { FAILS=$((FAILS + 1)); return; }
		echo "$stamp" >"$old/stamp"
	fi

	step "upgrade: $PGB_OLD_VERSION package, a cluster, CREATE EXTENSION"
	in_chroot "$D" dpkg -i "/pgb-pkg-old/${pkg}_$PGB_OLD_VERSION-1_$ARCH.deb" >"$W/upgrade.log" 2>&1 ||
		{ echo "not ok - dpkg -i of $PGB_OLD_VERSION"; tail "$W/upgrade.log"; FAILS=$((FAILS + 1)); return; }
	upgrade_cluster_stop
	mkdir -p "$D/tmp/pgb-upgrade"
	in_chroot "$D" chown postgres /tmp/pgb-upgrade
	in_chroot "$D" runuser -u postgres -- "$BIN/initdb" -D /tmp/pgb-upgrade/data -A trust >>"$W/upgrade.log" 2>&1
	cat >>"$D/tmp/pgb-upgrade/data/postgresql.conf" <<-EOF
		listen_addresses = ''
		unix_socket_directories = '/tmp/pgb-upgrade'
		shared_preload_libraries = 'pg_budget'
		pg_budget.classes = 'web(max=10, reserve=2, priority=100), ai(max=3, priority=10, shed=terminate)'
	EOF
	in_chroot "$D" runuser -u postgres -- "$BIN/pg_ctl" -D /tmp/pgb-upgrade/data -l /tmp/pgb-upgrade/log -w start \
		>>"$W/upgrade.log" 2>&1 || { echo "not ok - the cluster starts"; tail "$D/tmp/pgb-upgrade/log"; FAILS=$((FAILS + 1)); return; }
	psql_up 'CREATE EXTENSION pg_budget' >/dev/null
	expect "CREATE EXTENSION with the $PGB_OLD_VERSION package installs $PGB_OLD_VERSION" "$PGB_OLD_VERSION" \
		"$(psql_up "SELECT extversion FROM pg_extension WHERE extname = 'pg_budget'")"

	step "upgrade: the $DEBVERSION package over it, the server running"
	in_chroot "$D" dpkg -i "/pgb-pkg/new/${pkg}_${DEBVERSION}_$ARCH.deb" >>"$W/upgrade.log" 2>&1 ||
		{ echo "not ok - dpkg -i of $DEBVERSION over $PGB_OLD_VERSION"; tail "$W/upgrade.log"; FAILS=$((FAILS + 1)); }
	expect "the running server still answers, the extension at $PGB_OLD_VERSION, $VERSION available" \
		"web|$PGB_OLD_VERSION|$VERSION" \
		"$(psql_up "SELECT (SELECT class FROM pg_budget_status WHERE class = 'web'),
			(SELECT extversion FROM pg_extension WHERE extname = 'pg_budget'),
			(SELECT default_version FROM pg_available_extensions WHERE name = 'pg_budget')")"

	# the update creates C functions that only the new library has, and
	# the running server still has the old one loaded
	expect "before the restart, ALTER EXTENSION pg_budget UPDATE fails and changes nothing" \
		"could not find function|$PGB_OLD_VERSION" \
		"$(psql_up 'ALTER EXTENSION pg_budget UPDATE' 2>&1 | grep -o 'could not find function' | head -1)|$(
			psql_up "SELECT extversion FROM pg_extension WHERE extname = 'pg_budget'")"

	step "upgrade: restart, ALTER EXTENSION pg_budget UPDATE"
	in_chroot "$D" runuser -u postgres -- "$BIN/pg_ctl" -D /tmp/pgb-upgrade/data -l /tmp/pgb-upgrade/log -w restart \
		>>"$W/upgrade.log" 2>&1 || { echo "not ok - restart"; FAILS=$((FAILS + 1)); }
	expect "after the restart, before the update: the $PGB_OLD_VERSION view answers" "web|10" \
		"$(psql_up "SELECT class, max FROM pg_budget_status WHERE class = 'web'" 2>&1)"
	psql_up 'ALTER EXTENSION pg_budget UPDATE' >/dev/null
	expect "ALTER EXTENSION pg_budget UPDATE brings it to $VERSION" "$VERSION" \
		"$(psql_up "SELECT extversion FROM pg_extension WHERE extname = 'pg_budget'")"
	# cpu_ms is new in 0.3.0's view
	expect "pg_budget_status answers with the new columns after the update" "web|10|2|0" \
		"$(psql_up "SELECT class, max, reserve, cpu_ms FROM pg_budget_status WHERE class = 'web'")"
	upgrade_cluster_stop
}

# Stop the upgrade test's cluster if it runs (a run cut short may have left
# it) and remove it.
upgrade_cluster_stop() {
	if [ -f "$D/tmp/pgb-upgrade/data/postmaster.pid" ]; then
		in_chroot "$D" runuser -u postgres -- "$BIN/pg_ctl" -D /tmp/pgb-upgrade/data -m fast -w stop \
			>>"$W/upgrade.log" 2>&1
	fi
	rm -rf "$D/tmp/pgb-upgrade"
}

run_version() {
	local start suite files f left
	ver=$1
	start=$(date +%s)
	FAILS=0
	suite=$(suite_of "$ver") || return 1
	D=$CHROOTS/$suite
	W=$D/pgb-pkg
	BIN=/usr/lib/postgresql/$ver/bin
	ARCH=$(dpkg --print-architecture)
	PGB_CHROOT_PACKAGES=$(packages_for "$ver") prepare "$ver" || return 1
	mounts_up "$D"

	# the source build's files, if scripts/matrix.sh left them here: neither
	# the build's tests nor the installed package's may find them
	for f in "$D/usr/lib/postgresql/$ver/lib/pg_budget.so" "$D/usr/lib/postgresql/$ver/lib/bitcode/pg_budget" \
		"$D/usr/lib/postgresql/$ver/lib/bitcode/pg_budget.index.bc" "$D"/usr/share/postgresql/"$ver"/extension/pg_budget[.-]*; do
		[ -e "$f" ] && ! in_chroot "$D" dpkg -S "${f#"$D"}" >/dev/null 2>&1 && rm -rf "$f"
	done

	step "building postgresql-$ver-pg-budget $DEBVERSION (the build runs the regression tests)"
	rm -rf "$W"
	mkdir -p "$W/new"
	lay_source "$PGB_TOP" "$W/new" "$VERSION"
	if build_in /pgb-pkg/new "$VERSION"; then
		grep -E '^test |^(ok|not ok) +[0-9]|tests passed|failed' "$W/new/build.log" | sed 's/^/   /'

		step "lintian"
		if in_chroot "$D" sh -c "cd /pgb-pkg/new && lintian --fail-on error pg-budget_${DEBVERSION}_$ARCH.changes" \
			>"$W/lintian.log" 2>&1; then
			echo "ok - lintian reports no error ($(grep -c '^[WIP]:' "$W/lintian.log") warnings or notes, in $W/lintian.log)"
		else
			echo "not ok - lintian:"
			cat "$W/lintian.log"
			FAILS=$((FAILS + 1))
		fi

		step "dpkg -i, the autopkgtest against the installed package"
		if in_chroot "$D" dpkg -i "/pgb-pkg/new/postgresql-$ver-pg-budget_${DEBVERSION}_$ARCH.deb" >"$W/install.log" 2>&1; then
			files=$(in_chroot "$D" dpkg -L "postgresql-$ver-pg-budget")
			if in_chroot "$D" sh -c "cd /pgb-pkg/new/pg-budget-$VERSION && debian/tests/installcheck" >"$W/autopkgtest.log" 2>&1; then
				echo "ok - debian/tests/installcheck: $(grep -E 'tests passed' "$W/autopkgtest.log" | tr -s ' ')"
			else
				echo "not ok - debian/tests/installcheck:"
				tail -60 "$W/autopkgtest.log"
				FAILS=$((FAILS + 1))
			fi
			in_chroot "$D" dpkg --purge "postgresql-$ver-pg-budget" >>"$W/install.log" 2>&1

			upgrade_test
			upgrade_cluster_stop

			step "dpkg --purge"
			in_chroot "$D" dpkg --purge "postgresql-$ver-pg-budget" >>"$W/install.log" 2>&1 ||
				{ echo "not ok - dpkg --purge"; FAILS=$((FAILS + 1)); }
			left=""
			for f in $files; do
				[ -f "$D$f" ] && left="$left $f"
			done
			expect "purged: no file of the package is left, dpkg knows it no more" "|not-installed" \
				"${left# }|$(in_chroot "$D" dpkg-query -W -f='${db:Status-Status}' "postgresql-$ver-pg-budget" 2>/dev/null || echo not-installed)"
		else
			echo "not ok - dpkg -i:"
			tail -20 "$W/install.log"
			FAILS=$((FAILS + 1))
		fi
	else
		FAILS=$((FAILS + 1))
	fi
	mounts_down "$D"
	RESULTS+=("PostgreSQL $ver: $([ $FAILS = 0 ] && echo passed || echo "FAILED ($FAILS)") ($(($(date +%s) - start)) s)")
	[ $FAILS = 0 ]
}

case "${1:-all}" in
	all) versions="15 17 18" ;;
	15 | 17 | 18) versions=$1 ;;
	*) echo "usage: $0 [15|17|18|all]" >&2; exit 2 ;;
esac

RESULTS=()
status=0
for v in $versions; do
	run_version "$v" || status=1
done
echo "== Debian packages"
for r in "${RESULTS[@]}"; do echo "   $r"; done
exit $status
