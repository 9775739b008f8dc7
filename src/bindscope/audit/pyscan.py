"""Python files: AST with constant propagation inside a module (owner: the Python-rules work).

Contract with engine.py:
- `TRIGGERS`: a bytes regex; a Python file whose bytes do not match it cannot give a Hit or a
  Fact, so the engine skips it without decoding or parsing (this is what makes audit fast).
- `scan(ctx) -> ScanResult`; never raises (a SyntaxError -> a line-level pass, `fallback` set).
- `binds(text) -> list[Sink]` (for doctor): every bind sink, loopback and default hosts included,
  with its resolved host/port/server and a one-line edit; it records sinks on the side of the same
  analysis (`_Analyzer.sinks`, None for `scan`), so audit's results do not change.

How a file is read: one `ast.parse`, one iterative walk that records scopes (module, functions,
classes), assignments, imports, argparse/click/typer defaults and the candidate sinks; then each
sink's host, port and debug flag are evaluated by constant propagation inside the module:
literals, names (the last assignment before the use in the same scope, else the enclosing
scope's last), tuple unpacking, class attributes, dict literals, `os.getenv`/`os.environ.get`/
`env(..., default=)`/decouple `config(..., default=)` (the default is what runs when the variable
is unset: reported, naming the variable), f-strings, `+`, `%` and `.format` for "host:port",
attributes of a settings object built from a class of the module (`settings = Settings()`;
pydantic `Field(default)` too), argparse `add_argument(default=)` reaching `args.X`, click
`@click.option(default=)` and typer `typer.Option(default)` / plain parameter defaults reaching
a sink. Anything else is unknown, and an unknown host is never a finding (precision first).

Decisions (the corpus labels follow them):
- Reported line: the first line of the sink call (`app.run(`, `serve(`, `sock.bind(`); for
  settings the assignment (`DEBUG = True`, `ALLOWED_HOSTS = [...]`, `c.ServerApp.ip = ...`,
  gunicorn's `bind = ...`), also when the wide value comes from another line (the fix then
  names that line).
- One finding per sink: a debug server on a non-loopback bind is `debug-exposed` only, never
  also `bind-all`/`bind-all-default` on the same line. A debug app on loopback (Flask's default
  127.0.0.1) is nothing; a debug app on an explicit LAN/public IP is `debug-exposed`.
- Explicit wide host (0.0.0.0, ::, "0", and "" / "*" where that server means every interface)
  -> `bind-all`; a server whose *default* is every interface started without a host (waitress
  `serve(app)`, tornado `app.listen(8888)`, aiohttp `web.run_app(app)`, twisted `listenTCP`,
  `http.server.test()`) -> `bind-all-default`. Defaults come from knowledge/servers.py.
- `debug-exposed` severity: critical (the rule's) when the debug server runs Werkzeug's
  interactive debugger (Flask, Dash, Flask-SocketIO, run_simple, unknown `x.run(...)` receivers);
  "high" when debug mode shows tracebacks but runs no code (Quart, Sanic, Bottle, Tornado,
  FastAPI/Starlette `debug=True`).
- Receivers: resolved by what the name was assigned (`Flask(...)`, `Sanic(...)`,
  `tornado.web.Application(...)`, `socket.socket(...)`, ...). An unresolved receiver's `.run()` is
  a Flask-like app server only when it passes `host=` (or a wide host string first) and its
  receiver is not an imported module (`subprocess.run`, `asyncio.run`, `docker...run` never
  qualify); `.listen(port)` counts as tornado only when the module imports tornado and the
  receiver is not a socket; `.bind(x)` counts when x is a (host, port) tuple or a zmq
  "tcp://*:N" endpoint. Socket binds in a module that joins a multicast group
  (IP_ADD_MEMBERSHIP) are left out: a multicast receiver must bind the wildcard.
- django-debug: Django settings modules only (a `settings` path or Django markers such as
  INSTALLED_APPS/ROOT_URLCONF); dev/local/test/ci settings (by file name words) are left out;
  base.py/common.py are reported (production imports them). Only top-level assignments count
  and the last one decides. A truthy default through the environment counts, and so does a
  string default such as `os.environ.get("DEBUG", "False")`: Django tests DEBUG's truthiness.
- django-allowed-hosts-any: any settings module; in dev settings severity "low".
- jupyter-open: wide `ip` with an empty token and no password. A wide ip with a token (the
  default) is not reported.
- bind-all in `if __name__ == "__main__":` blocks is reported like any other.
"""

from __future__ import annotations

import ast
import ipaddress
import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

from ..knowledge.servers import ALL, SERVERS, Server
from .model import FileContext, Hit, ScanResult

# Strings whose presence any Hit needs (see the module docstring); checked against raw bytes.
# Every Hit needs one of: a wide literal ("0.0.0.0", "::", "0:PORT"; propagation stays inside
# the module, so the literal is in the file), an explicit non-loopback IP (debug-exposed), a sink
# where "" / "*" / no host means every interface, a top-level DEBUG / ALLOWED_HOSTS assignment
# (Django settings: only column-0 statements are read), or a Jupyter `ip` trait.
# Speed: `re` skips positions whose byte is not the first byte of some alternative, then tries
# the alternatives in turn; so every alternative starts with a literal byte (never a [class]),
# alternatives are grouped by that byte, and lowercase words are entered by a rarer byte with a
# look-behind (`v(?<=serv)e\(` is "serve("). About 2.5x faster than the plain alternation.
_IP = rb"(?!127\.)[1-9]\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}"
# "0:8000" and its builders "0:" + p, f"0:{p}", "0:%d" % p (not times such as "0:00:05")
_ZERO_PORT = rb"(?:\d{2,5}['\"]|['\"{%])"
TRIGGERS = re.compile(
    rb"0\.0\.0\.0|\[::\]"
    rb"|'(?:::'|0:" + _ZERO_PORT + rb"|" + _IP + rb"')"
    rb"|\"(?:::\"|0:" + _ZERO_PORT + rb"|" + _IP + rb"\")"
    rb"|\.(?:bind\b|listen\()"  # sock.bind(...), config.bind = [...], app.listen(port)
    rb"|=(?:(?<=bind=)|(?<=bind =))"  # gunicorn.conf.py bind = ...; Config(bind=...)
    rb"|k(?<=bind_sock)ets"  # tornado bind_sockets(port)
    rb"|T(?:(?<=listenT)CP|CPSite)"  # twisted listenTCP; aiohttp web.TCPSite
    rb"|v(?:(?<=serv)(?<!\wserv)e\(|(?<=make_serv)er|(?<=create_serv)er|(?<=start_serv)er)"  # serve(app), ...
    rb"|_(?<=run_)(?:app|simple)"  # aiohttp run_app; werkzeug run_simple
    rb"|Server\("  # HTTPServer((host, port), ...), TCPServer, WSGIServer, ...
    rb"|D(?<![^\n]D)EBUG\s*[:=]"  # DEBUG = ... at the start of a line
    rb"|A(?:(?<![^\n]A)LLOWED_HOSTS|pp\.ip\b)"  # ALLOWED_HOSTS ...; c.ServerApp.ip = ...
)

_UNKNOWN: Any = object()
_LINES = re.compile(r"\r\n|\r|\n")  # the line ends ast counts (str.splitlines also splits on \f, \x1c, ...)
_MAX_DEPTH = 30
_LOCAL = "127.0.0.1"

# -- server knowledge (knowledge/servers.py is the source of truth) -------------------------


def _server(server_id: str) -> Server | None:
    found = None
    for s in SERVERS:
        if s.id == server_id and s.bind is not None:
            if s.bind.code:
                return s
            found = found or s
    return found


@dataclass(frozen=True)
class _Shape:
    """How one server's host and port are passed in code, and what it means by default."""

    server: str  # knowledge id, or a plain name for what the table does not hold (socket, ...)
    label: str
    host_kw: str = "host"
    host_pos: int | None = None
    port_kw: str = "port"
    port_pos: int | None = None
    default_host: str | None = None  # host used when none is given; None: required or unknown
    default_port: int | None = None
    empty_all: bool = False  # host "" means every interface
    star_all: bool = False  # host "*" means every interface
    template: str = ""  # Bind.code: 'app.run(host="{host}", port={port})'
    debugger: bool = False  # debug mode runs Werkzeug's interactive debugger
    debug_note: str = ""


def _from_knowledge(server_id: str, **kw: Any) -> _Shape:
    server = _server(server_id)
    bind = server.bind if server is not None else None
    host_kw, port_kw, port_pos = "host", "port", None
    template = bind.code if bind is not None else ""
    if template:
        call = ast.parse(template.format(host="__HOST__", port="__PORT__"), mode="eval").body
        if isinstance(call, ast.Call):
            for k in call.keywords:
                if isinstance(k.value, ast.Constant) and k.value.value == "__HOST__" and k.arg:
                    host_kw = k.arg
                if isinstance(k.value, ast.Name) and k.value.id == "__PORT__" and k.arg:
                    port_kw = k.arg
            for i, a in enumerate(call.args):
                if isinstance(a, ast.Name) and a.id == "__PORT__":
                    port_pos = i
    default = None
    if bind is not None:
        default = bind.code_host if bind.code_host is not None else bind.host
    values: dict[str, Any] = {
        "server": server_id,
        "label": server.label if server is not None else server_id,
        "host_kw": host_kw,
        "port_kw": port_kw,
        "port_pos": port_pos,
        "default_host": default,
        "default_port": bind.port if bind is not None else None,
        "template": template,
        "debug_note": server.debug_note if server is not None else "",
    }
    values.update(kw)
    return _Shape(**values)


def _flask_debug_env() -> tuple[tuple[str, tuple[str, ...]], ...]:
    server = _server("flask")
    return server.debug_env if server is not None else ()


_FLASK_DEBUG_ENV = _flask_debug_env()
_WERKZEUG_NOTE = "the Werkzeug debugger runs code typed into its error page"

