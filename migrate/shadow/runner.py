"""The asyncio scheduler: arms, repeats, randomised dispatch, limits, retries, budget, records.

Shape: one producer reads prompts.jsonl line by line and puts each prompt's calls, in a per-prompt
random order, on a bounded queue; `concurrency` workers take calls off it. Memory is flat in the
dataset size: only the queue and the calls in flight are held.

A worker, for each call:

1. skips nothing paid: offline arms (replay, log) are answered at once, without limits or budget;
2. reserves the call's worst-case cost against the hard budget (waits while calls in flight hold
   the headroom; when nothing is in flight and the call still does not fit, the run stops:
   status ``budget_exhausted``) - the budget is never exceeded if the worst case is a bound;
3. per attempt: takes a slot of the adaptive concurrency limit (AIMD: halved on 429, +1 after a
   window of successes), waits out a model-wide pause set by a Retry-After / RetryInfo, takes the
   model's requests-per-minute and tokens-per-minute budgets, then sends;
4. retries 408/429/500/502/503/504, timeouts, network errors, malformed bodies and cut streams
   with exponential backoff and jitter (x[1, 1.5]), honouring Retry-After and RetryInfo; a 400 or
   other client error is final at once;
5. appends exactly one record to calls.jsonl: the response or the final error.

Before each HTTP attempt is handed to the client, one line goes to the write-ahead ledger (sent.jsonl,
when the run has one), and a second when its first bytes start to leave (httpcore's trace): a call
killed on the wire is then known to have been sent (see store.billing_exposure).

Stopping (Ctrl-C, SIGTERM, budget): no new call starts, calls waiting to retry are abandoned
(nothing was billed), calls on the wire finish and are recorded. A second Ctrl-C cancels them.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from migrate.shadow.backends import Backend, CallFailed, CallSpec, LogBackend, Outcome, replay_record, served_model
from migrate.shadow.cost import Pricer, ZeroCostError
from migrate.shadow.served import PLATFORMS
from migrate.shadow.store import CallLog

MEDIA_PART_TOKENS_MAX = 2_000  # allowance per inline/file part when bounding a prompt's tokens


@dataclass(frozen=True)
class Arm:
    name: str  # primary | candidate | noise
    model: str
    backend: Backend


@dataclass
class Settings:
    repeats: int = 1
    noise_floor: bool = False
    noise_sample: float = 1.0
    concurrency: int = 32
    rpm: Mapping[str, float] = field(default_factory=dict)  # model -> requests/min ("*" = every model)
    tpm: Mapping[str, float] = field(default_factory=dict)  # model -> input tokens/min
    budget_usd: float | None = None
    timeout_s: float = 120.0
    max_attempts: int = 6
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    max_retry_wait_s: float = 300.0
    stream: bool = False
    seed: int = 0
    adaptive: bool = True


@dataclass
class Stats:
    planned: int = 0
    done: int = 0
    ok: int = 0
    errors: int = 0
    retries: int = 0
    throttled: int = 0
    skipped_resume: int = 0
    cost_usd: float = 0.0  # cost of every call recorded by this invocation (offline arms too)
    cost_errors: int = 0
    abandoned: int = 0  # calls not made because the run stopped
    budget_waits: int = 0
    expected: int | None = None  # calls this invocation should make (for progress), when known
    arms: dict[str, list[int]] = field(default_factory=dict)  # arm -> [ok, errors] recorded by this invocation
    first_error: dict[str, str] = field(default_factory=dict)  # arm -> "kind: message" of its first error


class BudgetExhausted(Exception):
    pass


# --------------------------------------------------------------------------- limits


class AdaptiveLimit:
    """A concurrency limit that halves on throttling and grows by one after `limit` successes."""

    def __init__(self, maximum: int, *, adaptive: bool = True, minimum: int = 1, cooldown_s: float = 1.0):
        self.maximum = max(1, maximum)
        self.minimum = max(1, min(minimum, self.maximum))
        self.limit = self.maximum
        self.adaptive = adaptive
        self.cooldown_s = cooldown_s
        self.in_use = 0
        self._successes = 0
        self._last_cut = -1e9
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> None:
        if self.in_use < self.limit and not self._waiters:
            self.in_use += 1
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # we were handed a slot while being cancelled
            else:
                try:
                    self._waiters.remove(fut)
                except ValueError:
                    pass
            raise

    def release(self) -> None:
        self.in_use -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_use < self.limit:
            fut = self._waiters.popleft()
            if not fut.done():
                self.in_use += 1
                fut.set_result(None)

    def on_success(self) -> None:
        if not self.adaptive or self.limit >= self.maximum:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            self._wake()

    def on_throttle(self) -> None:
        if not self.adaptive:
            return
        now = time.monotonic()
        if now - self._last_cut >= self.cooldown_s:
            self._last_cut = now
            self.limit = max(self.minimum, self.limit // 2)
            self._successes = 0


class Bucket:
    """A token bucket refilled continuously at `per_minute`/60 a second, holding up to one second's worth
    (at least one request, or the largest single take). Takers are served in arrival order."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def take(self, amount: float) -> None:
        amount = min(amount, max(self.capacity, 1.0))
        async with self._lock:
            while True:
                self._refill()
                if self.tokens >= amount:
                    self.tokens -= amount
                    return
                await asyncio.sleep((amount - self.tokens) / self.rate)

    def adjust(self, delta: float) -> None:
        """Charge (or refund) the difference between the estimate taken and the actual count."""
        self._refill()
        self.tokens = min(self.capacity, self.tokens - delta)


