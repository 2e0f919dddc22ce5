#!/bin/bash
# The systemd path of doc/cpu.md, checked inside the user-mode Linux
# machine of scripts/uml-v2.sh booted with systemd as its init: Debian's
# postgresql@15-main.service with doc/cpu.md's drop-in (Delegate=yes and
# the chown of the service's cgroup), the built postgresql-15-pg-budget
# package, and pg_budget.cgroup at the service's cgroup.
#
#   cluster   (pgb-uml-cluster.service, before postgresql@15-main): the
#             cluster's data directory on tmpfs (a file a process of the
#             UML machine makes on hostfs is root's on the host, and so
#             the server's own would not be the server's), copied from
#             /pgb-uml/sd-data
#   check     (pgb-uml-check.service, after it): the checks, as TAP lines
#             in /pgb-uml/systemd.out, then power off
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LANG=C.UTF-8
DATA=/run/pgb-uml/data
OUT=/pgb-uml

case "${1:-}" in
	cluster)
		# a copy of the data directory scripts/uml-v2.sh made with initdb in
		# the chroot (initdb itself takes a minute in this kernel)
		mkdir -p /run/pgb-uml
		cp -a "$OUT/sd-data" "$DATA" || exit 1
		chown -R postgres:postgres /run/pgb-uml
		exec chmod 700 /run/pgb-uml "$DATA"
		;;
	check) ;;
	*) echo "usage: $0 cluster|check" >&2; exit 2 ;;
esac

exec >"$OUT/systemd.out.tmp" 2>&1
n=0
fails=0
check() {
	local rc=$1
	shift
	n=$((n + 1))
	if [ "$rc" = 0 ]; then echo "ok $n - $*"; else echo "not ok $n - $*"; fails=$((fails + 1)); fi
}
as_pg() { runuser -u postgres -- psql -X -At -d postgres "$@"; }
unit=postgresql@15-main.service
log=/var/log/postgresql/postgresql-15-main.log
want=/sys/fs/cgroup/system.slice/system-postgresql.slice/$unit

echo "# $(uname -sr); $(systemctl --version | head -1)"
echo "# $(dpkg-query -W -f='${Package} ${Version}' postgresql-15-pg-budget)"
systemctl is-active -q "$unit"
check $? "systemd started $unit ($(systemctl is-active "$unit"))"
cg=/sys/fs/cgroup$(systemctl show -p ControlGroup --value "$unit")
[ "$cg" = "$want" ]
check $? "its cgroup is the one doc/cpu.md names ($cg)"
[ "$(systemctl show -p Delegate --value "$unit")" = yes ]
check $? "Delegate=yes is in force (the drop-in)"

# what pg_budget needs, as systemd and the drop-in left it
owners=$(stat -c %U "$cg" "$cg/cgroup.procs" "$cg/cgroup.subtree_control" "$cg/cgroup.threads" | sort -u | tr '\n' ' ')
[ "$owners" = "postgres " ]
check $? "the drop-in's chown: the directory, cgroup.procs, cgroup.subtree_control and cgroup.threads are postgres's ($owners)"
grep -qw cpu "$cg/cgroup.controllers"
check $? "the cpu controller is in its cgroup.controllers ($(cat "$cg/cgroup.controllers"))"

# the server as systemd started it, with pg_budget's tree
grep -q "LOG:  pg_budget: CPU weights in force under \"$cg\" (cgroup v2): web 200, ai 1, default 100" "$log"
check $? "the server log says the weights are in force under the service's cgroup (cgroup v2)"
! grep "WARNING:  pg_budget" "$log"
check $? "no WARNING of pg_budget in the log"
[ "$(cat "$cg/web/cpu.weight" 2>&1)/$(cat "$cg/ai/cpu.weight" 2>&1)/$(cat "$cg/default/cpu.weight" 2>&1)" = 200/1/100 ]
check $? "web, ai and default have cpu.weight 200, 1 and 100"
grep -qw cpu "$cg/cgroup.subtree_control"
check $? "pg_budget enabled cpu for them in the service's cgroup.subtree_control"
pm=$(head -1 "$DATA/postmaster.pid")
grep -qx "$pm" "$cg/pg_budget.server/cgroup.procs"
check $? "the postmaster ($pm) is in pg_budget.server"
[ -z "$(cat "$cg/cgroup.procs")" ]
check $? "the service's cgroup itself has no process left (the no-internal-processes rule)"

