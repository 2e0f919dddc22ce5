#!/usr/bin/env bash
# The cgroup tests against a real cgroup v2 kernel.  This project's
# machines have cgroup v1 only; every systemd machine a DBA installs the
# package on has v2.  Debian's user-mode-linux package is a Linux kernel
# (6.1) that runs as an ordinary process, with cgroup v2 and its cpu and
# memory controllers and one CPU: booted with a Debian 12 chroot as its
# root (hostfs), it runs the TAP tests of the cgroups (t/060-062 and
# t/085_memory_v2.pl) with pg_budget.cgroup at a service's cgroup
# delegated to postgres as systemd's Delegate=yes does
# (scripts/uml-init.sh, pid 1 of that machine, says how).  On a CPU with
# AMX, where that kernel cannot run processes, forky's (below).
#
#   bash scripts/uml-v2.sh              the tests; exits with their status
#   PGB_UML_TESTS='t/060_cpu.pl' bash scripts/uml-v2.sh     some of them
#
# Runs as root.  Installs user-mode-linux if it is missing, and boots it on
# the bookworm chroot of scripts/package.sh (and matrix.sh's prepare 15):
# $PGB_CHROOTS/bookworm (PGB_CHROOTS, else PGB_CHROOT_DIR, else
# /var/tmp/pg_budget-chroots), made from the host's own apt mirror if it is
# not there yet, with what the build and the tests need added (about 1 GB
# in all).  It builds and installs pg_budget there (package.sh removes
# that build before it tests the package), boots the kernel on it (no
# stdin needed; the console goes to $PGB_CHROOTS/uml-console.log), and
# prints what the tests printed.  PGB_UML_TIMEOUT (s, default 1200) bounds
# the boot.  Then the systemd path (below): the kernel booted again with
# systemd as init, the built package and doc/cpu.md's drop-in.
set -uo pipefail
PGB_TOP=$(cd "$(dirname "$0")/.." && pwd)
BASE=${PGB_CHROOTS:-${PGB_CHROOT_DIR:-/var/tmp/pg_budget-chroots}}
# suite_of, prepare, mounts_down, in_chroot; their chroots under $BASE
PGB_MATRIX_LIB=1 PGB_CHROOT_DIR=$BASE . "$PGB_TOP/scripts/matrix.sh"
ROOT=$BASE/bookworm
TIMEOUT=${PGB_UML_TIMEOUT:-1200}
MEM=${PGB_UML_MEM:-2G}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
# what the tests need, and no more: the chroot is booted, not only entered
UML_PACKAGES="postgresql-15 postgresql-server-dev-15 libkrb5-dev libipc-run-perl make gcc libc6-dev"
# and systemd, for the systemd path at the end
UML_PACKAGES="$UML_PACKAGES systemd systemd-sysv"

[ "$(id -u)" = 0 ] || { echo "uml-v2.sh: run as root" >&2; exit 1; }
start=$(date +%s)
step() { echo "== uml-v2 $(( $(date +%s) - start ))s: $*"; }

if ! dpkg-query -W -f='${Status}' user-mode-linux 2>/dev/null | grep -q "ok installed"; then
	step "installing user-mode-linux"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends user-mode-linux >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends user-mode-linux >/dev/null; } ||
		{ echo "uml-v2.sh: could not install user-mode-linux" >&2; exit 1; }
fi
# uml_kernel [CHROOT-COMMAND...]: the kernel binary of user-mode-linux
uml_kernel() { "$@" dpkg -L user-mode-linux | grep -E '/bin/(linux\.uml|vmlinux)$' | head -1; }
KERNEL=$(uml_kernel)
[ -x "$KERNEL" ] || { echo "uml-v2.sh: no kernel binary in user-mode-linux" >&2; exit 1; }
step "kernel $KERNEL ($("$KERNEL" --version 2>/dev/null | head -1))"

PGB_CHROOT_PACKAGES=$UML_PACKAGES prepare 15 || { mounts_down "$ROOT"; exit 1; }

step "building pg_budget in $ROOT"
rm -rf "$ROOT/pg_budget-src"
mkdir -p "$ROOT/pg_budget-src"
(cd "$PGB_TOP" && tar --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
	--exclude=tmp_check --exclude=tmp_regress --exclude=results --exclude=demo-output \
	--exclude='test/unit/build*' --exclude=test/fuzz/build -cf - .) | tar -xf - -C "$ROOT/pg_budget-src"
