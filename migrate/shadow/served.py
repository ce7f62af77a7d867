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


def routing(model: Any, platform: str) -> tuple[str | None, dt.date | None] | None:
    """(routed_to, since) when the catalogue entry records routing on `platform`, else None.

    Read defensively: the catalogue may carry it as `routing` or `routed_to`, a mapping of platform
    to {routed_to|to, date|since} (or to an object with those attributes, or to a bare model id)."""
    routes = getattr(model, "routing", None) or getattr(model, "routed_to", None)
    if not isinstance(routes, Mapping):
        return None
    entry = routes.get(platform)
    if entry is None and platform == "developer":
        entry = routes.get("gemini") or routes.get("developer_api") or routes.get("gemini_api")
    if entry is None:
        return None
    if isinstance(entry, str):
        return entry, None

    def field(*names: str) -> Any:
        for name in names:
            value = entry.get(name) if isinstance(entry, Mapping) else getattr(entry, name, None)
            if value is not None:
                return value
        return None

    target, since = field("routed_to", "to", "model"), field("date", "since", "on", "routed_on")
    if isinstance(since, str):
        try:
            since = dt.date.fromisoformat(since)
        except ValueError:
            since = None
    return (str(target) if target else None), (since if isinstance(since, dt.date) else None)


def catalogue_notice(catalog: Any, model_id: str, backend: str | None, today: dt.date) -> str | None:
    """A warning for `shadow run` when the catalogue says `model_id` is routed or shut down there."""
    platform = PLATFORMS.get(backend or "")
    model = catalog.model(model_id.removeprefix("models/")) if platform else None
    if model is None:
        return None
    where = PLATFORM_NAMES[platform]
    route = routing(model, platform)
    if route is not None and (route[1] is None or route[1] <= today):
        since = f" since {route[1].isoformat()}" if route[1] else ""
        return (f"{model_id} is routed to {route[0] or 'another model'} on {where}{since} (rules/models.yaml): "
                "its calls will not be answered by the model asked for; `shadow gate` fails closed unless --allow-routed")
    if model.is_shut_down(today):
        note = f" {model.note}" if model.note else ""
        return (f"{model_id} was shut down on {model.shutdown.isoformat()} (rules/models.yaml, as of "
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
    out: dict[str, dict[str, Any]] = {}
    counts: dict[str, Counter] = {}
    for arm, requested, version in calls:
        row = out.setdefault(arm, {"requested": requested, "answered": 0, "unreported": 0, "routed": 0})
        row["answered"] += 1
        if not version:
            row["unreported"] += 1
            continue
        counts.setdefault(arm, Counter())[version] += 1
        if not same_model(requested, version, catalog):
            row["routed"] += 1
    for arm, row in out.items():
        row["served"] = dict((counts.get(arm) or Counter()).most_common())
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
