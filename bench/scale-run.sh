#!/usr/bin/env bash
# See scale.sh.  Runs as an unprivileged user with the PostgreSQL binaries
# in PATH.  $1: a directory for the clusters; $2: the output directory.
# CPU_CGROUP: a cgroup v1 cpu directory this user owns, or empty (no
# weights: pg_budget runs without pg_budget.cgroup).
set -eu
. "$(dirname "$0")/lib.sh"
bench_init "$1"
out=$2
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
stock_port=$base
budget_port=$((base + 1))
cg=${CPU_CGROUP:-}
hz=$(getconf CLK_TCK)
: "${SESSIONS:=100 500 1000 2000 3000}" "${ACTIVE_SHARE:=25}" "${MEASURE_SECONDS:=30}"
: "${SETTLE_SECONDS:=5}" "${LOGINS:=300}" "${READS:=9}" "${SHMEM_CONNECTIONS:=5000}"
: "${MEM_MARGIN_MB:=4096}" "${LABEL:=}" "${MEM_WINDOW:=20}"

client() { python3 "$here/scale_client.py" "$@"; }

# pgbench holds a socket per session: the soft limit of open files up to
# the hard one (scale.sh raises that as root)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Each cluster in a cgroup of its own, the clients (this script and what it
# starts: pgbench, the timing client) in another, siblings of equal weight.
into() { [ -z "$cg" ] || echo $$ >"$cg/$1/cgroup.procs"; }
if [ -n "$cg" ]; then
	mkdir -p "$cg/clients" "$cg/stock" "$cg/budget"
	into clients
fi

# As a new user would set it up: doc/cpu.md's example table, the sessions'
# role in web.
classes="web(priority=100, cpu=100), ai(priority=10, cpu=1), bulk(cpu=idle)"
cgroup_conf=""
[ -n "$cg" ] && cgroup_conf="pg_budget.cgroup = '$cg/budget'"

make_cluster() {	# make_cluster NAME PORT
	initdb -D "$dir/$1" -A trust -U postgres >/dev/null
	bench_conf "$dir/$1" "$2" ""
}
say "making the clusters"
make_cluster stock "$stock_port"
make_cluster budget "$budget_port"
cat >>"$dir/budget/postgresql.conf" <<CONF
$(bench_budget_conf "$classes")
$cgroup_conf
CONF

# set_connections NAME N: max_connections of the next start (the last
# line of a setting is the one in force)
set_connections() { echo "max_connections = $2" >>"$dir/$1/postgresql.conf"; }

start() {	# start NAME PORT
	into "$1"
	bench_start "$dir/$1" "$dir/$1.log"
	into clients
}

setup_roles() {
	bench_sql "$stock_port" "CREATE ROLE app LOGIN" >/dev/null
	bench_sql "$budget_port" "CREATE ROLE app LOGIN" >/dev/null
	bench_class_roles "$budget_port" app=web
}

# The held sessions: each alternates an idle spell of random length and
# one second in pg_sleep, ACTIVE_SHARE percent of the time active on
# average.  pgbench connects them all at its start.
idle_mean=$((1000 * (100 - ACTIVE_SHARE) / ACTIVE_SHARE))
cat >"$dir/hold.sql" <<SQL
\\set idle random($((idle_mean / 2)), $((idle_mean * 3 / 2)))
\\sleep :idle ms
SELECT pg_sleep(1);
SQL
holders=""
hold() {	# hold PORT N: N sessions of role app on the server of PORT
	pgbench -n -c "$2" -j 2 -T 100000 -f "$dir/hold.sql" -h "$dir" -p "$1" -U app postgres \
		>"$dir/hold-$1.out" 2>&1 &
	holders="$holders $!"
}
release() {
	local p
	for p in $holders; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $holders; do wait "$p" 2>/dev/null || true; done
	holders=""
}
stop_all() {
	release
	for c in stock budget; do
		[ -f "$dir/$c/postmaster.pid" ] && bench_stop "$dir/$c"
	done
	return 0
}
bench_on_exit=release

sessions_of() {	# sessions_of PORT: client backends of role app
	bench_sql "$1" "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND backend_type = 'client backend'"
}
wait_sessions() {	# wait_sessions PORT N
	local i n=0
	for i in $(seq $((60 + $2 / 10))); do
		n=$(sessions_of "$1")
		[ "$n" -ge "$2" ] && return 0
		sleep 1
	done
	echo "only $n of $2 sessions connected on port $1 (see $dir/hold-$1.out)" >&2
	tail -5 "$dir/hold-$1.out" >&2
	return 1
}

