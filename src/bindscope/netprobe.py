"""`bindscope probe`: connect from this device (the phone, a colleague's laptop) to a server (I/O).

Small surface: `probe_target(target, ...)` -> ProbeReport, `scan_ports(target, ports, ...)` -> ScanReport,
`resolve_host(target)` -> Resolution. The sockets, TLS and timers live here; every decision (which class, what
it means, what to do) is made by the pure functions of `analyze.probeclass` from what was recorded.

(Named netprobe, not probe: importing a submodule `bindscope.probe` would replace the public function
`bindscope.probe` on the package.)
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import ssl
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from . import __version__
from .addr import Target
from .analyze import probeclass as pc
from .errors import BindscopeError

DEFAULT_TIMEOUT = 5.0  # one address: above the ~3.1 s a LAN host that is off takes to fail ARP (EHOSTUNREACH)
DEFAULT_SCAN_TIMEOUT = 1.0  # --ports: every filtered port costs this once, in parallel (see docs/probe.md)
DEFAULT_CONCURRENCY = 500
MAX_TIMEOUT = 120.0
READ_LIMIT = 65536
RAW_KEEP = 1024  # raw bytes of a TLS exchange kept for classification
T = TypeVar("T")


# -- resolution ---------------------------------------------------------------------------------------
def hosts_file_path() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("SYSTEMROOT", r"C:\Windows")) / "System32" / "drivers" / "etc" / "hosts"
    return Path("/etc/hosts")


def resolve_host(target: Target) -> pc.Resolution:
    """How the target's host resolves here, with every address getaddrinfo returns (both families)."""
    if target.kind == "ip":
        text = target.host_text
        return pc.Resolution(text, "ip-literal", (text,), pc.resolution_detail("ip-literal", text, (text,), None))
    from .collect.resolve import resolve

    name = target.name or ""
    path = hosts_file_path()
    try:
        hosts = pc.parse_hosts_file(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        hosts = {}
    listed = tuple(hosts.get(name, ()))
    addresses = resolve(name)
    how = pc.resolution_how(name, bool(listed))
    source = str(path) if listed else None
    return pc.Resolution(name, how, addresses, pc.resolution_detail(how, name, addresses, source), source, listed)


# -- one connection -------------------------------------------------------------------------------------
def _sockaddr(address: str) -> tuple[int, Callable[[int], tuple]]:
    """The family and a port -> sockaddr function for a numeric address (IPv6 zone included)."""
    try:
        fam, _type, _proto, _canon, sockaddr = socket.getaddrinfo(
            address, 1, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST
        )[0]
    except (OSError, UnicodeError) as exc:
        raise BindscopeError(f"cannot use address {address!r}: {exc}") from None
    if fam == socket.AF_INET6:
        return fam, lambda port: (sockaddr[0], port, sockaddr[2], sockaddr[3])
    return fam, lambda port: (sockaddr[0], port)


_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, getattr(errno, "WSAEWOULDBLOCK", -1)}


async def _connect(fam: int, sockaddr: tuple, timeout: float) -> tuple[socket.socket | None, str, str | None, float]:
    """(socket or None, class, errno name, elapsed ms). A non-blocking connect watched by the event loop: one
    writer callback and one timer per socket (no task per connection: --ports runs a thousand of these)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(fam, socket.SOCK_STREAM)
    sock.setblocking(False)
    start = time.perf_counter()
    try:
        err = sock.connect_ex(sockaddr)
        if err in _IN_PROGRESS:
            fut: asyncio.Future[bool] = loop.create_future()

            def settle(timed_out: bool) -> None:
                if not fut.done():
                    fut.set_result(timed_out)

            fd = sock.fileno()
            loop.add_writer(fd, settle, False)
            timer = loop.call_later(timeout, settle, True)
            try:
                timed_out = await fut
            finally:
                loop.remove_writer(fd)
                timer.cancel()
            if timed_out:
                sock.close()
                return None, pc.TIMEOUT, None, (time.perf_counter() - start) * 1000
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    except OSError as exc:  # connect_ex raises for some errors (an address of the wrong family, ...)
        err = exc.errno or -1
    except BaseException:
        sock.close()
        raise
    elapsed = (time.perf_counter() - start) * 1000
    if err:
        sock.close()
        name = pc.errno_name(err)
        return None, pc.connect_class(name), name, elapsed
    return sock, pc.OPEN, None, elapsed


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run on a selector event loop (its add_writer is what _connect needs; Windows' default proactor loop
    has none)."""
    with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
        return runner.run(coro)


