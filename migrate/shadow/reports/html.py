"""The verdict as one self-contained HTML file: inline CSS and SVG charts, no scripts, no external assets.

Every piece of run data (answers, prompt IDs, slice names, model IDs) is HTML-escaped. Charts:
parity by slice with intervals (#chart-parity), disagreement three ways per slice (#chart-slices),
cost per arm (#chart-cost), latency distributions (#chart-latency); then the tables and the worst
disagreements side by side.
"""

from __future__ import annotations

from html import escape
from typing import Any, Mapping

from migrate.shadow.reports import fmt, svg

CSS = """
:root{--ink:#1f2328;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa;--pass:#1a7f37;--fail:#cf222e;--inc:#9a6700}
*{box-sizing:border-box}
body{margin:0;background:#fff;color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
.sub{color:var(--muted);font-size:13px}
.banner{display:flex;gap:22px;align-items:center;border-radius:10px;padding:18px 22px;margin:18px 0;border:2px solid}
.banner.PASS{background:#dafbe1;border-color:var(--pass)}.banner.FAIL{background:#ffebe9;border-color:var(--fail)}
.banner.INCONCLUSIVE{background:#fff8c5;border-color:var(--inc)}.banner.ROUTED{background:#ffebe9;border-color:var(--fail)}
.verdict{font-size:34px;font-weight:800;letter-spacing:.5px}
.PASS .verdict{color:var(--pass)}.FAIL .verdict{color:var(--fail)}.INCONCLUSIVE .verdict{color:var(--inc)}
.headline{font-size:15px;font-weight:600}.need{margin-top:6px;font-weight:600;color:var(--inc)}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:10px 0 4px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:var(--bg)}
.card .k{font-size:12px;color:var(--muted)}.card .v{font-size:20px;font-weight:700}.card .d{font-size:12px;color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:6px 0 4px;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;border-radius:999px;padding:1px 9px;font-size:11px;font-weight:700;color:#fff}
.pill.PASS{background:var(--pass)}.pill.FAIL{background:var(--fail)}.pill.INCONCLUSIVE{background:var(--inc)}.pill.ROUTED{background:var(--fail)}
.pill.NOT_GATED{background:#8c959f}
.chart{display:block;max-width:100%;height:auto;margin:6px 0}
.row2{display:grid;grid-template-columns:1fr 1fr;gap:20px}
.dis{border:1px solid var(--line);border-radius:8px;margin:12px 0;overflow:hidden}
.dis .h{background:var(--bg);padding:7px 12px;font-size:13px}.dis .q{padding:6px 12px;color:var(--muted);font-size:12px}
.sbs{display:grid;grid-template-columns:1fr 1fr 1fr;border-top:1px solid var(--line)}
.sbs div{padding:8px 12px;border-right:1px solid var(--line);min-width:0}.sbs div:last-child{border-right:0}
.sbs b{display:block;font-size:12px;color:var(--muted);margin-bottom:3px}
pre{margin:0;white-space:pre-wrap;word-break:break-word;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.warn{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:6px 10px;margin:6px 0;font-size:13px}
.foot{margin-top:30px;color:var(--muted);font-size:12px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--bg);padding:1px 4px;border-radius:4px}
"""


def e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _pill(status: str) -> str:
    return f'<span class="pill {e(status)}">{e(fmt.STATUS_WORD.get(status, status))}</span>'


