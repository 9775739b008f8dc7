"""How to recognise a server from its process: programs, `python -m` modules, subcommands,
command-line markers, and the flags and environment variables that mean "debug mode".

Plain data. analyze/servers.py matches a process against it; collect/ reads only the
environment variables named in ENV_HINTS (never a process's whole environment).
"""

from __future__ import annotations

from dataclasses import dataclass

WEB = "web"
DATASTORE = "datastore"
NOTEBOOK = "notebook"


@dataclass(frozen=True)
class Server:
    id: str  # shown in the framework column and JSON `framework`
    label: str  # a person's name for it
    category: str = WEB  # web | datastore | notebook
    programs: tuple[str, ...] = ()  # executable or script basenames (also /proc/PID/comm)
    modules: tuple[str, ...] = ()  # `python -m MODULE`
    subcommands: tuple[str, ...] = ()  # one of these must follow the program (empty: any)
    markers: tuple[str, ...] = ()  # substrings of any argument (java main classes, node scripts)
    debug_flags: tuple[str, ...] = ()  # arguments that switch on an interactive debugger
    # (variable, values that mean "off"): set to anything else, non-empty, means debug
    debug_env: tuple[tuple[str, tuple[str, ...]], ...] = ()
    debug_always: bool = False  # the server is a debugger by design (runserver_plus)
    debug_note: str = ""  # what the debug warning says


# Flask's get_debug_flag(): FLASK_DEBUG set, non-empty and not one of these (any case).
_FLASK_OFF = ("0", "false", "no")

# Order matters: the first match wins, so the specific (runserver_plus, fastapi) precede
# the general (django runserver, uvicorn, python).
SERVERS: tuple[Server, ...] = (
    # -- datastores -----------------------------------------------------------------------
    Server("postgresql", "PostgreSQL", DATASTORE, programs=("postgres", "postmaster")),
    Server("mysql", "MySQL", DATASTORE, programs=("mysqld",)),
    Server("mariadb", "MariaDB", DATASTORE, programs=("mariadbd",)),
    Server("redis", "Redis", DATASTORE, programs=("redis-server", "redis-stack-server", "valkey-server")),
    Server("mongodb", "MongoDB", DATASTORE, programs=("mongod", "mongos")),
    Server("memcached", "memcached", DATASTORE, programs=("memcached",)),
    Server(
        "elasticsearch",
        "Elasticsearch",
        DATASTORE,
        markers=("org.elasticsearch.bootstrap.Elasticsearch", "org.elasticsearch.server/", "-Des.path.home"),
    ),
    Server("opensearch", "OpenSearch", DATASTORE, markers=("org.opensearch.bootstrap.OpenSearch",)),
    # -- notebooks ------------------------------------------------------------------------
    Server(
        "jupyter",
        "Jupyter",
        NOTEBOOK,
        programs=("jupyter-lab", "jupyter-notebook", "jupyter-server", "jupyter-nbclassic"),
        modules=("jupyterlab", "notebook", "jupyter_server", "nbclassic"),
    ),
    Server(
        "jupyter", "Jupyter", NOTEBOOK, programs=("jupyter",), subcommands=("lab", "notebook", "server", "nbclassic")
    ),
    Server("jupyter", "Jupyter", NOTEBOOK, modules=("jupyter",), subcommands=("lab", "notebook", "server")),
    Server("jupyter-kernel", "Jupyter kernel", NOTEBOOK, modules=("ipykernel_launcher", "ipykernel")),
    # -- web servers and frameworks ---------------------------------------------------------
    Server(
        "django runserver_plus",
        "Django runserver_plus (Werkzeug debugger)",
        programs=("manage.py", "django-admin"),
        modules=("django",),
        subcommands=("runserver_plus",),
        debug_always=True,
        debug_note="runserver_plus runs the Werkzeug debugger: anyone who reaches it can run code",
    ),
    Server(
        "django runserver",
        "Django runserver",
        programs=("manage.py", "django-admin"),
        modules=("django",),
        subcommands=("runserver",),
    ),
    Server("fastapi", "FastAPI CLI", programs=("fastapi",), modules=("fastapi",), subcommands=("dev", "run")),
    Server(
        "flask",
        "Flask (Werkzeug)",
        programs=("flask",),
        modules=("flask",),
        debug_flags=("--debug", "--debugger"),
        debug_env=(("FLASK_DEBUG", _FLASK_OFF),),
        debug_note="the Werkzeug debugger runs code typed into its error page",
    ),
    Server("uvicorn", "uvicorn", programs=("uvicorn",), modules=("uvicorn",)),
    Server("gunicorn", "gunicorn", programs=("gunicorn",), modules=("gunicorn",)),
    Server("hypercorn", "Hypercorn", programs=("hypercorn",), modules=("hypercorn",)),
    Server("daphne", "Daphne", programs=("daphne",), modules=("daphne",)),
    Server("waitress", "Waitress", programs=("waitress-serve",), modules=("waitress",)),
    Server("granian", "Granian", programs=("granian",), modules=("granian",)),
    Server("http.server", "python -m http.server", modules=("http.server",)),
    Server("streamlit", "Streamlit", programs=("streamlit",), modules=("streamlit",)),
    Server("gradio", "Gradio", programs=("gradio",), modules=("gradio",)),
    Server("mkdocs", "MkDocs", programs=("mkdocs",), modules=("mkdocs",), subcommands=("serve",)),
    Server("tensorboard", "TensorBoard", programs=("tensorboard",), modules=("tensorboard", "tensorboard.main")),
    Server("mlflow", "MLflow", programs=("mlflow",), modules=("mlflow",), subcommands=("ui", "server")),
    Server("bokeh", "Bokeh server", programs=("bokeh",), modules=("bokeh",), subcommands=("serve",)),
    Server("panel", "Panel", programs=("panel",), modules=("panel",), subcommands=("serve",)),
    Server("node", "Node.js", programs=("node", "nodejs", "vite", "next", "next-server", "nuxt", "bun", "deno")),
)

# A Werkzeug development server whose reloader is on (`app.run(debug=True)`, `flask run
# --debug`): the reloader's child process carries these variables. Matched when no program
# rule above did (`python app.py`).
WERKZEUG = Server(
    "flask",
    "Werkzeug development server",
    debug_env=(("FLASK_DEBUG", _FLASK_OFF),),
    debug_note="the Werkzeug debugger runs code typed into its error page",
)
WERKZEUG_ENV = ("WERKZEUG_SERVER_FD", "WERKZEUG_RUN_MAIN")

# Environment variables collect/ copies from a listener's owners (and nothing else).
ENV_HINTS: frozenset[str] = frozenset(
    {name for s in (*SERVERS, WERKZEUG) for name, _values in s.debug_env} | set(WERKZEUG_ENV)
)

# Interpreters whose first script or `-m` module names the real program.
PYTHON_NAMES = ("python", "pypy")
# Options of the python interpreter that take a value (`python -X dev -m flask`).
PYTHON_OPTS_WITH_VALUE = frozenset({"-X", "-W", "--check-hash-based-pycs"})
