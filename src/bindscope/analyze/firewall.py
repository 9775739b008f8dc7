"""Firewalls, containers and WSL: what sits between a listening socket and the network (pure).

Reads the `FirewallState` collect/firewall.py recorded (command output kept verbatim) and
answers, per path of `ls` (one address of this machine): does a new connection from the
interface's own subnet, and from anywhere else, get through? See fwrules.py for the rule
evaluator and docs/firewall.md for what is evaluated and what "unknown" means.

For doctor: `open_port_commands`, `exposure_warning` and `environment_findings`.
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..model import Finding, FirewallState, Interface, Listener, Reach, Snapshot
from . import fwrules
from .fwrules import Chain, Outcome, Packet, Rule, Ruleset, SourceVerdict

DOCS = "docs/firewall.md"


# -- reading the recorded state into one ruleset ---------------------------------------------
def ruleset(state: FirewallState) -> Ruleset:
    """Every Linux rule of the state as one Ruleset (nft tables that iptables-nft manages are
    read from iptables-nft-save instead, where it was recorded)."""
    rs = Ruleset()
    nft = state.text("nft")
    ipt_names = [s.name for s in state.sources if "tables" in s.name and s.name.endswith(("-save", "")) and s.text]
    has_ipt_nft = any(n in ("iptables-nft", "ip6tables-nft") for n in ipt_names)
    if nft is not None:
        skip: set[tuple[str, str]] = set()
        if has_ipt_nft:
            import json

            try:
                skip = fwrules.iptables_nft_tables(json.loads(nft) if nft.strip() else {})
            except ValueError:
                skip = set()
        fwrules.parse_nft(nft, rs, skip)
    for src in state.sources:
        if src.name in (
            "iptables-nft",
            "ip6tables-nft",
            "iptables-legacy",
            "ip6tables-legacy",
            "iptables",
            "ip6tables",
        ):
            if src.name in ("iptables", "ip6tables") and nft is not None and "(nf_tables)" in src.text:
                continue  # the same rules are in the nft ruleset (and would be read twice)
            fwrules.parse_iptables_save(src.text, src.name, rs)
    return rs


def _ufw_origins(rs: Ruleset) -> set[str]:
    return {c.origin for c in rs.chains.values() if c.name.startswith("ufw-")}


def parse_ufw_status(text: str) -> dict[str, Any]:
    """`ufw status verbose`: {"active": bool, "default": {"incoming": "deny", ...}, "rules": [...]}."""
    out: dict[str, Any] = {"active": None, "default": {}, "rules": []}
    in_rules = False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("Status:"):
            out["active"] = s.split(":", 1)[1].strip() == "active"
        elif s.startswith("Default:"):
            for part in s.split(":", 1)[1].split(","):
                m = re.match(r"\s*(\w+)\s*\((\w+)\)", part)
                if m:
                    out["default"][m.group(2)] = m.group(1)
        elif s.startswith("--"):
            in_rules = True
        elif in_rules and s:
            cols = re.split(r"\s{2,}", s)
            if len(cols) >= 3:
                out["rules"].append({"to": cols[0], "action": cols[1], "from": cols[2]})
    return out


def parse_firewalld_zones(sources: Iterable[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """firewalld zone XML files ((file name, text) pairs): zone -> interfaces, sources, services,
    ports, target. Files under /etc override those under /usr/lib (pass them last)."""
    zones: dict[str, dict[str, Any]] = {}
    for name, text in sources:
        import xml.etree.ElementTree as ET

        zone = name.rsplit("/", 1)[-1].removesuffix(".xml")
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            continue
        zones[zone] = {
            "target": root.get("target", "default"),
            "interfaces": [e.get("name") for e in root.findall("interface")],
            "sources": [e.get("address") for e in root.findall("source") if e.get("address")],
            "services": [e.get("name") for e in root.findall("service")],
            "ports": [f"{e.get('port')}/{e.get('protocol')}" for e in root.findall("port")],
        }
    return zones


def firewalld_default_zone(state: FirewallState) -> str | None:
    text = state.text("firewalld-conf") or ""
    m = re.search(r"^\s*DefaultZone\s*=\s*(\S+)", text, re.M)
    return m.group(1) if m else None


# -- macOS and Windows ------------------------------------------------------------------------
def parse_socketfilterfw_state(text: str) -> bool | None:
    """`socketfilterfw --getglobalstate`: 'Firewall is enabled. (State = 1)'."""
    m = re.search(r"State\s*=\s*(\d)", text)
    if m:
        return m.group(1) != "0"
    low = text.lower()
    if "enabled" in low:
        return True
    if "disabled" in low:
        return False
    return None


def parse_socketfilterfw_blockall(text: str) -> bool | None:
    """`socketfilterfw --getblockall`: 'Block all INCOMING connections is enabled!' / 'Firewall is set
    to block all non-essential incoming connections' vs 'Block all DISABLED!'."""
    low = text.lower()
    if not low.strip():
        return None
    if "disabled" in low:
        return False
    return "block all" in low or "enabled" in low