def _table(header: list[str], rows: list[list[str]], num: set[int] | None = None) -> str:
    num = num or set()
    head = "".join(f'<th class="num">{e(h)}</th>' if i in num else f"<th>{e(h)}</th>" for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' if i in num else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cards(doc: Mapping[str, Any]) -> str:
    d = doc["parity"]["decision"]
    cost = doc["cost"]
    lat = doc["latency"]["arms"]
    cards = [("excess disagreement over the noise floor", fmt.pp(d["excess"]),
              f"one-sided bounds {fmt.pp_interval(d['low'], d['high'])} pp; margin {d['margin'] * 100:g} pp")]
    if cost.get("ratio") is not None:
        cards.append(("cost per request, candidate / Pro", f"{cost['ratio']:.3f}",
                      f"{(1 - cost['ratio']) * 100:.1f}% cheaper per request"))
    if cost.get("monthly"):
        m = cost["monthly"]
        s = m["saving_usd"]
        cards.append(("projected monthly saving", fmt.usd(s["estimate"]),
                      f"[{fmt.usd(s['low'])}, {fmt.usd(s['high'])}] at {m['volume_per_day']:,.0f} requests/day"))
    elif cost.get("per_1000"):
        s = cost["per_1000"]
        cards.append(("saving per 1,000 requests", fmt.usd(s["estimate"]),
                      f"[{fmt.usd(s['low'])}, {fmt.usd(s['high'])}]; --volume for a monthly figure"))
    if "primary" in lat and "candidate" in lat:
        cards.append(("p95 latency, candidate vs Pro", fmt.ms(lat["candidate"]["p95"]["estimate"]),
                      f"vs {fmt.ms(lat['primary']['p95']['estimate'])} for Pro"))
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="k">{e(k)}</div><div class="v">{e(v)}</div><div class="d">{e(dd)}</div></div>'
        for k, v, dd in cards[:4]) + "</div>"


def _charts(doc: Mapping[str, Any]) -> str:
    d = doc["parity"]["decision"]
    gate = doc["gates"][0]
    rows = [{"label": "all prompts", "estimate": d["excess"], "low": d["low"], "high": d["high"],
             "status": gate["status"], "n": d["n"], "strong": True}]
    rows += [{"label": r["slice"], "estimate": r["excess"], "low": r["low"], "high": r["high"], "status": r["status"],
              "n": r["n"]} for r in doc["slices"]]
    parts = ['<h2>Parity by slice, against the noise floor</h2>',
             svg.forest("chart-parity", rows, d["margin"], title="Excess disagreement by slice with intervals")]
    agreement = doc["parity"]["metrics"][0]
    groups = [{"label": "all prompts", "strong": True,
               "noise": (agreement["noise"]["value"], agreement["noise"]["low"], agreement["noise"]["high"]),
               "candidate": (agreement["candidate"]["value"], agreement["candidate"]["low"], agreement["candidate"]["high"])}]
    groups += [{"label": r["slice"], "noise": (r["noise"], *r["noise_interval"]),
                "candidate": (r["candidate"], *r["candidate_interval"])} for r in doc["slices"]]
    parts.append(svg.paired_bars("chart-slices", groups, title="Disagreement three ways per slice"))
    cost = doc["cost"]
    bars = []
    for arm, a in cost["arms"].items():
        ok = a["ok"] or 1
        per = {k: v / ok for k, v in a["parts_usd"].items()} if a.get("parts_usd") else None
        note2 = f"{fmt.usd(a['per_success_usd'])} / successful answer" if a.get("per_success_usd") is not None else ""
        pro = (cost["arms"].get("primary") or {}).get("mean_usd")
        if arm == "candidate" and pro and a.get("mean_usd") is not None:
            note2 += f" ({a['mean_usd'] / pro:.1%} of Pro's)"
        bars.append({"arm": arm, "label": f"{fmt.ARM_LABEL[arm]}", "total": a["mean_usd"], "parts": per,
                     "note": f"{fmt.usd(a['mean_usd'])} / request", "note2": note2})
    parts.append('<div class="row2"><div>')
    parts.append(f"<h2>Cost per request (prices as of {e(cost['pricing']['as_of'])})</h2>")
    parts.append(svg.cost_bars("chart-cost", bars, title="Mean cost per request by arm", width=620))
    parts.append("</div><div>")
    parts.append("<h2>Latency distributions</h2>")
    series = [{"arm": arm, "label": fmt.ARM_LABEL[arm], "cdf": b["cdf"], "p50": b["p50"]["estimate"],
               "p95": b["p95"]["estimate"]} for arm, b in doc["latency"]["arms"].items()]
    parts.append(svg.latency_cdf("chart-latency", series, title="Latency distribution per arm", width=620))
    parts.append("</div></div>")
    return "".join(parts)


