"""`flm shadow run` / `flm shadow summary` on the bundled offline example, and clean user errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrate.errors import UserError
from migrate.shadow.cli import app
from migrate.shadow.store import load_run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fixtures" / "shadow" / "support_triage.jsonl"
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])



def test_bundled_example_runs_offline(example_run):
    run = load_run(example_run)
    assert len(run.prompts) == 60 and len(run.calls) == 180
    assert {p.slice for p in run.prompts.values()} == {"ticket-label", "order-extract", "reply-draft"}
    assert run.manifest["arms"]["primary"]["backend"] == "replay"
    assert run.arms() == {"primary": "gemini-2.5-pro", "candidate": "gemini-3.1-flash-lite", "noise": "gemini-2.5-pro"}
    assert all(c.cost_usd is not None for c in run.calls)


def test_summary_json(example_run):
    result = invoke("summary", example_run, "--format", "json", "--volume", "10000")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    cost = data["cost"]
    assert 0 < cost["candidate_to_primary_ratio"] < 0.2
    # over the prompts both arms answered (as the report's saving): the candidate's 503 prompt is left out
    run = load_run(example_run)
    ok = {(c.prompt_id, c.arm): c.cost_usd for c in run.final().values() if c.ok}
    pairs = [(ok[(p, "primary")], ok[(p, "candidate")]) for p in run.prompts if (p, "primary") in ok and (p, "candidate") in ok]
    assert len(pairs) == 59
    assert cost["monthly"]["saving_usd"] == pytest.approx(sum(a - b for a, b in pairs) / len(pairs) * 10000 * 30)
    assert cost["arms"]["primary"]["thoughts_share_of_output"] > 0.5
    lat = data["latency"]
    assert lat["candidate"]["p50_ms"] < lat["primary"]["p50_ms"] <= lat["primary"]["p95_ms"] <= lat["primary"]["p99_ms"]
    assert data["reliability"]["candidate"]["errors"] == 1
    assert data["reliability"]["candidate"]["error_kinds"] == {"http 503": 1}
    assert data["reliability"]["candidate"]["retries"] == 1 + 1 + 5  # two 429s, one 503 given up after 6 attempts
    assert data["finish_reasons"]["candidate"].get("SAFETY") == 1
    parity = data["parity"]
    assert parity["noise_vs_primary"]["normalised"] > parity["candidate_vs_primary"]["normalised"]
    acc = parity["verdict"]["accuracy"]  # the verdict's own figures, not a second computation
    assert acc["primary"]["rate"] > acc["candidate"]["rate"] and acc["primary"]["n"] == acc["candidate"]["n"]
    assert data["pricing"]["as_of"]


def test_summary_table(example_run):
    result = invoke("summary", example_run)
    assert result.exit_code == 0, result.output
    for text in ("Cost", "Latency", "p95", "Reliability", "noise floor", "SAFETY", "prices as of"):
        assert text in result.output


def test_resume_of_a_complete_run_sends_nothing(example_run):
    result = invoke("run", "--resume", example_run, "-q")
    assert result.exit_code == 0, result.output
    assert "0 by this invocation" in result.output and "180 were already recorded" in result.output


@pytest.mark.parametrize("args, message", [
    (["run", "missing.jsonl", "--backend", "replay"], "dataset not found"),
    (["run", EXAMPLE, "--backend", "replay", "--candidate", "gemini-9-imaginary"], "no price for model 'gemini-9-imaginary'"),
    (["run", EXAMPLE, "--backend", "carrier-pigeon"], "unknown backend"),
    (["run", EXAMPLE, "--rpm", "lots"], "expected N or MODEL=N"),
    (["run", EXAMPLE, "--backend", "replay", "--repeats", "0"], "--repeats"),
    (["summary", "."], "not a shadow run folder"),
])
def test_user_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args, *(["--out", tmp_path / "run"] if args[0] == "run" else []))
    assert isinstance(result.exception, UserError), result.output
    assert message in str(result.exception)
    assert not (tmp_path / "run").exists()  # nothing half-made left behind


def test_strict_names_the_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "fine"}\n{"prompt": \n')
    result = invoke("run", bad, "--strict", "--backend", "replay", "--replay", EXAMPLE.with_suffix(".replay.jsonl"),
                    "--primary", "gemini-2.5-pro", "--out", tmp_path / "run")
    assert isinstance(result.exception, UserError)
    assert "bad.jsonl:2: not valid JSON" in str(result.exception)


def test_skipped_lines_are_counted_and_a_miss_is_a_recorded_error(tmp_path):
    data = tmp_path / "mixed.jsonl"
    data.write_text(EXAMPLE.read_text().splitlines()[0] + "\n{broken\n" + '{"id": "new", "prompt": "never recorded"}\n')
    result = invoke("run", data, "--backend", "replay", "--replay", EXAMPLE.with_suffix(".replay.jsonl"),
                    "--out", tmp_path / "run", "-q")
    assert result.exit_code == 0, result.output
    assert "1 malformed entry skipped (line 2" in result.output
    calls = {c.prompt_id: c for c in load_run(tmp_path / "run").calls if c.arm == "candidate"}
    assert calls["label-01"].ok
    assert calls["new"].error.kind == "replay_miss"  # a recorded error, not a crash


def test_entry_point_prints_one_line_not_a_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "migrate", "shadow", "run", str(tmp_path / "nope.jsonl")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("flm: error: dataset not found") and "Traceback" not in proc.stderr
