#!/usr/bin/python3
"""test_clients.py - stock clients against runneld: Debian's python3-redis
(redis-py 4.3.4) and redis-cli.

Run with Debian's interpreter (the pyenv `python3` on PATH lacks redis-py):

    /usr/bin/python3 tests/interop/test_clients.py [--runneld PATH]
    /usr/bin/python3 tests/interop/test_clients.py --against-redis   # validate the test on real redis

Workflows: producer (xadd/MAXLEN/xrange/xrevrange/xlen), consumer group
(xgroup_create, xreadgroup incl. BLOCK woken by another client, xack,
xpending / xpending_range), claims (xclaim all options, xautoclaim incl.
deleted IDs), xinfo_stream / xinfo_stream(full) / xinfo_groups /
xinfo_consumers with exactly the key sets redis-py's 7.0 test-suite expects,
pipelines (transactional and not), and redis-cli: a plain XADD, `--pipe`
mass insertion of 100,000 XADDs (summary line checked) and XLEN read back.
RESP3: redis-py 4.3.4 has no RESP3 support (protocol=3 arrived in 5.0), so
RESP3 is covered by the raw client in difftest.py (cases/12_resp3.txt).

Prints one line per check and a closing `N passed, N failed`; exit 1 on failure.
"""
import argparse
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import servers  # noqa: E402
from checks import check, finish  # noqa: E402

try:
    import redis
except ImportError:
    print("FAIL: the redis module is missing; run with /usr/bin/python3 (Debian python3-redis)")
    sys.exit(2)



def run_check(fn, r, port):
    try:
        fn(r, port)
    except Exception as e:  # a crash in one workflow must not hide the others
        import traceback
        check(fn.__name__, False, "raised %r\n%s" % (e, traceback.format_exc()))


def t_producer(r, port):
    ids = [r.xadd("sensor", {"temp": str(20 + i), "unit": "C"}) for i in range(10)]
    check("xadd returns distinct increasing ids", len(set(ids)) == 10 and ids == sorted(
        ids, key=lambda x: tuple(int(p) for p in x.split(b"-"))))
    check("xlen", r.xlen("sensor") == 10)
    rng = r.xrange("sensor", count=3)
    check("xrange count=3", len(rng) == 3 and rng[0][0] == ids[0] and rng[0][1] == {b"temp": b"20", b"unit": b"C"}, rng)
    rev = r.xrevrange("sensor", count=2)
    check("xrevrange", [e[0] for e in rev] == [ids[9], ids[8]], rev)
    check("xrange min/max", len(r.xrange("sensor", min=ids[2], max=ids[4])) == 3)
    r.xadd("sensor", {"x": "y"}, maxlen=5, approximate=False)
    check("xadd maxlen exact trims", r.xlen("sensor") == 5)
    r.xadd("sensor", {"x": "y"}, id="99999999999999-0")
    check("xadd explicit id", r.xrevrange("sensor", count=1)[0][0] == b"99999999999999-0")
    try:
        r.xadd("sensor", {"x": "y"}, id="1-0")
        check("xadd smaller id raises", False)
    except redis.ResponseError as e:
        check("xadd smaller id raises", "equal or smaller" in str(e), str(e))
    check("xtrim", r.xtrim("sensor", maxlen=2, approximate=False) == 4)
    check("xdel", r.xdel("sensor", b"99999999999999-0") == 1)
    check("xadd nomkstream", r.xadd("nostream", {"a": "b"}, nomkstream=True) is None and not r.exists("nostream"))
    check("type stream", r.type("sensor") == b"stream")
    check("xread", r.xread({"sensor": "0"})[0][0] == b"sensor")
    check("xread nothing -> []", r.xread({"sensor": "$"}) == [])
    r.delete("sensor")


