"""`share`: the plan (pure, on recorded machines), the HTTP head checks of the relay (pure functions of
bytes), and the CLI contract (bad input exit 2, refusals exit 1, one line each). The relay's I/O is
tested for real in tests/lab/test_share_lab.py."""

from __future__ import annotations

import json

import pytest
from unit_helpers import LAPTOP, call_cli

from bindscope import load_snapshot, plan_share
from bindscope.analyze.share import parse_allow, parse_duration, parse_listen
from bindscope.errors import BindscopeError, ShareRefused
from bindscope.sharing.http import (
    Chunks,
    HttpError,
    authorize,
    cookie_token,
    find_token,
    parse_request,
    rewrite,
    safe_target,
    strip_cookie,
)

SNAP = load_snapshot(LAPTOP)


# -- the plan --------------------------------------------------------------------------------------------
def _wlan0() -> tuple[str, set[str]]:
    """The laptop's default-route interface address and its prefixes, read from the recording."""
    data = json.loads(LAPTOP.read_text())
    default = next(r["interface"] for r in data["routes"] if r["destination"] == "0.0.0.0/0")
    iface = next(i for i in data["interfaces"] if i["name"] == default)
    import ipaddress

    nets = set()
    v4 = None
    for a in iface["addresses"]:
        ip = ipaddress.ip_address(a["address"].split("%")[0])
        if ip.is_link_local:
            continue
        v4 = v4 or (str(ip) if ip.version == 4 else None)
        nets.add(str(ipaddress.ip_interface(f"{ip}/{a['prefixlen']}").network))
    assert v4 is not None
    return v4, nets


def test_flask_on_loopback_is_shared_over_http_on_the_default_route_address():
    plan = plan_share(5000, snapshot=SNAP)
    address, nets = _wlan0()
    assert (plan.upstream, plan.port, plan.mode, plan.server) == ("127.0.0.1", 5000, "http", "flask")
    assert (plan.listen_address, plan.listen_port, plan.interface) == (address, 5000, "wlan0")
    assert set(plan.allowed) == nets  # not docker0, br-*, wg0, tailscale0, nor link-local
    assert plan.seconds == 3600 and not plan.allow_any
    assert plan.url("TOKEN") == f"http://{address}:5000/?bindscope_token=TOKEN"


def test_vite_on_ipv6_loopback_goes_through_1():
    plan = plan_share(5173, snapshot=SNAP)
    assert plan.upstream == "::1" and plan.upstream_target == "[::1]:5173" and plan.mode == "http"


def test_datastore_needs_i_know_and_is_a_byte_relay():
    with pytest.raises(ShareRefused, match=r"PostgreSQL.*--i-know"):
        plan_share(5432, snapshot=SNAP)
    plan = plan_share(5432, snapshot=SNAP, i_know=True)
    assert plan.mode == "tcp" and any("--i-know" in n for n in plan.notes)
    with pytest.raises(BindscopeError, match="does not speak HTTP"):
        plan_share(5432, snapshot=SNAP, i_know=True, mode="http")


@pytest.mark.parametrize("port", [6379, 8000, 8080])
def test_a_server_already_reachable_is_not_relayed(port):
    with pytest.raises(ShareRefused, match=f"already reachable.*bindscope urls {port}"):
        plan_share(port, snapshot=SNAP)


def test_nothing_listening():
    with pytest.raises(ShareRefused, match="nothing listens on TCP port 9"):
        plan_share(9, snapshot=SNAP)


def test_options():
    plan = plan_share(
        5000,
        snapshot=SNAP,
        mode="tcp",
        allow=["10.1.0.0/16", "192.168.1.40"],
        duration="1h30m",
        listen="192.168.1.23:8080",
        host_header="localhost:5000",
    )
    assert plan.allowed == ("10.1.0.0/16", "192.168.1.40/32") and plan.seconds == 5400
    assert (plan.listen_address, plan.listen_port, plan.mode) == ("192.168.1.23", 8080, "tcp")
    assert plan.host_header == "localhost:5000"
    anyone = plan_share(5000, snapshot=SNAP, allow=["any"], i_mean_any=True)
    assert anyone.allow_any and anyone.networks is None and anyone.to_dict()["allowed"] == ["any"]
    with pytest.raises(BindscopeError, match="not an address of this machine"):
        plan_share(5000, snapshot=SNAP, listen="10.9.9.9:80")


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900), ("1h", 3600), ("90s", 90), ("1h30m", 5400), ("24h", 86400), (45, 45)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "m", "0m", "25h", "1d", "-5m", "1.5h", "15 m", "soon"])
def test_bad_durations(text):
    with pytest.raises(BindscopeError):
        parse_duration(text)


