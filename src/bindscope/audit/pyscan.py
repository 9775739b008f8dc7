"""Python files: AST with constant propagation inside a module (owner: the Python-rules work).

Contract with engine.py:
- `TRIGGERS`: a bytes regex; a Python file whose bytes do not match it cannot give a Hit or a
  Fact, so the engine skips it without decoding or parsing (this is what makes audit fast).
- `scan(ctx) -> ScanResult`; never raises (a SyntaxError -> a line-level pass, `fallback` set).
"""

from __future__ import annotations

import re

from .model import FileContext, ScanResult

TRIGGERS = re.compile(rb"$^")  # placeholder: matches nothing


def scan(ctx: FileContext) -> ScanResult:
    return ScanResult()
