# The bench harnesses' library, sourced by bench/*.sh (as root: packages,
# build, a copy of the tree for the unprivileged user, results) and by
# bench/*-run.sh (as that user, the server binaries first in PATH:
# throwaway clusters and pgbouncers, pgbench runs, medians and ratios).
# Everything started here is stopped by data directory or pid file when
# the script ends, also when it is interrupted.
#
# PGB_BENCH_PORT: the first port of a run (each harness takes a few from
# there); unset, a random one in 20000-39999.
# PGB_BENCH_LIB: a directory; when set, pg_budget.so is built and copied
# there instead of installed, and every cluster loads it from there
# (dynamic_library_path), so that two trees can be measured on one machine
# without writing the server's library directory.  The SQL scripts are the
# installed ones; their functions name '$libdir/pg_budget', which a backend
# would load as a second copy of the library, the installed build, beside
# the preloaded one (with another build's shared-memory layout: wrong rows,
# or a crash): bench_create_extension points them at the same file.

# ---- the wrapper, as root ------------------------------------------------

# bench_prepare [PACKAGE...]: install the Debian packages (the base set and
# these), build and install pg_budget, and make the unprivileged user's
# copy of the tree ($work), removed at exit.
bench_prepare() {
	PGB_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	. "$PGB_TOP/scripts/common.sh"
	pgb_install_deps "$@"
	if [ -n "${PGB_BENCH_LIB:-}" ]; then
		make -s -C "$PGB_TOP" PG_CONFIG="$PG_CONFIG" COPT='-Wall -Wextra -Werror' || exit 1
		mkdir -p "$PGB_BENCH_LIB"
		install -m 0755 "$PGB_TOP/pg_budget.so" "$PGB_BENCH_LIB/pg_budget.so"
		chmod a+rx "$PGB_BENCH_LIB"
		echo "== pg_budget.so loaded from $PGB_BENCH_LIB"
	else
		pgb_build_install
	fi
	work=$(pgb_user_copy)
	trap bench_work_down EXIT
	trap 'exit 1' INT TERM
}

# bench_work_down: at exit, stop whatever server or pgbouncer of the run is
# still up (the run's own clean-up may not have had its turn: a TERM to the
# whole process group reaches both shells at once), then remove $work.  A
# data directory removed under a running postmaster would leave it running.
bench_work_down() {
	local f
	[ -n "${work:-}" ] && [ -d "$work" ] || return 0
	for f in $(find "$work" -maxdepth 5 -name pgbouncer.pid 2>/dev/null); do
		kill "$(head -1 "$f")" 2>/dev/null || true
	done
	for f in $(find "$work" -maxdepth 5 -name postmaster.pid 2>/dev/null); do
		pgb_as_user pg_ctl -D "$(dirname "$f")" -m immediate -w stop >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}

# bench_run NAME [VARIABLE=VALUE...]: bench/NAME-run.sh as the unprivileged
# user with these variables; its clusters go in $work/bench-run, the files
# it writes (if any) in $work/out.
bench_run() {
	local name=$1
	shift
	pgb_as_user env PGB_BENCH_LIB="${PGB_BENCH_LIB:-}" "$@" bash "$work/bench/$name-run.sh" "$work/bench-run" "$work/out"
}

# bench_report NAME [VARIABLE=VALUE...]: bench_run, its report (stdout)
# also written to OUT=file.
bench_report() {
	bench_run "$@" | tee "${OUT:-/dev/null}"
}

# bench_results NAME: where the report goes ($RESULTS): bench/results, or
# with SMOKE=1 bench/out/NAME-smoke, never the published results.
bench_results() {
	if [ "${SMOKE:-0}" = 1 ]; then
		RESULTS=${RESULTS:-$PGB_TOP/bench/out/$1-smoke}
	fi
	RESULTS=${RESULTS:-$PGB_TOP/bench/results}
	mkdir -p "$RESULTS"
}

# bench_publish NAME: $work/out/NAME.md (and NAME.png, if drawn) to
# $RESULTS, then the report to stdout.
bench_publish() {
	cp "$work/out/$1.md" "$RESULTS/$1.md"
	cp "$work/out/$1.png" "$RESULTS/$1.png" 2>/dev/null || true
	cat "$RESULTS/$1.md"
}

# ---- the run, as the unprivileged user -------------------------------------

say() { echo "== $*" >&2; }

bench_clusters=""		# data directories started here
bench_bouncers=""		# pgbouncer pid files
bench_stop_mode=fast	# how bench_cleanup stops the clusters left running
bench_on_exit=""		# a function of the harness's, run first at exit

