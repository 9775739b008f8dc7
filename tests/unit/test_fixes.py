"""Fix recipes computed from the knowledge table: the rewritten command lines parse back to
the host asked for, keep every other argument, and use the server's own options."""

from __future__ import annotations

import shlex

import pytest

from bindscope.analyze.fixes import LAN_HOST, LOCAL_HOST, bind_fix
from bindscope.analyze.servers import detect
from bindscope.knowledge.servers import SERVERS

CASES = [
    # (cmdline, port, expected LAN command)
    (
        ("/v/bin/python", "/v/bin/flask", "--app", "hello", "run", "--port", "8001"),
        8001,
        "flask --app hello run --port 8001 --host 0.0.0.0",
    ),
    (("/v/bin/python", "/v/bin/flask", "run", "-h", "127.0.0.1"), 5000, "flask run -h 0.0.0.0"),
    (("/v/bin/python", "/v/bin/flask", "run", "--host=localhost"), 5000, "flask run --host 0.0.0.0"),
    (("python3", "manage.py", "runserver"), 8000, "python3 manage.py runserver 0.0.0.0:8000"),
    (
        ("python3", "manage.py", "runserver", "8001", "--noreload"),
        8001,
        "python3 manage.py runserver 0.0.0.0:8001 --noreload",
    ),
    (
        ("python3", "manage.py", "runserver", "--noreload", "127.0.0.1:8002"),
        8002,
        "python3 manage.py runserver --noreload 0.0.0.0:8002",
    ),
    (("python3", "-m", "django", "runserver", "[::1]:8000"), 8000, "python3 -m django runserver 0.0.0.0:8000"),
    (("/v/bin/python", "/v/bin/uvicorn", "main:app", "--reload"), 8000, "uvicorn main:app --reload --host 0.0.0.0"),
    (
        ("python3.12", "-m", "uvicorn", "main:app", "--host", "::1", "--port", "9000"),
        9000,
        "python3.12 -m uvicorn main:app --host 0.0.0.0 --port 9000",
    ),
    (("/v/bin/python", "/v/bin/gunicorn", "app:app"), 8000, "gunicorn app:app -b 0.0.0.0:8000"),
    (
        ("/v/bin/python", "/v/bin/gunicorn", "--bind", "127.0.0.1:9000", "-w", "2", "app:app"),
        9000,
        "gunicorn --bind 0.0.0.0:9000 -w 2 app:app",
    ),
    (("/v/bin/python", "/v/bin/gunicorn", "-b127.0.0.1:9000", "app:app"), 9000, "gunicorn -b 0.0.0.0:9000 app:app"),
    (
        ("uwsgi", "--http", "127.0.0.1:8000", "--wsgi-file", "app.py"),
        8000,
        "uwsgi --http 0.0.0.0:8000 --wsgi-file app.py",
    ),
    (
        ("python3", "-m", "http.server", "--bind", "127.0.0.1", "8080"),
        8080,
        "python3 -m http.server --bind 0.0.0.0 8080",
    ),
    (("/v/bin/python", "/v/bin/jupyter-lab", "--no-browser"), 8888, "jupyter-lab --no-browser --ip 0.0.0.0"),
    (
        ("/v/bin/python", "/v/bin/waitress-serve", "--listen=127.0.0.1:8080", "app:app"),
        8080,
        "waitress-serve --listen 0.0.0.0:8080 app:app",
    ),
    (("/v/bin/python", "/v/bin/mkdocs", "serve"), 8000, "mkdocs serve -a 0.0.0.0:8000"),
    (("/v/bin/python", "/v/bin/hypercorn", "main:app"), 8000, "hypercorn main:app -b 0.0.0.0:8000"),
    (("/v/bin/python", "/v/bin/fastapi", "dev", "main.py"), 8000, "fastapi dev main.py --host 0.0.0.0"),
    (("/v/bin/python", "/v/bin/streamlit", "run", "app.py"), 8501, "streamlit run app.py --server.address=0.0.0.0"),
    (("/v/bin/python", "/v/bin/gradio", "app.py"), 7860, "GRADIO_SERVER_NAME=0.0.0.0 gradio app.py"),
]


@pytest.mark.parametrize(("cmdline", "port", "expected"), CASES, ids=[" ".join(c[0][1:4]) for c in CASES])
def test_lan_fix_command(cmdline, port, expected):
    found = detect(cmdline, cmdline[0].rsplit("/", 1)[-1])
    assert found is not None
    fix = bind_fix(found, cmdline, LAN_HOST, port)
    assert fix is not None
    assert fix.text == expected
    if fix.kind == "command":
        assert shlex.split(fix.text) == list(fix.argv)
    local = bind_fix(found, cmdline, LOCAL_HOST, port)
    assert local is not None and local.text == expected.replace("0.0.0.0", "127.0.0.1")


def test_fix_keeps_every_other_argument():
    cmd = (
        "/v/bin/python",
        "/v/bin/uvicorn",
        "pkg.mod:create_app",
        "--factory",
        "--port",
        "8123",
        "--log-level",
        "debug",
    )
    fix = bind_fix(detect(cmd), cmd, LAN_HOST, 8123)
    assert fix is not None
    words = list(fix.argv)
    for arg in cmd[2:]:
        assert arg in words
    assert words[words.index("--host") + 1] == "0.0.0.0"


def test_code_fix_for_app_run_with_reloader():
    cmd = ("python3", "app.py")
    found = detect(cmd, "python3", {"WERKZEUG_RUN_MAIN": "true"})
    fix = bind_fix(found, cmd, LAN_HOST, 5000)
    assert fix is not None and fix.kind == "code"
    assert fix.text == 'app.run(host="0.0.0.0", port=5000)'
    assert fix.where == "in app.py"


def test_datastores_get_a_local_config_line_and_no_lan_recipe():
    cmd = ("/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main")
    found = detect(cmd, "postgres")
    assert bind_fix(found, cmd, LAN_HOST, 5432) is None
    local = bind_fix(found, cmd, LOCAL_HOST, 5432)
    assert local is not None and local.kind == "config" and "listen_addresses" in local.text


def test_unknown_server_has_no_recipe():
    assert bind_fix(None, ("python3", "script.py"), LAN_HOST, 8000) is None


def test_ipv6_host_is_bracketed_in_bind_options():
    cmd = ("/v/bin/python", "/v/bin/gunicorn", "app:app")
    fix = bind_fix(detect(cmd), cmd, "::", 8000)
    assert fix is not None and "[::]:8000" in fix.argv


def test_every_bind_record_is_consistent():
    for server in SERVERS:
        bind = server.bind
        if bind is None:
            continue
        assert bind.port is None or 0 <= bind.port <= 65535, server.id
        if bind.code:
            assert "{host}" in bind.code and "{port}" in bind.code, server.id
        if server.programs or server.modules:
            assert (
                bind.host_opts or bind.bind_opts or bind.positional or bind.host_env or bind.code or bind.local_config
            ), f"{server.id}: recognisable but no way to set its host"


def test_docs_servers_page_is_written_from_the_table():
    from pathlib import Path

    from bindscope.render.servers_md import markdown

    page = Path(__file__).resolve().parents[2] / "docs" / "servers.md"
    assert page.read_text(encoding="utf-8") == markdown(), (
        "docs/servers.md is stale: python -m bindscope.render.servers_md > docs/servers.md"
    )