# no JIT bitcode: the tests do not need it, and clang is not in the chroot
if ! in_chroot "$ROOT" sh -c "make -s -j\$(nproc) -C /pg_budget-src PG_CONFIG=$PG_CONFIG with_llvm=no COPT='-Wall -Wextra -Werror' &&
	make -s -C /pg_budget-src PG_CONFIG=$PG_CONFIG with_llvm=no install" >"$BASE/uml-build.log" 2>&1; then
	tail -30 "$BASE/uml-build.log"
	echo "uml-v2.sh: the build failed, see $BASE/uml-build.log" >&2
	mounts_down "$ROOT"
	exit 1
fi
# hostfs shows the host's files: nothing of the host may be mounted there
mounts_down "$ROOT"

# The kernel runs as "${KRUN[@]}" "$KERNEL" ...: the host's, unless it
# cannot run a process on this host's CPU.  Linux's user-mode port up to
# 6.12 sizes the register state it hands ptrace for its processes without
# the larger XSAVE area of CPUs with AMX (Intel Sapphire Rapids on): each
# process's first switch fails ("userspace - ptrace set fp regs failed,
# errno = 14") and init is killed at once.  A boot of init=/bin/true tells;
# then the kernel of a newer Debian's user-mode-linux (forky's, from the
# chroot of 18, which matrix.sh makes anyway) boots instead, run inside that
# chroot, with $ROOT bound at the same path there.
KRUN=()
KROOT=""
kernel_down() {
	[ -n "$KROOT" ] || return 0
	mountpoint -q "$KROOT$ROOT" && umount -l "$KROOT$ROOT"
	mounts_down "$KROOT"
}
trap kernel_down EXIT
timeout -k 10 120 "$KERNEL" mem=256M rootfstype=hostfs rootflags="$ROOT" rw init=/bin/true \
	con=null ssl=null con0=null,fd:1 umid="pgb-uml-probe-$$" </dev/null >"$BASE/uml-probe.log" 2>&1
if grep -q "ptrace set fp regs failed" "$BASE/uml-probe.log"; then
	step "$KERNEL cannot run processes on this CPU (its XSAVE area: $(grep -m1 -o 'amx_tile' /proc/cpuinfo || echo 'larger than it knows')); the kernel of forky's user-mode-linux instead"
	PGB_CHROOT_PACKAGES=user-mode-linux prepare 18 || exit 1
	KROOT=$BASE/$(suite_of 18)
	mkdir -p "$KROOT$ROOT"
	# private: what is mounted in $ROOT later (and unmounted before each
	# boot) is not to appear there
	mountpoint -q "$KROOT$ROOT" || { mount --bind "$ROOT" "$KROOT$ROOT" && mount --make-private "$KROOT$ROOT"; }
	KERNEL=$(uml_kernel in_chroot "$KROOT")
	KRUN=(chroot "$KROOT")
	[ -n "$KERNEL" ] && "${KRUN[@]}" test -x "$KERNEL" ||
		{ echo "uml-v2.sh: no kernel binary in $KROOT's user-mode-linux" >&2; exit 1; }
	step "kernel $KROOT$KERNEL ($(in_chroot "$KROOT" dpkg-query -W -f='${Version}' user-mode-linux))"
fi
install -m 755 "$PGB_TOP/scripts/uml-init.sh" "$ROOT/pg_budget-src/scripts/uml-init.sh"

tests=${PGB_UML_TESTS:-t/060_cpu.pl t/061_cpu_boost.pl t/062_cpu_run_delay.pl t/085_memory_v2.pl}
rm -rf "$ROOT/pgb-uml"
mkdir -p "$ROOT/pgb-uml"
echo "$tests" >"$ROOT/pgb-uml/tests"
# the settings of the measurement in t/086_memory_high_v2.pl, passed on
for v in ${!PGB_MEMHIGH_@}; do printf '%s=%q\n' "$v" "${!v}"; done >"$ROOT/pgb-uml/env"

if [ "$tests" = none ]; then
	# (the systemd path alone)
	echo 0 >"$ROOT/pgb-uml/rc"
else
	step "booting the kernel on $ROOT ($MEM; console in $BASE/uml-console.log): $tests"
	# con0: no input (CI has no stdin), output to the log; the other consoles
	# and serial lines off.  The memory file goes to the host's /dev/shm.
	boot_start=$(date +%s)
	timeout -k 30 "$TIMEOUT" "${KRUN[@]}" "$KERNEL" mem="$MEM" rootfstype=hostfs rootflags="$ROOT" rw \
		init=/pg_budget-src/scripts/uml-init.sh con=null ssl=null con0=null,fd:1 \
		umid="pgb-uml-$$" </dev/null >"$BASE/uml-console.log" 2>&1
	krc=$?
	step "the kernel exited ($krc) after $(( $(date +%s) - boot_start )) s"
	[ $krc = 124 ] && echo "uml-v2.sh: timed out after $TIMEOUT s" >&2
fi