async def _recv(sock: socket.socket, deadline: float) -> tuple[bytes, str, str | None]:
    """One recv before the deadline: (data, "" | "eof" | "reset" | "timeout" | "error", errno name)."""
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        return b"", "timeout", None
    try:
        chunk = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(sock, READ_LIMIT), remaining)
    except TimeoutError:
        return b"", "timeout", None
    except (ConnectionResetError, ConnectionAbortedError) as exc:
        return b"", "reset", pc.errno_name(exc.errno)
    except OSError as exc:
        return b"", "error", pc.errno_name(exc.errno)
    return chunk, ("" if chunk else "eof"), None


async def _send(sock: socket.socket, data: bytes) -> tuple[str, str | None]:
    try:
        await asyncio.get_running_loop().sock_sendall(sock, data)
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError) as exc:
        return "reset", pc.errno_name(exc.errno)
    except OSError as exc:
        return "error", pc.errno_name(exc.errno)
    return "", None


def http_request(host_header: str) -> bytes:
    return (
        f"GET / HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: bindscope-probe/{__version__}\r\n"
        "Accept: text/html,*/*;q=0.8\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")


async def _exchange_plain(sock: socket.socket, request: bytes, timeout: float) -> pc.Reply:
    start = time.perf_counter()
    end, err = await _send(sock, request)
    if end:
        return pc.Reply(b"", end, err, (time.perf_counter() - start) * 1000)
    deadline = start + timeout
    data = b""
    while True:
        chunk, end, err = await _recv(sock, deadline)
        data += chunk
        if end:
            break
        if pc.reply_complete(data) or len(data) >= READ_LIMIT:
            end = "complete"
            break
    return pc.Reply(data, end, err, (time.perf_counter() - start) * 1000)


def _tls_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # a diagnosis: a self-signed dev certificate must not stop it
    ctx.verify_mode = ssl.CERT_NONE
    with contextlib.suppress(NotImplementedError):
        ctx.set_alpn_protocols(["http/1.1"])
    return ctx


