"""Corpus runner: `flm fix` over a copy of real code, every legacy-SDK file classified (issue 10).

    python bench/corpus.py CORPUS_DIR [--name NAME] [--json OUT] [--keep WORKDIR] [-- extra flm fix args]

Copies CORPUS_DIR to a work folder (the corpus itself is never modified), runs
`<this interpreter> -m migrate fix . --format json --no-cache` there as a user would (PYTHONPATH picks
which tree of the tool is measured), then puts each .py / .ipynb file that references a legacy SDK in
one class (see `corpus_classify.classify`):

  fully_ported  no legacy reference left, file changed, not broken
  todo          legacy references remain, no google-genai code added, a TODO(flm ...) or port finding names a blocker
  half_ported   legacy references remain and google-genai code was added
  untouched     legacy references remain, no blocker named (file unchanged, or changed outside the port)
  broken        output does not parse, has new undefined names (pyflakes), uses a google.genai name the
                installed SDK lacks, or flm refused/errored on the file (also counted as `refused`)

Prints a table per kind, the top blockers and the top legacy APIs left in files not fully ported;
--json writes every file's class and reasons. Nothing in the corpus is executed, except with --wire:
then each changed standalone .py runs before and after with the real SDKs against tests/fake_gemini.py
(loopback only; see corpus_wire.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus_classify as cc  # noqa: E402
import corpus_wire  # noqa: E402

# Resolves dotted google.genai names in a child process (the SDK is imported, the corpus never runs).
_RESOLVE = r"""
import importlib, json, sys
missing = []
for name in json.load(sys.stdin):
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
            break
        except ImportError:
            continue
    else:
        missing.append(name)
        continue
    for attr in parts[i:]:
        if hasattr(obj, attr):
            obj = getattr(obj, attr)
            if isinstance(obj, property) or callable(obj) and not isinstance(obj, type):
                break  # what follows is an attribute of what the property or method returns
            continue
        fields = getattr(obj, "model_fields", None)
        if not (isinstance(fields, dict) and attr in fields):
            missing.append(name)
        break  # a pydantic field: what follows is an attribute of its value
json.dump(missing, sys.stdout)
"""


def tool_root() -> Path | None:
    """The checkout of the measured `migrate` (found on sys.path, not imported)."""
    spec = importlib.util.find_spec("migrate")
    return Path(spec.origin).resolve().parents[1] if spec and spec.origin else None


def _rules_file(name: str) -> dict:
    root = tool_root()
    path = root / "rules" / name if root else None
    return (yaml.safe_load(path.read_text()) or {}) if path and path.is_file() else {}


def legacy_prefixes() -> tuple[str, ...]:
    """The runner's legacy list plus `legacy_modules` of the measured tree's rules/port.yaml."""
    extra = [m for modules in (_rules_file("port.yaml").get("legacy_modules") or {}).values() for m in modules]
    return tuple(dict.fromkeys([*cc.LEGACY_PREFIXES, *extra]))


def refused_rules() -> set[str]:
    """IDs of the measured tree's rules that report a port refused by verification (name `*-refused`)."""
    return {r["id"] for r in _rules_file("rules.yaml").get("rules", []) if str(r.get("name", "")).endswith("-refused")}


def tool_state() -> dict:
    root = tool_root()
    if root is None:
        return {}
    def git(*args: str) -> str:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else ""
    return {"path": str(root), "commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def missing_genai_names(names: set[str]) -> set[str]:
    if not names:
        return set()
    proc = subprocess.run([sys.executable, "-c", _RESOLVE], input=json.dumps(sorted(names)), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"cannot check google.genai names: {proc.stderr.strip().splitlines()[-1:]}")
    return set(json.loads(proc.stdout))


def source_of(raw: bytes, notebook: bool) -> tuple[str | None, list[str], str]:
    """(code, legacy pip lines, problem); code is None when the file cannot be read as code."""
    try:
        if notebook:
            code, pip = cc.notebook_source(raw)
            return code, pip, ""
        return raw.decode("utf-8"), [], ""
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError) as exc:
        return None, [], f"{type(exc).__name__}: {exc}"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_flm(work: Path, extra: list[str]) -> tuple[dict, float, float]:
    """flm's JSON report, its wall time and its CPU time (all its processes)."""
    report = work.parent / (work.name + ".flm.json")
    cmd = [sys.executable, "-m", "migrate", "fix", ".", "--format", "json", "--no-cache", "-o", str(report), *extra]
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if not report.is_file():
        raise RuntimeError(f"flm fix wrote no report (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
    data = json.loads(report.read_text())
    report.unlink()
    return data, seconds, cpu


def _key(path: str) -> str:
    return os.path.normpath(path)


SKIP_DIRS = {"site-packages", "node_modules", "__pycache__"}  # besides hidden folders (.git, .venv, ...)


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.suffix in (".py", ".ipynb") and p.is_file()
                  and not any(part.startswith(".") or part in SKIP_DIRS for part in p.relative_to(corpus).parts[:-1]))


