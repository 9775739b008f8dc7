"""audit's command-line parser (audit/cmdline.py), the config scanners (audit/confscan.py) and the
project pass (audit/link.py), on real file texts: Procfiles, shell scripts, Dockerfiles, compose
files, Makefiles, systemd units, uwsgi.ini and nginx configs as projects write them."""

from __future__ import annotations

import textwrap

import pytest

from bindscope.audit import cmdline
from bindscope.audit.confscan import SCANNERS, TRIGGERS
from bindscope.audit.link import link
from bindscope.audit.model import KINDS, FileContext, Hit, ScanResult
from bindscope.audit.rules import RULES


def scan(kind: str, path: str, text: str) -> ScanResult:
    text = textwrap.dedent(text)
    result = SCANNERS[kind](FileContext(path, text, kind))
    if result.hits or result.facts:
        # the prefilter contract: a file that gives a Hit or a Fact matches its kind's trigger
        assert TRIGGERS[kind].search(text.encode()), f"{kind} trigger misses {path}"
    for hit in result.hits:
        assert hit.rule in RULES
        assert hit.line >= 1
    return result


def found(result: ScanResult) -> set[tuple[int, str]]:
    return {(h.line, h.rule) for h in result.hits}


def one(text: str, env: dict[str, str] | None = None) -> cmdline.Invocation:
    invs = cmdline.parse(text, env)
    assert len(invs) == 1, invs
    return invs[0]


# -- the command-line parser ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "server", "host", "port", "rule"),
    [
        ("gunicorn -b 0.0.0.0:8000 app:app", "gunicorn", "0.0.0.0", 8000, "bind-all"),
        ("gunicorn --bind=0.0.0.0:8000 app:app", "gunicorn", "0.0.0.0", 8000, "bind-all"),
        ("gunicorn -b :8000 app:app", "gunicorn", "", 8000, "bind-all"),
        ("gunicorn -b [::]:8000 app:app", "gunicorn", "::", 8000, "bind-all"),
        ("gunicorn -b 127.0.0.1:8000 app:app", "gunicorn", "127.0.0.1", 8000, ""),
        ("gunicorn -b unix:/run/app.sock app:app", "gunicorn", "", 8000, ""),
        ("gunicorn app:app", "gunicorn", "", 8000, ""),  # 127.0.0.1:8000 without PORT
        ("PORT=5000 gunicorn app:app", "gunicorn", "", 5000, "bind-all-default"),  # 0.0.0.0:$PORT
        ("gunicorn -b 0.0.0.0:${PORT:-8000} app:app", "gunicorn", "0.0.0.0", 8000, "bind-all"),
        ("python -m gunicorn -w 4 --bind 0.0.0.0:80 app:app", "gunicorn", "0.0.0.0", 80, "bind-all"),
        ("uwsgi --http :8000 --wsgi-file app.py", "uwsgi", "", 8000, "bind-all"),
        ("uwsgi --http-socket 0.0.0.0:9090 --module app", "uwsgi", "0.0.0.0", 9090, "bind-all"),
        ("uwsgi --socket 127.0.0.1:3031 --module app", "uwsgi", "127.0.0.1", 3031, ""),
        ("uvicorn main:app --host 0.0.0.0 --port 8080", "uvicorn", "0.0.0.0", 8080, "bind-all"),
        ("python -m uvicorn main:app --host=127.0.0.1", "uvicorn", "127.0.0.1", 8000, ""),
        ("uvicorn main:app", "uvicorn", "", 8000, ""),
        ("UVICORN_HOST=0.0.0.0 uvicorn main:app", "uvicorn", "0.0.0.0", 8000, "bind-all"),
        ("hypercorn -b 0.0.0.0:8000 app:app", "hypercorn", "0.0.0.0", 8000, "bind-all"),
        ("daphne -b 0.0.0.0 -p 8001 proj.asgi:application", "daphne", "0.0.0.0", 8001, "bind-all"),
        ("granian --interface asgi --host 0.0.0.0 main:app", "granian", "0.0.0.0", 8000, "bind-all"),
        ("flask run --host 0.0.0.0", "flask", "0.0.0.0", 5000, "bind-all"),
        ("flask --app hello run -h 0.0.0.0 -p 8000", "flask", "0.0.0.0", 8000, "bind-all"),
        ("flask run --debug --host 0.0.0.0", "flask", "0.0.0.0", 5000, "debug-exposed"),
        ("FLASK_DEBUG=1 flask run --host=0.0.0.0", "flask", "0.0.0.0", 5000, "debug-exposed"),
        ("FLASK_DEBUG=0 flask run --host=0.0.0.0", "flask", "0.0.0.0", 5000, "bind-all"),
        ("flask run --debug", "flask", "", 5000, ""),
        ("fastapi run main.py", "fastapi", "", 8000, "bind-all-default"),
        ("fastapi dev main.py", "fastapi", "", 8000, ""),
        ("fastapi dev main.py --host 0.0.0.0", "fastapi", "0.0.0.0", 8000, "bind-all"),
        ("fastapi run main.py --host 127.0.0.1", "fastapi", "127.0.0.1", 8000, ""),
        ("python manage.py runserver 0.0.0.0:8000", "django runserver", "0.0.0.0", 8000, "bind-all"),
        ("./manage.py runserver 0:8000", "django runserver", "0", 8000, "bind-all"),
        ("python manage.py runserver [::]:8000", "django runserver", "::", 8000, "bind-all"),
        ("python manage.py runserver 8000", "django runserver", "", 8000, ""),
        (
            "python manage.py runserver --settings=proj.dev 0.0.0.0:8000",
            "django runserver",
            "0.0.0.0",
            8000,
            "bind-all",
        ),
        ("python manage.py runserver_plus 0.0.0.0:8000", "django runserver_plus", "0.0.0.0", 8000, "debug-exposed"),
        ("python manage.py runserver_plus", "django runserver_plus", "", 8000, ""),
        ("python -m http.server", "http.server", "", 8000, "bind-all-default"),
        ("python3 -m http.server 8080", "http.server", "", 8080, "bind-all-default"),
        ("python3 -m http.server --bind 127.0.0.1 8080", "http.server", "127.0.0.1", 8080, ""),
        ("python3 -m http.server -b 0.0.0.0 9000", "http.server", "0.0.0.0", 9000, "bind-all"),
        ("jupyter lab --ip=0.0.0.0 --ServerApp.token='' --no-browser", "jupyter", "0.0.0.0", 8888, "jupyter-open"),
        ("jupyter notebook --ip 0.0.0.0 --NotebookApp.token=''", "jupyter", "0.0.0.0", 8888, "jupyter-open"),
        ("jupyter-lab --ip=* --IdentityProvider.token=", "jupyter", "*", 8888, "jupyter-open"),
        ("jupyter lab --ip=0.0.0.0", "jupyter", "0.0.0.0", 8888, "bind-all"),
        ("jupyter lab --ServerApp.token=''", "jupyter", "", 8888, ""),  # localhost only
        ("waitress-serve --call app:create_app", "waitress", "", 8080, "bind-all-default"),
        ("waitress-serve --listen=127.0.0.1:8080 app:app", "waitress", "127.0.0.1", 8080, ""),
        ("waitress-serve --host 127.0.0.1 --port 9000 app:app", "waitress", "127.0.0.1", 9000, ""),
        ("streamlit run app.py", "streamlit", "", 8501, "bind-all-default"),
        ("streamlit run app.py --server.address=127.0.0.1", "streamlit", "127.0.0.1", 8501, ""),
        ("tensorboard --logdir runs --bind_all", "tensorboard", "*", 6006, "bind-all"),
        ("mkdocs serve -a 0.0.0.0:8000", "mkdocs", "0.0.0.0", 8000, "bind-all"),
        ("uvicorn app:app --host 192.168.1.10", "uvicorn", "192.168.1.10", 8000, ""),
        ("flask run --debug --host 192.168.1.10", "flask", "192.168.1.10", 5000, "debug-exposed"),
        ("uvicorn app:app --host $HOST", "uvicorn", "$HOST", 8000, ""),  # unknown: no finding
    ],
)
def test_server_binds(command: str, server: str, host: str, port: int, rule: str) -> None:
    invs = cmdline.parse(command)
    if command.startswith("gunicorn -b unix:"):
        # a unix socket binds no TCP address: the default applies to nothing written, no finding
        assert all(i.rule() == "" for i in invs)
        return
    inv = one(command)
    assert (inv.server, inv.host, inv.port, inv.rule()) == (server, host, port, rule)


