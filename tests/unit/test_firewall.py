"""Firewall analysis on recorded output: parsers (nft JSON, iptables-save, ufw, firewalld, macOS, Windows),
the evaluator's verdicts, the listing seam, fixes and environment findings. The Linux fixtures were recorded
from the real tools in a network namespace (nft 1.0.6, iptables 1.8.9 with ufw 0.36.2's own init script);
the macOS and Windows ones follow the documented output formats of those commands. tests/lab checks the
verdicts against real connections and nmap."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from pathlib import Path

import pytest

import bindscope
from bindscope.analyze import firewall as fwa
from bindscope.analyze import fwrules, winfw
from bindscope.analyze.listing import listing
from bindscope.api import load_snapshot
from bindscope.model import (
    Environment,
    FirewallSource,
    FirewallState,
    IfAddr,
    Interface,
    Listener,
    Reach,
    Route,
    Snapshot,
)

FIX = Path(__file__).parent / "fixtures" / "firewall"
SNAPS = Path(__file__).parents[1] / "snapshots"


def text(name: str) -> str:
    return (FIX / name).read_text(encoding="utf-8")


def state(*pairs: tuple[str, str]) -> FirewallState:
    return FirewallState(tuple(FirewallSource(n, f"fixture {f}", text(f)) for n, f in pairs))


def machine(fw: FirewallState | None, listeners: tuple[Listener, ...], platform: str = "linux") -> Snapshot:
    """A laptop on 198.51.100.1/24 + fd42:b1d:0:1::1/64 (eth0, default route) and a public 192.0.2.10/24 on wan0."""
    eth = Interface(
        "eth0",
        2,
        addresses=(IfAddr("198.51.100.1", 24), IfAddr("fd42:b1d:0:1::1", 64)),
        hw={"type": 1, "physical": True},
    )
    lo = Interface("lo", 1, addresses=(IfAddr("127.0.0.1", 8), IfAddr("::1", 128)), hw={"type": 772})
    routes = (Route("ipv4", "0.0.0.0/0", "eth0", "198.51.100.254"), Route("ipv6", "::/0", "eth0", "fd42:b1d:0:1::fe"))
    return Snapshot(
        Environment(platform=platform, bindv6only=0), (lo, eth), routes, listeners, firewall=fw, source="unit"
    )


def dual(port: int, **kw) -> Listener:
    return Listener("tcp", "::", port, "ipv6", False, **kw)


def paths_of(result, port: int) -> dict[str, object]:
    [entry] = [e for e in result.entries if e.listener.port == port]
    return {p.address: p for p in entry.paths}


# -- nftables ---------------------------------------------------------------------------------------
NFT = state(("nft", "nft-ruleset.json"))


def _ls(fw: FirewallState, *ports: int):
    snap = machine(fw, tuple(dual(p) for p in ports))
    return listing(snap, blockers=[fwa.blocker(fw)])


def test_nft_reject_with_tcp_reset_is_blocked_and_named_as_the_issue_writes_it():
    p = paths_of(_ls(NFT, 6000), 6000)["198.51.100.1"]
    assert p.reachable is False
    assert p.blocked_by == "nft rule `inet filter input: tcp dport 6000 reject with tcp reset` (handle 10)"
    assert p.why == "blocked by " + p.blocked_by
    assert {s["client_sees"] for s in p.firewall} == {"refused"}


def test_nft_rule_not_understood_gives_unknown_never_open():
    result = _ls(NFT, 9000)
    p = paths_of(result, 9000)["198.51.100.1"]
    assert p.reachable is None and p.blocked_by is None
    assert p.why == "not checked: rule not understood (`inet filter input: meta skuid 1000 accept`)"
    [entry] = result.entries
    assert entry.reach.label == "this-machine" and entry.maybe_reach is not None
    assert entry.to_dict()["maybe_reach"] == "lan"


def test_nft_named_set_allows_the_lan_subnet_even_though_a_later_rule_is_unknown():
    p = paths_of(_ls(NFT, 5000), 5000)
    lan4 = p["198.51.100.1"]
    assert lan4.reachable is True  # ip saddr @allowed tcp dport 5000 accept: the LAN subnet is in the set
    assert lan4.firewall[0] == {
        "from": "198.51.100.0/24",
        "verdict": "open",
        "by": None,
        "client_sees": "connected",
        "open_from": [],
        "blocked_from": [],
    }
    assert lan4.firewall[1]["verdict"] == "unknown"  # elsewhere: falls through to meta skuid


def test_nft_jump_return_splits_the_sources():
    # tcp dport 7000 jump mychain: 203.0.113.0/24 returns (then the unknown skuid rule), others accepted
    p = paths_of(_ls(NFT, 7000), 7000)
    assert p["198.51.100.1"].reachable is True
    assert p["198.51.100.1"].firewall[1]["verdict"] == "unknown"
    assert p["fd42:b1d:0:1::1"].firewall[1]["verdict"] == "open"  # an IPv4-only return rule


def test_nft_iifname_wildcard_and_port_range():
    rs = fwa.Firewall(NFT).rs
    pkt = fwrules.Packet(4, "tcp", 8005, "bsl7", ipaddress.ip_address("198.51.100.1"), True, ())
    ev = fwrules.Evaluator(rs, lambda *a: "x")
    every = fwrules.everything(4)
    [b] = ev.run(pkt, every)
    assert b.outcome.kind == "accept" and not b.doubts
    # on another interface it falls through to `meta skuid 1000 accept`: followed both ways, they differ
    pkt = dataclasses.replace(pkt, iif="eth0")
    verdict = fwrules.summarise(ev.run(pkt, every), every, 4, "any")
    assert verdict.verdict == "unknown" and "meta skuid 1000" in (verdict.by or "")


def test_nft_malformed_json_is_a_note_not_a_crash():
    rs = fwrules.Ruleset()
    fwrules.parse_nft("{not json", rs)
    assert rs.empty and "not JSON" in rs.notes[0]


# -- iptables + ufw (recorded from the real ufw-init) -----------------------------------------------
UFW = state(("iptables-nft", "iptables-nft-save-ufw.txt"), ("ufw-status", "ufw-status-verbose.txt"))


def test_ufw_default_deny_is_named_as_ufw():
    p = paths_of(_ls(UFW, 8080), 8080)["198.51.100.1"]
    assert p.reachable is False and p.blocked_by == "ufw (default deny incoming)"
    assert p.firewall[0]["client_sees"] == "timeout"


def test_ufw_allow_from_the_lan_only_opens_the_lan_path_and_narrows_a_public_address():
    snap = machine(UFW, (dual(5000),))
    wan = Interface("wan0", 3, addresses=(IfAddr("192.0.2.10", 24),), hw={"type": 1, "physical": True})
    # 198.51.100.0/24 is allowed; wan0's public address only from its own subnet: not the internet
    snap = dataclasses.replace(snap, interfaces=(*snap.interfaces, wan))
    result = listing(snap, blockers=[fwa.blocker(UFW)])
    p = paths_of(result, 5000)
    assert p["198.51.100.1"].reachable is True
    assert p["192.0.2.10"].reachable is False and p["192.0.2.10"].blocked_by == "ufw (default deny incoming)"


def test_ufw_user_deny_rule_is_quoted():
    p = paths_of(_ls(UFW, 6000), 6000)["198.51.100.1"]
    assert p.blocked_by == "ufw rule `-A ufw-user-input -p tcp -m tcp --dport 6000 -j DROP`"


def test_ufw_status_parser():
    st = fwa.parse_ufw_status(text("ufw-status-verbose.txt"))
    assert st["active"] is True
    assert st["default"] == {"incoming": "deny", "outgoing": "allow", "routed": "disabled"}
    assert st["rules"][0] == {"to": "5000/tcp", "action": "ALLOW IN", "from": "198.51.100.0/24"}


def test_iptables_rule_not_understood_is_quoted_but_a_log_rule_is_ignored():
    ipt = """*filter
