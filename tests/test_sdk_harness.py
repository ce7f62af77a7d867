"""The wire-equivalence oracle, proven with real programs on the real SDKs.

Every legacy program in ``tests/programs`` has a hand-written google-genai twin. Both run in
subprocesses against their own ``FakeGemini`` (all programs of this module run once, in parallel,
in the ``runs`` fixture); the pair must print the same stdout and send wire-equivalent requests.
Negative cases change one thing in a twin and the oracle must say what.
"""

from __future__ import annotations

import copy
import fcntl
import os
import pickle
import re

import pytest

from fake_gemini import FakeGemini, Fault, RecordedRequest
from sdk_harness import (
    DEV_HARM_CATEGORY,
    FUNCTION_CALLING_MODE,
    HARM_BLOCK_METHOD,
    HARM_BLOCK_THRESHOLD,
    PROGRAMS_DIR,
    SCHEMA_TYPE,
    VERTEX_HARM_CATEGORY,
    ProgramRun,
    assert_migration_equivalent,
    assert_wire_equivalent,
    canonical_request,
    run_program,
    run_programs,
    wire_diff,
)

TARGET = "gemini-2.5-flash-lite"

PAIRS = {
    "a_generate_config_safety_system": ("legacy_genai_generate.py", "new_genai_generate.py"),
    "b_stream": ("legacy_genai_stream.py", "new_genai_stream.py"),
    "c_chat_history": ("legacy_genai_chat.py", "new_genai_chat.py"),
    "d_count_tokens": ("legacy_genai_count_tokens.py", "new_genai_count_tokens.py"),
    "e_vertex_generate": ("legacy_vertex_generate.py", "new_vertex_generate.py"),
    "f_vertex_stream": ("legacy_vertex_stream.py", "new_vertex_stream.py"),
    "g_function_declaration": ("legacy_genai_function_call.py", "new_genai_function_call.py"),
    "h_async": ("legacy_genai_async.py", "new_genai_async.py"),
}
EXPECTED_VERBS = {
    "a_generate_config_safety_system": ["generateContent"],
    "b_stream": ["streamGenerateContent"],
    "c_chat_history": ["generateContent", "generateContent"],
    "d_count_tokens": ["countTokens", "countTokens"],
    "e_vertex_generate": ["generateContent"],
    "f_vertex_stream": ["streamGenerateContent"],
    "g_function_declaration": ["generateContent"],
    "h_async": ["generateContent", "streamGenerateContent"],
}


def _src(name: str) -> str:
    return (PROGRAMS_DIR / name).read_text()


def _mutate(name: str, old: str, new: str) -> str:
    src = _src(name)
    assert old in src, (name, old)
    return src.replace(old, new)


# Twins with one real difference each (run as source).
NEGATIVES = {
    "temperature": ("a_generate_config_safety_system",
                    _mutate("new_genai_generate.py", "temperature=0.2,", "temperature=0.3,")),
    "no_system_instruction": ("a_generate_config_safety_system",
                              _mutate("new_genai_generate.py",
                                      '        system_instruction="You are a terse assistant.",\n', "")),
    "vertex_threshold": ("e_vertex_generate",
                         _mutate("new_vertex_generate.py", "BLOCK_LOW_AND_ABOVE", "BLOCK_ONLY_HIGH")),
}


def _script_faults(srv: FakeGemini) -> None:
    srv.script("*", [Fault.unavailable(), Fault.rate_limit("1s"), Fault.blocked()])


