#!/usr/bin/env bash
# Runs as an unprivileged user with the PostgreSQL binaries in PATH; see
# demo.sh.  $1: a directory to create the throwaway cluster in.
set -eu
dir=$1
AI_WORKERS=${AI_WORKERS:-60}
BURST_SECONDS=${BURST_SECONDS:-6}
LEAD_SECONDS=${LEAD_SECONDS:-2}

mkdir -p "$dir"
export PGHOST=$dir PGDATABASE=postgres
export PGPORT=$(( 20000 + RANDOM % 20000 ))
initdb -D "$dir/data" -A trust -U postgres >/dev/null
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $PGPORT
max_connections = 50
superuser_reserved_connections = 3
shared_preload_libraries = 'pg_budget'
pg_budget.classes = 'web(max=30, reserve=10, priority=100), ai(max=20, priority=10, shed=terminate)'
CONF
pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
trap 'pg_ctl -D "$dir/data" -m fast -w stop >/dev/null' EXIT

psql -XqU postgres <<'SQL'
CREATE EXTENSION pg_budget;
CREATE ROLE web_app LOGIN;
CREATE ROLE ai_worker LOGIN;
ALTER ROLE web_app SET pg_budget.class = 'web';
ALTER ROLE ai_worker SET pg_budget.class = 'ai';
SQL

status() {
	psql -XU postgres -c "SELECT class, max, reserve, priority, connected, admitted, rejected, rejected_cap, rejected_reserve FROM pg_budget_status ORDER BY priority DESC"
}

# One burst: AI_WORKERS ai logins that each hold their connection while they
# "call the model", and two web clients that open a connection per request,
# from LEAD_SECONDS before the burst until LEAD_SECONDS after its last
# worker left.  What the picture (plot-demo.sh) is drawn from goes in the
# run's directory: web.N.log, a line per web request (the time it ended,
# ok or refused), and times (web start, burst start, burst end, web end).
burst() {
	local label=$1 out=$dir/$2 i t0 burst_start burst_end ai_pids=() web_pids=()
	mkdir -p "$out"
	t0=$EPOCHREALTIME
	for i in 1 2; do
		(
			while [ ! -e "$out/stop" ]; do
				if psql -XqAt -U web_app -c "SELECT 1" >/dev/null 2>>"$out/web.err.$i"; then
					echo "$EPOCHREALTIME ok"
				else
					echo "$EPOCHREALTIME refused"
				fi >>"$out/web.$i.log"
			done
		) &
		web_pids+=($!)
	done
	sleep "$LEAD_SECONDS"
	burst_start=$EPOCHREALTIME
	for i in $(seq "$AI_WORKERS"); do
		psql -XqAt -U ai_worker -c "SELECT pg_sleep($BURST_SECONDS)" >"$out/ai.$i" 2>&1 &
		ai_pids+=($!)
	done
	wait "${ai_pids[@]}" || true
	burst_end=$EPOCHREALTIME
	sleep "$LEAD_SECONDS"
	touch "$out/stop"
	wait "${web_pids[@]}"
	echo "$t0 $burst_start $burst_end $EPOCHREALTIME" >"$out/times"
	local ai_ok ai_budget ai_core web_ok web_fail
	ai_budget=$(cat "$out"/ai.* | grep -c 'pg_budget: class "ai"' || true)
	ai_core=$(cat "$out"/ai.* | grep -Ec 'too many clients|remaining connection slots' || true)
	ai_ok=$(( AI_WORKERS - ai_budget - ai_core ))
	web_ok=$(cat "$out"/web.*.log | awk '$2 == "ok"' | wc -l)
	web_fail=$(cat "$out"/web.*.log | awk '$2 == "refused"' | wc -l)
	printf '| %-30s | %9s | %12s | %12s | %9s | %11s |\n' \
		"$label" "$ai_ok" "$ai_budget" "$ai_core" "$web_ok" "$web_fail" >>"$dir/table"
	if [ "$web_fail" -gt 0 ]; then
		echo "first web refusal:"; cat "$out"/web.err.* | grep -m1 FATAL || true
	fi
	grep -hm1 FATAL "$out"/ai.* 2>/dev/null | head -1 | sed 's/^/first ai refusal: /' || true
}

printf '| %-30s | %9s | %12s | %12s | %9s | %11s |\n' setup "ai got in" "ai refused" "ai refused" "web ok" "web refused" >"$dir/table"
printf '| %-30s | %9s | %12s | %12s | %9s | %11s |\n' "" "" "by pg_budget" "by core" "" "" >>"$dir/table"
printf '|%s|%s|%s|%s|%s|%s|\n' -------------------------------- ----------- -------------- -------------- ----------- ------------- >>"$dir/table"

echo "== pg_budget.enabled = off, shedding = off: $AI_WORKERS ai workers burst in while web traffic runs"
psql -XqU postgres -c "ALTER SYSTEM SET pg_budget.enabled = off" -c "ALTER SYSTEM SET pg_budget.shedding = off" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
burst "stock (pg_budget off)" off

echo
echo "== pg_budget.enabled = on, shedding = on: the same burst"
psql -XqU postgres -c "ALTER SYSTEM RESET pg_budget.enabled" -c "ALTER SYSTEM RESET pg_budget.shedding" -c "SELECT pg_reload_conf()" -c "SELECT pg_budget_reset()" >/dev/null
sleep 0.5
echo "-- pg_budget_status before the burst"
status
burst "pg_budget (enabled=on)" on
echo "-- pg_budget_status after the burst"
status

echo "== side by side ($AI_WORKERS ai logins that hold ${BURST_SECONDS}s; web requests from ${LEAD_SECONDS}s before the burst to ${LEAD_SECONDS}s after; max_connections=50)"
cat "$dir/table"

# The picture: web served and refused per second in each run, beside the ai
# sessions connected as pg_budget_history saw them (it samples with
# enforcement off too; a row averages the second before its "at").
sleep 1.5
for run in off on; do
	read -r t0 _ _ t1 <"$dir/$run/times"
	psql -XqAtU postgres -F ' ' >"$dir/$run/ai.history" <<SQL
SELECT round(extract(epoch FROM at)::numeric, 3), connected
  FROM pg_budget_history
 WHERE class = 'ai' AND at BETWEEN to_timestamp($t0) AND to_timestamp($t1) + interval '1 second'
 ORDER BY at;
SQL
done
bash "$(dirname "$0")/plot-demo.sh" -o "$dir/demo.png" \
	-t "$AI_WORKERS ai-worker logins burst in while web opens a connection per request (max_connections = 50)" \
	-b "ai burst: $AI_WORKERS logins" \
	"stock PostgreSQL (pg_budget off)=$dir/off" "with pg_budget (ai capped at 20, web reserved 10)=$dir/on"

# every class and column of pg_budget_history over both bursts
bash "$(dirname "$0")/plot-history.sh" -o "$dir/history.png" -U postgres
