#!/bin/sh
# run-fuzzers.sh - builds the libFuzzer targets with clang and runs each for
# N seconds (default 60): fuzz_resp (core/resp_*.c) and, once the command
# layer exists, fuzz_cmd.
#
#   tools/run-fuzzers.sh [seconds] [build-dir]
#
# The build directory (default build-fuzz) keeps the binaries, the grown
# corpora (corpus-*) and any crash inputs (crash-*). Exit status is non-zero
# if a fuzzer crashed or a sanitizer fired; replay with <dir>/fuzz_<x> <file>.
set -eu

secs=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$root/build-fuzz}
clang=${CLANG:-clang}
mkdir -p "$out"

flags="-std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 -fno-omit-frame-pointer -Wall -Wextra -Werror -Wno-unknown-warning-option \
 -I$root/core -I$root/port -I$root/port/ram"

echo "building fuzz_resp"
# shellcheck disable=SC2086
$clang $flags "$root/tests/fuzz/fuzz_resp.c" "$root"/core/resp_*.c -o "$out/fuzz_resp"
targets="resp"
if [ -f "$root/core/cmd.c" ]; then
    echo "building fuzz_cmd"
    # shellcheck disable=SC2086
    $clang $flags "$root/tests/fuzz/fuzz_cmd.c" "$root"/core/*.c "$root"/port/ram/*.c \
        -o "$out/fuzz_cmd"
    targets="resp cmd"
fi

status=0
for t in $targets; do
    mkdir -p "$out/corpus-$t"
    dict=""
    [ -f "$root/tests/fuzz/$t.dict" ] && dict="-dict=$root/tests/fuzz/$t.dict"
    echo "running fuzz_$t for ${secs}s"
    # shellcheck disable=SC2086
    if "$out/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=3000 $dict -artifact_prefix="$out/crash-fuzz_$t-" \
        "$out/corpus-$t" "$root/tests/fuzz/corpus/$t" >"$out/fuzz_$t.log" 2>&1; then
        echo "fuzz_$t: ok, $(grep -h 'number_of_executed_units' "$out/fuzz_$t.log" | awk '{print $2}') execs"
    else
        echo "fuzz_$t: FAILED (log: $out/fuzz_$t.log)"
        grep -h -A30 'ERROR\|fuzz_.*: ' "$out/fuzz_$t.log" | head -40 || true
        status=1
    fi
done
exit $status
