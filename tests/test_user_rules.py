"""A team's own client taught to flm by a rule file: from --rules and from pyproject, names swapped,
what the file adds shown by `flm scan` and `flm rules list`, conflicts one clear line each."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from migrate.catalog import bundled_catalog, load_catalog
from migrate.codemod.engine import migrate_source
from migrate.errors import UserError
from migrate.settings import Settings

REPO = Path(__file__).resolve().parents[1]

TEAM_RULES = """\
# team-rules.yaml
model_arguments:
  - call: "google.cloud.gemini.Client().generate"   # qualified name, through imports and aliases
    keyword: model
    sdk: in-house
    names: {pro: gemini-3.1-pro-preview, flash-lite: gemini-3.1-flash-lite}   # the wrapper's own model names
models:
  - ids: [tuned-support-bot-v3]       # a private or tuned model the team knows is Pro-based
    family: pro
    capabilities: gemini-3-pro
"""

SEED = """\
import google.cloud.gemini as gemini
client = gemini.Client(base_url="https://example.invalid", credentials="<c>")
for prompt in prompts:
    result = client.generate(input=prompt, model="pro")
"""


def flm(*args, cwd, env=None):
    environment = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "migrate", *args], capture_output=True, text=True, cwd=cwd, env=environment, timeout=120)


@pytest.fixture
def team(tmp_path):
    (tmp_path / "team-rules.yaml").write_text(TEAM_RULES)
    (tmp_path / "app.py").write_text(SEED)
    return tmp_path


def test_the_readme_example_from_the_command_line(team):
    result = flm("fix", "--rules", "team-rules.yaml", "--target", "gemini-3.1-flash-lite", "--isolated", ".", cwd=team)
    assert result.returncode == 0, result.stderr
    assert (team / "app.py").read_text() == SEED.replace('model="pro"', 'model="flash-lite"')


def test_the_readme_example_from_pyproject(team):
    (team / "pyproject.toml").write_text('[tool.flashlite-migrate]\nrules = ["team-rules.yaml"]\ntarget = "gemini-3.1-flash-lite"\n')
    result = flm("fix", ".", cwd=team)
    assert result.returncode == 0, result.stderr
    assert (team / "app.py").read_text() == SEED.replace('model="pro"', 'model="flash-lite"')


def test_without_a_wrapper_name_for_the_target_the_full_id_is_written(team):
    default = bundled_catalog().default_target
    assert default != "gemini-3.1-flash-lite"  # the wrapper names only 3.1 Flash-Lite
    result = flm("fix", "--rules", "team-rules.yaml", "--isolated", ".", cwd=team)
    assert result.returncode == 0, result.stderr
    assert (team / "app.py").read_text() == SEED.replace('model="pro"', f'model="{default}"')


def _catalog(tmp_path, text):
    path = tmp_path / "team-rules.yaml"
    path.write_text(text)
    return load_catalog(extra_rule_files=[path])


def test_full_ids_and_private_models_are_swapped_at_the_wrapper_and_names_of_kept_models_stay(tmp_path):
    catalog = _catalog(tmp_path, TEAM_RULES)
    source = SEED + '    a = client.generate(input=prompt, model="gemini-2.5-pro")\n' \
                    '    b = client.generate(input=prompt, model="tuned-support-bot-v3")\n' \
                    '    c = client.generate(input=prompt, model="flash-lite")\n'  # fmt: skip
    settings = Settings(target="gemini-3.1-flash-lite", extra_rule_files=(str(tmp_path / "team-rules.yaml"),))
    result = migrate_source(source.encode(), settings, catalog)
    out = result.new_bytes.decode()
    assert 'model="flash-lite")\n    a = client.generate(input=prompt, model="gemini-3.1-flash-lite")' in out
    assert 'b = client.generate(input=prompt, model="gemini-3.1-flash-lite")' in out
    assert out.endswith('c = client.generate(input=prompt, model="flash-lite")\n')
    assert [f.message for f in result.findings if f.rule == "FLM001"][0] == "Pro model 'pro' -> 'flash-lite'"


def test_an_unrelated_generate_method_is_left_alone(tmp_path):
    catalog = _catalog(tmp_path, TEAM_RULES)
    source = 'import other\nclient = other.Client()\nclient.generate(model="pro")\n'
    result = migrate_source(source.encode(), Settings(), catalog)
    assert not result.changed


def test_scan_and_rules_list_show_what_the_file_adds_and_where_from(team):
    scan = flm("scan", "--rules", "team-rules.yaml", "--isolated", ".", cwd=team)
    assert scan.returncode == 0, scan.stderr
    assert "user rules: team-rules.yaml: call site google.cloud.gemini.Client().generate" in scan.stderr
    assert "model names pro=gemini-3.1-pro-preview, flash-lite=gemini-3.1-flash-lite" in scan.stderr
    assert "app.py:4" in scan.stdout and "FLM001" in scan.stdout
    listed = flm("rules", "list", "--rules", "team-rules.yaml", cwd=team)
    assert listed.returncode == 0, listed.stderr
    assert "team-rules.yaml: model tuned-support-bot-v3 (pro)" in listed.stdout
    assert "team-rules.yaml: call site google.cloud.gemini.Client().generate" in listed.stdout


@pytest.mark.parametrize(
    "text, message",
    [
        ("models:\n  - ids: [gemini-2.5-pro]\n    family: pro\n    capabilities: gemini-3-pro\n",
         r"team-rules.yaml: models\[0\]\.ids: expected model IDs not already defined by the bundled rules/models.yaml, got 'gemini-2.5-pro'"),
        ('model_arguments:\n  - {call: "google.genai.Client().models.generate_content", keyword: model, sdk: google-genai}\n',
         r"model_arguments\[0\]\.call: expected a call not already defined by the bundled rules/call_sites.yaml"),
        ('model_arguments:\n  - {call: "x.Client().generate", keyword: model, sdk: in-house, names: {pro: gemini-9-pro}}\n',
         r"names\.pro: expected a model ID known to rules/models.yaml or this file's `models`, got 'gemini-9-pro'"),
        ("capabilities:\n  gemini-3-pro: {context_window: 1, max_output_tokens: 1, thinking: none, sampling: supported, penalties: supported, prefill: allowed}\n",
         r"capabilities\.gemini-3-pro: expected a profile name not already defined"),
        ("modles: []\n", r"team-rules.yaml: modles: expected one of the keys"),
    ],
)
def test_conflicts_and_typos_are_one_clear_error(tmp_path, text, message):
    with pytest.raises(UserError, match=message):
        _catalog(tmp_path, text)


def test_a_conflict_from_the_cli_is_one_line_and_exit_2(team):
    (team / "team-rules.yaml").write_text(TEAM_RULES + "  - ids: [gemini-2.5-pro]\n    family: pro\n    capabilities: gemini-3-pro\n")
    result = flm("scan", "--rules", "team-rules.yaml", "--isolated", ".", cwd=team)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "already defined" in result.stderr and "Traceback" not in result.stderr


def test_a_wrapper_that_always_uses_vertex_gets_the_vertex_dates(tmp_path):
    catalog = _catalog(tmp_path, TEAM_RULES.replace("    sdk: in-house\n", "    sdk: in-house\n    platform: vertex\n"))
    source = SEED.replace('model="pro"', 'model="gemini-2.5-pro"')
    result = migrate_source(source.encode(), Settings(as_of=dt.date(2026, 12, 3)), catalog)
    assert [f.message for f in result.findings if f.rule == "FLM003"] == ["model 'gemini-2.5-pro' was retired on Vertex AI on 2026-10-20: calls there fail today"]
