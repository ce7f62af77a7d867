"""The command line: parse, call, render. No logic lives here."""

from __future__ import annotations

import datetime as dt
import enum
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from migrate import __version__
from migrate.codemod import run as codemod
from migrate.codemod.engine import catalog_for
from migrate.codemod.findings import FileResult
from migrate.errors import UserError
from migrate.report import console as render
from migrate.report.diff import colorize, unified_diff
from migrate.report.records import to_json
from migrate.settings import Settings

app = typer.Typer(
    name="flm",
    help="Move Gemini Pro code to google-genai and a Flash-Lite model, with evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="The rule catalogue.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

stderr = Console(stderr=True, soft_wrap=True)


def _stdout() -> Console:
    """A terminal gets its own width; a pipe or file gets long lines rather than a squeezed table."""
    return Console() if sys.stdout.isatty() else Console(width=200)


class Format(str, enum.Enum):
    text = "text"
    json = "json"


PATHS = typer.Argument(..., help="Files and folders to process.", show_default=False)
TARGET = typer.Option(None, "--target", help="Flash-Lite model to move Pro calls to (default: from rules/models.yaml).")
SELECT = typer.Option([], "--select", help="Only these rule IDs or prefixes (repeatable).")
IGNORE = typer.Option([], "--ignore", help="Skip these rule IDs or prefixes (repeatable).")
INCLUDE = typer.Option([], "--include", help="Glob of files to consider (repeatable; default *.py, *.pyi).")
EXCLUDE = typer.Option([], "--exclude", help="Gitignore-style pattern to leave out (repeatable).")
JOBS = typer.Option(0, "-j", "--jobs", help="Parallel workers (default: one per core).")
FORMAT = typer.Option(Format.text, "--format", help="text (terminal) or json (one record per edit or finding).")
UNSAFE = typer.Option(False, "--unsafe", help="Also apply edits of tier 'unsafe' (behaviour may change; review them).")
AS_OF = typer.Option(None, "--as-of", hidden=True, help="Date used for lifecycle checks (YYYY-MM-DD).")
RULES = typer.Option([], "--rules", help="Extra rule file(s) to load (repeatable).")


def _settings(target, select, ignore, include, exclude, jobs, unsafe=False, as_of=None, rules=()) -> Settings:
    defaults = Settings()
    try:
        today = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise UserError(f"--as-of: expected YYYY-MM-DD, got {as_of!r}") from None
    if jobs < 0:
        raise UserError(f"--jobs: expected a number of workers >= 0, got {jobs}")
    return Settings(
        target=target,
        unsafe=unsafe,
        select=tuple(select),
        ignore=tuple(ignore),
        include=tuple(include) or defaults.include,
        exclude=tuple(exclude),
        jobs=jobs,
        extra_rule_files=tuple(rules),
        as_of=today,
    )


def _display(path: Path) -> str:
    return path.as_posix()


def _run(paths: List[str], settings: Settings) -> codemod.Outcome:
    """One codemod run with a progress bar when a person is watching."""
    catalog_for(settings)  # load and validate the data before any work
    for warning in codemod.run_warnings(settings):
        stderr.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if not sys.stderr.isatty():
        return codemod.run(paths, settings)
    from rich.progress import Progress

    with Progress(transient=True, console=stderr) as progress:
        task = progress.add_task("parsing candidates", total=None)
        outcome = codemod.run(paths, settings, on_result=lambda _: progress.advance(task))
    return outcome


def _report_skips(results: list[FileResult]) -> None:
    for result in results:
        if result.status in ("skipped", "error"):
            stderr.print(f"[yellow]skipped[/] {_display(result.path)}: {result.reason}", highlight=False)


def _write_stdout(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _emit_diffs(outcome: codemod.Outcome) -> None:
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    for result in outcome.changed:
        assert result.old_bytes is not None and result.new_bytes is not None
        diff = unified_diff(result.old_bytes, result.new_bytes, _display(result.path))
        _write_stdout(colorize(diff) if color else diff)


@app.command()
def scan(
    paths: List[str] = PATHS, target: Optional[str] = TARGET, select: List[str] = SELECT, ignore: List[str] = IGNORE,
    include: List[str] = INCLUDE, exclude: List[str] = EXCLUDE, jobs: int = JOBS, format: Format = FORMAT,
    as_of: Optional[str] = AS_OF, rules: List[str] = RULES,
) -> int:  # fmt: skip
    """Inventory: every Gemini call site that needs a change or a look, nothing written."""
    settings = _settings(target, select, ignore, include, exclude, jobs, False, as_of, rules)
    outcome = _run(paths, settings)
    if format is Format.json:
        _write_stdout(to_json(outcome.results, outcome.summary, _display, outcome.warnings).encode())
        return 0
    out = _stdout()
    out.print(render.findings_table(outcome.results, _display))
    skipped = render.skipped_table(outcome.results, _display)
    if skipped is not None:
        out.print(skipped)
    stderr.print(outcome.summary.line("to change"), highlight=False)
    return 0


@app.command()
def fix(
    paths: List[str] = PATHS, diff: bool = typer.Option(False, "--diff", help="Dry run: print a unified diff, write nothing."),
    unsafe: bool = UNSAFE, target: Optional[str] = TARGET, select: List[str] = SELECT, ignore: List[str] = IGNORE,
    include: List[str] = INCLUDE, exclude: List[str] = EXCLUDE, jobs: int = JOBS, format: Format = FORMAT,
    as_of: Optional[str] = AS_OF, rules: List[str] = RULES,
) -> int:  # fmt: skip
    """Rewrite the files (or, with --diff, show what would change)."""
    settings = _settings(target, select, ignore, include, exclude, jobs, unsafe, as_of, rules)
    outcome = _run(paths, settings)
    failures: list[str] = []
    if format is Format.json:
        if not diff:
            failures = codemod.write_changes(outcome)
        _write_stdout(to_json(outcome.results, outcome.summary, _display, outcome.warnings).encode())
    elif diff:
        _emit_diffs(outcome)
    else:
        failures = codemod.write_changes(outcome)
        for result in outcome.changed:
            stderr.print(f"fixed {_display(result.path)}", highlight=False)
    _report_skips(outcome.results)
    for failure in failures:
        stderr.print(f"[red]error:[/] {failure}", highlight=False)
    stderr.print(outcome.summary.line("would change" if diff else "changed"), highlight=False)
    return 2 if failures else 0


@app.command()
def check(
    paths: List[str] = PATHS, diff: bool = typer.Option(False, "--diff", help="Also print the diff."),
    unsafe: bool = UNSAFE, target: Optional[str] = TARGET, select: List[str] = SELECT, ignore: List[str] = IGNORE,
    include: List[str] = INCLUDE, exclude: List[str] = EXCLUDE, jobs: int = JOBS, format: Format = FORMAT,
    as_of: Optional[str] = AS_OF, rules: List[str] = RULES,
) -> int:  # fmt: skip
    """Exit 1 if `fix` would change anything (for CI); nothing is written."""
    settings = _settings(target, select, ignore, include, exclude, jobs, unsafe, as_of, rules)
    outcome = _run(paths, settings)
    if format is Format.json:
        _write_stdout(to_json(outcome.results, outcome.summary, _display, outcome.warnings).encode())
    else:
        if diff:
            _emit_diffs(outcome)
        for result in outcome.changed:
            stderr.print(f"would fix {_display(result.path)}", highlight=False)
        _report_skips(outcome.results)
        stderr.print(outcome.summary.line("would change"), highlight=False)
    return 1 if outcome.changed else 0


@app.command()
def models(
    format: Format = FORMAT, target: Optional[str] = TARGET, as_of: Optional[str] = AS_OF,
) -> int:  # fmt: skip
    """Known models: family, lifecycle, price and capabilities, from rules/models.yaml and pricing.yaml."""
    settings = _settings(target, [], [], [], [], 0, as_of=as_of)
    catalog = catalog_for(settings)
    chosen = catalog.resolve_target(target or catalog.default_target).id
    if format is Format.json:
        import json

        rows = [
            {"id": m.id, "ids": list(m.ids), "kind": m.kind, "family": m.family, "released": str(m.released or ""),
             "deprecated": str(m.deprecated or ""), "shutdown": str(m.shutdown or ""), "swap_to_target": catalog.should_swap(m),
             "source": m.source}
            for m in catalog.models
        ]  # fmt: skip
        _write_stdout((json.dumps({"target": chosen, "as_of": str(catalog.as_of), "models": rows}, indent=2) + "\n").encode())
        return 0
    _stdout().print(render.models_table(catalog, settings.today(), chosen))
    return 0


@rules_app.command("list")
def rules_list(format: Format = FORMAT, rules: List[str] = RULES) -> int:
    """Every rule: ID, name, tier, title."""
    catalog = catalog_for(_settings(None, [], [], [], [], 0, rules=rules))
    ordered = sorted(catalog.rules.values(), key=lambda r: r.id)
    if format is Format.json:
        import json
        from dataclasses import asdict

        _write_stdout((json.dumps([asdict(r) for r in ordered], indent=2) + "\n").encode())
        return 0
    _stdout().print(render.rules_table(ordered))
    return 0


@rules_app.command("explain")
def rules_explain(rule_id: str = typer.Argument(..., help="A rule ID such as FLM001."), rules: List[str] = RULES) -> int:
    """What a rule does, why, and its tier."""
    catalog = catalog_for(_settings(None, [], [], [], [], 0, rules=rules))
    typer.echo(render.explain(catalog.rule(rule_id.upper())))
    return 0


def _version(value: bool) -> None:
    if value:
        typer.echo(f"flashlite-migrate {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Move Gemini Pro code to google-genai and a Flash-Lite model, with evidence."""


def _mount_subcommands() -> None:
    try:
        from migrate.shadow.cli import app as shadow_app
    except ImportError:  # the shadow runner is optional while it is being built
        return
    app.add_typer(shadow_app, name="shadow", help="Shadow-compare Pro and Flash-Lite on your prompts.")


def main() -> None:
    """Entry point: every UserError becomes one line on stderr and exit 2; --verbose keeps tracebacks."""
    verbose = "--verbose" in sys.argv
    if verbose:
        sys.argv.remove("--verbose")
    try:
        _mount_subcommands()
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        typer.echo("flm: interrupted", err=True)
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: bad option, missing argument
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message(), err=True)
        else:
            typer.echo(f"flm: error: {exc.format_message()}", err=True)
        sys.exit(2)
    except UserError as exc:
        typer.echo(f"flm: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("flm: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for a CLI
        if verbose:
            raise
        typer.echo(f"flm: internal error: {type(exc).__name__}: {exc} (run with --verbose for details)", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
