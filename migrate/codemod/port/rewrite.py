"""Plan and apply the port of one module: clients, model objects, calls, chats, legacy types.

The rule that keeps data flow intact: **a model object becomes its GenerateContentConfig**.
Wherever the legacy code kept a model (a variable, a module constant, `self.<attr>`, a factory's
return value) it now keeps the model's configuration, and each call names the model and passes
that config. Nothing has to be tracked across assignments, and the configuration is still built
once, where the model was, from the names in scope there. The model ID moves to the calls, so it
must be a literal or a module constant; otherwise the model object is left alone with a TODO.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import libcst as cst

from migrate.codemod.context import Context, without_todos
from migrate.codemod.modelref import parse_reference
from migrate.codemod.port import config as cfg
from migrate.codemod.port import functions
from migrate.codemod.port.build import (
    ERRORS, GENAI, OS, TYPES, Unportable, at, call, call_like, dotted, keyword_value, kw, separated, string, string_value,
    types_attr,
)  # fmt: skip
from migrate.codemod.symbols import Binding, Literal, Path, Scope, dotted_name

MODEL_METHODS = {"generate_content", "generate_content_async", "count_tokens", "count_tokens_async", "start_chat"}
CHAT_METHODS = {"send_message", "send_message_async"}
CONSTRUCTOR_KEYS = {"model_name", "generation_config", "safety_settings", "tools", "tool_config", "system_instruction", "labels"}
CALL_KEYS = {"contents", "generation_config", "safety_settings", "tools", "tool_config", "stream", "request_options", "labels"}
CLIENT_KEYS = {
    "google-generativeai": {"api_key", "client_options", "transport", "default_metadata", "credentials"},
    "vertexai": {"project", "location", "credentials", "api_endpoint", "api_key", "request_metadata", "api_transport"},
}


@dataclass
class ModelObject:
    constructor: cst.Call
    scope: Scope
    sdk: str
    class_name: str
    model: cst.BaseExpression | None = None  # what calls pass as model= (a fresh node)
    model_id: str = ""
    recipe: cfg.ConfigRecipe = field(default_factory=cfg.ConfigRecipe)
    uses: list[tuple[cst.Call, Scope, str]] = field(default_factory=list)  # (call, scope, method)
    problem: str | None = None

    @property
    def plain(self) -> bool:
        """No configuration: the object becomes its model ID, and calls pass it as model=."""
        return not self.recipe.items and self.recipe.base is None


@dataclass(frozen=True)
class WholeConfig:
    """A call's whole config is one expression: a per-call generation_config by name on a plain model."""

    expression: Callable[[cst.Call], cst.BaseExpression]


@dataclass
class Chat:
    creation: cst.Call  # model.start_chat(...)
    model: ModelObject
    scope: Scope
    uses: list[tuple[cst.Call, Scope, str]] = field(default_factory=list)
    problem: str | None = None

    @property
    def is_async(self) -> bool:
        return any(method == "send_message_async" for _, _, method in self.uses)


@dataclass
class Client:
    expression: str  # "client" or "self.client"
    class_scope: Scope | None  # set when the client lives on `self`
    function_scope: Scope | None = None  # set when the client is a local of the function that configured


def run(ctx: Context) -> None:
    if not any(ctx.enabled(rule_id) for rule_id in ctx.catalog.rules if rule_id.startswith("FLM2")):
        return  # the port is switched off: it must not touch what other rules do either
    port = ctx.catalog.port
    names = [*ctx.facts.imported_modules(), *ctx.facts.star_imports]
    if not any(port.sdk_of(name) or name == "vertexai" for name in names):
        _manual_only(ctx)
        return
    _Port(ctx).run()


def _manual_only(ctx: Context) -> None:
    for call_node, scope in ctx.facts.calls:
        _flag_manual(ctx, call_node, scope)


def _flag_manual(ctx: Context, call_node: cst.Call, scope: Scope) -> bool:
    value = ctx.facts.resolve(call_node.func, scope)
    if not isinstance(value, Path):
        return False
    for rule_id, prefixes in ctx.catalog.port.manual.items():
        if any(value.name == p or value.name.startswith(p + ".") or value.name.startswith(p + "(") for p in prefixes):
            statement = ctx.facts.statements.get(id(call_node))
            if statement is not None:
                ctx.todo(rule_id, statement, call_node, what=value.name.replace("()", ""))
                return True
    return False


