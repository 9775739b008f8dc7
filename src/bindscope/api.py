"""The public API: collect (or load) a Snapshot, analyse it, return result objects.

Every function takes an optional `snapshot`: a recorded machine (`load_snapshot(path)`)
is analysed exactly like this one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .addr import Target, parse_port, parse_target
from .errors import BindscopeError, NoFreePort
from .model import Reach, Snapshot

# Each command's analysis is imported when it is called: `ls` need not load explain's.
if TYPE_CHECKING:
    from pathlib import Path

    from .analyze.doctor import Diagnosis
    from .analyze.explain import Explanation
    from .analyze.listing import Blocker, Listing
    from .analyze.ports import PortReport
    from .analyze.probeclass import ProbeReport, ScanReport
    from .analyze.share import SharePlan
    from .analyze.urls import UrlReport
    from .audit.engine import AuditReport
    from .sharing import Share


def snapshot(
    *, resolve: Iterable[str] = (), listeners: bool = True, all_netns: bool = False, firewall: bool = True
) -> Snapshot:
    """This machine's facts now: interfaces, routes, listeners, environment, resolver,
    firewall rules; `all_netns`: also every other network namespace (Linux, root)."""
    from .collect import snapshot as collect

    return collect(resolve=resolve, listeners=listeners, all_netns=all_netns, firewall=firewall)


def load_snapshot(path: str | Path) -> Snapshot:
    """A Snapshot recorded with `bindscope snapshot` (or written by hand)."""
    import json
    from pathlib import Path

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise BindscopeError(f"cannot read snapshot {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BindscopeError(f"snapshot {str(path)!r} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BindscopeError(f"snapshot {str(path)!r} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return Snapshot.from_dict(data)


PROTOS = ("tcp", "udp")


def listeners(
    *,
    protos: Iterable[str] = ("tcp",),
    port: int | str | None = None,
    reach: str | Reach | None = None,
    process: str | None = None,
    all_netns: bool = False,
    snapshot: Snapshot | None = None,
    blockers: Sequence[Blocker] | None = None,
) -> Listing:
    """Every listening socket (`ls`), its owner and framework, and who can reach it.

    `protos`: "tcp" and/or "udp". Filters: `port`, `reach` (that reach and wider: "lan"
    keeps lan and internet), `process` (a substring of the process name, program or
    framework). `all_netns`: also every other network namespace (Linux, root).
    `blockers`: None reads the firewall (the live one only once a path reaches beyond this
    machine; a snapshot's recorded one); `()` leaves firewalls out."""
    from .analyze.listing import listing

    wanted = tuple(dict.fromkeys(protos))
    if not wanted or any(p not in PROTOS for p in wanted):
        raise BindscopeError(f"protos must be among {', '.join(PROTOS)}, not {', '.join(wanted) or 'nothing'}")
    number = None if port is None else _port(port)
    floor = None if reach is None else (reach if isinstance(reach, Reach) else Reach.from_label(reach))
    if floor == Reach.NOBODY:
        floor = None
    if process is not None and not process.strip():
        raise BindscopeError("--process needs a name")
    live = snapshot is None
    if snapshot is None:
        from .collect import snapshot as collect

        snapshot = collect(protos=wanted, all_netns=all_netns, lookups=False)
    elif all_netns and not snapshot.namespaces:
        raise BindscopeError("--all-netns: this recorded snapshot has no other namespaces")
    elif not all_netns and snapshot.namespaces:
        from dataclasses import replace

        snapshot = replace(snapshot, namespaces=())  # as live: other namespaces only with all_netns
    fw = None
    if blockers is None:
        fw = firewall_blocker(snapshot, live=live)
        blockers = (fw,)
    result = listing(snapshot, protos=wanted, port=number, min_reach=floor, process=process, blockers=blockers)
    if fw is not None:
        result.notes.extend(firewall_notes(fw))
    return result


def firewall_blocker(snapshot: Snapshot, *, live: bool) -> Blocker:
    """The firewall Blocker for a snapshot: its recorded firewall, or (live) this machine's.
    Nothing is imported or read until a path that reaches beyond this machine asks."""
    platform = snapshot.environment.platform
    recorded = snapshot.firewall is not None or not live
    made: list = []

    def source():  # type: ignore[no-untyped-def]
        if recorded:
            return snapshot.firewall
        from .collect.firewall import collect

        return collect()

    def check(item, a):  # type: ignore[no-untyped-def]
        if not made:
            from .analyze.firewall import blocker

            made.append(blocker(source, platform, snapshot.interfaces))
        return made[0](item, a)

    check.loaded = lambda: made[0].loaded() if made else None  # type: ignore[attr-defined]
    return check


def firewall_notes(fw: Blocker) -> list[str]:
    """What the firewall Blocker could not read (shown under `ls`)."""
    loaded = getattr(fw, "loaded", lambda: None)()
    if loaded is None:
        return []
    from .analyze.firewall import firewall_notes as notes

    return notes(loaded, loaded.state)


def _target(target: str | Target) -> Target:
    return target if isinstance(target, Target) else parse_target(target)


def _port(port: int | str) -> int:
    if isinstance(port, bool):
        raise BindscopeError("port must be a number")
    if isinstance(port, int):
        return parse_port(str(port))
    text = port.strip()
    if text.isdigit() or not any(c in text for c in ":/"):
        return parse_port(text)
    tgt = parse_target(text)  # ':8000', 'localhost:8000', 'http://127.0.0.1:8000/'
    if tgt.port is None:
        raise BindscopeError(f"expected a port number, got {port!r}")
    return tgt.port


def explain(target: str | Target, *, snapshot: Snapshot | None = None, v6only: bool | None = None) -> Explanation:
    """What binding to `target` (`0.0.0.0`, `::`, `localhost:5000`, ...) means on this machine."""
    from .analyze.explain import explain as _explain

    tgt = _target(target)
    live = snapshot is None
    if snapshot is None:
        from .collect import snapshot as collect

        snapshot = collect(resolve=[tgt.name] if tgt.name else (), listeners=False)
    fw = firewall_blocker(snapshot, live=live) if tgt.port else None
    return _explain(snapshot, tgt, v6only=v6only, blocker=fw)


def lan_urls(
    port: int | str, *, snapshot: Snapshot | None = None, scheme: str = "http", show_all: bool = False
) -> UrlReport:
    """The URLs that reach the server on `port`: Local and Network, best first."""
    from .analyze.urls import lan_urls as _lan_urls

    number = _port(port)
    live = snapshot is None
    snap = snapshot or _live(("tcp",))
    fw = firewall_blocker(snap, live=live)
    return _lan_urls(snap, number, scheme=scheme, show_all=show_all, blocker=fw)


def check_port_use(port: int | str, *, snapshot: Snapshot | None = None, proto: str = "tcp") -> PortReport:
    """Is `port` free on every address and family that matters, and who holds it. On the
    live machine every candidate bind is also tried for real (`bind_test`)."""
    from .analyze.ports import check_port, with_bind_tests

    number = _port(port)
    if snapshot is not None:
        return check_port(snapshot, number, proto)
    from .collect.bindprobe import can_bind

    snap = _live((proto,))
    report = check_port(snap, number, proto)
    results = [can_bind(b.address, number, proto, b.v6only) for b in report.binds]
    nxt = _first_free(snap, number + 1 if number < 65535 else 1024, proto, _WILDCARDS, confirm=True)
    return with_bind_tests(report, results, nxt)


_WILDCARDS: list[tuple[str, bool | None]] = [("0.0.0.0", None), ("::", True)]


def find_free_port(
    near: int | str = 8000,
    *,
    host: str | None = None,
    snapshot: Snapshot | None = None,
    proto: str = "tcp",
    tries: int = 200,
) -> int:
    """A port free on every family and address (never one held on ::1 or 127.0.0.1 only).

    On the live machine each candidate is also confirmed by a real bind() on `host`, or
    on both 0.0.0.0 and :: when no host is given. Raises NoFreePort when none is found."""
    from .analyze.explain import explain as _explain

    start = parse_port(str(near), what="--near port")
    live = snapshot is None
    snap = snapshot or _live((proto,), resolve=[host] if host else ())
    binds = _WILDCARDS
    if host is not None:
        tgt = parse_target(host)
        if tgt.kind not in ("ip", "name", "any") or tgt.port is not None:
            raise BindscopeError(f"--host takes an address or host name, not {host!r}")
        if tgt.kind != "any":
            result = _explain(snap, tgt)
            if not result.bindable:
                raise BindscopeError(f"--host {host}: {result.cannot_bind}")
            binds = [(b.address, b.v6only) for b in result.binds]
    found = _first_free(snap, start, proto, binds, confirm=live, tries=tries)
    if found is None:
        raise NoFreePort(f"no free {proto} port found from {start} in {tries} tries")
    return found


def _first_free(
    snap: Snapshot, near: int, proto: str, binds: list[tuple[str, bool | None]], *, confirm: bool, tries: int = 200
) -> int | None:
    from .analyze.ports import free_ports
    from .collect.bindprobe import can_bind

    if snap.environment.ipv6_disabled:
        binds = [b for b in binds if ":" not in b[0]]

    for count, port in enumerate(free_ports(snap, near, proto)):
        if count >= tries:
            return None
        if not confirm or all(can_bind(addr, port, proto, v6) for addr, v6 in binds):
            return port
    return None


def probe(
    target: str | Target,
    *,
    ports: str | Iterable[int] | None = None,
    timeout: float | None = None,
    http: bool = False,
    concurrency: int = 500,
) -> ProbeReport | ScanReport:
    """Run on the other device: connect to `target` (`host:port`, `[v6]:port`, a URL) and classify what
    happened - open (then the HTTP check), refused, timeout, unreachable, reset - with what it means and
    what to run on the server. With `ports` ("8000-8100", "22,80,8000-8010" or numbers): connect to each
    port of the host concurrently (`http`: check HTTP on the open ones). This sends traffic to `target`."""
    from . import netprobe
    from .analyze.probeclass import parse_ports

    tgt = _target(target)
    if tgt.kind in ("port", "any"):
        raise BindscopeError(
            f"probe needs the server's address: HOST:PORT, a URL, or HOST --ports RANGE, not {tgt.raw!r} "
            "(`bindscope urls PORT` on the server prints its address)"
        )
    if tgt.ip is not None and (tgt.ip.is_unspecified or tgt.ip.is_multicast):
        raise BindscopeError(
            f"{tgt.ip} is not an address to connect to (a server binds it): use the server's LAN address "
            "(`bindscope urls PORT` on the server prints it)"
        )
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= 10000:
        raise BindscopeError("--concurrency must be a whole number from 1 to 10000")
    if ports is not None:
        if tgt.port is not None and tgt.scheme is None:
            raise BindscopeError(f"give the port in the target or with --ports, not both ({tgt.raw!r})")
        if isinstance(ports, str):
            numbers = parse_ports(ports)
        else:
            numbers = tuple(dict.fromkeys(_port(p) for p in ports))
            if not numbers:
                raise BindscopeError("--ports needs at least one port")
        wait = netprobe.check_timeout(timeout, netprobe.DEFAULT_SCAN_TIMEOUT)
        return netprobe.scan_ports(tgt, numbers, timeout=wait, concurrency=concurrency, http=http)
    if tgt.port is None:
        raise BindscopeError(f"probe {tgt.raw!r}: give a port (HOST:PORT), a URL, or --ports RANGE")
    return netprobe.probe_target(tgt, timeout=netprobe.check_timeout(timeout, netprobe.DEFAULT_TIMEOUT))


def _live(protos: tuple[str, ...], resolve: Iterable[str] = ()) -> Snapshot:
    from .collect import snapshot as collect

    return collect(protos=protos, resolve=resolve)


def doctor(
    target: str | int,
    *,
    snapshot: Snapshot | None = None,
    probe: bool = True,
    timeout: float = 1.0,
) -> Diagnosis:
    """Why other devices cannot reach the server on `target` (a port, host:port or URL),
    and the exact fix for the server found there. Read-only: on the live machine it knocks
    on this machine's own addresses and sends one `GET /` with a LAN Host header
    (`probe=False` skips that)."""
    from .analyze.doctor import Facts, diagnose, lan_host_header, probe_addresses, proxy_entries
    from .analyze.listing import listing

    tgt = _doctor_target(target)
    assert tgt.port is not None
    live = snapshot is None
    names = ["localhost"] + ([tgt.name] if tgt.kind == "name" and tgt.name else [])
    if snapshot is None:
        from .collect import snapshot as collect

        snapshot = collect(protos=("tcp",), resolve=names, firewall=True)
    if snapshot.namespaces:
        from dataclasses import replace

        snapshot = replace(snapshot, namespaces=())
    # the firewall as recorded (live: just read above): doctor reads it once
    everything = listing(snapshot, protos=("tcp",), blockers=(firewall_blocker(snapshot, live=False),))
    entries = [e for e in everything.entries if e.listener.port == tgt.port]
    others = [e for e in everything.entries if e.listener.port != tgt.port]
    facts = Facts(
        target=tgt,
        port=tgt.port,
        entries=entries,
        others=others,
        localhost=tuple(snapshot.resolver.get("localhost", ())),
        target_addresses=tuple(snapshot.resolver.get(tgt.name or "", ())),
    )
    if live and entries:  # the script a `python app.py` server runs: the line that decides its bind
        from .analyze.scriptfix import script_candidates
        from .collect.script import read_script

        owned = [e for e in entries if e.listener.pids]
        # the socket's owner unknown (another user's process): the only Python script listening nearby
        nearby = {p: e for e in others for p in e.listener.pids[:1] if script_candidates(e.listener.cmdline)}
        pairs = [(p, e) for e in owned for p in e.listener.pids] or (
            [(0, *nearby.values())] if len(nearby) == 1 else []
        )
        for key, e in pairs:
            pid = key or e.listener.pids[0]
            script = read_script(pid, script_candidates(e.listener.cmdline))
            if script is not None:
                facts.scripts[key] = script
    if live and probe and entries:
        from .collect.selfprobe import http_get, knock_all

        facts.knocks = knock_all(probe_addresses(snapshot), tgt.port, timeout)
        facts.probed = True
        lan = lan_host_header(snapshot, entries, tgt.port)
        web = any(e.detected is None or e.detected.category != "datastore" for e in entries)
        if lan is not None and web:
            facts.http = http_get(lan[0], tgt.port, lan[1], timeout=max(2.0, timeout))
    if live:
        from .collect.proxyconf import upstreams

        for proxy in proxy_entries(everything.entries):
            assert proxy.detected is not None
            ups, error = upstreams(proxy.detected.id, proxy.listener.cmdline)
            facts.proxies.append((proxy, ups, error))
    else:
        facts.proxies = [(p, [], "not read from a recorded snapshot") for p in proxy_entries(everything.entries)]
    from .analyze.firewall import environment_findings, published_ports

    facts.published = published_ports(snapshot, tgt.port)
    facts.environment = environment_findings(snapshot, entries, tgt.port, facts.published)
    return diagnose(snapshot, facts)


def _doctor_target(target: str | int) -> Target:
    if isinstance(target, bool):
        raise BindscopeError("doctor needs a port, host:port or URL")
    if isinstance(target, int):
        return parse_target(str(parse_port(str(target))))
    text = target.strip()
    if not text:
        raise BindscopeError("doctor needs a port, host:port or URL")
    tgt = parse_target(text)
    if tgt.port is None:
        if tgt.scheme in ("http", "https"):
            from dataclasses import replace

            return replace(tgt, port=80 if tgt.scheme == "http" else 443)
        raise BindscopeError(f"doctor needs a port: {text!r} has none (try {text}:8000)")
    if tgt.kind == "any":
        raise BindscopeError("doctor needs one server: a port, host:port or URL, not '*'")
    return tgt


def plan_share(
    port: int | str,
    *,
    mode: str | None = None,
    allow: Sequence[str] = (),
    i_mean_any: bool = False,
    duration: str | int = "60m",
    listen: str | None = None,
    host_header: str | None = None,
    i_know: bool = False,
    snapshot: Snapshot | None = None,
) -> SharePlan:
    """What `share` would do for the server on `port` (pure on a snapshot): the loopback upstream,
    the LAN address to listen on, the allowed subnets, the mode and the duration. Raises
    ShareRefused (nothing listens, already reachable, datastore or debug server without `i_know`)
    or BindscopeError (bad input)."""
    from .analyze.share import plan_share as _plan

    number = _port(port)
    snap = snapshot or _live(("tcp",))
    return _plan(
        snap,
        number,
        mode=mode,
        allow=tuple(allow),
        i_mean_any=i_mean_any,
        duration=duration,
        listen=listen,
        host_header=host_header,
        i_know=i_know,
    )


def share(
    port: int | str,
    *,
    log: Callable[[dict[str, Any]], None] | None = None,
    token: str | None = None,
    header_timeout: float = 10.0,
    **options: Any,
) -> Share:
    """Plan (see plan_share; same keyword options) and bind the relay for the server on `port`.
    The returned Share is not serving yet: `.url`, then `.run()` (blocks until expiry or `.stop()`)
    or `.start()` (a background thread). `log` receives one dict per event (request, refused,
    open, close, stopped)."""
    from .sharing import start

    if header_timeout <= 0:
        raise BindscopeError("header timeout must be more than 0 seconds")
    plan = plan_share(port, **options)
    return start(plan, log=log or (lambda _event: None), token=token, header_timeout=header_timeout)


def audit(
    paths: Iterable[str] | str = (".",),
    *,
    fail_on: str | None = None,
    include_tests: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditReport:
    """Scan files and directories for exposure mistakes (docs/audit.md): `.findings` sorted by
    path and line, `.files_skipped` with reasons, `.exit_code` (1 when a finding is at `fail_on`
    or above). `fail_on` and `include_tests` override `[tool.bindscope]` in pyproject.toml."""
    from .audit.engine import audit as run

    targets = [paths] if isinstance(paths, str) else paths
    return run(targets, fail_on=fail_on, include_tests=include_tests, progress=progress)
