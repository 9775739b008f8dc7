"""The project pass (pure; owner: the command-line/config work): after every file is scanned,
link Dockerfiles and compose services by build context, nginx upstreams with published ports,
and set the final severity of container-image binds (info inside an image; escalated when the
same project publishes that service beyond loopback).

Contract with engine.py: `link(hits, facts) -> hits`, where both are lists of (path, item) pairs
and paths are the reported (root-relative) paths.

What it does:
- A Dockerfile's hits (CMD/ENTRYPOINT/ENV, "info" from confscan) are escalated to the rule's
  default severity when a compose service built from that Dockerfile (or running the image such
  a service builds) publishes the hit's port beyond loopback, or runs with network_mode: host.
  The message then names the compose file:line and service.
- A wildcard bind (bind-all, bind-all-default) in code or commands the image copies in (a
  Python `app.run(host="0.0.0.0")`, an entrypoint.sh, a Procfile under the build context that a
  COPY takes) is "info" unless published in the same way. Debug servers and open Jupyters in
  such files keep their severity: the same file is often also run on a laptop.
- proxy-bypass: an nginx upstream (host:port) that the project also publishes directly (a
  compose port of that service, or of that port, on every host address; a command or code on
  the host binding every interface on that port) -> a finding at the publish line, in place of
  the publish-all / bind-all finding there.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .cmdline import host_scope
from .model import Fact, Hit

_WILDCARD_RULES = frozenset({"bind-all", "bind-all-default"})
_IMAGE_RULES = frozenset({"bind-all", "bind-all-default", "debug-exposed", "jupyter-open", "debug-env-published"})


@dataclass(frozen=True)
class _Publish:
    path: str  # the compose file
    line: int  # the port item's line (or network_mode's service line)
    service: str
    host_ip: str
    published: str
    target: str
    host_network: bool = False

    def where(self) -> str:
        if self.host_network:
            return f"{self.path}:{self.line} (service {self.service}, network_mode: host)"
        addr = self.host_ip or "every host address"
        pub = f"{self.published}:" if self.published else ""
        return f"{self.path}:{self.line} (service {self.service}, {pub}{self.target} on {addr})"


def _norm(path: str) -> str:
    out = posixpath.normpath(path) if path else "."
    return "." if out in ("", "./") else out


def _under(path: str, directory: str) -> bool:
    return directory == "." or path == directory or path.startswith(directory.rstrip("/") + "/")


def _port_range(text: str) -> tuple[int, int] | None:
    parts = str(text).split("-", 1)
    if not all(p.isdigit() for p in parts):
        return None
    low = int(parts[0])
    return low, int(parts[-1])


def _wide(host_ip: str) -> bool:
    return not host_ip or host_scope(host_ip) in ("all", "specific")


def _publishes(path: str, data: Mapping[str, Any], port: int | None) -> list[_Publish]:
    """The ways compose service `data` makes `port` (None: any port) of its container reachable
    beyond loopback."""
    out = []
    service = str(data.get("service", ""))
    if data.get("network_mode") == "host":
        out.append(_Publish(path, int(data.get("line", 0) or 0), service, "", "", str(port or ""), True))
    for p in data.get("ports", []) or []:
        if not _wide(str(p.get("host_ip", ""))):
            continue
        rng = _port_range(p.get("target", ""))
        if port is not None and rng is not None and not rng[0] <= port <= rng[1]:
            continue
        out.append(
            _Publish(
                path,
                int(p.get("line", 0)),
                service,
                str(p.get("host_ip", "")),
                str(p.get("published", "")),
                str(p.get("target", "")),
            )
        )
    return out


def _copied(rel: str, copies: Iterable[str]) -> bool:
    """Whether a path relative to the build context is taken by one of the COPY/ADD sources."""
    for src in copies:
        s = _norm(src.lstrip("/"))
        if s == "." or "*" in s or rel == s or rel.startswith(s + "/"):
            return True
    return False


def link(hits: list[tuple[str, Hit]], facts: list[tuple[str, Fact]]) -> list[tuple[str, Hit]]:
    dockerfiles: dict[str, Mapping[str, Any]] = {p: f.data for p, f in facts if f.kind == "dockerfile"}
    services: list[tuple[str, Mapping[str, Any]]] = []
    for p, f in facts:
        if f.kind == "compose-service":
            services.append((p, {**f.data, "line": f.line}))
    upstreams = [(p, f) for p, f in facts if f.kind == "nginx-upstream"]

    # Dockerfile -> build contexts, and the services that run what it builds
    contexts: dict[str, set[str]] = {d: set() for d in dockerfiles}
    runners: dict[str, list[tuple[str, Mapping[str, Any]]]] = {d: [] for d in dockerfiles}
    built_images: dict[str, str] = {}
    for cpath, data in services:
        build = data.get("build")
        if build is None:
            continue
        dockerfile = _norm(posixpath.join(build, str(data.get("dockerfile") or "Dockerfile")))
        if dockerfile in dockerfiles:
            contexts[dockerfile].add(_norm(build))
            runners[dockerfile].append((cpath, data))
            if data.get("image"):
                built_images[str(data["image"])] = dockerfile
    for cpath, data in services:
        if data.get("build") is None and str(data.get("image", "")) in built_images:
            runners[built_images[str(data["image"])]].append((cpath, data))
    for d in dockerfiles:
        if not contexts[d]:
            contexts[d].add(_norm(posixpath.dirname(d)))

    def publishers(dockerfile: str, port: int | None) -> list[_Publish]:
        out: list[_Publish] = []
        for cpath, data in runners.get(dockerfile, []):
            out.extend(_publishes(cpath, data, port))
        return out

    def image_of(path: str) -> str | None:
        """The Dockerfile whose image carries this file (a COPY takes it), or None."""
        for d, ctxs in contexts.items():
            for c in ctxs:
                if _under(path, c):
                    rel = path if c == "." else path[len(c) + 1 :]
                    if _copied(rel, dockerfiles[d].get("copies", [])):
                        return d
        return None

    out: list[tuple[str, Hit]] = []
    for path, hit in hits:
        data = hit.data or {}
        if "service" in data or hit.rule not in _IMAGE_RULES:
            out.append((path, hit))
            continue
        port = data.get("port") if isinstance(data.get("port"), int) else None
        if path in dockerfiles and data.get("in_image"):
            pubs = publishers(path, port)
            if pubs:
                out.append((path, _escalate(hit, pubs[0])))
            else:
                out.append((path, replace(hit, severity="info", message=hit.message + _NOT_PUBLISHED)))
            continue
        image = image_of(path)
        if image is None:
            out.append((path, hit))
            continue
        pubs = publishers(image, port)
        if pubs:
            out.append((path, _escalate(hit, pubs[0], image)))
        elif hit.rule in _WILDCARD_RULES:
            out.append(
                (
                    path,
                    replace(
                        hit,
                        severity="info",
                        message=hit.message + f" (inside the image that {image} builds;{_NOT_PUBLISHED_TAIL}",
                    ),
                )
            )
        else:
            out.append((path, hit))

    return _proxy_bypass(out, services, upstreams)


_NOT_PUBLISHED_TAIL = " this project does not publish it beyond loopback)"
_NOT_PUBLISHED = " (inside the image;" + _NOT_PUBLISHED_TAIL


def _escalate(hit: Hit, pub: _Publish, image: str = "") -> Hit:
    inside = f" (in the image that {image} builds)" if image else ""
    publish = f"publish it on loopback only in {pub.path}: " + (
        "drop network_mode: host" if pub.host_network else f'"127.0.0.1:{pub.published or pub.target}:{pub.target}"'
    )
    # Inside a container the wide bind is right: a published port arrives on the container's
    # own interface, never on its loopback. What exposes it is how the port is published.
    if hit.rule in _WILDCARD_RULES:
        fix = f"{publish} (keep the wide bind inside the container: a published port does not reach its loopback)"
    elif hit.rule == "debug-exposed":
        fix = f"switch the debug mode off in the image, and {publish}"
    elif hit.rule == "jupyter-open":
        fix = f"set a token or password (drop the empty token), and {publish}"
    else:
        fix = f"{hit.fix}; or {publish}"
    return replace(
        hit,
        severity=None,
        message=f"{hit.message}{inside}; published beyond this machine by {pub.where()}",
        fix=fix,
    )


def _proxy_bypass(
    hits: list[tuple[str, Hit]],
    services: list[tuple[str, Mapping[str, Any]]],
    upstreams: list[tuple[str, Fact]],
) -> list[tuple[str, Hit]]:
    if not upstreams:
        return hits
    index = {(p, h.line, h.rule): k for k, (p, h) in enumerate(hits)}
    out = list(hits)
    added: set[tuple[str, int]] = set()

    def put(path: str, line: int, message: str, fix: str, data: Mapping[str, Any]) -> None:
        if (path, line) in added:
            return
        added.add((path, line))
        new = Hit("proxy-bypass", line, message, fix, data=dict(data))
        for rule in ("publish-all", "bind-all", "bind-all-default"):
            k = index.get((path, line, rule))
            if k is not None:
                out[k] = (path, new)
                return
        out.append((path, new))

    for npath, fact in upstreams:
        host = str(fact.data.get("host", ""))
        port = fact.data.get("port")
        if not isinstance(port, int):
            continue
        upstream = f"{host}:{port}"
        scope = host_scope(host)
        for cpath, data in services:
            names = {str(data.get(k, "")) for k in ("service", "container_name", "hostname")} - {""}
            by_name = host in names
            for p in data.get("ports", []) or []:
                if host_scope(str(p.get("host_ip", ""))) == "loopback" or (
                    p.get("host_ip") and not _wide(str(p["host_ip"]))
                ):
                    continue
                if p.get("host_ip") and host_scope(str(p["host_ip"])) == "specific":
                    continue
                target = _port_range(p.get("target", ""))
                published = _port_range(p.get("published", ""))
                if by_name:
                    hit_port = target is not None and target[0] <= port <= target[1]
                elif scope in ("loopback", "all"):
                    hit_port = published is not None and published[0] <= port <= published[1]
                else:
                    hit_port = False
                if hit_port:
                    put(
                        cpath,
                        int(p.get("line", 0)),
                        f"service {data.get('service')} is behind nginx ({npath}:{fact.line} proxies to {upstream}) "
                        f"and also published on every host address as {p.get('published') or 'a random port'}: "
                        "clients can skip the proxy (its TLS, auth, limits)",
                        f'"127.0.0.1:{p.get("published") or p.get("target")}:{p.get("target")}"'
                        " (or drop the ports entry)",
                        {"service": data.get("service"), "port": port, "host": "", "upstream": upstream},
                    )
        if scope not in ("loopback", "all"):
            continue
        for path, hit in list(out):
            d = hit.data or {}
            if hit.rule in _WILDCARD_RULES and "service" not in d and not d.get("in_image") and d.get("port") == port:
                if hit.severity == "info":
                    continue
                put(
                    path,
                    hit.line,
                    f"{hit.message}; nginx ({npath}:{fact.line}) proxies to {upstream}, so this is the app server "
                    "behind the proxy, reachable without it",
                    hit.fix,
                    {**d, "upstream": upstream},
                )
    return out
