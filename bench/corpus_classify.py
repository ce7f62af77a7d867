"""Pure analysis for the corpus runner: legacy/google-genai references, notebook code, outcome class.

No I/O except what the caller hands in (file bytes, flm's findings for the file, the set of google-genai
names that do not exist). Kept apart from `corpus.py` so the classifier can be tested on strings.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from dataclasses import dataclass, field

import pyflakes.checker
import pyflakes.messages

# Legacy SDK modules (qualified-name prefixes). `vertexai.init` alone counts as legacy Vertex usage.
LEGACY_PREFIXES = (
    "google.generativeai", "google.ai.generativelanguage",
    "vertexai.generative_models", "vertexai.preview.generative_models",
    "vertexai.language_models", "vertexai.preview.language_models",
    "vertexai.vision_models", "vertexai.preview.vision_models",
    "vertexai.tuning", "vertexai.preview.tuning",
    "vertexai.caching", "vertexai.preview.caching",
    "vertexai.batch_prediction", "vertexai.preview.batch_prediction",
    "vertexai.init",
)
# Vertex SDK parts that google-genai does not replace but that take the legacy generative objects
# (`Prompt(generation_config=GenerationConfig(...))`, `EvalTask.evaluate(model=GenerativeModel(...))`).
# They do not make a file legacy; in a legacy file they are legacy references that stay.
LEGACY_CONSUMERS = ("vertexai.prompts", "vertexai.preview.prompts", "vertexai.evaluation", "vertexai.preview.evaluation")
GENAI_PREFIX = "google.genai"
CLASSES = ("fully_ported", "todo", "half_ported", "untouched", "broken")

TODO_MARK = re.compile(r"#\s*TODO\(flm (FLM\d+)\):\s*(.*)")
PIP_LEGACY = re.compile(
    r"^\s*[%!]\s*(?:pip3?|python3? -m pip|uv pip)\s+install\b.*\b(?:google-generativeai|google-cloud-aiplatform)\b")
# Cell magics whose body is Python; any other `%%magic` cell is not Python and is blanked whole.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
_HELP = re.compile(r"^\??[\w.\[\]()]+\?\??$")
_SHELL_ASSIGN = re.compile(r"^[\w.,\s]+=\s*[!%]")


def has_prefix(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


# --- notebooks ---------------------------------------------------------------------------------

def _cells(raw: bytes) -> list[str]:
    nb = json.loads(raw)
    cells = nb.get("cells")
    if cells is None:  # nbformat 3
        cells = [c for ws in nb.get("worksheets", []) for c in ws.get("cells", [])]
    out = []
    for cell in cells:
        if cell.get("cell_type") == "code":
            src = cell.get("source", cell.get("input", ""))
            out.append("".join(src) if isinstance(src, list) else str(src))
    return out


class _LineState:
    """Just enough of Python's lexer to know whether a line starts a new statement."""

    def __init__(self):
        self.depth = 0          # open brackets
        self.quote = ""         # the open string's delimiter, if any
        self.continued = False  # the previous line ended with a backslash

    @property
    def at_statement_start(self) -> bool:
        return not (self.depth or self.quote or self.continued)

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        while i < n:
            if self.quote:
                if line[i] == "\\":
                    i += 2
                    continue
                if line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = ""
                    continue
                i += 1
                continue
            ch = line[i]
            if ch == "#":
                break
            if ch in "\"'":
                triple = line[i:i + 3]
                self.quote = triple if triple in ('"""', "'''") else ch
                i += len(self.quote)
                continue
            if ch in "([{":
                self.depth += 1
            elif ch in ")]}":
                self.depth = max(0, self.depth - 1)
            i += 1
        if self.quote in ('"', "'") and not line.endswith("\\"):
            self.quote = ""  # an unterminated one-line string: the parser will say so
        self.continued = line.endswith("\\") and not self.quote