def parse_socketfilterfw_apps(text: str) -> dict[str, bool]:
    """`socketfilterfw --listapps`: path -> incoming allowed."""
    out: dict[str, bool] = {}
    current: str | None = None
    for line in text.splitlines():
        m = re.match(r"\s*\d+\s*:\s*(.+?)\s*$", line)
        if m and not line.strip().startswith("("):
            current = m.group(1)
            continue
        m = re.search(r"\(\s*(Allow|Block) incoming connections\s*\)", line)
        if m and current:
            out[current] = m.group(1) == "Allow"
            current = None
    return out


def parse_pf_rules(text: str) -> list[str]:
    """`pfctl -sr`: the rules that can block (Apple's default anchors and scrubs cannot)."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith(("scrub", "anchor", "No ALTQ", "ALTQ", "#")) or "pf enabled" in s.lower():
            continue
        if s.startswith(("block", "pass")):
            out.append(s)
    return out


def parse_netsh_profiles(text: str) -> dict[str, dict[str, str]]:
    """`netsh advfirewall show allprofiles`: profile -> {"state": "ON", "inbound": "BlockInbound", ...}."""
    out: dict[str, dict[str, str]] = {}
    current: str | None = None
    for line in text.splitlines():
        m = re.match(r"\s*(Domain|Private|Public) Profile Settings:", line)
        if m:
            current = m.group(1).lower()
            out[current] = {}
            continue
        if current is None:
            continue
        m = re.match(r"\s*(State|Firewall Policy|InboundUserNotification)\s{2,}(.+?)\s*$", line)
        if m:
            key, value = m.group(1), m.group(2)
            if key == "State":
                out[current]["state"] = value.upper()
            elif key == "Firewall Policy":
                inbound, _, outbound = value.partition(",")
                out[current]["inbound"] = inbound.strip()
                out[current]["outbound"] = outbound.strip()
            else:
                out[current]["notify"] = value
    return out


def parse_net_connection_profile(text: str) -> list[dict[str, str]]:
    """`Get-NetConnectionProfile` (its default list format): one dict per connection."""
    out: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if cur:
                out.append(cur)
                cur = {}
            continue
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith(" "):
            cur[key.strip()] = value.strip()
    if cur:
        out.append(cur)
    return [c for c in out if "InterfaceAlias" in c or "NetworkCategory" in c]


# -- the check of one path ----------------------------------------------------------------------
@dataclass(frozen=True)
class PathCheck:
    """What the firewall does on one path: for the interface's own subnet and for elsewhere."""

    verdict: str  # open | blocked | unknown (for the path's audience)
    text: str | None  # what blocks it / why it is unknown / how it is open (DNAT)
    audience: Reach | None  # a narrower audience than the address's (open only from the LAN)
    sources: tuple[SourceVerdict, ...] = ()

    def to_dicts(self) -> tuple[dict[str, Any], ...]:
        return tuple(s.to_dict() for s in self.sources)


