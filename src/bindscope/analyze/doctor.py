"""`doctor`: why another device cannot reach a server, and the exact fix (pure).

api.doctor gathers the facts (a Snapshot, the `ls` entries, the self-probe, the proxy
configuration, the environment checks); `diagnose` runs the checks in order and returns
findings and a verdict. Nothing here touches the machine.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..addr import Target, url
from ..collect.proxyconf import Upstream
from ..collect.selfprobe import HttpReply, Knock
from ..knowledge import hostcheck
from ..knowledge.hostcheck import HostCheck
from ..knowledge.servers import SERVERS
from ..model import Finding, Reach, Snapshot
from .fixes import LAN_HOST, LOCAL_HOST, Fix, bind_fix
from .listing import Entry
from .netview import NetView
from .scriptfix import CodeEdit, CodeFix, Script, code_fix

SHARE_NOTE = (
    "security: 0.0.0.0 opens it on every network this machine joins (cafe Wi-Fi, VPN, Docker): prefer this machine's "
    "LAN address, or `bindscope share {port}` (LAN only, with a token, expires); never expose a debug server"
)
ENVIRONMENT_NOT_CHECKED = Finding(
    "environment-not-checked",
    "info",
    "Firewall, container and WSL: not checked",
    ("the environment checks did not run",),
    ("if the self-probe says open but the other device still cannot connect: check the firewall",),
)


@dataclass(frozen=True)
class CommandFinding(Finding):
    """A Finding whose main fix is a command to run again: `command` is that Fix (JSON `fix_command`)."""

    command: Fix | None = None
    code: CodeEdit | None = None  # the main fix is a one-line edit of the server's script (JSON `fix_code`)
    server_id: str | None = None  # the server the script starts, when the command line does not say


def fix_command(fix: Fix | None) -> dict[str, Any] | None:
    """The restart command as data: {"argv": [...], "env": {VAR: VALUE}} (what "restart it with:" prints,
    split as a shell splits it), or None when the main fix is not a command (code, config, share)."""
    if fix is None or fix.kind not in ("command", "env") or not fix.argv:
        return None
    env: dict[str, str] = {}
    if fix.kind == "env":
        name, _, value = fix.text.split(" ", 1)[0].partition("=")
        env[name] = value
    return {"argv": list(fix.argv), "env": env}


def _finding_dict(f: Finding) -> dict[str, Any]:
    data = f.to_dict()
    data["fix_command"] = fix_command(getattr(f, "command", None))
    code = getattr(f, "code", None)
    data["fix_code"] = code.to_dict() if code is not None else None
    return data


@dataclass
class Facts:
    """Everything doctor looked at, gathered by api.doctor (or recorded)."""

    target: Target
    port: int
    entries: list[Entry]  # TCP sockets on the port, this namespace
    others: list[Entry]  # every other TCP listener (for "nothing listening" hints)
    knocks: list[Knock] = field(default_factory=list)
    http: HttpReply | None = None
    probed: bool = False  # the self-probe ran (live machine, not --no-probe)
    localhost: tuple[str, ...] = ()  # what `localhost` resolves to, in order
    target_addresses: tuple[str, ...] = ()  # what the target's name resolves to
    proxies: list[tuple[Entry, list[Upstream], str | None]] = field(default_factory=list)
    environment: list[Finding] | None = None  # None: the environment checks did not run
    # Docker-published (DNAT-ed) paths of the port: analyze.firewall.published_ports
    published: list[dict[str, Any]] = field(default_factory=list)
    # the scripts the servers on the port run (`python app.py`), by pid: collect/script.py; key 0: the
    # only Python script listening on this machine, when the socket's owner is unknown (another user's)
    scripts: dict[int, Script] = field(default_factory=dict)


@dataclass
class Diagnosis:
    target: str
    port: int
    verdict: str
    lan: bool  # other devices on the LAN can reach it
    findings: list[Finding]
    server: str | None  # detected server id
    urls: list[str]
    entries: list[Entry] = field(default_factory=list)
    knocks: list[Knock] = field(default_factory=list)
    http: HttpReply | None = None
    published: list[dict[str, Any]] = field(default_factory=list)  # Docker-published ports (firewall.py)

    @property
    def exit_code(self) -> int:
        return 0 if self.lan else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": "doctor",
            "target": self.target,
            "port": self.port,
            "verdict": self.verdict,
            "lan": self.lan,
            "server": self.server,
            "urls": self.urls,
            "findings": [_finding_dict(f) for f in self.findings],
            "listeners": [e.to_dict() for e in self.entries],
            "published": self.published,
            "self_probe": {
                "knocks": [k.to_dict() for k in self.knocks],
                "http": self.http.to_dict() if self.http else None,
            },
        }


def _who(e: Entry) -> str:
    item = e.listener
    name = e.detected.server.label if e.detected else (item.process or "an unknown process")
    pid = f" (pid {item.pids[0]})" if item.pids else ""
    return f"{name}{pid}"


def _lan_address(snap: Snapshot, family: int | None = None) -> str | None:
    """The address a LAN device would use: the default-route interface's, IPv4 first."""
    for a in NetView(snap).addrs:
        if a.audience >= Reach.LAN and not a.hidden and (family is None or a.ip.version == family):
            return a.text
    return None


