"""The machine as analysis sees it: classified interfaces, who each address reaches, and the
kernel's rules for which socket accepts a connection to which address. Pure functions of a
Snapshot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from ..addr import IPAddress, Scope, scope_of, unmapped
from ..model import Environment, IfAddr, Interface, Reach, Snapshot

# Interface kinds, with the label a person reads. Order = how URLs are listed after the
# default-route interface: real networks first, virtual adapters after.
KIND_LABELS = {
    "wifi": "Wi-Fi",
    "ethernet": "Ethernet",
    "other": "network",
    "tailscale": "Tailscale (tailnet)",
    "vpn": "VPN / tunnel",
    "wsl": "WSL virtual switch",
    "vm": "VM host-only adapter",
    "docker": "Docker bridge",
    "bridge": "virtual bridge",
    "veth": "container veth",
    "loopback": "loopback",
}
KIND_ORDER = {kind: i for i, kind in enumerate(KIND_LABELS)}
VIRTUAL_KINDS = frozenset({"tailscale", "vpn", "wsl", "vm", "docker", "bridge", "veth"})
HIDDEN_KINDS = frozenset({"veth"})  # listed only with --all

_NAME_RULES: tuple[tuple[str, str], ...] = (
    (r"^(lo\d*|loopback\d*)$|^loopback pseudo", "loopback"),
    (r"^tailscale|^utun.*tailscale", "tailscale"),
    (r"^(wg|tun|tap|ppp|ipsec|utun|zt|nordlynx|proton|gpd|cscotun)|wireguard|openvpn|tap-windows|vpn", "vpn"),
    (r"^docker\d*$|^br-[0-9a-f]{12}$", "docker"),
    (r"^veth(?!ernet)|^cali|^lxc[0-9a-f]{5}", "veth"),
    (r"^vethernet \(wsl", "wsl"),
    (r"^(vboxnet|vmnet|vnet)\d*|virtualbox|vmware|^vethernet|hyper-v|^bridge\d+$|^utm", "vm"),
    (r"^(virbr|lxcbr|lxdbr|cni|podman|flannel|kube-bridge|incusbr|br\d*$)", "bridge"),
    (r"^(wlan|wlp|wlx|wifi|ath|ra\d)|wi-?fi|wireless|802\.11|airport", "wifi"),
    (r"^(eth|en|em|eno|ens|enp|enx|bond|team)|ethernet", "ethernet"),
)


def classify(iface: Interface) -> str:
    """Kind of an interface from sysfs facts first, then its name (or adapter description)."""
    hw = iface.hw
    if hw.get("type") == 772:
        return "loopback"
    if hw.get("wireless") or hw.get("devtype") == "wlan":
        return "wifi"
    if hw.get("devtype") == "wireguard" or hw.get("tun"):
        return "tailscale" if iface.name.startswith("tailscale") else "vpn"
    names = [iface.name.lower(), (iface.description or "").lower()]
    for pattern, kind in _NAME_RULES:
        if any(n and re.search(pattern, n) for n in names):
            if kind == "ethernet" and hw.get("bridge"):
                return "bridge"
            return kind
    if hw.get("bridge"):
        return "bridge"
    if hw.get("type") == 65534:  # ARPHRD_NONE: layer-3 tunnels
        return "vpn"
    return "other"


@dataclass(frozen=True)
class Addr:
    """One address of this machine, with everything analysis needs about it."""

    iface: Interface
    kind: str
    ifaddr: IfAddr
    ip: IPAddress
    zone: str | None
    scope: Scope
    audience: Reach
    default_route: bool  # on the interface that carries the default route of its family
    hidden: bool  # hidden from URL lists unless --all: link-local, veth, down, tentative
    hidden_why: str | None

    @property
    def text(self) -> str:
        return f"{self.ip}%{self.zone}" if self.zone else str(self.ip)

    @property
    def family(self) -> str:
        return "ipv4" if self.ip.version == 4 else "ipv6"


class NetView:
    """Derived, read-only view of a Snapshot's network facts."""

    def __init__(self, snap: Snapshot):
        self.snap = snap
        self.env: Environment = snap.environment

    @cached_property
    def default_ifaces(self) -> dict[str, str]:
        """family -> interface carrying the default route (lowest metric)."""
        best: dict[str, tuple[int, str]] = {}
        for r in self.snap.routes:
            if r.is_default and (r.family not in best or r.metric < best[r.family][0]):
                best[r.family] = (r.metric, r.interface)
        return {fam: name for fam, (_m, name) in best.items()}

    @cached_property
    def kinds(self) -> dict[str, str]:
        return {i.name: classify(i) for i in self.snap.interfaces}

    @cached_property
    def addrs(self) -> list[Addr]:
        """Every address of this machine, best first: default-route interface, real
        networks, virtual adapters, loopback last."""
        out = []
        defaults = set(self.default_ifaces.values())
        for iface in self.snap.interfaces:
            kind = self.kinds[iface.name]
            for a in iface.addresses:
                ip = a.ip
                zone = a.address.split("%", 1)[1] if "%" in a.address else None
                if ip.version == 6 and ip.is_link_local and not zone:
                    zone = iface.name
                is_default = self.default_ifaces.get("ipv4" if ip.version == 4 else "ipv6") == iface.name
                hidden_why = _hidden_why(iface, kind, a, ip)
                out.append(
                    Addr(
                        iface,
                        kind,
                        a,
                        ip,
                        zone,
                        scope_of(ip),
                        self._audience(kind, ip, iface.name in defaults),
                        is_default,
                        hidden_why is not None,
                        hidden_why,
                    )
                )
        out.sort(key=self._rank)
        return out

    def _rank(self, a: Addr) -> tuple:
        return (
            a.kind == "loopback",
            a.hidden,
            a.iface.name not in self.default_ifaces.values(),
            KIND_ORDER.get(a.kind, 99),
            a.iface.name,
            a.ip.version,  # IPv4 first: what a person types most easily
            a.scope == Scope.LINK_LOCAL,
            "temporary" in a.ifaddr.flags,
            int(a.ip),
        )

    def _audience(self, kind: str, ip: IPAddress, on_default_iface: bool) -> Reach:
        scope = scope_of(ip)
        if scope == Scope.LOOPBACK or kind == "loopback":
            return Reach.THIS_MACHINE
        if self.env.wsl == "wsl2" and self.env.wsl_networking == "nat":
            return Reach.HOST_ONLY  # the Windows host; the LAN needs a portproxy
        if kind in ("tailscale", "vpn") or (scope == Scope.CGNAT and not on_default_iface):
            return Reach.VPN
        if kind in ("docker", "bridge", "veth", "vm", "wsl") and not on_default_iface:
            return Reach.HOST_ONLY
        if scope == Scope.PUBLIC:
            return Reach.INTERNET
        return Reach.LAN

    def interface(self, name: str) -> Interface | None:
        for iface in self.snap.interfaces:
            if iface.name == name:
                return iface
        return None

    def v6only_default(self) -> bool:
        """IPV6_V6ONLY of a new socket when the server does not set it."""
        if self.env.bindv6only is not None:
            return bool(self.env.bindv6only)
        return self.env.platform == "windows"

    def is_local(self, ip: IPAddress, zone: str | None = None) -> bool:
        """Can a socket bind this address here? (wildcards excluded: always bindable)"""
        for a in self.addrs:
            if a.ip == ip and (not zone or not a.zone or a.zone == zone):
                return True
        # Linux puts the whole prefix of a loopback address in the local table (127/8).
        if self.env.platform == "linux" and ip.version == 4:
            for iface in self.snap.interfaces:
                if self.kinds[iface.name] == "loopback":
                    for a in iface.addresses:
                        if a.ip.version == 4 and ip in a.network:
                            return True
        return False


