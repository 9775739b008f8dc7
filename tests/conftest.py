"""Fixtures shared by the unit and lab tests."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from importlib import metadata, util
from pathlib import Path

import pytest

NOBODY = 65534
SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]


def _top_levels(dist: metadata.Distribution) -> set[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return {line.strip() for line in text.splitlines() if line.strip()}
    names = set()
    for f in dist.files or ():
        first = f.parts[0]
        if first in ("..", "__pycache__") or first.endswith((".dist-info", ".egg-info", ".pth")):
            continue
        names.add(first.split(".", 1)[0])
    return names


def _runtime_packages() -> set[str]:
    """Top-level import names of bindscope's runtime dependencies, recursively (extras left out)."""
    names: set[str] = set()
    seen: set[str] = set()
    todo = [r for r in metadata.distribution("bindscope").requires or () if "extra ==" not in r]
    while todo:
        name = re.match(r"[A-Za-z0-9_.-]+", todo.pop()).group(0)
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        names |= _top_levels(dist)
        todo += [r for r in dist.requires or () if "extra ==" not in r]
    return names


def _as_nobody(argv: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*SETPRIV, *argv], capture_output=True, text=True, timeout=60, **kwargs)


@pytest.fixture(scope="session")
def nobody_python() -> Iterator[tuple[list[str], dict[str, str]]]:
    """(argv prefix, environment) that runs bindscope as uid 65534. This interpreter may live where that user
    cannot read (pyenv under /root): then a system python of the same version with a world-readable copy of
    bindscope and its runtime dependencies on PYTHONPATH."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv (util-linux) to run bindscope as uid 65534")
    env = dict(os.environ, NO_COLOR="1", COLUMNS="160", PYTHONDONTWRITEBYTECODE="1", HOME="/nonexistent")
    if _as_nobody([sys.executable, "-c", "import bindscope.cli"], env=env, cwd="/").returncode == 0:
        yield [sys.executable, "-m", "bindscope"], env
        return
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = [c for c in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}") if os.path.exists(c)]
    usable = [
        c
        for c in candidates
        if _as_nobody([c, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], cwd="/").stdout.strip() == version
    ]
    if not usable:
        pytest.skip(
            f"uid {NOBODY} can neither run {sys.executable} nor a system python {version} "
            f"(tried {candidates or 'none'})"
        )
    copy = Path(tempfile.mkdtemp(prefix="bs-ls-nobody-"))
    try:
        import bindscope

        shutil.copytree(Path(bindscope.__file__).parent, copy / "bindscope", ignore=shutil.ignore_patterns("*.pyc"))
        for name in sorted(_runtime_packages()):
            spec = util.find_spec(name)
            if spec is None or spec.origin in (None, "built-in", "frozen"):
                continue
            if spec.submodule_search_locations:
                src = Path(next(iter(spec.submodule_search_locations)))
                shutil.copytree(src, copy / src.name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(spec.origin, copy / Path(spec.origin).name)
        for path in [copy, *copy.rglob("*")]:
            mode = path.stat().st_mode
            path.chmod(mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH | (0o111 if path.is_dir() else 0))
        env = dict(env, PYTHONPATH=str(copy))
        check = _as_nobody([usable[0], "-s", "-c", "import bindscope.cli, psutil"], env=env, cwd="/")
        if check.returncode != 0:
            pytest.skip(f"{usable[0]} as uid {NOBODY} cannot import the copied bindscope: {check.stderr[-500:]}")
        yield [usable[0], "-s", "-m", "bindscope"], env
    finally:
        shutil.rmtree(copy, ignore_errors=True)
