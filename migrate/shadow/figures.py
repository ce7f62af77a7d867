"""Figures more than one view shows, computed here once: `summary`, `run` and every report render
these and never recompute them their own way (so two views of one run cannot give two numbers).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from migrate.shadow.store import Call

DAYS_PER_MONTH = 30


def projection_factors(pricing: Mapping[str, Any]) -> dict[str, float]:
    """Model -> what its recorded (standard) costs are multiplied by in the projection: 1 - its own
    batch discount under --batch-pricing (a model without one: 1), else nothing (1 for all)."""
    if not pricing.get("batch"):
        return {}
    return {m: 1.0 - float(e.get("batch_discount") or 0.0) for m, e in (pricing.get("models") or {}).items()}


def priced_as(calls: Iterable[Call], into: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Per arm: the calls billed at another model's rates than asked, by that model, with one reason
    (added to `into` when given: a run read prompt by prompt)."""
    out = {} if into is None else into
    for c in calls:
        if c.cost_note and c.priced_as and c.priced_as != c.model:
            row = out.setdefault(c.arm, {}).setdefault(c.priced_as, {"calls": 0, "why": c.cost_note})
            row["calls"] += 1
    return out


def paired_costs(final: Mapping[tuple[str, str, int], Call],
                 factors: Mapping[str, float] | None = None) -> list[tuple[str, float, float]]:
    """(prompt_id, primary USD, candidate USD) for every prompt both arms answered with a priced call;
    each side is the mean over its repeats, each call scaled by its pricing model's projection factor
    (batch). The saving, the cost ratio and the monthly projection all come from these pairs."""
    factors = factors or {}
    sums: dict[str, dict[str, list[float]]] = {}
    for (pid, arm, _), call in final.items():
        if arm in ("primary", "candidate") and call.ok and call.cost_usd is not None:
            scale = factors.get(call.priced_as or call.model, 1.0)
            sums.setdefault(pid, {}).setdefault(arm, []).append(call.cost_usd * scale)
    out = []
    for pid, arms in sums.items():
        if "primary" in arms and "candidate" in arms:
            p, c = arms["primary"], arms["candidate"]
            out.append((pid, math.fsum(p) / len(p), math.fsum(c) / len(c)))
    return out


def price_periods(pricing: Mapping[str, Any]) -> list[str]:
    """One line per priced model: the rates in force on the run's date, their period, what follows."""
    lines = []
    for model, e in (pricing.get("models") or {}).items():
        text = f"{model}: ${e.get('input', 0):g} in / ${e.get('output', 0):g} out per 1M"
        period = e.get("period") or {}
        if period.get("text"):
            text += f", {period['text']}"
        nxt = e.get("next_period")
        if nxt:
            text += f"; from {nxt['from']} ${nxt['input']:g} / ${nxt['output']:g} (not in this projection)"
        if pricing.get("batch"):
            text += (f"; batch -{float(e.get('batch_discount') or 0) * 100:g}%" if e.get("batch_discount")
                     else "; no batch rate in rules/pricing.yaml: standard rates")
        lines.append(text)
    return lines


def cost_ratio(pairs: list[tuple[str, float, float]]) -> float | None:
    primary = math.fsum(p for _, p, _ in pairs)
    return math.fsum(c for _, _, c in pairs) / primary if pairs and primary > 0 else None


def monthly(pairs: list[tuple[str, float, float]], volume: float | None) -> dict[str, Any] | None:
    """Projected monthly cost of each arm and the saving (point estimate) at `volume` requests/day."""
    if not volume or not pairs:
        return None
    n, scale = len(pairs), volume * DAYS_PER_MONTH
    return {"volume_per_day": volume, "days": DAYS_PER_MONTH,
            "primary_usd": math.fsum(p for _, p, _ in pairs) / n * scale,
            "candidate_usd": math.fsum(c for _, _, c in pairs) / n * scale,
            "saving_usd": math.fsum(p - c for _, p, c in pairs) / n * scale}


def retries(attempts: Iterable[int]) -> int:
    """HTTP attempts beyond the first, over the calls that count (the attempts of each key's final call)."""
    return sum(max(0, int(a or 0) - 1) for a in attempts)
