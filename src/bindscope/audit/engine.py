"""The audit engine: walk the PATHs, tell file kinds apart, read each candidate once, skip it
unparsed when its bytes do not match its scanner's trigger, decode, scan, link, suppress, and
return an AuditReport.

Robustness: a file that cannot be read, a binary file, a file too large, or a scanner that
raised (a bug) is listed in `files_skipped` with the reason; nothing escapes as an exception
except bad input (a PATH that does not exist, a bad `[tool.bindscope]` table: BindscopeError).
"""

from __future__ import annotations

import codecs
import os
import posixpath
import re
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import BindscopeError
from .model import SEVERITIES, AuditFinding, Fact, FileContext, Hit, ScanResult
from .rules import RULES

DEFAULT_FAIL_ON = "low"
MAX_BYTES = 32 * 1024 * 1024  # larger files are skipped ("larger than 32 MB"): no source file is that big
BINARY_HEAD = 8192  # a NUL byte in the first 8 KB: a binary file
SHEBANG_HEAD = 256  # an extension-less file is read this far to look for a shebang first

# Directories never walked into (the reason is listed with --verbose).
_SKIP_DIRS: dict[str, str] = {
    **dict.fromkeys((".git", ".hg", ".svn", ".bzr", "_darcs", ".jj", "CVS"), "version control"),
    **dict.fromkeys(("node_modules", "bower_components"), "JavaScript dependencies"),
    **dict.fromkeys(("site-packages", "dist-packages", ".eggs"), "installed Python packages"),
    **dict.fromkeys(
        (
            "__pycache__",
            ".mypy_cache",
            ".pytest_cache",
            ".ruff_cache",
            ".hypothesis",
            ".tox",
            ".nox",
            ".direnv",
        ),
        "tool cache",
    ),
}
_TEST_DIRS = frozenset(("tests", "test"))
_TESTS_REASON = "tests (--include-tests scans them)"

_EXT_KINDS = {
    ".py": "python",
    ".pyw": "python",
    ".sh": "shell",
    ".bash": "shell",
    ".mk": "makefile",
    ".service": "systemd",
}
_MAKEFILES = frozenset(("Makefile", "makefile", "GNUmakefile"))
_SHELLS = frozenset(("sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"))
_PYTHON_NAME = re.compile(r"python[0-9.]*$")
_UWSGI_SECTION = re.compile(rb"^[ \t]*\[uwsgi\]", re.MULTILINE)
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)  # a FIFO never blocks
_LINES = re.compile(r"\r\n|\r|\n")

# Comment leaders per kind, for `bindscope: ignore` (ini files and systemd units also use ';').
_SEMICOLON_KINDS = frozenset(("uwsgi_ini", "systemd"))
_IGNORE_HASH = re.compile(r"#\s*bindscope:\s*ignore(?:\[([^\]]*)\])?")
_IGNORE_HASH_SEMI = re.compile(r"[#;]\s*bindscope:\s*ignore(?:\[([^\]]*)\])?")


def kind_of(path: str, head: bytes = b"") -> str | None:
    """The file kind (one of model.KINDS) of `path` ("/" or os.sep separated), or None when no
    scanner reads it. `head` is the start of the file: extension-less files are told apart by
    their shebang, .ini files by a `[uwsgi]` section; without it they are None."""
    path = path.replace(os.sep, "/") if os.sep != "/" else path
    slash = path.rfind("/")
    name = path[slash + 1 :]
    lower = name.lower()
    dot = lower.rfind(".")
    ext = lower[dot:] if dot > 0 else ""
    kind = _EXT_KINDS.get(ext)
    if kind is not None:
        return kind
    if name in _MAKEFILES:
        return "makefile"
    if name == "Procfile" or name.startswith("Procfile."):
        return "procfile"
    if (
        lower in ("dockerfile", "containerfile")
        or lower.startswith(("dockerfile.", "containerfile."))
        or lower.endswith((".dockerfile", ".containerfile"))
    ):
        return "dockerfile"
    if ext in (".yml", ".yaml"):
        return "compose" if lower.startswith(("docker-compose", "compose")) else None
    if ext == ".ini":
        if lower.startswith("uwsgi") or lower.endswith(".uwsgi.ini") or _UWSGI_SECTION.search(head):
            return "uwsgi_ini"
        return None
    dirs = path[:slash].split("/") if slash > 0 else []
    parent = dirs[-1] if dirs else ""
    if parent in ("sites-available", "sites-enabled"):
        return "nginx"
    if ext == ".conf":
        if lower.startswith("nginx") or parent == "conf.d" or "nginx" in dirs:
            return "nginx"
        return None
    if not ext and head.startswith(b"#!"):
        return _shebang_kind(head)
    return None


