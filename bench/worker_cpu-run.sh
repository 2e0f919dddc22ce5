#!/usr/bin/env bash
# See worker_cpu.sh.  Runs as an unprivileged user with the PostgreSQL
# binaries in PATH.  $1: a directory for the throwaway cluster.
# The report goes to stdout, progress to stderr.
set -eu
. "$(dirname "$0")/lib.sh"
MEASURE_SECONDS=${MEASURE_SECONDS:-30}
SAMPLE_INTERVALS=${SAMPLE_INTERVALS:-10}
IDLE_SESSIONS=${IDLE_SESSIONS:-50}
ACTIVE_SESSIONS=${ACTIVE_SESSIONS:-50}
SESSIONS=$((IDLE_SESSIONS + ACTIVE_SESSIONS))
if [ "$SESSIONS" -gt 120 ]; then
	echo "IDLE_SESSIONS + ACTIVE_SESSIONS = $SESSIONS exceeds class web's max=120" >&2
	exit 1
fi
bench_init "$1"
port=$base
hz=$(getconf CLK_TCK)

sql() { bench_sql "$port" "$1"; }	# sql QUERY: its rows, as postgres

# The idle sessions read their input from this fifo, held open for writing
# by fd 3 until they are to end: closing it gives them EOF.
fifo=$dir/idle.fifo
pids=""
stop_sessions() {
	local p
	exec 3>&-
	if [ -f "$dir/data/postmaster.pid" ]; then
		sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			  WHERE usename = 'app' AND backend_type = 'client backend'" >/dev/null || true
	fi
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	pids=""
}
cleanup() {
	stop_sessions
	rm -f "$fifo"
}
bench_on_exit=cleanup

say "starting a cluster in $dir (port $port)"
initdb -D "$dir/data" -A trust -U postgres >/dev/null
bench_conf "$dir/data" "$port" "max_connections = 150
shared_preload_libraries = 'pg_budget'
pg_budget.classes = 'web(max=120, reserve=20, priority=100), admin(max=5, reserve=5, priority=1000), maint(max=10, priority=50), ai(max=60, priority=10, rate=1000/s, shed=terminate), bulk(max=20, priority=0, shed=terminate)'"
bench_start "$dir/data" "$dir/server.log"
sql "CREATE ROLE app LOGIN" >/dev/null
bench_class_roles "$port" app=web
default_interval=$(sql "SELECT boot_val FROM pg_settings WHERE name = 'pg_budget.sample_interval'")

worker_pid() { bench_worker_pid "$port"; }

start_sessions() {
	local i n
	rm -f "$fifo"
	mkfifo "$fifo"
	exec 3<>"$fifo"
	for i in $(seq "$IDLE_SESSIONS"); do
		psql -XqU app -h "$dir" -p "$port" -d postgres <"$fifo" >/dev/null 2>&1 3>&- &
		pids="$pids $!"
	done
	for i in $(seq "$ACTIVE_SESSIONS"); do
		psql -XqU app -h "$dir" -p "$port" -d postgres \
			-c "SELECT pg_sleep($MEASURE_SECONDS + 60)" </dev/null >/dev/null 2>&1 3>&- &
		pids="$pids $!"
	done
	# wait for all of them: idle ones idle, active ones in pg_sleep
	for i in $(seq 300); do
		n=$(sql "SELECT count(*) FILTER (WHERE state = 'idle') || ' ' ||
						count(*) FILTER (WHERE state = 'active' AND wait_event = 'PgSleep')
				   FROM pg_stat_activity
				  WHERE usename = 'app' AND backend_type = 'client backend'")
		[ "$n" = "$IDLE_SESSIONS $ACTIVE_SESSIONS" ] && return 0
		sleep 0.2
	done
	echo "sessions did not all connect: idle/active = $n of $IDLE_SESSIONS/$ACTIVE_SESSIONS" >&2
	return 1
}

# snap PID: "utime+stime in ticks, time on CPU in ns (schedstat), now"
snap() {
	local pid=$1 ticks sched=0
	ticks=$(bench_cputicks "$pid")
	[ -r "/proc/$pid/schedstat" ] && read -r sched _ <"/proc/$pid/schedstat"
	echo "$ticks $sched $(date +%s.%N)"
}

# measure PID: "seconds ticks stat% schedstat%" over MEASURE_SECONDS
measure() {
	local pid=$1 t0 t1 c0 c1 s0 s1
	read -r c0 s0 t0 <<<"$(snap "$pid")"
	sleep "$MEASURE_SECONDS"
	read -r c1 s1 t1 <<<"$(snap "$pid")"
	awk -v t0="$t0" -v t1="$t1" -v c="$((c1 - c0))" -v s0="$s0" -v s1="$s1" -v hz="$hz" 'BEGIN {
		d = t1 - t0
		printf "%.1f %d %.2f %s\n", d, c, 100 * c / hz / d,
			(s1 > 0) ? sprintf("%.3f", 100 * (s1 - s0) / 1e9 / d) : "n/a"
	}'
}

