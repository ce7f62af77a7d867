"""Notebooks, cell by cell: magics and shell lines kept, every byte outside the edited cells kept
(outputs, metadata, key order, indentation, escaping, the trailing newline), findings and diffs
name the cell. Proven on tutorial-style notebooks for google-generativeai, vertexai and google-genai."""

import json
import re
from pathlib import Path

import pytest

from migrate.codemod.kinds import migrate_file
from migrate.codemod.notebooks import cell_ranges, migrate_notebook, scan
from migrate.report.patch import file_diff
from migrate.settings import Settings
from tests.codemod.fixture_pairs import AS_OF
from migrate.catalog import bundled_catalog

DEFAULT_TARGET = bundled_catalog().default_target  # what `fix` moves Pro calls to without --target

NOTEBOOKS = Path(__file__).resolve().parents[2] / "fixtures" / "notebooks"
SETTINGS = Settings(as_of=AS_OF)


def load(name: str) -> bytes:
    return (NOTEBOOKS / name).read_bytes()


def cells_of(data: bytes) -> list[dict]:
    return json.loads(data)["cells"]


def outside_sources(data: bytes) -> str:
    """The notebook text with every cell's `source` value cut out: what must not change at all."""
    text = data.decode("utf-8")
    spans, _ = scan(text)
    out, last = [], 0
    for cell in spans:
        out.append(text[last : cell.source_start])
        last = cell.source_end
    return "".join(out) + text[last:]


@pytest.mark.parametrize("name", ["generativeai_quickstart.ipynb", "vertexai_tutorial.ipynb", "genai_client.ipynb"])
def test_bytes_outside_edited_cells_are_kept(name):
    before = load(name)
    result = migrate_notebook(before, SETTINGS, Path(name))
    assert result.changed, result.reason
    after = result.new_bytes
    assert outside_sources(after) == outside_sources(before)  # outputs, metadata, key order, indentation, EOF
    old_cells, new_cells = cells_of(before), cells_of(after)
    changed = [i for i, (a, b) in enumerate(zip(old_cells, new_cells)) if a["source"] != b["source"]]
    assert changed
    for i, (a, b) in enumerate(zip(old_cells, new_cells)):
        assert {k: v for k, v in a.items() if k != "source"} == {k: v for k, v in b.items() if k != "source"}
    text_before, text_after = before.decode(), after.decode()
    spans_before, _ = scan(text_before)
    spans_after, _ = scan(text_after)
    for i, (sb, sa) in enumerate(zip(spans_before, spans_after)):
        if i not in changed:  # an unedited cell's source is the same text, not just the same value
            assert text_before[sb.source_start : sb.source_end] == text_after[sa.source_start : sa.source_end]
    assert after.endswith(b"\n") == before.endswith(b"\n")
    again = migrate_notebook(after, SETTINGS, Path(name))
    assert not again.changed, "a second run changes nothing"


def test_generativeai_quickstart_is_ported_and_magics_survive():
    result = migrate_notebook(load("generativeai_quickstart.ipynb"), SETTINGS)
    cells = cells_of(result.new_bytes)
    sources = ["".join(c["source"]) for c in cells]
    assert sources[1] == "%pip install -q -U google-generativeai"
    assert sources[5] == "!pip list 2>/dev/null | grep google-generativeai"
    assert sources[7] == "genai.GenerativeModel?"
    assert "client = genai.Client(" in sources[2] and "from google import genai" in sources[2]
    assert "client.models.generate_content(" in sources[4] and f'"{DEFAULT_TARGET}"' in sources[4]
    assert cells[4]["outputs"] == cells_of(load("generativeai_quickstart.ipynb"))[4]["outputs"]
    assert "☕" in result.new_bytes.decode() and "\\u2615" not in result.new_bytes.decode()  # ensure_ascii=False kept


def test_vertexai_tutorial_keeps_its_style():
    before = load("vertexai_tutorial.ipynb")
    result = migrate_notebook(before, SETTINGS)
    after = result.new_bytes.decode()
    assert not after.endswith("\n") and after.isascii()  # no trailing newline; ensure_ascii=True kept
    cells = cells_of(result.new_bytes)
    assert cells[1]["source"] == ["%pip install --upgrade --user --quiet google-cloud-aiplatform"]
    assert isinstance(cells[4]["source"], str)  # a one-string source stays one string
    assert "".join(cells[6]["source"]).startswith("%%time\n")
    assert "r\\u00e9sum\\u00e9" in after  # non-ASCII in an edited cell escaped like the rest
    assert '      "source": [\n        "PROJECT_ID' in after  # indent=2 of this writer


