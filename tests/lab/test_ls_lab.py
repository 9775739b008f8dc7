"""`bindscope ls` against reality, in the laptop namespace of the lab.

Oracles, never bindscope's own output:
- `ss` (iproute2) for what listens: proto, address, port, v6only, inode, uid and owner pids;
- real connections from the laptop itself, the phone (same LAN) and the stranger (behind the router), each
  answered by the socket that accepted it (the holder sends its socket's inode), and `nmap` from the phone,
  for every path verdict and for each listener's reach;
- real Flask, Django, uvicorn, gunicorn and http.server processes for the framework column.
"""

from __future__ import annotations

import ipaddress
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import util
from pathlib import Path

import pytest
from lab_helpers import tool_missing

pytestmark = pytest.mark.lab

LAPTOP4, LAPTOP6 = "198.51.100.1", "fd42:b1d:0:1::1"
LAB_ADDRESSES = {LAPTOP4, LAPTOP6}
NOBODY = 65534
SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]


# A holder for `ls`: binds every (proto, address, port, v6only) of spec["sockets"] -- optionally as another
# user (spec["uid"]), under another process name (spec["name"]: /proc/PID/comm, what ss shows), and shared
# with spec["children"] forked children that keep every socket. Each socket answers whoever reaches it with
# its own inode: a TCP connection gets it and is closed, a UDP datagram gets it as the reply. Prints "ready",
# then sleeps until killed, until its parent (pytest) is gone, or for 10 minutes at most.
WORLD_HOLDER = r"""
import ctypes, encodings.idna, json, os, socket, sys, threading, time  # all before setuid: /root may be closed
spec = json.loads(sys.argv[1])
parent = os.getppid()
libc = ctypes.CDLL(None, use_errno=True)
if spec.get("name"):
    libc.prctl(15, spec["name"].encode(), 0, 0, 0)  # PR_SET_NAME
if spec.get("uid") is not None:
    os.setgroups([])
    os.setgid(spec["uid"])
    os.setuid(spec["uid"])
    libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: /proc/PID/fd readable by that user, as for a process it started
socks = []
for proto, addr, port, v6only in spec["sockets"]:
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    sockaddr = socket.getaddrinfo(addr, port, fam, kind, 0, socket.AI_NUMERICHOST)[0][4]
    s = socket.socket(fam, kind)
    if fam == socket.AF_INET6 and v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    s.bind(sockaddr)
    if proto == "tcp":
        s.listen(64)
    socks.append((proto, s))
me = os.getpid()
for _ in range(spec.get("children", 0)):
    if os.fork() == 0:  # keeps every socket (accepts nothing) while the holder lives
        while os.getppid() == me:
            time.sleep(0.2)
        os._exit(0)

def serve(proto, s):
    ident = str(os.fstat(s.fileno()).st_ino).encode()
    while True:
        try:
            if proto == "tcp":
                conn, _ = s.accept()
                with conn:
                    conn.sendall(ident)
            else:
                _, peer = s.recvfrom(64)
                s.sendto(ident, peer)
        except OSError:
            time.sleep(0.01)

for proto, s in socks:
    threading.Thread(target=serve, args=(proto, s), daemon=True).start()
print("ready", flush=True)
deadline = time.monotonic() + 600
while time.monotonic() < deadline and os.getppid() == parent:
    time.sleep(0.2)
"""

# For each (proto, address, port) of argv[1]: connect (TCP) or send a datagram (UDP) and read what the
# socket that took it answers (its inode). Prints [[reached, inode-or-reason], ...] as JSON. UDP uses a
# connected socket (a refusal arrives at once as ICMP port unreachable), so a reply must come from the
# address dialled: a wildcard socket answers from the address the route picks, which is the dialled one
# for every address of the laptop's interfaces, not for 127.0.0.5 (the answer comes from 127.0.0.1).
PROBE = r"""
import json, socket, sys
timeout = float(sys.argv[2])
out = []
for proto, addr, port in json.loads(sys.argv[1]):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    try:
        sockaddr = socket.getaddrinfo(addr, port, fam, kind, 0, socket.AI_NUMERICHOST)[0][4]
        with socket.socket(fam, kind) as s:
            s.settimeout(timeout)
            s.connect(sockaddr)
            if proto == "udp":
                s.send(b"?")
            data = s.recv(64)
        out.append([True, data.decode()])
    except OSError as exc:
        out.append([False, type(exc).__name__ + ": " + str(exc)])
print(json.dumps(out))
"""