def _run_all() -> dict[str, ProgramRun]:
    items: dict[str, object] = {}
    for legacy, new in PAIRS.values():
        items[legacy] = PROGRAMS_DIR / legacy
        items[new] = PROGRAMS_DIR / new
    for key, (_, source) in NEGATIVES.items():
        items[f"neg:{key}"] = source
    for name in ("legacy_genai_errors.py", "new_genai_errors.py"):
        items[name] = (PROGRAMS_DIR / name, _script_faults)
    # Slowest first (vertexai imports ~2 s), so the pool finishes evenly.
    order = sorted(items, key=lambda k: "vertex" not in k)
    results = run_programs([items[k] for k in order], workers=(os.cpu_count() or 2) + 1, timeout=90)
    return dict(zip(order, results))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, ProgramRun]:
    """Every program of this module, run once, in parallel, each against its own server. Under
    pytest-xdist the first worker runs the batch and the others read its pickled results."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _run_all()
    shared = tmp_path_factory.getbasetemp().parent
    cache = shared / "sdk_harness_runs.pickle"
    with open(shared / "sdk_harness_runs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cache.exists():
            return pickle.loads(cache.read_bytes())
        results = _run_all()
        cache.write_bytes(pickle.dumps(results))
        return results


# ---------------------------------------------------------------------------------------------
# Positive pairs


@pytest.mark.parametrize("pair", list(PAIRS))
def test_legacy_and_migrated_programs_are_equivalent(runs, pair):
    legacy, new = PAIRS[pair]
    before, after = runs[legacy], runs[new]
    assert_migration_equivalent(before, after, target_model=TARGET)
    assert [r.verb for r in before.requests] == EXPECTED_VERBS[pair]
    assert before.stdout.strip(), "the program printed nothing"


def test_pairs_exercise_what_they_claim(runs):
    """Guard against a vacuous oracle: the recorded wire really carries the features."""
    a = canonical_request(runs["legacy_genai_generate.py"].requests[0])["body"]
    assert a["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 256, "topP": 0.9, "stopSequences": ["END"]}
    assert a["safetySettings"] == [
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"},
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_NONE"}]
    assert a["systemInstruction"] == {"parts": [{"text": "You are a terse assistant."}]}

    b = runs["legacy_genai_stream.py"]
    assert b.requests[0].query == {"$alt": "json;enum-encoding=int"}  # JSON-array stream
    assert runs["new_genai_stream.py"].requests[0].query == {"alt": "sse"}
    assert b.stdout.count("\n") == 3  # three chunks printed

    c = [canonical_request(r)["body"]["contents"] for r in runs["legacy_genai_chat.py"].requests]
    assert [len(x) for x in c] == [3, 5] and c[1][3]["role"] == "model"
    assert runs["legacy_genai_chat.py"].stdout.splitlines()[-1] == "6"

    e = runs["legacy_vertex_generate.py"].requests[0]
    assert (e.api, e.project, e.location, e.model) == ("vertex", "acme-prod", "us-central1", "gemini-1.5-pro-002")
    assert e.body["safetySettings"] == [{"category": 1, "threshold": 2}, {"category": 2, "threshold": 1}]
    assert runs["new_vertex_generate.py"].requests[0].project == "acme-prod"

    for name in ("legacy_vertex_stream.py", "new_vertex_stream.py"):  # project/location from the env
        f = runs[name].requests[0]
        assert (f.api, f.project, f.location) == ("vertex", "fake-project", "us-central1")

    g = runs["legacy_genai_function_call.py"]
    assert g.stdout.splitlines() == ["get_weather", "[('city', 'Paris'), ('unit', 'celsius')]"]
    decl = canonical_request(g.requests[0])["body"]["tools"][0]["functionDeclarations"][0]
    assert decl["parameters"]["properties"]["unit"] == {"type": "STRING", "enum": ["celsius", "fahrenheit"]}


def test_api_versions_differ_but_do_not_matter(runs):
    versions = {name: runs[name].requests[0].api_version for name in (
        "legacy_genai_generate.py", "new_genai_generate.py", "legacy_vertex_generate.py", "new_vertex_generate.py")}
    assert versions == {"legacy_genai_generate.py": "v1beta", "new_genai_generate.py": "v1beta",
                        "legacy_vertex_generate.py": "v1", "new_vertex_generate.py": "v1beta1"}


# ---------------------------------------------------------------------------------------------
# Negative cases: the oracle catches real differences


@pytest.mark.parametrize("key,expected", [
    ("temperature", ['-      "temperature": 0.2', '+      "temperature": 0.3']),
    ("no_system_instruction", ['-    "systemInstruction": {']),
    ("vertex_threshold", ['-        "threshold": "BLOCK_LOW_AND_ABOVE"', '+        "threshold": "BLOCK_ONLY_HIGH"']),
])
def test_real_differences_are_detected(runs, key, expected):
    pair, _ = NEGATIVES[key]
    before, after = runs[PAIRS[pair][0]], runs[f"neg:{key}"]
    after.check()
    with pytest.raises(AssertionError) as info:
        assert_wire_equivalent(before.requests, after.requests, TARGET)
    message = str(info.value)
    for line in expected:
        assert line in message, message


def test_wrong_target_model_is_detected(runs):
    before, after = runs["legacy_genai_generate.py"], runs["new_genai_generate.py"]
    with pytest.raises(AssertionError, match="uses model 'gemini-2.5-flash-lite', expected 'gemini-2.0-flash-lite'"):
        assert_wire_equivalent(before.requests, after.requests, "gemini-2.0-flash-lite")
    assert_wire_equivalent(before.requests, after.requests, "models/" + TARGET)  # prefix tolerated


def test_missing_request_and_stdout_difference_are_detected(runs):
    before, after = runs["legacy_genai_chat.py"], runs["new_genai_chat.py"]
    with pytest.raises(AssertionError, match="request count differs: 2 before, 1 after"):
        assert_wire_equivalent(before.requests, after.requests[:1], TARGET)
    changed = copy.copy(after)
    changed.stdout = after.stdout.replace("6", "4")
    with pytest.raises(AssertionError, match="stdout differs"):
        assert_migration_equivalent(before, changed, TARGET)


def test_legacy_count_tokens_with_system_instruction_is_not_equivalent(runs):
    """Legacy ``model.count_tokens`` sends the model's system instruction (and tools, generation
    config) inside ``generateContentRequest``; google-genai cannot on the Developer API. The
    oracle reports it rather than hiding it."""
    legacy = runs["legacy_genai_count_tokens.py"].requests[0]
    new = runs["new_genai_count_tokens.py"].requests[0]
    with_system = copy.deepcopy(legacy)
    with_system.body["generateContentRequest"]["systemInstruction"] = {"parts": [{"text": "Be nice."}]}
    with_system.body["generateContentRequest"]["generationConfig"] = {"temperature": 0.5}
    diff = wire_diff(with_system, new)
    assert '"systemInstruction"' in diff and "temperature" not in diff


# ---------------------------------------------------------------------------------------------
# Faults as the SDKs see them (documents behaviour the migration changes)


def test_fault_semantics_through_both_sdks(runs):
    legacy, new = runs["legacy_genai_errors.py"].check(), runs["new_genai_errors.py"].check()
    # legacy GAPIC retries 503 by itself (the script's 503 is absorbed), then fails on 429; a
    # blocked prompt makes `.text` raise ValueError.
    assert legacy.stdout.splitlines() == ["TooManyRequests 429", "ValueError None", "ok 'echo: Summarise the quarterly report. [" + legacy.stdout.split("[")[1].split("]")[0] + "]'"]
    assert [r.status for r in legacy.requests] == [503, 429, 200, 200]
    # google-genai does not retry; a blocked prompt gives `.text is None`.
    assert new.stdout.splitlines() == ["ServerError 503", "ClientError 429", "ok None"]
    assert [r.status for r in new.requests] == [503, 429, 200]


# ---------------------------------------------------------------------------------------------
# canonical_request unit tests (no subprocess)


def rec(body: dict, *, api: str = "developer", verb: str = "generateContent", model: str = "m",
        project: str | None = None, location: str | None = None) -> RecordedRequest:
    return RecordedRequest("POST", "/x", {}, {}, body, b"", model=model, api=api, verb=verb,
                           project=project, location=location)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_enum_tables_match_installed_protos():
    from google.ai.generativelanguage_v1beta import types as dev
    from google.cloud.aiplatform_v1beta1.types import content as vx_content
    from google.cloud.aiplatform_v1beta1.types import openapi as vx_openapi
    from google.cloud.aiplatform_v1beta1.types import tool as vx_tool

    def table(enum):
        return {m.value: m.name for m in enum}

    assert DEV_HARM_CATEGORY == table(dev.HarmCategory)
    assert VERTEX_HARM_CATEGORY == table(vx_content.HarmCategory)
    assert HARM_BLOCK_THRESHOLD == table(dev.SafetySetting.HarmBlockThreshold) == table(vx_content.SafetySetting.HarmBlockThreshold)
    assert HARM_BLOCK_METHOD == table(vx_content.SafetySetting.HarmBlockMethod)
    assert SCHEMA_TYPE == table(dev.Type) == table(vx_openapi.Type)
    assert table(dev.FunctionCallingConfig.Mode).items() <= FUNCTION_CALLING_MODE.items()
    assert table(vx_tool.FunctionCallingConfig.Mode).items() <= FUNCTION_CALLING_MODE.items()


def test_canonical_normalises_exactly_the_serialisation_differences():
    legacy = rec({
        "contents": [{"parts": [{"text": "hi"}, {"inlineData": {"mimeType": "image/png", "data": "AA"}}]}],
        "systemInstruction": {"parts": [{"text": "sys"}]},
        "generationConfig": {"temperature": 0.2, "topK": 40.0, "seed": 123456789},
        "safetySettings": [{"category": 7, "threshold": 3}],
        "toolConfig": {"functionCallingConfig": {"mode": 2, "allowedFunctionNames": ["f"]}},
        "tools": [{"functionDeclarations": [{"name": "f", "parameters": {
            "type": 6, "properties": {"b": {"type": 1}, "a": {"type": 3}}, "propertyOrdering": ["b", "a"]}}]}],
    }, model="gemini-1.5-pro")
    new = rec({
        "contents": [{"role": "user", "parts": [{"text": "hi"}, {"inline_data": {"mime_type": "image/png", "data": "AA"}}]}],
        "systemInstruction": {"role": "user", "parts": [{"text": "sys"}]},
        "generationConfig": {"temperature": 0.2, "topK": 40, "seed": 123456789},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowed_function_names": ["f"]}},
        "tools": [{"functionDeclarations": [{"name": "f", "parameters": {
            "type": "OBJECT", "properties": {"b": {"type": "STRING"}, "a": {"type": "INTEGER"}}}}]}],
    }, model=TARGET)
    assert wire_diff(legacy, new) == ""
    c = canonical_request(new)
    assert c["model"] == TARGET and c["verb"] == "generateContent" and c["api"] == "developer"


def test_vertex_categories_use_vertex_numbering():
    legacy = rec({"contents": [], "safetySettings": [{"category": 1, "threshold": 4, "method": 2}]}, api="vertex")
    assert canonical_request(legacy)["body"]["safetySettings"] == [
        {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE", "method": "PROBABILITY"}]
    as_dev = rec({"contents": [], "safetySettings": [{"category": 1, "threshold": 4}]})
    assert canonical_request(as_dev)["body"]["safetySettings"][0]["category"] == "HARM_CATEGORY_DEROGATORY"


@pytest.mark.parametrize("change", [
    lambda b: b["generationConfig"].update(topK=41),
    lambda b: b["generationConfig"].update(seed=123456790),  # ints are not rounded
    lambda b: b["generationConfig"].update(temperature=0.2001),
    lambda b: b["generationConfig"].pop("stopSequences"),
    lambda b: b["safetySettings"].reverse(),  # order kept
    lambda b: b["contents"].insert(0, {"role": "user", "parts": [{"text": "extra turn"}]}),
    lambda b: b["contents"][0].update(role="model"),
    lambda b: b["contents"][0]["parts"][0].update(text="hi "),
    lambda b: b.update(tools=[{"googleSearch": {}}]),
    lambda b: b.update(cachedContent="cachedContents/1"),
])
def test_canonical_keeps_real_differences(change):
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "generationConfig": {"temperature": 0.2, "topK": 40, "seed": 123456789, "stopSequences": ["x"]},
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"},
                               {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]}
    changed = copy.deepcopy(body)
    change(changed)
    assert wire_diff(rec(body), rec(changed)) != ""


def test_endpoint_differences_are_real_differences():
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    base = rec(body, api="vertex", project="p", location="us-central1")
    assert wire_diff(base, rec(body, api="vertex", project="p", location="us-central1", model="other")) == ""
    assert wire_diff(base, rec(body, api="vertex", project="q", location="us-central1")) != ""
    assert wire_diff(base, rec(body, api="vertex", project="p", location="europe-west4")) != ""
    assert wire_diff(base, rec(body)) != ""  # Vertex -> Developer API
    assert wire_diff(base, rec(body, api="vertex", project="p", location="us-central1",
                               verb="streamGenerateContent")) != ""


def test_property_ordering_kept_where_it_changes_output():
    schema = {"type": 6, "properties": {"b": {"type": 1}, "a": {"type": 1}}, "propertyOrdering": ["b", "a"]}
    legacy = rec({"contents": [], "generationConfig": {"responseSchema": schema}}, api="vertex")
    new = rec({"contents": [], "generationConfig": {"responseSchema": {
        "type": "OBJECT", "properties": {"b": {"type": "STRING"}, "a": {"type": "STRING"}}}}}, api="vertex")
    assert "propertyOrdering" in wire_diff(legacy, new)
    single = {"type": 6, "properties": {"x": {"type": 3}}, "propertyOrdering": ["x"]}
    legacy1 = rec({"contents": [], "generationConfig": {"responseSchema": single}}, api="vertex")
    new1 = rec({"contents": [], "generationConfig": {"responseSchema": {"type": "OBJECT", "properties": {"x": {"type": "INTEGER"}}}}}, api="vertex")
    assert wire_diff(legacy1, new1) == ""


def test_function_args_are_user_data():
    a = rec({"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"some_key": 1}}}]}]})
    b = rec({"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"someKey": 1}}}]}]})
    assert wire_diff(a, b) != ""


# ---------------------------------------------------------------------------------------------
# The harness itself


def test_run_program_source_env_scrub_and_lazy_shim(monkeypatch):
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent.json")
    src = ("import os, sys\n"
           "print(os.environ.get('GOOGLE_GENAI_USE_VERTEXAI'), os.environ.get('GOOGLE_APPLICATION_CREDENTIALS'))\n"
           "print('GOOGLE_VERTEX_BASE_URL' in os.environ)\n"
           "print(any(m.startswith(('google.auth', 'google.genai', 'google.generativeai')) for m in sys.modules))\n"
           "import urllib.request\n"
           "try:\n    urllib.request.urlopen('https://generativelanguage.googleapis.com/')\n"
           "except Exception as e:\n    print('blocked' if 'blocked in tests' in str(e) else repr(e))\n")
    run = run_program(src).check()
    assert run.stdout.splitlines() == ["None None", "False", "False", "blocked"]
    assert run.requests == []


def test_run_program_timeout():
    run = run_program("import time\ntime.sleep(30)\n", timeout=0.5)
    assert run.timed_out and run.returncode == -9 and "killed after" in run.stderr
    with pytest.raises(AssertionError, match="timeout"):
        run.check()


def test_run_program_reuses_a_server_and_keeps_its_configuration():
    src = ("from google import genai\n"
           "client = genai.Client()\n"
           "print(client.models.generate_content(model='gemini-2.5-flash-lite', contents='x').text)\n")
    with FakeGemini() as srv:
        srv.set_reply(TARGET, "configured")
        first = run_program(src, srv).check()
        second = run_program(src, srv).check()
    assert first.stdout == second.stdout == "configured\n"
    assert len(first.requests) == len(second.requests) == 1  # requests are per run
    assert re.fullmatch(r"/v1(beta)?/models/gemini-2.5-flash-lite:generateContent", second.requests[0].path)


UPLOAD_LEGACY = """import pathlib, tempfile
import google.generativeai as genai
p = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
p.write_text("hello")
f = genai.upload_file(p)
print(genai.get_file(f.name).display_name)
genai.delete_file(f.name)
"""
UPLOAD_NEW = """import pathlib, tempfile
from google import genai
client = genai.Client()
p = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
p.write_text("hello")
f = client.files.upload(file=p, config=CONFIG)
print(client.files.get(name=f.name).display_name)
client.files.delete(name=f.name)
"""


def test_file_uploads_compare_by_metadata_and_bytes_across_sdks():
    """The legacy discovery fetch and read-back are the SDK's own; a lost display name or other bytes are not."""
    legacy, same, unnamed, other_bytes = run_programs([
        UPLOAD_LEGACY,
        UPLOAD_NEW.replace("CONFIG", '{"display_name": "notes.txt"}'),
        UPLOAD_NEW.replace("CONFIG", "None"),
        UPLOAD_NEW.replace("CONFIG", '{"display_name": "notes.txt"}').replace('"hello"', '"hullo"'),
    ])
    assert [r.verb for r in legacy.check().requests][:5] == ["files.discovery", "files.upload", "files.upload.data", "files.get", "files.get"]
    assert_migration_equivalent(legacy, same, target_model=None)
    with pytest.raises(AssertionError, match="displayName"):
        assert_wire_equivalent(legacy.requests, unnamed.requests, None)
    with pytest.raises(AssertionError, match="sha256"):
        assert_wire_equivalent(legacy.requests, other_bytes.requests, None)
