"""Which model served an arm: the catalogue's word before a run, the responses' word after it.

A provider may answer a request for one model with another: since 2026-12-01 the Developer API
serves `gemini-2.5-pro` with `gemini-3.8-flash`. A comparison whose "Pro" arm was not Pro says
nothing about Pro, so every call records the response's `modelVersion` and the gate fails closed
when an arm was served by another model (verdict.py). Before a run, the catalogue
(rules/models.yaml) may already know that a model is shut down or routed on a platform.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any, Iterable, Mapping

PLATFORMS = {"gemini": "developer", "vertex": "vertex"}  # backends that reach a Google platform
PLATFORM_NAMES = {"developer": "the Developer API", "vertex": "Vertex AI"}
_VERSION_SUFFIX = re.compile(r"\d{3}|(preview|exp)([-.\w]*)|\d{2}-\d{2,4}|latest")


def catalogue_notice(catalog: Any, model_id: str, backend: str | None, today: dt.date) -> str | None:
    """A warning for `shadow run` when the catalogue says `model_id` is routed or shut down there."""
    platform = PLATFORMS.get(backend or "")
    model = catalog.model(model_id.removeprefix("models/")) if platform else None
    if model is None or platform not in model.lifecycles:
        return None
    lifecycle, where = model.lifecycle(platform), PLATFORM_NAMES[platform]
    served_by = lifecycle.routed(today)
    if served_by is not None:
        return (f"{model_id} is routed to {served_by} on {where} since {lifecycle.routed_since.isoformat()} "
                "(rules/models.yaml): its calls will not be answered by the model asked for; "
                "`shadow gate` fails closed unless --allow-routed")
    if lifecycle.shut_down(today):
        note = f" {lifecycle.note}" if lifecycle.note else ""
        return (f"{model_id} was shut down on {where} on {lifecycle.shutdown.isoformat()} (rules/models.yaml, as of "
                f"{catalog.as_of.isoformat()}): calls may fail or be served by another model.{note} "
                "Every answer's modelVersion is recorded and checked by `shadow gate`")
    return None


def same_model(requested: str, served: str, catalog: Any = None) -> bool:
    """True when `served` (a modelVersion) is the model asked for, or a dated version of it."""
    asked, got = requested.removeprefix("models/"), served.removeprefix("models/")
    if got == asked:
        return True
    if got.startswith(asked + "-") and _VERSION_SUFFIX.fullmatch(got[len(asked) + 1:]):
        return True
    entry = catalog.model(asked) if catalog is not None else None
    return bool(entry is not None and got in entry.ids)


def service(calls: Iterable[tuple[str, str, str | None]], catalog: Any = None) -> dict[str, dict[str, Any]]:
    """Per arm: the model asked for, what served its answered calls, and how many were routed.

    `calls` yields (arm, requested model, model_version or None) for every answered call."""
    return service_counts(Counter(calls), catalog)


def service_counts(counts: Mapping[tuple[str, str, str | None], int], catalog: Any = None) -> dict[str, dict[str, Any]]:
    """`service` from (arm, requested, model_version) -> answered calls (a run streamed by prompt)."""
    out: dict[str, dict[str, Any]] = {}
    served: dict[str, Counter] = {}
    for (arm, requested, version), n in counts.items():
        row = out.setdefault(arm, {"requested": requested, "answered": 0, "unreported": 0, "routed": 0})
        row["answered"] += n
        if not version:
            row["unreported"] += n
            continue
        served.setdefault(arm, Counter())[version] += n
        if not same_model(requested, version, catalog):
            row["routed"] += n
    for arm, row in out.items():
        row["served"] = dict((served.get(arm) or Counter()).most_common())
    order = ("primary", "noise", "candidate")
    return dict(sorted(out.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def describe(row: Mapping[str, Any]) -> str:
    """'gemini-3.8-flash (58 of 60 answers)' -- what served one arm, in words."""
    served = row.get("served") or {}
    if not served:
        return "not reported by the responses"
    parts = [f"{name} ({n} of {row['answered']})" for name, n in served.items()]
    if row.get("unreported"):
        parts.append(f"not reported ({row['unreported']})")
    return ", ".join(parts)