class Firewall:
    """The firewall of one machine, as analysis reads it (cached per packet)."""

    def __init__(self, state: FirewallState, platform: str = "linux", interfaces: Sequence[Interface] = ()):
        self.state = state
        self.platform = platform
        self.interfaces = tuple(interfaces)  # where a DNAT-ed connection goes on to (a Docker bridge)
        self.rs = ruleset(state) if platform == "linux" else Ruleset()
        self._ufw = _ufw_origins(self.rs)
        self._cache: dict[tuple, PathCheck | None] = {}
        self._ported: set[tuple] = set()  # cached checks whose texts name the port
        self._keep: list[Any] = []
        self._marks = sorted(self.rs.marks)
        self._empty = self.rs.empty
        self.ufw_status = parse_ufw_status(state.text("ufw-status") or "") if state.text("ufw-status") else None

    # which tools manage it (for the fixes)
    @property
    def managers(self) -> list[str]:
        out = []
        if self._ufw:
            out.append("ufw")
        if any(c.table == "inet firewalld" for c in self.rs.chains.values()):
            out.append("firewalld")
        if any(
            c.origin == "nft" and c.table != "inet firewalld" and c.hook == "input" for c in self.rs.chains.values()
        ):
            out.append("nft")
        if (
            any(
                c.origin.startswith(("iptables", "ip6tables"))
                and c.hook == "input"
                and (c.rules or c.policy != "accept")
                for c in self.rs.chains.values()
            )
            and not self._ufw
        ):
            out.append("iptables")
        return out

    @property
    def read(self) -> bool:
        """Were any rules read at all (False: nothing to evaluate, e.g. no permission)."""
        return bool(self.state.sources)

    def _label(self, chain: Chain, rule: Rule | None, outcome: Outcome, via: tuple[str, ...], pkt: Packet) -> str:
        kind = outcome.kind
        if chain.origin == "nft":
            if chain.table == "inet firewalld" and (rule is None or not rule.conds) and kind in ("drop", "reject"):
                zone = next(
                    (
                        m.group(1)
                        for v in reversed(via)
                        if (m := re.fullmatch(r"filter_IN_(\w+?)", v))
                        and not v.endswith(("_pre", "_log", "_deny", "_allow", "_post"))
                    ),
                    None,
                )
                where = f"zone {zone}: " if zone else ""
                return f"firewalld ({where}{pkt.proto} port {_PORT} not allowed)"
            if rule is None:
                return f"nft chain `{chain.table} {chain.name}` policy {kind}"
            return rule.label
        if chain.origin in self._ufw:
            word = "reject" if kind == "reject" else "deny"
            if rule is None or chain.name in ("ufw-skip-to-policy-input", "ufw-reject-input"):
                if rule is not None and chain.name == "ufw-skip-to-policy-input" and rule.conds:
                    return rule.label.replace(chain.origin, "ufw", 1)
                return f"ufw (default {word} incoming)"
            return "ufw rule " + rule.label.split(" rule ", 1)[1]
        if rule is None:
            return f"{chain.origin} {chain.name} policy {kind.upper()}"
        return rule.label

    def forward_packet(self, pkt: Packet, out: Outcome) -> Packet | None:
        """The connection a DNAT sends on through this machine: to the container's address and port,
        leaving by the interface whose subnet holds that address (a Docker bridge). None for a DNAT to
        this machine itself (a REDIRECT, a DNAT to one of its addresses) or a target not understood."""
        addr, port = _dnat_target(out.detail or "")
        if addr is None or addr.version != pkt.family:
            return None
        best: tuple[int, str] | None = None
        for iface in self.interfaces:
            for a in iface.addresses:
                if a.ip == addr:
                    return None  # to this machine: the input path
                if a.ip.version == addr.version and addr in a.network and (best is None or a.prefixlen > best[0]):
                    best = (a.prefixlen, iface.name)
        return replace(
            pkt,
            daddr=addr,
            dport=port or pkt.dport,
            oif=best[1] if best else None,
            orig_daddr=pkt.daddr,
            orig_dport=pkt.dport,
        )

    def branches(self, pkt: Packet) -> tuple[list[fwrules.Branch], list[tuple[fwrules.Ranges, str]]]:
        """The outcomes of a new connection from every source, and the DNATs that sent it on through
        this machine (sources, target)."""
        ev = fwrules.Evaluator(self.rs, lambda c, r, o, v: self._label(c, r, o, v, pkt))
        out = ev.run(pkt, fwrules.everything(pkt.family), lambda o: self.forward_packet(pkt, o))
        return out, ev.forwarded

    def evaluate(
        self, pkt: Packet, subnet: fwrules.Ranges, branches: list[fwrules.Branch] | None = None
    ) -> tuple[SourceVerdict, SourceVerdict]:
        everything = fwrules.everything(pkt.family)
        if branches is None:
            branches = self.branches(pkt)[0]
        nets = fwrules.ranges_text(subnet, pkt.family) if subnet else []
        here = fwrules.summarise(branches, subnet, pkt.family, ", ".join(nets) or "the subnet") if subnet else None
        elsewhere = fwrules.summarise(branches, fwrules.r_sub(everything, subnet), pkt.family, "elsewhere")
        for b in branches:  # name the DNAT that forwards an open path
            if b.outcome.kind == "dnat":
                text = f"forwarded to {b.outcome.detail} by {b.outcome.by}"
                elsewhere = _with_by(elsewhere, text)
                here = _with_by(here, text) if here else None
                break
        return (here or elsewhere), elsewhere

    def check(self, item: Listener, a: Any) -> PathCheck | None:
        """The Blocker of analyze/listing for one path (an `Addr` of netview)."""
        if a.audience <= Reach.THIS_MACHINE:
            return None
        if self.platform == "darwin":
            return self._check_macos(item)
        if self.platform == "windows":
            return self._check_windows(item, a)
        if self._empty:
            return None
        # per class of ports (see Ruleset.marks) and address (an Addr lives as long as its NetView)
        key = (item.proto, bisect_right(self._marks, item.port), id(a))
        hit = self._cache.get(key, False)
        if hit is not False:
            return _for_port(hit, item.port) if key in self._ported else hit
        pkt, subnet = _packet(item.proto, item.port, a)
        here, elsewhere = self.evaluate(pkt, subnet)
        result = _path_check(a.audience, here, elsewhere)
        self._cache[key] = result
        self._keep.append(a)  # its id is part of the key
        if any(_PORT in (sv.by or "") for sv in result.sources):
            self._ported.add(key)
            return _for_port(result, item.port)
        return result

    def published(self, proto: str, port: int, a: Any) -> dict[str, Any] | None:
        """A connection to PORT on this path that a DNAT sends on to another host (a Docker published
        port: the container), with what the forward path does to it; None when none is."""
        if self.platform != "linux" or self._empty or a.audience <= Reach.THIS_MACHINE:
            return None
        pkt, subnet = _packet(proto, port, a)
        branches, forwarded = self.branches(pkt)
        if not forwarded:
            return None
        here, elsewhere = self.evaluate(pkt, subnet, branches)
        check = _for_port(_path_check(a.audience, here, elsewhere), port)
        assert check is not None
        reachable = {"open": True, "blocked": False}.get(check.verdict)
        if check.verdict == "open":
            why = check.text
        elif check.verdict == "blocked":
            why = f"blocked by {check.text}"
        else:
            why = f"not checked: {check.text}"
        return {
            "address": a.text,
            "interface": a.iface.name,
            "audience": (check.audience or a.audience).label if reachable is not False else a.audience.label,
            "to": sorted({t for _, t in forwarded}),
            "reachable": reachable,
            "why": why,
            "firewall": [sv.to_dict() for sv in check.sources],
        }

    # -- macOS / Windows: the firewall state, not rules -----------------------------------------
    def _check_macos(self, item: Listener) -> PathCheck | None:
        on = parse_socketfilterfw_state(self.state.text("socketfilterfw-state") or "")
        pf = parse_pf_rules(self.state.text("pfctl") or "")
        if pf:
            sv = SourceVerdict("any", "unknown", f"pf rules are not evaluated (`{pf[0]}`)", "unknown")
            return PathCheck("unknown", sv.by, None, (sv,))
        if not on:
            return None
        if parse_socketfilterfw_blockall(self.state.text("socketfilterfw-blockall") or ""):
            sv = SourceVerdict(
                "any", "blocked", "macOS application firewall (block all incoming connections)", "timeout"
            )
            return PathCheck("blocked", sv.by, None, (sv,))
        apps = parse_socketfilterfw_apps(self.state.text("socketfilterfw-apps") or "")
        program = item.cmdline[0] if item.cmdline else None
        for path, allowed in apps.items():
            if program and (program == path or program.startswith(path.rstrip("/") + "/")):
                if allowed:
                    return PathCheck("open", None, None, (SourceVerdict("any", "open", None, "connected"),))
                sv = SourceVerdict(
                    "any", "blocked", f"macOS application firewall (incoming blocked for {path})", "timeout"
                )
                return PathCheck("blocked", sv.by, None, (sv,))
        why = (
            f"the macOS application firewall is on and {program or 'this program'} is not in its list: "
            "macOS asks the user (or allows it when it is signed)"
        )
        return PathCheck("unknown", why, None, (SourceVerdict("any", "unknown", why, "unknown"),))

    def _check_windows(self, item: Listener, a: Any) -> PathCheck | None:
        iface = a.iface.name
        profiles = parse_netsh_profiles(self.state.text("netsh") or "")
        conns = parse_net_connection_profile(self.state.text("netprofile") or "")
        if not profiles:
            return None
        mine = [c for c in conns if c.get("InterfaceAlias") == iface] or conns
        # an adapter with no connection profile (unidentified network) is in the Public profile
        cats = {c.get("NetworkCategory", "").lower() for c in mine} or {"public"}
        names = ["domain" if c == "domainauthenticated" else c for c in cats]
        active = [p for p in names if profiles.get(p, {}).get("state") == "ON"]
        if not active:
            return None
        always = [p for p in active if profiles[p].get("inbound", "").lower() == "blockinboundalways"]
        if always:
            by = f"Windows Defender Firewall ({always[0].title()} profile: block all inbound)"
            sv = SourceVerdict("any", "blocked", by, "timeout")
            return PathCheck("blocked", by, None, (sv,))
        rules_text = self.state.text("netfirewallrules")
        blocking = [p for p in active if profiles[p].get("inbound", "").lower() == "blockinbound"]
        if rules_text is None:
            if not blocking:
                return None
            why = (
                f"Windows Defender Firewall ({', '.join(p.title() for p in blocking)} profile) blocks inbound "
                "connections unless a rule allows this program or port; its rules are not read"
            )
            return PathCheck("unknown", why, None, (SourceVerdict("any", "unknown", why, "unknown"),))
        return self._windows_rules(item, a, active[0], "drop" if active[0] in blocking else "accept", rules_text)

    def _windows_rules(self, item: Listener, a: Any, profile: str, default: str, text: str) -> PathCheck:
        """The inbound rules (block rules, then allow rules, then the profile's default) for this path."""
        from . import winfw

        rules = self.__dict__.get("_winrules")
        if rules is None:
            rules = self.__dict__["_winrules"] = winfw.parse_rules(text)
        pkt, subnet = _packet(item.proto, item.port, a)
        fam = pkt.family
        nets = [
            x.network
            for i in (*self.interfaces, a.iface)
            for x in i.addresses
            if x.ip.version == fam and not x.ip.is_loopback and not (fam == 6 and x.ip.is_link_local)
        ]
        local = fwrules.r_or(fwrules.net_ranges(nets), subnet)  # LocalSubnet: every on-link subnet (this one too)
        program = item.cmdline[0] if item.cmdline else None
        rs = winfw.ruleset(rules, profile, default, pkt, program, item.process, local)

        def label(chain: Chain, rule: Rule | None, outcome: Outcome, via: tuple[str, ...]) -> str:
            if rule is not None:
                return rule.label
            who = program or item.process or "this program"
            return (
                f"Windows Defender Firewall ({profile.title()} profile: inbound blocked, no rule allows "
                f"{item.proto.upper()} port {item.port} or {who})"
            )

        branches = fwrules.Evaluator(rs, label).run(pkt, fwrules.everything(fam))
        every = fwrules.everything(fam)
        nets_text = ", ".join(fwrules.ranges_text(subnet, fam)) or "the subnet"
        here = fwrules.summarise(branches, subnet, fam, nets_text) if subnet else None
        elsewhere = fwrules.summarise(branches, fwrules.r_sub(every, subnet), fam, "elsewhere")
        return _path_check(a.audience, here or elsewhere, elsewhere)