_FLASK = _from_knowledge("flask", host_pos=0, port_pos=1, debugger=True)
_SHAPES: dict[str, _Shape] = {
    "flask": _FLASK,
    "dash": _from_knowledge("dash", host_pos=0, port_pos=1, debugger=True, debug_note=_WERKZEUG_NOTE),
    "quart": _from_knowledge("quart", host_pos=0, port_pos=1, label="Quart"),
    "sanic": _from_knowledge("sanic", host_pos=0, port_pos=1),
    "bottle": _from_knowledge("bottle"),
    "socketio": _from_knowledge("flask", label="Flask-SocketIO", host_pos=1, port_pos=2, debugger=True, template=""),
    "uvicorn": _from_knowledge("uvicorn"),
    "waitress": _from_knowledge("waitress", star_all=True),
    "aiohttp": _from_knowledge("aiohttp", empty_all=True),
    "aiohttp-site": _from_knowledge("aiohttp", host_pos=1, port_pos=2, empty_all=True, template=""),
    "tornado": _from_knowledge("tornado", host_pos=1, port_pos=0, empty_all=True),
    "http.server": _from_knowledge("http.server", empty_all=True),
    "gradio": _from_knowledge("gradio"),
    "werkzeug": _from_knowledge(
        "flask",
        label="Werkzeug run_simple",
        host_kw="hostname",
        host_pos=0,
        port_pos=1,
        default_host=None,
        debugger=True,
        template="",
    ),
    "wsgiref": _Shape("wsgiref", "wsgiref make_server", host_pos=0, port_pos=1, empty_all=True),
    "twisted": _Shape(
        "twisted", "Twisted listenTCP", host_kw="interface", host_pos=3, port_pos=0, default_host="", empty_all=True
    ),
    # asyncio.start_server(cb, host=None, port=None) / loop.create_server(factory, host, port):
    # host None or "" is every interface (base_events.create_server); without a port it is a sock=
    "asyncio": _Shape("asyncio", "asyncio server", host_pos=1, port_pos=2, default_host=ALL, empty_all=True),
    # pn.serve(app, address=None, port=0) / bokeh.server.server.Server(apps, address=None): every interface
    "panel": _from_knowledge("panel", host_kw="address", default_port=None),
    "bokeh": _from_knowledge("bokeh", host_kw="address"),
    "socket": _Shape("socket", "socket", empty_all=True),
    "socketserver": _Shape("socketserver", "socketserver", empty_all=True),
    "zmq": _Shape("zmq", "ZeroMQ socket", star_all=True),
    "gunicorn": _from_knowledge("gunicorn"),
    "hypercorn": _from_knowledge("hypercorn"),
}

# Constructors whose result is a server/app object: (top module, class) -> kind.
_CLASS_KINDS = {
    ("flask", "Flask"): "flask",
    ("apiflask", "APIFlask"): "flask",
    ("connexion", "FlaskApp"): "flask",
    ("connexion", "App"): "flask",
    ("quart", "Quart"): "quart",
    ("dash", "Dash"): "dash",
    ("sanic", "Sanic"): "sanic",
    ("bottle", "Bottle"): "bottle",
    ("bottle", "default_app"): "bottle",
    ("flask_socketio", "SocketIO"): "socketio",
    ("tornado", "Application"): "tornado",
    ("tornado", "HTTPServer"): "tornado",
    ("aiohttp", "Application"): "aiohttp",
    ("socket", "socket"): "socket",
    ("hypercorn", "Config"): "hypercorn",
    ("fastapi", "FastAPI"): "asgi",
    ("starlette", "Starlette"): "asgi",
    ("gradio", "Blocks"): "gradio",
    ("gradio", "Interface"): "gradio",
    ("gradio", "ChatInterface"): "gradio",
    ("gradio", "TabbedInterface"): "gradio",
}
_RUN_KINDS = ("flask", "quart", "dash", "sanic", "bottle", "socketio")
# Module functions that start a server: (top module, function) -> shape name.
_FUNC_SINKS = {
    ("uvicorn", "run"): "uvicorn",
    ("uvicorn", "Config"): "uvicorn",
    ("waitress", "serve"): "waitress",
    ("waitress", "create_server"): "waitress",
    ("aiohttp", "run_app"): "aiohttp",
    ("aiohttp", "TCPSite"): "aiohttp-site",
    ("werkzeug", "run_simple"): "werkzeug",
    ("bottle", "run"): "bottle",
    ("wsgiref", "make_server"): "wsgiref",
    ("tornado", "bind_sockets"): "tornado",
    ("twisted", "listenTCP"): "twisted",
    ("asyncio", "start_server"): "asyncio",
    ("panel", "serve"): "panel",
    ("bokeh", "Server"): "bokeh",
}
# `*Server((host, port), ...)` constructors: the server id by top module (else the module's name)
_SERVER_MODULES = {"http": "http.server", "xmlrpc": "socketserver"}
_ENV_FUNCS = {"getenv", "get", "setdefault"}  # os.getenv(NAME, default), os.environ.get/setdefault
_ENV_LIBS = {"env", "config", "str", "bool", "int", "list", "get_env", "env_str", "env_bool", "env_list"}
_FALSE_WORDS = {"0", "false", "no", "off", "n", "f", ""}
_DEV_WORDS = {"dev", "devel", "develop", "development", "local", "test", "tests", "testing", "ci", "debug"}
_DJANGO_MARKERS = {
    "INSTALLED_APPS",
    "ROOT_URLCONF",
    "MIDDLEWARE",
    "MIDDLEWARE_CLASSES",
    "WSGI_APPLICATION",
    "ASGI_APPLICATION",
    "ALLOWED_HOSTS",
    "DATABASES",
}

# -- values ------------------------------------------------------------------------------------


@dataclass
class _Val:
    v: Any  # a Python value, or _UNKNOWN
    env: str = ""  # the environment variable whose default this is
    via: str = ""  # "the --host option's default", "parameter host's default"
    origin: ast.AST | None = None  # the constant that decided it (for the fix)

    @property
    def known(self) -> bool:
        return self.v is not _UNKNOWN


def _unknown() -> _Val:
    return _Val(_UNKNOWN)


class _Scope:
    __slots__ = ("click", "is_class", "name", "names", "params", "parent")

    def __init__(self, parent: _Scope | None, name: str = "", is_class: bool = False) -> None:
        self.parent = parent
        self.name = name
        self.is_class = is_class
        self.names: dict[str, list[tuple[int, ast.AST | None]]] = {}
        self.params: dict[str, ast.expr | None] = {}
        self.click: dict[str, tuple[ast.expr | None, str, str]] = {}  # param -> (default, envvar, option)

    def add(self, name: str, line: int, value: ast.AST | None) -> None:
        self.names.setdefault(name, []).append((line, value))


def _top(qual: str) -> tuple[str, str]:
    parts = qual.split(".")
    return parts[0], parts[-1]


def _const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _dest(option_strings: list[str]) -> str:
    for o in option_strings:
        if o.startswith("--"):
            return o[2:].replace("-", "_")
    for o in option_strings:
        if not o.startswith("-"):
            return o
    return option_strings[0].lstrip("-").replace("-", "_") if option_strings else ""


def _click_name(decls: list[str]) -> str:
    for d in decls:
        if d.isidentifier():
            return d
    return _dest(decls).lower()


def _split_hostport(text: str) -> tuple[str, int | None] | None:
    """ "0.0.0.0:8000" -> ("0.0.0.0", 8000); "[::]:80" -> ("::", 80); ":80" -> ("", 80)."""
    text = text.strip()
    if text.startswith("tcp://"):
        text = text[6:]
    if text.startswith("unix:") or text.startswith("fd://") or "/" in text:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host, rest = text[1:end], text[end + 1 :]
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    elif text.count(":") > 1:
        return (text, None)
    else:
        return (text, None)
    return host, int(port) if port.isdigit() else None


def _wide(host: Any, shape: _Shape) -> bool:
    if not isinstance(host, str):
        return False
    h = host.strip()
    if h in ("0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0", ALL if shape.star_all else "0.0.0.0"):
        return True
    return h == "" and shape.empty_all


def _wide_split(host: str, shape: _Shape) -> bool:
    """A host taken from "HOST:PORT": "0:8000" is 0.0.0.0 too (inet_aton("0"))."""
    return host == "0" or _wide(host, shape)


def _non_loopback_ip(host: Any) -> bool:
    if not isinstance(host, str):
        return False
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not ip.is_loopback and not ip.is_unspecified


def _truthy(v: Any) -> bool | None:
    if v is _UNKNOWN:
        return None
    try:
        return bool(v)
    except Exception:
        return None


# -- the walk -----------------------------------------------------------------------------------


@dataclass
class _Module:
    path: str
    lines: list[str]
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted module path
    modules: set[str] = field(default_factory=set)  # names bound by `import X` (modules, never apps)
    calls: list[tuple[ast.Call, _Scope]] = field(default_factory=list)
    attr_sets: list[tuple[ast.expr, ast.expr, _Scope, int]] = field(default_factory=list)  # target, value
    top: list[ast.stmt] = field(default_factory=list)  # module-level statements (not nested)
    argparse: dict[str, tuple[ast.expr | None, _Scope, str]] = field(default_factory=dict)  # dest -> default
    classes: dict[str, _Scope] = field(default_factory=dict)
    multicast: bool = False
    module_scope: _Scope = field(default_factory=lambda: _Scope(None, "<module>"))


def _leaf_types() -> frozenset[type]:
    kinds: set[type] = {ast.Name, ast.Constant, ast.alias, ast.Pass, ast.Break, ast.Continue}
    kinds |= {ast.Global, ast.Nonlocal}
    for base in (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop):
        kinds.update(base.__subclasses__())
    return frozenset(kinds)


