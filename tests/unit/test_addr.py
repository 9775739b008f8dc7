"""addr.py: every target form people paste, scopes, and the URLs/host:port texts we print."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bindscope.addr import Scope, hostport, parse_port, parse_target, scope_of, url
from bindscope.errors import BindscopeError

ip = ipaddress.ip_address


# -- parse_target: the documented forms ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind", "address", "zone", "name", "port", "scheme"),
    [
        ("5000", "port", None, None, None, 5000, None),
        (":5000", "port", None, None, None, 5000, None),
        ("  8000  ", "port", None, None, None, 8000, None),
        ("0:8000", "ip", "0.0.0.0", None, None, 8000, None),
        ("*:8080", "any", None, None, None, 8080, None),
        ("*", "any", None, None, None, None, None),
        ("localhost:5000", "name", None, None, "localhost", 5000, None),
        ("localhost", "name", None, None, "localhost", None, None),
        ("LocalHost.:5000", "name", None, None, "localhost", 5000, None),
        ("my-box.example.com:3000", "name", None, None, "my-box.example.com", 3000, None),
        ("127.0.0.1:5000", "ip", "127.0.0.1", None, None, 5000, None),
        ("0.0.0.0", "ip", "0.0.0.0", None, None, None, None),
        ("192.168.1.23:65535", "ip", "192.168.1.23", None, None, 65535, None),
        ("[::1]:8000", "ip", "::1", None, None, 8000, None),
        ("[::1]", "ip", "::1", None, None, None, None),
        ("::", "ip", "::", None, None, None, None),
        ("::1", "ip", "::1", None, None, None, None),
        ("fe80::1%eth0", "ip", "fe80::1", "eth0", None, None, None),
        ("[fe80::1%wlp0s20f3]:8000", "ip", "fe80::1", "wlp0s20f3", None, 8000, None),
        ("::ffff:192.0.2.1", "ip", "::ffff:192.0.2.1", None, None, None, None),
        ("http://example.com:8080/path", "name", None, None, "example.com", 8080, "http"),
        ("http://example.com/path?q=1#x", "name", None, None, "example.com", 80, "http"),
        ("https://example.com", "name", None, None, "example.com", 443, "https"),
        ("HTTPS://Example.COM/", "name", None, None, "example.com", 443, "https"),
        ("ws://127.0.0.1", "ip", "127.0.0.1", None, None, 80, "ws"),
        ("wss://127.0.0.1:9443/socket", "ip", "127.0.0.1", None, None, 9443, "wss"),
        ("http://[::1]:8000/x", "ip", "::1", None, None, 8000, "http"),
        ("https://[::1]/", "ip", "::1", None, None, 443, "https"),
        ("http://[fe80::1%25eth0]:8000/", "ip", "fe80::1", "eth0", None, 8000, "http"),
        ("http://user:secret@localhost:5000/admin", "name", None, None, "localhost", 5000, "http"),
        ("http://127.0.0.1:5000?next=/", "ip", "127.0.0.1", None, None, 5000, "http"),
        ("http://*:8080/", "any", None, None, None, 8080, "http"),
    ],
)
def test_parse_target_forms(text, kind, address, zone, name, port, scheme):
    t = parse_target(text)
    assert t.raw == text
    assert t.kind == kind
    assert t.ip == (ip(address) if address else None)
    assert t.zone == zone
    assert t.name == name
    assert t.port == port
    assert t.scheme == scheme


def test_django_zero_shorthand_says_how_it_was_read():
    t = parse_target("0:8000")
    assert t.ip == ip("0.0.0.0")
    assert t.note and "0.0.0.0" in t.note


def test_star_means_both_families():
    t = parse_target("*:8080")
    assert t.kind == "any" and t.ip is None
    assert t.note and "IPv4 and IPv6" in t.note
    assert t.host_text == "*"


def test_zero_alone_is_a_port_not_an_address():
    # '0' is Django's shorthand only in front of a port; alone it is port 0, which is invalid.
    with pytest.raises(BindscopeError):
        parse_target("0")


def test_host_text():
    assert parse_target("fe80::1%eth0").host_text == "fe80::1%eth0"
    assert parse_target("localhost:1").host_text == "localhost"
    assert parse_target("5000").host_text == ""


@pytest.mark.parametrize(
    "text",
    [
        "999.1.1.1",
        "999.1.1.1:80",
        "256.0.0.1",
        "1.2.3",
        "1.2.3.4.5",
        "01.02.03.004",  # leading zeros: ambiguous (octal in inet_aton), ipaddress rejects them
        "localhost:abc",
        "localhost:",
        "localhost:-1",
        "localhost:5000:1",
        "[::1",
        "[::1]:",
        "[::1]x",
        "[::1]:abc",
        "]:80",
        "[127.0.0.1]:80",
        "[localhost]:80",
        "0",
        ":0",
        "0.0.0.0:0",
        "localhost:0",
        "[::1]:0",
        "65536",
        ":65536",
        "127.0.0.1:65536",
        "[::1]:99999",
        "",
        "   ",
        "local host",
        "localhost :5000",
        " 1 2",
        "a\tb",
        "local\nhost",
        "\x00",
        "fe80::1%",
        "fe80::1%eth/0",
        "1.2.3.4%eth0",
        "host%eth0",
        ":::1",
        "1::2::3",
        "gggg::1",
        "-bad.example.com",
        "bad-.example.com",
        "a..b",
        "example.123",
        "bücher.example",
        "x" * 64 + ".com",
        ":",
        "::8000x",
        "ftp://host/",
        "file:///etc/passwd",
        "http://",
        "http:///path",
        "http://user@/",
        "http://[::1",
        "http://[::1]x/",
        "http://[127.0.0.1]/",
        "http://::1:8000/",
        "http://host:/",
        "http://host:0/",
        "http://host:65536/",
        "https://999.1.1.1/",
        "５０００",  # full-width digits: str.isdigit() is True, but they are not a port
        "٨٠٠٠",  # Arabic-Indic digits
    ],
)
def test_parse_target_rejects(text):
    with pytest.raises(BindscopeError) as info:
        parse_target(text)
    message = str(info.value)
    assert message and "\n" not in message


def test_parse_target_rejects_non_strings():
    for value in (None, 5000, b"5000", ["5000"]):
        with pytest.raises(BindscopeError):
            parse_target(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    ["1" * 5000, ":" + "9" * 5000, "localhost:" + "9" * 5000, "[::1]:" + "9" * 5000, "http://h:" + "9" * 5000],
    ids=["digits", ":digits", "name:digits", "[v6]:digits", "url:digits"],
)
def test_huge_numbers_are_input_errors(text):
    # int() refuses strings of more than 4300 digits with a plain ValueError (CPython's
    # int_max_str_digits); a pasted blob of digits is still bad *input*, not a crash.
    with pytest.raises(BindscopeError):
        parse_target(text)


def test_parse_port():
    assert parse_port("1") == 1
    assert parse_port(" 65535 ") == 65535
    for bad in ("0", "65536", "-1", "+80", "8_000", "8e3", "", "²"):
        with pytest.raises(BindscopeError):
            parse_port(bad)


# -- scopes --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "scope"),
    [
        ("0.0.0.0", Scope.UNSPECIFIED),
        ("::", Scope.UNSPECIFIED),
        ("127.0.0.1", Scope.LOOPBACK),
        ("127.0.1.1", Scope.LOOPBACK),
        ("::1", Scope.LOOPBACK),
        ("::ffff:127.0.0.1", Scope.LOOPBACK),
        ("169.254.10.20", Scope.LINK_LOCAL),
        ("fe80::1", Scope.LINK_LOCAL),
        ("224.0.0.251", Scope.MULTICAST),
        ("ff02::fb", Scope.MULTICAST),
        ("100.64.0.1", Scope.CGNAT),
        ("100.101.102.103", Scope.CGNAT),
        ("100.127.255.254", Scope.CGNAT),
        ("fd7a:115c:a1e0::1234", Scope.ULA),
        ("fc00::1", Scope.ULA),
        ("10.0.0.1", Scope.PRIVATE),
        ("172.16.5.4", Scope.PRIVATE),
        ("172.31.255.255", Scope.PRIVATE),
        ("192.168.1.23", Scope.PRIVATE),
        ("::ffff:192.168.1.23", Scope.PRIVATE),
        ("8.8.8.8", Scope.PUBLIC),
        ("5.161.10.20", Scope.PUBLIC),
        ("100.128.0.1", Scope.PUBLIC),  # just outside 100.64.0.0/10
        ("172.32.0.1", Scope.PUBLIC),  # just outside 172.16.0.0/12
        ("2a02:8109:b6c0:1e00::1", Scope.PUBLIC),
        ("2606:4700:4700::1111", Scope.PUBLIC),
        ("240.0.0.1", Scope.RESERVED),
    ],
)
def test_scope_of(address, scope):
    assert scope_of(ip(address)) == scope


def test_scope_is_a_plain_string():
    assert str(Scope.CGNAT) == "cgnat"
    assert f"{Scope.LINK_LOCAL}" == "link-local"


# -- url() and hostport() ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("127.0.0.1", 8000), {}, "127.0.0.1:8000"),
        ((ip("127.0.0.1"), 8000), {}, "127.0.0.1:8000"),
        (("::1", 8000), {}, "[::1]:8000"),
        ((ip("::"), 80), {}, "[::]:80"),
        ((ip("fe80::1"), 8000), {"zone": "eth0"}, "[fe80::1%eth0]:8000"),
        (("localhost", 5000), {}, "localhost:5000"),
        (("192.168.1.23", None), {}, "192.168.1.23"),
        (("::1", None), {}, "[::1]"),
    ],
)
def test_hostport(args, kwargs, expected):
    assert hostport(*args, **kwargs) == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("127.0.0.1", 8000), {}, "http://127.0.0.1:8000/"),
        (("::1", 8000), {}, "http://[::1]:8000/"),
        ((ip("2a02:8109:b6c0:1e00::1"), 5173), {}, "http://[2a02:8109:b6c0:1e00::1]:5173/"),
        ((ip("fe80::1"), 8000), {"zone": "eth0"}, "http://[fe80::1%25eth0]:8000/"),
        (("127.0.0.1", 80), {}, "http://127.0.0.1/"),
        (("127.0.0.1", 443), {}, "http://127.0.0.1:443/"),
        (("example.com", 443), {"scheme": "https"}, "https://example.com/"),
        (("example.com", 80), {"scheme": "https"}, "https://example.com:80/"),
        (("::1", 443), {"scheme": "wss"}, "wss://[::1]/"),
        (("localhost", None), {}, "http://localhost/"),
    ],
)
def test_url(args, kwargs, expected):
    assert url(*args, **kwargs) == expected


# -- properties ----------------------------------------------------------------------------------------
ports = st.integers(min_value=1, max_value=65535)
zones = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=1, max_size=15)
addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6))


@given(addresses, ports)
def test_url_and_hostport_parse_back(address, port):
    for text in (url(address, port), hostport(address, port)):
        t = parse_target(text)
        assert (t.kind, t.ip, t.port, t.zone) == ("ip", address, port, None), text


@given(st.ip_addresses(v=6, network="fe80::/10"), ports, zones)
@example(ip("fe80::1"), 8000, "25")  # a zone that looks like the %25 escape itself
def test_zoned_url_and_hostport_parse_back(address, port, zone):
    for text in (url(address, port, zone=zone), hostport(address, port, zone)):
        t = parse_target(text)
        assert (t.ip, t.port, t.zone) == (address, port, zone), text


PIECES = st.sampled_from(
    [
        *"0123456789:[]%.*/@?#-_ aZxfe",
        *("://", "http://", "https://", "ws://", "ftp://", "%25", "::", "fe80", "ffff", "eth0", "localhost"),
        *("0", "65535", "65536", "99999", "1.2.3.4", "255", "256", "٣", "²", "１", "\u200b", "\t", "\x00"),
    ]
)


def _only_bindscope_errors(text: str) -> None:
    try:
        t = parse_target(text)
    except BindscopeError:
        return
    # what parses must be self-consistent
    assert t.kind in ("port", "ip", "name", "any")
    assert t.port is None or 1 <= t.port <= 65535
    if t.kind == "port":
        assert t.port is not None and t.ip is None and t.name is None
    if t.kind == "ip":
        assert t.ip is not None and t.name is None
    if t.kind == "name":
        assert t.name and t.ip is None


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_fuzz_arbitrary_text_raises_only_bindscope_error(text):
    _only_bindscope_errors(text)


@settings(max_examples=1500, deadline=None)
@given(st.lists(PIECES, max_size=14).map("".join))
def test_fuzz_pieces_raise_only_bindscope_error(text):
    _only_bindscope_errors(text)
