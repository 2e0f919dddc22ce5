#!/usr/bin/env bash
# See login_cost.sh.  Runs as an unprivileged user with the PostgreSQL
# binaries in PATH.  $1: a directory for the two throwaway clusters.
set -eu
dir=$1
PAIRS=${PAIRS:-15}
RUN_SECONDS=${RUN_SECONDS:-10}
CLIENTS=${CLIENTS:-4}
mkdir -p "$dir"
base=$(( 20000 + RANDOM % 20000 ))

make_cluster() {
	local name=$1 port=$2 preload=$3
	initdb -D "$dir/$name" -A trust -U postgres >/dev/null
	cat >>"$dir/$name/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
max_connections = 100
shared_buffers = 128MB
$preload
CONF
	pg_ctl -D "$dir/$name" -l "$dir/$name.log" -w start >/dev/null
	psql -XqU postgres -h "$dir" -p "$port" -d postgres -c "CREATE ROLE app LOGIN"
}

make_cluster stock "$base" ""
make_cluster budget $((base + 1)) "shared_preload_libraries = 'pg_budget'
pg_budget.classes = 'web(max=80, reserve=20, priority=100), admin(max=5, reserve=5, priority=1000), maint(max=10, priority=50), ai(max=60, priority=10, rate=1000/s, shed=terminate), bulk(max=20, priority=0, shed=terminate)'
${PGB_EXTRA_CONF:-}"
trap 'pg_ctl -D "$dir/stock" -m fast -w stop >/dev/null; pg_ctl -D "$dir/budget" -m fast -w stop >/dev/null' EXIT
psql -XqU postgres -h "$dir" -p $((base + 1)) -d postgres \
	-c "CREATE EXTENSION pg_budget" -c "ALTER ROLE app SET pg_budget.class = 'web'"
echo 'SELECT 1;' >"$dir/select1.sql"

rate() {
	pgbench -n -C -c "$CLIENTS" -j 2 -T "$RUN_SECONDS" -f "$dir/select1.sql" \
		-h "$dir" -p "$1" -U app postgres 2>&1 |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

# warm both up, then measure in alternating order
rate "$base" >/dev/null
rate $((base + 1)) >/dev/null
psql -XqU postgres -h "$dir" -p $((base + 1)) -d postgres -c "SELECT pg_budget_reset()" >/dev/null

: >"$dir/pairs"
for i in $(seq "$PAIRS"); do
	if [ $((i % 2)) = 1 ]; then
		s=$(rate "$base"); b=$(rate $((base + 1)))
	else
		b=$(rate $((base + 1))); s=$(rate "$base")
	fi
	echo "$s $b" >>"$dir/pairs"
done

awk '
	{ s[NR] = $1; b[NR] = $2; r[NR] = $2 / $1 }
	function median(a, n,    i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		n = NR
		printf "## Login rate: pgbench -C, %d clients, %d alternating pairs of %ds runs\n\n", '"$CLIENTS"', n, '"$RUN_SECONDS"'
		print "| pair | stock logins/s | pg_budget logins/s | ratio |"
		print "|---|---|---|---|"
		for (i = 1; i <= n; i++) printf "| %d | %.1f | %.1f | %.3f |\n", i, s[i], b[i], r[i]
		ms = median(s, n); mb = median(b, n); mr = median(r, n)
		printf "\nmedian: stock %.1f logins/s, pg_budget %.1f logins/s, **median ratio %.3f**\n\n", ms, mb, mr
	}' "$dir/pairs"

psql -XqAt -U postgres -h "$dir" -p $((base + 1)) -d postgres <<'SQL'
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
