"""`bindscope probe` from the phone (and the stranger) against real servers in the laptop namespace.

Oracles, never bindscope's own output:
- an independent connect from the same namespace (the lab's CONNECT helper, or the small clients below) for
  refused, timeout, unreachable, reset and TLS;
- urllib from the phone for the HTTP status;
- the hosts file the test wrote and getaddrinfo in the phone for name resolution;
- `ss` in the laptop plus the nft rule the test loaded for the exact set of open / refused / filtered ports.

Each server is a real one: http.server, Django runserver, `openssl s_server`. The reset case uses a stand-in
for docker-proxy with nothing behind it (see RESETTER).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from importlib import util
from pathlib import Path

import pytest
from lab_helpers import tool_missing

pytestmark = pytest.mark.lab

LAPTOP4, LAPTOP6 = "198.51.100.1", "fd42:b1d:0:1::1"
NOBODY_LAN4 = "198.51.100.77"  # in the lab LAN, assigned to nobody: ARP fails -> EHOSTUNREACH
NO_ROUTE6 = "fd42:b1d:0:3::1"  # in the lab's ULA /48, a subnet the router has no route to -> ENETUNREACH


def _need_tool(name: str, package: str) -> None:
    if shutil.which(name) is None:
        tool_missing(f"{name} is not installed (Debian package {package})")


# A stand-in for docker-proxy publishing a port whose app listens on 127.0.0.1 inside the container:
# docker-proxy accepts the client, fails to reach the app, and closes the client's connection. "rst" closes
# with SO_LINGER 0 (a reset, what a close with unread data also gives); "fin" reads the request, then closes
# (an orderly close without a reply). Serves until killed or until its parent (pytest) is gone.
RESETTER = r"""
import os, socket, struct, sys, threading, time
mode, port = sys.argv[1], int(sys.argv[2])
parent = os.getppid()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(64)
def serve():
    while True:
        conn, _ = s.accept()
        if mode == "rst":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            conn.settimeout(2)
            try:
                conn.recv(65536)
            except OSError:
                pass
        conn.close()
threading.Thread(target=serve, daemon=True).start()
print("ready", flush=True)
while os.getppid() == parent:
    time.sleep(0.2)
"""

# A raw client: connect, send argv[3] (escaped bytes), read until close or 3 s; prints JSON
# {"connected": bool, "error": str|null, "data": latin-1 text, "end": "eof"|"reset"|"timeout"}.
RAW_CLIENT = r"""
import json, socket, sys
addr, port, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode().decode("unicode_escape").encode("latin-1")
out = {"connected": False, "error": None, "data": "", "end": None}
try:
    s = socket.create_connection((addr, port), 5)
    out["connected"] = True
    s.settimeout(3)
    s.sendall(payload)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            out["end"] = "eof"
            break
        data += chunk
    out["data"] = data.decode("latin-1")
except ConnectionResetError as exc:
    out["end"] = "reset"; out["error"] = type(exc).__name__
except socket.timeout:
    out["end"] = "timeout"
except OSError as exc:
    out["error"] = type(exc).__name__ + ": " + str(exc)
print(json.dumps(out))
"""

# urllib from the phone: the HTTP status (errors included) and the Server header.
FETCH = r"""
import json, sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
        print(json.dumps([r.status, r.headers.get("Server")]))
except urllib.error.HTTPError as e:
    print(json.dumps([e.code, e.headers.get("Server")]))
"""

# A TLS handshake from the phone with Python's ssl module (no verification): prints the version or the error.
TLS_CLIENT = r"""
import socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), 5) as raw:
        with ctx.wrap_socket(raw) as s:
            print(s.version())
except (OSError, ssl.SSLError) as exc:
    print("error", type(exc).__name__, getattr(exc, "reason", ""))
