"""Everything bindscope knows about servers, as plain data: one source of truth.

For each server: how to recognise it from its process (programs, `python -m` modules,
subcommands, command-line markers), the flags and environment variables that mean "debug
mode", and (`Bind`) its default host and port, every way to set them, its startup line and
its port-in-use message. Fix recipes ("reach it from my LAN", "keep it on this machine") are
computed from `Bind` by analyze/fixes.py, as the exact command line or code change.

analyze/servers.py matches a process against SERVERS; collect/ reads only the environment
variables named in ENV_HINTS (never a process's whole environment). Every default here that
can run on this machine is checked against the real server by tests/lab/test_server_defaults_lab.py.
"""

from __future__ import annotations

from dataclasses import dataclass

WEB = "web"
DATASTORE = "datastore"
NOTEBOOK = "notebook"


# Default hosts, as the server means them.
ALL = "*"  # every interface; the family is the first getaddrinfo(None) answer or v4+v6 sockets
LOCALHOST = "localhost"  # every address the name `localhost` resolves to, or the first one


@dataclass(frozen=True)
class Bind:
    """How a server's host and port are chosen, and what it says about them."""

    host: str | None  # default host: "127.0.0.1", "0.0.0.0", ALL, LOCALHOST; None: must be given
    port: int | None  # default port; None: must be given; 0: random
    families: str = ""  # which sockets it opens for its default host, in words
    # Command line. host_opts take HOST, port_opts PORT, bind_opts HOST:PORT (or HOST).
    host_opts: tuple[str, ...] = ()
    port_opts: tuple[str, ...] = ()
    bind_opts: tuple[str, ...] = ()
    bind_needs_port: bool = True  # a bind option's value must carry the port
    positional: str = ""  # "port": a positional PORT (http.server); "addrport": [ADDR:]PORT (runserver)
    lan_flag: tuple[str, ...] = ()  # a flag that alone means "all interfaces" (tensorboard --bind_all)
    host_env: tuple[str, ...] = ()
    port_env: tuple[str, ...] = ()
    port_env_host: str | None = None  # host used when a port_env variable is set (gunicorn $PORT: 0.0.0.0)
    code: str = ""  # the call a program makes: 'app.run(host="{host}", port={port})'
    code_host: str | None = None  # default host of that call when it differs from `host` (aiohttp run_app)
    config: tuple[str, ...] = ()  # config files and keys that set host/port
    # Options that load a config file which may set the host (`gunicorn -c gunicorn.conf.py`):
    # a written command with one of them and no host option binds what the file says.
    config_opts: tuple[str, ...] = ()
    args_env: tuple[str, ...] = ()  # variables that carry more command-line arguments (GUNICORN_CMD_ARGS)
    startup: str = ""  # the line it prints once started (a substring; {host}/{port} filled in)
    in_use: str = ""  # a substring of its message when the port is taken
    banner_before_bind: bool = False  # prints its URL before it binds (not proof of a bind)
    all_host: str = "0.0.0.0"  # what to pass for "every IPv4 interface"
    local_config: str = ""  # the config line that keeps it on this machine (datastores)
    lan_note: str = ""  # what else a LAN client needs (a host allow-list, a token, a websocket origin)
    verified: str = ""  # version checked against the real server (tests/lab/test_server_defaults_lab.py)


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
    bind: Bind | None = None  # defaults and how to set host/port; None when not known
    # A written command line (audit) serves only when one of these words follows the program
    # (`flask run` serves, `flask db upgrade` does not); empty: any invocation serves.
    serve_words: tuple[str, ...] = ()
    # Options that switch authentication off when given an empty value (`--ServerApp.token=''`).
    auth_off_opts: tuple[str, ...] = ()
    app_server: bool = False  # a production app server that belongs behind a reverse proxy
    proxy: bool = False  # a reverse proxy (nginx, caddy, ...)


# Flask's get_debug_flag(): FLASK_DEBUG set, non-empty and not one of these (any case).
FLASK_OFF = ("0", "false", "no")

