"""macOS / Windows / BSD adapter on psutil, plus the OS's own route command for the default
route. The parsers are pure and tested against recorded output (tests/unit)."""

from __future__ import annotations

import ipaddress
import os
import platform as _platform
import socket
import subprocess
import sys
from collections.abc import Iterable, Iterator

from ..model import Environment, Interface, Listener, Route
from .common import psutil_interfaces, psutil_listeners


def environment() -> Environment:
    name = "darwin" if sys.platform == "darwin" else "windows" if sys.platform == "win32" else sys.platform
    try:
        root = os.geteuid() == 0  # type: ignore[attr-defined,unused-ignore]
    except AttributeError:
        root = None
    return Environment(
        platform=name,
        release=_platform.release(),
        hostname=socket.gethostname(),
        is_root=root,
        # Windows sockets default to IPV6_V6ONLY=1, the BSDs and macOS to 0.
        bindv6only=1 if name == "windows" else 0,
    )


def interfaces() -> list[Interface]:
    return psutil_interfaces()


def routes() -> list[Route]:
    if sys.platform == "win32":
        text = _run(["route", "print"])
        return list(parse_windows_route_print(text.splitlines(), interfaces()))
    out: list[Route] = []
    for fam, args in (
        ("ipv4", ["route", "-n", "get", "default"]),
        ("ipv6", ["route", "-n", "get", "-inet6", "default"]),
    ):
        out.extend(parse_bsd_route_get(_run(args).splitlines(), fam))
    return out


def listeners(protos: tuple[str, ...] = ("tcp", "udp")) -> tuple[list[Listener], int]:
    return psutil_listeners(protos)


def _run(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def parse_bsd_route_get(lines: Iterable[str], family: str) -> Iterator[Route]:
    """`route -n get default` (macOS/BSD): `gateway: 192.168.1.1` / `interface: en0`."""
    fields: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.strip().partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    if "interface" in fields:
        gw = fields.get("gateway")
        yield Route(family, "0.0.0.0/0" if family == "ipv4" else "::/0", fields["interface"], gw or None, 0)


def parse_windows_route_print(lines: Iterable[str], ifaces: Iterable[Interface]) -> Iterator[Route]:
    """IPv4 default rows of `route print`: `0.0.0.0  0.0.0.0  GATEWAY  INTERFACE-IP  METRIC`.
    The interface column is an address; map it back to the adapter name."""
    by_addr = {a.ip: i.name for i in ifaces for a in i.addresses}
    for line in lines:
        p = line.split()
        if len(p) == 5 and p[0] == "0.0.0.0" and p[1] == "0.0.0.0":
            try:
                ifaddr = ipaddress.ip_address(p[3])
                metric = int(p[4])
            except ValueError:
                continue
            if ifaddr in by_addr:
                gw = None if p[2].lower() == "on-link" else p[2]
                yield Route("ipv4", "0.0.0.0/0", by_addr[ifaddr], gw, metric)
