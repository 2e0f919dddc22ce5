#!/usr/bin/env bash
# The cgroup tests against a real cgroup v2 kernel.  This project's
# machines have cgroup v1 only; every systemd machine a DBA installs the
# package on has v2.  Debian's user-mode-linux package is a Linux kernel
# (6.1) that runs as an ordinary process, with cgroup v2 and its cpu and
# memory controllers and one CPU: booted with a Debian 12 chroot as its
# root (hostfs), it runs the TAP tests of the cgroups (t/060-062 and
# t/085_memory_v2.pl) with pg_budget.cgroup at a service's cgroup
# delegated to postgres as systemd's Delegate=yes does
# (scripts/uml-init.sh, pid 1 of that machine, says how).
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
# the boot.
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
KERNEL=$(dpkg -L user-mode-linux | grep -E '/bin/(linux\.uml|vmlinux)$' | head -1)
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
install -m 755 "$PGB_TOP/scripts/uml-init.sh" "$ROOT/pg_budget-src/scripts/uml-init.sh"

tests=${PGB_UML_TESTS:-t/060_cpu.pl t/061_cpu_boost.pl t/062_cpu_run_delay.pl t/085_memory_v2.pl}
rm -rf "$ROOT/pgb-uml"
mkdir -p "$ROOT/pgb-uml"
echo "$tests" >"$ROOT/pgb-uml/tests"

step "booting the kernel on $ROOT ($MEM; console in $BASE/uml-console.log): $tests"
# con0: no input (CI has no stdin), output to the log; the other consoles
# and serial lines off.  The memory file goes to the host's /dev/shm.
boot_start=$(date +%s)
timeout -k 30 "$TIMEOUT" "$KERNEL" mem="$MEM" rootfstype=hostfs rootflags="$ROOT" rw \
	init=/pg_budget-src/scripts/uml-init.sh con=null ssl=null con0=null,fd:1 \
	umid="pgb-uml-$$" </dev/null >"$BASE/uml-console.log" 2>&1
krc=$?
step "the kernel exited ($krc) after $(( $(date +%s) - boot_start )) s"
[ $krc = 124 ] && echo "uml-v2.sh: timed out after $TIMEOUT s" >&2

cat "$ROOT/pgb-uml/prove.out" 2>/dev/null
cat "$ROOT/pgb-uml/cgroup-after" 2>/dev/null
rc=$(cat "$ROOT/pgb-uml/rc" 2>/dev/null)
if [ "$rc" != 0 ]; then
	echo "== the console's last lines ($BASE/uml-console.log)"
	tail -40 "$BASE/uml-console.log"
	for f in "$ROOT"/pgb-uml/log/regress_log_*; do
		[ -f "$f" ] && { echo "== tail of $f"; tail -n 60 "$f"; }
	done
	echo "== cgroup v2 tests in user-mode Linux: FAILED (exit ${rc:-none})"
	exit 1
fi
echo "== cgroup v2 tests in user-mode Linux: passed on $(sed -n 1p "$ROOT/pgb-uml/uname") ($(( $(date +%s) - start )) s)"