def test_allow_rules():
    assert parse_allow(["192.168.1.7/24"], False)[0][0].with_prefixlen == "192.168.1.0/24"
    with pytest.raises(BindscopeError, match="--i-mean-any"):
        parse_allow(["any"], False)
    with pytest.raises(BindscopeError, match="not go with"):
        parse_allow(["any", "10.0.0.0/8"], True)
    with pytest.raises(BindscopeError, match="was not given"):
        parse_allow(["10.0.0.0/8"], True)
    for bad in ["10.0.0.0/33", "lan", "1.2.3", ""]:
        with pytest.raises(BindscopeError):
            parse_allow([bad], False)


def test_listen_forms():
    assert parse_listen("192.168.1.23:8080", 5000) == ("192.168.1.23", 8080)
    assert parse_listen("192.168.1.23", 5000) == ("192.168.1.23", 5000)
    assert parse_listen(":9000", 5000) == ("", 9000)
    assert parse_listen("[fd00::1]:9000", 5000) == ("fd00::1", 9000)
    for bad in ["host:80", "[fd00::1", "1.2.3.4:99999", "[::1]x"]:
        with pytest.raises(BindscopeError):
            parse_listen(bad, 5000)


# -- the CLI -------------------------------------------------------------------------------------------
def test_cli_dry_run_json():
    r = call_cli("share", "5000", "--from", LAPTOP, "--dry-run", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["command"] == "share" and data["upstream"] == "127.0.0.1:5000" and data["mode"] == "http"


@pytest.mark.parametrize(
    "args",
    [
        ["share", "abc"],
        ["share", "0"],
        ["share", "5000", "--for", "forever"],
        ["share", "5000", "--allow", "300.0.0.0/8"],
        ["share", "5000", "--allow", "any"],
        ["share", "5000", "--i-mean-any"],
        ["share", "5000", "--tcp", "--http"],
        ["share", "5000", "--host-header", "a b"],
        ["share", "5000", "--listen", "nowhere:1"],
        ["share", "5000", "--workers", "0"],
        ["share", "5000", "--from", str(LAPTOP)],  # a recorded machine is only planned: --dry-run
    ],
)
def test_cli_bad_input_is_one_line_exit_2(args):
    extra = [] if "--from" in args or "--workers" in args else ["--from", str(LAPTOP), "--dry-run"]
    r = call_cli(*args, *extra)
    assert r.code == 2, (args, r.code, r.err)
    assert len(r.err_lines) == 1 and "Traceback" not in r.err and r.out == ""


@pytest.mark.parametrize(("port", "words"), [("5432", "--i-know"), ("6379", "already reachable"), ("9", "nothing")])
def test_cli_refusal_is_one_line_exit_1(port, words):
    r = call_cli("share", port, "--from", LAPTOP, "--dry-run")
    assert r.code == 1 and len(r.err_lines) == 1 and words in r.err, r.err


# -- request heads -------------------------------------------------------------------------------------
TOKEN = b"s3cret-token_value"
COOKIE = b"bindscope_share_5000"


def head(*lines: str) -> bytes:
    return "\r\n".join(lines).encode()


def test_parse_and_rewrite():
    h = parse_request(
        head(
            "GET /a?b=1 HTTP/1.1",
            "Host: 192.168.1.23:5000",
            "Cookie: a=1; bindscope_share_5000=s3cret-token_value; b=2",
            "X-Forwarded-For: 6.6.6.6",
            "Forwarded: for=6.6.6.6",
            "Accept: */*",
        )
    )
    assert authorize(h, TOKEN, COOKIE) == (0, None)
    out = rewrite(h, client_ip="192.168.1.50", cookie=COOKIE, host_header=b"localhost:5000")
    lines = out.decode().split("\r\n")
    assert lines[0] == "GET /a?b=1 HTTP/1.1" and out.endswith(b"\r\n\r\n")
    assert "Host: localhost:5000" in lines and "Cookie: a=1; b=2" in lines and "Accept: */*" in lines
    assert "X-Forwarded-For: 192.168.1.50" in lines and "X-Forwarded-Proto: http" in lines
    assert "X-Forwarded-Host: 192.168.1.23:5000" in lines
    assert b"6.6.6.6" not in out and TOKEN not in out and COOKIE not in out


def test_authorize():
    def verdict(*lines: str) -> tuple[int, bytes | None]:
        return authorize(parse_request(head(*lines)), TOKEN, COOKIE)

    assert verdict("GET / HTTP/1.1", "Host: x") == (401, None)
    assert verdict("GET /?bindscope_token=nope HTTP/1.1", "Host: x") == (403, None)
    assert verdict("GET /p?x=1&bindscope_token=s3cret-token_value HTTP/1.1", "Host: x") == (303, b"/p?x=1")
    assert verdict("GET /?bindscope_token=s3cret-token_value HTTP/1.1", "Host: x") == (303, b"/")
    assert verdict("GET / HTTP/1.1", "Host: x", "Cookie: bindscope_share_5000=nope") == (403, None)
    assert verdict("GET / HTTP/1.1", "Host: x", "Cookie: bindscope_share_50000=s3cret-token_value") == (401, None)
    assert verdict("GET / HTTP/1.1", "Host: x", "Cookie: x=1", "Cookie: bindscope_share_5000=s3cret-token_value") == (
        0,
        None,
    )


@pytest.mark.parametrize(
    "raw",
    [
        head("POST / HTTP/1.1", "Host: x", "Content-Length: 5", "Transfer-Encoding: chunked"),
        head("POST / HTTP/1.1", "Host: x", "Content-Length: 5", "Content-Length: 6"),
        head("POST / HTTP/1.1", "Host: x", "Transfer-Encoding: gzip, chunked"),
        head("POST / HTTP/1.1", "Host: x", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"),
        head("POST / HTTP/1.0", "Transfer-Encoding: chunked"),
        head("POST / HTTP/1.1", "Host: x", "Content-Length: -1"),
        head("POST / HTTP/1.1", "Host: x", "Content-Length: 1e3"),
        head("GET / HTTP/1.1", "Host: x", "Host: y"),
        head("GET / HTTP/1.1"),
        head("GET / HTTP/1.1", "Host : x"),
        head("GET / HTTP/1.1", "Host: x", " folded"),
        head("GET / HTTP/1.1", "Host: x", "A: b\rc"),
        head("GET / HTTP/1.1", "Host: x\x00"),
        b"GET / HTTP/1.1\nHost: x",
        head("GET /a b HTTP/1.1", "Host: x"),
        head("GET / HTTP/2.0", "Host: x"),
        head("CONNECT x:443 HTTP/1.1", "Host: x"),
        head("G\x7fT / HTTP/1.1", "Host: x"),
        b"",
    ],
)
def test_ambiguous_heads_are_refused(raw):
    with pytest.raises(HttpError):
        parse_request(raw)


def test_token_never_logged_or_forwarded():
    target = b"/x?bindscope_token=s3cret-token_value&y=2"
    assert find_token(target) == (TOKEN, b"/x?y=2")
    assert "s3cret" not in safe_target(target) and safe_target(b"/plain?q") == "/plain?q"
    assert cookie_token([b"a=1; bindscope_share_5000=v"], COOKIE) == b"v"
    assert strip_cookie(b"bindscope_share_5000=v", COOKIE) == b""


def test_chunks_across_any_split():
    body = b"5\r\nhello\r\n3;ext=1\r\n, w\r\n4\r\norld\r\n0\r\nTrailer: x\r\n\r\n"
    rest = b"GET /next"
    data = body + rest
    for cut in range(1, len(data)):
        parser = Chunks()
        used1, done1 = parser.feed(data[:cut])
        assert not done1 or used1 == len(body)
        if done1:
            continue
        used2, done2 = parser.feed(data, used1)
        assert done2 and used1 + used2 == len(body), cut
    with pytest.raises(HttpError):
        Chunks().feed(b"zz\r\n")
    with pytest.raises(HttpError):
        Chunks().feed(b"2\r\nabc\r\n")