def t_group(r, port):
    check("xgroup_create mkstream", r.xgroup_create("jobs", "workers", id="$", mkstream=True) is True)
    try:
        r.xgroup_create("jobs", "workers", id="$")
        check("BUSYGROUP", False)
    except redis.ResponseError as e:
        check("BUSYGROUP", "BUSYGROUP" in str(e), str(e))
    ids = [r.xadd("jobs", {"n": str(i)}) for i in range(6)]
    got = r.xreadgroup("workers", "alice", {"jobs": ">"}, count=4)
    check("xreadgroup >", len(got) == 1 and got[0][0] == b"jobs" and [e[0] for e in got[0][1]] == ids[:4], got)
    got2 = r.xreadgroup("workers", "bob", {"jobs": ">"})
    check("xreadgroup second consumer gets the rest", [e[0] for e in got2[0][1]] == ids[4:], got2)
    hist = r.xreadgroup("workers", "alice", {"jobs": "0"})
    check("xreadgroup history", [e[0] for e in hist[0][1]] == ids[:4], hist)
    summary = r.xpending("jobs", "workers")
    check("xpending summary", summary["pending"] == 6 and summary["min"] == ids[0] and summary["max"] == ids[5]
          and summary["consumers"] == [{"name": b"alice", "pending": 4}, {"name": b"bob", "pending": 2}], summary)
    rng = r.xpending_range("jobs", "workers", min="-", max="+", count=10)
    check("xpending_range keys", len(rng) == 6 and set(rng[0]) == {
        "message_id", "consumer", "time_since_delivered", "times_delivered"}, rng[:1])
    check("xpending_range times_delivered", [x["times_delivered"] for x in rng] == [2, 2, 2, 2, 1, 1], rng)
    only_bob = r.xpending_range("jobs", "workers", "-", "+", 10, consumername="bob")
    check("xpending_range consumer", [x["message_id"] for x in only_bob] == ids[4:], only_bob)
    idle = r.xpending_range("jobs", "workers", "-", "+", 10, idle=3600000)
    check("xpending_range idle filter", idle == [], idle)
    check("xack", r.xack("jobs", "workers", *ids[:3]) == 3)
    check("xack again", r.xack("jobs", "workers", ids[0]) == 0)
    check("xpending after ack", r.xpending("jobs", "workers")["pending"] == 3)
    check("xgroup_createconsumer", r.xgroup_createconsumer("jobs", "workers", "carol") == 1)
    check("xgroup_delconsumer", r.xgroup_delconsumer("jobs", "workers", "carol") == 0)
    check("xgroup_setid", r.xgroup_setid("jobs", "workers", "$") is True)
    # BLOCK woken by another client's XADD
    result = {}

    def blocker():
        c = redis.Redis(port=port)
        t0 = time.monotonic()
        result["r"] = c.xreadgroup("workers", "dave", {"jobs": ">"}, block=5000, count=1)
        result["t"] = time.monotonic() - t0
        c.close()
    th = threading.Thread(target=blocker)
    th.start()
    # XADD only once the server has parked the reader: otherwise the entry
    # could be there before the XREADGROUP and "woken" would prove nothing.
    blocked = servers.wait_until(lambda: r.info("clients")["blocked_clients"] == 1, 5.0)
    check("xreadgroup block: the reader is blocked before the xadd", blocked)
    nid = r.xadd("jobs", {"late": "1"})
    th.join(10)
    got = result.get("r")
    check("xreadgroup block woken by xadd", got and got[0][1][0][0] == nid and result["t"] < 4.5, result)
    t0 = time.monotonic()
    none = r.xreadgroup("workers", "dave", {"jobs": ">"}, block=200)
    dt = time.monotonic() - t0
    check("xreadgroup block timeout", none == [] and 0.15 <= dt < 2.0, (none, dt))
    check("xgroup_destroy", r.xgroup_destroy("jobs", "workers") == 1)
    try:
        r.xreadgroup("workers", "x", {"jobs": ">"})
        check("NOGROUP", False)
    except redis.ResponseError as e:
        check("NOGROUP", "No such key 'jobs' or consumer group 'workers' in XREADGROUP with GROUP option" in str(e), str(e))
    r.delete("jobs")


