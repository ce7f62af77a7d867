"""Hostile trees (issue 15): unreadable and read-only folders, symlinks, hard links, owners,
read-only files, edits racing the write, FIFOs, old notebooks, oversized files, dying workers."""

import faulthandler
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migrate.catalog import bundled_catalog
from migrate.codemod import engine, files, kinds, project
from migrate.codemod.files import NotWritten, discover, remove_stale_temps, write_atomically
from migrate.config import Overrides
from migrate.settings import Settings
from tests.codemod.unprivileged import LEGACY, flm_as_nobody, git_commit_all, give_away, nobody, remove, shared_tree
from tests.test_cli import flm

PORTED = bundled_catalog().default_target  # what `fix` moves Pro calls to without --target


@pytest.fixture
def tree():
    root = shared_tree()
    yield root
    remove(root)


# --------------------------------------------------------------------------- 2. unreadable folders


@pytest.mark.parametrize("git_mode", [False, True], ids=["walk", "git"])
def test_an_unreadable_folder_is_skipped_with_its_reason_and_the_run_goes_on(tree, git_mode):
    nobody()
    (tree / "app.py").write_text(LEGACY)
    for name in ("private", "locked_env"):
        (tree / name).mkdir()
        (tree / name / "inner.py").write_text(LEGACY)
    (tree / "locked_env" / "pyvenv.cfg").write_text("home = /usr\n")  # the is-it-a-virtualenv probe used to crash here
    if git_mode:
        git_commit_all(tree)
    give_away(tree)
    (tree / "private").chmod(0o000)  # neither listable nor searchable
    (tree / "locked_env").chmod(0o600)  # listable, not searchable
    result = flm_as_nobody("fix", ".", cwd=tree)
    assert "internal error" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    assert PORTED in (tree / "app.py").read_text()
    assert "skipped private: cannot read folder: Permission denied" in result.stderr
    assert "skipped locked_env: cannot read folder: Permission denied" in result.stderr


def test_a_named_unreadable_folder_is_an_error(tree):
    nobody()
    (tree / "private").mkdir()
    give_away(tree)
    (tree / "private").chmod(0o000)
    result = flm_as_nobody("check", "private", cwd=tree)
    assert result.returncode == 2
    assert "error: private: cannot read folder: Permission denied" in result.stderr


# --------------------------------------------------------------------------- 3. symlinks


def test_a_symlink_is_never_replaced_and_its_target_is_ported_once(tree):
    (tree / "b_real.py").write_text(LEGACY)
    (tree / "a_link.py").symlink_to("b_real.py")  # sorts before its target
    (tree / "c_link.py").symlink_to(tree / "b_real.py")  # and after it, absolute
    outside = shared_tree()
    try:
        (outside / "theirs.py").write_text(LEGACY)
        (tree / "d_out.py").symlink_to(outside / "theirs.py")
        result = flm("fix", "--format", "json", ".", cwd=tree)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["changed_files"] == ["b_real.py"]
        assert PORTED in (tree / "b_real.py").read_text()
        assert os.readlink(tree / "a_link.py") == "b_real.py" and (tree / "c_link.py").is_symlink()
        assert (outside / "theirs.py").read_text() == LEGACY and (tree / "d_out.py").is_symlink()
        assert "skipped d_out.py: symlink to a file outside the root (not followed)" in result.stderr
    finally:
        remove(outside)


def test_a_named_symlink_ports_its_target(tree):
    (tree / "real.py").write_text(LEGACY)
    (tree / "link.py").symlink_to("real.py")
    result = flm("fix", "link.py", "real.py", cwd=tree)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("fixed real.py") == 1
    assert (tree / "link.py").is_symlink() and PORTED in (tree / "real.py").read_text()


def test_write_refuses_a_symlink(tree):
    (tree / "real.py").write_text("old")
    (tree / "link.py").symlink_to("real.py")
    with pytest.raises(NotWritten, match="symlink"):
        write_atomically(tree / "link.py", b"new", b"old")
    assert (tree / "link.py").is_symlink() and (tree / "real.py").read_text() == "old"


# --------------------------------------------------------------------------- 4. modes, owners, hard links


