"""Selecting what changed: --staged, --changed-since REF (from the merge base), and a baseline so CI
fails only on new legacy or Pro call sites."""

import json

import pytest

from tests.test_cli import flm, git

LEGACY = 'from google import genai\nclient = genai.Client()\nr = client.models.generate_content(model="gemini-2.5-pro", contents="x")\n'
SWAP_ONLY = ["--select", "FLM0", "--no-cache"]


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "old.py").write_text(LEGACY)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "old")
    return root


def changed(result) -> list[str]:
    return sorted(line.split()[-1] for line in result.stderr.splitlines() if line.startswith("would fix"))


def test_staged_checks_only_the_next_commit(repo):
    (repo / "staged.py").write_text(LEGACY)
    (repo / "untracked.py").write_text(LEGACY)
    git(repo, "add", "staged.py")
    result = flm("check", "--staged", *SWAP_ONLY, ".", cwd=repo)
    assert result.returncode == 1 and changed(result) == ["staged.py"]
    git(repo, "commit", "-qm", "staged")
    clean = flm("check", "--staged", *SWAP_ONLY, ".", cwd=repo)
    assert clean.returncode == 0 and changed(clean) == []


def test_changed_since_uses_the_merge_base(repo):
    git(repo, "checkout", "-qb", "feature")
    (repo / "feature.py").write_text(LEGACY)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "feature")
    (repo / "wip.py").write_text(LEGACY)  # untracked work counts too
    git(repo, "checkout", "-q", "main")
    (repo / "main_only.py").write_text(LEGACY)
    git(repo, "add", "main_only.py")
    git(repo, "commit", "-qm", "main moves on")
    git(repo, "checkout", "-q", "feature")
    result = flm("check", "--changed-since", "main", *SWAP_ONLY, ".", cwd=repo)
    assert result.returncode == 1
    assert changed(result) == ["feature.py", "wip.py"]  # not old.py, and main's own new file is not here


def test_bad_ref_and_no_repository_are_usage_errors(repo, tmp_path):
    bad = flm("check", "--changed-since", "no-such-ref", ".", cwd=repo)
    assert bad.returncode == 2 and "no-such-ref" in bad.stderr
    outside = tmp_path / "plain"
    outside.mkdir()
    (outside / "a.py").write_text(LEGACY)
    result = flm("check", "--staged", ".", cwd=outside)
    assert result.returncode == 2 and "need a git work tree" in result.stderr


def test_baseline_fails_only_on_new_sites(repo):
    (repo / "two.py").write_text(LEGACY + 'k = client.models.generate_content(model="gemini-1.5-pro", contents="y")\n')
    written = flm("scan", "--write-baseline", "flm-baseline.json", *SWAP_ONLY, ".", cwd=repo)
    assert written.returncode == 0 and "baseline of" in written.stderr
    document = json.loads((repo / "flm-baseline.json").read_text())
    assert {e["file"] for e in document["findings"]} == {"old.py", "two.py"}
    assert flm("check", *SWAP_ONLY, ".", cwd=repo).returncode == 1  # without the baseline: old sites fail
    known = flm("check", "--baseline", "flm-baseline.json", *SWAP_ONLY, ".", cwd=repo)
    assert known.returncode == 0, known.stderr
    assert "0 new" in known.stderr
    # old code moving down does not make its sites new
    (repo / "old.py").write_text("import os\n\n\n" + LEGACY)
    assert flm("check", "--baseline", "flm-baseline.json", *SWAP_ONLY, ".", cwd=repo).returncode == 0
    # a new Pro call site, in an old file (same text as a known line: counts matter) and in a new file
    (repo / "old.py").write_text("import os\n\n\n" + LEGACY + LEGACY.splitlines()[2] + "\n")
    (repo / "new.py").write_text(LEGACY)
    new = flm("check", "--baseline", "flm-baseline.json", "--diff", *SWAP_ONLY, ".", cwd=repo)
    assert new.returncode == 1
    reported = sorted(line.split()[1].split(":")[0] for line in new.stderr.splitlines() if line.startswith("new:"))
    assert reported == ["new.py", "old.py"]
    assert "diff --git a/two.py" not in new.stdout and "diff --git a/new.py" in new.stdout  # only what fails is shown


def test_baseline_shrinks_as_sites_are_migrated(repo):
    flm("scan", "--write-baseline", "flm-baseline.json", *SWAP_ONLY, ".", cwd=repo)
    flm("fix", *SWAP_ONLY, ".", cwd=repo)
    result = flm("check", "--baseline", "flm-baseline.json", *SWAP_ONLY, ".", cwd=repo)
    assert result.returncode == 0 and "2 no longer found" in result.stderr  # the swap and its FLM003 (2.5-pro retired on Vertex)


def test_not_a_baseline_is_a_usage_error(repo):
    (repo / "b.json").write_text("[]")
    result = flm("check", "--baseline", "b.json", ".", cwd=repo)
    assert result.returncode == 2 and "not a flashlite-migrate baseline" in result.stderr
