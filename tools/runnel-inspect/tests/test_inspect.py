#!/usr/bin/python3
"""test_inspect.py - runnel-inspect on real store images (issue 6).

    test_inspect.py --inspect PATH --make-images PATH [--runneld PATH] [--seeds DIR]

Images come from the real engine: make_images (port/emu: a clean store, a
wrapped ring, power cuts with torn writes), a runneld store file (XADD,
groups, pending entries, SHUTDOWN), and the mount fuzzer's seed corpus
(tests/fuzz/corpus/mount: one geometry byte, then the image). Checked:

  clean      clean.img: exit 0; every stream's length and every group's
             consumers and pending count as the engine reported when it
             wrote the image (clean.expect)
  flip       one bit flipped in a committed record of a block behind the
             head: exit 1, a CORRUPT finding naming that block
  truncated  the file 100 bytes short: exit 1, says it is not a whole
             number of blocks
  torn       power cut during a write (torn prefix, torn bits): exit 0
             for each, and at least one reports a torn tail (a power cut
             is not damage: mount discards the torn bytes)
  blank      all 0xFF: exit 1, "not formatted"
  wrapped    a ring that wrapped many times: exit 0, a checkpoint found
  runneld    runneld's own store file after XADD/XGROUP/XREADGROUP/XACK
             and SHUTDOWN: exit 0, the streams and pending counts written
  seeds      every fuzz seed image: exit 0
  garbage    300 damaged variants (bit flips, zeroed and 0xFF ranges,
             truncations, random bytes): exit 0 or 1, never a crash,
             hang or sanitizer report
Exit 0 pass, 1 fail.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "interop"))

FAILS = []
# Sanitizer reports exit 86, so they cannot pass for "damage found" (1).
ENV = dict(os.environ,
           ASAN_OPTIONS="exitcode=86:detect_leaks=1",
           UBSAN_OPTIONS="halt_on_error=1:exitcode=86:print_stacktrace=1")


def check(what, ok, detail=""):
    print("  %s %s%s" % ("ok  " if ok else "FAIL", what, "" if ok or not detail else ": %s" % detail))
    if not ok:
        FAILS.append(what)
    return ok


def inspect(opts, path, *args):
    p = subprocess.run([opts.inspect] + list(args) + [path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=ENV, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def streams_in(out):
    """{(db, name): length} and {(key, group): (consumers, pending)} from
    the report (names are printed quoted, escaped as redis-cli does)."""
    streams, groups, key = {}, {}, None
    for line in out.splitlines():
        m = re.match(r'\s+db (\d+) stream "(.*)": length (\d+)', line)
        if m:
            key = m.group(2)
            streams[(int(m.group(1)), key)] = int(m.group(3))
            continue
        m = re.match(r'\s+sync cursor (\d+-\d+): backlog (\d+) entries \((\d+) bytes\)', line)
        if m:
            groups[("cursor", key)] = (m.group(1), int(m.group(2)), int(m.group(3)))
            continue
        m = re.match(r'\s+group "(.*)": consumers (\d+), pending (\d+)', line)
        if m:
            groups[(key, m.group(1))] = (int(m.group(2)), int(m.group(3)))
    return streams, groups


def case_generated(opts, d):
    subprocess.run([opts.make_images, d], check=True, env=ENV, timeout=300)

    print("clean")
    rc, out = inspect(opts, os.path.join(d, "clean.img"))
    check("clean.img exits 0", rc == 0, out[-2000:])
    streams, groups = streams_in(out)
    want_s, want_g, want_c = {}, {}, {}
    with open(os.path.join(d, "clean.expect")) as f:
        for line in f:
            w = line.split()
            if w[0] == "stream":
                want_s[(int(w[1]), w[2])] = int(w[3])
            elif w[0] == "cursor":
                want_c[w[1]] = (w[2], int(w[3]))
            else:
                want_g[(w[1], w[2])] = (int(w[3]), int(w[4]))
    check("the streams and lengths are the engine's (%d streams)" % len(want_s),
          streams == want_s and len(want_s) == 3, "%r vs %r" % (streams, want_s))
    cursors = {k[1]: v for k, v in groups.items() if k[0] == "cursor"}
    groups = {k: v for k, v in groups.items() if k[0] != "cursor"}
    check("the sync cursor and its backlog are the engine's",
          {k: v[:2] for k, v in cursors.items()} == want_c and want_c.get("sensors", (0, 0))[1] == 112
          and cursors["sensors"][2] > 112 * 30, "%r vs %r" % (cursors, want_c))
    check("the groups' consumers and pending counts are the engine's",
          groups == want_g and sum(p for _, p in want_g.values()) == 11,
          "%r vs %r" % (groups, want_g))
    check("no finding on a clean store", "Result: clean (0 damaged, 0 warnings, 0 notes)" in out)

    print("flip")
    with open(os.path.join(d, "clean.img"), "rb") as f:
        img = bytearray(f.read())
    block, off = 3, 300          # behind the head: the workload fills ~16 blocks
    img[block * 1024 + off] ^= 0x04
    flipped = os.path.join(d, "flip.img")
    with open(flipped, "wb") as f:
        f.write(img)
    rc, out = inspect(opts, flipped)
    check("a flipped bit exits 1", rc == 1, out[-2000:])
    check("the finding names block %d" % block,
          re.search(r"^CORRUPT block %d \(seq \d+\) offset \d+: " % block, out, re.M) is not None,
          out[-2000:])

    print("truncated")
    with open(os.path.join(d, "clean.img"), "rb") as f:
        data = f.read()
    trunc = os.path.join(d, "trunc.img")
    with open(trunc, "wb") as f:
        f.write(data[:-100])
    rc, out = inspect(opts, trunc)
    check("a truncated file exits 1", rc == 1, out[-2000:])
    check("it says the file is not a whole number of blocks",
          "not a whole number of 1024-byte blocks" in out, out[-2000:])

    print("torn")
    torn = sorted(n for n in os.listdir(d) if n.startswith("torn-"))
    tails = 0
    for n in torn:
        rc, out = inspect(opts, os.path.join(d, n))
        check("%s exits 0" % n, rc == 0, out[-2000:])
        tails += "torn tail" in out
    check("%d power-cut images, %d report a torn tail" % (len(torn), tails),
          len(torn) >= 8 and tails >= 1)

    print("blank")
    blank = os.path.join(d, "blank.img")
    with open(blank, "wb") as f:
        f.write(b"\xff" * 32768)
    rc, out = inspect(opts, blank)
    check("a blank image exits 1 and says not formatted", rc == 1 and "not formatted" in out, out)

    print("wrapped")
    rc, out = inspect(opts, os.path.join(d, "wrapped.img"))
    check("a wrapped ring exits 0", rc == 0, out[-2000:])
    m = re.search(r"wear \(estimated[^:]*\): min (\d+), max (\d+)", out)
    check("it has a checkpoint and its wear is above 1",
          "newest checkpoint: #" in out and m is not None and int(m.group(1)) >= 2, out[-2000:])

    print("relocated")
    rc, out = inspect(opts, os.path.join(d, "relocated.img"), "-v")
    check("a RELOCATE ring exits 0 and names its relocation records",
          rc == 0 and "RELOC_MASTER" in out and "RELOC_DONE" in out and "Result: clean" in out,
          out[-2000:])
    return [os.path.join(d, n) for n in ["clean.img", "wrapped.img", "relocated.img"] + torn]


def case_runneld(opts, d):
    from respclient import Conn  # tests/interop
    print("runneld")
    sock = os.path.join(d, "s.sock")
    log = open(os.path.join(d, "runneld.log"), "w")
    argv = [opts.runneld, "--port", "0", "--unixsocket", sock, "--store-size", "256kb",
            "--store-block-size", "4kb"]
    proc = subprocess.Popen(argv, cwd=d, stdout=log, stderr=subprocess.STDOUT)
    try:
        c = None
        deadline = time.monotonic() + 60
        while c is None and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                c = Conn(unix=sock, timeout=20)
            except OSError:
                time.sleep(0.01)
        if not check("runneld answers", c is not None):
            return None
        for i in range(300):
            c.value("XADD", "sensors", "*", "temp", "%d.5" % i, "room", "lab-%d" % (i % 7))
        for i in range(5):
            c.value("XADD", "events", "*", "kind", "boot", "n", str(i))
        c.value("XGROUP", "CREATE", "sensors", "uplink", "0")
        c.value("XREADGROUP", "GROUP", "uplink", "task1", "COUNT", "10", "STREAMS", "sensors", ">")
        got = c.value("XRANGE", "sensors", "-", "+", "COUNT", "3")
        ids = [e[0] for e in got]
        c.value("XACK", "sensors", "uplink", *ids)
        store = os.path.join(d, "runnel.store")
        rc, out = inspect(opts, store)
        check("inspecting while runneld runs warns that it holds the store",
              "another process" in out, out[-1500:])
        try:
            c.value("SHUTDOWN")
        except Exception:
            pass
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    rc, out = inspect(opts, store)
    check("runneld's store exits 0", rc == 0, out[-3000:])
    streams, groups = streams_in(out)
    check("sensors (300 entries) and events (5)",
          streams == {(0, "sensors"): 300, (0, "events"): 5}, repr(streams))
    check("group uplink: 1 consumer, 7 pending", groups.get(("sensors", "uplink")) == (1, 7),
          repr(groups))
    check("64 blocks of 4096 bytes", "64 blocks of 4096 bytes" in out, out[:500])
    return store


def case_seeds(opts, d):
    print("seeds")
    images = []
    # regress-*: inputs the fuzzer once failed on, kept so that fuzz_mount
    # replays them first; they are damaged images, not a writer's.
    names = sorted(n for n in os.listdir(opts.seeds) if not n.startswith("regress-"))
    for n in names:
        with open(os.path.join(opts.seeds, n), "rb") as f:
            data = f.read()[1:]        # byte 0 picks the fuzzer's geometry
        p = os.path.join(d, "seed-" + n)
        with open(p, "wb") as f:
            f.write(data)
        rc, out = inspect(opts, p)
        check("%s exits 0" % n, rc == 0, out[-2000:])
        images.append(p)
    check("%d seed images" % len(names), len(names) >= 10)
    return images


def case_garbage(opts, d, images, n=300):
    print("garbage (%d damaged variants of %d images)" % (n, len(images)))
    rng = random.Random(6)
    codes = {}
    bad = 0
    for i in range(n):
        with open(rng.choice(images), "rb") as f:
            img = bytearray(f.read())
        kind = rng.randrange(6)
        if kind == 0:
            for _ in range(rng.randrange(1, 8)):
                img[rng.randrange(len(img))] ^= 1 << rng.randrange(8)
        elif kind == 1:
            a = rng.randrange(len(img))
            ln = rng.randrange(1, 600)
            img[a:a + ln] = b"\x00" * len(img[a:a + ln])
        elif kind == 2:
            a = rng.randrange(len(img))
            ln = rng.randrange(1, 2000)
            img[a:a + ln] = b"\xff" * len(img[a:a + ln])
        elif kind == 3:
            img = img[:rng.randrange(len(img))]
        elif kind == 4:
            a = rng.randrange(len(img))
            ln = rng.randrange(1, 300)
            img[a:a + ln] = bytes(rng.randrange(256) for _ in range(len(img[a:a + ln])))
        else:
            img = bytearray(rng.randrange(256) for _ in range(rng.choice([1024, 4096, 8192])))
        p = os.path.join(d, "garbage.img")
        with open(p, "wb") as f:
            f.write(img)
        rc, out = inspect(opts, p)
        codes[rc] = codes.get(rc, 0) + 1
        if rc not in (0, 1) or "runtime error" in out or "Sanitizer" in out:
            bad += 1
            if bad <= 3:
                keep = os.path.join(d, "garbage-fail-%d.img" % i)
                shutil.copy(p, keep)
                print(out[-3000:])
    check("every damaged variant exits 0 or 1 without a sanitizer report (exit codes %r)"
          % codes, bad == 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inspect", required=True)
    ap.add_argument("--make-images", required=True)
    ap.add_argument("--runneld")
    ap.add_argument("--seeds")
    opts = ap.parse_args()
    for k in ("inspect", "make_images", "runneld", "seeds"):
        if getattr(opts, k):
            setattr(opts, k, os.path.abspath(getattr(opts, k)))
    d = tempfile.mkdtemp(prefix="runnel-inspect-")
    try:
        images = case_generated(opts, d)
        if opts.runneld:
            store = case_runneld(opts, d)
            if store:
                images.append(store)
        if opts.seeds:
            images += case_seeds(opts, d)
        case_garbage(opts, d, images)
    finally:
        if not FAILS:
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("images kept in %s" % d)
    if FAILS:
        print("FAILED: %s" % ", ".join(FAILS))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
