"""`bindscope probe HOST --ports RANGE` against `nmap -sT -Pn` over 1,000 ports of a lab host, in the same run.

    python benchmarks/probe.py [--runs 7] [--ports 1000] [--open 5] [--filtered 20] [--timeout S]

Needs root (network namespaces), iproute2, nftables and nmap. Goal (issue 4): 1,000 ports in under 2 s.

What it does:

1. Builds two namespaces joined by a veth pair: `bs-bprobe-host-<pid>` (198.51.100.1/24) and
   `bs-bprobe-phone-<pid>` (198.51.100.2/24). Traffic goes only to 198.51.100.1, inside them.
2. In the host: a listener process on --open ports spread over the range (it accepts and closes), and an
   nftables table dropping incoming TCP to --filtered other ports. Every other port is refused (RST).
3. From the phone, alternating run by run (so load on this 2-core machine hits all alike), each command run
   once first to warm up: `bindscope probe 198.51.100.1 --ports RANGE --json` (its default per-connect timeout
   1 s, 500 connections at a time), `nmap -n -sT -Pn -p RANGE 198.51.100.1` (nmap's default timing) and the
   same with `-T4`. Wall time of the whole command, `ip netns exec` included for all.
4. Checks every run: bindscope's open ports and filtered (timeout) ports must equal the truth, and nmap's
   open/filtered sets too (a benchmark of a wrong answer is no benchmark).
5. Prints median and p90 ms, the ratio of each median to bindscope's, and the goal.

Why the timeout matters: a dropped SYN gets no answer, so each filtered port costs the whole per-connect
timeout. They all wait at the same time (500 at a time), so a run takes about one timeout plus the time to
connect to the rest: with the default 1 s the filtered ports bound the run near 1 s. nmap instead adapts
its timeout to the measured round trip and retransmits to filtered ports.

Every process started is killed and both namespaces are deleted at the end, also on failure and Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST4, PHONE4 = "198.51.100.1", "198.51.100.2"
BASE = 20000

LISTENER = r"""
import json, os, socket, sys, threading, time
parent = os.getppid()
socks = []
for port in json.loads(sys.argv[1]):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(512); socks.append(s)
def serve(s):
    while True:
        c, _ = s.accept(); c.close()
for s in socks:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
print("ready", flush=True)
while os.getppid() == parent:
    time.sleep(0.2)
