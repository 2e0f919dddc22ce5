#!/usr/bin/env bash
# See badday.sh.  Runs as an unprivileged user with the PostgreSQL binaries
# in PATH.  $1: a scratch directory for the throwaway clusters and
# pgbouncers; $2: the output directory (raw CSVs in one subdirectory per
# setup, then badday.md and the PNGs).  Progress goes to stderr.
set -eu
. "$(dirname "$0")/lib.sh"
out=$2
here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
SETUPS=${SETUPS:-1 2 3 4 5}
BEFORE_SECONDS=${BEFORE_SECONDS:-15}
DURING_SECONDS=${DURING_SECONDS:-60}
AFTER_SECONDS=${AFTER_SECONDS:-15}
WEB_CLIENTS=${WEB_CLIENTS:-8}
WEB_RATE=${WEB_RATE:-10}
UPDATE_SHARE=${UPDATE_SHARE:-0.2}
WEB_HOT_JOBS=${WEB_HOT_JOBS:-300}
AI_ROLES=${AI_ROLES:-4}
AI_WORKERS=${AI_WORKERS:-30}
JOB_MIN=${JOB_MIN:-1.0}
JOB_MAX=${JOB_MAX:-2.0}
ROLE_LIMIT=${ROLE_LIMIT:-15}
WEB_POOL=${WEB_POOL:-20}
AI_FLOOR=${AI_FLOOR:-}
PGB_CLASSES=${PGB_CLASSES:-web(max=40, reserve=30, priority=100), ai(max=60, priority=10, shed=terminate${AI_FLOOR:+, floor=$AI_FLOOR})}
LOCK_WAIT_THRESHOLD=${LOCK_WAIT_THRESHOLD:-200ms}
LOCK_STATS_THRESHOLD=${LOCK_STATS_THRESHOLD:-}
PGB_EXTRA_CONF=${PGB_EXTRA_CONF:-}
NOTE=${NOTE:-}
SEED=${SEED:-1}

bench_init "$1"
bench_stop_mode=immediate
mkdir -p "$out"
: >"$out/setups"
: >"$out/loadavg"

# setup number -> name, label
setup_name() {
	case $1 in
	1|stock) echo stock ;;
	2|connlimit) echo connlimit ;;
	3|pgbouncer) echo pgbouncer ;;
	4|pg_budget) echo pg_budget ;;
	5|pgbouncer+pg_budget|pgbouncer_pg_budget) echo pgbouncer+pg_budget ;;
	*) echo "unknown setup '$1' (1-5 or stock, connlimit, pgbouncer, pg_budget, pgbouncer+pg_budget)" >&2; return 1 ;;
	esac
}
setup_label() {
	case $1 in
	stock) echo "1. stock PostgreSQL" ;;
	connlimit) echo "2. CONNECTION LIMIT $ROLE_LIMIT per worker role" ;;
	pgbouncer) echo "3. PgBouncer (transaction pool, max_user_connections=$ROLE_LIMIT per worker role)" ;;
	pg_budget) echo "4. pg_budget" ;;
	pgbouncer+pg_budget) echo "5. PgBouncer in front of pg_budget" ;;
	esac
}

# One initdb, copied for each setup so that every setup starts identical.
say "initdb (template) in $dir"
initdb -D "$dir/template" -A trust -U postgres >/dev/null

psql_as() {	# psql_as PORT DB [psql args]: as postgres
	local port=$1 db=$2
	shift 2
	psql -XqAt -v ON_ERROR_STOP=1 -U postgres -h "$dir" -p "$port" -d "$db" "$@"
}

ai_roles() { local r; for r in $(seq "$AI_ROLES"); do echo "ai$r"; done; }
bench_users="postgres web $(ai_roles | paste -sd' ')"

