"""Where a call goes: request builders and response parsers around one shared httpx.AsyncClient.

Backends:

* ``gemini``  Gemini Developer API, ``x-goog-api-key`` from GEMINI_API_KEY / GOOGLE_API_KEY;
* ``vertex``  Vertex AI publisher models, ``Authorization: Bearer`` from GOOGLE_OAUTH_ACCESS_TOKEN
  or ``gcloud auth print-access-token``; project / location from flags or GOOGLE_CLOUD_PROJECT /
  GOOGLE_CLOUD_LOCATION (default ``global``);
* ``openai``  any OpenAI-compatible ``/chat/completions`` endpoint (OpenAI, Azure OpenAI with an
  ``api-key`` header, Gemini's own ``/v1beta/openai`` endpoint); the Gemini request body is
  translated, the answer translated back;
* ``replay``  recorded responses (a replay JSONL file written by ``--record``, or a run folder);
* ``log``     the production response carried by a logged-traffic item (the primary arm).

Every backend answers ``generate(spec, stream=, timeout=) -> Outcome`` or raises `CallFailed`
(kind, http_status, message, retryable, retry_after, throttled). The runner owns retries, limits
and timing; backends hold no state besides credentials, which are registered with the redactor
and never appear in a message.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

import httpx

from migrate.errors import UserError
from migrate.shadow.cost import Usage, usage_from_gemini, usage_from_openai
from migrate.shadow.secrets import REDACTOR

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
BLOCK_FINISH_REASONS = frozenset({
    "SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT",
})  # fmt: skip
GEMINI_API_URL = "https://generativelanguage.googleapis.com"
OPENAI_API_URL = "https://api.openai.com/v1"
BACKENDS = ("gemini", "vertex", "openai", "replay")
_MAX_MESSAGE = 400


class CallFailed(Exception):
    """One attempt failed. `kind`: http, timeout, network, malformed, stream_cut, replay_miss, unsupported."""

    def __init__(self, kind: str, message: str, *, http_status: int | None = None, retryable: bool = False,
                 retry_after: float | None = None, throttled: bool = False):
        message = REDACTOR(message) if REDACTOR else message
        super().__init__(message)
        self.kind = kind
        self.message = message[:_MAX_MESSAGE]
        self.http_status = http_status
        self.retryable = retryable
        self.retry_after = retry_after
        self.throttled = throttled
        self.recorded: tuple[float | None, int | None] | None = None  # replay: (latency_ms, attempts)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "http_status": self.http_status, "message": self.message}


@dataclass(slots=True)
class CallSpec:
    """Everything a backend needs for one call; `body` is the JSON of `request`, encoded once per prompt."""

    prompt_id: str
    arm: str
    repeat: int
    model: str
    request: Mapping[str, Any]
    body: bytes
    request_hash: str
    logged: Mapping[str, Any] | None = None
    on_wire: Any = None  # called once when the request's bytes start to leave (the write-ahead ledger)


def _trace(spec: CallSpec) -> dict[str, Any] | None:
    """httpcore's trace extension, to tell the ledger the moment the request starts to leave."""
    if spec.on_wire is None:
        return None
    fired = []

    async def trace(event: str, info: Any) -> None:
        if not fired and event.endswith(("send_request_headers.started", "send_connection_init.started")):
            fired.append(True)
            spec.on_wire()

    return {"trace": trace}


@dataclass(slots=True)
class Outcome:
    response: dict[str, Any]  # {text, finish_reason, blocked, block_reason, tool_calls, raw}
    usage: Usage | None
    ttft_ms: float | None = None
    latency_ms: float | None = None  # offline backends: the recorded latency
    attempts: int | None = None  # offline backends: the recorded attempt count


# --------------------------------------------------------------------------- errors


