"""Legacy module functions (`genai.upload_file(...)`, `genai.list_models()`, ...) -> client methods.

Which function becomes which method, and where each argument goes, is data (rules/port.yaml
`functions`). What the call returns is followed too, because google-genai returns other objects:
a File or Model is only ported when every use of it is one whose value google-genai keeps
(port.yaml `results`): a known attribute (renamed where google-genai renamed it), a comparison of
`state` with an enum member, a place in contents. Anything else (printing it, an attribute the
new object lacks, keeping a listing as a value) is a named blocker at that use, never a guess.
The few facts of one API family that data cannot say live in files_api.py and model_listing.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import libcst as cst

from migrate.catalog import FunctionMapping
from migrate.codemod.context import Context
from migrate.codemod.port import files_api, model_listing
from migrate.codemod.port.build import Unportable, call_like, kw, separated, string
from migrate.codemod.symbols import Path, Scope

CONTENTS_METHODS = {"generate_content", "generate_content_async", "count_tokens", "count_tokens_async", "send_message", "send_message_async"}
Reach = Callable[[Scope], cst.BaseExpression]


@dataclass
class Site:
    """One call of a legacy module function."""

    call: cst.Call
    scope: Scope
    name: str  # qualified, e.g. google.generativeai.upload_file
    mapping: FunctionMapping

    @property
    def short(self) -> str:
        return "genai." + self.name.rsplit(".", 1)[-1]

    @property
    def kind(self) -> str:
        return self.mapping.returns.removeprefix("each ")

    @property
    def each(self) -> bool:
        return self.mapping.returns.startswith("each ")


@dataclass
class PlannedCall:
    """A planned port of one site: the new call's keywords, built on the updated node."""

    site: Site
    args: dict[str, int]  # legacy parameter -> index of its argument
    config_extra: list[tuple[str, Callable[[cst.Call], cst.BaseExpression]]] = field(default_factory=list)
    wrap: dict[str, Callable[[cst.BaseExpression], cst.BaseExpression]] = field(default_factory=dict)

    def name_argument(self, is_result: Callable[[cst.BaseExpression, Scope, str], bool], kind: str) -> tuple[cst.BaseExpression | None, bool]:
        """The `name` argument (None when absent), and whether it holds a returned File/Model (`kind`):
        then the new call gets its `.name`, since google-genai's get/delete take a name only."""
        index = self.args.get("name")
        if index is None:
            return None, False
        value = self.site.call.args[index].value
        if not is_result(value, self.site.scope, kind):
            return value, False
        self.wrap["name"] = lambda node: cst.Attribute(value=node, attr=cst.Name("name"))
        return value, True


def port(ctx: Context, sites: list[Site], reach: Reach) -> None:
    """Plan every site and every use of what it returns; each problem becomes a TODO (FLM224)."""
    if not sites:
        return
    parents = parent_map(ctx.module)
    results = _Results(ctx, sites, parents)
    configured = _last_configure(ctx, parents)
    for site in sites:
        try:
            if configured is not None and _top_index(ctx, parents, site.call) < configured:
                raise Unportable(f"{site.short} is called before genai.configure(...), with the legacy default client: give it a google-genai client by hand")
            planned = _plan(ctx, site, results)
            client = reach(site.scope)
        except Unportable as exc:
            _todo(ctx, parents, site.call, str(exc))
            continue
        _replace(ctx, planned, client)
    results.audit(reach)


def _last_configure(ctx: Context, parents: dict[int, cst.CSTNode]) -> int | None:
    """The module-level statement of the last module-level configure call: where the client is made."""
    found = None
    for call_node, scope in ctx.facts.calls:
        value = ctx.facts.resolve(call_node.func, scope)
        if scope.kind == "module" and isinstance(value, Path) and ctx.catalog.port.configure_calls.get(value.name) == "google-generativeai":
            found = max(found or 0, _top_index(ctx, parents, call_node))
    return found


def _top_index(ctx: Context, parents: dict[int, cst.CSTNode], node: cst.CSTNode) -> int:
    current: cst.CSTNode = node
    while id(current) in parents and parents[id(current)] is not ctx.module:
        current = parents[id(current)]
    body = ctx.module.body
    return next((i for i, statement in enumerate(body) if statement is current), len(body))