:INPUT DROP [0:0]
-A INPUT -m limit --limit 3/min -j LOG --log-prefix "x "
-A INPUT -p tcp -m tcp --dport 7000 -m owner --uid-owner 0 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 7001 -j ACCEPT
COMMIT
"""
    fw = FirewallState((FirewallSource("iptables-legacy", "iptables-legacy-save", ipt),))
    result = _ls(fw, 7000, 7001)
    assert paths_of(result, 7001)["198.51.100.1"].reachable is True
    p = paths_of(result, 7000)["198.51.100.1"]
    assert p.reachable is None and "-m owner --uid-owner 0" in (p.why or "")


def test_iptables_nft_tables_are_not_read_twice_from_the_nft_json():
    data = {
        "nftables": [
            {"table": {"family": "ip", "name": "filter", "handle": 1}},
            {"chain": {"family": "ip", "table": "filter", "name": "INPUT", "handle": 1, "type": "filter",
                       "hook": "input", "prio": 0, "policy": "drop"}},
            {"rule": {"family": "ip", "table": "filter", "chain": "INPUT", "handle": 4,
                      "expr": [{"xt": {"type": "match", "name": "conntrack"}}, {"accept": None}]}},
        ]
    }  # fmt: skip
    ipt = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 7001 -j ACCEPT\nCOMMIT\n"
    fw = FirewallState(
        (FirewallSource("nft", "nft -j list ruleset", json.dumps(data)), FirewallSource("iptables-nft", "x", ipt))
    )
    assert paths_of(_ls(fw, 7001), 7001)["198.51.100.1"].reachable is True
    alone = FirewallState((FirewallSource("nft", "nft -j list ruleset", json.dumps(data)),))
    assert paths_of(_ls(alone, 7001), 7001)["198.51.100.1"].reachable is None  # xt: not understood


# -- firewalld --------------------------------------------------------------------------------------
def test_firewalld_zone_files_and_default_zone():
    st = FirewallState(
        (
            FirewallSource("firewalld-zone", "/usr/lib/firewalld/zones/public.xml", text("firewalld-zone-public.xml")),
            FirewallSource("firewalld-conf", "/etc/firewalld/firewalld.conf", "# x\nDefaultZone=public\n"),
        )
    )
    zones = fwa.parse_firewalld_zones((s.command, s.text) for s in st.all("firewalld-zone"))
    assert zones["public"]["services"] == ["ssh", "dhcpv6-client"]
    assert fwa.firewalld_default_zone(st) == "public"


# -- macOS and Windows ------------------------------------------------------------------------------
def test_macos_parsers():
    assert fwa.parse_socketfilterfw_state(text("macos-socketfilterfw-getglobalstate.txt")) is True
    assert fwa.parse_socketfilterfw_state(text("macos-socketfilterfw-getglobalstate-off.txt")) is False
    assert fwa.parse_socketfilterfw_blockall(text("macos-socketfilterfw-getblockall.txt")) is False
    assert fwa.parse_socketfilterfw_blockall(text("macos-socketfilterfw-getblockall-on.txt")) is True
    apps = fwa.parse_socketfilterfw_apps(text("macos-socketfilterfw-listapps.txt"))
    assert apps["/Applications/Docker.app"] is True and apps["/usr/local/bin/node"] is False
    assert len(apps) == 3
    assert fwa.parse_pf_rules(text("macos-pfctl-sr.txt")) == []
    assert fwa.parse_pf_rules(text("macos-pfctl-sr-block.txt")) == [
        "block drop in quick proto tcp from any to any port = 5000"
    ]


def _mac(*pairs: tuple[str, str], cmd: str) -> object:
    fw = state(*pairs)
    snap = machine(fw, (Listener("tcp", "0.0.0.0", 3000, "ipv4", cmdline=(cmd, "server.js")),), "darwin")
    return paths_of(listing(snap, blockers=[fwa.blocker(fw, "darwin")]), 3000)["198.51.100.1"]


def test_macos_application_firewall_verdicts():
    on = ("socketfilterfw-state", "macos-socketfilterfw-getglobalstate.txt")
    apps = ("socketfilterfw-apps", "macos-socketfilterfw-listapps.txt")
    blocked = _mac(on, apps, cmd="/usr/local/bin/node")
    assert blocked.reachable is False and "incoming blocked for /usr/local/bin/node" in blocked.blocked_by
    unlisted = _mac(on, apps, cmd="/usr/bin/ruby")
    assert unlisted.reachable is None and "not in its list" in unlisted.why
    off = _mac(("socketfilterfw-state", "macos-socketfilterfw-getglobalstate-off.txt"), cmd="/usr/local/bin/node")
    assert off.reachable is True
    pf = _mac(("pfctl", "macos-pfctl-sr-block.txt"), cmd="/usr/local/bin/node")
    assert pf.reachable is None and "pf rules are not evaluated" in pf.why


def test_windows_parsers():
    profiles = fwa.parse_netsh_profiles(text("windows-netsh-advfirewall-show-allprofiles.txt"))
    assert profiles["private"] == {
        "state": "ON",
        "inbound": "BlockInbound",
        "outbound": "AllowOutbound",
        "notify": "Enable",
    }
    assert profiles["public"]["inbound"] == "BlockInboundAlways"
    conns = fwa.parse_net_connection_profile(text("windows-get-netconnectionprofile.txt"))
    assert [(c["InterfaceAlias"], c["NetworkCategory"]) for c in conns] == [
        ("Wi-Fi", "Private"),
        ("vEthernet (WSL)", "Public"),
    ]


def test_windows_recorded_laptop_profiles_per_adapter():
    fw = state(
        ("netsh", "windows-netsh-advfirewall-show-allprofiles.txt"),
        ("netprofile", "windows-get-netconnectionprofile.txt"),
    )
    snap = dataclasses.replace(load_snapshot(SNAPS / "windows-laptop.json"), firewall=fw)
    snap = dataclasses.replace(snap, listeners=(Listener("tcp", "0.0.0.0", 8000, "ipv4"),))
    result = listing(snap, blockers=[fwa.blocker(fw, "windows")])
    [entry] = result.entries
    by_iface = {p.interface: p for p in entry.paths if p.kind != "loopback" and p.family == "ipv4"}
    assert by_iface["Wi-Fi"].reachable is None  # Private: BlockInbound, rules not read
    assert "Private profile" in by_iface["Wi-Fi"].why
    assert by_iface["vEthernet (WSL)"].reachable is False  # Public: BlockInboundAlways
    assert "block all inbound" in by_iface["vEthernet (WSL)"].blocked_by


# -- snapshots --------------------------------------------------------------------------------------
def test_snapshot_records_and_replays_the_firewall():
    snap = machine(UFW, (dual(8080),))
    again = Snapshot.from_dict(json.loads(json.dumps(snap.to_dict())))
    assert again == snap and again.firewall == UFW
    from bindscope import api

    result = api.listeners(snapshot=again)  # the recorded firewall is used without asking
    assert paths_of(result, 8080)["198.51.100.1"].blocked_by == "ufw (default deny incoming)"
    plain = api.listeners(snapshot=dataclasses.replace(again, firewall=None))
    assert paths_of(plain, 8080)["198.51.100.1"].reachable is True


def test_snapshot_firewall_of_a_wrong_type_is_an_input_error():
    from bindscope.errors import BindscopeError

    data = machine(UFW, ()).to_dict()
    data["firewall"]["sources"] = "nope"
    with pytest.raises(BindscopeError, match="firewall sources must be a list"):
        Snapshot.from_dict(data)
    data["firewall"] = {"sources": [{"name": 1, "command": "x", "text": "y"}]}
    with pytest.raises(BindscopeError):
        Snapshot.from_dict(data)


# -- fixes and findings -----------------------------------------------------------------------------
def test_open_port_commands_per_tool():
    assert fwa.open_port_commands(UFW, 5000, "tcp", "198.51.100.0/24", "eth0") == [
        "sudo ufw allow in on eth0 from 198.51.100.0/24 to any port 5000 proto tcp"
    ]
    assert fwa.open_port_commands(NFT, 5000, "tcp", "198.51.100.0/24", "eth0") == [
        'sudo nft insert rule inet filter input iifname "eth0" ip saddr 198.51.100.0/24 tcp dport 5000 accept'
    ]
    assert fwa.open_port_commands(FirewallState(), 5000) == []


def test_environment_findings_name_the_block_and_the_fix_and_warn_for_a_datastore():
    snap = machine(UFW, (Listener("tcp", "0.0.0.0", 6379, "ipv4", pids=(9,), process="redis-server",
                                  cmdline=("redis-server", "*:6379")),))  # fmt: skip
    result = listing(snap, blockers=[fwa.blocker(UFW)])
    found = fwa.environment_findings(snap, result.entries, 6379)
    [f] = [x for x in found if x.id == "firewall-blocks"]
    assert f.severity == "error" and "198.51.100.1:6379: blocked by ufw (default deny incoming)" in f.evidence
    assert f.fix[0] == "sudo ufw allow in on eth0 from 198.51.100.0/24 to any port 6379 proto tcp"
    assert f.fix[-1] == "careful: Redis would be open to the LAN: allow only the hosts that need it"
    assert f.to_dict()["evidence"] == list(f.evidence)


def test_docker_published_port_from_docker_proxy_cmdline():
    argv = ("/usr/bin/docker-proxy", "-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "8080",
            "-container-ip", "172.17.0.2", "-container-port", "80")  # fmt: skip
    snap = machine(None, (Listener("tcp", "0.0.0.0", 8080, "ipv4", process="docker-proxy", cmdline=argv),))
    [pub] = fwa.docker_published(snap.listeners)
    assert pub == {"proto": "tcp", "host": "0.0.0.0:8080", "port": 8080, "container": "172.17.0.2:80"}
    [f] = fwa.environment_findings(snap, [], 8080)
    assert f.id == "docker-published" and "container 172.17.0.2:80" in f.title and "do not apply" in f.title
    assert "the forward path was not checked" in f.evidence[-1]


def test_docker_published_ports_forward_path_docker_user():
    """Docker 28's rules (iptables-nft-save), no docker-proxy: the DNAT rules publish 8080 and 5432; DOCKER-USER
    lets only the LAN in on eth0 and drops 5432 by its original port; INPUT's DROP policy does not apply."""
    fw = state(("iptables-nft", "iptables-nft-save-docker28.txt"))
    snap = machine(fw, ())
    docker0 = Interface("docker0", 3, addresses=(IfAddr("172.17.0.1", 16),), hw={"type": 1, "bridge": True})
    snap = dataclasses.replace(snap, interfaces=(*snap.interfaces, docker0))
    [web] = fwa.published_ports(snap, 8080)
    assert web["container"] == "172.17.0.2:80" and not web["proxy"]
    [path] = [p for p in web["paths"] if p["address"] == "198.51.100.1"]
    assert path["reachable"] is True and path["why"].startswith("forwarded to 172.17.0.2:80 by iptables-nft rule")
    lan, rest = path["firewall"]
    assert (lan["from"], lan["verdict"]) == ("198.51.100.0/24", "open")
    assert rest["verdict"] == "blocked" and rest["by"] == (
        "iptables-nft rule `-A DOCKER-USER -i eth0 ! -s 198.51.100.0/24 -j DROP`"
    )
    [db] = fwa.published_ports(snap, 5432)
    [path] = [p for p in db["paths"] if p["address"] == "198.51.100.1"]
    assert path["reachable"] is False
    rule = "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport 5432 -j DROP"
    assert path["why"] == f"blocked by iptables-nft rule `{rule}`"
    assert fwa.published_ports(snap, 8081) == []  # no DNAT: nothing published
    assert {p["port"] for p in fwa.published_ports(snap)} == {8080, 5432}
    [f] = [x for x in fwa.environment_findings(snap, [], 5432) if x.id == "docker-published"]
    assert f.severity == "error" and "blocks it on every path" in f.title