def _shebang_kind(head: bytes) -> str | None:
    line = head[2:].split(b"\n", 1)[0].decode("latin-1").split()
    if not line:
        return None
    words = [w.rsplit("/", 1)[-1] for w in line]
    if words[0] == "env":
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        if not words:
            return None
    prog = words[0]
    if _PYTHON_NAME.match(prog):
        return "python"
    if prog in _SHELLS:
        return "shell"
    return None


def _needs_head(name: str) -> bool:
    """Whether kind_of(name) can only be decided with the file's start (shebang, [uwsgi])."""
    dot = name.rfind(".")
    return dot <= 0 or name[dot:].lower() == ".ini"


# ---------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class Config:
    """`[tool.bindscope]` from pyproject.toml."""

    path: str | None = None  # the pyproject.toml it came from
    exclude: tuple[str, ...] = ()
    severity: Mapping[str, str] = field(default_factory=dict)  # rule -> level or "off"
    fail_on: str | None = None
    include_tests: bool | None = None


_CONFIG_KEYS = {
    "exclude": "exclude",
    "severity": "severity",
    "fail-on": "fail_on",
    "fail_on": "fail_on",
    "include-tests": "include_tests",
    "include_tests": "include_tests",
}


def find_config(start: str) -> Config:
    """The `[tool.bindscope]` table of the nearest pyproject.toml that has one, from `start` (a
    directory, or a file's directory) up to the filesystem root. BindscopeError when it is bad."""
    d = os.path.abspath(start)
    if not os.path.isdir(d):
        d = os.path.dirname(d)
    while True:
        candidate = os.path.join(d, "pyproject.toml")
        try:
            with open(candidate, "rb") as f:
                raw = f.read()
        except OSError:
            raw = b""
        if b"bindscope" in raw:
            table = _tool_table(candidate, raw)
            if table is not None:
                return _config(candidate, table)
        parent = os.path.dirname(d)
        if parent == d:
            return Config()
        d = parent


def _tool_table(path: str, raw: bytes) -> dict[str, Any] | None:
    import tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BindscopeError(f"{path}: not valid TOML: {exc}") from None
    tool = data.get("tool")
    table = tool.get("bindscope") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise BindscopeError(f"{path}: [tool.bindscope] must be a table")
    return table


def _config(path: str, table: Mapping[str, Any]) -> Config:
    def bad(msg: str) -> BindscopeError:
        return BindscopeError(f"{path}: [tool.bindscope] {msg}")

    values: dict[str, Any] = {}
    for key, value in table.items():
        name = _CONFIG_KEYS.get(key)
        if name is None:
            raise bad(f"unknown key {key!r} (known: exclude, severity, fail-on, include-tests)")
        values[name] = value
    exclude = values.get("exclude", [])
    if isinstance(exclude, str):
        exclude = [exclude]
    if not isinstance(exclude, list) or not all(isinstance(g, str) and g.strip() for g in exclude):
        raise bad("exclude must be a list of glob strings")
    severity = values.get("severity", {})
    if not isinstance(severity, dict):
        raise bad('severity must be a table: rule = "level" (info, low, medium, high, critical or off)')
    for rule, level in severity.items():
        if rule not in RULES:
            raise bad(f"severity: unknown rule {rule!r} (rules: {', '.join(RULES)})")
        if level not in (*SEVERITIES, "off"):
            raise bad(f"severity: {rule} = {level!r}: the level must be one of {', '.join(SEVERITIES)}, off")
    fail_on = values.get("fail_on")
    if fail_on is not None and fail_on not in SEVERITIES:
        raise bad(f"fail-on = {fail_on!r}: must be one of {', '.join(SEVERITIES)}")
    include_tests = values.get("include_tests")
    if include_tests is not None and not isinstance(include_tests, bool):
        raise bad("include-tests must be true or false")
    return Config(
        path=path, exclude=tuple(exclude), severity=dict(severity), fail_on=fail_on, include_tests=include_tests
    )


