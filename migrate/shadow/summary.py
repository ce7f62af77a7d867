"""`flm shadow summary`: cost, latency, reliability and simple parity of a run, from its store.

`summarise(run)` is pure (a loaded `Run` in, a JSON-ready dict out); `render(summary, console)`
draws it with rich. The statistics here are descriptive; the verdict (noise floor, intervals,
PASS/FAIL) belongs to `shadow report`.
"""

from __future__ import annotations

import json
import math
from array import array
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
from migrate.shadow.store import Call, Group, Run, StreamedRun

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


class _ArmFigures:
    """One arm's cost, latency, reliability and finish reasons, added call by call (a run streams by
    prompt, so the calls are not kept)."""

    def __init__(self) -> None:
        self.calls = self.ok = self.retries = self.retried = self.cost_errors = 0
        self.costs = array("d")  # cost_usd (0.0 when none) of every call
        self.priced = array("d")  # of answered calls that have one
        self.tokens = Counter()
        self.latency, self.ttft = array("d"), array("d")
        self.errors: Counter = Counter()
        self.finish: Counter = Counter()

    def add(self, c: Call) -> None:
        self.calls += 1
        self.costs.append(c.cost_usd or 0.0)
        self.retries += figures.retries((c.attempts,))
        self.retried += c.attempts > 1
        self.cost_errors += bool(c.cost_error)
        if not c.ok:
            if c.error is not None:
                self.errors[f"{c.error.kind} {c.error.http_status}" if c.error.http_status else c.error.kind] += 1
            self.finish["ERROR"] += 1
            return
        self.ok += 1
        if c.cost_usd is not None:
            self.priced.append(c.cost_usd)
        if c.usage is not None:
            self.tokens.update(prompt=c.usage.prompt, cached=c.usage.cached, output=c.usage.output,
                               thoughts=c.usage.thoughts)
        if c.latency_ms is not None:
            self.latency.append(c.latency_ms)
        if c.ttft_ms is not None:
            self.ttft.append(c.ttft_ms)
        if c.response is None:
            self.finish["ERROR"] += 1
        elif c.response.finish_reason:
            self.finish[c.response.finish_reason] += 1
        elif c.response.blocked:
            self.finish[f"BLOCKED:{c.response.block_reason or '?'}"] += 1
        else:
            self.finish["UNSPECIFIED"] += 1

    def cost(self) -> dict[str, Any]:
        t = self.tokens
        return {
            "total_usd": math.fsum(self.costs), "requests": self.ok, "priced": len(self.priced),
            "mean_usd": (math.fsum(self.priced) / len(self.priced)) if self.priced else None,
            "unpriced": self.ok - len(self.priced),
            "prompt_tokens": t["prompt"], "cached_tokens": t["cached"],
            "output_tokens": t["output"], "thought_tokens": t["thoughts"],
            "thoughts_share_of_output": t["thoughts"] / t["output"] if t["output"] else None,
        }  # fmt: skip

    def latency_figures(self) -> dict[str, Any]:
        values, ttft = list(self.latency), list(self.ttft)
        out: dict[str, Any] = {"n": len(values), "mean_ms": (sum(values) / len(values)) if values else None}
        for q in (50, 95, 99):
            out[f"p{q}_ms"] = percentile(values, q)
        out["ttft_p50_ms"] = percentile(ttft, 50)
        out["ttft_p95_ms"] = percentile(ttft, 95)
        return out

    def reliability(self) -> dict[str, Any]:
        return {
            "calls": self.calls, "ok": self.ok, "errors": self.calls - self.ok, "retries": self.retries,
            "retried_calls": self.retried, "error_kinds": dict(self.errors.most_common()),
            "cost_errors": self.cost_errors,
        }  # fmt: skip


class _Agreement:
    """Exact and normalised agreement of arm `b` with arm `a`, per repeat, added prompt by prompt."""

    def __init__(self, a: str, b: str) -> None:
        self.a, self.b, self.n, self.exact, self.norm = a, b, 0, 0, 0

    def add(self, group: Group) -> None:
        for (arm, rep), call in group.items():
            other = group.get((self.b, rep)) if arm == self.a and call.ok else None
            if other is None or not other.ok:
                continue
            self.n += 1
            ta, tb = call.response.text, other.response.text  # type: ignore[union-attr]
            self.exact += ta == tb
            self.norm += normalise_text(ta) == normalise_text(tb)

    def figures(self) -> dict[str, Any] | None:
        return {"pairs": self.n, "exact": self.exact / self.n, "normalised": self.norm / self.n} if self.n else None


def _verdict_figures(run: Run | StreamedRun) -> dict[str, Any] | None:
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


def summarise(run: Run | StreamedRun, volume_per_day: float | None = None) -> dict[str, Any]:
    """The run at a glance, from one pass over its prompts (streamed: memory stays flat)."""
    manifest = run.manifest
    pricing = manifest.get("pricing") or {}
    factors = figures.projection_factors(pricing)
    by_arm: dict[str, _ArmFigures] = {}
    agreement = {"candidate": _Agreement("primary", "candidate"), "noise": _Agreement("primary", "noise")}
    pairs: list[tuple[str, float, float]] = []  # the same pairs as the report's saving
    slices: Counter = Counter()
    served: Counter = Counter()
    priced_as: dict[str, dict[str, Any]] = {}
    for prompt, group in run.groups():
        slices[prompt.slice or "-"] += 1
        for (arm, _), call in group.items():
            by_arm.setdefault(arm, _ArmFigures()).add(call)
            if call.ok:
                served[(arm, call.model, call.model_version)] += 1
        for agree in agreement.values():
            agree.add(group)
        pairs.extend(figures.paired_costs({(prompt.id, arm, rep): c for (arm, rep), c in group.items()}, factors))
        figures.priced_as(group.values(), into=priced_as)
    arms = [a for a in ARM_ORDER if a in by_arm or a in (manifest.get("arms") or {})]
    empty = _ArmFigures()
    models = run.arms()
    ratio = figures.cost_ratio(pairs)
    volume = volume_per_day if volume_per_day is not None else (manifest.get("settings") or {}).get("volume_per_day")
    monthly = figures.monthly(pairs, volume)
    parity: dict[str, Any] = {"candidate_vs_primary": agreement["candidate"].figures()}
    if "noise" in arms:
        parity["noise_vs_primary"] = agreement["noise"].figures()
    parity["verdict"] = _verdict_figures(run)
    return {
        "run": str(run.folder), "status": manifest.get("status"),
        "models": {arm: models.get(arm) for arm in arms},
        "backends": {arm: (manifest.get("arms") or {}).get(arm, {}).get("backend") for arm in arms},
        "prompts": sum(slices.values()), "slices": dict(slices.most_common()),
        "repeats": manifest.get("repeats", 1),
        "pricing": {"as_of": pricing.get("as_of"), "source": pricing.get("source"), "batch": pricing.get("batch", False),
                    "priced_on": pricing.get("priced_on"), "periods": figures.price_periods(pricing),
                    "priced_as": priced_as},
        "cost": {"arms": {arm: by_arm.get(arm, empty).cost() for arm in arms}, "candidate_to_primary_ratio": ratio,
                 "saving_ratio": (1.0 - ratio) if ratio is not None else None, "monthly": monthly},
        "latency": {arm: by_arm.get(arm, empty).latency_figures() for arm in arms},
        "reliability": {arm: by_arm.get(arm, empty).reliability() for arm in arms},
        "finish_reasons": {arm: dict(by_arm.get(arm, empty).finish.most_common()) for arm in arms},
        "parity": parity,
        "served": served_mod.service_counts(served),
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
