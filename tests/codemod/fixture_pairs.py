"""The one helper every codemod fixture runs through.

A fixture is `<case>.py` under fixtures/codemod/<family>/, whose header declares what the tool
must report (`# expect: FLM001 FLM105`, a multiset of rule IDs) and optionally the target
(`# target: gemini-3.5-flash-lite`), unsafe mode (`# unsafe: yes`) or the rule families to run
(`# select: FLM0 FLM1`; a family folder may set a default). `<case>.expected.py` is the output;
without it the file must come out byte-identical.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from migrate.codemod.engine import migrate_source
from migrate.settings import Settings

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "codemod"
AS_OF = dt.date(2026, 11, 24)
# Expected outputs name a target: fixtures pin one so a change of the catalogue's default target
# (a data decision) does not rewrite them. A fixture's own `# target:` header wins.
PINNED_TARGET = "gemini-3.1-flash-lite"
DEFAULT_SELECT = {"models": "FLM0 FLM1"}  # the model swap on its own; the port has its own fixtures


@dataclass(frozen=True)
class Case:
    source: Path

    @property
    def expected_path(self) -> Path:
        return self.source.with_name(self.source.stem + ".expected.py")

    def header(self, key: str) -> str | None:
        for line in self.source.read_text(encoding="utf-8", errors="replace").splitlines()[:3]:
            if line.startswith(f"# {key}:"):
                return line.split(":", 1)[1].strip()
        return None

    def settings(self) -> Settings:
        select = (self.header("select") or DEFAULT_SELECT.get(self.source.parent.name, "")).split()
        return Settings(target=self.header("target") or PINNED_TARGET, unsafe=self.header("unsafe") == "yes", select=tuple(select), as_of=AS_OF)

    def expected_rules(self) -> Counter:
        return Counter((self.header("expect") or "").split())

    def expected_output(self) -> bytes:
        path = self.expected_path if self.expected_path.exists() else self.source
        return path.read_bytes()


def cases(family: str) -> list[Case]:
    folder = ROOT / family
    return [Case(p) for p in sorted(folder.glob("*.py")) if not p.name.endswith(".expected.py")]


def run(source: bytes, settings: Settings) -> tuple[bytes, list]:
    result = migrate_source(source, settings)
    assert result.status in ("changed", "unchanged", "not-candidate"), f"{result.status}: {result.reason}"
    return (result.new_bytes if result.changed else source), result.findings


def check_case(case: Case) -> None:
    """Expected output and findings; a second run changes nothing; CRLF in gives the same edits in CRLF."""
    settings = case.settings()
    output, findings = run(case.source.read_bytes(), settings)
    assert output.decode() == case.expected_output().decode()
    assert Counter(f.rule for f in findings) == case.expected_rules(), [(f.line, f.rule, f.message) for f in findings]
    again, refindings = run(output, settings)
    assert again == output, "a second run must change nothing"
    assert not [f for f in refindings if f.is_edit and f.applied]
    crlf_in = case.source.read_bytes().replace(b"\n", b"\r\n")
    crlf_out, _ = run(crlf_in, settings)
    assert crlf_out == case.expected_output().replace(b"\n", b"\r\n")
