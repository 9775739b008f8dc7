"""knowledge/servers.py against the real servers: each one is installed (the `test` extra) and started
in the lab's laptop namespace with no host or port arguments, and what it binds must be what its `Bind`
record says.

Oracles, never the table itself:
- `ss -ltneH` in the laptop namespace for what listens (address, port, v6only), cross-checked with
  `bindscope ls --json --port P` (same sockets; the framework column must name the table's server);
- the namespace's own resolver for `localhost` (a Debian-style hosts file: 127.0.0.1 and ::1) and for
  getaddrinfo(None) (what "every interface" means to a server that asks it);
- the server's own output: its startup line, and a second instance on the same port for its port-in-use
  message and exit status (the status where ../shared/reference/server-defaults.md states one).

Every expected host, port, startup line and in-use message is read from bindscope.knowledge.servers, so a
wrong entry there fails here. Where the real server disagreed with the reference file, the table follows
the server (see the `verified` field of each record).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import util
from pathlib import Path

import pytest
from lab_helpers import tool_missing

from bindscope.knowledge import servers as K

pytestmark = pytest.mark.lab

BIN = Path(sys.executable).parent  # console scripts of this interpreter (flask, uvicorn, uwsgi, ...)
PY = sys.executable
# Debian's /etc/hosts: `localhost` is 127.0.0.1 and ::1, so "localhost" differs from "127.0.0.1" here.
DUAL_LOCALHOST = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"

# Exit status of a second instance whose port is taken, as the reference file states it (Werkzeug: exit 1;
# Django: exit 1; uvicorn and so fastapi-cli: exit 3; Gunicorn: exit 1). Others must just not exit 0.
REFERENCE_EXIT = {"flask": 1, "django": 1, "uvicorn": 3, "fastapi-dev": 3, "fastapi-run": 3, "gunicorn": 1}


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment: nothing that sets a host or port (FLASK_RUN_*, PORT, UVICORN_*, JUPYTER_*, ...)."""
    drop = ("FLASK_", "WERKZEUG_", "DJANGO_", "UVICORN_", "GUNICORN_", "JUPYTER_", "HYPERCORN", "BOTTLE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k not in ("PORT", "HOST", "PYTHONPATH")}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    env.update(extra or {})
    return env


def bind_of(server_id: str, subcommand: str | None = None) -> K.Bind:
    """The table's Bind for a server id (and subcommand, where one id has several entries: fastapi)."""
    found = [
        s.bind
        for s in K.SERVERS
        if s.id == server_id and s.bind is not None and (subcommand is None or subcommand in s.subcommands)
    ]
    assert found, f"no Bind for {server_id!r} {subcommand or ''} in knowledge/servers.py"
    return found[0]


# -- the servers, each started as a user would, with no host or port ------------------------------------
FLASK_APP = """
from flask import Flask
app = Flask(__name__)

@app.route("/")
def index():
    return "ok"
"""

WSGI_APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]

application = app
"""

ASGI_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
"""

FASTAPI_APP = """
from fastapi import FastAPI
app = FastAPI()

@app.get("/")
def index():
    return "ok"
"""

DJANGO_SETTINGS = """
SECRET_KEY = "lab-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "urls"
INSTALLED_APPS = []
MIDDLEWARE = []
DATABASES = {}
USE_TZ = True
"""

DJANGO_MANAGE = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
"""

AIOHTTP_CLI_APP = """
from aiohttp import web

def init(argv):
    return web.Application()
"""

AIOHTTP_RUN_APP = """
from aiohttp import web

web.run_app(web.Application())
"""

TORNADO_APP = """
import asyncio
import tornado.web

async def main():
    tornado.web.Application([]).listen({port})
    await asyncio.Event().wait()

asyncio.run(main())
"""

BOTTLE_APP = """
import bottle
app = bottle.Bottle()

@app.route("/")
def index():
    return "ok"

if __name__ == "__main__":
    bottle.run(app)
