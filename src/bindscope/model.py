"""The data model: plain frozen dataclasses that serialise to JSON and back.

A `Snapshot` holds everything collect/ learned about a machine. analyze/ reads only a
Snapshot, so a recorded JSON file (tests/snapshots/, `--from FILE`) is as good an input
as the live machine.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .errors import BindscopeError

SNAPSHOT_VERSION = 1

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Reach(enum.IntEnum):
    """How far a socket (or one address of this machine) reaches, narrowest first."""

    NOBODY = 0
    THIS_MACHINE = 1
    HOST_ONLY = 2  # containers / VMs on bridges of this host, the Windows host of a WSL2 guest
    VPN = 3  # tailnet, WireGuard, CGNAT overlay
    LAN = 4
    INTERNET = 5

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def from_label(cls, text: str) -> Reach:
        try:
            return cls[text.upper().replace("-", "_")]
        except KeyError:
            names = ", ".join(r.label for r in cls)
            raise BindscopeError(f"unknown reach {text!r} (one of: {names})") from None


@dataclass(frozen=True)
class IfAddr:
    """One address on an interface, with its prefix length and kernel flags."""

    address: str
    prefixlen: int
    flags: tuple[str, ...] = ()  # IPv6: temporary, deprecated, tentative, dadfailed, ...

    @property
    def ip(self) -> IPAddress:
        return ipaddress.ip_address(self.address.split("%", 1)[0])

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_interface(f"{self.ip}/{self.prefixlen}").network


@dataclass(frozen=True)
class Interface:
    """A network interface as collected. `kind` is classified by analyze.classify."""

    name: str
    index: int | None = None
    up: bool = True
    mtu: int | None = None
    mac: str | None = None
    addresses: tuple[IfAddr, ...] = ()
    # Raw facts that help classification (Linux sysfs; empty elsewhere):
    # type (ARPHRD number), devtype (uevent DEVTYPE), driver, physical, wireless, bridge, tun.
    hw: dict[str, Any] = field(default_factory=dict)
    # Human description where the OS has one (Windows adapter description, macOS service name).
    description: str | None = None


@dataclass(frozen=True)
class Route:
    family: str  # "ipv4" | "ipv6"
    destination: str  # network in CIDR form, e.g. "0.0.0.0/0"
    interface: str
    gateway: str | None = None
    metric: int = 0

    @property
    def is_default(self) -> bool:
        return self.destination in ("0.0.0.0/0", "::/0")


@dataclass(frozen=True)
class Listener:
    """A listening TCP socket (or a bound, unconnected UDP socket)."""

    proto: str  # "tcp" | "udp"
    address: str  # the bound address, IPv6 link-local with "%zone"
    port: int
    family: str  # "ipv4" | "ipv6"
    v6only: bool | None = None  # None: not known (non-Linux collectors)
    inode: int | None = None
    uid: int | None = None
    pids: tuple[int, ...] = ()
    process: str | None = None
    cmdline: tuple[str, ...] = ()
    user: str | None = None
    # The few environment variables of the owners that tell a server's mode (knowledge/
    # servers.ENV_HINTS: FLASK_DEBUG, WERKZEUG_RUN_MAIN, ...), never the whole environment.
    environ: dict[str, str] = field(default_factory=dict)

    @property
    def ip(self) -> IPAddress:
        return ipaddress.ip_address(self.address.split("%", 1)[0])

    @classmethod
    def trusted(
        cls,
        proto: str,
        address: str,
        port: int,
        family: str,
        v6only: bool | None,
        inode: int | None,
        uid: int | None,
        pids: tuple[int, ...],
        process: str | None,
        cmdline: tuple[str, ...],
        user: str | None,
        environ: dict[str, str],
    ) -> Listener:
        """Build from values in field order, without the frozen __init__'s per-field
        object.__setattr__ (a collector building 10,000 of them; values it made itself)."""
        obj = object.__new__(cls)
        object.__setattr__(
            obj,
            "__dict__",
            {
                "proto": proto,
                "address": address,
                "port": port,
                "family": family,
                "v6only": v6only,
                "inode": inode,
                "uid": uid,
                "pids": pids,
                "process": process,
                "cmdline": cmdline,
                "user": user,
                "environ": environ,
            },
        )
        return obj


@dataclass(frozen=True)
class NetNamespace:
    """Another network namespace of this host (collected with `--all-netns`, as root): its
    own interfaces, routes and sockets. `label` names it for a person: "netns NAME",
    "container 3f2a9c1b7d4e (nginx)", "pid 812 (sandbox)"."""

    label: str
    kind: str  # "named" | "container" | "process"
    inode: int | None = None
    pids: tuple[int, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    routes: tuple[Route, ...] = ()
    listeners: tuple[Listener, ...] = ()
    owners_unknown: int = 0
    error: str | None = None  # why it could not be read


@dataclass(frozen=True)
class Environment:
    platform: str = "linux"  # linux | darwin | windows | freebsd | ...
    release: str = ""  # kernel release / OS version
    hostname: str = ""
    wsl: str | None = None  # None | "wsl1" | "wsl2"
    wsl_networking: str | None = None  # "nat" | "mirrored" | None (unknown / not WSL)
    container: str | None = None  # "docker", "podman", "kubernetes", "lxc", ...
    # Kernel settings that change bind semantics (Linux sysctls; None when unknown).
    bindv6only: int | None = None  # net.ipv6.bindv6only: default IPV6_V6ONLY of new sockets
    ipv4_nonlocal_bind: int | None = None
    ipv6_nonlocal_bind: int | None = None
    ipv6_disabled: bool | None = None
    ephemeral_ports: tuple[int, int] | None = None  # net.ipv4.ip_local_port_range
    is_root: bool | None = None


@dataclass(frozen=True)
class FirewallSource:
    """One firewall fact as read: a command's output or a file's text, kept verbatim so that
    analysis (analyze/firewall.py) parses it the same way live and from a recording."""

    name: str  # nft | iptables | ip6tables | iptables-legacy | ip6tables-legacy | ufw-status | ufw-conf |
    # firewalld-conf | firewalld-zone | socketfilterfw-state | socketfilterfw-apps | pfctl | netsh | netprofile |
    # netfirewallrules (Windows inbound rules as JSON)
    command: str  # the command run, or the file read
    text: str


@dataclass(frozen=True)
class FirewallState:
    """What collect/firewall.py read (None in a Snapshot: not read at all)."""

    sources: tuple[FirewallSource, ...] = ()
    notes: tuple[str, ...] = ()  # what could not be read and why ("nft: not installed")

    def text(self, name: str) -> str | None:
        for s in self.sources:
            if s.name == name:
                return s.text
        return None

    def all(self, name: str) -> list[FirewallSource]:
        return [s for s in self.sources if s.name == name]


SEVERITIES = ("info", "warning", "error", "critical")


@dataclass(frozen=True)
class Finding:
    """What doctor (and audit, and the environment checks) found: what was observed, and the
    exact change that fixes it."""

    id: str
    severity: str  # info | warning | error | critical
    title: str
    evidence: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()
    docs: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity,
            "title": self.title,
            "evidence": list(self.evidence),
            "fix": list(self.fix),
            "docs": self.docs,
        }


@dataclass(frozen=True)
class Snapshot:
    """Everything bindscope knows about one machine at one moment."""

    environment: Environment
    interfaces: tuple[Interface, ...] = ()
    routes: tuple[Route, ...] = ()
    listeners: tuple[Listener, ...] = ()
    # Name resolution as this machine answers it: name -> addresses in getaddrinfo order.
    resolver: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # How many listeners' owning processes could not be read (no root).
    owners_unknown: int = 0
    # Other network namespaces (only with --all-netns); the fields above are this one's.
    namespaces: tuple[NetNamespace, ...] = ()
    # Firewall rules and environment facts as read (None: not read; older snapshots).
    firewall: FirewallState | None = None
    taken_at: str = ""  # ISO 8601, UTC
    source: str = "live"  # "live" or a description of the recorded machine
    version: int = SNAPSHOT_VERSION

    # -- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["firewall"] is None:  # not read: as older snapshots, which have no such field
            del data["firewall"]
        return _lists(data)

    @classmethod
    def from_dict(cls, data: Any) -> Snapshot:
        if not isinstance(data, dict):
            raise BindscopeError("snapshot: expected a JSON object at the top level")
        version = data.get("version", SNAPSHOT_VERSION)
        if version != SNAPSHOT_VERSION:
            raise BindscopeError(f"snapshot: version {version!r} is not supported (expected {SNAPSHOT_VERSION})")
        try:
            env = _build(Environment, data.get("environment") or {})
            if isinstance(env.ephemeral_ports, list):
                env = _replace(env, ephemeral_ports=tuple(env.ephemeral_ports))
            interfaces = _interfaces(data.get("interfaces", ()))
            routes = _routes(data.get("routes", ()))
            listeners = _listeners(data.get("listeners", ()))
            namespaces = tuple(
                _replace(
                    _build(NetNamespace, n),
                    pids=_seq(n.get("pids", ()), "pids"),
                    interfaces=_interfaces(n.get("interfaces", ())),
                    routes=_routes(n.get("routes", ())),
                    listeners=_listeners(n.get("listeners", ())),
                )
                for n in _seq(data.get("namespaces", ()), "namespaces")
            )
            firewall = _firewall(data.get("firewall"))
            resolver = {str(k): tuple(str(a) for a in v) for k, v in (data.get("resolver") or {}).items()}
            snap = cls(
                environment=env,
                interfaces=interfaces,
                routes=routes,
                listeners=listeners,
                resolver=resolver,
                owners_unknown=int(data.get("owners_unknown", 0)),
                namespaces=namespaces,
                firewall=firewall,
                taken_at=str(data.get("taken_at", "")),
                source=str(data.get("source", "recorded")),
            )
            _validate(snap)
        except BindscopeError:
            raise
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            raise BindscopeError(f"snapshot: malformed ({exc})") from None
        return snap


def _interfaces(items: Any) -> tuple[Interface, ...]:
    return tuple(
        _replace(
            _build(Interface, i),
            addresses=tuple(
                _replace(_build(IfAddr, a), flags=_seq(a.get("flags", ()), "flags"))
                for a in _seq(i.get("addresses", ()), "addresses")
            ),
            hw=dict(i.get("hw") or {}),
        )
        for i in _seq(items, "interfaces")
    )


def _firewall(data: Any) -> FirewallState | None:
    if data is None:
        return None
    state = _build(FirewallState, data)
    return _replace(
        state,
        sources=tuple(_build(FirewallSource, s) for s in _seq(data.get("sources", ()), "firewall sources")),
        notes=_seq(data.get("notes", ()), "firewall notes"),
    )


def _routes(items: Any) -> tuple[Route, ...]:
    return tuple(_build(Route, r) for r in _seq(items, "routes"))


def _listeners(items: Any) -> tuple[Listener, ...]:
    return tuple(
        _replace(
            _build(Listener, item),
            pids=_seq(item.get("pids", ()), "pids"),
            cmdline=_seq(item.get("cmdline", ()), "cmdline"),
            environ=dict(item.get("environ") or {}),
        )
        for item in _seq(items, "listeners")
    )


def _seq(value: Any, name: str) -> tuple:
    if not isinstance(value, list | tuple):
        raise BindscopeError(f"snapshot: {name} must be a list, not {type(value).__name__}")
    return tuple(value)


def _build(cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise BindscopeError(f"snapshot: expected an object for {cls.__name__}, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def _replace(obj: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(obj, **changes)


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value


def _conforms(value: Any, hint: Any) -> bool:
    """Does `value` match a dataclass field annotation (the few forms the model uses)?"""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin in (types.UnionType, typing.Union):
        return any(_conforms(value, a) for a in args)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        return len(value) == len(args) and all(_conforms(v, a) for v, a in zip(value, args, strict=True))
    if origin is dict:
        return isinstance(value, dict) and all(
            _conforms(k, args[0]) and _conforms(v, args[1]) for k, v in value.items()
        )
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if dataclasses.is_dataclass(hint):
        return isinstance(value, hint)
    return isinstance(value, hint)


def _check_types(obj: Any) -> None:
    hints = typing.get_type_hints(type(obj))
    for f in fields(obj):
        value = getattr(obj, f.name)
        if not _conforms(value, hints[f.name]):
            raise BindscopeError(f"snapshot: {type(obj).__name__}.{f.name} has a wrong type ({value!r:.40})")
        if isinstance(value, tuple):
            for item in value:
                if dataclasses.is_dataclass(item):
                    _check_types(item)


def _validate(snap: Snapshot) -> None:
    """Check every field's type and parse every address once, so that analysis never meets
    a malformed snapshot."""
    _check_types(snap.environment)
    for group in (snap.interfaces, snap.routes, snap.listeners, snap.namespaces):
        for item in group:
            _check_types(item)
    if snap.firewall is not None:
        _check_types(snap.firewall)
    if not isinstance(snap.owners_unknown, int):
        raise BindscopeError("snapshot: owners_unknown must be a number")
    for ns in snap.namespaces:
        _validate_net(ns.interfaces, ns.routes, ns.listeners)
    _validate_net(snap.interfaces, snap.routes, snap.listeners)
    for _name, addrs in snap.resolver.items():
        for a in addrs:
            ipaddress.ip_address(a.split("%", 1)[0])


def _validate_net(
    interfaces: tuple[Interface, ...], routes: tuple[Route, ...], listeners: tuple[Listener, ...]
) -> None:
    for r in routes:
        if r.family not in ("ipv4", "ipv6"):
            raise BindscopeError(f"snapshot: route family {r.family!r} (expected ipv4 or ipv6)")
    for item in listeners:
        if item.proto not in ("tcp", "udp") or item.family not in ("ipv4", "ipv6"):
            raise BindscopeError(f"snapshot: listener proto/family {item.proto!r}/{item.family!r}")
    for iface in interfaces:
        for a in iface.addresses:
            a.network  # noqa: B018 - raises ValueError when malformed
    for r in routes:
        ipaddress.ip_network(r.destination, strict=False)
    for item in listeners:
        item.ip  # noqa: B018
        if not 0 <= int(item.port) <= 65535:
            raise ValueError(f"listener port {item.port} out of range")
