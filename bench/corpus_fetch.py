"""Build a corpus of the LEGACY versions of a repository's Gemini code from its git history.

Public sample repositories have mostly been migrated to google-genai at HEAD; their legacy code lives
in history. Selection, deterministic for a given git dir and ref:

* Walk ``git log --raw --no-renames REF`` (newest first, REF's own history) over ``*.py`` / ``*.ipynb``
  (optionally only under ``--under`` folders) and list, for every path, each blob it had.
* A path's corpus version is its NEWEST blob that still imports a legacy SDK (``LEGACY_IMPORT``:
  google.generativeai, google.ai.generativelanguage, vertexai[.preview].generative_models /
  language_models / vision_models / tuning / caching / batch_prediction). That is HEAD's version if HEAD
  is still legacy, else the blob at the parent of the commit that removed the legacy import (or of the
  commit that deleted the file). Blobs absent from a partial mirror are skipped, falling back to the
  next older legacy version; paths with no readable legacy version are listed as missing.
* So cross-module imports still resolve, every other ``.py`` file in the directory of a selected
  ``.py`` file is added at the commit of that directory's newest selected file (if it existed there).

Writes the files under OUT_DIR keeping the repository layout, and a manifest (path -> commit, date,
blob; counts) next to it as ``OUT_DIR.manifest.json``, outside the corpus.

    python bench/corpus_fetch.py GIT_DIR OUT_DIR [--ref HEAD] [--under samples] [--replace]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

_MODULES = r"(?:generative_models|language_models|vision_models|tuning|caching|batch_prediction)"
# A legacy import at the start of a line; in a notebook the line starts inside a JSON string.
LEGACY_IMPORT = re.compile(
    rb"""(?:^|")[ \t]*(?:"""
    rb"""(?:import|from)[ \t]+(?:google\.generativeai|google\.ai\.generativelanguage|vertexai\.(?:preview\.)?""" + _MODULES.encode() + rb""")\b"""
    rb"""|from[ \t]+google[ \t]+import[ \t]+[^\n"]*\bgenerativeai\b"""
    rb"""|from[ \t]+vertexai(?:\.preview)?[ \t]+import[ \t]+[^\n"]*\b""" + _MODULES.encode() + rb"""\b)""",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Version:
    commit: str
    date: str
    blob: str


def git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True, text=True).stdout


class BlobReader:
    """One `git cat-file --batch` process; `read` returns None for a blob the mirror lacks."""

    def __init__(self, git_dir: Path):
        self.proc = subprocess.Popen(["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read(self, obj: str) -> bytes | None:
        self.proc.stdin.write(obj.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) < 3 or header[1] != b"blob":
            return None
        data = self.proc.stdout.read(int(header[2]))
        self.proc.stdout.read(1)  # the newline after each object
        return data

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def history(git_dir: Path, ref: str, under: list[str]) -> dict[str, list[Version]]:
    """path -> its blobs, newest first (deletions carry no blob and are left out)."""
    specs = [f"{u.rstrip('/')}/**/*.{ext}" for u in under for ext in ("py", "ipynb")] if under else ["*.py", "*.ipynb"]
    out = git(git_dir, "log", "--format=C %H %cI", "--raw", "--no-renames", "--no-abbrev", ref, "--",
              *[f":(glob){s}" if under else s for s in specs])
    versions: dict[str, list[Version]] = {}
    commit = date = ""
    for line in out.splitlines():
        if line.startswith("C "):
            _, commit, date = line.split(" ", 2)
        elif line.startswith(":"):
            meta, path = line.split("\t", 1)
            _, _, _, blob, status = meta.split()
            if status != "D":
                versions.setdefault(path, []).append(Version(commit, date, blob))
    return versions


def select(versions: dict[str, list[Version]], reader: BlobReader) -> tuple[dict[str, tuple[Version, bytes]], list[str]]:
    chosen: dict[str, tuple[Version, bytes]] = {}
    missing: list[str] = []
    for path in sorted(versions):
        saw_missing = False
        for version in versions[path]:
            data = reader.read(version.blob)
            if data is None:
                saw_missing = True
                continue
            if LEGACY_IMPORT.search(data):
                chosen[path] = (version, data)
                break
        else:
            if saw_missing:
                missing.append(path)
    return chosen, missing


def siblings(git_dir: Path, chosen: dict[str, tuple[Version, bytes]], reader: BlobReader) -> dict[str, tuple[Version, bytes]]:
    newest: dict[str, Version] = {}
    for path, (version, _) in chosen.items():
        folder = str(PurePosixPath(path).parent)
        if path.endswith(".py") and (folder not in newest or version.date > newest[folder].date):
            newest[folder] = version
    extra: dict[str, tuple[Version, bytes]] = {}
    for folder, version in sorted(newest.items()):
        listing = git(git_dir, "ls-tree", version.commit, "--", "" if folder == "." else folder + "/")
        for line in listing.splitlines():
            meta, path = line.split("\t", 1)
            kind, blob = meta.split()[1:3]
            if kind == "blob" and path.endswith(".py") and path not in chosen:
                data = reader.read(blob)
                if data is not None:
                    extra[path] = (Version(version.commit, version.date, blob), data)
    return extra


def build(git_dir: Path, out: Path, ref: str, under: list[str]) -> dict:
    head = git(git_dir, "rev-parse", ref).strip()
    reader = BlobReader(git_dir)
    try:
        chosen, missing = select(history(git_dir, head, under), reader)
        extra = siblings(git_dir, chosen, reader)
    finally:
        reader.close()
    for path, (_, data) in {**chosen, **extra}.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    def entry(v: Version) -> dict:
        return {"commit": v.commit, "date": v.date, "blob": v.blob}
    return {
        "git_dir": str(git_dir), "ref": ref, "head": head, "under": under,
        "counts": {"legacy_py": sum(p.endswith(".py") for p in chosen), "legacy_ipynb": sum(p.endswith(".ipynb") for p in chosen),
                   "siblings_py": len(extra), "missing": len(missing)},
        "legacy": {p: entry(v) for p, (v, _) in sorted(chosen.items())},
        "siblings": {p: entry(v) for p, (v, _) in sorted(extra.items())},
        "missing": missing,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("git_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--ref", default="HEAD")
    parser.add_argument("--under", action="append", default=[], help="only paths under this folder (repeatable)")
    parser.add_argument("--replace", action="store_true", help="delete OUT first if it exists")
    args = parser.parse_args(argv)
    if not (args.git_dir / "HEAD").is_file():
        print(f"error: {args.git_dir} is not a git directory", file=sys.stderr)
        return 2
    if args.out.exists() and any(args.out.iterdir()):
        if not args.replace:
            print(f"error: {args.out} exists and is not empty (use --replace)", file=sys.stderr)
            return 2
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        manifest = build(args.git_dir, args.out, args.ref, args.under)
    except subprocess.CalledProcessError as exc:
        print(f"error: git {' '.join(exc.cmd[2:4])} failed: {exc.stderr.strip()}", file=sys.stderr)
        return 1
    manifest_path = args.out.with_name(args.out.name + ".manifest.json")
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    c = manifest["counts"]
    print(f"{args.out}: {c['legacy_py']} legacy .py, {c['legacy_ipynb']} legacy .ipynb, {c['siblings_py']} sibling .py, "
          f"{c['missing']} paths without a readable legacy version (head {manifest['head'][:10]}); manifest {manifest_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
