#!/usr/bin/env bash
# The demo, on throwaway clusters, as root on a fresh Debian machine:
#  1. two classes, web (high priority, a reservation) and ai (low priority,
#     a cap); a burst of ai-worker logins comes in while web requests keep
#     opening connections, once with pg_budget off and once on; prints
#     pg_budget_status and a side-by-side table, and draws the picture
#     (demo-output/demo.png: web requests served and refused per second,
#     stock beside pg_budget, the burst shaded) and every column of
#     pg_budget_history (demo-output/history.png);
#  2. a short bad day (bench/badday.sh with short phases): web traffic
#     that updates job rows while an AI fleet holds them, against stock
#     PostgreSQL, CONNECTION LIMIT, PgBouncer, pg_budget and PgBouncer in
#     front of pg_budget, side by side.  DEMO_BADDAY=0 skips it.
set -euo pipefail
PGB_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$PGB_TOP/scripts/common.sh"

pgb_install_deps
pgb_build_install
work=$(pgb_user_copy)
trap 'rm -rf "$work"' EXIT
pgb_as_user bash "$work/scripts/demo-run.sh" "$work/demo"

# the pictures of the run
out=${DEMO_OUT:-$PGB_TOP/demo-output}
mkdir -p "$out"
cp "$work/demo/demo.png" "$out/demo.png"
cp "$work/demo/history.png" "$out/history.png"
echo "== the picture of the run, web served and refused per second, stock beside pg_budget: $out/demo.png"
echo "== every class and column of pg_budget_history over both bursts: $out/history.png"

if [ "${DEMO_BADDAY:-1}" = 1 ]; then
	echo
	echo "== a short bad day: 5 s of web traffic, a 20 s burst of 60 AI workers, 5 s after, per setup"
	BEFORE_SECONDS=5 DURING_SECONDS=20 AFTER_SECONDS=5 AI_WORKERS=15 \
		RESULTS="$out/badday" RAW="$out/badday/raw" \
		bash "$PGB_TOP/bench/badday.sh" | grep -v '^== setup\|^Machine:' || exit 1
	# the machine it ran on: on a slow one a login costs tens of ms
	grep '^Machine:' "$out/badday/badday.md" || true
	awk '/^## Results/ { on = 1; next } /^## / { on = 0 } on && NF' "$out/badday/badday.md"
	awk '/^## Goals/ { on = 1; next } /^!\[/ { on = 0 } on && NF' "$out/badday/badday.md"
	echo "== full report: $out/badday/badday.md (the long run: bash bench/badday.sh)"
fi
