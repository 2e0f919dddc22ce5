#!/usr/bin/env bash
# See wal.sh.  Runs as an unprivileged user with the PostgreSQL binaries
# in PATH.  $1: a directory for the clusters; $2: the output directory.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init "$1"
out=$2
mkdir -p "$out"
stock_port=$base
budget_port=$((base + 1))
static_classes="web(priority=100), bulk(priority=0, wal=$WAL_BUDGET, shed=cancel)"
adaptive_classes="web(priority=100), bulk(priority=0, shed=cancel)"

make_cluster() {
	bench_cluster "$1" "$2" "shared_buffers = 256MB
min_wal_size = 2GB
max_wal_size = 4GB
fsync = on
synchronous_commit = on
$3"
	# a server at work recycles its WAL segments: 2 GB of them made before
	# the runs, so that none is created (16 MB written and flushed under
	# the commits) while bulk writes less than that in a run
	bench_psql "$2" <<SQL
CREATE TABLE walwarm(x int);
DO \$\$ BEGIN FOR i IN 1..$WARM_SEGMENTS LOOP INSERT INTO walwarm VALUES (i); PERFORM pg_switch_wal(); END LOOP; END \$\$;
DROP TABLE walwarm;
CHECKPOINT;
SQL
	bench_psql "$2" <<SQL
CREATE ROLE web LOGIN;
CREATE ROLE bulk LOGIN;
CREATE TABLE acct(id int PRIMARY KEY, v bigint) WITH (fillfactor = 50);
INSERT INTO acct SELECT g, 0 FROM generate_series(1, 1000) g;
CREATE UNLOGGED TABLE dummy(x int);
CREATE TABLE load(x text);
-- rows past the TOAST threshold stored as written, not compressed
ALTER TABLE load ALTER x SET STORAGE EXTERNAL;
GRANT ALL ON acct, load TO web, bulk;
SQL
}

make_cluster stock "$stock_port" ""
make_cluster budget "$budget_port" "$(bench_budget_conf "$static_classes")"
bench_class_roles "$budget_port" web=web bulk=bulk

cat >"$dir/web.sql" <<'SQL'
\set id random(1, 1000)
UPDATE acct SET v = v + 1 WHERE id = :id;
SQL
# bulk's transaction: BULK_ROWS rows of BULK_ROW_BYTES bytes
bulk_script() {
	cat >"$dir/bulk.sql" <<SQL
INSERT INTO load SELECT repeat('x', ${BULK_ROW_BYTES:-1000}) FROM generate_series(1, $BULK_ROWS);
SQL
}
bulk_script

psql_at() { bench_sql "$@"; }

setup_name() {
	case "$1" in
		0) echo "0. stock PostgreSQL, web alone (calm)" ;;
		1) echo "1. stock PostgreSQL" ;;
		2) echo "2. stock, bulk at synchronous_commit = off" ;;
		3) echo "3. pg_budget bulk(wal=$WAL_BUDGET)" ;;
		4) echo "4. pg_budget adaptive (no wal key)" ;;
	esac
}

