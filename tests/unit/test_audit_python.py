"""audit/pyscan.py on real Python source texts: every rule, every propagation form, the false
positive traps, the line-level fallback, and TRIGGERS (a file it skips must not hold a finding)."""

from __future__ import annotations

import socket
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bindscope.audit import pyscan
from bindscope.audit.model import FileContext, Hit, ScanResult
from bindscope.audit.rules import RULES


def scan_raw(text: str, path: str = "app.py") -> ScanResult:
    """pyscan.scan, plus the engine's contract: a file with a finding matches TRIGGERS (the engine
    skips a file that does not, unread). Every positive case in this module checks it."""
    result = pyscan.scan(FileContext(path, text, "python"))
    if result.hits:
        assert pyscan.TRIGGERS.search(text.encode("utf-8")), f"TRIGGERS would skip {path}:\n{text}"
    return result


def run(text: str, path: str = "app.py") -> ScanResult:
    return scan_raw(textwrap.dedent(text).lstrip("\n"), path)


def found(text: str, path: str = "app.py") -> list[tuple[str, int]]:
    result = run(text, path)
    assert result.fallback == "", result.fallback
    return [(h.rule, h.line) for h in result.hits]


def only(text: str, path: str = "app.py") -> Hit:
    result = run(text, path)
    assert result.fallback == "", result.fallback
    assert len(result.hits) == 1, result.hits
    return result.hits[0]


def pos(text: str, path: str = "app.py") -> str:
    """A source text that gives a finding (named so for the reader)."""
    return text


# -- bind-all: the sinks ---------------------------------------------------------------------------

FLASK_WIDE = pos(
    """
    from flask import Flask

    app = Flask(__name__)


    @app.route("/")
    def index():
        return "hi"


    if __name__ == "__main__":
        app.run(host="0.0.0.0", port=8080)
    """
)


def test_flask_run_on_every_interface_is_bind_all_at_the_run_line() -> None:
    hit = only(FLASK_WIDE)
    assert (hit.rule, hit.line, hit.col) == ("bind-all", 12, 4)
    assert hit.data == {"host": "0.0.0.0", "port": 8080, "server": "flask", "debug": False}
    assert hit.fix == 'app.run(host="127.0.0.1", port=8080)'
    assert "8080" in hit.message and "Flask" in hit.message
    assert hit.severity is None and RULES[hit.rule].severity == "medium"


def test_flask_on_loopback_or_default_host_is_nothing() -> None:
    for call in ('app.run(host="127.0.0.1")', "app.run()", 'app.run(host="localhost")', 'app.run(host="::1")'):
        assert found(f"from flask import Flask\napp = Flask(__name__)\n{call}\n") == [], call


def test_flask_host_empty_string_is_flasks_default_not_every_interface() -> None:
    # Flask's app.run replaces a falsy host with 127.0.0.1
    assert found('from flask import Flask\napp = Flask(__name__)\napp.run(host="")\n') == []


def test_explicit_lan_ip_is_not_bind_all() -> None:
    assert found('from flask import Flask\napp = Flask(__name__)\napp.run(host="192.168.1.20")\n') == []


