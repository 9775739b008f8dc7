"""The real-network lab: Linux network namespaces joined by veth pairs.

Topology (all addresses are documentation / ULA ranges, assigned here, inside our own namespaces)::

    laptop  198.51.100.1   fd42:b1d:0:1::1  --+
    phone   198.51.100.2   fd42:b1d:0:1::2  --+-- bridge (namespace "switch")
    router  198.51.100.254 fd42:b1d:0:1::fe --+
    router  203.0.113.254  fd42:b1d:0:2::fe ----- stranger 203.0.113.2 fd42:b1d:0:2::2

laptop and phone have default routes via the router; the stranger has default routes via the router;
the router forwards IPv4 and IPv6. Every namespace and link is named with our pid and a counter and
is deleted in teardown (finalizer, plus an atexit safety net). Traffic only goes to loopback or to
the addresses above.

Name lookups inside the lab go to a name server on the namespace's own loopback (none listens: they fail
at once) via /etc/netns/<ns>/resolv.conf. Servers are killed after each test; they also get
PR_SET_PDEATHSIG, so even a SIGKILLed pytest leaves no process behind (its namespaces then stay:
`ip netns list | grep '^bs-'`, then `ip netns del NAME` and `rm -r /etc/netns/NAME`).

Without root or iproute2, or when namespaces cannot be created, lab tests are skipped -- except
when ``CI=true``, where they fail: CI must really run them.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ipaddress
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import pytest
from lab_helpers import on_ci

LAPTOP4, LAPTOP6 = "198.51.100.1", "fd42:b1d:0:1::1"
PHONE4, PHONE6 = "198.51.100.2", "fd42:b1d:0:1::2"
ROUTER_LAN4, ROUTER_LAN6 = "198.51.100.254", "fd42:b1d:0:1::fe"
ROUTER_WAN4, ROUTER_WAN6 = "203.0.113.254", "fd42:b1d:0:2::fe"
STRANGER4, STRANGER6 = "203.0.113.2", "fd42:b1d:0:2::2"

HOSTS = ("laptop", "phone", "router", "stranger", "switch")
NETNS_ETC = Path("/etc/netns")
LAB_RESOLV_CONF = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"
FIRST_PORT = 20000  # below the ephemeral range; every namespace is fresh, so all ports are ours

# A holder: binds and listens on each (address, port, v6only) of argv[1] (JSON), prints "ready",
# then sleeps until killed -- or until its parent (pytest) is gone, or 10 minutes have passed.
HOLDER = r"""
import json, os, socket, sys, time
parent = os.getppid()
socks = []
for addr, port, v6only in json.loads(sys.argv[1]):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sockaddr = socket.getaddrinfo(addr, port, fam, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)[0][4]
    s = socket.socket(fam, socket.SOCK_STREAM)
    if fam == socket.AF_INET6 and v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    s.bind(sockaddr)
    s.listen(16)
    socks.append(s)
print("ready", flush=True)
import selectors
sel = selectors.DefaultSelector()
for s in socks:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
deadline = time.monotonic() + 600
while time.monotonic() < deadline and os.getppid() == parent:
    if sys.argv[2:] == ["no-accept"]:  # connections wait in the backlog, unanswered
        time.sleep(0.2)
        continue
    for key, _ in sel.select(0.2):  # accept and close: a full backlog would look like a filter
        try:
            key.fileobj.accept()[0].close()
        except OSError:
            pass
"""

# Connect to each (address, port) of argv[1]; prints [[ok, reason], ...] as JSON.
CONNECT = r"""
import json, socket, sys
timeout = float(sys.argv[2])
out = []
for addr, port in json.loads(sys.argv[1]):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    try:
        sockaddr = socket.getaddrinfo(addr, port, fam, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)[0][4]
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(sockaddr)
        out.append([True, "connected"])
    except OSError as exc:
        out.append([False, type(exc).__name__ + ": " + str(exc)])
