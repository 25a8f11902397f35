#!/usr/bin/env bash
# bench-vs-redis.sh - runneld vs redis-server 7.0, side by side, same machine.
#
# Usage: tools/bench-vs-redis.sh [path/to/runneld]      (or env RUNNELD=...)
#        env: BENCH_N (default 200000), BENCH_MEM_N (default 1000000),
#             BENCH_CLIENTS (default 50), BENCH_CONSUME_N (default 200000),
#             BENCH_CONSUMER (path of bench_consumer)
#
# Starts redis-server (--save '' --appendonly no) and runneld (--store-type
# ram: both keep everything in memory) on free loopback ports, then for every row runs the SAME redis-benchmark command against
# redis and then runneld (alternating, so drift in machine load hits both):
#   XADD s * f v                       -P 1  and -P 64, 50 clients, -n 200000
#   XADD s2 MAXLEN ~ 10000 * f v       -P 64
#   XRANGE s - + COUNT 10              -P 1
#   XRANGE dev:<random> - + COUNT 10   -P 1 and -P 16, over 1,000 streams
#                                      written in random turn (100 entries
#                                      of 32 B each): the gateway shape
#   consumer loop: bench_consumer (tools/bench-consumer) with -c 50 -n 200000
#     -b 100: 50 connections, each consumer c<i> looping XREADGROUP GROUP g
#     c<i> COUNT 100 STREAMS key > then one XACK of the delivered IDs, until
#     the stream is drained (redis-benchmark cannot chain a read into an ack);
#     its column is entries consumed+acked per second. bench_consumer is
#     found next to runneld (<runneld dir>/../bench-consumer/bench_consumer)
#     or via env BENCH_CONSUMER; without it the row says n/a.
# then memory per entry after 1,000,000 XADDs (XADD mem * f v, -P 64):
#   redis:   delta of INFO used_memory / entries
#   runneld: delta of INFO runnel_bytes_appended (log bytes) / entries, and
#            runnel_store_bytes_used (whole blocks) / entries; falls back to
#            used_memory when those fields are absent.
# Prints a markdown table: req/s for both and the ratio runneld/redis.
# This is a benchmark, not a test: it never fails on numbers. Both servers
# share the 2 cores with redis-benchmark, so absolute numbers are noisy.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
N=${BENCH_N:-200000}
MEM_N=${BENCH_MEM_N:-1000000}
C=${BENCH_CLIENTS:-50}
CONSUME_N=${BENCH_CONSUME_N:-200000}
PY=${PYTHON:-python3}

. "$here/tools/bench-common.sh"
runneld=$(find_runneld "${1:-${RUNNELD:-}}")

