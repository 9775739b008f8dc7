"""docs/RULES.md and the rule catalogue (audit/rules.py) stay in step: every rule has a section
(a `## <rule-id>` heading, so its anchor is the id) and every such section is a rule; and every
example in it is audited for real: each **Bad** example gives its section's rule, each **Good**
example does not.

An example is the fenced blocks after a line starting with `**Bad**` or `**Good**` (up to the
next prose line); each fence names its file in the info string (```python title=app.py), and
the files of one example form one small project."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bindscope.audit.rules import RULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "RULES.md"
_FENCE = re.compile(r"^```(\S*)(.*)$")
_TITLE = re.compile(r"""title=["']?([^"'\s]+)""")


@dataclass
class Example:
    rule: str
    role: str  # "bad" | "good"
    files: dict[str, str] = field(default_factory=dict)


def _parse(text: str) -> tuple[list[str], list[Example]]:
    sections: list[str] = []
    examples: list[Example] = []
    section = None
    current: Example | None = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            title = line[3:].strip()
            section = title if re.fullmatch(r"[a-z][a-z0-9-]*", title) else None
            if section:
                sections.append(section)
            current = None
        elif m := _FENCE.match(line):
            body = []
            i += 1
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            if current is not None:
                t = _TITLE.search(m.group(2))
                assert t, f"a fence in {current.rule}'s {current.role} example names no file: {line}"
                current.files[t.group(1)] = "\n".join(body) + "\n"
        elif m := re.match(r"\*\*(Bad|Good)\*\*", line):
            current = Example(section, m.group(1).lower()) if section else None
            if current:
                examples.append(current)
        elif line.strip():
            current = None
        i += 1
    return sections, examples


SECTIONS, EXAMPLES = _parse(DOC.read_text(encoding="utf-8"))


def test_every_rule_has_a_section_and_every_section_is_a_rule():
    assert sorted(SECTIONS) == sorted(RULES)
    assert len(SECTIONS) == len(set(SECTIONS))


def test_every_rule_has_a_bad_and_a_good_example():
    for rule in RULES:
        roles = {e.role for e in EXAMPLES if e.rule == rule and e.files}
        assert roles == {"bad", "good"}, rule


def test_the_doc_says_which_line_is_reported():
    assert "## Which line is reported" in DOC.read_text(encoding="utf-8")


def _audit_rules(example: Example, tmp_path: Path) -> set[str]:
    import bindscope

    root = tmp_path / "project"
    for name, body in example.files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(body, encoding="utf-8")
    with contextlib.chdir(root):
        return {f.rule for f in bindscope.audit(["."]).findings}


@pytest.mark.parametrize(
    "example",
    [e for e in EXAMPLES if e.files],
    ids=lambda e: f"{e.rule}-{e.role}-{'+'.join(e.files)}",
)
def test_example_is_audited_as_documented(example: Example, tmp_path: Path):
    found = _audit_rules(example, tmp_path)
    if example.role == "bad":
        assert example.rule in found, f"{example.rule}: the bad example gives {sorted(found)}"
    else:
        assert example.rule not in found, f"{example.rule}: the good example gives it"