# Calls worth a second look (sinks, and what sets a debug flag); any other call is only walked.
_CALL_NAMES = frozenset(
    {name for _, name in _FUNC_SINKS}
    | {"run", "run_server", "listen", "bind", "launch", "create_server", "update", "from_mapping", "from_object"}
    | {"call_command", "execute_from_command_line"}
    | {"setdefault", "putenv"}
)
_LEAVES = _leaf_types()  # nodes the walk never descends into nor records
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _walk(tree: ast.Module, mod: _Module) -> None:
    """One iterative walk: scopes, assignments, imports, calls, attribute assignments."""
    mod.top = list(tree.body)
    leaves = _LEAVES
    calls = mod.calls
    renamed: list[tuple[ast.Call, _Scope]] = []  # f(...) calls: a sink imported under another name?
    stack: list[tuple[ast.AST, _Scope]] = [(n, mod.module_scope) for n in tree.body]
    pop, push = stack.pop, stack.append
    while stack:
        node, scope = pop()
        t = type(node)
        if t is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            ft = type(func)
            fname = func.attr if ft is ast.Attribute else func.id if ft is ast.Name else ""
            if fname in _CALL_NAMES or fname.endswith("Server"):
                calls.append((node, scope))  # type: ignore[arg-type]
            elif fname == "add_argument":
                _argparse(node, scope, mod)  # type: ignore[arg-type]
            elif ft is ast.Name:
                renamed.append((node, scope))  # type: ignore[arg-type]
        elif t is ast.Attribute:
            if node.attr in ("IP_ADD_MEMBERSHIP", "IPV6_JOIN_GROUP"):  # type: ignore[attr-defined]
                mod.multicast = True
        elif t in _FUNCS:
            _function(node, scope, push)  # type: ignore[arg-type]
            continue
        elif t is ast.ClassDef:
            assert isinstance(node, ast.ClassDef)
            inner = _Scope(scope, node.name, is_class=True)
            if scope is mod.module_scope:
                mod.classes[node.name] = inner
            scope.add(node.name, node.lineno, None)
            for child in (*node.body, *node.decorator_list, *node.bases):
                push((child, inner if child in node.body else scope))
            continue
        elif t is ast.Assign:
            assert isinstance(node, ast.Assign)
            for target in node.targets:
                _assign(target, node.value, node.lineno, scope, mod)
        elif t is ast.AnnAssign:
            assert isinstance(node, ast.AnnAssign)
            if node.value is not None:
                _assign(node.target, node.value, node.lineno, scope, mod)
        elif t is ast.AugAssign:
            assert isinstance(node, ast.AugAssign)
            if isinstance(node.target, ast.Name):
                scope.add(node.target.id, node.lineno, None)
        elif t is ast.For or t is ast.AsyncFor:
            _assign(node.target, None, node.lineno, scope, mod)  # type: ignore[attr-defined]
        elif t is ast.With or t is ast.AsyncWith:
            for item in node.items:  # type: ignore[attr-defined]
                if item.optional_vars is not None:
                    _assign(item.optional_vars, None, node.lineno, scope, mod)  # type: ignore[attr-defined]
        elif t is ast.NamedExpr:
            assert isinstance(node, ast.NamedExpr)
            _assign(node.target, node.value, node.lineno, scope, mod)
        elif t is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.asname:
                    mod.imports[alias.asname] = alias.name
                    mod.modules.add(alias.asname)
                else:
                    top = alias.name.split(".")[0]
                    mod.imports[top] = top
                    mod.modules.add(top)
            continue
        elif t is ast.ImportFrom:
            assert isinstance(node, ast.ImportFrom)
            base = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name != "*":
                    mod.imports[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
            continue
        for name in node._fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if type(item) not in leaves and isinstance(item, ast.AST):
                        push((item, scope))
            elif value is not None and type(value) not in leaves and isinstance(value, ast.AST):
                push((value, scope))
    # `from waitress import serve as waitress_serve`: the imports are known only after the walk
    for node, scope in renamed:
        target = mod.imports.get(node.func.id, "")  # type: ignore[attr-defined]
        name = target.rsplit(".", 1)[-1]
        if target and (name in _CALL_NAMES or name.endswith("Server")):
            calls.append((node, scope))


def _function(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, scope: _Scope, push: Any) -> None:
    outer = scope
    while outer.is_class and outer.parent is not None:
        outer = outer.parent
    inner = _Scope(outer, getattr(node, "name", "<lambda>"))
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for a, d in zip(positional, defaults, strict=True):
        inner.params[a.arg] = d
    for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        inner.params[a.arg] = d
    for a in (args.vararg, args.kwarg):
        if a is not None:
            inner.params[a.arg] = None
    if isinstance(node, ast.Lambda):
        push((node.body, inner))
    else:
        scope.add(node.name, node.lineno, None)
        for dec in node.decorator_list:
            _click_option(dec, inner)
            push((dec, scope))
        for stmt in node.body:
            push((stmt, inner))
    for d in (*args.defaults, *args.kw_defaults):
        if d is not None:
            push((d, scope))


def _assign(target: ast.expr, value: ast.expr | None, line: int, scope: _Scope, mod: _Module) -> None:
    if isinstance(target, ast.Name):
        scope.add(target.id, line, value)
    elif isinstance(target, (ast.Tuple, ast.List)):
        values: list[ast.expr | None]
        if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
            values = list(value.elts)
        elif (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and value.func.attr == "parse_known_args"
            and target.elts
        ):
            values = [value] + [None] * (len(target.elts) - 1)
        else:
            values = [None] * len(target.elts)
        for t, v in zip(target.elts, values, strict=True):
            _assign(t, v, line, scope, mod)
    elif isinstance(target, ast.Starred):
        _assign(target.value, None, line, scope, mod)
    elif isinstance(target, (ast.Attribute, ast.Subscript)) and value is not None:
        mod.attr_sets.append((target, value, scope, line))


def _argparse(call: ast.Call, scope: _Scope, mod: _Module) -> None:
    opts = [s for s in (_const_str(a) for a in call.args) if s is not None]
    if not opts:
        return
    kws = {k.arg: k.value for k in call.keywords if k.arg}
    dest = _const_str(kws.get("dest")) or _dest(opts)
    default: ast.expr | None = kws.get("default")
    action = _const_str(kws.get("action"))
    if default is None and action in ("store_true", "store_false"):
        default = ast.Constant(action == "store_false")
    name = next((o for o in opts if o.startswith("--")), opts[0])
    mod.argparse[dest] = (default, scope, name)


def _click_option(dec: ast.expr, inner: _Scope) -> None:
    if not (isinstance(dec, ast.Call) and isinstance(dec.func, (ast.Attribute, ast.Name))):
        return
    fname = dec.func.attr if isinstance(dec.func, ast.Attribute) else dec.func.id
    if fname not in ("option", "argument"):
        return
    decls = [s for s in (_const_str(a) for a in dec.args) if s is not None]
    if not decls:
        return
    kws = {k.arg: k.value for k in dec.keywords if k.arg}
    default = kws.get("default")
    if default is None and isinstance(kws.get("is_flag"), ast.Constant):
        default = ast.Constant(False)
    envvar = _const_str(kws.get("envvar")) or ""
    option = next((d for d in decls if d.startswith("--")), decls[0])
    inner.click[_click_name(decls)] = (default, envvar, option)


# -- evaluation ---------------------------------------------------------------------------------


class _Eval:
    def __init__(self, mod: _Module) -> None:
        self.mod = mod

    def qual(self, node: ast.AST) -> str | None:
        """The dotted name an expression refers to through the module's imports."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.mod.imports:
            parts.append(self.mod.imports[node.id].lstrip("."))
            return ".".join(reversed(parts))
        return None

    def lookup(self, name: str, scope: _Scope, line: int) -> tuple[ast.AST | None, _Scope, str] | None:
        """The expression last assigned to `name` as seen from `scope` at `line`: (value, scope
        it lives in, "param"/"assign"), or None when the name is never assigned."""
        s: _Scope | None = scope
        first = True
        while s is not None:
            if s.is_class and not first:
                s = s.parent
                continue
            entries = s.names.get(name)
            if entries:
                before = [e for e in entries if e[0] <= line] if first else []
                chosen = max(before or entries, key=lambda e: e[0])
                if not (first and not before and name in s.params):
                    return chosen[1], s, "assign"
            if name in s.params or name in s.click:
                return s.params.get(name), s, "param"
            first = False
            s = s.parent
        return None

    def ev(self, node: ast.AST | None, scope: _Scope, depth: int = 0) -> _Val:
        if node is None or depth > _MAX_DEPTH:
            return _unknown()
        d = depth + 1
        if isinstance(node, ast.Constant):
            return _Val(node.value, origin=node)
        if isinstance(node, ast.Name):
            return self._name(node, scope, d)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = [self.ev(e, scope, d) for e in node.elts]
            out = _Val(tuple(i.v for i in items) if isinstance(node, ast.Tuple) else [i.v for i in items])
            first = next((i for i in items if i.env or i.via), None)
            if first is not None:
                out.env, out.via = first.env, first.via
            out.origin = next((i.origin for i in items if i.origin is not None), None)
            return out
        if isinstance(node, ast.Dict):
            result: dict[Any, Any] = {}
            for k, v in zip(node.keys, node.values, strict=True):
                if k is None:
                    return _unknown()
                kv = self.ev(k, scope, d)
                if not kv.known:
                    return _unknown()
                try:
                    result[kv.v] = self.ev(v, scope, d)
                except TypeError:
                    return _unknown()
            return _Val(result)
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node, scope, d)
        if isinstance(node, ast.BinOp):
            return self._binop(node, scope, d)
        if isinstance(node, ast.BoolOp):
            return self._boolop(node, scope, d)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.ev(node.operand, scope, d)
            t = _truthy(inner.v)
            return _Val(not t, inner.env, inner.via) if t is not None else _unknown()
        if isinstance(node, ast.Compare):
            return self._compare(node, scope, d)
        if isinstance(node, ast.Call):
            return self._call(node, scope, d)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, scope, d)
        if isinstance(node, ast.Subscript):
            base = self.ev(node.value, scope, d)
            key = self.ev(node.slice, scope, d)
            if isinstance(base.v, dict) and key.known:
                try:
                    got = base.v.get(key.v)
                except TypeError:
                    return _unknown()
                return got if isinstance(got, _Val) else _unknown()
            if isinstance(base.v, (tuple, list)) and isinstance(key.v, int):
                try:
                    return _Val(base.v[key.v], base.env, base.via)
                except IndexError:
                    return _unknown()
            return _unknown()
        return _unknown()

    def _name(self, node: ast.Name, scope: _Scope, d: int) -> _Val:
        found = self.lookup(node.id, scope, node.lineno)
        if found is None:
            return _unknown()
        value, where, how = found
        if how == "param":
            return self._param(node.id, value, where, d)
        if value is None:
            return _unknown()
        return self.ev(value, where, d)

    def _param(self, name: str, default: ast.AST | None, where: _Scope, d: int) -> _Val:
        click = where.click.get(name)
        if click is not None:
            cdefault, envvar, option = click
            v = self.ev(cdefault, where.parent or where, d) if cdefault is not None else _Val(None)
            v.via, v.env = f"the {option} option's default", envvar or v.env
            return v
        if default is None:
            return _unknown()
        if isinstance(default, ast.Call):
            fname = default.func.attr if isinstance(default.func, ast.Attribute) else getattr(default.func, "id", "")
            if fname in ("Option", "Argument"):  # typer.Option(default, "--host")
                kws = {k.arg: k.value for k in default.keywords if k.arg}
                inner = kws.get("default", default.args[0] if default.args else None)
                if inner is None or (isinstance(inner, ast.Constant) and inner.value is Ellipsis):
                    return _unknown()
                v = self.ev(inner, where.parent or where, d)
                v.via = f"the default of option {name}"
                v.env = _const_str(kws.get("envvar")) or v.env
                return v
        if isinstance(default, ast.Constant) and default.value is None:
            # `def start_server(cb, host=None, port=None)` passing host on: the caller decides
            # (asyncio.start_server in the standard library), so nothing is known here
            return _unknown()
        v = self.ev(default, where.parent or where, d)
        if v.known and not v.via:
            v.via = f"the default of parameter {name}"
        return v

    def _fstring(self, node: ast.JoinedStr, scope: _Scope, d: int) -> _Val:
        out: list[str] = []
        meta = _Val("")
        for part in node.values:
            if isinstance(part, ast.Constant):
                out.append(str(part.value))
                continue
            if isinstance(part, ast.FormattedValue):
                v = self.ev(part.value, scope, d)
                if not v.known or part.format_spec is not None:
                    out.append("\x00")
                    continue
                if not meta.env and not meta.via and meta.origin is None:
                    meta.env, meta.via, meta.origin = v.env, v.via, v.origin
                out.append(str(v.v))
        meta.v = "".join(out)
        return meta

    def _binop(self, node: ast.BinOp, scope: _Scope, d: int) -> _Val:
        left = self.ev(node.left, scope, d)
        if isinstance(node.op, ast.Mod) and isinstance(left.v, str):
            right = self.ev(node.right, scope, d)
            args = right.v if isinstance(right.v, tuple) else (right.v,)
            args = tuple("\x00" if a is _UNKNOWN else a for a in args)
            try:
                text = left.v % args
            except (TypeError, ValueError):
                return _unknown()
            return _Val(text, right.env, right.via, right.origin)
        right = self.ev(node.right, scope, d)
        if isinstance(node.op, ast.Add):
            lv = "\x00" if not left.known else left.v
            rv = "\x00" if not right.known else right.v
            if isinstance(lv, str) and isinstance(rv, str):
                src = left if (left.env or left.via or left.origin) else right
                return _Val(lv + rv, src.env, src.via, src.origin)
            if isinstance(lv, (int, float)) and isinstance(rv, (int, float)) and left.known and right.known:
                return _Val(lv + rv)
            if isinstance(lv, list) and isinstance(rv, list):
                return _Val(lv + rv, left.env or right.env, left.via or right.via)
        return _unknown()

    def _boolop(self, node: ast.BoolOp, scope: _Scope, d: int) -> _Val:
        values = [self.ev(v, scope, d) for v in node.values]
        if isinstance(node.op, ast.Or):
            env = ""
            for v in values:
                if not v.known:
                    return _unknown()
                if v.v is None and v.env:  # os.getenv("HOST") or "0.0.0.0": unset -> the next
                    env = v.env
                    continue
                if v.v or v is values[-1]:
                    return _Val(v.v, v.env or env, v.via or (f"{env} unset" if env else ""), v.origin)
            return _unknown()
        for v in values:
            if not v.known:
                return _unknown()
            if not v.v:
                return v
        return values[-1]

    def _compare(self, node: ast.Compare, scope: _Scope, d: int) -> _Val:
        left = self.ev(node.left, scope, d)
        if len(node.ops) != 1 or not left.known:
            return _unknown()
        right = self.ev(node.comparators[0], scope, d)
        if not right.known:
            return _unknown()
        op = node.ops[0]
        try:
            if isinstance(op, ast.Eq):
                r = left.v == right.v
            elif isinstance(op, ast.NotEq):
                r = left.v != right.v
            elif isinstance(op, ast.In):
                r = left.v in right.v
            elif isinstance(op, ast.NotIn):
                r = left.v not in right.v
            else:
                return _unknown()
        except TypeError:
            return _unknown()
        return _Val(r, left.env or right.env, left.via or right.via)

    def _env_default(self, node: ast.Call, scope: _Scope, d: int) -> _Val | None:
        """os.getenv("X", default), os.environ.get("X", default), env("X", default=...),
        config("X", default=..., cast=bool): the value when X is unset."""
        func = node.func
        fname = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if not node.args:
            return None
        name = _const_str(node.args[0])
        if name is None:
            return None
        kws = {k.arg: k.value for k in node.keywords if k.arg}
        is_os = fname in _ENV_FUNCS and (
            (isinstance(func, ast.Attribute) and "environ" in ast.unparse(func.value))
            or (self.qual(func) or "").startswith("os.")
            or (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "os")
        )
        if is_os:
            default = node.args[1] if len(node.args) > 1 else kws.get("default")
        elif fname in _ENV_LIBS and "default" in kws and name.isupper():
            default = kws["default"]
        else:
            return None
        v = self.ev(default, scope, d) if default is not None else _Val(None)
        cast = kws.get("cast")
        if v.known and isinstance(cast, ast.Name) and cast.id == "bool" and isinstance(v.v, str):
            v.v = v.v.strip().lower() not in _FALSE_WORDS
        if v.known and fname == "bool" and isinstance(v.v, str):
            v.v = v.v.strip().lower() not in _FALSE_WORDS
        if v.known and fname == "list" and isinstance(v.v, str):
            v.v = [p.strip() for p in v.v.split(",")]
        v.env = name
        v.via = f"{name} unset"
        return v

    def _call(self, node: ast.Call, scope: _Scope, d: int) -> _Val:
        env = self._env_default(node, scope, d)
        if env is not None:
            return env
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("int", "str", "bool", "float") and len(node.args) == 1:
            inner = self.ev(node.args[0], scope, d)
            if not inner.known:
                return inner
            try:
                conv = {"int": int, "str": str, "bool": bool, "float": float}[func.id](inner.v)
            except (TypeError, ValueError):
                return _unknown()
            return _Val(conv, inner.env, inner.via, inner.origin)
        if (
            isinstance(func, ast.Attribute)
            and func.attr in ("lower", "upper", "strip", "split", "format", "casefold")
            and not (self.qual(func.value) or "").startswith(("os", "sys"))
        ):
            base = self.ev(func.value, scope, d)
            if not isinstance(base.v, str):
                return _unknown()
            args = [self.ev(a, scope, d) for a in node.args]
            try:
                if func.attr == "format":
                    vals = ["\x00" if not a.known else a.v for a in args]
                    kw = {k.arg: self.ev(k.value, scope, d).v for k in node.keywords if k.arg}
                    if any(v is _UNKNOWN for v in kw.values()):
                        return _unknown()
                    src = next((a for a in args if a.origin is not None or a.env), base)
                    return _Val(base.v.format(*vals, **kw), src.env, src.via, src.origin)
                if any(not a.known for a in args):
                    return _unknown()
                result = getattr(base.v, func.attr)(*(a.v for a in args))
            except (TypeError, ValueError, IndexError, KeyError):
                return _unknown()
            return _Val(result, base.env, base.via, base.origin)
        return _unknown()

    def _attribute(self, node: ast.Attribute, scope: _Scope, d: int) -> _Val:
        base = node.value
        if isinstance(base, ast.Name):
            if base.id in self.mod.classes and base.id not in self.mod.imports:
                return self._class_attr(base.id, node.attr, d)
            found = self.lookup(base.id, scope, node.lineno)
            made = found[0] if found is not None and found[2] == "assign" else None
            if (
                isinstance(made, ast.Call)
                and isinstance(made.func, ast.Name)
                and made.func.id in self.mod.classes
                and made.func.id not in self.mod.imports
            ):  # settings = Settings(); settings.host: the class default unless passed here
                for k in made.keywords:
                    if k.arg == node.attr:
                        return self.ev(k.value, found[1], d) if found is not None else _unknown()
                v = self._class_attr(made.func.id, node.attr, d)
                if v.known and not v.env:
                    v.via = f"the default of {made.func.id}.{node.attr}"
                return v
            if node.attr in self.mod.argparse and self._is_namespace(base, scope):
                default, where, option = self.mod.argparse[node.attr]
                v = self.ev(default, where, d) if default is not None else _Val(None)
                v.via = f"the {option} default"
                return v
        return _unknown()

    def _class_attr(self, cls_name: str, attr: str, d: int) -> _Val:
        """A class-level attribute of a class of this module (`HOST = ...`, pydantic `host: str =
        Field("0.0.0.0")`)."""
        cls = self.mod.classes[cls_name]
        entries = cls.names.get(attr)
        last = max(entries, key=lambda e: e[0]) if entries else None
        if last is None or last[1] is None:
            return _unknown()
        value = last[1]
        if isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", "")) == "Field":
            kws = {k.arg: k.value for k in value.keywords if k.arg}
            value = kws.get("default", value.args[0] if value.args else None)
            if value is None:
                return _unknown()
        return self.ev(value, cls, d)

    def _is_namespace(self, name: ast.Name, scope: _Scope) -> bool:
        found = self.lookup(name.id, scope, name.lineno)
        if found is not None and found[2] == "assign":
            value = found[0]
            return (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and value.func.attr in ("parse_args", "parse_known_args")
            )
        return name.id in ("args", "opts", "options", "arguments", "ns", "cli_args", "cmd_args", "parsed")

    def kind_of(self, node: ast.AST, scope: _Scope, depth: int = 0) -> tuple[str | None, ast.Call | None]:
        """What a receiver is (flask, tornado, socket, ...) and the call that made it."""
        if depth > 8:
            return None, None
        if isinstance(node, ast.Call):
            qual = self.qual(node.func)
            if qual is not None:
                kind = _CLASS_KINDS.get(_top(qual))
                if kind is not None:
                    return kind, node
                if qual.startswith("socket.") and qual.endswith((".socket", ".create_server")):
                    return "socket", node
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("socket", "accept"):
                return ("socket", node) if "zmq" not in self.mod.imports else ("zmq", node)
            return None, None
        if isinstance(node, ast.Name):
            found = self.lookup(node.id, scope, node.lineno)
            if found is not None and found[2] == "assign" and found[0] is not None:
                return self.kind_of(found[0], found[1], depth + 1)
        return None, None


# -- findings -----------------------------------------------------------------------------------


@dataclass
class _Found:
    hits: list[Hit] = field(default_factory=list)
    lines: set[tuple[int, str]] = field(default_factory=set)

    def add(self, hit: Hit) -> None:
        key = (hit.line, hit.rule)
        if key not in self.lines:
            self.lines.add(key)
            self.hits.append(hit)


def _char_col(line_text: str, byte_col: int) -> int:
    return len(line_text.encode("utf-8")[:byte_col].decode("utf-8", "replace"))


def _replace_literal(mod: _Module, origin: ast.AST | None, old: str, new: str) -> str | None:
    """The source line holding `origin` (a string constant) with `old` replaced by `new`."""
    if not isinstance(origin, ast.Constant) or not isinstance(origin.value, str):
        return None
    if origin.lineno != origin.end_lineno or origin.lineno > len(mod.lines):
        return None
    line = mod.lines[origin.lineno - 1]
    raw = line.encode("utf-8")
    start, end = origin.col_offset, origin.end_col_offset or origin.col_offset
    literal = raw[start:end].decode("utf-8", "replace")
    if len(literal) < 2 or literal[-1] not in "'\"":
        return None
    quote = literal[-1]
    value = origin.value
    if old == "":
        if value != "":
            return None
        replaced = new
    elif old in value:
        replaced = value.replace(old, new, 1)
    elif old == "::" and "[::]" in value:
        replaced = value.replace("[::]", new, 1)
    else:
        return None
    prefix = literal[: len(literal) - len(literal.lstrip("rRbBuU"))]
    new_literal = f"{prefix}{quote}{replaced}{quote}"
    return (raw[:start].decode("utf-8", "replace") + new_literal + raw[end:].decode("utf-8", "replace")).strip()


def _template_fix(shape: _Shape, receiver: str, port: int | None) -> str:
    port_text = str(port if port is not None else shape.default_port if shape.default_port is not None else "PORT")
    if shape.template:
        text = shape.template.format(host=_LOCAL, port=port_text)
        if receiver and "." in text.split("(")[0]:
            head, _, rest = text.partition(".")
            if head in ("app", "demo", "web"):
                text = f"{receiver}.{rest}" if head != "web" else text
        return text
    return f'{shape.host_kw}="{_LOCAL}"'


def _where(host: str, shape: _Shape) -> str:
    if host.strip("[]") in ("::", "0:0:0:0:0:0:0:0", "::0"):
        return 'host "::" (every IPv6 address, and IPv4 too where the socket is dual-stack)'
    if host == "":
        return 'host "" (every interface)'
    if host == "*":
        return 'host "*" (every interface)'
    if host == "0":
        return 'host "0" (0.0.0.0: every IPv4 interface)'
    return f'host "{host}" (every IPv4 interface)'


def _source_note(v: _Val, mod: _Module, sink_line: int) -> str:
    bits = []
    if v.env:
        bits.append(f"{v.env} is unset, so the default applies")
    elif v.via:
        bits.append(f"from {v.via}")
    line = getattr(v.origin, "lineno", None)
    if line is not None and line != sink_line:
        bits.append(f"set on line {line}")
    return f" ({'; '.join(bits)})" if bits else ""


class _Analyzer:
    def __init__(self, mod: _Module) -> None:
        self.mod = mod
        self.ev = _Eval(mod)
        self.found = _Found()
        self.debug_sets: dict[str, list[tuple[int, _Val]]] = {}
        self.flask_debug_env: _Val | None = None
        self.hypercorn = any(v.split(".")[0] == "hypercorn" for v in mod.imports.values())
        self.tornado = any(v.split(".")[0] == "tornado" for v in mod.imports.values())
        self.gradio = any(v.split(".")[0] == "gradio" for v in mod.imports.values())
        self.sinks: list[Sink] | None = None  # binds(): every bind sink, wide or not (audit leaves it None)

    # the receiver's debug flag, set apart from the run call ----------------------------------
    def collect_debug(self) -> None:
        ev = self.ev
        for target, value, scope, line in self.mod.attr_sets:
            if isinstance(target, ast.Attribute) and target.attr == "debug":
                self.debug_sets.setdefault(ast.unparse(target.value), []).append((line, ev.ev(value, scope)))
            elif isinstance(target, ast.Subscript):
                key = ev.ev(target.slice, scope)
                base = target.value
                if key.v in ("DEBUG", "debug") and isinstance(base, ast.Attribute) and base.attr == "config":
                    self.debug_sets.setdefault(ast.unparse(base.value), []).append((line, ev.ev(value, scope)))
                elif isinstance(key.v, str) and self._is_environ(base):
                    self._env_set(key.v, ev.ev(value, scope))
        for call, scope in self.mod.calls:
            func = call.func
            if not isinstance(func, ast.Attribute):
                continue
            if func.attr in ("update", "from_mapping") and isinstance(func.value, ast.Attribute):
                if func.value.attr != "config":
                    continue
                owner = ast.unparse(func.value.value)
                for k in call.keywords:
                    if k.arg == "DEBUG":
                        self.debug_sets.setdefault(owner, []).append((call.lineno, ev.ev(k.value, scope)))
                for a in call.args:
                    mapping = ev.ev(a, scope)
                    if isinstance(mapping.v, dict) and isinstance(mapping.v.get("DEBUG"), _Val):
                        self.debug_sets.setdefault(owner, []).append((call.lineno, mapping.v["DEBUG"]))
            elif func.attr == "from_object" and isinstance(func.value, ast.Attribute) and call.args:
                owner = ast.unparse(func.value.value)
                arg = call.args[0]
                debug: _Val | None = None
                if isinstance(arg, ast.Name) and arg.id == "__name__":
                    found = ev.lookup("DEBUG", self.mod.module_scope, call.lineno)
                    if found is not None and found[0] is not None:
                        debug = ev.ev(found[0], found[1])
                elif isinstance(arg, ast.Name) and arg.id in self.mod.classes:
                    entries = self.mod.classes[arg.id].names.get("DEBUG")
                    last = max(entries, key=lambda e: e[0]) if entries else None
                    if last is not None and last[1] is not None:
                        debug = ev.ev(last[1], self.mod.classes[arg.id])
                if debug is not None:
                    self.debug_sets.setdefault(owner, []).append((call.lineno, debug))
            elif func.attr in ("setdefault", "putenv", "update") and self._is_environ(func.value, putenv=True):
                if func.attr == "update":
                    for k in call.keywords:
                        if k.arg:
                            self._env_set(k.arg, ev.ev(k.value, scope))
                    continue
                if len(call.args) == 2:
                    name = ev.ev(call.args[0], scope)
                    if isinstance(name.v, str):
                        self._env_set(name.v, ev.ev(call.args[1], scope))

    def _is_environ(self, node: ast.AST, putenv: bool = False) -> bool:
        qual = self.ev.qual(node) or ""
        if qual in ("os.environ",) or (putenv and qual == "os"):
            return True
        return isinstance(node, ast.Attribute) and node.attr == "environ"

    def _env_set(self, name: str, value: _Val) -> None:
        for env, off in _FLASK_DEBUG_ENV:
            if name == env and isinstance(value.v, str) and value.v and value.v.lower() not in off:
                self.flask_debug_env = value

    def receiver_debug(self, receiver: ast.AST | None, line: int, kind: str | None) -> tuple[bool, str]:
        if receiver is None:
            return False, ""
        key = ast.unparse(receiver)
        sets = self.debug_sets.get(key, [])
        before = [s for s in sets if s[0] <= line] or sets
        if before:
            last = max(before, key=lambda s: s[0])
            t = _truthy(last[1].v)
            if t:
                return True, f"{key}.debug is set on line {last[0]}"
            if t is False:
                return False, ""
        if kind in ("flask", "dash", "socketio", None) and self.flask_debug_env is not None:
            return True, "FLASK_DEBUG is set in this module"
        return False, ""

    # sinks ---------------------------------------------------------------------------------
    def run(self) -> None:
        self.collect_debug()
        for call, scope in self.mod.calls:
            self.call(call, scope)
        self.attr_binds()
        self.module_settings()

    def call(self, call: ast.Call, scope: _Scope) -> None:
        ev = self.ev
        func = call.func
        qual = ev.qual(func)
        if qual is not None:
            top = _top(qual)
            shape_name = _FUNC_SINKS.get(top)
            if top in (("django", "call_command"), ("django", "execute_from_command_line")):
                self.runserver(call, scope)
                return
            if shape_name is not None:
                self.func_sink(call, scope, _SHAPES[shape_name])
                return
            if top[1].endswith("Server") and call.args:
                self.tuple_sink(call, scope, call.args[0], _SERVER_MODULES.get(top[0], top[0]), top[1])
                return
            if top == ("socket", "create_server"):
                if call.args:
                    self.tuple_sink(call, scope, call.args[0], "socket", "socket.create_server")
                return
            root: ast.expr = func
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in self.mod.modules:
                # a function of an imported module (subprocess.run, asyncio.run, docker...): not a server
                return
        if isinstance(func, ast.Name) and func.id.endswith("Server") and call.args:
            self.tuple_sink(call, scope, call.args[0], "socketserver", func.id)
            return
        if not isinstance(func, ast.Attribute):
            return
        attr = func.attr
        receiver = func.value
        kind, made_by = ev.kind_of(receiver, scope)
        if attr.endswith("Server") and call.args:
            self.tuple_sink(call, scope, call.args[0], "socketserver", attr)
        elif attr in ("run", "run_server"):
            self.run_sink(call, scope, receiver, kind, made_by)
        elif attr == "listen":
            if kind == "tornado" or (kind is None and self.tornado and "sock" not in ast.unparse(receiver).lower()):
                self.func_sink(call, scope, _SHAPES["tornado"], receiver, made_by, kind="tornado")
        elif attr == "bind" and call.args:
            self.bind_sink(call, scope, receiver, kind, made_by)
        elif attr == "launch" and (kind == "gradio" or (kind is None and self.gradio)):
            self.func_sink(call, scope, _SHAPES["gradio"], receiver)
        elif attr == "create_server" and kind is None and call.args:
            self.func_sink(call, scope, _SHAPES["asyncio"], receiver)  # loop.create_server(factory, host, port)

    def _arg(self, call: ast.Call, kw: str, pos: int | None) -> ast.expr | None:
        for k in call.keywords:
            if k.arg == kw:
                return k.value
        if pos is not None and pos < len(call.args) and not isinstance(call.args[pos], ast.Starred):
            return call.args[pos]
        return None

    def _has_splat(self, call: ast.Call) -> bool:
        return any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args)

    def _port(self, call: ast.Call, scope: _Scope, shape: _Shape) -> int | None:
        node = self._arg(call, shape.port_kw, shape.port_pos)
        if node is None:
            return shape.default_port
        v = self.ev.ev(node, scope)
        if isinstance(v.v, bool):
            return None
        if isinstance(v.v, int):
            return v.v
        if isinstance(v.v, str) and v.v.isdigit():
            return int(v.v)
        return None

    def runserver(self, call: ast.Call, scope: _Scope) -> None:
        """call_command("runserver", "0.0.0.0:8000") / execute_from_command_line([..., "runserver", "0:8000"])."""
        words: list[_Val] = []
        for node in call.args:
            if isinstance(node, (ast.List, ast.Tuple)):
                words.extend(self.ev.ev(e, scope) for e in node.elts)
                continue
            a = self.ev.ev(node, scope)
            if isinstance(a.v, (list, tuple)):
                words.extend(_Val(w, a.env, a.via) for w in a.v)
            else:
                words.append(a)
        texts = [w.v if isinstance(w.v, str) else None for w in words]
        sub = next((i for i, t in enumerate(texts) if t in ("runserver", "runserver_plus")), None)
        if sub is None:
            return
        addr = next((w for w, t in zip(words[sub + 1 :], texts[sub + 1 :], strict=True) if t and t[:1] != "-"), None)
        if addr is None or not isinstance(addr.v, str):
            return
        split = _split_hostport(addr.v)
        if split is None:
            return
        host, port = split
        plus = texts[sub] == "runserver_plus"
        server = _server("django runserver_plus" if plus else "django runserver")
        shape = _Shape(
            server.id if server is not None else "django runserver",
            server.label if server is not None else "Django runserver",
            debugger=plus,
            debug_note=server.debug_note if server is not None else "",
        )
        if _wide_split(host, shape) or (plus and _non_loopback_ip(host)):
            origin = addr.origin if isinstance(addr.origin, ast.Constant) and addr.origin.value == addr.v else None
            hv = _Val(host, addr.env, addr.via, origin)
            why = "runserver_plus runs the Werkzeug debugger"
            shape = replace(shape, template=f'"{{host}}:{port or 8000}"')
            self.report_bind(call, shape, host, port, hv, None, explicit=True, debug=plus, why=why)

    def run_sink(
        self, call: ast.Call, scope: _Scope, receiver: ast.expr, kind: str | None, made_by: ast.Call | None
    ) -> None:
        if kind is not None and kind not in _RUN_KINDS:
            return
        if kind is None:
            guess = "flask"
            for alias in self.mod.imports.values():
                root = alias.split(".")[0]
                if root in ("dash", "quart", "sanic", "bottle", "flask_socketio"):
                    guess = "socketio" if root == "flask_socketio" else root
                    break
            if guess == "socketio" and not call.args:
                guess = "flask"
            shape = _SHAPES[guess]
            host_node = self._arg(call, "host", None)
            if host_node is None:
                first = call.args[shape.host_pos or 0] if len(call.args) > (shape.host_pos or 0) else None
                fv = self.ev.ev(first, scope) if first is not None else _unknown()
                if not (isinstance(fv.v, str) and (_wide(fv.v, shape) or _non_loopback_ip(fv.v))):
                    return
        else:
            shape = _SHAPES[kind]
        self.func_sink(call, scope, shape, receiver, made_by, kind=kind or "flask")

    def bind_sink(
        self, call: ast.Call, scope: _Scope, receiver: ast.expr, kind: str | None, made_by: ast.Call | None
    ) -> None:
        arg = call.args[0]
        v = self.ev.ev(arg, scope)
        if isinstance(v.v, tuple) and len(v.v) in (2, 4):
            if kind in (None, "socket") and not self.mod.multicast:
                self.tuple_sink(call, scope, arg, "socket", "socket")
            return
        if isinstance(v.v, str) and v.v.startswith("tcp://"):
            split = _split_hostport(v.v)
            if split is not None and _wide_split(split[0], _SHAPES["zmq"]):
                self.report_bind(call, _SHAPES["zmq"], split[0], split[1], v, receiver, explicit=True)
            return
        if kind == "tornado" or (kind is None and self.tornado and isinstance(v.v, int)):
            self.func_sink(call, scope, _SHAPES["tornado"], receiver, made_by, kind="tornado")

    def tuple_sink(self, call: ast.Call, scope: _Scope, arg: ast.expr, server: str, label: str) -> None:
        v = self.ev.ev(arg, scope)
        if not (isinstance(v.v, (tuple, list)) and len(v.v) >= 2 and isinstance(v.v[0], str)):
            return
        host, port = v.v[0], v.v[1]
        if server == "socket" and self.mod.multicast:
            return
        shape = _SHAPES.get(server, _SHAPES["socketserver"])
        if server not in _SHAPES or label != server:
            shape = _Shape(server, label, empty_all=True)
        host_val = _Val(host, v.env, v.via, v.origin)
        port_i = port if isinstance(port, int) and not isinstance(port, bool) else None
        if port_i == 0 and server == "socket":
            return  # bind(("", 0)): the find-a-free-port idiom, closed again right after
        if self.sinks is not None:
            self.sinks.append(_sink(self.mod, call, shape, host, True, port_i, host_val, False))
        if _wide(host, shape):
            self.report_bind(call, shape, host, port_i, host_val, call.func, explicit=True)

    def func_sink(
        self,
        call: ast.Call,
        scope: _Scope,
        shape: _Shape,
        receiver: ast.expr | None = None,
        made_by: ast.Call | None = None,
        kind: str | None = None,
    ) -> None:
        ev = self.ev
        host_node = self._arg(call, shape.host_kw, shape.host_pos)
        listen_node = self._arg(call, "listen", None) if shape.server == "waitress" else None
        port = self._port(call, scope, shape)
        if listen_node is not None:
            lv = ev.ev(listen_node, scope)
            items = lv.v.split() if isinstance(lv.v, str) else lv.v if isinstance(lv.v, list) else []
            for item in items:
                split = _split_hostport(item) if isinstance(item, str) else None
                if split is not None and _wide_split(split[0], shape):
                    self.report_bind(call, shape, split[0], split[1], lv, receiver, explicit=True)
                    return
            return
        if shape.server == "waitress" and (
            self._arg(call, "unix_socket", None) is not None or self._arg(call, "sockets", None) is not None
        ):
            return
        debug, why = self.debug_of(call, scope, shape, receiver, made_by, kind)
        if host_node is None:
            if self._has_splat(call):
                return
            if shape.server == "asyncio" and self._arg(call, shape.port_kw, shape.port_pos) is None:
                return  # sock=... or a unix path: nothing bound here
            host = shape.default_host
            if self.sinks is not None:
                self.sinks.append(_sink(self.mod, call, shape, host, False, port, _Val(""), debug))
            if host is not None and (host == ALL or _wide(host, shape)):
                self.report_bind(call, shape, "", port, _Val(""), receiver, explicit=False, debug=debug, why=why)
            return
        hv = ev.ev(host_node, scope)
        if self.sinks is not None and hv.known and (hv.v is None or isinstance(hv.v, str)):
            host_text = shape.default_host if hv.v is None else hv.v
            self.sinks.append(_sink(self.mod, call, shape, host_text, hv.v is not None, port, hv, debug))
        if hv.known and hv.v is None:
            host = shape.default_host
            if host is not None and (host == ALL or _wide(host, shape)):
                self.report_bind(call, shape, "", port, hv, receiver, explicit=False, debug=debug, why=why)
            return
        if not isinstance(hv.v, str):
            return
        if _wide(hv.v, shape) or (debug and _non_loopback_ip(hv.v)):
            self.report_bind(call, shape, hv.v, port, hv, receiver, explicit=True, debug=debug, why=why)

    def debug_of(
        self,
        call: ast.Call,
        scope: _Scope,
        shape: _Shape,
        receiver: ast.expr | None,
        made_by: ast.Call | None,
        kind: str | None,
    ) -> tuple[bool, str]:
        ev = self.ev
        for name in ("debug", "use_debugger"):
            node = self._arg(call, name, None)
            if node is not None:
                v = ev.ev(node, scope)
                t = _truthy(v.v)
                if t:
                    how = f" ({v.env} unset)" if v.env else f" ({v.via})" if v.via else ""
                    return True, f"{name}={ast.unparse(node)}{how}"
                if t is False and name == "debug":
                    return False, ""
        if shape.server in ("flask",) and shape.label == "Werkzeug run_simple":
            app = self._arg(call, "application", 2)
            if isinstance(app, ast.Call):
                fq = ev.qual(app.func) or ast.unparse(app.func)
                if fq.endswith("DebuggedApplication"):
                    return True, "the app is wrapped in DebuggedApplication"
        # the app passed to uvicorn.run / the receiver built with debug=True
        target_call = made_by
        if shape.server == "uvicorn" and call.args:
            _kind, target_call = ev.kind_of(call.args[0], scope)
        if target_call is not None:
            for k in target_call.keywords:
                if k.arg == "debug" and _truthy(ev.ev(k.value, scope).v):
                    return True, f"{ast.unparse(target_call.func)}(debug=True) on line {target_call.lineno}"
        if shape.server == "uvicorn" and call.args:
            return self.receiver_debug(call.args[0], call.lineno, "asgi")
        return self.receiver_debug(receiver, call.lineno, kind)

    def report_bind(
        self,
        call: ast.AST,
        shape: _Shape,
        host: str,
        port: int | None,
        hv: _Val,
        receiver: ast.AST | None,
        explicit: bool,
        debug: bool = False,
        why: str = "",
    ) -> None:
        mod = self.mod
        line = getattr(call, "lineno", 1)
        col = getattr(call, "col_offset", 0)
        line_text = mod.lines[line - 1] if 0 < line <= len(mod.lines) else ""
        recv_text = ast.unparse(receiver) if isinstance(receiver, ast.expr) else ""
        port_text = f" port {port}" if port is not None else ""
        note = _source_note(hv, mod, line) if explicit else ""
        fix = None
        if explicit:
            fix = _replace_literal(mod, hv.origin, host, _LOCAL)
            if fix is not None and hv.origin is not None and getattr(hv.origin, "lineno", line) != line:
                fix = f"{fix}   (line {getattr(hv.origin, 'lineno', line)})"
        if fix is None:
            fix = _template_fix(shape, recv_text if isinstance(receiver, (ast.Name, ast.Attribute)) else "", port)
        data = {"host": host, "port": port, "server": shape.server, "debug": debug}
        if debug:
            what = f'"{host}"' if _non_loopback_ip(host) else _where(host, shape) if explicit else "every interface"
            note_debug = shape.debug_note or "debug mode shows tracebacks and source to whoever triggers an error"
            severity = None if shape.debugger else "high"
            message = (
                f"{shape.label} in debug mode ({why}) on {what}{port_text}{note}: "
                f"{note_debug}, and anyone who can reach this machine can trigger it"
            )
            mod_fix = fix if explicit else _template_fix(shape, recv_text, port)
            self.found.add(
                Hit(
                    "debug-exposed",
                    line,
                    message,
                    f"{mod_fix}  (or turn debug off)",
                    _char_col(line_text, col),
                    severity,
                    data,
                )
            )
            return
        if explicit:
            message = (
                f"{shape.label} bound to {_where(host, shape)}{port_text}{note}: "
                "anyone on the same network (LAN, VPN, café Wi-Fi) can connect"
            )
            self.found.add(Hit("bind-all", line, message, fix, _char_col(line_text, col), None, data))
        else:
            message = (
                f"{shape.label} started without a host{f' (port {port})' if port is not None else ''}: "
                "its default is every interface, "
                "so anyone on the same network can connect"
            )
            self.found.add(Hit("bind-all-default", line, message, fix, _char_col(line_text, col), None, data))

    # attribute and module-level binds --------------------------------------------------------
    def attr_binds(self) -> None:
        ev = self.ev
        for target, value, scope, line in self.mod.attr_sets:
            if not (isinstance(target, ast.Attribute) and target.attr == "bind"):
                continue
            kind, _ = ev.kind_of(target.value, scope)
            if kind != "hypercorn" and not self.hypercorn:
                continue
            self.bind_setting(target, value, scope, line, _SHAPES["hypercorn"])

    def bind_setting(self, at: ast.AST, value: ast.expr, scope: _Scope, line: int, shape: _Shape) -> None:
        v = self.ev.ev(value, scope)
        items = [v.v] if isinstance(v.v, str) else list(v.v) if isinstance(v.v, (list, tuple)) else []
        for item in items:
            if not isinstance(item, str):
                continue
            split = _split_hostport(item)
            if split is None:
                continue
            host, port = split
            if host and _wide_split(host, shape):
                origin_line = getattr(v.origin, "lineno", line)
                fixed = _replace_literal(self.mod, v.origin, host, _LOCAL) if v.origin is not None else None
                if fixed is None:
                    fixed = f'bind = ["{_LOCAL}:{port or shape.default_port}"]'
                elif origin_line != line:
                    fixed = f"{fixed}   (line {origin_line})"
                message = (
                    f"{shape.label} bind {item!r} is {_where(host, shape)}"
                    f"{_source_note(v, self.mod, line)}: anyone on the same network can connect"
                )
                line_text = self.mod.lines[line - 1] if line <= len(self.mod.lines) else ""
                self.found.add(
                    Hit(
                        "bind-all",
                        line,
                        message,
                        fixed,
                        _char_col(line_text, getattr(at, "col_offset", 0)),
                        None,
                        {"host": host, "port": port, "server": shape.server, "debug": False},
                    )
                )
                return

    def module_settings(self) -> None:
        mod = self.mod
        scope = mod.module_scope
        assigns: dict[str, list[tuple[ast.stmt, ast.expr]]] = {}
        for stmt in mod.top:
            # the first target only: `DEBUG = TEMPLATE_DEBUG = True` is DEBUG's, `X = DEBUG = True` is X's
            # (TRIGGERS looks for DEBUG / ALLOWED_HOSTS / bind at the start of a line)
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                assigns.setdefault(stmt.targets[0].id, []).append((stmt, stmt.value))
            elif (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and stmt.value is not None
                and stmt.target.id != "bind"
            ):
                assigns.setdefault(stmt.target.id, []).append((stmt, stmt.value))
        # gunicorn / hypercorn python config: bind = "0.0.0.0:8000"
        if "bind" in assigns:
            stmt, value = assigns["bind"][-1]
            name = "hypercorn" if self.hypercorn or "hypercorn" in mod.path.lower() else "gunicorn"
            self.bind_setting(stmt, value, scope, stmt.lineno, _SHAPES[name])
        self.django(assigns)
        self.jupyter()

    def django(self, assigns: dict[str, list[tuple[ast.stmt, ast.expr]]]) -> None:
        mod = self.mod
        path = mod.path.replace("\\", "/").lower()
        parts = path.split("/")
        base = parts[-1]
        stem = base.rsplit(".", 1)[0]
        in_settings = "settings" in parts[:-1] or "settings" in stem
        markers = bool(_DJANGO_MARKERS & assigns.keys())
        if not (in_settings or markers):
            return
        dev = any(t in _DEV_WORDS for t in re.split(r"[_.\-]", stem)) or any(
            p in ("dev", "development", "local", "test", "tests") for p in parts[:-1][-2:]
        )
        scope = mod.module_scope
        if "DEBUG" in assigns and not dev and (markers or in_settings):
            stmt, value = assigns["DEBUG"][-1]
            v = self.ev.ev(value, scope)
            if _truthy(v.v):
                if isinstance(v.v, str):
                    unset = f"{v.env} unset: " if v.env else ""
                    extra = f" ({unset}the string {v.v!r} is truthy, and Django tests DEBUG for truthiness)"
                else:
                    extra = _source_note(v, mod, stmt.lineno)
                fix = "DEBUG = False"
                if v.env:
                    fix = f'DEBUG = os.environ.get("{v.env}", "") == "1"'
                self.found.add(
                    Hit(
                        "django-debug",
                        stmt.lineno,
                        f"Django DEBUG is on in {base}{extra}: error pages show settings, SQL and source "
                        "to any visitor, and DEBUG keeps every query in memory",
                        fix,
                        stmt.col_offset,
                        None,
                        {"server": "django runserver", "debug": True},
                    )
                )
        hosts = assigns.get("ALLOWED_HOSTS")
        if hosts:
            stmt, value = hosts[-1]
            v = self.ev.ev(value, scope)
            line = stmt.lineno
            wild = self._has_star(v.v)
            if not wild:
                for extra_stmt in mod.top:
                    if extra_stmt.lineno <= line:
                        continue
                    added = self._hosts_added(extra_stmt)
                    if added is not None and self._has_star(self.ev.ev(added, scope).v):
                        wild, line, stmt = True, extra_stmt.lineno, extra_stmt
                        v = self.ev.ev(added, scope)
                        break
            if wild:
                self.found.add(
                    Hit(
                        "django-allowed-hosts-any",
                        line,
                        f'Django ALLOWED_HOSTS accepts any Host header ("*"){_source_note(v, mod, line)}: '
                        "host-header poisoning of password-reset links and caches, DNS rebinding",
                        'ALLOWED_HOSTS = ["example.com"]  # the names the site is served under',
                        stmt.col_offset,
                        "low" if dev else None,
                        {"server": "django runserver", "debug": False},
                    )
                )

    @staticmethod
    def _has_star(value: Any) -> bool:
        if isinstance(value, str):
            return "*" in [p.strip() for p in re.split(r"[,\s]+", value)]
        if isinstance(value, (list, tuple, set)):
            return "*" in value
        return False

    @staticmethod
    def _hosts_added(stmt: ast.stmt) -> ast.expr | None:
        if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == "ALLOWED_HOSTS":
            return stmt.value
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            func = stmt.value.func
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "ALLOWED_HOSTS"
                and func.attr in ("append", "extend", "insert")
                and stmt.value.args
            ):
                arg = stmt.value.args[-1]
                return ast.List([arg], ast.Load()) if func.attr != "extend" else arg
        return None

    def jupyter(self) -> None:
        ev = self.ev
        traits: dict[tuple[str, str], tuple[int, _Val, ast.AST]] = {}
        for target, value, scope, line in self.mod.attr_sets:
            if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Attribute)):
                continue
            app = target.value.attr
            if not isinstance(target.value.value, ast.Name):
                continue
            traits[(app, target.attr)] = (line, ev.ev(value, scope), target)
        ip = next((traits[(a, "ip")] for a in ("ServerApp", "NotebookApp", "LabApp") if (a, "ip") in traits), None)
        if ip is None:
            return
        line, ipv, target = ip
        shape = _Shape("jupyter", "Jupyter", empty_all=True, star_all=True)
        if not _wide(ipv.v, shape):
            return
        token = next(
            (traits[(a, "token")] for a in ("IdentityProvider", "ServerApp", "NotebookApp") if (a, "token") in traits),
            None,
        )
        if token is None or token[1].v != "":
            return
        for key in (
            ("ServerApp", "password"),
            ("NotebookApp", "password"),
            ("PasswordIdentityProvider", "hashed_password"),
        ):
            if key in traits and traits[key][1].v != "":
                return
        port_t = traits.get(("ServerApp", "port")) or traits.get(("NotebookApp", "port"))
        port = port_t[1].v if port_t is not None and isinstance(port_t[1].v, int) else 8888
        token_note = f" ({token[1].env} unset)" if token[1].env else ""
        fix = _replace_literal(self.mod, ipv.origin, ipv.v, _LOCAL) or f'c.ServerApp.ip = "{_LOCAL}"'
        self.found.add(
            Hit(
                "jupyter-open",
                line,
                f"Jupyter on {_where(ipv.v, shape)} port {port}{_source_note(ipv, self.mod, line)} with an empty "
                f"token on line {token[0]}{token_note} and no password: anyone on the network runs code as you",
                f"{fix}  (and remove the empty token: the default is a random one)",
                target.col_offset,
                None,
                {"host": ipv.v, "port": port, "server": "jupyter", "debug": False},
            )
        )


# -- line-level fallback -------------------------------------------------------------------------

# Each pattern also needs a TRIGGERS alternative (a literal wide host, ".bind", "Server(", ...).
_FB_WIDE = r"""['"](?:0\.0\.0\.0|::)['"]"""
_FB_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "bind-all",
        re.compile(
            r"""\b(?:run|run_app|serve|run_simple|run_server|launch|listen)\s*\(.*"""
            r"""\b(?:host|hostname|address|server_name|interface)\s*=\s*""" + _FB_WIDE
        ),
    ),
    ("bind-all", re.compile(r"""\b(?:uvicorn\.run|run_simple|make_server)\s*\(.*""" + _FB_WIDE)),
    ("bind-all", re.compile(r"""\.bind\s*\(\s*\(\s*(?:['"]['"]|""" + _FB_WIDE + r")\s*,")),
    ("bind-all", re.compile(r"""\w*Server\(\s*\(\s*(?:['"]['"]|""" + _FB_WIDE + r")\s*,")),
    ("bind-all", re.compile(r"""^\s*bind\s*=\s*\[?\s*['"](?:0\.0\.0\.0|\[::\]|0):\d+""")),
)
_FB_DEBUG = re.compile(r"""\bdebug\s*=\s*True\b""")
_FB_DJANGO_DEBUG = re.compile(r"""^DEBUG\s*=\s*True\b""")
_FB_HOSTS = re.compile(r"""^ALLOWED_HOSTS\s*=.*['"]\*['"]""")
_FB_JUPYTER_IP = re.compile(r"""^\s*c\.(?:ServerApp|NotebookApp)\.ip\s*=\s*['"](?:0\.0\.0\.0|\*|::)?['"]""")
_FB_JUPYTER_TOKEN = re.compile(r"""^\s*c\.(?:ServerApp|NotebookApp|IdentityProvider)\.token\s*=\s*(?:''|"")""")


