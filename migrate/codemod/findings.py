"""What the engine reports: one Finding per edit or observation, one FileResult per file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

TODO_PREFIX = "# TODO(flm "


def todo_marker(rule_id: str, reason: str) -> str:
    """The stable TODO comment left where a person must decide: same text on every run."""
    return f"{TODO_PREFIX}{rule_id}): {reason}"


@dataclass(frozen=True)
class Finding:
    """An edit (``after`` is set) or an observation at one site.

    ``applied`` tells whether the edit is in the output: an edit whose tier is not enabled
    (e.g. ``unsafe`` without ``--unsafe``) is reported but not applied.
    """

    rule: str
    tier: str
    line: int
    column: int
    message: str
    before: str | None = None
    after: str | None = None
    applied: bool = False
    cell: int | None = None  # notebooks: the 1-based cell; `line` is then the line within that cell

    @property
    def is_edit(self) -> bool:
        return self.after is not None


@dataclass
class FileResult:
    """The outcome for one file. ``new_bytes`` is set only when the file would change."""

    path: Path
    status: str  # unchanged | changed | skipped | error | not-candidate
    findings: list[Finding] = field(default_factory=list)
    reason: str | None = None
    old_bytes: bytes | None = None
    new_bytes: bytes | None = None
    parsed: bool = False
    port: str | None = None  # for a module using a legacy SDK: ported | not-ported | refused
    shared: object | None = None  # shared.SharedFacts of such a module: what it shares with other modules

    @property
    def changed(self) -> bool:
        return self.status == "changed"


# Skip reasons meaning the file's own content could not be read as code: `check` fails on these
# (a CI that passes over a file it never read would be lying); the opt-out is `exclude`.
UNPARSABLE_REASONS = ("syntax error", "cannot parse", "not a notebook", "not UTF-8", "unsupported IPython input")


def unparsable(result: FileResult) -> bool:
    return result.status == "skipped" and bool(result.reason) and result.reason.startswith(UNPARSABLE_REASONS)
