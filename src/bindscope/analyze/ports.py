"""`port` and `free`: is a port free on every family and address that matters (pure)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..addr import IPAddress, hostport, unmapped
from ..model import Listener, Snapshot
from .netview import NetView

V4_ANY = ipaddress.ip_address("0.0.0.0")
V6_ANY = ipaddress.ip_address("::")


def bind_conflict(cand: IPAddress, cand_v6only: bool | None, held: IPAddress, held_v6only: bool | None) -> bool:
    """Would bind(cand, P) with SO_REUSEADDR fail while `held` listens on P?

    Linux rules, as measured on a real kernel (tests/lab/test_port_lab.py checks every case):
    within a family, equal addresses or a wildcard on either side conflict; across families
    only a dual-stack `::` (IPV6_V6ONLY=0) overlaps IPv4, and a v4-mapped IPv6 address
    behaves as its IPv4 address. An unknown v6only counts as dual-stack (the safe answer).
    """
    if unmapped(held) is not held and not held_v6only:
        held, held_v6only = unmapped(held), None
    if unmapped(cand) is not cand and not cand_v6only:
        cand, cand_v6only = unmapped(cand), None
    if cand.version == held.version:
        return cand == held or cand.is_unspecified or held.is_unspecified
    if cand.version == 4:  # held is IPv6
        return held.is_unspecified and not held_v6only
    return cand.is_unspecified and not cand_v6only  # cand IPv6, held IPv4


@dataclass(frozen=True)
class Holder:
    address: str
    port: int
    family: str
    v6only: bool | None
    pids: list[int]
    process: str | None
    cmdline: list[str]
    user: str | None

    @classmethod
    def of(cls, item: Listener) -> Holder:
        return cls(
            item.address,
            item.port,
            item.family,
            item.v6only,
            list(item.pids),
            item.process,
            list(item.cmdline),
            item.user,
        )

    @property
    def label(self) -> str:
        who = f" (pid {', '.join(map(str, self.pids))} {self.process or ''})".rstrip() if self.pids else ""
        return f"{hostport(self.address, self.port)}{who}"


@dataclass(frozen=True)
class BindCheck:
    address: str
    family: str
    v6only: bool | None
    would_bind: bool  # by Linux's rules, from the listener table
    conflicts_with: list[str]
    bind_test: bool | None = None  # a real bind() on the live machine; None when analysing a snapshot


@dataclass
class PortReport:
    port: int
    proto: str
    free: bool
    holders: list[Holder]
    binds: list[BindCheck]
    next_free: int | None
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.free else 1

    def to_dict(self) -> dict[str, Any]:
        return {"command": "port", **asdict(self)}


def with_bind_tests(report: PortReport, results: list[bool], next_free: int | None) -> PortReport:
    """Merge real bind() results (one per entry of report.binds) into a report: the port
    is free only when nothing listens on it and every real bind succeeded."""
    binds = [replace(b, bind_test=ok) for b, ok in zip(report.binds, results, strict=True)]
    notes = list(report.notes)
    odd = [b for b in binds if b.bind_test is False and b.would_bind]
    if odd:
        if report.port < 1024:
            why = "this user may not bind ports below 1024 (root or CAP_NET_BIND_SERVICE), or a socket is bound there"
        else:
            why = "a socket is bound without listening (a client socket, or a server that has not called listen yet)"
        notes.append(f"bind() fails on {', '.join(_label(b) for b in odd)} although nothing listens there: {why}")
    free = report.free and all(results)
    return replace(report, binds=binds, free=free, next_free=next_free, notes=notes)


def _label(b: BindCheck) -> str:
    if b.address == "::":
        return ":: (v6-only)" if b.v6only else ":: (dual-stack)"
    return b.address


def candidates(view: NetView) -> Iterator[tuple[IPAddress, str | None, bool | None]]:
    """The binds a server might try: wildcards of both families (:: both ways), the
    loopbacks, and every address of this machine."""
    yield V4_ANY, None, None
    if not view.env.ipv6_disabled:
        yield V6_ANY, None, False
        yield V6_ANY, None, True
    yield ipaddress.ip_address("127.0.0.1"), None, None
    if not view.env.ipv6_disabled:
        yield ipaddress.ip_address("::1"), None, True
    seen = {V4_ANY, V6_ANY, ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    for a in view.addrs:
        if a.ip in seen or {"tentative", "dadfailed"} & set(a.ifaddr.flags):
            continue
        seen.add(a.ip)
        yield a.ip, a.zone, (True if a.ip.version == 6 else None)


def holders_of(snap: Snapshot, port: int, proto: str) -> list[Listener]:
    return [item for item in snap.listeners if item.port == port and item.proto == proto]


def check_port(snap: Snapshot, port: int, proto: str = "tcp") -> PortReport:
    view = NetView(snap)
    held = holders_of(snap, port, proto)
    checks = []
    for ip, zone, v6only in candidates(view):
        clash = [h for h in held if bind_conflict(ip, v6only, h.ip, h.v6only)]
        checks.append(
            BindCheck(
                f"{ip}%{zone}" if zone else str(ip),
                "ipv4" if ip.version == 4 else "ipv6",
                v6only,
                not clash,
                [hostport(h.address, h.port) for h in clash],
            )
        )
    notes = []
    if view.env.platform not in ("linux",):
        notes.append(
            f"bind verdicts follow Linux rules; on {view.env.platform} SO_REUSEADDR may let a wildcard bind "
            "share a port with a specific address"
        )
    if proto == "udp" and held:
        notes.append(
            "UDP sockets that both set SO_REUSEADDR may share a port; these verdicts assume the holder did not"
        )
    if held and any(h.v6only is None and h.family == "ipv6" for h in held):
        notes.append("IPV6_V6ONLY of an IPv6 holder is unknown here: counted as dual-stack")
    eph = view.env.ephemeral_ports
    if eph and eph[0] <= port <= eph[1]:
        notes.append(
            f"{port} is in the ephemeral range {eph[0]}-{eph[1]}: outgoing connections may take it at any "
            "time; a server port below it is safer"
        )
    return PortReport(
        port,
        proto,
        not held,
        [Holder.of(h) for h in held],
        checks,
        next(free_ports(snap, port + 1 if port < 65535 else 1024, proto), None),
        notes,
    )


def free_ports(
    snap: Snapshot, near: int, proto: str = "tcp", *, also_held: frozenset[int] = frozenset()
) -> Iterator[int]:
    """Ports from `near` upwards (then wrapping to 1024) held on no address of any family.

    A port held only on ::1 or only on 127.0.0.1 is NOT free: a client that resolves
    localhost to the other family would reach the other server (get-port #31).
    """
    held = {item.port for item in snap.listeners if item.proto == proto} | set(also_held)
    start = max(1, min(near, 65535))
    for port in (*range(start, 65536), *range(1024, start)):
        if port not in held:
            yield port