def _glob_regex(pattern: str) -> str:
    """A gitignore-like glob as a regex over "/"-separated relative paths: `*` and `?` stay
    inside one segment, `**` crosses segments, a pattern without "/" matches at any depth, and
    a match on a directory covers everything under it."""
    pat = pattern.strip().replace("\\", "/")
    anchored = "/" in pat.rstrip("/")
    pat = pat.strip("/")
    out: list[str] = []
    i = 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and "]" in pat[i + 2 :]:
            end = pat.index("]", i + 2)
            body = pat[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return ("" if anchored else "(?:.*/)?") + "".join(out) + "(?:/.*)?"


def _excluder(patterns: Sequence[str]) -> Callable[[str], str | None]:
    """rel path -> the first pattern that excludes it, or None."""
    compiled = [(p, re.compile(_glob_regex(p))) for p in patterns]

    def excluded(rel: str) -> str | None:
        for pattern, rx in compiled:
            if rx.fullmatch(rel):
                return pattern
        return None

    return excluded


# ---------------------------------------------------------------------------------- report


@dataclass
class AuditReport:
    findings: list[AuditFinding]
    files_scanned: int
    files_skipped: list[tuple[str, str]]  # (path, reason): unreadable, binary, too large, internal error
    suppressed: int
    elapsed: float  # seconds
    fail_on: str = DEFAULT_FAIL_ON
    dirs_skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): .git, venvs, tests
    fallback: list[tuple[str, str]] = field(default_factory=list)  # (path, why) scanned line by line
    config: str | None = None  # the pyproject.toml whose [tool.bindscope] applied

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            out[f.severity] = out.get(f.severity, 0) + 1
        return out

    @property
    def failed(self) -> bool:
        floor = SEVERITIES.index(self.fail_on)
        return any(SEVERITIES.index(f.severity) >= floor for f in self.findings)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": "audit",
            "findings": [f.to_dict() for f in self.findings],
            "summary": {
                "findings": len(self.findings),
                "by_severity": self.counts(),
                "files_scanned": self.files_scanned,
                "files_skipped": len(self.files_skipped),
                "suppressed": self.suppressed,
                "fail_on": self.fail_on,
                "failed": self.failed,
            },
            "skipped": [{"path": p, "reason": r} for p, r in self.files_skipped],
            "skipped_dirs": [{"path": p, "reason": r} for p, r in self.dirs_skipped],
            "fallback": [{"path": p, "reason": r} for p, r in self.fallback],
            "config": self.config,
        }


# ---------------------------------------------------------------------------------- engine

Scanner = Callable[[FileContext], ScanResult]
Progress = Callable[[int, int], None]


@dataclass
class _Walk:
    files: list[tuple[str, str, str | None]] = field(default_factory=list)  # (os path, shown path, kind)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    dirs: list[tuple[str, str]] = field(default_factory=list)
    visited: set[tuple[int, int]] = field(default_factory=set)
    seen_files: set[str] = field(default_factory=set)


def _shown(prefix: str, rel: str) -> str:
    """The reported path: the PATH as given (normalised) joined with the path below it."""
    if not prefix:
        return rel
    if not rel:
        return prefix
    return prefix + rel if prefix.endswith("/") else f"{prefix}/{rel}"


