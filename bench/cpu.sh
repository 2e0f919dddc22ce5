#!/usr/bin/env bash
# CPU weights by class (pg_budget.cgroup, the class key cpu=W) against a
# CPU-heavy burst.  Web: WEB_CLIENTS kept connections reading one
# pgbench_accounts row each (pgbench -S's statement), WEB_RATE reads a
# second in all (pgbench --rate; the latency of each read from its
# per-transaction log).  AI: AI_CLIENTS kept connections running
# `SELECT count(*) FROM generate_series(1, AI_ROWS)` in a loop; with
# MODE=write each of its transactions first updates WRITE_ROWS rows of the
# HOT_ROWS that web then reads, so that ai holds buffer and index locks web
# waits for (lock-holder preemption).  Setups, ROUNDS times in turn on
# three throwaway clusters (stock, pg_budget, pg_budget with
# pg_budget.cgroup):
#
#   1 calm: web alone (stock);  2 stock PostgreSQL (no library);
#   3 PgBouncer in front of ai, max_user_connections = AI_ACTIVE;  4
#   pg_budget ai(active=AI_ACTIVE);  5 pg_budget web(cpu=100), ai(cpu=1);
#   6 weights and the gate: ai(cpu=1, active=AI_ACTIVE);  7 pg_budget
#   classes without weights or gate (MODE=write's reference);  8 (layout 1
#   only) 5 with pg_budget.cgroup at cpu.shares 1024 x the CPUs;  9
#   pg_budget web(cpu=100), ai(cpu=idle) (cpu.idle = 1 on ai's cgroup).
#
# MODE=read (setups 1-6 and 9, and 8 in layout 1) reports medians over the
# rounds of web p50/p99, ai statements a second, web's run delay and its
# client's, with the goals (web p99 with
# weights <= 1.3x calm and <= 0.5x PgBouncer's and the gate's; ai with
# weights >= 0.95x stock's): bench/results/cpu.md, cpu.png (layout 2),
# cpu-root.md, cpu-root.png (layout 1).  MODE=write
# (setups 1 2 7 5) adds web's LWLock wait samples (pg_budget_wait_stats)
# and `cpu boost` events: bench/results/cpu-write.md, cpu-write.png.
#
# The cgroups, as root on a machine with cgroup v1's cpu hierarchy at
# /sys/fs/cgroup/cpu, in two layouts (LAYOUTS, "1 2" by default; MODE=write
# runs layout 2 only):
#
#   layout 1 (bench/results/cpu-root.md): as a DBA who follows doc/cpu.md's
#   v1 set-up has it.  The third cluster's pg_budget.cgroup is
#   /sys/fs/cgroup/cpu/pgb_bench_<pid>, made and chown'ed as that set-up
#   says (its cpu.shares left at the kernel's 1024); the clients (pgbench,
#   pgbouncer) and the other two clusters stay in the root cgroup, where
#   every busy process weighs 1024 against that directory as a whole.  Setup
#   8 is setup 5 with the directory at cpu.shares 1024 x the CPUs.
#
#   layout 2 (bench/results/cpu.md): the run gets
#   /sys/fs/cgroup/cpu/pgb_bench_<pid> (cpu.shares 32768 against the rest
#   of the machine: about what 32 busy processes weigh, so that other work
#   on the machine weighs about as much against every setup as it would
#   against stock PostgreSQL outside any cgroup).  In it each cluster has a
#   cgroup of its own (pg_budget.cgroup is the third's) and the clients
#   (pgbench, pgbouncer) another: as if they ran on another machine.
#
# Both are owned by the run's user and removed at the end.  Without that
# hierarchy (or not root) the weights setups are skipped, said so, and the
# others run as they are.  Web's client run delay is the second field of
# web's pgbench's /proc/<pid>/schedstat.
#
#   bash bench/cpu.sh                     # as root (~45 min at ROUNDS=5 RUN_SECONDS=20)
#   MODE=write ROUNDS=5 bash bench/cpu.sh
#   SMOKE=1 bash bench/cpu.sh             # CI: both modes, each setup for a few seconds
#
# Environment (defaults): MODE (read write: both, one after the other),
# ROUNDS (5), RUN_SECONDS (20), WARM_SECONDS (3), WEB_CLIENTS (4),
# WEB_RATE (400), AI_CLIENTS (30), AI_ROWS (1000000), AI_ACTIVE (2),
# LAYOUTS (1 2), SCALE (10: pgbench -i -s), HOT_ROWS (2000) and WRITE_ROWS (100) for
# MODE=write, SAMPLE_INTERVAL (1ms: pg_budget.sample_interval of MODE=write,
# for more of web's rare LWLock waits), SETUPS (by mode, as above), RESULTS (bench/results, or
# bench/out/cpu-smoke with SMOKE=1), PGB_BENCH_PORT (first of four ports;
# random), PGB_BENCH_CPU_HIERARCHY (/sys/fs/cgroup/cpu: where cgroup v1's cpu
# hierarchy is looked for; a missing one skips the weights setups),
# PGB_BENCH_CGROUP_PREFIX (pgb_bench_: the run's cgroup is <prefix><pid>).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare pgbouncer

