"""The pure half of `probe`: classes from errnos and from the bytes servers really sent.

Fixtures in tests/unit/fixtures/probe/ were recorded from real servers on loopback with a raw socket
(`GET / HTTP/1.1`, `Host: 198.51.100.1:PORT` or `laptop.lan:PORT`, `Connection: close`):
- vite-403.bin: Vite 6.4.6 dev server (`npx vite --host 127.0.0.1`), Host laptop.lan;
- webpack-403.bin: webpack-dev-server 5 (`npx webpack serve`), Host laptop.lan;
- django-debug-400.head.bin: Django 5.2 runserver, DEBUG=True, ALLOWED_HOSTS=[] (first 4 KiB of 62 KiB);
- django-nodebug-400.bin: Django 5.2 runserver, DEBUG=False, ALLOWED_HOSTS=["localhost"];
- nginx-plain-on-tls.bin: nginx 1.22 `listen ... ssl` sent plain HTTP; nginx-502.bin: proxy_pass to a closed port;
- httpserver-200.bin: `python -m http.server` (first 1 KiB); httpserver-to-clienthello.bin: its answer to a
  Python ssl ClientHello; s_server-www-200.bin: `openssl s_server -www`, decrypted reply to GET.
Banners of SSH, Redis and MySQL below are written from those protocols' documented greetings (no such server
runs here), marked as such.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from unit_helpers import call_cli

from bindscope.analyze import probeclass as pc
from bindscope.errors import BindscopeError

FIX = Path(__file__).resolve().parent / "fixtures" / "probe"


def rec(name: str) -> bytes:
    return (FIX / name).read_bytes()


def plain(data: bytes, end: str = "eof", host: str = "198.51.100.1:8000") -> pc.AppCheck | None:
    return pc.plain_check(pc.Reply(data, end), host_header=host)


# -- recorded HTTP replies -------------------------------------------------------------------------------
def test_vite_blocked_host():
    app = plain(rec("vite-403.bin"), host="laptop.lan:28173")
    assert app is not None
    assert (app.cls, app.status, app.hint, app.ok) == ("host-not-allowed", 403, "vite-allowed-hosts", False)
    assert "server.allowedHosts" in app.detail and "'laptop.lan'" in app.detail
    steps = pc.next_steps(pc.OPEN, app, port=28173, host="laptop.lan", scheme=None)
    assert "allowedHosts: ['laptop.lan']" in steps[0]


def test_webpack_invalid_host_header():
    app = plain(rec("webpack-403.bin"), host="laptop.lan:28174")
    assert app is not None
    assert (app.cls, app.status, app.hint) == ("host-not-allowed", 403, "webpack-allowed-hosts")
    assert "devServer" in pc.next_steps(pc.OPEN, app, port=28174, host="laptop.lan", scheme=None)[0]


@pytest.mark.parametrize("name", ["django-debug-400.head.bin", "django-nodebug-400.bin"])
def test_django_disallowed_host(name):
    app = plain(rec(name), end="complete" if "head" in name else "eof", host="198.51.100.1:28448")
    assert app is not None
    assert (app.cls, app.status, app.hint) == ("host-not-allowed", 400, "django-allowed-hosts")
    assert app.server == "WSGIServer/0.2 CPython/3.11.7"
    steps = pc.next_steps(pc.OPEN, app, port=28448, host="198.51.100.1", scheme=None)
    assert "ALLOWED_HOSTS = ['198.51.100.1']" in steps[0]


def test_a_plain_400_is_not_django():
    data = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad request"
    app = plain(data)
    assert app is not None and (app.cls, app.hint) == ("http-error", None)


def test_nginx_plain_http_on_its_tls_port():
    app = plain(rec("nginx-plain-on-tls.bin"))
    assert app is not None and (app.cls, app.status) == ("tls-on-http-port", 400)
    assert pc.next_steps(pc.OPEN, app, port=8443, host="198.51.100.1", scheme=None) == (
        "Use https://198.51.100.1:8443/",
    )


def test_nginx_502_is_a_proxy_with_its_upstream_down():
    app = plain(rec("nginx-502.bin"))
    assert app is not None
    assert (app.cls, app.status, app.hint, app.server) == ("http-error", 502, "proxy-upstream-down", "nginx/1.22.1")


def test_http_server_200():
    data = rec("httpserver-200.bin")  # the first 1 KiB
    app = plain(data, end="complete")
    assert app is not None and (app.cls, app.ok, app.status, app.reason) == ("http-ok", True, 200, "OK")
    assert app.server is not None and app.server.startswith("SimpleHTTP/")


@pytest.mark.parametrize(
    ("reply", "cls", "ok"),
    [
        (b"HTTP/1.1 302 Found\r\nLocation: /login\r\nContent-Length: 0\r\n\r\n", "http-ok", True),
        (b'HTTP/1.1 404 Not Found\r\nContent-Length: 22\r\n\r\n{"detail":"Not Found"}', "http-ok", True),
        (b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", "http-denied", False),
        (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nForbidden", "http-denied", False),
        (b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", "http-error", False),
    ],
)
def test_http_statuses(reply, cls, ok):
    app = plain(reply)
    assert app is not None and (app.cls, app.ok) == (cls, ok)


@pytest.mark.parametrize("location", ["http://localhost:3000/", "http://127.0.0.1:8000/login", "https://[::1]/"])
def test_redirect_to_loopback_is_flagged(location):
    app = plain(f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode())
    assert app is not None and (app.cls, app.ok, app.hint) == ("http-error", False, "redirect-to-localhost")
    assert app.location == location


def test_chunked_body_is_decoded_for_hints():
    body = b'Blocked request. This host ("x.lan") is not allowed.\nTo allow this host, add `preview.allowedHosts`'
    data = b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n" + f"{len(body):x}\r\n".encode() + body
    data += b"\r\n0\r\n\r\n"
    assert pc.reply_complete(data)
    app = plain(data, host="x.lan:4173")
    assert app is not None and app.hint == "vite-allowed-hosts" and "preview.allowedHosts" in app.detail


# -- not HTTP ---------------------------------------------------------------------------------------------
def test_tls_alert_in_reply_to_http():
    alert = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46])  # a TLS 1.2 fatal protocol_version alert
    assert pc.reply_complete(alert)
    app = plain(alert)
    assert app is not None and app.cls == "tls-on-http-port" and "alert" in app.detail


@pytest.mark.parametrize(
    ("banner", "kind"),
    [  # written from the protocols' greetings, not recorded
        (b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", "SSH"),
        (b"-DENIED Redis is running in protected mode because protected mode is enabled\r\n", "protected mode"),
        (b"-ERR unknown command 'GET'\r\n", "Redis"),
        (b"\x4a\x00\x00\x00\x0a8.0.36\x00", "MySQL"),
    ],
)
def test_banners_are_not_http(banner, kind):
    assert pc.reply_complete(banner) or len(banner) < 256
    app = plain(banner)
    assert app is not None and app.cls == "not-http" and kind in app.detail
    result = pc.address_result(
        "198.51.100.1", 22, pc.OPEN, errno_text=None, elapsed_ms=1, app=app, host="h", scheme=None
    )
    assert result.ok, "host:port without a scheme: reachable is the answer"
    result = pc.address_result(
        "198.51.100.1", 22, pc.OPEN, errno_text=None, elapsed_ms=1, app=app, host="h", scheme="http"
    )
    assert not result.ok, "an http:// URL promised HTTP"


def test_silence_then_tls_handshake_is_tls_on_http_port():
    cls, app = pc.after_silence(pc.Reply(b"", "eof"), pc.TlsOutcome(True, b"\x16\x03\x03", "complete", None, "TLSv1.3"))
    assert cls == "open" and app is not None and app.cls == "tls-on-http-port" and app.tls_version == "TLSv1.3"


@pytest.mark.parametrize("end", ["eof", "reset"])
def test_closed_twice_is_reset(end):
    cls, app = pc.after_silence(pc.Reply(b"", end), pc.TlsOutcome(False, b"", end))
    assert (cls, app) == ("reset", None)
    assert ("RST" if end == "reset" else "FIN") in pc.reset_detail(pc.Reply(b"", end))


def test_silent_twice_is_no_reply():
    cls, app = pc.after_silence(pc.Reply(b"", "timeout", elapsed_ms=3000), pc.TlsOutcome(False, b"", "timeout"))
    assert cls == "open" and app is not None and app.cls == "no-reply"
    result = pc.address_result("198.51.100.1", 80, cls, errno_text=None, elapsed_ms=1, app=app, host="h", scheme=None)
    assert not result.ok and result.next_steps


# -- https:// ----------------------------------------------------------------------------------------------
def test_http_server_answering_a_client_hello_is_http_on_tls_port():
    raw = rec("httpserver-to-clienthello.bin")  # an HTTP/0.9-style page: no status line
    cls, app = pc.tls_check(pc.TlsOutcome(False, raw, "ssl-error", "WRONG_VERSION_NUMBER"), None, host_header="h")
    assert cls == "open" and app is not None and app.cls == "http-on-tls-port"


def test_status_line_to_client_hello_is_http_on_tls_port():
    raw = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    cls, app = pc.tls_check(pc.TlsOutcome(False, raw, "ssl-error", "RECORD_LAYER_FAILURE"), None, host_header="h")
    assert cls == "open" and app is not None and app.cls == "http-on-tls-port"


def test_tls_handshake_then_http():
    reply = pc.Reply(rec("s_server-www-200.bin"), "eof")
    cls, app = pc.tls_check(pc.TlsOutcome(True, b"", "complete", None, "TLSv1.3"), reply, host_header="h")
    assert cls == "open" and app is not None
    assert (app.cls, app.status, app.scheme, app.tls_version) == ("http-ok", 200, "https", "TLSv1.3")


def test_tls_alert_handshake_failure_is_tls_error():
    raw = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])
    cls, app = pc.tls_check(
        pc.TlsOutcome(False, raw, "ssl-error", "SSLV3_ALERT_HANDSHAKE_FAILURE"), None, host_header="h"
    )
    assert cls == "open" and app is not None and app.cls == "tls-error" and "HANDSHAKE_FAILURE" in app.detail


def test_tls_hello_closed_is_reset():
    assert pc.tls_check(pc.TlsOutcome(False, b"", "reset"), None, host_header="h") == ("reset", None)


# -- errnos -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("ECONNREFUSED", "refused"),
        ("WSAECONNREFUSED", "refused"),
        ("ETIMEDOUT", "timeout"),
        ("EHOSTUNREACH", "host-unreachable"),
        ("EHOSTDOWN", "host-unreachable"),
        ("ENETUNREACH", "network-unreachable"),
        ("WSAENETUNREACH", "network-unreachable"),
        ("ECONNRESET", "reset"),
        ("EPERM", "error"),
        (None, "error"),
    ],
)
def test_connect_classes(name, cls):
    assert pc.connect_class(name) == cls


def test_our_timer_is_a_timeout():
    assert pc.connect_class(None, timed_out=True) == "timeout"
    assert "timed out" in pc.connect_detail("timeout", None, 3000)


def test_every_class_has_a_meaning_and_failures_have_next_steps():
    for cls in (*pc.CONNECT_CLASSES, *pc.APP_CLASSES):
        assert pc.MEANING[cls].endswith(".")
    for cls in ("refused", "timeout", "reset"):
        steps = pc.next_steps(cls, None, port=8000, host="198.51.100.1", scheme=None)
        assert any("bindscope doctor 8000" in s for s in steps), (cls, steps)


# -- verdict ----------------------------------------------------------------------------------------------
def _result(address: str, cls: str, app: pc.AppCheck | None = None) -> pc.AddressResult:
    return pc.address_result(address, 8000, cls, errno_text=None, elapsed_ms=1, app=app, host="laptop.lan", scheme=None)


def _report(results: list[pc.AddressResult]) -> pc.ProbeReport:
    res = pc.Resolution("laptop.lan", "dns", tuple(r.address for r in results), "")
    return pc.probe_report(
        target="laptop.lan:8000",
        host="laptop.lan",
        port=8000,
        scheme=None,
        host_header="laptop.lan:8000",
        timeout=5,
        resolution=res,
        results=results,
    )


def test_verdicts():
    ok = pc.AppCheck("http-ok", True, "http", "HTTP 200 OK", status=200)
    assert _report([_result("198.51.100.1", "open", ok)]).verdict == "ok"
    partial = _report([_result("198.51.100.1", "open", ok), _result("fd42::1", "refused")])
    assert (partial.verdict, partial.exit_code) == ("partial", 0)
    assert "fd42::1 refused" in partial.summary
    assert "IPv4 only" in partial.next_steps[0], "refused on IPv6 only: an IPv4-only bind, not a loopback one"
    fail = _report([_result("198.51.100.1", "timeout")])
    assert (fail.verdict, fail.exit_code) == ("fail", 1)
    none = _report([])
    assert (none.verdict, none.exit_code) == ("unresolved", 1)


def test_loopback_target_is_noted():
    report = _report([_result("127.0.0.1", "refused")])
    assert any("this device itself" in n for n in report.notes)


# -- ports, hosts file, resolution ------------------------------------------------------------------------
def test_parse_ports():
    assert pc.parse_ports("22,80,8000-8003") == (22, 80, 8000, 8001, 8002, 8003)
    assert pc.parse_ports(" 80 , 80,79-81") == (80, 79, 81)
    assert len(pc.parse_ports("1-65535")) == 65535


@pytest.mark.parametrize("text", ["", "abc", "0", "65536", "10-1", "1-", "-5", "1,,2", "8000-80x", "1-2-3"])
def test_parse_ports_bad(text):
    with pytest.raises(BindscopeError):
        pc.parse_ports(text)


def test_ranges():
    assert pc.ranges([8002, 22, 8000, 8001, 80]) == "22,80,8000-8002"
    assert pc.ranges([]) == ""


def test_hosts_file():
    text = "127.0.0.1 localhost\n# 10.0.0.1 commented\n198.51.100.1 Laptop.lan laptop # trailing\nbad line\n"
    text += "fd42:b1d:0:1::1 laptop.lan\nfe80::1%eth0 ll\n"
    hosts = pc.parse_hosts_file(text)
    assert hosts["laptop.lan"] == ["198.51.100.1", "fd42:b1d:0:1::1"]
    assert hosts["laptop"] == ["198.51.100.1"]
    assert "10.0.0.1" not in str(hosts) and "bad" not in hosts and hosts["ll"] == ["fe80::1%eth0"]


def test_resolution_how():
    assert pc.resolution_how("laptop.local", False) == "mdns"
    assert pc.resolution_how("laptop.local", True) == "hosts-file"
    assert pc.resolution_how("example.lan", False) == "dns"
    assert "same network" in pc.resolution_detail("mdns", "x.local", (), None)


def test_reply_complete():
    assert not pc.reply_complete(b"")
    assert not pc.reply_complete(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")
    assert pc.reply_complete(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n1234567890")
    assert not pc.reply_complete(b"HTT")
    assert pc.reply_complete(b"HTTP/1.1 204 No Content\r\n\r\n")


def test_json_schema_keys():
    app = pc.AppCheck("http-ok", True, "http", "HTTP 200 OK", status=200)
    data = _report([_result("198.51.100.1", "open", app)]).to_dict()
    assert list(data) == [
        "command", "mode", "target", "host", "port", "scheme", "host_header", "timeout", "resolution",
        "results", "verdict", "summary", "next_steps", "notes",
    ]  # fmt: skip
    r = data["results"][0]
    assert list(r) == [
        "address", "family", "port", "class", "ok", "errno", "elapsed_ms", "detail", "meaning", "app", "next_steps",
    ]  # fmt: skip
    assert next(iter(r["app"])) == "class"


# -- CLI: bad input is one line and exit 2, before any packet is sent ------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["probe", "8000"],
        ["probe", ":8000"],
        ["probe", "*:8000"],
        ["probe", "0.0.0.0:8000"],
        ["probe", "[::]:8000"],
        ["probe", "224.0.0.1:80"],
        ["probe", "laptop.lan"],
        ["probe", "laptop.lan:8000", "--ports", "1-2"],
        ["probe", "laptop.lan", "--ports", "10-1"],
        ["probe", "laptop.lan", "--ports", "abc"],
        ["probe", "laptop.lan:80", "--timeout", "0"],
        ["probe", "laptop.lan:80", "--timeout", "nan"],
        ["probe", "laptop.lan:80", "--timeout", "abc"],
        ["probe", "laptop.lan", "--ports", "80", "--concurrency", "0"],
        ["probe", "ftp://laptop.lan/"],
        ["probe", "999.1.1.1:80"],
        ["probe"],
    ],
)
def test_probe_bad_input(args):
    r = call_cli(*args)
    assert r.code == 2, (args, r.code, r.out, r.err)
    assert len(r.err_lines) == 1 and r.err_lines[0].startswith("bindscope"), r.err
    assert "Traceback" not in r.err and r.out == ""
