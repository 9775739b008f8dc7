"""Which server a process runs, from its command line as /proc/PID/cmdline gives it (NUL-separated
arguments; a rewritten process title is one string), its comm (/proc/PID/comm: the executable's or
the script's basename, at most 15 characters) and the few environment variables collect/ reads."""

from __future__ import annotations

import pytest

from bindscope.analyze.servers import detect
from bindscope.knowledge.servers import ENV_HINTS

ES_JAVA = (
    "/usr/share/elasticsearch/jdk/bin/java",
    "-Xms1g",
    "-Xmx1g",
    "-XX:+UseG1GC",
    "-Des.path.home=/usr/share/elasticsearch",
    "-Des.distribution.type=deb",
    "-cp",
    "/usr/share/elasticsearch/lib/*",
    "org.elasticsearch.bootstrap.Elasticsearch",
    "-p",
    "/var/run/elasticsearch/elasticsearch.pid",
)
ES8_JAVA = (
    "/usr/share/elasticsearch/jdk/bin/java",
    "-Xms4g",
    "--module-path",
    "/usr/share/elasticsearch/lib",
    "-m",
    "org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch",
)

# (cmdline, comm, environ, framework id or None, debug expected)
CASES = [
    # -- Flask ------------------------------------------------------------------------------------------
    (("/venv/bin/python3", "/venv/bin/flask", "run", "--debug"), "flask", {}, "flask", True),
    (("/venv/bin/python3", "/venv/bin/flask", "--app", "shop", "--debug", "run"), "flask", {}, "flask", True),
    (("/venv/bin/python3", "/venv/bin/flask", "run", "--debugger"), "flask", {}, "flask", True),
    (("python", "-m", "flask", "run"), "python", {}, "flask", False),
    (("/venv/bin/python3", "/venv/bin/flask", "run"), "flask", {"FLASK_DEBUG": "1"}, "flask", True),
    (("/venv/bin/python3", "/venv/bin/flask", "run"), "flask", {"FLASK_DEBUG": "true"}, "flask", True),
    (("/venv/bin/python3", "/venv/bin/flask", "run"), "flask", {"FLASK_DEBUG": "0"}, "flask", False),
    (("/venv/bin/python3", "/venv/bin/flask", "run", "--no-debug"), "flask", {"FLASK_DEBUG": "1"}, "flask", False),
    # app.run(debug=True): the Werkzeug reloader's child carries WERKZEUG_RUN_MAIN
    (("python", "-u", "app.py"), "python", {"WERKZEUG_RUN_MAIN": "true", "WERKZEUG_SERVER_FD": "3"}, "flask", True),
    (("python", "-u", "app.py"), "python", {}, None, False),
    (("python3", "app.py"), "python3", {"WERKZEUG_SERVER_FD": "3"}, "flask", False),
    # -- Django -----------------------------------------------------------------------------------------
    (("python3", "manage.py", "runserver", "0:8000"), "python3", {}, "django runserver", False),
    (("/usr/bin/python3", "./manage.py", "runserver"), "python3", {}, "django runserver", False),
    (("python", "-Wd", "manage.py", "runserver"), "python", {}, "django runserver", False),  # autoreloader child
    (("python3", "manage.py", "runserver_plus", "0:8000"), "python3", {}, "django runserver_plus", True),
    (("python", "-m", "django", "runserver"), "python", {}, "django runserver", False),
    (("/venv/bin/python", "/venv/bin/django-admin", "runserver"), "django-admin", {}, "django runserver", False),
    (("python3", "manage.py", "migrate"), "python3", {}, None, False),
    (("python3", "manage.py", "shell"), "python3", {}, None, False),
    # -- ASGI / WSGI servers ----------------------------------------------------------------------------
    (("/venv/bin/python", "/venv/bin/uvicorn", "main:app"), "uvicorn", {}, "uvicorn", False),
    (("python", "-m", "uvicorn", "main:app", "--reload"), "python", {}, "uvicorn", False),
    (("fastapi", "dev", "main.py"), "fastapi", {}, "fastapi", False),
    (("/venv/bin/python", "/venv/bin/fastapi", "run", "main.py"), "fastapi", {}, "fastapi", False),
    # gunicorn rewrites its process title (setproctitle): one string, comm cut to 15 characters
    (("gunicorn: master [app:app]",), "gunicorn: maste", {}, "gunicorn", False),
    (("gunicorn: worker [app:app]",), "gunicorn: worke", {}, "gunicorn", False),
    (("/srv/venv/bin/python3", "/srv/venv/bin/gunicorn", "app:app", "-w", "2"), "gunicorn", {}, "gunicorn", False),
    (
        ("/venv/bin/python", "/venv/bin/hypercorn", "main:app", "--bind", "0.0.0.0:8000"),
        "hypercorn",
        {},
        "hypercorn",
        False,
    ),
    (("/venv/bin/python", "/venv/bin/daphne", "-b", "0.0.0.0", "proj.asgi:application"), "daphne", {}, "daphne", False),
    (
        ("/venv/bin/python", "/venv/bin/waitress-serve", "--listen=*:8080", "app:app"),
        "waitress-serve",
        {},
        "waitress",
        False,
    ),
    (("/venv/bin/python", "/venv/bin/granian", "--interface", "asgi", "main:app"), "granian", {}, "granian", False),
    # -- python -m http.server --------------------------------------------------------------------------
    (("python3", "-m", "http.server", "8000"), "python3", {}, "http.server", False),
    (("python3", "-X", "dev", "-m", "http.server"), "python3", {}, "http.server", False),
    (("C:\\Python312\\python.exe", "-m", "http.server", "--bind", "::"), "python.exe", {}, "http.server", False),
    # -- interpreters with versions and other builds ----------------------------------------------------
    (("/usr/bin/python3.11", "-m", "uvicorn", "main:app"), "python3.11", {}, "uvicorn", False),
    (("/usr/local/bin/python3.12d", "-m", "flask", "run"), "python3.12d", {}, "flask", False),
    (("/opt/pypy/bin/pypy3", "-m", "gunicorn", "app:app"), "pypy3", {}, "gunicorn", False),
    (("/opt/homebrew/bin/python3", "manage.py", "runserver"), "Python", {}, "django runserver", False),
    # a script run through its shebang by an interpreter not recognised as python: comm (the
    # script's name, as the kernel sets it for #! scripts) still names the program
    (("/usr/libexec/platform-python", "/usr/bin/gunicorn", "app:app"), "gunicorn", {}, "gunicorn", False),
    # -- datastores -------------------------------------------------------------------------------------
    (("/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main"), "postgres", {}, "postgresql", False),
    (("redis-server 127.0.0.1:6379",), "redis-server", {}, "redis", False),  # Redis rewrites its title
    (("/usr/bin/redis-server *:6379",), "redis-server", {}, "redis", False),
    (("/usr/sbin/mysqld",), "mysqld", {}, "mysql", False),
    (("/usr/sbin/mariadbd",), "mariadbd", {}, "mariadb", False),
    (("/usr/bin/mongod", "--config", "/etc/mongod.conf"), "mongod", {}, "mongodb", False),
    (("/usr/bin/memcached", "-l", "127.0.0.1"), "memcached", {}, "memcached", False),
    (ES_JAVA, "java", {}, "elasticsearch", False),
    (ES8_JAVA, "java", {}, "elasticsearch", False),
    # cmdline unreadable or empty (the process is exiting, or hides it): comm is all there is
    ((), "postgres", {}, "postgresql", False),
    ((), "kworker/0:1", {}, None, False),
    ((), None, {}, None, False),
    # -- notebooks --------------------------------------------------------------------------------------
    (("/venv/bin/python", "/venv/bin/jupyter-lab"), "jupyter-lab", {}, "jupyter", False),
    (("jupyter", "lab"), "jupyter", {}, "jupyter", False),
    (("python", "-m", "jupyterlab"), "python", {}, "jupyter", False),
    (("python", "-m", "notebook"), "python", {}, "jupyter", False),
    (("jupyter", "nbconvert", "--to", "html", "report.ipynb"), "jupyter", {}, None, False),
    (("/venv/bin/python", "/venv/bin/jupyter", "nbconvert", "report.ipynb"), "jupyter", {}, None, False),
    (
        ("/venv/bin/python", "-m", "ipykernel_launcher", "-f", "/run/user/1000/jupyter/kernel-1.json"),
        "python",
        {},
        "jupyter-kernel",
        False,
    ),
    # -- other dev servers ------------------------------------------------------------------------------
    (("streamlit", "run", "app.py"), "streamlit", {}, "streamlit", False),
    (("/venv/bin/python", "/venv/bin/streamlit", "run", "app.py"), "streamlit", {}, "streamlit", False),
    (("mkdocs", "serve"), "mkdocs", {}, "mkdocs", False),
    (("mkdocs", "build"), "mkdocs", {}, None, False),
    (
        ("/venv/bin/python", "/venv/bin/tensorboard", "--logdir", "runs", "--bind_all"),
        "tensorboard",
        {},
        "tensorboard",
        False,
    ),
    (("/venv/bin/python", "/venv/bin/gradio", "app.py"), "gradio", {}, "gradio", False),
    # -- node -------------------------------------------------------------------------------------------
    (("node", "/app/node_modules/.bin/vite"), "node", {}, "node", False),
    (("next-server (v14.2.3)",), None, {}, "node", False),  # Next.js sets process.title
    (("node", "server.js"), "node", {}, "node", False),
    # -- not servers bindscope knows --------------------------------------------------------------------
    (("python3", "script.py"), "python3", {}, None, False),
    (("python3", "-m", "pip", "install", "flask"), "python3", {}, None, False),
    (("/usr/bin/redis-cli", "monitor"), "redis-cli", {}, None, False),
    (("vim", "nginx.conf"), "vim", {}, None, False),
    # -- reverse proxies (doctor's production-posture check) ----------------------------------------------
    (("nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",), "nginx", {}, "nginx", False),
    (("nginx: worker process",), "nginx", {}, "nginx", False),
    (("/usr/bin/caddy", "run", "--config", "/etc/caddy/Caddyfile"), "caddy", {}, "caddy", False),
    (("/usr/sbin/apache2", "-k", "start"), "apache2", {}, "apache", False),
    # -- more app servers ---------------------------------------------------------------------------------
    (("uwsgi", "--http", ":8000", "--wsgi-file", "app.py"), "uwsgi", {}, "uwsgi", False),
    (("/venv/bin/python", "/venv/bin/sanic", "server.app"), "sanic", {}, "sanic", False),
    (("/venv/bin/python", "/venv/bin/quart", "run"), "quart", {}, "quart", False),
    (("/venv/bin/python", "-m", "aiohttp.web", "mod:init"), "python", {}, "aiohttp", False),
    (("/venv/bin/python", "/venv/bin/fastapi", "run", "main.py"), "fastapi", {}, "fastapi", False),
    (("vim", "manage.py"), "vim", {}, None, False),
]


