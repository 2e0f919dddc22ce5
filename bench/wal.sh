#!/usr/bin/env bash
# The WAL budget against a bulk load.  Web: WEB_CLIENTS kept connections
# committing one-row updates, WEB_RATE a second in all (pgbench --rate;
# commit latency from its log).  Bulk: BULK_CLIENTS kept connections
# inserting BULK_ROWS rows of 1000 bytes a transaction (about 1 MB of WAL)
# as fast as they can.  fsync and synchronous_commit on; both clusters
# start with 2 GB of WAL segments to recycle (min_wal_size), as a server at
# work has, so that no 16 MB segment is made and flushed under the
# measured commits while bulk writes less than that.  Four setups,
# ROUNDS times in turn on two throwaway clusters:
#
#   1 stock PostgreSQL;  2 stock with the bulk role at synchronous_commit =
#   off;  3 pg_budget bulk(wal=WAL_BUDGET);  4 pg_budget adaptive (no wal
#   key: the worker's WAL pressure only).
#
# Reports medians over the rounds of web commit p50/p99 during the load,
# bulk WAL MB/s and rows/s, and for pg_budget the WAL counted by class
# against pg_stat_wal, and for setup 3 bulk's WAL rate second by second
# (pg_budget_history) with its coefficient of variation, goal <= 0.25 at a
# 20 MB/s budget (bench/results/wal.md, wal.png).
#
#   bash bench/wal.sh                     # as root on a fresh Debian machine (~6 min)
#   SMOKE=1 bash bench/wal.sh             # CI: each setup for a few seconds
#   SWEEP=all bash bench/wal.sh          # the adaptive budget across set-ups
#
# SWEEP: points "name:row_bytes:rows:bulk_clients:web_clients"; each point
# runs web alone (calm), stock and adaptive in turn, the points taking
# turns, and the report (wal-sweep.md, bench/wal-sweep.sh) gives per point
# bulk's transactions with the adaptive budget over stock's (goal >= 0.2)
# and web's commit p99 against stock's (goal <= 0.5) and calm's.
# WAL_SWEEP below is the sweep of issue 28: row size, commit rate (rows a
# transaction), bulk and web clients.
#
# Environment (defaults): ROUNDS (3), RUN_SECONDS (20), WARM_SECONDS (3),
# WARM_SEGMENTS (144: the WAL segments made and recycled first; 8 with SMOKE=1),
# WEB_CLIENTS (4), WEB_RATE (200), BULK_CLIENTS (4), BULK_ROWS (1000),
# WAL_BUDGET (20MB/s), BULK_ROW_BYTES (1000), SWEEP (none; "all": WAL_SWEEP), SETUPS (1 2 3 4), RESULTS (bench/results, or
# bench/out/wal-smoke with SMOKE=1), PGB_BENCH_PORT (first of two ports;
# random).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# the sweep's points: name:row_bytes:rows:bulk_clients:web_clients
WAL_SWEEP="base:1000:1000:4:4 small:100:1000:4:4 large:4000:250:4:4 tx10:1000:10:4:4 tx1:1000:1:4:4 bulk1:1000:1000:1:4 bulk16:1000:100:16:4 web16:1000:1000:4:16"
if [ "${SWEEP:-}" = all ]; then SWEEP=$WAL_SWEEP; fi
bench_prepare

if [ "${SMOKE:-0}" = 1 ]; then
	: "${ROUNDS:=1}" "${RUN_SECONDS:=2}" "${WARM_SECONDS:=1}" "${WARM_SEGMENTS:=8}"
fi
bench_results wal

bench_run wal ROUNDS="${ROUNDS:-3}" RUN_SECONDS="${RUN_SECONDS:-20}" \
	WARM_SECONDS="${WARM_SECONDS:-3}" WARM_SEGMENTS="${WARM_SEGMENTS:-144}" WEB_CLIENTS="${WEB_CLIENTS:-4}" \
	WEB_RATE="${WEB_RATE:-200}" BULK_CLIENTS="${BULK_CLIENTS:-4}" \
	BULK_ROWS="${BULK_ROWS:-1000}" WAL_BUDGET="${WAL_BUDGET:-20MB/s}" \
	SETUPS="${SETUPS:-1 2 3 4}" BULK_ROW_BYTES="${BULK_ROW_BYTES:-1000}" SWEEP="${SWEEP:-}"
if [ -n "${SWEEP:-}" ]; then
	bench_publish wal-sweep
	[ -n "${SWEEP_EVENTS:-}" ] && mkdir -p "$SWEEP_EVENTS" && cp "$work"/out/events-* "$SWEEP_EVENTS/" 2>/dev/null || true
else
	bench_publish wal
fi
