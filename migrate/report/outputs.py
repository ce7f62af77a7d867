"""Every machine-readable output of scan/fix/check in one place: json, sarif, markdown, junit, github."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from migrate import __version__
from migrate.catalog import Rule
from migrate.codemod.findings import Finding
from migrate.codemod.run import Outcome
from migrate.report import github, junit, markdown, sarif, sites
from migrate.report.records import to_json

FORMATS = ("text", "json", "sarif", "markdown", "junit", "github")


def skipped(outcome: Outcome, display: Callable[[Path], str]) -> list[tuple[str, str]]:
    return [(display(r.path), r.reason or r.status) for r in outcome.results if r.status in ("skipped", "error")]


def render(
    kind: str,
    outcome: Outcome,
    display: Callable[[Path], str],
    rules: dict[str, Rule],
    blocking: Callable[[Finding], bool] = sites.is_blocking,
    patch: bytes = b"",
    suite: str = "flm",
    dry_run: bool = False,
) -> bytes:
    if kind == "json":
        return to_json(outcome.results, outcome.summary, display, outcome.warnings, dry_run).encode()
    located = sites.build(outcome.results, display, blocking)
    if kind == "sarif":
        doc = sarif.document(located, rules.values(), __version__, Path.cwd(), skipped(outcome, display))
        return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
    if kind == "markdown":
        return markdown.document(located, outcome.summary, rules, outcome.warnings, patch, skipped(outcome, display)).encode()
    if kind == "junit":
        return junit.document(outcome.results, located, display, outcome.summary.seconds, suite)
    if kind == "github":
        return github.annotations(located).encode()
    raise ValueError(kind)


def config_table(rows: list[tuple[str, object, str]], config_file: str | None):
    """`flm config`: one row per key - its effective value and where it came from."""
    from rich.table import Table

    table = Table(title=f"Effective settings ({config_file or 'no [tool.flashlite-migrate] found: defaults'})")
    for column in ("Key", "Value", "From"):
        table.add_column(column, no_wrap=column == "Key")
    for key, value, source in rows:
        table.add_row(key, _show(value), source)
    return table


def _show(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value) if value else "-"
    return str(value)