def _fix_lines(e: Entry, host: str, port: int) -> list[str]:
    fix = bind_fix(e.detected, e.listener.cmdline, host, port)
    if fix is None:
        return []
    if fix.kind == "command":
        return [f"restart it with: {fix.text}"]
    if fix.kind == "env":
        return [f"restart it with: {fix.text}"]
    if fix.kind == "code":
        return [f"change the call {fix.where}: {fix.text}".replace("  ", " ")]
    return [f"set {fix.text}" + (f" {fix.where}" if fix.where else "")]


def _restart(e: Entry, host: str, port: int) -> Fix | None:
    """The Fix behind a "restart it with:" line (None when the fix is code or config)."""
    fix = bind_fix(e.detected, e.listener.cmdline, host, port)
    return fix if fix is not None and fix.kind in ("command", "env") else None


def script_fix(f: Facts, e: Entry, host: str, lan_ip: str | None = None) -> CodeFix | None:
    """The edit of the script the server runs (`python app.py`) that makes it bind `host`; None when
    its command line already gives the fix (a restart command), or no script line matches the socket."""
    if _restart(e, host, e.listener.port) is not None:
        return None
    for pid in e.listener.pids:
        script = f.scripts.get(pid)
        if script is not None:
            return code_fix(script, e.listener.address, e.listener.port, host, lan_ip)
    nearby = f.scripts.get(0) if not e.listener.pids else None
    if nearby is not None:  # not the socket's known owner: only a line that names this very port
        return code_fix(nearby, e.listener.address, e.listener.port, host, lan_ip, exact_port=True)
    return None


def lan_fix(e: Entry, port: int, lan_ip: str | None) -> tuple[list[str], Fix | None]:
    """The fix lines for "reach it from my LAN", and the main Fix (JSON `fix_command`)."""
    if e.detected is not None and e.detected.category == "datastore":
        label = e.detected.server.label
        bind = e.detected.server.bind
        where = "; ".join(bind.config) if bind and bind.config else "its configuration"
        return [
            f"{label} is a datastore: keeping it on this machine is right unless other hosts must reach it",
            f"if they must: listen on this machine's LAN address only and allow only those hosts ({where})",
        ], None
    fix = _restart(e, LAN_HOST, port)
    lines = _fix_lines(e, LAN_HOST, port)
    if not lines:
        lines = [f"restart it listening on {LAN_HOST} (every IPv4 interface) instead of {e.listener.address}"]
    if lan_ip and ":" not in lan_ip:
        narrow = bind_fix(e.detected, e.listener.cmdline, lan_ip, port)
        if narrow is not None and narrow.kind in ("command", "env", "code"):
            lines.append(f"narrower, the LAN address only: {narrow.text}")
    if e.detected and e.detected.server.bind and e.detected.server.bind.lan_note:
        lines.append(e.detected.server.bind.lan_note)
    lines.append(f"or, without a restart: bindscope share {port}")
    return lines, fix


