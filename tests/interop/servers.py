#!/usr/bin/python3
"""servers.py - start and stop redis-server / runneld instances for the
interop tests.

Every server gets a free loopback port (bound with port 0 by the kernel, so
parallel ctest runs never collide), a private temp dir as cwd, and is killed
when the `with` block ends, when the process exits (atexit), or on SIGTERM /
SIGINT (ctest TIMEOUT sends SIGTERM... and then SIGKILL, which nobody can
catch; the servers are started in our own process group's session so the
kill of ctest's child tree reaches them too).

    with Server.redis() as r, Server.runneld(path) as d:
        c = r.connect(); ...

find_runneld() resolves the runneld binary: explicit arg, env RUNNELD, or
build*/tools/runneld/runneld in the source tree (newest).

wait_until(cond, timeout) is THE way the interop tests wait: for a server to
answer, for a client to be blocked (Server.wait_blocked), for the server to
have dropped closed connections (Server.wait_clients). Tests never sleep to
let something happen; a sleep is only right where time passing is itself
the thing under test (a BLOCK timeout, an idle time), and says so.
"""
import atexit
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC_ROOT = os.path.dirname(os.path.dirname(HERE))

sys.path.insert(0, HERE)
import respclient  # noqa: E402

_LIVE = []


def _cleanup_all():
    for s in list(_LIVE):
        s.stop()


atexit.register(_cleanup_all)


def _on_signal(signum, frame):
    _cleanup_all()
    sys.exit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    try:
        signal.signal(_sig, _on_signal)
    except (ValueError, OSError):
        pass


