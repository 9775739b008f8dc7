"""Command line: parse arguments, call the public API, render. No logic of its own.

Exit codes: 0 fine, 1 a problem was found, 2 usage or input error, 3 internal error.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from . import __version__

PROG = "bindscope"
DEFAULT_ARGS = ["ls"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Who can reach my server, why can't my phone connect, and what do I change?")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def common(sp: argparse.ArgumentParser, *, snapshot: bool = True) -> argparse.ArgumentParser:
        if snapshot:
            sp.add_argument("--json", action="store_true", help="print JSON (schema: docs/JSON.md)")
            sp.add_argument(
                "--from",
                dest="from_file",
                metavar="FILE",
                help="analyse a snapshot recorded with 'bindscope snapshot' instead of this machine",
            )
        return sp

    sp = common(
        sub.add_parser(
            "ls",
            help="every listening socket, its process and framework, and who can reach it (the default)",
            description="Every listening TCP socket (UDP with --udp), grouped by how far it reaches: internet, "
            "lan, vpn, host-only, this-machine. Exit 1 when a debug server, datastore or notebook is reachable "
            "beyond this machine.",
        )
    )
    protos = sp.add_mutually_exclusive_group()
    protos.add_argument("--udp", action="store_true", help="UDP sockets instead of TCP")
    protos.add_argument("--all-protos", action="store_true", help="TCP and UDP")
    sp.add_argument("--port", metavar="PORT", help="only sockets on PORT")
    sp.add_argument(
        "--reach",
        metavar="REACH",
        help="only sockets with that reach or wider (internet, lan, vpn, host-only, this-machine)",
    )
    sp.add_argument("--process", metavar="NAME", help="only sockets whose process, program or framework contains NAME")
    sp.add_argument(
        "--all-netns",
        action="store_true",
        help="also every other network namespace: named ones and those of running processes (root)",
    )

    sp = common(
        sub.add_parser(
            "explain",
            help="what binding to an address means on this machine",
            description="What binding to ADDR means on this machine: which of its addresses "
            "lead to the server, and who can use them.",
        )
    )
    sp.add_argument("target", metavar="ADDR[:PORT]", help="0.0.0.0, ::, 127.0.0.1, localhost:5000, [::1]:8000, a URL")
    sp.add_argument(
        "--v6only",
        choices=("yes", "no"),
        help="for '::': assume the server sets IPV6_V6ONLY to this (default: this machine's default)",
    )

    sp = common(
        sub.add_parser(
            "doctor",
            help="why another device cannot connect to a server, and the exact fix",
            description="Why other devices cannot reach the server on TARGET, and the fix for the server found "
            "there. Read-only. Exit 0 when devices on the LAN can connect, 1 when not, 2 on bad input.",
        )
    )
    sp.add_argument("target", metavar="TARGET", help="a port (8000), host:port (192.168.1.20:8000) or URL")
    sp.add_argument(
        "--no-probe",
        action="store_true",
        help="do not knock on this machine's own addresses or send the HTTP request with a LAN Host header",
    )
    sp.add_argument("--timeout", type=float, default=1.0, metavar="SECONDS", help="self-probe timeout (default 1)")

    sp = common(sub.add_parser("urls", help="the URLs to type for a server on PORT (Local and Network, QR code)"))
    sp.add_argument("port", metavar="PORT")
    sp.add_argument("--qr", action="store_true", help="print a QR code of the best Network URL")
    sp.add_argument("--all", action="store_true", help="also list hidden addresses (link-local, veth, down)")
    sp.add_argument("--https", action="store_true", help="write https:// URLs")

    sp = common(sub.add_parser("port", help="is PORT free on every address and family; who holds it"))
    sp.add_argument("port", metavar="PORT")
    sp.add_argument("--udp", action="store_true", help="check UDP instead of TCP")

    sp = common(sub.add_parser("free", help="print one free port number (for scripts)"))
    sp.add_argument("--near", default="8000", metavar="N", help="start looking at N (default 8000)")
    sp.add_argument("--host", metavar="H", help="the port must also be bindable on H (an address of this machine)")
    sp.add_argument("--udp", action="store_true", help="a free UDP port instead of TCP")

    sp = common(
        sub.add_parser(
            "probe",
            help="run on the other device: can it connect to the server, and if not, why (refused, timeout, ...)",
            description="Run on the other device (phone, colleague's laptop): resolve TARGET, connect to each of its "
            "addresses, check HTTP, and classify: open, refused, timeout, host/network-unreachable, reset, "
            "TLS/HTTP mix-ups, host allow-lists. Exit 0 when it connects and the app answers, 1 otherwise.",
        ),
        snapshot=False,
    )
    sp.add_argument(
        "target", metavar="TARGET", help="HOST:PORT, [IPV6]:PORT, http(s)://HOST[:PORT]/, or HOST with --ports"
    )
    sp.add_argument(
        "--ports", metavar="RANGE", help="probe many ports of HOST concurrently: 8000-8100, 22,80,8000-8010"
    )
    sp.add_argument("--timeout", type=float, metavar="S", help="seconds per connection (default 5; 1 with --ports)")
    sp.add_argument("--http", action="store_true", help="with --ports: also check HTTP on each open port")
    sp.add_argument("--concurrency", type=int, default=500, metavar="N", help="with --ports: connections at once (500)")
    sp.add_argument("--json", action="store_true", help="print JSON (schema: docs/probe.md)")

    sp = common(
        sub.add_parser(
            "share",
            help="put a loopback-only server on the LAN through a relay: allow-list, token, expiry, access log",
            description="Relay the loopback-only server on PORT to this machine's LAN address (the default-route "
            "interface): clients outside the LAN subnets are refused, HTTP needs the printed URL's token, and the "
            "share expires. Exit 1 when it will not share (nothing on PORT, already reachable, a datastore or "
            "debug server without --i-know).",
        )
    )
    sp.add_argument("port", metavar="PORT")
    modes = sp.add_mutually_exclusive_group()
    modes.add_argument("--tcp", action="store_true", help="relay bytes (any protocol; no token)")
    modes.add_argument(
        "--http", action="store_true", help="HTTP: token, Host rewrite, per-request log (default for web servers)"
    )
    sp.add_argument(
        "--allow",
        nargs="+",
        action="extend",
        default=[],
        metavar="CIDR",
        help="allow these subnets instead of the LAN's ('any' with --i-mean-any)",
    )
    sp.add_argument("--i-mean-any", action="store_true", help="confirm --allow any: every address that can route here")
    sp.add_argument(
        "--for",
        dest="duration",
        default="60m",
        metavar="DURATION",
        help="expire after DURATION (15m, 1h, 90s; default 60m, at most 24h)",
    )
    sp.add_argument("--listen", metavar="ADDR[:PORT]", help="listen there instead of the default-route address on PORT")
    sp.add_argument(
        "--host-header", metavar="HOST", help="send Host: HOST upstream (Django ALLOWED_HOSTS, Vite allowedHosts)"
    )
    sp.add_argument("--i-know", action="store_true", help="share a datastore or a debug server anyway")
    sp.add_argument("--json-log", action="store_true", help="banner and access log as JSON lines")
    sp.add_argument("--no-qr", action="store_true", help="no QR code in the banner")
    sp.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="--http: close a client whose request head takes longer (default 10)",
    )
    sp.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        metavar="N",
        help="relay processes sharing the listener (default: 2 on a machine with 2 or more cores)",
    )
    sp.add_argument(
        "--dry-run", action="store_true", help="print the plan and exit (with --from: plan for a recorded machine)"
    )

    sp = sub.add_parser(
        "audit",
        help="scan code and config for exposure mistakes: servers on every interface, published datastores, "
        "debug servers",
        description="Scan code and config (Python, Procfile, shell, Dockerfile, compose, Makefile, systemd, "
        "uwsgi.ini, nginx) for servers bound to every interface, debug servers reachable beyond this machine, "
        "and container ports published on every host address. Exit 0 when no finding is at or above "
        "--fail-on, 1 when one is, 2 on bad input. Docs: docs/audit.md, rules: docs/RULES.md.",
    )
    sp.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to scan (default: .)")
    sp.add_argument("--format", choices=("text", "json", "sarif"), help="output format (default: text)")
    sp.add_argument("--json", action="store_true", help="the same as --format json (schema: docs/JSON.md)")
    sp.add_argument(
        "--fail-on",
        choices=("info", "low", "medium", "high", "critical"),
        metavar="LEVEL",
        help="exit 1 when a finding is at LEVEL or above: info, low, medium, high, critical "
        "(default: low, or fail-on in [tool.bindscope])",
    )
    sp.add_argument("--include-tests", action="store_true", help="also report findings under tests/ and test/")
    sp.add_argument("-v", "--verbose", action="store_true", help="list skipped files and directories with reasons")
    sp.add_argument("--no-progress", action="store_true", help="no progress bar (it shows only on a terminal)")

    sp = common(sub.add_parser("snapshot", help="write this machine's facts as JSON (for --from)"), snapshot=False)
    sp.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    sp.add_argument("--no-listeners", action="store_true", help="leave listening sockets out")
    sp.add_argument(
        "--all-netns", action="store_true", help="also record every other network namespace (root; for ls --all-netns)"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code. Called with `argv` (from Python), it leaves the
    cycle collector as it found it; without (the program itself: the console script, `python -m
    bindscope`) a collector that `ls` paused stays off until the interpreter exits: its passes at
    exit would walk every object once more for nothing (~4 ms after `ls` on 10,000 sockets)."""
    collecting = gc.isenabled()
    try:
        return _main(argv)
    finally:
        if collecting and argv is not None:
            gc.enable()


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list:
        args_list = list(DEFAULT_ARGS)
    parser = _parser()
    try:
        args = parser.parse_args(args_list)
        if args.command is None:
            parser.error("a command is needed")
        return _run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    except Exception as exc:
        from .errors import BindscopeError, NoFreePort, ShareRefused

        if isinstance(exc, NoFreePort | ShareRefused):
            sys.stderr.write(f"{PROG}: {exc}\n")
            return 1
        if isinstance(exc, BindscopeError):
            sys.stderr.write(f"{PROG}: error: {exc}\n")
            return 2
        if os.environ.get("BINDSCOPE_DEBUG"):
            raise
        sys.stderr.write(f"{PROG}: internal error: {type(exc).__name__}: {exc} (BINDSCOPE_DEBUG=1 shows the trace)\n")
        return 3


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def _snapshot(args: argparse.Namespace) -> Any:
    if getattr(args, "from_file", None):
        from .api import load_snapshot

        return load_snapshot(args.from_file)
    return None


