"""README's two set-up commands as a newcomer copies them, CI running the second, and the `[test]`
extra's caps that keep pip's resolver from wandering (issue 14)."""

import re
import shlex
import subprocess
from importlib.metadata import requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import side_env

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def setup_commands() -> list[list[str]]:
    """The set-up section's commands, each as its `&&`-separated steps."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    return [[shlex.split(step) for step in line.split(" && ")] for line in lines]


def test_the_main_job_installs_the_package_without_extras():
    main_job, _ = setup_commands()
    installs = [step for step in main_job if step[:2] == [".venv/bin/pip", "install"]]
    assert installs == [[".venv/bin/pip", "install", "-e", "."]], main_job
    assert main_job[-1][:3] == [".venv/bin/flm", "fix", "--diff"]


def test_ci_runs_the_test_command_step_by_step():
    _, test_command = setup_commands()
    ci = " ".join((REPO / ".ci" / "run").read_text(encoding="utf-8").split())
    assert [".venv/bin/pip", "install", "-e", ".[test]"] in test_command
    assert ".venv/bin/python -m pip install --quiet -e '.[test]'" in ci
    for step in ([".venv/bin/python", "tests/side_env.py"], [".venv/bin/python", "-m", "pytest"]):
        assert step in test_command and " ".join(step) in ci, step
    assert test_command[-1] == [".venv/bin/python", "-m", "pytest"]
    assert "exec unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m pytest'" in ci  # offline after install


def test_the_protobuf_cap_is_the_one_the_legacy_sdk_imposes():
    """google-generativeai pins google-ai-generativelanguage, whose protobuf bound is the reason for
    the caps on the grpc/protobuf packages: when it allows protobuf 6 the caps must go."""
    extra = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]["test"]
    ours = {Requirement(r).name: Requirement(r).specifier for r in extra}
    theirs = [Requirement(r) for r in requires("google-ai-generativelanguage") or ()]
    (needed,) = [r.specifier for r in theirs if r.name == "protobuf" and not r.marker]
    upper = lambda spec: {Version(Version(s.version).base_version) for s in spec if s.operator == "<"}  # noqa: E731
    assert "protobuf" in ours and upper(ours["protobuf"]) == upper(needed), (ours.get("protobuf"), needed)


def test_a_missing_side_environment_part_skips_with_the_command_and_fails_under_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(side_env, "SARIF_SCHEMA", tmp_path / "absent.json")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"tests/side_env\.py` \(README, set-up command 2\)"):
        side_env.require("sarif_schema")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no SARIF 2.1.0 schema"):
        side_env.require("sarif_schema")
    (tmp_path / "absent.json").write_text("{}")  # present but not the pinned file
    with pytest.raises(pytest.fail.Exception, match="no SARIF 2.1.0 schema"):
        side_env.require("sarif_schema")


def test_the_side_environment_is_out_of_git():
    if side_env.ROOT.is_relative_to(REPO):
        assert subprocess.run(["git", "check-ignore", "-q", str(side_env.ROOT)], cwd=REPO).returncode == 0
