"""ipython_syntax classifies cell lines exactly as IPython's own input transformers do.

The oracle is IPython.core.inputtransformer2.TransformerManager (a test dependency only): for each
cell, the lines its output no longer contains verbatim are the lines it rewrote, and they must be
the lines `classify` reports. The cells are every IPython construct in every position that changes
its meaning (top level, inside a block, inside a string, inside brackets, after a continuation).
"""

import difflib
import json
import re
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from migrate.codemod.ipython_syntax import classify
from migrate.codemod.notebooks import migrate_notebook
from migrate.settings import Settings
from tests.codemod.fixture_pairs import AS_OF

IPYTHON = TransformerManager()

CONTEXTS = [
    "{}\n",
    "x = 1\n{}\ny = 2\n",
    "if x:\n    {}\n    y = 1\n",
    "def f():\n    for i in r:\n        {}\n    return 1\n",
    's = """\n{}\n"""\n',
    "s = '''before\n{}'''\n",
    "x = (\n{}\n)\n",
    "x = [1,\n     2]\n{}\n",
    "y = 1 + \\\n{}\n",
    "# a comment\n{}\n",
    "try:\n    pass\nexcept E:\n    {}\n",
    "{}\n!ls\n",
    "{}\nobj?\n",
]
SPECIALS = [
    "!ls -la", "!!ls", "!gcloud auth list \\\n  --format=json \\\n  --quiet", "!echo 'unterminated",
    "%pip install -q google-genai", "%time f(1)", "%timeit -n1 \\\n  f()", "%%time", "% 3", "%(a)s",
    "?obj", "??obj", "obj?", "obj??", "os.path?", "x.y[0]?", "%time?", "f(x)?", "What is the sum?",
    "x = 'is it?'", "x = 1  # what?", "print('?')",
    "a = !ls", "a = %who_ls", "a, b = !ls", "a = 5 % 3", "a == !b", "f(a=!b)", "a = \\\n  !ls",
    "/f a", ",f a b", ";f a b", "x = 1", "",
]  # fmt: skip


def _lines(source: str) -> list[str]:
    return re.findall(r"[^\n]*\n|[^\n]+", source if source.endswith("\n") else source + "\n")


def rewritten_by_ipython(source: str) -> set[int]:
    """Indices of the (non-blank) source lines IPython's transformed cell no longer has verbatim."""
    before = _lines(source)
    after = IPYTHON.transform_cell(source).splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    changed = {i for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal" for i in range(i1, i2)}
    return {i for i in changed if not before[i].isspace()}  # IPython also blanks whitespace-only lines


def rewritten_by_classify(source: str) -> set[int]:
    lines = _lines(source)
    return {i for first, last in classify(source).spans for i in range(first, last + 1) if not lines[i].isspace()}


def expected(source: str) -> set[int]:
    """IPython's answer; a Python cell magic's body is transformed again when the magic runs it."""
    syntax = classify(source)
    if not syntax.python_body:
        return rewritten_by_ipython(source)
    lines = _lines(source)
    magic = next(i for i, line in enumerate(lines) if not line.isspace())
    body = "".join(lines[magic + 1 :])
    assert rewritten_by_ipython(source) == {i for i in range(magic, len(lines)) if not lines[i].isspace()}
    return {magic} | {i + magic + 1 for i in expected(body)} if body.strip() else {magic}


def _place(context: str, special: str) -> str:
    line = next(line for line in context.split("\n") if "{}" in line)
    indent = line[: line.index("{}")]
    return context.replace("{}", special.replace("\n", "\n" + indent))


CELLS = [_place(c, s) for c in CONTEXTS for s in SPECIALS]
CELLS += ["%%capture\n" + cell for cell in CELLS[: len(SPECIALS) * 4]]
CELLS += [
    "%%bash\necho hi\n!ls\n", "\n\n%%time\nx = 1\n", "%%writefile a.py\nimport os\n", "%%time?\n", " %%time\nx\n",
    "%%capture out\n%%time\n!ls\nx = 1\n", "%%timeit -n 1\n!ls\n", "x = 1\n%%time\n", "%%html\n<b>?</b>\n",
]  # fmt: skip


@pytest.mark.parametrize("cell", CELLS)
def test_classify_agrees_with_ipython(cell):
    if classify(cell).unsupported:
        assert IPYTHON.transform_cell(cell) != cell  # IPython does reshape it: flm says so instead
        return
    assert rewritten_by_classify(cell) == expected(cell)


def test_the_cases_the_issue_found_are_python_or_ipython_as_jupyter_sees_them():
    prompt = 'PROMPT = """What is the sum of the first 50 prime numbers?\nAnswer briefly?\n"""\n'
    assert classify(prompt).spans == ()
    assert classify("y = (1 +\n% 3)\n").spans == ()  # the % operator on a continuation
    assert classify("%%capture\n!pip install x\n%pip install y\nimport os\n").spans == ((0, 0), (1, 1), (2, 2))
    assert classify("if ok:\n    !gcloud a \\\n      --b\n    x = 1\n").spans == ((1, 2),)
    assert classify("  x = 1\n").unsupported


# --------------------------------------------------------------------------- in a notebook


def notebook(*sources: str) -> bytes:
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": s.splitlines(keepends=True)} for s in sources]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1).encode()


SETTINGS = Settings(as_of=AS_OF)


def test_valid_ipython_cells_are_processed_and_kept_byte_for_byte():
    data = notebook(
        "%%capture\n!pip install google-generativeai\n%pip install -q x\n",
        "import google.generativeai as genai\n",
        'PROMPT = """What is the sum of the first 50 prime numbers?\n"""\n',
        "if True:\n    !gcloud auth print-access-token \\\n      --quiet\n    token = 1\n",
        'text = ("%s and %s"\n% ("a", "b"))\n',
        "genai.GenerativeModel?\n",
        'model = genai.GenerativeModel("gemini-1.5-pro")\nprint(model.generate_content(PROMPT).text)\n',
    )
    result = migrate_notebook(data, SETTINGS, Path("nb.ipynb"))
    assert result.status == "changed", result.reason
    after = [("".join(c["source"])) for c in json.loads(result.new_bytes)["cells"]]
    before = [("".join(c["source"])) for c in json.loads(data)["cells"]]
    assert after[0] == before[0] and after[3] == before[3] and after[4] == before[4] and after[5] == before[5]
    assert "gemini-1.5-pro" not in after[6]


def test_an_unsupported_cell_is_a_skip_in_the_notebooks_coordinates():
    data = notebook("import vertexai\n", "x = 1\n", "  y = 2\n  z = 3\n")
    result = migrate_notebook(data, SETTINGS, Path("nb.ipynb"))
    assert result.status == "skipped" and result.reason.startswith("unsupported IPython input at cell 3, line 1: the cell starts indented")
