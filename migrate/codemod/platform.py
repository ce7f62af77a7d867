"""Which Gemini platform a call site talks to: "developer", "vertex", or None when the code does not say.

The signs, in order: the call's own data (`platform` in call_sites.yaml: the legacy SDKs), a Vertex
resource name as the model, and for google-genai the client it is called on - `vertexai=True|False`
or a base URL naming a platform's host (rules/call_sites.yaml `platform_hints`).
"""

from __future__ import annotations

import libcst as cst

from migrate.catalog import ModelArgument
from migrate.codemod.context import Context
from migrate.codemod.symbols import Scope

CLIENT_INSTANCE = "Client()."


def of_call(ctx: Context, call: cst.Call, scope: Scope, spec: ModelArgument, model_prefix: str) -> str | None:
    if spec.platform is not None:
        return spec.platform
    if model_prefix.startswith(("projects/", "publishers/")):
        return "vertex"
    if spec.sdk != "google-genai" or CLIENT_INSTANCE not in spec.call or not isinstance(call.func, cst.Attribute):
        return None
    receiver: cst.BaseExpression = call.func
    for _ in spec.call.split(CLIENT_INSTANCE, 1)[1].split("."):
        if not isinstance(receiver, cst.Attribute):
            return None
        receiver = receiver.value
    found = ctx.facts.origin(receiver, scope)
    return of_client(ctx, *found) if found is not None else None


def of_client(ctx: Context, client: cst.Call, scope: Scope) -> str | None:
    """The platform a `genai.Client(...)` call is made for, when its arguments say."""
    hints = ctx.catalog.call_sites
    for arg in client.args:
        if arg.keyword is None:
            continue
        if arg.keyword.value == hints.client_flag and isinstance(arg.value, cst.Name) and arg.value.value in ("True", "False"):
            return "vertex" if arg.value.value == "True" else "developer"
    for arg in client.args:
        if arg.keyword is not None:
            value, _ = ctx.facts.definition(arg.value, scope)
            host = _host_in(ctx.module.code_for_node(value), hints.platform_hosts)
            if host is not None:
                return host
    return None


def of_url(ctx: Context, url: str) -> str | None:
    """The platform a REST URL names by its host, if it names one."""
    return _host_in(url, ctx.catalog.call_sites.platform_hosts)


def _host_in(code: str, hosts: dict[str, tuple[str, ...]] | object) -> str | None:
    for platform, names in hosts.items():  # type: ignore[union-attr]
        if any(name in code for name in names):
            return platform
    return None