def classify_corpus(corpus: Path, work: Path, flm: dict, prefixes: tuple[str, ...],
                    refusing: set[str] = frozenset()) -> tuple[list[dict], list[dict]]:
    """(one record per legacy file, legacy files whose original does not parse)."""
    findings: dict[str, list[dict]] = {}
    for f in flm.get("findings", []):
        findings.setdefault(_key(f["file"]), []).append(f)
    status = {_key(s["file"]): (s.get("status", ""), s.get("reason") or "") for s in flm.get("skipped", [])}
    pending, unparsed = [], []
    for path in corpus_files(corpus):
        rel = str(path.relative_to(corpus))
        notebook = path.suffix == ".ipynb"
        raw_before = path.read_bytes()
        code_before, pip_before, problem = source_of(raw_before, notebook)
        if code_before is None:
            continue
        before = cc.facts(code_before, prefixes)
        if not before.parsed and any(p in code_before for p in prefixes):
            unparsed.append({"file": rel, "error": before.error})
        if not before.legacy:
            continue
        out_path = work / rel
        raw_after = out_path.read_bytes() if out_path.is_file() else b""
        code_after, pip_after, problem = source_of(raw_after, notebook)
        after = cc.facts(code_after, prefixes) if code_after is not None else cc.Facts(parsed=False, error=problem or "output missing")
        pending.append((rel, notebook, before, after, raw_before != raw_after, pip_before, pip_after))
    missing = missing_genai_names({name for item in pending for name in item[3].genai})
    records = []
    for rel, notebook, before, after, changed, pip_before, pip_after in pending:
        flm_status, flm_reason = status.get(_key(rel), ("", ""))
        klass, reasons = cc.classify(before, after, changed, findings.get(_key(rel), []), flm_status, flm_reason, missing, refusing)
        if notebook:
            reasons["pip_legacy_left"] = [line for line in pip_after if line in pip_before]
        records.append({"file": rel, "kind": "ipynb" if notebook else "py", "class": klass, **reasons})
    return records, unparsed


# --- report -------------------------------------------------------------------------------------------

def table(records: list[dict]) -> str:
    head = ["kind", "files", *cc.CLASSES, "refused"]
    rows = []
    for kind in ("py", "ipynb"):
        mine = [r for r in records if r["kind"] == kind]
        counts = Counter(r["class"] for r in mine)
        rows.append([kind, str(len(mine)), *(str(counts[c]) for c in cc.CLASSES), str(sum(bool(r.get("refused")) for r in mine))])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = lambda cells: "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def _api(name: str) -> str:
    """Qualified name without a trailing enum member (`...HarmCategory.HARM_CATEGORY_X` -> `...HarmCategory`)."""
    parts = name.split(".")
    while len(parts) > 2 and parts[-1].isupper() and len(parts[-1]) > 1:
        parts.pop()
    return ".".join(parts)


def top_blockers(records: list[dict], n: int = 20) -> list[tuple[str, int, int]]:
    """(message, sites, files): blocker findings of flm's report, or a file's TODO markers when it named none."""
    sites: Counter[str] = Counter()
    files: Counter[str] = Counter()
    for r in records:
        messages = [f"{f['rule']}: {f['message']}" for f in r["blocker_findings"]] or r["todos"]
        sites.update(messages)
        files.update(set(messages))
    return [(msg, sites[msg], count) for msg, count in files.most_common(n)]


def blocker_rules(records: list[dict]) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for r in records:
        counts.update({f["rule"] for f in r["blocker_findings"]} or {t.split(":", 1)[0] for t in r["todos"]})
    return counts.most_common()


def top_legacy_apis(records: list[dict], n: int = 20) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for r in records:
        if r["class"] != "fully_ported":
            names = set(r["legacy_after"])
            counts.update({_api(n) for n in names if not any(o.startswith(n + ".") for o in names)})
    return counts.most_common(n)


