"""Counts for the closing summary line of a codemod run."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from migrate.codemod.findings import FileResult
from migrate.wording import plural


@dataclass(frozen=True)
class RunSummary:
    files: int
    candidates: int
    parsed: int
    changed: int
    skipped: int
    errors: int
    edits: int
    findings: int
    seconds: float
    skip_reasons: dict[str, int] = field(default_factory=dict)
    port: dict[str, int] = field(default_factory=dict)  # legacy modules: ported / not-ported / refused
    blockers: int = 0  # TODOs naming why a legacy module is not ported

    def line(self, verb: str = "changed") -> str:
        text = (
            f"{self.files} files seen, {self.candidates} candidates, {self.parsed} parsed, "
            f"{self.changed} {verb}, {self.skipped + self.errors} skipped"
        )
        if self.skip_reasons:
            text += " (" + "; ".join(f"{reason}: {n}" for reason, n in sorted(self.skip_reasons.items())) + ")"
        text += f", {plural(self.edits, 'edit')}, {plural(self.findings, 'finding')} in {self.seconds:.2f}s"
        if self.port:
            text += (
                f"; legacy modules: {self.port.get('ported', 0)} ported, {self.port.get('not-ported', 0)} not ported"
                f" ({plural(self.blockers, 'blocker')} named in TODOs)"
            )
            if self.port.get("refused"):
                text += f", {self.port['refused']} refused by verification (a bug in flm: please report it)"
        return text


_LOCATION = re.compile(r"\s*\bat (cell \d+, )?line \d+(, column \d+)?")


def reason_kind(reason: str) -> str:
    """What a skip reason says without where: "syntax error at cell 3, line 5: ..." -> "syntax error"."""
    return _LOCATION.sub("", reason.split(":", 1)[0]).strip()


def summarize(results: list[FileResult], seconds: float) -> RunSummary:
    reasons: Counter[str] = Counter()
    for result in results:
        if result.status in ("skipped", "error") and result.reason:
            reasons[reason_kind(result.reason)] += 1
    return RunSummary(
        files=len(results),
        candidates=sum(r.status != "not-candidate" for r in results),
        parsed=sum(r.parsed for r in results),
        changed=sum(r.changed for r in results),
        skipped=sum(r.status == "skipped" for r in results),
        errors=sum(r.status == "error" for r in results),
        edits=sum(f.is_edit and f.applied for r in results for f in r.findings),
        findings=sum(not (f.is_edit and f.applied) for r in results for f in r.findings),
        seconds=seconds,
        skip_reasons=dict(reasons),
        port=dict(Counter(r.port for r in results if r.port)),
        blockers=sum(f.tier == "manual" and f.rule.startswith("FLM2") for r in results if r.port and r.port != "ported" for f in r.findings),
    )
