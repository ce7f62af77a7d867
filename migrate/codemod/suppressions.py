"""Opt-outs written in the code: `# flm: ignore[FLM001]`, `# flm: ignore`, `# flm: skip-file`.

- `# flm: ignore[FLM001, FLM105]` at the end of a line silences those rules for findings on that
  line; on a line of its own it silences them on the next line. `# flm: ignore` silences every rule.
- `# flm: skip-file` on a line of its own anywhere in a file leaves the whole file alone.
- A suppression that silences nothing (any more) is itself reported (FLM301), so opt-outs do not
  outlive the code they were written for. Rules not selected in this run are not held against it.

Only real comments count: in Python they are found with `tokenize`, so a string that happens to
contain "# flm: ignore" is not an opt-out. Dependency files (requirements, TOML, INI) use the same
`#` comment syntax and are read line by line.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from migrate.catalog import Catalog
from migrate.codemod.findings import Finding
from migrate.settings import Settings

MARKER = b"flm:"
UNUSED_RULE = "FLM301"
SKIP_REASON = "opted out (# flm: skip-file)"

_DIRECTIVE = re.compile(r"#[ \t]*flm:[ \t]*(?P<kind>ignore|skip-file)(?![\w-])(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
_TEXT_COMMENT = re.compile(r"(?:^|[ \t])(#.*)$")


@dataclass
class Directive:
    line: int  # 1-based line of the comment
    column: int  # 1-based column of the `#`
    text: str  # the directive as written, e.g. "# flm: ignore[FLM001]"
    rules: frozenset[str] | None  # None: every rule
    own_line: bool  # a comment alone on its line applies to the next line
    used: set[str] = field(default_factory=set)

    @property
    def target_line(self) -> int:
        return self.line + 1 if self.own_line else self.line

    def covers(self, rule: str) -> bool:
        return self.rules is None or rule in self.rules


@dataclass
class Suppressions:
    directives: list[Directive]
    skip_file: bool

    def suppresses(self, rule: str, line: int) -> bool:
        """Whether a finding of `rule` at `line` is silenced; marks the directive as used."""
        hit = False
        for directive in self.directives:
            if directive.target_line == line and directive.covers(rule):
                directive.used.add(rule)
                hit = True
        return hit

    def unused(self, settings: Settings, catalog: Catalog, line_map: Callable[[int], tuple[int | None, int]] | None = None) -> list[Finding]:
        """FLM301 findings for directives that silenced nothing (for rules selected in this run)."""
        if not settings.selects(UNUSED_RULE) or UNUSED_RULE not in catalog.rules:
            return []
        rule = catalog.rule(UNUSED_RULE)
        tier = settings.tier_overrides.get(UNUSED_RULE, rule.tier)
        found = []
        for d in self.directives:
            if d.rules is None:
                if d.used:
                    continue
                why = "no finding on the line it covers"
            else:
                unknown = sorted(r for r in d.rules if r not in catalog.rules)
                idle = sorted(r for r in d.rules - d.used if r in catalog.rules and settings.selects(r))
                if not unknown and not idle:
                    continue
                parts = [f"no {', '.join(idle)} finding on the line it covers"] if idle else []
                parts += [f"unknown rule {', '.join(unknown)}"] if unknown else []
                why = "; ".join(parts)
            cell, line = line_map(d.line) if line_map else (None, d.line)
            found.append(Finding(UNUSED_RULE, tier, line, d.column, rule.format(directive=d.text, why=why), cell=cell))
        return found


def may_have(source: bytes) -> bool:
    """The cheap test: no `flm:` bytes, no opt-outs (most files stop here)."""
    return MARKER in source or MARKER.upper() in source


def skips_file(source: bytes) -> bool:
    if not may_have(source):
        return False
    return any(_is_skip(line) for line in source.decode("utf-8", "replace").splitlines() if "skip-file" in line.lower())


def _is_skip(line: str) -> bool:
    stripped = line.strip()
    match = _DIRECTIVE.match(stripped)
    return bool(match and match.group("kind").lower() == "skip-file")


def _parse_codes(codes: str | None) -> frozenset[str] | None:
    if codes is None:
        return None
    return frozenset(code.upper() for code in re.split(r"[\s,]+", codes) if code)


def _directive(comment: str, line: int, column: int, own_line: bool) -> Directive | None:
    match = _DIRECTIVE.search(comment)
    if not match or match.group("kind").lower() != "ignore":
        return None
    return Directive(line, column + match.start(), match.group(0), _parse_codes(match.group("codes")), own_line)


def from_python(source: bytes) -> Suppressions | None:
    """The opt-outs in a Python module's comments, or None when it has none."""
    if not may_have(source):
        return None
    comments: list[tuple[str, int, int, bool]] = []
    try:
        line_has_code: set[int] = set()
        tokens = list(tokenize.tokenize(io.BytesIO(source).readline))
        for token in tokens:
            if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER):
                for row in range(token.start[0], token.end[0] + 1):
                    line_has_code.add(row)
        for token in tokens:
            if token.type == tokenize.COMMENT and "flm:" in token.string.lower():
                row, col = token.start
                comments.append((token.string, row, col + 1, row not in line_has_code))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError):
        return from_text(source.decode("utf-8", "replace"))
    return _collect(comments, source.decode("utf-8", "replace"))