@pytest.mark.parametrize(
    ("source", "line", "server", "host", "port"),
    [
        ('import uvicorn\nuvicorn.run("main:app", host="0.0.0.0", port=8000)\n', 2, "uvicorn", "0.0.0.0", 8000),
        ('import uvicorn\nconfig = uvicorn.Config(app, host="::", port=9000)\n', 2, "uvicorn", "::", 9000),
        ('from uvicorn import run\nrun(app, host="0.0.0.0")\n', 2, "uvicorn", "0.0.0.0", 8000),
        ("import socket\ns = socket.socket()\ns.bind(('', 8000))\ns.listen(5)\n", 3, "socket", "", 8000),
        ('import socket\nsock = socket.socket()\nsock.bind(("0.0.0.0", 9999))\n', 3, "socket", "0.0.0.0", 9999),
        (
            "from http.server import HTTPServer, SimpleHTTPRequestHandler\n"
            "HTTPServer(('', 8000), SimpleHTTPRequestHandler).serve_forever()\n",
            2,
            "http.server",
            "",
            8000,
        ),
        (
            "import http.server\nhttp.server.ThreadingHTTPServer(('0.0.0.0', 8000), Handler)\n",
            2,
            "http.server",
            "0.0.0.0",
            8000,
        ),
        ("import socketserver\nsocketserver.TCPServer(('', 9000), Handler)\n", 2, "socketserver", "", 9000),
        (
            "from aiohttp import web\napp = web.Application()\nweb.run_app(app, host='0.0.0.0', port=8081)\n",
            3,
            "aiohttp",
            "0.0.0.0",
            8081,
        ),
        (
            "from werkzeug.serving import run_simple\nrun_simple('0.0.0.0', 4000, application)\n",
            2,
            "flask",
            "0.0.0.0",
            4000,
        ),
        ("from waitress import serve\nserve(app, host='0.0.0.0', port=8080)\n", 2, "waitress", "0.0.0.0", 8080),
        ("from waitress import serve\nserve(app, listen='*:8080')\n", 2, "waitress", "*", 8080),
        ("import waitress\nwaitress.serve(app, listen='0.0.0.0:6543')\n", 2, "waitress", "0.0.0.0", 6543),
        (  # a sink imported under another name
            "from waitress import serve as run_waitress\nrun_waitress(app, listen='0.0.0.0:6543')\n",
            2,
            "waitress",
            "0.0.0.0",
            6543,
        ),
        (
            "from http.server import ThreadingHTTPServer as S\nS(('0.0.0.0', 8000), H).serve_forever()\n",
            2,
            "http.server",
            "0.0.0.0",
            8000,
        ),
        ("from bottle import run\nrun(host='0.0.0.0', port=8080)\n", 2, "bottle", "0.0.0.0", 8080),
        (
            "from sanic import Sanic\napp = Sanic('x')\napp.run(host='0.0.0.0', port=8000)\n",
            3,
            "sanic",
            "0.0.0.0",
            8000,
        ),
        (
            "from wsgiref.simple_server import make_server\nmake_server('', 8000, app).serve_forever()\n",
            2,
            "wsgiref",
            "",
            8000,
        ),
        (
            "import tornado.web\napp = tornado.web.Application([])\napp.listen(8888, address='')\n",
            3,
            "tornado",
            "",
            8888,
        ),
        ("import zmq\nsock = ctx.socket(zmq.REP)\nsock.bind('tcp://*:5555')\n", 3, "zmq", "*", 5555),
        (
            "from hypercorn.config import Config\nconfig = Config()\nconfig.bind = ['0.0.0.0:8000']\n",
            3,
            "hypercorn",
            "0.0.0.0",
            8000,
        ),
        ("import socket\nsocket.create_server(('', 8080))\n", 2, "socket", "", 8080),
        ("import gradio as gr\ndemo = gr.Blocks()\ndemo.launch(server_name='0.0.0.0')\n", 3, "gradio", "0.0.0.0", 7860),
        (
            "import asyncio\nasync def main():\n    await asyncio.start_server(handle, '0.0.0.0', 9000)\n",
            3,
            "asyncio",
            "0.0.0.0",
            9000,
        ),
        (
            "import asyncio\nloop = asyncio.new_event_loop()\nloop.create_server(Proto, '', 9001)\n",
            3,
            "asyncio",
            "",
            9001,
        ),
    ],
)
def test_every_sink_on_every_interface(source: str, line: int, server: str, host: str, port: int) -> None:
    hit = only(source)
    assert (hit.rule, hit.line) == ("bind-all", line)
    assert (hit.data["server"], hit.data["host"], hit.data["port"]) == (server, host, port)
    assert "127.0.0.1" in hit.fix


GUNICORN_CONF = pos(
    """
    import multiprocessing

    bind = "0.0.0.0:8000"
    workers = multiprocessing.cpu_count() * 2 + 1
    """,
    "gunicorn.conf.py",
)


def test_gunicorn_config_file_bind() -> None:
    hit = only(GUNICORN_CONF, "gunicorn.conf.py")
    assert (hit.rule, hit.line) == ("bind-all", 3)
    assert hit.fix == 'bind = "127.0.0.1:8000"'
    assert hit.data["server"] == "gunicorn"


def test_gunicorn_bind_list_and_loopback_list() -> None:
    src = pos('bind = ["unix:/run/app.sock", "[::]:8000"]\n', "gunicorn_conf.py")
    assert found(src, "gunicorn_conf.py") == [("bind-all", 1)]
    assert found('bind = ["127.0.0.1:8000", "unix:/run/app.sock"]\n', "gunicorn.conf.py") == []


def test_ipv6_wildcard_message_says_ipv6() -> None:
    hit = only('import uvicorn\nuvicorn.run(app, host="::")\n')
    assert "IPv6" in hit.message


# -- bind-all: constant propagation ----------------------------------------------------------------

ENV_DEFAULT = pos(
    """
    import os
    from flask import Flask

    HOST = os.getenv("APP_HOST", "0.0.0.0")
    application = Flask(__name__)

    if __name__ == "__main__":
        application.run(host=HOST, port=int(os.environ.get("PORT", 5000)))
    """
)


def test_env_default_reaches_the_sink_and_is_named() -> None:
    hit = only(ENV_DEFAULT)
    assert (hit.rule, hit.line) == ("bind-all", 8)
    assert "APP_HOST" in hit.message and "line 4" in hit.message
    assert hit.fix == 'HOST = os.getenv("APP_HOST", "127.0.0.1")   (line 4)'
    assert hit.data["port"] == 5000


@pytest.mark.parametrize(
    "host_expr",
    [
        'os.environ.get("HOST", "0.0.0.0")',
        'os.getenv("HOST") or "0.0.0.0"',
        'os.environ.setdefault("HOST", "0.0.0.0")',
        'environ.get("HOST", "0.0.0.0")',
        'getenv("HOST", default="0.0.0.0")',
    ],
)
def test_env_lookup_forms(host_expr: str) -> None:
    src = f"import os\nfrom os import environ, getenv\nimport uvicorn\nuvicorn.run(app, host={host_expr})\n"
    hit = only(src)
    assert (hit.rule, hit.line) == ("bind-all", 4)
    assert "HOST" in hit.message


