#!/usr/bin/env bash
# The bad-day benchmark: web traffic that opens a connection per request,
# and an AI-worker fleet (AI_ROLES roles x AI_WORKERS workers) that bursts
# in, each job a connection that locks a job row and holds it idle in
# transaction while it "calls the model".  Five setups, one after the
# other, each on a fresh throwaway cluster with max_connections = 100:
#
#   1 stock PostgreSQL;  2 ALTER ROLE ... CONNECTION LIMIT on the worker
#   roles;  3 PgBouncer in front (transaction pooling, max_user_connections
#   per worker role);  4 pg_budget (web reserved, ai capped and sheddable);
#   5 PgBouncer in front of pg_budget.
#
# Reports web refusals and latency before/during/after the burst, jobs
# completed, worker refusals, and backends by role kind over time
# (bench/results/badday.md and PNGs; raw CSVs in bench/out/badday/).
#
#   bash bench/badday.sh                  # as root on a fresh Debian machine (~9 min)
#   SETUPS="2 4" DURING_SECONDS=20 bash bench/badday.sh
#   SMOKE=1 bash bench/badday.sh          # CI: every setup for a few seconds, checks the harness
#
# Environment (defaults): SETUPS (1 2 3 4 5; names stock, connlimit,
# pgbouncer, pg_budget, pgbouncer+pg_budget work too), BEFORE_SECONDS (15),
# DURING_SECONDS (60), AFTER_SECONDS (15), WEB_CLIENTS (8), WEB_RATE (10
# requests/s per client), UPDATE_SHARE (0.2), WEB_HOT_JOBS (300),
# AI_ROLES (4), AI_WORKERS (30 per role), JOB_MIN/JOB_MAX (1.0/2.0 s),
# ROLE_LIMIT (15: CONNECTION LIMIT and PgBouncer max_user_connections per
# worker role), WEB_POOL (20), AI_FLOOR (unset: pg_budget's default), PGB_CLASSES (web(max=40,
# reserve=30, priority=100), ai(max=60, priority=10, shed=terminate,
# floor=$AI_FLOOR)), LOCK_WAIT_THRESHOLD (200ms), LOCK_STATS_THRESHOLD,
# PGB_EXTRA_CONF (more postgresql.conf lines for setups 4 and 5), NOTE (a
# line for the report), SEED (1), RESULTS (where badday.md and the PNGs go:
# bench/results, or bench/out/badday-smoke with SMOKE=1), RAW (bench/out/badday).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# only this benchmark needs these
bench_prepare pgbouncer python3-psycopg2 python3-matplotlib

if [ "${SMOKE:-0}" = 1 ]; then
	: "${BEFORE_SECONDS:=2}" "${DURING_SECONDS:=5}" "${AFTER_SECONDS:=2}"
	: "${WEB_CLIENTS:=2}" "${AI_WORKERS:=6}" "${ROLE_LIMIT:=4}"
	: "${RESULTS:=$PGB_TOP/bench/out/badday-smoke}"
	: "${RAW:=$PGB_TOP/bench/out/badday-smoke/raw}"
fi
RESULTS=${RESULTS:-$PGB_TOP/bench/results}
RAW=${RAW:-$PGB_TOP/bench/out/badday}
SETUPS=${SETUPS:-1 2 3 4 5}

start=$SECONDS
# pgb_as_user keeps the environment: the settings above reach badday-run.sh
export SETUPS BEFORE_SECONDS DURING_SECONDS AFTER_SECONDS WEB_CLIENTS WEB_RATE \
	UPDATE_SHARE WEB_HOT_JOBS AI_ROLES AI_WORKERS JOB_MIN JOB_MAX ROLE_LIMIT WEB_POOL \
	AI_FLOOR PGB_CLASSES LOCK_WAIT_THRESHOLD LOCK_STATS_THRESHOLD PGB_EXTRA_CONF NOTE SEED
pgb_as_user bash "$work/bench/badday-run.sh" "$work/bench-run" "$work/bench/out/badday"
echo "== done in $((SECONDS - start)) s"

mkdir -p "$RESULTS" "$RAW"
cp "$work/bench/out/badday/badday.md" "$work"/bench/out/badday/badday-*.png "$RESULTS/"
rsync -a --delete --exclude '*.png' --exclude badday.md "$work/bench/out/badday/" "$RAW/"
echo "== report: $RESULTS/badday.md; raw data: $RAW"

# The harness worked end to end: one row per setup, every setup measured.
rows=$(awk '/^## / { in_results = ($0 == "## Results") } in_results && /^\| [0-9]\. / { n++ } END { print n + 0 }' "$RESULTS/badday.md")
nsetups=$(echo $SETUPS | wc -w)
if [ "$rows" != "$nsetups" ]; then
	echo "badday: expected $nsetups rows in the results table, found $rows" >&2
	exit 1
fi
for d in "$RAW"/*/; do
	if ! awk -F, 'NR > 1 && $5 == "ok" { ok = 1 } END { exit !ok }' "$d/web.csv"; then
		echo "badday: no successful web request in $d" >&2
		exit 1
	fi
done
echo "== harness check: $rows setups in the results table"