class Budget:
    """Spent + reserved (worst case of calls in flight) never exceeds the limit."""

    def __init__(self, limit_usd: float | None):
        self.limit = limit_usd
        self.spent = 0.0
        self.reserved = 0.0
        self._changed = asyncio.Event()

    async def reserve(self, worst: float) -> bool:
        """True if the call had to wait for headroom. Raises BudgetExhausted when it can never fit."""
        if self.limit is None:
            return False
        waited = False
        while self.spent + self.reserved + worst > self.limit:
            if self.reserved <= 0.0:
                raise BudgetExhausted(
                    f"budget ${self.limit:.2f} reached: ${self.spent:.4f} spent, next call could cost up to ${worst:.4f}")
            waited = True
            self._changed.clear()
            await self._changed.wait()
        self.reserved += worst
        return waited

    def settle(self, worst: float, actual: float) -> None:
        if self.limit is None:
            self.spent += actual
            return
        self.reserved = max(0.0, self.reserved - worst)
        self.spent += actual
        self._changed.set()


# --------------------------------------------------------------------------- helpers


def prompt_token_bound(request: Mapping[str, Any]) -> int:
    """An upper bound on a request's prompt tokens: one token per UTF-8 byte of text (byte-fallback
    tokenizers never do worse), plus an allowance per media part."""
    total = 0

    def walk(value: Any) -> None:
        nonlocal total
        if isinstance(value, str):
            total += len(value.encode("utf-8"))
        elif isinstance(value, dict):
            if "inlineData" in value or "inline_data" in value or "fileData" in value or "file_data" in value:
                total += MEDIA_PART_TOKENS_MAX
                return
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(request.get("contents"))
    walk(request.get("systemInstruction"))
    walk(request.get("tools"))
    return total


def max_output_tokens(request: Mapping[str, Any]) -> int | None:
    config = request.get("generationConfig") or {}
    value = config.get("maxOutputTokens", config.get("max_output_tokens"))
    count = config.get("candidateCount", config.get("candidate_count")) or 1
    if isinstance(value, int) and value > 0:
        return value * max(1, int(count))
    return None


def noise_sampled(seed: int, prompt_id: str, fraction: float) -> bool:
    if fraction >= 1.0:
        return True
    if fraction <= 0.0:
        return False
    return random.Random(f"noise:{seed}:{prompt_id}").random() < fraction


def plan_calls(prompt_id: str, arms: Iterable[str], repeats: int, seed: int) -> list[tuple[str, int, int]]:
    """(arm, repeat, order) for one prompt, in a randomised order that is stable for a seed."""
    calls = [(arm, r) for r in range(repeats) for arm in arms]
    random.Random(f"{seed}:{prompt_id}").shuffle(calls)
    return [(arm, r, order) for order, (arm, r) in enumerate(calls)]


