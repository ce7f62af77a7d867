"""Machine-readable output: one record per edit or finding, plus the run summary (JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict

from migrate.codemod.findings import FileResult
from migrate.report.summary import RunSummary

SCHEMA_VERSION = 1


def records(results: list[FileResult], display, dry_run: bool = False) -> list[dict]:
    """`applied`: the edit is in the file this run wrote (never in a dry run: scan, check, fix --diff);
    `fixable`: `flm fix` with these settings applies it (an edit of an enabled tier)."""
    rows = []
    for result in results:
        for finding in result.findings:
            rows.append(
                {
                    "file": display(result.path),
                    "line": finding.line,
                    "column": finding.column,
                    "rule": finding.rule,
                    "tier": finding.tier,
                    "message": finding.message,
                    "before": finding.before,
                    "after": finding.after,
                    "applied": finding.applied and not dry_run,
                    "fixable": finding.applied,
                    **({"cell": finding.cell} if finding.cell is not None else {}),  # notebooks: line is within the cell
                }
            )
    return rows


def skipped(results: list[FileResult], display) -> list[dict]:
    return [
        {"file": display(r.path), "status": r.status, "reason": r.reason}
        for r in results
        if r.status in ("skipped", "error")
    ]


def to_json(results: list[FileResult], summary: RunSummary, display, warnings: list[str], dry_run: bool = False) -> str:
    document = {
        "schema_version": SCHEMA_VERSION,
        "findings": records(results, display, dry_run),
        "skipped": skipped(results, display),
        "changed_files": [display(r.path) for r in results if r.changed],
        "warnings": warnings,
        "summary": asdict(summary),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