def parse_duration(value: Any) -> float | None:
    """google.protobuf.Duration in JSON ("47s", "0.300s") or {seconds, nanos} -> seconds."""
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)s\s*", value)
        return float(m.group(1)) if m else None
    if isinstance(value, Mapping):
        try:
            return float(value.get("seconds") or 0) + float(value.get("nanos") or 0) / 1e9
        except (TypeError, ValueError):
            return None
    return None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After: delta seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def http_error(status: int, headers: Mapping[str, str], content: bytes) -> CallFailed:
    """A non-2xx answer -> CallFailed, reading google.rpc.Status / OpenAI error bodies."""
    retry_after = parse_retry_after(headers.get("retry-after"))
    message = ""
    status_name = ""
    try:
        data = json.loads(content) if content else None
    except ValueError:
        data = None
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, list) and err and isinstance(err[0], dict):  # some proxies wrap it in a list
        err = err[0].get("error", err[0])
    if isinstance(err, dict):
        message = str(err.get("message") or "")
        status_name = str(err.get("status") or err.get("type") or err.get("code") or "")
        for detail in err.get("details") or ():
            if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
                delay = parse_duration(detail.get("retryDelay"))
                if delay is not None:
                    retry_after = delay if retry_after is None else max(retry_after, delay)
    elif content:
        message = content[:200].decode("utf-8", "replace").strip()
    text = f"HTTP {status}" + (f" {status_name}" if status_name and not status_name.isdigit() else "")
    if message:
        text += f": {message}"
    return CallFailed("http", text, http_status=status, retryable=status in RETRYABLE_STATUS,
                      retry_after=retry_after, throttled=status == 429)


def _transport_error(exc: Exception) -> CallFailed:
    if isinstance(exc, httpx.TimeoutException):
        return CallFailed("timeout", f"timed out ({type(exc).__name__})", retryable=True)
    detail = str(exc) or type(exc).__name__
    return CallFailed("network", f"{type(exc).__name__}: {detail}", retryable=True)


# --------------------------------------------------------------------------- Gemini responses


def normalise_gemini(data: Any) -> tuple[dict[str, Any], Usage | None]:
    """A GenerateContentResponse -> (normalised response, usage)."""
    if not isinstance(data, dict):
        raise CallFailed("malformed", f"response is a JSON {type(data).__name__}, not an object", retryable=True)
    candidates = data.get("candidates") or []
    feedback = data.get("promptFeedback") or {}
    block_reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
    text_parts: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    finish = None
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        first = candidates[0]
        finish = first.get("finishReason")
        content = first.get("content") or {}
        for part in (content.get("parts") or ()) if isinstance(content, dict) else ():
            if not isinstance(part, dict):
                continue
            text = part.get("text")
            if isinstance(text, str) and not part.get("thought"):
                text_parts.append(text)
            call = part.get("functionCall") or part.get("function_call")
            if isinstance(call, dict):
                tool_calls.append({"name": call.get("name"), "args": call.get("args") or {}})
    elif candidates and not isinstance(candidates, list):
        raise CallFailed("malformed", "'candidates' is not a list", retryable=True)
    blocked = block_reason is not None or finish in BLOCK_FINISH_REASONS
    response = {
        "text": "".join(text_parts), "finish_reason": finish, "blocked": blocked,
        "block_reason": block_reason or (finish if finish in BLOCK_FINISH_REASONS else None),
        "tool_calls": tool_calls, "raw": data,
    }  # fmt: skip
    return response, usage_from_gemini(data.get("usageMetadata") or data.get("usage_metadata"))


def merge_gemini_chunks(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """Stream chunks -> one GenerateContentResponse (text joined, last finish reason and usage)."""
    text: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    merged: dict[str, Any] = {}
    candidate: dict[str, Any] = {}
    for chunk in chunks:
        if not isinstance(chunk, dict):
            continue
        for key in ("usageMetadata", "modelVersion", "responseId", "promptFeedback", "createTime"):
            if key in chunk:
                merged[key] = chunk[key]
        cands = chunk.get("candidates")
        if isinstance(cands, list) and cands and isinstance(cands[0], dict):
            first = cands[0]
            for key, value in first.items():
                if key != "content":
                    candidate[key] = value
            content = first.get("content") or {}
            for part in content.get("parts") or () if isinstance(content, dict) else ():
                if not isinstance(part, dict):
                    continue
                if isinstance(part.get("text"), str):
                    (thoughts if part.get("thought") else text).append(part["text"])
                elif "functionCall" in part:
                    calls.append(part)
    parts: list[dict[str, Any]] = []
    if thoughts:
        parts.append({"text": "".join(thoughts), "thought": True})
    if text:
        parts.append({"text": "".join(text)})
    parts.extend(calls)
    if candidate or parts:
        merged["candidates"] = [{**candidate, "content": {"role": "model", "parts": parts}}]
    return merged


# --------------------------------------------------------------------------- OpenAI translation

_FINISH_FROM_OPENAI = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY", "tool_calls": "STOP",
                       "function_call": "STOP"}