# sessions placed by class
as_pg -c "CREATE EXTENSION pg_budget; CREATE ROLE w LOGIN; CREATE ROLE a LOGIN;
	ALTER ROLE w SET pg_budget.class = 'web'; ALTER ROLE a SET pg_budget.class = 'ai'" >/dev/null
runuser -u postgres -- psql -X -At -U a -d postgres -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
runuser -u postgres -- psql -X -At -U w -d postgres -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
for _ in $(seq 300); do
	[ "$(as_pg -c "SELECT count(*) FROM pg_stat_activity WHERE usename IN ('a', 'w') AND query LIKE 'SELECT pg_sleep%'")" = 2 ] && break
	sleep 0.2
done
apid=$(as_pg -c "SELECT pid FROM pg_stat_activity WHERE usename = 'a' AND query LIKE 'SELECT pg_sleep%'")
wpid=$(as_pg -c "SELECT pid FROM pg_stat_activity WHERE usename = 'w' AND query LIKE 'SELECT pg_sleep%'")
[ -n "$apid" ] && grep -qx "$apid" "$cg/ai/cgroup.procs"
check $? "a session of ai (pid $apid) is in ai/cgroup.procs"
[ -n "$wpid" ] && grep -qx "$wpid" "$cg/web/cgroup.procs"
check $? "a session of web (pid $wpid) is in web/cgroup.procs"
[ "$(as_pg -c "SELECT string_agg(class || ':' || cpu_weight, ' ' ORDER BY class) FROM pg_budget_status")" = "ai:1 default:100 web:200" ]
check $? "pg_budget_status shows the weights"
as_pg -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE usename IN ('a', 'w')" >/dev/null
wait

# a restart through systemd: a new cgroup, the same tree made again
: >"$log"
systemctl restart "$unit"
check $? "systemctl restart $unit"
cg=/sys/fs/cgroup$(systemctl show -p ControlGroup --value "$unit")
for _ in $(seq 100); do
	grep -q "CPU weights in force" "$log" && break
	sleep 0.2
done
grep -q "LOG:  pg_budget: CPU weights in force under \"$cg\" (cgroup v2): web 200, ai 1, default 100" "$log"
check $? "after the restart the weights are in force again"
pm=$(head -1 "$DATA/postmaster.pid")
grep -qx "$pm" "$cg/pg_budget.server/cgroup.procs" && [ -z "$(cat "$cg/cgroup.procs")" ]
check $? "and the new postmaster ($pm) is in pg_budget.server, the service's cgroup empty"

# the memory guard's limit from the unit's MemoryMax= (memory.max of the
# service's cgroup, above the server's leaf pg_budget.server)
systemctl set-property --runtime "$unit" MemoryMax=400M
check $? "systemctl set-property --runtime $unit MemoryMax=400M"
[ "$(cat "$cg/memory.max")" = $((400 * 1024 * 1024)) ]
check $? "the service's memory.max is 400 MB ($(cat "$cg/memory.max"))"
: >"$log"
systemctl restart "$unit"
cg=/sys/fs/cgroup$(systemctl show -p ControlGroup --value "$unit")
for _ in $(seq 100); do
	grep -q "pg_budget: memory limit" "$log" && break
	sleep 0.2
done
grep -q "LOG:  pg_budget: memory limit 400 MB, from cgroup v2 memory.max of $cg; the guard cancels queries past 360 MB (90%)" "$log"
check $? "after a restart the memory guard's limit is the unit's MemoryMax= (400 MB, from memory.max of the service's cgroup)"
[ "$(as_pg -c "SELECT limit_bytes FROM pg_budget_memory")" = $((400 * 1024 * 1024)) ]
check $? "pg_budget_memory.limit_bytes says so"

# a stop: systemd removes the service's cgroup, the class directories with it
systemctl stop "$unit"
check $? "systemctl stop $unit"
[ ! -d "$cg" ]
check $? "the service's cgroup is gone after the stop, class directories and all"

echo "1..$n"
if [ $fails != 0 ]; then
	echo "# $fails of $n failed; the unit's journal and the log:"
	journalctl -b --no-pager -u "$unit" -u pgb-uml-cluster.service | tail -40
	tail -40 "$log"
	systemctl --failed --no-legend
fi
mv "$OUT/systemd.out.tmp" "$OUT/systemd.out"
sync
systemctl poweroff >/dev/null 2>&1
