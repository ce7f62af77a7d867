"""Workflow benchmark: the result cache and the pre-commit hook, on the engine benchmark's large tree.

(a) Cache: `flm fix --diff -j 2 src` on the tree bench/codemod_bench.py builds (5,000 files), cold
    (empty cache) and warm (a second run over the unchanged tree). Goal: warm at least 5x faster.
    Cold is the median of --repeat runs, each after deleting .flm_cache/; warm the median of
    --repeat runs after one warming run. Each run is a fresh process (wall time).
(b) pre-commit: the tree is a git repository; a commit touches 5 files (3 Gemini modules, 2 plain
    ones, edited and staged). Timed: the hook's command exactly as pre-commit runs it
    (`flm check --diff <the 5 files>`, a fresh process; the cache is warm from (a) but these 5
    files changed), and - with the real pre-commit - `pre-commit run flm-check --files ...`, whose
    own `duration` line is the hook's tool time. Goal: under 1 second of tool time.

    python bench/workflow_bench.py [--files 5000] [--repeat 5] [--keep DIR] [--no-pre-commit]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from codemod_bench import build_tree  # noqa: E402

FLM = [sys.executable, "-m", "migrate"]
ENV = {**os.environ, "NO_COLOR": "1"}
ENV.pop("FLM_CACHE_DIR", None)


def wall(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.email=b@b", "-c", "user.name=bench", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"git {' '.join(args)}: {done.stderr}")
    return done.stdout


def cache_bench(root: Path, jobs: int, repeat: int) -> tuple[float, float]:
    command = [*FLM, "fix", "--diff", "-j", str(jobs), "src"]
    cold = []
    for _ in range(repeat):
        shutil.rmtree(root / ".flm_cache", ignore_errors=True)
        cold.append(wall(command, root))
    wall(command, root)  # warm it
    warm = [wall(command, root) for _ in range(repeat)]
    return statistics.median(cold), statistics.median(warm)


def touch_five(root: Path, edit: int) -> list[str]:
    """Edit and stage 3 Gemini modules and 2 plain ones: new content each time, so nothing is cached."""
    gemini = sorted((root / "src" / "gemini").glob("*.py"))[:3]
    plain = sorted((root / "src" / "pkg00").glob("*.py"))[:2]
    for path in [*gemini, *plain]:
        path.write_text(path.read_text() + f"\n# edit {edit} for the commit\n")
    names = [p.relative_to(root).as_posix() for p in [*gemini, *plain]]
    git(root, "add", *names)
    return names


def hook_repo(tmp: Path) -> tuple[Path, str]:
    source = tmp / "flm-hooks"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(REPO / name, source / name)
    for folder in ("migrate", "rules"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    git(source, "init", "-q")
    git(source, "add", "-A")
    git(source, "commit", "-qm", "hooks")
    return source, git(source, "rev-parse", "HEAD").strip()


def pre_commit_bench(root: Path, repeat: int, tmp: Path) -> list[float] | None:
    pre_commit = Path(sys.executable).parent / "pre-commit"
    if not pre_commit.exists():
        return None
    source, rev = hook_repo(tmp)
    (root / ".pre-commit-config.yaml").write_text(f"repos:\n  - repo: {source}\n    rev: {rev}\n    hooks:\n      - id: flm-check\n")
    env = {**ENV, "PRE_COMMIT_HOME": str(tmp / "pre-commit-home")}
    base = [str(pre_commit), "run", "flm-check", "--verbose", "--files"]
    subprocess.run([*base, "README.md"], cwd=root, env=env, capture_output=True, text=True)  # builds the hook's venv once
    durations = []
    for edit in range(repeat):
        names = touch_five(root, 100 + edit)
        done = subprocess.run([*base, *names], cwd=root, env=env, capture_output=True, text=True)
        match = re.search(r"- duration: ([\d.]+)s", done.stdout)
        if done.returncode not in (0, 1) or not match:
            print(f"pre-commit run did not report a duration:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
            return None
        durations.append(float(match.group(1)))
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--gemini-share", type=float, default=0.03)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the tree here (or reuse it) and keep it")
    parser.add_argument("--no-pre-commit", action="store_true", help="skip the run through the real pre-commit")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="flm-workflow-"))
    root = args.keep or tmp / "tree"
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "src").exists():
        build_tree(root, args.files, args.gemini_share)
    if not (root / ".git").exists():
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "tree")
    else:
        git(root, "reset", "-q", "--hard")
    files = len(list((root / "src").rglob("*.py")))
    print(f"tree: {files} files in a git repository")

    cold, warm = cache_bench(root, args.jobs, args.repeat)
    print(f"(a) flm fix --diff -j {args.jobs} src: cold cache {cold:.2f}s, warm cache {warm:.2f}s (medians of {args.repeat})")
    print(f"    ratio cold/warm = {cold / warm:.1f}x (goal >= 5x)")

    runs = []
    for edit in range(args.repeat):
        names = touch_five(root, edit)
        runs.append(wall([*FLM, "check", "--diff", *names], root))
    print(f"(b) hook command on a commit touching 5 files (`flm check --diff <5 files>`, 5 fresh edits each run): "
          f"median {statistics.median(runs):.2f}s, max {max(runs):.2f}s (goal < 1s)")  # fmt: skip
    if not args.no_pre_commit:
        durations = pre_commit_bench(root, args.repeat, tmp)
        if durations:
            print(f"    through the real pre-commit (`pre-commit run flm-check --files ...`, the hook duration it reports): "
                  f"median {statistics.median(durations):.2f}s, max {max(durations):.2f}s")  # fmt: skip
    git(root, "reset", "-q", "--hard")
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        (root / ".pre-commit-config.yaml").unlink(missing_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
