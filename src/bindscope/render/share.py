"""`share`: the banner (text or JSON) and the live access log, one line per event."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, TextIO


def banner(data: dict[str, Any], qr: str | None) -> str:
    """The text a person reads before the log starts (data: Share.to_dict())."""
    server = data["server_label"] or "the server"
    owner = f" ({data['process']}, pid {', '.join(map(str, data['pids']))})" if data["pids"] else ""
    lines = [f"Sharing {server} on {data['upstream']}{owner}"]
    if data["mode"] == "http":
        lines.append("  mode http: the URL's token is asked once, then kept as a cookie; neither reaches the server")
    else:
        lines.append("  mode tcp: a byte relay (any protocol, WebSockets); no token")
    if not data["mode_why"].startswith("--"):
        lines.append(f"  ({data['mode_why']})")
    lines.append("")
    lines.append(f"  Open on the other device:  {data['url']}")
    if qr:
        lines.append("")
        lines.extend(qr.splitlines())
    lines.append("")
    iface = f" ({data['interface']})" if data["interface"] else ""
    lines.append(f"  listening on {data['listen']}{iface}")
    allowed = data["allowed"]
    lines.append(
        "  allowed: ANY address that can route here (--allow any)"
        if allowed == ["any"]
        else f"  allowed: {', '.join(allowed)}; everyone else is refused"
    )
    if data["host_header"]:
        lines.append(f"  Host sent to the server: {data['host_header']}")
    mins = data["seconds"] / 60
    expires = time.strftime("%H:%M:%S", time.strptime(data["expires_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    span = f"{mins:g} min" if mins < 120 else f"{mins / 60:g} h"
    lines.append(f"  expires at {expires} (in {span}); Ctrl-C stops it sooner")
    for note in data["notes"]:
        lines.append(f"  note: {note}")
    lines.append("")
    return "\n".join(lines) + "\n"


_time = time.time


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB"):
        n_f = n / 1000
        if n_f < 1000 or unit == "GB":
            return f"{n_f:.1f} {unit}"
        n = int(n_f)
    return f"{n} B"


def text_line(event: dict[str, Any], clock: str) -> str:
    kind = event["event"]
    who = event.get("client", "")
    if kind == "request":
        note = f"  ({event['note']})" if event.get("note") else ""
        status = event["status"] or "---"
        return (
            f"{clock}  {who:<15}  {status}  {event['request']}  "
            f"{_size(event['bytes_in'])} in, {_size(event['bytes_out'])} out, {event['ms']:g} ms{note}\n"
        )
    if kind == "refused":
        return f"{clock}  {who:<15}  refused: not in the allowed subnets\n"
    if kind == "open":
        return f"{clock}  {who:<15}  connected (port {event['client_port']})\n"
    if kind == "close":
        error = f"  ({event['error']})" if event.get("error") else ""
        note = f"  ({event['note']})" if event.get("note") else ""
        seconds = f", {event['seconds']:g} s" if "seconds" in event else ""
        return (
            f"{clock}  {who:<15}  closed: {_size(event['bytes_in'])} in, "
            f"{_size(event['bytes_out'])} out{seconds}{error}{note}\n"
        )
    if kind == "stopped":
        why = {"expired": "expired", "interrupted": "stopped (Ctrl-C)", "terminated": "stopped (SIGTERM)"}
        return (
            f"{clock}  share {why.get(event['reason'], event['reason'])}: listener closed; "
            f"{event['accepted']} connections served, {event['refused']} refused\n"
        )
    if kind == "error":
        return f"{clock}  {who + '  ' if who else ''}error: {event['error']}\n"
    return f"{clock}  {json.dumps(event)}\n"


class LogWriter:
    """Collects log lines during one loop iteration and writes them at once (`flush`)."""

    def __init__(self, stream: TextIO | None = None, *, as_json: bool = False):
        self.stream = stream or sys.stdout
        self.as_json = as_json
        self.lines: list[str] = []
        self._second = -1
        self._clock = ""
        self._next = 0.0  # request(): when _clock is to be made again
        self._ips: dict[str, str] = {}  # client address -> its column
        self.broken = False

    def __call__(self, event: dict[str, Any]) -> None:
        now = time.time()
        if self.as_json:
            event = {"time": round(now, 3), **event}
            self.lines.append(json.dumps(event, separators=(",", ":")) + "\n")
            return
        sec = int(now)
        if sec != self._second:
            self._second = sec
            self._clock = time.strftime("%H:%M:%S", time.localtime(now))
        self.lines.append(text_line(event, self._clock))

    def request(
        self, ip: str, port: int, line: str, status: int, bytes_in: int, bytes_out: int, ms: float, note: str | None
    ) -> None:
        """One HTTP request (the relay's per-request fast path: no event dict in text mode)."""
        if self.as_json or note:
            from ..sharing.relay import request_event

            self(request_event(ip, port, line, status, bytes_in, bytes_out, ms, note))
            return
        now = _time()
        if now >= self._next:
            self._next = int(now) + 1
            self._clock = time.strftime("%H:%M:%S", time.localtime(now))
        column = self._ips.get(ip) or self._column(ip)
        # the same text as text_line(), without a call per size or float formatting for the usual values
        tenths = int(ms * 10 + 0.5)
        took = f"{tenths // 10}.{tenths % 10}" if tenths % 10 else str(tenths // 10)
        if tenths >= 1000000:  # :g has 6 significant digits
            took = f"{ms:g}"
        self.lines.append(
            f"{self._clock}  {column}  {status or '---'}  {line}  "
            f"{f'{bytes_in} B' if bytes_in < 1000 else _size(bytes_in)} in, "
            f"{f'{bytes_out} B' if bytes_out < 1000 else _size(bytes_out)} out, {took} ms\n"
        )

    def _column(self, ip: str) -> str:
        if len(self._ips) > 4096:
            self._ips.clear()
        column = self._ips[ip] = f"{ip:<15}"
        return column

    def flush(self) -> None:
        """Write the lines collected; in pieces of at most 4 KiB cut at line ends, each one write(2),
        so that the lines of worker processes sharing the output never mix (PIPE_BUF)."""
        if not self.lines:
            return
        lines, self.lines = self.lines, []
        if self.broken:
            return
        try:
            self.stream.flush()
            fd = self.stream.fileno()
        except (OSError, ValueError, AttributeError):
            fd = None
        try:
            if fd is None:
                self.stream.write("".join(lines))
                self.stream.flush()
                return
            data = "".join(lines).encode("utf-8", "replace")
            start, total = 0, len(data)
            while total - start > 4096:  # cut at the last line end within 4 KiB (a longer line: alone)
                cut = data.rfind(b"\n", start, start + 4096) + 1 or data.find(b"\n", start + 4096) + 1 or total
                _write_all(fd, data[start:cut])
                start = cut
            if start < total:
                _write_all(fd, data[start:] if start else data)
        except (BrokenPipeError, OSError, ValueError):
            self.broken = True  # the log's reader went away: keep relaying


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
