"""Port behaviours that are about the source text rather than the wire (the wire suite is test_port_wire.py)."""

from migrate.codemod.engine import migrate_source
from migrate.settings import Settings
from tests.codemod.fixture_pairs import AS_OF
from migrate.catalog import bundled_catalog

DEFAULT_TARGET = bundled_catalog().default_target  # what `fix` moves Pro calls to without --target

LEGACY = b'import google.generativeai as genai\nmodel = genai.GenerativeModel("gemini-1.5-pro")\nprint(model.generate_content("x").text)\n'


def port(source: bytes, **settings) -> str:
    result = migrate_source(source, Settings(as_of=AS_OF, **settings))
    assert result.status in ("changed", "unchanged"), result.reason
    return (result.new_bytes or source).decode()


def test_with_the_port_switched_off_legacy_code_still_gets_the_model_swap():
    out = port(LEGACY.replace(b"model = ", b"model = genai.GenerativeModel('x')\nmodel = "), ignore=("FLM2",))
    assert "import google.generativeai as genai" in out
    assert out.count(f'"{DEFAULT_TARGET}"') == 1 and "GenerateContentConfig" not in out


def test_new_imports_never_take_a_name_the_module_already_uses():
    out = port(b"import types\n" + LEGACY + b"print(types.SimpleNamespace)\n")
    assert "from google.genai import types as genai_types" in out
    assert "genai_types.HttpOptions(" in out and "types.GenerateContentConfig" not in out
    assert "import types\n" in out and "print(types.SimpleNamespace)" in out


def test_a_stale_todo_is_removed_once_the_site_is_ported():
    stale = b"# TODO(flm FLM224): configuration arguments without a google-genai equivalent\n"
    source = LEGACY.replace(b"model = ", stale + b"model = ")
    out = port(source)
    assert "TODO(flm" not in out and "client.models.generate_content" in out


def test_an_unportable_model_keeps_its_code_and_gets_one_stable_todo():
    """Left on the legacy SDK with one TODO; the model swap (a separate, safe rule) still applies."""
    source = b"import google.generativeai as genai\nimport helpers\nmodel = genai.GenerativeModel('gemini-1.5-pro')\nhelpers.use(model)\n"
    first = port(source)
    assert first.count("# TODO(flm FLM220)") == 1
    without_todo = first.replace(first.splitlines(keepends=True)[2], "")
    assert without_todo == source.decode().replace("gemini-1.5-pro", DEFAULT_TARGET)
    assert port(first.encode()) == first


STREAMED_CHAT = b"""import google.generativeai as genai
model = genai.GenerativeModel("gemini-1.5-pro")
chat = model.start_chat()
for chunk in chat.send_message("a", stream=True):
    print(chunk.text)
print(chat.send_message("b").text)
"""


def test_a_streamed_chat_is_left_for_a_person_unless_unsafe():
    safe = migrate_source(STREAMED_CHAT, Settings(as_of=AS_OF))
    assert "TODO(flm FLM224)" in safe.new_bytes.decode() and "start_chat" in safe.new_bytes.decode()
    unsafe = migrate_source(STREAMED_CHAT, Settings(as_of=AS_OF, unsafe=True))
    out = unsafe.new_bytes.decode()
    assert "chat.send_message_stream('a')" in out.replace('"', "'") and "client.chats.create(" in out
    assert [f.tier for f in unsafe.findings if f.rule == "FLM212"] == ["unsafe"]


def test_count_tokens_that_would_lose_the_system_instruction_needs_unsafe():
    source = b'import google.generativeai as genai\nm = genai.GenerativeModel("gemini-1.5-pro", system_instruction="s")\nprint(m.count_tokens("x"))\n'
    assert "TODO(flm FLM224)" in port(source)
    unsafe = migrate_source(source, Settings(as_of=AS_OF, unsafe=True))
    assert "client.models.count_tokens(" in unsafe.new_bytes.decode()
    assert [f.message for f in unsafe.findings if f.rule == "FLM210"] == [
        "count_tokens on the Developer API counts contents only; the legacy call also counted system_instruction"
    ]


def test_except_value_error_around_a_ported_call_is_reported():
    source = LEGACY.replace(b'print(model.generate_content("x").text)\n', b'try:\n    print(model.generate_content("x").text)\nexcept ValueError:\n    print("blocked")\n')
    result = migrate_source(source, Settings(as_of=AS_OF))
    assert [f.rule for f in result.findings if f.rule == "FLM211"] == ["FLM211"]


def test_blank_lines_above_a_removed_import_stay_where_they_were_when_the_new_imports_go_higher():
    """Found by bench/fuzz_bench.py: the new client goes below the first imports, so the new imports go
    there too; the blank line that separated the legacy import from the code above it stays."""
    out = port(b"import os\ndef f():\n    return os.sep\n\n" + LEGACY)
    assert "def f():\n    return os.sep\n\n" in out, out
    source = b'import sys\nfor name in ("a",):\n    pass\n\n# the SDK\nimport google.generativeai as genai\n\n\ndef ask(q):\n    return genai.GenerativeModel("gemini-1.5-pro").generate_content(q).text\n'
    assert "    pass\n\n# the SDK\n" in port(source)  # the import's comment moved down keeps the blank line above it
