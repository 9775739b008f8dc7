"""Listening sockets from the Linux kernel through netlink sock_diag, decoded with `struct`.

One SOCK_DIAG_BY_FAMILY dump per (family, protocol), filtered in the kernel by state
(LISTEN for TCP, CLOSE = bound and unconnected for UDP). The kernel attaches
INET_DIAG_SKV6ONLY to every IPv6 socket in LISTEN/CLOSE state, which is how we know
whether a `::` socket also takes IPv4. Owners come from a /proc/*/fd scan that stops as
soon as every inode is matched. Falls back to /proc/net/{tcp,tcp6,udp,udp6}.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from collections.abc import Iterable, Iterator

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x01
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
INET_DIAG_SKV6ONLY = 11
TCP_LISTEN = 10
TCP_CLOSE = 7

_NLMSGHDR = struct.Struct("=IHHII")
_REQ = struct.Struct("=BBBxI48s")  # inet_diag_req_v2 (sockid left zero)
# inet_diag_msg: family, state, timer, retrans, sport(be), dport(be), src[16], dst[16],
# if, cookie[2], expires, rqueue, wqueue, uid, inode
_MSG = struct.Struct("=BBBB2s2s16s16sI8sIIIII")
_RTA = struct.Struct("=HH")

RawListener = tuple[str, str, int, str, bool | None, int, int]  # proto, addr, port, family, v6only, inode, uid


class NetlinkUnavailable(OSError):
    pass


# nlmsghdr and inet_diag_msg in one: length, type, seq, family, sport, src, ifindex, uid, inode
_FAST = struct.Struct("=IHxxI4xB3x2s2x16s16xI8x12xII")
_RECV = 1 << 16  # the kernel sends a dump in datagrams of at most 32 KiB


def listeners_netlink(protos: Iterable[str] = ("tcp", "udp")) -> list[RawListener]:
    out: list[RawListener] = []
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    except (OSError, AttributeError) as exc:
        raise NetlinkUnavailable(str(exc)) from exc
    with sock:
        sock.bind((0, 0))
        seq = 0
        buf = bytearray(_RECV)  # received into, not allocated per datagram
        for proto in protos:
            ipproto, state = (socket.IPPROTO_TCP, TCP_LISTEN) if proto == "tcp" else (socket.IPPROTO_UDP, TCP_CLOSE)
            for fam in (socket.AF_INET, socket.AF_INET6):
                seq += 1
                req = _REQ.pack(fam, ipproto, 0, 1 << state, b"\0" * 48)
                hdr = _NLMSGHDR.pack(_NLMSGHDR.size + len(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, 0)
                sock.sendall(hdr + req)
                _read_dump(sock, buf, proto, seq, out)
    return out


def _read_dump(sock: socket.socket, buf: bytearray, proto: str, seq: int, out: list[RawListener]) -> None:
    names: dict[bytes, str] = {}  # address bytes -> text: 10,000 sockets share a few addresses
    fast, whole, inet = _FAST.unpack_from, _FAST.size, socket.AF_INET
    while True:
        end = sock.recv_into(buf)
        if not end:
            return
        offset = 0
        while offset + _NLMSGHDR.size <= end:
            if offset + whole <= end:  # the common case, an IPv4 socket, decoded in one go
                length, mtype, mseq, fam, sport, src, _ifindex, uid, inode = fast(buf, offset)
                if mtype == SOCK_DIAG_BY_FAMILY and mseq == seq and fam == inet and whole <= length <= end - offset:
                    key = src[:4]
                    addr = names.get(key)
                    if addr is None:
                        addr = names[key] = socket.inet_ntop(inet, key)
                    out.append((proto, addr, (sport[0] << 8) | sport[1], "ipv4", None, inode, uid))
                    offset += (length + 3) & ~3
                    continue
            length, mtype, _flags, mseq, _pid = _NLMSGHDR.unpack_from(buf, offset)
            if length < _NLMSGHDR.size:
                return
            if mseq != seq:
                offset += (length + 3) & ~3
                continue
            if mtype == NLMSG_DONE:
                return
            if mtype == NLMSG_ERROR:
                (errno_neg,) = struct.unpack_from("=i", buf, offset + _NLMSGHDR.size)
                if errno_neg:
                    raise NetlinkUnavailable(os.strerror(-errno_neg))
                return
            item = _parse_at(buf, offset + _NLMSGHDR.size, offset + length, proto, names)
            if item is not None:
                out.append(item)
            offset += (length + 3) & ~3


def parse_diag_msg(body: bytes, proto: str) -> RawListener | None:
    """Decode one inet_diag_msg and its attributes (pure; unit-tested on raw bytes)."""
    return _parse_at(body, 0, len(body), proto, {})


def _parse_at(data: bytes | bytearray, start: int, end: int, proto: str, names: dict[bytes, str]) -> RawListener | None:
    if end - start < _MSG.size:
        return None
    fam, _state, _t, _r, sport, _dport, src, _dst, ifindex, _cookie, _e, _rq, _wq, uid, inode = _MSG.unpack_from(
        data, start
    )
    port = (sport[0] << 8) | sport[1]
    if fam == socket.AF_INET:
        key = src[:4]
        addr = names.get(key)
        if addr is None:
            addr = names[key] = socket.inet_ntop(socket.AF_INET, key)
        return (proto, addr, port, "ipv4", None, inode, uid)
    v6only: bool | None = None
    off = start + _MSG.size
    while off + _RTA.size <= end:
        rlen, rtype = _RTA.unpack_from(data, off)
        if rlen < _RTA.size:
            break
        if rtype == INET_DIAG_SKV6ONLY and rlen >= _RTA.size + 1:
            v6only = bool(data[off + _RTA.size])
        off += (rlen + 3) & ~3
    addr = names.get(src)
    if addr is None:
        addr = names[src] = str(ipaddress.IPv6Address(src))
    if ifindex and src[0] == 0xFE and (src[1] & 0xC0) == 0x80:  # fe80::/10 carries its interface
        addr = f"{addr}%{_ifname(ifindex)}"
    return (proto, addr, port, "ipv6", v6only, inode, uid)


def _ifname(index: int) -> str:
    try:
        return socket.if_indextoname(index)
    except OSError:
        return str(index)


# -- /proc/net fallback ---------------------------------------------------------------------
def listeners_procfs(protos: Iterable[str] = ("tcp", "udp"), net: str = "/proc/net") -> list[RawListener]:
    out: list[RawListener] = []
    for proto in protos:
        want = "0A" if proto == "tcp" else "07"
        for suffix, family in (("", "ipv4"), ("6", "ipv6")):
            try:
                with open(f"{net}/{proto}{suffix}") as fh:
                    lines = fh.read().splitlines()[1:]
            except OSError:
                continue
            out.extend(parse_proc_net(lines, proto, family, want))
    return out


def parse_proc_net(lines: Iterable[str], proto: str, family: str, want_state: str) -> Iterator[RawListener]:
    """Rows of /proc/net/tcp{,6}: `sl local rem st ... uid timeout inode` (pure)."""
    for line in lines:
        parts = line.split()
        if len(parts) < 10 or parts[3] != want_state:
            continue
        hexaddr, hexport = parts[1].split(":")
        raw = bytes.fromhex(hexaddr)
        # each 32-bit word is in host (little-endian) order
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
        addr = str(ipaddress.ip_address(raw))
        yield (proto, addr, int(hexport, 16), family, None, int(parts[9]), int(parts[7]))


# -- owners ---------------------------------------------------------------------------------
def owners(inodes: set[int], proc: str = "/proc", *, exhaustive: bool = False) -> dict[int, list[int]]:
    """Map socket inode -> pids by scanning /proc/*/fd, in pid order.

    The scan stops as soon as every inode has an owner -- even in the middle of a process's
    fd table. After that, only descendants of an owner are still read: a socket is shared
    between processes by fork (pre-fork servers: gunicorn, uvicorn --workers, the Werkzeug
    reloader), and a child normally has a higher pid than its parent. A socket inherited from
    an owner that is pid 1 (systemd socket activation) therefore still finds every holder.
    Pids wrap (pid_max is 32768 on many systems), so a parent can have a higher pid than its
    child: the parent of an owner that has not been read yet is read too.
    `exhaustive=True` reads every process (what `ss -p` does). Unreadable fd directories (not
    root) are skipped.
    """
    found: dict[int, list[int]] = {}
    if not inodes:
        return found
    wanted = {f"socket:[{inode}]": inode for inode in inodes}
    remaining = set(inodes)
    try:
        pids = sorted(int(p) for p in os.listdir(proc) if p.isdigit())
    except OSError:
        return found
    family: set[int] = set()  # owners and their descendants: the only candidates once all are matched
    parents: set[int] | None = None  # parents of owners with higher pids (pids wrapped): read too
    skipped: dict[int, int | None] = {}  # pid -> ppid of the processes passed over after the match
    wrapped = False  # a parent with a higher pid than its child held a socket
    readlink, lookup = os.readlink, wanted.get

    def read(pid: int, stop_early: bool) -> None:
        nonlocal wrapped
        try:
            dfd = os.open(f"{proc}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        held: list[int] = []
        try:
            # scandir reads the fd table a chunk at a time: stopping early skips the rest of it
            # (a listdir of 20,000 fds costs more than the readlinks of the first 10,000).
            with os.scandir(dfd) as entries:
                for entry in entries:
                    try:
                        inode = lookup(readlink(entry.name, dir_fd=dfd))
                    except OSError:
                        continue
                    if inode is not None:
                        held.append(inode)
                        if inode in remaining:
                            remaining.discard(inode)
                            if not remaining and stop_early:
                                break
        except OSError:  # the process exited, or its fd table is not ours to read
            pass
        finally:
            os.close(dfd)
        if not held:
            return
        if parents is not None and pid in parents and pid not in family:
            wrapped = True
            pp = _ppid(proc, pid)  # its own parent may have wrapped too
            if pp is not None and pp > pid:
                parents.add(pp)
        family.add(pid)
        for inode in held:
            holders = found.setdefault(inode, [])
            if not holders or holders[-1] != pid:  # the same socket on two fds (dup)
                holders.append(pid)

    for pid in pids:
        if not remaining and not exhaustive:
            if parents is None:  # every inode has just been matched
                parents = {pp for owner in family if (pp := _ppid(proc, owner)) is not None and pp > owner}
            if pid not in parents:
                ppid = _ppid(proc, pid)
                if ppid not in family:
                    skipped[pid] = ppid
                    continue
                family.add(pid)
            read(pid, False)
        else:
            read(pid, not exhaustive)
    late = wrapped
    while wrapped:  # children passed over before their wrapped parent joined the family
        wrapped = False
        for pid in sorted(pid for pid, ppid in skipped.items() if ppid in family):
            del skipped[pid]
            family.add(pid)
            read(pid, False)
            wrapped = True
    if late:
        for holders in found.values():
            holders.sort()
    return found


def _ppid(proc: str, pid: int) -> int | None:
    # os.read, not open(): a buffered file costs three more system calls (fstat, ioctl, lseek),
    # and every process after the last owner is read. One read returns the whole line.
    try:
        fd = os.open(f"{proc}/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        stat = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        return int(stat[stat.rindex(b")") + 2 :].split(None, 2)[1])
    except (ValueError, IndexError):
        return None
