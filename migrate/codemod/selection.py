"""Only what changed: `--staged` (the files of the next commit) and `--changed-since REF`.

`--changed-since REF` means the files that differ between the working tree and the point where
the current branch left REF (`git merge-base REF HEAD`), plus untracked files git does not ignore:
what a pull request would contain, not what REF gained since. Deleted files are left out. Both
options together select the union. The discovered files are narrowed to these, so include/exclude
and the config still apply.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable, Iterable

from migrate.errors import UserError


def _git(cwd: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(f"git {args[0]}: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UserError(f"git {' '.join(args[:2])}: {message[-1] if message else 'failed'}")
    return done.stdout


def _names(output: bytes, root: Path) -> set[str]:
    return {os.path.realpath(root / n.decode("utf-8", "surrogateescape")) for n in output.split(b"\0") if n}


def changed_files(where: Path, since: str | None = None, staged: bool = False) -> set[str]:
    """Real paths of the selected files, for the git work tree that holds `where`."""
    folder = where if where.is_dir() else where.parent
    try:
        root = Path(_git(folder, "rev-parse", "--show-toplevel").decode().strip())
    except UserError:
        raise UserError(f"--staged/--changed-since need a git work tree; {folder} is not in one") from None
    selected: set[str] = set()
    if staged:
        selected |= _names(_git(root, "diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR"), root)
    if since is not None:
        try:
            _git(root, "rev-parse", "--verify", "--quiet", f"{since}^{{commit}}")
        except UserError:
            raise UserError(f"--changed-since: {since!r} is not a commit, branch or tag in {root}") from None
        try:
            base = _git(root, "merge-base", since, "HEAD").decode().strip()
        except UserError:  # unrelated histories: compare with the ref itself
            base = since
        selected |= _names(_git(root, "diff", "--name-only", "-z", "--diff-filter=ACMR", base, "--"), root)
        selected |= _names(_git(root, "ls-files", "--others", "--exclude-standard", "-z"), root)
    return selected


def narrower(inputs: Iterable[str | Path], since: str | None, staged: bool) -> Callable[[list[Path]], list[Path]] | None:
    """A filter for the discovered paths, or None when no selection was asked for."""
    if since is None and not staged:
        return None
    first = next(iter(inputs), ".")
    selected = changed_files(Path(first), since, staged)
    return lambda paths: [p for p in paths if os.path.realpath(p) in selected]
