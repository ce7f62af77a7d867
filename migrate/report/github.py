"""GitHub Actions workflow commands: one annotation per finding, shown on the pull request's diff.
Printed (to stdout) when GITHUB_ACTIONS=true, or with --format github."""

from __future__ import annotations

from migrate.report.sites import Site


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def level(site: Site) -> str:
    if site.blocking:
        return "error"
    return "notice" if site.after is None else "warning"


def annotations(sites: list[Site]) -> str:
    lines = []
    for site in sites:
        where = f"cell {site.cell}, line {site.line}: " if site.cell is not None else ""
        title = f"{site.rule} ({site.tier})"
        column = f",col={site.column}" if site.cell is None else ""  # a cell's column is not the file's
        lines.append(
            f"::{level(site)} file={_property(site.file)},line={site.file_line}{column},"
            f"title={_property(title)}::{_data(where + site.message)}"
        )
    return "".join(line + "\n" for line in lines)
