"""The project pass (pure; owner: the command-line/config work): after every file is scanned,
link Dockerfiles and compose services by build context, nginx upstreams with published ports,
and set the final severity of container-image binds (info inside an image; escalated when the
same project publishes that service beyond loopback).

Contract with engine.py: `link(hits, facts) -> hits`, where both are lists of (path, item) pairs
and paths are the reported (root-relative) paths."""

from __future__ import annotations

from .model import Fact, Hit


def link(hits: list[tuple[str, Hit]], facts: list[tuple[str, Fact]]) -> list[tuple[str, Hit]]:
    return hits