"""


def sh(*argv: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.strip()}")
    return proc


class Bench:
    def __init__(self) -> None:
        tag = os.getpid()
        self.host, self.phone = f"bs-bprobe-host-{tag}", f"bs-bprobe-phone-{tag}"
        self.vh, self.vp = f"bsbh{tag}", f"bsbp{tag}"
        self.procs: list[subprocess.Popen] = []

    def build(self) -> None:
        sh("ip", "netns", "add", self.host)
        sh("ip", "netns", "add", self.phone)
        sh(
            "ip",
            "link",
            "add",
            self.vh,
            "netns",
            self.host,
            "type",
            "veth",
            "peer",
            "name",
            self.vp,
            "netns",
            self.phone,
        )
        for ns, dev, addr in ((self.host, self.vh, HOST4), (self.phone, self.vp, PHONE4)):
            sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def teardown(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for ns in (self.host, self.phone):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)

    def listen(self, ports: list[int]) -> None:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.host, sys.executable, "-I", "-c", LISTENER, json.dumps(ports)],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.procs.append(proc)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit("listener did not start")

    def drop(self, ports: list[int]) -> None:
        rules = (
            "table inet bsbench {\n chain input {\n  type filter hook input priority 0; policy accept;\n"
            f"  tcp dport {{ {', '.join(map(str, ports))} }} drop\n }}\n}}\n"
        )
        sh("ip", "netns", "exec", self.host, "nft", "-f", "-", input=rules)

    def timed(self, argv: list[str]) -> tuple[float, str]:
        start = time.perf_counter()
        proc = subprocess.run(
            ["ip", "netns", "exec", self.phone, *argv], capture_output=True, text=True, timeout=600, env=_env()
        )
        took = (time.perf_counter() - start) * 1000
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
        return took, proc.stdout


def _env() -> dict[str, str]:
    env = dict(os.environ, NO_COLOR="1")
    src = ROOT / "src"
    try:
        import bindscope

        if Path(bindscope.__file__).resolve().parent.parent != src:
            env["PYTHONPATH"] = f"{src}{os.pathsep}{env.get('PYTHONPATH', '')}"
    except ImportError:
        env["PYTHONPATH"] = str(src)
    return env


def _bindscope() -> list[str]:
    script = Path(sys.executable).parent / "bindscope"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bindscope"]


def parse_bindscope(out: str) -> tuple[set[int], set[int]]:
    [a] = json.loads(out)["addresses"]
    opened = {p["port"] for p in a["open"]}
    filtered: set[int] = set()
    for part in filter(None, a["ports"].get("timeout", "").split(",")):
        lo, _, hi = part.partition("-")
        filtered |= set(range(int(lo), int(hi or lo) + 1))
    return opened, filtered


def parse_nmap(out: str, ports: range) -> tuple[set[int], set[int]]:
    root = ET.fromstring(out)
    states: dict[int, str] = {}
    for host in root.iter("host"):
        for port in host.iter("port"):
            states[int(port.get("portid", "0"))] = port.find("state").get("state")  # type: ignore[union-attr]
        extra = [x.get("state") for x in host.iter("extraports")]
        if len(extra) == 1:
            for p in ports:
                states.setdefault(p, str(extra[0]))
    return {p for p, s in states.items() if s == "open"}, {p for p, s in states.items() if s == "filtered"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--ports", type=int, default=1000)
    ap.add_argument("--open", type=int, default=5)
    ap.add_argument("--filtered", type=int, default=20)
    ap.add_argument("--timeout", type=float, help="bindscope --timeout (default: its own, 1 s)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root: it creates network namespaces")
    for tool in ("ip", "nft", "nmap"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    ports = range(BASE, BASE + args.ports)
    step = args.ports // (args.open + args.filtered + 1)
    picks = [BASE + step * (i + 1) for i in range(args.open + args.filtered)]
    opened, filtered = set(picks[: args.open]), set(picks[args.open :])

    bench = Bench()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        bench.build()
        bench.listen(sorted(opened))
        if filtered:
            bench.drop(sorted(filtered))
        spec = f"{ports.start}-{ports.stop - 1}"
        extra = ["--timeout", str(args.timeout)] if args.timeout else []
        cases = {
            "bindscope probe --ports": ([*_bindscope(), "probe", HOST4, "--ports", spec, "--json", *extra], "b"),
            "nmap -sT -Pn": (["nmap", "-n", "-sT", "-Pn", "-p", spec, "-oX", "-", HOST4], "n"),
            "nmap -sT -Pn -T4": (["nmap", "-n", "-sT", "-Pn", "-T4", "-p", spec, "-oX", "-", HOST4], "n"),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for run in range(args.runs + 1):
            for name, (argv, kind) in cases.items():
                took, out = bench.timed(argv)
                got = parse_bindscope(out) if kind == "b" else parse_nmap(out, ports)
                if got != (opened, filtered):
                    raise SystemExit(
                        f"{name} answered wrong: open {sorted(got[0])} filtered {sorted(got[1])}; "
                        f"truth open {sorted(opened)} filtered {sorted(filtered)}"
                    )
                if run:  # run 0 warms up
                    times[name].append(took)
    finally:
        bench.teardown()

    print(
        f"# {date.today()}  {platform.node()}  Python {platform.python_version()}  {os.cpu_count()} cores; "
        f"{args.ports} ports: {args.open} open, {args.filtered} dropped by nft, the rest refused; "
        f"{args.runs} runs each (after a warm-up), alternating"
    )
    print(f"{'command':<28} {'median ms':>10} {'p90 ms':>8} {'ratio':>7}")
    base = statistics.median(times["bindscope probe --ports"])
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<28} {med:>10.1f} {pct(values, 0.9):>8.1f} {med / base:>6.2f}x")
    for name in ("nmap -sT -Pn", "nmap -sT -Pn -T4"):
        print(f"{name} / bindscope = {statistics.median(times[name]) / base:.2f}x")
    verdict = "MET" if base < 2000 else "NOT MET"
    print(f"bindscope probe --ports over {args.ports} ports: {base / 1000:.2f} s (goal < 2 s) -> {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
