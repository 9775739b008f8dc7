"""`bindscope explain` against reality: every path verdict is checked with a real TCP connect from the
laptop itself, from the phone on the same LAN and from the stranger behind the router."""

from __future__ import annotations

import ipaddress
import sys

import pytest

pytestmark = pytest.mark.lab

LAPTOP4, LAPTOP6 = "198.51.100.1", "fd42:b1d:0:1::1"
BIND_ADDRESSES = ["127.0.0.1", "0.0.0.0", "::", "::1", LAPTOP4, LAPTOP6]


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(address.split("%", 1)[0])


def _explain(lab, *args: str, expect_rc: int = 0) -> dict:
    return lab.bindscope_json("laptop", "explain", *args, expect_rc=expect_rc)


def _check_paths_against_reality(lab, data: dict, port: int) -> None:
    """Every path's `connects` must equal what a real connect to path.address:port does, from the laptop
    (all paths; link-local with its %zone), the phone and the stranger (non-loopback, non-link-local)."""
    paths = data["paths"]
    addresses = {p["address"] for p in paths}
    # The lab laptop's own addresses must all be there (no vacuous pass on an empty list).
    assert {"127.0.0.1", "::1", LAPTOP4, LAPTOP6} <= addresses, f"paths miss lab addresses: {sorted(addresses)}"
    link_local = [a for a in addresses if a.startswith("fe80:")]
    assert link_local, f"no IPv6 link-local path: {sorted(addresses)}"
    assert all("%" in a for a in link_local), f"link-local path without %zone: {link_local}"

    mismatches = []
    for host in ("laptop", "phone", "stranger"):
        selected = [
            p
            for p in paths
            if host == "laptop" or not (_ip(p["address"]).is_loopback or _ip(p["address"]).is_link_local)
        ]
        results = lab.connect_many(host, [(p["address"], port) for p in selected])
        for p, (ok, reason) in zip(selected, results, strict=True):
            if p["connects"] is not ok:
                mismatches.append(
                    f"{host} -> [{p['address']}]:{port} ({p['interface']}): bindscope says connects="
                    f"{p['connects']!r}, reality: {reason}"
                )
    assert not mismatches, f"explain {data['target']}: verdicts differ from reality:\n" + "\n".join(mismatches)


@pytest.mark.parametrize("bind", BIND_ADDRESSES)
def test_explain_paths_match_real_connects(lab, bind):
    port = lab.port()
    server = lab.spawn("laptop", [sys.executable, "-m", "http.server", "--bind", bind, str(port)])
    lab.wait_listening("laptop", port, proc=server)

    data = _explain(lab, bind)
    assert data["target"] == bind
    assert data["bindable"] is True, data
    assert data["cannot_bind"] is None
    assert data["resolved"] == []
    _check_paths_against_reality(lab, data, port)


def test_explain_address_not_on_this_machine(lab):
    data = _explain(lab, "198.51.100.77", expect_rc=1)
    assert data["bindable"] is False
    assert isinstance(data["cannot_bind"], str) and data["cannot_bind"]
    # Reality: the kernel refuses the bind.
    [(ok, reason)] = lab.try_bind("laptop", [("198.51.100.77", lab.port(), None)])
    assert not ok and "EADDRNOTAVAIL" in reason, reason


def test_explain_v6only_yes_matches_a_real_v6only_socket(lab):
    port = lab.port()
    lab.hold("laptop", [("::", port, True)])  # a real `::` socket with IPV6_V6ONLY=1

    data = _explain(lab, "::", "--v6only", "yes")
    assert data["bindable"] is True
    assert [(b["address"], b["v6only"]) for b in data["binds"]] == [("::", True)], data["binds"]
    v4 = [p for p in data["paths"] if p["family"] == "ipv4"]
    assert v4, "no IPv4 paths"
    assert all(p["connects"] is False for p in v4), [(p["address"], p["connects"]) for p in v4]
    _check_paths_against_reality(lab, data, port)


def test_explain_localhost_resolving_to_ipv6_first(lab):
    lab.netns_hosts("laptop", "::1 localhost\n127.0.0.1 localhost\n")
    real = lab.getaddrinfo("laptop", "localhost")
    assert real == ["::1", "127.0.0.1"], f"the lab resolver itself answers {real}"

    data = _explain(lab, "localhost")
    assert data["kind"] == "name"
    assert data["resolved"] == real
    assert data["warnings"], "localhost resolves to ::1 first: a warning is expected"


def test_explain_localhost_ipv4_only(lab):
    lab.netns_hosts("laptop", "127.0.0.1 localhost\n")
    real = lab.getaddrinfo("laptop", "localhost")
    assert real == ["127.0.0.1"], f"the lab resolver itself answers {real}"

    data = _explain(lab, "localhost")
    assert data["kind"] == "name"
    assert data["resolved"] == real
