"""The CLI as a user runs it: a subprocess, exit codes, stdout/stderr split, real files, real git."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from migrate.catalog import bundled_catalog

DEFAULT_TARGET = bundled_catalog().default_target  # what `fix` moves Pro calls to without --target

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "fixtures" / "example"


def flm(*args, cwd=None, env=None):
    environment = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "migrate", *args, "--as-of", "2026-11-24"] if args and args[0] in ("scan", "fix", "check") else [sys.executable, "-m", "migrate", *args],
        capture_output=True, text=True, cwd=cwd or REPO, env=environment, timeout=120,
    )  # fmt: skip


def git(cwd, *args):
    return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture
def project(tmp_path):
    """A copy of the bundled example inside a fresh git repository, committed."""
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLE, root)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def test_fix_diff_is_a_patch_git_applies_and_writes_nothing(project):
    before = {p: p.read_bytes() for p in project.rglob("*.py")}
    result = flm("fix", "--diff", ".", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("diff --git a/app/")
    assert f"+SUMMARY_MODEL = \"{DEFAULT_TARGET}\"" in result.stdout
    assert "files seen" in result.stderr and "files seen" not in result.stdout
    assert {p: p.read_bytes() for p in project.rglob("*.py")} == before
    (project / "out.patch").write_text(result.stdout)
    git(project, "apply", "--check", "out.patch")


def test_check_fix_check_cycle(project):
    assert flm("check", ".", cwd=project).returncode == 1
    fixed = flm("fix", ".", cwd=project)
    assert fixed.returncode == 0, fixed.stderr
    assert "fixed app/summarize.py" in fixed.stderr
    assert f'SUMMARY_MODEL = "{DEFAULT_TARGET}"' in (project / "app" / "summarize.py").read_text()
    again = flm("check", ".", cwd=project)
    assert again.returncode == 0, again.stderr
    assert flm("fix", "--diff", ".", cwd=project).stdout == ""


def test_ignored_files_are_not_touched(project):
    (project / ".gitignore").write_text("scratch/\n")
    (project / "scratch").mkdir()
    scratch = project / "scratch" / "old.py"
    scratch.write_text('import google.generativeai as g\ng.GenerativeModel("gemini-1.5-pro")\n')
    assert flm("fix", ".", cwd=project).returncode == 0
    assert "gemini-1.5-pro" in scratch.read_text()


def test_scan_json_records(project):
    result = flm("scan", "--format", "json", ".", cwd=project)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["summary"]["changed"] == 5
    record = next(r for r in document["findings"] if r["file"] == "app/summarize.py" and r["rule"] == "FLM001")
    assert set(record) == {"file", "line", "column", "rule", "tier", "message", "before", "after", "applied", "fixable"}
    assert (record["applied"], record["fixable"]) == (False, True)  # scan writes nothing
    assert (record["line"], record["before"], record["after"], record["tier"]) == (6, "gemini-2.5-pro", DEFAULT_TARGET, "safe")
    assert any(r["rule"] == "FLM002" for r in document["findings"])
    assert not [w for w in document["warnings"] if w.startswith("FLM005")]  # the default target has no announced shutdown
    assert "FLM003 model 'gemini-1.5-pro' was shut down on 2025-09-24: calls to it fail today (2 sites, swapped to the target)" in document["warnings"]


def test_scan_table_on_a_pipe(project):
    result = flm("scan", ".", cwd=project)
    assert result.returncode == 0
    assert "app/summarize.py:6:17" in result.stdout and "FLM001" in result.stdout


def test_a_broken_file_does_not_stop_the_others(project):
    (project / "app" / "broken.py").write_text("import vertexai\ndef f(:\n")
    result = flm("fix", ".", cwd=project)
    assert result.returncode == 0
    assert "skipped app/broken.py: syntax error at line 2" in result.stderr
    assert DEFAULT_TARGET in (project / "app" / "summarize.py").read_text()
    assert (project / "app" / "broken.py").read_text() == "import vertexai\ndef f(:\n"


def test_parallel_output_is_deterministic(project):
    for i in range(40):
        (project / f"m{i:02}.py").write_text(f'import google.generativeai as g\ng.GenerativeModel("gemini-1.5-pro")  # {i}\n')
    serial = flm("fix", "--diff", "-j", "1", ".", cwd=project).stdout
    parallel = flm("fix", "--diff", "-j", "2", ".", cwd=project).stdout
    assert serial == parallel and serial.count("diff --git") == 45


@pytest.mark.parametrize(
    "args, message",
    [
        (["scan", "does-not-exist"], "flm: error: does-not-exist: no such file or directory"),
        (["fix", "--target", "gemini-9", "."], "flm: error: --target: unknown target model 'gemini-9'"),
        (["fix", "--target", "gemini-embedding-001", "."], "is an embedding model, not a text model"),
        (["scan", "--select", "FLM9", "."], "flm: error: --select: unknown rule ID or prefix 'FLM9' (rule families: FLM0, FLM1, FLM2, FLM3"),
        (["fix", "--target", "gemini-1.5-flash", "."], "was shut down on 2025-09-24"),
        (["scan", "--no-such-flag", "."], "flm: error: No such option: --no-such-flag"),
        (["rules", "explain", "FLM999"], "flm: error: unknown rule ID 'FLM999'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(project, args, message):
    result = flm(*args, cwd=project)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the error (and at most the target warning)


def test_a_bad_target_in_pyproject_names_the_file(project):
    (project / "pyproject.toml").write_text('[tool.flashlite-migrate]\ntarget = "nonsense"\n')
    result = flm("scan", ".", cwd=project)
    assert result.returncode == 2
    assert f"flm: error: {project / 'pyproject.toml'}: [tool.flashlite-migrate] target: unknown target model 'nonsense'" in result.stderr


def test_a_broken_extra_rules_file_is_named(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("rules:\n  - id: X1\n")
    result = flm("rules", "list", "--rules", str(bad))
    assert result.returncode == 2
    assert f"flm: error: {bad}: rules[0].id: expected an ID like FLM001, got 'X1'" in result.stderr


def test_models_and_rules_commands():
    models = flm("models", "--format", "json")
    assert models.returncode == 0
    data = json.loads(models.stdout)
    assert data["target"] == DEFAULT_TARGET
    assert any(m["id"] == "gemini-4-argon" and m["swap_to_target"] for m in data["models"])
    table = flm("models").stdout
    assert f"{DEFAULT_TARGET} [target]" in table and table.count("[target]") == 1
    assert "(+1 variant)" in table and "(+1 variants)" not in table
    assert "gemini-3.1-flash-lite [target]" in flm("models", "--target", "gemini-3.1-flash-lite").stdout
    listed = flm("rules", "list")
    assert listed.returncode == 0 and "FLM001" in listed.stdout and "FLM105" in listed.stdout
    explained = flm("rules", "explain", "flm001")
    assert explained.returncode == 0 and "pro-model-swap (safe)" in explained.stdout


def test_both_console_scripts_exist():
    bin_dir = Path(sys.executable).parent
    for name in ("flm", "flashlite-migrate"):
        result = subprocess.run([str(bin_dir / name), "--version"], capture_output=True, text=True)
        assert result.returncode == 0 and result.stdout.startswith("flashlite-migrate ")


def test_one_fix_reaches_the_fixed_point_so_check_passes_right_after(tmp_path):
    """Issue 14 item 1: a second `fix` used to add a TODO to notebooks the first had half-ported, and
    `check` after `fix` exited 1. A ported module, a blocked one and a blocked notebook, each with a config."""
    ported = 'import google.generativeai as genai\ngenai.configure(api_key="k")\nconfig = genai.GenerationConfig(temperature=0.2)\nmodel = genai.GenerativeModel("gemini-1.5-pro", generation_config=config)\nprint(model.generate_content("hi").text)\n'
    blocked = ported + 'tuned = genai.list_tuned_models()\n'
    (tmp_path / "ported.py").write_text(ported)
    (tmp_path / "blocked.py").write_text(blocked)
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
             for source in ('%pip install -q google-generativeai\n', blocked)]
    (tmp_path / "nb.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert flm("fix", ".", "--no-cache", cwd=tmp_path).returncode == 0
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert b"from google import genai" in first["ported.py"] and b"TODO(flm FLM225)" in first["blocked.py"]
    assert flm("fix", ".", "--no-cache", cwd=tmp_path).returncode == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == first
    assert flm("check", ".", "--no-cache", cwd=tmp_path).returncode == 0


def test_check_fails_on_a_candidate_file_it_cannot_parse_unless_it_is_excluded(project):
    assert flm("fix", ".", cwd=project).returncode == 0
    assert flm("check", ".", cwd=project).returncode == 0
    (project / "broken.py").write_text('import google.generativeai as genai\ndef f(:\n')
    (project / "blob.py").write_bytes(b"import vertexai\n\xff\xfe\x00binary")
    failed = flm("check", ".", cwd=project)
    assert failed.returncode == 1, failed.stderr
    assert "error: broken.py: syntax error at line 2" in failed.stderr and "exclude" in failed.stderr
    assert "error: blob.py:" in failed.stderr
    assert flm("fix", ".", cwd=project).returncode == 0  # fix only reports the skip
    excluded = flm("check", ".", "--exclude", "broken.py", "--exclude", "blob.py", cwd=project)
    assert excluded.returncode == 0, excluded.stderr
    (project / "pyproject.toml").write_text('[tool.flashlite-migrate]\nexclude = ["broken.py", "blob.py"]\n')
    assert flm("check", ".", cwd=project).returncode == 0


def test_diff_paths_are_relative_to_the_repository_root_wherever_flm_runs(project, tmp_path):
    from_subfolder = flm("fix", "--diff", ".", cwd=project / "app")
    assert from_subfolder.returncode == 0, from_subfolder.stderr
    assert from_subfolder.stdout.startswith("diff --git a/app/")
    (project / "sub.patch").write_text(from_subfolder.stdout)
    git(project, "apply", "--check", "sub.patch")
    from_outside = flm("fix", "--diff", str(project / "app"), "--patch-file", str(tmp_path / "out.patch"), cwd=tmp_path)
    assert from_outside.stdout.startswith("diff --git a/app/") and (tmp_path / "out.patch").read_text() == from_outside.stdout
    git(project, "apply", "--check", str(tmp_path / "out.patch"))


def test_json_applied_means_written(project):
    def summarize_record(*args):
        document = json.loads(flm(*args, "--format", "json", ".", cwd=project).stdout)
        record = next(r for r in document["findings"] if r["file"] == "app/summarize.py" and r["rule"] == "FLM001")
        return record["applied"], record["fixable"]

    assert summarize_record("fix", "--diff") == (False, True)
    assert summarize_record("check") == (False, True)
    assert summarize_record("fix") == (True, True)
