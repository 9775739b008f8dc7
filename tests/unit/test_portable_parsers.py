"""The macOS/BSD and Windows default-route parsers against recorded command output
(tests/unit/fixtures/*.txt: `route -n get default`, `route -n get -inet6 default`, `route print`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from unit_helpers import WINDOWS

from bindscope.analyze.netview import NetView
from bindscope.api import load_snapshot
from bindscope.collect.portable import parse_bsd_route_get, parse_windows_route_print
from bindscope.model import Environment, IfAddr, Interface, Route, Snapshot

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def lines(name: str) -> list[str]:
    # decoded the way subprocess.run(text=True) does: universal newlines
    return (FIXTURES / name).read_bytes().decode("utf-8").splitlines()


# -- macOS / BSD: route -n get ----------------------------------------------------------------------------
def test_macos_ipv4_default():
    assert list(parse_bsd_route_get(lines("macos-route-get-default.txt"), "ipv4")) == [
        Route("ipv4", "0.0.0.0/0", "en0", "192.168.1.1", 0)
    ]


def test_macos_ipv6_default_keeps_the_zoned_gateway():
    assert list(parse_bsd_route_get(lines("macos-route-get-inet6-default.txt"), "ipv6")) == [
        Route("ipv6", "::/0", "en0", "fe80::1%en0", 0)
    ]


def test_macos_vpn_default_without_gateway():
    # a WireGuard full tunnel: the route to 'default' goes out utun4, with no gateway line
    assert list(parse_bsd_route_get(lines("macos-route-get-default-wireguard.txt"), "ipv4")) == [
        Route("ipv4", "0.0.0.0/0", "utun4", None, 0)
    ]


def test_freebsd_default():
    assert list(parse_bsd_route_get(lines("freebsd-route-get-default.txt"), "ipv4")) == [
        Route("ipv4", "0.0.0.0/0", "em0", "10.0.2.2", 0)
    ]


@pytest.mark.parametrize(
    "output",
    [
        [],  # the error goes to stderr; stdout is empty
        ["route: writing to routing socket: not in table"],
        ["   route to: default", "destination: default"],  # cut short
    ],
)
def test_bsd_no_default_route(output):
    assert list(parse_bsd_route_get(output, "ipv4")) == []


def test_bsd_parsed_route_feeds_the_analysis():
    routes = [
        *parse_bsd_route_get(lines("macos-route-get-default.txt"), "ipv4"),
        *parse_bsd_route_get(lines("macos-route-get-inet6-default.txt"), "ipv6"),
    ]
    snap = Snapshot(
        Environment(platform="darwin", bindv6only=0),
        interfaces=(
            Interface("lo0", addresses=(IfAddr("127.0.0.1", 8),)),
            Interface("en0", addresses=(IfAddr("192.168.1.40", 24),), description="Wi-Fi"),
            Interface("bridge100", addresses=(IfAddr("192.168.64.1", 24),)),
        ),
        routes=tuple(routes),
    )
    assert NetView(snap).default_ifaces == {"ipv4": "en0", "ipv6": "en0"}
    assert Snapshot.from_dict(snap.to_dict()) == snap


# -- Windows: route print ---------------------------------------------------------------------------------
def _iface(name: str, *addrs: tuple[str, int]) -> Interface:
    return Interface(name, addresses=tuple(IfAddr(a, p) for a, p in addrs))


DOCK_VPN_IFACES = [
    _iface("Ethernet", ("10.0.0.23", 24)),
    _iface("Wi-Fi", ("192.168.1.50", 24)),
    _iface("office", ("10.8.0.2", 32)),
    _iface("Loopback Pseudo-Interface 1", ("127.0.0.1", 8), ("::1", 128)),
]


def test_windows_home_laptop():
    ifaces = load_snapshot(WINDOWS).interfaces
    got = list(parse_windows_route_print(lines("windows-route-print.txt"), ifaces))
    assert got == [Route("ipv4", "0.0.0.0/0", "Wi-Fi", "192.168.1.1", 35)]


def test_windows_dock_and_wifi_both_default_lowest_metric_wins():
    got = list(parse_windows_route_print(lines("windows-route-print-dock-vpn.txt"), DOCK_VPN_IFACES))
    # the two active 0.0.0.0/0 rows; the split-tunnel 0.0.0.0/1 and the persistent rows are not defaults
    assert got == [
        Route("ipv4", "0.0.0.0/0", "Ethernet", "10.0.0.1", 25),
        Route("ipv4", "0.0.0.0/0", "Wi-Fi", "192.168.1.1", 35),
    ]
    snap = Snapshot(Environment(platform="windows", bindv6only=1), interfaces=tuple(DOCK_VPN_IFACES), routes=tuple(got))
    assert NetView(snap).default_ifaces == {"ipv4": "Ethernet"}


def test_windows_on_link_vpn_default_has_no_gateway():
    got = list(parse_windows_route_print(lines("windows-route-print-onlink-vpn.txt"), DOCK_VPN_IFACES))
    assert got == [
        Route("ipv4", "0.0.0.0/0", "office", None, 5),
        Route("ipv4", "0.0.0.0/0", "Wi-Fi", "192.168.1.1", 9035),
    ]


def test_windows_rows_for_unknown_adapters_are_skipped():
    assert list(parse_windows_route_print(lines("windows-route-print.txt"), [])) == []
    only_wifi = [_iface("Wi-Fi", ("192.168.1.50", 24))]
    got = list(parse_windows_route_print(lines("windows-route-print-dock-vpn.txt"), only_wifi))
    assert [r.interface for r in got] == ["Wi-Fi"]


@pytest.mark.parametrize(
    "row",
    [
        "          0.0.0.0          0.0.0.0      192.168.1.1     192.168.1.50",  # no metric
        "          0.0.0.0          0.0.0.0      192.168.1.1     192.168.1.50     xx",
        "          0.0.0.0          0.0.0.0      192.168.1.1     not-an-ip     35",
        "          0.0.0.0          0.0.0.0      192.168.1.1  Default",  # a persistent-routes row
        "        127.0.0.0        255.0.0.0         On-link         127.0.0.1    331",
    ],
)
def test_windows_odd_rows_are_ignored(row):
    ifaces = [_iface("Wi-Fi", ("192.168.1.50", 24)), _iface("lo", ("127.0.0.1", 8))]
    assert list(parse_windows_route_print([row], ifaces)) == []