def _parts_text(content: Any) -> str:
    parts = content.get("parts") if isinstance(content, dict) else None
    return "".join(p.get("text", "") for p in parts or () if isinstance(p, dict) and isinstance(p.get("text"), str))


def gemini_to_openai(request: Mapping[str, Any], model: str, stream: bool) -> dict[str, Any]:
    """Translate a Gemini request body into a chat-completions body; unsupported features fail."""
    messages: list[dict[str, Any]] = []
    system = request.get("systemInstruction")
    if system:
        messages.append({"role": "system", "content": _parts_text(system)})
    for turn in request.get("contents") or ():
        role = "assistant" if turn.get("role") == "model" else "user"
        pieces: list[dict[str, Any]] = []
        tool_calls: list[dict[str, Any]] = []
        for part in turn.get("parts") or ():
            if isinstance(part.get("text"), str):
                pieces.append({"type": "text", "text": part["text"]})
            elif isinstance(part.get("inlineData") or part.get("inline_data"), dict):
                blob = part.get("inlineData") or part.get("inline_data")
                mime = blob.get("mimeType") or blob.get("mime_type") or "application/octet-stream"
                if not mime.startswith("image/"):
                    raise CallFailed("unsupported", f"the openai backend cannot send inline {mime} parts")
                pieces.append({"type": "image_url", "image_url": {"url": f"data:{mime};base64,{blob.get('data', '')}"}})
            elif isinstance(part.get("functionCall"), dict):
                call = part["functionCall"]
                tool_calls.append({"id": f"call_{len(tool_calls)}_{call.get('name')}", "type": "function",
                                   "function": {"name": call.get("name"), "arguments": json.dumps(call.get("args") or {})}})
            elif isinstance(part.get("functionResponse"), dict):
                resp = part["functionResponse"]
                messages.append({"role": "tool", "tool_call_id": f"call_0_{resp.get('name')}",
                                 "content": json.dumps(resp.get("response"))})
            else:
                raise CallFailed("unsupported", f"the openai backend cannot send a part with keys {sorted(part)}")
        if tool_calls:
            messages.append({"role": "assistant", "content": None, "tool_calls": tool_calls})
        if pieces:
            only_text = all(p["type"] == "text" for p in pieces)
            content = "".join(p["text"] for p in pieces) if only_text else pieces
            messages.append({"role": role, "content": content})
    body: dict[str, Any] = {"model": model, "messages": messages}
    config = request.get("generationConfig") or {}
    simple = {"temperature": "temperature", "topP": "top_p", "maxOutputTokens": "max_tokens", "seed": "seed",
              "stopSequences": "stop", "presencePenalty": "presence_penalty",
              "frequencyPenalty": "frequency_penalty", "candidateCount": "n"}
    for key, target in simple.items():
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
        value = config.get(key, config.get(snake))
        if value is not None:
            body[target] = value
    schema = config.get("responseJsonSchema") or config.get("responseSchema") or config.get("response_json_schema")
    if schema:
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
    elif (config.get("responseMimeType") or config.get("response_mime_type")) == "application/json":
        body["response_format"] = {"type": "json_object"}
    thinking = config.get("thinkingConfig") or config.get("thinking_config") or {}
    level = thinking.get("thinkingLevel") or thinking.get("thinking_level")
    if isinstance(level, str) and level.lower() in ("low", "medium", "high", "minimal"):
        body["reasoning_effort"] = level.lower()
    tools = []
    for tool in request.get("tools") or ():
        decls = tool.get("functionDeclarations") or tool.get("function_declarations")
        if decls is None:
            raise CallFailed("unsupported", f"the openai backend cannot send the tool {sorted(tool)}")
        for decl in decls:
            params = decl.get("parameters") or decl.get("parametersJsonSchema") or decl.get("parameters_json_schema")
            fn = {"name": decl.get("name"), "description": decl.get("description", "")}
            if params:
                fn["parameters"] = params
            tools.append({"type": "function", "function": fn})
    if tools:
        body["tools"] = tools
        mode = ((request.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("mode")
        if mode:
            body["tool_choice"] = {"ANY": "required", "NONE": "none"}.get(str(mode).upper(), "auto")
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def normalise_openai(data: Any) -> tuple[dict[str, Any], Usage | None]:
    if not isinstance(data, dict) or not isinstance(data.get("choices", []), list):
        raise CallFailed("malformed", "not a chat-completions object", retryable=True)
    choices = data.get("choices") or []
    message = (choices[0].get("message") or {}) if choices and isinstance(choices[0], dict) else {}
    finish_raw = choices[0].get("finish_reason") if choices and isinstance(choices[0], dict) else None
    finish = _FINISH_FROM_OPENAI.get(finish_raw, finish_raw.upper() if isinstance(finish_raw, str) else None)
    tool_calls = []
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {}
        try:
            args = json.loads(fn.get("arguments") or "{}")
        except ValueError:
            args = {"_unparsed": fn.get("arguments")}
        tool_calls.append({"name": fn.get("name"), "args": args})
    blocked = finish_raw == "content_filter"
    response = {"text": message.get("content") or "", "finish_reason": finish, "blocked": blocked,
                "block_reason": "SAFETY" if blocked else None, "tool_calls": tool_calls, "raw": data}
    return response, usage_from_openai(data.get("usage"))


def merge_openai_chunks(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    finish = None
    merged: dict[str, Any] = {}
    for chunk in chunks:
        for key in ("id", "model", "created", "usage"):
            if chunk.get(key) is not None:
                merged[key] = chunk[key]
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                text.append(delta["content"])
            for call in delta.get("tool_calls") or ():
                slot = calls.setdefault(call.get("index", 0), {"type": "function", "function": {"name": "", "arguments": ""}})
                fn = call.get("function") or {}
                slot["function"]["name"] += fn.get("name") or ""
                slot["function"]["arguments"] += fn.get("arguments") or ""
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text)}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    merged["choices"] = [{"index": 0, "message": message, "finish_reason": finish}]
    return merged


# --------------------------------------------------------------------------- backends


class Backend:
    name = "?"
    offline = False  # replay / log: nothing is sent, nothing is paid, no limits apply
    api = "gemini"  # response format: gemini | openai

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name}

    async def generate(self, spec: CallSpec, *, stream: bool, timeout: float) -> Outcome:  # pragma: no cover
        raise NotImplementedError