COMM_NEEDED: set[str] = set()  # cases above that only comm identifies (platform-python is now an interpreter)


@pytest.mark.parametrize(
    ("cmdline", "comm", "environ", "expected", "debug"),
    CASES,
    ids=[(" ".join(c[0]) or f"comm={c[1]}")[:60] + ("+env" if c[2] else "") for c in CASES],
)
def test_detect(cmdline, comm, environ, expected, debug):
    found = detect(cmdline, comm, environ)
    if expected is None:
        assert found is None, found
        return
    assert found is not None, (cmdline, comm)
    assert found.id == expected
    assert bool(found.debug) == debug, found.debug


@pytest.mark.parametrize(
    ("cmdline", "environ", "expected"),
    [(c[0], c[2], c[3]) for c in CASES if c[0] and c[3] and c[0][0] not in COMM_NEEDED],
    ids=[" ".join(c[0])[:60] for c in CASES if c[0] and c[3] and c[0][0] not in COMM_NEEDED],
)
def test_the_command_line_alone_is_enough(cmdline, environ, expected):
    # comm is only a fallback (cmdline unreadable); every server above is known from its arguments
    found = detect(cmdline, None, environ)
    assert found is not None and found.id == expected


@pytest.mark.parametrize(
    ("cmdline", "comm", "category"),
    [
        (("/usr/bin/postgres", "-D", "/var/lib/pgsql/data"), "postgres", "datastore"),
        (("redis-server 0.0.0.0:6379",), "redis-server", "datastore"),
        (ES_JAVA, "java", "datastore"),
        (("jupyter", "lab"), "jupyter", "notebook"),
        (("python", "-m", "ipykernel_launcher"), "python", "notebook"),
        (("python", "-m", "flask", "run"), "python", "web"),
        (("node", "server.js"), "node", "web"),
    ],
)
def test_category(cmdline, comm, category):
    found = detect(cmdline, comm)
    assert found is not None and found.category == category


