"""A whole codemod run: discover, process, and (when asked) write. The CLI and the public API call this."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from migrate.codemod import kinds, lifecycle, notebooks, plan, shared
from migrate.codemod.engine import catalog_for, process_file, process_files
from migrate.codemod.files import Skip, discover, read_bytes, remove_stale_temps, write_atomically
from migrate.codemod.findings import FileResult
from migrate.errors import UserError
from migrate.report.summary import RunSummary, summarize
from migrate.settings import Settings


@dataclass
class Outcome:
    results: list[FileResult]
    summary: RunSummary
    warnings: list[str] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)  # paths named on the command line that could not be used

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
    inputs = list(inputs)
    paths, skipped, input_errors = discovered(inputs, settings.include, settings.exclude)
    results = process_files(paths, settings, on_result)
    results = plan_shared(results, paths, lambda path: settings)
    warnings += shutdown_warnings(results)
    results = with_skips(results, skipped)
    return Outcome(results, summarize(results, time.perf_counter() - started), warnings, input_errors + named_skips(inputs, results))


def discovered(inputs: Iterable[str | Path], include: tuple[str, ...], exclude: tuple[str, ...]) -> tuple[list[Path], list[FileResult], list[str]]:
    """Discovery plus its skips as results (a named path that cannot be used is an error) and their messages."""
    skips: list[Skip] = []
    paths = discover(inputs, include, exclude, skips)
    results = [FileResult(s.path, "error" if s.named else "skipped", reason=s.reason) for s in skips]
    return paths, results, [f"{s.path.as_posix()}: {s.reason}" for s in skips if s.named]


def named_skips(inputs: Iterable[str | Path], results: list[FileResult]) -> list[str]:
    """A file named on the command line that was skipped (too large, nbformat 3, ...) is an error of the run."""
    named = {Path(i).resolve() for i in inputs if Path(i).is_file()}
    return [f"{r.path.as_posix()}: {r.reason}" for r in results if r.status == "skipped" and r.path.resolve() in named]


def with_skips(results: list[FileResult], skipped: list[FileResult]) -> list[FileResult]:
    return sorted([*results, *skipped], key=lambda r: r.path.as_posix()) if skipped else results


def clean_stale_temps(outcome: Outcome) -> list[Path]:
    """Remove the temp files a killed `fix` left next to the files of this run."""
    return remove_stale_temps(r.path.parent for r in outcome.results)


def plan_shared(results: list[FileResult], all_paths: list[Path], settings_of: Callable[[Path], Settings]) -> list[FileResult]:
    """Keep on the legacy SDK each ported module that shares a legacy object with another (FLM226).

    Runs after every file's own plan; the few modules it touches are processed once more with
    their extra blockers. A module kept back can only remove links, so this ends quickly.
    """
    by_path = {r.path: r for r in results}
    if not any(r.port == plan.PORTED and r.shared is not None for r in results):
        return results
    root = _common_root(all_paths)
    forced: dict[Path, list[plan.Blocker]] = {}
    for _ in range(len(by_path)):
        modules = [shared.Module(r.path, r.shared, r.port == plan.PORTED) for r in by_path.values() if r.shared is not None]  # type: ignore[arg-type]
        found = shared.plan_run(modules, all_paths, read_bytes, _python_text, root)
        fresh = {path: [b for b in blockers if b not in forced.get(path, [])] for path, blockers in found.items()}
        fresh = {path: blockers for path, blockers in fresh.items() if blockers}
        if not fresh:
            break
        for path, blockers in fresh.items():
            forced[path] = [*forced.get(path, []), *blockers]
            by_path[path] = process_file(path, replace(settings_of(path), forced_blockers=tuple(forced[path])))
    return [by_path[r.path] for r in results]


def _python_text(path: Path, data: bytes) -> str:
    if kinds.kind_of(path) == kinds.NOTEBOOK:
        try:
            return notebooks.code_text(data)
        except notebooks.NotANotebook:
            return ""
    return data.decode("utf-8", "replace")


def _common_root(paths: list[Path]) -> Path:
    try:
        return Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    except ValueError:
        return Path.cwd()


def write_changes(outcome: Outcome) -> list[str]:
    """Write every changed file atomically; returns one message per file that could not be written.

    A file not written becomes an "error" result with its edits marked not applied, so no report
    (text, JSON changed_files, the summary) counts it as fixed.
    """
    failures = []
    for index, result in enumerate(outcome.results):
        if not result.changed:
            continue
        assert result.new_bytes is not None and result.old_bytes is not None
        try:
            write_atomically(result.path, result.new_bytes, result.old_bytes)
        except OSError as exc:
            reason = f"not written: {exc.strerror or exc}"
            unapplied = [replace(f, applied=False) for f in result.findings]
            outcome.results[index] = FileResult(result.path, "error", unapplied, reason, parsed=result.parsed)
            failures.append(f"{result.path.as_posix()}: {reason}")
    if failures:
        outcome.summary = summarize(outcome.results, outcome.summary.seconds)
    return failures
