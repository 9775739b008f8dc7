"""What reading the firewall costs `ls`, measured in the same run (issue 5).

    python benchmarks/firewall.py [--runs 21] [--listeners 2000]

Needs root (it creates a network namespace `bs-fwbench-<pid>` with one veth pair, addresses
198.51.100.1/24 and fd42:b1d:0:1::1/64, traffic: none). In it, three cases:

1. `lo-only`: N listeners on 127.0.0.1 and a ufw ruleset loaded: the firewall must not be read
   at all (no path reaches beyond this machine); checked, not only timed.
2. `any-no-rules`: N listeners on 0.0.0.0, no firewall rules.
3. `any-ufw`: N listeners on 0.0.0.0 and the ruleset the real ufw loads
   (tests/unit/fixtures/firewall/iptables-nft-save-ufw.txt, restored with iptables-nft-restore).

For each, `bindscope.listeners()` (firewall read and evaluated) and `bindscope.listeners(blockers=())`
(firewall left out) run alternately in one process inside the namespace, `--runs` times each; it
prints the medians and their ratio, and the median cost of collect.firewall.collect() alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UFW = ROOT / "tests/unit/fixtures/firewall/iptables-nft-save-ufw.txt"

HOLD = r"""
import socket, sys, time
socks = []
for p in range(int(sys.argv[2]), int(sys.argv[2]) + int(sys.argv[3])):
    s = socket.socket(); s.bind((sys.argv[1], p)); s.listen(); socks.append(s)
print("ready", flush=True)
time.sleep(600)
"""

MEASURE = r"""
import json, statistics, sys, time
from bindscope import api
from bindscope.collect import firewall as cf
runs = int(sys.argv[1])
with_fw, without, collect = [], [], []
read = None
for i in range(runs):
    for which in ((0, 1) if i % 2 else (1, 0)):
        t = time.perf_counter()
        if which:
            result = api.listeners()
            with_fw.append(time.perf_counter() - t)
        else:
            api.listeners(blockers=())
            without.append(time.perf_counter() - t)
    t = time.perf_counter(); cf.collect(); collect.append(time.perf_counter() - t)
fw = api.firewall_blocker(api.snapshot(firewall=False), live=True)
api.listeners(blockers=(fw,))
read = fw.loaded() is not None
med = lambda xs: statistics.median(xs) * 1000
print(json.dumps({"with": med(with_fw), "without": med(without), "collect": med(collect), "read": read}))
"""


def sh(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), check=True, capture_output=True, text=True, **kw)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--listeners", type=int, default=2000)
    args = ap.parse_args()
    ns = f"bs-fwbench-{os.getpid()}"
    sh("ip", "netns", "add", ns)
    holder = None
    try:
        sh("ip", "-n", ns, "link", "add", "bsf0", "type", "veth", "peer", "name", "bsf1")
        sh("ip", "-n", ns, "addr", "add", "198.51.100.1/24", "dev", "bsf0")
        sh("ip", "-n", ns, "-6", "addr", "add", "fd42:b1d:0:1::1/64", "dev", "bsf0", "nodad")
        for dev in ("lo", "bsf0", "bsf1"):
            sh("ip", "-n", ns, "link", "set", dev, "up")
        for case, bind, rules in (
            ("lo-only", "127.0.0.1", True),
            ("any-no-rules", "0.0.0.0", False),
            ("any-ufw", "0.0.0.0", True),
        ):
            sh("ip", "netns", "exec", ns, "nft", "flush", "ruleset")
            if rules:
                sh("ip", "netns", "exec", ns, "iptables-nft-restore", input=UFW.read_text())
            holder = subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, "-c", HOLD, bind, "30000", str(args.listeners)],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
            out = sh("ip", "netns", "exec", ns, sys.executable, "-c", MEASURE, str(args.runs)).stdout
            r = json.loads(out)
            print(
                f"{case:<13} {args.listeners} listeners: ls with firewall {r['with']:.1f} ms,"
                f" without {r['without']:.1f} ms,"
                f" ratio {r['with'] / r['without']:.2f}; firewall read: {'yes' if r['read'] else 'no'}"
                f" (collect alone {r['collect']:.1f} ms)"
            )
            holder.kill()
            holder.wait()
            holder = None
            time.sleep(0.2)
    finally:
        if holder is not None:
            holder.kill()
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    main()
