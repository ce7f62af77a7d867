"""Fuzz `flm fix` on a large budget: thousands of programs with legacy-SDK code inside, each checked
as in tests/codemod/test_fuzz.py. Prints how many programs hit each problem - the goal is 0 crashes,
0 unparsable outputs, 0 new undefined names, 0 non-idempotent files and 0 lines changed outside the
port's edits - and, for each kind of problem, the first program cut down (whole lines dropped while
the problem stays) to a minimal reproducer.

hypothesmith needs seconds to draw one module, so drawing a fresh pair per program caps a run at a
few hundred programs. Instead a pool of random parts is drawn once - hypothesmith modules (grammar-
and LibCST-based) plus small real modules from this interpreter's site-packages - and each program
is  <part> + <legacy snippet> + <part>  picked from the pool with a seeded generator. Baseline in
the same run: the time drawing the pool took against the time the checks took.

    python bench/fuzz_bench.py [--examples 5000] [--pool 120] [--real 400] [--seed 1] [--out fuzz-findings.txt]
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import sysconfig
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import hypothesmith  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.codemod.fuzz_programs import SNIPPETS, check, compiles  # noqa: E402

SDK_FOLDERS = ("google/", "vertexai")  # real parts must not hold legacy-SDK code of their own


def generated_parts(count: int, seed_value: int) -> list[str]:
    """`count` random modules from hypothesmith, each valid alone."""
    parts: list[str] = []
    strategy = st.one_of(hypothesmith.from_grammar(auto_target=False), hypothesmith.from_node(auto_target=False))

    @seed(seed_value)
    @settings(max_examples=count, deadline=None, suppress_health_check=list(HealthCheck), database=None, phases=(Phase.generate,))
    @given(strategy)
    def draw(code):
        parts.append(code if code.endswith("\n") or not code else code + "\n")

    draw()
    return parts


def real_parts(count: int, seed_value: int) -> list[str]:
    """`count` small real modules (comments, decorators, docstrings: what real code looks like)."""
    site = Path(sysconfig.get_paths()["purelib"])
    paths = sorted(p for p in site.rglob("*.py") if 200 < p.stat().st_size < 6000 and not any(s in p.as_posix() for s in SDK_FOLDERS))
    random.Random(seed_value).shuffle(paths)
    parts = []
    for path in paths:
        if len(parts) == count:
            break
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if compiles(text) and "gemini" not in text.lower():
            parts.append(text if text.endswith("\n") else text + "\n")
    return parts


def minimise(before: str, snippet: str, after: str, problem: str) -> tuple[str, str, str]:
    """Drop lines of the random parts, one at a time, while the program compiles and still has `problem`."""
    parts = [before.splitlines(True), after.splitlines(True)]
    for side in (0, 1):
        index = 0
        while index < len(parts[side]):
            trial = [list(parts[0]), list(parts[1])]
            del trial[side][index]
            b, a = "".join(trial[0]), "".join(trial[1])
            if compiles(b + snippet + a) and check(b, snippet, a).problem == problem:
                parts = trial
            else:
                index += 1
    return "".join(parts[0]), snippet, "".join(parts[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000, help="programs to check")
    parser.add_argument("--pool", type=int, default=120, help="hypothesmith modules to draw")
    parser.add_argument("--real", type=int, default=400, help="real site-packages modules to add to the pool")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="also write the reproducers here")
    parser.add_argument("--progress", type=int, default=0, help="print the counts every N programs (0: only at the end)")
    args = parser.parse_args()

    started = time.perf_counter()
    generated = generated_parts(args.pool, args.seed)
    drawn = time.perf_counter() - started
    real = real_parts(args.real, args.seed)
    pool = generated + real
    print(f"pool: {len(generated)} hypothesmith modules drawn in {drawn:.0f}s ({drawn / max(len(generated), 1):.1f} s each), "
          f"{len(real)} real modules; {len(pool) ** 2 * len(SNIPPETS)} possible programs")  # fmt: skip

    rng = random.Random(args.seed)
    counts: collections.Counter[str] = collections.Counter()
    first: dict[str, tuple[str, str, str]] = {}
    checking = 0.0
    for index in range(args.examples):
        if args.progress and index and index % args.progress == 0:
            print(f"  after {index}: {dict(counts)}", flush=True)
        program = (rng.choice(pool), rng.choice(SNIPPETS), rng.choice(pool))
        if not compiles("".join(program)):
            counts["skipped: parts do not compile together"] += 1
            continue
        started = time.perf_counter()
        verdict = check(*program)
        checking += time.perf_counter() - started
        counts[verdict.problem or "ok"] += 1
        if verdict.problem and verdict.problem not in first:
            first[verdict.problem] = program

    checked = sum(n for k, n in counts.items() if not k.startswith("skipped"))
    print(f"{args.examples} programs, {checked} checked in {checking:.0f}s ({checking / max(checked, 1) * 1000:.0f} ms of checks per program; "
          f"drawing one hypothesmith module costs {drawn / max(len(generated), 1) / max(checking / max(checked, 1), 1e-9):.0f}x that)")  # fmt: skip
    for problem in ("ok", "crash", "refused", "unparsable output", "new undefined names", "not idempotent",
                    "lines changed outside the port's edits", "not ported", "skipped: parts do not compile together"):  # fmt: skip
        print(f"  {problem:<40} {counts.get(problem, 0)}")
    report = []
    for problem, program in first.items():
        small = minimise(*program, problem)
        verdict = check(*small)
        report.append(f"## {problem}\n{verdict.detail.strip()[:2000]}\n--- program ---\n{''.join(small)}")
    if report:
        print("\n" + "\n\n".join(report))
        if args.out:
            args.out.write_text("\n\n".join(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
