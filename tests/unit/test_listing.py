"""`bindscope ls`: reach per path on recorded machines and small hand-built ones, filters, the
firewall seam, container namespaces, warnings, ss-style addresses, JSON and the CLI.

Expected values come from the kernel's rules (which socket takes a connection to which local
address: family, exact address, IPV6_V6ONLY, 127/8 on lo) and from who uses each address of the
recorded machines (see each snapshot's `source`), not from the code's output.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from unit_helpers import CLOUD, LAPTOP, WSL2, call_cli

from bindscope import BindscopeError, load_snapshot
from bindscope.analyze.listing import GROUPS, Entry, Listing, PathVerdict, listing, ss_address
from bindscope.api import listeners as api_listeners
from bindscope.model import IfAddr, Interface, Listener, NetNamespace, Reach, Route, Snapshot

LAPTOP_SNAP = load_snapshot(LAPTOP)
CLOUD_SNAP = load_snapshot(CLOUD)
WSL2_SNAP = load_snapshot(WSL2)

REACH_LABELS = {"nobody", "this-machine", "host-only", "vpn", "lan", "internet"}


# -- helpers ---------------------------------------------------------------------------------------------
def listener(
    address: str,
    port: int,
    *,
    proto: str = "tcp",
    v6only: bool | None = None,
    process: str | None = "python3",
    cmdline: tuple[str, ...] = ("python3", "app.py"),
    environ: dict[str, str] | None = None,
    pids: tuple[int, ...] = (4242,),
    user: str | None = "dev",
) -> Listener:
    family = "ipv6" if ":" in address else "ipv4"
    if family == "ipv4":
        v6only = None
    return Listener(
        proto=proto,
        address=address,
        port=port,
        family=family,
        v6only=v6only,
        inode=900000 + port,
        uid=1000,
        pids=pids,
        process=process,
        cmdline=cmdline,
        user=user,
        environ=environ or {},
    )


def with_listeners(snap: Snapshot, *items: Listener) -> Snapshot:
    return replace(snap, listeners=items)


def only(result: Listing) -> Entry:
    assert len(result.entries) == 1, [(e.local, e.reach) for e in result.entries]
    return result.entries[0]


def entry_for(result: Listing, local: str, proto: str = "tcp") -> Entry:
    found = [e for e in result.entries if e.local == local and e.listener.proto == proto]
    assert len(found) == 1, (local, [e.local for e in result.entries])
    return found[0]


def by_address(entry: Entry) -> dict[str, PathVerdict]:
    out = {p.address: p for p in entry.paths}
    assert len(out) == len(entry.paths), "one path per address"
    return out


def machine_addresses(snap: Snapshot, family: str) -> set[str]:
    """Every address of the snapshot's interfaces of one family, as the path lists write them."""
    out = set()
    for iface in snap.interfaces:
        for a in iface.addresses:
            if (a.ip.version == 4) == (family == "ipv4"):
                out.add(a.address if "%" in a.address or not a.ip.is_link_local else f"{a.address}%{iface.name}")
    return out


def reachable(entry: Entry) -> set[str]:
    return {p.address for p in entry.paths if p.reachable}


# -- IPV6_V6ONLY on a `::` socket ------------------------------------------------------------------------
def test_v6only_wildcard_refuses_every_ipv4_path_and_takes_every_ipv6_one():
    # uvicorn --host :: (laptop [::]:9000): one IPv6 socket with IPV6_V6ONLY=1
    entry = entry_for(listing(LAPTOP_SNAP), "[::]:9000")
    assert entry.listener.v6only is True
    v4 = [p for p in entry.paths if p.family == "ipv4"]
    v6 = [p for p in entry.paths if p.family == "ipv6"]
    assert {p.address for p in v4} == machine_addresses(LAPTOP_SNAP, "ipv4")
    assert {p.address for p in v6} == machine_addresses(LAPTOP_SNAP, "ipv6")
    for p in v4:
        assert p.reachable is False and "IPV6_V6ONLY" in (p.why or ""), p
        assert p.blocked_by is None
    for p in v6:
        assert p.reachable is True and p.why is None, p
    # a global IPv6 address on the default-route Wi-Fi: the internet can route to it
    assert entry.reach == Reach.INTERNET
    assert by_address(entry)["2a02:8109:b6c0:1e00:5d3a:9c41:7e2b:1f06"].audience == "internet"


def test_dual_stack_wildcard_also_takes_ipv4():
    # python -m http.server --bind :: (laptop [::]:8080): IPV6_V6ONLY=0, IPv4 arrives as ::ffff:a.b.c.d
    result = listing(LAPTOP_SNAP)
    dual = entry_for(result, "*:8080")
    assert dual.listener.v6only is False
    everything = machine_addresses(LAPTOP_SNAP, "ipv4") | machine_addresses(LAPTOP_SNAP, "ipv6")
    assert reachable(dual) == everything
    wifi = by_address(dual)["192.168.1.23"]
    assert wifi.reachable and wifi.why is None and wifi.audience == "lan" and wifi.interface == "wlan0"
    assert wifi.url == "http://192.168.1.23:8080/"
    # the same address '::' with IPV6_V6ONLY=1 in the same listing still refuses IPv4
    v6only = entry_for(result, "[::]:8001")
    assert by_address(v6only)["192.168.1.23"].reachable is False


def test_v6only_unknown_follows_the_machines_bindv6only():
    base = replace(LAPTOP_SNAP, environment=replace(LAPTOP_SNAP.environment, bindv6only=1))
    entry = only(listing(with_listeners(base, listener("::", 8000, v6only=None))))
    assert by_address(entry)["192.168.1.23"].reachable is False  # net.ipv6.bindv6only=1: v6-only by default
    base = replace(LAPTOP_SNAP, environment=replace(LAPTOP_SNAP.environment, bindv6only=0))
    entry = only(listing(with_listeners(base, listener("::", 8000, v6only=None))))
    assert by_address(entry)["192.168.1.23"].reachable is True


