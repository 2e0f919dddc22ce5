#!/usr/bin/env bash
# See rules_bouncer.sh.  Runs as an unprivileged user with the PostgreSQL
# binaries in PATH.  $1: a directory for the throwaway cluster and poolers.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init "$1"
pg=$base
bport=$((base + 1))
bench_users="app postgres"

bench_cluster budget "$pg" "$(bench_budget_conf 'web(max=20, priority=100), ai(max=20, priority=10)')
pg_budget.rules = 'application_name=celery* => ai'"
bench_sql "$pg" "CREATE ROLE app LOGIN" >/dev/null
bench_class_roles "$pg" app=web

# the server connection pid ran on, as the server sees it
seen() {
	bench_sql "$pg" "SELECT format('%s | %s | %s | %s', b.pid, a.application_name, b.class, b.classified_by)
	  FROM pg_budget_backends b JOIN pg_stat_activity a USING (pid) WHERE b.pid = $1"
}
row() {	# row STEP APPNAME DB
	local pid
	pid=$(PGAPPNAME=$2 psql -XqAt -U app -h "$dir" -p "$bport" -d "$3" -c "SELECT pg_backend_pid()")
	echo "| $1 | $2 | $3 | $(seen "$pid") |"
}
pooler() {	# pooler: a fresh pgbouncer, one server connection per pool
	[ -n "$bench_bouncers" ] && bench_bouncer_stop "$dir/bouncer/pgbouncer.pid" && bench_bouncers=""
	bench_bouncer_conf "$dir/bouncer" "app = host=$dir port=$pg dbname=postgres
workers = host=$dir port=$pg dbname=postgres application_name=celery-pool" "$bport" \
		"default_pool_size = 1
server_idle_timeout = 600"
	bench_bouncer_start "$dir/bouncer" "$bport"
}

echo "## pg_budget.rules behind PgBouncer $(pgbouncer --version | head -1 | awk '{print $2}'), pool_mode = transaction, default_pool_size = 1"
echo
echo "Rules: \`application_name=celery* => ai\`; role app is in class web."
echo "Each step is one client login through the pooler, then what the server"
echo "shows of the server connection the client's query ran on."
echo
echo "| step | client application_name | pooler database | server pid | server application_name now | class | classified_by |"
echo "|---|---|---|---|---|---|---|"
pooler
row "1 (fresh pooler)" celery-1 app
row 2 rails app
row 3 celery-2 app
pooler
row "4 (fresh pooler)" rails app
row 5 celery-3 app
row 6 "celery-4" workers
row 7 rails workers
