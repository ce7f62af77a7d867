"""Which files to look at, and byte-faithful reading and writing of them.

Discovery: inside a git work tree, the files git tracks plus untracked ones it does not ignore;
elsewhere a walk that honours .gitignore files. Virtualenvs, site-packages, node_modules and
build folders are always skipped, and so is a symlink that leads outside the root.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import pathspec

from migrate.errors import UserError
from migrate.settings import DEFAULT_EXCLUDES


def read_bytes(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def write_atomically(path: Path, data: bytes, expected_old: bytes) -> None:
    """Replace a file's bytes via a temp file and rename, keeping its mode.

    Refuses (OSError) if the file changed on disk since it was read, so a concurrent edit is not lost.
    """
    if read_bytes(path) != expected_old:
        raise OSError(f"{path} changed on disk during the run; not written")
    mode = os.stat(path).st_mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".flm-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class Selection:
    include: tuple[str, ...]
    exclude: tuple[str, ...]

    def excluded_dir(self, name: str) -> bool:
        return any(fnmatch.fnmatch(name, pattern) for pattern in DEFAULT_EXCLUDES)

    def wanted(self, relative: str) -> bool:
        name = relative.rsplit("/", 1)[-1]
        if not any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(relative, p) for p in self.include):
            return False
        parts = relative.split("/")
        if any(self.excluded_dir(part) for part in parts[:-1]):
            return False
        return not self._user_excluded(relative)

    def _user_excluded(self, relative: str) -> bool:
        if not self.exclude:
            return False
        return _exclude_spec(self.exclude).match_file(relative)


_SPEC_CACHE: dict[tuple[str, ...], pathspec.GitIgnoreSpec] = {}


def _exclude_spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    if patterns not in _SPEC_CACHE:
        _SPEC_CACHE[patterns] = pathspec.GitIgnoreSpec.from_lines(patterns)
    return _SPEC_CACHE[patterns]


def discover(inputs: Iterable[str | Path], include: tuple[str, ...], exclude: tuple[str, ...]) -> list[Path]:
    """Every file to consider, sorted and without duplicates. A missing input is a UserError."""
    selection = Selection(include, exclude)
    found: dict[str, Path] = {}
    for raw in inputs:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise UserError(f"{raw}: no such file or directory")
        if path.is_file():
            if not _user_excluded_file(path, selection):
                found.setdefault(os.path.normpath(str(path)), path)
            continue
        for file in _discover_dir(path, selection):
            found.setdefault(os.path.normpath(str(file)), file)
    return [found[key] for key in sorted(found)]


def _user_excluded_file(path: Path, selection: Selection) -> bool:
    return selection._user_excluded(path.as_posix().lstrip("./"))


def _discover_dir(root: Path, selection: Selection) -> Iterator[Path]:
    listed = _git_files(root)
    real_root = root.resolve()
    candidates = listed if listed is not None else _walk(root, selection)
    for relative in candidates:
        if not selection.wanted(relative):
            continue
        path = root / relative
        if path.is_symlink() and not _inside(path, real_root):
            continue
        if path.is_file():
            yield path


def _inside(path: Path, real_root: Path) -> bool:
    try:
        path.resolve().relative_to(real_root)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def _git_files(root: Path) -> list[str] | None:
    """Tracked plus untracked-but-not-ignored files below root, or None when root is not in a git work tree."""
    try:
        inside = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--is-inside-work-tree"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return None
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
            capture_output=True, timeout=120,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if listed.returncode != 0:
        return None
    names = [n.decode("utf-8", "surrogateescape") for n in listed.stdout.split(b"\0") if n]
    return sorted(set(names))


def _walk(root: Path, selection: Selection) -> Iterator[str]:
    """os.walk that honours every .gitignore on the way down and prunes excluded folders."""
    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []
    for directory, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(directory, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir
        specs = [(base, spec) for base, spec in specs if rel_dir == base or rel_dir.startswith(base + "/") or base == ""]
        if ".gitignore" in filenames:
            try:
                lines = Path(directory, ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
                specs.append((rel_dir, pathspec.GitIgnoreSpec.from_lines(lines)))
            except OSError:
                pass

        def ignored(relative: str, is_dir: bool) -> bool:
            for base, spec in specs:
                below = relative[len(base) + 1 :] if base else relative
                if spec.match_file(below + ("/" if is_dir else "")):
                    return True
            return False

        kept = []
        for name in sorted(dirnames):
            relative = f"{rel_dir}/{name}" if rel_dir else name
            if selection.excluded_dir(name) or ignored(relative, True) or _is_virtualenv(Path(directory, name)):
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            relative = f"{rel_dir}/{name}" if rel_dir else name
            if not ignored(relative, False):
                yield relative


def _is_virtualenv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file()