def _gates(doc: Mapping[str, Any]) -> str:
    rows = [[_pill(g["status"]), e(g["name"]), e(g["summary"])] for g in doc["gates"]]
    return "<h2>Gates</h2>" + _table(["status", "gate", "detail"], rows)


def _parity(doc: Mapping[str, Any]) -> str:
    rows = [[e(m["label"]), e(fmt.metric_value(m, "noise")), e(fmt.metric_value(m, "candidate")), e(fmt.excess_text(m))]
            for m in doc["parity"]["metrics"] + doc["lexical"] + doc["operational"]["metrics"]]
    conf = doc["settings"]["confidence"]
    return ("<h2>Every figure three ways</h2>"
            + _table(["figure", "Pro vs Pro (noise floor)", "Pro vs candidate", "excess over the noise"], rows)
            + f'<div class="sub">{conf:.0%} intervals: Wilson for rates, bootstrap for means; the excess is a paired '
              "bootstrap over prompts (positive = the candidate is worse than Pro's own repeatability).</div>")


def _slices(doc: Mapping[str, Any]) -> str:
    rows = []
    for r in doc["slices"]:
        cost, lat = r.get("cost") or {}, r.get("latency") or {}
        rows.append([e(r["slice"]), str(r["n"]), e(fmt.pct(r["noise"])), e(fmt.pct(r["candidate"])),
                     e(f"{fmt.pp(r['excess'])} {fmt.pp_interval(r['low'], r['high'])}"), e(fmt.p_value(r.get("p_pass_holm"))),
                     e(fmt.p_value(r.get("p_fail_holm"))), _pill(r["status"]),
                     e(f"{fmt.usd(cost.get('primary'))} \u2192 {fmt.usd(cost.get('candidate'))}"),
                     e(f"{fmt.ms((lat.get('primary') or {}).get('p50'))} \u2192 {fmt.ms((lat.get('candidate') or {}).get('p50'))}")])
    return ("<h2>Slices, worst first</h2>"
            + _table(["slice", "n", "Pro vs Pro", "Pro vs candidate", "excess [bounds]", "p below margin",
                      "p beyond margin", "status", "cost / request", "p50 latency"], rows, num={1})
            + '<div class="sub">p-values are one-sided and Holm-adjusted across slices.</div>')


def _critical(doc: Mapping[str, Any]) -> str:
    op = doc["operational"]
    conf = doc["settings"]["confidence"]
    rows = [[e(r["label"])] + [e(fmt.count_bound(r["arms"].get(a), conf)) for a in ("primary", "noise", "candidate")]
            for r in op["critical"]]
    rows.append(["<b>new in the candidate</b>", "", "", e(fmt.count_bound(op["new_in_candidate"], conf))])
    out = "<h2>Critical failures and operational parity</h2>" + _table(["failure", "Pro", "Pro again", "candidate"], rows)
    mix = [[e(fmt.ARM_LABEL[a]), e(", ".join(f"{k} {v}" for k, v in m.items()))] for a, m in op["finish_reasons"].items()]
    lr = op["length_ratio"]
    if lr.get("candidate"):
        mix.append(["length ratio (median)", e(f"candidate/Pro {lr['candidate']['median']:.2f}"
                                              + (f", Pro again/Pro {lr['noise']['median']:.2f}" if lr.get("noise") else ""))])
    if op.get("tool_calls"):
        mix.append(["prompts with tool calls", str(op["tool_calls"])])
    return out + _table(["finish reasons", ""], mix)


