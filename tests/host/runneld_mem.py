#!/usr/bin/python3
"""runneld_mem.py - runneld's memory model over real sockets (issue 9).

    runneld_mem.py CASE --runneld PATH [--emulator "qemu-arm -L /usr/arm-linux-gnueabihf"]

Cases (each starts its own server in a temp dir and stops it with SIGTERM):
  idle      RSS/VSZ from /proc/PID/status with the default configuration
            (VSZ <= 256 MiB; RSS minus the store ring and the engine arena,
            which are resident from start, <= 8 MiB) and with a 1 MiB store
            (RSS <= 8 MiB); then 1,000 idle clients and back. Needs a build
            without sanitizers (runneld_plain).
  bigreply  defaults: 100 entries of 60 KB; XRANGE returns all 6 MB; an
            XREADGROUP COUNT 100 returns all 100 and exactly those are
            pending, also when it was blocked and is woken by a transaction
            adding 6 MB; a client reading the 6 MB slowly gets every byte
            while another client's PINGs stay fast.
  stream    replies streamed from the log (store-type ram, 64 KiB blocks):
            a 100 MB XRANGE (1,600 x 64 KiB) and an XREADGROUP COUNT 100
            of 100 x 1 MiB (each spanning 17 blocks, sent in parts) read
            slowly: every byte matches, RSS stays
            < 16 MiB over idle, another client's PING+XADD < 1 s; the 100
            are pending; a range in flight is written out whole before an
            XDEL/XTRIM (the reader gets its command-time reply); under
            drop-oldest a reply whose entries are dropped is cut (closed,
            logged, a prefix of the right bytes). Needs runneld_plain.
  budget    maxmemory-clients 4mb: a client sending a huge bulk, then one
            asking for a 6 MB reply built whole (in EXEC), are evicted with
            Redis's "Evicting client: " line (a plain 6 MB XRANGE streams
            and fits); 20 other clients keep working;
            client-max-memory 2mb closes a greedy client with its own line.
  shrink    a client's query buffer grows with a 3 MB command and goes back
            when it is done; a big buffer left with a few bytes in it is cut
            back by the cron (INFO memory mem_clients_normal).
  buffers   the per-client buffers that grow on demand keep their contents:
            a MULTI queue of 3,000 commands (the queue moves as it grows:
            its argv pointers are rebased), WATCH of 2,000 keys, XREAD
            BLOCK on 500 keys, XINFO STREAM FULL and XAUTOCLAIM scratch;
            all freed again when idle.
  overflow  sizes that would wrap: configuration values past 2^64 or past
            the address space, counts past the protocol limits, an
            XAUTOCLAIM COUNT whose scratch size overflows; the server
            answers errors and stays up.
  many      the server started with NO flags (port 6379: run it in a private
            network namespace, e.g. `unshare -rn`), 1,000 concurrent clients
            each send PING + XADD and every reply is checked, XLEN is 1000,
            SIGTERM stops it. RLIMIT_NOFILE is raised first. Used by
            tools/test-all.sh for the armhf and mips builds under qemu-user.

Prints what it measures; exit 0 pass, 1 fail, 77 skip.
"""
import argparse
import os
import re
import resource
import selectors
import shlex
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import servers  # noqa: E402
from checks import FAILS, check, finish  # noqa: E402

EMULATOR = ""   # --emulator: every server runs under it


# ---------------------------------------------------------------- RESP --

def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Incomplete(Exception):
    pass


def parse(buf, pos):
    """One RESP2 value from buf at pos: (value, end). Errors come back as
    RuntimeError values; Incomplete if buf ends first."""
    i = buf.find(b"\r\n", pos)
    if i < 0:
        raise Incomplete()
    t, rest = buf[pos:pos + 1], bytes(buf[pos + 1:i])
    pos = i + 2
    if t == b"+":
        return rest.decode(), pos
    if t == b":":
        return int(rest), pos
    if t == b"-":
        return RuntimeError(rest.decode()), pos
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None, pos
        if len(buf) < pos + n + 2:
            raise Incomplete()
        return bytes(buf[pos:pos + n]), pos + n + 2
    if t == b"*":
        n = int(rest)
        if n < 0:
            return None, pos
        out = []
        for _ in range(n):
            v, pos = parse(buf, pos)
            out.append(v)
        return out, pos
    raise ValueError("bad reply line %r" % bytes(buf[pos - 2 - len(rest) - 1:i])[:80])


class Conn:
    """A blocking RESP client with a byte buffer (no library needed)."""

    def __init__(self, sock):
        self.s = sock
        self.buf = bytearray()

    @classmethod
    def unix(cls, path, timeout=10):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(path)
        return cls(s)

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def read(self):
        while True:
            try:
                v, end = parse(self.buf, 0)
            except Incomplete:
                self._fill()
                continue
            del self.buf[:end]
            return v

    def call(self, *args):
        self.send(enc(*args))
        return self.read()

    def closed_within(self, secs):
        """True if the server closes the connection (EOF or reset) in time."""
        self.s.settimeout(secs)
        try:
            while True:
                if not self.s.recv(1 << 20):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            return True

    def close(self):
        self.s.close()