# -- specific addresses ----------------------------------------------------------------------------------
def test_bound_to_the_lan_address_reaches_that_address_only():
    entry = only(listing(with_listeners(LAPTOP_SNAP, listener("192.168.1.23", 3000))))
    assert reachable(entry) == {"192.168.1.23"}
    assert entry.reach == Reach.LAN
    for p in entry.paths:
        if p.address == "192.168.1.23":
            continue
        assert not p.reachable
        if p.family == "ipv4":
            assert p.why == "bound to 192.168.1.23 only", p
        else:
            assert "IPv4 socket" in (p.why or ""), p
    assert entry.urls == ["http://192.168.1.23:3000/"]


def test_loopback_listener_is_this_machine():
    entry = only(listing(with_listeners(LAPTOP_SNAP, listener("127.0.0.1", 5001))))
    assert reachable(entry) == {"127.0.0.1"}
    assert entry.reach == Reach.THIS_MACHINE
    assert by_address(entry)["::1"].reachable is False
    assert by_address(entry)["192.168.1.23"].why == "bound to 127.0.0.1 only"


def test_unassigned_127_address_gets_its_own_loopback_path():
    # Linux routes all of 127.0.0.0/8 to lo (local table), so 127.0.0.5 is bindable and reachable
    # here although only 127.0.0.1 is configured
    entry = only(listing(with_listeners(LAPTOP_SNAP, listener("127.0.0.5", 8000))))
    paths = by_address(entry)
    assert "127.0.0.5" in paths
    own = paths["127.0.0.5"]
    assert own.reachable and own.interface == "lo" and own.audience == "this-machine"
    assert own.url == "http://127.0.0.5:8000/"
    assert paths["127.0.0.1"].reachable is False and paths["127.0.0.1"].why == "bound to 127.0.0.5 only"
    assert reachable(entry) == {"127.0.0.5"}
    assert entry.reach == Reach.THIS_MACHINE
    # systemd-resolved's recorded 127.0.0.53 stub is the same case
    stub = entry_for(listing(LAPTOP_SNAP), "127.0.0.53:53")
    assert reachable(stub) == {"127.0.0.53"} and stub.reach == Reach.THIS_MACHINE


def test_address_this_machine_does_not_have_reaches_nobody():
    # e.g. bound with net.ipv4.ip_nonlocal_bind=1, or the address was removed after bind()
    entry = only(listing(with_listeners(LAPTOP_SNAP, listener("192.0.2.10", 8000))))
    assert reachable(entry) == set()
    assert "192.0.2.10" not in by_address(entry)  # no path is invented for a foreign address
    assert entry.reach == Reach.NOBODY
    assert entry.urls == []


def test_ipv4_mapped_bind_takes_only_its_ipv4_address():
    entry = only(listing(with_listeners(LAPTOP_SNAP, listener("::ffff:127.0.0.1", 8000, v6only=False))))
    assert reachable(entry) == {"127.0.0.1"}
    assert entry.reach == Reach.THIS_MACHINE


def test_link_local_bind_is_zone_specific():
    wifi_ll = "fe80::3c1b:7aff:fe42:9e01"
    entry = only(listing(with_listeners(LAPTOP_SNAP, listener(f"{wifi_ll}%wlan0", 8000, v6only=True))))
    assert reachable(entry) == {f"{wifi_ll}%wlan0"}
    assert entry.reach == Reach.LAN  # other hosts on the Wi-Fi link can use a link-local address
    assert entry.local == f"[{wifi_ll}]%wlan0:8000"


# -- who uses which address ------------------------------------------------------------------------------
def test_public_cloud_vm():
    result = listing(CLOUD_SNAP)
    nginx4 = entry_for(result, "0.0.0.0:80")
    assert nginx4.reach == Reach.INTERNET
    pub = by_address(nginx4)["5.161.10.20"]
    assert pub.reachable and pub.audience == "internet" and pub.interface == "eth0"
    assert pub.url == "http://5.161.10.20/"  # port 80 is http's default: not written
    assert by_address(nginx4)["172.17.0.1"].audience == "host-only"
    nginx6 = entry_for(result, "[::]:80")
    assert nginx6.reach == Reach.INTERNET
    assert by_address(nginx6)["5.161.10.20"].reachable is False  # nginx sets ipv6only=on
    assert by_address(nginx6)["2a01:4ff:f0:e1f3::1"].reachable is True
    gunicorn = entry_for(result, "127.0.0.1:8000")
    assert gunicorn.reach == Reach.THIS_MACHINE and gunicorn.framework == "gunicorn"
    assert entry_for(result, "0.0.0.0:22").reach == Reach.INTERNET
    assert result.exit_code == 0 and not any(e.warnings for e in result.entries)


@pytest.mark.parametrize(
    ("address", "v6only", "expected"),
    [
        ("172.17.0.1", None, Reach.HOST_ONLY),  # docker0: containers on this host
        ("172.18.0.1", None, Reach.HOST_ONLY),  # a user-defined Docker network's bridge
        ("100.101.102.103", None, Reach.VPN),  # tailscale0, CGNAT range
        ("fd7a:115c:a1e0::1234", True, Reach.VPN),  # tailscale0 IPv6 ULA
        ("10.66.66.2", None, Reach.VPN),  # wg0
        ("192.168.1.23", None, Reach.LAN),
        ("2a02:8109:b6c0:1e00:5d3a:9c41:7e2b:1f06", True, Reach.INTERNET),
        ("::1", True, Reach.THIS_MACHINE),
    ],
)
def test_reach_of_each_kind_of_address(address, v6only, expected):
    entry = only(listing(with_listeners(LAPTOP_SNAP, listener(address, 8000, v6only=v6only))))
    assert reachable(entry) == {address}
    assert entry.reach == expected
    assert by_address(entry)[address].audience == expected.label


def test_wsl2_nat_guest_reaches_only_the_windows_host():
    entry = entry_for(listing(WSL2_SNAP), "0.0.0.0:5000")  # flask run --host 0.0.0.0 in the guest
    assert entry.reach == Reach.HOST_ONLY
    eth0 = by_address(entry)["172.24.160.5"]
    assert eth0.reachable and eth0.audience == "host-only"


