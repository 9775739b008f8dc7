"""collect/: read this machine's facts (I/O only) and return a Snapshot.

Platform adapters sit side by side: `linux.py` (kernel interfaces: netlink, /proc, /sys)
and `portable.py` (psutil, for macOS, Windows and the BSDs), behind `snapshot()`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

from ..model import Snapshot


def snapshot(
    *,
    resolve: Iterable[str] = (),
    listeners: bool = True,
    protos: Iterable[str] = ("tcp", "udp"),
    all_netns: bool = False,
    lookups: bool = True,
    firewall: bool = False,
) -> Snapshot:
    """Collect this machine's facts. `resolve`: extra host names to look up (localhost and
    this machine's host name are always looked up). `all_netns`: also every other network
    namespace (Linux, root). `lookups=False`: no name lookups at all (`ls` needs none).
    `firewall`: also read the firewall rules (collect/firewall.py)."""
    from ..errors import BindscopeError
    from . import resolve as resolving

    if sys.platform.startswith("linux"):
        from . import linux as platform
    else:
        from . import portable as platform  # type: ignore[no-redef]

    env = platform.environment()
    interfaces = platform.interfaces()
    routes = platform.routes()
    spaces: list = []
    if all_netns:
        if not sys.platform.startswith("linux"):
            raise BindscopeError("--all-netns reads Linux network namespaces; this is not Linux")
        spaces, found, unknown = platform.namespaces(tuple(protos))  # type: ignore[attr-defined]
    else:
        found, unknown = platform.listeners(tuple(protos)) if listeners else ((), 0)
    names = ["localhost", *([env.hostname] if env.hostname else []), *resolve] if lookups else []
    return Snapshot(
        environment=env,
        interfaces=tuple(interfaces),
        routes=tuple(routes),
        listeners=tuple(found),
        resolver=resolving.resolve_all(names),
        owners_unknown=unknown,
        namespaces=tuple(spaces),
        firewall=_firewall() if firewall else None,
        taken_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        source="live",
    )


def _firewall():  # type: ignore[no-untyped-def]
    from .firewall import collect

    return collect()
