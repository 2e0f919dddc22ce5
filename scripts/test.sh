#!/usr/bin/env bash
# Every test of pg_budget: unit tests of the pure C logic, pg_regress on a
# temporary instance, TAP tests (PostgreSQL::Test::Cluster) and pgTAP.
# Works on a fresh Debian machine as root; the servers run as "postgres".
set -euo pipefail
PGB_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$PGB_TOP/scripts/common.sh"

pgb_install_deps
pgb_build_install
pgb_build_install_old

work=$(pgb_user_copy)
status=0
# what failed, in a few lines: scripts/matrix.sh prints it again at the end
# of its run, where a long log is cut to its tail
summary=${PGB_SUMMARY_FILE:-$PGB_TOP/test-summary.txt}
rm -f "$summary"
failed() {
	status=1
	echo "step failed: $1" >>"$summary"
}
pgb_cgroup_up || failed "cgroup set-up (scripts/common.sh pgb_cgroup_up)"
trap pgb_cgroup_down EXIT
echo "== tests run in $work as $( pgb_root && echo "$RUN_USER" || id -un )"

echo "== layers: doc/architecture.md's table, includes one way, no cycle of calls"
bash "$work/test/layers.sh" || failed "layers (test/layers.sh)"
echo "== unit tests (no server)"
pgb_as_user make -s -C "$work" unittest || failed "unit tests (make unittest)"
echo "== unit tests under ASan and UBSan"
pgb_as_user make -s -C "$work" unittest-sanitize PROVE_FLAGS= || failed "unit tests under ASan and UBSan (make unittest-sanitize)"
if command -v clang >/dev/null 2>&1; then
	echo "== fuzzing the class-table parser and the admission arithmetic (${FUZZ_SECONDS:-60} s)"
	pgb_as_user env FUZZ_SECONDS="${FUZZ_SECONDS:-60}" make -s -C "$work" fuzz || failed "fuzzing (make fuzz)"
else
	echo "== no clang: fuzzing skipped (Debian: clang libclang-rt-dev)"
fi

echo "== pg_regress and TAP tests (make installcheck)"
if ! pgb_as_user make -s -C "$work" installcheck PROVE_FLAGS="${PROVE_FLAGS:--v}" 2>&1 | tee "$work/installcheck.out"; then
	failed "pg_regress and TAP tests (make installcheck)"
	# the failed assertions and prove's summary
	grep -E '^(not ok|#   Failed test|#   at |# +got|# +expected|t/[^ ]+ +\(Wstat|Failed tests?:|Result: FAIL)|FAILED|Dubious|exited with|No plan' \
		"$work/installcheck.out" | head -n 60 >>"$summary" || true
	for f in "$work"/regression.diffs; do
		[ -f "$f" ] && { echo "== $f"; cat "$f"; }
	done
	for f in "$work"/tmp_check/log/regress_log_*; do
		[ -f "$f" ] && { echo "== tail of $f"; tail -n 60 "$f"; }
	done
fi

if [ $status = 0 ]; then
	echo "== all tests passed"
	rm -rf "$work"
else
	echo "== some tests FAILED; outputs are kept in $work"
fi
exit $status
