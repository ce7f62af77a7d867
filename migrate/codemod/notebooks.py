"""Jupyter notebooks, cell by cell, keeping every byte outside the edited cells.

The code cells become one virtual module, so an import in cell 1 resolves a call in cell 5. A
boundary statement goes before each cell (a statement, not a comment: a transform that replaces a
cell's first statement keeps it), and what IPython rewrites before Python sees it (`%pip install`,
`!pip`, `%%bash` cells, `x = !ls`, `obj?`; the rules are in ipython_syntax) is masked by
placeholder names. The engine processes that module like any .py file; the output is cut back
into cells at the boundaries and the masked lines are restored.

Only the `source` value of a cell that changed is re-encoded, in the notebook's own style (a list
of lines or one string, its indentation, its ASCII escaping), and spliced into the original JSON
text: outputs, metadata, execution counts, key order, indentation and the trailing newline are
never re-serialised. Findings carry the cell number (1-based, counting every cell as Jupyter shows
them) and the line within the cell.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from json.decoder import scanstring
from pathlib import Path

from migrate.codemod import ipython_syntax
from migrate.codemod.findings import FileResult, Finding
from migrate.settings import Settings

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class CellSpan:
    number: int  # 1-based, every cell counted
    cell_type: str
    start: int  # the cell object's span in the JSON text
    end: int
    source_start: int  # the `source` value's span
    source_end: int
    items: tuple[tuple[int, int], ...] | None  # spans of the list items; None when source is one string
    source: str


class NotANotebook(ValueError):
    pass


# --------------------------------------------------------------------------- JSON with positions


def _ws(text: str, i: int) -> int:
    return _WS.match(text, i).end()  # type: ignore[union-attr]


def _members(text: str, i: int):
    """(key, value start, value end) of the object at text[i] == '{'."""
    if text[i] != "{":
        raise NotANotebook("expected a JSON object")
    i = _ws(text, i + 1)
    if text[i] == "}":
        return
    while True:
        if text[i] != '"':
            raise NotANotebook("expected a key")
        key, i = scanstring(text, i + 1)
        i = _ws(text, i)
        if text[i] != ":":
            raise NotANotebook("expected ':'")
        start = _ws(text, i + 1)
        _, end = _DECODER.raw_decode(text, start)
        yield key, start, end
        i = _ws(text, end)
        if text[i] == ",":
            i = _ws(text, i + 1)
        elif text[i] == "}":
            return
        else:
            raise NotANotebook("expected ',' or '}'")


def _items(text: str, i: int):
    """(start, end) of each item of the array at text[i] == '['."""
    if text[i] != "[":
        raise NotANotebook("expected a JSON array")
    i = _ws(text, i + 1)
    if text[i] == "]":
        return
    while True:
        _, end = _DECODER.raw_decode(text, i)
        yield i, end
        i = _ws(text, end)
        if text[i] == ",":
            i = _ws(text, i + 1)
        elif text[i] == "]":
            return
        else:
            raise NotANotebook("expected ',' or ']'")


def scan(text: str) -> tuple[list[CellSpan], dict]:
    """Every cell with the positions of its JSON, plus the notebook-level metadata."""
    start = _ws(text, 0)
    cells: list[CellSpan] = []
    metadata: dict = {}
    try:
        for key, value_start, value_end in _members(text, start):
            if key == "metadata":
                metadata = json.loads(text[value_start:value_end])
            elif key == "cells":
                for number, (cell_start, cell_end) in enumerate(_items(text, value_start), start=1):
                    cells.append(_cell(text, number, cell_start, cell_end))
    except (IndexError, json.JSONDecodeError) as exc:
        raise NotANotebook(f"not valid JSON ({exc})") from None
    if _ws(text, _DECODER.raw_decode(text, start)[1]) != len(text):
        raise NotANotebook("extra data after the JSON document")
    return cells, metadata if isinstance(metadata, dict) else {}


def _cell(text: str, number: int, start: int, end: int) -> CellSpan:
    cell_type, source_span, items, source = "", None, None, ""
    for key, value_start, value_end in _members(text, start):
        if key == "cell_type":
            cell_type = json.loads(text[value_start:value_end])
        elif key == "source":
            source_span = (value_start, value_end)
            value = json.loads(text[value_start:value_end])
            if isinstance(value, list):
                if not all(isinstance(line, str) for line in value):
                    raise NotANotebook(f"cell {number}: source is not a list of strings")
                items = tuple(_items(text, value_start))
                source = "".join(value)
            elif isinstance(value, str):
                source = value
            else:
                raise NotANotebook(f"cell {number}: source is neither a string nor a list")
    if source_span is None:
        raise NotANotebook(f"cell {number} has no source")
    return CellSpan(number, str(cell_type), start, end, source_span[0], source_span[1], items, source)


def _decode(data: bytes) -> tuple[str, bytes]:
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    try:
        text = data[len(bom) :].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotANotebook(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return text, bom


# --------------------------------------------------------------------------- magics


class UnsupportedCell(ValueError):
    """A cell IPython would reshape before running it (a leading indent, `>>>` prompts)."""


def _mask(cell: CellSpan, placeholder: str, masks: dict[str, str]) -> str:
    """Replace what IPython rewrites (ipython_syntax) with `<indent>__flm_magic_…__`, one per line.

    Every masked line keeps its construct's indent, so an escape inside a block (or its
    backslash-continued lines) still leaves a valid block; `masks` maps placeholder -> original.
    """
    syntax = ipython_syntax.classify(cell.source)
    if syntax.unsupported:
        raise UnsupportedCell(f"unsupported IPython input at cell {cell.number}, {syntax.unsupported}; flm does not rewrite such cells")
    lines = cell.source.split("\n")
    for first, last in syntax.spans:
        indent = re.match(r"[ \t]*", lines[first]).group(0)  # type: ignore[union-attr]
        for index in range(first, last + 1):
            name = f"{placeholder}{len(masks)}__"
            masks[name] = lines[index]
            lines[index] = indent + name
    return "\n".join(lines)


def _unmask(text: str, masks: dict[str, str], placeholder: str) -> str:
    pattern = re.compile(r"^[ \t]*(" + re.escape(placeholder) + r"\d+__)[ \t]*$", re.MULTILINE)
    return pattern.sub(lambda m: masks[m.group(1)], text)


# --------------------------------------------------------------------------- the virtual module


@dataclass
class Virtual:
    text: str
    line_map: list[tuple[int, int] | None]  # virtual line (index = line number) -> (cell, line in cell)
    boundary: str
    placeholder: str
    masks: dict[str, str]
    code_cells: list[CellSpan]


def build_virtual(cells: list[CellSpan], token: str) -> Virtual:
    boundary = f"__flm_cell_{token}__"
    placeholder = f"__flm_magic_{token}_"
    masks: dict[str, str] = {}
    parts: list[str] = []
    line_map: list[tuple[int, int] | None] = [None]
    code = [cell for cell in cells if cell.cell_type == "code"]
    for cell in code:
        parts.append(f"{boundary}({cell.number})\n")
        line_map.append(None)
        body = _mask(cell, placeholder, masks)
        if body and not body.endswith("\n"):
            body += "\n"
        parts.append(body)
        line_map.extend((cell.number, n) for n in range(1, body.count("\n") + 1))
    return Virtual("".join(parts), line_map, boundary, placeholder, masks, code)


def split_virtual(virtual: Virtual, new_text: str) -> dict[int, str] | None:
    """Cell number -> new source for every code cell, or None when the cell boundaries did not survive."""
    pattern = re.compile(r"^" + re.escape(virtual.boundary) + r"\((\d+)\)\n", re.MULTILINE)
    pieces = pattern.split(new_text)
    numbers = [int(n) for n in pieces[1::2]]
    if numbers != [cell.number for cell in virtual.code_cells]:
        return None
    bodies = pieces[2::2]
    if pieces[0] and bodies:  # a statement inserted above the first boundary belongs to the first cell
        bodies[0] = pieces[0] + bodies[0]
    out: dict[int, str] = {}
    for cell, body in zip(virtual.code_cells, bodies):
        restored = _unmask(body, virtual.masks, virtual.placeholder)
        if virtual.placeholder in restored:
            return None
        if not cell.source.endswith("\n") and restored.endswith("\n"):
            restored = restored[:-1]
        out[cell.number] = restored
    return out


# --------------------------------------------------------------------------- re-encoding a cell


def _split_lines(source: str) -> list[str]:
    return re.findall(r"[^\n]*\n|[^\n]+", source)


def _indent_unit(text: str) -> str:
    match = re.search(r"\n([ \t]+)\S", text)
    return match.group(1) if match else " "


def _encode(text: str, cell: CellSpan, source: str, ascii_only: bool) -> str:
    if cell.items is None:
        return json.dumps(source, ensure_ascii=ascii_only)
    lines = [json.dumps(line, ensure_ascii=ascii_only) for line in _split_lines(source)]
    if not lines:
        return "[]"
    items = cell.items
    if items:
        open_ws = text[cell.source_start + 1 : items[0][0]]
        close_ws = text[items[-1][1] : cell.source_end - 1]
        separator = text[items[0][1] : items[1][0]] if len(items) > 1 else "," + open_ws
    else:  # the cell was empty: indent like the notebook does
        line_start = text.rfind("\n", 0, cell.source_start) + 1
        indent = re.match(r"[ \t]*", text[line_start:]).group(0)  # type: ignore[union-attr]
        if "\n" in text[cell.start : cell.end]:
            unit = _indent_unit(text)
            open_ws, close_ws = "\n" + indent + unit, "\n" + indent
        else:
            open_ws, close_ws = "", ""
        separator = "," + open_ws
    return "[" + open_ws + separator.join(lines) + close_ws + "]"


def _ascii_only(text: str, cells: list[CellSpan]) -> bool:
    """Did the writer escape non-ASCII characters (ensure_ascii)? Then so do we."""
    return text.isascii() and any(not cell.source.isascii() for cell in cells)


# --------------------------------------------------------------------------- the processor


NBFORMAT_3_REASON = "nbformat 3 notebook (cells under `worksheets`) is not read; convert it first: jupyter nbconvert --to notebook --nbformat 4"


def _is_nbformat_3(text: str) -> bool:
    """Version 3 keeps cells in worksheets[].cells with `input` for the source; scan() sees no cells."""
    document = json.loads(text)
    return isinstance(document, dict) and ("worksheets" in document or document.get("nbformat") == 3)


def migrate_notebook(data: bytes, settings: Settings, path: Path = Path("<notebook>")) -> FileResult:
    from migrate.codemod.engine import migrate_source

    try:
        text, bom = _decode(data)
        cells, metadata = scan(text)
    except NotANotebook as exc:
        return FileResult(path, "skipped", reason=f"not a notebook: {exc}")
    if not cells and _is_nbformat_3(text):
        return FileResult(path, "skipped", reason=NBFORMAT_3_REASON)
    language = _language(metadata)
    if language not in (None, "python"):
        return FileResult(path, "skipped", reason=f"not a Python notebook (language {language})")
    token = hashlib.sha256(data).hexdigest()[:10]
    try:
        virtual = build_virtual(cells, token)
    except UnsupportedCell as exc:
        return FileResult(path, "skipped", reason=str(exc))
    result = migrate_source(virtual.text.encode("utf-8"), settings, path=path)
    findings = [_locate(f, virtual) for f in result.findings]
    reason = _locate_reason(result.reason, virtual)
    carried = {"port": result.port, "shared": result.shared}
    if result.status != "changed":
        return FileResult(path, result.status, findings, reason=reason, parsed=result.parsed, **carried)
    assert result.new_bytes is not None
    new_sources = split_virtual(virtual, result.new_bytes.decode("utf-8"))
    if new_sources is None:
        unapplied = [replace(f, applied=False) for f in findings]
        return FileResult(path, "error", unapplied, reason="the rewrite would move code across cells; notebook left untouched", parsed=True)
    ascii_only = _ascii_only(text, cells)
    out, last = [], 0
    for cell in virtual.code_cells:
        new_source = new_sources[cell.number]
        if new_source == cell.source:
            continue
        out.append(text[last : cell.source_start])
        out.append(_encode(text, cell, new_source, ascii_only))
        last = cell.source_end
    if not out:
        return FileResult(path, "unchanged", findings, parsed=True, **carried)
    out.append(text[last:])
    new_text = "".join(out)
    try:
        json.loads(new_text)
    except json.JSONDecodeError as exc:  # pragma: no cover - a bug guard: never write a broken notebook
        return FileResult(path, "error", findings, reason=f"re-encoded notebook is not valid JSON ({exc}); left untouched", parsed=True)
    return FileResult(path, "changed", findings, old_bytes=data, new_bytes=bom + new_text.encode("utf-8"), parsed=True, **carried)


def _language(metadata: dict) -> str | None:
    for section, key in (("kernelspec", "language"), ("language_info", "name")):
        value = metadata.get(section, {}).get(key) if isinstance(metadata.get(section), dict) else None
        if isinstance(value, str) and value:
            return value.lower()
    return None


def _locate(finding: Finding, virtual: Virtual) -> Finding:
    where = virtual.line_map[finding.line] if 0 < finding.line < len(virtual.line_map) else None
    if where is None:
        return finding
    return replace(finding, cell=where[0], line=where[1])


def _locate_reason(reason: str | None, virtual: Virtual) -> str | None:
    """Line numbers of the virtual module in a reason become the notebook's own "cell N, line M"."""
    if not reason:
        return reason

    def where(line: int) -> tuple[int, int] | None:
        return virtual.line_map[line] if 0 < line < len(virtual.line_map) else None

    def cell_line(match: re.Match[str]) -> str:
        found = where(int(match.group(1)))
        return f"cell {found[0]}, line {found[1]}" if found else match.group(0)

    return re.sub(r"\bline (\d+)", cell_line, reason)