def summary_text(name: str, records: list[dict], meta: dict) -> str:
    pip_nbs = [r for r in records if r.get("pip_legacy_left")]
    tool = meta.get("tool") or {}
    state = f"tool {tool.get('path')} @ {tool.get('commit')}{' + uncommitted changes' if tool.get('dirty') else ''}" if tool else "tool not found"
    out = [f"## {name}", "", state, "",
           f"{meta['files_py']} .py and {meta['files_ipynb']} .ipynb files in the corpus; flm fix {meta['flm_seconds']:.1f}s wall / {meta['flm_cpu_seconds']:.1f}s CPU, "
           f"classification {meta['classify_seconds']:.1f}s, total {meta['total_seconds']:.1f}s", "",
           table(records), "",
           f"legacy files whose original does not parse as Python (not classified): {len(meta['unparsed_legacy'])}", "",
           f"notebooks still installing a legacy SDK with %pip/!pip: {len(pip_nbs)} "
           f"({sum(len(r['pip_legacy_left']) for r in pip_nbs)} lines)", "",
           "Files per blocker rule: " + (", ".join(f"{rule} {n}" for rule, n in blocker_rules(records)) or "none"), "",
           "Top TODO/blocker messages (files, sites):", ""]
    out += [f"- {files} files, {sites} sites: {msg}" for msg, sites, files in top_blockers(records)] or ["- none"]
    wired = Counter((r["class"], r["wire"]["verdict"]) for r in records if "wire" in r)
    if wired:
        out += ["", f"Wire check of changed standalone .py programs, by class ({meta['wire_seconds']:.1f}s): "
                + ", ".join(f"{klass} {verdict} {n}" for (klass, verdict), n in sorted(wired.items()))]
    out += ["", "Top legacy APIs left in files not fully ported (files):", ""]
    out += [f"- {count} `{api}`" for api, count in top_legacy_apis(records)] or ["- none"]
    return "\n".join(out) + "\n"


def run(corpus: Path, name: str, keep: Path | None, extra: list[str], wire: bool = False) -> tuple[list[dict], dict]:
    start = time.perf_counter()
    temp = None
    if keep:
        if keep.exists():
            shutil.rmtree(keep)
        work = keep
    else:
        temp = Path(tempfile.mkdtemp(prefix="flm-corpus-"))
        work = temp / name
    try:
        shutil.copytree(corpus, work, symlinks=True)
        flm, flm_seconds, flm_cpu = run_flm(work, extra)
        t = time.perf_counter()
        records, unparsed = classify_corpus(corpus, work, flm, legacy_prefixes(), refused_rules())
        classify_seconds = time.perf_counter() - t
        wire_seconds = 0.0
        if wire:
            t = time.perf_counter()
            scratch = Path(tempfile.mkdtemp(prefix="flm-corpus-before-")) / name
            try:
                shutil.copytree(corpus, scratch, symlinks=True)
                corpus_wire.wire_check(records, scratch, work, tool_root())
            finally:
                shutil.rmtree(scratch.parent, ignore_errors=True)
            wire_seconds = time.perf_counter() - t
    finally:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
    meta = {
        "name": name, "corpus": str(corpus), "tool": tool_state(), "workdir": str(keep) if keep else None, "flm_args": extra,
        "files_py": sum(p.suffix == ".py" for p in corpus_files(corpus)),
        "files_ipynb": sum(p.suffix == ".ipynb" for p in corpus_files(corpus)),
        "unparsed_legacy": unparsed, "flm_summary": flm.get("summary"), "flm_warnings": flm.get("warnings"),
        "flm_seconds": flm_seconds, "flm_cpu_seconds": flm_cpu, "classify_seconds": classify_seconds, "wire_seconds": wire_seconds, "total_seconds": time.perf_counter() - start,
    }
    return records, meta


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--name", help="label for the report (default: the folder name)")
    parser.add_argument("--json", type=Path, help="write per-file classes and reasons here")
    parser.add_argument("--wire", action="store_true",
                        help="also run each changed standalone .py before and after against the fake Gemini server")
    parser.add_argument("--keep", type=Path, help="port into this folder (replaced) and keep it, to read the diffs")
    args = parser.parse_args(argv)
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        print(f"error: {args.corpus} is not a folder", file=sys.stderr)
        return 2
    if args.keep and (args.keep.resolve() == corpus or corpus in args.keep.resolve().parents):
        print("error: --keep must be outside the corpus", file=sys.stderr)
        return 2
    name = args.name or corpus.name
    try:
        records, meta = run(corpus, name, args.keep.resolve() if args.keep else None, extra, args.wire)
    except (RuntimeError, OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "files": records}, indent=1) + "\n")
    print(summary_text(name, records, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