def _blank_magics(cell: str) -> str:
    lines = cell.split("\n")
    first = lines[0].strip()
    if first.startswith("%%"):
        if first[2:].split(" ", 1)[0] not in PYTHON_CELL_MAGICS:
            return ""
        lines[0] = ""
    out, state, in_magic = [], _LineState(), False
    for line in lines:
        stripped = line.strip()
        magic = in_magic or (state.at_statement_start and (
            stripped.startswith(("%", "!")) or bool(_HELP.match(stripped)) or bool(_SHELL_ASSIGN.match(stripped))))
        if magic:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + "pass" if indent and not in_magic else "")
            in_magic = stripped.endswith("\\")
        else:
            out.append(line)
            state.feed(line)
    return "\n".join(out)


def notebook_source(raw: bytes) -> tuple[str, list[str]]:
    """The code cells joined, IPython magics/shell/help lines blanked; and the legacy pip-install lines."""
    cells = _cells(raw)
    pip = [line.strip() for cell in cells for line in cell.split("\n") if PIP_LEGACY.match(line)]
    return "\n".join(_blank_magics(c) for c in cells) + "\n", pip


# --- references --------------------------------------------------------------------------------

@dataclass
class Facts:
    """What one parsed source says about the SDKs."""
    parsed: bool
    error: str = ""
    legacy: set[str] = field(default_factory=set)     # qualified legacy names, imports and uses
    consumers: set[str] = field(default_factory=set)  # qualified names under LEGACY_CONSUMERS
    genai: set[str] = field(default_factory=set)      # qualified google.genai names, imports and uses
    undefined: set[str] = field(default_factory=set)  # pyflakes undefined names
    todos: Counter = field(default_factory=Counter)   # (rule, message) of `# TODO(flm ...)` markers


def parse(source: str) -> ast.AST:
    return compile(source, "<corpus>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _resolve(bound: dict, root: str, at: tuple[int, int]) -> set[str]:
    candidates = bound.get(root, [])
    above = [q for pos, q in sorted(candidates) if pos < at]
    return set(above[-1:]) or {q for _, q in candidates}


def references(tree: ast.AST) -> set[str]:
    """Every qualified name the code imports or uses through an imported name.

    A use resolves through the last import of its root name above it in the file (scopes flattened,
    as a script or notebook runs top to bottom), or through every import of it when none is above.
    A name assigned exactly once, from a call of an imported class (`tool = types.Tool(...)`), stands
    for an instance: `tool.to_dict` is recorded as `google.genai.types.Tool.to_dict`.
    """
    bound: dict[str, list[tuple[tuple[int, int], str]]] = {}
    names: set[str] = set()
    inner: set[int] = set()
    stores: Counter = Counter()

    def bind(name: str, node: ast.AST, qualified: str) -> None:
        bound.setdefault(name, []).append(((node.lineno, node.col_offset), qualified))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.add(alias.name)
                top = alias.name.split(".", 1)[0]
                bind(alias.asname or top, node, alias.name if alias.asname else top)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            for alias in node.names:
                if alias.name != "*":
                    names.add(f"{node.module}.{alias.name}")
                    bind(alias.asname or alias.name, node, f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Attribute):
            inner.add(id(node.value))
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] += 1
    instances: dict[str, str] = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and stores[node.targets[0].id] == 1 and node.targets[0].id not in bound and isinstance(node.value, ast.Call)):
            dotted = _dotted(node.value.func)
            if dotted and dotted.rsplit(".", 1)[-1][:1].isupper():
                root, _, rest = dotted.partition(".")
                for qualified in _resolve(bound, root, (node.lineno, node.col_offset)):
                    instances[node.targets[0].id] = f"{qualified}.{rest}" if rest else qualified
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name)) and id(node) not in inner:
            dotted = _dotted(node)
            if not dotted:
                continue
            root, _, rest = dotted.partition(".")
            for qualified in _resolve(bound, root, (node.lineno, node.col_offset)):
                names.add(f"{qualified}.{rest}" if rest else qualified)
            if root in instances and rest:
                names.add(f"{instances[root]}.{rest}")
    return names