# -- ss, the oracle of what listens ----------------------------------------------------------------
@dataclass
class SsSocket:
    proto: str
    family: str
    address: str  # normalised (ipaddress), link-local with %zone
    port: int
    local: str  # the Local Address:Port column as ss prints it
    inode: int
    uid: int
    v6only: bool | None
    owners: dict[int, str] = field(default_factory=dict)  # pid -> process name (ss -p)

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.proto, self.address, self.port, self.inode)


def _norm(address: str, family: str | None = None) -> str:
    """One spelling per address: ipaddress text; the %zone kept for IPv6 link-local only."""
    host, _, zone = address.partition("%")
    ip = ipaddress.ip_address(host)
    if family is not None:
        assert (ip.version == 6) == (family == "ipv6"), f"{address} is not {family}"
    return f"{ip}%{zone}" if zone and ip.version == 6 and ip.is_link_local else str(ip)


def _split_local(local: str, family: str) -> tuple[str, int]:
    """ss's `0.0.0.0:80`, `*:80`, `[::]:80`, `[fe80::1]%eth0:80`, `127.0.0.1%lo:80` -> (address, port)."""
    host, _, port = local.rpartition(":")
    if host == "*":
        return ("::" if family == "ipv6" else "0.0.0.0"), int(port)
    zone = ""
    if host.startswith("["):
        inner, _, rest = host[1:].partition("]")
        zone = rest[1:] if rest.startswith("%") else ""
    else:
        inner, _, zone = host.partition("%")
    return _norm(f"{inner}%{zone}" if zone else inner, family), int(port)


USERS = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=\d+\)')


