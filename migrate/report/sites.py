"""One flat record per finding with everything a CI renderer needs (file line for notebooks, a
line fingerprint), built once from the run's results so the renderers stay pure."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from migrate.codemod.findings import FileResult, Finding


@dataclass(frozen=True)
class Site:
    file: str  # as displayed (relative to the current folder when given so)
    line: int  # in the file, or in the cell for notebooks
    column: int
    cell: int | None
    file_line: int  # the line of the file on disk (for a notebook: the JSON line of that source line)
    rule: str
    tier: str
    message: str
    before: str | None
    after: str | None
    applied: bool
    line_key: str  # whitespace-insensitive hash of the line's text (SARIF partialFingerprints)
    blocking: bool  # `check` fails on it

    @property
    def location(self) -> str:
        cell = f"cell {self.cell}:" if self.cell is not None else ""
        return f"{self.file}:{cell}{self.line}:{self.column}"


def is_blocking(finding: Finding) -> bool:
    """What `check` fails on: an edit `fix` would make with the same options (TODO markers included)."""
    return finding.is_edit and finding.applied


def build(results: list[FileResult], display: Callable[[Path], str], blocking: Callable[[Finding], bool] = is_blocking) -> list[Site]:
    from migrate.codemod.baseline import keys
    from migrate.codemod.notebooks import json_line

    out = []
    for key, result, finding in keys(results, Path(os.path.abspath("."))):
        file_line = finding.line
        if finding.cell is not None:
            data = result.old_bytes
            if data is None:
                try:
                    data = result.path.read_bytes()
                except OSError:
                    data = b""
            file_line = json_line(data, finding.cell, finding.line) or 1
        out.append(
            Site(display(result.path), finding.line, finding.column, finding.cell, file_line, finding.rule, finding.tier,
                 finding.message, finding.before, finding.after, finding.applied, key[2], blocking(finding))
        )  # fmt: skip
    return out
