"""Shared helpers for the unit tests: the recorded snapshots and a way to run the real CLI.

(A plain module, not conftest.py: tests/lab has its own conftest, and both are importable.)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"
LAPTOP = SNAPSHOTS / "laptop-wifi-docker-vpn.json"
CLOUD = SNAPSHOTS / "cloud-vm-public.json"
WSL2 = SNAPSHOTS / "wsl2-nat.json"
MACOS = SNAPSHOTS / "macos-laptop.json"
WINDOWS = SNAPSHOTS / "windows-laptop.json"


@dataclass
class Run:
    args: list[str]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def cli_env(**extra: str) -> dict[str, str]:
    """A plain environment for the CLI: no colour, fixed width, no debug traces."""
    env = {k: v for k, v in os.environ.items() if k not in ("BINDSCOPE_DEBUG", "FORCE_COLOR", "TERM")}
    env.update({"NO_COLOR": "1", "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"})
    env.update(extra)
    return env


def run_cli(*args: str | Path, timeout: float = 60, **env: str) -> Run:
    """Run `python -m bindscope ARGS` in a fresh interpreter, as a user would."""
    argv = [str(a) for a in args]
    proc = subprocess.run(
        [sys.executable, "-m", "bindscope", *argv],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        env=cli_env(**env),
        stdin=subprocess.DEVNULL,
    )
    return Run(argv, proc.returncode, proc.stdout, proc.stderr)


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def call_cli(*args: str | Path, **env: str) -> Run:
    """The same CLI entry point, called in this process (fast; for the many behaviour checks)."""
    from bindscope.cli import main

    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    with _environ(cli_env(**env)), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return Run(argv, code, out.getvalue(), err.getvalue())
