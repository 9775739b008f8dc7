"""The pre-commit hook (.pre-commit-hooks.yaml) run by the real `pre-commit` tool on a temporary
git repository. pre-commit installs a hook's repository from git, so the hook repository here is
a temporary git clone of this working tree (its files as they are on disk, committed once);
pre-commit then builds bindscope into its own virtualenv with pip (PyPI, no other network)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BAD = 'from flask import Flask\n\napp = Flask(__name__)\n\napp.run(host="0.0.0.0", port=5000)\n'
GOOD = 'from flask import Flask\n\napp = Flask(__name__)\n\napp.run(host="127.0.0.1", port=5000)\n'


def _missing(what: str) -> None:
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"{what} (CI=true: the test extras install it, so this is an error, not a skip)", pytrace=False)
    pytest.skip(what)


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    """A git repository holding this working tree's package and hook definition."""
    if shutil.which("git") is None:
        _missing("git is not installed")
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        _missing("pre-commit is not installed (pip install -e '.[test]')")
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, repo / name)
    shutil.copytree(ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "bindscope as on disk")
    return repo, _git(repo, "rev-parse", "HEAD").strip()


def _project(base: Path, hook: tuple[Path, str], app: str) -> Path:
    repo, rev = hook
    proj = base / "project"
    proj.mkdir()
    (proj / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n      - id: bindscope-audit\n"
    )
    (proj / "app.py").write_text(app)
    (proj / "README.md").write_text("a project\n")
    _git(proj, "init", "-q", "-b", "main")
    _git(proj, "add", "-A")
    return proj


def _pre_commit(proj: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update({"PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "GIT_CONFIG_GLOBAL": os.devnull})
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=proj,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")  # shared: the hook's virtualenv is built once


def test_hook_fails_on_a_wildcard_bind_and_names_it(tmp_path, hook_repo, home):
    proj = _project(tmp_path, hook_repo, BAD)
    r = _pre_commit(proj, home)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "bindscope audit" in r.stdout
    assert "app.py:5:1  medium  bind-all" in r.stdout, r.stdout
    assert "Failed" in r.stdout


def test_hook_passes_on_a_loopback_bind(tmp_path, hook_repo, home):
    proj = _project(tmp_path, hook_repo, GOOD)
    r = _pre_commit(proj, home)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Passed" in r.stdout
