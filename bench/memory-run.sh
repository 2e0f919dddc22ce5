#!/usr/bin/env bash
# See memory.sh.  Runs as an unprivileged user with the PostgreSQL binaries
# in PATH.  $1: a directory for the clusters; $2: the output directory.
# MEM_CGROUP: a cgroup v1 memory directory this user owns, with the
# children stock and budget, each limited to LIMIT_MB.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init "$1"
out=$2
mkdir -p "$out"
stock_port=$base
budget_port=$((base + 1))
cg=$MEM_CGROUP
classes="web(priority=100), ai(priority=10, shed=cancel)"
limit=$((LIMIT_MB * 1024 * 1024))
mark=$(awk -v l="$limit" -v g="$MEM_GUARD" 'BEGIN { printf "%.0f", l * g }')

# the sampler: the cgroup's use as the worker reads it, every SAMPLE_US µs
cc -O2 -Wall -o "$dir/memsample" "$(dirname "$0")/memsample.c"

port_of() { if [ "$1" = 1 ]; then echo "$stock_port"; else echo "$budget_port"; fi; }
name_of() { if [ "$1" = 1 ]; then echo stock; else echo budget; fi; }
setup_name() {
	case "$1" in
		1) echo "stock PostgreSQL" ;;
		2) echo "pg_budget" ;;
	esac
}

# make_cluster SETUP CONF: initdb, then the postmaster started by a shell
# that first moved itself into the setup's memory cgroup
make_cluster() {
	local s=$1 n port
	n=$(name_of "$s")
	port=$(port_of "$s")
	initdb -D "$dir/$n" -A trust -U postgres >/dev/null
	bench_conf "$dir/$n" "$port" "log_line_prefix = '%n [%p] '
restart_after_crash = on
$2"
	bench_clusters="$bench_clusters $dir/$n"
	(
		echo "$BASHPID" >"$cg/$n/cgroup.procs"
		exec pg_ctl -D "$dir/$n" -l "$dir/$n.log" -w start >/dev/null
	)
	grep -q "^[0-9]*:memory:.*/$n\$" "/proc/$(head -1 "$dir/$n/postmaster.pid")/cgroup" ||
		{ say "the postmaster of $n is not in $cg/$n"; exit 1; }
	pgbench -i -q -s 1 -h "$dir" -p "$port" -U postgres postgres >/dev/null 2>&1
	bench_psql "$port" <<SQL
CREATE ROLE web LOGIN;
CREATE ROLE ai LOGIN;
GRANT SELECT ON pgbench_accounts TO web;
CREATE TABLE bench_stop(flag bool);
INSERT INTO bench_stop VALUES (false);
GRANT SELECT ON bench_stop TO web, ai;
VACUUM ANALYZE pgbench_accounts;
SQL
}

say "making the clusters, each in a memory cgroup of $LIMIT_MB MB under $cg"
make_cluster 1 ""
make_cluster 2 "$(bench_budget_conf "$classes")
pg_budget.memory_guard = $MEM_GUARD"
bench_class_roles "$budget_port" web=web ai=ai
bench_worker_pid "$budget_port" >/dev/null
seen=$(bench_sql "$budget_port" "SELECT limit_bytes FROM pg_budget_memory")
[ "$seen" = "$limit" ] || { say "pg_budget reads a limit of '$seen' bytes, not $limit (see $dir/budget.log)"; exit 1; }

# the hogs: growth without bound, cancellable; none finishes before the limit
hog_sql() {
	case "$1" in
		slow) echo "SET work_mem = '2GB'; SET hash_mem_multiplier = 10;
SELECT count(*) FROM (SELECT g FROM (SELECT generate_series(1, 100000000) g) x GROUP BY g) s;" ;;
		mid) echo "SET work_mem = '2GB'; SET hash_mem_multiplier = 10;
SELECT count(*) FROM (SELECT g FROM generate_series(1, 50000000) g GROUP BY g) s;" ;;
		fast) echo "SET work_mem = '4GB'; SET hash_mem_multiplier = 10;
SELECT count(*) FROM (SELECT md5(g::text) k FROM generate_series(1, 50000000) g GROUP BY 1) s;" ;;
		*) say "RATES: slow, mid or fast, not $1"; exit 1 ;;
	esac
}
hog_text() {
	case "$1" in
		slow) echo "hash aggregate of integers from a generate_series in the select list (the hash table grows by doubling)" ;;
		mid) echo "hash aggregate of integers from generate_series in FROM (its rows kept first in a tuplestore in work_mem)" ;;
		fast) echo "hash aggregate of md5 text keys from generate_series in FROM (its rows kept first in a tuplestore too)" ;;
	esac
}
for h in $RATES; do hog_sql "$h" >/dev/null; done