def wait_until(cond, timeout, interval=0.001, max_interval=0.05):
    """Calls cond() until it returns a true value and returns that value;
    after `timeout` seconds returns cond()'s last (false) value instead, so
    the caller reports what it was waiting for. Polls quickly at first (most
    conditions hold within a millisecond or two on loopback), then backs
    off to max_interval so a slow machine is not flooded with probes."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        left = deadline - time.monotonic()
        if left <= 0:
            return v
        time.sleep(min(interval, left))
        interval = min(interval * 2, max_interval)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def find_redis_server():
    env = os.environ.get("REDIS_SERVER")
    if env:
        return env if os.access(env, os.X_OK) else None
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)


def find_runneld(explicit=None):
    if explicit:
        return explicit
    env = os.environ.get("RUNNELD")
    if env:
        return env
    cands = glob.glob(os.path.join(SRC_ROOT, "build*", "tools", "runneld", "runneld"))
    cands = [c for c in cands if os.access(c, os.X_OK)]
    if not cands:
        return None
    return max(cands, key=os.path.getmtime)


class Server(object):
    """A server process on 127.0.0.1:<port> (and a unix socket if asked).

    workdir: the directory the server runs in. By default a private temp dir
    removed by cleanup(); a caller that restarts a server on the same store
    (kill -9, SIGTERM, then start again) passes its own directory, which is
    then left in place. log_name: the file in it that gets stdout/stderr (one
    per start keeps each run's log apart). noflags: runneld with no argument
    at all, as a user starts it (TCP 6379; only inside a private network
    namespace)."""

    def __init__(self, kind, argv_fn, label=None, password=None, unixsocket=False,
                 workdir=None, log_name="stdout.log", noflags=False, env=None,
                 fixed_port=False):
        self.kind = kind
        self.label = label or kind
        self.password = password
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="runnel-interop-%s-" % kind)
        os.makedirs(self.dir, exist_ok=True)
        self.unix = os.path.join(self.dir, "s.sock") if unixsocket else None
        self.log_name = log_name
        self.noflags = noflags
        # fixed_port: one port for every start, known before the first (a
        # server others point at by URL is restarted on the same port).
        self.port = free_port() if fixed_port else None
        self.fixed_port = fixed_port
        self.starts = 0
        self.proc = None
        self.ready_s = None
        self.env = env
        self._argv_fn = argv_fn

    @classmethod
    def redis(cls, password=None, extra=(), label=None, unixsocket=False, workdir=None,
              fixed_port=False):
        """extra comes last: a later --bind or --appendonly overrides ours."""
        exe = find_redis_server()
        if not exe:
            raise RuntimeError("redis-server not found (apt-get install redis-server)")

        def argv(port, d, unix):
            a = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--daemonize", "no", "--dir", d,
                 "--logfile", os.path.join(d, "server.log")]
            if password:
                a += ["--requirepass", password]
            if unix:
                a += ["--unixsocket", unix]
            return a + list(extra)
        return cls("redis", argv, label, password, unixsocket, workdir=workdir,
                   fixed_port=fixed_port)

    @classmethod
    def runneld(cls, exe, password=None, extra=(), label=None, unixsocket=False,
                workdir=None, log_name="stdout.log", noflags=False, env=None, emulator=()):
        """env: the process's environment (default: ours). emulator: a
        command prefix (["qemu-arm", "-L", ...]) for a cross-built runneld."""
        # a path is made absolute (the server runs in its own dir); a bare
        # name is looked up on PATH, as a shell would
        exe = (os.path.abspath(exe) if os.sep in exe else shutil.which(exe)) if exe else exe
        if not exe or not os.access(exe, os.X_OK):
            raise RuntimeError("runneld binary not found or not executable: %r" % exe)

        def argv(port, d, unix):
            if noflags:
                return list(emulator) + [exe]
            a = list(emulator) + [exe, "--port", str(port), "--bind", "127.0.0.1"]
            if password:
                a += ["--requirepass", password]
            if unix:
                a += ["--unixsocket", unix]
            return a + list(extra)
        return cls("runneld", argv, label, password, unixsocket, workdir, log_name, noflags, env)

    @classmethod
    def from_config(cls, kind, exe, lines, password=None):
        """A server started with a Redis-style config file as its only
        argument (redis-server also gets --save '' --appendonly no --dir), the
        way a user runs it: the file sets `port <p>`, `unixsocket <dir>/s.sock`
        and `lines` (requirepass, bind, ...). connect() uses the unix socket."""
        if not exe or not os.access(exe, os.X_OK):
            raise RuntimeError("%s binary not found or not executable: %r" % (kind, exe))

        def argv(port, d, unix):
            conf = os.path.join(d, "test.conf")
            with open(conf, "w") as f:
                f.write("# written by tests/interop/servers.py\nport %d\nunixsocket %s\n%s\n"
                        % (port, unix, "\n".join(lines)))
            extra = ["--save", "", "--appendonly", "no", "--dir", d] if kind == "redis" else []
            return [exe, conf] + extra
        return cls(kind, argv, "%s (config file)" % kind, password, unixsocket=True)

    def start(self, timeout=10.0, wait=True):
        """Starts the process and waits until it answers PING (wait=False:
        returns at once, for a test that waits for something else, such as
        systemd's READY=1)."""
        last_err = None
        for _attempt in range(3):
            if self.noflags:
                self.port = 6379
            elif not self.fixed_port:
                self.port = free_port()
            argv = self._argv_fn(self.port, self.dir, self.unix)
            self.starts += 1
            self.log = open(os.path.join(self.dir, self.log_path_name()), "wb")
            t0 = time.monotonic()
            self.proc = subprocess.Popen(argv, cwd=self.dir, stdout=self.log,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=self.env)
            _LIVE.append(self)
            if not wait:
                return self
            seen = {"err": "no answer within %gs" % timeout}

            def up_or_dead():
                # True once the port accepts and PING is answered (NOAUTH
                # counts: the server is up); "dead" if the process exited
                # (e.g. the port was taken between free_port() and bind).
                if self.proc.poll() is not None:
                    seen["err"] = "exited with %s" % self.proc.returncode
                    return "dead"
                try:
                    c = self._probe_connect(timeout=2)
                    raw, node = c.call("PING")
                    c.close()
                    if raw in (b"+PONG\r\n",) or raw.startswith(b"-NOAUTH"):
                        return "up"
                    seen["err"] = "PING replied %r" % raw
                except (OSError, respclient.ConnectionClosed, respclient.ReplyTimeout) as e:
                    seen["err"] = repr(e)
                return None
            if wait_until(up_or_dead, timeout) == "up":
                self.ready_s = time.monotonic() - t0
                return self
            last_err = seen["err"]
            self.stop()
        raise RuntimeError("%s failed to start: %s; log:\n%s" % (
            self.label, last_err, self.read_log()))

    def log_path_name(self, start=None):
        """log_name, with a "%d" in it replaced by the start's number (1, 2,
        ...) so that each start of a restarted server keeps its own log."""
        n = self.starts if start is None else start
        return self.log_name % n if "%d" in self.log_name else self.log_name

    def read_log(self, limit=4000):
        """The end of this start's log (limit=None: all of it)."""
        try:
            data = b""
            for name in (self.log_path_name(), "server.log"):
                p = os.path.join(self.dir, name)
                if os.path.exists(p):
                    with open(p, "rb") as f:
                        got = f.read()
                    data += got if limit is None else got[-limit:]
            return data.decode("utf-8", "replace")
        except OSError:
            return ""

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _probe_connect(self, timeout):
        """The readiness probe's own client (a subclass may give connect()
        another client type)."""
        if self.unix:
            return respclient.Conn(unix=self.unix, timeout=timeout)
        return respclient.Conn(port=self.port, timeout=timeout)

    def connect(self, auth=True, timeout=10.0):
        if self.unix:
            c = respclient.Conn(unix=self.unix, timeout=timeout)
        else:
            c = respclient.Conn(port=self.port, timeout=timeout)
        if auth and self.password:
            raw, _ = c.call("AUTH", self.password)
            if raw != b"+OK\r\n":
                raise RuntimeError("AUTH failed on %s: %r" % (self.label, raw))
        return c

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            self.proc = None
        self._forget()

    def wait_exit(self, secs=30):
        """The exit status once the process has ended; None (and the process
        killed) if it did not end within `secs`."""
        try:
            rc = self.proc.wait(secs)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            rc = None
        self._forget()
        return rc

    def kill9(self):
        """SIGKILL, as a crash: nothing of the server's runs any more."""
        self.proc.send_signal(signal.SIGKILL)
        return self.wait_exit(10)

    def term(self, secs=30):
        """SIGTERM and the exit status (None if it did not stop in time)."""
        self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(secs)

    def _forget(self):
        try:
            self.log.close()
        except Exception:
            pass
        if self in _LIVE:
            _LIVE.remove(self)

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def info_fields(self, section, conn=None):
        """INFO <section> as a dict of str -> str (a fresh connection unless
        `conn` is given)."""
        c = conn or self.connect(timeout=5)
        try:
            raw, node = c.call("INFO", section)
        finally:
            if conn is None:
                c.close()
        out = {}
        for line in (node.body or b"").decode("latin-1").split("\r\n"):
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def info_int(self, section, field, conn=None):
        return int(self.info_fields(section, conn)[field])

    def wait_blocked(self, n, timeout=5.0, conn=None):
        """Waits until INFO clients shows blocked_clients:n (a client's
        blocking XREAD/XREADGROUP has been parsed and parked). True if so."""
        return bool(wait_until(lambda: self.info_int("clients", "blocked_clients", conn) == n,
                               timeout))

    def wait_clients(self, n, timeout=10.0):
        """Waits until the server has dropped every connection but `n` (not
        counting the probe that asks): closes are processed asynchronously,
        so a test that closes sockets and then measures must wait for this.
        True if so."""
        return bool(wait_until(lambda: self.info_int("clients", "connected_clients") == n + 1,
                               timeout))

    def rss_kib(self):
        """VmRSS of the server process in KiB (Linux /proc)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None
