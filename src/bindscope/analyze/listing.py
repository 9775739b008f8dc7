"""`ls`: every listening socket, who owns it, and who can really reach it (pure).

Reach is computed path by path: for each address of the socket's network namespace, does the
kernel hand a connection to that address to this socket (`netview.accepts`: family, exact
address, IPV6_V6ONLY, zone), and who uses that address (`NetView` audience)? The widest
audience among the reachable paths is the socket's reach.

Firewalls are not read yet. The seam for them is `Blocker`: a function of (listener, address)
that returns what blocks the path ("ufw (default deny incoming)") or None. A blocked path is
`reachable: false` with `blocked_by` set, and no longer counts for reach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from ..addr import IPAddress, hostport, url
from ..model import Listener, NetNamespace, Reach, Snapshot
from .netview import Addr, NetView, accepts, addresses_for
from .servers import Detected, detect, parse_argv

Blocker = Callable[[Listener, Addr], str | None]

_LABELS = {r: r.label for r in Reach}

# Reach groups as `ls` prints them, widest first.
GROUPS = (Reach.INTERNET, Reach.LAN, Reach.VPN, Reach.HOST_ONLY, Reach.THIS_MACHINE, Reach.NOBODY)
GROUP_TITLES = {
    Reach.INTERNET: "internet: any host that can route here",
    Reach.LAN: "lan: devices on your local network",
    Reach.VPN: "vpn: your tailnet / VPN peers",
    Reach.HOST_ONLY: "host-only: containers and VMs on this host",
    Reach.THIS_MACHINE: "this-machine: nobody else",
    Reach.NOBODY: "nobody: no address of this machine leads to it",
}


@dataclass(frozen=True)
class PathVerdict:
    interface: str
    kind: str
    address: str
    family: str
    audience: str  # Reach label of the people who use this address
    url: str | None  # what to type (TCP, not for datastores)
    target: str  # host:port
    reachable: bool
    why: str | None  # when not reachable
    blocked_by: str | None = None  # the firewall seam: what blocks an otherwise open path
    hidden: bool = False  # not offered as an address to type (link-local, veth, down): not in JSON

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of a path (`hidden` is not part of it)."""
        data = asdict(self)
        del data["hidden"]
        return data


@dataclass(frozen=True)
class _Path:
    """One path of one distinct bind, without the port: shared by every socket bound alike
    (10,000 listeners on 127.0.0.1 compute their paths once)."""

    interface: str
    kind: str
    address: str
    family: str
    audience: Reach
    host: str  # as in host:port ("[::1]", "[fe80::1%eth0]")
    url_host: str  # as in a URL ("[fe80::1%25eth0]")
    reachable: bool
    why: str | None
    blocked_by: str | None
    hidden: bool

    def url(self, port: int) -> str:
        return f"http://{self.url_host}/" if port == 80 else f"http://{self.url_host}:{port}/"

    def verdict(self, port: int, web: bool) -> PathVerdict:
        return PathVerdict(
            self.interface,
            self.kind,
            self.address,
            self.family,
            _LABELS[self.audience],
            self.url(port) if web else None,
            f"{self.host}:{port}",
            self.reachable,
            self.why,
            self.blocked_by,
            self.hidden,
        )

    @cached_property
    def json_base(self) -> dict[str, Any]:
        """The JSON object without its port-dependent fields (`url`, `target`: filled in per socket)."""
        return self.verdict(0, False).to_dict()


class _Family:
    """What the sockets of one owner bound alike share -- reach, server, warnings, paths (a server
    holding 10,000 listeners on 127.0.0.1 is one family): computed once, shared by their entries."""

    __slots__ = ("detected", "netns", "paths", "reach", "warnings", "web")

    def __init__(
        self,
        proto: str,
        reach: Reach,
        detected: Detected | None,
        warnings: list[str],
        netns: str | None,
        paths: tuple[_Path, ...],
    ):
        self.reach = reach
        self.detected = detected
        self.warnings = tuple(warnings)
        self.netns = netns  # None: this network namespace
        self.paths = paths
        # URLs only for TCP, and not for datastores
        self.web = proto == "tcp" and (detected is None or detected.category != "datastore")