def test_wsl2_nat_finding_uses_the_real_wsl_address():
    snap = load_snapshot(SNAPS / "wsl2-nat.json")
    [f] = [x for x in fwa.environment_findings(snap, [], 5000) if x.id.startswith("wsl2")]
    assert f.id == "wsl2-nat"
    assert (
        "netsh interface portproxy add v4tov4 listenport=5000 listenaddress=0.0.0.0 connectport=5000 "
        "connectaddress=172.24.160.5"
    ) in f.fix
    assert any(x.startswith("New-NetFirewallRule") for x in f.fix)
    assert any(x.startswith("netsh advfirewall firewall add rule") for x in f.fix)


def test_container_finding():
    snap = dataclasses.replace(machine(None, ()), environment=Environment(container="docker"))
    [f] = fwa.environment_findings(snap, [], 8000)
    assert f.id == "inside-container" and any("0.0.0.0" in x for x in f.fix)


# -- the source-set algebra -------------------------------------------------------------------------
def test_ranges_algebra():
    a = fwrules.net_ranges([ipaddress.ip_network("10.0.0.0/8")])
    b = fwrules.net_ranges([ipaddress.ip_network("10.1.0.0/16")])
    rest = fwrules.r_sub(a, b)
    assert fwrules.r_and(rest, b) == ()
    assert fwrules.r_or(rest, b) == a
    assert fwrules.ranges_text(b, 4) == ["10.1.0.0/16"]
    assert fwrules.r_sub(fwrules.everything(4), fwrules.everything(4)) == ()


