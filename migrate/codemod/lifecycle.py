"""FLM003's wording: what happens today to calls of a model, on the platform a site uses (or on each).

Pure: catalogue data and a date in, a phrase out. None means calls work as written.
"""

from __future__ import annotations

import datetime as dt

from migrate.catalog import PLATFORMS, Catalog, Model

UNKNOWN = " (this call's platform is not known from the code: both are shown)"


def status(catalog: Catalog, model: Model, platform: str | None, today: dt.date) -> str | None:
    """`{status}` of FLM003 ("model 'X' {status}") or None when nothing fails or is rerouted."""
    platforms = (platform,) if platform else PLATFORMS
    if len({(lc.shutdown, lc.routed_to, lc.routed_since) for lc in model.lifecycles.values()}) == 1:
        shared = model.lifecycle(PLATFORMS[0])  # the same on every platform: no need to name one
        if shared.routed(today):
            return f"is routed to '{shared.routed_to}' since {shared.routed_since}: its answers come from that model, billed at its rates"
        return f"was shut down on {shared.shutdown}: calls to it fail today" if shared.shut_down(today) else None
    phrases = {p: _on(catalog, model, p, today) for p in platforms}
    if not any(phrases.values()):
        return None
    if platform is not None:
        return phrases[platform]
    text = "; ".join(phrase or f"is available on {catalog.platforms[p].in_text}" for p, phrase in phrases.items())
    return text + UNKNOWN


def _on(catalog: Catalog, model: Model, platform: str, today: dt.date) -> str | None:
    lifecycle = model.lifecycle(platform)
    where = catalog.platforms[platform].in_text
    routed = lifecycle.routed(today)
    if routed:
        return f"is routed to '{routed}' on {where} since {lifecycle.routed_since}: its answers come from that model, billed at its rates"
    if lifecycle.shut_down(today):
        return f"was retired on {where} on {lifecycle.shutdown}: calls there fail today"
    return None


def announced_shutdowns(catalog: Catalog, model: Model, today: dt.date) -> str | None:
    """FLM005's `{when}`: every announced shutdown of a model, with its platform; None when none."""
    dates = model.announced_shutdowns()
    if not dates:
        return None

    def day(d: dt.date) -> str:
        return f"on {d}" + (" (already past)" if d <= today else "")

    if len(set(dates.values())) == 1 and len(dates) == len(PLATFORMS):
        return day(next(iter(dates.values())))
    return "; ".join(f"{day(d)} on {catalog.platforms[p].in_text}" for p, d in sorted(dates.items()))