def test_debug_says_why():
    flag = detect(("/venv/bin/python3", "/venv/bin/flask", "run", "--debug"), "flask")
    assert flag is not None and flag.debug and "--debug" in flag.debug
    env = detect(("/venv/bin/python3", "/venv/bin/flask", "run"), "flask", {"FLASK_DEBUG": "1"})
    assert env is not None and env.debug and "FLASK_DEBUG=1" in env.debug
    plus = detect(("python3", "manage.py", "runserver_plus"), "python3")
    assert plus is not None and plus.debug and "Werkzeug" in plus.debug


def test_env_hints_are_the_debug_switches_only():
    # collect/ copies these (and only these) from a process's environment
    assert {"FLASK_DEBUG", "WERKZEUG_RUN_MAIN", "WERKZEUG_SERVER_FD"} <= ENV_HINTS
    assert not ENV_HINTS & {"PATH", "HOME", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL"}


# Flask's get_debug_flag(): FLASK_DEBUG set, non-empty and not 0/false/no (any case) means debug
@pytest.mark.parametrize(
    ("value", "debug"),
    [("1", True), ("true", True), ("2", True), ("y", True), ("0", False), ("False", False), ("NO", False), ("", False)],
)
def test_flask_debug_values_as_flask_reads_them(value, debug):
    found = detect(("/venv/bin/python3", "/venv/bin/flask", "run"), "flask", {"FLASK_DEBUG": value})
    assert found is not None and found.id == "flask"
    assert bool(found.debug) == debug


# -- misses ----------------------------------------------------------------------------------------------
def test_free_threaded_python_is_an_interpreter():
    # (run through a script's shebang, comm is the script's name and rescues detection; not with -m)
    found = detect(("/usr/bin/python3.13t", "-m", "flask", "run", "--debug"), "python3.13t")
    assert found is not None and found.id == "flask" and found.debug