def _strip_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), parts.query, ""))


def _public_url(url: str) -> str:
    """A base URL for the manifest: no credentials in userinfo or query."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class _HttpBackend(Backend):
    def __init__(self, client: httpx.AsyncClient, base_url: str):
        self.client = client
        self.base_url = _strip_url(base_url)
        self._headers: dict[str, str] = {"content-type": "application/json"}
        self._urls: dict[tuple[str, bool], httpx.URL] = {}

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "base_url": _public_url(self.base_url)}

    # subclasses: url(), payload(), parse(), merge()
    def url(self, model: str, stream: bool) -> str:  # pragma: no cover
        raise NotImplementedError

    def payload(self, spec: CallSpec, stream: bool) -> bytes:
        return spec.body

    def parse(self, data: Any) -> tuple[dict[str, Any], Usage | None]:
        return normalise_gemini(data)

    def merge(self, chunks: list[dict[str, Any]]) -> dict[str, Any]:
        return merge_gemini_chunks(chunks)

    def stream_complete(self, merged: dict[str, Any], done_marker: bool) -> bool:
        cands = merged.get("candidates") or []
        return bool((cands and cands[0].get("finishReason")) or merged.get("promptFeedback", {}).get("blockReason"))

    async def on_auth_failure(self) -> bool:
        """Refresh credentials after a 401; True when a retry may help."""
        return False

    def _url(self, model: str, stream: bool) -> httpx.URL:
        key = (model, stream)
        url = self._urls.get(key)
        if url is None:  # parsed once per model: httpx re-parses a str URL on every request
            url = self._urls[key] = httpx.URL(self.url(model, stream))
        return url

    async def generate(self, spec: CallSpec, *, stream: bool, timeout: float) -> Outcome:
        url = self._url(spec.model, stream)
        body = self.payload(spec, stream)
        extensions = _trace(spec)
        try:
            if stream:
                async with asyncio.timeout(timeout):
                    return await self._stream(url, body, timeout, extensions)
            resp = await self.client.post(url, content=body, headers=self._headers, timeout=timeout,
                                          extensions=extensions)
            content = resp.content
        except TimeoutError:
            raise CallFailed("timeout", f"no complete answer within {timeout:g}s", retryable=True) from None
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from None
        if resp.status_code != 200:
            raise await self._failed(resp.status_code, resp.headers, content)
        try:
            data = json.loads(content)
        except ValueError:
            raise CallFailed("malformed", f"HTTP 200 with a body that is not JSON ({len(content)} bytes)", retryable=True) from None
        response, usage = self.parse(data)
        return Outcome(response, usage)

    async def _failed(self, status: int, headers: Mapping[str, str], content: bytes) -> CallFailed:
        failure = http_error(status, headers, content)
        if status == 401 and await self.on_auth_failure():
            failure.retryable = True
        return failure

    async def _stream(self, url: httpx.URL, body: bytes, timeout: float, extensions: dict[str, Any] | None) -> Outcome:
        t0 = time.perf_counter()
        ttft = None
        chunks: list[dict[str, Any]] = []
        done_marker = False
        try:
            async with self.client.stream("POST", url, content=body, headers=self._headers, timeout=timeout,
                                          extensions=extensions) as resp:
                if resp.status_code != 200:
                    content = await resp.aread()
                    raise await self._failed(resp.status_code, resp.headers, content)
                data_lines: list[str] = []
                async for line in resp.aiter_lines():
                    if line.startswith("data:"):
                        data_lines.append(line[5:].strip())
                        continue
                    if line.strip() or not data_lines:
                        continue
                    payload = "\n".join(data_lines)
                    data_lines = []
                    if payload == "[DONE]":
                        done_marker = True
                        continue
                    try:
                        chunks.append(json.loads(payload))
                    except ValueError:
                        raise CallFailed("malformed", "a stream event is not JSON", retryable=True) from None
                    if ttft is None:
                        ttft = (time.perf_counter() - t0) * 1000.0
                if data_lines:  # last event without its blank line
                    payload = "\n".join(data_lines)
                    if payload == "[DONE]":
                        done_marker = True
                    else:
                        try:
                            chunks.append(json.loads(payload))
                        except ValueError:
                            raise CallFailed("stream_cut", "the stream ended inside an event", retryable=True) from None
        except httpx.HTTPError as exc:
            if chunks:
                raise CallFailed("stream_cut", f"the stream broke after {len(chunks)} chunks ({type(exc).__name__})",
                                 retryable=True) from None
            raise _transport_error(exc) from None
        merged = self.merge(chunks)
        if not chunks or not self.stream_complete(merged, done_marker):
            raise CallFailed("stream_cut", f"the stream ended after {len(chunks)} chunks without a finish reason",
                             retryable=True)
        response, usage = self.parse(merged)
        return Outcome(response, usage, ttft_ms=ttft)


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def gemini_api_key(env: Mapping[str, str] | None = None) -> str:
    env = _env(env)
    key = env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY")
    if not key:
        raise UserError("the gemini backend needs an API key: set GEMINI_API_KEY (or GOOGLE_API_KEY)")
    REDACTOR.add(key)
    return key


class GeminiBackend(_HttpBackend):
    """The Developer API. Since 2026-10-26 it stores generateContent requests by default ("Logs and
    datasets"); a shadow run sends production prompts, so every request carries the top-level
    GenerateContentRequest field ``store`` (False unless the run opted in with --store)."""

    name = "gemini"

    def __init__(self, client: httpx.AsyncClient, *, base_url: str | None = None, api_version: str = "v1beta",
                 env: Mapping[str, str] | None = None, store: bool = False):
        super().__init__(client, base_url or GEMINI_API_URL)
        self.api_version = api_version
        self.store = store
        self._store_field = b'{"store":' + (b"true" if store else b"false") + b","
        self._headers["x-goog-api-key"] = gemini_api_key(env)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "store": self.store}

    def payload(self, spec: CallSpec, stream: bool) -> bytes:
        if "store" in spec.request:  # the dataset's own value is overridden, never duplicated
            body = dict(spec.request, store=self.store)
            return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if spec.body == b"{}":
            return self._store_field[:-1] + b"}"
        return self._store_field + spec.body[1:]

    def url(self, model: str, stream: bool) -> str:
        model = model.removeprefix("models/")
        verb = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"{self.base_url}/{self.api_version}/models/{model}:{verb}"


def _gcloud_token() -> str:
    exe = shutil.which("gcloud")
    if exe is None:
        raise UserError("the vertex backend needs a token: set GOOGLE_OAUTH_ACCESS_TOKEN or install gcloud")
    try:
        done = subprocess.run([exe, "auth", "print-access-token"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(f"`gcloud auth print-access-token` failed ({type(exc).__name__})") from None
    token = done.stdout.strip()
    if done.returncode != 0 or not token:
        raise UserError("`gcloud auth print-access-token` gave no token: run `gcloud auth login` "
                        "or set GOOGLE_OAUTH_ACCESS_TOKEN")
    return token


class VertexBackend(_HttpBackend):
    name = "vertex"

    def __init__(self, client: httpx.AsyncClient, *, base_url: str | None = None, project: str | None = None,
                 location: str | None = None, api_version: str = "v1", env: Mapping[str, str] | None = None):
        env = _env(env)
        self.project = project or env.get("GOOGLE_CLOUD_PROJECT") or env.get("CLOUDSDK_CORE_PROJECT")
        if not self.project:
            raise UserError("the vertex backend needs a project: pass --project or set GOOGLE_CLOUD_PROJECT")
        self.location = location or env.get("GOOGLE_CLOUD_LOCATION") or "global"
        if base_url is None:
            if self.location == "global":
                base_url = "https://aiplatform.googleapis.com"
            elif self.location in ("us", "eu"):
                base_url = f"https://aiplatform.{self.location}.rep.googleapis.com"
            else:
                base_url = f"https://{self.location}-aiplatform.googleapis.com"
        super().__init__(client, base_url)
        self.api_version = api_version
        token = env.get("GOOGLE_OAUTH_ACCESS_TOKEN")
        self._from_gcloud = not token
        self._set_token(token or _gcloud_token())
        self._refreshed_at = time.monotonic()

    def _set_token(self, token: str) -> None:
        REDACTOR.add(token)
        self._headers["authorization"] = f"Bearer {token}"

    async def on_auth_failure(self) -> bool:
        if not self._from_gcloud or time.monotonic() - self._refreshed_at < 60:
            return False
        self._refreshed_at = time.monotonic()
        self._set_token(await asyncio.to_thread(_gcloud_token))
        return True

    def url(self, model: str, stream: bool) -> str:
        model = model.removeprefix("models/").rsplit("/", 1)[-1]
        verb = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return (f"{self.base_url}/{self.api_version}/projects/{self.project}/locations/{self.location}"
                f"/publishers/google/models/{model}:{verb}")


class OpenAIBackend(_HttpBackend):
    """Chat completions. Base URL e.g. https://api.openai.com/v1, an Azure deployment URL
    (…/openai/deployments/NAME?api-version=…), or Gemini's …/v1beta/openai."""

    name = "openai"
    api = "openai"

    def __init__(self, client: httpx.AsyncClient, *, base_url: str | None = None, env: Mapping[str, str] | None = None):
        super().__init__(client, base_url or OPENAI_API_URL)
        env = _env(env)
        host = urlsplit(self.base_url).hostname or ""
        if host.endswith((".openai.azure.com", ".cognitiveservices.azure.com")):
            key = env.get("AZURE_OPENAI_API_KEY") or env.get("OPENAI_API_KEY")
            header, value = "api-key", key
        elif host == "generativelanguage.googleapis.com":
            key = env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY")
            header, value = "authorization", f"Bearer {key}"
        else:
            key = env.get("OPENAI_API_KEY")
            header, value = "authorization", f"Bearer {key}"
        if not key:
            raise UserError("the openai backend needs a key: set OPENAI_API_KEY (AZURE_OPENAI_API_KEY for Azure, "
                            "GEMINI_API_KEY for Gemini's OpenAI-compatible endpoint)")
        REDACTOR.add(key)
        self._headers[header] = value

    def url(self, model: str, stream: bool) -> str:
        parts = urlsplit(self.base_url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path + "/chat/completions", parts.query, ""))

    def payload(self, spec: CallSpec, stream: bool) -> bytes:
        return json.dumps(gemini_to_openai(spec.request, spec.model, stream)).encode()

    def parse(self, data: Any) -> tuple[dict[str, Any], Usage | None]:
        return normalise_openai(data)

    def merge(self, chunks: list[dict[str, Any]]) -> dict[str, Any]:
        return merge_openai_chunks(chunks)

    def stream_complete(self, merged: dict[str, Any], done_marker: bool) -> bool:
        return done_marker or bool(merged["choices"][0].get("finish_reason"))