def test_env_without_default_is_unknown_and_not_reported() -> None:
    assert found('import os, uvicorn\nuvicorn.run(app, host=os.environ["HOST"])\n') == []
    assert found('import os, uvicorn\nuvicorn.run(app, host=os.getenv("HOST"))\n') == []
    assert found('import os, uvicorn\nuvicorn.run(app, host=os.getenv("HOST", "127.0.0.1"))\n') == []


def test_function_local_and_module_names() -> None:
    src = pos(
        """
        import uvicorn

        PORT = 8000


        def main():
            host = "0.0.0.0"
            uvicorn.run("app:app", host=host, port=PORT)


        def other():
            host = "127.0.0.1"
            uvicorn.run("app:app", host=host)
        """
    )
    hits = run(src).hits
    assert [(h.rule, h.line, h.data["port"]) for h in hits] == [("bind-all", 8, 8000)]


def test_last_assignment_before_the_use_wins() -> None:
    src = 'import uvicorn\nHOST = "0.0.0.0"\nHOST = "127.0.0.1"\nuvicorn.run(app, host=HOST)\n'
    assert found(src) == []
    src2 = pos('import uvicorn\nHOST = "127.0.0.1"\nHOST = "0.0.0.0"\nuvicorn.run(app, host=HOST)\n')
    assert found(src2) == [("bind-all", 4)]


@pytest.mark.parametrize(
    "bind_expr",
    [
        'f"{HOST}:{PORT}"',
        'HOST + ":" + str(PORT)',
        '"%s:%d" % (HOST, PORT)',
        '"{}:{}".format(HOST, PORT)',
    ],
)
def test_host_port_strings_built_from_constants(bind_expr: str) -> None:
    src = f'HOST = "0.0.0.0"\nPORT = 8000\nbind = {bind_expr}\nworkers = 2\n'
    hit = only(src, "gunicorn.conf.py")
    assert (hit.rule, hit.line, hit.data["host"], hit.data["port"]) == ("bind-all", 3, "0.0.0.0", 8000)
    assert hit.fix == 'HOST = "127.0.0.1"   (line 1)'


@pytest.mark.parametrize("bind_expr", ['"0:8000"', '"0:" + str(PORT)', 'f"0:{PORT}"', '"0:%d" % PORT'])
def test_zero_host_in_host_port_strings(bind_expr: str) -> None:
    # "0" is 0.0.0.0 to inet_aton/getaddrinfo: gunicorn -b 0:8000 binds every interface
    hit = only(f"PORT = 8000\nbind = {bind_expr}\n", "gunicorn.conf.py")
    assert (hit.rule, hit.line, hit.data["host"], hit.data["port"]) == ("bind-all", 2, "0", 8000)


def test_tuple_unpacking_class_attribute_and_dict() -> None:
    src = pos(
        """
        import socket

        HOST, PORT = "", 5000


        class Config:
            LISTEN = "0.0.0.0"


        SETTINGS = {"addr": ("0.0.0.0", 7000)}
        a = socket.socket()
        a.bind((HOST, PORT))
        b = socket.socket()
        b.bind((Config.LISTEN, 6000))
        c = socket.socket()
        c.bind(SETTINGS["addr"])
        """
    )
    assert found(src) == [("bind-all", 12), ("bind-all", 14), ("bind-all", 16)]


def test_settings_object_of_a_class_in_the_module() -> None:
    src = pos(
        """
        import uvicorn
        from pydantic import Field
        from pydantic_settings import BaseSettings


        class Settings(BaseSettings):
            host: str = "0.0.0.0"
            port: int = 8000
            admin_host: str = Field("0.0.0.0", description="admin UI")


        settings = Settings()
        local = Settings(host="127.0.0.1")
        uvicorn.run("app:app", host=settings.host, port=settings.port)
        uvicorn.run("app:app", host=local.host)
        uvicorn.run("admin:app", host=settings.admin_host, port=9000)
        """,
        "main.py",
    )
    hits = run(src, "main.py").hits
    assert [(h.rule, h.line, h.data["port"]) for h in hits] == [("bind-all", 14, 8000), ("bind-all", 16, 9000)]
    assert "Settings.host" in hits[0].message
    assert hits[0].fix == 'host: str = "127.0.0.1"   (line 7)'


ARGPARSE = pos(
    """
    import argparse

    import uvicorn


    def main():
        parser = argparse.ArgumentParser()
        parser.add_argument("--host", default="0.0.0.0", help="interface to bind")
        parser.add_argument("-p", "--port", type=int, default=8000)
        parser.add_argument("--reload", action="store_true")
        args = parser.parse_args()
        uvicorn.run("app:app", host=args.host, port=args.port, reload=args.reload)
    """
)


def test_argparse_default_reaches_the_sink() -> None:
    hit = only(ARGPARSE)
    assert (hit.rule, hit.line, hit.data["port"]) == ("bind-all", 12, 8000)
    assert "--host" in hit.message
    assert hit.fix == 'parser.add_argument("--host", default="127.0.0.1", help="interface to bind")   (line 8)'


def test_argparse_without_a_wide_default() -> None:
    loop = ARGPARSE.replace('default="0.0.0.0", ', 'default="127.0.0.1", ')
    assert found(loop) == []
    none = ARGPARSE.replace('default="0.0.0.0", ', "")
    assert found(none) == []  # None: uvicorn's own default (127.0.0.1)


