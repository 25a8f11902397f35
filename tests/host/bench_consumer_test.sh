#!/bin/bash
# bench_consumer_test.sh <runneld> <bench_consumer> - smoke test of the
# consumer-group load generator (tests/host/bench_consumer.cmake): starts
# runneld on a free loopback port in a temp dir and runs
# bench_consumer -c 4 -n 2000 against it. Proves the loop and its checks
# (every entry delivered and acked once, XPENDING 0, XLEN n), not speed.
set -u
. "${BASH_SOURCE%/*}/wait.sh"
RD="$1"
BC="$2"
D=$(mktemp -d /tmp/bench-consumer-test.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log:"; cat "$D/log" 2>/dev/null; exit 1; }

# The server logged that it is ready, or it has exited.
ready_or_exited() {
    process_exited "$PID" || grep -q "Ready to accept connections" "$D/log"
}

# Start on a pid-derived port; another test holding it means another try.
for attempt in 1 2 3 4 5; do
    PORT=$(( 20000 + ($$ * 7 + RANDOM + attempt) % 30000 ))
    "$RD" --port "$PORT" --bind 127.0.0.1 --dir "$D" > "$D/log" 2>&1 &
    PID=$!
    wait_until 10 ready_or_exited && ! process_exited "$PID" && break
    process_exited "$PID" || fail "runneld not ready within 10 s"
    wait "$PID" 2>/dev/null; PID=
    grep -q "Address already in use" "$D/log" || fail "runneld did not start"
done
[ -n "$PID" ] || fail "no free port"

"$BC" -p "$PORT" -c 4 -n 2000 || fail "bench_consumer -c 4 -n 2000 exited $?"
# A COUNT that does not divide n, and more consumers than batches.
"$BC" -p "$PORT" -c 8 -n 250 -b 7 --explicit-ids -k other || fail "bench_consumer -c 8 -n 250 -b 7 exited $?"
# An existing group is an error (exit 1), not a silent pass.
"$BC" -p "$PORT" -c 1 -k other --no-prefill 2>&1 | grep -q BUSYGROUP || fail "BUSYGROUP not reported"
"$BC" -p "$PORT" -c 1 -k other --no-prefill >/dev/null 2>&1 && fail "BUSYGROUP exited 0"
kill -TERM "$PID"
wait_exit "$PID" 10 || fail "runneld still running 10 s after SIGTERM"
wait "$PID"; PID=
echo PASS