"""


def _py(lab, host: str, code: str, *args: str, timeout: float = 30) -> str:
    proc = lab.run(host, [sys.executable, "-I", "-c", code, *map(str, args)], timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _probe(lab, host: str, *args: str, expect_rc: int) -> dict:
    data = lab.bindscope_json(host, "probe", *args, expect_rc=expect_rc)
    return data


def _http_server(lab, bind: str, port: int):
    proc = lab.spawn("laptop", [sys.executable, "-m", "http.server", "--bind", bind, str(port)], env=_env())
    lab.wait_listening("laptop", port, proc=proc)
    return proc


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FLASK_"))}
    return dict(env, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")


@contextlib.contextmanager
def nft_drop(lab, host: str, ports: Sequence[int]) -> Iterator[None]:
    """An nftables table in the host's namespace that drops incoming TCP to `ports`; removed afterwards."""
    _need_tool("nft", "nftables")
    table = f"bsprobe{os.getpid()}"
    rules = (
        f"table inet {table} {{\n chain input {{\n  type filter hook input priority 0; policy accept;\n"
        f"  tcp dport {{ {', '.join(map(str, ports))} }} drop\n }}\n}}\n"
    )
    proc = lab.run(host, ["nft", "-f", "-"], input=rules)
    assert proc.returncode == 0, f"nft: {proc.stderr}"
    try:
        yield
    finally:
        lab.run(host, ["nft", "delete", "table", "inet", table])


def _only(data: dict) -> dict:
    assert len(data["results"]) == 1, data["results"]
    return data["results"][0]


# -- connection classes ------------------------------------------------------------------------------------
def test_probe_refused_loopback_bind(lab):
    port = lab.port()
    _http_server(lab, "127.0.0.1", port)
    assert lab.connect("laptop", "127.0.0.1", port), "reality: the server answers on the laptop's loopback"
    [(ok, why)] = lab.connect_many("phone", [(LAPTOP4, port)])
    assert not ok and "ConnectionRefusedError" in why, f"reality: the phone is refused: {why}"

    data = _probe(lab, "phone", f"{LAPTOP4}:{port}", expect_rc=1)
    r = _only(data)
    assert (r["class"], r["errno"], r["ok"], r["app"]) == ("refused", "ECONNREFUSED", False, None)
    assert data["verdict"] == "fail"
    assert f"bindscope doctor {port}" in " ".join(data["next_steps"])
    assert "127.0.0.1" in r["meaning"]


def test_probe_timeout_nft_drop(lab):
    port = lab.port()
    _http_server(lab, "0.0.0.0", port)
    assert lab.connect("phone", LAPTOP4, port), "reality: without the rule the phone connects"
    with nft_drop(lab, "laptop", [port]):
        [(ok, why)] = lab.connect_many("phone", [(LAPTOP4, port)], timeout=1)
        assert not ok and "timed out" in why.lower(), f"reality: the drop rule makes the phone time out: {why}"
        data = _probe(lab, "phone", f"{LAPTOP4}:{port}", "--timeout", "1.5", expect_rc=1)
    r = _only(data)
    assert (r["class"], r["errno"], r["app"]) == ("timeout", None, None)
    assert r["elapsed_ms"] >= 1400, r
    assert data["timeout"] == 1.5
    assert any("firewall" in s for s in data["next_steps"])


def test_probe_host_unreachable_from_the_stranger(lab):
    """The stranger (behind the router) probes a LAN address nobody has: the router's ARP fails and it
    answers ICMP host unreachable."""
    [(ok, why)] = lab.connect_many("stranger", [(NOBODY_LAN4, 8000)], timeout=8)
    assert not ok and "No route to host" in why, f"reality: {why}"
    data = _probe(lab, "stranger", f"{NOBODY_LAN4}:8000", "--timeout", "8", expect_rc=1)
    r = _only(data)
    assert (r["class"], r["errno"]) == ("host-unreachable", "EHOSTUNREACH")


def test_probe_network_unreachable_from_the_stranger(lab):
    """The stranger probes a lab subnet the router has no route to: the router answers ICMPv6 no route."""
    [(ok, why)] = lab.connect_many("stranger", [(NO_ROUTE6, 8000)], timeout=8)
    assert not ok and "Network is unreachable" in why, f"reality: {why}"
    data = _probe(lab, "stranger", f"[{NO_ROUTE6}]:8000", "--timeout", "8", expect_rc=1)
    r = _only(data)
    assert (r["class"], r["errno"], r["family"]) == ("network-unreachable", "ENETUNREACH", "ipv6")
    assert data["host_header"] == f"[{NO_ROUTE6}]:8000"


