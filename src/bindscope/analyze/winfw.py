"""Windows Defender Firewall inbound rules, evaluated as a fwrules chain (pure).

The rules come from `Get-NetFirewallRule -Direction Inbound -Enabled True` with each rule's port,
application, address, service and interface filters (collect/firewall.py builds one object per
rule and prints them with `ConvertTo-Json`). The property values follow the documented formats of
New-NetFirewallRule / Set-NetFirewallRule (Microsoft Learn, netsecurity module): Action `Allow` /
`Block`; Profile `Any` or a list of `Domain`, `Private`, `Public`; Protocol `TCP`, `UDP`, `Any` or
a number; LocalPort `Any`, a port, a range `5000-5010`, or a keyword (`RPC`, `RPCEPMap`,
`IPHTTPSIn`, ...); Program `Any`, a path (environment variables allowed) or `System`;
RemoteAddress / LocalAddress `Any`, an address, a subnet (`/24` or `/255.255.255.0`), a range
`a-b`, or a keyword (`LocalSubnet`, `LocalSubnet4`, `LocalSubnet6`, `Internet`, `Intranet`,
`DNS`, `DHCP`, `WINS`, `DefaultGateway`, ...).

Windows' order: a block rule wins over every allow rule (except allow rules that override block
rules, which need IPsec authentication: never a LAN client's plain connection); an allow rule
opens; otherwise the profile's default inbound action (BlockInbound: blocked). As a chain: the
block rules (drop), then the allow rules (accept), policy drop (or accept for AllowInbound).
A value this does not understand makes its rule "not understood": followed both ways, so the
verdict is unknown (the rule quoted) only when it matters.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence
from typing import Any

from . import fwrules
from .fwrules import UNKNOWN, Chain, Cond, Packet, Rule, Ruleset, Verdict

TABLE = "Windows Defender Firewall"
_ENV = {
    "%systemroot%": "c:\\windows",
    "%windir%": "c:\\windows",
    "%systemdrive%": "c:",
    "%programfiles%": "c:\\program files",
    "%programfiles(x86)%": "c:\\program files (x86)",
}


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    text = str(value)
    return [x.strip() for x in text.split(",")] if "," in text else [text]


def parse_rules(text: str) -> list[dict[str, Any]]:
    """The JSON collect/firewall.py records (one object, or a list of them): one dict per rule with
    name, display, action, profiles, protocol, local_ports, program, service, package, remote, local,
    interface_types, interfaces -- lists where the property can hold several values."""
    try:
        data = json.loads(text) if text.strip() else []
    except json.JSONDecodeError:
        return []
    items = data if isinstance(data, list) else [data]
    out = []
    for r in items:
        if not isinstance(r, dict):
            continue
        out.append(
            {
                "name": str(r.get("Name") or ""),
                "display": str(r.get("DisplayName") or r.get("Name") or ""),
                "action": str(r.get("Action") or ""),
                "profiles": [p.strip().lower() for x in _list(r.get("Profile")) for p in x.split(",") if p.strip()],
                "protocol": str(r.get("Protocol") or "Any"),
                "local_ports": _list(r.get("LocalPort")) or ["Any"],
                "program": str(r.get("Program") or "Any"),
                "service": str(r.get("Service") or "Any"),
                "package": str(r.get("Package") or ""),
                "remote": _list(r.get("RemoteAddress")) or ["Any"],
                "local": _list(r.get("LocalAddress")) or ["Any"],
                "interface_types": _list(r.get("InterfaceType")) or ["Any"],
                "interfaces": _list(r.get("InterfaceAlias")) or ["Any"],
            }
        )
    return out


def _rule_text(r: dict[str, Any]) -> str:
    parts = [f'"{r["display"]}"', r["action"].lower(), f"profile={','.join(r['profiles']) or 'any'}"]
    parts.append(f"protocol={r['protocol']}")
    parts.append(f"localport={','.join(r['local_ports'])}")
    if r["program"].lower() != "any":
        parts.append(f"program={r['program']}")
    if r["service"].lower() != "any":
        parts.append(f"service={r['service']}")
    if r["package"]:
        parts.append(f"package={r['package']}")
    parts.append(f"remoteip={','.join(r['remote'])}")
    if r["local"] != ["Any"]:
        parts.append(f"localip={','.join(r['local'])}")
    if r["interface_types"] != ["Any"]:
        parts.append(f"interfacetype={','.join(r['interface_types'])}")
    if r["interfaces"] != ["Any"]:
        parts.append(f"interface={','.join(r['interfaces'])}")
    return " ".join(parts)


def _norm_path(path: str) -> str | None:
    p = path.strip().strip('"').lower()
    for var, value in _ENV.items():
        p = p.replace(var, value)
    return None if "%" in p else p.replace("/", "\\")


def _program_cond(rule_program: str, program: str | None, process: str | None) -> Cond | None:
    """True / False / None (not known) as a Cond; None: no condition (Any)."""
    if rule_program.lower() in ("any", "*", ""):
        return None
    if rule_program.lower() == "system":
        return fwrules._const((process or "").lower() == "system") if process else UNKNOWN
    want = _norm_path(rule_program)
    if program is None and (process or "").lower() == "system":
        return fwrules._const(False)  # the kernel's own sockets (pid 4): no program path matches them
    have = _norm_path(program) if program else None
    if want is None or have is None:
        return UNKNOWN
    return fwrules._const(want == have)


def _addresses(values: list[str], fam: int, local_subnets: fwrules.Ranges) -> fwrules.Ranges | None:
    """The addresses a RemoteAddress / LocalAddress list stands for (this family); None: not understood."""
    out: list[tuple[int, int]] = []
    for v in values:
        key = v.strip().lower()
        if key in ("any", "*"):
            return fwrules.everything(fam)
        if key in ("localsubnet", f"localsubnet{fam}"):
            out.extend(local_subnets)
            continue
        if key in ("localsubnet4", "localsubnet6"):
            continue  # the other family's
        try:
            if "-" in key:
                a, b = (ipaddress.ip_address(x.strip()) for x in key.split("-", 1))
                if a.version == fam:
                    out.append((int(a), int(b)))
                continue
            if "/" in key and "." in key.split("/", 1)[1]:  # 1.2.3.0/255.255.255.0
                net = ipaddress.ip_network(key, strict=False)
            else:
                net = ipaddress.ip_network(key, strict=False)
        except ValueError:
            return None  # Internet, Intranet, DNS, DHCP, WINS, DefaultGateway, PlayToDevice, ...
        if net.version == fam:
            out.extend(fwrules.net_ranges([net]))
    return fwrules._norm(out)


def _port_cond(ports: list[str], port: int) -> Cond | None:
    hits: list[bool] = []
    for p in ports:
        key = p.strip().lower()
        if key in ("any", "*"):
            return None
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", key)
        if not m:
            return UNKNOWN  # RPC, RPCEPMap, IPHTTPSIn, PlayToDiscovery, Teredo, ...: dynamic or keyword ports
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        hits.append(lo <= port <= hi)
    return fwrules._const(any(hits))


def ruleset(
    rules: Sequence[dict[str, Any]],
    profile: str,
    default: str,
    pkt: Packet,
    program: str | None,
    process: str | None,
    local_subnets: fwrules.Ranges,
) -> Ruleset:
    """One input chain for the connection `pkt` to `program` in `profile`: block rules, allow rules,
    policy `default` (drop for BlockInbound, accept for AllowInbound)."""
    fam = pkt.family
    chain = Chain(
        f"{profile.title()} profile",
        [],
        "windows",
        TABLE,
        "inet",
        hook="input",
        priority=0,
        policy=default,
    )
    ordered = [r for r in rules if r["action"].lower() == "block"] + [
        r for r in rules if r["action"].lower() == "allow"
    ]
    for r in ordered:
        if r["profiles"] and "any" not in r["profiles"] and profile not in r["profiles"]:
            continue
        conds: list[Cond] = []
        proto = r["protocol"].strip().lower()
        name = {"6": "tcp", "17": "udp"}.get(proto, proto)
        if name not in ("any", ""):
            conds.append(fwrules._const(name == pkt.proto))
        for c in (_port_cond(r["local_ports"], pkt.dport), _program_cond(r["program"], program, process)):
            if c is not None:
                conds.append(c)
        if r["service"].lower() not in ("any", "*", "") or r["package"]:
            conds.append(UNKNOWN)  # which service or app package owns the socket is not known here
        if [x.lower() for x in r["interface_types"]] not in (["any"], []):
            conds.append(UNKNOWN)
        if [x.lower() for x in r["interfaces"]] not in (["any"], []):
            conds.append(fwrules._const(any(x.lower() == pkt.iif.lower() for x in r["interfaces"])))
        local = _addresses(r["local"], fam, local_subnets)
        if local is None:
            conds.append(UNKNOWN)
        elif local != fwrules.everything(fam):
            conds.append(fwrules._const(fwrules._in(local, int(pkt.daddr))))
        remote = _addresses(r["remote"], fam, local_subnets)
        if remote is None:
            conds.append(UNKNOWN)
        elif remote != fwrules.everything(fam):
            conds.append(Cond("saddr", addrs={fam: remote}))
        verdict = Verdict("drop" if r["action"].lower() == "block" else "accept")
        text = _rule_text(r)
        chain.rules.append(Rule(conds, verdict, text, f"{TABLE} rule `{text}`", not any(c is UNKNOWN for c in conds)))
    rs = Ruleset()
    rs.add(chain)
    return rs
