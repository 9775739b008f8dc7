"""The audit engine on real files in temporary trees, with the real scanners: file kinds, what is
walked and what is skipped (and why), robustness on hostile trees, inline suppression per file
kind, [tool.bindscope] config, --fail-on exit codes and bad input."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from unit_helpers import Run, call_cli, cli_env

import bindscope
from bindscope.audit import engine
from bindscope.audit.engine import AuditReport, audit, kind_of
from bindscope.audit.model import FileContext, ScanResult
from bindscope.errors import BindscopeError

FLASK_WILD = 'from flask import Flask\n\napp = Flask(__name__)\n\napp.run(host="0.0.0.0", port=5000)\n'
FLASK_DEBUG = 'from flask import Flask\n\napp = Flask(__name__)\n\napp.run(host="0.0.0.0", debug=True)\n'
FLASK_LOCAL = 'from flask import Flask\n\napp = Flask(__name__)\n\napp.run(host="127.0.0.1", port=5000)\n'
AUDIT = [sys.executable, "-m", "bindscope", "audit"]
COMPOSE_DB = 'services:\n  db:\n    image: postgres:16\n    ports:\n      - "5432:5432"\n'


def write(root: Path, rel: str, text: str | bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


@contextlib.contextmanager
def cwd(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def keys(report: AuditReport) -> set[tuple[str, int, str]]:
    return {(f.path, f.line, f.rule) for f in report.findings}


def run_audit(root: Path, *args: str) -> Run:
    """`python -m bindscope audit ARGS` in a fresh interpreter, run from `root`."""
    proc = subprocess.run(
        [*AUDIT, *args],
        cwd=root,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
    )
    return Run(["audit", *args], proc.returncode, proc.stdout, proc.stderr)


def one_line_error(r: Run) -> str:
    assert r.code == 2, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
    assert len(r.err_lines) == 1, r.err
    assert r.out == ""
    return r.err_lines[0]


# ------------------------------------------------------------------------------ kinds


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("app.py", "python"),
        ("src/pkg/gui.pyw", "python"),
        ("Procfile", "procfile"),
        ("Procfile.dev", "procfile"),
        ("scripts/start.sh", "shell"),
        ("run.bash", "shell"),
        ("Dockerfile", "dockerfile"),
        ("docker/Dockerfile.prod", "dockerfile"),
        ("web.Dockerfile", "dockerfile"),
        ("Containerfile", "dockerfile"),
        ("docker-compose.yml", "compose"),
        ("docker-compose.override.yaml", "compose"),
        ("compose.yaml", "compose"),
        ("compose.prod.yml", "compose"),
        ("Makefile", "makefile"),
        ("GNUmakefile", "makefile"),
        ("makefile", "makefile"),
        ("build/rules.mk", "makefile"),
        ("deploy/app.service", "systemd"),
        ("uwsgi.ini", "uwsgi_ini"),
        ("deploy/site.uwsgi.ini", "uwsgi_ini"),
        ("nginx.conf", "nginx"),
        ("deploy/nginx/app.conf", "nginx"),
        ("deploy/nginx/conf/app.conf", "nginx"),
        ("etc/sites-available/default", "nginx"),
        ("etc/sites-enabled/app", "nginx"),
        ("conf.d/app.conf", "nginx"),
        ("README.md", None),
        ("config.yml", None),
        ("ansible/playbook.yaml", None),
        ("setup.cfg", None),
        ("tox.ini", None),
        ("supervisor/app.conf", None),
        ("bin/web", None),  # no extension and no head: unknown until read
    ],
)
def test_kind_of_by_name(path, kind):
    assert kind_of(path) == kind


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"#!/usr/bin/env python3\n", "python"),
        (b"#!/usr/bin/python3.11 -u\n", "python"),
        (b"#!/bin/sh\nexec gunicorn app:app\n", "shell"),
        (b"#!/usr/bin/env -S bash -eu\n", "shell"),
        (b"#!/usr/bin/env node\n", None),
        (b"#!/usr/bin/perl\n", None),
        (b"just text\n", None),
        (b"", None),
    ],
)
def test_kind_of_extensionless_by_shebang(head, kind):
    assert kind_of("bin/web", head) == kind


def test_kind_of_ini_by_section():
    assert kind_of("deploy/app.ini", b"; the app\n[uwsgi]\nhttp = :8000\n") == "uwsgi_ini"
    assert kind_of("deploy/app.ini", b"[tox]\nenvlist = py311\n") is None


# ------------------------------------------------------------------------------ the walk


def test_skips_vcs_venvs_node_modules_caches_and_tests(tmp_path):
    write(tmp_path, "app.py", FLASK_WILD)
    for rel in (
        ".git/hooks/app.py",
        "node_modules/pkg/app.py",
        "lib/__pycache__/app.py",
        "env/lib/python3.11/site-packages/pkg/app.py",
        "tests/app.py",
        "pkg/test/app.py",
        ".tox/py311/app.py",
    ):
        write(tmp_path, rel, FLASK_WILD)
    write(tmp_path, "myvenv/pyvenv.cfg", "home = /usr/bin\n")
    write(tmp_path, "myvenv/lib/server.py", FLASK_WILD)
    report = audit([str(tmp_path)])
    assert {f.path for f in report.findings} == {f"{tmp_path}/app.py"}
    reasons = {Path(p).relative_to(tmp_path).as_posix(): r for p, r in report.dirs_skipped}
    assert reasons[".git"] == "version control"
    assert reasons["node_modules"] == "JavaScript dependencies"
    assert reasons["myvenv"] == "virtualenv (pyvenv.cfg)"
    assert reasons["tests"].startswith("tests")
    assert reasons["pkg/test"].startswith("tests")
    assert reasons["lib/__pycache__"] == "tool cache"
    assert "env/lib/python3.11/site-packages" in reasons

    with_tests = audit([str(tmp_path)], include_tests=True)
    assert {f.path for f in with_tests.findings} == {
        f"{tmp_path}/app.py",
        f"{tmp_path}/tests/app.py",
        f"{tmp_path}/pkg/test/app.py",
    }


def test_paths_are_reported_as_given(tmp_path):
    write(tmp_path, "proj/web/app.py", FLASK_WILD)
    with cwd(tmp_path):
        assert keys(audit(["proj"])) == {("proj/web/app.py", 5, "bind-all")}
        assert keys(audit(["./proj/"])) == {("proj/web/app.py", 5, "bind-all")}
        assert keys(audit(["proj/web/app.py"])) == {("proj/web/app.py", 5, "bind-all")}
    with cwd(tmp_path / "proj"):
        assert keys(audit()) == {("web/app.py", 5, "bind-all")}
        assert keys(audit(["."])) == {("web/app.py", 5, "bind-all")}
        # the same file named twice, or a file and its directory, are audited once
        assert keys(audit(["web/app.py", "web/app.py"])) == {("web/app.py", 5, "bind-all")}
        twice = audit([".", "web", "web/app.py", "./web/app.py"])
        assert [(f.path, f.line) for f in twice.findings] == [("web/app.py", 5)]
        assert ("web", "already walked (named twice, or inside another PATH)") in twice.dirs_skipped


def test_a_scan_root_named_tests_is_scanned(tmp_path):
    """Only directories below the PATH count as tests: naming a tests folder scans it."""
    write(tmp_path, "tests/fixture_app/app.py", FLASK_WILD)
    with cwd(tmp_path / "tests"):
        assert keys(audit(["fixture_app"])) == {("fixture_app/app.py", 5, "bind-all")}


def test_extensionless_script_with_shebang_is_scanned(tmp_path):
    write(tmp_path, "bin/serve", "#!/usr/bin/env python3\n" + FLASK_WILD)
    write(tmp_path, "bin/LICENSE", "app.run(host='0.0.0.0')\n")  # no shebang: not a kind
    with cwd(tmp_path):
        assert keys(audit()) == {("bin/serve", 6, "bind-all")}


# ------------------------------------------------------------------------------ robustness


def test_hostile_tree(tmp_path):
    """Binary files, invalid UTF-8, Python 2, a Jinja-templated .py, a 10 MB file, 2000-deep
    nesting, a symlink loop: audit finishes, reports what can be reported and lists the rest."""
    root = tmp_path / "proj"
    write(root, "ok.py", FLASK_WILD)
    write(root, "blob.py", b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 64)
    write(root, "latin.py", b"# caf\xe9 \xff\xfe\n" + FLASK_WILD.encode())
    write(
        root, "legacy.py", 'print "starting"\nfrom flask import Flask\napp = Flask(__name__)\napp.run(host="0.0.0.0")\n'
    )
    write(
        root,
        "templated/app.py",
        "from flask import Flask\n{% if cookiecutter.debug %}\nDEBUG = True\n{% endif %}\n"
        'app = Flask("{{ cookiecutter.name }}")\napp.run(host="0.0.0.0")\n',
    )
    filler = "x = 1  # padding to make a large module\n" * (10 * 1024 * 1024 // 40)
    write(root, "big.py", filler + FLASK_WILD)
    write(root, "deep.py", "x = " + "[" * 2000 + "]" * 2000 + "\n" + FLASK_WILD)
    write(root, "deep2.py", "x = " + "+".join(["1"] * 20000) + "\n" + FLASK_WILD)
    write(root, "nested.py", "x = " + "f(" * 2000 + ")" * 2000 + "\n" + FLASK_WILD)
    (root / "loop").mkdir()
    (root / "loop" / "again").symlink_to("..", target_is_directory=True)
    (root / "self").symlink_to(".", target_is_directory=True)
    (root / "dangling.py").symlink_to("nowhere.py")
    write(root, "utf16.py", "\ufeff".encode("utf-16-le") + FLASK_WILD.encode("utf-16-le"))
    with cwd(root):
        report = audit()
    found = keys(report)
    lines = FLASK_WILD.count("\n")
    assert ("ok.py", 5, "bind-all") in found
    assert ("latin.py", 6, "bind-all") in found
    assert ("legacy.py", 4, "bind-all") in found  # Python 2: the line-level pass still reports
    assert ("templated/app.py", 6, "bind-all") in found  # Jinja: the same
    assert ("big.py", filler.count("\n") + 5, "bind-all") in found
    assert ("utf16.py", 5, "bind-all") in found
    for name in ("deep.py", "deep2.py", "nested.py"):
        skipped = dict(report.files_skipped)
        assert name in skipped or (name, 1 + lines, "bind-all") in found, (name, skipped.get(name))
    skipped = dict(report.files_skipped)
    assert skipped["blob.py"].startswith("binary")
    assert skipped["dangling.py"] == "broken symlink"
    walked = dict(report.dirs_skipped)
    assert walked["loop/again"].startswith("already walked")
    assert walked["self"].startswith("already walked")
    assert {p for p, _ in report.fallback} >= {"legacy.py", "templated/app.py"}
    # nothing is reported twice through the loops
    assert len(report.findings) == len(found)


def test_unreadable_file_is_skipped_with_the_reason(request):
    # not under pytest's tmp_path: its parents are private to root, and the audit may run as nobody
    nobody = request.getfixturevalue("nobody_python") if os.geteuid() == 0 else None
    with tempfile.TemporaryDirectory(prefix="bs-audit-") as tmp:
        os.chmod(tmp, 0o755)
        root = Path(tmp) / "proj"
        write(root, "app.py", FLASK_WILD)
        write(root, "secret.py", FLASK_WILD).chmod(0)
        write(root, "locked/inner.py", FLASK_WILD)
        (root / "locked").chmod(0)
        try:
            skipped, dirs, found = _audit_unprivileged(root, nobody)
        finally:
            (root / "locked").chmod(0o755)
    assert skipped == {"secret.py": "unreadable: Permission denied"}
    assert dirs == {"locked": "unreadable: Permission denied"}
    assert found == {("app.py", "bind-all")}


def _audit_unprivileged(
    root: Path, nobody: tuple[list[str], dict[str, str]] | None
) -> tuple[dict[str, str], dict[str, str], set[tuple[str, str]]]:
    if os.geteuid() != 0:
        with cwd(root):
            report = audit()
        return dict(report.files_skipped), dict(report.dirs_skipped), {(f.path, f.rule) for f in report.findings}
    assert nobody is not None
    prefix, env = nobody  # root reads everything: run the real CLI as nobody (tests/conftest.py)
    proc = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *prefix, "audit", "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    return (
        {s["path"]: s["reason"] for s in data["skipped"]},
        {s["path"]: s["reason"] for s in data["skipped_dirs"]},
        {(f["path"], f["rule"]) for f in data["findings"]},
    )


def test_a_scanner_bug_is_a_skip_reason_not_a_crash(tmp_path):
    """The engine's guard around scanners: a scanner that raises (here one written to raise,
    since the real ones are not meant to) costs that file only, with the error as the reason."""

    def broken(ctx: FileContext) -> ScanResult:
        def deeper(n: int) -> int:
            return deeper(n + 1)

        deeper(0)
        return ScanResult()

    p = write(tmp_path, "app.py", FLASK_WILD)
    triggers = {"python": engine._scanners()[1]["python"]}
    _kind, result, reason, _ = engine._scan_one(str(p), "python", {"python": broken}, triggers, "app.py")
    assert result is None and reason is not None
    assert reason.startswith("internal error: RecursionError")


def test_fifo_and_oversized_files_are_not_read(tmp_path):
    write(tmp_path, "app.py", FLASK_WILD)
    os.mkfifo(tmp_path / "pipe.py")  # opening it would block forever
    with cwd(tmp_path):
        report = audit()
    assert dict(report.files_skipped) == {"pipe.py": "not a regular file"}
    assert keys(report) == {("app.py", 5, "bind-all")}


def test_pep263_coding_cookie(tmp_path):
    src = '# -*- coding: latin-1 -*-\n# caf\xe9\nfrom flask import Flask\napp = Flask("caf\xe9")\n'
    src += 'app.run(host="0.0.0.0")\n'
    write(tmp_path, "app.py", src.encode("latin-1"))
    with cwd(tmp_path):
        report = audit()
    assert keys(report) == {("app.py", 5, "bind-all")}
    assert report.findings[0].snippet == 'app.run(host="0.0.0.0")'


# ------------------------------------------------------------------------------ suppression


SUPPRESSION_CASES = [
    # (file, bad text, the finding's (line, rule), suppressed variants)
    (
        "app.py",
        FLASK_WILD,
        (5, "bind-all"),
        [
            FLASK_WILD.replace("port=5000)\n", "port=5000)  # bindscope: ignore[bind-all]\n"),
            FLASK_WILD.replace("port=5000)\n", "port=5000)  # bindscope: ignore\n"),
            FLASK_WILD.replace("port=5000)\n", "port=5000)  # noqa  # bindscope: ignore[debug-exposed, bind-all]\n"),
            FLASK_WILD.replace("\napp.run", "# bindscope: ignore[bind-all]\napp.run"),
        ],
    ),
    (
        "docker-compose.yml",
        COMPOSE_DB,
        (5, "publish-datastore"),
        [
            COMPOSE_DB.replace('"5432:5432"\n', '"5432:5432"  # bindscope: ignore[publish-datastore]\n'),
            COMPOSE_DB.replace('      - "5432', '      # bindscope: ignore\n      - "5432'),
        ],
    ),
    (
        "Dockerfile",
        'FROM python:3.12-slim\nCOPY . /app\nCMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]\n',
        (3, "bind-all"),
        [
            "FROM python:3.12-slim\nCOPY . /app\n# bindscope: ignore[bind-all]\n"
            'CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]\n'
        ],
    ),
    (
        "Procfile",
        "web: gunicorn --bind 0.0.0.0:$PORT app:app\n",
        (1, "bind-all"),
        ["# bindscope: ignore[bind-all]\nweb: gunicorn --bind 0.0.0.0:$PORT app:app\n"],
    ),
    (
        "run.sh",
        "#!/bin/sh\nset -e\nexec uvicorn app:app --host 0.0.0.0 --port 8000\n",
        (3, "bind-all"),
        ["#!/bin/sh\nset -e\nexec uvicorn app:app --host 0.0.0.0 --port 8000  # bindscope: ignore[bind-all]\n"],
    ),
    (
        "Makefile",
        "serve:\n\tpython manage.py runserver 0.0.0.0:8000\n",
        (2, "bind-all"),
        ["serve:\n\t# bindscope: ignore[bind-all]\n\tpython manage.py runserver 0.0.0.0:8000\n"],
    ),
    (
        "deploy/app.service",
        "[Unit]\nDescription=app\n\n[Service]\nExecStart=/srv/venv/bin/gunicorn --bind 0.0.0.0:8000 app:app\n",
        (5, "bind-all"),
        [
            "[Unit]\nDescription=app\n\n[Service]\n; bindscope: ignore[bind-all]\n"
            "ExecStart=/srv/venv/bin/gunicorn --bind 0.0.0.0:8000 app:app\n",
            "[Unit]\nDescription=app\n\n[Service]\n# bindscope: ignore\n"
            "ExecStart=/srv/venv/bin/gunicorn --bind 0.0.0.0:8000 app:app\n",
        ],
    ),
    (
        "uwsgi.ini",
        "[uwsgi]\nmodule = app:app\nhttp = 0.0.0.0:8000\n",
        (3, "bind-all"),
        ["[uwsgi]\nmodule = app:app\n; bindscope: ignore[bind-all]\nhttp = 0.0.0.0:8000\n"],
    ),
]


@pytest.mark.parametrize(
    ("name", "bad", "finding", "variants"), SUPPRESSION_CASES, ids=[c[0] for c in SUPPRESSION_CASES]
)
def test_inline_suppression_per_kind(tmp_path, name, bad, finding, variants):
    write(tmp_path / "bad", name, bad)
    with cwd(tmp_path / "bad"):
        report = audit()
    assert (name, *finding) in keys(report), keys(report)
    assert report.suppressed == 0
    for i, text in enumerate(variants):
        d = tmp_path / f"v{i}"
        write(d, name, text)
        with cwd(d):
            report = audit()
        assert not [f for f in report.findings if f.rule == finding[1]], (text, report.findings)
        assert report.suppressed >= 1, text


def test_suppression_names_the_rule(tmp_path):
    """An ignore comment for another rule, or a comment two lines above, suppresses nothing."""
    write(tmp_path, "a.py", FLASK_WILD.replace("port=5000)\n", "port=5000)  # bindscope: ignore[debug-exposed]\n"))
    write(tmp_path, "b.py", FLASK_WILD.replace("app = Flask", "# bindscope: ignore\napp = Flask"))
    write(tmp_path, "c.py", FLASK_WILD.replace("\napp.run", "x = 1  # bindscope: ignore\napp.run"))
    with cwd(tmp_path):
        report = audit()
    assert {(f.path, f.rule) for f in report.findings} == {
        ("a.py", "bind-all"),
        ("b.py", "bind-all"),
        ("c.py", "bind-all"),
    }
    assert report.suppressed == 0


# ------------------------------------------------------------------------------ config


def test_config_exclude_severity_fail_on_include_tests(tmp_path):
    write(tmp_path, "app.py", FLASK_WILD)
    write(tmp_path, "debug.py", FLASK_DEBUG)
    write(tmp_path, "vendor/lib/app.py", FLASK_WILD)
    write(tmp_path, "examples/demo.py", FLASK_WILD)
    write(tmp_path, "tests/app.py", FLASK_WILD)
    write(tmp_path, "docker-compose.yml", COMPOSE_DB)
    with cwd(tmp_path):
        before = audit()
    assert {f.path for f in before.findings} == {
        "app.py",
        "debug.py",
        "vendor/lib/app.py",
        "examples/demo.py",
        "docker-compose.yml",
    }
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.bindscope]\nexclude = ["vendor/", "examples/*.py"]\n'
        'severity = { bind-all = "high", publish-datastore = "off" }\nfail-on = "critical"\ninclude-tests = true\n',
    )
    with cwd(tmp_path):
        report = audit()
    assert {(f.path, f.rule, f.severity) for f in report.findings} == {
        ("app.py", "bind-all", "high"),
        ("tests/app.py", "bind-all", "high"),
        ("debug.py", "debug-exposed", "critical"),
    }
    assert report.fail_on == "critical"
    assert report.config == str(tmp_path / "pyproject.toml")
    assert dict(report.dirs_skipped)["vendor"].startswith("excluded by [tool.bindscope] exclude 'vendor/'")
    assert dict(report.files_skipped)["examples/demo.py"] == "excluded by [tool.bindscope] exclude 'examples/*.py'"
    # found from a sub-directory (nearest parent), globs relative to the pyproject's directory
    with cwd(tmp_path / "vendor"):
        assert audit().findings == []
    # arguments override the config
    with cwd(tmp_path):
        assert audit(fail_on="high", include_tests=False).fail_on == "high"
        assert "tests/app.py" not in {f.path for f in audit(include_tests=False).findings}


def test_config_fail_on_decides_the_exit_code(tmp_path):
    write(tmp_path, "app.py", FLASK_WILD)
    assert run_audit(tmp_path).code == 1
    write(tmp_path, "pyproject.toml", '[tool.bindscope]\nfail-on = "high"\n')
    assert run_audit(tmp_path).code == 0
    assert run_audit(tmp_path, "--fail-on", "medium").code == 1


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[tool.bindscope]\nexclude = 3\n", "exclude must be a list"),
        ('[tool.bindscope]\nfail-on = "severe"\n', "fail-on = 'severe'"),
        ('[tool.bindscope]\nseverity = { no-such-rule = "high" }\n', "unknown rule 'no-such-rule'"),
        ('[tool.bindscope]\nseverity = { bind-all = "loud" }\n', "bind-all = 'loud'"),
        ('[tool.bindscope]\nexclued = ["x"]\n', "unknown key 'exclued'"),
        ('[tool.bindscope]\ninclude-tests = "yes"\n', "include-tests must be true or false"),
        ("[tool.bindscope\nexclude = []\n", "not valid TOML"),
        ("[tool]\nbindscope = 1\n", "must be a table"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(tmp_path, toml, needle):
    write(tmp_path, "app.py", FLASK_WILD)
    write(tmp_path, "pyproject.toml", toml)
    line = one_line_error(run_audit(tmp_path))
    assert needle in line and "pyproject.toml" in line, line
    with pytest.raises(BindscopeError):
        audit([str(tmp_path)])


def test_glob_regex():
    def match(pattern: str, path: str) -> bool:
        return engine._excluder([pattern])(path) is not None

    assert match("vendor", "vendor") and match("vendor", "a/vendor/b.py")
    assert match("vendor/", "vendor/x/y.py") and not match("vendor/", "vendors/x.py")
    assert match("docs/*.py", "docs/conf.py") and not match("docs/*.py", "docs/api/conf.py")
    assert not match("docs/*.py", "x/docs/conf.py")  # with a "/": anchored at the config's directory
    assert match("docs/**/*.py", "docs/conf.py") and match("docs/**/*.py", "docs/a/b/conf.py")
    assert match("*.gen.py", "a/b/c.gen.py") and not match("*.gen.py", "a/b/c.py")
    assert match("/build", "build/x.py") and not match("/build", "src/build/x.py")
    assert match("settings_[ab].py", "proj/settings_a.py") and not match("settings_[ab].py", "settings_c.py")


# ------------------------------------------------------------------------------ the command


def test_fail_on_exit_codes(tmp_path):
    write(tmp_path, "wild/app.py", FLASK_WILD)  # bind-all: medium
    write(tmp_path, "debug/app.py", FLASK_DEBUG)  # debug-exposed: critical
    write(tmp_path, "local/app.py", FLASK_LOCAL)  # nothing
    assert run_audit(tmp_path, "local").code == 0
    assert run_audit(tmp_path, "wild").code == 1  # default: low
    assert run_audit(tmp_path, "wild", "--fail-on", "medium").code == 1
    assert run_audit(tmp_path, "wild", "--fail-on", "high").code == 0
    assert run_audit(tmp_path, "debug", "--fail-on", "critical").code == 1
    assert run_audit(tmp_path, "wild", "--fail-on", "info").code == 1


def test_info_findings_never_fail_by_default(tmp_path):
    """A wildcard bind inside a container image that nothing publishes is info."""
    write(tmp_path, "Dockerfile", 'FROM python:3.12-slim\nCMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]\n')
    r = run_audit(tmp_path, "--json")
    data = r.json()
    assert [(f["rule"], f["severity"]) for f in data["findings"]] == [("bind-all", "info")]
    assert r.code == 0
    assert run_audit(tmp_path, "--fail-on", "info").code == 1


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-dir"],
        ["--format", "xml"],
        ["--fail-on", "severe"],
        ["--json", "--format", "sarif"],
        ["--no-such-flag"],
        [""],
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args):
    write(tmp_path, "app.py", FLASK_WILD)
    one_line_error(run_audit(tmp_path, *args))


def test_text_output(tmp_path):
    write(tmp_path, "app.py", FLASK_WILD)
    write(tmp_path, "blob.py", b"\x00\x01binary")
    r = run_audit(tmp_path)
    assert r.code == 1 and r.err == ""
    lines = r.out.splitlines()
    assert lines[0].startswith("app.py:5:1  medium  bind-all  ")
    assert lines[1].startswith("    fix: ")
    assert "127.0.0.1" in lines[1]
    assert lines[-1].startswith("1 finding (1 medium) in 1 file scanned; 1 skipped; ")
    assert lines[-1].endswith("(--verbose lists them)")
    v = run_audit(tmp_path, "--verbose")
    assert "skipped files (1):" in v.out.splitlines()
    assert "  blob.py: binary (a NUL byte in the first 8 KB)" in v.out.splitlines()


def test_json_output(tmp_path):
    write(tmp_path, "app.py", FLASK_WILD)
    write(tmp_path, "debug.py", FLASK_DEBUG)
    write(tmp_path, "blob.py", b"\x00\x01binary")
    r = run_audit(tmp_path, "--json")
    assert r.code == 1
    data = r.json()
    assert r.out == run_audit(tmp_path, "--format", "json").out  # the same, and the same twice
    assert data["command"] == "audit"
    assert [(f["path"], f["line"], f["column"], f["rule"], f["severity"]) for f in data["findings"]] == [
        ("app.py", 5, 1, "bind-all", "medium"),
        ("debug.py", 5, 1, "debug-exposed", "critical"),
    ]
    f = data["findings"][0]
    assert set(f) == {"path", "line", "column", "rule", "severity", "title", "message", "fix", "snippet", "docs"}
    assert f["snippet"] == 'app.run(host="0.0.0.0", port=5000)'
    assert f["docs"] == "docs/RULES.md#bind-all"
    assert data["summary"] == {
        "findings": 2,
        "by_severity": {"info": 0, "low": 0, "medium": 1, "high": 0, "critical": 1},
        "files_scanned": 2,
        "files_skipped": 1,
        "suppressed": 0,
        "fail_on": "low",
        "failed": True,
    }
    assert data["skipped"] == [{"path": "blob.py", "reason": "binary (a NUL byte in the first 8 KB)"}]
    assert data["config"] is None


def test_public_api_stays_callable(tmp_path):
    """`bindscope.audit` is the function; once the package bindscope.audit is imported Python
    binds that name to it, and it is callable too."""
    write(tmp_path, "app.py", FLASK_WILD)
    first = bindscope.audit(str(tmp_path))
    second = bindscope.audit([str(tmp_path)], fail_on="high")
    assert keys(first) == keys(second) == {(f"{tmp_path}/app.py", 5, "bind-all")}
    assert (first.exit_code, second.exit_code) == (1, 0)


def test_cli_in_process(tmp_path):
    write(tmp_path, "app.py", FLASK_WILD)
    with cwd(tmp_path):
        r = call_cli("audit", "--json", "--no-progress")
    assert r.code == 1 and r.json()["findings"][0]["rule"] == "bind-all"


def test_plain_audit_imports_neither_rich_nor_yaml(tmp_path):
    """A Python-only tree, output piped: rich (terminal output) and yaml (compose files) stay
    unimported; a compose file brings yaml in."""
    write(tmp_path, "app.py", FLASK_WILD)
    code = (
        "import sys; from bindscope.cli import main; main(['audit', sys.argv[1], '--no-progress']); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'yaml'}), file=sys.stderr)"
    )

    def heavy(path: Path) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=cli_env(), timeout=60
        )
        return proc.stderr.strip().splitlines()[-1]

    assert heavy(tmp_path) == "[]"
    write(tmp_path, "docker-compose.yml", COMPOSE_DB)
    assert heavy(tmp_path) == "['yaml']"
