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
    position = _before_first_use(module, chosen, first_removed)
    if new_imports and first_removed is not None and position == first_removed:  # the new imports take the removed one's place and spacing
        new_imports[0] = new_imports[0].with_changes(leading_lines=removed_spacing)
    elif first_removed is not None and removed_spacing:
        module = _keep_spacing(module, first_removed, removed_spacing)
    return _insert(module, new_imports, position)


def _keep_spacing(module: cst.Module, index: int, spacing: list[cst.EmptyLine]) -> cst.Module:
    """The new imports went elsewhere: the statement now in the removed import's place keeps its blank lines."""
    lines = module.body[index].leading_lines if index < len(module.body) else ()
    if index >= len(module.body) or (lines and lines[0].comment is None):
        return module  # the removed import's statement is still there, or the next one starts with its own blank lines
    body = list(module.body)
    body[index] = body[index].with_changes(leading_lines=[*spacing, *body[index].leading_lines])
    return module.with_changes(body=body)


def _before_first_use(module: cst.Module, chosen: dict[str, str], first_removed: int | None) -> int | None:
    """The removed import's place, or earlier when a new name is used above it (never below a use)."""
    names = set(chosen.values())
    limit = first_removed if first_removed is not None else len(module.body)
    for index, statement in enumerate(module.body[:limit]):
        if isinstance(statement, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body):
            continue
        if _uses_any(statement, names):
            return index
    return first_removed


def _uses_any(node: cst.CSTNode, names: set[str]) -> bool:
    class Find(cst.CSTVisitor):
        found = False

        def visit_Name(self, name: cst.Name) -> None:
            if name.value in names:
                self.found = True

    finder = Find()
    node.visit(finder)
    return finder.found


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


def _is_legacy_import(full: str, ctx: Context) -> bool:
    return ctx.catalog.port.removable_import(full)


def _removable_aliases(module: cst.Module, facts, ctx: Context) -> set[tuple[int, int]]:
    """(id of the import statement, alias index) of legacy imports nothing refers to any more, at any depth."""
    removable = set()
    for scope in facts.scopes:
        for bound_name, bindings in scope.bindings.items():
            for binding in bindings:
                statement = binding.node
                if binding.kind != "import" or not isinstance(statement, cst.SimpleStatementLine):
                    continue
                for small in statement.body:
                    if not isinstance(small, (cst.Import, cst.ImportFrom)) or isinstance(getattr(small, "names", None), cst.ImportStar):
                        continue
                    base = dotted_name(small.module) if isinstance(small, cst.ImportFrom) and small.module is not None else ""
                    for alias_index, alias in enumerate(small.names):  # type: ignore[arg-type]
                        full = f"{base}.{dotted_name(alias.name)}" if base else dotted_name(alias.name)
                        if _bound_name(small, alias, full) != bound_name or not _is_legacy_import(full, ctx):
                            continue
                        if not any(facts.references(b) for b in bindings):
                            removable.add((id(statement), alias_index))
    return removable


def _bound_name(small: cst.Import | cst.ImportFrom, alias: cst.ImportAlias, full: str) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    if isinstance(small, cst.Import):
        return full.split(".")[0]
    return dotted_name(alias.name)


def _remove_aliases(module: cst.Module, removable: set[tuple[int, int]]) -> tuple[cst.Module, int | None, list[cst.EmptyLine]]:
    """Drop the removable aliases everywhere; report where the first module-level removal was."""
    statements = {key[0] for key in removable}
    first_removed = None
    spacing: list[cst.EmptyLine] = []
    for index, statement in enumerate(module.body):
        if id(statement) in statements:
            first_removed = index
            spacing = [line for line in statement.leading_lines if line.comment is None]
            break
    return module.visit(_DropAliases(removable)), first_removed, spacing


class _DropAliases(cst.CSTTransformer):
    """Removes import aliases by (id(statement), index) at any depth; comments above an emptied
    statement move to the statement after it, and a block left empty gets `pass`."""

    def __init__(self, removable: set[tuple[int, int]]):
        super().__init__()
        self.removable = removable
        self.statements = {key[0] for key in removable}
        # The emptied statements themselves, not only their ids: once `_carry` drops one it is freed,
        # and a node made later could get its id (that once removed a random `suggest_names()` line).
        self.emptied: dict[int, cst.SimpleStatementLine] = {}

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine):
        if id(original_node) not in self.statements:
            return updated_node
        kept_small = []
        for small in updated_node.body:
            names = [a for j, a in enumerate(small.names) if (id(original_node), j) not in self.removable]  # type: ignore[union-attr]
            if names:
                names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                kept_small.append(small.with_changes(names=names))
        if kept_small:
            return updated_node.with_changes(body=kept_small)
        emptied = updated_node.with_changes(body=[cst.Pass()])
        self.emptied[id(emptied)] = emptied
        return emptied

    def _carry(self, body, footer, block: bool = False):
        out, carried, leading_removed = [], [], False
        for statement in body:
            if self.emptied.get(id(statement)) is statement:
                carried.extend(line for line in statement.leading_lines if line.comment is not None)
                leading_removed = leading_removed or not out
                continue
            lines = list(statement.leading_lines)
            if block and leading_removed and not out:  # the block's first statement went: no blank line at its top
                while lines and lines[0].comment is None:
                    lines.pop(0)
            if carried or lines != list(statement.leading_lines):
                statement = statement.with_changes(leading_lines=[*carried, *lines])
                carried = []
            out.append(statement)
        return out, [*carried, *footer]

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock):
        body, footer = self._carry(updated_node.body, updated_node.footer, block=True)
        return updated_node.with_changes(body=body or [cst.SimpleStatementLine([cst.Pass()])], footer=footer)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module):
        body, footer = self._carry(updated_node.body, updated_node.footer)
        return updated_node.with_changes(body=body, footer=footer)


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
