#!/usr/bin/env bash
# See gate_cost.sh.  Runs as an unprivileged user with the PostgreSQL
# binaries in PATH.  $1: a directory for the two throwaway clusters.
set -eu
dir=$1
mkdir -p "$dir"
base=$(( 20000 + RANDOM % 20000 ))

make_cluster() {
	local name=$1 port=$2 preload=$3
	initdb -D "$dir/$name" -A trust -U postgres >/dev/null
	cat >>"$dir/$name/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
max_connections = 100
shared_buffers = 128MB
$preload
CONF
	pg_ctl -D "$dir/$name" -l "$dir/$name.log" -w start >/dev/null
	psql -XqU postgres -h "$dir" -p "$port" -d postgres -c "CREATE ROLE app LOGIN" \
		-c "GRANT CREATE ON SCHEMA public TO app"
	pgbench -q -i -s 10 -h "$dir" -p "$port" -U app postgres >/dev/null 2>&1
}

make_cluster stock "$base" ""
make_cluster budget $((base + 1)) "shared_preload_libraries = 'pg_budget'
pg_budget.classes = 'web(max=80, priority=100), app(priority=50, active=64), ai(max=10, priority=10, active=2, shed=terminate)'"
trap 'pg_ctl -D "$dir/stock" -m fast -w stop >/dev/null; pg_ctl -D "$dir/budget" -m fast -w stop >/dev/null' EXIT
psql -XqU postgres -h "$dir" -p $((base + 1)) -d postgres \
	-c "CREATE EXTENSION pg_budget" -c "ALTER ROLE app SET pg_budget.class = 'app'"

tps() {
	pgbench -n -S -c "$CLIENTS" -j 2 -T "$RUN_SECONDS" \
		-h "$dir" -p "$1" -U app postgres 2>&1 |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

tps "$base" >/dev/null
tps $((base + 1)) >/dev/null
psql -XqU postgres -h "$dir" -p $((base + 1)) -d postgres -c "SELECT pg_budget_reset()" >/dev/null
: >"$dir/pairs"
for i in $(seq "$PAIRS"); do
	if [ $((i % 2)) = 1 ]; then
		s=$(tps "$base"); b=$(tps $((base + 1)))
	else
		b=$(tps $((base + 1))); s=$(tps "$base")
	fi
	echo "$s $b" >>"$dir/pairs"
done
read -r n p50 p99 waits < <(psql -XqAtF ' ' -U postgres -h "$dir" -p $((base + 1)) -d postgres <<'SQL'
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

echo "# Gate cost: pgbench -S with and without pg_budget's transaction gate (bench/gate_cost.sh)"
echo
echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs; $(postgres -V); pgbench -S at scale 10, $CLIENTS kept connections, $PAIRS alternating pairs of $RUN_SECONDS s; pg_budget with the client's class at active=64 (never reached: $waits transactions queued)."
echo
echo "| pair | stock TPS | pg_budget TPS | ratio |"
echo "|---|---|---|---|"
awk '{ printf "| %d | %.0f | %.0f | %.3f |\n", NR, $1, $2, $2 / $1 }' "$dir/pairs"
echo
awk '{ r[NR] = $2 / $1 } END {
	n = NR
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
	m = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
	printf "Median ratio pg_budget/stock: **%.3f** (goal >= 0.98)\n", m
}' "$dir/pairs"
echo
echo "Time in the gate, timed inside over $n transactions that did not queue (pg_budget_gate_histogram, 0.1 us buckets): median <= $p50 us, p99 <= $p99 us."
