#!/bin/bash
# pid 1 of the user-mode Linux machine of scripts/uml-v2.sh (and, given
# "runner", the test runner it starts as postgres).  The root is a Debian
# chroot of the host seen through hostfs; scripts/uml-v2.sh has built and
# installed pg_budget there and put this tree in /pg_budget-src.
#
# As pid 1: mount proc, sysfs, cgroup2 (as systemd does: nsdelegate,
# memory_recursiveprot), tmpfs on /tmp and /dev/shm, devpts; enable cpu and
# memory down to a service's cgroup, system.slice/pg_budget-test.service,
# and delegate it to postgres as systemd's Delegate=yes does for a unit
# whose User= is postgres (the directory and its cgroup.procs,
# cgroup.subtree_control and cgroup.threads owned by postgres; the parent's
# subtree_control has the controllers on); start the runner as postgres
# inside it; copy what it left to /pgb-uml (the host reads it there); sync
# and power off.
#
# As the runner: move into a leaf of the service's cgroup (tests.runner:
# no class name has a dot, so pg_budget leaves it alone), as a delegated
# service does with its own processes (systemd's DelegateSubgroup=), then
# make installcheck of the tests listed in /pgb-uml/tests with
# PGB_TEST_CGROUP_V2 and PGB_TEST_MEMCG_V2 set to the service's cgroup.
#
# Files written by a process of the UML machine on hostfs belong on the
# host to the user running the kernel (root), whoever wrote them: the
# servers' data directories and the runner's files are therefore on tmpfs,
# and only pid 1 (root) writes under /pgb-uml.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LANG=C.UTF-8
OUT=/pgb-uml
SERVICE=/sys/fs/cgroup/system.slice/pg_budget-test.service
WORK=/tmp/pg_budget
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

if [ "${1:-}" = runner ]; then
	mkdir "$SERVICE/tests.runner" && echo $$ >"$SERVICE/tests.runner/cgroup.procs" || {
		echo "uml-init: the runner could not move into $SERVICE/tests.runner"
		exit 1
	}
	echo "== runner: $(id -un), in $(cat /proc/self/cgroup)"
	# PGB_MEMHIGH_* of scripts/uml-v2.sh's environment
	[ -f "$OUT/env" ] && { set -a; . "$OUT/env"; set +a; }
	exec make -C "$WORK" installcheck REGRESS= PG_CONFIG="$PG_CONFIG" \
		PROVE_FLAGS="-v --timer" PROVE_TESTS="$(cat "$OUT/tests")"
fi

[ $$ = 1 ] || { echo "uml-init.sh: pid 1 of the UML machine only (or: runner)" >&2; exit 2; }

# Power off; the host waits for the kernel to exit.
halt() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 60
}

stage() { echo "== uml $(cut -d' ' -f1 /proc/uptime)s: $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup ||
	mount -t cgroup2 cgroup2 /sys/fs/cgroup || { echo "uml-init: no cgroup2"; echo 1 >"$OUT/rc"; halt; }
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
hostname pgb-uml 2>/dev/null
command -v ip >/dev/null && ip link set lo up
stage "$(uname -sr), $(nproc) CPU, $(awk '/MemTotal/ { print $2 / 1024 " MB" }' /proc/meminfo)"
uname -a >"$OUT/uname"
cat /proc/version >>"$OUT/uname"

# systemd at boot: the controllers on down to the service's parent
cg=/sys/fs/cgroup
echo "root cgroup.controllers: $(cat $cg/cgroup.controllers)"
echo "+cpu +memory" >$cg/cgroup.subtree_control
mkdir -p $cg/system.slice
echo "+cpu +memory" >$cg/system.slice/cgroup.subtree_control
# Delegate=yes for a unit of User=postgres
mkdir "$SERVICE"
chown postgres "$SERVICE" "$SERVICE/cgroup.procs" "$SERVICE/cgroup.subtree_control" \
	"$SERVICE/cgroup.threads"
echo "$SERVICE: controllers \"$(cat "$SERVICE/cgroup.controllers")\"; owned:"
ls -ld "$SERVICE"
ls -l "$SERVICE" | awk '$3 == "postgres"'

# the tree, owned by postgres, on tmpfs
cp -a /pg_budget-src "$WORK"
chown -R postgres "$WORK"
rm -f "$OUT/prove.out"

stage "the tests as postgres in $SERVICE: $(cat "$OUT/tests")"
# setpriv, not runuser: runuser would stay in the service's cgroup as the
# parent of the runner, a process of its own there for the whole run
(
	echo $BASHPID >"$SERVICE/cgroup.procs"
	exec setpriv --reuid=postgres --regid=postgres --init-groups env -i PATH="/usr/lib/postgresql/15/bin:$PATH" LANG=C.UTF-8 \
		HOME=/tmp TMPDIR=/tmp PGB_TEST_CGROUP_V2="$SERVICE" PGB_TEST_MEMCG_V2="$SERVICE" \
		bash /pg_budget-src/scripts/uml-init.sh runner
) 2>&1 | tee /tmp/prove.out
rc=${PIPESTATUS[0]}
stage "tests done, exit $rc"
cp /tmp/prove.out "$OUT/prove.out"
rm -rf "$OUT/log"
[ -d "$WORK/tmp_check/log" ] && cp -r "$WORK/tmp_check/log" "$OUT/log"
{
	echo "== the service's cgroup after the tests"
	for f in cgroup.subtree_control memory.max memory.high memory.current cpu.weight; do
		echo "$f: $(tr '\n' ' ' <"$SERVICE/$f" 2>&1)"
	done
	find "$SERVICE" -type d | sort | while read -r d; do
		echo "${d#"$SERVICE"}/: cgroup.procs [$(tr '\n' ' ' <"$d/cgroup.procs")]" \
			"$(grep populated "$d/cgroup.events")"
	done
	echo "== processes left (pid ppid state name cgroup)"
	for p in /proc/[0-9]*; do
		[ -r "$p/stat" ] || continue
		read -r pid comm state ppid _ <"$p/stat"
		echo "$pid $ppid $state $comm $(cat "$p/cgroup" 2>/dev/null)"
	done
} >"$OUT/cgroup-after" 2>&1
echo $rc >"$OUT/rc"
stage "power off"
halt
