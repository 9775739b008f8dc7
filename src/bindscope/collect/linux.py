"""Linux adapter: interfaces (rtnetlink + /sys; psutil when rtnetlink fails), routes (/proc/net
from the kernel), listeners (netlink sock_diag), environment (sysctls, WSL, containers)."""

from __future__ import annotations

import array
import fcntl
import ipaddress
import os
import pwd
import socket
import struct
from collections.abc import Iterable, Iterator
from operator import attrgetter
from typing import Any

from ..errors import BindscopeError
from ..model import Environment, Interface, Listener, NetNamespace, Route
from . import rtnl, sockdiag
from .common import build_interfaces, psutil_interfaces

PROC = "/proc"
SYS = "/sys/class/net"


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def _int(path: str) -> int | None:
    text = _read(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


# -- environment ----------------------------------------------------------------------------
def environment() -> Environment:
    version = _read(f"{PROC}/version") or ""
    release = os.uname().release
    wsl = None
    if "microsoft" in (version + release).lower():
        wsl = "wsl2" if ("wsl2" in (version + release).lower() or os.path.exists("/run/WSL")) else "wsl1"
    ports = (_read(f"{PROC}/sys/net/ipv4/ip_local_port_range") or "").split()
    v6_all = _int(f"{PROC}/sys/net/ipv6/conf/all/disable_ipv6")
    return Environment(
        platform="linux",
        release=release,
        hostname=socket.gethostname(),
        wsl=wsl,
        wsl_networking=_wsl_networking() if wsl == "wsl2" else None,
        container=detect_container(),
        bindv6only=_int(f"{PROC}/sys/net/ipv6/bindv6only"),
        ipv4_nonlocal_bind=_int(f"{PROC}/sys/net/ipv4/ip_nonlocal_bind"),
        ipv6_nonlocal_bind=_int(f"{PROC}/sys/net/ipv6/ip_nonlocal_bind"),
        ipv6_disabled=(v6_all == 1) if v6_all is not None else (not os.path.exists(f"{PROC}/net/if_inet6")),
        ephemeral_ports=(int(ports[0]), int(ports[1])) if len(ports) == 2 else None,
        is_root=os.geteuid() == 0,
    )


def _wsl_networking() -> str:
    # Mirrored networking mirrors the Windows adapters and adds "loopback0".
    return "mirrored" if os.path.exists(f"{SYS}/loopback0") else "nat"


def detect_container() -> str | None:
    if os.path.exists("/.dockerenv"):
        return "docker"
    if os.path.exists("/run/.containerenv"):
        return "podman"
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    cgroup = _read(f"{PROC}/1/cgroup") or ""
    for marker, name in (("kubepods", "kubernetes"), ("docker", "docker"), ("libpod", "podman"), ("lxc", "lxc")):
        if marker in cgroup:
            return name
    return None


# -- interfaces -----------------------------------------------------------------------------
def interfaces() -> list[Interface]:
    """From rtnetlink (what psutil would report, without importing it), else from psutil."""
    names = _listdir(SYS)
    extra = {name: sysfs_facts(name) for name in names}
    try:
        rows, macs, stats, v6flags = rtnl.interface_rows()
    except OSError:
        return psutil_interfaces(extra, v6flags=dict(_if_inet6_flags()))
    return build_interfaces(rows, macs, stats, extra, v6flags)


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def sysfs_facts(name: str, base: str = SYS) -> dict[str, Any]:
    d = f"{base}/{name}"
    facts: dict[str, Any] = {}
    if (index := _int(f"{d}/ifindex")) is not None:
        facts["index"] = index
    if (arphrd := _int(f"{d}/type")) is not None:
        facts["type"] = arphrd
    for line in (_read(f"{d}/uevent") or "").splitlines():
        if line.startswith("DEVTYPE="):
            facts["devtype"] = line.split("=", 1)[1]
    facts["physical"] = os.path.exists(f"{d}/device")
    facts["wireless"] = os.path.exists(f"{d}/wireless") or os.path.exists(f"{d}/phy80211")
    facts["bridge"] = os.path.exists(f"{d}/bridge")
    facts["tun"] = os.path.exists(f"{d}/tun_flags")
    driver = os.path.realpath(f"{d}/device/driver") if facts["physical"] else ""
    if driver and os.path.basename(driver) != "driver":
        facts["driver"] = os.path.basename(driver)
    iflink = _int(f"{d}/iflink")
    if iflink is not None and facts.get("index") is not None and iflink != facts["index"]:
        facts["peer_index"] = iflink  # veth, vlan, macvlan: a link to another device
    return facts


def _if_inet6_flags(net: str = f"{PROC}/net") -> Iterator[tuple[tuple[str, str], tuple[str, ...]]]:
    for line in (_read(f"{net}/if_inet6") or "").splitlines():
        parts = line.split()
        if len(parts) != 6:
            continue
        addr = str(ipaddress.IPv6Address(bytes.fromhex(parts[0])))
        flags = int(parts[4], 16)
        yield (parts[5], addr), tuple(name for bit, name in rtnl.V6FLAGS.items() if flags & bit)


# -- routes ---------------------------------------------------------------------------------
def routes() -> list[Route]:
    v4 = (_read(f"{PROC}/net/route") or "").splitlines()[1:]
    v6 = (_read(f"{PROC}/net/ipv6_route") or "").splitlines()
    return [*parse_route_v4(v4), *parse_route_v6(v6)]


def parse_route_v4(lines: Iterable[str]) -> Iterator[Route]:
    """Rows of /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask ..."""
    for line in lines:
        p = line.split()
        if len(p) < 8 or not int(p[3], 16) & 0x1:  # RTF_UP
            continue
        dest = ipaddress.IPv4Address(int(p[1], 16).to_bytes(4, "little"))
        mask = ipaddress.IPv4Address(int(p[7], 16).to_bytes(4, "little"))
        gw = ipaddress.IPv4Address(int(p[2], 16).to_bytes(4, "little"))
        net = ipaddress.IPv4Network(f"{dest}/{mask}", strict=False)
        yield Route("ipv4", str(net), p[0], str(gw) if int(gw) else None, int(p[6]))


def parse_route_v6(lines: Iterable[str]) -> Iterator[Route]:
    """Rows of /proc/net/ipv6_route: dest plen src plen nexthop metric refcnt use flags dev."""
    for line in lines:
        p = line.split()
        if len(p) < 10 or p[9] == "lo" or not int(p[8], 16) & 0x1:
            continue
        flags = int(p[8], 16)
        if flags & 0x200 or flags & 0x80000000:  # RTF_REJECT (unreachable), RTF_LOCAL (own address)
            continue
        dest = ipaddress.IPv6Address(bytes.fromhex(p[0]))
        gw = ipaddress.IPv6Address(bytes.fromhex(p[4]))
        net = ipaddress.IPv6Network(f"{dest}/{int(p[1], 16)}", strict=False)
        if net.is_multicast:
            continue
        yield Route("ipv6", str(net), p[9], str(gw) if int(gw) else None, int(p[5], 16))


# -- listeners ------------------------------------------------------------------------------
def raw_listeners(protos: tuple[str, ...] = ("tcp", "udp")) -> list[sockdiag.RawListener]:
    """This thread's network namespace's sockets: netlink sock_diag, else /proc/net."""
    try:
        return sockdiag.listeners_netlink(protos)
    except (sockdiag.NetlinkUnavailable, OSError):
        return sockdiag.listeners_procfs(protos, net=f"{PROC}/thread-self/net")


def listeners(protos: tuple[str, ...] = ("tcp", "udp")) -> tuple[list[Listener], int]:
    """Every listening socket in this network namespace, with owners where readable.
    Returns (listeners, how many have no known owner)."""
    raw = raw_listeners(protos)
    owned = sockdiag.owners({r[5] for r in raw if r[5]})
    return build_listeners(raw, owned, _Processes())


class _Processes:
    """Process facts, read once per pid."""

    def __init__(self) -> None:
        self.cache: dict[int, tuple[str | None, tuple[str, ...], dict[str, str]]] = {}
        self.users: dict[int, str | None] = {}

    def info(self, pid: int) -> tuple[str | None, tuple[str, ...], dict[str, str]]:
        if pid not in self.cache:
            name, cmdline = _process(pid)
            self.cache[pid] = (name, cmdline, _environ_hints(pid))
        return self.cache[pid]

    def user(self, uid: int) -> str | None:
        if uid not in self.users:
            self.users[uid] = _user(uid)
        return self.users[uid]


def build_listeners(
    raw: list[sockdiag.RawListener], owned: dict[int, list[int]], procs: _Processes
) -> tuple[list[Listener], int]:
    out: list[Listener] = []
    unknown = 0
    # one (pids, name, cmdline, environ) per distinct owner: its sockets share these objects
    owners: dict[tuple[int, ...], tuple[tuple[int, ...], str | None, tuple[str, ...], dict[str, str]]] = {}
    nobody: tuple[tuple[int, ...], str | None, tuple[str, ...], dict[str, str]] = ((), None, (), {})
    users: dict[int, str | None] = {}
    make, append = Listener.trusted, out.append
    for proto, addr, port, fam, v6only, inode, uid in raw:
        holders = owned.get(inode)
        if holders:
            pids = tuple(sorted(holders))
            facts = owners.get(pids)
            if facts is None:
                name, cmdline, environ = procs.info(pids[0])
                if len(pids) > 1:
                    environ = dict(environ)
                    for pid in pids[1:]:
                        environ.update(procs.info(pid)[2])
                facts = owners[pids] = (pids, name, cmdline, environ)
        else:
            unknown += 1
            facts = nobody
        user = users[uid] if uid in users else users.setdefault(uid, procs.user(uid))
        append(make(proto, addr, port, fam, v6only, inode, uid, facts[0], facts[1], facts[2], user, facts[3]))
    out.sort(key=attrgetter("proto", "port", "family", "address"))
    return out, unknown


def _process(pid: int) -> tuple[str | None, tuple[str, ...]]:
    name = _read(f"{PROC}/{pid}/comm")
    try:
        with open(f"{PROC}/{pid}/cmdline", "rb") as fh:
            cmd = tuple(part.decode(errors="replace") for part in fh.read().split(b"\0") if part)
    except OSError:
        cmd = ()
    return name, cmd


def _environ_hints(pid: int) -> dict[str, str]:
    """Only the variables knowledge/servers.ENV_HINTS names (debug switches), nothing else."""
    from ..knowledge.servers import ENV_HINTS

    try:
        with open(f"{PROC}/{pid}/environ", "rb") as fh:
            data = fh.read()
    except OSError:
        return {}
    out = {}
    for part in data.split(b"\0"):
        name, sep, value = part.partition(b"=")
        if sep and name.decode(errors="replace") in ENV_HINTS:
            out[name.decode(errors="replace")] = value.decode(errors="replace")[:200]
    return out


def _user(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return None


# -- other network namespaces ---------------------------------------------------------------
def namespaces(protos: tuple[str, ...] = ("tcp", "udp")) -> tuple[list[NetNamespace], list[Listener], int]:
    """Every other network namespace with its interfaces, routes and sockets, and this
    namespace's listeners: one owner scan serves them all (socket inodes are unique across
    namespaces). Needs root (setns)."""
    from . import netns

    if os.geteuid() != 0:
        raise BindscopeError("--all-netns needs root: entering another network namespace needs CAP_SYS_ADMIN")
    mine = raw_listeners(protos)
    found = netns.discover(PROC)
    gathered: list[tuple[netns.Found, tuple | None, str | None]] = []
    for space in found:
        try:
            gathered.append((space, netns.run_in(space.path, _gather, protos), None))
        except (OSError, BindscopeError) as exc:
            gathered.append((space, None, str(exc)))
    inodes = {r[5] for r in mine if r[5]}
    for _space, data, _err in gathered:
        if data:
            inodes.update(r[5] for r in data[2] if r[5])
    owned = sockdiag.owners(inodes)
    procs = _Processes()
    own_listeners, _unknown = build_listeners(mine, owned, procs)
    out = []
    for space, data, err in gathered:
        if data is None:
            out.append(NetNamespace(space.label, space.kind, space.key, space.pids, error=err))
            continue
        ifaces, rts, raw = data
        built, unknown = build_listeners(raw, owned, procs)
        out.append(
            NetNamespace(
                space.label, space.kind, space.key, space.pids, tuple(ifaces), tuple(rts), tuple(built), unknown
            )
        )
    return out, own_listeners, sum(1 for item in own_listeners if not item.pids)


def _thread_stats(names: list[str]) -> dict[str, rtnl.Stats]:
    """Up (IFF_UP and IFF_RUNNING, as psutil's isup) and MTU by ioctl on a socket of this
    thread's network namespace."""
    out = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for name in names:
            req = struct.pack("16sH14x", name.encode()[:15], 0)
            try:
                flags = struct.unpack_from("16sH", fcntl.ioctl(sock, 0x8913, req))[1]  # SIOCGIFFLAGS
                mtu = struct.unpack_from("16si", fcntl.ioctl(sock, 0x8921, req))[1]  # SIOCGIFMTU
            except OSError:
                continue
            out[name] = rtnl.Stats(bool(flags & 0x1 and flags & 0x40), mtu, _driver(sock, name))
    return out


def _driver(sock: socket.socket, name: str) -> str | None:
    """The link's driver (veth, macvlan, ipvlan, ...) by ETHTOOL_GDRVINFO: sysfs cannot say it
    for another namespace."""
    info = array.array("B", struct.pack("I", 0x3) + bytes(192))  # struct ethtool_drvinfo, cmd first
    req = struct.pack("16sP", name.encode()[:15], info.buffer_info()[0])
    try:
        fcntl.ioctl(sock, 0x8946, req)  # SIOCETHTOOL
    except OSError:
        return None
    driver = info.tobytes()[4:36].split(b"\0", 1)[0].decode(errors="replace")
    return driver or None


def _gather(protos: tuple[str, ...]) -> tuple[list[Interface], list[Route], list[sockdiag.RawListener]]:
    """Runs in a thread inside another namespace: sysfs shows ours, so no sysfs facts."""
    net = f"{PROC}/thread-self/net"
    flags = dict(_if_inet6_flags(net))
    ifaces = psutil_interfaces({}, v6flags=flags, stats_of=_thread_stats)
    v4 = (_read(f"{net}/route") or "").splitlines()[1:]
    v6 = (_read(f"{net}/ipv6_route") or "").splitlines()
    return ifaces, [*parse_route_v4(v4), *parse_route_v6(v6)], raw_listeners(protos)
