"""Hostile-input benchmark (issue 15 item 1): peak RSS and seconds per MB of one big file.

Two shapes that hit the worst case: call-dense legacy-SDK code (every line a site to port) and a
data literal holding one "gemini-" string (nothing to port, but the prefilter lets it through).
Each size runs in a fresh interpreter through `migrate_source` with the size limit lifted, so the
numbers are the engine's own. Baseline in the same run: CPython's `ast.parse` + `compile` of the
same bytes in the same kind of fresh interpreter. Then the 8 MB case the way a user meets it:
`flm check` with the default size limit, which must skip it, with its reason, in well under a second.

    python bench/hostile_bench.py [--sizes 0.125,0.25,0.5] [--big-mb 8]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

HEADER = 'import google.generativeai as genai\n\nmodel = genai.GenerativeModel("gemini-1.5-pro")\n\n\n'


def call_dense(size: int) -> bytes:
    lines = [HEADER]
    i = 0
    while sum(map(len, lines)) < size:
        lines.append(f'r{i} = model.generate_content("question {i}", generation_config={{"temperature": 0.{i % 10}}})\nprint(r{i}.text)\n')
        i += 1
    return "".join(lines).encode()


def data_literal(size: int) -> bytes:
    rows = ['MODEL = "gemini-1.5-pro"\nTABLE = [\n']
    i = 0
    while sum(map(len, rows)) < size:
        rows.append(f"    ({i}, {i * 7 % 1000}, 'row-{i}', {i / 3:.3f}),\n")
        i += 1
    rows.append("]\n")
    return "".join(rows).encode()


MEASURE = r"""
import json, resource, sys, time
from pathlib import Path
kind, path = sys.argv[1], Path(sys.argv[2])
data = path.read_bytes()
if kind == "flm":
    from migrate.codemod.engine import migrate_source
    from migrate.settings import Settings
    settings = Settings(max_file_size=1 << 40)
    migrate_source(b"import google.generativeai as g\ng.GenerativeModel('gemini-1.5-pro')\n", settings)  # warm the catalogue
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
if kind == "flm":
    status = migrate_source(data, settings, path=path).status
else:
    import ast
    compile(ast.parse(data), str(path), "exec")
    status = "parsed"
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_kb": peak, "before_kb": before, "status": status}))
"""


def measure(kind: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, kind, str(path)], capture_output=True, text=True, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})  # fmt: skip
    if done.returncode != 0:
        return {"seconds": float("nan"), "peak_kb": 0, "before_kb": 0, "status": f"died ({done.returncode}): {done.stderr.strip()[-200:]}"}
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.125,0.25,0.5", help="file sizes in MB")
    parser.add_argument("--big-mb", type=float, default=8.0)
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'shape':<13} {'MB':>6} {'flm s':>8} {'s/MB':>7} {'peak MB':>8} {'+RSS MB/MB':>10} {'ast s':>7} {'ast +MB':>8} {'time x':>7} {'mem x':>7}  status")
        for shape, make in (("call-dense", call_dense), ("data-literal", data_literal)):
            for mb in sizes:
                path = Path(folder) / f"{shape}-{mb}.py"
                path.write_bytes(make(int(mb * 1_048_576)))
                real_mb = path.stat().st_size / 1_048_576
                flm, ast_ = measure("flm", path), measure("ast", path)
                grew, ast_grew = (flm["peak_kb"] - flm["before_kb"]) / 1024, (ast_["peak_kb"] - ast_["before_kb"]) / 1024
                print(f"{shape:<13} {real_mb:>6.2f} {flm['seconds']:>8.2f} {flm['seconds'] / real_mb:>7.1f} {flm['peak_kb'] / 1024:>8.0f} "
                      f"{grew / real_mb:>10.0f} {ast_['seconds']:>7.2f} {ast_grew:>8.0f} {flm['seconds'] / ast_['seconds']:>7.0f} "
                      f"{grew / max(ast_grew, 1):>7.1f}  {flm['status']}")  # fmt: skip
        big = Path(folder) / "big" / "generated.py"
        big.parent.mkdir()
        big.write_bytes(call_dense(int(args.big_mb * 1_048_576)))
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "migrate", "check", "--no-cache", str(big)], capture_output=True, text=True,
                              cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})  # fmt: skip
        wall = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "migrate", "--version"], capture_output=True, cwd=REPO, env={"PYTHONPATH": str(REPO)})
        startup = time.perf_counter() - started
        reason = next((line for line in done.stderr.splitlines() if "too large" in line), "NOT SKIPPED")
        print(f"\n{args.big_mb:.0f} MB call-dense file, `flm check` with the default limit: exit {done.returncode} in {wall:.2f}s "
              f"(interpreter start-up alone {startup:.2f}s, so {wall - startup:.2f}s of work)\n  {reason.strip()}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
