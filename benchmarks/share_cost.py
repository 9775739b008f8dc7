"""What one request costs `bindscope share --http`, two ways that do not depend on how busy the
machine is (benchmarks/share.py gives the request rates, which do):

    python benchmarks/share_cost.py [--old REV] [--rounds 5] [--seconds 3] [--skip-wrk] [--skip-callgrind]

1. CPU per request, with wrk (-t2 -c100, keep-alive, the nginx 17-byte file of benchmarks/share.py)
   through socat and through the relay (and through the relay of git revision REV with --old),
   interleaved round by round: user + system time of the relay's processes (socat's forks included),
   of nginx and of wrk, divided by the requests wrk made; the relay's involuntary context switches
   per request; medians.
2. User-space instructions per request of the relay (--workers 1) under valgrind's callgrind:
   a client keeps 50 connections busy for a fixed number of requests; two runs (1,000 and 6,000
   requests) and the difference divided by 5,000, so that start-up is left out.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import share as bench  # benchmarks/share.py

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")

DRIVER = r"""
import selectors, socket, sys
port, conns, total, cookie = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
req = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n\r\n".encode()
sel, sent, done, bufs = selectors.DefaultSelector(), 0, 0, {}
for _ in range(conns):
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    bufs[s] = b""
    s.send(req)
    sent += 1
while done < total:
    for key, _ in sel.select():
        s = key.fileobj
        data = bufs[s] + s.recv(65536)
        while b"hello from nginx\n" in data:
            data = data[data.index(b"hello from nginx\n") + 17 :]
            done += 1
            if sent < total:
                s.send(req)
                sent += 1
        bufs[s] = data
"""


def cpu(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / TICK


def switches(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("nonvoluntary_ctxt_switches"):
                    total += int(line.split()[1])
    return total


def relay_argv(upstream: int, port: int, src: Path | None, *extra: str) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return [*bench.share_argv(upstream, port, "http"), *extra], env


@contextlib.contextmanager
def spawned(argv: list[str], port: int, log: Path, env: dict[str, str]):
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try:
        bench.wait_port(port, 120)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        proc.wait()


def per_request(tmp: Path, up: int, peers: dict[str, Path | None], rounds: int, seconds: int) -> None:
    with contextlib.ExitStack() as stack:
        table = []
        port = up + 1
        socat = stack.enter_context(
            bench.running(["socat", f"TCP-LISTEN:{port},fork,reuseaddr", f"TCP:127.0.0.1:{up}"], port)
        )
        table.append(("socat", port, None, socat.pid))
        for name, src in peers.items():
            port += 1
            argv, env = relay_argv(up, port, src)
            log = tmp / f"{port}.log"
            proc = stack.enter_context(spawned(argv, port, log, env))
            table.append((name, port, bench.token_cookie(log, port), proc.pid))
        nginx = bench.group_pids(os.getpgid(_nginx_pid(up)))
        results: dict[str, list[tuple[float, ...]]] = {name: [] for name, *_ in table}
        for r in range(rounds):
            for name, port, cookie, pgid in table if r % 2 == 0 else table[::-1]:
                pids = bench.group_pids(pgid)
                r0, n0, x0 = cpu(pids), cpu(nginx), switches(pids)
                argv = ["wrk", "-t2", "-c100", f"-d{seconds}s"] + (["-H", f"Cookie: {cookie}"] if cookie else [])
                wrk = subprocess.Popen([*argv, f"http://127.0.0.1:{port}/"], stdout=subprocess.PIPE, text=True)
                out = wrk.stdout.read()  # type: ignore[union-attr]
                _pid, status, usage = os.wait4(wrk.pid, 0)  # wrk's own CPU time
                wrk.returncode = os.waitstatus_to_exitcode(status)
                wrk.stdout.close()  # type: ignore[union-attr]
                pids = bench.group_pids(pgid)
                r1, n1, x1 = cpu(pids), cpu(nginx), switches(pids)
                count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
                rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
                wrk_cpu = usage.ru_utime + usage.ru_stime
                results[name].append(
                    (rate, 1e6 * (r1 - r0) / count, 1e6 * (n1 - n0) / count, 1e6 * wrk_cpu / count, (x1 - x0) / count)
                )
        base = results["socat"]
        print(f"1. wrk -t2 -c100 -d{seconds}s x {rounds} rounds, interleaved: medians, CPU in microseconds per request")
        print(f"  {'':<18} {'req/s':>8} {'vs socat':>8} {'relay':>7} {'nginx':>7} {'wrk':>7} {'invol. sw./req':>15}")
        for name, values in results.items():
            med = [statistics.median(v[i] for v in values) for i in range(5)]
            ratio = statistics.median(a[0] / b[0] for a, b in zip(values, base, strict=True))
            print(f"  {name:<18} {med[0]:8.0f} {ratio:7.2f}x {med[1]:7.1f} {med[2]:7.1f} {med[3]:7.1f} {med[4]:15.2f}")


def _nginx_pid(port: int) -> int:
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    return int(re.search(r"pid=(\d+)", out).group(1))  # type: ignore[union-attr]


def instructions(tmp: Path, up: int, src: Path | None, port: int, requests: int) -> int:
    argv, env = relay_argv(up, port, src, "--workers", "1")
    out = tmp / f"callgrind.{port}.{requests}"
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv]
    log = tmp / f"cg{port}.{requests}.log"
    with spawned(argv, port, log, env):
        cookie = bench.token_cookie(log, port)
        driver = [sys.executable, "-c", DRIVER, str(port), "50", str(requests), cookie]
        subprocess.run(driver, check=True, timeout=600)
    text = subprocess.run(["callgrind_annotate", str(out)], capture_output=True, text=True).stdout
    return int(re.search(r"([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", text).group(1).replace(",", ""))  # type: ignore[union-attr]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", help="also measure the relay of this git revision (git archive of src/)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--skip-wrk", action="store_true")
    ap.add_argument("--skip-callgrind", action="store_true")
    args = ap.parse_args()
    tools = ["nginx", "socat", "wrk", "ss"] + ([] if args.skip_callgrind else ["valgrind", "callgrind_annotate"])
    for tool in tools:
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian: nginx-light, socat, wrk, iproute2, valgrind)")
    with tempfile.TemporaryDirectory(prefix="bs-bench-share-cost-") as d:
        tmp = Path(d)
        tmp.chmod(0o755)
        peers: dict[str, Path | None] = {"bindscope --http": None}
        if args.old:
            old = tmp / "old"
            old.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.old, "src"], capture_output=True, check=True
            )
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
            peers = {f"http @ {args.old}": old / "src", "bindscope --http": None}
        (tmp / "www").mkdir()
        (tmp / "www" / "index.html").write_text("hello from nginx\n")
        up = bench.BASE + 60
        (tmp / "nginx.conf").write_text(bench.NGINX_CONF.format(dir=tmp, port=up))
        with bench.running(["nginx", "-c", str(tmp / "nginx.conf")], up):
            if not args.skip_wrk:
                per_request(tmp, up, peers, args.rounds, args.seconds)
            if not args.skip_callgrind:
                print("2. user-space instructions per request of the relay (callgrind, --workers 1)")
                for i, (name, src) in enumerate(peers.items()):
                    port = up + 10 + 2 * i
                    few = instructions(tmp, up, src, port, 1000)
                    many = instructions(tmp, up, src, port + 1, 6000)
                    print(f"  {name:<18} {(many - few) / 5000:9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
