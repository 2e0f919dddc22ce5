#!/usr/bin/env bash
# Throughput cost of sampling: pgbench -S (select-only, kept connections)
# on three identical servers started side by side: (A) stock, (B) pg_budget
# preloaded with classes and its worker sampling every
# pg_budget.sample_interval, (C) pg_wait_sampling preloaded, sampling at the
# same period.  Rounds of one run on each in rotating order (ABC, BCA, CAB,
# ...), only one server measured at a time; reports per-round TPS and the
# medians of TPS and of the per-round ratios B/A, C/A and B/C.
#
#   bash bench/sampling_overhead.sh                     # as root on a fresh Debian machine
#   ROUNDS=2 RUN_SECONDS=3 bash bench/sampling_overhead.sh    # a quick smoke run
#
# Environment: ROUNDS (15), RUN_SECONDS (20), CLIENTS (8), THREADS (2),
# SCALE (10), SAMPLE_INTERVAL (ms, default: pg_budget's own default of 10),
# QUERY_MODE (pgbench -M: simple).  Prints a markdown report; with OUT=file
# it is also written there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# pg_wait_sampling is the peer measured side by side; only this needs it
# (its package, unless the server of PG_CONFIG has it already)
pg_config=${PG_CONFIG:-/usr/lib/postgresql/${PGB_PG_VERSION:-15}/bin/pg_config}
if [ -f "$("$pg_config" --pkglibdir)/pg_wait_sampling.so" ]; then
	bench_prepare
else
	bench_prepare postgresql-15-pg-wait-sampling
fi
bench_report sampling_overhead ROUNDS="${ROUNDS:-15}" RUN_SECONDS="${RUN_SECONDS:-20}" \
	CLIENTS="${CLIENTS:-8}" THREADS="${THREADS:-2}" SCALE="${SCALE:-10}" \
	SAMPLE_INTERVAL="${SAMPLE_INTERVAL:-}" QUERY_MODE="${QUERY_MODE:-simple}"
