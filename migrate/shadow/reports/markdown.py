"""The verdict as a Markdown pull-request comment (GitHub-flavoured tables, a collapsed detail block)."""

from __future__ import annotations

from typing import Any, Mapping

from migrate.shadow.reports import fmt

ICON = {"PASS": "\u2705", "FAIL": "\u274c", "INCONCLUSIVE": "\u26a0\ufe0f", "NOT_GATED": "\u2796", "ROUTED": "\u26d4"}


def _cell(text: Any) -> str:
    """Run data outside code spans: HTML-escaped (GitHub renders inline HTML), pipes escaped, one line."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]], right: int = 0) -> list[str]:
    """`right`: columns from this index on are right-aligned (0 = none)."""
    align = ["---:" if right and i >= right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _code(text: str | None) -> str:
    text = fmt.truncate(text, 300) if text is not None else "(no call)"
    return "`" + text.replace("`", "\u02cb") + "`" if text else "*(empty)*"


def render(doc: Mapping[str, Any]) -> str:
    v = doc["verdict"]
    run = doc["run"]
    models = run["models"]
    s = doc["settings"]
    conf = s["confidence"]
    out = [f"## {ICON[v['status']]} Shadow verdict: **{v['status']}**", "",
           f"**{_cell(v['headline'])}**", ""]
    if v.get("prompts_needed"):
        out += [f"> Collect ~{v['prompts_needed']} prompts in total ({v['additional_prompts']} more) at the current "
                "slice mix, then run the report again.", ""]
    out += [f"`{models.get('candidate')}` vs `{models.get('primary')}` \u00b7 {doc['coverage']['compared']} prompts "
            f"compared \u00b7 margin {s['margin'] * 100:g} pp \u00b7 {conf:.0%} one-sided \u00b7 exit code {v['exit_code']}", ""]
    facts = fmt.served_lines(doc) + fmt.failure_lines(doc) + [x for x in (fmt.billing_line(doc),) if x]
    out += [f"- {_cell(line)}" for line in facts] + [f"- {_cell(fmt.method_line(doc))}", ""]

    out += ["### Gates", ""]
    out += _table(["", "gate", "status", "detail"],
                  [[ICON.get(g["status"], ""), g["name"], fmt.STATUS_WORD[g["status"]], g["summary"]] for g in doc["gates"]])
    out.append("")

    out += ["### Parity against the noise floor", ""]
    rows = [[m["label"], fmt.metric_value(m, "noise"), fmt.metric_value(m, "candidate"), fmt.excess_text(m)]
            for m in doc["parity"]["metrics"] + doc["operational"]["metrics"][:1]]
    out += _table(["figure", "Pro vs Pro (noise)", "Pro vs candidate", "excess over noise"], rows)
    out += ["", f"Intervals: {conf:.0%} (Wilson for rates, paired bootstrap for the figures); the verdict's own "
                "bound is in the gate above.", ""]

    out += ["### Slices (worst first)", ""]
    rows = []
    for r in doc["slices"]:
        cost = r.get("cost") or {}
        rows.append([r["slice"], r["n"], fmt.pct(r["noise"]), fmt.pct(r["candidate"]),
                     f"{fmt.pp(r['excess'])} {fmt.pp_interval(r['low'], r['high'])}", fmt.p_value(r.get("p_fail_holm")),
                     f"{ICON[r['status']]} {r['status']}",
                     f"{fmt.usd(cost.get('primary'))} \u2192 {fmt.usd(cost.get('candidate'))}"])
    out += _table(["slice", "n", "Pro vs Pro", "Pro vs candidate", "excess", "p beyond margin (Holm)", "status",
                   "cost / request"], rows)
    out.append("")

    cost = doc["cost"]
    pricing = cost["pricing"]
    out += ["### Cost and latency", ""]
    lat = doc["latency"]["arms"]
    rows = []
    for arm, a in cost["arms"].items():
        l = lat.get(arm) or {}
        rows.append([fmt.ARM_LABEL[arm], f"`{a['model']}`", fmt.usd(a["mean_usd"]), fmt.usd(a["per_success_usd"]),
                     fmt.pct(a["thinking_share"]), fmt.ms((l.get("p50") or {}).get("estimate")),
                     fmt.ms((l.get("p95") or {}).get("estimate"))])
    out += _table(["arm", "model", "mean / request", "per successful answer", "thinking share", "p50", "p95"], rows, right=2)
    out.append("")
    if cost.get("per_1000"):
        p = cost["per_1000"]
        line = (f"Candidate/Pro cost per request **{cost['ratio']:.3f}**; saving per 1,000 requests "
                f"**{fmt.usd(p['estimate'])}** [{fmt.usd(p['low'])}, {fmt.usd(p['high'])}]")
        if cost.get("monthly"):
            m = cost["monthly"]
            ms = m["saving_usd"]
            line += (f"; at {m['volume_per_day']:,.0f} requests/day **{fmt.usd(ms['estimate'])}/month** "
                     f"[{fmt.usd(ms['low'])}, {fmt.usd(ms['high'])}]")
        out += [line + ".", ""]
    out += [f"Prices as of **{pricing['as_of']}** ({pricing['source']}; table `{pricing['hash']}`"
            f"{', batch rates in the projection' if pricing['batch'] else ''}).", ""]
    notes = fmt.price_notes(cost)
    if notes:
        out += [f"- {note}" for note in notes] + [""]

    op = doc["operational"]
    out += ["### Critical failures", ""]
    rows = [[r["label"]] + [fmt.count_bound(r["arms"].get(a), conf) for a in ("primary", "noise", "candidate")]
            for r in op["critical"]]
    rows.append(["**new in the candidate**", "", "", fmt.count_bound(op["new_in_candidate"], conf)])
    out += _table(["failure", "Pro", "Pro again", "candidate"], rows)
    out.append("")

    acc = doc.get("accuracy")
    if acc:
        d = acc["difference"]
        arms = acc["arms"]
        out += [f"Accuracy against `expected` ({acc['items']} prompts): Pro {fmt.pct(arms['primary']['rate'])}, candidate "
                f"{fmt.pct(arms['candidate']['rate'])}; difference {fmt.pp(d['estimate'])} "
                f"{fmt.pp_interval(d['low'], d['high'])}; McNemar exact p {fmt.p_value(acc['mcnemar']['p'])}.", ""]
    judge = doc.get("judge")
    if judge:
        wr = judge.get("win_rate")
        out += [f"Pairwise judge `{judge['model']}` (both orders, blinded): candidate wins {judge['wins']}, ties "
                f"{judge['ties']}, losses {judge['losses']}"
                + (f"; win rate {fmt.pct(wr['value'])} {fmt.rate_interval(wr['low'], wr['high'])}" if wr else "")
                + f"; position bias {fmt.pct(judge['position_bias_rate'])}; judge cost {fmt.usd(judge['cost_usd'])}.", ""]
    rows = fmt.json_field_rows(doc, 10)
    if rows:
        out += ["JSON fields (each judged against Pro's own repeat of it; none left out):", ""]
        out += _table(fmt.JSON_FIELD_HEADER, rows) + [""]

    if doc["disagreements"]:
        out += ["<details><summary>Worst disagreements</summary>", ""]
        for e in doc["disagreements"][:5]:
            noise = {True: "Pro agreed with itself", False: "Pro disagreed with itself", None: "no noise pair"}[e["noise_agreed"]]
            out += [f"**{_cell(e['id'])}** ({_cell(e['slice'])}, {e['comparator']}): {_cell(e['reason'])}; {noise}", "",
                    f"- Pro: {_code(e['primary'])}", f"- Pro again: {_code(e['noise'])}",
                    f"- candidate: {_code(e['candidate'])}", ""]
        out += ["</details>", ""]
    for w in doc["warnings"]:
        out.append(f"> \u26a0\ufe0f {_cell(w)}")
    if doc["warnings"]:
        out.append("")
    out.append(f"<sub>flashlite-migrate {doc['tool_version']} \u00b7 verdict schema {doc['schema_version']} \u00b7 "
               f"look {doc['parity']['method']['look']}</sub>")
    return "\n".join(out) + "\n"