def parse_ss(text: str, family: str) -> list[SsSocket]:
    """Lines of `ss -ltnupeH -4|-6`: netid state recv-q send-q local peer [users:(...)] [uid:N] ino:N ..."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 6:
            continue
        address, port = _split_local(parts[4], family)
        ino = re.search(r"\bino:(\d+)", line)
        assert ino, f"ss printed no inode: {line!r}"
        uid = re.search(r"\buid:(\d+)", line)
        v6only = re.search(r"\bv6only:([01])", line)
        users = re.search(r"users:\(\((.*)\)\)", line)
        owners = {int(pid): name for name, pid in USERS.findall(f"({users.group(1)})")} if users else {}
        out.append(
            SsSocket(
                proto=parts[0],
                family=family,
                address=address,
                port=port,
                local=parts[4],
                inode=int(ino.group(1)),
                uid=int(uid.group(1)) if uid else 0,  # ss -e omits uid 0
                v6only=bool(int(v6only.group(1))) if v6only else None,
                owners=owners,
            )
        )
    return out


def ss_sockets(lab, host: str = "laptop") -> dict[int, SsSocket]:
    """Every listening TCP and bound UDP socket in the host, by inode, as `ss -ltnupe` (root) sees it."""
    if shutil.which("ss") is None:
        tool_missing("ss (iproute2) is not installed")
    found: dict[int, SsSocket] = {}
    for flag, family in (("-4", "ipv4"), ("-6", "ipv6")):
        proc = lab.run(host, ["ss", "-ltnupeH", flag], timeout=20)
        assert proc.returncode == 0, proc.stderr
        for sock in parse_ss(proc.stdout, family):
            found[sock.inode] = sock
    return found


def test_parse_ss_formats():
    """The ss parser itself, on lines as this ss prints them (so an oracle bug is not blamed on bindscope)."""
    v6 = parse_ss(
        'tcp LISTEN 0 16 *:20001 *:* users:(("python",pid=12,fd=4)) ino:93 sk:1 cgroup:/ v6only:0 <->\n'
        'tcp LISTEN 0 16 [::]:20002 [::]:* users:(("a,b",pid=12,fd=5),("c",pid=14,fd=5)) uid:65534 ino:94 v6only:1\n'
        "udp UNCONN 0 0 [fe80::1]%bsl1-1:20003 [::]:* ino:95 sk:3 v6only:1 <->\n"
        "tcp LISTEN 0 16 [::ffff:127.0.0.1]:20004 [::]:* ino:96 v6only:0\n",
        "ipv6",
    )
    assert [(s.address, s.port, s.v6only, s.uid, s.inode) for s in v6] == [
        ("::", 20001, False, 0, 93),
        ("::", 20002, True, NOBODY, 94),
        ("fe80::1%bsl1-1", 20003, True, 0, 95),
        ("::ffff:7f00:1", 20004, False, 0, 96),
    ]
    assert v6[1].owners == {12: "a,b", 14: "c"}
    assert v6[2].proto == "udp" and v6[2].owners == {}
    [v4] = parse_ss("udp UNCONN 0 0 127.0.0.5:53 0.0.0.0:* ino:7 sk:4 <->\n", "ipv4")
    assert (v4.address, v4.port, v4.local, v4.v6only) == ("127.0.0.5", 53, "127.0.0.5:53", None)


# -- the shared set of listeners ---------------------------------------------------------------------
@dataclass
class World:
    sockets: list[tuple[str, str, int, bool | None]]  # (proto, address, port, v6only) as bound
    tcp_ports: list[int]
    shared_port: int  # 0.0.0.0 and [::] (v6only) on the same port
    fork_port: int  # one socket, three processes
    nobody_ports: list[int]  # bound by uid 65534
    loopback5_port: int  # 127.0.0.5: in 127/8, not an address of any interface
    ports: set[int]


@pytest.fixture(scope="module")
def world(lab_session) -> Iterator[World]:
    """Three holders in the laptop, up for the whole module: root's sockets of every kind, one socket shared
    by a process and its two forked children, and sockets of uid 65534."""
    lab = lab_session
    link_local = [a for a in lab.addresses("laptop") if a.startswith("fe80:") and "%" in a]
    assert link_local, "the lab laptop has no IPv6 link-local address"
    p = {name: lab.port() for name in ("lo4", "any4", "lo6", "dual", "v6only", "lan4", "lan6", "lo5", "ll")}
    shared, fork, nob_a, nob_b = lab.port(), lab.port(), lab.port(), lab.port()
    u_any4, u_lo6, u_dual = lab.port(), lab.port(), lab.port()
    root_sockets = [
        ("tcp", "127.0.0.1", p["lo4"], None),
        ("tcp", "0.0.0.0", p["any4"], None),
        ("tcp", "::1", p["lo6"], None),
        ("tcp", "::", p["dual"], False),
        ("tcp", "::", p["v6only"], True),
        ("tcp", LAPTOP4, p["lan4"], None),
        ("tcp", LAPTOP6, p["lan6"], None),
        ("tcp", "127.0.0.5", p["lo5"], None),
        ("tcp", link_local[0], p["ll"], None),
        ("tcp", "0.0.0.0", shared, None),
        ("tcp", "::", shared, True),
        ("udp", "0.0.0.0", u_any4, None),
        ("udp", "::1", u_lo6, None),
        ("udp", "::", u_dual, False),
    ]
    fork_sockets = [("tcp", "0.0.0.0", fork, None)]
    nobody_sockets = [("tcp", "0.0.0.0", nob_a, None), ("tcp", "::", nob_b, False)]
    specs = [
        {"name": "bsmulti", "sockets": root_sockets},
        {"name": "bsfork", "sockets": fork_sockets, "children": 2},
        {"name": "bsnobody", "sockets": nobody_sockets, "uid": NOBODY},
    ]
    procs = []
    try:
        for spec in specs:
            proc = lab.spawn("laptop", [sys.executable, "-I", "-c", WORLD_HOLDER, json.dumps(spec)], keep=True)
            procs.append(proc)
            lab.wait_ready(proc, f"holder {spec['name']}")
        sockets = root_sockets + fork_sockets + nobody_sockets
        yield World(
            sockets=sockets,
            tcp_ports=sorted({s[2] for s in sockets if s[0] == "tcp"}),
            shared_port=shared,
            fork_port=fork,
            nobody_ports=[nob_a, nob_b],
            loopback5_port=p["lo5"],
            ports={s[2] for s in sockets},
        )
    finally:
        for proc in procs:
            lab.release(proc)


class Reality:
    """Where real connections land: (host, proto, address, port) -> inode of the socket that answered, or
    None (refused, timed out). Probed in batches, once each."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.seen: dict[tuple[str, str, str, int], tuple[int | None, str]] = {}

    def probe(self, host: str, targets: Sequence[tuple[str, str, int]]) -> None:
        todo = sorted({t for t in targets if (host, *t) not in self.seen})
        if not todo:
            return
        timeout = 2.0
        argv = [sys.executable, "-I", "-c", PROBE, json.dumps([list(t) for t in todo]), str(timeout)]
        proc = self.lab.run(host, argv, timeout=len(todo) * (timeout + 1) + 10)
        assert proc.returncode == 0, f"probe helper failed in {host}: {proc.stderr}"
        for target, (ok, answer) in zip(todo, json.loads(proc.stdout), strict=True):
            landed = int(answer) if ok and answer.isdigit() else None
            self.seen[(host, *target)] = (landed, answer if landed is None else "connected")

    def landed(self, host: str, proto: str, address: str, port: int) -> tuple[int | None, str]:
        self.probe(host, [(proto, address, port)])
        return self.seen[(host, proto, address, port)]


