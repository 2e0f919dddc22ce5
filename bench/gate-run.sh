#!/usr/bin/env bash
# See gate.sh.  Runs as an unprivileged user with the PostgreSQL binaries
# in PATH.  $1: a directory for the clusters; $2: the output directory.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init "$1"
out=$2
mkdir -p "$out"
stock_port=$base
budget_port=$((base + 1))
bouncer_port=$((base + 2))
static_classes="web(priority=100), ai(priority=10, active=$AI_ACTIVE, queue_timeout=60s)"
adaptive_classes="web(priority=100), ai(priority=10, shed=cancel, queue_timeout=60s)"
shed_classes="web(priority=100), ai(priority=10, active=$AI_ACTIVE, shed=cancel, queue_timeout=60s)"

make_cluster() {
	bench_cluster "$1" "$2" "$3"
	bench_psql "$2" <<SQL
CREATE ROLE web LOGIN;
CREATE ROLE ai LOGIN;
CREATE TABLE t(id int PRIMARY KEY, v int);
INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;
GRANT SELECT ON t TO web, ai;
SQL
}

make_cluster stock "$stock_port" ""
make_cluster budget "$budget_port" "$(bench_budget_conf "$static_classes")
${BUDGET_CONF:-}"
bench_class_roles "$budget_port" web=web ai=ai

cat >"$dir/web.sql" <<'SQL'
\set id random(1, 1000)
SELECT v FROM t WHERE id = :id;
SQL
cat >"$dir/ai.sql" <<SQL
SELECT count(*) FROM generate_series(1, $AI_ROWS);
SQL

bench_users="ai web postgres"
start_bouncer() {
	local limit=$2 d=$dir/bouncer
	rm -rf "$d"
	bench_bouncer_conf "$d" "postgres = host=$dir port=$1 dbname=postgres" "$bouncer_port" \
		"max_client_conn = 200
default_pool_size = 20
${limit:+
[users]
ai = max_user_connections=$limit}"
	bench_bouncer_start "$d" "$bouncer_port"
}
stop_bouncer() { bench_bouncer_stop "$dir/bouncer/pgbouncer.pid"; }

set_classes() {
	bench_psql "$budget_port" -c "ALTER SYSTEM SET pg_budget.classes = '$1'" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 1
}

setup_name() {
	case "$1" in
		1) echo "1. stock PostgreSQL" ;;
		2) echo "2. PgBouncer, max_user_connections=$AI_ACTIVE for ai" ;;
		3) echo "3. pg_budget ai(active=$AI_ACTIVE)" ;;
		4) echo "4. pg_budget adaptive (no active)" ;;
		5) echo "5. PgBouncer in front of pg_budget ai(active=$AI_ACTIVE)" ;;
		6) echo "6. pg_budget ai(active=$AI_ACTIVE), shedding on" ;;
	esac
}

# one run of one setup: prints "web_p50 web_p99 ai_busy ai_quiet waits wait_ms"
run_setup() {
	local s=$1 r=$2 pgport ai_port ai_host run=$dir/run-$1-$2
	rm -rf "$run"
	mkdir -p "$run/web" "$run/ai"
	case "$s" in
		1) pgport=$stock_port; ai_port=$stock_port ;;
		2) pgport=$stock_port; start_bouncer "$stock_port" "$AI_ACTIVE"; ai_port=$bouncer_port ;;
		3) pgport=$budget_port; set_classes "$static_classes"; ai_port=$budget_port ;;
		4) pgport=$budget_port; set_classes "$adaptive_classes"; ai_port=$budget_port ;;
		5) pgport=$budget_port; set_classes "$static_classes"; start_bouncer "$budget_port" ""; ai_port=$bouncer_port ;;
		6) pgport=$budget_port; set_classes "$shed_classes"; ai_port=$budget_port ;;
	esac
	if [ "$pgport" = "$budget_port" ]; then
		bench_sql "$budget_port" "SELECT pg_budget_reset()" >/dev/null
	fi
	# ai runs past the end of the quiet window: its last seconds are not measured
	local total=$((WARM_SECONDS + RUN_SECONDS + SETTLE_SECONDS + RUN_SECONDS + 3))
	local t0 t_web0 t_web1 t_q0 t_q1
	t0=$(date +%s.%N)
	bench_pgbench_logged "$run" ai "$ai_port" ai -c "$AI_CLIENTS" -j 2 -T "$total" -f "$dir/ai.sql" &
	local ai_job=$!
	sleep "$WARM_SECONDS"
	t_web0=$(date +%s.%N)
	bench_pgbench_logged "$run" web "$pgport" web -c "$WEB_CLIENTS" -j 1 -T "$RUN_SECONDS" -R "$WEB_RATE" -f "$dir/web.sql"
	t_web1=$(date +%s.%N)
	t_q0=$(bench_epoch_plus "$t_web1" "$SETTLE_SECONDS")
	t_q1=$(bench_epoch_plus "$t_q0" "$RUN_SECONDS")
	local waits="" wait_ms=""
	if [ "$pgport" = "$budget_port" ]; then
		read -r waits wait_ms < <(bench_psql "$budget_port" -F ' ' \
			-c "SELECT queue_waits, round(queue_wait_ms::numeric / greatest(queue_waits, 1), 1) FROM pg_budget_status WHERE class = 'ai'")
		bench_sql "$budget_port" "SELECT at, action, signal, reason FROM pg_budget_events WHERE class = 'ai' ORDER BY at" >"$run/events.txt" 2>&1 || true
		if [ -n "${GATE_DIAG:-}" ]; then
			cp "$run/events.txt" "$GATE_DIAG/events-$s-$r.txt"
			bench_sql "$budget_port" "SELECT * FROM pg_budget_history WHERE class = 'ai' ORDER BY 1" >"$GATE_DIAG/history-$s-$r.txt" 2>&1 || true
			bench_sql "$budget_port" "SELECT * FROM pg_budget_status WHERE class = 'ai'" >"$GATE_DIAG/status-$s-$r.txt" 2>&1 || true
		fi
	fi
	wait "$ai_job" || true
	if [ "$s" = 2 ] || [ "$s" = 5 ]; then stop_bouncer; fi
	# web latency (ms) of each read from its per-transaction log
	bench_log_latency "$run/web" >"$run/web.lat"
	# ai statements in each window
	local busy quiet
	busy=$(bench_log_rate "$run/ai" "$t_web0" "$t_web1" "%.1f")
	quiet=$(bench_log_rate "$run/ai" "$t_q0" "$t_q1" "%.1f")
	echo "$(bench_pct "$run/web.lat" 50) $(bench_pct "$run/web.lat" 99) $busy $quiet ${waits:--} ${wait_ms:--}"
}

