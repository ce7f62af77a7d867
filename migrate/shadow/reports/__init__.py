"""Renderers of the verdict document (verdict.compute): pure, data in -> text out.

    terminal  rich, for people at a shell          (terminal.render / terminal.to_text)
    json      the document itself, versioned       (json_report.render)
    md        a pull-request comment               (markdown.render)
    junit     JUnit XML for CI, one case per gate and per slice (junit.render)
    html      one self-contained file with inline SVG charts, no external assets (html.render)
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

FORMATS = ("terminal", "html", "md", "json", "junit")
ALIASES = {"markdown": "md", "xml": "junit", "text": "terminal", "table": "terminal"}


def renderer(fmt: str) -> Callable[[Mapping[str, Any]], str]:
    """The text renderer for a format name (terminal renders without colour here)."""
    from migrate.errors import UserError

    name = ALIASES.get(fmt.lower(), fmt.lower())
    if name == "terminal":
        from migrate.shadow.reports.terminal import to_text

        return to_text
    if name == "json":
        from migrate.shadow.reports.json_report import render

        return render
    if name == "md":
        from migrate.shadow.reports.markdown import render

        return render
    if name == "junit":
        from migrate.shadow.reports.junit import render

        return render
    if name == "html":
        from migrate.shadow.reports.html import render

        return render
    raise UserError(f"--format must be one of {', '.join(FORMATS)} (or markdown), not {fmt!r}")
