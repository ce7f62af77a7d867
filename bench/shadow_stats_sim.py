"""Monte-Carlo check of the shadow verdict's decision rule (migrate/shadow/decision.py).

    .venv/bin/python bench/shadow_stats_sim.py             # 4,000 simulated runs per scenario (~10 s)
    .venv/bin/python bench/shadow_stats_sim.py --runs 2000 --seed 3

Every scenario simulates whole runs (per-prompt 0/1 agreements of Pro with itself and with the
candidate, independent given the rates) and pushes them through the *same* functions the verdict
calls (decision.from_sums / bounds / decide / p_values / holm_reject), vectorised over runs.
Printed: each rate with its Monte-Carlo 95% half-width, and for the sequential scenario the rate of
a rule that tests every look at the full alpha (what the verdict did before) as the baseline.

Scenarios (margin 2 pp, confidence 95% one-sided, Pro disagrees with itself on 10% of prompts):
  looks      3 sequential looks at 400 / 700 / 1,000 prompts, stopping at the first conclusive one:
             false PASS at a true excess equal to the margin; false FAIL for an identical candidate
  slices     5 equal slices at 1,000 prompts, identical candidate: verdict FAIL (any slice or parity)
  sample     --noise-sample 0.3 at 1,000 prompts: false FAIL (identical), false PASS (excess = margin)
  power      1,000 prompts, a candidate 5 points worse than Pro's own noise: P(FAIL), P(not PASS)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from migrate.shadow import decision as D  # noqa: E402
from migrate.shadow.stats import normal_quantile  # noqa: E402

MARGIN = 0.02
ALPHA = 0.05
NOISE = 0.10  # Pro-vs-Pro disagreement


def draw(rng: np.random.Generator, runs: int, n: int, p_noise: float, p_cand: float, fraction: float) -> D.Sums:
    """Sufficient statistics of `runs` simulated runs of n prompts (0/1 agreements, independent)."""
    m = rng.binomial(n, fraction, size=runs)
    a_ok, c_ok = 1.0 - p_noise, 1.0 - p_cand
    probs = [a_ok * c_ok, a_ok * (1 - c_ok), (1 - a_ok) * c_ok, (1 - a_ok) * (1 - c_ok)]
    cells = rng.multinomial(m, probs)  # measured prompts: (a, c) = (1,1), (1,0), (0,1), (0,0)
    c_rest = rng.binomial(n - m, c_ok)
    a = cells[:, 0] + cells[:, 1]
    c_m = cells[:, 0] + cells[:, 2]
    c = c_m + c_rest
    return D.Sums(n=np.full(runs, n), m=m, c=c, cc=c, a=a, aa=a, ac=cells[:, 0], c_m=c_m)


def add(x: D.Sums, y: D.Sums) -> D.Sums:
    return D.Sums(*(getattr(x, f) + getattr(y, f) for f in ("n", "m", "c", "cc", "a", "aa", "ac", "c_m")))


def verdict(sums: D.Sums, look: int, *, z: float | None = None) -> np.ndarray:
    z = D.look_z(ALPHA, look) if z is None else z
    est = D.from_sums(sums, z)
    low, high = D.bounds(est, z)
    return D.decide(low, high, MARGIN)


def sequential(rng, runs, p_cand, fraction=1.0, sizes=(400, 700, 1000), fixed_alpha=False) -> dict[str, float]:
    """Stop at the first conclusive look; the share of runs that ended PASS / FAIL."""
    total = None
    final = np.full(runs, D.INCONCLUSIVE, dtype=object)
    done = np.zeros(runs, dtype=bool)
    previous = 0
    for look, size in enumerate(sizes, start=1):
        part = draw(rng, runs, size - previous, NOISE, p_cand, fraction)
        total = part if total is None else add(total, part)
        previous = size
        z = normal_quantile(1 - ALPHA) if fixed_alpha else None
        status = verdict(total, look, z=z)
        decided = ~done & (status != D.INCONCLUSIVE)
        final[decided] = status[decided]
        done |= decided
    return {"PASS": float(np.mean(final == D.PASS)), "FAIL": float(np.mean(final == D.FAIL))}


def sliced(rng, runs, p_cand, n=1000, slices=5) -> float:
    """Share of identical-candidate runs whose verdict FAILs on parity or on any slice (Holm)."""
    parts = [draw(rng, runs, n // slices, NOISE, p_cand, 1.0) for _ in range(slices)]
    total = parts[0]
    for p in parts[1:]:
        total = add(total, p)
    z = D.look_z(ALPHA, 1)
    p_fail = np.stack([D.p_values(D.from_sums(p, z), MARGIN)[1] for p in parts], axis=-1)
    slice_fail = D.holm_reject(p_fail, D.look_alpha(ALPHA, 1)).any(axis=-1)
    return float(np.mean(slice_fail | (verdict(total, 1) == D.FAIL)))


def rate(p: float, runs: int) -> str:
    half = 1.96 * np.sqrt(max(p * (1 - p), 1e-12) / runs)
    return f"{p * 100:5.2f}% +/- {half * 100:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    runs = args.runs
    t0 = time.perf_counter()
    at_margin, identical, worse = NOISE + MARGIN, NOISE, NOISE + 0.05
    rows = []
    seq = sequential(rng, runs, at_margin)
    naive = sequential(rng, runs, at_margin, fixed_alpha=True)
    rows.append(("3 looks, excess = margin: false PASS", seq["PASS"], naive["PASS"]))
    seq0 = sequential(rng, runs, identical)
    naive0 = sequential(rng, runs, identical, fixed_alpha=True)
    rows.append(("3 looks, identical: false FAIL", seq0["FAIL"], naive0["FAIL"]))
    rows.append(("5 slices, identical: verdict FAIL", sliced(rng, runs, identical), None))
    one = verdict(draw(rng, runs, 1000, NOISE, identical, 0.3), 1)
    rows.append(("--noise-sample 0.3, identical: false FAIL", float(np.mean(one == D.FAIL)), None))
    one = verdict(draw(rng, runs, 1000, NOISE, at_margin, 0.3), 1)
    rows.append(("--noise-sample 0.3, excess = margin: false PASS", float(np.mean(one == D.PASS)), None))
    power = verdict(draw(rng, runs, 1000, NOISE, worse, 1.0), 1)
    rows.append(("power n=1000, 5-point regression: FAIL", float(np.mean(power == D.FAIL)), None))
    rows.append(("power n=1000, 5-point regression: not PASS", float(np.mean(power != D.PASS)), None))
    elapsed = time.perf_counter() - t0
    print(f"{runs} simulated runs per scenario; margin {MARGIN * 100:g} pp, one-sided alpha {ALPHA:g}, "
          f"Pro-vs-Pro disagreement {NOISE:.0%}; {D.SPENDING}; {D.MULTIPLICITY}")
    for name, value, baseline in rows:
        extra = f"   (every look at full alpha: {rate(baseline, runs)})" if baseline is not None else ""
        print(f"  {name:<48} {rate(value, runs)}{extra}")
    print(f"  elapsed {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
