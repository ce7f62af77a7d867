"""The run store: append-only records, torn tails, last-record-wins, redaction, schema check."""

import json

import pytest

from migrate.errors import UserError
from migrate.shadow import store
from migrate.shadow.secrets import REDACTOR


def record(pid, arm="candidate", repeat=0, status="ok", **extra):
    base = {"prompt_id": pid, "arm": arm, "repeat": repeat, "model": "m", "backend": "gemini", "request_hash": "h",
            "order": 0, "started_at": "2026-11-23T00:00:00Z", "latency_ms": 10.0, "ttft_ms": None, "total_ms": 11.0,
            "attempts": 1, "status": status, "error": None if status == "ok" else {"kind": "http", "http_status": 503, "message": "x"},
            "response": {"text": "t", "finish_reason": "STOP", "blocked": False, "block_reason": None,
                         "tool_calls": [{"name": "f", "args": {"a": 1}}], "raw": {}} if status == "ok" else None,
            "usage": {"prompt": 3, "cached": 0, "candidates": 1, "thoughts": 2, "total": 6, "tool_use_prompt": 0},
            "cost_usd": 0.001 if status == "ok" else 0.0, "cost_error": None}
    base.update(extra)
    return base


def make_run(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    store.write_prompts(folder, [{"id": "p1", "slice": "s", "tags": [], "expected": "t", "compare": "exact",
                                  "request": {"contents": []}, "request_hash": "h", "line": 1}])
    store.write_manifest(folder, store.new_manifest(status="running", arms={"primary": {"model": "m"}}))
    return folder


def test_round_trip_and_last_record_wins(tmp_path):
    folder = make_run(tmp_path)
    with store.CallLog.for_run(folder) as log:
        log.append(record("p1", status="error"))
        log.append(record("p1"))
        log.append(record("p1", arm="primary"))
    run = store.load_run(folder)
    assert len(run.calls) == 3
    final = run.final()
    assert final[("p1", "candidate", 0)].ok
    call = final[("p1", "candidate", 0)]
    assert call.response.tool_calls[0].name == "f" and call.usage.thoughts == 2
    assert run.prompts["p1"].expected == "t"
    assert store.recorded_keys(folder) == {("p1", "candidate", 0), ("p1", "primary", 0)}


def test_torn_tail_is_ignored_and_cut_before_appending(tmp_path):
    folder = make_run(tmp_path)
    path = folder / store.CALLS
    path.write_text(json.dumps(record("p1")) + "\n" + json.dumps(record("p1", arm="primary"))[:40])
    assert [c.arm for c in store.load_run(folder).calls] == ["candidate"]
    with store.CallLog.for_run(folder) as log:
        log.append(record("p1", arm="noise"))
    assert [json.loads(line)["arm"] for line in path.read_text().splitlines()] == ["candidate", "noise"]


def test_errors_can_be_left_out_for_retry(tmp_path):
    folder = make_run(tmp_path)
    with store.CallLog.for_run(folder) as log:
        log.append(record("p1", status="error"))
        log.append(record("p1", arm="primary"))
    assert store.recorded_keys(folder, include_errors=False) == {("p1", "primary", 0)}


def test_every_line_is_redacted(tmp_path):
    folder = make_run(tmp_path)
    REDACTOR.add("sk-canary-store-0001")
    with store.CallLog.for_run(folder) as log:
        log.append(record("p1", error={"kind": "http", "http_status": 400, "message": "bad key sk-canary-store-0001"}))
    assert "sk-canary-store-0001" not in (folder / store.CALLS).read_text()


def test_manifest_schema_is_checked(tmp_path):
    folder = make_run(tmp_path)
    assert store.read_manifest(folder)["schema"] == store.SCHEMA_VERSION
    (folder / store.MANIFEST).write_text(json.dumps({"schema": 99}))
    with pytest.raises(UserError, match="schema 99"):
        store.load_run(folder)
    with pytest.raises(UserError, match="not a shadow run folder"):
        store.load_run(tmp_path)


def test_damaged_middle_line_is_an_error_not_silence(tmp_path):
    folder = make_run(tmp_path)
    (folder / store.CALLS).write_text(json.dumps(record("p1")) + "\n{garbage\n" + json.dumps(record("p1")) + "\n")
    with pytest.raises(UserError, match="damaged"):
        store.load_run(folder)


def test_a_streamed_run_gives_each_prompt_the_final_calls_a_loaded_run_gives(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    ids = ["p1", 'p"2\\', "p3-\u00e9"]  # a quote, a backslash and a non-ASCII letter in prompt IDs
    store.write_prompts(folder, [{"id": pid, "slice": "s", "tags": [], "expected": None, "compare": "exact",
                                  "request": {"contents": []}, "request_hash": "h", "line": k + 1}
                                 for k, pid in enumerate(ids)])
    store.write_manifest(folder, store.new_manifest(status="complete", arms={"primary": {"model": "m"}}))
    with store.CallLog.for_run(folder) as log:
        log.append(record(ids[2], arm="primary"))
        log.append(record(ids[0], status="error"))
        log.append(record(ids[1]))
        log.append(record(ids[0]))  # --retry-errors: the later record of a key is the one that counts
        log.append(record("not-a-prompt"))
    path = folder / store.CALLS
    other_order = {"arm": "primary", **record(ids[1], arm="primary", latency_ms=99.0)}  # not the writer's key order
    path.write_text(path.read_text() + json.dumps(other_order) + "\n" + json.dumps(record(ids[0], arm="noise"))[:50])
    streamed, loaded = store.open_run(folder), store.load_run(folder)
    groups = list(streamed.groups())
    assert [(p.id, g) for p, g in groups] == [(p.id, g) for p, g in loaded.groups()]
    assert [p.id for p, _ in groups] == ids
    first = groups[0][1]
    assert set(first) == {("candidate", 0)} and first[("candidate", 0)].ok
    assert groups[1][1][("primary", 0)].latency_ms == 99.0
    assert streamed.call_count == loaded.call_count - 1  # the call of an unknown prompt is not indexed


def test_a_damaged_line_in_a_streamed_run_is_an_error_not_silence(tmp_path):
    folder = make_run(tmp_path)
    good = json.dumps(record("p1"), separators=(",", ":"))
    (folder / store.CALLS).write_text(good + "\n" + good[:60] + "}garbage\n")
    with pytest.raises(UserError, match="damaged"):
        list(store.open_run(folder).groups())
