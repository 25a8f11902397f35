#!/bin/bash
# runneld_test.sh <runneld> <case> - host tests of the runneld binary, run by
# ctest (tests/host/runneld.cmake). Each case starts its own server on a
# private unix socket (and a TCP port derived from the pid) in a temp dir,
# talks to it with redis-cli / bash's /dev/tcp, and stops it. Waits go
# through wait.sh's wait_until (a condition, with a bound), never a sleep.
# Exit status: 0 pass, 1 fail, 77 skipped (ctest SKIP_RETURN_CODE).
set -u
. "${BASH_SOURCE%/*}/wait.sh"
RD="$1"
CASE="$2"
D=$(mktemp -d /tmp/runneld-test.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log:"; cat "$D/log" 2>/dev/null; exit 1; }
PORT=$(( 20000 + ($$ * 7 + RANDOM) % 30000 ))
SOCK="$D/s.sock"

# The server answers PING (NOAUTH counts: it is up), or it has exited.
answers_or_exited() {
    process_exited "$PID" || redis-cli -s "$SOCK" ping 2>&1 | grep -Eq "PONG|NOAUTH"
}

start() {
    local attempt
    for attempt in 1 2 3 4 5; do
        "$RD" --port "$PORT" --unixsocket "$SOCK" --dir "$D" "$@" > "$D/log" 2>&1 &
        PID=$!
        wait_until 10 answers_or_exited && ! process_exited "$PID" && return 0
        # Another test took the port: pick another one.
        if process_exited "$PID" && grep -q "Address already in use" "$D/log"; then
            wait "$PID" 2>/dev/null
            PORT=$(( 20000 + (RANDOM * 7 + attempt) % 30000 ))
            continue
        fi
        process_exited "$PID" && fail "runneld exited at start"
        fail "runneld did not answer PING within 10 s"
    done
    fail "no free port"
}

stop_term() {
    kill -TERM "$PID"
    wait_exit "$PID" 10 || fail "still running 10 s after SIGTERM"
    wait "$PID"
    local rc=$?
    PID=
    [ "$rc" -eq 0 ] || fail "exit status $rc after SIGTERM"
    grep -q "Received SIGTERM scheduling shutdown..." "$D/log" || fail "no shutdown log line"
    grep -q "ready to exit, bye bye" "$D/log" || fail "no bye line"
    [ ! -e "$SOCK" ] || fail "unix socket left behind"
}

# fd_call FD WORDS...: sends an inline command on an open /dev/tcp fd and
# prints the reply: a status or error line, or a bulk string's body.
fd_call() {
    local fd=$1 line n body
    shift
    printf '%s\r\n' "$*" >&"$fd"
    IFS= read -r -t 5 -u "$fd" line || return 1
    line=${line%$'\r'}
    case $line in
        \$-1) ;;
        \$*)
            n=${line#\$}
            IFS= read -r -t 5 -u "$fd" -N $((n + 2)) body || return 1
            printf '%s\n' "${body%$'\r\n'}"
            ;;
        *) printf '%s\n' "$line" ;;
    esac
}

# connected_clients_on_fd FD N: INFO clients, asked on FD, says N clients.
connected_clients_on_fd() {
    fd_call "$1" INFO clients | tr -d '\r' | grep -qx "connected_clients:$2"
}

# A client whose last command is XRANGE has more than 8 KiB of replies
# waiting (CLIENT LIST obl), over half of --client-output-buffer-limit 16kb.
xrange_client_paused() {
    redis-cli -p "$PORT" CLIENT LIST | awk '
        / cmd=xrange / { for (i = 1; i <= NF; i++) if ($i ~ /^obl=/ && substr($i, 5) + 0 > 8192) f = 1 }
        END { exit !f }'
}

case "$CASE" in
smoke)
    start
    ID=$(redis-cli -p "$PORT" XADD s '*' f v)
    echo "XADD -> $ID"
    echo "$ID" | grep -Eq '^[0-9]+-0$' || fail "XADD answered '$ID'"
    [ "$(redis-cli -s "$SOCK" XLEN s)" = "1" ] || fail "XLEN over the unix socket"
    redis-cli -p "$PORT" INFO server | grep -q '^redis_version:7.0.15' || fail "INFO server"
    # A pipeline of 1000 commands in one write comes back complete.
    N=$( (for i in $(seq 1000); do printf 'XADD p * i %d\r\n' "$i"; done) | redis-cli -p "$PORT" --pipe 2>&1 | grep -o 'replies: [0-9]*')
    [ "$N" = "replies: 1000" ] || fail "pipe: $N"
    [ "$(redis-cli -p "$PORT" XLEN p)" = "1000" ] || fail "XLEN p after pipe"
    grep -q "Ready to accept connections" "$D/log" || fail "no ready line"
    stop_term
    ;;
sigint)
    start
    kill -INT "$PID"
    wait_exit "$PID" 10 || fail "still running 10 s after SIGINT"
    wait "$PID"; rc=$?; PID=
    [ "$rc" -eq 0 ] || fail "exit status $rc after SIGINT"
    grep -q "Received SIGINT scheduling shutdown..." "$D/log" || fail "no SIGINT line"
    ;;
