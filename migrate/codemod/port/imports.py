"""After the rewrite: name the new modules without collisions, add their imports, drop dead legacy ones."""

from __future__ import annotations

import libcst as cst

from migrate.codemod.context import Context
from migrate.codemod.port.build import ERRORS, GENAI, OS, TYPES, separated
from migrate.codemod.symbols import collect, dotted_name

# placeholder -> (preferred name, fallback, import statement template)
_NEW_MODULES = {
    GENAI: ("genai", "google_genai", "from google import genai{alias}"),
    TYPES: ("types", "genai_types", "from google.genai import types{alias}"),
    ERRORS: ("errors", "genai_errors", "from google.genai import errors{alias}"),
    OS: ("os", "_os", "import os{alias}"),
}
_QUALIFIED = {GENAI: "google.genai", TYPES: "google.genai.types", ERRORS: "google.genai.errors", OS: "os"}


def fix_imports(module: cst.Module, ctx: Context) -> cst.Module:
    facts = collect(module, ctx.catalog.call_sites.aliases)
    used = {name.value for name, _ in facts.names if name.value in _NEW_MODULES}
    removable = _removable_aliases(module, facts, ctx)
    module, first_removed, removed_spacing = _remove_aliases(module, removable)
    bound = {name: bindings for name, bindings in collect(module).module_scope.bindings.items()}
    chosen: dict[str, str] = {}
    new_imports: list[cst.SimpleStatementLine] = []
    for placeholder in (OS, GENAI, TYPES, ERRORS):
        if placeholder not in used:
            continue
        preferred, fallback, template = _NEW_MODULES[placeholder]
        existing = bound.get(preferred)
        if existing and all(b.kind == "import" and b.qualname == _QUALIFIED[placeholder] for b in existing):
            chosen[placeholder] = preferred  # the module already imports it under that name
            continue
        name = preferred if preferred not in bound else fallback
        chosen[placeholder] = name
        alias = "" if name == preferred else f" as {name}"
        new_imports.append(cst.parse_statement(template.format(alias=alias) + "\n"))  # type: ignore[arg-type]
    module = module.visit(_Rename(chosen))
    new_imports = _combined(new_imports)
    if new_imports and first_removed is not None:  # the new imports take the removed one's place and spacing
        new_imports[0] = new_imports[0].with_changes(leading_lines=removed_spacing)
    return _insert(module, new_imports, first_removed)


def _combined(statements: list[cst.SimpleStatementLine]) -> list[cst.SimpleStatementLine]:
    """`from google.genai import types` and `... import errors` become one statement."""
    merged: list[cst.SimpleStatementLine] = []
    for statement in statements:
        small = statement.body[0]
        previous = merged[-1].body[0] if merged else None
        if (
            isinstance(small, cst.ImportFrom) and isinstance(previous, cst.ImportFrom)
            and dotted_name(small.module) == dotted_name(previous.module) == "google.genai"  # type: ignore[arg-type]
        ):
            names = sorted([*previous.names, *small.names], key=lambda a: dotted_name(a.name))  # type: ignore[misc]
            names = separated(names)
            merged[-1] = merged[-1].with_changes(body=[previous.with_changes(names=names)])
        else:
            merged.append(statement)
    return merged


def _removable_aliases(module: cst.Module, facts, ctx: Context) -> set[tuple[int, int]]:
    """(statement index, alias index) of legacy imports nothing refers to any more."""
    port = ctx.catalog.port
    removable = set()
    scope = facts.module_scope
    for index, statement in enumerate(module.body):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, (cst.Import, cst.ImportFrom)) or isinstance(getattr(small, "names", None), cst.ImportStar):
                continue
            base = dotted_name(small.module) if isinstance(small, cst.ImportFrom) and small.module is not None else ""
            for alias_index, alias in enumerate(small.names):  # type: ignore[arg-type]
                full = f"{base}.{dotted_name(alias.name)}" if base else dotted_name(alias.name)
                if not (port.sdk_of(full) or full == "vertexai" or full.startswith(port.exception_module)):
                    continue
                if isinstance(small, cst.Import) and alias.asname is None:
                    bound_name = full.split(".")[0]
                elif alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    bound_name = alias.asname.name.value
                else:
                    bound_name = dotted_name(alias.name)
                bindings = scope.bindings.get(bound_name, [])
                if bindings and not any(facts.references(b) for b in bindings):
                    removable.add((index, alias_index))
    return removable


def _remove_aliases(module: cst.Module, removable: set[tuple[int, int]]) -> tuple[cst.Module, int | None, list[cst.EmptyLine]]:
    body = []
    first_removed = None
    carried: list[cst.EmptyLine] = []  # comments above a removed statement move to the next one
    spacing: list[cst.EmptyLine] = []  # blank lines above the first removed statement
    for index, statement in enumerate(module.body):
        if not isinstance(statement, cst.SimpleStatementLine) or not any(i == index for i, _ in removable):
            if carried:
                statement = statement.with_changes(leading_lines=[*carried, *statement.leading_lines])
                carried = []
            body.append(statement)
            continue
        kept_small = []
        for small in statement.body:
            names = [a for j, a in enumerate(small.names) if (index, j) not in removable]  # type: ignore[union-attr]
            if names:
                names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                kept_small.append(small.with_changes(names=names))
        if first_removed is None:
            first_removed = len(body)
            spacing = [line for line in statement.leading_lines if line.comment is None]
        if kept_small:
            body.append(statement.with_changes(body=kept_small))
        else:
            carried.extend(line for line in statement.leading_lines if line.comment is not None)
    return module.with_changes(body=body), first_removed, spacing


def _insert(module: cst.Module, statements: list[cst.SimpleStatementLine], position: int | None) -> cst.Module:
    if not statements:
        return module
    body = list(module.body)
    if position is None:
        position = 0
        for index, statement in enumerate(body):
            if isinstance(statement, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body):
                position = index + 1
    body[position:position] = statements
    return module.with_changes(body=body)


class _Rename(cst.CSTTransformer):
    def __init__(self, names: dict[str, str]):
        super().__init__()
        self.names = names

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        new = self.names.get(updated_node.value)
        return updated_node.with_changes(value=new) if new else updated_node
