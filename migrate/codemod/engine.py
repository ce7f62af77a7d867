"""Per file: prefilter -> parse -> collect facts -> transforms -> validate. Many files: a process pool.

`migrate_source` is pure (bytes in, FileResult out); `process_files` adds reading and parallelism
but never writes: writing is the caller's decision (see files.write_atomically).
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from migrate.catalog import Catalog, load_catalog
from migrate.codemod import kinds, plan, shared, suppressions, verify, workers_pool
from migrate.codemod.context import Context
from migrate.codemod.files import read_bytes
from migrate.codemod.findings import FileResult, Finding
from migrate.codemod.symbols import collect
from migrate.codemod.transforms import TRANSFORMS
from migrate.settings import Settings


@functools.lru_cache(maxsize=4)
def _catalog(extra_rule_files: tuple[str, ...]) -> Catalog:
    return load_catalog(extra_rule_files=tuple(Path(p) for p in extra_rule_files))


def catalog_for(settings: Settings) -> Catalog:
    return _catalog(tuple(settings.extra_rule_files))


@functools.lru_cache(maxsize=4)
def _prefilter(packages: tuple[str, ...], stems: tuple[str, ...]) -> re.Pattern[bytes]:
    tokens = {pkg.rsplit(".", 1)[-1] for pkg in packages} | set(stems)
    return re.compile(b"|".join(re.escape(t.encode()) for t in sorted(tokens)))


def prefilter_pattern(catalog: Catalog) -> re.Pattern[bytes]:
    """Bytes that any file worth parsing must contain: package names and model ID stems from the data.

    A model ID stem is an ID's first dash-separated word plus the dash ("gemini-"), so every ID the
    policy could swap is caught without listing each one.
    """
    stems = {model_id.split("-", 1)[0] + "-" for model in catalog.models if catalog.should_swap(model) for model_id in model.ids}
    return _prefilter(tuple(catalog.call_sites.packages), tuple(sorted(stems)))


def is_candidate(data: bytes, catalog: Catalog) -> bool:
    return prefilter_pattern(catalog).search(data) is not None


class _Applier(cst.CSTTransformer):
    """Applies the transforms' node replacements in one pass, on the already-updated children."""

    def __init__(self, replacements: dict[int, tuple[cst.CSTNode, Callable[[cst.CSTNode], cst.CSTNode]]]):
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        entry = self.replacements.get(id(original_node))
        return entry[1](updated_node) if entry else updated_node


def _error_line(source: bytes, exc: cst.ParserSyntaxError) -> int:
    """LibCST's tokenizer errors all say line 1; Python's compiler knows the real line."""
    if not exc.message.startswith("tokenizer error"):
        return exc.raw_line
    try:
        compile(source, "<source>", "exec", dont_inherit=True)
    except SyntaxError as error:
        return error.lineno or exc.raw_line
    except (ValueError, RecursionError, MemoryError):
        pass
    return exc.raw_line


def _error_message(exc: cst.ParserSyntaxError) -> str:
    """The parser's message without its own position (not a line of the file, and confusing next to one)."""
    return re.sub(r"^(parser error: )error at \d+:\d+: ", r"\1", exc.message)


