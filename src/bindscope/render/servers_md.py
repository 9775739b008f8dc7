"""docs/servers.md, written from the knowledge table (knowledge/servers.py), so the page and
the code cannot disagree: `python -m bindscope.render.servers_md > docs/servers.md`."""

from __future__ import annotations

from ..analyze.fixes import describe_bind
from ..knowledge.servers import ALL, LOCALHOST, SERVERS, Bind, Server

_HOST_WORDS = {ALL: "every interface", LOCALHOST: "localhost", None: "(required)"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(bind: Bind) -> str:
    host = _HOST_WORDS.get(bind.host, bind.host)
    port = "(required)" if bind.port is None else ("random" if bind.port == 0 else str(bind.port))
    return f"{host} : {port}"


def _recognised(server: Server) -> str:
    parts = [*server.programs, *(f"python -m {m}" for m in server.modules)]
    text = ", ".join(f"`{p}`" for p in parts) or "(from code only)"
    if server.subcommands:
        text += " + " + "/".join(server.subcommands)
    return text


def markdown() -> str:
    lines = [
        "# Servers bindscope knows",
        "",
        "Written from `src/bindscope/knowledge/servers.py` (`python -m bindscope.render.servers_md`): the one table",
        "that `ls`, `doctor` and `audit` read. **verified** names the version whose defaults, startup line and",
        "port-in-use message `tests/lab/test_server_defaults_lab.py` checks against the real server on every test",
        "run; the other rows come from the servers' source (../shared/reference/server-defaults.md).",
        "",
        "| server | recognised by | default host : port | families | how to set host and port | startup line | "
        "port in use | verified |",
        "|---|---|---|---|---|---|---|---|",
    ]
    seen: set[tuple[str, str]] = set()
    for s in SERVERS:
        if s.bind is None or (s.id, s.label) in seen:
            continue
        seen.add((s.id, s.label))
        b = s.bind
        how = "; ".join(describe_bind(b))
        if b.lan_note:
            how += f". Note: {b.lan_note}"
        startup = f"`{b.startup}`" if b.startup else ""
        if b.banner_before_bind:
            startup += " (printed before it binds)"
        row = [
            f"{s.label} (`{s.id}`)",
            _recognised(s),
            _default(b),
            b.families,
            how,
            startup,
            f"`{b.in_use}`" if b.in_use else "",
            b.verified,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(markdown())
