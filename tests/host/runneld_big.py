#!/usr/bin/python3
"""runneld_big.py - entries larger than a store block through runneld
(issue 9; FORMAT.md "Spanning records").

    runneld_big.py CASE --runneld PATH

Cases (each in its own temp dir; the servers are real runneld processes on
a store file of 256 MiB, 64 KiB blocks):
  sizes   values of 1 B, 4 KiB - 1, 4 KiB, 4 KiB + 1, 64 KiB - 1, 64 KiB,
          64 KiB + 1, 10 MB and 100 MB, each in a stream of its own: XADD,
          then XRANGE, XREVRANGE and XREADGROUP ">" give back exactly the
          bytes (compared by SHA-256); kill -9 right after the last XADD's
          reply, restart: XRANGE and XREADGROUP history again; SIGTERM,
          restart: again. XCLAIM and EXEC (replies built whole) of the 10 MB
          entry. A value above proto-max-bulk-len's entry bound
          (CONFIG SET to 1 MB) is refused with the error naming it, and
          nothing is written. Prints the time each size takes.
Exit 0 pass, 1 fail.
"""
import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from respclient import RespError  # noqa: E402,F401
from servers import Server  # noqa: E402
from checks import check, finish  # noqa: E402

SIZES = [1, 4095, 4096, 4097, 65535, 65536, 65537, 10 * 1000 * 1000, 100 * 1000 * 1000]
FLAGS = ["--store-size", "256mb", "--store-block-size", "64kb"]


def value_of(n):
    """n bytes that differ from block to block (a piece in the wrong place
    changes the hash)."""
    seed = hashlib.sha256(str(n).encode()).digest()
    unit = b"".join(hashlib.sha256(seed + bytes([i])).digest() for i in range(64))  # 2 KiB
    reps = n // len(unit) + 1
    return (unit * reps)[:n]


def digest(b):
    return hashlib.sha256(b).hexdigest()


def Runneld(exe, d, tag):
    return Server.runneld(exe, extra=FLAGS, unixsocket=True, workdir=d, log_name=tag)


def one_entry(reply):
    """[[id, [f, v]]] -> (id, field, value)."""
    if not isinstance(reply, list) or len(reply) != 1:
        return None
    eid, fv = reply[0]
    if len(fv) != 2:
        return None
    return eid, fv[0], fv[1]


def check_reads(c, key, n, want, ids, where, group_read):
    t = time.monotonic()
    got = one_entry(c.value("XRANGE", key, "-", "+"))
    check("%s: XRANGE %s (%d B) is the value" % (where, key, n),
          got is not None and got[0] == ids[key] and got[1] == b"f" and len(got[2]) == n
          and digest(got[2]) == want, None if got is None else (got[0], len(got[2])))
    got = one_entry(c.value("XREVRANGE", key, "+", "-"))
    check("%s: XREVRANGE %s is the value" % (where, key),
          got is not None and digest(got[2]) == want)
    if group_read == ">":
        r = c.value("XREADGROUP", "GROUP", "g", "c", "STREAMS", key, ">")
    else:
        r = c.value("XREADGROUP", "GROUP", "g", "c", "STREAMS", key, "0")
    got = one_entry(r[0][1]) if r else None
    check("%s: XREADGROUP %s %s is the value" % (where, group_read, key),
          got is not None and digest(got[2]) == want)
    return time.monotonic() - t


def case_sizes(opts):
    d = tempfile.mkdtemp(prefix="runneld-big.")
    try:
        srv = Runneld(opts.runneld, d, "log1").start(timeout=60)
        c = srv.connect(timeout=120)
        ids, wants = {}, {}
        for n in SIZES:
            key = "v%d" % n
            v = value_of(n)
            wants[key] = digest(v)
            t = time.monotonic()
            ids[key] = c.value("XADD", key, "*", "f", v)
            t_add = time.monotonic() - t
            c.value("XGROUP", "CREATE", key, "g", "0")
            t_read = check_reads(c, key, n, wants[key], ids, "first run", ">")
            print("     %11d B: XADD %.3f s, XRANGE+XREVRANGE+XREADGROUP %.3f s" % (n, t_add, t_read))
            del v
        srv.kill9()
        c.close()
        for tag, how in (("log2", "after kill -9"), ("log3", "after SIGTERM")):
            srv = Runneld(opts.runneld, d, tag).start(timeout=120)
            print("     restart %s: %.3f s to PING" % (how, srv.ready_s))
            c = srv.connect(timeout=120)
            for n in SIZES:
                key = "v%d" % n
                check_reads(c, key, n, wants[key], ids, how, "0")
            if tag == "log2":
                c.close()
                check("SIGTERM: exit status 0", srv.term() == 0)
        # replies built whole copy a big entry into the reply: XCLAIM, EXEC
        key = "v%d" % (10 * 1000 * 1000)
        got = one_entry(c.value("XCLAIM", key, "g", "c2", "0", ids[key]))
        check("XCLAIM of the 10 MB entry is the value",
              got is not None and digest(got[2]) == wants[key])
        c.value("MULTI")
        c.value("XRANGE", key, "-", "+")
        r = c.value("EXEC")
        got = one_entry(r[0]) if isinstance(r, list) and len(r) == 1 else None
        check("EXEC [XRANGE] of the 10 MB entry is the value",
              got is not None and digest(got[2]) == wants[key])
        # the entry bound follows proto-max-bulk-len
        c.value("CONFIG", "SET", "proto-max-bulk-len", "1mb")
        raw, _ = c.call("XADD", "over", "*", "f", b"x" * (1024 * 1024))
        check("a 1 MiB + 1 B entry over proto-max-bulk-len 1mb is refused, naming it",
              raw.startswith(b"-ERR runnel limit reached: entry larger than proto-max-bulk-len"),
              raw[:120])
        check("... and nothing is written", c.value("EXISTS", "over") == 0)
        c.close()
        srv.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["sizes"])
    ap.add_argument("--runneld", required=True)
    opts = ap.parse_args()
    print("runneld_big: %s" % opts.case)
    {"sizes": case_sizes}[opts.case](opts)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
