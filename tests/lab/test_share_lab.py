"""`bindscope share` in the lab: the relay runs in the laptop namespace in front of a server bound to
127.0.0.1 there; the phone (same LAN) and the stranger (another subnet, behind the router) connect.

Oracles, never the relay's own word: the upstream servers count what reaches them (connections,
requests, the headers they saw, sha256 of every byte), the clients check sha256 of every byte they
get, /proc/PID/fd and /proc/PID/net/tcp of the relay say what it holds, and a real Chromium in the
phone namespace loads a real Flask page.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from lab_helpers import tool_missing

pytestmark = pytest.mark.lab

LAPTOP4 = "198.51.100.1"
PHONE4 = "198.51.100.2"
STRANGER4 = "203.0.113.2"


# -- upstream servers (in the laptop, on 127.0.0.1) ----------------------------------------------------

# Byte-exact oracle. A client sends sha256(payload) + reply size (8 bytes) + payload, then half-closes;
# the server reads to EOF, checks the sha256, answers ok-byte + sha256(reply) + reply (random bytes)
# and closes. Counts on a second port (stats), read from the laptop itself.
SHA_SERVER = r"""
import asyncio, hashlib, json, os, random, sys
port, stats_port = int(sys.argv[1]), int(sys.argv[2])
stats = {"conns": 0, "ok": 0, "bad": 0, "short": 0}
async def handle(r, w):
    stats["conns"] += 1
    try:
        head = await r.readexactly(40)
    except (asyncio.IncompleteReadError, ConnectionError):
        stats["short"] += 1
        w.close()
        return
    want, size = head[:32], int.from_bytes(head[32:], "big")
    h = hashlib.sha256()
    while True:
        chunk = await r.read(1 << 18)
        if not chunk:
            break
        h.update(chunk)
    ok = h.digest() == want
    stats["ok" if ok else "bad"] += 1
    data = random.randbytes(size)
    w.write(bytes([ok]) + hashlib.sha256(data).digest() + data)
    try:
        await w.drain()
    except ConnectionError:
        pass
    w.close()
async def report(r, w):
    w.write(json.dumps(stats).encode())
    await w.drain()
    w.close()
async def main():
    a = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    b = await asyncio.start_server(report, "127.0.0.1", stats_port)
    print("ready", flush=True)
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(0.2)
asyncio.run(main())
"""

# The transfers, from the phone: argv = host port count concurrency seed. Prints a JSON summary.
TRANSFERS = r"""
import asyncio, hashlib, json, random, sys
host, port, count, conc, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
def size():
    x = rng.random()
    if x < 0.05: return 0
    if x < 0.75: return rng.randrange(1, 2048)
    if x < 0.98: return rng.randrange(2048, 65536)
    return rng.randrange(65536, 1 << 20)