def t_claim(r, port):
    r.xgroup_create("claims", "g", id="0", mkstream=True)
    ids = [r.xadd("claims", {"n": str(i)}) for i in range(5)]
    r.xreadgroup("g", "dead", {"claims": ">"})
    check("xclaim min_idle too high", r.xclaim("claims", "g", "alive", 3600000, [ids[0]]) == [])
    c = r.xclaim("claims", "g", "alive", 0, [ids[0], ids[1]])
    check("xclaim", [e[0] for e in c] == ids[:2] and c[0][1] == {b"n": b"0"}, c)
    j = r.xclaim("claims", "g", "alive", 0, [ids[2]], justid=True)
    check("xclaim justid", j == [ids[2]], j)
    r.xclaim("claims", "g", "alive", 0, [ids[3]], idle=60000, retrycount=7)
    d = r.xpending_range("claims", "g", ids[3], ids[3], 1)
    check("xclaim idle+retrycount", d[0]["times_delivered"] == 7 and d[0]["time_since_delivered"] >= 60000, d)
    tms = int(time.time() * 1000) - 120000
    r.xclaim("claims", "g", "alive", 0, [ids[4]], time=tms, justid=True)
    d = r.xpending_range("claims", "g", ids[4], ids[4], 1)
    check("xclaim time", d[0]["time_since_delivered"] >= 120000 and d[0]["consumer"] == b"alive", d)
    r.xack("claims", "g", ids[0])
    f = r.xclaim("claims", "g", "forced", 0, [ids[0]], force=True, justid=True)
    check("xclaim force", f == [ids[0]], f)
    r.xdel("claims", ids[1])
    ac = r.xautoclaim("claims", "g", "auto", 0, start_id="0-0", count=10)
    check("xautoclaim 7.0 reply has 3 elements", len(ac) == 3, ac)
    check("xautoclaim cursor", ac[0] == b"0-0", ac)
    check("xautoclaim claimed", [e[0] for e in ac[1]] == [ids[0], ids[2], ids[3], ids[4]], ac)
    check("xautoclaim deleted ids", ac[2] == [ids[1]], ac)
    aj = r.xautoclaim("claims", "g", "auto2", 0, count=2, justid=True)
    check("xautoclaim justid", aj == [ids[0], ids[2]], aj)
    try:
        r.xautoclaim("claims", "g", "auto2", 0, count=0)
        check("xautoclaim count 0 error", False)
    except (redis.ResponseError, redis.DataError) as e:
        check("xautoclaim count 0 error", True, str(e))
    r.delete("claims")


def t_xinfo(r, port):
    r.xgroup_create("info", "g", id="$", mkstream=True)
    ids = [r.xadd("info", {"k": str(i)}) for i in range(3)]
    r.xreadgroup("g", "c1", {"info": ">"}, count=2)
    s = r.xinfo_stream("info")
    check("xinfo_stream keys (7.0)", set(s) == {
        "length", "radix-tree-keys", "radix-tree-nodes", "last-generated-id", "max-deleted-entry-id",
        "entries-added", "recorded-first-entry-id", "groups", "first-entry", "last-entry"}, sorted(s))
    check("xinfo_stream values", s["length"] == 3 and s["groups"] == 1 and s["first-entry"][0] == ids[0]
          and s["last-entry"] == (ids[2], {b"k": b"2"}) and s["entries-added"] == 3
          and s["last-generated-id"] == ids[2], s)
    full = r.xinfo_stream("info", full=True)
    check("xinfo_stream full keys", set(full) == {
        "length", "radix-tree-keys", "radix-tree-nodes", "last-generated-id", "max-deleted-entry-id",
        "entries-added", "recorded-first-entry-id", "entries", "groups"}, sorted(full))
    check("xinfo_stream full entries", list(full["entries"]) == ids, full.get("entries"))
    g = full["groups"][0] if full.get("groups") else {}
    check("xinfo_stream full group keys", set(g) == {
        "name", "last-delivered-id", "entries-read", "lag", "pel-count", "pending", "consumers"}, sorted(g))
    check("xinfo_stream full group values", g.get("pel-count") == 2 and g.get("entries-read") == 2 and g.get("lag") == 1, g)
    groups = r.xinfo_groups("info")
    check("xinfo_groups keys (7.0)", len(groups) == 1 and set(groups[0]) == {
        "name", "consumers", "pending", "last-delivered-id", "entries-read", "lag"}, groups)
    check("xinfo_groups values", groups[0]["name"] == b"g" and groups[0]["consumers"] == 1 and groups[0]["pending"] == 2
          and groups[0]["last-delivered-id"] == ids[1], groups)
    cons = r.xinfo_consumers("info", "g")
    check("xinfo_consumers keys (7.0)", len(cons) == 1 and set(cons[0]) == {"name", "pending", "idle"}, cons)
    check("xinfo_consumers values", cons[0]["name"] == b"c1" and cons[0]["pending"] == 2 and 0 <= cons[0]["idle"] < 60000, cons)
    try:
        r.xinfo_stream("nokey")
        check("xinfo no such key", False)
    except redis.ResponseError as e:
        check("xinfo no such key", str(e) == "no such key", str(e))
    r.delete("info")


