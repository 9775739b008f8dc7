"""`share --http`: every request head on a connection is parsed, checked and logged before a byte
of it goes upstream; bodies and responses are relayed as they come, with their framing followed
(Content-Length, chunked, close-delimited, 1xx, 101 upgrade) so that each response is matched to
its request for the access log.

- The token: `?bindscope_token=T` in the URL is answered here with a 303 redirect to the same URL
  without it, and a cookie (HttpOnly, SameSite=Lax) that later requests carry. No token: 401; a
  wrong one: 403. Neither the token nor the cookie is ever sent upstream, nor logged.
- What goes upstream is the head as parsed here, written again: Host replaced with --host-header,
  the client's X-Forwarded-*/Forwarded dropped and X-Forwarded-For/-Proto/-Host set. Heads that
  HTTP/1.1 parsers could read two ways (Content-Length with Transfer-Encoding, two lengths,
  obs-fold, bare LF, spaces before a colon) are answered 400 and the connection closed.
- Slowloris: a head must be complete within `header_timeout` of the first byte (or of the accept),
  and no upstream connection exists before a valid head: a slow client holds one descriptor.
- Upstream down or gone before answering: 502.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import re
import socket
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from .loop import ERR, HUP, OUT, RDHUP

if TYPE_CHECKING:
    from .relay import Relay

TOKEN_PARAM = b"bindscope_token"
MAX_HEAD = 64 * 1024
BUFSIZE = 256 * 1024
HIGH_WATER = 1 << 20  # pending bytes towards one side before reading the other pauses
LINGER = 2.0  # seconds to drain a client after a local error reply before closing

_monotonic = time.monotonic
_write = os.write  # on a socket, send() without flags (and cheaper to call than socket.send)
_BUF = bytearray(BUFSIZE)
_MV = memoryview(_BUF)
_TCHAR = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
_REQUEST_LINE = re.compile(rb"(" + _TCHAR + rb"+) ([\x21-\x7e]+) (HTTP/1\.[01])")
# a whole head: ((method) (target) (version)) (the header lines, each after a CRLF): token names, a
# colon right after (no blank before it; no obs-fold: a line starting with a blank is not a token),
# no CR, LF or other control character but HT in values
_HEAD = re.compile(rb"(" + _REQUEST_LINE.pattern + rb")((?:\r\n" + _TCHAR + rb"+:[\t\x20-\x7e\x80-\xff]*)*)")
# in the header block (a name is followed by its colon, checked above): the headers read here
_NAMES = (b"content-length", b"transfer-encoding", b"cookie", b"host", b"upgrade")
_TAKEN = (b"cookie", b"host", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded")
_SPECIAL_FIELD = re.compile(rb"\r\n(?i:(" + b"|".join(dict.fromkeys(_NAMES + _TAKEN)) + rb")):([^\r]*)")
# the lines not passed on as they came
_TAKEN_FIELD = re.compile(rb"\r\n(?i:" + b"|".join(_TAKEN) + rb"):[^\r]*")
# the usual spellings of those names, lowered without a call
_SPECIAL_NAMES = {
    spelling: name for name in _NAMES + _TAKEN for spelling in (name, name.title(), name.upper(), name.capitalize())
}
# in a response head
_RESP_FRAMING = re.compile(rb"\r\n(?i:(content-length|transfer-encoding))[ \t]*:([^\r]*)")
SMALL = 16 * 1024  # writes up to this size wait for the end of the loop's pass (Relay.flush_writes)

# client-side states
HEAD, BODY, CHUNKED, TUNNEL, STOPPED, DRAIN = range(6)
# upstream-side states
R_HEAD, R_BODY, R_CHUNKED, R_CLOSE, R_TUNNEL = range(5)

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    405: "Method Not Allowed",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    502: "Bad Gateway",
    505: "HTTP Version Not Supported",
}


class HttpError(ValueError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Head:
    """A parsed request head."""

    __slots__ = ("chunked", "cookies", "host", "kept", "length", "line", "method", "target", "upgrade", "version")

    def __init__(
        self,
        line: bytes,  # the request line as received
        method: bytes,
        target: bytes,
        version: bytes,
        kept: bytes,  # the header lines passed on unchanged, each after a CRLF
        length: int | None,
        chunked: bool,
        cookies: list[bytes],
        host: bytes | None,
        upgrade: bool,
    ) -> None:
        self.line = line
        self.method = method
        self.target = target
        self.version = version
        self.kept = kept
        self.length = length
        self.chunked = chunked
        self.cookies = cookies
        self.host = host
        self.upgrade = upgrade


def parse_request(head: bytes) -> Head:
    """Parse a request head (without its final CRLFCRLF); HttpError on anything ambiguous.

    One regex match checks the request line and every header line; a second one lists the few
    headers read here (name, value). The other header lines go upstream as they came, never split."""
    m = _HEAD.fullmatch(head)
    if m is None:
        while head.startswith(b"\r\n"):  # empty lines before a request line are allowed (RFC 9112 2.2)
            head = head[2:]
        m = _HEAD.fullmatch(head)
        if m is None:
            _refuse(head)
    line, method, target, version, block = m.groups()  # type: ignore[union-attr]
    if method == b"CONNECT":
        raise HttpError(405, "CONNECT is not relayed")
    te: bytes | None = None
    length: int | None = None
    cookies: list[bytes] = []
    host: bytes | None = None
    upgrade = False
    taken = 0  # header lines not passed on as they came
    for name, value in _SPECIAL_FIELD.findall(block):
        kind = _SPECIAL_NAMES.get(name) or name.lower()
        value = value.strip(b" \t")
        if kind == b"cookie":
            cookies.append(value)
        elif kind == b"host":
            if host is not None:
                raise HttpError(400, "two Host headers")
            host = value
        elif kind == b"content-length":
            if not value.isdigit() or len(value) > 18:
                raise HttpError(400, "malformed Content-Length")
            if length is not None and length != int(value):
                raise HttpError(400, "two different Content-Length headers")
            length = int(value)
            continue
        elif kind == b"transfer-encoding":
            if te is not None:
                raise HttpError(400, "two Transfer-Encoding headers")
            te = value.lower()
            continue
        elif kind == b"upgrade":
            upgrade = True
            continue
        # Cookie and Host are written again; X-Forwarded-*, Forwarded: set here, never taken from the client
        taken += 1
    if taken:
        block = b"" if taken == block.count(b"\r\n") else _TAKEN_FIELD.sub(b"", block)
    chunked = False
    if te is not None:
        if version == b"HTTP/1.0" or te != b"chunked":
            raise HttpError(501 if te != b"chunked" else 400, "only Transfer-Encoding: chunked is relayed")
        if length is not None:
            raise HttpError(400, "Content-Length together with Transfer-Encoding")
        chunked = True
    if host is None and version == b"HTTP/1.1":
        raise HttpError(400, "HTTP/1.1 request without Host")
    return Head(line, method, target, version, block, length, chunked, cookies, host, upgrade)


def _refuse(head: bytes) -> None:
    """Raise the HttpError for a head _HEAD does not match."""
    cut = head.find(b"\r\n")
    line = head if cut < 0 else head[:cut]
    if _REQUEST_LINE.fullmatch(line) is not None:
        raise HttpError(400, "malformed header line")
    if not line:
        raise HttpError(400, "empty request")
    version = line.rsplit(b" ", 1)[-1]
    if (
        version.startswith(b"HTTP/")
        and len(line.split(b" ")) == 3
        and _REQUEST_LINE.fullmatch(line[: -len(version)] + b"HTTP/1.1")
    ):
        raise HttpError(505, "HTTP version not supported")
    raise HttpError(400, "malformed request line")


def find_token(target: bytes) -> tuple[bytes | None, bytes]:
    """The token parameter of a request target, and the target without it."""
    path, q, query = target.partition(b"?")
    if not q or query.find(TOKEN_PARAM) < 0:  # (find: `in` on bytes first tries the needle as an int)
        return None, target
    found = None
    kept = []
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == TOKEN_PARAM:
            found = value
        else:
            kept.append(pair)
    return found, path + (b"?" + b"&".join(kept) if kept else b"")


def cookie_token(cookies: list[bytes], name: bytes) -> bytes | None:
    prefix = name + b"="
    for header in cookies:
        if header.find(prefix) < 0:
            continue
        if header.startswith(prefix) and header.find(b";") < 0:
            return header[len(prefix) :]  # only this cookie in the header (stripped of blanks when parsed)
        for item in header.split(b";"):
            item = item.strip()
            if item.startswith(prefix):
                return item[len(prefix) :]
    return None


def strip_cookie(value: bytes, name: bytes) -> bytes:
    prefix = name + b"="
    if value.find(b";") < 0:
        return b"" if value.startswith(prefix) else value
    return b"; ".join(i.strip() for i in value.split(b";") if i.strip() and not i.strip().startswith(prefix))


def authorize(h: Head, token: bytes, cookie: bytes) -> tuple[int, bytes | None]:
    """0 to forward; 303 with the Location to redirect to (a good token in the URL: becomes the
    cookie); 401 without a token; 403 with a wrong one."""
    if h.target.find(b"?") >= 0:
        in_url, rest = find_token(h.target)
        if in_url is not None:
            return (303, rest) if hmac.compare_digest(in_url, token) else (403, None)
    have = cookie_token(h.cookies, cookie)
    if have is None:
        return 401, None
    return (0, None) if hmac.compare_digest(have, token) else (403, None)


_UPSTREAM_HEAD = b"%s%s\r\nHost: %s%s\r\nX-Forwarded-For: %s\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: %s\r\n\r\n"


def rewrite(h: Head, *, client_ip: str, cookie: bytes, host_header: bytes | None) -> bytes:
    """The head sent upstream: the token cookie removed, Host rewritten, X-Forwarded-* set."""
    cookies = b""
    for value in h.cookies:
        value = strip_cookie(value, cookie)
        if value:
            cookies += b"\r\nCookie: " + value
    host = h.host
    if host is not None:
        return _UPSTREAM_HEAD % (
            h.line,
            h.kept,
            host_header or host,
            cookies,
            client_ip.encode(),
            host,
        )
    return b"%s%s%s%s\r\nX-Forwarded-For: %s\r\nX-Forwarded-Proto: http\r\n\r\n" % (  # HTTP/1.0 without Host
        h.line,
        h.kept,
        b"" if host_header is None else b"\r\nHost: " + host_header,
        cookies,
        client_ip.encode(),
    )


def safe_target(target: bytes) -> str:
    """The request target for the log: never the token."""
    found, rest = find_token(target)
    if found is not None:
        rest += (b"&" if b"?" in rest else b"?") + TOKEN_PARAM + b"=..."
    return rest.decode("latin-1")


def local_reply(status: int, *, body: str = "", headers: tuple[bytes, ...] = ()) -> bytes:
    text = (body or f"{status} {REASONS.get(status, '')}\n").encode()
    head = [
        b"HTTP/1.1 %d %s" % (status, REASONS.get(status, "See Other").encode()),
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Length: %d" % len(text),
        b"Cache-Control: no-store",
        b"Referrer-Policy: no-referrer",
        b"Connection: close",
        *headers,
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + text


class Chunks:
    """Follows chunked framing over a buffer; `feed` returns how many bytes belong to the body."""

    __slots__ = ("left", "state")

    SIZE, DATA, DATA_END, TRAILER = range(4)

    def __init__(self) -> None:
        self.state = Chunks.SIZE
        self.left = 0

    def feed(self, buf: bytearray | bytes, start: int = 0) -> tuple[int, bool]:
        """Consume from buf[start:]; (bytes consumed, body complete)."""
        pos = start
        end = len(buf)
        while pos < end:
            st = self.state
            if st == Chunks.DATA:
                take = min(self.left, end - pos)
                pos += take
                self.left -= take
                if not self.left:
                    self.state = Chunks.DATA_END
                continue
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                if end - pos > 4096:
                    raise HttpError(400, "chunk line too long")
                break
            line = bytes(buf[pos:eol])
            pos = eol + 2
            if st == Chunks.SIZE:
                size = line.split(b";", 1)[0].strip(b" \t")
                if not size or len(size) > 15 or any(c not in b"0123456789abcdefABCDEF" for c in size):
                    raise HttpError(400, "malformed chunk size")
                self.left = int(size, 16)
                self.state = Chunks.DATA if self.left else Chunks.TRAILER
            elif st == Chunks.DATA_END:
                if line:
                    raise HttpError(400, "chunk data longer than its size")
                self.state = Chunks.SIZE
            elif not line:  # TRAILER: an empty line ends the body
                self.state = Chunks.SIZE
                return pos - start, True
        return pos - start, False


class _Req:
    __slots__ = ("bytes_in", "bytes_out", "head_only", "line", "started", "status")

    def __init__(self, line: str, head_only: bool, size: int):
        self.line = line
        self.head_only = head_only
        self.bytes_in = size
        self.bytes_out = 0
        self.status = 0
        self.started = _monotonic()


def _ms(seconds: float) -> float:
    """Milliseconds, to a tenth (round(..., 1) without its decimal conversion)."""
    return int(seconds * 10000 + 0.5) / 10


class HttpConn:
    """One client connection in --http mode, and its upstream connection once a request is let through."""

    __slots__ = (
        "bpos",
        "cbuf",
        "cdefer",
        "ceof",
        "cfd",
        "chunks",
        "client",
        "closed",
        "closing",
        "connected",
        "cpend",
        "cstate",
        "deadline",
        "idle",
        "ip",
        "left",
        "port",
        "queue",
        "rchunks",
        "relay",
        "reply",
        "rleft",
        "rstate",
        "tin",
        "tout",
        "tunnel",
        "ubuf",
        "udefer",
        "ufd",
        "upend",
        "upstream",
    )

    def __init__(self, relay: Relay, client: socket.socket, ip: str, port: int):
        self.relay = relay
        self.client = client
        self.ip = ip
        self.port = port
        self.closed = False
        self.closing = False  # close once cpend is sent
        self.connected = False
        self.upstream: socket.socket | None = None
        self.cbuf = bytearray()
        self.ubuf = bytearray()
        self.bpos = 0
        self.cpend = bytearray()  # towards the client
        self.upend = bytearray()  # towards upstream
        # small writes wait in cpend/upend for the end of the loop's pass (Relay.flush_writes)
        self.cdefer = self.udefer = False
        self.ceof = False  # the client sent its FIN
        self.cfd = client.fileno()
        self.ufd = -1
        self.cstate = HEAD
        self.left = 0
        self.chunks: Chunks | None = None
        self.rstate = R_HEAD
        self.rleft = 0
        self.rchunks: Chunks | None = None
        self.queue: deque[_Req] = deque()
        self.tunnel = False
        self.tin = self.tout = 0
        self.reply: tuple[bytes, _Req] | None = None  # a local reply waiting for earlier responses
        self.deadline = time.monotonic() + relay.config.header_timeout
        self.idle = False  # deadline: the idle keep-alive one (True) or the head's (False)
        relay.conns.add(self)
        relay.heads.add(self)
        relay.loop.add(client.fileno(), self._on_client)

    # -- events --------------------------------------------------------------------------------
    def _on_client(self, events: int) -> None:
        if events & OUT and self.cpend and not self.cdefer:
            self._flush_client()
        if events & ~OUT:
            self._read_client(events)

    def _on_upstream(self, events: int) -> None:
        if events & OUT and self.upend and not self.udefer:
            self._flush_upstream()
        if events & ~OUT:
            self._read_upstream(events)

    def _on_upstream_connect(self, events: int) -> None:
        up = self.upstream
        if up is None or self.closed:
            return
        code = up.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self._upstream_failed(OSError(code, "connect").strerror or str(code), code)
            return
        if not events & OUT:
            return
        self.connected = True
        self.ufd = up.fileno()
        self.relay.loop.handlers[self.ufd] = self._on_upstream
        self._flush_upstream()
        if not self.closed:
            self._read_upstream(RDHUP)

    # -- client -> upstream --------------------------------------------------------------------
    def _read_client(self, events: int) -> None:
        drain = events & (RDHUP | HUP | ERR)
        client = self.client
        while not self.closed:
            if len(self.upend) > HIGH_WATER or self.cstate == STOPPED:
                return  # resumed when upend drains / after the local reply
            try:
                n = client.recv_into(_MV)
            except BlockingIOError:
                return
            except OSError:
                self.close("client reset")
                return
            if n == 0:
                self._client_eof()
                return
            if self.cstate == DRAIN:
                continue
            if self.cstate == TUNNEL:
                self._send_upstream(_MV[:n])
                self.tin += n
            elif self.cstate == HEAD and not self.cbuf and 0 <= _BUF.find(b"\r\n\r\n", 0, n) == n - 4:
                self._request(bytes(_MV[: n - 4]), n)  # one whole head, nothing after it: no copy to cbuf
            else:
                self.cbuf += _MV[:n]
                self._process_client()
            if n < BUFSIZE and not drain:
                return

    def _process_client(self) -> None:
        buf = self.cbuf
        while buf and not self.closed:
            st = self.cstate
            if st == HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        self._local(431, "request head too large", None)
                        return
                    if self.idle or self not in self.relay.heads:  # first bytes of a keep-alive request
                        self.deadline = time.monotonic() + self.relay.config.header_timeout
                        self.idle = False
                        self.relay.heads.add(self)
                    return
                head = bytes(buf[:end])
                del buf[: end + 4]
                self._request(head, end + 4)
            elif st == BODY:
                take = min(self.left, len(buf))
                self._send_upstream(buf[:take])
                del buf[:take]
                self.left -= take
                self.queue[-1].bytes_in += take
                if not self.left:
                    self.cstate = HEAD
            elif st == CHUNKED:
                assert self.chunks is not None
                try:
                    used, done = self.chunks.feed(buf)
                except HttpError as exc:
                    self.close(f"client: {exc}")
                    return
                if used:
                    self._send_upstream(buf[:used])
                    del buf[:used]
                    self.queue[-1].bytes_in += used
                if done:
                    self.cstate = HEAD
                    self.chunks = None
                elif not used:
                    return
            elif st == TUNNEL:
                self._send_upstream(buf)
                self.tin += len(buf)
                buf.clear()
            else:  # STOPPED / DRAIN: nothing more is read from this client
                return

    def _request(self, head: bytes, size: int) -> None:
        relay = self.relay
        relay.heads.discard(self)
        try:
            h = parse_request(head)
        except HttpError as exc:
            line = head.split(b"\r\n", 1)[0][:200].decode("latin-1")
            self._local(exc.status, str(exc), _Req(line, False, size))
            return
        if h.target.find(TOKEN_PARAM) >= 0:
            line = f"{h.method.decode()} {safe_target(h.target)} {h.version.decode()}"
        else:
            line = h.line.decode("latin-1")
        req = _Req(line, h.method == b"HEAD", size)
        status, location = authorize(h, relay.token, relay.cookie)
        if status == 303:
            assert location is not None
            cookie = b"Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%d" % (
                relay.cookie,
                relay.token,
                relay.cookie_max_age(),
            )
            self._local(303, "token accepted: now a cookie", req, (b"Location: " + location, cookie))
            return
        if status:
            why = "no token: open the URL bindscope share printed" if status == 401 else "wrong token"
            self._local(status, why, req)
            return
        self.queue.append(req)
        data = rewrite(h, client_ip=self.ip, cookie=relay.cookie, host_header=relay.host_header)
        if self.upend or not self.connected or self.udefer or self.cdefer:
            self._send_upstream(data)
        else:  # the usual: the first write towards upstream in this pass (see _send_upstream)
            self.upend += data
            self.udefer = True
            relay.pending.append(self)
        if h.chunked:
            self.cstate = CHUNKED
            self.chunks = Chunks()
        elif h.length:
            self.cstate = BODY
            self.left = h.length
        elif h.upgrade:
            self.cstate = STOPPED  # until the response says 101 (tunnel) or not (back to HEAD)
        if self.upstream is None:
            try:
                self.upstream = up = relay.connect_upstream()
            except OSError as exc:
                self._upstream_failed(exc.strerror or str(exc), exc.errno)
                return
            relay.loop.add(up.fileno(), self._on_upstream_connect)

    def _send_upstream(self, data: Any) -> None:
        if self.upend or not self.connected:
            self.upend += data
            return
        if len(data) <= SMALL:  # sent at the end of the loop's pass, with what else comes for this socket
            self.upend += data
            if not self.cdefer:
                self.relay.pending.append(self)
            self.udefer = True
            return
        try:
            sent = self.upstream.send(data)  # type: ignore[union-attr]
        except BlockingIOError:
            sent = 0
        except OSError:
            self._upstream_gone()
            return
        if sent < len(data):
            self.upend += data[sent:]

    def write_pending(self) -> None:
        """End of the loop's pass: send the small writes gathered (Relay.flush_writes), one write(2)
        per direction; what does not fit waits for the socket's EPOLLOUT edge."""
        if self.udefer:
            self.udefer = False
            pend = self.upend
            if pend and self.connected and not self.closed:
                size = len(pend)
                try:
                    sent = _write(self.ufd, pend)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    self._upstream_gone()
                    return
                if sent < size:
                    del pend[:sent]
                else:
                    pend.clear()
                    if self.ceof and self.cstate == STOPPED:
                        with contextlib.suppress(OSError):
                            self.upstream.shutdown(socket.SHUT_WR)  # type: ignore[union-attr]
                    elif size > HIGH_WATER and self.cstate not in (STOPPED, DRAIN):
                        self._read_client(RDHUP)  # reading had paused on this
        if self.cdefer:
            self.cdefer = False
            pend = self.cpend
            if pend and not self.closed:
                size = len(pend)
                try:
                    sent = _write(self.cfd, pend)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    self.close("client reset")
                    return
                if sent < size:
                    del pend[:sent]
                else:
                    pend.clear()
                    if self.closing or size > HIGH_WATER:
                        self._client_flushed()

    def _flush_upstream(self) -> None:
        if not self.connected or self.closed:
            return
        pend = self.upend
        try:
            while pend:
                sent = self.upstream.send(pend)  # type: ignore[union-attr]
                del pend[:sent]
        except BlockingIOError:
            return
        except OSError:
            self._upstream_gone()
            return
        if self.cstate not in (STOPPED, DRAIN):
            self._read_client(RDHUP)

    def _client_eof(self) -> None:
        self.ceof = True
        if self.cstate == DRAIN or (not self.queue and not self.cpend and not self.upend):
            self.close(None)
            return
        if not self.queue and not self.tunnel and self.reply is None:
            if not self.cpend:  # nothing more for this client (what is left towards upstream: unasked for)
                self.close(None)
                return
            self.closing = True  # only bytes towards the client are left: close once they are sent
            self.cstate = STOPPED
            self.relay.heads.discard(self)
            return
        # half-closed client with requests in flight: stop reading, finish the responses
        self.cstate = STOPPED
        self.relay.heads.discard(self)
        if self.connected and not self.upend:
            with contextlib.suppress(OSError):
                self.upstream.shutdown(socket.SHUT_WR)  # type: ignore[union-attr]

    # -- upstream -> client --------------------------------------------------------------------
    def _read_upstream(self, events: int) -> None:
        drain = events & (RDHUP | HUP | ERR)
        up = self.upstream
        assert up is not None
        while not self.closed:
            if len(self.cpend) > HIGH_WATER:
                return
            try:
                n = up.recv_into(_MV)
            except BlockingIOError:
                return
            except OSError:
                self._upstream_gone()
                return
            if n == 0:
                self._upstream_gone()
                return
            self._process_upstream(n)
            if n < BUFSIZE and not drain:
                return

    def _process_upstream(self, n: int) -> None:
        st = self.rstate
        if st == R_HEAD and not self.ubuf:
            # a response head at the start of what was read: read it in place; a response that
            # ends exactly here (the usual small one) goes to the client without being copied
            end = _BUF.find(b"\r\n\r\n", 0, n)
            if end >= 0:
                problem = self._response_head(_BUF[:end])
                if problem:
                    self._bad_upstream(problem)
                    return
                size = end + 4
                st = self.rstate
                if (size == n and st == -2) or (st == R_BODY and size + self.rleft == n):
                    self.queue[0].bytes_out += n
                    self._send_client(_MV[:n])
                    if not self.closed:
                        self.rleft = 0
                        self._response_done()
                    return
                self.queue[0].bytes_out += size
                self.ubuf += _MV[size:n]
                self._send_client(_MV[:size])
                self._after_head()
                self._upstream_buffered()
                return
        if not self.ubuf and (st in (R_TUNNEL, R_CLOSE) or (st == R_BODY and self.rleft >= n)):
            if st == R_TUNNEL:
                self.tout += n
            else:
                self.queue[0].bytes_out += n
            self._send_client(_MV[:n])  # fast path: body bytes straight through
            if self.closed:
                return
            if st == R_BODY:
                self.rleft -= n
                if not self.rleft:
                    self._response_done()
            return
        self.ubuf += _MV[:n]
        self._upstream_buffered()

    def _upstream_buffered(self) -> None:
        """Follow the responses' framing over ubuf."""
        buf = self.ubuf
        # bpos: how much of buf is ready for the client; sent in one go at the end (or before any
        # reply made here, so that the order stays)
        while self.bpos < len(buf) and not self.closed:
            st = self.rstate
            pos = self.bpos
            if st == R_HEAD:
                end = buf.find(b"\r\n\r\n", pos)
                if end < 0:
                    if len(buf) - pos > MAX_HEAD:
                        self._bad_upstream("response head too large")
                        return
                    break
                problem = self._response_head(bytes(buf[pos:end]))
                if problem:
                    self._bad_upstream(problem)
                    return
                self.queue[0].bytes_out += end + 4 - pos
                self.bpos = end + 4
                self._after_head()
            elif st == R_BODY:
                take = min(self.rleft, len(buf) - pos)
                self.queue[0].bytes_out += take
                self.bpos = pos + take
                self.rleft -= take
                if not self.rleft:
                    self._response_done()
            elif st == R_CHUNKED:
                assert self.rchunks is not None
                try:
                    used, done = self.rchunks.feed(buf, pos)
                except HttpError as exc:
                    self._bad_upstream(str(exc))
                    return
                self.queue[0].bytes_out += used
                self.bpos = pos + used
                if done:
                    self._response_done()
                elif not used:
                    break
            else:  # R_TUNNEL / R_CLOSE
                if st == R_TUNNEL:
                    self.tout += len(buf) - pos
                else:
                    self.queue[0].bytes_out += len(buf) - pos
                self.bpos = len(buf)
        self._emit()

    def _emit(self) -> None:
        """Send what _process_upstream made ready."""
        if self.bpos and not self.closed:
            buf, pos = self.ubuf, self.bpos
            self.bpos = 0
            self._send_client(buf[:pos] if pos < len(buf) else buf)
            del buf[:pos]

    def _response_head(self, head: bytes) -> str | None:
        """Read the status and framing of a response head; what is wrong with it, or None."""
        queue = self.queue
        if not queue:
            return "a response without a request"
        if len(head) < 12 or head[:7] != b"HTTP/1." or not head[9:12].isdigit():
            return "malformed status line"
        status = int(head[9:12])
        length: int | None = None
        chunked = False
        framing = _RESP_FRAMING.findall(head)  # [(name, value)]: Content-Length (14), Transfer-Encoding (17)
        if framing:
            if len(framing) == 1 and len(framing[0][0]) == 14:  # the usual: one Content-Length
                value = framing[0][1].strip(b" \t")
                if not value.isdigit():
                    return "malformed Content-Length"
                length = int(value)
            else:
                te = [value for name, value in framing if len(name) == 17]
                if te:  # the first one counts; Content-Length is then ignored
                    chunked = te[0].strip(b" \t").lower().endswith(b"chunked")
                else:
                    values = {bytes(value.strip(b" \t")) for _name, value in framing}
                    if len(values) != 1 or not next(iter(values)).isdigit():
                        return "malformed Content-Length"
                    length = int(framing[0][1])
        req = queue[0]
        req.status = status
        if status == 101:
            self.rstate = R_TUNNEL
        elif 100 <= status < 200:
            self.rstate = -1  # interim: another head follows
        elif req.head_only or status in (204, 304):
            self.rstate = -2  # complete with the head
        elif chunked:
            self.rstate = R_CHUNKED
            self.rchunks = Chunks()
        elif length is not None:
            self.rstate = R_BODY if length else -2
            self.rleft = length
        else:
            self.rstate = R_CLOSE
        return None

    def _after_head(self) -> None:
        st = self.rstate
        if st == -1:
            self.rstate = R_HEAD
        elif st == -2:
            self.rstate = R_HEAD
            self._response_done()
        elif st == R_TUNNEL:
            self._log(self.queue.popleft())  # logged at the switch; the tunnel's bytes when it closes
            self.tunnel = True
            self.cstate = TUNNEL
            if self.cbuf:
                self._process_client()

    def _response_done(self) -> None:
        self.rstate = R_HEAD
        self.rchunks = None
        req = self.queue.popleft()
        relay = self.relay
        now = _monotonic()
        ms = int((now - req.started) * 10000 + 0.5) / 10  # _ms(), inline
        relay.log_request(self.ip, self.port, req.line, req.status, req.bytes_in, req.bytes_out, ms, None)
        if self.cstate == STOPPED and req.status != 101 and self.reply is None and not self.queue:
            if self.ceof and not self.cbuf:  # the client half-closed after its requests: all answered
                self.closing = True
                if not self.cpend:
                    self.close(None)
                return
            self.cstate = HEAD  # an Upgrade request answered without 101: back to requests
            if self.cbuf:
                self._process_client()
        if not self.queue:
            if self.reply is not None:
                data, local = self.reply
                self.reply = None
                self._send_local(data, local)
            elif self.cstate == HEAD and not self.cbuf and not self.closed:
                self.deadline = now + relay.idle_timeout
                self.idle = True  # the first bytes of the next head set the header timeout
                relay.heads.add(self)

    def _upstream_gone(self) -> None:
        """Upstream closed (or reset)."""
        if self.closed:
            return
        if self.rstate == R_CLOSE and self.queue:
            self._response_done()
        if self.queue and self.queue[0].bytes_out == 0:
            self._bad_upstream("upstream closed the connection before answering")
            return
        if self.rstate == R_TUNNEL:
            self.closing = True
            if not self.cpend:
                self.close(None)
            return
        self.closing = True  # close once what we have is sent
        self.queue.clear()
        if not self.cpend:
            self.close(None)

    def _upstream_failed(self, why: str, code: int | None) -> None:
        del code
        self._bad_upstream(f"upstream {self.relay.upstream_text}: {why}")

    def _bad_upstream(self, why: str) -> None:
        """502 for the request at the front when nothing of its response was sent; else close."""
        self._emit()
        req = self.queue[0] if self.queue else None
        if req is not None and req.bytes_out == 0:
            self.queue.clear()
            self.reply = None
            self._drop_upstream()
            self._send_local(local_reply(502, body=f"502 Bad Gateway: {why}\n"), req, why)
            return
        self.close(why)

    def _drop_upstream(self) -> None:
        up = self.upstream
        if up is not None:
            self.relay.loop.forget(up.fileno())
            up.close()
            self.upstream = None
            self.connected = False
            self.ufd = -1

    def _send_client(self, data: Any) -> None:
        if self.cpend:
            self.cpend += data
            return
        if len(data) <= SMALL:
            self.cpend += data
            if not self.udefer:
                self.relay.pending.append(self)
            self.cdefer = True
            return
        try:
            sent = self.client.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.close("client reset")
            return
        if sent < len(data):
            self.cpend += data[sent:]

    def _flush_client(self) -> None:
        pend = self.cpend
        try:
            while pend:
                sent = self.client.send(pend)
                del pend[:sent]
        except BlockingIOError:
            return
        except OSError:
            self.close("client reset")
            return
        self._client_flushed()

    def _client_flushed(self) -> None:
        if self.closing:
            if self.cstate == DRAIN:
                with contextlib.suppress(OSError):
                    self.client.shutdown(socket.SHUT_WR)
                self.closing = False  # now wait for the client's EOF (or the linger timer)
            else:
                self.close(None)
            return
        if self.connected and not self.closed:
            self._read_upstream(RDHUP)

    # -- local replies -------------------------------------------------------------------------
    def _local(self, status: int, why: str, req: _Req | None, headers: tuple[bytes, ...] = ()) -> None:
        """Answer here (error or token redirect), after the responses still due; then close."""
        body = "" if status == 303 else f"{status} {REASONS.get(status, '')}: {why}\n"
        data = local_reply(status, body=body, headers=headers)
        if req is None:
            req = _Req("(unparsed)", False, len(self.cbuf))
        self.relay.heads.discard(self)
        self.cbuf.clear()
        self.cstate = STOPPED
        if self.queue:
            self.reply = (data, req)
        else:
            self._send_local(data, req, None if status < 400 else why)

    def _send_local(self, data: bytes, req: _Req, why: str | None = None) -> None:
        self._emit()
        req.status = int(data[9:12])
        req.bytes_out = len(data)
        self._log(req, why)
        self.cstate = DRAIN
        self.closing = True
        self._drop_upstream()
        self._send_client(data)
        if not self.closed and not self.cpend:
            self._client_flushed()
        if not self.closed:
            self.relay.loop.call_later(LINGER, lambda: self.close(None))

    # -- the end -------------------------------------------------------------------------------
    def timeout(self) -> None:
        """The head did not arrive in time (called by the relay's sweep)."""
        if self.closed:
            return
        if self.cbuf or (self.deadline and self.queue):
            req = _Req("(incomplete request head)", False, len(self.cbuf))
            self._local(408, f"request head not complete within {self.relay.config.header_timeout:g} s", req)
        else:
            self.close(None)  # an idle keep-alive connection

    def _log(self, req: _Req, why: str | None = None) -> None:
        ms = _ms(_monotonic() - req.started)
        self.relay.log_request(self.ip, self.port, req.line, req.status, req.bytes_in, req.bytes_out, ms, why)

    def close(self, error: str | None) -> None:
        if self.closed:
            return
        self.closed = True
        relay = self.relay
        relay.conns.discard(self)
        relay.heads.discard(self)
        for req in self.queue:  # requests that never got their response
            req.status = req.status or 0
            self._log(req, error or "connection closed before the response")
        self.queue.clear()
        if self.cpend and error != "client reset":  # small writes still waiting for the pass end
            with contextlib.suppress(OSError):
                self.client.send(self.cpend)
        if self.tunnel:
            event: dict[str, Any] = {"event": "close", "client": self.ip, "client_port": self.port}
            event.update(bytes_in=self.tin, bytes_out=self.tout, note="upgraded connection (WebSocket) closed")
            relay.log(event)
        for sock in (self.client, self.upstream):
            if sock is not None:
                fd = sock.fileno()
                if fd >= 0:
                    relay.loop.forget(fd)
                sock.close()
        self.upstream = None
