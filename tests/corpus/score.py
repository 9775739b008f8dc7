"""The audit corpus: its labels, running bindscope over a case, and scoring a tool's findings.

Shared by tests/unit/test_audit_corpus.py and benchmarks/audit.py (both put this folder on
sys.path). The format of labels.yaml and the matching rules are in README.md.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from bindscope.audit.engine import AuditReport

CORPUS = Path(__file__).resolve().parent
CASES = CORPUS / "cases"
LABELS = CORPUS / "labels.yaml"

# (case, file, line, rule): what is matched
Key = tuple[str, str, int, str]


@dataclass(frozen=True)
class Case:
    name: str
    about: str
    expect: tuple[dict[str, Any], ...]

    @property
    def dir(self) -> Path:
        return CASES / self.name


def load_cases() -> list[Case]:
    raw = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    return [Case(c["case"], c["about"], tuple(c.get("expect") or ())) for c in raw]


def expected(cases: Iterable[Case]) -> dict[Key, str | None]:
    """Every expected finding, with its labelled severity (None: not labelled)."""
    return {(c.name, e["file"], int(e["line"]), e["rule"]): e.get("severity") for c in cases for e in c.expect}


@contextlib.contextmanager
def case_copy(case: Case) -> Iterator[Path]:
    """The case copied to a temporary folder named like the case: audited there, the paths of
    the findings are the case's own (the corpus itself lives under tests/, which audit leaves out)."""
    with tempfile.TemporaryDirectory(prefix="bs-corpus-") as tmp:
        dest = Path(tmp) / case.name
        shutil.copytree(case.dir, dest, symlinks=True)
        yield dest


def _norm_path(p: str) -> str:
    p = p.replace(os.sep, "/")
    while p.startswith("./"):
        p = p[2:]
    return p


def findings_of(report: AuditReport) -> list[tuple[str, int, str, str]]:
    """(file, line, rule, severity) of each finding of an audit."""
    return [(_norm_path(f.path), f.line, f.rule, f.severity) for f in report.findings]


def run_bindscope(case: Case) -> list[tuple[str, int, str, str]]:
    """Audit one case with the public API, run from the case's folder as a user would (`.`)."""
    import bindscope

    with case_copy(case) as root, contextlib.chdir(root):
        return findings_of(bindscope.audit(["."]))


@dataclass
class Score:
    expected: set[Key]
    reported: set[Key]
    tp: set[Key] = field(init=False)
    fp: set[Key] = field(init=False)
    fn: set[Key] = field(init=False)

    def __post_init__(self) -> None:
        self.tp = self.expected & self.reported
        self.fp = self.reported - self.expected
        self.fn = self.expected - self.reported

    @property
    def precision(self) -> float:
        return len(self.tp) / len(self.reported) if self.reported else 1.0

    @property
    def recall(self) -> float:
        return len(self.tp) / len(self.expected) if self.expected else 1.0

    def misses(self) -> str:
        lines = [f"false positive: {c} {f}:{n} {r}" for c, f, n, r in sorted(self.fp)]
        lines += [f"false negative: {c} {f}:{n} {r}" for c, f, n, r in sorted(self.fn)]
        return "\n".join(lines)
