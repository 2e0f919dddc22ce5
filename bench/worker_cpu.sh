#!/usr/bin/env bash
# CPU use of the pg_budget worker (the sampler), in percent of one core,
# from utime+stime in /proc/<pid>/stat over MEASURE_SECONDS: with no client
# sessions, and with 100 client backends of a classed role connected (half
# idle, half active in pg_sleep), on a throwaway server with
# max_connections = 150, at each sample interval in SAMPLE_INTERVALS.
#
#   bash bench/worker_cpu.sh                         # as root on a fresh Debian machine
#   MEASURE_SECONDS=5 bash bench/worker_cpu.sh       # a quick smoke run
#   SAMPLE_INTERVALS="1 10 100" bash bench/worker_cpu.sh
#
# Environment: MEASURE_SECONDS (30), SAMPLE_INTERVALS (ms, "10": the
# default), IDLE_SESSIONS (50), ACTIVE_SESSIONS (50).  Prints a markdown
# report; with OUT=file it is also written there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare
bench_report worker_cpu MEASURE_SECONDS="${MEASURE_SECONDS:-30}" SAMPLE_INTERVALS="${SAMPLE_INTERVALS:-10}" \
	IDLE_SESSIONS="${IDLE_SESSIONS:-50}" ACTIVE_SESSIONS="${ACTIVE_SESSIONS:-50}"
