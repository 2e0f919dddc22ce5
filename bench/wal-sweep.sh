# The adaptive WAL budget's fairness across set-ups, sourced by
# wal-run.sh when SWEEP is set (its clusters and run_setup).  SWEEP: points
# "name:row_bytes:rows:bulk_clients:web_clients", each run ROUNDS times
# with three setups in turn, the points taking turns too: 0 (web alone on
# stock: calm), 1 (stock, web beside bulk), 4 (pg_budget adaptive, no wal
# key).  Per point: bulk's transactions a second with the adaptive budget
# as a ratio of stock's (goal >= 0.2), web's commit p99 against stock's
# (goal <= 0.5, the adaptive goal of bench/results/wal.md) and against
# calm, and the lowest budget the worker set bulk.  Writes $out/wal-sweep.md.

sweep_point() {
	local IFS=:
	set -- $1
	P_NAME=$1 BULK_ROW_BYTES=$2 BULK_ROWS=$3 BULK_CLIENTS=$4 WEB_CLIENTS=$5
}

# SWEEP_RUNS: a runs file of an earlier sweep, reported again (no runs)
sweep_runs=${SWEEP_RUNS:-$out/sweep-runs.txt}
if [ -z "${SWEEP_RUNS:-}" ]; then
	: >"$sweep_runs"


for r in $(seq "$ROUNDS"); do
	for point in $SWEEP; do
		sweep_point "$point"
		bulk_script
		for s in 0 1 4; do
			RUN_TAG="$P_NAME-"
			line=$(run_setup "$s" "$r")
			echo "$P_NAME $s $r $line" >>"$sweep_runs"
			echo "round $r, $P_NAME, $(setup_name "$s"): $line" >&2
			cp "$dir/run-$P_NAME-$s-$r/events.txt" "$out/events-$P_NAME-$s-$r.txt" 2>/dev/null || true
		done
	done
done
fi

# the median of COLUMN over POINT's runs of SETUP ("nan" if none)
smed() {
	awk -v p="$1" -v s="$2" -v c="$3" '$1 == p && $2 == s && $c != "-" && $c != "nan" && $c != "none" { a[++n] = $c } END {
		if (n == 0) { print "nan"; exit }
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		if (n % 2) print a[(n + 1) / 2]; else printf "%.2f\n", (a[n / 2] + a[n / 2 + 1]) / 2 }' "$sweep_runs"
}

{
	echo "# The adaptive WAL budget across set-ups (bench/wal.sh, SWEEP)"
	echo
	echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs; $(postgres -V); fsync and synchronous_commit on; $WARM_SEGMENTS WAL segments to recycle."
	echo "Web: one-row updates, $WEB_RATE a second in all (pgbench --rate). Bulk: inserts as fast as it can. Bulk alone ${WARM_SECONDS} s, then both ${RUN_SECONDS} s, measured."
	echo "Per point, three setups in turn (web alone on stock: calm; stock; pg_budget adaptive, \`$adaptive_classes\`), the points taking turns; medians of $ROUNDS rounds."
	echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "| point | row bytes | rows a transaction | bulk clients | web clients | bulk tx/s stock | bulk tx/s adaptive | bulk ratio (goal >= 0.2) | web p99 calm ms | web p99 stock ms | web p99 adaptive ms | adaptive / stock (goal <= 0.5) | adaptive / calm | lowest budget MB/s |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for point in $SWEEP; do
		sweep_point "$point"
		st=$(smed "$P_NAME" 1 10)
		ad=$(smed "$P_NAME" 4 10)
		ratio=$(bench_ratio "$ad" "$st")
		calm=$(smed "$P_NAME" 0 5)
		sp=$(smed "$P_NAME" 1 5)
		ap=$(smed "$P_NAME" 4 5)
		vs=$(bench_ratio "$ap" "$sp")
		echo "| $P_NAME | $BULK_ROW_BYTES | $BULK_ROWS | $BULK_CLIENTS | $WEB_CLIENTS | $st | $ad | $ratio $(bench_verdict "$ratio" ">=" 0.2) | $calm | $sp | $ap | $vs $(bench_verdict "$vs" "<=" 0.5) | $(bench_ratio "$ap" "$calm") | $(smed "$P_NAME" 4 11) |"
	done
	echo
	bench_every_run "$sweep_runs" "point, setup, round, web p50, web p99, bulk WAL MB/s, bulk rows/s, counted %, bulk cancelled %, bulk tx/s, lowest budget MB/s"
} >"$out/wal-sweep.md"
