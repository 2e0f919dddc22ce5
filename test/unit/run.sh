#!/usr/bin/env bash
#
# run.sh
#	Build and run the server-free unit tests (test/unit/test_*.c) under prove.
#
# Each test file names the project sources it links with on a comment line
#	// SOURCES: src/class_parse.c src/other.c
# (or /* SOURCES: ... */); paths are relative to the repository root, and
# several SOURCES lines add up.  Binaries go to test/unit/build/.
# Environment: PG_CONFIG (default pg_config), CC (default cc),
# UNIT_CFLAGS (added to the compiler flags: SANITIZE=1 makes it
# -fsanitize=address,undefined with reports fatal), and PROVE_FLAGS
# (default -v; set it empty for a quiet run).  Exits with
# prove's status, or 1 if a test does not compile.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PG_CONFIG=${PG_CONFIG:-pg_config}
CC=${CC:-cc}
PROVE_FLAGS=${PROVE_FLAGS--v}
builddir=test/unit/build
UNIT_CFLAGS=${UNIT_CFLAGS:-}
if [ "${SANITIZE:-0}" = 1 ]; then
	UNIT_CFLAGS="$UNIT_CFLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
	builddir=test/unit/build-sanitize
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

cflags=$("$PG_CONFIG" --cflags)
cppflags=$("$PG_CONFIG" --cppflags)
incdir=$("$PG_CONFIG" --includedir-server)
libdir=$("$PG_CONFIG" --pkglibdir)

mkdir -p "$builddir"
# no stale binaries from renamed or removed tests
rm -f "$builddir"/test_*

shopt -s nullglob
tests=(test/unit/test_*.c)
if [ ${#tests[@]} -eq 0 ]; then
	echo "run.sh: no test/unit/test_*.c files" >&2
	exit 1
fi

bins=()
for src in "${tests[@]}"; do
	name=$(basename "$src" .c)
	# words after "SOURCES:" on lines that start a // or /* comment
	sources=$(sed -n -E 's@^[[:space:]]*(//|/\*)[[:space:]]*SOURCES:(.*)$@\2@p' "$src" |
			  sed -e 's@\*/@@g')
	echo "# building $builddir/$name from $src" $sources
	# shellcheck disable=SC2086 # flags and source lists are word lists
	if ! $CC $cppflags $cflags $UNIT_CFLAGS -Wall -Wextra -Werror \
		-I"$incdir" -Isrc -Itest/unit \
		-o "$builddir/$name" "$src" $sources \
		-L"$libdir" -lpgcommon -lpgport -lm; then
		echo "run.sh: could not build $src" >&2
		exit 1
	fi
	bins+=("$builddir/$name")
done

# shellcheck disable=SC2086
prove $PROVE_FLAGS "${bins[@]}"
