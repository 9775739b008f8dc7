"""`bindscope ls --json` against ss, lsof and psutil on a loaded network namespace, measured in the same run.

    python benchmarks/ls.py [--runs 7] [--listeners 10000] [--connections 16000] [--procs 1000]
                            [--keep-order-worst] [--keep]

Needs root (it creates network namespaces). Goal (the `ls` issue): in the loaded namespace
`bindscope ls --json` takes at most 0.7x the time of `ss -ltnup`, is at least 3x faster than
`lsof` and than a psutil script; on an idle machine it takes under 150 ms.

What it does:

1. Idle figures first, before any load exists: `bindscope ls --json` timed in the machine's
   own network namespace as it is (the "idle machine" figure of the goal) and in a fresh
   namespace with only `lo` up.
   Before that, bindscope's bytecode is written (`compileall`), as installing a package does:
   without it, an editable install under PYTHONDONTWRITEBYTECODE compiles every module on every run.
2. Builds the load in its own namespace `bs-bench-<pid>` (only `lo`, traffic only to 127.0.0.1):
   1,000 extra processes (`sleep 3600`, children of one helper), then a server process holding
   10,000 TCP listeners on 127.0.0.1:10000.. , then a client process that opens 16,000
   connections spread over the listeners, which the server accepts and keeps open (32,000
   established sockets). It waits until `ss -Htn state established` shows them all.
   The sleepers are started first, so an owner scan of /proc in pid order passes them before
   it reaches the server.
3. Checks the run is sound: `bindscope ls --json` must list the 10,000 listeners on 127.0.0.1
   with the server's pid, and `ss -Htln` must count 10,000.
4. Times, inside that namespace (one `ip netns exec` for the whole loop, the commands are
   spawned directly): `bindscope ls --json`, `ss -ltnup` (with processes), `ss -ltnuH`,
   `lsof -nP -iTCP -sTCP:LISTEN` and a psutil script listing listeners with their pids
   (`psutil.net_connections(kind="tcp")`, status LISTEN). Each is run once to warm the page
   cache, then the commands alternate run by run so load affects all alike; stdout goes to
   /dev/null. Prints median and p90 ms, the ratio of each median to bindscope's, the median CPU time
   (user + system, from the child's rusage), and the goals.

--keep: build the loaded namespace, print its name, and keep it (no timing) until Ctrl-C or
SIGTERM, then clean up as usual: for capturing output or profiling by hand, e.g.
`ip netns exec bs-bench-PID bindscope ls --json`.

--keep-order-worst: a worse case for an owner scan that stops as soon as every listener is
found. The client is started before the server (so its 16,000 sockets have lower pids and
are read first), and the server opens 2,000 unbound sockets before its listeners (so those
fds come first in its fd table).

File descriptors: every helper runs with RLIMIT_NOFILE raised as far as allowed (100,000 with
CAP_SYS_RESOURCE; otherwise the inherited hard limit, 20,000 on some VMs and containers). When
the server cannot hold its listeners and every accepted socket under that limit, it keeps what
fits after its listeners and hands the rest (SCM_RIGHTS) to a "holder" process that is not its
descendant: started after the server by default (its fds come after the server's listeners in
a pid-ordered scan, as the server's own accepted sockets would), before it with
--keep-order-worst (read before the listeners, as intended there). The run says so when it
happens.

`bindscope` is run as the console script next to the interpreter (not a pyenv shim, which adds
a shell's start-up), importing the package from this tree's src/ (PYTHONPATH is set when the
installed package points elsewhere). Every process started is killed and every namespace
created is deleted at the end, also on failure, Ctrl-C and SIGTERM; helpers also die with the
script (PR_SET_PDEATHSIG). After a SIGKILL only the namespace can remain: the next run deletes it.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import ctypes
import importlib.util
import json
import math
import os
import platform
import resource
import select
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
PORT_BASE = 10000
PORT_END = 32768  # first port of the default ephemeral range: listeners stay below it
NOFILE = 100_000  # what root asks for; without CAP_SYS_RESOURCE the hard limit stays
FD_MARGIN = 100  # fds a helper needs besides its sockets
SCM_BATCH = 200  # fds per SCM_RIGHTS message (the kernel's maximum is 253)
DUMMIES = 2000  # unbound sockets the server opens first with --keep-order-worst
PR_SET_PDEATHSIG = 1
LOAD_TIMEOUT = 120.0  # seconds for each step of building the load
BINDSCOPE = "bindscope ls --json"
SS_P = "ss -ltnup"
SS_H = "ss -ltnuH"
LSOF = "lsof -nP -iTCP -sTCP:LISTEN"
PSUTIL = "psutil script"
PSUTIL_CODE = (
    "import psutil\n"
    "for c in psutil.net_connections(kind='tcp'):\n"
    "    if c.status == psutil.CONN_LISTEN:\n"
    "        print(c.laddr.ip, c.laddr.port, c.pid)\n"
)

_libc = ctypes.CDLL(None, use_errno=True)

Case = tuple[list[str], dict[str, str] | None, tuple[int, ...]]  # command, environment (None: inherit), exit codes


# -- helpers shared by all roles ---------------------------------------------------------------
def _die_with_parent() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _raise_nofile() -> int:
    """Raise RLIMIT_NOFILE to NOFILE, or as far as the hard limit allows; returns the limit."""
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    except (ValueError, OSError):  # no CAP_SYS_RESOURCE: the hard limit is the ceiling
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _server_keeps(args: argparse.Namespace, limit: int) -> int:
    """How many accepted sockets the server keeps itself (the rest go to the holder)."""
    dummies = DUMMIES if args.keep_order_worst else 0
    return max(0, min(args.connections, limit - args.listeners - dummies - SCM_BATCH - FD_MARGIN))


def _say(line: str) -> None:
    print(line, flush=True)


def _forever() -> NoReturn:
    while True:
        signal.pause()


def _compile_bindscope() -> None:
    """Write bindscope's bytecode (__pycache__), as `pip install` does for an installed package:
    with PYTHONDONTWRITEBYTECODE set (some sandboxes and containers set it) an editable install
    would otherwise compile every module from source on every run (~18 ms), while the peers'
    libraries (psutil) were compiled when they were installed."""
    spec = importlib.util.find_spec("bindscope")
    package = Path(spec.origin).parent if spec and spec.origin else ROOT / "src" / "bindscope"
    if not package.is_relative_to(ROOT / "src"):
        package = ROOT / "src" / "bindscope"
    compileall.compile_dir(str(package), quiet=1)


def _bindscope_case() -> tuple[list[str], dict[str, str] | None]:
    """The console script next to this interpreter (a pyenv shim would add a bash start-up),
    importing bindscope from this tree's src/."""
    script = Path(sys.executable).parent / "bindscope"
    cmd = [str(script)] if os.access(script, os.X_OK) else [sys.executable, "-m", "bindscope"]
    src = ROOT / "src"
    spec = importlib.util.find_spec("bindscope")
    origin = Path(spec.origin).resolve() if spec and spec.origin else None
    if origin is not None and origin.is_relative_to(src):
        return cmd, None
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH", "")) if p)
    return cmd, env