def test_down_interface_address_is_not_reachable():
    down = Interface(
        name="eth0",
        up=False,
        addresses=(IfAddr("192.168.50.2", 24),),
        hw={"type": 1, "physical": True, "wireless": False, "bridge": False, "tun": False},
    )
    snap = replace(LAPTOP_SNAP, interfaces=(*LAPTOP_SNAP.interfaces, down))
    entry = only(listing(with_listeners(snap, listener("0.0.0.0", 8000))))
    path = by_address(entry)["192.168.50.2"]
    assert path.reachable is False and path.why == "eth0 is down"
    assert by_address(entry)["192.168.1.23"].reachable is True
    # bound to that address only: nothing reaches it while the link is down
    entry = only(listing(with_listeners(snap, listener("192.168.50.2", 8000))))
    assert entry.reach == Reach.NOBODY and reachable(entry) == set()


def test_tentative_address_is_not_reachable():
    wlan = next(i for i in LAPTOP_SNAP.interfaces if i.name == "wlan0")
    addresses = tuple(
        IfAddr(a.address, a.prefixlen, ("tentative",)) if a.address.startswith("2a02:") else a for a in wlan.addresses
    )
    snap = replace(
        LAPTOP_SNAP,
        interfaces=tuple(replace(i, addresses=addresses) if i.name == "wlan0" else i for i in LAPTOP_SNAP.interfaces),
    )
    entry = only(listing(with_listeners(snap, listener("::", 8000, v6only=True))))
    for p in entry.paths:
        if p.address.startswith("2a02:"):
            assert not p.reachable and "duplicate address detection" in (p.why or "")
    assert entry.reach == Reach.LAN  # left: the link-local address on wlan0


# -- grouping and filters --------------------------------------------------------------------------------
LAPTOP_TCP = {
    # local -> reach, from the recorded machine: global IPv6 on wlan0 = internet, 192.168.1.23 = lan
    "[::]:8001": Reach.INTERNET,
    "*:8080": Reach.INTERNET,
    "[::]:9000": Reach.INTERNET,
    "0.0.0.0:6379": Reach.LAN,
    "0.0.0.0:8000": Reach.LAN,
    "0.0.0.0:8001": Reach.LAN,
    "127.0.0.53:53": Reach.THIS_MACHINE,
    "127.0.0.1:5000": Reach.THIS_MACHINE,
    "127.0.0.1:5432": Reach.THIS_MACHINE,
    "[::1]:5432": Reach.THIS_MACHINE,
    "[::1]:5173": Reach.THIS_MACHINE,
}


def test_laptop_reach_of_every_tcp_listener_and_widest_first_order():
    result = listing(LAPTOP_SNAP)
    assert {e.local: e.reach for e in result.entries} == LAPTOP_TCP
    assert result.total == len(LAPTOP_TCP)
    reaches = [int(e.reach) for e in result.entries]
    assert reaches == sorted(reaches, reverse=True)
    assert list(GROUPS) == sorted(Reach, reverse=True)


def _wider_laptop() -> Snapshot:
    extra = (
        listener("100.101.102.103", 7000, process="tailscaled-app"),
        listener("172.17.0.1", 7001),
    )
    return with_listeners(LAPTOP_SNAP, *LAPTOP_SNAP.listeners, *extra)


def test_min_reach_lan_keeps_lan_and_internet_only():
    result = listing(_wider_laptop(), min_reach=Reach.LAN)
    expected = {local for local, reach in LAPTOP_TCP.items() if reach >= Reach.LAN}
    assert {e.local for e in result.entries} == expected
    assert {e.reach for e in result.entries} == {Reach.LAN, Reach.INTERNET}
    # the API takes the label
    again = api_listeners(reach="lan", snapshot=_wider_laptop())
    assert [e.local for e in again.entries] == [e.local for e in result.entries]
    vpn = api_listeners(reach="vpn", snapshot=_wider_laptop())
    assert {e.local for e in vpn.entries} == expected | {"100.101.102.103:7000"}
    host = api_listeners(reach="host-only", snapshot=_wider_laptop())
    assert {e.local for e in host.entries} == expected | {"100.101.102.103:7000", "172.17.0.1:7001"}


def test_port_filter():
    result = listing(LAPTOP_SNAP, port=8001)
    assert {e.local for e in result.entries} == {"0.0.0.0:8001", "[::]:8001"}
    assert result.total == len(LAPTOP_TCP)  # counted before filters
    assert listing(LAPTOP_SNAP, port=1).entries == []


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("redis", {"0.0.0.0:6379"}),  # process name
        ("REDIS-SERV", {"0.0.0.0:6379"}),  # case does not matter
        # comm is cut to 15 characters ("systemd-resolve"); the program's basename is whole
        ("systemd-resolved", {"127.0.0.53:53"}),
        ("django", {"0.0.0.0:8000"}),  # framework "django runserver" (process "python")
        ("uvicorn", {"0.0.0.0:8001", "[::]:8001", "[::]:9000"}),
        ("http.server", {"*:8080"}),  # framework of python3 -m http.server
        ("nosuchthing", set()),
    ],
)
def test_process_filter(needle, expected):
    result = listing(LAPTOP_SNAP, process=needle)
    assert {e.local for e in result.entries} == expected
    assert result.total == len(LAPTOP_TCP)


def test_process_filter_matches_the_script_python_runs():
    snap = with_listeners(LAPTOP_SNAP, listener("0.0.0.0", 7777, process="python3", cmdline=("python3", "myapp.py")))
    assert [e.local for e in listing(snap, process="myapp").entries] == ["0.0.0.0:7777"]


def test_udp_and_tcp_selection():
    udp = listing(LAPTOP_SNAP, protos=("udp",))
    assert {(e.listener.proto, e.local) for e in udp.entries} == {
        ("udp", "127.0.0.53:53"),
        ("udp", "0.0.0.0:5353"),
        ("udp", "[::]:5353"),
    }
    assert udp.total == 3
    for e in udp.entries:
        assert all(p.url is None for p in e.paths)  # no http:// URL for a UDP socket
    assert entry_for(udp, "0.0.0.0:5353", "udp").reach == Reach.LAN
    both = listing(LAPTOP_SNAP, protos=("tcp", "udp"))
    assert both.total == len(LAPTOP_TCP) + 3
    assert {e.listener.proto for e in both.entries} == {"tcp", "udp"}
    tcp = listing(LAPTOP_SNAP)
    assert {e.listener.proto for e in tcp.entries} == {"tcp"}


