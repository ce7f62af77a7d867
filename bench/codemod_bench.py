"""Engine benchmark: `flm fix --diff` on a large realistic tree, against two baselines in the same run.

(a) LibCST's own codemod runner (`python -m libcst.tool codemod noop.NOOPCommand`, same -j) over the
    whole tree: goal, flm at least 10x faster;
(b) a parse-only LibCST pass over just the files flm's prefilter selects (one process, the floor any
    LibCST tool pays): goal, flm's per-file work at most 2x that;
(c) passes per candidate file against that floor of one LibCST parse: LibCST parses, CPython parses,
    pyflakes runs and LibCST code generations (goal: one LibCST parse; the rest only where needed).
Peak memory (max RSS of each child) is printed too.

The tree: real Python sources copied from this interpreter's site-packages (the Gemini SDKs
themselves left out), topped up with generated Gemini-using modules to ~3% of the files.

    python bench/codemod_bench.py [--files 5000] [--gemini-share 0.03] [-j 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SKIP_PACKAGES = ("google/genai", "google/generativeai", "vertexai", "google/cloud/aiplatform", "google/ai/generativelanguage")

GEMINI_TEMPLATES = [
    'from google import genai\n\nclient = genai.Client()\nMODEL = "gemini-2.5-pro"\n\n\ndef run_{i}(text):\n'
    '    return client.models.generate_content(model=MODEL, contents=text).text\n',
    'import google.generativeai as genai\n\n\nclass Job{i}:\n    def __init__(self):\n'
    '        self.model = genai.GenerativeModel("gemini-1.5-pro", generation_config={{"temperature": 0.2}})\n\n'
    '    def go(self, prompt):\n        return self.model.generate_content(prompt).text\n',
    'import vertexai\nfrom vertexai.generative_models import GenerativeModel\n\nvertexai.init(project="p{i}", location="us-central1")\n'
    'model = GenerativeModel("gemini-1.0-pro-002")\n\n\ndef ask(q):\n    return model.generate_content(q).text\n',
    'import os\nfrom google import genai\n\n\ndef answer_{i}(client: genai.Client, q: str, model: str = os.getenv("M", "gemini-2.5-pro")):\n'
    '    return client.models.generate_content(model=model, contents=q)\n',
]


def build_tree(root: Path, files: int, share: float, seed: int = 7) -> int:
    """Copy real modules and add generated Gemini modules; returns how many Gemini modules were written."""
    site = Path(sysconfig.get_paths()["purelib"])
    sources = sorted(p for p in site.rglob("*.py") if not any(s in p.as_posix() for s in SKIP_PACKAGES) and p.stat().st_size < 400_000)
    rng = random.Random(seed)
    rng.shuffle(sources)
    gemini = max(1, round(files * share))
    plain = files - gemini
    if len(sources) < plain:
        sources = (sources * (plain // len(sources) + 1))[:plain]
    for index, source in enumerate(sources[:plain]):
        target = root / "src" / f"pkg{index % 97:02}" / f"m{index:05}_{source.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    for index in range(gemini):
        target = root / "src" / "gemini" / f"g{index:04}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(GEMINI_TEMPLATES[index % len(GEMINI_TEMPLATES)].format(i=index))
    return gemini


def timed(command: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and the child's peak RSS in MiB (a fresh process per measurement)."""
    wrapper = [sys.executable, "-c", _RSS_WRAPPER, *command]
    started = time.perf_counter()
    done = subprocess.run(wrapper, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    rss = float(done.stderr.strip().splitlines()[-1]) if done.stderr.strip() else float("nan")
    return wall, rss, done


_RSS_WRAPPER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, file=sys.stderr)
sys.exit(0 if done.returncode in (0, 1) else done.returncode)
"""


def parse_floor(paths: list[Path]) -> float:
    import libcst

    started = time.perf_counter()
    for path in paths:
        try:
            libcst.parse_module(path.read_bytes())
        except Exception:  # noqa: BLE001 - a file LibCST rejects costs what it costs
            pass
    return time.perf_counter() - started


def ours_in_process(paths: list[Path]) -> float:
    from migrate.codemod.engine import migrate_source
    from migrate.settings import Settings

    settings = Settings()
    migrate_source(b"import vertexai\n", settings)  # load the catalogue outside the timing
    started = time.perf_counter()
    for path in paths:
        migrate_source(path.read_bytes(), settings, path=path)
    return time.perf_counter() - started


def passes_per_file(paths: list[Path]) -> dict[str, float]:
    """Count the expensive passes flm makes over each candidate (counted by wrapping them; run last)."""
    import builtins

    import libcst
    from pyflakes import checker

    from migrate.codemod import engine
    from migrate.settings import Settings

    counts = dict.fromkeys(("LibCST parses", "CPython parses", "pyflakes runs", "code generations"), 0)

    def counted(key, function, only=lambda *a, **k: True):
        def wrapper(*args, **kwargs):
            counts[key] += only(*args, **kwargs)
            return function(*args, **kwargs)

        return wrapper

    settings = Settings()
    engine.migrate_source(b"import vertexai\n", settings)
    saved = (libcst.parse_module, builtins.compile, checker.Checker.__init__, libcst.Module._codegen_impl)
    exec_mode = lambda source, filename, mode, *a, **k: mode == "exec"  # noqa: E731 - literal_eval is not a parse of the file
    libcst.parse_module = counted("LibCST parses", saved[0])
    builtins.compile = counted("CPython parses", saved[1], exec_mode)
    checker.Checker.__init__ = counted("pyflakes runs", saved[2])
    libcst.Module._codegen_impl = counted("code generations", saved[3])
    try:
        for path in paths:
            engine.migrate_source(path.read_bytes(), settings, path=path)
    finally:
        libcst.parse_module = saved[0]
        builtins.compile, checker.Checker.__init__, libcst.Module._codegen_impl = saved[1:]
    return {key: count / max(len(paths), 1) for key, count in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--gemini-share", type=float, default=0.03)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="build the tree here and keep it")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="flm-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "src").exists():
        gemini = build_tree(root, args.files, args.gemini_share)
    else:
        gemini = len(list((root / "src" / "gemini").glob("*.py")))
    all_files = sorted((root / "src").rglob("*.py"))
    print(f"tree: {len(all_files)} .py files ({gemini} generated Gemini modules), {sum(p.stat().st_size for p in all_files) / 1e6:.1f} MB")

    from migrate.codemod.engine import catalog_for, prefilter_pattern
    from migrate.settings import Settings

    pattern = prefilter_pattern(catalog_for(Settings()))
    candidates = [p for p in all_files if pattern.search(p.read_bytes())]
    print(f"prefilter: {len(candidates)} candidates of {len(all_files)} files ({len(candidates) / len(all_files):.1%})")

    flm = [sys.executable, "-m", "migrate", "fix", "--diff", "--no-cache", "-j", str(args.jobs), "src"]  # the engine, not the cache
    ours_wall, ours_rss, done = timed(flm, root)
    if done.returncode != 0:
        sys.exit(f"flm failed: {done.stderr[-2000:]}")
    # The command name must come before the options: `codemod -j 2 ...` takes "2" for the command.
    libcst_cmd = [sys.executable, "-m", "libcst.tool", "codemod", "noop.NOOPCommand", "--no-format", "--hide-progress",
                  "--include-generated", "-j", str(args.jobs), "src"]  # fmt: skip
    libcst_wall, libcst_rss, _ = timed(libcst_cmd, root)
    print(f"(a) flm fix --diff -j {args.jobs}: {ours_wall:.2f}s, peak RSS {ours_rss:.0f} MiB")
    print(f"    libcst.tool codemod NOOP -j {args.jobs}: {libcst_wall:.2f}s, peak RSS {libcst_rss:.0f} MiB")
    print(f"    ratio libcst/flm = {libcst_wall / ours_wall:.1f}x faster (goal >= 10x)")

    floor = parse_floor(candidates)
    ours = ours_in_process(candidates)
    print(f"(b) parse-only LibCST over the {len(candidates)} candidates: {floor:.2f}s; flm per-file work over the same: {ours:.2f}s")
    print(f"    ratio flm/parse = {ours / floor:.2f}x (goal <= 2x)")
    passes = passes_per_file(candidates)
    print(f"(c) passes per candidate ({len(candidates)} files), against the floor of 1 LibCST parse: "
          + ", ".join(f"{key} {value:.2f}x" for key, value in passes.items()))
    print(f"peak RSS of this process (parse floor + in-process run): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
