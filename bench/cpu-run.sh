#!/usr/bin/env bash
# See cpu.sh.  Runs as an unprivileged user with the PostgreSQL binaries
# in PATH.  $1: a directory for the clusters; $2: the output directory.
# LAYOUT 2: CPU_CGROUP, a cgroup v1 cpu directory this user owns, where
# each cluster and the clients get a cgroup of their own.  LAYOUT 1:
# CPU_DIR, the third cluster's pg_budget.cgroup as doc/cpu.md's set-up
# makes it, the rest of the run where it was started (the root cgroup).
# Neither: no weights setups.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init "$1"
out=$2
mkdir -p "$out"
stock_port=$base
budget_port=$((base + 1))
weights_port=$((base + 2))
bouncer_port=$((base + 3))
cg=${CPU_CGROUP:-}
cpu_dir=${CPU_DIR:-}
name=cpu
[ "${LAYOUT:-2}" = 1 ] && name=cpu-root
[ "$MODE" = write ] && name=cpu-write

gate_classes="web(priority=100), ai(priority=10, active=$AI_ACTIVE, queue_timeout=60s)"
plain_classes="web(priority=100), ai(priority=10)"
weight_classes="web(priority=100, cpu=100), ai(priority=10, cpu=1)"
both_classes="web(priority=100, cpu=100), ai(priority=10, cpu=1, active=$AI_ACTIVE, queue_timeout=60s)"
idle_classes="web(priority=100, cpu=100), ai(priority=10, cpu=idle)"