def _details(doc: Mapping[str, Any]) -> str:
    out = []
    rows = fmt.json_field_rows(doc, 30)
    if rows:
        rows = [[f"<code>{e(r[0])}</code>", *map(e, r[1:])] for r in rows]
        out.append("<h2>JSON fields (each judged against Pro's own repeat of it; none left out)</h2>"
                   + _table(fmt.JSON_FIELD_HEADER, rows))
    labels = doc.get("labels")
    if labels and labels.get("candidate"):
        c = labels["candidate"]
        lab = c["confusion"]["labels"]
        rows = [[f"<b>{e(lab[i] if lab[i] is not None else '(unparsed)')}</b>"] + [str(x) for x in row]
                for i, row in enumerate(c["confusion"]["counts"])]
        kappa = "-" if c["kappa"] is None else f"{c['kappa']:.2f}"
        n = labels.get("noise")
        noise = f"; Pro vs Pro: {fmt.pct(n['agreement'])}, kappa {'-' if n['kappa'] is None else format(n['kappa'], '.2f')}" if n else ""
        out.append(f"<h2>Labels</h2><div class='sub'>candidate agreement {e(fmt.pct(c['agreement']))}, Cohen's kappa "
                   f"{e(kappa)}{e(noise)}. Rows: Pro's label; columns: the candidate's.</div>"
                   + _table(["Pro \\ candidate"] + [e(x if x is not None else "(unparsed)") for x in lab], rows,
                            num=set(range(1, len(lab) + 1))))
    acc = doc.get("accuracy")
    if acc:
        rows = [[e(fmt.ARM_LABEL[a]), e(f"{b['correct']:g}/{b['n']}"), e(f"{fmt.pct(b['rate'])} {fmt.rate_interval(b['low'], b['high'])}")]
                for a, b in acc["arms"].items()]
        d = acc["difference"]
        mc = acc["mcnemar"]
        out.append("<h2>Accuracy against the expected answers</h2>" + _table(["arm", "correct", "rate"], rows)
                   + f"<div class='sub'>candidate - Pro {e(fmt.pp(d['estimate']))} {e(fmt.pp_interval(d['low'], d['high']))} pp; "
                     f"McNemar exact test: only Pro right {mc['only_primary_right']}, only the candidate right "
                     f"{mc['only_candidate_right']}, p = {e(fmt.p_value(mc['p']))}</div>")
    judge = doc.get("judge")
    if judge:
        wr = judge.get("win_rate")
        rows = [["judge model", f"<code>{e(judge['model'])}</code> ({e(judge.get('backend'))})"],
                ["outcome", e(f"candidate wins {judge['wins']}, ties {judge['ties']}, losses {judge['losses']} of {judge['judged']}")],
                ["candidate win rate (decisive)", e(f"{fmt.pct(wr['value'])} {fmt.rate_interval(wr['low'], wr['high'])}; sign test p {fmt.p_value(judge['sign_test_p'])}") if wr else "-"],
                ["position bias", e(fmt.pct(judge["position_bias_rate"]))],
                ["longer answer won", e(fmt.pct(judge["longer_answer_wins"]))],
                ["judge cost", e(f"{fmt.usd(judge['cost_usd'])} for {judge['calls']} calls")],
                ["tie rule", e(judge["tie_rule"])]]
        out.append("<h2>Pairwise judge</h2>" + _table(["", ""], rows))
    cost = doc["cost"]
    rows = []
    for arm, a in cost["arms"].items():
        rows.append([e(fmt.ARM_LABEL[arm]), f"<code>{e(a['model'])}</code>", str(a["requests"]), e(fmt.usd(a["total_usd"])),
                     e(fmt.usd(a["mean_usd"])), e(fmt.usd(a["per_success_usd"])), e(fmt.pct(a["thinking_share"]))])
    pricing = cost["pricing"]
    extra = f"; judge {fmt.usd(cost['judge_usd'])}" if cost.get("judge_usd") is not None else ""
    out.append("<h2>Cost</h2>" + _table(["arm", "model", "requests", "total", "mean / request", "per successful answer",
                                         "thinking share of the bill"], rows, num={2, 3, 4, 5, 6})
               + f"<div class='sub'>Prices as of <b>{e(pricing['as_of'])}</b> from {e(pricing['source'])} (table "
                 f"<code>{e(pricing['hash'])}</code>{', batch rates in the projection' if pricing['batch'] else ''}); this experiment "
                 f"cost {e(fmt.usd(cost['experiment_usd']))}{e(extra)}.</div>"
               + "".join(f"<div class='sub'>{e(note)}</div>" for note in fmt.price_notes(cost)))
    rows = [[e(fmt.ARM_LABEL[a]), str(b["n"]), e(fmt.ms_interval(b["p50"])), e(fmt.ms_interval(b["p95"])),
             e(fmt.ms_interval(b["p99"]))] for a, b in doc["latency"]["arms"].items()]
    out.append("<h2>Latency</h2>" + _table(["arm", "n", "p50", "p95", "p99"], rows, num={1})
               + "<div class='sub'>Distribution-free order-statistic intervals; ? = too few calls to bound.</div>")
    return "".join(out)


