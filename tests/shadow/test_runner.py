"""The runner over real HTTP against the fake Gemini server: faults, retries, limits, budget, resume, secrets."""

import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fake_gemini import FakeGemini, Fault, count_tokens, echo_text, prompt_tokens
from migrate.catalog import bundled_catalog
from migrate.shadow import store
from migrate.shadow.runner import AdaptiveLimit, Budget, BudgetExhausted, plan_calls
from migrate.shadow.session import RunOptions, start

CAT = bundled_catalog()
PRO = "gemini-2.5-pro"
LITE = CAT.default_target
CANARY = "canary-AIzaSyD0NotLeak-0123456789"
TOKEN_CANARY = "ya29.canary-token-do-not-leak-4242"
ROOT = Path(__file__).resolve().parents[2]


def write_dataset(tmp_path, n, *, max_output=None, name="prompts.jsonl"):
    path = tmp_path / name
    with path.open("w") as fh:
        for i in range(n):
            item = {"id": f"p{i:03d}", "prompt": f"Question {i}: which team handles invoice {1000 + i}?",
                    "slice": ("labels", "json", "text")[i % 3]}
            if max_output:
                item["generationConfig"] = {"maxOutputTokens": max_output}
            fh.write(json.dumps(item) + "\n")
    return path


def options(srv, dataset, out, **kw):
    base = dict(dataset=dataset, out=out, primary=PRO, candidate=LITE, base_url=srv.url, backoff_base=0.01,
                env={"GEMINI_API_KEY": CANARY})
    base.update(kw)
    return RunOptions(**base)


def key_counts(folder):
    return collections.Counter((r["prompt_id"], r["arm"], r["repeat"]) for r in store.iter_call_dicts(folder))


def expected_usage(request, thoughts=0, cached=0):
    text = request["contents"][-1]["parts"][0]["text"]
    prompt = prompt_tokens(request)
    candidates = count_tokens(echo_text(text))
    return {"prompt": prompt, "cached": min(cached, prompt), "candidates": candidates, "thoughts": thoughts,
            "total": prompt + candidates + thoughts, "tool_use_prompt": 0}


def expected_cost(model, usage):
    import datetime as dt
    rates = CAT.price(model).rates(usage["prompt"], on=dt.datetime.now(dt.timezone.utc).date())
    return ((usage["prompt"] - usage["cached"]) * rates.input + usage["cached"] * rates.cached_input
            + (usage["candidates"] + usage["thoughts"]) * rates.output) / CAT.pricing.per_tokens


def test_faults_end_in_one_record_per_call_with_exact_usage_and_cost(tmp_path, fake_gemini):
    srv = fake_gemini
    srv.set_usage(PRO, thoughts_tokens=480, cached_tokens=4)
    srv.script(PRO, [Fault.rate_limit(retry_delay="0.05s"), Fault.unavailable(), Fault.malformed(), Fault.slow(2000)])
    srv.script(LITE, [Fault.internal(), Fault.bad_request("Unsupported field"), Fault.rate_limit(retry_delay="0.05s"),
                      Fault.disconnect()])
    dataset = write_dataset(tmp_path, 30)
    result = start(options(srv, dataset, tmp_path / "run", noise_floor=True, concurrency=8, timeout=0.5, max_attempts=4))
    assert result.status == "complete"
    counts = key_counts(result.folder)
    assert len(counts) == 90 and set(counts.values()) == {1}  # every call recorded once, none twice
    run = store.load_run(result.folder)
    errors = [c for c in run.calls if not c.ok]
    assert len(errors) == 1 and errors[0].error.http_status == 400 and errors[0].attempts == 1  # 400: never retried
    assert errors[0].model == LITE
    assert sum(c.attempts - 1 for c in run.calls) == 7  # 429, 503, malformed, timeout, 500, 429, disconnect
    assert len(srv.requests) == 90 + 7
    prompts = run.prompts
    for call in run.calls:
        if not call.ok:
            continue
        pro = call.model == PRO
        usage = expected_usage(prompts[call.prompt_id].request, thoughts=480 if pro else 0, cached=4 if pro else 0)
        assert call.usage.as_dict() == usage
        assert round(call.cost_usd, 2) == round(expected_cost(call.model, usage), 2)  # to the cent...
        assert call.cost_usd == pytest.approx(expected_cost(call.model, usage), rel=1e-12)  # ...and beyond
    assert {c.response.finish_reason for c in run.calls if c.ok} == {"STOP"}
    totals = result.manifest["totals"]
    assert {k: totals[k] for k in ("calls", "ok", "errors", "cost_usd")} == {
        "calls": 90, "ok": 89, "errors": 1, "cost_usd": round(sum(c.cost_usd for c in run.calls), 6)}
    assert totals["possibly_billed_calls"] == 0  # no kill: every attempt sent has its answer recorded


