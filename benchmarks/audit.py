"""`bindscope audit` against bandit: accuracy on the labelled corpus, speed on a large real tree.

    python benchmarks/audit.py [--runs 5] [--skip-speed] [--skip-corpus] [--cache DIR]

Goals (issue 6): on tests/corpus, precision and recall of at least 0.95 (and better than
bandit's); on a large real tree, at least 10x faster than `bandit -r -t B104,B201` and at most
3x a `grep -rE` pass over the trigger strings (the I/O floor).

1. Corpus. bindscope: `bindscope.audit(["."])` run in a copy of each case (as
   tests/unit/test_audit_corpus.py does), scored over (case, file, line, rule) on the whole
   corpus and on the part bandit can see. bandit: `bandit -r -t B104,B201 -f json -q` once over
   the corpus's cases folder (its default excludes), scored per tests/corpus/README.md: bandit
   reads only Python, so it is scored against the expected findings of rules bind-all,
   bind-all-default and debug-exposed in .py files; a bandit hit matches such an expected
   finding in the same file when the hit's line lies within the sink call's (or assignment's)
   line span, taken from the AST (the labelled line alone when the file does not parse); any
   other bandit hit is a false positive. bindscope on that subset: its findings of those rules
   in .py files.
2. Speed. The unpacked sdists of Django and ansible-core, fetched once with
   `pip download --no-binary :all: --no-deps django ansible-core` into the cache folder
   (default ~/.cache/bindscope-bench) and unpacked there. Timed in the same run, each once
   untimed first (warm page cache), then alternating run by run, --runs times, medians:
   - `bindscope audit --format json TREE...` (a fresh process; the console script next to this
     interpreter, importing this tree's src/); by default audit does not read folders of tests
     (Django's tests/, ansible's test/), which bandit and grep read, so it is also timed with
     `--include-tests` (the same files as the peers),
   - `bandit -r -t B104,B201 -f json -q TREE...`,
   - `grep -rEl -e P1 -e P2 ... TREE...` where P1.. are the engine's prefilter regexes
     (pyscan.TRIGGERS and every confscan.TRIGGERS[kind], printed), translated to POSIX ERE
     (`grep -rPl` with the regexes as they are when a translation is not possible). grep reads
     every file; bindscope reads only files of a kind it scans, so the ratio is an upper bound.
   stdout goes to a pipe that is read and dropped. Prints medians, p90, ratios and the goals.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "corpus"))
sys.path.insert(0, str(REPO / "src"))

from score import CASES, Score, expected, load_cases, run_bindscope  # noqa: E402

BANDIT_RULES = {"bind-all", "bind-all-default", "debug-exposed"}
SDISTS = ("django", "ansible-core")
BS, BANDIT, GREP = "bindscope audit --format json", "bandit -r -t B104,B201 -f json -q", "grep -rl (triggers)"
BS_ALL = "bindscope audit --format json --include-tests"


def _tool(name: str) -> list[str]:
    here = Path(sys.executable).parent / name
    if here.exists():
        return [str(here)]
    found = shutil.which(name)
    if not found:
        sys.exit(f"benchmarks/audit.py: {name} not found (pip install -e '.[test]')")
    return [found]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


# -- 1. corpus -------------------------------------------------------------------------------


def _sink_span(path: Path, line: int) -> tuple[int, int]:
    """Lines of the call or assignment that starts at `line` (the labelled sink)."""
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):
        return line, line
    end = line
    for node in ast.walk(tree):
        if isinstance(node, ast.Call | ast.Assign | ast.AnnAssign) and node.lineno == line:
            end = max(end, node.end_lineno or line)
    return line, end


def bandit_corpus() -> list[tuple[str, str, int]]:
    """(case, file, line) of every bandit B104/B201 hit over the corpus."""
    proc = subprocess.run(
        [*_tool("bandit"), "-r", "-t", "B104,B201", "-f", "json", "-q", str(CASES)],
        capture_output=True,
        text=True,
        env=_env(),
    )
    if proc.returncode not in (0, 1):
        sys.exit(f"bandit failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
    hits = []
    for r in json.loads(proc.stdout)["results"]:
        rel = Path(r["filename"]).resolve().relative_to(CASES)
        case, file = rel.parts[0], "/".join(rel.parts[1:])
        hits.append((case, file, int(r["line_number"])))
    return hits


def corpus(out) -> None:
    cases = load_cases()
    exp = expected(cases)
    t0 = time.perf_counter()
    found = {c.name: run_bindscope(c) for c in cases}
    bs_secs = time.perf_counter() - t0
    reported = {(case, f, line, rule) for case, fs in found.items() for f, line, rule, _sev in fs}
    whole = Score(set(exp), reported)

    def in_subset(key) -> bool:
        return key[1].endswith(".py") and key[3] in BANDIT_RULES

    sub_exp = {k for k in exp if in_subset(k)}
    sub = Score(sub_exp, {k for k in reported if in_subset(k)})

    t0 = time.perf_counter()
    hits = bandit_corpus()
    bandit_secs = time.perf_counter() - t0
    spans = {k: _sink_span(CASES / k[0] / k[1], k[2]) for k in sub_exp}
    matched_hits = 0
    matched_exp: set = set()
    bandit_fp = []
    for case, file, line in hits:
        m = [k for k in sub_exp if k[0] == case and k[1] == file and spans[k][0] <= line <= spans[k][1]]
        if m:
            matched_hits += 1
            matched_exp.update(m)
        else:
            bandit_fp.append(f"{case} {file}:{line}")
    b_prec = matched_hits / len(hits) if hits else 1.0
    b_rec = len(matched_exp) / len(sub_exp) if sub_exp else 1.0

    print(
        f"corpus: {len(cases)} cases, {len(exp)} expected findings "
        f"({len(sub_exp)} of rules {', '.join(sorted(BANDIT_RULES))} in .py files: bandit's part)\n",
        file=out,
    )
    print(f"{'tool':<44}{'expected':>9}{'reported':>9}{'TP':>6}{'precision':>11}{'recall':>8}", file=out)
    rows = [
        ("bindscope audit, whole corpus", len(exp), len(reported), len(whole.tp), whole.precision, whole.recall),
        ("bindscope audit, bandit's part", len(sub_exp), len(sub.reported), len(sub.tp), sub.precision, sub.recall),
        ("bandit -t B104,B201, bandit's part", len(sub_exp), len(hits), matched_hits, b_prec, b_rec),
    ]
    for name, e, r, tp, p, rc in rows:
        print(f"{name:<44}{e:>9}{r:>9}{tp:>6}{p:>11.3f}{rc:>8.3f}", file=out)
    print(f"\n(time over the corpus: bindscope {bs_secs:.2f} s in-process, bandit {bandit_secs:.2f} s)", file=out)
    goal = whole.precision >= 0.95 and whole.recall >= 0.95
    print(
        f"bindscope precision {whole.precision:.3f}, recall {whole.recall:.3f} (goal >= 0.95 each) -> "
        f"{'MET' if goal else 'NOT MET'}",
        file=out,
    )
    if whole.fp or whole.fn:
        print("\nbindscope misses:\n" + whole.misses(), file=out)
    missed = sorted(sub_exp - matched_exp)
    print(f"\nbandit: {len(bandit_fp)} false positives, {len(missed)} false negatives", file=out)
    for fp in bandit_fp:
        print(f"  bandit false positive: {fp}", file=out)
    for c, f, n, r in missed:
        print(f"  bandit false negative: {c} {f}:{n} {r}", file=out)


# -- 2. speed --------------------------------------------------------------------------------


def fetch_tree(cache: Path) -> list[Path]:
    sdists = cache / "sdists"
    tree = cache / "tree"
    sdists.mkdir(parents=True, exist_ok=True)
    tree.mkdir(parents=True, exist_ok=True)
    have = {p.name.split("-")[0].lower().replace("_", "-") for p in sdists.glob("*.tar.gz")}
    if not all(name in have for name in SDISTS):
        print(f"fetching sdists of {', '.join(SDISTS)} into {sdists} ...", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-binary",
                ":all:",
                "--no-deps",
                "-d",
                str(sdists),
                *SDISTS,
            ],
            check=True,
        )
    roots = []
    for tgz in sorted(sdists.glob("*.tar.gz")):
        name = tgz.name.removesuffix(".tar.gz")
        dest = tree / name
        if not dest.exists():
            tmp = Path(tempfile.mkdtemp(dir=cache))
            with tarfile.open(tgz) as t:
                t.extractall(tmp, filter="data")
            (top,) = tmp.iterdir()  # an sdist unpacks to one NAME-VERSION folder
            top.rename(dest)
            shutil.rmtree(tmp, ignore_errors=True)
        roots.append(dest)
    return roots


def _to_ere(pattern: str) -> str | None:
    """A Python regex as POSIX ERE for grep -E, or None when it uses what ERE lacks."""
    p = pattern.replace("(?:", "(")
    p = p.replace(r"\d", "[0-9]").replace(r"\s", "[[:space:]]")
    if re.search(r"\(\?|\*\?|\+\?|\?\?|\\[AZzDS]", p):
        return None
    return p


def grep_command(roots: list[Path]) -> tuple[list[str], list[str]]:
    """grep -rl over the engine's prefilter regexes (pyscan.TRIGGERS and confscan.TRIGGERS, each
    once): as POSIX ERE (-E, one -e each) when all translate, else as one PCRE (-P takes a single
    pattern: the regexes joined as alternatives, a regex compiled with re.I keeping it as (?i))."""
    from bindscope.audit import confscan, pyscan

    pats: list[str] = []
    for t in [pyscan.TRIGGERS, *confscan.TRIGGERS.values()]:
        s = t.pattern.decode("latin-1") if isinstance(t.pattern, bytes) else t.pattern
        if t.flags & re.IGNORECASE and not s.startswith("(?i)"):
            s = "(?i)" + s
        if s not in pats:
            pats.append(s)
    ere = [_to_ere(s) for s in pats]
    if all(e is not None for e in ere):
        cmd = ["grep", "-rlE"]
        for e in ere:
            cmd += ["-e", str(e)]
        return [*cmd, *map(str, roots)], [str(e) for e in ere]
    return ["grep", "-rlP", "|".join(f"(?:{p})" for p in pats), *map(str, roots)], pats


def _time(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run (stdout read and dropped)."""
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env())
    wall = time.perf_counter() - t0
    after = os.times()
    if proc.returncode not in (0, 1):
        sys.exit(f"{cmd[0]} failed with {proc.returncode}")
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def speed(out, runs: int, cache: Path) -> None:
    roots = fetch_tree(cache)
    n_files = sum(1 for r in roots for p in r.rglob("*") if p.is_file())
    n_bytes = sum(p.stat().st_size for r in roots for p in r.rglob("*") if p.is_file())
    bs = [*_tool("bindscope"), "audit", "--format", "json", *map(str, roots)]
    bandit = [*_tool("bandit"), "-r", "-t", "B104,B201", "-f", "json", "-q", *map(str, roots)]
    grep, pats = grep_command(roots)
    cmds = {BS: bs, BS_ALL: [*bs, "--include-tests"], BANDIT: bandit, GREP: grep}

    # sanity and warm-up (untimed): every command runs once, bindscope's JSON must parse
    checked = subprocess.run(bs, capture_output=True, text=True, env=_env())
    if checked.returncode not in (0, 1):
        sys.exit(f"bindscope audit failed ({checked.returncode}): {checked.stderr.strip()[:500]}")
    json.loads(checked.stdout)
    b = subprocess.run(bandit, capture_output=True, text=True, env=_env())
    n_bandit = len(json.loads(b.stdout)["results"])
    g = subprocess.run(grep, capture_output=True, text=True)
    if g.returncode not in (0, 1):
        sys.exit(f"grep failed ({g.returncode}): {g.stderr.strip()[:500]}")
    n_grep = len(g.stdout.splitlines())

    times: dict[str, list[float]] = {k: [] for k in cmds}
    cpu: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            w, c = _time(cmd)
            times[name].append(w)
            cpu[name].append(c)

    print(
        f"\ntree: {', '.join(r.name for r in roots)}: {n_files} files, {n_bytes / 1e6:.1f} MB; {runs} runs\n"
        f"grep ({grep[1]}) patterns, one per trigger: {'  ||  '.join(pats)}\n"
        f"grep lists {n_grep} files matching a trigger; bandit reports {n_bandit} B104/B201 hits\n",
        file=out,
    )
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med[BS]
    print(f"{'command':<48}{'median s':>10}{'p90 s':>9}{'ratio':>8}{'cpu s':>8}", file=out)
    for name, v in times.items():
        p90 = sorted(v)[max(0, round(0.9 * len(v)) - 1)]
        ratio = med[name] / base
        print(f"{name:<48}{med[name]:>10.3f}{p90:>9.3f}{ratio:>7.2f}x{statistics.median(cpu[name]):>8.2f}", file=out)
    for name in (BS, BS_ALL):
        faster = med[BANDIT] / med[name]
        floor = med[name] / med[GREP]
        print(f"\n{name}:", file=out)
        print(f"  bandit / bindscope = {faster:.1f}x (goal >= 10x) -> {'MET' if faster >= 10 else 'NOT MET'}", file=out)
        print(f"  bindscope / grep = {floor:.2f}x (goal <= 3x) -> {'MET' if floor <= 3 else 'NOT MET'}", file=out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip-corpus", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "bindscope-bench")
    a = ap.parse_args()
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    print(f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if not a.skip_corpus:
        corpus(sys.stdout)
    if not a.skip_speed:
        speed(sys.stdout, a.runs, a.cache)


if __name__ == "__main__":
    main()