def _disagreements(doc: Mapping[str, Any]) -> str:
    if not doc["disagreements"]:
        return ""
    out = ["<h2>Worst disagreements, side by side</h2>"]
    for d in doc["disagreements"]:
        noise = {True: "Pro agreed with itself", False: "Pro disagreed with itself", None: "no Pro-vs-Pro pair"}[d["noise_agreed"]]
        out.append(f'<div class="dis"><div class="h"><b>{e(d["id"])}</b> &middot; {e(d["slice"])} &middot; '
                   f'{e(d["comparator"])} &middot; {e(d["reason"])} &middot; <i>{e(noise)}</i></div>')
        if d.get("question"):
            out.append(f'<div class="q">{e(fmt.truncate(d["question"], 400))}</div>')
        out.append('<div class="sbs">')
        for label, key in (("Pro", "primary"), ("Pro again (noise)", "noise"), ("candidate", "candidate")):
            text = d.get(key)
            body = "<i>(no call)</i>" if text is None else "<i>(empty)</i>" if not text else f"<pre>{e(text)}</pre>"
            out.append(f"<div><b>{e(label)}</b>{body}</div>")
        out.append("</div></div>")
    return "".join(out)


def render(doc: Mapping[str, Any]) -> str:
    v = doc["verdict"]
    run = doc["run"]
    models = run["models"]
    s = doc["settings"]
    title = f"Shadow verdict: {models.get('candidate')} vs {models.get('primary')}"
    need = ""
    if v.get("prompts_needed"):
        need = (f'<div class="need">Collect ~{v["prompts_needed"]} prompts in total ({v["additional_prompts"]} more) at '
                "the current slice mix, then run the report again.</div>")
    facts = fmt.served_lines(doc) + fmt.failure_lines(doc) + [x for x in (fmt.billing_line(doc),) if x]
    warnings = "".join(f'<div class="warn">{e(w)}</div>' for w in facts + doc["warnings"])
    warnings += f'<div class="sub">{e(fmt.method_line(doc))}</div>'
    ds = run["dataset"]
    sub = (f"run <code>{e(run['folder'])}</code> ({e(run['status'])}, created {e(run['created_at'])}) &middot; dataset "
           f"<code>{e(ds.get('path'))}</code> &middot; {doc['coverage']['compared']} of {doc['coverage']['prompts']} prompts "
           f"compared &middot; margin {s['margin'] * 100:g} pp, {s['confidence']:.0%} one-sided")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="generator" content="flashlite-migrate {e(doc['tool_version'])}">
<title>{e(title)}</title><style>{CSS}</style></head>
<body><main data-verdict="{e(v['status'])}" data-schema-version="{doc['schema_version']}">
<h1>{e(title)}</h1><div class="sub">{sub}</div>
<section class="banner {e(v['status'])}" id="verdict"><div class="verdict">{e(v['status'])}</div>
<div><div class="headline">{e(v['headline'])}</div>{need}
<div class="sub">exit code {v['exit_code']} &middot; prices as of {e(doc['cost']['pricing']['as_of'])}</div></div></section>
{_cards(doc)}
{warnings}
{_gates(doc)}
{_charts(doc)}
{_parity(doc)}
{_slices(doc)}
{_critical(doc)}
{_details(doc)}
{_disagreements(doc)}
<div class="foot">flashlite-migrate {e(doc['tool_version'])} &middot; verdict schema {e(doc['schema'])} v{doc['schema_version']}
&middot; look {doc['parity']['method']['look']} &middot; models: {e(', '.join(f'{a}={m}' for a, m in models.items()))}
&middot; dataset sha256 <code>{e((ds.get('sha256') or '')[:16])}</code></div>
</main></body></html>
"""