def _skip_dir(name: str, include_tests: bool) -> str | None:
    reason = _SKIP_DIRS.get(name)
    if reason is not None:
        return reason
    if name in _TEST_DIRS and not include_tests:
        return _TESTS_REASON
    return None


def _environment(names: Iterable[str]) -> str | None:
    """Why a directory holding these names is an installed environment (not the project's code)."""
    for name in names:
        if name == "pyvenv.cfg":
            return "virtualenv (pyvenv.cfg)"
        if name == "conda-meta":
            return "conda environment (conda-meta)"
    return None


def _walk_dir(
    top: str,
    prefix: str,
    cfg_rel: str | None,
    excluded: Callable[[str], str | None] | None,
    include_tests: bool,
    walk: _Walk,
) -> None:
    """Collect the files of one directory PATH. `cfg_rel`: the directory's path relative to the
    config's directory (exclude globs are relative to it), None when it is outside."""
    try:
        st = os.stat(top)
    except OSError:
        pass
    else:
        if (st.st_dev, st.st_ino) in walk.visited:  # named twice, or inside a PATH walked before
            walk.dirs.append((prefix or ".", "already walked (named twice, or inside another PATH)"))
            return
        walk.visited.add((st.st_dev, st.st_ino))
    stack: list[tuple[str, str]] = [(top, "")]
    while stack:
        d, rel = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = list(it)
        except OSError as exc:
            walk.dirs.append((_shown(prefix, rel) or ".", f"unreadable: {exc.strerror or exc}"))
            continue
        if rel:
            env = _environment(e.name for e in entries)
            if env is not None:
                walk.dirs.append((_shown(prefix, rel), env))
                continue
        subdirs: list[tuple[str, str]] = []
        for entry in entries:
            name = entry.name
            r = f"{rel}/{name}" if rel else name
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                reason = _skip_dir(name, include_tests)
                if reason is None and excluded is not None:
                    pattern = excluded(f"{cfg_rel}/{r}" if cfg_rel else r)
                    if pattern is not None:
                        reason = f"excluded by [tool.bindscope] exclude {pattern!r}"
                if reason is None:
                    try:
                        st = entry.stat()
                        key = (st.st_dev, st.st_ino)
                    except OSError as exc:
                        reason = f"unreadable: {exc.strerror or exc}"
                    else:
                        if key in walk.visited:
                            reason = "already walked (a symlink loop or a second link to it)"
                        else:
                            walk.visited.add(key)
                if reason is not None:
                    walk.dirs.append((_shown(prefix, r), reason))
                else:
                    subdirs.append((entry.path, r))
                continue
            needs_head = _needs_head(name)
            kind = None if needs_head else kind_of(r)
            if kind is None and not needs_head:
                continue
            try:
                regular = entry.is_file()
            except OSError:
                regular = False
            if not regular:
                if kind is not None:
                    broken = entry.is_symlink() and not os.path.exists(entry.path)
                    walk.skipped.append((_shown(prefix, r), "broken symlink" if broken else "not a regular file"))
                continue
            if excluded is not None:
                pattern = excluded(f"{cfg_rel}/{r}" if cfg_rel else r)
                if pattern is not None:
                    if kind is not None:
                        walk.skipped.append((_shown(prefix, r), f"excluded by [tool.bindscope] exclude {pattern!r}"))
                    continue
            walk.files.append((entry.path, _shown(prefix, r), kind))
        stack.extend(reversed(subdirs))