# a web session: one indexed read, a pause, until bench_stop says so
web_block="\\timing on
SELECT abalance FROM pgbench_accounts WHERE aid = (SELECT 1 + (random() * 99999)::int);
\\timing off
SELECT pg_sleep($WEB_SLEEP);
SELECT flag AS stop FROM bench_stop \\gset
\\if :stop
\\q
\\endif"
# the fitting query, about 100 MB, over and over
fit_block="SELECT count(*) FROM (SELECT g FROM generate_series(1, $FIT_ROWS) g GROUP BY g) s;
SELECT pg_sleep($FIT_SLEEP);
SELECT flag AS stop FROM bench_stop \\gset
\\if :stop
\\q
\\endif"

psql_as() {	# psql_as PORT ROLE [ARGS]: unaligned, SQLSTATEs for errors
	local port=$1 role=$2
	shift 2
	psql -XAtq -v VERBOSITY=sqlstate -h "$dir" -p "$port" -U "$role" -d postgres "$@"
}

wait_ready() {
	local i
	for i in $(seq 600); do
		pg_isready -q -h "$dir" -p "$1" && bench_sql "$1" "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	say "the server on port $1 did not come back"
	exit 1
}

oom_kills() { awk '$1 == "oom_kill" { print $2; f = 1 } END { if (!f) print 0 }' "$cg/$1/memory.oom_control"; }

