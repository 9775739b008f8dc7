"""Host-header allow-lists: how a dev server says "this Host is not allowed", and the fix.

Plain data, read by `probe` (analyze/probeclass.http_check) and `doctor` (which calls the same
function on its self-probe's reply). The markers are the servers' own texts: Django's
DisallowedHost page and its DEBUG=False "Bad Request (400)", Vite's "Blocked request",
webpack-dev-server's "Invalid Host header" (replies recorded in tests/unit/fixtures/probe/).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HostCheck:
    id: str  # also probe's `hint`
    label: str
    markers: tuple[str, ...]  # substrings of the body, any of them
    detail: str  # {host}: the host the client sent, without the port; {host_header}: as sent
    fix: str  # {host}
    where: str
    framework: str | None = None  # the server id (knowledge/servers.py) it belongs to
    statuses: tuple[int, ...] = ()  # when set, the status must be one of these too (a weak marker)


HOST_CHECKS: tuple[HostCheck, ...] = (
    HostCheck(
        "django-allowed-hosts",
        "Django DisallowedHost",
        ("DisallowedHost",),
        "Django rejects Host {host_header!r} (DisallowedHost): {host!r} is not in ALLOWED_HOSTS",
        'ALLOWED_HOSTS = ["{host}", "localhost", "127.0.0.1"]',
        "in settings.py",
        "django runserver",
    ),
    HostCheck(
        "django-allowed-hosts",
        "Django DisallowedHost (DEBUG=False)",
        ("Bad Request (400)",),
        "Django rejects Host {host_header!r} (DisallowedHost): {host!r} is not in ALLOWED_HOSTS",
        'ALLOWED_HOSTS = ["{host}", "localhost", "127.0.0.1"]',
        "in settings.py",
        "django runserver",
        statuses=(400,),
    ),
    HostCheck(
        "vite-allowed-hosts",
        "Vite blocked the host",
        ("Blocked request. This host",),
        "Vite blocks Host {host!r} (it is not in {key})",
        "server: {{ allowedHosts: ['{host}'] }}",
        "in vite.config.js",
        "node",
    ),
    HostCheck(
        "webpack-allowed-hosts",
        "webpack-dev-server: Invalid Host header",
        ("Invalid Host header",),
        "webpack-dev-server answers 'Invalid Host header' to Host {host!r}",
        "devServer: {{ allowedHosts: ['{host}'] }}",
        "in webpack.config.js",
        "node",
    ),
)


def match(status: int, text: str) -> HostCheck | None:
    """The allow-list that rejected a reply, or None."""
    for check in HOST_CHECKS:
        if check.statuses and status not in check.statuses:
            continue
        if any(m in text for m in check.markers):
            return check
    return None
