"""collect/: read this machine's facts (I/O only) and return a Snapshot.

Platform adapters sit side by side: `linux.py` (kernel interfaces: netlink, /proc, /sys)
and `portable.py` (psutil, for macOS, Windows and the BSDs), behind `snapshot()`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from ..model import Snapshot


def snapshot(
    *, resolve: Iterable[str] = (), listeners: bool = True, protos: Iterable[str] = ("tcp", "udp")
) -> Snapshot:
    """Collect this machine's facts. `resolve`: extra host names to look up (localhost and
    this machine's host name are always looked up)."""
    from . import resolve as resolving

    if sys.platform.startswith("linux"):
        from . import linux as platform
    else:
        from . import portable as platform  # type: ignore[no-redef]

    env = platform.environment()
    interfaces = platform.interfaces()
    routes = platform.routes()
    found, unknown = platform.listeners(tuple(protos)) if listeners else ((), 0)
    names = ["localhost", *([env.hostname] if env.hostname else []), *resolve]
    return Snapshot(
        environment=env,
        interfaces=tuple(interfaces),
        routes=tuple(routes),
        listeners=tuple(found),
        resolver=resolving.resolve_all(names),
        owners_unknown=unknown,
        taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
        source="live",
    )