def test_a_read_only_file_is_not_rewritten_and_the_run_fails(tree):
    path = tree / "frozen.py"
    path.write_text(LEGACY)
    path.chmod(0o444)
    (tree / "ok.py").write_text(LEGACY)
    result = flm("fix", ".", cwd=tree)  # as root too: the write bit is respected, not just enforced
    assert result.returncode == 2
    assert path.read_text() == LEGACY and stat.S_IMODE(path.stat().st_mode) == 0o444
    assert "error: frozen.py: not written: read-only: no write permission" in result.stderr
    assert "fixed frozen.py" not in result.stderr and "fixed ok.py" in result.stderr


def test_owner_and_group_are_kept_when_run_as_root(tree):
    user = nobody()
    if user is None:
        pytest.skip("only root can give a file away")
    path = tree / "theirs.py"
    path.write_text(LEGACY)
    os.chown(path, user.pw_uid, user.pw_gid)
    assert flm("fix", ".", cwd=tree).returncode == 0
    assert PORTED in path.read_text()
    assert (path.stat().st_uid, path.stat().st_gid) == (user.pw_uid, user.pw_gid)


def test_a_hard_linked_file_is_skipped_with_a_reason_not_split(tree):
    (tree / "one.py").write_text(LEGACY)
    os.link(tree / "one.py", tree / "two.py")
    result = flm("fix", ".", cwd=tree)
    assert result.returncode == 2
    assert "error: one.py: not written: has 2 hard links" in result.stderr
    assert os.stat(tree / "one.py").st_ino == os.stat(tree / "two.py").st_ino
    assert (tree / "one.py").read_text() == LEGACY


# --------------------------------------------------------------------------- 5. the write window


def test_an_edit_landing_while_the_temp_file_is_written_is_not_lost(tree, monkeypatch):
    path = tree / "busy.py"
    path.write_bytes(b"ours")
    real_fsync = os.fsync

    def someone_saves_meanwhile(fd):
        path.write_bytes(b"theirs")  # an editor saving between our check of the bytes and the rename
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", someone_saves_meanwhile)
    with pytest.raises(NotWritten, match="changed on disk"):
        write_atomically(path, b"ported", b"ours")
    assert path.read_bytes() == b"theirs"
    assert [p.name for p in tree.iterdir()] == ["busy.py"]


# --------------------------------------------------------------------------- 7. debris of a killed run