# the weights setups need a cgroup; without one they are left out
if [ -z "$cg" ] && [ -z "$cpu_dir" ]; then
	kept="" skipped=""
	for s in $SETUPS; do
		case "$s" in 5 | 6 | 8 | 9) skipped="$skipped $s" ;; *) kept="$kept $s" ;; esac
	done
	if [ -n "$skipped" ]; then
		say "skipping setups$skipped (CPU weights): ${CPU_CGROUP_NOTE:-no cgroup}"
	fi
	SETUPS=${kept# }
fi
# setup 8 (layout 1): the weights with pg_budget.cgroup at cpu.shares 1024
# x the CPUs (one busy process on each CPU) instead of the set-up's
if [ -z "$cpu_dir" ]; then
	kept=""
	for s in $SETUPS; do [ "$s" = 8 ] || kept="$kept $s"; done
	SETUPS=${kept# }
fi
set_up_shares=""
[ -n "$cpu_dir" ] && set_up_shares=$(cat "$cpu_dir/cpu.shares")
dir_shares() { [ -z "$cpu_dir" ] || echo "$1" >"$cpu_dir/cpu.shares"; }
weights_needed=0
for s in $SETUPS; do case "$s" in 5 | 6 | 8 | 9) weights_needed=1 ;; esac; done

# Each cluster in a cgroup of its own, the clients (this script and what it
# starts: pgbench, pgbouncer, psql) in another, siblings of equal weight.
into() { [ -z "$cg" ] || echo $$ >"$cg/$1/cgroup.procs"; }
if [ -n "$cg" ]; then
	mkdir -p "$cg/clients" "$cg/stock" "$cg/budget" "$cg/weights"
	into clients
fi

make_cluster() {	# make_cluster NAME PORT CGROUP CONF
	into "$3"
	bench_cluster "$1" "$2" "$4"
	into clients
	pgbench -i -q -s "$SCALE" -h "$dir" -p "$2" -U postgres postgres >/dev/null 2>&1
	bench_psql "$2" <<SQL
CREATE ROLE web LOGIN;
CREATE ROLE ai LOGIN;
GRANT SELECT, UPDATE ON pgbench_accounts TO web, ai;
VACUUM ANALYZE pgbench_accounts;
SQL
}

say "making the clusters (pgbench -i -s $SCALE)"
make_cluster stock "$stock_port" stock ""
# MODE=write: sampled every SAMPLE_INTERVAL, for more of web's rare LWLock waits
sample_conf=""
sample_every=10ms
if [ "$MODE" = write ]; then
	sample_conf="pg_budget.sample_interval = '$SAMPLE_INTERVAL'"
	sample_every=$SAMPLE_INTERVAL
fi
make_cluster budget "$budget_port" budget "$(bench_budget_conf "$plain_classes")
$sample_conf"
bench_class_roles "$budget_port" web=web ai=ai
if [ "$weights_needed" = 1 ]; then
	# the postmaster moves itself into $budget_dir/pg_budget.server
	budget_dir=$cg/weights
	[ -n "$cpu_dir" ] && budget_dir=$cpu_dir
	make_cluster weights "$weights_port" weights "$(bench_budget_conf "$weight_classes")
pg_budget.cgroup = '$budget_dir'
$sample_conf"
	bench_class_roles "$weights_port" web=web ai=ai
fi

rows=$((100000 * SCALE))
if [ "$MODE" = write ]; then
	web_range=$HOT_ROWS
	cat >"$dir/ai.sql" <<SQL
\\set a random(1, $((HOT_ROWS - WRITE_ROWS + 1)))
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN :a AND :a + $((WRITE_ROWS - 1));
SELECT count(*) FROM generate_series(1, $AI_ROWS);
SQL
	ai_opts="--max-tries=10"
else
	web_range=$rows
	cat >"$dir/ai.sql" <<SQL
SELECT count(*) FROM generate_series(1, $AI_ROWS);
SQL
	ai_opts=""
fi
cat >"$dir/web.sql" <<SQL
\\set aid random(1, $web_range)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
SQL

bench_users="ai web postgres"
start_bouncer() {
	local d=$dir/bouncer
	rm -rf "$d"
	bench_bouncer_conf "$d" "postgres = host=$dir port=$stock_port dbname=postgres" "$bouncer_port" \
		"max_client_conn = 200
default_pool_size = 20

[users]
ai = max_user_connections=$AI_ACTIVE"
	bench_bouncer_start "$d" "$bouncer_port"
}
stop_bouncer() { bench_bouncer_stop "$dir/bouncer/pgbouncer.pid"; }

set_classes() {	# set_classes PORT CLASSES
	bench_psql "$1" -c "ALTER SYSTEM SET pg_budget.classes = '$2'" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 1
}

setup_name() {
	case "$1" in
		1) echo "1. calm: web alone" ;;
		2) echo "2. stock PostgreSQL" ;;
		3) echo "3. PgBouncer, max_user_connections=$AI_ACTIVE for ai" ;;
		4) echo "4. pg_budget ai(active=$AI_ACTIVE)" ;;
		5) echo "5. pg_budget web(cpu=100), ai(cpu=1)" ;;
		8) echo "8. weights, pg_budget.cgroup at cpu.shares $((1024 * $(nproc)))" ;;
		6) echo "6. weights and gate: ai(cpu=1, active=$AI_ACTIVE)" ;;
		7) echo "7. pg_budget classes, no weights" ;;
		9) echo "9. pg_budget web(cpu=100), ai(cpu=idle)" ;;
	esac
}

