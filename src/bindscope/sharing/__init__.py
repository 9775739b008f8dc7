"""`bindscope share`: the relay (I/O), in a package not named `share` so that `bindscope.share()`
stays the public function. The plan (what, where, who) is analyze/share.py."""

from __future__ import annotations

import errno
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from ..analyze.share import SharePlan
from ..errors import ShareRefused
from .relay import Relay, RelayConfig

__all__ = ["Share", "start"]


class Share:
    """A bound share: `url` is what to open on the other device; `run()` serves until the
    deadline, `stop()` or (with signals=True, main thread) Ctrl-C / SIGTERM."""

    def __init__(self, plan: SharePlan, relay: Relay, token: str | None, deadline: float, note: str | None):
        self.plan = plan
        self.relay = relay
        self.token = token
        self.deadline = deadline
        self.note = note
        self.reason: str | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.relay.address

    @property
    def port(self) -> int:
        return self.relay.address[1]

    @property
    def url(self) -> str:
        return self.plan.url(self.token, self.port)

    def to_dict(self) -> dict[str, Any]:
        data = self.plan.to_dict()
        data.update(
            url=self.url,
            listen=self.plan.to_dict()["listen"].rsplit(":", 1)[0] + f":{self.port}",
            expires_at=time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.deadline)),
            deadline=round(self.deadline, 3),
        )
        if self.note:
            data["notes"] = [*data["notes"], self.note]
        return data

    def run(self, *, signals: bool = False, workers: int = 1) -> str:
        """Serve (blocks). workers > 1 forks that many relay processes (not from a program with threads)."""
        self.reason = self.relay.run(signals=signals, workers=workers)
        return self.reason

    def start(self) -> Share:
        """Serve in a background thread (library use); `stop()` ends it."""
        self._thread = threading.Thread(target=self.run, name="bindscope-share", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.relay.stop("stopped")
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> Share:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self.stop()
        else:
            self.relay.close()


def start(
    plan: SharePlan,
    *,
    log: Callable[[dict[str, Any]], None],
    flush: Callable[[], None] | None = None,
    token: str | None = None,
    header_timeout: float = 10.0,
) -> Share:
    """Bind the relay of a plan (not yet serving)."""
    if plan.mode == "http" and token is None:
        token = secrets.token_urlsafe(18)
    deadline = time.time() + plan.seconds
    note = None

    def config(port: int) -> RelayConfig:
        return RelayConfig(
            listen=(plan.listen_address, port),
            upstream=(plan.upstream, plan.port),
            mode=plan.mode,
            allowed=plan.networks,
            deadline=deadline,
            token=token,
            cookie=f"bindscope_share_{port}",
            host_header=plan.host_header,
            header_timeout=header_timeout,
        )

    try:
        relay = Relay(config(plan.listen_port), log, flush=flush)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or plan.listen_port == 0:
            raise ShareRefused(f"cannot listen on {plan.to_dict()['listen']}: {exc.strerror or exc}") from None
        try:  # the same port number is taken on that address: any free one
            relay = Relay(config(0), log, flush=flush)
        except OSError as exc2:
            raise ShareRefused(f"cannot listen on {plan.listen_address}: {exc2.strerror or exc2}") from None
        note = f"port {plan.listen_port} is taken on {plan.listen_address}: listening on {relay.address[1]} instead"
    if relay.address[1] != plan.listen_port and plan.mode == "http":
        # the cookie is named after the port the client sees
        relay.cookie = f"bindscope_share_{relay.address[1]}".encode()
    return Share(plan, relay, token, deadline, note)
