"""`flm shadow ...`: parse, call, render. The work happens in session.py and summary.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from migrate.errors import UserError
from migrate.wording import plural

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Shadow-compare the Pro model and a Flash-Lite candidate on your prompts.")


def _limits(specs: list[str], flag: str) -> dict[str, float]:
    """`--rpm 600` (every model) or `--rpm gemini-2.5-pro=150` (one model), repeatable."""
    out: dict[str, float] = {}
    for spec in specs:
        model, sep, value = spec.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            raise UserError(f"{flag} {spec!r}: expected N or MODEL=N") from None
        if number <= 0:
            raise UserError(f"{flag} {spec!r}: must be positive")
        out[model if sep else "*"] = number
    return out


@app.command()
def run(
    dataset: Optional[Path] = typer.Argument(None, help="Prompts: JSONL, JSON, CSV, YAML, or logged traffic."),
    primary: Optional[str] = typer.Option(None, help="The model you run today (e.g. a Pro model)."),
    candidate: Optional[str] = typer.Option(None, help="The model to evaluate (default: the catalogue's target)."),
    repeats: Optional[int] = typer.Option(None, help="Samples per arm and prompt (default: 1)."),
    noise_floor: Optional[bool] = typer.Option(None, "--noise-floor/--no-noise-floor",
                                               help="Also call the primary a second time: the Pro-vs-Pro baseline."),
    noise_sample: Optional[float] = typer.Option(None, help="Fraction of prompts given a noise call (default: 1)."),
    concurrency: Optional[int] = typer.Option(None, help="Most calls in flight at once (default: 32)."),
    rpm: list[str] = typer.Option([], help="Requests per minute: N, or MODEL=N (repeatable)."),
    tpm: list[str] = typer.Option([], help="Input tokens per minute: N, or MODEL=N (repeatable)."),
    budget: Optional[float] = typer.Option(None, help="Hard spend cap in USD, checked against each call's worst case."),
    timeout: Optional[float] = typer.Option(None, help="Per-request timeout in seconds (default: 120)."),
    max_attempts: Optional[int] = typer.Option(None, help="Attempts per call, retries included (default: 6)."),
    max_retry_wait: Optional[float] = typer.Option(None, help="Longest server-requested wait honoured, seconds (default: 300)."),
    stream: Optional[bool] = typer.Option(None, "--stream/--no-stream", help="Stream, and measure time to first token."),
    backend: Optional[str] = typer.Option(None, help="gemini | vertex | openai | replay (default: gemini)."),
    primary_backend: Optional[str] = typer.Option(None, help="Backend for the primary (and noise) arm only."),
    candidate_backend: Optional[str] = typer.Option(None, help="Backend for the candidate arm only."),
    base_url: Optional[str] = typer.Option(None, help="Override the endpoint of every backend (proxy, tests)."),
    primary_base_url: Optional[str] = typer.Option(None, help="Endpoint for the primary arm only."),
    candidate_base_url: Optional[str] = typer.Option(None, help="Endpoint for the candidate arm only."),
    project: Optional[str] = typer.Option(None, help="Vertex AI project [env GOOGLE_CLOUD_PROJECT]."),
    location: Optional[str] = typer.Option(None, help="Vertex AI location [env GOOGLE_CLOUD_LOCATION, else global]."),
    api_version: Optional[str] = typer.Option(None, help="API version path (v1beta for gemini, v1 for vertex)."),
    replay: Optional[Path] = typer.Option(None, help="Recorded responses for --backend replay (file or run folder)."),
    record: Optional[Path] = typer.Option(None, help="Also write every response to this replay file."),
    out: Optional[Path] = typer.Option(None, help="Run folder to create (default: runs/<timestamp>)."),
    resume: Optional[Path] = typer.Option(None, help="Continue this run folder; calls already recorded are skipped."),
    retry_errors: bool = typer.Option(False, help="With --resume: call again the keys whose last record is an error."),
    strict: bool = typer.Option(False, help="Stop at the first malformed dataset line instead of skipping it."),
    seed: Optional[int] = typer.Option(None, help="Seed of the per-prompt dispatch order (default: random, recorded)."),
    batch_pricing: Optional[bool] = typer.Option(None, "--batch-pricing/--standard-pricing",
                                                 help="Price at batch rates."),
    prices: Optional[Path] = typer.Option(None, help="YAML price overrides: models: {id: {input, output, cached_input}}."),
    volume: Optional[float] = typer.Option(None, help="Requests per day, for the projected monthly saving."),
    store: Optional[bool] = typer.Option(None, "--store/--no-store",
                                         help="Let the Developer API store the requests (its `store` field; "
                                              "default: --no-store, recorded in the manifest)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Send the same prompts to the primary and the candidate; record every call in a run folder."""
    from migrate.shadow.session import RunOptions, start

    options = RunOptions(
        dataset=dataset, out=out, resume=resume, primary=primary, candidate=candidate, repeats=repeats,
        noise_floor=noise_floor, noise_sample=noise_sample, concurrency=concurrency,
        rpm=_limits(rpm, "--rpm"), tpm=_limits(tpm, "--tpm"), budget=budget, timeout=timeout,
        max_attempts=max_attempts, max_retry_wait=max_retry_wait, stream=stream, backend=backend,
        primary_backend=primary_backend, candidate_backend=candidate_backend, base_url=base_url,
        primary_base_url=primary_base_url, candidate_base_url=candidate_base_url, project=project,
        location=location, api_version=api_version, replay=replay, record=record, strict=strict, seed=seed,
        batch_pricing=batch_pricing, volume=volume, retry_errors=retry_errors, prices=prices, store=store,
    )  # fmt: skip
    err = Console(stderr=True, soft_wrap=True)

    def warn(message: str) -> None:
        err.print(f"[yellow]warning:[/yellow] {message}", highlight=False)

    progress = None if quiet or not err.is_terminal else _progress_bar(err)
    try:
        result = start(options, progress=progress, warn=warn)
    finally:
        if progress is not None:
            progress.close()
    stats = result.stats
    if result.problems:
        warn(result.problems)
    exposure = result.exposure
    if exposure.get("possibly_billed_calls"):
        warn(f"{exposure['possibly_billed_calls']} call(s) were sent but their answers were lost (a process was "
             f"killed while they were on the wire): they may have been billed, at most "
             f"${exposure['possibly_billed_usd']:.4f}; each was sent again")
    totals = result.manifest.get("totals") or {}
    this = f"; {stats.done} by this invocation, {stats.skipped_resume} were already recorded" if stats.skipped_resume else ""
    err.print(f"{result.status}: {totals.get('calls', stats.done)} calls recorded ({totals.get('ok', stats.ok)} ok, "
              f"{plural(totals.get('errors', stats.errors), 'error')}, {plural(totals.get('retries', stats.retries), 'retry', 'retries')}), "
              f"${totals.get('cost_usd', stats.cost_usd):.4f}{this} -> {result.folder}", highlight=False)
    if stats.cost_errors:
        err.print(f"[bold red]error:[/bold red] {stats.cost_errors} successful call(s) could not be priced "
                  "(no usage metadata, or $0 for a billable call); see cost_error in calls.jsonl")
    if result.status == "failed":
        err.print(f"[bold red]error:[/bold red] {result.message}", highlight=False)
        raise typer.Exit(1)
    if result.status == "budget_exhausted":
        err.print(f"[yellow]stopped:[/yellow] {result.message}; raise it with "
                  f"`flm shadow run --resume {result.folder} --budget N`")
    elif result.status == "interrupted":
        err.print(f"interrupted; continue with `flm shadow run --resume {result.folder}`")
        raise typer.Exit(130)
    else:
        err.print(f"next: flm shadow summary {result.folder}")
    if result.status != "complete" or stats.cost_errors:
        raise typer.Exit(1)


