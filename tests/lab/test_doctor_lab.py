"""`bindscope doctor` against reality, in the lab: real servers in the laptop namespace.

Oracles, never doctor's own output:
- real TCP connects and real HTTP requests from the phone namespace (same LAN as the laptop);
- `ss` in the laptop namespace for what listens, `nft list ruleset` for the firewall;
- the servers themselves: doctor's fix is run exactly as doctor printed it, and must make the
  phone connect (or, for "keep it on this machine", stop the phone from connecting).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lab_helpers import tool_missing

pytestmark = pytest.mark.lab

LAPTOP4, LAPTOP6 = "198.51.100.1", "fd42:b1d:0:1::1"
PY = sys.executable
BIN = Path(sys.executable).parent  # the console scripts of this python (flask, uvicorn, ...)


def _script(name: str) -> str:
    path = BIN / name
    if not path.exists():
        tool_missing(f"{name} is not installed next to {PY} (pip install the test extra)")
    return str(path)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The servers' environment: this python's bin directory first on PATH, so that a fix doctor prints
    (`flask ...`, `python manage.py ...`) runs the same installation."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    env.update(extra or {})
    return env


# A real HTTP request from inside a namespace: GET PATH with an optional Host header; prints
# [status, body start] or [null, error] as JSON.
FETCH = r"""
import http.client, json, sys
addr, port, host, path, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
try:
    conn = http.client.HTTPConnection(addr, port, timeout=timeout)
    conn.request("GET", path, headers={"Host": host} if host else {})
    reply = conn.getresponse()
    print(json.dumps([reply.status, reply.read(8192).decode("utf-8", "replace")]))
except (OSError, http.client.HTTPException) as exc:
    print(json.dumps([None, type(exc).__name__ + ": " + str(exc)]))
"""


def fetch(lab, host: str, addr: str, port: int, path: str = "/", host_header: str = "", timeout: float = 5):
    """(status or None, body start or error) of a real `GET path` from inside `host`."""
    argv = [PY, "-I", "-c", FETCH, addr, str(port), host_header, path, str(timeout)]
    proc = lab.run(host, argv, timeout=timeout + 20)
    assert proc.returncode == 0, f"fetch helper failed in {host}: {proc.stderr}"
    status, text = json.loads(proc.stdout)
    return status, text


def wait_http(lab, port: int, proc: subprocess.Popen, timeout: float = 30, addr: str = "127.0.0.1") -> None:
    """Wait (bounded) until the server on the laptop answers HTTP (the socket may listen before the app
    is loaded: a reloader's parent binds, its child serves)."""
    deadline = time.monotonic() + timeout
    while True:
        status, text = fetch(lab, "laptop", addr, port, timeout=2)
        if status is not None:
            return
        if proc.poll() is not None:
            raise AssertionError(f"server exited ({proc.returncode}): {lab.log_of(proc)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no HTTP reply on port {port} after {timeout}s ({text}): {lab.log_of(proc)}")
        time.sleep(0.1)


def start(lab, argv: list[str], cwd: Path, env: dict[str, str], port: int, timeout: float = 40):
    """Start a server in the laptop namespace; return once it answers HTTP on `port`."""
    proc = lab.spawn("laptop", argv, cwd=cwd, env=env)
    lab.wait_listening("laptop", port, proc, timeout=timeout)
    wait_http(lab, port, proc, timeout=timeout)
    return proc


def stop(lab, proc: subprocess.Popen, port: int) -> None:
    lab.release(proc)
    deadline = time.monotonic() + 10
    while lab.listening("laptop", port):
        assert time.monotonic() < deadline, f"port {port} still listening after the server was stopped"
        time.sleep(0.05)


def ss_listening(lab, host: str = "laptop") -> list[str]:
    """`ss -ltnH` Local Address:Port column, sorted: what really listens (TCP)."""
    if shutil.which("ss") is None:
        tool_missing("ss (iproute2) is not installed")
    proc = lab.run(host, ["ss", "-ltnH"], timeout=20)
    assert proc.returncode == 0, proc.stderr
    return sorted(line.split()[3] for line in proc.stdout.splitlines() if line.strip())


def ss_ports(lab, host: str = "laptop") -> set[int]:
    return {int(local.rsplit(":", 1)[1]) for local in ss_listening(lab, host)}


def doctor(lab, target: str, *args: str, expect_rc: int) -> dict:
    data = lab.bindscope_json("laptop", "doctor", target, *args, expect_rc=expect_rc)
    return data


def finding(data: dict, fid: str) -> dict:
    found = [f for f in data["findings"] if f["id"] == fid]
    assert found, f"no {fid!r} finding; doctor found {[f['id'] for f in data['findings']]}: {data['verdict']}"
    return found[0]


def ids(data: dict) -> list[str]:
    return [f["id"] for f in data["findings"]]


RESTART = "restart it with: "


def restart_argv(f: dict) -> list[str]:
    """The command of the finding's "restart it with: CMD" line, split as a shell would; cross-checked
    with the structured `fix_command` of the JSON."""
    lines = [line for line in f["fix"] if line.startswith(RESTART)]
    assert lines, f"{f['id']}: no {RESTART!r} line in {f['fix']}"
    argv = shlex.split(lines[0][len(RESTART) :])
    structured = f["fix_command"]
    assert structured is not None, f"{f['id']}: no fix_command for {lines[0]!r}"
    assert structured == {"argv": argv, "env": {}}, f"fix_command {structured} is not the printed {lines[0]!r}"
    return argv


# -- the apps the servers serve --------------------------------------------------------------------
FLASK_APP = """
from flask import Flask
app = Flask(__name__)

@app.get("/")
def index():
    return "flask says hi"
"""

WSGI_APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"wsgi says hi"]

