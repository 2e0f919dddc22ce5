#!/usr/bin/env bash
# See sampling_overhead.sh.  Runs as an unprivileged user with the PostgreSQL
# binaries in PATH.  $1: a directory for the three throwaway clusters.
# The report goes to stdout, progress to stderr.
set -eu
. "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-15}
RUN_SECONDS=${RUN_SECONDS:-20}
CLIENTS=${CLIENTS:-8}
THREADS=${THREADS:-2}
SCALE=${SCALE:-10}
SAMPLE_INTERVAL=${SAMPLE_INTERVAL:-}
SAMPLE_INTERVAL=${SAMPLE_INTERVAL%ms}
QUERY_MODE=${QUERY_MODE:-simple}
bench_init "$1"
port_A=$base port_B=$((base + 1)) port_C=$((base + 2))
name_A=stock name_B=pg_budget name_C=pg_wait_sampling

if [ ! -f "$(pg_config --pkglibdir)/pg_wait_sampling.so" ]; then
	echo "pg_wait_sampling is not installed (Debian package postgresql-15-pg-wait-sampling)" >&2
	exit 1
fi

sql() { bench_sql "$@"; }	# sql PORT QUERY: one value, as postgres

# Identical clusters apart from the preload block ($3).
make_cluster() {
	bench_cluster "$1" "$2" "shared_buffers = 256MB
$3"
	bench_sql "$2" "CREATE ROLE app LOGIN"
}

say "starting three clusters in $dir (ports $port_A, $port_B, $port_C)"
make_cluster "$name_A" "$port_A" "# (A) stock: nothing preloaded"
b_interval=""
[ -n "$SAMPLE_INTERVAL" ] && b_interval="pg_budget.sample_interval = $SAMPLE_INTERVAL"
make_cluster "$name_B" "$port_B" "# (B) pg_budget
shared_preload_libraries = 'pg_budget'
pg_budget.classes = 'web(max=80, reserve=20, priority=100), admin(max=5, reserve=5, priority=1000), maint(max=10, priority=50), ai(max=60, priority=10, rate=1000/s, shed=terminate), bulk(max=20, priority=0, shed=terminate)'
$b_interval"
bench_class_roles "$port_B" app=web
# The period actually in force in B (its default unless SAMPLE_INTERVAL is set).
period=$(sql "$port_B" "SELECT setting FROM pg_settings WHERE name = 'pg_budget.sample_interval'")
make_cluster "$name_C" "$port_C" "# (C) pg_wait_sampling
shared_preload_libraries = 'pg_wait_sampling'
pg_wait_sampling.profile_period = $period
pg_wait_sampling.history_period = $period"
sql "$port_C" "CREATE EXTENSION pg_wait_sampling"

for c in A B C; do
	eval "p=\$port_$c"
	say "pgbench -i -s $SCALE on $c"
	pgbench -i -q -s "$SCALE" -h "$dir" -p "$p" -U postgres postgres >"$dir/init_$c.log" 2>&1 ||
		{ cat "$dir/init_$c.log" >&2; exit 1; }
	sql "$p" "GRANT SELECT ON ALL TABLES IN SCHEMA public TO app" >/dev/null
	sql "$p" "CHECKPOINT" >/dev/null
done

# The sampler processes, to check they are there and to report their CPU time.
b_worker=$(bench_worker_pid "$port_B" || true)
c_pm=$(head -1 "$dir/$name_C/postmaster.pid")
c_collector=$(ps -o pid=,args= --ppid "$c_pm" | awk '/pg_wait_sampling/ { print $1; exit }')
if [ -z "$b_worker" ] || [ -z "$c_collector" ]; then
	echo "sampler not running: pg_budget worker '$b_worker', pg_wait_sampling collector '$c_collector'" >&2
	exit 1
fi
cputicks() { bench_cputicks "$@"; }
tps() { bench_tps "$1" app -S -M "$QUERY_MODE" -c "$CLIENTS" -j "$THREADS" -T "$RUN_SECONDS"; }

say "warm-up run on each"
for c in A B C; do
	eval "p=\$port_$c"
	tps "$p" >/dev/null
done

