"""Interfaces and their addresses from the Linux kernel through rtnetlink (RTM_GETLINK and
RTM_GETADDR dumps), decoded with `struct`: what glibc's getifaddrs() reads, and so what
psutil.net_if_addrs() and net_if_stats() report, without importing psutil.

`interface_rows()` gives them in the form `common.build_interfaces` takes, with the same
quirks as psutil: a link appears under its name when it has a link-layer address or an IP
address; an IPv4 address appears under its label ("eth0:1" for an alias); a link-layer address
shorter than six bytes is padded with zeros (as psutil does); `isup` is IFF_RUNNING.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

from .common import AddrRow, link_address

NETLINK_ROUTE = 0
RTM_NEWLINK = 16
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_GETADDR = 22
NLM_F_REQUEST = 0x01
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_LABEL = 3
IFF_RUNNING = 0x40

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_RTA = struct.Struct("=HH")

# IFA_F_* flags of an IPv6 address (the low eight bits, as /proc/net/if_inet6 shows them)
V6FLAGS = {
    0x01: "temporary",
    0x02: "nodad",
    0x04: "optimistic",
    0x08: "dadfailed",
    0x10: "homeaddress",
    0x20: "deprecated",
    0x40: "tentative",
    0x80: "permanent",
}


class Stats:
    """Up (IFF_RUNNING, which the kernel sets only on an up interface) and MTU, as
    psutil.net_if_stats() has them; `driver` where known."""

    def __init__(self, isup: bool, mtu: int | None, driver: str | None = None):
        self.isup = isup
        self.mtu = mtu
        self.driver = driver


Rows = tuple[
    dict[str, list[AddrRow]],  # name -> addresses (family, address, prefix length)
    dict[str, str | None],  # name -> link-layer address as psutil writes it
    dict[str, Stats],  # name -> up, MTU
    dict[tuple[str, str], tuple[str, ...]],  # (name, IPv6 address) -> IFA_F_* flag names
]


def interface_rows() -> Rows:
    """The interfaces of the calling thread's network namespace. Raises OSError when
    rtnetlink cannot be used."""
    rows: dict[str, list[AddrRow]] = {}
    macs: dict[str, str | None] = {}
    stats: dict[str, Stats] = {}
    flags: dict[tuple[str, str], tuple[str, ...]] = {}
    names: dict[int, str] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        for data, start, end in _dump(sock, RTM_GETLINK, _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0), 1):
            _family, _type, index, ifflags, _change = _IFINFOMSG.unpack_from(data, start)
            attrs = _attrs(data, start + _IFINFOMSG.size, end)
            name = attrs[IFLA_IFNAME].split(b"\0", 1)[0].decode(errors="surrogateescape")
            names[index] = name
            mtu = struct.unpack_from("=I", attrs[IFLA_MTU])[0] if IFLA_MTU in attrs else None
            stats[name] = Stats(bool(ifflags & IFF_RUNNING), mtu)
            hw = attrs.get(IFLA_ADDRESS)
            if hw:  # psutil: the bytes in hex, padded with zeros to six
                text = ":".join(f"{b:02x}" for b in hw)
                while text.count(":") < 5:
                    text += ":00"
                macs[name] = link_address(text)
                rows.setdefault(name, [])
        for data, start, end in _dump(sock, RTM_GETADDR, _IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0), 2):
            family, prefixlen, ifa_flags, _scope, index = _IFADDRMSG.unpack_from(data, start)
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            attrs = _attrs(data, start + _IFADDRMSG.size, end)
            raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)  # IFA_ADDRESS is the peer's on a point-to-point link
            if raw is None or index not in names:
                continue
            label = attrs.get(IFA_LABEL)
            name = label.split(b"\0", 1)[0].decode(errors="surrogateescape") if label else names[index]
            address = socket.inet_ntop(family, raw)
            rows.setdefault(name, []).append((family, address, prefixlen))
            if family == socket.AF_INET6:
                flags[(name, address)] = tuple(text for bit, text in V6FLAGS.items() if ifa_flags & bit)
    for name in rows:  # psutil lists IPv4 before IPv6 (a stable sort by family)
        rows[name].sort(key=lambda row: row[0])
    return rows, macs, stats, flags


def _dump(sock: socket.socket, kind: int, body: bytes, seq: int) -> Iterator[tuple[bytes, int, int]]:
    """Send one dump request; yield (buffer, start, end) of each answer's payload."""
    sock.sendall(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body)
    while True:
        data = sock.recv(1 << 16)
        if not data:
            return
        offset = 0
        while offset + _NLMSGHDR.size <= len(data):
            length, mtype, _flags, mseq, _pid = _NLMSGHDR.unpack_from(data, offset)
            if length < _NLMSGHDR.size:
                return
            if mseq == seq:
                if mtype == NLMSG_DONE:
                    return
                if mtype == NLMSG_ERROR:
                    (errno_neg,) = struct.unpack_from("=i", data, offset + _NLMSGHDR.size)
                    if errno_neg:
                        raise OSError(-errno_neg, f"rtnetlink dump {kind}")
                    return
                yield data, offset + _NLMSGHDR.size, offset + length
            offset += (length + 3) & ~3


def _attrs(data: bytes, off: int, end: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    while off + _RTA.size <= end:
        rlen, rtype = _RTA.unpack_from(data, off)
        if rlen < _RTA.size:
            break
        out.setdefault(rtype & 0x3FFF, data[off + _RTA.size : off + rlen])  # without NLA_F_NESTED
        off += (rlen + 3) & ~3
    return out
