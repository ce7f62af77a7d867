"""Proof suite for the SDK port (issue #3): legacy programs under fixtures/port/, run for real.

Every program is a small, ordinary user program (no test code) written against the legacy
``google-generativeai`` or ``vertexai.generative_models`` SDK. Its header says what must happen::

    # port: wire            migrated automatically; the migrated program (google-genai) must send
                            wire-equivalent requests (model aside, which must be the target) and
                            print exactly the same thing
    # port: flag [FLMxxx]   not ported: the port adds only `# TODO(flm ...)` comments, with at least
                            one finding of tier `manual` (of rule FLMxxx when given). The model-ID
                            swap (FLM0xx, its own family, which works on legacy code too) may still
                            apply: the output is compared with the FLM0-only output, TODOs aside
    # run: no (reason)      never run (PaLM / prediction endpoints the fake server cannot serve)
    # env: NAME=value ...   extra environment for this program; {url} is its fake server's
                            address, an empty value hides the harness default (e.g. a location)
    # server: f1, f2        the fake server answers the first requests with Fault.f1(), Fault.f2()
    # covers: ...           what the program is about

For a wire program: the original runs green on the legacy SDK and reaches the server; migrating it
(all rules, default target) changes it, leaves no legacy SDK import behind, gives a program that
behaves the same on google-genai (``assert_migration_equivalent``), and migrating that output
again changes nothing. Embedding requests keep their (embedding) model.

All programs run in parallel (``run_programs``: one fake server each). SDK start-up dominates.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from fake_gemini import FakeGemini, Fault
from migrate.codemod.engine import migrate_source
from migrate.codemod.findings import FileResult
from migrate.settings import Settings
from sdk_harness import ProgramRun, assert_migration_equivalent, run_programs, wire_diff

pytestmark = pytest.mark.slow  # ~50 legacy programs and their migrations, each in a subprocess

PORT = Path(__file__).resolve().parents[2] / "fixtures" / "port"
TARGET = "gemini-3.1-flash-lite"
SETTINGS = Settings(target=TARGET, as_of=dt.date(2026, 11, 24))  # all rules; the target the fixtures were written for
SWAP_ONLY = Settings(target=TARGET, select=("FLM0",), as_of=dt.date(2026, 11, 24))  # the model-ID swap family alone
EMBED_VERBS = ("embedContent", "batchEmbedContents", "predict")
# Modules a migrated program must no longer import (checked on the import statements).
LEGACY_MODULES = ("google.generativeai", "google.ai.generativelanguage", "vertexai.generative_models",
                  "vertexai.preview")
TODO_COMMENT = re.compile(r"[ \t]*# TODO\(flm [^\n]*$")

# --------------------------------------------------------------------------------------------
# The programs


@dataclass(frozen=True)
class Program:
    path: Path
    kind: str  # "wire" | "flag"
    rule: str | None = None  # the rule a flag program expects, when known
    runs: bool = True
    env: dict[str, str] = field(default_factory=dict)
    faults: tuple[str, ...] = ()
    covers: str = ""

    @property
    def name(self) -> str:
        return self.path.name

    def setup(self) -> Callable[[FakeGemini], None] | None:
        if not self.faults:
            return None
        faults = [getattr(Fault, name)() for name in self.faults]
        return lambda srv: srv.script("*", faults)


def _headers(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#\s*(port|run|env|server|covers):\s*(.*)$", line)
        if not m:
            break
        out[m.group(1)] = m.group(2).strip()
    return out


def load_program(path: Path) -> Program:
    h = _headers(path)
    port = h.get("port", "").split()
    assert port and port[0] in ("wire", "flag"), f"{path.name}: first line must be `# port: wire|flag [RULE]`"
    env = dict(pair.partition("=")[::2] for pair in h.get("env", "").split())
    return Program(
        path=path,
        kind=port[0],
        rule=port[1] if len(port) > 1 else None,
        runs=not h.get("run", "").startswith("no"),
        env=env,
        faults=tuple(f.strip() for f in h.get("server", "").split(",") if f.strip()),
        covers=h.get("covers", ""),
    )


PROGRAMS = [load_program(p) for p in sorted(PORT.glob("*.py")) if not p.name.startswith("_")]
BY_NAME = {p.name: p for p in PROGRAMS}
WIRE = [p.name for p in PROGRAMS if p.kind == "wire"]
FLAG = [p.name for p in PROGRAMS if p.kind == "flag"]
RUNNABLE = [p.name for p in PROGRAMS if p.runs]


def legacy_imports(source: str) -> list[str]:
    """Legacy SDK modules the source still imports, in every import form."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found += [n for n in names if any(n == m or n.startswith(m + ".") for m in LEGACY_MODULES)]
    return sorted(set(found))


