#!/usr/bin/env bash
# One server run with pg_budget built with AddressSanitizer and UBSan: the
# TAP tests of admission, slots, the login storm, priority inversions, the
# gate and the audit trail under a flood of refusals
# (SANITIZE_TESTS to change the list) against a server whose library is
# the sanitized build, installed as $libdir/pg_budget.so itself (a second
# copy loaded beside it would abort on an ODR violation).  Any ASan, LSan
# or UBSan report in the logs fails the run.  The normal build is
# reinstalled at the end, also on failure.
#
# Works as root on a fresh Debian machine (PostgreSQL 15 on Debian 12); the
# servers run as the unprivileged user of scripts/common.sh.
set -euo pipefail
PGB_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$PGB_TOP/scripts/common.sh"

SANITIZE_TESTS=${SANITIZE_TESTS:-t/001_admission.pl t/002_slots.pl t/004_storm.pl t/010_inversion.pl t/040_gate.pl t/051_audit.pl}
SAN_FLAGS='-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g'

pgb_install_deps libasan8 libubsan1

# make install as root, or through sudo, as pgb_build_install does
pgb_install_from() {
	if pgb_root || [ -w "$("$PG_CONFIG" --pkglibdir)" ]; then
		make -s -C "$1" PG_CONFIG="$PG_CONFIG" with_llvm=no install
	else
		sudo make -s -C "$1" PG_CONFIG="$PG_CONFIG" with_llvm=no install
	fi
}

work=""
finish() {
	local rc=$?
	trap - EXIT
	echo "== reinstalling the normal build of pg_budget"
	pgb_build_install || rc=1
	if [ $rc = 0 ]; then
		rm -rf "$work"
	elif [ -n "$work" ]; then
		echo "== sanitized run FAILED; logs are kept in $work/tmp_check/log"
	fi
	exit $rc
}
trap finish EXIT
start=$(date +%s)

work=$(pgb_user_copy)
echo "== building pg_budget with ASan and UBSan in $work"
pgb_as_user make -s -C "$work" with_llvm=no COPT="-Wall -Wextra -Werror $SAN_FLAGS"
pgb_install_from "$work"
libdir=$("$PG_CONFIG" --pkglibdir)
if ! objdump -p "$libdir/pg_budget.so" | grep -q 'NEEDED.*libasan'; then
	echo "sanitize: $libdir/pg_budget.so is not the sanitized build" >&2
	exit 1
fi

# libasan first, then the shim that lets it start inside Debian's postgres
libasan=$(gcc -print-file-name=libasan.so)
[ -f "$libasan" ] || { echo "sanitize: no libasan.so from gcc" >&2; exit 1; }
pgb_as_user gcc -shared -fPIC -O2 -Wall -Wextra -Werror \
	-o "$work/test/sanitize/preload.so" "$work/test/sanitize/preload.c"
bindir=$("$PG_CONFIG" --bindir)
checks=$work/tmp_check/sanitize-checks
pgxs_dir=$(dirname "$("$PG_CONFIG" --pgxs)")/../..

echo "== TAP tests against the sanitized server: $SANITIZE_TESTS"
rm -rf "$work/tmp_check"
pgb_as_user mkdir -p "$work/tmp_check"
status=0
# the test/sanitize/pg_ctl wrapper gives the server (and only the server)
# LD_PRELOAD, and checks that ASan is mapped into each postmaster started
(cd "$work" && pgb_as_user env \
	PATH="$work/test/sanitize:$bindir:$PATH" \
	PGB_SAN_PG_CTL="$bindir/pg_ctl" \
	PGB_SAN_PRELOAD="$libasan:$work/test/sanitize/preload.so" \
	PGB_SAN_CHECKS="$checks" \
	ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	TESTDIR="$work" PGPORT=65432 PG_REGRESS="$pgxs_dir/src/test/regress/pg_regress" \
	prove -I "$pgxs_dir/src/test/perl/" -I "$work" ${PROVE_FLAGS:-} $SANITIZE_TESTS) || status=1

# the run counts only if every server started had ASan in it
if [ ! -s "$checks" ] || grep -q '^NO-ASAN' "$checks"; then
	echo "sanitize: some servers ran without ASan (or none started):" >&2
	cat "$checks" >&2 2>/dev/null || true
	status=1
elif ! grep -q 'pg_budget=/' "$checks"; then
	echo "sanitize: pg_budget.so was never loaded into a sanitized server" >&2
	status=1
else
	echo "== ASan was mapped into all $(wc -l <"$checks") postmasters started (/proc/PID/maps):"
	sed 's/^/   /' "$checks"
fi

reports=$(grep -l -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' \
	"$work"/tmp_check/log/* 2>/dev/null || true)
if [ -n "$reports" ]; then
	status=1
	for f in $reports; do
		echo "== sanitizer reports in $f"
		grep -n -B2 -A40 -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$f" | head -n 200
	done
elif [ $status = 0 ]; then
	echo "== no sanitizer report in $(ls "$work"/tmp_check/log | wc -l) logs"
fi
if [ $status != 0 ]; then
	for f in "$work"/tmp_check/log/regress_log_*; do
		[ -f "$f" ] && { echo "== tail of $f"; tail -n 40 "$f"; }
	done
fi
echo "== sanitized server run $([ $status = 0 ] && echo passed || echo FAILED) ($(( $(date +%s) - start )) s)"
exit $status