limits)
    start --maxclients 3 --client-query-buffer-limit 64kb --requirepass pw --timeout 0
    # NOAUTH gate and AUTH.
    redis-cli -p "$PORT" XLEN s 2>&1 | grep -q NOAUTH || fail "no NOAUTH"
    [ "$(redis-cli -p "$PORT" -a pw --no-auth-warning XLEN s)" = "0" ] || fail "AUTH"
    # A bulk over proto-max-bulk-len (512mb, as Redis) is refused at its header.
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    printf '*2\r\n$4\r\nECHO\r\n$999999999\r\n' >&3
    R=$(timeout 5 head -c 200 <&3 | tr -d '\r')
    exec 3<&-
    echo "$R" | grep -q "Protocol error: invalid bulk length" || fail "big bulk: '$R'"
    # An inline command with no end grows to the limit: closed and logged.
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    head -c 70000 /dev/zero | tr '\0' 'a' >&3 2>/dev/null
    timeout 5 cat <&3 >/dev/null
    exec 3<&-
    # A command whose arguments together exceed the limit (each bulk is
    # under it) fills the query buffer: closed with Redis's log line.
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    { printf '*3\r\n$4\r\nECHO\r\n$40000\r\n'; head -c 40000 /dev/zero | tr '\0' 'b';
      printf '\r\n$40000\r\n'; head -c 30000 /dev/zero | tr '\0' 'c'; } >&3 2>/dev/null
    timeout 5 cat <&3 >/dev/null
    exec 3<&-
    wait_until 5 grep -q "Closing client that reached max query buffer length" "$D/log" ||
        fail "no query-buffer log line"
    grep -q 'qbuf initial bytes: "\*3..\$4..ECHO' "$D/log" || fail "the multibulk was not the one closed"
    # maxclients: with 3 connections held, the 4th is refused. Each of the 3
    # answers a command first, so the server has surely accepted it; the
    # first one is authenticated, to watch INFO clients from inside.
    exec 4<>"/dev/tcp/127.0.0.1/$PORT" 5<>"/dev/tcp/127.0.0.1/$PORT" 6<>"/dev/tcp/127.0.0.1/$PORT"
    R=$(fd_call 4 AUTH pw)
    [ "$R" = "+OK" ] || fail "AUTH on a held connection: '$R'"
    for fd in 5 6; do
        R=$(fd_call $fd PING)
        [ "$R" = "-NOAUTH Authentication required." ] || fail "PING on held connection $fd: '$R'"
    done
    exec 7<>"/dev/tcp/127.0.0.1/$PORT"
    R=$(timeout 5 head -c 100 <&7 | tr -d '\r')
    [ "$R" = "-ERR max number of clients reached" ] || fail "maxclients: '$R'"
    # Closed slots are free again once the server has seen the closes.
    exec 5<&- 6<&- 7<&-
    wait_until 5 connected_clients_on_fd 4 1 || fail "closed connections still counted"
    exec 4<&-
    [ "$(redis-cli -p "$PORT" -a pw --no-auth-warning PING)" = "PONG" ] || fail "slots not freed"
    redis-cli -p "$PORT" -a pw --no-auth-warning INFO stats | grep -q '^rejected_connections:1' || fail "rejected_connections"
    stop_term
    ;;
output)
    start --client-output-buffer-limit 16kb
    (for i in $(seq 2000); do printf 'XADD s * field%d value%d\r\n' "$i" "$i"; done) |
        redis-cli -p "$PORT" --pipe >/dev/null 2>&1
    [ "$(redis-cli -p "$PORT" XLEN s)" = "2000" ] || fail "XLEN"
    # Small replies still work; a reply over the limit drops that client.
    [ "$(redis-cli -p "$PORT" XRANGE s - + COUNT 1 | wc -l)" = "3" ] || fail "small XRANGE"
    R=$(redis-cli -p "$PORT" XRANGE s - + 2>&1 | head -c 200)
    grep -q "scheduled to be closed ASAP for overcoming of output buffer limits." "$D/log" ||
        fail "no output-limit log line (reply: $R)"
    # A client that writes but never reads: the server stops reading it
    # (backpressure) instead of buffering without end, and stays responsive.
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    (for i in $(seq 20000); do printf 'XRANGE s - + COUNT 20\r\n'; done) >&3 &
    WP=$!
    # Ask once the server holds over half its 16 KiB output buffer for it:
    # that is when runneld stops reading a client (backpressure).
    wait_until 30 xrange_client_paused || fail "the never-reading client was not throttled"
    [ "$(redis-cli -p "$PORT" PING)" = "PONG" ] || fail "server stuck behind a slow reader"
    kill "$WP" 2>/dev/null; exec 3<&-
    redis-cli -p "$PORT" INFO stats | grep -q '^client_output_buffer_limit_disconnections:1' ||
        fail "disconnection counter"
    stop_term
    ;;
protected)
    IP=$(hostname -I 2>/dev/null | awk '{print $1}')
    # 77: ctest reports the test as skipped (SKIP_RETURN_CODE), not passed.
    case "$IP" in ""|127.*|*:*) echo "SKIP: no non-loopback IPv4 address"; exit 77;; esac
    start --bind 127.0.0.1 "$IP"
    R=$(redis-cli -h "$IP" -p "$PORT" PING 2>&1)
    echo "$R" | grep -q "^DENIED Redis is running in protected mode" || fail "not denied: $R"
    [ "$(redis-cli -p "$PORT" PING)" = "PONG" ] || fail "loopback refused"
    stop_term
    start --bind 127.0.0.1 "$IP" --requirepass pw
    R=$(redis-cli -h "$IP" -p "$PORT" -a pw --no-auth-warning PING 2>&1)
    [ "$R" = "PONG" ] || fail "with a password the remote client must be let in: $R"
    stop_term
    ;;
*)
    fail "unknown case $CASE"
    ;;
esac
grep -E "Closing|scheduled|Protocol" "$D/log"
echo "PASS $CASE"