def seen_from(lab, host: str, address: str) -> str | None:
    """The laptop's `address` as `host` dials it: loopback only from the laptop itself; a link-local address
    from the laptop (its own zone) or from the phone (same link: the phone's interface as zone); else as is."""
    base, _, _zone = address.partition("%")
    ip = ipaddress.ip_address(base)
    if host == "laptop":
        return address
    if ip.is_loopback:
        return None
    if ip.is_link_local:
        return f"{base}%{lab.ifname['phone']}" if host == "phone" else None
    return address


def ways_in(lab, host: str) -> list[str]:
    """Every address of the laptop that `host` can dial (the laptop: also 127.0.0.5, local though unassigned)."""
    mine = [*lab.addresses("laptop"), "127.0.0.5"]
    return sorted({a for a in (seen_from(lab, host, m) for m in mine) if a is not None})


@pytest.fixture(scope="module")
def reality(lab_session, world) -> Reality:
    """Every world port at every address of the laptop each host can dial: from the laptop itself, the phone
    (LAN addresses and link-local) and the stranger (LAN addresses, through the router). Nothing here comes
    from bindscope."""
    lab = lab_session
    real = Reality(lab)
    protos = {(s[0], s[2]) for s in world.sockets}
    for host in ("laptop", "phone", "stranger"):
        targets = [(proto, a, port) for proto, port in protos for a in ways_in(lab, host)]
        real.probe(host, [t for t in targets if not (t[0] == "udp" and t[1] == "127.0.0.5")])  # see PROBE
    return real


def phone_lands(lab, reality: Reality, proto: str, port: int, inode: int) -> list[str]:
    """The addresses through which the phone really reaches the socket."""
    return [a for a in ways_in(lab, "phone") if reality.landed("phone", proto, a, port)[0] == inode]


def _ls(lab, *args: str, expect_rc: int | None = 0) -> list[dict]:
    return lab.bindscope_list("laptop", "ls", *args, expect_rc=expect_rc)


def _key(entry: dict) -> tuple[str, str, int, int]:
    return (entry["proto"], _norm(entry["address"], entry["family"]), entry["port"], entry["inode"])


# -- oracle 1: ls lists what ss lists ----------------------------------------------------------------
def test_ls_lists_exactly_what_ss_lists(lab, world):
    ss = ss_sockets(lab)
    # The holders really hold what the test asked for (else the comparison below proves little).
    held = {(s.proto, s.address, s.port) for s in ss.values()}
    wanted = {(proto, _norm(addr), port) for proto, addr, port, _ in world.sockets}
    assert wanted <= held, f"holders did not bind {sorted(wanted - held)}"
    [forked] = [s for s in ss.values() if s.port == world.fork_port]
    assert len(forked.owners) == 3, f"ss: the forked socket has owners {forked.owners}"
    assert {s.uid for s in ss.values() if s.port in world.nobody_ports} == {NOBODY}

    entries = _ls(lab, "--all-protos")
    keys = [_key(e) for e in entries]
    assert len(keys) == len(set(keys)), f"ls lists a socket twice: {sorted(keys)}"
    assert set(keys) == {s.key for s in ss.values()}, (
        f"ls and ss differ:\nonly in ls: {sorted(set(keys) - {s.key for s in ss.values()})}\n"
        f"only in ss: {sorted({s.key for s in ss.values()} - set(keys))}"
    )

    problems = []
    for e in entries:
        s = ss[e["inode"]]
        what = f"{s.proto} {s.local} (inode {s.inode})"
        if e["family"] != s.family:
            problems.append(f"{what}: family {e['family']!r}, ss {s.family!r}")
        if e["local"] != s.local:
            problems.append(f"{what}: local {e['local']!r}, ss prints {s.local!r}")
        if s.family == "ipv6" and s.v6only is not None and e["v6only"] is not s.v6only:
            problems.append(f"{what}: v6only {e['v6only']!r}, ss v6only:{int(s.v6only)}")
        if e["uid"] != s.uid:
            problems.append(f"{what}: uid {e['uid']!r}, ss uid {s.uid}")
        if e["user"] != pwd.getpwuid(s.uid).pw_name:
            problems.append(f"{what}: user {e['user']!r}, passwd says {pwd.getpwuid(s.uid).pw_name!r}")
        if set(e["pids"]) != set(s.owners) or len(e["pids"]) != len(set(e["pids"])):
            problems.append(f"{what}: pids {e['pids']}, ss -p names {sorted(s.owners)}")
        elif s.owners and e["process"] != s.owners[min(s.owners)]:
            problems.append(f"{what}: process {e['process']!r}, ss -p names {s.owners}")
    # ss (this version) prints v6only for every IPv6 socket; without it, `*` vs `[::]` still tells `::` apart
    # (compared through `local` above).
    assert not problems, "ls differs from ss -ltnupe:\n" + "\n".join(problems)


