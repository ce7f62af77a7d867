"""Wire one `flm shadow run`: run folder, dataset -> prompts.jsonl, backends, prices, manifest, runner.

`start(options)` creates a run, `resume(options)` continues one from its manifest; both return a
`RunResult`. Nothing is sent before the dataset has been read, every model has a price and every
credential needed has been found.

A new run is built in a hidden staging folder next to its destination and renamed into place just
before the first call, so a run folder either does not exist or is complete enough to resume. One
process writes a run folder at a time (store.RunLock).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import httpx

from migrate.catalog import bundled_catalog
from migrate.errors import UserError
from migrate.shadow import figures, store
from migrate.shadow.backends import Backend, LogBackend, ReplayBackend, make_backend, new_client
from migrate.shadow.cost import Pricer, load_price_overrides
from migrate.shadow.dataset import Dataset, summarise_problems
from migrate.shadow.runner import Arm, Runner, Settings, Stats
from migrate.shadow.served import catalogue_notice

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
    store: bool | None = None  # Developer API request storage (default False: production prompts)
    env: Mapping[str, str] | None = None  # tests inject credentials here; None = os.environ
    today: dt.date | None = None  # the run's date: catalogue checks and price periods (None: each call's day)


@dataclass
class RunResult:
    folder: Path
    status: str
    stats: Stats
    manifest: dict[str, Any]
    problems: str | None = None
    message: str | None = None
    warnings: list[str] = field(default_factory=list)
    exposure: dict[str, Any] = field(default_factory=dict)  # store.billing_exposure of the folder


DEFAULTS = {"repeats": 1, "noise_floor": False, "noise_sample": 1.0, "concurrency": 32, "timeout_s": 120.0,
            "max_attempts": 6, "backoff_base_s": 1.0, "max_retry_wait_s": 300.0, "stream": False,
            "batch_pricing": False, "store": False}


def _pick(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


# --------------------------------------------------------------------------- folder + dataset


def _new_folder(out: Path | None) -> tuple[Path, Path]:
    """(destination, staging folder): the run is built in the staging folder, renamed when ready."""
    if out is None:
        out = Path("runs") / store.now_iso().replace(":", "").replace(".", "-")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} already exists and is not empty: pick another --out, or continue it with --resume {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.partial-*"):  # left by a process killed while reading
        try:
            store.RunLock(stale).acquire().release()
        except (UserError, OSError):
            continue  # still being built by a live process
        shutil.rmtree(stale, ignore_errors=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    return out, staging


def _publish(staging: Path, destination: Path) -> Path:
    """Rename the staging folder onto the destination (which may exist as an empty folder)."""
    try:
        os.rename(staging, destination)
    except OSError as exc:
        raise UserError(f"cannot create {destination}: {exc.strerror or exc} (another run took the name?)") from None
    return destination


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

    def __init__(self, options: RunOptions, concurrency: int, timeout: float, replay: Path | None,
                 request_store: bool = False):
        self.options = options
        self.request_store = request_store
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
                                                location=o.location, api_version=o.api_version, env=o.env,
                                                store=self.request_store)
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


Warn = Callable[[str], None]


def start(options: RunOptions, *, progress: Callable[[Runner], None] | None = None,
          warn: Warn | None = None) -> RunResult:
    if options.resume is not None:
        return resume(options, progress=progress, warn=warn)
    destination, staging = _new_folder(options.out)
    lock = store.RunLock(staging).acquire()
    try:
        dataset_info, problems, logged_model = _read_dataset(staging, options)
        manifest = store.new_manifest(status="running", dataset=dataset_info, runs=[])
        replay = options.replay or _default_replay(options.dataset)
        return _execute(staging, options, manifest, replay, logged_model, problems, progress, warn,
                        fresh=True, publish_to=destination)
    finally:
        lock.release()
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)  # nothing was sent: leave no half-made run behind


def resume(options: RunOptions, *, progress: Callable[[Runner], None] | None = None,
           warn: Warn | None = None) -> RunResult:
    folder = Path(options.resume)  # type: ignore[arg-type]
    store.read_manifest(folder)  # a clear error for a folder that is not a run, before taking its lock
    with store.RunLock(folder):
        return _resume_locked(folder, store.read_manifest(folder), options, progress, warn)


def _resume_locked(folder: Path, manifest: dict[str, Any], options: RunOptions,
                   progress: Callable[[Runner], None] | None, warn: Warn | None) -> RunResult:
    if not (folder / store.PROMPTS).is_file():
        raise UserError(f"{folder}: {store.PROMPTS} is missing; start a new run")
    if options.dataset is not None:
        raise UserError("--resume continues the run's own prompts.jsonl: do not pass a dataset as well")
    for flag, value in (("--primary", options.primary), ("--candidate", options.candidate), ("--repeats", options.repeats),
                        ("--noise-floor", options.noise_floor), ("--seed", options.seed)):
        if value is not None:
            raise UserError(f"{flag} cannot change on --resume (the run's manifest fixes it)")
    replay = options.replay or (Path(manifest["replay"]) if manifest.get("replay") else None)
    return _execute(folder, options, manifest, replay, None, None, progress, warn, fresh=False)


def _execute(folder: Path, options: RunOptions, manifest: dict[str, Any], replay: Path | None,
             logged_model: str | None, problems: str | None, progress: Callable[[Runner], None] | None,
             warn: Warn | None, *, fresh: bool, publish_to: Path | None = None) -> RunResult:
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
    request_store = bool(_pick(options.store, saved_settings.get("store"), DEFAULTS["store"]))
    backends = _Backends(options, settings.concurrency, settings.timeout_s, replay, request_store)
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
        pricer = Pricer(catalog, [primary, candidate], batch=batch, overrides=overrides, today=options.today)

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
                "store": request_store,
            },
            pricing=pricer.snapshot(),
        )  # fmt: skip
        notices = [n for n in (catalogue_notice(catalog, arm.model, (described.get(name) or {}).get("backend"),
                                                options.today or dt.date.today())
                               for name, arm in arms.items() if name != "noise") if n]
        for notice in notices:
            if warn is not None:
                warn(notice)  # before the first call
        done, spent = (set(), 0.0) if fresh else _scan_calls(folder, options.retry_errors)
        before = {} if fresh else store.billing_exposure(folder)
        run_entry = {"started_at": store.now_iso(), "resumed": not fresh, "status": "running"}
        if before.get("possibly_billed_calls"):
            run_entry["resent_possibly_billed"] = before["possibly_billed_calls"]
        if notices:
            run_entry["warnings"] = notices
        manifest.setdefault("runs", []).append(run_entry)
        manifest["status"] = "running"
        store.write_manifest(folder, manifest)
        if publish_to is not None:
            folder = _publish(folder, publish_to)

        with contextlib.ExitStack() as stack:
            log = stack.enter_context(store.CallLog.for_run(folder))
            ledger = stack.enter_context(store.CallLog(folder / store.SENT))
            recorder = None
            if options.record is not None:
                options.record.parent.mkdir(parents=True, exist_ok=True)
                recorder = stack.enter_context(store.CallLog(options.record)).append
            runner = Runner(arms=arms, settings=settings, pricer=pricer, log=log, record=recorder, ledger=ledger)
            runner.budget.spent = spent
            items = int(dataset_info.get("items") or 0)
            per_prompt = 2 + (settings.noise_sample if settings.noise_floor else 0.0)
            runner.stats.expected = max(0, round(items * settings.repeats * per_prompt) - len(done)) or None
            status = asyncio.run(_drive(runner, folder, done, progress, backends))
        stats = runner.stats
        totals = _totals(folder)
        exposure = store.billing_exposure(folder)
        message = runner.budget_message if status == "budget_exhausted" else None
        failed = _all_failed(totals)
        if failed is not None and status == "complete":
            status, message = "failed", failed
        run_entry.update(ended_at=store.now_iso(), status=status, calls=stats.done)
        manifest["status"] = status
        manifest["totals"] = {k: totals[k] for k in ("calls", "ok", "errors", "cost_usd", "retries")} | exposure
        manifest["pricing"] = pricer.snapshot()  # with the rates of any model that served a routed call
        if message and status == "failed":
            manifest["failure"] = message
        store.write_manifest(folder, manifest)
        return RunResult(folder, status, stats, manifest, problems, message, notices, exposure)
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
    """Counts over the final record of every key (after a resume: across all invocations), overall
    and per arm, with the first error of each arm as a sample."""
    final: dict[tuple[str, str, int], tuple[bool, float, str | None]] = {}
    attempts: dict[tuple[str, str, int], int] = {}
    for rec in store.iter_call_dicts(folder):
        error = rec.get("error") or {}
        sample = None
        if rec.get("status") != "ok":
            kind, message = error.get("kind") or "error", error.get("message") or ""
            sample = message if kind == "http" and message else f"{kind}: {message}".rstrip(": ")
        key = (str(rec["prompt_id"]), rec["arm"], int(rec["repeat"]))
        final[key] = (rec.get("status") == "ok", float(rec.get("cost_usd") or 0.0), sample)
        attempts[key] = int(rec.get("attempts") or 0)
    arms: dict[str, dict[str, Any]] = {}
    for (_, arm, _), (good, _, sample) in final.items():
        row = arms.setdefault(arm, {"ok": 0, "errors": 0, "sample_error": None})
        row["ok" if good else "errors"] += 1
        if sample and row["sample_error"] is None:
            row["sample_error"] = sample
    ok = sum(1 for good, _, _ in final.values() if good)
    cost = sum(c for _, c, _ in final.values())
    return {"calls": len(final), "ok": ok, "errors": len(final) - ok, "cost_usd": round(cost, 6),
            "retries": figures.retries(attempts.values()), "arms": arms}


def _all_failed(totals: Mapping[str, Any]) -> str | None:
    """One line when every call of the primary or of the candidate failed: there is nothing to judge."""
    for arm in ("candidate", "primary"):
        row = (totals.get("arms") or {}).get(arm)
        if row and row["errors"] and not row["ok"]:
            return f"every {arm} call failed ({row['errors']} of {row['errors']}): {row['sample_error']}"
    return None
