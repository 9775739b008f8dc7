"""`probe`: classify what the other device saw when it connected (pure: no sockets).

The I/O lives in `bindscope.probe`; it records what happened (an errno, the bytes a server sent back, how
the exchange ended) and hands it to the functions here, which name the class, say what it means and what
to run on the server. Recorded replies in the unit tests go through the same functions.

Connection classes (one per address): open, refused, timeout, host-unreachable, network-unreachable,
reset, error. On an open port the application check adds an `AppCheck` with one of APP_CLASSES.
"""

from __future__ import annotations

import errno as _errno
import ipaddress
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..addr import hostport
from ..errors import BindscopeError
from ..knowledge import hostcheck

# -- classes, their meaning --------------------------------------------------------------------------
OPEN = "open"
REFUSED = "refused"
TIMEOUT = "timeout"
HOST_UNREACHABLE = "host-unreachable"
NETWORK_UNREACHABLE = "network-unreachable"
RESET = "reset"
ERROR = "error"
CONNECT_CLASSES = (OPEN, REFUSED, TIMEOUT, HOST_UNREACHABLE, NETWORK_UNREACHABLE, RESET, ERROR)

HTTP_OK = "http-ok"
HOST_NOT_ALLOWED = "host-not-allowed"
HTTP_DENIED = "http-denied"
HTTP_ERROR = "http-error"
TLS_ON_HTTP_PORT = "tls-on-http-port"
HTTP_ON_TLS_PORT = "http-on-tls-port"
TLS_ERROR = "tls-error"
NOT_HTTP = "not-http"
NO_REPLY = "no-reply"
APP_CLASSES = (
    HTTP_OK,
    HOST_NOT_ALLOWED,
    HTTP_DENIED,
    HTTP_ERROR,
    TLS_ON_HTTP_PORT,
    HTTP_ON_TLS_PORT,
    TLS_ERROR,
    NOT_HTTP,
    NO_REPLY,
)

MEANING = {
    OPEN: "The connection was accepted: something listens on that address and port, and nothing in between blocks it.",
    REFUSED: "The host answered with a reset: it is up and reachable, but nothing listens on that address and "
    "port - typically the server is bound to 127.0.0.1/localhost only.",
    TIMEOUT: "Nothing answered: a firewall drops the packets, the Wi-Fi isolates its clients from each other, "
    "or this device is on another network than the server.",
    HOST_UNREACHABLE: "No host answered at that address (no ARP/neighbour reply, or a router or firewall sent "
    "'host unreachable' / 'administratively prohibited'): the server is off, on another network, or its address "
    "has changed.",
    NETWORK_UNREACHABLE: "There is no route from this device to that network: it is on another network, "
    "a VPN takes the traffic elsewhere, or a router on the way has no route.",
    RESET: "The port accepted the connection, then closed it before any reply: typically a published container "
    "port whose app listens on 127.0.0.1 inside the container (docker-proxy accepts, then hangs up), or a proxy "
    "whose upstream is down.",
    ERROR: "The connection failed on this device before reaching the network.",
    HTTP_OK: "The server answers HTTP: the connection works end to end.",
    HOST_NOT_ALLOWED: "The server is reachable, but the app rejects the Host header this device sent (a host "
    "allow-list).",
    HTTP_DENIED: "The server is reachable and answers, but refuses this request (login, token or an allow-list).",
    HTTP_ERROR: "The server is reachable and answers HTTP, with an error status: the problem is in the app.",
    TLS_ON_HTTP_PORT: "The server speaks TLS (HTTPS) on this port, not plain HTTP: use https://.",
    HTTP_ON_TLS_PORT: "The server speaks plain HTTP on this port, not TLS: use http://.",
    TLS_ERROR: "The server speaks TLS but the handshake failed.",
    NOT_HTTP: "Something listens here, but it is not an HTTP server.",
    NO_REPLY: "The connection was accepted, but the server sent nothing back, to HTTP or to a TLS hello.",
}

# errno names (POSIX and Windows' WSA names) -> connection class
_ERRNO_CLASS = {
    "ECONNREFUSED": REFUSED,
    "WSAECONNREFUSED": REFUSED,
    "ETIMEDOUT": TIMEOUT,
    "WSAETIMEDOUT": TIMEOUT,
    "EHOSTUNREACH": HOST_UNREACHABLE,
    "WSAEHOSTUNREACH": HOST_UNREACHABLE,
    "EHOSTDOWN": HOST_UNREACHABLE,
    "WSAEHOSTDOWN": HOST_UNREACHABLE,
    "ENETUNREACH": NETWORK_UNREACHABLE,
    "WSAENETUNREACH": NETWORK_UNREACHABLE,
    "ENETDOWN": NETWORK_UNREACHABLE,
    "WSAENETDOWN": NETWORK_UNREACHABLE,
    "ECONNRESET": RESET,
    "WSAECONNRESET": RESET,
    "ECONNABORTED": RESET,
    "WSAECONNABORTED": RESET,
    "EPIPE": RESET,
}