cat "$ROOT/pgb-uml/prove.out" 2>/dev/null
cat "$ROOT/pgb-uml/cgroup-after" 2>/dev/null
rc=$(cat "$ROOT/pgb-uml/rc" 2>/dev/null)
status=0
if [ "$rc" != 0 ]; then
	echo "== the console's last lines ($BASE/uml-console.log)"
	tail -40 "$BASE/uml-console.log"
	for f in "$ROOT"/pgb-uml/log/regress_log_*; do
		[ -f "$f" ] && { echo "== tail of $f"; tail -n 60 "$f"; }
	done
	echo "== cgroup v2 tests in user-mode Linux: FAILED (exit ${rc:-none})"
	status=1
elif [ "$tests" = none ]; then
	echo "== cgroup v2 tests in user-mode Linux: not run (PGB_UML_TESTS=none)"
else
	echo "== cgroup v2 tests in user-mode Linux: passed on $(sed -n 1p "$ROOT/pgb-uml/uname") ($(( $(date +%s) - start )) s)"
fi

#
# The systemd path of doc/cpu.md: the same machine booted again with
# systemd as init, the built package postgresql-15-pg-budget installed,
# doc/cpu.md's drop-in for postgresql@.service taken from the doc as it is,
# postgresql@15-main started by systemd; scripts/uml-systemd-check.sh
# checks the weights and the placement there.  PGB_UML_SYSTEMD: auto (the
# default: when scripts/package.sh has left the package in the chroot),
# yes, no.
#
SYSTEMD=${PGB_UML_SYSTEMD:-auto}
deb=$(ls "$ROOT"/pgb-pkg/new/postgresql-15-pg-budget_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -1)
if [ "$SYSTEMD" = no ] || { [ "$SYSTEMD" = auto ] && [ -z "$deb" ]; }; then
	echo "== the systemd path: not run (PGB_UML_SYSTEMD=$SYSTEMD${deb:+, }${deb:-, no package built: bash scripts/package.sh 15 builds it})"
	exit $status
fi
[ -n "$deb" ] || { echo "== the systemd path: FAILED: no package in $ROOT/pgb-pkg/new (bash scripts/package.sh 15 builds it)"; exit 1; }

SD_UNIT=postgresql@15-main.service
SD_DROPIN=$ROOT/etc/systemd/system/postgresql@.service.d/pg_budget.conf
SD_TEST=$ROOT/etc/systemd/system/$SD_UNIT.d/pgb-uml.conf
SD_CONF=$ROOT/etc/postgresql/15/main/conf.d/pgb-uml.conf
SD_WANTS=$ROOT/etc/systemd/system/multi-user.target.wants/pgb-uml-check.service
SD_LOG=/var/log/postgresql/postgresql-15-main.log
sd_clean() {
	rm -f "$SD_DROPIN" "$SD_TEST" "$SD_CONF" "$SD_WANTS" \
		"$ROOT"/etc/systemd/system/pgb-uml-cluster.service "$ROOT"/etc/systemd/system/pgb-uml-check.service
	rmdir "$(dirname "$SD_DROPIN")" "$(dirname "$SD_TEST")" 2>/dev/null
	rm -rf "$ROOT/pgb-uml/sd-data"
	in_chroot "$ROOT" dpkg --purge postgresql-15-pg-budget >/dev/null 2>&1
	return 0
}

step "the systemd path: ${deb##*/} and doc/cpu.md's drop-in for postgresql@.service"
sd_clean
# the package as a user installs it (over the source build of the tests)
in_chroot "$ROOT" dpkg -i "${deb#"$ROOT"}" >"$BASE/uml-systemd-dpkg.log" 2>&1 ||
	{ tail -20 "$BASE/uml-systemd-dpkg.log"; sd_clean; echo "== the systemd path: FAILED (dpkg -i)"; exit 1; }
# the cluster the package of postgresql-15 makes, if it did not
if [ ! -f "$ROOT/etc/postgresql/15/main/postgresql.conf" ]; then
	mounts_up "$ROOT"
	in_chroot "$ROOT" pg_createcluster 15 main >>"$BASE/uml-systemd-dpkg.log" 2>&1
	mounts_down "$ROOT"
fi
# the drop-in exactly as doc/cpu.md shows it (the indented block under its
# file name)
mkdir -p "$(dirname "$SD_DROPIN")"
awk '/^    # \/etc\/systemd\/system\/postgresql@\.service\.d\/pg_budget\.conf$/ { on = 1; next }
	on && /^$/ { exit }
	on { sub(/^    /, ""); print }' "$PGB_TOP/doc/cpu.md" >"$SD_DROPIN"
grep -q '^Delegate=yes$' "$SD_DROPIN" ||
	{ sd_clean; echo "== the systemd path: FAILED: no drop-in found in doc/cpu.md"; exit 1; }
