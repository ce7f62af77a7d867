"""Check a rewritten module before it is written, the way ruff's fix loop does.

This reads both versions with CPython's `ast` and pyflakes, not with the LibCST machinery that made
the edit, so a bug in the rewrite cannot hide from its own check. Three questions:

- which legacy SDK names does a module still use (imports at any depth, attribute chains)?
- does the output have an undefined name the original did not have?
- does it still define every top-level name the original defined (legacy imports aside)?
"""

from __future__ import annotations

import ast
import fnmatch
from dataclasses import dataclass
from typing import Callable, Iterable

from pyflakes import checker, messages


@dataclass(frozen=True)
class LegacyUse:
    """One use of a legacy SDK name: its qualified name and the first line of its statement."""

    name: str
    line: int
    is_import: bool


def parse(source: str | bytes) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _is_legacy(qualified: str, prefixes: Iterable[str]) -> bool:
    return any(qualified == p or qualified.startswith(p + ".") for p in prefixes)


def _statement_lines(tree: ast.Module) -> dict[int, int]:
    """id(node) -> first line of the innermost statement holding it (decorators count as the start)."""
    lines: dict[int, int] = {}

    def visit(node: ast.AST, line: int) -> None:
        if isinstance(node, ast.stmt):
            decorators = getattr(node, "decorator_list", None) or []
            line = min([node.lineno, *(d.lineno for d in decorators)])
        lines[id(node)] = line
        for child in ast.iter_child_nodes(node):
            visit(child, line)

    for statement in tree.body:
        visit(statement, statement.lineno)
    return lines


class Imports:
    """Local names -> qualified names, from the module's imports at any depth (scopes not told apart)."""

    def __init__(self, tree: ast.Module):
        self.aliases: dict[str, str] = {}
        self.statements: list[tuple[ast.stmt, str]] = []  # (import statement, qualified name it imports)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        root = alias.name.split(".")[0]
                        self.aliases.setdefault(root, root)
                    self.statements.append((node, alias.name))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if alias.name == "*":
                        self.statements.append((node, node.module))
                        continue
                    qualified = f"{node.module}.{alias.name}"
                    self.aliases[alias.asname or alias.name] = qualified
                    self.statements.append((node, qualified))

    def qualified(self, node: ast.AST) -> str | None:
        """`genai.types.GenerationConfig` -> `google.generativeai.types.GenerationConfig`, via the imports."""
        chain = dotted(node)
        if chain is None:
            return None
        root, _, rest = chain.partition(".")
        if root not in self.aliases:
            return None
        return f"{self.aliases[root]}.{rest}" if rest else self.aliases[root]


def legacy_uses(tree: ast.Module, prefixes: Iterable[str]) -> list[LegacyUse]:
    """Every use of a name under `prefixes`: imports at any depth, and the longest dotted chains.

    Scopes are not told apart (an import inside a function counts for the whole module): a check
    that errs towards "still legacy" keeps a module from being called ported when it is not.
    """
    prefixes = tuple(prefixes)
    lines = _statement_lines(tree)
    imports = Imports(tree)
    found = [LegacyUse(name, lines[id(node)], True) for node, name in imports.statements if _is_legacy(name, prefixes)]
    inner: set[int] = set()
    for node in ast.walk(tree):  # breadth first: an outer chain is seen before its inner parts
        if id(node) in inner or not isinstance(node, (ast.Attribute, ast.Name)):
            continue
        if isinstance(node, ast.Attribute):
            _mark_inner(node, inner)
        qualified = imports.qualified(node)
        if qualified is not None and _is_legacy(qualified, prefixes):
            found.append(LegacyUse(qualified, lines[id(node)], False))
    return found


def instance_members(tree: ast.Module, is_type: Callable[[str], bool], members: Iterable[str]) -> list[LegacyUse]:
    """`Tool.to_dict` for `tools.to_dict()` where `tools = Tool(...)` (or a parameter annotated
    `Tool`), and for `Tool(...).to_dict()`: members from `members` (fnmatch patterns) used on
    instances of a legacy type. Bindings are not told apart by scope, as in `legacy_uses`."""
    patterns = tuple(members)
    lines = _statement_lines(tree)
    imports = Imports(tree)

    def type_of(node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Call):
            node = node.func
        qualified = imports.qualified(node) if node is not None else None
        return qualified if qualified is not None and is_type(qualified) else None

    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and type_of(node.value):
            bound.update((t.id, type_of(node.value)) for t in node.targets if isinstance(t, ast.Name))  # type: ignore[misc]
        elif isinstance(node, ast.arg) and node.annotation is not None:
            # `ToolConfig` or `ToolConfig | None`
            sides = [node.annotation.left, node.annotation.right] if isinstance(node.annotation, ast.BinOp) else [node.annotation]
            owner = next((t for t in map(type_of, sides) if t), None)
            if owner is not None:
                bound[node.arg] = owner
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not any(fnmatch.fnmatchcase(node.attr, p) for p in patterns):
            continue
        owner = bound.get(node.value.id) if isinstance(node.value, ast.Name) else type_of(node.value) if isinstance(node.value, ast.Call) else None
        if owner is not None:
            found.append(LegacyUse(f"{owner}.{node.attr}", lines[id(node)], False))
    return found


