#!/usr/bin/env bash
# bench-durable.sh - durable XADD throughput: runneld keeping its store on
# disk against redis-server with its AOF, the same durability on both sides.
#
# Usage: tools/bench-durable.sh [path/to/runneld]      (or env RUNNELD=...)
#        env: BENCH_N (default 200000), BENCH_CLIENTS (default 50),
#             BENCH_ROUNDS (default 3), BENCH_MODES (default "everysec always")
#
# For each appendfsync mode it starts, in private temp dirs on the same
# filesystem:
#   redis-server --appendonly yes --appendfsync <mode> --save ''
#   runneld      --appendfsync <mode>   (its default: the store file in dir)
# then runs the SAME redis-benchmark command against redis, then runneld,
# BENCH_ROUNDS times (alternating, so drift in machine load hits both):
#   XADD s * f v   -c 50 -P 1 and -P 64
# and reports the median requests/s of each and the ratio runneld/redis.
# Each server's own counters show the durability was real: redis's
# aof_enabled, runneld's runnel_appendfsync and runnel_store_syncs (how many
# fdatasync calls it made during the row: under "always" one per event-loop
# turn that wrote, covering every reply of that turn, as Redis's AOF does;
# an "always" row with none is flagged).
# This is a benchmark, not a test: it never fails on numbers.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
N=${BENCH_N:-200000}
C=${BENCH_CLIENTS:-50}
ROUNDS=${BENCH_ROUNDS:-3}
MODES=${BENCH_MODES:-everysec always}
PY=${PYTHON:-python3}
. "$here/tools/bench-common.sh"

runneld=$(find_runneld "${1:-${RUNNELD:-}}")

tmp=$(mktemp -d /tmp/bench-durable.XXXXXX)
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$tmp"' EXIT INT TERM

info_field() {  # port field -> value or empty
  redis-cli -p "$1" info everything 2>/dev/null | tr -d '\r' | awk -F: -v f="$2" '$1==f && !seen {print $2; seen=1}' || true
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print ""}'; }

echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), runneld $runneld" >&2
echo "clients=$C n=$N rounds=$ROUNDS, cores=$(nproc), dir $tmp ($(df -P "$tmp" | awk 'NR==2 {print $1}'))" >&2

rows=()
for mode in $MODES; do
  rport=$(free_port); dport=$(free_port)
  mkdir -p "$tmp/$mode/redis" "$tmp/$mode/runneld"
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync "$mode" \
    --daemonize no --dir "$tmp/$mode/redis" --logfile "$tmp/$mode/redis/log" &
  pids+=($!)
  (cd "$tmp/$mode/runneld" && exec "$runneld" --port "$dport" --bind 127.0.0.1 \
    --appendfsync "$mode" >"$tmp/$mode/runneld/log" 2>&1) &
  pids+=($!)
  wait_ping "$rport"; wait_ping "$dport"
  [ "$(info_field "$rport" aof_enabled)" = 1 ] || { echo "error: redis AOF is not on" >&2; exit 2; }
  [ "$(info_field "$dport" runnel_appendfsync)" = "$mode" ] ||
    { echo "error: runneld says appendfsync $(info_field "$dport" runnel_appendfsync)" >&2; exit 2; }
  for P in 1 64; do
    rs=""; ds=""; syncs=""
    for _ in $(seq "$ROUNDS"); do
      redis-cli -p "$rport" del s >/dev/null; redis-cli -p "$dport" del s >/dev/null
      rs="$rs $(rps "$rport" -c "$C" -n "$N" -P "$P" XADD s '*' f v)"
      s0=$(info_field "$dport" runnel_store_syncs)
      ds="$ds $(rps "$dport" -c "$C" -n "$N" -P "$P" XADD s '*' f v)"
      syncs="$syncs $(( $(info_field "$dport" runnel_store_syncs) - s0 ))"
    done
    r=$(echo "$rs" | median); d=$(echo "$ds" | median); sy=$(echo "$syncs" | median)
    flag=""
    if [ "$mode" = always ] && [ "$sy" -lt 1 ]; then flag=" (runneld never synced!)"; fi
    rows+=("$mode|$P|$r|$d|$sy$flag|$rs|$ds")
    echo "  appendfsync $mode -P $P: redis$rs, runneld$ds (runneld fdatasyncs per run:$syncs)" >&2
  done
  stop_all
done

echo
echo "| appendfsync (both) | XADD s * f v, -c $C -n $N | redis req/s | runneld req/s | runneld/redis | runneld fdatasyncs in the run |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for row in "${rows[@]}"; do
  IFS='|' read -r mode P r d sy _ _ <<<"$row"
  ratio=$(awk -v r="$r" -v d="$d" 'BEGIN { if (r > 0 && d != "") printf "%.2f", d / r; else print "n/a" }')
  echo "| $mode | -P $P | ${r:-n/a} | ${d:-n/a} | $ratio | $sy |"
done
echo
echo "medians of $ROUNDS alternating rounds; every round: $(for row in "${rows[@]}"; do IFS='|' read -r mode P _ _ _ rs ds <<<"$row"; printf '%s -P %s redis[%s ] runneld[%s ]; ' "$mode" "$P" "$rs" "$ds"; done)"
