"""[tool.flashlite-migrate] in pyproject.toml: lookup per file (monorepos), merging with the command
line, validation with a did-you-mean, and `flm config` naming where each value came from."""

import json
import textwrap
from pathlib import Path

import pytest

from migrate.codemod import project
from migrate.config import Overrides, Resolver, find, load
from migrate.errors import UserError
from tests.test_cli import flm

LEGACY = 'from google import genai\nclient = genai.Client()\nr = client.models.generate_content(model="gemini-2.5-pro", contents="x")\n'


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def resolver(**overrides) -> Resolver:
    return project.resolver(Overrides(**overrides))


def test_nearest_config_wins_per_file(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.flashlite-migrate]\ntarget = "gemini-2.5-flash-lite"\n')
    write(tmp_path / "services" / "a" / "pyproject.toml", '[project]\nname = "a"\n[tool.flashlite-migrate]\nignore = ["FLM105"]\n')
    write(tmp_path / "services" / "b" / "pyproject.toml", '[project]\nname = "b"\n')  # no table: keeps looking up
    configs = resolver()
    a = configs.for_path(tmp_path / "services" / "a" / "pkg" / "m.py")
    b = configs.for_path(tmp_path / "services" / "b" / "m.py")
    assert a.config.path == (tmp_path / "services" / "a" / "pyproject.toml").resolve()
    assert a.settings.ignore == ("FLM105",) and a.settings.target is None
    assert b.config.path == (tmp_path / "pyproject.toml").resolve()
    assert b.settings.target == "gemini-2.5-flash-lite"


def test_command_line_overrides_and_extends(tmp_path):
    write(tmp_path / "pyproject.toml", """\
        [tool.flashlite-migrate]
        target = "gemini-2.5-flash-lite"
        select = ["FLM0"]
        ignore = ["FLM105"]
        unsafe = true
        """)  # fmt: skip
    resolved = resolver(target="gemini-3.1-flash-lite", select=("FLM1",), ignore=("FLM104",), unsafe=False).for_path(tmp_path)
    s = resolved.settings
    assert (s.target, s.select, s.ignore, s.unsafe) == ("gemini-3.1-flash-lite", ("FLM1",), ("FLM105", "FLM104"), False)
    assert resolved.sources["target"] == "command line (--target)"
    assert resolved.sources["ignore"] == f"{(tmp_path / 'pyproject.toml').resolve()} + command line (--ignore)"
    assert resolver().for_path(tmp_path).settings.unsafe is True


def test_all_keys_reach_the_settings(tmp_path):
    write(tmp_path / "rules" / "mine.yaml", "rules: []\n")
    write(tmp_path / "pyproject.toml", """\
        [tool.flashlite-migrate]
        tiers = { FLM302 = "safe", flm303 = "safe" }
        exclude = ["legacy/**"]
        per-file-ignores = { "tests/**" = ["FLM001"] }
        client-name = "genai_client"
        rules = ["rules/mine.yaml"]
        cache-dir = ".cache/flm"
        """)  # fmt: skip
    resolved = resolver().for_path(tmp_path)
    s = resolved.settings
    assert dict(s.tier_overrides) == {"FLM302": "safe", "FLM303": "safe"}
    assert s.client_name == "genai_client"
    assert s.extra_rule_files == (str((tmp_path / "rules" / "mine.yaml").resolve()),)
    assert resolved.cache_dir == (tmp_path / ".cache" / "flm").resolve()
    assert resolved.excluded(tmp_path / "legacy" / "old.py") and not resolved.excluded(tmp_path / "app.py")
    assert s.for_path(tmp_path / "tests" / "test_x.py").ignore == ("FLM001",)
    assert s.for_path(tmp_path / "app" / "x.py").ignore == ()


def test_client_name_defaults_to_client():
    assert resolver(isolated=True).for_path(Path.cwd()).settings.client_name == "client"