load_schema() {
	local port=$1 r
	{
		echo "CREATE ROLE web LOGIN;"
		for r in $(ai_roles); do echo "CREATE ROLE $r LOGIN;"; done
		echo "CREATE DATABASE bench;"
	} | psql_as "$port" postgres
	{
		cat <<'SQL'
CREATE TABLE items (id int PRIMARY KEY, body text NOT NULL);
INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 10000) g;
CREATE TABLE jobs (
	id bigint PRIMARY KEY,
	status text NOT NULL DEFAULT 'pending',
	payload text NOT NULL,
	polls int NOT NULL DEFAULT 0,
	last_polled_at timestamptz,
	done_at timestamptz,
	done_by text,
	result text
);
INSERT INTO jobs (id, payload) SELECT g, 'prompt ' || g FROM generate_series(1, 20000) g;
CREATE INDEX jobs_pending ON jobs (id) WHERE status = 'pending';
VACUUM ANALYZE;
GRANT SELECT ON items TO web;
GRANT SELECT, UPDATE ON jobs TO web;
SQL
		for r in $(ai_roles); do echo "GRANT SELECT, UPDATE ON jobs TO $r;"; done
	} | psql_as "$port" bench
}

write_bouncer() {	# write_bouncer DIR PGPORT BOUNCERPORT
	local r
	bench_bouncer_conf "$1" "bench = host=$dir port=$2 dbname=bench" "$3" \
		"admin_users = postgres
max_client_conn = 500
default_pool_size = $WEB_POOL
server_login_retry = 1

[users]
$(for r in $(ai_roles); do echo "$r = max_user_connections=$ROLE_LIMIT"; done)"
}

# Diagnostics only (the table does not use them): what pg_budget saw and did.
dump_pg_budget() {
	local port=$1 raw=$2
	psql -X -P pager=off -U postgres -h "$dir" -p "$port" -d bench >"$raw/pg_budget.txt" 2>&1 <<'SQL' || true
SELECT class, max, effective_max, floor, connected, admitted, rejected, rejected_cap,
	   rejected_reserve, rejected_rate, shed, shed_cancel, shed_terminate
  FROM pg_budget_status ORDER BY priority DESC;
SELECT * FROM pg_budget_lock_stats ORDER BY waits DESC;
SELECT class, action, signal, sum(count) AS events FROM pg_budget_events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT at, class, action, signal, reason FROM pg_budget_events
 WHERE action IN ('limit', 'would limit') ORDER BY at;
SELECT class, wait_event_type, wait_event, category, samples
  FROM pg_budget_wait_stats ORDER BY samples DESC LIMIT 15;
SQL
	psql_as "$port" bench -F, -c "SELECT extract(epoch FROM at), class, connected, active, lock_waiting,
		admitted, rejected, shed, admission_limit FROM pg_budget_history
		WHERE class IN ('web', 'ai') ORDER BY at" >"$raw/history.csv" 2>/dev/null || true
	# the gate and the CPU by class and pseudo-class, a row a second (diagnostics only)
	psql_as "$port" bench -F, -c "SELECT extract(epoch FROM at), class, active, in_progress,
		queued, active_limit, cpu_ms, run_delay_ms FROM pg_budget_history
		ORDER BY at" >"$raw/history-gate.csv" 2>/dev/null || true
	psql_as "$port" bench -F'|' -c "SELECT extract(epoch FROM at), class, pid, action, signal, reason
		FROM pg_budget_events WHERE action <> 'reject' ORDER BY at" >"$raw/events.csv" 2>/dev/null || true
}

n=0
for s in $SETUPS; do
	name=$(setup_name "$s")
	n=$((n + 1))
	pgport=$((base + 2 * n))
	bport=$((base + 2 * n + 1))
	data=$dir/$name/data
	raw=$out/$name
	rm -rf "$dir/$name" "$raw"
	mkdir -p "$dir/$name" "$raw"
	cp -a "$dir/template" "$data"

	preload=""
	case $name in
	pg_budget|pgbouncer+pg_budget)
		preload="shared_preload_libraries = 'pg_budget'