def served_model(raw: Any) -> str | None:
    """The model that served a response: Gemini's ``modelVersion``, OpenAI's ``model``."""
    if not isinstance(raw, Mapping):
        return None
    value = raw.get("modelVersion") or raw.get("model")
    return value if isinstance(value, str) and value else None


def normalise_any(api: str, data: Any) -> tuple[dict[str, Any], Usage | None]:
    return normalise_openai(data) if api == "openai" else normalise_gemini(data)


class LogBackend(Backend):
    """The primary arm of logged traffic: the production response is read, not requested."""

    name = "log"
    offline = True

    async def generate(self, spec: CallSpec, *, stream: bool, timeout: float) -> Outcome:
        logged = spec.logged or {}
        raw = logged.get("response")
        if isinstance(raw, list):
            raw = merge_gemini_chunks(raw)
        response, usage = normalise_gemini(raw)
        return Outcome(response, usage, latency_ms=logged.get("latency_ms"), attempts=0)


class ReplayBackend(Backend):
    """Recorded responses keyed by (model, request_hash, arm, repeat).

    Source: a replay JSONL file (``--record`` output; one object per line with prompt_id, arm,
    repeat, model, request_hash, api, latency_ms, ttft_ms, attempts, and either ``response`` (the
    provider's raw JSON) or ``error`` {kind, http_status, message}), or a run folder (its
    calls.jsonl). Only offsets are kept in memory; a record is read when asked for.
    """

    name = "replay"
    offline = True

    def __init__(self, source: str | Path):
        path = Path(source)
        if path.is_dir():
            path = path / "calls.jsonl"
        if not path.is_file():
            raise UserError(f"replay source not found: {source}")
        self.path = path
        self.models: dict[str, str] = {}  # arm -> model, first seen (defaults for --primary/--candidate)
        self._index: dict[tuple[str, str, str, int], int] = {}
        with open(path, "rb") as fh:
            offset = 0
            for number, raw in enumerate(fh, start=1):
                here, offset = offset, offset + len(raw)
                if not raw.strip():
                    continue
                try:
                    rec = json.loads(raw)
                    key = (rec["model"], rec["request_hash"], rec["arm"], int(rec.get("repeat", 0)))
                except (ValueError, KeyError, TypeError):
                    if not raw.endswith(b"\n"):
                        break  # torn tail of a run folder's log
                    raise UserError(f"{path}:{number}: not a replay record") from None
                self._index[key] = here  # the last record of a key wins, as in the run store
                self.models.setdefault(rec["arm"], rec["model"])
        self._fh = open(path, "rb")

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "source": str(self.path)}

    def close(self) -> None:
        self._fh.close()

    async def generate(self, spec: CallSpec, *, stream: bool, timeout: float) -> Outcome:
        offset = self._index.get((spec.model, spec.request_hash, spec.arm, spec.repeat))
        if offset is None:
            raise CallFailed("replay_miss", f"no recorded {spec.arm} response #{spec.repeat} of {spec.model} "
                                            f"for prompt {spec.prompt_id!r} in {self.path.name}")
        self._fh.seek(offset)
        rec = json.loads(self._fh.readline())
        latency, ttft, attempts = rec.get("latency_ms"), rec.get("ttft_ms"), rec.get("attempts")
        error = rec.get("error")
        if rec.get("status") == "error" or (error and rec.get("response") is None):
            error = error or {}
            failure = CallFailed(error.get("kind") or "http", error.get("message") or "recorded error",
                                 http_status=error.get("http_status"), retryable=False)
            failure.recorded = (latency, attempts)  # replayed as recorded, not retried
            raise failure
        raw = rec.get("response")
        if isinstance(raw, dict) and "raw" in raw and "finish_reason" in raw:  # a run folder's normalised record
            raw = raw["raw"]
        api = rec.get("api") or ("openai" if rec.get("backend") == "openai" else "gemini")
        response, usage = normalise_any(api, raw)
        return Outcome(response, usage, ttft_ms=ttft, latency_ms=latency, attempts=attempts)