def test_dispatch_order_is_randomised_per_prompt_and_recorded(tmp_path, fake_gemini):
    dataset = write_dataset(tmp_path, 12)
    result = start(options(fake_gemini, dataset, tmp_path / "run", noise_floor=True, repeats=2, concurrency=1, seed=7))
    run = store.load_run(result.folder)
    orders = collections.defaultdict(dict)
    for call in run.calls:
        orders[call.prompt_id][call.order] = (call.arm, call.repeat)
    assert all(sorted(o) == list(range(6)) for o in orders.values())
    assert len({tuple(o[i] for i in range(6)) for o in orders.values()}) > 1  # not the same order every time
    assert orders["p000"] == {i: (a, r) for a, r, i in plan_calls("p000", ["primary", "candidate", "noise"], 2, 7)}
    assert result.manifest["seed"] == 7


def test_streaming_measures_ttft_and_retries_a_cut_stream(tmp_path, fake_gemini):
    srv = fake_gemini
    srv.set_latency(LITE, 0, chunk_delay_ms=30)
    srv.script(LITE, [Fault.cut_stream(after=1)])
    result = start(options(srv, write_dataset(tmp_path, 6), tmp_path / "run", stream=True, concurrency=4))
    run = store.load_run(result.folder)
    assert result.status == "complete" and all(c.ok for c in run.calls)
    assert all(c.ttft_ms is not None and c.ttft_ms <= c.latency_ms for c in run.calls)
    lite = [c for c in run.calls if c.model == LITE]
    assert sorted(c.attempts for c in lite) == [1, 1, 1, 1, 1, 2]
    assert all(r.stream and r.sse for r in srv.requests)
    call = lite[0]
    assert call.response.text == echo_text(run.prompts[call.prompt_id].request["contents"][0]["parts"][0]["text"])


def test_retry_after_and_retry_info_are_honoured(tmp_path, fake_gemini):
    srv = fake_gemini
    srv.script(PRO, [Fault.rate_limit(retry_delay="0.4s")])
    srv.script(LITE, [Fault.unavailable(retry_after=1)])
    start(options(srv, write_dataset(tmp_path, 1), tmp_path / "run"))
    for model, wait in ((PRO, 0.4), (LITE, 1.0)):
        times = [r.time for r in srv.requests_for(model)]
        assert len(times) == 2 and times[1] - times[0] >= wait


