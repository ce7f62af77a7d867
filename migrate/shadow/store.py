"""The run store: one folder per shadow run, append-only, the single source for every report.

Layout (schema version 1; readers must ignore keys they do not know, writers only add keys)::

    <run>/manifest.json    settings and provenance, rewritten atomically (temp file + rename)
    <run>/prompts.jsonl    one normalised dataset item per line, written once before any call
    <run>/calls.jsonl      one record per finished call, append-only
    <run>/sent.jsonl       the write-ahead ledger: one line per HTTP attempt, written before it is sent
    <run>/looks.jsonl      one line per verdict look (the alpha spent at each look; see verdict.py)
    <run>/.lock            held (flock) by the one process writing the run; the kernel frees it on exit

manifest.json
    schema (int, 1), tool ("flashlite-migrate"), tool_version, created_at / updated_at (ISO 8601
    UTC), status ("running" | "complete" | "interrupted" | "budget_exhausted" | "failed"),
    dataset {path, sha256, format, items, logged, skipped, problems: [{line, message}] (first 50)},
    arms {"primary"|"candidate"|"noise": {model, backend, base_url}}, repeats (k samples per arm),
    noise_floor (bool), noise_sample (fraction of prompts given a noise call), seed (dispatch-order
    RNG seed), settings {concurrency, rpm {model: n}, tpm {model: n}, budget_usd, timeout_s,
    max_attempts, stream, batch_pricing, volume_per_day}, pricing {as_of, source, currency,
    per_tokens, batch, priced_on, models {id: {input, output, cached_input, batch_discount, source,
    as_of, override, period {from, until, note, text}, next_period?, long_prompt?, batch_applies?}}}, totals {calls, ok, errors, cost_usd} (at the last stop), runs: [{started_at,
    ended_at, status, calls}] (one entry per invocation, so resumes are visible).

prompts.jsonl (one object per line, in dataset order)
    id, slice, tags [str], expected (any JSON or null), compare (str | object | null),
    request (the Gemini GenerateContentRequest body sent to every arm), request_hash (sha256 hex
    of the canonical JSON of request), line (source line/row), and for logged traffic
    logged {model, latency_ms, response} (the production response the primary arm is read from).

calls.jsonl (one object per finished call, in completion order)
    prompt_id, arm ("primary" | "candidate" | "noise"), repeat (0..k-1), model, backend
    ("gemini" | "vertex" | "openai" | "replay" | "log"), request_hash, order (position of this call
    in the prompt's randomised dispatch order), started_at (ISO 8601 UTC, start of the final
    attempt), latency_ms (final attempt, request sent -> response complete), ttft_ms (streaming:
    time to first token, else null), total_ms (dispatch -> done, including rate-limit waits,
    retries and backoff), attempts (HTTP attempts; 0 when read from a log), status ("ok" |
    "error"), error ({kind, http_status, message} or null; kind is one of http, timeout, network,
    malformed, stream_cut, replay_miss, unsupported), response ({text, finish_reason, blocked,
    block_reason, tool_calls [{name, args}], raw} or null; raw is the provider's JSON, merged for
    streams), usage ({prompt, cached, candidates, thoughts, total, tool_use_prompt} or null),
    cost_usd (float; 0.0 for errors; null when it could not be priced, then cost_error says why),
    cost_error (str or null), model_version (the model that served the call, from the response's
    ``modelVersion`` (OpenAI: ``model``); null when the response names none or the call failed),
    priced_as and cost_note (only when the call was billed at another model's rates than asked:
    the model that served it, and why -- the response's modelVersion, or the catalogue's routing).

sent.jsonl (the write-ahead ledger of live backends; two lines per HTTP attempt)
    {prompt_id, arm, repeat, attempt (1-based), worst_usd (the attempt's worst-case cost), at} before
    the attempt is handed to the HTTP client, and {prompt_id, arm, repeat, attempt, wire: true} when
    its first bytes start to leave. An attempt on the wire with no answer in calls.jsonl (the
    process was killed meanwhile) may have been billed: `billing_exposure()` counts them as
    ``possibly_billed_calls``.

A (prompt_id, arm, repeat) key normally appears once. `--resume --retry-errors` appends a new
record for a key whose last record is an error: the last record of a key is the one that counts
(`Run.final()`).

Durability: every record is one `os.write` of a whole line to an O_APPEND descriptor, so a crash
or `kill -9` loses at most the calls in flight and never interleaves lines; a torn last line (power
loss) is ignored by readers and cut off before a resume appends. The ledger line of an attempt is
written (same way) before its request is sent, so after a `kill -9` every call that may have been
billed without a recorded answer is counted; --resume sends those again. `fsync` runs at most once
a second while a run is writing and when it closes: a power failure (not a kill) may lose up to a
second of lines. Every line goes through the secrets redactor before it is written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import sys
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from migrate import __version__
from migrate.errors import UserError
from migrate.shadow.cost import Usage
from migrate.shadow.secrets import REDACTOR

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
PROMPTS = "prompts.jsonl"
CALLS = "calls.jsonl"
SENT = "sent.jsonl"
LOOKS = "looks.jsonl"
LOCK = ".lock"
ARMS = ("primary", "candidate", "noise")
FSYNC_INTERVAL_S = 1.0


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- writing


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(REDACTOR(text) if REDACTOR else text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_manifest(folder: Path, manifest: Mapping[str, Any]) -> None:
    data = dict(manifest)
    data["updated_at"] = now_iso()
    _atomic_write(Path(folder) / MANIFEST, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{folder} is not a shadow run folder (no {MANIFEST})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION:
        raise UserError(f"{path}: run store schema {data.get('schema') if isinstance(data, dict) else '?'} "
                        f"is not supported (this tool reads schema {SCHEMA_VERSION})")
    return data


def write_prompts(folder: Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Write prompts.jsonl from an iterable of item records (streamed; temp file + rename)."""
    path = Path(folder) / PROMPTS
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for record in records:
            line = _dumps(record)
            fh.write((REDACTOR(line) if REDACTOR else line) + "\n")
            count += 1
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return count