def undefined_names(tree: ast.AST) -> set[str]:
    checker = pyflakes.checker.Checker(tree, filename="<corpus>")
    return {m.message_args[0] for m in checker.messages if isinstance(m, pyflakes.messages.UndefinedName)}


def facts(source: str, legacy_prefixes=LEGACY_PREFIXES) -> Facts:
    todos = Counter(m.groups() for m in TODO_MARK.finditer(source))
    try:
        tree = parse(source)
    except (SyntaxError, ValueError) as exc:
        return Facts(parsed=False, error=f"{type(exc).__name__}: {exc}", todos=todos)
    refs = references(tree)
    return Facts(
        parsed=True,
        legacy={r for r in refs if has_prefix(r, legacy_prefixes)},
        consumers={r for r in refs if has_prefix(r, LEGACY_CONSUMERS)},
        genai={r for r in refs if has_prefix(r, (GENAI_PREFIX,))},
        undefined=undefined_names(tree),
        todos=todos,
    )


# --- the outcome ---------------------------------------------------------------------------------

def is_blocker(finding: dict) -> bool:
    """A port finding that names why a legacy reference stays: a TODO, or a port rule not applied."""
    after = finding.get("after") or ""
    return finding.get("rule", "").startswith("FLM2") and (not finding.get("applied") or after.lstrip().startswith("# TODO"))


def refused(status: str, reason: str) -> bool:
    return status == "error" or "verif" in reason or "refus" in reason


def classify(before: Facts, after: Facts, changed: bool, findings: list[dict], flm_status: str = "",
             flm_reason: str = "", missing_genai: set[str] = frozenset(), refused_rules: set[str] = frozenset()) -> tuple[str, dict]:
    """(class, reasons) for one legacy file.

    `missing_genai`: google.genai names absent from the installed SDK; `refused_rules`: IDs of findings
    that mean flm's verification refused the port.
    """
    new_todos = after.todos - before.todos
    blockers = [f for f in findings if is_blocker(f)]
    reasons: dict = {
        "legacy_before": sorted(before.legacy),
        "legacy_after": sorted(after.legacy | after.consumers),
        "todos": [f"{rule}: {msg}" for (rule, msg), n in sorted(new_todos.items()) for _ in range(n)],
        "blocker_findings": [{"rule": f["rule"], "line": f.get("line"), "message": f.get("message")} for f in blockers],
        "changed": changed,
    }
    if flm_status in ("skipped", "error"):
        reasons["flm"] = f"{flm_status}: {flm_reason}"
    broken = []
    refusals = [f"{f['rule']}: {f.get('message')}" for f in findings if f.get("rule") in refused_rules]
    if refused(flm_status, flm_reason) or refusals:
        broken.append("flm refused the file" + (f" ({'; '.join(refusals)})" if refusals else ""))
        reasons["refused"] = True
    if not after.parsed:
        broken.append(f"output does not parse ({after.error})")
    else:
        new_undefined = sorted(after.undefined - before.undefined)
        missing = sorted(n for n in after.genai if n in missing_genai)
        if new_undefined:
            broken.append("new undefined names: " + ", ".join(new_undefined))
            reasons["new_undefined"] = new_undefined
        if missing:
            broken.append("not in the installed google-genai: " + ", ".join(missing))
            reasons["missing_genai"] = missing
    genai_added = sorted(after.genai - before.genai)
    if genai_added:
        reasons["genai_added"] = genai_added
    if broken:
        reasons["why"] = "; ".join(broken)
        return "broken", reasons
    if after.consumers:
        reasons["legacy_consumers"] = sorted(after.consumers)
    if not (after.legacy or after.consumers):
        return ("fully_ported" if changed else "untouched"), reasons
    if genai_added:
        return "half_ported", reasons
    if new_todos or blockers:
        return "todo", reasons
    if changed:
        reasons["why"] = "changed, but the port left every legacy reference and named no blocker"
    return "untouched", reasons