def _check_nothing(f: Facts, snap: Snapshot) -> Finding | None:
    if f.entries:
        return None
    evidence = [f"nothing listens on TCP port {f.port} on this machine (this network namespace)"]
    fix: list[str] = []
    web = [e for e in f.others if e.detected is not None and e.detected.category == "web" and e.listener.port != f.port]
    seen: set[tuple[str, int]] = set()
    for e in web:
        key = (e.detected.id if e.detected else "", e.listener.port)
        if key in seen:
            continue
        seen.add(key)
        bind = e.detected.server.bind if e.detected else None
        default = " (its default port)" if bind and bind.port == e.listener.port else ""
        evidence.append(f"{_who(e)} listens on {e.local}{default}")
        if len(seen) >= 5:
            break
    defaults = sorted({s.id for s in SERVERS if s.bind and s.bind.port == f.port and s.category == "web"})
    if defaults:
        evidence.append(f"{f.port} is the default port of {', '.join(defaults)}")
    if seen:
        fix.append(f"did you mean one of the ports above? try `bindscope doctor {sorted(p for _, p in seen)[0]}`")
    fix.append("start the server, and check its output for the port it chose (and for an 'address in use' error)")
    return Finding("nothing-listening", "error", f"Nothing is listening on port {f.port}", tuple(evidence), tuple(fix))


def _check_airplay(f: Facts, snap: Snapshot) -> Finding | None:
    if snap.environment.platform != "darwin":
        return None
    holders = [e for e in f.entries if (e.listener.process or "").startswith(("ControlCe", "AirPlay"))]
    if not holders:
        return None
    return Finding(
        "airplay-port",
        "error",
        f"macOS AirPlay Receiver holds port {f.port}",
        (f"{holders[0].listener.process} listens on {holders[0].local}: that is AirPlay, not your server",),
        (
            "start your server on another port (flask run --port 5001)",
            "or turn off System Settings > General > AirDrop & Handoff > AirPlay Receiver",
        ),
    )


def _servers(f: Facts) -> list[Entry]:
    return [e for e in f.entries if e.listener.proto == "tcp"]


def _check_loopback(f: Facts, snap: Snapshot, lan_ip: str | None) -> Finding | None:
    entries = _servers(f)
    if not entries or any(e.reach > Reach.THIS_MACHINE for e in entries):
        return None
    if not all(e.listener.ip.is_loopback for e in entries):
        return None
    e = entries[0]
    binds = ", ".join(x.local for x in entries)
    proxied = _check_behind_proxy(f, e, binds)
    if proxied is not None:
        return proxied
    lines, fix = lan_fix(e, f.port, lan_ip)
    evidence = [f"{_who(e)} listens on {binds}: a loopback address, so only this machine can connect"]
    bind = e.detected.server.bind if e.detected else None
    if bind and bind.host is not None and e.listener.address in ("127.0.0.1", "::1"):
        evidence.append(f"{e.detected.server.label if e.detected else ''} binds {bind.host} by default".strip())
    code = script_fix(f, e, LAN_HOST, lan_ip)
    if code is not None:
        evidence.append(code.evidence)
        lines = _code_lines(code, e, f.port)
        fix = None
        if code.sink.debug:
            evidence.append(f"{code.sink.label} runs in debug mode")
    if (e.detected and e.detected.debug) or (code is not None and code.sink.debug):
        # never the command that opens a debugger to the LAN: share it (token, expiry) instead
        lines = [
            "this is a debug server: do not bind it to 0.0.0.0; share it with a token instead",
            f"bindscope share {f.port} --i-know",
            *(
                x
                for x in lines
                if not x.startswith(("restart it with:", "narrower,", "or, without a restart:"))
                and (code is None or x != code.fix)
            ),
        ]
        fix = None
        code = None
    lines.append(SHARE_NOTE.format(port=f.port))
    return CommandFinding(
        "loopback-only",
        "error",
        "Only this machine can connect: the server is bound to loopback",
        tuple(evidence),
        tuple(lines),
        command=fix,
        code=code.edit if code is not None else None,
        server_id=code.sink.server if code is not None else None,
    )