# -- oracle 2: every path verdict is what a real connection finds ---------------------------------------
def check_paths_against_reality(lab, entries: list[dict], reality: Reality) -> None:
    """Every path of every entry: `reachable` iff a real connection (from the laptop, or from the phone and the
    stranger where they can dial that address) lands on that very socket."""
    mismatches = []
    checked = {"phone": 0, "stranger": 0, "laptop": 0}
    reachable_remote = unreachable_remote = 0
    for e in entries:
        addresses = {p["address"] for p in e["paths"]}
        assert addresses >= LAB_ADDRESSES, f"{e['local']}: paths miss lab addresses: {sorted(addresses)}"
        for p in e["paths"]:
            for host in ("laptop", "phone", "stranger"):
                address = seen_from(lab, host, p["address"])
                if address is None:
                    continue
                landed, how = reality.landed(host, e["proto"], address, e["port"])
                checked[host] += 1
                if host != "laptop":
                    reachable_remote += p["reachable"]
                    unreachable_remote += not p["reachable"]
                if p["reachable"] is not (landed == e["inode"]):
                    really = f"landed on inode {landed}" if landed is not None else how
                    mismatches.append(
                        f"{host} -> {e['proto']} {address} port {e['port']} for {e['local']} (inode {e['inode']}): "
                        f"bindscope reachable={p['reachable']!r} (why: {p['why']}), reality: {really}"
                    )
    assert all(checked.values()) and reachable_remote and unreachable_remote, (checked, reachable_remote)
    assert not mismatches, "ls path verdicts differ from real connections:\n" + "\n".join(mismatches)


def check_reach_against_reality(lab, entries: list[dict], reality: Reality) -> None:
    """reach is lan when the phone really gets to the socket over the LAN (its LAN or link-local addresses), else
    this-machine (the laptop's 198.51.100.1 is on its default-route interface; there is no firewall in the lab)."""
    wrong = []
    for e in entries:
        from_phone = phone_lands(lab, reality, e["proto"], e["port"], e["inode"])
        expected = "lan" if from_phone else "this-machine"
        if e["reach"] != expected:
            wrong.append(
                f"{e['proto']} {e['local']}: reach {e['reach']!r}, reality {expected!r} (phone via {from_phone})"
            )
    assert not wrong, "ls reach differs from real connections:\n" + "\n".join(wrong)
    assert {e["reach"] for e in entries} == {"lan", "this-machine"}


def test_ls_path_verdicts_match_real_connections(lab, world, reality):
    entries = [e for e in _ls(lab, "--all-protos") if e["port"] in world.ports]
    assert len(entries) == len(world.sockets), [e["local"] for e in entries]
    check_paths_against_reality(lab, entries, reality)


def test_ls_reach_matches_real_connections(lab, world, reality):
    entries = [e for e in _ls(lab, "--all-protos") if e["port"] in world.ports]
    assert len(entries) == len(world.sockets), [e["local"] for e in entries]
    check_reach_against_reality(lab, entries, reality)


def test_ls_127_0_0_5_is_reachable_from_this_machine(lab, world, reality):
    """127.0.0.5 is no interface's address, yet every 127/8 address is local on Linux: the laptop reaches it."""
    port = world.loopback5_port
    [entry] = [e for e in _ls(lab, "--port", str(port))]
    landed, how = reality.landed("laptop", "tcp", "127.0.0.5", port)
    assert landed == entry["inode"], f"reality: {how}"
    assert entry["reach"] == "this-machine", f"reach {entry['reach']!r}: paths {entry['paths']}"


def _nmap(lab, host: str, address: str, ports: Sequence[int]) -> dict[int, str]:
    argv = ["nmap", "-n", "-Pn", "-sT", "--max-retries", "1", "--host-timeout", "30s", "-p"]
    argv += [",".join(map(str, ports)), "-oX", "-"]
    if ":" in address:
        argv.append("-6")
    proc = lab.run(host, [*argv, address], timeout=90)
    assert proc.returncode == 0, f"nmap failed: {proc.stderr}"
    root = ET.fromstring(proc.stdout)
    states = {}
    for host_el in root.iter("host"):
        for port_el in host_el.iter("port"):
            states[int(port_el.get("portid"))] = port_el.find("state").get("state")
        extra = [x.get("state") for x in host_el.iter("extraports")]
        if len(extra) == 1:  # nmap folds many ports of one state into <extraports>
            for port in ports:
                states.setdefault(port, extra[0])
    assert set(states) == set(ports), f"nmap did not report every port: {proc.stdout}"
    return states