print(json.dumps(out))
"""

# Try to bind a fresh TCP socket (SO_REUSEADDR, as servers do) to each (address, port, v6only)
# of argv[1], one at a time (each closed before the next); prints [[ok, reason], ...] as JSON.
TRY_BIND = r"""
import errno, json, socket, sys
out = []
for addr, port, v6only in json.loads(sys.argv[1]):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6 and v6only is not None:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
        sockaddr = socket.getaddrinfo(addr, port, fam, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)[0][4]
        s.bind(sockaddr)
        out.append([True, "bound"])
    except OSError as exc:
        out.append([False, errno.errorcode.get(exc.errno or 0, type(exc).__name__) + ": " + str(exc)])
    finally:
        s.close()
print(json.dumps(out))
"""

# getaddrinfo(name) as bindscope does it (AF_UNSPEC, TCP), addresses in order without duplicates.
GETADDRINFO = r"""
import json, socket, sys
seen = []
try:
    infos = socket.getaddrinfo(sys.argv[1], None, socket.AF_UNSPEC, socket.SOCK_STREAM)
except OSError:
    infos = []
for info in infos:
    if info[4][0] not in seen:
        seen.append(info[4][0])
print(json.dumps(seen))
"""


class LabUnavailable(Exception):
    """The machine cannot host the lab (no privileges, no netns support): skip, or fail on CI."""


def unavailable(reason: str) -> None:
    if on_ci():
        reason = f"network lab unavailable on CI (CI=true, so this is an error, not a skip): {reason}"
        pytest.fail(reason, pytrace=False)
    pytest.skip(f"network lab unavailable: {reason}")


def _pdeathsig() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Kill the child when pytest dies: a safety net so no server outlives the test run."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Lab:
    _counter = itertools.count(1)
    _alive: ClassVar[list[Lab]] = []  # for the atexit safety net

    def __init__(self) -> None:
        self.tag = f"{os.getpid()}-{next(Lab._counter)}"
        self.ns = {host: f"bs-{host}-{self.tag}" for host in HOSTS}
        self.ifname = {
            "laptop": f"bsl{self.tag}",
            "phone": f"bsp{self.tag}",
            "router_lan": f"bsr{self.tag}",
            "router_wan": f"bsw{self.tag}",
            "stranger": f"bss{self.tag}",
            "sw_laptop": f"bssl{self.tag}",
            "sw_phone": f"bssp{self.tag}",
            "sw_router": f"bssr{self.tag}",
            "bridge": f"bsbr{self.tag}",
        }
        for name in self.ifname.values():
            if len(name) > 15:
                raise LabUnavailable(f"interface name {name!r} is longer than 15 characters")
        self.logdir = Path(tempfile.mkdtemp(prefix=f"bs-lab-{self.tag}-"))
        self._procs: list[tuple[subprocess.Popen, Path]] = []
        self._kept: list[tuple[subprocess.Popen, Path]] = []  # spawned with keep=True: outlive reset()
        self._hosts_files: set[Path] = set()
        self._created: list[str] = []
        self._ports = itertools.count(FIRST_PORT)
        self._torn_down = False
        self._made_netns_etc = not NETNS_ETC.exists()
        Lab._alive.append(self)

    # -- building and tearing down -----------------------------------------------------------
    def _ip(self, command: str) -> None:
        """Run `ip COMMAND` (words split on blanks: our names and addresses contain none)."""
        proc = subprocess.run(["ip", *command.split()], capture_output=True, text=True, timeout=20)
        if proc.returncode != 0:
            raise LabUnavailable(f"`ip {command}` failed: {proc.stderr.strip() or proc.returncode}")

    def _sysctl(self, host: str, settings: dict[str, str]) -> None:
        script = "".join(f"echo {value} > /proc/sys/{key.replace('.', '/')} && " for key, value in settings.items())
        proc = self.run(host, ["sh", "-c", script + "true"], timeout=20)
        if proc.returncode != 0:
            raise LabUnavailable(f"sysctl in {self.ns[host]} failed: {proc.stderr.strip()}")

    def build(self) -> None:
        ns, ifn = self.ns, self.ifname
        for host in HOSTS:
            self._ip(f"netns add {ns[host]}")
            self._created.append(ns[host])
        for host in HOSTS:
            self._ip(f"-n {ns[host]} link set lo up")
            # IPv6 on, no duplicate address detection (addresses usable at once, link-local too).
            self._sysctl(
                host,
                {
                    "net.ipv6.conf.all.disable_ipv6": "0",
                    "net.ipv6.conf.default.disable_ipv6": "0",
                    "net.ipv6.conf.all.accept_dad": "0",
                    "net.ipv6.conf.default.accept_dad": "0",
                },
            )
        self._sysctl("router", {"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"})
        # DNS stays inside the lab: the machine's name server is unreachable from here anyway, and a lookup
        # (http.server's getfqdn, a name missing from the hosts file) must fail at once, on loopback.
        for host in HOSTS:
            self._etc_file(host, "resolv.conf", LAB_RESOLV_CONF)

        # Links are created directly inside the namespaces: nothing ever appears in the host's namespace.
        sw, br = ns["switch"], ifn["bridge"]
        self._ip(f"-n {sw} link add {br} type bridge stp_state 0 forward_delay 0 mcast_snooping 0")
        for host, port in (("laptop", "sw_laptop"), ("phone", "sw_phone"), ("router", "sw_router")):
            mine = ifn["router_lan"] if host == "router" else ifn[host]
            self._ip(f"link add {mine} netns {ns[host]} type veth peer name {ifn[port]} netns {sw}")
            self._ip(f"-n {sw} link set {ifn[port]} master {br}")
            self._ip(f"-n {sw} link set {ifn[port]} up")
        self._ip(f"-n {sw} link set {br} up")
        wan, stranger = ifn["router_wan"], ifn["stranger"]
        self._ip(f"link add {wan} netns {ns['router']} type veth peer name {stranger} netns {ns['stranger']}")

        plan = (
            ("laptop", ifn["laptop"], LAPTOP4, LAPTOP6, ROUTER_LAN4, ROUTER_LAN6),
            ("phone", ifn["phone"], PHONE4, PHONE6, ROUTER_LAN4, ROUTER_LAN6),
            ("router", ifn["router_lan"], ROUTER_LAN4, ROUTER_LAN6, None, None),
            ("router", ifn["router_wan"], ROUTER_WAN4, ROUTER_WAN6, None, None),
            ("stranger", ifn["stranger"], STRANGER4, STRANGER6, ROUTER_WAN4, ROUTER_WAN6),
        )
        for host, dev, v4, v6, gw4, gw6 in plan:
            self._ip(f"-n {ns[host]} addr add {v4}/24 dev {dev}")
            self._ip(f"-n {ns[host]} -6 addr add {v6}/64 dev {dev} nodad")
            self._ip(f"-n {ns[host]} link set {dev} up")
            if gw4:
                self._ip(f"-n {ns[host]} route add default via {gw4} dev {dev}")
                self._ip(f"-n {ns[host]} -6 route add default via {gw6} dev {dev}")
        self._wait_no_tentative()

    def _wait_no_tentative(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            pending = []
            for host in HOSTS:
                out = subprocess.run(
                    ["ip", "-n", self.ns[host], "-6", "addr", "show", "tentative"],
                    capture_output=True,
                    text=True,
                    timeout=10,
                ).stdout
                if out.strip():
                    pending.append(host)
            if not pending:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"IPv6 addresses still tentative in {pending} after {timeout}s")
            time.sleep(0.1)

    def self_check(self) -> None:
        """The lab really routes: a listener on the laptop answers the phone and the stranger."""
        port = self.port()
        self.hold("laptop", [("0.0.0.0", port, None), ("::", port, True)])
        try:
            for host in ("phone", "stranger"):
                results = self.connect_many(host, [(LAPTOP4, port), (LAPTOP6, port)])
                if not all(ok for ok, _ in results):
                    raise RuntimeError(f"lab self-check: {host} cannot reach the laptop: {results}")
        finally:
            self.reset()

    def reset(self) -> None:
        """Per-test cleanup: stop every spawned process, remove netns hosts files."""
        procs, self._procs = self._procs, []
        for proc, _log in procs:
            self._stop(proc)
        for path in sorted(self._hosts_files):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._hosts_files.clear()

    @staticmethod
    def _stop(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
        # The process group may still hold children of a server that exited: end them too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def release(self, proc: subprocess.Popen) -> None:
        """Stop one process now (a kept one, typically: a module-scoped fixture's servers)."""
        self._procs = [(p, log) for p, log in self._procs if p is not proc]
        self._kept = [(p, log) for p, log in self._kept if p is not proc]
        self._stop(proc)

    def teardown(self) -> None:
        if self._torn_down:
            return
        self._torn_down = True
        try:
            kept, self._kept = self._kept, []
            for proc, _log in kept:
                self._stop(proc)
            self.reset()
        finally:
            for name in reversed(self._created):
                with contextlib.suppress(OSError, subprocess.SubprocessError):
                    subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=20)
            for host in HOSTS:
                shutil.rmtree(NETNS_ETC / self.ns[host], ignore_errors=True)
            if self._made_netns_etc:
                with contextlib.suppress(OSError):
                    NETNS_ETC.rmdir()  # only when empty: another user's files stay
            # Links were created inside the namespaces and die with them; should one have been left
            # in the host's namespace (it never is), remove it by its unique name.
            for name in self.ifname.values():
                with contextlib.suppress(OSError, subprocess.SubprocessError):
                    if subprocess.run(["ip", "link", "show", name], capture_output=True, timeout=10).returncode == 0:
                        subprocess.run(["ip", "link", "del", name], capture_output=True, timeout=10)
            shutil.rmtree(self.logdir, ignore_errors=True)
            with contextlib.suppress(ValueError):
                Lab._alive.remove(self)

    # -- helpers for tests ---------------------------------------------------------------------
    def port(self, count: int = 1) -> int:
        """A fresh TCP port number (with `count` consecutive ports reserved), never used before in this lab."""
        first = next(self._ports)
        for _ in range(count - 1):
            next(self._ports)
        return first

    def _argv(self, host: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns[host], *map(str, argv)]

    def run(self, host: str, argv: Sequence[str], timeout: float = 30, **kwargs) -> subprocess.CompletedProcess:
        """Run argv inside the host's namespace; text output captured."""
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(self._argv(host, argv), timeout=timeout, **kwargs)

    def spawn(self, host: str, argv: Sequence[str], keep: bool = False, **kwargs) -> subprocess.Popen:
        """Start a background process in the host's namespace (own process group, output to a log
        file); it is killed at the end of the test -- or, with keep=True, only by `release(proc)` or
        the lab's teardown (for servers a module-scoped fixture shares between tests)."""
        log = self.logdir / f"proc-{len(self._procs) + len(self._kept)}-{time.monotonic_ns()}.log"
        with open(log, "wb") as fh:
            kwargs.setdefault("stdout", fh)
            kwargs.setdefault("stderr", subprocess.STDOUT)
            kwargs.setdefault("cwd", self.logdir)
            proc = subprocess.Popen(
                self._argv(host, argv),
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                preexec_fn=_pdeathsig,
                **kwargs,
            )
        (self._kept if keep else self._procs).append((proc, log))
        return proc

    def log_of(self, proc: subprocess.Popen) -> str:
        for p, log in self._procs + self._kept:
            if p is proc:
                with contextlib.suppress(OSError):
                    return log.read_text(errors="replace")
        return ""

    def hold(
        self, host: str, sockets: Iterable[tuple[str, int, bool | None]], timeout: float = 10, *, accept: bool = True
    ) -> subprocess.Popen:
        """Hold listening TCP sockets (address, port, v6only-or-None) in the host; returns once all listen.
        The holder accepts and closes every connection, so its backlog never fills; with
        accept=False it never accepts (a server that hangs: connects succeed, nothing answers)."""
        sockets = [list(s) for s in sockets]
        argv = [sys.executable, "-I", "-c", HOLDER, json.dumps(sockets), *([] if accept else ["no-accept"])]
        proc = self.spawn(host, argv)
        self.wait_ready(proc, f"holder {sockets} in {host}", timeout=timeout)
        return proc

    def wait_ready(self, proc: subprocess.Popen, what: str, marker: str = "ready", timeout: float = 10) -> None:
        """Wait (bounded) until a spawned process prints `marker` on a line of its own."""
        deadline = time.monotonic() + timeout
        while marker not in self.log_of(proc).splitlines():
            if proc.poll() is not None:
                raise AssertionError(f"{what} exited ({proc.returncode}): {self.log_of(proc)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not ready after {timeout}s: {self.log_of(proc)}")
            time.sleep(0.02)

    def connect_many(self, host: str, targets: Sequence[tuple[str, int]], timeout: float = 2) -> list[tuple[bool, str]]:
        """Real TCP connects from inside the host to each (address, port): [(connected, reason), ...]."""
        if not targets:
            return []
        argv = [sys.executable, "-I", "-c", CONNECT, json.dumps([[a, int(p)] for a, p in targets]), str(timeout)]
        proc = self.run(host, argv, timeout=len(targets) * (timeout + 1) + 10)
        if proc.returncode != 0:
            raise AssertionError(f"connect helper failed in {host}: {proc.stderr}")
        return [(bool(ok), reason) for ok, reason in json.loads(proc.stdout)]

    def connect(self, host: str, addr: str, port: int, timeout: float = 2) -> bool:
        """A real TCP connect from inside the host: True when it connects, False on refused/timeout."""
        return self.connect_many(host, [(addr, port)], timeout=timeout)[0][0]

    def try_bind(self, host: str, candidates: Sequence[tuple[str, int, bool | None]]) -> list[tuple[bool, str]]:
        """Real bind attempts (fresh socket, SO_REUSEADDR, IPV6_V6ONLY when given) inside the host."""
        if not candidates:
            return []
        argv = [sys.executable, "-I", "-c", TRY_BIND, json.dumps([[a, int(p), v] for a, p, v in candidates])]
        proc = self.run(host, argv, timeout=30)
        if proc.returncode != 0:
            raise AssertionError(f"bind helper failed in {host}: {proc.stderr}")
        return [(bool(ok), reason) for ok, reason in json.loads(proc.stdout)]

    def getaddrinfo(self, host: str, name: str) -> list[str]:
        """What the host's resolver answers for name (AF_UNSPEC, TCP), in order."""
        proc = self.run(host, [sys.executable, "-I", "-c", GETADDRINFO, name], timeout=30)
        if proc.returncode != 0:
            raise AssertionError(f"getaddrinfo helper failed in {host}: {proc.stderr}")
        return json.loads(proc.stdout)

    def listening(self, host: str, port: int, proc: subprocess.Popen | None = None) -> bool:
        """Is some TCP socket in LISTEN state on `port` in the host's namespace?"""
        if proc is not None and proc.poll() is None:
            text = ""
            for name in ("tcp", "tcp6"):  # /proc/PID/net is the network namespace of PID
                with contextlib.suppress(OSError):
                    text += Path(f"/proc/{proc.pid}/net/{name}").read_text()
        else:
            text = self.run(host, ["cat", "/proc/net/tcp", "/proc/net/tcp6"], timeout=10).stdout
        want = f":{port:04X}"
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[1].endswith(want) and fields[3] == "0A":
                return True
        return False

    def wait_listening(self, host: str, port: int, proc: subprocess.Popen | None = None, timeout: float = 10) -> None:
        """Wait (bounded) until something listens on TCP `port` in the host; fails with the server's log."""
        deadline = time.monotonic() + timeout
        while not self.listening(host, port, proc):
            if proc is not None and proc.poll() is not None:
                log = self.log_of(proc)
                raise AssertionError(f"server in {host} exited ({proc.returncode}) before listening: {log}")
            if time.monotonic() > deadline:
                log = self.log_of(proc) if proc is not None else ""
                raise AssertionError(f"nothing listens on port {port} in {host} after {timeout}s {log}")
            time.sleep(0.02)

    def bindscope(self, host: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run `python -m bindscope ARGS` inside the host's namespace."""
        env = dict(os.environ, NO_COLOR="1", COLUMNS="120", PYTHONDONTWRITEBYTECODE="1")
        proc = self.run(host, [sys.executable, "-m", "bindscope", *args], timeout=timeout, env=env)
        if "No module named bindscope" in proc.stderr:
            pytest.fail("bindscope is not importable: run `pip install -e .` first", pytrace=False)
        return proc

    def bindscope_json(self, host: str, *args: str, expect_rc: int = 0) -> dict:
        """Run `bindscope ARGS --json` in the host; check the exit code and parse the JSON."""
        proc = self.bindscope(host, *args, "--json")
        what = " ".join(args)
        assert proc.returncode == expect_rc, (
            f"{what}: exit {proc.returncode}, expected {expect_rc}\n{proc.stdout}\n{proc.stderr}"
        )
        try:
            data = json.loads(proc.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"{what} --json printed no JSON:\n{proc.stdout}\n{proc.stderr}")
        assert data["command"] == args[0]
        return data

    def bindscope_list(self, host: str, *args: str, expect_rc: int | None = 0) -> list[dict]:
        """Run `bindscope ARGS --json` for a command that prints a JSON list (`ls`); check the exit code
        (unless expect_rc is None) and that stderr is clean; parse the list."""
        proc = self.bindscope(host, *args, "--json")
        what = " ".join(args)
        if expect_rc is not None:
            assert proc.returncode == expect_rc, (
                f"{what}: exit {proc.returncode}, expected {expect_rc}\n{proc.stdout}\n{proc.stderr}"
            )
        assert "Traceback" not in proc.stderr, f"{what}: {proc.stderr}"
        try:
            data = json.loads(proc.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"{what} --json printed no JSON:\n{proc.stdout}\n{proc.stderr}")
        assert isinstance(data, list), f"{what} --json: expected a list, got {type(data).__name__}"
        return data

    def netns_hosts(self, host: str, text: str) -> Path:
        """Write /etc/netns/<ns>/hosts: `ip netns exec` bind-mounts it over /etc/hosts for that host."""
        path = self._etc_file(host, "hosts", text)
        self._hosts_files.add(path)
        return path

    def _etc_file(self, host: str, name: str, text: str) -> Path:
        d = NETNS_ETC / self.ns[host]
        d.mkdir(parents=True, exist_ok=True)
        path = d / name
        path.write_text(text)
        return path

    def addresses(self, host: str) -> list[str]:
        """Every address of every interface of the host, link-local as fe80::...%ifname."""
        proc = self.run(host, ["ip", "-j", "addr", "show"], timeout=10)
        out = []
        for iface in json.loads(proc.stdout or "[]"):
            for a in iface.get("addr_info", []):
                addr = a["local"]
                if ipaddress.ip_address(addr).is_link_local and ":" in addr:
                    addr = f"{addr}%{iface['ifname']}"
                out.append(addr)
        return out


def _sigterm_to_interrupt(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills for real
    raise KeyboardInterrupt(f"signal {signum}")


@atexit.register
def _teardown_all_labs() -> None:  # safety net: a lab whose finalizer did not run
    for lab in list(Lab._alive):
        with contextlib.suppress(Exception):
            lab.teardown()


@pytest.fixture(scope="session")
def lab_session() -> Iterator[Lab]:
    if os.geteuid() != 0:
        unavailable("needs root (CAP_NET_ADMIN) to create network namespaces")
    if shutil.which("ip") is None:
        unavailable("iproute2 (`ip`) is not installed")
    lab = None
    try:
        lab = Lab()
        lab.build()
    except LabUnavailable as exc:
        if lab is not None:
            lab.teardown()
        unavailable(str(exc))
    except BaseException:
        if lab is not None:
            lab.teardown()
        raise
    # A SIGTERM (CI cancelling the job, `timeout`) becomes a KeyboardInterrupt, so that pytest still runs
    # this fixture's teardown; without it the namespaces would outlive the run.
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    try:
        lab.self_check()
        yield lab
    finally:
        try:
            lab.teardown()
        finally:
            if previous == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture
def lab(lab_session: Lab) -> Iterator[Lab]:
    """The shared lab; servers, holders and netns hosts files of the test are removed after it."""
    try:
        yield lab_session
    finally:
        lab_session.reset()