def test_stale_temp_files_are_removed_by_the_next_fix_but_a_live_one_is_kept(tree):
    import fcntl

    (tree / "app.py").write_text(LEGACY)
    stale = tree / ".app.py.k3x_9q2a.flm-tmp"
    live = tree / ".app.py.zz00zz00.flm-tmp"
    young = tree / ".app.py.abcdefgh.flm-tmp"
    foreign = tree / ".app.py.keepme.tmp"
    for debris in (stale, live, young, foreign):
        debris.write_text("half a file")
    for debris in (stale, live, foreign):
        os.utime(debris, (time.time() - 60, time.time() - 60))
    os.utime(young, (time.time() + 3600, time.time() + 3600))  # just written: mkstemp, not yet locked
    holder = os.open(live, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # a write in progress in another run
    try:
        result = flm("fix", ".", cwd=tree)
    finally:
        os.close(holder)
    assert result.returncode == 0, result.stderr
    assert "removed .app.py.k3x_9q2a.flm-tmp (a temp file left by an interrupted run)" in result.stderr
    assert not stale.exists() and live.exists() and young.exists() and foreign.exists()
    assert remove_stale_temps([tree]) == [live]  # its writer is gone now


WORKERS_DRIVER = r"""
import sys, time
from pathlib import Path
from migrate.codemod import engine, kinds
from migrate.settings import Settings

def slow(path, data, settings):
    time.sleep(60)

kinds.migrate_file = slow
paths = sorted(Path(sys.argv[1]).glob("*.py"))
print("ready", flush=True)
engine.process_files(paths, Settings(jobs=2))
"""


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the workers")
def test_workers_exit_when_their_parent_is_killed(tree):
    for i in range(8):
        (tree / f"m{i}.py").write_text(LEGACY)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    parent = subprocess.Popen([sys.executable, "-c", WORKERS_DRIVER, str(tree)], stdout=subprocess.PIPE, env=env)
    try:
        assert parent.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 30
        while len(workers := _children(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers) >= 2
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{w}").exists() and "Z" != _state(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if Path(f"/proc/{w}").exists() and _state(w) != "Z"]
    finally:
        parent.kill()
        for w in _children(parent.pid):
            os.kill(w, signal.SIGKILL)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


# --------------------------------------------------------------------------- 8. failed writes are not "fixed"


def test_a_write_that_fails_is_reported_as_an_error_not_as_fixed(tree):
    nobody()
    (tree / "pkg").mkdir()
    (tree / "pkg" / "a.py").write_text(LEGACY)
    give_away(tree)
    (tree / "pkg").chmod(0o555)  # the file is writable, its folder is not: the rename fails
    result = flm_as_nobody("fix", "--format", "json", ".", cwd=tree)
    assert result.returncode == 2, result.stderr
    document = json.loads(result.stdout)
    assert document["changed_files"] == []
    assert not any(f["applied"] for f in document["findings"])
    assert document["summary"]["changed"] == 0 and document["summary"]["errors"] == 1
    assert "error: pkg/a.py: not written: Permission denied" in result.stderr
    text = flm_as_nobody("fix", ".", cwd=tree)
    assert "fixed pkg/a.py" not in text.stderr and ", 0 changed," in text.stderr
    assert (tree / "pkg" / "a.py").read_text() == LEGACY


# --------------------------------------------------------------------------- 9. no silent skips


@pytest.mark.parametrize("make", [os.mkfifo, None], ids=["fifo", "device"])
def test_a_fifo_or_device_named_on_the_command_line_is_an_error(tree, make):
    if make is None:
        named = "/dev/null"
    else:
        make(tree / "pipe.py")
        named = "pipe.py"
    (tree / "ok.py").write_text(LEGACY)
    result = flm("check", named, "ok.py", cwd=tree)
    assert result.returncode == 2
    kind = "a FIFO" if make else "a device"
    assert f"error: {named}: not a regular file or folder ({kind})" in result.stderr
    assert "would fix ok.py" in result.stderr  # the other path was still checked


def test_a_fifo_found_in_a_folder_is_skipped_with_a_reason_not_opened(tree):
    os.mkfifo(tree / "pipe.py")
    result = flm("check", ".", cwd=tree)
    assert result.returncode == 0
    assert "skipped pipe.py: not a regular file (a FIFO)" in result.stderr


def test_an_nbformat_3_notebook_is_skipped_with_a_reason(tree):
    cell = {"cell_type": "code", "input": LEGACY.splitlines(keepends=True), "language": "python", "outputs": []}
    notebook = {"metadata": {"name": "old"}, "nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": [cell], "metadata": {}}]}
    (tree / "old.ipynb").write_text(json.dumps(notebook, indent=1))
    result = flm("check", ".", cwd=tree)
    assert "skipped old.ipynb: nbformat 3 notebook (cells under `worksheets`) is not read" in result.stderr


# --------------------------------------------------------------------------- 1. size limit, dying workers


def test_a_file_over_the_size_limit_is_skipped_with_its_reason_and_the_limit_can_be_raised(tree):
    (tree / "gen.py").write_text(LEGACY + "DATA = [\n" + '    "x" * 40,\n' * 2000 + "]\n")
    result = flm("check", "--max-file-size", "16KB", ".", cwd=tree)
    assert result.returncode == 0
    assert "skipped gen.py: too large: 27 KiB is over the 16 KiB limit for one file" in result.stderr
    named = flm("fix", "--max-file-size", "16KB", "gen.py", cwd=tree)  # a named path that is skipped is an error
    assert named.returncode == 2 and "gen.py: too large" in named.stderr
    assert flm("check", "--max-file-size", "1MB", ".", cwd=tree).returncode == 1
    (tree / "pyproject.toml").write_text('[tool.flashlite-migrate]\nmax-file-size = "16KB"\n')
    assert "too large" in flm("check", ".", cwd=tree).stderr
    assert "expected a size" in flm("check", "--max-file-size", "lots", ".", cwd=tree).stderr


def test_a_big_generated_file_is_skipped_without_being_parsed(tree, monkeypatch):
    """8.5 MB of calls took minutes and gigabytes to parse; now it stops at the size check (timed in bench/hostile_bench.py)."""
    (tree / "huge.py").write_bytes(LEGACY.encode() + b"x = model.generate_content('hi')\n" * 280_000)

    def never(path, data, settings):
        raise AssertionError("parsed a file over the size limit")

    monkeypatch.setattr(kinds, "migrate_file", never)
    result = engine.process_files([tree / "huge.py"], Settings())[0]
    assert result.status == "skipped" and result.reason.startswith("too large: 8.")