def _emit(args: argparse.Namespace, result: Any, view: str, **extra: Any) -> int:
    """Print `result` as JSON, or as text through render.text.<view> (rich is imported
    only for text output)."""
    machine = getattr(args, "machine", None)
    if args.json:
        data = result.to_dict()
        data.update(extra)
        if machine:
            data["machine"] = machine
        print(json.dumps(data, indent=2))
    else:
        from .render import text

        con = text.console()
        if machine:
            con.print(f"(recorded machine: {machine})", style="dim")
        getattr(text, view)(result, con, **extra)
    return int(result.exit_code)


def _print_json_lines(lines: Iterable[str]) -> None:
    """A JSON array with one object per line: valid JSON for jq, readable with grep. Written a
    few hundred lines at a time: one 10 MB string (10,000 sockets) costs more to build than to print."""
    from itertools import islice

    it = iter(lines)
    batch = list(islice(it, 256))
    if not batch:
        sys.stdout.write("[]\n")
        return
    sep = "[\n"
    while batch:
        sys.stdout.write(sep + ",\n".join(batch))
        sep = ",\n"
        batch = list(islice(it, 256))
    sys.stdout.write("\n]\n")


def _audit(args: argparse.Namespace) -> int:
    from . import api
    from .errors import BindscopeError
    from .render import audit as view

    if args.json and args.format not in (None, "json"):
        raise BindscopeError(f"--json and --format {args.format} do not go together")
    fmt = "json" if args.json else args.format or "text"
    bar = None if args.no_progress or not sys.stderr.isatty() else view.ProgressBar(sys.stderr)
    try:
        report = api.audit(
            args.paths or ["."], fail_on=args.fail_on, include_tests=args.include_tests or None, progress=bar
        )
    finally:
        if bar is not None:
            bar.close()
    if fmt == "json":
        sys.stdout.write(view.to_json(report))
    elif fmt == "sarif":
        sys.stdout.write(view.to_sarif(report))
    else:
        view.text(report, sys.stdout, verbose=args.verbose)
    return report.exit_code


