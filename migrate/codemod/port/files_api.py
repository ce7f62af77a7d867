"""What the Files API port must know beyond the data in port.yaml (google-generativeai 0.8.6 files.py).

- upload_file gave an upload of a path the path's file name as display name; google-genai sends
  none, so the port passes it. A file object got none, as before.
- delete_file took a File or a name; google-genai's files.delete takes a name.
- File.delete() has no google-genai counterpart on the object: it becomes client.files.delete(name=...).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import TYPE_CHECKING, Callable

import libcst as cst

from migrate.codemod.context import Context
from migrate.codemod.port.build import OS, Unportable, call, dotted, kw, string, string_value
from migrate.codemod.symbols import Path, Scope

if TYPE_CHECKING:
    from migrate.codemod.port.functions import PlannedCall

TAKES_FILE = "google.generativeai.delete_file"  # the function whose argument may be a File
PATH_MAKERS = {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "os.path.join", "os.path.abspath", "os.path.expanduser"}
FILE_OPENERS = {"open", "io.open", "io.BytesIO", "io.BufferedReader"}
IsResult = Callable[[cst.BaseExpression, Scope, str], bool]


def plan_upload(ctx: Context, planned: "PlannedCall", is_result: IsResult) -> None:
    site = planned.site
    index = planned.args.get("path")
    if "display_name" in planned.args or index is None:
        return
    value = site.call.args[index].value
    text = string_value(ctx.facts.definition(value, site.scope)[0])  # a literal, or a name bound once to one
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Divide):
        text = string_value(value.right)  # folder / "name.jpg": the name is the last part
        text = text if text is not None and PurePath(text).name else None
    if text is not None:
        name = PurePath(text).name  # legacy: pathlib.Path(path).name
        if name:
            planned.config_extra.append(("display_name", lambda _: string(name)))
        return
    if _is_opened_file(ctx, value, site.scope):
        return  # legacy: no display name for a file object
    if not _repeatable(value):
        raise Unportable("upload_file of a path computed in the call: bind it to a name first, so the port can pass the display name the legacy SDK took from it")
    if "mime_type" in planned.args and not _is_path(ctx, value, site.scope):
        raise Unportable("upload_file of a value that may be a path or an open file: pass display_name= (the legacy SDK named uploads of a path only)")
    planned.config_extra.append(("display_name", lambda updated: call(dotted(f"{OS}.path.basename"), [cst.Arg(updated.args[index].value.deep_clone())])))


def plan_delete(ctx: Context, planned: "PlannedCall", is_result: IsResult) -> None:
    value, is_file = planned.name_argument(is_result, "file")
    if value is not None and not is_file and not _is_text(ctx, value, planned.site.scope):
        raise Unportable("delete_file of a value that may be a File or a name: pass the file's name (google-genai's files.delete takes a name only)")


def plan_file_delete(ctx: Context, attribute: cst.Attribute, parents: dict[int, cst.CSTNode], client: cst.BaseExpression) -> None:
    """`f.delete()` on an uploaded File -> `client.files.delete(name=f.name)`."""
    call_node = parents.get(id(attribute))
    if not (isinstance(call_node, cst.Call) and call_node.func is attribute and not call_node.args):
        raise Unportable("File.delete used other than as a call without arguments")

    def build(updated: cst.Call) -> cst.Call:
        receiver = updated.func.value  # type: ignore[attr-defined]
        func = cst.Attribute(value=cst.Attribute(value=client.deep_clone(), attr=cst.Name("files")), attr=cst.Name("delete"))
        return call(func, [kw("name", cst.Attribute(value=receiver, attr=cst.Name("name")))])

    ctx.replace("FLM213", call_node, build, before="File.delete()", after="client.files.delete(name=...)", old="File.delete()", new="client.files.delete(name=...)")


def _repeatable(node: cst.BaseExpression) -> bool:
    """An expression that can be written twice without doing anything twice (names, attributes, path joins)."""
    if isinstance(node, (cst.Name, cst.SimpleString)):
        return True
    if isinstance(node, cst.Attribute):
        return _repeatable(node.value)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Divide, cst.Add)):
        return _repeatable(node.left) and _repeatable(node.right)
    if isinstance(node, cst.FormattedString):
        return all(_repeatable(p.expression) for p in node.parts if isinstance(p, cst.FormattedStringExpression))
    return False


def _is_path(ctx: Context, node: cst.BaseExpression, scope: Scope) -> bool:
    definition, where = ctx.facts.definition(node, scope)
    if isinstance(definition, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
        return True
    if isinstance(definition, cst.BinaryOperation) and isinstance(definition.operator, cst.Divide):
        return True
    if isinstance(definition, cst.Call):
        value = ctx.facts.resolve(definition.func, where)
        return isinstance(value, Path) and value.name in PATH_MAKERS
    return False


def _is_opened_file(ctx: Context, node: cst.BaseExpression, scope: Scope) -> bool:
    """`with open(...) as f: upload_file(f, ...)`, or `upload_file(open(...))`."""
    if isinstance(node, cst.Call):
        return _opener(ctx, node, scope)
    if not isinstance(node, cst.Name):
        return False
    found = ctx.facts.lookup(node.value, scope)
    if found is None or len(found[0]) != 1:
        return False

    class Find(cst.CSTVisitor):
        hit = False

        def visit_WithItem(self, item: cst.WithItem) -> None:
            if item.asname is not None and isinstance(item.asname.name, cst.Name) and item.asname.name.value == node.value:
                self.hit = self.hit or (isinstance(item.item, cst.Call) and _opener(ctx, item.item, scope))

    finder = Find()
    ctx.module.visit(finder)
    return finder.hit


def _opener(ctx: Context, node: cst.Call, scope: Scope) -> bool:
    if isinstance(node.func, cst.Name) and node.func.value == "open":
        return True
    value = ctx.facts.resolve(node.func, scope)
    return isinstance(value, Path) and value.name in FILE_OPENERS


def _is_text(ctx: Context, node: cst.BaseExpression, scope: Scope) -> bool:
    definition, _ = ctx.facts.definition(node, scope)
    if isinstance(definition, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
        return True
    return isinstance(definition, cst.Attribute) and definition.attr.value in ("name", "uri")
