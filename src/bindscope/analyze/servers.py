"""Which server owns a socket, from its process's command line (pure; data in
knowledge/servers.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..knowledge.servers import (
    PYTHON_OPTS_WITH_VALUE,
    SERVERS,
    WERKZEUG,
    WERKZEUG_ENV,
    Server,
)

# python3, python3.11, python3.12d, python3.13t (free-threaded), pypy3, platform-python (RHEL 8)
_PYTHON = PYTHON_RE = re.compile(r"^(python|pypy|platform-python)(\d+(\.\d+)*)?[mdut]?$")


@dataclass(frozen=True)
class Detected:
    server: Server
    debug: str | None  # why this looks like a debug server, in words; None when not

    @property
    def id(self) -> str:
        return self.server.id

    @property
    def category(self) -> str:
        return self.server.category


@dataclass(frozen=True)
class _Argv:
    program: str  # basename of the executable, or of the script / `-m` module python runs
    module: str | None
    rest: tuple[str, ...]  # arguments after the program
    text: str  # the whole command line, for markers
    script: str | None = None  # the script file python runs, as written (`python app.py`)


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]


def parse_argv(cmdline: Sequence[str]) -> _Argv | None:
    tokens = list(cmdline)
    if len(tokens) == 1 and " " in tokens[0]:  # a process title: "gunicorn: master [app:app]"
        tokens = tokens[0].split()
    if not tokens:
        return None
    program = _basename(tokens[0]).rstrip(":")
    if program.lower().endswith(".exe"):
        program = program[:-4]
    text = " ".join(cmdline)
    if not _PYTHON.match(program.lower()):
        return _Argv(program, None, tuple(tokens[1:]), text)
    i = 1
    while i < len(tokens):
        arg = tokens[i]
        if arg == "-m" and i + 1 < len(tokens):
            return _Argv(tokens[i + 1], tokens[i + 1], tuple(tokens[i + 2 :]), text)
        if arg.startswith("-m") and len(arg) > 2:
            return _Argv(arg[2:], arg[2:], tuple(tokens[i + 1 :]), text)
        if arg in ("-c", "-"):
            return _Argv(program, None, tuple(tokens[i + 1 :]), text)
        if arg in PYTHON_OPTS_WITH_VALUE:
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        return _Argv(_basename(arg), None, tuple(tokens[i + 1 :]), text, arg)
    return _Argv(program, None, (), text)


def _subcommand(rest: Sequence[str]) -> str | None:
    for arg in rest:
        if not arg.startswith("-"):
            return arg
    return None


def _matches(server: Server, argv: _Argv, comm: str | None) -> bool:
    hit = (
        argv.program in server.programs
        or (comm is not None and comm in server.programs)
        or (argv.module is not None and argv.module in server.modules)
        or any(marker in argv.text for marker in server.markers)
    )
    if not hit:
        return False
    return not server.subcommands or _subcommand(argv.rest) in server.subcommands


def _debug(server: Server, argv: _Argv, environ: Mapping[str, str]) -> str | None:
    if server.debug_always:
        return server.debug_note
    if "--no-debug" in argv.rest:
        return None
    flag = next((a for a in argv.rest if a in server.debug_flags), None)
    if flag:
        return f"started with {flag}: {server.debug_note}"
    for name, off in server.debug_env:
        value = environ.get(name, "")
        if value and value.lower() not in off:
            return f"{name}={value}: {server.debug_note}"
    if server.id == "flask" and environ.get("WERKZEUG_RUN_MAIN"):
        return f"the Werkzeug reloader is on, as in debug mode (app.run(debug=True)): {server.debug_note}"
    return None


def detect(
    cmdline: Sequence[str], comm: str | None = None, environ: Mapping[str, str] | None = None
) -> Detected | None:
    """The server a process runs, or None when it is not one bindscope knows."""
    env = environ or {}
    argv = parse_argv(cmdline)
    if argv is None:
        if comm is None:
            return None
        argv = _Argv(comm, None, (), comm)
    for server in SERVERS:
        if _matches(server, argv, comm):
            return Detected(server, _debug(server, argv, env))
    if _PYTHON.match((_basename(cmdline[0]) if cmdline else comm or "").lower()) and any(
        k in env for k in WERKZEUG_ENV
    ):
        return Detected(WERKZEUG, _debug(WERKZEUG, argv, env))
    return None