def errno_name(number: int | None) -> str | None:
    """`111` -> "ECONNREFUSED" (this platform's table); None stays None."""
    if number is None:
        return None
    return _errno.errorcode.get(number, f"errno {number}")


def connect_class(errno_text: str | None, *, timed_out: bool = False) -> str:
    """The class of a failed connect(): by errno name, or TIMEOUT when our own timer ran out."""
    if timed_out:
        return TIMEOUT
    return _ERRNO_CLASS.get(errno_text or "", ERROR)


def connect_detail(cls: str, errno_text: str | None, elapsed_ms: float) -> str:
    """One line: what this device observed."""
    took = f"after {_ms(elapsed_ms)}"
    if cls == OPEN:
        return f"connected {took}"
    if cls == TIMEOUT and errno_text is None:
        return f"no answer to the connection request within {_ms(elapsed_ms)} (timed out)"
    if cls == ERROR and errno_text in ("EPERM", "EACCES", "WSAEACCES"):
        return f"{errno_text} {took}: this device's own firewall or a sandbox refused to send the connection"
    if cls == RESET:
        return f"accepted, then reset (RST, {errno_text or 'ECONNRESET'}) before any reply, {took}"
    if cls == ERROR and errno_text == "EADDRNOTAVAIL":
        return f"{errno_text} {took}: no usable source address (an IPv6 link-local address needs %interface)"
    what = {
        REFUSED: "connection refused",
        TIMEOUT: "connection timed out",
        HOST_UNREACHABLE: "no route to host",
        NETWORK_UNREACHABLE: "network is unreachable",
        RESET: "connection reset",
    }.get(cls, "connection failed")
    return f"{what} ({errno_text}) {took}" if errno_text else f"{what} {took}"


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


# -- what the server sent back ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    """What came back on one connection after we sent something: the first bytes (up to a limit) and how
    the exchange ended: "complete" (enough to decide), "eof" (the server closed), "reset" (RST),
    "timeout" (our timer ran out), "error" (another OSError, named in errno)."""

    data: bytes
    end: str
    errno: str | None = None
    elapsed_ms: float = 0.0


@dataclass(frozen=True)
class TlsOutcome:
    """A TLS client handshake: did it complete, what raw bytes came back first (not decrypted), how the
    exchange ended, OpenSSL's reason on failure, and the negotiated version."""

    handshake: bool
    raw: bytes
    end: str  # "complete" | "eof" | "reset" | "timeout" | "error" | "ssl-error"
    reason: str | None = None
    version: str | None = None
    elapsed_ms: float = 0.0


HEADER_END = b"\r\n\r\n"
BODY_ENOUGH = 16384  # bytes of body read for the hints (Django's and Vite's messages are at the start)


def reply_complete(data: bytes) -> bool:
    """Enough bytes to decide, so the reader can stop before the server closes: a non-HTTP first line or
    a TLS record, or a full HTTP header block plus the body (or its first BODY_ENOUGH bytes)."""
    if not data:
        return False
    if not b"HTTP/".startswith(data[:5]):  # a banner, a TLS record, HTML without a status line
        return b"\n" in data or len(data) >= 256 or is_tls_record(data)
    end = data.find(HEADER_END)
    if end < 0:
        return False
    head, body = data[:end], data[end + len(HEADER_END) :]
    if re.match(rb"HTTP/1\.[01] (1\d\d|204|304)", head):
        return True
    length = re.search(rb"\r\ncontent-length:[ \t]*(\d+)", head, re.IGNORECASE)
    if length:
        return len(body) >= min(int(length.group(1)), BODY_ENOUGH)
    if re.search(rb"\r\ntransfer-encoding:[^\r\n]*chunked", head, re.IGNORECASE):
        return body.endswith(b"0\r\n\r\n") or len(body) >= BODY_ENOUGH
    return len(body) >= BODY_ENOUGH  # read to EOF (we asked for Connection: close)


def is_tls_record(data: bytes) -> bool:
    """A TLS record header: content type 20-23 (change_cipher_spec, alert, handshake, application_data),
    then version 3.x (SSL 3.0 to TLS 1.3's legacy 3.3)."""
    return len(data) >= 2 and data[0] in (0x14, 0x15, 0x16, 0x17) and data[1] == 0x03


def looks_like_http_text(data: bytes) -> bool:
    """Plain HTTP in reply to a TLS hello: a status line, or an HTTP/0.9-style error page without one
    (Python's http.server answers a request it cannot parse with the page alone)."""
    head = data[:64].lstrip().lower()
    return head.startswith((b"http/", b"<!doctype", b"<html", b"<head", b"<body", b"<h1", b"bad request"))


