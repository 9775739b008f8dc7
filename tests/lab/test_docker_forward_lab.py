"""Docker published ports against reality: Docker's network built by hand in the lab's laptop namespace.

No Docker engine runs here, so its network is built as Docker builds it: a bridge `docker0` 172.17.0.1/16,
a "container" (its own network namespace, attached by a veth pair) at 172.17.0.2 with real listeners on
ports 80 and 5432, IPv4 forwarding on, and the rules Docker writes, taken verbatim from moby's generated
rule documentation (integration/network/bridge/iptablesdoc/generated/usernet-portmap*.md and
nftablesdoc/generated/usernet-portmap.md, with the default network docker0 in place of bridge1):

- Docker 28 (iptables-nft): filter FORWARD -> DOCKER-USER, DOCKER-FORWARD (DOCKER-CT, DOCKER-INTERNAL,
  DOCKER-BRIDGE -> DOCKER), nat PREROUTING -> DOCKER (DNAT), raw PREROUTING "direct access" drop;
- Docker 27 (iptables-legacy): FORWARD -> DOCKER-USER, DOCKER-ISOLATION-STAGE-1/2, ctstate accept, DOCKER;
- Docker 29's nftables backend: table ip docker-bridges (verdict maps per bridge), with the user's own
  filter in a table of its own on the forward hook, as Docker's docs say.

The userland proxy is off (`--userland-proxy=false`): nothing listens on the published port on the laptop,
the DNAT rules alone publish it. For every DOCKER-USER ruleset x client (phone on the LAN, stranger routed
in from another subnet) x published port, bindscope's verdict for the path (doctor --json: "published")
must equal what a real TCP connection from that client's namespace gets. "unknown" only for the ruleset
built from rules outside the documented subset.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from lab_helpers import tool_missing
from test_firewall_lab import ACCEPTING_HOLDER, expected_state

pytestmark = pytest.mark.lab

LAPTOP4, PHONE4, STRANGER4 = "198.51.100.1", "198.51.100.2", "203.0.113.2"  # as in conftest.py
CONTAINER = "172.17.0.2"
WEB, DB = 80, 5432  # the container's ports

# Connect to each (address, port) of argv[1] at once; open / closed (refused) / filtered (timeout).
PROBE = r"""
import concurrent.futures, errno, json, socket, sys
def one(t):
    s = socket.socket()
    s.settimeout(float(sys.argv[2]))
    try:
        s.connect(tuple(t))
        return "open"
    except ConnectionRefusedError:
        return "closed"
    except (socket.timeout, TimeoutError):
        return "filtered"
    except OSError as exc:
        return "filtered" if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH) else "error " + str(exc)
    finally:
        s.close()
with concurrent.futures.ThreadPoolExecutor(8) as ex:
    print(json.dumps(list(ex.map(one, json.loads(sys.argv[1])))))
