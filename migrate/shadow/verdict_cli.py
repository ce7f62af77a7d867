"""`flm shadow report | gate | plan | judge`: parse, call, render. Registered on the `flm shadow` app.

    report RUN [--format terminal|html|md|json|junit] [--out FILE]   the whole story, any format
    gate RUN [--margin 0.02] [--confidence 0.95] [--junit FILE]      exit 0 PASS, 1 FAIL, 3 INCONCLUSIVE, 4 ROUTED
    plan [RUN] --margin 0.02 --expected-agreement 0.95               prompts needed, before spending
    judge RUN --model M [--backend ...]                              optional pairwise LLM judge

The work happens in verdict.py (pure), reports/ (pure) and judge.py (calls through the runner).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from migrate.errors import UserError
from migrate.shadow.cli import app
from migrate.wording import plural

MARGIN = typer.Option(0.02, "--margin", help="Largest acceptable excess disagreement over Pro's own noise floor "
                                             "(a fraction: 0.02 = 2 percentage points).")
CONFIDENCE = typer.Option(0.95, "--confidence", help="One-sided confidence of each decision bound.")
POWER = typer.Option(0.8, "--power", help="Power used to size the prompts still needed.")
COMPARE = typer.Option(None, "--compare", help="Comparator for prompts without their own `compare`: exact, json, "
                                               "label, rouge_l, token_f1 (default: exact).")
COMPARE_ALL = typer.Option(None, "--compare-all", help="Comparator forced on every prompt, ignoring the dataset's.")
CLUSTER = typer.Option(False, "--cluster-by-slice", help="Cluster-robust intervals: whole slices as the units.")
VOLUME = typer.Option(None, "--volume", help="Requests per day, for the projected monthly saving.")
NOISY = typer.Option(0.10, "--noisy-field-rate", help="A JSON field Pro disagrees with itself on in at least this "
                                                     "share of prompts is noisy for the whole run.")
CRITICAL = typer.Option(None, "--max-critical-rate", help="Gate: upper bound on the candidate's new critical failures "
                                                         "(invalid JSON, safety block, empty, truncated).")
ACCURACY = typer.Option(None, "--accuracy-margin", help="Gate: the candidate's accuracy against `expected` may be at "
                                                       "most this much below Pro's.")
P95 = typer.Option(None, "--max-p95-ratio", help="Gate: candidate p95 latency at most this multiple of Pro's.")
SAVING = typer.Option(None, "--min-monthly-saving", help="Gate: projected monthly saving (USD, needs --volume) at least this.")
JUDGE = typer.Option(True, "--judge/--no-judge", help="Include the run's pairwise judgements (from `flm shadow judge`).")
SHOW = typer.Option(10, "--show", help="Worst disagreements to show side by side.")
ALLOW_ROUTED = typer.Option(False, "--allow-routed", help="Judge a run whose arms were served by another model than "
                                                          "asked (from each answer's modelVersion) instead of failing "
                                                          "closed with exit 4.")


def _document(run_folder: Path, *, margin: float, confidence: float, power: float, compare: Optional[str],
              compare_all: Optional[str], cluster_by_slice: bool, volume: Optional[float],
              noisy_field_rate: float, max_critical_rate: Optional[float], accuracy_margin: Optional[float],
              max_p95_ratio: Optional[float], min_monthly_saving: Optional[float], judge: bool, show: int = 10,
              allow_routed: bool = False, look: bool = True) -> dict:
    """The verdict document; with `look` this is a look at the run's data, recorded in looks.jsonl."""
    from migrate.shadow import judge as judge_mod
    from migrate.shadow import looks
    from migrate.shadow.store import open_run
    from migrate.shadow.verdict import Options, compute

    run = open_run(run_folder)
    print_ = looks.fingerprint(run)
    number, known = looks.look_for(run_folder, print_) if look else (1, True)
    options = Options(margin=margin, confidence=confidence, power=power,
                      cluster_by_slice=cluster_by_slice, compare=compare, compare_all=compare_all,
                      noisy_field_rate=noisy_field_rate, volume_per_day=volume, show=show,
                      max_critical_rate=max_critical_rate, accuracy_margin=accuracy_margin,
                      max_p95_ratio=max_p95_ratio, min_monthly_saving=min_monthly_saving, look=number,
                      allow_routed=allow_routed)
    doc = compute(run, options, judge=judge_mod.load(run_folder) if judge else None)
    if not known:
        problem = looks.record(run_folder, {"look": number, "fingerprint": print_,
                                            "compared": doc["coverage"]["compared"],
                                            "alpha": doc["parity"]["method"]["alpha"], "margin": margin,
                                            "verdict": doc["verdict"]["status"]})
        if problem:
            doc["warnings"].append(problem)
    return doc


