#!/usr/bin/python3
"""runneld_disk.py - runneld keeps its store on disk (issue 6, section 3).

    runneld_disk.py CASE --runneld PATH

Cases (each in its own temp dir; servers are real runneld processes):
  kill9     runneld started with NO flags (in a private network namespace,
            `unshare -rn`, so port 6379 is its own; without unshare: only
            --port/--unixsocket, and it says so) creates runnel.store in its
            cwd; a 1,000-entry stream, a second stream with XDEL, a group
            with entries pending for two consumers and some acknowledged, a
            second group; kill -9 right after the last reply (no SAVE, no
            wait); restart: XLEN, XRANGE - +, XINFO STREAM, XPENDING,
            XINFO GROUPS answer the same bytes (XPENDING - + and XINFO
            CONSUMERS with idle times masked: they are clocks); then more
            writes, SIGTERM, restart, the same again. Prints the start times.
  refuse    a store that does not mount stops the start and is left byte for
            byte as it was: random bytes, a file of another size, a store of
            another block size; --format-store then erases it and starts
            empty; a blank (all 0xFF) file is formatted without the flag.
  lock      a second runneld on the same dir is refused with a clear message
            and the first keeps serving.
  wrap      a 1 MiB store of 16 KiB blocks filled past its end (the ring
            wraps, blocks are reclaimed, checkpoints are written), two
            streams with MAXLEN ~, XTRIM, XREADGROUP, XAUTOCLAIM and XACK
            pipelined; kill -9 after every round (80 rounds), each restart
            answering the same bytes as before the kill.
  policy    appendfsync: CONFIG GET/SET appendfsync (default everysec; a bad
            value gets Redis's error), `always` syncs before the reply,
            `everysec` within the second, SAVE / BGSAVE / LASTSAVE replies,
            INFO persistence fields; store-type ram: no file, SAVE refused.
Exit 0 pass, 1 fail.
"""
import argparse
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from respclient import RespError  # noqa: E402
from servers import Server  # noqa: E402
from checks import FAILS, check, finish  # noqa: E402



def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def Runneld(exe, d, flags=(), noflags=False, tag="log"):
    """runneld in `d` (the store file lives there and outlives the process,
    so a test restarts on the same store), reached through a unix socket;
    noflags: started with no flags at all (TCP 6379, private network
    namespace). The shared interop fixture (tests/interop/servers.py) does
    the starting, waiting, signals and logs; `tag` names this start's log."""
    return Server.runneld(exe, extra=flags, unixsocket=not noflags, workdir=d,
                          log_name=tag, noflags=noflags)


def info(c, section):
    raw, node = c.call("INFO", section)
    out = {}
    for line in node.value().decode().split("\r\n"):
        if ":" in line:
            k, _, v = line.partition(":")
            out[k] = v
    return out


def run_start_fail(exe, d, flags, secs=60):
    """Start runneld expecting it to refuse: (exit status, output)."""
    p = subprocess.run([exe, "--port", "0", "--unixsocket", os.path.join(d, "x.sock")] + flags,
                       cwd=d, capture_output=True, text=True, timeout=secs)
    return p.returncode, p.stdout + p.stderr


# ------------------------------------------------------------------ kill9 --

QUERIES = [("XLEN", "s"), ("XRANGE", "s", "-", "+"), ("XINFO", "STREAM", "s"),
           ("XPENDING", "s", "g"), ("XINFO", "GROUPS", "s"),
           ("XLEN", "t"), ("XRANGE", "t", "-", "+"), ("XINFO", "STREAM", "t"),
           ("XPENDING", "t", "tg"), ("XINFO", "GROUPS", "t"),
           ("XPENDING", "s", "g2")]
# Replies with clocks in them (idle, seen-time): compared with those masked.
CLOCKED = [("XPENDING", "s", "g", "-", "+", "10000"), ("XINFO", "CONSUMERS", "s", "g")]


def mask_clocks(v):
    """XPENDING extended rows [id, consumer, idle, count] and XINFO CONSUMERS
    maps: drop the time values, keep everything else."""
    if isinstance(v, list):
        if len(v) == 4 and isinstance(v[0], bytes) and isinstance(v[2], int):
            return [v[0], v[1], "<idle>", v[3]]
        out = []
        skip = False
        for x in v:
            if skip:
                out.append("<clock>")
                skip = False
                continue
            if x in (b"idle", b"inactive", b"seen-time", b"active-time"):
                skip = True
            out.append(mask_clocks(x))
        return out
    return v


