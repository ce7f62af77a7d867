"""Renderers (terminal, JSON, Markdown, JUnit, HTML) and the `report` / `gate` / `plan` commands, on the
bundled offline example and on hostile input."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from migrate.shadow.cli import app
from migrate.shadow.reports import FORMATS, renderer
from migrate.shadow.reports import html as html_report
from migrate.shadow.reports import json_report, junit, markdown, terminal
from migrate.shadow.store import load_run
from migrate.shadow.verdict import SCHEMA, SCHEMA_VERSION, Options, compute
from synthetic_runs import Answer, Item, label_run, write_run

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def example(example_run):
    return example_run


@pytest.fixture(scope="module")
def doc(example):
    return compute(load_run(example), Options(volume_per_day=10_000))


def test_bundled_example_tells_the_whole_story(doc):
    assert doc["verdict"]["status"] == "FAIL" and doc["verdict"]["exit_code"] == 1
    cov = doc["coverage"]
    # the candidate's 503 (after retries) and its safety block are answers it did not give: disagreements, by class
    assert (cov["prompts"], cov["compared"], cov["candidate_errors"]) == (60, 60, 2)
    classes = {c["class"]: c["calls"] for c in doc["failures"]["candidate"]["classes"]}
    assert classes == {"http 503": 1, "blocked (SAFETY)": 1} and doc["failures"]["primary"]["calls"] == 0
    assert cov["comparators"] == {"label": 20, "rouge_l": 20, "json": 20}
    worst = doc["slices"][0]
    assert worst["slice"] == "reply-draft" and worst["status"] == "FAIL"
    labels = next(r for r in doc["slices"] if r["slice"] == "ticket-label")
    assert labels["excess"] == pytest.approx(0.0)  # Flash-Lite flips as often as Pro does against itself
    assert doc["json_fields"]["paths"][0]["path"] == "total" and doc["json_fields"]["prompt_noisy"] == 1
    safety = next(r for r in doc["operational"]["critical"] if r["kind"] == "safety_block")
    assert safety["arms"]["candidate"]["count"] == 1 and safety["arms"]["primary"]["rule_of_three"]
    cost = doc["cost"]
    assert cost["ratio"] < 0.05 and cost["arms"]["primary"]["thinking_share"] > 0.9
    assert cost["monthly"]["saving_usd"]["low"] > 0 and cost["pricing"]["as_of"]
    assert doc["accuracy"]["mcnemar"]["p"] < 0.05
    assert doc["disagreements"][0]["id"] == "reply-10"  # the safety block comes first


@pytest.mark.parametrize("fmt", FORMATS)
def test_report_command_writes_every_format(example, tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    result = invoke("report", example, "--format", fmt, "--out", out, "--volume", 10000)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "FAIL" in text and len(text) > 1000


def test_terminal_report_on_stdout(example):
    result = invoke("report", example)
    assert result.exit_code == 0, result.output
    for needle in ("shadow verdict", "Gates", "three ways", "Slices, worst first", "Critical failures",
                   "rule of three", "Cost (prices as of", "Latency", "Worst disagreements", "reply-10"):
        assert needle in result.output


def test_json_is_the_versioned_document(doc):
    data = json.loads(json_report.render(doc))
    assert data["schema"] == SCHEMA and data["schema_version"] == SCHEMA_VERSION
    assert data["verdict"] == doc["verdict"] and data["gates"][0]["id"] == "parity"
    for key in ("run", "settings", "coverage", "parity", "slices", "json_fields", "labels", "accuracy", "operational",
                "lexical", "judge", "cost", "latency", "disagreements", "warnings"):
        assert key in data
    assert "NaN" not in json_report.render(doc)


def test_markdown_pr_comment(doc):
    text = markdown.render(doc)
    assert text.startswith("## \u274c Shadow verdict: **FAIL**")
    assert "| slice | n |" in text and "reply-draft" in text and "<details>" in text
    assert "Prices as of **" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert all(line.count(" | ") >= 1 for line in rows)


def test_junit_one_case_per_gate_and_slice(doc):
    root = ET.fromstring(junit.render(doc).split("\n", 1)[1])
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases][:2] == ["verdict", "parity"]
    slices = [c.get("name") for c in cases if c.get("classname") == "shadow.slices"]
    assert slices == [r["slice"] for r in doc["slices"]]
    assert len(cases) == len(doc["gates"]) + 1 == int(suite.get("tests"))
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert {"verdict", "parity", "reply-draft"} <= failed
    assert all(c.find("skipped") is not None for c in cases if c.get("name") == "order-extract")
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["verdict"] == "FAIL" and props["prices_as_of"]


def test_junit_inconclusive_verdict_is_a_failure_case(tmp_path):
    doc = compute(load_run(label_run(tmp_path / "run", 30)))
    root = ET.fromstring(junit.render(doc).split("\n", 1)[1])
    verdict = root.find("testsuite/testcase[@name='verdict']")
    assert verdict.find("failure").get("type") == "INCONCLUSIVE"
    assert root.find("testsuite/testcase[@name='parity']/skipped") is not None


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.data = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.data.append(data)


def test_html_is_self_contained_with_charts(doc):
    page = html_report.render(doc)
    p = _Collector()
    p.feed(page)
    assert "script" not in p.tags and "link" not in p.tags and "img" not in p.tags and "iframe" not in p.tags
    assert not any(name in ("src", "href") for name, _ in p.attrs)
    assert "url(" not in page and "@import" not in page
    for chart in ("chart-parity", "chart-slices", "chart-cost", "chart-latency"):
        assert f'<svg id="{chart}"' in page
    assert 'data-verdict="FAIL"' in page and "Worst disagreements, side by side" in page
    assert page.count("<polyline") == 3  # one latency curve per arm


def test_html_escapes_everything_from_the_run(tmp_path):
    evil = '<script>alert("x")</script>'
    items = [Item(f'p{i}"><img src=x onerror=alert(1)>', slice="<b>slice</b>", prompt=evil, answers={
        "primary": Answer("fine"), "noise": Answer("fine"),
        "candidate": Answer(f"</pre>{evil}" if i == 0 else "fine")}) for i in range(3)]
    doc = compute(load_run(write_run(tmp_path / "run", items)))
    md = re.sub(r"`[^`]*`", "", markdown.render(doc))  # code spans are shown literally by Markdown
    for text in (html_report.render(doc), md):
        assert "<script>" not in text and "<img" not in text and "<b>slice</b>" not in text
    assert "&lt;script&gt;" in html_report.render(doc)
    terminal.to_text(doc)  # rich markup in the data must not break the terminal either


def test_report_and_gate_user_errors(example, tmp_path):
    result = invoke("report", example, "--format", "pdf")
    assert result.exit_code != 0
    for args, message in ((["report", tmp_path], "not a shadow run folder"),
                          (["gate", example, "--margin", "5"], "--margin"),
                          (["plan"], "--expected-agreement"),
                          (["report", example, "--compare-all", "banana"], "unknown comparator")):
        result = invoke(*args)
        assert result.exit_code != 0 and message in str(result.exception) + result.output, (args, result.output)


def test_gate_writes_side_files_and_exits_with_the_verdict(example, tmp_path):
    result = invoke("gate", example, "--junit", tmp_path / "g.xml", "--json", tmp_path / "g.json",
                    "--markdown", tmp_path / "g.md", "--quiet")
    assert result.exit_code == 1
    assert result.output.startswith("FAIL ")
    assert json.loads((tmp_path / "g.json").read_text())["verdict"]["status"] == "FAIL"
    assert (tmp_path / "g.xml").read_text().startswith("<?xml") and (tmp_path / "g.md").read_text().startswith("##")


def test_plan_command(example):
    result = invoke("plan", "--margin", 0.02, "--expected-agreement", 0.95, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["recommended"] >= data["rows"][0]["prompts"] > 1000
    result = invoke("plan", "--margin", 0.02, "--expected-agreement", 0.95)
    assert "recommended" in result.output and "rule of three" in result.output
    result = invoke("plan", example, "--margin", 0.25)
    assert result.exit_code == 0, result.output
    assert "from the pilot" in result.output and "about $" in result.output
    result = invoke("plan", example)
    assert result.exit_code != 0 and "cannot be shown" in str(result.exception)


def test_renderer_aliases():
    assert renderer("markdown") is renderer("md")
    assert re.match(r"terminal", "terminal") and renderer("text") is renderer("terminal")