def _packet(proto: str, port: int, a: Any) -> tuple[Packet, fwrules.Ranges]:
    """A new connection to PORT on the path `a` (an Addr of netview), and the path's own subnet."""
    fam = a.ip.version
    nets = [x.network for x in a.iface.addresses if x.ip.version == fam and not (fam == 6 and x.ip.is_link_local)]
    if fam == 6 and a.ip.is_link_local:
        nets = [a.ifaddr.network]
    subnet = fwrules.net_ranges(nets)
    return Packet(fam, proto, port, a.iface.name, a.ip, a.default_route, subnet), subnet


_PORT = "\x00port"  # stands for the port in texts cached per class of ports


def _for_port(check: PathCheck | None, port: int) -> PathCheck | None:
    if check is None or not any(_PORT in (s.by or "") for s in check.sources):
        return check
    p = str(port)
    sources = tuple(replace(s, by=s.by.replace(_PORT, p) if s.by else None) for s in check.sources)
    return PathCheck(check.verdict, check.text.replace(_PORT, p) if check.text else None, check.audience, sources)


def _with_by(sv: SourceVerdict | None, text: str) -> SourceVerdict | None:
    if sv is None or sv.verdict != "open":
        return sv
    return SourceVerdict(sv.sources, sv.verdict, text, sv.client_sees, sv.open_from, sv.blocked_from)


