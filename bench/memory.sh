#!/usr/bin/env bash
# Memory by class (pg_budget.memory_limit, pg_budget.memory_guard) against
# a query whose memory grows until the kernel's OOM killer takes it.  Two
# throwaway clusters, each started inside a cgroup v1 memory cgroup of its
# own with the same limit (LIMIT_MB): 1 stock PostgreSQL (no library);
# 2 pg_budget with `web(priority=100), ai(priority=10, shed=cancel)`.
#
# Web: WEB_CLIENTS kept psql sessions (role web), each reading one random
# pgbench_accounts row then sleeping WEB_SLEEP s, over and over, until the
# run ends.  AI (role ai): a "fitting" session running a hash aggregate of
# about 100 MB (FIT_ROWS groups) every FIT_SLEEP s, which must never be
# cancelled; and after WARM_SECONDS a hog, one hash aggregate or sort with
# a huge work_mem whose memory grows without bound (RATES picks which of
# three: slow, mid, fast; their growth rates are measured in every run,
# from the cgroup).  The hog session then sleeps AFTER_SECONDS and runs
# `SELECT 'alive'`: that its session is still usable, and whether its
# memory went back to the kernel.  A sampler (bench/memsample.c) reads the
# server's cgroup every SAMPLE_US µs as the worker does (usage less
# inactive file pages).  ROUNDS rounds, each of every rate, stock and
# pg_budget in turn.
#
# Reports by setup and rate: web sessions lost and web errors, crash
# restarts (the server log's 'all server processes terminated'), the
# kernel's OOM kills (memory.oom_control), what became of the hogs
# (cancelled by pg_budget with SQLSTATE 53200, OOM-killed, timed out),
# fitting queries run and cancelled, the measured growth rate and peak
# use; for pg_budget the reaction (from the sampler's first reading past
# the guard's mark to its first reading back under it), split at the
# worker's LOG line, p50 and max; and the goals (bench/results/memory.md).
#
# The cgroups: as root, with cgroup v1's memory hierarchy at
# /sys/fs/cgroup/memory, the run gets /sys/fs/cgroup/memory/pgb_bench_<pid>
# with the children stock and budget (memory.limit_in_bytes = LIMIT_MB),
# owned by the run's user, who starts each postmaster from a shell that
# wrote its own pid to the child's cgroup.procs; they are removed at the
# end.  Without that hierarchy (or not root) nothing is measured: the
# report says why.
#
#   bash bench/memory.sh                  # as root (~25 min at ROUNDS=5)
#   SMOKE=1 bash bench/memory.sh          # CI: one round of one rate
#
# Environment (defaults): ROUNDS (5; SMOKE=1: 1), RATES (slow mid fast;
# SMOKE=1: mid), LIMIT_MB (1024), MEM_GUARD (0.9: pg_budget.memory_guard),
# WEB_CLIENTS (10), WEB_SLEEP (0.05), FIT_ROWS (600000), FIT_SLEEP (0.5),
# WARM_SECONDS (3), HOG_TIMEOUT (60: the hog's statement_timeout, s),
# AFTER_SECONDS (2), SAMPLE_US (1000), SETUPS (1 2), RESULTS
# (bench/results, or bench/out/memory-smoke with SMOKE=1), PGB_BENCH_PORT
# (first of two ports; random), PGB_BENCH_MEMORY_HIERARCHY
# (/sys/fs/cgroup/memory), RAW (unset: a directory, outside the checkout,
# for the raw data of every run).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare

if [ "${SMOKE:-0}" = 1 ]; then
	: "${ROUNDS:=1}" "${RATES:=mid}" "${HOG_TIMEOUT:=40}"
fi
bench_results memory

h=${PGB_BENCH_MEMORY_HIERARCHY:-/sys/fs/cgroup/memory}
mem_cgroup=""
note=""
if [ ! -f "$h/memory.limit_in_bytes" ]; then
	note="no cgroup v1 memory hierarchy at $h"
elif ! pgb_root; then
	note="not root: no cgroup under $h"
else
	mem_cgroup=$h/pgb_bench_$$
	mkdir "$mem_cgroup"
	for s in stock budget; do
		mkdir "$mem_cgroup/$s"
		echo $(( ${LIMIT_MB:-1024} * 1024 * 1024 )) >"$mem_cgroup/$s/memory.limit_in_bytes"
	done
	chown -R "$RUN_USER" "$mem_cgroup"
fi
mem_cgroup_down() {
	[ -n "$mem_cgroup" ] && [ -d "$mem_cgroup" ] || return 0
	# children first; a directory still holding a process stays and says so
	find "$mem_cgroup" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
	rmdir "$mem_cgroup" || echo "== could not remove $mem_cgroup (a process is still in it?)" >&2
}
# RAW=DIR: the runs' raw data (samples, logs, outputs) copied there at the end
keep_raw() {
	[ -n "${RAW:-}" ] && [ -d "$work/bench-run" ] || return 0
	mkdir -p "$RAW" && cp -a "$work/bench-run/." "$work/out/." "$RAW/" && echo "== raw data in $RAW" >&2
}
trap 'keep_raw; bench_work_down; mem_cgroup_down' EXIT

if [ -z "$mem_cgroup" ]; then
	echo "== $note: the memory bench needs it, nothing measured" >&2
	mkdir -p "$work/out"
	{
		echo "# Memory by class: a growing query beside web sessions (bench/memory.sh)"
		echo
		echo "Not run on $(date -u '+%Y-%m-%d %H:%M UTC'): $note."
	} >"$work/out/memory.md"
	bench_publish memory
	exit 0
fi

bench_run memory ROUNDS="${ROUNDS:-5}" RATES="${RATES:-slow mid fast}" \
	LIMIT_MB="${LIMIT_MB:-1024}" MEM_GUARD="${MEM_GUARD:-0.9}" \
	WEB_CLIENTS="${WEB_CLIENTS:-10}" WEB_SLEEP="${WEB_SLEEP:-0.05}" \
	FIT_ROWS="${FIT_ROWS:-600000}" FIT_SLEEP="${FIT_SLEEP:-0.5}" \
	WARM_SECONDS="${WARM_SECONDS:-3}" HOG_TIMEOUT="${HOG_TIMEOUT:-60}" \
	AFTER_SECONDS="${AFTER_SECONDS:-2}" SAMPLE_US="${SAMPLE_US:-1000}" \
	SETUPS="${SETUPS:-1 2}" MEM_CGROUP="$mem_cgroup"
bench_publish memory
