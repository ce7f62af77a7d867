"""Statistics for the shadow verdict. Pure functions, standard library only.

Everything here is paired by prompt: the unit of evidence is a prompt (or a whole cluster of
prompts), never a single call. Conventions used throughout:

* ``confidence`` is two-sided for intervals (0.95 -> 2.5th and 97.5th percentiles), except in
  :func:`non_inferiority`, where it is the one-sided level of *each* bound (see there).
* Percentiles take ``q`` in [0, 100] (as numpy.percentile); quantiles take ``q`` in [0, 1].
* Randomness only through ``random.Random(seed)``: same data + same seed -> same numbers.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Hashable, Sequence

__all__ = [
    "PASS",
    "FAIL",
    "INCONCLUSIVE",
    "BootstrapInterval",
    "NonInferiorityResult",
    "QuantileInterval",
    "normal_cdf",
    "normal_quantile",
    "binom_pmf",
    "binom_cdf",
    "binom_sf",
    "wilson_interval",
    "clopper_pearson_interval",
    "rate_upper_bound",
    "rule_of_three",
    "mcnemar_exact",
    "sign_test",
    "paired_bootstrap_diff",
    "non_inferiority",
    "holm",
    "benjamini_hochberg",
    "sample_size_non_inferiority",
    "sample_size_proportion",
    "sample_size_sign_test",
    "quantile",
    "percentile",
    "quantile_interval",
]

PASS = "PASS"
FAIL = "FAIL"
INCONCLUSIVE = "INCONCLUSIVE"

_STD_NORMAL = statistics.NormalDist()


# --------------------------------------------------------------------------- normal distribution


def normal_cdf(x: float) -> float:
    """Standard normal CDF, accurate in both tails (via erfc)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_quantile(p: float) -> float:
    """Inverse standard normal CDF for 0 < p < 1.

    Delegates to ``statistics.NormalDist.inv_cdf``, which implements Wichura's AS241 (PPND16,
    about 1e-16 relative accuracy) -- no need to carry a second copy of the coefficients.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"normal_quantile needs 0 < p < 1, got {p!r}")
    return _STD_NORMAL.inv_cdf(p)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _z_two_sided(confidence: float) -> float:
    _check_confidence(confidence)
    return normal_quantile(1.0 - (1.0 - confidence) / 2.0)


# --------------------------------------------------------------------------- binomial


def _check_binom(n: int, p: float) -> None:
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p!r}")


def binom_pmf(k: int, n: int, p: float) -> float:
    """P(X = k) for X ~ Binomial(n, p)."""
    _check_binom(n, p)
    if k < 0 or k > n:
        return 0.0
    if p == 0.0:
        return 1.0 if k == 0 else 0.0
    if p == 1.0:
        return 1.0 if k == n else 0.0
    log_pmf = (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )
    return math.exp(log_pmf)


def _lower_tail(k: int, n: int, p: float) -> float:
    """sum_{j<=k} pmf(j), summed from k downwards (terms shrink when k is below the mean)."""
    term = binom_pmf(k, n, p)
    total = term
    ratio = (1.0 - p) / p
    j = k
    while j > 0 and term > total * 1e-17:
        term *= j / (n - j + 1) * ratio
        j -= 1
        total += term
    return total


def _upper_tail(k: int, n: int, p: float) -> float:
    """sum_{j>=k} pmf(j), summed from k upwards (terms shrink when k is above the mean)."""
    term = binom_pmf(k, n, p)
    total = term
    ratio = p / (1.0 - p)
    j = k
    while j < n and term > total * 1e-17:
        term *= (n - j) / (j + 1) * ratio
        j += 1
        total += term
    return total


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p); the small tail is always summed directly."""
    _check_binom(n, p)
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p == 0.0:
        return 1.0
    if p == 1.0:
        return 0.0
    if k < n * p:
        return min(1.0, _lower_tail(k, n, p))
    return max(0.0, 1.0 - _upper_tail(k + 1, n, p))


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X > k) for X ~ Binomial(n, p)."""
    _check_binom(n, p)
    if k < 0:
        return 1.0
    if k >= n:
        return 0.0
    if p == 0.0:
        return 0.0
    if p == 1.0:
        return 1.0
    if k + 1 > n * p:
        return min(1.0, _upper_tail(k + 1, n, p))
    return max(0.0, 1.0 - _lower_tail(k, n, p))


def _bisect_decreasing(f, target: float) -> float:
    """The p in [0, 1] with f(p) == target for f decreasing in p, to float resolution."""
    lo, hi = 0.0, 1.0
    for _ in range(2000):
        mid = (lo + hi) / 2.0
        if mid <= lo or mid >= hi:
            break
        if f(mid) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


# --------------------------------------------------------------------------- proportions


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (no continuity correction). (0, 1) when n == 0."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes!r}, n={n!r}")
    z = _z_two_sided(confidence)
    if n == 0:
        return (0.0, 1.0)
    phat = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (phat + z2 / (2.0 * n)) / denom
    half = z * math.sqrt(phat * (1.0 - phat) / n + z2 / (4.0 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def clopper_pearson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval: conservative, the choice for small n."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes!r}, n={n!r}")
    _check_confidence(confidence)
    if n == 0:
        return (0.0, 1.0)
    tail = (1.0 - confidence) / 2.0
    k = successes
    # lower: P(X >= k | p) = tail (increasing in p); upper: P(X <= k | p) = tail (decreasing).
    low = 0.0 if k == 0 else _bisect_decreasing(lambda p: -binom_sf(k - 1, n, p), -tail)
    high = 1.0 if k == n else _bisect_decreasing(lambda p: binom_cdf(k, n, p), tail)
    return (low, high)


def rate_upper_bound(events: int, n: int, confidence: float = 0.95) -> float:
    """One-sided exact (Clopper-Pearson) upper bound on a rate after `events` in `n` trials.

    Use it for critical failures (invalid JSON, safety blocks, truncations): "at most x% at 95%".
    """
    if n < 0 or not 0 <= events <= n:
        raise ValueError(f"need 0 <= events <= n, got events={events!r}, n={n!r}")
    _check_confidence(confidence)
    if n == 0 or events == n:
        return 1.0
    if events == 0:
        return 1.0 - (1.0 - confidence) ** (1.0 / n)
    return _bisect_decreasing(lambda p: binom_cdf(events, n, p), 1.0 - confidence)


def rule_of_three(n: int, confidence: float = 0.95) -> float:
    """Upper bound on a rate when 0 events were seen in n trials: exact 1 - (1-conf)^(1/n).

    The classic approximation is -ln(1-conf)/n, i.e. about 3/n at 95%. 1.0 when n == 0.
    """
    return rate_upper_bound(0, n, confidence)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: binomial test of b vs c discordant pairs at p = 1/2.

    b = pairs where only the first system succeeded, c = only the second. 1.0 when b + c == 0.
    """
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be >= 0")
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * binom_cdf(min(b, c), n, 0.5))


