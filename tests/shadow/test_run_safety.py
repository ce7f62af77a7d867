"""What a run promises about money, privacy and its folder: the ledger, the lock, the atomic folder,
request storage, the served model, and a run whose candidate never answers."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from fake_gemini import FakeGemini, Fault
from migrate.errors import UserError
from migrate.shadow import store
from migrate.shadow.cli import app
from migrate.shadow.session import RunOptions, start
from test_runner import CANARY, LITE, PRO, ROOT, _spawn, _wait_for_records, key_counts, options, write_dataset


def test_requests_ask_not_to_be_stored_unless_the_run_opts_in(tmp_path, fake_gemini):
    dataset = write_dataset(tmp_path, 3)
    result = start(options(fake_gemini, dataset, tmp_path / "a"))
    assert {r.body["store"] for r in fake_gemini.requests} == {False}
    assert result.manifest["settings"]["store"] is False
    assert result.manifest["arms"]["candidate"]["store"] is False
    fake_gemini.clear_requests()
    result = start(options(fake_gemini, dataset, tmp_path / "b", store=True))
    assert {r.body["store"] for r in fake_gemini.requests} == {True}
    assert result.manifest["settings"]["store"] is True


def test_every_call_records_the_model_that_served_it(tmp_path, fake_gemini):
    fake_gemini.set_model_version(PRO, "gemini-3.8-flash")
    result = start(options(fake_gemini, write_dataset(tmp_path, 4), tmp_path / "run", noise_floor=True))
    served = {(c.arm, c.model_version) for c in store.load_run(result.folder).calls}
    assert served == {("primary", "gemini-3.8-flash"), ("noise", "gemini-3.8-flash"), ("candidate", LITE)}


def test_a_primary_the_catalogue_calls_shut_down_is_warned_about_before_the_first_call(tmp_path, fake_gemini):
    seen = []

    def warn(message):
        seen.append((message, len(fake_gemini.requests)))

    start(options(fake_gemini, write_dataset(tmp_path, 2), tmp_path / "run", today=dt.date(2026, 12, 3)), warn=warn)
    assert len(seen) == 1
    message, requests_before = seen[0]
    assert requests_before == 0 and PRO in message and "2026-12-01" in message
    seen.clear()
    start(options(fake_gemini, write_dataset(tmp_path, 2), tmp_path / "run2", today=dt.date(2026, 11, 1)), warn=warn)
    assert seen == []  # before its shutdown date nothing is said


def test_a_run_whose_candidate_always_fails_exits_non_zero_with_one_line(tmp_path, monkeypatch):
    with FakeGemini() as srv:
        srv.set_fault(LITE, Fault.bad_request("Unsupported field: thinkingBudget"))
        monkeypatch.setenv("GEMINI_API_KEY", CANARY)
        dataset = write_dataset(tmp_path, 5)
        result = CliRunner().invoke(app, ["run", str(dataset), "--primary", PRO, "--candidate", LITE,
                                          "--base-url", srv.url, "--out", str(tmp_path / "run"), "-q"])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert errors == ["error: every candidate call failed (5 of 5): HTTP 400 INVALID_ARGUMENT: Unsupported field: thinkingBudget"]
    assert store.read_manifest(tmp_path / "run")["status"] == "failed"


def test_a_second_writer_is_refused_and_a_killed_writer_leaves_no_stale_lock(tmp_path):
    with FakeGemini(latency={PRO: 150, LITE: 150}) as srv:
        dataset = write_dataset(tmp_path, 40)
        folder = tmp_path / "run"
        proc = _spawn([str(dataset), "--out", str(folder), "--primary", PRO, "--candidate", LITE,
                       "--base-url", srv.url, "--concurrency", "4"])
        try:
            _wait_for_records(folder, 4, proc)
            with pytest.raises(UserError, match=rf"being written by pid {proc.pid} "):
                start(RunOptions(resume=folder, env={"GEMINI_API_KEY": CANARY}))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        result = start(RunOptions(resume=folder, env={"GEMINI_API_KEY": CANARY}))
        assert result.status == "complete" and len(key_counts(folder)) == 80


def test_a_kill_while_the_dataset_is_read_leaves_the_destination_free(tmp_path):
    big = tmp_path / "big.jsonl"
    line = json.dumps({"prompt": "x" * 200}) + "\n"
    big.write_text("".join(line.replace('"prompt"', f'"id": "i{i}", "prompt"') for i in range(150_000)))
    folder = tmp_path / "run"
    proc = _spawn([str(big), "--out", str(folder), "--primary", PRO, "--candidate", LITE, "--backend", "replay",
                   "--replay", str(big)])
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".run.partial-*/prompts.jsonl.tmp")):  # reading has begun
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert not folder.exists()  # the half-read run lives only in a hidden staging folder
    with FakeGemini() as srv:
        dataset = write_dataset(tmp_path, 2, name="ok.jsonl")
        result = start(options(srv, dataset, folder))  # the name is free, and the dead staging is swept
    assert result.status == "complete" and len(key_counts(folder)) == 4
    assert list(tmp_path.glob(".run.partial-*")) == []


def test_a_kill_on_the_wire_is_counted_as_possibly_billed_and_sent_again(tmp_path):
    with FakeGemini(latency={PRO: 300, LITE: 300}) as srv:
        dataset = write_dataset(tmp_path, 30)
        folder = tmp_path / "run"
        proc = _spawn([str(dataset), "--out", str(folder), "--primary", PRO, "--candidate", LITE,
                       "--base-url", srv.url, "--concurrency", "6"])
        _wait_for_records(folder, 10, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        time.sleep(0.5)  # the requests the dead process had on the wire reach the server
        recorded = len(key_counts(folder))
        lost_on_the_wire = len(srv.requests) - recorded  # received by the server, answer never recorded
        exposure = store.billing_exposure(folder)
        # a bound, never an undercount: an attempt is in the ledger before it leaves (it may be killed between
        # the ledger line and the socket, hence "possibly"); at most the calls in flight
        assert 1 <= exposure["possibly_billed_calls"] <= 6
        assert lost_on_the_wire <= exposure["possibly_billed_calls"]
        assert exposure["possibly_billed_usd"] > 0
        result = start(RunOptions(resume=folder, env={"GEMINI_API_KEY": CANARY}))
    assert result.status == "complete" and len(key_counts(folder)) == 60
    assert result.manifest["totals"]["possibly_billed_calls"] == exposure["possibly_billed_calls"]
    assert result.manifest["runs"][-1]["resent_possibly_billed"] == exposure["possibly_billed_calls"]
    summary = CliRunner().invoke(app, ["summary", str(folder), "--format", "json"])
    assert json.loads(summary.output)["billing"]["possibly_billed_calls"] == exposure["possibly_billed_calls"]
