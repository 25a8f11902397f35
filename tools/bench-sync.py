#!/usr/bin/python3
"""bench-sync.py - how fast runneld drains a backlog into a real Redis.

    tools/bench-sync.py RUNNELD [-n 1000000] [--redis-server PATH]

Not a timed test: a measurement, printed as a table for the README. One run
on this machine, side by side, against the same local redis-server 7.0
(--save '' --appendonly no, FLUSHALL between rows):

  1. runneld's forwarder: N entries of 32 B payload (field "v" + a 31-byte
     value) are written while the upstream is down (nothing listens on its
     port); then redis-server starts on that port. Measured: the time from
     redis-server answering PING to the first entry upstream (it includes
     the forwarder's reconnect backoff: sync-backoff-max-ms 1000 here), the
     drain rate (first to last entry upstream), RESP bytes sent per
     payload byte (INFO sync_bytes_sent / (N x 32)) and the persisted
     cursor records written (INFO sync_cursor_saves).
  2. redis-benchmark -P 64 XADD with the same 32 B payload, 1 connection
     (the forwarder's shape) and 50 connections (redis-benchmark's default).
  3. a plain redis-py forwarder: XRANGE 1,000 entries from runneld, then one
     pipeline of 1,000 XADD <id> to the upstream, until done.

Each row ends by checking the upstream holds N entries.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(cond, timeout, step=0.001):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise RuntimeError("timed out")


def ping(cli):
    try:
        return cli.ping()
    except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError, FileNotFoundError):
        return False


VALUE = "x" * 31


def fill(cli, key, n, batch=10000):
    done = 0
    while done < n:
        p = cli.pipeline(transaction=False)
        k = min(batch, n - done)
        for _ in range(k):
            p.execute_command("XADD", key, "*", "v", VALUE)
        p.execute()
        done += k


def cpu_s(pid):
    """utime + stime of a process, in seconds (Linux /proc)."""
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runneld")
    ap.add_argument("-n", type=int, default=1000000)
    ap.add_argument("--runneld-arg", action="append", default=[],
                    help="an extra runneld argument (repeat), e.g. --runneld-arg=--sync-batch")
    ap.add_argument("--redis-server", default=shutil.which("redis-server") or "/usr/bin/redis-server")
    a = ap.parse_args()
    n = a.n
    d = tempfile.mkdtemp(prefix="bench-sync-")
    rport = free_port()
    sock = os.path.join(d, "r.sock")
    procs = []
    rows = []
    try:
        rd = subprocess.Popen([a.runneld, "--port", "0", "--unixsocket", sock, "--dir", d,
                               "--store-type", "ram", "--store-size", "512mb",
                               "--store-block-size", "256kb", "--sync-backoff-max-ms", "1000",
                               "--upstream", "redis://127.0.0.1:%d" % rport] + a.runneld_arg,
                              stdout=open(os.path.join(d, "runneld.log"), "w"),
                              stderr=subprocess.STDOUT)
        procs.append(rd)
        rcli = redis.Redis(unix_socket_path=sock, socket_timeout=300)
        wait_for(lambda: ping(rcli), 30, 0.01)
        t0 = time.monotonic()
        fill(rcli, "bench", n)
        print("filled runneld with %d entries of 32 B in %.1f s (upstream down)"
              % (n, time.monotonic() - t0), flush=True)

        up = subprocess.Popen([a.redis_server, "--port", str(rport), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", d],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(up)
        ucli = redis.Redis(port=rport, socket_timeout=300)
        wait_for(lambda: ping(ucli), 30)
        t_up = time.monotonic()
        wait_for(lambda: ucli.xlen("bench") > 0, 60)
        t_first = time.monotonic()
        c_rd, c_up = cpu_s(rd.pid), cpu_s(up.pid)
        wait_for(lambda: ucli.xlen("bench") >= n, 600, 0.005)
        t_done = time.monotonic()
        c_rd, c_up = cpu_s(rd.pid) - c_rd, cpu_s(up.pid) - c_up
        info = rcli.info("sync")
        sent = int(info["sync_bytes_sent"])
        rate = n / (t_done - t_first)
        rows.append(("runneld forwarder (1 connection, pipelined XADD <id>)", rate))
        first_ms = (t_first - t_up) * 1000
        bpb = sent / (n * 32.0)
        saves = int(rcli.info("sync").get("sync_cursor_saves", 0))
        print("runneld: first entry upstream %.0f ms after the upstream came back; drained %d in "
              "%.2f s: %.0f entries/s; %.2f bytes sent per payload byte (%d bytes); CPU during "
              "the drain: runneld %.2f s, redis-server %.2f s; persisted cursor records: %d"
              % (first_ms, n, t_done - t_first, rate, bpb, sent, c_rd, c_up, saves), flush=True)
        ok = ucli.xlen("bench") == n
        ucli.flushall()

        # redis-benchmark with the same payload.
        rb = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"
        for clients in (1, 50):
            ucli.flushall()
            t0 = time.monotonic()
            subprocess.run([rb, "-p", str(rport), "-n", str(n), "-P", "64", "-c", str(clients), "-q",
                            "XADD", "rb", "*", "v", VALUE], stdout=subprocess.DEVNULL, check=True)
            dt = time.monotonic() - t0
            got = ucli.xlen("rb")
            ok = ok and got == n
            rows.append(("redis-benchmark -P 64 -c %d XADD" % clients, n / dt))
            print("redis-benchmark -P 64 -c %d: %.0f entries/s" % (clients, n / dt), flush=True)

        # A plain redis-py forwarder.
        ucli.flushall()
        t0 = time.monotonic()
        start = "-"
        moved = 0
        while True:
            part = rcli.execute_command("XRANGE", "bench", start, "+", "COUNT", 1000)
            if not part:
                break
            p = ucli.pipeline(transaction=False)
            for eid, fields in part:   # redis-py parses the fields into a dict
                flat = [x for kv in fields.items() for x in kv]
                p.execute_command("XADD", "bench", eid, *flat)
            p.execute()
            moved += len(part)
            start = b"(" + part[-1][0]
            if len(part) < 1000:
                break
        dt = time.monotonic() - t0
        ok = ok and ucli.xlen("bench") == n and moved == n
        rows.append(("redis-py forwarder (XRANGE 1,000 + pipeline of 1,000 XADD)", n / dt))
        print("redis-py forwarder: %.0f entries/s" % (n / dt), flush=True)

        base = rows[1][1]
        print()
        print("| forwarder | entries/s | / redis-benchmark -P 64 -c 1 |")
        print("| --- | ---: | ---: |")
        for name, r in rows:
            print("| %s | %s | %.2f |" % (name, "{:,.0f}".format(r), r / base))
        print()
        print("first entry upstream after the link came back: %.0f ms; bytes sent per payload "
              "byte: %.2f" % (first_ms, bpb))
        if not ok:
            print("FAIL: an upstream does not hold %d entries" % n)
            return 1
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