def test_datastore_paths_have_targets_not_urls():
    entry = entry_for(listing(LAPTOP_SNAP), "0.0.0.0:6379")
    wifi = by_address(entry)["192.168.1.23"]
    assert wifi.url is None and wifi.target == "192.168.1.23:6379"
    assert "192.168.1.23:6379" in entry.urls
    web = by_address(entry_for(listing(LAPTOP_SNAP), "0.0.0.0:8000"))["192.168.1.23"]
    assert web.url == "http://192.168.1.23:8000/"


# -- the firewall seam -----------------------------------------------------------------------------------
def test_blocker_blocks_a_path_and_lowers_reach():
    calls: list[tuple[int, str]] = []

    def wifi_rule(item: Listener, a) -> str | None:
        calls.append((item.port, a.text))
        return "test rule" if a.iface.name == "wlan0" else None

    result = listing(LAPTOP_SNAP, blockers=[wifi_rule])
    redis = entry_for(result, "0.0.0.0:6379")
    wifi = by_address(redis)["192.168.1.23"]
    assert wifi.reachable is False and wifi.why == "blocked by test rule" and wifi.blocked_by == "test rule"
    assert wifi.to_dict()["blocked_by"] == "test rule"
    # tailscale0 and wg0 still lead to it: vpn is what is left
    assert redis.reach == Reach.VPN
    assert by_address(redis)["100.101.102.103"].blocked_by is None
    # the kernel's own refusals keep their reason and get no blocked_by; the blocker is still asked (a
    # firewall check tells a client's "refused" from its "timeout" there), but never about loopback
    v6 = entry_for(result, "[::]:9000")
    assert by_address(v6)["192.168.1.23"].blocked_by is None
    assert "IPV6_V6ONLY" in (by_address(v6)["192.168.1.23"].why or "")
    assert (9000, "192.168.1.23") in calls
    assert not [c for c in calls if c[1] in ("127.0.0.1", "::1")]
    assert (6379, "192.168.1.23") in calls
    assert v6.reach == Reach.VPN  # global IPv6 is on wlan0 too; fd7a:... on tailscale0 stays open


def test_blocker_on_every_non_loopback_path_leaves_this_machine_and_no_warning():
    def deny_incoming(item: Listener, a) -> str | None:
        return None if a.kind == "loopback" else "ufw (default deny incoming)"

    plain = listing(LAPTOP_SNAP)
    assert plain.exit_code == 1  # Redis on 0.0.0.0
    result = listing(LAPTOP_SNAP, blockers=[deny_incoming])
    assert {e.reach for e in result.entries} == {Reach.THIS_MACHINE}
    assert result.exit_code == 0 and not any(e.warnings for e in result.entries)
    redis = entry_for(result, "0.0.0.0:6379")
    assert by_address(redis)["127.0.0.1"].reachable is True
    # a reach filter applies to the reach after blocking
    assert listing(LAPTOP_SNAP, blockers=[deny_incoming], min_reach=Reach.LAN).entries == []


def test_first_blocker_that_answers_wins():
    first = listing(
        with_listeners(LAPTOP_SNAP, listener("192.168.1.23", 8000)),
        blockers=[lambda item, a: None, lambda item, a: "second", lambda item, a: "third"],
    )
    assert by_address(only(first))["192.168.1.23"].blocked_by == "second"


# -- other network namespaces ----------------------------------------------------------------------------
LO = Interface(
    name="lo",
    index=1,
    addresses=(IfAddr("127.0.0.1", 8), IfAddr("::1", 128)),
    hw={"type": 772},
)


def _netns(kind: str, label: str, listeners: tuple[Listener, ...]) -> NetNamespace:
    # a Docker bridge container: its eth0 is one end of a veth pair (driver read by SIOCETHTOOL)
    eth0 = Interface(name="eth0", index=2, addresses=(IfAddr("172.17.0.2", 16),), hw={"type": 1, "driver": "veth"})
    return NetNamespace(
        label=label,
        kind=kind,
        inode=4026532600,
        pids=(3100,),
        interfaces=(LO, eth0),
        routes=(Route("ipv4", "0.0.0.0/0", "eth0", "172.17.0.1"), Route("ipv4", "172.17.0.0/16", "eth0")),
        listeners=listeners,
    )


def test_container_namespace_is_capped_at_host_only_and_labelled():
    nginx = listener("0.0.0.0", 80, process="nginx", cmdline=("nginx: master process nginx -g daemon off;",))
    inner_local = listener("127.0.0.1", 9000, process="php-fpm")
    ns = _netns("container", "container 3f2a9c1b7d4e (nginx)", (nginx, inner_local))
    snap = replace(LAPTOP_SNAP, namespaces=(ns,))
    result = listing(snap)
    inside = [e for e in result.entries if e.netns is not None]
    assert {e.local for e in inside} == {"0.0.0.0:80", "127.0.0.1:9000"}
    assert all(e.netns == "container 3f2a9c1b7d4e (nginx)" for e in inside)
    web = next(e for e in inside if e.local == "0.0.0.0:80")
    # eth0 carries the container's default route (it would be "lan" for a host), but only the host
    # and its containers reach a container's own address; the LAN needs a published port
    assert web.reach == Reach.HOST_ONLY
    assert by_address(web)["172.17.0.2"].audience == "host-only"
    assert web.to_dict()["netns"] == "container 3f2a9c1b7d4e (nginx)"
    assert next(e for e in inside if e.local == "127.0.0.1:9000").reach == Reach.THIS_MACHINE
    assert result.namespaces == ["container 3f2a9c1b7d4e (nginx)"]
    assert any("container 3f2a9c1b7d4e (nginx)" in n for n in result.notes)
    # this namespace's listeners are unchanged, and have no netns label
    mine = {e.local: e.reach for e in result.entries if e.netns is None}
    assert mine == LAPTOP_TCP


