"""`bindscope port` and `bindscope free` against reality: every `would_bind` verdict is checked with a
real bind attempt in the laptop's namespace while a real socket holds the port."""

from __future__ import annotations

import ipaddress
import re

import pytest

pytestmark = pytest.mark.lab

LAPTOP4, LAPTOP6 = "198.51.100.1", "fd42:b1d:0:1::1"

HELD = [
    pytest.param("127.0.0.1", None, id="127.0.0.1"),
    pytest.param("0.0.0.0", None, id="0.0.0.0"),
    pytest.param("::1", None, id="::1"),
    pytest.param("::", False, id="::-dualstack"),
    pytest.param("::", True, id="::-v6only"),
    pytest.param(LAPTOP4, None, id=LAPTOP4),
]

# Addresses `binds` must at least cover (more, such as link-local, are welcome), and both kinds of `::`.
EXPECTED_ADDRESSES = {"0.0.0.0", "::", "127.0.0.1", "::1", LAPTOP4, LAPTOP6}


def _norm(address: str) -> str:
    host, _, zone = address.partition("%")
    text = str(ipaddress.ip_address(host))
    return f"{text}%{zone}" if zone else text


def _port(lab, port: int, expect_rc: int) -> dict:
    data = lab.bindscope_json("laptop", "port", str(port), expect_rc=expect_rc)
    assert data["port"] == port
    assert data["proto"] == "tcp"
    return data


def _check_binds_against_reality(lab, data: dict, port: int) -> None:
    binds = data["binds"]
    wildcards6 = {b["v6only"] for b in binds if b["address"] == "::"}
    assert wildcards6 == {False, True}, f"binds need `::` with v6only false and true: {binds}"
    addresses = {_norm(b["address"]) for b in binds}
    assert addresses >= EXPECTED_ADDRESSES, f"binds miss addresses: {sorted(addresses)}"
    assert any(a.startswith("fe80:") and "%" in a for a in addresses), f"no link-local %zone candidate: {addresses}"

    reality = lab.try_bind("laptop", [(b["address"], port, b["v6only"]) for b in binds])
    mismatches = [
        f"bind [{b['address']}]:{port} v6only={b['v6only']!r}: bindscope says would_bind={b['would_bind']!r} "
        f"(conflicts_with={b.get('conflicts_with')}), reality: {reason}"
        for b, (ok, reason) in zip(binds, reality, strict=True)
        if b["would_bind"] is not ok
    ]
    assert not mismatches, "port verdicts differ from reality:\n" + "\n".join(mismatches)


def _really_free_everywhere(lab, port: int) -> list[str]:
    """Problems binding `port` on 0.0.0.0 and on `::` (dual-stack and v6-only), each alone."""
    wanted = [("0.0.0.0", port, None), ("::", port, False), ("::", port, True)]
    return [
        f"{a} v6only={v}: {reason}"
        for (a, _, v), (ok, reason) in zip(wanted, lab.try_bind("laptop", wanted), strict=True)
        if not ok
    ]


@pytest.mark.parametrize(("address", "v6only"), HELD)
def test_port_in_use_verdicts_match_real_binds(lab, address, v6only):
    port = lab.port()
    lab.hold("laptop", [(address, port, v6only)])

    data = _port(lab, port, expect_rc=1)
    assert data["free"] is False
    held = [h for h in data["holders"] if _norm(h["address"]) == address and h["port"] == port]
    assert held, f"holder {address}:{port} not reported: {data['holders']}"
    if address == "::":
        assert held[0]["v6only"] is v6only, f"holder v6only: {held[0]['v6only']!r}, really {v6only!r}"
    _check_binds_against_reality(lab, data, port)

    if data.get("next_free") is not None:
        assert data["next_free"] != port
        assert not _really_free_everywhere(lab, data["next_free"]), data["next_free"]


def test_port_free_when_nothing_holds_it(lab):
    port = lab.port()
    data = _port(lab, port, expect_rc=0)
    assert data["free"] is True
    assert data["holders"] == []
    not_bindable = [b for b in data["binds"] if b["would_bind"] is not True]
    assert not not_bindable, not_bindable
    _check_binds_against_reality(lab, data, port)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(("::1", None), ("0.0.0.0", None), id="P-on-::1,P+1-on-0.0.0.0"),
        pytest.param(("0.0.0.0", None), ("::1", None), id="P-on-0.0.0.0,P+1-on-::1"),
        pytest.param(("::", True), ("127.0.0.1", None), id="P-on-::v6only,P+1-on-127.0.0.1"),
    ],
)
def test_free_near_skips_ports_held_on_one_family(lab, first, second):
    port = lab.port(count=2)
    lab.hold("laptop", [(first[0], port, first[1]), (second[0], port + 1, second[1])])

    proc = lab.bindscope("laptop", "free", "--near", str(port))
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert re.fullmatch(r"[0-9]+\n", proc.stdout), f"free must print exactly one number: {proc.stdout!r}"
    found = int(proc.stdout)
    assert found not in (port, port + 1), f"free --near {port} gave a port in use: {found}"
    assert 0 < found < 65536
    problems = _really_free_everywhere(lab, found)
    assert not problems, f"free --near {port} gave {found}, which is not bindable: {problems}"
