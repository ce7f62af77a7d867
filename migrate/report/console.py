"""Rich renderables for the terminal: the scan table, the model list, the rule catalogue."""

from __future__ import annotations

import datetime as dt

from rich.table import Table
from rich.text import Text

from migrate.catalog import Catalog, Rule
from migrate.codemod.findings import FileResult

TIER_STYLE = {"safe": "green", "unsafe": "yellow", "manual": "magenta", "report": "cyan"}


def findings_table(results: list[FileResult], display) -> Table:
    table = Table(title="Gemini call sites and findings", show_lines=False, expand=False)
    table.add_column("Location", no_wrap=True)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Tier", no_wrap=True)
    table.add_column("Message")
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
    table.add_column("File", no_wrap=True)
    table.add_column("Reason")
    for r in rows:
        table.add_row(display(r.path), r.reason or r.status)
    return table


def _status(shutdown: dt.date | None, today: dt.date) -> Text:
    if shutdown is None:
        return Text("available", style="green")
    if shutdown <= today:
        return Text(f"shut down {shutdown}", style="red")
    return Text(f"shuts down {shutdown}", style="yellow")


def models_table(catalog: Catalog, today: dt.date, target: str) -> Table:
    table = Table(title=f"Known Gemini models (data as of {catalog.as_of}; prices as of {catalog.pricing.as_of}, USD per 1M tokens)")
    for column in ("Model", "Family", "Released", "Lifecycle", "In / out / cached", "Context", "Max out", "Thinking", "Swap"):
        table.add_column(column, no_wrap=column in ("Model", "Released"))
    for model in catalog.models:
        caps = model.capabilities
        try:
            price = catalog.price(model.id)
            rates = price.rates(0, today)
            price_text = f"{rates.input:g} / {rates.output:g} / {rates.cached_input:g}"
        except Exception:  # noqa: BLE001 - an unpriced model shows as such
            price_text = "-"
        name = model.id + (f" (+{len(model.ids) - 1} variants)" if len(model.ids) > 1 else "")
        if model.id == target:
            name += " [target]"
        table.add_row(
            name,
            model.family or model.kind,
            str(model.released or "-"),
            _status(model.shutdown, today),
            price_text,
            f"{caps.context_window:,}" if caps else "-",
            f"{caps.max_output_tokens:,}" if caps else "-",
            caps.thinking if caps else "-",
            "-> target" if catalog.should_swap(model) else "",
        )
    return table


def rules_table(rules: list[Rule]) -> Table:
    table = Table(title="Rules")
    for column in ("ID", "Name", "Tier", "Title"):
        table.add_column(column, no_wrap=column != "Title")
    for rule in rules:
        table.add_row(rule.id, rule.name, Text(rule.tier, style=TIER_STYLE.get(rule.tier, "")), rule.title)
    return table


def explain(rule: Rule) -> str:
    return f"{rule.id} {rule.name} ({rule.tier})\n{rule.title}\n\n{rule.explain}\n\nMessage: {rule.message}\nDocs: {rule.docs}\n"
