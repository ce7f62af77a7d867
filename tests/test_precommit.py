"""The hooks as users get them: the real pre-commit tool installs this repository's
.pre-commit-hooks.yaml into a temporary git repository (`repo:` + `rev:` a commit, its own venv
built with pip from the wheelhouse of tests/side_env.py, no index), then a commit adding a legacy
Gemini call is blocked by flm-check and rewritten by flm-fix, and the next commit goes through."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from migrate.catalog import bundled_catalog

DEFAULT_TARGET = bundled_catalog().default_target  # what `fix` moves Pro calls to without --target

REPO = Path(__file__).resolve().parents[1]
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
LEGACY = '''import os

import google.generativeai as genai

genai.configure(api_key=os.environ["GOOGLE_API_KEY"])
model = genai.GenerativeModel("gemini-1.5-pro")
print(model.generate_content("Write a haiku.").text)
'''


def run(cwd, *args, env=None, check=True):
    done = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def git(cwd, *args, env=None, check=True):
    return run(cwd, "git", "-c", "user.email=t@t", "-c", "user.name=t", *args, env=env, check=check)


def test_hooks_file_shape():
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"flm-check", "flm-fix"}
    assert hooks["flm-check"]["entry"].startswith("flm check") and hooks["flm-fix"]["entry"] == "flm fix"
    import re

    pattern = re.compile(hooks["flm-check"]["files"])
    for name in ("a.py", "pkg/b.pyi", "nb/c.ipynb", "requirements-dev.txt", "svc/requirements.in", "pyproject.toml", "setup.cfg"):
        assert pattern.search(name), name
    for name in ("README.md", "data.json", "requirements/notes.md"):
        assert not pattern.search(name), name
    assert all(h["language"] == "python" and h["require_serial"] is True for h in hooks.values())


@pytest.mark.slow
def test_pre_commit_blocks_then_fixes_a_legacy_call(tmp_path, side_env):
    if not PRE_COMMIT.exists():
        pytest.skip("pre-commit is not installed in this environment (pip install -e '.[test]')")
    # The hook repository: this checkout's package as a fresh git repo, pinned by commit as users pin a tag.
    source = tmp_path / "flm-src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(REPO / name, source / name)
    for folder in ("migrate", "rules"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git(source, "init", "-q")
    git(source, "add", "-A")
    git(source, "commit", "-qm", "flm")
    rev = git(source, "rev-parse", "HEAD").stdout.strip()

    project = tmp_path / "project"
    project.mkdir()
    git(project, "init", "-q")
    config = {
        "repos": [
            {
                "repo": str(source),
                "rev": rev,
                "hooks": [{"id": "flm-check", "args": ["--as-of", "2026-11-24"]}, {"id": "flm-fix", "args": ["--as-of", "2026-11-24"]}],
            }
        ]
    }
    (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (project / "README.md").write_text("demo\n")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1",
           "PIP_FIND_LINKS": str(side_env("wheelhouse"))}  # and no index (conftest)
    env.pop("PYTHONPATH", None)
    run(project, str(PRE_COMMIT), "install", env=env)
    git(project, "add", "-A", env=env)
    git(project, "commit", "-qm", "set up hooks", env=env)  # no Python files: both hooks are skipped

    (project / "app.py").write_text(LEGACY)
    git(project, "add", "app.py", env=env)
    blocked = git(project, "commit", "-m", "add a legacy Gemini call", env=env, check=False)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "flashlite-migrate (check)" in output and "would fix app.py" in output
    assert "-model = genai.GenerativeModel(\"gemini-1.5-pro\")" in output  # the check hook shows the diff
    assert "flashlite-migrate (fix)" in output and "files were modified by this hook" in output
    assert git(project, "log", "--oneline", env=env).stdout.count("\n") == 1  # the commit did not happen

    fixed = (project / "app.py").read_text()
    assert "google.generativeai" not in fixed and "gemini-1.5-pro" not in fixed
    assert "from google import genai" in fixed and DEFAULT_TARGET in fixed

    git(project, "add", "app.py", env=env)
    done = git(project, "commit", "-m", "add a Gemini call", env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "flashlite-migrate (check)" in done.stdout + done.stderr and "Passed" in done.stdout + done.stderr