def test_macvlan_container_on_the_lan_is_not_capped():
    eth0 = Interface(
        name="eth0",
        index=2,
        addresses=(IfAddr("192.168.1.23", 24),),
        hw={"type": 1, "physical": True, "wireless": False, "bridge": False, "tun": False},
    )
    host = replace(
        LAPTOP_SNAP,
        interfaces=(LO, eth0),
        routes=(Route("ipv4", "0.0.0.0/0", "eth0", "192.168.1.1", 100), Route("ipv4", "192.168.1.0/24", "eth0")),
        listeners=(),
    )
    # docker network create -d macvlan --subnet 192.168.1.0/24 --gateway 192.168.1.1 -o parent=eth0 lan
    inner = Interface(name="eth0", index=2, addresses=(IfAddr("192.168.1.50", 24),), hw={"type": 1})
    redis = listener("0.0.0.0", 6379, process="redis-server", cmdline=("redis-server *:6379",))
    ns = NetNamespace(
        label="container 9c1d2e3f4a5b (redis)",
        kind="container",
        pids=(5100,),
        interfaces=(LO, inner),
        routes=(Route("ipv4", "0.0.0.0/0", "eth0", "192.168.1.1"), Route("ipv4", "192.168.1.0/24", "eth0")),
        listeners=(redis,),
    )
    entry = only(listing(replace(host, namespaces=(ns,))))
    assert entry.reach == Reach.LAN


def test_named_namespace_is_not_capped():
    ns = _netns("named", "netns lab", (listener("0.0.0.0", 80),))
    result = listing(replace(LAPTOP_SNAP, listeners=(), namespaces=(ns,)))
    assert only(result).reach == Reach.LAN and only(result).netns == "netns lab"
    assert result.notes == []


def test_namespace_error_is_reported():
    broken = NetNamespace(label="pid 812 (sandbox)", kind="process", error="cannot enter network namespace")
    result = listing(replace(LAPTOP_SNAP, namespaces=(broken,)))
    assert result.errors == ["pid 812 (sandbox): cannot enter network namespace"]


# -- warnings --------------------------------------------------------------------------------------------
WARN_CASES = [
    # (cmdline, process, environ, address, v6only, warned, words in the warning)
    (("/usr/bin/redis-server", "0.0.0.0:6379"), "redis-server", {}, "0.0.0.0", None, True, "Redis"),
    (("redis-server 127.0.0.1:6379",), "redis-server", {}, "127.0.0.1", None, False, None),
    (("/usr/bin/redis-server", "*:6379"), "redis-server", {}, "172.17.0.1", None, True, "host-only"),
    (("/venv/bin/python", "/venv/bin/jupyter-lab", "--ip=0.0.0.0"), "jupyter-lab", {}, "0.0.0.0", None, True, "dev"),
    (("/venv/bin/python", "/venv/bin/jupyter-lab"), "jupyter-lab", {}, "127.0.0.1", None, False, None),
    (
        ("/venv/bin/python", "/venv/bin/flask", "run", "--debug", "--host", "::"),
        "flask",
        {},
        "::",
        False,
        True,
        "debug",
    ),
    (("/venv/bin/python", "/venv/bin/flask", "run", "--debug"), "flask", {}, "127.0.0.1", None, False, None),
    (("/venv/bin/python", "/venv/bin/flask", "run", "--debug"), "flask", {}, "::1", True, False, None),
    (("/venv/bin/python", "/venv/bin/flask", "run", "--host", "0.0.0.0"), "flask", {}, "0.0.0.0", None, False, None),
    (("python", "app.py"), "python", {"WERKZEUG_RUN_MAIN": "true"}, "0.0.0.0", None, True, "debug"),
    (("python", "manage.py", "runserver_plus", "0:8000"), "python", {}, "0.0.0.0", None, True, "debug"),
    (("python3", "-m", "http.server"), "python3", {}, "0.0.0.0", None, False, None),
]


@pytest.mark.parametrize(
    ("cmdline", "process", "environ", "address", "v6only", "warned", "words"),
    WARN_CASES,
    ids=[f"{c[1]}@{c[3]}" + ("-env" if c[2] else "") for c in WARN_CASES],
)
def test_warnings_only_beyond_this_machine(cmdline, process, environ, address, v6only, warned, words):
    item = listener(address, 6000, process=process, cmdline=cmdline, environ=environ, v6only=v6only)
    result = listing(with_listeners(LAPTOP_SNAP, item))
    entry = only(result)
    assert bool(entry.warnings) == warned, entry.warnings
    assert result.exit_code == (1 if warned else 0)
    if words:
        assert any(words in w for w in entry.warnings), entry.warnings
        assert any(entry.reach.label in w for w in entry.warnings)
        assert entry.to_dict()["warnings"] == entry.warnings


def test_exit_code_follows_warnings_on_recorded_machines():
    laptop = listing(LAPTOP_SNAP)
    warned = [e.local for e in laptop.entries if e.warnings]
    assert warned == ["0.0.0.0:6379"]  # Redis bound to 0.0.0.0; PostgreSQL is on localhost
    assert laptop.exit_code == 1
    assert listing(LAPTOP_SNAP, port=6379).exit_code == 1
    assert listing(LAPTOP_SNAP, port=5432).exit_code == 0
    assert listing(CLOUD_SNAP).exit_code == 0
    assert listing(WSL2_SNAP).exit_code == 0  # flask without debug


# -- ss-style local address ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "v6only", "expected"),
    [
        ("::", False, "*:8000"),
        ("::", True, "[::]:8000"),
        ("::", None, "[::]:8000"),
        ("fe80::1%eth0", True, "[fe80::1]%eth0:8000"),
        ("::1", True, "[::1]:8000"),
        ("0.0.0.0", None, "0.0.0.0:8000"),
        ("127.0.0.1", None, "127.0.0.1:8000"),
    ],
)
def test_ss_address(address, v6only, expected):
    assert ss_address(listener(address, 8000, v6only=v6only)) == expected


# -- JSON ------------------------------------------------------------------------------------------------
ENTRY_KEYS = {
    "proto",
    "address",
    "port",
    "family",
    "v6only",
    "inode",
    "uid",
    "pids",
    "process",
    "cmdline",
    "framework",
    "reach",
    "paths",
}
PATH_KEYS = {"interface", "address", "url", "reachable", "why"}


