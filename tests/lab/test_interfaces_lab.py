"""Linux interfaces from rtnetlink (collect/rtnl.py) must be exactly what the psutil-based
collector reports, in a real network namespace holding many kinds of links: dummy, veth, bridge,
VLAN, macvlan, tunnels with 4- and 16-byte link addresses (sit, gre, ipip, ip6tnl), tun devices
with and without addresses, an IPv4 alias label, point-to-point peers, down links, and IPv6
addresses that are deprecated or without DAD. psutil (getifaddrs + ioctls) is the oracle; no
traffic is sent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest
from conftest import unavailable

pytestmark = pytest.mark.lab

NS = f"bs-ifs-{os.getpid()}"

# Each step must work on any Linux with iproute2 (veth, bridge, vxlan, macvlan, tun/tap).
SETUP = [
    "link set lo up",
    "link add va0 type veth peer name vb0",
    "link set va0 up",
    "addr add 10.1.2.3/24 dev va0",
    "addr add 10.1.2.4/24 dev va0 label va0:1",
    "addr add 10.9.9.1 peer 10.9.9.2/32 dev va0",
    "addr add 2001:db8:1::5/64 dev va0 nodad",
    "addr add 2001:db8:1::6/64 dev va0 nodad preferred_lft 0",
    "addr add 2001:db8:2::1 peer 2001:db8:2::2/128 dev va0 nodad",
    "addr add 192.0.2.77/25 dev vb0",  # vb0 stays down
    "addr add fd42:b1d:77::1/48 dev vb0",
    "link add br0 type bridge",
    "link set br0 up",
    "link add vx0 type vxlan id 7 dstport 4789",
    "addr add 10.7.0.1/16 dev vx0",
    "link add link va0 name mv0 type macvlan mode bridge",
    "link set mv0 up",
    "tuntap add dev tun0 mode tun",
    "tuntap add dev tun1 mode tun",
    "addr add 10.66.0.1/24 dev tun1",
    "tuntap add dev tap0 mode tap",
]
# Kinds a kernel may lack (a minimal VM kernel has none of them): tried, and checked where made.
# sit, gre and ipip have 4-byte link addresses (psutil pads them into a MAC of zeros), ip6tnl 16 bytes.
OPTIONAL = {
    "sit1": ["link add sit1 type sit local 10.1.2.3 remote 10.1.2.99", "addr add 2001:db8:5::1/64 dev sit1 nodad"],
    "gre1": ["link add gre1 type gre local 10.1.2.3 remote 10.1.2.98"],
    "ipip1": ["link add ipip1 type ipip local 10.1.2.3 remote 10.1.2.97", "addr add 10.55.0.1/30 dev ipip1"],
    "ip6t1": ["link add ip6t1 type ip6tnl local 2001:db8:1::5 remote 2001:db8:1::99"],
    "dummy0": ["link add dummy0 type dummy", "link set dummy0 up", "addr add 10.8.0.1/24 dev dummy0"],
}

COMPARE = r"""
import json
from bindscope.collect import common, linux, rtnl
extra = {name: linux.sysfs_facts(name) for name in linux._listdir(linux.SYS)}
rows, macs, stats, v6flags = rtnl.interface_rows()
ours = common.build_interfaces(rows, macs, stats, extra, v6flags)
theirs = common.psutil_interfaces(extra, v6flags=dict(linux._if_inet6_flags()))
print(json.dumps({"ours": [repr(i) for i in ours], "theirs": [repr(i) for i in theirs],
                  "live": [repr(i) for i in linux.interfaces()]}))
"""


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "-n", NS, *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def namespace() -> Iterator[str]:
    if shutil.which("ip") is None:
        unavailable("iproute2 (`ip`) is not installed")
    if os.geteuid() != 0:
        unavailable("creating a network namespace needs root")
    made = subprocess.run(["ip", "netns", "add", NS], capture_output=True, text=True)
    if made.returncode != 0:
        unavailable(f"ip netns add: {made.stderr.strip()}")
    try:
        for step in SETUP:
            done = _ip(*step.split())
            if done.returncode != 0:
                pytest.fail(f"ip -n {NS} {step}: {done.stderr.strip()}")
        for steps in OPTIONAL.values():
            for step in steps:
                if _ip(*step.split()).returncode != 0:
                    break
        yield NS
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)


def test_rtnetlink_interfaces_equal_psutils(namespace: str):
    done = subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", COMPARE], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ours"] == result["theirs"]
    assert result["live"] == result["ours"]  # linux.interfaces() takes the rtnetlink path
    text = "\n".join(result["ours"])
    # the namespace really holds the odd cases the comparison is about
    for needle in (
        "name='va0:1'",  # an IPv4 alias label is an interface of its own, as psutil lists it
        "IfAddr(address='10.9.9.1', prefixlen=32",  # the local end of a point-to-point address
        "IfAddr(address='2001:db8:2::1', prefixlen=128",
        "'deprecated'",
        "name='tun1'",  # no link address, but an IP address
        "name='vb0', index=",
    ):
        assert needle in text, needle
    assert "name='tun0'" not in text  # no link address and no IP address: psutil does not list it
    made = _ip("-o", "link").stdout
    for name in OPTIONAL:
        if f" {name}:" in made or f" {name}@" in made:
            assert f"name='{name}'" in text, name