def _code_lines(code: CodeFix, e: Entry, port: int) -> list[str]:
    """The fix lines when the bind is decided by a line of the server's script."""
    lines = [code.fix]
    if code.narrower:
        lines.append(code.narrower)
    lines.append(f"or, without a restart: bindscope share {port}")
    return lines


def _loopback_upstream(u: Upstream, port: int) -> bool:
    """The proxy sends requests to `port` on this machine's loopback."""
    for a in u.addresses:
        host, _, p = a.rpartition(":")
        if p == str(port) and (host.startswith("127.") or host in ("localhost", "[::1]")):
            return True
    return False


def _proxy_path(f: Facts) -> tuple[Entry, Upstream, list[str]] | None:
    """(proxy, its upstream, its LAN URLs) when a reverse proxy on this machine that the LAN reaches
    passes requests to the port on loopback."""
    for proxy, ups, _error in f.proxies:
        hits = [u for u in ups if _loopback_upstream(u, f.port)]
        urls = [u for u in proxy.urls if "://127." not in u and "://[::1]" not in u]
        if hits and proxy.reach >= Reach.LAN and urls:
            return proxy, hits[0], urls
    return None


def _check_behind_proxy(f: Facts, e: Entry, binds: str) -> Finding | None:
    """A loopback app server that a reverse proxy on this machine serves to the LAN: the recommended
    production setup (the posture check's own fix), not something to open with 0.0.0.0."""
    found = _proxy_path(f)
    if found is not None:
        proxy, u, urls = found
        label = proxy.detected.server.label if proxy.detected else "the reverse proxy"
        return Finding(
            "behind-proxy",
            "info",
            f"Served through {label}: port {f.port} itself is on loopback, behind the proxy",
            (
                f"{_who(e)} listens on {binds}: only this machine (and the proxy) can connect to it",
                f"{u.proxy} {u.directive} {u.target} ({u.file}) passes requests to it",
                f"{_who(proxy)} listens on {proxy.local} (reach: {proxy.reach.label})",
            ),
            (
                f"other devices use the proxy: {urls[0]}",
                "keep the app server on loopback: that is the recommended production setup",
            ),
        )
    return None


