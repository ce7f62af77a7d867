"""The Files API and model-listing port on the source text (the wire proof is test_port_wire.py)."""

import json

from migrate.codemod.engine import migrate_source
from migrate.settings import Settings
from tests.codemod.fixture_pairs import AS_OF

HEAD = "import google.generativeai as genai\n"


def port(body: str) -> tuple[str, list]:
    source = (HEAD + body).encode()
    result = migrate_source(source, Settings(as_of=AS_OF))
    assert result.status in ("changed", "unchanged"), result.reason
    return (result.new_bytes or source).decode(), result.findings


def blocked(body: str) -> list[str]:
    """The port's TODO reasons when the module stays legacy (asserted)."""
    out, findings = port(body)
    assert "import google.generativeai as genai" in out and "client." not in out, out
    return [f.message for f in findings if f.tier == "manual"]


def test_a_literal_path_keeps_the_display_name_the_legacy_sdk_took_from_it():
    out, _ = port('f = genai.upload_file("data/notes.txt", resumable=True)\nprint(f.uri)\n')
    assert 'client.files.upload(file="data/notes.txt", config={"display_name": "notes.txt"})' in out
    out, _ = port('import pathlib\nmedia = pathlib.Path("m")\nf = genai.upload_file(media / "organ.jpg")\n')
    assert 'client.files.upload(file=media / "organ.jpg", config={"display_name": "organ.jpg"})' in out


def test_a_path_in_a_variable_gets_its_basename_and_an_explicit_display_name_wins():
    out, _ = port('import sys\np = sys.argv[1]\nf = genai.upload_file(p)\ng = genai.upload_file(p, display_name="B")\n')
    assert 'client.files.upload(file=p, config={"display_name": os.path.basename(p)})' in out
    assert 'client.files.upload(file=p, config={"display_name": "B"})' in out and "import os" in out
    out, _ = port('p = "a/b.png"\nf = genai.upload_file(p)\n')
    assert 'client.files.upload(file=p, config={"display_name": "b.png"})' in out


def test_an_open_file_gets_no_display_name_as_before():
    out, _ = port('with open("a.pdf", "rb") as fh:\n    f = genai.upload_file(fh, mime_type="application/pdf")\n')
    assert 'client.files.upload(file=fh, config={"mime_type": "application/pdf"})' in out


def test_a_value_that_may_be_an_open_file_or_a_path_is_a_blocker():
    reasons = blocked('def up(x):\n    return genai.upload_file(x, mime_type="image/png").uri\n')
    assert any("may be a path or an open file" in r for r in reasons)


def test_resumable_false_has_no_counterpart():
    reasons = blocked('genai.upload_file("a.png", resumable=False)\n')
    assert reasons == ["genai.upload_file(resumable=False) has no google-genai counterpart"]


def test_delete_file_of_a_file_passes_its_name_and_of_an_unknown_value_is_a_blocker():
    out, _ = port('f = genai.upload_file("a.png")\ngenai.delete_file(f)\nf2 = genai.get_file("files/x")\nf2.delete()\n')
    assert "client.files.delete(name=f.name)" in out and "client.files.delete(name=f2.name)" in out
    assert any("may be a File or a name" in r for r in blocked("def drop(x):\n    genai.delete_file(x)\n"))


def test_supported_generation_methods_is_renamed_only_where_it_is_a_listed_model():
    out, _ = port('for m in genai.list_models():\n    print(m.supported_generation_methods)\n')
    assert "for m in client.models.list():\n    print(m.supported_actions)" in out
    mixed = 'import os\nm = genai.get_model("models/x")\nif os.environ.get("A"):\n    m = object()\nprint(m.supported_generation_methods)\n'
    assert any("may hold another object" in r for r in blocked(mixed))


def test_uses_without_a_google_genai_counterpart_keep_the_module_legacy():
    assert blocked('f = genai.get_file("files/x")\nprint(f.sha256_hash)\n') == ["File.sha256_hash has no google-genai counterpart with the same value"]
    assert any("(printed)" in r for r in blocked('print(genai.get_model("models/x"))\n'))
    assert any("iterated directly" in r for r in blocked("models = list(genai.list_models())\n"))
    assert any("tuned model" in r for r in blocked('genai.get_model("tunedModels/t").display_name\n'))


def test_state_compared_with_a_number_is_a_blocker_and_with_the_enum_is_ported():
    out, _ = port('f = genai.get_file("files/x")\nprint(f.state == genai.protos.File.State.ACTIVE)\n')
    assert "f.state == types.FileState.ACTIVE" in out
    assert blocked('f = genai.get_file("files/x")\nprint(f.state == 2)\n') == ["File.state has no google-genai counterpart with the same value"]


def test_a_listing_before_configure_is_a_blocker():
    reasons = blocked('print([m.name for m in genai.list_models()])\ngenai.configure(api_key="k")\n')
    assert any("before genai.configure" in r for r in reasons)


def test_a_notebook_uploading_polling_and_listing_across_cells_is_ported(tmp_path):
    from migrate.codemod import plan
    from migrate.codemod.run import run

    cells = ['import time\nimport google.generativeai as genai\ngenai.configure(api_key="k")',
             'video = genai.upload_file(path="clip.mp4")',
             'while video.state.name == "PROCESSING":\n    time.sleep(5)\n    video = genai.get_file(video.name)',
             'model = genai.GenerativeModel("gemini-1.5-pro")\nprint(model.generate_content([video, "Describe"]).text)',
             'for m in genai.list_models():\n    if "generateContent" in m.supported_generation_methods:\n        print(m.name)']
    notebook = {"cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": c} for c in cells],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "nb.ipynb").write_text(json.dumps(notebook))
    (result,) = run([tmp_path], Settings(as_of=AS_OF)).results
    assert result.port == plan.PORTED
    out = [c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in json.loads(result.new_bytes)["cells"]]
    assert 'client.files.upload(file="clip.mp4", config={"display_name": "clip.mp4"})' in out[1]
    assert "video = client.files.get(name=video.name)" in out[2] and "[video, \"Describe\"]" in out[3]
    assert "client.models.list()" in out[4] and "m.supported_actions" in out[4]
