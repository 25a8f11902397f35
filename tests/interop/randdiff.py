#!/usr/bin/python3
"""randdiff.py - randomized differential test: runneld vs redis-server 7.0.15.

Where difftest.py replays hand-written case files, this generates long random
sequences of stream commands (plausible arguments over a handful of keys,
groups and consumers, plus malformed arity / option typos), sends each one to a
real redis-server and to runneld in lockstep and compares the raw replies byte
for byte after masking only what legitimately differs between two servers:

  - auto-generated IDs (XADD `*`): masked to <IDn> per server by difftest's
    rules and substituted back as {IDn} when the generator reuses them;
  - idle / delivery / seen times in XPENDING, XINFO (difftest's #mask:idle),
    plus [$id, :delivery-time, :count] rows of XINFO STREAM FULL consumers;
  - radix-tree-nodes.

Most IDs are explicit `ms-seq` from a global counter (so replies are
deterministic); after the first `*` the counter jumps 2 days past now, out of
the masking window. Times given to the servers (XCLAIM IDLE/TIME, XPENDING
IDLE, min-idle) are either 0, around one hour or ~115 days, so every filter
decision is the same on both servers. Deliberate runnel limits (key length,
field count) are never generated.

    /usr/bin/python3 tests/interop/randdiff.py [--runneld PATH] [--seeds 1-5 | 3,7,9] [--ops 3000]
    /usr/bin/python3 tests/interop/randdiff.py --against-redis-only    # two redis-servers: 0 expected

Each seed starts with FLUSHALL, CONFIG SET stream-node-max-entries (100 or a
small value 2..10) and stream-node-max-bytes (4096, 0 or small), and some
seeds switch to RESP3 (HELLO 3), all chosen by the seed. On the first mismatch of a seed the
seed, the command index, the last commands and both replies are printed and the
run moves on to the next seed. Exit status 0 = no mismatch, 1 = mismatch,
2 = harness error.
"""
import argparse
import os
import random
import re
import sys
import time
from collections import deque

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import respclient  # noqa: E402
import servers  # noqa: E402
from difftest import Side, mask_tree, compact, CaseError  # noqa: E402

DAY_MS = 86400 * 1000
MAX_ID = b"18446744073709551615-18446744073709551615"

KEYS = [b"s0", b"s1", b"s2", b"s3"]
GROUPS = [b"g0", b"g1", b"g2"]
CONSUMERS = [b"c0", b"c1", b"c2", b"c3"]
FIELDS = [b"f", b"g", b"name", b"x"]
# Durations chosen far apart so "idle >= threshold" is decided identically on
# both servers whatever the few milliseconds between them.
MIN_IDLES = [b"0", b"0", b"0", b"1800000", b"10000000000", b"-5"]
CLAIM_IDLES = [b"0", b"3600000", b"10"]


def enc(x):
    return x if isinstance(x, bytes) else str(x).encode()