@pytest.mark.parametrize("path", [LAPTOP, CLOUD, WSL2], ids=lambda p: p.stem)
def test_json_entries(path: Path):
    snap = load_snapshot(path)
    data = json.loads(json.dumps(listing(snap, protos=("tcp", "udp")).to_list()))
    assert len(data) == len(snap.listeners)
    by_key = {(item.proto, item.address, item.port): item for item in snap.listeners}
    for entry in data:
        assert set(entry) >= ENTRY_KEYS
        assert entry["reach"] in REACH_LABELS
        item = by_key[(entry["proto"], entry["address"], entry["port"])]
        assert entry["pids"] == list(item.pids) and entry["cmdline"] == list(item.cmdline)
        assert entry["v6only"] == item.v6only and entry["inode"] == item.inode and entry["uid"] == item.uid
        assert entry["family"] == item.family and entry["process"] == item.process
        assert entry["paths"]
        for p in entry["paths"]:
            assert set(p) >= PATH_KEYS
            assert isinstance(p["reachable"], bool)
            assert (p["why"] is None) == p["reachable"]
            assert p["audience"] in REACH_LABELS
        # reach = widest audience among reachable paths (no blockers here)
        widest = max((Reach.from_label(p["audience"]) for p in entry["paths"] if p["reachable"]), default=Reach.NOBODY)
        # hidden paths (link-local, veth) are in the JSON too, so the widest is computed over all of them
        assert entry["reach"] == widest.label


def test_json_framework_fields():
    data = {(e["address"], e["port"]): e for e in listing(LAPTOP_SNAP).to_list()}
    assert data[("0.0.0.0", 8000)]["framework"] == "django runserver"
    assert data[("0.0.0.0", 6379)]["framework"] == "redis"
    assert data[("0.0.0.0", 6379)]["category"] == "datastore"
    assert data[("127.0.0.53", 53)]["framework"] is None


# -- the model: namespaces and environ in snapshots ------------------------------------------------------
def _snap_with_namespace() -> Snapshot:
    flask = listener(
        "0.0.0.0",
        5000,
        process="flask",
        cmdline=("/venv/bin/python", "/venv/bin/flask", "run", "--host", "0.0.0.0"),
        environ={"FLASK_DEBUG": "1", "WERKZEUG_RUN_MAIN": "true"},
    )
    ns = _netns("container", "container 3f2a9c1b7d4e (flask)", (flask,))
    return replace(LAPTOP_SNAP, namespaces=(ns,), listeners=(*LAPTOP_SNAP.listeners, flask))


def test_snapshot_round_trip_with_namespaces_and_environ():
    snap = _snap_with_namespace()
    data = snap.to_dict()
    assert isinstance(data["namespaces"], list) and data["namespaces"][0]["kind"] == "container"
    assert data["namespaces"][0]["listeners"][0]["environ"] == {"FLASK_DEBUG": "1", "WERKZEUG_RUN_MAIN": "true"}
    again = Snapshot.from_dict(json.loads(json.dumps(data)))
    assert again == snap
    assert again.namespaces[0].listeners[0].environ["FLASK_DEBUG"] == "1"
    assert again.namespaces[0].pids == (3100,)
    # the environment hint survives into detection: debug flask in a container = a warning at host-only
    result = listing(again)
    inside = next(e for e in result.entries if e.netns)
    assert inside.reach == Reach.HOST_ONLY and inside.warnings


def _ns(**fields) -> dict:
    return {"label": "netns lab", "kind": "named", **fields}


def _tcp(**fields) -> dict:
    return {"proto": "tcp", "address": "0.0.0.0", "port": 8000, "family": "ipv4", **fields}


MALFORMED = [
    {"namespaces": 5},
    {"namespaces": "netns lab"},
    {"namespaces": [5]},
    {"namespaces": [{"label": "netns lab"}]},  # no kind
    {"namespaces": [_ns(label=5)]},
    {"namespaces": [_ns(inode="4026532600")]},
    {"namespaces": [_ns(pids="812")]},
    {"namespaces": [_ns(pids=["812"])]},
    {"namespaces": [_ns(owners_unknown="x")]},
    {"namespaces": [_ns(error=7)]},
    {"namespaces": [_ns(interfaces=[{"name": "lo", "addresses": [{"address": "bogus", "prefixlen": 8}]}])]},
    {"namespaces": [_ns(routes=[{"family": "ipv5", "destination": "0.0.0.0/0", "interface": "lo"}])]},
    {"namespaces": [_ns(listeners=[_tcp(address="not-an-ip")])]},
    {"namespaces": [_ns(listeners=5)]},
    {"listeners": [_tcp(environ="FLASK_DEBUG=1")]},
    {"listeners": [_tcp(environ={"FLASK_DEBUG": 1})]},
    {"listeners": [_tcp(environ=5)]},
    {"listeners": [_tcp(environ=["FLASK_DEBUG"])]},
    {"namespaces": [_ns(listeners=[_tcp(environ={"FLASK_DEBUG": True})])]},
]


@pytest.mark.parametrize("shape", MALFORMED, ids=lambda s: json.dumps(s)[:70])
def test_malformed_namespaces_and_environ_are_input_errors(shape, tmp_path: Path):
    with pytest.raises(BindscopeError, match="snapshot"):
        Snapshot.from_dict(shape)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(shape), encoding="utf-8")
    r = call_cli("ls", "--from", path)
    _one_line_error(r)


# -- the CLI ---------------------------------------------------------------------------------------------
def _one_line_error(r, code: int = 2) -> str:
    assert r.code == code, (r.args, r.code, r.out, r.err)
    assert "Traceback" not in r.err and "Traceback" not in r.out
    assert "internal error" not in r.err
    assert len(r.err_lines) == 1, r.err
    assert r.err_lines[0].startswith("bindscope"), r.err
    assert r.out == ""
    return r.err_lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["--reach", "bogus"],
        ["--reach", ""],
        ["--port", "0"],
        ["--port", "abc"],
        ["--port", "65536"],
        ["--udp", "--all-protos"],
        ["--process", ""],
        ["--process", "   "],
        ["--bogus"],
    ],
    ids=lambda a: " ".join(a) or "empty",
)
def test_ls_bad_arguments(args):
    line = _one_line_error(call_cli("ls", *args, "--from", LAPTOP))
    if args[0] == "--reach" and args[1]:
        assert "bogus" in line and "internet" in line


@pytest.mark.parametrize("args", [["--reach", "bogus"], ["--port", "0"], ["--process", ""]], ids=" ".join)
def test_ls_bad_arguments_are_refused_before_collecting(monkeypatch, args):
    import bindscope.collect

    def must_not_run(**kwargs):
        raise AssertionError("collected the live machine although the arguments are wrong")

    monkeypatch.setattr(bindscope.collect, "snapshot", must_not_run)
    _one_line_error(call_cli("ls", *args))  # an AssertionError would be exit 3, "internal error"


