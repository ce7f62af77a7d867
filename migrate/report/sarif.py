"""SARIF 2.1.0 for GitHub code scanning and other viewers (validated against the OASIS schema in the
tests). Levels: `error` for what `check` fails on, `warning` for other edits, `note` for findings
that only report."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Iterable

from migrate.catalog import Rule
from migrate.report.sites import Site

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL = "flashlite-migrate"


def level(site: Site) -> str:
    if site.blocking:
        return "error"
    return "note" if site.after is None else "warning"


def _default_level(rule: Rule) -> str:
    return "note" if rule.tier == "report" else "warning"


def _uri(file: str) -> str:
    return urllib.parse.quote(file.replace("\\", "/"))


def document(sites: list[Site], rules: Iterable[Rule], version: str, root: Path, skipped: list[tuple[str, str]] = ()) -> dict:
    used = sorted({site.rule for site in sites})
    by_id = {rule.id: rule for rule in rules}
    catalogue = [by_id[rule_id] for rule_id in used if rule_id in by_id]
    index = {rule.id: i for i, rule in enumerate(catalogue)}
    descriptors = []
    for rule in catalogue:
        descriptor = {
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.title},
            "fullDescription": {"text": rule.explain},
            "help": {"text": f"{rule.explain}\n\nTier: {rule.tier}. Docs: {rule.docs}"},
            "defaultConfiguration": {"level": _default_level(rule)},
            "properties": {"tier": rule.tier, "tags": ["gemini", "migration", rule.tier]},
        }
        if rule.docs.startswith(("https://", "http://")):
            descriptor["helpUri"] = rule.docs
        descriptors.append(descriptor)
    results = []
    for site in sites:
        where = f"cell {site.cell}, line {site.line}: " if site.cell is not None else ""
        region = {"startLine": site.file_line}
        if site.cell is None:
            region["startColumn"] = site.column
        result = {
            "ruleId": site.rule,
            "level": level(site),
            "message": {"text": where + site.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(site.file), "uriBaseId": "%SRCROOT%"}, "region": region}}],
            "partialFingerprints": {"flmLineHash/v1": site.line_key},
            "properties": {"tier": site.tier, "applied": site.applied, **({"cell": site.cell} if site.cell is not None else {})},
        }
        if site.rule in index:
            result["ruleIndex"] = index[site.rule]
        if site.before is not None:
            result["properties"]["before"] = site.before
        if site.after is not None:
            result["properties"]["after"] = site.after
        results.append(result)
    notifications = [
        {
            "level": "warning",
            "message": {"text": f"skipped: {reason}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(file), "uriBaseId": "%SRCROOT%"}}}],
        }
        for file, reason in skipped
    ]
    run = {
        "tool": {"driver": {"name": TOOL, "version": version, "semanticVersion": version, "rules": descriptors}},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": results,
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
