"""Fix recipes, computed from knowledge/servers.py's `Bind` records (pure).

"Reach it from my LAN" and "keep it on this machine" are the same edit with another host:
the server's own command line with its host option replaced (or added), written so a person
can paste it; for a server started from code (`python app.py`), the call to change.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..knowledge.servers import Bind, Server
from .servers import PYTHON_RE, Detected, _basename, parse_argv

LAN_HOST = "0.0.0.0"
LOCAL_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Fix:
    """One way to change how a server binds."""

    kind: str  # "command" (run this instead), "code" (change this call), "config", "env"
    text: str  # exactly what to type or write
    where: str = ""  # "in app.py", "in postgresql.conf", "in the directory it was started from"
    argv: tuple[str, ...] = field(default=(), compare=False)  # the command as a list ("command")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "text": self.text, "where": self.where}
        if self.argv:
            data["argv"] = list(self.argv)
        return data

    def __str__(self) -> str:
        return f"{self.text}   ({self.where})" if self.where else self.text


def host_for_bind(host: str, port: int | str) -> str:
    """HOST:PORT as a bind option wants it ([::1]:8000 for IPv6)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _command_words(cmdline: Sequence[str]) -> tuple[list[str], int] | None:
    """The command as a person types it, and the index of its first argument after the
    program: `/venv/bin/python /venv/bin/flask run` -> `flask run`; `python3 -m uvicorn`
    stays; `python3 manage.py runserver` stays."""
    argv = parse_argv(cmdline)
    if argv is None or not cmdline:
        return None
    tokens = list(cmdline)
    if len(tokens) == 1 and " " in tokens[0]:
        return None  # a process title (gunicorn: master [app]): the real command line is gone
    first = _basename(tokens[0])
    if first.lower().endswith(".exe"):
        first = first[:-4]
    if not PYTHON_RE.match(first.lower()):
        return [first, *argv.rest], 1
    rest = list(argv.rest)
    if argv.module is not None:
        return [first, "-m", argv.module, *rest], 3
    script = tokens[len(tokens) - len(rest) - 1]
    if "/bin/" in script or "\\Scripts\\" in script:  # an entry point a person runs by name
        return [argv.program, *rest], 1
    return [first, script, *rest], 2


def _take(words: list[str], start: int, opts: Sequence[str]) -> tuple[int, str, str] | None:
    """Remove every `OPT VALUE` / `OPT=VALUE` / `-oVALUE` of `opts`; return (position, option
    spelling, value) of the first, or None."""
    found: tuple[int, str, str] | None = None
    i = start
    while i < len(words):
        word = words[i]
        hit = None
        for opt in opts:
            if word == opt and i + 1 < len(words):
                hit = (opt, words[i + 1], 2)
            elif word.startswith(opt + "="):
                hit = (opt, word[len(opt) + 1 :], 1)
            elif len(opt) == 2 and opt[0] == "-" and opt[1] != "-" and word.startswith(opt) and len(word) > 2:
                hit = (opt, word[2:], 1)
            if hit:
                break
        if hit is None:
            i += 1
            continue
        opt, value, width = hit
        del words[i : i + width]
        if found is None:
            found = (i, opt, value)
    return found


def _rewrite(words: list[str], start: int, server: Server, bind: Bind, host: str, port: int | str) -> list[str]:
    words = list(words)
    if bind.lan_flag:
        for flag in bind.lan_flag:
            while flag in words[start:]:
                words.remove(flag)
        if host == LAN_HOST and not bind.host_opts:
            return [*words, bind.lan_flag[0]]
    if bind.positional == "addrport":
        sub = next((i for i in range(start, len(words)) if words[i] in server.subcommands), None)
        at = (sub + 1) if sub is not None else len(words)
        j = at
        while j < len(words) and words[j].startswith("-"):
            j += 1
        if j < len(words) and (words[j][:1].isdigit() or words[j][:1] in "[:"):
            words[j] = host_for_bind(host, port)
        else:
            words.insert(at, host_for_bind(host, port))
        return words
    if bind.bind_opts:
        taken = _take(words, start, bind.bind_opts)
        if taken is not None or not bind.host_opts:
            pos, opt = (taken[0], taken[1]) if taken else (len(words), bind.bind_opts[0])
            words[pos:pos] = [opt, host_for_bind(host, port)]
            if bind.host_opts:
                _take(words, start, bind.host_opts)
            return words
    if bind.host_opts:
        taken = _take(words, start, bind.host_opts)
        pos, opt = (taken[0], taken[1]) if taken else (len(words), bind.host_opts[0])
        words[pos:pos] = [f"{opt}={host}"] if opt.startswith("--") and "." in opt else [opt, host]
        return words
    return words


def bind_fix(detected: Detected | None, cmdline: Sequence[str], host: str, port: int | str) -> Fix | None:
    """How to restart the server so it binds `host` (LAN_HOST for "my LAN", LOCAL_HOST for
    "this machine only"), or None when bindscope does not know the server. `port` may be
    symbolic (`$PORT`, for audit's fixes of written command lines)."""
    if detected is None:
        return None
    server = detected.server
    bind = server.bind
    if bind is None:
        return None
    if bind.local_config and not bind.code and server.category == "datastore":
        if host == LOCAL_HOST:
            return Fix("config", bind.local_config, "")
        return None  # opening a datastore to the LAN is not a recipe bindscope hands out
    parsed = _command_words(cmdline)
    argv = parse_argv(cmdline)
    started_by_program = argv is not None and (
        argv.program in server.programs
        or (argv.module is not None and argv.module in server.modules)
        or any(marker in argv.text for marker in server.markers)
    )
    if parsed is not None and started_by_program and (bind.host_opts or bind.bind_opts or bind.positional):
        words, start = parsed
        new = _rewrite(words, start, server, bind, host, port)
        return Fix("command", shlex.join(new), "", tuple(new))
    if parsed is not None and started_by_program and bind.host_env:
        words, _ = parsed
        return Fix("env", f"{bind.host_env[0]}={host} {shlex.join(words)}", "", tuple(words))
    if bind.code:
        where = f"in {argv.program}" if argv is not None and argv.program.endswith(".py") else ""
        return Fix("code", bind.code.format(host=host, port=port), where)
    return None


def describe_bind(bind: Bind) -> list[str]:
    """Every way to set host and port, in words (for docs and doctor's evidence)."""
    out = []
    if bind.host_opts:
        out.append("host: " + ", ".join(bind.host_opts))
    if bind.port_opts:
        out.append("port: " + ", ".join(bind.port_opts))
    if bind.bind_opts:
        out.append("HOST:PORT: " + ", ".join(bind.bind_opts))
    if bind.positional == "addrport":
        out.append("positional [ADDR:]PORT")
    elif bind.positional == "port":
        out.append("positional PORT")
    env = [*bind.host_env, *bind.port_env]
    if env:
        out.append("environment: " + ", ".join(env))
    if bind.code:
        out.append("code: " + bind.code.format(host="HOST", port="PORT"))
    out.extend(f"config: {c}" for c in bind.config)
    return out
