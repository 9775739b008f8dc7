"""Host-header allow-lists: how a dev server says "this Host is not allowed", and the fix.

Plain data; analyze/doctor.py and `probe` match an HTTP reply against it. The markers are
the servers' own texts (Django's DisallowedHost page and its DEBUG=False "Bad Request (400)",
Vite's "Blocked request", webpack-dev-server's "Invalid Host header").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HostCheck:
    id: str
    label: str
    statuses: tuple[int, ...]  # the status it answers with
    markers: tuple[str, ...]  # substrings of the body, any of them
    fix: str  # {host}: the address the client used (no port); {hostport}: with the port
    where: str
    framework: str | None = None  # the server id (knowledge/servers.py) it belongs to
    weak: bool = False  # a marker that other servers may print too: needs the framework


HOST_CHECKS: tuple[HostCheck, ...] = (
    HostCheck(
        "django-disallowed-host",
        "Django DisallowedHost",
        (400,),
        ("DisallowedHost", "Invalid HTTP_HOST header"),
        'ALLOWED_HOSTS = ["{host}", "localhost", "127.0.0.1"]',
        "in settings.py",
        "django runserver",
    ),
    HostCheck(
        "django-bad-request",
        "Django DisallowedHost (DEBUG=False)",
        (400,),
        ("<h1>Bad Request (400)</h1>",),
        'ALLOWED_HOSTS = ["{host}", "localhost", "127.0.0.1"]',
        "in settings.py",
        "django runserver",
        weak=True,
    ),
    HostCheck(
        "vite-blocked-host",
        "Vite blocked the host",
        (403,),
        ("Blocked request. This host",),
        "server: {{ allowedHosts: ['{host}'] }}",
        "in vite.config.js (or start it with --host)",
        "node",
    ),
    HostCheck(
        "webpack-invalid-host",
        "webpack-dev-server: Invalid Host header",
        (400, 403, 200),
        ("Invalid Host header",),
        "devServer: {{ allowedHosts: ['{host}'] }}",
        "in webpack.config.js",
        "node",
    ),
)
