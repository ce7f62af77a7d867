"""Verdicts a team can bet on: the served model, a sampled noise floor, and repeated looks at one run."""

import json
import random

import pytest
from typer.testing import CliRunner

from migrate.shadow.cli import app
from migrate.shadow.session import start
from migrate.shadow.store import load_run, iter_jsonl
from migrate.shadow.verdict import compute
from synthetic_runs import Answer, Item, write_run
from test_runner import PRO, options, write_dataset
from test_verdict import gate

cli = CliRunner()


def test_a_pro_arm_served_by_another_model_fails_closed_with_its_own_exit_code(tmp_path, fake_gemini):
    fake_gemini.set_model_version(PRO, "gemini-3.8-flash")  # what the Developer API does since 2026-12-01
    result = start(options(fake_gemini, write_dataset(tmp_path, 40), tmp_path / "run", noise_floor=True))
    code, out = gate(result.folder, "--margin", 0.02)
    assert code == 4, out
    assert "ROUTED" in out and "gemini-3.8-flash" in out and f"asked for {PRO}" in out
    code, out = gate(result.folder, "--margin", 0.02, "--allow-routed")
    assert code == 3, out  # judged on what actually served (40 alike answers: not enough yet), and said so
    assert "allowed by" in out and "--allow-routed" in out
    doc = compute(load_run(result.folder))
    assert doc["served"]["primary"]["served"] == {"gemini-3.8-flash": 40} and doc["served"]["primary"]["routed"] == 40
    assert doc["served"]["candidate"]["routed"] == 0
    summary = cli.invoke(app, ["summary", str(result.folder)])
    assert "served by gemini-3.8-flash (40 of 40)" in summary.output


def test_a_dated_version_of_the_model_asked_for_is_not_routing(tmp_path, fake_gemini):
    fake_gemini.set_model_version(PRO, f"{PRO}-002")
    result = start(options(fake_gemini, write_dataset(tmp_path, 10), tmp_path / "run", noise_floor=True))
    doc = compute(load_run(result.folder))
    assert doc["verdict"]["status"] != "ROUTED" and doc["served"]["primary"]["routed"] == 0


def _sampled_noise_items(n, flip, fraction, seed=11):
    """A candidate exactly as noisy as Pro's own repeat; only `fraction` of the prompts have a noise call."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        answers = {"primary": Answer("a"), "candidate": Answer("b" if rng.random() < flip else "a")}
        noisy = rng.random() < flip
        if rng.random() < fraction:
            answers["noise"] = Answer("b" if noisy else "a")
        items.append(Item(f"p{i}", answers=answers))
    return items


def test_a_sampled_noise_floor_is_estimated_where_measured(tmp_path):
    # before: the 70% of prompts without a noise call counted as "Pro agrees with itself", the floor read ~3%
    # instead of ~10%, and this candidate (as noisy as Pro) FAILed
    doc = compute(load_run(write_run(tmp_path / "run", _sampled_noise_items(1000, 0.10, 0.3))))
    d = doc["parity"]["decision"]
    assert d["noise_disagreement"] == pytest.approx(0.10, abs=0.035)
    assert d["verdict"] != "FAIL" and doc["verdict"]["status"] != "FAIL"
    full = compute(load_run(write_run(tmp_path / "full", _sampled_noise_items(1000, 0.10, 1.0))))
    assert d["std_error"] > full["parity"]["decision"]["std_error"] * 1.3  # the extra uncertainty is carried


def test_looks_are_recorded_and_each_new_look_spends_less_alpha(tmp_path):
    items = [Item(f"p{i}", answers={"primary": Answer("a"), "noise": Answer("a"), "candidate": Answer("a")})
             for i in range(200)]
    folder = write_run(tmp_path / "run", items)
    first = json.loads(cli.invoke(app, ["report", str(folder), "--format", "json"]).output)
    again = json.loads(cli.invoke(app, ["report", str(folder), "--format", "json"]).output)  # same data: same look
    assert first["parity"]["method"]["look"] == again["parity"]["method"]["look"] == 1
    write_run(folder, items + [Item(f"q{i}", answers=items[0].answers) for i in range(100)])  # --resume added more
    later = json.loads(cli.invoke(app, ["report", str(folder), "--format", "json"]).output)
    assert later["parity"]["method"]["look"] == 2
    assert later["parity"]["method"]["alpha"] == pytest.approx(first["parity"]["method"]["alpha"] / 2)
    looks = list(iter_jsonl(folder / "looks.jsonl"))
    assert [entry["look"] for entry in looks] == [1, 2] and looks[1]["compared"] == 300
