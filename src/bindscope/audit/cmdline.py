"""The one command-line parser of `bindscope audit` (pure; owner: the command-line/config work).

Procfile lines, shell scripts, Dockerfile CMD/ENTRYPOINT, compose `command:`/`entrypoint:`,
Makefile recipes and systemd `ExecStart=` all go through `parse()`: it splits the text the way
a POSIX shell would (quotes, `\\` continuations, comments, `&&`/`||`/`;`/`|`/`&`, redirections,
heredoc bodies skipped), keeps variable assignments (`VAR=x cmd`, `export VAR=x`, `env VAR=x`),
unwraps launchers (`exec`, `env`, `sh -c "..."`, `bash -lc`, `poetry run`, `uv run`, `gosu`,
`tini --`, ...), recognises the server each simple command starts with analyze/servers.py's
`detect`, and works out the host and port it binds from knowledge/servers.py's `Bind` record
(options, positional ADDR:PORT, environment, defaults). `$PORT`, `${PORT:-8000}` stay symbolic
unless the environment given says what they are.

Nothing here knows a server's flags: they all come from the knowledge table.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..analyze.fixes import LOCAL_HOST, bind_fix
from ..analyze.servers import Detected, detect
from ..knowledge.servers import ALL, DATASTORE, LOCALHOST, SERVERS, Bind, Server

# -- words ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str  # after quote removal; `$VAR` kept as written
    start: int  # offset of its first character in the parsed text
    quoted: bool = False  # some part was quoted


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)


_TOKEN = re.compile(
    r"""
    (?P<plain>[^\s\\'"$`<>&|;()]+)
    |(?P<ws>[ \t\r\f\v]+)
    |(?P<nl>\n)
    |(?P<cont>\\\n)
    |(?P<esc>\\.?)
    |(?P<sq>'[^']*'?)
    |(?P<dq>"(?:[^"\\]|\\.)*"?)
    |(?P<subst>\$\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)?|\$\{[^}]*\}?|`[^`]*`?)
    |(?P<dollar>\$)
    |(?P<heredoc><<-?(?!<))
    |(?P<redir>(?:<<<|>>|>&|<&|&>>?|>\||<>|[<>])(?:\d+-?|-)?)
    |(?P<op>&&|\|\||;;|[;|&()])
    """,
    re.X | re.S,
)
_DQ_ESCAPE = re.compile(r'\\([$`"\\\n])')


def split_commands(text: str) -> list[list[Word]]:
    """The simple commands of `text`, each a list of words, as a POSIX shell splits them
    (no expansion). Never raises: an unterminated quote ends at the end of the text."""
    commands: list[list[Word]] = []
    words: list[Word] = []
    buf: list[str] = []
    start = -1
    quoted = False
    skip_word = False  # the next word is a redirection target
    heredocs: list[tuple[str, bool]] = []
    want_heredoc = 0  # 1: `<<`, 2: `<<-`; the next word is the delimiter
    pos = 0
    n = len(text)

    def end_word() -> None:
        nonlocal buf, start, quoted, skip_word, want_heredoc
        if start >= 0:
            word = "".join(buf)
            if want_heredoc:
                heredocs.append((word, want_heredoc == 2))
                want_heredoc = 0
            elif skip_word:
                skip_word = False
            else:
                words.append(Word(word, start, quoted))
        buf, start, quoted = [], -1, False

    def end_command() -> None:
        nonlocal words
        end_word()
        if words:
            commands.append(words)
        words = []

    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:  # cannot happen: every character starts some token; stay safe
            pos += 1
            continue
        kind = m.lastgroup
        tok = m.group(0)
        at = pos
        pos = m.end()
        if kind == "plain":
            if start < 0 and tok.startswith("#"):
                nl = text.find("\n", at)
                pos = n if nl < 0 else nl
                continue
            if start < 0:
                start = at
            buf.append(tok)
        elif kind == "ws":
            end_word()
        elif kind == "nl":
            end_command()
            if heredocs:
                pos = _skip_heredocs(text, pos, heredocs)
                heredocs = []
        elif kind == "cont":
            continue
        elif kind in ("esc", "sq", "dq"):
            if start < 0:
                start = at
            quoted = True
            if kind == "esc":
                buf.append(tok[1:])
            elif kind == "sq":
                buf.append(tok[1:-1] if len(tok) > 1 and tok.endswith("'") else tok[1:])
            else:
                body = tok[1:-1] if len(tok) > 1 and tok.endswith('"') and not tok.endswith('\\"') else tok[1:]
                buf.append(_DQ_ESCAPE.sub(lambda e: "" if e.group(1) == "\n" else e.group(1), body))
        elif kind in ("subst", "dollar"):
            if start < 0:
                start = at
            buf.append(tok)
        elif kind == "heredoc":
            end_word()
            want_heredoc = 2 if tok == "<<-" else 1
        elif kind == "redir":
            if start >= 0 and not quoted and "".join(buf).isdigit():
                buf, start = [], -1  # the fd number of `2>file`
            end_word()
            if not tok[-1].isdigit() and not tok.endswith("-"):
                skip_word = True
        else:  # op
            end_command()
    end_command()
    return commands


