#!/usr/bin/python3
"""sync.py - runneld forwards its streams to a real Redis (issue 7, section 3).

    sync.py CASE --runneld PATH [--full]

Every case starts a real redis-server 7.0 upstream (--appendonly yes
--appendfsync always: the upstream itself loses nothing it acknowledged),
a TCP fault proxy written here (FaultProxy: pass, refuse, stall, cut
mid-reply, cut mid-batch, cut at random byte counts), and runneld in front
with `upstream redis://...@proxy`. Each case ends by comparing the upstream
stream with the local one entry by entry (IDs and fields): 0 duplicates,
0 gaps, same order, and INFO sync's counters agree.

Cases (sizes: CI / --full; CI sizes keep each case under ~2 minutes on 2
shared cores with the ASan build):
  steady    three producers write while forwarding runs (30,000 / 300,000)
  backlog   the upstream is down while 200,000 / 1,000,000 entries are
            written, then the link comes back: drain, and the time from the
            link's return to the first entry upstream is printed
  upstream_kill9  kill -9 of redis-server during a drain, restarted on the
            same port and dir, 10 / 50 times
  cuts      the proxy cuts connections at random points (mid-batch,
            mid-reply, random byte counts) 60 / 200 times while producers
            write; a stalled link (bytes taken, nothing answered) is dropped
            by the reply timeout
  runneld_kill9  kill -9 of runneld during a drain, then restart (its store
            is the file in dir), 6 / 20 times; then once more with the link
            down: the cursor and counters come from the store (INFO sync
            restored=1, cursor = the upstream's top) before any connect
  full      backlog protection, the upstream down: under refuse a full ring
            refuses with the sync backlog error and loses nothing; under
            drop-oldest the oldest unforwarded entries are dropped and
            counted (sync_dropped_entries)
  auth      requirepass and an ACL user; a wrong password: visible error
            (INFO sync), backoff (few connects over 3 s), no crash
  errors    WRONGTYPE (the upstream key is a string) and OOM (upstream
            maxmemory): the stream stops with the error shown and nothing
            skipped; fixed upstream -> forwarding resumes, mirror exact
  committed with a store file only what the file has synced goes upstream:
            entries written with no sync due stay local until SAVE; under
            appendfsync always they go at once
  names     the posix net port: upstream at [::1] (IPv6 literal), then at
            "localhost" (a name resolved), then an unknown name (the
            resolver's error in INFO sync); skipped without IPv6 loopback
Exit 0 pass, 1 fail, 77 skipped.
"""
import argparse
import os
import random
import shutil
import socket
import sys
import tempfile
import threading
import time

import redis

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import servers  # noqa: E402
from checks import FAILS, check  # noqa: E402


def wait_for(cond, timeout, what, step=0.05):
    """Polls cond() until true or the deadline (servers.wait_until, backing
    off to `step` between probes); returns its last value, and says what it
    waited for if that never came."""
    v = servers.wait_until(cond, timeout, max_interval=step)
    if not v:
        print("  timed out waiting for: %s" % what, flush=True)
    return v


# --------------------------------------------------------------------------
# The fault proxy
# --------------------------------------------------------------------------