jobs = [(size(), size(), rng.randbytes(8)) for _ in range(count)]
out = {"ok": 0, "bad": [], "up": 0, "down": 0}
async def one(up, down, salt):
    payload = (salt * (up // 8 + 1))[:up] if up < 4096 else random.randbytes(up)
    r, w = await asyncio.open_connection(host, port)
    w.write(hashlib.sha256(payload).digest() + down.to_bytes(8, "big") + payload)
    await w.drain()
    w.write_eof()   # half-close: the relay must pass the FIN on and keep the other direction open
    data = await r.read(-1)
    w.close()
    body = data[33:]
    if data[:1] == b"\x01" and len(body) == down and hashlib.sha256(body).digest() == data[1:33]:
        out["ok"] += 1
        out["up"] += up
        out["down"] += down
    else:
        out["bad"].append([up, down, len(data), data[:1].hex()])
async def worker(queue):
    while queue:
        await asyncio.wait_for(one(*queue.pop()), 60)
async def main():
    queue = list(jobs)
    await asyncio.gather(*(worker(queue) for _ in range(conc)))
asyncio.run(main())
out["bad"] = out["bad"][:5]
print(json.dumps(out))
"""

# An HTTP upstream that counts connections and requests and answers what it saw (JSON), with
# Content-Length or chunked. GET /__stats (from the laptop itself) is not counted.
HTTP_SERVER = r"""
import hashlib, json, os, socketserver, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port = int(sys.argv[1])
stats = {"conns": 0, "requests": 0, "seen": []}
lock = threading.Lock()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def setup(self):
        super().setup()
    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if not size:
                    while self.rfile.readline() not in (b"\r\n", b""): pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))
    def _answer(self):
        if self.path == "/__stats":  # its own connection is not counted
            with lock:
                stats["queries"] = stats.get("queries", 0) + 1
                data = json.dumps(dict(stats, conns=stats["conns"] - stats["queries"])).encode()
        else:
            body = self._body()
            with lock:
                stats["requests"] += 1
                stats["seen"].append({"path": self.path, "headers": dict(self.headers.items())})
            data = json.dumps({"sha256": hashlib.sha256(body).hexdigest(), "len": len(body),
                               "path": self.path, "headers": dict(self.headers.items())}).encode()
            if self.path.startswith("/big/"):
                data = os.urandom(int(self.path.split("/")[2]))
        self.send_response(200)
        if self.path.startswith("/chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 7):
                part = data[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
    do_GET = do_POST = do_PUT = do_HEAD = _answer
class S(ThreadingHTTPServer):
    daemon_threads = True
    def verify_request(self, request, client_address):
        with lock:
            stats["conns"] += 1
        return True
srv = S(("127.0.0.1", port), H)
print("ready", flush=True)
srv.serve_forever()
"""

# An HTTP client in the phone: argv = JSON list of requests [{method, url-path, headers, body, chunked,
# new_connection}], host, port. One keep-alive connection unless new_connection. Prints the answers.
HTTP_CLIENT = r"""
import http.client, json, sys
reqs, host, port = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = None
out = []
for q in reqs:
    if conn is None or q.get("new_connection"):
        if conn is not None:
            conn.close()
        conn = http.client.HTTPConnection(host, port, timeout=10)
    body = q.get("body", "").encode()
    try:
        if q.get("chunked"):
            conn.request(q.get("method", "POST"), q["path"], body=iter([body[:5], body[5:]]),
                         headers=q.get("headers", {}), encode_chunked=True)
        else:
            conn.request(q.get("method", "GET"), q["path"], body=body or None, headers=q.get("headers", {}))
        r = conn.getresponse()
        data = r.read()
        out.append({"status": r.status, "headers": dict(r.getheaders()), "body": data.decode("latin-1")})
        if r.will_close:
            conn.close()
            conn = None
    except (OSError, http.client.HTTPException) as exc:
        out.append({"status": None, "error": type(exc).__name__ + ": " + str(exc)})
        conn = None
print(json.dumps(out))
"""

# Connect `n` times to host:port; each: send a line, read until EOF/timeout. Prints what each got.
TOUCH = r"""
import json, socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = []
for _ in range(n):
    try:
        s = socket.create_connection((host, port), timeout=3)
    except OSError as exc:
        out.append(["connect-failed", str(exc)])
        continue
    s.settimeout(3)
    try:
        s.sendall(b"hello\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        out.append(["eof", data.decode("latin-1")])
    except TimeoutError:
        out.append(["timeout", ""])
    except OSError as exc:
        out.append(["reset", str(exc)])
    finally:
        s.close()
print(json.dumps(out))
"""


# -- helpers --------------------------------------------------------------------------------------------
def _events(lab, proc) -> list[dict]:
    out = []
    for line in lab.log_of(proc).splitlines():
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                out.append(json.loads(line))
    return out


def _wait_event(lab, proc, pred, what: str, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        for ev in _events(lab, proc):
            if pred(ev):
                return ev
        if proc.poll() is not None:
            raise AssertionError(f"share exited ({proc.returncode}) before {what}: {lab.log_of(proc)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout}s: {lab.log_of(proc)}")
        time.sleep(0.05)


def start_share(lab, port: int, *args: str) -> tuple[subprocess.Popen, dict]:
    env = dict(os.environ, NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1")
    argv = [sys.executable, "-m", "bindscope", "share", str(port), "--json-log", "--no-qr", *args]
    proc = lab.spawn("laptop", argv, env=env)
    banner = _wait_event(lab, proc, lambda e: e.get("event") == "share", "the share banner")
    lab.wait_listening("laptop", int(banner["listen"].rsplit(":", 1)[1]), proc)
    return proc, banner


def start_sha_server(lab, port: int | None = None, stats: int | None = None) -> tuple[int, int, subprocess.Popen]:
    port, stats = port or lab.port(), stats or lab.port()
    proc = lab.spawn("laptop", [sys.executable, "-I", "-c", SHA_SERVER, str(port), str(stats)])
    lab.wait_ready(proc, "sha server")
    return port, stats, proc


def start_http_server(lab, port: int | None = None) -> tuple[int, subprocess.Popen]:
    port = port or lab.port()
    proc = lab.spawn("laptop", [sys.executable, "-I", "-c", HTTP_SERVER, str(port)])
    lab.wait_ready(proc, "http server")
    return port, proc


def sha_stats(lab, stats_port: int) -> dict:
    code = f"import socket; s = socket.create_connection(('127.0.0.1', {stats_port})); print(s.recv(65536).decode())"
    return json.loads(lab.run("laptop", [sys.executable, "-I", "-c", code]).stdout)


def http_stats(lab, port: int) -> dict:
    code = (
        f"import http.client; c = http.client.HTTPConnection('127.0.0.1', {port}, timeout=5); "
        "c.request('GET', '/__stats'); print(c.getresponse().read().decode())"
    )
    return json.loads(lab.run("laptop", [sys.executable, "-I", "-c", code]).stdout)


def http_requests(lab, host: str, port: int, reqs: list[dict], who: str = "phone") -> list[dict]:
    proc = lab.run(who, [sys.executable, "-I", "-c", HTTP_CLIENT, json.dumps(reqs), host, str(port)], timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def touch(lab, who: str, port: int, n: int = 1) -> list[list[str]]:
    proc = lab.run(who, [sys.executable, "-I", "-c", TOUCH, LAPTOP4, str(port), str(n)], timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def nothing_received(got: list[list[str]]) -> bool:
    """Each connection was closed (EOF) or reset without a byte from the server."""
    return all(kind == "reset" or (kind == "eof" and data == "") for kind, data in got)


def relay_listening(pid: int, addr: str, port: int) -> bool:
    """Is a TCP socket listening on addr:port in the network namespace of pid (/proc/PID/net/tcp)?"""
    want = "{:08X}:{:04X}".format(int.from_bytes(bytes(map(int, addr.split("."))), "little"), port)
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == want and fields[3] == "0A":
            return True
    return False


def relay_pids(pid: int) -> list[int]:
    """The relay and its worker processes (--workers)."""
    out = [pid]
    for task in os.listdir(f"/proc/{pid}/task"):
        children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        out += [int(c) for c in children]
    return out


def fd_count(pid: int) -> int:
    """Descriptors held by the relay and its workers."""
    return sum(len(os.listdir(f"/proc/{p}/fd")) for p in relay_pids(pid))


def settled_fd_count(pid: int) -> int:
    """fd_count once two readings 0.2 s apart agree (a worker just forked is still making its loop)."""
    count = fd_count(pid)
    for _ in range(50):
        time.sleep(0.2)
        count, last = fd_count(pid), count
        if count == last:
            break
    return count


def listen_port(banner: dict) -> int:
    return int(banner["listen"].rsplit(":", 1)[1])


def cookie_for(banner: dict) -> tuple[str, str]:
    token = banner["url"].split("bindscope_token=", 1)[1]
    return f"bindscope_share_{listen_port(banner)}", token


# -- the tests ------------------------------------------------------------------------------------------
def test_tcp_byte_exact_half_close_and_no_fd_leak(lab):
    """10,000 transfers of random sizes (0 B to 1 MiB each way), every one half-closed by the client,
    sha256-checked by the server and by the client; the relay's descriptors are back to their count
    before the transfers once they are done."""
    up, stats_port, _server = start_sha_server(lab)
    proc, banner = start_share(lab, up, "--tcp", "--workers", "2")
    assert banner["listen"] == f"{LAPTOP4}:{up}" and banner["mode"] == "tcp"
    assert banner["allowed"] == ["198.51.100.0/24", "fd42:b1d:0:1::/64"]
    deadline = time.monotonic() + 10  # the second worker is forked once the banner is out
    while len(relay_pids(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(relay_pids(proc.pid)) == 2  # both workers hold descriptors
    before = settled_fd_count(proc.pid)
    run = lab.run("phone", [sys.executable, "-I", "-c", TRANSFERS, LAPTOP4, str(up), "10000", "48", "7"], timeout=240)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["bad"] == [] and result["ok"] == 10000, result
    server = sha_stats(lab, stats_port)
    assert server == {"conns": 10000, "ok": 10000, "bad": 0, "short": 0}, server
    deadline = time.monotonic() + 10
    while fd_count(proc.pid) != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fd_count(proc.pid) == before
    closes = [e for e in _events(lab, proc) if e["event"] == "close"]
    assert len(closes) == 10000 and not [e for e in closes if e.get("error")]
    assert sum(e["bytes_in"] for e in closes) == result["up"] + 40 * 10000
    assert sum(e["bytes_out"] for e in closes) == result["down"] + 33 * 10000


def test_stranger_refused_phone_accepted(lab):
    up, stats_port, _server = start_sha_server(lab)
    proc, banner = start_share(lab, up, "--tcp")
    got = touch(lab, "stranger", listen_port(banner), 20)
    assert nothing_received(got), got
    assert sha_stats(lab, stats_port)["conns"] == 0  # nothing reached the server
    refused = [e for e in _events(lab, proc) if e["event"] == "refused"]
    assert len(refused) == 20 and {e["client"] for e in refused} == {STRANGER4}
    run = lab.run("phone", [sys.executable, "-I", "-c", TRANSFERS, LAPTOP4, str(up), "20", "4", "1"], timeout=60)
    assert json.loads(run.stdout)["ok"] == 20
    assert sha_stats(lab, stats_port)["conns"] == 20
    # --allow narrows it: the phone's /32 only; the stranger stays out, and so would any other LAN host
    lab.release(proc)
    proc, banner = start_share(lab, up, "--tcp", "--allow", f"{STRANGER4}/32")
    got = touch(lab, "phone", listen_port(banner), 3)
    assert nothing_received(got), got
    run = lab.run("stranger", [sys.executable, "-I", "-c", TRANSFERS, LAPTOP4, str(up), "5", "1", "2"], timeout=60)
    assert json.loads(run.stdout)["ok"] == 5


def test_http_token_cookie_and_nothing_forwarded_without_it(lab):
    up, _server = start_http_server(lab)
    # one worker: the log's order is asserted below (two workers each write their own lines)
    proc, banner = start_share(lab, up, "--http", "--host-header", "localhost:8000", "--workers", "1")
    port = listen_port(banner)
    name, token = cookie_for(banner)
    assert banner["url"] == f"http://{LAPTOP4}:{port}/?bindscope_token={token}" and len(token) >= 20
    answers = http_requests(
        lab,
        LAPTOP4,
        port,
        [
            {"path": "/"},
            {"path": "/?bindscope_token=wrong", "new_connection": True},
            {"path": "/", "headers": {"Cookie": f"{name}=wrong"}, "new_connection": True},
            {"path": "/", "headers": {"Cookie": f"other_share=x; {name}x={token}"}, "new_connection": True},
            {"method": "POST", "path": "/", "body": "secret", "new_connection": True},
        ],
    )
    assert [a["status"] for a in answers] == [401, 403, 403, 401, 401], answers
    assert http_stats(lab, up)["conns"] == 0  # not a connection, let alone a request, reached the server

    # the token in the URL becomes a cookie, and the URL loses it
    first = http_requests(lab, LAPTOP4, port, [{"path": f"/app?x=1&bindscope_token={token}&y=2"}])[0]
    assert first["status"] == 303 and first["headers"]["Location"] == "/app?x=1&y=2"
    assert f"{name}={token}" in first["headers"]["Set-Cookie"] and "HttpOnly" in first["headers"]["Set-Cookie"]
    assert http_stats(lab, up)["conns"] == 0
    # keep-alive: every request on the connection is checked
    cookie = {"Cookie": f"a=1; {name}={token}; b=2", "X-Forwarded-For": "6.6.6.6"}
    answers = http_requests(
        lab,
        LAPTOP4,
        port,
        [
            {"path": "/one", "headers": cookie},
            {"method": "POST", "path": "/two", "headers": cookie, "body": "x" * 100000},
            {
                "method": "POST",
                "path": "/chunked-in",
                "headers": cookie,
                "body": "hello chunked world",
                "chunked": True,
            },
            {"path": "/chunked-out", "headers": cookie},
            {"method": "HEAD", "path": "/head", "headers": cookie},
            {"path": "/three"},  # same connection, no cookie
        ],
    )
    assert [a["status"] for a in answers] == [200, 200, 200, 200, 200, 401], answers
    two = json.loads(answers[1]["body"])
    assert two["len"] == 100000 and two["sha256"] == __import__("hashlib").sha256(b"x" * 100000).hexdigest()
    three = json.loads(answers[2]["body"])
    assert three["len"] == len("hello chunked world")
    assert json.loads(answers[3]["body"])["path"] == "/chunked-out"
    stats = http_stats(lab, up)
    assert stats["requests"] == 5 and stats["conns"] == 1, stats
    for seen in stats["seen"]:
        headers = {k.lower(): v for k, v in seen["headers"].items()}
        assert token not in json.dumps(seen) and name not in headers.get("cookie", "")
        assert headers["host"] == "localhost:8000"
        assert headers["x-forwarded-for"] == PHONE4 and headers["x-forwarded-proto"] == "http"
    assert {k.lower(): v for k, v in stats["seen"][0]["headers"].items()}["cookie"] == "a=1; b=2"
    log = lab.log_of(proc)
    requests = [e for e in _events(lab, proc) if e["event"] == "request"]
    assert token not in log.replace(banner["url"], "")  # the token is only in the banner's URL
    assert [e["status"] for e in requests] == [401, 403, 403, 401, 401, 303, 200, 200, 200, 200, 200, 401]
    assert requests[7]["request"] == "POST /two HTTP/1.1" and requests[7]["bytes_in"] > 100000
    assert all(e["client"] == PHONE4 for e in requests)


def test_http_rejects_ambiguous_framing(lab):
    up, _server = start_http_server(lab)
    _proc, banner = start_share(lab, up, "--http")
    name, token = cookie_for(banner)
    port = listen_port(banner)
    bad = [
        f"POST / HTTP/1.1\r\nHost: x\r\nCookie: {name}={token}\r\nContent-Length: 5\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        f"POST / HTTP/1.1\r\nHost: x\r\nCookie: {name}={token}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        f"GET / HTTP/1.1\r\nHost: x\r\nCookie: {name}={token}\r\nX-A: 1\r\n folded\r\n\r\n",
        f"GET / HTTP/1.1\r\nHost : x\r\nCookie: {name}={token}\r\n\r\n",
        f"GET / HTTP/1.1\nHost: x\r\nCookie: {name}={token}\r\n\r\n",
    ]
    code = (
        "import json, socket, sys\nout = []\nfor raw in json.loads(sys.argv[1]):\n"
        "    s = socket.create_connection((sys.argv[2], int(sys.argv[3])), 5)\n    s.sendall(raw.encode())\n"
        "    data = b''\n    while True:\n        c = s.recv(65536)\n        if not c: break\n        data += c\n"
        "    out.append(data.split(b'\\r\\n', 1)[0].decode())\nprint(json.dumps(out))\n"
    )
    run = lab.run("phone", [sys.executable, "-I", "-c", code, json.dumps(bad), LAPTOP4, str(port)], timeout=60)
    assert json.loads(run.stdout) == ["HTTP/1.1 400 Bad Request"] * len(bad), run.stdout
    assert http_stats(lab, up)["conns"] == 0


def test_upstream_down_then_back(lab):
    # http: 502 while the server is down, the relay keeps running, 200 when it is back
    up, server = start_http_server(lab)
    proc, banner = start_share(lab, up, "--http")
    name, token = cookie_for(banner)
    req = [{"path": "/", "headers": {"Cookie": f"{name}={token}"}}]
    assert http_requests(lab, LAPTOP4, listen_port(banner), req)[0]["status"] == 200
    lab.release(server)
    down = http_requests(lab, LAPTOP4, listen_port(banner), req * 3)
    assert [a["status"] for a in down] == [502, 502, 502], down
    assert "Bad Gateway" in down[0]["body"]
    start_http_server(lab, up)
    assert http_requests(lab, LAPTOP4, listen_port(banner), req)[0]["status"] == 200
    assert proc.poll() is None

    # tcp: the client's connection is closed, the relay keeps running, and relays again later
    up2, stats_port, sha = start_sha_server(lab)
    tcp, tbanner = start_share(lab, up2, "--tcp")
    lab.release(sha)
    got = touch(lab, "phone", listen_port(tbanner), 3)
    assert nothing_received(got), got
    errors = [e for e in _events(lab, tcp) if e["event"] == "close" and "error" in e]
    assert len(errors) == 3 and "refused" in errors[0]["error"].lower()
    assert tcp.poll() is None
    start_sha_server(lab, up2, stats_port)
    run = lab.run("phone", [sys.executable, "-I", "-c", TRANSFERS, LAPTOP4, str(up2), "10", "2", "3"], timeout=60)
    assert json.loads(run.stdout)["ok"] == 10


SLOWLORIS = r"""
import json, resource, socket, sys, time
host, port, n, cookie, legit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
slow = []
for i in range(n):
    s = socket.create_connection((host, port), 5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    slow.append(s)
opened = time.monotonic()
statuses = []
for i in range(legit):  # a legitimate client while the slow ones trickle their heads
    for s in slow[i::legit]:
        try:
            s.send(b"X-a: b\r\n")
        except OSError:
            pass
    c = socket.create_connection((host, port), 5)
    c.settimeout(5)
    c.sendall(f"GET /legit{i} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    statuses.append(data.split(b" ", 2)[1].decode())
    c.close()
    time.sleep(0.1)
# every slow connection is closed by the relay once the head timeout is over
closed = 0
for s in slow:
    s.settimeout(15)
    try:
        while s.recv(65536):
            pass
        closed += 1
    except OSError:
        closed += 1
print(json.dumps({"statuses": statuses, "closed": closed, "within": time.monotonic() - opened}))
"""


def test_slowloris_does_not_stop_a_legitimate_client(lab):
    up, _server = start_http_server(lab)
    proc, banner = start_share(lab, up, "--http", "--header-timeout", "4")
    name, token = cookie_for(banner)
    before = fd_count(proc.pid)
    argv = [sys.executable, "-I", "-c", SLOWLORIS, LAPTOP4, str(listen_port(banner)), "1000", f"{name}={token}", "20"]
    run = lab.run("phone", argv, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["statuses"] == ["200"] * 20, result
    assert result["closed"] == 1000
    assert http_stats(lab, up)["requests"] == 20  # no slow head reached the server
    timeouts = [e for e in _events(lab, proc) if e["event"] == "request" and e["status"] == 408]
    assert len(timeouts) == 1000
    deadline = time.monotonic() + 5
    while fd_count(proc.pid) != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fd_count(proc.pid) == before


KEEPALIVE = r"""
import json, socket, sys, time
host, port, cookie = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = {}

def until_eof(c):
    data = b""
    try:
        while True:
            chunk = c.recv(65536)
            if not chunk:
                return data
            data += chunk
    except socket.timeout:
        return data + b" (no end of the connection)"

# a client that half-closes after its request gets the response, then the end of the connection
c = socket.create_connection((host, port), 5)
c.settimeout(8)
c.sendall(f"GET /half HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
c.shutdown(socket.SHUT_WR)
data = until_eof(c)
out["half"] = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else data.decode(errors="replace")
out["half_eof"] = not data.endswith(b"(no end of the connection)")
# keep-alive: after an answered request, the next head must also arrive within the header timeout
c = socket.create_connection((host, port), 5)
c.settimeout(8)  # the idle keep-alive timeout (75 s) would be far longer
c.sendall(f"GET /first HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
data = b""
while b"\r\n\r\n" not in data:
    data += c.recv(65536)
head, _, body = data.partition(b"\r\n\r\n")
length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
while len(body) < length:
    body += c.recv(65536)
out["first"] = head.split(b" ", 2)[1].decode()
c.sendall(b"GET /second HTTP/1.1\r\nHost: x\r\n")  # and never the rest
data = until_eof(c)
out["second"] = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else data.decode(errors="replace")
print(json.dumps(out))
"""


def test_half_close_and_keepalive_head_timeout(lab):
    """A client that half-closes after its request gets its response and then the end of the
    connection; on a keep-alive connection the head after an answered request also has
    --header-timeout to arrive (408), not the idle timeout."""
    up, _server = start_http_server(lab)
    proc, banner = start_share(lab, up, "--http", "--header-timeout", "2", "--workers", "1")
    name, token = cookie_for(banner)
    argv = [sys.executable, "-I", "-c", KEEPALIVE, LAPTOP4, str(listen_port(banner)), f"{name}={token}"]
    run = lab.run("phone", argv, timeout=60)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result == {"half": "200", "half_eof": True, "first": "200", "second": "408"}, result
    requests = [e for e in _events(lab, proc) if e["event"] == "request"]
    assert [(e["request"], e["status"]) for e in requests] == [
        ("GET /half HTTP/1.1", 200),
        ("GET /first HTTP/1.1", 200),
        ("(incomplete request head)", 408),
    ], requests
    assert http_stats(lab, up)["requests"] == 2


def test_expiry_closes_the_listener_on_time(lab):
    up = lab.port()
    server = lab.spawn("laptop", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(up)])
    lab.wait_listening("laptop", up, server)
    proc, banner = start_share(lab, up, "--for", "3s")
    port = listen_port(banner)
    deadline = banner["deadline"]
    assert relay_listening(server.pid, LAPTOP4, port)
    assert banner["mode"] == "http"  # http.server is recognised: the token is on by default
    while relay_listening(server.pid, LAPTOP4, port):
        assert time.time() < deadline + 1.0, "still listening 1 s after the deadline"
        time.sleep(0.01)
    closed_at = time.time()
    assert closed_at >= deadline - 0.05, f"closed {deadline - closed_at:.3f}s before the deadline"
    assert closed_at <= deadline + 1.0
    assert proc.wait(10) == 0
    stopped = [e for e in _events(lab, proc) if e["event"] == "stopped"]
    assert stopped and stopped[0]["reason"] == "expired"
    assert touch(lab, "phone", port, 1)[0][0] in ("connect-failed", "reset")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly(lab, sig):
    up, _stats, _server = start_sha_server(lab)
    proc, banner = start_share(lab, up, "--tcp")
    port = listen_port(banner)
    os.kill(proc.pid, sig)
    assert proc.wait(10) == 0
    assert not relay_listening(_server.pid, LAPTOP4, port)
    stopped = [e for e in _events(lab, proc) if e["event"] == "stopped"]
    assert stopped[0]["reason"] == ("interrupted" if sig == signal.SIGINT else "terminated")
    assert "Traceback" not in lab.log_of(proc)


def test_refusals_are_one_line_findings(lab):
    # nothing on the port
    port = lab.port()
    r = lab.bindscope("laptop", "share", str(port))
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1 and "nothing listens" in r.stderr
    # already reachable: no relay, and the URL to use instead
    lab.hold("laptop", [("0.0.0.0", port, None)])
    r = lab.bindscope("laptop", "share", str(port))
    assert r.returncode == 1 and "already reachable" in r.stderr and f"http://{LAPTOP4}:{port}/" in r.stderr
    assert f"bindscope urls {port}" in r.stderr
    # a real Flask debug server: refused unless --i-know
    flask_port = lab.port()
    app_dir = Path(tempfile.mkdtemp(prefix="bs-share-flask-"))
    try:
        (app_dir / "app.py").write_text(
            "from flask import Flask\napp = Flask(__name__)\n@app.get('/')\ndef i():\n    return 'x'\n"
        )
        env = dict(os.environ, FLASK_APP="app.py")
        server = lab.spawn(
            "laptop",
            [
                sys.executable,
                "-m",
                "flask",
                "run",
                "--debug",
                "--no-reload",
                "--host",
                "127.0.0.1",
                "--port",
                str(flask_port),
            ],
            cwd=app_dir,
            env=env,
        )
        lab.wait_listening("laptop", flask_port, server)
        r = lab.bindscope("laptop", "share", str(flask_port))
        assert r.returncode == 1 and "debug server" in r.stderr and "--i-know" in r.stderr, r.stderr
        assert len(r.stderr.splitlines()) == 1
        r = lab.bindscope("laptop", "share", str(flask_port), "--i-know", "--dry-run", "--json")
        assert r.returncode == 0 and json.loads(r.stdout)["server"] == "flask"
    finally:
        shutil.rmtree(app_dir, ignore_errors=True)
    # bad input: exit 2
    for args in (["--for", "soon"], ["--allow", "300.1.1.0/24"], ["--allow", "any"], ["--listen", "10.9.9.9:1"]):
        r = lab.bindscope("laptop", "share", str(port), *args)
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr, (args, r.stderr)


FLASK_APP = """
from flask import Flask, request
app = Flask(__name__)
@app.get("/")
def index():
    return ("<!doctype html><html><head><title>bindscope share lab</title></head>"
            "<body style='background:#fff'><h1 id=marker>Hello from Flask on 127.0.0.1</h1>"
            "<p id=xff>" + request.headers.get("X-Forwarded-For", "none") + "</p></body></html>")
"""


def test_real_browser_on_the_phone_loads_the_flask_page(lab, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        tool_missing("Debian chromium is not installed")
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(FLASK_APP)
    port = lab.port()
    server = lab.spawn(
        "laptop",
        [sys.executable, "-m", "flask", "run", "--no-reload", "--host", "127.0.0.1", "--port", str(port)],
        cwd=app_dir,
        env=dict(os.environ, FLASK_APP="app.py"),
    )
    lab.wait_listening("laptop", port, server)
    proc, banner = start_share(lab, port, "--workers", "1")  # the log's order is asserted
    assert banner["mode"] == "http" and banner["server"] == "flask"
    url = banner["url"]

    def browse(*args: str) -> subprocess.CompletedProcess:
        profile = tempfile.mkdtemp(prefix="bs-chromium-", dir=tmp_path)
        argv = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=800,600", *args, url,
        ]  # fmt: skip
        return lab.run("phone", argv, timeout=90, env=dict(os.environ, HOME=str(tmp_path)))

    dom = browse("--dump-dom")
    assert "Hello from Flask on 127.0.0.1" in dom.stdout, (dom.stdout[-2000:], dom.stderr[-2000:])
    assert f'<p id="xff">{PHONE4}</p>' in dom.stdout
    shot = tmp_path / "phone.png"
    browse(f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (800, 600)
    requests = [e for e in _events(lab, proc) if e["event"] == "request" and e["client"] == PHONE4]
    assert [e["status"] for e in requests][:2] == [303, 200], requests
    assert requests[1]["request"] == "GET / HTTP/1.1"