def _path_check(audience: Reach, here: SourceVerdict, elsewhere: SourceVerdict) -> PathCheck:
    sources = (here, elsewhere) if here is not elsewhere else (elsewhere,)
    if audience >= Reach.INTERNET:
        if elsewhere.verdict == "open":
            return PathCheck("open", elsewhere.by, None, sources)
        if elsewhere.verdict == "unknown":
            return PathCheck("unknown", elsewhere.by, None, sources)
        # not from anywhere: the audience narrows to the subnet, if that is open
        if here.verdict in ("open", "partial"):
            return PathCheck("open", here.by if here.verdict == "open" else None, Reach.LAN, sources)
        if here.verdict == "unknown":
            return PathCheck("unknown", here.by, None, sources)
        return PathCheck("blocked", elsewhere.by or here.by, None, sources)
    if here.verdict in ("open", "partial"):
        return PathCheck("open", here.by if here.verdict == "open" else None, None, sources)
    if here.verdict == "unknown":
        return PathCheck("unknown", here.by, None, sources)
    return PathCheck("blocked", here.by, None, sources)


def _dnat_target(text: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address | None, int | None]:
    """`172.17.0.2:80`, `[fd00::2]:80`, `172.17.0.2`, `fd00::2` -> (address, port or None)."""
    m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\](?::(\d+))?|([0-9.]+)(?::(\d+))?|([0-9a-fA-F:]+)", text.strip())
    if not m:
        return None, None
    try:
        addr = ipaddress.ip_address(m.group(1) or m.group(3) or m.group(5))
    except ValueError:
        return None, None
    port = m.group(2) or m.group(4)
    return addr, int(port) if port else None


def blocker(
    source: FirewallState | Callable[[], FirewallState | None] | None,
    platform: str = "linux",
    interfaces: Sequence[Interface] = (),
) -> Callable:
    """The Blocker for analyze.listing: `source` is the recorded state, or a function that reads
    it (called once, on the first path that reaches beyond this machine: `ls` on a machine whose
    sockets are all on loopback never reads the firewall)."""
    holder: dict[str, Firewall | None] = {}

    def get() -> Firewall | None:
        if "fw" not in holder:
            state = source() if callable(source) else source
            holder["fw"] = Firewall(state, platform, interfaces) if state is not None else None
        return holder["fw"]

    def check(item: Listener, a: Any) -> PathCheck | None:
        if a.audience <= Reach.THIS_MACHINE:
            return None
        fw = get()
        return fw.check(item, a) if fw is not None else None

    check.firewall = get  # type: ignore[attr-defined]
    check.loaded = lambda: holder.get("fw")  # type: ignore[attr-defined]
    return check


