"""The labelled audit corpus (tests/corpus): `bindscope.audit` over every case, precision and
recall over (case, file, line, rule), both at least 0.95; labelled severities must match.

The labels say what a careful reviewer would report (tests/corpus/README.md), written apart
from the scanners: a miss here is a scanner to fix or a label to argue about, never a label to
bend to the code."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "corpus"))
from score import CASES, Case, Score, expected, load_cases, run_bindscope

from bindscope.audit.model import KINDS, SEVERITIES
from bindscope.audit.rules import RULES

CORPUS_CASES = load_cases()

# The corpus's own idea of which kind each file is, by name (the engine has its own, kind_of):
# used only to check that every kind has cases.
_KIND_BY_NAME = (
    ("python", r".*\.py"),
    ("procfile", r"(.*/)?Procfile(\..*)?"),
    ("shell", r".*\.sh|bin/web"),
    ("dockerfile", r"(.*/)?(Dockerfile(\..*)?|.*\.Dockerfile|Containerfile)"),
    ("compose", r"(.*/)?(docker-)?compose[^/]*\.ya?ml"),
    ("makefile", r"(.*/)?(Makefile|makefile|GNUmakefile|.*\.mk)"),
    ("systemd", r".*\.service"),
    ("uwsgi_ini", r".*\.ini"),
    ("nginx", r"(.*/)?(nginx[^/]*\.conf|nginx/.*\.conf|sites-(available|enabled)/[^/]+|conf\.d/[^/]+\.conf)"),
)


def _kind(path: str) -> str | None:
    if path.startswith(("tests/", ".venv/")):
        return None
    for kind, pattern in _KIND_BY_NAME:
        if re.fullmatch(pattern, path):
            return kind
    return None


def test_labels_match_the_case_folders():
    names = [c.name for c in CORPUS_CASES]
    assert len(names) == len(set(names)), "a case is labelled twice"
    assert set(names) == {p.name for p in CASES.iterdir() if p.is_dir()}
    for c in CORPUS_CASES:
        assert c.about.strip(), c.name
        for e in c.expect:
            assert set(e) <= {"file", "line", "rule", "severity"}, (c.name, e)
            assert e["rule"] in RULES, (c.name, e)
            assert e.get("severity", "info") in SEVERITIES, (c.name, e)
            f = c.dir / e["file"]
            assert f.is_file(), (c.name, e)
            n_lines = len(f.read_bytes().splitlines())
            assert 1 <= e["line"] <= n_lines, (c.name, e)


def test_corpus_is_large_and_covers_every_rule_and_kind():
    assert len(CORPUS_CASES) >= 80
    negatives = [c for c in CORPUS_CASES if not c.expect]
    assert len(negatives) >= 20
    rules = {e["rule"] for c in CORPUS_CASES for e in c.expect}
    assert rules == set(RULES), f"rules without a positive case: {set(RULES) - rules}"
    kinds = {_kind(str(p.relative_to(c.dir))) for c in CORPUS_CASES for p in c.dir.rglob("*") if p.is_file()}
    assert set(KINDS) <= kinds, f"kinds without a case: {set(KINDS) - kinds}"
    # and each kind has a positive case (a file of that kind with an expected finding); an nginx
    # config gives no finding of its own: proxy-bypass is reported on the compose port it bypasses
    positive_kinds = {_kind(e["file"]) for c in CORPUS_CASES for e in c.expect}
    if "proxy-bypass" in rules:
        positive_kinds.add("nginx")
    assert set(KINDS) <= positive_kinds, f"kinds without a positive case: {set(KINDS) - positive_kinds}"


@pytest.fixture(scope="module")
def audited() -> dict[str, list[tuple[str, int, str, str]]]:
    return {c.name: run_bindscope(c) for c in CORPUS_CASES}


def _score(cases: list[Case], audited) -> Score:
    reported = {(name, f, line, rule) for name, found in audited.items() for f, line, rule, _sev in found}
    return Score(set(expected(cases)), reported)


def test_precision_and_recall(audited):
    s = _score(CORPUS_CASES, audited)
    print(
        f"\naudit corpus: {len(CORPUS_CASES)} cases, {len(s.expected)} expected findings, "
        f"{len(s.reported)} reported: precision {s.precision:.3f}, recall {s.recall:.3f}"
    )
    if s.fp or s.fn:
        print(s.misses())
    assert s.precision >= 0.95 and s.recall >= 0.95, s.misses()


def test_labelled_severities(audited):
    """Where a label names a severity (container context: info inside an image, escalated when
    the project publishes it), the finding reported at that key has that severity."""
    wrong = []
    for (case, f, line, rule), want in expected(CORPUS_CASES).items():
        if want is None:
            continue
        got = [sev for ff, ll, rr, sev in audited[case] if (ff, ll, rr) == (f, line, rule)]
        if got and want not in got:
            wrong.append(f"{case} {f}:{line} {rule}: labelled {want}, reported {', '.join(got)}")
    print("\n".join(wrong))
    assert not wrong
