#!/usr/bin/env bash
#
# run.sh
#	Build the libFuzzer target (test/fuzz/fuzz_classes.c: the class table, the rules,
#	durations, rates, admission) with clang and
#	AddressSanitizer/UBSan, seed it from the class tables in README.md and
#	the tests, and run it for FUZZ_SECONDS (default 60).  A crash, a failed
#	check or a sanitizer report fails the run; the report is printed.
#	Environment: PG_CONFIG, CLANG (default clang), FUZZ_SECONDS, FUZZ_JOBS.
#
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PG_CONFIG=${PG_CONFIG:-pg_config}
CLANG=${CLANG:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
build=test/fuzz/build
mkdir -p "$build/corpus" "$build/artifacts"
incdir=$("$PG_CONFIG" --includedir-server)
libdir=$("$PG_CONFIG" --pkglibdir)

# seeds: every quoted class table of the README and the tests
n=0
while IFS= read -r line; do
	n=$((n + 1))
	printf '%s' "$line" >"$build/corpus/seed-$n"
done < <(grep -ohE "classes = '[^']+'" README.md doc/*.md t/*.pl test/regress.conf 2>/dev/null |
	sed -E "s/^classes = '(.*)'$/\1/" | sort -u)
printf 'web(cpu=100), ai(cpu=1, max=4), bulk(cpu=idle)' >"$build/corpus/seed-cpu"
printf 'web(session_mem=200MB), ai(mem=1.5GB, session_mem=512MB)' >"$build/corpus/seed-mem"
printf 'ai(switch_time=2.5s, switch_to=cancel, idle_blocker_timeout=30s), bulk(switch_time=1min, switch_to=web)' >"$build/corpus/seed-runaway"
printf 'web(priority=100), ai(priority=10, switch_time=300ms, switch_to=bulk), bulk(priority=1, switch_time=1min, switch_to=cancel)' >"$build/corpus/seed-switch"
printf 'ai(priority=10, switch_time=1s, switch_to=ai), web(priority=100, switch_time=1s, switch_to=ai)' >"$build/corpus/seed-switch-bad"
printf 'web(enforce=on), ai(max=2, active=1, enforce=warn)' >"$build/corpus/seed-warn"
printf '4:cpu,cpuacct:/pgb/web\n0::/x\n' >"$build/corpus/seed-cgroup"
printf '42 (post gres) S 1 1 1 0 -1 0 0 0 0 0 37 5 0 0 20' >"$build/corpus/seed-stat"
printf '52000 30000 1000 200 0 40000 0\n' >"$build/corpus/seed-statm"
printf '11:memory:/pg/srv\n0::/x\n' >"$build/corpus/seed-memcg"
printf 'cache 10\ninactive_file 4096\n' >"$build/corpus/seed-memstat"
printf 'web(max=80, reserve=50, priority=100)\0\001\002\003\004\005\006\007' >"$build/corpus/seed-admit"
# rules, as pg_budget.rules reads them
printf '%s' 'application_name=celery* => ai, database=analytics => bulk, client_addr=10.0.5.0/24 => bulk, client_addr=local => web' >"$build/corpus/seed-rules"
printf '%s' 'member_of=analysts => bulk, client_addr=fd00::/8 => ai, application_name=w?b* => web' >"$build/corpus/seed-rules2"
# durations and rates, as the queue_timeout and wal_rate_floor settings read them
for d in -1 0 0.4ms 1.5s 1d 24h ' 10 s ' 10MB/s 1MB 1024 0.1B/s $'s\xe6\xbc\xa2\xc3\xa9\xf0\x9f\x98\x80'; do
	n=$((n + 1))
	printf '%s' "$d" >"$build/corpus/seed-$n"
done

$CLANG -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-isystem "$incdir" -Isrc -Wall -Wextra -Werror -Wno-ignored-attributes -o "$build/fuzz_classes" \
	test/fuzz/fuzz_classes.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/cgroup_math.c src/admit_math.c src/queue_math.c src/wal_bucket.c src/text_util.c src/rules_parse.c src/rules_match.c src/mem_files.c \
	-L"$libdir" -lpgcommon -lpgport -lm

cat >"$build/classes.dict" <<'DICT'
"max="
"reserve="
"priority="
"rate="
"burst="
"shed="
"floor="
"active="
"queue_timeout="
"wal="
"cpu="
"idle"
"mem="
"session_mem="
"switch_time="
"switch_to="
"idle_blocker_timeout="
"enforce="
"warn"
"MB"
"GB"
"kB/s"
"MB/s"
"GB/min"
"ms"
"min"
"h"
"d"
"-1"
"."
"B/s"
"never"
"cancel"
"terminate"
"/s"
"/min"
"application_name="
"database="
"client_addr="
"member_of="
"=>"
"local"
"::"
"/24"
"*"
"?"
"("
")"
","
DICT

echo "# fuzzing for $FUZZ_SECONDS s from $n seeds"
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$build/fuzz_classes" -max_total_time="$FUZZ_SECONDS" -max_len=512 \
	-dict="$build/classes.dict" -artifact_prefix="$build/artifacts/" \
	-print_final_stats=1 "$build/corpus" 2>"$build/fuzz.log" || {
	echo "fuzz_classes FAILED; the input is in $build/artifacts/" >&2
	tail -n 40 "$build/fuzz.log" >&2
	exit 1
}
grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE" "$build/fuzz.log" || true
echo "# fuzzing passed"