# -- fixes and findings (for doctor) -------------------------------------------------------------
def open_port_commands(
    state: FirewallState | None, port: int, proto: str = "tcp", lan_subnet: str | None = None, iface: str | None = None
) -> list[str]:
    """The exact commands that open PORT to the LAN only (the subnet, on the interface), one per
    firewall tool found in `state` (nft, ufw, firewall-cmd), in the order they should be tried.
    Empty when no Linux firewall was found."""
    fw = Firewall(state or FirewallState())
    managers = fw.managers
    src = lan_subnet or "192.168.1.0/24"
    v6 = ":" in src
    out: list[str] = []
    if "ufw" in managers:
        on = f" on {iface}" if iface else ""
        out.append(f"sudo ufw allow in{on} from {src} to any port {port} proto {proto}")
    if "firewalld" in managers:
        zone = _firewalld_zone_for(state or FirewallState(), iface) or "public"
        family = "ipv6" if v6 else "ipv4"
        rich = f'rule family="{family}" source address="{src}" port port="{port}" protocol="{proto}" accept'
        out.append(f"sudo firewall-cmd --zone={zone} --add-rich-rule='{rich}'")
        out.append(f"sudo firewall-cmd --zone={zone} --add-rich-rule='{rich}' --permanent")
    if "nft" in managers:
        chain = _nft_input_chain(fw.rs)
        if chain is not None:
            fam = "ip6" if v6 else "ip"
            dev = f'iifname "{iface}" ' if iface else ""
            out.append(
                f"sudo nft insert rule {chain.table} {chain.name} {dev}{fam} saddr {src} {proto} dport {port} accept"
            )
    if "iptables" in managers and not out:
        tool = "ip6tables" if v6 else "iptables"
        dev = f"-i {iface} " if iface else ""
        out.append(f"sudo {tool} -I INPUT {dev}-s {src} -p {proto} --dport {port} -j ACCEPT")
    return out


def _nft_input_chain(rs: Ruleset) -> Chain | None:
    chains = [c for c in rs.chains.values() if c.origin == "nft" and c.hook == "input" and c.table != "inet firewalld"]
    chains.sort(key=lambda c: (c.family != "inet", c.priority))
    return chains[0] if chains else None


def _firewalld_zone_for(state: FirewallState, iface: str | None) -> str | None:
    zones = parse_firewalld_zones((s.command, s.text) for s in state.all("firewalld-zone"))
    for name, z in zones.items():
        if iface and iface in z["interfaces"]:
            return name
    return firewalld_default_zone(state)


def exposure_warning(category: str | None, debug: str | None, label: str | None = None) -> str | None:
    """A warning to print next to an "open the port" fix, for a debug server or a datastore."""
    if debug:
        return f"careful: this is a debug server ({debug}); anyone on the LAN can run code through it"
    if category == "datastore":
        return f"careful: {label or 'this datastore'} would be open to the LAN: allow only the hosts that need it"
    if category == "notebook":
        return f"careful: {label or 'this notebook'} runs code for whoever gets in: keep its token/password on"
    return None


_DOCKER_ARG = re.compile(r"^-(container-ip|container-port|host-ip|host-port|proto)$")


def docker_published(listeners: Iterable[Listener]) -> list[dict[str, Any]]:
    """Ports Docker publishes, from its docker-proxy processes' command lines
    (`-proto tcp -host-ip 0.0.0.0 -host-port 8080 -container-ip 172.17.0.2 -container-port 80`)."""
    seen: set[tuple] = set()
    out = []
    for item in listeners:
        argv = item.cmdline
        if not argv or not (argv[0].endswith("docker-proxy") or item.process == "docker-proxy"):
            continue
        args: dict[str, str] = {}
        for i, word in enumerate(argv[:-1]):
            m = _DOCKER_ARG.match(word)
            if m:
                args[m.group(1)] = argv[i + 1]
        key = (item.proto, item.address, item.port)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {
                "proto": args.get("proto", item.proto),
                "host": f"{args.get('host-ip', item.address)}:{args.get('host-port', item.port)}",
                "port": item.port,
                "container": f"{args['container-ip']}:{args['container-port']}"
                if "container-ip" in args and "container-port" in args
                else None,
            }
        )
    return out


def docker_nat_targets(state: FirewallState | None) -> dict[int, str]:
    """host port -> container address:port, from the DNAT rules of Docker's nat chain."""
    out: dict[int, str] = {}
    if state is None:
        return out
    for src in state.sources:
        if "tables" not in src.name:
            continue
        for line in src.text.splitlines():
            if line.startswith("-A DOCKER ") and "-j DNAT" in line:
                m = re.search(r"--dport (\d+).*--to-destination (\S+)", line)
                if m:
                    out[int(m.group(1))] = m.group(2)
    nft = state.text("nft")
    if nft and "dnat" in nft:  # Docker's nftables backend: `tcp dport 8080 ... dnat to 172.17.0.2:80`
        import json

        try:
            objs = json.loads(nft).get("nftables", [])
        except (ValueError, AttributeError):
            objs = []
        for o in objs:
            exprs = (o.get("rule") or {}).get("expr") or [] if isinstance(o, dict) else []
            port = next(
                (
                    e["match"].get("right")
                    for e in exprs
                    if isinstance(e, dict)
                    and "match" in e
                    and (e["match"].get("left") or {}).get("payload", {}).get("field") == "dport"
                    and isinstance(e["match"].get("right"), int)
                ),
                None,
            )
            dnat = next((e["dnat"] for e in exprs if isinstance(e, dict) and isinstance(e.get("dnat"), dict)), None)
            if port is not None and dnat and dnat.get("addr") and dnat.get("port"):
                out.setdefault(int(port), f"{dnat['addr']}:{dnat['port']}")
    return out


