#!/usr/bin/python3
"""difftest.py - differential test: runneld vs a real redis-server 7.0.15.

Starts a real `redis-server` (free port, --save '' --appendonly no, temp dir)
and `runneld` (path via --runneld, env RUNNELD, or the newest
build*/tools/runneld/runneld), runs every case file tests/interop/cases/*.txt
against BOTH in lockstep and compares every reply byte for byte (after the
masking described below).  Servers are killed at the end, also on failure.
Exit status: 0 when every reply matched, 1 on any mismatch, 2 on a harness
error (server would not start...).

    /usr/bin/python3 tests/interop/difftest.py [--runneld PATH] [CASE.txt ...]
    /usr/bin/python3 tests/interop/difftest.py --against-redis-only

--against-redis-only runs the cases against two redis-servers: it validates
the harness and the case files themselves (every case must pass there).
After the cases, a "shape check" runs against the candidate server alone:
INFO / CLIENT LIST / CLIENT INFO / COMMAND DOCS / HELLO are not byte
comparable, so only their shape is checked (fields present, redis_version:7.0.15,
role:master, cmdstat_xadd:calls=, errorstat_NOGROUP:count=...).

CASE FILE FORMAT
================
One step per line.  Arguments are split with redis-cli's quoting rules:
  - whitespace separates arguments;
  - "double quotes" understand \\r \\n \\t \\b \\a \\\\ \\" and \\xHH (binary);
  - 'single quotes' are literal except \\';
  - "" is an empty argument.
Lines starting with `#` are comments; blank lines are ignored.

A step:   [@conn] [!send] ARGS... [#directive ...]

  @conn        run on the named connection (opened on first use, one per
               server). Without it the step uses connection `main`.
  ARGS         a command, sent as a RESP array; its reply is read from both
               servers and compared.
  !send ARGS   send the command and do not wait for the reply (blocking
               commands). The harness then waits (up to 5 s) until the server
               has taken the command: INFO clients shows one more
               blocked_clients, or a reply (or EOF) is there to be read.
  ?            read the pending reply of that connection and compare it.
  ?none        check that NO reply arrives on that connection within 0.2 s
               (the client is still blocked) on both servers. Proving an
               absence needs a bounded wait: the one step that always
               waits its full time.
  ?eof         check that the server closed that connection (within 2 s).
  close        close that connection (the next step on it reopens it).
  raw "BYTES"  send BYTES verbatim (inline commands, bad protocol), then read
               and compare one reply.   !raw "BYTES" sends without reading,
               then waits (up to 5 s) until the server has read every byte
               (INFO stats total_net_input_bytes), so a split command really
               arrives in two reads.
  repeat N ARGS
               pipeline N copies of the command in ONE write and compare all N
               replies; `{i}` in ARGS becomes 0..N-1.
  sleep SECS   pause (both servers). Only for time that must pass (an idle
               time, a BLOCK timeout), never to wait for a server: the
               steps above wait for the real condition.

File-level lines (anywhere, usually at the top):
  %optional WHY     mismatches in this file are reported but do not fail the
                    run (behaviour runneld is not meant to have, e.g. WRONGTYPE
                    needs string keys).
  %requirepass PW   run this file against a separate redis/runneld pair
                    started with --requirepass PW (connections start
                    unauthenticated).

Substitutions inside ARGS (per server, at send time):
  {ID3}        the real ID that this server returned and that was masked as
               <ID3> (see masking); lets cases XACK/XCLAIM auto-generated IDs.
  {NOWMS}, {NOWMS-5000}, {NOWMS+5000}: the current unix time in ms (+-offset).

Directives (trailing words that start with an unquoted #):
  #mask:idle   mask time-dependent integers in the reply: integers that are
               unix-ms timestamps within +-1 day of now (-> :<TS>), the value
               after a name `idle`, `seen-time`, `active-time`, `inactive`
               (-> :<IDLE>), and the 3rd element of XPENDING-extended rows
               [$id, $consumer, :idle, :count] (-> :<IDLE>).
  #mask:ints   mask every integer in the reply (blunt; prefer #mask:idle).
  #nocompare   only check that both replies parse.
  #unordered   sort every array whose elements are all bulk strings (KEYS,
               SCAN: hash-table order is not a behaviour).

Always applied:
  - Auto-generated IDs: every bulk string `<ms>-<seq>` whose ms is within +-1
    day of now is replaced by <IDn>, numbered by order of first appearance,
    consistently per server for the whole case file.
  - The value after `radix-tree-nodes` (rax-internal, not a behaviour).
  - HELLO, INFO, CLIENT LIST/INFO, COMMAND [DOCS|INFO|COUNT], CONFIG GET, TIME,
    MEMORY, LOLWUT, DEBUG: not byte-compared. Errors must still match
    exactly, and for HELLO the set of reply field names and `proto` must match.

Between case files every connection is closed, then FLUSHALL and
CONFIG SET stream-node-max-entries 100 / stream-node-max-bytes 4096 run on
both servers.
"""
import argparse
import glob
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import respclient  # noqa: E402
from respclient import Node, printable  # noqa: E402
import servers  # noqa: E402

