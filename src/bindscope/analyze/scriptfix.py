"""The line of a server's own script that decides its bind (pure).

A server started from code (`python app.py` calling `app.run()`, `uvicorn.run(app)`,
`web.run_app(app)`, `HTTPServer(("127.0.0.1", 8000), ...)`) shows no host on its command line.
collect/script.py reads the script the process runs (`script_candidates` says which files);
here the audit's Python scanner (`audit.pyscan.binds`, the same constant propagation) lists its
bind sinks, `match` picks the one behind the socket, and `code_fix` words the one-line edit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..audit.pyscan import Sink, binds
from .servers import parse_argv


@dataclass(frozen=True)
class Script:
    """The source of the script a server process runs (read by collect/script.py)."""

    pid: int
    shown: str  # as on its command line: app.py, pkg/module.py (for -m pkg.module)
    path: str  # absolute (the process's working directory joined)
    text: str


@dataclass(frozen=True)
class CodeEdit:
    """Replace `old` (the whole line `line` of `path`, as written) with `new`."""

    path: str
    line: int
    old: str
    new: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class CodeFix:
    sink: Sink
    edit: CodeEdit
    fix: str  # the main fix line
    evidence: str  # which line starts which server, on what
    narrower: str = ""  # the same edit with the LAN address, as a line (or "")


def script_candidates(cmdline: Sequence[str]) -> tuple[str, ...]:
    """The files a `python SCRIPT ...` / `python -m pkg.module ...` command runs, relative to its
    working directory (or absolute); () for anything else (-c, a console script, not Python)."""
    tokens = list(cmdline)
    if not tokens or (len(tokens) == 1 and " " in tokens[0]):
        return ()
    argv = parse_argv(tokens)
    if argv is None:
        return ()
    if argv.module is not None:
        if not argv.module or not all(part.isidentifier() for part in argv.module.split(".")):
            return ()
        base = argv.module.replace(".", "/")
        return (f"{base}.py", f"{base}/__main__.py")
    script = argv.script
    if script is None or "/bin/" in script or "\\Scripts\\" in script:
        return ()  # not Python, -c, or a console script (flask, uvicorn): its command line is what to change
    return (script,)


def _same_host(sink_host: str, address: str) -> bool:
    """The sink's host is what the socket bound (`localhost` binds loopback)."""
    address = address.split("%")[0]
    if sink_host == "localhost":
        return ipaddress.ip_address(address).is_loopback
    try:
        return ipaddress.ip_address(sink_host.strip("[]")) == ipaddress.ip_address(address)
    except ValueError:
        return False


def match(sinks: Sequence[Sink], address: str, port: int, exact_port: bool = False) -> Sink | None:
    """The one sink that binds `address`:`port` (a sink with an unknown port counts when no sink
    names the port, unless `exact_port`); None when none or several (different lines) could."""
    hosts = [s for s in sinks if s.host is not None and _same_host(s.host, address)]
    exact = [s for s in hosts if s.port == port]
    found = exact or ([] if exact_port else [s for s in hosts if s.port is None])
    lines = {s.line for s in found}
    return found[0] if len(lines) == 1 else None


def _short(label: str) -> str:
    return label.split(" (")[0]


def code_fix(
    script: Script, address: str, port: int, host: str, lan_ip: str | None = None, exact_port: bool = False
) -> CodeFix | None:
    """The edit of `script` that makes the server on `address`:`port` bind `host` instead, or None
    (no sink found for that socket, several, or no safe one-line edit)."""
    sink = match(binds(script.text, script.shown), address, port, exact_port)
    if sink is None:
        return None
    edit = sink.edit(host)
    if edit is None:
        return None
    line, old, new = edit
    label = _short(sink.label)
    bound = sink.host or address
    if not sink.explicit:
        why = f"{bound} ({label}'s default)"
    elif sink.env:
        why = f"{bound} ({sink.env} is unset, so this default applies)"
    elif sink.via:
        why = f"{bound} (from {sink.via})"
    else:
        why = bound
    port_text = f":{sink.port}" if sink.port is not None else ""
    evidence = f"{script.shown} line {sink.line} starts {sink.label} on {bound}{port_text}: `{sink.call}`"
    if line == sink.line:
        fix = f"{script.shown} line {line}: `{old.strip()}` binds {why}; change it to `{new.strip()}`"
    elif not sink.explicit:  # a call over several lines: the host goes in on this one
        fix = (
            f"{script.shown} line {line}: `{old.strip()}` is part of the call on line {sink.line} "
            f"(`{sink.call}`), which binds {why}; change it to `{new.strip()}`"
        )
    else:
        fix = (
            f"{script.shown} line {line}: `{old.strip()}` sets the host that line {sink.line} (`{sink.call}`) "
            f"binds, {why}; change it to `{new.strip()}`"
        )
    if sink.env:
        fix += f" (or start it with {sink.env}={host})"
    narrower = ""
    if lan_ip and ":" not in lan_ip:
        alt = sink.edit(lan_ip)
        if alt is not None:
            narrower = f"narrower, the LAN address only: `{alt[2].strip()}`"
    return CodeFix(sink, CodeEdit(script.path, line, old, new), fix, evidence, narrower)
