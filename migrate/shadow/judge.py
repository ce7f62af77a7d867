"""Optional pairwise LLM judge: Pro's answer vs the candidate's, both orders, labels blinded.

`flm shadow judge RUN --model M` asks a judge model, through any backend of the runner (gemini,
vertex, openai, replay) and the runner's own scheduler (AIMD concurrency, RPM/TPM limits, retries
with backoff, the hard budget, resume), which of two answers better fulfils the request. Every
compared prompt is asked twice: once with Pro's answer as "Response A" and once with the
candidate's as "Response A" (`parity.judge_prompt`: the judge never learns which model wrote
which). `parity.combine_judgements` counts a win only if it survives the swap; anything else is a
tie. With ``--samples k`` each order is asked k times and the prompt's outcome is the majority.

Files added to the run folder (the run's own files are never touched):

    judge.json     {schema 1, model, backend, base_url, samples, template_sha256, same_family,
                    pricing (the judge's rates), created_at, updated_at}
    judge.jsonl    one calls.jsonl-format record per judge call (store.CallLog), arm "judge",
                   prompt_id "ab:<id>" (A = Pro) or "ba:<id>" (A = candidate), repeat = sample

`load(folder)` reads them back for `verdict.compute(..., judge=...)`; reports include the judge's
outcome, position-bias rate, length-bias check and cost, and gate on it (see verdict.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from migrate.catalog import bundled_catalog
from migrate.errors import UserError
from migrate.shadow import store
from migrate.shadow.backends import make_backend, new_client
from migrate.shadow.cost import Pricer, load_price_overrides
from migrate.shadow.dataset import request_hash
from migrate.shadow.parity import judge_prompt
from migrate.shadow.runner import Arm, Runner, Settings, Stats
from migrate.shadow.verdict import answer_text  # the same text the comparators saw

JUDGE_CALLS = "judge.jsonl"
JUDGE_MANIFEST = "judge.json"
ARM = "judge"
TEMPLATE_SHA = hashlib.sha256(judge_prompt("{q}", "{1}", "{2}").encode()).hexdigest()


@dataclass
class JudgeOptions:
    model: str
    backend: str = "gemini"
    base_url: str | None = None
    project: str | None = None
    location: str | None = None
    api_version: str | None = None
    replay: Path | None = None
    prices: Path | None = None
    samples: int = 1
    sample_prompts: int | None = None  # judge at most this many prompts (a deterministic subset)
    concurrency: int = 8
    budget: float | None = None
    timeout: float = 120.0
    max_attempts: int = 6
    backoff_base: float = 1.0
    max_retry_wait: float = 300.0
    seed: int = 0
    env: Mapping[str, str] | None = None


@dataclass
class JudgeResult:
    folder: Path
    status: str  # complete | budget_exhausted | interrupted
    stats: Stats
    planned_prompts: int
    message: str | None = None


def _texts(content: Any) -> list[str]:
    parts = content.get("parts") if isinstance(content, Mapping) else None
    return [p["text"] for p in parts or () if isinstance(p, Mapping) and isinstance(p.get("text"), str)]


def question_text(request: Mapping[str, Any]) -> str:
    """The request as a judge reads it: system instruction, then every turn's text."""
    out = []
    system = _texts(request.get("systemInstruction"))
    if system:
        out.append("[system instruction]\n" + "\n".join(system))
    contents = request.get("contents") or []
    turns = contents if isinstance(contents, list) else []
    for turn in turns:
        text = "\n".join(_texts(turn))
        if text:
            role = turn.get("role", "user") if isinstance(turn, Mapping) else "user"
            out.append(text if len(turns) == 1 else f"[{role}]\n{text}")
    return "\n\n".join(out)


