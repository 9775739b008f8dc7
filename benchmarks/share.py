"""bindscope share vs socat, in the same run, on loopback.

    python benchmarks/share.py [--runs 3] [--seconds 10] [--skip-bulk] [--skip-wrk] [--skip-idle] [--base-port 17100]

Peers, each a relay from 127.0.0.1:P to a server on 127.0.0.1:Q:
- socat   `socat TCP-LISTEN:P,fork,reuseaddr TCP:127.0.0.1:Q` (one process per connection)
- `bindscope share Q --tcp  --listen 127.0.0.1:P --allow 127.0.0.0/8` (splice relay)
- `bindscope share Q --http --listen 127.0.0.1:P --allow 127.0.0.0/8` (every request parsed, checked
  for the token cookie, rewritten and logged; wrk sends the cookie)
The relays' access logs go to a file, as `bindscope share ... > share.log` would.

Figures (issue 7):
1. bulk: one stream of 1 GiB through the relay (an HTTP response with Content-Length from a Python
   source that sends 1 MiB buffers; the client reads with 1 MiB recv_into), MB/s; goal >= 0.8x socat.
2. wrk -t2 -c100 (keep-alive) against nginx (Debian nginx-light, 1 worker, access_log off) serving a
   17-byte static file: requests/s >= 0.8x socat, p99 latency <= 1.5x socat.
3. 1,000 concurrent idle connections (after one request each) held by the relay: resident memory
   (VmRSS of the relay; for socat the sum over its processes); goal < 100 MB for bindscope.
All peers run on the same 2 cores as the load generator and the upstream: compare within a run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

GIB = 1 << 30
BASE = 17100  # below the ephemeral range (32768-60999): no client socket of wrk's can hold one of them

SOURCE = r"""
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", port)); s.listen(64)
buf = b"\0" * (1 << 20)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = c.recv(65536)
        if not chunk:
            break
        head += chunk
    try:
        if b"\r\n\r\n" in head:  # not the readiness probe's empty connection
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % n)
            left = n
            while left:
                left -= c.send(buf[: min(left, len(buf))])
    except OSError:
        pass
    c.close()
