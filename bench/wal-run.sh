#!/usr/bin/env bash
# See wal.sh.  Runs as an unprivileged user with the PostgreSQL binaries
# in PATH.  $1: a directory for the clusters; $2: the output directory.
set -eu
dir=$1
out=$2
mkdir -p "$dir" "$out"
base=$(( 20000 + RANDOM % 20000 ))
stock_port=$base
budget_port=$((base + 1))
static_classes="web(priority=100), bulk(priority=0, wal=$WAL_BUDGET, shed=cancel)"
adaptive_classes="web(priority=100), bulk(priority=0, shed=cancel)"

make_cluster() {
	local name=$1 port=$2 preload=$3
	initdb -D "$dir/$name" -A trust -U postgres >/dev/null
	cat >>"$dir/$name/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
max_connections = 100
shared_buffers = 256MB
max_wal_size = 4GB
fsync = on
synchronous_commit = on
$preload
CONF
	pg_ctl -D "$dir/$name" -l "$dir/$name.log" -w start >/dev/null
	psql -XqU postgres -h "$dir" -p "$port" -d postgres <<SQL
CREATE ROLE web LOGIN;
CREATE ROLE bulk LOGIN;
CREATE TABLE acct(id int PRIMARY KEY, v bigint) WITH (fillfactor = 50);
INSERT INTO acct SELECT g, 0 FROM generate_series(1, 1000) g;
CREATE UNLOGGED TABLE dummy(x int);
CREATE TABLE load(x text);
GRANT ALL ON acct, load TO web, bulk;
SQL
}

make_cluster stock "$stock_port" ""
make_cluster budget "$budget_port" "shared_preload_libraries = 'pg_budget'
pg_budget.classes = '$static_classes'"
stop_all() {
	pg_ctl -D "$dir/stock" -m fast -w stop >/dev/null 2>&1 || true
	pg_ctl -D "$dir/budget" -m fast -w stop >/dev/null 2>&1 || true
}
trap stop_all EXIT
trap "exit 1" INT TERM
psql -XqU postgres -h "$dir" -p "$budget_port" -d postgres \
	-c "CREATE EXTENSION pg_budget" \
	-c "ALTER ROLE web SET pg_budget.class = 'web'" \
	-c "ALTER ROLE bulk SET pg_budget.class = 'bulk'"

cat >"$dir/web.sql" <<'SQL'
\set id random(1, 1000)
UPDATE acct SET v = v + 1 WHERE id = :id;
SQL
cat >"$dir/bulk.sql" <<SQL
INSERT INTO load SELECT repeat('x', 1000) FROM generate_series(1, $BULK_ROWS);
SQL

psql_at() { psql -XqAt -U postgres -h "$dir" -p "$1" -d postgres -c "$2"; }

setup_name() {
	case "$1" in
		1) echo "1. stock PostgreSQL" ;;
		2) echo "2. stock, bulk at synchronous_commit = off" ;;
		3) echo "3. pg_budget bulk(wal=$WAL_BUDGET)" ;;
		4) echo "4. pg_budget adaptive (no wal key)" ;;
	esac
}

pct() {
	sort -n "$1" | awk -v p="$2" '{ a[NR] = $1 } END { if (NR == 0) { print "nan"; exit } i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.2f", a[i] }'
}