# client_delay PORT JOB: the run delay (ns, second field of
# /proc/<pid>/schedstat, all its threads) of web's pgbench on PORT while JOB
# runs, as last read (every 0.2 s: the last moments are not in it)
client_delay() {
	local pid="" d=0 t x
	while kill -0 "$2" 2>/dev/null; do
		[ -n "$pid" ] || pid=$(pgrep -u "$(id -u)" -f "^pgbench -n .* -p $1 -U web " | head -1)
		if [ -n "$pid" ]; then
			x=0
			for t in /proc/"$pid"/task/*/schedstat; do
				x=$((x + $(awk '{ print $2 }' "$t" 2>/dev/null || echo 0)))
			done
			[ "$x" -gt "$d" ] && d=$x
		fi
		sleep 0.2
	done
	echo "$d"
}

# placed_job PORT: "N/M ms": ai's sessions in ai's cgroup, of all ai's
# sessions, and how long pg_budget_backends took to answer
placed_job() {
	local t0 t1 p
	t0=$(date +%s%N)
	p=$(bench_sql "$1" "SELECT count(*) FILTER (WHERE cgroup LIKE '%/ai') || '/' || count(*) FROM pg_budget_backends WHERE class = 'ai'")
	t1=$(date +%s%N)
	echo "$p $(((t1 - t0) / 1000000))"
}

# one run of one setup: prints "web_p50 web_p99 web_tx_s ai_stmt_s
# web_delay_us ai_in_cgroup web_lwlock web_active boosts client_delay_us"
run_setup() {
	local s=$1 r=$2 port ai_port classes="" run=$dir/run-$1-$2
	rm -rf "$run"
	mkdir -p "$run/web" "$run/ai"
	case "$s" in
		1 | 2) port=$stock_port ;;
		3) port=$stock_port; start_bouncer ;;
		4) port=$budget_port; classes=$gate_classes ;;
		7) port=$budget_port; classes=$plain_classes ;;
		5) port=$weights_port; classes=$weight_classes; dir_shares "$set_up_shares" ;;
		8) port=$weights_port; classes=$weight_classes; dir_shares $((1024 * $(nproc))) ;;
		6) port=$weights_port; classes=$both_classes; dir_shares "$set_up_shares" ;;
		9) port=$weights_port; classes=$idle_classes; dir_shares "$set_up_shares" ;;
	esac
	ai_port=$port
	[ "$s" = 3 ] && ai_port=$bouncer_port
	if [ -n "$classes" ]; then
		set_classes "$port" "$classes"
		if [ "$port" = "$weights_port" ]; then
			local w want=1
			w=$(bench_sql "$port" "SELECT CASE WHEN cpu_idle THEN 'idle' ELSE cpu_weight::text END FROM pg_budget_status WHERE class = 'ai'")
			[ "$s" = 9 ] && want=idle
			[ "$w" = "$want" ] || { say "setup $s: ai's cpu weight is '$w', not $want (see $dir/weights.log)"; exit 1; }
		fi
		bench_sql "$port" "SELECT pg_budget_reset()" >/dev/null
	fi
	local total=$((WARM_SECONDS + RUN_SECONDS + 2)) t_web0 t_web1 ai_job="" placed="-" placed_pid=""
	if [ "$s" != 1 ]; then
		bench_pgbench_logged "$run" ai "$ai_port" ai -c "$AI_CLIENTS" -j 2 -T "$total" $ai_opts -f "$dir/ai.sql" &
		ai_job=$!
		sleep "$WARM_SECONDS"
		if [ "$port" = "$weights_port" ]; then
			# ai's sessions, and how many of them the kernel has in ai's
			# cgroup: read beside web's run, not before it, so that a slow
			# answer (seen at up to 22 s) cannot shorten the window measured
			placed_job "$port" >"$run/placed" &
			placed_pid=$!
		fi
	fi
	t_web0=$(date +%s.%N)
	bench_pgbench_logged "$run" web "$port" web -c "$WEB_CLIENTS" -j 1 -T "$RUN_SECONDS" -R "$WEB_RATE" -f "$dir/web.sql" &
	local web_job=$! cdelay
	cdelay=$(client_delay "$port" "$web_job")
	wait "$web_job"
	t_web1=$(date +%s.%N)
	local delay="-" lw="-" act="-" boosts="-"
	if [ -n "$classes" ]; then
		# web's run delay (summed once a second by the worker: the last second
		# of each web session is not in it), wait samples and boosts so far
		sleep 1.2
		read -r delay lw act boosts < <(bench_psql "$port" -F ' ' -c "
			SELECT (SELECT coalesce(run_delay_ms, 0) FROM pg_budget_status WHERE class = 'web'),
			       (SELECT coalesce(sum(samples), 0) FROM pg_budget_wait_stats WHERE class = 'web' AND wait_event_type = 'LWLock'),
			       (SELECT coalesce(sum(samples), 0) FROM pg_budget_wait_stats WHERE class = 'web'),
			       (SELECT coalesce(sum(count), 0) FROM pg_budget_events WHERE action = 'cpu boost')")
		bench_psql "$port" -F ' ' -c "SELECT class, wait_event_type, wait_event, samples FROM pg_budget_wait_stats ORDER BY samples DESC" >"$out/wait_stats-$s-$r.txt" 2>&1 || true
		bench_psql "$port" -F ' ' -c "SELECT class, cpu_weight, cpu_ms, run_delay_ms, queue_waits FROM pg_budget_status" >"$run/status.txt" 2>&1 || true
	fi
	[ -n "$ai_job" ] && { wait "$ai_job" || true; }
	[ -n "$placed_pid" ] && { wait "$placed_pid" || true; }
	if [ -s "$run/placed" ]; then
		local ms
		read -r placed ms <"$run/placed"
		[ "$ms" -lt 1000 ] || say "setup $s round $r: pg_budget_backends answered in $ms ms"
	fi
	[ "$s" = 3 ] && stop_bouncer
	bench_log_latency "$run/web" >"$run/web.lat"
	local web_n web_tx ai_s="-"
	web_n=$(wc -l <"$run/web.lat")
	web_tx=$(bench_log_rate "$run/web" "$t_web0" "$t_web1" "%.1f")
	[ "$s" != 1 ] && ai_s=$(bench_log_rate "$run/ai" "$t_web0" "$t_web1" "%.2f")
	# web's run delay per read, in us
	[ "$delay" != "-" ] && delay=$(awk -v d="$delay" -v n="$web_n" 'BEGIN { printf "%.1f", n ? d * 1000 / n : 0 }')
	cdelay=$(awk -v d="$cdelay" -v n="$web_n" 'BEGIN { printf "%.1f", n ? d / 1000 / n : 0 }')
	echo "$(bench_pct "$run/web.lat" 50) $(bench_pct "$run/web.lat" 99) $web_tx $ai_s $delay $placed $lw $act $boosts $cdelay"
}

load0=$(cut -d" " -f1-3 /proc/loadavg)
bench_rounds "$out/runs.txt" run_setup setup_name
load1=$(cut -d" " -f1-3 /proc/loadavg)
med() { bench_med "$out/runs.txt" "$@"; }	# median of column $2 for setup $1
ratio() { bench_ratio "$@"; }
verdict() { bench_verdict "$@"; }
has() { case " $SETUPS " in *" $1 "*) return 0 ;; esac; return 1; }
# web's LWLock samples per 1000 of its active samples, by run: column 10
awk '{ l = ($9 == "-" || $10 == "-" || $10 == 0) ? "-" : sprintf("%.2f", 1000 * $9 / $10); print $0, l }' \
	"$out/runs.txt" >"$out/runs-lw.txt"
medl() { dash "$(bench_med "$out/runs-lw.txt" "$1" 13)"; }
dash() { if [ "$1" = nan ]; then echo -; else echo "$1"; fi; }
medt() { dash "$(med "$@")"; }	# for the table: "-" where it does not apply
# read_goals SETUP WHAT: MODE=read's goals for a weights setup against calm,
# PgBouncer, the gate and stock
read_goals() {
	local x
	x=$(ratio "$(med "$1" 4)" "$(med 1 4)"); echo "| web p99 with $2 <= 1.3x calm | $x | $(verdict "$x" "<=" 1.3) |"
	has 3 && { x=$(ratio "$(med "$1" 4)" "$(med 3 4)"); echo "| web p99 with $2 <= 0.5x PgBouncer's | $x | $(verdict "$x" "<=" 0.5) |"; }
	has 4 && { x=$(ratio "$(med "$1" 4)" "$(med 4 4)"); echo "| web p99 with $2 <= 0.5x the gate's | $x | $(verdict "$x" "<=" 0.5) |"; }
	x=$(ratio "$(med "$1" 6)" "$(med 2 6)"); echo "| ai throughput with $2 >= 0.95x stock's | $x | $(verdict "$x" ">=" 0.95) |"
}
# web's LWLock samples per 1000 of its active samples, summed over SETUP's rounds
suml() { awk -v s="$1" '$1 == s && $10 != "-" { l += $9; a += $10 } END { if (a == 0) print "nan"; else printf "%.2f", 1000 * l / a }' "$out/runs.txt"; }

{
	if [ "$MODE" = write ]; then
		echo "# CPU weights by class, the burst writing what web reads (MODE=write bench/cpu.sh)"
	else
		if [ "${LAYOUT:-2}" = 1 ]; then
			echo "# CPU weights by class: web reads beside a CPU-heavy burst, clients in the root cgroup (bench/cpu.sh, layout 1)"
		else
			echo "# CPU weights by class: web reads beside a CPU-heavy burst (bench/cpu.sh, layout 2)"
		fi
	fi
	echo
	echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, kernel $(uname -r); $(postgres -V); $(pgbouncer --version 2>/dev/null | head -1)."
	echo "Web: $WEB_CLIENTS kept connections, $WEB_RATE reads a second in all of one random pgbench_accounts row of $web_range (pgbench -S's statement, scale $SCALE; pgbench --rate; the latency of each read from pgbench's log, its schedule lag left out)."
	if [ "$MODE" = write ]; then
		echo "AI: $AI_CLIENTS kept connections, each transaction an UPDATE of $WRITE_ROWS consecutive rows among those $HOT_ROWS, then \`SELECT count(*) FROM generate_series(1, $AI_ROWS)\` (autocommit; pgbench --max-tries=10)."
	else
		echo "AI: $AI_CLIENTS kept connections running \`SELECT count(*) FROM generate_series(1, $AI_ROWS)\` in a loop."
	fi
	echo "Each run: ai alone ${WARM_SECONDS} s, then web and ai ${RUN_SECONDS} s, measured (setup 1: web alone). Medians of $ROUNDS rounds, the setups taking turns."
	echo "pg_budget classes: gate \`$gate_classes\`, weights \`$weight_classes\`, both \`$both_classes\`, ai at the idle weight \`$idle_classes\`, no weights \`$plain_classes\` (defaults otherwise)."
	if [ -n "$cpu_dir" ]; then
		echo "Cgroups (v1), layout 1: the clients (pgbench, pgbouncer) and the first two clusters in the hierarchy's root cgroup, as a DBA's are; \`pg_budget.cgroup\` is the third cluster's, \`$cpu_dir\`, made as doc/cpu.md's set-up makes it (its cpu.shares $set_up_shares; setup 8: $((1024 * $(nproc)))), while each busy process of the root cgroup weighs 1024; in it web is at cpu.shares 1024, ai at 10, the server's own processes at 1024."
	elif [ -n "$cg" ]; then
		echo "Cgroups (v1), layout 2: each cluster in a cgroup of its own under \`$cg\` (cpu.shares 32768 against the rest of the machine), the clients (pgbench, pgbouncer) in another of equal weight; \`pg_budget.cgroup\` is the third cluster's, so with weights web is at cpu.shares 1024, ai at 10, the server's own processes at 1024."
	else
		echo "No cgroups: ${CPU_CGROUP_NOTE:-none given}."
	fi
	echo "Other work ran on the machine at the same time (load average $load0 at the start, $load1 at the end): the figures are noisy, hence medians of alternating rounds (every run is listed below)."
	echo
	echo "| setup | web p50 ms | web p99 ms | web reads/s | ai stmt/s | web run delay µs/read | web client run delay µs/read | ai sessions in ai's cgroup | web LWLock samples | web active samples | LWLock per 1000 | cpu boost events |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in $SETUPS; do
		placed=$(awk -v s="$s" '$1 == s { p = $8 } END { print (p == "" ? "-" : p) }' "$out/runs.txt")
		echo "| $(setup_name "$s") | $(medt "$s" 3) | $(medt "$s" 4) | $(medt "$s" 5) | $(medt "$s" 6) | $(medt "$s" 7) | $(medt "$s" 12) | $placed | $(medt "$s" 9) | $(medt "$s" 10) | $(medl "$s") | $(medt "$s" 11) |"
	done
	echo
	echo "(ai sessions in ai's cgroup: the last round's count at the start of web's window. Web client run delay: the second field of web's pgbench's /proc/<pid>/schedstat, read every 0.2 s. Run delay and samples: pg_budget's, so only for its setups; sampled every $sample_every by the worker, which runs with the server's own processes: beside 30 ai sessions of the same weight it gets fewer turns than in pg_budget.server at weight 1024 against ai's 10, so compare samples per 1000 active, not counts.)"
	if [ "$MODE" = write ]; then
		echo
		echo "LWLock wait samples by class and event, summed over the rounds (pg_budget_wait_stats; (system): auxiliary processes such as the WAL writer):"
		echo
		echo "| setup | class | wait event | samples |"
		echo "|---|---|---|---:|"
		for s in $SETUPS; do
			cat "$out"/wait_stats-"$s"-*.txt 2>/dev/null | awk -v n="$(setup_name "$s")" '$2 == "LWLock" { a[$1 " | " $3] += $4 }
				END { for (k in a) printf "| %s | %s | %d |\n", n, k, a[k] }' | sort -t'|' -k3,3 -k5,5nr
		done
	fi
	echo
	echo "| goal | measured | verdict |"
	echo "|---|---:|---|"
	if has 5; then
		if [ "$MODE" = write ]; then
			x=$(ratio "$(med 5 4)" "$(med 1 4)"); echo "| web p99 with weights / calm (no goal in this mode) | $x | - |"
			x=$(ratio "$(med 5 4)" "$(med 2 4)"); echo "| web p99 with weights / stock (no goal) | $x | - |"
			if has 7; then
				echo "| web LWLock samples per 1000 active, over all rounds: no weights | $(suml 7) | - |"
				echo "| the same with weights | $(suml 5) | - |"
				x=$(ratio "$(suml 5)" "$(suml 7)"); echo "| web LWLock samples per 1000 active, over all rounds, weights / no weights (no goal) | $x | - |"
			fi
			x=$(ratio "$(med 5 6)" "$(med 2 6)"); echo "| ai throughput with weights / stock (no goal) | $x | - |"
		else
			read_goals 5 weights
			has 6 && { x=$(ratio "$(med 6 4)" "$(med 1 4)"); echo "| web p99 with weights and gate / calm (no goal) | $x | - |"; }
			if has 8; then
				has 3 && { x=$(ratio "$(med 8 4)" "$(med 3 4)"); echo "| web p99 with weights, pg_budget.cgroup at 1024 x CPUs, / PgBouncer's (no goal) | $x | - |"; }
				x=$(ratio "$(med 8 6)" "$(med 2 6)"); echo "| ai throughput with weights, pg_budget.cgroup at 1024 x CPUs, / stock's (no goal) | $x | - |"
			fi
			# the same goals, for ai at the kernel's idle weight (cpu=idle)
			has 9 && read_goals 9 "ai(cpu=idle)"
			x=$(ratio "$(med 2 4)" "$(med 1 4)"); echo "| web p99 stock / calm (no goal) | $x | - |"
		fi
	else
		echo "| the goals compare the weights setup (5), which did not run | - | n/a |"
	fi
	echo
	bench_every_run "$out/runs.txt" "setup, round, web p50, web p99, web reads/s, ai stmt/s, web run delay us/read, ai in ai's cgroup, web LWLock samples, web active samples, cpu boost events, web client run delay us/read"
} >"$out/$name.md"

# the plot: web p99 and ai throughput (MODE=write: web's LWLock samples) by setup
if command -v gnuplot >/dev/null; then
	# columns: setup, name, web p99, ai stmt/s (medians), web's LWLock
	# samples per 1000 active over all rounds (rare and in bursts: a median
	# of the rounds is mostly 0)
	bench_plot_data "$out/runs.txt" setup_name 4 6 | while IFS= read -r line; do
		printf '%s\t%s\n' "$line" "$(suml "${line%%	*}")"
	done >"$out/$name.dat"
	if [ "$MODE" = write ]; then
		right="set ylabel \"web LWLock samples per 1000 active (all rounds)\"
plot '$out/$name.dat' using 5:xticlabels(2) lc rgb \"#7570b3\""
	else
		right="set ylabel \"ai statements per second\"
plot '$out/$name.dat' using 4:xticlabels(2) lc rgb \"#1b9e77\""
	fi
	title="Web reads beside a CPU-heavy burst (medians of $ROUNDS rounds)"
	[ "$MODE" = write ] && title="Web reads beside a CPU-heavy burst that writes what web reads (medians of $ROUNDS rounds)"
	{ bench_plot_start "$out/$name.png" "$title"; cat; } <<GP | gnuplot || true
set ylabel "web p99 latency (ms)"
plot '$out/$name.dat' using 3:xticlabels(2) lc rgb "#d95f02"
$right
unset multiplot
GP
fi