bench_cleanup() {
	local c b
	[ -n "$bench_on_exit" ] && "$bench_on_exit"
	for b in $bench_bouncers; do bench_bouncer_stop "$b"; done
	for c in $bench_clusters; do
		[ -f "$c/postmaster.pid" ] && pg_ctl -D "$c" -m "$bench_stop_mode" -w stop >/dev/null 2>&1
	done
	return 0
}

# bench_init DIR: $dir (made) for the clusters, $base the first port; the
# clusters and pgbouncers are stopped at exit, also on INT and TERM.
bench_init() {
	dir=$1
	mkdir -p "$dir"
	base=${PGB_BENCH_PORT:-$(( 20000 + RANDOM % 20000 ))}
	say "$(command -v pg_ctl), ports from $base"
	trap bench_cleanup EXIT
	trap "exit 1" INT TERM
}

# bench_conf DATA PORT [LINES]: a unix-socket-only server on PORT with 100
# connections and 128MB of shared buffers, then the harness's own
# postgresql.conf lines (the last of a setting is the one in force).
bench_conf() {
	cat >>"$1/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $2
max_connections = 100
shared_buffers = 128MB
${3:-}
CONF
	if [ -n "${PGB_BENCH_LIB:-}" ]; then
		echo "dynamic_library_path = '$PGB_BENCH_LIB:\$libdir'" >>"$1/postgresql.conf"
	fi
}

# bench_budget_conf CLASSES: the lines that preload pg_budget with CLASSES.
bench_budget_conf() {
	printf "shared_preload_libraries = 'pg_budget'\npg_budget.classes = '%s'\n" "$1"
}

# bench_start DATA LOG: start the server, to be stopped at exit.
bench_start() {
	bench_clusters="$bench_clusters $1"
	pg_ctl -D "$1" -l "$2" -w start >/dev/null
}

bench_stop() {
	pg_ctl -D "$1" -m fast -w stop >/dev/null
}

# bench_cluster NAME PORT [LINES]: initdb $dir/NAME, configure it, start it
# (log $dir/NAME.log).
bench_cluster() {
	initdb -D "$dir/$1" -A trust -U postgres >/dev/null
	bench_conf "$dir/$1" "$2" "${3:-}"
	bench_start "$dir/$1" "$dir/$1.log"
}

# bench_psql PORT [PSQL ARGS]: as postgres, unaligned, in database postgres.
bench_psql() {
	local port=$1
	shift
	psql -XqAt -U postgres -h "$dir" -p "$port" -d postgres "$@"
}

# bench_sql PORT QUERY: its rows, as postgres.
bench_sql() { bench_psql "$1" -c "$2"; }

# bench_create_extension: the SQL that creates the extension; with
# PGB_BENCH_LIB, its functions then load the preloaded file (see above).
bench_create_extension() {
	echo "CREATE EXTENSION pg_budget;"
	if [ -n "${PGB_BENCH_LIB:-}" ]; then
		echo "UPDATE pg_catalog.pg_proc SET probin = '$PGB_BENCH_LIB/pg_budget' WHERE probin = '\$libdir/pg_budget';"
	fi
}

# bench_class_roles PORT ROLE=CLASS...: CREATE EXTENSION pg_budget and put
# each role in its class.
bench_class_roles() {
	local port=$1 rc args=(-c "$(bench_create_extension)")
	shift
	for rc in "$@"; do
		args+=(-c "ALTER ROLE ${rc%%=*} SET pg_budget.class = '${rc#*=}'")
	done
	bench_psql "$port" "${args[@]}" >/dev/null
}

# bench_worker_pid PORT: the pg_budget worker's pid, waited for 10 s.
bench_worker_pid() {
	local p i
	for i in $(seq 50); do
		p=$(bench_sql "$1" "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_budget worker'")
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.2
	done
	echo "no pg_budget worker in pg_stat_activity" >&2
	return 1
}