class _progress_bar:
    """A rich progress bar fed by the runner's counters (called a few times a second)."""

    def __init__(self, console: Console):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("shadow"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[info]}"), console=console, transient=True)
        self.task = self.progress.add_task("calls", total=None, info="")
        self.progress.start()

    def __call__(self, runner: object) -> None:
        stats = runner.stats  # type: ignore[attr-defined]
        limit = runner.limit.limit  # type: ignore[attr-defined]
        total = max(stats.expected or 0, stats.planned) or None
        info = f"ok {stats.ok} err {stats.errors} retry {stats.retries} ${stats.cost_usd:.4f} conc {limit}"
        self.progress.update(self.task, completed=stats.done, total=total, info=info)

    def close(self) -> None:
        self.progress.stop()


@app.command()
def summary(
    run_folder: Path = typer.Argument(..., help="A run folder written by `flm shadow run`."),
    format: str = typer.Option("table", "--format", help="table | json"),
    volume: Optional[float] = typer.Option(None, help="Requests per day, for the projected monthly saving."),
) -> None:
    """Cost per arm and ratio, latency percentiles, errors and retries, finish reasons, simple parity."""
    from migrate.shadow.store import open_run
    from migrate.shadow.summary import render, summarise

    if format not in ("table", "json"):
        raise UserError(f"--format must be table or json, not {format!r}")
    data = summarise(open_run(run_folder), volume_per_day=volume)
    if format == "json":
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        render(data, Console())


# `report`, `gate`, `plan` and `judge` live in verdict_cli.py and register themselves on `app`.
from migrate.shadow import verdict_cli  # noqa: E402,F401
