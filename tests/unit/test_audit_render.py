"""`bindscope audit --format sarif` against the official SARIF 2.1.0 JSON schema (tests/data, see
its README for where it comes from), and what the SARIF says: rules, levels, locations."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from unit_helpers import cli_env

from bindscope.audit.rules import RULES

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "data" / "sarif-schema-2.1.0.json"
RULES_DOC = Path(__file__).resolve().parents[2] / "docs" / "RULES.md"

APP = 'from flask import Flask\n\napp = Flask(__name__)\n\napp.run(host="0.0.0.0", debug=True)\n'
WILD = 'import uvicorn\n\nuvicorn.run("app:app", host="0.0.0.0", port=8000)\n'
COMPOSE = 'services:\n  db:\n    image: redis:7\n    ports:\n      - "6379:6379"\n'
DOCKERFILE = 'FROM python:3.12-slim\nCMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]\n'


@pytest.fixture(scope="module")
def schema() -> dict:
    data = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert (
        data["$id"] == "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
    )
    assert data["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    jsonschema.Draft7Validator.check_schema(data)
    return data


def sarif_of(root: Path, *args: str) -> tuple[int, dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "bindscope", "audit", "--format", "sarif", *args],
        cwd=root,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=cli_env(),
        timeout=120,
    )
    assert proc.stderr == "", proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def validate(schema: dict, log: dict) -> None:
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_the_schema_rejects_a_broken_log(schema):
    """The validation can fail: a result without a message, a level SARIF does not know."""
    log = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "r", "level": "severe"}]}],
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(log, schema, cls=jsonschema.Draft7Validator)


def test_sarif_validates_and_says_what_was_found(tmp_path, schema):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "app.py").write_text(APP)
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "main.py").write_text(WILD)
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "odd name [1].py").write_text(WILD)
    code, log = sarif_of(tmp_path)
    validate(schema, log)
    assert code == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "bindscope"
    assert [r["id"] for r in driver["rules"]] == list(RULES)
    for r in driver["rules"]:
        assert "helpUri" not in r  # no invented address: the help text names the RULES.md section
        assert f"docs/RULES.md#{r['id']}" in r["help"]["text"]
        assert r["shortDescription"]["text"] == RULES[r["id"]].title
    got = {
        (
            res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            res["locations"][0]["physicalLocation"]["region"]["startLine"],
            res["ruleId"],
            res["level"],
        )
        for res in run["results"]
    }
    assert got == {
        ("web/app.py", 5, "debug-exposed", "error"),  # critical
        ("svc/main.py", 3, "bind-all", "warning"),  # medium
        ("odd%20name%20%5B1%5D.py", 3, "bind-all", "warning"),
        ("docker-compose.yml", 5, "publish-datastore", "error"),  # high
        ("Dockerfile", 2, "bind-all", "note"),  # info: inside an image, not published
    }
    for res in run["results"]:
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert loc["region"]["startColumn"] >= 1
        assert res["message"]["text"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"


def test_sarif_of_a_clean_tree_and_of_skipped_files(tmp_path, schema):
    (tmp_path / "app.py").write_text('app.run(host="127.0.0.1")\n')
    (tmp_path / "blob.py").write_bytes(b"\x00\x01\x02")
    code, log = sarif_of(tmp_path)
    validate(schema, log)
    assert code == 0
    run = log["runs"][0]
    assert run["results"] == []
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == ["skipped blob.py: binary (a NUL byte in the first 8 KB)"]


def test_absolute_paths_become_file_uris(tmp_path, schema):
    (tmp_path / "main.py").write_text(WILD)
    _code, log = sarif_of(Path("/"), str(tmp_path))
    validate(schema, log)
    loc = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc == {"uri": (tmp_path / "main.py").as_uri()}


def test_help_anchors_exist_in_rules_md():
    """The help text points at docs/RULES.md#<rule>: each rule has a heading with that anchor."""
    text = RULES_DOC.read_text(encoding="utf-8")
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    anchors |= set(re.findall(r'<a (?:name|id)="([^"]+)"', text))
    assert set(RULES) <= anchors, set(RULES) - anchors


def test_progress_bar_draws_on_a_terminal_only_after_its_delay():
    """On a real pseudo-terminal: nothing during the first second, then a rich bar with the
    count of files, removed on close."""
    import os
    import select

    from bindscope.render.audit import ProgressBar

    def drain(fd: int) -> bytes:
        data = b""
        while select.select([fd], [], [], 0.2)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
        return data

    master, slave = os.openpty()
    out = os.fdopen(slave, "w", encoding="utf-8")
    try:
        bar = ProgressBar(out)
        bar(1, 500)
        out.flush()
        assert drain(master) == b""  # a fast scan never shows it
        bar.DELAY = 0.0
        for done in range(2, 501):
            bar(done, 500)
        bar.close()
        out.flush()
        shown = drain(master).decode("utf-8", "replace")
    finally:
        out.close()
        os.close(master)
    assert "auditing" in shown
    assert "/500" in shown
