"""Legacy objects that cross module boundaries: the run-level part of the all-or-nothing plan.

Porting a module changes what its legacy objects are (a model object becomes google-genai calls,
`genai.configure()` becomes a client of that module). That is safe only when no other module of
the run still relies on the old object. Two ways real code does rely on it:

- another module imports the object (`from .llm import model`, `import llm` ... `llm.model`);
- another module calls the SDK without configuring it, counting on a `genai.configure()` /
  `vertexai.init()` with arguments elsewhere (losing it would drop an API key or move a region).

Each module that takes part in such a link is kept on the legacy SDK with a FLM226 TODO naming the
other side. Everything here reads `ast` facts the workers collected; only files that might import a
shared name are read again, and only with a byte search first.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from migrate.catalog import PortData
from migrate.codemod.plan import Blocker
from migrate.codemod.verify import Imports, dotted, legacy_uses


@dataclass(frozen=True)
class SharedFacts:
    """What one legacy module offers to, or needs from, the rest of the run (lines are its own)."""

    exports: tuple[tuple[str, int], ...] = ()  # module-level names holding legacy objects, and their line
    configures: tuple[tuple[str, int], ...] = ()  # (sdk, line) of configure()/init() with arguments
    needs_configure: tuple[tuple[str, int], ...] = ()  # (sdk, line): legacy model use without its own configure


def collect(tree: ast.Module, port: PortData) -> SharedFacts:
    uses = legacy_uses(tree, port.legacy_surface)
    legacy_lines = {u.line for u in uses if not u.is_import}
    exports: dict[str, int] = {}
    for statement in tree.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.lineno in legacy_lines:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    exports.setdefault(target.id, statement.lineno)
    for statement in tree.body:  # chats and other objects made from an exported model
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            func = statement.value.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in exports:
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        exports.setdefault(target.id, statement.lineno)
    imports = Imports(tree)
    configures, models, configured = [], [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = imports.qualified(node.func)
            if name in port.configure_calls:
                configured.add(port.configure_calls[name])
                if node.args or node.keywords:
                    configures.append((port.configure_calls[name], node.lineno))
            elif name in port.model_classes:
                models.append((port.model_classes[name], node.lineno))
    needs = tuple(sorted({(sdk, line) for sdk, line in models if sdk not in configured}))
    return SharedFacts(tuple(sorted(exports.items(), key=lambda kv: kv[1])), tuple(sorted(set(configures))), needs)


@dataclass
class Module:
    path: Path
    facts: SharedFacts
    ported: bool


@dataclass
class _Links:
    blockers: dict[Path, list[Blocker]] = field(default_factory=dict)

    def add(self, path: Path, line: int, what: str) -> None:
        entries = self.blockers.setdefault(path, [])
        blocker = Blocker("FLM226", line, (("what", what),))
        if blocker not in entries:
            entries.append(blocker)


def plan_run(modules: list[Module], all_paths: Iterable[Path], read: Callable[[Path], bytes], code: Callable[[Path, bytes], str], root: Path) -> dict[Path, list[Blocker]]:
    """Blockers for ported modules that share a legacy object with another module of the run.

    `read` gives a file's bytes, `code` its Python text (a notebook's code cells).
    """
    links = _Links()
    paths = [p for p in all_paths if p.suffix in (".py", ".ipynb")]
    legacy = {m.path: m for m in modules}
    index = _ImportIndex(paths, read, code)
    for module in modules:
        if not module.ported or not module.facts.exports:
            continue
        stem = _stem(module.path)
        names = {name for name, _ in module.facts.exports}
        for other in paths:
            if other == module.path:
                continue
            try:
                data = read(other)
            except OSError:
                continue
            if stem.encode() not in data:
                continue
            for name, line in _imported_names(index.tree(other), stem, names):
                first = dict(module.facts.exports)[name]
                links.add(module.path, first, f"`{name}` is used by {_rel(other, root)} (l.{line})")
                if other in legacy and legacy[other].ported:
                    links.add(other, line, f"`{name}` comes from {_rel(module.path, root)}, a legacy object")
    for sdk in sorted({sdk for m in modules for sdk, _ in m.facts.configures}):
        call = "genai.configure()" if sdk == "google-generativeai" else "vertexai.init()"
        configuring = [m for m in modules if any(s == sdk for s, _ in m.facts.configures)]
        needing = [m for m in modules if any(s == sdk for s, _ in m.facts.needs_configure)]
        for config in configuring:
            for needer in needing:
                if needer.path == config.path or not (config.ported or needer.ported):
                    continue
                if not index.linked(config.path, needer.path):
                    continue  # separate programs (notebooks, snippets): one cannot configure the other
                line = next(line for s, line in config.facts.configures if s == sdk)
                links.add(config.path, line, f"{call} here may also configure the legacy calls in {_rel(needer.path, root)}")
                line = next(line for s, line in needer.facts.needs_configure if s == sdk)
                links.add(needer.path, line, f"this module may rely on {call} in {_rel(config.path, root)}")
    return links.blockers


class _ImportIndex:
    """The other modules of the run, parsed lazily and once: which imports which (by module name)."""

    def __init__(self, paths: list[Path], read: Callable[[Path], bytes], code: Callable[[Path, bytes], str]):
        self.paths = paths
        self.read = read
        self.code = code
        self._trees: dict[Path, ast.Module] = {}
        self._stems: dict[Path, set[str]] = {}

    def tree(self, path: Path) -> ast.Module:
        if path not in self._trees:
            try:
                self._trees[path] = ast.parse(self.code(path, self.read(path)))
            except (OSError, SyntaxError, ValueError, RecursionError):
                self._trees[path] = ast.Module(body=[], type_ignores=[])
        return self._trees[path]

    def stems(self, path: Path) -> set[str]:
        if path not in self._stems:
            found = set()
            for node in ast.walk(self.tree(path)):
                if isinstance(node, ast.Import):
                    found.update(a.name.rsplit(".", 1)[-1] for a in node.names)
                elif isinstance(node, ast.ImportFrom):
                    if node.module:
                        found.add(node.module.rsplit(".", 1)[-1])
                    found.update(a.name for a in node.names)
            self._stems[path] = found
        return self._stems[path]

    def imports(self, importer: Path, imported: Path) -> bool:
        return imported.suffix == ".py" and _stem(imported) in self.stems(importer)

    def linked(self, a: Path, b: Path) -> bool:
        """One imports the other, or a third module of the run imports both (a shared entry point)."""
        if self.imports(a, b) or self.imports(b, a):
            return True
        if a.suffix != ".py" or b.suffix != ".py":
            return False
        wanted = (_stem(a).encode(), _stem(b).encode())
        for other in self.paths:
            if other in (a, b):
                continue
            try:
                data = self.read(other)
            except OSError:
                continue
            if all(w in data for w in wanted) and self.imports(other, a) and self.imports(other, b):
                return True
        return False


def _stem(path: Path) -> str:
    return path.parent.name if path.stem == "__init__" else path.stem


def _rel(path: Path, root: Path) -> str:
    try:
        return os.path.relpath(path, root)
    except ValueError:
        return str(path)


def _imported_names(tree: ast.Module, stem: str, names: set[str]) -> list[tuple[str, int]]:
    """(name, line) for each shared name this module takes from a module called `stem`."""
    found = []
    module_aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            last = (node.module or "").rsplit(".", 1)[-1]
            for alias in node.names:
                if last == stem and (alias.name in names or alias.name == "*"):
                    found.append((alias.name if alias.name != "*" else sorted(names)[0], node.lineno))
                elif alias.name == stem:
                    module_aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.rsplit(".", 1)[-1] == stem:
                    module_aliases.add(alias.asname or alias.name)
    if module_aliases:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in names:
                if dotted(node.value) in module_aliases:
                    found.append((node.attr, node.lineno))
    return found