def test_snapshot_all_netns_does_not_go_with_no_listeners():
    line = _one_line_error(call_cli("snapshot", "--all-netns", "--no-listeners"))
    assert "--no-listeners" in line


def test_ls_all_netns_needs_a_snapshot_with_namespaces():
    line = _one_line_error(call_cli("ls", "--all-netns", "--from", LAPTOP))
    assert "namespace" in line


def test_ls_all_netns_from_a_snapshot_with_namespaces(tmp_path: Path):
    path = tmp_path / "ns.json"
    path.write_text(json.dumps(_snap_with_namespace().to_dict()), encoding="utf-8")
    r = call_cli("ls", "--all-netns", "--from", path, "--json")
    assert r.code == 1, r.err  # debug flask reachable from the host's containers
    inside = [e for e in r.json() if e["netns"]]
    assert len(inside) == 1 and inside[0]["reach"] == "host-only" and inside[0]["framework"] == "flask"


def test_ls_all_netns_text_names_the_namespace(tmp_path: Path):
    path = tmp_path / "ns.json"
    path.write_text(json.dumps(_snap_with_namespace().to_dict()), encoding="utf-8")
    r = call_cli("ls", "--all-netns", "--from", path)
    assert r.code == 1 and r.err == ""
    assert "container 3f2a9c1b7d4e (flask)" in r.out
    assert "(this)" in r.out  # the netns column names this namespace's sockets too
    assert "host-only: containers and VMs on this host (1)" in r.out


def test_ls_from_a_snapshot_with_namespaces_without_all_netns(tmp_path: Path):
    path = tmp_path / "ns.json"
    path.write_text(json.dumps(_snap_with_namespace().to_dict()), encoding="utf-8")
    r = call_cli("ls", "--from", path, "--json")
    assert r.code == 1, r.err  # the host's own debug flask on 0.0.0.0:5000
    assert [e["netns"] for e in r.json() if e["netns"]] == []


def test_urls_of_a_container_socket_leave_out_its_loopback():
    result = listing(_snap_with_namespace())
    inside = next(e for e in result.entries if e.netns)
    assert inside.urls == ["http://172.17.0.2:5000/"]


def test_ls_json_from_laptop():
    r = call_cli("ls", "--from", LAPTOP, "--json")
    assert r.code == 1 and r.err == ""  # Redis on 0.0.0.0
    data = r.json()
    assert isinstance(data, list) and len(data) == len(LAPTOP_TCP)
    assert [e["reach"] for e in data] == [LAPTOP_TCP[e["local"]].label for e in data]
    assert all(set(e) >= ENTRY_KEYS for e in data)
    r = call_cli("ls", "--from", LAPTOP, "--json", "--udp")
    assert {e["proto"] for e in r.json()} == {"udp"}
    r = call_cli("ls", "--from", LAPTOP, "--json", "--all-protos")
    assert {e["proto"] for e in r.json()} == {"tcp", "udp"}
    r = call_cli("ls", "--from", LAPTOP, "--json", "--port", "5432")
    assert r.code == 0 and {e["local"] for e in r.json()} == {"127.0.0.1:5432", "[::1]:5432"}
    r = call_cli("ls", "--from", LAPTOP, "--json", "--reach", "lan", "--process", "uvicorn")
    assert r.code == 0 and {e["local"] for e in r.json()} == {"0.0.0.0:8001", "[::]:8001", "[::]:9000"}
    r = call_cli("ls", "--from", LAPTOP, "--json", "--port", "1")
    assert r.code == 0 and r.out.strip() == "[]" and r.json() == []


def _heading_positions(text: str) -> list[tuple[int, str]]:
    found = []
    for level in GROUPS:
        title = {
            Reach.INTERNET: "internet:",
            Reach.LAN: "lan:",
            Reach.VPN: "vpn:",
            Reach.HOST_ONLY: "host-only:",
            Reach.THIS_MACHINE: "this-machine:",
            Reach.NOBODY: "nobody:",
        }[level]
        lines = [i for i, line in enumerate(text.splitlines()) if line.startswith(title)]
        assert len(lines) <= 1, (title, text)
        if lines:
            found.append((lines[0], level.label))
    return found


def test_ls_text_groups_widest_first():
    r = call_cli("ls", "--from", LAPTOP)
    assert r.code == 1 and r.err == ""
    headings = _heading_positions(r.out)
    assert [label for _i, label in headings] == ["internet", "lan", "this-machine"]
    assert [i for i, _label in headings] == sorted(i for i, _label in headings)
    assert "internet: any host that can route here (3)" in r.out
    assert "lan: devices on your local network (3)" in r.out
    assert "this-machine: nobody else (5)" in r.out
    assert "Warnings:" in r.out and "6379" in r.out.split("Warnings:")[1]


def test_ls_text_groups_on_the_cloud_vm():
    r = call_cli("ls", "--from", CLOUD)
    assert r.code == 0 and r.err == ""
    assert [label for _i, label in _heading_positions(r.out)] == ["internet", "this-machine"]
    assert "Warnings:" not in r.out


def test_no_arguments_runs_ls(monkeypatch):
    import bindscope.collect

    calls: list[dict] = []

    def recorded(**kwargs):
        calls.append(kwargs)
        return LAPTOP_SNAP

    monkeypatch.setattr(bindscope.collect, "snapshot", recorded)
    bare = call_cli()
    explicit = call_cli("ls")
    assert len(calls) == 2
    assert bare.code == explicit.code == 1
    assert bare.out == explicit.out and bare.err == explicit.err == ""
    assert "internet: any host that can route here (3)" in bare.out
    # the same listing as a recorded --from, which only adds "(recorded machine: ...)" first
    recorded_out = call_cli("ls", "--from", LAPTOP).out
    assert recorded_out.startswith("(recorded machine:") and recorded_out.endswith(bare.out)


