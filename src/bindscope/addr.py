"""Pure address handling: parse what people paste, classify scopes, format URLs.

No I/O here: hostname resolution lives in collect/, interface facts in the Snapshot.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass

from .errors import BindscopeError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_ZONE = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")
CGNAT = ipaddress.ip_network("100.64.0.0/10")
WILDCARDS = (ipaddress.ip_address("0.0.0.0"), ipaddress.ip_address("::"))


class Scope(enum.StrEnum):
    UNSPECIFIED = "unspecified"  # 0.0.0.0, :: (a wildcard bind)
    LOOPBACK = "loopback"
    LINK_LOCAL = "link-local"
    PRIVATE = "private"  # RFC 1918 and other non-global IPv4 ranges
    CGNAT = "cgnat"  # 100.64.0.0/10: carrier-grade NAT, tailnets
    ULA = "ula"  # fc00::/7
    MULTICAST = "multicast"
    PUBLIC = "public"
    RESERVED = "reserved"

    def __str__(self) -> str:
        return self.value


def scope_of(ip: IPAddress) -> Scope:
    """Classify an address by what kind of network can route to it."""
    if unmapped(ip) is not ip:
        return scope_of(unmapped(ip))
    if ip.is_unspecified:
        return Scope.UNSPECIFIED
    if ip.is_loopback:
        return Scope.LOOPBACK
    if ip.is_link_local:
        return Scope.LINK_LOCAL
    if ip.is_multicast:
        return Scope.MULTICAST
    if isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT:
        return Scope.CGNAT
    if isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.ip_network("fc00::/7"):
        return Scope.ULA
    if ip.is_reserved:
        return Scope.RESERVED
    if ip.is_global:
        return Scope.PUBLIC
    return Scope.PRIVATE


def unmapped(ip: IPAddress) -> IPAddress:
    """The IPv4 address behind an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else `ip`."""
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return mapped or ip


def family(ip: IPAddress) -> str:
    return "ipv4" if ip.version == 4 else "ipv6"


def hostport(host: str | IPAddress, port: int | None, zone: str | None = None) -> str:
    """`127.0.0.1:8000`, `[::1]:8000`, `[fe80::1%eth0]:8000`; bare host when port is None."""
    text = str(host)
    if zone:
        text = f"{text}%{zone}"
    if ":" in text:
        text = f"[{text}]"
    return text if port is None else f"{text}:{port}"


def url(host: str | IPAddress, port: int | None, scheme: str = "http", zone: str | None = None) -> str:
    """The URL a person types. Zones are written `%25` as RFC 6874 asks."""
    text = str(host)
    if zone:
        text = f"{text}%25{zone}"
    if ":" in text:
        text = f"[{text}]"
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        text = f"{text}:{port}"
    return f"{scheme}://{text}/"


def parse_port(text: str, *, what: str = "port") -> int:
    text = text.strip()
    if not text.isdigit() or not text.isascii():
        raise BindscopeError(f"{what} {text[:20]!r} is not a number (expected 1-65535)")
    if len(text.lstrip("0")) > 5:
        raise BindscopeError(f"{what} {text[:20]}{'...' if len(text) > 20 else ''} is out of range (expected 1-65535)")
    value = int(text)
    if not 1 <= value <= 65535:
        raise BindscopeError(f"{what} {value} is out of range (expected 1-65535)")
    return value


@dataclass(frozen=True)
class Target:
    """What a person typed, parsed. Exactly one of `ip`/`name` is set unless `kind` is
    "port" (a port alone) or "any" (`*`: every address, IPv4 and IPv6)."""

    raw: str
    kind: str  # "port" | "ip" | "name" | "any"
    ip: IPAddress | None = None
    zone: str | None = None
    name: str | None = None
    port: int | None = None
    scheme: str | None = None
    note: str | None = None  # how a shorthand was read, e.g. Django's "0:8000"

    @property
    def host_text(self) -> str:
        if self.kind == "ip":
            assert self.ip is not None
            return f"{self.ip}%{self.zone}" if self.zone else str(self.ip)
        if self.kind == "name":
            return self.name or ""
        if self.kind == "any":
            return "*"
        return ""


def parse_target(text: str) -> Target:
    """Parse `5000`, `:5000`, `0:8000`, `*:8080`, `localhost:5000`, `[::1]:8000`, `::`,
    `fe80::1%eth0`, `http://host:port/path`, `https://host`. Raises BindscopeError."""
    if not isinstance(text, str):
        raise BindscopeError("target must be a string")
    raw = text
    text = text.strip()
    if not text:
        raise BindscopeError("empty target: give a port (5000), an address (0.0.0.0) or host:port")
    if any(c.isspace() for c in text) or not text.isprintable():
        raise BindscopeError(f"target {raw!r} contains spaces or control characters")

    if "://" in text:
        return _parse_url(raw, text)
    if text.isdigit():
        return Target(raw, "port", port=parse_port(text))
    if text.startswith(":") and text[1:].isdigit():
        return Target(raw, "port", port=parse_port(text[1:]))

    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise BindscopeError(f"target {raw!r}: '[' without a closing ']'")
        inner, rest = text[1:end], text[end + 1 :]
        if not rest:
            port = None
        elif rest.startswith(":") and len(rest) > 1:
            port = parse_port(rest[1:])
        else:
            raise BindscopeError(f"target {raw!r}: expected ':PORT' after ']'")
        ip, zone = _parse_ip(inner, raw)
        if ip is None or ip.version != 6:
            raise BindscopeError(f"target {raw!r}: brackets hold an IPv6 address, not {inner!r}")
        return Target(raw, "ip", ip=ip, zone=zone, port=port)
    if "]" in text:
        raise BindscopeError(f"target {raw!r}: ']' without an opening '['")

    if text.count(":") >= 2:  # a bare IPv6 address: no port without brackets
        ip, zone = _parse_ip(text, raw)
        if ip is None:
            raise BindscopeError(f"target {raw!r} is not a valid IPv6 address (write IPv6 with a port as [ADDR]:PORT)")
        note = None
        head, _, tail = text.rpartition(":")
        if tail.isdigit() and len(tail) >= 2 and head and _is_ip(head.split("%")[0]):
            note = f"read as the IPv6 address {ip}; for {head} port {tail} write [{head}]:{tail}"
        return Target(raw, "ip", ip=ip, zone=zone, note=note)

    host, sep, port_text = text.partition(":")
    port = parse_port(port_text) if sep else None
    if sep and not host:
        raise BindscopeError(f"target {raw!r}: missing host before ':'")
    return _host_target(raw, host, port, scheme=None, shorthand=True)


def _parse_url(raw: str, text: str) -> Target:
    scheme, _, rest = text.partition("://")
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise BindscopeError(f"target {raw!r}: unsupported scheme {scheme!r} (http, https, ws, wss)")
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    netloc = netloc.rpartition("@")[2]
    if not netloc:
        raise BindscopeError(f"target {raw!r}: URL has no host")
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise BindscopeError(f"target {raw!r}: '[' without a closing ']'")
        inner, tail = netloc[1:end], netloc[end + 1 :]
        ip, zone = _parse_ip(inner.replace("%25", "%"), raw)
        if ip is None or ip.version != 6:
            raise BindscopeError(f"target {raw!r}: brackets hold an IPv6 address, not {inner!r}")
        if tail and not (tail.startswith(":") and len(tail) > 1):
            raise BindscopeError(f"target {raw!r}: expected ':PORT' after ']'")
        port = parse_port(tail[1:]) if tail else DEFAULT_PORTS[scheme]
        return Target(raw, "ip", ip=ip, zone=zone, port=port, scheme=scheme)
    if netloc.count(":") > 1:
        raise BindscopeError(f"target {raw!r}: an IPv6 address in a URL needs brackets: http://[::1]:8000/")
    host, sep, port_text = netloc.partition(":")
    port = parse_port(port_text) if sep else DEFAULT_PORTS[scheme]
    return _host_target(raw, host, port, scheme=scheme, shorthand=False)


def _host_target(raw: str, host: str, port: int | None, *, scheme: str | None, shorthand: bool) -> Target:
    if host == "*":
        return Target(raw, "any", port=port, scheme=scheme, note="'*' means every address, IPv4 and IPv6")
    if shorthand and host == "0" and port is not None:
        return Target(
            raw, "ip", ip=ipaddress.ip_address("0.0.0.0"), port=port, note="'0' is shorthand for 0.0.0.0 (Django)"
        )
    ip, zone = _parse_ip(host, raw)
    if ip is not None:
        if ip.version == 6:  # only reachable through a URL: bare IPv6 is handled above
            raise BindscopeError(f"target {raw!r}: IPv6 with a port needs brackets: [{host}]:{port}")
        return Target(raw, "ip", ip=ip, zone=zone, port=port, scheme=scheme)
    return Target(raw, "name", name=_check_hostname(host, raw), port=port, scheme=scheme)


def _parse_ip(text: str, raw: str) -> tuple[IPAddress | None, str | None]:
    """An IP literal (with an optional %zone) or None when `text` is not one."""
    addr, pct, zone = text.partition("%")
    if pct:
        if not _ZONE.match(zone):
            raise BindscopeError(f"target {raw!r}: bad zone {zone!r} after '%' (expected an interface name)")
        try:
            ip = ipaddress.IPv6Address(addr)
        except ValueError:
            raise BindscopeError(f"target {raw!r}: a %zone follows an IPv6 address only") from None
        return ip, zone
    try:
        return ipaddress.ip_address(addr), None
    except ValueError:
        pass
    if ":" in addr:
        raise BindscopeError(f"target {raw!r}: {addr!r} is not a valid IPv6 address")
    labels = addr.split(".")
    if all(label.isdigit() for label in labels if label) and any(labels):
        raise BindscopeError(f"target {raw!r}: {addr!r} is not a valid IPv4 address")
    return None, None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _check_hostname(host: str, raw: str) -> str:
    name = host.lower().rstrip(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise BindscopeError(f"target {raw!r}: {host!r} is not a valid host name")
    if name.split(".")[-1].isdigit():
        raise BindscopeError(f"target {raw!r}: {host!r} is not a valid IPv4 address or host name")
    return name