def wsl_address(snap: Snapshot) -> str | None:
    """The WSL2 guest's address Windows reaches (eth0's IPv4 address in NAT mode)."""
    for iface in snap.interfaces:
        if iface.name == "eth0":
            for a in iface.addresses:
                if a.ip.version == 4:
                    return str(a.ip)
    for iface in snap.interfaces:
        for a in iface.addresses:
            if a.ip.version == 4 and not a.ip.is_loopback:
                return str(a.ip)
    return None


def published_ports(snap: Snapshot, port: int | None = None, proto: str = "tcp") -> list[dict[str, Any]]:
    """Ports Docker (or any DNAT to another host) publishes, with what the firewall does to each path:
    the nat rules send a connection to PORT on an address of this machine on to a container, through
    the forward path (DOCKER-USER, Docker's FORWARD chains, nft forward hooks). From the recorded
    firewall; docker-proxy processes name the ports too. One dict per port: proto, port, container
    (ADDR:PORT, when known), paths (address, interface, audience, to, reachable, why, firewall)."""
    state = snap.firewall
    proxies = {p["port"]: p for p in docker_published(snap.listeners) if p["proto"] == proto}
    ports = [port] if port is not None else sorted(set(proxies) | set(docker_nat_targets(state)))
    fw = (
        Firewall(state, "linux", snap.interfaces)
        if state is not None and snap.environment.platform == "linux"
        else None
    )
    out: list[dict[str, Any]] = []
    if not ports:
        return out
    from .netview import NetView

    addrs = [a for a in NetView(snap).addrs if a.audience > Reach.THIS_MACHINE and not a.hidden]
    for p in ports:
        paths = [x for a in addrs if fw is not None and (x := fw.published(proto, p, a)) is not None]
        proxy = proxies.get(p)
        if not paths and proxy is None:
            continue
        targets = sorted({t for x in paths for t in x["to"]})
        container = (proxy or {}).get("container") or (targets[0] if targets else docker_nat_targets(state).get(p))
        out.append({"proto": proto, "port": p, "container": container, "proxy": proxy is not None, "paths": paths})
    return out


def _docker_findings(snap: Snapshot, port: int | None, published: list[dict[str, Any]] | None) -> list[Finding]:
    findings: list[Finding] = []
    for pub in published if published is not None else published_ports(snap, port):
        p, target = pub["port"], pub["container"]
        to = f" to container {target}" if target else ""
        evidence: list[str] = []
        if pub["proxy"]:
            evidence.append(f"docker-proxy listens on port {p}" + (f" -> {target}" if target else ""))
        for path in pub["paths"]:
            evidence.append(f"{path['address']} ({path['interface']}): {path['why'] or 'open'}")
            if len({(sv["verdict"], sv["by"]) for sv in path["firewall"]}) > 1:
                for sv in path["firewall"]:
                    by = f" ({sv['by']})" if sv["by"] and sv["verdict"] != "open" else ""
                    evidence.append(f"  from {sv['from']}: {sv['verdict']}{by}")
        if not pub["paths"]:
            evidence.append("the forward path was not checked: no nat rule for this port was read (run as root)")
        lan_open = any(x["reachable"] and x["audience"] in ("lan", "internet") for x in pub["paths"])
        blocked = pub["paths"] and all(x["reachable"] is False for x in pub["paths"])
        findings.append(
            Finding(
                "docker-published",
                "error" if blocked else "warning",
                f"Docker publishes port {p}{to}: "
                + (
                    "the firewall blocks it on every path (forward path checked)"
                    if blocked
                    else "reachable from the LAN; ufw and firewalld input rules do not apply to it"
                    if lan_open
                    else "ufw and firewalld input rules do not apply to it"
                ),
                tuple(evidence),
                (
                    f"publish it on one address only: docker run -p 127.0.0.1:{p}:PORT ... "
                    "(or the LAN address), not -p " + str(p) + ":PORT",
                    f"or filter it in the DOCKER-USER chain: sudo iptables -I DOCKER-USER -p {pub['proto']} "
                    f"-m conntrack --ctorigdstport {p} ! -s LAN_SUBNET -j DROP",
                ),
                DOCS,
            )
        )
    return findings