def _cases(names: list[str]) -> dict[str, Case]:
    bindscope, env = _bindscope_case()
    every: dict[str, Case] = {
        BINDSCOPE: ([*bindscope, "ls", "--json"], env, (0, 1)),  # 1: it found a problem (e.g. a debug server)
        SS_P: (["ss", "-ltnup"], None, (0,)),
        SS_H: (["ss", "-ltnuH"], None, (0,)),
        LSOF: (["lsof", "-nP", "-iTCP", "-sTCP:LISTEN"], None, (0,)),
        PSUTIL: ([sys.executable, "-c", PSUTIL_CODE], None, (0,)),
    }
    return {name: every[name] for name in names}


def _time_cases(cases: dict[str, Case], runs: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock ms and CPU ms (user + system, from the child's rusage) of each run, by case."""

    def run(name: str, case: Case) -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(case[0], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=case[1])
        elapsed = (time.perf_counter() - start) * 1000
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in case[2]:
            raise RuntimeError(f"{name!r} exited with {done.returncode}")
        cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
        return elapsed, cpu

    for name, case in cases.items():  # warm the page cache once
        run(name, case)
    times: dict[str, list[float]] = {name: [] for name in cases}
    cpus: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, case in cases.items():
            elapsed, cpu = run(name, case)
            times[name].append(elapsed)
            cpus[name].append(cpu)
    return times, cpus


# -- roles: processes this script starts inside the namespace ----------------------------------
def role_server(args: argparse.Namespace) -> NoReturn:
    """Listeners on 127.0.0.1:PORT_BASE.., then accept `connections` and keep them open
    (those beyond the fd limit handed to the holder over the --channel socket)."""
    keep = _server_keeps(args, _raise_nofile())
    channel = socket.socket(fileno=args.channel) if args.channel >= 0 else None
    dummies = [socket.socket() for _ in range(DUMMIES)] if args.keep_order_worst else []
    sel = selectors.EpollSelector()
    listening: list[socket.socket] = []
    for port in range(PORT_BASE, PORT_BASE + args.listeners):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
        listening.append(sock)
    _say(f"listening {len(listening)} dummies {len(dummies)}")
    kept: list[socket.socket] = []
    batch: list[socket.socket] = []
    count = handed = reported = 0

    def hand_over() -> None:
        nonlocal handed
        if channel is None:
            raise SystemExit(f"server: fd limit reached after keeping {len(kept)} sockets, and no holder")
        socket.send_fds(channel, [b"f"], [conn.fileno() for conn in batch])
        handed += len(batch)
        for conn in batch:
            conn.close()
        batch.clear()

    while count < args.connections:
        for key, _ in sel.select(timeout=1.0):
            lsock: socket.socket = key.fileobj  # type: ignore[assignment]
            while True:
                try:
                    conn, _ = lsock.accept()
                except BlockingIOError:
                    break
                count += 1
                if len(kept) < keep:
                    kept.append(conn)
                else:
                    batch.append(conn)
                    if len(batch) >= SCM_BATCH:
                        hand_over()
        if count - reported >= 4000:
            reported = count
            _say(f"progress accepted {count}")
    if batch:
        hand_over()
    if channel is not None:
        channel.send(b"d")
    sel.close()
    _say(f"accepted {count}: {len(kept)} kept, {handed} handed to the holder")
    _forever()


def role_holder(args: argparse.Namespace) -> NoReturn:
    """Keeps the accepted sockets the server has no fds left for (received over --channel)."""
    _raise_nofile()
    channel = socket.socket(fileno=args.channel)
    held: list[int] = []
    while True:
        msg, fds, _flags, _addr = socket.recv_fds(channel, 16, SCM_BATCH)
        held += fds
        if msg in (b"d", b""):
            break
    _say(f"holding {len(held)}")
    _forever()


def role_client(args: argparse.Namespace) -> NoReturn:
    """After a line on stdin, `connections` connections spread over the listeners, kept open."""
    _raise_nofile()
    sys.stdin.readline()
    conns: list[socket.socket] = []
    for i in range(args.connections):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(10.0)
        sock.connect(("127.0.0.1", PORT_BASE + i % args.listeners))
        conns.append(sock)
        if (i + 1) % 4000 == 0:
            _say(f"progress connected {i + 1}")
    _say(f"connected {len(conns)}")
    _forever()


def role_sleepers(args: argparse.Namespace) -> NoReturn:
    """`procs` children running `sleep 3600`, each dying with this process."""
    for _ in range(args.procs):
        if os.fork() == 0:
            try:
                _die_with_parent()
                os.execvp("sleep", ["sleep", "3600"])
            finally:
                os._exit(127)
    _say(f"started {args.procs}")
    _forever()


def role_time(args: argparse.Namespace) -> None:
    """The timing loop, run inside a namespace; results as JSON on stdout."""
    result: dict[str, Any] = {}
    if args.check_pid:
        result["check"] = _sanity_check(args.check_pid, args.listeners)
        print(f"check: {result['check']}", file=sys.stderr, flush=True)
    try:
        result["times"], result["cpu"] = _time_cases(_cases(args.cases), args.runs)
    except RuntimeError as exc:
        raise SystemExit(f"timing: {exc}") from None
    print(json.dumps(result))


def _sanity_check(server_pid: int, listeners: int) -> str:
    cmd, env, codes = _cases([BINDSCOPE])[BINDSCOPE]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode not in codes:
        raise SystemExit(f"check: {BINDSCOPE} exited with {done.returncode}: {done.stderr.strip()[-500:]}")
    data = json.loads(done.stdout)
    if not isinstance(data, list):
        raise SystemExit(f"check: {BINDSCOPE} printed a {type(data).__name__}, not a list")
    ports = range(PORT_BASE, PORT_BASE + listeners)
    ours = [
        item
        for item in data
        if item.get("proto") == "tcp" and item.get("address") == "127.0.0.1" and item.get("port") in ports
    ]
    found = {item["port"] for item in ours}
    if len(ours) != listeners or len(found) != listeners:
        raise SystemExit(f"check: {BINDSCOPE} lists {len(found)} of the {listeners} listeners on 127.0.0.1")
    without = [item["port"] for item in ours if server_pid not in (item.get("pids") or [])]
    if without:
        raise SystemExit(f"check: {len(without)} listeners lack the server's pid {server_pid}, e.g. port {without[0]}")
    names = {item.get("process") for item in ours}
    counted = subprocess.run(["ss", "-Htln"], capture_output=True, text=True, check=True).stdout.count("\n")
    if counted != listeners:
        raise SystemExit(f"check: ss -Htln counts {counted} listeners, expected {listeners}")
    return (
        f"passed: {BINDSCOPE} lists {listeners} TCP listeners on 127.0.0.1 held by the server "
        f"(pid {server_pid}, process {', '.join(sorted(map(str, names)))}); ss -Htln counts {counted}"
    )


# -- the orchestrating process -------------------------------------------------------------------
class Child:
    """A helper process in a namespace: dies with us, own process group, lines on its stdout."""

    def __init__(
        self, ns: str, argv: list[str], *, stdin: int | None = subprocess.DEVNULL, pass_fds: tuple[int, ...] = ()
    ) -> None:
        parent = os.getpid()

        def preexec() -> None:
            _die_with_parent()
            if os.getppid() != parent:
                os._exit(1)

        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdin=stdin,
            stdout=subprocess.PIPE,
            preexec_fn=preexec,
            start_new_session=True,
            pass_fds=pass_fds,
        )
        self.buf = b""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def expect(self, prefix: str, timeout: float, progress: Callable[[str], None] | None = None) -> str:
        """Read lines until one starts with `prefix`; fail on exit or after `timeout` seconds."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                text = line.decode()
                if text.startswith(prefix):
                    return text
                if progress:
                    progress(text)
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"pid {self.pid}: no {prefix!r} within {timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise RuntimeError(f"pid {self.pid} exited ({self.proc.wait()}) before {prefix!r}")
                self.buf += chunk

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            print(f"warning: pid {self.proc.pid} did not exit", file=sys.stderr)
        if self.proc.stdout:
            self.proc.stdout.close()
        if self.proc.stdin:
            self.proc.stdin.close()


class Lab:
    """Namespaces and processes this run created, all removed by close()."""

    def __init__(self) -> None:
        self.namespaces: list[str] = []
        self.children: list[Child] = []

    def namespace(self, name: str) -> str:
        subprocess.run(["ip", "netns", "add", name], check=True)
        self.namespaces.append(name)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        return name

    def start(
        self, ns: str, argv: list[str], *, stdin: int | None = subprocess.DEVNULL, pass_fds: tuple[int, ...] = ()
    ) -> Child:
        child = Child(ns, argv, stdin=stdin, pass_fds=pass_fds)
        self.children.append(child)
        return child

    def self_argv(self, role: str, args: argparse.Namespace, *extra: str) -> list[str]:
        argv = [sys.executable, str(SCRIPT), "--_role", role, "--listeners", str(args.listeners)]
        argv += ["--connections", str(args.connections), "--procs", str(args.procs), "--runs", str(args.runs)]
        return argv + (["--keep-order-worst"] if args.keep_order_worst else []) + list(extra)

    def time_inside(self, ns: str, args: argparse.Namespace, cases: list[str], check_pid: int = 0) -> dict[str, Any]:
        argv = self.self_argv("time", args, "--check-pid", str(check_pid), "--cases", *cases)
        child = self.start(ns, argv)
        out, _ = child.proc.communicate()
        if child.proc.returncode != 0:
            raise RuntimeError(f"the timing run in {ns} failed (exit {child.proc.returncode})")
        self.children.remove(child)
        child.kill()
        result: dict[str, Any] = json.loads(out)
        return result

    def drop_namespace(self, name: str) -> None:
        """Kill whatever still lives in namespace `name` (by its inode), then delete it."""
        try:
            ino = os.stat(f"/run/netns/{name}").st_ino
        except OSError:
            ino = None
        for _ in range(50):
            left = _pids_in_netns(ino) if ino is not None else []
            if not left:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        else:
            print(f"warning: processes still in {name}: {left[:10]}", file=sys.stderr)
        subprocess.run(["ip", "netns", "del", name], check=False)
        self.namespaces.remove(name)

    def close(self) -> None:
        groups = {child.pid for child in self.children}  # each helper leads its own process group
        for child in reversed(self.children):  # the timing run first, then the load
            child.kill()
        self.children.clear()
        deadline = time.monotonic() + 10
        while (left := _pids_in_groups(groups)) and time.monotonic() < deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        if left:
            print(f"warning: processes left in our process groups: {left[:10]}", file=sys.stderr)
        for name in list(self.namespaces):
            self.drop_namespace(name)
        leftover = [n for n in _netns_names() if n.startswith(f"bs-bench-{os.getpid()}")]
        if leftover:
            print(f"warning: namespaces left: {leftover}", file=sys.stderr)


def _pids_in_netns(ino: int) -> list[int]:
    target = f"net:[{ino}]"
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/net") == target:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def _pids_in_groups(groups: set[int]) -> list[int]:
    """Processes (zombies included) whose process group is one of `groups`."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) in groups:  # fields after the name: state, ppid, pgrp
                pids.append(int(entry))
    return pids


def _drop_stale_namespaces(lab: Lab) -> None:
    """Namespaces of an earlier run that was killed with SIGKILL (its pid is gone): delete them."""
    for name in _netns_names():
        parts = name.split("-")
        if name.startswith("bs-bench-") and parts[2].isdigit() and not os.path.exists(f"/proc/{parts[2]}"):
            _log(f"deleting {name}, left by a run that was killed")
            lab.namespaces.append(name)
            lab.drop_namespace(name)


def _netns_names() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _established(ns: str) -> int:
    out = subprocess.run(["ss", "-N", ns, "-Htn", "state", "established"], capture_output=True, check=True).stdout
    return out.count(b"\n")


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def build_load(lab: Lab, ns: str, args: argparse.Namespace) -> int:
    """The sleepers, the server and the client in `ns`; returns the server's pid."""
    start = time.perf_counter()
    if args.procs:
        sleepers = lab.start(ns, lab.self_argv("sleepers", args))
        sleepers.expect("started", LOAD_TIMEOUT)
        _log(f"load: {args.procs} sleep processes (helper pid {sleepers.pid})")
    limit = _raise_nofile()  # inherited by every helper
    if args.connections > limit - FD_MARGIN:
        raise RuntimeError(f"RLIMIT_NOFILE is {limit}: too low for a client with {args.connections} connections")
    surplus = args.connections - _server_keeps(args, limit)
    if surplus:
        _log(f"load: RLIMIT_NOFILE is {limit} (no CAP_SYS_RESOURCE?): a holder keeps {surplus} accepted sockets")
    worst = args.keep_order_worst
    server_end, holder_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with server_end, holder_end:
        holder_argv = lab.self_argv("holder", args, "--channel", str(holder_end.fileno()))
        client = holder = None
        if args.connections and worst:  # client (and holder) first: lower pids, read first
            client = lab.start(ns, lab.self_argv("client", args), stdin=subprocess.PIPE)
        if surplus and worst:
            holder = lab.start(ns, holder_argv, pass_fds=(holder_end.fileno(),))
        channel = ["--channel", str(server_end.fileno())] if surplus else []
        server = lab.start(ns, lab.self_argv("server", args, *channel), pass_fds=(server_end.fileno(),))
        if surplus and not worst:
            holder = lab.start(ns, holder_argv, pass_fds=(holder_end.fileno(),))
        if args.connections and not worst:
            client = lab.start(ns, lab.self_argv("client", args), stdin=subprocess.PIPE)
    _log(f"load: server {server.expect('listening', LOAD_TIMEOUT)} (pid {server.pid})")
    if client is not None:
        assert client.proc.stdin is not None
        client.proc.stdin.write(b"go\n")
        client.proc.stdin.flush()
        _log(f"load: client {client.expect('connected', LOAD_TIMEOUT, _log)} (pid {client.pid})")
        _log(f"load: server {server.expect('accepted', LOAD_TIMEOUT, _log)}")
    if holder is not None:
        _log(f"load: holder {holder.expect('holding', LOAD_TIMEOUT)} (pid {holder.pid})")
    expected = 2 * args.connections
    deadline = time.monotonic() + LOAD_TIMEOUT
    while (count := _established(ns)) != expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"ss counts {count} established sockets in {ns}, expected {expected}")
        time.sleep(0.5)
    _log(f"load: ss counts {count} established sockets in {ns}; built in {time.perf_counter() - start:.1f} s")
    return server.pid