class Gen(object):
    """Random command generator. Keeps just enough of a model (IDs it has
    seen, an ID counter) to make arguments plausible; the servers' replies
    are the truth it compares, not the model."""

    def __init__(self, rng):
        self.rng = rng
        self.ms, self.seq = 1, 0
        self.jump_base = int(time.time() * 1000) + 2 * DAY_MS
        self.known = {k: [] for k in KEYS}   # ID tokens seen per key
        self.delivered = {k: [] for k in KEYS}  # IDs XREADGROUP/XAUTOCLAIM returned
        self.auto_ok = True                   # `*` allowed (not inside MULTI)
        self.queue = []                       # commands to emit before random ones

    def burst(self):
        """Groups on most keys (keys and groups get deleted along the way;
        without this most group commands would only see NOGROUP)."""
        for k in KEYS:
            for g in GROUPS:
                if self.rng.random() < 0.7:
                    self.queue.append(([b"XGROUP", b"CREATE", k, g,
                                        self.rng.choice([b"0", b"$", b"0-0"]), b"MKSTREAM"], {}))

    # -- IDs -------------------------------------------------------------
    def next_id(self):
        step = self.rng.choice([0, 0, 1, 1, 1, 2, 7])
        if step == 0:
            self.seq += 1
        else:
            self.ms += step
            self.seq = self.rng.choice([0, 0, 0, 1])
        return b"%d-%d" % (self.ms, self.seq)

    def saw_id(self, key, tok):
        lst = self.known[key]
        lst.append(tok)
        if len(lst) > 60:
            del lst[:20]
        m = re.match(rb"^(\d+)-(\d+)$", tok)
        if m:
            ms, seq = int(m.group(1)), int(m.group(2))
            if (ms, seq) > (self.ms, self.seq) and ms < (1 << 62):
                self.ms, self.seq = ms, seq

    def jump(self):
        if self.ms < self.jump_base:
            self.ms, self.seq = self.jump_base, 0

    def some_id(self, key=None, strict=True):
        r = self.rng.random()
        key = key or self.rng.choice(KEYS)
        if r < 0.45 and self.known[key]:
            return self.rng.choice(self.known[key])
        if r < 0.75:
            ms = self.rng.randint(max(0, self.ms - 20), self.ms + 2)
            return b"%d-%d" % (ms, self.rng.choice([0, 0, 1, 2]))
        if r < 0.85:
            return b"%d" % self.rng.randint(0, self.ms + 1)
        if r < 0.90:
            return b"0-0"
        if r < 0.93:
            return b"0"
        if r < 0.95 and not strict:
            return self.rng.choice([b"-", b"+"])
        return self.rng.choice([b"abc", b"1-", b"-5", b"1-2-3", b"1.5", b"+",
                                b"18446744073709551616", b"1-*"])

    def bound(self, key):
        r = self.rng.random()
        if r < 0.25:
            return self.rng.choice([b"-", b"+"])
        if r < 0.4:
            return b"(" + self.some_id(key)
        return self.some_id(key)

    # -- helpers -----------------------------------------------------------
    def kw(self, word):
        """Keywords are case-insensitive: exercise that sometimes."""
        return word.lower() if self.rng.random() < 0.1 else word

    def key(self):
        return self.rng.choice(KEYS)

    def group(self):
        return self.rng.choice(GROUPS) if self.rng.random() < 0.95 else b"nogroup"

    def consumer(self):
        return self.rng.choice(CONSUMERS)

    def count_val(self):
        return enc(self.rng.choice([-1, 0, 1, 1, 2, 3, 5, 10, 100]))

    def fields(self):
        out = []
        for _ in range(self.rng.choice([1, 1, 1, 2, 3])):
            out.append(self.rng.choice(FIELDS))
            if self.rng.random() < 0.04:
                n = self.rng.choice([60, 64, 100, 127, 128, 500, 4000, 5000])
                out.append(b"p" * n)
            else:
                out.append(self.rng.choice([b"v", b"", b"1", b"-7", b"12345678901", b"hello world",
                                            b"-4096", b"4095", b"32767", b"-8388608", b"2147483648",
                                            b"9223372036854775807", b"-9223372036854775808",
                                            b"9223372036854775808", b"007", b"+1", b"1.0",
                                            b"%d" % self.rng.randint(0, 1000)]))
        return out

    def trim_spec(self):
        strat = self.rng.choice([b"MAXLEN", b"MAXLEN", b"MINID"])
        a = [self.kw(strat)]
        op = self.rng.choice([None, b"=", b"~", b"~"])
        if op:
            a.append(op)
        if strat == b"MAXLEN":
            a.append(enc(self.rng.choice([0, 1, 2, 3, 5, 8, 10, 15, 20, 30, 50])))
        else:
            a.append(self.some_id(None, strict=True) if self.rng.random() < 0.9 else b"-")
        if op == b"~" and self.rng.random() < 0.5 or self.rng.random() < 0.03:
            a += [self.kw(b"LIMIT"), enc(self.rng.choice([0, 1, 2, 5, 10, 30, -1]))]
        return a

    # -- commands ---------------------------------------------------------
    def xadd(self):
        k = self.key()
        opts = []
        if self.rng.random() < 0.08:
            opts.append([self.kw(b"NOMKSTREAM")])
        if self.rng.random() < 0.3:
            opts.append(self.trim_spec())
        self.rng.shuffle(opts)
        a = [b"XADD", k] + [x for o in opts for x in o]
        r = self.rng.random()
        auto = None
        if r < 0.80:
            i = self.next_id()
        elif r < 0.86:
            i = b"%d-*" % self.rng.choice([self.ms, self.ms, self.ms + 1])
        elif r < 0.88 and self.auto_ok:
            i, auto = b"*", k
        elif r < 0.94:
            i = self.some_id(k)
        elif r < 0.96:
            i = self.rng.choice([b"0-0", b"0"])
        else:
            i = self.rng.choice([b"abc", b"1-", b"-5", b"+", b"-", b"1-2-3"])
        a.append(i)
        a += self.fields()
        if self.rng.random() < 0.02:
            a.pop()   # odd field/value count
        return a, {"xadd_key": k, "auto": auto}

    def xrange(self):
        k = self.key()
        rev = self.rng.random() < 0.4
        a = [b"XREVRANGE" if rev else b"XRANGE", k, self.bound(k), self.bound(k)]
        if self.rng.random() < 0.5:
            a += [self.kw(b"COUNT"), self.count_val()]
            if self.rng.random() < 0.05:
                a += [b"COUNT", self.count_val()]
        return a, {}

    def xlen(self):
        return [b"XLEN", self.key()], {}

    def xdel(self):
        k = self.key()
        ids = [self.some_id(k) for _ in range(self.rng.choice([1, 1, 2, 3]))]
        if self.rng.random() < 0.15:
            ids.append(ids[0])
        return [b"XDEL", k] + ids, {}

    def xtrim(self):
        return [b"XTRIM", self.key()] + self.trim_spec(), {}

    def xsetid(self):
        k = self.key()
        r = self.rng.random()
        if r < 0.5:
            last = b"%d-%d" % (self.ms + self.rng.choice([0, 0, 1, 5]), self.rng.choice([0, 5, 99]))
        elif r < 0.995:
            last = self.some_id(k)
        else:
            last = MAX_ID
        a = [b"XSETID", k, last]
        if self.rng.random() < 0.3:
            a += [self.kw(b"ENTRIESADDED"), enc(self.rng.choice([-1, 0, 1, 3, 10, 100, 1000]))]
        if self.rng.random() < 0.3:
            a += [self.kw(b"MAXDELETEDID"), self.some_id(k) if self.rng.random() < 0.7 else
                  b"%d-0" % (self.ms + 100)]
        m = re.match(rb"^(\d+)-(\d+)$", last)
        return a, {"setid": (k, last) if m else False}

    def streams_part(self, ids_fn, nkeys=(1, 1, 2, 3)):
        keys = self.rng.sample(KEYS, self.rng.choice(nkeys))
        if self.rng.random() < 0.05:
            keys.append(keys[0])
        ids = [ids_fn(k) for k in keys]
        if self.rng.random() < 0.03:
            ids.pop()   # unbalanced
        return [self.kw(b"STREAMS")] + keys + ids

    def xread(self):
        a = [b"XREAD"]
        if self.rng.random() < 0.5:
            a += [self.kw(b"COUNT"), self.count_val()]

        def idf(k):
            r = self.rng.random()
            if r < 0.3:
                return b"$"
            if r < 0.5:
                return b"0"
            return self.some_id(k)
        return a + self.streams_part(idf), {}

    def xgroup(self):
        sub = self.rng.choice([b"CREATE", b"CREATE", b"CREATE", b"CREATE", b"SETID", b"SETID",
                               b"DESTROY", b"CREATECONSUMER", b"CREATECONSUMER", b"DELCONSUMER"])
        k, g = self.key(), self.group()
        a = [b"XGROUP", self.kw(sub), k, g]
        if sub in (b"CREATE", b"SETID"):
            r = self.rng.random()
            a.append(b"$" if r < 0.3 else b"0" if r < 0.55 else
                     self.some_id(k, strict=(sub == b"CREATE")))
            if sub == b"CREATE" and self.rng.random() < 0.6:
                a.append(self.kw(b"MKSTREAM"))
            if self.rng.random() < 0.25:
                a += [self.kw(b"ENTRIESREAD"), enc(self.rng.choice([-2, -1, 0, 1, 2, 5, 100]))]
        elif sub in (b"CREATECONSUMER", b"DELCONSUMER"):
            a.append(self.consumer())
        return a, {}

    def xreadgroup(self):
        a = [b"XREADGROUP", self.kw(b"GROUP"), self.group(), self.consumer()]
        opts = []
        if self.rng.random() < 0.5:
            opts.append([self.kw(b"COUNT"), self.count_val()])
        if self.rng.random() < 0.15:
            opts.append([self.kw(b"NOACK")])
        self.rng.shuffle(opts)
        a += [x for o in opts for x in o]

        def idf(k):
            r = self.rng.random()
            if r < 0.65:
                return b">"
            if r < 0.8:
                return b"0"
            if r < 0.99:
                return self.some_id(k)
            return b"$"
        return a + self.streams_part(idf, (1, 1, 1, 1, 1, 2)), {}

    def pel_id(self, k):
        if self.delivered[k] and self.rng.random() < 0.7:
            return self.rng.choice(self.delivered[k])
        return self.some_id(k)

    def saw_delivered(self, key, reply):
        lst = self.delivered[key]
        for tok in re.findall(rb"\$\d+\r\n(\d+-\d+|<ID\d+>)\r\n", reply):
            lst.append(b"{" + tok[1:-1] + b"}" if tok.startswith(b"<") else tok)
        if len(lst) > 80:
            del lst[:len(lst) - 50]

    def xack(self):
        k = self.key()
        ids = [self.pel_id(k) for _ in range(self.rng.choice([1, 1, 2, 4]))]
        return [b"XACK", k, self.group()] + ids, {}

    def xpending(self):
        k, g = self.key(), self.group()
        a = [b"XPENDING", k, g]
        if self.rng.random() < 0.35:
            return a, {"mask": True}
        if self.rng.random() < 0.3:
            a += [self.kw(b"IDLE"), self.rng.choice([b"0", b"1800000", b"10000000000", b"-1"])]
        a += [self.bound(k), self.bound(k), self.count_val()]
        if self.rng.random() < 0.4:
            a.append(self.consumer())
        return a, {"mask": True}

    def xclaim(self):
        k = self.key()
        a = [b"XCLAIM", k, self.group(), self.consumer(), self.rng.choice(MIN_IDLES)]
        a += [self.pel_id(k) for _ in range(self.rng.choice([1, 1, 2, 3]))]
        opts = []
        if self.rng.random() < 0.15:
            opts.append([self.kw(b"IDLE"), self.rng.choice(CLAIM_IDLES)])
        elif self.rng.random() < 0.1:
            opts.append([self.kw(b"TIME"), self.rng.choice([b"{NOWMS-3600000}", b"{NOWMS}"])])
        if self.rng.random() < 0.15:
            opts.append([self.kw(b"RETRYCOUNT"), enc(self.rng.choice([0, 1, 5, 100]))])
        if self.rng.random() < 0.25:
            opts.append([self.kw(b"FORCE")])
        if self.rng.random() < 0.3:
            opts.append([self.kw(b"JUSTID")])
        if self.rng.random() < 0.1:
            opts.append([self.kw(b"LASTID"), self.some_id(k)])
        self.rng.shuffle(opts)
        return a + [x for o in opts for x in o], {}

    def xautoclaim(self):
        k = self.key()
        a = [b"XAUTOCLAIM", k, self.group(), self.consumer(), self.rng.choice(MIN_IDLES),
             self.rng.choice([b"0", b"0-0", b"-", self.bound(k)])]
        if self.rng.random() < 0.4:
            a += [self.kw(b"COUNT"), enc(self.rng.choice([1, 1, 2, 2, 3, 3, 10, 10, 0, -1]))]
        if self.rng.random() < 0.3:
            a.append(self.kw(b"JUSTID"))
        return a, {}

    def xinfo(self):
        r = self.rng.random()
        k = self.key()
        if r < 0.35:
            a = [b"XINFO", self.kw(b"STREAM"), k]
            if self.rng.random() < 0.5:
                a.append(self.kw(b"FULL"))
                if self.rng.random() < 0.5:
                    a += [self.kw(b"COUNT"), enc(self.rng.choice([0, 1, 2, 5, -1]))]
        elif r < 0.65:
            a = [b"XINFO", self.kw(b"GROUPS"), k]
        else:
            a = [b"XINFO", self.kw(b"CONSUMERS"), k, self.group()]
        return a, {"mask": True}

    def generic(self):
        r = self.rng.random()
        if r < 0.25:
            return [b"DEL"] + self.rng.sample(KEYS, self.rng.choice([1, 1, 2])), {"del": True}
        if r < 0.5:
            return [b"EXISTS"] + [self.key() for _ in range(self.rng.choice([1, 2, 3]))], {}
        if r < 0.75:
            return [b"TYPE", self.key()], {}
        src, dst = self.key(), self.key()
        return [b"RENAME", src, dst], {"rename": (src, dst)}

    TABLE = [("xadd", 30), ("xrange", 8), ("xlen", 3), ("xdel", 5), ("xtrim", 4),
             ("xsetid", 2), ("xread", 5), ("xgroup", 7), ("xreadgroup", 10), ("xack", 5),
             ("xpending", 6), ("xclaim", 5), ("xautoclaim", 4), ("xinfo", 5), ("generic", 2)]

    def one(self):
        if not self.queue and self.rng.random() < 0.005:
            self.burst()
        if self.queue:
            return self.queue.pop(0)
        total = sum(w for _, w in self.TABLE)
        x = self.rng.uniform(0, total)
        for name, w in self.TABLE:
            x -= w
            if x <= 0:
                break
        a, meta = getattr(self, name)()
        if self.rng.random() < 0.03:
            a, meta = self.malform(a), {"mask": meta.get("mask"), "setid": meta.get("setid")}
        return a, meta

    def malform(self, a):
        """Arity / option typos: drop trailing args, insert a bogus keyword,
        turn a numeric argument into a non-number."""
        a = list(a)
        r = self.rng.random()
        if r < 0.4 and len(a) > 1:
            del a[self.rng.randint(1, len(a) - 1):]
        elif r < 0.7:
            a.insert(self.rng.randint(2, len(a)) if len(a) > 2 else len(a),
                     self.rng.choice([b"COUNTT", b"MAXLN", b"NOACKK", b"FULLL", b"X", b"LIMIT"]))
        else:
            nums = [i for i in range(1, len(a)) if re.match(rb"^-?\d+$", a[i])]
            if nums:
                a[self.rng.choice(nums)] = self.rng.choice([b"x", b"1.5", b"99999999999999999999"])
            else:
                a.append(b"extra")
        return a


