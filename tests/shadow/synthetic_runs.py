"""Synthetic shadow runs with known ground truth, written through the store's own writer.

`write_run(folder, items)` makes a run folder exactly as `flm shadow run` does (manifest.json via
store.write_manifest, prompts.jsonl via store.write_prompts, calls.jsonl via store.CallLog), with
model IDs from the catalogue and costs from the catalogue's prices (store format: see store.py).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.catalog import bundled_catalog
from migrate.shadow import store
from migrate.shadow.cost import Pricer, Usage
from migrate.shadow.dataset import request_hash

CATALOG = bundled_catalog()
CANDIDATE = CATALOG.default_target
PRIMARY = next(m.id for m in CATALOG.models
               if m.family == "pro" and m.kind == "text" and m.id in CATALOG.pricing.prices)
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fixtures" / "shadow" / "support_triage.jsonl"


@dataclass
class Answer:
    """One arm's answer to one prompt (status "error" = the call failed after retries)."""

    text: str = ""
    finish_reason: str = "STOP"
    blocked: bool = False
    status: str = "ok"
    latency_ms: float = 100.0
    prompt_tokens: int = 100
    output_tokens: int = 10
    thoughts: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Item:
    id: str
    answers: dict[str, Answer | list[Answer]]  # arm -> answer (or one per repeat)
    slice: str | None = "s"
    compare: Any = "exact"
    expected: Any = None
    prompt: str = "question"


def write_run(folder: Path, items: list[Item], *, noise: bool = True, status: str = "complete",
              volume_per_day: float | None = None, repeats: int = 1) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pricer = Pricer(CATALOG, [PRIMARY, CANDIDATE])
    records = []
    for k, item in enumerate(items):
        request = {"contents": [{"role": "user", "parts": [{"text": item.prompt}]}]}
        records.append({"id": item.id, "slice": item.slice, "tags": [], "expected": item.expected,
                        "compare": item.compare, "request": request, "request_hash": request_hash(request),
                        "line": k + 1})
    store.write_prompts(folder, records)
    arms = {"primary": {"model": PRIMARY, "backend": "gemini"}, "candidate": {"model": CANDIDATE, "backend": "gemini"}}
    if noise:
        arms["noise"] = {"model": PRIMARY, "backend": "gemini"}
    manifest = store.new_manifest(status=status, dataset={"path": "synthetic.jsonl", "sha256": "0" * 64,
                                                          "items": len(items)},
                                  arms=arms, repeats=repeats, noise_floor=noise, noise_sample=1.0, seed=1,
                                  settings={"volume_per_day": volume_per_day}, pricing=pricer.snapshot(), runs=[])
    store.write_manifest(folder, manifest)
    with store.CallLog.for_run(folder) as log:
        for record, item in zip(records, items):
            for arm, answers in item.answers.items():
                if arm == "noise" and not noise:
                    continue
                model = PRIMARY if arm in ("primary", "noise") else CANDIDATE
                for repeat, a in enumerate(answers if isinstance(answers, list) else [answers]):
                    log.append(call_record(item.id, arm, repeat, model, record["request_hash"], a, pricer))
    return folder


def call_record(pid: str, arm: str, repeat: int, model: str, rhash: str, a: Answer, pricer: Pricer) -> dict[str, Any]:
    ok = a.status == "ok"
    usage = Usage(prompt=a.prompt_tokens, candidates=a.output_tokens if not a.blocked else 0, thoughts=a.thoughts,
                  total=a.prompt_tokens + a.output_tokens + a.thoughts)
    return {
        "prompt_id": pid, "arm": arm, "repeat": repeat, "model": model, "backend": "gemini", "request_hash": rhash,
        "order": 0, "started_at": "2026-11-23T00:00:00.000Z", "latency_ms": a.latency_ms if ok else None,
        "ttft_ms": None, "total_ms": a.latency_ms, "attempts": 1, "status": a.status,
        "error": None if ok else {"kind": "http", "http_status": 503, "message": "HTTP 503 UNAVAILABLE"},
        "response": {"text": a.text, "finish_reason": a.finish_reason, "blocked": a.blocked,
                     "block_reason": "SAFETY" if a.blocked else None, "tool_calls": a.tool_calls,
                     "raw": {}} if ok else None,
        "usage": usage.as_dict() if ok else None,
        "cost_usd": pricer.cost(model, usage) if ok else 0.0, "cost_error": None,
    }  # fmt: skip


LABELS = ("billing", "technical", "account", "shipping", "other")


def label_run(folder: Path, n: int, *, flip: float = 0.0, noise_flip: float = 0.0, slices: int = 4, seed: int = 7,
              noise: bool = True) -> Path:
    """n classification prompts; the candidate gives a different label on a `flip` share of them, the
    second Pro call on a `noise_flip` share (chosen independently, deterministic for a seed)."""
    rng = random.Random(seed)
    flips = set(rng.sample(range(n), round(n * flip)))
    noisy = set(random.Random(seed + 1).sample(range(n), round(n * noise_flip)))
    items = []
    for i in range(n):
        label = LABELS[i % len(LABELS)]
        other = LABELS[(i + 1) % len(LABELS)]
        items.append(Item(
            id=f"p{i:04d}", slice=f"slice-{i % slices}", compare="label", expected=label,
            answers={"primary": Answer(label, latency_ms=2000 + 7 * (i % 50), thoughts=300, output_tokens=2),
                     "noise": Answer(other if i in noisy else label, latency_ms=2100 + 5 * (i % 40), thoughts=280,
                                     output_tokens=2),
                     "candidate": Answer(other if i in flips else label, latency_ms=300 + 3 * (i % 30), output_tokens=2)},
        ))  # fmt: skip
    return write_run(folder, items, noise=noise)


def json_run(folder: Path, n: int, *, pro_noisy_field: bool, candidate_field_differs: bool, seed: int = 3) -> Path:
    """JSON extraction prompts. Pro disagrees with itself on `confidence` (if pro_noisy_field) and the
    candidate differs from Pro on `confidence` (if candidate_field_differs); every other field agrees."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        base = {"order_id": f"A-{i}", "total": round(10 + i * 1.25, 2), "currency": "EUR",
                "confidence": round(rng.uniform(0.5, 1.0), 2)}
        noise_obj = dict(base, confidence=round(base["confidence"] - 0.07, 2)) if pro_noisy_field else base
        cand_obj = dict(base, confidence=round(base["confidence"] - 0.11, 2)) if candidate_field_differs else base
        items.append(Item(
            id=f"j{i:04d}", slice=f"slice-{i % 2}", compare={"kind": "json"}, expected=base,
            answers={"primary": Answer(json.dumps(base), latency_ms=2500, thoughts=400, output_tokens=30),
                     "noise": Answer(json.dumps(noise_obj), latency_ms=2600, thoughts=420, output_tokens=30),
                     "candidate": Answer(json.dumps(cand_obj), latency_ms=400, output_tokens=30)},
        ))  # fmt: skip
    return write_run(folder, items)
