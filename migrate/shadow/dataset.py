"""Read a prompt dataset (JSONL, JSON, CSV, YAML, logged traffic) into normalised `Item`s.

One item is one Gemini `GenerateContentRequest` body plus what the reports need about it. A JSON
object (a JSONL line, a YAML list entry, an element of a JSON array) may be:

* ``{"prompt": "...", "system": "..."}`` - a single user turn (plus an optional system prompt);
* a Gemini request body: ``contents`` (a string, or a list of ``{role, parts}``),
  ``systemInstruction``, ``generationConfig``, ``tools``, ``toolConfig``, ``safetySettings``,
  ``cachedContent``, ``labels``, ``serviceTier`` (top-level snake_case is accepted too);
* OpenAI-style ``{"messages": [{"role": "system|user|assistant", "content": ...}]}``;
* ``{"request": {...}}`` wrapping any of the above;
* logged traffic: a request plus the production response, as in an export of Vertex AI
  request-response logging: ``request``/``full_request``/``request_payload`` with
  ``response``/``full_response``/``response_payload`` (objects, JSON strings or one-element lists of
  JSON strings; a list of stream chunks is fine), optional ``model``/``model_version`` and
  ``latency_ms``. The primary arm is then read from the log instead of called.

Optional fields on every item: ``id`` (else ``line-N``/``row-N``/``item-N``), ``slice``, ``tags``
(list or comma-separated string), ``expected`` (any JSON: a label, an object, a text), ``compare``
(which comparator fits the item: a name registered in parity.py such as ``exact``, ``label``, ``json``,
``rouge_l``, ``token_f1``; or an object with a ``kind`` and that comparator's options). Other keys are ignored.

CSV: a header row with a ``prompt`` column; optional ``id``, ``system``, ``slice``, ``tags``
(``;``- or ``,``-separated), ``expected`` (parsed as JSON when ``compare`` is ``json``), ``compare``.
YAML: a list of items, or a mapping with a ``prompts:`` list.

A malformed line is reported with its line number: with ``strict`` the first one is a `UserError`,
otherwise it is skipped and counted in `Dataset.problems`.
"""

from __future__ import annotations

import csv
import hashlib
from array import array
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml

from migrate.errors import UserError

REQUEST_KEYS = (
    "contents", "systemInstruction", "generationConfig", "tools", "toolConfig", "safetySettings",
    "cachedContent", "labels", "serviceTier",
)  # fmt: skip
_SNAKE = {
    "system_instruction": "systemInstruction", "generation_config": "generationConfig",
    "tool_config": "toolConfig", "safety_settings": "safetySettings", "cached_content": "cachedContent",
    "service_tier": "serviceTier",
}  # fmt: skip
_REQUEST_WRAPPERS = ("request", "full_request", "request_payload")
_RESPONSE_WRAPPERS = ("response", "full_response", "response_payload")
_COMPARE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_MAX_PROBLEMS_KEPT = 1000


class BadItem(ValueError):
    """One malformed dataset entry; the message is shown after its line number."""


