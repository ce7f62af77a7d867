"""Discovery (git-aware, .gitignore, excludes, symlinks) and atomic, mode-keeping writes."""

import os
import subprocess

import pytest

from migrate.codemod.files import discover, write_atomically
from migrate.errors import UserError

INCLUDE = ("*.py", "*.pyi")


def make(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def names(root, found):
    return sorted(p.relative_to(root).as_posix() for p in found)


def test_walk_honours_gitignore_and_skips_tool_folders(tmp_path):
    make(tmp_path, {
        "app/main.py": "", "app/notes.txt": "", ".gitignore": "generated/\n*_pb2.py\n",
        "app/.gitignore": "local_*.py\n", "app/local_settings.py": "", "app/api_pb2.py": "",
        "generated/out.py": "", "node_modules/x/y.py": "", "build/lib/z.py": "",
        "venv2/pyvenv.cfg": "", "venv2/lib/site.py": "", "lib/site-packages/pkg/m.py": "", "stubs/a.pyi": "",
    })  # fmt: skip
    assert names(tmp_path, discover([tmp_path], INCLUDE, ())) == ["app/main.py", "stubs/a.pyi"]


def test_include_and_exclude_globs(tmp_path):
    make(tmp_path, {"a/x.py": "", "a/tests/test_x.py": "", "b/y.py": "", "b/y.pyi": ""})
    assert names(tmp_path, discover([tmp_path], ("*.py",), ("tests/", "b/*.py"))) == ["a/x.py"]


def test_explicit_file_and_missing_path(tmp_path):
    make(tmp_path, {"one.py": ""})
    assert discover([tmp_path / "one.py"], INCLUDE, ()) == [tmp_path / "one.py"]
    with pytest.raises(UserError, match="no such file or directory"):
        discover([tmp_path / "nope"], INCLUDE, ())


def test_symlinks_leaving_the_root_are_not_followed_and_links_inside_it_become_their_target(tmp_path):
    outside, root = tmp_path / "outside", tmp_path / "root"
    make(outside, {"secret.py": ""})
    make(root, {"real.py": ""})
    (root / "escape.py").symlink_to(outside / "secret.py")
    (root / "linked_dir").symlink_to(outside, target_is_directory=True)
    (root / "inside.py").symlink_to(root / "real.py")
    assert names(root, discover([root], INCLUDE, ())) == ["real.py"]


def test_git_work_tree_lists_tracked_and_untracked_not_ignored(tmp_path):
    make(tmp_path, {"tracked.py": "", "new.py": "", "ignored.py": "", ".gitignore": "ignored.py\n", "sub/deep.py": ""})
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "tracked.py", ".gitignore"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    assert names(tmp_path, discover([tmp_path], INCLUDE, ())) == ["new.py", "sub/deep.py", "tracked.py"]
    assert names(tmp_path, discover([tmp_path / "sub"], INCLUDE, ())) == ["sub/deep.py"]


def test_write_is_atomic_and_keeps_the_mode(tmp_path):
    path = tmp_path / "tool.py"
    path.write_bytes(b"old\r\n")
    os.chmod(path, 0o755)
    write_atomically(path, b"new\r\n", b"old\r\n")
    assert path.read_bytes() == b"new\r\n"
    assert os.stat(path).st_mode & 0o777 == 0o755
    assert os.listdir(tmp_path) == ["tool.py"]


def test_write_refuses_a_file_changed_since_it_was_read(tmp_path):
    path = tmp_path / "f.py"
    path.write_bytes(b"edited by someone else")
    with pytest.raises(OSError, match="changed on disk"):
        write_atomically(path, b"ours", b"what we read")
    assert path.read_bytes() == b"edited by someone else"
