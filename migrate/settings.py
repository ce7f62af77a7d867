"""One Settings object for a run: defaults <- pyproject [tool.flashlite-migrate] <- command line.

Reading and merging the configuration lives in migrate/config.py; this is the value it produces.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".venv", "venv", ".env", "env", "site-packages", "dist-packages",
    "node_modules", "__pycache__", "build", "dist", ".tox", ".nox", ".eggs", "*.egg-info",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "__pypackages__", ".flm_cache",
)  # fmt: skip

# Python sources, notebooks and the dependency files the FLM3xx rules read.
DEFAULT_INCLUDE = ("*.py", "*.pyi", "*.ipynb", "requirements*.txt", "requirements*.in", "pyproject.toml", "setup.cfg")


# Bigger files are skipped with a reason: hand-written modules are far smaller, and parsing costs
# about 1 KiB of memory per byte. `--max-file-size` / `max-file-size` raises it.
DEFAULT_MAX_FILE_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    target: str | None = None  # None: the catalogue's default target
    unsafe: bool = False
    select: tuple[str, ...] = ()  # rule IDs or prefixes; empty = all
    ignore: tuple[str, ...] = ()
    tier_overrides: Mapping[str, str] = field(default_factory=dict)
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    jobs: int = 0  # 0: one worker per core
    extra_rule_files: tuple[str, ...] = ()
    as_of: dt.date | None = None  # "today" for lifecycle checks; None: the real date
    client_name: str = "client"  # the name the SDK-port transforms give a genai.Client they create
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (gitignore-style pattern, rule selectors)
    root: str | None = None  # the folder per_file_ignores patterns are relative to (the config file's)
    forced_blockers: tuple = ()  # plan.Blocker entries the run-level plan adds for one file (shared objects)
    max_file_size: int = DEFAULT_MAX_FILE_SIZE  # bytes; a bigger file is skipped with its reason

    def today(self) -> dt.date:
        return self.as_of or dt.date.today()

    def selects(self, rule_id: str) -> bool:
        if any(rule_id.startswith(prefix) for prefix in self.ignore):
            return False
        return not self.select or any(rule_id.startswith(prefix) for prefix in self.select)

    def workers(self) -> int:
        return self.jobs if self.jobs > 0 else (os.cpu_count() or 1)

    def for_path(self, path: Path) -> Settings:
        """The settings for one file: the rules its per-file-ignores entries name join `ignore`."""
        if not self.per_file_ignores:
            return self
        from migrate.config import per_file_rules

        return replace(self, ignore=self.ignore + per_file_rules(self, path), per_file_ignores=())