"""

NGINX_CONF = """
worker_processes 1;
daemon off;
error_log {dir}/nginx-error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server {{ listen 127.0.0.1:{port}; root {dir}/www; }}
}}
"""


class Peer:
    def __init__(self, name: str, argv: list[str], port: int, cookie: str | None = None):
        self.name, self.argv, self.port, self.cookie = name, argv, port, cookie
        self.proc: subprocess.Popen | None = None


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@contextlib.contextmanager
def running(argv: list[str], port: int, log: Path | None = None) -> Iterator[subprocess.Popen]:
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        try:
            wait_port(port)
        except RuntimeError:
            text = log.read_text(errors="replace")[-2000:] if log else ""
            raise RuntimeError(f"{' '.join(argv[:6])}: nothing listens on {port}: {text}") from None
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def share_argv(upstream: int, port: int, mode: str) -> list[str]:
    listen = f"127.0.0.1:{port}"
    return [
        sys.executable, "-m", "bindscope", "share", str(upstream), f"--{mode}",
        "--listen", listen, "--allow", "127.0.0.0/8", "--no-qr", "--for", "2h",
    ]  # fmt: skip


def token_cookie(log: Path, port: int) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = re.search(r"bindscope_token=([\w-]+)", log.read_text(errors="replace"))
        if m:
            return f"bindscope_share_{port}={m.group(1)}"
        time.sleep(0.05)
    raise RuntimeError("no token in the share banner")


def peers(upstream: int, base: int, tmp: Path) -> list[tuple[str, list[str], int, Path]]:
    return [
        ("socat", ["socat", f"TCP-LISTEN:{base},fork,reuseaddr", f"TCP:127.0.0.1:{upstream}"], base, tmp / "socat.log"),
        ("bindscope --tcp", share_argv(upstream, base + 1, "tcp"), base + 1, tmp / "tcp.log"),
        ("bindscope --http", share_argv(upstream, base + 2, "http"), base + 2, tmp / "http.log"),
    ]  # fmt: skip


# -- 1. bulk ----------------------------------------------------------------------------------------
def bulk_once(port: int, cookie: str | None) -> float:
    c = socket.create_connection(("127.0.0.1", port))
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    c.sendall(f"GET /bulk HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode())
    buf = bytearray(1 << 20)
    mv = memoryview(buf)
    total = 0
    start = time.perf_counter()
    while True:
        n = c.recv_into(mv)
        if not n:
            break
        total += n
    elapsed = time.perf_counter() - start
    c.close()
    if total < GIB:
        raise RuntimeError(f"bulk: got {total} bytes, expected > {GIB}")
    return total / elapsed / 1e6


def bench_bulk(runs: int, tmp: Path) -> dict[str, list[float]]:
    up = BASE
    results: dict[str, list[float]] = {}
    with running([sys.executable, "-c", SOURCE, str(up), str(GIB)], up):
        for name, argv, port, log in peers(up, BASE + 10, tmp):
            with running(argv, port, log):
                cookie = token_cookie(log, port) if "http" in name else None
                results[name] = [bulk_once(port, cookie) for _ in range(runs)]
    return results


# -- 2. wrk ---------------------------------------------------------------------------------------
def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk_once(port: int, cookie: str | None, seconds: int) -> tuple[float, float]:
    argv = ["wrk", "-t2", "-c100", f"-d{seconds}s", "--latency"]
    if cookie:
        argv += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run([*argv, f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk got errors through port {port}:\n{out}")
    return rps, p99


def bench_wrk(runs: int, seconds: int, tmp: Path) -> dict[str, list[tuple[float, float]]]:
    up = BASE + 1
    (tmp / "www").mkdir(exist_ok=True)
    (tmp / "www" / "index.html").write_text("hello from nginx\n")
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=tmp, port=up))
    results: dict[str, list[tuple[float, float]]] = {"nginx direct": []}
    with running(["nginx", "-c", str(conf)], up):
        everyone = peers(up, BASE + 20, tmp)
        stack = contextlib.ExitStack()
        with stack:
            cookies = {}
            for name, argv, port, log in everyone:
                stack.enter_context(running(argv, port, log))
                cookies[name] = token_cookie(log, port) if "http" in name else None
                results[name] = []
            for _ in range(runs):  # interleaved: each run measures every peer once
                results["nginx direct"].append(wrk_once(up, None, seconds))
                for name, _argv, port, _log in everyone:
                    results[name].append(wrk_once(port, cookies[name], seconds))
    return results


# -- 3. idle connections ---------------------------------------------------------------------------
def rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def pss_kb(pids: list[int]) -> int:
    """Proportional set size: shared pages divided among the processes that share them (fair for
    socat's 1,000 forks and for the relay's workers)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total


