"""One Settings object for a run: defaults, overridden by the command line."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Mapping

DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".venv", "venv", ".env", "env", "site-packages", "dist-packages",
    "node_modules", "__pycache__", "build", "dist", ".tox", ".nox", ".eggs", "*.egg-info",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "__pypackages__",
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    target: str | None = None  # None: the catalogue's default target
    unsafe: bool = False
    select: tuple[str, ...] = ()  # rule IDs or prefixes; empty = all
    ignore: tuple[str, ...] = ()
    tier_overrides: Mapping[str, str] = field(default_factory=dict)
    include: tuple[str, ...] = ("*.py", "*.pyi")
    exclude: tuple[str, ...] = ()
    jobs: int = 0  # 0: one worker per core
    extra_rule_files: tuple[str, ...] = ()
    as_of: dt.date | None = None  # "today" for lifecycle checks; None: the real date

    def today(self) -> dt.date:
        return self.as_of or dt.date.today()

    def selects(self, rule_id: str) -> bool:
        if any(rule_id.startswith(prefix) for prefix in self.ignore):
            return False
        return not self.select or any(rule_id.startswith(prefix) for prefix in self.select)

    def workers(self) -> int:
        return self.jobs if self.jobs > 0 else (os.cpu_count() or 1)
