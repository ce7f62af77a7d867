"""Two views, one number: every view of one run folder shows the figures computed once (figures.py,
verdict.py) -- `run`, `summary` (table and JSON), `report` (terminal, Markdown, HTML, JSON) and `gate`."""

import json
import re

import pytest
from typer.testing import CliRunner

from migrate.shadow.cli import app
from migrate.shadow.reports import fmt

cli = CliRunner()


def invoke(*args):
    result = cli.invoke(app, [str(a) for a in args])
    return result


@pytest.fixture(scope="module")
def views(example_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("views")
    docs = {}
    for form in ("json", "md", "html"):
        path = out / f"report.{form}"
        assert invoke("report", example_run, "--format", form, "--out", path, "--volume", 10000).exit_code == 0
        docs[form] = path.read_text()
    docs["terminal"] = invoke("report", example_run, "--volume", 10000).output
    docs["summary"] = json.loads(invoke("summary", example_run, "--format", "json", "--volume", 10000).output)
    docs["summary_table"] = invoke("summary", example_run, "--volume", 10000).output
    docs["run"] = invoke("run", "--resume", example_run, "-q").output
    docs["gate"] = invoke("gate", example_run, "--volume", 10000)
    return docs


def test_cost_figures_are_the_same_in_every_view(views):
    doc, summary = json.loads(views["json"]), views["summary"]
    saving = doc["cost"]["monthly"]["saving_usd"]["estimate"]
    assert summary["cost"]["monthly"]["saving_usd"] == pytest.approx(saving, rel=1e-12)
    assert summary["cost"]["candidate_to_primary_ratio"] == pytest.approx(doc["cost"]["ratio"], rel=1e-12)
    for arm in ("primary", "candidate", "noise"):
        assert summary["cost"]["arms"][arm]["thoughts_share_of_output"] == doc["cost"]["arms"][arm]["thinking_share"]
    shown = fmt.usd(saving)
    for view in ("terminal", "md", "html", "summary_table"):
        assert shown in views[view], view
    share = fmt.pct(doc["cost"]["arms"]["primary"]["thinking_share"])
    for view in ("terminal", "md", "html", "summary_table"):
        assert share in views[view], view


def test_retries_read_the_same_in_run_and_summary(views):
    total = sum(r["retries"] for r in views["summary"]["reliability"].values())
    match = re.search(r"(\d+) retries\)", views["run"])
    assert match and int(match.group(1)) == total


def test_accuracy_rates_and_their_difference_are_over_the_same_prompts(views):
    acc = json.loads(views["json"])["accuracy"]
    judged = views["summary"]["parity"]["verdict"]
    assert judged["accuracy"]["primary"]["rate"] == acc["arms"]["primary"]["rate"]
    assert judged["excess"] == json.loads(views["json"])["parity"]["decision"]["excess"]
    primary, candidate = acc["arms"]["primary"], acc["arms"]["candidate"]
    assert primary["n"] == candidate["n"] == acc["items"]
    assert primary["rate"] - candidate["rate"] == pytest.approx(-acc["difference"]["estimate"], abs=1e-12)


def test_every_view_states_the_same_verdict(views):
    doc = json.loads(views["json"])
    status = doc["verdict"]["status"]
    assert views["gate"].exit_code == doc["verdict"]["exit_code"]
    assert f"Shadow verdict: **{status}**" in views["md"]
    assert f'data-verdict="{status}"' in views["html"]
    assert status in views["terminal"][:400]  # the banner
    for row in doc["slices"]:  # the rule that fired is stated next to each slice row
        gate = next(g for g in doc["gates"] if g["id"] == f"slice:{row['slice']}")
        assert gate["status"] == row["status"]
        assert (row["status"] == "FAIL") == (row["p_fail_holm"] < doc["parity"]["method"]["alpha"])