"""


def _files(tmp: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@dataclass(frozen=True)
class Case:
    """One server started one way. `argv` may use {bin}, {py} and {port}; {port} only where the table has
    no default port (the port is then this case's `port`). `given_host`: the host passed where the table
    has no default (uWSGI); `form`: a families clause that describes this form ("web.run_app()")."""

    server: str  # Server.id in the table
    argv: tuple[str, ...]
    module: str  # importable when installed
    files: dict[str, str] = field(default_factory=dict)
    subcommand: str | None = None
    framework: str | None = "table"  # what `ls` must name: the table's id, or None for `python app.py`
    port: int | None = None  # where the table has none (Tornado, uWSGI)
    given_host: str | None = None
    form: str = ""
    env: dict[str, str] = field(default_factory=dict)
    port_env: str = ""  # set this table port_env variable to `port`: the host must be Bind.port_env_host
    second: bool = True  # start a second instance on the same port
    second_exits: bool = True  # ... which gives up (Jupyter moves to the next port instead)
    start_timeout: float = 30


CASES: dict[str, Case] = {
    "http.server": Case("http.server", ("{py}", "-m", "http.server"), "http.server"),
    "flask": Case("flask", ("{bin}/flask", "--app", "hello", "run"), "flask", {"hello.py": FLASK_APP}),
    "django": Case(
        "django runserver",
        ("{py}", "manage.py", "runserver"),
        "django",
        {"settings.py": DJANGO_SETTINGS, "urls.py": "urlpatterns = []\n", "manage.py": DJANGO_MANAGE},
        start_timeout=60,
    ),
    "uvicorn": Case("uvicorn", ("{bin}/uvicorn", "asgi_app:app"), "uvicorn", {"asgi_app.py": ASGI_APP}),
    "fastapi-dev": Case(
        "fastapi", ("{bin}/fastapi", "dev", "main.py"), "fastapi_cli", {"main.py": FASTAPI_APP}, "dev", start_timeout=60
    ),
    "fastapi-run": Case(
        "fastapi", ("{bin}/fastapi", "run", "main.py"), "fastapi_cli", {"main.py": FASTAPI_APP}, "run", start_timeout=60
    ),
    "fastapi-run-PORT": Case(
        "fastapi",
        ("{bin}/fastapi", "run", "main.py"),
        "fastapi_cli",
        {"main.py": FASTAPI_APP},
        "run",
        port=8124,
        port_env="PORT",
        second=False,
        start_timeout=60,
    ),
    "gunicorn": Case(
        "gunicorn", ("{bin}/gunicorn", "--no-control-socket", "wsgi_app:app"), "gunicorn", {"wsgi_app.py": WSGI_APP}
    ),
    "gunicorn-PORT": Case(
        "gunicorn",
        ("{bin}/gunicorn", "--no-control-socket", "wsgi_app:app"),
        "gunicorn",
        {"wsgi_app.py": WSGI_APP},
        port=8123,
        port_env="PORT",
        second=False,  # the in-use message is the same as without PORT (5 retries, 1 s apart)
    ),
    "uwsgi-all": Case(
        "uwsgi",
        ("{bin}/uwsgi", "--http", "{host}:{port}", "--wsgi-file", "wsgi_app.py"),
        "uwsgidecorators",  # installed with the uwsgi binary
        {"wsgi_app.py": WSGI_APP},
        port=8000,
        given_host="all_host",  # Bind.all_host: what to pass for "every IPv4 interface"
    ),
    "uwsgi-loopback": Case(
        "uwsgi",
        ("{bin}/uwsgi", "--http", "{host}:{port}", "--wsgi-file", "wsgi_app.py"),
        "uwsgidecorators",  # installed with the uwsgi binary
        {"wsgi_app.py": WSGI_APP},
        port=8000,
        given_host="127.0.0.1",
        second=False,
    ),
    "hypercorn": Case("hypercorn", ("{bin}/hypercorn", "asgi_app:app"), "hypercorn", {"asgi_app.py": ASGI_APP}),
    "waitress": Case("waitress", ("{bin}/waitress-serve", "wsgi_app:app"), "waitress", {"wsgi_app.py": WSGI_APP}),
    "daphne": Case("daphne", ("{bin}/daphne", "asgi_app:app"), "daphne", {"asgi_app.py": ASGI_APP}),
    "aiohttp-cli": Case(
        "aiohttp", ("{py}", "-m", "aiohttp.web", "aio_app:init"), "aiohttp", {"aio_app.py": AIOHTTP_CLI_APP}
    ),
    "aiohttp-run_app": Case(
        "aiohttp",
        ("{py}", "aio_run.py"),
        "aiohttp",
        {"aio_run.py": AIOHTTP_RUN_APP},
        framework=None,
        form="web.run_app()",
    ),
    "tornado": Case("tornado", ("{py}", "tornado_app.py"), "tornado", {}, framework=None, port=8888),
    "bottle-module": Case(
        "bottle", ("{py}", "-m", "bottle", "bottle_app:app"), "bottle", {"bottle_app.py": BOTTLE_APP}
    ),
    "bottle-cli": Case(
        "bottle", ("{bin}/bottle", "bottle_app:app"), "bottle", {"bottle_app.py": BOTTLE_APP}, second=False
    ),
    "bottle-run": Case(
        "bottle", ("{py}", "bottle_app.py"), "bottle", {"bottle_app.py": BOTTLE_APP}, framework=None, form="run()"
    ),
    "jupyter_server": Case(
        "jupyter",
        # --allow-root: the lab runs as root, and Jupyter refuses root without it (no effect on the bind)
        ("{bin}/jupyter", "server", "--no-browser", "--allow-root"),
        "jupyter_server",
        env={"JUPYTER_TOKEN": "lab-token"},
        second_exits=False,
        start_timeout=60,
    ),
    "mkdocs": Case(
        "mkdocs",
        ("{bin}/mkdocs", "serve"),
        "mkdocs",
        {"mkdocs.yml": "site_name: lab\n", "docs/index.md": "# lab\n"},
        subcommand="serve",
        start_timeout=60,
    ),
}


# -- ss: the oracle of what listens ---------------------------------------------------------------------
def _ss_local(local: str, family: str) -> str:
    """ss's `0.0.0.0:80`, `*:80`, `[::]:80`, `[::1]:80` -> the address as ipaddress spells it."""
    host = local.rpartition(":")[0]
    if host == "*":
        return "::" if family == "ipv6" else "0.0.0.0"
    return host.strip("[]").partition("%")[0]


def ss_listening(lab, port: int) -> list[tuple[str, bool | None]]:
    """Every TCP socket listening on `port` in the laptop: [(address, v6only or None)], sorted."""
    if shutil.which("ss") is None:
        tool_missing("ss (iproute2) is not installed")
    out = []
    for flag, family in (("-4", "ipv4"), ("-6", "ipv6")):
        proc = lab.run("laptop", ["ss", "-ltneH", flag, "sport", "=", f":{port}"], timeout=20)
        assert proc.returncode == 0, proc.stderr
        for line in proc.stdout.splitlines():
            parts = line.split()
            if len(parts) < 5:
                continue
            v6only = re.search(r"\bv6only:([01])", line)
            out.append((_ss_local(parts[3], family), bool(int(v6only.group(1))) if v6only else None))
    return sorted(out, key=str)


def settled_sockets(lab, port: int, timeout: float = 10) -> list[tuple[str, bool | None]]:
    """What listens on port once it stops changing (a server may open its IPv6 socket after its IPv4 one)."""
    deadline = time.monotonic() + timeout
    last = ss_listening(lab, port)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = ss_listening(lab, port)
        if now == last and now:
            return now
        last = now
    return last


# -- what the table means ---------------------------------------------------------------------------------
def passive_answer(lab) -> str:
    """The first getaddrinfo(None, AI_PASSIVE) answer in the laptop: "every interface" to a server that asks."""
    code = "import socket; print(socket.getaddrinfo(None, 1, 0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)[0][4][0])"
    proc = lab.run("laptop", [PY, "-I", "-c", code], timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def expected_sockets(lab, host: str, families: str, all_host: str) -> list[tuple[str, bool | None]]:
    """The sockets (address, v6only) a table host means, in this namespace."""
    if host == K.LOCALHOST:
        return sorted(((a, True if ":" in a else None) for a in lab.getaddrinfo("laptop", "localhost")), key=str)
    if host == K.ALL:
        if "v4+v6" in families:  # separate IPv4 and IPv6 sockets, V6ONLY on the IPv6 one
            return [("0.0.0.0", None), ("::", True)]
        first = passive_answer(lab)
        return [(first, False if ":" in first else None)]  # an IPv6 wildcard alone must be dual-stack
    if host == all_host:  # what to pass for "every IPv4 interface" (uWSGI's ":PORT")
        return [("0.0.0.0", None)]
    return [(host, True if ":" in host else None)]


def _clause(families: str, form: str) -> str:
    """The part of a families text about one form: "python -m aiohttp.web: localhost; web.run_app(): ..."."""
    for part in families.split(";"):
        name, sep, text = part.strip().partition(": ")
        if sep and name == form:
            return text
    raise AssertionError(f"the table's families text says nothing about {form}: {families!r}")


def host_of_clause(text: str) -> str:
    """A families clause's host: "every interface ..." is ALL, "localhost" is LOCALHOST, else an IP literal."""
    if text.startswith("every interface"):
        return K.ALL
    word = text.split()[0]
    return K.LOCALHOST if word == "localhost" else word


def spellings(addresses: set[str]) -> list[str]:
    """How a startup line may spell the host it bound: the address, [v6], `localhost` for loopback, and
    nothing at all (uWSGI's ":8000") for a wildcard."""
    out: list[str] = []
    for a in sorted(addresses):
        out += [a, f"[{a}]"] if ":" in a else [a]
    if addresses & {"127.0.0.1", "::1"}:
        out.append("localhost")
    if addresses & {"0.0.0.0", "::"}:
        out.append("")
    return out


# -- running them -----------------------------------------------------------------------------------------
def _argv(case: Case, host: str, port: int) -> list[str]:
    return [a.format(bin=BIN, py=PY, port=port, host=host) for a in case.argv]


def _wait_log(lab, proc: subprocess.Popen, text: str, what: str, timeout: float, exit_ok: bool = False) -> str:
    """Wait (bounded) until the process's output contains `text` (or, with exit_ok, until it exits)."""
    deadline = time.monotonic() + timeout
    while True:
        log = lab.log_of(proc)
        if text and text in log:
            return log
        if proc.poll() is not None:
            if exit_ok:
                return lab.log_of(proc)
            raise AssertionError(f"{what} exited ({proc.returncode}) before printing {text!r}:\n{log}")
        if time.monotonic() > deadline:
            return log
        time.sleep(0.05)


@pytest.mark.parametrize("name", list(CASES))
def test_real_server_binds_what_the_table_says(lab, tmp_path, name):
    case = CASES[name]
    program = case.argv[0].format(bin=BIN, py=PY)
    if util.find_spec(case.module) is None or not Path(program).exists():
        tool_missing(f"{case.module} ({program}) is not installed: pip install -e '.[test]'")
    bind = bind_of(case.server, case.subcommand)

    # What the table says this start means.
    host, families = bind.host, bind.families
    if case.form:
        clause = _clause(bind.families, case.form)
        host, families = host_of_clause(clause), clause
    if case.given_host is not None:
        assert host is None, f"{name}: the table has a default host ({host}); test it without one"
        host = bind.all_host if case.given_host == "all_host" else case.given_host
    port = bind.port if bind.port is not None else case.port
    if case.port_env:
        assert case.port_env in bind.port_env, f"{name}: {case.port_env} is not in the table's port_env"
        host, port = bind.port_env_host or host, case.port  # gunicorn: $PORT also means 0.0.0.0
    assert host is not None and port, f"{name}: the table gives no default host/port and the case none"
    env = dict(case.env)
    if case.port_env:
        env[case.port_env] = str(port)
    if case.server == "jupyter":  # its config, data and runtime files in tmp, not in /root
        env.update(HOME=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTER_DATA_DIR=str(tmp_path))
    files = dict(case.files)
    if case.server == "tornado":
        files["tornado_app.py"] = TORNADO_APP.replace("{port}", str(port))
    _files(tmp_path, files)
    argv = _argv(case, host, port)

    lab.netns_hosts("laptop", DUAL_LOCALHOST)
    proc = lab.spawn("laptop", argv, cwd=tmp_path, env=_env(env))
    lab.wait_listening("laptop", port, proc=proc, timeout=case.start_timeout)
    if bind.startup and not bind.banner_before_bind:  # printed once it is bound: then its sockets are all open
        _wait_log(lab, proc, bind.startup.split("{")[0], name, timeout=10)
    observed = settled_sockets(lab, port)

    # bindscope's collector sees exactly what ss sees, and names the table's server.
    entries = lab.bindscope_list("laptop", "ls", "--port", str(port), expect_rc=None)
    listed = sorted(((e["address"], e["v6only"]) for e in entries), key=str)
    assert listed == observed, f"{name}: ls lists {listed}, ss shows {observed}"
    want_framework = case.server if case.framework == "table" else case.framework
    assert {e["framework"] for e in entries} == {want_framework}, (
        f"{name}: ls names {[e['framework'] for e in entries]}, expected {want_framework!r}; "
        f"cmdline {entries[0]['cmdline']}"
    )

    # ... and that is what the table says.
    expected = expected_sockets(lab, host, families, bind.all_host)
    assert observed == expected, (
        f"{name} ({' '.join(argv[1:])}): binds {observed} on port {port}; the table says host "
        f"{host!r} ({families!r}), i.e. {expected}\n{lab.log_of(proc)}"
    )

    # The startup line, with the host spelled as the server bound it.
    if bind.startup:
        lines = [bind.startup.format(host=h, port=port) for h in spellings({a for a, _ in observed})]
        deadline = time.monotonic() + 10
        while not any(line in lab.log_of(proc) for line in lines) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(line in lab.log_of(proc) for line in lines), f"{name}: none of {lines} in:\n{lab.log_of(proc)}"

    if not case.second:
        return
    # A second instance on the same port: its in-use message, and it gives up (exit status not 0).
    second = lab.spawn("laptop", argv, cwd=tmp_path, env=_env(env))
    if bind.in_use:
        out = _wait_log(lab, second, bind.in_use, f"{name} (second)", timeout=30, exit_ok=True)
        assert bind.in_use in out, f"{name}: the second instance did not say {bind.in_use!r}:\n{out}"
    if case.second_exits:
        try:
            rc = second.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name}: the second instance still runs:\n{lab.log_of(second)}")
        want = REFERENCE_EXIT.get(name)
        assert rc != 0 and rc == (want if want is not None else rc), (
            f"{name}: the second instance exited {rc}, expected {want or 'non-zero'}:\n{lab.log_of(second)}"
        )
    assert settled_sockets(lab, port) == observed, f"{name}: the first instance lost its port"


def test_every_checked_entry_names_the_version_it_was_checked_with():
    """Each Bind checked above records the release it was checked against (`verified`)."""
    missing = sorted({n for n, c in CASES.items() if not bind_of(c.server, c.subcommand).verified})
    assert not missing, f"no `verified` version in the table for: {missing}"