@pytest.mark.parametrize("mode", ["rst", "fin"])
def test_probe_reset_accepted_then_closed(lab, mode):
    port = lab.port()
    proc = lab.spawn("laptop", [sys.executable, "-I", "-c", RESETTER, mode, str(port)])
    lab.wait_ready(proc, f"resetter {mode}")
    seen = json.loads(_py(lab, "phone", RAW_CLIENT, LAPTOP4, port, r"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert seen["data"] == "", f"reality: no reply: {seen}"
    if mode == "rst":  # the RST can beat the client's own view of the handshake: reset (not refused) either way
        assert seen["end"] == "reset" and seen["error"] == "ConnectionResetError", f"reality: {seen}"
    else:
        assert seen["connected"] and seen["end"] == "eof", f"reality: {seen}"

    data = _probe(lab, "phone", f"{LAPTOP4}:{port}", expect_rc=1)
    r = _only(data)
    assert r["class"] == "reset" and r["app"] is None, r
    assert ("RST" if mode == "rst" else "FIN") in r["detail"]
    assert "docker" in r["meaning"].lower()
    assert f"bindscope doctor {port}" in " ".join(data["next_steps"])


# -- the application check -----------------------------------------------------------------------------------
def test_probe_open_http_200(lab):
    port = lab.port()
    _http_server(lab, "0.0.0.0", port)
    status, server = json.loads(_py(lab, "phone", FETCH, f"http://{LAPTOP4}:{port}/"))
    assert status == 200, "reality: urllib gets 200 from the phone"

    data = _probe(lab, "phone", f"http://{LAPTOP4}:{port}/", expect_rc=0)
    r = _only(data)
    assert (r["class"], r["ok"]) == ("open", True)
    assert (r["app"]["class"], r["app"]["status"], r["app"]["server"]) == ("http-ok", status, server)
    assert data["verdict"] == "ok" and data["next_steps"] == []
    assert data["host_header"] == f"{LAPTOP4}:{port}"


def _django_project(tmp_path: Path, debug: bool, allowed: list[str]) -> Path:
    if util.find_spec("django") is None:
        tool_missing("django is not installed: pip install -e '.[test]'")
    proc = subprocess.run(
        [sys.executable, "-m", "django", "startproject", "site0", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert proc.returncode == 0, proc.stderr
    _set_django(tmp_path, debug=debug, allowed=repr(allowed))
    return tmp_path


def _set_django(project: Path, *, debug: bool | None = None, allowed: str | None = None) -> None:
    settings = project / "site0" / "settings.py"
    text = settings.read_text()
    if debug is not None:
        text, n = re.subn(r"(?m)^DEBUG = .*$", f"DEBUG = {debug}", text)
        assert n == 1
    if allowed is not None:
        text, n = re.subn(r"(?m)^ALLOWED_HOSTS = .*$", lambda _m: f"ALLOWED_HOSTS = {allowed}", text)
        assert n == 1
    settings.write_text(text)


def _runserver(lab, project: Path, port: int):
    argv = [sys.executable, "manage.py", "runserver", "--noreload", f"0.0.0.0:{port}"]
    proc = lab.spawn("laptop", argv, cwd=project, env=_env())
    lab.wait_listening("laptop", port, proc=proc, timeout=60)
    return proc


@pytest.mark.parametrize(("debug", "allowed"), [(True, []), (False, ["localhost"])])
def test_probe_django_disallowed_host_and_its_fix(lab, tmp_path, debug, allowed):
    """Django runserver on 0.0.0.0 with the LAN address missing from ALLOWED_HOSTS: the socket is reachable,
    the app answers 400. Then ALLOWED_HOSTS is set exactly as probe suggests, and the probe passes."""
    port = lab.port()
    project = _django_project(tmp_path, debug, allowed)
    proc = _runserver(lab, project, port)
    status, _server = json.loads(_py(lab, "phone", FETCH, f"http://{LAPTOP4}:{port}/"))
    assert status == 400, "reality: Django answers 400 to the LAN address"

    data = _probe(lab, "phone", f"{LAPTOP4}:{port}", expect_rc=1)
    r = _only(data)
    assert r["class"] == "open"
    assert (r["app"]["class"], r["app"]["status"], r["app"]["hint"]) == (
        "host-not-allowed",
        400,
        "django-allowed-hosts",
    )
    fix = re.search(r"ALLOWED_HOSTS = (\[[^\]]*\])", " ".join(data["next_steps"]))
    assert fix, data["next_steps"]

    lab.release(proc)
    _set_django(project, allowed=fix.group(1))
    _runserver(lab, project, port)
    status, _server = json.loads(_py(lab, "phone", FETCH, f"http://{LAPTOP4}:{port}/"))
    assert status in (200, 404), f"reality: the suggested setting works ({status})"
    after = _probe(lab, "phone", f"{LAPTOP4}:{port}", expect_rc=0)
    assert _only(after)["app"]["status"] == status


@pytest.fixture
def tls_server(lab, tmp_path) -> int:
    """`openssl s_server -www` on 0.0.0.0 in the laptop, with a self-signed certificate made here."""
    _need_tool("openssl", "openssl")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    made = subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
            *("-subj", "/CN=laptop.lab", "-days", "1", "-keyout", str(key), "-out", str(cert)),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert made.returncode == 0, made.stderr
    port = lab.port()
    argv = ["openssl", "s_server", "-accept", f"0.0.0.0:{port}", "-cert", cert, "-key", key, "-www", "-quiet"]
    proc = lab.spawn("laptop", argv)
    lab.wait_listening("laptop", port, proc=proc)
    return port


def test_probe_tls_on_http_port(lab, tls_server):
    port = tls_server
    assert _py(lab, "phone", TLS_CLIENT, LAPTOP4, port).startswith("TLSv1"), "reality: a TLS server"
    data = _probe(lab, "phone", f"http://{LAPTOP4}:{port}/", expect_rc=1)
    r = _only(data)
    assert r["class"] == "open"
    assert r["app"]["class"] == "tls-on-http-port"
    assert f"https://{LAPTOP4}:{port}/" in " ".join(data["next_steps"])


def test_probe_https_to_a_tls_server(lab, tls_server):
    port = tls_server
    data = _probe(lab, "phone", f"https://{LAPTOP4}:{port}/", expect_rc=0)
    app = _only(data)["app"]
    assert (app["class"], app["status"], app["scheme"]) == ("http-ok", 200, "https")
    assert app["tls_version"] == _py(lab, "phone", TLS_CLIENT, LAPTOP4, port)


def test_probe_http_on_tls_port(lab):
    port = lab.port()
    _http_server(lab, "0.0.0.0", port)
    seen = _py(lab, "phone", TLS_CLIENT, LAPTOP4, port)
    assert seen.startswith("error"), f"reality: no TLS there: {seen}"
    data = _probe(lab, "phone", f"https://{LAPTOP4}:{port}/", expect_rc=1)
    r = _only(data)
    assert r["app"]["class"] == "http-on-tls-port"
    assert f"http://{LAPTOP4}:{port}/" in " ".join(data["next_steps"])


# -- name resolution ---------------------------------------------------------------------------------------
def test_probe_hosts_file_name_both_families(lab):
    """A name from the phone's hosts file with an IPv4 and an IPv6 address; the server listens on IPv4 only:
    every address is probed, IPv4 works, IPv6 is refused -> partial, exit 0."""
    port = lab.port()
    _http_server(lab, "0.0.0.0", port)
    lab.netns_hosts("phone", f"{LAPTOP4} laptop.lan\n{LAPTOP6} laptop.lan\n")
    expected = lab.getaddrinfo("phone", "laptop.lan")
    assert set(expected) == {LAPTOP4, LAPTOP6}, f"reality: getaddrinfo in the phone: {expected}"

    data = _probe(lab, "phone", f"laptop.lan:{port}", expect_rc=0)
    res = data["resolution"]
    assert (res["how"], res["source"], res["addresses"]) == ("hosts-file", "/etc/hosts", expected)
    assert set(res["hosts_file_addresses"]) == {LAPTOP4, LAPTOP6}
    by = {r["address"]: r for r in data["results"]}
    assert set(by) == set(expected)
    reality = dict(zip(expected, lab.connect_many("phone", [(a, port) for a in expected]), strict=True))
    assert reality[LAPTOP4][0] and not reality[LAPTOP6][0], reality
    assert by[LAPTOP4]["class"] == "open" and by[LAPTOP4]["app"]["status"] == 200
    assert by[LAPTOP6]["class"] == "refused"
    assert data["verdict"] == "partial"
    assert "IPv4 only" in data["next_steps"][0]
    assert data["host_header"] == f"laptop.lan:{port}"


def test_probe_local_name_from_the_hosts_file(lab):
    port = lab.port()
    _http_server(lab, "0.0.0.0", port)
    lab.netns_hosts("phone", f"{LAPTOP4} laptop.local\n")
    data = _probe(lab, "phone", f"laptop.local:{port}", expect_rc=0)
    res = data["resolution"]
    assert (res["how"], res["addresses"]) == ("hosts-file", [LAPTOP4])
    assert "mDNS" in res["detail"]


def test_probe_local_name_not_resolved_says_mdns(lab):
    lab.netns_hosts("phone", f"{LAPTOP4} laptop.lan\n")
    assert lab.getaddrinfo("phone", "ghost.local") == [], "reality: nothing resolves ghost.local in the lab"
    data = _probe(lab, "phone", "ghost.local:8000", expect_rc=1)
    res = data["resolution"]
    assert (res["how"], res["addresses"]) == ("mdns", [])
    assert "same network" in res["detail"]
    assert data["verdict"] == "unresolved" and data["results"] == []


# -- many ports ----------------------------------------------------------------------------------------------
def _ss_listening(lab, host: str) -> list[tuple[str, int]]:
    _need_tool("ss", "iproute2")
    proc = lab.run(host, ["ss", "-Htln"], timeout=20)
    assert proc.returncode == 0, proc.stderr
    out = []
    for line in proc.stdout.splitlines():
        local = line.split()[3]
        addr, _, port = local.rpartition(":")
        out.append((addr.split("%")[0], int(port)))
    return out


def test_probe_ports_exact_open_set(lab):
    """1,000 ports of the laptop from the phone: listeners on 0.0.0.0, on the LAN address, dual-stack and
    IPv6-only `::`, on loopback; an nft drop rule on a few ports (one of them with a listener). The open set
    must equal what ss lists as reachable on the LAN address minus the dropped ports, the timeout set the
    dropped ports, and every other port must be refused."""
    base = lab.port(count=1000)
    ports = range(base, base + 1000)
    lab.hold(
        "laptop",
        [
            ("0.0.0.0", base + 3, None),
            (LAPTOP4, base + 250, None),
            ("::", base + 400, False),  # dual-stack: takes IPv4 too
            ("::", base + 401, True),  # IPv6 only: refused on the IPv4 address
            ("127.0.0.1", base + 402, None),  # loopback only: refused
            ("0.0.0.0", base + 600, None),  # behind the drop rule
        ],
    )
    _http_server(lab, "0.0.0.0", base + 999)
    dropped = [base + 100, base + 101, base + 102, base + 600, base + 998]
    covering = {"0.0.0.0", "*", LAPTOP4, f"[::ffff:{LAPTOP4}]"}
    listening = {p for a, p in _ss_listening(lab, "laptop") if a in covering and p in ports}
    with nft_drop(lab, "laptop", dropped):
        data = _probe(lab, "phone", LAPTOP4, "--ports", f"{base}-{base + 999}", expect_rc=0)
    assert data["mode"] == "ports" and data["port_count"] == 1000
    [a] = data["addresses"]
    opened = {p["port"] for p in a["open"]}
    truth_open = listening - set(dropped)
    assert truth_open == {base + 3, base + 250, base + 400, base + 999}, f"oracle sanity: {sorted(listening)}"
    assert opened == truth_open
    assert a["counts"] == {"open": 4, "refused": 1000 - 4 - len(dropped), "timeout": len(dropped)}
    assert a["ports"]["timeout"] == f"{base + 100}-{base + 102},{base + 600},{base + 998}"


def test_probe_ports_http_check(lab):
    """--http on open ports: http.server answers 200; a holder that never accepts answers nothing."""
    base = lab.port(count=3)
    _http_server(lab, "0.0.0.0", base)
    lab.hold("laptop", [("0.0.0.0", base + 1, None)], accept=False)
    data = _probe(lab, "phone", LAPTOP4, "--ports", f"{base},{base + 1},{base + 2}", "--http", expect_rc=0)
    [a] = data["addresses"]
    apps = {p["port"]: p["app"] for p in a["open"]}
    status, _server = json.loads(_py(lab, "phone", FETCH, f"http://{LAPTOP4}:{base}/"))
    assert apps[base]["status"] == status == 200
    assert apps[base + 1]["class"] == "no-reply"
    assert a["ports"] == {"refused": str(base + 2)}
