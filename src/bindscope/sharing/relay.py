"""The share relay: accept on the LAN address, refuse clients outside the allowed subnets, and
relay bytes to the loopback server (`--tcp`), or check and log every HTTP request first (`--http`,
sharing/http.py). One process, one edge-triggered epoll loop (sharing/loop.py), non-blocking sockets.

TCP mode moves bytes with splice(2) through a pipe per direction (created on first data: an idle
connection holds no pipe), so bulk data never enters Python. The relay changes nothing else on the
machine: it opens one listening socket and the connections it relays.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .loop import ERR, EXCLUSIVE, HUP, IN, OUT, RDHUP, Loop, Timer, raise_fd_limit, set_pipe_size

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Log = Callable[[dict[str, Any]], None]

CHUNK = 1 << 20  # splice length and pipe size (fs.pipe-max-size default)
SPLICE_FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
FORCE = RDHUP  # "read until EAGAIN": passed when resuming after back-pressure
ACCEPT_BATCH = 64


@dataclass(frozen=True)
class RelayConfig:
    listen: tuple[str, int]  # address, port (0: any free port)
    upstream: tuple[str, int]  # the loopback server
    mode: str = "tcp"  # tcp | http
    allowed: tuple[Network, ...] | None = ()  # None: every client (--allow any)
    deadline: float | None = None  # time.time() when the share expires
    token: str | None = None  # http: the secret in the URL
    cookie: str = "bindscope_share"  # http: the cookie the token becomes
    host_header: str | None = None  # http: Host sent upstream
    header_timeout: float = 10.0  # http: a request head must arrive within this (slowloris)
    idle_timeout: float = 75.0  # http: keep-alive connection idle between requests
    connect_timeout: float = 5.0  # upstream connect


class Relay:
    """A bound relay. `run()` serves until expiry, `stop()` (any thread) or SIGINT/SIGTERM
    (`signals=True`, main thread); then every socket it opened is closed."""

    def __init__(self, config: RelayConfig, log: Log, *, flush: Callable[[], None] | None = None):
        self.config = config
        self.log = log
        self.loop = Loop()
        if flush is not None:
            self.loop.after_batch.append(flush)
        # one call per HTTP request: the writer's fast path when it has one (render/share.LogWriter)
        self.log_request: Callable[..., None] = getattr(log, "request", None) or self._log_request
        self.conns: set[Any] = set()
        self.accepted = 0
        self.refused = 0
        self.fd_limit = raise_fd_limit()
        self._allowed_cache: dict[str, bool] = {}
        self.lsock = _listen(*config.listen)
        self.address: tuple[str, int] = self.lsock.getsockname()[:2]
        self._upstream_family = socket.AF_INET6 if ":" in config.upstream[0] else socket.AF_INET
        self._paused: Timer | None = None
        self.upstream_text = _hostport(config.upstream)
        self.loop.on_error = self._handler_failed
        # --http: connections whose request head is due, swept twice a second
        self.heads: set[Any] = set()
        self.idle_timeout = config.idle_timeout
        # --http: connections with small writes gathered during the loop's pass, sent at its end
        self.pending: list[Any] = []
        if config.mode == "http":
            self.loop.after_batch.insert(0, self.flush_writes)
        self.token = (config.token or "").encode()
        self.cookie = config.cookie.encode()
        self.host_header = config.host_header.encode() if config.host_header else None
        if config.mode == "http":
            from .http import HttpConn

            self._conn_class: Any = HttpConn
        else:
            self._conn_class = TcpConn

    def _log_request(
        self, ip: str, port: int, line: str, status: int, bytes_in: int, bytes_out: int, ms: float, note: str | None
    ) -> None:
        self.log(request_event(ip, port, line, status, bytes_in, bytes_out, ms, note))

    def _handler_failed(self, handler: Any, exc: Exception) -> None:
        """A bug met one connection: log it, close that connection, keep serving the others."""
        owner = getattr(handler, "__self__", None)
        self.log({"event": "error", "error": f"internal error: {type(exc).__name__}: {exc}"})
        if owner is not None and owner is not self and hasattr(owner, "close"):
            owner.close("internal error")

    def cookie_max_age(self) -> int:
        if self.config.deadline is None:
            return 86400
        return max(1, int(self.config.deadline - time.time()))

    def flush_writes(self) -> None:
        """The end of the loop's pass: each connection sends what it gathered, one send(2) per socket
        and direction however many requests or responses it holds (a keep-alive client's next
        request and the server's next response then come in one wake-up for many connections)."""
        while self.pending:
            pending, self.pending = self.pending, []
            for conn in pending:
                conn.write_pending()

    def _sweep(self) -> None:
        now = time.monotonic()
        for conn in [c for c in self.heads if c.deadline <= now]:
            conn.timeout()
        self.loop.call_later(0.5, self._sweep)

    # -- lifetime ------------------------------------------------------------------------------
    def run(self, *, signals: bool = False, workers: int = 1) -> str:
        """Serve until the deadline, stop() or a signal. workers > 1: that many processes share
        the listening socket (forked here; the kernel spreads the connections), so that the relay
        gets more than one core's share of a busy machine; each one logs its own events."""
        children: list[tuple[int, int]] = []  # (pid, read end of its counts pipe)
        child_pipe = -1
        for _ in range(max(1, workers) - 1):
            r, w = os.pipe2(os.O_CLOEXEC)
            pid = os.fork()
            if pid == 0:
                os.close(r)
                for _pid, other in children:
                    os.close(other)
                children = []
                child_pipe = w
                _die_with_parent()
                self.loop = self.loop.fork()
                break
            os.close(w)
            children.append((pid, r))
        loop = self.loop
        if signals:
            loop.catch_signals()
        loop.add(self.lsock.fileno(), self._on_accept, IN | EXCLUSIVE)
        if self.config.deadline is not None:
            loop.call_later(max(0.0, self.config.deadline - time.time()), lambda: loop.stop("expired"))
        if self.config.mode == "http":
            loop.call_later(0.5, self._sweep)
        reason = "stopped"
        try:
            reason = loop.run()
        finally:
            self._shutdown()
            if child_pipe >= 0:  # a worker: report to the first process, never return to the caller
                with contextlib.suppress(OSError):
                    os.write(child_pipe, f"{self.accepted} {self.refused}".encode())
                os._exit(0)
        accepted, refused = self.accepted, self.refused
        for pid, _r in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid, r in children:
            _reap(pid)
            with contextlib.suppress(OSError, ValueError):
                a, f = os.read(r, 64).split()
                accepted += int(a)
                refused += int(f)
            os.close(r)
        self.log({"event": "stopped", "reason": reason, "accepted": accepted, "refused": refused})
        for fn in self.loop.after_batch:
            fn()
        return reason

    def stop(self, reason: str = "stopped") -> None:
        self.loop.stop(reason)

    def _shutdown(self) -> None:
        lfd = self.lsock.fileno()
        if lfd >= 0:
            self.loop.forget(lfd)
        self.lsock.close()  # first: no new client from the deadline on
        for conn in list(self.conns):
            conn.close("relay stopped")
        self.loop.close()

    def close(self) -> None:
        """Close the listener without running (a relay that was never run)."""
        if self.lsock.fileno() >= 0:
            self.lsock.close()
            self.loop.close()

    # -- accepting -----------------------------------------------------------------------------
    def allowed(self, ip: str) -> bool:
        cached = self._allowed_cache.get(ip)
        if cached is not None:
            return cached
        nets = self.config.allowed
        if nets is None:
            ok = True
        else:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
            if addr.version == 6 and addr.ipv4_mapped is not None:
                addr = addr.ipv4_mapped
            ok = any(addr.version == n.version and addr in n for n in nets)
        if len(self._allowed_cache) > 4096:
            self._allowed_cache.clear()
        self._allowed_cache[ip] = ok
        return ok

    def _on_accept(self, _events: int) -> None:
        lsock = self.lsock
        for _ in range(ACCEPT_BATCH):
            try:
                sock, addr = lsock.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self._pause_accepting(exc)
                return
            ip = addr[0]
            if ip.startswith("::ffff:") and "." in ip:
                ip = ip[7:]
            if not self.allowed(ip):
                sock.close()
                self.refused += 1
                self.log({"event": "refused", "client": ip, "client_port": addr[1], "reason": "not in --allow"})
                continue
            self.accepted += 1
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._conn_class(self, sock, ip, addr[1])
            except OSError as exc:
                sock.close()
                self.log({"event": "error", "client": ip, "error": exc.strerror or str(exc)})

    def _pause_accepting(self, exc: OSError) -> None:
        """Out of descriptors: stop accepting for 100 ms instead of spinning on the listener."""
        if self._paused is not None:
            return
        lfd = self.lsock.fileno()
        self.loop.remove(lfd)
        self.log({"event": "error", "error": f"accept: {exc.strerror}; pausing 100 ms"})

        def resume() -> None:
            self._paused = None
            if self.lsock.fileno() >= 0:
                self.loop.add(lfd, self._on_accept, IN)

        self._paused = self.loop.call_later(0.1, resume)

    def connect_upstream(self) -> socket.socket:
        """A non-blocking connect to the loopback server (in progress when returned)."""
        sock = socket.socket(self._upstream_family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code = sock.connect_ex(self.config.upstream)
            if code not in (0, errno.EINPROGRESS):
                raise OSError(code, os.strerror(code))
        except OSError:
            sock.close()
            raise
        return sock


def _die_with_parent() -> None:
    """A worker gets SIGTERM when the first process dies, however it dies."""
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _reap(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError, ChildProcessError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def request_event(
    ip: str, port: int, line: str, status: int, bytes_in: int, bytes_out: int, ms: float, note: str | None
) -> dict[str, Any]:
    """The log event of one HTTP request (--http)."""
    event: dict[str, Any] = {
        "event": "request",
        "client": ip,
        "client_port": port,
        "request": line,
        "status": status,
        "bytes_in": bytes_in,
        "bytes_out": bytes_out,
        "ms": ms,
    }
    if note:
        event["note"] = note
    return event


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if host == "::" else 1)
        sockaddr = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)[0][4]
        sock.bind(sockaddr)
        sock.listen(4096)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Pump:
    """One direction of a TCP relay: src -> dst through a pipe, with splice(2)."""

    __slots__ = ("conn", "count", "dfd", "done", "eof", "in_pipe", "pr", "pw", "sfd", "shut")

    def __init__(self, conn: TcpConn, sfd: int):
        self.conn = conn
        self.sfd = sfd
        self.dfd = -1
        self.pr = self.pw = -1
        self.in_pipe = 0
        self.count = 0
        self.eof = False
        self.done = False
        self.shut: Callable[[], None] | None = None

    def pull(self, events: int) -> None:
        """src is readable (or resumed): move what it has to dst, until dst is full or src is dry."""
        if self.in_pipe or self.eof or self.dfd < 0:
            return
        if self.pw < 0:
            self.pr, self.pw = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            set_pipe_size(self.pw, CHUNK)
        sfd, dfd, pr, pw = self.sfd, self.dfd, self.pr, self.pw
        splice = os.splice
        drain = events & (RDHUP | HUP | ERR)
        while True:
            try:
                n = splice(sfd, pw, CHUNK, flags=SPLICE_FLAGS)
            except BlockingIOError:
                return
            except OSError as exc:
                self.conn.abort(exc)
                return
            if n == 0:
                self._eof()
                return
            self.count += n
            left = n
            while left:
                try:
                    left -= splice(pr, dfd, left, flags=SPLICE_FLAGS)
                except BlockingIOError:
                    self.in_pipe = left
                    return  # dst full: its EPOLLOUT edge calls push()
                except OSError as exc:
                    self.conn.abort(exc)
                    return
            if n < CHUNK and not drain:
                return

    def push(self) -> None:
        """dst became writable: drain the pipe, then read src again."""
        if not self.in_pipe:
            return
        try:
            while self.in_pipe:
                self.in_pipe -= os.splice(self.pr, self.dfd, self.in_pipe, flags=SPLICE_FLAGS)
        except BlockingIOError:
            return
        except OSError as exc:
            self.conn.abort(exc)
            return
        if self.eof:
            self._finish()
        else:
            self.pull(FORCE)

    def _eof(self) -> None:
        self.eof = True
        if not self.in_pipe:
            self._finish()

    def _finish(self) -> None:
        self.done = True
        if self.shut is not None:
            self.shut()
        self.conn.check_done()

    def close_pipe(self) -> None:
        if self.pw >= 0:
            os.close(self.pr)
            os.close(self.pw)
            self.pr = self.pw = -1


class TcpConn:
    """A client and its upstream connection, relayed byte for byte (half-close kept)."""

    __slots__ = (
        "client",
        "closed",
        "connected",
        "down",
        "ip",
        "port",
        "relay",
        "started",
        "timer",
        "up",
        "upstream",
    )

    def __init__(self, relay: Relay, client: socket.socket, ip: str, port: int):
        self.relay = relay
        self.client = client
        self.ip = ip
        self.port = port
        self.started = time.monotonic()
        self.closed = False
        self.connected = False
        self.up = Pump(self, client.fileno())
        self.upstream: socket.socket | None = None
        self.down: Pump | None = None
        self.timer: Timer | None = None
        relay.conns.add(self)
        loop = relay.loop
        loop.add(client.fileno(), self._on_client)
        try:
            self.upstream = up = relay.connect_upstream()
        except OSError as exc:
            self.abort(exc)
            return
        self.down = Pump(self, up.fileno())
        self.up.dfd = up.fileno()
        self.down.dfd = client.fileno()
        self.up.shut = self._shut_upstream
        self.down.shut = self._shut_client
        loop.add(up.fileno(), self._on_upstream_connect)
        self.timer = loop.call_later(relay.config.connect_timeout, self._connect_timeout)
        relay.log({"event": "open", "client": ip, "client_port": port})

    def _connect_timeout(self) -> None:
        self.timer = None
        if not self.connected:
            self.abort(TimeoutError(errno.ETIMEDOUT, "upstream connect timed out"))

    def _on_upstream_connect(self, events: int) -> None:
        up = self.upstream
        if up is None:
            return
        code = up.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self.abort(OSError(code, os.strerror(code)))
            return
        if not events & OUT:  # connect still in progress
            return
        self.connected = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.relay.loop.handlers[up.fileno()] = self._on_upstream
        self.up.pull(FORCE)
        if self.down is not None:
            self.down.pull(FORCE)

    def _on_client(self, events: int) -> None:
        if events & OUT and self.down is not None:
            self.down.push()
        if events & ~OUT and not self.closed and self.connected:
            self.up.pull(events)

    def _on_upstream(self, events: int) -> None:
        if events & OUT:
            self.up.push()
        if events & ~OUT and not self.closed and self.down is not None:
            self.down.pull(events)

    def _shut_upstream(self) -> None:
        if self.upstream is not None:
            with contextlib.suppress(OSError):
                self.upstream.shutdown(socket.SHUT_WR)

    def _shut_client(self) -> None:
        with contextlib.suppress(OSError):
            self.client.shutdown(socket.SHUT_WR)

    def check_done(self) -> None:
        if self.up.done and self.down is not None and self.down.done:
            self.close(None)

    def abort(self, exc: BaseException) -> None:
        error = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        self.close(error)

    def close(self, error: str | None) -> None:
        if self.closed:
            return
        self.closed = True
        relay = self.relay
        relay.conns.discard(self)
        if self.timer is not None:
            self.timer.cancel()
        for sock in (self.client, self.upstream):
            if sock is not None:
                fd = sock.fileno()
                if fd >= 0:
                    relay.loop.forget(fd)
                sock.close()
        self.up.close_pipe()
        if self.down is not None:
            self.down.close_pipe()
        event: dict[str, Any] = {
            "event": "close",
            "client": self.ip,
            "client_port": self.port,
            "bytes_in": self.up.count,
            "bytes_out": self.down.count if self.down is not None else 0,
            "seconds": round(time.monotonic() - self.started, 3),
        }
        if error:
            connected = self.connected or error == "relay stopped"
            event["error"] = error if connected else f"upstream {_hostport(relay.config.upstream)}: {error}"
        relay.log(event)


def _hostport(addr: Sequence[Any]) -> str:
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
