"""Number formatting shared by every renderer (pure)."""

from __future__ import annotations

import math
from typing import Any, Mapping

STATUS_WORD = {"PASS": "PASS", "FAIL": "FAIL", "INCONCLUSIVE": "INCONCLUSIVE", "NOT_GATED": "not gated",
               "ROUTED": "ROUTED"}
ARM_LABEL = {"primary": "Pro (primary)", "noise": "Pro again (noise)", "candidate": "candidate"}


def pct(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x * 100:.{digits}f}%"


def pp(x: float | None, digits: int = 1) -> str:
    """A difference of rates in percentage points, signed."""
    if x is None:
        return "-"
    value = x * 100
    if abs(value) < 0.5 * 10**-digits:
        value = 0.0
    return f"{value:+.{digits}f} pp"


def pp_interval(low: float | None, high: float | None, digits: int = 1) -> str:
    if low is None or high is None:
        return "-"
    return f"[{low * 100:+.{digits}f}, {high * 100:+.{digits}f}]"


def rate_interval(low: float | None, high: float | None, digits: int = 1) -> str:
    if low is None or high is None:
        return "-"
    return f"[{low * 100:.{digits}f}, {high * 100:.{digits}f}]"


def usd(x: float | None, digits: int | None = None) -> str:
    """Dollars with enough digits to be useful: $1,234, $12.34, $0.0123, $0.000123."""
    if x is None:
        return "-"
    if digits is None:
        a = abs(x)
        digits = 0 if a >= 1000 else 2 if a >= 1 else max(2, min(8, 2 - math.floor(math.log10(a)) + 1)) if a > 0 else 2
    sign = "-" if x < 0 else ""
    return f"{sign}${abs(x):,.{digits}f}"


def ms(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x / 1000:.2f} s" if x >= 10_000 else f"{x:,.0f} ms"


def ms_interval(block: Mapping[str, Any] | None) -> str:
    """'1,234 ms [1,100, 1,500]' from {estimate, low, high} (a missing bound shows as ?)."""
    if not block:
        return "-"
    low = "?" if block.get("low") is None else f"{block['low']:,.0f}"
    high = "?" if block.get("high") is None else f"{block['high']:,.0f}"
    return f"{ms(block['estimate'])} [{low}, {high}]"


def p_value(p: float | None) -> str:
    if p is None:
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def count_bound(block: Mapping[str, Any] | None, confidence: float) -> str:
    """'0/59 (<= 5.0% at 95%, rule of three)' or '2/59 (3.4%, <= 11.7%)'."""
    if not block or not block.get("n"):
        return "-"
    up = pct(block["upper"])
    if block["count"] == 0:
        return f"0/{block['n']} (<= {up} at {confidence:.0%}, rule of three)"
    return f"{block['count']}/{block['n']} ({pct(block['rate'])}, <= {up})"


def metric_value(metric: Mapping[str, Any], side: str) -> str:
    block = metric[side]
    if side == "noise" and metric.get("noise_measured") == 0:
        return "not measured"
    return f"{pct(block['value'])} {rate_interval(block['low'], block['high'])}"


def excess_text(metric: Mapping[str, Any]) -> str:
    e = metric["excess"]
    return f"{pp(e['estimate'])} {pp_interval(e['low'], e['high'])}"


def truncate(text: str | None, limit: int) -> str:
    if text is None:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


# --------------------------------------------------------------------------- rows every view renders alike

JSON_FIELD_HEADER = ["field", "weight", "Pro vs Pro", "Pro vs candidate", "excess", "Pro repeats it?"]


def json_field_rows(doc: Mapping[str, Any], limit: int) -> list[list[str]]:
    """One row per JSON leaf field (none is dropped; `limit` only shortens the table)."""
    jf = doc.get("json_fields") or {}
    rows = []
    for r in (jf.get("paths") or [])[:limit]:
        rows.append([r["path"], pct(r["weight"]), f"{r['noise']}/{r['compared_noise']}",
                     f"{r['candidate']}/{r['compared_candidate']}", pp(r["excess"]),
                     "no: noisy" if r["noisy"] else "yes"])
    return rows


def failure_lines(doc: Mapping[str, Any]) -> list[str]:
    """'candidate: 3 calls without a usable answer: http 400 x2 (sample), ...' per arm with any."""
    failures = doc.get("failures") or {}
    out = []
    for arm in ("primary", "candidate", "noise"):
        row = failures.get(arm) or {}
        if not row.get("calls"):
            continue
        classes = ", ".join(f"{c['class']} x{c['calls']}" + (f" ({truncate(c['sample'], 80)})" if c.get("sample")
                                                              and c["sample"] != c["class"] else "")
                            for c in row["classes"])
        what = "left out of both sides" if arm == "primary" else "each counted as a disagreement"
        out.append(f"{arm}: {row['calls']} call(s) without a usable answer, {what}: {classes}")
    return out


def served_lines(doc: Mapping[str, Any]) -> list[str]:
    """What served each arm, from the responses' modelVersion."""
    out = []
    for arm, row in (doc.get("served") or {}).items():
        served = ", ".join(f"{name} ({n} of {row['answered']})" for name, n in (row.get("served") or {}).items())
        if row.get("unreported"):
            served += (", " if served else "") + f"not reported ({row['unreported']})"
        flag = " -- ROUTED" if row.get("routed") else ""
        out.append(f"{arm} asked for {row['requested']}, served by {served or 'not reported'}{flag}")
    return out


def billing_line(doc: Mapping[str, Any]) -> str | None:
    billing = doc.get("billing") or {}
    if not billing.get("possibly_billed_calls"):
        return None
    return (f"{billing['possibly_billed_calls']} call(s) were sent again after a kill lost their answers: possibly "
            f"billed twice, at most {usd(billing['possibly_billed_usd'])} (write-ahead ledger sent.jsonl)")


def method_line(doc: Mapping[str, Any]) -> str:
    m = (doc.get("parity") or {}).get("method") or {}
    if not m:
        return ""
    return (f"look {m['look']} at this run (one-sided alpha {m['alpha']:.4g}; {m['looks']}); {m['slices']}; "
            f"{m['fail_rule']}")


def price_notes(cost: Mapping[str, Any]) -> list[str]:
    """The lines every report prints under its cost table: the price period in force on the run's
    date for each model, and the calls billed at another model's rates (routed), with why."""
    pricing = cost.get("pricing") or {}
    lines = [f"prices in force on {pricing.get('priced_on') or '-'} -- {line}" for line in pricing.get("periods") or ()]
    for arm, models in (cost.get("priced_as") or {}).items():
        for model, row in models.items():
            lines.append(f"{ARM_LABEL.get(arm, arm)}: {row['calls']} call(s) priced as {model}: {row['why']}")
    return lines