def _todo(ctx: Context, parents: dict[int, cst.CSTNode], node: cst.CSTNode, reason: str) -> None:
    statement = ctx.facts.statements.get(id(node)) or _statement_of(parents, node)
    if statement is not None:
        ctx.todo("FLM224", statement, node, reason=reason)


def _statement_of(parents: dict[int, cst.CSTNode], node: cst.CSTNode) -> cst.CSTNode | None:
    current: cst.CSTNode | None = node
    while current is not None and not isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        current = parents.get(id(current))
    return current


def _plan(ctx: Context, site: Site, results: "_Results") -> PlannedCall:
    mapping = site.mapping
    args: dict[str, int] = {}
    for index, arg in enumerate(site.call.args):
        if arg.star:
            raise Unportable(f"{site.short}(*args/**kwargs): the arguments are unknown until run time")
        key = arg.keyword.value if arg.keyword is not None else (mapping.params[index] if index < len(mapping.params) else None)
        if key not in mapping.params:
            raise Unportable(f"{site.short} with an argument the port does not know ({key or 'positional'})")
        args[key] = index  # type: ignore[index]
    for key, index in args.items():
        if key in mapping.to:
            continue
        value = cst.Module([]).code_for_node(site.call.args[index].value)
        if mapping.dropped.get(key) != value:
            raise Unportable(f"{site.short}({key}={value}) has no google-genai counterpart")
    planned = PlannedCall(site, {k: i for k, i in args.items() if k in mapping.to})
    adjust = {"google.generativeai.upload_file": files_api.plan_upload, "google.generativeai.delete_file": files_api.plan_delete,
              "google.generativeai.get_model": model_listing.plan_get}.get(site.name)  # fmt: skip
    if adjust is not None:
        adjust(ctx, planned, results.is_result)
    return planned


def _replace(ctx: Context, planned: PlannedCall, client: cst.BaseExpression) -> None:
    site, mapping = planned.site, planned.site.mapping
    client_code = cst.Module([]).code_for_node(client)

    def build(updated: cst.Call) -> cst.BaseExpression:
        keywords, config = [], []
        for key, index in planned.args.items():
            value = updated.args[index].value
            if key in planned.wrap:
                value = planned.wrap[key](value)
            target = mapping.to[key]
            if target.startswith("config."):
                config.append(cst.DictElement(string(target.removeprefix("config.")), value))
            else:
                keywords.append(kw(target, value))
        config += [cst.DictElement(string(key), make(updated)) for key, make in planned.config_extra]
        if config:
            keywords.append(kw("config", cst.Dict(separated(config))))
        func: cst.BaseExpression = client.deep_clone()
        for part in mapping.new.split("."):
            func = cst.Attribute(value=func, attr=cst.Name(part))
        return call_like(func, keywords, updated)

    new = f"{client_code}.{mapping.new}(...)"
    ctx.replace(mapping.rule, site.call, build, before=f"{site.short}(...)", after=new, old=f"{site.short}(...)", new=new)


# ---------------------------------------------------------------------------- returned objects