def _order_key(prompt_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{prompt_id}".encode()).hexdigest()


def build_requests(run: store.Run, *, samples: int = 1, sample_prompts: int | None = None,
                   seed: int = 0) -> list[dict[str, Any]]:
    """The judge 'prompts' (records the runner reads): two per compared prompt, repeat 0 only."""
    final = run.final()
    chosen = []
    for pid, prompt in run.prompts.items():
        p, c = final.get((pid, "primary", 0)), final.get((pid, "candidate", 0))
        if p is None or c is None or not p.ok or not c.ok:
            continue
        chosen.append((pid, prompt, p, c))
    if sample_prompts is not None and len(chosen) > sample_prompts:
        chosen = sorted(chosen, key=lambda row: _order_key(row[0], seed))[:sample_prompts]
        order = {pid: k for k, pid in enumerate(run.prompts)}
        chosen.sort(key=lambda row: order[row[0]])
    records = []
    for pid, prompt, p, c in chosen:
        question = question_text(prompt.request)
        for order, (first, second) in (("ab", (p, c)), ("ba", (c, p))):
            request: dict[str, Any] = {"contents": [{"role": "user", "parts": [
                {"text": judge_prompt(question, answer_text(first), answer_text(second))}]}]}
            if samples == 1:
                request["generationConfig"] = {"temperature": 0}
            records.append({"id": f"{order}:{pid}", "request": request, "request_hash": request_hash(request)})
    return records


class _JudgeRunner(Runner):
    """The runner with one arm, "judge", called `repeats` times per judge prompt."""

    def arms_for(self, prompt_id: str) -> list[str]:
        return [ARM]


def _same_family(model: str) -> bool:
    return bundled_catalog().model(model) is not None or model.lower().startswith(("gemini", "models/gemini"))


def _done(path: Path) -> set[tuple[str, str, int]]:
    last: dict[tuple[str, str, int], bool] = {}
    for rec in store.iter_jsonl(path):
        last[(str(rec["prompt_id"]), rec["arm"], int(rec["repeat"]))] = rec.get("status") == "ok"
    return {k for k, ok in last.items() if ok}  # errors are asked again


def run_judge(folder: str | Path, options: JudgeOptions) -> JudgeResult:
    """Ask the judge about every compared prompt not judged yet; append to judge.jsonl."""
    folder = Path(folder)
    run = store.load_run(folder)
    if options.samples < 1:
        raise UserError("--samples must be at least 1")
    manifest_path = folder / JUDGE_MANIFEST
    existing = None
    if manifest_path.is_file():
        existing = json.loads(manifest_path.read_text(encoding="utf-8"))
        if existing.get("model") != options.model or int(existing.get("samples") or 1) != options.samples:
            raise UserError(f"{folder} was judged by {existing.get('model')} with {existing.get('samples')} sample(s); "
                            f"remove {JUDGE_MANIFEST} and {JUDGE_CALLS} to judge again differently")
    records = build_requests(run, samples=options.samples, sample_prompts=options.sample_prompts, seed=options.seed)
    if not records:
        raise UserError(f"{folder}: no prompt has both a primary and a candidate answer to judge")
    catalog = bundled_catalog()
    overrides = load_price_overrides(options.prices) if options.prices else {}
    pricer = Pricer(catalog, [options.model], overrides=overrides)
    client = new_client(options.concurrency, options.timeout) if options.backend != "replay" else None
    backend = make_backend(options.backend, client, base_url=options.base_url, project=options.project,  # type: ignore[arg-type]
                           location=options.location, replay=options.replay, api_version=options.api_version,
                           env=options.env)
    now = store.now_iso()
    manifest = {
        "schema": 1, "model": options.model, **backend.describe(), "samples": options.samples,
        "template_sha256": TEMPLATE_SHA, "same_family": _same_family(options.model),
        "pricing": pricer.snapshot(), "created_at": (existing or {}).get("created_at", now), "updated_at": now,
        "sample_prompts": options.sample_prompts,
    }  # fmt: skip
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    settings = Settings(repeats=options.samples, concurrency=options.concurrency, budget_usd=options.budget,
                        timeout_s=options.timeout, max_attempts=options.max_attempts,
                        backoff_base_s=options.backoff_base, max_retry_wait_s=options.max_retry_wait, seed=options.seed)
    done = _done(folder / JUDGE_CALLS)
    with store.CallLog(folder / JUDGE_CALLS) as log:
        runner = _JudgeRunner(arms={ARM: Arm(ARM, options.model, backend)}, settings=settings, pricer=pricer, log=log)

        async def drive() -> None:
            try:
                await runner.run(iter(records), done)
            finally:
                if client is not None:
                    await client.aclose()
                close = getattr(backend, "close", None)
                if close is not None:
                    close()

        try:
            asyncio.run(drive())
            status = "budget_exhausted" if runner.stop_reason == "budget_exhausted" else "complete"
        except KeyboardInterrupt:
            status = "interrupted"
    return JudgeResult(folder, status, runner.stats, len(records) // 2, runner.budget_message)


def load(folder: str | Path) -> dict[str, Any] | None:
    """The judge's manifest and calls for verdict.compute, or None when the run was never judged."""
    folder = Path(folder)
    path = folder / JUDGE_MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: unreadable judge manifest ({exc})") from None
    calls = [store.Call.from_dict(d) for d in store.iter_jsonl(folder / JUDGE_CALLS)
             if d.get("model") == manifest.get("model")]
    final: dict[tuple[str, str, int], store.Call] = {}
    for call in calls:
        final[call.key] = call
    return {**manifest, "calls": calls, "final": final}