async def _tls_handshake(
    sock: socket.socket, sni: str | None, timeout: float
) -> tuple[pc.TlsOutcome, ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]:
    """A client handshake over a memory BIO, so that the raw bytes the server sends are seen (plain HTTP
    in reply to a ClientHello is recognised by its bytes, not only by OpenSSL's error)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = _tls_context().wrap_bio(incoming, outgoing, server_hostname=sni)
    start = time.perf_counter()
    deadline = start + timeout
    raw = b""

    def outcome(ok: bool, end: str, reason: str | None = None) -> pc.TlsOutcome:
        version = obj.version() if ok else None
        return pc.TlsOutcome(ok, raw, end, reason, version, (time.perf_counter() - start) * 1000)

    while True:
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as exc:
            return outcome(False, "ssl-error", exc.reason or str(exc)), obj, incoming, outgoing
        else:
            pending = outgoing.read()
            if pending:
                await _send(sock, pending)
            return outcome(True, "complete"), obj, incoming, outgoing
        pending = outgoing.read()
        if pending:
            end, err = await _send(sock, pending)
            if end:
                return outcome(False, end, err), obj, incoming, outgoing
        chunk, end, err = await _recv(sock, deadline)
        if len(raw) < RAW_KEEP:
            raw += chunk[: RAW_KEEP - len(raw)]
        if end:
            return outcome(False, end, err), obj, incoming, outgoing
        incoming.write(chunk)


async def _exchange_tls(
    sock: socket.socket,
    obj: ssl.SSLObject,
    incoming: ssl.MemoryBIO,
    outgoing: ssl.MemoryBIO,
    request: bytes,
    timeout: float,
) -> pc.Reply:
    start = time.perf_counter()
    deadline = start + timeout
    obj.write(request)
    end, err = await _send(sock, outgoing.read())
    if end:
        return pc.Reply(b"", end, err, (time.perf_counter() - start) * 1000)
    data = b""
    while True:
        try:
            while True:
                piece = obj.read(READ_LIMIT)
                if not piece:
                    end = "eof"
                    break
                data += piece
                if pc.reply_complete(data) or len(data) >= READ_LIMIT:
                    end = "complete"
                    break
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            end = "eof"
        except ssl.SSLError as exc:
            end, err = "eof", exc.reason  # e.g. UNEXPECTED_EOF_WHILE_READING: closed without close_notify
        if end:
            break
        pending = outgoing.read()
        if pending:
            await _send(sock, pending)
        chunk, end, err = await _recv(sock, deadline)
        if end:
            if end == "eof":
                incoming.write_eof()
                continue
            break
        incoming.write(chunk)
    return pc.Reply(data, end, err, (time.perf_counter() - start) * 1000)


def _close(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


async def _app_check(
    fam: int,
    sockaddr: tuple,
    sock: socket.socket,
    *,
    scheme: str | None,
    host_header: str,
    sni: str | None,
    timeout: float,
) -> tuple[str, pc.AppCheck | None, str | None]:
    """The application check on a connected socket (closed here): (class, app check, detail for a reset)."""
    request = http_request(host_header)
    if scheme == "https":
        try:
            tls, obj, incoming, outgoing = await _tls_handshake(sock, sni, timeout)
            reply = await _exchange_tls(sock, obj, incoming, outgoing, request, timeout) if tls.handshake else None
        finally:
            _close(sock)
        cls, app = pc.tls_check(tls, reply, host_header=host_header)
        how = "reset (RST)" if tls.end == "reset" else "closed (FIN)"
        return cls, app, (f"accepted, then {how} before any reply to a TLS hello" if cls == pc.RESET else None)
    try:
        first = await _exchange_plain(sock, request, timeout)
    finally:
        _close(sock)
    app = pc.plain_check(first, host_header=host_header)
    if app is not None:
        return pc.OPEN, app, None
    # Nothing came back: a TLS server that hung up on plain HTTP, a proxy with nothing behind it, or a
    # silent service. A TLS hello on a new connection tells them apart.
    sock2, cls2, _err, _ms = await _connect(fam, sockaddr, timeout)
    if sock2 is None:
        tls = pc.TlsOutcome(False, b"", "error", cls2)
    else:
        try:
            tls, *_ = await _tls_handshake(sock2, sni, timeout)
        finally:
            _close(sock2)
    cls, app = pc.after_silence(first, tls)
    return cls, app, (pc.reset_detail(first) if cls == pc.RESET else None)


# -- one target ------------------------------------------------------------------------------------------
def host_header(target: Target, port: int) -> str:
    """The Host header a browser would send for what the user typed: the name or address, and the port
    unless it is the scheme's default."""
    host = target.host_text if target.kind == "ip" else target.name or ""
    if target.kind == "ip" and target.ip is not None and target.ip.version == 6:
        host = f"[{target.ip}]"  # the zone is not sent (RFC 6874 leaves it out of Host)
    default = {"http": 80, "https": 443}.get(_scheme(target) or "http")
    return host if port == default else f"{host}:{port}"


def _scheme(target: Target) -> str | None:
    return {"ws": "http", "wss": "https"}.get(target.scheme or "", target.scheme)


def check_timeout(timeout: float | None, default: float) -> float:
    if timeout is None:
        return default
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_TIMEOUT:
        raise BindscopeError(f"--timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}")
    return float(timeout)