def _write(path: Path, text: str) -> None:
    """Atomically (temp file + rename), creating the parent folder."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def _stdout() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=160, highlight=False)


@app.command()
def report(
    run_folder: Path = typer.Argument(..., help="A run folder written by `flm shadow run`."),
    format: str = typer.Option("terminal", "--format", "-f", help="terminal | html | md | json | junit"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout."),
    margin: float = MARGIN, confidence: float = CONFIDENCE, power: float = POWER, compare: Optional[str] = COMPARE,
    compare_all: Optional[str] = COMPARE_ALL, cluster_by_slice: bool = CLUSTER, volume: Optional[float] = VOLUME,
    noisy_field_rate: float = NOISY,
    max_critical_rate: Optional[float] = CRITICAL, accuracy_margin: Optional[float] = ACCURACY,
    max_p95_ratio: Optional[float] = P95, min_monthly_saving: Optional[float] = SAVING, judge: bool = JUDGE,
    show: int = SHOW, allow_routed: bool = ALLOW_ROUTED,
) -> None:
    """The verdict and everything behind it: parity vs the noise floor, slices, cost, latency, worst cases."""
    from migrate.shadow.reports import renderer

    render = renderer(format)  # validate the format before the work
    doc = _document(run_folder, margin=margin, confidence=confidence, power=power, compare=compare,
                    compare_all=compare_all, cluster_by_slice=cluster_by_slice, volume=volume,
                    noisy_field_rate=noisy_field_rate, max_critical_rate=max_critical_rate,
                    accuracy_margin=accuracy_margin, max_p95_ratio=max_p95_ratio,
                    min_monthly_saving=min_monthly_saving, judge=judge, show=show, allow_routed=allow_routed)
    if out is None and format.lower() in ("terminal", "text", "table"):
        from migrate.shadow.reports.terminal import render as draw

        draw(doc, _stdout())
        return
    text = render(doc)
    if out is None:
        sys.stdout.write(text)
        return
    _write(out, text)
    Console(stderr=True, highlight=False).print(f"{doc['verdict']['status']}: wrote {out}")


@app.command()
def gate(
    run_folder: Path = typer.Argument(..., help="A run folder written by `flm shadow run`."),
    margin: float = MARGIN, confidence: float = CONFIDENCE, power: float = POWER, compare: Optional[str] = COMPARE,
    compare_all: Optional[str] = COMPARE_ALL, cluster_by_slice: bool = CLUSTER, volume: Optional[float] = VOLUME,
    noisy_field_rate: float = NOISY,
    max_critical_rate: Optional[float] = CRITICAL, accuracy_margin: Optional[float] = ACCURACY,
    max_p95_ratio: Optional[float] = P95, min_monthly_saving: Optional[float] = SAVING, judge: bool = JUDGE,
    junit: Optional[Path] = typer.Option(None, "--junit", help="Also write JUnit XML (one case per gate and slice)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the verdict document as JSON."),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Also write a Markdown PR comment."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the verdict line."),
    allow_routed: bool = ALLOW_ROUTED,
) -> None:
    """CI gate: exit 0 PASS, 1 FAIL, 3 INCONCLUSIVE, 4 ROUTED (an arm was served by another model than asked;
    fails closed unless --allow-routed), 2 usage error."""
    from migrate.shadow.reports import json_report, junit as junit_report, markdown as md_report
    from migrate.shadow.reports.terminal import gate_summary, verdict_line

    doc = _document(run_folder, margin=margin, confidence=confidence, power=power, compare=compare,
                    compare_all=compare_all, cluster_by_slice=cluster_by_slice, volume=volume,
                    noisy_field_rate=noisy_field_rate, max_critical_rate=max_critical_rate,
                    accuracy_margin=accuracy_margin, max_p95_ratio=max_p95_ratio,
                    min_monthly_saving=min_monthly_saving, judge=judge, allow_routed=allow_routed)
    for path, render in ((junit, junit_report.render), (json_out, json_report.render), (markdown, md_report.render)):
        if path is not None:
            _write(path, render(doc))
    console = _stdout()
    if quiet:
        console.print(verdict_line(doc))
    else:
        gate_summary(doc, console)
    raise typer.Exit(doc["verdict"]["exit_code"])


@app.command()
def plan(
    run_folder: Optional[Path] = typer.Argument(None, help="Optional pilot run: its agreement, noise and cost are "
                                                          "the defaults."),
    margin: float = MARGIN,
    expected_agreement: Optional[float] = typer.Option(None, "--expected-agreement",
                                                       help="Expected Pro-vs-candidate agreement (e.g. 0.95)."),
    noise_agreement: Optional[float] = typer.Option(None, "--noise-agreement",
                                                    help="Expected Pro-vs-Pro agreement (default: the same)."),
    discordant_rate: Optional[float] = typer.Option(None, "--discordant-rate",
                                                    help="Share of prompts where the two comparisons differ."),
    confidence: float = CONFIDENCE, power: float = POWER,
    slices: Optional[int] = typer.Option(None, "--slices", help="Slices that must each be shown non-inferior."),
    critical_limit: Optional[float] = typer.Option(None, "--critical-limit",
                                                   help="Rate a never-seen critical failure must be bounded below "
                                                        "(default: the margin)."),
    format: str = typer.Option("table", "--format", help="table | json"),
) -> None:
    """How many prompts a conclusive verdict needs, before money is spent."""
    from migrate.shadow.verdict import pilot_figures
    from migrate.shadow.verdict import plan as make_plan

    if format not in ("table", "json"):
        raise UserError(f"--format must be table or json, not {format!r}")
    pilot = None
    if run_folder is not None:
        doc = _document(run_folder, margin=margin, confidence=confidence, power=power, compare=None, compare_all=None,
                        cluster_by_slice=False, volume=None, noisy_field_rate=0.10,
                        max_critical_rate=None, accuracy_margin=None, max_p95_ratio=None, min_monthly_saving=None,
                        judge=False, look=False)
        pilot = pilot_figures(doc)
    if expected_agreement is None:
        if pilot is None:
            raise UserError("give --expected-agreement (e.g. 0.95), or a pilot run folder to take it from")
        expected_agreement = pilot["expected_agreement"]
        if noise_agreement is None:
            noise_agreement = pilot["noise_agreement"]
    for name, value in (("--expected-agreement", expected_agreement), ("--noise-agreement", noise_agreement)):
        if value is not None and not 0.0 <= value <= 1.0:
            raise UserError(f"{name} must be a fraction between 0 and 1, got {value}")
    try:
        result = make_plan(margin=margin, expected_agreement=expected_agreement, noise_agreement=noise_agreement,
                           discordant_rate=discordant_rate, confidence=confidence, power=power,
                           slices=slices if slices is not None else (pilot["slices"] if pilot else 1),
                           critical_limit=critical_limit, cost_per_prompt=pilot["cost_per_prompt"] if pilot else None,
                           pilot=pilot)
    except UserError as exc:
        if pilot is None:
            raise
        raise UserError(f"{exc} (figures from the pilot {run_folder}, whose verdict is {pilot['verdict']}; pass "
                        "--expected-agreement to plan for a different candidate)") from None
    if format == "json":
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    console = _stdout()
    table = Table(title=f"Prompts needed (margin {margin * 100:g} pp, {confidence:.0%} one-sided, power {power:.0%})",
                  title_justify="left")
    table.add_column("prompts", justify="right")
    table.add_column("for")
    for row in result["rows"]:
        table.add_row(f"{row['prompts']:,}", row["what"])
    console.print(table)
    line = f"recommended: [bold]{result['recommended']:,}[/bold] prompts with a noise-floor call each"
    if result.get("estimated_usd") is not None:
        line += f" (about ${result['estimated_usd']:,.2f} at the pilot's ${result['cost_per_prompt']:.4f} per prompt)"
    console.print(line)
    if pilot:
        console.print(f"[dim]from the pilot {run_folder}: {pilot['prompts']} prompts, agreement "
                      f"{pilot['expected_agreement']:.1%} (Pro vs Pro {pilot['noise_agreement']:.1%}), "
                      f"verdict {pilot['verdict']}[/dim]")


@app.command("judge")
def judge_cmd(
    run_folder: Path = typer.Argument(..., help="A run folder written by `flm shadow run`."),
    model: str = typer.Option(..., "--model", help="The judge model (ideally not a Gemini model: self-preference)."),
    backend: str = typer.Option("gemini", "--backend", help="gemini | vertex | openai | replay"),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Override the judge backend's endpoint."),
    project: Optional[str] = typer.Option(None, help="Vertex AI project [env GOOGLE_CLOUD_PROJECT]."),
    location: Optional[str] = typer.Option(None, help="Vertex AI location."),
    api_version: Optional[str] = typer.Option(None, help="API version path."),
    replay: Optional[Path] = typer.Option(None, help="Recorded judge answers for --backend replay."),
    prices: Optional[Path] = typer.Option(None, help="YAML price overrides for a judge the catalogue does not price."),
    samples: int = typer.Option(1, "--samples", help="Judge samples per answer order (majority wins)."),
    sample: Optional[int] = typer.Option(None, "--sample", help="Judge at most this many prompts (a seeded subset)."),
    concurrency: int = typer.Option(8, help="Most judge calls in flight."),
    budget: Optional[float] = typer.Option(None, help="Hard spend cap for the judge, USD."),
    timeout: float = typer.Option(120.0, help="Per-request timeout, seconds."),
    max_attempts: int = typer.Option(6, help="Attempts per call, retries included."),
    seed: int = typer.Option(0, help="Seed of the --sample subset and the dispatch order."),
) -> None:
    """Ask a judge model which answer is better, in both orders with blinded labels; resumable."""
    from migrate.shadow.judge import JUDGE_CALLS, JudgeOptions, run_judge

    options = JudgeOptions(model=model, backend=backend, base_url=base_url, project=project, location=location,
                           api_version=api_version, replay=replay, prices=prices, samples=samples,
                           sample_prompts=sample, concurrency=concurrency, budget=budget, timeout=timeout,
                           max_attempts=max_attempts, seed=seed)
    result = run_judge(run_folder, options)
    err = Console(stderr=True, highlight=False)
    s = result.stats
    err.print(f"{result.status}: {plural(result.planned_prompts, 'prompt')} to judge, {plural(s.done, 'judge call')} recorded "
              f"({s.ok} ok, {plural(s.errors, 'error')}, {plural(s.retries, 'retry', 'retries')}, {s.skipped_resume} already done), "
              f"${s.cost_usd:.4f} -> {Path(run_folder) / JUDGE_CALLS}")
    if result.message:
        err.print(f"[yellow]stopped:[/yellow] {result.message}")
    if result.status != "complete" or s.errors:
        raise typer.Exit(1)
    err.print(f"next: flm shadow report {run_folder}")
