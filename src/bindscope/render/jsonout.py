"""`ls --json`: one JSON object per socket, one per line, fast enough for 10,000 sockets.

Building a dict per socket and encoding it costs more than everything else `ls` does. But
sockets come in large families that differ only in the port: the same owner, the same bind
address, the same paths. So each distinct part is encoded once and a socket's line is put
together from the encoded parts and its port. The result is byte for byte what
`json.dumps(entry.to_dict(), ensure_ascii=False)` gives (tests/unit check it), and any
entry the fast path cannot be sure about (port 80, whose URLs carry no port) is encoded the
plain way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from ..analyze.listing import Entry, ss_address

_dumps = json.JSONEncoder(ensure_ascii=False).encode
_MARK = "\x00"  # stands for the port while a part is encoded
_MARK_JSON = "\\u0000"


def entry_lines(entries: Iterable[Entry]) -> Iterator[str]:
    # per family (the sockets of one owner bound alike): the family (held, so that its id stays
    # its own) and its encoded parts, or None to encode its entries plainly
    parts: dict[int, tuple[object, tuple[str, str, str, str, list[str]] | None]] = {}
    for e in entries:
        item = e.listener
        port = item.port
        if port == 80:  # its URLs carry no port
            yield _dumps(e.to_dict())
            continue
        family = e._family
        held = parts.get(id(family))
        if held is None or held[0] is not family:
            held = parts[id(family)] = (family, _parts(e))
        cached = held[1]
        if cached is None:
            yield _dumps(e.to_dict())
            continue
        before, local, after, owner, pieces = cached
        p = str(port)
        yield (
            f'{before}"port": {p}, {local}{p}{after}, '
            f'"inode": {"null" if item.inode is None else item.inode}, '
            f'"uid": {"null" if item.uid is None else item.uid}, {owner}, {p.join(pieces)}}}'
        )


def _parts(e: Entry) -> tuple[str, str, str, str, list[str]] | None:
    """A family's JSON around the port, inode and uid: the fields before "port", the "family" to
    "local" fields cut where the port goes, the owner's fields, and "urls" and "paths" cut where
    the port goes. None when a cut is not sure."""
    item = e.listener
    port = item.port
    head = _split(
        _dumps(
            {
                "proto": item.proto,
                "address": item.address,
                "port": 0,
                "family": item.family,
                "v6only": item.v6only,
                "local": ss_address(item)[: -len(str(port))] + _MARK,
            }
        ),
        '"port": 0, ',
    )
    pieces = _tail(e)
    if head is None or pieces is None:
        return None
    local, after = head[1].split(_MARK_JSON)
    full = e.to_dict()
    owner = _dumps(
        {k: full[k] for k in ("user", "pids", "process", "cmdline", "framework", "category", "debug")}
        | {k: full[k] for k in ("reach", "maybe_reach", "netns", "warnings")}
    )[1:-1]
    return head[0], local, after, owner, pieces


def _split(text: str, port_field: str) -> tuple[str, str] | None:
    """'{"proto": ..., "address": ..., "port": 0, "family": ..., "local": "127.0.0.1:\\u0000"}'
    -> ('{"proto": ..., "address": ..., ', '"family": ..., "local": "127.0.0.1:\\u0000"')."""
    if text.count(port_field) != 1 or text.count(_MARK_JSON) != 1:
        return None
    before, after = text.split(port_field)
    return before, after[:-1]


def _tail(e: Entry) -> list[str] | None:
    """The "urls" and "paths" fields, cut where the port goes; None when the cut is not sure
    (a field holding the mark itself, a URL without the port)."""
    port = e.listener.port
    full = e.to_dict()
    marked = {
        "urls": [_mark(u, port) for u in full["urls"]],
        "paths": [
            {**path, "url": _mark(path["url"], port), "target": _mark(path["target"], port)} for path in full["paths"]
        ],
    }
    expected = len(full["urls"]) + sum(1 + (path["url"] is not None) for path in full["paths"])
    pieces = _dumps(marked)[1:-1].split(_MARK_JSON)
    return pieces if len(pieces) == expected + 1 else None


def _mark(text: str | None, port: int) -> str | None:
    """Put the mark where the port is: at the end of a host:port, or before the URL's '/'."""
    if text is None:
        return None
    p = str(port)
    if text.endswith(f":{p}/"):
        return text[: -len(p) - 1] + _MARK + "/"
    if text.endswith(f":{p}"):
        return text[: -len(p)] + _MARK
    return text
