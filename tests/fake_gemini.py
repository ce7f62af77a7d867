"""A fake Gemini server for tests and benchmarks: real HTTP on 127.0.0.1, stdlib only.

It speaks enough of the Gemini Developer API, the Vertex AI (publisher model) API and the
OpenAI-compatible endpoint for the real SDKs (``google-genai``, legacy ``google-generativeai``
over its REST transport, legacy ``vertexai.generative_models`` over REST) and our own httpx
backends. Every request is recorded; every answer is a deterministic function of
(model, request body) plus whatever was configured.

Quick start::

    from fake_gemini import FakeGemini, Fault

    with FakeGemini() as srv:                      # ephemeral port, background thread
        srv.url                                    # "http://127.0.0.1:PORT"
        srv.set_latency("gemini-2.5-pro", 40)      # ms before each answer
        srv.script("gemini-2.5-pro", [Fault.rate_limit(retry_delay="2s"), Fault.ok()])
        ...                                        # point a client at srv.url
        srv.requests[-1].model, srv.requests[-1].body
        srv.reset()                                # forget requests and all configuration

Standalone (benchmarks, other processes)::

    python tests/fake_gemini.py --port 0 --latency gemini-2.5-pro=120 --latency gemini-2.5-flash-lite=40
    # first stdout line: http://127.0.0.1:PORT ; runs until SIGINT/SIGTERM

Paths
-----
Developer API  ``/{v1,v1beta,v1alpha}/models/{m}:{verb}`` (also ``tunedModels/{m}``),
``GET /{v}/models`` and ``GET /{v}/models/{m}``.
models.list    ``GET /{v}/models`` (Developer API, ``{"models": [...]}``) and
``GET /{v1,v1beta1}/publishers/google/models`` (Vertex, ``{"publisherModels": [...]}``), paged by
``pageSize`` / ``pageToken``; the IDs served are set with ``srv.set_listed_models(api, ids)``
(without it the Developer API lists the configured models, as before).
Vertex         ``/{v1,v1beta1}/projects/{p}/locations/{l}/publishers/google/models/{m}:{verb}``,
``/{v1,v1beta1}/publishers/google/models/{m}:{verb}`` (express mode) and
``/publishers/google/models/{m}:{verb}``.
Verbs          ``generateContent``, ``streamGenerateContent``, ``countTokens``,
``computeTokens`` (Vertex), ``embedContent``, ``batchEmbedContents``, ``predict`` (Vertex
text-embedding models).
Files API      ``/upload/v1beta/files`` (both SDKs' resumable uploads), ``GET``/``DELETE /v1beta/files/{id}``,
``GET /v1beta/files`` and the discovery document legacy uploads start from: see ``fake_files``.
OpenAI        ``POST .../chat/completions`` (e.g. ``/v1/chat/completions``,
``/v1beta/openai/chat/completions``), answered in OpenAI format; ``"stream": true`` gives SSE
chunks ending with ``data: [DONE]``.
Control        ``/__fake__/{requests,stats,reset,config,script,fault}`` (see ``_control``) so a
standalone server can be inspected and configured over HTTP.

Streaming: ``streamGenerateContent?alt=sse`` answers ``text/event-stream`` with
``data: {json}\\r\\n\\r\\n`` events; without ``alt=sse`` it answers one JSON array (what the legacy
REST transports of google-generativeai and vertexai expect). Both are sent chunked.

Deterministic answers
---------------------
* Text: ``"echo: " + summary(last user text)`` where the summary is the whitespace-collapsed text,
  cut to 40 characters plus ``"..."`` when longer, followed by `` [xxxxxxxx]`` (first 8 hex digits
  of the SHA-256 of the full text). Non-text parts of that turn add ``" (+N parts)"``. The model
  does not enter the answer unless configured (``set_reply``), so two models answer alike.
  When the last turn holds ``functionResponse`` parts the answer is
  ``"echo: {name} returned {compact JSON}"`` instead.
* Streaming splits the same text into ``stream_chunks`` (default 3) word-boundary pieces; the
  last chunk carries ``finishReason`` and the full ``usageMetadata``.
* Function calling trigger: if the request declares functions (``tools[].functionDeclarations``)
  and the last user text contains ``call NAME`` or ``call NAME(k=v, k2="v 2", n=3)`` for a
  declared NAME, the answer is a single ``functionCall`` part ``{"name": NAME, "args": {...}}``
  (values: quoted -> string, int/float literals -> numbers, true/false/null -> JSON, else
  string). ``toolConfig.functionCallingConfig.mode == "ANY"`` forces a call of the first allowed
  declared function (args from the same syntax if present, else ``{}``); mode ``NONE`` disables
  calls.
* Tokens: one token per word (``\\w+``) or punctuation character of every text in ``contents``,
  ``systemInstruction`` and the JSON of ``tools``; 258 per inline/file media part.
  ``promptTokenCount`` is that count, ``candidatesTokenCount`` the count of the answer,
  ``thoughtsTokenCount`` / ``cachedContentTokenCount`` appear only when configured
  (``set_usage``), and ``totalTokenCount = prompt + candidates + thoughts``. ``countTokens``
  answers ``{"totalTokens": N}`` with the same count (it also reads ``generateContentRequest``).
* Embeddings: ``EMBED_DIM`` (8) floats derived from SHA-256 of the text, unit length.
* Every candidate has ``finishReason: "STOP"``, ``index: 0`` and four NEGLIGIBLE
  ``safetyRatings``; responses carry ``modelVersion`` (the model id unless configured) and a
  ``responseId`` derived from the body.

Configuration (all thread-safe, per model id; ``"*"`` matches every model)
----------------------------------------------------------------------------
``set_latency(model, ms, jitter_ms=0, chunk_delay_ms=0)``  sleep before the first byte (jitter is
    a deterministic function of the body); ``chunk_delay_ms`` between stream chunks.
``set_usage(model, thoughts_tokens=None, cached_tokens=None)``  extra usage fields.
``set_reply(model, reply)``  ``reply`` is a ``str`` (``{echo}`` expands to the default text) or a
    callable ``(RecordedRequest) -> str | dict``; a dict is sent as the whole JSON answer.
``set_model_version(model, version)``  value of ``modelVersion``.
``set_stream_chunks(n)``  number of stream pieces.
``script(model, [Fault, ...])``  queue of one-shot behaviours, consumed one per request for
    that model (FIFO; the exact model's queue first, then ``"*"``).
``set_fault(model, fault, every=1)``  persistent: every ``every``-th request of the model gets
    ``fault`` (``None`` clears).
``set_fault_for(model, choose)``  persistent per request: ``choose(RecordedRequest) -> Fault | None``
    (e.g. the same 400 for some prompts on every retry, or per-call noise); consulted after the
    scripts and before ``set_fault``. ``None`` clears.
``reset()``  forget recorded requests and all configuration; ``clear_requests()`` only the former.

Faults (``Fault.*`` constructors)
---------------------------------
``ok()``  normal answer (a placeholder in scripts) · ``slow(ms)``  normal answer after ``ms`` ·
``error(code, status, message, details=..., retry_after=...)`` · ``rate_limit(retry_delay="1s",
retry_after=None)``  429 RESOURCE_EXHAUSTED with QuotaFailure/Help/``google.rpc.RetryInfo``
details, optional ``Retry-After`` header · ``unavailable()`` 503 · ``internal()`` 500 ·
``bad_request(msg)`` 400 INVALID_ARGUMENT · ``malformed()`` 200 with a truncated JSON body ·
``cut_stream(after=k)``  stream requests get k chunks then the connection is closed without the
terminating chunk (non-stream requests get half a body) · ``disconnect()``  connection closed
before any response · ``blocked(reason="SAFETY")``  no candidates, ``promptFeedback.blockReason`` ·
``finish("SAFETY" | "MAX_TOKENS" | ...)`` (``safety()`` / ``max_tokens()``): SAFETY has no
content and a HIGH, blocked rating; MAX_TOKENS has the first half of the text. Every fault takes
``delay_ms`` too.

On the OpenAI endpoint errors use the same ``{"error": {...}}`` body; blocked/SAFETY map to
``finish_reason: "content_filter"``, MAX_TOKENS to ``"length"``.

Recorded requests: ``srv.requests`` is a list of ``RecordedRequest`` (method, path, query,
headers with lowercased names, body = parsed JSON or None, raw_body, model, api =
"developer" / "vertex" / "openai" / "control" / "unknown", verb, api_version, project,
location, stream, status, fault).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import math
import re
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, urlsplit

import fake_files

__all__ = ["FakeGemini", "Fault", "RecordedRequest", "EMBED_DIM", "echo_text", "count_tokens", "prompt_tokens"]

EMBED_DIM = 8
DEFAULT_STREAM_CHUNKS = 3
MEDIA_PART_TOKENS = 258

SAFETY_CATEGORIES = (
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
)
GENERATIVE_VERBS = ("generateContent", "streamGenerateContent")

_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 413: "Payload Too Large",
    429: "Too Many Requests", 499: "Client Closed Request", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED",
    500: "INTERNAL", 501: "NOT_IMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}

_MODEL_PATH = re.compile(
    r"^/(?:(?P<ver>v1|v1beta|v1beta1|v1alpha)/)?"
    r"(?:projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/)?"
    r"(?:(?P<publisher>publishers/[^/]+/)models/|(?P<coll>models|tunedModels|endpoints)/)"
    r"(?P<model>[^/:]+)(?::(?P<verb>[A-Za-z]+))?$"
)
_LIST_PATH = re.compile(r"^/(?P<ver>v1|v1beta|v1beta1|v1alpha)/models$")
_VERTEX_LIST_PATH = re.compile(r"^/(?P<ver>v1|v1beta1)/publishers/google/models$")
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_CALL_RE = re.compile(r"\bcall\s+([A-Za-z_][\w.-]*)(?:\s*\(([^)]*)\))?")
_ARG_RE = re.compile(r"""(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^,\s)]+)""")


# --------------------------------------------------------------------------------------------
# Data types


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    model: str | None = None
    api: str = "unknown"  # "developer" | "vertex" | "openai" | "control" | "unknown"
    verb: str | None = None
    api_version: str | None = None
    project: str | None = None
    location: str | None = None
    stream: bool = False
    status: int | None = None  # status the server answered with (None if it never answered)
    fault: str | None = None  # kind of the fault applied, if any
    time: float = 0.0
    resource: str | None = None  # Files API: the file name the request is about

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["raw_body"] = self.raw_body.decode("utf-8", "replace")
        return d

    @property
    def sse(self) -> bool:
        return self.query.get("alt") == "sse"


@dataclass(frozen=True)
class Fault:
    """A scripted behaviour for one request. Build with the class-method constructors."""

    kind: str  # ok | error | malformed | cut_stream | disconnect | blocked | finish
    delay_ms: float = 0.0
    code: int = 200
    status: str = ""
    message: str = ""
    details: tuple = ()
    retry_after: str | None = None
    after: int = 0
    reason: str = ""

    # ---- constructors
    @classmethod
    def ok(cls, delay_ms: float = 0.0) -> "Fault":
        return cls("ok", delay_ms=delay_ms)

    @classmethod
    def slow(cls, ms: float) -> "Fault":
        return cls("ok", delay_ms=ms)

    @classmethod
    def error(cls, code: int, status: str | None = None, message: str | None = None, *,
              details: list | tuple = (), retry_after: str | int | float | None = None,
              delay_ms: float = 0.0) -> "Fault":
        return cls(
            "error", delay_ms=delay_ms, code=code, status=status or _STATUS_NAMES.get(code, "UNKNOWN"),
            message=message or f"fake error {code}", details=tuple(details),
            retry_after=None if retry_after is None else str(retry_after),
        )

    @classmethod
    def rate_limit(cls, retry_delay: str | float | None = "1s", retry_after: str | int | float | None = None,
                   *, message: str | None = None, delay_ms: float = 0.0) -> "Fault":
        if isinstance(retry_delay, (int, float)):
            retry_delay = f"{retry_delay:g}s"
        details: list[dict] = [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
             "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_paid_tier_requests",
                             "quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}]},
            {"@type": "type.googleapis.com/google.rpc.Help",
             "links": [{"description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        ]
        if retry_delay is not None:
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
        if message is None:
            message = "You exceeded your current quota, please check your plan and billing details."
            if retry_delay is not None:
                message += f" Please retry in {retry_delay}."
        return cls.error(429, "RESOURCE_EXHAUSTED", message, details=details,
                         retry_after=retry_after, delay_ms=delay_ms)

    @classmethod
    def unavailable(cls, message: str = "The model is overloaded. Please try again later.",
                    retry_after: str | int | float | None = None, delay_ms: float = 0.0) -> "Fault":
        return cls.error(503, "UNAVAILABLE", message, retry_after=retry_after, delay_ms=delay_ms)

    @classmethod
    def internal(cls, message: str = "An internal error has occurred. Please retry or report.",
                 delay_ms: float = 0.0) -> "Fault":
        return cls.error(500, "INTERNAL", message, delay_ms=delay_ms)

    @classmethod
    def bad_request(cls, message: str = "Request contains an invalid argument.", delay_ms: float = 0.0) -> "Fault":
        return cls.error(400, "INVALID_ARGUMENT", message, delay_ms=delay_ms)

    @classmethod
    def malformed(cls, delay_ms: float = 0.0) -> "Fault":
        return cls("malformed", delay_ms=delay_ms)

    @classmethod
    def cut_stream(cls, after: int = 1, delay_ms: float = 0.0) -> "Fault":
        return cls("cut_stream", delay_ms=delay_ms, after=after)

    @classmethod
    def disconnect(cls, delay_ms: float = 0.0) -> "Fault":
        return cls("disconnect", delay_ms=delay_ms)

    @classmethod
    def blocked(cls, reason: str = "SAFETY", delay_ms: float = 0.0) -> "Fault":
        return cls("blocked", delay_ms=delay_ms, reason=reason)

    @classmethod
    def finish(cls, reason: str, delay_ms: float = 0.0) -> "Fault":
        return cls("finish", delay_ms=delay_ms, reason=reason)

    @classmethod
    def safety(cls, delay_ms: float = 0.0) -> "Fault":
        return cls.finish("SAFETY", delay_ms)

    @classmethod
    def max_tokens(cls, delay_ms: float = 0.0) -> "Fault":
        return cls.finish("MAX_TOKENS", delay_ms)

    # ---- (de)serialisation for the control endpoint
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["details"] = list(self.details)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Fault":
        d = dict(d)
        if "details" in d:
            d["details"] = tuple(d["details"])
        return cls(**d)


@dataclass
class _ModelConfig:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    chunk_delay_ms: float = 0.0
    thoughts_tokens: int | None = None
    cached_tokens: int | None = None
    model_version: str | None = None
    reply: str | Callable[[RecordedRequest], Any] | None = None


# --------------------------------------------------------------------------------------------
# Pure helpers (deterministic answers)


def count_tokens(text: str) -> int:
    """The fake tokenizer: one token per word or punctuation character."""
    return len(_TOKEN_RE.findall(text))


def _digest(data: str | bytes, n: int = 8) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:n]


def _get(d: dict, camel: str, snake: str | None = None, default: Any = None) -> Any:
    """Read a key in camelCase or snake_case (google-genai passes some nested dicts in snake)."""
    if not isinstance(d, dict):
        return default
    if camel in d:
        return d[camel]
    if snake is None:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()
    return d.get(snake, default)


def echo_text(user_text: str, extra_parts: int = 0) -> str:
    """The default answer for a last user turn with text ``user_text``."""
    collapsed = " ".join(user_text.split())
    snippet = collapsed if len(collapsed) <= 40 else collapsed[:40].rstrip() + "..."
    text = f"echo: {snippet} [{_digest(user_text)}]"
    if extra_parts:
        text += f" (+{extra_parts} parts)"
    return text


def _part_tokens(part: Any) -> int:
    if not isinstance(part, dict):
        return count_tokens(str(part))
    n = 0
    if isinstance(part.get("text"), str):
        n += count_tokens(part["text"])
    if _get(part, "inlineData") is not None or _get(part, "fileData") is not None:
        n += MEDIA_PART_TOKENS
    for key in ("functionCall", "functionResponse"):
        val = _get(part, key)
        if val is not None:
            n += count_tokens(json.dumps(val, sort_keys=True))
    return n


def _content_tokens(content: Any) -> int:
    if isinstance(content, str):
        return count_tokens(content)
    if not isinstance(content, dict):
        return 0
    return sum(_part_tokens(p) for p in content.get("parts") or [])


def prompt_tokens(req: dict) -> int:
    """Token count of a GenerateContentRequest-shaped dict (contents, system, tools)."""
    if not isinstance(req, dict):
        return 0
    n = sum(_content_tokens(c) for c in req.get("contents") or [])
    sys_inst = _get(req, "systemInstruction")
    if sys_inst:
        n += _content_tokens(sys_inst)
    tools = req.get("tools")
    if tools:
        n += count_tokens(json.dumps(tools, sort_keys=True))
    return n


def _last_user_turn(contents: list) -> dict | None:
    for c in reversed(contents or []):
        if isinstance(c, dict) and c.get("role") != "model":
            return c
    return None


def _turn_text(turn: dict | None) -> tuple[str, int, list[dict]]:
    """(joined text, number of non-text parts, functionResponse parts) of a turn."""
    if not turn:
        return "", 0, []
    texts, others, responses = [], 0, []
    for p in turn.get("parts") or []:
        if not isinstance(p, dict):
            continue
        if isinstance(p.get("text"), str):
            texts.append(p["text"])
        elif _get(p, "functionResponse") is not None:
            responses.append(_get(p, "functionResponse"))
        else:
            others += 1
    return "\n".join(texts), others, responses


def _parse_arg_value(raw: str) -> Any:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    if raw in ("true", "false", "null"):
        return json.loads(raw)
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def _declared_functions(req: dict) -> list[str]:
    names: list[str] = []
    for tool in req.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        for decl in _get(tool, "functionDeclarations") or []:
            if isinstance(decl, dict) and decl.get("name"):
                names.append(decl["name"])
    return names


def _function_call(req: dict, user_text: str) -> dict | None:
    declared = _declared_functions(req)
    if not declared:
        return None
    fcc = _get(_get(req, "toolConfig") or {}, "functionCallingConfig") or {}
    mode = str(fcc.get("mode", "AUTO")).upper()
    if mode in ("NONE", "0", "3"):  # proto ints: MODE_UNSPECIFIED=0, AUTO=1, ANY=2, NONE=3
        return None
    allowed = _get(fcc, "allowedFunctionNames") or declared
    name, arg_text = None, None
    for m in _CALL_RE.finditer(user_text):
        if m.group(1) in declared:
            name, arg_text = m.group(1), m.group(2)
            break
    if name is None and mode in ("ANY", "2"):
        name = next((n for n in allowed if n in declared), declared[0])
    if name is None:
        return None
    args = {k: _parse_arg_value(v) for k, v in _ARG_RE.findall(arg_text or "")}
    return {"name": name, "args": args}


def _safety_ratings(blocked_category: str | None = None) -> list[dict]:
    out = []
    for cat in SAFETY_CATEGORIES:
        if cat == blocked_category:
            out.append({"category": cat, "probability": "HIGH", "blocked": True})
        else:
            out.append({"category": cat, "probability": "NEGLIGIBLE"})
    return out


def _split_words(text: str, n: int) -> list[str]:
    """Split ``text`` into at most ``n`` non-empty pieces at word boundaries, keeping spaces."""
    words = re.findall(r"\S+\s*", text)
    if n <= 1 or len(words) <= 1:
        return [text]
    n = min(n, len(words))
    bounds = [round(i * len(words) / n) for i in range(n + 1)]
    return ["".join(words[bounds[i]:bounds[i + 1]]) for i in range(n)]


# --------------------------------------------------------------------------------------------
# The server


class _Closed(Exception):
    """Raised inside a handler to drop the connection."""


class FakeGemini:
    """The fake server. Start it with ``with FakeGemini() as srv:`` or ``srv.start()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, record: bool = True,
                 latency: dict[str, float] | None = None, stream_chunks: int = DEFAULT_STREAM_CHUNKS):
        self.host = host
        self.port = port
        self.record = record
        self.requests: list[RecordedRequest] = []
        self.stats: dict[str, int] = {}
        self._lock = threading.Lock()
        self._models: dict[str, _ModelConfig] = {}
        self._scripts: dict[str, deque[Fault]] = {}
        self._faults: dict[str, tuple[Fault, int]] = {}
        self._choosers: dict[str, Callable[[RecordedRequest], Fault | None]] = {}
        self._counts: dict[str, int] = {}
        self._stream_chunks = self._default_stream_chunks = stream_chunks
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[asyncio.Task] = set()
        self._listed: dict[str, list[str]] = {}  # api ("developer" | "vertex") -> IDs models.list serves
        self._files = fake_files.FileStore()
        for model, ms in (latency or {}).items():
            self.set_latency(model, ms)

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> "FakeGemini":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> "FakeGemini":
        if self._thread is not None:
            return self
        ready = threading.Event()
        error: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(self._start_server())
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as e:  # pragma: no cover - bind errors
                error.append(e)
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._shutdown())
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-gemini", daemon=True)
        self._thread.start()
        ready.wait()
        if error:
            self._thread = None
            raise error[0]
        return self

    async def _start_server(self) -> asyncio.base_events.Server:
        return await asyncio.start_server(self._on_connection, self.host, self.port,
                                          backlog=2048, limit=1 << 20)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for t in list(self._conns):
            t.cancel()
        if self._conns:
            await asyncio.gather(*self._conns, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def serve_forever(self) -> None:
        """Run in the current thread (standalone mode) until SIGINT/SIGTERM."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(self._start_server())
        self.port = self._server.sockets[0].getsockname()[1]
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, loop.stop)
            except (NotImplementedError, RuntimeError):  # pragma: no cover
                pass
        print(self.url, flush=True)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown())
            loop.close()

    # ------------------------------------------------------------------ configuration
    def _cfg(self, model: str) -> _ModelConfig:
        cfg = self._models.get(model)
        if cfg is None:
            cfg = self._models[model] = _ModelConfig()
        return cfg

    def _model_cfg(self, model: str | None) -> _ModelConfig:
        cfg = self._models.get(model or "")
        if cfg is None:
            cfg = self._models.get("*")
        return cfg or _ModelConfig()

    def set_latency(self, model: str, ms: float, jitter_ms: float = 0.0, chunk_delay_ms: float = 0.0) -> None:
        with self._lock:
            cfg = self._cfg(model)
            cfg.latency_ms, cfg.jitter_ms, cfg.chunk_delay_ms = float(ms), float(jitter_ms), float(chunk_delay_ms)

    def set_usage(self, model: str, *, thoughts_tokens: int | None = None, cached_tokens: int | None = None) -> None:
        with self._lock:
            cfg = self._cfg(model)
            cfg.thoughts_tokens, cfg.cached_tokens = thoughts_tokens, cached_tokens

    def set_reply(self, model: str, reply: str | Callable[[RecordedRequest], Any] | None) -> None:
        with self._lock:
            self._cfg(model).reply = reply

    def set_model_version(self, model: str, version: str | None) -> None:
        with self._lock:
            self._cfg(model).model_version = version

    def set_listed_models(self, api: str, ids: list[str] | tuple[str, ...]) -> None:
        """The model IDs models.list answers with on one API ("developer" or "vertex")."""
        if api not in ("developer", "vertex"):
            raise ValueError(f"api must be 'developer' or 'vertex', got {api!r}")
        with self._lock:
            self._listed[api] = list(ids)

    def set_stream_chunks(self, n: int) -> None:
        self._stream_chunks = max(1, int(n))

    def script(self, model: str, faults: list[Fault] | tuple[Fault, ...]) -> None:
        """Queue one-shot behaviours for the next requests of ``model`` (appends)."""
        with self._lock:
            self._scripts.setdefault(model, deque()).extend(faults)

    def pending(self, model: str) -> int:
        """How many scripted behaviours of ``model`` are still queued."""
        with self._lock:
            return len(self._scripts.get(model, ()))

    def set_fault(self, model: str, fault: Fault | None, every: int = 1) -> None:
        with self._lock:
            if fault is None:
                self._faults.pop(model, None)
            else:
                self._faults[model] = (fault, max(1, int(every)))

    def set_fault_for(self, model: str, choose: Callable[[RecordedRequest], Fault | None] | None) -> None:
        with self._lock:
            if choose is None:
                self._choosers.pop(model, None)
            else:
                self._choosers[model] = choose

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.stats.clear()
            self._models.clear()
            self._scripts.clear()
            self._faults.clear()
            self._choosers.clear()
            self._counts.clear()
            self._listed.clear()
            self._files = fake_files.FileStore()
            self._stream_chunks = self._default_stream_chunks

    def requests_for(self, model: str | None = None, verb: str | None = None) -> list[RecordedRequest]:
        return [r for r in list(self.requests)
                if (model is None or r.model == model) and (verb is None or r.verb == verb)]

    def _pick_fault(self, model: str | None, rec: RecordedRequest | None = None) -> Fault | None:
        key = model or ""
        with self._lock:
            self._counts[key] = n = self._counts.get(key, 0) + 1
            for name in (key, "*"):
                q = self._scripts.get(name)
                if q:
                    return q.popleft()
            choosers = [self._choosers.get(name) for name in (key, "*")]
        for choose in choosers:
            if choose is not None and rec is not None:
                picked = choose(rec)
                if picked is not None:
                    return picked
        with self._lock:
            for name in (key, "*"):
                spec = self._faults.get(name)
                if spec is not None and n % spec[1] == 0:
                    return spec[0]
        return None

    # ------------------------------------------------------------------ connection handling
    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conns.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    break
                try:
                    method, target, version, headers = self._parse_head(head)
                    body = await self._read_body(reader, headers)
                except (ValueError, asyncio.IncompleteReadError):
                    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    break
                conn_hdr = headers.get("connection", "").lower()
                keep_alive = (version == "HTTP/1.1" and conn_hdr != "close") or (
                    version == "HTTP/1.0" and conn_hdr == "keep-alive")
                try:
                    await self._handle(writer, method, target, headers, body, keep_alive)
                except _Closed:
                    break
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            try:
                writer.close()
            except Exception:  # pragma: no cover
                pass
            if task is not None:
                self._conns.discard(task)

    @staticmethod
    def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            raise ValueError("bad request line")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError("bad header")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return parts[0], parts[1], parts[2], headers

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    return b"".join(chunks)
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
        length = int(headers.get("content-length") or 0)
        return await reader.readexactly(length) if length else b""

    # ------------------------------------------------------------------ response writing
    @staticmethod
    def _head(status: int, content_type: str | None, length: int | None, keep_alive: bool,
              extra: dict[str, str] | None = None) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        if length is None:
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {length}")
        lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
        lines.append("Server: fake-gemini")
        for k, v in (extra or {}).items():
            lines.append(f"{k}: {v}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _send(self, writer: asyncio.StreamWriter, status: int, payload: Any, keep_alive: bool,
                    extra: dict[str, str] | None = None, content_type: str = "application/json; charset=UTF-8") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        writer.write(self._head(status, content_type, len(data), keep_alive, extra) + data)
        await writer.drain()

    @staticmethod
    def _chunk(data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data)

    # ------------------------------------------------------------------ dispatch
    async def _handle(self, writer: asyncio.StreamWriter, method: str, target: str,
                      headers: dict[str, str], body: bytes, keep_alive: bool) -> None:
        split = urlsplit(target)
        path = unquote(split.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        parsed: Any = None
        bad_json = False
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                bad_json = True
        rec = RecordedRequest(method, path, query, headers, parsed, body, time=time.time())

        if path.startswith("/__fake__/"):
            rec.api = "control"
            await self._control(writer, rec, keep_alive)
            return

        m = _MODEL_PATH.match(path)
        if self._route_files(rec, method, path):
            pass
        elif m:
            rec.model = m.group("model")
            rec.verb = m.group("verb")
            rec.api_version = m.group("ver")
            rec.project, rec.location = m.group("project"), m.group("location")
            coll = m.group("coll")
            rec.api = "vertex" if (m.group("publisher") or rec.project or coll == "endpoints") else "developer"
            if coll == "tunedModels":
                rec.model = f"tunedModels/{rec.model}"
            elif coll == "endpoints":
                rec.model = f"endpoints/{rec.model}"
        elif path.endswith("/chat/completions"):
            rec.api, rec.verb = "openai", "chat.completions"
            rec.model = parsed.get("model") if isinstance(parsed, dict) else None
            if isinstance(rec.model, str) and rec.model.startswith("models/"):
                rec.model = rec.model[len("models/"):]
        elif _LIST_PATH.match(path):
            rec.api, rec.verb, rec.api_version = "developer", "list", _LIST_PATH.match(path).group("ver")
        elif _VERTEX_LIST_PATH.match(path):
            rec.api, rec.verb, rec.api_version = "vertex", "list", _VERTEX_LIST_PATH.match(path).group("ver")

        if rec.verb == "streamGenerateContent" or (
                rec.api == "openai" and isinstance(parsed, dict) and parsed.get("stream")):
            rec.stream = True
        if self.record:
            with self._lock:
                self.requests.append(rec)
        key = f"{rec.api}:{rec.verb}"
        self.stats[key] = self.stats.get(key, 0) + 1

        if rec.api == "unknown":
            await self._send_error(writer, rec, 404, "NOT_FOUND", f"fake: unknown path {path}", keep_alive)
            return
        if rec.verb is not None and rec.verb.startswith("files."):
            await self._answer_files(writer, rec, keep_alive)
            return
        if rec.verb == "list" or (rec.verb is None and method == "GET"):
            await self._send_model_info(writer, rec, keep_alive)
            return
        if method != "POST":
            await self._send_error(writer, rec, 405, "INVALID_ARGUMENT", "fake: use POST", keep_alive)
            return
        if bad_json or not isinstance(parsed, dict):
            await self._send_error(writer, rec, 400, "INVALID_ARGUMENT",
                                   "Invalid JSON payload received.", keep_alive)
            return

        fault = self._pick_fault(rec.model, rec)
        cfg = self._model_cfg(rec.model)
        delay = cfg.latency_ms
        if cfg.jitter_ms:
            delay += cfg.jitter_ms * (int(_digest(body, 4), 16) / 0xFFFF)
        if fault is not None:
            rec.fault = fault.kind
            delay += fault.delay_ms
        if delay > 0:
            await asyncio.sleep(delay / 1000.0)

        if fault is not None and fault.kind == "disconnect":
            raise _Closed()
        if fault is not None and fault.kind == "error":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
            await self._send_error(writer, rec, fault.code, fault.status, fault.message, keep_alive,
                                   details=list(fault.details), extra=extra)
            return
        if fault is not None and fault.kind == "malformed":
            rec.status = 200
            await self._send(writer, 200, b'{"candidates": [{"content": {"role": "model", "parts": [{"te',
                             keep_alive)
            return

        try:
            if rec.api == "openai":
                await self._answer_openai(writer, rec, cfg, fault, keep_alive)
            elif rec.verb in GENERATIVE_VERBS:
                await self._answer_generate(writer, rec, cfg, fault, keep_alive)
            elif rec.verb in ("countTokens", "computeTokens"):
                await self._answer_simple(writer, rec, self._count_tokens_response(rec), fault, keep_alive)
            elif rec.verb in ("embedContent", "batchEmbedContents", "predict"):
                await self._answer_simple(writer, rec, self._embed_response(rec), fault, keep_alive)
            else:
                await self._send_error(writer, rec, 404, "NOT_FOUND",
                                       f"fake: unsupported method {rec.verb}", keep_alive)
        except _Closed:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            await self._send_error(writer, rec, 400, "INVALID_ARGUMENT", f"fake: cannot handle request: {e!r}",
                                   keep_alive)

    def _route_files(self, rec: RecordedRequest, method: str, path: str) -> bool:
        """Files API paths (see fake_files): sets api, verb and resource; False for any other path."""
        upload = fake_files.UPLOAD_PATH.match(path.replace("/resumable/upload/", "/upload/", 1))
        file = fake_files.FILE_PATH.match(path)
        if path == fake_files.DISCOVERY_PATH:
            rec.verb = "files.discovery"
        elif upload:
            rec.verb = "files.upload.data" if "upload_id" in rec.query else "files.upload"
            rec.api_version = upload.group("ver")
        elif file:
            rec.api_version = file.group("ver")
            if file.group("id") is None:
                rec.verb = "files.list"
            else:
                rec.resource = f"files/{file.group('id')}"
                rec.verb = {"GET": "files.get", "DELETE": "files.delete"}.get(method, "files.unknown")
        else:
            return False
        rec.api = "developer"
        return True

    async def _answer_files(self, writer: asyncio.StreamWriter, rec: RecordedRequest, keep_alive: bool) -> None:
        store = self._files
        rec.status = 200
        if rec.verb == "files.discovery":
            await self._send(writer, 200, fake_files.discovery_document(self.url), keep_alive)
        elif rec.verb == "files.upload":
            session = store.start(rec.body, rec.headers)
            where = f"{self.url}/upload/{rec.api_version}/files?upload_id={session}&upload_protocol=resumable"
            await self._send(writer, 200, {}, keep_alive, {"X-Goog-Upload-URL": where, "Location": where, "X-Goog-Upload-Status": "active"})
        elif rec.verb == "files.upload.data":
            file = store.finish(rec.query["upload_id"], rec.raw_body)
            if file is None:
                await self._send_error(writer, rec, 404, "NOT_FOUND", "fake: no such upload session", keep_alive)
                return
            rec.resource = file["name"]
            await self._send(writer, 200, {"file": file}, keep_alive, {"X-Goog-Upload-Status": "final"})
        elif rec.verb == "files.list":
            await self._send(writer, 200, store.page(int(rec.query.get("pageSize") or 10), rec.query.get("pageToken", "")), keep_alive)
        elif rec.resource in store.files and rec.verb == "files.get":
            await self._send(writer, 200, store.files[rec.resource], keep_alive)
        elif rec.resource in store.files and rec.verb == "files.delete":
            del store.files[rec.resource]
            await self._send(writer, 200, {}, keep_alive)
        else:
            await self._send_error(writer, rec, 403 if rec.verb in ("files.get", "files.delete") else 404,
                                   "PERMISSION_DENIED" if rec.verb in ("files.get", "files.delete") else "NOT_FOUND",
                                   f"You do not have permission to access the File {rec.resource} or it may not exist.", keep_alive)

    async def _send_error(self, writer: asyncio.StreamWriter, rec: RecordedRequest, code: int, status: str,
                          message: str, keep_alive: bool, *, details: list | None = None,
                          extra: dict[str, str] | None = None) -> None:
        rec.status = code
        err: dict[str, Any] = {"code": code, "message": message, "status": status}
        if details:
            err["details"] = details
        await self._send(writer, code, {"error": err}, keep_alive, extra)

    async def _answer_simple(self, writer: asyncio.StreamWriter, rec: RecordedRequest, payload: dict,
                             fault: Fault | None, keep_alive: bool) -> None:
        rec.status = 200
        if fault is not None and fault.kind == "cut_stream":
            data = json.dumps(payload).encode()
            writer.write(self._head(200, "application/json; charset=UTF-8", len(data), False)
                         + data[: len(data) // 2])
            await writer.drain()
            raise _Closed()
        await self._send(writer, 200, payload, keep_alive)

    def _listing(self, rec: RecordedRequest, info: Callable[[str], dict]) -> dict:
        """One page of models.list from the IDs set with set_listed_models (pageToken = start index)."""
        with self._lock:
            ids = list(self._listed.get(rec.api, []))
        size = int(rec.query.get("pageSize") or 50)
        start = int(rec.query.get("pageToken") or 0)
        page = ids[start:start + size]
        if rec.api == "vertex":
            body: dict[str, Any] = {"publisherModels": [{"name": f"publishers/google/models/{m}", "versionId": "001"} for m in page]}
        else:
            body = {"models": [info(m) for m in page]}
        if start + size < len(ids):
            body["nextPageToken"] = str(start + size)
        return body

    async def _send_model_info(self, writer: asyncio.StreamWriter, rec: RecordedRequest, keep_alive: bool) -> None:
        def info(model: str) -> dict:
            return {"name": f"models/{model}", "version": "001", "displayName": model,
                    "description": "fake model", "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                    "temperature": 1.0, "topP": 0.95, "topK": 64, "maxTemperature": 2.0}

        rec.status = 200
        if rec.verb == "list" and (rec.api in self._listed or rec.api == "vertex"):
            await self._send(writer, 200, self._listing(rec, info), keep_alive)
        elif rec.verb == "list":
            names = sorted(m for m in self._models if m != "*") or ["gemini-2.5-flash-lite", "gemini-2.5-pro"]
            await self._send(writer, 200, {"models": [info(n) for n in names]}, keep_alive)
        else:
            await self._send(writer, 200, info(rec.model or ""), keep_alive)

    # ------------------------------------------------------------------ generateContent
    def _reply_text(self, rec: RecordedRequest, cfg: _ModelConfig, req: dict) -> tuple[Any, dict | None]:
        """Returns (text or full-response dict, functionCall or None)."""
        turn = _last_user_turn(req.get("contents") or [])
        text, others, responses = _turn_text(turn)
        call = _function_call(req, text) if not responses else None
        if responses:
            r = responses[0]
            default = f"echo: {r.get('name', '')} returned " + json.dumps(
                r.get("response"), sort_keys=True, separators=(",", ":"))
        else:
            default = echo_text(text, others)
        if cfg.reply is not None:
            if callable(cfg.reply):
                out = cfg.reply(rec)
                return out, None if isinstance(out, dict) else call
            return cfg.reply.replace("{echo}", default), call
        return default, call

    def _usage(self, cfg: _ModelConfig, prompt: int, candidates: int) -> dict:
        usage: dict[str, Any] = {"promptTokenCount": prompt}
        if candidates:
            usage["candidatesTokenCount"] = candidates
        total = prompt + candidates
        if cfg.thoughts_tokens:
            usage["thoughtsTokenCount"] = cfg.thoughts_tokens
            total += cfg.thoughts_tokens
        if cfg.cached_tokens:
            usage["cachedContentTokenCount"] = min(cfg.cached_tokens, prompt)
        usage["totalTokenCount"] = total
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
        return usage

    def _generate_chunks(self, rec: RecordedRequest, cfg: _ModelConfig, fault: Fault | None,
                         n_chunks: int) -> list[dict]:
        req = rec.body
        prompt = prompt_tokens(req)
        version = cfg.model_version or rec.model or ""
        base = {"modelVersion": version, "responseId": ""}

        if fault is not None and fault.kind == "blocked":
            base["responseId"] = _digest("blocked:" + fault.reason, 16)
            return [{"promptFeedback": {"blockReason": fault.reason,
                                        "safetyRatings": _safety_ratings(SAFETY_CATEGORIES[1])},
                     "usageMetadata": self._usage(cfg, prompt, 0), **base}]

        reply, call = self._reply_text(rec, cfg, req)
        if isinstance(reply, dict):  # fully custom answer
            return [reply]
        base["responseId"] = _digest(json.dumps(call) if call is not None else str(reply), 16)
        finish = fault.reason if (fault is not None and fault.kind == "finish") else "STOP"

        if call is not None:
            pieces: list[dict] = [{"functionCall": call}]
            out_tokens = count_tokens(json.dumps(call, sort_keys=True))
            texts = None
        else:
            text = str(reply)
            if finish == "MAX_TOKENS":
                words = text.split(" ")
                text = " ".join(words[: max(1, len(words) // 2)])
            out_tokens = count_tokens(text)
            texts = _split_words(text, n_chunks) if n_chunks > 1 else [text]
            pieces = [{"text": t} for t in texts]

        if finish == "SAFETY":
            return [{"candidates": [{"finishReason": "SAFETY", "index": 0,
                                     "safetyRatings": _safety_ratings(SAFETY_CATEGORIES[1])}],
                     "usageMetadata": self._usage(cfg, prompt, 0), **base}]

        chunks = []
        if texts is None:  # a function call is never split
            pieces = [pieces[0]]
        for i, part in enumerate(pieces):
            last = i == len(pieces) - 1
            cand: dict[str, Any] = {"content": {"role": "model", "parts": [part]}, "index": 0}
            if last:
                cand["finishReason"] = finish
                cand["safetyRatings"] = _safety_ratings()
            chunk: dict[str, Any] = {"candidates": [cand]}
            chunk["usageMetadata"] = (self._usage(cfg, prompt, out_tokens) if last
                                      else {"promptTokenCount": prompt, "totalTokenCount": prompt})
            chunk.update(base)
            chunks.append(chunk)
        return chunks

    async def _answer_generate(self, writer: asyncio.StreamWriter, rec: RecordedRequest, cfg: _ModelConfig,
                               fault: Fault | None, keep_alive: bool) -> None:
        if rec.verb == "generateContent":
            chunks = self._generate_chunks(rec, cfg, fault, 1)
            await self._answer_simple(writer, rec, chunks[0], fault, keep_alive)
            return
        chunks = self._generate_chunks(rec, cfg, fault, self._stream_chunks)
        if rec.sse:
            encoded = [b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks]
            ctype = "text/event-stream"
        else:  # legacy REST transports: a JSON array, streamed
            n = len(chunks)
            encoded = [(b"[" if i == 0 else b",\r\n") + json.dumps(c).encode() + (b"]" if i == n - 1 else b"")
                       for i, c in enumerate(chunks)]
            ctype = "application/json; charset=UTF-8"
        await self._stream(writer, rec, encoded, ctype, cfg, fault, keep_alive)

    async def _stream(self, writer: asyncio.StreamWriter, rec: RecordedRequest, encoded: list[bytes], ctype: str,
                      cfg: _ModelConfig, fault: Fault | None, keep_alive: bool) -> None:
        rec.status = 200
        cut = fault.after if (fault is not None and fault.kind == "cut_stream") else None
        writer.write(self._head(200, ctype, None, keep_alive and cut is None))
        for i, data in enumerate(encoded):
            if cut is not None and i >= cut:
                await writer.drain()
                raise _Closed()
            if i and cfg.chunk_delay_ms:
                await writer.drain()
                await asyncio.sleep(cfg.chunk_delay_ms / 1000.0)
            writer.write(self._chunk(data))
        if cut is not None:  # cut after all chunks: still no terminating chunk
            await writer.drain()
            raise _Closed()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    # ------------------------------------------------------------------ countTokens / embed
    def _count_tokens_response(self, rec: RecordedRequest) -> dict:
        req = rec.body
        inner = _get(req, "generateContentRequest")
        n = prompt_tokens(inner) if isinstance(inner, dict) else prompt_tokens(req)
        if rec.verb == "computeTokens":
            return {"tokensInfo": [{"tokens": [], "tokenIds": [], "role": "user"}]}
        out: dict[str, Any] = {"totalTokens": n, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": n}]}
        if rec.api == "vertex":
            chars = sum(len(p.get("text", "")) for c in (req.get("contents") or []) if isinstance(c, dict)
                        for p in (c.get("parts") or []) if isinstance(p, dict))
            out["totalBillableCharacters"] = chars
        return out

    @staticmethod
    def _embedding(text: str) -> list[float]:
        raw = hashlib.sha256(text.encode("utf-8")).digest()
        vals = [(raw[i] - 127.5) / 127.5 for i in range(EMBED_DIM)]
        norm = math.sqrt(sum(v * v for v in vals)) or 1.0
        return [round(v / norm, 6) for v in vals]

    def _embed_response(self, rec: RecordedRequest) -> dict:
        req = rec.body

        def content_text(c: Any) -> str:
            if isinstance(c, str):
                return c
            return "\n".join(p.get("text", "") for p in (c or {}).get("parts") or [] if isinstance(p, dict))

        if rec.verb == "predict":  # Vertex text-embedding models
            preds = []
            for inst in req.get("instances") or []:
                text = inst.get("content", "") if isinstance(inst, dict) else str(inst)
                preds.append({"embeddings": {"values": self._embedding(text),
                                             "statistics": {"token_count": count_tokens(text),
                                                            "truncated": False}}})
            return {"predictions": preds, "metadata": {"billableCharacterCount": 0}}
        if rec.verb == "batchEmbedContents":
            return {"embeddings": [{"values": self._embedding(content_text(r.get("content")))}
                                   for r in req.get("requests") or []]}
        return {"embedding": {"values": self._embedding(content_text(req.get("content")))}}

    # ------------------------------------------------------------------ OpenAI-compatible
    async def _answer_openai(self, writer: asyncio.StreamWriter, rec: RecordedRequest, cfg: _ModelConfig,
                             fault: Fault | None, keep_alive: bool) -> None:
        req = rec.body
        contents, system = [], []
        for msg in req.get("messages") or []:
            content = msg.get("content")
            if isinstance(content, list):
                content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
            role = msg.get("role")
            if role in ("system", "developer"):
                system.append({"text": content or ""})
            else:
                contents.append({"role": "model" if role == "assistant" else "user",
                                 "parts": [{"text": content or ""}]})
        native: dict[str, Any] = {"contents": contents}
        if system:
            native["systemInstruction"] = {"parts": system}
        prompt = prompt_tokens(native)
        created = int(int(_digest(rec.raw_body, 8), 16) % 1_000_000_000) + 1_700_000_000
        cid = "chatcmpl-" + _digest(rec.raw_body, 24)
        model = rec.model or ""

        finish, text = "stop", None
        if fault is not None and fault.kind in ("blocked", "finish") and fault.reason != "MAX_TOKENS":
            finish = "content_filter"
        else:
            shadow = RecordedRequest(rec.method, rec.path, rec.query, rec.headers, native, rec.raw_body,
                                     model=rec.model, api=rec.api, verb=rec.verb)
            reply, _ = self._reply_text(shadow, cfg, native)
            text = reply if isinstance(reply, str) else json.dumps(reply)
            if fault is not None and fault.kind == "finish" and fault.reason == "MAX_TOKENS":
                finish = "length"
                words = text.split(" ")
                text = " ".join(words[: max(1, len(words) // 2)])
        out_tokens = count_tokens(text or "")
        usage = {"prompt_tokens": prompt, "completion_tokens": out_tokens + (cfg.thoughts_tokens or 0),
                 "total_tokens": prompt + out_tokens + (cfg.thoughts_tokens or 0)}
        if cfg.thoughts_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": cfg.thoughts_tokens}
        if cfg.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": min(cfg.cached_tokens, prompt)}

        if not rec.stream:
            payload = {"id": cid, "object": "chat.completion", "created": created, "model": model,
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                    "finish_reason": finish}],
                       "usage": usage}
            await self._answer_simple(writer, rec, payload, fault, keep_alive)
            return
        pieces = _split_words(text, self._stream_chunks) if text else []
        events = []
        for i, piece in enumerate(pieces or [None]):
            last = i == max(len(pieces), 1) - 1
            delta: dict[str, Any] = {"role": "assistant"} if i == 0 else {}
            if piece is not None:
                delta["content"] = piece
            ev: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                                  "choices": [{"index": 0, "delta": delta,
                                               "finish_reason": finish if last else None}]}
            if last:
                ev["usage"] = usage
            events.append(b"data: " + json.dumps(ev).encode() + b"\n\n")
        events.append(b"data: [DONE]\n\n")
        await self._stream(writer, rec, events, "text/event-stream", cfg, fault, keep_alive)

    # ------------------------------------------------------------------ control endpoint
    async def _control(self, writer: asyncio.StreamWriter, rec: RecordedRequest, keep_alive: bool) -> None:
        """``GET /__fake__/requests`` (recorded requests as JSON), ``GET /__fake__/stats``,
        ``POST /__fake__/reset``, ``POST /__fake__/config`` ``{"model", "latency_ms", "jitter_ms",
        "chunk_delay_ms", "thoughts_tokens", "cached_tokens", "model_version", "reply", "stream_chunks"}``,
        ``POST /__fake__/script`` ``{"model", "faults": [Fault.to_dict(), ...]}``,
        ``POST /__fake__/fault`` ``{"model", "fault": Fault.to_dict() | null, "every"}``."""
        name = rec.path[len("/__fake__/"):]
        body = rec.body if isinstance(rec.body, dict) else {}
        rec.status = 200
        try:
            if name == "requests":
                with self._lock:
                    data = [r.to_dict() for r in self.requests if r.api != "control"]
                await self._send(writer, 200, data, keep_alive)
                return
            if name == "stats":
                await self._send(writer, 200, dict(self.stats), keep_alive)
                return
            if rec.method != "POST":
                raise ValueError("use POST")
            if name == "reset":
                self.reset()
            elif name == "config":
                model = body.get("model", "*")
                if any(k in body for k in ("latency_ms", "jitter_ms", "chunk_delay_ms")):
                    cur = self._cfg(model)
                    self.set_latency(model, body.get("latency_ms", cur.latency_ms),
                                     body.get("jitter_ms", cur.jitter_ms), body.get("chunk_delay_ms", cur.chunk_delay_ms))
                if "thoughts_tokens" in body or "cached_tokens" in body:
                    self.set_usage(model, thoughts_tokens=body.get("thoughts_tokens"),
                                   cached_tokens=body.get("cached_tokens"))
                if "model_version" in body:
                    self.set_model_version(model, body["model_version"])
                if "reply" in body:
                    self.set_reply(model, body["reply"])
                if "stream_chunks" in body:
                    self.set_stream_chunks(body["stream_chunks"])
            elif name == "script":
                self.script(body.get("model", "*"), [Fault.from_dict(f) for f in body.get("faults", [])])
            elif name == "fault":
                f = body.get("fault")
                self.set_fault(body.get("model", "*"), Fault.from_dict(f) if f else None, body.get("every", 1))
            else:
                raise ValueError(f"unknown control endpoint {name!r}")
        except (TypeError, ValueError) as e:
            await self._send_error(writer, rec, 400, "INVALID_ARGUMENT", str(e), keep_alive)
            return
        await self._send(writer, 200, {"ok": True}, keep_alive)


# --------------------------------------------------------------------------------------------
# Standalone entry point


def _parse_latency(spec: str) -> tuple[str, float]:
    model, sep, ms = spec.rpartition("=")
    if not sep or not model:
        raise argparse.ArgumentTypeError(f"expected MODEL=MS, got {spec!r}")
    return model, float(ms)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Fake Gemini server (prints its URL on the first line).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency", type=_parse_latency, action="append", default=[], metavar="MODEL=MS",
                   help="per-model latency in ms before the first byte; MODEL may be '*'")
    p.add_argument("--jitter", type=float, default=0.0, metavar="MS",
                   help="deterministic extra latency in [0, MS) per request body, for every --latency model")
    p.add_argument("--stream-chunks", type=int, default=DEFAULT_STREAM_CHUNKS)
    p.add_argument("--no-record", action="store_true", help="do not keep request records (long benchmarks)")
    args = p.parse_args(argv)
    srv = FakeGemini(args.host, args.port, record=not args.no_record, stream_chunks=args.stream_chunks)
    for model, ms in args.latency:
        srv.set_latency(model, ms, jitter_ms=args.jitter)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
