"""The decision rule of the shadow verdict, in one place and vectorised.

The verdict (verdict.py) and the simulation bench (bench/shadow_stats_sim.py) call these same
functions: the bench passes arrays of thousands of simulated runs, the verdict one run.

The figure judged is the candidate's *excess disagreement* over Pro's own noise floor:

    excess = mean over compared prompts of (1 - candidate agreement)
           - mean over prompts whose noise was measured of (1 - Pro-vs-Pro agreement)

With ``--noise-sample f`` only about f of the prompts have a noise call; the floor is estimated on
those alone (never "assumed agreeing" elsewhere) and its larger sampling error enters the standard
error through the influence function of the estimator (prompt i contributes
psi_i = measured_i * (n/m) * (a_i - mean_a) - (c_i - mean_c)), var = sum(psi^2) / n^2 -- with
whole slices as clusters when asked. A run without any noise call assumes Pro agrees with itself
(the conservative side). The variance is smoothed with z^2/2 pseudo-prompts at +1 and -1 (the
paired Agresti-Coull idea): 30 identical answers do not prove parity.

Sequential looks: every `report`/`gate` that sees new data is a look, recorded in the run folder
(looks.jsonl). Look k spends alpha_k = alpha * 2^-k of the one-sided error (alpha/2, alpha/4, ...),
so the error over any number of looks stays below alpha (a union bound: valid however the looks
are timed). Decision at look k, first match:

    PASS          upper bound (z_k) < margin
    FAIL          lower bound (z_k) > margin     (the interval lies beyond the margin)
    INCONCLUSIVE  otherwise, with the prompts the next look needs

Slices: one-sided p-values per slice, Holm-adjusted (family-wise error) across slices; a slice
FAILs the verdict only when its Holm-adjusted p-value of "beyond the margin" is below alpha_k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Hashable, Sequence

from migrate.shadow.stats import holm, normal_quantile

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
SPENDING = "alpha spending over looks: look k uses alpha * 2^-k (the sum stays below alpha for any number of looks)"
MULTIPLICITY = "Holm (family-wise error) across slices"
_SQRT2 = math.sqrt(2.0)


def look_alpha(alpha: float, look: int) -> float:
    """The one-sided error spent at look `look` (1-based)."""
    return alpha * 0.5 ** max(1, int(look))


def look_z(alpha: float, look: int) -> float:
    return normal_quantile(1.0 - look_alpha(alpha, look))


@dataclass(frozen=True)
class Sums:
    """Sufficient statistics of one run (floats) or of many simulated runs (numpy arrays).

    n prompts with candidate agreement c; m of them measured, with Pro-vs-Pro agreement a."""

    n: Any
    m: Any
    c: Any  # sum of c over all prompts
    cc: Any  # sum of c^2 over all prompts
    a: Any  # sum of a over measured prompts
    aa: Any  # sum of a^2 over measured prompts
    ac: Any  # sum of a*c over measured prompts
    c_m: Any  # sum of c over measured prompts

    @classmethod
    def of(cls, cand: Sequence[float], noise: Sequence[float], measured: Sequence[bool]) -> "Sums":
        pairs = [(c, a) for c, a, w in zip(cand, noise, measured) if w]
        return cls(n=len(cand), m=len(pairs), c=math.fsum(cand), cc=math.fsum(c * c for c in cand),
                   a=math.fsum(a for _, a in pairs), aa=math.fsum(a * a for _, a in pairs),
                   ac=math.fsum(a * c for c, a in pairs), c_m=math.fsum(c for c, _ in pairs))


@dataclass(frozen=True)
class Estimate:
    """Excess disagreement and its smoothed standard error (floats, or arrays over runs)."""

    excess: Any
    se: Any
    per_prompt_var: Any  # n * var: what a run of the same shape carries per prompt
    n: Any
    measured: Any
    noise_disagreement: Any
    candidate_disagreement: Any


def from_sums(s: Sums, z: float, cluster_var: Any = None) -> Estimate:
    """The estimate. Plain arithmetic only, so floats and numpy arrays both work."""
    none = s.m == 0
    mean_c = s.c / s.n
    mean_a = (s.a + none) / (s.m + none)  # no noise measured: Pro is assumed to agree with itself
    scale = s.n * (1 - none) / (s.m + none)
    ss_a = s.aa - s.m * mean_a * mean_a * (1 - none)
    sp_ac = s.ac - mean_a * s.c_m
    ss_c = s.cc - s.n * mean_c * mean_c
    var = (scale * scale * ss_a - 2.0 * scale * sp_ac + ss_c) / (s.n * s.n) if cluster_var is None else cluster_var
    var = var * (var > 0)  # round-off
    per_prompt = var * s.n
    w2 = z * z  # z^2/2 pseudo-prompts at +1 and as many at -1: squared difference 1 each
    smoothed = (s.n * per_prompt + w2) / (s.n + w2)
    return Estimate(excess=mean_a - mean_c, se=(smoothed / s.n) ** 0.5, per_prompt_var=per_prompt, n=s.n,
                    measured=s.m, noise_disagreement=1.0 - mean_a, candidate_disagreement=1.0 - mean_c)


def estimate(cand: Sequence[float], noise: Sequence[float], measured: Sequence[bool], z: float, *,
             clusters: Sequence[Hashable] | None = None) -> Estimate:
    """One run's estimate; with `clusters` (one key per prompt) a cluster-robust variance."""
    sums = Sums.of(cand, noise, measured)
    if clusters is None:
        return from_sums(sums, z)
    n, m = sums.n, sums.m
    mean_c = sums.c / n
    mean_a = sums.a / m if m else 1.0
    scale = n / m if m else 0.0
    totals: dict[Hashable, float] = {}
    for key, c, a, w in zip(clusters, cand, noise, measured):
        psi = ((a - mean_a) * scale if w else 0.0) - (c - mean_c)
        totals[key] = totals.get(key, 0.0) + psi
    return from_sums(sums, z, cluster_var=math.fsum(t * t for t in totals.values()) / (n * n))