def _fallback(ctx: FileContext, reason: str) -> ScanResult:
    hits: list[Hit] = []
    path = ctx.path.replace("\\", "/").lower()
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    settings = "settings" in path
    dev = any(t in _DEV_WORDS for t in re.split(r"[_.\-]", stem))
    jupyter_ip: tuple[int, str] | None = None
    token_empty = False
    for n, raw in enumerate(_LINES.split(ctx.text), 1):
        line = raw.split("#", 1)[0] if "#" in raw else raw
        if not line.strip():
            continue
        for rule, rx in _FB_RULES:
            m = rx.search(line)
            if m:
                debug = bool(_FB_DEBUG.search(line))
                hits.append(
                    Hit(
                        "debug-exposed" if debug else rule,
                        n,
                        f"{'a debug server' if debug else 'a server'} bound to every interface "
                        f"(line-level read: {reason})",
                        'host="127.0.0.1"',
                        m.start(),
                        None,
                        {"host": "0.0.0.0", "port": None, "server": "", "debug": debug},
                    )
                )
                break
        if settings and not dev and _FB_DJANGO_DEBUG.search(line):
            hits.append(Hit("django-debug", n, f"Django DEBUG = True (line-level read: {reason})", "DEBUG = False", 0))
        if settings and _FB_HOSTS.search(line):
            hits.append(
                Hit(
                    "django-allowed-hosts-any",
                    n,
                    f'Django ALLOWED_HOSTS accepts any host "*" (line-level read: {reason})',
                    'ALLOWED_HOSTS = ["example.com"]',
                    0,
                    "low" if dev else None,
                )
            )
        if _FB_JUPYTER_IP.search(line):
            jupyter_ip = (n, line)
        if _FB_JUPYTER_TOKEN.search(line):
            token_empty = True
    if jupyter_ip is not None and token_empty:
        hits.append(
            Hit(
                "jupyter-open",
                jupyter_ip[0],
                f"Jupyter on every interface with an empty token (line-level read: {reason})",
                'c.ServerApp.ip = "127.0.0.1"',
                0,
            )
        )
    return ScanResult(hits=hits, fallback=reason)