def without_todos(source: str) -> str:
    """The source with `# TODO(flm ...)` comments removed (whole lines, or at the end of a line)."""
    lines = []
    for line in source.splitlines(keepends=True):
        stripped = TODO_COMMENT.sub("", line.rstrip("\r\n"))
        if stripped.strip() == "" and line.strip().startswith("# TODO(flm "):
            continue
        lines.append(stripped + line[len(line.rstrip("\r\n")):])
    return "".join(lines)


def _run_all(items: list[tuple[str, Program, str]]) -> dict[str, ProgramRun]:
    """items: (key, program, path or source) -> runs keyed by key, all in parallel."""
    runs = run_programs([(src, prog.setup(), prog.env) for _, prog, src in items])
    return {key: run for (key, _, _), run in zip(items, runs)}


# --------------------------------------------------------------------------------------------
# Fixtures: everything computed once per module


@dataclass
class Migration:
    result: FileResult | None = None
    again: FileResult | None = None  # migrate_source over the migrated output
    swap_only: FileResult | None = None  # flag programs: the model-ID swap family alone
    error: str | None = None  # the migration raised

    @property
    def new_source(self) -> str | None:
        return self.result.new_bytes.decode("utf-8") if self.result is not None and self.result.changed else None


@pytest.fixture(scope="module")
def originals() -> dict[str, ProgramRun]:
    """Every runnable original, on the legacy SDKs."""
    return _run_all([(name, BY_NAME[name], str(BY_NAME[name].path)) for name in RUNNABLE])


@pytest.fixture(scope="module")
def migrations() -> dict[str, Migration]:
    out = {}
    for program in PROGRAMS:
        m = Migration()
        try:
            m.result = migrate_source(program.path.read_bytes(), SETTINGS, path=program.path)
            if m.result.changed:
                m.again = migrate_source(m.result.new_bytes, SETTINGS, path=program.path)
            if program.kind == "flag":
                m.swap_only = migrate_source(program.path.read_bytes(), SWAP_ONLY, path=program.path)
        except Exception as exc:  # noqa: BLE001 - reported by the tests, not by the fixture
            m.error = f"{type(exc).__name__}: {exc}"
        out[program.name] = m
    return out


@pytest.fixture(scope="module")
def migrated_runs(migrations, tmp_path_factory) -> dict[str, ProgramRun]:
    """Every wire program's migrated version (when there is one that parses), on google-genai."""
    folder = tmp_path_factory.mktemp("port-migrated")
    items = []
    for name in WIRE:
        source = migrations[name].new_source
        if source is None:
            continue
        try:
            ast.parse(source)
        except SyntaxError:
            continue
        path = folder / name
        path.write_text(source, encoding="utf-8")
        items.append((name, BY_NAME[name], str(path)))
    return _run_all(items)


def _migrated(migrations: dict[str, Migration], name: str) -> Migration:
    m = migrations[name]
    assert m.error is None, f"migrate_source raised: {m.error}"
    r = m.result
    findings = "\n".join(f"  {f.rule} {f.tier} {f.line}:{f.column} {f.message}" for f in r.findings)
    assert r.changed, f"{name}: migration did not change it ({r.status}: {r.reason})\nfindings:\n{findings}"
    return m


# --------------------------------------------------------------------------------------------
# The oracle's embedding normalisation (a single embedContent is a batch of one)


def test_embed_content_equals_a_batch_of_one():
    legacy = {"method": "POST", "path": "/v1beta/models/text-embedding-004:embedContent", "query": {},
              "headers": {}, "raw_body": b"", "api": "developer", "verb": "embedContent",
              "model": "text-embedding-004",
              "body": {"content": {"parts": [{"text": "hi"}]}, "taskType": 2, "title": "T"}}
    new = dict(legacy, path="/v1beta/models/text-embedding-004:batchEmbedContents", verb="batchEmbedContents",
               body={"requests": [{"content": {"parts": [{"text": "hi"}], "role": "user"},
                                   "taskType": "RETRIEVAL_DOCUMENT", "title": "T",
                                   "model": "models/text-embedding-004"}]})
    assert wire_diff(legacy, new) == ""
    for changed in ({"taskType": "RETRIEVAL_QUERY"}, {"title": "U"}, {"model": "models/gemini-embedding-001"},
                    {"outputDimensionality": 8}):
        other = dict(new, body={"requests": [{**new["body"]["requests"][0], **changed}]})
        assert wire_diff(legacy, other) != "", changed


# --------------------------------------------------------------------------------------------
# The originals are sound (must hold whatever state the transforms are in)


def test_suite_is_big_enough():
    assert len(PROGRAMS) >= 45
    assert len(WIRE) >= 35 and len(FLAG) >= 8