def sign_test(wins: int, losses: int) -> float:
    """Exact two-sided sign test on decisive pairs (ties dropped); same test as McNemar."""
    return mcnemar_exact(wins, losses)


# --------------------------------------------------------------------------- bootstrap


def _binomial_variate(rand, n: int, p: float) -> int:
    """One Binomial(n, p) draw by exact inversion, searching outwards from the mode.

    `rand` is a bound ``Random.random``. Expected work is O(sqrt(n p q)), so thousands of draws
    with n = 10,000 cost milliseconds (Python 3.12 has random.binomialvariate; we support 3.10).
    """
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - _binomial_variate(rand, n, 1.0 - p)
    q = 1.0 - p
    mode = min(n, int((n + 1) * p))
    pm = math.exp(
        math.lgamma(n + 1)
        - math.lgamma(mode + 1)
        - math.lgamma(n - mode + 1)
        + mode * math.log(p)
        + (n - mode) * math.log1p(-p)
    )
    u = rand() - pm
    if u <= 0.0:
        return mode
    r = p / q
    hi_k = lo_k = mode
    hi_p = lo_p = pm
    while True:
        if hi_k < n:
            hi_p *= (n - hi_k) / (hi_k + 1) * r
            hi_k += 1
            u -= hi_p
            if u <= 0.0:
                return hi_k
        else:
            hi_p = 0.0
        if lo_k > 0:
            lo_p *= lo_k / ((n - lo_k + 1) * r)
            lo_k -= 1
            u -= lo_p
            if u <= 0.0:
                return lo_k
        else:
            lo_p = 0.0
        if hi_p < 1e-300 and lo_p < 1e-300:  # only float round-off mass is left
            return mode