def test_argparse_dest_and_parse_known_args() -> None:
    src = pos(
        """
        import argparse
        from flask import Flask
        app = Flask(__name__)
        p = argparse.ArgumentParser()
        p.add_argument("--listen-address", dest="addr", default="0.0.0.0")
        opts, _rest = p.parse_known_args()
        app.run(host=opts.addr)
        """
    )
    assert found(src) == [("bind-all", 7)]


CLICK = pos(
    """
    import click
    from myproject.wsgi import app


    @click.command()
    @click.option("--host", default="0.0.0.0", envvar="MYAPP_HOST", show_default=True)
    @click.option("--port", default=5000, type=int)
    @click.option("--debug/--no-debug", default=False)
    def serve_cmd(host, port, debug):
        app.run(host=host, port=port, debug=debug)
    """
)


def test_click_option_default_reaches_the_sink() -> None:
    hit = only(CLICK)
    assert (hit.rule, hit.line, hit.data["port"], hit.data["debug"]) == ("bind-all", 10, 5000, False)
    assert "MYAPP_HOST" in hit.message
    assert hit.fix.startswith('@click.option("--host", default="127.0.0.1"')


def test_typer_option_and_plain_parameter_defaults() -> None:
    src = pos(
        """
        import typer
        import uvicorn
        from typing import Annotated

        cli = typer.Typer()


        @cli.command()
        def serve(host: str = typer.Option("0.0.0.0", "--host"), port: int = 8000):
            uvicorn.run("app:app", host=host, port=port)


        @cli.command()
        def dev(host: Annotated[str, typer.Option()] = "0.0.0.0"):
            uvicorn.run("app:app", host=host)


        def required(host: str = typer.Option(..., "--host")):
            uvicorn.run("app:app", host=host)
        """
    )
    assert found(src) == [("bind-all", 10), ("bind-all", 15)]


# -- receivers and the false-positive traps --------------------------------------------------------


def test_receiver_of_any_name_built_by_flask() -> None:
    src = pos(
        """
        import flask
        server = flask.Flask("svc")
        server.run("0.0.0.0", 9000)
        """
    )
    hit = only(src)
    assert (hit.rule, hit.line, hit.data["port"]) == ("bind-all", 3, 9000)
    assert hit.fix == 'server.run("127.0.0.1", 9000)'


def test_unresolved_receiver_judged_by_the_call_shape() -> None:
    src = pos(
        """
        from myapp import create_app
        application = create_app()
        application.run(host="0.0.0.0", port=5000)
        """
    )
    assert found(src) == [("bind-all", 3)]
    # a positional first argument that is not a host: not an app server
    assert found("from myapp import job\njob.run('0.0.0.0 is a string but the call has no host=', 3)\n") == []


def test_unrelated_run_calls_are_not_servers() -> None:
    src = """
    import asyncio
    import subprocess

    import docker
    import invoke

    client = docker.from_env()
    subprocess.run(["flask", "run"], check=True)
    asyncio.run(main())
    invoke.run("serve --host 0.0.0.0")
    client.containers.run("nginx", ports={"80/tcp": ("0.0.0.0", 8080)}, detach=True)
    docker.run(host="0.0.0.0")
    """
    assert found(src) == []


def test_strings_that_only_mention_every_interface() -> None:
    src = '''
    """Serve the app.

    Example: app.run(host="0.0.0.0")  # not this
    """
    import logging
    import requests
    from flask import Flask
    from flask_cors import CORS

    WILDCARDS = {"0.0.0.0", "::", ""}
    BLOCKLIST = ["0.0.0.0/8", "::/128"]
    app = Flask(__name__)
    CORS(app, origins=["http://0.0.0.0:3000", "http://localhost:3000"])
    log = logging.getLogger(__name__)


    def check(host):
        if host == "0.0.0.0" or host in WILDCARDS:
            log.warning("listening on http://0.0.0.0:8000 exposes the app")
            print("Running on http://0.0.0.0:%d" % 8000)
        return requests.get("http://0.0.0.0:8000/health")


    app.run(host="127.0.0.1", port=8000)
    '''
    assert found(src) == []


def test_multicast_receiver_and_free_port_idiom_are_left_out() -> None:
    multicast = """
    import socket
    import struct

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("", 5353))
    mreq = struct.pack("4sl", socket.inet_aton("224.0.0.251"), socket.INADDR_ANY)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    """
    assert found(multicast) == []
    free_port = "import socket\ns = socket.socket()\ns.bind(('', 0))\nport = s.getsockname()[1]\ns.close()\n"
    assert found(free_port) == []


def test_bind_in_if_main_block_is_still_a_finding() -> None:
    src = pos('import uvicorn\nif __name__ == "__main__":\n    uvicorn.run("app:app", host="0.0.0.0")\n')
    assert found(src) == [("bind-all", 3)]


def test_multiline_call_reports_its_first_line() -> None:
    src = pos(
        """
        from waitress import serve
        from app import app

        serve(
            app,
            host="0.0.0.0",
            port=8080,
        )
        """
    )
    hit = only(src)
    assert (hit.rule, hit.line) == ("bind-all", 4)
    assert hit.fix == 'host="127.0.0.1",   (line 6)'


# -- bind-all-default -------------------------------------------------------------------------------