def test_ls_json_live():
    r = call_cli("ls", "--json")
    assert r.code in (0, 1), r.err
    data = r.json()
    assert isinstance(data, list)
    for entry in data:
        assert set(entry) >= ENTRY_KEYS
        assert entry["reach"] in REACH_LABELS
        assert entry["proto"] == "tcp"
    assert r.code == (1 if any(e["warnings"] for e in data) else 0)


# -- `ls --json` lines: put together from shared parts, equal to encoding each entry ---------------------
def _many_ports() -> Snapshot:
    items = []
    for port in (1, 80, 443, 5000, 8000, 8080, 65535):
        items.append(listener("0.0.0.0", port, process="gunicorn", cmdline=("gunicorn: master [app:app]",)))
        items.append(listener("::", port, v6only=False, process="node", cmdline=("node", "server.js")))
        items.append(listener("::1", port, v6only=True, process="redis-server", cmdline=("redis-server ::1:6379",)))
        items.append(listener("127.0.0.1", port, proto="udp", process=None, cmdline=(), pids=(), user=None))
    items += [
        listener("fe80::3c1b:7aff:fe42:9e01%wlan0", 8000, v6only=True),
        listener("0.0.0.0", 8000, process="pythön", cmdline=("python3", 'ä "quoted" \\ back', "x\u0000y")),
        listener("0.0.0.0", 8001, environ={"WERKZEUG_RUN_MAIN": "true"}, pids=(4343,)),
        listener("127.0.0.5", 8000),
        listener("192.0.2.10", 8000),
        # a family whose first socket is on port 80 (its URLs carry no port): the others still get theirs
        listener("0.0.0.0", 80, process="caddy", cmdline=("caddy", "run"), pids=(77,)),
        listener("0.0.0.0", 443, process="caddy", cmdline=("caddy", "run"), pids=(77,)),
        listener("0.0.0.0", 2019, process="caddy", cmdline=("caddy", "run"), pids=(77,)),
        # alike but for the user, the uid or the pids: not one family
        listener("0.0.0.0", 9001, process="caddy", cmdline=("caddy", "run"), pids=(77,), user="www"),
        listener("0.0.0.0", 9002, process="caddy", cmdline=("caddy", "run"), pids=(78,)),
        replace(listener("0.0.0.0", 9003, process="caddy", cmdline=("caddy", "run"), pids=(77,)), uid=33),
        # a Jupyter server beyond this machine: its warning names the user
        listener("0.0.0.0", 8888, process="jupyter-lab", cmdline=("jupyter-lab",), user="ann"),
        listener("0.0.0.0", 8889, process="jupyter-lab", cmdline=("jupyter-lab",), user="bob"),
    ]
    return with_listeners(LAPTOP_SNAP, *items)


def _nul_in_an_interface_name() -> Snapshot:
    """A hand-edited snapshot may hold anything JSON can: a NUL in a path field must not be taken
    for the place where the port goes."""
    odd = Interface(name="eth\u00000", index=7, addresses=(IfAddr("10.9.8.7", 24),), hw={"type": 1})
    snap = with_listeners(LAPTOP_SNAP, *_many_ports().listeners)
    return replace(snap, interfaces=(*snap.interfaces, odd))


@pytest.mark.parametrize(
    "snap",
    [LAPTOP_SNAP, CLOUD_SNAP, WSL2_SNAP, _many_ports(), _snap_with_namespace(), _nul_in_an_interface_name()],
    ids=["laptop", "cloud", "wsl2", "many-ports", "namespaces", "nul-in-interface-name"],
)
def test_json_lines_equal_each_entry_encoded(snap):
    from bindscope.render.jsonout import entry_lines

    result = listing(snap, protos=("tcp", "udp"))
    lines = list(entry_lines(result.entries))
    assert len(lines) == len(result.entries)
    for line, entry in zip(lines, result.entries, strict=True):
        assert line == json.dumps(entry.to_dict(), ensure_ascii=False)


def test_one_family_of_many_sockets_shares_its_parts_but_not_its_ports():
    items = [
        replace(listener("127.0.0.1", port, process="python", cmdline=("python", "-m", "many")), inode=port)
        for port in (80, *range(10000, 10300))
    ]
    result = listing(with_listeners(LAPTOP_SNAP, *items))
    assert len({id(e._family) for e in result.entries}) == 1
    from bindscope.render.jsonout import entry_lines

    lines = list(entry_lines(result.entries))
    assert lines == [json.dumps(e.to_dict(), ensure_ascii=False) for e in result.entries]
    assert [(json.loads(line)["port"], json.loads(line)["inode"]) for line in lines] == [
        (port, port) for port in (80, *range(10000, 10300))
    ]


def test_entries_of_one_family_are_separate_entries():
    result = listing(with_listeners(LAPTOP_SNAP, *_many_ports().listeners), protos=("tcp", "udp"))
    a, b = (e for e in result.entries if e.listener.process == "jupyter-lab")
    assert a.warnings[0].endswith("runs code as ann") and b.warnings[0].endswith("runs code as bob")
    a.warnings.append("changed")  # a copy: the family's warnings stay
    assert a.warnings[-1] != "changed"
    same = listing(with_listeners(LAPTOP_SNAP, *_many_ports().listeners), protos=("tcp", "udp"))
    assert same.entries == result.entries and same.entries[0] is not result.entries[0]
    assert result.entries[0] != result.entries[1]
    assert "reach=" in repr(result.entries[0])


@pytest.mark.parametrize("count", [0, 1, 255, 256, 257, 700])
def test_json_lines_are_printed_as_one_array(count: int, capsys):
    from bindscope.cli import _print_json_lines

    lines = [json.dumps({"n": n}) for n in range(count)]
    _print_json_lines(iter(lines))
    out = capsys.readouterr().out
    assert out == ("[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n")
    assert json.loads(out) == [{"n": n} for n in range(count)]


def test_cli_json_is_a_list_of_those_lines(tmp_path: Path):
    path = tmp_path / "many.json"
    path.write_text(json.dumps(_many_ports().to_dict()), encoding="utf-8")
    r = call_cli("ls", "--from", path, "--json", "--all-protos")
    assert r.code == 1, r.err  # Werkzeug reloader on 0.0.0.0:8001
    expected = [e.to_dict() for e in listing(load_snapshot(path), protos=("tcp", "udp")).entries]
    assert r.json() == expected
    lines = r.out.splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == len(expected) + 2
