"""Wire equivalence for the corpus runner: a ported standalone program against the fake Gemini server.

The original (from a scratch copy of the corpus, so programs that write files never touch it) and the
ported file each run with the real SDKs pointed at `tests/fake_gemini.py` through the measured tree's
`tests/sdk_harness.py` (network other than the loopback blocked, dummy credentials). Verdicts:
`equivalent`, `requests_differ`, `stdout_differs`, `crashes_after`, `not_runnable_before` (the
original fails against the fake: nothing to compare), `timeout`.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def is_program(source: str) -> bool:
    """Runs something when executed: a `__main__` guard or a top-level statement other than definitions."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    quiet = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
    for node in tree.body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            return True
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # docstring
        if not isinstance(node, quiet):
            return True
    return False


_EXCEPTION = re.compile(r"^[\w.]*(Error|Exception|Exit)\b")


def _last_line(text: str) -> str:
    """The last exception line of a traceback (unittest prints a summary after it), else the last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if _EXCEPTION.match(line)]
    return (errors or lines or [""])[-1][:300]


STUBS = Path(__file__).resolve().parent / "corpus_stubs"  # test-only packages the samples import (absl)


def compare(harness, fake, before_path: Path, after_path: Path, timeout: float) -> dict:
    """Model aside (the swap is its own rule), the two runs must print and send the same."""
    env = {"PYTHONPATH": f"{harness.SHIM_DIR}{os.pathsep}{STUBS}"}
    with fake.FakeGemini() as srv:
        before = harness.run_program(before_path, srv, env=env, timeout=timeout)
    with fake.FakeGemini() as srv:
        after = harness.run_program(after_path, srv, env=env, timeout=timeout)
    result = {"requests_before": len(before.requests), "requests_after": len(after.requests)}
    if before.timed_out or after.timed_out:
        return {**result, "verdict": "timeout"}
    if before.returncode != 0:
        return {**result, "verdict": "not_runnable_before", "detail": _last_line(before.stderr)}
    if after.returncode != 0:
        return {**result, "verdict": "crashes_after", "detail": _last_line(after.stderr)}
    if before.stdout != after.stdout:
        return {**result, "verdict": "stdout_differs"}
    try:
        harness.assert_wire_equivalent(before.requests, after.requests, None)
    except AssertionError as exc:
        return {**result, "verdict": "requests_differ", "detail": str(exc)[:1500]}
    return {**result, "verdict": "equivalent"}


def wire_check(records: list[dict], original: Path, ported: Path, tool: Path, timeout: float = 60.0, workers: int = 2) -> None:
    """Adds `wire` to each changed, not broken, standalone .py record; `original` is a scratch copy of the corpus.

    Fully ported programs must behave the same; so must the ones left on the legacy SDK with TODOs (the
    port promises they stay runnable as they were, the model swap aside).
    """
    tests = str(tool / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import fake_gemini
    import sdk_harness

    jobs = []
    for record in records:
        path = original / record["file"]
        if (record["kind"] == "py" and record["changed"] and record["class"] != "broken"
                and is_program(path.read_text(errors="replace"))):
            jobs.append((record, path, ported / record["file"]))

    def one(job):
        record, before, after = job
        record["wire"] = compare(sdk_harness, fake_gemini, before, after, timeout)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, jobs))