def test_jupyter_open_fix_keeps_the_token() -> None:
    inv = one("jupyter lab --ip=0.0.0.0 --ServerApp.token '' --no-browser")
    assert inv.open_auth == "--ServerApp.token=''"
    assert inv.fix == "jupyter lab --ip 127.0.0.1 --no-browser"


def test_effective_hosts_come_from_the_knowledge_table() -> None:
    assert one("gunicorn app:app").effective_host == "127.0.0.1"
    assert one("gunicorn app:app", {"PORT": "5000"}).effective_host == "0.0.0.0"
    assert one("python -m http.server").scope == "all"
    assert one("jupyter lab").scope == "loopback"  # localhost
    assert one("waitress-serve app:app").effective_host == "0.0.0.0"
    assert one("fastapi run").effective_host == "0.0.0.0"
    assert one("fastapi dev").effective_host == "127.0.0.1"


@pytest.mark.parametrize(
    "command",
    [
        "exec gunicorn -b 0.0.0.0:8000 app:app",
        "env FOO=1 gunicorn -b 0.0.0.0:8000 app:app",
        "sh -c 'cd /app && gunicorn -b 0.0.0.0:8000 app:app'",
        'bash -lc "gunicorn -b 0.0.0.0:8000 app:app"',
        "/bin/sh -ec 'exec gunicorn -b 0.0.0.0:8000 app:app'",
        "poetry run gunicorn -b 0.0.0.0:8000 app:app",
        "pipenv run gunicorn -b 0.0.0.0:8000 app:app",
        "uv run --with gunicorn gunicorn -b 0.0.0.0:8000 app:app",
        "pdm run gunicorn -b 0.0.0.0:8000 app:app",
        "pip install -r requirements.txt && gunicorn -b 0.0.0.0:8000 app:app",
        "python manage.py migrate; gunicorn -b 0.0.0.0:8000 app:app",
        "gunicorn -b 0.0.0.0:8000 app:app 2>&1 | tee gunicorn.log",
        "gosu app gunicorn -b 0.0.0.0:8000 app:app",
        "tini -- gunicorn -b 0.0.0.0:8000 app:app",
        "nohup gunicorn -b 0.0.0.0:8000 app:app > log &",
        "gunicorn \\\n  -b 0.0.0.0:8000 \\\n  app:app",
        "/srv/venv/bin/gunicorn -b 0.0.0.0:8000 app:app",
        "ddtrace-run gunicorn -b 0.0.0.0:8000 app:app",
    ],
)
def test_launchers_and_shell_operators(command: str) -> None:
    inv = one(command)
    assert (inv.server, inv.effective_host, inv.port, inv.rule()) == ("gunicorn", "0.0.0.0", 8000, "bind-all")
    assert inv.fix.startswith("gunicorn") and "127.0.0.1:8000" in inv.fix


