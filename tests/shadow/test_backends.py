"""Backends as pure request builders / response parsers, over httpx.MockTransport."""

import asyncio
import json

import httpx
import pytest

from migrate.errors import UserError
from migrate.shadow.backends import (
    CallFailed, CallSpec, GeminiBackend, LogBackend, OpenAIBackend, ReplayBackend, VertexBackend,
    gemini_to_openai, http_error, merge_gemini_chunks, normalise_gemini, parse_retry_after,
)
from migrate.shadow.dataset import request_hash

REQUEST = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "systemInstruction": {"parts": [{"text": "be terse"}]},
           "generationConfig": {"temperature": 0.2, "maxOutputTokens": 64, "responseMimeType": "application/json"}}
ANSWER = {"candidates": [{"content": {"role": "model", "parts": [{"text": "thinking...", "thought": True}, {"text": "hello"},
                                                                 {"functionCall": {"name": "f", "args": {"x": 1}}}]},
                          "finishReason": "STOP"}],
          "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2, "thoughtsTokenCount": 7, "totalTokenCount": 14}}


def spec(model="gemini-2.5-pro", request=REQUEST):
    return CallSpec("p1", "primary", 0, model, request, json.dumps(request).encode(), request_hash(request))


def run(coro):
    return asyncio.run(coro)


async def call(backend_factory, handler, **kw):
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        backend = backend_factory(client)
        return await backend.generate(spec(**kw), stream=False, timeout=5)


def test_gemini_request_and_normalised_response():
    seen = {}

    def handler(request):
        seen["url"], seen["key"], seen["body"] = str(request.url), request.headers["x-goog-api-key"], json.loads(request.content)
        return httpx.Response(200, json=ANSWER)

    out = run(call(lambda c: GeminiBackend(c, base_url="http://fake", env={"GEMINI_API_KEY": "k-123456"}), handler))
    assert seen["url"] == "http://fake/v1beta/models/gemini-2.5-pro:generateContent"
    # the Developer API stores requests by default since 2026-10-26: a shadow run opts out per request
    assert seen["key"] == "k-123456" and seen["body"] == {"store": False, **REQUEST}
    assert out.response["text"] == "hello"  # thought parts are not the answer
    assert out.response["tool_calls"] == [{"name": "f", "args": {"x": 1}}]
    assert out.response["finish_reason"] == "STOP" and not out.response["blocked"]
    assert (out.usage.prompt, out.usage.candidates, out.usage.thoughts) == (5, 2, 7)


def test_vertex_url_and_bearer_token():
    seen = {}

    def handler(request):
        seen["url"], seen["auth"] = str(request.url), request.headers["authorization"]
        return httpx.Response(200, json=ANSWER)

    env = {"GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.token-abcdef", "GOOGLE_CLOUD_PROJECT": "proj"}
    run(call(lambda c: VertexBackend(c, base_url="http://fake", location="us-central1", env=env), handler))
    assert seen["url"] == ("http://fake/v1/projects/proj/locations/us-central1/publishers/google/models/"
                           "gemini-2.5-pro:generateContent")
    assert seen["auth"] == "Bearer ya29.token-abcdef"
    backend = VertexBackend(httpx.AsyncClient(), env=env)
    assert backend.base_url == "https://aiplatform.googleapis.com"  # location defaults to global


def test_missing_credentials_are_user_errors():
    with pytest.raises(UserError, match="GEMINI_API_KEY"):
        GeminiBackend(httpx.AsyncClient(), env={})
    with pytest.raises(UserError, match="project"):
        VertexBackend(httpx.AsyncClient(), env={"GOOGLE_OAUTH_ACCESS_TOKEN": "t"})
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        OpenAIBackend(httpx.AsyncClient(), env={})


def test_errors_classified_and_retry_delays_read():
    body = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
                      "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.5s"}]}}
    failure = http_error(429, {}, json.dumps(body).encode())
    assert failure.retryable and failure.throttled and failure.retry_after == 2.5
    assert failure.as_dict() == {"kind": "http", "http_status": 429, "message": "HTTP 429 RESOURCE_EXHAUSTED: quota"}
    assert http_error(503, {"retry-after": "7"}, b"").retry_after == 7
    bad = http_error(400, {}, json.dumps({"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}).encode())
    assert not bad.retryable
    assert http_error(502, {}, b"<html>proxy</html>").message == "HTTP 502: <html>proxy</html>"
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_malformed_json_and_network_errors_are_retryable():
    def garbage(request):
        return httpx.Response(200, content=b'{"candidates": [')

    with pytest.raises(CallFailed) as info:
        run(call(lambda c: GeminiBackend(c, base_url="http://f", env={"GEMINI_API_KEY": "kkkk"}), garbage))
    assert info.value.kind == "malformed" and info.value.retryable

    def refuse(request):
        raise httpx.ConnectError("refused")

    with pytest.raises(CallFailed) as info:
        run(call(lambda c: GeminiBackend(c, base_url="http://f", env={"GEMINI_API_KEY": "kkkk"}), refuse))
    assert info.value.kind == "network" and info.value.retryable


def test_secrets_never_reach_error_text():
    def echo(request):
        return httpx.Response(400, json={"error": {"message": f"key {request.headers['x-goog-api-key']} is invalid"}})

    with pytest.raises(CallFailed) as info:
        run(call(lambda c: GeminiBackend(c, base_url="http://f", env={"GEMINI_API_KEY": "canary-secret-777"}), echo))
    assert "canary-secret-777" not in str(info.value) and "canary-secret-777" not in info.value.message


def test_streaming_sse_merges_chunks_and_measures_ttft():
    chunks = [{"candidates": [{"content": {"parts": [{"text": "hel"}]}}]},
              {"candidates": [{"content": {"parts": [{"text": "lo"}]}, "finishReason": "STOP"}],
               "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6}}]
    body = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks).encode()

    def handler(request):
        assert request.url.path.endswith(":streamGenerateContent") and request.url.params["alt"] == "sse"
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await GeminiBackend(client, base_url="http://f", env={"GEMINI_API_KEY": "kkkk"}).generate(
                spec(), stream=True, timeout=5)

    out = run(go())
    assert out.response["text"] == "hello" and out.usage.total == 6 and out.ttft_ms is not None

    def cut(request):  # no chunk carries a finish reason: the stream was cut
        return httpx.Response(200, content=body.split(b"\r\n\r\n")[0] + b"\r\n\r\n")

    async def go_cut():
        async with httpx.AsyncClient(transport=httpx.MockTransport(cut)) as client:
            return await GeminiBackend(client, base_url="http://f", env={"GEMINI_API_KEY": "kkkk"}).generate(
                spec(), stream=True, timeout=5)

    with pytest.raises(CallFailed) as info:
        run(go_cut())
    assert info.value.kind == "stream_cut" and info.value.retryable


def test_blocked_prompt_and_safety_finish():
    blocked, _ = normalise_gemini({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}})
    assert blocked["blocked"] and blocked["block_reason"] == "SAFETY" and blocked["text"] == ""
    safety, _ = normalise_gemini({"candidates": [{"finishReason": "SAFETY"}]})
    assert safety["blocked"] and safety["finish_reason"] == "SAFETY"
    with pytest.raises(CallFailed):
        normalise_gemini([1, 2])


def test_openai_translation_both_ways():
    body = gemini_to_openai({**REQUEST, "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object"}}]}],
                             "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}}, "gpt-x", stream=False)
    assert body["messages"] == [{"role": "system", "content": "be terse"}, {"role": "user", "content": "hi"}]
    assert body["temperature"] == 0.2 and body["max_tokens"] == 64
    assert body["response_format"] == {"type": "json_object"}
    assert body["tools"][0]["function"]["name"] == "f" and body["tool_choice"] == "required"
    with pytest.raises(CallFailed) as info:
        gemini_to_openai({"contents": [{"parts": [{"text": "x"}]}], "tools": [{"googleSearch": {}}]}, "m", False)
    assert info.value.kind == "unsupported" and not info.value.retryable

    seen = {}

    def handler(request):
        seen["url"], seen["auth"] = str(request.url), request.headers.get("authorization")
        return httpx.Response(200, json={"choices": [{"message": {"content": "yo", "tool_calls": [
            {"function": {"name": "f", "arguments": "{\"a\": 2}"}}]}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}})

    out = run(call(lambda c: OpenAIBackend(c, base_url="http://f/v1?api-version=1", env={"OPENAI_API_KEY": "sk-abcdef"}), handler))
    assert seen["url"] == "http://f/v1/chat/completions?api-version=1" and seen["auth"] == "Bearer sk-abcdef"
    assert out.response["text"] == "yo" and out.response["finish_reason"] == "MAX_TOKENS"
    assert out.response["tool_calls"] == [{"name": "f", "args": {"a": 2}}]
    assert out.usage.prompt == 9 and out.usage.candidates == 4


def test_replay_and_log_backends(tmp_path):
    path = tmp_path / "r.replay.jsonl"
    s = spec()
    path.write_text(json.dumps({"prompt_id": "p1", "arm": "primary", "repeat": 0, "model": s.model,
                                "request_hash": s.request_hash, "api": "gemini", "latency_ms": 1234.5, "ttft_ms": None,
                                "attempts": 2, "status": "ok", "error": None, "response": ANSWER}) + "\n")
    backend = ReplayBackend(path)
    out = run(backend.generate(s, stream=False, timeout=1))
    assert out.response["text"] == "hello" and out.latency_ms == 1234.5 and out.attempts == 2
    assert backend.models == {"primary": s.model}
    with pytest.raises(CallFailed) as info:
        run(backend.generate(spec(model="other"), stream=False, timeout=1))
    assert info.value.kind == "replay_miss"
    backend.close()

    logged = CallSpec("p1", "primary", 0, "m", REQUEST, b"", "h", {"response": [ANSWER, ANSWER], "latency_ms": 50})
    out = run(LogBackend().generate(logged, stream=False, timeout=1))
    assert out.response["text"] == "hellohello" and out.attempts == 0 and out.latency_ms == 50


def test_merge_chunks_keeps_function_calls_and_last_finish():
    merged = merge_gemini_chunks([ANSWER, {"candidates": [{"finishReason": "MAX_TOKENS"}]}])
    response, _ = normalise_gemini(merged)
    assert response["finish_reason"] == "MAX_TOKENS" and response["tool_calls"][0]["name"] == "f"


def test_gemini_store_field_opt_in_and_dataset_value_overridden():
    bodies = []

    def handler(request):
        bodies.append(request.content)
        return httpx.Response(200, json=ANSWER)

    run(call(lambda c: GeminiBackend(c, base_url="http://fake", env={"GEMINI_API_KEY": "k"}, store=True), handler))
    assert json.loads(bodies[-1])["store"] is True
    request = {**REQUEST, "store": True}  # a logged request that asked to be stored
    body = json.dumps(request).encode()
    out_spec = CallSpec("p1", "candidate", 0, "gemini-2.5-pro", request, body, "h")

    async def once():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await GeminiBackend(client, base_url="http://fake", env={"GEMINI_API_KEY": "k"}).generate(
                out_spec, stream=False, timeout=5)

    run(once())
    assert bodies[-1].count(b'"store"') == 1 and json.loads(bodies[-1])["store"] is False