# -- entry point --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sink:
    """One place in a module where a server binds, wide or not (`binds`), with its host resolved by
    the same constant propagation as the audit rules."""

    line: int  # the first line of the sink call
    server: str  # knowledge id (flask, uvicorn, aiohttp, http.server, ...) or socket/socketserver
    label: str
    host: str | None  # what it binds: the literal, or the server's default when the call gives none;
    # None: unknown. knowledge.servers.ALL ("*") is "every interface"
    explicit: bool  # the host is given (not the server's default)
    port: int | None
    debug: bool
    env: str = ""  # the environment variable whose default the host is ("HOST" is unset)
    via: str = ""  # "the --host option's default", ...
    call: str = ""  # the sink line, as written (stripped)
    # the edit that changes the host: line number, that line as written, and the same line with the
    # host as `_HOST_MARK` (use `edit(host)`); edit_line 0: no safe one-line edit
    edit_line: int = 0
    edit_old: str = ""
    edit_new: str = ""

    def edit(self, host: str) -> tuple[int, str, str] | None:
        """(line, old line, new line) making this sink bind `host`, or None."""
        if not self.edit_line:
            return None
        return self.edit_line, self.edit_old, self.edit_new.replace(_HOST_MARK, host)


_HOST_MARK = "\x00host\x00"


