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

make_cluster stock "$base" ""
make_cluster budget $((base + 1)) "shared_preload_libraries = 'pg_budget'
pg_budget.classes = 'web(max=80, reserve=20, priority=100), admin(max=5, reserve=5, priority=1000), maint(max=10, priority=50), ai(max=60, priority=10, rate=1000/s, shed=terminate), bulk(max=20, priority=0, shed=terminate)'
${PGB_EXTRA_CONF:-}"
bench_class_roles $((base + 1)) app=web
echo 'SELECT 1;' >"$dir/select1.sql"

rate() { bench_tps "$1" app -C -c "$CLIENTS" -j 2 -T "$RUN_SECONDS" -f "$dir/select1.sql"; }

# warm both up, then measure in alternating order
rate "$base" >/dev/null
rate $((base + 1)) >/dev/null
bench_sql $((base + 1)) "SELECT pg_budget_reset()" >/dev/null
bench_pairs "$PAIRS" "$dir/pairs" "rate $base" "rate $((base + 1))"

awk "$BENCH_AWK"'
	{ s[NR] = $1; b[NR] = $2; r[NR] = $2 / $1 }
	END {
		n = NR
		printf "## Login rate: pgbench -C, %d clients, %d alternating pairs of %ds runs\n\n", '"$CLIENTS"', n, '"$RUN_SECONDS"'
		print "| pair | stock logins/s | pg_budget logins/s | ratio |"
		print "|---|---|---|---|"
		for (i = 1; i <= n; i++) printf "| %d | %.1f | %.1f | %.3f |\n", i, s[i], b[i], r[i]
		ms = median(s, n); mb = median(b, n); mr = median(r, n)
		printf "\nmedian: stock %.1f logins/s, pg_budget %.1f logins/s, **median ratio %.3f**\n\n", ms, mb, mr
	}' "$dir/pairs"

bench_psql $((base + 1)) <<'SQL'
WITH h AS (
	SELECT lower_us, upper_us, logins,
		   sum(logins) OVER (ORDER BY lower_us) AS cum,
		   sum(logins) OVER () AS total
	  FROM pg_budget_admission_histogram()
)
SELECT format(E'## Admission check inside the backend (pg_budget_admission_histogram, 0.1 us buckets)\n\n'
			  || E'logins judged: %s; median %s us; p90 %s us; p99 %s us; max bucket %s us\n',
			  max(total),
			  (SELECT min(upper_us) FROM h WHERE cum >= 0.50 * total),
			  (SELECT min(upper_us) FROM h WHERE cum >= 0.90 * total),
			  (SELECT min(upper_us) FROM h WHERE cum >= 0.99 * total),
			  max(upper_us))
  FROM h;
SQL