def _bootstrap_ratio_means(
    sums: Sequence[float],
    counts: Sequence[int],
    resamples: int,
    rng: random.Random,
    *,
    pseudo: Sequence[float] = (),
    pseudo_weight: float = 0.0,
    method: str | None = None,
) -> list[float]:
    """Bootstrap distribution of sum(S)/sum(C) when resampling the G units with replacement.

    A unit is a prompt (count 1) or a cluster (sum of its values, number of prompts). Each
    resample draws G units from the empirical distribution -- optionally smoothed by extra
    single-prompt units with values `pseudo`, each carrying weight `pseudo_weight` (a real unit
    weighs 1).

    When few distinct units exist -- always the case for binary or ternary per-prompt
    differences -- a resample is fully described by how often each *kind* of unit was drawn, a
    multinomial vector, drawn as a chain of conditional binomials. That is the same distribution
    as drawing G units one by one, at O(kinds * sqrt(G)) instead of O(G) per resample.
    """
    g = len(sums)
    kinds: dict[tuple[float, int], float] = dict(Counter(zip(sums, counts)))
    if pseudo_weight > 0.0:
        for value in pseudo:
            kinds[(value, 1)] = kinds.get((value, 1), 0.0) + pseudo_weight
    if method is None:
        method = "multinomial" if len(kinds) * 16 <= g else "units"
    out: list[float] = []
    rand = rng.random
    if method == "multinomial":
        ordered = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
        cond_p = []
        left = math.fsum(w for _, w in ordered)
        for _, weight in ordered[:-1]:
            cond_p.append(min(1.0, weight / left))
            left -= weight
        head = [(s, c, p) for ((s, c), _), p in zip(ordered[:-1], cond_p)]
        last_s, last_c = ordered[-1][0]
        for _ in range(resamples):
            remaining = g
            total_s = 0.0
            total_c = 0
            for s, c, p in head:
                if remaining == 0:
                    break
                x = _binomial_variate(rand, remaining, p)
                total_s += x * s
                total_c += x * c
                remaining -= x
            total_s += remaining * last_s
            total_c += remaining * last_c
            out.append(total_s / total_c)
    else:
        # Unit by unit. The smoothed draw is split exactly: how many of the g draws hit a pseudo
        # unit is Binomial(g, W / (g + W)); the rest are uniform over the real units.
        plain = all(c == 1 for c in counts)
        population = list(sums)
        units = list(zip(sums, counts))
        pseudo = list(pseudo) if pseudo_weight > 0.0 else []
        pseudo_total = pseudo_weight * len(pseudo)
        p_pseudo = pseudo_total / (g + pseudo_total)
        for _ in range(resamples):
            total_s = 0.0
            total_c = 0
            k = g
            if pseudo:
                left = _binomial_variate(rand, g, p_pseudo)
                k -= left
                total_c += left
                for idx, value in enumerate(pseudo[:-1]):
                    x = _binomial_variate(rand, left, 1.0 / (len(pseudo) - idx))
                    total_s += x * value
                    left -= x
                total_s += left * pseudo[-1]
            if plain:
                total_s += sum(rng.choices(population, k=k))
                total_c += k
            else:
                for s, c in rng.choices(units, k=k):
                    total_s += s
                    total_c += c
            out.append(total_s / total_c)
    return out


@dataclass(frozen=True)
class BootstrapInterval:
    """Point estimate and percentile bootstrap interval of a paired mean difference."""

    estimate: float
    low: float
    high: float
    confidence: float
    std_error: float  # standard deviation of the bootstrap replicates
    n: int  # prompts
    clusters: int | None  # number of clusters resampled, None when prompts were resampled
    resamples: int
    seed: int


def _paired_differences(a: Sequence[float], b: Sequence[float]) -> list[float]:
    if len(a) != len(b):
        raise ValueError(f"paired data must have equal lengths, got {len(a)} and {len(b)}")
    if not a:
        raise ValueError("need at least one pair")
    return [float(y) - float(x) for x, y in zip(a, b)]


