"""doctor's self-probe: connect from this machine to its own addresses, then one HTTP request
with the Host header a LAN client would send (I/O only; analyze/doctor.py reads the results).

It sends nothing but a TCP handshake and one `GET /`, to addresses of this machine.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Knock:
    address: str  # as bound ("fe80::1%eth0" with its zone)
    port: int
    outcome: str  # "open" | "refused" | "timeout" | "unreachable" | "error"
    detail: str = ""
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HttpReply:
    address: str
    port: int
    host_header: str
    status: int | None = None
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""  # the first few KB, decoded leniently
    error: str = ""  # when no HTTP reply came (not HTTP, TLS, timeout, ...)
    tls: bool = False  # the reply looked like TLS (an https server)

    def header(self, name: str) -> str:
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), "")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["headers"] = dict(self.headers)
        data["body"] = self.body[:500]
        return data


def _sockaddr(address: str, port: int) -> tuple[int, tuple]:
    host, _, zone = address.partition("%")
    if ":" in host:
        scope = socket.if_nametoindex(zone) if zone else 0
        return socket.AF_INET6, (host, port, 0, scope)
    return socket.AF_INET, (host, port)


def knock(address: str, port: int, timeout: float = 1.0) -> Knock:
    """One TCP handshake to `address`:`port`, closed at once."""
    start = time.perf_counter()
    try:
        fam, sa = _sockaddr(address, port)
    except OSError as exc:
        return Knock(address, port, "error", f"zone: {exc.strerror or exc}")
    sock = socket.socket(fam, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(sa)
        outcome, detail = "open", ""
    except ConnectionRefusedError:
        outcome, detail = "refused", "connection refused"
    except TimeoutError:
        outcome, detail = "timeout", f"no answer in {timeout:g}s"
    except OSError as exc:
        unreachable = (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL)
        outcome = "unreachable" if exc.errno in unreachable else "error"
        detail = exc.strerror or str(exc)
    finally:
        sock.close()
    return Knock(address, port, outcome, detail, round((time.perf_counter() - start) * 1000, 2))


def knock_all(addresses: Sequence[str], port: int, timeout: float = 1.0) -> list[Knock]:
    """Knock on every address at once; results in the order given."""
    if not addresses:
        return []
    with ThreadPoolExecutor(max_workers=min(32, len(addresses))) as pool:
        return list(pool.map(lambda a: knock(a, port, timeout), addresses))


def http_get(address: str, port: int, host_header: str, timeout: float = 2.0, limit: int = 16384) -> HttpReply:
    """`GET /` with `Host: host_header`; the status line, headers and the start of the body."""
    try:
        fam, sa = _sockaddr(address, port)
        sock = socket.socket(fam, socket.SOCK_STREAM)
    except OSError as exc:
        return HttpReply(address, port, host_header, error=exc.strerror or str(exc))
    sock.settimeout(timeout)
    data = b""
    try:
        sock.connect(sa)
        request = (
            f"GET / HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: bindscope-doctor\r\n"
            "Accept: text/html,*/*\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(request.encode("ascii"))
        deadline = time.monotonic() + timeout
        while len(data) < limit and time.monotonic() < deadline:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        if not data:
            return HttpReply(address, port, host_header, error=f"no reply in {timeout:g}s")
    except OSError as exc:
        if not data:
            return HttpReply(address, port, host_header, error=exc.strerror or str(exc))
    finally:
        sock.close()
    return parse_reply(address, port, host_header, data)


def parse_reply(address: str, port: int, host_header: str, data: bytes) -> HttpReply:
    """The reply as doctor reads it, parsed by probe's parser (analyze/probeclass.parse_http:
    status line, headers, body, chunked bodies joined)."""
    from ..analyze.probeclass import is_tls_record, parse_http

    if is_tls_record(data):
        return HttpReply(address, port, host_header, error="the server answered with TLS", tls=True)
    resp = parse_http(data)
    if resp is None:
        shown = data[:40].decode("latin-1", "replace")
        error = f"not an HTTP reply: {shown!r}" if data else "closed without a reply"
        return HttpReply(address, port, host_header, error=error)
    return HttpReply(
        address,
        port,
        host_header,
        status=resp.status,
        reason=resp.reason,
        headers=tuple(resp.headers.items()),
        body=resp.body.decode("utf-8", "replace"),
    )
