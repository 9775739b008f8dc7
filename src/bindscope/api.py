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

    from .analyze.explain import Explanation
    from .analyze.listing import Blocker, Listing
    from .analyze.ports import PortReport
    from .analyze.share import SharePlan
    from .analyze.urls import UrlReport
    from .sharing import Share


def snapshot(*, resolve: Iterable[str] = (), listeners: bool = True, all_netns: bool = False) -> Snapshot:
    """This machine's facts now: interfaces, routes, listeners, environment, resolver;
    `all_netns`: also every other network namespace (Linux, root)."""
    from .collect import snapshot as collect

    return collect(resolve=resolve, listeners=listeners, all_netns=all_netns)


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
    blockers: Sequence[Blocker] = (),
) -> Listing:
    """Every listening socket (`ls`), its owner and framework, and who can reach it.

    `protos`: "tcp" and/or "udp". Filters: `port`, `reach` (that reach and wider: "lan"
    keeps lan and internet), `process` (a substring of the process name, program or
    framework). `all_netns`: also every other network namespace (Linux, root)."""
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
    if snapshot is None:
        from .collect import snapshot as collect

        snapshot = collect(protos=wanted, all_netns=all_netns, lookups=False)
    elif all_netns and not snapshot.namespaces:
        raise BindscopeError("--all-netns: this recorded snapshot has no other namespaces")
    elif not all_netns and snapshot.namespaces:
        from dataclasses import replace

        snapshot = replace(snapshot, namespaces=())  # as live: other namespaces only with all_netns
    return listing(snapshot, protos=wanted, port=number, min_reach=floor, process=process, blockers=blockers)


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
    if snapshot is None:
        from .collect import snapshot as collect

        snapshot = collect(resolve=[tgt.name] if tgt.name else (), listeners=False)
    return _explain(snapshot, tgt, v6only=v6only)


def lan_urls(
    port: int | str, *, snapshot: Snapshot | None = None, scheme: str = "http", show_all: bool = False
) -> UrlReport:
    """The URLs that reach the server on `port`: Local and Network, best first."""
    from .analyze.urls import lan_urls as _lan_urls

    number = _port(port)
    return _lan_urls(snapshot or _live(("tcp",)), number, scheme=scheme, show_all=show_all)


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


def _live(protos: tuple[str, ...], resolve: Iterable[str] = ()) -> Snapshot:
    from .collect import snapshot as collect

    return collect(protos=protos, resolve=resolve)


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
