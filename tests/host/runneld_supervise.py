#!/usr/bin/env python3
"""runneld_supervise.py - runneld as systemd and logrotate see it.

  runneld_supervise.py notify --runneld BIN   supervised systemd over a fake
      $NOTIFY_SOCKET (path and abstract): STATUS= then READY=1 only once a
      client can connect, INFO process_supervised:systemd, STOPPING=1 at
      SIGTERM; `supervised auto` follows NOTIFY_SOCKET; upstart is refused
  runneld_supervise.py sighup --runneld BIN   logfile moved away (logrotate)
      then SIGHUP: runneld writes to a new file at the same path, and the
      server keeps answering
  runneld_supervise.py version --runneld BIN  runneld --version and INFO
      server say the version of core/runnel.h (RUNNEL_VERSION_STRING)

Every wait polls a condition with a deadline; nothing sleeps a fixed time.
Servers listen on a Unix socket only (port 0), so runs never collide.
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from servers import Server, wait_until  # noqa: E402
from checks import check, finish  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def runneld_in(exe, d, flags, notify_socket=None):
    """runneld in `d` on a unix socket with a RAM store, through the shared
    interop fixture (tests/interop/servers.py); NOTIFY_SOCKET is set only
    when given (the test's own environment may carry systemd's)."""
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    if notify_socket is not None:
        env["NOTIFY_SOCKET"] = notify_socket
    return Server.runneld(exe, unixsocket=True, workdir=d, log_name="stderr.log", env=env,
                          extra=["--store-type", "ram", "--store-size", "1mb",
                                 "--store-block-size", "16kb", "--dir", d] + list(flags))


def connect_or_none(srv):
    try:
        return srv.connect(timeout=5)
    except OSError:
        return None


def recv_all(ns, until, secs):
    """Datagrams from the fake notify socket until one contains `until`."""
    got = []
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        ns.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            got.append(ns.recv(4096).decode())
        except socket.timeout:
            break
        if until in got[-1]:
            break
    return got


def notify_run(exe, d, address, bind_address, flags, label):
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(bind_address)
    srv = runneld_in(exe, d, flags, address).start(wait=False)
    try:
        msgs = recv_all(ns, "READY=1", 60)
        ready = [m for m in msgs if "READY=1" in m]
        check("%s: READY=1 received" % label, bool(ready), repr(msgs))
        check("%s: a STATUS= before READY" % label, any("STATUS=" in m for m in msgs), repr(msgs))
        # READY=1 means clients can connect now: no retry loop here.
        c = connect_or_none(srv)
        check("%s: a client connects as soon as READY=1 arrived" % label, c is not None)
        if c is not None:
            check("%s: PING" % label, c.value("PING") in ("PONG", b"PONG"))
            info = c.value("INFO", "server")
            info = info.decode() if isinstance(info, bytes) else info
            check("%s: INFO process_supervised:systemd" % label, "process_supervised:systemd" in info)
            c.close()
        srv.proc.send_signal(signal.SIGTERM)
        msgs = recv_all(ns, "STOPPING=1", 30)
        check("%s: STOPPING=1 at SIGTERM" % label, any("STOPPING=1" in m for m in msgs), repr(msgs))
        check("%s: exit 0" % label, srv.wait_exit(30) == 0)
    finally:
        srv.stop()
        ns.close()


def case_notify(opts):
    with tempfile.TemporaryDirectory(prefix="runneld-notify-") as d:
        path = os.path.join(d, "notify.sock")
        notify_run(opts.runneld, d, path, path, ["--supervised", "systemd"], "path socket")
    with tempfile.TemporaryDirectory(prefix="runneld-notify-") as d:
        name = "runnel-test-notify-%d" % os.getpid()
        notify_run(opts.runneld, d, "@" + name, "\0" + name, ["--supervised", "auto"],
                   "abstract socket, supervised auto")
    # Not supervised: no datagram, INFO says no.
    with tempfile.TemporaryDirectory(prefix="runneld-notify-") as d:
        path = os.path.join(d, "notify.sock")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(path)
        srv = runneld_in(opts.runneld, d, [], path).start(timeout=60)
        c = connect_or_none(srv)
        check("supervised no: serves", c is not None)
        if c is not None:
            info = c.value("INFO", "server")
            info = info.decode() if isinstance(info, bytes) else info
            check("supervised no: INFO process_supervised:no", "process_supervised:no" in info)
            c.close()
        ns.setblocking(False)
        try:
            stray = ns.recv(4096)
        except BlockingIOError:
            stray = None
        check("supervised no: nothing sent to NOTIFY_SOCKET", stray is None, repr(stray))
        srv.stop()
        ns.close()
    r = subprocess.run([opts.runneld, "--supervised", "upstart", "--test-config"],
                       capture_output=True, text=True, timeout=60)
    check("supervised upstart is refused with a reason",
          r.returncode != 0 and "upstart" in (r.stdout + r.stderr), r.stdout + r.stderr)


def case_sighup(opts):
    with tempfile.TemporaryDirectory(prefix="runneld-hup-") as d:
        logf = os.path.join(d, "runneld.log")
        srv = runneld_in(opts.runneld, d, ["--logfile", logf]).start(timeout=60)
        try:
            c = connect_or_none(srv)
            check("serves with a logfile", c is not None)
            check("log lines go to the logfile",
                  wait_until(lambda: os.path.exists(logf) and b"Ready to accept" in open(logf, "rb").read(), 10))
            os.rename(logf, logf + ".1")   # what logrotate does
            srv.proc.send_signal(signal.SIGHUP)
            check("SIGHUP: a new logfile at the same path",
                  wait_until(lambda: os.path.exists(logf) and b"re-opened" in open(logf, "rb").read(), 10))
            check("SIGHUP: the server keeps running", srv.alive())
            if c is not None:
                check("SIGHUP: the client still gets answers", c.value("PING") in ("PONG", b"PONG"))
                c.close()
            srv.term()
            new = open(logf, "rb").read()
            old = open(logf + ".1", "rb").read()
            check("shutdown lines go to the new file, not the rotated one",
                  b"bye bye" in new and b"bye bye" not in old)
        finally:
            srv.stop()
    # stderr logging: SIGHUP is harmless.
    with tempfile.TemporaryDirectory(prefix="runneld-hup-") as d:
        srv = runneld_in(opts.runneld, d, []).start(timeout=60)
        c = connect_or_none(srv)
        srv.proc.send_signal(signal.SIGHUP)
        if c is not None:
            check("SIGHUP without a logfile: still answers", c.value("PING") in ("PONG", b"PONG"))
            c.close()
        check("SIGHUP without a logfile: still running", srv.alive())
        check("SIGHUP without a logfile: clean exit", srv.term() == 0)


def case_version(opts):
    header = open(os.path.join(HERE, "..", "..", "core", "runnel.h")).read()
    m = re.search(r'#define RUNNEL_VERSION_STRING "([0-9.]+)"', header)
    check("core/runnel.h has RUNNEL_VERSION_STRING", m is not None)
    want = m.group(1) if m else "?"
    r = subprocess.run([opts.runneld, "--version"], capture_output=True, text=True, timeout=30)
    check("runneld --version says %s" % want, r.returncode == 0 and ("v=%s " % want) in r.stdout, r.stdout)
    with tempfile.TemporaryDirectory(prefix="runneld-ver-") as d:
        srv = runneld_in(opts.runneld, d, []).start(timeout=60)
        c = connect_or_none(srv)
        if check("serves", c is not None):
            info = c.value("INFO", "server")
            info = info.decode() if isinstance(info, bytes) else info
            check("INFO server runnel_version:%s" % want, ("runnel_version:%s\r\n" % want) in info)
            c.close()
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["notify", "sighup", "version"])
    ap.add_argument("--runneld", required=True)
    opts = ap.parse_args()
    {"notify": case_notify, "sighup": case_sighup, "version": case_version}[opts.case](opts)
    return finish(opts.case)


if __name__ == "__main__":
    sys.exit(main())