"""


@dataclass
class Published:
    web: int  # host port -> 172.17.0.2:80
    db: int  # host port -> 172.17.0.2:5432

    def fmt(self, text: str, lan_if: str) -> str:
        return text.replace("{WEB}", str(self.web)).replace("{DB}", str(self.db)).replace("LAPTOPIF", lan_if)


# -- Docker's rules, verbatim (docker0, one container 172.17.0.2, -p WEB:80 -p DB:5432) -------------------
DOCKER28_FILTER = """*filter
:INPUT {input} [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-BRIDGE - [0:0]
:DOCKER-CT - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-INTERNAL - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 5432 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER ! -i docker0 -o docker0 -j DROP
-A DOCKER-BRIDGE -o docker0 -j DOCKER
-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-FORWARD -j DOCKER-CT
-A DOCKER-FORWARD -j DOCKER-INTERNAL
-A DOCKER-FORWARD -j DOCKER-BRIDGE
-A DOCKER-FORWARD -i docker0 -j ACCEPT
{user}COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER ! -i docker0 -p tcp -m tcp --dport {WEB} -j DNAT --to-destination 172.17.0.2:80
-A DOCKER ! -i docker0 -p tcp -m tcp --dport {DB} -j DNAT --to-destination 172.17.0.2:5432
COMMIT
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP
COMMIT
"""

DOCKER27_FILTER = """*filter
:INPUT {input} [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 5432 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER ! -i docker0 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
{user}-A DOCKER-USER -j RETURN
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -o docker0 -m addrtype --src-type LOCAL -j MASQUERADE
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
-A DOCKER -p tcp -m tcp --dport {WEB} -j DNAT --to-destination 172.17.0.2:80
-A DOCKER -p tcp -m tcp --dport {DB} -j DNAT --to-destination 172.17.0.2:5432
COMMIT
"""

DOCKER29_NFT = """
table ip docker-bridges {
  map filter-forward-in-jumps {
    type ifname : verdict
    elements = { "docker0" : jump filter-forward-in__docker0 }
  }
  map filter-forward-out-jumps {
    type ifname : verdict
    elements = { "docker0" : jump filter-forward-out__docker0 }
  }
  map nat-postrouting-in-jumps {
    type ifname : verdict
    elements = { "docker0" : jump nat-postrouting-in__docker0 }
  }
  map nat-postrouting-out-jumps {
    type ifname : verdict
    elements = { "docker0" : jump nat-postrouting-out__docker0 }
  }
  chain filter-FORWARD {
    type filter hook forward priority filter; policy accept;
    oifname vmap @filter-forward-in-jumps
    iifname vmap @filter-forward-out-jumps
  }
  chain nat-OUTPUT {
    type nat hook output priority -100; policy accept;
    ip daddr != 127.0.0.0/8 fib daddr type local counter jump nat-prerouting-and-output
  }
  chain nat-POSTROUTING {
    type nat hook postrouting priority srcnat; policy accept;
    iifname vmap @nat-postrouting-out-jumps
    oifname vmap @nat-postrouting-in-jumps
  }
  chain nat-PREROUTING {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local counter jump nat-prerouting-and-output
  }
  chain nat-prerouting-and-output {
    iifname != "docker0" tcp dport {WEB} counter dnat to 172.17.0.2:80 comment "DNAT"
    iifname != "docker0" tcp dport {DB} counter dnat to 172.17.0.2:5432 comment "DNAT"
  }
  chain raw-PREROUTING {
    type filter hook prerouting priority raw; policy accept;
    ip daddr 172.17.0.2 iifname != "docker0" counter drop comment "DROP DIRECT ACCESS"
  }
  chain filter-forward-in__docker0 {
    ct state established,related counter accept
    iifname "docker0" counter accept comment "ICC"
    ip daddr 172.17.0.2 tcp dport 80 counter accept
    ip daddr 172.17.0.2 tcp dport 5432 counter accept
    counter drop comment "UNPUBLISHED PORT DROP"
  }
  chain filter-forward-out__docker0 {
    ct state established,related counter accept
    counter accept comment "OUTGOING"
  }
  chain nat-postrouting-in__docker0 {
  }
  chain nat-postrouting-out__docker0 {
    oifname != "docker0" ip saddr 172.17.0.0/16 counter masquerade comment "MASQUERADE"
  }
}
"""

# The user's own filter for Docker 29's nftables backend: a table of its own, a base chain on the forward
# hook with a priority below Docker's (filter), as Docker's docs advise.
NFT_USER = """
table inet user {{
  chain forward {{
    type filter hook forward priority filter - 1; policy accept;
    {rules}
  }}
}}
"""


@dataclass
class Case:
    name: str
    backend: str  # iptables-nft (Docker 28) | iptables-legacy (Docker 27) | nftables (Docker 29)
    user: str  # DOCKER-USER rules (iptables-save lines), or the nft forward chain's rules
    input_policy: str = "ACCEPT"
    unknown_ok: bool = False


CASES = [
    Case("docker 28, DOCKER-USER empty", "iptables-nft", ""),
    Case("docker 28, INPUT policy DROP (does not apply to published ports)", "iptables-nft", "", input_policy="DROP"),
    Case(
        "docker 28, LAN only on the LAN interface",
        "iptables-nft",
        "-A DOCKER-USER -i LAPTOPIF ! -s 198.51.100.0/24 -j DROP\n",
    ),
    Case(
        "docker 28, drop the database's published port (ctorigdstport)",
        "iptables-nft",
        "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport {DB} -j DROP\n",
    ),
    Case(
        "docker 28, reject the web port with tcp-reset, drop the container port 5432 from the stranger",
        "iptables-nft",
        "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport {WEB} --ctdir ORIGINAL -j REJECT --reject-with tcp-reset\n"
        "-A DOCKER-USER -s 203.0.113.0/24 -p tcp -m tcp --dport 5432 -j DROP\n",
    ),
    Case(
        "docker 28, allow list: established, the LAN, then drop (ctstatus DNAT)",
        "iptables-nft",
        "-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
        "-A DOCKER-USER -i LAPTOPIF -s 198.51.100.0/24 -j RETURN\n"
        "-A DOCKER-USER -m conntrack --ctstate DNAT -o docker0 -j DROP\n",
    ),
    Case("docker 27 (iptables-legacy), DOCKER-USER empty", "iptables-legacy", ""),
    Case(
        "docker 27 (iptables-legacy), LAN only, database dropped",
        "iptables-legacy",
        "-A DOCKER-USER -i LAPTOPIF ! -s 198.51.100.0/24 -j DROP\n"
        "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport {DB} -j DROP\n",
    ),
    Case("docker 29 (nftables), no user rules", "nftables", ""),
    Case(
        "docker 29 (nftables), LAN only for the web port, database dropped",
        "nftables",
        "meta l4proto tcp ct direction original ct original proto-dst {WEB} ip saddr != 198.51.100.0/24 drop\n"
        '    meta l4proto tcp ct status dnat ct original proto-dst {DB} oifname "docker0" drop',
    ),
    Case(
        "outside the subset: a mark match in DOCKER-USER",
        "iptables-nft",
        "-A DOCKER-USER -m mark --mark 0x1 -j RETURN\n"
        "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport {WEB} -j DROP\n",
        unknown_ok=True,
    ),
]


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        tool_missing(f"{tool} is not installed")


@pytest.fixture
def docker_net(lab):
    """docker0 and a container namespace (172.17.0.2, listeners on 80 and 5432) in the laptop namespace;
    removed afterwards."""
    name = f"bs-ctr-{lab.tag}"
    veth, peer = f"bsv{lab.tag}", f"bsc{lab.tag}"
    laptop = lab.ns["laptop"]

    def ip(*args: str) -> None:
        proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
        assert proc.returncode == 0, f"ip {' '.join(args)}: {proc.stderr}"

    ip("netns", "add", name)
    lab.ns["container"] = name  # lab.run / lab.spawn reach it by this name (removed below)
    try:
        ip("-n", laptop, "link", "add", "docker0", "type", "bridge")
        ip("-n", laptop, "addr", "add", "172.17.0.1/16", "dev", "docker0")
        ip("-n", laptop, "link", "set", "docker0", "up")
        ip("link", "add", veth, "netns", laptop, "type", "veth", "peer", "name", peer, "netns", name)
        ip("-n", laptop, "link", "set", veth, "master", "docker0")
        ip("-n", laptop, "link", "set", veth, "up")
        ip("-n", name, "link", "set", "lo", "up")
        ip("-n", name, "link", "set", peer, "name", "eth0")
        ip("-n", name, "addr", "add", f"{CONTAINER}/16", "dev", "eth0")
        ip("-n", name, "link", "set", "eth0", "up")
        ip("-n", name, "route", "add", "default", "via", "172.17.0.1")
        proc = lab.run("laptop", ["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"])
        assert proc.returncode == 0, proc.stderr
        socks = [["0.0.0.0", WEB, None], ["0.0.0.0", DB, None]]
        holder = lab.spawn("container", [sys.executable, "-I", "-c", ACCEPTING_HOLDER, json.dumps(socks)])
        lab.wait_ready(holder, "container listeners")
        yield Published(lab.port(), lab.port())
    finally:
        lab.reset()
        lab.ns.pop("container", None)
        _flush(lab)
        subprocess.run(["ip", "-n", laptop, "link", "del", "docker0"], capture_output=True, timeout=20)
        subprocess.run(["ip", "-n", laptop, "link", "del", veth], capture_output=True, timeout=20)
        lab.run("laptop", ["sh", "-c", "echo 0 > /proc/sys/net/ipv4/ip_forward"])
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=20)


def _flush(lab) -> None:
    lab.run("laptop", ["nft", "flush", "ruleset"])
    for tool in ("iptables-legacy", "ip6tables-legacy"):
        names = "ip6_tables_names" if tool.startswith("ip6") else "ip_tables_names"
        loaded = lab.run("laptop", ["cat", f"/proc/net/{names}"]).stdout.split()
        if shutil.which(tool):
            for table in loaded:
                lab.run("laptop", [tool, "-t", table, "-F"])
                lab.run("laptop", [tool, "-t", table, "-X"])
            if "filter" in loaded:
                lab.run("laptop", [tool, "-P", "INPUT", "ACCEPT"])


def _load(lab, case: Case, pub: Published, tmp: Path) -> None:
    lan_if = lab.ifname["laptop"]
    if case.backend == "nftables":
        _need("nft")
        text = pub.fmt(DOCKER29_NFT, lan_if)
        if case.user:
            text += NFT_USER.format(rules=pub.fmt(case.user, lan_if))
        path = tmp / "rules.nft"
        path.write_text(text)
        proc = lab.run("laptop", ["nft", "-f", str(path)])
        assert proc.returncode == 0, f"nft -f: {proc.stderr}\n{text}"
        return
    tool = f"iptables-{case.backend.split('-')[1]}-restore"
    _need(tool)
    template = DOCKER28_FILTER if case.backend == "iptables-nft" else DOCKER27_FILTER
    text = pub.fmt(template.replace("{input}", case.input_policy).replace("{user}", case.user), lan_if)
    proc = lab.run("laptop", [tool], input=text)
    assert proc.returncode == 0, f"{tool}: {proc.stderr}\n{text}"


def _probe(lab, host: str, targets: list[tuple[str, int]]) -> list[str]:
    proc = lab.run(host, [sys.executable, "-I", "-c", PROBE, json.dumps(targets), "1.5"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_published_port_verdicts_match_real_connections(lab, docker_net, tmp_path):
    pub = docker_net
    clients = {"phone": PHONE4, "stranger": STRANGER4}
    total = agree = unknown = 0
    mismatches: list[str] = []
    seen: set[str] = set()
    for case in CASES:
        _flush(lab)
        work = tmp_path / re.sub(r"\W+", "-", case.name)[:60]
        work.mkdir()
        _load(lab, case, pub, work)
        real = {c: _probe(lab, c, [[LAPTOP4, pub.web], [LAPTOP4, pub.db]]) for c in clients}
        for i, port in enumerate((pub.web, pub.db)):
            proc = lab.bindscope("laptop", "doctor", str(port), "--no-probe", "--json")
            assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
            data = json.loads(proc.stdout)
            [published] = [p for p in data["published"] if p["port"] == port] or [None]
            assert published is not None, f"[{case.name}] doctor does not see port {port} published: {data}"
            assert published["container"] == f"{CONTAINER}:{(WEB, DB)[i]}"
            [path] = [p for p in published["paths"] if p["address"] == LAPTOP4]
            for client in clients:
                says, got = expected_state(path, client), real[client][i]
                seen.add(got)
                total += 1
                if says == "unknown" and case.unknown_ok:
                    unknown += 1
                    agree += 1
                elif says == got:
                    agree += 1
                else:
                    mismatches.append(
                        f"[{case.name}] {client} -> {LAPTOP4}:{port}: bindscope {says} ({path}), real {got}"
                    )
    _flush(lab)
    print(f"\ndocker published ports: {agree}/{total} agree ({unknown} unknown, allowed)")
    assert not mismatches, f"{len(mismatches)} of {total} differ:\n" + "\n".join(mismatches)
    assert {"open", "closed", "filtered"} <= seen, f"reality showed only {seen}"
    assert unknown > 0, "the out-of-subset ruleset should give an unknown verdict"
    assert total == len(CASES) * 2 * 2


def _ruleset_text(lab) -> str:
    out = lab.run("laptop", ["nft", "--stateless", "list", "ruleset"]).stdout
    if shutil.which("iptables-legacy-save"):
        text = lab.run("laptop", ["iptables-legacy-save"]).stdout
        out += "\n".join(re.sub(r" \[\d+:\d+\]$", "", x) for x in text.splitlines() if not x.startswith("#"))
    return out


@pytest.mark.parametrize("which", [3, 7, 9], ids=["docker28", "docker27-legacy", "docker29-nft"])
def test_docker_rulesets_are_unchanged_by_bindscope(lab, docker_net, tmp_path, which):
    pub = docker_net
    _flush(lab)
    _load(lab, CASES[which], pub, tmp_path)
    before = _ruleset_text(lab)
    assert "DOCKER" in before or "docker-bridges" in before
    for args in (("ls", "--json"), ("doctor", str(pub.web), "--json", "--no-probe"), ("doctor", str(pub.db))):
        proc = lab.bindscope("laptop", *args)
        assert "Traceback" not in proc.stderr, proc.stderr
    assert _ruleset_text(lab) == before


def test_doctor_text_names_the_docker_user_rule(lab, docker_net, tmp_path):
    pub = docker_net
    _flush(lab)
    _load(lab, CASES[3], pub, tmp_path)  # DOCKER-USER drops the database's published port
    db = lab.bindscope_json("laptop", "doctor", str(pub.db), "--no-probe", expect_rc=1)
    rule = f"-A DOCKER-USER -p tcp -m conntrack --ctorigdstport {pub.db} -j DROP"
    [found] = [f for f in db["findings"] if f["id"] == "docker-published"]
    assert found["severity"] == "error", found
    assert f"{LAPTOP4} ({lab.ifname['laptop']}): blocked by iptables-nft rule `{rule}`" in found["evidence"], found
    assert "the firewall blocks it" in db["verdict"], db["verdict"]
    assert not lab.connect("phone", LAPTOP4, pub.db, timeout=1.5)
    web = lab.bindscope_json("laptop", "doctor", str(pub.web), "--no-probe", expect_rc=0)
    assert web["lan"] and f"{LAPTOP4}:{pub.web}" in web["verdict"], web["verdict"]
    assert lab.connect("phone", LAPTOP4, pub.web, timeout=1.5)
