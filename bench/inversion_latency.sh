#!/usr/bin/env bash
# Priority-inversion latency of the pg_budget worker: how long a web UPDATE
# waits on a row held by an idle-in-transaction ai session (shed=terminate)
# before the worker terminates the holder and the UPDATE completes, with
# pg_budget.lock_wait_threshold = 1000ms (the default), over RUNS runs.
#
#   bash bench/inversion_latency.sh            # as root on a fresh Debian machine
#   RUNS=5 bash bench/inversion_latency.sh     # a quick smoke run
#
# Prints a markdown report and writes it to bench/results/inversion_latency.md
# (or to OUT=file).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare
out=${OUT:-$PGB_TOP/bench/results/inversion_latency.md}
mkdir -p "$(dirname "$out")"
bench_run inversion_latency RUNS="${RUNS:-20}" THRESHOLD_MS="${THRESHOLD_MS:-1000}" | tee "$out"
