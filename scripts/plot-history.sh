#!/usr/bin/env bash
# Plot pg_budget_history as a PNG: connected sessions per class on top,
# sessions waiting on locks (solid) and on WAL (dashed) per class in the
# middle, transactions in progress (solid) and queued at the gate (dashed)
# per class below them, and at the bottom the CPU per class: cores' worth
# of CPU time used (solid) and of run delay, time runnable but waiting for
# a CPU (dashed), over seconds since the first row.  Needs psql and gnuplot (Debian:
# gnuplot-nox).  Connection options go to psql as they are; the libpq
# environment (PGHOST, PGPORT, PGDATABASE, PGUSER ...) works too.  The
# role needs to read pg_budget_history (pg_read_all_stats, pg_monitor, or
# SELECT and EXECUTE granted on it).
#
#   scripts/plot-history.sh -o out.png [-a] [psql connection args]
#     -a   also plot the pseudo-classes: "(system)", "(autovacuum)", ...
set -euo pipefail

usage() {
	echo "usage: $0 -o out.png [-a] [psql connection args]" >&2
	exit 2
}

# -o and -a are ours; everything else (-h host, -p port, -d db ...) is psql's
out=""
pseudo=0
psql_args=()
while [ $# -gt 0 ]; do
	case $1 in
		-o) [ $# -ge 2 ] || usage; out=$2; shift ;;
		-o*) out=${1#-o} ;;
		-a) pseudo=1 ;;
		--help) usage ;;
		*) psql_args+=("$1") ;;
	esac
	shift
done
[ -n "$out" ] || usage
command -v gnuplot >/dev/null || { echo "$0: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# seconds since the first row, class, connected, lock_waiting, wal_waiting,
# in_progress, queued, CPU and run delay in cores (ms per second / 1000)
psql -X -q -A -t -F $'\t' -v ON_ERROR_STOP=1 -v pseudo="$pseudo" "${psql_args[@]}" >"$tmp/rows" <<'SQL'
SELECT round(extract(epoch FROM at - min(at) OVER ())::numeric, 3),
	   class, connected, lock_waiting, wal_waiting,
	   coalesce(in_progress, 0), coalesce(queued, 0),
	   round(coalesce(cpu_ms, 0)::numeric / 1000, 3),
	   round(coalesce(run_delay_ms, 0)::numeric / 1000, 3)
  FROM pg_budget_history
 WHERE :pseudo = 1 OR class NOT LIKE '(%'
 ORDER BY class, at;
SQL
if [ ! -s "$tmp/rows" ]; then
	echo "$0: pg_budget_history has no rows yet" >&2
	exit 1
fi

# One data file per class, in the order classes first appear, and the
# tops of the four panels (1 at least: gnuplot balks at an empty range).
read -r top_max bottom_max gate_max cpu_max < <(awk -F'\t' -v dir="$tmp" '
	BEGIN { c = 1; w = 1; g = 1; u = 1 }
	!($2 in n) { n[$2] = ++k; print $2 > (dir "/classes") }
	{ print $1, $3, $4, $5, $6, $7, $8, $9 > (dir "/" n[$2] ".dat") }
	$3 > c { c = $3 } $4 > w { w = $4 } $5 > w { w = $5 } $6 > g { g = $6 } $7 > g { g = $7 }
	$8 > u { u = $8 } $9 > u { u = $9 }
	END { print c * 1.05, w * 1.05, g * 1.05, u * 1.05 }
' "$tmp/rows")

# gnuplot single-quoted strings escape a quote by doubling it
top="" bottom="" gate="" cpu="" i=0
while IFS= read -r class; do
	i=$((i + 1))
	t=${class//\'/\'\'}
	top+="${top:+, }'$tmp/$i.dat' using 1:2 with lines lw 2 lc $i title '$t'"
	bottom+="${bottom:+, }'$tmp/$i.dat' using 1:3 with lines lw 2 lc $i title '$t lock'"
	bottom+=", '$tmp/$i.dat' using 1:4 with lines lw 2 dt 2 lc $i title '$t wal'"
	gate+="${gate:+, }'$tmp/$i.dat' using 1:5 with lines lw 2 lc $i title '$t in progress'"
	gate+=", '$tmp/$i.dat' using 1:6 with lines lw 2 dt 2 lc $i title '$t queued'"
	cpu+="${cpu:+, }'$tmp/$i.dat' using 1:7 with lines lw 2 lc $i title '$t CPU'"
	cpu+=", '$tmp/$i.dat' using 1:8 with lines lw 2 dt 2 lc $i title '$t run delay'"
done <"$tmp/classes"

# from a file, gnuplot stops at the first error with a non-zero status
cat >"$tmp/plot.gp" <<EOF
set terminal pngcairo size 1000,1300 font "sans,10" noenhanced
set output '$tmp/out.png'
set multiplot layout 4,1 title "pg_budget_history"
set grid
set key outside right top
# fixed margins keep the two time axes aligned whatever the key widths
set lmargin at screen 0.08
set rmargin at screen 0.75
set xlabel "seconds since first row"
set ylabel "sessions connected"
set yrange [0:$top_max]
plot $top
set ylabel "sessions waiting (solid: lock, dashed: WAL)"
set yrange [0:$bottom_max]
plot $bottom
set ylabel "transactions (solid: in progress, dashed: queued)"
set yrange [0:$gate_max]
plot $gate
set ylabel "cores (solid: CPU, dashed: run delay)"
set yrange [0:$cpu_max]
plot $cpu
unset multiplot
EOF
gnuplot "$tmp/plot.gp"
cp "$tmp/out.png" "$out"
echo "wrote $out ($i classes)"