def migrate_source(source: bytes, settings: Settings, catalog: Catalog | None = None, path: Path = Path("<source>")) -> FileResult:
    """Run every transform over one module's bytes. Never raises for bad input: the result says why."""
    catalog = catalog or catalog_for(settings)
    if not is_candidate(source, catalog):
        return FileResult(path, "not-candidate")
    if suppressions.skips_file(source):
        return FileResult(path, "skipped", reason=suppressions.SKIP_REASON)
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        return FileResult(path, "skipped", reason=f"syntax error at line {_error_line(source, exc)}: {_error_message(exc)}")
    except (RecursionError, UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return FileResult(path, "skipped", reason=f"cannot parse: {type(exc).__name__}: {exc}")
    try:
        return _transform(module, source, settings, catalog, path)
    except RecursionError:
        return FileResult(path, "skipped", reason="too deeply nested to analyse", parsed=True)


def _transform(module: cst.Module, source: bytes, settings: Settings, catalog: Catalog, path: Path) -> FileResult:
    """Each costly pass runs once where it can: positions only when a finding needs them, the symbol
    facts once for both rule runs, a ported module's verified trial output is the output, and the
    output is re-parsed once, by CPython, into the tree `verify` checks."""
    target = catalog.resolve_target(settings.target or catalog.default_target)
    noqa = suppressions.from_python(source)  # `# flm: ignore[...]` comments: None for almost every file
    positions = _lazy_positions(module)
    facts = None

    def run_rules(blockers: list[plan.Blocker] | None) -> tuple[Context, list[Finding]]:
        nonlocal facts
        steps = list(TRANSFORMS)
        if blockers is not None:  # not ported: port edits off, one TODO per blocker
            steps = [_block, *steps, lambda ctx: plan.place_blockers(ctx, blockers, positions())]
        if noqa is None:
            facts = facts or collect(module, catalog.call_sites.aliases)  # read-only: both runs share them
            ctx = Context(module, facts, catalog, settings, target)
            for step in steps:
                step(ctx)
            return ctx, []
        # the same pass, with silenced sites treated as "rule off here"; plus FLM301/FLM304 notes
        return suppressions.transform(noqa, module, catalog, settings, target, steps)

    ctx, unused = run_rules(None)
    decision = None
    verified: bytes | None = None  # a ported module's trial output, which passed verification
    original = verify.parse(source) if _port_selected(settings, catalog) else None
    legacy = verify.legacy_uses(original, catalog.port.legacy_surface) if original is not None else []
    if legacy:
        is_type = lambda name: catalog.port.legacy_type(name) is not None  # noqa: E731
        legacy += verify.instance_members(original, is_type, catalog.port.legacy_instance_members)  # type: ignore[arg-type]
    if legacy:
        trial_bytes = _render(module, ctx) if ctx.replacements else source
        verdict = verify.check(original, trial_bytes, catalog.port.legacy_surface, _removable(catalog))  # type: ignore[arg-type]
        consumers = verify.legacy_uses(original, catalog.port.legacy_consumers)  # type: ignore[arg-type]
        new_sdk_used = bool(verify.legacy_uses(original, ("google.genai",)))  # type: ignore[arg-type]
        decision = plan.decide(ctx, verdict, legacy, catalog.port, {s.lineno for s in original.body}, consumers, new_sdk_used)  # type: ignore[union-attr]
        if decision.outcome == plan.PORTED and settings.forced_blockers:
            decision = plan.Decision(plan.NOT_PORTED, list(settings.forced_blockers))
        elif settings.forced_blockers:
            decision.blockers.extend(settings.forced_blockers)
        if decision.outcome != plan.PORTED:
            ctx, unused = run_rules(decision.blockers)
        elif ctx.replacements:
            verified = trial_bytes  # ported needs a verdict without a problem: nothing to check again
    carried = {"port": decision.outcome if decision else None, "shared": shared.collect(original, catalog.port) if legacy else None}  # type: ignore[arg-type]
    if not ctx.findings and not unused:
        return FileResult(path, "unchanged", parsed=True, **carried)
    at = positions()
    findings = sorted(
        [
            *(Finding(f.rule, f.tier, at[f.node].start.line, at[f.node].start.column + 1,
                      f.message, f.before, f.after, f.applied)
              for f in ctx.findings),
            *unused,
        ],
        key=lambda f: (f.line, f.column, f.rule),
    )  # fmt: skip
    if not ctx.replacements:
        return FileResult(path, "unchanged", findings, parsed=True, **carried)
    if module.bytes != source:
        unapplied = [_unapply(f) for f in findings]
        return FileResult(path, "skipped", unapplied, reason="does not round-trip byte-identical through LibCST", parsed=True)
    new_bytes, problem = verified, None
    if new_bytes is None:
        new_bytes = _render(module, ctx)
        tree, problem = _reparse(new_bytes)
        if tree is not None and original is not None:
            problem = verify.check(original, tree, catalog.port.legacy_surface, _removable(catalog)).problem
    if problem is not None:
        rules = ", ".join(sorted({f.rule for f in findings if f.applied}))
        unapplied = [_unapply(f) for f in findings]
        return FileResult(path, "error", unapplied, reason=f"output of {rules} failed verification ({problem}); file left untouched", parsed=True)
    if new_bytes == source:
        return FileResult(path, "unchanged", findings, parsed=True, **carried)
    return FileResult(path, "changed", findings, old_bytes=source, new_bytes=new_bytes, parsed=True, **carried)


def _lazy_positions(module: cst.Module) -> Callable[[], Mapping[cst.CSTNode, CodeRange]]:
    """Positions cost a full code generation: computed on first use (most candidates have no finding)."""
    computed: list[Mapping[cst.CSTNode, CodeRange]] = []

    def positions() -> Mapping[cst.CSTNode, CodeRange]:
        if not computed:
            computed.append(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
        return computed[0]

    return positions


def _removable(catalog: Catalog) -> tuple[str, ...]:
    """Modules whose imports a port may drop, besides the legacy surface (for verify)."""
    return (*catalog.port.configure_modules, catalog.port.exception_module)


def _block(ctx: Context) -> None:
    ctx.port_blocked = True


def _port_selected(settings: Settings, catalog: Catalog) -> bool:
    return any(settings.selects(rule_id) for rule_id in catalog.rules if rule_id.startswith("FLM2"))


def _render(module: cst.Module, ctx: Context) -> bytes:
    new_module = module.visit(_Applier(ctx.replacements))
    for post_pass in ctx.post_passes:
        new_module = post_pass(new_module)
    return new_module.bytes


def _unapply(finding: Finding) -> Finding:
    return Finding(finding.rule, finding.tier, finding.line, finding.column, finding.message, finding.before, finding.after, False)


def _reparse(new_bytes: bytes) -> tuple[ast.Module | None, str | None]:
    """CPython's tree of the output, or why there is none: a rewrite must never produce broken code.

    One parse, by CPython rather than LibCST (a bug in LibCST's code generation cannot hide from its
    own parser); `verify` then reads the same tree.
    """
    try:
        return ast.parse(new_bytes), None
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return None, (str(exc).splitlines() or [type(exc).__name__])[0]


# --------------------------------------------------------------------------- many files


def _process_path(path: Path, settings: Settings) -> FileResult:
    try:
        data = read_bytes(path)
    except OSError as exc:
        return FileResult(path, "skipped", reason=f"cannot read: {exc.strerror or exc}")
    problem = kinds.size_problem(path, data, settings.max_file_size)
    if problem is not None:
        return FileResult(path, "skipped", reason=problem)
    try:
        return kinds.migrate_file(path, data, settings)  # a .py module, a notebook or a dependency file
    except MemoryError:
        return FileResult(path, "error", reason=f"out of memory while processing this file ({kinds.shown_size(len(data))}); see --max-file-size")
    except Exception as exc:  # noqa: BLE001 - one failing file never stops the others
        return FileResult(path, "error", reason=f"internal error: {type(exc).__name__}: {exc}")


def _prefiltered(paths: Iterable[Path], catalog: Catalog) -> Iterator[tuple[Path, int, bool, str | None]]:
    for path in paths:
        try:
            data = read_bytes(path)
        except OSError as exc:
            yield path, 0, False, f"cannot read: {exc.strerror or exc}"
            continue
        yield path, len(data), kinds.is_candidate(path, data, catalog), None


# Parsing takes roughly 1 KiB of memory per byte of source: a file this big could take the whole
# run down with it, so it is processed in a child process even when the rest run in this one.
ISOLATE_FROM_BYTES = 256 * 1024


def process_file(path: Path, settings: Settings) -> FileResult:
    """One file the way process_files runs it: a big one in a child process, whose death is its error."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return FileResult(path, "skipped", reason=f"cannot read: {exc.strerror or exc}")
    if size >= ISOLATE_FROM_BYTES:
        return workers_pool.run_alone(_process_path, path, settings)
    return _process_path(path, settings)


def process_files(
    paths: list[Path],
    settings: Settings,
    on_result: Callable[[FileResult], None] | None = None,
    on_planned: Callable[[int], None] | None = None,
) -> list[FileResult]:
    """Results for every path, in the order given. Only prefilter candidates are parsed, in parallel.

    `on_planned(n)` learns how many files will be parsed (each then reaches `on_result`).

    A worker that dies (out of memory, a crash in LibCST) becomes that file's error; see workers_pool.
    """
    catalog = catalog_for(settings)
    results: dict[Path, FileResult] = {}
    candidates: list[Path] = []
    big: list[Path] = []
    for path, size, candidate, problem in _prefiltered(paths, catalog):
        if problem is not None:
            results[path] = FileResult(path, "skipped", reason=problem)
        elif not candidate:
            results[path] = FileResult(path, "not-candidate")
        else:
            (big if size >= ISOLATE_FROM_BYTES else candidates).append(path)
    if on_planned:
        on_planned(len(candidates) + len(big))
    workers = min(settings.workers(), max(1, (len(candidates) + len(big)) // 4))
    if workers > 1:
        finished: Iterable[FileResult] = workers_pool.map_files(_process_path, candidates + big, settings, workers)
    else:
        local = (_process_path(p, settings) for p in candidates)
        finished = itertools.chain(local, workers_pool.map_files(_process_path, big, settings, 1))
    for result in finished:
        results[result.path] = result
        if on_result:
            on_result(result)
    return [results[p] for p in paths]
