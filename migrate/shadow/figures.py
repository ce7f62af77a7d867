"""Figures more than one view shows, computed here once: `summary`, `run` and every report render
these and never recompute them their own way (so two views of one run cannot give two numbers).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from migrate.shadow.store import Call

DAYS_PER_MONTH = 30


def paired_costs(final: Mapping[tuple[str, str, int], Call]) -> list[tuple[str, float, float]]:
    """(prompt_id, primary USD, candidate USD) for every prompt both arms answered with a priced call;
    each side is the mean over its repeats. The saving, the cost ratio and the monthly projection
    all come from these pairs."""
    sums: dict[str, dict[str, list[float]]] = {}
    for (pid, arm, _), call in final.items():
        if arm in ("primary", "candidate") and call.ok and call.cost_usd is not None:
            sums.setdefault(pid, {}).setdefault(arm, []).append(call.cost_usd)
    out = []
    for pid, arms in sums.items():
        if "primary" in arms and "candidate" in arms:
            p, c = arms["primary"], arms["candidate"]
            out.append((pid, math.fsum(p) / len(p), math.fsum(c) / len(c)))
    return out


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


def thinking_share(calls: Iterable[Call]) -> float | None:
    """Thinking tokens as a share of output tokens (thinking is billed as output)."""
    thoughts = output = 0
    for c in calls:
        if c.ok and c.usage is not None:
            thoughts += c.usage.thoughts
            output += c.usage.output
    return thoughts / output if output else None


def retries(attempts: Iterable[int]) -> int:
    """HTTP attempts beyond the first, over the calls that count (the attempts of each key's final call)."""
    return sum(max(0, int(a or 0) - 1) for a in attempts)