class Entry:
    """One socket of `ls`: its listener, and its family's reach, server, warnings and paths."""

    __slots__ = ("_family", "listener")

    def __init__(self, listener: Listener, family: _Family):
        self.listener = listener
        self._family = family

    @property
    def reach(self) -> Reach:
        return self._family.reach

    @property
    def detected(self) -> Detected | None:
        return self._family.detected

    @property
    def warnings(self) -> list[str]:
        return list(self._family.warnings)

    @property
    def netns(self) -> str | None:
        """None: this network namespace."""
        return self._family.netns

    @property
    def _paths(self) -> tuple[_Path, ...]:
        return self._family.paths

    @property
    def _web(self) -> bool:
        return self._family.web

    def __repr__(self) -> str:
        return f"Entry({self.listener!r}, reach={self.reach.label}, framework={self.framework}, netns={self.netns})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        mine, theirs = self._family, other._family
        return self.listener == other.listener and (
            mine is theirs
            or (mine.reach, mine.detected, mine.warnings, mine.netns, mine.paths)
            == (theirs.reach, theirs.detected, theirs.warnings, theirs.netns, theirs.paths)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it replaces

    @property
    def framework(self) -> str | None:
        return self.detected.id if self.detected else None

    @property
    def local(self) -> str:
        """The address as ss writes it: *:8000, [::]:8000, 127.0.0.1:5000."""
        return ss_address(self.listener)

    @property
    def paths(self) -> list[PathVerdict]:
        port, web = self.listener.port, self._web
        return [p.verdict(port, web) for p in self._paths]

    @property
    def urls(self) -> list[str]:
        """What a person types, best first: addresses beyond this machine, then one local."""
        port, web = self.listener.port, self._web
        wide = [p for p in self._paths if p.reachable and not p.hidden and p.audience > Reach.THIS_MACHINE]
        local = [p for p in self._paths if p.reachable and p.audience == Reach.THIS_MACHINE]
        picked = [p.url(port) if web else f"{p.host}:{port}" for p in wide[:3]]
        if local and self.netns is None:  # another namespace's loopback is not this machine's
            picked.append(local[0].url(port) if web else f"{local[0].host}:{port}")
        return picked

    def to_dict(self) -> dict[str, Any]:
        item = self.listener
        port, web = item.port, self._web
        return {
            "proto": item.proto,
            "address": item.address,
            "port": port,
            "family": item.family,
            "v6only": item.v6only,
            "local": self.local,
            "inode": item.inode,
            "uid": item.uid,
            "user": item.user,
            "pids": list(item.pids),
            "process": item.process,
            "cmdline": list(item.cmdline),
            "framework": self.framework,
            "category": self.detected.category if self.detected else None,
            "debug": self.detected.debug if self.detected else None,
            "reach": _LABELS[self.reach],
            "netns": self.netns,
            "warnings": self.warnings,
            "urls": self.urls,
            "paths": [
                {**p.json_base, "url": p.url(port) if web else None, "target": f"{p.host}:{port}"} for p in self._paths
            ],
        }


@dataclass
class Listing:
    entries: list[Entry]
    protos: tuple[str, ...]
    owners_unknown: int  # among the entries shown
    total: int  # sockets before filters
    namespaces: list[str] = field(default_factory=list)  # labels of the other namespaces read
    errors: list[str] = field(default_factory=list)  # namespaces that could not be read
    notes: list[str] = field(default_factory=list)
    as_root: bool | None = None  # was the snapshot taken as root (owners of every user readable)

    @property
    def exit_code(self) -> int:
        """1 when a warning (dangerous exposure) is shown, else 0."""
        return 1 if any(e._family.warnings for e in self.entries) else 0

    def to_list(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.entries]


def ss_address(item: Listener, v6only: bool | None = None) -> str:
    """The local address as `ss` prints it: a dual-stack `::` is `*`."""
    v6 = item.v6only if v6only is None else v6only
    if item.family == "ipv6" and item.address == "::" and v6 is False:
        return f"*:{item.port}"
    if item.family == "ipv6":
        base, _, zone = item.address.partition("%")
        return f"[{base}]{'%' + zone if zone else ''}:{item.port}"
    return f"{item.address}:{item.port}"


class _Reacher:
    """Paths of sockets in one network namespace; one computation per distinct bind."""

    def __init__(self, view: NetView, blockers: Sequence[Blocker], cap: Reach | None):
        self.view = view
        self.blockers = blockers
        self.cap = cap
        self._cache: dict[tuple, tuple[Reach, tuple[_Path, ...]]] = {}

    def paths(self, item: Listener) -> tuple[Reach, tuple[_Path, ...]]:
        v6only = item.v6only if item.v6only is not None else self.view.v6only_default()
        key = (item.address, v6only if item.family == "ipv6" else None)
        if not self.blockers and key in self._cache:
            return self._cache[key]
        ip = item.ip
        zone = item.address.partition("%")[2] or None
        reach = Reach.NOBODY
        out = []
        for a in addresses_for(self.view, [(ip, zone)]):
            why = self._why(ip, zone, v6only, a)
            blocked = None
            if why is None:
                for blocker in self.blockers:
                    blocked = blocker(item, a)
                    if blocked:
                        why = f"blocked by {blocked}"
                        break
            # a container's veth leads to the host's bridge: the host and its containers, not the LAN
            capped = self.cap is not None and a.iface.hw.get("driver") == "veth"
            audience = min(a.audience, self.cap) if capped and self.cap is not None else a.audience
            if why is None and audience > reach:
                reach = audience
            out.append(
                _Path(
                    a.iface.name,
                    a.kind,
                    a.text,
                    a.family,
                    audience,
                    hostport(a.ip, None, a.zone),
                    url(a.ip, 80, "http", a.zone)[len("http://") : -1],
                    why is None,
                    why,
                    blocked,
                    a.hidden,
                )
            )
        result = (reach, tuple(out))
        if not self.blockers:
            self._cache[key] = result
        return result

    def _why(self, ip: IPAddress, zone: str | None, v6only: bool, a: Addr) -> str | None:
        reason = accepts(ip, zone, v6only, a.ip, a.zone)
        if reason is not None:
            return reason
        if not a.iface.up and a.kind != "loopback":
            return f"{a.iface.name} is down"
        if {"tentative", "dadfailed"} & set(a.ifaddr.flags):
            return "address not usable yet (duplicate address detection)"
        return None


def _warnings(entry_reach: Reach, found: Detected | None, item: Listener) -> list[str]:
    if found is None or entry_reach <= Reach.THIS_MACHINE:
        return []
    where = entry_reach.label
    out = []
    if found.debug:
        out.append(f"debug server reachable beyond this machine ({where}): {found.debug}")
    if found.category == "datastore":
        out.append(
            f"{found.server.label} reachable beyond this machine ({where}): bind it to 127.0.0.1 "
            "unless other hosts must reach it, and then allow only them"
        )
    elif found.category == "notebook":
        out.append(
            f"{found.server.label} reachable beyond this machine ({where}): whoever gets in runs code as "
            f"{item.user or 'its user'}"
        )
    return out


def listing(
    snap: Snapshot,
    *,
    protos: Iterable[str] = ("tcp",),
    port: int | None = None,
    min_reach: Reach | None = None,
    process: str | None = None,
    blockers: Sequence[Blocker] = (),
) -> Listing:
    """Every listener of the snapshot (and of its other namespaces), with its reach."""
    wanted = tuple(protos)
    entries: list[Entry] = []
    total = 0
    spaces: list[tuple[str | None, Snapshot, NetNamespace | None]] = [(None, snap, None)]
    for ns in snap.namespaces:
        sub = Snapshot(environment=snap.environment, interfaces=ns.interfaces, routes=ns.routes, listeners=ns.listeners)
        spaces.append((ns.label, sub, ns))
    needle = process.lower() if process else None
    notes: list[str] = []
    for label, space, ns in spaces:
        cap = None
        if ns is not None and ns.kind == "container":
            cap = Reach.HOST_ONLY
            notes.append(
                f"{label}: a container's addresses on a veth (a Docker bridge network) reach the host and its "
                "containers; the LAN reaches them only through a published port"
            )
        reacher = _Reacher(NetView(space), blockers, cap)
        detections: dict[tuple, Detected | None] = {}
        # Sockets alike in everything but port, inode and uid form one family (None: filtered out).
        # A blocker sees each socket (and its port), so with blockers every socket is its own.
        families: dict[tuple, _Family | None] = {}
        for item in space.listeners:
            if item.proto not in wanted:
                continue
            total += 1
            if port is not None and item.port != port:
                continue
            fkey = (
                item.pids,
                item.process,
                item.cmdline,
                item.user,
                item.proto,
                item.family,
                item.address,
                item.v6only,
            )
            fam = families.get(fkey, False) if not blockers else False
            if fam is False:
                fam = families[fkey] = _family_of(item, label, reacher, detections, needle, min_reach)
            if fam is not None:
                entries.append(Entry(item, fam))
    # Stable: within a group, the collector's order (proto, port, family, address) stays.
    if any(e._family.netns for e in entries):
        entries.sort(key=lambda e: (-e._family.reach, e._family.netns or ""))
    else:
        entries.sort(key=lambda e: -e._family.reach)
    unknown = sum(1 for e in entries if not e.listener.pids)
    return Listing(
        entries=entries,
        protos=wanted,
        owners_unknown=unknown,
        total=total,
        namespaces=[ns.label for ns in snap.namespaces],
        errors=[f"{ns.label}: {ns.error}" for ns in snap.namespaces if ns.error],
        notes=notes,
        as_root=snap.environment.is_root,
    )


def _family_of(
    item: Listener,
    netns: str | None,
    reacher: _Reacher,
    detections: dict[tuple, Detected | None],
    needle: str | None,
    min_reach: Reach | None,
) -> _Family | None:
    """Reach, server and warnings of `item` (and of every socket alike), or None when a filter
    leaves it out."""
    dkey = (item.pids, item.process, item.cmdline)
    if dkey not in detections:
        detections[dkey] = detect(item.cmdline, item.process, item.environ)
    found = detections[dkey]
    if needle is not None and not _process_matches(needle, item, found):
        return None
    reach, paths = reacher.paths(item)
    if min_reach is not None and reach < min_reach:
        return None
    return _Family(item.proto, reach, found, _warnings(reach, found, item), netns, paths)


def _process_matches(needle: str, item: Listener, found: Detected | None) -> bool:
    names = [item.process or "", found.id if found else ""]
    if item.cmdline:
        names.append(item.cmdline[0].rsplit("/", 1)[-1])
        argv = parse_argv(item.cmdline)  # the script or `-m` module python runs
        if argv is not None:
            names.append(argv.program)
    return any(needle in n.lower() for n in names if n)