_JUPYTER = Bind(
    LOCALHOST,
    8888,
    "every address `localhost` resolves to (127.0.0.1 and ::1)",
    host_opts=("--ip", "--ServerApp.ip", "--NotebookApp.ip"),
    port_opts=("--port", "--ServerApp.port"),
    port_env=("JUPYTER_PORT",),
    config=("jupyter_server_config.py: c.ServerApp.ip / c.ServerApp.port",),
    startup="is running at:",
    in_use="is already in use, trying another port",
    lan_note="anyone with the token runs code as you: keep the token, and prefer `bindscope share`",
    verified="jupyter_server 2.21.1",
)

# An empty token turns Jupyter's authentication off (jupyter_server 2: IdentityProvider.token,
# ServerApp.token; notebook < 7: NotebookApp.token; JupyterLab < 3: LabApp.token).
_JUPYTER_TOKEN_OPTS = ("--IdentityProvider.token", "--ServerApp.token", "--NotebookApp.token", "--LabApp.token")

# Order matters: the first match wins, so the specific (runserver_plus, fastapi) precede
# the general (django runserver, uvicorn, python).
SERVERS: tuple[Server, ...] = (
    # -- datastores -----------------------------------------------------------------------
    Server(
        "postgresql",
        "PostgreSQL",
        DATASTORE,
        programs=("postgres", "postmaster"),
        bind=Bind(
            LOCALHOST,
            5432,
            host_opts=("-h",),
            port_opts=("-p",),
            config=("postgresql.conf: listen_addresses, port", "pg_hba.conf: who may log in"),
            local_config="listen_addresses = 'localhost'   # postgresql.conf, then restart",
        ),
    ),
    Server(
        "mysql",
        "MySQL",
        DATASTORE,
        programs=("mysqld",),
        bind=Bind(
            ALL,
            3306,
            host_opts=("--bind-address",),
            port_opts=("--port", "-P"),
            config=("my.cnf [mysqld]: bind-address, port",),
            local_config="bind-address = 127.0.0.1   # my.cnf [mysqld], then restart",
        ),
    ),
    Server(
        "mariadb",
        "MariaDB",
        DATASTORE,
        programs=("mariadbd",),
        bind=Bind(
            ALL,
            3306,
            host_opts=("--bind-address",),
            port_opts=("--port", "-P"),
            config=("my.cnf [mysqld]: bind-address, port",),
            local_config="bind-address = 127.0.0.1   # my.cnf [mysqld], then restart",
        ),
    ),
    Server(
        "redis",
        "Redis",
        DATASTORE,
        programs=("redis-server", "redis-stack-server", "valkey-server"),
        bind=Bind(
            "127.0.0.1",
            6379,
            "127.0.0.1 and ::1 (bind 127.0.0.1 -::1)",
            host_opts=("--bind",),
            port_opts=("--port",),
            config=("redis.conf: bind, port, protected-mode",),
            local_config="bind 127.0.0.1 -::1   # redis.conf, then restart",
        ),
    ),
    Server(
        "mongodb",
        "MongoDB",
        DATASTORE,
        programs=("mongod", "mongos"),
        bind=Bind(
            "127.0.0.1",
            27017,
            host_opts=("--bind_ip",),
            port_opts=("--port",),
            lan_flag=("--bind_ip_all",),
            config=("mongod.conf: net.bindIp, net.port",),
            local_config="net:\n  bindIp: 127.0.0.1   # mongod.conf, then restart",
        ),
    ),
    Server(
        "memcached",
        "memcached",
        DATASTORE,
        programs=("memcached",),
        bind=Bind(
            ALL,
            11211,
            host_opts=("-l", "--listen"),
            port_opts=("-p", "--port"),
            config=("/etc/memcached.conf: -l, -p",),
            local_config="-l 127.0.0.1   # /etc/memcached.conf, then restart",
        ),
    ),
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
        bind=_JUPYTER,
        auth_off_opts=_JUPYTER_TOKEN_OPTS,
    ),
    Server(
        "jupyter",
        "Jupyter",
        NOTEBOOK,
        programs=("jupyter",),
        subcommands=("lab", "notebook", "server", "nbclassic"),
        bind=_JUPYTER,
        auth_off_opts=_JUPYTER_TOKEN_OPTS,
    ),
    Server(
        "jupyter",
        "Jupyter",
        NOTEBOOK,
        modules=("jupyter",),
        subcommands=("lab", "notebook", "server"),
        bind=_JUPYTER,
        auth_off_opts=_JUPYTER_TOKEN_OPTS,
    ),
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
        bind=Bind(
            "127.0.0.1",
            8000,
            "IPv4",
            positional="addrport",
            startup="Running on http://{host}:{port}",
            lan_note="Django checks the Host header: add this machine's address to ALLOWED_HOSTS",
        ),
    ),
    Server(
        "django runserver",
        "Django runserver",
        programs=("manage.py", "django-admin"),
        modules=("django",),
        subcommands=("runserver",),
        bind=Bind(
            "127.0.0.1",
            8000,
            "IPv4; an IPv6 address ([::]:8000, -6) gives an IPv6 socket",
            positional="addrport",
            startup="development server at http://{host}:{port}/",
            in_use="Error: That port is already in use.",
            lan_note="Django checks the Host header: add this machine's address to ALLOWED_HOSTS",
            verified="Django 5.2.19",
        ),
    ),
    Server(
        "fastapi",
        "FastAPI CLI",
        programs=("fastapi",),
        modules=("fastapi",),
        subcommands=("dev",),
        bind=Bind(
            "127.0.0.1",
            8000,
            "as uvicorn: an IPv4 socket for 127.0.0.1",
            host_opts=("--host",),
            port_opts=("--port",),
            port_env=("PORT",),
            startup="Server started at http://{host}:{port}",
            in_use="Address already in use",
            banner_before_bind=True,
            verified="fastapi-cli 0.0.34",
        ),
    ),
    Server(
        "fastapi",
        "FastAPI CLI (fastapi run)",
        programs=("fastapi",),
        modules=("fastapi",),
        subcommands=("run",),
        app_server=True,
        bind=Bind(
            "0.0.0.0",
            8000,
            "IPv4, every interface",
            host_opts=("--host",),
            port_opts=("--port",),
            port_env=("PORT",),
            startup="Server started at http://{host}:{port}",
            in_use="address already in use",
            banner_before_bind=True,
            verified="fastapi-cli 0.0.34",
        ),
    ),
    Server(
        "flask",
        "Flask (Werkzeug)",
        programs=("flask",),
        modules=("flask",),
        debug_flags=("--debug", "--debugger"),
        debug_env=(("FLASK_DEBUG", FLASK_OFF),),
        debug_note="the Werkzeug debugger runs code typed into its error page",
        serve_words=("run",),
        bind=Bind(
            "127.0.0.1",
            5000,
            "IPv4 (an address with ':' gives an IPv6 socket)",
            host_opts=("--host", "-h"),
            port_opts=("--port", "-p"),
            host_env=("FLASK_RUN_HOST",),
            port_env=("FLASK_RUN_PORT",),
            code='app.run(host="{host}", port={port})',
            config=("SERVER_NAME (app.run defaults)",),
            startup="Running on http://{host}:{port}",
            in_use="is in use by another program",
            verified="Flask 3.1.3",
        ),
    ),
    Server(
        "uvicorn",
        "uvicorn",
        programs=("uvicorn",),
        modules=("uvicorn",),
        app_server=True,
        bind=Bind(
            "127.0.0.1",
            8000,
            "one IPv4 socket for 127.0.0.1; asyncio binds every answer of a name",
            host_opts=("--host",),
            port_opts=("--port",),
            host_env=("UVICORN_HOST",),
            port_env=("UVICORN_PORT",),
            code='uvicorn.run(app, host="{host}", port={port})',
            startup="Uvicorn running on http://{host}:{port}",
            in_use="address already in use",
            verified="uvicorn 0.54.0",
        ),
    ),
    Server(
        "gunicorn",
        "gunicorn",
        programs=("gunicorn",),
        modules=("gunicorn",),
        app_server=True,
        bind=Bind(
            "127.0.0.1",
            8000,
            "IPv4; [ADDR] gives an IPv6 socket",
            bind_opts=("-b", "--bind"),
            bind_needs_port=False,
            port_env=("PORT",),
            port_env_host="0.0.0.0",
            config=("gunicorn.conf.py: bind = ['HOST:PORT']", "GUNICORN_CMD_ARGS"),
            config_opts=("-c", "--config"),
            args_env=("GUNICORN_CMD_ARGS",),
            startup="Listening at: http://{host}:{port}",
            in_use="Connection in use",
            verified="gunicorn 27.0.1",
        ),
    ),
    Server(
        "uwsgi",
        "uWSGI",
        programs=("uwsgi",),
        app_server=True,
        bind=Bind(
            None,
            None,
            "IPv4; ':PORT' is every IPv4 interface",
            bind_opts=("--http", "--http-socket", "--socket", "-s", "--https"),
            all_host="",
            config=("uwsgi.ini: http = HOST:PORT / http-socket / socket",),
            startup="uWSGI http bound on {host}:{port}",
            in_use="Address already in use",
            verified="uWSGI 2.0.31",
        ),
    ),
    Server(
        "hypercorn",
        "Hypercorn",
        programs=("hypercorn",),
        modules=("hypercorn",),
        app_server=True,
        bind=Bind(
            "127.0.0.1",
            8000,
            "IPv4; [ADDR] gives an IPv6 socket",
            bind_opts=("-b", "--bind"),
            bind_needs_port=False,
            config=("hypercorn.toml: bind = ['HOST:PORT']",),
            config_opts=("-c", "--config"),
            startup="Running on http://{host}:{port}",
            in_use="Address already in use",
            verified="Hypercorn 0.18.0",
        ),
    ),
    Server(
        "daphne",
        "Daphne",
        programs=("daphne",),
        modules=("daphne",),
        app_server=True,
        bind=Bind(
            "127.0.0.1",
            8000,
            "IPv4",
            host_opts=("--bind", "-b"),
            port_opts=("--port", "-p"),
            startup="Listening on TCP address {host}:{port}",
            in_use="Address already in use",
            verified="daphne 4.2.3",
        ),
    ),
    Server(
        "waitress",
        "Waitress",
        programs=("waitress-serve",),
        modules=("waitress",),
        app_server=True,
        bind=Bind(
            "0.0.0.0",
            8080,
            "IPv4 only by default",
            host_opts=("--host",),
            port_opts=("--port",),
            bind_opts=("--listen",),
            code='serve(app, host="{host}", port={port})',
            startup="Serving on http://{host}:{port}",
            in_use="Address already in use",
            verified="waitress 3.0.2",
        ),
    ),
    Server(
        "granian",
        "Granian",
        programs=("granian",),
        modules=("granian",),
        app_server=True,
        bind=Bind(
            "127.0.0.1",
            8000,
            "family of the IP literal; SO_REUSEPORT set",
            host_opts=("--host",),
            port_opts=("--port",),
            host_env=("GRANIAN_HOST",),
            port_env=("GRANIAN_PORT",),
            startup="Listening at: http://{host}:{port}",
            in_use="Address already in use",
        ),
    ),
    Server(
        "sanic",
        "Sanic",
        programs=("sanic",),
        modules=("sanic",),
        app_server=True,
        bind=Bind(
            "127.0.0.1",
            8000,
            "family of the IP literal",
            host_opts=("--host", "-H"),
            port_opts=("--port", "-p"),
            code='app.run(host="{host}", port={port})',
            startup="Goin' Fast @ http://{host}:{port}",
            in_use="Address already in use",
        ),
    ),
    Server(
        "quart",
        "Quart",
        programs=("quart",),
        modules=("quart",),
        subcommands=("run",),
        bind=Bind(
            "127.0.0.1",
            5000,
            "as Hypercorn",
            host_opts=("--host", "-h"),
            port_opts=("--port", "-p"),
            host_env=("QUART_RUN_HOST",),
            port_env=("QUART_RUN_PORT",),
            code='app.run(host="{host}", port={port})',
            startup="Running on http://{host}:{port}",
            banner_before_bind=True,
        ),
    ),
    Server(
        "aiohttp",
        "aiohttp",
        modules=("aiohttp.web",),
        bind=Bind(
            LOCALHOST,
            8080,
            "python -m aiohttp.web: localhost; web.run_app(): every interface (v4+v6 sockets)",
            host_opts=("--hostname", "-H"),
            port_opts=("--port", "-P"),
            code='web.run_app(app, host="{host}", port={port})',
            code_host=ALL,
            startup="Running on http://{host}:{port}",
            in_use="address already in use",
            verified="aiohttp 3.14.5",
        ),
    ),
    Server(
        "bottle",
        "Bottle",
        programs=("bottle", "bottle.py"),
        modules=("bottle",),
        bind=Bind(
            "127.0.0.1",
            8080,
            "bottle CLI: 127.0.0.1 (its default `localhost` as one IPv4 socket, wsgiref); run(): 127.0.0.1",
            bind_opts=("-b", "--bind"),
            bind_needs_port=False,
            code='run(app, host="{host}", port={port})',
            startup="Listening on http://{host}:{port}/",
            in_use="Address already in use",
            banner_before_bind=True,
            verified="bottle 0.13.4",
        ),
    ),
    Server(
        "http.server",
        "python -m http.server",
        modules=("http.server",),
        bind=Bind(
            ALL,
            8000,
            "the first getaddrinfo(None) answer: 0.0.0.0 on Linux, a dual-stack :: where IPv6 comes first",
            host_opts=("--bind", "-b"),
            positional="port",
            code='http.server.test(HandlerClass, port={port}, bind="{host}")',
            startup="Serving HTTP on {host} port {port}",
            in_use="Address already in use",
            verified="CPython 3.11.7",
        ),
    ),
    Server(
        "streamlit",
        "Streamlit",
        programs=("streamlit",),
        modules=("streamlit",),
        serve_words=("run", "hello"),
        bind=Bind(
            ALL,
            8501,
            "every interface",
            host_opts=("--server.address",),
            port_opts=("--server.port",),
            host_env=("STREAMLIT_SERVER_ADDRESS",),
            port_env=("STREAMLIT_SERVER_PORT",),
            config=(".streamlit/config.toml: [server] address, port",),
            startup="Local URL: http://localhost:{port}",
            in_use="is not available",
        ),
    ),
    Server(
        "gradio",
        "Gradio",
        programs=("gradio",),
        modules=("gradio",),
        bind=Bind(
            "127.0.0.1",
            7860,
            "IPv4",
            host_env=("GRADIO_SERVER_NAME",),
            port_env=("GRADIO_SERVER_PORT",),
            code='demo.launch(server_name="{host}", server_port={port})',
            startup="Running on local URL:  http://{host}:{port}",
            in_use="Cannot find empty port",
        ),
    ),
    Server(
        "mkdocs",
        "MkDocs",
        programs=("mkdocs",),
        modules=("mkdocs",),
        subcommands=("serve",),
        bind=Bind(
            "127.0.0.1",
            8000,
            "IPv4 (an IPv6 literal gives an IPv6 socket)",
            bind_opts=("-a", "--dev-addr"),
            config=("mkdocs.yml: dev_addr",),
            config_opts=("-f", "--config-file"),
            startup="Serving on http://{host}:{port}/",
            in_use="Address already in use",
            verified="mkdocs 1.6.1",
        ),
    ),
    Server(
        "tensorboard",
        "TensorBoard",
        programs=("tensorboard",),
        modules=("tensorboard", "tensorboard.main"),
        bind=Bind(
            LOCALHOST,
            6006,
            "IPv4 localhost; --bind_all gives a dual-stack ::",
            host_opts=("--host",),
            port_opts=("--port",),
            lan_flag=("--bind_all",),
            startup="at http://localhost:{port}/",
            in_use="could not bind to port",
        ),
    ),
    Server(
        "mlflow",
        "MLflow",
        programs=("mlflow",),
        modules=("mlflow",),
        subcommands=("ui", "server"),
        bind=Bind(
            "127.0.0.1",
            5000,
            "uvicorn",
            host_opts=("--host", "-h"),
            port_opts=("--port", "-p"),
            host_env=("MLFLOW_HOST",),
            port_env=("MLFLOW_PORT",),
            in_use="Address already in use",
            lan_note="MLflow 3 also checks the Host header: pass --allowed-hosts with this machine's address",
        ),
    ),
    Server(
        "bokeh",
        "Bokeh server",
        programs=("bokeh",),
        modules=("bokeh",),
        subcommands=("serve",),
        bind=Bind(
            ALL,
            5006,
            "every interface (v4+v6 sockets)",
            host_opts=("--address",),
            port_opts=("--port",),
            port_env=("BOKEH_DEFAULT_SERVER_PORT",),
            startup="Bokeh app running at: http://localhost:{port}/",
            in_use="is already in use",
            lan_note="Bokeh checks the websocket origin: add --allow-websocket-origin=ADDRESS:PORT",
        ),
    ),
    Server(
        "panel",
        "Panel",
        programs=("panel",),
        modules=("panel",),
        subcommands=("serve",),
        bind=Bind(
            ALL,
            5006,
            "every interface (v4+v6 sockets)",
            host_opts=("--address",),
            port_opts=("--port",),
            startup="Bokeh app running at: http://localhost:{port}/",
            in_use="is already in use",
            lan_note="Panel checks the websocket origin: add --allow-websocket-origin=ADDRESS:PORT",
        ),
    ),
    # -- started from code only (`python app.py`): not recognisable from a command line ----
    Server(
        "tornado",
        "Tornado",
        bind=Bind(
            ALL,
            None,
            "every interface (v4+v6 sockets)",
            code='app.listen({port}, address="{host}")',
            in_use="Address already in use",
            verified="tornado 6.6.1",
        ),
    ),
    Server(
        "dash",
        "Dash",
        bind=Bind(
            "127.0.0.1",
            8050,
            "as Werkzeug",
            host_env=("HOST",),
            port_env=("PORT",),
            code='app.run(host="{host}", port={port})',
            startup="Dash is running on http://{host}:{port}/",
            in_use="is in use by another program",
            banner_before_bind=True,
        ),
    ),
    # -- reverse proxies ---------------------------------------------------------------------
    Server("nginx", "nginx", programs=("nginx",), proxy=True),
    Server("caddy", "Caddy", programs=("caddy",), proxy=True),
    Server("apache", "Apache httpd", programs=("apache2", "httpd"), proxy=True),
    Server("traefik", "Traefik", programs=("traefik",), proxy=True),
    Server("haproxy", "HAProxy", programs=("haproxy",), proxy=True),
    Server(
        "node",
        "Vite (Node.js)",
        programs=("vite",),
        markers=("node_modules/.bin/vite", "/vite/bin/vite.js"),
        bind=Bind(
            LOCALHOST,
            5173,
            "localhost: ::1 first on Node 17+ where the resolver says so",
            host_opts=("--host",),
            port_opts=("--port",),
            config=("vite.config.js: server.host, server.port",),
            startup="Local:   http://localhost:{port}/",
            lan_note="started through npm? `npm run dev -- --host 0.0.0.0` (npm drops options before `--`); "
            "Vite also checks the Host header (server.allowedHosts)",
        ),
    ),
    Server("node", "Node.js", programs=("node", "nodejs", "vite", "next", "next-server", "nuxt", "bun", "deno")),
)

# A Werkzeug development server whose reloader is on (`app.run(debug=True)`, `flask run
# --debug`): the reloader's child process carries these variables. Matched when no program
# rule above did (`python app.py`).
WERKZEUG = Server(
    "flask",
    "Werkzeug development server",
    debug_env=(("FLASK_DEBUG", FLASK_OFF),),
    debug_note="the Werkzeug debugger runs code typed into its error page",
    bind=Bind(
        "127.0.0.1",
        5000,
        "IPv4 (app.run's defaults)",
        code='app.run(host="{host}", port={port})',
        startup="Running on http://{host}:{port}",
        in_use="is in use by another program",
    ),
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