@dataclass(frozen=True)
class HttpResponse:
    status: int
    reason: str
    version: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def parse_http(data: bytes) -> HttpResponse | None:
    """The status line, headers and (the start of) the body; None when `data` is not an HTTP/1.x reply."""
    match = re.match(rb"(HTTP/\d(?:\.\d)?) +(\d{3})(?: +([^\r\n]*))?\r?\n", data)
    if not match:
        return None
    end = data.find(HEADER_END)
    head_end = end if end >= 0 else len(data)
    headers: dict[str, str] = {}
    for line in data[match.end() : head_end].split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep and name.strip():
            key = name.strip().decode("latin-1").lower()
            headers.setdefault(key, value.strip().decode("latin-1"))
    body = data[end + len(HEADER_END) :] if end >= 0 else b""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    return HttpResponse(
        int(match.group(2)),
        (match.group(3) or b"").decode("latin-1").strip(),
        match.group(1).decode("ascii"),
        headers,
        body,
    )


def _dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, sep, rest = body.partition(b"\r\n")
        if not sep:
            break
        try:
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
        except ValueError:
            return out + body
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out


@dataclass(frozen=True)
class AppCheck:
    """The application check on an open port: which class, and the HTTP facts when there are any."""

    cls: str  # one of APP_CLASSES
    ok: bool
    scheme: str  # what was spoken: "http" or "https"
    detail: str
    status: int | None = None
    reason: str | None = None
    server: str | None = None
    # django-allowed-hosts | vite-allowed-hosts | webpack-allowed-hosts | redirect-to-localhost | proxy-upstream-down
    hint: str | None = None
    location: str | None = None
    banner: str | None = None
    tls_version: str | None = None
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["elapsed_ms"] = round(self.elapsed_ms, 3)
        return {"class": data.pop("cls"), **data}


# What servers answer when plain HTTP reaches their TLS port (nginx; Go's net/http).
_PLAIN_TO_TLS = ("The plain HTTP request was sent to HTTPS port", "Client sent an HTTP request to an HTTPS server")
_LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]", "0.0.0.0")


def http_check(resp: HttpResponse, *, scheme: str, host_header: str, elapsed_ms: float = 0.0) -> AppCheck:
    """Classify an HTTP response to `GET /` sent with `Host: host_header`."""
    text = resp.body[:BODY_ENOUGH].decode("utf-8", "replace")
    server = resp.header("server")
    base = {"scheme": scheme, "status": resp.status, "reason": resp.reason, "server": server, "elapsed_ms": elapsed_ms}
    status = f"HTTP {resp.status}{' ' + resp.reason if resp.reason else ''}"
    host = _host_only(host_header)
    check = hostcheck.match(resp.status, text)
    if check is not None:
        found = re.search(r"`((?:server|preview)\.allowedHosts)`", text)
        key = found.group(1) if found else "server.allowedHosts"
        detail = check.detail.format(host=host, host_header=host_header, key=key)
        return AppCheck(HOST_NOT_ALLOWED, False, detail=f"{status}: {detail}", hint=check.id, **base)
    if any(marker in text for marker in _PLAIN_TO_TLS):
        return AppCheck(
            TLS_ON_HTTP_PORT,
            False,
            detail=f"{status}: the server says plain HTTP was sent to its HTTPS port",
            **base,
        )
    location = resp.header("location")
    if 300 <= resp.status < 400 and location and _points_to_loopback(location):
        return AppCheck(
            HTTP_ERROR,
            False,
            detail=f"{status}: redirects to {location}, which on this device is the device itself",
            hint="redirect-to-localhost",
            location=location,
            **base,
        )
    if 200 <= resp.status < 400:
        where = f" to {location}" if location else ""
        return AppCheck(HTTP_OK, True, detail=f"{status}{where}", location=location, **base)
    if resp.status in (404, 405):
        return AppCheck(
            HTTP_OK, True, detail=f"{status}: the server answers (there is no page at /, which is fine)", **base
        )
    if resp.status in (401, 403, 407):
        return AppCheck(HTTP_DENIED, False, detail=f"{status}: the server refuses this request", **base)
    if resp.status in (502, 503, 504):
        return AppCheck(
            HTTP_ERROR,
            False,
            detail=f"{status}: a proxy{f' ({server})' if server else ''} answers, but not the app behind it",
            hint="proxy-upstream-down",
            **base,
        )
    return AppCheck(HTTP_ERROR, False, detail=f"{status}", **base)