# -------------------------------------------------------------- server --

def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


class MemServer(servers.Server):
    """runneld under test, started by the shared fixture
    (tests/interop/servers.py); connect() hands out this file's own RESP
    client (Conn), and stop() is a SIGTERM whose exit status counts."""

    def __enter__(self):
        self.start(timeout=60)   # under qemu-arm a start takes seconds
        return self

    def wait_ready(self, connect, secs=30):
        """A connection that has answered PING (the server is up already)."""
        deadline = time.monotonic() + secs
        while True:
            try:
                c = connect()
                if c.call("PING") == "PONG":
                    return c
                c.close()
            except OSError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)

    @property
    def sock(self):
        return self.unix

    def connect(self, timeout=10):
        return Conn.unix(self.unix, timeout)

    def status(self):
        out = {}
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmSize", "VmHWM"):
                    out[k] = int(v.split()[0])
        return out

    def wait_log(self, pattern, secs=5):
        return bool(servers.wait_until(lambda: re.search(pattern, self.read_log(None)), secs))

    def stop(self):
        """SIGTERM and its exit status (None: it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            rc = self.proc.returncode
            self._forget()
            return rc
        return self.term(20)

    def __exit__(self, *exc):
        self.stop()
        if FAILS:
            print("--- server log (tail):\n" + self.read_log(None)[-4000:])
        self.cleanup()
        return False


def Server(exe, args, emulator=None, unix=True):
    """unix: on a unix socket with `args`; else started with no flags at all
    (TCP 6379: the many-clients case, in a private network namespace)."""
    emu = shlex.split(EMULATOR if emulator is None else emulator)
    if unix:
        return MemServer.runneld(exe, extra=list(args), unixsocket=True, emulator=emu,
                                 log_name="log")
    return MemServer.runneld(exe, noflags=True, emulator=emu, log_name="log")


def info_field(c, section, name):
    text = c.call("INFO", section).decode()
    m = re.search(r"^%s:(\S+)" % re.escape(name), text, re.M)
    return m.group(1) if m else None


def fill_fat(c, key="fat", n=100, size=60000):
    body = b"".join(enc("XADD", key, "*", "v", (b"%06d" % i) * (size // 6)) for i in range(n))
    c.send(body)
    ids = [c.read() for _ in range(n)]
    assert all(isinstance(x, bytes) for x in ids), ids[:3]
    return ids


# --------------------------------------------------------------- cases --

def case_idle(opts):
    kib = 1024
    for label, args in (("default configuration", []), ("store-size 1mb", ["--store-size", "1mb"])):
        with Server(opts.runneld, args) as srv:
            c = srv.wait_ready(srv.connect)
            time.sleep(0.5)     # what is measured is a server left idle: time is the input
            st = srv.status()
            store = int(info_field(c, "memory", "runnel_memory_store"))
            arena = int(info_field(c, "memory", "runnel_memory_arena"))
            own = st["VmRSS"] - (store + arena) // kib
            print("     %s: VmRSS %d KiB, VmSize %d KiB (store ring %d KiB + engine arena %d KiB "
                  "resident from start; the broker's own %d KiB)"
                  % (label, st["VmRSS"], st["VmSize"], store // kib, arena // kib, own))
            check("%s: idle VSZ %d KiB <= 256 MiB" % (label, st["VmSize"]),
                  st["VmSize"] <= 256 * kib)
            check("%s: idle RSS beyond store and arena %d KiB <= 8 MiB" % (label, own),
                  own <= 8 * kib)
            if args:
                check("%s: idle RSS %d KiB <= 8 MiB" % (label, st["VmRSS"]), st["VmRSS"] <= 8 * kib)
                raise_nofile(4096)
                socks = []
                for _ in range(1000):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(srv.sock)
                    s.sendall(enc("PING"))
                    socks.append(s)
                for s in socks:
                    s.settimeout(10)
                    assert s.recv(64) == b"+PONG\r\n"
                with_clients = srv.status()["VmRSS"]
                mem = int(info_field(c, "memory", "mem_clients_normal"))
                print("     1,000 idle clients: VmRSS %d KiB (+%d KiB), mem_clients_normal %d B "
                      "(%d B a client)" % (with_clients, with_clients - st["VmRSS"], mem,
                                           mem // 1001))
                check("1,000 idle clients cost <= 2 KiB each (%d B)" % (mem // 1001),
                      mem // 1001 <= 2048)
                for s in socks:
                    s.close()
                # A 6 MB reply, then everything idle again.
                fill_fat(c, n=10)
                r = c.call("XRANGE", "fat", "-", "+")
                check("600 KB reply in a 1 MiB store", len(r) == 10)
                # Buffers shrink after 2 s idle (as Redis's clientsCron):
                # wait for RSS to come back, with a deadline, not a fixed time.
                t0 = time.monotonic()
                back = srv.status()["VmRSS"]
                while back - st["VmRSS"] > 2 * kib and time.monotonic() - t0 < 10:
                    time.sleep(0.1)
                    back = srv.status()["VmRSS"]
                print("     after the clients left and %.1f s idle: VmRSS %d KiB"
                      % (time.monotonic() - t0, back))
                check("RSS back within 2 MiB of idle (%d -> %d KiB)" % (st["VmRSS"], back),
                      back - st["VmRSS"] <= 2 * kib)
            c.close()


def case_bigreply(opts):
    with Server(opts.runneld, []) as srv:
        c = srv.wait_ready(srv.connect)
        ids = fill_fat(c)
        t0 = time.monotonic()
        r = r0 = c.call("XRANGE", "fat", "-", "+")
        total = sum(len(e[1][1]) for e in r) if isinstance(r, list) else 0
        print("     XRANGE fat - + : %d entries, %d value bytes in %.2fs" %
              (len(r) if isinstance(r, list) else -1, total, time.monotonic() - t0))
        check("XRANGE over 100 x 60 KB returns all 6 MB with the default config",
              isinstance(r, list) and len(r) == 100 and total == 6000000 and
              [e[0] for e in r] == ids)
        check("XGROUP CREATE", c.call("XGROUP", "CREATE", "fat", "g", "0") == "OK")
        r = c.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "100", "STREAMS", "fat", ">")
        got = r[0][1] if isinstance(r, list) else []
        pend = c.call("XPENDING", "fat", "g")
        check("XREADGROUP COUNT 100 returns all 100 entries it added to the PEL",
              len(got) == 100 and pend[0] == 100, "got %d, pending %r" % (len(got), pend))
        # A blocked XREADGROUP woken by a transaction of 100 x 60 KB: its
        # 6 MB reply is built while another client's command runs.
        check("XGROUP CREATE wake", c.call("XGROUP", "CREATE", "wake", "g", "$", "MKSTREAM") == "OK")
        w = srv.connect(timeout=30)
        w.send(enc("XREADGROUP", "GROUP", "g", "bob", "COUNT", "100", "BLOCK", "10000",
                   "STREAMS", "wake", ">"))
        # the reader must be blocked before the transaction that wakes it
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and info_field(c, "clients", "blocked_clients") != "1":
            time.sleep(0.01)
        check("reader blocked", info_field(c, "clients", "blocked_clients") == "1")
        c.call("MULTI")
        c.send(b"".join(enc("XADD", "wake", "*", "v", (b"%06d" % i) * 10000) for i in range(100)))
        queued = [c.read() for _ in range(100)]
        ex = c.call("EXEC")
        r = w.read()
        got = r[0][1] if isinstance(r, list) else []
        pend = c.call("XPENDING", "wake", "g")
        check("blocked XREADGROUP woken with a 6 MB reply gets all 100 entries",
              queued == ["QUEUED"] * 100 and len(ex) == 100 and len(got) == 100 and
              all(e[1][1] == (b"%06d" % i) * 10000 for i, e in enumerate(got)) and pend[0] == 100,
              "got %d, pending %r" % (len(got), pend))
        w.close()
        # A slow reader of the 6 MB: every byte arrives, others stay fast.
        slow = srv.connect()
        slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        slow.send(enc("XRANGE", "fat", "-", "+"))
        pinger = srv.connect()
        got, worst, t0, value = 0, 0.0, time.monotonic(), None
        slow.s.settimeout(10)
        while time.monotonic() - t0 < 60:
            d = slow.s.recv(65536)
            if not d:
                break
            slow.buf += d
            got += len(d)
            if got // 500000 != (got - len(d)) // 500000:
                p0 = time.monotonic()
                pinger.call("PING")
                worst = max(worst, time.monotonic() - p0)
                time.sleep(0.05)    # the slow reader is what is under test: it pauses
            if got >= 6000000:
                try:
                    value, end = parse(slow.buf, 0)
                    del slow.buf[:end]
                    break
                except Incomplete:
                    pass
        print("     slow reader: %d bytes in %.1fs, worst PING meanwhile %.3fs" %
              (got, time.monotonic() - t0, worst))
        check("slow reader of 6 MB got every byte",
              isinstance(value, list) and len(value) == 100 and not slow.buf and
              [e[1][1] for e in value] == [e[1][1] for e in r0])
        check("other clients fast meanwhile (worst PING %.3fs < 0.5s)" % worst, worst < 0.5)
        st = srv.status()
        print("     VmHWM %d KiB, VmRSS after %d KiB" % (st["VmHWM"], st["VmRSS"]))
        for x in (c, slow, pinger):
            x.close()


def fill_stream(c, key, n, size, batch=64):
    """n entries of `size` value bytes (entry i: its 6-digit number
    repeated), pipelined in batches; returns their IDs."""
    ids = []
    for b in range(0, n, batch):
        k = min(batch, n - b)
        c.send(b"".join(enc("XADD", key, "*", "v", value_of(i, size)) for i in range(b, b + k)))
        ids += [c.read() for _ in range(k)]
    assert all(isinstance(x, bytes) for x in ids), ids[:3]
    return ids


def value_of(i, size):
    return ((b"%06d" % i) * (size // 6 + 1))[:size]


def runnel_info(c, name):
    return int(info_field(c, "runnel", name))


def slow_read(srv, conn, idle_rss, other, total_hint, step=2 << 20):
    """Reads one reply slowly (64 KiB receive buffer, a pause every `step`
    bytes). At each pause: runneld's VmRSS and one PING + XADD on `other`,
    timed. Returns (value or None if closed first, bytes read, peak RSS
    over idle in KiB, worst latency in s)."""
    conn.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    conn.s.settimeout(30)
    got, peak, worst, nxt = 0, 0, 0.0, step
    while True:
        try:
            d = conn.s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            d = b""
        if not d:
            return None, got, peak, worst
        conn.buf += d
        got += len(d)
        if got >= nxt:
            nxt += step
            peak = max(peak, srv.status()["VmRSS"] - idle_rss)
            t0 = time.monotonic()
            pong = other.call("PING")
            xid = other.call("XADD", "side", "*", "k", "v")
            worst = max(worst, time.monotonic() - t0)
            assert pong == "PONG" and isinstance(xid, bytes), (pong, xid)
            time.sleep(0.005)   # the slow reader is what is under test: it pauses
        if got >= total_hint:
            try:
                value, end = parse(conn.buf, 0)
                del conn.buf[:end]
                return value, got, peak, worst
            except Incomplete:
                pass


def case_stream(opts):
    """Replies streamed from the log (tools/runneld/reply.c): a 100 MB
    XRANGE and an XREADGROUP of 100 entries of 1 MiB to slow readers, with
    RSS bounded and other clients fast; ranges written out whole before an
    XDEL/XTRIM; a drop-oldest ring that drops a range's entries cuts that
    reply (closed, logged), never corrupts it."""
    mib = 1 << 20
    # 64 KiB blocks (the default): each 1 MiB entry spans 17 of them and is
    # sent in parts as the reader drains (FORMAT.md "Spanning records",
    # core/cmd_reply_range.c). store-type ram: the ring is resident once
    # written, so what RSS adds during a transfer is the broker's own.
    args = ["--store-type", "ram", "--store-size", "320mb", "--store-block-size", "64kb"]
    with Server(opts.runneld, args) as srv:
        c = srv.wait_ready(srv.connect)
        other = srv.connect()
        many_ids = fill_stream(c, "many", 1600, 65536)
        fat_ids = fill_stream(c, "fat", 100, mib, batch=8)
        check("XGROUP CREATE fat g 0", c.call("XGROUP", "CREATE", "fat", "g", "0") == "OK")
        idle = srv.status()["VmRSS"]
        # RSS bound: the broker keeps per reader at most RD_OUT_HIGH_WATER
        # (256 KiB) of queued bytes, one fill chunk (64 KiB: an entry larger
        # than it goes out in parts, never whole) and the 64 KiB a reply is
        # written inline; 16 MiB leaves
        # room for the allocator and the kernel, and is far below the
        # 100 MB a reply held whole would add.
        bound = 16 * 1024
        for label, cmd, n_expect, size, ids in (
                ("XRANGE many - + (1,600 x 64 KiB)", ("XRANGE", "many", "-", "+"), 1600,
                 65536, many_ids),
                ("XREADGROUP COUNT 100 of 100 x 1 MiB",
                 ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "100", "STREAMS", "fat", ">"),
                 100, mib, fat_ids)):
            streamed = runnel_info(c, "runnel_streamed_replies")
            slow = srv.connect(timeout=30)
            t0 = time.monotonic()
            slow.send(enc(*cmd))
            value, got, peak, worst = slow_read(srv, slow, idle, other, n_expect * size)
            if value is not None and cmd[0] == "XREADGROUP":
                value = value[0][1] if value and value[0][0] == b"fat" else None
            ok = (isinstance(value, list) and len(value) == n_expect and
                  [e[0] for e in value] == ids and
                  all(e[1] == [b"v", value_of(i, size)] for i, e in enumerate(value)))
            print("     %s: %d bytes in %.1fs, RSS peak +%d KiB over %d KiB, worst PING+XADD "
                  "%.3fs" % (label, got, time.monotonic() - t0, peak, idle, worst))
            check("%s: every byte arrives and matches" % label, ok)
            check("%s: streamed (runnel_streamed_replies +1)" % label,
                  runnel_info(c, "runnel_streamed_replies") == streamed + 1)
            check("%s: RSS +%d KiB < %d KiB during the transfer" % (label, peak, bound),
                  peak < bound)
            check("%s: other client's PING+XADD worst %.3fs < 1s" % (label, worst), worst < 1.0)
            slow.close()
        pend = c.call("XPENDING", "fat", "g")
        check("the 100 entries are pending (%r)" % pend[:1], pend[0] == 100)
        # A reply in flight while its entries are deleted and trimmed: the
        # reader gets the reply of its command time (written out whole
        # first, as Redis holds it).
        mid_ids = fill_stream(c, "mid", 200, 65536)
        settled = runnel_info(c, "runnel_streamed_replies_written_whole")
        slow = srv.connect(timeout=30)
        slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        slow.send(enc("XRANGE", "mid", "-", "+"))
        while len(slow.buf) < 1 << 20:
            slow._fill()
        check("XDEL in the range", c.call("XDEL", "mid", mid_ids[150]) == 1)
        check("XTRIM the range", c.call("XTRIM", "mid", "MAXLEN", "10") == 189)
        value = slow.read()
        check("reader of a range deleted meanwhile gets the reply of its command time",
              isinstance(value, list) and [e[0] for e in value] == mid_ids and
              all(e[1] == [b"v", value_of(i, 65536)] for i, e in enumerate(value)))
        check("the range was written out whole before the XDEL",
              runnel_info(c, "runnel_streamed_replies_written_whole") == settled + 1)
        slow.close()
        for x in (c, other):
            x.close()
    # drop-oldest: appends drop the oldest nodes, entries of a reply in flight
    # among them. The reply is cut (connection closed, logged), and what
    # arrived is a prefix of the right reply.
    args = ["--store-type", "ram", "--store-size", "8mb", "--store-full-policy", "drop-oldest"]
    with Server(opts.runneld, args) as srv:
        c = srv.wait_ready(srv.connect)
        old_ids = fill_stream(c, "old", 100, 60000)
        expect = c.call("XRANGE", "old", "-", "+")
        slow = srv.connect(timeout=30)
        slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        slow.send(enc("XRANGE", "old", "-", "+"))
        while len(slow.buf) < 200000:
            slow._fill()
        fill_stream(c, "new", 100, 60000)
        dropped = c.call("XINFO", "STREAM", "old")
        closed = slow.closed_within(10)
        got = bytes(slow.buf)
        right = None
        try:
            parse(got, 0)
            right = "complete"
        except Incomplete:
            right = "cut"
        full = b"*%d\r\n" % len(old_ids) + b"".join(
            b"*2\r\n$%d\r\n%s\r\n*2\r\n$1\r\nv\r\n$60000\r\n%s\r\n"
            % (len(e[0]), e[0], e[1][1]) for e in expect)
        print("     drop-oldest: %s, first-entry %r" % (
            "closed" if closed else "open", dropped[dropped.index(b"first-entry") + 1][0]
            if b"first-entry" in dropped else None))
        check("drop-oldest: the reader whose entries were dropped is closed", closed)
        check("drop-oldest: what it got is a cut prefix of the right reply (%d bytes)" % len(got),
              right == "cut" and full.startswith(got))
        check("drop-oldest: logged", srv.wait_log("reply cannot be completed"))
        check("drop-oldest: runnel_streamed_replies_cut 1",
              runnel_info(c, "runnel_streamed_replies_cut") == 1)
        c.close()


def case_budget(opts):
    with Server(opts.runneld, ["--maxmemory-clients", "4mb"]) as srv:
        c = srv.wait_ready(srv.connect)
        others = [srv.connect() for _ in range(20)]
        for o in others:
            assert o.call("PING") == "PONG"
        fill_fat(c)
        # Greedy 1: a 8 MB bulk, sent until the server stops it.
        g = srv.connect()
        g.send(b"*2\r\n$4\r\nECHO\r\n$8000000\r\n")
        sent = 0
        try:
            for _ in range(80):
                g.send(b"x" * 65536)
                sent += 65536
        except OSError:
            pass
        closed = g.closed_within(5)
        check("greedy client (big bulk, %d KB sent) disconnected" % (sent // 1024), closed)
        check("log: Evicting client: id=... (Redis's line)",
              srv.wait_log(r"Evicting client: id=\d+ addr=\S+ .*cmd=NULL"))
        # Greedy 2: a 6 MB reply built whole (EXEC's replies are).
        g2 = srv.connect()
        g2.send(enc("MULTI") + enc("XRANGE", "fat", "-", "+") + enc("EXEC"))
        check("client asking for a 6 MB reply built whole over a 4 MB budget disconnected",
              g2.closed_within(5))
        check("log: evicted the EXEC client",
              srv.wait_log(r"Evicting client: .*obl=6\d{6} .*cmd=(exec|xrange)"))
        # The same 6 MB as a plain XRANGE streams from the log: it costs the
        # reader one buffer, so it fits the budget and arrives whole.
        g3 = srv.connect()
        r = g3.call("XRANGE", "fat", "-", "+")
        check("a streamed 6 MB XRANGE under a 4 MB budget arrives whole",
              isinstance(r, list) and len(r) == 100 and
              sum(len(e[1][1]) for e in r) == 6000000)
        g3.close()
        ok = all(o.call("PING") == "PONG" for o in others)
        ok = ok and all(isinstance(o.call("XLEN", "fat"), int) for o in others)
        check("the 20 other clients unaffected", ok)
        ev = info_field(c, "stats", "evicted_clients")
        check("INFO stats evicted_clients:2 (%s)" % ev, ev == "2")
        check("CONFIG GET maxmemory-clients",
              c.call("CONFIG", "GET", "maxmemory-clients") == [b"maxmemory-clients", b"4194304"])
        check("CONFIG SET maxmemory-clients 10%",
              c.call("CONFIG", "SET", "maxmemory-clients", "10%") == "OK" and
              c.call("CONFIG", "GET", "maxmemory-clients")[1] == b"10%")
        r = c.call("CONFIG", "SET", "maxmemory-clients", "101%")
        check("CONFIG SET maxmemory-clients 101% refused", isinstance(r, RuntimeError))
        for o in others + [c]:
            o.close()
    with Server(opts.runneld, ["--client-max-memory", "2mb"]) as srv:
        c = srv.wait_ready(srv.connect)
        g = srv.connect()
        g.send(b"*2\r\n$4\r\nECHO\r\n$3000000\r\n")
        try:
            for _ in range(48):
                g.send(b"y" * 65536)
        except OSError:
            pass
        check("client-max-memory 2mb: greedy client closed", g.closed_within(5))
        check("log: Closing client that reached client-max-memory",
              srv.wait_log(r"Closing client that reached client-max-memory: id=\d+"))
        check("others unaffected", c.call("PING") == "PONG")
        # Under the cap a 1 MB bulk is fine.
        r = c.call("ECHO", b"z" * 1000000)
        check("1 MB ECHO under a 2 MB cap", r == b"z" * 1000000)
        c.close()


def case_shrink(opts):
    with Server(opts.runneld, []) as srv:
        c = srv.wait_ready(srv.connect)
        base = int(info_field(c, "memory", "mem_clients_normal"))
        a = srv.connect()
        a.send(b"*2\r\n$4\r\nECHO\r\n$3000000\r\n" + b"q" * 2900000)
        grown = base
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and grown < base + 2900000:
            grown = int(info_field(c, "memory", "mem_clients_normal"))
            time.sleep(0.05)
        check("query buffer grows with a 3 MB command (%d -> %d B)" % (base, grown),
              grown >= base + 2900000)
        a.send(b"q" * 100000 + b"\r\n")
        r = a.read()
        check("3 MB ECHO answered", r == b"q" * 3000000)
        after = int(info_field(c, "memory", "mem_clients_normal"))
        check("memory back when the command is done (%d B)" % after, after < base + 64 * 1024)
        # A big command of many small arguments (the buffer grows
        # geometrically, not to a known bulk end) followed by the start of
        # the next one: the few bytes left keep a big buffer until the cron
        # cuts it back.
        a.send(b"*100001\r\n$4\r\nECHO\r\n" + b"$5\r\nabcde\r\n" * 100000 + b"*2\r\n$4\r\nEC")
        r = a.read()
        check("a 1 MB command of 100,001 arguments answered (arity error)",
              isinstance(r, RuntimeError) and "wrong number of arguments" in str(r), r)
        held = int(info_field(c, "memory", "mem_clients_normal"))
        deadline = time.monotonic() + 6
        now = held
        while time.monotonic() < deadline:
            now = int(info_field(c, "memory", "mem_clients_normal"))
            if now < base + 64 * 1024:
                break
            time.sleep(0.2)
        print("     partial command in a big buffer: %d B held, %d B after the cron" % (held, now))
        check("idle query buffer cut back by the cron (%d -> %d B)" % (held, now),
              held >= base + 500000 and now < base + 64 * 1024)
        a.send(b"HO\r\n$2\r\nhi\r\n")
        check("the partial command still completes", a.read() == b"hi")
        a.close()
        c.close()


def case_buffers(opts):
    with Server(opts.runneld, []) as srv:
        c = srv.wait_ready(srv.connect)
        base = int(info_field(c, "memory", "mem_clients_normal"))
        # MULTI: 3,000 queued XADDs with 100-byte values (~600 KB queue).
        m = srv.connect()
        check("MULTI", m.call("MULTI") == "OK")
        m.send(b"".join(enc("XADD", "mq", "%d-1" % (i + 1), "f", b"%03d" % (i % 1000) * 33 + b"x")
                        for i in range(3000)))
        queued = [m.read() for _ in range(3000)]
        check("3,000 commands QUEUED", queued == ["QUEUED"] * 3000, queued[:3])
        grown = int(info_field(c, "memory", "mem_clients_normal"))
        r = m.call("EXEC")
        ok = isinstance(r, list) and len(r) == 3000 and all(
            r[i] == b"%d-1" % (i + 1) for i in range(3000))
        check("EXEC runs every queued command after the queue moved (%d B held)" % (grown - base),
              ok, r[:3] if isinstance(r, list) else r)
        rr = c.call("XRANGE", "mq", "-", "+")
        check("queued arguments intact",
              len(rr) == 3000 and all(rr[i][1][1] == b"%03d" % (i % 1000) * 33 + b"x"
                                       for i in range(3000)))
        # WATCH 2,000 keys, touch the last one: EXEC aborts.
        keys = ["wk%05d" % i for i in range(2000)]
        check("WATCH 2,000 keys", m.call("WATCH", *keys) == "OK")
        c.call("XADD", keys[-1], "*", "f", "v")
        m.call("MULTI")
        m.call("PING")
        check("a touched WATCHed key aborts EXEC", m.call("EXEC") is None)
        # XREAD BLOCK on 500 keys, served by an XADD to the last one.
        bkeys = ["bk%04d" % i for i in range(500)]
        b = srv.connect()
        b.send(enc(*(["XREAD", "BLOCK", "5000", "STREAMS"] + bkeys + ["$"] * 500)))
        # the reader must be parked before the XADD that serves it
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and info_field(c, "clients", "blocked_clients") != "1":
            time.sleep(0.01)
        check("XREAD BLOCK on 500 keys: blocked", info_field(c, "clients", "blocked_clients") == "1")
        c.call("XADD", bkeys[-1], "7-7", "k", "v")
        r = b.read()
        check("XREAD BLOCK on 500 keys served", r == [[bkeys[-1].encode(), [[b"7-7", [b"k", b"v"]]]]],
              r)
        # XAUTOCLAIM COUNT 5000 (80 KB of scratch) and XINFO STREAM FULL.
        c.call("XGROUP", "CREATE", "mq", "g", "0")
        c.call("XREADGROUP", "GROUP", "g", "a", "STREAMS", "mq", ">")
        r = c.call("XAUTOCLAIM", "mq", "g", "b", "0", "0", "COUNT", "5000", "JUSTID")
        check("XAUTOCLAIM COUNT 5000", isinstance(r, list) and len(r[1]) == 3000, r if not
              isinstance(r, list) else len(r[1]))
        r = c.call("XINFO", "STREAM", "mq", "FULL", "COUNT", "3")
        check("XINFO STREAM FULL", isinstance(r, list) and b"groups" in r, r)
        deadline = time.monotonic() + 5
        now = grown
        while time.monotonic() < deadline:
            now = int(info_field(c, "memory", "mem_clients_normal"))
            if now <= base + 3 * 1024:
                break
            time.sleep(0.2)
        check("buffers freed when no longer used (%d -> %d B)" % (grown, now),
              now <= base + 3 * 1024)
        for x in (m, b, c):
            x.close()


def case_overflow(opts):
    def conf_err(args, pattern):
        p = subprocess.run(shlex.split(opts.emulator or "") + [opts.runneld] + args +
                           ["--test-config"], capture_output=True, text=True, timeout=60)
        out = p.stdout + p.stderr
        ok = p.returncode == 1 and re.search(pattern, out) is not None
        check("config %s refused" % " ".join(args), ok, out.strip()[-300:])

    conf_err(["--client-query-buffer-limit", "99999999999999999999"], "Invalid client-query")
    conf_err(["--maxmemory-clients", "17179869184gb"], "memory or percent value")
    conf_err(["--maxmemory-clients", "101%"], "less or equal to 100")
    conf_err(["--max-reply-size", "9223372036854775808"], "does not fit this")
    conf_err(["--maxclients", "4294967296"], "Invalid max clients")
    ver = subprocess.run(shlex.split(opts.emulator or "") + [opts.runneld, "--version"],
                         capture_output=True, text=True, timeout=60).stdout
    if "bits=32" in ver:
        # size_t is 32 bits: sizes past 4 GiB must be refused, not wrapped.
        conf_err(["--max-reply-size", "4gb"], "does not fit this 32-bit address space")
        conf_err(["--max-reply-size", "2gb"], "does not fit this 32-bit address space")
        # A RAM store must fit the address space; a store file need not.
        conf_err(["--store-type", "ram", "--store-size", "8gb"],
                 "does not fit this 32-bit address space")
    with Server(opts.runneld, []) as srv:
        c = srv.wait_ready(srv.connect)
        for raw, want in ((b"*2147483648\r\n", "invalid multibulk length"),
                          (b"*18446744073709551617\r\n", "invalid multibulk length"),
                          (b"*1\r\n$18446744073709551616\r\n", "invalid bulk length"),
                          (b"*1\r\n$536870913\r\n", "invalid bulk length")):
            x = srv.connect()
            x.send(raw)
            r = x.read()
            check("%r -> %s" % (raw, want), isinstance(r, RuntimeError) and want in str(r), r)
            x.close()
        # 1,048,576 arguments announced (Redis's limit), then nothing: argv
        # grows to the count, nothing breaks, and the next client is fine.
        x = srv.connect()
        x.send(b"*1048576\r\n$4\r\nPING\r\n")
        x.close()
        # The header reaches the server before the close does; once it has
        # dropped that client (only `c` left) it has parsed both.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and info_field(c, "clients", "connected_clients") != "1":
            time.sleep(0.01)
        check("the 1M-argument client dropped at its close",
              info_field(c, "clients", "connected_clients") == "1")
        check("server up after a 1M-argument header", c.call("PING") == "PONG")
        # A 512 MB bulk header is accepted (proto-max-bulk-len, as Redis).
        x = srv.connect()
        x.send(b"*2\r\n$4\r\nECHO\r\n$536870912\r\nabc")
        check("512 MB bulk header not refused", not x.closed_within(0.5))
        x.close()
        c.call("XADD", "s", "1-1", "f", "v")
        c.call("XGROUP", "CREATE", "s", "g", "0")
        for count in ("1152921504606846976", "9223372036854775807"):
            r = c.call("XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", count)
            check("XAUTOCLAIM COUNT %s (scratch size overflows) -> error" % count,
                  isinstance(r, RuntimeError), r)
        check("CONFIG SET client-output-buffer-limit",
              c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 512kb 10") == "OK"
              and c.call("CONFIG", "GET", "client-output-buffer-limit")[1]
              .startswith(b"normal 1048576 524288 10"))
        r = c.call("CONFIG", "SET", "proto-max-bulk-len", "99999999999999999999")
        check("CONFIG SET proto-max-bulk-len past 2^64 refused", isinstance(r, RuntimeError))
        check("server alive", c.call("PING") == "PONG")
        c.close()


def loopback_up():
    """In a fresh network namespace lo is down; bring it up without needing
    iproute2 (SIOCSIFFLAGS). Harmless where it is up already."""
    import fcntl
    import struct
    try:
        s = socket.socket()
        ifr = struct.pack("16sH14s", b"lo", 0, b"\0" * 14)
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, 0x8913, ifr))[1]   # SIOCGIFFLAGS
        if not flags & 1:                                                   # IFF_UP
            fcntl.ioctl(s, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, b"\0" * 14))
        s.close()
    except OSError:
        pass


def case_many(opts):
    n = opts.clients
    loopback_up()
    soft, hard = raise_nofile(max(n + 200, 11000))
    print("     RLIMIT_NOFILE %d/%d" % (soft, hard))
    if soft < n + 100:
        check("RLIMIT_NOFILE allows %d clients" % n, False, "soft limit %d" % soft)
        return
    try:
        probe = socket.socket()
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", 6379))
        probe.close()
    except OSError as e:
        print("SKIP: port 6379 is taken (%s); run inside `unshare -rn`" % e)
        sys.exit(77)
    t_start = time.monotonic()
    with Server(opts.runneld, [], emulator=opts.emulator, unix=False) as srv:
        def tcp():
            s = socket.create_connection(("127.0.0.1", 6379), timeout=10)
            return Conn(s)
        c = srv.wait_ready(tcp, secs=60)
        t0 = time.monotonic()
        sel = selectors.DefaultSelector()
        socks = [socket.create_connection(("127.0.0.1", 6379), timeout=30) for _ in range(n)]
        t_conn = time.monotonic() - t0
        state = {}
        for i, s in enumerate(socks):
            s.sendall(enc("PING") + enc("XADD", "conc", "*", "client", str(i)))
            s.setblocking(False)
            state[s] = bytearray()
            sel.register(s, selectors.EVENT_READ)
        pending = set(socks)
        idre = re.compile(rb"^\+PONG\r\n\$\d+\r\n\d+-\d+\r\n$")
        deadline = time.monotonic() + 120
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                s = key.fileobj
                try:
                    d = s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    d = b""
                if d:
                    state[s] += d
                if not d or idre.match(bytes(state[s])):
                    sel.unregister(s)
                    pending.discard(s)
        good = sum(1 for s in socks if idre.match(bytes(state[s])))
        t_all = time.monotonic() - t0
        bad = [bytes(state[s])[:60] for s in socks if not idre.match(bytes(state[s]))][:3]
        print("     %d connections in %.2fs, %d/%d correct replies in %.2fs" %
              (n, t_conn, good, n, t_all))
        check("%d concurrent clients: every PING and XADD reply checked" % n, good == n,
              "first bad: %r" % bad)
        xl = c.call("XLEN", "conc")
        check("XLEN conc == %d (%r)" % (n, xl), xl == n)
        ids = set(e[1][1] for e in c.call("XRANGE", "conc", "-", "+"))
        check("one entry from each client", ids == set(str(i).encode() for i in range(n)))
        cl = int(info_field(c, "clients", "connected_clients"))
        check("connected_clients %d == %d + 1" % (cl, n), cl == n + 1)
        for s in socks:
            s.close()
        c.close()
        t1 = time.monotonic()
        rc = srv.stop()
        print("     SIGTERM -> exit status %r in %.2fs; whole run %.1fs" %
              (rc, time.monotonic() - t1, time.monotonic() - t_start))
        check("SIGTERM stops it with status 0", rc == 0)
        check("shutdown logged", "ready to exit, bye bye" in srv.read_log(None))
        check("no-flags start logged the memory line",
              re.search(r"Memory: store \d+ bytes", srv.read_log(None)) is not None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["idle", "bigreply", "stream", "budget", "shrink", "buffers", "overflow", "many"])
    ap.add_argument("--runneld", required=True)
    ap.add_argument("--emulator", default="")
    ap.add_argument("--clients", type=int, default=1000)
    opts = ap.parse_args()
    globals()["EMULATOR"] = opts.emulator
    if os.sep in opts.runneld:
        opts.runneld = os.path.abspath(opts.runneld)
    globals()["case_" + opts.case](opts)
    return finish(opts.case)


if __name__ == "__main__":
    sys.exit(main())