def _literal_edit(mod: _Module, origin: ast.AST | None, host: str) -> tuple[int, str, str] | None:
    """The line holding the string constant `origin`, and that line with `host` in it replaced by the mark."""
    if not isinstance(origin, ast.Constant) or origin.lineno != origin.end_lineno:
        return None
    if origin.lineno > len(mod.lines) or origin.end_col_offset is None:
        return None
    line = mod.lines[origin.lineno - 1]
    raw = line.encode("utf-8")
    start, end = origin.col_offset, origin.end_col_offset
    literal = raw[start:end].decode("utf-8", "replace")
    value = origin.value
    if value is None and literal == "None":
        new_literal = f'"{_HOST_MARK}"'
    elif isinstance(value, str) and host and host in value and len(literal) >= 2 and literal[-1] in "'\"":
        if "\\" in literal or value.count(host) != 1:
            return None
        quote = literal[-1]
        prefix = literal[: len(literal) - len(literal.lstrip("rRbBuUfF"))]
        new_literal = f"{prefix}{quote}{value.replace(host, _HOST_MARK)}{quote}"
    else:
        return None
    new = raw[:start].decode("utf-8", "replace") + new_literal + raw[end:].decode("utf-8", "replace")
    return origin.lineno, line, new


def _insert_edit(mod: _Module, call: ast.Call, keyword: str) -> tuple[int, str, str] | None:
    """The call's line with `keyword="<mark>"` added (before its first keyword, else after its last
    positional argument, else inside the empty parentheses)."""
    text = f'{keyword}="{_HOST_MARK}"'
    named = [k for k in call.keywords if k.arg is not None]
    if named:
        k = named[0]
        line, col, insert = k.lineno, k.col_offset, f"{text}, "
    elif call.args:
        a = call.args[-1]
        if a.end_lineno is None or a.end_col_offset is None:
            return None
        line, col, insert = a.end_lineno, a.end_col_offset, f", {text}"
    else:
        if call.end_lineno is None or call.end_col_offset is None:
            return None
        line, col, insert = call.end_lineno, call.end_col_offset - 1, text
    if not 0 < line <= len(mod.lines):
        return None
    old = mod.lines[line - 1]
    raw = old.encode("utf-8")
    if not named and not call.args and raw[col : col + 1] != b")":
        return None
    new = raw[:col].decode("utf-8", "replace") + insert + raw[col:].decode("utf-8", "replace")
    return line, old, new