def environment_findings(
    snap: Snapshot, entries: Sequence[Any], port: int | None = None, published: list[dict[str, Any]] | None = None
) -> list[Finding]:
    """Environment checks for doctor: firewall verdicts of the listeners' paths, Docker
    published ports, inside a container, WSL2 (NAT or mirrored). `entries`: analyze.listing
    Entry objects (`bindscope.listeners(...).entries`) of the port(s) in question; `published`:
    published_ports(snap, port), when the caller has it already."""
    env = snap.environment
    state = snap.firewall
    findings: list[Finding] = []
    wanted = [e for e in entries if port is None or e.listener.port == port]
    for e in wanted:
        item = e.listener
        blocked = [p for p in e.paths if p.blocked_by and not p.hidden]
        unknown = [p for p in e.paths if p.reachable is None and not p.hidden]
        if blocked:
            p = blocked[0]
            subnet = _subnet_of(snap, p.interface, p.family)
            fixes = open_port_commands(state, item.port, item.proto, subnet, p.interface)
            warn = exposure_warning(
                e.detected.category if e.detected else None,
                e.detected.debug if e.detected else None,
                e.detected.server.label if e.detected else None,
            )
            findings.append(
                Finding(
                    "firewall-blocks",
                    # a path on another adapter (a VM or WSL switch) blocked while the LAN still reaches it
                    "warning" if e.reach >= Reach.LAN else "error",
                    f"The firewall blocks {item.proto.upper()} port {item.port} on {p.interface} ({p.address})",
                    tuple(f"{q.target}: blocked by {q.blocked_by}" for q in blocked),
                    tuple(fixes) + ((warn,) if warn else ()),
                    DOCS,
                )
            )
        if unknown:
            findings.append(
                Finding(
                    "firewall-unknown",
                    "warning",
                    f"Whether the firewall lets port {item.port} through is not known",
                    tuple(f"{q.target}: {q.why}" for q in unknown),
                    ("check the rule quoted above by hand; bindscope evaluates the subset in " + DOCS,),
                    DOCS,
                )
            )
    findings.extend(_docker_findings(snap, port, published))
    if env.container:
        findings.append(
            Finding(
                "inside-container",
                "info",
                f"bindscope runs inside a {env.container} container",
                (f"container marker: {env.container}",),
                (
                    "inside a container, bind 0.0.0.0 (not 127.0.0.1): the container's own loopback is not the host's",
                    "what other devices reach is the published port: docker run -p 8000:8000 ... (or compose ports:)",
                ),
                DOCS,
            )
        )
    if env.wsl == "wsl2":
        findings.append(_wsl_finding(snap, port or (wanted[0].listener.port if wanted else None)))
    return findings


def _subnet_of(snap: Snapshot, iface: str, family: str) -> str | None:
    for i in snap.interfaces:
        if i.name == iface:
            for a in i.addresses:
                if (a.ip.version == 4) == (family == "ipv4") and not a.ip.is_link_local:
                    return str(a.network)
    return None


def _wsl_finding(snap: Snapshot, port: int | None) -> Finding:
    p = str(port) if port else "PORT"
    if snap.environment.wsl_networking == "mirrored":
        return Finding(
            "wsl2-mirrored",
            "info",
            "WSL2 with mirrored networking: the Windows addresses are this guest's",
            ("networkingMode=mirrored (loopback0 present)",),
            (
                "the LAN reaches the server through the Windows address, if the Hyper-V firewall allows it "
                "(PowerShell as admin):",
                f'New-NetFirewallHyperVRule -Name "bindscope-{p}" -DisplayName "WSL port {p}" -Direction Inbound '
                f"-VMCreatorId '{{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}}' -Protocol TCP -LocalPorts {p}",
            ),
            DOCS,
        )
    addr = wsl_address(snap) or "WSL_IP"
    return Finding(
        "wsl2-nat",
        "warning",
        "WSL2 with NAT networking: only Windows reaches this guest",
        (f"WSL address {addr} (changes on every WSL restart)",),
        (
            "on Windows, as administrator (forward the port to the WSL address, then allow it in the firewall):",
            f"netsh interface portproxy add v4tov4 listenport={p} listenaddress=0.0.0.0 connectport={p} "
            f"connectaddress={addr}",
            f'netsh advfirewall firewall add rule name="WSL {p}" dir=in action=allow protocol=TCP localport={p} '
            "profile=private",
            f'New-NetFirewallRule -DisplayName "WSL {p}" -Direction Inbound -Action Allow -Protocol TCP '
            f"-LocalPort {p} -Profile Private",
            "or switch to mirrored networking: [wsl2] networkingMode=mirrored in %UserProfile%\\.wslconfig, "
            "then wsl --shutdown",
        ),
        DOCS,
    )


def firewall_notes(fw: Firewall | None, state: FirewallState | None) -> list[str]:
    """Lines for `ls`: what was read, what could not be."""
    out: list[str] = []
    if state is None:
        return out
    for n in state.notes:
        out.append(f"firewall: {n}")
    if fw is not None and fw.rs.notes:
        out.extend(f"firewall: {n}" for n in fw.rs.notes)
    return out


__all__ = [
    "Firewall",
    "PathCheck",
    "blocker",
    "docker_published",
    "environment_findings",
    "exposure_warning",
    "open_port_commands",
    "parse_firewalld_zones",
    "parse_net_connection_profile",
    "parse_netsh_profiles",
    "parse_pf_rules",
    "parse_socketfilterfw_apps",
    "parse_socketfilterfw_state",
    "parse_ufw_status",
    "published_ports",
    "ruleset",
    "wsl_address",
]
