# bench-common.sh - what the benchmark scripts share (sourced, not run):
# a free loopback port, waiting for a server's PING, and redis-benchmark's
# requests per second. Needs $PY (python3) for free_port.

# free_port -> a port the kernel just handed out on 127.0.0.1
free_port() { "${PY:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_ping PORT: polls PING for up to 10 s (a server that loads a big
# store or AOF may take longer: WAIT_PING_TRIES raises it); exits 2 if the
# server never answers.
wait_ping() {
  for _ in $(seq "${WAIT_PING_TRIES:-100}"); do
    [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "error: server on port $1 did not answer PING" >&2; exit 2
}

# rps PORT ARGS... -> requests per second from redis-benchmark --csv
rps() {
  local port=$1; shift
  redis-benchmark -h 127.0.0.1 -p "$port" --csv "$@" 2>/dev/null | awk -F'","' 'NR==2 {print $2}'
}

# find_runneld [PATH] -> the runneld to measure: PATH, else the newest
# build*/tools/runneld/runneld of the tree ($here); also checks that the
# redis tools are there. Exits 2 with a reason otherwise.
find_runneld() {
  local rd=$1 tool
  [ -n "$rd" ] || rd=$(ls -t "$here"/build*/tools/runneld/runneld 2>/dev/null | head -n1 || true)
  for tool in redis-server redis-cli redis-benchmark; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 2; }
  done
  [ -n "$rd" ] && [ -x "$rd" ] || { echo "error: runneld binary not found; pass its path" >&2; exit 2; }
  realpath "$rd"
}