def _host_only(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[: host_header.find("]") + 1]
    return host_header.rpartition(":")[0] if ":" in host_header else host_header


def _points_to_loopback(location: str) -> bool:
    match = re.match(r"(?i)[a-z][a-z0-9+.-]*://(\[[^\]]+\]|[^/:?#]+)", location)
    if not match:
        return False
    host = match.group(1).lower()
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# A few banners worth naming: the first bytes a non-HTTP server sends (or answers to `GET / HTTP/1.1`).
_BANNERS: tuple[tuple[bytes, str], ...] = (
    (b"SSH-", "an SSH server"),
    (b"-DENIED Redis is running in protected mode", "Redis in protected mode (it answers loopback clients only)"),
    (b"-ERR", "Redis (or another line protocol answering -ERR)"),
    (b"-NOAUTH", "Redis"),
    (b"+OK", "a POP3 server"),
    (b"* OK", "an IMAP server"),
    (b"220", "an FTP or SMTP server"),
    (b"RFB ", "a VNC server"),
    (b"AMQP", "an AMQP broker (RabbitMQ)"),
)


def banner_of(data: bytes) -> tuple[str, str | None]:
    """(first line of the reply, printable; the kind of server it names, or None)."""
    line = data.split(b"\n", 1)[0][:120].rstrip(b"\r")
    printable = "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in line)
    for prefix, kind in _BANNERS:
        if data.startswith(prefix):
            return printable, kind
    if len(data) > 5 and data[3] == 0 and data[4] == 0x0A:  # MySQL's greeting: 3-byte length, seq 0, protocol 10
        return printable, "a MySQL/MariaDB server"
    return printable, None


def plain_check(reply: Reply, *, host_header: str) -> AppCheck | None:
    """Classify the reply to a plain `GET /`. None when the server sent nothing (it closed, reset, or stayed
    silent): then the caller tries a TLS hello and decides with `after_silence`."""
    data = reply.data
    if not data:
        return None
    if is_tls_record(data):
        alert = " (a TLS alert)" if data[0] == 0x15 else ""
        return AppCheck(
            TLS_ON_HTTP_PORT,
            False,
            "http",
            detail=f"the server answered the HTTP request with a TLS record{alert}: it speaks HTTPS on this port",
            elapsed_ms=reply.elapsed_ms,
        )
    resp = parse_http(data)
    if resp is not None:
        return http_check(resp, scheme="http", host_header=host_header, elapsed_ms=reply.elapsed_ms)
    line, kind = banner_of(data)
    what = f"it looks like {kind}" if kind else "not an HTTP reply"
    return AppCheck(
        NOT_HTTP, False, "http", detail=f"the server sent {line!r}: {what}", banner=line, elapsed_ms=reply.elapsed_ms
    )


def after_silence(first: Reply, tls: TlsOutcome) -> tuple[str, AppCheck | None]:
    """The server sent nothing to `GET /` (first); `tls` is a TLS hello on a new connection. Returns the
    connection class and the app check: TLS answered -> tls-on-http-port; closed both times -> reset;
    silent both times -> no-reply."""
    if tls.handshake or is_tls_record(tls.raw):
        how = "sent nothing back to plain HTTP" if first.end == "timeout" else "closed the connection on plain HTTP"
        return OPEN, AppCheck(
            TLS_ON_HTTP_PORT,
            False,
            "http",
            detail=f"the server {how} but completes a TLS handshake"
            + (f" ({tls.version})" if tls.version else "")
            + ": it speaks HTTPS on this port",
            tls_version=tls.version,
            elapsed_ms=first.elapsed_ms,
        )
    if first.end in ("eof", "reset", "error"):
        return RESET, None
    return OPEN, AppCheck(
        NO_REPLY,
        False,
        "http",
        detail=f"connected, but no reply to an HTTP request or a TLS hello within {_ms(first.elapsed_ms)}",
        elapsed_ms=first.elapsed_ms,
    )


def reset_detail(first: Reply) -> str:
    how = "reset (RST)" if first.end == "reset" else "closed (FIN)"
    return f"accepted, then {how} before any reply, to HTTP and to a TLS hello"


def tls_check(tls: TlsOutcome, reply: Reply | None, *, host_header: str) -> tuple[str, AppCheck | None]:
    """An https:// probe: the handshake, then (when it completed) the reply to `GET /` over TLS.
    Returns the connection class and the app check."""
    if not tls.handshake:
        if (
            tls.raw
            and not is_tls_record(tls.raw)
            and (looks_like_http_text(tls.raw) or tls.reason == "WRONG_VERSION_NUMBER")
        ):
            line, _ = banner_of(tls.raw)
            return OPEN, AppCheck(
                HTTP_ON_TLS_PORT,
                False,
                "https",
                detail=f"the server answered the TLS hello in plain text ({line!r}): it speaks HTTP, not HTTPS",
                banner=line,
                elapsed_ms=tls.elapsed_ms,
            )
        if tls.reason == "WRONG_VERSION_NUMBER":
            return OPEN, AppCheck(
                HTTP_ON_TLS_PORT,
                False,
                "https",
                detail="the TLS handshake failed with WRONG_VERSION_NUMBER: the server does not speak TLS here",
                elapsed_ms=tls.elapsed_ms,
            )
        if not tls.raw and tls.end in ("eof", "reset"):
            return RESET, None
        if not tls.raw and tls.end == "timeout":
            return OPEN, AppCheck(
                NO_REPLY,
                False,
                "https",
                detail=f"connected, but no reply to the TLS hello within {_ms(tls.elapsed_ms)}",
                elapsed_ms=tls.elapsed_ms,
            )
        if tls.raw and not is_tls_record(tls.raw):
            line, kind = banner_of(tls.raw)
            what = f"it looks like {kind}" if kind else "neither TLS nor HTTP"
            return OPEN, AppCheck(
                NOT_HTTP,
                False,
                "https",
                detail=f"the server sent {line!r}: {what}",
                banner=line,
                elapsed_ms=tls.elapsed_ms,
            )
        return OPEN, AppCheck(
            TLS_ERROR,
            False,
            "https",
            detail=f"the TLS handshake failed: {tls.reason or tls.end}",
            elapsed_ms=tls.elapsed_ms,
        )
    if reply is None or not reply.data:
        end = "closed" if reply is None or reply.end != "timeout" else "sent nothing"
        return OPEN, AppCheck(
            NO_REPLY,
            False,
            "https",
            detail=f"TLS handshake done ({tls.version}), then the server {end} in reply to GET /",
            tls_version=tls.version,
            elapsed_ms=tls.elapsed_ms,
        )
    resp = parse_http(reply.data)
    if resp is None:
        line, kind = banner_of(reply.data)
        return OPEN, AppCheck(
            NOT_HTTP,
            False,
            "https",
            detail=f"over TLS the server sent {line!r}: {f'it looks like {kind}' if kind else 'not HTTP'}",
            banner=line,
            tls_version=tls.version,
            elapsed_ms=tls.elapsed_ms + reply.elapsed_ms,
        )
    check = http_check(resp, scheme="https", host_header=host_header, elapsed_ms=tls.elapsed_ms + reply.elapsed_ms)
    return OPEN, AppCheck(**{**asdict(check), "tls_version": tls.version})


# -- next steps ----------------------------------------------------------------------------------------
def next_steps(cls: str, app: AppCheck | None, *, port: int, host: str, scheme: str | None) -> tuple[str, ...]:
    """What to do about a result: what to run on the server (`bindscope doctor PORT`) and the likely fix."""
    doctor = f"On the server: bindscope doctor {port}"
    if cls == REFUSED:
        return (
            f"{doctor} (it names the server and its fix)",
            "Likely fix: the server listens on 127.0.0.1 only: restart it on 0.0.0.0, e.g. "
            f"`flask run --host 0.0.0.0 --port {port}`, `python manage.py runserver 0.0.0.0:{port}`, "
            f"`uvicorn app:app --host 0.0.0.0 --port {port}` (on a network you trust; never a debug server)",
            f"Or nothing runs on port {port} at all: `bindscope ls --port {port}` on the server",
        )
    if cls == TIMEOUT:
        return (
            f"{doctor} (it checks the server's firewall)",
            f"Likely fix: allow TCP port {port} in the server's firewall (nftables/ufw/firewalld; Windows: the "
            "network is 'Public'), or leave a guest Wi-Fi that isolates clients, or turn off a VPN on this device",
            "Check that both devices are on the same network: `bindscope urls "
            f"{port}` on the server prints the address to use",
        )
    if cls == HOST_UNREACHABLE:
        return (
            f"On the server: bindscope urls {port} (its current address; a DHCP lease may have changed it)",
            "Likely fix: use the address the server has now, on the same network; a firewall that rejects with "
            f"'administratively prohibited' also shows as host-unreachable: then run bindscope doctor {port} there",
        )
    if cls == NETWORK_UNREACHABLE:
        return (
            "Likely fix: join the server's network (same Wi-Fi), or turn off the VPN on this device",
            f"On the server: bindscope urls {port} (the address to use from the LAN)",
        )
    if cls == RESET:
        return (
            f"{doctor}",
            "Likely fix: a Docker-published port with the app on 127.0.0.1 inside the container: bind the app to "
            "0.0.0.0 inside the container (the `-p` mapping stays); or start the upstream a proxy points to",
        )
    if cls == ERROR:
        return ("Check this device: its firewall, its VPN, and the app's network permission",)
    if app is None or app.ok:
        return ()
    name = host.strip("[]")
    if app.hint == "django-allowed-hosts":
        return (
            f"Likely fix: in settings.py, ALLOWED_HOSTS = [{name!r}] (or add {name!r} to the list); "
            f"Django answers 400 to every other Host",
            f"{doctor}",
        )
    if app.hint == "vite-allowed-hosts":
        return (
            f"Likely fix: in vite.config.js, server: {{ allowedHosts: [{name!r}] }} (preview.allowedHosts for "
            "`vite preview`); Vite always accepts IP addresses",
        )
    if app.hint == "webpack-allowed-hosts":
        return (f"Likely fix: in webpack.config.js, devServer: {{ allowedHosts: [{name!r}] }}",)
    if app.hint == "redirect-to-localhost":
        return (
            "Likely fix: the app builds absolute URLs from a configured base URL or from localhost: set its "
            f"public/base URL to {scheme or 'http'}://{hostport(name, port)}/ or let it use the request's Host",
        )
    if app.cls == TLS_ON_HTTP_PORT:
        return (f"Use https://{hostport(name, port)}/",)
    if app.cls == HTTP_ON_TLS_PORT:
        return (f"Use http://{hostport(name, port)}/",)
    if app.cls == HTTP_DENIED:
        return (
            "The server wants credentials or a token (Jupyter: the URL with ?token=...), or allows only some "
            "clients: see its configuration",
            doctor,
        )
    if app.hint == "proxy-upstream-down":
        return (
            "The proxy cannot reach the app it forwards to: start the app, or bind it where the proxy points "
            "(nginx proxy_pass); then look at the proxy's error log",
            doctor,
        )
    if app.cls == HTTP_ERROR:
        return ("Look at the server's log: the app fails on this request",)
    if app.cls == NOT_HTTP:
        return (f"Is this the right port? `bindscope ls --port {port}` on the server names the process",)
    if app.cls == NO_REPLY:
        return (
            "The server accepts connections but does not answer: a non-HTTP service waiting for its own protocol, or "
            "a server that is stuck (blocked event loop, all workers busy): look at its log",
            f"`bindscope ls --port {port}` on the server names the process",
        )
    if app.cls == TLS_ERROR:
        return ("Check the server's TLS configuration (certificate, protocol versions)",)
    return ()


# -- targets, ports --------------------------------------------------------------------------------------
MAX_PORTS = 65535


def parse_ports(text: str) -> tuple[int, ...]:
    """`8000-8100`, `22,80,8000-8010`: the ports in order, without duplicates. Raises BindscopeError."""
    if not isinstance(text, str) or not text.strip():
        raise BindscopeError("--ports needs a list or range of ports: 8000-8100 or 22,80,8000-8010")
    seen: dict[int, None] = {}
    for part in text.split(","):
        part = part.strip()
        lo_text, dash, hi_text = part.partition("-")
        if not part or (dash and (not lo_text.strip() or not hi_text.strip())):
            raise BindscopeError(f"--ports {text[:40]!r}: {part!r} is not a port or a range like 8000-8100")
        lo = _port_number(lo_text, text)
        hi = _port_number(hi_text, text) if dash else lo
        if hi < lo:
            raise BindscopeError(f"--ports {text[:40]!r}: range {lo}-{hi} goes backwards")
        for port in range(lo, hi + 1):
            seen[port] = None
    return tuple(seen)


def _port_number(part: str, text: str) -> int:
    part = part.strip()
    if not part.isdigit() or not part.isascii() or len(part) > 5 or not 1 <= int(part) <= 65535:
        raise BindscopeError(f"--ports {text[:40]!r}: {part[:12]!r} is not a port (1-65535)")
    return int(part)


def ranges(ports: list[int] | tuple[int, ...]) -> str:
    """[22, 80, 81, 82, 8000] -> "22,80-82,8000"."""
    out: list[str] = []
    items = sorted(set(ports))
    i = 0
    while i < len(items):
        j = i
        while j + 1 < len(items) and items[j + 1] == items[j] + 1:
            j += 1
        out.append(str(items[i]) if i == j else f"{items[i]}-{items[j]}")
        i = j + 1
    return ",".join(out)


def parse_hosts_file(text: str) -> dict[str, list[str]]:
    """/etc/hosts: lowercase name -> addresses, in file order (comments and bad lines skipped)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        addr, *names = line.split()
        try:
            ipaddress.ip_address(addr.split("%")[0])
        except ValueError:
            continue
        for name in names:
            key = name.lower().rstrip(".")
            if addr not in out.setdefault(key, []):
                out[key].append(addr)
    return out


def resolution_how(name: str, in_hosts_file: bool) -> str:
    """How a name is resolved: "hosts-file" when the hosts file has it (files comes first in nsswitch and
    on Windows/macOS), "mdns" for .local names, "dns" otherwise."""
    if in_hosts_file:
        return "hosts-file"
    if name.lower().rstrip(".").endswith(".local"):
        return "mdns"
    return "dns"


@dataclass(frozen=True)
class Resolution:
    name: str  # what was looked up (or the address typed)
    how: str  # ip-literal | hosts-file | mdns | dns
    addresses: tuple[str, ...]
    detail: str
    source: str | None = None  # the hosts file, when how == "hosts-file"
    hosts_file_addresses: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["addresses"] = list(self.addresses)
        data["hosts_file_addresses"] = list(self.hosts_file_addresses)
        return data


def resolution_detail(how: str, name: str, addresses: tuple[str, ...], source: str | None) -> str:
    got = ", ".join(addresses) if addresses else "no address"
    if how == "ip-literal":
        return f"{name} is an IP address: no name lookup"
    if how == "hosts-file":
        extra = " (.local names are normally mDNS; the hosts file answered first)" if name.endswith(".local") else ""
        return f"{name} is in the hosts file {source}: {got}{extra}"
    if how == "mdns":
        if not addresses:
            return (
                f"{name} did not resolve. .local names use mDNS (multicast DNS): the server must run a responder "
                "(Bonjour on macOS/Windows, avahi-daemon on Linux) and both devices must be on the same network "
                "segment (mDNS does not cross routers, VPNs, and often not guest Wi-Fi); some Android versions do "
                "not resolve .local at all: use the IP address"
            )
        return f"{name} resolved by mDNS (multicast DNS, same network segment only): {got}"
    if not addresses:
        return f"{name} did not resolve (DNS): check the name, or use the server's IP address"
    return f"{name} resolved by DNS: {got}"


# -- results -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AddressResult:
    address: str
    family: str
    port: int
    cls: str  # one of CONNECT_CLASSES
    ok: bool
    errno: str | None
    elapsed_ms: float
    detail: str
    meaning: str
    app: AppCheck | None = None
    next_steps: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "family": self.family,
            "port": self.port,
            "class": self.cls,
            "ok": self.ok,
            "errno": self.errno,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "detail": self.detail,
            "meaning": self.meaning,
            "app": None if self.app is None else self.app.to_dict(),
            "next_steps": list(self.next_steps),
        }


def address_result(
    address: str,
    port: int,
    cls: str,
    *,
    errno_text: str | None,
    elapsed_ms: float,
    app: AppCheck | None,
    host: str,
    scheme: str | None,
    detail: str | None = None,
) -> AddressResult:
    """One address's result with its meaning and next steps. A connection is ok when it is open and the app
    check passed (or when no app check was made); a non-HTTP banner counts as an answer when no scheme was
    typed (host:port), not for an http(s):// URL. A server that accepts and stays silent is not ok."""
    ok = cls == OPEN and (app is None or app.ok or (app.cls == NOT_HTTP and scheme is None))
    meaning = MEANING[app.cls] if cls == OPEN and app is not None else MEANING[cls]
    return AddressResult(
        address=address,
        family="ipv6" if ":" in address else "ipv4",
        port=port,
        cls=cls,
        ok=ok,
        errno=errno_text,
        elapsed_ms=elapsed_ms,
        detail=detail or connect_detail(cls, errno_text, elapsed_ms),
        meaning=meaning,
        app=app,
        next_steps=() if ok else next_steps(cls, app, port=port, host=host, scheme=scheme),
    )


@dataclass(frozen=True)
class ProbeReport:
    target: str
    host: str
    port: int
    scheme: str | None  # as typed: http, https, or None (host:port)
    host_header: str
    timeout: float
    resolution: Resolution
    results: tuple[AddressResult, ...]
    verdict: str  # ok | partial | fail | unresolved
    summary: str
    next_steps: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict in ("ok", "partial") else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": "probe",
            "mode": "target",
            "target": self.target,
            "host": self.host,
            "port": self.port,
            "scheme": self.scheme,
            "host_header": self.host_header,
            "timeout": self.timeout,
            "resolution": self.resolution.to_dict(),
            "results": [r.to_dict() for r in self.results],
            "verdict": self.verdict,
            "summary": self.summary,
            "next_steps": list(self.next_steps),
            "notes": list(self.notes),
        }