# one run: prints "web_p50 web_p99 bulk_wal_mb_s bulk_rows_s counted_pct
# cancelled_pct bulk_xacts_s lowest_budget_mb_s"; setup 0 is web alone
run_setup() {
	local s=$1 r=$2 port run=$dir/run-${RUN_TAG:-}$1-$2
	rm -rf "$run"
	mkdir -p "$run/web" "$run/bulk"
	case "$s" in
		0) port=$stock_port ;;
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
	local bulk_job="" t_run0
	t_run0=$(date +%s.%N)
	if [ "$s" != 0 ]; then
		bench_pgbench_logged "$run" bulk "$port" bulk -c "$BULK_CLIENTS" -j 2 -T "$total" -f "$dir/bulk.sql" &
		bulk_job=$!
		sleep "$WARM_SECONDS"
	fi
	t_web0=$(date +%s.%N)
	bench_pgbench_logged "$run" web "$port" web -c "$WEB_CLIENTS" -j 1 -T "$RUN_SECONDS" -R "$WEB_RATE" -f "$dir/web.sql"
	t_web1=$(date +%s.%N)
	[ -n "$bulk_job" ] && { wait "$bulk_job" || true; }
	local counted="-"
	if [ "$port" = "$budget_port" ]; then
		psql_at "$port" "SELECT pg_stat_force_next_flush()" >/dev/null 2>&1 || true
		sleep 0.5
		counted=$(psql_at "$port" "SELECT round(100.0 * (SELECT sum(wal_bytes) FROM pg_budget_wal) / nullif((SELECT wal_bytes FROM pg_stat_wal), 0), 1)")
		psql_at "$port" "SELECT at, action, signal, reason FROM pg_budget_events WHERE class = 'bulk' AND at >= to_timestamp($t_run0) ORDER BY at" >"$run/events.txt" 2>&1 || true
	fi
	if [ "$s" = 3 ]; then
		# bulk's WAL in each whole second of the measured window (the frame
		# at T holds the second before T), for its steadiness under the budget
		psql_at "$port" "SELECT round(wal_rate::numeric / 1048576, 3) FROM pg_budget_history
			WHERE class = 'bulk' AND at >= to_timestamp($t_web0 + 1) AND at <= to_timestamp($t_web1)
			ORDER BY at" >"$run/wal_per_second"
		echo "$r $(bench_spread "$run/wal_per_second") $(paste -sd' ' "$run/wal_per_second")" >>"$out/wal_per_second.txt"
	fi
	bench_log_latency "$run/web" >"$run/web.lat"
	local txs rows_s wal_s
	txs=$(bench_log_rate "$run/bulk" "$t_web0" "$t_web1" "%.3f")
	rows_s=$(awk -v t="$txs" -v r="$BULK_ROWS" 'BEGIN { printf "%.0f", t * r }')
	# WAL of one bulk transaction, measured on this run: the total WAL over the
	# transactions (web's one-row updates are a few hundred bytes each)
	wal_s=$(awk -v t="$txs" -v w="$(psql_at "$port" "SELECT wal_bytes FROM pg_stat_wal")" \
		-v n="$(cat "$run"/bulk/pgbench_log.* | wc -l)" \
		'BEGIN { if (n == 0) { print "nan"; exit } printf "%.1f", t * (w / n) / 1048576 }')
	# bulk's statements cancelled by the worker, in % of its transactions
	local cancelled="-"
	if [ "$port" = "$budget_port" ]; then
		cancelled=$(awk -v s="$(psql_at "$port" "SELECT shed FROM pg_budget_status WHERE class = 'bulk'")" \
			-v n="$(cat "$run"/bulk/pgbench_log.* | wc -l)" \
			'BEGIN { if (n + s == 0) { print "0.0"; exit } printf "%.1f", 100 * s / (n + s) }')
	fi
	# the lowest WAL budget the worker set bulk in this run (MB/s)
	local lowest="-"
	if [ "$port" = "$budget_port" ]; then
		lowest=$(sed -n 's/.*WAL budget lowered to \([0-9.]*\) MB\/s.*/\1/p' "$run/events.txt" |
			sort -g | head -1)
		lowest=${lowest:-none}
	fi
	echo "$(bench_pct "$run/web.lat" 50) $(bench_pct "$run/web.lat" 99) $wal_s $rows_s $counted $cancelled $txs $lowest"
}

if [ -n "${SWEEP:-}" ]; then
	. "$(dirname "$0")/wal-sweep.sh"
	exit 0
fi

: >"$out/wal_per_second.txt"
bench_rounds "$out/runs.txt" run_setup setup_name
med() { bench_med "$out/runs.txt" "$@"; }
ratio() { bench_ratio "$@"; }
verdict() { bench_within "$@"; }
budget_mb=$(awk -v b="$WAL_BUDGET" 'BEGIN { n = b + 0; u = b; sub(/^[0-9.]+/, "", u); m = 1 / 1048576
	if (u ~ /^kB/) m = 1 / 1024; else if (u ~ /^MB/) m = 1; else if (u ~ /^GB/) m = 1024
	if (u ~ /min$/) m /= 60; printf "%.3f", n * m }')

