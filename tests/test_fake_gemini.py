"""The fake Gemini server, exercised with plain httpx and raw sockets."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fake_gemini import EMBED_DIM, FakeGemini, Fault, count_tokens, echo_text

DEV = "/v1beta/models/{m}:{v}"
DEV_V1 = "/v1/models/{m}:{v}"
VERTEX = "/v1beta1/projects/p/locations/us-central1/publishers/google/models/{m}:{v}"
VERTEX_V1 = "/v1/projects/p/locations/europe-west4/publishers/google/models/{m}:{v}"
EXPRESS = "/v1beta1/publishers/google/models/{m}:{v}"
COLLECTION = "/publishers/google/models/{m}:{v}"
PRO, LITE = "gemini-2.5-pro", "gemini-2.5-flash-lite"


def body(text: str = "Hello there, how are you?", **extra) -> dict:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], **extra}


@pytest.fixture
def client(fake_gemini):
    with httpx.Client(base_url=fake_gemini.url, timeout=10) as c:
        yield c


def text_of(resp_json: dict) -> str:
    return "".join(p.get("text", "") for p in resp_json["candidates"][0]["content"]["parts"])


def sse_events(raw: str) -> list[dict]:
    return [json.loads(block[len("data: "):]) for block in raw.replace("\r\n", "\n").split("\n\n") if block.strip()]


# ---------------------------------------------------------------------------------------------
# Routing and recording


@pytest.mark.parametrize("template,api,version,project,location", [
    (DEV, "developer", "v1beta", None, None),
    (DEV_V1, "developer", "v1", None, None),
    (VERTEX, "vertex", "v1beta1", "p", "us-central1"),
    (VERTEX_V1, "vertex", "v1", "p", "europe-west4"),
    (EXPRESS, "vertex", "v1beta1", None, None),
    (COLLECTION, "vertex", None, None, None),
])
def test_paths_are_routed_and_recorded(fake_gemini, client, template, api, version, project, location):
    r = client.post(template.format(m=PRO, v="generateContent") + "?key=abc", json=body(),
                    headers={"X-Goog-Api-Key": "k", "X-Custom": "1"})
    assert r.status_code == 200, r.text
    (rec,) = fake_gemini.requests
    assert (rec.method, rec.model, rec.verb, rec.api) == ("POST", PRO, "generateContent", api)
    assert (rec.api_version, rec.project, rec.location) == (version, project, location)
    assert rec.query == {"key": "abc"}
    assert rec.headers["x-goog-api-key"] == "k" and rec.headers["x-custom"] == "1"
    assert rec.body == body() and json.loads(rec.raw_body) == body()
    assert rec.status == 200 and rec.fault is None and not rec.stream


def test_unknown_path_bad_json_and_method(client):
    assert client.post("/v1beta/nothing/here", json={}).status_code == 404
    r = client.post(DEV.format(m=PRO, v="generateContent"), content=b"{not json",
                    headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert client.post(DEV.format(m=PRO, v="frobnicate"), json=body()).status_code == 404


def test_models_list_and_get(client):
    r = client.get("/v1beta/models")
    assert r.status_code == 200 and all(m["name"].startswith("models/") for m in r.json()["models"])
    r = client.get(f"/v1beta/models/{LITE}")
    assert r.json()["name"] == f"models/{LITE}" and r.json()["inputTokenLimit"] > 0


# ---------------------------------------------------------------------------------------------
# Deterministic answers


def test_answer_is_deterministic_and_model_independent(client):
    a = client.post(DEV.format(m=PRO, v="generateContent"), json=body()).json()
    b = client.post(DEV.format(m=PRO, v="generateContent"), json=body()).json()
    c = client.post(VERTEX.format(m=LITE, v="generateContent"), json=body(generationConfig={"temperature": 0})).json()
    assert a == b
    assert text_of(a) == text_of(c) == echo_text("Hello there, how are you?")
    assert text_of(a).startswith("echo: Hello there, how are you? [")
    assert a["modelVersion"] == PRO and c["modelVersion"] == LITE
    cand = a["candidates"][0]
    assert cand["finishReason"] == "STOP" and cand["index"] == 0 and cand["content"]["role"] == "model"
    assert {r["category"] for r in cand["safetyRatings"]} >= {"HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_HARASSMENT"}
    assert all(r["probability"] == "NEGLIGIBLE" for r in cand["safetyRatings"])
    u = a["usageMetadata"]
    assert u["promptTokenCount"] == count_tokens("Hello there, how are you?") == 7
    assert u["candidatesTokenCount"] == count_tokens(text_of(a))
    assert u["totalTokenCount"] == u["promptTokenCount"] + u["candidatesTokenCount"]
    assert "thoughtsTokenCount" not in u and "cachedContentTokenCount" not in u


def test_answer_summarises_long_text_multi_turn_and_media(client):
    long = "word " * 50
    contents = [
        {"role": "user", "parts": [{"text": "first question"}]},
        {"role": "model", "parts": [{"text": "an answer"}]},
        {"parts": [{"text": long}, {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]},
    ]
    r = client.post(DEV.format(m=PRO, v="generateContent"),
                    json={"contents": contents, "systemInstruction": {"parts": [{"text": "be brief"}]}}).json()
    text = text_of(r)
    assert text.startswith("echo: word word") and "..." in text and text.endswith("(+1 parts)")
    assert text == echo_text(long, 1)
    assert r["usageMetadata"]["promptTokenCount"] == 2 + 2 + 50 + 258 + 2


def test_camel_and_snake_case_nested_keys_both_count(client):
    camel = {"contents": [{"parts": [{"text": "x"}, {"inlineData": {"mimeType": "image/png", "data": "AA"}}]}]}
    snake = {"contents": [{"parts": [{"text": "x"}, {"inline_data": {"mime_type": "image/png", "data": "AA"}}]}]}
    a = client.post(DEV.format(m=PRO, v="generateContent"), json=camel).json()
    b = client.post(DEV.format(m=PRO, v="generateContent"), json=snake).json()
    assert a["usageMetadata"] == b["usageMetadata"] and text_of(a) == text_of(b)


def test_set_reply_set_usage_and_model_version(fake_gemini, client):
    fake_gemini.set_reply(LITE, "lite says {echo}")
    fake_gemini.set_usage(LITE, thoughts_tokens=30, cached_tokens=3)
    fake_gemini.set_model_version(LITE, "gemini-2.5-flash-lite-001")
    pro = client.post(DEV.format(m=PRO, v="generateContent"), json=body()).json()
    lite = client.post(DEV.format(m=LITE, v="generateContent"), json=body()).json()
    assert text_of(lite) == "lite says " + text_of(pro)
    u = lite["usageMetadata"]
    assert u["thoughtsTokenCount"] == 30 and u["cachedContentTokenCount"] == 3
    assert u["totalTokenCount"] == u["promptTokenCount"] + u["candidatesTokenCount"] + 30
    assert lite["modelVersion"] == "gemini-2.5-flash-lite-001"
    fake_gemini.set_reply(LITE, lambda rec: {"candidates": [], "custom": rec.model})
    assert client.post(DEV.format(m=LITE, v="generateContent"), json=body()).json() == {"candidates": [], "custom": LITE}


# ---------------------------------------------------------------------------------------------
# Streaming


def test_stream_sse(fake_gemini, client):
    plain = client.post(DEV.format(m=PRO, v="generateContent"), json=body()).json()
    r = client.post(DEV.format(m=PRO, v="streamGenerateContent") + "?alt=sse", json=body())
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["transfer-encoding"] == "chunked"
    events = sse_events(r.text)
    assert len(events) == 3
    assert "".join(text_of(e) for e in events) == text_of(plain)
    assert all("finishReason" not in e["candidates"][0] for e in events[:-1])
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"
    assert events[-1]["usageMetadata"] == plain["usageMetadata"]
    assert fake_gemini.requests[-1].stream and fake_gemini.requests[-1].sse


def test_stream_json_array_like_legacy_rest(fake_gemini, client):
    fake_gemini.set_stream_chunks(2)
    r = client.post(VERTEX.format(m=PRO, v="streamGenerateContent") + "?$alt=json;enum-encoding=int", json=body())
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    chunks = json.loads(r.text)
    assert isinstance(chunks, list) and len(chunks) == 2
    assert "".join(text_of(c) for c in chunks) == echo_text("Hello there, how are you?")
    assert fake_gemini.requests[-1].query == {"$alt": "json;enum-encoding=int"}


def test_stream_chunk_delay_is_incremental(fake_gemini, client):
    fake_gemini.set_latency(PRO, 0, chunk_delay_ms=80)
    arrivals = []
    t0 = time.perf_counter()
    with client.stream("POST", DEV.format(m=PRO, v="streamGenerateContent") + "?alt=sse", json=body()) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                arrivals.append(time.perf_counter() - t0)
    assert len(arrivals) == 3
    assert arrivals[0] < 0.07 and arrivals[-1] >= 0.15


# ---------------------------------------------------------------------------------------------
# countTokens, embeddings


def test_count_tokens_matches_prompt_tokens(client):
    gen = client.post(DEV.format(m=PRO, v="generateContent"), json=body()).json()
    n = gen["usageMetadata"]["promptTokenCount"]
    r = client.post(DEV.format(m=PRO, v="countTokens"), json=body()).json()
    assert r["totalTokens"] == n
    # legacy google-generativeai wraps the whole request; the system instruction counts too
    wrapped = {"generateContentRequest": {"model": f"models/{PRO}", **body(),
                                          "systemInstruction": {"parts": [{"text": "Be nice."}]}}}
    assert client.post(DEV.format(m=PRO, v="countTokens"), json=wrapped).json()["totalTokens"] == n + 3
    v = client.post(VERTEX.format(m=PRO, v="countTokens"), json=body()).json()
    assert v["totalTokens"] == n and v["totalBillableCharacters"] == len("Hello there, how are you?")


def test_embeddings(client):
    one = client.post(DEV.format(m="text-embedding-004", v="embedContent"),
                      json={"content": {"parts": [{"text": "hello"}]}}).json()
    vec = one["embedding"]["values"]
    assert len(vec) == EMBED_DIM and abs(sum(v * v for v in vec) - 1) < 1e-4
    batch = client.post(DEV.format(m="text-embedding-004", v="batchEmbedContents"), json={"requests": [
        {"model": "models/text-embedding-004", "content": {"parts": [{"text": t}]}} for t in ("hello", "bye")]}).json()
    assert batch["embeddings"][0]["values"] == vec and batch["embeddings"][1]["values"] != vec
    pred = client.post(VERTEX.format(m="text-embedding-005", v="predict"),
                       json={"instances": [{"content": "hello"}]}).json()
    assert pred["predictions"][0]["embeddings"]["values"] == vec


# ---------------------------------------------------------------------------------------------
# Function calling trigger

TOOLS = [{"functionDeclarations": [
    {"name": "get_weather", "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}},
    {"name": "lookup"},
]}]


def first_part(r: httpx.Response) -> dict:
    return r.json()["candidates"][0]["content"]["parts"][0]


def test_function_call_trigger(client):
    url = DEV.format(m=PRO, v="generateContent")
    r = client.post(url, json=body('please call get_weather(city="New York", days=3, metric=true)', tools=TOOLS))
    assert first_part(r) == {"functionCall": {"name": "get_weather",
                                              "args": {"city": "New York", "days": 3, "metric": True}}}
    assert first_part(client.post(url, json=body("call lookup", tools=TOOLS))) == {
        "functionCall": {"name": "lookup", "args": {}}}
    # undeclared name, or no tools: plain text
    assert "text" in first_part(client.post(url, json=body("call other_fn", tools=TOOLS)))
    assert "text" in first_part(client.post(url, json=body("call get_weather(city=x)")))


@pytest.mark.parametrize("mode,expect_call", [("ANY", True), (2, True), ("NONE", False), (3, False), ("AUTO", False)])
def test_function_calling_modes(client, mode, expect_call):
    cfg = {"functionCallingConfig": {"mode": mode, "allowedFunctionNames": ["lookup"]}}
    part = first_part(client.post(DEV.format(m=PRO, v="generateContent"),
                                  json=body("what now?", tools=TOOLS, toolConfig=cfg)))
    assert ("functionCall" in part) is expect_call
    if expect_call:
        assert part["functionCall"]["name"] == "lookup"


def test_function_response_turn(client):
    contents = [
        {"role": "user", "parts": [{"text": "call get_weather(city=Paris)"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp": 21}}}]},
    ]
    r = client.post(DEV.format(m=PRO, v="generateContent"), json={"contents": contents, "tools": TOOLS})
    assert first_part(r) == {"text": 'echo: get_weather returned {"temp":21}'}


# ---------------------------------------------------------------------------------------------
# Faults


def test_rate_limit_fault_body_and_header(fake_gemini, client):
    fake_gemini.script(PRO, [Fault.rate_limit(retry_delay="7s", retry_after=7)])
    r = client.post(DEV.format(m=PRO, v="generateContent"), json=body())
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    err = r.json()["error"]
    assert err["code"] == 429 and err["status"] == "RESOURCE_EXHAUSTED" and "retry in 7s" in err["message"]
    retry = [d for d in err["details"] if d["@type"] == "type.googleapis.com/google.rpc.RetryInfo"]
    assert retry == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]
    assert fake_gemini.requests[-1].fault == "error" and fake_gemini.requests[-1].status == 429
    # the script is consumed: the next request succeeds
    assert client.post(DEV.format(m=PRO, v="generateContent"), json=body()).status_code == 200
    # without retry_delay: no RetryInfo, no header
    fake_gemini.script(PRO, [Fault.rate_limit(retry_delay=None)])
    r = client.post(DEV.format(m=PRO, v="generateContent"), json=body())
    assert "retry-after" not in r.headers
    assert all("RetryInfo" not in d["@type"] for d in r.json()["error"]["details"])


@pytest.mark.parametrize("fault,code,status", [
    (Fault.unavailable(), 503, "UNAVAILABLE"),
    (Fault.internal(), 500, "INTERNAL"),
    (Fault.bad_request("temperature must be <= 2"), 400, "INVALID_ARGUMENT"),
    (Fault.error(504, message="deadline"), 504, "DEADLINE_EXCEEDED"),
])
def test_error_faults(fake_gemini, client, fault, code, status):
    fake_gemini.script("*", [fault])
    r = client.post(VERTEX.format(m=LITE, v="generateContent"), json=body())
    assert r.status_code == code
    assert r.json()["error"]["code"] == code and r.json()["error"]["status"] == status


def test_script_is_fifo_per_model_with_wildcard_fallback(fake_gemini, client):
    fake_gemini.script(PRO, [Fault.unavailable(), Fault.ok(), Fault.internal()])
    fake_gemini.script("*", [Fault.bad_request()])
    codes = [client.post(DEV.format(m=m, v="generateContent"), json=body()).status_code
             for m in (PRO, LITE, PRO, PRO, PRO, LITE)]
    assert codes == [503, 400, 200, 500, 200, 200]
    assert fake_gemini.pending(PRO) == 0


def test_persistent_fault_every_n(fake_gemini, client):
    fake_gemini.set_fault(LITE, Fault.unavailable(), every=3)
    codes = [client.post(DEV.format(m=LITE, v="generateContent"), json=body()).status_code for _ in range(6)]
    assert codes == [200, 200, 503, 200, 200, 503]
    fake_gemini.set_fault(LITE, None)
    assert client.post(DEV.format(m=LITE, v="generateContent"), json=body()).status_code == 200


def test_slow_fault_and_per_model_latency(fake_gemini, client):
    fake_gemini.set_latency(PRO, 150)
    t0 = time.perf_counter()
    client.post(DEV.format(m=LITE, v="generateContent"), json=body())
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    client.post(DEV.format(m=PRO, v="generateContent"), json=body())
    slow = time.perf_counter() - t0
    assert fast < 0.1 <= 0.15 <= slow
    fake_gemini.script(LITE, [Fault.slow(120)])
    t0 = time.perf_counter()
    assert client.post(DEV.format(m=LITE, v="generateContent"), json=body()).status_code == 200
    assert time.perf_counter() - t0 >= 0.12


def test_jitter_is_deterministic_per_body(fake_gemini):
    fake_gemini.set_latency("*", 0, jitter_ms=200)
    with httpx.Client(base_url=fake_gemini.url) as c:
        def timed(text):
            t0 = time.perf_counter()
            c.post(DEV.format(m=PRO, v="generateContent"), json=body(text))
            return time.perf_counter() - t0
        times = {t: [timed(t) for _ in range(2)] for t in ("a", "b", "c")}
    for a, b in times.values():
        assert abs(a - b) < 0.05


def test_malformed_fault(fake_gemini, client):
    fake_gemini.script(PRO, [Fault.malformed()])
    r = client.post(DEV.format(m=PRO, v="generateContent"), json=body())
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_cut_stream_sse(fake_gemini, client):
    fake_gemini.script(PRO, [Fault.cut_stream(after=1)])
    got = []
    with pytest.raises(httpx.RemoteProtocolError):
        with client.stream("POST", DEV.format(m=PRO, v="streamGenerateContent") + "?alt=sse", json=body()) as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    got.append(json.loads(line[6:]))
    assert len(got) == 1 and "finishReason" not in got[0]["candidates"][0]
    # the connection pool recovers; the next request is fine
    assert client.post(DEV.format(m=PRO, v="generateContent"), json=body()).status_code == 200


def test_cut_stream_json_array_and_non_stream(fake_gemini, client):
    fake_gemini.script(PRO, [Fault.cut_stream(after=2), Fault.cut_stream()])
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(DEV.format(m=PRO, v="streamGenerateContent"), json=body())
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(DEV.format(m=PRO, v="generateContent"), json=body())


def test_disconnect_fault(fake_gemini, client):
    fake_gemini.script(PRO, [Fault.disconnect()])
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(DEV.format(m=PRO, v="generateContent"), json=body())
    assert fake_gemini.requests[-1].status is None


def test_blocked_prompt(fake_gemini, client):
    fake_gemini.script(PRO, [Fault.blocked("PROHIBITED_CONTENT"), Fault.blocked()])
    r = client.post(DEV.format(m=PRO, v="generateContent"), json=body()).json()
    assert "candidates" not in r and r["promptFeedback"]["blockReason"] == "PROHIBITED_CONTENT"
    r = sse_events(client.post(DEV.format(m=PRO, v="streamGenerateContent") + "?alt=sse", json=body()).text)
    assert len(r) == 1 and r[0]["promptFeedback"]["blockReason"] == "SAFETY"


def test_finish_reason_faults(fake_gemini, client):
    fake_gemini.script(PRO, [Fault.safety(), Fault.max_tokens(), Fault.finish("RECITATION")])
    url = DEV.format(m=PRO, v="generateContent")
    safety = client.post(url, json=body()).json()["candidates"][0]
    assert safety["finishReason"] == "SAFETY" and "content" not in safety
    assert any(r.get("blocked") for r in safety["safetyRatings"])
    full = echo_text("Hello there, how are you?")
    maxed = client.post(url, json=body()).json()
    assert maxed["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert full.startswith(text_of(maxed)) and len(text_of(maxed)) < len(full)
    assert client.post(url, json=body()).json()["candidates"][0]["finishReason"] == "RECITATION"


# ---------------------------------------------------------------------------------------------
# OpenAI-compatible endpoint


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1beta/openai/chat/completions"])
def test_openai_chat_completions(fake_gemini, client, path):
    req = {"model": LITE, "messages": [{"role": "system", "content": "be brief"},
                                       {"role": "user", "content": "Hello there, how are you?"}]}
    r = client.post(path, json=req).json()
    assert r["object"] == "chat.completion" and r["model"] == LITE
    assert r["choices"][0]["message"] == {"role": "assistant", "content": echo_text("Hello there, how are you?")}
    assert r["choices"][0]["finish_reason"] == "stop"
    assert r["usage"]["total_tokens"] == r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"]
    assert r["usage"]["prompt_tokens"] == 7 + 2
    rec = fake_gemini.requests[-1]
    assert (rec.api, rec.verb, rec.model) == ("openai", "chat.completions", LITE)


def test_openai_stream_and_faults(fake_gemini, client):
    req = {"model": "models/" + PRO, "messages": [{"role": "user", "content": "Hello there, how are you?"}],
           "stream": True}
    r = client.post("/v1beta/openai/chat/completions", json=req)
    lines = [ln[6:] for ln in r.text.splitlines() if ln.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    events = [json.loads(x) for x in lines[:-1]]
    assert "".join(e["choices"][0]["delta"].get("content", "") for e in events) == echo_text("Hello there, how are you?")
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    fake_gemini.script(PRO, [Fault.rate_limit(retry_after=3), Fault.safety(), Fault.max_tokens()])
    req["stream"] = False
    r = client.post("/v1/chat/completions", json=req)
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert client.post("/v1/chat/completions", json=req).json()["choices"][0]["finish_reason"] == "content_filter"
    assert client.post("/v1/chat/completions", json=req).json()["choices"][0]["finish_reason"] == "length"


# ---------------------------------------------------------------------------------------------
# Transport: keep-alive, chunked uploads, concurrency


def _raw_exchange(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int([ln.split(b":")[1] for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")][0])
    while len(rest) < length:
        rest += sock.recv(65536)
    return head + b"\r\n\r\n" + rest


def test_keep_alive_and_chunked_request_body(fake_gemini):
    payload = json.dumps(body()).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 10]), payload[i:i + 10]) for i in range(0, len(payload), 10))
    with socket.create_connection((fake_gemini.host, fake_gemini.port)) as s:
        path = DEV.format(m=PRO, v="generateContent").encode()
        for _ in range(2):  # two requests on one connection
            resp = _raw_exchange(s, b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(payload), payload))
            assert resp.startswith(b"HTTP/1.1 200") and b"Connection: keep-alive" in resp
        resp = _raw_exchange(s, b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                             + chunked + b"0\r\n\r\n")
        assert resp.startswith(b"HTTP/1.1 200")
    assert [r.body for r in fake_gemini.requests] == [body()] * 3


def test_concurrent_connections_overlap(fake_gemini):
    """64 keep-alive connections x 3 requests with 100 ms latency: ~0.3 s if served concurrently
    (serially it would be 19 s). Raw asyncio clients: httpx.AsyncClient itself tops out at a few
    hundred requests/s at this concurrency (encode/httpx#3215) and would measure the client."""
    fake_gemini.set_latency("*", 100)
    payload = json.dumps(body()).encode()

    async def worker(i: int) -> list[bytes]:
        reader, writer = await asyncio.open_connection(fake_gemini.host, fake_gemini.port)
        path = DEV.format(m=PRO if i % 2 else LITE, v="generateContent").encode()
        heads = []
        for _ in range(3):
            writer.write(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (path, len(payload), payload))
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            heads.append(head)
        writer.close()
        return heads

    async def go():
        return await asyncio.gather(*[worker(i) for i in range(64)])

    t0 = time.perf_counter()
    results = asyncio.run(go())
    elapsed = time.perf_counter() - t0
    assert all(h.startswith(b"HTTP/1.1 200") for heads in results for h in heads)
    assert elapsed < 1.5, elapsed
    assert len(fake_gemini.requests) == 64 * 3


def test_reset_and_clear(fake_gemini, client):
    fake_gemini.set_latency(PRO, 500)
    fake_gemini.script(PRO, [Fault.internal()])
    fake_gemini.set_fault(LITE, Fault.internal())
    client.post(DEV.format(m=LITE, v="generateContent"), json=body())
    fake_gemini.clear_requests()
    assert fake_gemini.requests == [] and fake_gemini.pending(PRO) == 1
    fake_gemini.reset()
    t0 = time.perf_counter()
    assert client.post(DEV.format(m=PRO, v="generateContent"), json=body()).status_code == 200
    assert client.post(DEV.format(m=LITE, v="generateContent"), json=body()).status_code == 200
    assert time.perf_counter() - t0 < 0.3 and len(fake_gemini.requests) == 2


def test_record_off_keeps_stats_only():
    with FakeGemini(record=False) as srv, httpx.Client(base_url=srv.url) as c:
        c.post(DEV.format(m=PRO, v="generateContent"), json=body())
        assert srv.requests == [] and srv.stats == {"developer:generateContent": 1}


# ---------------------------------------------------------------------------------------------
# Standalone process and control endpoint


def test_standalone_process_and_control_endpoint():
    script = Path(__file__).with_name("fake_gemini.py")
    proc = subprocess.Popen([sys.executable, str(script), "--port", "0", "--latency", f"{PRO}=120"],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, timeout=10) as c:
            t0 = time.perf_counter()
            assert c.post(DEV.format(m=PRO, v="generateContent"), json=body()).status_code == 200
            assert time.perf_counter() - t0 >= 0.12
            assert c.post("/__fake__/script", json={"model": LITE, "faults": [Fault.rate_limit("2s").to_dict()]}).json() == {"ok": True}
            assert c.post(DEV.format(m=LITE, v="generateContent"), json=body()).status_code == 429
            c.post("/__fake__/config", json={"model": LITE, "reply": "fixed", "thoughts_tokens": 5})
            r = c.post(DEV.format(m=LITE, v="generateContent"), json=body()).json()
            assert text_of(r) == "fixed" and r["usageMetadata"]["thoughtsTokenCount"] == 5
            c.post("/__fake__/fault", json={"model": PRO, "fault": Fault.unavailable().to_dict(), "every": 1})
            assert c.post(DEV.format(m=PRO, v="generateContent"), json=body()).status_code == 503
            recs = c.get("/__fake__/requests").json()
            assert [(x["model"], x["status"]) for x in recs] == [(PRO, 200), (LITE, 429), (LITE, 200), (PRO, 503)]
            assert c.get("/__fake__/stats").json()["developer:generateContent"] == 4
            c.post("/__fake__/reset")
            assert c.get("/__fake__/requests").json() == []
            assert c.post("/__fake__/nope", json={}).status_code == 400
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_files_api_round_trip(fake_gemini, client):
    """google-genai's resumable upload, then get / list / delete; a deleted file is gone (403)."""
    start = client.post("/upload/v1beta/files", json={"file": {"display_name": "notes.txt"}},
                        headers={"X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
                                 "X-Goog-Upload-Header-Content-Type": "text/plain", "X-Goog-Upload-Header-Content-Length": "5"})
    assert start.status_code == 200
    done = client.post(start.headers["x-goog-upload-url"], content=b"hello", headers={"X-Goog-Upload-Command": "upload, finalize"})
    assert done.headers["x-goog-upload-status"] == "final"
    file = done.json()["file"]
    assert (file["displayName"], file["mimeType"], file["sizeBytes"], file["state"]) == ("notes.txt", "text/plain", "5", "ACTIVE")
    assert file["uri"].endswith(file["name"]) and file["name"].startswith("files/")
    assert client.get(f"/v1beta/{file['name']}").json() == file
    assert [f["name"] for f in client.get("/v1beta/files").json()["files"]] == [file["name"]]
    assert client.delete(f"/v1beta/{file['name']}").status_code == 200
    assert client.get(f"/v1beta/{file['name']}").status_code == 403
    verbs = [(r.verb, r.resource) for r in fake_gemini.requests]
    assert verbs[:2] == [("files.upload", None), ("files.upload.data", file["name"])]
    assert verbs[2:] == [("files.get", file["name"]), ("files.list", None), ("files.delete", file["name"]), ("files.get", file["name"])]