def replay_record(record: Mapping[str, Any], api: str) -> dict[str, Any]:
    """A calls.jsonl record -> a replay-format line (what --record writes)."""
    response = record.get("response")
    return {
        "prompt_id": record["prompt_id"], "arm": record["arm"], "repeat": record["repeat"],
        "model": record["model"], "request_hash": record["request_hash"], "api": api,
        "latency_ms": record.get("latency_ms"), "ttft_ms": record.get("ttft_ms"), "attempts": record.get("attempts"),
        "status": record["status"], "error": record.get("error"),
        "response": response.get("raw") if response else None,
    }  # fmt: skip


def make_backend(name: str, client: httpx.AsyncClient, *, base_url: str | None = None, project: str | None = None,
                 location: str | None = None, replay: str | Path | None = None, api_version: str | None = None,
                 env: Mapping[str, str] | None = None, store: bool = False) -> Backend:
    if name == "gemini":
        return GeminiBackend(client, base_url=base_url, api_version=api_version or "v1beta", env=env, store=store)
    if name == "vertex":
        return VertexBackend(client, base_url=base_url, project=project, location=location,
                             api_version=api_version or "v1", env=env)
    if name == "openai":
        return OpenAIBackend(client, base_url=base_url, env=env)
    if name == "replay":
        if replay is None:
            raise UserError("--backend replay needs recorded responses: pass --replay FILE_OR_RUN_FOLDER")
        return ReplayBackend(replay)
    raise UserError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")


