"""What a transform sees and how it records results: findings anchored to nodes, node replacements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import libcst as cst

from migrate.catalog import Catalog, Model
from migrate.codemod.findings import TODO_PREFIX, todo_marker
from migrate.codemod.symbols import ModuleFacts
from migrate.settings import Settings


@dataclass(frozen=True)
class PendingFinding:
    rule: str
    tier: str
    node: cst.CSTNode
    message: str
    before: str | None
    after: str | None
    applied: bool


@dataclass
class Context:
    """Everything one file's transforms share. Transforms are pure: they only call report/replace."""

    module: cst.Module
    facts: ModuleFacts
    catalog: Catalog
    settings: Settings
    target: Model
    findings: list[PendingFinding] = field(default_factory=list)
    replacements: dict[int, tuple[cst.CSTNode, Callable[[cst.CSTNode], cst.CSTNode]]] = field(default_factory=dict)
    post_passes: list[Callable[[cst.Module], cst.Module]] = field(default_factory=list)
    port_blocked: bool = False  # the plan keeps this module on the legacy SDK: port edits are not made
    _todos: dict[int, list[str]] = field(default_factory=dict)
    _marker_text: str | None = None

    def tier_of(self, rule_id: str) -> str:
        return self.settings.tier_overrides.get(rule_id, self.catalog.rule(rule_id).tier)

    def enabled(self, rule_id: str) -> bool:
        return self.settings.selects(rule_id)

    def report(self, rule_id: str, node: cst.CSTNode, **values: object) -> None:
        """An observation: nothing in the code changes."""
        if not self.enabled(rule_id):
            return
        message = self.catalog.rule(rule_id).format(**values)
        self.findings.append(PendingFinding(rule_id, self.tier_of(rule_id), node, message, None, None, False))

    def replace(self, rule_id: str, node: cst.CSTNode, build: Callable[[cst.CSTNode], cst.CSTNode], before: str, after: str, **values: object) -> bool:
        """An edit: applied when its rule's tier is enabled, always reported. Returns whether applied."""
        if not self.enabled(rule_id) or id(node) in self.replacements:
            return False
        if self.port_blocked and rule_id.startswith("FLM2"):
            return False
        tier = self.tier_of(rule_id)
        applied = tier == "safe" or (tier == "unsafe" and self.settings.unsafe)
        message = self.catalog.rule(rule_id).format(**values)
        self.findings.append(PendingFinding(rule_id, tier, node, message, before, after, applied))
        if applied:
            self.replacements[id(node)] = (node, build)
        return applied

    def _existing_markers(self) -> str:
        if self._marker_text is None:
            code = self.module.code
            self._marker_text = "\n".join(line.strip() for line in code.splitlines() if line.strip().startswith(TODO_PREFIX))
        return self._marker_text

    def todo(self, rule_id: str, statement: cst.CSTNode, anchor: cst.CSTNode, **values: object) -> None:
        """A manual-tier finding: the code stays, one stable TODO comment goes above its statement."""
        if not self.enabled(rule_id):
            return
        message = self.catalog.rule(rule_id).format(**values)
        marker = todo_marker(rule_id, message)
        lines = self._todos.setdefault(id(statement), [])
        if marker in lines:
            return
        if marker in self._existing_markers():  # left by an earlier run (possibly in the module header)
            self.findings.append(PendingFinding(rule_id, self.tier_of(rule_id), anchor, message, None, None, False))
            return
        lines.append(marker)
        self.findings.append(PendingFinding(rule_id, self.tier_of(rule_id), anchor, message, None, marker, True))
        if len(lines) == 1:
            self.replacements[id(statement)] = (statement, lambda node, key=id(statement): _with_todos(node, self._todos[key]))


def _with_todos(statement: cst.CSTNode, markers: list[str]) -> cst.CSTNode:
    """Add the markers above a statement, once: an identical marker already there is kept as is."""
    existing = [line.comment.value for line in statement.leading_lines if line.comment is not None]  # type: ignore[attr-defined]
    new = [cst.EmptyLine(comment=cst.Comment(m)) for m in markers if m not in existing]
    return statement.with_changes(leading_lines=[*statement.leading_lines, *new])  # type: ignore[attr-defined]


def without_todos(statement: cst.CSTNode) -> cst.CSTNode:
    """A migrated site loses the TODO markers an earlier run left on it."""
    lines = statement.leading_lines  # type: ignore[attr-defined]
    kept = [line for line in lines if line.comment is None or not line.comment.value.startswith(TODO_PREFIX)]
    return statement if len(kept) == len(lines) else statement.with_changes(leading_lines=kept)  # type: ignore[attr-defined]
