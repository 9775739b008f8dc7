"""The lab itself works: when these fail, the bindscope lab tests say nothing about bindscope."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.lab

LAPTOP4, LAPTOP6 = "198.51.100.1", "fd42:b1d:0:1::1"


def test_topology_addresses(lab):
    assert {"127.0.0.1", "::1", LAPTOP4, LAPTOP6} <= set(lab.addresses("laptop"))
    assert any(a.startswith("fe80::") and "%" in a for a in lab.addresses("laptop"))
    assert {"198.51.100.2", "fd42:b1d:0:1::2"} <= set(lab.addresses("phone"))
    assert {"203.0.113.2", "fd42:b1d:0:2::2"} <= set(lab.addresses("stranger"))
    routes = lab.run("laptop", ["ip", "route", "show", "default"]).stdout
    assert "via 198.51.100.254" in routes
    routes6 = lab.run("laptop", ["ip", "-6", "route", "show", "default"]).stdout
    assert "via fd42:b1d:0:1::fe" in routes6


@pytest.mark.parametrize("bind", ["0.0.0.0", "::"])
def test_http_server_reachable_from_phone_and_stranger(lab, bind):
    port = lab.port()
    server = lab.spawn("laptop", [sys.executable, "-m", "http.server", "--bind", bind, str(port)])
    lab.wait_listening("laptop", port, proc=server)
    targets = [(LAPTOP4, port)] + ([(LAPTOP6, port)] if bind == "::" else [])
    for host in ("laptop", "phone", "stranger"):
        assert all(ok for ok, _ in lab.connect_many(host, targets)), host
    # a real HTTP request from the stranger, through the router
    code = f"import urllib.request, sys;print(urllib.request.urlopen('http://{LAPTOP4}:{port}/', timeout=5).status)"
    assert lab.run("stranger", [sys.executable, "-I", "-c", code]).stdout.strip() == "200"


def test_loopback_server_refuses_the_phone(lab):
    port = lab.port()
    server = lab.spawn("laptop", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)])
    lab.wait_listening("laptop", port, proc=server)
    assert lab.connect("laptop", "127.0.0.1", port)
    assert not lab.connect("phone", LAPTOP4, port)
    assert not lab.connect("stranger", LAPTOP4, port)
    assert not lab.connect("laptop", LAPTOP4, port)


def test_spawned_processes_are_stopped_by_reset(lab):
    port = lab.port()
    holder = lab.hold("laptop", [("::1", port, None)])
    assert lab.listening("laptop", port)
    lab.reset()
    assert holder.poll() is not None
    assert not lab.listening("laptop", port)


def test_netns_hosts_file(lab):
    lab.netns_hosts("laptop", "::1 localhost\n127.0.0.1 localhost\n")
    assert lab.run("laptop", ["cat", "/etc/hosts"]).stdout == "::1 localhost\n127.0.0.1 localhost\n"
    assert lab.getaddrinfo("laptop", "localhost")[0] == "::1"
    lab.reset()
    assert lab.run("laptop", ["cat", "/etc/hosts"]).stdout != "::1 localhost\n127.0.0.1 localhost\n"


def test_dns_stays_inside_the_lab(lab):
    # name lookups go to loopback in the namespace (refused at once), never to the machine's name server
    assert lab.run("laptop", ["cat", "/etc/resolv.conf"]).stdout.split("\n")[0] == "nameserver 127.0.0.1"


def test_lab_namespaces_exist_only_for_this_run(lab):
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for ns in lab.ns.values():
        assert ns in names