def probe_report(
    *,
    target: str,
    host: str,
    port: int,
    scheme: str | None,
    host_header: str,
    timeout: float,
    resolution: Resolution,
    results: list[AddressResult],
) -> ProbeReport:
    """The verdict over every address: ok (all work), partial (some do: a client that tries them all
    connects), fail (none), unresolved (the name gave no address)."""
    notes: list[str] = []
    if any(_is_loopback(r.address) for r in results):
        notes.append(
            f"{host} is this device itself (loopback): to reach another machine use its LAN address "
            f"(`bindscope urls {port}` on the server prints it)"
        )
    shown = hostport(host, port)
    if not results:
        return ProbeReport(
            target,
            host,
            port,
            scheme,
            host_header,
            timeout,
            resolution,
            (),
            "unresolved",
            f"{host} did not resolve to any address",
            (f"Use the server's IP address: `bindscope urls {port}` on the server prints it",),
            tuple(notes),
        )
    good = [r for r in results if r.ok]
    steps = tuple(dict.fromkeys(s for r in results if not r.ok for s in r.next_steps))
    if len(good) == len(results):
        verdict, summary = "ok", f"{shown} works from this device" + _app_summary(good[0])
    elif good:
        failed = [r for r in results if not r.ok]
        bad = ", ".join(f"{r.address} {_label(r)}" for r in failed)
        families = {r.family for r in good}
        if all(r.cls == REFUSED and r.family not in families for r in failed):
            one, other = ("IPv4", "IPv6") if "ipv4" in families else ("IPv6", "IPv4")
            wildcard = "0.0.0.0" if one == "IPv4" else ":: with IPV6_V6ONLY"
            steps = (
                f"The server listens on {one} only (e.g. {wildcard}): to serve {other} too, bind :: (dual-stack); "
                f"clients that try {other} first fall back to {one}",
                f"On the server: bindscope doctor {port}",
            )
        verdict = "partial"
        summary = (
            f"{shown} works from this device on {', '.join(r.address for r in good)}"
            f"{_app_summary(good[0])}; not on {bad} (clients that try the other address first may be slow or fail)"
        )
    else:
        verdict = "fail"
        summary = f"{shown} does not work from this device: " + "; ".join(f"{r.address} {_label(r)}" for r in results)
    return ProbeReport(
        target,
        host,
        port,
        scheme,
        host_header,
        timeout,
        resolution,
        tuple(results),
        verdict,
        summary,
        steps,
        tuple(notes),
    )


