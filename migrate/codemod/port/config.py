"""Generation config, safety settings, tools and request options -> google-genai config arguments.

Each function analyses the ORIGINAL nodes (where names resolve) and returns a recipe: keyword
names with builders that read the UPDATED call (same shape, nested rewrites already applied).
Anything it cannot map raises Unportable, so the caller leaves the whole site alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import libcst as cst

from migrate.codemod.context import Context
from migrate.codemod.port.build import Path, Unportable, at, call, call_like, kw, separated, string, types_attr
from migrate.codemod.symbols import Path as QualifiedPath, Scope

Builder = Callable[[cst.Call], cst.BaseExpression]
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass
class ConfigRecipe:
    """The GenerateContentConfig keywords of one model object or one call's overrides."""

    # keyword ("**" = spread), value builder, and the builder of its original comma (holds a comment)
    items: list[tuple[str, Builder, Builder | None]] = field(default_factory=list)
    generation_keys: set[str] | None = field(default_factory=set)  # None: unknown (a spread)
    safety: list[tuple[str, str, str | None]] | None = None  # (category, threshold, method) when known
    has: set[str] = field(default_factory=set)  # which top-level groups were given
    declared_callables: bool = False  # Python functions in tools were turned into declarations
    base: Builder | None = None  # a GenerationConfig object given by name: the config starts from a copy of it

    def build(self, updated: cst.Call) -> cst.BaseExpression:
        """The model's whole config: GenerateContentConfig(...), or a copy of a named config with the rest."""
        if self.base is None:
            return call_like(types_attr("GenerateContentConfig"), self.args(updated), updated)
        entries = [cst.DictElement(string(arg.keyword.value), arg.value) for arg in self.args(updated) if arg.keyword is not None]
        copy = cst.Attribute(value=self.base(updated), attr=cst.Name("model_copy"))
        return call(copy, [kw("update", cst.Dict(separated(entries)))] if entries else [])

    def args(self, updated: cst.Call) -> list[cst.Arg]:
        out = []
        for key, build, comma in self.items:
            value = build(updated)
            arg = cst.Arg(value=value, star="**") if key == "**" else kw(key, value)
            if comma is not None:
                arg = arg.with_changes(comma=comma(updated))
            out.append(arg)
        return out


def _snake(key: str) -> str:
    return _CAMEL.sub("_", key).lower()


def _path_builder(path: Path) -> Builder:
    return lambda updated: at(updated, path)


def _legacy_name(ctx: Context, expr: cst.BaseExpression, scope: Scope) -> str | None:
    """The qualified name of a legacy SDK object this expression refers to, if it is one."""
    value = ctx.facts.resolve(expr, scope)
    if isinstance(value, QualifiedPath) and ctx.catalog.port.sdk_of(value.name):
        return value.name
    return None


def add_generation(ctx: Context, recipe: ConfigRecipe, node: cst.BaseExpression, path: Path, scope: Scope) -> None:
    """generation_config: a dict literal, a GenerationConfig(...) call, or a name bound to a dict literal."""
    fields = ctx.catalog.port.generation_fields
    if isinstance(node, cst.Name) and node.value == "None":
        return
    recipe.has.add("generation_config")
    if isinstance(node, cst.Dict):
        for index, element in enumerate(node.elements):
            if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
                raise Unportable("generation_config has keys computed at run time")
            key = _snake(str(element.key.evaluated_value))
            if key not in fields:
                raise Unportable(f"generation_config key {key!r} has no google-genai equivalent")
            recipe.items.append((key, _path_builder(path + (("element", index),)), _comma_of(path, "element", index)))
            _add_key(recipe, key)
        return
    if isinstance(node, cst.Call):
        name = _legacy_name(ctx, node.func, scope)
        if name is None or not name.endswith("GenerationConfig"):
            raise Unportable("generation_config is built by a call the tool does not know")
        for index, arg in enumerate(node.args):
            if arg.keyword is None:
                raise Unportable("GenerationConfig(...) with positional arguments")
            key = arg.keyword.value
            if key not in fields:
                raise Unportable(f"GenerationConfig field {key!r} has no google-genai equivalent")
            recipe.items.append((key, _path_builder(path + (("arg", index),)), _comma_of(path, "arg", index)))
            _add_key(recipe, key)
        return
    if isinstance(node, cst.Name):
        definition, def_scope = ctx.facts.definition(node, scope)
        if isinstance(definition, cst.Call) and (_legacy_name(ctx, definition.func, def_scope) or "").endswith("GenerationConfig"):
            if any(a.keyword is None or a.keyword.value not in fields for a in definition.args):
                raise Unportable(f"{node.value} has a field without a google-genai equivalent")
            if recipe.base is not None or any(item[0] in fields for item in recipe.items):
                raise Unportable("two generation configs to combine")
            recipe.base = _path_builder(path)  # the definition itself becomes a GenerateContentConfig (FLM205)
            recipe.generation_keys = {a.keyword.value for a in definition.args if a.keyword is not None}
            return
        if isinstance(definition, cst.Dict) and def_scope.kind == "module":
            for element in definition.elements:
                if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
                    raise Unportable(f"{node.value} has keys computed at run time")
                if _snake(str(element.key.evaluated_value)) not in fields:
                    raise Unportable(f"{node.value} has a key without a google-genai equivalent")
            recipe.items.append(("**", _path_builder(path), None))
            recipe.generation_keys = None
            return
    raise Unportable("generation_config is built at run time")


