#!/usr/bin/env bash
# See lock_storm.sh.  Runs as an unprivileged user with the PostgreSQL
# binaries in PATH.  $1: a directory for the two throwaway clusters.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init "$1"

make_cluster() {
	local port=$2
	bench_cluster "$1" "$port" "synchronous_commit = off
$3"
	bench_sql "$port" "CREATE ROLE app LOGIN"
	# scale 1: one branch row that every transaction updates
	pgbench -q -i -s 1 -h "$dir" -p "$port" -U app postgres >/dev/null 2>&1 ||
		{ bench_sql "$port" "GRANT CREATE ON SCHEMA public TO app";
		  pgbench -q -i -s 1 -h "$dir" -p "$port" -U app postgres >/dev/null; }
}

make_cluster stock "$base" ""
make_cluster budget $((base + 1)) "shared_preload_libraries = 'pg_budget'
pg_budget.classes = 'web(max=80, priority=100), ai(max=10, priority=10, shed=terminate)'
pg_budget.lock_stats_threshold = 10"
bench_class_roles $((base + 1)) app=web

tps() { bench_tps "$1" app -c "$CLIENTS" -j 2 -T "$RUN_SECONDS" -b tpcb-like; }

tps "$base" >/dev/null
tps $((base + 1)) >/dev/null
bench_pairs "$PAIRS" "$dir/pairs" "tps $base" "tps $((base + 1))"
waits=$(bench_sql $((base + 1)) "SELECT coalesce(sum(waits), 0) FROM pg_budget_lock_stats")

echo "# Lock storm: pgbench hot-row updates with and without pg_budget (bench/lock_storm.sh)"
echo
echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs; $(postgres -V); pgbench tpcb-like at scale 1 (every transaction updates the one branch row), $CLIENTS clients, $PAIRS alternating pairs of $RUN_SECONDS s; pg_budget with lock_stats_threshold = 10 ms (lock waits looked up: $waits)."
echo
bench_pairs_report "$dir/pairs" 0.97