def _bootstrap_mean(
    d: Sequence[float],
    *,
    clusters: Sequence[Hashable] | None,
    resamples: int,
    confidence: float,
    seed: int,
    pseudo: Sequence[float] = (),
    pseudo_weight: float = 0.0,
) -> BootstrapInterval:
    _check_confidence(confidence)
    if resamples < 1:
        raise ValueError("resamples must be >= 1")
    n = len(d)
    estimate = math.fsum(d) / n
    if clusters is None:
        sums = list(d)
        counts = [1] * n
        n_clusters = None
    else:
        if len(clusters) != n:
            raise ValueError(f"clusters has {len(clusters)} keys for {n} prompts")
        acc: dict[Hashable, list] = {}
        for key, value in zip(clusters, d):  # first-seen order: deterministic
            slot = acc.setdefault(key, [0.0, 0])
            slot[0] += value
            slot[1] += 1
        sums = [s for s, _ in acc.values()]
        counts = [c for _, c in acc.values()]
        n_clusters = len(acc)
    rng = random.Random(seed)
    dist = sorted(
        _bootstrap_ratio_means(
            sums, counts, resamples, rng, pseudo=pseudo, pseudo_weight=pseudo_weight
        )
    )
    tail = (1.0 - confidence) / 2.0
    low = quantile(dist, tail, _sorted=True)
    high = quantile(dist, 1.0 - tail, _sorted=True)
    # The percentile interval of a mean contains the estimate except in degenerate tiny samples;
    # widen to it there so that "the interval contains the estimate" always holds.
    low, high = min(low, estimate), max(high, estimate)
    mean = math.fsum(dist) / len(dist)
    var = math.fsum((x - mean) ** 2 for x in dist) / (len(dist) - 1) if len(dist) > 1 else 0.0
    return BootstrapInterval(
        estimate=estimate,
        low=low,
        high=high,
        confidence=confidence,
        std_error=math.sqrt(var),
        n=n,
        clusters=n_clusters,
        resamples=resamples,
        seed=seed,
    )