def _add_file(
    path: str,
    excluded: Callable[[str], str | None] | None,
    cfg_dir: str | None,
    include_tests: bool,
    walk: _Walk,
) -> None:
    """A file named on the command line (pre-commit passes them one by one)."""
    shown = posixpath.normpath(path.replace(os.sep, "/"))
    absolute = os.path.abspath(path)
    if absolute in walk.seen_files:
        return
    walk.seen_files.add(absolute)
    name = os.path.basename(absolute)
    kind = None if _needs_head(name) else kind_of(shown)
    if kind is None and not _needs_head(name):
        return
    if not include_tests:
        here = os.path.relpath(absolute)
        if not here.startswith(".."):
            parts = here.replace(os.sep, "/").split("/")[:-1]
            if _TEST_DIRS.intersection(parts):
                walk.skipped.append((shown, _TESTS_REASON))
                return
    if excluded is not None:
        rel = os.path.relpath(absolute, cfg_dir) if cfg_dir else shown
        if cfg_dir is not None and rel.startswith(".."):
            rel = shown
        pattern = excluded(rel.replace(os.sep, "/"))
        if pattern is not None:
            walk.skipped.append((shown, f"excluded by [tool.bindscope] exclude {pattern!r}"))
            return
    if not os.path.isfile(absolute):
        walk.skipped.append((shown, "not a file"))
        return
    walk.files.append((path, shown, kind))


def _scanners() -> tuple[dict[str, Scanner], dict[str, re.Pattern[bytes]]]:
    from . import confscan, pyscan

    scanners: dict[str, Scanner] = dict(confscan.SCANNERS)
    triggers: dict[str, re.Pattern[bytes]] = dict(confscan.TRIGGERS)
    scanners["python"] = pyscan.scan
    triggers["python"] = pyscan.TRIGGERS
    return scanners, triggers


def _read(path: str, shown: str, kind: str | None) -> tuple[bytes, str | None, str | None]:
    """(bytes, kind, skip reason). Sized by fstat and read with as few system calls as the file
    allows (no buffer object, no 32 MB allocation per file). An extension-less file is read to
    SHEBANG_HEAD first and the rest only when its shebang names a kind."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return b"", kind, "not a regular file"
        size = st.st_size
        if kind is None:
            head = os.read(fd, SHEBANG_HEAD if not shown.lower().endswith(".ini") else size + 1)
            kind = kind_of(shown, head)
            if kind is None:
                return b"", None, None
        else:
            head = b""
        if size > MAX_BYTES:
            return b"", kind, f"larger than {MAX_BYTES // (1024 * 1024)} MB"
        chunks = [head] if head else []
        got = len(head)
        while not size or got < size:  # one read, usually (size 0: a /proc-like file, read to EOF)
            want = size - got if got < size else 65536
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
            if got > MAX_BYTES:
                return b"", kind, f"larger than {MAX_BYTES // (1024 * 1024)} MB"
        return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), kind, None
    finally:
        os.close(fd)


def _decode(data: bytes, kind: str) -> str:
    """Text of a file: UTF-8 (a BOM dropped), or the codec of a PEP 263 cookie in a Python
    file's first two lines; bytes that do not decode are replaced, never fatal."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace")
    if kind == "python" and b"coding" in data[:400]:
        first_two = b"\n".join(data.split(b"\n", 2)[:2])
        m = _CODING.search(first_two)
        if m is not None:
            try:
                codec = codecs.lookup(m.group(1).decode("ascii"))
            except (LookupError, UnicodeDecodeError):
                codec = None
            if codec is not None and codec.name != "utf-8":
                try:
                    return data.decode(codec.name, "replace")
                except Exception:  # a codec that cannot run on arbitrary bytes (e.g. 'idna')
                    pass
    return data.decode("utf-8", "replace")


