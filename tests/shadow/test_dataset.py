"""Dataset readers: every accepted shape, and malformed input reported by line (or fatal with --strict)."""

import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from migrate.errors import UserError
from migrate.shadow.dataset import Dataset, normalise, request_hash


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lines(*objs):
    return "".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs)


def test_jsonl_prompt_and_request_body_and_messages(tmp_path):
    path = write(tmp_path, "d.jsonl", lines(
        {"id": "a", "prompt": "Classify: refund please", "system": "Answer with one label.", "slice": "labels",
         "tags": ["x", "y"], "expected": "billing", "compare": "label"},
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generation_config": {"temperature": 0},
         "safetySettings": [], "tools": [{"functionDeclarations": [{"name": "f"}]}]},
        {"messages": [{"role": "system", "content": "terse"}, {"role": "user", "content": "2+2?"},
                      {"role": "assistant", "content": "4"}, {"role": "user", "content": "and 3+3?"}]},
        {"request": {"contents": "wrapped"}, "id": 7},
    ))
    items = list(Dataset(path))
    assert [i.id for i in items] == ["a", "line-2", "line-3", "7"]
    first = items[0]
    assert first.request == {"contents": [{"role": "user", "parts": [{"text": "Classify: refund please"}]}],
                             "systemInstruction": {"parts": [{"text": "Answer with one label."}]}}
    assert (first.slice, first.tags, first.expected, first.compare) == ("labels", ("x", "y"), "billing", "label")
    assert items[1].request["generationConfig"] == {"temperature": 0}  # snake_case top level accepted
    assert [c["role"] for c in items[2].request["contents"]] == ["user", "model", "user"]
    assert items[2].request["systemInstruction"]["parts"][0]["text"] == "terse"
    assert items[3].request["contents"][0]["parts"] == [{"text": "wrapped"}]


def test_malformed_lines_are_reported_with_their_numbers_and_skipped(tmp_path):
    path = write(tmp_path, "d.jsonl", lines(
        {"id": "ok1", "prompt": "fine"},
        "{not json",
        "[1, 2]",
        {"id": "x"},
        {"prompt": ""},
        {"id": "ok1", "prompt": "duplicate id"},
        {"contents": [{"role": "robot", "parts": ["x"]}]},
        {"prompt": "p", "tags": {"a": 1}},
        {"prompt": "p", "compare": "no spaces allowed"},
        "",
        {"id": "ok2", "prompt": "fine too"},
    ))
    data = Dataset(path)
    items = list(data)
    assert [i.id for i in items] == ["ok1", "ok2"]
    assert data.skipped == 8
    by_line = {p.line: p.message for p in data.problems}
    assert set(by_line) == {2, 3, 4, 5, 6, 7, 8, 9}
    assert "not valid JSON" in by_line[2]
    assert "object" in by_line[3]
    assert "no prompt" in by_line[4]
    assert "duplicate id 'ok1' (first on line 1)" in by_line[6]
    assert data.sha256 and data.count == 2


def test_strict_stops_at_the_first_bad_line(tmp_path):
    path = write(tmp_path, "d.jsonl", lines({"prompt": "a"}, "{oops", {"prompt": "b"}))
    with pytest.raises(UserError, match=r"d\.jsonl:2: not valid JSON"):
        list(Dataset(path, strict=True))


def test_csv(tmp_path):
    path = write(tmp_path, "d.csv",
                 "id,prompt,slice,tags,expected,compare\n"
                 'c1,"Extract: order 42, $10",json,a;b,"{""order"": 42}",json\n'
                 "c2,Say hi,text,,,\n"
                 "c3,too,many,fields,here,x,y\n"
                 ",,,,,\n"
                 'c4,"multi\nline prompt",text,,,\n')
    data = Dataset(path)
    items = list(data)
    assert [i.id for i in items] == ["c1", "c2", "c4"]
    assert items[0].expected == {"order": 42} and items[0].tags == ("a", "b")
    assert items[2].request["contents"][0]["parts"][0]["text"] == "multi\nline prompt"
    assert [p.line for p in data.problems] == [4]
    assert "fields" in data.problems[0].message


