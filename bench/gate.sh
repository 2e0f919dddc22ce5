#!/usr/bin/env bash
# The transaction gate against CPU-heavy background work.  Web: WEB_CLIENTS
# kept connections reading one row each, WEB_RATE reads a second in all
# (pgbench --rate, latency from its per-transaction log).  AI: AI_CLIENTS
# kept connections running a CPU-heavy statement in a loop.  Five setups,
# ROUNDS times in turn on two throwaway clusters:
#
#   1 stock PostgreSQL;  2 PgBouncer (transaction pooling) in front of the
#   ai user with max_user_connections = AI_ACTIVE (the anchor);  3 pg_budget
#   ai(active=AI_ACTIVE);  4 pg_budget adaptive (no active configured: the
#   worker's CPU pressure);  5 PgBouncer (default pool) in front of pg_budget
#   ai(active=AI_ACTIVE);  6 pg_budget ai(active=AI_ACTIVE, shed=cancel):
#   the static limit with the worker's shedding on.
#
# Each run: ai starts; after WARM_SECONDS web runs for RUN_SECONDS (busy
# phase); web stops; after SETTLE_SECONDS ai alone is measured for
# RUN_SECONDS (quiet phase).  Reports medians over the rounds: web p50/p99,
# ai statements per second in each phase, queue waits; and the goals of the
# gate (bench/results/gate.md, gate.png).
#
#   bash bench/gate.sh                     # as root on a fresh Debian machine (~15 min)
#   SMOKE=1 bash bench/gate.sh             # CI: each setup for a few seconds
#
# Environment (defaults): ROUNDS (3), RUN_SECONDS (20), WARM_SECONDS (5),
# SETTLE_SECONDS (8), WEB_CLIENTS (4), WEB_RATE (400), AI_CLIENTS (30),
# AI_ROWS (200000: the statement counts that many generate_series rows),
# AI_ACTIVE (2), SETUPS (1 2 3 4 5 6), GATE_DIAG (a directory the run
# user may write: each pg_budget run's ai events, history and status),
# BUDGET_CONF (more postgresql.conf lines for the pg_budget cluster),
# RESULTS (bench/results, or bench/out/gate-smoke with SMOKE=1).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare pgbouncer

if [ "${SMOKE:-0}" = 1 ]; then
	: "${ROUNDS:=1}" "${RUN_SECONDS:=2}" "${WARM_SECONDS:=1}" "${SETTLE_SECONDS:=1}"
fi
bench_results gate

bench_run gate ROUNDS="${ROUNDS:-3}" RUN_SECONDS="${RUN_SECONDS:-20}" \
	WARM_SECONDS="${WARM_SECONDS:-5}" SETTLE_SECONDS="${SETTLE_SECONDS:-8}" \
	WEB_CLIENTS="${WEB_CLIENTS:-4}" WEB_RATE="${WEB_RATE:-400}" \
	AI_CLIENTS="${AI_CLIENTS:-30}" AI_ROWS="${AI_ROWS:-200000}" \
	AI_ACTIVE="${AI_ACTIVE:-2}" SETUPS="${SETUPS:-1 2 3 4 5 6}" \
	GATE_DIAG="${GATE_DIAG:-}" BUDGET_CONF="${BUDGET_CONF:-}"
bench_publish gate