pg_budget.classes = '$PGB_CLASSES'
pg_budget.shedding = on
pg_budget.lock_wait_threshold = '$LOCK_WAIT_THRESHOLD'
${LOCK_STATS_THRESHOLD:+pg_budget.lock_stats_threshold = '$LOCK_STATS_THRESHOLD'}
pg_budget.events_size = 50000
$PGB_EXTRA_CONF" ;;
	esac
	bench_conf "$data" "$pgport" "superuser_reserved_connections = 3
log_line_prefix = '%m [%p] %u '
$preload"
	say "setup $n: $(setup_label "$name") (port $pgport)"
	bench_start "$data" "$raw/server.log"
	load_schema "$pgport"

	case $name in
	connlimit)
		for r in $(ai_roles); do
			psql_as "$pgport" postgres -c "ALTER ROLE $r CONNECTION LIMIT $ROLE_LIMIT"
		done ;;
	pg_budget|pgbouncer+pg_budget)
		psql_as "$pgport" bench -c "$(bench_create_extension)"
		psql_as "$pgport" postgres -c "ALTER ROLE web SET pg_budget.class = 'web'"
		for r in $(ai_roles); do
			psql_as "$pgport" postgres -c "ALTER ROLE $r SET pg_budget.class = 'ai'"
		done ;;
	esac

	client_port=$pgport
	case $name in
	pgbouncer|pgbouncer+pg_budget)
		write_bouncer "$dir/$name/bouncer" "$pgport" "$bport"
		bench_bouncer_start "$dir/$name/bouncer" "$bport"
		client_port=$bport
		# check a login through it
		psql -XqAt -U web -h "$dir" -p "$bport" -d bench -c "SELECT 1" >/dev/null ;;
	esac

	# what a process start and a login cost on this machine, right now
	"$PYTHON" "$here/badday/machine.py" --host "$dir" --port "$pgport" \
		--out "$raw/machine.json" >&2
	"$PYTHON" "$here/badday/driver.py" --setup "$name" --out "$raw" \
		--host "$dir" --port "$client_port" --admin-port "$pgport" \
		--before "$BEFORE_SECONDS" --during "$DURING_SECONDS" --after "$AFTER_SECONDS" \
		--web-clients "$WEB_CLIENTS" --web-rate "$WEB_RATE" --update-share "$UPDATE_SHARE" \
		--hot-jobs "$WEB_HOT_JOBS" --ai-roles "$AI_ROLES" --ai-workers "$AI_WORKERS" \
		--job-min "$JOB_MIN" --job-max "$JOB_MAX" --seed "$SEED" \
		--server-version "$(psql_as "$pgport" postgres -c 'SHOW server_version'), $(pgbouncer --version | head -1)"

	echo "$name $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/loadavg"
	case $name in
	pg_budget|pgbouncer+pg_budget) dump_pg_budget "$pgport" "$raw" ;;
	esac
	psql_as "$pgport" bench -c "SELECT count(*) FILTER (WHERE status = 'done'), max(polls) FROM jobs" \
		>"$raw/jobs_table.txt" || true
	case $name in
	pgbouncer|pgbouncer+pg_budget)
		bench_bouncer_stop "$dir/$name/bouncer/pgbouncer.pid"
		cp "$dir/$name/bouncer/pgbouncer.log" "$dir/$name/bouncer/pgbouncer.ini" "$raw/" 2>/dev/null || true ;;
	esac
	bench_stop "$data"
	cp "$data/postgresql.conf" "$raw/postgresql.conf"
	rm -rf "$dir/$name"
	echo "$n|$name|$(setup_label "$name")" >>"$out/setups"
done

say "report"
"$PYTHON" "$here/badday/report.py" "$out" --note "$NOTE" ${ANALYSIS:+--analysis "$ANALYSIS"} \
	--pg-budget-conf "pg_budget.classes = '$PGB_CLASSES', pg_budget.lock_wait_threshold = $LOCK_WAIT_THRESHOLD${LOCK_STATS_THRESHOLD:+, pg_budget.lock_stats_threshold = $LOCK_STATS_THRESHOLD}${PGB_EXTRA_CONF:+, $PGB_EXTRA_CONF}, pg_budget.events_size = 50000 (keeps every event for the diagnostics), every other setting at its default"
