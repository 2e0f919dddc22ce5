#!/usr/bin/env bash
# What the transaction gate costs when nobody queues: pgbench -S (select
# only) on kept connections against a server with pg_budget preloaded and
# the client's class at active=64 (never reached: every transaction takes
# the gate's lock-free path), and an identical server without it, in
# alternating runs; the median of the pairs' TPS ratios (goal >= 0.98),
# and the time a transaction spends in the gate, timed inside
# (pg_budget_gate_histogram).
#
#   bash bench/gate_cost.sh                          # as root on a fresh Debian machine
#   PAIRS=1 RUN_SECONDS=2 bash bench/gate_cost.sh    # a smoke run
#
# Prints a markdown report; with OUT=file it is also written there.
set -euo pipefail
PGB_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$PGB_TOP/scripts/common.sh"

pgb_install_deps
pgb_build_install
work=$(pgb_user_copy)
trap 'rm -rf "$work"' EXIT
pgb_as_user env PAIRS="${PAIRS:-10}" RUN_SECONDS="${RUN_SECONDS:-15}" \
	CLIENTS="${CLIENTS:-8}" bash "$work/bench/gate_cost-run.sh" "$work/bench-run" \
	| tee "${OUT:-/dev/null}"
