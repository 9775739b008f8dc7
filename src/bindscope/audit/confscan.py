"""Scanners for the non-Python kinds (owner: the command-line/config work).

Contract with engine.py:
- `TRIGGERS[kind]`: a bytes regex per kind; a file of that kind whose bytes do not match cannot
  give a Hit or a Fact and is skipped unread.
- `SCANNERS[kind](ctx) -> ScanResult` for every kind in model.KINDS except "python"; never raises.

Every command line (Procfile, shell, Dockerfile CMD/ENTRYPOINT, compose command/entrypoint,
Makefile recipe, systemd ExecStart) goes through cmdline.py; server flags and defaults come from
knowledge/servers.py, image categories and debug variables from knowledge/containers.py.

Severities set here: a bind inside a container image (Dockerfile) or a container (compose
`command:`) is "info": binding every interface inside a container is how containers work, and
what matters is how the port is published (link.py escalates a Dockerfile's hits when the
project publishes that image beyond loopback; compose's own `ports:` give publish-* findings).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..knowledge.containers import DATASTORE_PORTS, debug_env_on, image_category
from ..knowledge.servers import SERVERS
from . import cmdline
from .model import Fact, FileContext, Hit, ScanResult

INFO = "info"

# -- triggers -------------------------------------------------------------------------------


def _server_words() -> list[str]:
    words: set[str] = set()
    for s in SERVERS:
        if s.bind is None:
            continue
        words.update(s.programs)
        words.update(s.modules)
        words.update(s.bind.host_env)
    return sorted(words, key=len, reverse=True)


def _alternation(words: Iterable[str]) -> bytes:
    return b"|".join(re.escape(w).encode() for w in words)


_SERVER_ALT = _alternation(_server_words())
_COMMANDS = re.compile(_SERVER_ALT)
TRIGGERS: dict[str, re.Pattern[bytes]] = {
    "procfile": _COMMANDS,
    "shell": _COMMANDS,
    "makefile": _COMMANDS,
    "systemd": _COMMANDS,
    # every Dockerfile gives a Fact (link.py needs its build context)
    "dockerfile": re.compile(rb"(?i)\bFROM\b"),
    "compose": re.compile(rb"ports|network_mode|build|image|environment|command|entrypoint|net:"),
    "uwsgi_ini": re.compile(rb"(?i)socket|http"),
    "nginx": re.compile(rb"_pass|upstream"),
}

# -- helpers ----------------------------------------------------------------------------------


def _fix_for(inv: cmdline.Invocation, rule: str) -> str:
    if inv.fix:
        return inv.fix
    return f"bind {inv.label} to 127.0.0.1"


def _hits_for(
    invs: Iterable[cmdline.Invocation],
    line_of: Callable[[cmdline.Invocation], int],
    *,
    severity: str | None = None,
    env_debug: bool = True,
    env_host: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> list[Hit]:
    """Hits for the invocations that break a rule, one per (line, rule)."""
    out: list[Hit] = []
    seen: set[tuple[int, str]] = set()
    for inv in invs:
        if not env_host and inv.host_from_env:
            continue  # reported where the variable is set
        rule = inv.rule(env_debug=env_debug)
        if not rule:
            continue
        line = line_of(inv)
        if (line, rule) in seen:
            continue
        seen.add((line, rule))
        data = {**inv.data(), **(extra or {})}
        out.append(Hit(rule, line, cmdline.describe(inv, rule), _fix_for(inv, rule), severity=severity, data=data))
    return out


def _safe(scan: Callable[[FileContext], ScanResult]) -> Callable[[FileContext], ScanResult]:
    """A scanner that never raises: an unexpected error gives an empty result that says why."""

    def run(ctx: FileContext) -> ScanResult:
        try:
            return scan(ctx)
        except Exception as exc:  # a scanner must never take the audit down
            return ScanResult(fallback=f"internal error in the {ctx.kind} scanner: {type(exc).__name__}: {exc}")

    run.__name__ = scan.__name__
    run.__doc__ = scan.__doc__
    return run


# -- Procfile, shell, systemd, Makefile ---------------------------------------------------------

_PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_.-]+)\s*:[ \t]*(.*)$")


def scan_procfile(ctx: FileContext) -> ScanResult:
    """Each `name: command` line. The process manager (Heroku, honcho, foreman) sets PORT."""
    hits: list[Hit] = []
    for no, line in enumerate(ctx.text.splitlines(), 1):
        m = _PROCFILE_LINE.match(line)
        if not m or line.lstrip().startswith("#"):
            continue
        invs = cmdline.Shell({"PORT": "$PORT"}).parse(m.group(2))
        hits.extend(_hits_for(invs, lambda _inv, no=no: no, extra={"process": m.group(1)}))
    return ScanResult(hits)


# Larger than this, a shell script or compose file is read in a line-level pass: parsing all of
# a 10 MB file in Python takes seconds, and no hand-written script or compose file is that big.
LARGE = 1024 * 1024
MAX_HITS = 1000  # in a large file: a generated file, not a mistake to list line by line
_SERVER_LINE = re.compile(_SERVER_ALT.decode())
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*=")


def scan_shell(ctx: FileContext) -> ScanResult:
    """The whole script, one command after another (exports carry on)."""
    if len(ctx.text) > LARGE:
        return _shell_lines(ctx)
    invs = cmdline.Shell().parse(ctx.text)
    return ScanResult(_hits_for(invs, lambda inv: inv.line_offset + 1))


def _shell_lines(ctx: FileContext) -> ScanResult:
    """A large script: only the logical lines that name a server or assign a variable, in order."""
    shell = cmdline.Shell()
    hits: list[Hit] = []
    why = f"large file ({len(ctx.text) // 1024} KB): read line by line"
    for no, line in _logical_lines(ctx.text):
        if _SERVER_LINE.search(line):
            hits.extend(_hits_for(shell.parse(line), lambda _inv, no=no: no))
            if len(hits) >= MAX_HITS:
                return ScanResult(hits, fallback=f"{why}, stopped after {MAX_HITS} findings")
        elif _ENV_LINE.match(line):
            shell.parse(line)
    return ScanResult(hits, fallback=why)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) with `\\` continuations joined."""
    out: list[tuple[int, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = i
        buf = lines[i]
        while buf.endswith("\\") and i + 1 < len(lines):
            i += 1
            buf = buf[:-1] + " " + lines[i]
        out.append((start + 1, buf))
        i += 1
    return out


def _env_words(value: str) -> dict[str, str]:
    out = {}
    for cmd in cmdline.split_commands(value):
        for w in cmd:
            m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", w.text, re.S)
            if m:
                out[m.group(1)] = m.group(2)
    return out


def scan_systemd(ctx: FileContext) -> ScanResult:
    """`ExecStart=` lines (prefixes `-@:+!` dropped) with the unit's `Environment=` values."""
    env: dict[str, str] = {}
    starts: list[tuple[int, str]] = []
    for no, line in _logical_lines(ctx.text):
        s = line.strip()
        if s.startswith(("#", ";")):
            continue
        key, sep, value = s.partition("=")
        if not sep:
            continue
        key = key.strip()
        if key == "Environment":
            env.update(_env_words(value))
        elif key == "ExecStart":
            starts.append((no, value.strip().lstrip("-@:+!")))
    hits: list[Hit] = []
    for no, command in starts:
        hits.extend(_hits_for(cmdline.Shell(env).parse(command), lambda _inv, no=no: no))
    return ScanResult(hits)


_MAKE_ASSIGN = re.compile(r"^(?:export\s+|override\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:::=|:=|\?=|\+=|!=|=)\s*(.*)$")
_MAKE_REF = re.compile(r"\$[({]([A-Za-z_][A-Za-z0-9_.-]*)[)}]")


def scan_makefile(ctx: FileContext) -> ScanResult:
    """Recipe lines (tab-indented; `@`, `-`, `+` prefixes dropped; `$$` is `$`; `$(VAR)` from
    the Makefile's own assignments; `export`ed variables are in the recipe's environment)."""
    variables: dict[str, str] = {}
    exported: set[str] = set()
    recipes: list[tuple[int, str]] = []
    for no, line in _logical_lines(ctx.text):
        if line.startswith("\t"):
            recipes.append((no, line[1:]))
            continue
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = _MAKE_ASSIGN.match(s)
        if m:
            name, value = m.group(1), m.group(2).split("#", 1)[0].strip()
            variables[name] = value
            if s.startswith("export"):
                exported.add(name)
        elif s.startswith("export "):
            exported.update(s.split()[1:])

    def make_expand(text: str, depth: int = 0) -> str:
        if depth > 5:
            return text
        return _MAKE_REF.sub(
            lambda m: make_expand(variables[m.group(1)], depth + 1) if m.group(1) in variables else m.group(0), text
        )

    env = {k: make_expand(v) for k, v in variables.items() if k in exported}
    hits: list[Hit] = []
    for no, recipe in recipes:
        command = recipe.lstrip().lstrip("@-+").lstrip()
        command = make_expand(command.replace("$$", "\0")).replace("\0", "$")
        hits.extend(_hits_for(cmdline.Shell(env).parse(command), lambda _inv, no=no: no))
    return ScanResult(hits)


# -- uwsgi.ini ----------------------------------------------------------------------------------

_UWSGI = next(s for s in SERVERS if s.id == "uwsgi")
_UWSGI_KEYS = tuple(o.lstrip("-") for o in (_UWSGI.bind.bind_opts if _UWSGI.bind else ()) if o.startswith("--"))


def scan_uwsgi_ini(ctx: FileContext) -> ScanResult:
    """`[uwsgi]` keys http / http-socket / socket / https (knowledge/servers.py's uWSGI options)."""
    hits: list[Hit] = []
    section = ""
    for no, line in enumerate(ctx.text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith(("#", ";")):
            continue
        if s.startswith("[") and s.endswith("]"):
            section = s[1:-1].strip()
            continue
        if section != "uwsgi":
            continue
        key, sep, value = s.partition("=")
        key = key.strip()
        if not sep or key not in _UWSGI_KEYS:
            continue
        first = value.strip().split(",", 1)[0]
        host, port = cmdline.split_hostport(first, True)
        if host is None:
            continue
        scope = cmdline.host_scope(host)
        if scope != "all":
            continue
        shown = host if host else "every interface"
        where = f"port {port}" if port else "its port"
        hits.append(
            Hit(
                "bind-all",
                no,
                f"uWSGI {key} on {shown} ({where}, `{s}`): anyone on the network reaches it"
                + (" and the uwsgi protocol lets a client choose what to run" if key == "socket" else ""),
                f"{key} = 127.0.0.1:{port or 'PORT'}",
                data={"host": host, "port": cmdline.port_value(port), "server": "uwsgi", "debug": False},
            )
        )
    return ScanResult(hits)


# -- nginx ------------------------------------------------------------------------------------


def scan_nginx(ctx: FileContext) -> ScanResult:
    """nginx-upstream Facts: every host:port the config proxies to (link.py's proxy-bypass)."""
    from ..analyze.nginxconf import targets

    facts = []
    for t in targets(ctx.text):
        if t.address.startswith("unix:") or "$" in t.address:
            continue
        host, port = cmdline.split_hostport(t.address, False)
        facts.append(
            Fact(
                "nginx-upstream",
                t.line,
                {
                    "host": host or "",
                    "port": cmdline.port_value(port) or 80,
                    "directive": t.directive,
                    "target": t.target,
                },
            )
        )
    return ScanResult(facts=facts)


# -- Dockerfile ---------------------------------------------------------------------------------


def _host_env_servers() -> dict[str, str]:
    out: dict[str, str] = {}
    for s in SERVERS:
        if s.bind is not None:
            for name in s.bind.host_env:
                out.setdefault(name, s.id)
    return out


_HOST_ENV = _host_env_servers()


def _docker_instructions(text: str) -> list[tuple[int, str, str]]:
    """(line, INSTRUCTION, arguments) with continuations joined and comment lines skipped."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        if not s or s.startswith("#"):
            i += 1
            continue
        start = i
        parts = [lines[i].rstrip()]
        while parts[-1].endswith("\\") and i + 1 < len(lines):
            parts[-1] = parts[-1][:-1]
            i += 1
            nxt = lines[i].strip()
            if nxt.startswith("#"):
                parts.append("\\")
                continue
            parts.append(lines[i].rstrip())
        joined = " ".join(p for p in parts if p != "\\")
        m = re.match(r"^\s*([A-Za-z]+)\s*(.*)$", joined, re.S)
        if m:
            out.append((start + 1, m.group(1).upper(), m.group(2).strip()))
        i += 1
    return out


def _exec_form(args: str) -> list[str] | None:
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _env_pairs(args: str) -> list[tuple[str, str]]:
    words = [w.text for cmd in cmdline.split_commands(args) for w in cmd]
    if words and "=" not in words[0]:  # legacy `ENV NAME value with spaces`
        return [(words[0], " ".join(words[1:]))]
    out = []
    for w in words:
        name, sep, value = w.partition("=")
        if sep:
            out.append((name, value))
    return out


def scan_dockerfile(ctx: FileContext) -> ScanResult:
    """CMD/ENTRYPOINT (exec and shell form), ENV host and debug variables, EXPOSE, COPY/ADD.
    Hits are "info" (inside the image); link.py escalates them when the image is published."""
    hits: list[Hit] = []
    env: dict[str, str] = {}
    args_env: dict[str, str] = {}
    expose: list[int] = []
    copies: list[str] = []
    cmd_port: int | None = None
    entry: tuple[int, list[str] | None, str] | None = None
    cmd: tuple[int, list[str] | None, str] | None = None
    extra = {"in_image": True}
    seen: set[tuple[int, str]] = set()

    def add(new: list[Hit]) -> None:
        for h in new:
            if (h.line, h.rule) not in seen:
                seen.add((h.line, h.rule))
                hits.append(h)

    def run(no: int, words: list[str] | None, args: str | None) -> list[cmdline.Invocation]:
        shell = cmdline.Shell(env)
        invs = shell.parse_words(words) if words is not None else shell.parse(args or "")
        add(_hits_for(invs, lambda _inv: no, severity=INFO, env_debug=False, env_host=False, extra=extra))
        return invs

    def settle() -> None:
        # the stage's final ENTRYPOINT/CMD: an exec-form ENTRYPOINT takes CMD as its arguments
        # (ENTRYPOINT ["gunicorn"] + CMD ["-b", "0.0.0.0:8000", "app:app"]): reported at the
        # ENTRYPOINT line, where the command starts. Otherwise each is read alone.
        nonlocal cmd_port
        found: list[cmdline.Invocation] = []
        if entry and entry[1] is not None and cmd and cmd[1] is not None:
            found = run(entry[0], [*entry[1], *cmd[1]], None)
        if not found:
            for item in (entry, cmd):
                if item is not None:
                    found.extend(run(item[0], item[1], item[2]))
        if cmd_port is None:
            cmd_port = next((inv.port for inv in found if inv.port), None)

    for no, instr, args in _docker_instructions(ctx.text):
        if instr == "FROM":
            settle()
            env, entry, cmd = {}, None, None
        elif instr == "ARG":
            for name, value in _env_pairs(args) if "=" in args else []:
                args_env[name] = value
        elif instr == "ENV":
            for name, raw in _env_pairs(args):
                value = cmdline.expand(raw, {**args_env, **env})
                env[name] = value
                if name in _HOST_ENV and cmdline.host_scope(value) == "all":
                    sid = _HOST_ENV[name]
                    add(
                        [
                            Hit(
                                "bind-all",
                                no,
                                f"ENV {name}={value}: {sid} in this image binds every interface",
                                f"ENV {name}=127.0.0.1 (or publish the port on 127.0.0.1 only)",
                                severity=INFO,
                                data={"host": value, "port": None, "server": sid, "debug": False, **extra},
                            )
                        ]
                    )
                if debug_env_on(name, value):
                    add(
                        [
                            Hit(
                                "debug-env-published",
                                no,
                                f"ENV {name}={value} switches debug mode on in this image",
                                f"remove ENV {name}={value} (set it only in a development override)",
                                severity=INFO,
                                data={"host": "", "port": None, "server": "", "debug": True, "env": name, **extra},
                            )
                        ]
                    )
        elif instr == "EXPOSE":
            for w in args.split():
                p = w.split("/", 1)[0]
                if p.isdigit():
                    expose.append(int(p))
                elif "-" in p and all(x.isdigit() for x in p.split("-", 1)):
                    expose.append(int(p.split("-", 1)[0]))
        elif instr in ("COPY", "ADD"):
            words = _exec_form(args) or args.split()
            if any(w.startswith("--from") for w in words):
                continue
            srcs = [w for w in words if not w.startswith("--")][:-1]
            copies.extend(s.rstrip("/") or "." for s in srcs)
        elif instr == "ENTRYPOINT":
            entry = (no, _exec_form(args), args)
        elif instr == "CMD":
            cmd = (no, _exec_form(args), args)
    settle()
    directory = posixpath.dirname(ctx.path) or "."
    fact = Fact("dockerfile", 1, {"dir": directory, "expose": expose, "cmd_port": cmd_port, "copies": copies})
    return ScanResult(hits, [fact])


# -- compose --------------------------------------------------------------------------------------


def _ports_short(spec: str) -> dict[str, Any] | None:
    """`[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]` -> {host_ip, published, target, protocol}."""
    s = spec.strip()
    proto = ""
    if "/" in s:
        s, proto = s.rsplit("/", 1)
    host_ip = ""
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            return None
        host_ip, s = s[1:end], s[end + 1 :].lstrip(":")
        parts = s.split(":")
        published, target = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[-1])
    else:
        parts = s.split(":")
        if len(parts) == 1:
            published, target = "", parts[0]
        elif len(parts) == 2:
            published, target = parts
        else:
            host_ip, published, target = ":".join(parts[:-2]), parts[-2], parts[-1]
    if not target:
        return None
    return {"host_ip": host_ip, "published": published, "target": target, "protocol": proto or "tcp"}


def _first_port(text: str) -> int | None:
    head = str(text).split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _target_has(target: str, port: int | None) -> bool:
    """Whether a compose target (`8000`, `7000-7005`) covers `port` (None: any)."""
    if port is None:
        return True
    parts = str(target).split("-", 1)
    if not all(p.isdigit() for p in parts):
        return True  # symbolic: cannot tell, assume it does
    return int(parts[0]) <= port <= int(parts[-1])


def _publish_scope(host_ip: str) -> str:
    if not host_ip:
        return "all"
    return cmdline.host_scope(host_ip)


class _Node:
    """Helpers over PyYAML's composed nodes (values as written: `80:80` stays a string)."""

    @staticmethod
    def get(node: Any, key: str) -> Any:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            return None
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
        return None

    @staticmethod
    def key_line(node: Any, key: str) -> int:
        import yaml

        if isinstance(node, yaml.MappingNode):
            for k, _v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    return int(k.start_mark.line) + 1
        return 0

    @staticmethod
    def scalar(node: Any) -> str | None:
        import yaml

        return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _service_env(node: Any) -> list[tuple[str, str | None, int]]:
    """(name, value or None, line) of a service's `environment:` (list or map)."""
    import yaml

    out: list[tuple[str, str | None, int]] = []
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.ScalarNode):
                name, sep, value = str(item.value).partition("=")
                out.append((name.strip(), value if sep else None, item.start_mark.line + 1))
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                value = v.value if isinstance(v, yaml.ScalarNode) and v.tag != "tag:yaml.org,2002:null" else None
                out.append((str(k.value), None if value is None else str(value), k.start_mark.line + 1))
    return out


def _command(node: Any) -> tuple[str | None, list[str] | None]:
    import yaml

    if isinstance(node, yaml.ScalarNode):
        return str(node.value), None
    if isinstance(node, yaml.SequenceNode):
        return None, [str(i.value) for i in node.value if isinstance(i, yaml.ScalarNode)]
    return None, None


def scan_compose(ctx: FileContext) -> ScanResult:
    """services: ports (short and long syntax), network_mode, environment, command/entrypoint,
    build/image -> Hits and one compose-service Fact per service."""
    import yaml

    if "{{" in ctx.text or "{%" in ctx.text:
        return _compose_fallback(ctx, "templated YAML (Jinja/Helm)")
    if len(ctx.text) > LARGE:
        return _compose_fallback(ctx, f"large file ({len(ctx.text) // 1024} KB)")
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it
        docs = list(yaml.compose_all(ctx.text, Loader=loader))
    except yaml.YAMLError as exc:
        return _compose_fallback(ctx, f"invalid YAML: {str(exc).splitlines()[0]}")
    root = next((d for d in docs if isinstance(d, yaml.MappingNode)), None)
    if root is None:
        return ScanResult()
    services = _Node.get(root, "services")
    if not isinstance(services, yaml.MappingNode):
        # compose file format 1: services at the top level
        services = (
            root
            if any(
                isinstance(v, yaml.MappingNode) and (_Node.get(v, "image") or _Node.get(v, "build"))
                for _k, v in root.value
            )
            else None
        )
    if services is None:
        return ScanResult()
    hits: list[Hit] = []
    facts: list[Fact] = []
    base = posixpath.dirname(ctx.path)
    for key, svc in services.value:
        if not isinstance(svc, yaml.MappingNode) or not isinstance(key, yaml.ScalarNode):
            continue
        h, f = _compose_service(str(key.value), key.start_mark.line + 1, svc, base)
        hits.extend(h)
        facts.append(f)
    return ScanResult(hits, facts)


def _compose_service(name: str, line: int, svc: Any, base: str) -> tuple[list[Hit], Fact]:
    import yaml

    image = _Node.scalar(_Node.get(svc, "image")) or ""
    build_node = _Node.get(svc, "build")
    context, dockerfile = None, "Dockerfile"
    if isinstance(build_node, yaml.ScalarNode):
        context = str(build_node.value)
    elif isinstance(build_node, yaml.MappingNode):
        context = _Node.scalar(_Node.get(build_node, "context")) or "."
        dockerfile = _Node.scalar(_Node.get(build_node, "dockerfile")) or "Dockerfile"
    build = None
    if context is not None and "://" not in context and not context.startswith("git@"):
        build = posixpath.normpath(posixpath.join(base, context)) if base else posixpath.normpath(context)
    env_entries = _service_env(_Node.get(svc, "environment"))
    env = {k: cmdline.expand(v, {}) for k, v, _l in env_entries if v is not None}

    # command / entrypoint through the one parser
    invs: list[tuple[int, cmdline.Invocation]] = []
    command_text = ""
    for key in ("entrypoint", "command"):
        node = _Node.get(svc, key)
        if node is None:
            continue
        text, words = _command(node)
        shell = cmdline.Shell(env)
        found = shell.parse(text) if text is not None else shell.parse_words(words or [])
        command_text = command_text or (text if text is not None else " ".join(words or []))
        kline = _Node.key_line(svc, key)
        invs.extend((kline, inv) for inv in found)
    debug_command = next(
        (inv for _l, inv in invs if inv.rule(env_debug=False) in ("debug-exposed", "jupyter-open")), None
    )

    # ports
    ports: list[dict[str, Any]] = []
    pnode = _Node.get(svc, "ports")
    if isinstance(pnode, yaml.SequenceNode):
        for item in pnode.value:
            spec: dict[str, Any] | None = None
            written = ""
            if isinstance(item, yaml.ScalarNode):
                written = cmdline.expand(str(item.value), {})
                spec = _ports_short(written)
            elif isinstance(item, yaml.MappingNode):
                spec = {
                    "host_ip": cmdline.expand(_Node.scalar(_Node.get(item, "host_ip")) or "", {}),
                    "published": cmdline.expand(_Node.scalar(_Node.get(item, "published")) or "", {}),
                    "target": cmdline.expand(_Node.scalar(_Node.get(item, "target")) or "", {}),
                    "protocol": _Node.scalar(_Node.get(item, "protocol")) or "tcp",
                    "long": True,
                }
            if spec is None or not spec["target"]:
                continue
            spec["line"] = item.start_mark.line + 1
            spec["written"] = written
            ports.append(spec)
    network_mode = _Node.scalar(_Node.get(svc, "network_mode")) or _Node.scalar(_Node.get(svc, "net")) or ""
    wide_ports = [p for p in ports if _publish_scope(p["host_ip"]) in ("all", "specific")]
    host_net = network_mode == "host"
    reachable = bool(wide_ports) or host_net

    hits: list[Hit] = []
    category = image_category(image) if image else ""
    if not category and not image and any(_first_port(p["target"]) in DATASTORE_PORTS for p in ports):
        category = "datastore"
    base_data = {"service": name, "image": image, "build": build}
    what = image or (f"built from {build}" if build else name)
    for p in ports:
        if _publish_scope(p["host_ip"]) != "all":
            continue
        target = p["target"]
        published = p["published"] or "a random port"
        if category or debug_command is not None:
            rule = "publish-datastore"
            kind = {"datastore": "a datastore", "admin": "an admin UI"}.get(category, "a debug server")
            why = f"{kind} ({what})"
        else:
            rule = "publish-all"
            why = f"service {name} ({what})"
        addr = p["host_ip"] or "every host address"
        if p.get("long"):
            fix = "host_ip: 127.0.0.1"
        else:
            pub = p["published"] or target
            fix = f'"127.0.0.1:{pub}:{target}' + (f'/{p["protocol"]}"' if p["protocol"] != "tcp" else '"')
        hits.append(
            Hit(
                rule,
                p["line"],
                f"port {target} of {why} published on {addr} as {published}: anyone who reaches this machine "
                "reaches it, and Docker's published ports bypass ufw/firewalld",
                fix,
                data={
                    **base_data,
                    "host_ip": p["host_ip"],
                    "published": p["published"],
                    "target": target,
                    "port": _first_port(p["published"]) or _first_port(target),
                    "host": p["host_ip"],
                    "server": debug_command.server if debug_command else "",
                    "debug": debug_command is not None,
                },
            )
        )
    if host_net:
        hits.append(
            Hit(
                "host-network",
                _Node.key_line(svc, "network_mode") or _Node.key_line(svc, "net"),
                f"service {name} ({what}) shares the host's network: every port it listens on is on the host's "
                "addresses, and `ports:` no longer applies",
                "remove network_mode: host and publish the ports it needs on 127.0.0.1",
                data={**base_data, "host": "", "port": None, "server": "", "debug": False},
            )
        )
    if reachable:
        for ename, value, eline in env_entries:
            if value is None:
                continue
            value = cmdline.expand(value, {})
            if debug_env_on(ename, value):
                hits.append(
                    Hit(
                        "debug-env-published",
                        eline,
                        f"{ename}={value} switches debug mode on in service {name}, which is reachable beyond this "
                        "machine" + (" (network_mode: host)" if host_net and not wide_ports else ""),
                        f"drop {ename} here (use a development override file) or publish on 127.0.0.1 only",
                        data={**base_data, "host": "", "port": None, "server": "", "debug": True, "env": ename},
                    )
                )
    # the commands run inside the container: info, unless this service publishes their port
    # beyond loopback (or shares the host's network), as link.py does for a Dockerfile's CMD
    seen: set[tuple[int, str]] = set()
    for kline, inv in invs:
        rule = inv.rule(env_debug=False)
        if not rule or inv.host_from_env or (kline, rule) in seen:
            continue
        seen.add((kline, rule))
        pub = next((p for p in wide_ports if _target_has(p["target"], inv.port)), None)
        if pub is not None:
            where = f"; published on {pub['host_ip'] or 'every host address'} by line {pub['line']}"
        elif host_net:
            where = "; the service shares the host's network (network_mode: host)"
        else:
            where = f" (inside service {name}'s container, not published beyond loopback)"
        hits.append(
            Hit(
                rule,
                kline,
                cmdline.describe(inv, rule) + where,
                _fix_for(inv, rule),
                severity=None if (pub is not None or host_net) else INFO,
                data={**inv.data(), **base_data},
            )
        )
    fact = Fact(
        "compose-service",
        line,
        {
            "service": name,
            "image": image,
            "build": build,
            "dockerfile": dockerfile,
            "ports": [
                {"host_ip": p["host_ip"], "published": p["published"], "target": p["target"], "line": p["line"]}
                for p in ports
            ],
            "network_mode": network_mode,
            "environment": env,
            "command": command_text,
            "container_name": _Node.scalar(_Node.get(svc, "container_name")) or "",
            "hostname": _Node.scalar(_Node.get(svc, "hostname")) or "",
        },
    )
    return hits, fact


_FB_KEY = re.compile(r"^(\s*)([A-Za-z0-9_.-]+)\s*:\s*(.*?)\s*$")
_FB_ITEM = re.compile(r"^\s*-\s*[\"']?([^\"'#]+?)[\"']?\s*(?:#.*)?$")


def _compose_fallback(ctx: FileContext, why: str) -> ScanResult:
    """Line by line: `ports:` items without a loopback host IP, `network_mode: host`."""
    hits: list[Hit] = []
    list_key = ""
    list_indent = -1
    image = ""
    service_indent = -1
    in_services = False
    for no, line in enumerate(ctx.text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith(("#", "{%")):
            continue
        m = _FB_KEY.match(line)
        if m and not line.lstrip().startswith("-"):
            indent = len(m.group(1))
            key, value = m.group(2), m.group(3)
            if indent == 0:
                in_services = key == "services"
                service_indent = -1
            elif in_services and (service_indent < 0 or indent <= service_indent):
                service_indent = indent
                image = ""
            if key == "image":
                image = value.strip("\"'")
            if key in ("network_mode", "net") and value.strip("\"'") == "host":
                hits.append(Hit("host-network", no, "service shares the host's network", "remove network_mode: host"))
            list_key = key if not value else ""
            list_indent = indent
            continue
        if list_key != "ports":
            continue
        item = _FB_ITEM.match(line)
        if not item or (len(line) - len(line.lstrip())) < list_indent:
            continue
        spec = _ports_short(re.sub(r"\{\{.*?\}\}", "8000", item.group(1)))
        if spec is None or _publish_scope(spec["host_ip"]) != "all":
            continue
        category = image_category(image) if image else ""
        rule = "publish-datastore" if category else "publish-all"
        hits.append(
            Hit(
                rule,
                no,
                f"port {spec['target']} published on every host address (line-level pass: {why})",
                f'"127.0.0.1:{spec["published"] or spec["target"]}:{spec["target"]}"',
                data={"host_ip": spec["host_ip"], "published": spec["published"], "target": spec["target"]},
            )
        )
        if len(hits) >= MAX_HITS:
            return ScanResult(hits, fallback=f"{why}, stopped after {MAX_HITS} findings")
    return ScanResult(hits, fallback=why)


SCANNERS: dict[str, Callable[[FileContext], ScanResult]] = {
    "procfile": _safe(scan_procfile),
    "shell": _safe(scan_shell),
    "dockerfile": _safe(scan_dockerfile),
    "compose": _safe(scan_compose),
    "makefile": _safe(scan_makefile),
    "systemd": _safe(scan_systemd),
    "uwsgi_ini": _safe(scan_uwsgi_ini),
    "nginx": _safe(scan_nginx),
}
