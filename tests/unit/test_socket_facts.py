"""The facts explain's notes state about real servers, checked against the real software
through bindscope's own collector (loopback only)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink sock_diag is Linux-only")


def _listening(port: int) -> list:
    from bindscope.collect.linux import listeners

    return [item for item in listeners(("tcp",))[0] if item.port == port]


@linux
def test_asyncio_create_server_sets_v6only_on_ipv6_sockets() -> None:
    async def run() -> list:
        srv = await asyncio.start_server(lambda r, w: None, host="::1", port=0)
        try:
            return _listening(srv.sockets[0].getsockname()[1])
        finally:
            srv.close()
            await srv.wait_closed()

    found = asyncio.run(run())
    assert [(item.address, item.v6only) for item in found] == [("::1", True)]


@linux
def test_http_server_on_wildcard_v6_is_dual_stack() -> None:
    from bindscope.collect.bindprobe import can_bind

    port = next(p for p in range(38000, 38200) if can_bind("::", p, v6only=False))
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "::", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        found: list = []
        while time.monotonic() < deadline and not found:
            found = _listening(port)
            time.sleep(0.05)
        assert [(item.address, item.v6only) for item in found] == [("::", False)]
        assert proc.pid in found[0].pids
    finally:
        proc.kill()
        proc.wait()
