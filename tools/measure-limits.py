#!/usr/bin/python3
"""measure-limits.py - runneld's limits with its default configuration, found
by running into each one (not read from the code), for the README's
"Compared with Redis" table.

    tools/measure-limits.py path/to/runneld [--skip-fill]

Starts runneld (defaults, store file in a temp dir) and, for each limit,
pushes until the first refusal and prints the last accepted value and the
error text, then the directives' defaults as CONFIG GET reports them.
--skip-fill leaves out filling the 64 MiB store (about a minute).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
from servers import Server  # noqa: E402

BATCH = 5000


def err_text(reply):
    v = reply[1].value()
    return v.msg.decode() if hasattr(v, "msg") else None


def first_refusal(c, make_cmd, start, stop):
    """Pipelines make_cmd(i) for i in start.. until a reply is an error;
    returns (number accepted, error text)."""
    i = start
    while i < stop:
        cmds = [make_cmd(j) for j in range(i, min(i + BATCH, stop))]
        for k, rep in enumerate(c.pipeline(cmds, timeout=120)):
            e = err_text(rep)
            if e is not None:
                return i + k - start, e
        i += len(cmds)
    return stop - start, None


def largest(c, ok_at, lo, hi):
    """Largest n in [lo, hi) with ok_at(n) true (ok_at monotone)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok_at(mid):
            lo = mid
        else:
            hi = mid
    return lo


def fresh(exe):
    """A new runneld with the defaults: each limit is measured on an empty
    server (FLUSHALL of 100,000 keys is slow, see the README)."""
    return Server.runneld(exe)


def main():
    exe = os.path.abspath(sys.argv[1])
    fill = "--skip-fill" not in sys.argv
    rows = []
    with fresh(exe) as d:
        c = d.connect()
        cfg = dict(zip(*[iter(c.value("CONFIG", "GET", "*"))] * 2))

        def ok(*args):
            return err_text(c.call(*args)) is None

        def fv(k):
            return [x for i in range(k) for x in ("f%d" % i, "v")]

        n = largest(c, lambda k: ok("XADD", "fields", "*", *fv(k)), 1, 70000)
        rows.append(("max-fields", n, err_text(c.call("XADD", "fields", "*", *fv(n + 1)))))
        n = largest(c, lambda k: ok("XADD", "k" * k, "*", "f", "v"), 1, 70000)
        rows.append(("max-key-len", n, err_text(c.call("XADD", "k" * (n + 1), "*", "f", "v"))))
        n = largest(c, lambda k: ok("XADD", "big", "*", "f", "v" * k), 1, 1 << 21)
        rows.append(("store-block-size (largest value of a one-field entry)", n,
                     err_text(c.call("XADD", "big", "*", "f", "v" * (n + 1)))))
        rows.append(("databases (SELECT 0..n-1)", 16, err_text(c.call("SELECT", "16"))))
        c.close()
    with fresh(exe) as d:
        c = d.connect()
        n, e = first_refusal(c, lambda i: ("XADD", "key:%d" % i, "*", "f", "v"), 0, 2000000)
        rows.append(("max-streams (keys of one entry)", n, e))
        c.close()
    with fresh(exe) as d:
        c = d.connect()
        c.call("XADD", "g", "*", "f", "v")
        n, e = first_refusal(c, lambda i: ("XGROUP", "CREATE", "g", "grp%d" % i, "0"), 0, 2000000)
        rows.append(("max-groups", n, e))
        c.close()
    with fresh(exe) as d:
        c = d.connect()
        c.call("XADD", "g", "*", "f", "v")
        c.call("XGROUP", "CREATE", "g", "grp", "0")
        n, e = first_refusal(c, lambda i: ("XGROUP", "CREATECONSUMER", "g", "grp", "c%d" % i),
                             0, 2000000)
        rows.append(("max-consumers", n, e))
        c.close()
    with fresh(exe) as d:
        c = d.connect()
        first_refusal(c, lambda i: ("XADD", "p", "*", "f", "v"), 0, 400000)
        c.call("XGROUP", "CREATE", "p", "grp", "0")
        n, e = first_refusal(c, lambda i: ("XREADGROUP", "GROUP", "grp", "c", "COUNT", "1000",
                                           "STREAMS", "p", ">"), 0, 1000)
        pending = c.value("XPENDING", "p", "grp")[0]
        rows.append(("max-pending (entries delivered, not acked)", pending, e))
        c.close()
    if fill:
        with fresh(exe) as d:
            c = d.connect()
            n, e = first_refusal(c, lambda i: ("XADD", "fill", "*", "f", "v" * 16), 0, 50000000)
            rows.append(("store-size (entries `f` + 16 bytes into one stream)", n, e))
            c.close()
    print("| limit | last accepted | first refusal |")
    print("| --- | ---: | --- |")
    for name, n, e in rows:
        print("| %s | %s | %s |" % (name, "{:,}".format(n), "`%s`" % e if e else "(none)"))
    print()
    print("CONFIG GET defaults:")
    for k in sorted(cfg):
        print("  %s = %s" % (k.decode(), cfg[k].decode()))


if __name__ == "__main__":
    main()