class _TrackedStream(httpx.AsyncByteStream):
    """A response body that reports (once) when it is closed."""

    def __init__(self, stream: Any, done: Any):
        self._stream = stream
        self._done = done

    async def __aiter__(self) -> Any:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done()


class ShardedTransport(httpx.AsyncBaseTransport):
    """httpx's default transport, split into small pools.

    httpcore's connection pool re-scans every connection (and polls every idle socket) each time a
    request starts or ends, which is quadratic in the pool size: at 64 connections that alone costs
    over a millisecond of CPU per call. Pools of at most `per_shard` connections keep that scan short;
    each request goes to the shard with the fewest requests in flight, so no request waits while
    another shard has room. It is still one httpx.AsyncClient for every backend.
    """

    def __init__(self, connections: int, *, per_shard: int = 4, keepalive_expiry: float = 30.0):
        count = max(1, -(-connections // per_shard))
        size = -(-connections // count)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size, keepalive_expiry=keepalive_expiry)
        ssl_context = httpx.create_ssl_context()  # loading the CA bundle costs ~20 ms: once, not per shard
        self._shards = [httpx.AsyncHTTPTransport(limits=limits, verify=ssl_context) for _ in range(count)]
        self._busy = [0] * count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        busy = self._busy
        index = busy.index(min(busy))
        busy[index] += 1

        def done() -> None:
            busy[index] -= 1

        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            done()
            raise
        return httpx.Response(status_code=response.status_code, headers=response.headers,
                              stream=_TrackedStream(response.stream, done), extensions=response.extensions)

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


class _NoCookies(httpx.Cookies):
    """An always-empty cookie store: the model APIs need no cookies, and a shadow run keeps no state
    between calls. (httpx parses every response's headers for cookies otherwise: ~7% of a call's CPU.)"""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        return None


class _Client(httpx.AsyncClient):
    _no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, value: Any) -> None:
        return None


def new_client(concurrency: int, timeout: float) -> httpx.AsyncClient:
    """The one client every HTTP backend shares: pooled keep-alive connections, no redirects, no cookies."""
    return _Client(transport=ShardedTransport(concurrency), timeout=httpx.Timeout(timeout, pool=None),
                   follow_redirects=False)
