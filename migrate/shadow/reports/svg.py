"""Small inline-SVG charts for the HTML report (pure: numbers in, an <svg> string out; no JS)."""

from __future__ import annotations

import math
from html import escape
from typing import Any, Mapping, Sequence

STATUS_COLOR = {"PASS": "#1a7f37", "FAIL": "#cf222e", "INCONCLUSIVE": "#9a6700", "NOT_GATED": "#6e7781"}
ARM_COLOR = {"primary": "#4e79a7", "noise": "#9ecae9", "candidate": "#f28e2b"}
PART_COLOR = {"input": "#4e79a7", "cached": "#76b7b2", "output": "#59a14f", "thinking": "#e15759"}
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif"
INK, GRID, MUTED = "#1f2328", "#d0d7de", "#57606a"


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".") if math.isfinite(x) else "0"


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12, weight: str = "normal",
          fill: str = INK, extra: str = "") -> str:
    return (f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" '
            f'fill="{fill}"{extra}>{escape(text)}</text>')


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = GRID, width: float = 1, dash: str = "") -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" '
            f'stroke-width="{_n(width)}"{d}/>')


def _svg(chart_id: str, width: int, height: int, title: str, body: list[str]) -> str:
    return (f'<svg id="{chart_id}" class="chart" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" style="{FONT}">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    x = first
    while x <= hi + 1e-9 * step:
        ticks.append(round(x, 12))
        x += step
    return ticks


def forest(chart_id: str, rows: Sequence[Mapping[str, Any]], margin: float, *, title: str, width: int = 860) -> str:
    """Excess disagreement per row (point + interval) against the noise floor (0) and the margin.

    rows: {label, estimate, low, high, status, n, strong (bool)}; values are fractions."""
    left, right, top, row_h = 190, 170, 34, 30
    height = top + row_h * len(rows) + 46
    lo = min([0.0, -margin] + [r["low"] for r in rows])
    hi = max([margin * 2] + [r["high"] for r in rows])
    pad = (hi - lo) * 0.06
    lo, hi = lo - pad, hi + pad
    x0, x1 = left, width - right

    def X(v: float) -> float:
        return x0 + (v - lo) / (hi - lo) * (x1 - x0)

    body = [f'<rect x="{_n(X(lo))}" y="{top - 8}" width="{_n(X(margin) - X(lo))}" height="{row_h * len(rows) + 8}" '
            f'fill="#dafbe1" opacity="0.55"/>']
    for t in nice_ticks(lo * 100, hi * 100, 8):
        x = X(t / 100)
        body.append(_line(x, top - 8, x, top + row_h * len(rows), GRID, 1))
        body.append(_text(x, top + row_h * len(rows) + 16, f"{t:+g}" if t else "0", anchor="middle", size=11, fill=MUTED))
    body.append(_line(X(0), top - 12, X(0), top + row_h * len(rows), "#57606a", 1.5))
    body.append(_text(X(0) - 4, top - 16, "noise floor", anchor="end", size=11, fill=MUTED))
    body.append(_line(X(margin), top - 12, X(margin), top + row_h * len(rows), "#cf222e", 1.5, "5,3"))
    body.append(_text(X(margin) + 4, top - 16, f"margin {margin * 100:g} pp", size=11, fill="#cf222e"))
    for i, r in enumerate(rows):
        y = top + row_h * i + row_h / 2
        color = STATUS_COLOR.get(r.get("status", ""), INK)
        weight = "bold" if r.get("strong") else "normal"
        body.append(_text(left - 10, y + 4, f"{r['label']} (n={r['n']})", anchor="end", weight=weight))
        body.append(_line(X(r["low"]), y, X(r["high"]), y, color, 3))
        body.append(_line(X(r["low"]), y - 6, X(r["low"]), y + 6, color, 2))
        body.append(_line(X(r["high"]), y - 6, X(r["high"]), y + 6, color, 2))
        body.append(f'<circle cx="{_n(X(r["estimate"]))}" cy="{_n(y)}" r="5.5" fill="{color}" stroke="#fff" stroke-width="1.5"/>')
        body.append(_text(x1 + 10, y + 4, f"{r['estimate'] * 100:+.1f} pp", weight="bold", fill=color))
        body.append(_text(x1 + 78, y + 4, r.get("status", ""), size=10, fill=color, weight="bold"))
    body.append(_text((x0 + x1) / 2, height - 8, "excess disagreement over Pro-vs-Pro, percentage points "
                      "(bars: one-sided bounds)", anchor="middle", size=11, fill=MUTED))
    return _svg(chart_id, width, height, title, body)


def paired_bars(chart_id: str, groups: Sequence[Mapping[str, Any]], *, title: str, width: int = 860) -> str:
    """Per group (slice) two bars with intervals: Pro-vs-Pro and Pro-vs-candidate disagreement.

    groups: {label, noise: (value, low, high), candidate: (value, low, high)}."""
    left, top, bar_h, gap = 190, 28, 11, 14
    height = top + len(groups) * (2 * bar_h + gap) + 40
    x0, x1 = left, width - 40
    hi = max([0.1] + [g[s][2] for g in groups for s in ("noise", "candidate")])
    hi = min(1.0, hi * 1.08)

    def X(v: float) -> float:
        return x0 + v / hi * (x1 - x0)

    body = []
    for t in nice_ticks(0, hi * 100, 6):
        x = X(t / 100)
        body.append(_line(x, top - 6, x, height - 34, GRID, 1))
        body.append(_text(x, height - 20, f"{t:g}%", anchor="middle", size=11, fill=MUTED))
    for i, g in enumerate(groups):
        y = top + i * (2 * bar_h + gap)
        body.append(_text(left - 10, y + bar_h + 4, g["label"], anchor="end", weight="bold" if g.get("strong") else "normal"))
        for k, side in enumerate(("noise", "candidate")):
            v, lo, hi_ = g[side]
            yy = y + k * bar_h
            body.append(f'<rect x="{x0}" y="{_n(yy)}" width="{_n(max(0.0, X(v) - x0))}" height="{bar_h - 2}" '
                        f'fill="{ARM_COLOR[side]}"/>')
            body.append(_line(X(lo), yy + (bar_h - 2) / 2, X(hi_), yy + (bar_h - 2) / 2, INK, 1.2))
    legend_y = 14
    body.append(f'<rect x="{x0}" y="{legend_y - 9}" width="10" height="10" fill="{ARM_COLOR["noise"]}"/>')
    body.append(_text(x0 + 14, legend_y, "Pro vs Pro (noise floor)", size=11))
    body.append(f'<rect x="{x0 + 180}" y="{legend_y - 9}" width="10" height="10" fill="{ARM_COLOR["candidate"]}"/>')
    body.append(_text(x0 + 194, legend_y, "Pro vs candidate", size=11))
    body.append(_text((x0 + x1) / 2, height - 4, "disagreement rate with 95% Wilson interval", anchor="middle",
                      size=11, fill=MUTED))
    return _svg(chart_id, width, height, title, body)


def cost_bars(chart_id: str, arms: Sequence[Mapping[str, Any]], *, title: str, width: int = 860) -> str:
    """Mean cost per request per arm, stacked by input / cached input / answer / thinking.

    arms: {label, total (per request), parts {input, cached, output, thinking} | None, note, note2}."""
    left, top, bar_h, gap = 190, 30, 26, 16
    height = top + len(arms) * (bar_h + gap) + 30
    x0, x1 = left, width - 190
    hi = max([1e-12] + [a["total"] or 0.0 for a in arms])
    body = []
    legend = [("input", "input"), ("cached", "cached input"), ("output", "answer"), ("thinking", "thinking")]
    lx = x0
    for key, name in legend:
        body.append(f'<rect x="{lx}" y="6" width="10" height="10" fill="{PART_COLOR[key]}"/>')
        body.append(_text(lx + 14, 15, name, size=11))
        lx += 24 + 7 * len(name)
    for i, a in enumerate(arms):
        y = top + i * (bar_h + gap)
        body.append(_text(left - 10, y + bar_h / 2 + 4, a["label"], anchor="end"))
        total = a["total"] or 0.0
        parts = a.get("parts")
        x = x0
        if parts and sum(parts.values()) > 0:
            scale = total / sum(parts.values())
            for key, _ in legend:
                w = parts.get(key, 0.0) * scale / hi * (x1 - x0)
                if w > 0:
                    body.append(f'<rect x="{_n(x)}" y="{y}" width="{_n(max(w, 0.5))}" height="{bar_h}" '
                                f'fill="{PART_COLOR[key]}"/>')
                    x += w
        else:
            w = total / hi * (x1 - x0)
            body.append(f'<rect x="{x0}" y="{y}" width="{_n(max(w, 0.5))}" height="{bar_h}" fill="{ARM_COLOR.get(a.get("arm", ""), INK)}"/>')
            x = x0 + w
        body.append(_text(max(x, x0 + 1) + 8, y + bar_h / 2 - 2, a.get("note", ""), size=12, weight="bold"))
        if a.get("note2"):
            body.append(_text(max(x, x0 + 1) + 8, y + bar_h / 2 + 12, a["note2"], size=11, fill=MUTED))
    return _svg(chart_id, width, height, title, body)


def latency_cdf(chart_id: str, series: Sequence[Mapping[str, Any]], *, title: str, width: int = 860,
                height: int = 300) -> str:
    """Empirical latency distributions (CDF on a log time axis), with p50 and p95 marked.

    series: {arm, label, cdf [101 quantiles, ms], p50, p95}."""
    left, right, top, bottom = 48, 200, 16, 44
    x0, x1, y0, y1 = left, width - right, height - bottom, top
    values = [v for s in series for v in s["cdf"] if v and v > 0]
    if not values:
        return _svg(chart_id, width, 40, title, [_text(10, 24, "no latency recorded")])
    lo, hi = math.log10(min(values) * 0.9), math.log10(max(values) * 1.1)
    if hi - lo < 0.3:
        lo, hi = lo - 0.15, hi + 0.15

    def X(ms: float) -> float:
        return x0 + (math.log10(max(ms, 1e-9)) - lo) / (hi - lo) * (x1 - x0)

    def Y(q: float) -> float:
        return y0 - q * (y0 - y1)

    body = []
    for q in (0, 0.25, 0.5, 0.75, 0.95, 1.0):
        body.append(_line(x0, Y(q), x1, Y(q), GRID, 1, "" if q in (0, 1) else "2,3"))
        if q != 0.95:
            body.append(_text(x0 - 6, Y(q) + 4, f"{q:.0%}", anchor="end", size=11, fill=MUTED))
    for exp in range(math.floor(lo), math.ceil(hi) + 1):
        for m in (1, 2, 5):
            v = m * 10**exp
            if lo <= math.log10(v) <= hi:
                x = X(v)
                body.append(_line(x, y0, x, y1, GRID, 1))
                label = f"{v / 1000:g} s" if v >= 1000 else f"{v:g} ms"
                body.append(_text(x, y0 + 16, label, anchor="middle", size=11, fill=MUTED))
    for k, s in enumerate(series):
        color = ARM_COLOR.get(s["arm"], INK)
        pts = " ".join(f"{_n(X(v))},{_n(Y(i / 100))}" for i, v in enumerate(s["cdf"]) if v and v > 0)
        dash = ' stroke-dasharray="6,3"' if s["arm"] == "noise" else ""
        body.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2.5"{dash}/>')
        for q, key in ((0.5, "p50"), (0.95, "p95")):
            if s.get(key):
                body.append(f'<circle cx="{_n(X(s[key]))}" cy="{_n(Y(q))}" r="4" fill="{color}" stroke="#fff"/>')
        ly = top + 14 + 34 * k
        body.append(_line(x1 + 14, ly - 4, x1 + 36, ly - 4, color, 3))
        body.append(_text(x1 + 42, ly, s["label"], size=12, weight="bold"))
        body.append(_text(x1 + 42, ly + 14, f"p50 {_ms(s['p50'])}, p95 {_ms(s['p95'])}", size=11, fill=MUTED))
    body.append(_text((x0 + x1) / 2, height - 6, "latency (log scale); share of calls at or below; dots: p50, p95",
                      anchor="middle", size=11, fill=MUTED))
    return _svg(chart_id, width, height, title, body)