DAY_MS = 86400 * 1000
READ_TIMEOUT = 10.0
# Bound of the waits after !send / !raw (a healthy server needs microseconds).
TAKE_TIMEOUT = 5.0


class CaseError(Exception):
    pass


# ----------------------------------------------------------------------------
# Tokenizer (redis-cli / sdssplitargs rules)

def split_args(line):
    """Return (args, directives). args: list of (bytes, quoted); directives:
    list of str (words after the first unquoted '#' that starts a token)."""
    args = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n:
            return args, []
        if line[i] == "#" and args:
            return args, line[i:].split()
        cur = bytearray()
        quoted = False
        if line[i] == '"':
            quoted = True
            i += 1
            while True:
                if i >= n:
                    raise CaseError("unterminated double quote")
                ch = line[i]
                if ch == "\\" and i + 1 < n:
                    nx = line[i + 1]
                    if nx == "x" and i + 3 < n and all(c in "0123456789abcdefABCDEF" for c in line[i + 2:i + 4]):
                        cur.append(int(line[i + 2:i + 4], 16))
                        i += 4
                        continue
                    cur += {"n": b"\n", "r": b"\r", "t": b"\t", "b": b"\b",
                            "a": b"\a"}.get(nx, nx.encode("utf-8"))
                    i += 2
                    continue
                if ch == '"':
                    i += 1
                    if i < n and line[i] not in " \t":
                        raise CaseError("closing quote must be followed by a space")
                    break
                cur += ch.encode("utf-8")
                i += 1
        elif line[i] == "'":
            quoted = True
            i += 1
            while True:
                if i >= n:
                    raise CaseError("unterminated single quote")
                ch = line[i]
                if ch == "\\" and i + 1 < n and line[i + 1] == "'":
                    cur += b"'"
                    i += 2
                    continue
                if ch == "'":
                    i += 1
                    if i < n and line[i] not in " \t":
                        raise CaseError("closing quote must be followed by a space")
                    break
                cur += ch.encode("utf-8")
                i += 1
        else:
            while i < n and line[i] not in " \t":
                cur += line[i].encode("utf-8")
                i += 1
        args.append((bytes(cur), quoted))


# ----------------------------------------------------------------------------
# Steps

class Step(object):
    def __init__(self, path, lineno, text, conn, op, args, directives, count=1):
        self.path, self.lineno, self.text = path, lineno, text
        self.conn, self.op, self.args = conn, op, args
        self.directives = directives
        self.count = count

    @property
    def where(self):
        return "%s:%d" % (os.path.relpath(self.path, os.path.dirname(HERE)), self.lineno)


