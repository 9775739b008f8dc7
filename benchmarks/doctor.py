"""`bindscope doctor PORT --json` end to end, in the lab's laptop namespace, with real servers.

    python benchmarks/doctor.py [--runs 21]

Needs root (it builds the lab of tests/lab/conftest.py: laptop, phone, router, stranger, switch
namespaces joined by veth pairs; traffic only to loopback and the lab's own addresses).
Goal (the doctor issue): under 1 s median.

What it does:

1. Builds the lab and starts two real uvicorn servers in the laptop namespace (an ASGI app that
   answers 200): one on 127.0.0.1 (doctor finds `loopback-only`, exit 1) and one on 0.0.0.0
   (the LAN reaches it: exit 0, and doctor sends its `GET /` with the LAN Host header).
   Without uvicorn, `python -m http.server` plays both parts.
2. Checks the run is sound: the phone namespace connects to the 0.0.0.0 server and not to the
   loopback one, and doctor's exit codes say the same (1 and 0).
3. Times, inside the laptop namespace (one `ip netns exec` for the whole loop; the commands are
   spawned directly, stdout to /dev/null), each case once to warm the page cache, then the
   cases alternate run by run:
   - `bindscope doctor LOOPBACK_PORT --json` (the console script next to this interpreter)
   - `bindscope doctor LAN_PORT --json`
   - `bindscope doctor LAN_PORT --json --no-probe`
   - `bindscope ls --json` (the same collection, no checks, no probe: where doctor's time goes)
   - `python -m bindscope doctor LAN_PORT --json`
   - reference (there is no peer tool for doctor): `ss -ltnp` then `curl` of the LAN URL with
     the LAN Host header, what a person types to find the same first facts by hand.
   Prints median and p90 ms per case, the ratio of each median to the reference, and the goal.

Every server started is stopped and every namespace deleted at the end (the lab's teardown),
also on failure and Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
GOAL_MS = 1000.0
REFERENCE = "reference: ss -ltnp + curl"

ASGI_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hi"})
"""

# Runs inside the laptop namespace: times each case `runs` times, alternating; prints JSON.
TIMER = r"""
import json, subprocess, sys, time
cases, runs = json.loads(sys.argv[1]), int(sys.argv[2])

def once(name, spec):
    start = time.perf_counter()
    for argv in spec["argvs"]:
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=spec["env"])
        if done.returncode not in spec["ok"]:
            raise SystemExit(f"{name}: {argv} exited with {done.returncode}")
    return (time.perf_counter() - start) * 1000

for name, spec in cases.items():
    once(name, spec)
times = {name: [] for name in cases}
for _ in range(runs):
    for name, spec in cases.items():
        times[name].append(once(name, spec))
print(json.dumps(times))
"""


