"""The Linux collector on this real machine (loopback only): real listening sockets must come back
with the right address, port, family, IPV6_V6ONLY, inode, uid and owner; the netlink and /proc
paths must agree; routes and interfaces must agree with iproute2."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux collector (netlink, /proc, /sys)")

HAS_V6 = socket.has_ipv6 and os.path.exists("/proc/net/if_inet6")
needs_v6 = pytest.mark.skipif(not HAS_V6, reason="IPv6 is disabled on this machine")
needs_ip = pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 'ip' is not installed")


class Opened:
    """One real socket we opened, and what the collector should say about it."""

    def __init__(self, sock: socket.socket, proto: str, address: str, family: str, v6only: bool | None):
        self.sock = sock
        self.proto = proto
        self.address = address
        self.family = family
        self.v6only = v6only
        self.port = sock.getsockname()[1]
        self.inode = os.fstat(sock.fileno()).st_ino

    def __repr__(self) -> str:
        return f"<{self.proto} {self.address} {self.port} v6only={self.v6only} inode={self.inode}>"


def _open(fam: int, kind: int, address: str, v6only: bool | None = None) -> socket.socket:
    sock = socket.socket(fam, kind)
    if v6only is not None:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    sock.bind((address, 0))  # the kernel picks a free port
    if kind == socket.SOCK_STREAM:
        sock.listen(8)
    return sock


@pytest.fixture
def opened() -> Iterator[list[Opened]]:
    socks: list[Opened] = []
    with contextlib.ExitStack() as stack:

        def add(fam: int, kind: int, address: str, family: str, v6only: bool | None = None) -> None:
            sock = stack.enter_context(_open(fam, kind, address, v6only))
            proto = "tcp" if kind == socket.SOCK_STREAM else "udp"
            socks.append(Opened(sock, proto, address, family, v6only))

        add(socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1", "ipv4")
        add(socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1", "ipv4")
        if HAS_V6:
            add(socket.AF_INET6, socket.SOCK_STREAM, "::1", "ipv6", v6only=True)
            # a dual-stack wildcard socket: it listens on every address, but nothing ever
            # connects to it; the test only reads the kernel's socket table
            add(socket.AF_INET6, socket.SOCK_STREAM, "::", "ipv6", v6only=False)
            add(socket.AF_INET6, socket.SOCK_DGRAM, "::1", "ipv6", v6only=True)
        yield socks


def _by_inode(items) -> dict[int, object]:
    return {item.inode: item for item in items}


def test_listeners_report_our_sockets(opened):
    from bindscope.collect.linux import listeners

    found, _unknown = listeners(("tcp", "udp"))
    index = _by_inode(found)
    for mine in opened:
        assert mine.inode in index, f"{mine} missing from the collector's listeners"
        got = index[mine.inode]
        assert (got.proto, got.address, got.port, got.family) == (mine.proto, mine.address, mine.port, mine.family)
        if mine.family == "ipv6":
            assert got.v6only is mine.v6only, (mine, got)
        assert got.uid == os.geteuid()
        assert os.getpid() in got.pids
        assert got.cmdline and got.process  # our own /proc entry is readable
        with open(f"/proc/{os.getpid()}/comm") as fh:
            assert got.process == fh.read().strip()


def test_listeners_see_a_socket_closing(opened):
    from bindscope.collect.linux import listeners

    victim = opened[0]
    victim.sock.close()
    found, _ = listeners(("tcp", "udp"))
    assert victim.inode not in _by_inode(found)
    assert all(o.inode in _by_inode(found) for o in opened[1:])


def test_listeners_filter_by_protocol(opened):
    from bindscope.collect.linux import listeners

    tcp_only, _ = listeners(("tcp",))
    assert {item.proto for item in tcp_only} <= {"tcp"}
    inodes = _by_inode(tcp_only)
    for mine in opened:
        assert (mine.inode in inodes) == (mine.proto == "tcp"), mine


def test_connected_udp_socket_is_not_a_listener(opened):
    from bindscope.collect.linux import listeners

    server = next(o for o in opened if o.proto == "udp" and o.family == "ipv4")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.bind(("127.0.0.1", 0))
        client.connect(("127.0.0.1", server.port))  # UDP connect: no packet is sent
        inode = os.fstat(client.fileno()).st_ino
        found, _ = listeners(("udp",))
    assert inode not in _by_inode(found)
    assert server.inode in _by_inode(found)


def test_netlink_and_procfs_agree(opened):
    from bindscope.collect import sockdiag

    netlink = sockdiag.listeners_netlink(("tcp", "udp"))
    procfs = sockdiag.listeners_procfs(("tcp", "udp"))
    netlink_after = sockdiag.listeners_netlink(("tcp", "udp"))

    def key(rows):
        return {(r[0], r[1].split("%")[0], r[2], r[5]) for r in rows}

    mine = {(o.proto, o.address, o.port, o.inode) for o in opened}
    assert mine <= key(netlink)
    assert mine <= key(procfs)
    # the whole table, not only ours; a socket of another process may come or go between the
    # reads, so: what both netlink reads saw, /proc saw too, and /proc saw nothing netlink missed
    stable = key(netlink) & key(netlink_after)
    assert stable <= key(procfs)
    assert key(procfs) <= key(netlink) | key(netlink_after)
    # /proc/net has no IPV6_V6ONLY: only netlink knows it
    assert all(r[4] is None for r in procfs)
    for o in opened:
        if o.family == "ipv6":
            row = next(r for r in netlink if r[5] == o.inode)
            assert row[4] is o.v6only
        uid_nl = next(r[6] for r in netlink if r[5] == o.inode)
        uid_pf = next(r[6] for r in procfs if r[5] == o.inode)
        assert uid_nl == uid_pf == os.geteuid()


def test_owners_maps_inodes_to_pids(opened):
    from bindscope.collect import sockdiag

    found = sockdiag.owners({o.inode for o in opened})
    for o in opened:
        assert found.get(o.inode) == [os.getpid()]
    # an inode no process holds maps to nothing
    missing = sockdiag.owners({2**62})
    assert missing == {}


# -- routes --------------------------------------------------------------------------------------------
def _ip_json(*args: str) -> list[dict]:
    proc = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, timeout=30, check=True)
    return json.loads(proc.stdout or "[]")


def _norm_dst(dst: str, fam: int) -> str:
    if dst == "default":
        return "0.0.0.0/0" if fam == 4 else "::/0"
    return str(ipaddress.ip_network(dst, strict=False))


def _main_unicast(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("type", "unicast") == "unicast" and "dev" in r and "nexthops" not in r]


def _read_lines(path: str) -> list[str]:
    with open(path) as fh:
        return fh.read().splitlines()


@needs_ip
def test_parse_route_v4_agrees_with_ip_route():
    from bindscope.collect.linux import parse_route_v4

    parsed = list(parse_route_v4(_read_lines("/proc/net/route")[1:]))
    want = _main_unicast(_ip_json("route", "show", "table", "main"))
    got = {(r.destination, r.interface, r.gateway) for r in parsed}
    for r in want:
        assert (_norm_dst(r["dst"], 4), r["dev"], r.get("gateway")) in got, r
    ip_default = [r for r in want if r["dst"] == "default"]
    ours = [r for r in parsed if r.is_default]
    assert {(r["dev"], r.get("gateway")) for r in ip_default} == {(r.interface, r.gateway) for r in ours}
    for r in parsed:
        assert r.family == "ipv4" and ipaddress.ip_network(r.destination).version == 4


@needs_ip
@needs_v6
def test_parse_route_v6_agrees_with_ip_route():
    from bindscope.collect.linux import parse_route_v6

    parsed = list(parse_route_v6(_read_lines("/proc/net/ipv6_route")))
    want = _main_unicast(_ip_json("-6", "route", "show", "table", "main"))
    got = {(r.destination, r.interface, r.gateway) for r in parsed}
    for r in want:
        if r["dev"] == "lo":
            continue
        assert (_norm_dst(r["dst"], 6), r["dev"], r.get("gateway")) in got, r
    ip_default = [r for r in want if r["dst"] == "default"]
    ours = [r for r in parsed if r.is_default]
    assert {(r["dev"], r.get("gateway")) for r in ip_default} <= {(r.interface, r.gateway) for r in ours}
    # the kernel's own-address (RTF_LOCAL), multicast and unreachable entries are left out
    for r in parsed:
        net = ipaddress.ip_network(r.destination)
        assert not net.is_multicast
        assert r.interface != "lo"
        assert not (net.prefixlen == 128 and any(net[0] == a for a in _local_v6())), r


def _local_v6() -> set[ipaddress.IPv6Address]:
    return {
        ipaddress.IPv6Address(bytes.fromhex(line.split()[0]))
        for line in _read_lines("/proc/net/if_inet6")
        if line.strip()
    }


@needs_ip
def test_snapshot_default_routes_match_ip_route():
    from bindscope.collect.linux import routes

    ours = {(r.family, r.interface, r.gateway) for r in routes() if r.is_default}
    v4 = {("ipv4", r["dev"], r.get("gateway")) for r in _ip_json("route", "show", "default")}
    assert v4 <= ours
    if HAS_V6:
        v6 = {("ipv6", r["dev"], r.get("gateway")) for r in _ip_json("-6", "route", "show", "default")}
        assert v6 <= ours


# -- interfaces ----------------------------------------------------------------------------------------
@needs_ip
def test_interfaces_agree_with_ip_addr():
    from bindscope.collect.linux import interfaces

    ours = {i.name: i for i in interfaces()}
    theirs = {row["ifname"]: row for row in _ip_json("addr", "show")}
    assert set(ours) == set(theirs)
    for name, row in theirs.items():
        want = {(a["local"], a["prefixlen"]) for a in row.get("addr_info", []) if a.get("family") in ("inet", "inet6")}
        got = {(a.address.split("%")[0], a.prefixlen) for a in ours[name].addresses}
        assert got == want, name
        assert ours[name].index == row["ifindex"]
        assert ours[name].up == ("UP" in row.get("flags", []))
        for a in ours[name].addresses:
            if a.ip.version == 6 and a.ip.is_link_local:
                assert a.address.endswith(f"%{name}")


@needs_ip
def test_snapshot_is_consistent_with_the_collectors(opened):
    from bindscope.collect import snapshot

    snap = snapshot(protos=("tcp", "udp"))
    assert snap.environment.platform == "linux" and snap.source == "live"
    assert {i.name for i in snap.interfaces} == {row["ifname"] for row in _ip_json("link", "show")}
    inodes = {item.inode for item in snap.listeners}
    assert {o.inode for o in opened} <= inodes
    assert snap.resolver.get("localhost")
    with open("/proc/sys/net/ipv6/bindv6only" if HAS_V6 else "/dev/null") as fh:
        text = fh.read().strip()
    if text:
        assert snap.environment.bindv6only == int(text)
    # and the live snapshot survives the JSON round trip that --from relies on
    from bindscope.model import Snapshot

    assert Snapshot.from_dict(json.loads(json.dumps(snap.to_dict()))) == snap