def t_pipeline(r, port):
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.xadd("pipe", {"i": str(i)})
    p.xlen("pipe")
    res = p.execute()
    check("pipeline 1000 xadd", len(res) == 1001 and res[-1] == 1000 and len(set(res[:-1])) == 1000)
    p = r.pipeline(transaction=True)
    p.xadd("tx", {"a": "1"}, id="1-0")
    p.xadd("tx", {"a": "2"}, id="2-0")
    p.xrange("tx")
    res = p.execute()
    check("transaction pipeline", res[:2] == [b"1-0", b"2-0"] and [e[0] for e in res[2]] == [b"1-0", b"2-0"], res)
    p = r.pipeline(transaction=True)
    p.xadd("tx", {"a": "3"}, id="1-0")
    p.xlen("tx")
    res = p.execute(raise_on_error=False)
    check("transaction with runtime error", isinstance(res[0], redis.ResponseError) and res[1] == 2, res)
    r.delete("pipe", "tx")


def t_misc(r, port):
    check("ping", r.ping() is True)
    check("echo", r.echo("hi") == b"hi")
    check("client_setname/getname", r.client_setname("py") and r.client_getname() == "py")
    check("client_id", isinstance(r.client_id(), int))
    info = r.info()
    check("info redis_version 7.0.x", str(info.get("redis_version", "")).startswith("7.0"), info.get("redis_version"))
    r.xadd("k1", {"a": "b"})
    check("keys", r.keys("k*") == [b"k1"])
    check("scan_iter", list(r.scan_iter(match="k*")) == [b"k1"])
    check("dbsize", r.dbsize() == 1)
    check("rename", r.rename("k1", "k2") and r.exists("k2") == 1 and r.exists("k1") == 0)
    check("unlink", r.unlink("k2") == 1)
    r2 = redis.Redis(port=port, db=3)
    r2.xadd("db3", {"a": "b"})
    check("select db", r2.exists("db3") == 1 and r.exists("db3") == 0)
    r2.flushdb()
    r2.close()
    check("flushdb", r.flushdb() is True)


def redis_cli(port, *args, stdin=None):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args), input=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)