def paired_bootstrap_diff(
    a: Sequence[float],
    b: Sequence[float],
    *,
    clusters: Sequence[Hashable] | None = None,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapInterval:
    """Paired percentile bootstrap of mean(b) - mean(a) (positive = b is larger).

    Prompts are resampled with replacement, keeping each (a_i, b_i) pair together. With
    ``clusters`` (one hashable key per prompt: template, tenant, slice...) whole clusters are
    resampled instead and the estimate of each resample is sum(d)/prompts, as in clustered SEs.
    """
    d = _paired_differences(a, b)
    return _bootstrap_mean(
        d, clusters=clusters, resamples=resamples, confidence=confidence, seed=seed
    )


# --------------------------------------------------------------------------- non-inferiority


@dataclass(frozen=True)
class NonInferiorityResult:
    """The verdict and every number behind it. Disagreement rates are in [0, 1]."""

    verdict: str  # PASS | FAIL | INCONCLUSIVE
    reason: str
    n: int
    margin: float
    confidence: float  # one-sided level of each bound
    noise_disagreement: float  # mean disagreement Pro vs Pro
    candidate_disagreement: float  # mean disagreement Pro vs candidate
    excess: float  # candidate_disagreement - noise_disagreement (point estimate)
    low: float  # one-sided `confidence` lower bound of the excess
    high: float  # one-sided `confidence` upper bound of the excess
    std_error: float
    prompts_needed: int | None  # total prompts for a conclusive verdict (INCONCLUSIVE only)
    additional_prompts: int | None  # prompts_needed - n
    power: float
    clusters: int | None
    resamples: int
    seed: int
    smoothing: bool


def _agreements(values: Sequence[float], name: str) -> list[float]:
    out = []
    for v in values:
        x = float(v)
        if not 0.0 <= x <= 1.0:
            raise ValueError(f"{name} values must be in [0, 1] (bool or score), got {v!r}")
        out.append(x)
    return out


def non_inferiority(
    noise_agreement: Sequence[float],
    candidate_agreement: Sequence[float],
    *,
    margin: float,
    confidence: float = 0.95,
    clusters: Sequence[Hashable] | None = None,
    resamples: int = 2000,
    seed: int = 0,
    power: float = 0.8,
    smoothing: bool = True,
) -> NonInferiorityResult:
    """Is the candidate's disagreement with Pro within `margin` of Pro's disagreement with itself?

    Inputs, one per prompt, paired: ``noise_agreement[i]`` = agreement of the two Pro answers,
    ``candidate_agreement[i]`` = agreement of Pro and the candidate (bool, or a score / mean over
    repeats in [0, 1]).

    excess = mean(1 - candidate) - mean(1 - noise), per prompt d_i = noise_i - candidate_i.

    Bounds: a paired percentile bootstrap over prompts (or clusters) of mean(d). ``confidence``
    is the one-sided level of *each* bound, so 0.95 uses the 5th and 95th percentiles (a 90%
    two-sided interval), as usual for non-inferiority at one-sided alpha = 0.05.

    Smoothing (default on): each resample draws n prompts from the empirical distribution of d
    plus z^2/2 pseudo-prompts at d = +1 and z^2/2 at d = -1 (z = normal_quantile(confidence)),
    the paired analogue of Agresti-Coull / Wilson adding z^2/2 pseudo-successes and -failures.
    The point estimate is not smoothed. Without it a run with no discordant prompts has a
    zero-width interval and would "prove" parity from 30 prompts; with it, 0 discordances in n
    give an upper bound of about z^2/n (the rule of three says 3/n), and in simulation the
    false-PASS rate at excess == margin stays at or below 1 - confidence down to n*psi ~ 2,
    with the power that :func:`sample_size_non_inferiority` plans for. The effect vanishes as
    n grows (~1/n).

    Decision rule, first match wins (delta = margin):

    1. PASS          if high < delta  (excess is below the margin at the stated confidence);
    2. FAIL          if low  > delta  (excess is above the margin at the stated confidence);
    3. FAIL          if excess >= delta and low > 0 (clearly worse: significantly above the noise
                     floor, and the best estimate is already beyond the margin);
    4. INCONCLUSIVE  otherwise, with ``prompts_needed`` = the n at which a bound would clear
                     delta with probability `power` if the true excess were the current estimate:
                     n = n_now * ((z_conf + z_power) * se / |delta - excess|)^2, se from the
                     bootstrap (so clustering is accounted for).
    """
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"one-sided confidence must be in (0.5, 1), got {confidence!r}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power!r}")
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin must be in [0, 1), got {margin!r}")
    noise = _agreements(noise_agreement, "noise_agreement")
    cand = _agreements(candidate_agreement, "candidate_agreement")
    d = _paired_differences(cand, noise)  # noise_i - candidate_i
    n = len(d)
    z_conf = normal_quantile(confidence)
    pseudo = (1.0, -1.0) if smoothing else ()
    boot = _bootstrap_mean(
        d,
        clusters=clusters,
        resamples=resamples,
        confidence=2.0 * confidence - 1.0,
        seed=seed,
        pseudo=pseudo,
        pseudo_weight=z_conf * z_conf / 2.0,
    )
    excess, low, high = boot.estimate, boot.low, boot.high
    prompts_needed = additional = None
    if high < margin:
        verdict = PASS
        reason = f"upper bound {high:.4f} < margin {margin:g}"
    elif low > margin:
        verdict = FAIL
        reason = f"lower bound {low:.4f} > margin {margin:g}"
    elif excess >= margin and low > 0.0:
        verdict = FAIL
        reason = (
            f"excess {excess:.4f} >= margin {margin:g} and significantly above the noise floor "
            f"(lower bound {low:.4f} > 0)"
        )
    else:
        verdict = INCONCLUSIVE
        gap = abs(margin - excess)
        if gap > 1e-12:
            z = z_conf + normal_quantile(power)
            need = math.ceil(n * (z * boot.std_error / gap) ** 2)
            prompts_needed = max(need, n + 1)
            additional = prompts_needed - n
            reason = (
                f"interval [{low:.4f}, {high:.4f}] straddles margin {margin:g}; "
                f"need ~{prompts_needed} prompts ({additional} more)"
            )
        else:
            reason = f"excess equals margin {margin:g}; no sample size separates them"
    return NonInferiorityResult(
        verdict=verdict,
        reason=reason,
        n=n,
        margin=margin,
        confidence=confidence,
        noise_disagreement=1.0 - math.fsum(noise) / n,
        candidate_disagreement=1.0 - math.fsum(cand) / n,
        excess=excess,
        low=low,
        high=high,
        std_error=boot.std_error,
        prompts_needed=prompts_needed,
        additional_prompts=additional,
        power=power,
        clusters=boot.clusters,
        resamples=resamples,
        seed=seed,
        smoothing=smoothing,
    )


