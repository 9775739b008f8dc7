"""`explain`: what binding to an address means on this machine (pure)."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..addr import IPAddress, Scope, Target, hostport, unmapped, url
from ..errors import BindscopeError
from ..model import Listener, Reach, Snapshot
from .netview import KIND_LABELS, NetView, accepts, addresses_for

AUDIENCE_PHRASES = {
    Reach.INTERNET: "the internet",
    Reach.LAN: "your LAN",
    Reach.VPN: "your VPN / tailnet",
    Reach.HOST_ONLY: "containers and VMs on this host",
    Reach.THIS_MACHINE: "this machine",
}


@dataclass(frozen=True)
class Bind:
    address: str
    family: str
    v6only: bool | None  # None for IPv4 sockets


@dataclass(frozen=True)
class Path:
    interface: str
    kind: str
    address: str
    family: str
    scope: str
    audience: str
    connects: bool | None  # None: a firewall rule bindscope does not understand decides
    why: str | None
    url: str | None
    blocked_by: str | None = None  # the firewall rule that blocks an otherwise open path


@dataclass
class Explanation:
    target: str
    kind: str
    port: int | None
    resolved: list[str]
    binds: list[Bind]
    bindable: bool
    cannot_bind: str | None
    reach: str
    summary: str
    paths: list[Path]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    name_binds: dict[str, list[str]] = field(default_factory=dict)  # names only: see NAME_BIND_STYLES

    @property
    def exit_code(self) -> int:
        return 0 if self.bindable else 1

    def to_dict(self) -> dict[str, Any]:
        return {"command": "explain", **asdict(self)}


def explain(snap: Snapshot, target: Target, *, v6only: bool | None = None, blocker: Any = None) -> Explanation:
    """What a server bound to `target` can be reached through, address by address. `blocker`
    (analyze.firewall.blocker): with a port, each open path is also checked against the firewall."""
    view = NetView(snap)
    if target.kind == "port":
        if not target.raw.strip().startswith(":"):
            raise BindscopeError(f"explain needs an address, not only a port: try 'explain 0.0.0.0:{target.port}'")
        target = replace(
            target,
            kind="ip",
            ip=ipaddress.ip_address("0.0.0.0"),
            note="':PORT' has an empty host, and Python's socket.bind(('', PORT)) binds 0.0.0.0 (every IPv4 address)",
        )
    dual_default = not view.v6only_default()
    v6only_eff = (not dual_default) if v6only is None else v6only
    notes: list[str] = []
    warnings: list[str] = []
    resolved: list[str] = []
    if target.note:
        notes.append(target.note)

    if v6only is not None and (target.kind == "any" or (target.ip is not None and target.ip.version == 4)):
        raise BindscopeError("--v6only applies to IPv6 binds such as '::' ('*' always means two sockets)")
    if target.kind == "any":
        binds = [(ipaddress.ip_address("0.0.0.0"), None), (ipaddress.ip_address("::"), None)]
        v6only_eff = True  # '*' = one IPv4 and one IPv6 socket, as ss prints and waitress binds
    elif target.kind == "name":
        assert target.name is not None
        binds, resolved = _resolve_name(view, target.name, notes, warnings)
    else:
        assert target.ip is not None
        if target.zone and view.interface(target.zone) is None:
            names = ", ".join(i.name for i in snap.interfaces) or "none"
            raise BindscopeError(f"unknown interface {target.zone!r} in {target.raw!r} (this machine has: {names})")
        binds = [(target.ip, target.zone)]

    bind_objs = [
        Bind(
            str(ip) + (f"%{z}" if z else ""),
            "ipv4" if ip.version == 4 else "ipv6",
            None if ip.version == 4 else v6only_eff,
        )
        for ip, z in binds
    ]
    cannot = _cannot_bind(view, *binds[0])

    paths: list[Path] = []
    for a in addresses_for(view, binds):
        why = None
        if cannot:
            why = "the server cannot bind this address"
        else:
            reasons = [accepts(ip, z, v6only_eff, a.ip, a.zone) for ip, z in binds]
            why = None if any(r is None for r in reasons) else reasons[0]
        connects: bool | None = why is None
        blocked = None
        if why is None and blocker is not None and target.port and a.audience > Reach.THIS_MACHINE:
            bind = next((ip for ip, _z in binds if ip.version == a.ip.version), binds[0][0])
            fam = "ipv4" if bind.version == 4 else "ipv6"
            found = blocker(Listener("tcp", str(bind), target.port, fam, v6only_eff), a)
            if found is not None and found.verdict == "blocked":
                connects, blocked, why = False, found.text, f"blocked by {found.text}"
            elif found is not None and found.verdict == "unknown":
                connects, why = None, f"not checked: {found.text}"
        paths.append(
            Path(
                a.iface.name,
                a.kind,
                a.text,
                a.family,
                str(a.scope),
                a.audience.label,
                connects,
                why,
                url(a.ip, target.port, target.scheme or "http", a.zone) if target.port else None,
                blocked,
            )
        )

    reach, summary = _summarise(view, paths)
    if cannot:
        reach, summary = Reach.NOBODY, f"a server cannot bind {binds[0][0]} here"
    elif binds:
        _notes_for_bind(view, binds, v6only_eff, dual_default, v6only, target, notes, warnings)
    return Explanation(
        target=target.raw,
        kind=target.kind,
        port=target.port,
        resolved=resolved,
        binds=bind_objs,
        bindable=cannot is None,
        cannot_bind=cannot,
        reach=reach.label,
        summary=summary,
        paths=paths,
        notes=notes,
        warnings=warnings,
        name_binds=name_binds(resolved) if resolved else {},
    )


# How servers turn a host name into binds (checked against the real software in
# tests/lab/test_localhost_servers_lab.py). Keys are the `name_binds` keys of the JSON.
NAME_BIND_STYLES = {
    "first_ipv4": "an IPv4 socket (Flask/Werkzeug, Django runserver, gunicorn) binds the first IPv4 answer",
    "first_answer": "python -m http.server --bind and Node's listen (Vite, Next.js) bind the first answer of "
    "either family",
    "every_answer": "asyncio's create_server (uvicorn, aiohttp) binds every answer",
}


def name_binds(answers: list[str]) -> dict[str, list[str]]:
    """What each style of server binds when given a name resolving to `answers` (in order)."""
    v4 = [a for a in answers if ":" not in a]
    return {"first_ipv4": v4[:1], "first_answer": answers[:1], "every_answer": list(answers)}


def _resolve_name(view: NetView, name: str, notes: list[str], warnings: list[str]) -> tuple[list, list[str]]:
    if name not in view.snap.resolver:
        known = ", ".join(view.snap.resolver) or "no names"
        raise BindscopeError(f"cannot resolve {name!r} in a recorded snapshot (it records: {known})")
    answers = list(view.snap.resolver[name])
    if not answers:
        raise BindscopeError(f"{name!r} does not resolve on this machine")
    parsed = [(ipaddress.ip_address(a.split("%")[0]), a.split("%")[1] if "%" in a else None) for a in answers]
    v4 = [p for p in parsed if p[0].version == 4]
    first = v4[0] if v4 else parsed[0]
    notes.append(f"{name} resolves to {', '.join(answers)} (in this order)")
    styles = name_binds(answers)
    said = "; ".join(
        f"{NAME_BIND_STYLES[key]}: {', '.join(addrs) or 'nothing (no IPv4 answer)'}" for key, addrs in styles.items()
    )
    notes.append(
        f"A server given the name {name!r} resolves it itself, and servers differ: {said}. "
        f"The rows below are for a server bound to {first[0]}."
    )
    others = [a for a, p in zip(answers, parsed, strict=True) if p != first]
    if others:
        verb = "resolves first to" if parsed[0] != first else "also resolves to"
        warnings.append(
            f"{name} {verb} {', '.join(others)}: a server bound to {first[0]} alone refuses a client that tries "
            f"{others[0]} unless the client falls back (Node 17+ does not), and a server bound to {others[0]} "
            f"alone refuses one that tries {first[0]}. Bind both, or type the address instead of {name}."
        )
    return [first], answers


def _cannot_bind(view: NetView, ip: IPAddress, zone: str | None) -> str | None:
    env = view.env
    if ip.version == 6 and env.ipv6_disabled:
        return "IPv6 is disabled on this machine"
    if ip.is_unspecified:
        return None
    if ip.is_multicast:
        return f"{ip} is a multicast group: a TCP server cannot listen on it"
    if ip.version == 6 and ip.is_link_local and not zone:
        owners = [a.iface.name for a in view.addrs if a.ip == ip]
        hint = f" (write {ip}%{owners[0]})" if owners else ""
        return f"{ip} is link-local: binding it needs the interface as a zone{hint}"
    if view.is_local(unmapped(ip), zone):
        return None
    nonlocal_ok = env.ipv4_nonlocal_bind if unmapped(ip).version == 4 else env.ipv6_nonlocal_bind
    if nonlocal_ok:
        return None
    where = f" on {zone}" if zone else ""
    return f"{ip} is not an address of this machine{where}: bind() fails with EADDRNOTAVAIL"


def _summarise(view: NetView, paths: list[Path]) -> tuple[Reach, str]:
    groups: dict[Reach, list[Path]] = {}
    for p in paths:
        if p.connects:
            groups.setdefault(Reach.from_label(p.audience), []).append(p)
    if not groups:
        return Reach.NOBODY, "nobody: no address of this machine leads to it"
    reach = max(groups)
    if reach == Reach.THIS_MACHINE:
        addrs = ", ".join(p.address for p in groups[reach])
        return reach, f"only this machine (through {addrs})"
    parts = []
    for level in sorted(groups, reverse=True):
        items = groups[level]
        if level == Reach.THIS_MACHINE:
            parts.append("this machine")
            continue
        by_iface: dict[str, list[str]] = {}
        for p in items:
            by_iface.setdefault(p.interface, []).append(p.address)
        phrase = AUDIENCE_PHRASES[level]
        if level == Reach.HOST_ONLY and view.env.wsl == "wsl2" and view.env.wsl_networking == "nat":
            phrase = "the Windows host (WSL2 NAT: not the LAN)"
        vias = "; ".join(f"{name} {', '.join(addrs)}" for name, addrs in by_iface.items())
        parts.append(f"{phrase} via {vias}")
    return reach, " + ".join(parts)


def _notes_for_bind(
    view: NetView,
    binds: list,
    v6only_eff: bool,
    dual_default: bool,
    v6only_opt: bool | None,
    target: Target,
    notes: list[str],
    warnings: list[str],
) -> None:
    ip, _zone = binds[0]
    env = view.env
    if target.kind == "any":
        notes.append(
            "'*' binds one IPv4 socket (0.0.0.0) and one IPv6 socket (:: with IPV6_V6ONLY=1): every address "
            "of both families."
        )
    elif ip.version == 6 and ip.is_unspecified:
        if v6only_opt is None:
            if env.platform == "linux" and env.bindv6only in (0, 1):
                where = f"net.ipv6.bindv6only={env.bindv6only}"
            else:
                where = f"the {env.platform} default"
            state = "dual-stack" if dual_default else "IPv6-only"
            notes.append(
                f"'::' is {state} here ({where}): it takes "
                f"{'IPv4 clients too, as ::ffff:a.b.c.d' if dual_default else 'IPv6 clients only'}, "
                f"unless the server sets IPV6_V6ONLY={'1' if dual_default else '0'} itself."
            )
        notes.append(
            "Servers differ: http.server sets IPV6_V6ONLY=0 (dual-stack); asyncio's create_server (uvicorn, "
            "aiohttp) sets it to 1 on every IPv6 socket; Windows sockets default to 1. ss shows a dual-stack socket "
            "as *:PORT and a v6-only one as [::]:PORT. Check the real socket: bindscope port PORT."
        )
    elif ip.version == 4 and ip.is_unspecified and not env.ipv6_disabled:
        notes.append(
            "0.0.0.0 is IPv4 only: clients that connect over IPv6 (including ::1) are refused. "
            "Bind '::' for both families (dual-stack on Linux)."
        )
    if ip.is_unspecified:
        best = next(
            (
                a
                for a in view.addrs
                if not a.hidden
                and a.kind != "loopback"
                and a.ip.version == (4 if ip.version == 4 or not v6only_eff else 6)
            ),
            None,
        )
        port = target.port or "PORT"
        there = f"; from another device: {hostport(best.ip, None)}:{port}" if best else ""
        here = "[::1]" if ip.version == 6 and v6only_eff else "127.0.0.1"
        notes.append(f"{ip} is an address to bind, not to type: in a browser here use {here}:{port}{there}.")
        warnings.append(
            "Every device that can route to this machine can connect. Never bind a debug server "
            "(Werkzeug debugger, flask --debug, runserver_plus) or a database this way."
        )
    if env.container:
        notes.append(
            f"This may be a {env.container} container (its marker files are present). If it is, other devices "
            "reach it only through a published port (docker run -p), and binding 0.0.0.0 inside it is right."
        )
    if env.wsl == "wsl2" and env.wsl_networking == "nat":
        notes.append(
            "WSL2 with NAT networking: only Windows reaches this guest's addresses. For the LAN use "
            "mirrored networking (.wslconfig networkingMode=mirrored) or a netsh portproxy."
        )
    for a in view.addrs:
        if (
            not a.hidden
            and a.kind in KIND_LABELS
            and a.kind != "loopback"
            and a.scope == Scope.PUBLIC
            and any(accepts(b, z, v6only_eff, a.ip, a.zone) is None for b, z in binds)
        ):
            warnings.append(
                f"{a.text} on {a.iface.name} is a public address: the internet can reach this bind "
                "unless a firewall stops it."
            )
            break
