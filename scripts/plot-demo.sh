#!/usr/bin/env bash
# The demo's picture (scripts/demo-run.sh) as a PNG: web requests served
# and refused per second, one panel per run side by side on the same axes,
# the burst of ai logins shaded, and, where recorded, the ai sessions
# connected as pg_budget_history saw them (right axis).  Needs gnuplot
# (Debian: gnuplot-nox).
#
#   scripts/plot-demo.sh -o out.png [-t title] [-b burst label] LABEL=RUNDIR...
#
# Each RUNDIR holds what one run recorded:
#   times        four epochs: web traffic start, burst start, burst end,
#                web traffic end
#   web.*.log    a line per web request: the epoch it ended, ok or refused
#   ai.history   (optional) a line per pg_budget_history row of the ai
#                class: the epoch of "at", sessions connected (averaged
#                over the second before "at")
set -euo pipefail

usage() {
	echo "usage: $0 -o out.png [-t title] [-b burst label] LABEL=RUNDIR..." >&2
	exit 2
}

out="" title="" burst_label="burst"
runs=()
while [ $# -gt 0 ]; do
	case $1 in
		-o) [ $# -ge 2 ] || usage; out=$2; shift ;;
		-t) [ $# -ge 2 ] || usage; title=$2; shift ;;
		-b) [ $# -ge 2 ] || usage; burst_label=$2; shift ;;
		*=*) runs+=("$1") ;;
		*) usage ;;
	esac
	shift
done
[ -n "$out" ] && [ ${#runs[@]} -gt 0 ] || usage
command -v gnuplot >/dev/null || { echo "$0: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# gnuplot strings in single quotes double a quote
gq() { printf '%s' "${1//\'/\'\'}"; }

# Per run: $tmp/N.web, "second (bin centre) served refused" for each whole
# second from the web start; $tmp/N.ai, "seconds ai-connected"; and the
# line "served refused burst_start burst_end seconds peak ai_peak" in
# $tmp/N.sum, all times in seconds since the run's web start.
n=0
for run in "${runs[@]}"; do
	n=$((n + 1))
	d=${run#*=}
	[ -f "$d/times" ] || { echo "$0: no $d/times" >&2; exit 1; }
	read -r t0 bs be t1 <"$d/times"
	cat "$d"/web.*.log | awk -v t0="$t0" -v t1="$t1" -v bs="$bs" -v be="$be" \
		-v bins="$tmp/$n.web" '
		{
			b = int($1 - t0)
			if ($2 == "ok") { ok[b]++; served++ } else { no[b]++; refused++ }
		}
		END {
			# only whole seconds: a last, partial one would show a dip
			nb = int(t1 - t0)
			for (b = 0; b < nb; b++) {
				printf "%.1f %d %d\n", b + 0.5, ok[b], no[b] > bins
				if (ok[b] + no[b] > peak) peak = ok[b] + no[b]
			}
			printf "%d %d %.2f %.2f %d %d\n", served, refused, bs - t0, be - t0, nb, peak
		}' >"$tmp/$n.sum"
	if [ -s "$d/ai.history" ]; then
		awk -v t0="$t0" '{ printf "%.2f %s\n", $1 - 0.5 - t0, $2 }' "$d/ai.history" >"$tmp/$n.ai"
	fi
done

# the same axes in every panel
read -r xmax ymax < <(cat "$tmp"/*.sum | awk '
	$5 > x { x = $5 } $6 > y { y = $6 }
	END { print x, y }')
ai_max=$(cat "$tmp"/*.ai 2>/dev/null | awk '$2 > m { m = $2 } END { print m + 0 }')
# room above the bars for the burst's label
ymax=$(( ymax * 13 / 10 + 1 ))
y2max=$(awk -v m="$ai_max" 'BEGIN { print (m < 1 ? 1 : m) * 1.3 }')

{
	cat <<EOF
set terminal pngcairo size 1000,500 font "sans,10" noenhanced
set output '$(gq "$tmp/out.png")'
set multiplot layout 1,${#runs[@]} title '$(gq "$title")' font "sans,12"
set grid ytics
set xrange [0:$xmax]
set yrange [0:$ymax]
set xlabel "seconds since the web clients started"
set ylabel "web requests per second"
set style fill solid 0.85 noborder
set boxwidth 0.8
set key at graph 0.5, graph -0.16 center top horizontal maxrows 1 reverse Left samplen 1.5 width 1
set bmargin 6.5
set tmargin 4
EOF
	if [ -n "$ai_max" ] && [ "$ai_max" != 0 ]; then
		cat <<EOF
set y2range [0:$y2max]
set y2tics
set ytics nomirror
set y2label "ai sessions connected"
EOF
	fi
	i=0
	for run in "${runs[@]}"; do
		i=$((i + 1))
		label=${run%%=*}
		read -r served refused bs be _ _ <"$tmp/$i.sum"
		# the refused stacked on the served: a second's whole bar is its
		# requests, red the part refused
		plot="keyentry with boxes lc rgb '#2ca02c' title 'web served'"
		plot+=", keyentry with boxes lc rgb '#d62728' title 'web refused'"
		plot+=", '$tmp/$i.web' using 1:(\$2 + \$3) with boxes lc rgb '#d62728' notitle"
		plot+=", '' using 1:2 with boxes lc rgb '#2ca02c' notitle"
		if [ -s "$tmp/$i.ai" ]; then
			plot+=", '$tmp/$i.ai' using 1:2 axes x1y2 with lines lw 2.5 lc rgb '#6a3d9a' title 'ai sessions'"
		fi
		cat <<EOF
set title '$(gq "$label")'."\\n".'web: $served served, $refused refused'
set object 1 rect from $bs, graph 0 to $be, graph 1 fc rgb '#e8e8e8' fs solid 1.0 noborder behind
set label 1 '$(gq "$burst_label")' at $(awk -v a="$bs" -v b="$be" 'BEGIN { print (a + b) / 2 }'), graph 0.95 center
plot $plot
EOF
	done
	echo "unset multiplot"
} >"$tmp/plot.gp"
gnuplot "$tmp/plot.gp"
cp "$tmp/out.png" "$out"
echo "wrote $out (${#runs[@]} runs)"