def _label(r: AddressResult) -> str:
    if r.cls == OPEN and r.app is not None:
        return r.app.cls + (f" (HTTP {r.app.status})" if r.app.status else "")
    return r.cls


def _app_summary(r: AddressResult) -> str:
    if r.app is None:
        return ""
    if r.app.status:
        return f" (HTTP {r.app.status}{' over TLS' if r.app.scheme == 'https' else ''})"
    return f" ({r.app.cls})"


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


# -- many ports ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OpenPort:
    port: int
    elapsed_ms: float
    app: AppCheck | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "app": None if self.app is None else self.app.to_dict(),
        }


@dataclass(frozen=True)
class ScanAddress:
    address: str
    family: str
    open: tuple[OpenPort, ...]
    closed: dict[str, tuple[int, ...]] = field(default_factory=dict)  # class -> ports (not open)
    errnos: dict[str, int] = field(default_factory=dict)  # errno name -> count, for class "error"

    def count(self, cls: str) -> int:
        return len(self.open) if cls == OPEN else len(self.closed.get(cls, ()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "family": self.family,
            "open": [p.to_dict() for p in self.open],
            "counts": {cls: self.count(cls) for cls in CONNECT_CLASSES if self.count(cls)},
            "ports": {cls: ranges(ports) for cls, ports in self.closed.items() if ports},
            "errnos": dict(self.errnos),
        }


@dataclass(frozen=True)
class ScanReport:
    target: str
    host: str
    ports: str  # the spec as normalised ranges
    port_count: int
    timeout: float
    concurrency: int
    http: bool
    elapsed_ms: float
    resolution: Resolution
    addresses: tuple[ScanAddress, ...]
    verdict: str  # open | none-open | unresolved
    summary: str
    next_steps: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == "open" else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": "probe",
            "mode": "ports",
            "target": self.target,
            "host": self.host,
            "ports": self.ports,
            "port_count": self.port_count,
            "timeout": self.timeout,
            "concurrency": self.concurrency,
            "http": self.http,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "resolution": self.resolution.to_dict(),
            "addresses": [a.to_dict() for a in self.addresses],
            "verdict": self.verdict,
            "summary": self.summary,
            "next_steps": list(self.next_steps),
        }


