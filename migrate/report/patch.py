"""The changes of a run as one patch `git apply` accepts (`--diff`, `--patch-file`); notebook hunks
name their cell in the hunk header."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Callable

from migrate.codemod.findings import FileResult
from migrate.report.diff import unified_diff


@functools.lru_cache(maxsize=1024)
def _work_tree(folder: str) -> str | None:
    parent = os.path.dirname(folder)
    if os.path.exists(os.path.join(folder, ".git")):
        return folder
    return None if parent == folder else _work_tree(parent)


def repository_path(path: Path) -> str:
    """A path as `git diff` writes it (relative to its work tree's root), so `git apply` works from
    there with the default -p1 wherever flm ran; outside a work tree, the path as given."""
    absolute = os.path.abspath(path)
    root = _work_tree(os.path.dirname(absolute))
    return Path(os.path.relpath(absolute, root)).as_posix() if root else path.as_posix()


def file_diff(result: FileResult, display: Callable[[Path], str]) -> bytes:
    assert result.old_bytes is not None and result.new_bytes is not None
    section = None
    if result.path.suffix == ".ipynb":
        from migrate.codemod.notebooks import cell_ranges

        ranges = cell_ranges(result.old_bytes)

        def section(line: int) -> str | None:
            return next((f"cell {number}" for first, last, number in ranges if first <= line <= last), None)

    return unified_diff(result.old_bytes, result.new_bytes, display(result.path), section)


def patch(results: list[FileResult], display: Callable[[Path], str]) -> bytes:
    return b"".join(file_diff(r, display) for r in results if r.changed)