def _skip_heredocs(text: str, i: int, heredocs: list[tuple[str, bool]]) -> int:
    for delim, strip_tabs in heredocs:
        while i < len(text):
            j = text.find("\n", i)
            line = text[i:] if j < 0 else text[i:j]
            i = len(text) if j < 0 else j + 1
            if (line.lstrip("\t") if strip_tabs else line) == delim:
                break
    return i


# -- expansion --------------------------------------------------------------------------------

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=+?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand(value: str, env: Mapping[str, str]) -> str:
    """`$VAR`, `${VAR}`, `${VAR:-default}` replaced when `env` knows VAR (or a default is
    given); an unknown variable stays as written (symbolic)."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(4)
        op, default = m.group(2), m.group(3) or ""
        val = env.get(name)
        if val is not None and symbolic(val):
            return m.group(0)  # set, to a value nobody wrote down ($PORT on a PaaS)
        if op in (":-", ":="):
            return val if val else default
        if op in ("-", "="):
            return val if val is not None else default
        if op == ":+":
            return default if val else ""
        if op == "+":
            return default if val is not None else ""
        return val if val is not None else m.group(0)

    return _VAR.sub(sub, value)


def symbolic(value: str) -> bool:
    """A value bindscope cannot know: a variable, a command substitution, a template."""
    return any(t in value for t in ("$", "`", "{{", "%(", "%i", "%I", "<", "{%"))


# -- hosts ------------------------------------------------------------------------------------

_ALL_WORDS = frozenset({"", "*", "0", "0.0.0.0", "::", "[::]", "::0", "0:0:0:0:0:0:0:0", "::/0", "0.0.0.0/0"})
_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback", "localhost.localdomain"})


def host_scope(host: str) -> str:
    """ "all", "loopback", "specific" (one address or name) or "unknown" (symbolic)."""
    h = host.strip()
    if symbolic(h):
        return "unknown"
    if h in _ALL_WORDS:
        return "all"
    if h.lower() in _LOOPBACK_NAMES or h == LOCALHOST:
        return "loopback"
    bare = h[1:-1] if h.startswith("[") and h.endswith("]") else h
    try:
        ip = ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        return "specific"
    if ip.is_unspecified:
        return "all"
    if ip.is_loopback:
        return "loopback"
    return "specific"


def split_hostport(value: str, needs_port: bool = True) -> tuple[str | None, str | None]:
    """HOST:PORT as bind options write it -> (host, port text); None for a part not written.
    `:8000` -> ("", "8000"); `[::]:8000` -> ("::", "8000"); `0.0.0.0:${PORT}` -> ("0.0.0.0",
    "${PORT}"); a bare number is a port when the option needs one; unix sockets, fds and paths
    -> (None, None)."""
    v = value.strip()
    if "://" in v and v.split("://", 1)[0] in ("tcp", "http", "https"):
        v = v.split("://", 1)[1].rstrip("/")
    if not v or v.startswith(("unix:", "fd://", "/", "./", "~", "@")) or v.endswith(".sock"):
        return None, None
    if v.startswith("["):
        end = v.find("]")
        if end < 0:
            return None, None
        rest = v[end + 1 :]
        return v[1:end], (rest[1:] if rest.startswith(":") and rest[1:] else None)
    if v.count(":") >= 2 and not symbolic(v):
        try:
            ipaddress.IPv6Address(v)
            return v, None  # a bare IPv6 literal
        except ValueError:
            pass
    host, sep, port = _split_symbolic(v)
    if sep:
        return host, port or None
    if needs_port and (v.isdigit() or (symbolic(v) and "PORT" in v.upper())):
        return None, v
    return v, None


def _split_symbolic(v: str) -> tuple[str, str, str]:
    # `0.0.0.0:${PORT:-8000}`: the colon that separates is the last one outside ${...}
    depth = 0
    cut = -1
    for k, ch in enumerate(v):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ":" and depth == 0:
            cut = k
    if cut < 0:
        return v, "", ""
    return v[:cut], ":", v[cut + 1 :]


def port_value(text: str | None) -> int | None:
    if text is None:
        return None
    t = text.strip()
    return int(t) if t.isdigit() and 0 < int(t) < 65536 else None


# -- invocations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """A server started by a command line, and how it binds."""

    server: str  # knowledge/servers.py id: "gunicorn", "flask", "django runserver", "http.server"
    label: str
    words: tuple[str, ...]  # the server's own command (after launchers), expanded
    host: str  # the host as written (expanded), "" when the default applies (see `default`)
    effective_host: str  # what it binds: the written host, the env's, or the default
    port: int | None
    port_text: str  # as written ("$PORT", "8000"), "" when not written
    scope: str  # "all", "loopback", "specific", "unknown" (see host_scope)
    default: bool  # no host written: the server's default (or port_env_host) applies
    how: str  # "--bind", "-b", "positional", "env FLASK_RUN_HOST", "default", "$PORT set", "--bind_all"
    host_from_env: str | None  # the variable the host came from, when inherited (not on this line)
    debug: str | None  # why it is a debug server, in words
    debug_from_env: str | None  # the variable debug came from, when inherited (not on this line)
    open_auth: str | None  # the option that switched authentication off (jupyter token '')
    category: str
    start: int  # offset (in the parsed text) of the simple command that starts it
    line_offset: int  # newlines before `start`
    fix: str  # the command with a loopback bind, when bindscope knows how to write it
    env: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_all(self) -> bool:
        return self.scope == "all"

    @property
    def wide(self) -> bool:
        """Bound beyond this machine: every interface or one non-loopback address."""
        return self.scope in ("all", "specific")

    def rule(self, env_debug: bool = True) -> str:
        """The audit rule this invocation breaks, or "" for none. `env_debug=False`: a debug
        mode switched on by an inherited variable does not count (the scanner reports it where
        the variable is set: Dockerfile ENV, compose environment)."""
        if self.scope == "unknown" or self.scope == "loopback":
            return ""
        if self.open_auth and self.wide:
            return "jupyter-open"
        if self.debug and self.wide and (env_debug or not self.debug_from_env):
            return "debug-exposed"
        if self.is_all:
            if self.default and self.category == DATASTORE:
                return ""  # a datastore's default comes from its config file, which is not read here
            return "bind-all-default" if self.default else "bind-all"
        return ""

    def data(self) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "server": self.server,
            "debug": bool(self.debug),
            "effective_host": self.effective_host,
        }


# Launchers that run their arguments as a command: name -> options that take a value.
_LAUNCHERS: dict[str, frozenset[str]] = {
    "exec": frozenset({"-a"}),
    "nohup": frozenset(),
    "time": frozenset(),
    "command": frozenset(),
    "builtin": frozenset(),
    "setsid": frozenset(),
    "nice": frozenset({"-n", "--adjustment"}),
    "ionice": frozenset({"-c", "-n", "-p"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "sudo": frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U"}),
    "doas": frozenset({"-u", "-C"}),
    "tini": frozenset({"-p", "-e", "-l"}),
    "dumb-init": frozenset({"-r", "--rewrite"}),
    "catatonit": frozenset(),
    "ddtrace-run": frozenset(),
    "newrelic-admin": frozenset(),
    "opentelemetry-instrument": frozenset(),
    "watchmedo": frozenset({"-d", "--directory", "-p", "--patterns", "-i", "--ignore-patterns", "--signal"}),
}
# Launchers whose first argument is a user (gosu USER cmd) or a duration (timeout 10 cmd).
_LAUNCHERS_WITH_ARG = {"gosu": 1, "su-exec": 1, "chpst": 0, "s6-setuidgid": 1, "setuidgid": 1, "timeout": 1}
# `TOOL run CMD`: environment managers.
_RUNNERS: dict[str, frozenset[str]] = {
    "poetry": frozenset({"-C", "--directory", "-P", "--project"}),
    "pipenv": frozenset(),
    "uv": frozenset(
        {"--with", "--python", "-p", "--env-file", "--directory", "--project", "--package", "--extra", "--group"}
    ),
    "pdm": frozenset({"-p", "--project"}),
    "hatch": frozenset({"-e", "--env"}),
    "rye": frozenset(),
    "conda": frozenset({"-n", "--name", "-p", "--prefix"}),
    "mamba": frozenset({"-n", "--name", "-p", "--prefix"}),
    "micromamba": frozenset({"-n", "--name", "-p", "--prefix"}),
    "pixi": frozenset({"-e", "--environment", "--manifest-path"}),
    "doppler": frozenset({"-p", "--project", "-c", "--config"}),
    "dotenv": frozenset({"-f", "--file"}),
    "honcho": frozenset(),
    "pipx": frozenset({"--spec", "--python"}),
}
_DIRECT_RUNNERS = {"uvx": frozenset({"--from", "--with", "--python", "-p"})}
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ash", "ksh", "busybox"})
_KEYWORDS = frozenset({"then", "do", "else", "elif", "if", "while", "until", "!", "{", "}", "in", "fi", "done"})
_NOT_SERVING = frozenset({"--help", "--version", "-V", "--check-config", "--print-config", "--generate-config"})


# Every word that can name a server: detect() matches programs, `-m` modules and markers only.
_KNOWN_WORDS = frozenset(w for s in SERVERS if s.bind is not None for w in (*s.programs, *s.modules))
_MARKERS = tuple(m for s in SERVERS if s.bind is not None for m in s.markers)


def _basename(word: str) -> str:
    return word.rstrip("/").rsplit("/", 1)[-1]


class Shell:
    """Parses command lines one after another, carrying the environment (`export VAR=x`, bare
    `VAR=x`) from one to the next, as a script runs them."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.inherited: dict[str, str] = dict(env or {})  # from outside the text (ENV, environment:)
        self.vars: dict[str, str] = {}
        self.exported: set[str] = set()

    def environ(self) -> dict[str, str]:
        out = dict(self.inherited)
        out.update({k: v for k, v in self.vars.items() if k in self.exported})
        return out

    def lookup(self) -> dict[str, str]:
        out = dict(self.inherited)
        out.update(self.vars)
        return out

    def parse(self, text: str) -> list[Invocation]:
        out: list[Invocation] = []
        newlines: list[int] | None = None
        for cmd in split_commands(text):
            found = self._simple(text, [w.text for w in cmd], cmd[0].start, {}, 0)
            if found and newlines is None:
                newlines = [m.start() for m in re.finditer("\n", text)]
            out.extend(replace(inv, line_offset=bisect.bisect_left(newlines or [], inv.start)) for inv in found)
        return out

    def parse_words(self, words: Sequence[str]) -> list[Invocation]:
        """An exec-form command (Dockerfile JSON array, compose list): no shell splitting."""
        return self._simple("", list(words), 0, {}, 0)

    # one simple command, `local` the assignments made on its own line
    def _simple(self, text: str, words: list[str], start: int, local: dict[str, str], depth: int) -> list[Invocation]:
        if depth > 8:
            return []
        local = dict(local)
        i = 0
        while i < len(words) and words[i] in _KEYWORDS:
            i += 1
        # VAR=x prefixes
        assigned: dict[str, str] = {}
        while i < len(words) and (m := _ASSIGN.match(words[i])) is not None:
            assigned[m.group(1)] = expand(m.group(2), {**self.lookup(), **local, **assigned})
            i += 1
        if i >= len(words):
            self.vars.update(assigned)  # `VAR=x` alone: a shell variable
            return []
        local.update(assigned)
        words = words[i:]
        head = _basename(words[0])
        if head in ("export", "declare", "typeset", "readonly") and depth == 0:
            for w in words[1:]:
                if w.startswith("-"):
                    continue
                m = _ASSIGN.match(w)
                if m:
                    self.vars[m.group(1)] = expand(m.group(2), self.lookup())
                    self.exported.add(m.group(1))
                elif _NAME.fullmatch(w) and head in ("export", "declare"):
                    self.exported.add(w)
            return []
        if head == "env":
            j = 1
            while j < len(words):
                w = words[j]
                if w in ("-u", "--unset", "-C", "--chdir"):
                    j += 2
                    continue
                if w in ("-S", "--split-string") and j + 1 < len(words):
                    return self._simple(text, [*words[j + 1].split(), *words[j + 2 :]], start, local, depth + 1)
                if w.startswith("-"):
                    j += 1
                    continue
                m = _ASSIGN.match(w)
                if m:
                    local[m.group(1)] = expand(m.group(2), {**self.lookup(), **local})
                    j += 1
                    continue
                break
            return self._simple(text, words[j:], start, local, depth + 1)
        if head in _LAUNCHERS:
            j = 1
            opts = _LAUNCHERS[head]
            while j < len(words) and words[j].startswith("-"):
                if words[j] == "--":
                    j += 1
                    break
                j += 2 if words[j] in opts else 1
            if head == "newrelic-admin" and j < len(words) and words[j] == "run-program":
                j += 1
            if head == "watchmedo":
                return self._after_double_dash(text, words, start, local, depth)
            return self._simple(text, words[j:], start, local, depth + 1)
        if head in _LAUNCHERS_WITH_ARG:
            j = 1
            while j < len(words) and words[j].startswith("-"):
                j += 1
            j += _LAUNCHERS_WITH_ARG[head]
            return self._simple(text, words[j:], start, local, depth + 1)
        if head in _RUNNERS and len(words) > 1:
            j = 1
            opts = _RUNNERS[head]
            while j < len(words) and words[j].startswith("-"):
                j += 2 if words[j] in opts else 1
            if j < len(words) and words[j] in ("run", "exec", "run-program"):
                j += 1
                while j < len(words) and words[j].startswith("-"):
                    if words[j] == "--":
                        j += 1
                        break
                    j += 2 if words[j] in opts else 1
                return self._simple(text, words[j:], start, local, depth + 1)
            return []
        if head in _DIRECT_RUNNERS:
            j = 1
            while j < len(words) and words[j].startswith("-"):
                j += 2 if words[j] in _DIRECT_RUNNERS[head] else 1
            return self._simple(text, words[j:], start, local, depth + 1)
        if head in _SHELLS:
            j = 1
            if head == "busybox" and j < len(words) and words[j] in _SHELLS:
                j += 1
            while j < len(words) and words[j].startswith("-") and words[j] != "--":
                if "c" in words[j][1:] and not words[j].startswith("--"):
                    if j + 1 < len(words):
                        inner = Shell()
                        inner.inherited = {**self.environ(), **local}
                        inner.vars = dict(self.vars)
                        found: list[Invocation] = []
                        for cmd in split_commands(words[j + 1]):
                            found.extend(inner._simple("", [w.text for w in cmd], 0, {}, depth + 1))
                        return [replace(inv, start=start) for inv in found]
                    return []
                j += 1
            return []
        return self._server(text, words, start, local)

    def _after_double_dash(
        self, text: str, words: list[str], start: int, local: dict[str, str], depth: int
    ) -> list[Invocation]:
        if "--" in words:
            return self._simple(text, words[words.index("--") + 1 :], start, local, depth + 1)
        return []

    def _server(self, text: str, words: list[str], start: int, local: dict[str, str]) -> list[Invocation]:
        if not any(_basename(w) in _KNOWN_WORDS for w in words) and not any(m in " ".join(words) for m in _MARKERS):
            return []  # no program or module bindscope knows: not worth matching against every server
        lookup = {**self.lookup(), **local}
        expanded = [expand(w, lookup) for w in words]
        environ = {**self.environ(), **local}
        if _basename(expanded[0]) == "make" or any(w in _NOT_SERVING for w in expanded[1:]):
            return []
        found = detect(expanded, environ=environ)
        if found is None or found.server.bind is None:
            return []
        server = found.server
        rest = _rest(expanded, server)
        if server.serve_words and not any(w in server.serve_words for w in rest):
            return []
        return _invocations(found, expanded, rest, environ, local, text, start)


