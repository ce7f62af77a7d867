"""Which files to look at, and byte-faithful reading and writing of them.

Discovery: inside a git work tree, the files git tracks plus untracked ones it does not ignore;
elsewhere a walk that honours .gitignore files. Virtualenvs, site-packages, node_modules and
build folders are always skipped. Paths are deduplicated on the file they really name: a symlink
is replaced by its target when that is inside the root (and left out, with a reason, when not), so
a file is ported once and a link is never overwritten. What discovery cannot use (an unreadable
folder, a FIFO) is reported as a Skip with its reason; a path named on the command line that
cannot be used is a Skip marked `named`, which the run treats as an error.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import pathspec

from migrate.errors import UserError
from migrate.settings import DEFAULT_EXCLUDES

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: temp files are cleaned by age alone
    fcntl = None  # type: ignore[assignment]

TEMP_SUFFIX = ".flm-tmp"
# `.{name}.{8 random characters}.flm-tmp`, as tempfile.mkstemp makes it in write_atomically.
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX) + r"$")
STALE_AFTER_S = 2.0


def read_bytes(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


# --------------------------------------------------------------------------- writing


class NotWritten(OSError):
    """A write refused to keep the file safe; str() is the reason."""


def _identity(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def write_atomically(path: Path, data: bytes, expected_old: bytes) -> None:
    """Replace a file's bytes via a locked temp file and a rename, keeping mode, owner and group.

    Refuses (NotWritten) a symlink, a file with several hard links (a rename would split them), a
    file without write permission, a file whose owner or group could not be kept, and a file that
    changed on disk since it was read - checked on its bytes first, then on its inode, size, mtime
    and ctime once more right before the rename, so the unprotected window is that one syscall.
    """
    if os.path.islink(path):
        raise NotWritten("is a symlink (links are never replaced; the target is ported under its own name)")
    with open(path, "rb") as handle:
        before = os.fstat(handle.fileno())
        current = handle.read()
    if current != expected_old:
        raise NotWritten("changed on disk during the run")
    if before.st_nlink > 1:
        raise NotWritten(f"has {before.st_nlink} hard links (replacing it would split them; break the link or apply --patch-file)")
    if not before.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise NotWritten("read-only: no write permission (make it writable to let flm fix it)")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until closed: a locked temp file is never "stale"
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        _keep_owner(fd, before)
        os.fchmod(fd, stat.S_IMODE(before.st_mode))  # after chown, which may clear set-id bits
        if _identity(os.lstat(path)) != _identity(before):
            raise NotWritten("changed on disk during the run")
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)


def _keep_owner(fd: int, before: os.stat_result) -> None:
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) == (before.st_uid, before.st_gid) or not hasattr(os, "fchown"):
        return
    try:
        os.fchown(fd, before.st_uid, before.st_gid)
    except PermissionError:
        raise NotWritten("its owner and group could not be kept (run as its owner)") from None


def remove_stale_temps(folders: Iterable[Path]) -> list[Path]:
    """Delete temp files of write_atomically's naming that no live writer holds (a killed run's debris)."""
    removed = []
    for folder in sorted(set(folders)):
        try:
            entries = [e for e in os.scandir(folder) if _TEMP_NAME.match(e.name)]
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if _stale(path):
                try:
                    path.unlink()
                    removed.append(path)
                except OSError:
                    pass
    return removed


def _stale(path: Path) -> bool:
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or time.time() - st.st_mtime < STALE_AFTER_S:
            return False
        if fcntl is None:
            return True
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False  # a running write holds it
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- discovery


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


@dataclass(frozen=True)
class Skip:
    """A path discovery could not use, and why. `named`: given on the command line (an error)."""

    path: Path
    reason: str
    named: bool = False


def discover(
    inputs: Iterable[str | Path],
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    skipped: list[Skip] | None = None,
) -> list[Path]:
    """Every file to consider, sorted, each real file once. A missing input is a UserError.

    What cannot be used is appended to `skipped` (when given) with its reason.
    """
    selection = Selection(include, exclude)
    skips: dict[str, Skip] = {}
    found: dict[str, Path] = {}  # real path -> the path we report
    for raw in inputs:
        path = Path(raw)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if not os.path.islink(path):
                raise UserError(f"{raw}: no such file or directory") from None
            skips.setdefault(str(path), Skip(path, "broken symlink", named=True))
            continue
        except OSError as exc:
            skips.setdefault(str(path), Skip(path, f"cannot read: {exc.strerror or exc}", named=True))
            continue
        if stat.S_ISDIR(st.st_mode):
            for real, file in _discover_dir(path, selection, skips):
                found.setdefault(real, file)
        elif not stat.S_ISREG(st.st_mode):
            skips.setdefault(str(path), Skip(path, f"not a regular file or folder ({_kind(st)})", named=True))
        elif not _user_excluded_file(path, selection):
            real = os.path.realpath(path)
            found.setdefault(real, _shown(real) if os.path.islink(path) else path)
    if skipped is not None:
        skipped.extend(skips[key] for key in sorted(skips))
    return sorted(found.values(), key=lambda p: os.path.normpath(str(p)))


def _shown(real: str) -> Path:
    """How to name a symlink's target: relative to the current folder when it is below it."""
    relative = os.path.relpath(real)
    return Path(real) if relative.startswith("..") else Path(relative)