class _Port:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.port = ctx.catalog.port
        self.facts = ctx.facts
        self.models: dict[int, ModelObject] = {}
        self.chats: dict[int, Chat] = {}
        self.clients: dict[str, Client] = {}  # sdk -> client
        self.client_name = getattr(ctx.settings, "client_name", "client") or "client"
        self.dry_run = False  # while validating, every site gets a stand-in client
        self.embeddings: list[tuple[cst.Call, Scope]] = []
        self.function_sites: list[functions.Site] = []  # genai.upload_file(...), genai.list_models(), ...
        self.histories: dict[int, list[cst.Attribute]] = {}  # id(chat creation) -> `chat.history` nodes

    # ------------------------------------------------------------------ planning

    def run(self) -> None:
        for call_node, scope in self.facts.calls:
            if _flag_manual(self.ctx, call_node, scope):
                continue
            value = self.facts.resolve(call_node.func, scope)
            if isinstance(value, Path) and value.name in self.port.model_classes:
                self.models[id(call_node)] = self._model_object(call_node, scope, value.name)
            elif isinstance(value, Path) and value.name == "google.generativeai.embed_content":
                self.embeddings.append((call_node, scope))
            elif isinstance(value, Path) and value.name in self.port.functions:
                self.function_sites.append(functions.Site(call_node, scope, value.name, self.port.functions[value.name]))
        self._flag_unfollowable()
        for call_node, scope in self.facts.calls:
            self._attach_use(call_node, scope)
        self._check_references()
        self._validate()
        self._plan_clients()
        for model in self.models.values():
            self._apply_model(model)
        for call_node, scope in self.embeddings:
            self._port_embedding(call_node, scope)
        functions.port(self.ctx, self.function_sites, self._genai_client)
        self._rewrite_legacy_types()
        self._rewrite_exceptions()
        if self.ctx.replacements and not self.ctx.port_blocked:
            from migrate.codemod.port.imports import fix_imports

            self.ctx.post_passes.append(lambda module: fix_imports(module, self.ctx))

    def _model_object(self, node: cst.Call, scope: Scope, class_name: str) -> ModelObject:
        model = ModelObject(node, scope, self.port.model_classes[class_name], class_name.rsplit(".", 1)[1])
        try:
            model.model, model.model_id = self._model_argument(node, scope, model.sdk)
            self._constructor_recipe(model)
        except Unportable as exc:
            model.problem = str(exc)
        return model

    def _model_argument(self, node: cst.Call, scope: Scope, sdk: str) -> tuple[cst.BaseExpression, str]:
        positional = [a for a in node.args if a.keyword is None]
        if any(a.star for a in node.args):
            raise Unportable("GenerativeModel(*args/**kwargs): arguments unknown until run time")
        expr = keyword_value(node, "model_name") or (positional[0].value if positional else None)
        if len(positional) > 1:
            raise Unportable("GenerativeModel with more than one positional argument")
        if expr is None:
            raise Unportable("GenerativeModel() without a model name (the legacy default model)")
        value = self.facts.resolve(expr, scope)
        text = string_value(value.node) if isinstance(value, Literal) else None
        if text is None:
            raise Unportable("the model name is chosen at run time: pass it to each call by hand")
        reference = parse_reference(text)
        model_id = reference.model_id if reference else text
        known = self.ctx.catalog.model(model_id)
        if known is not None and self.ctx.catalog.should_swap(known):
            model_id = self.ctx.target.id
        if isinstance(expr, cst.Name):
            binding = self.facts.binding_of(expr, scope)
            if binding is not None and binding.scope is not None and binding.scope.kind == "module" and (sdk != "vertexai" or not text.startswith("models/")):
                return cst.Name(expr.value), model_id
        keep_prefix = reference.prefix if reference and reference.prefix != "models/" else ""
        return string(keep_prefix + model_id), model_id

    def _constructor_recipe(self, model: ModelObject) -> None:
        node, scope, recipe = model.constructor, model.scope, model.recipe
        for index, arg in enumerate(node.args):
            key = arg.keyword.value if arg.keyword is not None else "model_name"
            if key not in CONSTRUCTOR_KEYS:
                raise Unportable(f"GenerativeModel argument {key!r} has no google-genai equivalent")
            path = (("arg", index),)
            if key == "model_name":
                continue
            if key == "generation_config":
                cfg.add_generation(self.ctx, recipe, arg.value, path, scope)
            elif key == "safety_settings":
                cfg.add_safety(self.ctx, recipe, arg.value, scope, path)
            elif key == "tools":
                cfg.add_tools(self.ctx, recipe, arg.value, path, scope)
            else:
                cfg.add_plain(recipe, key, arg.value, path)
        order = ["system_instruction"]
        recipe.items.sort(key=lambda item: 0 if item[0] in order else 1)

    def _flag_unfollowable(self) -> None:
        for module in self.facts.star_imports:
            if self.port.sdk_of(module):
                self._todo_at_imports(f"star import from {module}: names cannot be followed; import them by name")
        for call_node, scope in self.facts.calls:
            if isinstance(call_node.func, cst.Name) and call_node.func.value == "getattr" and call_node.args:
                target = self.facts.resolve(call_node.args[0].value, scope)
                if isinstance(target, Path) and self.port.sdk_of(target.name):
                    statement = self.facts.statements.get(id(call_node))
                    if statement is not None:
                        self.ctx.todo("FLM220", statement, call_node, reason=f"getattr on {target.name}: the attribute is chosen at run time")

        for name, bindings in self.facts.module_scope.bindings.items():
            imports = [b for b in bindings if b.kind == "import" and b.qualname and (self.port.sdk_of(b.qualname) or b.qualname == "vertexai")]
            if imports and len(imports) != len(bindings) and imports[0].node is not None:
                self.ctx.todo("FLM220", imports[0].node, imports[0].node, reason=f"the SDK name {name!r} is rebound in this module: calls through it cannot be followed")

    def _todo_at_imports(self, reason: str) -> None:
        for statement in self._legacy_import_statements():
            self.ctx.todo("FLM220", statement, statement, reason=reason)
            return

    def _legacy_import_statements(self) -> list[cst.CSTNode]:
        found = []
        for statement in self.ctx.module.body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.ImportFrom) and small.module is not None:
                        if self.port.sdk_of(dotted_name(small.module)):
                            found.append(statement)
                    elif isinstance(small, cst.Import):
                        if any(self.port.sdk_of(dotted_name(a.name)) for a in small.names):
                            found.append(statement)
        return found

    def _attach_use(self, node: cst.Call, scope: Scope) -> None:
        if not isinstance(node.func, cst.Attribute):
            return
        method, receiver = node.func.attr.value, node.func.value
        if method in MODEL_METHODS:
            origin = self.facts.origin(receiver, scope)
            model = self.models.get(id(origin[0])) if origin else None
            if model is not None:
                model.uses.append((node, scope, method))
                if method == "start_chat":
                    self.chats[id(node)] = Chat(node, model, scope)
        elif method in CHAT_METHODS:
            origin = self.facts.origin(receiver, scope)
            chat = self.chats.get(id(origin[0])) if origin else None
            if chat is not None:
                chat.uses.append((node, scope, method))

    def _check_references(self) -> None:
        """A model (or chat) object used in any way we do not rewrite is left alone, all its calls too."""
        for model in self.models.values():
            allowed = {id(use.func.value) for use, _, _ in model.uses if isinstance(use.func, cst.Attribute)}  # type: ignore[union-attr]
            for binding, label in self._bindings_holding(model.constructor, model.scope):
                for reference in self.facts.references(binding):
                    if id(reference) not in allowed and not self._is_target(reference, binding):
                        model.problem = model.problem or f"the model object {label} is used where the tool cannot follow it"
        history_of = {id(a.value): a for a, _ in self.facts.attributes if a.attr.value == "history"}
        for chat in self.chats.values():
            if chat.model.problem:
                chat.problem = chat.model.problem
            allowed = {id(use.func.value) for use, _, _ in chat.uses if isinstance(use.func, cst.Attribute)}  # type: ignore[union-attr]
            for binding, _ in self._bindings_holding(chat.creation, chat.scope):
                for reference in self.facts.references(binding):
                    if id(reference) in history_of:
                        allowed.add(id(reference))
                        self.histories.setdefault(id(chat.creation), []).append(history_of[id(reference)])
            for binding, label in self._bindings_holding(chat.creation, chat.scope):
                for reference in self.facts.references(binding):
                    if id(reference) not in allowed and not self._is_target(reference, binding):
                        chat.problem = chat.problem or f"the chat {label} is used where the tool cannot follow it (history, rewind, ...)"
            kinds = {method for _, _, method in chat.uses}
            if "send_message" in kinds and "send_message_async" in kinds:
                chat.problem = chat.problem or "the chat is used both synchronously and asynchronously"
        for model in self.models.values():
            if model.problem is None and any(c.problem for c in self.chats.values() if c.model is model):
                model.problem = next(c.problem for c in self.chats.values() if c.model is model and c.problem)

    def _bindings_holding(self, creation: cst.Call, scope: Scope) -> list[tuple[Binding, str]]:
        """The variables and attributes whose value is this object (directly or through a factory)."""
        found = []
        for current in self.facts.scopes:
            for name, bindings in list(current.bindings.items()) + list(current.attributes.items()):
                for binding in bindings:
                    if binding.kind == "assign" and binding.value is not None and binding.scope is not None:
                        origin = self.facts.origin(binding.value, binding.scope)
                        if origin is not None and origin[0] is creation:
                            found.append((binding, name))
        return found

    def _is_target(self, reference: cst.CSTNode, binding: Binding) -> bool:
        statement = binding.node
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)):
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    if any(t is reference for t in targets):
                        return True
        return False

    def _validate(self) -> None:
        """Plan every site once with a stand-in client: a model with any unportable site is left alone."""
        self.dry_run = True
        try:
            for model in self.models.values():
                if model.problem is None and model.uses:
                    self._plans(model)
        finally:
            self.dry_run = False

    def _plans(self, model: ModelObject) -> list:
        plans = []
        try:
            for use, scope, method in model.uses:
                plans.append((use, self._plan_use(model, use, scope, method)))
            for chat in (c for c in self.chats.values() if c.model is model):
                for use, scope, method in chat.uses:
                    plans.append((use, self._plan_chat_use(chat, use, method)))
        except Unportable as exc:
            model.problem = str(exc)
        return plans

    # ------------------------------------------------------------------ clients

    def _plan_clients(self) -> None:
        sdks = {m.sdk for m in self.models.values() if m.problem is None and m.uses}
        if self.embeddings or self.function_sites:
            sdks.add("google-generativeai")
        for sdk in sorted(sdks):
            name = self.client_name if len(sdks) == 1 or sdk == "google-generativeai" else f"vertex_{self.client_name}"
            self.clients[sdk] = self._place_client(sdk, name)

    def _place_client(self, sdk: str, name: str) -> Client:
        configure = self.port.configure_calls and next((f for f, s in self.port.configure_calls.items() if s == sdk), None)
        sites = []
        for call_node, scope in self.facts.calls:
            value = self.facts.resolve(call_node.func, scope)
            if isinstance(value, Path) and value.name == configure:
                sites.append((call_node, scope))
        free = self._free_name(name)
        if not sites:
            self._insert_client_after_imports(free, sdk)
            return Client(free, None)
        call_node, scope = sites[-1]
        statement = self.facts.statements.get(id(call_node))
        if scope.kind == "module" and statement is not None and statement not in self.ctx.module.body:
            for model in self.models.values():
                if model.sdk == sdk and model.problem is None:
                    model.problem = "the SDK is configured inside a conditional block: where the client goes is for a person to decide"
            self.ctx.todo("FLM224", statement, call_node, reason="SDK configuration inside a conditional block (if/try/with): create the google-genai client by hand")
            return Client(free, None)
        args = self._client_args(call_node, sdk)
        method_class = self._method_class(scope)
        function_scope = None
        if scope.kind == "module":
            target = free
        elif method_class is not None:
            target = f"self.{name}"
        else:
            target, function_scope = free, scope  # a local client: every call must be inside this function
        placed = Client(target, method_class, function_scope)
        for model in self.models.values():
            if model.sdk == sdk and model.problem is None:
                try:
                    for use, use_scope, _ in model.uses:
                        self._reach(placed, use_scope)
                except Unportable as exc:
                    model.problem = str(exc)
        if args is None:
            for model in self.models.values():
                if model.sdk == sdk and model.problem is None:
                    model.problem = "the SDK configuration has arguments without a google-genai equivalent"
            if statement is not None:
                self.ctx.todo("FLM224", statement, call_node, reason="configuration arguments without a google-genai equivalent")
            return placed
        old = "genai.configure(...)" if sdk == "google-generativeai" else "vertexai.init(...)"
        new = f"{target} = genai.Client(...)"
        keep_init = sdk == "vertexai" and any(a.keyword is not None and a.keyword.value not in CLIENT_KEYS[sdk] for a in call_node.args)
        expression = call(dotted(f"{GENAI}.Client"), args)
        assign = cst.Assign(targets=[cst.AssignTarget(dotted(target))], value=expression)
        expr_statement = self._expression_statement(call_node, statement)
        if expr_statement is None:
            return placed
        if not any(m.sdk == sdk and m.problem is None for m in self.models.values()) and not ((self.embeddings or self.function_sites) and sdk == "google-generativeai"):
            return placed  # every model of this SDK stays legacy: so does its configuration
        if keep_init:
            self.ctx.replace("FLM202", statement, lambda n: cst.FlattenSentinel([n, cst.SimpleStatementLine([assign])]), before=old, after=new, old=old, new=new)
        else:
            self.ctx.replace("FLM202", expr_statement, lambda n: assign, before=old, after=new, old=old, new=new)
        return placed

    def _expression_statement(self, call_node: cst.Call, statement: cst.CSTNode | None) -> cst.Expr | None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Expr) and small.value is call_node:
                    return small
        return None

    def _method_class(self, scope: Scope) -> Scope | None:
        if scope.kind == "function" and scope.parent is not None and scope.parent.kind == "class":
            for bindings in scope.bindings.values():
                for binding in bindings:
                    if binding.kind == "param" and binding.self_of is scope.parent:
                        return scope.parent
        return None

    def _client_args(self, node: cst.Call, sdk: str) -> list[cst.Arg] | None:
        args: list[cst.Arg] = []
        headers: cst.BaseExpression | None = None
        base_url: cst.BaseExpression | None = None
        if sdk == "vertexai":
            args.append(kw("vertexai", cst.Name("True")))
        for arg in node.args:
            if arg.keyword is None:
                return None
            key = arg.keyword.value
            if key in ("transport", "api_transport"):
                continue
            if key in ("api_key", "credentials", "project", "location"):
                args.append(kw(key, arg.value))
            elif key == "client_options":
                if not isinstance(arg.value, cst.Dict) or len(arg.value.elements) != 1:
                    return None
                element = arg.value.elements[0]
                if not isinstance(element, cst.DictElement) or string_value(element.key) != "api_endpoint":
                    return None
                base_url = _with_scheme(element.value)
            elif key == "api_endpoint":
                base_url = _with_scheme(arg.value)
            elif key in ("default_metadata", "request_metadata"):
                headers = _headers(arg.value)
                if headers is None:
                    return None
            elif sdk == "vertexai":
                continue  # other vertexai.init settings stay with vertexai.init, kept in place
            else:
                return None
        if sdk == "vertexai" and not any(a.keyword.value == "location" for a in node.args if a.keyword is not None):
            args.append(kw("location", self._legacy_location()))
        options = [kw("base_url", base_url)] if base_url is not None else []
        if headers is not None:
            options.append(kw("headers", headers))
        options += self._legacy_retry(sdk)
        if options:
            args.append(kw("http_options", call(types_attr("HttpOptions"), options)))
        return args

    def _legacy_retry(self, sdk: str) -> list[cst.Arg]:
        """The legacy client's default retry policy, which google-genai does not have by default."""
        policy = self.port.legacy_retry.get(sdk)
        if not policy:
            return []
        fields = ", ".join(f"{key}={value!r}" for key, value in policy.items())
        return [kw("retry_options", cst.parse_expression(f"{TYPES}.HttpRetryOptions({fields})"))]

    def _legacy_location(self) -> cst.BaseExpression:
        """Where legacy vertexai found its region when init() did not name one."""
        lookups = " or ".join(f'{OS}.environ.get("{name}")' for name in self.port.vertex_location_env)
        return cst.parse_expression(f'{lookups} or "{self.port.vertex_location_default}"')

    def _free_name(self, name: str) -> str:
        taken = set(self.facts.module_scope.bindings)
        candidate, n = name, 1
        while candidate in taken:
            existing = self.facts.module_scope.bindings[candidate]
            if len(existing) == 1 and existing[0].kind == "assign" and existing[0].value is not None:
                value = self.facts.resolve(existing[0].value, self.facts.module_scope)
                if isinstance(value, Path) and value.name == "google.genai.Client()":
                    return candidate  # an existing google-genai client: reuse it
            n += 1
            candidate = f"genai_{name}" if n == 2 else f"{name}_{n}"
        return candidate

    def _insert_client_after_imports(self, name: str, sdk: str) -> None:
        body = self.ctx.module.body
        anchor = None
        for statement in body:
            if isinstance(statement, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body):
                anchor = statement
            elif anchor is not None or not _is_docstring(statement):
                if anchor is not None:
                    break
        first = next((st for st in body if not _is_docstring(st)), None)
        if anchor is None and first is None:
            return
        if name in self.facts.module_scope.bindings:
            return  # reusing the module's own google-genai client
        # The Vertex AI SDK reads project and location at the first call; google-generativeai reads
        # its key when it is imported (client manager), as google-genai does at Client().
        used_at = self._first_statement_using(sdk) if sdk == "vertexai" else None
        if anchor is not None and used_at is not None:
            between = body[body.index(anchor) + 1 : body.index(used_at)] if used_at in body[body.index(anchor) + 1 :] else []
            if any(_may_set_environment(st) for st in between):  # the legacy SDK read them at the first call
                self._insert_client_before(used_at, name, sdk)
                return
        client = self._environment_client(name, sdk)
        before, after = "(no configure call)", f"{name} = genai.Client(...)"
        if anchor is not None:
            self.ctx.replace("FLM202", anchor, lambda n: cst.FlattenSentinel([n, client]), before=before, after=after, old="the environment", new=after)
        else:  # no module-level import: the client goes above the first statement
            client = client.with_changes(leading_lines=[*first.leading_lines, cst.EmptyLine()])  # type: ignore[union-attr]
            build = lambda n: cst.FlattenSentinel([client, n.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])])  # noqa: E731
            self.ctx.replace("FLM202", first, build, before=before, after=after, old="the environment", new=after)  # type: ignore[arg-type]

    def _environment_client(self, name: str, sdk: str) -> cst.SimpleStatementLine:
        """`client = genai.Client(...)` from what the legacy SDK read from the environment."""
        args = [kw("vertexai", cst.Name("True")), kw("location", self._legacy_location())] if sdk == "vertexai" else []
        retry = self._legacy_retry(sdk)
        if retry:
            args.append(kw("http_options", call(types_attr("HttpOptions"), retry)))
        assign = cst.Assign(targets=[cst.AssignTarget(cst.Name(name))], value=call(dotted(f"{GENAI}.Client"), args))
        return cst.SimpleStatementLine([assign], leading_lines=[cst.EmptyLine()])

    def _insert_client_before(self, statement: cst.CSTNode, name: str, sdk: str) -> None:
        """The client just above `statement`, taking its blank lines; its comments stay with it."""
        lines = list(statement.leading_lines)  # type: ignore[attr-defined]
        blanks = 0
        while blanks < len(lines) and lines[blanks].comment is None:
            blanks += 1
        client = self._environment_client(name, sdk).with_changes(leading_lines=lines[:blanks])
        build = lambda n: cst.FlattenSentinel([client, n.with_changes(leading_lines=lines if blanks else [cst.EmptyLine(), *lines])])  # noqa: E731
        after = f"{name} = genai.Client(...)"
        self.ctx.replace("FLM202", statement, build, before="(no configure call)", after=after, old="the environment", new=after)

    def _first_statement_using(self, sdk: str) -> cst.CSTNode | None:
        """The first module-level statement that builds a model of `sdk`."""
        nodes = [m.constructor for m in self.models.values() if m.sdk == sdk and m.problem is None and m.uses]
        wanted = {id(node) for node in nodes}
        for statement in self.ctx.module.body:
            stack: list[cst.CSTNode] = [statement]
            while stack:
                node = stack.pop()
                if id(node) in wanted:
                    return statement
                stack.extend(node.children)
        return None

    # ------------------------------------------------------------------ rewriting

    def _apply_model(self, model: ModelObject) -> None:
        if not model.uses and model.problem is None:
            return  # a model object that is never called here: leave it (and its import) alone
        if model.problem is None and model.sdk not in self.clients:
            model.problem = "no client could be placed for this module"
        plans = self._plans(model) if model.problem is None else []
        if model.problem is not None:
            statement = self.facts.statements.get(id(model.constructor))
            if statement is not None:
                self.ctx.todo("FLM220" if "follow" in model.problem else "FLM224", statement, model.constructor, reason=model.problem)
            return
        recipe = model.recipe
        model_node = model.model
        after = "the model ID" if model.plain else "types.GenerateContentConfig(...)"
        self.ctx.replace(
            "FLM203", model.constructor,
            (lambda _: model_node.deep_clone()) if model.plain else recipe.build,  # type: ignore[arg-type, union-attr]
            before=f"{model.class_name}(...)", after=after,
            old=model.class_name, new=after, model=model.model_id,
        )  # fmt: skip
        statement = self.facts.statements.get(id(model.constructor))
        if statement is not None and id(statement) not in self.ctx.replacements:
            self.ctx.replacements[id(statement)] = (statement, without_todos)
        for use, plan in plans:
            if plan is not None:
                build, old, new, rule, values = plan
                self.ctx.replace(rule, use, build, before=old, after=new, old=old, new=new, **values)
        for chat in (c for c in self.chats.values() if c.model is model):
            for attribute in self.histories.get(id(chat.creation), []):
                self.ctx.replace(
                    "FLM201", attribute, lambda n: call(cst.Attribute(value=n.value, attr=cst.Name("get_history")), []),  # type: ignore[attr-defined]
                    before="chat.history", after="chat.get_history()", old="chat.history", new="chat.get_history()",
                )  # fmt: skip

    def _client_for(self, model: ModelObject, scope: Scope) -> cst.BaseExpression:
        if self.dry_run:
            return cst.Name("client")
        return self._reach(self.clients[model.sdk], scope)

    def _genai_client(self, scope: Scope) -> cst.BaseExpression:
        if "google-generativeai" not in self.clients:
            raise Unportable("no client could be placed for this module")
        return self._reach(self.clients["google-generativeai"], scope)

    def _reach(self, client: Client, scope: Scope) -> cst.BaseExpression:
        """The expression that reaches the client from `scope`, or Unportable when it is out of reach."""
        if client.function_scope is not None:
            current: Scope | None = scope
            while current is not None and current is not client.function_scope:
                current = current.parent
            if current is None:
                raise Unportable("the SDK is configured inside a function but called outside it: pass a google-genai client")
            return cst.Name(client.expression)
        if client.class_scope is None:
            name = client.expression
            found = self.facts.lookup(name, scope)
            if found is not None and found[1] is not self.facts.module_scope:
                raise Unportable(f"the name {name!r} is bound locally where the client is needed")
            return cst.Name(name)
        current: Scope | None = scope
        while current is not None and current.parent is not client.class_scope:
            current = current.parent
        if current is None or self._method_class(current) is not client.class_scope:
            raise Unportable("the client lives on `self` of another class")
        self_name = next(n for n, bs in current.bindings.items() for b in bs if b.kind == "param" and b.self_of is client.class_scope)
        return dotted(client.expression.replace("self", self_name, 1))

    def _plan_use(self, model: ModelObject, use: cst.Call, scope: Scope, method: str):
        client = self._client_for(model, scope)
        if method == "start_chat":
            return self._plan_start_chat(model, use, scope, client)
        is_async = method.endswith("_async")
        base = method.removesuffix("_async")
        args = {a.keyword.value if a.keyword else None: (i, a) for i, a in enumerate(use.args)}
        positional = [i for i, a in enumerate(use.args) if a.keyword is None]
        if any(a.star for a in use.args) or len(positional) > 1:
            raise Unportable(f"{method}(...) with extra positional or */** arguments")
        unknown = {k for k in args if k is not None} - CALL_KEYS - ({"contents"} if base == "generate_content" else set())
        if base == "count_tokens":
            unknown = {k for k in args if k is not None} - {"contents", "request_options"}
        if unknown:
            raise Unportable(f"{method} argument {sorted(unknown)[0]!r} has no google-genai equivalent")
        contents_index = positional[0] if positional else (args["contents"][0] if "contents" in args else None)
        if contents_index is None:
            raise Unportable(f"{method}() without contents")
        stream = False
        if "stream" in args:
            stream_value = use.args[args["stream"][0]].value
            if not (isinstance(stream_value, cst.Name) and stream_value.value in ("True", "False")):
                raise Unportable("stream= chosen at run time")
            stream = stream_value.value == "True"
        overrides = self._overrides(model, use, scope) if base == "generate_content" else None
        timeout = None
        if "request_options" in args and isinstance(overrides, WholeConfig):
            raise Unportable("request_options beside a generation_config given by name")
        if "request_options" in args:
            index = args["request_options"][0]
            timeout = cfg.timeout_options(use.args[index].value, (("arg", index),))
        unsafe_count = base == "count_tokens" and model.sdk == "google-generativeai" and ({"system_instruction", "tools"} & model.recipe.has)
        verb = base + ("_stream" if stream else "")
        namespace = "aio.models" if is_async else "models"
        model_node = model.model

        self._text_parts(use.args[contents_index].value, scope)
        text_parts = _has_bare_parts(use.args[contents_index].value)

        def build(updated: cst.Call) -> cst.BaseExpression:
            receiver = updated.func.value  # type: ignore[attr-defined]
            contents = updated.args[contents_index].value
            if text_parts:
                contents = contents.visit(_TextParts())
            new_args = [kw("model", receiver if model.plain else model_node), kw("contents", contents)]
            if isinstance(overrides, WholeConfig):
                new_args.append(kw("config", overrides.expression(updated)))
            elif base == "generate_content":
                update = overrides(updated) if overrides else []
                if timeout:
                    update.append(cst.DictElement(string("http_options"), timeout(updated)))
                if model.plain and update:
                    fields = [kw(string_value(e.key), e.value) for e in update]  # type: ignore[arg-type]
                    new_args.append(kw("config", call(types_attr("GenerateContentConfig"), fields)))
                elif not model.plain:
                    config_expr = receiver
                    if update:
                        config_expr = call(cst.Attribute(value=receiver, attr=cst.Name("model_copy")), [kw("update", cst.Dict(separated(update)))])
                    new_args.append(kw("config", config_expr))
            elif base == "count_tokens" and model.sdk == "vertexai" and ({"system_instruction", "tools"} & model.recipe.has):
                fields = [kw(f, cst.Attribute(value=receiver, attr=cst.Name(f))) for f in ("system_instruction", "tools") if f in model.recipe.has]
                new_args.append(kw("config", call(types_attr("CountTokensConfig"), fields)))
            if base == "count_tokens" and timeout:
                new_args.append(kw("config", call(types_attr("CountTokensConfig"), [kw("http_options", timeout(updated))])))
            return call_like(cst.Attribute(value=_at_client(client, namespace), attr=cst.Name(verb)), new_args, updated)

        old = f"{model.class_name}.{method}(" + ("stream=True" if stream else "") + ")"
        new = f"client.{namespace}.{verb}(...)"
        if unsafe_count:
            what = " and ".join(sorted({"system_instruction", "tools"} & model.recipe.has))
            return build, old, new, "FLM210" if self.ctx.settings.unsafe else self._unsafe_blocked(model, what), {"what": what}
        return build, old, new, "FLM201", {}

    def _unsafe_blocked(self, model: ModelObject, what: str) -> str:
        raise Unportable(f"count_tokens would stop counting the {what} (FLM210): rerun with --unsafe to accept")

    def _overrides(self, model: ModelObject, use: cst.Call, scope: Scope):
        """Per-call generation_config / safety_settings / tools, merged the way the legacy SDK did."""
        call_recipe = cfg.ConfigRecipe()
        for index, arg in enumerate(use.args):
            key = arg.keyword.value if arg.keyword else None
            path = (("arg", index),)
            if key == "generation_config":
                cfg.add_generation(self.ctx, call_recipe, arg.value, path, scope)
            elif key == "safety_settings":
                cfg.add_safety(self.ctx, call_recipe, arg.value, scope)
            elif key == "tools":
                cfg.add_tools(self.ctx, call_recipe, arg.value, path, scope)
            elif key in ("tool_config", "labels"):
                cfg.add_plain(call_recipe, key, arg.value, path)
        if call_recipe.base is not None:
            if not model.plain or call_recipe.items:
                raise Unportable("a per-call generation_config given by name, to merge with other configuration (merge keys unknown)")
            return WholeConfig(call_recipe.base)  # the name's GenerationConfig(...) becomes a GenerateContentConfig
        if not call_recipe.items:
            return None
        if any(item[0] == "**" for item in call_recipe.items):
            raise Unportable("a per-call generation_config given by name (merge keys unknown)")
        replaced_generation: set[str] = set()
        if model.sdk == "vertexai" and "generation_config" in call_recipe.has:
            if model.recipe.generation_keys is None:
                raise Unportable("Vertex replaces the model's generation_config, whose keys are unknown here")
            replaced_generation = set(model.recipe.generation_keys) - set(call_recipe.generation_keys or ())
        safety = None
        if call_recipe.safety is not None:
            safety = call_recipe.safety
            if model.sdk == "google-generativeai" and model.recipe.safety:
                safety = cfg.merge_safety(model.recipe.safety, call_recipe.safety)


        def build(updated: cst.Call) -> list[cst.DictElement]:
            elements = [cst.DictElement(string(key), cst.Name("None")) for key in sorted(replaced_generation)]
            for key, builder, _ in call_recipe.items:
                if key == "safety_settings":
                    elements.append(cst.DictElement(string(key), cfg.safety_list(safety or [])))
                else:
                    elements.append(cst.DictElement(string(key), builder(updated)))
            return elements

        return build

    def _text_parts(self, node: cst.BaseExpression, scope: Scope) -> None:
        """Contents given by name: the list literal it is bound to gets {"text": ...} parts in place."""
        if self.dry_run or not isinstance(node, cst.Name):
            return
        definition, _ = self.facts.definition(node, scope)
        if _has_bare_parts(definition) and id(definition) not in self.ctx.replacements:
            self.ctx.replacements[id(definition)] = (definition, lambda n: n.visit(_TextParts()))

    def _port_embedding(self, node: cst.Call, scope: Scope) -> None:
        """genai.embed_content(...) -> a dict of the legacy shape around client.models.embed_content(...)."""
        statement = self.facts.statements.get(id(node))
        try:
            client = self._reach(self.clients["google-generativeai"], scope) if "google-generativeai" in self.clients else None
            if client is None:
                raise Unportable("no client could be placed for this module")
            names = ["model", "content", "task_type", "title", "output_dimensionality"]
            args: dict[str, cst.BaseExpression] = {}
            for index, arg in enumerate(node.args):
                key = arg.keyword.value if arg.keyword else (names[index] if index < len(names) and not arg.star else None)
                if key not in names:
                    raise Unportable(f"embed_content argument {key!r} has no google-genai equivalent")
                args[key] = arg.value
            content = args.get("content")
            definition = self.facts.definition(content, scope)[0] if content is not None else None
            if isinstance(definition, (cst.List, cst.Tuple, cst.ListComp)):
                batch = True
            elif isinstance(definition, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
                batch = False
            else:
                raise Unportable("embed_content content that may be one text or many: the result shape differs")
            task = args.get("task_type")
            if task is not None and string_value(task) is None:
                raise Unportable("embed_content task_type chosen at run time")
        except Unportable as exc:
            if statement is not None:
                self.ctx.todo("FLM224", statement, node, reason=str(exc))
            return
        code = cst.Module([]).code_for_node
        client_code = code(client)

        def build(updated: cst.Call) -> cst.BaseExpression:
            values = {}
            for index, arg in enumerate(updated.args):
                key = arg.keyword.value if arg.keyword else names[index]
                values[key] = code(arg.value)
            options = []
            if "task_type" in values:
                options.append(f'task_type="{str(string_value(args["task_type"])).upper()}"')
            options += [f"{k}={values[k]}" for k in ("title", "output_dimensionality") if k in values]
            config = f", config={TYPES}.EmbedContentConfig({', '.join(options)})" if options else ""
            embed = f"{client_code}.models.embed_content(model={values['model']}, contents={values['content']}{config})"
            vectors = f"[e.values for e in {embed}.embeddings]" if batch else f"{embed}.embeddings[0].values"
            return cst.parse_expression(f'{{"embedding": {vectors}}}')

        self.ctx.replace("FLM207", node, build, before="genai.embed_content(...)", after="client.models.embed_content(...)",
                         old="genai.embed_content(...)", new="client.models.embed_content(...)")  # fmt: skip

    def _rewrite_exceptions(self) -> None:
        """`except google.api_core.exceptions.X` around a ported call -> `except errors.Y`."""
        ported = {id(node) for node, _ in self.ctx.replacements.values() if isinstance(node, cst.Call)}
        if not ported:
            return
        module = self.port.exception_module + "."
        for try_node, scope in self.facts.tries:
            calls = _CallIds()
            try_node.body.visit(calls)
            if not calls.ids & ported:
                continue
            for handler in try_node.handlers:
                if handler.type is None:
                    continue
                targets = [e.value for e in handler.type.elements] if isinstance(handler.type, cst.Tuple) else [handler.type]
                if any(isinstance(t, cst.Name) and t.value == "ValueError" for t in targets):
                    self.ctx.report("FLM211", handler, what="except ValueError around a ported call")
                mapped: list[str | None] = []
                olds: list[str] = []
                for target in targets:
                    value = self.facts.resolve(target, scope)
                    old = value.name[len(module):] if isinstance(value, Path) and value.name.startswith(module) else None
                    mapped.append(self.port.exceptions.get(old) if old else None)
                    if mapped[-1] and old:
                        olds.append(old)
                if not any(mapped):
                    continue
                new = ", ".join(sorted({m for m in mapped if m}))
                self.ctx.replace("FLM206", handler.type, lambda n, m=mapped: _mapped_exceptions(n, m),
                                 before=", ".join(olds), after=new, old=", ".join(olds), new=new)  # fmt: skip

    def _plan_start_chat(self, model: ModelObject, use: cst.Call, scope: Scope, client: cst.BaseExpression):
        chat = self.chats[id(use)]
        args = {a.keyword.value if a.keyword else None: (i, a) for i, a in enumerate(use.args)}
        if set(args) - {"history", "enable_automatic_function_calling"}:
            raise Unportable("start_chat(...) with arguments without a google-genai equivalent")
        afc = args.get("enable_automatic_function_calling")
        if afc is not None and not (isinstance(afc[1].value, cst.Name) and afc[1].value.value in ("True", "False")):
            raise Unportable("enable_automatic_function_calling chosen at run time")
        enable_afc = afc is not None and afc[1].value.value == "True"  # type: ignore[union-attr]
        if enable_afc and model.recipe.declared_callables:
            raise Unportable("a chat with automatic function calling on a model whose tools are declared for other calls")
        history = args.get("history")
        history_builder = self._history(history[1].value, (("arg", history[0]),)) if history else None
        namespace = "aio.chats" if chat.is_async else "chats"
        model_node = model.model

        def build(updated: cst.Call) -> cst.BaseExpression:
            receiver = updated.func.value  # type: ignore[attr-defined]
            new_args = [kw("model", receiver)] if model.plain else [kw("model", model_node), kw("config", receiver)]
            if history_builder is not None:
                new_args.append(kw("history", history_builder(updated)))
            return call(cst.Attribute(value=_at_client(client, namespace), attr=cst.Name("create")), new_args)

        return build, "start_chat(...)", f"client.{namespace}.create(...)", "FLM201", {}

    def _history(self, node: cst.BaseExpression, path):
        """Legacy history dicts allowed bare strings in parts; google-genai wants {"text": ...}."""
        if isinstance(node, cst.List):
            needs = any(
                isinstance(e.value, cst.Dict) and any(isinstance(p.value, cst.SimpleString) for el in e.value.elements if isinstance(el, cst.DictElement) and string_value(el.key) == "parts" and isinstance(el.value, cst.List) for p in el.value.elements)
                for e in node.elements
            )  # fmt: skip
            if needs:
                return lambda updated: at(updated, path).visit(_TextParts())
        return lambda updated: at(updated, path)

    def _plan_chat_use(self, chat: Chat, use: cst.Call, method: str):
        args = {a.keyword.value if a.keyword else None: (i, a) for i, a in enumerate(use.args)}
        if set(args) - {None, "stream", "content"} or any(a.star for a in use.args):
            raise Unportable(f"{method}(...) with per-call options (a per-call config replaces the chat's in google-genai)")
        stream = False
        if "stream" in args:
            value = args["stream"][1].value
            if not (isinstance(value, cst.Name) and value.value in ("True", "False")):
                raise Unportable("stream= chosen at run time")
            stream = value.value == "True"
        message_index = args[None][0] if None in args else args["content"][0]
        verb = "send_message_stream" if stream else "send_message"
        split_history = stream and (len(chat.uses) > 1 or bool(self.histories.get(id(chat.creation))))
        if split_history and not self.ctx.settings.unsafe:
            raise Unportable(
                "google-genai keeps a streamed chat reply as one history entry per chunk, so later turns "
                "differ: rerun with --unsafe to accept"
            )
        if not stream and "content" not in args and method == "send_message":
            return None  # the same call in google-genai

        def build(updated: cst.Call) -> cst.BaseExpression:
            receiver = updated.func.value  # type: ignore[attr-defined]
            return call(cst.Attribute(value=receiver, attr=cst.Name(verb)), [cst.Arg(updated.args[message_index].value)])

        return build, f"chat.{method}(...)", f"chat.{verb}(...)", "FLM212" if split_history else "FLM201", {"what": "one entry per chunk"}

    # ------------------------------------------------------------------ legacy types

    def _rewrite_legacy_types(self) -> None:
        """Content, Part.from_text, Tool, FunctionDeclaration, HarmCategory.X ... -> types.*, keyword-only."""
        done: set[int] = set()
        for attribute, scope in self._attribute_nodes():
            if id(attribute) in done:
                continue
            value = self.facts.resolve(attribute, scope)
            if not isinstance(value, Path) or "()" in value.name:
                continue
            mapping, member = self._type_for(value.name)
            if mapping is None:
                continue
            new_path = mapping.new + (f".{member}" if member else "")
            self.ctx.replace("FLM205", attribute, lambda n, p=new_path: types_attr(p), before=value.name, after=f"types.{new_path}", old=value.name, new=new_path)
            done.add(id(attribute))
        for call_node, scope in self.facts.calls:
            value = self.facts.resolve(call_node.func, scope)
            if not isinstance(value, Path):
                continue
            mapping, member = self._type_for(value.name)
            if mapping is None or member:
                continue
            positional = [a for a in call_node.args if a.keyword is None and not a.star]
            renames = {a.keyword.value for a in call_node.args if a.keyword is not None} & set(mapping.rename)
            if not positional and not renames:
                continue
            if len(positional) > len(mapping.positional):
                statement = self.facts.statements.get(id(call_node))
                if statement is not None:
                    self.ctx.todo("FLM224", statement, call_node, reason=f"{value.name} with positional arguments the tool cannot name")
                continue
            names = mapping.positional

            def build(updated: cst.Call, names=names, rename=mapping.rename) -> cst.Call:
                args, position = [], 0
                for arg in updated.args:
                    if arg.keyword is None and not arg.star:
                        args.append(kw(names[position], arg.value))
                        position += 1
                    elif arg.keyword is not None and arg.keyword.value in rename:
                        args.append(kw(rename[arg.keyword.value], arg.value))
                    else:
                        args.append(arg)
                return updated.with_changes(args=args)

            self.ctx.replace("FLM205", call_node, build, before="positional arguments", after="keywords", old=value.name, new=mapping.new)

    def _type_for(self, qualified: str):
        mapping = self.port.legacy_type(qualified)
        if mapping is not None:
            return mapping, None
        if "." in qualified:
            parent, member = qualified.rsplit(".", 1)
            mapping = self.port.legacy_type(parent)
            if mapping is not None and member.isupper():
                return mapping, member
        return None, None

    def _attribute_nodes(self):
        """Outermost Name/Attribute chains whose value is a legacy type (inner parts are skipped)."""
        candidates = []
        inner: set[int] = set()
        for node, scope in self.facts.self_attributes:
            candidates.append((node, scope))
        for node, scope in self._all_attributes():
            candidates.append((node, scope))
            if isinstance(node.value, cst.Attribute):
                inner.add(id(node.value))
        for name, scope in self.facts.names:
            candidates.append((name, scope))
        outer = []
        for node, scope in candidates:
            if id(node) in inner:
                continue
            outer.append((node, scope))
        # Longest chains first, so `HarmCategory.HARM_X` wins over `HarmCategory`.
        outer.sort(key=lambda item: -_chain_length(item[0]))
        covered: set[int] = set()
        result = []
        for node, scope in outer:
            if id(node) in covered:
                continue
            for part in _chain_parts(node):
                covered.add(id(part))
            result.append((node, scope))
        return result

    def _all_attributes(self):
        return self.facts.attributes


def _chain_parts(node: cst.CSTNode):
    while isinstance(node, cst.Attribute):
        yield node
        node = node.value
    yield node


def _chain_length(node: cst.CSTNode) -> int:
    return sum(1 for _ in _chain_parts(node))


def _at_client(client: cst.BaseExpression, namespace: str) -> cst.BaseExpression:
    node = client
    for part in namespace.split("."):
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def _with_scheme(node: cst.BaseExpression) -> cst.BaseExpression:
    text = string_value(node)
    if text is not None and "://" not in text:
        return string(f"https://{text}")
    return node


def _headers(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """[("k", "v"), ...] metadata -> {"k": "v"} headers."""
    if not isinstance(node, (cst.List, cst.Tuple)):
        return None
    elements = []
    for element in node.elements:
        pair = element.value
        if not isinstance(pair, cst.Tuple) or len(pair.elements) != 2:
            return None
        elements.append(cst.DictElement(pair.elements[0].value, pair.elements[1].value))
    return cst.Dict(separated(elements))


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _mapped_exceptions(node: cst.BaseExpression, mapped: list[str | None]) -> cst.BaseExpression:
    """The handler's type with legacy classes replaced; classes that collapse into one appear once."""
    if not isinstance(node, cst.Tuple):
        return dotted(f"{ERRORS}.{mapped[0]}")
    elements, seen = [], set()
    for element, new in zip(node.elements, mapped):
        if new is None:
            elements.append(element)
        elif new not in seen:
            seen.add(new)
            elements.append(element.with_changes(value=dotted(f"{ERRORS}.{new}")))
    if len(elements) == 1:
        return elements[0].value
    elements[-1] = elements[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return node.with_changes(elements=elements)


class _CallIds(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[int] = set()

    def visit_Call(self, node: cst.Call) -> None:
        self.ids.add(id(node))


def _has_bare_parts(node: cst.BaseExpression | None) -> bool:
    """A list of content dicts whose `parts` hold plain strings (legacy allowed them)."""
    if not isinstance(node, cst.List):
        return False
    for element in node.elements:
        if isinstance(element.value, cst.Dict):
            for item in element.value.elements:
                if isinstance(item, cst.DictElement) and string_value(item.key) == "parts" and isinstance(item.value, cst.List):
                    if any(isinstance(p.value, cst.SimpleString) for p in item.value.elements):
                        return True
    return False


class _TextParts(cst.CSTTransformer):
    """Inside a history literal: a bare string in a `parts` list becomes {"text": ...}."""

    def leave_DictElement(self, original_node: cst.DictElement, updated_node: cst.DictElement) -> cst.DictElement:
        if string_value(updated_node.key) == "parts" and isinstance(updated_node.value, cst.List):
            elements = [
                e.with_changes(value=cst.Dict([cst.DictElement(string("text"), e.value)])) if isinstance(e.value, cst.SimpleString) else e
                for e in updated_node.value.elements
            ]
            return updated_node.with_changes(value=updated_node.value.with_changes(elements=elements))
        return updated_node


def _may_set_environment(statement: cst.CSTNode) -> bool:
    """A module-level call or item assignment (`load_dotenv()`, `os.environ["X"] = ...`): it may set
    what a client reads from the environment when it is created."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    return any(
        (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and not _is_flm_marker(small.value))
        or (isinstance(small, cst.Assign) and any(isinstance(t.target, cst.Subscript) for t in small.targets))
        for small in statement.body
    )


def _is_flm_marker(node: cst.Call) -> bool:
    """`__flm_cell_…__(3)`: the notebook processor's cell boundary, not code of the user's."""
    return isinstance(node.func, cst.Name) and node.func.value.startswith("__flm_")