def test_ls_path_verdicts_match_nmap_from_the_phone(lab, world):
    if shutil.which("nmap") is None:
        tool_missing("nmap is not installed (Debian package nmap)")
    entries = [e for e in _ls(lab) if e["port"] in world.ports]  # TCP
    ports = world.tcp_ports
    mismatches = []
    seen_states = set()
    for address in sorted(LAB_ADDRESSES):
        states = _nmap(lab, "phone", address, ports)
        seen_states |= set(states.values())
        for port in ports:
            says = [p["reachable"] for e in entries if e["port"] == port for p in e["paths"] if p["address"] == address]
            assert says, f"no path for {address} among port {port}'s listeners"
            if any(says) is not (states[port] == "open"):
                mismatches.append(f"{address}:{port}: bindscope reachable={any(says)}, nmap {states[port]}")
    assert not mismatches, "ls differs from nmap run from the phone:\n" + "\n".join(mismatches)
    assert {"open", "closed"} <= seen_states, f"nmap saw only {seen_states}"


# -- filters ---------------------------------------------------------------------------------------------
def _inodes(entries: list[dict]) -> set[int]:
    return {e["inode"] for e in entries}


def test_ls_port_filter(lab, world):
    ss = ss_sockets(lab)
    for port in (world.shared_port, world.fork_port, world.loopback5_port):
        expected = {s.inode for s in ss.values() if s.port == port}
        assert expected, port
        assert _inodes(_ls(lab, "--all-protos", "--port", str(port))) == expected, port
    unused = max(world.ports) + 1000
    assert _ls(lab, "--all-protos", "--port", str(unused)) == []


def test_ls_reach_filter(lab, world, reality):
    ss = ss_sockets(lab)
    # Oracle: the phone lands on the socket through one of the laptop's addresses.
    expected = {s.inode for s in ss.values() if phone_lands(lab, reality, s.proto, s.port, s.inode)}
    assert expected and expected != set(ss), "the world needs sockets on both sides of the filter"
    assert _inodes(_ls(lab, "--all-protos", "--reach", "lan")) == expected
    assert _inodes(_ls(lab, "--all-protos", "--reach", "this-machine")) == set(ss)


def test_ls_process_filter(lab, world):
    ss = ss_sockets(lab)
    for name in ("bsfork", "bsnobody", "bsmul"):
        expected = {s.inode for s in ss.values() if any(name in n for n in s.owners.values())}
        assert expected, name
        assert _inodes(_ls(lab, "--all-protos", "--process", name)) == expected, name
    assert _ls(lab, "--all-protos", "--process", "no-such-process-bs") == []


# -- not root: the `nobody_python` fixture is in tests/conftest.py ----------------------------------------
def test_ls_as_another_user(lab, world, nobody_python):
    prefix, env = nobody_python
    ss = ss_sockets(lab)  # as root: every owner
    json_run = lab.run("laptop", [*SETPRIV, *prefix, "ls", "--all-protos", "--json"], env=env, cwd="/", timeout=60)
    assert json_run.returncode in (0, 1), json_run.stderr
    assert "Traceback" not in json_run.stderr, json_run.stderr
    entries = json.loads(json_run.stdout)
    assert {_key(e) for e in entries} == {s.key for s in ss.values()}
    problems = []
    for e in entries:
        s = ss[e["inode"]]
        if e["uid"] != s.uid:
            problems.append(f"{s.local}: uid {e['uid']}, ss {s.uid}")
        visible = s.uid == NOBODY  # /proc/PID/fd of its own processes only
        if visible and set(e["pids"]) != set(s.owners):
            problems.append(f"{s.local} (uid {s.uid}): pids {e['pids']}, ss -p (root) {sorted(s.owners)}")
        if not visible and (e["pids"] != [] or e["process"] is not None):
            problems.append(f"{s.local} (root's): pids {e['pids']}, process {e['process']!r}: expected unknown")
    assert not problems, "\n".join(problems)
    unknown = sum(1 for s in ss.values() if s.uid != NOBODY)
    assert unknown, "the world has root-owned sockets"

    text_run = lab.run("laptop", [*SETPRIV, *prefix, "ls", "--all-protos"], env=env, cwd="/", timeout=60)
    assert text_run.returncode in (0, 1), text_run.stderr
    assert "Traceback" not in text_run.stderr, text_run.stderr
    assert re.search(rf"\b{unknown} of {len(ss)} sockets: owner unknown", text_run.stdout), text_run.stdout