# bench_cputicks PID: its utime + stime, in clock ticks.
bench_cputicks() {
	local stat
	stat=$(cat "/proc/$1/stat")
	stat=${stat##*) }		# after the command name, which may hold spaces
	set -- $stat			# now $12 is utime, $13 stime
	echo $(( ${12} + ${13} ))
}

# ---- pgbench ---------------------------------------------------------------

# bench_tps PORT USER [PGBENCH ARGS]: one run against database postgres; its
# tps (the run's output on stderr if it fails).
bench_tps() {
	local port=$1 user=$2 out t
	shift 2
	out=$(pgbench -n "$@" -h "$dir" -p "$port" -U "$user" postgres 2>&1) || { echo "$out" >&2; return 1; }
	t=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
	[ -n "$t" ] || { echo "$out" >&2; return 1; }
	echo "$t"
}

# bench_pairs N FILE A B: N pairs of runs of the commands A and B (each
# prints one number), in alternating order (AB, BA, ...), as "a b" lines.
bench_pairs() {
	local n=$1 file=$2 a b i
	: >"$file"
	for i in $(seq "$n"); do
		if [ $((i % 2)) = 1 ]; then
			a=$($3); b=$($4)
		else
			b=$($4); a=$($3)
		fi
		echo "$a $b" >>"$file"
	done
}

# awk functions: median(a, n) of a[1..n] (a left unsorted); lo, hi.
BENCH_AWK='
	function median(x, n,    i, j, t, y) {
		for (i = 1; i <= n; i++) y[i] = x[i]
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (y[j] < y[i]) { t = y[i]; y[i] = y[j]; y[j] = t }
		return (n % 2) ? y[(n + 1) / 2] : (y[n / 2] + y[n / 2 + 1]) / 2
	}
	function lo(x, n,    i, m) { m = x[1]; for (i = 2; i <= n; i++) if (x[i] < m) m = x[i]; return m }
	function hi(x, n,    i, m) { m = x[1]; for (i = 2; i <= n; i++) if (x[i] > m) m = x[i]; return m }
'

# bench_pairs_report FILE GOAL [NAME]: the pairs of TPS (stock, NAME:
# pg_budget) as a table, and the median of their ratios against GOAL (>=).
bench_pairs_report() {
	local name=${3:-pg_budget}
	echo "| pair | stock TPS | $name TPS | ratio |"
	echo "|---|---|---|---|"
	awk '{ printf "| %d | %.0f | %.0f | %.3f |\n", NR, $1, $2, $2 / $1 }' "$1"
	echo
	awk -v goal="$2" -v name="$name" "$BENCH_AWK"'{ r[NR] = $2 / $1 } END {
		printf "Median ratio %s/stock: **%.3f** (goal >= %s)\n", name, median(r, NR), goal
	}' "$1"
}

# bench_pct FILE P: the P-th percentile of the numbers in FILE ("nan" if none).
bench_pct() {
	sort -n "$1" | awk -v p="$2" '{ a[NR] = $1 } END { if (NR == 0) { print "nan"; exit } i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.2f", a[i] }'
}

# bench_log_latency DIR: the latency (ms) of each transaction in the
# pgbench logs (-l) in DIR: the 3rd field less the schedule lag (7th, with
# --rate), both in us: the time the server and the client took, not a
# backlog of the client's.
bench_log_latency() {
	cat "$1"/pgbench_log.* 2>/dev/null | awk '{ print ($3 - $7) / 1000.0 }'
}

# bench_log_rate DIR FROM TO FORMAT: transactions a second in the pgbench
# logs in DIR that ended in [FROM, TO) (epochs: the 5th and 6th fields).
bench_log_rate() {
	cat "$1"/pgbench_log.* 2>/dev/null | awk -v a="$2" -v b="$3" -v f="$4" \
		'{ t = $5 + $6 / 1e6; if (t >= a && t < b) n++ } END { printf f, n / (b - a) }'
}

# bench_pgbench_logged RUN NAME PORT USER [PGBENCH ARGS]: a run that logs
# each transaction (-l) in RUN/NAME, its output in RUN/NAME.out.
bench_pgbench_logged() {
	local run=$1 name=$2 port=$3 user=$4
	shift 4
	(cd "$run/$name" && pgbench -n "$@" -l -h "$dir" -p "$port" -U "$user" postgres >"$run/$name.out" 2>&1)
}

# bench_epoch_plus T S: the epoch T plus S seconds.
bench_epoch_plus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a + b }'; }

# ---- rounds of setups --------------------------------------------------------

# bench_rounds FILE RUN NAME: ROUNDS times, each of SETUPS in turn: "setup
# round $(RUN setup round)" lines in FILE, progress with $(NAME setup).
bench_rounds() {
	local file=$1 run=$2 name=$3 r s line
	: >"$file"
	for r in $(seq "$ROUNDS"); do
		for s in $SETUPS; do
			line=$("$run" "$s" "$r")
			echo "$s $r $line" >>"$file"
			echo "round $r, $("$name" "$s"): $line" >&2
		done
	done
}