def snapshot(c):
    raws = [c.call(*q)[0] for q in QUERIES]
    clocked = [mask_clocks(c.call(*q)[1].value()) for q in CLOCKED]
    return raws, clocked


def compare(label, a, b):
    ok = True
    for q, x, y in zip(QUERIES, a[0], b[0]):
        if x != y:
            ok = False
            check("%s: %s same bytes" % (label, " ".join(q)), False,
                  "before %r... after %r..." % (x[:200], y[:200]))
    for q, x, y in zip(CLOCKED, a[1], b[1]):
        if x != y:
            ok = False
            check("%s: %s same (idle masked)" % (label, " ".join(q)), False,
                  "before %r after %r" % (str(x)[:300], str(y)[:300]))
    check("%s: %d replies identical (%d bytes)" % (label, len(QUERIES) + len(CLOCKED),
                                                  sum(len(r) for r in a[0])), ok)
    return ok


def workload(c):
    rnd = random.Random(6)
    cmds = []
    for i in range(1000):
        cmds.append(("XADD", "s", "*", "sensor", "t%d" % (i % 7), "seq", str(i),
                     "payload", "x" * rnd.randint(0, 40)))
    replies = c.pipeline(cmds)
    ids = [r[1].value() for r in replies]
    assert all(isinstance(x, bytes) for x in ids), ids[:3]
    check("1,000 XADD answered IDs", len(set(ids)) == 1000)
    for i in range(50):
        c.call("XADD", "t", "%d-%d" % (1000 + i // 3, i % 3), "k", "v%d" % i)
    c.call("XDEL", "t", "1002-0", "1005-1", "1010-2")
    c.call("XTRIM", "t", "MAXLEN", "40")
    c.call("XGROUP", "CREATE", "s", "g", "0")
    c.call("XGROUP", "CREATE", "s", "g2", "$")
    c.call("XGROUP", "CREATE", "t", "tg", "0")
    r1 = c.value("XREADGROUP", "GROUP", "g", "alice", "COUNT", "300", "STREAMS", "s", ">")
    r2 = c.value("XREADGROUP", "GROUP", "g", "bob", "COUNT", "200", "STREAMS", "s", ">")
    c.value("XREADGROUP", "GROUP", "tg", "carol", "COUNT", "10", "STREAMS", "t", ">")
    alice = [e[0] for e in r1[0][1]]
    bob = [e[0] for e in r2[0][1]]
    acked = c.value("XACK", "s", "g", *(alice[::2] + bob[:50]))
    check("XACK acknowledged 200", acked == 200, acked)
    # A re-delivery (count 2) and a claim move ownership and counts.
    c.value("XCLAIM", "s", "g", "bob", "0", alice[1], alice[3])
    c.value("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0")
    n = c.value("XPENDING", "s", "g")[0]
    check("group g has 300 pending", n == 300, n)
    return alice, bob


def case_kill9(opts):
    d = tempfile.mkdtemp(prefix="runneld-disk.")
    noflags = opts.noflags
    try:
        print("kill -9 and SIGTERM restarts (%s)" %
              ("no flags, private network namespace" if noflags else
               "--port 0 --unixsocket only (no unshare)"))
        srv = Runneld(opts.runneld, d, noflags=noflags, tag="log1").start(timeout=60)
        print("     first start (creates the 64 MiB store file): %.3f s to PING" % srv.ready_s)
        store = os.path.join(d, "runnel.store")
        check("no flags: runnel.store created in the cwd", os.path.exists(store))
        check("its size is store-size (64 MiB)", os.path.getsize(store) == 64 << 20,
              os.path.getsize(store))
        c = srv.connect()
        alice, bob = workload(c)
        before = snapshot(c)
        ipers = info(c, "persistence")
        check("INFO: runnel_store_path is the file",
              ipers.get("runnel_store_path") == os.path.realpath(store), ipers.get("runnel_store_path"))
        st = open("/proc/%d/status" % srv.proc.pid).read()
        rss = int(re.search(r"VmRSS:\s+(\d+)", st).group(1))
        print("     RSS with the 64 MiB store on disk: %d KiB (a sanitizer build inflates it)" % rss)
        check("RSS (%d KiB) does not hold the 64 MiB store" % rss, rss < 48 * 1024)
        # The acknowledgement of a write is the moment of the kill: the
        # last XADD goes to a stream the snapshot does not read.
        last = c.value("XADD", "u", "*", "last", "one")
        srv.kill9()
        c.close()
        srv = Runneld(opts.runneld, d, noflags=noflags, tag="log2").start(timeout=60)
        print("     restart after kill -9: %.3f s to PING" % srv.ready_s)
        m = re.search(r"Store: mounted .* in ([0-9.]+) ms \((\d+) bytes read in (\d+) reads", srv.read_log(None))
        check("restart logged the mount", m is not None, srv.read_log(None)[-400:])
        if m:
            print("     mount: %s ms, %s bytes read in %s reads" % m.groups())
        c = srv.connect()
        got = c.value("XRANGE", "u", "-", "+")
        check("the XADD acknowledged just before kill -9 survived",
              got == [[last, [b"last", b"one"]]], got)
        compare("kill -9", before, snapshot(c))
        # Again, with the snapshot as the last thing before the kill.
        c.call("XADD", "s", "*", "second", "round")
        c.value("XREADGROUP", "GROUP", "g", "erin", "COUNT", "5", "STREAMS", "s", ">")
        c.value("XACK", "s", "g", alice[1])
        before = snapshot(c)
        srv.kill9()
        c.close()
        srv = Runneld(opts.runneld, d, noflags=noflags, tag="log3").start(timeout=60)
        c = srv.connect()
        compare("second kill -9", before, snapshot(c))
        # More writes, then SIGTERM.
        for i in range(100):
            c.call("XADD", "s", "*", "after", str(i))
        c.value("XACK", "s", "g", *bob[50:120])
        c.value("XREADGROUP", "GROUP", "g2", "dave", "COUNT", "20", "STREAMS", "s", ">")
        before = snapshot(c)
        c.close()
        rc = srv.term()
        check("SIGTERM: exit status 0", rc == 0, rc)
        check("SIGTERM: store committed (log)", "The store is committed and synced" in srv.read_log(None))
        srv = Runneld(opts.runneld, d, noflags=noflags, tag="log4").start(timeout=60)
        print("     restart after SIGTERM: %.3f s to PING" % srv.ready_s)
        c = srv.connect()
        compare("SIGTERM", before, snapshot(c))
        # SHUTDOWN from a client, as redis-cli shutdown.
        c.call("XADD", "s", "*", "before", "shutdown")
        before = snapshot(c)
        c.send("SHUTDOWN")
        check("SHUTDOWN: connection closed", c.is_eof(10))
        rc = srv.wait_exit()
        check("SHUTDOWN: exit status 0", rc == 0, rc)
        srv = Runneld(opts.runneld, d, noflags=noflags, tag="log5").start(timeout=60)
        c = srv.connect()
        compare("SHUTDOWN", before, snapshot(c))
        c.close()
        srv.term()
    finally:
        if not FAILS:
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("     (kept %s)" % d)


# ----------------------------------------------------------------- refuse --

def case_refuse(opts):
    d = tempfile.mkdtemp(prefix="runneld-disk.")
    try:
        print("stores that do not mount are refused and left untouched")
        small = ["--store-size", "1mb", "--store-block-size", "64kb"]
        srv = Runneld(opts.runneld, d, small).start(timeout=60)
        c = srv.connect()
        for i in range(20):
            c.call("XADD", "s", "*", "i", str(i))
        c.close()
        check("clean stop", srv.term() == 0)
        store = os.path.join(d, "runnel.store")

        def refused(label, flags, pattern):
            h = sha(store)
            rc, out = run_start_fail(opts.runneld, d, flags)
            check("%s: refused (exit %s)" % (label, rc), rc == 1, out[-300:])
            check("%s: message says why" % label, re.search(pattern, out) is not None, out[-600:])
            check("%s: the file is untouched" % label, sha(store) == h)
            return out

        # Another block size: GEOMETRY.
        out = refused("store of another block size", ["--store-size", "1mb", "--store-block-size", "32kb"],
                      r"Can't mount the store file '.*runnel.store'.*another block size.*--format-store")
        print("     " + out.strip().splitlines()[-1][:300])
        # Another size: never truncated.
        out = refused("store of another size", ["--store-size", "2mb"],
                      r"store file is 1048576 bytes, the configuration needs 2097152.*never truncates")
        print("     " + out.strip().splitlines()[-1][:300])
        # A foreign file: random bytes.
        with open(store, "wb") as f:
            f.write(random.Random(1).randbytes(1 << 20))
        out = refused("foreign file (random bytes)", small,
                      r"Can't mount the store file .*holds no runnel store.*untouched.*--format-store")
        print("     " + out.strip().splitlines()[-1][:300])
        # A store with its newest block header damaged: corrupt or mounts
        # the valid part; a corrupt one must be refused untouched.
        # --format-store: the explicit way out.
        srv = Runneld(opts.runneld, d, small + ["--format-store"]).start(timeout=60)
        c = srv.connect()
        check("--format-store: starts empty", c.value("DBSIZE") == 0)
        c.call("XADD", "s", "*", "a", "b")
        c.close()
        srv.term()
        check("--format-store: the log says so", "re-formatted (--format-store)" in srv.read_log(None))
        srv = Runneld(opts.runneld, d, small).start(timeout=60)
        c = srv.connect()
        check("after --format-store, a normal restart mounts it", c.value("XLEN", "s") == 1)
        c.close()
        srv.term()
        # A blank file (what a start killed before its format leaves).
        with open(store, "wb") as f:
            f.write(b"\xff" * (1 << 20))
        srv = Runneld(opts.runneld, d, small).start(timeout=60)
        c = srv.connect()
        check("an all-erased file is formatted (nothing to lose), with a warning",
              c.value("DBSIZE") == 0 and "holds only erased bytes" in srv.read_log(None))
        c.close()
        srv.term()
        # store-filename can't be a path; --test-config does not touch the store.
        rc, out = run_start_fail(opts.runneld, d, ["--store-filename", "a/b"])
        check("store-filename with a '/' refused", rc == 1 and "can't be a path" in out, out[-200:])
    finally:
        if not FAILS:
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("     (kept %s)" % d)


# ------------------------------------------------------------------- lock --

def case_lock(opts):
    d = tempfile.mkdtemp(prefix="runneld-disk.")
    try:
        print("a second runneld on the same dir")
        a = Runneld(opts.runneld, d, ["--store-size", "1mb"]).start(timeout=60)
        b_sock = os.path.join(d, "b.sock")
        p = subprocess.run([opts.runneld, "--port", "0", "--unixsocket", b_sock, "--store-size", "1mb"],
                           cwd=d, capture_output=True, text=True, timeout=30)
        out = p.stdout + p.stderr
        check("refused, exit 1", p.returncode == 1, p.returncode)
        check("clear message", re.search(r"store file is locked.*another runneld", out) is not None,
              out[-400:])
        print("     " + out.strip().splitlines()[-1][:300])
        c = a.connect()
        check("the first one still serves", isinstance(c.value("XADD", "s", "*", "a", "b"), bytes))
        c.close()
        check("first stops cleanly", a.term() == 0)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ----------------------------------------------------------------- policy --

def case_policy(opts):
    d = tempfile.mkdtemp(prefix="runneld-disk.")
    try:
        print("appendfsync, SAVE/BGSAVE/LASTSAVE, INFO persistence")
        srv = Runneld(opts.runneld, d, ["--store-size", "4mb"]).start(timeout=60)
        c = srv.connect()
        check("CONFIG GET appendfsync -> everysec (default)",
              c.value("CONFIG", "GET", "appendfsync") == [b"appendfsync", b"everysec"])
        i = info(c, "persistence")
        for k in ("rdb_last_bgsave_status", "aof_last_write_status", "aof_enabled",
                  "rdb_changes_since_last_save"):
            check("INFO persistence has no %s" % k, k not in i)
        for k in ("runnel_store_path", "runnel_store_size", "runnel_store_used",
                  "runnel_store_free_blocks", "runnel_store_wear_min", "runnel_store_wear_max",
                  "runnel_last_commit_time", "runnel_mount_time_ms", "runnel_mount_bytes_read",
                  "runnel_appendfsync"):
            check("INFO persistence has %s" % k, k in i)
        check("runnel_store_size 4194304", i.get("runnel_store_size") == "4194304")
        check("runnel_appendfsync everysec", i.get("runnel_appendfsync") == "everysec")
        # everysec: synced within about a second of the write.
        syncs0 = int(i["runnel_store_syncs"])
        c.call("XADD", "s", "*", "a", "1")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3 and info(c, "persistence")["runnel_unsynced_writes"] != "0":
            time.sleep(0.05)
        el = time.monotonic() - t0
        check("everysec: synced %.2f s after the write (<= 1.2 s)" % el, el <= 1.2)
        check("everysec: one more sync", int(info(c, "persistence")["runnel_store_syncs"]) > syncs0)
        # always: every reply only after its sync.
        check("CONFIG SET appendfsync always", c.value("CONFIG", "SET", "appendfsync", "always") == "OK")
        check("CONFIG GET appendfsync -> always",
              c.value("CONFIG", "GET", "appendfsync") == [b"appendfsync", b"always"])
        s0 = int(info(c, "persistence")["runnel_store_syncs"])
        for k in range(20):
            c.call("XADD", "s", "*", "k", str(k))
            if info(c, "persistence")["runnel_unsynced_writes"] != "0":
                check("always: nothing unsynced once the reply is there", False)
                break
        s1 = int(info(c, "persistence")["runnel_store_syncs"])
        check("always: 20 writes, %d syncs" % (s1 - s0), s1 - s0 >= 20)
        # A pipeline of 500 writes from 4 clients: group commits.
        cs = [srv.connect() for _ in range(4)]
        s0 = int(info(c, "persistence")["runnel_store_syncs"])
        for x in cs:
            x.send_raw(b"".join(b"*5\r\n$4\r\nXADD\r\n$1\r\np\r\n$1\r\n*\r\n$1\r\nf\r\n$1\r\nv\r\n"
                                for _ in range(500)))
        for x in cs:
            for _ in range(500):
                x.read_reply()
            x.close()
        s1 = int(info(c, "persistence")["runnel_store_syncs"])
        check("always: 2,000 pipelined writes in %d syncs (group commit)" % (s1 - s0),
              0 < s1 - s0 < 2000)
        check("CONFIG SET appendfsync no", c.value("CONFIG", "SET", "appendfsync", "no") == "OK")
        check("INFO runnel_appendfsync no", info(c, "persistence")["runnel_appendfsync"] == "no")
        r = c.value("CONFIG", "SET", "appendfsync", "sometimes")
        check("CONFIG SET appendfsync sometimes refused", isinstance(r, RespError), r)
        print("     " + repr(r))
        c.value("CONFIG", "SET", "appendfsync", "everysec")
        # SAVE / BGSAVE / LASTSAVE.
        c.call("XADD", "s", "*", "b", "2")
        check("SAVE -> OK", c.value("SAVE") == "OK")
        check("SAVE: nothing unsynced", info(c, "persistence")["runnel_unsynced_writes"] == "0")
        ls = c.value("LASTSAVE")
        check("LASTSAVE is now (%r)" % ls, isinstance(ls, int) and abs(ls - time.time()) < 5)
        check("BGSAVE -> Background saving started",
              c.value("BGSAVE") == "Background saving started")
        r = c.value("SAVE", "x")
        check("SAVE x -> wrong number of arguments",
              isinstance(r, RespError) and b"wrong number of arguments for 'save'" in r.msg, r)
        c.close()
        srv.term()
        # store-type ram
        d2 = tempfile.mkdtemp(prefix="runneld-disk-ram.")
        srv = Runneld(opts.runneld, d2, ["--store-type", "ram", "--store-size", "1mb"]).start(timeout=60)
        c = srv.connect()
        c.call("XADD", "s", "*", "a", "1")
        i = info(c, "persistence")
        check("ram: INFO says ram and that nothing survives",
              i.get("runnel_store_type") == "ram" and i.get("runnel_store_survives_restart") == "no")
        r = c.value("SAVE")
        check("ram: SAVE refused", isinstance(r, RespError) and b"RAM" in r.msg, r)
        check("ram: no store file", not os.path.exists(os.path.join(d2, "runnel.store")))
        c.close()
        srv.term()
        shutil.rmtree(d2, ignore_errors=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------------- wrap --

def case_wrap(opts, rounds=80):
    d = tempfile.mkdtemp(prefix="runneld-disk.")
    try:
        print("kill -9 after each of %d rounds of writes through a wrapping 1 MiB ring" % rounds)
        flags = ["--store-size", "1mb", "--store-block-size", "16kb"]
        rnd = random.Random(7)
        srv = Runneld(opts.runneld, d, flags, tag="log0").start(timeout=60)
        c = srv.connect()
        for k in ("s", "t"):
            c.call("XADD", k, "*", "init", "1")
            c.call("XGROUP", "CREATE", k, "g", "0")
        saved = QUERIES[:]
        QUERIES[:] = [("XLEN", "s"), ("XLEN", "t"), ("XRANGE", "s", "-", "+"), ("XRANGE", "t", "-", "+"),
                      ("XINFO", "STREAM", "s"), ("XINFO", "STREAM", "t"), ("XPENDING", "s", "g"),
                      ("XPENDING", "t", "g"), ("XINFO", "GROUPS", "s"), ("XINFO", "GROUPS", "t")]
        ok = True
        mounts = []
        refused, last_err = 0, None
        for r in range(rounds):
            cmds = []
            for _ in range(rnd.randint(100, 500)):
                k = rnd.choice("st")
                x = rnd.random()
                if x < 0.7:
                    cmds.append(("XADD", k, "MAXLEN", "~", "2000", "*", "f", "v" * rnd.randint(1, 200)))
                elif x < 0.8:
                    cmds.append(("XREADGROUP", "GROUP", "g", rnd.choice("abc"), "COUNT", "5",
                                 "STREAMS", k, ">"))
                elif x < 0.9:
                    cmds.append(("XAUTOCLAIM", k, "g", "z", "0", "0", "COUNT", "3"))
                else:
                    cmds.append(("XTRIM", k, "MAXLEN", str(rnd.randint(100, 1500))))
            errs = [r[1].value() for r in c.pipeline(cmds) if isinstance(r[1].value(), RespError)]
            if errs:
                refused += len(errs)
                last_err = errs[0]
            for k in "st":   # ack most, so the PEL keeps some and never fills
                pend = c.value("XPENDING", k, "g", "-", "+", "300")
                if len(pend) > 20:
                    c.value("XACK", k, "g", *[p[0] for p in pend[:-20]])
            before = snapshot(c)
            srv.kill9()
            c.close()
            srv = Runneld(opts.runneld, d, flags, tag="log%d" % (r + 1)).start(timeout=60)
            c = srv.connect()
            after = snapshot(c)
            mounts.append(float(info(c, "persistence")["runnel_mount_time_ms"]))
            if after != before:
                ok = False
                compare("round %d" % r, before, after)
                break
        i = info(c, "persistence")
        check("%d kill -9 restarts, every one answering the same bytes" % rounds, ok)
        check("the ring wrapped (%s of 1048576 bytes used, block wear %s..%s)" %
              (i["runnel_store_used"], i["runnel_store_wear_min"], i["runnel_store_wear_max"]),
              int(i["runnel_store_wear_max"]) >= 2)
        print("     commands refused: %d%s" % (refused, " (%r)" % last_err if last_err else ""))
        print("     mount: %.1f ms median, %.1f ms max; last one read %s bytes" %
              (sorted(mounts)[len(mounts) // 2], max(mounts), i["runnel_mount_bytes_read"]))
        QUERIES[:] = saved
        c.close()
        check("clean stop", srv.term() == 0)
    finally:
        if not FAILS:
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("     (kept %s)" % d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["kill9", "refuse", "lock", "policy", "wrap"])
    ap.add_argument("--runneld", required=True)
    ap.add_argument("--noflags", action="store_true",
                    help="(set by the re-exec in a private network namespace)")
    opts = ap.parse_args()
    opts.runneld = os.path.abspath(opts.runneld)
    if opts.case == "kill9" and not opts.noflags and shutil.which("unshare"):
        # Re-run in a private network namespace so runneld can take port
        # 6379 with no flags at all.
        p = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
        if p.returncode == 0:
            os.execvp("unshare", ["unshare", "-rn", sys.executable, os.path.abspath(__file__),
                                  "kill9", "--runneld", opts.runneld, "--noflags"])
    if opts.noflags:
        subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True)
    {"kill9": case_kill9, "refuse": case_refuse, "lock": case_lock, "policy": case_policy,
     "wrap": case_wrap}[opts.case](opts)
    return finish(opts.case)


if __name__ == "__main__":
    sys.exit(main())
