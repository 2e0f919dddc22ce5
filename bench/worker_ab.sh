#!/usr/bin/env bash
# The pg_budget worker's CPU with thousands of held sessions, two builds
# side by side: each run starts a throwaway server that loads one build's
# pg_budget.so (dynamic_library_path points at its directory), holds N
# sessions of a role of class web (a random idle spell of 1.5-4.5 s, then
# one second of pg_sleep: a quarter of the time active, as bench/scale.sh),
# max_connections = 1.3 N, doc/cpu.md's classes with CPU weights on where
# the machine has cgroup v1's cpu hierarchy, and reads the worker's CPU
# time (/proc/<pid>/schedstat) over MEASURE_SECONDS.  The builds
# alternate, PAIRS times; the report gives every run and the medians.
#
#   A=/path/old/pg_budget.so B=/path/new/pg_budget.so bash bench/worker_ab.sh   # as root
#
# Environment (defaults): A, B (required), N (2000), PAIRS (3),
# MEASURE_SECONDS (40), SETTLE_SECONDS (10), PGB_BENCH_PORT (random),
# PGB_BENCH_CPU_HIERARCHY (/sys/fs/cgroup/cpu).  The SQL objects are not
# created (the server needs none to sample), so either build may be any
# version of the library.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${A:?A=path of a pg_budget.so}" "${B:?B=path of a pg_budget.so}"
: "${N:=2000}" "${PAIRS:=3}" "${MEASURE_SECONDS:=40}" "${SETTLE_SECONDS:=10}"
PGB_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$PGB_TOP/scripts/common.sh"
pgb_root || { echo "worker_ab.sh: run as root (it makes cgroups and raises the open-file limit)" >&2; exit 1; }
pgb_install_deps
top=$(mktemp -d /tmp/pgb-worker-ab.XXXXXX)
chown "$RUN_USER" "$top"
for x in A B; do
	mkdir -p "$top/lib-$x"
	cp "${!x}" "$top/lib-$x/pg_budget.so"
done
chmod -R a+rX "$top"
h=${PGB_BENCH_CPU_HIERARCHY:-/sys/fs/cgroup/cpu}
cg=""
if [ -f "$h/cpu.shares" ]; then
	cg=$h/pgb_worker_ab_$$
	mkdir -p "$cg/server" "$cg/clients"
	echo 32768 >"$cg/cpu.shares"
	chown -R "$RUN_USER" "$cg"
fi
cleanup() {
	[ -n "$cg" ] || return 0
	echo $$ >"$h/cgroup.procs" 2>/dev/null || true
	find "$cg" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
	rmdir "$cg" 2>/dev/null || true
}
trap cleanup EXIT
export cg top N MEASURE_SECONDS SETTLE_SECONDS
port=${PGB_BENCH_PORT:-$(( 20000 + RANDOM % 20000 ))}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
runs=""
for p in $(seq "$PAIRS"); do
	for x in A B; do
		# the server goes into the run's cgroup from this shell, as root
		[ -z "$cg" ] || echo $$ >"$cg/server/cgroup.procs"
		r=$(pgb_as_user bash "$PGB_TOP/bench/worker_ab-run.sh" "$x" "$port" "$cg") || exit 1
		echo "$x $p $r"
		runs="$runs$x $r"$'\n'
	done
done >"$top/runs.txt"
echo "## The worker's CPU with $N held sessions, two builds"
echo
echo "A: \`$A\` (md5 $(md5sum <"$A" | cut -c1-12)); B: \`$B\` (md5 $(md5sum <"$B" | cut -c1-12)); $PAIRS alternating pairs of $MEASURE_SECONDS s; $(nproc) CPUs; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| build | runs | worker CPU, % of a core (median) | each run |"
echo "|---|---:|---:|---|"
for x in A B; do
	awk -v x="$x" '$1 == x { print $3 }' "$top/runs.txt" | sort -n >"$top/$x.txt"
	printf '| %s | %d | %s | %s |\n' "$x" "$(wc -l <"$top/$x.txt")" \
		"$(bench_med "$top/$x.txt" "" 1)" "$(awk '$1 == "'"$x"'" { printf "%s%s", sep, $3; sep = ", " }' "$top/runs.txt")"
done
rm -rf "$top"
