"""What a transform sees and how it records results: findings anchored to nodes, node replacements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import libcst as cst

from migrate.catalog import Catalog, Model
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
        tier = self.tier_of(rule_id)
        applied = tier == "safe" or (tier == "unsafe" and self.settings.unsafe)
        message = self.catalog.rule(rule_id).format(**values)
        self.findings.append(PendingFinding(rule_id, tier, node, message, before, after, applied))
        if applied:
            self.replacements[id(node)] = (node, build)
        return applied
