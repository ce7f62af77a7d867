"""Scale of `flm shadow report` / `gate` on a big recorded run, against a plain read of the same store.

    .venv/bin/python bench/shadow_scale_bench.py                 # 1,000,000 calls (333,334 prompts x 3 arms)
    .venv/bin/python bench/shadow_scale_bench.py --calls 100000  # a quick look

Writes a synthetic run folder through the store's own writer (labels, JSON and text prompts in 5
slices, answers with realistic raw responses and usage), then times in fresh child processes:

* baseline: a plain read of the store -- every line of calls.jsonl and prompts.jsonl parsed by
  json.loads, nothing kept;
* `shadow gate RUN`, `shadow report RUN --format json --out FILE` and `shadow summary RUN --format json`.

All three stream the store (store.open_run): memory grows by a few hundred bytes per prompt, not
with the answers, and time linearly with the calls.

Printed for each: wall seconds, ratio to the baseline, peak RSS (ru_maxrss of the child). The
issue's targets: report and gate under 60 s and under 500 MB at 1,000,000 calls.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
mode, folder = sys.argv[1], sys.argv[2]
if mode == "baseline":
    for name in ("prompts.jsonl", "calls.jsonl"):
        with open(f"{folder}/{name}", "rb") as fh:
            for line in fh:
                json.loads(line)
    code = 0
else:
    from migrate.cli import main
    args = {"gate": ["shadow", "gate", folder, "-q"],
            "report": ["shadow", "report", folder, "--format", "json", "--out", sys.argv[3]],
            "summary": ["shadow", "summary", folder, "--format", "json"]}[mode]
    sys.argv = ["flm", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"seconds": time.perf_counter() - t0, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "code": code}))
"""


def write_run(folder: Path, calls: int, seed: int) -> int:
    from migrate.catalog import bundled_catalog
    from migrate.shadow import store
    from migrate.shadow.cost import Pricer, Usage
    from migrate.shadow.dataset import request_hash

    catalog = bundled_catalog()
    primary, candidate = "gemini-2.5-pro", catalog.default_target
    pricer = Pricer(catalog, [primary, candidate])
    rng = random.Random(seed)
    prompts = -(-calls // 3)
    folder.mkdir(parents=True)
    kinds = ("label", "json", "rouge_l")
    labels = ("billing", "technical", "account", "shipping", "other")

    def prompt(i: int) -> dict:
        request = {"contents": [{"role": "user", "parts": [{"text": f"Ticket {i}: order {100000 + i} was charged twice."}]}],
                   "generationConfig": {"maxOutputTokens": 256}}
        return {"id": f"p{i:07d}", "slice": f"slice-{i % 5}", "tags": [], "expected": None, "compare": kinds[i % 3],
                "request": request, "request_hash": request_hash(request), "line": i + 1}

    store.write_prompts(folder, (prompt(i) for i in range(prompts)))
    manifest = store.new_manifest(status="complete", dataset={"path": "synthetic.jsonl", "sha256": "0" * 64,
                                                              "items": prompts},
                                  arms={"primary": {"model": primary, "backend": "gemini"},
                                        "noise": {"model": primary, "backend": "gemini"},
                                        "candidate": {"model": candidate, "backend": "gemini"}},
                                  repeats=1, noise_floor=True, noise_sample=1.0, seed=1, settings={},
                                  pricing=pricer.snapshot(), runs=[])
    store.write_manifest(folder, manifest)

    def answer(i: int, arm: str) -> str:
        kind = kinds[i % 3]
        flip = rng.random() < (0.08 if arm == "candidate" else 0.06 if arm == "noise" else 0.0)
        if kind == "label":
            return labels[(i + flip) % 5]
        if kind == "json":
            return json.dumps({"order_id": f"A-{i}", "total": 10 + i % 50 + flip, "currency": "EUR"})
        return f"Thanks for writing in about order {100000 + i}. We refunded the duplicate charge{' today' if flip else ''}."

    written = 0
    with store.CallLog.for_run(folder) as log:
        for i in range(prompts):
            for arm in ("primary", "noise", "candidate"):
                if written == calls:
                    break
                model = candidate if arm == "candidate" else primary
                text = answer(i, arm)
                usage = Usage(prompt=40, candidates=12, thoughts=300 if model == primary else 0,
                              total=352 if model == primary else 52)
                raw = {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP",
                                       "index": 0}],
                       "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 12, "totalTokenCount": usage.total},
                       "modelVersion": model, "responseId": f"r{i}{arm}"}
                log.append({
                    "prompt_id": f"p{i:07d}", "arm": arm, "repeat": 0, "model": model, "backend": "gemini",
                    "request_hash": "h", "order": 0, "started_at": "2026-12-03T00:00:00.000Z",
                    "latency_ms": rng.uniform(300, 900) if arm == "candidate" else rng.uniform(2000, 6000),
                    "ttft_ms": None, "total_ms": 1000.0, "attempts": 1, "status": "ok", "error": None,
                    "response": {"text": text, "finish_reason": "STOP", "blocked": False, "block_reason": None,
                                 "tool_calls": [], "raw": raw},
                    "usage": usage.as_dict(), "cost_usd": pricer.cost(model, usage), "cost_error": None,
                    "model_version": model,
                })  # fmt: skip
                written += 1
    return written


def child(mode: str, folder: Path, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(folder), str(out)], capture_output=True, text=True,
                          env=env, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{\"seconds\"")]
    if not lines:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="Write the run folder here and keep it.")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp) / "run"
        if not (folder / "calls.jsonl").exists():
            t0 = time.perf_counter()
            n = write_run(folder, args.calls, args.seed)
            print(f"wrote {n:,} calls in {time.perf_counter() - t0:.1f} s "
                  f"({(folder / 'calls.jsonl').stat().st_size / 1e6:,.0f} MB calls.jsonl)")
        base = child("baseline", folder, Path(tmp) / "x")
        print(f"  plain read of the store    {base['seconds']:6.1f} s   {base['rss_mb']:6.0f} MB")
        for mode in ("gate", "report", "summary"):
            r = child(mode, folder, Path(tmp) / "report.json")
            print(f"  shadow {mode:<7} (exit {r['code']})   {r['seconds']:6.1f} s   {r['rss_mb']:6.0f} MB   "
                  f"ratio to the plain read {r['seconds'] / base['seconds']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
