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
import dataclasses
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
    node: cst.CSTNode | None = None  # function: its FunctionDef; assign: the statement
    top: int = -1  # index of the module-level statement it is in (source order)
    nested: bool = True  # False when that statement is itself the binding one (not inside if/for/def)


@dataclass(eq=False)
class Scope:
    kind: str  # module | class | function | comprehension
    parent: "Scope | None"
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)
    attributes: dict[str, list[Binding]] = field(default_factory=dict)  # class scopes: body + self.X
    returns: list[cst.BaseExpression | None] = field(default_factory=list)  # function scopes: `return` values

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
    names: list[tuple[cst.Name, Scope]] = field(default_factory=list)  # every Name read or written
    self_attributes: list[tuple[cst.Attribute, Scope]] = field(default_factory=list)  # `x.attr` on a plain name
    attributes: list[tuple[cst.Attribute, Scope]] = field(default_factory=list)  # every attribute access
    tries: list[tuple[cst.Try, Scope]] = field(default_factory=list)
    scopes: list[Scope] = field(default_factory=list)  # every scope, the module's first
    statements: dict[int, cst.CSTNode] = field(default_factory=dict)  # id(call) -> innermost statement
    tops: dict[int, int] = field(default_factory=dict)  # id(Name) -> index of its module-level statement
    targets: set[int] = field(default_factory=set)  # id(Name) of every plain assignment target

    def imported_modules(self) -> set[str]:
        """Qualified names bound by imports anywhere in the module."""
        return {
            b.qualname
            for scope in self.scopes
            for bindings in scope.bindings.values()
            for b in bindings
            if b.kind == "import" and b.qualname
        }

    def imports_any(self, packages: tuple[str, ...] | list[str]) -> bool:
        return any(name == pkg or name.startswith(pkg + ".") for name in self.imported_modules() for pkg in packages)

    # ------------------------------------------------------------------ resolution

    def origin(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> tuple[cst.Call, Scope] | None:
        """The call that created this value, through names, `self.` attributes and local factories."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, cst.Call):
            factory = self._local_function(expr.func, scope)
            if factory is not None:
                returns = [r for r in factory.returns if r is not None]
                if len(returns) == 1 and len(factory.returns) == 1:
                    return self.origin(returns[0], factory, depth + 1)
                return None
            return expr, scope
        binding = self._single_binding(expr, scope)
        if binding is not None and binding.kind == "assign" and binding.value is not None and binding.scope is not None:
            return self.origin(binding.value, binding.scope, depth + 1)
        return None

    def _local_function(self, func: cst.BaseExpression, scope: Scope) -> Scope | None:
        if isinstance(func, cst.Name):
            found = self.lookup(func.value, scope)
            if found and len(found[0]) == 1 and found[0][0].kind == "function":
                return found[0][0].scope
        return None

    def _single_binding(self, expr: cst.BaseExpression, scope: Scope) -> Binding | None:
        """The one binding a name or `self.attr` refers to, or None when there is not exactly one."""
        if isinstance(expr, cst.Name):
            found = self.lookup(expr.value, scope)
            bindings = self.reaching(expr, scope, found[0], found[1]) if found else []
            return bindings[0] if len(bindings) == 1 else None
        if isinstance(expr, cst.Attribute):
            base = self.resolve(expr.value, scope)
            if isinstance(base, _SelfRef):
                bindings = base.class_scope.attributes.get(expr.attr.value)
                return bindings[0] if bindings and len(bindings) == 1 else None
        return None

    def binding_of(self, expr: cst.BaseExpression, scope: Scope) -> Binding | None:
        return self._single_binding(expr, scope)

    def references(self, binding: Binding) -> list[cst.CSTNode]:
        """Every Name or `self.attr` node that refers to this binding (its own target included)."""
        found: list[cst.CSTNode] = []
        for name, scope in self.names:
            hit = self.lookup(name.value, scope)
            if hit and any(b is binding for b in self.reaching(name, scope, hit[0], hit[1])):
                found.append(name)
        for attribute, scope in self.self_attributes:
            if self._single_binding(attribute, scope) is binding:
                found.append(attribute)
        return found

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

    def reaching(self, name: cst.Name, scope: Scope, bindings: list[Binding], found_in: Scope) -> list[Binding]:
        """Straight-line module code (a notebook's cells): a name read at module level refers to the
        latest module-level assignment above it. Anything less plain keeps every binding."""
        if len(bindings) < 2 or scope is not self.module_scope or found_in is not self.module_scope:
            return bindings
        top = self.tops.get(id(name))
        if top is None or any(b.kind != "assign" or b.nested for b in bindings):
            return bindings
        same = [b for b in bindings if b.top == top]
        if same:  # the assignment's own target is that binding; a read in the same statement stays ambiguous
            return same if id(name) in self.targets and len(same) == 1 else bindings
        before = [b for b in bindings if b.top < top]
        return [max(before, key=lambda b: b.top)] if before else bindings

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


def dotted_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted_name(node.value)}.{node.attr.value}"
    return ""


URL_HINT = "/models/"


_SKIPPED_FIELDS = ("whitespace", "lpar", "rpar", "comma", "semicolon", "leading_lines", "lines_after_decorators",
                   "header", "footer", "operator", "colon", "equal", "dot", "star_tok", "arrow", "asynchronous")  # fmt: skip
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(node_type: type) -> tuple[str, ...]:
    """The fields of a node type that can hold code (whitespace and punctuation never bind or call)."""
    fields = _CHILD_FIELDS.get(node_type)
    if fields is None:
        fields = tuple(
            f.name for f in dataclasses.fields(node_type) if not any(skip in f.name for skip in _SKIPPED_FIELDS)
        )
        _CHILD_FIELDS[node_type] = fields
    return fields


@dataclass(frozen=True)
class _Frame:
    scope: Scope
    method: tuple[Scope, str] | None = None  # inside a method: (its class scope, the name of `self`)
    statement: cst.CSTNode | None = None  # the innermost statement being walked
    top: int = -1  # index of the module-level statement being walked
    nested: bool = False  # inside a compound statement (or a def) at module level


_STATEMENTS = frozenset({
    cst.SimpleStatementLine, cst.If, cst.For, cst.While, cst.Try, cst.TryStar, cst.With,
    cst.FunctionDef, cst.ClassDef, cst.Match,
})  # fmt: skip


class _Collector:
    """Records bindings per scope, calls with their scope, and URL-like strings, in one pass.

    A hand-written iterative walk rather than a CSTVisitor: LibCST's generic visit machinery also
    walks every whitespace and punctuation node, which made this pass cost as much as the parse.
    """

    def __init__(self) -> None:
        self.module_scope = Scope("module", None)
        self.calls: list[tuple[cst.Call, Scope]] = []
        self.strings: list[cst.SimpleString | cst.FormattedStringText] = []
        self.star_imports: list[str] = []
        self._docstrings: set[int] = set()
        self._handlers = {
            cst.ClassDef: self._class, cst.FunctionDef: self._function, cst.Lambda: self._lambda,
            cst.ListComp: self._comprehension, cst.SetComp: self._comprehension, cst.DictComp: self._comprehension,
            cst.GeneratorExp: self._comprehension, cst.Import: self._import, cst.ImportFrom: self._import_from,
            cst.Assign: self._assign_statement, cst.AnnAssign: self._ann_assign, cst.AugAssign: self._aug_assign,
            cst.NamedExpr: self._named_expr, cst.For: self._for, cst.WithItem: self._with_item,
            cst.ExceptHandler: self._except, cst.ExceptStarHandler: self._except, cst.Global: self._global,
            cst.Nonlocal: self._nonlocal, cst.Del: self._del, cst.MatchAs: self._match_name,
            cst.MatchStar: self._match_name, cst.Call: self._call, cst.Expr: self._expr,
            cst.SimpleString: self._simple_string, cst.FormattedStringText: self._fstring_text,
            cst.Return: self._return, cst.Name: self._name, cst.Attribute: self._attribute, cst.Arg: self._arg,
            cst.Param: self._param, cst.Try: self._try,
        }  # fmt: skip
        self.tries: list[tuple[cst.Try, Scope]] = []
        self.scopes: list[Scope] = [self.module_scope]
        self.names: list[tuple[cst.Name, Scope]] = []
        self.self_attributes: list[tuple[cst.Attribute, Scope]] = []
        self.attributes: list[tuple[cst.Attribute, Scope]] = []
        self.statements: dict[int, cst.CSTNode] = {}
        self.tops: dict[int, int] = {}
        self.targets: set[int] = set()
        self._top = -1

    def walk(self, module: cst.Module) -> None:
        stack: list[tuple[cst.CSTNode, _Frame]] = [(module, _Frame(self.module_scope))]
        handlers = self._handlers
        while stack:
            node, frame = stack.pop()
            if type(node) in _STATEMENTS:
                if frame.statement is None and frame.scope is self.module_scope:
                    self._top += 1
                    frame = _Frame(frame.scope, frame.method, node, self._top, False)
                else:
                    frame = _Frame(frame.scope, frame.method, node, frame.top, True)
            handler = handlers.get(type(node))
            if handler is not None:
                pushed = handler(node, frame, stack)
                if pushed:
                    continue  # the handler pushed the children itself, with their own frames
            _push_children(node, frame, stack)

    # -- scopes: push children with the frame they are evaluated in; True = children handled
    def _class(self, node: cst.ClassDef, frame: _Frame, stack: list) -> bool:
        class_scope = self._new_scope("class", frame.scope)
        frame.scope.bind(node.name.value, Binding("class", scope=class_scope))
        _push_all([*node.decorators, *node.bases, *node.keywords], frame, stack)
        stack.append((node.body, _Frame(class_scope, None, node)))
        return True

    def _function(self, node: cst.FunctionDef, frame: _Frame, stack: list) -> bool:
        enclosing = frame.scope
        scope = self._new_scope("function", enclosing)
        enclosing.bind(node.name.value, Binding("function", scope=scope, node=node))
        params = [*node.params.posonly_params, *node.params.params]
        is_static = any(dotted_name(d.decorator) == "staticmethod" for d in node.decorators)
        self_name = params[0].name.value if enclosing.kind == "class" and params and not is_static else None
        for param in _all_params(node.params):
            self_of = enclosing if param.name.value == self_name else None
            scope.bind(param.name.value, Binding("param", self_of=self_of))
        _push_all([*node.decorators, node.params], frame, stack)
        if node.returns is not None:
            stack.append((node.returns, frame))
        stack.append((node.body, _Frame(scope, (enclosing, self_name) if self_name else None, node)))
        return True

    def _new_scope(self, kind: str, parent: Scope) -> Scope:
        scope = Scope(kind, parent)
        self.scopes.append(scope)
        return scope

    def _lambda(self, node: cst.Lambda, frame: _Frame, stack: list) -> bool:
        scope = self._new_scope("function", frame.scope)
        for param in _all_params(node.params):
            scope.bind(param.name.value, Binding("param"))
        stack.append((node.body, _Frame(scope)))
        return True

    def _comprehension(self, node: cst.CSTNode, frame: _Frame, stack: list) -> bool:
        scope = self._new_scope("comprehension", frame.scope)
        for_in = node.for_in  # type: ignore[attr-defined]
        while for_in is not None:
            self._bind_target(for_in.target, Binding("other"), scope)
            for_in = for_in.inner_for_in
        _push_children(node, _Frame(scope, frame.method), stack)
        return True

    # -- bindings (children are walked as usual)
    def _import(self, node: cst.Import, frame: _Frame, stack: list) -> bool:
        for alias in node.names:
            full = dotted_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                frame.scope.bind(alias.asname.name.value, Binding("import", qualname=full, node=frame.statement))
            else:
                top = full.split(".")[0]
                frame.scope.bind(top, Binding("import", qualname=top, node=frame.statement))
        return True

    def _import_from(self, node: cst.ImportFrom, frame: _Frame, stack: list) -> bool:
        module = "." * len(node.relative) + (dotted_name(node.module) if node.module is not None else "")
        if isinstance(node.names, cst.ImportStar):
            self.star_imports.append(module)
            return True
        for alias in node.names:
            name = dotted_name(alias.name)
            asname = alias.asname
            bound = asname.name.value if asname is not None and isinstance(asname.name, cst.Name) else name
            frame.scope.bind(bound, Binding("import", qualname=f"{module}.{name}" if module else name, node=frame.statement))
        return True

    def _assign_statement(self, node: cst.Assign, frame: _Frame, stack: list) -> bool:
        single = len(node.targets) == 1
        for target in node.targets:
            self._assign(target.target, node.value if single else None, frame)
        return False

    def _ann_assign(self, node: cst.AnnAssign, frame: _Frame, stack: list) -> bool:
        if node.value is not None:
            self._assign(node.target, node.value, frame)
        return False

    def _aug_assign(self, node: cst.AugAssign, frame: _Frame, stack: list) -> bool:
        self._assign(node.target, None, frame)
        return False

    def _named_expr(self, node: cst.NamedExpr, frame: _Frame, stack: list) -> bool:
        scope = frame.scope
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent
        if isinstance(node.target, cst.Name):
            scope.bind(node.target.value, Binding("other"))
        return False

    def _for(self, node: cst.For, frame: _Frame, stack: list) -> bool:
        self._bind_target(node.target, Binding("other"), frame.scope)
        return False

    def _with_item(self, node: cst.WithItem, frame: _Frame, stack: list) -> bool:
        if node.asname is not None:
            self._bind_target(node.asname.name, Binding("other"), frame.scope)
        return False

    def _except(self, node: cst.ExceptHandler, frame: _Frame, stack: list) -> bool:
        if node.name is not None:
            self._bind_target(node.name.name, Binding("other"), frame.scope)
        return False

    def _global(self, node: cst.Global, frame: _Frame, stack: list) -> bool:
        frame.scope.declared_global.update(n.name.value for n in node.names)
        return True

    def _nonlocal(self, node: cst.Nonlocal, frame: _Frame, stack: list) -> bool:
        for n in node.names:  # approximation: a nonlocal name is unknown in this scope
            frame.scope.bind(n.name.value, Binding("other"))
        return True

    def _del(self, node: cst.Del, frame: _Frame, stack: list) -> bool:
        self._bind_target(node.target, Binding("other"), frame.scope)
        return False

    def _match_name(self, node: cst.MatchAs | cst.MatchStar, frame: _Frame, stack: list) -> bool:
        if node.name is not None:
            frame.scope.bind(node.name.value, Binding("other"))
        return False

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression | None, frame: _Frame) -> None:
        scope = frame.scope
        if isinstance(target, cst.Name):
            binding = (
                Binding("assign", value=value, scope=scope, node=frame.statement, top=frame.top, nested=frame.nested or scope is not self.module_scope)
                if value is not None else Binding("other")
            )  # fmt: skip
            self.targets.add(id(target))
            bound_in = scope.module() if target.value in scope.declared_global else scope
            bound_in.bind(target.value, binding)
            if bound_in.kind == "class":
                bound_in.attributes.setdefault(target.value, []).append(binding)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            if frame.method is not None and target.value.value == frame.method[1]:
                binding = Binding("assign", value=value, scope=scope, node=frame.statement) if value is not None else Binding("other")
                frame.method[0].attributes.setdefault(target.attr.value, []).append(binding)
        elif isinstance(target, (cst.Tuple, cst.List, cst.StarredElement)):
            for element in target.elements if not isinstance(target, cst.StarredElement) else [target]:
                self._assign(element.value, None, frame)

    def _bind_target(self, target: cst.BaseExpression, binding: Binding, scope: Scope) -> None:
        if isinstance(target, cst.Name):
            scope.bind(target.value, binding)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value, binding, scope)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, binding, scope)

    # -- what transforms look at
    def _call(self, node: cst.Call, frame: _Frame, stack: list) -> bool:
        self.calls.append((node, frame.scope))
        if frame.statement is not None:
            self.statements[id(node)] = frame.statement
        return False

    def _try(self, node: cst.Try, frame: _Frame, stack: list) -> bool:
        self.tries.append((node, frame.scope))
        return False

    def _return(self, node: cst.Return, frame: _Frame, stack: list) -> bool:
        scope = frame.scope
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent
        if scope.kind == "function":
            scope.returns.append(node.value)
        return False

    def _name(self, node: cst.Name, frame: _Frame, stack: list) -> bool:
        self.names.append((node, frame.scope))
        self.tops[id(node)] = frame.top
        return True

    def _attribute(self, node: cst.Attribute, frame: _Frame, stack: list) -> bool:
        self.attributes.append((node, frame.scope))
        if isinstance(node.value, cst.Name):
            self.self_attributes.append((node, frame.scope))
        stack.append((node.value, frame))  # `.attr` is not a reference to a name
        return True

    def _arg(self, node: cst.Arg, frame: _Frame, stack: list) -> bool:
        stack.append((node.value, frame))  # the keyword is not a reference
        return True

    def _param(self, node: cst.Param, frame: _Frame, stack: list) -> bool:
        for part in (node.default, node.annotation):
            if part is not None:
                stack.append((part, frame))
        return True

    def _expr(self, node: cst.Expr, frame: _Frame, stack: list) -> bool:
        if isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString)):
            return True  # a bare string statement is a docstring or a comment: never code
        return False

    def _simple_string(self, node: cst.SimpleString, frame: _Frame, stack: list) -> bool:
        if URL_HINT in node.value:
            self.strings.append(node)
        return True

    def _fstring_text(self, node: cst.FormattedStringText, frame: _Frame, stack: list) -> bool:
        if URL_HINT in node.value:
            self.strings.append(node)
        return True


def _push_children(node: cst.CSTNode, frame: _Frame, stack: list) -> None:
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            stack.append((value, frame))
        elif isinstance(value, (list, tuple)):
            for item in reversed(value):
                if isinstance(item, cst.CSTNode):
                    stack.append((item, frame))


def _push_all(nodes: list, frame: _Frame, stack: list) -> None:
    for node in reversed(nodes):
        stack.append((node, frame))


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
    collector.walk(module)
    return ModuleFacts(
        module_scope=collector.module_scope,
        calls=collector.calls,
        strings=collector.strings,
        star_imports=collector.star_imports,
        aliases=dict(aliases or {}),
        names=collector.names,
        self_attributes=collector.self_attributes,
        attributes=collector.attributes,
        tries=collector.tries,
        scopes=collector.scopes,
        statements=collector.statements,
        tops=collector.tops,
        targets=collector.targets,
    )