def _stats(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), sorted(values)[math.ceil(0.9 * len(values)) - 1]  # nearest rank


def _on_signal(signum: int, _frame: FrameType | None) -> NoReturn:
    print(f"\n{signal.Signals(signum).name}: cleaning up", file=sys.stderr)
    raise SystemExit(128 + signum)


def orchestrate(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    lab = Lab()
    base = f"bs-bench-{os.getpid()}"
    _drop_stale_namespaces(lab)
    _compile_bindscope()
    try:
        if not args.keep:
            _log(f"idle: timing {BINDSCOPE} in this machine's namespace and in a fresh one ({args.runs} runs each)")
            host_times, host_cpu = _time_cases(_cases([BINDSCOPE]), args.runs)
            idle_ns = lab.namespace(f"{base}-idle")
            fresh = lab.time_inside(idle_ns, args, [BINDSCOPE])
            lab.drop_namespace(idle_ns)

        ns = lab.namespace(base)
        server_pid = build_load(lab, ns, args)
        if args.keep:
            _say(f"kept: namespace {ns} (server pid {server_pid}); Ctrl-C or SIGTERM (pid {os.getpid()}) ends it")
            _forever()
        names = [BINDSCOPE, SS_P, SS_H, LSOF, PSUTIL]
        _log(f"timing: {len(names)} commands x {args.runs} runs in {ns} (plus one warm-up each)")
        result = lab.time_inside(ns, args, names, check_pid=server_pid)
    except (RuntimeError, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        lab.close()

    times: dict[str, list[float]] = result["times"]
    cpus: dict[str, list[float]] = result["cpu"]
    times[f"{BINDSCOPE}  [idle: fresh netns]"] = fresh["times"][BINDSCOPE]
    cpus[f"{BINDSCOPE}  [idle: fresh netns]"] = fresh["cpu"][BINDSCOPE]
    times[f"{BINDSCOPE}  [idle: host netns]"] = host_times[BINDSCOPE]
    cpus[f"{BINDSCOPE}  [idle: host netns]"] = host_cpu[BINDSCOPE]
    med = {name: statistics.median(values) for name, values in times.items()}
    ref = med[BINDSCOPE]
    mode = "keep-order-worst" if args.keep_order_worst else "default order"
    print(
        f"\nLinux {platform.release()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"loaded namespace: {args.listeners} TCP listeners, {args.connections} connections "
        f"({2 * args.connections} established sockets), {args.procs} extra processes; {mode}; {args.runs} runs"
    )
    print(result["check"])
    print(f"\n{'command':46} {'median ms':>10} {'p90 ms':>8} {'ratio':>8} {'cpu ms':>8}")
    for name, values in times.items():
        median, p90 = _stats(values)
        print(f"{name:46} {median:10.1f} {p90:8.1f} {median / ref:7.2f}x {statistics.median(cpus[name]):8.1f}")

    def verdict(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    vs_ss = ref / med[SS_P]
    vs_lsof = med[LSOF] / ref
    vs_psutil = med[PSUTIL] / ref
    idle = med[f"{BINDSCOPE}  [idle: host netns]"]
    idle_fresh = med[f"{BINDSCOPE}  [idle: fresh netns]"]
    print()
    print(f"{BINDSCOPE} / {SS_P} = {vs_ss:.2f}x (goal <= 0.7x) -> {verdict(vs_ss <= 0.7)}")
    print(f"lsof / bindscope = {vs_lsof:.1f}x (goal >= 3x) -> {verdict(vs_lsof >= 3)}")
    print(f"psutil / bindscope = {vs_psutil:.1f}x (goal >= 3x) -> {verdict(vs_psutil >= 3)}")
    print(
        f"idle: {idle:.0f} ms (goal < 150 ms) -> {verdict(idle < 150)}  "
        f"[this machine's namespace before the load; fresh namespace: {idle_fresh:.0f} ms]"
    )
    print(f"\nwhole benchmark: {time.perf_counter() - t0:.0f} s")
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--listeners", type=int, default=10000)
    ap.add_argument("--connections", type=int, default=16000)
    ap.add_argument("--procs", type=int, default=1000)
    ap.add_argument("--keep-order-worst", action="store_true", help="client before server, 2,000 fds before listeners")
    ap.add_argument("--keep", action="store_true", help="build the load, keep it until Ctrl-C; no timing")
    ap.add_argument("--_role", choices=("server", "holder", "client", "sleepers", "time"), help=argparse.SUPPRESS)
    ap.add_argument("--check-pid", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--channel", type=int, default=-1, help=argparse.SUPPRESS)
    ap.add_argument("--cases", nargs="+", default=[], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._role:
        roles: dict[str, Callable[[argparse.Namespace], Any]] = {
            "server": role_server,
            "holder": role_holder,
            "client": role_client,
            "sleepers": role_sleepers,
            "time": role_time,
        }
        roles[args._role](args)
        return
    if os.geteuid() != 0:
        print("needs root (ip netns)")
        sys.exit(2)
    if not 1 <= args.listeners <= PORT_END - PORT_BASE:
        ap.error(f"--listeners must be 1..{PORT_END - PORT_BASE} (ports {PORT_BASE}..{PORT_END - 1})")
    if args.connections < 0 or args.procs < 0 or args.runs < 1:
        ap.error("--connections and --procs must be >= 0, --runs >= 1")
    sys.exit(orchestrate(args))


if __name__ == "__main__":
    main()