def _load_lab():
    """The lab harness of the tests (tests/lab/conftest.py), loaded by path."""
    spec = importlib.util.spec_from_file_location("bindscope_lab", ROOT / "tests" / "lab" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bindscope_env() -> dict[str, str]:
    """Import bindscope from this tree's src/ (PYTHONPATH when the installed package points elsewhere)."""
    env = dict(os.environ, NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1")
    src = ROOT / "src"
    spec = importlib.util.find_spec("bindscope")
    origin = Path(spec.origin).resolve() if spec and spec.origin else None
    if origin is None or not origin.is_relative_to(src):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH", "")) if p)
    return env


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs per case (default 21)")
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("needs root and iproute2 (it builds network namespaces)", file=sys.stderr)
        return 2
    lab_module = _load_lab()
    lab = lab_module.Lab()
    work = Path(tempfile.mkdtemp(prefix="bs-bench-doctor-"))
    try:
        lab.build()
        (work / "asgiapp.py").write_text(ASGI_APP)
        lo_port, lan_port = lab.port(), lab.port()
        uvicorn = Path(sys.executable).parent / "uvicorn"
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        for host, port in (("127.0.0.1", lo_port), ("0.0.0.0", lan_port)):
            if uvicorn.exists():
                argv = [str(uvicorn), "asgiapp:app", "--host", host, "--port", str(port), "--log-level", "warning"]
            else:
                argv = [sys.executable, "-m", "http.server", "--bind", host, str(port)]
            lab.spawn("laptop", argv, keep=True, cwd=work, env=env)
            lab.wait_listening("laptop", port, timeout=30)
        server = "uvicorn" if uvicorn.exists() else "http.server"
        laptop4 = lab_module.LAPTOP4

        # sound: reality (the phone) and doctor agree
        reach = lab.connect_many("phone", [(laptop4, lo_port), (laptop4, lan_port)])
        assert [ok for ok, _ in reach] == [False, True], f"phone connects: {reach}"
        for port, want in ((lo_port, 1), (lan_port, 0)):
            done = lab.bindscope("laptop", "doctor", str(port), "--json")
            assert done.returncode == want, f"doctor {port}: exit {done.returncode}\n{done.stderr}"
            assert json.loads(done.stdout)["lan"] is (want == 0)

        script = Path(sys.executable).parent / "bindscope"
        bindscope = [str(script)] if os.access(script, os.X_OK) else [sys.executable, "-m", "bindscope"]
        benv = _bindscope_env()
        url = f"http://{laptop4}:{lan_port}/"
        curl = shutil.which("curl")
        cases: dict[str, dict] = {
            f"bindscope doctor {lo_port} --json (loopback {server})": {
                "argvs": [[*bindscope, "doctor", str(lo_port), "--json"]],
                "env": benv,
                "ok": [1],
            },
            f"bindscope doctor {lan_port} --json (0.0.0.0 {server})": {
                "argvs": [[*bindscope, "doctor", str(lan_port), "--json"]],
                "env": benv,
                "ok": [0],
            },
            f"bindscope doctor {lan_port} --json --no-probe": {
                "argvs": [[*bindscope, "doctor", str(lan_port), "--json", "--no-probe"]],
                "env": benv,
                "ok": [0],
            },
            "bindscope ls --json (what doctor collects, without its checks)": {
                "argvs": [[*bindscope, "ls", "--json"]],
                "env": benv,
                "ok": [0, 1],
            },
            f"python -m bindscope doctor {lan_port} --json": {
                "argvs": [[sys.executable, "-m", "bindscope", "doctor", str(lan_port), "--json"]],
                "env": benv,
                "ok": [0],
            },
        }
        if curl is not None:
            cases[REFERENCE] = {
                "argvs": [["ss", "-ltnp"], [curl, "-s", "--noproxy", "*", "-o", "/dev/null", "-m", "5", url]],
                "env": dict(os.environ),
                "ok": [0],
            }
        proc = lab.run(
            "laptop",
            [sys.executable, "-I", "-c", TIMER, json.dumps(cases), str(args.runs)],
            timeout=args.runs * 60 + 120,
        )
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        times: dict[str, list[float]] = json.loads(proc.stdout)
    finally:
        lab.teardown()
        shutil.rmtree(work, ignore_errors=True)

    print(f"bindscope doctor, lab laptop namespace, {args.runs} runs per case, {time.strftime('%Y-%m-%d')}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    ref = statistics.median(times[REFERENCE]) if REFERENCE in times else None
    width = max(len(name) for name in times)
    for name, values in times.items():
        med = statistics.median(values)
        ratio = f"  {med / ref:5.1f}x reference" if ref else ""
        print(f"  {name:<{width}}  median {med:7.1f} ms  p90 {_p90(values):7.1f} ms{ratio}")
    doctor_medians = [statistics.median(v) for k, v in times.items() if k.startswith("bindscope doctor")]
    worst = max(doctor_medians)
    verdict = "MET" if worst < GOAL_MS else "NOT MET"
    print(f"goal: median under {GOAL_MS:.0f} ms -> {verdict} (slowest bindscope case: {worst:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
