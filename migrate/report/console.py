"""Rich renderables for the terminal: the scan table, the model list, the rule catalogue."""

from __future__ import annotations

import datetime as dt

from rich.table import Table
from rich.text import Text

from migrate.catalog import PLATFORMS, Catalog, Model, Rule
from migrate.codemod.findings import FileResult
from migrate.errors import UserError

TIER_STYLE = {"safe": "green", "unsafe": "yellow", "manual": "magenta", "report": "cyan"}


def findings_table(results: list[FileResult], display) -> Table:
    """Nothing is elided at any width: long paths and dotted names fold onto more lines instead."""
    table = Table(title="Gemini call sites and findings", show_lines=False, expand=False)
    table.add_column("Location", overflow="fold", ratio=2, min_width=12)
    table.add_column("Rule", no_wrap=True, min_width=6)
    table.add_column("Tier", no_wrap=True, min_width=6)
    table.add_column("Message", overflow="fold", ratio=3, min_width=20)
    for result in results:
        for f in result.findings:
            status = "" if not f.is_edit else (" (will apply)" if f.applied else " (not applied: needs --unsafe)" if f.tier == "unsafe" else "")
            table.add_row(
                f"{display(result.path)}:{'' if f.cell is None else f'cell {f.cell}:'}{f.line}:{f.column}",
                f.rule,
                Text(f.tier, style=TIER_STYLE.get(f.tier, "")),
                f.message + status,
            )
    return table


def skipped_table(results: list[FileResult], display) -> Table | None:
    rows = [r for r in results if r.status in ("skipped", "error")]
    if not rows:
        return None
    table = Table(title="Files skipped")
    table.add_column("File", overflow="fold", ratio=2, min_width=12)
    table.add_column("Reason", overflow="fold", ratio=3, min_width=20)
    for r in rows:
        table.add_row(display(r.path), r.reason or r.status)
    return table


def lifecycle_text(catalog: Catalog, model: Model, platform: str, today: dt.date) -> Text:
    """One platform's lifecycle cell: what calls get today, and the next date that changes it."""
    lc = model.lifecycle(platform)
    status = lc.status(today)
    if status == "routed":
        return Text(f"routed -> {lc.routed_to} since {lc.routed_since}", style="magenta")
    if status == "shut-down":
        return Text(f"shut down {lc.shutdown}", style="red")
    parts = ["deprecated " + str(lc.deprecated)] if status == "deprecated" else []
    if lc.shutdown is not None:
        parts.append(f"shuts down {lc.shutdown}")
        if lc.routed_to:
            parts.append(f"then -> {lc.routed_to}")
    elif lc.earliest_shutdown is not None:
        parts.append(f"available (until {lc.earliest_shutdown} or later)")
    if not parts:
        parts.append("available")
    style = "yellow" if status == "deprecated" or lc.shutdown is not None else "green"
    return Text("; ".join(parts), style=style)


def price_text(catalog: Catalog, model: Model, today: dt.date) -> str:
    try:
        price = catalog.price(model.id)
    except UserError:
        return "-"
    period = price.in_force(today)
    rates = period.standard
    text = f"{rates.input:g} / {rates.output:g} / {rates.cached_input:g}"
    if period.end is not None:
        following = price.in_force(period.end + dt.timedelta(days=1)).standard
        text += f" until {period.end}, then {following.input:g} / {following.output:g}"
    return text


def models_table(catalog: Catalog, today: dt.date, target: str) -> Table:
    table = Table(title=f"Known Gemini models on {today} (data as of {catalog.as_of}; prices as of {catalog.pricing.as_of}, USD per 1M tokens)")
    columns = ("Model", "Family", "Released", *(catalog.platform_name(p) for p in PLATFORMS), "In / out / cached", "Context", "Thinking", "Swap", "As of")
    for column in columns:
        table.add_column(column, no_wrap=column in ("Model", "Released", "As of"))
    for model in catalog.models:
        caps = model.capabilities
        extra = len(model.ids) - 1
        name = model.id + (f" (+{extra} variant{'s' if extra > 1 else ''})" if extra else "")
        if model.id == target:
            name += " [target]"
        thinking = "-"
        if caps is not None:
            thinking = caps.thinking
            if caps.thinking_levels:
                thinking = ", ".join(level if level != caps.thinking_default else f"{level}*" for level in caps.thinking_levels)
        context = "-" if caps is None else f"{caps.context_window:,}" + (" in+out" if caps.unified_limit else "")
        table.add_row(
            Text(name),  # not markup: "[target]" is text
            model.family or model.kind,
            str(model.released or "-"),
            *(lifecycle_text(catalog, model, p, today) for p in PLATFORMS),
            price_text(catalog, model, today),
            context,
            thinking,
            "-> target" if catalog.should_swap(model) else "",
            str(model.as_of or "-") + (" (3rd party)" if model.rests_on_third_party() else ""),
        )
    return table


def model_sources(catalog: Catalog) -> str:
    """Where each entry's facts come from: the entry's source, and any platform block's own."""
    lines = ["Sources (* default thinking level; 3rd party: no Google page found for some facts):"]
    for model in catalog.models:
        quality = " [third-party]" if model.source_quality == "third-party" else ""
        lines.append(f"  {model.id} (as of {model.as_of or '-'}){quality}: {model.source}")
        for lc in model.lifecycles.values():
            if lc.source != model.source:
                quality = " [third-party]" if lc.source_quality == "third-party" else ""
                lines.append(f"    {catalog.platform_name(lc.platform)} (as of {lc.as_of or '-'}){quality}: {lc.source}")
    return "\n".join(lines)


def rules_table(rules: list[Rule]) -> Table:
    table = Table(title="Rules")
    for column in ("ID", "Name", "Tier", "Title"):
        table.add_column(column, no_wrap=column != "Title")
    for rule in rules:
        table.add_row(rule.id, rule.name, Text(rule.tier, style=TIER_STYLE.get(rule.tier, "")), rule.title)
    return table


def explain(rule: Rule) -> str:
    return f"{rule.id} {rule.name} ({rule.tier})\n{rule.title}\n\n{rule.explain}\n\nMessage: {rule.message}\nDocs: {rule.docs}\n"


def user_definitions(catalog: Catalog) -> dict:
    """The call sites, model names and models that the user's rule files add, with their file."""
    return {
        "call_sites": [
            {"call": a.call, "keyword": a.keyword, "position": a.position, "sdk": a.sdk, "names": dict(a.names), "file": a.origin}
            for a in catalog.call_sites.model_arguments.values() if a.origin is not None
        ],
        "models": [{"ids": list(m.ids), "family": m.family, "kind": m.kind, "file": m.origin} for m in catalog.models if m.origin is not None],
    }  # fmt: skip


def user_lines(catalog: Catalog) -> list[str]:
    """One line per user-defined call site and model, naming the rule file it came from."""
    found = user_definitions(catalog)
    lines = []
    for site in found["call_sites"]:
        names = ", ".join(f"{name}={model_id}" for name, model_id in site["names"].items())
        lines.append(f"{site['file']}: call site {site['call']} (model in `{site['keyword']}`, sdk {site['sdk']})" + (f", model names {names}" if names else ""))
    for model in found["models"]:
        lines.append(f"{model['file']}: model {', '.join(model['ids'])} ({model['family'] or model['kind']})")
    return lines