def test_findings_name_the_cell():
    result = migrate_notebook(load("genai_client.ipynb"), SETTINGS)
    swap = next(f for f in result.findings if f.rule == "FLM001")
    assert (swap.cell, swap.line) == (2, 2)
    assert not [f for f in result.findings if f.cell == 3]  # the suppressed site in cell 3


def test_diff_names_the_cell_and_git_applies(tmp_path):
    import subprocess

    before = load("generativeai_quickstart.ipynb")
    result = migrate_notebook(before, SETTINGS, Path("nb.ipynb"))
    diff = file_diff(result, lambda p: p.as_posix())
    headers = [line for line in diff.decode().splitlines() if line.startswith("@@")]
    assert headers and all(h.split("@@")[-1].strip().startswith("cell ") for h in headers)
    assert any(h.endswith("cell 5") for h in headers)
    (tmp_path / "nb.ipynb").write_bytes(before)
    (tmp_path / "x.patch").write_bytes(diff)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "apply", "x.patch"], cwd=tmp_path, check=True)
    assert (tmp_path / "nb.ipynb").read_bytes() == result.new_bytes


def test_cell_ranges_cover_each_cell():
    data = load("genai_client.ipynb")
    ranges = cell_ranges(data)
    assert [number for _, _, number in ranges] == [1, 2, 3]
    lines = data.decode().splitlines()
    first, last, _ = ranges[1]
    assert '"response = client.models.generate_content(\\n"' in "\n".join(lines[first - 1 : last])


def test_cross_cell_names_resolve():
    """An import in one cell and the call in another: the virtual module sees both."""
    nb = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": ["import google.generativeai as genai"]},
            {"cell_type": "markdown", "metadata": {}, "source": ["Now call it"]},
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": ['m = genai.GenerativeModel("gemini-2.5-pro")']},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    data = json.dumps(nb, indent=1).encode()
    result = migrate_notebook(data, Settings(as_of=AS_OF, ignore=("FLM2",)))
    assert json.loads(result.new_bytes)["cells"][2]["source"] == [f'm = genai.GenerativeModel("{DEFAULT_TARGET}")']
    assert [(f.rule, f.cell, f.line) for f in result.findings if f.rule == "FLM001"] == [("FLM001", 3, 1)]


def test_non_python_and_broken_notebooks_are_skipped_with_a_reason():
    r_notebook = json.dumps({"cells": [], "metadata": {"kernelspec": {"language": "R"}}, "nbformat": 4, "nbformat_minor": 5}).encode()
    assert migrate_notebook(r_notebook + b" genai", SETTINGS).status == "skipped"
    assert "not a Python notebook" in migrate_notebook(r_notebook, SETTINGS).reason
    broken = migrate_file(Path("x.ipynb"), b'{"cells": [ "genai" ', SETTINGS)
    assert broken.status == "skipped" and broken.reason.startswith("not a notebook")


def test_syntax_error_names_cell_and_line():
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": ["import vertexai\n", "def f(:\n"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    result = migrate_notebook(json.dumps(nb).encode(), SETTINGS)
    assert result.status == "skipped" and "cell 1, line 2" in result.reason


def test_crlf_notebook_keeps_crlf():
    before = load("genai_client.ipynb").replace(b"\n", b"\r\n")
    result = migrate_notebook(before, SETTINGS)
    assert result.changed and result.new_bytes.count(b"\r\n") == before.count(b"\r\n")
    assert b"\n" not in result.new_bytes.replace(b"\r\n", b"")


def test_tokenizer_and_parser_errors_name_the_cell_and_line_not_the_concatenated_module():
    cell = lambda *lines: {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": list(lines)}  # noqa: E731
    nb = {"cells": [cell("import vertexai\n"), cell("x = 1\n", 'print("unterminated\n')], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert migrate_notebook(json.dumps(nb).encode(), SETTINGS).reason.startswith("syntax error at cell 2, line 2: tokenizer error")
    nb["cells"][1] = cell("x = 1\n", "y = (1,\n", "  2 3)\n")
    reason = migrate_notebook(json.dumps(nb).encode(), SETTINGS).reason
    assert reason.startswith("syntax error at cell 2, line 3: parser error: expected one of") and not re.search(r"error at \d+:\d+", reason)
