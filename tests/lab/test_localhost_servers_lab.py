"""What real servers bind when told 'localhost', with localhost resolving to ::1 first
(Fedora-style /etc/hosts): the facts explain's localhost note states, checked with real
software in the laptop namespace and read back through `bindscope port --json`."""

from __future__ import annotations

import shutil
import sys

import pytest

pytestmark = pytest.mark.lab

HOSTS = "::1 localhost\n127.0.0.1 localhost\n"


def _bound(lab, port: int) -> list[str]:
    data = lab.bindscope_json("laptop", "port", str(port), expect_rc=1)  # in use
    return sorted(h["address"] for h in data["holders"])


def _predicted(lab, style: str) -> list[str]:
    """What `bindscope explain localhost` predicts a server of this style binds."""
    return sorted(lab.bindscope_json("laptop", "explain", "localhost")["name_binds"][style])


def _start(lab, argv: list[str]) -> int:
    lab.netns_hosts("laptop", HOSTS)
    port = lab.port()
    argv = [a.replace("{port}", str(port)) for a in argv]
    lab.wait_listening("laptop", port, lab.spawn("laptop", argv))
    return port


def test_http_server_binds_the_first_answer_of_either_family(lab):
    port = _start(lab, [sys.executable, "-m", "http.server", "--bind", "localhost", "{port}"])
    assert _bound(lab, port) == _predicted(lab, "first_answer") == ["::1"]


ASYNCIO = """
import asyncio, sys
async def main():
    srv = await asyncio.start_server(lambda r, w: None, 'localhost', int(sys.argv[1]))
    await asyncio.sleep(60)
asyncio.run(main())
"""

PLAIN_IPV4 = """
import socket, sys, time
s = socket.socket(socket.AF_INET)
s.bind(('localhost', int(sys.argv[1])))
s.listen()
time.sleep(60)
"""


def test_asyncio_create_server_binds_every_answer(lab):
    port = _start(lab, [sys.executable, "-c", ASYNCIO, "{port}"])
    assert _bound(lab, port) == _predicted(lab, "every_answer") == ["127.0.0.1", "::1"]


def test_plain_ipv4_socket_binds_the_first_ipv4_answer(lab):
    port = _start(lab, [sys.executable, "-c", PLAIN_IPV4, "{port}"])
    assert _bound(lab, port) == _predicted(lab, "first_ipv4") == ["127.0.0.1"]


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed (CI installs it)")
def test_node_listen_binds_the_first_answer_of_either_family(lab):
    port = _start(lab, ["node", "-e", "require('net').createServer().listen(+process.argv[1], 'localhost')", "{port}"])
    assert _bound(lab, port) == _predicted(lab, "first_answer") == ["::1"]
