"""Shadow runner benchmark: N prompts x 3 arms (primary, noise, candidate) against the fake server.

    .venv/bin/python bench/shadow_bench.py            # the issue's sizes: ~11 min on 2 cores
    .venv/bin/python bench/shadow_bench.py --quick    # 2k at full latency, memory 2k vs 20k: ~1.5 min

Measures, each run in a fresh child process (the fake server runs in its own process):

* wall / ideal, where ideal = sum of the injected latencies / concurrency (the best any scheduler
  can do with that many calls in flight); target <= 1.15;
* runner CPU per call (user + system CPU of the child during the run, dataset read included, imports
  excluded); target < 1 ms;
* peak RSS (ru_maxrss of the child) at a small and a 10x larger dataset; target: growth <= 20%.

The latency of the memory runs can be scaled down (--mem-latency-scale) to keep the 100k run short:
memory does not depend on the latency, the queue is bounded either way. At scale 0.2 the fake
server (one Python process) is the bottleneck, so those runs are slower than their "ideal".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRIMARY = "gemini-2.5-pro"


def candidate_model() -> str:
    from migrate.catalog import bundled_catalog

    return bundled_catalog().default_target


def write_dataset(path: Path, n: int) -> None:
    labels = ("billing", "technical", "account", "shipping", "other")
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({
                "id": f"p{i:06d}", "slice": labels[i % 5], "expected": labels[(i * 7) % 5], "compare": "label",
                "system": "Classify the customer message into one label: billing, technical, account, shipping, other.",
                "prompt": f"Ticket {i}: my order {100000 + i} was charged twice and the tracking page shows nothing.",
                "generationConfig": {"temperature": 0, "maxOutputTokens": 256},
            }) + "\n")


def start_server(latency_ms: dict[str, float]) -> tuple[subprocess.Popen, str]:
    args = [sys.executable, str(ROOT / "tests" / "fake_gemini.py"), "--port", "0", "--no-record"]
    for model, ms in latency_ms.items():
        args += ["--latency", f"{model}={ms:g}"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"fake server did not start: {url!r}")
    return proc, url


def child(args: argparse.Namespace) -> None:
    """Runs inside a fresh process: one shadow run, then a JSON line of measurements."""
    from migrate.shadow.session import RunOptions, start

    opts = RunOptions(dataset=Path(args.dataset), out=Path(args.out), primary=PRIMARY, candidate=args.candidate,
                      noise_floor=True, concurrency=args.concurrency, base_url=args.url, timeout=60,
                      env={"GEMINI_API_KEY": "bench-key"})
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = start(opts)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"status": result.status, "calls": result.stats.done, "errors": result.stats.errors,
                      "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak_kb / 1024}))


def measure(n: int, scale: float, concurrency: int, work: Path) -> dict:
    cand = candidate_model()
    lat = {PRIMARY: 250 * scale, cand: 80 * scale}
    dataset = work / f"ds-{n}.jsonl"
    if not dataset.exists():
        write_dataset(dataset, n)
    out = work / f"run-{n}-{scale:g}-{time.time_ns()}"
    server, url = start_server(lat)
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", "--dataset", str(dataset), "--out", str(out),
                               "--url", url, "--concurrency", str(concurrency), "--candidate", cand],
                              capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    finally:
        server.terminate()
        server.wait(10)
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stderr[-3000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["ideal_s"] = n * (2 * lat[PRIMARY] + lat[cand]) / 1000.0 / concurrency
    data["prompts"], data["scale"] = n, scale
    return data


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--dataset"), p.add_argument("--out"), p.add_argument("--url"), p.add_argument("--candidate")
    p.add_argument("--prompts", type=int, default=10_000, help="prompts for the wall/CPU run (x3 arms)")
    p.add_argument("--latency-scale", type=float, default=1.0, help="multiply 250/80 ms for the wall/CPU run")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--mem-prompts", type=int, nargs=2, default=[10_000, 100_000], metavar=("SMALL", "LARGE"))
    p.add_argument("--mem-latency-scale", type=float, default=0.2, help="latency scale for the memory runs")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--quick", action="store_true", help="--prompts 2000 --mem-prompts 2000 20000")
    args = p.parse_args()
    if args.quick:
        args.prompts, args.mem_prompts = 2000, [2000, 20000]
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="shadow-bench-") as tmp:
        work = Path(tmp)
        print(f"shadow bench on {os.cpu_count()} CPUs, concurrency {args.concurrency}, 3 arms "
              f"(primary 250 ms, noise 250 ms, candidate 80 ms) x latency scale")
        speed = measure(args.prompts, args.latency_scale, args.concurrency, work)
        calls = speed["calls"]
        print(f"[speed]  {args.prompts:,} prompts, {calls:,} calls, scale {args.latency_scale:g}: "
              f"wall {speed['wall_s']:.1f}s, ideal {speed['ideal_s']:.1f}s, "
              f"wall/ideal {speed['wall_s'] / speed['ideal_s']:.3f} (target <= 1.15); "
              f"CPU {speed['cpu_s'] * 1000 / calls:.3f} ms/call (target < 1); errors {speed['errors']}")
        if args.skip_memory:
            return
        small_n, large_n = args.mem_prompts
        small = speed if (small_n == args.prompts and args.mem_latency_scale == args.latency_scale) else \
            measure(small_n, args.mem_latency_scale, args.concurrency, work)
        large = measure(large_n, args.mem_latency_scale, args.concurrency, work)
        for row in (small, large):
            print(f"[memory] {row['prompts']:,} prompts ({row['calls']:,} calls, scale {row['scale']:g}): peak RSS "
                  f"{row['peak_rss_mb']:.1f} MB, wall {row['wall_s']:.1f}s (ideal {row['ideal_s']:.1f}s), "
                  f"CPU {row['cpu_s'] * 1000 / row['calls']:.3f} ms/call")
        growth = large["peak_rss_mb"] / small["peak_rss_mb"] - 1.0
        print(f"[memory] peak RSS growth {small_n:,} -> {large_n:,} prompts: {growth * 100:+.1f}% (target <= +20%)")


if __name__ == "__main__":
    main()
