"""Evaluate Linux firewall rules for one incoming connection (pure).

The question: a new TCP/UDP connection to port P, arriving on interface I for local address D,
from a source somewhere in a set S (the interface's subnet, or anywhere else) -- what happens
to it? Rules come from `nft -j list ruleset` (JSON) and `iptables-save` / `ip6tables-save`
(text, legacy and nft backends); ufw and firewalld are rules in those same rulesets.

The source address is symbolic: a rule matching `ip saddr 198.51.100.0/24` splits S into the
part it matches and the rest, and each part goes its own way. Everything else about the packet
is fixed, so a condition is true, false, or not understood. A rule the evaluator does not
understand is followed both ways (matched and not matched): when both lead to the same
verdict it did not matter; when they differ the verdict is "unknown" and quotes the rule.
Never "allowed" when unsure.

The evaluated subset (docs/firewall.md): base chains on the input hook (and the prerouting hook:
drops and DNAT) ordered by priority, chain policies, accept / drop / reject / jump / goto /
return, counter / log (no effect), iif / iifname (with wildcards), ip / ip6 saddr / daddr with
prefixes, ranges and sets (anonymous and named), tcp / udp / th dport with sets and ranges,
meta l4proto / nfproto / pkttype, ct state (the connection is new), ct status, the reverse path
check firewalld uses (fib saddr . iif oif missing), rate limits (followed both ways); iptables:
-p, -s, -d, -i, --dport, -m multiport --dports, -m conntrack --ctstate, -m state --state,
-m addrtype, -m comment, -m limit, -j / -g to a user chain, ACCEPT, DROP, REJECT, RETURN, LOG.
"""

from __future__ import annotations

import bisect
import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..addr import IPAddress

# -- sets of source addresses: sorted, disjoint, inclusive integer intervals ------------------
Ranges = tuple[tuple[int, int], ...]
_MAX = {4: (1 << 32) - 1, 6: (1 << 128) - 1}


def _norm(items: Iterable[tuple[int, int]]) -> Ranges:
    out: list[list[int]] = []
    for lo, hi in sorted(items):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def r_and(a: Ranges, b: Ranges) -> Ranges:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def r_or(a: Ranges, b: Ranges) -> Ranges:
    return _norm((*a, *b))


def r_sub(a: Ranges, b: Ranges) -> Ranges:
    out = []
    for lo, hi in a:
        cur = lo
        for blo, bhi in b:
            if bhi < cur or blo > hi:
                continue
            if blo > cur:
                out.append((cur, blo - 1))
            cur = max(cur, bhi + 1)
            if cur > hi:
                break
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


