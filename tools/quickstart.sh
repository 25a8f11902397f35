#!/usr/bin/env bash
# quickstart.sh - from a fresh Debian 12 machine to a running runneld.
#
#   tools/quickstart.sh [runneld options...]      e.g. --store-size 16mb
#
# Installs the build tools (and redis-cli to talk to it), builds runneld
# optimised and without sanitizers into build/, and runs it in the
# foreground on 127.0.0.1:6379 with its built-in default store (a 64 MiB
# file, runnel.store, in the current directory, kept across restarts; see
# `build/tools/runneld/runneld --help`). Ctrl-C stops it.
# PORT=6380 tools/quickstart.sh picks another port (e.g. when a Redis
# already listens on 6379).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${PORT:-6379}

need=()
for p in cmake make gcc libc6-dev redis-tools; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "quickstart: installing ${need[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRUNNEL_SANITIZE=OFF >/dev/null
cmake --build build --target runneld -j"$(nproc)"

echo "quickstart: runneld on 127.0.0.1:$port - try: redis-cli -p $port XADD s '*' temp 21.5"
exec build/tools/runneld/runneld --bind 127.0.0.1 --port "$port" "$@"
