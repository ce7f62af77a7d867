"""The result cache: a repeated run over an unchanged tree does no work; any change of content,
settings or tool invalidates exactly what it must; a damaged cache is ignored, never trusted."""

import hashlib
import json
import os
from pathlib import Path

import pytest

from migrate.codemod import cache as cache_module
from migrate.codemod import kinds, project
from migrate.config import Overrides
from tests.codemod.fixture_pairs import AS_OF
from tests.test_cli import flm

LEGACY = 'from google import genai\nclient = genai.Client()\nr = client.models.generate_content(model="gemini-2.5-pro", contents="x")\n'
PLAIN = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)  # the cache goes to the work tree's root
    (root / "app").mkdir()
    (root / "app" / "legacy.py").write_text(LEGACY)
    (root / "app" / "other.py").write_text(LEGACY.replace("r =", "n ="))
    (root / "app" / "plain.py").write_text(PLAIN)
    (root / "nb.ipynb").write_bytes((Path(__file__).resolve().parents[2] / "fixtures" / "notebooks" / "genai_client.ipynb").read_bytes())
    monkeypatch.chdir(root)
    monkeypatch.delenv("FLM_CACHE_DIR", raising=False)
    return root


def age(root: Path, seconds: int = 10) -> None:
    """Make every file older than the cache's racy window (as a real tree between two commits is)."""
    for path in root.rglob("*"):
        if path.is_file() and ".flm_cache" not in path.parts:
            stat = path.stat()
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - seconds * 1_000_000_000))


def run(use_cache=True, **overrides):
    outcome = project.run(["."], Overrides(as_of=AS_OF, jobs=1, **overrides), use_cache=use_cache)
    return {str(r.path): (r.status, r.findings, r.new_bytes) for r in outcome.results}


@pytest.fixture
def count_work(monkeypatch):
    calls = []
    real = kinds.migrate_file

    def counting(path, data, settings):
        calls.append(Path(path).name)
        return real(path, data, settings)

    monkeypatch.setattr(kinds, "migrate_file", counting)
    return calls


def test_second_run_does_no_work_and_gives_the_same_results(tree, count_work):
    age(tree)
    first = run()
    assert sorted(count_work) == ["legacy.py", "nb.ipynb", "other.py"]
    assert (tree / ".flm_cache" / ".gitignore").read_text().endswith("*\n") and (tree / ".flm_cache" / "CACHEDIR.TAG").exists()
    count_work.clear()
    second = run()
    assert count_work == []
    assert second == first


def test_content_change_recomputes_only_that_file(tree, count_work):
    age(tree)
    run()
    count_work.clear()
    (tree / "app" / "other.py").write_text(LEGACY.replace("r =", "k ="))
    results = run()
    assert count_work == ["other.py"]
    assert b"k = client" in results[str(Path("app/other.py"))][2]


def test_same_size_same_mtime_edit_right_after_a_run_is_caught(tree, count_work):
    """Racily clean: a file modified within the cache's time window is re-hashed, not trusted on stat."""
    run()
    target = tree / "app" / "legacy.py"
    stat = target.stat()
    target.write_text(LEGACY.replace("2.5-pro", "1.5-pro"))  # same length
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    count_work.clear()
    results = run()
    assert "legacy.py" in count_work
    assert any("gemini-1.5-pro" in f.message for f in results[str(Path("app/legacy.py"))][1])


def test_a_same_size_edit_with_its_mtime_set_back_is_caught_on_an_old_file(tree, count_work, monkeypatch):
    """Issue 15: trusting size and mtime alone let `flm check` pass a file edited behind the cache's back.

    The racy window is switched off here so that only the stat key (ctime, inode) can catch it."""
    target = tree / "app" / "clean.py"
    clean = LEGACY.replace("gemini-2.5-pro", "gemini-3.1-flash-lite")
    target.write_text(clean)
    age(tree)
    monkeypatch.setattr(cache_module, "RACY_NS", -(10**15))
    assert run()[str(Path("app/clean.py"))][0] == "unchanged"
    before = target.stat()
    edited = LEGACY + "#" * (len(clean) - len(LEGACY) - 1) + "\n"
    assert len(edited) == len(clean)
    target.write_text(edited)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    count_work.clear()
    results = run()
    assert count_work == ["clean.py"]
    assert results[str(Path("app/clean.py"))][0] == "changed"


