#!/usr/bin/env bash
# A lock storm with and without pg_budget: pgbench tpcb-like at scale 1, 50
# clients (every transaction updates the one branch row), against a server with
# pg_budget preloaded (lock_stats_threshold at its minimum of 10 ms, so that
# blocker lookups run as often as they can: bounded to 40 a second in
# total) and an identical server without it, in alternating runs; the
# median of the pairs' TPS ratios.  Goal >= 0.97.
#
#   bash bench/lock_storm.sh                      # as root on a fresh Debian machine
#   PAIRS=1 RUN_SECONDS=2 bash bench/lock_storm.sh    # a smoke run
#
# Prints a markdown report; with OUT=file it is also written there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare
bench_report lock_storm PAIRS="${PAIRS:-10}" RUN_SECONDS="${RUN_SECONDS:-15}" \
	CLIENTS="${CLIENTS:-50}"
