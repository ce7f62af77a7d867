"""The verdict: ground truth through the real path (store writer -> load_run -> verdict -> `gate` exit code in a
subprocess), the noise floor, statistics against reference values, cost and latency from the run's own data."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
from scipy import stats as sps

from migrate.errors import UserError
from migrate.shadow import stats as S
from migrate.shadow.store import load_run
from migrate.shadow.verdict import Options, compute, plan, resolve_comparator, three_way
from synthetic_runs import CANDIDATE, PRIMARY, ROOT, Answer, Item, json_run, label_run, write_run


def gate(folder, *args):
    """`python -m migrate shadow gate FOLDER ...` as a user runs it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    proc = subprocess.run([sys.executable, "-m", "migrate", "shadow", "gate", str(folder), *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- ground truth (issue #5)


def test_candidate_identical_to_the_primary_passes(tmp_path):
    folder = label_run(tmp_path / "run", 400, noise_flip=0.05)  # Pro disagrees with itself on 5%
    code, out = gate(folder, "--margin", 0.02, "--confidence", 0.95)
    assert code == 0, out
    assert "PASS" in out
    doc = compute(load_run(folder))
    assert doc["verdict"]["status"] == "PASS" and doc["parity"]["decision"]["high"] < 0.02
    assert not any(g["status"] == "FAIL" for g in doc["gates"] if g["id"].startswith("slice:"))


def test_candidate_flipping_ten_percent_of_labels_fails_at_a_two_point_margin(tmp_path):
    folder = label_run(tmp_path / "run", 400, flip=0.10)
    code, out = gate(folder, "--margin", 0.02, "--junit", tmp_path / "gate.xml")
    assert code == 1, out
    assert "FAIL" in out
    doc = compute(load_run(folder))
    d = doc["parity"]["decision"]
    assert d["excess"] == pytest.approx(0.10) and d["low"] > 0.02
    assert doc["labels"]["candidate"]["agreement"] == pytest.approx(0.90)
    assert (tmp_path / "gate.xml").read_text().count("<failure") >= 2  # the verdict and the parity gate


def test_thirty_prompts_are_inconclusive_and_ask_for_more(tmp_path):
    folder = label_run(tmp_path / "run", 30)
    code, out = gate(folder, "--margin", 0.02, "--json", tmp_path / "v.json")
    assert code == 3, out
    assert "INCONCLUSIVE" in out and "more" in out
    doc = json.loads((tmp_path / "v.json").read_text())
    v = doc["verdict"]
    assert v["status"] == "INCONCLUSIVE" and v["exit_code"] == 3
    assert v["prompts_needed"] > 30 and v["additional_prompts"] == v["prompts_needed"] - 30
    # and the number asked for is enough at the next look (which spends the next slice of alpha)
    more = compute(load_run(label_run(tmp_path / "more", v["prompts_needed"])), Options(look=2))
    assert more["verdict"]["status"] == "PASS"


def test_a_field_pro_cannot_repeat_is_judged_against_its_own_noise(tmp_path):
    folder = json_run(tmp_path / "run", 200, pro_noisy_field=True, candidate_field_differs=True)
    code, out = gate(folder, "--margin", 0.02)
    assert code == 0, out  # the candidate is exactly as unstable on `confidence` as Pro itself
    doc = compute(load_run(folder))
    row = next(r for r in doc["json_fields"]["paths"] if r["path"] == "confidence")
    assert row["noisy"] and row["noise"] == 200 and row["candidate"] == 200 and row["weight"] == pytest.approx(0.25)
    d = doc["parity"]["decision"]
    assert d["noise_disagreement"] == pytest.approx(0.25) and d["candidate_disagreement"] == pytest.approx(0.25)
    # control: the same candidate differences without Pro-vs-Pro noise are the candidate's fault
    control = json_run(tmp_path / "control", 200, pro_noisy_field=False, candidate_field_differs=True)
    code, out = gate(control, "--margin", 0.02)
    assert code == 1, out


def _field_noise_items(n, pro_repeats, seed=5):
    """JSON prompts with 4 fields; Pro repeats `confidence` on a `pro_repeats` share of its re-asks; the
    candidate gets `confidence` wrong every time and every other field right."""
    rng = __import__("random").Random(seed)
    items = []
    for i in range(n):
        base = {"order_id": f"A-{i}", "total": i, "currency": "EUR", "confidence": 0.5}
        noise = base if rng.random() < pro_repeats else dict(base, confidence=0.6)
        items.append(Item(f"j{i}", compare="json", answers={
            "primary": Answer(json.dumps(base)), "noise": Answer(json.dumps(noise)),
            "candidate": Answer(json.dumps(dict(base, confidence=0.9)))}))
    return items


def test_a_field_pro_repeats_only_a_tenth_of_the_time_is_still_compared(tmp_path):
    # before: a field Pro repeats on ~10% of re-asks was dropped from both sides, and this candidate PASSed
    doc = compute(load_run(write_run(tmp_path / "run", _field_noise_items(1500, 0.10))))
    row = next(r for r in doc["json_fields"]["paths"] if r["path"] == "confidence")
    assert row["noise_rate"] == pytest.approx(0.9, abs=0.03) and row["candidate_rate"] == 1.0
    assert row["excess"] == pytest.approx(0.1, abs=0.03) and row["weight"] == pytest.approx(0.25)
    d = doc["parity"]["decision"]
    assert d["noise_disagreement"] == pytest.approx(0.25 * 0.9, abs=0.01)  # the floor is not 0 by construction
    assert d["excess"] == pytest.approx(0.025, abs=0.008)
    assert doc["verdict"]["status"] == "FAIL"
    assert sorted(r["path"] for r in doc["json_fields"]["paths"]) == ["confidence", "currency", "order_id", "total"]


def test_each_field_counts_against_its_own_noise_in_every_prompt(tmp_path):
    items = []
    for i, pro_noisy in enumerate((True, False)):
        base = {"id": i, "total": 10}
        items.append(Item(f"j{i}", compare="json", answers={
            "primary": Answer(json.dumps(base)),
            "noise": Answer(json.dumps(dict(base, total=11) if pro_noisy else base)),
            "candidate": Answer(json.dumps(dict(base, total=12)))}))
    doc = compute(load_run(write_run(tmp_path / "run", items)))
    d = doc["parity"]["decision"]
    assert d["candidate_disagreement"] == pytest.approx(0.5)  # one of two fields wrong, in both prompts
    assert d["noise_disagreement"] == pytest.approx(0.25)  # Pro's own miss on `total` in one prompt
    row = next(r for r in doc["json_fields"]["paths"] if r["path"] == "total")
    assert (row["noise"], row["compared_noise"], row["candidate"], row["compared_candidate"]) == (1, 2, 2, 2)
    assert doc["json_fields"]["prompt_noisy"] == 1
    assert "total" in doc["disagreements"][0]["reason"]


# --------------------------------------------------------------------------- comparators and coverage


def test_resolve_comparator():
    assert resolve_comparator(None) == ("exact", {})
    assert resolve_comparator("text") == ("rouge_l", {})
    assert resolve_comparator({"kind": "json", "unordered": ["items"]}) == ("json", {"unordered": ["items"]})
    assert resolve_comparator(None, default="label") == ("label", {})
    assert resolve_comparator({"kind": "json", "rel_tol": 0.1}, force="json") == ("json", {"rel_tol": 0.1})
    assert resolve_comparator({"kind": "json", "rel_tol": 0.1}, force="exact") == ("exact", {})
    with pytest.raises(UserError, match="unknown comparator 'banana'"):
        resolve_comparator("banana")


def test_comparator_options_and_bad_options(tmp_path):
    items = [Item("n1", compare={"kind": "json", "rel_tol": 0.05},
                  answers={"primary": Answer('{"x": 100}'), "noise": Answer('{"x": 100}'),
                           "candidate": Answer('```json\n{"x": 103}\n```')})]
    doc = compute(load_run(write_run(tmp_path / "ok", items)))
    assert doc["parity"]["decision"]["candidate_disagreement"] == 0.0  # within 5%, fence stripped
    items[0].compare = {"kind": "json", "tolerance": 3}
    with pytest.raises(UserError, match="prompt 'n1'.*tolerance"):
        compute(load_run(write_run(tmp_path / "bad", items)))
    with pytest.raises(UserError, match="--margin"):
        compute(load_run(tmp_path / "ok"), Options(margin=2))


def test_failed_calls_are_disagreements_and_the_floor_uses_measured_prompts_only(tmp_path):
    items = [
        Item("ok", answers={"primary": Answer("a"), "noise": Answer("a"), "candidate": Answer("a")}),
        Item("cand-err", answers={"primary": Answer("a"), "noise": Answer("a"), "candidate": Answer(status="error")}),
        Item("prim-err", answers={"primary": Answer(status="error"), "noise": Answer("a"), "candidate": Answer("b")}),
        Item("no-noise", answers={"primary": Answer("a"), "candidate": Answer("b")}),
        Item("not-run", answers={}),
    ]
    doc = compute(load_run(write_run(tmp_path / "run", items, status="interrupted")))
    cov = doc["coverage"]
    assert (cov["compared"], cov["candidate_errors"], cov["primary_errors"], cov["not_run"]) == (3, 1, 1, 1)
    assert (cov["noise_measured"], cov["noise_assumed"]) == (2, 1)
    d = doc["parity"]["decision"]
    assert d["candidate_disagreement"] == pytest.approx(2 / 3) and d["noise_disagreement"] == 0.0
    assert doc["failures"]["candidate"]["classes"] == [{"class": "http 503", "calls": 1,
                                                        "sample": "HTTP 503 UNAVAILABLE"}]
    assert doc["failures"]["primary"]["calls"] == 1
    text = " ".join(doc["warnings"])
    for needle in ("interrupted", "estimated on the 2 that do", "primary call(s) had no usable answer",
                   "counts as a disagreement", "not been run"):
        assert needle in text


def _failing_candidate_items(n, fail_every, kind):
    items = []
    for i in range(n):
        bad = i % fail_every == 0
        cand = {"error": Answer(status="error"), "empty": Answer(""), "blocked": Answer("", blocked=True, finish_reason="SAFETY"),
                "truncated": Answer("half an ans", finish_reason="MAX_TOKENS")}[kind] if bad else Answer(f"answer {i}")
        items.append(Item(f"p{i}", answers={"primary": Answer(f"answer {i}"), "noise": Answer(f"answer {i}"),
                                            "candidate": cand}))
    return items


@pytest.mark.parametrize("kind", ["error", "empty", "blocked", "truncated"])
def test_a_candidate_failing_a_fifth_of_the_calls_fails(tmp_path, kind):
    # before: the failed fifth was dropped from parity and the candidate PASSed on the rest
    doc = compute(load_run(write_run(tmp_path / "run", _failing_candidate_items(500, 5, kind))))
    assert doc["verdict"]["status"] == "FAIL"
    assert doc["parity"]["decision"]["candidate_disagreement"] == pytest.approx(0.2)
    assert doc["failures"]["candidate"]["calls"] == 100


def test_a_run_where_every_candidate_call_failed_fails(tmp_path):
    doc = compute(load_run(write_run(tmp_path / "run", _failing_candidate_items(40, 1, "error"))))
    assert doc["verdict"]["status"] == "FAIL" and doc["parity"]["decision"]["candidate_disagreement"] == 1.0


def test_no_noise_arm_is_said_loudly(tmp_path):
    doc = compute(load_run(label_run(tmp_path / "run", 50, noise=False)))
    assert doc["run"]["noise_floor"] is False
    assert any("noise floor is assumed to be zero" in w for w in doc["warnings"])
    assert doc["parity"]["metrics"][0]["noise_measured"] == 0


def test_repeats_are_averaged_per_prompt(tmp_path):
    items = [Item(f"p{i}", answers={"primary": [Answer("a"), Answer("a")], "noise": [Answer("a"), Answer("a")],
                                    "candidate": [Answer("a"), Answer("b" if i == 0 else "a")]}) for i in range(4)]
    doc = compute(load_run(write_run(tmp_path / "run", items, repeats=2)))
    assert doc["parity"]["decision"]["candidate_disagreement"] == pytest.approx(0.5 / 4)
    assert doc["operational"]["critical"][0]["arms"]["candidate"]["n"] == 8  # calls, not prompts


def test_operational_parity_and_critical_failures(tmp_path):
    items = [Item(f"p{i}", compare="json", answers={
        "primary": Answer('{"a": 1}', tool_calls=[{"name": "f", "args": {"x": 1}}] if i == 0 else []),
        "noise": Answer('{"a": 1}', tool_calls=[{"name": "f", "args": {"x": 1.0}}] if i == 0 else []),
        "candidate": (Answer("", blocked=True, finish_reason="SAFETY") if i == 1 else
                      Answer('{"a": 1', finish_reason="MAX_TOKENS") if i == 2 else
                      Answer('{"a": 1}', tool_calls=[{"name": "f", "args": {"x": 2}}] if i == 0 else []))})
        for i in range(10)]
    doc = compute(load_run(write_run(tmp_path / "run", items)), Options(max_critical_rate=0.5))
    op = doc["operational"]
    crit = {r["kind"]: r["arms"] for r in op["critical"]}
    assert crit["safety_block"]["candidate"]["count"] == 1 and crit["truncated"]["candidate"]["count"] == 1
    assert crit["invalid_json"]["candidate"]["count"] == 1  # the truncated one; a blocked answer is not "invalid"
    assert crit["empty"]["candidate"]["count"] == 0  # blocked, not empty
    zero = crit["safety_block"]["primary"]
    assert zero["count"] == 0 and zero["rule_of_three"] and zero["upper"] == pytest.approx(1 - 0.05 ** (1 / 10))
    assert op["new_in_candidate"]["count"] == 2
    assert op["new_in_candidate"]["upper"] == pytest.approx(sps.beta.ppf(0.95, 3, 8))  # exact one-sided bound
    assert op["tool_calls"] == 1
    metrics = {m["id"]: m for m in op["metrics"]}
    # the wrong argument, plus the blocked and the truncated answers (no usable answer agrees on nothing)
    assert metrics["operational.tool_args"]["candidate"]["value"] == pytest.approx(0.3)
    assert metrics["operational.tool_args"]["noise"]["value"] == 0.0  # 1 vs 1.0 is the same argument
    critical_gate = next(g for g in doc["gates"] if g["id"] == "critical")
    assert critical_gate["status"] == "INCONCLUSIVE" and critical_gate["required"]


# --------------------------------------------------------------------------- statistics


def test_three_way_matches_reference_values():
    noise = [1.0] * 90 + [0.0] * 10
    cand = [1.0] * 80 + [0.0] * 20
    m = three_way("x", "x", "disagreement", noise, cand, Options())
    ci = sps.binomtest(20, 100).proportion_ci(0.95, method="wilson")
    assert m["candidate"]["value"] == pytest.approx(0.2)
    assert (m["candidate"]["low"], m["candidate"]["high"]) == pytest.approx((ci.low, ci.high))
    assert m["excess"]["estimate"] == pytest.approx(0.1)
    assert m["excess"]["low"] < 0.1 < m["excess"]["high"]


def test_slices_worst_first_with_holm(tmp_path):
    items = []
    for s, bad in (("good", 0), ("bad", 12), ("meh", 3)):
        for i in range(60):
            items.append(Item(f"{s}{i}", slice=s, answers={"primary": Answer("a"), "noise": Answer("a"),
                                                          "candidate": Answer("b" if i < bad else "a")}))
    doc = compute(load_run(write_run(tmp_path / "run", items)))
    slices = doc["slices"]
    assert [r["slice"] for r in slices] == ["bad", "meh", "good"]
    assert [r["p_fail_holm"] for r in slices] == pytest.approx(S.holm([r["p_fail"] for r in slices]))
    assert slices[0]["status"] == "FAIL" and doc["verdict"]["status"] == "FAIL"
    z = (0.02 - slices[0]["excess"]) / slices[0]["std_error"]
    assert slices[0]["p_fail"] == pytest.approx(sps.norm.cdf(z))


def test_a_slice_that_is_only_inconclusive_does_not_block_a_pass(tmp_path):
    # family-wise (Holm) control: a slice blocks only when it is shown beyond the margin
    items = []
    for i in range(600):
        s = "small" if i < 20 else "big"
        bad = s == "small" and i < 2  # 2/20 = 10% in the small slice, pooled 0.33%
        items.append(Item(f"p{i}", slice=s, answers={"primary": Answer("a"), "noise": Answer("a"),
                                                    "candidate": Answer("b" if bad else "a")}))
    doc = compute(load_run(write_run(tmp_path / "run", items)))
    assert doc["gates"][0]["status"] == "PASS"
    small = next(g for g in doc["gates"] if g["id"] == "slice:small")
    assert small["status"] == "INCONCLUSIVE" and not small["blocking"] and not small["required"]
    assert doc["verdict"]["status"] == "PASS"
    assert doc["parity"]["method"]["slices"].startswith("Holm")


def test_inside_the_margin_is_never_a_fail(tmp_path):
    # before: "estimate >= margin and significantly above zero" FAILed candidates truly inside the margin
    items = []
    for i in range(400):  # excess 2.5 pp against a 3 pp margin: the interval straddles it
        items.append(Item(f"p{i}", answers={"primary": Answer("a"), "noise": Answer("a"),
                                            "candidate": Answer("b" if i % 40 == 0 else "a")}))
    doc = compute(load_run(write_run(tmp_path / "run", items)), Options(margin=0.02))
    d = doc["parity"]["decision"]
    assert d["excess"] == pytest.approx(0.025) and d["low"] > 0 and d["low"] < 0.02
    assert d["verdict"] == "INCONCLUSIVE" and doc["verdict"]["prompts_needed"] > 400


def test_accuracy_mcnemar_against_scipy(tmp_path):
    items = []
    for i in range(40):
        cand_right = i >= 6 or i < 1  # only Pro right on 5 prompts
        pro_right = i != 39  # only the candidate right on 1
        items.append(Item(f"p{i}", compare="label", expected="yes", answers={
            "primary": Answer("yes" if pro_right else "no"), "noise": Answer("yes"),
            "candidate": Answer("yes" if cand_right else "no")}))
    doc = compute(load_run(write_run(tmp_path / "run", items)), Options(accuracy_margin=0.05))
    acc = doc["accuracy"]
    assert acc["mcnemar"]["only_primary_right"] == 5 and acc["mcnemar"]["only_candidate_right"] == 1
    assert acc["mcnemar"]["p"] == pytest.approx(sps.binomtest(1, 6, 0.5).pvalue)
    assert acc["arms"]["candidate"]["rate"] == pytest.approx(35 / 40)
    assert any(g["id"] == "accuracy" and g["required"] for g in doc["gates"])


def test_later_looks_spend_less_alpha(tmp_path):
    folder = label_run(tmp_path / "run", 300, flip=0.0, noise_flip=0.0)
    run = load_run(folder)
    bounds = [compute(run, Options(look=k))["parity"]["decision"]["high"] for k in (1, 2, 3)]
    assert bounds[0] < bounds[1] < bounds[2]
    assert compute(run, Options(look=3))["parity"]["method"]["alpha"] == pytest.approx(0.05 / 8)


def test_plan_known_values():
    p = plan(margin=0.02, expected_agreement=0.95, discordant_rate=0.05)
    # the gate's first look decides at one-sided 97.5% (alpha spending): the textbook ~770 at 95% becomes ~980
    assert p["rows"][0]["prompts"] == S.sample_size_non_inferiority(0.02, 0.95, None, 0.975, discordant_rate=0.05)
    assert 970 <= p["rows"][0]["prompts"] <= 990
    crit = next(r for r in p["rows"] if r["id"] == "critical")
    assert crit["prompts"] == 149 and S.rule_of_three(149) < 0.02 <= S.rule_of_three(148)
    with pytest.raises(UserError, match="cannot be shown"):
        plan(margin=0.02, expected_agreement=0.90, noise_agreement=0.95)
    three = plan(margin=0.02, expected_agreement=0.95, slices=3)
    assert next(r for r in three["rows"] if r["id"] == "per_slice")["prompts"] > 3 * p["rows"][0]["prompts"] / 3


# --------------------------------------------------------------------------- cost and latency


def test_cost_and_latency_come_from_the_run(tmp_path):
    folder = label_run(tmp_path / "run", 100)
    run = load_run(folder)
    doc = compute(run, Options(volume_per_day=5000, min_monthly_saving=1, max_p95_ratio=0.5))
    cost = doc["cost"]
    models = run.manifest["pricing"]["models"]
    assert cost["pricing"]["as_of"] == run.manifest["pricing"]["as_of"]
    primary = cost["arms"]["primary"]
    assert primary["model"] == PRIMARY and cost["arms"]["candidate"]["model"] == CANDIDATE
    assert primary["total_usd"] == pytest.approx(sum(c.cost_usd for c in run.calls if c.arm == "primary"))
    assert sum(primary["parts_usd"].values()) == pytest.approx(primary["total_usd"])
    expected_share = 300 * models[PRIMARY]["output"] / (100 * models[PRIMARY]["input"] + 302 * models[PRIMARY]["output"])
    assert primary["thinking_cost_share"] == pytest.approx(expected_share)
    assert primary["thinking_share"] == pytest.approx(300 / 302)  # of output tokens, as `summary` shows it
    per_prompt = [c.cost_usd for c in run.calls if c.arm == "primary"]
    cand = [c.cost_usd for c in run.calls if c.arm == "candidate"]
    saving = sum(per_prompt) / 100 - sum(cand) / 100
    assert cost["saving_per_request"]["estimate"] == pytest.approx(saving)
    m = cost["monthly"]
    assert m["saving_usd"]["estimate"] == pytest.approx(saving * 5000 * 30)
    assert m["saving_usd"]["low"] <= m["saving_usd"]["estimate"] <= m["saving_usd"]["high"]
    lat = doc["latency"]["arms"]["candidate"]
    values = sorted(c.latency_ms for c in run.calls if c.arm == "candidate")
    assert lat["p95"]["estimate"] == pytest.approx(S.percentile(values, 95))
    qi = S.quantile_interval(values, 0.5)
    assert (lat["p50"]["low"], lat["p50"]["high"]) == (qi.low, qi.high)
    assert len(lat["cdf"]) == 101 and lat["cdf"][0] == values[0] and lat["cdf"][-1] == values[-1]
    gates = {g["id"]: g["status"] for g in doc["gates"]}
    assert gates["saving"] == "PASS" and gates["latency"] == "PASS"


def test_same_input_same_document(tmp_path):
    folder = label_run(tmp_path / "run", 80, flip=0.05, noise_flip=0.03)
    a, b = compute(load_run(folder)), compute(load_run(folder))
    assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
    assert not math.isnan(a["parity"]["decision"]["std_error"])


def test_a_streamed_run_gives_the_document_a_loaded_run_gives(tmp_path):
    from migrate.shadow.store import open_run

    for folder in (label_run(tmp_path / "labels", 300, flip=0.08, noise_flip=0.05),
                   json_run(tmp_path / "json", 120, pro_noisy_field=True, candidate_field_differs=True)):
        options = Options(show=3)
        streamed, loaded = compute(open_run(folder), options), compute(load_run(folder), options)
        assert streamed == loaded
        assert len(streamed["disagreements"]) == 3  # only the worst are kept while the run streams by
        everything = compute(load_run(folder), Options(show=1000))["disagreements"]
        assert streamed["disagreements"] == everything[:3]
