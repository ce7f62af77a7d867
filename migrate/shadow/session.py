"""Wire one `flm shadow run`: run folder, dataset -> prompts.jsonl, backends, prices, manifest, runner.

`start(options)` creates a run, `resume(options)` continues one from its manifest; both return a
`RunResult`. Nothing is sent before the dataset has been read, every model has a price and every
credential needed has been found.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import httpx

from migrate.catalog import bundled_catalog
from migrate.errors import UserError
from migrate.shadow import store
from migrate.shadow.backends import Backend, LogBackend, ReplayBackend, make_backend, new_client
from migrate.shadow.cost import Pricer, load_price_overrides
from migrate.shadow.dataset import Dataset, summarise_problems
from migrate.shadow.runner import Arm, Runner, Settings, Stats

DEFAULT_BACKEND = "gemini"


@dataclass
class RunOptions:
    dataset: Path | None = None
    out: Path | None = None
    resume: Path | None = None
    primary: str | None = None
    candidate: str | None = None
    repeats: int | None = None
    noise_floor: bool | None = None
    noise_sample: float | None = None
    concurrency: int | None = None
    rpm: dict[str, float] = field(default_factory=dict)
    tpm: dict[str, float] = field(default_factory=dict)
    budget: float | None = None
    timeout: float | None = None
    max_attempts: int | None = None
    backoff_base: float | None = None
    max_retry_wait: float | None = None
    stream: bool | None = None
    backend: str | None = None
    primary_backend: str | None = None
    candidate_backend: str | None = None
    base_url: str | None = None
    primary_base_url: str | None = None
    candidate_base_url: str | None = None
    project: str | None = None
    location: str | None = None
    api_version: str | None = None
    replay: Path | None = None
    record: Path | None = None
    strict: bool = False
    seed: int | None = None
    batch_pricing: bool | None = None
    volume: float | None = None
    retry_errors: bool = False
    prices: Path | None = None
    env: Mapping[str, str] | None = None  # tests inject credentials here; None = os.environ


@dataclass
class RunResult:
    folder: Path
    status: str
    stats: Stats
    manifest: dict[str, Any]
    problems: str | None = None
    message: str | None = None


DEFAULTS = {"repeats": 1, "noise_floor": False, "noise_sample": 1.0, "concurrency": 32, "timeout_s": 120.0,
            "max_attempts": 6, "backoff_base_s": 1.0, "max_retry_wait_s": 300.0, "stream": False,
            "batch_pricing": False}


def _pick(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


# --------------------------------------------------------------------------- folder + dataset


def _new_folder(out: Path | None) -> Path:
    if out is None:
        out = Path("runs") / store.now_iso().replace(":", "").replace(".", "-")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} already exists and is not empty: pick another --out, or continue it with --resume {out}")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _read_dataset(folder: Path, options: RunOptions) -> tuple[dict[str, Any], str | None, str | None]:
    if options.dataset is None:
        raise UserError("give a dataset (JSONL, CSV or YAML), or --resume RUN_FOLDER")
    data = Dataset(options.dataset, strict=options.strict)
    first_logged_model: list[str | None] = []

    def records() -> Iterator[dict[str, Any]]:
        for item in data:
            if item.logged is not None and not first_logged_model:
                first_logged_model.append(item.logged.model)
            yield item.to_record()

    count = store.write_prompts(folder, records())
    problems = summarise_problems(data.problems, data.skipped) if data.skipped else None
    if count == 0:
        raise UserError(f"no usable prompts in {options.dataset}" + (f": {problems}" if problems else ""))
    info = {
        "path": str(options.dataset), "sha256": data.sha256, "format": data.format, "items": count,
        "logged": data.logged, "skipped": data.skipped,
        "problems": [{"line": p.line, "message": p.message} for p in data.problems[:50]],
    }  # fmt: skip
    return info, problems, first_logged_model[0] if first_logged_model else None


def _default_replay(dataset: Path | None) -> Path | None:
    if dataset is None:
        return None
    candidate = Path(dataset).with_suffix(".replay.jsonl")
    return candidate if candidate.is_file() else None


# --------------------------------------------------------------------------- backends


class _Backends:
    """Builds each backend once (arms sharing a kind and URL share it) over one httpx client."""

    def __init__(self, options: RunOptions, concurrency: int, timeout: float, replay: Path | None):
        self.options = options
        self.concurrency = concurrency
        self.timeout = timeout
        self.replay_path = replay
        self.client: httpx.AsyncClient | None = None
        self._built: dict[tuple[str, str | None], Backend] = {}
        self.replay: ReplayBackend | None = None
        self.closed = False

    def get(self, kind: str, base_url: str | None) -> Backend:
        key = (kind, base_url)
        if key not in self._built:
            if kind == "replay":
                if self.replay is None:
                    self.replay = make_backend("replay", None, replay=self.replay_path)  # type: ignore[arg-type]
                self._built[key] = self.replay
            else:
                if self.client is None:
                    self.client = new_client(self.concurrency, self.timeout)
                o = self.options
                self._built[key] = make_backend(kind, self.client, base_url=base_url, project=o.project,
                                                location=o.location, api_version=o.api_version, env=o.env)
        return self._built[key]

    async def aclose(self) -> None:
        self.closed = True
        if self.client is not None:
            await self.client.aclose()
        if self.replay is not None:
            self.replay.close()


# --------------------------------------------------------------------------- run


def _settings(options: RunOptions, saved: Mapping[str, Any], saved_top: Mapping[str, Any]) -> Settings:
    def get(opt: Any, key: str) -> Any:
        return _pick(opt, saved.get(key), DEFAULTS.get(key))

    repeats = _pick(options.repeats, saved_top.get("repeats"), DEFAULTS["repeats"])
    if repeats < 1:
        raise UserError("--repeats must be at least 1")
    concurrency = get(options.concurrency, "concurrency")
    if concurrency < 1:
        raise UserError("--concurrency must be at least 1")
    noise_sample = _pick(options.noise_sample, saved_top.get("noise_sample"), DEFAULTS["noise_sample"])
    if not 0.0 <= noise_sample <= 1.0:
        raise UserError("--noise-sample must be a fraction from 0 to 1")
    budget = _pick(options.budget, saved.get("budget_usd"))
    if budget is not None and budget <= 0:
        raise UserError("--budget must be a positive amount in USD")
    return Settings(
        repeats=repeats,
        noise_floor=bool(_pick(options.noise_floor, saved_top.get("noise_floor"), False)),
        noise_sample=noise_sample,
        concurrency=concurrency,
        rpm=options.rpm or dict(saved.get("rpm") or {}),
        tpm=options.tpm or dict(saved.get("tpm") or {}),
        budget_usd=budget,
        timeout_s=get(options.timeout, "timeout_s"),
        max_attempts=max(1, get(options.max_attempts, "max_attempts")),
        backoff_base_s=get(options.backoff_base, "backoff_base_s"),
        max_retry_wait_s=get(options.max_retry_wait, "max_retry_wait_s"),
        stream=bool(get(options.stream, "stream")),
        seed=0,
    )


def _scan_calls(folder: Path, retry_errors: bool) -> tuple[set[tuple[str, str, int]], float]:
    last: dict[tuple[str, str, int], bool] = {}
    spent = 0.0
    for rec in store.iter_call_dicts(folder):
        last[(str(rec["prompt_id"]), rec["arm"], int(rec["repeat"]))] = rec.get("status") == "ok"
        if rec.get("backend") not in ("replay", "log") and rec.get("cost_usd"):
            spent += float(rec["cost_usd"])
    done = {k for k, ok in last.items() if ok or not retry_errors}
    return done, spent


def start(options: RunOptions, *, progress: Callable[[Runner], None] | None = None) -> RunResult:
    if options.resume is not None:
        return resume(options, progress=progress)
    folder = _new_folder(options.out)
    try:
        dataset_info, problems, logged_model = _read_dataset(folder, options)
        manifest = store.new_manifest(status="running", dataset=dataset_info, runs=[])
        replay = options.replay or _default_replay(options.dataset)
        return _execute(folder, options, manifest, replay, logged_model, problems, progress, fresh=True)
    except BaseException:
        if not (folder / store.MANIFEST).exists():
            shutil.rmtree(folder, ignore_errors=True)  # nothing was sent: leave no half-made run behind
        raise


def resume(options: RunOptions, *, progress: Callable[[Runner], None] | None = None) -> RunResult:
    folder = Path(options.resume)  # type: ignore[arg-type]
    manifest = store.read_manifest(folder)
    if not (folder / store.PROMPTS).is_file():
        raise UserError(f"{folder}: {store.PROMPTS} is missing; start a new run")
    if options.dataset is not None:
        raise UserError("--resume continues the run's own prompts.jsonl: do not pass a dataset as well")
    for flag, value in (("--primary", options.primary), ("--candidate", options.candidate), ("--repeats", options.repeats),
                        ("--noise-floor", options.noise_floor), ("--seed", options.seed)):
        if value is not None:
            raise UserError(f"{flag} cannot change on --resume (the run's manifest fixes it)")
    replay = options.replay or (Path(manifest["replay"]) if manifest.get("replay") else None)
    return _execute(folder, options, manifest, replay, None, None, progress, fresh=False)


def _execute(folder: Path, options: RunOptions, manifest: dict[str, Any], replay: Path | None,
             logged_model: str | None, problems: str | None, progress: Callable[[Runner], None] | None,
             *, fresh: bool) -> RunResult:
    catalog = bundled_catalog()
    saved_settings = manifest.get("settings") or {}
    settings = _settings(options, saved_settings, manifest)
    seed = manifest.get("seed")
    if seed is None:
        seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    settings.seed = int(seed)
    saved_arms = manifest.get("arms") or {}
    dataset_info = manifest.get("dataset") or {}
    all_logged = dataset_info.get("items") and dataset_info.get("logged") == dataset_info.get("items")

    def arm_backend(arm: str, specific: str | None) -> str:
        saved = (saved_arms.get(arm) or {}).get("backend")
        if saved == "log":
            saved = (saved_arms.get(arm) or {}).get("live_backend")
        return _pick(specific, options.backend, saved, DEFAULT_BACKEND)

    def arm_url(arm: str, specific: str | None) -> str | None:
        return _pick(specific, options.base_url, (saved_arms.get(arm) or {}).get("base_url"))

    primary_kind = arm_backend("primary", options.primary_backend)
    candidate_kind = arm_backend("candidate", options.candidate_backend)
    for kind in (primary_kind, candidate_kind):
        if kind not in ("gemini", "vertex", "openai", "replay"):
            raise UserError(f"unknown backend {kind!r}: choose gemini, vertex, openai or replay")
    backends = _Backends(options, settings.concurrency, settings.timeout_s, replay)
    try:
        replay_models = {}
        if "replay" in (primary_kind, candidate_kind):
            replay_models = backends.get("replay", None).models  # type: ignore[union-attr]
        primary = _pick(options.primary, (saved_arms.get("primary") or {}).get("model"), logged_model,
                        replay_models.get("primary") if primary_kind == "replay" else None)
        if not primary:
            raise UserError("which model is the primary? pass --primary MODEL (e.g. the Pro model you run today)")
        candidate = _pick(options.candidate, (saved_arms.get("candidate") or {}).get("model"),
                          replay_models.get("candidate") if candidate_kind == "replay" else None, catalog.default_target)
        overrides = load_price_overrides(options.prices) if options.prices else {}
        batch = bool(_pick(options.batch_pricing, saved_settings.get("batch_pricing"), False))
        pricer = Pricer(catalog, [primary, candidate], batch=batch, overrides=overrides)

        need_primary_live = not all_logged or settings.noise_floor
        arms: dict[str, Arm] = {}
        described: dict[str, Any] = {}
        primary_backend = backends.get(primary_kind, arm_url("primary", options.primary_base_url)) if need_primary_live else LogBackend()
        arms["primary"] = Arm("primary", primary, primary_backend)
        described["primary"] = {"model": primary, **primary_backend.describe()}
        if all_logged:
            described["primary"]["backend"] = "log"
            described["primary"]["live_backend"] = primary_kind if need_primary_live else None
        candidate_backend = backends.get(candidate_kind, arm_url("candidate", options.candidate_base_url))
        arms["candidate"] = Arm("candidate", candidate, candidate_backend)
        described["candidate"] = {"model": candidate, **candidate_backend.describe()}
        if settings.noise_floor:
            arms["noise"] = Arm("noise", primary, primary_backend)
            described["noise"] = {"model": primary, **primary_backend.describe()}

        manifest.update(
            arms=described, repeats=settings.repeats, noise_floor=settings.noise_floor,
            noise_sample=settings.noise_sample, seed=settings.seed,
            replay=str(replay) if replay and "replay" in (primary_kind, candidate_kind) else manifest.get("replay"),
            settings={
                "concurrency": settings.concurrency, "rpm": dict(settings.rpm), "tpm": dict(settings.tpm),
                "budget_usd": settings.budget_usd, "timeout_s": settings.timeout_s,
                "max_attempts": settings.max_attempts, "backoff_base_s": settings.backoff_base_s,
                "max_retry_wait_s": settings.max_retry_wait_s, "stream": settings.stream, "batch_pricing": batch,
                "volume_per_day": _pick(options.volume, saved_settings.get("volume_per_day")),
                "price_overrides": str(options.prices) if options.prices else saved_settings.get("price_overrides"),
            },
            pricing=pricer.snapshot(),
        )  # fmt: skip
        done, spent = (set(), 0.0) if fresh else _scan_calls(folder, options.retry_errors)
        run_entry = {"started_at": store.now_iso(), "resumed": not fresh, "status": "running"}
        manifest.setdefault("runs", []).append(run_entry)
        manifest["status"] = "running"
        store.write_manifest(folder, manifest)

        with contextlib.ExitStack() as stack:
            log = stack.enter_context(store.CallLog.for_run(folder))
            recorder = None
            if options.record is not None:
                options.record.parent.mkdir(parents=True, exist_ok=True)
                recorder = stack.enter_context(store.CallLog(options.record)).append
            runner = Runner(arms=arms, settings=settings, pricer=pricer, log=log, record=recorder)
            runner.budget.spent = spent
            items = int(dataset_info.get("items") or 0)
            per_prompt = 2 + (settings.noise_sample if settings.noise_floor else 0.0)
            runner.stats.expected = max(0, round(items * settings.repeats * per_prompt) - len(done)) or None
            status = asyncio.run(_drive(runner, folder, done, progress, backends))
        stats = runner.stats
        run_entry.update(ended_at=store.now_iso(), status=status, calls=stats.done)
        manifest["status"] = status
        if fresh:
            manifest["totals"] = {"calls": stats.done, "ok": stats.ok, "errors": stats.errors,
                                  "cost_usd": round(stats.cost_usd, 6)}
        else:
            manifest["totals"] = _totals(folder)
        store.write_manifest(folder, manifest)
        message = runner.budget_message if status == "budget_exhausted" else None
        return RunResult(folder, status, stats, manifest, problems, message)
    finally:
        if not backends.closed:
            asyncio.run(backends.aclose())


async def _drive(runner: Runner, folder: Path, done: set[tuple[str, str, int]],
                 progress: Callable[[Runner], None] | None, backends: _Backends) -> str:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    interrupts = 0

    def on_signal() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            runner.request_stop("interrupted")  # finish the calls on the wire, start no more
        elif task is not None:
            task.cancel()  # second Ctrl-C: drop the calls in flight (they are not recorded)

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
    ticker = None
    if progress is not None:
        async def tick() -> None:
            while True:
                progress(runner)
                await asyncio.sleep(0.25)

        ticker = asyncio.create_task(tick())
    try:
        await runner.run(store.iter_prompts(folder), done)
    except asyncio.CancelledError:
        return "interrupted"
    finally:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            progress(runner)  # type: ignore[misc]
        for sig in installed:
            loop.remove_signal_handler(sig)
        await backends.aclose()  # the client's connections belong to this loop
    if runner.stop_reason == "budget_exhausted":
        return "budget_exhausted"
    if runner.stop_reason is not None:
        return "interrupted"
    return "complete"


def _totals(folder: Path) -> dict[str, Any]:
    """Counts over the final record of every key (after a resume: across all invocations)."""
    final: dict[tuple[str, str, int], tuple[bool, float]] = {}
    for rec in store.iter_call_dicts(folder):
        final[(str(rec["prompt_id"]), rec["arm"], int(rec["repeat"]))] = (
            rec.get("status") == "ok", float(rec.get("cost_usd") or 0.0))
    ok = sum(1 for good, _ in final.values() if good)
    cost = sum(c for _, c in final.values())
    return {"calls": len(final), "ok": ok, "errors": len(final) - ok, "cost_usd": round(cost, 6)}
