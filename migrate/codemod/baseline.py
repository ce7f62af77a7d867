"""A baseline of known findings, so CI fails only on new legacy or Pro call sites.

`flm scan --write-baseline flm-baseline.json` records every finding; `flm check --baseline
flm-baseline.json` then fails only on an edit that is not in it. A finding is identified by its
file (relative to the baseline file's folder), its rule, and the text of its line with whitespace
collapsed - not the line number, so code moving up or down does not make old sites "new". Counts
matter: a copy of a recorded line in the same file is new. Notebooks use the line within the cell.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from migrate import __version__
from migrate.codemod.files import read_bytes
from migrate.codemod.findings import FileResult, Finding
from migrate.errors import UserError

FORMAT = 1


def _relative(path: Path, root: Path) -> str:
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix()


def _lines(result: FileResult) -> tuple[list[str], dict[int, list[str]]]:
    data = result.old_bytes
    if data is None:
        try:
            data = read_bytes(result.path)
        except OSError:
            return [], {}
    if result.path.suffix == ".ipynb":
        from migrate.codemod.notebooks import cell_lines

        return [], cell_lines(data)
    return data.decode("utf-8", "replace").splitlines(), {}


def _line_key(text: str) -> str:
    return hashlib.sha256(re.sub(r"\s+", " ", text.strip()).encode()).hexdigest()[:16]


def keys(results: Iterable[FileResult], root: Path, only: Callable[[Finding], bool] = lambda f: True) -> list[tuple[tuple[str, str, str], FileResult, Finding]]:
    """(file, rule, line key) for each finding `only` accepts, with where it came from."""
    out = []
    for result in results:
        wanted = [f for f in result.findings if only(f)]
        if not wanted:
            continue
        lines, cells = _lines(result)
        name = _relative(result.path, root)
        for finding in wanted:
            source = cells.get(finding.cell, []) if finding.cell is not None else lines
            text = source[finding.line - 1] if 0 < finding.line <= len(source) else ""
            out.append(((name, finding.rule, _line_key(text)), result, finding))
    return out


def write(path: Path, results: list[FileResult]) -> int:
    root = Path(os.path.abspath(path)).parent
    entries = [
        {"file": key[0], "rule": key[1], "line_key": key[2], "line": f.line, **({"cell": f.cell} if f.cell is not None else {}), "message": f.message}
        for key, _, f in keys(results, root)
    ]
    entries.sort(key=lambda e: (e["file"], e.get("cell") or 0, e["line"], e["rule"]))
    document = {"flashlite_migrate_baseline": FORMAT, "tool_version": __version__, "findings": entries}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(entries)


@dataclass
class Baseline:
    path: Path
    counts: Counter

    @property
    def root(self) -> Path:
        return Path(os.path.abspath(self.path)).parent


def load(path: Path) -> Baseline:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not a baseline file (invalid JSON: {exc})") from None
    if not isinstance(document, dict) or document.get("flashlite_migrate_baseline") != FORMAT or not isinstance(document.get("findings"), list):
        raise UserError(f"{path}: not a flashlite-migrate baseline (write one with `flm scan --write-baseline {path}`)")
    counts: Counter = Counter()
    for index, entry in enumerate(document["findings"]):
        try:
            counts[(str(entry["file"]), str(entry["rule"]), str(entry["line_key"]))] += 1
        except (KeyError, TypeError):
            raise UserError(f"{path}: findings[{index}]: expected file, rule and line_key") from None
    return Baseline(path, counts)


@dataclass
class Comparison:
    new: list[tuple[FileResult, Finding]]
    known: int
    gone: int  # baseline entries no longer found (migrated since): the baseline can shrink


def compare(results: list[FileResult], baseline: Baseline, blocking: Callable[[Finding], bool]) -> Comparison:
    """Which blocking findings are not in the baseline (a multiset match per file, rule and line)."""
    remaining = Counter(baseline.counts)
    new: list[tuple[FileResult, Finding]] = []
    known = 0
    for key, result, finding in keys(results, baseline.root):
        if remaining[key] > 0:
            remaining[key] -= 1
            if blocking(finding):
                known += 1
        elif blocking(finding):
            new.append((result, finding))
    return Comparison(new, known, sum(remaining.values()))
