#!/usr/bin/env bash
# pg_budget with thousands of sessions.  For each count N of SESSIONS, a
# stock server, then one with pg_budget (preloaded with doc/cpu.md's
# classes, CPU weights on where the machine has cgroup v1's cpu
# hierarchy), one at a time (two servers' thousands of backends at once
# swamp a 2-core machine), each with max_connections = 1.3 N and N held
# sessions of a role in class web (pgbench -c N running bench/scale-run.sh's
# script: a random idle spell, then one second in pg_sleep, ACTIVE_SHARE
# percent of the time active).  Measured at each N: the pg_budget worker's
# CPU (% of one core over MEASURE_SECONDS) and ticks a second, the time to
# read pg_budget_status, pg_budget_backends, pg_budget_history and
# pg_stat_activity (median of READS reads of every row), and login p50 and
# p99 on both servers (LOGINS each: connect, SELECT 1, close, timed by
# bench/scale_client.py).  Then the shared memory pg_budget takes at
# max_connections = SHMEM_CONNECTIONS.  The goals, at 2000 sessions: the
# worker <= 2% of a core, login p99 <= 1.1x stock's, pg_budget_backends
# <= 2x pg_stat_activity, pg_budget_status <= 5 ms; and issue 24's, the
# memory sampling <= 1% of a core (its file reads counted by strace over
# MEM_WINDOW seconds, times the CPU time of one read: bench/procread.c).
#
#   bash bench/scale.sh                  # as root (~30 min)
#   SESSIONS="100 1000 2000 4000" bash bench/scale.sh
#   SMOKE=1 bash bench/scale.sh          # CI: 20 and 60 sessions, a few seconds each
#
# The steps stop where the next would leave less than MEM_MARGIN_MB of
# memory available (judged from the memory the last step's sessions
# took).  As root the open-file limit is raised for the clients (pgbench
# holds N connections) and the run's cgroup is
# /sys/fs/cgroup/cpu/pgb_scale_<pid> (cpu.shares 32768, owned by the run's
# user, removed at the end), as in bench/cpu.sh.
#
# Environment (defaults): SESSIONS (100 500 1000 2000 3000), ACTIVE_SHARE
# (25, percent), MEASURE_SECONDS (30), SETTLE_SECONDS (5), LOGINS (300),
# READS (9), SHMEM_CONNECTIONS (5000), MEM_MARGIN_MB (4096), MEM_WINDOW
# (20, seconds), LABEL (a name
# for the run in the report's title), RESULTS (bench/results, or
# bench/out/scale-smoke with SMOKE=1), PGB_BENCH_PORT (first of two ports;
# random), PGB_BENCH_CPU_HIERARCHY (/sys/fs/cgroup/cpu).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare python3-psycopg2 strace

if [ "${SMOKE:-0}" = 1 ]; then
	: "${SESSIONS:=20 60}" "${MEASURE_SECONDS:=3}" "${SETTLE_SECONDS:=1}" "${LOGINS:=10}" "${READS:=3}" "${MEM_WINDOW:=2}"
fi
bench_results scale

# pgbench holds every session's socket, and the servers fork thousands
if pgb_root; then
	ulimit -Hn 1048576 2>/dev/null || true
	ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi

cpu_cgroup=""
cpu_cgroup_note=""
h=${PGB_BENCH_CPU_HIERARCHY:-/sys/fs/cgroup/cpu}
if [ ! -f "$h/cpu.shares" ]; then
	cpu_cgroup_note="no cgroup v1 cpu hierarchy at $h"
elif ! pgb_root; then
	cpu_cgroup_note="not root: no cgroup under $h"
else
	cpu_cgroup=$h/pgb_scale_$$
	mkdir "$cpu_cgroup"
	echo 32768 >"$cpu_cgroup/cpu.shares"
	chown -R "$RUN_USER" "$cpu_cgroup"
fi
cpu_cgroup_down() { pgb_cgroup_remove "$cpu_cgroup"; }
trap 'bench_work_down; cpu_cgroup_down' EXIT
[ -n "$cpu_cgroup_note" ] && echo "== $cpu_cgroup_note: pg_budget runs without CPU weights" >&2

bench_run scale SESSIONS="${SESSIONS:-100 500 1000 2000 3000}" ACTIVE_SHARE="${ACTIVE_SHARE:-25}" \
	MEASURE_SECONDS="${MEASURE_SECONDS:-30}" SETTLE_SECONDS="${SETTLE_SECONDS:-5}" \
	LOGINS="${LOGINS:-300}" READS="${READS:-9}" SHMEM_CONNECTIONS="${SHMEM_CONNECTIONS:-5000}" \
	MEM_MARGIN_MB="${MEM_MARGIN_MB:-4096}" LABEL="${LABEL:-}" MEM_WINDOW="${MEM_WINDOW:-20}" \
	CPU_CGROUP="$cpu_cgroup" CPU_CGROUP_NOTE="$cpu_cgroup_note"
bench_publish scale
