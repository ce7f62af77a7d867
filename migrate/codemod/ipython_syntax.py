"""Which lines of a notebook cell IPython rewrites before Python sees them.

Jupyter hands a cell to IPython, whose input transformers (IPython.core.inputtransformer2) turn
its own syntax into calls: a cell magic (`%%bash` on the cell's first line) makes the whole cell
a string; a line magic or shell escape (`%pip`, `!ls`, `!!ls`, `?obj`, `??obj`, and the autocall
escapes `,` `;` `/`) counts only as the first token of a logical line, so never inside a string
literal, a bracket or after a backslash continuation; `x = %magic` and `x = !cmd` are special
only right after the first top-level `=`; help `obj?` only when `?` is a logical line's last
token. An escape's backslash-continued lines belong to it. This module reproduces those rules
(the tests compare it with IPython's own TransformerManager) so the codemod masks exactly the
lines Jupyter would not give to Python. IPython is not needed at run time.
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from dataclasses import dataclass

# Cell magics whose body IPython runs as a cell again (so its own magics are transformed too).
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
_ESCAPES = frozenset("!?%,;/")
_OPENING, _CLOSING = frozenset("([{"), frozenset(")]}")
# The help target IPython accepts: a dotted name (or `x[0]`), optionally behind `%`/`%%`.
_HELP_TARGET = re.compile(r"%{0,2}(?!\d)[\w*]+(\.(?!\d)[\w*]+|\[-?[0-9]+\])*(\?\??)$")
_CLASSIC_PROMPT = re.compile(r"^(>>>|\.\.\.)( |$)")
_CLASSIC_FIRST = re.compile(r"^>>>( |$)")
_IPYTHON_PROMPT = re.compile(r"^(((\[nav\]|\[ins\])? )?In \[\d+\]: |\s*\.{3,}: ?)")
# Token errors IPython's tokenizer wrapper turns into an empty error token (then tokenizing stops).
_CAUGHT_TOKEN_ERRORS = (
    "unterminated string literal", "invalid non-printable character", "after line continuation character",
    "invalid decimal literal", "invalid binary literal", "invalid octal literal", "invalid hexadecimal literal",
    "in binary literal", "in octal literal", "expected EOF",
)  # fmt: skip
_MASKED = "_ipython_special_\n"  # what a rewritten line looks like to the next round of tokenizing


@dataclass(frozen=True)
class CellSyntax:
    """Line indices (0-based, into `source.split("\\n")`) IPython rewrites, grouped per construct."""

    spans: tuple[tuple[int, int], ...] = ()  # inclusive (first, last) line of each rewritten construct
    python_body: bool = False  # a cell magic that runs its body as Python: the body's own spans are included
    unsupported: str | None = None  # "line N: why" when IPython would strip an indent or prompts first


def classify(source: str) -> CellSyntax:
    lines = re.findall(r"[^\n]*\n|[^\n]+", source)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"  # IPython adds the final newline too
    first = next((i for i, line in enumerate(lines) if not line.isspace()), len(lines))
    if first == len(lines):
        return CellSyntax()
    if lines[first][0] in " \t":
        return CellSyntax(unsupported=f"line {first + 1}: the cell starts indented (IPython strips that indent first)")
    if _CLASSIC_FIRST.match(lines[first]) or _IPYTHON_PROMPT.match(lines[first]) or (
        first + 1 < len(lines) and (_CLASSIC_PROMPT.match(lines[first + 1]) or _IPYTHON_PROMPT.match(lines[first + 1]))
    ):
        return CellSyntax(unsupported=f"line {first + 1}: a '>>>' or 'In [n]:' prompt (IPython strips prompts first)")
    if lines[first].startswith("%%") and not re.match(r"%%\w+\?", lines[first]):
        name = lines[first][2:].rstrip().partition(" ")[0]
        if name not in PYTHON_CELL_MAGICS:
            return CellSyntax(spans=((first, len(lines) - 1),))  # the whole cell is the magic's string
        body = "".join(lines[first + 1 :])
        inner = classify(body)
        if inner.unsupported:
            return CellSyntax(python_body=True, unsupported=inner.unsupported)
        offset = first + 1
        spans = ((first, first),) + tuple((a + offset, b + offset) for a, b in inner.spans)
        return CellSyntax(spans=spans, python_body=True)
    return CellSyntax(spans=tuple(sorted(_line_specials(lines))))


# --------------------------------------------------------------------------- line-level syntax


def _line_specials(lines: list[str]) -> list[tuple[int, int]]:
    """Rewrite the earliest construct, tokenize again, repeat: what came before changes what follows."""
    lines = list(lines)
    found: list[tuple[int, int]] = []
    while True:
        span = _earliest(_logical_lines(lines), lines)
        if span is None:
            return found
        first, last = span
        found.append(span)
        indent = re.match(r"[ \t]*", lines[first]).group(0)  # type: ignore[union-attr]
        for index in range(first, last + 1):
            lines[index] = indent + _MASKED


def _logical_lines(lines: list[str]) -> list[list[tokenize.TokenInfo]]:
    """Tokens grouped per logical line: a bracketed expression or a continued line is one group."""
    groups: list[list[tokenize.TokenInfo]] = [[]]
    depth = 0
    tokens = tokenize.generate_tokens(io.StringIO("".join(lines)).readline)
    try:
        for token in tokens:
            groups[-1].append(token)
            if token.type == tokenize.NEWLINE or (token.type == tokenize.NL and depth <= 0):
                groups.append([])
            elif token.type == tokenize.OP and token.string in _OPENING:
                depth += 1
            elif token.type == tokenize.OP and token.string in _CLOSING and depth > 0:
                depth -= 1
    except tokenize.TokenError as exc:  # input ends inside a string or brackets: the rest is one group
        if any(message in str(exc.args[0]) for message in _CAUGHT_TOKEN_ERRORS):
            last = groups[-1][-1] if groups[-1] else None
            position = (last.start[0], last.end[0]) if last else (1, 0)
            groups[-1].append(tokenize.TokenInfo(tokenize.ERRORTOKEN, "", position, position, last.line if last else ""))
    except SyntaxError:  # an inconsistent dedent: IPython gives up on the cell here, so do we
        pass
    if not groups[-1]:
        groups.pop()
    return groups


def _earliest(groups, lines: list[str]) -> tuple[int, int] | None:
    """The first construct IPython would rewrite, as an inclusive line span; None when there is none.

    Each kind proposes only its first occurrence; the earliest proposal wins (help first on a tie);
    a help proposal whose target IPython cannot parse gives way to the next one.
    """
    proposals = []
    for kind, priority in ((_magic_assign, 10), (_system_assign, 10), (_escape, 10), (_help, 5)):
        proposal = kind(groups, lines)
        if proposal is not None:
            (row, col), span = proposal
            proposals.append((row, col, priority, span))
    for *_, span in sorted(proposals, key=lambda p: p[:3]):
        if span is not None:
            return span
    return None


def _continued_end(lines: list[str], row: int) -> int:
    """The last line joined to `row` by a backslash right before the newline."""
    while row < len(lines) - 1 and lines[row].endswith("\\\n"):
        row += 1
    return row


def _first_top_level_assign(group) -> int | None:
    depth = 0
    for index, token in enumerate(group):
        if token.string == "=" and depth == 0:
            return index
        if token.string in _OPENING:
            depth += 1
        elif token.string in _CLOSING and depth > 0:
            depth -= 1
    return None


def _magic_assign(groups, lines):
    for group in groups:
        at = _first_top_level_assign(group)
        if at is not None and at + 2 < len(group) and group[at + 1].string == "%" and group[at + 2].type == tokenize.NAME:
            row = group[at + 1].start[0] - 1
            return group[at + 1].start, (row, _continued_end(lines, row))
    return None


def _system_assign(groups, lines):
    for group in groups:
        at = _first_top_level_assign(group)
        if at is None or group[at].line.strip().startswith("=") or at + 1 >= len(group):
            continue
        bang = _bang_after(group, at + 1)
        if bang is not None:
            row = bang.start[0] - 1
            return bang.start, (row, _continued_end(lines, row))
    return None


def _bang_after(group, index: int):
    """The `!` right after the `=` (before 3.12 the tokenizer yields blanks as error tokens first)."""
    if sys.version_info >= (3, 12):
        token = group[index]
        return token if token.type == tokenize.OP and token.string == "!" else None
    while index < len(group) and group[index].type == tokenize.ERRORTOKEN:
        if group[index].string == "!":
            return group[index]
        if not group[index].string.isspace():
            return None
        index += 1
    return None


def _first_real(group) -> int:
    index = 0
    while index < len(group) and group[index].type in (tokenize.INDENT, tokenize.DEDENT):
        index += 1
    return index


def _escape(groups, lines):
    for group in groups:
        index = _first_real(group)
        if index < len(group) and group[index].string in _ESCAPES:
            row = group[index].start[0] - 1
            return group[index].start, (row, _continued_end(lines, row))
    return None


def _help(groups, lines):
    for group in groups:
        if len(group) > 2 and group[-2].string == "?":
            start = group[_first_real(group)].start
            first, last = start[0] - 1, group[-2].start[0] - 1
            content = "".join(lines[first : last + 1])[start[1] :]
            return start, ((first, last) if _HELP_TARGET.search(content) else None)
    return None
