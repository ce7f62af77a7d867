"""Unified diffs that `git apply` accepts: built on bytes, so encodings and CRLF survive."""

from __future__ import annotations

import difflib
import re
from typing import Callable

NO_NEWLINE = b"\\ No newline at end of file\n"


def unified_diff(old: bytes, new: bytes, path: str, section: Callable[[int], str | None] | None = None) -> bytes:
    """A git-style diff of one file (a/ and b/ prefixes), with the no-newline marker where needed.

    `section(first changed old line)` may name where a hunk is, after its `@@ ... @@` header (as git
    does with function names; `git apply` ignores it): notebooks name the cell.
    """
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    name = path.replace("\\", "/").encode("utf-8", "surrogateescape")
    out = [b"diff --git a/" + name + b" b/" + name + b"\n"]
    for line in difflib.diff_bytes(difflib.unified_diff, old_lines, new_lines, b"a/" + name, b"b/" + name, n=3, lineterm=b""):
        if line.startswith((b"---", b"+++")):
            out.append(line.rstrip(b"\n") + b"\n")
        elif line.startswith(b"@@"):
            out.append(line.rstrip(b"\n") + _section(line, section) + b"\n")
        elif line.endswith(b"\n"):
            out.append(line)
        else:  # the last line of a file without a trailing newline
            out.append(line + b"\n" + NO_NEWLINE)
    return b"".join(out)


def _section(header: bytes, section: Callable[[int], str | None] | None) -> bytes:
    """The name of the hunk's first changed line: after the (at most 3) leading context lines."""
    match = re.match(rb"@@ -(\d+)(?:,(\d+))? ", header) if section is not None else None
    if match is None:
        return b""
    first, count = int(match.group(1)), int(match.group(2) or 1)
    name = section(max(first, min(first + 3, first + count - 1)))  # type: ignore[misc]
    return b" " + name.encode("utf-8") if name else b""


def colorize(diff: bytes) -> bytes:
    """ANSI colours for a terminal: additions green, removals red, hunk headers cyan."""
    coloured = []
    for line in diff.splitlines(keepends=True):
        if line.startswith((b"+++", b"---", b"diff --git")):
            coloured.append(b"\x1b[1m" + line.rstrip(b"\r\n") + b"\x1b[0m\n")
        elif line.startswith(b"+"):
            coloured.append(b"\x1b[32m" + line.rstrip(b"\r\n") + b"\x1b[0m\n")
        elif line.startswith(b"-"):
            coloured.append(b"\x1b[31m" + line.rstrip(b"\r\n") + b"\x1b[0m\n")
        elif line.startswith(b"@@"):
            coloured.append(b"\x1b[36m" + line.rstrip(b"\r\n") + b"\x1b[0m\n")
        else:
            coloured.append(line)
    return b"".join(coloured)
