"""Per-module facts: which names are bound where, and what an expression refers to.

One cheap traversal records every binding (imports, assignments, parameters, ...) in its scope and
every call with the scope it sits in; resolution happens afterwards, when all bindings are known,
so a name bound later in a function still shadows an import. This is a deliberately small subset
of LibCST's ScopeProvider + QualifiedNameProvider at a fraction of their cost.

``resolve`` turns an expression into one of:
- ``Path("google.genai.Client().models.generate_content")``: a qualified name, ``()`` marking an
  instance (the value of a call);
- ``Literal(node)``: a plain string literal, possibly reached through constants and attributes;
- ``Dynamic(how, env, default)``: a value only known at run time (parameter, environment, f-string).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Mapping, Union

import libcst as cst

_BUILTINS = frozenset(dir(builtins))
MAX_DEPTH = 12  # resolution hops before giving up (guards against cycles like a = b; b = a)


@dataclass(frozen=True)
class Path:
    name: str


@dataclass(frozen=True)
class Literal:
    node: cst.SimpleString


@dataclass(frozen=True)
class Dynamic:
    how: str
    env: str | None = None
    default: Literal | None = None


Value = Union[Path, Literal, Dynamic, None]


@dataclass(eq=False)
class Binding:
    kind: str  # import | assign | param | class | other
    qualname: str | None = None  # import
    value: cst.BaseExpression | None = None  # assign
    scope: "Scope | None" = None  # where `value` is evaluated; for class: the class body scope
    self_of: "Scope | None" = None  # param: the first parameter of a method -> its class scope


@dataclass(eq=False)
class Scope:
    kind: str  # module | class | function | comprehension
    parent: "Scope | None"
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)
    attributes: dict[str, list[Binding]] = field(default_factory=dict)  # class scopes: body + self.X

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    def module(self) -> "Scope":
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope


@dataclass
class ModuleFacts:
    module_scope: Scope
    calls: list[tuple[cst.Call, Scope]]
    strings: list[cst.SimpleString | cst.FormattedStringText]  # non-docstring strings that look like URLs
    star_imports: list[str]
    aliases: Mapping[str, str] = field(default_factory=dict)

    def imported_modules(self) -> set[str]:
        """Qualified names bound by imports anywhere in the module."""
        names: set[str] = set()
        stack = [self.module_scope]
        seen: set[int] = set()
        for _, scope in self.calls:
            stack.append(scope)
        while stack:
            scope = stack.pop()
            if id(scope) in seen:
                continue
            seen.add(id(scope))
            for bindings in scope.bindings.values():
                names.update(b.qualname for b in bindings if b.kind == "import" and b.qualname)
            if scope.parent is not None:
                stack.append(scope.parent)
        return names

    def imports_any(self, packages: tuple[str, ...] | list[str]) -> bool:
        return any(name == pkg or name.startswith(pkg + ".") for name in self.imported_modules() for pkg in packages)

    # ------------------------------------------------------------------ resolution

    def definition(self, expr: cst.BaseExpression, scope: Scope) -> tuple[cst.BaseExpression, Scope]:
        """Follow a name bound by exactly one assignment to the assigned expression."""
        for _ in range(MAX_DEPTH):
            if not isinstance(expr, cst.Name):
                break
            found = self.lookup(expr.value, scope)
            if found is None or len(found[0]) != 1:
                break
            binding = found[0][0]
            if binding.kind != "assign" or binding.value is None or binding.scope is None:
                break
            expr, scope = binding.value, binding.scope
        return expr, scope

    def lookup(self, name: str, scope: Scope) -> tuple[list[Binding], Scope] | None:
        """Python's LEGB rule over our scopes: class bodies are invisible to nested functions."""
        current: Scope | None = scope
        if name in scope.declared_global:
            current = scope.module()
        first = True
        while current is not None:
            if (first or current.kind != "class") and name in current.bindings:
                return current.bindings[name], current
            first = False
            current = current.parent
        return None

    def resolve(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> Value:
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, cst.SimpleString):
            return Literal(expr) if _plain_text(expr) is not None else Dynamic("an escaped string")
        if isinstance(expr, (cst.FormattedString, cst.ConcatenatedString)):
            return Dynamic("an f-string or concatenation")
        if isinstance(expr, cst.Name):
            return self._resolve_name(expr.value, scope, depth)
        if isinstance(expr, cst.Attribute):
            return self._resolve_attribute(expr, scope, depth)
        if isinstance(expr, cst.Call):
            return self._resolve_call(expr, scope, depth)
        if isinstance(expr, cst.Subscript):
            base = self.resolve(expr.value, scope, depth + 1)
            if isinstance(base, Path) and base.name == "os.environ":
                env = _subscript_key(expr)
                return Dynamic(f"environment variable {env}" if env else "the environment", env)
            return Dynamic("a subscript")
        return Dynamic("an expression")

    def _resolve_name(self, name: str, scope: Scope, depth: int) -> Value:
        found = self.lookup(name, scope)
        if found is None:
            if name in _BUILTINS:
                return Path(f"builtins.{name}")
            return Dynamic(f"the undefined name {name}")
        bindings, _ = found
        if all(b.kind == "import" for b in bindings) and len({b.qualname for b in bindings}) == 1:
            return Path(self._canonical(bindings[0].qualname or name))
        if len(bindings) != 1:
            return Dynamic(f"{name}, which is bound more than once")
        binding = bindings[0]
        if binding.kind == "assign" and binding.value is not None and binding.scope is not None:
            return self.resolve(binding.value, binding.scope, depth + 1)
        if binding.kind == "param":
            if binding.self_of is not None:
                return _SelfRef(binding.self_of)  # type: ignore[return-value]
            return Dynamic(f"the parameter {name}")
        if binding.kind == "class" and binding.scope is not None:
            return _SelfRef(binding.scope)  # type: ignore[return-value]
        return Dynamic(f"the variable {name}")

    def _resolve_attribute(self, expr: cst.Attribute, scope: Scope, depth: int) -> Value:
        base = self.resolve(expr.value, scope, depth + 1)
        attr = expr.attr.value
        if isinstance(base, Path):
            return Path(self._canonical(f"{base.name}.{attr}"))
        if isinstance(base, _SelfRef):
            bindings = base.class_scope.attributes.get(attr)
            if bindings and len(bindings) == 1 and bindings[0].value is not None and bindings[0].scope is not None:
                return self.resolve(bindings[0].value, bindings[0].scope, depth + 1)
            return Dynamic(f"the attribute {attr}")
        if isinstance(base, Dynamic) and base.how.startswith("the parameter "):
            return Dynamic(f"{base.how} (.{attr})")
        return Dynamic(f"the attribute {attr}")

    def _resolve_call(self, expr: cst.Call, scope: Scope, depth: int) -> Value:
        func = self.resolve(expr.func, scope, depth + 1)
        if not isinstance(func, Path):
            return Dynamic("a function call")
        if func.name in ("os.getenv", "os.environ.get"):
            env = _string_arg(expr, 0)
            default = None
            if len(expr.args) > 1:
                default_value = self.resolve(expr.args[1].value, scope, depth + 1)
                default = default_value if isinstance(default_value, Literal) else None
            return Dynamic(f"environment variable {env}" if env else "the environment", env, default)
        return Path(f"{func.name}()")

    def _canonical(self, name: str) -> str:
        for old, new in self.aliases.items():
            if name == old or name.startswith(old + ".") or name.startswith(old + "()"):
                return new + name[len(old) :]
        return name


