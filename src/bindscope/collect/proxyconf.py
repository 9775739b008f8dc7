"""Where a running reverse proxy sends requests: nginx `proxy_pass`/`uwsgi_pass`/... and
`upstream` blocks, Caddy `reverse_proxy` (I/O: reads config files, runs nothing).

nginx is read from its configuration files (`-c FILE` of the master process, else the usual
places), following `include` globs; `nginx -T` is not run because it opens log files.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..analyze.nginxconf import INCLUDE, PASS, SERVER, UPSTREAM, hostport, strip_comments

_NGINX_DEFAULTS = ("/etc/nginx/nginx.conf", "/usr/local/nginx/conf/nginx.conf", "/usr/local/etc/nginx/nginx.conf")
_CADDY_DEFAULTS = ("/etc/caddy/Caddyfile",)
_INCLUDE = INCLUDE
_PASS, _UPSTREAM, _SERVER = PASS, UPSTREAM, SERVER
_strip_comments, _hostport = strip_comments, hostport


@dataclass(frozen=True)
class Upstream:
    proxy: str  # "nginx" | "caddy"
    directive: str  # proxy_pass, uwsgi_pass, reverse_proxy
    target: str  # as written: http://127.0.0.1:8000, unix:/run/app.sock, app_servers
    addresses: tuple[str, ...]  # host:port after resolving an upstream block's servers
    file: str


def _nginx_files(main: str, limit: int = 200) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    todo = [main]
    base = os.path.dirname(main)
    while todo and len(out) < limit:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = _strip_comments(fh.read())
        except OSError:
            continue
        out.append((path, text))
        for inc in _INCLUDE.findall(text):
            pattern = inc.strip().strip("\"'")
            if not os.path.isabs(pattern):
                pattern = os.path.join(base, pattern)
            todo.extend(sorted(glob.glob(pattern)))
    return out


def nginx_upstreams(cmdline: Sequence[str] = ()) -> tuple[list[Upstream], str | None]:
    """(upstreams, error) of the nginx whose master has `cmdline`."""
    words = " ".join(cmdline).split()
    main = None
    if "-c" in words and words.index("-c") + 1 < len(words):
        main = words[words.index("-c") + 1]
    candidates = [main] if main else [p for p in _NGINX_DEFAULTS if os.path.exists(p)]
    if not candidates:
        return [], "nginx configuration not found"
    files = _nginx_files(candidates[0])
    if not files:
        return [], f"cannot read {candidates[0]}"
    blocks: dict[str, list[str]] = {}
    for _path, text in files:
        for name, body in _UPSTREAM.findall(text):
            blocks[name] = [_hostport(s) for s in _SERVER.findall(body)]
    out = []
    for path, text in files:
        for directive, target in _PASS.findall(text):
            hp = _hostport(target)
            addrs = tuple(blocks.get(hp, [hp]))
            out.append(Upstream("nginx", directive, target, addrs, path))
    return out, None


def caddy_upstreams(cmdline: Sequence[str] = ()) -> tuple[list[Upstream], str | None]:
    words = list(cmdline)
    path = None
    if "--config" in words and words.index("--config") + 1 < len(words):
        path = words[words.index("--config") + 1]
    path = path or next((p for p in _CADDY_DEFAULTS if os.path.exists(p)), None)
    if path is None:
        return [], "Caddyfile not found"
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = _strip_comments(fh.read())
    except OSError as exc:
        return [], f"cannot read {path}: {exc.strerror}"
    out = []
    for match in re.finditer(r"\breverse_proxy\s+(?:[/@]\S*\s+)?([^\s{]+(?:\s+[^\s{/@]+)*)", text):
        targets = match.group(1).split()
        out.append(Upstream("caddy", "reverse_proxy", " ".join(targets), tuple(_hostport(t) for t in targets), path))
    return out, None


def upstreams(proxy_id: str, cmdline: Sequence[str]) -> tuple[list[Upstream], str | None]:
    if proxy_id == "nginx":
        return nginx_upstreams(cmdline)
    if proxy_id == "caddy":
        return caddy_upstreams(cmdline)
    return [], f"reading {proxy_id}'s configuration is not supported"