# one run: prints "web_p50 web_p99 bulk_wal_mb_s bulk_rows_s counted_pct"
run_setup() {
	local s=$1 r=$2 port run=$dir/run-$1-$2
	rm -rf "$run"
	mkdir -p "$run/web" "$run/bulk"
	case "$s" in
		1) port=$stock_port; psql_at "$port" "ALTER ROLE bulk RESET synchronous_commit" ;;
		2) port=$stock_port; psql_at "$port" "ALTER ROLE bulk SET synchronous_commit = off" ;;
		3) port=$budget_port; psql_at "$port" "ALTER SYSTEM SET pg_budget.classes = '$static_classes'" ;;
		4) port=$budget_port; psql_at "$port" "ALTER SYSTEM SET pg_budget.classes = '$adaptive_classes'" ;;
	esac
	psql_at "$port" "SELECT pg_reload_conf()" >/dev/null
	psql_at "$port" "TRUNCATE load" >/dev/null
	# both clusters checkpointed and the page cache written out: the last
	# run's dirty gigabytes must not be flushed under this one's commits
	psql_at "$stock_port" "CHECKPOINT" >/dev/null
	psql_at "$budget_port" "CHECKPOINT" >/dev/null
	sync
	sleep 2
	psql_at "$port" "SELECT pg_stat_reset_shared('wal')" >/dev/null
	[ "$port" = "$budget_port" ] && psql_at "$port" "SELECT pg_budget_reset()" >/dev/null
	local total=$((WARM_SECONDS + RUN_SECONDS + 2)) t_web0 t_web1
	(cd "$run/bulk" && pgbench -n -c "$BULK_CLIENTS" -j 2 -T "$total" -f "$dir/bulk.sql" -l \
		-h "$dir" -p "$port" -U bulk postgres >"$run/bulk.out" 2>&1) &
	local bulk_job=$!
	sleep "$WARM_SECONDS"
	t_web0=$(date +%s.%N)
	(cd "$run/web" && pgbench -n -c "$WEB_CLIENTS" -j 1 -T "$RUN_SECONDS" -R "$WEB_RATE" -l \
		-f "$dir/web.sql" -h "$dir" -p "$port" -U web postgres >"$run/web.out" 2>&1)
	t_web1=$(date +%s.%N)
	wait "$bulk_job" || true
	local counted="-"
	if [ "$port" = "$budget_port" ]; then
		psql_at "$port" "SELECT pg_stat_force_next_flush()" >/dev/null 2>&1 || true
		sleep 0.5
		counted=$(psql_at "$port" "SELECT round(100.0 * (SELECT sum(wal_bytes) FROM pg_budget_wal) / nullif((SELECT wal_bytes FROM pg_stat_wal), 0), 1)")
		psql_at "$port" "SELECT at, action, signal, reason FROM pg_budget_events WHERE class = 'bulk' ORDER BY at" >"$run/events.txt" 2>&1 || true
	fi
	cat "$run"/web/pgbench_log.* 2>/dev/null | awk '{ print ($3 - $7) / 1000.0 }' >"$run/web.lat"
	local txs rows_s wal_s
	txs=$(cat "$run"/bulk/pgbench_log.* 2>/dev/null | awk -v a="$t_web0" -v b="$t_web1" \
		'{ t = $5 + $6 / 1e6; if (t >= a && t < b) n++ } END { printf "%.3f", n / (b - a) }')
	rows_s=$(awk -v t="$txs" -v r="$BULK_ROWS" 'BEGIN { printf "%.0f", t * r }')
	# WAL of one bulk transaction, measured on this run: the total WAL over the
	# transactions (web's one-row updates are a few hundred bytes each)
	wal_s=$(awk -v t="$txs" -v w="$(psql_at "$port" "SELECT wal_bytes FROM pg_stat_wal")" \
		-v n="$(cat "$run"/bulk/pgbench_log.* | wc -l)" \
		'BEGIN { if (n == 0) { print "nan"; exit } printf "%.1f", t * (w / n) / 1048576 }')
	echo "$(pct "$run/web.lat" 50) $(pct "$run/web.lat" 99) $wal_s $rows_s $counted"
}

: >"$out/runs.txt"
for r in $(seq "$ROUNDS"); do
	for s in $SETUPS; do
		line=$(run_setup "$s" "$r")
		echo "$s $r $line" >>"$out/runs.txt"
		echo "round $r, $(setup_name "$s"): $line" >&2
	done
done

med() {
	awk -v s="$1" -v c="$2" '$1 == s && $c != "-" && $c != "nan" { a[++n] = $c } END {
		if (n == 0) { print "nan"; exit }
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		if (n % 2) print a[(n + 1) / 2]; else printf "%.2f\n", (a[n / 2] + a[n / 2 + 1]) / 2 }' "$out/runs.txt"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "nan" || b == "nan") print "nan"; else printf "%.2f", a / b }'; }
verdict() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { if (x == "nan") { print "n/a"; exit } print (x >= lo && x <= hi) ? "met" : "missed" }'; }
budget_mb=$(awk -v b="$WAL_BUDGET" 'BEGIN { n = b + 0; u = b; sub(/^[0-9.]+/, "", u); m = 1 / 1048576
	if (u ~ /^kB/) m = 1 / 1024; else if (u ~ /^MB/) m = 1; else if (u ~ /^GB/) m = 1024
	if (u ~ /min$/) m /= 60; printf "%.3f", n * m }')