def test_settings_change_is_a_miss(tree, count_work):
    age(tree)
    run()
    count_work.clear()
    results = run(target="gemini-2.5-flash-lite")
    assert sorted(count_work) == ["legacy.py", "nb.ipynb", "other.py"]
    assert b"gemini-2.5-flash-lite" in results[str(Path("app/legacy.py"))][2]


def cache_files(root: Path) -> list[Path]:
    return sorted((root / ".flm_cache" / f"v{cache_module.FORMAT}").glob("*.json"))


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: blob[: len(blob) // 2],  # truncated
        lambda blob: blob.replace(b"FLM001", b"FLM002"),  # edited behind the digest's back
        lambda blob: b"garbage",
        lambda blob: _resealed(blob.replace(b'"status":"changed"', b'"status":"exploded"')),  # well-sealed, wrong shape
        lambda blob: _resealed(b'{"format": 1, "written_ns": 99999999999999999999, "entries": {"x": [1, 2]}}'),
    ],
)
def test_a_damaged_cache_is_ignored_and_rewritten(tree, count_work, damage):
    age(tree)
    first = run()
    (file,) = cache_files(tree)
    file.write_bytes(damage(file.read_bytes()))
    count_work.clear()
    assert run() == first
    assert count_work  # the work was done again rather than trusting the damaged file
    count_work.clear()
    age(tree)
    assert run() == first and not count_work  # and the cache is healthy again


def _resealed(body_or_blob: bytes) -> bytes:
    body = body_or_blob.split(b"\n", 1)[1] if body_or_blob.startswith(b"flm-cache") else body_or_blob
    return b"flm-cache %d " % cache_module.FORMAT + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def test_no_cache_neither_reads_nor_writes(tree, count_work):
    age(tree)
    run(use_cache=False)
    assert not (tree / ".flm_cache").exists()
    run()
    count_work.clear()
    run(use_cache=False)
    assert sorted(count_work) == ["legacy.py", "nb.ipynb", "other.py"]


def test_cache_dir_from_environment_and_config(tree, monkeypatch):
    elsewhere = tree.parent / "elsewhere"
    monkeypatch.setenv("FLM_CACHE_DIR", str(elsewhere))
    run()
    assert list((elsewhere / f"v{cache_module.FORMAT}").glob("*.json")) and not (tree / ".flm_cache").exists()
    monkeypatch.delenv("FLM_CACHE_DIR")
    (tree / "pyproject.toml").write_text('[tool.flashlite-migrate]\ncache-dir = "build/flm"\n')
    run()
    assert list((tree / "build" / "flm" / f"v{cache_module.FORMAT}").glob("*.json"))


def test_dependency_files_are_not_cached(tree, count_work):
    """Their findings depend on the code around them (FLM303), not on their bytes alone."""
    (tree / "requirements.txt").write_text("google-cloud-aiplatform\n")
    age(tree)
    run()
    count_work.clear()
    (tree / "app" / "ml.py").write_text("from google.cloud import aiplatform\n")
    results = run()
    assert "requirements.txt" in count_work
    assert results[str(Path("requirements.txt"))][1] == []  # aiplatform is now used for more than generation


def test_the_fingerprint_covers_rule_data_and_today(tree):
    from migrate.settings import Settings

    base = cache_module.fingerprint(Settings(as_of=AS_OF))
    assert cache_module.fingerprint(Settings(as_of=AS_OF, jobs=3)) == base  # how many workers does not matter
    assert cache_module.fingerprint(Settings()) != base  # lifecycle checks depend on the date
    extra = tree / "mine.yaml"
    extra.write_text("rules: []\n")
    assert cache_module.fingerprint(Settings(as_of=AS_OF, extra_rule_files=(str(extra),))) != base


def test_cli_warm_run_reports_the_same(tree):
    age(tree)
    cold = flm("scan", "--format", "json", ".", cwd=tree)
    warm = flm("scan", "--format", "json", ".", cwd=tree)
    assert cold.returncode == warm.returncode == 0
    strip = lambda out: {k: v for k, v in json.loads(out).items() if k != "summary"}  # noqa: E731
    assert strip(cold.stdout) == strip(warm.stdout)
    assert flm("check", ".", cwd=tree).returncode == 1


def test_the_cache_goes_to_the_scanned_repository_not_the_current_folder(tree, monkeypatch, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    project.run([str(tree / "app")], Overrides(as_of=AS_OF, jobs=1), use_cache=True)
    assert list((tree / ".flm_cache" / f"v{cache_module.FORMAT}").glob("*.json"))
    assert not (elsewhere / ".flm_cache").exists()