mem_available() { awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo; }

# snap PID: "utime+stime in ticks, time on CPU in ns (schedstat), its
# sleeps (voluntary context switches: one a tick), now"
snap() {
	local pid=$1 ticks sched=0 sleeps
	ticks=$(bench_cputicks "$pid")
	[ -r "/proc/$pid/schedstat" ] && read -r sched _ <"/proc/$pid/schedstat"
	sleeps=$(awk '/^voluntary_ctxt_switches:/ { print $2 }' "/proc/$pid/status")
	echo "$ticks $sched $sleeps $(date +%s.%N)"
}
# worker_cpu PID: "stat% schedstat% ticks/s" over MEASURE_SECONDS
worker_cpu() {
	local pid=$1 t0 t1 c0 c1 s0 s1 v0 v1
	read -r c0 s0 v0 t0 <<<"$(snap "$pid")"
	sleep "$MEASURE_SECONDS"
	read -r c1 s1 v1 t1 <<<"$(snap "$pid")"
	awk -v t0="$t0" -v t1="$t1" -v c="$((c1 - c0))" -v s0="$s0" -v s1="$s1" -v v="$((v1 - v0))" -v hz="$hz" 'BEGIN {
		d = t1 - t0
		printf "%.2f %s %.0f\n", 100 * c / hz / d, (s1 > 0) ? sprintf("%.2f", 100 * (s1 - s0) / 1e9 / d) : "nan", v / d
	}'
}

# The memory sampling's cost, apart from the rest of the worker: the files
# its memory part opens over MEM_WINDOW seconds (strace of openat alone,
# attached to the worker: each session's /proc/<pid>/statm, and the
# server's use, memory.usage_in_bytes and memory.stat of its memory cgroup
# or /proc/meminfo), times the CPU time of one read of each as the worker
# reads them (bench/procread.c, a few thousand reads of the same files).
# Without strace or a C compiler: not measured.
procread=""
if command -v strace >/dev/null 2>&1 && command -v cc >/dev/null 2>&1 &&
	cc -O2 -o "$dir/procread" "$here/procread.c" 2>/dev/null; then
	procread=$dir/procread
fi
# mem_sampling PID PORT: "statm/s use/s statm-us use-us %-of-a-core schedstat/s"
mem_sampling() {
	local pid=$1 port=$2 st us sc statm_us=nan use_us=nan rounds
	if [ -z "$procread" ]; then
		echo "nan nan nan nan nan nan"
		return 0
	fi
	timeout -s INT "$MEM_WINDOW" strace -qq -e trace=openat -e signal=none \
		-o "$dir/strace.txt" -p "$pid" 2>/dev/null || true
	st=$(grep -c '/statm"' "$dir/strace.txt" || true)
	us=$(grep -cE 'memory\.(usage_in_bytes|stat|current)"|/proc/meminfo"' "$dir/strace.txt" || true)
	sc=$(grep -c '/schedstat"' "$dir/strace.txt" || true)
	bench_sql "$port" "SELECT '/proc/' || pid || '/statm' FROM pg_stat_activity WHERE usename = 'app'" >"$dir/statm.list"
	rounds=$(( 20000 / $(wc -l <"$dir/statm.list") + 1 ))
	# shellcheck disable=SC2046
	statm_us=$("$procread" "$rounds" $(cat "$dir/statm.list") | awk '{ print $1 }') || statm_us=nan
	grep -oE '"[^"]*(memory\.(usage_in_bytes|stat|current)|/proc/meminfo)"' "$dir/strace.txt" |
		tr -d '"' | sort -u >"$dir/use.list" || true
	if [ -s "$dir/use.list" ]; then
		# shellcheck disable=SC2046
		use_us=$("$procread" 5000 $(cat "$dir/use.list") | awk '{ print $1 }') || use_us=nan
	fi
	awk -v st="$st" -v us="$us" -v sc="$sc" -v w="$MEM_WINDOW" -v a="$statm_us" -v b="$use_us" 'BEGIN {
		if (b == "nan") b = 0
		printf "%.0f %.0f %s %s %.3f %.0f\n", st / w, us / w, a, b, (st / w * a + us / w * b) / 1e4, sc / w
	}'
}