@pytest.mark.parametrize(
    "command",
    [
        "# gunicorn -b 0.0.0.0:8000 app:app",
        "echo 'gunicorn -b 0.0.0.0:8000 app:app'",
        "flask db upgrade",
        "flask --app app routes",
        "python manage.py migrate",
        "gunicorn --check-config -b 0.0.0.0:8000 app:app",
        "pip install gunicorn uvicorn",
        "cat <<EOF\ngunicorn -b 0.0.0.0:8000 app:app\nEOF",
        "streamlit config show",
    ],
)
def test_not_a_server_start(command: str) -> None:
    assert [i.rule() for i in cmdline.parse(command)] in ([], [""])


def test_symbolic_ports_stay_symbolic() -> None:
    inv = one("gunicorn -b 0.0.0.0:$PORT app:app")
    assert (inv.port, inv.port_text, inv.rule()) == (None, "$PORT", "bind-all")
    assert inv.fix == "gunicorn -b 127.0.0.1:$PORT app:app"  # the variable still expands
    assert one("gunicorn -b 0.0.0.0:${PORT:-8000} app:app").port == 8000
    assert one("gunicorn -b 0.0.0.0:${PORT:-8000} app:app", {"PORT": "9000"}).port == 9000
    # a PaaS sets PORT to a value nobody wrote: the default in ${PORT:-8000} does not apply
    assert one("gunicorn -b 0.0.0.0:${PORT:-8000} app:app", {"PORT": "$PORT"}).port is None


def test_exports_carry_over_in_a_script() -> None:
    shell = cmdline.Shell()
    assert shell.parse("export FLASK_DEBUG=1\nFLASK_RUN_HOST=0.0.0.0\n") == []
    inv = one("flask run --host 0.0.0.0", None)
    assert inv.rule() == "bind-all"
    invs = shell.parse("flask run --host 0.0.0.0")
    assert [i.rule() for i in invs] == ["debug-exposed"]
    # FLASK_RUN_HOST was not exported: flask does not see it
    assert [i.effective_host for i in shell.parse("flask run")] == ["127.0.0.1"]


def test_debug_from_an_inherited_variable_is_marked() -> None:
    inv = one("flask run --host 0.0.0.0", {"FLASK_DEBUG": "1"})
    assert inv.debug_from_env == "FLASK_DEBUG"
    assert inv.rule() == "debug-exposed"
    assert inv.rule(env_debug=False) == "bind-all"
    assert one("FLASK_DEBUG=1 flask run --host 0.0.0.0").debug_from_env is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (":8000", ("", "8000")),
        ("0.0.0.0:8000", ("0.0.0.0", "8000")),
        ("[::]:8000", ("::", "8000")),
        ("[::1]:8000", ("::1", "8000")),
        ("0.0.0.0:${PORT:-8000}", ("0.0.0.0", "${PORT:-8000}")),
        ("unix:/run/gunicorn.sock", (None, None)),
        ("/tmp/uwsgi.sock", (None, None)),
        ("tcp://0.0.0.0:8000", ("0.0.0.0", "8000")),
    ],
)
def test_split_hostport(value: str, expected: tuple[str | None, str | None]) -> None:
    assert cmdline.split_hostport(value) == expected


# -- Procfile, shell, Makefile, systemd, uwsgi.ini --------------------------------------------------


def test_procfile() -> None:
    result = scan(
        "procfile",
        "Procfile",
        """\
        web: gunicorn app:app
        worker: celery -A app worker -l info
        api: uvicorn api:app --host 0.0.0.0 --port $PORT
        release: python manage.py migrate
        admin: flask run --host=127.0.0.1
        """,
    )
    # honcho/foreman/Heroku set PORT, so gunicorn without --bind listens on 0.0.0.0:$PORT
    assert found(result) == {(1, "bind-all-default"), (3, "bind-all")}
    web = next(h for h in result.hits if h.line == 1)
    assert web.fix == "gunicorn app:app -b 127.0.0.1:$PORT"
    assert web.data["server"] == "gunicorn" and web.data["host"] == ""


def test_shell_script() -> None:
    result = scan(
        "shell",
        "docker/entrypoint.sh",
        """\
        #!/bin/sh
        set -e
        # gunicorn -b 0.0.0.0:8000 app:app   (an old way, commented out)
        cat > /tmp/notes <<EOF
        uvicorn app:app --host 0.0.0.0
        EOF
        python manage.py migrate --noinput && \\
          python manage.py collectstatic --noinput
        exec gunicorn \\
            --workers 3 \\
            --bind 0.0.0.0:${PORT:-8000} \\
            proj.wsgi:application
        """,
    )
    assert found(result) == {(9, "bind-all")}
    assert result.hits[0].data["port"] == 8000