def _notebook(code: str, output_bytes: int) -> str:
    output = {"output_type": "display_data", "metadata": {}, "data": {"image/png": "A" * output_bytes}}
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [output], "source": code}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_a_notebook_is_measured_by_its_code_so_big_outputs_do_not_skip_it(tree):
    """Sample notebooks carry megabytes of images in their outputs; 4 of generative-ai's were skipped for it."""
    (tree / "pictures.ipynb").write_text(_notebook(LEGACY, 2 * 1024 * 1024))
    result = engine.process_files([tree / "pictures.ipynb"], Settings())[0]
    assert result.status == "changed", result.reason
    (tree / "generated.ipynb").write_text(_notebook(LEGACY + "x = 1\n" * 3000, 10))
    result = engine.process_files([tree / "generated.ipynb"], Settings(max_file_size=16 * 1024))[0]
    assert result.status == "skipped" and "limit for the code cells of one notebook" in result.reason
    (tree / "bloated.ipynb").write_text(_notebook(LEGACY, 40 * 1024))
    result = engine.process_files([tree / "bloated.ipynb"], Settings(max_file_size=1024))[0]
    assert result.status == "skipped" and "for a notebook file (32x the code limit)" in result.reason


def _dies_on_bomb(how):
    real = kinds.migrate_file

    def migrate(path, data, settings):
        if Path(path).name.startswith("bomb"):
            if how == "memory":
                raise MemoryError
            faulthandler.disable()  # pytest's handler would print a traceback for the SIGABRT
            os.kill(os.getpid(), how)
        return real(path, data, settings)

    return migrate


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGABRT, "memory"], ids=["SIGKILL", "SIGABRT", "MemoryError"])
@pytest.mark.parametrize("jobs", [2, 1])
def test_a_worker_dying_is_that_files_error_and_the_others_finish(tree, monkeypatch, how, jobs):
    for i in range(12):
        (tree / f"m{i:02}.py").write_text(LEGACY)
    bomb = tree / "bomb.py"
    bomb.write_text(LEGACY + "# padding\n" * 30_000)  # 300 KB: big enough to be isolated even with one job
    monkeypatch.setattr(kinds, "migrate_file", _dies_on_bomb(how))
    outcome = project.run([tree], Overrides(jobs=jobs, as_of=Settings().today()), use_cache=False)
    by_name = {r.path.name: r for r in outcome.results}
    assert by_name["bomb.py"].status == "error"
    expected = "out of memory" if how == "memory" else f"worker process died while processing this file (killed by {signal.Signals(how).name}"
    assert expected in by_name["bomb.py"].reason
    assert all(by_name[f"m{i:02}.py"].status == "changed" for i in range(12))


def test_discover_reports_skips_to_a_caller_that_asks(tree):
    os.mkfifo(tree / "p.py")
    (tree / "a.py").write_text("")
    skips = []
    assert [p.name for p in discover([tree], ("*.py",), (), skips)] == ["a.py"]
    assert [(s.path.name, s.reason, s.named) for s in skips] == [("p.py", "not a regular file (a FIFO)", False)]


def test_a_big_module_planned_again_for_a_shared_object_runs_in_its_own_process(tree, monkeypatch):
    """plan_shared processes a module once more with its FLM226 blockers: a big one must not run in
    the run's own process (out of memory there ends the whole run, with no report)."""
    padding = "# padding\n" * 30_000  # 300 KB: isolated even with one job
    (tree / "bomb.py").write_text(LEGACY + padding)
    (tree / "user.py").write_text("from bomb import model\nprint(model.generate_content('y').text)\n")
    real = kinds.migrate_file
    test_process = os.getpid()

    def migrate(path, data, settings):
        if Path(path).name == "bomb.py" and settings.forced_blockers and os.getpid() == test_process:
            raise MemoryError
        return real(path, data, settings)

    monkeypatch.setattr(kinds, "migrate_file", migrate)
    outcome = project.run([tree], Overrides(jobs=1, as_of=Settings().today()), use_cache=False)
    bomb = next(r for r in outcome.results if r.path.name == "bomb.py")
    assert bomb.status == "changed" and bomb.port == "not-ported", bomb.reason
    assert "FLM226" in {f.rule for f in bomb.findings}