def _run(args: argparse.Namespace) -> int:
    if args.command == "audit":
        return _audit(args)
    if args.command == "ls":
        # ls builds ~10 objects per socket (100,000 for 10,000 sockets) and no garbage cycles: the
        # cycle collector would walk them all again and again for nothing. main() restores it.
        gc.disable()
    from . import api

    snap = _snapshot(args) if args.command != "snapshot" else None
    args.machine = snap.source if snap is not None else None
    if args.command == "ls":
        protos = ("udp",) if args.udp else ("tcp", "udp") if args.all_protos else ("tcp",)
        result = api.listeners(
            protos=protos,
            port=args.port,
            reach=args.reach,
            process=args.process,
            all_netns=args.all_netns,
            snapshot=snap,
        )
        if args.json:
            from .render.jsonout import entry_lines

            _print_json_lines(entry_lines(result.entries))
            return int(result.exit_code)
        return _emit(args, result, "listing")
    if args.command == "doctor":
        if not 0 < args.timeout <= 60:
            from .errors import BindscopeError

            raise BindscopeError("--timeout must be between 0 and 60 seconds")
        result = api.doctor(args.target, snapshot=snap, probe=not args.no_probe, timeout=args.timeout)
        return _emit(args, result, "doctor")
    if args.command == "explain":
        v6only = None if args.v6only is None else args.v6only == "yes"
        return _emit(args, api.explain(args.target, snapshot=snap, v6only=v6only), "explain")
    if args.command == "urls":
        report = api.lan_urls(args.port, snapshot=snap, scheme="https" if args.https else "http", show_all=args.all)
        qr = None
        if args.qr and report.best:
            from .render.qr import terminal_qr

            qr = terminal_qr(report.best)
        return _emit(args, report, "urls", **({"qr": qr} if args.qr else {}))
    if args.command == "port":
        return _emit(args, api.check_port_use(args.port, snapshot=snap, proto="udp" if args.udp else "tcp"), "port")
    if args.command == "free":
        number = api.find_free_port(args.near, host=args.host, snapshot=snap, proto="udp" if args.udp else "tcp")
        if args.json:
            print(
                json.dumps(
                    {
                        "command": "free",
                        "port": number,
                        "near": int(args.near),
                        "host": args.host,
                        "proto": "udp" if args.udp else "tcp",
                    }
                )
            )
        else:
            print(number)
        return 0
    if args.command == "probe":
        report = api.probe(
            args.target, ports=args.ports, timeout=args.timeout, http=args.http, concurrency=args.concurrency
        )
        return _emit(args, report, "probe")
    if args.command == "share":
        from .render import share as view

        options = {
            "mode": "tcp" if args.tcp else "http" if args.http else None,
            "allow": args.allow,
            "i_mean_any": args.i_mean_any,
            "duration": args.duration,
            "listen": args.listen,
            "host_header": args.host_header,
            "i_know": args.i_know,
        }
        if args.dry_run or snap is not None:
            if not args.dry_run:
                from .errors import BindscopeError

                raise BindscopeError("--from plans only: add --dry-run")
            return _emit(args, api.plan_share(args.port, snapshot=snap, **options), "share_plan")
        writer = view.LogWriter(as_json=args.json or args.json_log)
        if not 1 <= args.workers <= 64:
            from .errors import BindscopeError

            raise BindscopeError("--workers must be between 1 and 64")
        handle = api.share(args.port, log=writer, header_timeout=args.header_timeout, **options)
        data = handle.to_dict()
        if writer.as_json:
            writer({"event": "share", **data})
        else:
            qr = None
            if not args.no_qr:
                from .render.qr import terminal_qr

                qr = terminal_qr(data["url"])
            writer.lines.append(view.banner(data, qr))
        writer.flush()
        handle.relay.loop.after_batch.append(writer.flush)
        handle.run(signals=True, workers=args.workers)
        writer.flush()
        return 0
    if args.command == "snapshot":
        if args.all_netns and args.no_listeners:
            from .errors import BindscopeError

            raise BindscopeError("--all-netns records other namespaces' sockets: it does not go with --no-listeners")
        snap = api.snapshot(listeners=not args.no_listeners, all_netns=args.all_netns)
        record = snap.to_dict()
        record["source"] = f"recorded with bindscope {__version__} on {snap.environment.hostname or 'a host'}"
        data = json.dumps(record, indent=2) + "\n"
        if args.output:
            from pathlib import Path

            try:
                Path(args.output).write_text(data, encoding="utf-8")
            except OSError as exc:
                from .errors import BindscopeError

                raise BindscopeError(f"cannot write {args.output!r}: {exc.strerror or exc}") from None
        else:
            sys.stdout.write(data)
        return 0
    raise AssertionError(args.command)