def test_shell_script_export_then_debug_server() -> None:
    result = scan(
        "shell",
        "run-dev.sh",
        """\
        #!/usr/bin/env bash
        export FLASK_APP=app.py
        export FLASK_DEBUG=1
        flask run --host=0.0.0.0 --port=5000
        """,
    )
    assert found(result) == {(4, "debug-exposed")}


def test_shell_script_negatives() -> None:
    result = scan(
        "shell",
        "serve.sh",
        """\
        #!/bin/sh
        python3 -m http.server --bind 127.0.0.1 8000
        gunicorn app:app
        fastapi dev main.py
        uvicorn main:app --reload
        echo "open http://0.0.0.0:8000 in a browser"
        """,
    )
    assert found(result) == set()


def test_makefile() -> None:
    result = scan(
        "makefile",
        "Makefile",
        "HOST ?= 0.0.0.0\n"
        "PORT := 8000\n"
        "export FLASK_DEBUG = 1\n"
        ".PHONY: run serve docs local\n"
        "run:\n"
        "\t@flask run --host $(HOST) --port $(PORT)\n"
        "serve:\n"
        "\t-python -m http.server $$PORT\n"
        "docs:\n"
        "\tmkdocs serve\n"
        "local:\n"
        "\tuvicorn app:app --host 127.0.0.1 \\\n"
        "\t  --port $(PORT)\n",
    )
    assert found(result) == {(6, "debug-exposed"), (8, "bind-all-default")}
    run = next(h for h in result.hits if h.line == 6)
    assert run.data["port"] == 8000 and run.fix == "flask run --host 127.0.0.1 --port 8000"


def test_systemd_unit() -> None:
    result = scan(
        "systemd",
        "deploy/app.service",
        """\
        [Unit]
        Description=app

        [Service]
        Environment="PORT=8000" APP_ENV=prod
        ExecStartPre=/srv/venv/bin/python manage.py migrate
        ExecStart=-/srv/venv/bin/gunicorn --workers 3 proj.wsgi
        ExecReload=/bin/kill -HUP $MAINPID
        """,
    )
    # gunicorn reads PORT: with it set and no --bind, it binds 0.0.0.0:8000
    assert found(result) == {(7, "bind-all-default")}
    assert result.hits[0].data["port"] == 8000


def test_systemd_unit_loopback() -> None:
    result = scan(
        "systemd",
        "app.service",
        """\
        [Service]
        ExecStart=/srv/venv/bin/gunicorn --bind 127.0.0.1:8000 \\
            proj.wsgi
        """,
    )
    assert found(result) == set()


def test_uwsgi_ini() -> None:
    result = scan(
        "uwsgi_ini",
        "uwsgi.ini",
        """\
        [uwsgi]
        module = app:app
        master = true
        http = :8000
        socket = /tmp/app.sock
        http-socket = 127.0.0.1:9000

        [other]
        http = :9999
        """,
    )
    assert found(result) == {(4, "bind-all")}
    assert result.hits[0].fix == "http = 127.0.0.1:8000"


def test_uwsgi_ini_socket_on_every_interface() -> None:
    result = scan("uwsgi_ini", "app.uwsgi.ini", "[uwsgi]\nsocket = 0.0.0.0:3031\nmodule = app\n")
    assert found(result) == {(2, "bind-all")}


# -- Dockerfile -------------------------------------------------------------------------------------


def test_dockerfile_cmd_is_info_inside_the_image() -> None:
    result = scan(
        "dockerfile",
        "api/Dockerfile",
        """\
        FROM python:3.12-slim
        WORKDIR /app
        COPY requirements.txt .
        RUN pip install -r requirements.txt && gunicorn --version
        COPY . .
        EXPOSE 8000/tcp
        # the server
        CMD ["gunicorn", "--bind", "0.0.0.0:8000", \\
             "app:app"]
        """,
    )
    assert found(result) == {(8, "bind-all")}
    assert result.hits[0].severity == "info"
    fact = result.facts[0]
    assert fact.kind == "dockerfile"
    assert dict(fact.data) == {"dir": "api", "expose": [8000], "cmd_port": 8000, "copies": ["requirements.txt", "."]}


def test_dockerfile_env_and_shell_form() -> None:
    result = scan(
        "dockerfile",
        "Dockerfile",
        """\
        FROM python:3.12
        ENV FLASK_RUN_HOST=0.0.0.0 \\
            FLASK_DEBUG=1
        ENV PYTHONUNBUFFERED 1
        COPY . /app
        CMD flask run
        """,
    )
    # reported where the variable is set (the CMD line says nothing itself)
    assert found(result) == {(2, "bind-all"), (2, "debug-env-published")}
    assert {h.severity for h in result.hits} == {"info"}


def test_dockerfile_entrypoint_with_cmd_arguments() -> None:
    result = scan(
        "dockerfile",
        "Dockerfile",
        """\
        FROM python:3.12
        ENTRYPOINT ["gunicorn"]
        CMD ["-b", "0.0.0.0:8000", "app:app"]
        """,
    )
    assert found(result) == {(2, "bind-all")}


