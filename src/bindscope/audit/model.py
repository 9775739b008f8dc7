"""Types shared by the audit scanners and the engine (pure data)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Lowest to highest; `--fail-on LEVEL` fails on findings at LEVEL or above.
SEVERITIES = ("info", "low", "medium", "high", "critical")

# File kinds the engine tells apart (engine.kind_of); each has one scanner.
KINDS = (
    "python",  # *.py, *.pyw, python shebang; includes Django settings and jupyter_*_config.py
    "procfile",  # Procfile, Procfile.*
    "shell",  # *.sh, *.bash, shell shebang, entrypoint scripts
    "dockerfile",  # Dockerfile, Dockerfile.*, *.Dockerfile, Containerfile
    "compose",  # docker-compose*.y(a)ml, compose*.y(a)ml
    "makefile",  # Makefile, makefile, GNUmakefile, *.mk
    "systemd",  # *.service
    "uwsgi_ini",  # uwsgi*.ini, *.uwsgi.ini, or an .ini whose text has a [uwsgi] section
    "nginx",  # nginx*.conf, */nginx/**/*.conf, sites-available|enabled/*, conf.d/*.conf
)


@dataclass(frozen=True)
class Hit:
    """One finding as a scanner sees it, in the file it scanned (the engine adds the path)."""

    rule: str  # an id from rules.RULES
    line: int  # 1-based: the line of the sink (see docs/RULES.md "Which line is reported")
    message: str  # what is exposed, to whom: "Flask's debugger on every interface: anyone on the LAN runs code"
    fix: str  # the exact change: 'app.run(host="127.0.0.1", ...)' / "bind 127.0.0.1:8000"
    col: int = 0  # 0-based column when known
    severity: str | None = None  # overrides the rule's default (e.g. "info" inside a container image)
    data: Mapping[str, Any] = field(default_factory=dict)  # for link.py (service, port, host, ...)


@dataclass(frozen=True)
class Fact:
    """Something a scanner learned that is not a finding but that the project pass needs
    (a compose service's build context and published ports, a Dockerfile's CMD port, an nginx
    upstream)."""

    kind: str  # "compose-service", "dockerfile", "nginx-upstream", ...
    line: int
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FileContext:
    path: str  # as reported: relative to the scan root, "/" separators
    text: str  # decoded text (invalid bytes replaced)
    kind: str  # one of KINDS


@dataclass(frozen=True)
class ScanResult:
    hits: list[Hit] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    fallback: str = ""  # non-empty: the file could not be parsed and was scanned line by line (why)


@dataclass(frozen=True)
class AuditFinding:
    """A reported finding: a Hit placed in its file, with its rule's title and final severity."""

    path: str
    line: int
    col: int
    rule: str
    severity: str
    title: str
    message: str
    fix: str
    snippet: str  # the source line, stripped
    docs: str  # docs/RULES.md#<rule>

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.col + 1,
            "rule": self.rule,
            "severity": self.severity,
            "title": self.title,
            "message": self.message,
            "fix": self.fix,
            "snippet": self.snippet,
            "docs": self.docs,
        }