def bounds(est: Estimate, z: float) -> tuple[Any, Any]:
    return est.excess - z * est.se, est.excess + z * est.se


def decide(low: Any, high: Any, margin: float) -> Any:
    """PASS / FAIL / INCONCLUSIVE from one-sided bounds (arrays give arrays of strings)."""
    if isinstance(low, (int, float)):
        return PASS if high < margin else FAIL if low > margin else INCONCLUSIVE
    import numpy as np

    return np.where(high < margin, PASS, np.where(low > margin, FAIL, INCONCLUSIVE))


def _upper_tail(t: Any) -> Any:
    if isinstance(t, (int, float)):
        return 0.5 * math.erfc(t / _SQRT2)
    import numpy as np

    return 0.5 * np.vectorize(math.erfc, otypes=[float])(np.asarray(t) / _SQRT2)


def p_values(est: Estimate, margin: float) -> tuple[Any, Any]:
    """One-sided p-values of 'excess < margin' (p_pass) and of 'excess > margin' (p_fail)."""
    t = (est.excess - margin) / est.se
    return _upper_tail(-t), _upper_tail(t)


def holm_reject(p: Any, alpha: float) -> Any:
    """Holm across slices (the last axis): True where a slice's hypothesis is rejected at family-wise alpha."""
    if isinstance(p, (list, tuple)):
        return [adj < alpha for adj in holm(list(p))]
    import numpy as np

    p = np.asarray(p, dtype=float)
    k = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ranked = np.take_along_axis(p, order, axis=-1) * (k - np.arange(k))
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(ranked, axis=-1))
    adjusted = np.empty_like(adjusted_sorted)
    np.put_along_axis(adjusted, order, adjusted_sorted, axis=-1)
    return adjusted < alpha


def prompts_needed(est: Estimate, margin: float, z_next: float, power: float) -> int | None:
    """Compared prompts for the next look to be conclusive with probability `power`, if the data
    keep their shape (same excess, same per-prompt variance, same noise-sample fraction)."""
    gap = abs(margin - float(est.excess))
    if gap < 1e-12:
        return None
    z = z_next + normal_quantile(power)
    s2 = float(est.per_prompt_var)
    w2 = z_next * z_next

    def clears(size: int) -> bool:
        return gap >= z * math.sqrt((size * s2 + w2) / (size + w2) / size)

    n = int(est.n)
    hi = max(n + 1, 2)
    while not clears(hi):
        hi *= 2
        if hi > 10**9:
            return None
    lo = n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if clears(mid):
            hi = mid
        else:
            lo = mid
    return max(hi, n + 1)