def test_budget_is_never_exceeded_and_resume_finishes_the_rest(tmp_path, fake_gemini):
    srv = fake_gemini
    srv.set_usage(PRO, thoughts_tokens=900)
    dataset = write_dataset(tmp_path, 30, max_output=1000)
    folder = tmp_path / "run"
    result = start(options(srv, dataset, folder, noise_floor=True, budget=0.10, concurrency=8))
    assert result.status == "budget_exhausted" and "budget $0.10" in result.message
    recorded = list(store.iter_call_dicts(folder))
    spent = sum(r["cost_usd"] for r in recorded)
    assert 0.05 < spent <= 0.10
    assert len(recorded) < 90 and set(key_counts(folder).values()) == {1}
    assert len(srv.requests) == len(recorded)  # nothing sent that was not recorded

    srv.clear_requests()
    again = start(RunOptions(resume=folder, budget=5.0, env={"GEMINI_API_KEY": CANARY}))
    assert again.status == "complete"
    counts = key_counts(folder)
    assert len(counts) == 90 and set(counts.values()) == {1}
    assert len(srv.requests) == 90 - len(recorded)
    assert sum(r["cost_usd"] for r in store.iter_call_dicts(folder)) <= 5.0
    assert [r["status"] for r in store.read_manifest(folder)["runs"]] == ["budget_exhausted", "complete"]


