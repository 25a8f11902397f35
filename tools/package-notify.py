#!/usr/bin/env python3
"""package-notify.py SOCKET READY_FILE SECONDS - a stand-in for systemd's
notify socket (tools/package-test.sh): binds SOCKET (AF_UNIX datagram),
prints every message, and exits 0 once one carries READY=1 (writing it to
READY_FILE), or 1 after SECONDS without it. The socket is made writable for
the unprivileged service user, as systemd's is."""
import os
import socket
import sys
import time

path, ready_file, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
os.chmod(os.path.dirname(os.path.abspath(path)), 0o755)
deadline = time.monotonic() + secs
while time.monotonic() < deadline:
    s.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        msg = s.recv(4096).decode(errors="replace")
    except socket.timeout:
        break
    print("notify: " + msg.replace("\n", " ").strip())
    if "READY=1" in msg:
        with open(ready_file, "w") as f:
            f.write(msg)
        sys.exit(0)
print("notify: no READY=1 within %g s" % secs)
sys.exit(1)