class FaultProxy:
    """A TCP proxy between runneld's forwarder and the upstream.

    mode: "pass" forward; "refuse" close new connections at once and cut
    open ones; "stall" keep connections open but move no bytes (a
    half-open link). cut_next(direction, after) cuts the current
    connections once `after` more bytes went that way ("up" = runneld to
    Redis: mid-batch; "down" = Redis to runneld: mid-reply); the chunk that
    crosses the mark is forwarded only up to it."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.mode = "pass"
        self.lock = threading.Lock()
        self.conns = []
        self.cut_dir = None
        self.cut_left = 0
        self.accepted = 0
        self.cuts = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.mode == "refuse":
                c.close()
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=2)
            except OSError:
                c.close()
                continue
            pair = [c, u, True]
            with self.lock:
                self.conns.append(pair)
            threading.Thread(target=self._pump, args=(pair,), daemon=True).start()

    def _close(self, pair):
        pair[2] = False
        for s in pair[:2]:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def cut_all(self):
        with self.lock:
            for p in self.conns:
                self._close(p)
            self.conns = []

    def cut_next(self, direction, after):
        with self.lock:
            self.cut_dir, self.cut_left = direction, after

    def set_mode(self, mode):
        self.mode = mode
        if mode == "refuse":
            self.cut_all()

    def _pump(self, pair):
        import select
        c, u = pair[0], pair[1]
        while pair[2] and not self.stop:
            if self.mode == "stall":
                time.sleep(0.01)
                continue
            try:
                r, _, _ = select.select([c, u], [], [], 0.05)
            except (OSError, ValueError):
                break
            for s in r:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self._close(pair)
                    break
                direction = "up" if s is c else "down"
                dst = u if s is c else c
                cut = False
                with self.lock:
                    if self.cut_dir == direction:
                        if len(data) >= self.cut_left:
                            data = data[:self.cut_left]
                            cut = True
                            self.cut_dir = None
                        else:
                            self.cut_left -= len(data)
                try:
                    if data:
                        dst.sendall(data)
                except OSError:
                    self._close(pair)
                    break
                if direction == "up":
                    self.bytes_up += len(data)
                else:
                    self.bytes_down += len(data)
                if cut:
                    self.cuts += 1
                    self._close(pair)
                    break
        with self.lock:
            if pair in self.conns:
                self.conns.remove(pair)

    def close(self):
        self.stop = True
        self.cut_all()
        self.lsock.close()


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------

class UpstreamServer(servers.Server):
    """The upstream redis-server (the shared fixture, tests/interop/servers.py)
    with its AOF synced at every write, so it loses nothing itself; one port
    for all its restarts (runneld's URL names it). .cli: a redis-py client."""

    def start(self):
        servers.Server.start(self, timeout=20)
        self.cli = redis.Redis(port=self.port, socket_timeout=30, password=self.password)
        return self


def Upstream(d, extra=(), password=None):
    return UpstreamServer.redis(password=password, workdir=os.path.join(d, "upstream"),
                                fixed_port=True,
                                extra=["--appendonly", "yes", "--appendfsync", "always"] + list(extra))


class RunneldServer(servers.Server):
    """runneld with a store file in <d>/runneld, on a unix socket, each
    start logging to its own file (log1, log2, ...). .cli: redis-py."""

    @property
    def sock(self):
        return self.unix

    def start(self):
        servers.Server.start(self, timeout=60)
        self.cli = redis.Redis(unix_socket_path=self.unix, socket_timeout=120)
        return self

    def info(self):
        raw = self.cli.execute_command("INFO", "sync")
        if isinstance(raw, bytes):
            raw = raw.decode()
        out = {}
        if isinstance(raw, dict):   # redis-py parsed it: k=v,k=v lines became dicts
            return {k: (",".join("%s=%s" % kv for kv in v.items()) if isinstance(v, dict) else str(v))
                    for k, v in raw.items()}
        for line in raw.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def logtext(self):
        out = ""
        for i in range(1, self.starts + 1):
            with open(os.path.join(self.dir, self.log_path_name(i))) as f:
                out += f.read()
        return out


def Runneld(exe, d, upstream_url, extra=()):
    flags = ["--dir", os.path.join(d, "runneld"), "--store-size", "256mb",
             "--store-block-size", "256kb", "--sync-backoff-min-ms", "20",
             "--sync-backoff-max-ms", "500", "--sync-reply-timeout-ms", "2000"] + list(extra)
    if upstream_url:
        flags += ["--upstream", upstream_url]
    return RunneldServer.runneld(exe, extra=flags, unixsocket=True,
                                 workdir=os.path.join(d, "runneld"), log_name="log%d")


def produce(cli, key, n, batch=5000, size=32, tag=""):
    """XADD key * v <payload> n times, pipelined; payload 32 B by default
    (field 'v' + value of size-1 bytes, as the benchmark)."""
    done = 0
    while done < n:
        p = cli.pipeline(transaction=False)
        k = min(batch, n - done)
        for i in range(k):
            val = ("%s%d-" % (tag, done + i)).ljust(size - 1, "x")[: size - 1]
            p.execute_command("XADD", key, "*", "v", val)
        p.execute()
        done += k


def read_all(cli, key, chunk=20000):
    out = []
    start = "-"
    while True:
        part = cli.execute_command("XRANGE", key, start, "+", "COUNT", chunk)
        if not part:
            return out
        out.extend((i, tuple(f)) for i, f in part)
        if len(part) < chunk:
            return out
        last = part[-1][0].decode()
        ms, seq = last.split("-")
        start = "(" + last


def compare(rd, up, keys, prefix, what):
    """Entry by entry: same IDs, same fields, same order; counts the
    duplicates and gaps if any."""
    ok_all = True
    for k in keys:
        local = read_all(rd.cli, k)
        remote = read_all(up.cli, prefix + k)
        lids = [e[0] for e in local]
        rids = [e[0] for e in remote]
        dups = len(rids) - len(set(rids))
        missing = len(set(lids) - set(rids))
        extra = len(set(rids) - set(lids))
        ordered = rids == sorted(rids, key=lambda b: tuple(int(x) for x in b.split(b"-")))
        same = local == remote
        ok = check("%s: %s mirrored exactly (%d entries; duplicates %d, gaps %d, extra %d, in order %s)"
                   % (what, k, len(local), dups, missing, extra, ordered),
                   same and dups == 0 and missing == 0 and ordered)
        ok_all = ok_all and ok
    return ok_all


def drained(rd, expect_streams=None):
    try:
        i = rd.info()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        return False
    if i.get("sync_state") != "syncing":
        return False
    if int(i.get("sync_lag_entries", 1)) != 0 or int(i.get("sync_inflight_entries", 1)) != 0:
        return False
    if int(i.get("sync_streams_stopped", 1)) != 0:
        return False
    if expect_streams is not None and int(i.get("sync_streams", 0)) < expect_streams:
        return False
    return i


def env(d, runneld_exe, extra_up=(), extra_rd=(), url_auth="", password=None):
    up = Upstream(d, extra_up, password)
    px = rd = None
    try:
        up.start()
        px = FaultProxy(up.port)
        rd = Runneld(runneld_exe, d, "redis://%s127.0.0.1:%d" % (url_auth, px.port), extra_rd)
        rd.start()
    except Exception:
        # Nothing left running when the set-up itself fails.
        if rd is not None:
            rd.stop()
        if px is not None:
            px.close()
        up.stop()
        raise
    return up, px, rd


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

def case_steady(exe, d, full):
    n = 300000 if full else 30000
    up, px, rd = env(d, exe, extra_rd=["--sync-prefix", "edge1:"])
    try:
        keys = ["temp", "hum", "volt"]
        threads = []
        for k in keys:
            c = redis.Redis(unix_socket_path=rd.sock)
            t = threading.Thread(target=produce, args=(c, k, n // 3, 200))
            t.start()
            threads.append(t)
        # While they write, forwarding is running: the upstream grows.
        grew = wait_for(lambda: sum(up.cli.xlen("edge1:" + k) for k in keys) > 0, 30,
                        "upstream receives while producers write")
        for t in threads:
            t.join()
        check("the upstream received entries while the producers were writing", bool(grew))
        i = wait_for(lambda: drained(rd, 3), 300, "drain")
        check("drained (INFO sync lag 0)", bool(i), str(rd.info()))
        compare(rd, up, keys, "edge1:", "steady")
        i = rd.info()
        check("INFO sync_forwarded_entries = %s = entries written" % i.get("sync_forwarded_entries"),
              int(i["sync_forwarded_entries"]) == 3 * (n // 3))
        check("no duplicates acknowledged, nothing skipped or dropped",
              i["sync_duplicates_acked"] == "0" and i["sync_skipped_entries"] == "0"
              and i["sync_dropped_entries"] == "0" and i["sync_gap_entries"] == "0", str(i))
    finally:
        rd.stop(); px.close(); up.stop()


def case_backlog(exe, d, full):
    n = 1000000 if full else 200000
    up, px, rd = env(d, exe)
    try:
        px.set_mode("refuse")
        wait_for(lambda: rd.info().get("sync_state") in ("backoff", "connecting"), 10, "link down")
        t0 = time.monotonic()
        produce(rd.cli, "backlog", n, batch=10000)
        print("  wrote %d entries with the link down in %.1f s" % (n, time.monotonic() - t0))
        i = rd.info()
        check("INFO sync while down: lag %s entries, state %s, last error %r"
              % (i["sync_lag_entries"], i["sync_state"], i["sync_last_error"]),
              int(i["sync_lag_entries"]) == n and i["sync_state"] != "syncing"
              and i["sync_last_error"] != "")
        t_up = time.monotonic()
        px.set_mode("pass")
        first = wait_for(lambda: up.cli.xlen("backlog") > 0, 30, "first entry upstream", step=0.002)
        t_first = time.monotonic() - t_up
        check("first entry upstream %.0f ms after the link came back" % (t_first * 1000), bool(first))
        i = wait_for(lambda: drained(rd, 1), 600, "backlog drained")
        t_all = time.monotonic() - t_up
        check("backlog of %d drained in %.1f s (%.0f entries/s)" % (n, t_all, n / t_all), bool(i))
        compare(rd, up, ["backlog"], "", "backlog")
        log = rd.logtext()
        if t_all > 12:
            check("progress lines in the log while draining",
                  "Sync: " in log and "entries forwarded in" in log and "left" in log)
    finally:
        rd.stop(); px.close(); up.stop()


def case_upstream_kill9(exe, d, full):
    kills = 50 if full else 10
    n = 400000 if full else 100000
    up, px, rd = env(d, exe)
    try:
        px.set_mode("refuse")
        produce(rd.cli, "k9", n, batch=10000)
        px.set_mode("pass")
        rng = random.Random(7)
        done_kills = 0
        for i in range(kills):
            # Let some of the drain happen, then kill the upstream mid-way.
            before = up.cli.xlen("k9")
            wait_for(lambda: up.cli.xlen("k9") > before, 30, "drain progresses")
            time.sleep(rng.uniform(0.0, 0.15))
            up.kill9()
            done_kills += 1
            up.start()
            if up.cli.xlen("k9") >= n:
                produce(rd.cli, "k9", 20000, batch=10000, tag="more%d-" % i)
                n += 20000
        check("%d kill -9 of redis-server during the drain" % done_kills, done_kills == kills)
        i = wait_for(lambda: drained(rd, 1), 600, "drain after the kills")
        check("drained after the kills", bool(i), str(rd.info()))
        compare(rd, up, ["k9"], "", "upstream kill -9")
        i = rd.info()
        print("  reconnects %s, duplicates acknowledged %s" % (i["sync_reconnects"], i["sync_duplicates_acked"]))
        check("reconnects counted (%s >= %d)" % (i["sync_reconnects"], kills),
              int(i["sync_reconnects"]) >= kills)
    finally:
        rd.stop(); px.close(); up.stop()


def case_cuts(exe, d, full):
    cuts = 200 if full else 60
    up, px, rd = env(d, exe, extra_rd=["--sync-batch", "300"])
    try:
        rng = random.Random(11)
        stop = threading.Event()
        written = [0]

        def producer():
            c = redis.Redis(unix_socket_path=rd.sock)
            while not stop.is_set():
                produce(c, rng.choice(["c1", "c2"]), 500, batch=500)
                written[0] += 500
                time.sleep(0.005)

        t = threading.Thread(target=producer)
        t.start()
        done = 0
        kinds = {"up": 0, "down": 0, "all": 0}
        while done < cuts:
            before = px.accepted
            kind = rng.choice(["up", "down", "all"])
            if kind == "all":
                time.sleep(rng.uniform(0.0, 0.05))
                px.cut_all()
                px.cuts += 1
            else:
                px.cut_next(kind, rng.randint(1, 200000))
                c0 = px.cuts
                if not wait_for(lambda: px.cuts > c0, 10, "cut happened"):
                    px.cut_all()
                    px.cuts += 1
            kinds[kind] += 1
            done += 1
            wait_for(lambda: px.accepted > before, 10, "forwarder reconnects")
        stop.set()
        t.join()
        print("  cuts: %d mid-batch, %d mid-reply, %d whole connections; %d entries written"
              % (kinds["up"], kinds["down"], kinds["all"], written[0]))
        # A stalled link: bytes go nowhere; the reply timeout drops it.
        rc0 = int(rd.info()["sync_reconnects"])
        px.set_mode("stall")
        produce(rd.cli, "c1", 2000)
        st = wait_for(lambda: "no reply" in rd.info().get("sync_last_error", ""), 20,
                      "half-open link detected")
        check("a stalled link is dropped by the reply timeout (%r)" % rd.info().get("sync_last_error"),
              bool(st))
        px.set_mode("pass")
        px.cut_all()
        i = wait_for(lambda: drained(rd, 2), 300, "drain after the cuts")
        check("drained after %d cuts" % done, bool(i), str(rd.info()))
        compare(rd, up, ["c1", "c2"], "", "cuts")
        i = rd.info()
        check("reconnects counted (%s)" % i["sync_reconnects"], int(i["sync_reconnects"]) > rc0)
        check("no gaps reported", i["sync_gap_entries"] == "0")
    finally:
        rd.stop(); px.close(); up.stop()


def case_runneld_kill9(exe, d, full):
    kills = 20 if full else 6
    n = 300000 if full else 100000
    up, px, rd = env(d, exe)
    try:
        px.set_mode("refuse")
        produce(rd.cli, "rk", n, batch=10000)
        px.set_mode("pass")
        rng = random.Random(5)
        for i in range(kills):
            before = up.cli.xlen("rk")
            wait_for(lambda: up.cli.xlen("rk") > before, 60, "drain progresses")
            time.sleep(rng.uniform(0.0, 0.2))
            rd.kill9()
            rd.start()
            if up.cli.xlen("rk") >= n - 1000:
                produce(rd.cli, "rk", 20000, batch=10000, tag="r%d-" % i)
                n += 20000
        i = wait_for(lambda: drained(rd, 1), 600, "drain after the restarts")
        check("drained after %d kill -9 of runneld" % kills, bool(i), str(rd.info()))
        compare(rd, up, ["rk"], "", "runneld kill -9")
        check("local stream has every entry written (%d)" % n, rd.cli.xlen("rk") == n)
        # The persisted cursor: restarted with the link down, the forwarder
        # knows its position and counters from the store before it connects.
        top = up.cli.xrevrange("rk", "+", "-", count=1)[0][0].decode()
        check("the cursor record reached the upstream's top %s" % top,
              bool(wait_for(lambda: saved_cursor_is(rd, "rk", top), 10, "cursor saved")),
              stream_line(rd, "rk"))
        px.set_mode("refuse")
        rd.kill9()
        rd.start()
        line = wait_for(lambda: stream_line(rd, "rk"), 10, "the stream's INFO line")
        f = dict(kv.split("=", 1) for kv in (line or "").split(",") if "=" in kv)
        check("restarted, link down: cursor %s = saved %s = upstream top %s, restored=%s, "
              "forwarded %s, state %s" % (f.get("cursor"), f.get("saved"), top, f.get("restored"),
                                          f.get("forwarded"), rd.info().get("sync_state")),
              f.get("restored") == "1" and f.get("cursor") == top and f.get("saved") == top
              and int(f.get("forwarded", 0)) == n and f.get("lag") == "0"
              and rd.info().get("sync_state") != "syncing")
        px.set_mode("pass")
        produce(rd.cli, "rk", 1000, tag="last-")
        check("then drained", bool(wait_for(lambda: drained(rd, 1), 60, "drain")), str(rd.info()))
        compare(rd, up, ["rk"], "", "runneld restart with the persisted cursor")
    finally:
        rd.stop(); px.close(); up.stop()


def saved_cursor_is(rd, key, top):
    """True once INFO sync says the stream's cursor record (saved=) holds
    `top`: the forwarder has persisted what the upstream holds."""
    line = stream_line(rd, key) or ""
    f = dict(kv.split("=", 1) for kv in line.split(",") if "=" in kv)
    return f.get("saved") == top


def stream_line(rd, key):
    """INFO sync's sync_streamN line of a key (k=v,... text), or None."""
    try:
        i = rd.info()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        return None
    for k, v in i.items():
        if k.startswith("sync_stream") and k[11:].isdigit() and ("key=%s," % key) in v:
            return v
    return None


def fill_until_refused(rd, key, limit):
    """XADDs until the store refuses one; returns (entries, error text)."""
    n = 0
    while n < limit:
        try:
            produce(rd.cli, key, 1000, batch=1000, tag="f%d-" % n)
        except redis.exceptions.ResponseError as e:
            return rd.cli.xlen(key), str(e)
        n += 1000
    return rd.cli.xlen(key), None


def case_full(exe, d, full):
    """Backlog protection: the upstream is down and the ring fills. Under
    refuse a write is refused with the error naming the sync backlog and
    nothing is lost; under drop-oldest the oldest entries not forwarded
    are dropped and counted in sync_dropped_entries."""
    small = ["--store-size", "4mb", "--store-block-size", "64kb"]
    up, px, rd = env(d, exe, extra_rd=small + ["--store-full-policy", "refuse"])
    try:
        px.set_mode("refuse")
        produce(rd.cli, "bk", 100)
        check("the stream is tracked", bool(wait_for(lambda: stream_line(rd, "bk"), 10, "tracked")))
        n, err = fill_until_refused(rd, "bk", 400000)
        check("refuse: the full ring refuses with the sync backlog error after %d entries: %r"
              % (n, err), err is not None and "sync backlog" in err and n > 10000)
        px.set_mode("pass")
        i = wait_for(lambda: drained(rd, 1), 120, "drain")
        check("refuse: drained, nothing lost (%d entries)" % n, bool(i) and rd.cli.xlen("bk") == n,
              str(rd.info()))
        compare(rd, up, ["bk"], "", "refuse")
        # The forwarder tries to save its cursor (a SYNC_CURSOR record);
        # on a ring this full the store may refuse it, which INFO counts
        # and names, and the save is retried. Either way the engine knows
        # the cursor, so a full ring is now plain "store is full".
        top = up.cli.xrevrange("bk", "+", "-", count=1)[0][0].decode()
        def saved_or_refused():
            inf = rd.info()
            return (saved_cursor_is(rd, "bk", top) or
                    (int(inf["sync_cursor_save_failures"]) > 0 and
                     "store is full" in str(inf["sync_cursor_save_last_failure"])))
        check("refuse: the cursor record holds the top %s, or its save was refused as "
              "'store is full'" % top, bool(wait_for(saved_or_refused, 10, "cursor save")),
              stream_line(rd, "bk"))
        try:
            produce(rd.cli, "bk", 1000, batch=1000)
            err = None
        except redis.exceptions.ResponseError as e:
            err = str(e)
        check("refuse, backlog forwarded: a full ring says plain 'store is full' (%r)" % err,
              err is not None and "store is full" in err and "sync backlog" not in err)
        check("refuse: nothing dropped or skipped", rd.info()["sync_dropped_entries"] == "0"
              and rd.info()["sync_skipped_entries"] == "0")
        # A trim makes room: the next retry saves the cursor at the top.
        rd.cli.xtrim("bk", maxlen=1000)
        check("refuse, after a trim: the cursor record reaches the upstream's top %s" % top,
              bool(wait_for(lambda: saved_cursor_is(rd, "bk", top), 10, "cursor saved")),
              stream_line(rd, "bk"))
    finally:
        rd.stop(); px.close(); up.stop()

    shutil.rmtree(os.path.join(d, "runneld"), ignore_errors=True)
    up, px, rd = env(d, exe, extra_rd=small + ["--store-full-policy", "drop-oldest"])
    try:
        px.set_mode("refuse")
        produce(rd.cli, "bd", 100)
        check("the stream is tracked", bool(wait_for(lambda: stream_line(rd, "bd"), 10, "tracked")))
        written = 100
        for _ in range(150):
            produce(rd.cli, "bd", 1000, batch=1000)
            written += 1000
        px.set_mode("pass")
        i = wait_for(lambda: drained(rd, 1), 120, "drain")
        check("drop-oldest: drained", bool(i), str(rd.info()))
        local = rd.cli.xlen("bd")
        i = rd.info()
        check("drop-oldest: %d written, %d kept, sync_dropped_entries %s"
              % (written, local, i["sync_dropped_entries"]),
              local < written and int(i["sync_dropped_entries"]) == written - local
              and i["sync_skipped_entries"] == "0")
        compare(rd, up, ["bd"], "", "drop-oldest")
    finally:
        rd.stop(); px.close(); up.stop()


def case_auth(exe, d, full):
    # requirepass (AUTH password)
    up, px, rd = env(d, exe, extra_up=["--requirepass", "up-secret"], url_auth=":up-secret@",
                     password="up-secret")
    try:
        produce(rd.cli, "a1", 3000)
        check("AUTH password: drained", bool(wait_for(lambda: drained(rd, 1), 60, "drain")),
              str(rd.info()))
        compare(rd, up, ["a1"], "", "auth password")
        # An ACL user with only what the forwarder needs, and SELECT 2.
        up.cli.execute_command("ACL", "SETUSER", "edge", "on", ">edge-pass", "~*",
                               "+xadd", "+xrevrange", "+select", "+auth", "+ping")
        rd.cli.config_set("upstream", "redis://edge:edge-pass@127.0.0.1:%d/2" % px.port)
        produce(rd.cli, "a2", 2000)
        ok = wait_for(lambda: drained(rd, 2), 60, "drain as ACL user")
        check("ACL user + SELECT 2: drained", bool(ok), str(rd.info()))
        up2 = redis.Redis(port=up.port, password="up-secret", db=2)
        class U2:  # noqa: E306
            cli = up2
        compare(rd, U2, ["a1", "a2"], "", "acl user db 2")
        check("CONFIG GET upstream hides the password",
              rd.cli.config_get("upstream")["upstream"] == "redis://edge:***@127.0.0.1:%d/2" % px.port,
              str(rd.cli.config_get("upstream")))
        # A wrong password: the error is visible, retries back off.
        acc0 = px.accepted
        rd.cli.config_set("upstream", "redis://edge:wrong@127.0.0.1:%d/2" % px.port)
        produce(rd.cli, "a3", 10)
        err = wait_for(lambda: "WRONGPASS" in rd.info().get("sync_last_error", ""), 10,
                       "WRONGPASS visible")
        check("wrong password: INFO sync shows %r" % rd.info().get("sync_last_error"), bool(err))
        time.sleep(3)   # a window to count the connect attempts in (the backoff)
        tries = px.accepted - acc0
        i = rd.info()
        check("wrong password: %d connects in ~3 s (backoff 20..500 ms, not a loop)" % tries,
              2 <= tries <= 40)
        check("wrong password: state %s, runneld alive" % i["sync_state"],
              i["sync_state"] in ("error", "connecting", "authenticating") and rd.proc.poll() is None)
        check("wrong password: nothing forwarded for a3", up2.xlen("a3") == 0)
        # CONFIG SET upstream "" stops forwarding.
        rd.cli.config_set("upstream", "")
        check("CONFIG SET upstream '': INFO sync says off",
              wait_for(lambda: rd.info().get("sync_state") == "off", 5, "off"))
    finally:
        rd.stop(); px.close(); up.stop()


def case_errors(exe, d, full):
    up, px, rd = env(d, exe)
    try:
        up.cli.set("wt", "a string")       # WRONGTYPE for XADD/XREVRANGE
        produce(rd.cli, "wt", 500)
        produce(rd.cli, "fine", 500)
        st = wait_for(lambda: "WRONGTYPE" in rd.info().get("sync_last_error", ""), 20,
                      "WRONGTYPE visible")
        check("WRONGTYPE visible in INFO sync", bool(st), str(rd.info()))
        wait_for(lambda: up.cli.xlen("fine") == 500, 20, "other stream forwarded")
        i = rd.info()
        line = [v for k, v in i.items() if k.startswith("sync_stream") and "key=wt" in v]
        check("the wt stream is stopped with its error, lag 500, nothing skipped: %s" % line,
              line and "stopped=1" in line[0] and "lag=500" in line[0] and "WRONGTYPE" in line[0]
              and i["sync_skipped_entries"] == "0")
        check("the other stream went on", up.cli.xlen("fine") == 500)
        time.sleep(1.0)   # retries (backoff) keep failing, still nothing skipped
        check("still stopped, nothing skipped after retries",
              rd.info()["sync_streams_stopped"] == "1" and rd.info()["sync_skipped_entries"] == "0")
        up.cli.delete("wt")                # the operator fixes the key
        check("WRONGTYPE fixed: drained", bool(wait_for(lambda: drained(rd, 2), 30, "drain")),
              str(rd.info()))
        compare(rd, up, ["wt", "fine"], "", "wrongtype")

        # OOM: the upstream's maxmemory is below what it holds.
        used = int(up.cli.info("memory")["used_memory"])
        up.cli.config_set("maxmemory-policy", "noeviction")
        up.cli.config_set("maxmemory", str(used - 1000))
        produce(rd.cli, "fine", 300)
        st = wait_for(lambda: "OOM" in rd.info().get("sync_last_error", ""), 20, "OOM visible")
        check("OOM visible in INFO sync: %r" % rd.info().get("sync_last_error"), bool(st))
        check("OOM: nothing skipped", rd.info()["sync_skipped_entries"] == "0")
        up.cli.config_set("maxmemory", "0")
        check("OOM fixed: drained", bool(wait_for(lambda: drained(rd, 2), 30, "drain")),
              str(rd.info()))
        compare(rd, up, ["wt", "fine"], "", "oom")
        i = rd.info()
        check("no gaps, nothing skipped", i["sync_gap_entries"] == "0" and i["sync_skipped_entries"] == "0")
    finally:
        rd.stop(); px.close(); up.stop()


def case_committed(exe, d, full):
    """With a store file, only what the file has synced goes upstream: no
    entry can reach the upstream and then vanish locally in a power cut."""
    up, px, rd = env(d, exe, extra_rd=["--commit-interval-ms", "3600000"])
    try:
        produce(rd.cli, "early", 100)
        rd.cli.execute_command("SAVE")
        check("SAVE: the first entries are forwarded",
              bool(wait_for(lambda: drained(rd, 1), 30, "drain")), str(rd.info()))
        produce(rd.cli, "held", 500)
        # No sync for an hour (commit-interval-ms): for a second and a half
        # the upstream must not see any of them.
        end = time.monotonic() + 1.5
        seen = 0
        while time.monotonic() < end:
            seen = max(seen, up.cli.xlen("held"))
            time.sleep(0.05)
        check("entries not yet synced locally stay local (%d upstream, lag %s)"
              % (seen, rd.info().get("sync_lag_entries")), seen == 0)
        rd.cli.execute_command("SAVE")
        check("after SAVE (fdatasync) they are forwarded",
              bool(wait_for(lambda: drained(rd, 2), 30, "drain")), str(rd.info()))
        compare(rd, up, ["early", "held"], "", "committed")
        rd.cli.config_set("appendfsync", "always")
        produce(rd.cli, "held", 200)
        check("appendfsync always: forwarded without waiting",
              bool(wait_for(lambda: drained(rd, 2), 30, "drain")), str(rd.info()))
        compare(rd, up, ["held"], "", "committed always")
    finally:
        rd.stop(); px.close(); up.stop()


def case_names(exe, d, full):
    """The posix net port: an IPv6 literal, and a host name resolved."""
    try:
        s6 = socket.socket(socket.AF_INET6)
        s6.bind(("::1", 0))
        s6.close()
    except OSError:
        print("  no IPv6 loopback here: SKIP")
        return "skip"
    up = Upstream(d, ["--bind", "::1 127.0.0.1"])
    rd = Runneld(exe, d, "redis://[::1]:%d" % up.port)
    try:
        up.start()
        rd.start()
        produce(rd.cli, "v6", 2000)
        check("IPv6 literal [::1]: drained", bool(wait_for(lambda: drained(rd, 1), 60, "drain")),
              str(rd.info()))
        compare(rd, up, ["v6"], "", "ipv6")
        rd.cli.config_set("upstream", "redis://localhost:%d/1" % up.port)
        produce(rd.cli, "named", 2000)
        check("host name 'localhost' resolved: drained",
              bool(wait_for(lambda: drained(rd, 2), 60, "drain")), str(rd.info()))
        up1 = redis.Redis(port=up.port, db=1)
        class U1:  # noqa: E306
            cli = up1
        compare(rd, U1, ["v6", "named"], "", "localhost db 1")
        rd.cli.config_set("upstream", "redis://no-such-host.invalid:%d" % up.port)
        err = wait_for(lambda: "resolve" in rd.info().get("sync_last_error", ""), 20,
                       "resolver error visible")
        check("an unknown host name: %r" % rd.info().get("sync_last_error"), bool(err))
    finally:
        rd.stop(); up.stop()


CASES = {
    "steady": case_steady, "backlog": case_backlog, "upstream_kill9": case_upstream_kill9,
    "cuts": case_cuts, "runneld_kill9": case_runneld_kill9, "auth": case_auth, "full": case_full,
    "errors": case_errors, "names": case_names, "committed": case_committed,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--runneld", required=True)
    ap.add_argument("--full", action="store_true", help="the issue's full sizes")
    a = ap.parse_args()
    if not servers.find_redis_server():
        print("redis-server not found (apt-get install redis-server)")
        return 1
    d = tempfile.mkdtemp(prefix="runnel-sync-")
    t0 = time.monotonic()
    skipped = False
    try:
        skipped = CASES[a.case](a.runneld, d, a.full or os.environ.get("RUNNEL_SYNC_FULL") == "1") == "skip"
    except Exception as e:  # a crash of the harness is a failure, with its reason
        import traceback
        traceback.print_exc()
        FAILS.append("exception: %r" % e)
    finally:
        if not FAILS:
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("  (kept %s for inspection)" % d)
    if skipped and not FAILS:
        print("SKIP %s" % a.case)
        return 77
    print("%s %s in %.1f s" % ("FAIL" if FAILS else "PASS", a.case, time.monotonic() - t0))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
