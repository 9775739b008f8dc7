"""Read this machine's firewall (I/O only, read-only): the rules as the tools print them.

Linux: `nft -j list ruleset`; `iptables-nft-save` / `ip6tables-nft-save` when iptables-nft
tables are in the nft ruleset (their matches are opaque in nft's JSON); `iptables-legacy-save` /
`ip6tables-legacy-save` when legacy tables exist (/proc/net/ip_tables_names); plain
`iptables-save` only where neither variant exists; /etc/ufw/ufw.conf when ufw's chains are
loaded; firewalld's DefaultZone and zone files when its table is loaded.
macOS: `socketfilterfw --getglobalstate --getblockall --listapps`, `pfctl -sr`. Windows:
`netsh advfirewall show allprofiles`, `Get-NetConnectionProfile`, and the enabled inbound rules with their
filters (`Get-NetFirewallRule ... | ConvertTo-Json`: WINDOWS_RULES).

Nothing here changes a rule. A missing tool or a permission error becomes a note in the
FirewallState (the caller shows it), never an exception.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time

from ..model import FirewallSource, FirewallState

TIMEOUT = 5.0
_LINUX_SBIN = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")


def _which(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in _LINUX_SBIN:  # a non-root PATH often lacks /usr/sbin
        path = os.path.join(d, name)
        if os.access(path, os.X_OK):
            return path
    return None


def _run(argv: list[str], name: str, sources: list[FirewallSource], notes: list[str]) -> str | None:
    exe = _which(argv[0])
    if exe is None:
        return None
    try:
        proc = subprocess.run(
            [exe, *argv[1:]],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError) as exc:
        notes.append(f"{' '.join(argv)}: {exc}")
        return None
    if proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip().splitlines()
        msg = err[-1] if err else f"exit {proc.returncode}"
        if any(w in msg.lower() for w in ("permission", "not permitted", "must be root", "you need to be root")):
            msg += " (run as root to read it)"
        notes.append(f"{' '.join(argv)}: {msg}")
        return None
    sources.append(FirewallSource(name, " ".join(argv), proc.stdout))
    return proc.stdout


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def _has_tables(path: str) -> bool:
    text = _read(path)
    return bool(text and text.strip())


def collect() -> FirewallState:
    """The firewall of this machine (this network namespace on Linux)."""
    if sys.platform.startswith("linux"):
        return linux()
    if sys.platform == "darwin":
        return macos()
    if sys.platform == "win32":
        return windows()
    return FirewallState(notes=(f"firewall: not read on {sys.platform}",))


def linux() -> FirewallState:
    sources: list[FirewallSource] = []
    notes: list[str] = []
    nft_text = None
    if _which("nft"):
        nft_text = _run(["nft", "-j", "list", "ruleset"], "nft", sources, notes)
    ipt_nft = nft_text is not None and ('"xt"' in nft_text or '"name": "INPUT"' in nft_text)
    if nft_text is None and not _which("nft"):
        ipt_nft = True  # no nft: iptables-nft-save is the only way to see nf_tables rules
    if ipt_nft:
        for tool in ("iptables", "ip6tables"):
            if _which(f"{tool}-nft-save"):
                _run([f"{tool}-nft-save"], f"{tool}-nft", sources, notes)
            elif _which(f"{tool}-save") and nft_text is None:
                _run([f"{tool}-save"], tool, sources, notes)
    for tool, names in (("iptables", "/proc/net/ip_tables_names"), ("ip6tables", "/proc/net/ip6_tables_names")):
        if _has_tables(names):  # legacy x_tables loaded
            if _which(f"{tool}-legacy-save"):
                _run([f"{tool}-legacy-save"], f"{tool}-legacy", sources, notes)
            elif _which(f"{tool}-save") and not any(s.name == tool for s in sources):
                _run([f"{tool}-save"], tool, sources, notes)
    if not sources and not notes and not _which("nft") and not _which("iptables-save"):
        notes.append("no firewall tool found (nft, iptables-save): rules not read")
    loaded = " ".join(s.text for s in sources)
    # ufw: its chains are in the iptables output, and its default policy is their INPUT policy, so
    # `ufw status verbose` (a Python program: ~0.3 s) is not run; its parser reads recorded output.
    conf = _read("/etc/ufw/ufw.conf") if "ufw-user-input" in loaded else None
    if conf is not None:
        sources.append(FirewallSource("ufw-conf", "/etc/ufw/ufw.conf", conf))
    if "firewalld" in loaded:
        text = _read("/etc/firewalld/firewalld.conf")
        if text is not None:
            sources.append(FirewallSource("firewalld-conf", "/etc/firewalld/firewalld.conf", text))
        for d in ("/usr/lib/firewalld/zones", "/etc/firewalld/zones"):  # /etc overrides /usr/lib
            for path in sorted(glob.glob(f"{d}/*.xml")):
                text = _read(path)
                if text is not None:
                    sources.append(FirewallSource("firewalld-zone", path, text))
    return FirewallState(tuple(sources), tuple(notes))


def macos() -> FirewallState:
    sources: list[FirewallSource] = []
    notes: list[str] = []
    fw = "/usr/libexec/ApplicationFirewall/socketfilterfw"
    if os.access(fw, os.X_OK):
        for flag, name in (
            ("--getglobalstate", "socketfilterfw-state"),
            ("--getblockall", "socketfilterfw-blockall"),
            ("--listapps", "socketfilterfw-apps"),
        ):
            _run([fw, flag], name, sources, notes)
    else:
        notes.append("socketfilterfw not found: application firewall not read")
    if _which("pfctl"):
        _run(["pfctl", "-sr"], "pfctl", sources, notes)
    return FirewallState(tuple(sources), tuple(notes))


# The enabled inbound rules with the filters that decide whether one applies (port, program, address,
# service, interface): one object per rule, as JSON. Read by analyze/winfw.py.
WINDOWS_RULES = (
    "Get-NetFirewallRule -Direction Inbound -Enabled True | ForEach-Object { "
    "$p = $_ | Get-NetFirewallPortFilter; $a = $_ | Get-NetFirewallApplicationFilter; "
    "$r = $_ | Get-NetFirewallAddressFilter; $s = $_ | Get-NetFirewallServiceFilter; "
    "$t = $_ | Get-NetFirewallInterfaceTypeFilter; $i = $_ | Get-NetFirewallInterfaceFilter; "
    "[pscustomobject]@{ Name = $_.Name; DisplayName = $_.DisplayName; Action = [string]$_.Action; "
    "Profile = [string]$_.Profile; Protocol = [string]$p.Protocol; LocalPort = @($p.LocalPort); "
    "Program = [string]$a.Program; Package = [string]$a.Package; Service = [string]$s.Service; "
    "RemoteAddress = @($r.RemoteAddress); LocalAddress = @($r.LocalAddress); "
    "InterfaceType = [string]$t.InterfaceType; InterfaceAlias = @($i.InterfaceAlias) } "
    "} | ConvertTo-Json -Depth 3 -Compress"
)


def windows() -> FirewallState:
    sources: list[FirewallSource] = []
    notes: list[str] = []
    _run(["netsh", "advfirewall", "show", "allprofiles"], "netsh", sources, notes)
    _run(["powershell", "-NoProfile", "-NonInteractive", "-Command", WINDOWS_RULES], "netfirewallrules", sources, notes)
    _run(
        ["powershell", "-NoProfile", "-NonInteractive", "-Command", "Get-NetConnectionProfile | Format-List"],
        "netprofile",
        sources,
        notes,
    )
    return FirewallState(tuple(sources), tuple(notes))


def timed() -> tuple[FirewallState, float]:
    """collect() and how long it took (seconds), for the benchmark."""
    t0 = time.perf_counter()
    state = collect()
    return state, time.perf_counter() - t0
