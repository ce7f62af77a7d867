"""`flm shadow summary`: cost, latency, reliability and simple parity of a run, from its store.

`summarise(run)` is pure (a loaded `Run` in, a JSON-ready dict out); `render(summary, console)`
draws it with rich. The statistics here are descriptive; the verdict (noise floor, intervals,
PASS/FAIL) belongs to `shadow report`.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any, Mapping

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from migrate.shadow import figures
from migrate.shadow import served as served_mod
from migrate.shadow.parity import normalize_text, strip_code_fence
from migrate.shadow.reports import fmt
from migrate.shadow.store import Call, Run

DAYS_PER_MONTH = figures.DAYS_PER_MONTH
ARM_ORDER = ("primary", "noise", "candidate")


# --------------------------------------------------------------------------- small pure helpers


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); values need not be sorted."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _canonical_json(text: str) -> str | None:
    stripped = strip_code_fence(text).strip()
    if stripped[:1] not in ("{", "["):
        return None
    try:
        return json.dumps(json.loads(stripped), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return None


def normalise_text(value: Any) -> str:
    """For a normalised exact match: JSON compared canonically (key order, spacing, code fence),
    anything else through parity.normalize_text (NFC, fence, whitespace, case, trailing punctuation)."""
    if not isinstance(value, str):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _canonical_json(value) or normalize_text(value)


def _rate(hits: int, n: int) -> float | None:
    return hits / n if n else None


# --------------------------------------------------------------------------- summarise


def _arm_calls(final: Mapping[tuple[str, str, int], Call]) -> dict[str, list[Call]]:
    arms: dict[str, list[Call]] = {}
    for call in final.values():
        arms.setdefault(call.arm, []).append(call)
    return arms


def _cost(calls: list[Call]) -> dict[str, Any]:
    ok = [c for c in calls if c.ok]
    priced = [c.cost_usd for c in ok if c.cost_usd is not None]
    total = sum(c.cost_usd or 0.0 for c in calls)
    output = sum(c.usage.output for c in ok if c.usage)
    thoughts = sum(c.usage.thoughts for c in ok if c.usage)
    return {
        "total_usd": total, "requests": len(ok), "priced": len(priced),
        "mean_usd": (sum(priced) / len(priced)) if priced else None,
        "unpriced": len(ok) - len(priced),
        "prompt_tokens": sum(c.usage.prompt for c in ok if c.usage),
        "cached_tokens": sum(c.usage.cached for c in ok if c.usage),
        "output_tokens": output, "thought_tokens": thoughts,
        "thoughts_share_of_output": figures.thinking_share(ok),
    }  # fmt: skip


def _latency(calls: list[Call]) -> dict[str, Any]:
    values = [c.latency_ms for c in calls if c.ok and c.latency_ms is not None]
    ttft = [c.ttft_ms for c in calls if c.ok and c.ttft_ms is not None]
    out: dict[str, Any] = {"n": len(values), "mean_ms": (sum(values) / len(values)) if values else None}
    for q in (50, 95, 99):
        out[f"p{q}_ms"] = percentile(values, q)
    out["ttft_p50_ms"] = percentile(ttft, 50)
    out["ttft_p95_ms"] = percentile(ttft, 95)
    return out


def _reliability(calls: list[Call]) -> dict[str, Any]:
    errors = Counter()
    for c in calls:
        if not c.ok and c.error is not None:
            errors[f"{c.error.kind} {c.error.http_status}" if c.error.http_status else c.error.kind] += 1
    return {
        "calls": len(calls), "ok": sum(1 for c in calls if c.ok), "errors": sum(1 for c in calls if not c.ok),
        "retries": figures.retries(c.attempts for c in calls),
        "retried_calls": sum(1 for c in calls if c.attempts > 1),
        "error_kinds": dict(errors.most_common()),
        "cost_errors": sum(1 for c in calls if c.cost_error),
    }  # fmt: skip


def _finish_mix(calls: list[Call]) -> dict[str, int]:
    mix = Counter()
    for c in calls:
        if not c.ok or c.response is None:
            mix["ERROR"] += 1
        elif c.response.finish_reason:
            mix[c.response.finish_reason] += 1
        elif c.response.blocked:
            mix[f"BLOCKED:{c.response.block_reason or '?'}"] += 1
        else:
            mix["UNSPECIFIED"] += 1
    return dict(mix.most_common())


def _agreement(run: Run, final: Mapping[tuple[str, str, int], Call], a: str, b: str) -> dict[str, Any] | None:
    exact = norm = n = 0
    for (pid, arm, rep), call in final.items():
        if arm != a or not call.ok:
            continue
        other = final.get((pid, b, rep))
        if other is None or not other.ok:
            continue
        n += 1
        ta, tb = call.response.text, other.response.text  # type: ignore[union-attr]
        exact += ta == tb
        norm += normalise_text(ta) == normalise_text(tb)
    if not n:
        return None
    return {"pairs": n, "exact": exact / n, "normalised": norm / n}


def _verdict_figures(run: Run) -> dict[str, Any] | None:
    """The judged figures, taken from the verdict (never recomputed here): disagreement rates, the
    excess and the accuracy against `expected`, as `shadow report` shows them."""
    from migrate.errors import UserError
    from migrate.shadow.verdict import compute

    try:
        doc = compute(run)
    except UserError:
        return None  # nothing compared yet
    d = doc["parity"]["decision"]
    acc = doc.get("accuracy")
    return {"compared": doc["coverage"]["compared"], "noise_disagreement": d["noise_disagreement"],
            "candidate_disagreement": d["candidate_disagreement"], "excess": d["excess"],
            "accuracy": {arm: {"n": a["n"], "rate": a["rate"]} for arm, a in acc["arms"].items()} if acc else None}


def summarise(run: Run, volume_per_day: float | None = None) -> dict[str, Any]:
    manifest = run.manifest
    final = run.final()
    by_arm = _arm_calls(final)
    arms = [a for a in ARM_ORDER if a in by_arm or a in (manifest.get("arms") or {})]
    models = run.arms()
    cost = {arm: _cost(by_arm.get(arm, [])) for arm in arms}
    pricing = manifest.get("pricing") or {}
    pairs = figures.paired_costs(final, figures.projection_factors(pricing))  # the same pairs as the report's saving
    ratio = figures.cost_ratio(pairs)
    volume = volume_per_day if volume_per_day is not None else (manifest.get("settings") or {}).get("volume_per_day")
    monthly = figures.monthly(pairs, volume)
    slices = Counter(p.slice or "-" for p in run.prompts.values())
    parity: dict[str, Any] = {"candidate_vs_primary": _agreement(run, final, "primary", "candidate")}
    if "noise" in arms:
        parity["noise_vs_primary"] = _agreement(run, final, "primary", "noise")
    parity["verdict"] = _verdict_figures(run)
    return {
        "run": str(run.folder), "status": manifest.get("status"),
        "models": {arm: models.get(arm) for arm in arms},
        "backends": {arm: (manifest.get("arms") or {}).get(arm, {}).get("backend") for arm in arms},
        "prompts": len(run.prompts), "slices": dict(slices.most_common()),
        "repeats": manifest.get("repeats", 1),
        "pricing": {"as_of": pricing.get("as_of"), "source": pricing.get("source"), "batch": pricing.get("batch", False),
                    "priced_on": pricing.get("priced_on"), "periods": figures.price_periods(pricing),
                    "priced_as": figures.priced_as(final.values())},
        "cost": {"arms": cost, "candidate_to_primary_ratio": ratio,
                 "saving_ratio": (1.0 - ratio) if ratio is not None else None, "monthly": monthly},
        "latency": {arm: _latency(by_arm.get(arm, [])) for arm in arms},
        "reliability": {arm: _reliability(by_arm.get(arm, [])) for arm in arms},
        "finish_reasons": {arm: _finish_mix(by_arm.get(arm, [])) for arm in arms},
        "parity": parity,
        "served": served_mod.service((c.arm, c.model, c.model_version) for c in final.values() if c.ok),
        "billing": dict(run.exposure or {"possibly_billed_calls": 0, "possibly_billed_usd": 0.0}),
    }  # fmt: skip


# --------------------------------------------------------------------------- render


def _usd(value: float | None, digits: int | None = None) -> str:
    return fmt.usd(value)  # the reports' format: one figure reads the same in every view


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _pct(value: float | None) -> str:
    return fmt.pct(value)


def render(summary: Mapping[str, Any], console: Console) -> None:
    arms = list(summary["models"])
    label = {arm: f"{arm}\n[dim]{summary['models'][arm]}[/dim]" for arm in arms}
    pricing = summary["pricing"]
    header = Text.assemble(
        ("Shadow run ", "bold"), (summary["run"], "bold cyan"), f"  status {summary['status']}\n",
        f"{summary['prompts']} prompts, {summary['repeats']} repeat(s), slices: ",
        ", ".join(f"{k} ({v})" for k, v in summary["slices"].items()),
        f"\nprices as of {pricing['as_of']}{' (batch rates in the projection)' if pricing.get('batch') else ''}, "
        f"{pricing['source']}; in force on {pricing.get('priced_on') or '-'}",
    )  # fmt: skip
    console.print(header)
    for line in pricing.get("periods") or ():
        console.print(f"[dim]  {escape(line)}[/dim]", highlight=False)
    for arm, models in (pricing.get("priced_as") or {}).items():
        for model, row in models.items():
            console.print(f"[yellow]{arm}: {row['calls']} call(s) priced as {model}: {escape(row['why'])}[/yellow]",
                          highlight=False)
    for arm, row in (summary.get("served") or {}).items():
        style = "bold red" if row["routed"] else "dim"
        console.print(f"[{style}]{arm} asked for {row['requested']}, served by {served_mod.describe(row)}[/{style}]",
                      highlight=False)
    billing = summary.get("billing") or {}
    if billing.get("possibly_billed_calls"):
        console.print(f"[yellow]{billing['possibly_billed_calls']} call(s) were sent twice after a kill (the first "
                      f"answer was lost): possibly billed, at most {_usd(billing['possibly_billed_usd'])}[/yellow]")

    cost = summary["cost"]
    table = Table(title="Cost (from each response's usageMetadata)", title_justify="left")
    for col in ("arm", "requests", "total", "mean / request", "thinking share of output"):
        table.add_column(col, justify="left" if col == "arm" else "right")
    for arm in arms:
        c = cost["arms"][arm]
        table.add_row(label[arm], str(c["requests"]), _usd(c["total_usd"]), _usd(c["mean_usd"], 6),
                      _pct(c["thoughts_share_of_output"]))
    console.print(table)
    if cost["candidate_to_primary_ratio"] is not None:
        console.print(f"candidate / primary cost per request: [bold]{cost['candidate_to_primary_ratio']:.3f}[/bold]"
                      f"  (saving [bold green]{_pct(cost['saving_ratio'])}[/bold green])")
    if cost["monthly"]:
        m = cost["monthly"]
        console.print(f"at {m['volume_per_day']:,.0f} requests/day: primary {_usd(m['primary_usd'], 2)}/month, "
                      f"candidate {_usd(m['candidate_usd'], 2)}/month, saving [bold green]{_usd(m['saving_usd'], 2)}"
                      f"[/bold green]/month ({m['days']}-day month)")
    unpriced = sum(cost["arms"][a]["unpriced"] for a in arms)
    if unpriced:
        console.print(f"[bold red]error: {unpriced} successful call(s) could not be priced (no usage metadata or "
                      f"$0 for a billable call): totals above are incomplete[/bold red]")

    table = Table(title="Latency (successful calls)", title_justify="left")
    for col in ("arm", "n", "p50", "p95", "p99", "TTFT p50"):
        table.add_column(col, justify="left" if col == "arm" else "right")
    for arm in arms:
        lat = summary["latency"][arm]
        table.add_row(label[arm], str(lat["n"]), _ms(lat["p50_ms"]), _ms(lat["p95_ms"]), _ms(lat["p99_ms"]),
                      _ms(lat["ttft_p50_ms"]))
    console.print(table)

    table = Table(title="Reliability and finish reasons", title_justify="left")
    for col in ("arm", "ok", "errors", "retries", "error kinds", "finish reasons"):
        table.add_column(col, justify="right" if col in ("ok", "errors", "retries") else "left")
    for arm in arms:
        rel = summary["reliability"][arm]
        kinds = ", ".join(f"{k} x{v}" for k, v in rel["error_kinds"].items()) or "-"
        mix = ", ".join(f"{k} {v}" for k, v in summary["finish_reasons"][arm].items()) or "-"
        table.add_row(label[arm], str(rel["ok"]), str(rel["errors"]), str(rel["retries"]), kinds, mix)
    console.print(table)

    parity = summary["parity"]
    table = Table(title="Text match of answered pairs (descriptive; the verdict's figures are below and in "
                        "`shadow report`)", title_justify="left")
    for col in ("comparison", "pairs", "exact", "normalised"):
        table.add_column(col, justify="left" if col == "comparison" else "right")
    for key, name in (("noise_vs_primary", "primary vs primary (noise floor)"),
                      ("candidate_vs_primary", "candidate vs primary")):
        row = parity.get(key)
        if row:
            table.add_row(name, str(row["pairs"]), _pct(row["exact"]), _pct(row["normalised"]))
    console.print(table)
    v = parity.get("verdict")
    if v:
        line = (f"verdict figures ({v['compared']} prompts): Pro disagrees with itself {_pct(v['noise_disagreement'])}, "
                f"with the candidate {_pct(v['candidate_disagreement'])}, excess {fmt.pp(v['excess'])}")
        if v.get("accuracy"):
            line += "; accuracy against expected: " + ", ".join(
                f"{arm} {_pct(a['rate'])} of {a['n']}" for arm, a in v["accuracy"].items())
        console.print(line, highlight=False)