# --------------------------------------------------------------------------- multiplicity


def _check_pvalues(pvalues: Sequence[float]) -> list[float]:
    ps = [float(p) for p in pvalues]
    if any(not 0.0 <= p <= 1.0 for p in ps):
        raise ValueError("p-values must be in [0, 1]")
    return ps


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (reject where adjusted <= alpha)."""
    ps = _check_pvalues(pvalues)
    m = len(ps)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=ps.__getitem__)):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg (FDR) adjusted p-values, in the input order."""
    ps = _check_pvalues(pvalues)
    m = len(ps)
    adjusted = [0.0] * m
    running = 1.0
    order = sorted(range(m), key=ps.__getitem__)
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, ps[i] * (m / rank))  # m/rank >= 1 keeps it >= p in floats
        adjusted[i] = running
    return adjusted


# --------------------------------------------------------------------------- sample sizes


def sample_size_non_inferiority(
    margin: float,
    expected_agreement: float,
    noise_agreement: float | None = None,
    confidence: float = 0.95,
    power: float = 0.8,
    *,
    discordant_rate: float | None = None,
) -> int:
    """Prompts needed for :func:`non_inferiority` to PASS with probability `power`.

    Per prompt d = noise_agreement - candidate_agreement in {-1, 0, 1}; with expected
    candidate agreement A_c and Pro-vs-Pro agreement A_n (default: A_n = A_c, "as good as
    Pro"), the expected excess is D = A_n - A_c and

        n = (z_conf + z_power)^2 * (psi - D^2) / (margin - D)^2

    where psi = P(d != 0) is the discordant rate, by default A_c(1 - A_n) + A_n(1 - A_c)
    (the two comparisons independent given the prompt; positively correlated difficulty makes
    psi and n smaller). ``confidence`` is one-sided. psi = 10%, margin = 3 pp -> ~690;
    psi = 5%, margin = 2 pp -> ~770.
    """
    _check_confidence(confidence)
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power!r}")
    a_c = float(expected_agreement)
    a_n = a_c if noise_agreement is None else float(noise_agreement)
    for name, v in (("expected_agreement", a_c), ("noise_agreement", a_n)):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {v!r}")
    expected_excess = a_n - a_c
    if margin <= expected_excess:
        raise ValueError(
            f"expected excess disagreement {expected_excess:.4f} is not below the margin "
            f"{margin:g}: non-inferiority cannot be shown at any sample size"
        )
    psi = a_c * (1.0 - a_n) + a_n * (1.0 - a_c) if discordant_rate is None else discordant_rate
    if not abs(expected_excess) <= psi <= 1.0:
        raise ValueError(f"discordant rate must be in [|excess|, 1], got {psi!r}")
    variance = psi - expected_excess**2
    z = normal_quantile(confidence) + normal_quantile(power)
    return max(1, math.ceil(z * z * variance / (margin - expected_excess) ** 2))


def sample_size_proportion(p: float, half_width: float, confidence: float = 0.95) -> int:
    """Prompts for a +-half_width (normal approximation) interval on a rate near p.

    n = z^2 p (1 - p) / h^2: p = 95%, +-2 pp -> ~460; +-1 pp -> ~1,830; p = 90%, +-2 pp -> ~870.
    """
    if not 0.0 <= p <= 1.0 or half_width <= 0.0:
        raise ValueError("need 0 <= p <= 1 and half_width > 0")
    z = _z_two_sided(confidence)
    return max(1, math.ceil(z * z * p * (1.0 - p) / half_width**2))