@dataclass(frozen=True, slots=True)
class Logged:
    """A production response read from logged traffic (the primary arm, not called again)."""

    response: Any  # a GenerateContentResponse dict, or a list of stream chunks
    model: str | None = None
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    request: dict[str, Any]
    slice: str | None = None
    tags: tuple[str, ...] = ()
    expected: Any = None
    compare: Any = None
    line: int = 0
    logged: Logged | None = None

    def to_record(self) -> dict[str, Any]:
        """The prompts.jsonl line for this item (see store.py)."""
        record: dict[str, Any] = {
            "id": self.id, "slice": self.slice, "tags": list(self.tags), "expected": self.expected,
            "compare": self.compare, "request": self.request, "request_hash": request_hash(self.request),
            "line": self.line,
        }  # fmt: skip
        if self.logged is not None:
            record["logged"] = {"model": self.logged.model, "latency_ms": self.logged.latency_ms,
                                "response": self.logged.response}
        return record


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_hash(request: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a request body: the replay and cache key."""
    return hashlib.sha256(canonical_json(request).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- normalising one object


def _text_content(text: str, role: str = "user") -> dict[str, Any]:
    return {"role": role, "parts": [{"text": text}]}


def _parts(value: Any, where: str) -> list[Any]:
    if isinstance(value, str):
        return [{"text": value}]
    if not isinstance(value, list) or not value:
        raise BadItem(f'"{where}" must be a non-empty list of parts')
    parts = []
    for part in value:
        if isinstance(part, str):
            parts.append({"text": part})
        elif isinstance(part, dict) and part:
            parts.append(part)
        else:
            raise BadItem(f'"{where}" holds a part that is not an object or a string: {part!r:.60}')
    return parts


def _contents(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        if not value.strip():
            raise BadItem('"contents" is an empty string')
        return [_text_content(value)]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise BadItem('"contents" must be a string or a non-empty list of {role, parts}')
    out = []
    for i, turn in enumerate(value):
        if isinstance(turn, str):
            out.append(_text_content(turn))
            continue
        if not isinstance(turn, dict) or "parts" not in turn:
            raise BadItem(f'"contents[{i}]" must be an object with "parts"')
        role = turn.get("role", "user")
        if role not in ("user", "model", "function", "tool"):
            raise BadItem(f'"contents[{i}].role" must be "user" or "model", got {role!r}')
        out.append({**turn, "role": role, "parts": _parts(turn["parts"], f"contents[{i}].parts")})
    return out


def _system(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"parts": [{"text": value}]}
    if isinstance(value, dict) and "parts" in value:
        return {**value, "parts": _parts(value["parts"], "systemInstruction.parts")}
    raise BadItem('"systemInstruction" must be a string or an object with "parts"')


def _from_messages(messages: Any) -> dict[str, Any]:
    if not isinstance(messages, list) or not messages:
        raise BadItem('"messages" must be a non-empty list')
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise BadItem(f'"messages[{i}]" must be an object')
        role, content = msg.get("role"), msg.get("content")
        if isinstance(content, list):
            texts = []
            for piece in content:
                if isinstance(piece, dict) and piece.get("type") == "text" and isinstance(piece.get("text"), str):
                    texts.append(piece["text"])
                else:
                    raise BadItem(f'"messages[{i}].content" holds a non-text piece; use Gemini "contents" for media')
            content = "\n".join(texts)
        if not isinstance(content, str):
            raise BadItem(f'"messages[{i}].content" must be a string')
        if role in ("system", "developer"):
            system.append(content)
        elif role in ("user", "assistant"):
            contents.append(_text_content(content, "user" if role == "user" else "model"))
        else:
            raise BadItem(f'"messages[{i}].role" must be system, user or assistant, got {role!r}')
    if not contents:
        raise BadItem('"messages" has no user turn')
    request: dict[str, Any] = {"contents": contents}
    if system:
        request["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    return request


def _decode_payload(value: Any, what: str) -> Any:
    """Logged payloads come as objects, JSON strings, or one-element lists of JSON strings."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        value = value[0]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise BadItem(f'"{what}" is a string but not valid JSON ({exc.msg})') from None
    return value


def _model_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().rsplit("/", 1)[-1]


def build_request(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A Gemini request body from one dataset object (without wrappers or metadata)."""
    obj = {_SNAKE.get(k, k): v for k, v in obj.items()}
    if "prompt" in obj:
        prompt = obj["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            raise BadItem('"prompt" must be a non-empty string')
        if "contents" in obj or "messages" in obj:
            raise BadItem('give one of "prompt", "contents" or "messages", not several')
        request: dict[str, Any] = {"contents": [_text_content(prompt)]}
    elif "contents" in obj:
        if "messages" in obj:
            raise BadItem('give one of "contents" or "messages", not both')
        request = {"contents": _contents(obj["contents"])}
    elif "messages" in obj:
        request = _from_messages(obj["messages"])
    else:
        raise BadItem('no prompt: give "prompt", "contents", "messages" or "request"')
    system = obj.get("system", obj.get("systemInstruction"))
    if system is not None:
        request["systemInstruction"] = _system(system)
    for key in REQUEST_KEYS[2:]:
        if key in obj and obj[key] is not None:
            value = obj[key]
            if key in ("generationConfig", "toolConfig", "labels") and not isinstance(value, dict):
                raise BadItem(f'"{key}" must be an object')
            if key in ("tools", "safetySettings") and not isinstance(value, list):
                raise BadItem(f'"{key}" must be a list')
            request[key] = value
    return request


def _tags(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in re.split(r"[;,|]", value) if t.strip())
    if isinstance(value, list) and all(isinstance(t, (str, int)) for t in value):
        return tuple(str(t) for t in value)
    raise BadItem('"tags" must be a list of strings or a comma-separated string')


def _compare(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if not _COMPARE_RE.match(value):
            raise BadItem(f'"compare" must be a comparator name such as "exact", "label", "json", "rouge_l"; got {value!r:.40}')
        return value.lower()
    if isinstance(value, dict) and isinstance(value.get("kind"), str) and _COMPARE_RE.match(value["kind"]):
        return {**value, "kind": value["kind"].lower()}
    raise BadItem('"compare" must be a comparator name or an object with a "kind"')


def normalise(obj: Any, *, line: int, default_id: str) -> Item:
    """One dataset object -> Item, or BadItem explaining what is wrong."""
    if not isinstance(obj, dict):
        raise BadItem(f"expected a JSON object, got {type(obj).__name__}")
    raw_id = obj.get("id", obj.get("request_id"))
    if raw_id is None or raw_id == "":
        item_id = default_id
    elif isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        raise BadItem('"id" must be a string or an integer')
    else:
        item_id = str(raw_id)
        if "\n" in item_id or len(item_id) > 512:
            raise BadItem('"id" must be one line of at most 512 characters')
    slice_ = obj.get("slice")
    if slice_ is not None and not isinstance(slice_, (str, int)):
        raise BadItem('"slice" must be a string')

    logged = None
    body: Any = obj
    for key in _REQUEST_WRAPPERS:
        if key in obj:
            body = _decode_payload(obj[key], key)
            if not isinstance(body, dict):
                raise BadItem(f'"{key}" must be a request object')
            break
    for key in _RESPONSE_WRAPPERS:
        if key in obj and obj[key] is not None:
            response = _decode_payload(obj[key], key)
            if not (isinstance(response, dict) or (isinstance(response, list) and response and all(isinstance(c, dict) for c in response))):
                raise BadItem(f'"{key}" must be a response object or a list of stream chunks')
            if body is obj:
                raise BadItem(f'a logged "{key}" needs its request under "request"')
            latency = obj.get("latency_ms")
            if latency is not None and (isinstance(latency, bool) or not isinstance(latency, (int, float)) or latency < 0):
                raise BadItem('"latency_ms" must be a non-negative number')
            model = _model_name(obj.get("model")) or _model_name(obj.get("model_version")) or _model_name(body.get("model"))
            logged = Logged(response=response, model=model, latency_ms=latency)
            break
    request = build_request({k: v for k, v in body.items() if k != "model"})
    return Item(
        id=item_id, request=request, slice=None if slice_ is None else str(slice_), tags=_tags(obj.get("tags")),
        expected=obj.get("expected"), compare=_compare(obj.get("compare")), line=line, logged=logged,
    )  # fmt: skip


# --------------------------------------------------------------------------- file readers


class SeenIds:
    """The ids seen so far and the line of each, in ~12 bytes per id (a dict of str costs ~130, which
    would make memory grow with the dataset): 64-bit fingerprints in an open-addressing table. Two
    different ids share a fingerprint with probability about n^2 / 2^65 (1e-10 at a million ids)."""

    def __init__(self) -> None:
        self._keys = array("q", bytes(8 * 1024))
        self._lines = array("i", bytes(4 * 1024))
        self._count = 0

    @staticmethod
    def _fingerprint(item_id: str) -> int:
        digest = hashlib.blake2b(item_id.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "little", signed=True) or 1  # 0 marks an empty slot

    def add(self, item_id: str, line: int) -> int | None:
        """Record `item_id`; if it was already seen, return the line it was first seen on instead."""
        key = self._fingerprint(item_id)
        keys = self._keys
        mask = len(keys) - 1
        slot = key & mask
        while keys[slot]:
            if keys[slot] == key:
                return self._lines[slot]
            slot = (slot + 1) & mask
        keys[slot] = key
        self._lines[slot] = line
        self._count += 1
        if self._count * 4 > len(keys) * 3:
            self._grow()
        return None

    def _grow(self) -> None:
        old_keys, old_lines = self._keys, self._lines
        size = len(old_keys) * 2
        self._keys = array("q", bytes(8 * size))
        self._lines = array("i", bytes(4 * size))
        mask = size - 1
        for key, line in zip(old_keys, old_lines):
            if key:
                slot = key & mask
                while self._keys[slot]:
                    slot = (slot + 1) & mask
                self._keys[slot] = key
                self._lines[slot] = line



class Dataset:
    """Iterate a dataset file lazily; problems and the file's SHA-256 are known after iterating."""

    def __init__(self, path: str | Path, *, strict: bool = False):
        self.path = Path(path)
        self.strict = strict
        self.problems: list[Problem] = []
        self.skipped = 0
        self.count = 0
        self.logged = 0
        self.sha256: str | None = None
        if not self.path.is_file():
            raise UserError(f"dataset not found: {self.path}")
        self.format = self._detect()

    def _detect(self) -> str:
        suffix = self.path.suffix.lower()
        if suffix in (".csv", ".tsv"):
            return "csv"
        if suffix in (".yaml", ".yml"):
            return "yaml"
        if suffix == ".json":
            with self.path.open("rb") as fh:
                head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
            return "json" if head.startswith(b"[") else "jsonl"
        return "jsonl"

    def _problem(self, line: int, message: str) -> None:
        if self.strict:
            raise UserError(f"{self.path}:{line}: {message} (drop --strict to skip bad lines)")
        self.skipped += 1
        if len(self.problems) < _MAX_PROBLEMS_KEPT:
            self.problems.append(Problem(line, message))

    def __iter__(self) -> Iterator[Item]:
        seen = SeenIds()
        reader = {"jsonl": self._jsonl, "json": self._json, "csv": self._csv, "yaml": self._yaml}[self.format]
        for line, default_id, obj in reader():
            try:
                item = normalise(obj, line=line, default_id=default_id)
            except BadItem as exc:
                self._problem(line, str(exc))
                continue
            first = seen.add(item.id, line)
            if first is not None:
                self._problem(line, f"duplicate id {item.id!r} (first on line {first})")
                continue
            self.count += 1
            self.logged += item.logged is not None
            yield item

    def _jsonl(self) -> Iterator[tuple[int, str, Any]]:
        digest = hashlib.sha256()
        with self.path.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                digest.update(raw)
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except UnicodeDecodeError:
                    self._problem(number, "not valid UTF-8")
                    continue
                except json.JSONDecodeError as exc:
                    self._problem(number, f"not valid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})")
                    continue
                yield number, f"line-{number}", obj
        self.sha256 = digest.hexdigest()

    def _read_text(self) -> str:
        data = self.path.read_bytes()
        self.sha256 = hashlib.sha256(data).hexdigest()
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UserError(f"{self.path}: not valid UTF-8 (byte {exc.start})") from None

    def _json(self) -> Iterator[tuple[int, str, Any]]:
        try:
            data = json.loads(self._read_text())
        except json.JSONDecodeError as exc:
            raise UserError(f"{self.path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, list):
            raise UserError(f"{self.path}: a .json dataset must be a list of items")
        for index, obj in enumerate(data, start=1):
            yield index, f"item-{index}", obj

    def _csv(self) -> Iterator[tuple[int, str, Any]]:
        text = self._read_text()
        dialect = "excel-tab" if self.path.suffix.lower() == ".tsv" else "excel"
        reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect)
        try:
            header = next(reader)
        except StopIteration:
            raise UserError(f"{self.path}: empty CSV file") from None
        except csv.Error as exc:
            raise UserError(f"{self.path}:1: not valid CSV ({exc})") from None
        names = [h.strip().lower() for h in header]
        if "prompt" not in names:
            raise UserError(f"{self.path}:1: the CSV header has no 'prompt' column (found: {', '.join(names) or 'nothing'})")
        row_number = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                self._problem(reader.line_num, f"not valid CSV ({exc})")
                continue
            row_number += 1
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                self._problem(line, f"row has {len(row)} fields, the header has {len(names)}")
                continue
            values = {k: v for k, v in zip(names, row) if k}
            obj: dict[str, Any] = {"prompt": values.get("prompt", "")}
            for key in ("id", "slice", "tags", "compare"):
                if values.get(key, "").strip():
                    obj[key] = values[key].strip()
            if values.get("system", "").strip():
                obj["system"] = values["system"]
            if "expected" in values and values["expected"] != "":
                expected: Any = values["expected"]
                if obj.get("compare", "").lower() == "json":
                    try:
                        expected = json.loads(expected)
                    except json.JSONDecodeError:
                        self._problem(line, '"expected" is not valid JSON but compare is json')
                        continue
                obj["expected"] = expected
            yield line, f"row-{row_number}", obj

    def _yaml(self) -> Iterator[tuple[int, str, Any]]:
        text = self._read_text()
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            if root is not None and isinstance(root, yaml.MappingNode):
                for key_node, value_node in root.value:
                    if key_node.value == "prompts":
                        root = value_node
                        break
                else:
                    raise UserError(f"{self.path}: a YAML dataset is a list of items or a mapping with `prompts:`")
            if root is None:
                return
            if not isinstance(root, yaml.SequenceNode):
                raise UserError(f"{self.path}:{root.start_mark.line + 1}: expected a list of items")
            for index, node in enumerate(root.value, start=1):
                line = node.start_mark.line + 1
                try:
                    obj = loader.construct_object(node, deep=True)
                except yaml.YAMLError as exc:
                    self._problem(line, f"not valid YAML ({getattr(exc, 'problem', exc)})")
                    continue
                yield line, f"item-{index}", _plain(obj)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            raise UserError(f"{self.path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
        finally:
            loader.dispose()


def _plain(value: Any) -> Any:
    """YAML may produce dates and other non-JSON scalars: make them JSON-safe strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def summarise_problems(problems: list[Problem], skipped: int, limit: int = 5) -> str:
    shown = "; ".join(str(p) for p in problems[:limit])
    more = f"; and {skipped - limit} more" if skipped > limit else ""
    return f"{skipped} malformed entr{'y' if skipped == 1 else 'ies'} skipped ({shown}{more})"


__all__ = ["Dataset", "Item", "Logged", "Problem", "BadItem", "normalise", "build_request", "request_hash",
           "canonical_json", "summarise_problems"]
