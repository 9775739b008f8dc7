"""Startup cost of bindscope against the bare interpreter, measured in the same run.

    python benchmarks/startup.py [--runs 30]

Runs each command alternately (so load affects all alike), reports the median and the
median minus `python -c pass`. Goal (issue 2): `bindscope --version` < 60 ms over bare.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    script = shutil.which("bindscope")
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import bindscope'": [sys.executable, "-c", "import bindscope"],
        "bindscope --version": [script, "--version"] if script else [sys.executable, "-m", "bindscope", "--version"],
        "python -m bindscope --version": [sys.executable, "-m", "bindscope", "--version"],
        "bindscope explain 0.0.0.0": ([script] if script else [sys.executable, "-m", "bindscope"])
        + ["explain", "0.0.0.0"],
        "bindscope explain 0.0.0.0 --json": ([script] if script else [sys.executable, "-m", "bindscope"])
        + ["explain", "0.0.0.0", "--json"],
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for cmd in cases.values():  # warm the page cache once
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    for _ in range(args.runs):
        for name, cmd in cases.items():
            start = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times[name].append((time.perf_counter() - start) * 1000)
    base = statistics.median(times["python -c pass"])
    print(f"{'command':36} {'median ms':>10} {'p90 ms':>8} {'over bare':>10} {'ratio':>6}")
    for name, values in times.items():
        med = statistics.median(values)
        p90 = sorted(values)[int(0.9 * (len(values) - 1))]
        print(f"{name:36} {med:10.1f} {p90:8.1f} {med - base:+10.1f} {med / base:6.2f}x")
    over = statistics.median(times["bindscope --version"]) - base
    print(
        f"\nbindscope --version: {over:+.1f} ms over the bare interpreter (goal: < 60 ms) -> "
        f"{'MET' if over < 60 else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
