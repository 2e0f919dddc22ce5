#!/usr/bin/env bash
# See login_cost.sh.  Runs as an unprivileged user with the PostgreSQL
# binaries in PATH.  $1: a directory for the two throwaway clusters.
set -eu
. "$(dirname "$0")/lib.sh"
PAIRS=${PAIRS:-15}
RUN_SECONDS=${RUN_SECONDS:-10}
CLIENTS=${CLIENTS:-4}
# SELECT_ONLY=1: pgbench -S on pgbench -i's tables (scale 1), as a new user
# tries it, instead of SELECT 1
SELECT_ONLY=${SELECT_ONLY:-0}
# CLASSES: the class table of the pg_budget server (default: five classes)
CLASSES=${CLASSES:-'web(max=80, reserve=20, priority=100), admin(max=5, reserve=5, priority=1000), maint(max=10, priority=50), ai(max=60, priority=10, rate=1000/s, shed=terminate), bulk(max=20, priority=0, shed=terminate)'}
bench_init "$1"

make_cluster() {
	bench_cluster "$1" "$2" "$3"
	bench_sql "$2" "CREATE ROLE app LOGIN"
	if [ "$SELECT_ONLY" = 1 ]; then
		pgbench -i -s 1 -q -h "$dir" -p "$2" -U postgres postgres >/dev/null 2>&1
		bench_sql "$2" "GRANT SELECT ON ALL TABLES IN SCHEMA public TO app" >/dev/null
	fi
}

budget_conf="shared_preload_libraries = 'pg_budget'
pg_budget.classes = '$CLASSES'
${PGB_EXTRA_CONF:-}"
# RULES=N (1..10): pg_budget against pg_budget with the first N of these
# rules, none of which matches pgbench's logins (a member_of rule, the
# last, looks up a role that exists and its members, as a real one would)
RULES=${RULES:-0}
rules_all='application_name=celery* => ai, application_name=sidekiq* => ai, application_name=rq:* => ai, application_name=*-batch => bulk, database=analytics => bulk, database=warehouse => bulk, client_addr=10.0.5.0/24 => bulk, client_addr=192.168.0.0/16 => bulk, client_addr=fd00::/8 => bulk, member_of=analysts => bulk'
if [ "$RULES" -gt 0 ]; then
	rules=$(echo "$rules_all" | tr -s ' ' | awk -v n="$RULES" -F', ' '{ for (i = 1; i <= n && i <= NF; i++) printf "%s%s", (i > 1 ? ", " : ""), $i }')
	a_name="no rules"
	b_name="$RULES rules"
	make_cluster stock "$base" "$budget_conf"
	bench_class_roles "$base" app=web
	make_cluster budget $((base + 1)) "$budget_conf
pg_budget.rules = '$rules'"
	bench_sql $((base + 1)) "CREATE ROLE analysts" >/dev/null
else
	a_name="stock"
	b_name="pg_budget"
	make_cluster stock "$base" ""
	make_cluster budget $((base + 1)) "$budget_conf"
fi
bench_class_roles $((base + 1)) app=web
echo 'SELECT 1;' >"$dir/select1.sql"
script=(-f "$dir/select1.sql")
[ "$SELECT_ONLY" = 1 ] && script=(-S)