# read_ms PORT SQL: the median time of READS reads, in ms
read_ms() {
	client reads "$dir" "$1" "$READS" "$2" >"$dir/reads.txt"
	awk '{ print $1 }' "$dir/reads.txt" >"$dir/reads.ms"
	bench_med "$dir/reads.ms" "" 1
}

say "sessions: $SESSIONS ($ACTIVE_SHARE% active in one-second sleeps); worker CPU over ${MEASURE_SECONDS}s; $LOGINS logins on each server"
: >"$out/rows.txt"
stopped=""
per_session_kb=0
setup_done=0
for n in $SESSIONS; do
	# enough memory for the sessions, judged from the last step
	avail=$(mem_available)
	need=$((per_session_kb * n / 1024))
	if [ "$per_session_kb" -gt 0 ] && [ $((avail - need)) -lt "$MEM_MARGIN_MB" ]; then
		stopped="$n sessions would take about $need MB of the $avail MB available (less a margin of $MEM_MARGIN_MB MB): not run"
		say "$stopped"
		break
	fi
	if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((n + 100)) ]; then
		stopped="$n sessions need $((n + 100)) open files in pgbench, the limit is $(ulimit -n): not run"
		say "$stopped"
		break
	fi
	maxc=$(( (n * 13 + 9) / 10 ))
	[ "$maxc" -lt 100 ] && maxc=100
	set_connections stock "$maxc"
	set_connections budget "$maxc"
	if [ "$setup_done" = 0 ]; then
		start stock "$stock_port"
		start budget "$budget_port"
		setup_roles
		setup_done=1
		stop_all
	fi

	# stock first, alone: N sessions, pg_stat_activity, logins
	start stock "$stock_port"
	before=$(mem_available)
	say "$n sessions (max_connections $maxc): stock, connecting"
	hold "$stock_port" "$n"
	wait_sessions "$stock_port" "$n"
	sleep "$SETTLE_SECONDS"
	held=$(( before - $(mem_available) ))
	[ "$held" -gt 0 ] && per_session_kb=$((held * 1024 / n))
	psa_stock_ms=$(read_ms "$stock_port" "SELECT * FROM pg_stat_activity")
	say "$n sessions: stock, $LOGINS logins"
	client logins "$dir" app "$LOGINS" "$stock_port" >"$dir/logins.txt"
	awk '{ print $2 }' "$dir/logins.txt" >"$dir/logins-stock"
	[ "$(wc -l <"$dir/logins-stock")" = "$LOGINS" ] || { echo "logins failed" >&2; exit 1; }
	stop_all

	# then pg_budget, alone: the same, the worker and the views
	start budget "$budget_port"
	wpid=$(bench_worker_pid "$budget_port")
	say "$n sessions: pg_budget, connecting"
	hold "$budget_port" "$n"
	wait_sessions "$budget_port" "$n"
	sleep "$SETTLE_SECONDS"

	say "$n sessions: the worker's CPU for ${MEASURE_SECONDS}s"
	t_start=$(bench_sql "$budget_port" "SELECT now()")
	read -r cpu_stat cpu_sched wakeups <<<"$(worker_cpu "$wpid")"
	seen=$(bench_sql "$budget_port" "SELECT coalesce(round(avg(connected)), 0) || ' ' || coalesce(round(avg(active)::numeric, 1), 0)
		FROM pg_budget_history WHERE class = 'web' AND at > '$t_start'")
	say "$n sessions: the memory sampling's file reads for ${MEM_WINDOW}s"
	read -r statm_rate use_rate statm_us use_us mem_pct sched_rate <<<"$(mem_sampling "$wpid" "$budget_port")"

	say "$n sessions: reading the views ($READS times each)"
	status_ms=$(read_ms "$budget_port" "SELECT * FROM pg_budget_status")
	backends_ms=$(read_ms "$budget_port" "SELECT * FROM pg_budget_backends")
	backends_rows=$(awk 'END { print $2 }' "$dir/reads.txt")
	history_ms=$(read_ms "$budget_port" "SELECT * FROM pg_budget_history")
	history_rows=$(awk 'END { print $2 }' "$dir/reads.txt")
	psa_ms=$(read_ms "$budget_port" "SELECT * FROM pg_stat_activity")

	say "$n sessions: pg_budget, $LOGINS logins"
	client logins "$dir" app "$LOGINS" "$budget_port" >"$dir/logins.txt"
	awk '{ print $2 }' "$dir/logins.txt" >"$dir/logins-budget"
	[ "$(wc -l <"$dir/logins-budget")" = "$LOGINS" ] || { echo "logins failed" >&2; exit 1; }
	ls50=$(bench_pct "$dir/logins-stock" 50)
	ls99=$(bench_pct "$dir/logins-stock" 99)
	lb50=$(bench_pct "$dir/logins-budget" 50)
	lb99=$(bench_pct "$dir/logins-budget" 99)
	[ "$(bench_worker_pid "$budget_port")" = "$wpid" ] || { echo "the worker restarted" >&2; exit 1; }

	echo "$n $maxc $cpu_stat $cpu_sched $seen $status_ms $backends_ms $backends_rows $history_ms $history_rows $psa_ms $psa_stock_ms $ls50 $ls99 $lb50 $lb99 $per_session_kb $wakeups $statm_rate $use_rate $statm_us $use_us $mem_pct $sched_rate" >>"$out/rows.txt"
	say "$n sessions: worker ${cpu_sched}% (schedstat), memory sampling ${mem_pct}% ($statm_rate statm reads/s), backends ${backends_ms} ms (pg_stat_activity ${psa_ms} ms), status ${status_ms} ms, login p99 ${ls99}/${lb99} ms"
	stop_all
done

# the shared memory pg_budget takes at SHMEM_CONNECTIONS
say "shared memory at max_connections = $SHMEM_CONNECTIONS"
set_connections stock "$SHMEM_CONNECTIONS"
set_connections budget "$SHMEM_CONNECTIONS"
start stock "$stock_port"
start budget "$budget_port"
shm_stock=$(bench_sql "$stock_port" "SHOW shared_memory_size")
shm_budget=$(bench_sql "$budget_port" "SHOW shared_memory_size")
bench_sql "$budget_port" "SELECT name || '|' || allocated_size FROM pg_shmem_allocations
	WHERE name LIKE 'pg_budget%' ORDER BY allocated_size DESC" >"$out/shmem.txt"
shm_parts=$(awk -F'|' '{ s += $2 } END { printf "%.1f", s / 1048576 }' "$out/shmem.txt")
version=$(bench_sql "$budget_port" "SELECT version()")
stop_all

# ---- the report ------------------------------------------------------------

{
	echo "## Scale${LABEL:+: $LABEL}"
	echo
	echo "Each row: N held sessions of role app (class web) on a stock server, then on one with pg_budget (one server at a time), max_connections = 1.3 N (at least 100); the sessions alternate a random idle spell and one second of \`SELECT pg_sleep(1)\`, $ACTIVE_SHARE% of the time active. Worker CPU over ${MEASURE_SECONDS}s in % of one core (schedstat; /proc/<pid>/stat ticks in brackets), and its ticks a second (its voluntary context switches: it sleeps once a tick; 100 at the default 10 ms when it keeps up); view times: median of $READS reads of every row (\`SELECT *\`, fetched by the client), as postgres; logins: $LOGINS on each server while it holds the N sessions (connect, \`SELECT 1\`, close), role app."
	echo
	echo "| sessions | max_connections | worker CPU % | worker ticks/s | web connected / active (worker's view) | pg_budget_status ms | pg_budget_backends ms (rows) | pg_budget_history ms (rows) | pg_stat_activity ms (pg_budget / stock) | backends / pg_stat_activity | login p50 ms stock / pg_budget | login p99 ms stock / pg_budget | p99 ratio |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	while read -r n maxc cs cd seen_c seen_a st be ber hi hir pa pas ls50 ls99 lb50 lb99 _ wk _; do
		echo "| $n | $maxc | **$cd** ($cs) | $wk | $seen_c / $seen_a | $st | $be ($ber) | $hi ($hir) | $pa / $pas | $(bench_ratio "$be" "$pa") | $ls50 / $lb50 | $ls99 / $lb99 | $(bench_ratio "$lb99" "$ls99") |"
	done <"$out/rows.txt"
	[ -n "$stopped" ] && { echo; echo "Stopped: $stopped."; }
	echo
	echo "Before and after: pg_budget 0.3.0 as measured in issue 27 (the same machine and set-up, one reading of each, as this script's first version measured it) against this run."
	echo
	echo "| sessions | worker CPU % 0.3.0 | worker CPU % now | pg_budget_backends ms 0.3.0 | pg_budget_backends ms now |"
	echo "|---|---|---|---|---|"
	while read -r n _ _ cd _ _ _ be _; do
		case $n in
			100) b_cpu=1.0 b_be=2.5 ;;
			1000) b_cpu=3.4 b_be=24.6 ;;
			2000) b_cpu=5.8 b_be=65.9 ;;
			*) b_cpu=- b_be=- ;;
		esac
		echo "| $n | $b_cpu | $cd | $b_be | $be |"
	done <"$out/rows.txt"
	echo
	echo "The memory sampling apart from the rest of the worker: the files the worker's memory part opened over ${MEM_WINDOW}s (strace of openat alone attached to the worker, after the CPU was measured: each session's \`/proc/<pid>/statm\`, and the server's use, \`memory.usage_in_bytes\` and \`memory.stat\` of its memory cgroup or \`/proc/meminfo\`, every tick), times the CPU time of one read of the same files as the worker reads them (open, read, close: \`bench/procread.c\`, some 20000 reads), in % of one core. The sessions' \`schedstat\` reads (CPU time, cgroup_cpu.c) are shown for comparison, not counted."
	echo
	echo "| sessions | statm reads/s | µs CPU each | use-file reads/s | µs CPU each | memory sampling, % of a core | schedstat reads/s |"
	echo "|---|---|---|---|---|---|---|"
	while read -r n _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ msr mur msu muu mpc msc; do
		echo "| $n | $msr | $msu | $mur | $muu | **$mpc** | $msc |"
	done <"$out/rows.txt"
	echo
	# the goals, at 2000 sessions (or the largest count run, if fewer)
	goal_n=$(awk '$1 <= 2000 { n = $1 } END { print n + 0 }' "$out/rows.txt")
	if [ "$goal_n" -gt 0 ]; then
		read -r _ _ _ cd _ _ st be _ _ _ pa _ _ ls99 _ lb99 _ _ _ _ _ _ mpc _ <<<"$(awk -v n="$goal_n" '$1 == n' "$out/rows.txt")"
		r99=$(bench_ratio "$lb99" "$ls99")
		rbe=$(bench_ratio "$be" "$pa")
		echo "Goals at $goal_n sessions:"
		echo
		echo "| goal | measured | verdict |"
		echo "|---|---|---|"
		echo "| worker CPU <= 2% of a core | $cd% | $(bench_verdict "$cd" "<=" 2) |"
		echo "| login p99 <= 1.1x stock's | ${r99}x ($lb99 / $ls99 ms) | $(bench_verdict "$r99" "<=" 1.1) |"
		echo "| pg_budget_backends <= 2x pg_stat_activity | ${rbe}x ($be / $pa ms) | $(bench_verdict "$rbe" "<=" 2) |"
		echo "| pg_budget_status <= 5 ms | $st ms | $(bench_verdict "$st" "<=" 5) |"
		echo "| memory sampling <= 1% of a core (issue 24) | $mpc% | $(bench_verdict "$mpc" "<=" 1) |"
		echo
	fi
	echo "Shared memory at max_connections = $SHMEM_CONNECTIONS (shared_buffers 128MB): \`shared_memory_size\` stock $shm_stock, with pg_budget $shm_budget; pg_budget's own structures $shm_parts MB:"
	echo
	echo "| structure | bytes |"
	echo "|---|---|"
	awk -F'|' '{ printf "| %s | %d |\n", $1, $2 }' "$out/shmem.txt"
	echo
	if [ -n "$cg" ]; then
		echo "CPU weights on: \`pg_budget.cgroup\` under \`$cg\` (cgroup v1), classes \`$classes\`; each server and the clients in sibling cgroups."
	else
		echo "No CPU weights: ${CPU_CGROUP_NOTE:-no cgroup given}; classes \`$classes\`."
	fi
	echo "Memory: about $per_session_kb kB per held session (MemAvailable before and after the stock server's sessions connected). $version; $(nproc) CPUs, $(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo) GB."
	echo
	bench_every_run "$out/rows.txt" "sessions, max_connections, worker CPU % (stat, schedstat), web connected and active, status ms, backends ms and rows, history ms and rows, pg_stat_activity ms (pg_budget, stock), login p50 and p99 stock, p50 and p99 pg_budget, kB per session, worker ticks/s, statm reads/s, use-file reads/s, µs CPU a statm read, µs CPU a use-file read, memory sampling % of a core, schedstat reads/s"
} >"$out/scale.md"
