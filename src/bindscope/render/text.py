"""Human-readable output with rich: colour on a terminal, plain text when piped or NO_COLOR."""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..addr import hostport
from ..analyze.doctor import Diagnosis
from ..analyze.explain import Explanation
from ..analyze.listing import Listing
from ..analyze.ports import PortReport
from ..analyze.probeclass import ProbeReport, ScanReport
from ..analyze.urls import UrlReport
from ..model import Reach

REACH_STYLE = {
    "internet": "bold red",
    "lan": "bold yellow",
    "vpn": "yellow",
    "host-only": "cyan",
    "this-machine": "green",
    "nobody": "dim",
}


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich exits 1 here; let the CLI decide (a reader that stopped early is no error)
        self.quiet = True
        raise BrokenPipeError


def console(file: IO[str] | None = None) -> Console:
    out = file or sys.stdout
    tty = out.isatty()
    width = None if tty else int(os.environ.get("COLUMNS", "0") or 0) or 120
    return _Console(
        file=out,
        highlight=False,
        markup=False,
        emoji=False,
        width=width,
        no_color=bool(os.environ.get("NO_COLOR")) or None,
        soft_wrap=False,
    )


def _yes(ok: bool | None) -> Text:
    if ok is None:
        return Text("?", style="yellow")
    return Text("yes", style="green") if ok else Text("no", style="red")


def explain(result: Explanation, con: Console) -> None:
    binds = ", ".join(
        b.address + (f" (IPV6_V6ONLY={int(b.v6only)})" if b.address == "::" and b.v6only is not None else "")
        for b in result.binds
    )
    head = Text(f"{result.target}", style="bold")
    if result.port:
        head.append(f"  port {result.port}")
    con.print(head)
    if result.resolved:
        con.print(f"  resolves to: {', '.join(result.resolved)}")
    con.print(f"  a server binds: {binds}")
    if not result.bindable:
        con.print(Text(f"  cannot bind: {result.cannot_bind}", style="bold red"))
    reach = Text("  reach: ")
    reach.append(result.reach, style=REACH_STYLE.get(result.reach, ""))
    reach.append(f" — {result.summary}")
    con.print(reach)
    table = Table(box=box.SIMPLE, pad_edge=False, show_edge=False)
    for col in ("interface", "kind", "address", "scope", "who uses it", "connects", "why not"):
        table.add_column(col)
    for p in result.paths:
        table.add_row(p.interface, p.kind, p.url or p.address, p.scope, p.audience, _yes(p.connects), p.why or "")
    con.print(table)
    for w in result.warnings:
        con.print(Text(f"! {w}", style="yellow"))
    for n in result.notes:
        con.print(f"- {n}")


def urls(report: UrlReport, con: Console, qr: str | None = None) -> None:
    if report.status == "nothing-listening":
        con.print(Text(report.message, style="bold red"))
        return
    if report.local:
        con.print(Text("Local:", style="bold"))
        for u in report.local:
            con.print(f"  {u.url}")
    if report.network:
        con.print(Text("Network:", style="bold"))
        width = max(len(u.url) for u in report.network)
        for u in report.network:
            tags = [f"{u.interface}, {u.label}"]
            if u.primary:
                tags.append("default route")
            if u.audience != "lan":
                tags.append(u.audience)
            if u.hidden_why:
                tags.append(u.hidden_why)
            if u.blocked_by:
                tags.append(f"blocked by {u.blocked_by}")
            if u.not_checked:
                tags.append(f"not checked: {u.not_checked}")
            line = Text(f"  {u.url:<{width}}  ")
            line.append(f"({'; '.join(tags)})", style="dim" if u.virtual or u.hidden else "")
            con.print(line)
    style = "green" if report.status == "ok" else "bold red"
    con.print(Text(report.message, style=style))
    for w in report.warnings:
        con.print(Text(f"! {w}", style="yellow"))
    if qr:
        con.print(Text(f"Scan to open {report.best}:", style="bold"))
        con.print(Text(qr, style="black on white"), soft_wrap=True, overflow="ignore", crop=False)