def test_waitress_serve_without_host_binds_every_interface_by_default() -> None:
    src = pos("from waitress import serve\nfrom app import app\nserve(app)\n")
    hit = only(src)
    assert (hit.rule, hit.line) == ("bind-all-default", 3)
    assert hit.data == {"host": "", "port": 8080, "server": "waitress", "debug": False}
    assert hit.fix == 'serve(app, host="127.0.0.1", port=8080)'
    assert found("from waitress import serve\nserve(app, host='127.0.0.1')\n") == []
    assert found("from waitress import serve\nserve(app, unix_socket='/run/app.sock')\n") == []
    assert found("from waitress import serve\nserve(app, **options)\n") == []


def test_tornado_listen_without_address() -> None:
    src = pos(
        """
        import tornado.ioloop
        import tornado.web


        def make_app():
            return tornado.web.Application([(r"/", MainHandler)])


        if __name__ == "__main__":
            app = make_app()
            app.listen(8888)
            tornado.ioloop.IOLoop.current().start()
        """
    )
    hit = only(src)
    assert (hit.rule, hit.line, hit.data["port"]) == ("bind-all-default", 11, 8888)
    assert hit.fix == 'app.listen(8888, address="127.0.0.1")'
    assert found(src.replace("app.listen(8888)", 'app.listen(8888, address="127.0.0.1")')) == []


def test_socket_listen_is_not_tornado() -> None:
    # a socket's listen(backlog), even in a module that imports tornado
    src = "import socket\nimport tornado.web\ns = socket.socket()\ns.listen(5)\nserver_sock.listen(128)\n"
    assert found(src) == []
    assert found("s.listen(5)\nconn.listen(8000)\n") == []  # no tornado import: nothing to judge


def test_django_runserver_started_from_code() -> None:
    src = pos(
        """
        from django.core.management import call_command, execute_from_command_line

        call_command("runserver", "0.0.0.0:8000")
        execute_from_command_line(["manage.py", "runserver_plus", "0:8001"])
        call_command("runserver", "8002")
        call_command("runserver", "127.0.0.1:8003")
        """,
        "manage.py",
    )
    hits = run(src, "manage.py").hits
    assert [(h.rule, h.line, h.data["server"], h.data["port"]) for h in hits] == [
        ("bind-all", 3, "django runserver", 8000),
        ("debug-exposed", 4, "django runserver_plus", 8001),
    ]
    assert hits[0].fix == 'call_command("runserver", "127.0.0.1:8000")'
    assert hits[1].severity is None  # runserver_plus is the Werkzeug debugger: critical


def test_panel_bokeh_and_gevent_servers() -> None:
    src = pos(
        """
        import panel as pn
        from bokeh.server.server import Server
        from gevent.pywsgi import WSGIServer

        pn.serve(dashboard)
        pn.serve(dashboard, address="127.0.0.1", port=5007)
        Server({"/": bkapp}, port=5006).start()
        WSGIServer(("0.0.0.0", 5000), app).serve_forever()
        """
    )
    hits = run(src).hits
    assert [(h.rule, h.line, h.data["server"], h.data["port"]) for h in hits] == [
        ("bind-all-default", 5, "panel", None),
        ("bind-all-default", 7, "bokeh", 5006),
        ("bind-all", 8, "gevent", 5000),
    ]


def test_flask_socketio_run() -> None:
    src = pos(
        """
        from flask import Flask
        from flask_socketio import SocketIO

        app = Flask(__name__)
        socketio = SocketIO(app)
        socketio.run(app, host="0.0.0.0", port=5000, debug=True)
        """
    )
    hit = only(src)
    assert (hit.rule, hit.line, hit.data["port"], hit.severity) == ("debug-exposed", 6, 5000, None)
    assert found(src.replace(", debug=True", "")) == [("bind-all", 6)]


def test_asyncio_server_without_host() -> None:
    src = pos("import asyncio\n\n\nasync def main():\n    server = await asyncio.start_server(handle, port=8888)\n")
    hit = only(src)
    assert (hit.rule, hit.line, hit.data["server"], hit.data["port"]) == ("bind-all-default", 5, "asyncio", 8888)
    # a socket or unix path handed over: nothing is bound by this call
    assert found("import asyncio\nasyncio.start_server(handle, sock=listener)\n") == []
    assert found("import asyncio\nasyncio.start_server(handle, '127.0.0.1', 8888)\n") == []


def test_aiohttp_run_app_and_twisted_defaults() -> None:
    aio = pos("from aiohttp import web\napp = web.Application()\nweb.run_app(app)\n")
    hit = only(aio)
    assert (hit.rule, hit.data["server"], hit.data["port"]) == ("bind-all-default", "aiohttp", 8080)
    tw = pos("from twisted.internet import reactor\nreactor.listenTCP(8080, site)\nreactor.run()\n")
    assert found(tw) == [("bind-all-default", 2)]
    assert found("from twisted.internet import reactor\nreactor.listenTCP(8080, site, interface='127.0.0.1')\n") == []


# -- debug-exposed ---------------------------------------------------------------------------------

DEBUG_WIDE = pos(
    """
    from flask import Flask
    app = Flask(__name__)
    app.run(host='0.0.0.0', debug=True)
    """
)


