"""Small CST builders for generated code. Pure functions; the placeholders are resolved by imports.py."""

from __future__ import annotations

import libcst as cst

GENAI = "__flm_genai__"
TYPES = "__flm_types__"
ERRORS = "__flm_errors__"
OS = "__flm_os__"


class Unportable(Exception):
    """This site cannot be ported automatically; the message is the reason shown in the TODO."""


def dotted(path: str) -> cst.BaseExpression:
    parts = path.split(".")
    node: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def types_attr(path: str) -> cst.BaseExpression:
    return dotted(f"{TYPES}.{path}")


def string(text: str) -> cst.SimpleString:
    return cst.SimpleString(repr(text) if '"' in text else f'"{text}"')


def kw(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        keyword=cst.Name(name), value=value,
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )  # fmt: skip


def call(func: cst.BaseExpression | str, args: list[cst.Arg]) -> cst.Call:
    func_node = dotted(func) if isinstance(func, str) else func
    return cst.Call(func=func_node, args=separated(args))


def call_like(func: cst.BaseExpression, args: list[cst.Arg], original: cst.Call) -> cst.Call:
    """A new call laid out like `original`: one argument per line when it was, trailing comma kept.

    An argument moved from the original keeps the comment that followed it; every line break
    takes the original call's indentation.
    """
    if not args:
        return cst.Call(func=func)
    if not isinstance(original.whitespace_before_args, cst.ParenthesizedWhitespace):
        return cst.Call(func=func, args=separated(args))
    broken = [a.comma for a in original.args if isinstance(a.comma, cst.Comma) and isinstance(a.comma.whitespace_after, cst.ParenthesizedWhitespace)]
    template = _bare(broken[0]) if broken else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    last = original.args[-1].comma if original.args else cst.MaybeSentinel.DEFAULT
    trailing = isinstance(last, cst.Comma)
    closing = _bare(last) if trailing else None
    out = []
    for index, arg in enumerate(args):
        own = arg.comma
        is_last = index == len(args) - 1
        if is_last and not trailing:
            comma = cst.MaybeSentinel.DEFAULT
        else:
            base = closing if is_last else template
            comma = base
            if isinstance(own, cst.Comma) and isinstance(own.whitespace_after, cst.ParenthesizedWhitespace) and isinstance(base.whitespace_after, cst.ParenthesizedWhitespace):
                comma = base.with_changes(whitespace_after=base.whitespace_after.with_changes(first_line=own.whitespace_after.first_line))
        out.append(arg.with_changes(comma=comma))
    return cst.Call(func=func, args=out, whitespace_before_args=original.whitespace_before_args)


def _bare(comma: cst.Comma) -> cst.Comma:
    """The same comma and line break without the comment that followed it."""
    after = comma.whitespace_after
    if isinstance(after, cst.ParenthesizedWhitespace):
        return comma.with_changes(whitespace_after=after.with_changes(first_line=cst.TrailingWhitespace()))
    return comma


def separated(items: list) -> list:
    """Arguments, list or dict elements separated by ', ' (the last without a comma)."""
    last = len(items) - 1
    return [
        item.with_changes(comma=cst.MaybeSentinel.DEFAULT if i == last else cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        for i, item in enumerate(items)
    ]


def keyword_value(call_node: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call_node.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def string_value(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString) and "b" not in node.prefix.lower():
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


Path = tuple[tuple[str, int], ...]


def at(node: cst.CSTNode, path: Path) -> cst.BaseExpression:
    """The node reached from `node` by a path of (arg i) / (element i) / (key i) steps.

    Recipes record paths on the original tree and follow them on the updated one, whose shape is
    the same, so rewrites of nested nodes (legacy types inside a config) compose.
    """
    current = node
    for kind, index in path:
        if kind == "arg":
            current = current.args[index].value  # type: ignore[attr-defined]
        elif kind == "element":
            current = current.elements[index].value  # type: ignore[attr-defined]
        elif kind == "key":
            current = current.elements[index].key  # type: ignore[attr-defined]
        else:  # pragma: no cover - a programming error
            raise ValueError(kind)
    return current  # type: ignore[return-value]