# -- Windows inbound rules ------------------------------------------------------------------------------
def test_windows_rules_parser_reads_the_documented_formats():
    rules = {r["display"]: r for r in winfw.parse_rules(text("windows-get-netfirewallrule.json"))}
    dev = rules["Dev servers 5000-5010 (home LAN)"]
    assert dev["profiles"] == ["domain", "private"] and dev["local_ports"] == ["5000-5010"]
    assert dev["remote"] == ["192.168.1.0/255.255.255.0"] and dev["action"] == "Allow"
    assert rules["Block Redis"]["action"] == "Block" and rules["Block Redis"]["local_ports"] == ["6379"]
    assert rules["Remote Desktop - User Mode (TCP-In)"]["service"] == "termservice"
    # ConvertTo-Json prints a lone rule as an object, not a list
    one = json.dumps(json.loads(text("windows-get-netfirewallrule.json"))[4])
    assert [r["display"] for r in winfw.parse_rules(one)] == ["Block Redis"]
    assert winfw.parse_rules("not json") == []


def test_windows_recorded_laptop_rules_ls_and_doctor():
    """windows-laptop-firewall.json: Wi-Fi is Private (BlockInbound), the WSL and VirtualBox adapters Public
    (BlockInboundAlways). Rules: python.exe allowed from LocalSubnet (Private), TCP 5000-5010 from
    192.168.1.0/255.255.255.0, Redis 6379 allowed for all AND blocked (block wins), node.exe allowed from
    "Intranet" (a keyword not evaluated)."""
    snap = load_snapshot(SNAPS / "windows-laptop-firewall.json")
    entries = {e.local: e for e in bindscope.listeners(snapshot=snap).entries}

    def path(local: str, address: str):
        [p] = [p for p in entries[local].paths if p.address == address]
        return p

    flask = path("0.0.0.0:5000", "192.168.1.50")  # python.exe rule (LocalSubnet) and the 5000-5010 rule
    assert flask.reachable is True and entries["0.0.0.0:5000"].reach == Reach.LAN
    wsl = path("0.0.0.0:5000", "172.29.96.1")
    assert wsl.reachable is False and wsl.blocked_by == "Windows Defender Firewall (Public profile: block all inbound)"
    redis = path("0.0.0.0:6379", "192.168.1.50")
    assert redis.reachable is False and redis.blocked_by.startswith(
        'Windows Defender Firewall rule `"Block Redis" block'
    )
    node = path("0.0.0.0:3000", "192.168.1.50")
    assert node.reachable is None and "remoteip=Intranet" in node.why and node.why.startswith("not checked")
    smb = path("0.0.0.0:445", "192.168.1.50")  # no rule for System's 445 in the fixture: the profile default
    assert smb.reachable is False and smb.blocked_by == (
        "Windows Defender Firewall (Private profile: inbound blocked, no rule allows TCP port 445 or System)"
    )
    v6 = path("[::]:8000", "2a02:8109:b6c0:1e00:4c1a:8e2f:b3d9:a17")  # python.exe from LocalSubnet only
    assert v6.reachable is True and v6.audience == "lan"
    [here, elsewhere] = v6.firewall
    assert here["verdict"] == "open" and elsewhere["verdict"] == "blocked"

    d = bindscope.doctor(6379, snapshot=snap)
    assert (
        not d.lan
        and d.verdict == "Other devices cannot connect: The firewall blocks TCP port 6379 on Wi-Fi (192.168.1.50)"
    )
    [f] = [x for x in d.findings if x.id == "firewall-blocks"]
    assert f.severity == "error" and any("Block Redis" in line for line in f.evidence)
    d = bindscope.doctor(5000, snapshot=snap)  # the WSL adapter is blocked, the LAN is not
    assert d.lan and d.verdict.startswith("Devices on your LAN can connect: http://192.168.1.50:5000/")
    d = bindscope.doctor(3000, snapshot=snap)
    [u] = [x for x in d.findings if x.id == "firewall-unknown"]
    assert any("remoteip=Intranet" in line for line in u.evidence)


def test_docker29_nftables_layout_verdict_maps_and_ct_original():
    """`nft -j list ruleset` of Docker 29's `ip docker-bridges` table (8080 -> 172.17.0.2:80) and a user table on
    the forward hook: `... ct original proto-dst 8080 ct status dnat ip saddr != 198.51.100.0/24 drop`."""
    fw = state(("nft", "nft-docker29.json"))
    docker0 = Interface("docker0", 3, addresses=(IfAddr("172.17.0.1", 16),), hw={"type": 1, "bridge": True})
    snap = machine(fw, ())
    snap = dataclasses.replace(snap, interfaces=(*snap.interfaces, docker0))
    assert fwa.docker_nat_targets(fw) == {8080: "172.17.0.2:80"}
    [pub] = fwa.published_ports(snap, 8080)
    [path] = [p for p in pub["paths"] if p["address"] == "198.51.100.1"]
    lan, rest = path["firewall"]
    assert lan["verdict"] == "open" and path["reachable"] is True
    assert rest["verdict"] == "blocked" and "ct original proto-dst 8080" in rest["by"]
    assert fwa.published_ports(snap, 8081) == []
