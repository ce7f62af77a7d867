"""All or nothing per module: decide from a trial port whether a module moves to google-genai.

The port first runs as a trial, in memory. The module is *ported* only when the trial left no
legacy SDK name anywhere in it (checked on the output by `verify`, imports at any depth), raised no
blocker of its own (a manual TODO) and passed verification. Otherwise it is *not ported*: the rules
run again with every port edit off, and each blocker becomes one stable TODO at its line. So a
module is never half-moved, and what keeps it back is named where a person will look.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange

from migrate.catalog import PortData
from migrate.codemod.context import Context
from migrate.codemod.verify import LegacyUse, Verdict

PORTED, NOT_PORTED, REFUSED = "ported", "not-ported", "refused"
MAPPED_ELSEWHERE = ("google.generativeai.embed_content", "google.generativeai.types", "google.generativeai.protos")


@dataclass(frozen=True)
class Blocker:
    """One TODO the not-ported module gets: rule, the original line, the message values."""

    rule: str
    line: int
    values: tuple[tuple[str, str], ...]


@dataclass
class Decision:
    outcome: str  # ported | not-ported | refused
    blockers: list[Blocker] = field(default_factory=list)


def _sdk_name(qualified: str, port: PortData) -> str:
    sdk = port.sdk_of(qualified)
    if sdk:
        return sdk
    return "google-generativeai" if qualified.startswith("google.") else "the Vertex AI SDK"


def has_mapping(qualified: str, port: PortData) -> bool:
    """Whether the port knows this legacy name (or what it is an attribute of, e.g. an enum member)."""
    parts = qualified.split(".")
    for end in range(len(parts), 1, -1):
        name = ".".join(parts[:end])
        if (
            name in port.model_classes
            or name in port.configure_calls
            or port.legacy_type(name) is not None
            or name in port.functions
            or name.startswith(MAPPED_ELSEWHERE)
        ):
            return True
    return any(qualified == m for modules in port.legacy_modules.values() for m in modules)


def unmapped_member(qualified: str, port: PortData) -> bool:
    """A member of a mapped legacy type that its google-genai type lacks: `Tool.to_dict`, `Part.pb`,
    `Tool.from_retrieval`, `GenerationConfig.ModelConfig`. Enum members and dunders carry over."""
    parts = qualified.split(".")
    for end in range(len(parts), 1, -1):
        if port.legacy_type(".".join(parts[:end])) is not None:
            rest = parts[end:]
            return bool(rest) and not (len(rest) == 1 and (rest[0].isupper() or rest[0].startswith("__")))
    return False


def _types_leave_the_module(uses: list[LegacyUse], port: PortData) -> LegacyUse | None:
    """The first legacy type built in a module where no legacy model takes it.

    Such objects go somewhere the port cannot see - a library that wants the Vertex AI SDK's own
    types (LlamaIndex's `Vertex(safety_settings=...)`, LangChain), or a caller - so rewriting them to
    google-genai types would break that consumer."""
    def is_model(name: str) -> bool:
        return any(name == cls or name.startswith(cls + ".") for cls in port.model_classes)

    built = [u for u in uses if not u.is_import]
    if any(is_model(u.name) for u in built):
        return None
    return next((u for u in built if port.legacy_type(u.name) is not None), None)


def decide(
    trial: Context,
    verdict: Verdict,
    original_uses: list[LegacyUse],
    port: PortData,
    top_level: set[int],
    consumers: list[LegacyUse],
    new_sdk_used: bool = False,
) -> Decision:
    """The outcome for one module from its trial port, and the blockers when it is not ported.

    Blockers, most specific first: legacy names the port has no mapping for, or members google-genai's
    types lack (FLM225), legacy imports the port cannot reach (FLM220), the port's own TODOs, Vertex
    modules that take legacy objects (`consumers`), legacy types no model of the module takes (unless
    it already uses google-genai: `new_sdk_used`). A trial that failed verification with none of these
    is refused (FLM227): a bug in flm. `top_level`: lines of the module-level statements.
    """
    manual = [f for f in trial.findings if f.tier == "manual" and f.rule.startswith("FLM2")]
    first_use: dict[str, int] = {}
    for use in original_uses:
        first_use.setdefault(use.name, use.line)
    members = {name for name in first_use if unmapped_member(name, port)}
    leaving = None if new_sdk_used else _types_leave_the_module(original_uses, port)
    if verdict.problem is None and not verdict.remaining and not manual and not consumers and not members and leaving is None:
        return Decision(PORTED)
    remaining = {u.name for u in verdict.remaining if u.name in first_use}  # names the trial added are not causes
    blockers = [
        Blocker("FLM225", first_use[name], (("name", name), ("sdk", _sdk_name(name, port))))
        for name in sorted(remaining | members, key=lambda n: (first_use[n], n))
        if name in members or not has_mapping(name, port)
    ]
    kept_imports = {u.name for u in verdict.remaining if u.is_import}
    nested = [u for u in original_uses if u.is_import and u.line not in top_level and u.name in kept_imports]
    if nested:
        reason = f"legacy import inside a function or block that the port could not remove; the module stays on {_sdk_name(nested[0].name, port)}"
        blockers.append(Blocker("FLM220", nested[0].line, (("reason", reason),)))
    for use in consumers[:1]:
        module = next(m for m in port.legacy_consumers if use.name == m or use.name.startswith(m + "."))
        reason = f"{module} takes objects of the legacy SDK and stays: port this module by hand"
        blockers.append(Blocker("FLM220", use.line, (("reason", reason),)))
    if leaving is not None:
        reason = (f"{leaving.name.rsplit('.', 1)[-1]} objects are built here but no model of this module takes them "
                  f"(a library or caller may need the legacy type); the module stays on {_sdk_name(leaving.name, port)}")
        blockers.append(Blocker("FLM220", leaving.line, (("reason", reason),)))
    if blockers or manual:
        return Decision(NOT_PORTED, blockers)
    if verdict.problem is not None:
        rules = sorted({f.rule for f in trial.findings if f.applied and f.rule.startswith("FLM2")}) or ["FLM2xx"]
        line = min(first_use.values()) if first_use else 1
        return Decision(REFUSED, [Blocker("FLM227", line, (("problem", verdict.problem), ("rules", ", ".join(rules))))])
    stayed = sorted((u for u in verdict.remaining if u.name in first_use), key=lambda u: (u.is_import, u.name not in port.model_classes, first_use[u.name]))
    name = stayed[0].name if stayed else next(iter(first_use))
    sdk = _sdk_name(name, port)
    if name in port.model_classes:
        reason = f"this {name.rsplit('.', 1)[-1]} is not called in this module, or not in a way the port follows yet; the module stays on {sdk}"
    else:
        reason = f"{name} is used here in a way the port does not follow yet; the module stays on {sdk}"
    return Decision(NOT_PORTED, [Blocker("FLM220", first_use[name], (("reason", reason),))])


def statements_by_line(module: cst.Module, positions: dict[cst.CSTNode, CodeRange]) -> dict[int, cst.CSTNode]:
    """The outermost statement starting on each line: where a blocker's TODO goes."""
    found: dict[int, cst.CSTNode] = {}

    class Collect(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                line = positions[node].start.line
                found.setdefault(line, node)
            return True

    module.visit(Collect())
    return found


def place_blockers(ctx: Context, blockers: list[Blocker], positions: dict[cst.CSTNode, CodeRange]) -> None:
    """One TODO per blocker above the statement at its line (the module's first statement if none)."""
    by_line = statements_by_line(ctx.module, positions)
    for blocker in blockers:
        statement = by_line.get(blocker.line)
        if statement is None:
            later = [line for line in by_line if line >= blocker.line]
            statement = by_line[min(later)] if later else (by_line[max(by_line)] if by_line else None)
        if statement is not None:
            ctx.todo(blocker.rule, statement, statement, **dict(blocker.values))
