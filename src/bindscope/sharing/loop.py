"""A small epoll loop for the share relay: edge-triggered file descriptors, timers, and a
wake-up pipe that signals and other threads write to.

Why not asyncio: the relay's work per event is one or two system calls; asyncio adds a Handle
object, a ready queue and an `epoll_ctl` per readiness change around each of them. Every fd here
is registered once, edge-triggered for reading and writing, and never modified again (see
docs/share.md, "How the relay works", and benchmarks/share.py for the measurement).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import select
import signal
import socket
import time
from collections.abc import Callable

IN = select.EPOLLIN
OUT = select.EPOLLOUT
RDHUP = select.EPOLLRDHUP
HUP = select.EPOLLHUP
ERR = select.EPOLLERR
EDGE = IN | OUT | RDHUP | select.EPOLLET
EXCLUSIVE = select.EPOLLEXCLUSIVE  # a listener shared by worker processes wakes one of them

Handler = Callable[[int], None]


class Timer:
    """A scheduled callback; `cancel()` makes it a no-op (it stays in the heap until due)."""

    __slots__ = ("callback", "when")

    def __init__(self, when: float, callback: Callable[[], None] | None):
        self.when = when
        self.callback = callback

    def cancel(self) -> None:
        self.callback = None


class Loop:
    def __init__(self) -> None:
        self.ep = select.epoll()
        self.handlers: dict[int, Handler] = {}
        self._timers: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self.stopping: str | None = None
        self.after_batch: list[Callable[[], None]] = []
        # called when a handler raises: the relay closes that connection and keeps serving
        self.on_error: Callable[[Handler, Exception], None] | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.ep.register(self._wake_r.fileno(), IN)
        self.handlers[self._wake_r.fileno()] = self._drain_wake
        self._old_signals: dict[int, object] = {}
        self._old_wakeup: int | None = None

    def fork(self) -> Loop:
        """In a forked child, before anything is registered: a loop of its own (the epoll set and
        wake-up sockets are the parent's), with the same hooks."""
        child = Loop()
        child.after_batch = list(self.after_batch)
        child.on_error = self.on_error
        self.ep.close()
        self._wake_r.close()
        self._wake_w.close()
        return child

    # -- file descriptors ---------------------------------------------------------------------
    def add(self, fd: int, handler: Handler, mask: int = EDGE) -> None:
        self.ep.register(fd, mask)
        self.handlers[fd] = handler

    def forget(self, fd: int) -> None:
        """Before closing fd: closing removes it from the epoll set; the handler goes here."""
        self.handlers.pop(fd, None)

    def remove(self, fd: int) -> None:
        self.handlers.pop(fd, None)
        with contextlib.suppress(OSError, ValueError):
            self.ep.unregister(fd)

    # -- timers -------------------------------------------------------------------------------
    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(when, callback)
        heapq.heappush(self._timers, (when, next(self._seq), timer))
        return timer

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return self.call_at(time.monotonic() + delay, callback)

    # -- stopping -----------------------------------------------------------------------------
    def stop(self, reason: str) -> None:
        """Stop the loop (from any thread, or a signal handler)."""
        if self.stopping is None:
            self.stopping = reason
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _drain_wake(self, _events: int) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def catch_signals(self) -> None:
        """SIGINT and SIGTERM stop the loop cleanly (main thread only)."""

        def handler(signum: int, _frame: object) -> None:
            self.stop("interrupted" if signum == signal.SIGINT else "terminated")

        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old_signals[sig] = signal.signal(sig, handler)
        self._old_wakeup = signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)

    def restore_signals(self) -> None:
        for sig, old in self._old_signals.items():
            signal.signal(sig, old)  # type: ignore[arg-type]
        self._old_signals.clear()
        if self._old_wakeup is not None:
            signal.set_wakeup_fd(self._old_wakeup)
            self._old_wakeup = None

    # -- running ------------------------------------------------------------------------------
    def run(self) -> str:
        poll = self.ep.poll
        handlers = self.handlers
        timers = self._timers
        after = self.after_batch
        monotonic = time.monotonic
        while self.stopping is None:
            timeout = -1.0
            if timers:
                timeout = max(0.0, timers[0][0] - monotonic())
            for fd, events in poll(timeout, 1024):
                handler = handlers.get(fd)
                if handler is not None:
                    try:
                        handler(events)
                    except Exception as exc:
                        if self.on_error is None:
                            raise
                        self.on_error(handler, exc)
            if timers:
                now = monotonic()
                while timers and timers[0][0] <= now:
                    timer = heapq.heappop(timers)[2]
                    if timer.callback is not None:
                        callback, timer.callback = timer.callback, None
                        callback()
            for fn in after:
                fn()
        return self.stopping

    def close(self) -> None:
        self.restore_signals()
        self.ep.close()
        self._wake_r.close()
        self._wake_w.close()
        self.handlers.clear()
        self._timers.clear()


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (1,000 connections need ~2,000 descriptors)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
        except (ValueError, OSError):
            return soft
    return soft


def set_pipe_size(fd: int, size: int) -> None:
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, 1031, size)  # F_SETPIPE_SZ