def test_dockerfile_entrypoint_script_then_cmd() -> None:
    result = scan(
        "dockerfile",
        "Dockerfile",
        """\
        FROM python:3.12
        COPY entrypoint.sh /entrypoint.sh
        ENTRYPOINT ["/entrypoint.sh"]
        CMD ["sh", "-c", "uvicorn main:app --host 0.0.0.0 --port ${PORT:-80}"]
        """,
    )
    assert found(result) == {(4, "bind-all")}
    assert result.hits[0].data["port"] == 80


def test_dockerfile_loopback_and_no_server() -> None:
    result = scan(
        "dockerfile",
        "Dockerfile",
        """\
        FROM node:20
        ENV NODE_ENV=production
        CMD ["node", "server.js"]
        """,
    )
    assert result.hits == [] and result.facts[0].kind == "dockerfile"


# -- compose ----------------------------------------------------------------------------------------

COMPOSE = """\
services:
  web:
    build: .
    command: gunicorn -b 0.0.0.0:8000 app:app
    ports:
      - "8000:8000"
      - 127.0.0.1:8001:8001
  db:
    image: postgres:16-alpine
    environment:
      POSTGRES_PASSWORD: example
    ports:
      - "5432:5432"
    expose:
      - "5432"
  cache:
    image: redis:7
    ports:
      - target: 6379
        published: 6379
        host_ip: 127.0.0.1
  search:
    image: docker.elastic.co/elasticsearch/elasticsearch:8.14.0
    ports:
      - target: 9200
        published: "9200"
  api:
    build:
      context: ./api
      dockerfile: docker/Dockerfile
    ports:
      - "0.0.0.0:9000:9000"
      - "[::1]:9001:9001"
      - "8080"
      - "7000-7005:7000-7005/udp"
    environment:
      - DEBUG=true
      - LOG_LEVEL=debug
  adminer:
    image: adminer
    ports: ["8081:8080"]
  monitor:
    image: prom/node-exporter
    network_mode: host
  worker:
    build: .
    environment:
      FLASK_DEBUG: "1"
"""


def test_compose_ports_every_form() -> None:
    result = scan("compose", "docker-compose.yml", COMPOSE)
    assert found(result) == {
        (6, "publish-all"),  # "8000:8000"
        (4, "bind-all"),  # the command inside the container: info
        (13, "publish-datastore"),  # postgres
        (25, "publish-datastore"),  # elasticsearch, long syntax without host_ip
        (32, "publish-all"),  # 0.0.0.0:9000:9000
        (34, "publish-all"),  # "8080": a random host port, still every address
        (35, "publish-all"),  # a range, udp
        (37, "debug-env-published"),  # DEBUG=true on a published service
        (41, "publish-datastore"),  # adminer, flow-style list
        (44, "host-network"),
    }
    by_line = {h.line: h for h in result.hits}
    assert by_line[4].severity is None  # its port 8000 is published on every address: not only inside
    assert "published on every host address by line 6" in by_line[4].message
    assert by_line[6].fix == '"127.0.0.1:8000:8000"'
    assert by_line[13].fix == '"127.0.0.1:5432:5432"'
    assert by_line[25].fix == "host_ip: 127.0.0.1"
    assert by_line[35].fix == '"127.0.0.1:7000-7005:7000-7005/udp"'
    assert by_line[13].data["service"] == "db" and by_line[13].data["image"] == "postgres:16-alpine"
    # worker's FLASK_DEBUG is not reported: nothing publishes it


def test_compose_facts() -> None:
    result = scan("compose", "deploy/docker-compose.yml", COMPOSE)
    facts = {f.data["service"]: f for f in result.facts}
    assert set(facts) == {"web", "db", "cache", "search", "api", "adminer", "monitor", "worker"}
    assert facts["web"].data["build"] == "deploy"
    assert facts["api"].data["build"] == "deploy/api"
    assert facts["api"].data["dockerfile"] == "docker/Dockerfile"
    assert facts["cache"].data["ports"] == [{"host_ip": "127.0.0.1", "published": "6379", "target": "6379", "line": 19}]
    assert facts["monitor"].data["network_mode"] == "host"
    assert facts["web"].line == 2


def test_compose_debug_command_is_a_debug_service() -> None:
    result = scan(
        "compose",
        "compose.yaml",
        """\
        services:
          app:
            build: .
            command: ["flask", "run", "--debug", "--host", "0.0.0.0"]
            ports:
              - "5000:5000"
          notebook:
            image: quay.io/jupyter/base-notebook
            entrypoint: >
              sh -c "jupyter lab --ip=0.0.0.0 --IdentityProvider.token=''"
            ports:
              - "127.0.0.1:8888:8888"
        """,
    )
    assert found(result) == {(6, "publish-datastore"), (4, "debug-exposed"), (9, "jupyter-open")}
    by_line = {h.line: h for h in result.hits}
    assert by_line[4].severity is None and by_line[6].severity is None
    assert by_line[9].severity == "info"  # published on 127.0.0.1 only


def test_compose_loopback_only_is_clean() -> None:
    result = scan(
        "compose",
        "docker-compose.yml",
        """\
        version: "3.8"
        services:
          db:
            image: mysql:8
            ports:
              - "127.0.0.1:3306:3306"
            environment:
              MYSQL_ROOT_PASSWORD: root
          app:
            image: myapp
            environment:
              - DEBUG=1
            expose:
              - "8000"
        """,
    )
    assert found(result) == set()


