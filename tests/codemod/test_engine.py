"""Files are sacred: encodings, newlines, syntax errors, and only the edited lines change."""

import difflib

import pytest

from migrate.codemod.engine import migrate_source
from tests.codemod.fixture_pairs import AS_OF, cases
from migrate.settings import Settings
from migrate.catalog import bundled_catalog

DEFAULT_TARGET = bundled_catalog().default_target  # what `fix` moves Pro calls to without --target

SETTINGS = Settings(as_of=AS_OF, select=("FLM0", "FLM1"))  # byte fidelity of the model swap; the port has its own tests
CALL = b'import google.generativeai as genai\nm = genai.GenerativeModel("gemini-2.5-pro")\n'
SWAPPED = CALL.replace(b"gemini-2.5-pro", DEFAULT_TARGET.encode())


def test_utf8_bom_is_kept():
    result = migrate_source(b"\xef\xbb\xbf" + CALL, SETTINGS)
    assert result.new_bytes == b"\xef\xbb\xbf" + SWAPPED


def test_latin1_coding_cookie_is_kept():
    source = "# -*- coding: latin-1 -*-\n# café\n".encode("latin-1") + CALL
    result = migrate_source(source, SETTINGS)
    assert result.new_bytes == "# -*- coding: latin-1 -*-\n# café\n".encode("latin-1") + SWAPPED


def test_mixed_newlines_and_missing_final_newline_are_kept():
    source = b"import google.generativeai as genai\r\nx = 1\n\tm = 2\r\ngenai.GenerativeModel('gemini-2.5-pro')"
    source = source.replace(b"\tm = 2", b"m = 2")
    result = migrate_source(source, SETTINGS)
    assert result.new_bytes == source.replace(b"gemini-2.5-pro", DEFAULT_TARGET.encode())


def test_tabs_are_kept():
    source = b"import google.generativeai as genai\nif True:\n\tm = genai.GenerativeModel('gemini-2.5-pro')\n"
    assert migrate_source(source, SETTINGS).new_bytes == source.replace(b"gemini-2.5-pro", DEFAULT_TARGET.encode())


def test_syntax_error_is_reported_not_raised():
    result = migrate_source(b"import google.generativeai as genai\ndef broken(:\n", SETTINGS)
    assert result.status == "skipped"
    assert "syntax error at line 2" in result.reason
    assert result.new_bytes is None


def test_file_without_candidate_bytes_is_not_parsed():
    result = migrate_source(b"def f(:\n  this is not python, and not parsed\n", SETTINGS)
    assert result.status == "not-candidate" and not result.parsed


def test_undecodable_file_is_skipped():
    result = migrate_source(b"# coding: no-such-codec\nimport vertexai\n", SETTINGS)
    assert result.status == "skipped"


@pytest.mark.parametrize("case", cases("models"), ids=lambda c: c.source.stem)
def test_only_edited_lines_change(case):
    """Byte identity outside the edits: every changed line carries an applied edit."""
    source = case.source.read_bytes()
    result = migrate_source(source, case.settings())
    if not result.changed:
        return
    edited_lines = {f.line for f in result.findings if f.applied}
    before, after = source.decode().splitlines(), result.new_bytes.decode().splitlines()
    assert len(before) == len(after)
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        if tag != "equal":
            assert set(range(i1 + 1, i2 + 1)) <= edited_lines


def test_target_already_in_use_changes_nothing():
    source = SWAPPED
    result = migrate_source(source, SETTINGS)
    assert result.status == "unchanged" and not result.findings


def _count_passes(monkeypatch) -> dict[str, int]:
    """Wrap the passes that cost the most on a big file (issue 15: parse once)."""
    import ast

    import libcst
    from libcst.metadata import MetadataWrapper

    from migrate.codemod import engine

    counts = {"libcst parse": 0, "render": 0, "positions": 0, "cpython parse": 0}

    def counting(key, function):
        def wrapper(*args, **kwargs):
            counts[key] += kwargs.get("mode", "exec") == "exec"  # literal_eval of a string is no parse of the module
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(libcst, "parse_module", counting("libcst parse", libcst.parse_module))
    monkeypatch.setattr(engine, "_render", counting("render", engine._render))
    monkeypatch.setattr(MetadataWrapper, "resolve", counting("positions", MetadataWrapper.resolve))
    monkeypatch.setattr(ast, "parse", counting("cpython parse", ast.parse))
    return counts


def test_a_ported_module_is_parsed_once_and_its_verified_trial_is_the_output(monkeypatch):
    source = b'import google.generativeai as genai\nmodel = genai.GenerativeModel("gemini-1.5-pro")\nprint(model.generate_content("x").text)\n'
    settings = Settings(as_of=AS_OF)
    migrate_source(b"import vertexai\n", settings)  # the catalogue is loaded outside the count
    counts = _count_passes(monkeypatch)
    result = migrate_source(source, settings)
    assert result.status == "changed" and result.port == "ported"
    assert counts == {"libcst parse": 1, "render": 1, "positions": 1, "cpython parse": 2}  # the original and the output


def test_a_candidate_without_findings_gets_no_positions_and_no_render(monkeypatch):
    migrate_source(b"import vertexai\n", SETTINGS)
    counts = _count_passes(monkeypatch)
    result = migrate_source(b'ROWS = [("gemini-x", 1)]\n' * 50, SETTINGS)
    assert result.status == "unchanged" and not result.findings
    assert counts["libcst parse"] == 1 and counts["positions"] == 0 and counts["render"] == 0