{
	echo "# The WAL budget: web commits beside a bulk load (bench/wal.sh)"
	echo
	echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs; $(postgres -V); fsync and synchronous_commit on; each cluster starts with $WARM_SEGMENTS WAL segments made and recycled (min_wal_size = 2GB)."
	echo "Web: $WEB_CLIENTS kept connections, $WEB_RATE one-row updates a second in all (pgbench --rate; the latency of each commit from pgbench's log, its schedule lag left out)."
	echo "Bulk: $BULK_CLIENTS kept connections inserting $BULK_ROWS rows of 1000 bytes a transaction as fast as they can."
	echo "Bulk alone ${WARM_SECONDS} s, then both ${RUN_SECONDS} s, measured. Medians of $ROUNDS rounds, the setups taking turns."
	echo "pg_budget classes: static \`$static_classes\`, adaptive \`$adaptive_classes\` (defaults otherwise)."
	echo
	echo "| setup | web commit p50 ms | web commit p99 ms | bulk WAL MB/s | bulk rows/s | WAL by class / pg_stat_wal % | bulk cancelled % |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for s in $SETUPS; do
		echo "| $(setup_name "$s") | $(med "$s" 3) | $(med "$s" 4) | $(med "$s" 5) | $(med "$s" 6) | $(med "$s" 7) | $(med "$s" 8) |"
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
	x=$(ratio "$(med 4 6)" "$(med 1 6)"); echo "| adaptive: bulk keeps >= 0.2x of its stock rows | $x | $(verdict "$x" 0.2 1000) |"
	x=$(med 4 8); echo "| adaptive: <= 5% of bulk's transactions cancelled | $x | $(verdict "$x" 0 5) |"
	if [ -s "$out/wal_per_second.txt" ]; then
		x=$(bench_med "$out/wal_per_second.txt" "" 5)
		echo "| bulk's per-second WAL rate with wal=$WAL_BUDGET, coefficient of variation (median of the rounds; goal: CV <= 0.25 at a 20 MB/s budget) | $x | $(verdict "$x" 0 0.25) |"
		echo
		echo "Bulk's WAL rate second by second in setup 3 (\`wal=$WAL_BUDGET\`, $budget_mb MB/s), from pg_budget_history.wal_rate over the whole seconds of the measured window; CV = stddev / mean of the per-second rates (goal: CV <= 0.25 at a 20 MB/s budget):"
		echo
		echo "| round | seconds | mean MB/s | stddev MB/s | CV | min MB/s | max MB/s | each second, MB/s |"
		echo "|---|---:|---:|---:|---:|---:|---:|---|"
		awk '{ printf "| %s | %s | %s | %s | %s | %s | %s |", $1, $2, $3, $4, $5, $6, $7
			for (i = 8; i <= NF; i++) printf "%s%s", (i > 8 ? ", " : " "), $i; print " |" }' "$out/wal_per_second.txt"
	fi
	echo
	bench_every_run "$out/runs.txt" "setup, round, web p50, web p99, bulk WAL MB/s, bulk rows/s, counted %, bulk cancelled %"
} >"$out/wal.md"

if command -v gnuplot >/dev/null; then
	bench_plot_data "$out/runs.txt" setup_name 4 5 >"$out/wal.dat"
	{ bench_plot_start "$out/wal.png" "Web commits beside a bulk load (medians of $ROUNDS rounds)"; cat; } <<GP | gnuplot || true
set ylabel "web commit p99 (ms)"
plot '$out/wal.dat' using 3:xticlabels(2) lc rgb "#d95f02"
set ylabel "bulk WAL MB/s"
plot '$out/wal.dat' using 4:xticlabels(2) lc rgb "#1b9e77"
unset multiplot
GP
fi
