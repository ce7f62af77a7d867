"""A run over a project the way a team runs it: settings per file from pyproject.toml, only the files
that changed (when asked), and the result cache. The CLI calls this; `run.run` stays the plain
library entry point (one Settings for every file, no config lookup, no cache).

    discover -> narrow to changed files -> group by nearest config (drop its excludes)
             -> per group: cached results, the rest through engine.process_files -> one Outcome
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Iterable

from migrate.codemod.findings import FileResult
from migrate.codemod.run import Outcome, discovered, named_skips, plan_shared, run_warnings, shutdown_warnings, with_skips
from migrate.config import Overrides, Resolved, Resolver
from migrate.report.summary import summarize


def catalog_rules(settings) -> Iterable[str]:
    from migrate.codemod.engine import catalog_for

    return catalog_for(settings).rules


def catalog_target(settings):
    from migrate.codemod.engine import catalog_for

    return catalog_for(settings).resolve_target(settings.target)


def _common_folder(paths: list[Path]) -> Path:
    return Path(os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths]))


def resolver(overrides: Overrides) -> Resolver:
    return Resolver(overrides, known_rules=catalog_rules, check_target=catalog_target)


def run(
    inputs: Iterable[str | Path],
    overrides: Overrides,
    *,
    narrow: Callable[[list[Path]], list[Path]] | None = None,
    use_cache: bool = True,
    on_result: Callable[[FileResult], None] | None = None,
    on_planned: Callable[[int], None] | None = None,
) -> Outcome:
    from migrate.codemod.cache import Cache
    from migrate.codemod.cache import process as cached_process
    from migrate.codemod.engine import process_files

    started = time.perf_counter()
    configs = resolver(overrides)
    base = configs.for_path(Path.cwd()).settings
    warnings: list[str] = []
    for warning in run_warnings(base):
        warnings.append(warning)
    paths, skipped, input_errors = discovered(inputs, base.include, base.exclude)
    every_path = paths
    if narrow is not None:
        paths = narrow(paths)
    groups: dict[Path | None, tuple[Resolved, list[Path]]] = {}
    for path in paths:
        resolved = configs.for_path(path)
        if resolved.excluded(path):
            continue
        key = resolved.config.path if resolved.config is not None else None
        groups.setdefault(key, (resolved, []))[1].append(path)
    results: dict[Path, FileResult] = {}
    for resolved, group in groups.values():
        for warning in run_warnings(resolved.settings):
            if warning not in warnings:
                warnings.append(warning)
        if use_cache:
            cache = Cache.open(resolved.settings, resolved.cache_dir, near=_common_folder(group))
            batch = cached_process(group, resolved.settings, cache, on_result, on_planned)
            cache.save()
        else:
            batch = process_files(group, resolved.settings, on_result, on_planned)
        for result in batch:
            results[result.path] = result
    ordered = [results[p] for p in paths if p in results]
    ordered = plan_shared(ordered, every_path, lambda path: configs.for_path(path).settings)
    warnings += shutdown_warnings(ordered)
    ordered = with_skips(ordered, skipped)
    input_errors += named_skips(inputs, ordered)
    return Outcome(ordered, summarize(ordered, time.perf_counter() - started), warnings, input_errors)