def _comma_of(path: Path, kind: str, index: int) -> Callable[[cst.Call], cst.BaseExpression]:
    """The comma after an element or argument on the updated tree (it holds a trailing comment)."""

    def comma(updated: cst.Call):
        container = at(updated, path)
        items = container.elements if kind == "element" else container.args  # type: ignore[attr-defined]
        return items[index].comma

    return comma


def _arg_comma(path: Path) -> Builder | None:
    return _comma_of(path[:-1], "arg", path[-1][1]) if path and path[-1][0] == "arg" else None


def _add_key(recipe: ConfigRecipe, key: str) -> None:
    if recipe.generation_keys is not None:
        recipe.generation_keys.add(key)


# --------------------------------------------------------------------------- safety settings


def safety_entries(ctx: Context, node: cst.BaseExpression, scope: Scope) -> list[tuple[str, str, str | None]]:
    """(category, threshold, method) triples from any legacy form: dict, list of dicts, SafetySetting objects."""
    if isinstance(node, cst.Name) and node.value != "None":
        node, scope = ctx.facts.definition(node, scope)
        if scope.kind != "module":
            raise Unportable("safety_settings are built at run time")
    if isinstance(node, cst.Dict):
        entries = []
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                raise Unportable("safety_settings dict with ** expansion")
            entries.append((_category(ctx, element.key, scope), _threshold(ctx, element.value, scope), None))
        return entries
    if isinstance(node, (cst.List, cst.Tuple)):
        entries = []
        for element in node.elements:
            value = element.value
            if isinstance(value, cst.Dict):
                found = {e.key.evaluated_value: e.value for e in value.elements if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)}
                if set(found) - {"category", "threshold", "method"} or len(found) != len(value.elements):
                    raise Unportable("a safety setting dict with unexpected keys")
                method = _method(ctx, found["method"], scope) if "method" in found else None
                entries.append((_category(ctx, found["category"], scope), _threshold(ctx, found["threshold"], scope), method))
            elif isinstance(value, cst.Call) and (_legacy_name(ctx, value.func, scope) or "").endswith("SafetySetting"):
                args = {a.keyword.value: a.value for a in value.args if a.keyword is not None}
                if len(args) != len(value.args) or set(args) - {"category", "threshold", "method"}:
                    raise Unportable("SafetySetting(...) with unexpected arguments")
                method = _method(ctx, args["method"], scope) if "method" in args else None
                entries.append((_category(ctx, args["category"], scope), _threshold(ctx, args["threshold"], scope), method))
            else:
                raise Unportable("a safety setting the tool cannot read")
        return entries
    raise Unportable("safety_settings are built at run time")


def _enum_member(ctx: Context, node: cst.BaseExpression, scope: Scope, enum: str, table: dict[str, str], prefix: str) -> str:
    if isinstance(node, cst.SimpleString):
        text = str(node.evaluated_value)
        if text.lower() in table:
            return table[text.lower()]
        if text.upper().startswith(prefix):
            return text.upper()
    if isinstance(node, cst.Integer) and node.value in table:
        return table[node.value]
    if isinstance(node, cst.Attribute):
        name = _legacy_name(ctx, node, scope)
        if name is not None and f"{enum}." in name:
            return name.rsplit(".", 1)[1]
    raise Unportable(f"a {enum} value the tool cannot read")


def _category(ctx: Context, node: cst.BaseExpression, scope: Scope) -> str:
    return _enum_member(ctx, node, scope, "HarmCategory", dict(ctx.catalog.port.harm_categories), "HARM_CATEGORY_")


def _threshold(ctx: Context, node: cst.BaseExpression, scope: Scope) -> str:
    return _enum_member(ctx, node, scope, "HarmBlockThreshold", dict(ctx.catalog.port.harm_thresholds), "BLOCK_")


def _method(ctx: Context, node: cst.BaseExpression, scope: Scope) -> str:
    return _enum_member(ctx, node, scope, "HarmBlockMethod", {}, "")


def safety_list(entries: list[tuple[str, str, str | None]]) -> cst.List:
    elements = []
    for category, threshold, method in entries:
        args = [kw("category", types_attr(f"HarmCategory.{category}")), kw("threshold", types_attr(f"HarmBlockThreshold.{threshold}"))]
        if method:
            args.append(kw("method", types_attr(f"HarmBlockMethod.{method}")))
        elements.append(cst.Element(call(types_attr("SafetySetting"), args)))
    return _list(elements)


def _list(elements: list[cst.Element]) -> cst.List:
    return cst.List(separated(elements))


