"""doctor for a server started from code (`python app.py`): the script's bind sinks
(audit.pyscan.binds), the sink behind the socket, the one-line edit, and the finding built from a
recorded machine whose Flask runs `python3 app.py`. The live run (a real Flask and a real uvicorn
started from scripts, the edit applied, the phone connecting) is in tests/lab/test_doctor_lab.py."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

import bindscope
from bindscope.addr import parse_target
from bindscope.analyze.doctor import Facts, diagnose
from bindscope.analyze.listing import listing
from bindscope.analyze.scriptfix import Script, code_fix, match, script_candidates
from bindscope.audit.model import FileContext
from bindscope.audit.pyscan import binds, scan
from bindscope.collect.script import read_script

SNAPS = Path(__file__).resolve().parent.parent / "snapshots"

APP = """from flask import Flask
import os

app = Flask(__name__)
HOST = os.getenv("APP_HOST", "127.0.0.1")

if __name__ == "__main__":
    app.run(port=5000)
"""


def _apply(text: str, line: int, old: str, new: str) -> str:
    lines = text.split("\n")
    assert lines[line - 1] == old
    lines[line - 1] = new
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("source", "server", "host", "port", "explicit"),
    [
        ("from flask import Flask\napp = Flask(__name__)\napp.run(port=5000)\n", "flask", "127.0.0.1", 5000, False),
        ("from flask import Flask\napp = Flask(__name__)\napp.run()\n", "flask", "127.0.0.1", 5000, False),
        ("import uvicorn\nuvicorn.run('m:app', port=8001)\n", "uvicorn", "127.0.0.1", 8001, False),
        (
            "import uvicorn\nH = 'localhost'\nuvicorn.run('m:app', host=H, port=8001)\n",
            "uvicorn",
            "localhost",
            8001,
            True,
        ),
        (
            "from http.server import HTTPServer, BaseHTTPRequestHandler as H\nHTTPServer(('127.0.0.1', 8000), H)\n",
            "http.server",
            "127.0.0.1",
            8000,
            True,
        ),
        (
            "from aiohttp import web\nweb.run_app(web.Application(), host='10.0.0.5', port=8080)\n",
            "aiohttp",
            "10.0.0.5",
            8080,
            True,
        ),
    ],
)
def test_binds_lists_loopback_default_and_specific_sinks(source, server, host, port, explicit):
    (sink,) = binds(source)
    assert (sink.server, sink.host, sink.port, sink.explicit) == (server, host, port, explicit)
    edit = sink.edit("0.0.0.0")
    assert edit is not None
    line, old, new = edit
    fixed = _apply(source, line, old, new)
    ast.parse(fixed)  # still Python
    (after,) = binds(fixed)
    assert after.host == "0.0.0.0" and after.port == sink.port and after.server == server


def test_binds_does_not_change_the_audit_results():
    # audit reports nothing on a loopback bind; binds() lists it; scan() stays silent
    assert scan(FileContext("app.py", APP, "python")).hits == []
    assert [s.line for s in binds(APP)] == [8]
    wide = APP.replace("port=5000", 'host="0.0.0.0", port=5000')
    assert [h.rule for h in scan(FileContext("app.py", wide, "python")).hits] == ["bind-all"]


def test_binds_never_raises():
    assert binds("def (:\n") == []
    assert binds("x = 1\0") == []


def test_env_default_on_another_line_is_the_line_to_change():
    text = APP.replace("app.run(port=5000)", "app.run(HOST, 5000)")
    fix = code_fix(Script(1, "app.py", "/srv/app.py", text), "127.0.0.1", 5000, "0.0.0.0")
    assert fix is not None
    assert (fix.edit.line, fix.edit.old) == (5, 'HOST = os.getenv("APP_HOST", "127.0.0.1")')
    assert fix.edit.new == 'HOST = os.getenv("APP_HOST", "0.0.0.0")'
    assert fix.fix.startswith("app.py line 5: ") and "line 8" in fix.fix and "APP_HOST=0.0.0.0" in fix.fix


def test_match_picks_the_sink_of_the_socket():
    text = (
        "from flask import Flask\napp = Flask(__name__)\nadmin = Flask('admin')\n"
        "app.run(port=5000)\nadmin.run(host='10.1.2.3', port=5001)\n"
    )
    sinks = binds(text)
    assert match(sinks, "127.0.0.1", 5000).line == 4  # type: ignore[union-attr]
    assert match(sinks, "10.1.2.3", 5001).line == 5  # type: ignore[union-attr]
    assert match(sinks, "127.0.0.1", 5001) is None  # no line binds that
    assert match(sinks, "0.0.0.0", 5000) is None


def test_script_candidates():
    assert script_candidates(["/usr/bin/python3", "-u", "app.py", "--x"]) == ("app.py",)
    assert script_candidates(["python3.11", "-X", "dev", "srv/main.py"]) == ("srv/main.py",)
    assert script_candidates(["python", "-m", "pkg.web"]) == ("pkg/web.py", "pkg/web/__main__.py")
    assert script_candidates(["python", "-c", "import app"]) == ()
    assert script_candidates(["/venv/bin/python", "/venv/bin/flask", "run"]) == ()
    assert script_candidates(["node", "app.py"]) == ()


def test_read_script_reads_the_file_relative_to_the_process_cwd(tmp_path, monkeypatch):
    import os

    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "big.py").write_text("#" * 100)
    monkeypatch.chdir(tmp_path)  # this process's /proc/self/cwd
    got = read_script(os.getpid(), ("missing.py", "app.py"))
    assert got is not None and got.text == APP and got.path == str(tmp_path / "app.py") and got.shown == "app.py"
    assert read_script(os.getpid(), ("big.py",), max_bytes=50) is None
    os.mkfifo(tmp_path / "fifo.py")
    assert read_script(os.getpid(), ("fifo.py",)) is None  # never blocks on a FIFO


def _diagnose_python_app(text: str, address: str = "127.0.0.1"):
    s = bindscope.load_snapshot(SNAPS / "laptop-wifi-docker-vpn.json")
    listeners = tuple(
        replace(li, cmdline=("/usr/bin/python3", "app.py"), process="python3", address=address)
        if li.port == 5000
        else li
        for li in s.listeners
    )
    s = replace(s, listeners=listeners)
    everything = listing(s, protos=("tcp",))
    entries = [e for e in everything.entries if e.listener.port == 5000]
    pid = entries[0].listener.pids[0]
    facts = Facts(
        target=parse_target("5000"),
        port=5000,
        entries=entries,
        others=[e for e in everything.entries if e.listener.port != 5000],
        scripts={pid: Script(pid, "app.py", "/home/dev/shop/app.py", text)},
    )
    return diagnose(s, facts)


def test_loopback_finding_names_the_script_line_and_the_server():
    d = _diagnose_python_app(APP)
    f = next(x for x in d.findings if x.id == "loopback-only")
    assert f.fix[0] == (
        "app.py line 8: `app.run(port=5000)` binds 127.0.0.1 (Flask's default); change it to "
        '`app.run(host="0.0.0.0", port=5000)`'
    )
    assert f.fix[1] == 'narrower, the LAN address only: `app.run(host="192.168.1.23", port=5000)`'
    data = d.to_dict()
    assert d.server == data["server"] == "flask"
    loop = data["findings"][0]
    assert loop["fix_command"] is None
    assert loop["fix_code"] == {
        "path": "/home/dev/shop/app.py",
        "line": 8,
        "old": "    app.run(port=5000)",
        "new": '    app.run(host="0.0.0.0", port=5000)',
    }


def test_wrong_address_gets_the_script_edit():
    text = APP.replace("app.run(port=5000)", 'app.run(host="172.17.0.1", port=5000)')
    d = _diagnose_python_app(text, address="172.17.0.1")
    f = next(x for x in d.findings if x.id == "wrong-address")
    assert f.fix[0].startswith('app.py line 8: `app.run(host="172.17.0.1", port=5000)` binds 172.17.0.1;')
    assert d.to_dict()["findings"][0]["fix_code"]["new"] == '    app.run(host="0.0.0.0", port=5000)'


def test_debug_app_from_code_gets_share_not_an_edit():
    d = _diagnose_python_app(APP.replace("app.run(port=5000)", "app.run(port=5000, debug=True)"))
    f = next(x for x in d.findings if x.id == "loopback-only")
    assert "debug server" in f.fix[0]
    assert not any('0.0.0.0"' in line and "change it" in line for line in f.fix)
    assert d.to_dict()["findings"][0]["fix_code"] is None


def test_script_without_a_matching_line_keeps_the_generic_fix():
    d = _diagnose_python_app(APP.replace("app.run(port=5000)", "app.run(port=6000)"))
    f = next(x for x in d.findings if x.id == "loopback-only")
    assert "line" not in f.fix[0]
    assert d.to_dict()["findings"][0]["fix_code"] is None


def test_call_over_several_lines_gets_the_host_on_the_keyword_line():
    text = "import uvicorn\nuvicorn.run(\n    'm:app',\n    port=8001,\n)\n"
    fix = code_fix(Script(1, "main.py", "/srv/main.py", text), "127.0.0.1", 8001, "0.0.0.0")
    assert fix is not None and fix.edit.line == 4
    assert fix.edit.new == '    host="0.0.0.0", port=8001,'
    assert "part of the call on line 2" in fix.fix
    fixed = _apply(text, fix.edit.line, fix.edit.old, fix.edit.new)
    (after,) = binds(fixed)
    assert (after.host, after.port) == ("0.0.0.0", 8001)