# one run: prints the run's line (see bench_every_run below)
run_one() {
	local s=$1 h=$2 r=$3 port n run log off oom0 t_start t_hog0 samp i
	local web_pids="" fit_pid hog_pid poll_pid rc
	port=$(port_of "$s")
	n=$(name_of "$s")
	run=$dir/run-$n-$h-$r
	log=$dir/$n.log
	rm -rf "$run"
	mkdir -p "$run"
	wait_ready "$port"
	bench_sql "$port" "UPDATE bench_stop SET flag = false" >/dev/null
	sleep 1
	off=$(stat -c %s "$log")
	oom0=$(oom_kills "$n")
	t_start=$(date +%s.%N)
	"$dir/memsample" "$cg/$n" "$SAMPLE_US" >"$run/mem.txt" &
	samp=$!
	for i in $(seq "$WEB_CLIENTS"); do
		(
			rc=0
			(yes "$web_block" 2>/dev/null | psql_as "$port" web) >"$run/web-$i.out" 2>&1 || rc=$?
			echo "$rc" >"$run/web-$i.rc"
		) &
		web_pids="$web_pids $!"
	done
	(
		rc=0
		(yes "$fit_block" 2>/dev/null | psql_as "$port" ai -c "SET work_mem = '512MB'" -f -) >"$run/fit.out" 2>&1 || rc=$?
		echo "$rc" >"$run/fit.rc"
	) &
	fit_pid=$!
	sleep "$WARM_SECONDS"
	{
		echo "SET statement_timeout = '${HOG_TIMEOUT}s';"
		echo "SELECT 'pid ' || pg_backend_pid();"
		hog_sql "$h"
		echo "SET statement_timeout = 0;"
		echo "SELECT pg_sleep($AFTER_SECONDS);"
		echo "SELECT 'alive';"
	} >"$run/hog.sql"
	t_hog0=$(date +%s.%N)
	psql_as "$port" ai -f "$run/hog.sql" >"$run/hog.out" 2>&1 &
	hog_pid=$!
	# the hog backend's private memory (statm: resident less shared pages),
	# every 100 ms while it lives
	(
		p=""
		for i in $(seq 100); do
			p=$(sed -n 's/^pid //p' "$run/hog.out" 2>/dev/null)
			[ -n "$p" ] && break
			sleep 0.05
		done
		[ -n "$p" ] || exit 0
		while read -r _ res shr _ 2>/dev/null <"/proc/$p/statm"; do
			echo "$(date +%s.%N) $(( (res - shr) * $(getconf PAGESIZE) ))"
			sleep 0.1
		done
	) >"$run/hogmem.txt" 2>/dev/null &
	poll_pid=$!
	rc=0
	wait "$hog_pid" || rc=$?
	echo "$rc" >"$run/hog.rc"
	wait "$poll_pid" || true
	wait_ready "$port"
	bench_sql "$port" "UPDATE bench_stop SET flag = true" >/dev/null
	for i in $web_pids $fit_pid; do wait "$i" || true; done
	sleep 0.3
	kill -TERM "$samp" 2>/dev/null || true
	wait "$samp" || true
	tail -c +$((off + 1)) "$log" >"$run/server.log"

	# what happened
	local hogpid outcome alive crashes ooms lost=0 errs=0 fit_ok fit_cancel fit_lost=0 tc events="-" p99
	hogpid=$(sed -n 's/^pid //p' "$run/hog.out")
	if grep -q 'ERROR:  53200' "$run/hog.out"; then
		outcome=cancelled
	elif [ -n "$hogpid" ] && grep -q "(PID $hogpid) was terminated by signal 9" "$run/server.log"; then
		outcome=oom-killed
	elif grep -q 'ERROR:  57014' "$run/hog.out"; then
		outcome=timeout
	elif grep -q '^[0-9][0-9]*$' "$run/hog.out"; then
		outcome=done
	else
		outcome=other
	fi
	alive=$(grep -c '^alive$' "$run/hog.out" || true)
	crashes=$(grep -c 'all server processes terminated; reinitializing' "$run/server.log" || true)
	ooms=$(( $(oom_kills "$n") - oom0 ))
	for i in $(seq "$WEB_CLIENTS"); do
		[ "$(cat "$run/web-$i.rc")" = 0 ] || lost=$((lost + 1))
		errs=$((errs + $(grep -cE '(ERROR|FATAL):  ' "$run/web-$i.out" || true)))
	done
	fit_ok=$(grep -cx "$FIT_ROWS" "$run/fit.out" || true)
	fit_cancel=$(grep -c 'ERROR:  53200' "$run/fit.out" || true)
	[ "$(cat "$run/fit.rc")" = 0 ] || fit_lost=1
	sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$run"/web-*.out >"$run/web.lat"
	p99=$(bench_pct "$run/web.lat" 99)
	# the worker's LOG line of the hog's cancel: %n, epoch with milliseconds
	tc=$(awk -v p="$hogpid" 'index($0, "pg_budget: cancelled pid " p " ") { print $1; exit }' "$run/server.log")
	[ -n "$tc" ] || tc=-
	if [ "$s" = 2 ]; then
		events=$(bench_sql "$port" "SELECT count(*) FROM pg_budget_events
			WHERE signal = 'memory' AND action = 'cancel' AND at >= to_timestamp($t_start)")
	fi
	# from the samples: growth rate (half the mark to the mark, or to the
	# peak), peak, the first reading past the mark and the first back under
	# it, split at the LOG line; the hog backend's last private memory
	local held
	held=$(awk 'END { if (NR) printf "%.0f", $2 / 1048576; else print "-" }' "$run/hogmem.txt")
	awk -v t0="$t_hog0" -v mark="$mark" -v tc="$tc" -v held="$held" -v cancelled="$([ "$outcome" = cancelled ] && echo 1 || echo 0)" '
		function ms(x) { return sprintf("%.1f", x * 1000) }
		$1 < t0 { prev = $1; next }
		{
			if ($2 > peak) { peak = $2; tp = $1 }
			if (ta == "" && $2 >= mark / 2) { ta = $1; ua = $2 }
			if (tx == "" && $2 >= mark) { tx = $1; ux = $2; gap = $1 - prev }
			if (tx != "" && tr == "" && $1 > tx && $2 < mark) tr = $1
			prev = $1
		}
		END {
			rate = "-"
			if (ta != "" && tx != "" && tx > ta) rate = sprintf("%.0f", (ux - ua) / (tx - ta) / 1048576)
			else if (ta != "" && tp > ta) rate = sprintf("%.0f", (peak - ua) / (tp - ta) / 1048576)
			a = "-"; b = "-"; c = "-"; g = "-"; m = "-"
			if (cancelled == 1 && tx != "" && tr != "") {
				c = ms(tr - tx)
				g = ms(gap)
				m = held
				if (tc != "-") { a = ms(tc - tx); b = ms(tr - tc) }
			}
			printf("%s %.0f %s %s %s %s %s", rate, peak / 1048576, a, b, c, m, g)
		}' "$run/mem.txt" >"$run/analysis"
	echo "$lost $errs $p99 $crashes $ooms $outcome $alive $fit_ok $fit_cancel $fit_lost $(cat "$run/analysis") $events"
}

: >"$out/runs.txt"
for r in $(seq "$ROUNDS"); do
	for h in $RATES; do
		for s in $SETUPS; do
			line=$(run_one "$s" "$h" "$r")
			echo "$s $h $r $line" >>"$out/runs.txt"
			say "round $r, $h hog, $(setup_name "$s"): $line"
		done
	done
done

# ---- the report --------------------------------------------------------------

runs=$out/runs.txt
# sum / count / median / list of a column over the runs of SETUP and RATE ("" : any)
sel() { awk -v s="$1" -v h="$2" '($1 == s || s == "") && ($2 == h || h == "")' "$runs"; }
sumc() { sel "$1" "$2" | awk -v c="$3" '$c != "-" { x += $c } END { print x + 0 }'; }
cntv() { sel "$1" "$2" | awk -v c="$3" -v v="$4" '$c == v { x++ } END { print x + 0 }'; }
nrun() { sel "$1" "$2" | wc -l; }
colv() { sel "$1" "$2" | awk -v c="$3" '$c != "-" { print $c }'; }
medc() { colv "$@" >"$dir/col"; [ -s "$dir/col" ] && bench_pct "$dir/col" 50 || echo "-"; }
maxc() { colv "$@" >"$dir/col"; [ -s "$dir/col" ] && bench_pct "$dir/col" 100 || echo "-"; }

{
	echo "# Memory by class: a growing query beside web sessions (bench/memory.sh)"
	echo
	echo "Command (as root; every setting in force): \`ROUNDS=$ROUNDS RATES=\"$RATES\" LIMIT_MB=$LIMIT_MB MEM_GUARD=$MEM_GUARD WEB_CLIENTS=$WEB_CLIENTS WEB_SLEEP=$WEB_SLEEP FIT_ROWS=$FIT_ROWS FIT_SLEEP=$FIT_SLEEP WARM_SECONDS=$WARM_SECONDS HOG_TIMEOUT=$HOG_TIMEOUT AFTER_SECONDS=$AFTER_SECONDS SAMPLE_US=$SAMPLE_US bash bench/memory.sh\`."
	echo
	echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, kernel $(uname -r), $(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo) GB of memory, $(awk '/^SwapTotal:/ { print ($2 > 0 ? "swap " $2 " kB" : "no swap") }' /proc/meminfo); $(postgres -V)."
	echo "Each server in a cgroup v1 memory cgroup of its own, \`memory.limit_in_bytes\` = $LIMIT_MB MB; shared_buffers 128MB; restart_after_crash on."
	echo "pg_budget: \`pg_budget.classes = '$classes'\`, pg_budget.memory_guard = $MEM_GUARD (the mark: $(awk -v m="$mark" 'BEGIN { printf "%.1f", m / 1048576 }') MB), pg_budget.sample_interval 10 ms (its default); roles web and ai in their classes. Stock: the same roles, no library."
	echo "Web: $WEB_CLIENTS kept psql sessions (role web), each reading one random pgbench_accounts row (scale 1) then sleeping $WEB_SLEEP s, until the run ends."
	echo "AI (role ai): a fitting query, \`SELECT count(*) FROM (SELECT g FROM generate_series(1, $FIT_ROWS) g GROUP BY g) s\` at work_mem 512MB (about 100 MB), run over and over with $FIT_SLEEP s between in a kept session; after ${WARM_SECONDS} s the hog, in another session, with statement_timeout ${HOG_TIMEOUT}s, then \`SELECT pg_sleep($AFTER_SECONDS)\` and \`SELECT 'alive'\` in that session."
	echo "The hogs:"
	echo
	for h in $RATES; do
		echo "- $h: $(hog_text "$h"): \`$(hog_sql "$h" | tr '\n' ' ' | sed 's/ *$//')\`"
	done
	echo
	echo "A sampler (bench/memsample.c) read the server's cgroup every $SAMPLE_US µs as the worker does: memory.usage_in_bytes less memory.stat's total_inactive_file. Growth: MB/s from half the mark to the mark (or to the peak). Reaction: from the sampler's first reading at or past the mark to its first reading back under it, split at the worker's LOG line \"pg_budget: cancelled pid N of class ...\" (log_line_prefix %n: milliseconds). The sampler's gap: the time between its reading past the mark and the one before it; the real crossing lies within it (a long gap: the sampler was not scheduled, or its read of memory.stat waited), so the reaction's start is uncertain by that much. The hog's memory held after: its backend's private memory (statm, resident less shared) at the end of its pg_sleep."
	echo "$ROUNDS rounds; in each, every hog against stock then pg_budget. The machine is shared with other work, which shows in the growth rates."
	echo
	echo "| setup | hog | runs | growth MB/s (median) | peak MB (median) | web sessions lost | web errors | web read p99 ms (median) | crash restarts | OOM kills | hogs cancelled (53200) | hogs OOM-killed | hogs timed out or other | hog session usable after | fitting queries done | fitting queries cancelled | guard cancels (events) |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for h in $RATES; do
		for s in $SETUPS; do
			k=$(nrun "$s" "$h")
			other=$(( k - $(cntv "$s" "$h" 9 cancelled) - $(cntv "$s" "$h" 9 oom-killed) ))
			ev="-"; [ "$s" = 2 ] && ev=$(sumc "$s" "$h" 21)
			echo "| $(setup_name "$s") | $h | $k | $(medc "$s" "$h" 14) | $(medc "$s" "$h" 15) | $(sumc "$s" "$h" 4) of $((k * WEB_CLIENTS)) | $(sumc "$s" "$h" 5) | $(medc "$s" "$h" 6) | $(sumc "$s" "$h" 7) | $(sumc "$s" "$h" 8) | $(cntv "$s" "$h" 9 cancelled) | $(cntv "$s" "$h" 9 oom-killed) | $other | $(sumc "$s" "$h" 10) of $k | $(sumc "$s" "$h" 11) | $(sumc "$s" "$h" 12) | $ev |"
		done
	done
	echo
	echo "pg_budget's reaction, over its runs whose hog it cancelled and whose crossing the sampler saw (ms; the sampler reads every ~$((SAMPLE_US / 1000)) ms, the LOG line has millisecond resolution; a hog cancelled on a reading of the worker's past the mark that no reading of the sampler's reached is left out):"
	echo
	echo "| hog | cancels seen past the mark | mark to back under it, p50 | max | mark to LOG line, p50 | max | LOG line to back under the mark, p50 | max | sampler's gap before its reading past the mark, p50 | max | hog's private memory after, MB (median) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for h in $RATES ""; do
		k=$(colv 2 "$h" 18 | wc -l)
		echo "| ${h:-all} | $k | $(medc 2 "$h" 18) | $(maxc 2 "$h" 18) | $(medc 2 "$h" 16) | $(maxc 2 "$h" 16) | $(medc 2 "$h" 17) | $(maxc 2 "$h" 17) | $(medc 2 "$h" 20) | $(maxc 2 "$h" 20) | $(medc 2 "$h" 19) |"
	done
	echo
	nb=$(nrun 2 "")
	lost_b=$(( $(sumc 2 "" 4) + $(sumc 2 "" 7) ))
	react=$(medc 2 "" 18)
	fitc=$(( $(sumc 2 "" 12) + $(sumc 2 "" 5) ))
	extra=$(( $(sumc 2 "" 21) - $(cntv 2 "" 9 cancelled) ))
	echo "| goal | measured | verdict |"
	echo "|---|---:|---|"
	echo "| pg_budget: 0 web sessions lost and 0 crash restarts in every run ($nb runs) | $(sumc 2 "" 4) lost, $(sumc 2 "" 7) restarts | $([ "$nb" -gt 0 ] && [ "$lost_b" = 0 ] && echo met || echo missed) |"
	echo "| pg_budget: reaction within one tick (10 ms), p50 | $react ms | $(bench_verdict "$([ "$react" = - ] && echo nan || echo "$react")" "<=" 10) |"
	echo "| pg_budget: no query that fits cancelled (fitting queries and web reads with 53200, guard cancels beyond the hogs') | $fitc, $extra | $([ "$fitc" = 0 ] && [ "$extra" -le 0 ] && echo met || echo missed) |"
	echo "| stock, for reference: web sessions lost / crash restarts | $(sumc 1 "" 4) of $(( $(nrun 1 "") * WEB_CLIENTS )), $(sumc 1 "" 7) | - |"
	echo
	bench_every_run "$runs" "setup (1 stock, 2 pg_budget), hog, round, web sessions lost, web errors, web read p99 ms, crash restarts, OOM kills, hog outcome, hog session usable after, fitting queries done, fitting queries cancelled, fitting session lost, growth MB/s, peak MB, mark to LOG ms, LOG to under the mark ms, reaction ms, hog's private MB after, sampler's gap before the mark ms, guard cancels"
} >"$out/memory.md"