def test_compose_interpolation() -> None:
    result = scan(
        "compose",
        "docker-compose.yml",
        """\
        services:
          web:
            image: myapp
            ports:
              - "${BIND_ADDR:-127.0.0.1}:${WEB_PORT:-8000}:8000"
              - "${METRICS_PORT:-9100}:9100"
        """,
    )
    assert found(result) == {(6, "publish-all")}


def test_compose_version_1_layout() -> None:
    result = scan("compose", "docker-compose.yml", "redis:\n  image: redis\n  ports:\n    - 6379:6379\n")
    assert found(result) == {(4, "publish-datastore")}


def test_compose_invalid_yaml_falls_back_to_lines() -> None:
    result = scan(
        "compose",
        "docker-compose.yml",
        """\
        services:
          db:
            image: postgres
            ports:
              - "5432:5432"
              - "127.0.0.1:5433:5433"
          web:
            image: web
            ports:
              - "8000:8000
            x: [
        """,
    )
    assert result.fallback.startswith("invalid YAML")
    assert found(result) == {(5, "publish-datastore"), (10, "publish-all")}


def test_compose_templated_falls_back() -> None:
    result = scan(
        "compose",
        "templates/docker-compose.yml.j2",
        """\
        services:
          web:
            image: "{{ registry }}/web:{{ tag }}"
            ports:
              - "{{ web_port }}:8000"
              - "127.0.0.1:9000:9000"
        {% if with_debug %}
            network_mode: host
        {% endif %}
            expose:
              - "8000"
        """,
    )
    assert result.fallback == "templated YAML (Jinja/Helm)"
    assert found(result) == {(5, "publish-all"), (8, "host-network")}


@pytest.mark.parametrize(
    "text", ["", "\x00\x01binary", "- a\n- b\n", "services: 3\n", "{{{", "services:\n  x: [1, 2]\n"]
)
def test_compose_never_raises(text: str) -> None:
    result = SCANNERS["compose"](FileContext("docker-compose.yml", text, "compose"))
    assert "internal error" not in result.fallback


# -- nginx ------------------------------------------------------------------------------------------

NGINX = """\
upstream app {
    server web:8000;  # the app container
}
server {
    listen 80;
    location / { proxy_pass http://app; }
    location /api/ { proxy_pass http://127.0.0.1:9000/; }
    location /ws { uwsgi_pass unix:/run/uwsgi.sock; }
}
"""


def test_nginx_upstream_facts() -> None:
    result = scan("nginx", "nginx/conf.d/site.conf", NGINX)
    assert result.hits == []
    assert [(f.line, f.data["host"], f.data["port"]) for f in result.facts] == [
        (2, "web", 8000),
        (7, "127.0.0.1", 9000),
    ]


# -- every kind has a scanner that never raises -----------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "python"])
@pytest.mark.parametrize(
    "text",
    ["", "\ufffd\ufffd\x00", "'unterminated", 'CMD ["gunicorn", ', "a" * 20000, "\\\n" * 50, "$(" * 100, "{{ x }}"],
)
def test_scanners_never_raise(kind: str, text: str) -> None:
    result = SCANNERS[kind](FileContext("f", text, kind))
    assert "internal error" not in result.fallback


# -- link: Dockerfile <-> compose, proxy bypass -----------------------------------------------------


def project(files: dict[str, tuple[str, str]], extra: list[tuple[str, Hit]] | None = None) -> list[tuple[str, Hit]]:
    hits: list[tuple[str, Hit]] = list(extra or [])
    facts = []
    for path, (kind, text) in files.items():
        result = scan(kind, path, text)
        hits.extend((path, h) for h in result.hits)
        facts.extend((path, f) for f in result.facts)
    return link(hits, facts)


DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /app
COPY . .
CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]
"""


def severities(hits: list[tuple[str, Hit]]) -> dict[tuple[str, int, str], str]:
    return {(p, h.line, h.rule): h.severity or RULES[h.rule].severity for p, h in hits}


def test_link_escalates_an_image_published_on_every_address() -> None:
    out = project(
        {
            "api/Dockerfile": ("dockerfile", DOCKERFILE),
            "docker-compose.yml": (
                "compose",
                'services:\n  api:\n    build: ./api\n    ports:\n      - "8000:8000"\n',
            ),
        }
    )
    sev = severities(out)
    assert sev[("api/Dockerfile", 4, "bind-all")] == "medium"
    hit = next(h for p, h in out if p == "api/Dockerfile")
    assert "docker-compose.yml:5" in hit.message and "service api" in hit.message
    assert sev[("docker-compose.yml", 5, "publish-all")] == "medium"


def test_link_keeps_info_when_published_on_loopback_only() -> None:
    out = project(
        {
            "api/Dockerfile": ("dockerfile", DOCKERFILE),
            "docker-compose.yml": (
                "compose",
                'services:\n  api:\n    build: {context: api}\n    ports:\n      - "127.0.0.1:8000:8000"\n',
            ),
        }
    )
    assert severities(out) == {("api/Dockerfile", 4, "bind-all"): "info"}


def test_link_keeps_info_without_compose_and_when_another_port_is_published() -> None:
    assert severities(project({"Dockerfile": ("dockerfile", DOCKERFILE)})) == {("Dockerfile", 4, "bind-all"): "info"}
    out = project(
        {
            "Dockerfile": ("dockerfile", DOCKERFILE),
            "compose.yaml": ("compose", 'services:\n  app:\n    build: .\n    ports:\n      - "9090:9090"\n'),
        }
    )
    assert severities(out)[("Dockerfile", 4, "bind-all")] == "info"


def test_link_by_dockerfile_path_and_built_image() -> None:
    out = project(
        {
            "docker/Dockerfile.prod": ("dockerfile", DOCKERFILE),
            "compose.yaml": (
                "compose",
                textwrap.dedent(
                    """\
                    services:
                      build-only:
                        build:
                          context: .
                          dockerfile: docker/Dockerfile.prod
                        image: example/api:latest
                      api:
                        image: example/api:latest
                        network_mode: host
                    """
                ),
            ),
        }
    )
    sev = severities(out)
    assert sev[("docker/Dockerfile.prod", 4, "bind-all")] == "medium"
    assert "network_mode: host" in next(h.message for p, h in out if p == "docker/Dockerfile.prod")


def test_link_code_in_the_build_context() -> None:
    """A Python hit (audit-py's Hit.data convention) and an entrypoint script under a build
    context: the wildcard bind is info until the project publishes the port."""
    py_hit = Hit(
        "bind-all",
        9,
        'Flask app.run(host="0.0.0.0")',
        'app.run(host="127.0.0.1")',
        data={"host": "0.0.0.0", "port": 5000, "server": "flask", "debug": False},
    )
    debug_hit = Hit(
        "debug-exposed",
        12,
        "Flask debugger on every interface",
        'app.run(host="127.0.0.1")',
        data={"host": "0.0.0.0", "port": 5001, "server": "flask", "debug": True},
    )
    outside = Hit("bind-all", 3, "x", "y", data={"host": "0.0.0.0", "port": 7000, "server": "flask", "debug": False})
    files = {
        "svc/Dockerfile": (
            "dockerfile",
            'FROM python:3.12\nCOPY app.py entrypoint.sh /app/\nCMD ["/app/entrypoint.sh"]\n',
        ),
        "svc/entrypoint.sh": ("shell", "#!/bin/sh\nexec gunicorn -b 0.0.0.0:8000 app:app\n"),
    }
    extra = [("svc/app.py", py_hit), ("svc/app.py", debug_hit), ("tools/other.py", outside)]
    sev = severities(project(files, extra))
    assert sev[("svc/app.py", 9, "bind-all")] == "info"
    assert sev[("svc/entrypoint.sh", 2, "bind-all")] == "info"
    assert sev[("svc/app.py", 12, "debug-exposed")] == "critical"  # may also run on the host
    assert sev[("tools/other.py", 3, "bind-all")] == "medium"  # not in any image

    files["compose.yaml"] = ("compose", "services:\n  svc:\n    build: svc\n    ports:\n      - 5000:5000\n")
    sev = severities(project(files, extra))
    assert sev[("svc/app.py", 9, "bind-all")] == "medium"  # port 5000 published
    assert sev[("svc/entrypoint.sh", 2, "bind-all")] == "info"  # 8000 is not


def test_link_proxy_bypass_compose() -> None:
    out = project(
        {
            "nginx/default.conf": ("nginx", NGINX),
            "docker-compose.yml": (
                "compose",
                textwrap.dedent(
                    """\
                    services:
                      nginx:
                        image: nginx
                        ports: ["80:80"]
                      web:
                        build: .
                        ports:
                          - "8000:8000"
                      other:
                        image: other
                        ports:
                          - "127.0.0.1:9000:9000"
                    """
                ),
            ),
        }
    )
    sev = severities(out)
    assert sev[("docker-compose.yml", 8, "proxy-bypass")] == "medium"
    assert ("docker-compose.yml", 8, "publish-all") not in sev  # replaced, one finding per line
    assert ("docker-compose.yml", 4, "publish-all") in sev  # nginx itself: published on purpose, still every address
    assert not any(k[2] == "proxy-bypass" and k[1] == 12 for k in sev)  # loopback publish is fine
    bypass = next(h for p, h in out if h.rule == "proxy-bypass")
    assert "nginx/default.conf:2" in bypass.message


def test_link_proxy_bypass_host_command() -> None:
    out = project(
        {
            "nginx/site.conf": ("nginx", "server { location / { proxy_pass http://127.0.0.1:9000; } }\n"),
            "Procfile": ("procfile", "web: gunicorn -b 0.0.0.0:9000 app:app\nother: gunicorn -b 0.0.0.0:7000 x:y\n"),
        }
    )
    rules = {(p, h.line, h.rule) for p, h in out}
    assert rules == {("Procfile", 1, "proxy-bypass"), ("Procfile", 2, "bind-all")}


def test_link_without_facts_changes_nothing() -> None:
    hit = Hit("bind-all", 1, "m", "f", data={"host": "0.0.0.0", "port": 80, "server": "flask", "debug": False})
    assert link([("app.py", hit)], []) == [("app.py", hit)]


# -- the parser against the real servers (the `test` extra installs them) ----------------------------


@pytest.mark.parametrize("value", [":8000", "0.0.0.0:8000", "[::]:8000", "[::1]:9000", "127.0.0.1:8000", "0:8000"])
def test_split_hostport_agrees_with_gunicorn(value: str) -> None:
    gunicorn_util = pytest.importorskip("gunicorn.util")
    host, port = gunicorn_util.parse_address(value)
    assert cmdline.split_hostport(value, needs_port=False) == (host, str(port))


def test_jupyter_token_options_exist_in_jupyter_server() -> None:
    identity = pytest.importorskip("jupyter_server.auth.identity")
    serverapp = pytest.importorskip("jupyter_server.serverapp")
    from bindscope.knowledge.servers import SERVERS

    opts = next(s.auth_off_opts for s in SERVERS if s.id == "jupyter" and s.auth_off_opts)
    classes = {"IdentityProvider": identity.IdentityProvider, "ServerApp": serverapp.ServerApp}
    checked = 0
    for opt in opts:
        cls = classes.get(opt.lstrip("-").split(".")[0])
        if cls is not None:
            assert "token" in cls.class_traits(), opt
            checked += 1
    assert checked == 2
    assert "empty string disables authentication" in " ".join(
        identity.IdentityProvider.class_traits()["token"].help.split()
    )


def test_uwsgi_bind_options_exist() -> None:
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from bindscope.knowledge.servers import SERVERS

    exe = shutil.which("uwsgi") or str(Path(sys.executable).with_name("uwsgi"))
    if not Path(exe).exists():
        pytest.skip("uwsgi is not installed (the test extra builds it)")
    help_text = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60).stdout
    bind = next(s.bind for s in SERVERS if s.id == "uwsgi")
    assert bind is not None
    for opt in bind.bind_opts:
        assert f"{opt} " in help_text or f"{opt}|" in help_text or f"|{opt} " in help_text, opt


def test_large_shell_script_is_read_line_by_line() -> None:
    from bindscope.audit.confscan import LARGE

    filler = "echo building; cp -r src/ /app && chmod +x /app/run\n" * (LARGE // 50 + 1)
    text = "#!/bin/sh\nexport FLASK_DEBUG=1\n" + filler + "flask run --host 0.0.0.0\n" + filler
    result = SCANNERS["shell"](FileContext("big.sh", text, "shell"))
    assert result.fallback.startswith("large file")
    line = text[: text.index("flask run")].count("\n") + 1
    assert found(result) == {(line, "debug-exposed")}


def test_large_compose_file_is_read_line_by_line() -> None:
    from bindscope.audit.confscan import LARGE

    services = "".join(
        f'  s{i}:\n    image: app\n    ports:\n      - "127.0.0.1:{i % 60000 + 1}:80"\n' for i in range(LARGE // 60)
    )
    text = "services:\n" + services + '  db:\n    image: postgres\n    ports:\n      - "5432:5432"\n'
    result = SCANNERS["compose"](FileContext("docker-compose.yml", text, "compose"))
    assert result.fallback.startswith("large file")
    assert found(result) == {(text.count("\n"), "publish-datastore")}


@pytest.mark.parametrize(
    ("command", "env"),
    [
        ("gunicorn -c gunicorn.conf.py app:app", {"PORT": "8000"}),
        ("gunicorn --config=conf/gunicorn.py app:app", {"PORT": "8000"}),
        ("gunicorn app:app", {"PORT": "8000", "GUNICORN_CMD_ARGS": "--bind 127.0.0.1:8000"}),
        ("hypercorn -c hypercorn.toml app:app", {}),
    ],
)
def test_a_config_file_decides_the_bind(command: str, env: dict[str, str]) -> None:
    inv = one(command, env)
    assert (inv.scope, inv.rule()) == ("unknown", "")


def test_config_options_exist_in_the_real_servers() -> None:
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from bindscope.knowledge.servers import SERVERS

    checked = 0
    for server in SERVERS:
        if server.bind is None or not server.bind.config_opts or not server.programs:
            continue
        exe = shutil.which(server.programs[0]) or str(Path(sys.executable).with_name(server.programs[0]))
        if not Path(exe).exists():
            continue
        args = [exe, *(server.subcommands[:1] or server.serve_words[:1]), "--help"]
        help_text = subprocess.run(args, capture_output=True, text=True, timeout=60).stdout
        for opt in server.bind.config_opts:
            assert opt in help_text, (server.id, opt)
        checked += 1
    if checked == 0:
        pytest.skip("none of gunicorn, hypercorn, mkdocs is installed (the test extra installs them)")


def test_templated_compose_with_many_ports_stops_at_the_cap():
    # a generated, templated compose file: the line-level pass lists at most MAX_HITS findings
    from bindscope.audit.confscan import MAX_HITS

    items = [f'      - "{10000 + i}:5432"' for i in range(MAX_HITS + 500)]
    text = "\n".join(["services:", "  db:", "    image: postgres:16", "    ports:", *items, "  x: {{ bad"])
    result = SCANNERS["compose"](FileContext("docker-compose.yml", text, "compose"))
    assert len(result.hits) == MAX_HITS
    assert {h.rule for h in result.hits} == {"publish-datastore"}
    assert f"stopped after {MAX_HITS} findings" in result.fallback
    assert [h.line for h in result.hits[:2]] == [5, 6]