def mask_full_consumer_rows(node):
    """XINFO STREAM FULL consumer pending rows [$id, :delivery-time, :count]:
    the delivery time can sit outside difftest's +-1 day window (TIME 0)."""
    if node.children:
        ch = node.children
        if len(ch) == 3 and ch[0].kind == b"$" and ch[1].kind == b":" and ch[2].kind == b":":
            ch[1].head = b"<TS>"
        for c in ch:
            mask_full_consumer_rows(c)


def masked(side, node, args, meta):
    directives = ["#mask:idle"] if meta.get("mask") else []
    if args and args[0].upper() in (b"XINFO",):
        mask_full_consumer_rows(node)
    return mask_tree(side, node, directives)


STATS = None


class Mismatch(Exception):
    pass


def fmt(args):
    def q(a):
        if a and re.match(rb"^[\x21-\x7e]+$", a) and b'"' not in a:
            return a.decode()
        return '"' + a.decode("latin-1").replace("\\", "\\\\").replace('"', '\\"') + '"'
    return " ".join(q(a) for a in args)


def run_seed(seed, nops, sides, verbose=False, save_dir=None):
    rng = random.Random(seed)
    gen = Gen(rng)
    gen.burst()
    node_entries = rng.choice([100, 100, 2, 3, 4, 5, 7, 10])
    node_bytes = rng.choice([4096, 4096, 4096, 4096, 0, 64, 200, 1000])
    resp3 = rng.random() < 0.2
    for s in sides:
        s.close_all()
        s.reset_state()
        c = s.conn("main")
        for cmd in ((b"FLUSHALL",), (b"CONFIG", b"SET", b"stream-node-max-entries", enc(node_entries)),
                    (b"CONFIG", b"SET", b"stream-node-max-bytes", enc(node_bytes))):
            raw, _ = c.call(*cmd)
            if raw != b"+OK\r\n":
                raise RuntimeError("%s on %s replied %r" % (cmd, s.name, raw))
        if resp3:
            raw, _ = c.call(b"HELLO", b"3")
            if raw[:1] != b"%":
                raise RuntimeError("HELLO 3 on %s replied %r" % (s.name, raw[:80]))
    history = deque(maxlen=12)
    log = ["CONFIG SET stream-node-max-entries %d" % node_entries,
           "CONFIG SET stream-node-max-bytes %d" % node_bytes] + (["HELLO 3 #nocompare"] if resp3 else [])
    conf = "node-max-entries %d, node-max-bytes %d%s" % (node_entries, node_bytes, ", RESP3" if resp3 else "")
    conns = [s.conn("main") for s in sides]

    def exchange(i, args, meta):
        history.append((i, args))
        log.append(fmt(args) + (" #mask:idle" if meta.get("mask") else ""))
        per = [s.substitute(args) for s in sides]
        for c, a in zip(conns, per):
            c.send(*a)
        replies = []
        for s, c in zip(sides, conns):
            try:
                raw, node = c.read_reply(timeout=10)
            except respclient.ReplyTimeout:
                raw, node = b"<no reply within 10s>", None
            except respclient.ConnectionClosed:
                raw, node = b"<connection closed>", None
            replies.append((raw, node))
        if replies[0][1] is None or replies[1][1] is None:
            raise Mismatch(("reply missing", replies[0][0], replies[1][0]))
        ma = masked(sides[0], replies[0][1], args, meta)
        mb = masked(sides[1], replies[1][1], args, meta)
        if ma != mb:
            raise Mismatch(("replies differ", ma, mb))
        if STATS is not None:
            name = args[0].upper().decode()
            if name in ("XGROUP", "XINFO") and len(args) > 1:
                name += " " + args[1].upper().decode()
            kind = ("err " + ma[1:].split(b"\r\n")[0].decode("latin-1")[:60]) if ma[:1] == b"-" else \
                "nil" if ma in (b"*-1\r\n", b"$-1\r\n") else "empty" if ma == b"*0\r\n" else "ok"
            STATS[(name, kind)] = STATS.get((name, kind), 0) + 1
        return ma

    i = 0
    try:
        while i < nops:
            if rng.random() < 0.03:
                # MULTI block: queued commands, one EXEC (or DISCARD) reply.
                gen.auto_ok = False
                exchange(i, [b"MULTI"], {})
                for _ in range(rng.randint(1, 4)):
                    i += 1
                    a, meta = gen.one()
                    exchange(i, a, meta)
                i += 1
                exchange(i, [b"EXEC"] if rng.random() < 0.9 else [b"DISCARD"], {"mask": True})
                gen.auto_ok = True
                i += 1
                continue
            a, meta = gen.one()
            ma = exchange(i, a, meta)
            if meta.get("auto"):
                # Two `*` XADDs in one millisecond would give equal IDs on
                # one server and different ones on the other: keep every
                # auto ID in a millisecond of its own. Both servers read
                # this wall clock before they replied, so once it has moved
                # past the millisecond the replies arrived in, the next `*`
                # is in a later millisecond on both.
                answered = int(time.time() * 1000)
                servers.wait_until(lambda: int(time.time() * 1000) > answered, 1.0)
            if meta.get("xadd_key"):
                m = re.match(rb"^\$\d+\r\n(<ID\d+>|\d+-\d+)\r\n$", ma)
                if m:
                    tok = m.group(1)
                    if tok.startswith(b"<"):
                        tok = b"{" + tok[1:-1] + b"}"
                        gen.jump()
                    gen.saw_id(meta["xadd_key"], tok)
            if a[0] in (b"XREADGROUP", b"XAUTOCLAIM") and ma[:1] == b"*":
                ks = [k for k in KEYS if k in a]
                if len(ks) == 1:
                    gen.saw_delivered(ks[0], ma)
            if meta.get("setid") and ma == b"+OK\r\n":
                gen.saw_id(*meta["setid"])
            if meta.get("rename") and ma == b"+OK\r\n":
                src, dst = meta["rename"]
                if src != dst:
                    gen.known[dst], gen.known[src] = gen.known[src], []
            i += 1
    except Mismatch as e:
        what, ra, rb = e.args[0]
        print("MISMATCH seed %d (%s) at command #%d: %s" % (seed, conf, i, what))
        print("  last commands:")
        for j, args in history:
            print("    #%-5d %s" % (j, fmt(args)))
        print("  %-8s %s" % (sides[0].name + ":", compact(ra) if ra[:1] != b"<" else ra))
        print("  %-8s %s" % (sides[1].name + ":", compact(rb) if rb[:1] != b"<" else rb))
        if save_dir:
            os.makedirs(save_dir, exist_ok=True)
            path = os.path.join(save_dir, "seed%d.txt" % seed)
            with open(path, "w") as f:
                f.write("# randdiff seed %d, mismatch at the last command (difftest case format)\n" % seed)
                f.write("\n".join(log) + "\n")
            print("  replay: difftest.py %s" % path)
        sys.stdout.flush()
        return False, i
    except CaseError as e:
        print("seed %d: harness substitution error at #%d: %s" % (seed, i, e))
        return False, i
    if verbose:
        print("seed %d (%s): %d commands, ok" % (seed, conf, i))
    return True, i