@pytest.mark.parametrize("name", RUNNABLE)
def test_original_runs_green_on_the_legacy_sdk(originals, name):
    run = originals[name].check()
    assert run.requests, f"{name} never reached the fake server"
    assert all(r.api in ("developer", "vertex") for r in run.requests), [r.path for r in run.requests]
    assert "the function was executed" not in run.stdout
    assert run.stdout.strip(), f"{name} printed nothing"


# --------------------------------------------------------------------------------------------
# Wire programs: migrated, equivalent on the wire and on stdout, idempotent


@pytest.mark.parametrize("name", WIRE)
def test_port_drops_the_legacy_sdk(migrations, name):
    m = _migrated(migrations, name)
    leftover = legacy_imports(m.new_source)
    assert not leftover, f"the migrated program still imports {leftover}:\n{m.new_source}"


@pytest.mark.parametrize("name", WIRE)
def test_port_is_wire_equivalent(originals, migrations, migrated_runs, name):
    m = _migrated(migrations, name)
    before = originals[name].check()
    assert before.requests
    assert name in migrated_runs, f"the migrated program does not parse:\n{m.new_source}"
    try:
        assert_port_equivalent(before, migrated_runs[name])
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- migrated source ---\n{m.new_source}") from None


def assert_port_equivalent(before: ProgramRun, after: ProgramRun) -> None:
    """Same stdout and requests; every request goes to the target except embeddings, which keep their model."""
    embeds = [r for r in before.requests if r.verb in EMBED_VERBS]
    assert_migration_equivalent(before, after, target_model=None if embeds else TARGET)
    if embeds:
        for i, (a, b) in enumerate(zip(before.requests, after.requests)):
            want = a.model if a.verb in EMBED_VERBS else TARGET
            assert (b.model or "").removeprefix("models/") == (want or "").removeprefix("models/"), \
                f"request #{i} ({b.verb}) uses {b.model!r}, expected {want!r}"


@pytest.mark.parametrize("name", WIRE)
def test_port_is_idempotent(migrations, name):
    m = _migrated(migrations, name)
    again = m.again
    assert not again.changed, f"a second run changes the migrated program again:\n{again.new_bytes.decode()}"
    assert again.status in ("unchanged", "not-candidate"), f"{again.status}: {again.reason}"


# --------------------------------------------------------------------------------------------
# Flag programs: code untouched, a TODO for a person


@pytest.mark.parametrize("name", FLAG)
def test_flagged_program_is_left_alone_with_a_todo(migrations, name):
    program = BY_NAME[name]
    m = migrations[name]
    assert m.error is None, f"migrate_source raised: {m.error}"
    r = m.result
    original = program.path.read_text(encoding="utf-8")
    output = m.new_source if r.changed else original
    swapped = m.swap_only.new_bytes.decode("utf-8") if m.swap_only.changed else original
    assert without_todos(output) == without_todos(swapped), (
        f"the code itself was changed (beyond the model-ID swap):\n{output}")
    swap_findings = {(f.rule, f.line) for f in m.swap_only.findings}
    manual = [f for f in r.findings if f.tier == "manual" and (f.rule, f.line) not in swap_findings]
    assert manual, f"no manual finding from the port; findings: {[(f.rule, f.tier, f.message) for f in r.findings]}"
    if program.rule:
        assert any(f.rule == program.rule for f in manual), [(f.rule, f.tier) for f in manual]
    assert "# TODO(flm " in output, "a manual finding must leave a TODO comment in the code"
    if r.changed:
        assert not m.again.changed, f"a second run changes it again:\n{m.again.new_bytes.decode()}"


# --------------------------------------------------------------------------------------------
# google-genai 3.x: google-cloud-aiplatform pins google-genai<3, so this environment has 2.x; the
# migrated programs must run on both. The 3.x virtualenv is built at install time (tests/side_env.py).


@pytest.fixture(scope="module")
def genai3_python(side_env) -> str:
    return str(side_env("genai3_python"))


@pytest.fixture(scope="module")
def migrated_runs_genai3(migrations, genai3_python, tmp_path_factory) -> dict[str, ProgramRun]:
    folder = tmp_path_factory.mktemp("port-migrated-genai3")
    items = []
    for name in WIRE:
        source = migrations[name].new_source
        if source is not None and BY_NAME[name].runs:
            path = folder / name
            path.write_text(source, encoding="utf-8")
            items.append((BY_NAME[name], str(path)))
    runs = run_programs([(src, prog.setup(), prog.env) for prog, src in items], python=genai3_python)
    return {prog.name: run for (prog, _), run in zip(items, runs)}


@pytest.mark.parametrize("name", [n for n in WIRE if BY_NAME[n].runs])
def test_port_is_wire_equivalent_on_genai_3(name, originals, migrated_runs_genai3):
    assert name in migrated_runs_genai3, f"{name}: no migrated program to run"
    assert_port_equivalent(originals[name].check(), migrated_runs_genai3[name])