def sample_size_sign_test(
    win_rate: float, null_rate: float = 0.5, confidence: float = 0.95, power: float = 0.8
) -> int:
    """Decisive pairs for a two-sided sign test to detect `win_rate` against `null_rate`.

    n = ((z_{1-a/2} sqrt(p0 q0) + z_power sqrt(p1 q1)) / (p1 - p0))^2; 45% vs 50% -> ~780.
    Divide by (1 - tie rate) for the number of judged pairs.
    """
    if win_rate == null_rate:
        raise ValueError("win_rate must differ from null_rate")
    if not (0.0 < win_rate < 1.0 and 0.0 < null_rate < 1.0 and 0.0 < power < 1.0):
        raise ValueError("rates and power must be in (0, 1)")
    za = _z_two_sided(confidence)
    zb = normal_quantile(power)
    num = za * math.sqrt(null_rate * (1 - null_rate)) + zb * math.sqrt(win_rate * (1 - win_rate))
    return max(1, math.ceil((num / (win_rate - null_rate)) ** 2))


# --------------------------------------------------------------------------- quantiles


def quantile(values: Sequence[float], q: float, *, _sorted: bool = False) -> float:
    """The q-quantile, q in [0, 1], linear interpolation (numpy's default, Hyndman-Fan type 7)."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q!r}")
    xs = values if _sorted else sorted(values)
    if not xs:
        raise ValueError("quantile of no values")
    h = (len(xs) - 1) * q
    i = math.floor(h)
    if i >= len(xs) - 1:
        return float(xs[-1])
    return float(xs[i] + (h - i) * (xs[i + 1] - xs[i]))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile, q in [0, 100] (as numpy.percentile): percentile(latencies, 95)."""
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in [0, 100], got {q!r}")
    return quantile(values, q / 100.0)


@dataclass(frozen=True)
class QuantileInterval:
    """Distribution-free interval for a population quantile from order statistics.

    ``low``/``high`` are None when n is too small to bound that side at all (e.g. p99 of 100
    values has no upper bound). ``coverage`` is the exact coverage of the interval returned
    (>= confidence when both bounds exist); ranks are 1-based order statistics. In tiny samples
    at low confidence the interpolated estimate can fall outside [X_(l), X_(u)]; the bound is
    then widened to the estimate (coverage only grows).
    """

    q: float
    estimate: float
    low: float | None
    high: float | None
    confidence: float
    coverage: float
    low_rank: int | None
    high_rank: int | None
    n: int


def quantile_interval(values: Sequence[float], q: float, confidence: float = 0.95) -> QuantileInterval:
    """Confidence interval for the q-quantile (q in [0, 1]) of a continuous distribution.

    With B ~ Binomial(n, q) the number of observations below the true quantile,
    P(X_(l) <= xi_q < X_(u)) = P(l <= B <= u - 1). We take the largest l with P(B < l) <= a/2
    and the smallest u with P(B >= u) <= a/2, so each tail has at most a/2 (a = 1 - confidence).
    """
    _check_confidence(confidence)
    xs = sorted(values)
    n = len(xs)
    estimate = quantile(xs, q, _sorted=True)
    tail = (1.0 - confidence) / 2.0
    # largest l in [1, n] with cdf(l - 1) <= tail; cdf is increasing in l.
    lo, hi = 0, n  # invariant: l = lo is feasible (0 = none), hi + 1 infeasible
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if binom_cdf(mid - 1, n, q) <= tail:
            lo = mid
        else:
            hi = mid - 1
    low_rank = lo if lo >= 1 else None
    # smallest u in [1, n] with sf(u - 1) = P(B >= u) <= tail; sf is decreasing in u.
    lo, hi = 1, n + 1  # u = n + 1 means none
    while lo < hi:
        mid = (lo + hi) // 2
        if binom_sf(mid - 1, n, q) <= tail:
            hi = mid
        else:
            lo = mid + 1
    high_rank = lo if lo <= n else None
    upper_cdf = binom_cdf(high_rank - 1, n, q) if high_rank is not None else 1.0
    lower_cdf = binom_cdf(low_rank - 1, n, q) if low_rank is not None else 0.0
    return QuantileInterval(
        q=q,
        estimate=estimate,
        low=min(float(xs[low_rank - 1]), estimate) if low_rank is not None else None,
        high=max(float(xs[high_rank - 1]), estimate) if high_rank is not None else None,
        confidence=confidence,
        coverage=upper_cdf - lower_cdf,
        low_rank=low_rank,
        high_rank=high_rank,
        n=n,
    )