def _check_address(f: Facts, snap: Snapshot, lan_ip: str | None) -> list[Finding]:
    out: list[Finding] = []
    entries = _servers(f)
    if not entries:
        return out
    view = NetView(snap)
    # bound to specific addresses, none of which the LAN uses
    specific = [e for e in entries if not e.listener.ip.is_unspecified and not e.listener.ip.is_loopback]
    if specific and not any(e.reach >= Reach.LAN for e in entries):
        e = specific[0]
        where = next((p.interface for p in e.paths if p.reachable), "?")
        lines, fix = lan_fix(e, f.port, lan_ip)
        evidence = [
            f"{_who(e)} listens on {e.local} only ({where}, reach: {e.reach.label})",
            f"devices on the LAN use {lan_ip or 'the address of the default-route interface'}",
        ]
        code = script_fix(f, e, LAN_HOST, lan_ip)
        if code is not None and code.sink.debug:
            code = None  # a debug server: never the edit that opens it to the LAN
        if code is not None:
            evidence.append(code.evidence)
            lines, fix = _code_lines(code, e, f.port), None
        out.append(
            CommandFinding(
                "wrong-address",
                "error",
                "The server listens on an address the LAN does not use",
                tuple(evidence),
                tuple(lines),
                command=fix,
                code=code.edit if code is not None else None,
                server_id=code.sink.server if code is not None else None,
            )
        )
    wildcard = [e for e in entries if e.listener.ip.is_unspecified]
    if wildcard and not specific and not any(e.reach >= Reach.LAN for e in entries):
        e = wildcard[0]
        lan_paths = [p for p in e.paths if p.audience in ("lan", "internet")]
        evidence = [f"{_who(e)} listens on {e.local}, but its reach is {e.reach.label}"]
        evidence += [f"{p.address} ({p.interface}): {p.why}" for p in lan_paths if not p.reachable][:4]
        if not lan_paths:
            evidence.append("no interface of this machine has a LAN address (only loopback, bridges, VPN or a NAT)")
        out.append(
            Finding(
                "no-lan-path",
                "error",
                "No address that LAN devices use leads to the server",
                tuple(evidence),
                ("see the environment findings below (firewall, container, WSL), and `bindscope explain 0.0.0.0`",),
            )
        )
    # the target names an address of this machine that no socket accepts
    if f.target.kind == "ip" and f.target.ip is not None:
        tip = f.target.ip
        accepted = any(
            p.reachable and ipaddress.ip_address(p.address.split("%")[0]) == tip for e in entries for p in e.paths
        )
        local = view.is_local(tip, f.target.zone)
        if not accepted and local:
            fam = "IPv6" if tip.version == 6 else "IPv4"
            out.append(
                Finding(
                    "target-not-accepted",
                    "error",
                    f"Connections to {f.target.host_text} are refused: no socket on port {f.port} accepts that address",
                    (
                        f"listening: {', '.join(e.local for e in entries)}",
                        f"{f.target.host_text} is an {fam} address of this machine",
                    ),
                    (f"use an address the server accepts: {', '.join(u for e in entries for u in e.urls[:1])}",),
                )
            )
        elif not local and not tip.is_loopback:
            out.append(
                Finding(
                    "target-not-local",
                    "warning",
                    f"{f.target.host_text} is not an address of this machine",
                    (f"this machine's LAN address is {lan_ip}" if lan_ip else "this machine has no LAN address",),
                    ("the other device must use one of this machine's addresses (see `bindscope urls PORT`)",),
                )
            )
    # v6-only wildcard and no IPv4 socket
    v4 = [e for e in entries if e.listener.family == "ipv4" or (e.listener.address == "::" and not _v6only(e, view))]
    v6only = [e for e in entries if e.listener.family == "ipv6" and _v6only(e, view)]
    if v6only and not v4:
        out.append(
            CommandFinding(
                "v6only",
                "error" if lan_ip and ":" not in lan_ip else "warning",
                "IPv4 clients are refused: the server's IPv6 socket is v6-only",
                (f"{_who(v6only[0])} listens on {v6only[0].local} with IPV6_V6ONLY=1 and on no IPv4 address",),
                tuple(
                    _fix_lines(v6only[0], LAN_HOST, f.port)
                    or [f"also listen on {LAN_HOST}, or on '::' with IPV6_V6ONLY=0 (dual-stack)"]
                ),
                command=_restart(v6only[0], LAN_HOST, f.port),
            )
        )
    v6 = [e for e in entries if e.listener.family == "ipv6"]
    if not v6 and (f.target.kind == "ip" and f.target.ip is not None and f.target.ip.version == 6):
        out.append(
            Finding(
                "ipv4-only",
                "error",
                "The server has no IPv6 socket, and the target is an IPv6 address",
                (f"listening: {', '.join(e.local for e in entries)}",),
                ("use the IPv4 address, or start the server on '::' as well",),
            )
        )
    out.extend(_check_localhost(f, entries, view))
    return out


def _v6only(e: Entry, view: NetView) -> bool:
    return e.listener.v6only if e.listener.v6only is not None else view.v6only_default()


