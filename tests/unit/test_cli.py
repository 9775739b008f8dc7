"""The command line contract: bad input = exactly one line on stderr and exit 2, never a traceback;
--version works; the light paths import none of the heavy dependencies."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from unit_helpers import LAPTOP, call_cli, cli_env, run_cli

from bindscope import __version__

HEAVY = ("rich", "psutil", "segno")


def _one_line_error(r, *, code: int = 2) -> str:
    assert r.code == code, (r.args, r.code, r.out, r.err)
    assert "Traceback" not in r.err and "Traceback" not in r.out
    assert len(r.err_lines) == 1, (r.args, r.err)
    assert r.err_lines[0].startswith("bindscope"), r.err
    assert "internal error" not in r.err
    assert r.out == ""
    return r.err_lines[0]


BAD_TARGETS = [
    "999.1.1.1",
    "localhost:abc",
    "[::1",
    "0.0.0.0:0",
    "127.0.0.1:65536",
    "",
    "1.2.3",
    "a b",
    " ",
    "[127.0.0.1]:80",
    "ftp://example.com/",
    "http://",
    "fe80::1%",
    "1.2.3.4%eth0",
    "5000",  # a port alone: explain needs an address
]


@pytest.mark.parametrize("target", BAD_TARGETS)
def test_explain_bad_input(target):
    _one_line_error(call_cli("explain", target, "--from", LAPTOP))


@pytest.mark.parametrize(
    "args",
    [
        ["urls", "abc"],
        ["urls", "0"],
        ["urls", "65536"],
        ["urls", "localhost"],  # a host without a port
        ["urls", "1" * 5000],  # more digits than int() converts
        ["port", "0"],
        ["port", "-5"],
        ["port", "http://"],
        ["free", "--near", "70000"],
        ["free", "--near", "0"],
        ["free", "--near", "x"],
        ["free", "--host", "999.1.1.1"],
        ["free", "--host", "127.0.0.1:80"],  # an address, not a host:port
        ["explain", "0.0.0.0", "--v6only", "maybe"],
        ["explain", "nosuchhost.invalid:80"],
    ],
    ids=lambda a: " ".join(a)[:40],
)
def test_bad_arguments_with_a_snapshot(args):
    _one_line_error(call_cli(*args, "--from", LAPTOP))


def test_free_host_must_be_an_address_of_this_machine():
    # 10.255.255.1 is not configured here: bind() would fail with EADDRNOTAVAIL (no traffic sent)
    r = run_cli("free", "--host", "10.255.255.1")
    line = _one_line_error(r)
    assert "10.255.255.1" in line


def test_usage_errors():
    for args in (["bogus"], ["explain", "0.0.0.0", "--bogus"], ["--bogus"], ["explain"], ["urls"], ["port", "1", "2"]):
        line = _one_line_error(call_cli(*args))
        assert "bindscope" in line


def test_usage_errors_in_a_real_process():
    _one_line_error(run_cli("nosuchcommand"))
    _one_line_error(run_cli("urls", "8000", "--nosuchoption"))


def test_from_missing_file():
    line = _one_line_error(run_cli("explain", "0.0.0.0", "--from", "/nonexistent/snap.json"))
    assert "/nonexistent/snap.json" in line


def test_from_a_directory(tmp_path: Path):
    _one_line_error(call_cli("urls", "8000", "--from", tmp_path))


def test_from_invalid_json(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"interfaces": [', encoding="utf-8")
    line = _one_line_error(run_cli("explain", "0.0.0.0", "--from", bad))
    assert "JSON" in line


def test_from_not_utf8(tmp_path: Path):
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{"source": "caf\xe9"}')
    _one_line_error(call_cli("explain", "0.0.0.0", "--from", bad))


WRONG_SHAPES = [
    {"interfaces": 5},
    {"interfaces": [5]},
    {"interfaces": "lo"},
    [],
    "snapshot",
    None,
    {"version": 2},
    {"environment": 5},
    {"environment": {"ephemeral_ports": 5}},
    {"resolver": {"localhost": 5}},
    {"resolver": {"localhost": ["not-an-ip"]}},
    {"routes": 7},
    {"routes": [{"family": "ipv4"}]},
    {"routes": [{"family": "ipv4", "destination": "bogus", "interface": "x"}]},
    {"listeners": {"a": 1}},
    {"listeners": [{"proto": "tcp"}]},
    {"listeners": [{"proto": "tcp", "address": "1.2.3.4", "port": "x", "family": "ipv4"}]},
    {"listeners": [{"proto": "tcp", "address": "1.2.3.4", "port": 99999, "family": "ipv4"}]},
    {"listeners": [{"proto": "tcp", "address": 5, "port": 8000, "family": "ipv4"}]},
    {"listeners": [{"proto": "tcp", "address": "1.2.3.4", "port": 8000, "family": "ipv4", "pids": 5}]},
    {"interfaces": [{"addresses": []}]},
    {"interfaces": [{"name": "x", "addresses": 5}]},
    {"interfaces": [{"name": "x", "addresses": [{"address": "1.2.3.4"}]}]},
    {"interfaces": [{"name": "x", "addresses": [{"address": "1.2.3.4", "prefixlen": "abc"}]}]},
    {"interfaces": [{"name": "x", "addresses": [{"address": "1.2.3.4", "prefixlen": 99}]}]},
    {"interfaces": [{"name": "x", "addresses": [{"address": 5, "prefixlen": 24}]}]},
    {"interfaces": [{"name": "x", "hw": 5}]},
    {"owners_unknown": "x"},
    # a string where a list of strings belongs: tuple("tentative") would silently become 9 one-letter flags
    {"interfaces": [{"name": "x", "addresses": [{"address": "10.0.0.2", "prefixlen": 24, "flags": "tentative"}]}]},
    {"listeners": [{"proto": "tcp", "address": "10.0.0.2", "port": 8000, "family": "ipv4", "cmdline": "flask run"}]},
    # Wrong types that from_dict lets through today and that analysis then trips over:
    {"interfaces": [{"name": 5, "addresses": [{"address": "10.0.0.2", "prefixlen": 24}]}]},
    {"environment": {"ephemeral_ports": [1]}},
    {"environment": {"ephemeral_ports": ["a", "b"]}},
    {
        "routes": [
            {"family": "ipv4", "destination": "0.0.0.0/0", "interface": "x", "metric": "low"},
            {"family": "ipv4", "destination": "0.0.0.0/0", "interface": "y", "metric": 1},
        ]
    },
]


@pytest.mark.parametrize("shape", WRONG_SHAPES, ids=lambda s: json.dumps(s)[:60])
def test_from_wrong_shapes(tmp_path: Path, shape):
    path = tmp_path / "shape.json"
    path.write_text(json.dumps(shape), encoding="utf-8")
    # A malformed snapshot is an input error for every command that reads it, whatever the
    # command goes on to look at: port 8000 (ephemeral range, holders), explain (routes, kinds).
    for args in (["explain", "0.0.0.0"], ["port", "8000"], ["urls", "8000"], ["free"]):
        line = _one_line_error(call_cli(*args, "--from", path))
        assert "snapshot" in line or "shape.json" in line, line


def test_one_malformed_shape_in_a_real_process(tmp_path: Path):
    path = tmp_path / "shape.json"
    path.write_text('{"interfaces": 5}', encoding="utf-8")
    _one_line_error(run_cli("urls", "8000", "--from", path))


# -- --version and light imports -------------------------------------------------------------------------
def test_python_m_bindscope_version():
    r = run_cli("--version")  # python -m bindscope --version
    assert r.code == 0 and r.err == ""
    assert r.out.strip() == f"bindscope {__version__}"


def test_good_input_writes_nothing_to_stderr():
    r = call_cli("explain", "0.0.0.0", "--from", LAPTOP)
    assert r.code == 0 and r.err == "" and r.out
    r = call_cli("urls", "5000", "--from", LAPTOP)  # a problem found (loopback only): exit 1, not an error
    assert r.code == 1 and r.err == "" and r.out


@pytest.mark.skipif(shutil.which("bindscope") is None, reason="console script not on PATH (package not installed)")
def test_console_script_version():
    proc = subprocess.run(
        [shutil.which("bindscope") or "bindscope", "--version"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"bindscope {__version__}"


def _heavy_modules_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY})))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=cli_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_bindscope_is_light():
    assert _heavy_modules_after("import bindscope; bindscope.__version__") == []


def test_version_is_light():
    code = (
        "import contextlib, io\n"
        "from bindscope.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['--version']) == 0"
    )
    assert _heavy_modules_after(code) == []


def test_json_output_does_not_need_rich():
    code = (
        "import contextlib, io\n"
        "from bindscope.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['explain', '0.0.0.0', '--json', '--from', {str(LAPTOP)!r}]) == 0"
    )
    assert "rich" not in {m.split(".")[0] for m in _heavy_modules_after(code)}


def test_the_light_checks_can_fail():
    # the probe sees a heavy import when there is one
    assert "rich" in _heavy_modules_after("import rich.console")


# -- the live machine, through the recorded form -------------------------------------------------------------
def test_snapshot_file_analyses_like_the_live_machine(tmp_path: Path):
    out = tmp_path / "here.json"
    r = run_cli("snapshot", "-o", out)
    assert r.code == 0 and r.err == "" and out.exists()
    recorded = call_cli("explain", "0.0.0.0:8000", "--from", out, "--json")
    live = call_cli("explain", "0.0.0.0:8000", "--json")
    assert recorded.code == live.code == 0
    assert recorded.json()["paths"] == live.json()["paths"]
    assert recorded.json()["reach"] == live.json()["reach"]


def test_snapshot_to_an_unwritable_place():
    _one_line_error(call_cli("snapshot", "-o", "/nonexistent-dir/snap.json"))


def test_ls_called_from_python_leaves_the_cycle_collector_as_it_found_it():
    import gc

    assert gc.isenabled()
    assert call_cli("ls", "--from", LAPTOP, "--json").code in (0, 1)
    assert gc.isenabled()  # ls pauses it while it runs
    gc.disable()
    try:
        call_cli("ls", "--from", LAPTOP, "--json")
        assert not gc.isenabled()
    finally:
        gc.enable()