def _kind(st: os.stat_result) -> str:
    mode = st.st_mode
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _user_excluded_file(path: Path, selection: Selection) -> bool:
    return selection._user_excluded(path.as_posix().lstrip("./"))


def _discover_dir(root: Path, selection: Selection, skips: dict[str, Skip]) -> Iterator[tuple[str, Path]]:
    """(real path, path to report) for every wanted regular file below root."""
    real_root = os.path.realpath(root)
    listed = _git_files(root, skips)
    candidates = listed if listed is not None else _walk(root, selection, skips)
    for relative in candidates:
        if not selection.wanted(relative):
            continue
        path = root / relative
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue  # listed by git, deleted in the work tree
        except OSError as exc:
            folder = _blocked_folder(root, relative)
            skips.setdefault(str(folder), Skip(folder, f"cannot read folder: {exc.strerror or exc}", named=folder == root))
            continue
        if stat.S_ISLNK(st.st_mode):
            target = _link_target(path, real_root, selection)
            if isinstance(target, str):
                skips.setdefault(str(path), Skip(path, target))
            elif target is not None:
                yield os.path.join(real_root, target), root / target
        elif stat.S_ISREG(st.st_mode):
            yield os.path.join(real_root, relative), path
        else:
            skips.setdefault(str(path), Skip(path, f"not a regular file ({_kind(st)})"))


def _link_target(link: Path, real_root: str, selection: Selection) -> str | Path | None:
    """The target relative to the root (a Path), a skip reason (a str), or None when it is simply not wanted."""
    real = os.path.realpath(link)
    relative = os.path.relpath(real, real_root)
    if relative == ".." or relative.startswith(".." + os.sep) or os.path.isabs(relative):
        return "symlink to a file outside the root (not followed)"
    try:
        st = os.stat(real)
    except OSError as exc:
        return "broken symlink" if exc.errno in (errno.ENOENT, errno.ELOOP) else f"cannot read: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return None  # a link to a folder: not followed, like git and os.walk
    posix = relative.replace(os.sep, "/")
    return Path(posix) if selection.wanted(posix) else None


def _blocked_folder(root: Path, relative: str) -> Path:
    """The deepest folder on the way to `relative` that could not be searched."""
    parts = relative.split("/")
    folder = root
    for part in parts:
        try:
            os.lstat(folder / part)
        except OSError:
            return folder
        folder = folder / part
    return folder.parent


_GIT_UNREADABLE = re.compile(r"could not open directory '(.+?)': (.+)$")


def _git_files(root: Path, skips: dict[str, Skip]) -> list[str] | None:
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
    for line in listed.stderr.decode("utf-8", "replace").splitlines():
        match = _GIT_UNREADABLE.search(line)  # git goes on past a folder it cannot open; so do we, saying so
        if match:
            folder = root / match.group(1).rstrip("/")
            skips.setdefault(str(folder), Skip(folder, f"cannot read folder: {match.group(2)}"))
    names = [n.decode("utf-8", "surrogateescape") for n in listed.stdout.split(b"\0") if n]
    return sorted(set(names))


def _walk(root: Path, selection: Selection, skips: dict[str, Skip]) -> Iterator[str]:
    """os.walk that honours every .gitignore on the way down, prunes excluded folders and reports unreadable ones."""

    def unreadable(exc: OSError) -> None:
        folder = Path(exc.filename) if exc.filename else root
        skips.setdefault(str(folder), Skip(folder, f"cannot read folder: {exc.strerror or exc}", named=folder == root))

    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []
    for directory, dirnames, filenames in os.walk(root, onerror=unreadable):
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
    try:
        return stat.S_ISREG(os.stat(path / "pyvenv.cfg").st_mode)
    except OSError:
        return False  # an unreadable folder is reported when the walk tries to enter it