def test_debug_on_every_interface_is_debug_exposed_only() -> None:
    hit = only(DEBUG_WIDE)
    assert (hit.rule, hit.line) == ("debug-exposed", 3)
    assert hit.severity is None and RULES["debug-exposed"].severity == "critical"
    assert hit.data["debug"] is True
    assert "debugger" in hit.message
    assert hit.fix.startswith("app.run(host='127.0.0.1', debug=True)")


def test_debug_on_loopback_is_nothing() -> None:
    assert found("from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n") == []
    assert found("from flask import Flask\napp = Flask(__name__)\napp.run('127.0.0.1', 5000, True)\n") == []
    assert found("from flask import Flask\napp = Flask(__name__)\napp.debug = True\napp.run()\n") == []


def test_debug_on_an_explicit_lan_ip_is_debug_exposed() -> None:
    src = pos("from flask import Flask\napp = Flask(__name__)\napp.run(host='192.168.1.20', debug=True)\n")
    hit = only(src)
    assert (hit.rule, hit.data["host"]) == ("debug-exposed", "192.168.1.20")


@pytest.mark.parametrize(
    "switch",
    [
        "app.debug = True",
        'app.config["DEBUG"] = True',
        "app.config.update(DEBUG=True)",
        'app.config.update({"DEBUG": True, "SECRET_KEY": "x"})',
        'os.environ["FLASK_DEBUG"] = "1"',
        'os.environ.setdefault("FLASK_DEBUG", "true")',
    ],
)
def test_debug_switched_on_apart_from_the_run_call(switch: str) -> None:
    src = f'import os\nfrom flask import Flask\napp = Flask(__name__)\n{switch}\napp.run(host="0.0.0.0")\n'
    assert found(src) == [("debug-exposed", 5)]


def test_debug_off_values_stay_bind_all() -> None:
    for switch in ('os.environ["FLASK_DEBUG"] = "0"', "app.debug = False", 'app.config["DEBUG"] = False'):
        src = f'import os\nfrom flask import Flask\napp = Flask(__name__)\n{switch}\napp.run(host="0.0.0.0")\n'
        assert found(src) == [("bind-all", 5)], switch


def test_debug_through_config_from_object_and_propagation() -> None:
    src = pos(
        """
        from flask import Flask

        DEBUG = True
        HOST = "0.0.0.0"
        app = Flask(__name__)
        app.config.from_object(__name__)
        app.run(host=HOST)
        """
    )
    assert found(src) == [("debug-exposed", 7)]
    store_true = pos(
        """
        import argparse
        from flask import Flask
        app = Flask(__name__)
        p = argparse.ArgumentParser()
        p.add_argument("--debug", action="store_true")
        args = p.parse_args()
        app.run(host="0.0.0.0", debug=args.debug)
        """
    )
    assert found(store_true) == [("bind-all", 7)]


def test_werkzeug_debugger_and_receivers_of_other_names() -> None:
    src = pos(
        """
        from werkzeug.debug import DebuggedApplication
        from werkzeug.serving import run_simple
        from myapp import application, api

        run_simple("0.0.0.0", 5000, DebuggedApplication(application, evalex=True))
        run_simple("0.0.0.0", 5001, api, use_debugger=True, use_reloader=True)
        api.run(host="0.0.0.0", debug=True)
        """
    )
    assert found(src) == [("debug-exposed", 5), ("debug-exposed", 6), ("debug-exposed", 7)]


def test_traceback_only_debug_modes_are_high() -> None:
    tornado = pos(
        """
        import tornado.web
        app = tornado.web.Application([], debug=True)
        app.listen(8888)
        """
    )
    hit = only(tornado)
    assert (hit.rule, hit.severity) == ("debug-exposed", "high")
    fastapi = pos(
        """
        import uvicorn
        from fastapi import FastAPI
        app = FastAPI(debug=True)
        uvicorn.run(app, host="0.0.0.0", port=8000)
        """
    )
    hit = only(fastapi)
    assert (hit.rule, hit.line, hit.severity) == ("debug-exposed", 4, "high")


# -- Django settings --------------------------------------------------------------------------------

SETTINGS = pos(
    """
    from pathlib import Path

    BASE_DIR = Path(__file__).resolve().parent.parent
    SECRET_KEY = "django-insecure-x"
    # SECURITY WARNING: don't run with debug turned on in production!
    DEBUG = True

    ALLOWED_HOSTS = ["*"]

    INSTALLED_APPS = ["django.contrib.admin"]
    ROOT_URLCONF = "mysite.urls"
    """,
    "mysite/settings.py",
)


def test_django_settings_debug_and_allowed_hosts() -> None:
    hits = run(SETTINGS, "mysite/settings.py").hits
    assert [(h.rule, h.line, h.severity) for h in hits] == [
        ("django-debug", 6, None),
        ("django-allowed-hosts-any", 8, None),
    ]
    assert hits[0].fix == "DEBUG = False"


@pytest.mark.parametrize(
    "path",
    ["mysite/settings/production.py", "mysite/settings/base.py", "config/settings/prod.py", "settings_prod.py"],
)
def test_django_debug_outside_dev_settings(path: str) -> None:
    src = "from .base import *\n\nDEBUG = True\n"
    assert found(src, path) == [("django-debug", 3)]


