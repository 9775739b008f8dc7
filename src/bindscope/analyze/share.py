"""`share`: what would be shared, where, and with whom (pure: a function of a Snapshot).

- the server: the listener on PORT, which must be loopback-only (a server already reachable
  beyond this machine needs no relay: `bindscope urls PORT` gives its URL);
- the upstream: the loopback address it takes connections on (127.0.0.1 before ::1);
- where to listen: the address of the interface carrying the default route (not every interface),
  on the same port number unless `--listen` says otherwise;
- who may connect: the subnets of this machine's LAN interfaces, or `--allow CIDR ...`;
- refused without `--i-know`: a datastore or a debug server (knowledge/servers.py says which).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from ..addr import IPAddress, hostport, parse_port, url
from ..errors import BindscopeError, ShareRefused
from ..knowledge.servers import DATASTORE, NOTEBOOK, WEB
from ..model import Reach, Snapshot
from .listing import listing
from .netview import NetView, accepts

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_MINUTES = 60
MAX_SECONDS = 24 * 3600
TOKEN_PARAM = "bindscope_token"
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=-]+)(:\d{1,5})?$")


@dataclass(frozen=True)
class SharePlan:
    port: int  # the server's port
    upstream: str  # the loopback address the relay connects to
    mode: str  # "tcp" | "http"
    mode_why: str
    listen_address: str
    listen_port: int
    interface: str | None  # where listen_address lives (None: a wildcard --listen)
    allowed: tuple[str, ...]  # CIDRs; empty with allow_any
    allow_any: bool
    seconds: int  # how long the share lasts
    host_header: str | None
    server: str | None  # detected framework id
    server_label: str | None
    pids: tuple[int, ...] = ()
    process: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def networks(self) -> tuple[Network, ...] | None:
        """The allowed subnets as objects; None for any client."""
        if self.allow_any:
            return None
        return tuple(ipaddress.ip_network(a) for a in self.allowed)

    def url(self, token: str | None = None, port: int | None = None) -> str:
        """The URL to open on the other device (with the token in --http mode)."""
        base = url(self.listen_address, port or self.listen_port)
        if self.mode == "http" and token:
            return f"{base}?{TOKEN_PARAM}={token}"
        return base if self.mode == "http" else hostport(self.listen_address, port or self.listen_port)

    exit_code = 0

    @property
    def upstream_target(self) -> str:
        return hostport(self.upstream, self.port)

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": "share",
            "port": self.port,
            "upstream": self.upstream_target,
            "mode": self.mode,
            "mode_why": self.mode_why,
            "listen": hostport(self.listen_address, self.listen_port),
            "interface": self.interface,
            "allowed": ["any"] if self.allow_any else list(self.allowed),
            "seconds": self.seconds,
            "host_header": self.host_header,
            "server": self.server,
            "server_label": self.server_label,
            "pids": list(self.pids),
            "process": self.process,
            "notes": list(self.notes),
        }


def parse_duration(text: str | int | float) -> int:
    """`15m`, `1h`, `90s`, `1h30m` -> seconds (at most 24 h)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = int(text)
    else:
        raw = str(text).strip().lower()
        m = _DURATION.match(raw)
        if not raw or m is None or not any(m.groups()):
            raise BindscopeError(f"--for {text!r}: expected a duration such as 15m, 1h, 90s or 1h30m")
        h, mi, s = (int(g or 0) for g in m.groups())
        seconds = h * 3600 + mi * 60 + s
    if seconds <= 0:
        raise BindscopeError(f"--for {text!r}: the duration must be more than zero")
    if seconds > MAX_SECONDS:
        raise BindscopeError(f"--for {text!r}: at most 24h (start it again to share longer)")
    return seconds


def parse_allow(items: list[str] | tuple[str, ...], i_mean_any: bool) -> tuple[tuple[Network, ...], bool]:
    """--allow values -> (networks, any). 'any' needs i_mean_any."""
    nets: list[Network] = []
    any_ = False
    for item in items:
        text = item.strip()
        if text.lower() == "any":
            if not i_mean_any:
                raise BindscopeError(
                    "--allow any lets every address that can route here connect: add --i-mean-any to confirm"
                )
            any_ = True
            continue
        try:
            nets.append(ipaddress.ip_network(text.split("%", 1)[0], strict=False))
        except ValueError:
            raise BindscopeError(f"--allow {item!r}: not a subnet (CIDR such as 192.168.1.0/24) or address") from None
    if any_ and nets:
        raise BindscopeError("--allow any does not go with subnets: give one or the other")
    if i_mean_any and not any_:
        raise BindscopeError("--i-mean-any confirms --allow any, which was not given")
    return tuple(nets), any_