def _spawn(args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
    env.update({"GEMINI_API_KEY": CANARY, "PYTHONUNBUFFERED": "1"}, **(env_extra or {}))
    return subprocess.Popen([sys.executable, "-m", "migrate", "shadow", "run", *args, "-q"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_records(folder, n, proc, timeout=20.0):
    path = folder / store.CALLS
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"run ended early: {proc.communicate()}")
        time.sleep(0.02)
    raise AssertionError("no progress")


def _missing(folder, n_prompts, arms=("primary", "candidate", "noise")):
    have = set(key_counts(folder))
    return {(f"p{i:03d}", arm, 0) for i in range(n_prompts) for arm in arms} - have


def test_sigkill_then_resume_sends_each_remaining_call_exactly_once(tmp_path):
    with FakeGemini(latency={PRO: 120, LITE: 40}) as srv:
        dataset = write_dataset(tmp_path, 50)
        folder = tmp_path / "run"
        proc = _spawn([str(dataset), "--out", str(folder), "--primary", PRO, "--candidate", LITE, "--noise-floor",
                       "--base-url", srv.url, "--concurrency", "6"])
        _wait_for_records(folder, 40, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        time.sleep(0.3)  # let the calls the dead process had on the wire reach the server
        first = set(key_counts(folder))
        missing = _missing(folder, 50)
        assert 40 <= len(first) < 150 and len(first) + len(missing) == 150
        srv.clear_requests()
        result = start(RunOptions(resume=folder, env={"GEMINI_API_KEY": CANARY}))
        assert result.status == "complete"
        counts = key_counts(folder)
        assert len(counts) == 150 and set(counts.values()) == {1}
        run = store.load_run(folder)
        # the server saw exactly the missing calls, each once: compare (model, prompt) multisets
        text = {pid: p.request["contents"][0]["parts"][0]["text"] for pid, p in run.prompts.items()}
        want = collections.Counter((PRO if arm != "candidate" else LITE, text[pid]) for pid, arm, _ in missing)
        got = collections.Counter((r.model, r.body["contents"][0]["parts"][0]["text"]) for r in srv.requests)
        assert got == want


def test_ctrl_c_finishes_calls_in_flight_and_records_them(tmp_path):
    with FakeGemini(latency={PRO: 150, LITE: 50}) as srv:
        dataset = write_dataset(tmp_path, 40)
        folder = tmp_path / "run"
        proc = _spawn([str(dataset), "--out", str(folder), "--primary", PRO, "--candidate", LITE, "--noise-floor",
                       "--base-url", srv.url, "--concurrency", "8"])
        _wait_for_records(folder, 20, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 130, err
        assert "--resume" in err and "Traceback" not in err
        assert store.read_manifest(folder)["status"] == "interrupted"
        recorded = key_counts(folder)
        assert set(recorded.values()) == {1}
        assert len(srv.requests) == len(recorded)  # every call that was sent (and paid) is recorded
        before = len(srv.requests)
        result = start(RunOptions(resume=folder, env={"GEMINI_API_KEY": CANARY}))
        assert result.status == "complete" and len(key_counts(folder)) == 120
        assert len(srv.requests) == 120 and before + result.stats.done == 120


def test_secrets_never_reach_any_file(tmp_path, fake_gemini):
    srv = fake_gemini
    # a hostile server that echoes credentials into answers and errors
    srv.set_reply(LITE, lambda rec: f"your key is {rec.headers.get('x-goog-api-key')}")
    srv.set_reply(PRO, lambda rec: f"your token is {rec.headers.get('authorization')}")
    srv.script(LITE, [Fault.bad_request(f"API key {CANARY} not valid")])
    env = {"GEMINI_API_KEY": CANARY, "GOOGLE_OAUTH_ACCESS_TOKEN": TOKEN_CANARY, "GOOGLE_CLOUD_PROJECT": "proj"}
    record = tmp_path / "rec" / "replay.jsonl"
    result = start(options(srv, write_dataset(tmp_path, 5), tmp_path / "run", env=env, primary_backend="vertex",
                           location="us-central1", record=record, noise_floor=True))
    assert result.status == "complete"
    assert {r.api for r in srv.requests} == {"vertex", "developer"}
    assert all(r.headers["authorization"] == f"Bearer {TOKEN_CANARY}" for r in srv.requests if r.api == "vertex")
    files = [p for p in list(result.folder.rglob("*")) + [record] if p.is_file()]
    assert len(files) >= 4
    for path in files:
        data = path.read_text()
        assert CANARY not in data and TOKEN_CANARY not in data and "ya29.canary" not in data, path
    assert "[REDACTED]" in (result.folder / "calls.jsonl").read_text()


def test_logged_traffic_reads_the_primary_and_pays_only_for_the_rest(tmp_path, fake_gemini):
    srv = fake_gemini
    path = tmp_path / "logged.jsonl"
    with path.open("w") as fh:
        for i in range(10):
            request = {"contents": [{"role": "user", "parts": [{"text": f"logged question {i}"}]}]}
            response = {"candidates": [{"content": {"parts": [{"text": f"prod answer {i}"}]}, "finishReason": "STOP"}],
                        "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 10, "thoughtsTokenCount": 300,
                                          "totalTokenCount": 410}, "modelVersion": PRO}
            fh.write(json.dumps({"id": f"p{i:03d}", "model": PRO, "request": request, "response": response,
                                 "latency_ms": 2000 + i}) + "\n")
    result = start(options(srv, path, tmp_path / "run", primary=None, noise_floor=True, noise_sample=0.5, seed=3))
    run = store.load_run(result.folder)
    primary = [c for c in run.calls if c.arm == "primary"]
    assert len(primary) == 10 and all(c.backend == "log" and c.attempts == 0 for c in primary)
    assert primary[0].cost_usd == pytest.approx(expected_cost(PRO, {"prompt": 100, "cached": 0, "candidates": 10, "thoughts": 300}))
    noise = [c for c in run.calls if c.arm == "noise"]
    assert 0 < len(noise) < 10
    assert collections.Counter(r.model for r in srv.requests) == {LITE: 10, PRO: len(noise)}
    assert result.manifest["arms"]["primary"]["backend"] == "log"


def test_openai_compatible_primary_with_price_override(tmp_path, fake_gemini):
    srv = fake_gemini
    srv.set_usage("gpt-test", thoughts_tokens=20)
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  gpt-test: {input: 1.0, output: 4.0, source: contract}\n")
    env = {"GEMINI_API_KEY": CANARY, "OPENAI_API_KEY": "sk-canary-openai-999"}
    result = start(options(srv, write_dataset(tmp_path, 4), tmp_path / "run", primary="gpt-test", env=env,
                           primary_backend="openai", primary_base_url=srv.url + "/v1", prices=prices))
    run = store.load_run(result.folder)
    gpt = [c for c in run.calls if c.arm == "primary"]
    assert result.status == "complete" and all(c.ok and c.backend == "openai" for c in gpt)
    assert gpt[0].usage.thoughts == 20 and gpt[0].cost_usd > 0
    assert {r.api for r in srv.requests} == {"openai", "developer"}
    assert result.manifest["pricing"]["models"]["gpt-test"]["override"] is True


def test_record_then_replay_reproduces_without_network(tmp_path, fake_gemini):
    srv = fake_gemini
    record = tmp_path / "cassette.replay.jsonl"
    dataset = write_dataset(tmp_path, 8)
    first = start(options(srv, dataset, tmp_path / "live", record=record, noise_floor=True))
    sent = len(srv.requests)
    second = start(RunOptions(dataset=dataset, out=tmp_path / "replayed", backend="replay", replay=record, noise_floor=True))
    assert len(srv.requests) == sent  # nothing sent
    live = {c.key: c for c in store.load_run(first.folder).calls}
    replayed = {c.key: c for c in store.load_run(second.folder).calls}
    assert live.keys() == replayed.keys()
    for key, call in live.items():
        assert replayed[key].response.text == call.response.text
        assert replayed[key].cost_usd == pytest.approx(call.cost_usd)
        assert replayed[key].latency_ms == call.latency_ms
    assert second.manifest["arms"]["primary"]["model"] == PRO  # models come from the recording


def test_resume_retry_errors_replaces_a_final_error(tmp_path, fake_gemini):
    srv = fake_gemini
    srv.script(LITE, [Fault.bad_request()])
    folder = tmp_path / "run"
    start(options(srv, write_dataset(tmp_path, 3), folder))
    assert sum(1 for r in store.iter_call_dicts(folder) if r["status"] == "error") == 1
    srv.clear_requests()
    start(RunOptions(resume=folder, env={"GEMINI_API_KEY": CANARY}))
    assert len(srv.requests) == 0  # a recorded error is a recorded call
    start(RunOptions(resume=folder, retry_errors=True, env={"GEMINI_API_KEY": CANARY}))
    assert len(srv.requests) == 1
    assert all(c.ok for c in store.load_run(folder).final().values())


def test_requests_per_minute_are_respected(tmp_path, fake_gemini):
    t0 = time.monotonic()
    start(options(fake_gemini, write_dataset(tmp_path, 30), tmp_path / "run", rpm={"*": 1200}, concurrency=16))
    assert time.monotonic() - t0 >= 0.45  # 30 calls per model at 20/s with a 20-call burst
    for model in (PRO, LITE):
        times = sorted(r.time for r in fake_gemini.requests_for(model))
        assert times[-1] - times[0] >= 0.4


def test_adaptive_limit_halves_on_throttling_and_recovers():
    async def go():
        limit = AdaptiveLimit(16, cooldown_s=0.0)
        limit.on_throttle()
        assert limit.limit == 8
        limit.on_throttle()
        assert limit.limit == 4
        for _ in range(4 + 5 + 6):
            limit.on_success()
        assert limit.limit == 7
        slow = AdaptiveLimit(16, cooldown_s=60)
        slow.on_throttle()
        slow.on_throttle()  # a burst of 429s counts once
        assert slow.limit == 8
        gate = AdaptiveLimit(1)
        await gate.acquire()
        waiter = asyncio.create_task(gate.acquire())
        await asyncio.sleep(0)
        assert not waiter.done()
        gate.release()
        await waiter
        assert gate.in_use == 1

    asyncio.run(go())


def test_budget_reservations():
    async def go():
        budget = Budget(1.0)
        assert not await budget.reserve(0.6)
        blocked = asyncio.create_task(budget.reserve(0.6))
        await asyncio.sleep(0)
        assert not blocked.done()
        budget.settle(0.6, 0.1)
        assert await blocked  # waited for headroom
        budget.settle(0.6, 0.5)
        with pytest.raises(BudgetExhausted):
            await budget.reserve(0.5)
        assert budget.spent == pytest.approx(0.6)

    asyncio.run(go())