def net_ranges(nets: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> Ranges:
    return _norm((int(n.network_address), int(n.broadcast_address)) for n in nets)


def everything(family: int) -> Ranges:
    return ((0, _MAX[family]),)


def ranges_text(r: Ranges, family: int) -> list[str]:
    """CIDR blocks of a range set, for a person."""
    make = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    out: list[str] = []
    for lo, hi in r:
        out.extend(str(n) for n in ipaddress.summarize_address_range(make(lo), make(hi)))
    return out


# -- the packet -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Packet:
    """A new connection: everything but its source address is known."""

    family: int  # 4 | 6
    proto: str  # tcp | udp
    dport: int
    iif: str
    daddr: IPAddress
    iif_default_route: bool = False  # the interface carries a default route (reverse path ok from anywhere)
    iif_nets: Ranges = ()  # the interface's subnets of this family (reverse path ok from there)
    # Forwarded after a DNAT (a Docker published port): the interface it leaves by (None: not known, or the
    # input hook, which has none), the destination before the DNAT (what conntrack's "original" tuple holds).
    oif: str | None = None
    orig_daddr: IPAddress | None = None
    orig_dport: int | None = None

    @property
    def dnat(self) -> bool:
        return self.orig_daddr is not None

    @property
    def local(self) -> bool:
        """Addressed to this machine (the input path) rather than forwarded."""
        return self.orig_daddr is None


# -- rules ------------------------------------------------------------------------------------
# A condition: ("pkt", fn(packet) -> True | False | None) or ("saddr", ranges by family, negated).
@dataclass(frozen=True)
class Cond:
    kind: str  # "pkt" | "saddr"
    test: Callable[[Packet], bool | None] | None = None
    addrs: dict[int, Ranges] = field(default_factory=dict)
    negate: bool = False
    maybe: str | None = None  # why a None result is not "not understood" (a rate limit)


def _const(value: bool | None) -> Cond:
    return Cond("pkt", lambda _p: value)


UNKNOWN = _const(None)


@dataclass(frozen=True)
class Verdict:
    kind: str  # accept | drop | reject | jump | goto | return | dnat | unknown
    target: str | None = None  # chain for jump/goto, address for dnat
    detail: str | None = None  # reject type ("tcp reset", "icmpx admin-prohibited")


@dataclass
class Rule:
    conds: list[Cond]
    verdict: Verdict | None  # None: no effect on the verdict (counter, log, mark)
    text: str  # the rule as a person reads it
    label: str  # "nft rule `inet filter input: tcp dport 5000 drop` (handle 7)"
    understood: bool = True  # False: some part was not understood (conds contain UNKNOWN)


@dataclass
class Chain:
    name: str
    rules: list[Rule]
    origin: str  # nft | iptables | ip6tables | iptables-legacy | ip6tables-legacy
    table: str  # "inet filter" / "filter"
    family: str  # inet | ip | ip6 | ...
    hook: str | None = None
    priority: int = 0
    policy: str | None = None  # accept | drop (base chains)
    kind: str = "filter"  # filter | nat | route

    @property
    def families(self) -> tuple[int, ...]:
        return {"ip": (4,), "ip6": (6,), "inet": (4, 6)}.get(self.family, ())


@dataclass
class Ruleset:
    """Chains of every table, by (origin, table, name); base chains listed in hook order."""

    chains: dict[tuple[str, str, str], Chain] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Where a destination port condition changes its answer: ports between two marks are treated
    # alike by every rule, so one evaluation serves them all (10,000 sockets, a handful of classes).
    marks: set[int] = field(default_factory=set)

    def port_class(self, port: int) -> int:
        sorted_marks = self.__dict__.get("_sorted")
        if sorted_marks is None or len(sorted_marks) != len(self.marks):
            sorted_marks = self.__dict__["_sorted"] = sorted(self.marks)
        return bisect.bisect_right(sorted_marks, port)

    def add(self, chain: Chain) -> None:
        self.chains[(chain.origin, chain.table, chain.name)] = chain

    def base(self, family: int, hooks: tuple[str, ...] = ("prerouting", "input")) -> list[Chain]:
        order = {h: i for i, h in enumerate(hooks)}
        out = [c for c in self.chains.values() if c.hook in order and family in c.families]
        return sorted(out, key=lambda c: (order[c.hook or ""], c.priority))

    @property
    def empty(self) -> bool:
        return not any(c.hook in ("prerouting", "input") for c in self.chains.values())


# -- outcomes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    kind: str  # accept | drop | reject | dnat | unknown
    by: str | None  # what decided it, for a person
    detail: str | None = None  # reject type, DNAT target, unknown reason

    @property
    def verdict(self) -> str:
        return {"accept": "open", "dnat": "open", "drop": "blocked", "reject": "blocked"}.get(self.kind, "unknown")

    @property
    def client_sees(self) -> str:
        """What the client's connect() gets when this outcome meets it (given a socket that
        takes the connection): connected, refused (RST or port unreachable), unreachable
        (another ICMP error), timeout (dropped)."""
        if self.kind in ("accept", "dnat"):
            return "connected"
        if self.kind == "drop":
            return "timeout"
        if self.kind == "reject":
            d = self.detail or ""
            if "tcp reset" in d or "tcp-reset" in d or d in ("", "port-unreachable", "icmp-port-unreachable"):
                return "refused"
            if "port-unreachable" in d or "port-unreach" in d:
                return "refused"
            return "unreachable"
        return "unknown"


RETURN = Outcome("return", None)


@dataclass(frozen=True)
class Branch:
    src: Ranges
    outcome: Outcome
    doubts: tuple[str, ...] = ()  # rules followed both ways on the way here


class TooComplex(Exception):
    pass


class Evaluator:
    """Walk a Ruleset for one packet over a set of sources."""

    MAX_BRANCHES = 4096
    MAX_DEPTH = 64

    def __init__(self, ruleset: Ruleset, labeller: Callable[[Chain, Rule | None, Outcome, tuple[str, ...]], str]):
        self.rs = ruleset
        self.label = labeller
        self._steps = 0
        self.forwarded: list[tuple[Ranges, str]] = []  # (sources, DNAT target) sent on through this machine

    def run(self, pkt: Packet, src: Ranges, forward: Callable[[Outcome], Packet | None] | None = None) -> list[Branch]:
        """Every outcome of a new connection from `src`. `forward(outcome)` gives the packet a DNAT sends
        on through this machine (a Docker published port: the container's address and port, leaving by
        its bridge), or None for a DNAT to this machine itself; such a connection then goes through the
        rest of the prerouting chains and the forward hook, not the input hook."""
        self._steps = 0
        self.forwarded = []
        fam = pkt.family
        start = [Branch(src, Outcome("accept", None))]
        final: list[Branch] = []
        try:
            pre = self.rs.base(fam, ("prerouting",))
            live: list[Branch] = start
            onward: list[tuple[Branch, Packet, list[Chain]]] = []
            for k, chain in enumerate(pre):
                nxt, stopped = self._pass([chain], live, pkt)
                for b in stopped:
                    fpkt = forward(b.outcome) if forward is not None and b.outcome.kind == "dnat" else None
                    if fpkt is None:
                        final.append(b)
                    else:
                        onward.append((b, fpkt, pre[k + 1 :]))
                        self.forwarded.append((b.src, b.outcome.detail or ""))
                live = nxt
            passed, stopped = self._pass(self.rs.base(fam, ("input",)), live, pkt)
            final += stopped + passed
            fwd = self.rs.base(fam, ("forward",))
            for b, fpkt, rest in onward:
                passed, stopped = self._pass(rest + fwd, [b], fpkt)
                final += stopped + passed
        except TooComplex:
            return [Branch(src, Outcome("unknown", None, "the ruleset branches too much to evaluate"))]
        return final

    def _pass(self, chains: list[Chain], live: list[Branch], pkt: Packet) -> tuple[list[Branch], list[Branch]]:
        """Walk base chains in order: (branches every chain accepted, branches a chain stopped)."""
        final: list[Branch] = []
        for chain in chains:
            nxt: list[Branch] = []
            for b in live:
                for r in self._walk(chain, 0, b.src, b.doubts, pkt, (chain.name,), 0):
                    out = r.outcome
                    if out is RETURN:  # fell off the base chain: its policy
                        kind = chain.policy or "accept"
                        out = Outcome(
                            kind, None if kind == "accept" else self.label(chain, None, Outcome(kind, None), ())
                        )
                    if out.kind == "accept":
                        nxt.append(Branch(r.src, b.outcome if b.outcome.by else out, r.doubts))
                    else:
                        final.append(Branch(r.src, out, r.doubts))
            live = nxt
        return live, final

    def _walk(
        self,
        chain: Chain,
        start: int,
        src: Ranges,
        doubts: tuple[str, ...],
        pkt: Packet,
        via: tuple[str, ...],
        depth: int,
    ) -> list[Branch]:
        if depth > self.MAX_DEPTH:
            raise TooComplex
        out: list[Branch] = []
        rules = chain.rules
        i = start
        while i < len(rules) and src:
            rule = rules[i]
            self._steps += 1
            if self._steps > self.MAX_BRANCHES * 8:
                raise TooComplex
            if rule.verdict is None:
                i += 1
                continue
            m, n, u, why = _split(rule, pkt, src)
            if u:
                d2 = (*doubts, why or rule.label)
                out += self._apply(chain, i, rule, u, d2, pkt, via, depth)
                out += self._walk(chain, i + 1, u, d2, pkt, via, depth + 1)
            if m:
                out += self._apply(chain, i, rule, m, doubts, pkt, via, depth)
            if len(out) > self.MAX_BRANCHES:
                raise TooComplex
            src = n
            i += 1
        if src:
            out.append(Branch(src, RETURN, doubts))
        return out

    def _apply(
        self,
        chain: Chain,
        i: int,
        rule: Rule,
        src: Ranges,
        doubts: tuple[str, ...],
        pkt: Packet,
        via: tuple[str, ...],
        depth: int,
    ) -> list[Branch]:
        v = rule.verdict
        assert v is not None
        if v.kind in ("accept", "drop", "reject", "dnat", "unknown"):
            out = Outcome(v.kind, None, v.detail if v.kind != "dnat" else v.target)
            if v.kind == "unknown":
                out = Outcome("unknown", rule.label, f"rule not understood (`{rule.text}`)")
            elif v.kind != "accept":
                out = Outcome(v.kind, self.label(chain, rule, out, via), out.detail)
            return [Branch(src, out, doubts)]
        if v.kind == "return":
            return [Branch(src, RETURN, doubts)]
        target = self.rs.chains.get((chain.origin, chain.table, v.target or ""))
        if target is None:
            return [
                Branch(
                    src,
                    Outcome("unknown", rule.label, f"rule not understood (`{rule.text}`): no chain {v.target}"),
                    doubts,
                )
            ]
        sub = self._walk(target, 0, src, doubts, pkt, (*via, target.name), depth + 1)
        if v.kind == "goto":
            return sub
        out: list[Branch] = []
        for b in sub:
            if b.outcome is RETURN:
                out += self._walk(chain, i + 1, b.src, b.doubts, pkt, via, depth + 1)
            else:
                out.append(b)
        return out


def _split(rule: Rule, pkt: Packet, src: Ranges) -> tuple[Ranges, Ranges, Ranges, str | None]:
    """Split the sources into (match, no match, unsure) for a rule's conditions (all must hold)."""
    match: Ranges = src
    nomatch: Ranges = ()
    unsure: Ranges = ()
    why: str | None = None
    for c in rule.conds:
        if c.kind in ("saddr", "rpf"):
            if c.kind == "rpf":  # matches the sources that do not route back through the interface
                sel: Ranges | None = () if pkt.iif_default_route else r_sub(everything(pkt.family), pkt.iif_nets)
            else:
                sel = c.addrs.get(pkt.family)
            if sel is None:  # an address of the other family: the rule cannot match this packet
                return (), src, (), None
            hit = r_and(match, sel) if not c.negate else r_sub(match, sel)
            nomatch = r_or(nomatch, r_sub(match, hit))
            match = hit
            if unsure:
                uhit = r_and(unsure, sel) if not c.negate else r_sub(unsure, sel)
                nomatch = r_or(nomatch, r_sub(unsure, uhit))
                unsure = uhit
            continue
        value = c.test(pkt) if c.test else None
        if value is False:
            return (), src, (), None
        if value is None:
            unsure = r_or(unsure, match)
            match = ()
            if why is None:
                why = f"{c.maybe} (`{rule.text}`)" if c.maybe else f"rule not understood (`{rule.text}`)"
    return match, nomatch, unsure, why


# -- summarising branches for a set of clients -----------------------------------------------
@dataclass(frozen=True)
class SourceVerdict:
    """What the firewall does with a new connection from a set of sources."""

    sources: str  # "198.51.100.0/24" | "elsewhere" (every other source)
    verdict: str  # open | blocked | unknown | partial
    by: str | None  # what blocks it (partial: the part blocked) / the rule not understood
    client_sees: str  # connected | refused | unreachable | timeout | unknown (partial: for the blocked part)
    # partial: the sources it is open for, or (when that is the shorter list) those it blocks
    open_from: tuple[str, ...] = ()
    blocked_from: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.sources,
            "verdict": self.verdict,
            "by": self.by,
            "client_sees": self.client_sees,
            "open_from": list(self.open_from),
            "blocked_from": list(self.blocked_from),
        }


