"""The pairwise judge over real HTTP against the fake Gemini server: both orders, blinded labels, swap rule,
retries through the runner, resume, budget, cost, and the judge's place in the verdict."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from fake_gemini import Fault
from migrate.errors import UserError
from migrate.shadow import judge as J
from migrate.shadow.cli import app
from migrate.shadow.reports.terminal import to_text
from migrate.shadow.store import iter_jsonl, load_run
from migrate.shadow.verdict import compute
from synthetic_runs import CANDIDATE, CATALOG, PRIMARY, Answer, Item, write_run

JUDGE = next(m.id for m in CATALOG.models if m.family == "flash" and m.kind == "text" and m.id in CATALOG.pricing.prices)
SECTION = re.compile(r"\[RESPONSE (A|B)\]\n(.*?)\n\[END RESPONSE \1\]", re.S)


def make_run(folder, wins=6, losses=3, biased=3):
    items = []
    kinds = ["WIN"] * wins + ["LOSE"] * losses + ["BIAS"] * biased
    for i, kind in enumerate(kinds):
        items.append(Item(f"p{i:02d}", compare="rouge_l", prompt=f"Summarise ticket {i}.", answers={
            "primary": Answer(f"pro answer {i}"), "noise": Answer(f"pro answer {i}"),
            "candidate": Answer(f"{kind} candidate answer {i}")}))
    return write_run(folder, items)


def judge_reply(rec):
    """A scripted judge: prefers WIN answers, rejects LOSE answers, always says A when it sees BIAS."""
    text = rec.body["contents"][0]["parts"][0]["text"]
    answers = dict(SECTION.findall(text))
    if any(a.startswith("BIAS") for a in answers.values()):
        return "Both fine, A reads better.\nVERDICT: A"
    cand_label = "A" if answers["A"].startswith(("WIN", "LOSE")) else "B"
    cand_better = answers[cand_label].startswith("WIN")
    winner = cand_label if cand_better else ("B" if cand_label == "A" else "A")
    return f"Reasoning about correctness.\nVERDICT: {winner}"


def options(srv, **kw):
    base = dict(model=JUDGE, backend="gemini", base_url=srv.url, env={"GEMINI_API_KEY": "test-key"},
                backoff_base=0.01, concurrency=4)
    base.update(kw)
    return J.JudgeOptions(**base)


def test_judge_both_orders_blinded_with_retries_and_resume(tmp_path, fake_gemini):
    folder = make_run(tmp_path / "run")
    fake_gemini.set_reply(JUDGE, judge_reply)
    fake_gemini.script(JUDGE, [Fault.rate_limit(retry_delay="0s"), Fault.unavailable()])
    result = J.run_judge(folder, options(fake_gemini))
    assert result.status == "complete" and result.planned_prompts == 12
    assert result.stats.ok == 24 and result.stats.errors == 0 and result.stats.retries == 2

    sent = [r for r in fake_gemini.requests_for(JUDGE) if r.status == 200]
    assert len(sent) == 24
    firsts = {}
    for r in sent:
        text = r.body["contents"][0]["parts"][0]["text"]
        for secret in (PRIMARY, CANDIDATE, "primary", "candidate arm", "Pro"):
            assert secret not in text  # labels are blinded
        answers = dict(SECTION.findall(text))
        pid = re.search(r"Summarise ticket (\d+)", text).group(1)
        firsts.setdefault(pid, set()).add(answers["A"].startswith("pro"))
        assert r.body["generationConfig"] == {"temperature": 0}
    assert all(v == {True, False} for v in firsts.values())  # each prompt asked in both orders

    records = list(iter_jsonl(folder / J.JUDGE_CALLS))
    assert len(records) == 24 and {r["arm"] for r in records} == {"judge"}
    manifest = json.loads((folder / J.JUDGE_MANIFEST).read_text())
    assert manifest["model"] == JUDGE and manifest["same_family"] is True

    doc = compute(load_run(folder), judge=J.load(folder))
    judge = doc["judge"]
    assert (judge["wins"], judge["losses"], judge["ties"]) == (6, 3, 3)  # BIAS never survives the swap
    assert judge["position_bias_rate"] == pytest.approx(3 / 12)
    assert judge["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in records)) and judge["cost_usd"] > 0
    assert judge["win_rate"]["value"] == pytest.approx(6 / 9)
    assert doc["cost"]["judge_usd"] == pytest.approx(judge["cost_usd"])
    assert any("self-preference" in w for w in doc["warnings"])
    gate = next(g for g in doc["gates"] if g["id"] == "judge")
    assert gate["estimate"] == pytest.approx((3 - 6) / 12)
    assert "judge" in to_text(doc)

    before = len(fake_gemini.requests)
    again = J.run_judge(folder, options(fake_gemini))
    assert again.stats.done == 0 and again.stats.skipped_resume == 24
    assert len(fake_gemini.requests) == before  # resume sends nothing


def test_judge_budget_and_model_change(tmp_path, fake_gemini):
    folder = make_run(tmp_path / "run", wins=2, losses=0, biased=0)
    fake_gemini.set_reply(JUDGE, judge_reply)
    result = J.run_judge(folder, options(fake_gemini, budget=1e-9))
    assert result.status == "budget_exhausted" and "budget" in result.message
    assert fake_gemini.requests_for(JUDGE) == []
    other = next(m.id for m in CATALOG.models if m.id in CATALOG.pricing.prices and m.id not in (JUDGE,))
    with pytest.raises(UserError, match="remove judge.json"):
        J.run_judge(folder, options(fake_gemini, model=other))


def test_judge_command(tmp_path, fake_gemini):
    folder = make_run(tmp_path / "run", wins=3, losses=0, biased=0)
    fake_gemini.set_reply(JUDGE, judge_reply)
    result = CliRunner().invoke(app, ["judge", str(folder), "--model", JUDGE, "--base-url", fake_gemini.url,
                                      "--sample", "2"], env={"GEMINI_API_KEY": "test-key"})
    assert result.exit_code == 0, result.output
    assert "2 prompts to judge, 4 judge calls recorded" in result.output
    result = CliRunner().invoke(app, ["report", str(folder), "--format", "md"])
    assert result.exit_code == 0, result.output
    assert "Pairwise judge" in result.output and "candidate wins 2" in result.output