def _scan_one(
    path: str, kind: str | None, scanners: Mapping[str, Scanner], triggers: Mapping[str, re.Pattern[bytes]], shown: str
) -> tuple[str | None, ScanResult | None, str | None, str]:
    """(kind, result, skip reason, text) for one file; never raises."""
    try:
        data, kind, reason = _read(path, shown, kind)
    except OSError as exc:
        return kind, None, f"unreadable: {exc.strerror or exc}", ""
    if kind is None or reason is not None:
        return kind, None, reason, ""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", "replace")
        data = text.encode("utf-8")
    elif data.find(b"\0", 0, BINARY_HEAD) != -1:
        return kind, None, "binary (a NUL byte in the first 8 KB)", ""
    else:
        text = ""
    scanner = scanners.get(kind)
    trigger = triggers.get(kind)
    if scanner is None or trigger is None:
        return kind, None, f"no scanner for {kind} files", ""
    if trigger.search(data) is None:
        return kind, ScanResult(), None, ""
    try:
        if not text:
            text = _decode(data, kind)
        result = scanner(FileContext(path=shown, text=text, kind=kind))
        if not isinstance(result, ScanResult):
            raise TypeError(f"the {kind} scanner returned {type(result).__name__}, not ScanResult")
    except Exception as exc:  # a scanner bug (RecursionError, MemoryError included): visible, not fatal
        return kind, None, f"internal error: {type(exc).__name__}: {exc}"[:300], ""
    return kind, result, None, text


_Scanned = tuple[str, "str | None", "ScanResult | None", "str | None", str]  # shown, kind, result, reason, text


def _scan_all(files: Sequence[tuple[str, str, str | None]], progress: Progress | None) -> tuple[int, list[_Scanned]]:
    """Scan `files` one after the other: (how many were scanned with nothing to report, the other
    results: skips, hits, facts, fallbacks). Worker processes were measured not to help on the
    2-core benchmark machine (docs/BENCHMARKS.md), so there are none."""
    scanners, triggers = _scanners()
    total = len(files)
    out: list[_Scanned] = []
    plain = 0
    for i, (path, shown, kind) in enumerate(files, 1):
        kind, result, reason, text = _scan_one(path, kind, scanners, triggers, shown)
        if progress is not None:
            progress(i, total)
        if reason is None:
            if kind is None or result is None:
                continue  # an extension-less file without a shebang that names a kind
            if not (result.hits or result.facts or result.fallback):
                plain += 1
                continue
        out.append((shown, kind, result, reason, text))
    return plain, out


def _ignored_rules(line: str, kind: str) -> set[str] | None:
    """The rules a `bindscope: ignore[...]` comment on `line` names ({"*"} for all), or None."""
    if "bindscope" not in line:
        return None
    rx = _IGNORE_HASH_SEMI if kind in _SEMICOLON_KINDS else _IGNORE_HASH
    m = rx.search(line)
    if m is None:
        return None
    if m.group(1) is None:
        return {"*"}
    return {r.strip() for r in m.group(1).split(",") if r.strip()}


def _suppressed(lines: Sequence[str], line: int, rule: str, kind: str) -> bool:
    """A finding is suppressed by an ignore comment on its line, or on the line just above when
    that line is a comment only."""
    if 1 <= line <= len(lines):
        rules = _ignored_rules(lines[line - 1], kind)
        if rules is not None and ("*" in rules or rule in rules):
            return True
    if 2 <= line <= len(lines) + 1:
        above = lines[line - 2]
        stripped = above.lstrip()
        if stripped.startswith("#") or (kind in _SEMICOLON_KINDS and stripped.startswith(";")):
            rules = _ignored_rules(above, kind)
            if rules is not None and ("*" in rules or rule in rules):
                return True
    return False


