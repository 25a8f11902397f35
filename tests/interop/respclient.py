#!/usr/bin/python3
"""respclient.py - a tiny raw-socket RESP2/RESP3 client for the interop tests.

It deliberately does NOT use the redis module: the interop rig must see the
exact bytes a server sends, so every reply is returned twice:

  * raw:  the exact bytes of that one reply as they came off the socket,
  * node: a parse tree (Node) that keeps every token's type byte and payload
          verbatim, so Node.serialize() reproduces `raw` byte for byte.  The
          diff harness masks time-dependent values on the tree and re-serializes.

Node.value() turns a tree into plain Python values (bytes, int, None, list,
dict, RespError, ...) for tests that want to reason about a reply.

Supported: every RESP2 type (+ - : $ *) and the RESP3 types
(_ , # ! = ( % ~ > |), inline commands (send_raw), pipelining (pipeline()),
several connections at once (just make several Conn objects), TCP or a unix
socket.  Replies are read with a timeout; a closed connection raises
ConnectionClosed.
"""
import socket
import time

CRLF = b"\r\n"


class ConnectionClosed(Exception):
    """The server closed the connection (EOF) before a full reply arrived."""


class ReplyTimeout(Exception):
    """No complete reply arrived within the timeout."""


class ProtocolError(Exception):
    """The bytes received are not valid RESP."""


class RespError(object):
    """An error reply (-ERR ... or !<len> blob error)."""

    def __init__(self, msg):
        self.msg = msg

    def __eq__(self, other):
        return isinstance(other, RespError) and other.msg == self.msg

    def __hash__(self):
        return hash(self.msg)

    def __repr__(self):
        return "RespError(%r)" % self.msg

    @property
    def code(self):
        return self.msg.split(b" ", 1)[0]


# Aggregate types: type byte -> how many child nodes per announced element.
_AGGREGATES = {b"*": 1, b"~": 1, b">": 1, b"%": 2, b"|": 2}
_BLOBS = (b"$", b"!", b"=")
_LINES = (b"+", b"-", b":", b",", b"#", b"(", b"_")


class Node(object):
    """One RESP token. `kind` is the type byte (e.g. b'$'), `head` the bytes
    between the type byte and the first CRLF (length, integer, simple string),
    `body` the payload of a blob (None otherwise), `children` the elements of
    an aggregate (for maps: key, value, key, value...).  An attribute (|)
    is kept as `attr` on the node that follows it."""

    __slots__ = ("kind", "head", "body", "children", "attr")

    def __init__(self, kind, head, body=None, children=None, attr=None):
        self.kind = kind
        self.head = head
        self.body = body
        self.children = children
        self.attr = attr

    def serialize(self):
        out = []
        self._ser(out)
        return b"".join(out)

    def _ser(self, out):
        if self.attr is not None:
            self.attr._ser(out)
        out.append(self.kind + self.head + CRLF)
        if self.body is not None:
            out.append(self.body + CRLF)
        if self.children is not None:
            for c in self.children:
                c._ser(out)

    def is_null(self):
        return self.kind == b"_" or (self.kind in (b"$", b"*") and self.head == b"-1")

    def value(self):
        """Plain Python form: +/simple -> str, $ -> bytes, : -> int,
        - -> RespError, null -> None, * ~ > -> list, % -> dict (or list of
        pairs when a key is unhashable), , -> float, # -> bool."""
        k = self.kind
        if self.is_null():
            return None
        if k == b"+":
            return self.head.decode("latin-1")
        if k == b"-":
            return RespError(self.head)
        if k == b":" or k == b"(":
            return int(self.head)
        if k == b",":
            return float(self.head.replace(b"inf", b"Infinity").decode())
        if k == b"#":
            return self.head == b"t"
        if k == b"$":
            return self.body
        if k == b"!":
            return RespError(self.body)
        if k == b"=":
            return self.body
        if k in (b"*", b"~", b">"):
            return [c.value() for c in self.children]
        if k == b"%":
            pairs = [(self.children[i].value(), self.children[i + 1].value())
                     for i in range(0, len(self.children), 2)]
            try:
                return dict(pairs)
            except TypeError:
                return pairs
        raise ProtocolError("unknown type %r" % k)

    def __repr__(self):
        return "Node(%r)" % self.serialize()