def test_csv_without_prompt_column_is_fatal(tmp_path):
    path = write(tmp_path, "d.csv", "question,answer\nq,a\n")
    with pytest.raises(UserError, match="no 'prompt' column"):
        list(Dataset(path))


def test_yaml_list_and_mapping_with_line_numbers(tmp_path):
    path = write(tmp_path, "d.yaml", "prompts:\n  - id: y1\n    prompt: hello\n  - prompt: 5\n  - contents: hi\n    expected: {a: 1}\n")
    data = Dataset(path)
    items = list(data)
    assert [i.id for i in items] == ["y1", "item-3"]
    assert items[1].expected == {"a": 1}
    assert data.problems[0].line == 4
    bad = write(tmp_path, "bad.yaml", "- prompt: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        list(Dataset(bad))


def test_json_array(tmp_path):
    path = write(tmp_path, "d.json", json.dumps([{"prompt": "a"}, {"prompt": "b", "id": "B"}]))
    assert [i.id for i in Dataset(path)] == ["item-1", "B"]


def test_logged_traffic_in_vertex_export_shape(tmp_path):
    request = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}], "model": "projects/p/locations/l/publishers/google/models/gemini-2.5-pro"}
    response = {"candidates": [{"content": {"parts": [{"text": "hi"}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1}}
    path = write(tmp_path, "log.jsonl", lines(
        {"request_id": "r1", "full_request": json.dumps(request), "full_response": json.dumps(response), "latency_ms": 812},
        {"id": "r2", "request": request, "response": [response, response]},
        {"id": "r3", "request_payload": [json.dumps(request)], "response_payload": ["{broken"]},
    ))
    data = Dataset(path)
    items = list(data)
    assert [i.id for i in items] == ["r1", "r2"]
    assert items[0].logged.model == "gemini-2.5-pro" and items[0].logged.latency_ms == 812
    assert "model" not in items[0].request  # the arm decides the model
    assert isinstance(items[1].logged.response, list)
    assert data.logged == 2 and "not valid JSON" in data.problems[0].message


def test_request_hash_is_canonical():
    a = normalise({"prompt": "x", "generationConfig": {"temperature": 0, "topP": 1}}, line=1, default_id="a")
    b = normalise({"generationConfig": {"topP": 1, "temperature": 0}, "prompt": "x"}, line=1, default_id="b")
    assert request_hash(a.request) == request_hash(b.request)
    assert request_hash(a.request) != request_hash({**a.request, "generationConfig": {"temperature": 1}})


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        Dataset(tmp_path / "nope.jsonl")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.binary(max_size=80), st.text(max_size=80),
                          st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                                       lambda c: st.lists(c, max_size=3) | st.dictionaries(
                                           st.sampled_from(["prompt", "contents", "id", "tags", "messages", "request",
                                                            "response", "parts", "role", "text", "slice"]), c, max_size=4),
                                       max_leaves=8).map(json.dumps)), max_size=8))
def test_arbitrary_lines_never_crash_the_reader(tmp_path, junk):
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(j if isinstance(j, bytes) else j.encode() for j in junk).replace(b"\r", b""))
    data = Dataset(path)
    items = list(data)
    assert data.count == len(items)
    assert all(p.line >= 1 for p in data.problems)


def test_seen_ids_table_survives_growth_and_names_the_first_line():
    from migrate.shadow.dataset import SeenIds

    seen = SeenIds()
    for i in range(5000):
        assert seen.add(f"id-{i}", i + 1) is None
    assert seen.add("id-0", 9999) == 1
    assert seen.add("id-4321", 9999) == 4322
    assert seen.add("brand-new", 10000) is None


def test_a_json_error_reads_as_one_position(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"prompt": "a"}\n{"prompt": "unterminated')
    data = Dataset(path)
    list(data)
    assert data.problems[0].message == "not valid JSON (Unterminated string starting at column 12)"