def t_redis_cli(r, port):
    out = redis_cli(port, "XADD", "cli", "*", "f", "v")
    text = out.stdout.decode().strip()
    parts = text.split("-")
    check("redis-cli XADD prints the id", out.returncode == 0 and len(parts) == 2 and all(p.isdigit() for p in parts), text)
    out = redis_cli(port, "XLEN", "cli")
    check("redis-cli XLEN", out.stdout.decode().strip() == "1", out.stdout)
    out = redis_cli(port, "XADD", "cli", "0-0", "f", "v")
    check("redis-cli error", b"ERR The ID specified in XADD must be greater than 0-0" in out.stdout, out.stdout)
    n = 100000
    proto = b"".join(b"*5\r\n$4\r\nXADD\r\n$4\r\nmass\r\n$1\r\n*\r\n$5\r\nfield\r\n$%d\r\n%s\r\n" % (len(str(i)), str(i).encode())
                     for i in range(n))
    t0 = time.monotonic()
    out = redis_cli(port, "--pipe", stdin=proto)
    dt = time.monotonic() - t0
    text = out.stdout.decode(errors="replace")
    check("redis-cli --pipe 100k XADD summary", out.returncode == 0 and ("errors: 0, replies: %d" % n) in text, text[-300:])
    print("     (--pipe of %d XADDs took %.2fs)" % (n, dt))
    out = redis_cli(port, "XLEN", "mass")
    check("XLEN after --pipe", out.stdout.decode().strip() == str(n), out.stdout)
    first = redis_cli(port, "XRANGE", "mass", "-", "+", "COUNT", "1").stdout.decode().split("\n")
    check("XRANGE after --pipe", "field" in first and "0" in first, first)
    r.delete("mass", "cli")


def t_config_file_and_unixsocket(exe_or_none):
    """Start a second server from a Redis-style config file (first argument)
    that sets port, bind, requirepass and unixsocket; talk to it over the
    unix socket with redis-cli -s and with redis-py."""
    kind, exe = ("runneld", exe_or_none) if exe_or_none else ("redis", servers.find_redis_server())
    with servers.Server.from_config(kind, exe, ["bind 127.0.0.1", 'requirepass "pw 1"',
                                                "maxclients 64"], password="pw 1") as srv:
        # start() waited for an answer on the unix socket (NOAUTH counts)
        sock, port = srv.unix, srv.port
        out = subprocess.run(["redis-cli", "-s", sock, "PING"], stdout=subprocess.PIPE, timeout=10)
        check("config file: unixsocket requires AUTH", b"NOAUTH" in out.stdout, out.stdout)
        out = subprocess.run(["redis-cli", "-s", sock, "--no-auth-warning", "-a", "pw 1", "XADD", "u", "1-0", "a", "b"],
                             stdout=subprocess.PIPE, timeout=10)
        check("config file: unixsocket XADD after AUTH", out.stdout.strip() == b"1-0", out.stdout)
        r = redis.Redis(port=port, password="pw 1")
        check("config file: TCP port + requirepass", r.xlen("u") == 1)
        r.close()
        cfg = redis.Redis(unix_socket_path=sock, password="pw 1").config_get("maxclients")
        check("config file: maxclients applied", cfg.get("maxclients") == "64", cfg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runneld")
    ap.add_argument("--against-redis", action="store_true", help="run against a real redis-server (validates this test)")
    opts = ap.parse_args()
    if not servers.find_redis_server() and opts.against_redis:
        print("FAIL: redis-server not found")
        return 2
    if opts.against_redis:
        srv = servers.Server.redis()
        exe = None
    else:
        exe = servers.find_runneld(opts.runneld)
        if not exe:
            print("FAIL: runneld binary not found (pass --runneld or set RUNNELD)")
            return 2
        srv = servers.Server.runneld(exe)
    try:
        with srv:
            print("server: %s on port %d" % (srv.label, srv.port))
            r = redis.Redis(port=srv.port, socket_timeout=30)
            r.flushall()
            for fn in (t_misc, t_producer, t_group, t_claim, t_xinfo, t_pipeline, t_redis_cli):
                run_check(fn, r, srv.port)
                if not srv.alive():
                    check("server still alive after %s" % fn.__name__, False, srv.read_log())
                    break
            r.close()
        def t_config_file(r_, p_):
            t_config_file_and_unixsocket(None if opts.against_redis else exe)
        run_check(t_config_file, None, None)
    except RuntimeError as e:
        print("FAIL: %s" % e)
        return 2
    return finish("clients")


if __name__ == "__main__":
    sys.exit(main())