class Parser(object):
    """Incremental RESP parser over a growing byte buffer. parse() returns
    (node, consumed_bytes) or None if the buffer does not yet hold a whole
    reply. Iterative in spirit but recursion depth equals nesting depth, which
    is tiny for every reply a Redis server sends."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data

    def parse(self):
        try:
            node, pos = self._parse_at(0)
        except _Incomplete:
            return None
        raw = bytes(self.buf[:pos])
        del self.buf[:pos]
        return node, raw

    def _line(self, pos):
        end = self.buf.find(CRLF, pos)
        if end < 0:
            raise _Incomplete()
        return bytes(self.buf[pos:end]), end + 2

    def _parse_at(self, pos):
        if pos >= len(self.buf):
            raise _Incomplete()
        kind = bytes(self.buf[pos:pos + 1])
        head, pos = self._line(pos + 1)
        if kind in _LINES:
            return Node(kind, head), pos
        if kind in _BLOBS:
            n = int(head)
            if n < 0:
                return Node(kind, head), pos
            if len(self.buf) < pos + n + 2:
                raise _Incomplete()
            body = bytes(self.buf[pos:pos + n])
            if self.buf[pos + n:pos + n + 2] != CRLF:
                raise ProtocolError("blob not terminated by CRLF")
            return Node(kind, head, body=body), pos + n + 2
        if kind in _AGGREGATES:
            n = int(head)
            if n < 0:
                return Node(kind, head), pos
            children = []
            for _ in range(n * _AGGREGATES[kind]):
                child, pos = self._parse_at(pos)
                children.append(child)
            node = Node(kind, head, children=children)
            if kind == b"|":
                inner, pos = self._parse_at(pos)
                inner.attr = node
                return inner, pos
            return node, pos
        raise ProtocolError("bad type byte %r in %r" % (kind, bytes(self.buf[:64])))


class _Incomplete(Exception):
    pass


def encode_command(args):
    """argv -> RESP array of bulk strings. str args are UTF-8 encoded, ints
    formatted in decimal, bytes sent as-is."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a).encode()
        elif isinstance(a, str):
            a = a.encode("utf-8", "surrogateescape")
        out.append(b"$%d\r\n" % len(a))
        out.append(a)
        out.append(CRLF)
    return b"".join(out)


class Conn(object):
    """One connection. Typical use:

        c = Conn(port=6379)
        raw, node = c.call("XADD", "s", "*", "f", "v")
        replies = c.pipeline([("PING",), ("ECHO", "x")])   # one write
        c.send("XREAD", "BLOCK", 0, "STREAMS", "s", "$")   # no wait
        raw, node = c.read_reply(timeout=5)
    """

    def __init__(self, host="127.0.0.1", port=None, unix=None, timeout=10.0):
        if unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix)
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.parser = Parser()
        self.timeout = timeout
        self.closed = False

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def send_raw(self, data):
        """Send bytes verbatim (inline commands, malformed protocol...)."""
        self.sock.sendall(data)

    def send(self, *args):
        self.sock.sendall(encode_command(args))

    def read_reply(self, timeout=None):
        """Return (raw, node) of the next reply. Raises ReplyTimeout,
        ConnectionClosed."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            got = self.parser.parse()
            if got is not None:
                node, raw = got
                return raw, node
            left = deadline - time.monotonic()
            if left <= 0:
                raise ReplyTimeout()
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                raise ReplyTimeout()
            except ConnectionResetError:
                raise ConnectionClosed()
            if not data:
                raise ConnectionClosed()
            self.parser.feed(data)

    def has_reply(self, wait=0.1):
        """True if a complete reply arrives within `wait` seconds."""
        try:
            raw, node = self.read_reply(timeout=wait)
        except ReplyTimeout:
            return False
        # put it back: re-prepend the raw bytes for the next read_reply()
        self.parser.buf[0:0] = raw
        return True

    def call(self, *args, **kw):
        self.send(*args)
        return self.read_reply(kw.get("timeout"))

    def value(self, *args):
        """call() and return only the plain parsed value."""
        return self.call(*args)[1].value()

    def pipeline(self, commands, timeout=None):
        """Send every argv in `commands` in ONE write, then read as many
        replies. Returns a list of (raw, node)."""
        self.sock.sendall(b"".join(encode_command(c) for c in commands))
        return [self.read_reply(timeout) for _ in commands]

    def is_eof(self, wait=1.0):
        """True if the server closed the connection within `wait` seconds
        (pending replies are discarded)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not data:
                return True
        return False


def printable(raw, limit=2000):
    """Bytes -> readable one-reply-per-line text: CRLF shown as \\r\\n and a
    line break, other unprintables as \\xHH."""
    out = []
    for b in raw[:limit]:
        if b == 13:
            out.append("\\r")
        elif b == 10:
            out.append("\\n\n")
        elif 32 <= b < 127 and b != 92:
            out.append(chr(b))
        elif b == 92:
            out.append("\\\\")
        else:
            out.append("\\x%02x" % b)
    s = "".join(out)
    if len(raw) > limit:
        s += "... (%d bytes total)" % len(raw)
    return s


if __name__ == "__main__":
    # Self-check of the parser on canned replies (no server needed).
    samples = [
        b"+OK\r\n", b"-ERR x\r\n", b":12\r\n", b"$3\r\nabc\r\n", b"$-1\r\n",
        b"*-1\r\n", b"*0\r\n", b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
        b"%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n_\r\n", b"_\r\n", b",1.5\r\n",
        b"#t\r\n", b"(123\r\n", b"!3\r\nERR\r\n", b"=7\r\ntxt:abc\r\n",
        b"~1\r\n+x\r\n", b">2\r\n+message\r\n+x\r\n",
        b"|1\r\n+k\r\n+v\r\n:5\r\n", b"$0\r\n\r\n",
    ]
    for s in samples:
        p = Parser()
        for i in range(len(s) - 1):  # every prefix must be "incomplete"
            p2 = Parser()
            p2.feed(s[:i])
            assert p2.parse() is None, (s, i)
        p.feed(s + b"+next\r\n")
        node, raw = p.parse()
        assert raw == s, (raw, s)
        assert node.serialize() == s, (node.serialize(), s)
        node.value()
    print("respclient self-check: %d samples OK" % len(samples))
