#!/usr/bin/python3
"""runneld_basic.py - the runneld binary's own behaviour as a process and a
socket server: start, answer, limits, and stop (ctest runneld_<case>,
tests/host/runneld.cmake). Servers come from the shared fixture
(tests/interop/servers.py: a private dir, a free port, a unix socket);
checks are reported through tests/interop/checks.py; every wait polls a
condition with a deadline.

    runneld_basic.py smoke|sigint|limits|output|protected --runneld PATH

  smoke      XADD over TCP answers an ID, XLEN over the unix socket, INFO
             server says 7.0.15, a 1,000-command pipeline in one write comes
             back complete (redis-cli --pipe), the ready line; SIGTERM exits
             0 with Redis's shutdown lines and removes the unix socket.
  sigint     SIGINT exits 0 with its log line.
  limits     NOAUTH/AUTH; a bulk over proto-max-bulk-len is refused at its
             header; an endless inline line and a multibulk over
             client-query-buffer-limit close the client with Redis's log
             line; maxclients refuses the 4th connection with Redis's error
             and counts it; closed slots are free again.
  output     a reply over client-output-buffer-limit closes that client
             (logged, counted); a client that writes but never reads is
             throttled (the server stops reading it) and the server stays
             responsive.
  protected  protected mode: a client from a non-loopback address is DENIED
             without requirepass and let in with it. Exits 77 (ctest:
             Skipped, never Passed) when the host has no non-loopback IPv4
             address.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import servers  # noqa: E402
import respclient  # noqa: E402
from checks import check, finish  # noqa: E402

SKIP = 77


def cli(srv, *args, **kw):
    """redis-cli (the real client) against srv's TCP port; its stdout."""
    argv = ["redis-cli", "-p", str(srv.port)] + list(kw.get("pre", [])) + [str(a) for a in args]
    return subprocess.run(argv, input=kw.get("stdin"), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60).stdout.decode("latin-1").strip()


def log_has(srv, text):
    return text in srv.read_log(limit=None)


def stop_term(srv, sig=signal.SIGTERM, name="SIGTERM"):
    sock = srv.unix
    srv.proc.send_signal(sig)
    rc = srv.wait_exit(10)
    check("%s: exit status 0 within 10 s (got %r)" % (name, rc), rc == 0, srv.read_log())
    check("%s: Redis's shutdown log line" % name,
          log_has(srv, "Received %s scheduling shutdown..." % name))
    if sig == signal.SIGTERM:
        check("SIGTERM: the bye line", log_has(srv, "ready to exit, bye bye"))
        check("SIGTERM: the unix socket removed", sock is None or not os.path.exists(sock))


def case_smoke(exe):
    with servers.Server.runneld(exe, unixsocket=True) as srv:
        rid = cli(srv, "XADD", "s", "*", "f", "v")
        check("XADD over TCP answers an ID (%s)" % rid, rid.endswith("-0") and rid[:-2].isdigit())
        c = srv.connect()
        check("XLEN over the unix socket", c.value("XLEN", "s") == 1)
        c.close()
        check("INFO server says redis_version:7.0.15",
              srv.info_fields("server").get("redis_version") == "7.0.15")
        pipe = b"".join(b"XADD p * i %d\r\n" % i for i in range(1, 1001))
        out = cli(srv, pre=["--pipe"], stdin=pipe)
        check("a 1000-command pipeline in one write: every reply (%s)" % out.splitlines()[-1:],
              "errors: 0, replies: 1000" in out)
        check("XLEN after the pipeline", cli(srv, "XLEN", "p") == "1000")
        check("the ready line", log_has(srv, "Ready to accept connections"))
        stop_term(srv)


def case_sigint(exe):
    with servers.Server.runneld(exe, unixsocket=True) as srv:
        stop_term(srv, signal.SIGINT, "SIGINT")


def expect_closed(conn, what, wait=5.0):
    check(what, conn.is_eof(wait))
    conn.close()


