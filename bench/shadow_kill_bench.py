"""Kill test: a 600-call shadow run killed with SIGKILL five times, each followed by --resume.

    .venv/bin/python bench/shadow_kill_bench.py            # 300 prompts x 2 arms, 5 kills (~30 s)
    .venv/bin/python bench/shadow_kill_bench.py --kills 8 --seed 4

The fake server (in this process) counts every request it receives. With no faults injected each
of the 600 calls needs exactly one request, so every request beyond 600 was a duplicate: a call
the killed process had on the wire (the server answered it, maybe billed it) whose answer was never
recorded, and which the resume sent again. Printed: that duplicate count and the run's own
`possibly_billed_calls` (from the write-ahead ledger): the ledger must account for every duplicate
(equal, or larger only by attempts killed between their ledger line and the socket).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fake_gemini import FakeGemini  # noqa: E402
from migrate.shadow import store  # noqa: E402

PRIMARY = "gemini-2.5-pro"


def _records(folder: Path) -> int:
    try:
        return (folder / store.CALLS).read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=300)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    from migrate.catalog import bundled_catalog

    candidate = bundled_catalog().default_target
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
    env.update(GEMINI_API_KEY="bench-key", PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp, FakeGemini(latency={PRIMARY: 250, candidate: 120}) as srv:
        dataset = Path(tmp) / "prompts.jsonl"
        dataset.write_text("".join(json.dumps({"id": f"p{i:04d}", "prompt": f"question {i}"}) + "\n"
                                   for i in range(args.prompts)))
        folder = Path(tmp) / "run"
        first = ["run", str(dataset), "--out", str(folder), "--primary", PRIMARY, "--candidate", candidate,
                 "--base-url", srv.url, "--concurrency", "16", "-q"]
        again = ["run", "--resume", str(folder), "-q"]
        expected = 2 * args.prompts
        kills = 0
        for k in range(args.kills):
            proc = subprocess.Popen([sys.executable, "-m", "migrate", "shadow", *(first if k == 0 else again)],
                                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            target = _records(folder) + rng.randint(20, 80)  # kill after a random number of new answers
            while proc.poll() is None and _records(folder) < target:
                time.sleep(0.01)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
            time.sleep(0.4)  # the killed process's last requests reach the server
        done = subprocess.run([sys.executable, "-m", "migrate", "shadow", *again], cwd=ROOT, env=env, check=False,
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
        received = len(srv.requests_for(verb="generateContent"))
        recorded = len({(r["prompt_id"], r["arm"], r["repeat"]) for r in store.iter_call_dicts(folder)})
        exposure = store.billing_exposure(folder)
        duplicates = received - expected
        print(f"{args.prompts} prompts x 2 arms = {expected} calls; {kills} SIGKILLs, each followed by --resume")
        print(f"  calls recorded             {recorded}")
        print(f"  requests the server got    {received}")
        print(f"  duplicates (sent twice)    {duplicates}")
        print(f"  possibly_billed_calls      {exposure['possibly_billed_calls']}  "
              f"(worst case ${exposure['possibly_billed_usd']:.4f})")
        print(f"  ledger - duplicates        {exposure['possibly_billed_calls'] - duplicates}")
        ok = recorded == expected and exposure["possibly_billed_calls"] >= duplicates
        print("  OK" if ok else "  MISMATCH")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
