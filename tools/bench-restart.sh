#!/usr/bin/env bash
# bench-restart.sh - how long a restart takes with a big store: runneld
# mounting its store file against redis-server loading its AOF, the same
# entries in both.
#
# Usage: tools/bench-restart.sh [path/to/runneld]      (or env RUNNELD=...)
#        env: BENCH_N (entries, default 50000000), BENCH_STORE (runneld's
#             store-size, default 1gb), BENCH_CLIENTS (default 20),
#             BENCH_SERVERS (default "runneld redis")
#
# Each server, in its own temp dir on the same filesystem, gets
#   redis-benchmark -c 20 -n N -P 64 XADD mem * f v
# (runneld: --store-size BENCH_STORE, appendfsync everysec, its default
# store file; redis: --appendonly yes --appendfsync everysec --save ''),
# then SHUTDOWN (both commit and sync), a start on the same dir, and a
# PING poll every 10 ms: the restart time is from the exec to the first
# PONG. Redis restarts twice: with its AOF as the fill left it (an
# automatic rewrite may or may not have run), then after BGREWRITEAOF (an
# RDB base: its fastest load). It prints the fill rate, the restart time, the entries back
# (XLEN), the files' sizes, and runneld's own mount counters (INFO
# persistence: bytes read and read calls). A benchmark, not a test: it
# never fails on numbers.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
N=${BENCH_N:-50000000}
STORE=${BENCH_STORE:-1gb}
C=${BENCH_CLIENTS:-20}
SERVERS=${BENCH_SERVERS:-runneld redis}
PY=${PYTHON:-python3}
. "$here/tools/bench-common.sh"

runneld=$(find_runneld "${1:-${RUNNELD:-}}")
tmp=$(mktemp -d /tmp/bench-restart.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM

now() { date +%s.%N; }
info_field() {  # port field -> value or empty
  redis-cli -p "$1" info persistence 2>/dev/null | tr -d '\r' | awk -F: -v f="$2" '$1==f {print $2}' || true
}

start() {  # server port dir
  local d=$3
  if [ "$1" = runneld ]; then
    (cd "$d" && exec "$runneld" --port "$2" --bind 127.0.0.1 --store-size "$STORE" \
      --appendfsync everysec >>"$d/log" 2>&1) &
  else
    redis-server --port "$2" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec \
      --daemonize no --dir "$d" --logfile "$d/log" &
  fi
  pid=$!
}

# ping_after PORT T0 -> seconds from T0 to the first PONG (polls every 10 ms)
ping_after() {
  while [ "$(redis-cli -p "$1" ping 2>/dev/null)" != PONG ]; do
    kill -0 "$pid" 2>/dev/null || { echo "error: server exited; log:" >&2; tail -5 "$d/log" >&2; exit 2; }
    sleep 0.01
  done
  "$PY" -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$2" "$(now)"
}

echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), runneld $runneld" >&2
echo "n=$N clients=$C store=$STORE, cores=$(nproc), dir $tmp ($(df -P "$tmp" | awk 'NR==2 {print $1}'))" >&2
echo "| server | fill s | fill entries/s | restart to PING s | XLEN after | on disk | mount read |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
for srv in $SERVERS; do
  d="$tmp/$srv"; mkdir -p "$d"
  port=$(free_port)
  start "$srv" "$port" "$d"
  WAIT_PING_TRIES=600 wait_ping "$port"
  t0=$(now)
  redis-benchmark -h 127.0.0.1 -p "$port" -c "$C" -n "$N" -P 64 -q XADD mem '*' f v >/dev/null
  fill=$("$PY" -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(now)")
  redis-cli -p "$port" shutdown >/dev/null 2>&1 || true
  wait "$pid" 2>/dev/null || true
  pid=
  t0=$(now)
  start "$srv" "$port" "$d"
  restart=$(ping_after "$port" "$t0")
  xlen=$(redis-cli -p "$port" xlen mem)
  disk=$(du -sh --apparent-size "$d" | cut -f1)
  mount="-"
  if [ "$srv" = runneld ]; then
    mount="$(info_field "$port" runnel_mount_bytes_read) B in $(info_field "$port" runnel_mount_read_calls) reads, $(info_field "$port" runnel_mount_time_ms) ms"
  fi
  echo "| $srv | $fill | $("$PY" -c "import sys; print('%.0f' % (int(sys.argv[1]) / float(sys.argv[2])))" "$N" "$fill") | $restart | $xlen | $disk | $mount |"
  if [ "$srv" = redis ]; then
    # Redis's best case: its AOF rewritten to an RDB base (as an automatic
    # rewrite during the fill may or may not have done), then a restart.
    redis-cli -p "$port" bgrewriteaof >/dev/null
    for _ in $(seq 6000); do   # the rewrite's end, polled for up to 10 minutes
      [ "$(info_field "$port" aof_rewrite_in_progress)" = 0 ] &&
        [ "$(info_field "$port" aof_rewrite_scheduled)" = 0 ] && break
      sleep 0.1
    done
    [ "$(info_field "$port" aof_rewrite_in_progress)" = 0 ] ||
      { echo "error: BGREWRITEAOF did not finish within 10 minutes" >&2; exit 2; }
    redis-cli -p "$port" shutdown >/dev/null 2>&1 || true
    wait "$pid" 2>/dev/null || true
    t0=$(now)
    start "$srv" "$port" "$d"
    restart=$(ping_after "$port" "$t0")
    echo "| redis, after BGREWRITEAOF | - | - | $restart | $(redis-cli -p "$port" xlen mem) | $(du -sh --apparent-size "$d" | cut -f1) | - |"
  fi
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" 2>/dev/null || true
  pid=
  rm -rf "$d"
done