if [ "${SMOKE:-0}" = 1 ]; then
	: "${ROUNDS:=1}" "${RUN_SECONDS:=2}" "${WARM_SECONDS:=1}" "${SCALE:=1}"
fi
bench_results cpu

# the run's cgroups, when the machine has cgroup v1's cpu hierarchy
cpu_cgroup=""	# layout 2's: the run's own, at 32768
cpu_dir=""	# layout 1's: the third cluster's pg_budget.cgroup, as the set-up leaves it
cpu_cgroup_note=""
h=${PGB_BENCH_CPU_HIERARCHY:-/sys/fs/cgroup/cpu}
cg_name=${PGB_BENCH_CGROUP_PREFIX:-pgb_bench_}$$
if [ ! -f "$h/cpu.shares" ]; then
	cpu_cgroup_note="no cgroup v1 cpu hierarchy at $h"
elif ! pgb_root; then
	cpu_cgroup_note="not root: no cgroup under $h"
fi
cpu_cgroup_down() { pgb_cgroup_remove "$cpu_cgroup" "$cpu_dir"; }
trap 'bench_work_down; cpu_cgroup_down' EXIT
[ -n "$cpu_cgroup_note" ] && echo "== $cpu_cgroup_note: the CPU-weight setups (5, 6, 8, 9) are skipped" >&2

# Layout 1: the directory as doc/cpu.md's "Setting up cgroup v1" makes it
# (mkdir, chown -R to the server's user), directly under the hierarchy's
# root, where the clients, the other clusters and the rest of the machine
# stay.
cpu_setup_readme() {
	mkdir "$1"
	chown -R "$RUN_USER" "$1"
}
# Layout 2: the run's own cgroup at cpu.shares 32768 (about what 32 busy
# processes weigh), a cgroup in it for each cluster and one for the clients.
cpu_setup_own() {
	mkdir "$1"
	echo 32768 >"$1/cpu.shares"
	chown -R "$RUN_USER" "$1"
}

runs=""
for mode in ${MODE:-read write}; do
	case "$mode" in
		read) for l in ${LAYOUTS:-1 2}; do runs="$runs read:$l"; done ;;
		write) runs="$runs write:2" ;;
		*) echo "MODE: read or write, not $mode" >&2; exit 1 ;;
	esac
done
for run in $runs; do
	mode=${run%:*} layout=${run#*:}
	case "$mode:$layout" in
		read:1) name=cpu-root; setups=${SETUPS:-1 2 3 4 5 6 8 9} ;;
		read:2) name=cpu; setups=${SETUPS:-1 2 3 4 5 6 9} ;;
		write:2) name=cpu-write; setups=${SETUPS:-1 2 7 5} ;;
		*) echo "LAYOUTS: 1 or 2, not $layout" >&2; exit 1 ;;
	esac
	cpu_cgroup_down
	cpu_cgroup="" cpu_dir=""
	if [ -z "$cpu_cgroup_note" ]; then
		if [ "$layout" = 1 ]; then
			cpu_dir=$h/$cg_name
			cpu_setup_readme "$cpu_dir"
			# the clients in the root cgroup, as a DBA's shell is
			echo $$ >"$h/cgroup.procs"
		else
			cpu_cgroup=$h/$cg_name
			cpu_setup_own "$cpu_cgroup"
		fi
	fi
	rm -rf "$work/bench-run"
	bench_run cpu MODE="$mode" LAYOUT="$layout" ROUNDS="${ROUNDS:-5}" RUN_SECONDS="${RUN_SECONDS:-20}" \
		WARM_SECONDS="${WARM_SECONDS:-3}" WEB_CLIENTS="${WEB_CLIENTS:-4}" \
		WEB_RATE="${WEB_RATE:-400}" AI_CLIENTS="${AI_CLIENTS:-30}" \
		AI_ROWS="${AI_ROWS:-1000000}" AI_ACTIVE="${AI_ACTIVE:-2}" SCALE="${SCALE:-10}" \
		HOT_ROWS="${HOT_ROWS:-2000}" WRITE_ROWS="${WRITE_ROWS:-100}" \
		SAMPLE_INTERVAL="${SAMPLE_INTERVAL:-1ms}" \
		SETUPS="$setups" CPU_CGROUP="$cpu_cgroup" CPU_DIR="$cpu_dir" CPU_CGROUP_NOTE="$cpu_cgroup_note"
	bench_publish "$name"
done