def group_pids(pgid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getpgid(int(d.name)) == pgid:
                    out.append(int(d.name))
    return out


def bench_idle(tmp: Path, count: int = 1000) -> dict[str, tuple[int, int, int]]:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    up = BASE + 2
    (tmp / "www").mkdir(exist_ok=True)
    (tmp / "www" / "index.html").write_text("hello from nginx\n")
    conf = tmp / "nginx-idle.conf"
    conf.write_text(NGINX_CONF.format(dir=tmp, port=up))
    results = {}
    with running(["nginx", "-c", str(conf)], up):
        for name, argv, port, log in peers(up, BASE + 30, tmp):
            with running(argv, port, log) as proc:
                cookie = token_cookie(log, port) if "http" in name else None
                time.sleep(0.3)
                before = rss_kb(group_pids(proc.pid))
                socks = []
                request = (
                    f"GET / HTTP/1.1\r\nHost: bench\r\n{'Cookie: ' + cookie + chr(13) + chr(10) if cookie else ''}\r\n"
                )
                for _ in range(count):
                    s = socket.create_connection(("127.0.0.1", port))
                    s.sendall(request.encode())
                    socks.append(s)
                for s in socks:  # every connection answered once, then idle
                    s.settimeout(10)
                    data = b""
                    while b"hello from nginx" not in data:
                        data += s.recv(4096)
                time.sleep(0.5)
                pids = group_pids(proc.pid)
                results[name] = (before, rss_kb(pids), pss_kb(pids))
                for s in socks:
                    s.close()
    return results


def main() -> int:
    global BASE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--skip-bulk", action="store_true")
    ap.add_argument("--skip-wrk", action="store_true")
    ap.add_argument("--skip-idle", action="store_true")
    ap.add_argument("--base-port", type=int, default=BASE, help="ports used: from this one to +40 (loopback)")
    args = ap.parse_args()
    BASE = args.base_port
    for tool in ("socat", "wrk", "nginx"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian: socat, wrk, nginx-light)")
    verdict = []
    with tempfile.TemporaryDirectory(prefix="bs-bench-share-") as d:
        tmp = Path(d)
        tmp.chmod(0o755)  # nginx's workers (nobody) read www/ in it
        if not args.skip_bulk:
            bulk = bench_bulk(args.runs, tmp)
            print(f"\n1. bulk: one stream of 1 GiB, MB/s (median of {args.runs})")
            base = statistics.median(bulk["socat"])
            for name, values in bulk.items():
                med = statistics.median(values)
                runs = ", ".join(f"{v:.0f}" for v in values)
                print(f"  {name:<18} {med:8.0f}   {med / base:5.2f}x socat   runs: {runs}")
            for name in ("bindscope --tcp", "bindscope --http"):
                ratio = statistics.median(bulk[name]) / base
                verdict.append(
                    f"bulk {name}: {ratio:.2f}x socat (goal >= 0.8x) -> {'MET' if ratio >= 0.8 else 'NOT MET'}"
                )
        if not args.skip_wrk:
            res = bench_wrk(args.runs, args.seconds, tmp)
            print(f"\n2. wrk -t2 -c100 -d{args.seconds}s, keep-alive, nginx 17-byte file (median of {args.runs})")
            base_rps = statistics.median(r for r, _ in res["socat"])
            base_p99 = statistics.median(p for _, p in res["socat"])
            for name, values in res.items():
                rps = statistics.median(r for r, _ in values)
                p99 = statistics.median(p for _, p in values)
                runs = ", ".join(f"{r:.0f}/{p:.1f}" for r, p in values)
                print(
                    f"  {name:<18} {rps:9.0f} req/s {rps / base_rps:5.2f}x   p99 {p99:8.2f} ms "
                    f"{p99 / base_p99:5.2f}x   runs (req/s / p99 ms): {runs}"
                )
            for name in ("bindscope --tcp", "bindscope --http"):
                rps = statistics.median(r for r, _ in res[name]) / base_rps
                p99 = statistics.median(p for _, p in res[name]) / base_p99
                verdict.append(
                    f"wrk {name}: {rps:.2f}x socat req/s (goal >= 0.8x) -> {'MET' if rps >= 0.8 else 'NOT MET'}"
                )
                verdict.append(
                    f"wrk {name}: p99 {p99:.2f}x socat (goal <= 1.5x) -> {'MET' if p99 <= 1.5 else 'NOT MET'}"
                )
        if not args.skip_idle:
            idle = bench_idle(tmp)
            print("\n3. 1,000 idle connections (one request each, then idle): memory of every process of the peer")
            for name, (before, after, pss) in idle.items():
                print(
                    f"  {name:<18} RSS {before / 1024:7.1f} MB before, {after / 1024:7.1f} MB with 1,000 connections"
                    f" (PSS {pss / 1024:.1f} MB)"
                )
            for name in ("bindscope --tcp", "bindscope --http"):
                mb = idle[name][1] / 1024
                verdict.append(f"idle {name}: {mb:.1f} MB (goal < 100 MB) -> {'MET' if mb < 100 else 'NOT MET'}")
    print()
    for line in verdict:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