# -- --all-netns from the test run's own namespace ------------------------------------------------------------
def _ls_here(*args: str) -> list[dict]:
    """`bindscope ls --json ARGS` in the namespace pytest runs in (not a lab namespace)."""
    env = dict(os.environ, NO_COLOR="1", COLUMNS="120", PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "bindscope", "ls", "--json", *args], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def test_ls_all_netns_finds_a_listener_of_the_laptop_namespace(lab):
    port = lab.port()
    lab.hold("laptop", [("0.0.0.0", port, None)])
    [inode] = [s.inode for s in ss_sockets(lab).values() if s.port == port]
    found = [e for e in _ls_here("--all-netns", "--port", str(port)) if e["inode"] == inode]
    assert len(found) == 1, f"the laptop's socket is listed {len(found)} times: {found}"
    [entry] = found
    assert entry["netns"] == f"netns {lab.ns['laptop']}"
    assert (entry["address"], entry["port"], entry["proto"]) == ("0.0.0.0", port, "tcp")
    assert all(e["inode"] != inode for e in _ls_here("--port", str(port))), "without --all-netns it must not show"


def _laptop_entries_from_outside(lab) -> list[dict]:
    entries = _ls_here("--all-netns", "--all-protos")
    ss = ss_sockets(lab)
    mine = [e for e in entries if e["inode"] in ss]
    assert sorted(e["inode"] for e in mine) == sorted(ss), "every socket of the laptop, once"
    assert {e["netns"] for e in mine} == {f"netns {lab.ns['laptop']}"}
    assert {_key(e) for e in mine} == {s.key for s in ss.values()}
    return mine


def test_ls_all_netns_lists_every_socket_of_the_laptop_namespace(lab, world):
    _laptop_entries_from_outside(lab)


def test_ls_all_netns_reach_matches_real_connections(lab, world, reality):
    mine = [e for e in _laptop_entries_from_outside(lab) if e["port"] in world.ports]
    assert len(mine) == len(world.sockets)
    check_reach_against_reality(lab, mine, reality)
    check_paths_against_reality(lab, mine, reality)


# -- real servers: the framework column ------------------------------------------------------------------
FLASK_APP = """
from flask import Flask
app = Flask(__name__)

@app.route("/")
def index():
    return "ok"
"""

FLASK_APP_RUN = (
    FLASK_APP
    + """
if __name__ == "__main__":
    import sys
    app.run(debug=True, host="0.0.0.0", port=int(sys.argv[1]))
"""
)

ASGI_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
"""

WSGI_APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""

BIN = Path(sys.executable).parent  # console scripts of this interpreter (not pyenv shims)


def _need(module: str) -> None:
    if util.find_spec(module) is None:
        tool_missing(f"{module} is not installed: pip install -e '.[test]'")


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "WERKZEUG_", "DJANGO_"))}
    return dict(env, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")


def _start_server(lab, argv: list[str], cwd: Path, port: int, timeout: float = 30) -> subprocess.Popen:
    proc = lab.spawn("laptop", argv, cwd=cwd, env=_server_env())
    lab.wait_listening("laptop", port, proc=proc, timeout=timeout)
    return proc


def _entry_for(lab, port: int, expect_rc: int | None = None) -> dict:
    entries = _ls(lab, "--port", str(port), expect_rc=expect_rc)
    assert len(entries) == 1, f"port {port}: {entries}"
    return entries[0]


def _flask(tmp_path: Path, port: int, *extra: str) -> list[str]:
    (tmp_path / "hello.py").write_text(FLASK_APP)
    return [
        sys.executable,
        str(BIN / "flask"),
        "--app",
        "hello",
        "run",
        *extra,
        "--host",
        "0.0.0.0",
        "--port",
        str(port),
    ]


def _django(tmp_path: Path, port: int, *extra: str) -> tuple[list[str], Path]:
    proc = subprocess.run(
        [sys.executable, "-m", "django", "startproject", "site0", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=_server_env(),
    )
    assert proc.returncode == 0, proc.stderr
    return [sys.executable, "manage.py", "runserver", *extra, f"0.0.0.0:{port}"], tmp_path


def _server_argv(server: str, tmp: Path, port: int) -> tuple[list[str], Path]:
    """The command line (and working directory) of a real server answering on 0.0.0.0:port."""
    if server == "flask":
        return _flask(tmp, port), tmp
    if server.startswith("django runserver"):
        return _django(tmp, port, *server.split()[2:])
    if server == "uvicorn":
        (tmp / "asgi_app.py").write_text(ASGI_APP)
        return [sys.executable, str(BIN / "uvicorn"), "asgi_app:app", "--host", "0.0.0.0", "--port", str(port)], tmp
    if server == "gunicorn":
        (tmp / "wsgi_app.py").write_text(WSGI_APP)
        return [sys.executable, str(BIN / "gunicorn"), "-b", f"0.0.0.0:{port}", "wsgi_app:app", "--workers", "2"], tmp
    assert server == "http.server", server
    return [sys.executable, "-m", "http.server", "-b", "0.0.0.0", str(port)], tmp


SERVERS = ["flask", "django runserver", "django runserver --noreload", "uvicorn", "gunicorn", "http.server"]
MODULES = {"flask": "flask", "uvicorn": "uvicorn", "gunicorn": "gunicorn", "http.server": "http.server"}


def _wait_owners(lab, port: int, count: int, timeout: float = 30) -> SsSocket:
    """Wait (bounded) until ss names `count` processes holding the listening socket on port (pre-fork servers)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [s for s in ss_sockets(lab).values() if s.port == port and s.proto == "tcp"]
        if len(found) == 1 and len(found[0].owners) >= count:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"port {port}: ss shows {found}, wanted {count} owners")
        time.sleep(0.2)