{
	echo "# The WAL budget: web commits beside a bulk load (bench/wal.sh)"
	echo
	echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs; $(postgres -V); fsync and synchronous_commit on."
	echo "Web: $WEB_CLIENTS kept connections, $WEB_RATE one-row updates a second in all (pgbench --rate; the latency of each commit from pgbench's log, its schedule lag left out)."
	echo "Bulk: $BULK_CLIENTS kept connections inserting $BULK_ROWS rows of 1000 bytes a transaction as fast as they can."
	echo "Bulk alone ${WARM_SECONDS} s, then both ${RUN_SECONDS} s, measured. Medians of $ROUNDS rounds, the setups taking turns."
	echo "pg_budget classes: static \`$static_classes\`, adaptive \`$adaptive_classes\` (defaults otherwise)."
	echo
	echo "| setup | web commit p50 ms | web commit p99 ms | bulk WAL MB/s | bulk rows/s | WAL by class / pg_stat_wal % |"
	echo "|---|---:|---:|---:|---:|---:|"
	for s in $SETUPS; do
		echo "| $(setup_name "$s") | $(med "$s" 3) | $(med "$s" 4) | $(med "$s" 5) | $(med "$s" 6) | $(med "$s" 7) |"
	done
	echo
	best=$(awk -v a="$(med 1 4)" -v b="$(med 2 4)" 'BEGIN { if (a == "nan") print b; else if (b == "nan") print a; else print (a < b ? a : b) }')
	echo "| goal | measured | verdict |"
	echo "|---|---:|---|"
	x=$(ratio "$(med 3 4)" "$best"); echo "| web p99 with wal=$WAL_BUDGET <= 0.4x the best setup without pg_budget | $x | $(verdict "$x" 0 0.4) |"
	x=$(ratio "$(med 3 5)" "$budget_mb"); echo "| bulk WAL rate within 0.7x-1.2x of its budget | $x | $(verdict "$x" 0.7 1.2) |"
	x=$(awk -v a="$(med 3 7)" -v b="$(med 4 7)" 'BEGIN { d1 = a - 100; if (d1 < 0) d1 = -d1; d2 = b - 100; if (d2 < 0) d2 = -d2; printf "%.1f", (d1 > d2 ? d1 : d2) }')
	echo "| WAL counted by class within 10% of pg_stat_wal (largest difference, %) | $x | $(verdict "$x" 0 10) |"
	x=$(ratio "$(med 4 4)" "$(med 1 4)"); echo "| adaptive web p99 <= 0.5x stock's | $x | $(verdict "$x" 0 0.5) |"
	echo
	echo "Every run (setup, round, web p50, web p99, bulk WAL MB/s, bulk rows/s, counted %):"
	echo
	echo '```'
	cat "$out/runs.txt"
	echo '```'
} >"$out/wal.md"

if command -v gnuplot >/dev/null; then
	for s in $SETUPS; do
		printf '%s\t"%s"\t%s\t%s\n' "$s" "$(setup_name "$s" | sed 's/^[0-9]\. //')" "$(med "$s" 4)" "$(med "$s" 5)"
	done >"$out/wal.dat"
	gnuplot <<GP || true
set terminal pngcairo size 1100,620 font "sans,9" noenhanced
set output '$out/wal.png'
set multiplot layout 1,2 title "Web commits beside a bulk load (medians of $ROUNDS rounds)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set xtics rotate by -25 scale 0
set grid ytics
set yrange [0:*]
set bmargin 9
set key off
set ylabel "web commit p99 (ms)"
plot '$out/wal.dat' using 3:xticlabels(2) lc rgb "#d95f02"
set ylabel "bulk WAL MB/s"
plot '$out/wal.dat' using 4:xticlabels(2) lc rgb "#1b9e77"
unset multiplot
GP
fi
