"""A Markdown summary for a pull-request comment: counts, per-rule table, the sites, and the diff
folded away. Kept under GitHub's 65,536-character comment limit."""

from __future__ import annotations

from collections import Counter

from migrate.catalog import Rule
from migrate.report.sites import Site
from migrate.report.summary import RunSummary

LIMIT = 60_000
MAX_ROWS = 200


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "'")


def document(sites: list[Site], summary: RunSummary, rules: dict[str, Rule], warnings: list[str], patch: bytes = b"",
             skipped: list[tuple[str, str]] = (), title: str = "flashlite-migrate") -> str:  # fmt: skip
    lines = [f"## {title}", ""]
    blocking = sum(s.blocking for s in sites)
    lines.append(
        f"**{summary.changed}** file{'s' if summary.changed != 1 else ''} to change · **{summary.edits}** edits · "
        f"**{summary.findings}** other findings · {summary.files} files seen, {summary.candidates} candidates"
        + (f" · **{blocking}** blocking" if blocking else "")
    )
    lines.append("")
    for warning in warnings:
        lines.append(f"> ⚠️ {_cell(warning)}")
        lines.append("")
    if sites:
        counts = Counter(s.rule for s in sites)
        lines += ["| Rule | Tier | Sites | What |", "|---|---|---:|---|"]
        for rule_id, count in sorted(counts.items()):
            rule = rules.get(rule_id)
            lines.append(f"| `{rule_id}` | {rule.tier if rule else ''} | {count} | {_cell(rule.title) if rule else ''} |")
        lines += ["", "| Location | Rule | Tier | Message |", "|---|---|---|---|"]
        for site in sites[:MAX_ROWS]:
            state = " (applied by `fix`)" if site.after is not None and site.applied else " (needs `--unsafe`)" if site.after is not None and site.tier == "unsafe" else ""
            lines.append(f"| `{_cell(site.location)}` | `{site.rule}` | {site.tier} | {_cell(site.message)}{state} |")
        if len(sites) > MAX_ROWS:
            lines.append(f"| … | | | {len(sites) - MAX_ROWS} more |")
        lines.append("")
    else:
        lines += ["No Gemini Pro or legacy SDK call sites found. ✅", ""]
    if skipped:
        lines += ["<details><summary>Skipped files</summary>", ""]
        lines += [f"- `{_cell(file)}`: {_cell(reason)}" for file, reason in skipped]
        lines += ["", "</details>", ""]
    text = "\n".join(lines)
    if patch:
        diff = patch.decode("utf-8", "replace")
        room = LIMIT - len(text) - 200
        if len(diff) > room:
            diff = diff[: max(room, 0)] + "\n… (diff truncated; run `flm fix --diff` for all of it)\n"
        fence = "````" if "```" in diff else "```"
        text += f"\n<details><summary>Diff ({summary.changed} files)</summary>\n\n{fence}diff\n{diff}{fence}\n\n</details>\n"
    return text if text.endswith("\n") else text + "\n"