def _sink(
    mod: _Module,
    call: ast.Call,
    shape: _Shape,
    host: str | None,
    explicit: bool,
    port: int | None,
    hv: _Val,
    debug: bool,
) -> Sink:
    line = call.lineno
    edit: tuple[int, str, str] | None = None
    if explicit or hv.origin is not None:
        edit = _literal_edit(mod, hv.origin, host or "")
    elif (
        shape.host_kw
        and not any(k.arg == shape.host_kw for k in call.keywords)
        and not any(isinstance(a, ast.Starred) for a in call.args)
    ):
        edit = _insert_edit(mod, call, shape.host_kw)
    call_text = mod.lines[line - 1].strip() if 0 < line <= len(mod.lines) else ""
    e_line, e_old, e_new = edit if edit is not None else (0, "", "")
    return Sink(
        line, shape.server, shape.label, host, explicit, port, debug, hv.env, hv.via, call_text, e_line, e_old, e_new
    )


def binds(text: str, path: str = "") -> list[Sink]:
    """Every bind sink of a Python module (loopback, default and wide alike), in line order; [] when
    the text does not parse. Audit's `scan` does not use this (its results do not change)."""
    try:
        tree = _parse(text, path)
        mod = _Module(path, _LINES.split(text))
        _walk(tree, mod)
        mod.attr_sets.sort(key=lambda a: a[3])
        analyzer = _Analyzer(mod)
        analyzer.sinks = []
        analyzer.run()
    except Exception:  # SyntaxError, ValueError (null bytes), RecursionError...: never raise (as scan)
        return []
    return sorted(analyzer.sinks, key=lambda s: s.line)


def _parse(text: str, path: str) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, filename=path or "<file>")


def scan(ctx: FileContext) -> ScanResult:
    try:
        tree = _parse(ctx.text, ctx.path)
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return _fallback(ctx, f"SyntaxError{where}: {exc.msg}")
    except ValueError as exc:  # null bytes (3.11)
        return _fallback(ctx, f"ValueError: {exc}")
    except RecursionError:
        return _fallback(ctx, "RecursionError: too deeply nested to parse")
    except MemoryError:
        return _fallback(ctx, "MemoryError: too large to parse")
    try:
        mod = _Module(ctx.path, _LINES.split(ctx.text))
        _walk(tree, mod)
        mod.attr_sets.sort(key=lambda a: a[3])
        analyzer = _Analyzer(mod)
        analyzer.run()
        hits = sorted(analyzer.found.hits, key=lambda h: (h.line, h.col, h.rule))
        return ScanResult(hits=hits)
    except RecursionError:
        return _fallback(ctx, "RecursionError: too deeply nested to analyse")
    except Exception as exc:  # never raise: a bug here must not stop the audit
        return _fallback(ctx, f"internal error {type(exc).__name__}: {exc}")
