"""Host name resolution, as this machine's resolver answers it (getaddrinfo order)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterable


def resolve(name: str) -> tuple[str, ...]:
    """Addresses for `name` in the order getaddrinfo gives them (AF_UNSPEC, TCP), without
    duplicates; () when the name does not resolve."""
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return ()
    seen: list[str] = []
    for _fam, _type, _proto, _canon, sockaddr in infos:
        addr = str(sockaddr[0])
        if len(sockaddr) >= 4 and sockaddr[3] and "%" not in addr:
            with contextlib.suppress(OSError):
                addr = f"{addr}%{socket.if_indextoname(sockaddr[3])}"
        if addr not in seen:
            seen.append(addr)
    return tuple(seen)


def resolve_all(names: Iterable[str]) -> dict[str, tuple[str, ...]]:
    return {name: resolve(name) for name in dict.fromkeys(n.lower().rstrip(".") for n in names if n)}
