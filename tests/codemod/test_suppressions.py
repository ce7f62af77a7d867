"""Opt-outs: `# flm: ignore[FLM001]` on the line or the line above, `# flm: ignore`, `# flm: skip-file`,
and a report (FLM301) for a suppression that silences nothing."""

import pytest

from migrate.codemod.engine import migrate_source
from migrate.codemod.kinds import migrate_file
from migrate.settings import Settings
from tests.codemod.fixture_pairs import AS_OF
from migrate.catalog import bundled_catalog

DEFAULT_TARGET = bundled_catalog().default_target  # what `fix` moves Pro calls to without --target

SETTINGS = Settings(as_of=AS_OF, ignore=("FLM2",))  # model swap only: the SDK port has its own fixtures
HEAD = "from google import genai\nclient = genai.Client()\n"


def run(source: str, settings: Settings = SETTINGS):
    result = migrate_source(source.encode(), settings)
    output = result.new_bytes.decode() if result.changed else source
    return output, result


def call(model: str = "gemini-2.5-pro", comment: str = "") -> str:
    return f'r = client.models.generate_content(model="{model}", contents="x"){comment}\n'


def test_same_line_suppresses_that_rule_only():
    source = HEAD + call(comment="  # flm: ignore[FLM001]")
    output, result = run(source)
    assert output == source
    assert [f.rule for f in result.findings] == []  # FLM001 silenced; no unused report


def test_own_line_comment_suppresses_the_next_line():
    source = HEAD + "# flm: ignore[FLM001]\n" + call() + call()
    output, result = run(source)
    assert output.splitlines()[3] == call().strip()  # the first call keeps its Pro model
    assert DEFAULT_TARGET in output.splitlines()[4]


def test_trailing_comment_does_not_reach_the_next_line():
    source = HEAD + "x = 1  # flm: ignore[FLM001]\n" + call()
    output, result = run(source)
    assert DEFAULT_TARGET in output
    unused = [f for f in result.findings if f.rule == "FLM301"]
    assert len(unused) == 1 and unused[0].line == 3 and "no FLM001 finding" in unused[0].message


def test_bare_ignore_silences_every_rule_on_the_line():
    source = HEAD + call("gemini-1.5-pro", "  # flm: ignore")  # FLM001 and FLM105 at this site
    output, result = run(source)
    assert output == source and not result.findings
    noisy, noisy_result = run(HEAD + call("gemini-1.5-pro"))
    assert {f.rule for f in noisy_result.findings} >= {"FLM001", "FLM105"}


def test_codes_are_case_insensitive_and_comma_separated():
    source = HEAD + call("gemini-1.5-pro", "  # flm: ignore[flm001, FLM105]")
    output, result = run(source)
    assert output == source and not result.findings


def test_unused_and_unknown_suppressions_are_reported():
    source = HEAD + "y = 2  # flm: ignore\nz = 3  # flm: ignore[FLM999]\n" + call()
    _, result = run(source)
    unused = sorted((f.line, f.message) for f in result.findings if f.rule == "FLM301")
    assert len(unused) == 2
    assert "'# flm: ignore' silences nothing: no finding on the line it covers" in unused[0][1]
    assert "unknown rule FLM999" in unused[1][1]
    assert all(f.tier == "report" and not f.is_edit for f in result.findings if f.rule == "FLM301")


def test_a_deselected_rule_does_not_make_its_suppression_unused():
    source = HEAD + call(comment="  # flm: ignore[FLM001]")
    _, result = run(source, Settings(as_of=AS_OF, ignore=("FLM2", "FLM001")))
    assert not [f for f in result.findings if f.rule == "FLM301"]
    _, quiet = run(HEAD + "x = 1  # flm: ignore[FLM001]\n", Settings(as_of=AS_OF, ignore=("FLM301",)))
    assert not quiet.findings


def test_text_inside_a_string_is_not_a_suppression():
    source = HEAD + 'note = "# flm: ignore[FLM001]"; ' + call()
    output, _ = run(source)
    assert DEFAULT_TARGET in output


def test_skip_file_leaves_the_file_alone():
    source = "# flm: skip-file\n" + HEAD + call()
    result = migrate_source(source.encode(), SETTINGS)
    assert result.status == "skipped" and result.reason == "opted out (# flm: skip-file)" and not result.changed
    in_code = HEAD + 'x = "# flm: skip-file"\n' + call()  # not a comment line: no effect
    assert migrate_source(in_code.encode(), SETTINGS).changed


@pytest.mark.parametrize("silenced_line, code", [(2, "FLM203"), (3, "FLM201")])
def test_silencing_one_port_site_keeps_the_module_on_the_legacy_sdk(silenced_line, code):
    """The port's edits are coupled (the model object and its calls): silencing one keeps all (FLM304)."""
    lines = [
        "import google.generativeai as genai",
        'model = genai.GenerativeModel("gemini-2.5-pro")',
        'print(model.generate_content("hi").text)',
    ]
    lines[silenced_line - 1] += f"  # flm: ignore[{code}]"
    source = "\n".join(lines) + "\n"
    result = migrate_source(source.encode(), Settings(as_of=AS_OF))
    output = result.new_bytes.decode() if result.changed else source
    assert "import google.generativeai as genai" in output and "genai.Client" not in output
    assert 'model.generate_content("hi")' in output
    assert f'genai.GenerativeModel("{DEFAULT_TARGET}")' in output  # the model swap still applies
    notes = [f for f in result.findings if f.rule == "FLM304"]
    assert [n.line for n in notes] == [silenced_line]
    assert not [f for f in result.findings if f.rule == "FLM301"]
    unsilenced = migrate_source(source.replace(f"  # flm: ignore[{code}]", "").encode(), Settings(as_of=AS_OF))
    assert "genai.Client" in unsilenced.new_bytes.decode()  # without the opt-out the module is ported


def test_second_run_keeps_suppressions_working():
    source = HEAD + call(comment="  # flm: ignore[FLM001]") + call()
    once, _ = run(source)
    twice, result = run(once)
    assert once == twice and not [f for f in result.findings if f.rule == "FLM301"]


def test_requirements_suppression_and_unused():
    text = "google-generativeai==0.8.3  # flm: ignore[FLM302]\nrequests  # flm: ignore[FLM302]\n"
    result = migrate_file(_path("requirements.txt"), text.encode(), Settings(as_of=AS_OF, unsafe=True))
    assert not result.changed
    assert [(f.rule, f.line) for f in result.findings] == [("FLM301", 2)]


def _path(name):
    from pathlib import Path

    return Path("/nonexistent-flm-test") / name
