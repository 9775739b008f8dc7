"""`bindscope audit` output: text (rich colour on a terminal, plain lines otherwise), JSON
(docs/JSON.md#audit) and SARIF 2.1.0 (for GitHub code scanning and other SARIF viewers).
rich is imported only for a terminal."""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Any

from .. import __version__
from ..audit.engine import AuditReport
from ..audit.model import SEVERITIES, AuditFinding
from ..audit.rules import RULES

# bindscope has no published docs site yet, and SARIF's helpUri/informationUri must be absolute:
# they are left out (both optional) rather than pointed at an invented address; the help text
# names the section of docs/RULES.md.
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning ranks security alerts by this property (a CVSS-like score, as a string)
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def summary_line(report: AuditReport) -> str:
    counts = report.counts()
    n = len(report.findings)
    files = f"{report.files_scanned} file{'s' if report.files_scanned != 1 else ''} scanned"
    if n:
        by = ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s])
        head = f"{n} finding{'s' if n != 1 else ''} ({by}) in {files}"
    else:
        head = f"no findings in {files}"
    parts = [head]
    if report.suppressed:
        parts.append(f"{report.suppressed} suppressed")
    if report.files_skipped:
        parts.append(f"{len(report.files_skipped)} skipped")
    parts.append(f"{report.elapsed:.2f} s")
    return "; ".join(parts)


def _verbose_lines(report: AuditReport) -> list[str]:
    out: list[str] = []
    if report.config:
        out.append(f"config: [tool.bindscope] in {report.config}")
    for title, rows in (
        ("skipped files", report.files_skipped),
        ("skipped directories", report.dirs_skipped),
        ("scanned line by line (could not be parsed)", report.fallback),
    ):
        if rows:
            out.append(f"{title} ({len(rows)}):")
            out.extend(f"  {path}: {reason}" for path, reason in rows)
    return out


def _location(f: AuditFinding) -> str:
    return f"{f.path}:{f.line}:{f.col + 1}"


def text(report: AuditReport, out: IO[str] | None = None, *, verbose: bool = False) -> None:
    """`path:line:col  severity  rule  message`, the fix on the next line, then a summary."""
    out = out or sys.stdout
    if out.isatty():
        _rich_text(report, out, verbose)
        return
    lines: list[str] = []
    for f in report.findings:
        lines.append(f"{_location(f)}  {f.severity}  {f.rule}  {f.message}")
        if f.fix:
            lines.append(f"    fix: {f.fix}")
    if verbose:
        lines.extend(_verbose_lines(report))
    hint = " (--verbose lists them)" if report.files_skipped and not verbose else ""
    lines.append(summary_line(report) + hint)
    out.write("\n".join(lines) + "\n")


def _rich_text(report: AuditReport, out: IO[str], verbose: bool) -> None:
    from rich.text import Text

    from .text import console

    con = console(out)
    for f in report.findings:
        line = Text()
        line.append(_location(f), style="bold")
        line.append("  ")
        line.append(f.severity, style=SEVERITY_STYLE.get(f.severity, ""))
        line.append("  ")
        line.append(f.rule, style="magenta")
        line.append(f"  {f.message}")
        con.print(line, soft_wrap=True)  # the terminal wraps: a path is never cut by a newline
        if f.fix:
            con.print(Text(f"    fix: {f.fix}", style="green"), soft_wrap=True)
    if verbose:
        for row in _verbose_lines(report):
            con.print(Text(row, style="dim"), soft_wrap=True)
    hint = " (--verbose lists them)" if report.files_skipped and not verbose else ""
    style = "bold red" if report.failed else "bold green" if not report.findings else "bold yellow"
    con.print(Text(summary_line(report) + hint, style=style))


def to_json(report: AuditReport) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def _uri(path: str) -> tuple[str, str | None]:
    """(uri, uriBaseId) of a reported path: relative paths are relative to %SRCROOT% (the
    directory audit ran in); absolute ones become file:// URIs."""
    if os.path.isabs(path):
        from pathlib import Path

        return Path(path).as_uri(), None
    from urllib.parse import quote

    return quote(path.replace(os.sep, "/"), safe="/-._~"), "%SRCROOT%"


def sarif(report: AuditReport) -> dict[str, Any]:
    rule_ids = list(RULES)
    for f in report.findings:  # a scanner's rule that is not in the catalogue still gets a descriptor
        if f.rule not in RULES and f.rule not in rule_ids:
            rule_ids.append(f.rule)
    rules: list[dict[str, Any]] = []
    for rid in rule_ids:
        rule = RULES.get(rid)
        severity = rule.severity if rule else "medium"
        title = rule.title if rule else rid
        rules.append(
            {
                "id": rid,
                "name": "".join(w.capitalize() for w in rid.split("-")),
                "shortDescription": {"text": title},
                "help": {
                    "text": f"{title}. See docs/RULES.md#{rid} for a bad and a good example.",
                    "markdown": f"**{title}**. See `docs/RULES.md#{rid}` for a bad and a good example.",
                },
                "defaultConfiguration": {"level": SARIF_LEVEL[severity]},
                "properties": {
                    "tags": ["security", "network-exposure"],
                    "security-severity": SECURITY_SEVERITY[severity],
                },
            }
        )
    index = {rid: i for i, rid in enumerate(rule_ids)}
    results: list[dict[str, Any]] = []
    for f in report.findings:
        uri, base = _uri(f.path)
        artifact: dict[str, Any] = {"uri": uri}
        if base:
            artifact["uriBaseId"] = base
        region: dict[str, Any] = {"startLine": f.line, "startColumn": f.col + 1}
        if f.snippet:
            region["snippet"] = {"text": f.snippet}
        message = f.message + (f" Fix: {f.fix}" if f.fix else "")
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": SARIF_LEVEL.get(f.severity, "warning"),
                "message": {"text": message},
                "locations": [{"physicalLocation": {"artifactLocation": artifact, "region": region}}],
                "partialFingerprints": {"bindscopeLine/v1": f"{f.rule}:{f.snippet}"},
                "properties": {"severity": f.severity, "fix": f.fix},
            }
        )
    notifications = [
        {"level": "note", "message": {"text": f"skipped {path}: {reason}"}} for path, reason in report.files_skipped
    ]
    invocation: dict[str, Any] = {"executionSuccessful": True, "exitCode": report.exit_code}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "bindscope",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "invocations": [invocation],
                "originalUriBaseIds": {"%SRCROOT%": {"uri": _cwd_uri()}},
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def _cwd_uri() -> str:
    from pathlib import Path

    uri = Path.cwd().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def to_sarif(report: AuditReport) -> str:
    return json.dumps(sarif(report), indent=2) + "\n"


class ProgressBar:
    """`progress(done, total)` for audit: nothing for the first second, then a rich progress
    bar on `out` (a terminal). Small trees never show it; `close()` removes it."""

    DELAY = 1.0

    def __init__(self, out: IO[str] | None = None) -> None:
        import time

        self._clock = time.monotonic
        self._start = self._clock()
        self._out = out or sys.stderr
        self._bar: Any = None
        self._task: Any = None
        self._next = 0

    def __call__(self, done: int, total: int) -> None:
        if done < self._next:
            return
        self._next = done + 16  # look at the clock every 16 files
        if self._bar is None:
            if self._clock() - self._start < self.DELAY:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("auditing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self._out),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("audit", total=total)
        self._bar.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
