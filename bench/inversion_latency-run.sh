#!/usr/bin/env bash
# See inversion_latency.sh.  Runs as an unprivileged user with the
# PostgreSQL binaries in PATH.  $1: a directory for the throwaway cluster.
#
# One run: an ai session (class ai, shed=terminate, priority 10) updates
# row i and stays idle in its transaction; then a web session (priority
# 100) updates the same row with \timing on.  The UPDATE starts waiting at
# once, so its elapsed time is the time from the inversion starting to the
# blocker being shed (plus the UPDATE itself, well under a millisecond).
set -eu
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-20}
THRESHOLD_MS=${THRESHOLD_MS:-1000}
bench_init "$1"
port=$base

initdb -D "$dir/data" -A trust -U postgres >/dev/null
bench_conf "$dir/data" "$port" "shared_preload_libraries = 'pg_budget'
pg_budget.lock_wait_threshold = ${THRESHOLD_MS}ms
pg_budget.classes = 'web(max=20, priority=100), ai(max=10, priority=10, shed=terminate)'"
bench_start "$dir/data" "$dir/server.log"

q() { psql -XAtq -h "$dir" -p "$port" "$@"; }
q -U postgres -d postgres <<SQL
$(bench_create_extension)
CREATE ROLE w LOGIN;
CREATE ROLE a LOGIN;
ALTER ROLE w SET pg_budget.class = 'web';
ALTER ROLE a SET pg_budget.class = 'ai';
CREATE TABLE jobs (id int PRIMARY KEY, owner text);
INSERT INTO jobs SELECT g, 'nobody' FROM generate_series(1, $RUNS) g;
GRANT SELECT, UPDATE ON jobs TO w, a;
SQL

: >"$dir/runs"
for i in $(seq "$RUNS"); do
	# the holder: psql reading from a fifo, left idle in its transaction
	rm -f "$dir/ai.fifo" "$dir/ai.out"
	mkfifo "$dir/ai.fifo"
	q -U a -d postgres -f "$dir/ai.fifo" >"$dir/ai.out" 2>&1 &
	holder=$!
	exec 3<>"$dir/ai.fifo"	# read-write: does not block on the reader
	echo "SELECT 'pid=' || pg_backend_pid(); BEGIN; UPDATE jobs SET owner = 'ai' WHERE id = $i; SELECT 'held';" >&3
	for _ in $(seq 500); do
		grep -qs '^held$' "$dir/ai.out" && break
		sleep 0.01
	done
	aipid=$(sed -n 's/^pid=//p' "$dir/ai.out")
	[ -n "$aipid" ] && grep -q '^held$' "$dir/ai.out" || { echo "run $i: holder did not start" >&2; exit 1; }

	ms=$(q -U w -d postgres -c "SET statement_timeout = '60s'" -c '\timing on' \
		-c "UPDATE jobs SET owner = 'web' WHERE id = $i" 2>&1 |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)

	exec 3>&-
	wait "$holder" || true
	shed=$(q -U postgres -d postgres -c \
		"SELECT count(*) FROM pg_budget_events WHERE pid = $aipid AND action = 'terminate' AND signal = 'lock'")
	if [ -z "$ms" ] || [ "$shed" != 1 ]; then
		echo "run $i: the UPDATE did not complete through a shed (time '$ms', terminate events $shed)" >&2
		exit 1
	fi
	echo "$i $ms" >>"$dir/runs"
done

awk -v runs="$RUNS" -v thr="$THRESHOLD_MS" "$BENCH_AWK"'
	{ t[NR] = $2 }
	END {
		n = NR
		med = median(t, n)
		printf "## Priority inversion: time from a web UPDATE starting to wait on a row held by an idle-in-transaction ai session to the holder being shed (the UPDATE completing)\n\n"
		printf "pg_budget.lock_wait_threshold = %d ms, default sample_interval and lock_stats_threshold; %d runs, each on a fresh row and a fresh holder.\n\n", thr, n
		print "| runs | lock_wait_threshold | min | median | max | median over threshold |"
		print "|---|---|---|---|---|---|"
		printf "| %d | %d ms | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", n, thr, lo(t, n), med, hi(t, n), med - thr
	}' "$dir/runs"
echo
echo "Each run (ms): $(awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $2 }' "$dir/runs")"
