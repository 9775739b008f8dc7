"""Small helpers the lab test modules share (imported as `lab_helpers`, beside conftest.py)."""

from __future__ import annotations

import os

import pytest


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def tool_missing(what: str) -> None:
    """A tool the test needs is missing: skip, except on CI (CI installs it: .ci/run)."""
    if on_ci():
        pytest.fail(f"{what} (CI=true: .ci/run installs it, so this is an error, not a skip)", pytrace=False)
    pytest.skip(what)