def parent_map(module: cst.Module) -> dict[int, cst.CSTNode]:
    """id(node) -> its parent, for every node: where a returned object goes decides what it may become."""
    parents: dict[int, cst.CSTNode] = {}

    class Collect(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            for child in node.children:
                parents[id(child)] = node
            return True

    module.visit(Collect())
    return parents


class _Results:
    """The objects the sites return, the variables that hold them, and every use of both."""

    def __init__(self, ctx: Context, sites: list[Site], parents: dict[int, cst.CSTNode]):
        self.ctx = ctx
        self.parents = parents
        self.spec = ctx.catalog.port.results
        self.direct: list[tuple[cst.BaseExpression, Scope, Site]] = []  # a value of a result kind, and where
        self.assigned: dict[int, str] = {}  # id(Binding) -> kind
        self.loops: dict[tuple[int, str], list[str]] = {}  # (id(scope), variable) -> kinds of the loops binding it
        self.problems: list[tuple[cst.CSTNode, str]] = []
        self.rules = {s.kind: s.mapping.rule for s in sites if s.kind}  # the rule a rename reports
        self.takes_file = {id(s.call) for s in sites if s.name in (files_api.TAKES_FILE, model_listing.TAKES_MODEL)}
        for site in sites:
            if site.mapping.returns:
                self._bind(site)

    def _bind(self, site: Site) -> None:
        parent = self.parents.get(id(site.call))
        if site.each:
            if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is site.call and isinstance(parent.target, cst.Name):
                self.loops.setdefault((id(site.scope), parent.target.value), []).append(site.kind)
            else:
                self.problems.append((site.call, f"the listing from {site.short}() is kept as a value: the port follows it only when iterated directly (for x in ...)"))
            return
        if isinstance(parent, cst.Assign) and parent.value is site.call:
            targets = parent.targets
            if len(targets) == 1 and isinstance(targets[0].target, cst.Name):
                for binding in site.scope.bindings.get(targets[0].target.value, []):
                    if binding.value is site.call:
                        self.assigned[id(binding)] = site.kind
                return
        self.direct.append((site.call, site.scope, site))

    def _kinds(self, name: cst.Name, scope: Scope) -> tuple[set[str], bool]:
        """The result kinds this read may hold, and whether it may also hold anything else."""
        found = self.ctx.facts.lookup(name.value, scope)
        if found is None:
            return set(), True
        bindings, where = found
        reaching = self.ctx.facts.reaching(name, scope, bindings, where)
        loops = self.loops.get((id(where), name.value), [])
        others = [b for b in bindings if b.kind == "other"]
        kinds, foreign = set(), False
        for binding in reaching:
            if id(binding) in self.assigned:
                kinds.add(self.assigned[id(binding)])
            elif binding.kind == "other" and loops and len(others) == len(loops):
                kinds.update(loops)
            else:
                foreign = True
        return kinds, foreign

    def is_result(self, node: cst.BaseExpression, scope: Scope, kind: str) -> bool:
        """Whether this expression is certainly a `kind` object from a site (a call or a clean variable)."""
        if isinstance(node, cst.Name):
            kinds, foreign = self._kinds(node, scope)
            return kinds == {kind} and not foreign
        return any(node is value and site.kind == kind for value, _, site in self.direct)

    def audit(self, reach: Reach) -> None:
        names = {name for _, name in self.loops}
        names |= {n for s in self.ctx.facts.scopes for n, bs in s.bindings.items() if any(id(b) in self.assigned for b in bs)}
        for name, scope in self.ctx.facts.names:
            if name.value not in names or self._is_target(name):
                continue
            kinds, foreign = self._kinds(name, scope)
            if len(kinds) > 1:
                self.problems.append((name, f"{name.value} holds objects of different kinds here"))
            elif kinds:
                self._use(name, scope, kinds.pop(), foreign, reach)
        for value, scope, site in self.direct:
            self._use(value, scope, site.kind, False, reach)
        for node, reason in self.problems:
            _todo(self.ctx, self.parents, node, reason)

    def _is_target(self, name: cst.Name) -> bool:
        parent = self.parents.get(id(name))
        if isinstance(parent, (cst.AssignTarget, cst.For, cst.CompFor, cst.AugAssign, cst.AnnAssign, cst.Del)):
            return getattr(parent, "target", None) is name
        return id(name) in self.ctx.facts.targets

    def _use(self, value: cst.BaseExpression, scope: Scope, kind: str, foreign: bool, reach: Reach) -> None:
        """One use of a result value: fine, renamed, or a problem."""
        parent = self.parents.get(id(value))
        if isinstance(parent, cst.Attribute) and parent.value is value:
            self._attribute(parent, scope, kind, foreign, reach)
            return
        if isinstance(parent, cst.Expr):
            return
        if kind == "file" and self._in_contents(value):
            return
        if isinstance(parent, cst.Arg) and id(self.parents.get(id(parent))) in self.takes_file:
            return  # delete_file(f) / get_model(m): the port passes its `.name`
        self.problems.append((value, self._unfollowed(value, kind, foreign, _context(self.parents, value))))

    def _unfollowed(self, value: cst.CSTNode, kind: str, foreign: bool, how: str) -> str:
        title = kind.capitalize()
        if foreign and isinstance(value, (cst.Name, cst.Attribute)):
            name = value.value if isinstance(value, cst.Name) else "this value"
            return f"{name} holds a {title} from the legacy SDK here, or another object: the port cannot tell which ({how})"
        return f"a {title} from the legacy SDK is used here in a way the port does not follow ({how}); google-genai's {title} differs"

    def _attribute(self, node: cst.Attribute, scope: Scope, kind: str, foreign: bool, reach: Reach) -> None:
        spec = self.spec[kind]
        attr = node.attr.value
        title = kind.capitalize()
        parent = self.parents.get(id(node))
        if attr in spec.attributes:
            new = spec.attributes[attr]
            if new != attr:
                if foreign:
                    self.problems.append((node, f"{node.value.value if isinstance(node.value, cst.Name) else 'this value'} may hold another object here: .{attr} cannot be renamed to .{new}"))  # type: ignore[attr-defined]
                    return
                self.ctx.replace(self.rules[kind], node, lambda n, new=new: n.with_changes(attr=cst.Name(new)),
                                 before=f"{title}.{attr}", after=f"{title}.{new}", old=f"{title}.{attr}", new=f"{title}.{new}")  # fmt: skip
            return
        for path in spec.attributes:
            head, _, tail = path.partition(".")
            if tail and head == attr and isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value == tail:
                return
        if attr in spec.compared and self._compared_with_enum(node, scope):
            return
        if kind == "file" and attr == "delete" and not foreign:
            try:
                files_api.plan_file_delete(self.ctx, node, self.parents, reach(scope))
            except Unportable as exc:
                self.problems.append((node, str(exc)))
            return
        if foreign:
            self.problems.append((node, self._unfollowed(node.value, kind, True, f".{attr}")))
        else:
            self.problems.append((node, f"{title}.{attr} has no google-genai counterpart with the same value"))

    def _compared_with_enum(self, node: cst.Attribute, scope: Scope) -> bool:
        parent = self.parents.get(id(node))
        comparison = self.parents.get(id(parent)) if isinstance(parent, cst.ComparisonTarget) else parent
        if not isinstance(comparison, cst.Comparison):
            return False
        operands = [comparison.left, *(t.comparator for t in comparison.comparisons)]
        others = [o for o in operands if o is not node]
        port = self.ctx.catalog.port
        for other in others:
            value = self.ctx.facts.resolve(other, scope)
            if not (isinstance(value, Path) and port.sdk_of(value.name) and port.legacy_type(value.name.rsplit(".", 1)[0])):
                return False
        return True

    def _in_contents(self, value: cst.BaseExpression) -> bool:
        """Directly in the contents of a generate_content / count_tokens / send_message call (or its list)."""
        node: cst.CSTNode = value
        parent = self.parents.get(id(node))
        if isinstance(parent, cst.Element):
            container = self.parents.get(id(parent))
            if not isinstance(container, (cst.List, cst.Tuple)):
                return False
            node, parent = container, self.parents.get(id(container))
        if not isinstance(parent, cst.Arg):
            return False
        call = self.parents.get(id(parent))
        return isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value in CONTENTS_METHODS


def _context(parents: dict[int, cst.CSTNode], node: cst.CSTNode) -> str:
    current = parents.get(id(node))
    while current is not None:
        if isinstance(current, (cst.FormattedString, cst.FormattedStringExpression)):
            return "formatted into a string"
        if isinstance(current, cst.Call):
            func = current.func
            name = func.value if isinstance(func, cst.Name) else (func.attr.value if isinstance(func, cst.Attribute) else "a call")
            return "printed" if name == "print" else f"passed to {name}()"
        if isinstance(current, cst.Return):
            return "returned"
        if isinstance(current, (cst.List, cst.Tuple, cst.Dict, cst.Set)):
            return "kept in a container"
        if isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            break
        current = parents.get(id(current))
    return "used as a value"

