#!/usr/bin/env bash
# See login_cost.sh.  Runs as an unprivileged user with the PostgreSQL
# binaries in PATH.  $1: a directory for the two throwaway clusters.
set -eu
. "$(dirname "$0")/lib.sh"
PAIRS=${PAIRS:-15}
RUN_SECONDS=${RUN_SECONDS:-10}
CLIENTS=${CLIENTS:-4}
bench_init "$1"

make_cluster() {
	bench_cluster "$1" "$2" "$3"
	bench_sql "$2" "CREATE ROLE app LOGIN"
}

budget_conf="shared_preload_libraries = 'pg_budget'
pg_budget.classes = 'web(max=80, reserve=20, priority=100), admin(max=5, reserve=5, priority=1000), maint(max=10, priority=50), ai(max=60, priority=10, rate=1000/s, shed=terminate), bulk(max=20, priority=0, shed=terminate)'
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

rate() { bench_tps "$1" app -C -c "$CLIENTS" -j 2 -T "$RUN_SECONDS" -f "$dir/select1.sql"; }

# warm both up, then measure in alternating order
rate "$base" >/dev/null
rate $((base + 1)) >/dev/null
bench_sql $((base + 1)) "SELECT pg_budget_reset()" >/dev/null
[ "$RULES" -gt 0 ] && bench_sql "$base" "SELECT pg_budget_reset()" >/dev/null
bench_pairs "$PAIRS" "$dir/pairs" "rate $base" "rate $((base + 1))"

awk "$BENCH_AWK"'
	{ s[NR] = $1; b[NR] = $2; r[NR] = $2 / $1 }
	END {
		n = NR
		printf "## Login rate: pgbench -C, %d clients, %d alternating pairs of %ds runs\n\n", '"$CLIENTS"', n, '"$RUN_SECONDS"'
		if ('"$RULES"' > 0) printf "pg_budget.rules of the second: `%s`\n\n", "'"${rules:-}"'"
		print "| pair | " A " logins/s | " B " logins/s | ratio |"
		print "|---|---|---|---|"
		for (i = 1; i <= n; i++) printf "| %d | %.1f | %.1f | %.3f |\n", i, s[i], b[i], r[i]
		ms = median(s, n); mb = median(b, n); mr = median(r, n)
		printf "\nmedian: " A " %.1f logins/s, " B " %.1f logins/s, **median ratio %.3f**\n\n", ms, mb, mr
	}' A="$a_name" B="$b_name" "$dir/pairs"

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