@pytest.mark.parametrize(
    "path",
    [
        "mysite/settings/dev.py",
        "mysite/settings/local.py",
        "mysite/settings/development.py",
        "mysite/settings_dev.py",
        "mysite/local_settings.py",
        "mysite/test_settings.py",
        "mysite/settings/ci.py",
    ],
)
def test_django_debug_in_dev_settings_is_not_reported(path: str) -> None:
    assert found("from .base import *\n\nDEBUG = True\n", path) == []


def test_allowed_hosts_star_in_dev_settings_is_low() -> None:
    hit = only('from .base import *\nALLOWED_HOSTS = ["*"]\n', "mysite/settings/local.py")
    assert (hit.rule, hit.severity) == ("django-allowed-hosts-any", "low")


def test_debug_true_outside_django_is_not_django_debug() -> None:
    # a Flask config module: no Django markers, not a settings path
    assert found("DEBUG = True\nSECRET_KEY = 'x'\n", "myapp/config.py") == []


@pytest.mark.parametrize(
    ("expr", "reported"),
    [
        ('os.environ.get("DJANGO_DEBUG", True)', True),
        ('os.getenv("DJANGO_DEBUG", "1") == "1"', True),
        ('env.bool("DJANGO_DEBUG", default=True)', True),
        ('config("DJANGO_DEBUG", default="True", cast=bool)', True),
        ('os.environ.get("DJANGO_DEBUG", "False")', True),  # a non-empty string is truthy
        ('os.getenv("DJANGO_DEBUG", "false").lower() == "true"', False),
        ('os.environ.get("DJANGO_DEBUG", "0") == "1"', False),
        ('config("DJANGO_DEBUG", default=False, cast=bool)', False),
        ('bool(os.environ.get("DJANGO_DEBUG"))', False),
        ('"DJANGO_DEBUG" in os.environ', False),
        ('env("DJANGO_DEBUG")', False),
    ],
)
def test_django_debug_through_the_environment(expr: str, reported: bool) -> None:
    src = f"import os\nROOT_URLCONF = 'x.urls'\nDEBUG = {expr}\n"
    hits = found(src, "project/settings.py")
    assert hits == ([("django-debug", 3)] if reported else []), expr
    if reported:
        assert "DJANGO_DEBUG" in run(src, "project/settings.py").hits[0].message


def test_django_debug_only_top_level_and_last_assignment() -> None:
    src = "ROOT_URLCONF = 'x'\nDEBUG = True\nDEBUG = False\n"
    assert found(src, "settings.py") == []
    nested = "import os\nROOT_URLCONF = 'x'\nDEBUG = False\nif os.getenv('LOCAL'):\n    DEBUG = True\n"
    assert found(nested, "settings.py") == []


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ('ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "*").split(",")\n', 1),
        ('ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])\n', 1),
        ('ALLOWED_HOSTS = ["example.com"]\nALLOWED_HOSTS += ["*"]\n', 2),
        ('ALLOWED_HOSTS = ["example.com"]\nALLOWED_HOSTS.append("*")\n', 2),
        ('ALLOWED_HOSTS = ("localhost", "*")\n', 1),
    ],
)
def test_allowed_hosts_any_forms(source: str, line: int) -> None:
    src = "import os\n" + source
    assert found(src, "proj/settings.py") == [("django-allowed-hosts-any", line + 1)]


def test_allowed_hosts_without_star() -> None:
    for value in ('[".example.com", "localhost"]', "[]", 'os.environ["ALLOWED_HOSTS"].split(",")'):
        assert found(f"import os\nALLOWED_HOSTS = {value}\n", "proj/settings.py") == [], value


# -- Jupyter config ---------------------------------------------------------------------------------

JUPYTER = pos(
    """
    c = get_config()  # noqa
    c.ServerApp.ip = "0.0.0.0"
    c.ServerApp.port = 8888
    c.ServerApp.open_browser = False
    c.IdentityProvider.token = ""
    """,
    "jupyter_server_config.py",
)


def test_jupyter_wide_ip_with_empty_token() -> None:
    hit = only(JUPYTER, "jupyter_server_config.py")
    assert (hit.rule, hit.line, hit.data["port"]) == ("jupyter-open", 2, 8888)
    assert "line 5" in hit.message
    assert hit.fix.startswith('c.ServerApp.ip = "127.0.0.1"')


def test_jupyter_notebook_app_star_and_env_token() -> None:
    src = pos(
        """
        import os
        c.NotebookApp.ip = '*'
        c.NotebookApp.token = os.environ.get("NB_TOKEN", "")
        c.NotebookApp.password = ''
        """,
        "jupyter_notebook_config.py",
    )
    hit = only(src, "jupyter_notebook_config.py")
    assert (hit.rule, hit.line) == ("jupyter-open", 2)
    assert "NB_TOKEN" in hit.message


def test_jupyter_with_a_token_or_password_or_local_ip_is_nothing() -> None:
    with_token = JUPYTER.replace('c.IdentityProvider.token = ""', 'c.IdentityProvider.token = "s3cret"')
    assert found(with_token, "jupyter_server_config.py") == []
    default_token = JUPYTER.replace('c.IdentityProvider.token = ""', "")
    assert found(default_token, "jupyter_server_config.py") == []
    password = JUPYTER + 'c.PasswordIdentityProvider.hashed_password = "argon2:$argon2id$v=19$m=10240"\n'
    assert found(password, "jupyter_server_config.py") == []
    local = JUPYTER.replace('"0.0.0.0"', '"localhost"')
    assert found(local, "jupyter_server_config.py") == []


