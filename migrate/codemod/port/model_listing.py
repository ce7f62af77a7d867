"""What the model-listing port must know beyond port.yaml (google-generativeai 0.8.6 models.py).

get_model("tunedModels/...") gave a TunedModel (state, source_model, tuning_task, ...); google-genai
gives a Model with tuned_model_info: not the same object, so it stays for a person. get_model also
took a Model; google-genai's models.get takes a name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import libcst as cst

from migrate.codemod.context import Context
from migrate.codemod.port.build import Unportable, string_value
from migrate.codemod.symbols import Literal, Scope

if TYPE_CHECKING:
    from migrate.codemod.port.functions import PlannedCall

TAKES_MODEL = "google.generativeai.get_model"  # the function whose argument may be a Model


def plan_get(ctx: Context, planned: "PlannedCall", is_result: Callable[[cst.BaseExpression, Scope, str], bool]) -> None:
    site = planned.site
    value, is_model = planned.name_argument(is_result, "model")
    if value is None or is_model:
        return
    resolved = ctx.facts.resolve(value, site.scope)
    text = string_value(resolved.node) if isinstance(resolved, Literal) else None
    if text is not None and text.startswith("tunedModels/"):
        raise Unportable("get_model of a tuned model: google-genai returns a Model with tuned_model_info, not a TunedModel; port by hand")
