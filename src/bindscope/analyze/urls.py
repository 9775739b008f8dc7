"""`urls`: the addresses a person types to reach a server on PORT, best first (pure)."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import Any

from ..addr import url
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


@dataclass
class UrlReport:
    port: int
    status: str  # ok | loopback-only | nothing-listening | no-network-address
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


def lan_urls(snap: Snapshot, port: int, *, scheme: str = "http", show_all: bool = False) -> UrlReport:
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

    def taken(ip: Any, zone: str | None) -> bool:
        return any(accepts(h.ip, _zone(h.address), _v6only(view, h.v6only), ip, zone) is None for h in held)

    local: list[Url] = []
    network: list[Url] = []
    for a in view.addrs:
        if not taken(a.ip, a.zone):
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
        )
        if a.audience == Reach.THIS_MACHINE:
            local.append(item)
        elif show_all or not a.hidden:
            network.append(item)
    warnings: list[str] = []
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
                f"localhost resolves first to {answers[0]}, where nothing listens on {port}: clients "
                f"that do not fall back (Node 17+) fail; use {local[1].url if len(local) > 1 else ok[0]}"
            )
    elif answers and local:
        warnings.append(
            f"localhost resolves to {', '.join(map(str, answers))}, none of which this server listens on: "
            f"type {local[0].url}"
        )
    if not network:
        any_net = any(a.audience > Reach.THIS_MACHINE for a in view.addrs if taken(a.ip, a.zone))
        binds = ", ".join(sorted({h.address for h in held}))
        if any_net:
            status, msg = (
                "no-network-address",
                (
                    f"Port {port} is reachable only through hidden addresses "
                    f"(link-local, virtual links); --all lists them. {doctor}"
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
    best = next((u.url for u in network if not u.hidden), network[0].url)
    return UrlReport(port, "ok", best, local, network, holders, f"Other devices can use {best}", warnings, show_all)


def _zone(address: str) -> str | None:
    return address.split("%", 1)[1] if "%" in address else None


def _v6only(view: NetView, v6only: bool | None) -> bool:
    return view.v6only_default() if v6only is None else v6only
