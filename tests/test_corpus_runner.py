"""bench/corpus.py: every legacy file of a synthetic corpus lands in its class.

The runner is driven end to end (a subprocess, as the lead runs it) with a stand-in `migrate` package
first on PYTHONPATH: it writes the outputs and the JSON report a test scripts, so each class is pinned
independently of what today's port does. One smoke test runs the real tool.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUNNER = REPO / "bench" / "corpus.py"
sys.path.insert(0, str(REPO / "bench"))
import corpus as runner  # noqa: E402
import corpus_classify as cc  # noqa: E402

FAKE_FLM = '''
import json, os, sys, pathlib
args = sys.argv[1:]
spec = json.loads(pathlib.Path(os.environ["FAKE_FLM_SPEC"]).read_text())
for rel, text in spec["rewrite"].items():
    pathlib.Path(rel).write_text(text)
report = {"findings": spec["findings"], "skipped": spec["skipped"], "summary": {}}
pathlib.Path(args[args.index("-o") + 1]).write_text(json.dumps(report))
'''

GENERATE = 'import google.generativeai as genai\nmodel = genai.GenerativeModel("gemini-1.5-pro")\nprint(model.generate_content("hi").text)\n'
PORTED = ('from google import genai\nclient = genai.Client()\n'
          'print(client.models.generate_content(model="gemini-2.5-flash-lite", contents="hi").text)\n')
UPLOAD = 'import google.generativeai as genai\nf = genai.upload_file("a.png")\n'


def notebook(*cells: str) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                                  "source": c.splitlines(keepends=True)} for c in cells]})


NB_CELLS = ('%pip install -q -U google-generativeai\n', '!ls\nimport google.generativeai as genai\n',
            'genai.GenerativeModel?\n', '%%bash\necho "genai.configure()"\n',
            'model = genai.GenerativeModel("gemini-1.5-pro")\nr = model.generate_content("Why?")\n')
NB_PORTED = ('%pip install -q -U google-generativeai\n', '!ls\nfrom google import genai\nclient = genai.Client()\n',
             'client.models.generate_content?\n', '%%bash\necho "genai.configure()"\n',
             'r = client.models.generate_content(model="gemini-2.5-flash-lite", contents="Why?")\n')

# file -> (original, output or None for unchanged, findings, skip status/reason or None, expected class)
CASES = {
    "full.py": (GENERATE, PORTED, [], None, "fully_ported"),
    "todo_marker.py": (UPLOAD, UPLOAD.replace("f =", "# TODO(flm FLM225): upload_file has no port\nf ="), [], None, "todo"),
    "todo_finding.py": (UPLOAD, None, [{"rule": "FLM225", "line": 2, "message": "upload_file has no port", "applied": False}], None, "todo"),
    "half.py": (GENERATE, GENERATE + "from google import genai as g2\nclient = g2.Client()\n", [], None, "half_ported"),
    "untouched.py": (UPLOAD, None, [{"rule": "FLM105", "line": 1, "message": "a report", "applied": False}], None, "untouched"),
    "swap_only.py": (GENERATE, GENERATE.replace("1.5-pro", "2.5-flash-lite"), [], None, "untouched"),
    "undefined.py": (GENERATE, PORTED.replace("from google import genai\n", ""), [], None, "broken"),
    "no_such_type.py": (GENERATE, PORTED.replace("client = genai.Client()", "client = genai.Client()\nc = genai.types.GenerateContentConfigX()"), [], None, "broken"),
    "no_parse.py": (GENERATE, "def (:\n", [], None, "broken"),
    "consumer.py": ("from vertexai.generative_models import GenerationConfig\nfrom vertexai.preview.prompts import Prompt\n"
                    "Prompt(generation_config=GenerationConfig())\n",
                    "from google.genai import types\nfrom vertexai.preview.prompts import Prompt\n"
                    "Prompt(generation_config=types.GenerateContentConfig())\n", [], None, "half_ported"),
    "no_such_method.py": ("from vertexai.generative_models import Tool\nt = Tool(function_declarations=[])\nprint(t.to_dict())\n",
                          "from google.genai import types\nt = types.Tool(function_declarations=[])\nprint(t.to_dict())\n", [], None, "broken"),
    "refused.py": (GENERATE, None, [], ("error", "verify refused: new undefined name types"), "broken"),
    "refused_finding.py": (GENERATE, None, [{"rule": "FLM999", "line": 1, "message": "could not port safely", "applied": False}], None, "broken"),
    "local_import.py": ("def main():\n    import vertexai\n    vertexai.init(project='p')\n", None, [], None, "untouched"),
    "type_checking.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from vertexai.generative_models import GenerationResponse\n"
                         "def f(r: 'GenerationResponse'): ...\n", None, [], None, "untouched"),
    "pkg/deep/from_google.py": ("from google import generativeai\nprint(generativeai.list_models())\n", None, [], None, "untouched"),
    "nb_full.ipynb": (notebook(*NB_CELLS), notebook(*NB_PORTED), [], None, "fully_ported"),
    "nb_half.ipynb": (notebook(*NB_CELLS), notebook(*NB_CELLS, "from google import genai\nclient = genai.Client()\n"), [], None, "half_ported"),
}
NOT_LEGACY = {"plain.py": "from google import genai\nprint(genai.Client())\n",
              "prompts_only.py": "from vertexai.preview.prompts import Prompt\nPrompt()\n",
              ".venv/lib/site.py": GENERATE,  # a checkout's virtualenv is not the corpus
              "nb_plain.ipynb": notebook("%pip install google-genai\n", "import os\n")}


def run_runner(corpus: Path, tmp: Path, env_extra: dict, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | env_extra
    return subprocess.run([sys.executable, str(RUNNER), str(corpus), "--json", str(tmp / "out.json"), *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    """One runner run over the scripted corpus, shared by the tests that read its report."""
    tmp_path = tmp_path_factory.mktemp("scripted")
    corpus = tmp_path / "corpus"
    for rel, text in {**{k: v[0] for k, v in CASES.items()}, **NOT_LEGACY}.items():
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        (corpus / rel).write_text(text)
    fake = tmp_path / "fake" / "migrate"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text(FAKE_FLM)
    (fake.parent / "rules").mkdir()
    (fake.parent / "rules" / "rules.yaml").write_text("rules:\n  - {id: FLM999, name: port-refused}\n  - {id: FLM225, name: no-port}\n")
    spec = {"rewrite": {rel: c[1] for rel, c in CASES.items() if c[1] is not None},
            "findings": [{"file": rel, **f} for rel, c in CASES.items() for f in c[2]],
            "skipped": [{"file": rel, "status": c[3][0], "reason": c[3][1]} for rel, c in CASES.items() if c[3]]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    before = {p: p.read_bytes() for p in corpus.rglob("*") if p.is_file()}
    proc = run_runner(corpus, tmp_path, {"PYTHONPATH": str(fake.parent), "FAKE_FLM_SPEC": str(tmp_path / "spec.json")},
                      "--keep", str(tmp_path / "kept"))
    assert proc.returncode == 0, proc.stderr
    assert {p: p.read_bytes() for p in corpus.rglob("*") if p.is_file()} == before, "the corpus was modified"
    report = json.loads((tmp_path / "out.json").read_text())
    return proc.stdout, {r["file"]: r for r in report["files"]}, tmp_path


def test_each_file_lands_in_its_class(scripted):
    _, files, _ = scripted
    assert {f: r["class"] for f, r in files.items()} == {f: c[4] for f, c in CASES.items()}


def test_reasons_name_what_went_wrong(scripted):
    _, files, tmp = scripted
    assert files["undefined.py"]["new_undefined"] == ["genai"]
    assert files["no_such_type.py"]["missing_genai"] == ["google.genai.types.GenerateContentConfigX"]
    assert "does not parse" in files["no_parse.py"]["why"]
    assert files["no_such_method.py"]["missing_genai"] == ["google.genai.types.Tool.to_dict"]
    assert "vertexai.generative_models.Tool.to_dict" in files["no_such_method.py"]["legacy_before"]
    assert files["refused.py"]["refused"] is True and files["refused.py"]["flm"].startswith("error: verify refused")
    assert "FLM999: could not port safely" in files["refused_finding.py"]["why"] and files["refused_finding.py"]["refused"]
    assert files["todo_marker.py"]["todos"] == ["FLM225: upload_file has no port"]
    assert files["half.py"]["genai_added"] == ["google.genai", "google.genai.Client"]
    assert files["local_import.py"]["legacy_after"] == ["vertexai.init"]
    assert files["consumer.py"]["legacy_consumers"] == ["vertexai.preview.prompts", "vertexai.preview.prompts.Prompt"]
    assert files["type_checking.py"]["legacy_after"] == ["vertexai.generative_models", "vertexai.generative_models.GenerationResponse"]
    assert files["swap_only.py"]["why"].startswith("changed, but") and "why" not in files["untouched.py"]
    # the notebook's %pip line is left; the `?` help line and the %%bash cell are not code
    assert files["nb_full.ipynb"]["pip_legacy_left"] == ["%pip install -q -U google-generativeai"]
    assert (tmp / "kept" / "full.py").read_text() == PORTED


def test_table_blockers_and_apis_are_printed(scripted):
    stdout, _, _ = scripted
    assert "|    py |    16 |            1 |    2 |           2 |         5 |      6 |       2 |" in stdout
    assert "| ipynb |     2 |            1 |    0 |           1 |         0 |      0 |       0 |" in stdout
    assert "- 2 files, 2 sites: FLM225: upload_file has no port" in stdout
    assert "`google.generativeai.upload_file`" in stdout and "`vertexai.init`" in stdout


def test_notebook_magics_are_blanked_not_parsed():
    code, pip = cc.notebook_source(notebook(*NB_CELLS).encode())
    assert "echo" not in code and "?" not in code.replace('"Why?"', "") and "%pip" not in code
    assert pip == ["%pip install -q -U google-generativeai"]
    cc.parse(code)
    indented = cc.notebook_source(notebook("if True:\n    !pip install x \\\n      y\nx = !ls\n%time f()\n").encode())[0]
    assert cc.parse(indented) and "pip" not in indented and "ls" not in indented
    # inside brackets or a string, `%` and `?` lines are Python, not magics
    python = 'x = (\n    "%s"\n    % (1,)\n)\nprompt = """\nwhat?\n!not a shell line\n"""\nhelp?\n'
    kept = cc.notebook_source(notebook(python).encode())[0]
    assert kept == python.replace("help?", "") + "\n"


def test_genai_names_checked_against_the_installed_sdk():
    missing = runner.missing_genai_names({"google.genai.types.HarmCategory.HARM_CATEGORY_HARASSMENT", "google.genai.types.Part.text",
                                          "google.genai.Client.models.generate_content", "google.genai.types.Part.from_text.whatever",
                                          "google.genai.types.Tool.model_dump", "google.genai.types.Tool.to_dict",
                                          "google.genai.errors.APIError", "google.genai.types.HarmCategory.NOPE", "google.genai.nope"})
    assert missing == {"google.genai.types.HarmCategory.NOPE", "google.genai.nope", "google.genai.types.Tool.to_dict"}


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    proc = run_runner(tmp_path / "nope", tmp_path, {})
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "not a folder" in proc.stderr
    (tmp_path / "c").mkdir()
    proc = run_runner(tmp_path / "c", tmp_path, {}, "--keep", str(tmp_path / "c" / "k"))
    assert proc.returncode == 2 and "outside the corpus" in proc.stderr


def test_real_tool_smoke(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "gen.py").write_text(GENERATE)
    (corpus / "plain.py").write_text("print(1)\n")
    proc = run_runner(corpus, tmp_path, {"PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    files = json.loads((tmp_path / "out.json").read_text())["files"]
    assert [r["file"] for r in files] == ["gen.py"] and files[0]["class"] in cc.CLASSES
    assert (corpus / "gen.py").read_text() == GENERATE


def test_wire_check_runs_ported_programs_against_the_fake_server(tmp_path):
    """--wire: original and output each run with the real SDKs against FakeGemini; differences are named."""
    original = GENERATE.replace("genai.GenerativeModel", 'genai.configure(api_key="k")\nmodel = genai.GenerativeModel', 1).replace("model = model", "model")
    ported = PORTED.replace("genai.Client()", 'genai.Client(api_key="k")')  # the key is compared on the wire too
    cases = {"same.py": ported, "hotter.py": ported.replace('contents="hi"', 'contents="hi", config={"temperature": 0.9}'),
             "crash.py": ported + "raise SystemExit('ported program failed')\n", "library.py": None}
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for rel in cases:
        (corpus / rel).write_text(original if rel != "library.py" else "import google.generativeai as genai\ndef f():\n    return genai\n")
    fake = tmp_path / "fake"
    (fake / "migrate").mkdir(parents=True)
    (fake / "migrate" / "__init__.py").write_text("")
    (fake / "migrate" / "__main__.py").write_text(FAKE_FLM)
    (fake / "tests").symlink_to(REPO / "tests")
    rewrite = {rel: text for rel, text in cases.items() if text}
    rewrite["library.py"] = "from google import genai\ndef f():\n    return genai\n"
    (corpus / "kept.py").write_text(original)  # left on the legacy SDK, model swapped: must still behave the same
    rewrite["kept.py"] = "# TODO(flm FLM225): blocked\n" + original.replace("gemini-1.5-pro", "gemini-2.5-flash-lite")
    (tmp_path / "spec.json").write_text(json.dumps({"rewrite": rewrite, "findings": [], "skipped": []}))
    proc = run_runner(corpus, tmp_path, {"PYTHONPATH": str(fake), "FAKE_FLM_SPEC": str(tmp_path / "spec.json")}, "--wire")
    assert proc.returncode == 0, proc.stderr
    files = {r["file"]: r for r in json.loads((tmp_path / "out.json").read_text())["files"]}
    assert {f: r["class"] for f, r in files.items()} == dict.fromkeys(cases, "fully_ported") | {"kept.py": "todo"}
    assert files["kept.py"]["wire"]["verdict"] == "equivalent", files["kept.py"]["wire"]
    assert files["same.py"]["wire"]["verdict"] == "equivalent", files["same.py"]["wire"]
    assert files["hotter.py"]["wire"]["verdict"] == "requests_differ" and "temperature" in files["hotter.py"]["wire"]["detail"]
    assert files["crash.py"]["wire"] | {"requests_after": 1} == {"verdict": "crashes_after", "detail": "ported program failed",
                                                              "requests_before": 1, "requests_after": 1}
    assert "wire" not in files["library.py"]
    assert "Wire check of changed standalone .py programs, by class" in proc.stdout
    assert "fully_ported equivalent 1" in proc.stdout and "fully_ported requests_differ 1" in proc.stdout