def _accepts_text(entries: Sequence[Entry], address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return any(p.reachable and ipaddress.ip_address(p.address.split("%")[0]) == ip for e in entries for p in e.paths)


def _check_localhost(f: Facts, entries: Sequence[Entry], view: NetView) -> list[Finding]:
    if not f.localhost:
        return []
    first = f.localhost[0]
    ok = [a for a in f.localhost if _accepts_text(entries, a)]
    if _accepts_text(entries, first) or not ok:
        return []
    return [
        Finding(
            "localhost-resolution",
            "warning",
            f"`localhost` resolves to {first} first, and the server does not accept {first}",
            (
                f"localhost -> {', '.join(f.localhost)} (in this order)",
                f"the server accepts {', '.join(ok)} only",
            ),
            (
                f"on this machine use {ok[0] if ':' not in ok[0] else '[' + ok[0] + ']'}:{f.port} instead of "
                f"localhost (browsers retry the next address; curl, Node 17+ and many clients do not)",
            ),
        )
    ]


def _check_probe(f: Facts, snap: Snapshot) -> list[Finding]:
    if not f.probed:
        return [
            Finding(
                "self-probe-skipped",
                "info",
                "Self-probe not run",
                ("--no-probe, or a recorded snapshot: the verdict comes from the bind alone",),
            )
        ]
    out: list[Finding] = []
    entries = _servers(f)
    # What the bind alone says of each address. A firewall verdict cannot be checked from here:
    # this machine's connections to its own addresses arrive on loopback, not on the LAN interface.
    expect: dict[str, bool | None] = {}
    for e in entries:
        for p in e.paths:
            bind_says = None if (p.blocked_by or p.reachable is None) else p.reachable
            if bind_says is None:
                expect[p.address] = None
            elif expect.get(p.address, False) is not None:
                expect[p.address] = bool(expect.get(p.address, False) or bind_says)
    lines = []
    surprises = []
    for k in f.knocks:
        lines.append(
            f"{k.address} port {k.port}: {k.outcome}" + (f" ({k.detail})" if k.detail and k.outcome != "open" else "")
        )
        want = expect.get(k.address)
        if want is True and k.outcome != "open":
            surprises.append(f"{k.address}: bindscope expected it open (the socket accepts it), got {k.outcome}")
        elif want is False and k.outcome == "open":
            surprises.append(f"{k.address}: connected although no socket on port {f.port} should accept it")
    if lines:
        out.append(Finding("self-probe", "info", "Self-probe from this machine to its own addresses", tuple(lines)))
    if surprises:
        out.append(
            Finding(
                "self-probe-mismatch",
                "warning",
                "The self-probe disagrees with the bind",
                tuple(surprises),
                (
                    "a local firewall rule, a proxy or NAT may sit in the way; run `bindscope ls --port "
                    f"{f.port}` and check the firewall",
                ),
            )
        )
    return out


def _match_host_check(reply: HttpReply, framework: str | None, app_server: bool = False) -> HostCheck | None:
    """The host allow-list that rejected the request: the same classifier `probe` uses
    (knowledge/hostcheck.py; Django's DEBUG=False "Bad Request (400)" counts only with status 400)."""
    if reply.status is None:
        return None
    return hostcheck.match(reply.status, reply.body)


def _check_http(f: Facts) -> Finding | None:
    reply = f.http
    if reply is None:
        return None
    framework = next((e.framework for e in f.entries if e.framework), None)
    app_server = any(e.detected is not None and e.detected.server.app_server for e in f.entries)
    check = _match_host_check(reply, framework, app_server)
    host = reply.host_header.rsplit(":", 1)[0].strip("[]")
    if check is not None:
        return Finding(
            "host-not-allowed",
            "error",
            f"The app rejects the LAN address in the Host header ({check.label})",
            (
                f"GET / with Host: {reply.host_header} -> {reply.status} {reply.reason}".rstrip(),
                "the socket is reachable, but the app answers other devices with an error page",
            ),
            (f"{check.fix.format(host=host, hostport=reply.host_header)}   ({check.where})",),
        )
    if reply.tls:
        return Finding(
            "tls",
            "info",
            "The server speaks TLS: use https://",
            (f"GET / with Host: {reply.host_header}: {reply.error}",),
        )
    if reply.status is not None:
        return Finding(
            "http-reply",
            "info",
            f"HTTP with the LAN Host header works: {reply.status} {reply.reason}".rstrip(),
            (f"GET / with Host: {reply.host_header} -> {reply.status} {reply.reason}".rstrip(),),
        )
    return Finding("http-reply", "info", "No HTTP reply with the LAN Host header", (reply.error,))


def _check_exposure(f: Facts) -> list[Finding]:
    out = []
    for e in f.entries:
        if not e.warnings:
            continue
        fix = _fix_lines(e, LOCAL_HOST, e.listener.port) or [
            f"restart it listening on {LOCAL_HOST} instead of {e.listener.address}"
        ]
        fix.append(f"to let one device in: bindscope share {e.listener.port} --i-know (LAN only, token, expires)")
        out.append(
            CommandFinding(
                "dangerous-exposure",
                "critical",
                f"{e.detected.server.label if e.detected else 'This server'} is reachable beyond this machine",
                (*e.warnings, f"{_who(e)} listens on {e.local} (reach: {e.reach.label})"),
                tuple(fix),
                command=_restart(e, LOCAL_HOST, e.listener.port),
            )
        )
        break
    return out


def _check_posture(f: Facts) -> Finding | None:
    apps = [
        e
        for e in f.entries
        if e.detected is not None
        and e.detected.server.app_server
        and e.reach >= Reach.LAN
        and e.listener.ip.is_unspecified
    ]
    if not apps or not f.proxies:
        return None
    e = apps[0]
    proxy, ups, error = f.proxies[0]
    evidence = [
        f"{_who(e)} listens on {e.local} (reach: {e.reach.label})",
        f"{_who(proxy)} listens on {proxy.local}: clients can go around it to port {f.port}",
    ]
    matching = [u for u in ups if any(a.rsplit(":", 1)[-1] == str(f.port) for a in u.addresses)]
    for u in matching[:3]:
        evidence.append(
            f"{u.proxy} {u.directive} {u.target} ({u.file}): it reaches the app on {', '.join(u.addresses)}"
        )
    if error:
        evidence.append(f"{proxy.detected.server.label if proxy.detected else 'proxy'} configuration: {error}")
    fix = _fix_lines(e, LOCAL_HOST, f.port) or [f"bind the app server to {LOCAL_HOST}:{f.port}"]
    if matching and all(any(a.startswith(("127.", "localhost", "[::1]")) for a in u.addresses) for u in matching):
        fix.append("the proxy points at loopback, so it keeps working")
    return CommandFinding(
        "app-server-exposed",
        "warning",
        "The app server is reachable around the reverse proxy",
        tuple(evidence),
        tuple(fix),
        command=_restart(e, LOCAL_HOST, f.port),
    )


def diagnose(snap: Snapshot, f: Facts) -> Diagnosis:
    lan_ip = _lan_address(snap, 4) or _lan_address(snap)
    findings: list[Finding] = []
    server = next((e.framework for e in f.entries if e.framework), None)
    published = [x for pub in f.published for x in pub["paths"]]
    nothing = _check_nothing(f, snap) if not published else None
    if nothing is not None:
        findings.append(nothing)
    for extra in (_check_airplay(f, snap), _check_loopback(f, snap, lan_ip)):
        if extra is not None:
            findings.append(extra)
    if nothing is None and not (published and not f.entries):
        if not any(x.id == "loopback-only" for x in findings):
            findings.extend(_check_address(f, snap, lan_ip))
        else:
            findings.extend(_check_localhost(f, _servers(f), NetView(snap)))
        findings.extend(_check_probe(f, snap))
    http = _check_http(f)
    if http is not None:
        findings.append(http)
    findings.extend(_check_exposure(f))
    posture = _check_posture(f)
    if posture is not None:
        findings.append(posture)
    findings.extend(f.environment if f.environment is not None else [ENVIRONMENT_NOT_CHECKED])

    findings = [x if x.docs else replace(x, docs=f"docs/doctor.md#{x.id}") for x in findings]
    server = server or next((x.server_id for x in findings if getattr(x, "server_id", None)), None)
    lan_entries = [e for e in f.entries if e.reach >= Reach.LAN]
    pub_open = [x for x in published if x["reachable"] and x["audience"] in ("lan", "internet")]
    urls = [u for e in lan_entries for u in e.urls if "://127." not in u and "://[::1]" not in u][:3]
    lan = bool(lan_entries) or bool(pub_open and not f.entries)
    if pub_open and not f.entries:  # nothing listens here: Docker forwards the port to a container
        urls = [f"http://{_url_host(x['address'])}:{f.port}/" for x in pub_open][:3]
    if f.probed and lan:
        lan_addrs = {
            p.address for e in lan_entries for p in e.paths if p.reachable and p.audience in ("lan", "internet")
        }
        knocked = [k for k in f.knocks if k.address in lan_addrs]
        if knocked and not any(k.outcome == "open" for k in knocked):
            lan = False
    blocking = [x for x in findings if x.severity in ("error",)]
    if any(x.id in ("host-not-allowed", "airplay-port") for x in findings):
        lan = False
    if any(x.id == "wsl2-nat" or (x.id == "firewall-blocks" and x.severity == "error") for x in findings):
        lan = False
    critical = [x for x in findings if x.severity == "critical"]
    via = _proxy_path(f) if any(x.id == "behind-proxy" for x in findings) else None
    if via is not None and not lan_entries:  # served to the LAN by the proxy, as recommended
        lan, urls = True, via[2][:3]
    if lan:
        verdict = f"Devices on your LAN can connect: {urls[0] if urls else ''}".rstrip(": ")
        if via is not None and not lan_entries:
            label = via[0].detected.server.label if via[0].detected else "the reverse proxy"
            verdict += f" (through {label}; port {f.port} itself is on loopback)"
        if pub_open and not f.entries:
            to = sorted({t for x in pub_open for t in x["to"]})
            verdict += f" (Docker forwards it to container {', '.join(to)})"
        if blocking:
            verdict += f" (but: {blocking[0].title})"
        if critical:
            verdict += f"; CRITICAL: {critical[0].title}"
    else:
        firewall = [x for x in findings if x.id == "firewall-blocks" and x.severity == "error"]
        firewall += [x for x in findings if x.id == "docker-published" and x.severity == "error"]
        reason = (firewall or blocking)[:1]
        first = _reason(reason[0].title) if reason else "no address of this machine on the LAN leads to it"
        verdict = f"Other devices cannot connect: {first}"
        if critical:
            verdict += f"; CRITICAL: {critical[0].title}"
    return Diagnosis(
        target=f.target.raw,
        port=f.port,
        verdict=verdict,
        lan=lan,
        findings=findings,
        server=server,
        urls=urls,
        entries=list(f.entries),
        knocks=list(f.knocks),
        http=f.http,
        published=list(f.published),
    )


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _reason(title: str) -> str:
    """The part of a title after its colon: "Only this machine can connect: bound to loopback" -> the latter."""
    _head, sep, tail = title.partition(": ")
    return tail if sep and tail else title


def proxy_entries(entries: Sequence[Entry]) -> list[Entry]:
    """Reverse proxies listening on 80/443 (the seeds' production architecture)."""
    return [
        e
        for e in entries
        if e.detected is not None and e.detected.server.proxy and e.listener.port in (80, 443) and e.listener.pids
    ]


def probe_addresses(snap: Snapshot) -> list[str]:
    """Which of this machine's addresses the self-probe knocks on: every usable one."""
    out: list[str] = []
    for a in NetView(snap).addrs:
        if a.hidden and a.kind != "loopback":
            continue
        text = a.text
        if text not in out:
            out.append(text)
    return out[:16]


def lan_host_header(snap: Snapshot, entries: Sequence[Entry], port: int) -> tuple[str, str] | None:
    """(address to connect to, Host header) of the LAN path the phone would use."""
    for e in entries:
        for p in e.paths:
            if p.reachable and p.audience in ("lan", "internet") and not p.hidden:
                host = url(ipaddress.ip_address(p.address.split("%")[0]), port, "http")[len("http://") : -1]
                return p.address, host
    return None