b_t0=$(cputicks "$b_worker") c_t0=$(cputicks "$c_collector")
b_adm0=$(sql "$port_B" "SELECT admitted FROM pg_budget_status WHERE class = 'web'")
t0=$(date +%s.%N)
: >"$dir/rounds"
for i in $(seq "$ROUNDS"); do
	order=ABCABC
	order=${order:$(( (i - 1) % 3 )):3}
	for k in 0 1 2; do
		c=${order:$k:1}
		eval "p=\$port_$c"
		eval "r_$c=\$(tps \"\$p\")"
	done
	say "round $i/$ROUNDS ($order): A $r_A  B $r_B  C $r_C"
	echo "$i $order $r_A $r_B $r_C" >>"$dir/rounds"
done
t1=$(date +%s.%N)
b_t1=$(cputicks "$b_worker") c_t1=$(cputicks "$c_collector")
b_adm1=$(sql "$port_B" "SELECT admitted FROM pg_budget_status WHERE class = 'web'")
b_worker_after=$(sql "$port_B" "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_budget worker'")
hz=$(getconf CLK_TCK)

awk -v clients="$CLIENTS" -v threads="$THREADS" -v secs="$RUN_SECONDS" -v scale="$SCALE" \
	-v mode="$QUERY_MODE" '
	'"$BENCH_AWK"'
	{ rd[NR] = $1; ord[NR] = $2; a[NR] = $3; b[NR] = $4; c[NR] = $5
	  ba[NR] = $4 / $3; ca[NR] = $5 / $3; bc[NR] = $4 / $5 }
	END {
		n = NR
		printf "## Select-only throughput: pgbench -S -M %s, %d clients, -j %d, scale %d; %d rounds of %ds runs in rotating order\n\n", mode, clients, threads, scale, n, secs
		print "| round | order | A stock tps | B pg_budget tps | C pg_wait_sampling tps | B/A | C/A | B/C |"
		print "|---|---|---|---|---|---|---|---|"
		for (i = 1; i <= n; i++)
			printf "| %d | %s | %.0f | %.0f | %.0f | %.4f | %.4f | %.4f |\n", rd[i], ord[i], a[i], b[i], c[i], ba[i], ca[i], bc[i]
		printf "\nmedian tps: A stock %.0f, B pg_budget %.0f, C pg_wait_sampling %.0f\n\n", median(a, n), median(b, n), median(c, n)
		print "| per-round ratio | median | min | max |"
		print "|---|---|---|---|"
		printf "| B/A (pg_budget vs stock) | **%.4f** | %.4f | %.4f |\n", median(ba, n), lo(ba, n), hi(ba, n)
		printf "| C/A (pg_wait_sampling vs stock) | **%.4f** | %.4f | %.4f |\n", median(ca, n), lo(ca, n), hi(ca, n)
		printf "| B/C (pg_budget vs pg_wait_sampling) | **%.4f** | %.4f | %.4f |\n", median(bc, n), lo(bc, n), hi(bc, n)
	}' "$dir/rounds"

secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
cpu_pct() { awk -v d="$1" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.2f", 100 * d / hz / s }'; }
cat <<REPORT

## Setup

- sampling period: pg_budget.sample_interval = ${period}ms ($( [ -n "$SAMPLE_INTERVAL" ] && echo "set by SAMPLE_INTERVAL" || echo "pg_budget's default" )); pg_wait_sampling.profile_period = $(sql "$port_C" "SHOW pg_wait_sampling.profile_period"), history_period = $(sql "$port_C" "SHOW pg_wait_sampling.history_period"), profile_queries = $(sql "$port_C" "SHOW pg_wait_sampling.profile_queries")
- $(sql "$port_A" "SELECT version()")
- pg_wait_sampling $(sql "$port_C" "SELECT extversion FROM pg_extension WHERE extname = 'pg_wait_sampling'"), pg_budget $(sql "$port_B" "SELECT extversion FROM pg_extension WHERE extname = 'pg_budget'"); $(nproc) CPUs
- the three clusters differ only in the preload block: max_connections = 100, shared_buffers = 256MB, unix socket only; B has the 5-class table, pgbench's role in class web
- B's pgbench logins admitted as web during the measured rounds: $((b_adm1 - b_adm0)) (expected $((ROUNDS * (CLIENTS + 1))): each run opens one connection per client and one to read the scale)
- sampler CPU over the ${secs}s of measured rounds (all three servers, whether measured or idle): pg_budget worker $(cpu_pct $((b_t1 - b_t0)))% of one core$( [ "$b_worker" = "$b_worker_after" ] || echo " (worker restarted: pid $b_worker then $b_worker_after)" ), pg_wait_sampling collector $(cpu_pct $((c_t1 - c_t0)))%
REPORT