@dataclass(frozen=True, eq=False)
class _SelfRef:
    """`self`/`cls`/a class name: attributes are looked up on the class."""

    class_scope: Scope


def _plain_text(node: cst.SimpleString) -> str | None:
    """The literal's text when it has no escapes (so the raw source and the value agree)."""
    prefix = node.prefix.lower()
    if "b" in prefix:
        return None
    inner = node.raw_value
    if "\\" in inner and "r" not in prefix:
        return None
    return inner


def _string_arg(call: cst.Call, index: int) -> str | None:
    if len(call.args) > index and isinstance(call.args[index].value, cst.SimpleString):
        return _plain_text(call.args[index].value)
    return None


def _subscript_key(expr: cst.Subscript) -> str | None:
    if len(expr.slice) == 1:
        element = expr.slice[0].slice
        if isinstance(element, cst.Index) and isinstance(element.value, cst.SimpleString):
            return _plain_text(element.value)
    return None


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


URL_HINT = "/models/"


class _Collector(cst.CSTVisitor):
    """Records bindings per scope, calls with their scope, and URL-like strings, in one pass."""

    def __init__(self) -> None:
        self.module_scope = Scope("module", None)
        self.scope = self.module_scope
        self.calls: list[tuple[cst.Call, Scope]] = []
        self.strings: list[cst.SimpleString | cst.FormattedStringText] = []
        self.star_imports: list[str] = []
        self._docstrings: set[int] = set()
        self._methods: list[tuple[Scope | None, str | None]] = []  # (class scope, self name) per function

    # -- scopes
    def _push(self, kind: str) -> None:
        self.scope = Scope(kind, self.scope)

    def _pop(self) -> None:
        assert self.scope.parent is not None
        self.scope = self.scope.parent

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        class_scope = Scope("class", self.scope)
        self.scope.bind(node.name.value, Binding("class", scope=class_scope))
        self.scope = class_scope
        self._methods.append((None, None))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._methods.pop()
        self._pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scope.bind(node.name.value, Binding("other"))
        enclosing = self.scope
        self._push("function")
        params = [*node.params.posonly_params, *node.params.params]
        is_static = any(_dotted(d.decorator) == "staticmethod" for d in node.decorators)
        self_name = None
        if enclosing.kind == "class" and params and not is_static:
            self_name = params[0].name.value
        for param in _all_params(node.params):
            self_of = enclosing if param.name.value == self_name else None
            self.scope.bind(param.name.value, Binding("param", self_of=self_of))
        self._methods.append((enclosing if self_name else None, self_name))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._methods.pop()
        self._pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._push("function")
        for param in _all_params(node.params):
            self.scope.bind(param.name.value, Binding("param"))
        self._methods.append((None, None))

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._methods.pop()
        self._pop()

    def _visit_comp(self, node: cst.CSTNode) -> None:
        self._push("comprehension")

    def _leave_comp(self, original_node: cst.CSTNode) -> None:
        self._pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comp
    leave_ListComp = leave_SetComp = leave_DictComp = leave_GeneratorExp = _leave_comp

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind_target(node.target, Binding("other"))

    # -- bindings
    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = _dotted(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.scope.bind(alias.asname.name.value, Binding("import", qualname=full))
            else:
                top = full.split(".")[0]
                self.scope.bind(top, Binding("import", qualname=top))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = "." * len(node.relative) + (_dotted(node.module) if node.module is not None else "")
        if isinstance(node.names, cst.ImportStar):
            self.star_imports.append(module)
            return
        for alias in node.names:
            name = _dotted(alias.name)
            bound = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
            self.scope.bind(bound, Binding("import", qualname=f"{module}.{name}" if module else name))

    def visit_Assign(self, node: cst.Assign) -> None:
        single = len(node.targets) == 1
        for target in node.targets:
            self._assign(target.target, node.value if single else None)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assign(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._assign(node.target, None)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        target_scope = self.scope
        while target_scope.kind == "comprehension" and target_scope.parent is not None:
            target_scope = target_scope.parent
        if isinstance(node.target, cst.Name):
            target_scope.bind(node.target.value, Binding("other"))

    def visit_For(self, node: cst.For) -> None:
        self._bind_target(node.target, Binding("other"))

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_target(node.asname.name, Binding("other"))

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind_target(node.name.name, Binding("other"))

    def visit_Global(self, node: cst.Global) -> None:
        self.scope.declared_global.update(n.name.value for n in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        # Approximation: a nonlocal name is treated as unknown in this scope.
        for n in node.names:
            self.scope.bind(n.name.value, Binding("other"))

    def visit_Del(self, node: cst.Del) -> None:
        self._bind_target(node.target, Binding("other"))

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        if node.name is not None:
            self.scope.bind(node.name.value, Binding("other"))

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        if node.name is not None:
            self.scope.bind(node.name.value, Binding("other"))

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            binding = Binding("assign", value=value, scope=self.scope) if value is not None else Binding("other")
            scope = self.scope.module() if target.value in self.scope.declared_global else self.scope
            scope.bind(target.value, binding)
            if scope.kind == "class":
                scope.attributes.setdefault(target.value, []).append(binding)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            class_scope, self_name = self._methods[-1] if self._methods else (None, None)
            if class_scope is not None and target.value.value == self_name:
                binding = Binding("assign", value=value, scope=self.scope) if value is not None else Binding("other")
                class_scope.attributes.setdefault(target.attr.value, []).append(binding)
        else:
            self._bind_target(target, Binding("other"))

    def _bind_target(self, target: cst.BaseExpression, binding: Binding) -> None:
        if isinstance(target, cst.Name):
            self.scope.bind(target.value, binding)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value, binding)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, binding)
        elif isinstance(target, cst.Attribute):
            self._assign(target, None)

    # -- what transforms look at
    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append((node, self.scope))

    def visit_Expr(self, node: cst.Expr) -> None:
        if isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString)):
            self._docstrings.add(id(node.value))

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if URL_HINT in node.value and id(node) not in self._docstrings:
            self.strings.append(node)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> bool:
        return id(node) not in self._docstrings

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        if URL_HINT in node.value:
            self.strings.append(node)


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    if isinstance(params.star_arg, cst.Param):
        found.append(params.star_arg)
    if params.star_kwarg is not None:
        found.append(params.star_kwarg)
    return found


def collect(module: cst.Module, aliases: Mapping[str, str] | None = None) -> ModuleFacts:
    """Walk the module once and return its facts (resolution is lazy, on demand)."""
    collector = _Collector()
    module.visit(collector)
    return ModuleFacts(
        module_scope=collector.module_scope,
        calls=collector.calls,
        strings=collector.strings,
        star_imports=collector.star_imports,
        aliases=dict(aliases or {}),
    )