def _mark_inner(node: ast.Attribute, inner: set[int]) -> None:
    value = node.value
    while isinstance(value, ast.Attribute):
        inner.add(id(value))
        value = value.value
    inner.add(id(value))


def dotted(node: ast.AST) -> str | None:
    """`a.b.c` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def undefined_names(tree: ast.Module) -> set[str]:
    """Names pyflakes reports as undefined (builtins and `__file__`-style module names excluded)."""
    report = checker.Checker(tree, filename="<module>")
    return {m.message_args[0] for m in report.messages if isinstance(m, messages.UndefinedName)}


def top_level_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(names bound at module level by imports, every other name bound at module level)."""
    imported: set[str] = set()
    defined: set[str] = set()

    def bind(target: ast.AST) -> None:
        for node in ast.walk(target):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)

    def visit(statements: list[ast.stmt]) -> None:
        for statement in statements:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(statement.name)
            elif isinstance(statement, ast.Import):
                imported.update(a.asname or a.name.split(".")[0] for a in statement.names)
            elif isinstance(statement, ast.ImportFrom):
                imported.update(a.asname or a.name for a in statement.names if a.name != "*")
            elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                for target in statement.targets if isinstance(statement, ast.Assign) else [statement.target]:
                    bind(target)
            elif isinstance(statement, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
                if isinstance(statement, (ast.For, ast.AsyncFor)):
                    bind(statement.target)
                else:
                    for item in statement.items:
                        if item.optional_vars is not None:
                            bind(item.optional_vars)
                visit(statement.body)
                visit(getattr(statement, "orelse", []))
            elif isinstance(statement, (ast.If, ast.While)):
                visit(statement.body)
                visit(statement.orelse)
            elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
                visit(statement.body)  # type: ignore[attr-defined]
                for handler in statement.handlers:  # type: ignore[attr-defined]
                    visit(handler.body)
                visit(statement.orelse)  # type: ignore[attr-defined]
                visit(statement.finalbody)  # type: ignore[attr-defined]

    visit(tree.body)
    return imported, defined


@dataclass(frozen=True)
class Verdict:
    """Why a rewrite must not be written (`problem`), and which legacy names it still uses."""

    problem: str | None
    remaining: tuple[LegacyUse, ...]


def check(original: ast.Module, new_source: str | bytes | ast.Module, prefixes: Iterable[str], removable: Iterable[str] = ()) -> Verdict:
    """Compare a rewrite (its text, or its tree when the caller parsed it already) with its original.
    `problem` is None when the rewrite is safe to write.

    `prefixes`: the legacy surface; `removable`: modules whose imports the rewrite may also drop.
    """
    prefixes = tuple(prefixes)
    new = new_source if isinstance(new_source, ast.Module) else parse(new_source)
    if new is None:
        return Verdict("the output does not parse", ())
    remaining = tuple(legacy_uses(new, prefixes))
    introduced = sorted(undefined_names(new) - undefined_names(original))
    if introduced:
        return Verdict(f"new undefined name{'s' if len(introduced) > 1 else ''} {', '.join(introduced)}", remaining)
    old_imported, old_defined = top_level_names(original)
    new_imported, new_defined = top_level_names(new)
    lost = sorted(old_defined - new_defined - old_imported)
    if lost:
        return Verdict(f"top-level name{'s' if len(lost) > 1 else ''} no longer defined: {', '.join(lost)}", remaining)
    lost_imports = sorted(old_imported - new_imported - new_defined - _bound_by_imports(original, (*prefixes, *removable)))
    if lost_imports:
        return Verdict(f"import{'s' if len(lost_imports) > 1 else ''} removed: {', '.join(lost_imports)}", remaining)
    return Verdict(None, remaining)


def _bound_by_imports(tree: ast.Module, prefixes: tuple[str, ...]) -> set[str]:
    """Module-level names bound by imports of these modules (`genai` for `import google.generativeai as genai`)."""
    names = set()
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in statement.names if _is_legacy(a.name, prefixes))
        elif isinstance(statement, ast.ImportFrom) and statement.module and statement.level == 0:
            names.update(a.asname or a.name for a in statement.names if _is_legacy(f"{statement.module}.{a.name}", prefixes))
    return names
