"""doctor on recorded machines (tests/snapshots: macOS, Windows, WSL2, a laptop with Docker and a
VPN, a cloud VM): the checks that need a platform this machine is not. The live checks, with real
servers, are in tests/lab/test_doctor_lab.py."""

from __future__ import annotations

from pathlib import Path

import pytest

import bindscope
from bindscope.errors import BindscopeError

SNAPS = Path(__file__).resolve().parent.parent / "snapshots"


def snap(name: str):
    return bindscope.load_snapshot(SNAPS / f"{name}.json")


def ids(diag) -> list[str]:
    return [f.id for f in diag.findings]


def finding(diag, fid: str):
    return next(f for f in diag.findings if f.id == fid)


def test_macos_airplay_holds_flask_default_port():
    d = bindscope.doctor(5000, snapshot=snap("macos-laptop"))
    assert "airplay-port" in ids(d)
    assert d.exit_code == 1 and not d.lan
    assert any("5001" in line for line in finding(d, "airplay-port").fix)


def test_loopback_flask_gets_its_own_command_with_host():
    s = snap("laptop-wifi-docker-vpn")
    flask = next(li for li in s.listeners if li.port == 5000)
    d = bindscope.doctor(5000, snapshot=s)
    f = finding(d, "loopback-only")
    assert f.severity == "error" and d.exit_code == 1
    main = f.fix[0]
    assert "--host 0.0.0.0" in main
    # every argument the server was started with survives in the fix
    for arg in flask.cmdline[2:]:
        assert arg in main


def test_datastore_on_all_interfaces_is_critical_and_fix_keeps_it_local():
    d = bindscope.doctor(6379, snapshot=snap("laptop-wifi-docker-vpn"))
    f = finding(d, "dangerous-exposure")
    assert f.severity == "critical"
    assert "127.0.0.1" in f.fix[0]
    assert "CRITICAL" in d.verdict


def test_loopback_datastore_is_not_told_to_open_up():
    d = bindscope.doctor(5432, snapshot=snap("laptop-wifi-docker-vpn"))
    f = finding(d, "loopback-only")
    assert not any("0.0.0.0" in line and "restart" in line for line in f.fix)
    assert "datastore" in f.fix[0]


def test_windows_dual_stack_default_is_v6only():
    d = bindscope.doctor(8000, snapshot=snap("windows-laptop"))
    f = finding(d, "v6only")
    assert "0.0.0.0" in f.fix[0]
    assert "python -m http.server" in f.fix[0] or "0.0.0.0" in f.fix[0]


def test_wsl2_nat_wildcard_server_has_no_lan_path():
    d = bindscope.doctor(5000, snapshot=snap("wsl2-nat"))
    assert "no-lan-path" in ids(d)
    assert d.exit_code == 1


def test_nothing_listening_names_running_servers_and_default_owners():
    d = bindscope.doctor(8765, snapshot=snap("laptop-wifi-docker-vpn"))
    f = finding(d, "nothing-listening")
    assert any(":5000" in line and "default port" in line for line in f.evidence)
    d2 = bindscope.doctor(8000, snapshot=snap("macos-laptop"))
    assert "nothing-listening" not in ids(d2)


def test_recorded_snapshot_skips_the_self_probe():
    d = bindscope.doctor(8001, snapshot=snap("laptop-wifi-docker-vpn"))
    assert "self-probe-skipped" in ids(d)
    assert d.knocks == [] and d.http is None


def test_every_finding_has_docs_anchor_and_known_severity():
    s = snap("laptop-wifi-docker-vpn")
    doc = (Path(__file__).resolve().parents[2] / "docs" / "doctor.md").read_text()
    for port in {li.port for li in s.listeners} | {1}:
        for f in bindscope.doctor(port, snapshot=s).findings:
            assert f.severity in ("info", "warning", "error", "critical")
            assert f.docs == f"docs/doctor.md#{f.id}"
            assert f'id="{f.id}"' in doc, f"docs/doctor.md has no anchor for {f.id}"


@pytest.mark.parametrize("bad", ["", "foo", "70000", "*:80", "[::1", True])
def test_bad_targets(bad):
    with pytest.raises(BindscopeError):
        bindscope.doctor(bad, snapshot=snap("macos-laptop"))