@pytest.mark.parametrize(
    "body, message",
    [
        ('targte = "x"', "unknown key 'targte' in [tool.flashlite-migrate]; did you mean 'target'?"),
        ('client_name = "c"', "unknown key 'client_name' in [tool.flashlite-migrate]; did you mean 'client-name'?"),
        ('per_file_ignores = {}', "did you mean 'per-file-ignores'?"),
        ("select = 'FLM001'", "select: expected a list of strings, got 'FLM001'"),
        ('tiers = { FLM001 = "yolo" }', "tiers.FLM001: expected one of safe, unsafe, manual, report, got 'yolo'"),
        ('client-name = "my client"', "client-name: expected a Python identifier"),
        ('ignore = ["FLM99"]', "ignore: unknown rule ID or prefix 'FLM99'"),
        ('tiers = { FLM001x = "safe" }', "tiers: unknown rule ID 'FLM001X'"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path, body, message):
    write(tmp_path / "pyproject.toml", f"[tool.flashlite-migrate]\n{body}\n")
    with pytest.raises(UserError) as error:
        resolver().for_path(tmp_path)
    assert message in str(error.value)
    assert str((tmp_path / "pyproject.toml").resolve()) in str(error.value)


def test_invalid_toml_names_the_file(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.flashlite-migrate\n")
    with pytest.raises(UserError, match="pyproject.toml: not valid TOML"):
        find(tmp_path.resolve())


def test_explicit_config_and_isolated(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.flashlite-migrate]\ntarget = "gemini-2.5-flash-lite"\n')
    other = write(tmp_path / "ci" / "flm.toml", '[tool.flashlite-migrate]\nignore = ["FLM1"]\n')
    assert resolver(config_file=str(other)).for_path(tmp_path).settings.ignore == ("FLM1",)
    assert resolver(isolated=True).for_path(tmp_path).settings.target is None
    assert load(other).values == {"ignore": ["FLM1"]}


def test_config_drives_a_real_run(tmp_path, monkeypatch):
    """exclude, per-file-ignores and target from the nearest config change what `fix` does."""
    write(tmp_path / "pyproject.toml", """\
        [tool.flashlite-migrate]
        target = "gemini-2.5-flash-lite"
        exclude = ["vendored/"]
        per-file-ignores = { "tests/**" = ["FLM0", "FLM1", "FLM2"] }
        """)  # fmt: skip
    for name in ("app.py", "vendored/lib.py", "tests/test_app.py"):
        write(tmp_path / name, LEGACY)
    monkeypatch.chdir(tmp_path)
    result = flm("fix", "--diff", "--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "diff --git a/app.py" in result.stdout and "gemini-2.5-flash-lite" in result.stdout
    assert "vendored" not in result.stdout and "tests/test_app.py" not in result.stdout
    # an explicitly passed excluded file stays excluded (pre-commit passes file names)
    assert flm("check", "--no-cache", "vendored/lib.py", cwd=tmp_path).returncode == 0


def test_flm_config_shows_values_and_sources(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.flashlite-migrate]\ntarget = "gemini-2.5-flash-lite"\nignore = ["FLM105"]\n')
    result = flm("config", "--ignore", "FLM104", "--format", "json", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    config_path = str((tmp_path / "pyproject.toml").resolve())
    assert data["config_file"] == config_path
    assert data["settings"]["target"] == {"value": "gemini-2.5-flash-lite", "source": config_path}
    assert data["settings"]["ignore"] == {"value": ["FLM105", "FLM104"], "source": f"{config_path} + command line (--ignore)"}
    assert data["settings"]["client-name"] == {"value": "client", "source": "default"}
    table = flm("config", str(tmp_path), cwd=tmp_path)
    assert table.returncode == 0 and "client-name" in table.stdout and "gemini-2.5-flash-lite" in table.stdout


def test_typo_is_exit_2_on_the_command_line(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.flashlite-migrate]\nselcet = ["FLM0"]\n')
    write(tmp_path / "app.py", LEGACY)
    result = flm("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown key 'selcet' in [tool.flashlite-migrate]; did you mean 'select'?" in result.stderr
