"""Results of earlier runs, so a repeated run over an unchanged tree (pre-commit, CI) skips the work.

A result is reused only for the same file content (SHA-256 of its bytes) under the same
fingerprint: the tool version, the code and rule data that produce results, and the effective
settings for that file (today's date included: lifecycle findings depend on it). Like git's index,
a file whose size, mtime, ctime and inode are unchanged since an entry was written - and which was
not modified within two seconds of that write ("racily clean") - is trusted without being re-read.
ctime is what makes this safe: a program can set mtime back after a same-size edit, but any write
moves ctime forward and cannot set it back. A "changed" result is always re-read and re-hashed, since fixing needs its bytes;
a "changed" result is always re-read and re-hashed, since fixing needs its bytes. A file without
candidate bytes is stored without a hash: when its stat changes it is simply prefiltered again,
which costs no more than hashing it would.

Where: `.flm_cache/` at the project root (the folder of the pyproject.toml that configures the run,
else the git work tree holding the files, else their common folder), or `cache-dir` in the config,
or $FLM_CACHE_DIR.
The folder carries a `.gitignore` of `*` and a CACHEDIR.TAG. One JSON file per fingerprint, guarded
by a SHA-256 of its body: a file that is truncated, edited, or of another format is ignored and
rewritten, never trusted. Dependency files are not cached: their findings depend on other files.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from migrate import __version__
from migrate.codemod.findings import FileResult, Finding
from migrate.settings import Settings

FORMAT = 2  # 2: entries carry ctime and inode
HEADER = b"flm-cache"
RACY_NS = 2_000_000_000
KEEP_FILES = 8
CACHEDIR_TAG = b"Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by flashlite-migrate.\n"
_FIELDS = [f.name for f in dataclasses.fields(Finding)]


# --------------------------------------------------------------------------- where and under which key


def default_dir(settings: Settings, configured: Path | None = None, near: Path | None = None) -> Path:
    """The cache folder: $FLM_CACHE_DIR, `cache-dir`, the config's folder, else the git work tree
    holding the files (`near`: their common folder), else that folder; the current folder only
    when nothing is known about the files."""
    env = os.environ.get("FLM_CACHE_DIR")
    if env:
        return Path(env)
    if configured is not None:
        return configured
    if settings.root:
        return Path(settings.root) / ".flm_cache"
    here = Path(os.path.abspath(near)) if near is not None else Path.cwd()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder / ".flm_cache"
    return here / ".flm_cache"


@functools.lru_cache(maxsize=8)
def _code_and_data(extra_rule_files: tuple[str, ...]) -> str:
    """A digest of everything besides settings that decides results: our sources and the rule data."""
    from migrate.catalog import rules_dir

    digest = hashlib.sha256(__version__.encode())
    package = Path(__file__).resolve().parents[1]
    files = sorted(p for p in package.rglob("*.py") if "shadow" not in p.relative_to(package).parts)
    files += sorted(rules_dir().glob("*.yaml")) + [Path(p) for p in extra_rule_files]
    for path in files:
        digest.update(str(path.name).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<missing>")
    return digest.hexdigest()


def fingerprint(settings: Settings) -> str:
    values = dataclasses.asdict(settings)
    for key in ("jobs", "include", "exclude"):  # decide which files, not what a file's result is
        values.pop(key, None)
    values["today"] = settings.today()
    blob = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256((_code_and_data(tuple(settings.extra_rule_files)) + blob).encode()).hexdigest()


# --------------------------------------------------------------------------- (de)serialising results


def _encode(result: FileResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "findings": [[getattr(f, name) for name in _FIELDS] for f in result.findings],
        "reason": result.reason,
        "new": base64.b64encode(result.new_bytes).decode() if result.new_bytes is not None else None,
        "parsed": result.parsed,
    }


def _decode(path: Path, data: dict[str, Any], old: bytes | None) -> FileResult:
    findings = []
    for row in data["findings"]:
        if not isinstance(row, list) or len(row) != len(_FIELDS):
            raise ValueError("bad finding")
        finding = Finding(**dict(zip(_FIELDS, row)))
        if not (isinstance(finding.rule, str) and isinstance(finding.line, int) and isinstance(finding.message, str)):
            raise ValueError("bad finding")
        findings.append(finding)
    status = data["status"]
    if status not in ("unchanged", "changed", "skipped", "error", "not-candidate"):
        raise ValueError("bad status")
    new = base64.b64decode(data["new"], validate=True) if data["new"] is not None else None
    if status == "changed" and (new is None or old is None):
        raise ValueError("a changed result needs both versions")
    return FileResult(path, status, findings, data["reason"], old if status == "changed" else None, new, bool(data["parsed"]))


def cacheable(result: FileResult) -> bool:
    if result.reason and result.reason.startswith(("internal error", "cannot read")):
        return False  # may be transient
    if result.port is not None:
        return False  # a legacy module's port depends on the other modules of the run (codemod/shared.py)
    from migrate.codemod.kinds import DEPENDENCIES, kind_of

    return kind_of(result.path) != DEPENDENCIES


# --------------------------------------------------------------------------- the store


class Cache:
    def __init__(self, file: Path, entries: dict[str, list], written_ns: int):
        self.file = file
        self.entries = entries
        self.written_ns = written_ns
        self.dirty = False
        self.hits = 0
        self._stat: dict[str, tuple[int, int, int, int]] = {}

    @classmethod
    def open(cls, settings: Settings, configured_dir: Path | None = None, near: Path | None = None) -> Cache:
        folder = default_dir(settings, configured_dir, near)
        file = folder / f"v{FORMAT}" / f"{fingerprint(settings)[:24]}.json"
        entries, written = _read(file)
        return cls(file, entries, written)

    def lookup(self, path: Path) -> tuple[FileResult | None, bytes | None]:
        """(cached result, None) on a hit; (None, the file's bytes or None if unreadable) on a miss."""
        key = os.path.abspath(path)
        try:
            stat = os.stat(key)
        except OSError:
            return None, None
        self._stat[key] = _stat_key(stat)
        entry = self.entries.get(key)
        trusted = (
            entry is not None and tuple(entry[:4]) == self._stat[key]
            and max(stat.st_mtime_ns, stat.st_ctime_ns) < self.written_ns - RACY_NS and entry[5].get("status") != "changed"
        )  # fmt: skip
        if trusted:
            hit = self._hit(path, entry, None)  # type: ignore[arg-type]
            if hit is not None:
                return hit, None
        try:
            with open(key, "rb") as handle:
                data = handle.read()
        except OSError:
            return None, None
        if entry is not None and entry[4] and entry[4] == _digest(data):
            hit = self._hit(path, entry, data)
            if hit is not None:
                if tuple(entry[:4]) != self._stat[key]:
                    entry[:4] = self._stat[key]
                    self.dirty = True
                return hit, None
        return None, data

    def _hit(self, path: Path, entry: list, data: bytes | None) -> FileResult | None:
        try:
            result = _decode(path, entry[5], data)
        except (KeyError, TypeError, ValueError, AttributeError):
            self.entries.pop(os.path.abspath(path), None)
            self.dirty = True
            return None
        self.hits += 1
        return result

    def store(self, path: Path, data: bytes, result: FileResult) -> None:
        key = os.path.abspath(path)
        if not cacheable(result) or key not in self._stat:
            return
        try:
            stat = os.stat(key)
        except OSError:
            return
        if _stat_key(stat) != self._stat[key]:
            return  # the file changed while we worked: do not record a result for bytes we did not see
        if result.changed and result.old_bytes != data:
            return
        # A file without candidate bytes is re-checked as cheaply as it would be re-hashed: keep no hash,
        # so it is trusted on an unchanged stat and otherwise simply prefiltered again.
        digest = "" if result.status == "not-candidate" else _digest(data)
        self.entries[key] = [*self._stat[key], digest, _encode(result)]
        self.dirty = True

    def save(self) -> None:
        """Write atomically; a cache that cannot be written is simply not written."""
        if not self.dirty:
            return
        entries = {key: entry for key, entry in self.entries.items() if os.path.exists(key)}
        body = json.dumps({"format": FORMAT, "written_ns": time.time_ns(), "entries": entries}, separators=(",", ":")).encode()
        blob = HEADER + b" " + str(FORMAT).encode() + b" " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body
        try:
            _prepare(self.file.parent.parent)
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.file.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
            os.replace(tmp, self.file)
            _prune(self.file.parent)
        except OSError:
            pass
        self.dirty = False


def _stat_key(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(file: Path) -> tuple[dict[str, list], int]:
    """The entries of a cache file, or nothing when it is missing, corrupt or of another format."""
    try:
        blob = file.read_bytes()
        header, body = blob.split(b"\n", 1)
        magic, version, digest = header.split(b" ")
        if magic != HEADER or version != str(FORMAT).encode() or hashlib.sha256(body).hexdigest().encode() != digest:
            return {}, 0
        document = json.loads(body)
        entries = document["entries"]
        written = document["written_ns"]
        if document["format"] != FORMAT or not isinstance(entries, dict) or not isinstance(written, int):
            return {}, 0
        for key, entry in entries.items():
            if not (isinstance(entry, list) and len(entry) == 6 and all(isinstance(n, int) for n in entry[:4])
                    and isinstance(entry[4], str) and isinstance(entry[5], dict)):  # fmt: skip
                return {}, 0
        return entries, written
    except (OSError, ValueError, KeyError, TypeError):
        return {}, 0


def _prepare(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in ((".gitignore", b"# Created by flashlite-migrate.\n*\n"), ("CACHEDIR.TAG", CACHEDIR_TAG)):
        target = folder / name
        if not target.exists():
            target.write_bytes(content)


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[KEEP_FILES:]:
        try:
            old.unlink()
        except OSError:
            pass


# --------------------------------------------------------------------------- a cached batch


def process(
    paths: list[Path],
    settings: Settings,
    cache: Cache,
    on_result: Callable[[FileResult], None] | None = None,
    on_planned: Callable[[int], None] | None = None,
) -> list[FileResult]:
    """engine.process_files with the cache in front: only misses are read, prefiltered and parsed."""
    results: dict[Path, FileResult] = {}
    misses: list[Path] = []
    data_of: dict[Path, bytes] = {}
    for path in paths:
        hit, data = cache.lookup(path)
        if hit is not None:
            results[path] = hit
        else:
            misses.append(path)
            if data is not None:
                data_of[path] = data
    if misses:
        from migrate.codemod import kinds
        from migrate.codemod.engine import catalog_for, process_files

        catalog = catalog_for(settings)
        candidates = []
        for path in misses:
            data = data_of.get(path)
            if data is not None and not kinds.is_candidate(path, data, catalog):
                results[path] = FileResult(path, "not-candidate")
                cache.store(path, data, results[path])
            else:
                candidates.append(path)
        for result in process_files(candidates, settings, on_result, on_planned):
            results[result.path] = result
            if result.path in data_of:
                cache.store(result.path, data_of[result.path], result)
    return [results[p] for p in paths]