# cputime PORT: user and system CPU ms of the postmaster and its children
# that have exited (every backend of a run, once reaped): /proc's utime,
# stime, cutime and cstime, in clock ticks
cputime() {
	local pm stat
	pm=$(head -1 "$(bench_sql "$1" "SHOW data_directory")/postmaster.pid")
	stat=$(cat "/proc/$pm/stat")
	stat=${stat##*) }
	set -- $stat
	echo $(( (${12} + ${14}) * 1000 / $(getconf CLK_TCK) )) $(( (${13} + ${15}) * 1000 / $(getconf CLK_TCK) ))
}

# rate PORT: one run's logins a second; its server's CPU per login (user,
# system, ms) appended to $dir/cpu.PORT
rate() {
	local out t n u0 s0 u1 s1
	read -r u0 s0 <<<"$(cputime "$1")"
	out=$(pgbench -n -C -c "$CLIENTS" -j 2 -T "$RUN_SECONDS" "${script[@]}" -h "$dir" -p "$1" -U app postgres 2>&1) ||
		{ echo "$out" >&2; return 1; }
	sleep 0.2	# the last backends reaped
	read -r u1 s1 <<<"$(cputime "$1")"
	t=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
	n=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
	[ -n "$t" ] && [ -n "$n" ] && [ "$n" -gt 0 ] || { echo "$out" >&2; return 1; }
	awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v n="$n" 'BEGIN { printf "%.3f %.3f\n", u / n, s / n }' >>"$dir/cpu.$1"
	echo "$t"
}

# TOGETHER=1: each pair's two runs at the same time, CLIENTS clients
# each, instead of one after the other.  The two servers then share each
# moment of a noisy machine (its load, its frequency, the other jobs'
# bursts), which alternating runs only average out over many pairs; the
# two compete for the CPUs on equal terms, so what one's login costs more
# the other gets.  The one started first changes from pair to pair.
TOGETHER=${TOGETHER:-0}
together_pairs() {
	local i p ports pids
	: >"$dir/pairs"
	for i in $(seq "$PAIRS"); do
		ports="$base $((base + 1))"
		[ $((i % 2)) = 1 ] || ports="$((base + 1)) $base"
		pids=""
		for p in $ports; do
			rate "$p" >"$dir/rate.$p" &
			pids="$pids $!"
		done
		for p in $pids; do wait "$p"; done
		echo "$(cat "$dir/rate.$base") $(cat "$dir/rate.$((base + 1))")" >>"$dir/pairs"
	done
}

# warm both up, then measure in alternating order
rate "$base" >/dev/null
rate $((base + 1)) >/dev/null
bench_sql $((base + 1)) "SELECT pg_budget_reset()" >/dev/null
[ "$RULES" -gt 0 ] && bench_sql "$base" "SELECT pg_budget_reset()" >/dev/null
# the worker's CPU time over the pairs (schedstat: ns on CPU)
worker_ns() { local p; p=$(bench_worker_pid "$1") && awk '{ print $1 }' "/proc/$p/schedstat"; }
: >"$dir/cpu.$base"
: >"$dir/cpu.$((base + 1))"
w0=$(worker_ns $((base + 1)))
t0=$(date +%s.%N)
if [ "$TOGETHER" = 1 ]; then
	together_pairs
else
	bench_pairs "$PAIRS" "$dir/pairs" "rate $base" "rate $((base + 1))"
fi
w1=$(worker_ns $((base + 1)))
t1=$(date +%s.%N)

awk "$BENCH_AWK"'
	{ s[NR] = $1; b[NR] = $2; r[NR] = $2 / $1 }
	END {
		n = NR
		if ('"$TOGETHER"' == 1)
			printf "## Login rate: pgbench -C%s, %d clients against each server, %d pairs of %ds runs side by side\n\n", ('"$SELECT_ONLY"' == 1 ? " -S" : ""), '"$CLIENTS"', n, '"$RUN_SECONDS"'
		else
			printf "## Login rate: pgbench -C%s, %d clients, %d alternating pairs of %ds runs\n\n", ('"$SELECT_ONLY"' == 1 ? " -S" : ""), '"$CLIENTS"', n, '"$RUN_SECONDS"'
		if ('"$RULES"' > 0) printf "pg_budget.rules of the second: `%s`\n\n", "'"${rules:-}"'"
		print "| pair | " A " logins/s | " B " logins/s | ratio |"
		print "|---|---|---|---|"
		for (i = 1; i <= n; i++) printf "| %d | %.1f | %.1f | %.3f |\n", i, s[i], b[i], r[i]
		ms = median(s, n); mb = median(b, n); mr = median(r, n)
		printf "\nmedian: " A " %.1f logins/s, " B " %.1f logins/s, **median ratio %.3f**\n\n", ms, mb, mr
	}' A="$a_name" B="$b_name" "$dir/pairs"

# CPU per login: less noisy than the rate on a shared machine, it says
# whether a login costs more work or only waits longer
paste -d ' ' "$dir/cpu.$base" "$dir/cpu.$((base + 1))" | awk "$BENCH_AWK"'
	{ au[NR] = $1; as[NR] = $2; bu[NR] = $3; bs[NR] = $4; r[NR] = ($3 + $4) / ($1 + $2) }
	END {
		n = NR
		print "## Server CPU per login (postmaster and its backends, /proc utime+stime of exited children)\n"
		print "| | user ms/login | system ms/login |"
		print "|---|---|---|"
		printf "| " A " | %.3f | %.3f |\n", median(au, n), median(as, n)
		printf "| " B " | %.3f | %.3f |\n", median(bu, n), median(bs, n)
		printf "\nmedians of %d runs each; **median ratio of CPU per login %.3f** (" B " / " A ")\n\n", n, median(r, n)
	}' A="$a_name" B="$b_name"
awk -v w0="$w0" -v w1="$w1" -v t0="$t0" -v t1="$t1" 'BEGIN {
	printf "## The pg_budget worker of the second server\n\nCPU %.2f ms a second over the pairs (schedstat)\n\n", (w1 - w0) / 1e6 / (t1 - t0)
}'

# histogram PORT LABEL: the time judging each login, from inside
histogram() {
	bench_psql "$1" -v label="$2" <<'SQL'
WITH h AS (
	SELECT lower_us, upper_us, logins,
		   sum(logins) OVER (ORDER BY lower_us) AS cum,
		   sum(logins) OVER () AS total
	  FROM pg_budget_admission_histogram()
)
SELECT format(E'## Admission check inside the backend (pg_budget_admission_histogram, 0.1 us buckets)%s\n\n'
			  || E'logins judged: %s; median %s us; p90 %s us; p99 %s us; max bucket %s us\n',
			  :'label', max(total),
			  (SELECT min(upper_us) FROM h WHERE cum >= 0.50 * total),
			  (SELECT min(upper_us) FROM h WHERE cum >= 0.90 * total),
			  (SELECT min(upper_us) FROM h WHERE cum >= 0.99 * total),
			  max(upper_us))
  FROM h;
SQL
}
if [ "$RULES" -gt 0 ]; then
	histogram "$base" ", no rules"
	histogram $((base + 1)) ", $RULES rules"
else
	histogram $((base + 1)) ""
fi