def _rest(words: Sequence[str], server: Server) -> list[str]:
    """The arguments after the program (and after `-m MODULE` / the script python runs)."""
    from ..analyze.servers import parse_argv

    argv = parse_argv(list(words))
    return list(argv.rest) if argv is not None else []


def _values(rest: Sequence[str], opts: Sequence[str]) -> list[tuple[str, str]]:
    """(option, value) for every `OPT VALUE`, `OPT=VALUE`, `-oVALUE` of `opts` in `rest`."""
    out = []
    i = 0
    while i < len(rest):
        w = rest[i]
        hit = None
        for opt in opts:
            if w == opt and i + 1 < len(rest):
                hit = (opt, rest[i + 1], 2)
            elif w.startswith(opt + "="):
                hit = (opt, w[len(opt) + 1 :], 1)
            elif len(opt) == 2 and opt[0] == "-" and opt[1] != "-" and w.startswith(opt) and len(w) > 2:
                hit = (opt, w[2:], 1)
            if hit:
                break
        if hit is None:
            i += 1
            continue
        out.append((hit[0], hit[1]))
        i += hit[2]
    return out


_ADDRPORT = re.compile(r"^(?:(\[[^\]]*\]|[^:\[\]]+):)?(\d+|\$\w+|\$\{[^}]*\})$")