# -- fallback: files ast cannot read ---------------------------------------------------------------


def test_python2_file_falls_back_to_lines_and_still_reports() -> None:
    src = "from flask import Flask\napp = Flask(__name__)\nprint 'starting'\napp.run(host='0.0.0.0', debug=True)\n"
    result = scan_raw(src)
    assert result.fallback.startswith("SyntaxError")
    assert [(h.rule, h.line) for h in result.hits] == [("debug-exposed", 4)]


def test_jinja_templated_settings_fall_back() -> None:
    src = (
        "SECRET_KEY = '{{ secret_key }}'\n"
        "{% if debug %}\n"
        "DEBUG = True\n"
        "{% endif %}\n"
        'ALLOWED_HOSTS = ["*"]\n'
        "# DEBUG = True in a comment\n"
    )
    result = scan_raw(src, "proj/settings.py")
    assert result.fallback.startswith("SyntaxError")
    assert [(h.rule, h.line) for h in result.hits] == [("django-debug", 3), ("django-allowed-hosts-any", 5)]


def test_null_bytes_fall_back() -> None:
    src = "import socket\x00\ns = socket.socket()\ns.bind(('0.0.0.0', 8000))\n"
    result = scan_raw(src)
    assert "null bytes" in result.fallback
    assert [(h.rule, h.line) for h in result.hits] == [("bind-all", 3)]


def test_deep_nesting_falls_back_without_raising() -> None:
    deep = "x = " + "+".join(["1"] * 100_000) + "\nuvicorn.run(app, host='0.0.0.0')\n"
    result = scan_raw(deep)
    assert result.fallback.startswith("RecursionError")
    assert [(h.rule, h.line) for h in result.hits] == [("bind-all", 2)]
    unary = "x = " + "-" * 100_000 + "1\n"
    result = scan_raw(unary)
    assert result.fallback and result.hits == []


def test_jupyter_fallback_needs_both_lines() -> None:
    src = 'c.ServerApp.ip = "*"\nc.ServerApp.token = ""\n{% if extra %}\n'
    result = scan_raw(src, "jupyter_server_config.py")
    assert result.fallback and [(h.rule, h.line) for h in result.hits] == [("jupyter-open", 1)]
    assert pyscan.scan(FileContext("j.py", 'c.ServerApp.ip = "*"\n{% x %}\n', "python")).hits == []


FUZZ_SEEDS = [FLASK_WIDE, ENV_DEFAULT, ARGPARSE, CLICK, DEBUG_WIDE, SETTINGS, JUPYTER, GUNICORN_CONF]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(FUZZ_SEEDS),
    cut=st.integers(min_value=0, max_value=400),
    noise=st.text(alphabet=st.sampled_from(list("()[]{}=:'\"\\ \n\x00#%.*")), max_size=8),
    path=st.sampled_from(["app.py", "settings.py", "jupyter_server_config.py", "gunicorn.conf.py"]),
)
def test_mutated_sources_never_raise_and_keep_the_trigger_contract(seed: str, cut: int, noise: str, path: str) -> None:
    """Broken, truncated, templated versions of the positive cases: scan returns (AST or
    line-level), every hit names a known rule, and a file with a hit matches TRIGGERS
    (scan_raw checks it)."""
    text = textwrap.dedent(seed).lstrip("\n")
    cut = min(cut, len(text))
    result = scan_raw(text[:cut] + noise + text[cut:], path)
    for hit in result.hits:
        assert hit.rule in RULES and hit.line >= 1 and hit.fix


# -- TRIGGERS ---------------------------------------------------------------------------------------


def test_triggers_skip_ordinary_code() -> None:
    ordinary = [
        "import logging\nlog = logging.getLogger(__name__)\nlog.setLevel(logging.DEBUG)\nlog.debug('x')\n",
        "from django.conf import settings\nif settings.DEBUG:\n    pass\n",
        "@override_settings(DEBUG=True, ALLOWED_HOSTS=['testserver'])\ndef test(): ...\n",
        "import subprocess\nsubprocess.run(['ls'])\nreserve(3)\nobserver.notify()\n",
        "url = 'http://127.0.0.1:8000/'\nparser.add_argument('--verbose')\n",
        "elapsed = '0:00:05'\n",
    ]
    for text in ordinary:
        assert not pyscan.TRIGGERS.search(text.encode()), text


def test_wide_hosts_mean_every_interface_on_this_machine() -> None:
    # the claim behind "" and "0" being wildcards for socket binds: what the kernel reports
    for host in ("", "0", "0.0.0.0"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            assert s.getsockname()[0] == "0.0.0.0", host


def test_a_parameter_defaulting_to_none_is_the_callers_choice() -> None:
    # asyncio/streams.py: start_server(cb, host=None, port=None) passes host on to create_server
    assert (
        found(
            """
        async def start_server(cb, host=None, port=None, **kwds):
            loop = events.get_running_loop()
            return await loop.create_server(factory, host, port, **kwds)
        """
        )
        == []
    )
    # a real default still counts
    assert found(
        """
        import uvicorn

        def main(host="0.0.0.0", port=8000):
            uvicorn.run("app:app", host=host, port=port)
        """
    ) == [("bind-all", 4)]
