"""Run `flm` as a user the file modes apply to. Root ignores permission bits, so a test of
"unreadable folder" or "read-only folder" means nothing as root: as root we fork, drop to the
`nobody` user and call the CLI in the child; as anyone else the CLI runs as a plain subprocess."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_cli import flm

LEGACY = 'import google.generativeai as genai\nmodel = genai.GenerativeModel("gemini-1.5-pro")\nprint(model.generate_content("hi").text)\n'


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def nobody() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no `nobody` user to drop to: file modes cannot be tested")


def shared_tree() -> Path:
    """A fresh folder the unprivileged user can reach (pytest's tmp_path sits below a 0700 folder)."""
    root = Path(tempfile.mkdtemp(prefix="flm-hostile-"))
    root.chmod(0o755)
    return root


def give_away(root: Path) -> None:
    """Hand the tree to the unprivileged user (a no-op when the tests do not run as root)."""
    user = nobody()
    if user is None:
        return
    for folder, dirnames, filenames in os.walk(root):
        for name in [folder, *(os.path.join(folder, n) for n in dirnames + filenames)]:
            os.lchown(name, user.pw_uid, user.pw_gid)


def remove(root: Path) -> None:
    for folder, dirnames, _ in os.walk(root):
        for name in dirnames:
            os.chmod(os.path.join(folder, name), 0o755)
    shutil.rmtree(root, ignore_errors=True)


def _warm_up(args: tuple[str, ...], cwd: Path) -> None:
    """Import every module the same command needs before dropping privileges: the interpreter may
    live below /root. A forked child runs the command as root on a copy of the tree and names the
    modules it ended up with; this process imports them, so the unprivileged child inherits them."""
    import importlib

    copy = Path(tempfile.mkdtemp()) / "tree"
    shutil.copytree(cwd, copy, symlinks=True)
    names = _in_child(lambda: (_main(args, copy), "\n".join(sorted(sys.modules)))[1])
    remove(copy.parent)
    for name in names.splitlines():
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that only imports in its own context
            pass


def _main(args: tuple[str, ...], cwd: Path) -> int:
    os.chdir(cwd)
    os.environ.update(HOME=str(cwd), NO_COLOR="1", FLM_CACHE_DIR=str(cwd / ".flm_cache"))
    sys.argv = ["flm", *args, *(["--as-of", "2026-11-24"] if args[0] in ("scan", "fix", "check") else [])]
    from migrate.cli import main

    try:
        main()
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


def _in_child(work, before=lambda: None) -> str:
    """work()'s text from a forked child, whose own stdout/stderr are discarded."""
    reader, writer = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(reader)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            before()
            text = work()
            os.write(writer, text.encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return data.decode()


def flm_as_nobody(*args: str, cwd: Path) -> Ran:
    user = nobody()
    if user is None:
        result = flm(*args, cwd=cwd)
        return Ran(result.returncode, result.stdout, result.stderr)
    _warm_up(args, cwd)
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()

    def drop_privileges() -> None:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        os.chdir(cwd)
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    def run() -> str:
        try:
            code = _main(args, cwd)
        except BaseException:  # noqa: BLE001 - report anything to the parent through stderr
            import traceback

            traceback.print_exc()
            code = 70
        sys.stdout.flush()
        sys.stderr.flush()
        return str(code)

    code = _in_child(run, drop_privileges)
    out.seek(0)
    err.seek(0)
    return Ran(int(code or 70), out.read().decode(), err.read().decode())


def git_commit_all(root: Path) -> None:
    git = ["git", "-C", str(root), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