def summarise(branches: list[Branch], clients: Ranges, family: int, label: str) -> SourceVerdict:
    opened: Ranges = ()
    blocked: Ranges = ()
    unknown: Ranges = ()
    first_block: Outcome | None = None
    first_unknown: str | None = None
    for b in branches:
        part = r_and(b.src, clients)
        if not part:
            continue
        v = b.outcome.verdict
        if v == "open":
            opened = r_or(opened, part)
        elif v == "blocked":
            blocked = r_or(blocked, part)
            if first_block is None:
                first_block = b.outcome
        else:
            unknown = r_or(unknown, part)
            if first_unknown is None:
                first_unknown = b.outcome.detail or "rule not understood"
    conflict = r_or(r_and(opened, blocked), unknown)
    if conflict:
        reason = first_unknown
        if reason is None:  # a rule followed both ways gave different verdicts: name it
            for b in branches:
                if b.doubts and r_and(b.src, conflict):
                    reason = b.doubts[0]
                    break
        return SourceVerdict(label, "unknown", reason or "rule not understood", "unknown")
    if blocked and not opened:
        assert first_block is not None
        return SourceVerdict(label, "blocked", first_block.by, first_block.client_sees)
    if (opened and not blocked) or (not opened and not blocked):
        return SourceVerdict(label, "open", None, "connected")
    assert first_block is not None
    yes, no = ranges_text(opened, family), ranges_text(blocked, family)
    if len(yes) <= len(no):
        return SourceVerdict(label, "partial", first_block.by, first_block.client_sees, open_from=tuple(yes))
    return SourceVerdict(label, "partial", first_block.by, first_block.client_sees, blocked_from=tuple(no))


# -- nftables JSON ----------------------------------------------------------------------------
_HOOK_PRIO = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}


def _prio(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value).replace(" ", "")
    m = re.fullmatch(r"([a-z]+)([+-]\d+)?", text)
    if m and m.group(1) in _HOOK_PRIO:
        return _HOOK_PRIO[m.group(1)] + int(m.group(2) or 0)
    try:
        return int(text)
    except ValueError:
        return 0


