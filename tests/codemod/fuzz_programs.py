"""Generated programs with legacy-SDK code inside, and the checks `flm fix` must pass on each.

A program is  <random module> + <a legacy-SDK snippet> + <random module>  (the random parts from
hypothesmith), so everything outside the snippet is code the port has no business touching.
Shared by the small CI test (tests/codemod/test_fuzz.py) and the large run (bench/fuzz_bench.py).
"""

from __future__ import annotations

import difflib
import io
from dataclasses import dataclass
from pathlib import Path

import hypothesmith
from hypothesis import strategies as st
from pyflakes import api as pyflakes_api
from pyflakes import messages as pyflakes_messages
from pyflakes import reporter as pyflakes_reporter

from migrate.codemod import kinds
from migrate.settings import Settings

SNIPPETS = (
    'import google.generativeai as genai\nmodel = genai.GenerativeModel("gemini-1.5-pro")\nresponse = model.generate_content("hi")\nprint(response.text)\n',
    'import vertexai\nfrom vertexai.generative_models import GenerativeModel\nvertexai.init(project="p", location="us-central1")\n'
    'vertex_model = GenerativeModel("gemini-1.0-pro-002")\nprint(vertex_model.generate_content("q").text)\n',
    'from google import genai\nclient = genai.Client()\nreply = client.models.generate_content(model="gemini-2.5-pro", contents="x")\n',
    'import google.generativeai as genai\nchat = genai.GenerativeModel("gemini-1.5-pro").start_chat()\nprint(chat.send_message("hi").text)\n',
    'import google.generativeai as genai\n\n\ndef ask(prompt):\n    model = genai.GenerativeModel("gemini-1.5-pro", generation_config={"temperature": 0.2})\n'
    '    return model.generate_content(prompt).text\n',
)  # fmt: skip

SETTINGS = Settings(as_of=None)


def _module_text(code: str) -> str:
    return code if code.endswith("\n") or not code else code + "\n"


@st.composite
def programs(draw, from_node: bool = True) -> tuple[str, str, str]:
    """(before, snippet, after): each part valid alone; the whole compiles (checked by the caller).

    from_grammar is several times faster to draw than from_node (which builds LibCST trees), so the
    CI test uses it alone; the bench draws from both."""
    generators = [hypothesmith.from_grammar(auto_target=False)] + ([hypothesmith.from_node(auto_target=False)] if from_node else [])
    generator = draw(st.sampled_from(generators))
    before = _module_text(draw(generator))
    after = _module_text(draw(generator))
    return before, draw(st.sampled_from(SNIPPETS)), after


def compiles(text: str) -> bool:
    try:
        compile(text, "<fuzz>", "exec", dont_inherit=True, flags=0x400)
        return True
    except (SyntaxError, ValueError):
        return False


@dataclass
class Verdict:
    problem: str | None  # None: every check passed
    detail: str = ""


def undefined_names(text: str) -> set[str]:
    out = io.StringIO()
    collected: list = []

    class Collect(pyflakes_reporter.Reporter):
        def flake(self, message):  # noqa: D401 - pyflakes' API
            collected.append(message)

    pyflakes_api.check(text, "<fuzz>", Collect(out, out))
    return {m.message_args[0] for m in collected if isinstance(m, pyflakes_messages.UndefinedName)}


def check(before: str, snippet: str, after: str) -> Verdict:
    """Run the engine as `flm fix` does on one program and apply the five checks."""
    source = before + snippet + after
    try:
        result = kinds.migrate_file(Path("fuzz.py"), source.encode(), SETTINGS)
    except Exception as exc:  # noqa: BLE001 - that is the finding
        return Verdict("crash", f"{type(exc).__name__}: {exc}")
    if result.status == "error":
        kind = "crash" if (result.reason or "").startswith("internal error") else "refused"
        return Verdict(kind, result.reason or "")
    if result.status != "changed":
        return Verdict(None) if result.status in ("unchanged", "skipped") else Verdict("not ported", result.status)
    assert result.new_bytes is not None
    output = result.new_bytes.decode()
    if not compiles(output):
        return Verdict("unparsable output", output)
    new_names = undefined_names(output) - undefined_names(source)
    if new_names:
        return Verdict("new undefined names", ", ".join(sorted(new_names)))
    again = kinds.migrate_file(Path("fuzz.py"), result.new_bytes, SETTINGS)
    if again.status == "changed":
        return Verdict("not idempotent", "".join(difflib.unified_diff(output.splitlines(True), again.new_bytes.decode().splitlines(True))))
    outside = _lines_changed_outside(before, snippet, after, output)
    if outside:
        return Verdict("lines changed outside the port's edits", outside)
    return Verdict(None)


def _lines_changed_outside(before: str, snippet: str, after: str, output: str) -> str:
    """Lines of the random parts the output deleted or replaced (insertions, e.g. imports, are the port's)."""
    lines = (before + snippet + after).splitlines(True)
    first, last = len(before.splitlines(True)), len((before + snippet).splitlines(True))
    matcher = difflib.SequenceMatcher(None, lines, output.splitlines(True), autojunk=False)
    touched = [
        line for tag, i1, i2, _, _ in matcher.get_opcodes() if tag in ("replace", "delete")
        for index, line in enumerate(lines[i1:i2], start=i1) if not first <= index < last
    ]  # fmt: skip
    return "".join(touched)