def _hidden_why(iface: Interface, kind: str, a: IfAddr, ip: IPAddress) -> str | None:
    if not iface.up:
        return "interface is down"
    if kind in HIDDEN_KINDS:
        return "container-side virtual link"
    if {"tentative", "dadfailed"} & set(a.flags):
        return "address not usable yet (duplicate address detection)"
    if "deprecated" in a.flags:
        return "deprecated address"
    if ip.is_link_local:
        return "link-local: needs a %zone, browsers cannot use it"
    return None


# -- which socket takes a connection to which address (Linux/BSD semantics) -----------------
def accepts(bind: IPAddress, bind_zone: str | None, v6only: bool, dest: IPAddress, dest_zone: str | None) -> str | None:
    """None when a socket bound to `bind` takes a connection to `dest` on the same port;
    otherwise the reason it does not, in words a person reads."""
    if bind.version == 4:
        if dest.version == 6:
            return f"an IPv4 socket ({bind}) does not take IPv6 clients"
        if bind.is_unspecified or bind == dest:
            return None
        return f"bound to {bind} only"
    # IPv6 socket
    if dest.version == 4:
        if v6only:
            return "IPV6_V6ONLY is set: this IPv6 socket does not take IPv4 clients"
        if bind.is_unspecified or unmapped(bind) == dest:
            return None
        return f"an IPv6 socket bound to {bind} does not take IPv4 clients"
    if bind.is_unspecified:
        return None
    if bind == dest:
        if bind_zone and dest_zone and bind_zone != dest_zone:
            return f"bound to {bind} on {bind_zone}, not {dest_zone}"
        return None
    return f"bound to {bind} only"


def addresses_for(view: NetView, binds: list) -> list[Addr]:
    """Every address of this machine, plus a bound 127.x address that lo covers by prefix."""
    addrs = list(view.addrs)
    known = {a.ip for a in addrs}
    for ip, _z in binds:
        if ip.version == 4 and ip not in known and not ip.is_unspecified and scope_of(ip) == Scope.LOOPBACK:
            for a in addrs:
                if a.kind == "loopback" and a.ip.version == 4 and ip in a.ifaddr.network:
                    addrs.insert(
                        addrs.index(a) + 1,
                        Addr(
                            a.iface,
                            a.kind,
                            a.ifaddr,
                            ip,
                            None,
                            a.scope,
                            a.audience,
                            a.default_route,
                            a.hidden,
                            a.hidden_why,
                        ),
                    )
                    break
    return addrs
