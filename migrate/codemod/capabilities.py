"""FLM101-FLM105: where a model does not take what a call sends, or the target differs from the source.

Two checks: `check_call` at a swapped site (the target against the call and the source model) and
`check_kept` where the model stays (the model itself, and the model a routed ID is now served by).
The limits come from the capability profiles in rules/models.yaml; this module only reads the
call's generation config (inline, a dict, or a name bound to either) and compares.
"""

from __future__ import annotations

import libcst as cst

from migrate.catalog import Model
from migrate.codemod.context import Context
from migrate.codemod.symbols import Path, Scope

CONFIG_KEYWORDS = ("config", "generation_config")
THINKING_KEYS = ("thinking_budget", "thinking_level")
PENALTIES = ("presence_penalty", "frequency_penalty")
SAMPLING = ("temperature", "top_p", "top_k")


def check_call(ctx: Context, call: cst.Call, scope: Scope, source: Model) -> None:
    target = ctx.target
    source_caps, target_caps = source.capabilities, target.capabilities
    if source_caps is None or target_caps is None:
        return
    params = config_params(ctx, call, scope)
    _check_model(ctx, params, target)
    if "max_output_tokens" in params:
        limit = _integer(params["max_output_tokens"])
        if limit is not None and limit > target_caps.max_output_tokens:
            ctx.report("FLM102", params["max_output_tokens"], value=limit, target=target.id, limit=target_caps.max_output_tokens)
    if source_caps.context_window > target_caps.context_window:
        ctx.report(
            "FLM105", call, source=source.id, target=target.id,
            source_window=f"{source_caps.context_window:,}", target_window=f"{target_caps.context_window:,}",
        )  # fmt: skip


def check_kept(ctx: Context, call: cst.Call, scope: Scope, models: list[Model]) -> None:
    """Where the model stays: what it (or the model its requests are routed to) does not take."""
    params = config_params(ctx, call, scope)
    if params:
        for model in dict.fromkeys(models):
            _check_model(ctx, params, model)


def _check_model(ctx: Context, params: dict[str, cst.BaseExpression], model: Model) -> None:
    caps = model.capabilities
    if caps is None:
        return
    for key in THINKING_KEYS:
        if key in params:
            wanted = {"budget": "thinking_budget", "level": "thinking_level"}.get(caps.thinking, "no thinking control")
            if wanted != key:
                ctx.report("FLM101", params[key], param=key, problem=f"is set, but '{model.id}' controls thinking with {wanted}")
    level = _level(params.get("thinking_level"))
    if level is not None and caps.thinking == "level" and caps.thinking_levels and level not in caps.thinking_levels:
        ctx.report("FLM101", params["thinking_level"], param=f"thinking_level={level}",
                   problem=f"is rejected by '{model.id}' (HTTP 400): it takes {', '.join(caps.thinking_levels)}")  # fmt: skip
    if caps.penalties == "rejected":
        for key in PENALTIES:
            if key in params:
                ctx.report("FLM103", params[key], param=key, model=model.id)
    if caps.sampling == "ignored":
        for key in SAMPLING:
            if key in params:
                ctx.report("FLM104", params[key], param=key, model=model.id)


def _level(expr: cst.BaseExpression | None) -> str | None:
    """A thinking level given as a string literal or an enum member (`ThinkingLevel.MINIMAL`)."""
    if isinstance(expr, cst.SimpleString):
        return expr.raw_value.upper()
    if isinstance(expr, cst.Attribute):
        return expr.attr.value.upper()
    return None


def config_params(ctx: Context, call: cst.Call, scope: Scope) -> dict[str, cst.BaseExpression]:
    """Generation-config keys set at this call, thinking_config flattened into it."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in CONFIG_KEYWORDS:
            params = _mapping(ctx, arg.value, scope)
            nested = params.pop("thinking_config", None)
            if nested is not None:
                params.update({k: v for k, v in _mapping(ctx, nested, scope).items() if k in THINKING_KEYS})
            return params
    return {}


def _mapping(ctx: Context, expr: cst.BaseExpression, scope: Scope) -> dict[str, cst.BaseExpression]:
    """Keys of a config given as a constructor call or a dict literal, following a name once."""
    expr, scope = ctx.facts.definition(expr, scope)
    if isinstance(expr, cst.Call) and isinstance(ctx.facts.resolve(expr.func, scope), Path):
        return {a.keyword.value: a.value for a in expr.args if a.keyword is not None}
    if isinstance(expr, cst.Dict):
        found = {}
        for element in expr.elements:
            if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                found[element.key.raw_value] = element.value
        return found
    return {}


def _integer(expr: cst.BaseExpression) -> int | None:
    if isinstance(expr, cst.Integer):
        return int(expr.value.replace("_", ""), 0)
    return None