@dataclass(slots=True)
class _Prompt:
    id: str
    request: dict[str, Any]
    request_hash: str
    logged: dict[str, Any] | None
    body: bytes
    prompt_bound: int
    output_bound: int | None
    token_estimate: int


@dataclass(slots=True)
class _Unit:
    prompt: _Prompt
    arm: str
    repeat: int
    order: int


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- the runner


class Runner:
    def __init__(self, *, arms: Mapping[str, Arm], settings: Settings, pricer: Pricer, log: CallLog,
                 record: Callable[[dict[str, Any]], None] | None = None,
                 sleep: Callable[[float], Any] = asyncio.sleep, ledger: CallLog | None = None):
        self.arms = dict(arms)
        self.ledger = ledger
        self.settings = settings
        self.pricer = pricer
        self.log = log
        self.record_replay = record
        self.sleep = sleep
        self.stats = Stats()
        self.limit = AdaptiveLimit(settings.concurrency, adaptive=settings.adaptive)
        self.budget = Budget(settings.budget_usd)
        self.stop_reason: str | None = None
        self.budget_message: str | None = None
        self._log_backend = LogBackend()
        self._rpm: dict[str, Bucket] = {}
        self._tpm: dict[str, Bucket] = {}
        for arm in self.arms.values():
            for limits, buckets in ((settings.rpm, self._rpm), (settings.tpm, self._tpm)):
                per_minute = limits.get(arm.model, limits.get("*"))
                if per_minute and arm.model not in buckets:
                    buckets[arm.model] = Bucket(per_minute)
        self._paused_until: dict[str, float] = {}
        self._stop_event = asyncio.Event()
        self._rng = random.Random(settings.seed ^ 0x5EED)

    # ---- control
    def request_stop(self, reason: str = "interrupted") -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stop_event.set()

    @property
    def stopping(self) -> bool:
        return self.stop_reason is not None

    # ---- planning
    def _prepare(self, record: Mapping[str, Any]) -> _Prompt:
        request = record["request"]
        bound = prompt_token_bound(request)
        return _Prompt(
            id=str(record["id"]), request=request, request_hash=record["request_hash"], logged=record.get("logged"),
            body=json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
            prompt_bound=bound, output_bound=max_output_tokens(request), token_estimate=max(1, bound // 4),
        )  # fmt: skip

    def arms_for(self, prompt_id: str) -> list[str]:
        names = ["primary", "candidate"]
        if "noise" in self.arms and noise_sampled(self.settings.seed, prompt_id, self.settings.noise_sample):
            names.append("noise")
        return names

    # ---- running
    async def run(self, prompts: Iterable[Mapping[str, Any]], done: set[tuple[str, str, int]] | None = None) -> Stats:
        done = done or set()
        queue: asyncio.Queue[_Unit | None] = asyncio.Queue(maxsize=self.settings.concurrency * 2)
        workers = [asyncio.create_task(self._worker(queue)) for _ in range(self.settings.concurrency)]
        try:
            await self._produce(prompts, done, queue)
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        return self.stats

    async def _produce(self, prompts: Iterable[Mapping[str, Any]], done: set[tuple[str, str, int]],
                       queue: asyncio.Queue[_Unit | None]) -> None:
        repeats, seed = self.settings.repeats, self.settings.seed
        for record in prompts:
            if self.stopping:
                return
            prompt_id = str(record["id"])
            plan = plan_calls(prompt_id, self.arms_for(prompt_id), repeats, seed)
            prepared = None
            for arm, repeat, order in plan:
                if done and (prompt_id, arm, repeat) in done:
                    self.stats.skipped_resume += 1
                    continue
                if prepared is None:
                    prepared = self._prepare(record)
                self.stats.planned += 1
                await queue.put(_Unit(prepared, arm, repeat, order))
                if self.stopping:
                    return

    async def _worker(self, queue: asyncio.Queue[_Unit | None]) -> None:
        while True:
            unit = await queue.get()
            if unit is None:
                return
            if self.stopping:
                self.stats.abandoned += 1
                continue
            await self._execute(unit)

    def _backend(self, unit: _Unit) -> Backend:
        if unit.arm == "primary" and unit.prompt.logged is not None:
            return self._log_backend
        return self.arms[unit.arm].backend

    async def _execute(self, unit: _Unit) -> None:
        arm = self.arms[unit.arm]
        backend = self._backend(unit)
        prompt = unit.prompt
        spec = CallSpec(prompt.id, unit.arm, unit.repeat, arm.model, prompt.request, prompt.body,
                        prompt.request_hash, prompt.logged)
        t_dispatch = time.perf_counter()
        if backend.offline:
            started = _now_iso()
            t0 = time.perf_counter()
            try:
                outcome = await backend.generate(spec, stream=self.settings.stream, timeout=self.settings.timeout_s)
            except CallFailed as failure:
                latency, attempts = failure.recorded or (None, None)
                self._record(unit, arm.model, backend, started, latency, t_dispatch, attempts or 1, None, failure)
                return
            latency = outcome.latency_ms if outcome.latency_ms is not None else (time.perf_counter() - t0) * 1000
            self._record(unit, arm.model, backend, started, latency, t_dispatch,
                         outcome.attempts if outcome.attempts is not None else 1, outcome, None)
            return

        worst = self.pricer.worst_case(arm.model, prompt.prompt_bound, prompt.output_bound)
        try:
            if await self.budget.reserve(worst):
                self.stats.budget_waits += 1
        except BudgetExhausted as exc:
            self.budget_message = str(exc)
            self.request_stop("budget_exhausted")
            self.stats.abandoned += 1
            return
        actual = 0.0
        try:
            actual = await self._attempts(unit, arm, backend, spec, worst, t_dispatch)
        finally:
            self.budget.settle(worst, actual)

    async def _attempts(self, unit: _Unit, arm: Arm, backend: Backend, spec: CallSpec, worst: float,
                        t_dispatch: float) -> float:
        """Send with retries; record once. Returns the cost to charge against the budget."""
        settings = self.settings
        attempts = 0
        possibly_billed = 0.0
        model = arm.model
        while True:
            pause = self._paused_until.get(model, 0.0) - time.monotonic()
            if pause > 0 and await self._interruptible_sleep(pause):
                self.stats.abandoned += 1
                return possibly_billed
            rpm, tpm = self._rpm.get(model), self._tpm.get(model)
            if rpm is not None:
                await rpm.take(1)
            if tpm is not None:
                await tpm.take(unit.prompt.token_estimate)
            await self.limit.acquire()
            try:
                if self.stopping:
                    self.stats.abandoned += 1
                    return possibly_billed
                attempts += 1
                if self.ledger is not None:
                    entry = {"prompt_id": unit.prompt.id, "arm": unit.arm, "repeat": unit.repeat, "attempt": attempts}
                    self.ledger.append({**entry, "worst_usd": round(worst, 8), "at": _now_iso()})
                    spec.on_wire = lambda entry=entry: self.ledger.append({**entry, "wire": True})
                started = _now_iso()
                t0 = time.perf_counter()
                try:
                    outcome = await backend.generate(spec, stream=settings.stream, timeout=settings.timeout_s)
                    failure = None
                except CallFailed as exc:
                    outcome, failure = None, exc
                latency = (time.perf_counter() - t0) * 1000.0
            finally:
                self.limit.release()
            if failure is None:
                self.limit.on_success()
                if tpm is not None and outcome.usage is not None:
                    tpm.adjust(outcome.usage.prompt - unit.prompt.token_estimate)
                cost = self._record(unit, model, backend, started, latency, t_dispatch, attempts, outcome, None)
                return possibly_billed + (worst if cost is None else cost)
            if failure.kind == "timeout":
                possibly_billed += worst  # the provider may have finished (and billed) it anyway
            if failure.throttled:
                self.stats.throttled += 1
                self.limit.on_throttle()
                if failure.retry_after:
                    until = time.monotonic() + min(failure.retry_after, settings.max_retry_wait_s)
                    self._paused_until[model] = max(self._paused_until.get(model, 0.0), until)
            final = (not failure.retryable or attempts >= settings.max_attempts
                     or (failure.retry_after or 0.0) > settings.max_retry_wait_s)
            if final:
                if failure.retryable and (failure.retry_after or 0.0) > settings.max_retry_wait_s:
                    failure.message += f" (server asked to wait {failure.retry_after:.0f}s > --max-retry-wait)"
                self._record(unit, model, backend, started, latency, t_dispatch, attempts, None, failure)
                return possibly_billed
            if self.stopping:
                self.stats.abandoned += 1
                return possibly_billed
            self.stats.retries += 1
            delay = min(settings.backoff_cap_s, settings.backoff_base_s * (2 ** (attempts - 1)))
            if failure.retry_after is not None:
                delay = max(delay if not failure.throttled else 0.0, failure.retry_after)
            delay *= self._rng.uniform(1.0, 1.5)
            if await self._interruptible_sleep(delay):
                self.stats.abandoned += 1
                return possibly_billed

    async def _interruptible_sleep(self, delay: float) -> bool:
        """Sleep; True if a stop was requested meanwhile (the call is then abandoned, not recorded)."""
        if self.stopping:
            return True
        if self.sleep is not asyncio.sleep:
            await self.sleep(delay)
            return self.stopping
        try:
            await asyncio.wait_for(self._stop_event.wait(), timeout=delay)
        except asyncio.TimeoutError:
            return False
        return True

    def _record(self, unit: _Unit, model: str, backend: Backend, started: str, latency: float | None,
                t_dispatch: float, attempts: int, outcome: Outcome | None, failure: CallFailed | None) -> float | None:
        """Append the record; returns its cost (None when it could not be priced)."""
        cost: float | None = 0.0
        cost_error = priced_as = cost_note = None
        usage = None
        version = served_model(outcome.response.get("raw")) if outcome is not None else None
        if outcome is not None:
            usage = outcome.usage
            if usage is None:
                cost, cost_error = None, "the response carried no usage metadata: cost unknown"
            else:
                try:
                    charge = self.pricer.charge(model, usage, served=version, platform=PLATFORMS.get(backend.name))
                    cost, priced_as, cost_note = charge.usd, charge.priced_as, charge.why
                except ZeroCostError as exc:
                    cost, cost_error = None, str(exc)
            if cost_error:
                self.stats.cost_errors += 1
        record = {
            "prompt_id": unit.prompt.id, "arm": unit.arm, "repeat": unit.repeat, "model": model,
            "backend": backend.name, "request_hash": unit.prompt.request_hash, "order": unit.order,
            "started_at": started, "latency_ms": None if latency is None else round(latency, 3),
            "ttft_ms": None if outcome is None or outcome.ttft_ms is None else round(outcome.ttft_ms, 3),
            "total_ms": round((time.perf_counter() - t_dispatch) * 1000.0, 3), "attempts": attempts,
            "status": "ok" if outcome is not None else "error",
            "error": failure.as_dict() if failure is not None else None,
            "response": outcome.response if outcome is not None else None,
            "usage": usage.as_dict() if usage is not None else None,
            "cost_usd": cost, "cost_error": cost_error,
            "model_version": version,
        }  # fmt: skip
        if cost_note:
            record.update(priced_as=priced_as, cost_note=cost_note)
        self.log.append(record)
        if self.record_replay is not None:
            self.record_replay(replay_record(record, backend.api))
        stats = self.stats
        stats.done += 1
        per_arm = stats.arms.setdefault(unit.arm, [0, 0])
        if outcome is not None:
            stats.ok += 1
            per_arm[0] += 1
        else:
            stats.errors += 1
            per_arm[1] += 1
            if failure is not None and unit.arm not in stats.first_error:
                stats.first_error[unit.arm] = failure.message if failure.kind == "http" else f"{failure.kind}: {failure.message}"
        if cost:
            stats.cost_usd += cost
        return cost
