"""Scanners for the non-Python kinds (owner: the command-line/config work).

Contract with engine.py:
- `TRIGGERS[kind]`: a bytes regex per kind; a file of that kind whose bytes do not match cannot
  give a Hit or a Fact and is skipped unread.
- `SCANNERS[kind](ctx) -> ScanResult` for every kind in model.KINDS except "python"; never raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .model import FileContext, ScanResult

TRIGGERS: dict[str, re.Pattern[bytes]] = {}
SCANNERS: dict[str, Callable[[FileContext], ScanResult]] = {}