def port(report: PortReport, con: Console) -> None:
    proto = report.proto.upper()
    tested = any(b.bind_test is not None for b in report.binds)
    if report.free:
        how = " (a real bind() succeeded on each)" if tested else ""
        con.print(Text(f"{proto} port {report.port} is free on every address and family{how}.", style="green"))
    elif not report.holders:
        con.print(
            Text(f"{proto} port {report.port} is not free: nothing listens on it, but bind() fails.", style="bold red")
        )
    else:
        con.print(Text(f"{proto} port {report.port} is in use:", style="bold red"))
        for h in report.holders:
            who = (
                f"pid {', '.join(map(str, h.pids))} {h.process or '?'}"
                if h.pids
                else "owner not visible (needs root, or it runs in another PID namespace)"
            )
            v6 = (
                ""
                if h.v6only is None or h.address.split("%")[0] != "::"
                else (" v6-only" if h.v6only else " dual-stack")
            )
            con.print(f"  {hostport(h.address, h.port)}{v6}  {who}  {h.user or ''}")
            if h.cmdline:
                con.print(Text(f"      {' '.join(h.cmdline)}", style="dim"))
    if not report.free:
        table = Table(box=box.SIMPLE, pad_edge=False, show_edge=False)
        rules = "by the rules" if tested else "would start"
        for col in ("a server binding", rules, *(["real bind()"] if tested else []), "blocked by"):
            table.add_column(col)
        for b in report.binds:
            label = b.address + ("" if b.address != "::" else (" (v6-only)" if b.v6only else " (dual-stack)"))
            real = [_yes(b.bind_test)] if tested and b.bind_test is not None else ([""] if tested else [])
            table.add_row(label, _yes(b.would_bind), *real, ", ".join(b.conflicts_with))
        con.print(table)
    if report.next_free is not None and not report.free:
        con.print(f"Next free port: {report.next_free}")
    for n in report.notes:
        con.print(f"- {n}")


def listing(result: Listing, con: Console) -> None:
    from ..analyze.listing import GROUP_TITLES, GROUPS

    protos = "/".join(p.upper() for p in result.protos)
    if not result.entries:
        what = "matching the filters" if result.total else "at all"
        con.print(f"No listening {protos} sockets {what} ({result.total} in all).")
    show_proto = len(result.protos) > 1
    show_ns = any(e.netns for e in result.entries)
    for level in GROUPS:
        group = [e for e in result.entries if e.reach == level]
        if not group:
            continue
        con.print(Text(f"{GROUP_TITLES[level]} ({len(group)})", style=REACH_STYLE.get(level.label, "") or "bold"))
        table = Table(box=box.SIMPLE, pad_edge=False, show_edge=False, padding=(0, 2, 0, 0))
        cols = [*(["proto"] if show_proto else []), *(["netns"] if show_ns else [])]
        for col in ("address", *cols, "process", "pid", "user", "server", "warning"):
            table.add_column(col, overflow="fold")
        for e in group:
            item = e.listener
            pids = (
                "" if not item.pids else str(item.pids[0]) + (f" +{len(item.pids) - 1}" if len(item.pids) > 1 else "")
            )
            extra = [*([item.proto] if show_proto else []), *([e.netns or "(this)"] if show_ns else [])]
            server = e.framework or ""
            if e.detected and e.detected.debug:
                server += " (debug)"
            table.add_row(
                e.local,
                *extra,
                item.process or ("?" if not item.pids else ""),
                pids,
                item.user or (str(item.uid) if item.uid is not None else ""),
                server,
                Text("!" * len(e.warnings), style="bold red") if e.warnings else "",
            )
        con.print(table)
    warned = [e for e in result.entries if e.warnings]
    if warned:
        con.print(Text("Warnings:", style="bold red"))
        for e in warned:
            for w in e.warnings:
                con.print(Text(f"! {e.local} {e.listener.process or '?'}: {w}", style="yellow"))
    _firewall_lines(result, con)
    reachable = [e for e in result.entries if e.reach > Reach.THIS_MACHINE and e.urls]
    if reachable:
        con.print(Text("Addresses to type (from another device first, then on this machine):", style="bold"))
        limit = 20
        for e in reachable[:limit]:
            who = e.framework or e.listener.process or "?"
            con.print(f"  {e.local:<22} {who:<16} {'  '.join(e.urls)}")
        if len(reachable) > limit:
            con.print(f"  ... and {len(reachable) - limit} more (--json lists every path)")
    if result.owners_unknown:
        why = (
            "no process here holds them: a process in another PID namespace (a container, a sandbox) or the kernel"
            if result.as_root
            else "another user's processes: run as root (sudo bindscope ls) to see them"
        )
        con.print(Text(f"{result.owners_unknown} of {len(result.entries)} sockets: owner unknown ({why})", style="dim"))
    for note in result.notes:
        con.print(f"- {note}")
    for err in result.errors:
        con.print(Text(f"! not read: {err}", style="yellow"))


SEVERITY_STYLE = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "dim"}
SEVERITY_MARK = {"critical": "!!", "error": "x", "warning": "!", "info": "-"}


def doctor(result: Diagnosis, con: Console) -> None:
    con.print(Text(f"bindscope doctor {result.target}", style="bold"))
    if result.entries:
        for e in result.entries:
            who = e.detected.server.label if e.detected else (e.listener.process or "unknown process")
            pid = f" pid {e.listener.pids[0]}" if e.listener.pids else ""
            con.print(f"  {e.local:<24} {who}{pid}  reach: {e.reach.label}")
    con.print()
    for f in result.findings:
        style = SEVERITY_STYLE.get(f.severity, "")
        con.print(Text(f"{SEVERITY_MARK.get(f.severity, '-')} [{f.severity}] {f.title}", style=style))
        for line in f.evidence:
            con.print(f"    {line}")
        for i, line in enumerate(f.fix):
            lead = "    fix: " if i == 0 else "         "
            style = "bold" if i == 0 and f.severity in ("error", "critical") else ""
            con.print(Text(f"{lead}{line}", style=style))
    con.print()
    con.print(Text(result.verdict, style="bold green" if result.lan else "bold red"))


