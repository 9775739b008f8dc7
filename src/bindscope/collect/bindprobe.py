"""A real bind() on this machine: the last word on whether a port is free.

Opens a socket with SO_REUSEADDR (as servers do), binds, and closes it at once. It never
listens, connects or sends anything."""

from __future__ import annotations

import socket


def can_bind(address: str, port: int, proto: str = "tcp", v6only: bool | None = None) -> bool:
    host, _, zone = address.partition("%")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    try:
        sock = socket.socket(fam, kind)
    except OSError:
        return False
    with sock:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6:
                if v6only is not None:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
                scope = socket.if_nametoindex(zone) if zone else 0
                sock.bind((host, port, 0, scope))
            else:
                sock.bind((host, port))
        except OSError:
            return False
    return True
