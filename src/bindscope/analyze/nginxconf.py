"""nginx configuration text: where requests are proxied to (pure; collect/proxyconf.py reads the
files of a running nginx, audit/confscan.py the files of a project)."""

from __future__ import annotations

import re
from dataclasses import dataclass

PASS = re.compile(r"\b(proxy_pass|uwsgi_pass|fastcgi_pass|grpc_pass|scgi_pass)\s+([^;\s]+)\s*;")
UPSTREAM = re.compile(r"\bupstream\s+([\w.-]+)\s*\{([^}]*)\}", re.S)
SERVER = re.compile(r"\bserver\s+([^;\s]+)[^;]*;")
INCLUDE = re.compile(r"^\s*include\s+([^;]+);", re.M)


def strip_comments(text: str) -> str:
    """The text with `# ...` comments blanked; lines stay where they were."""
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def hostport(target: str) -> str:
    """`http://127.0.0.1:8000/api` -> `127.0.0.1:8000`."""
    text = re.sub(r"^[a-z]+://", "", target)
    return text.split("/", 1)[0]


@dataclass(frozen=True)
class Target:
    directive: str  # proxy_pass, uwsgi_pass, ...
    target: str  # as written
    address: str  # host:port (an upstream block's server resolved), or a unix: path
    line: int  # 1-based: the `server` line of an upstream block, else the directive's line


def targets(text: str) -> list[Target]:
    """Every address a config text proxies to, with its line."""
    clean = strip_comments(text)
    blocks: dict[str, list[tuple[str, int]]] = {}
    for m in UPSTREAM.finditer(clean):
        body_at = m.start(2)
        blocks[m.group(1)] = [
            (hostport(s.group(1)), clean.count("\n", 0, body_at + s.start()) + 1) for s in SERVER.finditer(m.group(2))
        ]
    out = []
    for m in PASS.finditer(clean):
        line = clean.count("\n", 0, m.start()) + 1
        hp = hostport(m.group(2))
        for address, at in blocks.get(hp, [(hp, line)]):
            out.append(Target(m.group(1), m.group(2), address, at))
    return out