def parse_case_file(path):
    steps, meta = [], {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if s.startswith("%"):
                parts = s[1:].split()
                meta[parts[0]] = " ".join(parts[1:]) if len(parts) > 1 else True
                continue
            try:
                toks, directives = split_args(s)
            except CaseError as e:
                raise CaseError("%s:%d: %s" % (path, lineno, e))
            for d in directives:
                if d not in ("#mask:idle", "#mask:ints", "#nocompare", "#unordered"):
                    raise CaseError("%s:%d: unknown directive %s" % (path, lineno, d))
            conn = "main"
            if toks and not toks[0][1] and toks[0][0].startswith(b"@"):
                conn = toks[0][0][1:].decode()
                toks = toks[1:]
            if not toks:
                raise CaseError("%s:%d: empty step" % (path, lineno))
            head = toks[0][0] if not toks[0][1] else None
            words = [t[0] for t in toks]
            count = 1
            if head == b"sleep":
                op, args = "sleep", words[1:]
            elif head in (b"?", b"?none", b"?eof", b"close"):
                op, args = head.decode(), []
            elif head in (b"raw", b"!raw"):
                op, args = head.decode(), words[1:]
            elif head == b"!send":
                op, args = "send", words[1:]
            elif head == b"repeat":
                op, count, args = "repeat", int(words[1]), words[2:]
            else:
                op, args = "call", words
            if op in ("send", "call", "repeat", "raw", "!raw") and not args:
                raise CaseError("%s:%d: missing command" % (path, lineno))
            steps.append(Step(path, lineno, s, conn, op, args, directives, count))
    return steps, meta


# ----------------------------------------------------------------------------
# Masking

ID_RE = re.compile(rb"^(\d+)-(\d+)$")
TIME_NAMES = {b"idle", b"seen-time", b"active-time", b"inactive"}
NOCOMPARE_CMDS = {b"HELLO", b"INFO", b"TIME", b"MEMORY", b"LOLWUT", b"DEBUG"}


def nocompare_for(args):
    if not args:
        return False
    c = args[0].upper()
    sub = args[1].upper() if len(args) > 1 else b""
    if c in NOCOMPARE_CMDS:
        return True
    if c == b"CLIENT" and sub in (b"LIST", b"INFO"):
        return True
    if c == b"COMMAND" and sub in (b"", b"DOCS", b"INFO", b"COUNT", b"LIST"):
        return True
    if c == b"CONFIG" and sub == b"GET" and any(ch in a for a in args[2:] for ch in (b"*", b"?", b"[")):
        return True
    return False


class Side(object):
    """One server plus its connections and per-file masking state."""

    def __init__(self, name, server):
        self.name = name
        self.server = server
        self.conns = {}
        self.ctl = None
        self.reset_state()

    def reset_state(self):
        self.id_to_ph = {}
        self.ph_to_id = {}

    def conn(self, name):
        c = self.conns.get(name)
        if c is None or c.closed:
            c = self.server.connect(auth=False, timeout=READ_TIMEOUT)
            self.conns[name] = c
        return c

    def close_all(self):
        for c in self.conns.values():
            c.close()
        self.conns = {}
        if self.ctl is not None:
            self.ctl.close()
            self.ctl = None

    def control(self):
        """The harness's own connection, for INFO probes while a case's
        connection is blocked. Opened at the same step on both servers, so
        client IDs stay in step; closed with the case connections."""
        if self.ctl is None or self.ctl.closed:
            self.ctl = self.server.connect(auth=True, timeout=READ_TIMEOUT)
        return self.ctl

    def info_int(self, section, field):
        return self.server.info_int(section, field, self.control())

    def mask_id(self, b):
        m = ID_RE.match(b)
        if not m:
            return None
        ms = int(m.group(1))
        now = int(time.time() * 1000)
        if abs(ms - now) > DAY_MS:
            return None
        ph = self.id_to_ph.get(b)
        if ph is None:
            ph = b"<ID%d>" % (len(self.id_to_ph) + 1)
            self.id_to_ph[b] = ph
            self.ph_to_id[ph.decode()[1:-1]] = b
        return ph

    def substitute(self, args):
        out = []
        for a in args:
            if b"{" in a:
                def rep(m):
                    key = m.group(1).decode()
                    if key.startswith("NOWMS"):
                        off = int(key[5:] or 0)
                        return str(int(time.time() * 1000) + off).encode()
                    if key not in self.ph_to_id:
                        raise CaseError("{%s} used before the server returned it" % key)
                    return self.ph_to_id[key]
                a = re.sub(rb"\{(ID\d+|NOWMS(?:[+-]\d+)?)\}", rep, a)
            out.append(a)
        return out


def mask_tree(side, node, directives):
    """Mask in place; see module doc."""
    idle = "#mask:idle" in directives
    ints = "#mask:ints" in directives
    now = int(time.time() * 1000)

    def is_int(n):
        return n.kind == b":" and re.match(rb"^-?\d+$", n.head) is not None

    def walk(n):
        if n.attr is not None:
            walk(n.attr)
        if n.kind in (b"$", b"+") and n.body is not None or n.kind == b"+":
            data = n.body if n.kind == b"$" else n.head
            ph = side.mask_id(data)
            if ph is not None:
                if n.kind == b"$":
                    n.body, n.head = ph, b"%d" % len(ph)
                else:
                    n.head = ph
        if is_int(n) and (ints or (idle and abs(int(n.head) - now) <= DAY_MS)):
            n.head = b"<TS>" if not ints else b"<INT>"
        if n.children:
            ch = n.children
            # name/value pairs (flat arrays in RESP2, maps in RESP3)
            for i in range(0, len(ch) - 1):
                k = ch[i]
                if k.kind in (b"$", b"+") and is_int(ch[i + 1]):
                    name = k.body if k.kind == b"$" else k.head
                    if name == b"radix-tree-nodes":
                        ch[i + 1].head = b"<RAX>"
                    elif idle and name in TIME_NAMES:
                        ch[i + 1].head = b"<IDLE>"
            # XPENDING extended row: [$id, $consumer, :idle, :count]
            if idle and len(ch) == 4 and ch[0].kind == b"$" and ch[1].kind == b"$" \
                    and is_int(ch[2]) and is_int(ch[3]):
                ch[2].head = b"<IDLE>"
            for c in ch:
                walk(c)
    walk(node)
    if "#unordered" in directives:
        def sort(n):
            if n.children:
                if n.kind == b"*" and all(c.kind == b"$" for c in n.children):
                    n.children.sort(key=lambda c: c.serialize())
                for c in n.children:
                    sort(c)
        sort(node)
    return node.serialize()


# ----------------------------------------------------------------------------
# Runner

def compact(raw):
    """One-line rendering of a reply for mismatch reports: "bulk", :int,
    +simple, -error, [array], {map}, nil; '*-1' / '$-1' / '_' keep their type."""
    p = respclient.Parser()
    p.feed(raw)
    try:
        got = p.parse()
    except Exception:
        got = None
    if got is None:
        return None
    out = []

    def q(b):
        r = []
        for ch in b:
            if ch in (34, 92):
                r.append("\\" + chr(ch))
            elif 32 <= ch < 127:
                r.append(chr(ch))
            else:
                r.append({13: "\\r", 10: "\\n"}.get(ch, "\\x%02x" % ch))
        return '"' + "".join(r) + '"'

    def w(n):
        k = n.kind
        if n.is_null():
            out.append({b"*": "*-1", b"$": "$-1", b"_": "_"}[k])
        elif k in (b"$", b"=", b"!"):
            out.append((k.decode() if k != b"$" else "") + q(n.body))
        elif k in (b"*", b"~", b">", b"%"):
            out.append({b"*": "[", b"~": "~[", b">": ">[", b"%": "{"}[k])
            for i, c in enumerate(n.children):
                if i:
                    out.append(": " if k == b"%" and i % 2 else (", " if k == b"%" else " "))
                w(c)
            out.append("}" if k == b"%" else "]")
        else:
            out.append(k.decode() + n.head.decode("latin-1"))
    w(got[0])
    return "".join(out)


class Result(object):
    def __init__(self):
        self.steps = 0
        self.compared = 0
        self.mismatches = []
        self.optional = []

    def mismatch(self, step, msg, a=None, b=None, names=("redis", "runneld")):
        out = ["MISMATCH %s: %s" % (step.where, step.text), "  " + msg]
        if a is not None or b is not None:
            ca = compact(a) if isinstance(a, bytes) else None
            cb = compact(b) if isinstance(b, bytes) else None
            if ca is not None and cb is not None and ca != cb:
                out.append("  %-8s %s" % (names[0] + ":", ca))
                out.append("  %-8s %s" % (names[1] + ":", cb))
            else:
                for nm, raw in ((names[0], a), (names[1], b)):
                    text = printable(raw if isinstance(raw, bytes) else str(raw).encode())
                    out.append("  --- %s:" % nm)
                    out.extend("      " + ln for ln in text.splitlines())
        self.mismatches.append("\n".join(out))
        print(self.mismatches[-1], flush=True)


def read_one(conn, timeout=READ_TIMEOUT):
    """(raw, node) or (marker bytes, None) for EOF/timeout."""
    try:
        return conn.read_reply(timeout=timeout)
    except respclient.ConnectionClosed:
        conn.close()
        return b"<connection closed>", None
    except respclient.ReplyTimeout:
        return b"<no reply within %gs>" % timeout, None
    except respclient.ProtocolError as e:
        conn.close()
        return ("<protocol error: %s>" % e).encode(), None


def hello_keys(node):
    if node.kind == b"%":
        keys = [node.children[i] for i in range(0, len(node.children), 2)]
        vals = [node.children[i + 1] for i in range(0, len(node.children), 2)]
    elif node.kind == b"*" and node.children:
        keys = node.children[0::2]
        vals = node.children[1::2]
    else:
        return None
    names = [(k.body if k.body is not None else k.head) for k in keys]
    proto = None
    for nm, v in zip(names, vals):
        if nm == b"proto":
            proto = v.head
    return sorted(names), proto


SEEN_ERRORS = set()


def collect_errors(node):
    if node is None:
        return
    if node.kind == b"-":
        SEEN_ERRORS.add(node.head)
    for c in node.children or ():
        collect_errors(c)


def compare(res, step, sides, replies, args):
    """replies: [(raw, node), (raw, node)] for side A (reference) and B."""
    res.compared += 1
    collect_errors(replies[0][1])
    names = (sides[0].name, sides[1].name)
    (ra, na), (rb, nb) = replies
    if na is None or nb is None:
        if ra != rb:
            res.mismatch(step, "reply missing on one side", ra, rb, names)
        elif na is None:
            res.mismatch(step, "no reply from either server (case error?)", ra, rb, names)
        return
    if "#nocompare" in step.directives or (step.op != "raw" and nocompare_for(args)):
        ea, eb = na.kind in (b"-", b"!"), nb.kind in (b"-", b"!")
        if ea or eb:
            if ra != rb:
                res.mismatch(step, "error reply differs", ra, rb, names)
            return
        if args and args[0].upper() == b"HELLO":
            ka, kb = hello_keys(na), hello_keys(nb)
            if ka != kb:
                res.mismatch(step, "HELLO field names/proto differ", ra, rb, names)
        return
    ma = mask_tree(sides[0], na, step.directives)
    mb = mask_tree(sides[1], nb, step.directives)
    if ma != mb:
        note = "replies differ"
        if ma != ra or mb != rb:
            note += " (shown after masking)"
        res.mismatch(step, note, ma, mb, names)


def replied_or_closed(conn):
    """True if a reply (or EOF) is waiting on conn, without consuming it."""
    try:
        return conn.has_reply(0.001)
    except respclient.ConnectionClosed:
        return True


def wait_taken(step, sides, conns, before):
    """After !send: wait until each server has taken the command - its
    client is blocked (blocked_clients above `before`) or it answered."""
    for s, c, n in zip(sides, conns, before):
        if not servers.wait_until(lambda: replied_or_closed(c) or
                                  s.info_int("clients", "blocked_clients") > n, TAKE_TIMEOUT):
            raise CaseError("%s neither blocked the client nor replied within %gs"
                            % (s.name, TAKE_TIMEOUT))


def wait_read(step, sides, nbytes, before):
    """After !raw: wait until each server has read all `nbytes` (its
    total_net_input_bytes, minus what our own INFO probes added)."""
    probe = len(respclient.encode_command(["INFO", "stats"]))
    for s, n0 in zip(sides, before):
        polls = [0]

        def all_read():
            polls[0] += 1
            got = s.info_int("stats", "total_net_input_bytes") - n0 - polls[0] * probe
            return got >= nbytes
        if not servers.wait_until(all_read, TAKE_TIMEOUT):
            raise CaseError("%s did not read the %d bytes within %gs" % (s.name, nbytes, TAKE_TIMEOUT))


def run_step(res, step, sides):
    res.steps += 1
    op = step.op
    if op == "sleep":
        # Time passing is what such a step tests (see the module doc).
        time.sleep(float(step.args[0]))
        return
    conns = [s.conn(step.conn) for s in sides]
    if op == "close":
        for s in sides:
            s.conns[step.conn].close()
        return
    if op == "?":
        compare(res, step, sides, [read_one(c) for c in conns], None)
        return
    if op == "?none":
        for s, c in zip(sides, conns):
            if c.has_reply(0.2):
                raw, _ = c.read_reply()
                res.mismatch(step, "%s: expected the client to stay blocked, got a reply" % s.name,
                             raw, b"", (s.name, "(expected nothing)"))
        return
    if op == "?eof":
        for s, c in zip(sides, conns):
            if not c.is_eof(2.0):
                res.mismatch(step, "%s: expected the server to close the connection" % s.name)
            c.close()
        return
    if op in ("raw", "!raw"):
        data = step.args[0]
        if op == "!raw":
            before = [s.info_int("stats", "total_net_input_bytes") for s in sides]
        for c in conns:
            try:
                c.send_raw(data)
            except OSError:
                pass
        if op == "raw":
            compare(res, step, sides, [read_one(c) for c in conns], None)
        else:
            wait_read(step, sides, len(data), before)
        return
    per_side_args = [s.substitute(step.args) for s in sides]
    if op == "repeat":
        n = step.count
        payloads = []
        for args in per_side_args:
            cmds = [[a.replace(b"{i}", str(i).encode()) for a in args] for i in range(n)]
            payloads.append(b"".join(respclient.encode_command(c) for c in cmds))
        for c, p in zip(conns, payloads):
            c.send_raw(p)
        outs = []
        for c in conns:
            rs = []
            for _ in range(n):
                r = read_one(c, timeout=30)
                rs.append(r)
                if r[1] is None:
                    break
            outs.append(rs)
        if len(outs[0]) != len(outs[1]):
            res.mismatch(step, "got %d vs %d replies" % (len(outs[0]), len(outs[1])))
        sub_res = Result()
        for i, (a, b) in enumerate(zip(outs[0], outs[1])):
            compare(sub_res, step, sides, [a, b], per_side_args[0])
            if sub_res.mismatches:
                res.mismatches.append(sub_res.mismatches[0] + "\n  (reply #%d of %d)" % (i, n))
                print("  (reply #%d of %d)" % (i, n))
                break
        res.compared += 1
        return
    if op == "send":
        before = [s.info_int("clients", "blocked_clients") for s in sides]
    for c, args in zip(conns, per_side_args):
        try:
            c.send(*args)
        except OSError:
            pass
    if op == "send":
        wait_taken(step, sides, conns, before)
        return
    compare(res, step, sides, [read_one(c) for c in conns], per_side_args[0])


def prepare(side):
    side.close_all()
    side.reset_state()
    c = side.server.connect(auth=True)
    for cmd in (("FLUSHALL",), ("CONFIG", "SET", "stream-node-max-entries", "100"),
                ("CONFIG", "SET", "stream-node-max-bytes", "4096")):
        raw, _ = c.call(*cmd)
        if not raw.startswith(b"+OK"):
            print("warning: %s on %s replied %r" % (" ".join(cmd), side.name, raw))
    c.close()


def run_file(res, path, sides):
    steps, meta = parse_case_file(path)
    for s in sides:
        prepare(s)
    before = len(res.mismatches)
    for step in steps:
        dead = [s for s in sides if not s.server.alive()]
        if dead:
            res.mismatch(step, "server died: %s; log tail:\n%s" % (
                ", ".join(s.name for s in dead), "\n".join(s.server.read_log() for s in dead)))
            for s in dead:
                s.server.stop()
                s.server.start()
                s.close_all()
            return
        try:
            run_step(res, step, sides)
        except CaseError as e:
            res.mismatch(step, "case error: %s" % e)
        except OSError as e:
            res.mismatch(step, "socket error: %r" % e)
            for s in sides:
                s.close_all()
        except Exception as e:  # a harness bug must not hide the remaining cases
            import traceback
            res.mismatch(step, "harness exception: %r\n%s" % (e, traceback.format_exc()))
            for s in sides:
                s.close_all()
    for s in sides:
        s.close_all()
    n = len(res.mismatches) - before
    opt = ""
    if n and meta.get("optional"):
        res.optional.extend(res.mismatches[before:])
        del res.mismatches[before:]
        opt = " (optional file, not counted: %s)" % meta["optional"]
    print("%-40s %4d steps  %s%s" % (os.path.relpath(path, HERE), len(steps),
                                     "ok" if n == 0 else "%d MISMATCH(ES)" % n, opt), flush=True)


# ----------------------------------------------------------------------------
# Shape checks for replies that legitimately differ (candidate server alone)

def shape_check(server, label):
    problems = []

    def need(cond, what):
        if not cond:
            problems.append(what)

    c = server.connect()
    c.call("XADD", "shape:s", "*", "f", "v")
    c.call("XREADGROUP", "GROUP", "nogroup", "c", "STREAMS", "shape:s", ">")
    raw, node = c.call("INFO")
    need(node.kind == b"$", "INFO is a bulk string")
    info = node.body or b""
    need(b"\r\n" in info and b"\n" not in info.replace(b"\r\n", b""), "INFO lines end in \\r\\n")
    for f in (b"redis_version:7.0.15\r\n", b"role:master\r\n", b"arch_bits:",
              b"cluster_enabled:0\r\n", b"connected_clients:", b"blocked_clients:",
              b"total_error_replies:", b"used_memory:", b"# Server\r\n"):
        need(f in info, "INFO has %r" % f)
    raw, node = c.call("INFO", "commandstats")
    need(re.search(rb"cmdstat_xadd:calls=\d+,usec=\d+,usec_per_call=[\d.]+,rejected_calls=\d+,failed_calls=\d+",
                   node.body or b""), "INFO commandstats has cmdstat_xadd:calls=..")
    raw, node = c.call("INFO", "errorstats")
    need(re.search(rb"errorstat_NOGROUP:count=\d+", node.body or b""),
         "INFO errorstats has errorstat_NOGROUP:count=")
    c.call("CLIENT", "SETNAME", "shapey")
    raw, node = c.call("CLIENT", "LIST")
    body = (node.body or b"") if node.kind in (b"$", b"=") else b""
    for f in (b"id=", b"addr=127.0.0.1:", b"name=shapey", b"cmd=client"):
        need(f in body, "CLIENT LIST has %r" % f)
    raw, node = c.call("CLIENT", "INFO")
    body = (node.body or b"") if node.kind in (b"$", b"=") else b""
    need(b"name=shapey" in body and b"id=" in body, "CLIENT INFO has id= and name=shapey")
    raw, node = c.call("COMMAND", "DOCS", "XADD")
    need(node.kind in (b"*", b"%"), "COMMAND DOCS XADD replies an array/map (got %r)" % raw[:60])
    raw, node = c.call("COMMAND", "COUNT")
    need(node.kind == b":", "COMMAND COUNT replies an integer")
    raw, node = c.call("HELLO", "3")
    v = node.value() if node.kind == b"%" else None
    need(isinstance(v, dict), "HELLO 3 replies a map (got %r)" % raw[:80])
    if isinstance(v, dict):
        for k in (b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"):
            need(k in v, "HELLO 3 has %r" % k)
        need(v.get(b"proto") == 3, "HELLO 3 proto is 3")
        need(str(v.get(b"version", b"")).find("7.0") >= 0, "HELLO version 7.0.x")
    raw, node = c.call("INFO")
    need(node.kind in (b"$", b"="), "RESP3 INFO is a bulk/verbatim string")
    c.close()
    print("shape check on %s: %s" % (label, "ok" if not problems else "%d problem(s)" % len(problems)))
    for p in problems:
        print("  SHAPE MISMATCH (%s): missing/wrong: %s" % (label, p))
    return problems


# ----------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runneld", help="path of the runneld binary (default: $RUNNELD or build*/tools/runneld/runneld)")
    ap.add_argument("--against-redis-only", action="store_true",
                    help="compare redis-server against a second redis-server (validates the harness)")
    ap.add_argument("--no-shape", action="store_true", help="skip the INFO/CLIENT/HELLO shape check")
    ap.add_argument("--list-errors", action="store_true",
                    help="print every distinct error reply the reference server gave")
    ap.add_argument("cases", nargs="*", help="case files (default: cases/*.txt)")
    opts = ap.parse_args()

    if not servers.find_redis_server():
        print("FAIL: redis-server not found; install it (apt-get install redis-server)")
        return 2
    cases = opts.cases or sorted(glob.glob(os.path.join(HERE, "cases", "*.txt")))
    if not cases:
        print("FAIL: no case files")
        return 2
    if opts.against_redis_only:
        def candidate(password=None):
            return servers.Server.redis(password=password, label="redis-B")
        cand_name = "redis-B"
    else:
        exe = servers.find_runneld(opts.runneld)
        if not exe or not os.access(exe, os.X_OK):
            print("FAIL: runneld binary not found (pass --runneld or set RUNNELD)")
            return 2

        def candidate(password=None):
            return servers.Server.runneld(exe, password=password, label="runneld")
        cand_name = "runneld"
        print("runneld: %s" % exe)

    res = Result()
    pairs = {}
    started = []
    try:
        for path in cases:
            meta = parse_case_file(path)[1]
            pw = meta.get("requirepass")
            if pw not in pairs:
                a = servers.Server.redis(password=pw, label="redis")
                b = candidate(pw)
                started += [a, b]
                a.start()
                b.start()
                pairs[pw] = (Side("redis", a), Side(cand_name, b))
            run_file(res, path, pairs[pw])
        problems = []
        if not opts.no_shape:
            problems = shape_check(pairs[None][1].server if None in pairs else started[1], cand_name)
    except RuntimeError as e:
        print("FAIL: harness error: %s" % e)
        return 2
    finally:
        for s in started:
            s.cleanup()
    if opts.list_errors:
        for e in sorted(SEEN_ERRORS):
            print("ERROR SEEN: %s" % e.decode("utf-8", "replace"))
    total = len(res.mismatches) + len(problems)
    print("difftest: %d case files, %d steps, %d replies compared, %d mismatches, "
          "%d optional mismatches (not counted), %d shape problems"
          % (len(cases), res.steps, res.compared, len(res.mismatches), len(res.optional), len(problems)))
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
