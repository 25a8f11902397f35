#!/usr/bin/python3
"""runneld_admin.py - the admin commands and limits of issue 9 over real
sockets, runneld side by side with redis-server 7.0.15 where both have the
behaviour (tests/interop/servers.py starts both on free ports).

    runneld_admin.py monitor|debug|docs|noevict|limits|pools --runneld PATH

  monitor  a MONITOR client reads the stream of lines while another client
           runs commands (SELECT, binary and quoted arguments, AUTH/HELLO
           passwords, MULTI/EXEC, a blocking XREAD woken by an XADD,
           admin commands that are not shown, refused commands, the
           monitor's own PING); the lines of both servers must be the same
           once the timestamp and the client ports are normalised, and each
           timestamp must be the current unix time in microseconds.
  debug    DEBUG SLEEP 0.3 with enable-debug-command yes stops the whole
           server (another client's PING waits for it) on both servers;
           enable-debug-command local allows it from 127.0.0.1; CONFIG GET.
  docs     COMMAND DOCS <name>, RESP2 and RESP3, byte for byte the same as
           redis-server's for every command runneld lists.
  noevict  maxmemory-clients 6mb: a client holding the most memory is
           evicted, unless it said CLIENT NO-EVICT on (then another one is).
  limits   every runnel limit error names a runneld directive, and that
           directive exists (CONFIG GET answers it).
  pools    with the default configuration, 100,000 keys and 10,000 groups
           created through redis-cli --pipe; idle RSS before and after.

Exit status 0 when every check passed, 1 otherwise, 77 (skipped) when
redis-server or redis-cli is missing for a case that needs them.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import servers  # noqa: E402
from servers import Server, wait_until  # noqa: E402
from checks import check, finish  # noqa: E402



def val(conn, *args):
    return conn.value(*args)


# ---------------------------------------------------------------- monitor --

LINE = re.compile(rb"^\+(\d+)\.(\d{6}) \[(\d+) ([^\]]+)\] (.*)$")


def monitor_session(srv):
    """Runs the script on srv with a monitor attached; returns the monitor's
    replies (raw bytes) up to and including the end marker, and the ports of
    the clients (to normalise)."""
    mon = srv.connect()
    raw, _ = mon.call("MONITOR")
    assert raw == b"+OK\r\n", raw
    c = srv.connect()
    b = srv.connect()
    ports = {}
    for name, conn in (("mon", mon), ("c", c), ("b", b)):
        ports[str(conn.sock.getsockname()[1]).encode()] = name.encode()
    c.call("SELECT", "3")
    c.call("XADD", "s", "1-1", "quote\"d", "line\nbreak\x01\xff\\")
    c.call("SELECT", "0")
    c.call("AUTH", "secret")
    c.call("AUTH", "user", "secret")
    c.call("HELLO", "3", "AUTH", "default", "secret", "SETNAME", "n1")
    c.call("HELLO", "2")
    c.call("CONFIG", "GET", "port")            # admin: not shown
    c.call("CLIENT", "LIST")                   # admin: not shown
    c.call("CLIENT", "NO-EVICT", "off")        # admin: not shown
    c.call("CLIENT", "ID")
    c.call("NOSUCHCOMMAND", "x")               # refused: not shown
    c.call("XLEN")                             # arity: not shown
    c.call("MULTI")
    c.call("XLEN", "s")
    c.call("PING")
    c.call("EXEC")
    c.call("WAIT", "0", "0")
    c.call("MEMORY", "USAGE", "nokey")
    b.send("XREAD", "BLOCK", "0", "STREAMS", "w", "$")
    assert srv.wait_blocked(1), "XREAD did not block"
    c.call("XADD", "w", "5-1", "f", "v")
    b.read_reply()
    lines = []

    def read_until(marker):
        while True:
            raw, _ = mon.read_reply(timeout=5)
            lines.append(raw)
            if marker in raw:
                return

    mon.send("PING")                           # the monitor's own: reply, then line
    read_until(b"+PONG")
    lines.append(mon.read_reply(timeout=5)[0])
    c.call("ECHO", "end-marker")
    read_until(b"end-marker")
    for conn in (mon, c, b):
        conn.close()
    return lines, ports


def normalise(lines, ports):
    out, stamps = [], []
    for raw in lines:
        if raw.startswith(b"+PONG"):
            out.append(raw)
            continue
        m = LINE.match(raw.rstrip(b"\r\n"))
        if not m:
            out.append(b"BAD " + raw)
            continue
        stamps.append(int(m.group(1)) + int(m.group(2)) / 1e6)
        host, _, port = m.group(4).rpartition(b":")
        who = ports.get(port)
        if who is None:
            continue    # the harness's own probes (wait_blocked polls INFO)
        out.append(b"+T [" + m.group(3) + b" " + host + b":" + who + b"] " + m.group(5))
    return out, stamps


def case_monitor(opts):
    with Server.redis() as r, Server.runneld(opts.runneld) as d:
        results = {}
        for label, srv in (("redis", r), ("runneld", d)):
            t0 = time.time()
            lines, ports = monitor_session(srv)
            t1 = time.time()
            norm, stamps = normalise(lines, ports)
            results[label] = norm
            check("%s: %d monitor lines, timestamps now and rising" % (label, len(stamps)),
                  len(stamps) > 10 and all(t0 - 1 <= s <= t1 + 1 for s in stamps) and
                  stamps == sorted(stamps))
        for label in ("redis", "runneld"):
            print("--- %s" % label)
            for x in results[label]:
                print("    %r" % x)
        rl, dl = results["redis"], results["runneld"]
        check("the same lines in the same order (%d redis, %d runneld)" % (len(rl), len(dl)),
              rl == dl)
        for a, b in zip(rl, dl):
            if a != b:
                print("     first difference:\n       redis   %r\n       runneld %r" % (a, b))
                break
        pong = b"+PONG\r\n"
        check("the monitor's own PING: +PONG, then its line",
              pong in dl and dl.index(pong) + 1 < len(dl) and
              dl[dl.index(pong) + 1].endswith(b':mon] "PING"'))
        # The monitor client after the session: CLIENT LIST flags=O.
        mon = d.connect()
        mon.call("MONITOR")
        c = d.connect()
        listing = val(c, "CLIENT", "LIST").decode()
        check("CLIENT LIST shows the monitor with flags=O", "flags=O " in listing)
        raw, _ = mon.call("RESET")
        check("RESET ends MONITOR", raw == b"+RESET\r\n" and val(mon, "XLEN", "none") == 0)
        mon.close()
        c.close()


# ------------------------------------------------------------------ debug --

def sleep_blocks_everyone(srv):
    a, b = srv.connect(), srv.connect()
    a.send("DEBUG", "SLEEP", "0.3")
    # PINGs from another client until one is held up: the server is asleep
    # from when it reads the DEBUG SLEEP, so that PING waits most of 0.3 s
    # (the ones before it, if any, come back at once).
    waited, raw_b = 0.0, None
    deadline = time.monotonic() + 5
    while waited < 0.1 and time.monotonic() < deadline:
        t = time.monotonic()
        raw_b, _ = b.call("PING", timeout=5)
        waited = time.monotonic() - t
    raw_a, _ = a.read_reply(timeout=5)
    a.close()
    b.close()
    return raw_a, raw_b, waited


def case_debug(opts):
    with Server.redis(extra=["--enable-debug-command", "yes"]) as r, \
            Server.runneld(opts.runneld, extra=["--enable-debug-command", "yes"]) as d:
        for label, srv in (("redis", r), ("runneld", d)):
            raw_a, raw_b, waited = sleep_blocks_everyone(srv)
            check("%s: DEBUG SLEEP 0.3 -> +OK, another client's PING waited %.3f s"
                  % (label, waited), raw_a == b"+OK\r\n" and raw_b == b"+PONG\r\n" and
                  waited >= 0.1)
            c = srv.connect()
            raw, _ = c.call("DEBUG", "SLEEP", "0")
            check("%s: DEBUG SLEEP 0 -> +OK" % label, raw == b"+OK\r\n")
            raw, _ = c.call("DEBUG", "SLEEP")
            check("%s: DEBUG SLEEP without seconds: %r" % (label, raw),
                  raw == b"-ERR unknown subcommand or wrong number of arguments for 'SLEEP'."
                         b" Try DEBUG HELP.\r\n")
            c.close()
    with Server.runneld(opts.runneld, extra=["--enable-debug-command", "local"]) as d:
        c = d.connect()
        check("enable-debug-command local: CONFIG GET",
              val(c, "CONFIG", "GET", "enable-debug-command") ==
              [b"enable-debug-command", b"local"])
        raw, _ = c.call("DEBUG", "SLEEP", "0")
        check("enable-debug-command local: allowed from 127.0.0.1", raw == b"+OK\r\n")
        c.close()
    with Server.runneld(opts.runneld) as d:
        c = d.connect()
        raw, _ = c.call("DEBUG", "SLEEP", "0")
        check("default (no): refused with Redis's text",
              raw.startswith(b"-ERR DEBUG command not allowed. If the enable-debug-command"))
        c.close()


# ------------------------------------------------------------------- docs --

def case_docs(opts):
    with Server.redis() as r, Server.runneld(opts.runneld) as d:
        names = sorted(n.decode() for n in d.connect().value("COMMAND", "LIST"))
        for proto in (2, 3):
            a, b = r.connect(), d.connect()
            if proto == 3:
                a.call("HELLO", "3")
                b.call("HELLO", "3")
            # redis-server lists a container's subcommands in its dict's
            # order, which a random hash seed changes from run to run: in
            # RESP3 the maps are compared as maps; in RESP2 (flat arrays)
            # the bytes of commands without subcommands, and the length of
            # the others.
            differ = []
            for n in names:
                ra, na = a.call("COMMAND", "DOCS", n)
                rb, nb = b.call("COMMAND", "DOCS", n)
                subs = b"subcommands" in ra
                if proto == 3:
                    same = na.value() == nb.value()
                else:
                    same = len(ra) == len(rb) if subs else ra == rb
                if not same:
                    differ.append(n)
            check("RESP%d: COMMAND DOCS <name> the same as redis-server's for all %d commands "
                  "runneld has (differ: %s)" % (proto, len(names), differ or "none"),
                  not differ and len(names) >= 48)
            a.close()
            b.close()


# ---------------------------------------------------------------- noevict --

def client_mem(srv, cid, probe):
    for line in val(probe, "CLIENT", "LIST").decode().splitlines():
        f = dict(kv.split("=", 1) for kv in line.split(" ") if "=" in kv)
        if f.get("id") == str(cid):
            return int(f["tot-mem"])
    return None


def hold(srv, probe, conn, nbytes):
    """conn sends an ECHO of a 4 MB bulk, but only its first nbytes: the
    query buffer holds them until the rest arrives (it never does)."""
    cid = val(conn, "CLIENT", "ID")
    conn.send_raw(b"*2\r\n$4\r\nECHO\r\n$4000000\r\n" + b"x" * nbytes)
    ok = wait_until(lambda: (client_mem(srv, cid, probe) or 0) >= nbytes, 5)
    return cid, ok


def evicted_ids(srv):
    return [int(x) for x in re.findall(r"Evicting client: id=(\d+)", srv.read_log(200000))]


def noevict_round(opts, protect):
    with Server.runneld(opts.runneld, extra=["--maxmemory-clients", "6mb"]) as d:
        probe = d.connect()
        big, small, greedy = d.connect(), d.connect(), d.connect()
        if protect:
            check("CLIENT NO-EVICT on -> +OK", big.call("CLIENT", "NO-EVICT", "on")[0] == b"+OK\r\n")
            line = [l for l in val(probe, "CLIENT", "LIST").decode().splitlines()
                    if "id=%d " % val(big, "CLIENT", "ID") in l]
            check("CLIENT LIST flags=e for it", bool(line) and " flags=e " in line[0])
        big_id, ok1 = hold(d, probe, big, 3900000)
        small_id, ok2 = hold(d, probe, small, 60000)
        check("two clients hold 3.9 MB and 60 KB of a command (budget 6 MB)", ok1 and ok2 and
              not evicted_ids(d))
        # A third sends a 3 MB argument (so it never holds more than the
        # first) until the total passes the budget: the biggest client that
        # may be evicted goes.
        greedy_id = val(greedy, "CLIENT", "ID")
        greedy.send_raw(b"*2\r\n$4\r\nECHO\r\n$3000000\r\n")
        try:
            for _ in range(45):
                greedy.send_raw(b"y" * 65536)
                if evicted_ids(d):
                    break
        except OSError:
            pass
        wait_until(lambda: evicted_ids(d), 5)
        ev = evicted_ids(d)
        alive = client_mem(d, big_id, probe) is not None
        probe.close()
        return big_id, small_id, greedy_id, ev, alive


def case_noevict(opts):
    big, small, greedy, ev, alive = noevict_round(opts, protect=False)
    check("without NO-EVICT the biggest client (3.9 MB) is evicted (evicted %s, big %d)"
          % (ev, big), ev == [big] and not alive)
    big, small, greedy, ev, alive = noevict_round(opts, protect=True)
    check("with NO-EVICT on it stays; the growing one is evicted instead (evicted %s, big %d)"
          % (ev, big), ev == [greedy] and alive)


# ----------------------------------------------------------------- limits --

def case_limits(opts):
    extra = ["--max-streams", "2", "--max-groups", "1", "--max-consumers", "1",
             "--max-pending", "2", "--max-fields", "4", "--max-key-len", "8",
             "--store-type", "ram", "--store-size", "256kb", "--store-block-size", "4kb"]
    with Server.runneld(opts.runneld, extra=extra) as d:
        c = d.connect()
        got = {}
        got["max-fields"] = c.call("XADD", "a", "*", *(["f", "v"] * 5))[0]
        got["max-key-len"] = c.call("XADD", "k" * 9, "*", "f", "v")[0]
        c.call("XADD", "a", "*", "f", "v")
        c.call("XADD", "b", "*", "f", "v")
        got["max-streams"] = c.call("XADD", "c", "*", "f", "v")[0]
        c.call("XGROUP", "CREATE", "a", "g1", "0")
        got["max-groups"] = c.call("XGROUP", "CREATE", "a", "g2", "0")[0]
        c.call("XREADGROUP", "GROUP", "g1", "c1", "COUNT", "1", "STREAMS", "a", ">")
        got["max-consumers"] = c.call("XGROUP", "CREATECONSUMER", "a", "g1", "c2")[0]
        c.call("XADD", "a", "*", "f", "v")
        c.call("XADD", "a", "*", "f", "v")
        # Two pending slots: the first read took one, this one takes the last.
        c.call("XREADGROUP", "GROUP", "g1", "c1", "COUNT", "1", "STREAMS", "a", ">")
        got["max-pending"] = c.call("XREADGROUP", "GROUP", "g1", "c1", "STREAMS", "a", ">")[0]
        # An entry larger than a 4 KiB block spans blocks; one larger than
        # the whole 256 KiB store is refused, naming store-size.
        raw = c.call("XADD", "b", "*", "f", "v" * 5000)[0]
        check("a 5,000 B entry on 4 KiB blocks is stored (spanning) (%r)" % raw[:40],
              raw.startswith(b"$"))
        got["store-size"] = c.call("XADD", "b", "*", "f", "v" * 300000)[0]
        full = None
        for i in range(2000):
            raw = c.call("XADD", "b", "*", "f", "v" * 2000)[0]
            if raw.startswith(b"-"):
                full = raw
                break
        got["store-full-policy"] = full or b"(never full)"
        for directive, raw in got.items():
            text = raw.decode("latin-1").strip()
            print("     %-18s %s" % (directive, text))
            ok = text.startswith("-ERR runnel ") and directive in text
            cg = val(c, "CONFIG", "GET", directive)
            check("%s: the error names it and CONFIG GET knows it" % directive,
                  ok and len(cg) == 2 and cg[0] == directive.encode())
            check("%s: no C field name in the text" % directive,
                  re.search(r"\b(max|name|full)_[a-z]+", text) is None)
        c.close()


# ------------------------------------------------------------------ pools --

def pipe_body():
    out = []
    for i in range(100000):
        k = b"key:%d" % i
        out.append(b"*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$1\r\nf\r\n$1\r\nv\r\n" % (len(k), k))
    for i in range(10000):
        k, g = b"key:%d" % i, b"g%d" % i
        out.append(b"*5\r\n$6\r\nXGROUP\r\n$6\r\nCREATE\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$1\r\n0\r\n"
                   % (len(k), k, len(g), g))
    return b"".join(out)


def case_pools(opts):
    cli = shutil.which("redis-cli")
    if cli is None:
        print("SKIP: redis-cli not found")
        return 77
    with Server.runneld(opts.runneld) as d:
        c = d.connect()
        before = d.rss_kib()
        t = time.monotonic()
        p = subprocess.run([cli, "-p", str(d.port), "--pipe"], input=pipe_body(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        took = time.monotonic() - t
        out = p.stdout.decode(errors="replace")
        print("     " + out.strip().replace("\n", "\n     "))
        check("redis-cli --pipe: 110,000 replies, 0 errors (%.1f s)" % took,
              "errors: 0, replies: 110000" in out)
        check("DBSIZE 100000", val(c, "DBSIZE") == 100000)
        groups = val(c, "XINFO", "GROUPS", "key:9999")
        check("key:9999 has group g9999", bool(groups) and b"g9999" in groups[0])
        info = d.info_fields("runnel", c)
        print("     INFO runnel: streams_used %s groups_used %s; RSS %d KiB before, %d KiB after"
              % (info.get("runnel_streams_used"), info.get("runnel_groups_used"), before,
                 d.rss_kib()))
        # Deleting them: DEL of one, then FLUSHALL of the rest; the keys
        # come back after (the key table stays consistent).
        check("DEL key:5 -> 1, EXISTS key:5 key:6 -> 1",
              val(c, "DEL", "key:5") == 1 and val(c, "EXISTS", "key:5", "key:6") == 1)
        t = time.monotonic()
        raw, _ = c.call("FLUSHALL", timeout=120)
        took = time.monotonic() - t
        check("FLUSHALL of 99,999 keys and 10,000 groups: +OK, DBSIZE 0 (%.2f s)" % took,
              raw == b"+OK\r\n" and val(c, "DBSIZE") == 0)
        replies = c.pipeline([("XADD", "key:%d" % i, "*", "f", "v") for i in range(0, 100000, 1000)])
        check("100 keys created again, all found",
              all(r[0].startswith(b"$") for r in replies) and val(c, "DBSIZE") == 100 and
              val(c, "EXISTS", *["key:%d" % i for i in range(0, 100000, 1000)]) == 100)
        c.close()
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["monitor", "debug", "docs", "noevict", "limits", "pools"])
    ap.add_argument("--runneld")
    opts = ap.parse_args()
    opts.runneld = servers.find_runneld(opts.runneld)
    if opts.case in ("monitor", "debug", "docs") and servers.find_redis_server() is None:
        print("SKIP: redis-server not found")
        return 77
    rc = globals()["case_" + opts.case](opts) or 0
    if rc == 77:
        return 77
    return finish(opts.case)


if __name__ == "__main__":
    sys.exit(main())
