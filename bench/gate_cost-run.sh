#!/usr/bin/env bash
# See gate_cost.sh.  Runs as an unprivileged user with the PostgreSQL
# binaries in PATH.  $1: a directory for the three throwaway clusters.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init "$1"
classes="web(max=80, priority=100), app(priority=50, active=64), ai(max=10, priority=10, active=2, shed=terminate)"
wal_classes="web(max=80, priority=100), app(priority=50, active=64, wal=$WAL_BUDGET), ai(max=10, priority=10, active=2, shed=terminate)"

make_cluster() {
	bench_cluster "$1" "$2" "$3"
	bench_psql "$2" -c "CREATE ROLE app LOGIN" -c "GRANT CREATE ON SCHEMA public TO app"
	pgbench -q -i -s 10 -h "$dir" -p "$2" -U app postgres >/dev/null 2>&1
}

make_cluster stock "$base" ""
make_cluster budget $((base + 1)) "$(bench_budget_conf "$classes")"
make_cluster budget_wal $((base + 2)) "$(bench_budget_conf "$wal_classes")"
bench_class_roles $((base + 1)) app=app
bench_class_roles $((base + 2)) app=app

# the gate: select only, no WAL
tps() { bench_tps "$1" app -S -c "$CLIENTS" -j 2 -T "$RUN_SECONDS"; }
# WAL charging: simple updates (each transaction writes WAL and is charged
# at every statement end), commits not waiting for the flush, so that the
# run is bound by CPU as the select-only one is
wal_tps() { PGOPTIONS="-c synchronous_commit=off" bench_tps "$1" app -N -c "$CLIENTS" -j 2 -T "$RUN_SECONDS"; }

tps "$base" >/dev/null
tps $((base + 1)) >/dev/null
bench_sql $((base + 1)) "SELECT pg_budget_reset()" >/dev/null
bench_pairs "$PAIRS" "$dir/pairs" "tps $base" "tps $((base + 1))"
read -r n p50 p99 waits < <(bench_psql $((base + 1)) -F ' ' <<'SQL'
WITH h AS (SELECT lower_us, upper_us, transactions,
				  sum(transactions) OVER (ORDER BY lower_us) AS cum,
				  sum(transactions) OVER () AS total
			 FROM pg_budget_gate_histogram())
SELECT max(total),
	   min(coalesce(upper_us, lower_us)) FILTER (WHERE cum >= 0.5 * total),
	   min(coalesce(upper_us, lower_us)) FILTER (WHERE cum >= 0.99 * total),
	   (SELECT queue_waits FROM pg_budget_status WHERE class = 'app')
  FROM h;
SQL
)

wal_tps "$base" >/dev/null
wal_tps $((base + 2)) >/dev/null
bench_sql $((base + 2)) "SELECT pg_budget_reset()" >/dev/null
bench_pairs "$PAIRS" "$dir/wal_pairs" "wal_tps $base" "wal_tps $((base + 2))"
read -r wal_mb throttles < <(bench_sql $((base + 2)) \
	"SELECT round(wal_bytes / 1048576.0, 1), wal_throttles FROM pg_budget_status WHERE class = 'app'" | tr '|' ' ')

echo "# Gate cost: pgbench -S with and without pg_budget's transaction gate (bench/gate_cost.sh)"
echo
echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs; $(postgres -V); pgbench -S at scale 10, $CLIENTS kept connections, $PAIRS alternating pairs of $RUN_SECONDS s; pg_budget with the client's class at active=64 (never reached: $waits transactions queued)."
echo
bench_pairs_report "$dir/pairs" 0.98
echo
echo "Time in the gate, timed inside over $n transactions that did not queue (pg_budget_gate_histogram, 0.1 us buckets): median <= $p50 us, p99 <= $p99 us."
echo
echo "## WAL charging: pgbench -N with and without a WAL budget"
echo
echo "pgbench -N (simple updates: every transaction writes WAL, charged to the class and debited from its bucket at each statement end) at scale 10, synchronous_commit = off for the client, $CLIENTS kept connections, $PAIRS alternating pairs of $RUN_SECONDS s; pg_budget with the client's class at active=64, wal=$WAL_BUDGET (never reached: $wal_mb MB of WAL charged to it, $throttles throttles)."
echo
bench_pairs_report "$dir/wal_pairs" 0.98 "pg_budget wal="