# --------------------------------------------------------------------------- for reports


def cell_ranges(data: bytes) -> list[tuple[int, int, int]]:
    """(first JSON line, last JSON line, cell number) of each cell object: diffs name the cell."""
    try:
        text, _ = _decode(data)
        cells, _ = scan(text)
    except NotANotebook:
        return []
    return [(text.count("\n", 0, c.start) + 1, text.count("\n", 0, c.end) + 1, c.number) for c in cells]


def json_line(data: bytes, cell_number: int, line: int) -> int | None:
    """The line of the .ipynb file holding line `line` of cell `cell_number` (SARIF regions)."""
    try:
        text, _ = _decode(data)
        cells, _ = scan(text)
    except NotANotebook:
        return None
    for cell in cells:
        if cell.number != cell_number:
            continue
        if cell.items and 0 < line <= len(cell.items):
            return text.count("\n", 0, cell.items[line - 1][0]) + 1
        return text.count("\n", 0, cell.source_start) + 1
    return None


def cell_lines(data: bytes) -> dict[int, list[str]]:
    """Cell number -> its source lines (baseline fingerprints read the line a finding is on)."""
    try:
        text, _ = _decode(data)
        cells, _ = scan(text)
    except NotANotebook:
        return {}
    return {cell.number: cell.source.split("\n") for cell in cells}


def code_size(data: bytes) -> int:
    """Bytes of source in the code cells (UTF-8): what the file-size limit applies to."""
    text, _ = _decode(data)
    cells, _ = scan(text)
    return sum(len(c.source.encode("utf-8", "replace")) for c in cells if c.cell_type == "code")


def code_text(data: bytes) -> str:
    """The code cells as one module, IPython lines masked: for read-only analysis of other modules."""
    text, _ = _decode(data)
    cells, _ = scan(text)
    try:
        return build_virtual(cells, "analysis").text
    except UnsupportedCell:
        return ""