def merge_safety(base: list[tuple[str, str, str | None]], override: list[tuple[str, str, str | None]]) -> list[tuple[str, str, str | None]]:
    """google-generativeai's merge: per-call settings replace the model's for the same category."""
    merged = {category: (category, threshold, method) for category, threshold, method in base}
    for entry in override:
        merged[entry[0]] = entry
    return list(merged.values())


def add_safety(ctx: Context, recipe: ConfigRecipe, node: cst.BaseExpression, scope: Scope, path: Path = ()) -> None:
    if isinstance(node, cst.Name) and node.value == "None":
        return
    entries = safety_entries(ctx, node, scope)
    recipe.safety = entries
    recipe.has.add("safety_settings")
    if isinstance(node, cst.Name) and path and _all_setting_objects(ctx, node, scope):
        recipe.items.append(("safety_settings", _path_builder(path), _arg_comma(path)))  # rewritten in place (FLM205)
        return
    recipe.items.append(("safety_settings", lambda updated, e=entries: safety_list(e), _arg_comma(path) if path else None))


def _all_setting_objects(ctx: Context, node: cst.Name, scope: Scope) -> bool:
    definition, def_scope = ctx.facts.definition(node, scope)
    return isinstance(definition, (cst.List, cst.Tuple)) and all(
        isinstance(e.value, cst.Call) and (_legacy_name(ctx, e.value.func, def_scope) or "").endswith("SafetySetting") for e in definition.elements
    )


# --------------------------------------------------------------------------- tools and the rest


def add_tools(ctx: Context, recipe: ConfigRecipe, node: cst.BaseExpression, path: Path, scope: Scope) -> None:
    if isinstance(node, cst.Name) and node.value == "None":
        return
    recipe.has.add("tools")
    if isinstance(node, cst.SimpleString) and node.evaluated_value == "code_execution":
        tool = call(types_attr("Tool"), [kw("code_execution", call(types_attr("ToolCodeExecution"), []))])
        recipe.items.append(("tools", lambda updated: _list([cst.Element(tool)]), None))
        return
    elements = node
    if isinstance(node, cst.Name):
        elements, def_scope = ctx.facts.definition(node, scope)
        scope = def_scope
    if not isinstance(elements, (cst.List, cst.Tuple)):
        raise Unportable("tools are built at run time")
    callables: list[int] = []
    for index, element in enumerate(elements.elements):
        if isinstance(element.value, cst.Name):
            binding = ctx.facts.binding_of(element.value, scope)
            if binding is not None and binding.kind == "function":
                callables.append(index)
        elif isinstance(element.value, cst.SimpleString):
            raise Unportable("a tool given by name inside a list")
    if not callables:
        recipe.items.append(("tools", _path_builder(path), _arg_comma(path)))
        return
    if elements is not node:
        raise Unportable("Python functions in a tools list defined elsewhere")
    recipe.declared_callables = True
    recipe.items.append(("tools", lambda updated: _declared(at(updated, path), callables), _arg_comma(path)))


def _declared(tools: cst.BaseExpression, callables: list[int]) -> cst.BaseExpression:
    """Python functions in tools -> one Tool of their declarations, as the legacy SDK sent them.

    The legacy SDK declared the functions and never ran them (outside an AFC chat); a declaration
    keeps exactly that: the same request, and google-genai has nothing to call automatically.
    """
    elements = list(tools.elements)  # type: ignore[attr-defined]
    declarations = [
        cst.Element(call(types_attr("FunctionDeclaration.from_callable_with_api_option"), [kw("callable", elements[i].value)]))
        for i in callables
    ]
    tool = cst.Element(call(types_attr("Tool"), [kw("function_declarations", _list(declarations))]))
    rest = [e for i, e in enumerate(elements) if i not in callables]
    return _list([tool, *rest])


def add_plain(recipe: ConfigRecipe, key: str, node: cst.BaseExpression, path: Path, new_key: str | None = None) -> None:
    if isinstance(node, cst.Name) and node.value == "None":
        return
    recipe.has.add(key)
    recipe.items.append((new_key or key, _path_builder(path), _arg_comma(path)))


def timeout_options(node: cst.BaseExpression, path: Path) -> Builder:
    """request_options={"timeout": s} -> types.HttpOptions(timeout=ms): seconds become milliseconds."""
    if not isinstance(node, cst.Dict) or len(node.elements) != 1:
        raise Unportable("request_options other than a literal {'timeout': seconds}")
    element = node.elements[0]
    if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString) or element.key.evaluated_value != "timeout":
        raise Unportable("request_options other than {'timeout': seconds} (retry policies differ in google-genai)")
    value = element.value
    if isinstance(value, (cst.Integer, cst.Float)):
        milliseconds: cst.BaseExpression = cst.Integer(str(round(float(value.value.replace("_", "")) * 1000)))
        return lambda updated: call(types_attr("HttpOptions"), [kw("timeout", milliseconds)])

    def build(updated: cst.Call) -> cst.BaseExpression:
        seconds = at(updated, path + (("element", 0),))
        product = cst.BinaryOperation(left=seconds, operator=cst.Multiply(), right=cst.Integer("1000"))
        return call(types_attr("HttpOptions"), [kw("timeout", call("int", [cst.Arg(product)]))])

    return build