def from_text(text: str) -> Suppressions | None:
    """The opt-outs in a `#`-commented text file (requirements, TOML, INI), or None."""
    if "flm:" not in text.lower():
        return None
    comments = []
    for row, line in enumerate(text.splitlines(), start=1):
        if "flm:" not in line.lower():
            continue
        match = _TEXT_COMMENT.search(line)
        if match:
            comments.append((match.group(1), row, match.start(1) + 1, not line[: match.start(1)].strip()))
    return _collect(comments, text)


def _collect(comments: Iterable[tuple[str, int, int, bool]], text: str) -> Suppressions | None:
    directives = [d for c in comments if (d := _directive(*c)) is not None]
    skip = any(_is_skip(c[0]) and c[3] for c in comments)
    if not directives and not skip:
        return None
    return Suppressions(directives, skip)


# The SDK port rewrites a module as a whole (client creation, imports, model objects and their
# calls are coupled): silencing one of its edits while applying the others could leave code that
# refers to objects that changed kind. So a silenced port edit keeps the module's port off (FLM304).
COUPLED = ("FLM2",)
PORT_OFF_RULE = "FLM304"


def context_type(noqa: Suppressions, module) -> type:
    """A Context whose report/replace/todo treat a silenced site as if its rule were switched off there.

    The check happens before any edit is recorded, so a transform sees a silenced site exactly as it
    sees a site of a rule that is not selected: nothing half-applied, nothing to undo afterwards.
    """
    from libcst.metadata import MetadataWrapper, PositionProvider

    from migrate.codemod.context import Context

    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)

    def silenced(ctx, rule_id: str, node: object, edit: bool) -> bool:
        position = positions.get(node)  # type: ignore[call-overload]
        if not ctx.enabled(rule_id) or position is None or not noqa.suppresses(rule_id, position.start.line):
            return False
        if edit:
            ctx.silenced_edits.append((rule_id, position.start.line))
        return True

    class SuppressingContext(Context):
        silenced_edits: list  # (rule, line) of each edit a directive refused; set by transform()

        def report(self, rule_id, node, **values):  # type: ignore[override]
            if not silenced(self, rule_id, node, False):
                super().report(rule_id, node, **values)

        def replace(self, rule_id, node, build, before, after, **values):  # type: ignore[override]
            if silenced(self, rule_id, node, True):
                return False
            return super().replace(rule_id, node, build, before, after, **values)

        def todo(self, rule_id, statement, anchor, **values):  # type: ignore[override]
            if not silenced(self, rule_id, anchor, True):
                super().todo(rule_id, statement, anchor, **values)

    return SuppressingContext


def transform(noqa: Suppressions, module, catalog: Catalog, settings: Settings, target, transforms) -> tuple:
    """Run the transforms with these opt-outs: (context, extra findings: FLM301 unused, FLM304 port kept off)."""
    from dataclasses import replace

    from migrate.codemod.symbols import collect

    make = context_type(noqa, module)

    def run(with_settings: Settings):
        ctx = make(module, collect(module, catalog.call_sites.aliases), catalog, with_settings, target)
        ctx.silenced_edits = []
        for step in transforms:
            step(ctx)
        return ctx

    ctx = run(settings)
    coupled = [(rule, line) for rule, line in ctx.silenced_edits if rule.startswith(COUPLED)]
    notes: list[Finding] = []
    if coupled and any(f.rule.startswith(COUPLED) and f.applied for f in ctx.findings):
        ctx = run(replace(settings, ignore=settings.ignore + COUPLED))
        if settings.selects(PORT_OFF_RULE) and PORT_OFF_RULE in catalog.rules:
            rule = catalog.rule(PORT_OFF_RULE)
            tier = settings.tier_overrides.get(PORT_OFF_RULE, rule.tier)
            for line in sorted({line for _, line in coupled}):
                codes = ", ".join(sorted({r for r, l in coupled if l == line}))
                notes.append(Finding(PORT_OFF_RULE, tier, line, 1, rule.format(rules=codes)))
    return ctx, noqa.unused(settings, catalog) + notes


def filter_findings(noqa: Suppressions, findings: Sequence[Finding]) -> list[Finding]:
    """Drop located findings a directive silences (dependency files, where there is no syntax tree)."""
    return [f for f in findings if not noqa.suppresses(f.rule, f.line)]
