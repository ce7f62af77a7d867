"""FLM001-FLM004: swap Gemini Pro model IDs for the target wherever a Gemini client takes a model.

A team's own client (a `model_arguments` entry from a user rule file) may have its own names for
models (`names: {pro: gemini-3.1-pro-preview}`): such a name counts as the model it stands for and
is replaced by the wrapper's name for the target, or the full target ID when it has none.
"""

from __future__ import annotations

import libcst as cst

from migrate.catalog import Model, ModelArgument
from migrate.codemod import capabilities, lifecycle, platform
from migrate.codemod.context import Context
from migrate.codemod.modelref import ModelRef, parse_reference, url_pattern
from migrate.codemod.symbols import Dynamic, Literal, Path, Scope, _plain_text

GENAI_PACKAGE = "google.genai"
CLIENT_INSTANCE = "Client()."


def run(ctx: Context) -> None:
    genai_imported = ctx.facts.imports_any((GENAI_PACKAGE,))
    for call, scope in ctx.facts.calls:
        spec = _model_argument(ctx, call, scope, genai_imported)
        if spec is None:
            continue
        argument = _argument(call, spec)
        if argument is not None:
            _model_value(ctx, call, argument, scope, spec)
    for node in ctx.facts.strings:
        _swap_in_url(ctx, node)


def _model_argument(ctx: Context, call: cst.Call, scope: Scope, genai_imported: bool) -> ModelArgument | None:
    """The spec of this call if it is a Gemini call that takes a model, else None."""
    specs = ctx.catalog.call_sites.model_arguments
    func = ctx.facts.resolve(call.func, scope)
    if isinstance(func, Path):
        return specs.get(func.name)
    # A google-genai client whose origin we cannot see (a parameter, an attribute set elsewhere):
    # accept the method chain only in a module that imports google.genai.
    if not genai_imported or not isinstance(call.func, cst.Attribute):
        return None
    chain = _attribute_chain(call.func)
    for name, spec in specs.items():
        if spec.sdk == "google-genai" and CLIENT_INSTANCE in name:
            method_chain = name.split(CLIENT_INSTANCE, 1)[1]
            if chain.endswith("." + method_chain) and not _resolves_to_other_library(ctx, call.func, method_chain, scope):
                return spec
    return None


def _resolves_to_other_library(ctx: Context, func: cst.Attribute, method_chain: str, scope: Scope) -> bool:
    receiver: cst.BaseExpression = func
    for _ in method_chain.split("."):
        assert isinstance(receiver, cst.Attribute)
        receiver = receiver.value
    return isinstance(ctx.facts.resolve(receiver, scope), Path)


def _attribute_chain(node: cst.BaseExpression) -> str:
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    return "." + ".".join(reversed(parts))


def _argument(call: cst.Call, spec: ModelArgument) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == spec.keyword:
            return arg.value
    if spec.position is not None:
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if len(positional) > spec.position:
            return positional[spec.position].value
    return None


def _model_value(ctx: Context, call: cst.Call, argument: cst.BaseExpression, scope: Scope, spec: ModelArgument) -> None:
    value = ctx.facts.resolve(argument, scope)
    if isinstance(value, Literal):
        _swap_literal(ctx, value.node, call, scope, spec)
        return
    target = spec.name_for(ctx.target.id) or ctx.target.id
    if isinstance(value, Dynamic):
        if value.default is not None:
            _swap_literal(ctx, value.default.node, call, scope, spec)
        how, env = value.how, value.env
    elif isinstance(value, Path):
        how, env = f"{value.name}, defined in another module", None
    else:
        how, env = "an expression", None
    hint = f"set {env}={target}" if env else f"pass '{target}'"
    ctx.report("FLM002", argument, how=how, hint=hint, target=target)


def _swap_literal(ctx: Context, node: cst.SimpleString, call: cst.Call, scope: Scope, spec: ModelArgument) -> None:
    text = _plain_text(node)
    if text is not None and text in spec.names:  # the wrapper's own name for a model
        reference: ModelRef | None = ModelRef("", spec.names[text])
    else:
        reference = parse_reference(text) if text is not None else None
    if reference is None:
        return
    model = ctx.catalog.model(reference.model_id)
    if model is None:
        if reference.model_id.startswith("gemini"):
            ctx.report("FLM004", node, model=reference.model_id)
        return
    today = ctx.settings.today()
    site_platform = platform.of_call(ctx, call, scope, spec, reference.prefix)
    swapped = ctx.catalog.should_swap(model) and reference.model_id not in ctx.target.ids
    reported = len(ctx.findings)
    if swapped:
        own_name = text in spec.names
        new_text = (spec.name_for(ctx.target.id) or ctx.target.id) if own_name else reference.with_id(ctx.target.id)
        ctx.replace(
            "FLM001", node, lambda n: n.with_changes(value=f"{n.prefix}{n.quote}{new_text}{n.quote}"),
            before=text, after=new_text, old=text if own_name else reference.model_id, new=new_text if own_name else ctx.target.id,
        )  # fmt: skip
        capabilities.check_call(ctx, call, scope, model)
    if not swapped or len(ctx.findings) > reported:  # a silenced swap keeps its site quiet
        _report_lifecycle(ctx, node, model, site_platform)
    if not swapped:
        platforms = (site_platform,) if site_platform else tuple(ctx.catalog.platforms)
        served = [ctx.catalog.model(ctx.catalog.serving_model(model.id, p, today)) for p in platforms]
        capabilities.check_kept(ctx, call, scope, [model, *(m for m in served if m is not None)])


def _report_lifecycle(ctx: Context, node: cst.CSTNode, model: Model, site_platform: str | None) -> None:
    """FLM003 when calls of this model fail or are rerouted today on the site's platform (or on each)."""
    status = lifecycle.status(ctx.catalog, model, site_platform, ctx.settings.today())
    if status is not None:
        ctx.report("FLM003", node, model=model.id, status=status)


def _swap_in_url(ctx: Context, node: cst.SimpleString | cst.FormattedStringText) -> None:
    raw = node.value
    pattern = url_pattern(ctx.catalog.call_sites.rest_methods)
    pieces, last, swapped, models = [], 0, [], []
    for match in pattern.finditer(raw):
        model = ctx.catalog.model(match.group("id"))
        if model is None or not ctx.catalog.should_swap(model) or match.group("id") in ctx.target.ids:
            continue
        pieces += [raw[last : match.start("id")], ctx.target.id]
        last = match.end("id")
        swapped.append(match.group("id"))
        models.append(model)
    if not swapped:
        return
    new_raw = "".join(pieces) + raw[last:]
    names = ", ".join(swapped)
    reported = len(ctx.findings)
    ctx.replace(
        "FLM001", node, lambda n: n.with_changes(value=new_raw),
        before=names, after=ctx.target.id, old=names, new=ctx.target.id,
    )  # fmt: skip
    if len(ctx.findings) > reported:
        site_platform = platform.of_url(ctx, raw)
        for model in dict.fromkeys(models):
            _report_lifecycle(ctx, node, model, site_platform)