# bench_med FILE SETUP COLUMN: the median of COLUMN over SETUP's lines of
# FILE (SETUP "": all lines; "-" and "nan" left out; "nan" if none).
bench_med() {
	awk -v s="$2" -v c="$3" '(s == "" || $1 == s) && $c != "-" && $c != "nan" { a[++n] = $c } END {
		if (n == 0) { print "nan"; exit }
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		if (n % 2) print a[(n + 1) / 2]; else printf "%.2f\n", (a[n / 2] + a[n / 2 + 1]) / 2 }' "$1"
}

# bench_spread FILE: "n mean stddev cv min max" of the numbers in FILE
# (stddev of the population, cv = stddev / mean; nan where undefined).
bench_spread() {
	awk '{ x[++n] = $1; s += $1 } END {
		if (n == 0) { print "0 nan nan nan nan nan"; exit }
		m = s / n; lo = hi = x[1]
		for (i = 1; i <= n; i++) { d += (x[i] - m) ^ 2; if (x[i] < lo) lo = x[i]; if (x[i] > hi) hi = x[i] }
		sd = sqrt(d / n)
		printf "%d %.2f %.2f %s %.2f %.2f\n", n, m, sd, (m > 0 ? sprintf("%.3f", sd / m) : "nan"), lo, hi
	}' "$1"
}

bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "nan" || b == "nan") print "nan"; else printf "%.2f", a / b }'; }

# bench_verdict X OP GOAL (OP <= or >=), bench_within X LO HI: met, missed,
# or n/a (X is nan).
bench_verdict() { awk -v x="$1" -v op="$2" -v g="$3" 'BEGIN { if (x == "nan") { print "n/a"; exit } ok = (op == "<=") ? (x <= g) : (x >= g); print ok ? "met" : "missed" }'; }
bench_within() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { if (x == "nan") { print "n/a"; exit } print (x >= lo && x <= hi) ? "met" : "missed" }'; }

# bench_every_run FILE COLUMNS: the lines of FILE, as they are.
bench_every_run() {
	echo "Every run ($2):"
	echo
	echo '```'
	cat "$1"
	echo '```'
}

# bench_plot_data FILE NAME COLUMN...: for each of SETUPS, a line of the
# setup, its name ($(NAME setup) less the number) and the medians of the
# COLUMNs of FILE, tab separated: gnuplot's data.
bench_plot_data() {
	local file=$1 name=$2 s c line
	shift 2
	for s in $SETUPS; do
		line=$(printf '%s\t"%s"' "$s" "$("$name" "$s" | sed 's/^[0-9]\. //')")
		for c in "$@"; do line="$line	$(bench_med "$file" "$s" "$c")"; done
		echo "$line"
	done
}

# bench_plot_start PNG TITLE: gnuplot's opening lines for two bar charts
# side by side.
bench_plot_start() {
	cat <<GP
set terminal pngcairo size 1100,620 font "sans,9" noenhanced
set output '$1'
set multiplot layout 1,2 title "$2"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set xtics rotate by -25 scale 0
set grid ytics
set yrange [0:*]
set bmargin 9
set key off
GP
}

# ---- PgBouncer -------------------------------------------------------------

# bench_bouncer_conf DIR DATABASE PORT [LINES]: DIR/pgbouncer.ini (unix
# socket only, transaction pooling, trust) for the users in $bench_users,
# with DATABASE ("name = host=... port=... dbname=...") and LINES
# (more settings, then sections such as [users]).
bench_bouncer_conf() {
	local d=$1 u
	mkdir -p "$d"
	for u in $bench_users; do echo "\"$u\" \"\""; done >"$d/userlist.txt"
	cat >"$d/pgbouncer.ini" <<INI
[databases]
$2

[pgbouncer]
; unix socket only (no listen_addr)
unix_socket_dir = $dir
listen_port = $3
auth_type = trust
auth_file = $d/userlist.txt
pool_mode = transaction
logfile = $d/pgbouncer.log
pidfile = $d/pgbouncer.pid
log_connections = 0
log_disconnections = 0
${4:-}
INI
}

# bench_bouncer_start DIR PORT: start the pgbouncer of DIR/pgbouncer.ini
# (listening on PORT), to be stopped at exit; waits for its socket.
bench_bouncer_start() {
	local i
	pgbouncer -d -q "$1/pgbouncer.ini"
	bench_bouncers="$bench_bouncers $1/pgbouncer.pid"
	for i in $(seq 50); do
		[ -f "$1/pgbouncer.pid" ] && [ -S "$dir/.s.PGSQL.$2" ] && break
		sleep 0.1
	done
}

# bench_bouncer_stop PIDFILE: stop it and wait for it to go.
bench_bouncer_stop() {
	local pid i
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$1"
}
