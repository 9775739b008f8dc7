"""`urls`: the addresses a person types to reach a server on PORT, best first (pure)."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import Any

from ..addr import hostport, url
from ..model import Reach, Snapshot
from .netview import KIND_LABELS, VIRTUAL_KINDS, NetView, accepts
from .ports import Holder, holders_of


@dataclass(frozen=True)
class Url:
    url: str
    address: str
    interface: str
    kind: str
    label: str
    audience: str
    primary: bool  # on the interface that carries the default route
    virtual: bool
    hidden: bool
    hidden_why: str | None
    blocked_by: str | None = None  # a firewall blocks it
    not_checked: str | None = None  # a firewall rule bindscope does not understand decides


@dataclass
class UrlReport:
    port: int
    status: str  # ok | host-only | loopback-only | nothing-listening | no-network-address
    best: str | None
    local: list[Url]
    network: list[Url]
    listeners: list[Holder]
    message: str
    warnings: list[str] = field(default_factory=list)
    shown_all: bool = False

    @property
    def exit_code(self) -> int:
        return 0 if self.status == "ok" else 1

    def to_dict(self) -> dict[str, Any]:
        return {"command": "urls", **asdict(self)}


def lan_urls(
    snap: Snapshot, port: int, *, scheme: str = "http", show_all: bool = False, blocker: Any = None
) -> UrlReport:
    view = NetView(snap)
    held = holders_of(snap, port, "tcp")
    holders = [Holder.of(h) for h in held]
    doctor = f"bindscope doctor {port}"
    if not held:
        return UrlReport(
            port,
            "nothing-listening",
            None,
            [],
            [],
            holders,
            f"Nothing is listening on TCP port {port} on this machine. Start the server, or see why with: {doctor}",
        )

    unknown_v6only = [h for h in held if h.family == "ipv6" and h.ip.is_unspecified and h.v6only is None]

    def taken(ip: Any, zone: str | None) -> bool:
        # An unknown IPV6_V6ONLY (non-Linux collectors) counts as dual-stack, as `port` does:
        # better to list a URL with a warning than to hide the one that works.
        return any(accepts(h.ip, _zone(h.address), bool(h.v6only), ip, zone) is None for h in held)

    def firewall(a: Any) -> tuple[str | None, str | None]:
        if blocker is None or a.audience <= Reach.THIS_MACHINE:
            return None, None
        holder = next(h for h in held if accepts(h.ip, _zone(h.address), bool(h.v6only), a.ip, a.zone) is None)
        found = blocker(holder, a)
        if found is None:
            return None, None
        if found.verdict == "blocked":
            return found.text, None
        return None, (found.text if found.verdict == "unknown" else None)

    local: list[Url] = []
    network: list[Url] = []
    for a in view.addrs:
        if not taken(a.ip, a.zone) or (a.hidden and not show_all):
            continue
        item = Url(
            url(a.ip, port, scheme, a.zone),
            a.text,
            a.iface.name,
            a.kind,
            KIND_LABELS.get(a.kind, a.kind),
            a.audience.label,
            a.default_route,
            a.kind in VIRTUAL_KINDS,
            a.hidden,
            a.hidden_why,
            *firewall(a),
        )
        (local if a.audience == Reach.THIS_MACHINE else network).append(item)
    warnings: list[str] = []
    if unknown_v6only and any(u.address.count(".") == 3 for u in local + network):
        warnings.append(
            f"IPV6_V6ONLY of the socket on [::]:{port} is not known on {view.env.platform}: its IPv4 "
            "URLs work only if the server made it dual-stack (http.server does)"
        )
    answers = [ipaddress.ip_address(x.split("%")[0]) for x in snap.resolver.get("localhost", ())]
    ok = [ip for ip in answers if taken(ip, None)]
    if ok:
        local.insert(
            0,
            Url(
                url("localhost", port, scheme),
                "localhost",
                "lo",
                "loopback",
                "loopback",
                "this-machine",
                False,
                False,
                False,
                None,
            ),
        )
        if answers[0] not in ok:
            warnings.append(
                f"localhost resolves first to {answers[0]}, where nothing listens on port {port}: "
                f"clients that do not fall back to {ok[0]} (Node 17+) fail; type "
                f"{url(ok[0], port, scheme)}"
            )
    elif answers and local:
        said = ", ".join(map(str, answers))
        warnings.append(f"localhost resolves to {said} only, where this server does not listen: type {local[0].url}")

    blocked = [u for u in network if not u.hidden and u.blocked_by]
    usable = [u for u in network if not u.hidden and not u.blocked_by]
    beyond = [u for u in usable if Reach.from_label(u.audience) >= Reach.VPN]
    unsure = [u for u in beyond if u.not_checked]
    if beyond and len(unsure) == len(beyond):
        warnings.append(f"{unsure[0].url}: {unsure[0].not_checked}; whether the firewall lets it through is not known")
    beyond = [u for u in beyond if not u.not_checked] or beyond
    if blocked and not beyond:
        return UrlReport(
            port,
            "firewall-blocked",
            None,
            local,
            network,
            holders,
            f"Port {port} listens on its network addresses, but the firewall blocks them: "
            f"{blocked[0].url}: blocked by {blocked[0].blocked_by}. {doctor}",
            warnings,
            show_all,
        )
    binds = ", ".join(sorted({hostport(h.address, None) for h in held}))
    if beyond:
        best = beyond[0].url
        return UrlReport(port, "ok", best, local, network, holders, f"Other devices can use {best}", warnings, show_all)
    if usable:
        wsl_nat = view.env.wsl == "wsl2" and view.env.wsl_networking == "nat"
        where = "the Windows host only (WSL2 NAT)" if wsl_nat else "containers and VMs on this host"
        return UrlReport(
            port,
            "host-only",
            usable[0].url,
            local,
            network,
            holders,
            f"Port {port} is reachable from {where}, not from other devices on your network. {doctor}",
            warnings,
            show_all,
        )
    hidden_ok = any(taken(a.ip, a.zone) for a in view.addrs if a.hidden and a.audience > Reach.THIS_MACHINE)
    if hidden_ok:
        status, msg = (
            "no-network-address",
            (
                f"Port {port} listens on {binds}, reachable only through addresses a "
                f"browser cannot use (link-local, down, virtual links). {doctor}"
            ),
        )
    elif local:
        status, msg = (
            "loopback-only",
            (
                f"Port {port} listens on {binds} only: this machine can connect, other "
                f"devices cannot. See why and how to change it: {doctor}"
            ),
        )
    else:
        status, msg = "no-network-address", f"Port {port} listens on {binds}, which no usable address leads to."
    return UrlReport(port, status, None, local, network, holders, msg, warnings, show_all)


def _zone(address: str) -> str | None:
    return address.split("%", 1)[1] if "%" in address else None