echo "   the drop-in, from doc/cpu.md:"
sed 's/^/     /' "$SD_DROPIN"
# what only this machine needs: the cluster's data on tmpfs (hostfs makes
# every file the server writes root's), made before the server starts
mkdir -p "$(dirname "$SD_TEST")"
printf '%s\n' '[Unit]' 'Requires=pgb-uml-cluster.service' 'After=pgb-uml-cluster.service' >"$SD_TEST"
printf '%s\n' '[Unit]' 'Description=pg_budget rig: the data directory of 15/main on tmpfs' \
	'[Service]' 'Type=oneshot' 'RemainAfterExit=yes' \
	'ExecStart=/pg_budget-src/scripts/uml-systemd-check.sh cluster' \
	>"$ROOT/etc/systemd/system/pgb-uml-cluster.service"
printf '%s\n' '[Unit]' 'Description=pg_budget rig: the checks of the systemd path' \
	"Wants=$SD_UNIT" "After=$SD_UNIT" \
	'[Service]' 'Type=oneshot' 'ExecStart=/pg_budget-src/scripts/uml-systemd-check.sh check' \
	'StandardOutput=journal+console' \
	'[Install]' 'WantedBy=multi-user.target' \
	>"$ROOT/etc/systemd/system/pgb-uml-check.service"
mkdir -p "$(dirname "$SD_WANTS")"
ln -sf ../pgb-uml-check.service "$SD_WANTS"
# the settings a DBA writes (doc/cpu.md), and the rig's own lines
printf '%s\n' '# scripts/uml-v2.sh: the systemd path' \
	"shared_preload_libraries = 'pg_budget'" \
	"pg_budget.cgroup = '/sys/fs/cgroup/system.slice/system-postgresql.slice/$SD_UNIT'" \
	"pg_budget.classes = 'web(priority=100, cpu=200), ai(priority=10, cpu=1)'" \
	"data_directory = '/run/pgb-uml/data'" \
	"hba_file = '/run/pgb-uml/data/pg_hba.conf'" \
	'ssl = off' >"$SD_CONF"
in_chroot "$ROOT" chown postgres:postgres "${SD_CONF#"$ROOT"}"
: >"$ROOT$SD_LOG"
in_chroot "$ROOT" chown postgres:adm "$SD_LOG"
in_chroot "$ROOT" chmod 640 "$SD_LOG"
install -m 755 "$PGB_TOP/scripts/uml-systemd-check.sh" "$ROOT/pg_budget-src/scripts/uml-systemd-check.sh"
rm -f "$ROOT"/pgb-uml/systemd.out*
# the cluster's data directory, made here: initdb takes a minute in the
# kernel; scripts/uml-systemd-check.sh copies it to tmpfs at boot
rm -rf "$ROOT/pgb-uml/sd-data"
mkdir -m 700 "$ROOT/pgb-uml/sd-data"
in_chroot "$ROOT" chown postgres:postgres /pgb-uml/sd-data
mounts_up "$ROOT"
in_chroot "$ROOT" runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D /pgb-uml/sd-data \
	--auth=trust -U postgres --no-sync >"$BASE/uml-systemd-initdb.log" 2>&1 ||
	{ tail -20 "$BASE/uml-systemd-initdb.log"; mounts_down "$ROOT"; sd_clean; echo "== the systemd path: FAILED (initdb)"; exit 1; }
mounts_down "$ROOT"

step "booting the kernel with systemd as init (console in $BASE/uml-systemd-console.log)"
boot_start=$(date +%s)
timeout -k 30 "${PGB_UML_SYSTEMD_TIMEOUT:-600}" "${KRUN[@]}" "$KERNEL" mem="$MEM" rootfstype=hostfs rootflags="$ROOT" rw \
	init=/lib/systemd/systemd con=null ssl=null con0=null,fd:1 \
	umid="pgb-uml-sd-$$" </dev/null >"$BASE/uml-systemd-console.log" 2>&1
krc=$?
step "the kernel exited ($krc) after $(( $(date +%s) - boot_start )) s"
sd_clean
if [ -f "$ROOT/pgb-uml/systemd.out" ] && ! grep -q '^not ok' "$ROOT/pgb-uml/systemd.out"; then
	cat "$ROOT/pgb-uml/systemd.out"
	echo "== the systemd path in user-mode Linux: passed ($(( $(date +%s) - boot_start )) s)"
else
	cat "$ROOT"/pgb-uml/systemd.out* 2>/dev/null
	echo "== the console's last lines ($BASE/uml-systemd-console.log)"
	grep -v '^\s*$' "$BASE/uml-systemd-console.log" | tail -60
	echo "== the systemd path in user-mode Linux: FAILED"
	status=1
fi
exit $status