bench_rounds "$out/runs.txt" run_setup setup_name
med() { bench_med "$out/runs.txt" "$@"; }	# median of column $2 for setup $1
ratio() { bench_ratio "$@"; }
verdict() { bench_verdict "$@"; }

{
	echo "# The transaction gate: web reads beside CPU-heavy ai work (bench/gate.sh)"
	echo
	echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs; $(postgres -V); $(pgbouncer --version 2>/dev/null | head -1)."
	echo "Web: $WEB_CLIENTS kept connections, $WEB_RATE one-row reads a second in all (pgbench --rate; the latency of each read from pgbench's log, its schedule lag left out)."
	echo "AI: $AI_CLIENTS kept connections running \`SELECT count(*) FROM generate_series(1, $AI_ROWS)\` in a loop."
	echo "Each run: ai alone ${WARM_SECONDS} s, web and ai ${RUN_SECONDS} s (busy), ai alone ${SETTLE_SECONDS} s to settle, then ai alone ${RUN_SECONDS} s (quiet)."
	echo "Medians of $ROUNDS rounds, the setups taking turns. pg_budget classes: static \`$static_classes\`, adaptive \`$adaptive_classes\`, static with shedding on \`$shed_classes\` (defaults otherwise${BUDGET_CONF:+; and \`$BUDGET_CONF\`})."
	echo
	echo "| setup | web p50 ms | web p99 ms | ai stmt/s, web busy | ai stmt/s, web quiet | ai queue waits | mean queue wait ms |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for s in $SETUPS; do
		echo "| $(setup_name "$s") | $(med "$s" 3) | $(med "$s" 4) | $(med "$s" 5) | $(med "$s" 6) | $(med "$s" 7) | $(med "$s" 8) |"
	done
	echo
	echo "Goals:"
	echo
	echo "| goal | measured | verdict |"
	echo "|---|---:|---|"
	x=$(ratio "$(med 3 4)" "$(med 2 4)"); echo "| static web p99 <= 1.2x PgBouncer's | $x | $(verdict "$x" "<=" 1.2) |"
	x=$(ratio "$(med 3 5)" "$(med 2 5)"); echo "| static ai >= 0.9x PgBouncer's | $x | $(verdict "$x" ">=" 0.9) |"
	x=$(ratio "$(med 6 5)" "$(med 2 5)"); echo "| static, shedding on: ai >= 0.95x PgBouncer's | $x | $(verdict "$x" ">=" 0.95) |"
	x=$(ratio "$(med 6 4)" "$(med 2 4)"); echo "| static, shedding on: web p99 <= 1.2x PgBouncer's | $x | $(verdict "$x" "<=" 1.2) |"
	x=$(ratio "$(med 3 4)" "$(med 1 4)"); echo "| static web p99 <= 0.5x stock's | $x | $(verdict "$x" "<=" 0.5) |"
	x=$(ratio "$(med 4 4)" "$(med 1 4)"); echo "| adaptive web p99 <= 0.5x stock's | $x | $(verdict "$x" "<=" 0.5) |"
	x=$(ratio "$(med 4 5)" "$(med 3 5)"); echo "| adaptive ai (web busy) >= 0.7x static's | $x | $(verdict "$x" ">=" 0.7) |"
	x=$(ratio "$(med 4 6)" "$(med 1 6)"); echo "| adaptive ai (web quiet) >= 0.9x stock's | $x | $(verdict "$x" ">=" 0.9) |"
	echo
	bench_every_run "$out/runs.txt" "setup, round, web p50, web p99, ai busy, ai quiet, queue waits, mean wait ms"
} >"$out/gate.md"

# the plot: web p99 and ai throughput by setup
if command -v gnuplot >/dev/null; then
	bench_plot_data "$out/runs.txt" setup_name 4 5 6 >"$out/gate.dat"
	{ bench_plot_start "$out/gate.png" "Web reads beside CPU-heavy ai work (medians of $ROUNDS rounds)"; cat; } <<GP | gnuplot || true
set ylabel "web p99 latency (ms)"
plot '$out/gate.dat' using 3:xticlabels(2) lc rgb "#d95f02"
set key top right
set ylabel "ai statements per second"
plot '$out/gate.dat' using 4:xticlabels(2) title "web busy" lc rgb "#1b9e77", '' using 5 title "web quiet" lc rgb "#7570b3"
unset multiplot
GP
fi
