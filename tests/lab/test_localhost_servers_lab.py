"""What real servers bind when told 'localhost', with localhost resolving to ::1 first
(Fedora-style /etc/hosts): the facts explain's localhost note states, checked with real
software in the laptop namespace and read back through `bindscope port --json`."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

pytestmark = pytest.mark.lab

HOSTS = "::1 localhost\n127.0.0.1 localhost\n"


def _bound(lab, port: int) -> list[str]:
    out = lab.bindscope("laptop", "port", str(port), "--json")
    assert out.returncode == 1, out.stderr  # in use
    return sorted(h["address"] for h in json.loads(out.stdout)["holders"])


def _predicted(lab, style: str) -> list[str]:
    """What `bindscope explain localhost` predicts a server of this style binds."""
    out = lab.bindscope("laptop", "explain", "localhost", "--json")
    assert out.returncode == 0, out.stderr
    return sorted(json.loads(out.stdout)["name_binds"][style])


def test_http_server_binds_the_first_answer_of_either_family(lab):
    lab.netns_hosts("laptop", HOSTS)
    port = lab.port()
    proc = lab.spawn("laptop", [sys.executable, "-m", "http.server", "--bind", "localhost", str(port)])
    lab.wait_listening("laptop", port, proc)
    assert _bound(lab, port) == _predicted(lab, "first_answer") == ["::1"]


def test_asyncio_create_server_binds_every_answer(lab):
    lab.netns_hosts("laptop", HOSTS)
    port = lab.port()
    code = (
        "import asyncio\n"
        "async def main():\n"
        f"    srv = await asyncio.start_server(lambda r, w: None, 'localhost', {port})\n"
        "    print('ready', flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    proc = lab.spawn("laptop", [sys.executable, "-c", code])
    lab.wait_listening("laptop", port, proc)
    assert _bound(lab, port) == _predicted(lab, "every_answer") == ["127.0.0.1", "::1"]


def test_plain_ipv4_socket_binds_the_first_ipv4_answer(lab):
    lab.netns_hosts("laptop", HOSTS)
    port = lab.port()
    code = (
        "import socket, time\n"
        "s = socket.socket(socket.AF_INET)\n"
        f"s.bind(('localhost', {port})); s.listen()\n"
        "time.sleep(60)\n"
    )
    proc = lab.spawn("laptop", [sys.executable, "-c", code])
    lab.wait_listening("laptop", port, proc)
    assert _bound(lab, port) == _predicted(lab, "first_ipv4") == ["127.0.0.1"]


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed (CI installs it)")
def test_node_listen_binds_the_first_answer_of_either_family(lab):
    lab.netns_hosts("laptop", HOSTS)
    port = lab.port()
    proc = lab.spawn("laptop", ["node", "-e", f"require('net').createServer().listen({port}, 'localhost')"])
    lab.wait_listening("laptop", port, proc)
    assert _bound(lab, port) == _predicted(lab, "first_answer") == ["::1"]