def _without(words: Sequence[str], opts: Sequence[str]) -> list[str]:
    """`words` without `OPT VALUE` / `OPT=VALUE` of `opts` (the empty token, in a fix)."""
    out: list[str] = []
    skip = False
    for w in words:
        if skip:
            skip = False
        elif w in opts:
            skip = True
        elif not any(w.startswith(o + "=") for o in opts):
            out.append(w)
    return out


def _default_host(bind: Bind) -> str:
    if bind.host == ALL:
        return "*"
    return bind.host or ""


def _invocations(
    found: Detected,
    words: list[str],
    rest: list[str],
    environ: Mapping[str, str],
    local: Mapping[str, str],
    text: str,
    start: int,
) -> list[Invocation]:
    server = found.server
    bind = server.bind
    assert bind is not None
    binds: list[tuple[str | None, str | None, str]] = []  # (host, port text, how)
    if any(flag in rest for flag in bind.lan_flag):
        binds.append(("*", None, next(f for f in bind.lan_flag if f in rest)))
    for opt, value in _values(rest, bind.bind_opts):
        first = value.split(",", 1)[0] if server.id == "uwsgi" else value
        host, port = split_hostport(first, bind.bind_needs_port)
        if host is None and port is None:
            continue  # a unix socket or fd
        binds.append((host, port, opt))
    host_vals = _values(rest, bind.host_opts)
    port_vals = _values(rest, bind.port_opts)
    port_text = port_vals[-1][1] if port_vals else None
    if host_vals and not binds:
        opt, value = host_vals[-1]
        binds.append((value, port_text, opt))
    if bind.positional == "addrport" and not binds:
        sub = next((k for k, w in enumerate(rest) if w in server.subcommands), -1)
        v6 = any(w in ("-6", "--ipv6") for w in rest)
        for w in rest[sub + 1 :]:
            if w.startswith("-"):
                continue
            m = _ADDRPORT.match(w)
            if m:
                addr = m.group(1)
                host = addr[1:-1] if addr and addr.startswith("[") else addr
                binds.append((host, m.group(2), "positional"))
                break
        if not binds and v6:
            binds.append(("::1", None, "-6"))
    if bind.positional == "port" and port_text is None:
        skip_next = False
        for w in rest:
            if skip_next:
                skip_next = False
                continue
            if w in bind.host_opts or w in ("-d", "--directory", "--protocol", "-p"):
                skip_next = True
                continue
            if not w.startswith("-") and (w.isdigit() or w.upper().endswith("PORT}") or w.upper().endswith("PORT")):
                port_text = w
                break
    if port_text is None and bind.port_env:
        name = next((v for v in bind.port_env if v in environ), None)
        if name is not None:
            port_text = environ[name]
    how_env = None
    if not binds:
        name = next((v for v in bind.host_env if v in environ), None)
        if name is not None:
            binds.append((environ[name], port_text, f"env {name}"))
            how_env = None if name in local else name
    default = False
    if not binds:
        if bind.host is None:
            return []  # it must be told where to listen (uWSGI): nothing written, nothing bound
        default = True
        port_env_set = next((v for v in bind.port_env if v in environ), None)
        if _values(rest, bind.config_opts) or any(name in environ for name in bind.args_env):
            binds.append(("$CONFIG", port_text, "config file"))  # what the file says is not known here
        elif port_env_set and bind.port_env_host:
            binds.append((bind.port_env_host, port_text, f"${port_env_set} set"))
        else:
            binds.append((_default_host(bind), port_text, "default"))

    debug = found.debug
    debug_from_env = None
    if debug and not server.debug_always and not any(a in server.debug_flags for a in rest):
        var = next((name for name, _off in server.debug_env if name in environ), None)
        if var is not None and var not in local:
            debug_from_env = var
    if "--no-debug" in rest:
        debug = None
    open_auth = None
    for opt, value in _values(rest, server.auth_off_opts):
        if value.strip("'\"") == "":
            open_auth = f"{opt}=''"

    out = []
    for host, ptext, how in binds:
        written = "" if default else (host or "")
        effective = host if host is not None else (_default_host(bind))
        if ptext is None:
            ptext = port_text
        port = port_value(ptext) if ptext is not None else bind.port
        scope = host_scope(effective) if effective != "*" else "all"
        if default and bind.host == LOCALHOST:
            scope = "loopback"
        fix_port: int | str = port if port is not None else (ptext or (bind.port or 8000))
        fix = ""
        if scope in ("all", "specific"):
            f = bind_fix(found, _without(words, server.auth_off_opts) if open_auth else words, LOCAL_HOST, fix_port)
            # `'127.0.0.1:$PORT'` -> `127.0.0.1:$PORT`: the variable must still expand
            fix = re.sub(r"'([\w.:\[\]${}()-]+)'", r"\1", f.text) if f is not None else ""
        out.append(
            Invocation(
                server=server.id,
                label=server.label,
                words=tuple(words),
                host=written,
                effective_host=effective,
                port=port,
                port_text=ptext or "",
                scope=scope,
                default=default,
                how=how,
                host_from_env=how_env,
                debug=debug,
                debug_from_env=debug_from_env,
                open_auth=open_auth,
                category=server.category,
                start=start,
                line_offset=0,  # Shell.parse sets it
                fix=fix,
                env=dict(environ),
            )
        )
    return out


def parse(text: str, env: Mapping[str, str] | None = None) -> list[Invocation]:
    """Every server started by the command line(s) in `text`."""
    return Shell(env).parse(text)


def describe(inv: Invocation, rule: str) -> str:
    """What is exposed, in words, for a Hit's message."""
    port = inv.port_text or (str(inv.port) if inv.port else "")
    where = f"port {port}" if port else "its port"
    if rule == "jupyter-open":
        return f"Jupyter on every interface ({where}) with {inv.open_auth}: anyone who reaches it runs code as you"
    if rule == "debug-exposed":
        host = inv.effective_host or "every interface"
        return f"{inv.label} with its debugger on {host} ({where}): {inv.debug}"
    if rule == "bind-all-default":
        why = "binds every interface by default" if inv.how == "default" else f"binds 0.0.0.0 ({inv.how})"
        return f"{inv.label} started without a host {why} ({where}): anyone on the network reaches it"
    host = inv.effective_host or "every interface"
    return f"{inv.label} bound to {host} ({where}, {inv.how}): anyone on the network reaches it"


def servers_with_bind() -> list[Server]:
    return [s for s in SERVERS if s.bind is not None]