def parse_listen(text: str, default_port: int) -> tuple[str, int]:
    """--listen ADDR[:PORT] / [V6ADDR][:PORT] / :PORT -> (address or '', port)."""
    raw = text.strip()
    addr, port = raw, None
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise BindscopeError(f"--listen {text!r}: missing ']'")
        addr, rest = raw[1:end], raw[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise BindscopeError(f"--listen {text!r}: expected [ADDR]:PORT")
            port = rest[1:]
    elif raw.count(":") == 1:
        addr, port = raw.split(":")
    if addr:
        try:
            addr = str(ipaddress.ip_address(addr))
        except ValueError:
            raise BindscopeError(f"--listen {text!r}: expected an IP address of this machine, then :PORT") from None
    number = default_port if port is None else parse_port(port, what="--listen port")
    return addr, number


def check_host_header(text: str | None) -> str | None:
    if text is None:
        return None
    if not _HOST.match(text.strip()):
        raise BindscopeError(f"--host-header {text!r}: expected HOST or HOST:PORT")
    return text.strip()


def plan_share(
    snap: Snapshot,
    port: int,
    *,
    mode: str | None = None,
    allow: list[str] | tuple[str, ...] = (),
    i_mean_any: bool = False,
    duration: str | int = f"{DEFAULT_MINUTES}m",
    listen: str | None = None,
    host_header: str | None = None,
    i_know: bool = False,
) -> SharePlan:
    if mode not in (None, "tcp", "http"):
        raise BindscopeError(f"mode must be tcp or http, not {mode!r}")
    seconds = parse_duration(duration)
    nets, allow_any = parse_allow(list(allow), i_mean_any)
    header = check_host_header(host_header)
    listen_addr, listen_port = parse_listen(listen, port) if listen else ("", port)

    view = NetView(snap)
    if listen_addr:
        wanted = ipaddress.ip_address(listen_addr)
        if not wanted.is_unspecified and not view.is_local(wanted):
            raise BindscopeError(f"--listen {listen}: {listen_addr} is not an address of this machine")

    found = listing(snap, port=port).entries
    if not found:
        raise ShareRefused(
            f"nothing listens on TCP port {port}: start the server first ('bindscope ls' shows what listens)"
        )
    wide = [e for e in found if e.reach > Reach.THIS_MACHINE]
    if wide:
        e = wide[0]
        where = e.urls[0] if e.urls else e.local
        raise ShareRefused(
            f"port {port} ({e.local}) is already reachable beyond this machine ({e.reach.label}): no relay "
            f"needed, other devices can use {where}; see 'bindscope ls --port {port}' and 'bindscope urls {port}'"
        )
    upstream = _upstream(view, found)
    if upstream is None:
        binds = ", ".join(e.local for e in found)
        raise ShareRefused(f"port {port} listens on {binds}, which no loopback address of this machine reaches")
    entry = next((e for e in found if e.detected), found[0])
    det = entry.detected
    notes: list[str] = []
    if det is not None and (det.category == DATASTORE or det.debug):
        what = (
            f"{det.server.label}, a datastore: every allowed device could read and change its data"
            if det.category == DATASTORE
            else f"a debug server ({det.debug})"
        )
        if not i_know:
            raise ShareRefused(f"port {port} is {what}; add --i-know to share it anyway")
        notes.append(f"shared with --i-know: {what}")
    if det is not None and det.category == NOTEBOOK:
        notes.append(f"{det.server.label}: whoever gets in runs code as {entry.listener.user or 'its user'}")

    if mode is None:
        if det is not None and det.category in (WEB, NOTEBOOK):
            mode, why = "http", f"{det.server.label} speaks HTTP; --tcp for a plain byte relay"
        elif det is None:
            mode, why = "tcp", "server not recognised as HTTP: a byte relay (--http to require a token)"
        else:
            mode, why = "tcp", f"{det.server.label} is not an HTTP server: a byte relay"
    else:
        why = f"--{mode}"
        if mode == "http" and det is not None and det.category == DATASTORE:
            raise BindscopeError(f"--http: {det.server.label} does not speak HTTP (use --tcp)")

    iface: str | None
    if listen_addr:
        ip = ipaddress.ip_address(listen_addr)
        iface = next((a.iface.name for a in view.addrs if a.ip == ip), None)
    else:
        picked = _listen_address(view)
        if picked is None:
            raise ShareRefused(
                "no network address to share on: this machine has no address other devices use "
                "(no default route, no LAN interface up)"
            )
        listen_addr, iface = picked
    if not allow_any and not nets:
        nets = _lan_networks(view, listen_addr)
        if not nets:
            raise ShareRefused("no LAN subnet found to allow: give --allow CIDR")
        notes.append("allowed: the subnets of this machine's LAN interfaces (--allow to change)")
    return SharePlan(
        port=port,
        upstream=str(upstream),
        mode=mode,
        mode_why=why,
        listen_address=listen_addr,
        listen_port=listen_port,
        interface=iface,
        allowed=tuple(str(n) for n in nets),
        allow_any=allow_any,
        seconds=seconds,
        host_header=header,
        server=det.id if det else None,
        server_label=det.server.label if det else None,
        pids=entry.listener.pids,
        process=entry.listener.process,
        notes=tuple(notes),
    )


def _upstream(view: NetView, entries: list[Any]) -> IPAddress | None:
    """The loopback address that reaches the server: 127.0.0.1 first, then ::1, then the bound one."""
    loop4, loop6 = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")
    for want in (loop4, loop6):
        for e in entries:
            item = e.listener
            v6only = item.v6only if item.v6only is not None else view.v6only_default()
            if accepts(item.ip, None, v6only, want, None) is None:
                return want
    for e in entries:
        if e.listener.ip.is_loopback:
            return e.listener.ip
    return None


def _listen_address(view: NetView) -> tuple[str, str] | None:
    """The default-route interface's address (IPv4 first); else the first LAN address."""
    usable = [a for a in view.addrs if not a.hidden and a.kind != "loopback" and a.audience >= Reach.LAN]
    for a in usable:
        if a.default_route:
            return a.text, a.iface.name
    return (usable[0].text, usable[0].iface.name) if usable else None


def _lan_networks(view: NetView, listen_addr: str) -> tuple[Network, ...]:
    """The prefixes of the LAN addresses (not loopback, VPN, container bridges or link-local), and
    the listen address's own prefix."""
    nets: list[Network] = []
    ip = ipaddress.ip_address(listen_addr.split("%", 1)[0])
    for a in view.addrs:
        mine = a.ip == ip
        if not mine and (a.hidden or a.audience < Reach.LAN or a.ip.is_link_local):
            continue
        if a.kind == "loopback":
            continue
        net = a.ifaddr.network
        if net not in nets:
            nets.append(net)
    return tuple(nets)
