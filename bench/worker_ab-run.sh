#!/usr/bin/env bash
# One run of bench/worker_ab.sh, as the unprivileged user: BUILD PORT
# CGROUP.  Prints the worker's CPU in % of a core.
set -euo pipefail
build=$1 port=$2 cg=$3
d=$top/run
rm -rf "$d"
mkdir -p "$d"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
initdb -D "$d/data" -A trust -U postgres >/dev/null
cat >>"$d/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$d'
port = $port
max_connections = $((N * 13 / 10))
shared_buffers = 128MB
shared_preload_libraries = 'pg_budget'
dynamic_library_path = '$top/lib-$build:\$libdir'
pg_budget.classes = 'web(priority=100, cpu=100), ai(priority=10, cpu=1), bulk(cpu=idle)'
$([ -n "$cg" ] && echo "pg_budget.cgroup = '$cg/server'")
CONF
pg_ctl -D "$d/data" -l "$d/log" -w start >/dev/null
trap 'kill $holder 2>/dev/null || true; wait $holder 2>/dev/null || true; pg_ctl -D "$d/data" -m fast -w stop >/dev/null || true' EXIT
holder=""
[ -z "$cg" ] || echo $$ >"$cg/clients/cgroup.procs" 2>/dev/null || true
psql() { command psql -XqAt -U postgres -h "$d" -p "$port" -d postgres "$@"; }
psql -c "CREATE ROLE app LOGIN" -c "ALTER ROLE app SET pg_budget.class = 'web'" >/dev/null
cat >"$d/hold.sql" <<SQL
\\set idle random(1500, 4500)
\\sleep :idle ms
SELECT pg_sleep(1);
SQL
pgbench -n -c "$N" -j 2 -T 100000 -f "$d/hold.sql" -h "$d" -p "$port" -U app postgres >"$d/hold.out" 2>&1 &
holder=$!
n=0
for _ in $(seq $((60 + N / 10))); do
	n=$(psql -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'")
	[ "$n" -ge "$N" ] && break
	sleep 1
done
[ "$n" -ge "$N" ] || { echo "only $n of $N sessions (see $d/hold.out)" >&2; tail -3 "$d/hold.out" >&2; exit 1; }
sleep "$SETTLE_SECONDS"
wp=$(psql -c "SELECT pid FROM pg_stat_activity WHERE backend_type LIKE 'pg_budget%' LIMIT 1")
grep -q "$top/lib-$build/pg_budget.so" "/proc/$wp/maps" || { echo "the worker did not load build $build" >&2; exit 1; }
read -r s0 _ <"/proc/$wp/schedstat"
t0=$(date +%s.%N)
sleep "$MEASURE_SECONDS"
read -r s1 _ <"/proc/$wp/schedstat"
t1=$(date +%s.%N)
awk -v a="$s0" -v b="$s1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f\n", 100 * (b - a) / 1e9 / (t1 - t0) }'