: >"$dir/results"
for iv in $SAMPLE_INTERVALS; do
	iv=${iv%ms}
	sql "ALTER SYSTEM SET pg_budget.sample_interval = $iv" >/dev/null
	sql "SELECT pg_reload_conf()" >/dev/null
	for i in $(seq 50); do
		[ "$(sql "SELECT setting FROM pg_settings WHERE name = 'pg_budget.sample_interval'")" = "$iv" ] && break
		sleep 0.1
	done
	sleep 2		# let the worker take the reload and settle
	wpid=$(worker_pid)

	say "interval ${iv}ms: measuring the worker (pid $wpid) with no client sessions for ${MEASURE_SECONDS}s"
	r=$(measure "$wpid")
	echo "$iv 0 - $r" >>"$dir/results"

	say "interval ${iv}ms: starting $SESSIONS sessions ($IDLE_SESSIONS idle, $ACTIVE_SESSIONS in pg_sleep)"
	start_sessions
	sleep 1		# a few samples in, so the worker's view of them is settled
	seen=$(sql "SELECT connected || '/' || active || '/' || idle FROM pg_budget_status WHERE class = 'web'")
	say "interval ${iv}ms: measuring the worker with $SESSIONS client backends for ${MEASURE_SECONDS}s"
	r=$(measure "$wpid")
	echo "$iv $SESSIONS $seen $r" >>"$dir/results"
	[ "$(worker_pid)" = "$wpid" ] || { echo "the worker restarted during the measurement" >&2; exit 1; }
	stop_sessions
	for i in $(seq 100); do
		[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'")" = 0 ] && break
		sleep 0.2
	done
done

echo "## pg_budget worker CPU, ${MEASURE_SECONDS}s per measurement"
echo
echo "| sample interval | client backends | CPU % of one core | worker's view (connected/active/idle in class web) | measured s | CPU ticks (utime+stime) | CPU % from schedstat |"
echo "|---|---|---|---|---|---|---|"
while read -r iv n seen secs ticks pct sched; do
	d=""
	[ "$iv" = "$default_interval" ] && d=" (default)"
	echo "| ${iv}ms$d | $n | **$pct** | $seen | $secs | $ticks | $sched |"
done <"$dir/results"
echo
echo "max_connections = 150 (147 usable), the 5-class table with web(max=120); $IDLE_SESSIONS idle psql sessions and $ACTIVE_SESSIONS in \`SELECT pg_sleep()\`, all of role app in class web."
echo "CPU % = (utime + stime from /proc/<pid>/stat) / CLK_TCK ($hz) / elapsed; ticks are 1/$hz s, so short runs are coarse. schedstat is the same time in ns."
echo "$(sql "SELECT version()"); $(nproc) CPUs."