def _cut_torn_tail(path: Path) -> None:
    """If the last line has no newline (a write torn by power loss), cut it off."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with open(path, "rb+") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        block = 65536
        pos = size
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            chunk = fh.read(pos - start)
            idx = chunk.rfind(b"\n")
            if idx >= 0:
                fh.truncate(start + idx + 1)
                return
            pos = start
        fh.truncate(0)


class CallLog:
    """Appends JSON records to a JSONL file: one os.write per record, periodic fsync."""

    @classmethod
    def for_run(cls, folder: Path) -> "CallLog":
        return cls(Path(folder) / CALLS)

    def __init__(self, path: Path):
        """Append to `path` (a run's calls.jsonl, or a --record replay file)."""
        self.path = Path(path)
        _cut_torn_tail(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._last_sync = time.monotonic()
        self._dirty = False
        self.written = 0

    def append(self, record: Mapping[str, Any]) -> None:
        line = _dumps(record)
        if REDACTOR:
            line = REDACTOR(line)
        os.write(self._fd, (line + "\n").encode("utf-8"))
        self.written += 1
        self._dirty = True
        now = time.monotonic()
        if now - self._last_sync >= FSYNC_INTERVAL_S:
            os.fsync(self._fd)
            self._last_sync = now
            self._dirty = False

    def close(self) -> None:
        if self._fd >= 0:
            if self._dirty:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "CallLog":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class RunLock:
    """The single-writer lock of a run folder: an exclusive `flock` on <run>/.lock.

    The kernel drops the lock when its process ends, however it ends (kill -9 included), so a dead
    writer never leaves a folder stuck; the file only carries the holder's pid for the message."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK
        self._fd = -1

    def acquire(self) -> "RunLock":
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 400).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise UserError(f"{self.path.parent} is being written by {holder}: one process per run folder; "
                            "wait for it to finish (or stop it), then --resume") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {now_iso()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = -1

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def billing_exposure(folder: Path) -> dict[str, Any]:
    """Attempts that left with no recorded answer: sent, maybe billed, answer lost (a kill).

    Per key: the attempts the ledger saw reach the wire, minus the attempts of the key's recorded
    calls (every answered attempt was on the wire). A transport that reports no wire events (none
    in the whole ledger) falls back to the attempts handed to it: an upper bound either way. Their
    worst-case cost is the ledger's own figure. Runs written before the ledger report zero."""
    handed: dict[tuple[str, str, int], list[float]] = {}
    wired: dict[tuple[str, str, int], int] = {}
    for rec in iter_jsonl(Path(folder) / SENT):
        key = (str(rec["prompt_id"]), rec["arm"], int(rec["repeat"]))
        if rec.get("wire"):
            wired[key] = wired.get(key, 0) + 1
        else:
            handed.setdefault(key, []).append(float(rec.get("worst_usd") or 0.0))
    if not handed:
        return {"possibly_billed_calls": 0, "possibly_billed_usd": 0.0, "sent_attempts": 0, "killed_before_sending": 0}
    answered: dict[tuple[str, str, int], int] = {}
    for rec in iter_call_dicts(folder):
        key = (str(rec["prompt_id"]), rec["arm"], int(rec["repeat"]))
        if key in handed:
            answered[key] = answered.get(key, 0) + int(rec.get("attempts") or 0)
    calls = unsent = 0
    usd = 0.0
    for key, worst in handed.items():
        lost = max(0, len(worst) - answered.get(key, 0))
        on_wire = max(0, wired.get(key, 0) - answered.get(key, 0)) if wired else lost
        calls += min(lost, on_wire)
        unsent += lost - min(lost, on_wire)
        usd += sum(sorted(worst, reverse=True)[:min(lost, on_wire)])
    return {"possibly_billed_calls": calls, "possibly_billed_usd": round(usd, 6),
            "sent_attempts": sum(len(w) for w in handed.values()), "killed_before_sending": unsent}


# --------------------------------------------------------------------------- reading


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Objects of a JSONL file; a torn (unterminated, unparsable) last line is ignored."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return
    with fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError:
                if not raw.endswith(b"\n"):
                    return  # torn tail
                raise UserError(f"{path}: a line is not valid JSON; the run store is damaged") from None
            if isinstance(obj, dict):
                yield obj


def iter_prompts(folder: Path) -> Iterator[dict[str, Any]]:
    return iter_jsonl(Path(folder) / PROMPTS)


def iter_call_dicts(folder: Path) -> Iterator[dict[str, Any]]:
    return iter_jsonl(Path(folder) / CALLS)


def recorded_keys(folder: Path, *, include_errors: bool = True) -> set[tuple[str, str, int]]:
    """Keys (prompt_id, arm, repeat) already recorded: what --resume skips.

    With include_errors=False a key whose *last* record is an error is left out (retried)."""
    last: dict[tuple[str, str, int], bool] = {}
    for rec in iter_call_dicts(folder):
        last[(rec["prompt_id"], rec["arm"], int(rec["repeat"]))] = rec.get("status") == "ok"
    if include_errors:
        return set(last)
    return {key for key, ok in last.items() if ok}


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    args: Any


@dataclass(frozen=True, slots=True)
class Response:
    text: str
    finish_reason: str | None
    blocked: bool
    block_reason: str | None
    tool_calls: tuple[ToolCall, ...]
    raw: Any

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Response | None":
        if data is None:
            return None
        return cls(
            text=data.get("text") or "", finish_reason=data.get("finish_reason"),
            blocked=bool(data.get("blocked")), block_reason=data.get("block_reason"),
            tool_calls=tuple(ToolCall(t.get("name") or "", t.get("args")) for t in data.get("tool_calls") or ()),
            raw=_raw_outline(data.get("raw")),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class CallError:
    kind: str
    http_status: int | None
    message: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "CallError | None":
        if data is None:
            return None
        return cls(kind=data.get("kind") or "unknown", http_status=data.get("http_status"), message=data.get("message") or "")


@dataclass(frozen=True, slots=True)
class Call:
    prompt_id: str
    arm: str
    repeat: int
    model: str
    backend: str
    request_hash: str
    order: int
    started_at: str | None
    latency_ms: float | None
    ttft_ms: float | None
    total_ms: float | None
    attempts: int
    status: str
    error: CallError | None
    response: Response | None
    usage: Usage | None
    cost_usd: float | None
    cost_error: str | None
    model_version: str | None = None
    priced_as: str = ""  # the model whose rates priced it (the model asked for unless routed)
    cost_note: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.prompt_id, self.arm, self.repeat)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Call":
        # the values repeated across calls are interned: a loaded run of a million calls holds each once
        return cls(
            prompt_id=str(d["prompt_id"]), arm=_intern(d["arm"]), repeat=int(d.get("repeat", 0)),
            model=_intern(d.get("model", "")), backend=_intern(d.get("backend", "")),
            request_hash=_intern(d.get("request_hash", "")), order=int(d.get("order", 0)),
            started_at=d.get("started_at"), latency_ms=d.get("latency_ms"), ttft_ms=d.get("ttft_ms"),
            total_ms=d.get("total_ms"), attempts=int(d.get("attempts") or 0), status=_intern(d.get("status", "error")),
            error=CallError.from_dict(d.get("error")), response=Response.from_dict(d.get("response")),
            usage=Usage.from_dict(d.get("usage")), cost_usd=d.get("cost_usd"), cost_error=d.get("cost_error"),
            model_version=_intern(d.get("model_version") or _served_in_raw(d.get("response"))),
            priced_as=_intern(d.get("priced_as") or d.get("model", "")), cost_note=d.get("cost_note"),
        )  # fmt: skip


def _intern(value: Any) -> Any:
    return sys.intern(value) if isinstance(value, str) else value


def _raw_outline(raw: Any) -> Any:
    """What a loaded run keeps of a provider's raw JSON: whether it had candidates (or choices).

    The whole body stays in calls.jsonl (replay reads it from there); a loaded run of a million
    calls must not hold a million response bodies."""
    if not isinstance(raw, Mapping) or not raw:
        return raw if not isinstance(raw, Mapping) else {}
    return {key: bool(raw.get(key)) for key in ("candidates", "choices") if key in raw} or {"body": True}


def _served_in_raw(response: Any) -> str | None:
    """modelVersion from a recorded response (runs written before model_version was a field)."""
    raw = response.get("raw") if isinstance(response, Mapping) else None
    if isinstance(raw, Mapping):
        value = raw.get("modelVersion") or raw.get("model")
        return value if isinstance(value, str) and value else None
    return None


@dataclass(frozen=True, slots=True)
class Prompt:
    id: str
    slice: str | None
    tags: tuple[str, ...]
    expected: Any
    compare: Any
    request: Mapping[str, Any]
    request_hash: str
    line: int
    logged: Mapping[str, Any] | None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Prompt":
        return cls(
            id=str(d["id"]), slice=d.get("slice"), tags=tuple(d.get("tags") or ()), expected=d.get("expected"),
            compare=d.get("compare"), request=d.get("request") or {}, request_hash=d.get("request_hash", ""),
            line=int(d.get("line") or 0), logged=d.get("logged"),
        )  # fmt: skip


Group = dict[tuple[str, int], Call]  # one prompt's final calls: (arm, repeat) -> the last record of that key


@dataclass
class Run:
    """A loaded run: manifest, prompts in dataset order, and every call record in file order."""

    folder: Path
    manifest: dict[str, Any]
    prompts: dict[str, Prompt]
    calls: list[Call]
    exposure: dict[str, Any] | None = None  # billing_exposure(): attempts sent whose answer was lost

    def final(self) -> dict[tuple[str, str, int], Call]:
        """The call that counts for each (prompt_id, arm, repeat): the last one recorded."""
        out: dict[tuple[str, str, int], Call] = {}
        for call in self.calls:
            out[call.key] = call
        return out

    def arms(self) -> dict[str, str]:
        """arm -> model, from the manifest."""
        return {arm: spec["model"] for arm, spec in (self.manifest.get("arms") or {}).items()}

    @property
    def call_count(self) -> int:
        return len(self.calls)

    @property
    def prompt_count(self) -> int:
        return len(self.prompts)

    def groups(self) -> Iterator[tuple[Prompt, Group]]:
        """Each prompt in dataset order with its final calls (the same iteration a StreamedRun gives)."""
        by_prompt: dict[str, Group] = {}
        for (pid, arm, rep), call in self.final().items():
            by_prompt.setdefault(pid, {})[(arm, rep)] = call
        for pid, prompt in self.prompts.items():
            yield prompt, by_prompt.get(pid, {})


_PROMPT_ID = re.compile(rb'\{"prompt_id":"((?:[^"\\]|\\.)*)"[,}]')


def _line_prompt_id(raw: bytes, path: Path) -> str | None:
    """The prompt_id of one calls.jsonl line, read from its head (the writer puts it first) without
    parsing the answer; any other shape is parsed in full. None: a torn last line, or no record."""
    match = _PROMPT_ID.match(raw) if raw.endswith(b"\n") else None
    if match is not None:
        pid = match.group(1)
        return json.loads(b'"' + pid + b'"') if b"\\" in pid else pid.decode("utf-8")
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError:
        if not raw.endswith(b"\n"):
            return None
        raise UserError(f"{path}: a line is not valid JSON; the run store is damaged") from None
    return str(obj["prompt_id"]) if isinstance(obj, dict) and "prompt_id" in obj else None


@dataclass
class StreamedRun:
    """A run read one prompt at a time: for reports and gates on runs of any size.

    A first pass over calls.jsonl keeps only where each record starts (about 16 bytes a call); then
    the prompts are read in dataset order, each with its final calls read back from those offsets.
    Memory grows by those few bytes per call, never with the answers, and time linearly."""

    folder: Path
    manifest: dict[str, Any]
    exposure: dict[str, Any] | None = None
    _index: tuple[array, array, array, array] | None = field(default=None, repr=False)

    arms = Run.arms

    def _build(self) -> tuple[array, array, array, array]:
        """(first, order, offsets, lengths): prompt i's records are order[first[i]:first[i + 1]],
        in file order; a record's bytes are at offsets[k], lengths[k] of calls.jsonl."""
        if self._index is None:
            ids = {str(d["id"]): k for k, d in enumerate(iter_prompts(self.folder))}  # unique: dataset.py checks
            owner, offsets, lengths = array("i"), array("q"), array("i")
            path = self.folder / CALLS
            offset = 0
            if path.is_file():
                with open(path, "rb") as fh:
                    for raw in fh:
                        pid = _line_prompt_id(raw, path) if raw.strip() else None
                        if pid is not None and pid in ids:
                            owner.append(ids[pid])
                            offsets.append(offset)
                            lengths.append(len(raw))
                        offset += len(raw)
            first = array("q", bytes(8 * (len(ids) + 1)))
            for o in owner:  # a counting sort by prompt, stable: file order within a prompt
                first[o + 1] += 1
            for i in range(len(ids)):
                first[i + 1] += first[i]
            place, order = array("q", first), array("i", bytes(4 * len(owner)))
            for k, o in enumerate(owner):
                order[place[o]] = k
                place[o] += 1
            self._index = (first, order, offsets, lengths)
        return self._index

    @property
    def call_count(self) -> int:
        return len(self._build()[1])

    @property
    def prompt_count(self) -> int:
        return len(self._build()[0]) - 1

    def groups(self) -> Iterator[tuple[Prompt, Group]]:
        first, order, offsets, lengths = self._build()
        fd = os.open(self.folder / CALLS, os.O_RDONLY) if len(order) else -1
        try:
            for index, d in enumerate(iter_prompts(self.folder)):
                group: Group = {}
                for k in order[first[index]:first[index + 1]] if index + 1 < len(first) else ():
                    try:
                        call = Call.from_dict(json.loads(os.pread(fd, lengths[k], offsets[k])))
                    except json.JSONDecodeError:
                        raise UserError(f"{self.folder / CALLS}: a line is not valid JSON; the run store is damaged") from None
                    group[(call.arm, call.repeat)] = call  # a later record of a key replaces it
                yield Prompt.from_dict(d), group
        finally:
            if fd >= 0:
                os.close(fd)


def load_run(folder: str | Path) -> Run:
    """Read a run folder into typed records (tolerates a torn last line in calls.jsonl)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if not (folder / PROMPTS).is_file():
        raise UserError(f"{folder}: {PROMPTS} is missing: the dataset was never fully read into this run")
    prompts = {p.id: p for p in (Prompt.from_dict(d) for d in iter_prompts(folder))}
    calls = [Call.from_dict(d) for d in iter_call_dicts(folder)]
    return Run(folder=folder, manifest=manifest, prompts=prompts, calls=calls, exposure=billing_exposure(folder))


def open_run(folder: str | Path) -> StreamedRun:
    """A run folder to stream (`groups()`): what `shadow report`, `gate` and `summary` read."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if not (folder / PROMPTS).is_file():
        raise UserError(f"{folder}: {PROMPTS} is missing: the dataset was never fully read into this run")
    return StreamedRun(folder=folder, manifest=manifest, exposure=billing_exposure(folder))


def new_manifest(**fields: Any) -> dict[str, Any]:
    created = now_iso()
    return {"schema": SCHEMA_VERSION, "tool": "flashlite-migrate", "tool_version": __version__,
            "created_at": created, "updated_at": created, **fields}