def audit(
    paths: Iterable[str] = (".",),
    *,
    include_tests: bool | None = None,
    fail_on: str | None = None,
    use_config: bool = True,
    progress: Progress | None = None,
) -> AuditReport:
    """Audit the files and directories in `paths` (default: the current directory).
    `include_tests`/`fail_on` override `[tool.bindscope]`; `progress(done, total)` is called
    after each file. Raises BindscopeError on bad input (missing path, bad config, bad level)."""
    started = time.perf_counter()
    targets = [str(p) for p in paths] or ["."]
    for p in targets:
        if not p:
            raise BindscopeError("audit: an empty path")
        if not os.path.exists(p):
            raise BindscopeError(f"audit: {p}: no such file or directory")
    if fail_on is not None and fail_on not in SEVERITIES:
        raise BindscopeError(f"audit: --fail-on {fail_on!r}: must be one of {', '.join(SEVERITIES)}")
    cfg = find_config(targets[0]) if use_config else Config()
    floor = fail_on or cfg.fail_on or DEFAULT_FAIL_ON
    tests = include_tests if include_tests is not None else bool(cfg.include_tests)
    excluded = _excluder(cfg.exclude) if cfg.exclude else None
    cfg_dir = os.path.dirname(os.path.abspath(cfg.path)) if cfg.path else None

    walk = _Walk()
    for p in targets:
        if os.path.isdir(p):
            prefix = posixpath.normpath(p.replace(os.sep, "/"))
            prefix = "" if prefix == "." else prefix
            cfg_rel: str | None = None
            if cfg_dir is not None:
                rel = os.path.relpath(os.path.abspath(p), cfg_dir)
                cfg_rel = None if rel.startswith("..") else ("" if rel == "." else rel.replace(os.sep, "/"))
            _walk_dir(p, prefix, cfg_rel, excluded, tests, walk)
        else:
            _add_file(p, excluded, cfg_dir, tests, walk)

    hits: list[tuple[str, Hit]] = []
    facts: list[tuple[str, Fact]] = []
    texts: dict[str, tuple[str, str]] = {}  # shown path -> (kind, text), for files with hits or facts
    skipped = walk.skipped
    fallback: list[tuple[str, str]] = []
    if len(targets) > 1:  # a file named and also inside a named directory: scanned once
        walk.files = list({shown: (path, shown, kind) for path, shown, kind in walk.files}.values())
    scanned, results = _scan_all(walk.files, progress)
    for shown, kind, result, reason, text in results:
        if reason is not None:
            skipped.append((shown, reason))
        elif kind is not None and result is not None:
            scanned += 1
            if result.hits or result.facts:
                texts[shown] = (kind, text)
                hits.extend((shown, h) for h in result.hits)
            if result.facts:
                facts.extend((shown, f) for f in result.facts)
            if result.fallback:
                fallback.append((shown, result.fallback))

    try:
        from .link import link

        linked = link(hits, facts)
    except Exception as exc:  # a bug in the project pass: report the unlinked hits, and say so
        skipped.append(("(project pass)", f"internal error: {type(exc).__name__}: {exc}"[:300]))
        linked = hits

    findings: list[AuditFinding] = []
    suppressed = 0
    split: dict[str, list[str]] = {}
    for shown, hit in linked:
        rule = RULES.get(hit.rule)
        default = rule.severity if rule is not None else "medium"
        severity = hit.severity or default
        remap = cfg.severity.get(hit.rule)
        if remap == "off":
            continue
        if remap is not None and severity == default:
            severity = remap  # a level set by context (info inside an image, escalated by link) stays
        if severity not in SEVERITIES:
            severity = default
        kind, text = texts.get(shown, ("", ""))
        if shown not in split:
            split[shown] = _LINES.split(text) if text else []
        lines = split[shown]
        if _suppressed(lines, hit.line, hit.rule, kind):
            suppressed += 1
            continue
        snippet = lines[hit.line - 1].strip()[:200] if 1 <= hit.line <= len(lines) else ""
        findings.append(
            AuditFinding(
                path=shown,
                line=hit.line,
                col=hit.col,
                rule=hit.rule,
                severity=severity,
                title=rule.title if rule is not None else hit.rule,
                message=hit.message,
                fix=hit.fix,
                snippet=snippet,
                docs=f"docs/RULES.md#{hit.rule}",
            )
        )
    findings.sort(key=lambda f: (f.path, f.line, f.col, f.rule))
    return AuditReport(
        findings=findings,
        files_scanned=scanned,
        files_skipped=sorted(skipped),
        suppressed=suppressed,
        elapsed=time.perf_counter() - started,
        fail_on=floor,
        dirs_skipped=sorted(walk.dirs),
        fallback=sorted(fallback),
        config=cfg.path,
    )
