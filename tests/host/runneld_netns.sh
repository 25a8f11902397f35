#!/bin/sh
# runneld_netns.sh CMD... - runs CMD in a private network namespace with its
# own loopback, so a runneld started with no flags can take port 6379 next
# to anything else on the machine (other tests, a real redis-server). Needs
# unprivileged user namespaces (or root); without them CMD runs as is and
# runneld_mem.py skips (77) if 6379 is taken.
if unshare -rn true 2>/dev/null; then
    exec unshare -rn sh -c 'ip link set lo up 2>/dev/null || ifconfig lo up 2>/dev/null; exec "$@"' sh "$@"
fi
exec "$@"