def probe_target(target: Target, *, timeout: float = DEFAULT_TIMEOUT) -> pc.ProbeReport:
    """Resolve, connect to every address (concurrently), check the application; the verdict and next steps."""
    assert target.port is not None
    port, scheme = target.port, _scheme(target)
    header = host_header(target, port)
    resolution = resolve_host(target)
    sni = target.name if target.kind == "name" else None
    shown_host = target.host_text

    async def one(address: str) -> pc.AddressResult:
        fam, make = _sockaddr(address)
        sockaddr = make(port)
        sock, cls, err, ms = await _connect(fam, sockaddr, timeout)
        app = detail = None
        if sock is not None:
            cls, app, detail = await _app_check(
                fam, sockaddr, sock, scheme=scheme, host_header=header, sni=sni, timeout=timeout
            )
        return pc.address_result(
            address, port, cls, errno_text=err, elapsed_ms=ms, app=app, host=shown_host, scheme=scheme, detail=detail
        )

    async def main() -> list[pc.AddressResult]:
        return list(await asyncio.gather(*(one(a) for a in resolution.addresses)))

    results = _run(main()) if resolution.addresses else []
    return pc.probe_report(
        target=target.raw,
        host=shown_host,
        port=port,
        scheme=scheme,
        host_header=header,
        timeout=timeout,
        resolution=resolution,
        results=results,
    )


# -- many ports ------------------------------------------------------------------------------------------
def _fd_budget(concurrency: int) -> int:
    """At most `concurrency` sockets at once, and never more than the open-file limit allows (on Windows
    the selector loop's select() takes at most 512 sockets)."""
    if sys.platform == "win32":
        return max(1, min(concurrency, 400))
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return concurrency
    if soft == resource.RLIM_INFINITY:
        return concurrency
    return max(1, min(concurrency, soft - 64))


def scan_ports(
    target: Target,
    ports: tuple[int, ...],
    *,
    timeout: float = DEFAULT_SCAN_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    http: bool = False,
) -> pc.ScanReport:
    """Connect to every port of every address of the target, `concurrency` at a time, each with `timeout`;
    with `http`, the application check on each open port."""
    resolution = resolve_host(target)
    budget = _fd_budget(concurrency)
    scheme = _scheme(target)
    sni = target.name if target.kind == "name" else None

    async def main() -> tuple[list[pc.ScanAddress], float]:
        plans = [(address, *_sockaddr(address)) for address in resolution.addresses]
        jobs = [(i, port) for i in range(len(plans)) for port in ports]
        done: list[tuple[int, str, str | None, float, pc.AppCheck | None]] = [(0, "", None, 0.0, None)] * len(jobs)
        queue = iter(enumerate(jobs))

        async def worker() -> None:  # a fixed pool of workers pulls from one iterator: `budget` sockets at most
            for slot, (plan, port) in queue:
                _address, fam, make = plans[plan]
                sockaddr = make(port)
                sock, cls, err, ms = await _connect(fam, sockaddr, timeout)
                app = None
                if sock is not None:
                    if http:
                        header = host_header(target, port)
                        cls, app, _ = await _app_check(
                            fam, sockaddr, sock, scheme=scheme, host_header=header, sni=sni, timeout=timeout
                        )
                    else:
                        _close(sock)
                done[slot] = (port, cls, err, ms, app)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(min(budget, len(jobs)))))
        elapsed = (time.perf_counter() - start) * 1000
        out = []
        for i, (address, _fam, _make) in enumerate(plans):
            rows = done[i * len(ports) : (i + 1) * len(ports)]
            opened = tuple(pc.OpenPort(port, ms, app) for port, cls, _err, ms, app in rows if cls == pc.OPEN)
            closed: dict[str, list[int]] = {}
            errnos: dict[str, int] = {}
            for port, cls, err, _ms, _app in rows:
                if cls == pc.OPEN:
                    continue
                closed.setdefault(cls, []).append(port)
                if cls == pc.ERROR:
                    errnos[err or "?"] = errnos.get(err or "?", 0) + 1
            family = "ipv6" if ":" in address else "ipv4"
            out.append(pc.ScanAddress(address, family, opened, {k: tuple(v) for k, v in closed.items()}, errnos))
        return out, elapsed

    addresses, elapsed = _run(main()) if resolution.addresses else ([], 0.0)
    return pc.scan_report(
        target=target.raw,
        host=target.host_text,
        ports=ports,
        timeout=timeout,
        concurrency=budget,
        http=http,
        elapsed_ms=elapsed,
        resolution=resolution,
        addresses=addresses,
    )