def case_limits(exe):
    extra = ["--maxclients", "3", "--client-query-buffer-limit", "64kb", "--timeout", "0"]
    with servers.Server.runneld(exe, password="pw", extra=extra) as srv:
        check("NOAUTH before AUTH", "NOAUTH" in cli(srv, "XLEN", "s"))
        check("AUTH, then a command", cli(srv, "XLEN", "s", pre=["-a", "pw", "--no-auth-warning"]) == "0")
        # A bulk over proto-max-bulk-len (512mb, as Redis) is refused at its header.
        c = srv.connect(auth=False)
        c.send_raw(b"*2\r\n$4\r\nECHO\r\n$999999999\r\n")
        raw, _ = c.read_reply(timeout=5)
        check("a bulk over proto-max-bulk-len: invalid bulk length (%r)" % raw,
              b"Protocol error: invalid bulk length" in raw)
        c.close()
        # An inline command with no end grows to the limit: closed.
        c = srv.connect(auth=False)
        try:
            c.send_raw(b"a" * 70000)
        except OSError:
            pass
        expect_closed(c, "an endless inline line over client-query-buffer-limit: closed")
        # A command whose arguments together exceed the limit (each bulk is
        # under it) fills the query buffer: closed with Redis's log line.
        c = srv.connect(auth=False)
        try:
            c.send_raw(b"*3\r\n$4\r\nECHO\r\n$40000\r\n" + b"b" * 40000 + b"\r\n$40000\r\n" + b"c" * 30000)
        except OSError:
            pass
        expect_closed(c, "a multibulk over client-query-buffer-limit: closed")
        check("Redis's query-buffer log line",
              servers.wait_until(lambda: log_has(srv, "Closing client that reached max query buffer length"), 5))
        check("the multibulk is the one logged, quoted as Redis does", log_has(srv, r'(qbuf initial bytes: "*3\r\n$4\r\nECHO\r\n$40000\r\nbbbb'),
              srv.read_log())
        # maxclients: with 3 connections held, the 4th is refused. Each of
        # the 3 answers a command first, so the server has accepted it.
        held = [srv.connect(auth=False) for _ in range(3)]
        check("AUTH on a held connection", held[0].call("AUTH", "pw")[0] == b"+OK\r\n")
        for i in (1, 2):
            raw = held[i].call("PING")[0]
            check("PING on held connection %d: NOAUTH (%r)" % (i, raw),
                  raw == b"-NOAUTH Authentication required.\r\n")
        extra_conn = respclient.Conn(port=srv.port, timeout=5)
        try:
            raw, _ = extra_conn.read_reply(timeout=5)
        except (respclient.ConnectionClosed, respclient.ReplyTimeout) as e:
            raw = repr(e).encode()
        check("the 4th connection: max number of clients reached (%r)" % raw,
              raw == b"-ERR max number of clients reached\r\n")
        extra_conn.close()
        for c in held[1:]:
            c.close()
        check("closed slots freed (connected_clients 1)",
              servers.wait_until(lambda: srv.info_int("clients", "connected_clients", held[0]) == 1, 5))
        held[0].close()
        check("a new client after the closes",
              cli(srv, "PING", pre=["-a", "pw", "--no-auth-warning"]) == "PONG")
        c = srv.connect()
        check("rejected_connections:1", srv.info_int("stats", "rejected_connections", c) == 1)
        c.close()
        stop_term(srv)


def xrange_client_paused(srv):
    """CLIENT LIST shows the XRANGE client with over 8 KiB of replies waiting
    (obl), over half of --client-output-buffer-limit 16kb: the point where
    runneld stops reading it."""
    for line in cli(srv, "CLIENT", "LIST").splitlines():
        f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        if f.get("cmd") == "xrange" and int(f.get("obl", "0")) > 8192:
            return True
    return False


def case_output(exe):
    with servers.Server.runneld(exe, extra=["--client-output-buffer-limit", "16kb"]) as srv:
        cli(srv, pre=["--pipe"], stdin=b"".join(b"XADD s * field%d value%d\r\n" % (i, i)
                                                for i in range(1, 2001)))
        check("XLEN 2000", cli(srv, "XLEN", "s") == "2000")
        check("a small XRANGE still works", len(cli(srv, "XRANGE", "s", "-", "+", "COUNT", "1").splitlines()) == 3)
        cli(srv, "XRANGE", "s", "-", "+")
        check("a reply over the output limit closes the client (logged)",
              servers.wait_until(lambda: log_has(
                  srv, "scheduled to be closed ASAP for overcoming of output buffer limits."), 5),
              srv.read_log())
        # A client that writes but never reads: the server stops reading it
        # (backpressure) instead of buffering without end.
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        stop = threading.Event()

        def writer():
            cmd = b"XRANGE s - + COUNT 20\r\n"
            try:
                for _ in range(20000):
                    if stop.is_set():
                        return
                    sock.sendall(cmd)
            except OSError:
                pass
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        check("the never-reading client is throttled", servers.wait_until(lambda: xrange_client_paused(srv), 30))
        check("the server answers others meanwhile", cli(srv, "PING") == "PONG")
        stop.set()
        sock.close()
        t.join(10)
        check("client_output_buffer_limit_disconnections:1",
              srv.info_int("stats", "client_output_buffer_limit_disconnections") == 1)
        stop_term(srv)


def non_loopback_ipv4():
    try:
        out = subprocess.run(["hostname", "-I"], stdout=subprocess.PIPE, timeout=10).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        return None
    for a in out.split():
        if ":" not in a and not a.startswith("127."):
            return a
    return None


def case_protected(exe):
    ip = non_loopback_ipv4()
    if ip is None:
        print("SKIP: no non-loopback IPv4 address")
        return SKIP
    with servers.Server.runneld(exe, extra=["--bind", "127.0.0.1", ip]) as srv:
        out = subprocess.run(["redis-cli", "-h", ip, "-p", str(srv.port), "PING"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=30).stdout.decode()
        check("a non-loopback client is DENIED (%s)" % out[:60],
              out.startswith("DENIED Redis is running in protected mode"))
        check("loopback is let in", cli(srv, "PING") == "PONG")
        stop_term(srv)
    with servers.Server.runneld(exe, extra=["--bind", "127.0.0.1", ip, "--requirepass", "pw"]) as srv:
        out = subprocess.run(["redis-cli", "-h", ip, "-p", str(srv.port), "-a", "pw", "--no-auth-warning",
                              "PING"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=30).stdout.decode().strip()
        check("with a password the remote client is let in (%s)" % out, out == "PONG")
        stop_term(srv)
    return None


CASES = {"smoke": case_smoke, "sigint": case_sigint, "limits": case_limits,
         "output": case_output, "protected": case_protected}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--runneld")
    a = ap.parse_args()
    exe = servers.find_runneld(a.runneld)
    if exe is None or shutil.which("redis-cli") is None:
        print("SKIP: runneld or redis-cli not found")
        return SKIP
    if CASES[a.case](exe) == SKIP:
        return SKIP
    return finish(a.case)


if __name__ == "__main__":
    sys.exit(main())
