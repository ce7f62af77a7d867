"""A whole codemod run: discover, process, and (when asked) write. The CLI and the public API call this."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from migrate.codemod import lifecycle
from migrate.codemod.engine import catalog_for, process_files
from migrate.codemod.files import discover, write_atomically
from migrate.codemod.findings import FileResult
from migrate.errors import UserError
from migrate.report.summary import RunSummary, summarize
from migrate.settings import Settings


@dataclass
class Outcome:
    results: list[FileResult]
    summary: RunSummary
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[FileResult]:
        return [r for r in self.results if r.changed]


def run_warnings(settings: Settings) -> list[str]:
    """Run-level findings about the target itself (FLM005); a target already shut down is an error."""
    catalog = catalog_for(settings)
    target = catalog.resolve_target(settings.target or catalog.default_target)
    status = lifecycle.status(catalog, target, None, settings.today())
    if target.is_shut_down(settings.today()):
        raise UserError(f"target model {target.id!r} {status}: choose another (see `flm models`)")
    warnings = []
    when = lifecycle.announced_shutdowns(catalog, target, settings.today())
    if when is not None and settings.selects("FLM005"):
        warnings.append("FLM005 " + catalog.rule("FLM005").format(target=target.id, when=when))
    return warnings


def shutdown_warnings(results: list[FileResult]) -> list[str]:
    """FLM003 for source models the swap moved off: once per message, with how many sites it had."""
    sites: dict[str, int] = {}
    for result in results:
        swapped = {(f.cell, f.line, f.column) for f in result.findings if f.rule == "FLM001"}
        for finding in result.findings:
            if finding.rule == "FLM003" and (finding.cell, finding.line, finding.column) in swapped:
                sites[finding.message] = sites.get(finding.message, 0) + 1
    return [f"FLM003 {message} ({count} site{'s' if count != 1 else ''}, swapped to the target)" for message, count in sorted(sites.items())]


def run(
    inputs: Iterable[str | Path],
    settings: Settings,
    on_result: Callable[[FileResult], None] | None = None,
) -> Outcome:
    started = time.perf_counter()
    warnings = run_warnings(settings)
    paths = discover(inputs, settings.include, settings.exclude)
    results = process_files(paths, settings, on_result)
    warnings += shutdown_warnings(results)
    return Outcome(results, summarize(results, time.perf_counter() - started), warnings)


def write_changes(outcome: Outcome) -> list[str]:
    """Write every changed file atomically; returns one message per file that could not be written."""
    failures = []
    for result in outcome.changed:
        assert result.new_bytes is not None and result.old_bytes is not None
        try:
            write_atomically(result.path, result.new_bytes, result.old_bytes)
        except OSError as exc:
            failures.append(f"{result.path}: not written: {exc.strerror or exc}")
    return failures
