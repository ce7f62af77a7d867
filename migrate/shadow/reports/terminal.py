"""The verdict on a terminal (rich): decision banner first, then the numbers behind it."""

from __future__ import annotations

import io
from typing import Any, Mapping

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from migrate.shadow.reports import fmt

STYLE = {"PASS": "bold green", "FAIL": "bold red", "INCONCLUSIVE": "bold yellow", "NOT_GATED": "dim",
         "ROUTED": "bold magenta"}


def _status(status: str) -> Text:
    return Text(fmt.STATUS_WORD.get(status, status), style=STYLE.get(status, ""))


def _table(title: str, columns: list[str], right: set[str] | None = None) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=False)
    for col in columns:
        table.add_column(col, justify="right" if right and col in right else "left", overflow="fold")
    return table


def banner(doc: Mapping[str, Any]) -> Panel:
    v = doc["verdict"]
    run = doc["run"]
    models = run["models"]
    body = Text()
    body.append(f"{v['status']}", style=STYLE[v["status"]])
    body.append(f"   exit {v['exit_code']}\n", style="dim")
    body.append(v["headline"] + "\n")
    if v.get("prompts_needed"):
        body.append(f"collect ~{v['prompts_needed']} prompts in total ({v['additional_prompts']} more) at the "
                    "current slice mix, then run the report again\n", style="yellow")
    s = doc["settings"]
    body.append(f"{models.get('candidate')} vs {models.get('primary')}; margin {s['margin'] * 100:g} pp, "
                f"confidence {s['confidence']:.0%} one-sided; {doc['coverage']['compared']} prompts compared\n",
                style="dim")
    extra = fmt.served_lines(doc) + fmt.failure_lines(doc) + [x for x in (fmt.billing_line(doc),) if x]
    for line in extra:
        body.append(line + "\n", style="bold red" if "ROUTED" in line else "")
    body.append(fmt.method_line(doc), style="dim")
    return Panel(body, title="shadow verdict", title_align="left", border_style=STYLE[v["status"]].split()[-1])