@pytest.mark.parametrize("server", SERVERS)
def test_ls_names_real_servers(lab, tmp_path, server):
    expected = server.removesuffix(" --noreload")
    _need("django" if server.startswith("django") else MODULES[server])
    port = lab.port()
    argv, cwd = _server_argv(server, tmp_path, port)
    _start_server(lab, argv, cwd, port, timeout=60 if "django" in server else 30)
    owners = 3 if server == "gunicorn" else 1
    sock = _wait_owners(lab, port, owners)
    entry = _entry_for(lab, port, expect_rc=0)
    after = _wait_owners(lab, port, owners)
    assert entry["inode"] == sock.inode
    assert entry["framework"] == expected, f"{server}: framework {entry['framework']!r}, cmdline {entry['cmdline']}"
    assert entry["category"] == "web"
    assert entry["debug"] is None and entry["warnings"] == [], entry
    assert set(entry["pids"]) == set(sock.owners) == set(after.owners), (entry["pids"], sock.owners, after.owners)
    if server == "gunicorn":
        assert len(entry["pids"]) == 3, f"gunicorn master and 2 workers: {entry['pids']}"
    assert lab.connect("phone", LAPTOP4, port), "reality: the phone reaches it"
    assert entry["reach"] == "lan"


def test_ls_flask_debug_is_a_warning(lab, tmp_path):
    _need("flask")
    port = lab.port()
    _start_server(lab, _flask(tmp_path, port, "--debug"), tmp_path, port)
    entry = _entry_for(lab, port, expect_rc=1)
    assert entry["framework"] == "flask"
    assert entry["debug"], entry
    assert entry["warnings"] and any("debug" in w for w in entry["warnings"]), entry["warnings"]
    assert lab.connect("phone", LAPTOP4, port), "reality: the phone reaches the debugger"
    assert entry["reach"] == "lan"


def test_ls_flask_app_run_debug_is_a_warning(lab, tmp_path):
    """`python app.py` with app.run(debug=True): no flask program or module in the command line; the
    Werkzeug reloader's child carries WERKZEUG_RUN_MAIN."""
    _need("flask")
    port = lab.port()
    (tmp_path / "app.py").write_text(FLASK_APP_RUN)
    _start_server(lab, [sys.executable, "app.py", str(port)], tmp_path, port)
    entry = _entry_for(lab, port, expect_rc=1)
    assert entry["framework"] == "flask", entry
    assert entry["debug"], entry
    assert entry["warnings"], entry
    assert entry["reach"] == "lan"


def test_snapshot_all_netns_then_ls_from_lists_the_laptop_like_live(lab, world, tmp_path):
    """A snapshot recorded with --all-netns holds the laptop namespace; `ls --from FILE --all-netns`
    lists the same sockets with the same reach as the live `ls --all-netns`, and without
    --all-netns leaves them out (as live)."""
    path = tmp_path / "snap.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bindscope", "snapshot", "--all-netns", "-o", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    live = {e["inode"]: e["reach"] for e in _laptop_entries_from_outside(lab)}
    recorded = {
        e["inode"]: e["reach"]
        for e in _ls_here("--all-netns", "--all-protos", "--from", str(path))
        if e["inode"] in live
    }
    assert recorded == live
    assert not {e["inode"] for e in _ls_here("--all-protos", "--from", str(path))} & set(live)


def test_ls_all_netns_as_another_user_is_a_one_line_error(lab, nobody_python):
    prefix, env = nobody_python
    proc = lab.run("laptop", [*SETPRIV, *prefix, "ls", "--all-netns"], env=env, cwd="/", timeout=60)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "--all-netns needs root" in proc.stderr, proc.stderr