application = app
"""

ASGI_APP = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"asgi says hi"})
"""

FASTAPI_APP = """
from fastapi import FastAPI
app = FastAPI()

@app.get("/")
def root():
    return {"fastapi": "says hi"}
"""


def django_project(where: Path, allowed_hosts: list[str], debug: bool) -> Path:
    """A fresh `django-admin startproject` with ALLOWED_HOSTS and DEBUG set as given."""
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [_script("django-admin"), "startproject", "labsite", str(where)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    settings = where / "labsite" / "settings.py"
    text = settings.read_text()
    text = re.sub(r"(?m)^ALLOWED_HOSTS = .*$", f"ALLOWED_HOSTS = {allowed_hosts!r}", text)
    text = re.sub(r"(?m)^DEBUG = .*$", f"DEBUG = {debug}", text)
    settings.write_text(text)
    return where


@pytest.fixture(scope="module")
def apps(tmp_path_factory) -> Path:
    """One directory per kind of app, shared by the module's tests (servers only read them)."""
    root = tmp_path_factory.mktemp("doctor-apps")
    (root / "flask").mkdir()
    (root / "flask" / "flaskapp.py").write_text(FLASK_APP)
    (root / "wsgi").mkdir()
    (root / "wsgi" / "wsgiapp.py").write_text(WSGI_APP)
    (root / "asgi").mkdir()
    (root / "asgi" / "asgiapp.py").write_text(ASGI_APP)
    (root / "fastapi").mkdir()
    (root / "fastapi" / "main.py").write_text(FASTAPI_APP)
    (root / "static").mkdir()
    (root / "static" / "index.html").write_text("<h1>static says hi</h1>\n")
    (root / "mkdocs" / "docs").mkdir(parents=True)
    (root / "mkdocs" / "mkdocs.yml").write_text("site_name: lab\n")
    (root / "mkdocs" / "docs" / "index.md").write_text("# docs say hi\n")
    django_project(root / "django", [LAPTOP4, "localhost", "127.0.0.1"], debug=True)
    jupyter = root / "jupyter"
    for sub in ("config", "data", "runtime", "home"):
        (jupyter / sub).mkdir(parents=True)
    return root


# -- 1. loopback-only, fixed by the command doctor prints ----------------------------------------------
@dataclass
class Case:
    id: str
    argv: Callable[[int], list[str]]  # the server started with its default host (and port, when `port` is set)
    workdir: str  # under `apps`
    expect: str  # a regex the printed restart command must match: the server's own program and host option
    port: int | None = None  # its default port; None: a fresh lab port passed on the command line
    env: dict[str, str] = field(default_factory=dict)
    needs: str = ""  # a module that must import


CASES = [
    Case(
        "http.server",
        lambda p: [PY, "-m", "http.server", "--bind", "127.0.0.1"],  # its default host is 0.0.0.0
        "static",
        r"^python3?\S* -m http\.server --bind 0\.0\.0\.0$",
        port=8000,
    ),
    Case(
        "flask", lambda p: [_script("flask"), "--app", "flaskapp", "run"], "flask", r"^flask .*--host 0\.0\.0\.0", 5000
    ),
    Case(  # its ALLOWED_HOSTS already names the LAN address (the empty list: test_django_allowed_hosts_fix)
        "django",
        lambda p: [PY, "manage.py", "runserver", "--noreload"],
        "django",
        r"^python3?\S* manage\.py runserver 0\.0\.0\.0:8000 --noreload$",
        8000,
    ),
    Case(
        "uvicorn",
        lambda p: [_script("uvicorn"), "asgiapp:app"],
        "asgi",
        r"^uvicorn asgiapp:app --host 0\.0\.0\.0$",
        8000,
    ),
    Case(
        "gunicorn",
        lambda p: [_script("gunicorn"), "wsgiapp:app"],
        "wsgi",
        r"^gunicorn wsgiapp:app (-b|--bind) 0\.0\.0\.0:8000$",
        8000,
    ),
    Case(
        "hypercorn",
        lambda p: [_script("hypercorn"), "asgiapp:app"],
        "asgi",
        r"^hypercorn asgiapp:app (-b|--bind) 0\.0\.0\.0:8000$",
        8000,
    ),
    Case("daphne", lambda p: [_script("daphne"), "asgiapp:app"], "asgi", r"^daphne .*(-b|--bind) 0\.0\.0\.0", 8000),
    Case(
        "fastapi dev",
        lambda p: [_script("fastapi"), "dev", "main.py"],
        "fastapi",
        r"^fastapi dev main\.py --host 0\.0\.0\.0$",
        8000,
    ),
    Case(
        "mkdocs",
        lambda p: [_script("mkdocs"), "serve"],
        "mkdocs",
        r"^mkdocs serve (-a|--dev-addr) 0\.0\.0\.0:8000$",
        8000,
    ),
    Case(
        "waitress",
        lambda p: [_script("waitress-serve"), f"--listen=127.0.0.1:{p}", "wsgiapp:app"],  # its default is 0.0.0.0
        "wsgi",
        r"^waitress-serve --listen[ =]0\.0\.0\.0:{port} wsgiapp:app$",
    ),
    Case(
        "uwsgi",
        lambda p: [_script("uwsgi"), "--http", f"127.0.0.1:{p}", "--wsgi-file", "wsgiapp.py", "--die-on-term"],
        "wsgi",
        r"^uwsgi --http 0\.0\.0\.0:{port} --wsgi-file wsgiapp\.py --die-on-term$",
    ),
    Case(
        "jupyter server",
        lambda p: [_script("jupyter"), "server", "--no-browser", "--allow-root"],
        "jupyter",
        r"^jupyter(-server| server) --no-browser --allow-root --ip[ =]0\.0\.0\.0$",
        8888,
        needs="jupyter_server",
    ),
]


def _jupyter_env(apps: Path) -> dict[str, str]:
    j = apps / "jupyter"
    return {
        "JUPYTER_CONFIG_DIR": str(j / "config"),
        "JUPYTER_DATA_DIR": str(j / "data"),
        "JUPYTER_RUNTIME_DIR": str(j / "runtime"),
        "HOME": str(j / "home"),
    }


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_loopback_server_fixed_by_the_printed_command(lab, apps, case):
    if case.needs:
        try:
            __import__(case.needs)
        except ImportError:
            tool_missing(f"{case.needs} is not installed")
    port = case.port or lab.port()
    assert port not in ss_ports(lab), f"port {port} is taken in the laptop namespace before the test"
    cwd = apps / case.workdir
    env = _env(_jupyter_env(apps) if case.id.startswith("jupyter") else None)
    proc = start(lab, case.argv(port), cwd, env, port)

    # reality: only the laptop itself reaches it
    assert not lab.connect("phone", LAPTOP4, port), "the phone reaches the server before any fix"
    data = doctor(lab, str(port), expect_rc=1)
    assert data["lan"] is False
    loop = finding(data, "loopback-only")
    argv = restart_argv(loop)
    command = shlex.join(argv)
    assert re.search(case.expect.format(port=port), command), f"{case.id}: unexpected fix {command!r}"
    assert loop["fix"][0].startswith(RESTART), f"the restart command is not the main fix: {loop['fix']}"
    text = lab.bindscope("laptop", "doctor", str(port))  # the text output names the same command
    assert text.returncode == 1 and f"fix: {RESTART}{command}" in text.stdout, text.stdout

    stop(lab, proc, port)
    fixed = start(lab, argv, cwd, env, port)
    assert fixed.poll() is None
    # reality: the phone connects, and gets an HTTP answer from the app (not an error page)
    assert lab.connect("phone", LAPTOP4, port), f"the phone cannot connect after `{command}`"
    status, body = fetch(lab, "phone", LAPTOP4, port)
    assert status is not None and status < 400, f"the phone got {status}: {body[:300]}"
    after = doctor(lab, str(port), expect_rc=0)
    assert after["lan"] is True
    assert "loopback-only" not in ids(after)
    assert any(LAPTOP4 in u for u in after["urls"]), after["urls"]


# -- 2. Django rejects the LAN Host header: the ALLOWED_HOSTS fix, applied -----------------------------
DJANGO_VIEW = """
from django.http import HttpResponse


def hello(request):
    return HttpResponse("django says hi")
"""


def _django_with_view(where: Path, allowed_hosts: list[str], debug: bool) -> Path:
    django_project(where, allowed_hosts, debug)
    (where / "labsite" / "hello.py").write_text(DJANGO_VIEW)
    urls = where / "labsite" / "urls.py"
    text = urls.read_text().replace(
        "urlpatterns = [", "from labsite.hello import hello\n\nurlpatterns = [\n    path('', hello),"
    )
    urls.write_text(text)
    return where


ALLOWED = re.compile(r"^(ALLOWED_HOSTS = \[[^\]]*\])\s+\(in settings\.py\)$")


@pytest.mark.parametrize(
    ("debug", "allowed", "server"),
    [
        (True, [], "runserver"),
        # runserver refuses to start with DEBUG=False and an empty list: a list without the LAN address
        (False, ["localhost", "127.0.0.1"], "runserver"),
        (False, [], "gunicorn"),  # production-style: every request is rejected with "Bad Request (400)"
    ],
    ids=["debug-empty", "nodebug-localhost", "nodebug-empty-gunicorn"],
)
def test_django_allowed_hosts_fix(lab, tmp_path, debug, allowed, server):
    project = _django_with_view(tmp_path / "site", allowed, debug)
    port = lab.port()
    env = _env()
    if server == "runserver":
        argv = [PY, "manage.py", "runserver", f"0.0.0.0:{port}", "--noreload"]
    else:
        argv = [_script("gunicorn"), "-b", f"0.0.0.0:{port}", "labsite.wsgi"]
    proc = start(lab, argv, project, env, port)

    # reality: the phone connects, and Django answers it with 400
    assert lab.connect("phone", LAPTOP4, port)
    status, body = fetch(lab, "phone", LAPTOP4, port)
    assert status == 400, f"the phone got {status}, not Django's 400: {body[:300]}"
    data = doctor(lab, str(port), expect_rc=1)
    assert data["lan"] is False
    bad = finding(data, "host-not-allowed")
    match = ALLOWED.match(bad["fix"][0])
    assert match, f"not an ALLOWED_HOSTS line: {bad['fix']}"
    line = match.group(1)
    assert f'"{LAPTOP4}"' in line, line

    settings = project / "labsite" / "settings.py"
    text, count = re.subn(r"(?m)^ALLOWED_HOSTS = .*$", line, settings.read_text())
    assert count == 1
    settings.write_text(text)
    stop(lab, proc, port)
    start(lab, argv, project, env, port)
    status, body = fetch(lab, "phone", LAPTOP4, port)
    assert (status, body) == (200, "django says hi"), f"the phone got {status}: {body[:300]}"
    after = doctor(lab, str(port), expect_rc=0)
    assert after["lan"] is True and "host-not-allowed" not in ids(after)


# -- 3. nothing listening on the asked port ----------------------------------------------------------
def test_nothing_listening_names_flask_on_its_default_port(lab, apps):
    other = lab.port()
    start(lab, [_script("flask"), "--app", "flaskapp", "run"], apps / "flask", _env(), 5000)
    start(lab, [_script("uvicorn"), "asgiapp:app", "--port", str(other)], apps / "asgi", _env(), other)
    ports = ss_ports(lab)
    assert 5000 in ports and other in ports and 8000 not in ports, ports
    assert not lab.connect("laptop", "127.0.0.1", 8000)

    data = doctor(lab, "8000", expect_rc=1)
    nothing = finding(data, "nothing-listening")
    evidence = "\n".join(nothing["evidence"])
    flask = [line for line in nothing["evidence"] if "Flask" in line]
    assert flask and ":5000" in flask[0] and "default port" in flask[0], evidence
    # uvicorn's default is 8000, not the port it is on: named, but not as its default
    uv = [line for line in nothing["evidence"] if "uvicorn" in line and f":{other}" in line]
    assert uv and "default port" not in uv[0], evidence
    assert data["listeners"] == [] and data["lan"] is False


# -- 4. dangerous exposure ---------------------------------------------------------------------------
def test_flask_debugger_on_the_lan_is_critical_and_the_fix_closes_it(lab, apps):
    port = lab.port()
    argv = [_script("flask"), "--app", "flaskapp", "run", "--debug", "--host", "0.0.0.0", "--port", str(port)]
    proc = start(lab, argv, apps / "flask", _env(), port)
    # reality: the phone reaches the Werkzeug debugger's console page (Werkzeug 3 answers it only for a
    # local Host header: a header the phone chooses)
    status, body = fetch(lab, "phone", LAPTOP4, port, path="/console", host_header=f"127.0.0.1:{port}")
    assert status == 200 and "Werkzeug" in body, f"{status}: {body[:300]}"

    data = doctor(lab, str(port), expect_rc=0)  # the phone can connect, so exit 0 ...
    assert data["lan"] is True
    danger = finding(data, "dangerous-exposure")  # ... but the debugger is exposed
    assert danger["severity"] == "critical"
    assert "CRITICAL" in data["verdict"]
    argv = restart_argv(danger)
    assert "--debug" in argv and re.search(r"--host 127\.0\.0\.1\b", shlex.join(argv)), argv

    stop(lab, proc, port)
    start(lab, argv, apps / "flask", _env(), port)
    assert not lab.connect("phone", LAPTOP4, port), f"the phone still reaches the debugger after {argv}"
    after = doctor(lab, str(port), expect_rc=1)
    assert "dangerous-exposure" not in ids(after)
    loop = finding(after, "loopback-only")
    # a debug server is shared with a token, never re-opened to the LAN with 0.0.0.0
    assert not any(line.startswith(RESTART) and "0.0.0.0" in line for line in loop["fix"]), loop["fix"]


def test_redis_on_the_lan_is_critical_and_the_config_fix_closes_it(lab, tmp_path):
    redis = shutil.which("redis-server")
    if redis is None:
        pytest.skip("redis-server is not installed (optional: apt-get install redis-server)")
    port = lab.port()
    base = [redis, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    proc = lab.spawn("laptop", [*base, "--bind", "0.0.0.0"], cwd=tmp_path)
    lab.wait_listening("laptop", port, proc)
    assert lab.connect("phone", LAPTOP4, port)

    data = doctor(lab, str(port), expect_rc=0)
    danger = finding(data, "dangerous-exposure")
    assert danger["severity"] == "critical" and "Redis" in danger["title"]
    assert data["self_probe"]["http"] is None, "doctor sent an HTTP request to a datastore"
    line = danger["fix"][0]
    assert line.startswith("set bind 127.0.0.1"), danger["fix"]
    directive = line[len("set ") :].split("#", 1)[0].strip()
    conf = tmp_path / "redis.conf"
    conf.write_text(directive + "\n")

    stop(lab, proc, port)
    proc = lab.spawn("laptop", [redis, str(conf), *base[1:]], cwd=tmp_path)
    lab.wait_listening("laptop", port, proc)
    assert not lab.connect("phone", LAPTOP4, port), f"the phone still reaches redis with {directive!r}"
    assert lab.connect("laptop", "127.0.0.1", port)
    after = doctor(lab, str(port), expect_rc=1)
    assert "dangerous-exposure" not in ids(after)


# -- 5. production posture: gunicorn on 0.0.0.0 behind a real nginx ---------------------------------
NGINX_CONF = """
user root;
worker_processes 1;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    {site}
}}
"""
NGINX_SITE = """
server {{
    listen 80;
    location / {{
        proxy_pass {target};
    }}
}}
"""


@pytest.mark.parametrize("layout", ["inline", "include-upstream"])
def test_app_server_around_nginx(lab, apps, tmp_path, layout):
    """inline: proxy_pass http://127.0.0.1:PORT in the main file. include-upstream: Debian's layout, a site
    file included by a relative glob, whose proxy_pass names an `upstream` block."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx is None:
        tool_missing("nginx is not installed (apt-get install nginx-light)")
    port = lab.port()
    conf = tmp_path / "nginx.conf"
    if layout == "inline":
        target = f"http://127.0.0.1:{port}"
        conf.write_text(NGINX_CONF.format(d=tmp_path, site=NGINX_SITE.format(target=target)))
        site = conf
    else:
        target = "http://app_servers"
        (tmp_path / "sites-enabled").mkdir()
        site = tmp_path / "sites-enabled" / "app.conf"
        upstream = f"upstream app_servers {{\n    server 127.0.0.1:{port} max_fails=3;\n}}\n"
        site.write_text(upstream + NGINX_SITE.format(target=target))
        conf.write_text(NGINX_CONF.format(d=tmp_path, site="include sites-enabled/*.conf;"))
    proxy = lab.spawn(
        "laptop",
        [nginx, "-e", str(tmp_path / "error.log"), "-c", str(conf), "-g", f"daemon off; pid {tmp_path}/nginx.pid;"],
    )
    lab.wait_listening("laptop", 80, proxy)
    app = start(lab, [_script("gunicorn"), "-b", f"0.0.0.0:{port}", "wsgiapp:app"], apps / "wsgi", _env(), port)

    # reality: the phone gets the app through nginx, and also straight from gunicorn, around the proxy
    assert fetch(lab, "phone", LAPTOP4, 80) == (200, "wsgi says hi")
    assert fetch(lab, "phone", LAPTOP4, port) == (200, "wsgi says hi")
    data = doctor(lab, str(port), expect_rc=0)
    exposed = finding(data, "app-server-exposed")
    evidence = "\n".join(exposed["evidence"])
    assert f"proxy_pass {target} ({site})" in evidence and f"127.0.0.1:{port}" in evidence, evidence
    argv = restart_argv(exposed)
    assert shlex.join(argv) == f"gunicorn -b 127.0.0.1:{port} wsgiapp:app", argv

    stop(lab, app, port)
    start(lab, argv, apps / "wsgi", _env(), port)
    # reality: the phone still gets the app through nginx, and no longer around it
    assert fetch(lab, "phone", LAPTOP4, 80) == (200, "wsgi says hi")
    assert not lab.connect("phone", LAPTOP4, port)
    # doctor must not undo its own fix: no "restart it on 0.0.0.0" while nginx serves the app to the LAN;
    # it points at the proxy, and the phone really gets the app at the URL it names
    after = doctor(lab, str(port), expect_rc=0)
    assert "app-server-exposed" not in ids(after) and "loopback-only" not in ids(after)
    for f in after["findings"]:
        assert not any(line.startswith(RESTART) and "0.0.0.0" in line for line in f["fix"]), f
    behind = finding(after, "behind-proxy")
    assert any(f"proxy_pass {target} ({site})" in line for line in behind["evidence"]), behind
    url = after["urls"][0]
    assert url in (f"http://{LAPTOP4}/", f"http://{LAPTOP4}:80/"), after["urls"]
    assert fetch(lab, "phone", LAPTOP4, 80) == (200, "wsgi says hi")


# -- 6. localhost resolution and v6-only -------------------------------------------------------------
@pytest.mark.parametrize("v6_first", [True, False], ids=["::1-first", "127.0.0.1-first"])
def test_localhost_resolving_to_the_other_family(lab, v6_first):
    # glibc sorts ::1 before 127.0.0.1 whatever the file's order (RFC 6724), so "127.0.0.1 first" has no ::1
    hosts = "::1 localhost\n127.0.0.1 localhost\n" if v6_first else "127.0.0.1 localhost\n"
    lab.netns_hosts("laptop", hosts)
    port = lab.port()
    lab.hold("laptop", [("127.0.0.1", port, None)])
    order = lab.getaddrinfo("laptop", "localhost")
    assert order[0] == ("::1" if v6_first else "127.0.0.1"), order
    # reality: a client that takes the first answer only (curl --no-happy-eyeballs, Node 17+) fails on ::1
    assert not lab.connect("laptop", "::1", port) and lab.connect("laptop", "127.0.0.1", port)

    data = doctor(lab, str(port), expect_rc=1)
    if v6_first:
        f = finding(data, "localhost-resolution")
        assert "::1" in f["title"] and any(f"127.0.0.1:{port}" in line for line in f["fix"]), f
    else:
        assert "localhost-resolution" not in ids(data)


def test_v6only_wildcard_refuses_ipv4(lab):
    port = lab.port()
    lab.hold("laptop", [("::", port, True)])
    # reality: the phone gets in over IPv6, not over IPv4
    assert lab.connect("phone", LAPTOP6, port) and not lab.connect("phone", LAPTOP4, port)
    data = doctor(lab, str(port), expect_rc=0)
    f = finding(data, "v6only")
    assert f["severity"] == "error", f
    assert all("198.51.100.1" not in u for u in data["urls"]) and any(LAPTOP6 in u for u in data["urls"]), data["urls"]


# -- 7. read-only ------------------------------------------------------------------------------------
def test_doctor_changes_nothing(lab, apps):
    nft = shutil.which("nft")
    lan_port, lo_port = lab.port(), lab.port()
    served = start(
        lab, [PY, "-m", "http.server", "--bind", "0.0.0.0", str(lan_port)], apps / "static", _env(), lan_port
    )
    start(lab, [PY, "-m", "http.server", "--bind", "127.0.0.1", str(lo_port)], apps / "static", _env(), lo_port)
    table = "bsdoctor"
    if nft is not None:
        rules = f"add table inet {table}\nadd chain inet {table} input {{ type filter hook input priority 0; }}\n"
        rules += f"add rule inet {table} input tcp dport {lan_port} counter accept\n"
        proc = lab.run("laptop", [nft, "-f", "-"], input=rules)
        assert proc.returncode == 0, proc.stderr

    def state() -> dict:
        out = {"ss": ss_listening(lab), "etc": sorted(p.name for p in Path(f"/etc/netns/{lab.ns['laptop']}").iterdir())}
        if nft is not None:
            out["nft"] = lab.run("laptop", [nft, "-s", "list", "ruleset"]).stdout
        return out

    try:
        before = state()
        for port in (lan_port, lo_port, lab.port()):
            proc = lab.bindscope("laptop", "doctor", str(port), "--json")
            assert proc.returncode in (0, 1), proc.stderr
            proc = lab.bindscope("laptop", "doctor", str(port))
            assert proc.returncode in (0, 1), proc.stderr
        assert state() == before
        assert served.poll() is None
        assert fetch(lab, "phone", LAPTOP4, lan_port)[0] == 200
    finally:
        if nft is not None:
            lab.run("laptop", [nft, "delete", "table", "inet", table])


# -- 8. bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [["foo"], ["70000"], [""], ["0"], ["http://[::1"], ["http://x:99999/"], ["8000", "--timeout", "0"], ["*:8000"]],
    ids=["name", "big-port", "empty", "zero", "bad-url", "url-big-port", "timeout", "star"],
)
@pytest.mark.parametrize("json_flag", [False, True], ids=["text", "json"])
def test_bad_input_is_one_line_and_exit_2(lab, args, json_flag):
    proc = lab.bindscope("laptop", "doctor", *args, *(["--json"] if json_flag else []))
    assert proc.returncode == 2, f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bindscope"), proc.stderr
    assert proc.stdout == ""


def test_url_without_port_means_80(lab):
    data = doctor(lab, "http://x", expect_rc=1)
    assert data["port"] == 80
    assert 80 not in ss_ports(lab)
    finding(data, "nothing-listening")


# -- targets: host:port, URL, an IPv6 address, an address of another machine -------------------------
def test_targets_name_the_address_the_client_uses(lab, apps):
    port = lab.port()
    start(lab, [PY, "-m", "http.server", "--bind", "0.0.0.0", str(port)], apps / "static", _env(), port)
    # reality: IPv4 connects, IPv6 is refused (an IPv4-only socket)
    assert lab.connect("phone", LAPTOP4, port) and not lab.connect("phone", LAPTOP6, port)
    for target in (f"{LAPTOP4}:{port}", f"http://{LAPTOP4}:{port}/", str(port)):
        data = doctor(lab, target, expect_rc=0)
        assert data["port"] == port and data["lan"] is True, target
        assert not {"ipv4-only", "target-not-local", "target-not-accepted"} & set(ids(data)), (target, ids(data))
    data = doctor(lab, f"[{LAPTOP6}]:{port}", expect_rc=0)  # the LAN reaches it, but not at that address
    assert finding(data, "ipv4-only")["severity"] == "error"
    data = doctor(lab, f"203.0.113.2:{port}", expect_rc=0)  # the stranger's address
    assert finding(data, "target-not-local")


# -- a server started from code (`python app.py`): the script line doctor names, edited as it says ----
FLASK_SCRIPT = """
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "flask script says hi"


if __name__ == "__main__":
    app.run(port={port})
"""

UVICORN_SCRIPT = """
import uvicorn


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({{"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}})
    await send({{"type": "http.response.body", "body": b"uvicorn script says hi"}})


if __name__ == "__main__":
    uvicorn.run(app, port={port}, lifespan="off")
"""

SCRIPT_CASES = [
    ("flask", "app.py", FLASK_SCRIPT, "flask"),
    ("uvicorn", "main.py", UVICORN_SCRIPT, "uvicorn"),
]


@pytest.mark.parametrize(("case", "name", "source", "needs"), SCRIPT_CASES, ids=[c[0] for c in SCRIPT_CASES])
def test_server_started_from_code_fixed_by_the_script_line(lab, tmp_path, case, name, source, needs):
    try:
        __import__(needs)
    except ImportError:
        tool_missing(f"{needs} is not installed")
    port = lab.port()
    assert port not in ss_ports(lab), f"port {port} is taken in the laptop namespace before the test"
    script = tmp_path / name
    script.write_text(source.format(port=port))
    argv = [PY, name]
    proc = start(lab, argv, tmp_path, _env(), port)
    # reality: only the laptop itself reaches it (ss: bound to loopback)
    assert f"127.0.0.1:{port}" in ss_listening(lab)
    assert not lab.connect("phone", LAPTOP4, port), "the phone reaches the server before any fix"

    data = doctor(lab, str(port), expect_rc=1)
    assert data["lan"] is False
    assert data["server"] == case
    loop = finding(data, "loopback-only")
    assert loop["fix_command"] is None
    edit = loop["fix_code"]
    assert edit is not None, loop
    lines = script.read_text().splitlines()
    call = next(i for i, text in enumerate(lines, 1) if f"port={port}" in text)  # the oracle: the source itself
    assert edit["path"] == str(script) and edit["line"] == call
    assert edit["old"] == lines[call - 1]
    assert loop["fix"][0].startswith(f"{name} line {call}: `{lines[call - 1].strip()}` binds 127.0.0.1"), loop["fix"]
    text = lab.bindscope("laptop", "doctor", str(port))
    assert text.returncode == 1 and f"{name} line {call}:" in text.stdout, text.stdout

    # apply exactly the edit doctor gave, restart the same command
    stop(lab, proc, port)
    assert edit["old"] in lines[edit["line"] - 1]
    lines[edit["line"] - 1] = lines[edit["line"] - 1].replace(edit["old"], edit["new"], 1)
    script.write_text("\n".join(lines) + "\n")
    start(lab, argv, tmp_path, _env(), port)
    assert lab.connect("phone", LAPTOP4, port), f"the phone cannot connect after the edit {edit}"
    status, body = fetch(lab, "phone", LAPTOP4, port)
    assert status == 200 and "says hi" in body, f"the phone got {status}: {body[:300]}"
    after = doctor(lab, str(port), expect_rc=0)
    assert after["lan"] is True and "loopback-only" not in ids(after)
