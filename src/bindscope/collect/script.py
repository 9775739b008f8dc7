"""The source of the script a server process runs (I/O: reads one file, read-only).

doctor reads `python app.py`'s app.py (relative to the process's working directory) to find the
line that decides the bind (analyze/scriptfix.py). Linux only (/proc/PID/cwd); size-capped; any
error means "not read".
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence

from ..analyze.scriptfix import Script

MAX_BYTES = 512 * 1024


def read_script(pid: int, candidates: Sequence[str], max_bytes: int = MAX_BYTES) -> Script | None:
    """The first of `candidates` (relative to the process's cwd, or absolute) that reads as a
    regular file of at most `max_bytes`; None otherwise."""
    if not sys.platform.startswith("linux") or not candidates:
        return None
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None
    for rel in candidates:
        # through /proc/PID/cwd: right even when the process runs in another mount namespace
        where = rel if os.path.isabs(rel) else f"/proc/{pid}/cwd/{rel}"
        shown_path = os.path.normpath(rel if os.path.isabs(rel) else os.path.join(cwd, rel))
        try:
            st = os.stat(where)
            if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
                continue
            fd = os.open(where, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
            with os.fdopen(fd, "rb") as fh:
                data = fh.read(max_bytes + 1)
        except (OSError, ValueError):
            continue
        if len(data) > max_bytes:
            continue
        return Script(pid, rel, shown_path, data.decode("utf-8", "replace"))
    return None