def parse_seeds(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-", 1)
            out += list(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runneld", help="runneld binary (default: $RUNNELD or newest build*/tools/runneld/runneld)")
    ap.add_argument("--against-redis-only", action="store_true",
                    help="compare two redis-servers (validates the generator and the masking)")
    ap.add_argument("--seeds", default="1-5", help="seed list: '1-20', '3,7,9' (default 1-5)")
    ap.add_argument("--ops", type=int, default=3000, help="commands per seed (default 3000)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--save-dir", help="write each failing seed's commands there as a difftest case file")
    ap.add_argument("--stats", action="store_true",
                    help="print how often each command got ok / nil / empty / each error")
    opts = ap.parse_args()
    global STATS
    if opts.stats:
        STATS = {}

    if not servers.find_redis_server():
        print("FAIL: redis-server not found; install it (apt-get install redis-server)")
        return 2
    if opts.against_redis_only:
        cand = servers.Server.redis(label="redis-B")
        cand_name = "redis-B"
    else:
        exe = servers.find_runneld(opts.runneld)
        exe = os.path.abspath(exe) if exe else exe
        if not exe or not os.access(exe, os.X_OK):
            print("FAIL: runneld binary not found (pass --runneld or set RUNNELD)")
            return 2
        print("runneld: %s" % exe)
        cand = servers.Server.runneld(exe, label="runneld")
        cand_name = "runneld"
    ref = servers.Server.redis(label="redis")
    seeds = parse_seeds(opts.seeds)
    bad, total = [], 0
    t0 = time.monotonic()
    try:
        ref.start()
        cand.start()
        sides = [Side("redis", ref), Side(cand_name, cand)]
        for seed in seeds:
            ok, n = run_seed(seed, opts.ops, sides, opts.verbose, opts.save_dir)
            total += n
            if not ok:
                bad.append(seed)
                for srv in (ref, cand):
                    if not srv.alive():
                        print("  %s died; log tail:\n%s" % (srv.label, srv.read_log()))
                        srv.stop()
                        srv.start()
    except (RuntimeError, OSError) as e:
        print("FAIL: harness error: %s" % e)
        return 2
    finally:
        ref.cleanup()
        cand.cleanup()
    if STATS:
        for (name, kind), n in sorted(STATS.items()):
            print("  %-22s %-62s %6d" % (name, kind, n))
    print("randdiff: %d seeds, %d commands, %d seed(s) with a mismatch%s, %.1fs"
          % (len(seeds), total, len(bad), (": " + ",".join(map(str, bad))) if bad else "",
             time.monotonic() - t0))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
