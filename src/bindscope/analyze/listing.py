"""`ls`: every listening socket, who owns it, and who can really reach it (pure).

Reach is computed path by path: for each address of the socket's network namespace, does the
kernel hand a connection to that address to this socket (`netview.accepts`: family, exact
address, IPV6_V6ONLY, zone), and who uses that address (`NetView` audience)? The widest
audience among the reachable paths is the socket's reach.

Firewalls come in through `Blocker`: a function of (listener, address) that returns what blocks
the path ("ufw (default deny incoming)"), or a check object (analyze/firewall.PathCheck: verdict
open / blocked / unknown, a narrower audience, per-source detail), or None (not checked). A
blocked path is `reachable: false` with `blocked_by` set; an unknown one is `reachable: null`
("not checked: rule not understood (...)"). Neither counts for reach: reach is what is sure,
and `maybe_reach` is the wider audience the unknown paths would give.
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

Blocker = Callable[[Listener, Addr], Any]  # str (what blocks) | PathCheck-like | None

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
    reachable: bool | None  # None: not known (a firewall rule not understood)
    why: str | None  # when not reachable
    blocked_by: str | None = None  # the firewall seam: what blocks an otherwise open path
    firewall: tuple[dict[str, Any], ...] | None = None  # per source set; None: not checked
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
    reachable: bool | None
    why: str | None
    blocked_by: str | None
    hidden: bool
    firewall: tuple[dict[str, Any], ...] | None = None

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
            self.firewall,
            self.hidden,
        )

    @cached_property
    def json_base(self) -> dict[str, Any]:
        """The JSON object without its port-dependent fields (`url`, `target`: filled in per socket)."""
        return self.verdict(0, False).to_dict()


class _Family:
    """What the sockets of one owner bound alike share -- reach, server, warnings, paths (a server
    holding 10,000 listeners on 127.0.0.1 is one family): computed once, shared by their entries."""

    __slots__ = ("detected", "maybe_reach", "netns", "paths", "reach", "warnings", "web")

    def __init__(
        self,
        proto: str,
        reach: Reach,
        detected: Detected | None,
        warnings: list[str],
        netns: str | None,
        paths: tuple[_Path, ...],
        maybe_reach: Reach | None = None,
    ):
        self.reach = reach
        self.maybe_reach = maybe_reach  # wider audience of paths a firewall rule leaves unknown
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
    def maybe_reach(self) -> Reach | None:
        """The wider audience of paths a firewall rule leaves unknown (None: none)."""
        return self._family.maybe_reach

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
            or (mine.reach, mine.maybe_reach, mine.detected, mine.warnings, mine.netns, mine.paths)
            == (theirs.reach, theirs.maybe_reach, theirs.detected, theirs.warnings, theirs.netns, theirs.paths)
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
            "maybe_reach": _LABELS[self.maybe_reach] if self.maybe_reach is not None else None,
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
        self._fcache: dict[tuple, tuple[Reach, tuple[_Path, ...], Reach | None]] = {}  # by the answers
        self._addrs: dict[int, Addr] = {}  # path (by id, kept alive by _cache) -> its address

    def paths(self, item: Listener) -> tuple[Reach, tuple[_Path, ...], Reach | None]:
        v6only = item.v6only if item.v6only is not None else self.view.v6only_default()
        key = (item.address, v6only if item.family == "ipv6" else None)
        base = self._cache.get(key)
        if base is None:
            base = self._cache[key] = self._base(item, v6only)
        reach, out = base
        # Only a socket that some path leads to from beyond this machine asks the firewall (and
        # then about all its paths): one on loopback never does, so the firewall is never read.
        if not self.blockers or reach <= Reach.THIS_MACHINE:
            return reach, out, None
        # The firewall depends on the port and protocol: asked per socket (blockers cache per packet);
        # sockets whose answers are alike share one tuple of paths (and `ls --json`'s encoded parts).
        checks = tuple(self._check(item, p) for p in out)
        if not any(checks):
            return reach, out, None
        fkey = (key, checks)
        hit = self._fcache.get(fkey)
        if hit is None:
            hit = self._fcache[fkey] = self._firewalled(out, checks)
        return hit

    def port_blind(self, item: Listener) -> bool:
        """Are the paths of `item` the same for every port (no firewall asked)?"""
        if not self.blockers:
            return True
        v6only = item.v6only if item.v6only is not None else self.view.v6only_default()
        base = self._cache.get((item.address, v6only if item.family == "ipv6" else None))
        return base is not None and base[0] <= Reach.THIS_MACHINE

    def _check(self, item: Listener, p: _Path) -> Any:
        if p.audience <= Reach.THIS_MACHINE:
            return None
        a = self._addrs[id(p)]
        for blocker in self.blockers:
            found = blocker(item, a)
            if found:
                return found
        return None

    def _base(self, item: Listener, v6only: bool) -> tuple[Reach, tuple[_Path, ...]]:
        ip = item.ip
        zone = item.address.partition("%")[2] or None
        reach = Reach.NOBODY
        out = []
        for a in addresses_for(self.view, [(ip, zone)]):
            why = self._why(ip, zone, v6only, a)
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
                    None,
                    a.hidden,
                )
            )
            self._addrs[id(out[-1])] = a
        return reach, tuple(out)

    def _firewalled(self, base: tuple[_Path, ...], checks: tuple) -> tuple[Reach, tuple[_Path, ...], Reach | None]:
        reach = Reach.NOBODY
        maybe = Reach.NOBODY
        out = []
        for p, found in zip(base, checks, strict=True):
            reachable, why, blocked, audience, detail = p.reachable, p.why, None, p.audience, None
            if isinstance(found, str):
                blocked = found
            elif found is not None:
                detail = found.to_dicts()
                if found.verdict == "blocked":
                    blocked = found.text or "a firewall rule"
                elif found.verdict == "unknown":
                    if reachable:
                        reachable, why = None, f"not checked: {found.text}"
                elif found.audience is not None and found.audience < audience:
                    audience = found.audience
            if blocked is not None and reachable:
                reachable, why = False, f"blocked by {blocked}"
            elif not p.reachable:  # the kernel refuses it anyway: the firewall detail stays, not blocked_by
                blocked = None
            if reachable and audience > reach:
                reach = audience
            if reachable is None and audience > maybe:
                maybe = audience
            out.append(
                _Path(
                    p.interface,
                    p.kind,
                    p.address,
                    p.family,
                    audience,
                    p.host,
                    p.url_host,
                    reachable,
                    why,
                    blocked,
                    p.hidden,
                    detail,
                )
            )
        return reach, tuple(out), (maybe if maybe > reach else None)

    def _why(self, ip: IPAddress, zone: str | None, v6only: bool, a: Addr) -> str | None:
        reason = accepts(ip, zone, v6only, a.ip, a.zone)
        if reason is not None:
            return reason
        if not a.iface.up and a.kind != "loopback":
            return f"{a.iface.name} is down"
        if {"tentative", "dadfailed"} & set(a.ifaddr.flags):
            return "address not usable yet (duplicate address detection)"
        return None


def _warnings(entry_reach: Reach, found: Detected | None, item: Listener, unsure: bool = False) -> list[str]:
    if found is None or entry_reach <= Reach.THIS_MACHINE:
        return []
    where = entry_reach.label + (", if the firewall lets it through" if unsure else "")
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
        # A firewall belongs to its network namespace: the blockers are this one's only.
        reacher = _Reacher(NetView(space), blockers if ns is None else (), cap)
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
            fam = families.get(fkey, False)
            if fam is False:
                fam = _family_of(item, label, reacher, detections, needle, min_reach)
                # a firewall's verdict depends on the port: sockets that ask it are each their own
                if reacher.port_blind(item):
                    families[fkey] = fam
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
    reach, paths, maybe = reacher.paths(item)
    widest = max(reach, maybe or reach)
    if min_reach is not None and widest < min_reach:
        return None
    warned = _warnings(widest, found, item, maybe is not None)
    return _Family(item.proto, reach, found, warned, netns, paths, maybe)


def _process_matches(needle: str, item: Listener, found: Detected | None) -> bool:
    names = [item.process or "", found.id if found else ""]
    if item.cmdline:
        names.append(item.cmdline[0].rsplit("/", 1)[-1])
        argv = parse_argv(item.cmdline)  # the script or `-m` module python runs
        if argv is not None:
            names.append(argv.program)
    return any(needle in n.lower() for n in names if n)
