"""psutil-based pieces shared by the platform adapters, and the Interface builder they share
with the Linux rtnetlink reader."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from ..model import IfAddr, Interface, Listener

# One address of an interface for build_interfaces: (family, address without a zone, prefix length).
AddrRow = tuple[int, str, int]


def psutil_interfaces(
    extra: dict[str, dict[str, Any]] | None = None,
    v6flags: dict[tuple[str, str], tuple[str, ...]] | None = None,
    stats_of: Any = None,
) -> list[Interface]:
    """`stats_of(names)`: up/MTU per name, instead of psutil.net_if_stats() (which lists the
    interfaces of the process's network namespace, not the calling thread's)."""
    import psutil

    addrs = psutil.net_if_addrs()
    stats = stats_of(list(addrs)) if stats_of else psutil.net_if_stats()
    rows: dict[str, list[AddrRow]] = {}
    macs: dict[str, str | None] = {}
    for name, items in addrs.items():
        rows[name] = []
        macs[name] = None
        for a in items:
            if a.family == socket.AF_INET or a.family == socket.AF_INET6:
                base = a.address.split("%", 1)[0]
                rows[name].append((a.family, base, _prefixlen(a.netmask, a.family)))
            elif (mac := link_address(a.address)) is not None:
                macs[name] = mac
    return build_interfaces(rows, macs, stats, extra, v6flags)


def build_interfaces(
    rows: dict[str, list[AddrRow]],
    macs: dict[str, str | None],
    stats: dict[str, Any],
    extra: dict[str, dict[str, Any]] | None = None,
    v6flags: dict[tuple[str, str], tuple[str, ...]] | None = None,
) -> list[Interface]:
    """Interfaces from what psutil.net_if_addrs and net_if_stats say (or the same read from
    rtnetlink): `rows` and `macs` (see link_address) by interface name, `stats` by name
    (`isup`, `mtu`, optional `driver`), `extra` sysfs facts by name."""
    out = []
    for index, name in enumerate(sorted(rows), start=1):
        items = tuple(
            IfAddr(
                address=base if fam == socket.AF_INET else _zoned(base, name),
                prefixlen=prefix,
                flags=(v6flags or {}).get((name, base), ()),
            )
            for fam, base, prefix in rows[name]
        )
        st = stats.get(name)
        info = dict((extra or {}).get(name, {}))
        if getattr(st, "driver", None):
            info["driver"] = st.driver
        out.append(
            Interface(
                name=name,
                index=info.pop("index", None) or _index(name) or index,
                up=bool(st.isup) if st else False,
                mtu=st.mtu if st else None,
                mac=macs.get(name),
                addresses=items,
                hw=info,
            )
        )
    return out


def link_address(text: str | None) -> str | None:
    """The MAC in a link-layer address as psutil writes it ("3c:1b:7a:42:9e:01", Windows
    "3C-1B-..."), lower case with colons; None for other lengths (tunnels, InfiniBand)."""
    if text and (text.count(":") == 5 or text.count("-") == 5):
        return text.replace("-", ":").lower()
    return None


def _zoned(address: str, ifname: str) -> str:
    ip = ipaddress.IPv6Address(address)
    return f"{address}%{ifname}" if ip.is_link_local else address


def _prefixlen(netmask: str | None, fam: int) -> int:
    if not netmask:
        return 32 if fam == socket.AF_INET else 128
    try:
        return ipaddress.ip_network(f"0.0.0.0/{netmask}" if fam == socket.AF_INET else f"::/{netmask}").prefixlen
    except ValueError:
        try:  # IPv6 masks are not accepted in the /mask form
            return bin(int(ipaddress.IPv6Address(netmask))).count("1")
        except ValueError:
            return 32 if fam == socket.AF_INET else 128


def _index(name: str) -> int | None:
    try:
        return socket.if_nametoindex(name)
    except (OSError, AttributeError):
        return None


def process_info(pid: int) -> tuple[str | None, tuple[str, ...], str | None]:
    import psutil

    try:
        p = psutil.Process(pid)
        with p.oneshot():
            return p.name(), tuple(p.cmdline()), p.username()
    except (psutil.Error, OSError):
        return None, (), None


def psutil_listeners(protos: tuple[str, ...]) -> tuple[list[Listener], int]:
    import psutil

    out: list[Listener] = []
    unknown = 0
    try:
        conns = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, PermissionError):
        return [], 0
    seen: set[tuple] = set()
    for c in conns:
        proto = "tcp" if c.type == socket.SOCK_STREAM else "udp"
        if proto not in protos or not c.laddr:
            continue
        if proto == "tcp" and c.status != psutil.CONN_LISTEN:
            continue
        if proto == "udp" and c.raddr:
            continue
        key = (proto, c.laddr.ip, c.laddr.port, c.pid)
        if key in seen:
            continue
        seen.add(key)
        name, cmdline, user = process_info(c.pid) if c.pid else (None, (), None)
        if not c.pid:
            unknown += 1
        out.append(
            Listener(
                proto=proto,
                address=c.laddr.ip,
                port=c.laddr.port,
                family="ipv4" if c.family == socket.AF_INET else "ipv6",
                pids=(c.pid,) if c.pid else (),
                process=name,
                cmdline=cmdline,
                user=user,
            )
        )
    return out, unknown