def scan_report(
    *,
    target: str,
    host: str,
    ports: tuple[int, ...],
    timeout: float,
    concurrency: int,
    http: bool,
    elapsed_ms: float,
    resolution: Resolution,
    addresses: list[ScanAddress],
) -> ScanReport:
    spec = ranges(ports)
    if not addresses:
        return ScanReport(
            target,
            host,
            spec,
            len(ports),
            timeout,
            concurrency,
            http,
            elapsed_ms,
            resolution,
            (),
            "unresolved",
            f"{host} did not resolve to any address",
        )
    opened = sum(len(a.open) for a in addresses)
    parts = []
    for a in addresses:
        counts = ", ".join(f"{a.count(c)} {c}" for c in CONNECT_CLASSES if a.count(c))
        parts.append(f"{a.address}: {counts}")
    summary = f"{len(ports)} port{'s' if len(ports) != 1 else ''} in {elapsed_ms / 1000:.2f} s - " + "; ".join(parts)
    steps: list[str] = []
    if any(a.count(TIMEOUT) for a in addresses):
        steps.append(
            f"timeout = no answer within {timeout:g} s: a firewall drops those ports (or the SYN was lost: "
            "rerun with a larger --timeout)"
        )
    if not opened and any(a.count(REFUSED) for a in addresses):
        steps.append("the host answers but nothing listens on these ports from here: on the server, `bindscope ls`")
    return ScanReport(
        target,
        host,
        spec,
        len(ports),
        timeout,
        concurrency,
        http,
        elapsed_ms,
        resolution,
        tuple(addresses),
        "open" if opened else "none-open",
        summary,
        tuple(steps),
    )
