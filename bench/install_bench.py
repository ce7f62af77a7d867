"""Set-up cost: what `pip install` fetches for README set-up command 1 (`-e .`) and for the `[test]`
extra, against what it installs. Files fetched per package installed above 1 is the resolver trying
releases it then rejects (issue 14). Each resolution runs in a throwaway virtualenv with an empty
pip cache, as on a fresh machine; it needs the package index, so it is a bench and not a test.

    .venv/bin/python bench/install_bench.py
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FETCHED = re.compile(r"^\s*(Downloading|Processing|Using cached) ", re.M)


def resolve(spec: str) -> tuple[int, int, float]:
    """(packages installed, distribution files fetched, seconds) for `pip install -e spec`."""
    with tempfile.TemporaryDirectory() as tmp:
        venv, report = Path(tmp) / "venv", Path(tmp) / "report.json"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        env = {**os.environ, "PIP_CACHE_DIR": str(Path(tmp) / "cache")}
        started = time.perf_counter()
        done = subprocess.run([str(venv / "bin" / "pip"), "install", "--dry-run", "-v", "--report", str(report), "-e", spec],
                              cwd=REPO, env=env, capture_output=True, text=True)  # fmt: skip
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"pip install -e {spec} failed:\n{done.stderr[-2000:]}")
        installed = len(json.loads(report.read_text())["install"])
        return installed, len(FETCHED.findall(done.stdout)), seconds


def main() -> None:
    baseline = None
    for spec in (".", ".[test]"):
        installed, fetched, seconds = resolve(spec)
        per_package = fetched / installed
        baseline = baseline or per_package
        print(f"pip install -e {spec!r:9} {installed:3} packages, {fetched:3} files fetched "
              f"({per_package:.2f} per package, {per_package / baseline:.2f}x set-up command 1), {seconds:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