def render(doc: Mapping[str, Any], console: Console, *, show: int = 3) -> None:
    console.print(banner(doc))
    settings = doc["settings"]
    conf = settings["confidence"]

    t = _table("Gates", ["gate", "status", "detail"])
    for g in doc["gates"]:
        t.add_row(g["name"], _status(g["status"]), g["summary"])
    console.print(t)

    t = _table(f"Parity, three ways ({conf:.0%} intervals)", ["figure", "Pro vs Pro (noise)", "Pro vs candidate",
                                                                 "excess over noise"])
    for m in doc["parity"]["metrics"] + doc["lexical"] + doc["operational"]["metrics"][:1]:
        t.add_row(m["label"], fmt.metric_value(m, "noise"), fmt.metric_value(m, "candidate"), fmt.excess_text(m))
    console.print(t)

    t = _table("Slices, worst first (excess with one-sided bounds; Holm-adjusted one-sided p-values that the "
               "excess is below / beyond the margin)",
               ["slice", "n", "Pro vs Pro", "Pro vs cand", "excess", "p below", "p beyond", "status",
                "cost/req Pro -> cand", "p50 Pro -> cand"], right={"n"})
    for row in doc["slices"]:
        cost = row.get("cost") or {}
        lat = row.get("latency") or {}
        t.add_row(row["slice"], str(row["n"]), fmt.pct(row["noise"]), fmt.pct(row["candidate"]),
                  f"{fmt.pp(row['excess'])} {fmt.pp_interval(row['low'], row['high'])}",
                  fmt.p_value(row.get("p_pass_holm")), fmt.p_value(row.get("p_fail_holm")), _status(row["status"]),
                  f"{fmt.usd(cost.get('primary'))} -> {fmt.usd(cost.get('candidate'))}",
                  f"{fmt.ms((lat.get('primary') or {}).get('p50'))} -> {fmt.ms((lat.get('candidate') or {}).get('p50'))}")
    console.print(t)

    op = doc["operational"]
    t = _table("Critical failures (exact upper bounds; rule of three when none was seen)",
               ["failure", "Pro", "Pro again", "candidate"])
    for row in op["critical"]:
        arms = row["arms"]
        t.add_row(row["label"], *(fmt.count_bound(arms.get(a), conf) for a in ("primary", "noise", "candidate")))
    t.add_row(Text("new in the candidate", style="bold"), "", "", fmt.count_bound(op["new_in_candidate"], conf))
    console.print(t)
    if op["finish_reasons"]:
        mix = "; ".join(f"{fmt.ARM_LABEL[a]}: " + ", ".join(f"{k} {v}" for k, v in m.items())
                        for a, m in op["finish_reasons"].items())
        console.print(Text("finish reasons  " + mix, style="dim"))
    lr = op["length_ratio"]
    if lr.get("candidate"):
        console.print(Text(f"length ratio candidate/Pro: median {lr['candidate']['median']:.2f}"
                           + (f" (Pro again/Pro: {lr['noise']['median']:.2f})" if lr.get("noise") else ""), style="dim"))

    rows = fmt.json_field_rows(doc, 15)
    if rows:
        t = _table("JSON fields (each judged against Pro's own repeat of it; none left out)", fmt.JSON_FIELD_HEADER)
        for row in rows:
            t.add_row(*row)
        console.print(t)

    labels = doc.get("labels")
    if labels and labels.get("candidate"):
        c, n = labels["candidate"], labels.get("noise")
        kappa = "-" if c["kappa"] is None else f"{c['kappa']:.2f}"
        line = f"labels: candidate agreement {fmt.pct(c['agreement'])}, Cohen's kappa {kappa}"
        if n:
            line += f" (Pro vs Pro {fmt.pct(n['agreement'])}, kappa {'-' if n['kappa'] is None else format(n['kappa'], '.2f')})"
        flips = ", ".join(f"{f['primary']} -> {f['other']} x{f['count']}" for f in c["flips"][:6])
        console.print(line + (f"; flips: {flips}" if flips else ""))

    acc = doc.get("accuracy")
    if acc:
        arms = acc["arms"]
        parts = [f"{fmt.ARM_LABEL[a]} {fmt.pct(b['rate'])} {fmt.rate_interval(b['low'], b['high'])}" for a, b in arms.items()]
        d = acc["difference"]
        console.print(f"accuracy vs expected ({acc['items']} prompts): " + ", ".join(parts)
                      + f"; candidate - Pro {fmt.pp(d['estimate'])} {fmt.pp_interval(d['low'], d['high'])}; "
                      f"McNemar exact p {fmt.p_value(acc['mcnemar']['p'])}")

    judge = doc.get("judge")
    if judge:
        wr = judge.get("win_rate")
        console.print(f"judge {judge['model']}: candidate wins {judge['wins']}, ties {judge['ties']}, losses "
                      f"{judge['losses']} of {judge['judged']}"
                      + (f"; win rate {fmt.pct(wr['value'])} {fmt.rate_interval(wr['low'], wr['high'])}, sign test p "
                         f"{fmt.p_value(judge['sign_test_p'])}" if wr else "")
                      + f"; position bias {fmt.pct(judge['position_bias_rate'])}; judge cost {fmt.usd(judge['cost_usd'])}")

    cost = doc["cost"]
    pricing = cost["pricing"]
    t = _table(f"Cost (prices as of {pricing['as_of']}{', batch rates in the projection' if pricing['batch'] else ''}; "
               f"table {pricing['hash']})",
               ["arm", "model", "requests", "total", "mean / request", "per successful answer", "thinking share"],
               right={"requests", "total", "mean / request", "per successful answer", "thinking share"})
    for arm, a in cost["arms"].items():
        t.add_row(fmt.ARM_LABEL[arm], a["model"] or "-", str(a["requests"]), fmt.usd(a["total_usd"]),
                  fmt.usd(a["mean_usd"]), fmt.usd(a["per_success_usd"]), fmt.pct(a["thinking_share"]))
    console.print(t)
    if cost.get("saving_per_request"):
        s = cost["per_1000"]
        line = (f"candidate/Pro cost per request {cost['ratio']:.3f}; saving per 1,000 requests {fmt.usd(s['estimate'])} "
                f"[{fmt.usd(s['low'])}, {fmt.usd(s['high'])}]")
        m = cost.get("monthly")
        if m:
            ms = m["saving_usd"]
            line += (f"; at {m['volume_per_day']:,.0f} requests/day: {fmt.usd(ms['estimate'])}/month "
                     f"[{fmt.usd(ms['low'])}, {fmt.usd(ms['high'])}]")
        else:
            line += "; pass --volume N (requests/day) for a monthly projection"
        console.print(Text(line, style="green"))
    for note in fmt.price_notes(cost):
        console.print(Text(note, style="dim"))

    lat = doc["latency"]
    t = _table(f"Latency of successful calls ({conf:.0%} distribution-free intervals)",
               ["arm", "n", "p50", "p95", "p99"], right={"n"})
    for arm, b in lat["arms"].items():
        t.add_row(fmt.ARM_LABEL[arm], str(b["n"]), fmt.ms_interval(b["p50"]), fmt.ms_interval(b["p95"]),
                  fmt.ms_interval(b["p99"]))
    console.print(t)

    if doc["disagreements"] and show:
        console.print(Text("Worst disagreements", style="bold"))
        for e in doc["disagreements"][:show]:
            noise = {True: "Pro agreed with itself", False: "Pro disagreed with itself", None: "no noise pair"}[e["noise_agreed"]]
            console.print(Text.assemble((f"{e['id']}", "bold"), f" [{e['slice']}, {e['comparator']}] {e['reason']}; {noise}"))
            console.print(Text(f"   Pro:       {fmt.truncate(e['primary'], 110)}", style="cyan"))
            console.print(Text(f"   candidate: {fmt.truncate(e['candidate'], 110)}", style="magenta"))

    for w in doc["warnings"]:
        console.print(Text(f"warning: {w}", style="yellow"))


def verdict_line(doc: Mapping[str, Any]) -> Text:
    v = doc["verdict"]
    return Text.assemble((v["status"], STYLE[v["status"]]), " ", v["headline"].split(": ", 1)[-1])


def to_text(doc: Mapping[str, Any], *, width: int = 140, color: bool = False) -> str:
    """The terminal report as plain text (files, pipes, tests)."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system="truecolor" if color else None, force_terminal=color,
                      highlight=False, soft_wrap=False)
    render(doc, console)
    return buf.getvalue()


def gate_summary(doc: Mapping[str, Any], console: Console) -> None:
    """What `flm shadow gate` prints: the banner and the gates."""
    t = _table("Gates", ["gate", "status", "detail"])
    for g in doc["gates"]:
        t.add_row(g["name"], _status(g["status"]), g["summary"])
    console.print(Group(banner(doc), t))