tmp=$(mktemp -d /tmp/bench-vs-redis.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
[ -n "${BENCH_KEEP_LOGS:-}" ] && trap 'cat "$tmp"/*/log >&2; cleanup' EXIT INT TERM

rport=$(free_port)
mkdir -p "$tmp/redis" "$tmp/runneld"
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --dir "$tmp/redis" --logfile "$tmp/redis/log" &
pids+=($!)
wait_ping "$rport"
dport=$(free_port)
(cd "$tmp/runneld" && exec "$runneld" --port "$dport" --bind 127.0.0.1 --store-type ram >"$tmp/runneld/log" 2>&1) &
pids+=($!)
wait_ping "$dport"

echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on :$rport, runneld ($runneld) on :$dport" >&2
echo "clients=$C n=$N, cores=$(nproc)" >&2

rows=()
bench_row() {
  local label=$1; shift
  redis-cli -p "$rport" flushall >/dev/null
  redis-cli -p "$dport" flushall >/dev/null
  local r d
  r=$(rps "$rport" "$@")
  d=$(rps "$dport" "$@")
  rows+=("$label|$r|$d")
  echo "  $label: redis $r, runneld $d" >&2
}

bench_row "XADD s * f v, -P 1" -c "$C" -n "$N" -P 1 XADD s '*' f v
bench_row "XADD s * f v, -P 64" -c "$C" -n "$N" -P 64 XADD s '*' f v
bench_row "XADD s2 MAXLEN ~ 10000 * f v, -P 64" -c "$C" -n "$N" -P 64 XADD s2 MAXLEN '~' 10000 '*' f v
# XRANGE needs data: fill both with 1000 entries first (flushall happens in bench_row, so inline)
redis-cli -p "$rport" flushall >/dev/null; redis-cli -p "$dport" flushall >/dev/null
for p in "$rport" "$dport"; do redis-benchmark -h 127.0.0.1 -p "$p" -c 10 -n 1000 -P 16 -q XADD s '*' f v >/dev/null 2>&1; done
r=$(rps "$rport" -c "$C" -n "$N" -P 1 XRANGE s - + COUNT 10)
d=$(rps "$dport" -c "$C" -n "$N" -P 1 XRANGE s - + COUNT 10)
rows+=("XRANGE s - + COUNT 10, -P 1|$r|$d")
echo "  XRANGE: redis $r, runneld $d" >&2

# Interleaved streams (the gateway shape): 1,000 streams, 100,000 entries of
# 32 B written to random streams (so every stream's entries are spread over
# the whole log), then XRANGE of a random stream, COUNT 10.
ILV=${BENCH_INTERLEAVED_STREAMS:-1000}
redis-cli -p "$rport" flushall >/dev/null; redis-cli -p "$dport" flushall >/dev/null
val=$(printf 'x%.0s' $(seq 31))
for p in "$rport" "$dport"; do
  redis-benchmark -h 127.0.0.1 -p "$p" -c 10 -n $((ILV * 100)) -r "$ILV" -P 64 -q \
    XADD 'dev:__rand_int__' '*' v "$val" >/dev/null 2>&1
done
r=$(rps "$rport" -c "$C" -n "$N" -r "$ILV" -P 1 XRANGE 'dev:__rand_int__' - + COUNT 10)
d=$(rps "$dport" -c "$C" -n "$N" -r "$ILV" -P 1 XRANGE 'dev:__rand_int__' - + COUNT 10)
rows+=("XRANGE dev:<random of $ILV interleaved> - + COUNT 10, -P 1|$r|$d")
echo "  XRANGE interleaved: redis $r, runneld $d" >&2
r=$(rps "$rport" -c "$C" -n "$N" -r "$ILV" -P 16 XRANGE 'dev:__rand_int__' - + COUNT 10)
d=$(rps "$dport" -c "$C" -n "$N" -r "$ILV" -P 16 XRANGE 'dev:__rand_int__' - + COUNT 10)
rows+=("XRANGE dev:<random of $ILV interleaved> - + COUNT 10, -P 16|$r|$d")
echo "  XRANGE interleaved -P 16: redis $r, runneld $d" >&2

# consumer loop: bench_consumer, same settings against both servers, one
# after the other. It verifies its own run (XPENDING 0, XLEN n) and exits
# non-zero otherwise: then the cell says "failed".
consume() {  # port -> entries consumed+acked per second
  local out
  if out=$("$bench_consumer" -h 127.0.0.1 -p "$1" -c "$C" -n "$CONSUME_N" -b 100 --csv 2>"$tmp/consume.err"); then
    echo "$out" | awk -F'","' 'NR==2 {print $2}'
  else
    echo "  bench_consumer on :$1 failed: $(tail -n 3 "$tmp/consume.err")" >&2
    echo failed
  fi
}
bench_consumer=${BENCH_CONSUMER:-$(dirname "$runneld")/../bench-consumer/bench_consumer}
if [ -x "$bench_consumer" ]; then
  redis-cli -p "$rport" flushall >/dev/null; redis-cli -p "$dport" flushall >/dev/null
  r=$(consume "$rport")
  d=$(consume "$dport")
else
  echo "  bench_consumer not found at $bench_consumer (build target bench_consumer or set BENCH_CONSUMER)" >&2
  r=""; d=""
fi
rows+=("XREADGROUP COUNT 100 + XACK, $C consumers (entries/s)|$r|$d")
echo "  consume: redis $r, runneld $d" >&2

info_field() {  # port field -> value or empty
  redis-cli -p "$1" info everything 2>/dev/null | tr -d '\r' | awk -F: -v f="$2" '$1==f && !seen {print $2; seen=1}' || true
}
redis-cli -p "$rport" flushall >/dev/null; redis-cli -p "$dport" flushall >/dev/null
sleep 0.2
r_before=$(info_field "$rport" used_memory)
d_app_before=$(info_field "$dport" runnel_bytes_appended)
d_blk_before=$(info_field "$dport" runnel_store_bytes_used)
d_mem_before=$(info_field "$dport" used_memory)
for p in "$rport" "$dport"; do
  redis-benchmark -h 127.0.0.1 -p "$p" -c "$C" -n "$MEM_N" -P 64 -q XADD mem '*' f v >/dev/null 2>&1
done
r_after=$(info_field "$rport" used_memory)
r_len=$(redis-cli -p "$rport" xlen mem)
d_len=$(redis-cli -p "$dport" xlen mem)
d_added=$(redis-cli -p "$dport" xinfo stream mem 2>/dev/null | awk 'prev=="entries-added" && !seen {print; seen=1} {prev=$0}' || true)
[ -n "$d_added" ] || d_added=$d_len
d_app_after=$(info_field "$dport" runnel_bytes_appended)
d_blk_after=$(info_field "$dport" runnel_store_bytes_used)
d_mem_after=$(info_field "$dport" used_memory)

per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { if (n > 0 && a != "" && b != "") printf "%.1f", (b - a) / n; else print "n/a" }'; }
r_per=$(per "$r_before" "$r_after" "$r_len")
if [ -n "$d_app_after" ]; then
  d_per=$(per "$d_app_before" "$d_app_after" "$d_added")
  d_note="runnel_bytes_appended; whole blocks: $(per "$d_blk_before" "$d_blk_after" "$d_added") B/entry"
else
  d_per=$(per "$d_mem_before" "$d_mem_after" "$d_added")
  d_note="used_memory"
fi

echo
echo "| benchmark (redis-benchmark -c $C -n $N unless noted) | redis req/s | runneld req/s | runneld/redis |"
echo "| --- | ---: | ---: | ---: |"
for row in "${rows[@]}"; do
  IFS='|' read -r label r d <<<"$row"
  ratio=$(awk -v r="$r" -v d="$d" 'BEGIN { if (r ~ /^[0-9.]+$/ && d ~ /^[0-9.]+$/ && r > 0) printf "%.2f", d / r; else print "n/a" }')
  echo "| $label | ${r:-n/a} | ${d:-n/a} | $ratio |"
done
ratio=$(awk -v r="$r_per" -v d="$d_per" 'BEGIN { if (r > 0 && d != "n/a") printf "%.2f", d / r; else print "n/a" }')
echo "| bytes per entry after $MEM_N x XADD mem * f v (redis: used_memory; runneld: $d_note) | $r_per | $d_per | $ratio |"
echo
echo "entries kept: redis XLEN $r_len, runneld XLEN $d_len (entries-added $d_added)"