PROBE_STYLE = {"open": "green", "refused": "bold red", "timeout": "bold red", "reset": "bold red"}


def probe(report: ProbeReport | ScanReport, con: Console) -> None:
    if isinstance(report, ScanReport):
        return _scan(report, con)
    head = Text(f"probe {report.target}", style="bold")
    head.append(f"  (Host: {report.host_header}, timeout {report.timeout:g} s)", style="dim")
    con.print(head)
    con.print(f"  name: {report.resolution.detail}")
    for r in report.results:
        line = Text(f"  {hostport(r.address, r.port)}  ")
        line.append(r.cls, style=PROBE_STYLE.get(r.cls, "bold red"))
        line.append(f"  {r.detail}")
        con.print(line)
        if r.app is not None:
            app = Text("      ")
            app.append(r.app.cls, style="green" if r.app.ok else "bold red")
            app.append(f"  {r.app.detail}")
            if r.app.server:
                app.append(f"  [server: {r.app.server}]", style="dim")
            con.print(app)
        if not r.ok:
            con.print(Text(f"      {r.meaning}", style="dim"))
    style = {"ok": "green", "partial": "yellow"}.get(report.verdict, "bold red")
    con.print(Text(f"{report.verdict}: {report.summary}", style=style))
    for step in report.next_steps:
        con.print(f"  -> {step}")
    for note in report.notes:
        con.print(f"- {note}")
    return None


def _scan(report: ScanReport, con: Console) -> None:
    head = Text(f"probe {report.host} ports {report.ports}", style="bold")
    head.append(
        f"  ({report.port_count} ports, timeout {report.timeout:g} s, {report.concurrency} at a time, "
        f"{report.elapsed_ms / 1000:.2f} s)",
        style="dim",
    )
    con.print(head)
    con.print(f"  name: {report.resolution.detail}")
    from ..analyze.probeclass import CONNECT_CLASSES, OPEN, ranges

    for a in report.addresses:
        con.print(Text(f"{a.address}: {len(a.open)} open", style="bold"))
        for p in a.open:
            line = Text(f"  {p.port:>5}  open")
            if p.app is not None:
                line.append("  ")
                line.append(p.app.cls, style="green" if p.app.ok else "bold red")
                line.append(f"  {p.app.detail}")
                if p.app.server:
                    line.append(f"  [server: {p.app.server}]", style="dim")
            con.print(line)
        for cls in CONNECT_CLASSES:
            ports = a.closed.get(cls, ())
            if cls == OPEN or not ports:
                continue
            listed = ranges(ports)
            label = "timeout (filtered)" if cls == "timeout" else cls
            con.print(f"  {label}: {len(ports)}" + (f"  ({listed})" if len(listed) <= 60 else ""))
        for name, count in a.errnos.items():
            con.print(f"    {name}: {count}")
    style = "green" if report.verdict == "open" else "bold red"
    con.print(Text(f"{report.verdict}: {report.summary}", style=style))
    for step in report.next_steps:
        con.print(f"  -> {step}")


def _firewall_lines(result: Listing, con: Console) -> None:
    """Paths a firewall blocks, or leaves unknown: one line per socket and reason."""
    lines: list[str] = []
    for e in result.entries:
        reasons: dict[str, list[str]] = {}
        for p in e.paths:
            if p.hidden or not (p.blocked_by or p.reachable is None):
                continue
            reasons.setdefault(p.why or "", []).append(p.address)
        maybe = f" (would reach {e.maybe_reach.label})" if e.maybe_reach is not None else ""
        for why, addrs in reasons.items():
            lines.append(f"  {e.local} {e.framework or e.listener.process or '?'}{maybe}: {why} ({', '.join(addrs)})")
    if lines:
        con.print(Text("Firewall:", style="bold"))
        for line in lines:
            con.print(Text(line))


def share_plan(plan: Any, con: Console) -> None:
    """`share --dry-run`: what would be shared, where, and with whom."""
    allowed = "any address (--allow any)" if plan.allow_any else ", ".join(plan.allowed)
    con.print(
        f"Would share {plan.server_label or 'the server'} on {plan.upstream_target} ({plan.mode}: {plan.mode_why})"
    )
    con.print(f"  listen on {plan.url()}" + (f" ({plan.interface})" if plan.interface else ""))
    con.print(f"  allowed: {allowed}")
    con.print(
        f"  for {plan.seconds // 60} min {plan.seconds % 60} s"
        if plan.seconds % 60
        else f"  for {plan.seconds // 60} min"
    )
    for note in plan.notes:
        con.print(f"  note: {note}")
