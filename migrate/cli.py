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

from migrate import __version__, cli_help
from migrate.codemod import baseline, project, selection
from migrate.codemod import run as codemod
from migrate.codemod.engine import catalog_for
from migrate.codemod.findings import unparsable
from migrate import config as config_settings
from migrate.config import Overrides
from migrate.errors import UserError
from migrate.report import console as render
from migrate.report import github, outputs, progress, sites
from migrate.report import patch as patch_report
from migrate.report.diff import colorize
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


class ReportFormat(str, enum.Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    markdown = "markdown"
    junit = "junit"
    github = "github"


PATHS = typer.Argument(..., help="Files and folders to process.", show_default=False)
TARGET = typer.Option(None, "--target", metavar="MODEL", help="Flash-Lite model to move Pro calls to (default: from rules/models.yaml).")
SELECT = typer.Option([], "--select", metavar="RULE", help="Only these rule IDs or prefixes (repeatable).")
IGNORE = typer.Option([], "--ignore", metavar="RULE", help="Skip these rule IDs or prefixes (repeatable).")
INCLUDE = typer.Option([], "--include", metavar="GLOB", help="Glob of files to consider (repeatable; default: Python, notebooks, dependency files).")
EXCLUDE = typer.Option([], "--exclude", metavar="PATTERN", help="Gitignore-style pattern to leave out (repeatable).")
JOBS = typer.Option(0, "-j", "--jobs", help="Parallel workers (default: one per core).")
FORMAT = typer.Option(Format.text, "--format", help="text (terminal) or json (one record per edit or finding).")
REPORT_FORMAT = typer.Option(ReportFormat.text, "--format", help="text, json, sarif (code scanning), markdown (PR comment), junit or github (annotations).")
OUTPUT_FILE = typer.Option(None, "-o", "--output-file", help="Write the --format report to this file instead of stdout.")
PATCH_FILE = typer.Option(None, "--patch-file", help="Also write the changes as a patch `git apply` accepts.")
UNSAFE = typer.Option(None, "--unsafe/--no-unsafe", help="Also apply edits of tier 'unsafe' (behaviour may change; review them).")
AS_OF = typer.Option(None, "--as-of", hidden=True, help="Date used for lifecycle checks (YYYY-MM-DD).")
RULES = typer.Option([], "--rules", metavar="FILE", help="Extra rule file(s) to load (repeatable).")
CONFIG = typer.Option(None, "--config", metavar="FILE", help="Use this pyproject.toml for every file instead of the nearest one.")
ISOLATED = typer.Option(False, "--isolated", help="Ignore pyproject.toml configuration.")
NO_CACHE = typer.Option(False, "--no-cache", help="Neither read nor write the result cache.")
CHANGED_SINCE = typer.Option(None, "--changed-since", help="Only files changed since the branch left this git ref.", metavar="REF")
STAGED = typer.Option(False, "--staged", help="Only files staged for the next commit.")
MAX_FILE_SIZE = typer.Option(None, "--max-file-size", help='Skip files bigger than this, e.g. "4MB" (default 1MB; generated code is skipped with a reason).', metavar="SIZE")


def _date(as_of: Optional[str]) -> Optional[dt.date]:
    try:
        return dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise UserError(f"--as-of: expected YYYY-MM-DD, got {as_of!r}") from None


def _settings(target, select, ignore, include, exclude, jobs, unsafe=False, as_of=None, rules=()) -> Settings:
    defaults = Settings()
    today = _date(as_of)
    if jobs < 0:
        raise UserError(f"--jobs: expected a number of workers >= 0, got {jobs}")
    return Settings(
        target=target,
        unsafe=bool(unsafe),
        select=tuple(select),
        ignore=tuple(ignore),
        include=tuple(include) or defaults.include,
        exclude=tuple(exclude),
        jobs=jobs,
        extra_rule_files=tuple(rules),
        as_of=today,
    )


def _overrides(target, select, ignore, include, exclude, jobs, unsafe, as_of, rules, config, isolated, max_file_size=None) -> Overrides:
    if jobs < 0:
        raise UserError(f"--jobs: expected a number of workers >= 0, got {jobs}")
    size = config_settings.parse_size(max_file_size) if max_file_size is not None else None
    if max_file_size is not None and size is None:
        raise UserError(f'--max-file-size: expected a size such as "4MB" or a number of bytes, got {max_file_size!r}')
    return Overrides(
        target=target, select=tuple(s.upper() for s in select), ignore=tuple(s.upper() for s in ignore), unsafe=unsafe,
        include=tuple(include), exclude=tuple(exclude), jobs=jobs, rules=tuple(rules), as_of=_date(as_of),
        config_file=config, isolated=isolated, max_file_size=size,
    )  # fmt: skip


def _display(path: Path) -> str:
    return path.as_posix()


def _run(paths: List[str], overrides: Overrides, changed_since=None, staged=False, no_cache=False) -> codemod.Outcome:
    """One codemod run (config per file, cache, changed-file selection) showing its progress on stderr."""
    narrow = selection.narrower(paths, changed_since, staged)
    with progress.BarProgress(stderr) if sys.stderr.isatty() else progress.LogProgress(sys.stderr) as shown:
        outcome = project.run(paths, overrides, narrow=narrow, use_cache=not no_cache, on_result=shown.advance, on_planned=shown.planned)
    for warning in outcome.warnings:
        stderr.print(f"[yellow]warning:[/] {warning}", highlight=False)
    return outcome


def _report_skips(outcome: codemod.Outcome, strict: bool = False) -> int:
    """Every skip and error with its reason; 2 when a path named on the command line could not be used.

    `strict` (check): a candidate file that cannot be parsed is an error, not a skip.
    """
    for result in outcome.results:
        if strict and unparsable(result):
            stderr.print(f"[red]error:[/] {_display(result.path)}: {result.reason} (check cannot vouch for a file it cannot parse; "
                         "list it under `exclude` to leave it out)", highlight=False)  # fmt: skip
        elif result.status in ("skipped", "error"):
            label = "[red]error:[/]" if result.status == "error" else "[yellow]skipped[/]"
            stderr.print(f"{label} {_display(result.path)}: {result.reason}", highlight=False)
    return 2 if outcome.input_errors else 0


def _write_stdout(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _emit_diffs(outcome: codemod.Outcome, only: Optional[set] = None) -> None:
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    for result in outcome.changed:
        if only is None or result.path in only:
            diff = patch_report.file_diff(result, patch_report.repository_path)
            _write_stdout(colorize(diff) if color else diff)


def _machine_report(format: ReportFormat, outcome: codemod.Outcome, output_file: Optional[Path], overrides: Overrides, blocking=None, suite: str = "flm", dry_run: bool = True) -> bool:
    """Render a --format report to stdout or --output-file; False for the text format (the caller prints it)."""
    if format is ReportFormat.text:
        return False
    rules = dict(catalog_for(project.resolver(overrides).for_path(Path.cwd()).settings).rules)  # with extra rule files
    extra = {} if blocking is None else {"blocking": blocking}
    data = outputs.render(format.value, outcome, _display, rules, patch=patch_report.patch(outcome.results, patch_report.repository_path), suite=suite, dry_run=dry_run, **extra)
    if output_file is not None:
        output_file.write_bytes(data)
    else:
        _write_stdout(data)
    return True


def _github_annotations(outcome: codemod.Outcome, format: ReportFormat, blocking=None) -> None:
    """Inside GitHub Actions, findings also become annotations on the pull request (text format only)."""
    if os.environ.get("GITHUB_ACTIONS") == "true" and format is ReportFormat.text:
        located = sites.build(outcome.results, _display, *(() if blocking is None else (blocking,)))
        _write_stdout(github.annotations(located).encode())


def _write_patch(outcome: codemod.Outcome, patch_file: Optional[Path]) -> None:
    if patch_file is not None:
        patch_file.write_bytes(patch_report.patch(outcome.results, patch_report.repository_path))
        stderr.print(f"patch of {len(outcome.changed)} files written to {patch_file}", highlight=False)


@app.command()
def scan(
    paths: List[str] = PATHS, target: Optional[str] = TARGET, select: List[str] = SELECT, ignore: List[str] = IGNORE,
    include: List[str] = INCLUDE, exclude: List[str] = EXCLUDE, jobs: int = JOBS, format: ReportFormat = REPORT_FORMAT,
    as_of: Optional[str] = AS_OF, rules: List[str] = RULES, unsafe: Optional[bool] = UNSAFE, config: Optional[str] = CONFIG,
    isolated: bool = ISOLATED, no_cache: bool = NO_CACHE, changed_since: Optional[str] = CHANGED_SINCE, staged: bool = STAGED,
    output_file: Optional[Path] = OUTPUT_FILE, patch_file: Optional[Path] = PATCH_FILE, max_file_size: Optional[str] = MAX_FILE_SIZE,
    write_baseline: Optional[Path] = typer.Option(None, "--write-baseline", help="Record every finding in this file for `check --baseline`."),
) -> int:  # fmt: skip
    """Inventory: every Gemini call site that needs a change or a look, nothing written."""
    overrides = _overrides(target, select, ignore, include, exclude, jobs, unsafe, as_of, rules, config, isolated, max_file_size)
    outcome = _run(paths, overrides, changed_since, staged, no_cache)
    _write_patch(outcome, patch_file)
    if write_baseline is not None:
        count = baseline.write(write_baseline, outcome.results)
        stderr.print(f"baseline of {count} findings written to {write_baseline}", highlight=False)
    if _machine_report(format, outcome, output_file, overrides, suite="flm scan"):
        for problem in outcome.input_errors:
            stderr.print(f"[red]error:[/] {problem}", highlight=False)
        return 2 if outcome.input_errors else 0
    out = _stdout()
    out.print(render.findings_table(outcome.results, _display))
    skipped = render.skipped_table(outcome.results, _display)
    if skipped is not None:
        out.print(skipped)
    _github_annotations(outcome, format)
    for line in render.user_lines(catalog_for(project.resolver(overrides).for_path(Path.cwd()).settings)):
        stderr.print(f"user rules: {line}", highlight=False)
    stderr.print(outcome.summary.line("to change"), highlight=False)
    return 2 if outcome.input_errors else 0


@app.command()
def fix(
    paths: List[str] = PATHS, diff: bool = typer.Option(False, "--diff", help="Dry run: print a unified diff, write nothing."),
    unsafe: Optional[bool] = UNSAFE, target: Optional[str] = TARGET, select: List[str] = SELECT, ignore: List[str] = IGNORE,
    include: List[str] = INCLUDE, exclude: List[str] = EXCLUDE, jobs: int = JOBS, format: ReportFormat = REPORT_FORMAT,
    as_of: Optional[str] = AS_OF, rules: List[str] = RULES, config: Optional[str] = CONFIG, isolated: bool = ISOLATED,
    no_cache: bool = NO_CACHE, changed_since: Optional[str] = CHANGED_SINCE, staged: bool = STAGED,
    output_file: Optional[Path] = OUTPUT_FILE, patch_file: Optional[Path] = PATCH_FILE, max_file_size: Optional[str] = MAX_FILE_SIZE,
) -> int:  # fmt: skip
    """Rewrite the files (or, with --diff, show what would change)."""
    overrides = _overrides(target, select, ignore, include, exclude, jobs, unsafe, as_of, rules, config, isolated, max_file_size)
    outcome = _run(paths, overrides, changed_since, staged, no_cache)
    _write_patch(outcome, patch_file)
    failures: list[str] = []
    if not diff:
        for debris in codemod.clean_stale_temps(outcome):
            stderr.print(f"removed {_display(debris)} (a temp file left by an interrupted run)", highlight=False)
        failures = codemod.write_changes(outcome)
    if not _machine_report(format, outcome, output_file, overrides, suite="flm fix", dry_run=diff):
        if diff:
            _emit_diffs(outcome)
        else:
            for result in outcome.changed:
                stderr.print(f"fixed {_display(result.path)}", highlight=False)
        _github_annotations(outcome, format)
    bad_input = _report_skips(outcome)
    stderr.print(outcome.summary.line("would change" if diff else "changed"), highlight=False)
    return 2 if failures or bad_input else 0


@app.command()
def check(
    paths: List[str] = PATHS, diff: bool = typer.Option(False, "--diff", help="Also print the diff."),
    unsafe: Optional[bool] = UNSAFE, target: Optional[str] = TARGET, select: List[str] = SELECT, ignore: List[str] = IGNORE,
    include: List[str] = INCLUDE, exclude: List[str] = EXCLUDE, jobs: int = JOBS, format: ReportFormat = REPORT_FORMAT,
    as_of: Optional[str] = AS_OF, rules: List[str] = RULES, config: Optional[str] = CONFIG, isolated: bool = ISOLATED,
    no_cache: bool = NO_CACHE, changed_since: Optional[str] = CHANGED_SINCE, staged: bool = STAGED,
    output_file: Optional[Path] = OUTPUT_FILE, patch_file: Optional[Path] = PATCH_FILE, max_file_size: Optional[str] = MAX_FILE_SIZE,
    baseline_file: Optional[Path] = typer.Option(None, "--baseline", help="Fail only on edits not recorded by `scan --write-baseline`."),
) -> int:  # fmt: skip
    """Exit 1 if `fix` would change anything or a candidate file cannot be parsed (CI, pre-commit); nothing is written."""
    overrides = _overrides(target, select, ignore, include, exclude, jobs, unsafe, as_of, rules, config, isolated, max_file_size)
    known = baseline.load(baseline_file) if baseline_file is not None else None
    outcome = _run(paths, overrides, changed_since, staged, no_cache)
    _write_patch(outcome, patch_file)
    blocking, failing = None, {r.path for r in outcome.changed}
    if known is not None:
        comparison = baseline.compare(outcome.results, known, sites.is_blocking)
        new = {id(finding) for _, finding in comparison.new}
        blocking = lambda finding: id(finding) in new  # noqa: E731
        failing = {result.path for result, _ in comparison.new}
    if not _machine_report(format, outcome, output_file, overrides, blocking, suite="flm check"):
        if diff:
            _emit_diffs(outcome, failing if known is not None else None)
        for result in outcome.changed:
            if result.path in failing:
                stderr.print(f"would fix {_display(result.path)}", highlight=False)
        if known is not None:
            for result, finding in comparison.new:
                cell = f"cell {finding.cell}:" if finding.cell is not None else ""
                stderr.print(f"new: {_display(result.path)}:{cell}{finding.line}:{finding.column} {finding.rule} {finding.message}", highlight=False)
            stderr.print(f"baseline {known.path}: {len(comparison.new)} new, {comparison.known} known"
                         + (f", {comparison.gone} no longer found (shrink it with `flm scan --write-baseline`)" if comparison.gone else ""),
                         highlight=False)  # fmt: skip
        _github_annotations(outcome, format, blocking)
    bad_input = _report_skips(outcome, strict=True)
    stderr.print(outcome.summary.line("would change"), highlight=False)
    return bad_input or (1 if failing or any(unparsable(r) for r in outcome.results) else 0)


@app.command("config")
def show_config(
    path: str = typer.Argument(".", help="A file or folder: show the settings that apply to it."),
    format: Format = FORMAT, target: Optional[str] = TARGET, select: List[str] = SELECT, ignore: List[str] = IGNORE,
    unsafe: Optional[bool] = UNSAFE, rules: List[str] = RULES, config: Optional[str] = CONFIG, isolated: bool = ISOLATED,
) -> int:  # fmt: skip
    """The effective settings for a path: defaults <- pyproject [tool.flashlite-migrate] <- these options, and where each came from."""
    overrides = _overrides(target, select, ignore, [], [], 0, unsafe, None, rules, config, isolated)
    resolved = project.resolver(overrides).for_path(Path(path))
    if format is Format.json:
        import json

        _write_stdout((json.dumps(config_settings.as_dict(resolved), indent=2) + "\n").encode())
        return 0
    config_file = str(resolved.config.path) if resolved.config else None
    _stdout().print(outputs.config_table(config_settings.describe(resolved), config_file))
    return 0


def _model_record(catalog, model, today: dt.date) -> dict:
    lifecycles = {
        platform: {"status": lc.status(today), "released": str(lc.released or ""), "deprecated": str(lc.deprecated or ""),
                   "shutdown": str(lc.shutdown or ""), "earliest_shutdown": str(lc.earliest_shutdown or ""),
                   "routed_to": lc.routed_to, "routed_since": str(lc.routed_since or ""), "note": lc.note,
                   "source": lc.source, "source_quality": lc.source_quality, "as_of": str(lc.as_of or "")}
        for platform, lc in model.lifecycles.items()
    }  # fmt: skip
    price = None
    if model.id in catalog.pricing.prices or any(i in catalog.pricing.prices for i in model.ids):
        found = catalog.price(model.id)
        period = found.in_force(today)
        price = {"input": period.standard.input, "output": period.standard.output, "cached_input": period.standard.cached_input,
                 "in_force": period.describe(), "source": found.source, "source_quality": found.source_quality}  # fmt: skip
    return {"id": model.id, "ids": list(model.ids), "kind": model.kind, "family": model.family, "stage": model.stage,
            "released": str(model.released or ""), "platforms": lifecycles, "swap_to_target": catalog.should_swap(model),
            "price": price, "source": model.source, "source_quality": model.source_quality, "as_of": str(model.as_of or ""),
            "origin": model.origin}  # fmt: skip


@app.command()
def models(
    format: Format = FORMAT, target: Optional[str] = TARGET, as_of: Optional[str] = AS_OF, rules: List[str] = RULES,
    live: bool = typer.Option(False, "--live", help="Compare the catalogue with what models.list serves (Developer API: GEMINI_API_KEY; Vertex AI: GOOGLE_OAUTH_ACCESS_TOKEN); exit 1 when they differ."),
) -> int:  # fmt: skip
    """Known models: family, lifecycle per platform, routing, price and capabilities, with sources (rules/models.yaml, pricing.yaml)."""
    settings = _settings(target, [], [], [], [], 0, as_of=as_of, rules=rules)
    catalog = catalog_for(settings)
    chosen = catalog.resolve_target(target or catalog.default_target).id
    today = settings.today()
    if live:
        return _models_live(catalog, today, format)
    why = f"default target {catalog.default_target}: {catalog.default_target_reason}"
    if format is Format.json:
        import json

        document = {"target": chosen, "default_target": catalog.default_target, "default_target_reason": catalog.default_target_reason,
                    "as_of": str(catalog.as_of), "today": str(today), "models": [_model_record(catalog, m, today) for m in catalog.models]}  # fmt: skip
        _write_stdout((json.dumps(document, indent=2) + "\n").encode())
        return 0
    out = _stdout()
    out.print(render.models_table(catalog, today, chosen))
    out.print(why + (f" (this run: --target {chosen})" if chosen != catalog.default_target else ""), highlight=False)
    out.print(render.model_sources(catalog), highlight=False, soft_wrap=True, markup=False)
    return 0


def _models_live(catalog, today: dt.date, format: Format) -> int:
    import httpx

    from migrate import live

    with httpx.Client(timeout=30.0) as client:
        listings = live.fetch(client, os.environ)
    differences = [live.compare(catalog, listing, today) for listing in listings if listing.served is not None]
    if format is Format.json:
        import json

        document = {"today": str(today), "as_of": str(catalog.as_of),
                    "platforms": {d.platform: {"new": list(d.new), "gone": list(d.gone)} for d in differences},
                    "skipped": {l.platform: l.skipped for l in listings if l.served is None}}  # fmt: skip
        _write_stdout((json.dumps(document, indent=2) + "\n").encode())
    else:
        for listing in listings:
            if listing.served is None:
                typer.echo(f"{catalog.platform_name(listing.platform)}: skipped ({listing.skipped})")
        for d in differences:
            name = catalog.platform_name(d.platform)
            typer.echo(f"{name}: {len(d.new)} served but not in rules/models.yaml, {len(d.gone)} in the data but not served")
            for model_id in d.new:
                typer.echo(f"  new:  {model_id}")
            for model_id in d.gone:
                typer.echo(f"  gone: {model_id}")
    return 1 if any(d.new or d.gone for d in differences) else 0


@rules_app.command("list")
def rules_list(format: Format = FORMAT, rules: List[str] = RULES) -> int:
    """Every rule: ID, name, tier, title; then the call sites and models your rule files add."""
    catalog = catalog_for(_settings(None, [], [], [], [], 0, rules=rules))
    ordered = sorted(catalog.rules.values(), key=lambda r: r.id)
    if format is Format.json:
        import json
        from dataclasses import asdict

        document = [asdict(r) for r in ordered]
        if catalog.rule_files:
            document = {"rules": document, "user": render.user_definitions(catalog)}  # type: ignore[assignment]
        _write_stdout((json.dumps(document, indent=2) + "\n").encode())
        return 0
    _stdout().print(render.rules_table(ordered))
    for line in render.user_lines(catalog):
        typer.echo(line)
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
    verbose: bool = typer.Option(False, "--verbose", help="On an internal error, show the traceback (accepted anywhere on the command line)."),
) -> None:
    """Move Gemini Pro code to google-genai and a Flash-Lite model, with evidence."""


def _mount_subcommands() -> None:
    from migrate.shadow.cli import app as shadow_app

    app.add_typer(shadow_app, name="shadow", help="Shadow-compare Pro and Flash-Lite on your prompts.")


def main() -> None:
    """Entry point: every UserError becomes one line on stderr and exit 2; --verbose keeps tracebacks."""
    verbose = "--verbose" in sys.argv
    if verbose:
        sys.argv.remove("--verbose")
    try:
        _mount_subcommands()
        command = typer.main.get_command(app)
        cli_help.tidy(command)
        code = command(standalone_mode=False)
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
