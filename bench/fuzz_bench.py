"""Fuzz `flm fix` on a large budget: generated programs (hypothesmith, LibCST- and grammar-based)
with legacy-SDK code inside, each checked as in tests/codemod/test_fuzz.py. Prints how many programs
hit each problem - the goal is 0 crashes, 0 unparsable outputs, 0 new undefined names, 0
non-idempotent files and 0 lines changed outside the port's edits - and, for each kind of problem,
the first program cut down (whole lines dropped while the problem stays) to a minimal reproducer.
Baseline in the same run: how many programs were drawn and how long the checks took per program.

    python bench/fuzz_bench.py [--examples 2000] [--seed 1] [--out fuzz-findings.txt]
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from tests.codemod.fuzz_programs import check, compiles, programs  # noqa: E402


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
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="also write the reproducers here")
    args = parser.parse_args()
    counts: collections.Counter[str] = collections.Counter()
    first: dict[str, tuple[str, str, str]] = {}
    timing = {"check": 0.0}

    @seed(args.seed)
    @settings(max_examples=args.examples, deadline=None, suppress_health_check=list(HealthCheck), database=None, phases=(Phase.generate,))
    @given(programs())
    def run(program):
        before, snippet, after = program
        if not compiles(before + snippet + after):
            counts["skipped: parts do not compile together"] += 1
            return
        started = time.perf_counter()
        verdict = check(before, snippet, after)
        timing["check"] += time.perf_counter() - started
        counts[verdict.problem or "ok"] += 1
        if verdict.problem and verdict.problem not in first:
            first[verdict.problem] = program

    started = time.perf_counter()
    run()
    wall = time.perf_counter() - started
    checked = sum(n for k, n in counts.items() if not k.startswith("skipped"))
    print(f"{sum(counts.values())} programs drawn, {checked} checked in {wall:.0f}s "
          f"({timing['check'] / max(checked, 1) * 1000:.0f} ms of flm per program)")  # fmt: skip
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