IPTABLES_NFT_TABLES = ("filter", "nat", "mangle", "raw", "security")


def iptables_nft_tables(data: Any) -> set[tuple[str, str]]:
    """(family, table) of the nft tables iptables-nft manages (uppercase base chains, xt matches)."""
    out: set[tuple[str, str]] = set()
    for obj in _nft_objects(data):
        c = obj.get("chain")
        if (
            c
            and c.get("family") in ("ip", "ip6")
            and c.get("table") in IPTABLES_NFT_TABLES
            and c.get("name", "") in ("INPUT", "PREROUTING", "FORWARD", "OUTPUT", "POSTROUTING")
        ):
            out.add((c["family"], c["table"]))
        r = obj.get("rule")
        if r and any(isinstance(e, dict) and "xt" in e for e in r.get("expr", ())):
            out.add((r.get("family", ""), r.get("table", "")))
    return out


def _nft_objects(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        items = data.get("nftables", [])
        return [o for o in items if isinstance(o, dict)] if isinstance(items, list) else []
    return []


def parse_nft(text: str, rs: Ruleset, skip_tables: set[tuple[str, str]] = frozenset()) -> None:  # type: ignore[assignment]
    """Add the chains of `nft -j list ruleset` to `rs`."""
    global _MARKS
    _MARKS = rs.marks
    try:
        _parse_nft(text, rs, skip_tables)
    finally:
        _MARKS = None


def _parse_nft(text: str, rs: Ruleset, skip_tables: set[tuple[str, str]]) -> None:
    try:
        data = json.loads(text) if text.strip() else {"nftables": []}
    except json.JSONDecodeError as exc:
        rs.notes.append(f"nft -j list ruleset: not JSON ({exc.msg})")
        return
    objs = _nft_objects(data)
    sets: dict[tuple[str, str, str], list[Any]] = {}
    maps: dict[tuple[str, str, str], list[Any]] = {}
    for o in objs:
        s = o.get("set") or o.get("map")
        if s:
            key = (s.get("family", ""), s.get("table", ""), s.get("name", ""))
            (sets if "map" not in o else maps)[key] = list(s.get("elem", []) or [])
    for o in objs:
        c = o.get("chain")
        if not c or (c.get("family"), c.get("table")) in skip_tables:
            continue
        table = f"{c.get('family')} {c.get('table')}"
        rs.add(
            Chain(
                name=str(c.get("name")),
                rules=[],
                origin="nft",
                table=table,
                family=str(c.get("family")),
                hook=c.get("hook"),
                priority=_prio(c.get("prio", 0)),
                policy=c.get("policy", "accept") if c.get("hook") else None,
                kind=str(c.get("type", "filter")),
            )
        )
    for o in objs:
        r = o.get("rule")
        if not r or (r.get("family"), r.get("table")) in skip_tables:
            continue
        table = f"{r.get('family')} {r.get('table')}"
        chain = rs.chains.get(("nft", table, str(r.get("chain"))))
        if chain is None:
            continue
        fam, tname = str(r.get("family")), str(r.get("table"))
        rule = _nft_rule(r, chain, lambda name, f=fam, t=tname: sets.get((f, t, name)))
        vmap = _nft_vmap(r, rule, lambda name, f=fam, t=tname: maps.get((f, t, name)))
        chain.rules.extend(vmap if vmap is not None else [rule])


def _nft_rule(r: dict[str, Any], chain: Chain, named: Callable[[str], list[Any] | None]) -> Rule:
    conds: list[Cond] = []
    verdict: Verdict | None = None
    words: list[str] = []
    understood = True
    for e in r.get("expr", []) or []:
        if not isinstance(e, dict) or len(e) != 1:
            conds.append(UNKNOWN)
            understood = False
            words.append(json.dumps(e, separators=(",", ":")))
            continue
        ((key, val),) = e.items()
        if key == "match":
            cond, text = _nft_match(val, chain, named)
            if cond is UNKNOWN:
                understood = False
            conds.append(cond)
            words.append(text)
        elif key in ("accept", "drop", "return", "continue"):
            words.append(key)
            if key != "continue" and verdict is None:
                verdict = Verdict(key)
        elif key in ("jump", "goto"):
            target = (val or {}).get("target")
            words.append(f"{key} {target}")
            verdict = verdict or Verdict(key, str(target))
        elif key == "reject":
            detail = _reject_text(val)
            words.append("reject" + (f" with {detail}" if detail != "icmpx port-unreachable" else ""))
            verdict = verdict or Verdict("reject", None, detail)
        elif key in ("counter", "log", "notrack", "mangle", "meta", "ct", "set", "quota_ignore"):
            words.append(_nft_stmt_text(key, val))
        elif key == "limit":
            words.append(_nft_stmt_text(key, val))
            conds.append(Cond("pkt", lambda _p: None, maybe="depends on a rate limit"))
        elif key in ("dnat", "redirect"):
            addr = (val or {}).get("addr") if isinstance(val, dict) else None
            port = (val or {}).get("port") if isinstance(val, dict) else None
            host = f"[{addr}]" if isinstance(addr, str) and ":" in addr and port else addr
            target = f"{host}:{port}" if addr and port else str(addr or port or "")
            words.append(f"{key} to {target}")
            verdict = verdict or Verdict("dnat", target)
        elif key in ("snat", "masquerade"):
            words.append(key)
        else:  # queue, vmap, anything else: the verdict is not known
            words.append(f"{key} {json.dumps(val, separators=(',', ':'))}" if val is not None else key)
            understood = False
            verdict = verdict or Verdict("unknown")
    text = f"{chain.table} {chain.name}: {' '.join(words)}"
    label = f"nft rule `{text}` (handle {r.get('handle')})"
    return Rule(conds, verdict, text, label, understood)


def _nft_vmap(r: dict[str, Any], rule: Rule, named: Callable[[str], list[Any] | None]) -> list[Rule] | None:
    """A rule ending in a verdict map on the interface (`oifname vmap @filter-forward-in-jumps`, Docker's
    nftables layout) as one rule per element: its conditions, `key == element`, the element's verdict.
    None: no verdict map, or one not understood (the rule stays, its verdict unknown)."""
    exprs = [e for e in r.get("expr", []) or [] if isinstance(e, dict)]
    if not exprs or "vmap" not in exprs[-1] or not isinstance(exprs[-1]["vmap"], dict):
        return None
    vm = exprs[-1]["vmap"]
    key = (vm.get("key") or {}).get("meta", {}).get("key") if isinstance(vm.get("key"), dict) else None
    data = vm.get("data")
    elems = named(data[1:]) if isinstance(data, str) and data.startswith("@") else _elements(data, named)
    if key not in ("iifname", "oifname", "iif", "oif") or not elems or any(e is UNKNOWN for e in rule.conds):
        return None
    out: list[Rule] = []
    for e in elems:
        pair = e if isinstance(e, list) else None
        if pair is None or len(pair) != 2 or not isinstance(pair[1], dict) or len(pair[1]) != 1:
            return None
        name, ((kind, val),) = str(_unwrap(pair[0])), pair[1].items()
        if kind in ("jump", "goto"):
            verdict = Verdict(kind, str((val or {}).get("target")))
        elif kind in ("accept", "drop", "return"):
            verdict = Verdict(kind)
        else:
            return None
        if key.startswith("i"):
            test = Cond("pkt", lambda p, n=name, w=key == "iifname": _ifmatch(n, p.iif, w))
        else:
            test = Cond("pkt", lambda p, n=name, w=key == "oifname": _oif_match(n, p, w))
        text = (
            f'{rule.text.rsplit(" vmap ", 1)[0]} {key} "{name}" {kind}{" " + verdict.target if verdict.target else ""}'
        )
        out.append(Rule([*rule.conds, test], verdict, text, rule.label, rule.understood))
    return out


def _reject_text(val: Any) -> str:
    if not isinstance(val, dict):
        return "icmpx port-unreachable"
    kind = val.get("type", "icmpx")
    if kind == "tcp reset":
        return "tcp reset"
    return f"{kind} {val.get('expr', 'port-unreachable')}"


def _nft_stmt_text(key: str, val: Any) -> str:
    if key == "counter":
        return "counter"
    if key == "log":
        prefix = (val or {}).get("prefix") if isinstance(val, dict) else None
        return f'log prefix "{prefix}"' if prefix else "log"
    if key == "limit" and isinstance(val, dict):
        return f"limit rate {val.get('rate')}/{val.get('per')}"
    return key if val is None else f"{key} {json.dumps(val, separators=(',', ':'))}"


def _nft_value_text(v: Any) -> str:
    if isinstance(v, dict):
        if "set" in v:
            return "{ " + ", ".join(_nft_value_text(x) for x in v["set"]) + " }"
        if "range" in v:
            a, b = v["range"]
            return f"{_nft_value_text(a)}-{_nft_value_text(b)}"
        if "prefix" in v:
            return f"{v['prefix']['addr']}/{v['prefix']['len']}"
        if "elem" in v:
            return _nft_value_text(v["elem"].get("val"))
        return json.dumps(v, separators=(",", ":"))
    if isinstance(v, list):
        return ",".join(_nft_value_text(x) for x in v)
    return str(v)


def _nft_left_text(left: Any) -> str:
    if isinstance(left, dict):
        if "payload" in left:
            p = left["payload"]
            return f"{p.get('protocol')} {p.get('field')}"
        if "meta" in left:
            key = left["meta"].get("key")
            return key if key in ("iif", "iifname", "oif", "oifname", "mark", "pkttype") else f"meta {key}"
        if "ct" in left:
            ct = left["ct"]
            return f"ct {ct['dir'] + ' ' if ct.get('dir') else ''}{ct.get('key')}"
        if "fib" in left:
            f = left["fib"]
            return f"fib {' . '.join(f.get('flags', []))} {f.get('result')}"
    return json.dumps(left, separators=(",", ":"))


def _elements(right: Any, named: Callable[[str], list[Any] | None]) -> list[Any] | None:
    """The values a match's right side stands for (a list); None when not understood."""
    if isinstance(right, str) and right.startswith("@"):
        return named(right[1:])
    if isinstance(right, dict) and "set" in right:
        return list(right["set"])
    if isinstance(right, list):
        return list(right)
    return [right]


def _unwrap(v: Any) -> Any:
    if isinstance(v, dict) and "elem" in v:
        return v["elem"].get("val")
    return v


def _nft_match(m: dict[str, Any], chain: Chain, named: Callable[[str], list[Any] | None]) -> tuple[Cond, str]:
    op = m.get("op", "==")
    left, right = m.get("left"), m.get("right")
    rtext = _nft_value_text(right)
    if isinstance(left, dict) and "meta" in left and left["meta"].get("key") in ("iifname", "oifname"):
        rtext = f'"{rtext}"' if not rtext.startswith("{") else rtext
    text = f"{_nft_left_text(left)} {'' if op in ('==', 'in') else op + ' '}{rtext}"
    try:
        cond = _nft_cond(op, left, right, named)
    except (ValueError, TypeError, KeyError, AttributeError):
        cond = UNKNOWN
    return cond, text


def _negate(cond: Cond, op: str) -> Cond:
    if op != "!=":
        return cond
    if cond.kind == "saddr":
        return Cond("saddr", addrs=cond.addrs, negate=not cond.negate)
    test = cond.test

    def neg(p: Packet) -> bool | None:
        v = test(p) if test else None
        return None if v is None else not v

    return Cond("pkt", neg)


def _nft_cond(op: str, left: Any, right: Any, named: Callable[[str], list[Any] | None]) -> Cond:
    if op not in ("==", "!=", "in", "<", ">", "<=", ">="):
        return UNKNOWN
    if not isinstance(left, dict):
        return UNKNOWN
    elems = _elements(right, named)
    if elems is None:
        return UNKNOWN
    elems = [_unwrap(e) for e in elems]
    if "payload" in left:
        proto, fld = left["payload"].get("protocol"), left["payload"].get("field")
        if proto in ("ip", "ip6") and fld in ("saddr", "daddr"):
            fam = 4 if proto == "ip" else 6
            if op in ("<", ">", "<=", ">="):
                return UNKNOWN
            r = _addr_ranges(elems, fam)
            if fld == "saddr":
                return _negate(Cond("saddr", addrs={fam: r}), op)
            return _negate(Cond("pkt", lambda p, r=r, fam=fam: p.family == fam and _in(r, int(p.daddr))), op)
        if proto in ("ip", "ip6") and fld in ("protocol", "nexthdr"):
            fam = 4 if proto == "ip" else 6
            names = {_proto_name(e) for e in elems}
            return _guard(fam, _negate(Cond("pkt", lambda p, n=names: p.proto in n), op))
        if proto in ("tcp", "udp", "th", "sctp", "udplite", "dccp") and fld == "dport":
            ports = _port_ranges(elems)
            _mark(ports)
            test = _cmp_test(op, ports)
            if proto in ("th",):
                return Cond("pkt", lambda p: test(p.dport))
            return Cond("pkt", lambda p, pr=proto: False if p.proto != pr else test(p.dport))
        if proto in ("tcp", "udp", "th") and fld == "sport":
            return Cond("pkt", lambda p, pr=proto: False if pr != "th" and p.proto != pr else None)
        if proto in ("icmp", "icmpv6", "igmp", "esp", "ah", "sctp", "gre", "vlan", "arp"):
            return _const(False)  # a header a TCP/UDP packet does not have
        if proto in ("tcp", "udp"):
            return Cond("pkt", lambda p, pr=proto: False if p.proto != pr else None)
        return UNKNOWN
    if "meta" in left:
        key = left["meta"].get("key")
        if key in ("l4proto", "protocol", "nfproto"):
            if key == "l4proto":
                names = {_proto_name(e) for e in elems}
                return _negate(Cond("pkt", lambda p, n=names: p.proto in n), op)
            if key == "nfproto":
                fams = {4 if str(e) in ("ipv4", "2") else 6 if str(e) in ("ipv6", "10") else 0 for e in elems}
                return _negate(Cond("pkt", lambda p, f=fams: p.family in f), op)
            names = {str(e) for e in elems}  # ethertype: ip / ip6
            return _negate(Cond("pkt", lambda p, n=names: ("ip" if p.family == 4 else "ip6") in n), op)
        if key in ("iif", "iifname"):
            pats = [str(e) for e in elems]
            wild = key == "iifname"
            return _negate(Cond("pkt", lambda p, ps=pats, w=wild: any(_ifmatch(x, p.iif, w) for x in ps)), op)
        if key in ("oif", "oifname"):  # none on the input hook; the bridge on a forward after a DNAT
            pats = [str(e) for e in elems]
            wild = key == "oifname"

            def oif(p: Packet, ps: list[str] = pats, w: bool = wild) -> bool | None:
                hits = [_oif_match(x, p, w) for x in ps]
                return None if None in hits else any(hits)

            return _negate(Cond("pkt", oif), op)
        if key == "pkttype":
            return _negate(Cond("pkt", lambda p, v={str(e) for e in elems}: "host" in v), op)
        return UNKNOWN
    if "ct" in left:
        key = left["ct"].get("key")
        flags: set[str] = set()
        for e in elems:
            flags.update(e if isinstance(e, list) else [e])
        if key == "state":
            return _negate(Cond("pkt", lambda p, f={str(x) for x in flags}: "new" in f), op)
        if key == "status":  # a new connection: not confirmed; dnat when forwarded after a DNAT
            return _negate(Cond("pkt", lambda p, f={str(x) for x in flags}: "dnat" in f and p.dnat), op)
        if key == "direction":
            return _negate(_const("original" in {str(x) for x in flags}), op)
        if left["ct"].get("dir") == "original" and key == "proto-dst":
            ports = _port_ranges(elems)
            _mark(ports)
            test = _cmp_test(op if op != "!=" else "==", ports)
            cond = Cond("pkt", lambda p: test(p.orig_dport if p.orig_dport is not None else p.dport))
            return _negate(cond, op)
        if left["ct"].get("dir") == "original" and key in ("daddr", "ip daddr", "ip6 daddr"):
            fam = 6 if left["ct"].get("family") == "ip6" or key.startswith("ip6") else 4
            r = _addr_ranges(elems, fam)
            orig = Cond(
                "pkt",
                lambda p: p.family == fam and _in(r, int(p.orig_daddr if p.orig_daddr is not None else p.daddr)),
            )
            return _negate(orig, op)
        return UNKNOWN
    if "fib" in left:
        fib = left["fib"]
        fl = set(fib.get("flags", []))
        if fib.get("result") == "oif" and "saddr" in fl and "iif" in fl and op == "==" and elems == [False]:
            # reverse path filter: the source must route back out of the interface it came in on
            return Cond("rpf")
        if fib.get("result") == "type" and fl == {"daddr"} and op in ("==", "!="):
            types = {str(e) for e in elems}  # the destination is this machine's: the input path
            return _negate(Cond("pkt", lambda p, t=types: ("local" in t and p.local) or "unicast" in t), op)
        return UNKNOWN
    return UNKNOWN


def _guard(fam: int, cond: Cond) -> Cond:
    test = cond.test

    def g(p: Packet) -> bool | None:
        return False if p.family != fam else (test(p) if test else None)

    return Cond("pkt", g)


def _ifmatch(pattern: str, name: str, wildcard: bool) -> bool:
    if wildcard and pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    if wildcard and pattern.endswith("+"):  # iptables spelling
        return name.startswith(pattern[:-1])
    return pattern == name


def _oif_match(pattern: str, pkt: Packet, wildcard: bool) -> bool | None:
    """The output interface: known on the forward path; on the input path there is none."""
    if pkt.local:
        return None
    if pkt.oif is None:
        return None
    return _ifmatch(pattern, pkt.oif, wildcard)


def _ct_original(option: str, value: str) -> Cond:
    """conntrack's original tuple (before any DNAT): `--ctorigdstport`, `--ctorigdst`, `--ctdir`."""
    if option == "--ctdir":  # a client's first packet goes in the ORIGINAL direction
        return _const(value.upper() == "ORIGINAL")
    if option == "--ctorigdstport":
        lo, hi = _ipt_port(value)
        _mark(((lo, hi),))
        return Cond("pkt", lambda pk: lo <= (pk.orig_dport if pk.orig_dport is not None else pk.dport) <= hi)
    net = ipaddress.ip_network(value, strict=False)
    r = net_ranges([net])
    return Cond(
        "pkt",
        lambda pk: pk.family == net.version and _in(r, int(pk.orig_daddr if pk.orig_daddr is not None else pk.daddr)),
    )


_PROTO_NUM = {"6": "tcp", "17": "udp", "1": "icmp", "58": "ipv6-icmp", "132": "sctp", "136": "udplite"}


def _proto_name(v: Any) -> str:
    text = str(v).lower()
    return _PROTO_NUM.get(text, "ipv6-icmp" if text in ("icmpv6", "icmp6") else text)


def _in(r: Ranges, x: int) -> bool:
    return any(lo <= x <= hi for lo, hi in r)


def _addr_ranges(elems: list[Any], fam: int) -> Ranges:
    nets = []
    items: list[tuple[int, int]] = []
    for e in elems:
        e = _unwrap(e)
        if isinstance(e, dict) and "prefix" in e:
            nets.append(ipaddress.ip_network(f"{e['prefix']['addr']}/{e['prefix']['len']}", strict=False))
        elif isinstance(e, dict) and "range" in e:
            a, b = (ipaddress.ip_address(str(x)) for x in e["range"])
            items.append((int(a), int(b)))
        elif isinstance(e, str):
            nets.append(ipaddress.ip_network(e, strict=False))
        else:
            raise ValueError(f"address element {e!r}")
    for n in nets:
        if n.version != fam:
            raise ValueError("family")
    return _norm((*items, *net_ranges(nets)))


def _port_ranges(elems: list[Any]) -> Ranges:
    out = []
    for e in elems:
        e = _unwrap(e)
        if isinstance(e, dict) and "range" in e:
            a, b = e["range"]
            out.append((int(a), int(b)))
        elif isinstance(e, int) or (isinstance(e, str) and e.isdigit()):
            out.append((int(e), int(e)))
        else:
            raise ValueError(f"port element {e!r}")  # service names: not resolved here
    return _norm(out)


_MARKS: set[int] | None = None  # the Ruleset being parsed (parse_nft / parse_iptables_save set it)


def _mark(ports: Ranges) -> None:
    if _MARKS is not None:
        for lo, hi in ports:
            _MARKS.update((lo, hi + 1))


def _cmp_test(op: str, ports: Ranges) -> Callable[[int], bool]:
    if op in ("==", "in"):
        return lambda x: _in(ports, x)
    if op == "!=":
        return lambda x: not _in(ports, x)
    ((lo, hi),) = ports if len(ports) == 1 else ((None, None),)  # type: ignore[assignment]
    if lo is None or lo != hi:
        raise ValueError("comparison with a set")
    return {
        "<": lambda x: x < lo,
        ">": lambda x: x > lo,
        "<=": lambda x: x <= lo,
        ">=": lambda x: x >= lo,
    }[op]


# -- iptables-save text -----------------------------------------------------------------------
_IPT_HOOKS = {
    ("raw", "PREROUTING"): ("prerouting", -300),
    ("mangle", "PREROUTING"): ("prerouting", -150),
    ("nat", "PREROUTING"): ("prerouting", -100),
    ("mangle", "INPUT"): ("input", -150),
    ("filter", "INPUT"): ("input", 0),
    ("security", "INPUT"): ("input", 50),
    ("mangle", "FORWARD"): ("forward", -150),
    ("filter", "FORWARD"): ("forward", 0),
    ("security", "FORWARD"): ("forward", 50),
}
_NONTERMINAL_TARGETS = {
    "LOG",
    "NFLOG",
    "ULOG",
    "MARK",
    "CONNMARK",
    "TRACE",
    "AUDIT",
    "CT",
    "NOTRACK",
    "TCPMSS",
    "DSCP",
    "TOS",
    "CLASSIFY",
    "SET",
    "CHECKSUM",
    "TTL",
    "HL",
    "IDLETIMER",
    "LED",
    "SECMARK",
    "CONNSECMARK",
    "SNAT",
    "MASQUERADE",
}


def parse_iptables_save(text: str, origin: str, rs: Ruleset) -> None:
    """Add the chains of `iptables-save` / `ip6tables-save` output (origin: iptables, ip6tables,
    iptables-legacy, ...) to `rs`."""
    global _MARKS
    _MARKS = rs.marks
    try:
        _parse_iptables_save(text, origin, rs)
    finally:
        _MARKS = None


def _parse_iptables_save(text: str, origin: str, rs: Ruleset) -> None:
    family = "ip6" if origin.startswith("ip6") else "ip"
    table = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            table = line[1:]
            continue
        if line == "COMMIT":
            continue
        if line.startswith(":"):
            parts = line[1:].split()
            name = parts[0]
            policy = parts[1] if len(parts) > 1 and parts[1] != "-" else None
            hook, prio = _IPT_HOOKS.get((table, name), (None, 0))
            rs.add(
                Chain(
                    name=name,
                    rules=[],
                    origin=origin,
                    table=table,
                    family=family,
                    hook=hook,
                    priority=prio,
                    policy=policy.lower() if policy and hook else None,
                    kind="nat" if table == "nat" else "filter",
                )
            )
            continue
        if line.startswith(("-A ", "-I ")):
            import shlex

            try:
                words = shlex.split(line) if '"' in line or "'" in line else line.split()
            except ValueError:
                words = line.split()
            chain = rs.chains.get((origin, table, words[1]))
            if chain is None:
                continue
            rule = _ipt_rule(words[2:], line, origin, table, chain, family)
            if words[0] == "-I":
                chain.rules.insert(0, rule)
            else:
                chain.rules.append(rule)


def _ipt_rule(words: list[str], line: str, origin: str, table: str, chain: Chain, family: str) -> Rule:
    conds: list[Cond] = []
    verdict: Verdict | None = None
    understood = True
    fam = 6 if family == "ip6" else 4
    i = 0
    neg = False
    proto: str | None = None
    reject_with = "icmp-port-unreachable" if fam == 4 else "icmp6-port-unreachable"
    target_kind: str | None = None
    target: str | None = None
    dnat_to = None

    def unknown() -> None:
        nonlocal understood
        understood = False
        conds.append(UNKNOWN)

    def arg() -> str:
        nonlocal i
        i += 1
        return words[i] if i < len(words) else ""

    while i < len(words):
        w = words[i]
        if w == "!":
            neg = True
            i += 1
            continue
        if w in ("-p", "--protocol"):
            proto = _proto_name(arg())
            p = proto
            conds.append(
                _negate(
                    Cond("pkt", lambda pk, p=p: pk.proto == p if p not in ("all", "0") else True), "!=" if neg else "=="
                )
            )
        elif w in ("-s", "--source", "-d", "--destination"):
            try:
                nets = [ipaddress.ip_network(x, strict=False) for x in arg().split(",")]
                r = net_ranges(nets)
                if w in ("-s", "--source"):
                    conds.append(Cond("saddr", addrs={fam: r}, negate=neg))
                else:
                    conds.append(_negate(Cond("pkt", lambda pk, r=r: _in(r, int(pk.daddr))), "!=" if neg else "=="))
            except ValueError:
                unknown()
        elif w in ("-i", "--in-interface"):
            name = arg()
            conds.append(_negate(Cond("pkt", lambda pk, n=name: _ifmatch(n, pk.iif, True)), "!=" if neg else "=="))
        elif w in ("-o", "--out-interface"):
            name = arg()
            conds.append(_negate(Cond("pkt", lambda pk, n=name: _oif_match(n, pk, True)), "!=" if neg else "=="))
        elif w == "-m" or w == "--match":
            mod = arg()
            if mod not in (
                "tcp",
                "udp",
                "multiport",
                "conntrack",
                "state",
                "addrtype",
                "comment",
                "limit",
                "icmp",
                "icmp6",
                "rt",
            ):
                unknown()
        elif w in ("--dport", "--destination-port", "--dports", "--destination-ports"):
            try:
                ports = _norm(_ipt_port(x) for x in arg().split(","))
                _mark(ports)
            except ValueError:
                unknown()
            else:
                pr = proto
                conds.append(
                    _negate(
                        Cond("pkt", lambda pk, ps=ports, pr=pr: (pr is None or pk.proto == pr) and _in(ps, pk.dport)),
                        "!=" if neg else "==",
                    )
                )
        elif w in ("--sport", "--source-port", "--sports", "--source-ports", "--ports"):
            arg()
            conds.append(Cond("pkt", lambda pk: None))
            understood = False
        elif w in ("--ctstate", "--state"):
            states = {x.upper() for x in arg().split(",")}  # DNAT: a virtual state, the connection was DNAT-ed
            conds.append(
                _negate(
                    Cond("pkt", lambda pk, s=states: "NEW" in s or ("DNAT" in s and pk.dnat)), "!=" if neg else "=="
                )
            )
        elif w == "--ctstatus":  # a new connection: not (yet) expected, seen reply, assured, confirmed
            arg()
            conds.append(_negate(_const(False), "!=" if neg else "=="))
        elif w in ("--ctorigdstport", "--ctorigdst", "--ctdir"):
            value = arg()
            try:
                conds.append(_negate(_ct_original(w, value), "!=" if neg else "=="))
            except ValueError:
                unknown()
        elif w == "--dst-type":
            types = {x.upper() for x in arg().split(",")}
            conds.append(
                _negate(
                    Cond("pkt", lambda pk, t=types: ("LOCAL" in t and pk.local) or "UNICAST" in t),
                    "!=" if neg else "==",
                )
            )
        elif w == "--src-type":
            arg()
            unknown()
        elif w == "--rt-type":  # an IPv6 routing header: a client's connection carries none
            arg()
            conds.append(_const(False))
        elif w == "--comment":
            arg()
        elif w in ("--limit", "--limit-burst"):
            arg()
            if w == "--limit":
                conds.append(Cond("pkt", lambda pk: None, maybe="depends on a rate limit"))
        elif w in ("--icmp-type", "--icmpv6-type"):
            arg()
            conds.append(_const(False) if proto in ("icmp", "ipv6-icmp") else UNKNOWN)
        elif w in ("-j", "--jump", "-g", "--goto"):
            target = arg()
            target_kind = "goto" if w in ("-g", "--goto") else "jump"
        elif w == "--reject-with":
            reject_with = arg()
        elif w == "--to-destination":
            dnat_to = arg()
        elif w.startswith("--log-") or w in ("--nflog-group", "--nflog-prefix", "--set-mark", "--set-xmark"):
            arg()
        elif w in ("-c", "--set-counters"):
            i += 2
            continue
        else:
            unknown()
        neg = False
        i += 1
    if target is None:
        verdict = None
    elif target in ("ACCEPT", "DROP", "RETURN"):
        verdict = Verdict(target.lower())
    elif target == "REJECT":
        verdict = Verdict("reject", None, "tcp reset" if reject_with == "tcp-reset" else reject_with)
    elif target in ("DNAT", "REDIRECT"):
        verdict = Verdict("dnat", dnat_to or "this host")
    elif target in _NONTERMINAL_TARGETS:
        verdict = None
    else:
        verdict = Verdict(target_kind or "jump", target)
    tool = origin
    label = f"{tool} rule `{line}`"
    return Rule(conds, verdict, line, label, understood)


def _ipt_port(text: str) -> tuple[int, int]:
    a, _, b = text.partition(":")
    lo = int(a) if a else 0
    hi = int(b) if b else (65535 if _ else lo)
    return lo, hi
