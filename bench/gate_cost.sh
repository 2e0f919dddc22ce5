#!/usr/bin/env bash
# What the transaction gate costs when nobody queues: pgbench -S (select
# only) on kept connections against a server with pg_budget preloaded and
# the client's class at active=64 (never reached: every transaction takes
# the gate's lock-free path), and an identical server without it, in
# alternating runs; the median of the pairs' TPS ratios (goal >= 0.98),
# and the time a transaction spends in the gate, timed inside
# (pg_budget_gate_histogram).  Then the cost of WAL charging: pgbench -N
# (simple updates, synchronous_commit off) against stock and a third server
# whose client class also has a WAL budget, wal=WAL_BUDGET (1TB/s: never
# reached, every statement's WAL charged and debited), in alternating
# pairs; goal >= 0.98 of stock.
#
#   bash bench/gate_cost.sh                          # as root on a fresh Debian machine
#   PAIRS=1 RUN_SECONDS=2 bash bench/gate_cost.sh    # a smoke run
#
# Environment (defaults): PAIRS (10), RUN_SECONDS (15), CLIENTS (8),
# WAL_BUDGET (1TB/s), PGB_BENCH_PORT (first of three ports; random).
# Prints a markdown report; with OUT=file it is also written there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare
bench_report gate_cost PAIRS="${PAIRS:-10}" RUN_SECONDS="${RUN_SECONDS:-15}" \
	CLIENTS="${CLIENTS:-8}" WAL_BUDGET="${WAL_BUDGET:-1TB/s}"
