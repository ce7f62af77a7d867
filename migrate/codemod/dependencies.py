"""Dependency files: legacy Gemini SDK requirements and their google-genai replacement (FLM302, FLM303).

Read: requirements*.txt / *.in, pyproject.toml ([project] dependencies and optional-dependencies,
[dependency-groups], Poetry tables), setup.cfg (install_requires, extras_require) and setup.py
string literals. Each requirement is found with its exact span in the text, so a fix touches
nothing but that requirement (or its line, when it is removed): comments, markers, quoting,
ordering and newlines stay as they are.

- google-generativeai is always reported (FLM302).
- google-cloud-aiplatform is reported (FLM303) only when the code under the dependency file's folder
  imports nothing from it but the generative modules google-genai replaces (rules/dependencies.yaml).
- The fix (tier unsafe) replaces the first such requirement with a google-genai requirement and
  removes the others; if the file already requires google-genai, they are all removed. While
  google-cloud-aiplatform stays in the file the new requirement keeps its `<3` cap.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from migrate.catalog import _Checker, _read_yaml, rules_dir
from migrate.codemod import suppressions
from migrate.codemod.findings import FileResult, Finding
from migrate.settings import Settings

GENAI = "google-genai"
AIPLATFORM = "google-cloud-aiplatform"
_PREFILTER = re.compile(rb"google[-_.]+(?:generativeai|cloud[-_.]+aiplatform)", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Legacy:
    rule: str
    generative_only: bool


@dataclass(frozen=True)
class DependencyData:
    package: str
    specifier: str
    with_aiplatform: str
    legacy: dict[str, Legacy]
    generative_modules: frozenset[str]


@functools.lru_cache(maxsize=1)
def load_data(path: Path | None = None) -> DependencyData:
    path = path or rules_dir() / "dependencies.yaml"
    check = _Checker(path)
    data = _read_yaml(path)
    check.only_keys(data, "", {"as_of", "source", "replacement", "legacy", "generative_modules"})
    replacement = check.mapping(check.get(data, "replacement", "", dict), "replacement")
    legacy = {}
    for name, body in check.mapping(check.get(data, "legacy", "", dict), "legacy").items():
        body = check.mapping(body, f"legacy.{name}")
        legacy[normalize(str(name))] = Legacy(
            rule=check.get(body, "rule", f"legacy.{name}", str),
            generative_only=check.get(body, "generative_only", f"legacy.{name}", bool, required=False, default=False),
        )
    return DependencyData(
        package=check.get(replacement, "package", "replacement", str),
        specifier=check.get(replacement, "specifier", "replacement", str),
        with_aiplatform=check.get(replacement, "with_aiplatform", "replacement", str),
        legacy=legacy,
        generative_modules=frozenset(check.get(data, "generative_modules", "", list)),
    )


def is_candidate(data: bytes) -> bool:
    return _PREFILTER.search(data) is not None


# --------------------------------------------------------------------------- requirements in a file


@dataclass(frozen=True)
class Requirement:
    name: str  # normalised
    text: str  # the requirement as written (no quotes, no comment)
    line: int  # 1-based
    column: int  # 1-based
    start: int  # span of what a replacement overwrites (name, extras and version; not the marker)
    end: int
    extras: str
    line_span: tuple[int, int] | None  # the whole line, when removing the requirement may delete it
    blocker: str | None = None  # why it cannot be rewritten automatically
    poetry_version: tuple[int, int] | None = None  # Poetry: the version string's span (quotes included)
    quote: str = ""
    group: str = ""  # the list it belongs to: "google-genai is already required" is decided per list


_REQ = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?(?P<rest>[^;]*)(?P<marker>;.*)?$", re.DOTALL)


def _requirement(text: str, offset: int, source: str, line_span: tuple[int, int] | None, quote: str = "") -> Requirement | None:
    match = _REQ.match(text)
    if not match:
        return None
    rest = match.group("rest")
    blocker = None
    if "--hash" in rest or "--hash" in (match.group("marker") or ""):
        blocker = "hash-pinned: regenerate the lock file"
    elif "@" in rest or "://" in rest:
        blocker = "a URL requirement: change it by hand"
    spec_end = match.end("rest")
    requirement_text = text[: spec_end].rstrip()
    if " --" in requirement_text:
        requirement_text = requirement_text.split(" --", 1)[0].rstrip()
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return Requirement(
        name=normalize(match.group("name")), text=text.rstrip(), line=line, column=column,
        start=offset, end=offset + len(requirement_text), extras=match.group("extras") or "",
        line_span=line_span, blocker=blocker, quote=quote,
    )  # fmt: skip


def _lines(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end including the newline, content without the newline) of each physical line."""
    start = 0
    for line in text.splitlines(keepends=True):
        content = line.rstrip("\r\n")
        yield start, start + len(line), content
        start += len(line)


def _strip_comment(line: str) -> str:
    match = re.search(r"(^|\s)#", line)
    return line[: match.start()] if match else line


def parse_requirements_txt(text: str) -> list[Requirement]:
    found = []
    lines = list(_lines(text))
    index = 0
    while index < len(lines):
        start, end, content = lines[index]
        logical = content
        span_end = end
        while logical.rstrip().endswith("\\") and index + 1 < len(lines):  # a continued line: --hash=... options
            index += 1
            logical = logical.rstrip()[:-1] + " " + lines[index][2]
            span_end = lines[index][1]
        index += 1
        body = _strip_comment(logical)
        stripped = body.strip()
        if not stripped or stripped.startswith("-"):
            continue
        offset = start + (len(content) - len(content.lstrip()))
        requirement = _requirement(stripped, offset, text, (start, span_end))
        if requirement is not None:
            if span_end != end and requirement.blocker is None:
                requirement = _replace_blocker(requirement, "continued over several lines: change it by hand")
            found.append(requirement)
    return found


def _replace_blocker(requirement: Requirement, blocker: str) -> Requirement:
    from dataclasses import replace

    return replace(requirement, blocker=blocker)


_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'')
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")


def _toml_strings(content: str) -> Iterator[tuple[int, str, str]]:
    """(column offset, value, quote) of the string literals on a line, up to a comment."""
    i = 0
    while i < len(content):
        ch = content[i]
        if ch == "#":
            return
        if ch in "\"'":
            match = _STRING.match(content, i)
            if not match:
                return
            value = match.group(1) if match.group(1) is not None else match.group(2)
            yield i, value, ch
            i = match.end()
            continue
        i += 1


def _alone(content: str, column: int, length: int) -> bool:
    rest = (content[:column] + content[column + length :]).strip()
    rest = _strip_comment(rest).strip().rstrip(",").strip()
    return rest == ""


def parse_pyproject(text: str) -> list[Requirement]:
    found = []
    table = ""
    group = ""
    depth = 0  # inside a dependency array
    for start, end, content in _lines(text):
        header = _HEADER.match(content) if depth == 0 else None
        if header:
            table = header.group(1).replace(" ", "").strip('"')
            continue
        key_match = re.match(r"\s*([A-Za-z0-9_.\"'-]+)\s*=\s*(.*)$", content) if depth == 0 else None
        poetry = table in ("tool.poetry.dependencies", "tool.poetry.dev-dependencies") or bool(
            re.fullmatch(r"tool\.poetry\.group\.[^.]+\.dependencies", table)
        )
        if key_match and poetry:
            requirement = _poetry(text, start, end, content, key_match)
            if requirement is not None:
                found.append(_with_span(requirement, requirement.line_span, table))
            continue
        array_here = False
        if key_match and depth == 0:
            key = key_match.group(1).strip("\"'")
            value = key_match.group(2)
            wanted = (table == "project" and key == "dependencies") or table in ("project.optional-dependencies", "dependency-groups")
            if wanted and value.lstrip().startswith("["):
                array_here = True
                group = f"{table}.{key}"
        if not (array_here or depth > 0):
            continue
        scan_from = content.index("[") if array_here else 0
        for column, value, quote in _toml_strings(content[scan_from:]):
            column += scan_from
            requirement = _requirement(value, start + column + 1, text, None, quote)
            if requirement is None:
                continue
            span = (start, end) if _alone(content, column, len(value) + 2) else None
            found.append(_with_span(requirement, span, group))
        depth += _bracket_balance(content[scan_from:])
        depth = max(depth, 0)
    return found


def _with_span(requirement: Requirement, span: tuple[int, int] | None, group: str = "") -> Requirement:
    from dataclasses import replace

    return replace(requirement, line_span=span, group=group)


def _bracket_balance(content: str) -> int:
    balance, i = 0, 0
    while i < len(content):
        ch = content[i]
        if ch == "#":
            break
        if ch in "\"'":
            match = _STRING.match(content, i)
            i = match.end() if match else len(content)
            continue
        balance += ch == "["
        balance -= ch == "]"
        i += 1
    return balance


def _poetry(text: str, start: int, end: int, content: str, key_match: re.Match[str]) -> Requirement | None:
    key = key_match.group(1).strip("\"'")
    if not _NAME.fullmatch(key) or key == "python":
        return None
    key_offset = start + content.index(key_match.group(1))
    value = key_match.group(2)
    value_offset = start + key_match.start(2)
    version_span = None
    blocker = None
    simple = _STRING.match(value)
    if simple:
        version_span = (value_offset, value_offset + simple.end())
    else:
        inner = re.search(r"\bversion\s*=\s*(\"[^\"]*\"|'[^']*')", value)
        if inner:
            version_span = (value_offset + inner.start(1), value_offset + inner.end(1))
        else:
            blocker = "not a version requirement (git, path or url): change it by hand"
    line = text.count("\n", 0, key_offset) + 1
    column = key_offset - start + 1
    return Requirement(
        name=normalize(key), text=content.strip(), line=line, column=column, start=key_offset,
        end=key_offset + len(key_match.group(1)), extras="", line_span=(start, end), blocker=blocker,
        poetry_version=version_span,
    )  # fmt: skip


def parse_setup_cfg(text: str) -> list[Requirement]:
    found = []
    section = ""
    key = ""
    collecting = False
    for start, end, content in _lines(text):
        stripped = content.strip()
        header = re.match(r"^\[([^\]]+)\]", stripped)
        if header:
            section, collecting = header.group(1).strip(), False
            continue
        if not stripped or stripped.startswith(("#", ";")):
            continue
        indented = content[:1] in (" ", "\t")
        value, value_offset = None, 0
        if not indented:
            key_match = re.match(r"([\w.-]+)\s*=\s*(.*)$", content)
            collecting = bool(key_match) and (
                (section == "options" and key_match.group(1) in ("install_requires", "tests_require")) or section == "options.extras_require"
            )
            key = key_match.group(1) if key_match else ""
            if collecting and key_match and key_match.group(2).strip():
                value, value_offset = key_match.group(2), key_match.start(2)
        elif collecting:
            value, value_offset = content, 0
        if value is None:
            continue
        body = _strip_comment(value).strip()
        if not body:
            continue
        offset = start + value_offset + (len(value) - len(value.lstrip()))
        requirement = _requirement(body, offset, text, (start, end) if indented else None)
        if requirement is not None:
            found.append(_with_span(requirement, requirement.line_span, f"{section}.{key}"))
    return found


def parse_setup_py(text: str) -> list[Requirement]:
    found = []
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    lines = text.split("\n")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return found
    brackets: list[str] = []
    for token in tokens:
        if token.type == tokenize.OP and token.string in "([{":
            brackets.append(f"{token.start[0]}:{token.start[1]}")
        elif token.type == tokenize.OP and token.string in ")]}" and brackets:
            brackets.pop()
        if token.type != tokenize.STRING or token.string[:1] not in "\"'":
            continue
        try:
            value = ast.literal_eval(token.string)
        except (ValueError, SyntaxError):
            continue
        if not isinstance(value, str) or not _REQ.match(value) or "\n" in token.string:
            continue
        quote = token.string[:3] if token.string[:3] in ('"""', "'''") else token.string[0]
        row, col = token.start
        offset = line_starts[row - 1] + col + len(quote)
        requirement = _requirement(value, offset, text, None, quote)
        if requirement is None or not _looks_like_requirement(value):
            continue
        content = lines[row - 1]
        line_end = line_starts[row] if row < len(line_starts) else len(text)
        span = (line_starts[row - 1], line_end) if _alone(content, col, len(token.string)) else None
        found.append(_with_span(requirement, span, brackets[-1] if brackets else ""))
    return found


def _looks_like_requirement(value: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*([<>=!~^ ].*|;.*|@.*)?", value.strip()))


def parse(path: Path, text: str) -> list[Requirement]:
    name = path.name
    if name == "pyproject.toml":
        return parse_pyproject(text)
    if name == "setup.cfg":
        return parse_setup_cfg(text)
    if name == "setup.py":
        return parse_setup_py(text)
    return parse_requirements_txt(text)


# --------------------------------------------------------------------------- what the code imports


@dataclass(frozen=True)
class Usage:
    generative: frozenset[str]
    other: frozenset[str]
    uses_genai: bool

    def generative_only(self) -> bool:
        return not self.other and (bool(self.generative) or self.uses_genai)

    def describe(self) -> str:
        if self.generative:
            return ", ".join(sorted(self.generative))
        return "no vertexai imports left; google-genai is in use"


_FROM = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+\(?\s*([\w\s,]+?)\s*\)?\s*(?:#.*)?$")
_IMPORT = re.compile(r"^\s*import\s+([\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*)\s*(?:#.*)?$")
_PACKAGES = ("vertexai", "google.cloud")


def imported_modules(source: str) -> set[str]:
    modules: set[str] = set()
    for line in source.splitlines():
        if "import" not in line:
            continue
        match = _FROM.match(line)
        if match:
            base = match.group(1)
            names = [n.split()[0] for n in match.group(2).split(",") if n.strip()]
            if base in _PACKAGES or base == "vertexai.preview":
                modules.update(f"{base}.{name}" for name in names)
            else:
                modules.add(base)
            continue
        match = _IMPORT.match(line)
        if match:
            modules.update(part.split()[0] for part in match.group(1).split(","))
    return modules


def _relevant(module: str) -> bool:
    return module == "vertexai" or module.startswith("vertexai.") or module == "google.cloud.aiplatform" or module.startswith("google.cloud.aiplatform.")


def scan_usage(folder: Path, data: DependencyData) -> Usage:
    """Which vertexai / aiplatform modules the Python files and notebooks under a folder import."""
    from migrate.codemod import notebooks
    from migrate.codemod.files import discover, read_bytes

    generative: set[str] = set()
    other: set[str] = set()
    genai = False
    for path in discover([folder], ("*.py", "*.ipynb"), ()):
        try:
            raw = read_bytes(path)
        except OSError:
            continue
        if b"vertexai" not in raw and b"aiplatform" not in raw and b"genai" not in raw:
            continue
        if path.suffix == ".ipynb":
            source = "\n".join("\n".join(lines) for lines in notebooks.cell_lines(raw).values())
        else:
            source = raw.decode("utf-8", "replace")
        for module in imported_modules(source):
            if module == "google.genai" or module.startswith("google.genai."):
                genai = True
            elif _relevant(module):
                (generative if module in data.generative_modules else other).add(module)
    return Usage(frozenset(generative), frozenset(other), genai)


# --------------------------------------------------------------------------- the processor


def migrate_dependency_file(source: bytes, settings: Settings, path: Path = Path("requirements.txt")) -> FileResult:
    from migrate.codemod.engine import catalog_for

    if not is_candidate(source):
        return FileResult(path, "not-candidate")
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        return FileResult(path, "skipped", reason=f"not UTF-8 ({exc.reason} at byte {exc.start})")
    catalog = catalog_for(settings)
    data = load_data()
    noqa = suppressions.from_python(source) if path.name == "setup.py" else suppressions.from_text(text)
    if noqa is not None and noqa.skip_file:
        return FileResult(path, "skipped", reason=suppressions.SKIP_REASON)
    requirements = parse(path, text)
    usage: Usage | None = None
    chosen: list[tuple[Requirement, str, str, bool, str]] = []  # requirement, rule, tier, applicable, modules
    for requirement in requirements:
        legacy = data.legacy.get(requirement.name)
        if legacy is None or not settings.selects(legacy.rule):
            continue
        modules = ""
        if legacy.generative_only:
            if requirement.extras:
                continue
            usage = usage or scan_usage(path.parent, data)
            if not usage.generative_only():
                continue
            modules = usage.describe()
        if noqa is not None and noqa.suppresses(legacy.rule, requirement.line):
            continue
        tier = settings.tier_overrides.get(legacy.rule, catalog.rule(legacy.rule).tier)
        applies = tier == "safe" or (tier == "unsafe" and settings.unsafe)
        chosen.append((requirement, legacy.rule, tier, applies, modules))
    actual = _plans(chosen, requirements, data, [applies for _, _, _, applies, _ in chosen])
    # What --unsafe would do, for the message of an edit this run does not apply.
    possible = _plans(chosen, requirements, data, [tier in ("safe", "unsafe") for _, _, tier, _, _ in chosen])
    findings: list[Finding] = []
    edits: list[tuple[int, int, str]] = []
    for (requirement, rule, tier, applies, modules), (edit, action, after), (_, maybe, maybe_after) in zip(chosen, actual, possible):
        applied = applies and edit is not None
        if applied:
            edits.extend(edit)
        else:
            action = maybe
            after = None if tier in ("manual", "report") else maybe_after
        message = catalog.rule(rule).format(requirement=requirement.text, action=action, modules=modules)
        findings.append(Finding(rule, tier, requirement.line, requirement.column, message, requirement.text, after, applied))
    if noqa is not None:
        findings.extend(noqa.unused(settings, catalog))
    findings.sort(key=lambda f: (f.line, f.column, f.rule))
    if not edits:
        return FileResult(path, "unchanged", findings, parsed=True)
    new_text = text
    for start, end, replacement in sorted(edits, reverse=True):
        new_text = new_text[:start] + replacement + new_text[end:]
    return FileResult(path, "changed", findings, old_bytes=source, new_bytes=new_text.encode("utf-8"), parsed=True)


def _plans(chosen: list, requirements: list[Requirement], data: DependencyData, applying: list[bool]) -> list[tuple]:
    """(edits or None, action text, `after`) per chosen requirement, given which of them are rewritten."""
    rewritten = {id(r) for (r, *_), yes in zip(chosen, applying) if yes and not r.blocker}
    aiplatform_stays = any(r.name == AIPLATFORM and id(r) not in rewritten for r in requirements)
    specifier = data.with_aiplatform if aiplatform_stays else data.specifier
    genai_in = {r.group for r in requirements if r.name == normalize(data.package)}  # lists that require google-genai
    out = []
    for (requirement, *_), yes in zip(chosen, applying):
        edit, action = _plan(requirement, data.package, specifier, requirement.group in genai_in)
        after = None if edit is None else ("" if action.startswith("remove") else f"{data.package}{specifier}")
        out.append((edit, action, after))
        if yes and edit is not None:
            genai_in.add(requirement.group)
    return out


def _plan(requirement: Requirement, package: str, specifier: str, genai_present: bool):
    """The text edits for one requirement and the action to tell the user; edits None when not fixable."""
    new_requirement = f"{package}{specifier}"
    if requirement.blocker:
        return None, f"not rewritten: {requirement.blocker}"
    if genai_present:
        if requirement.line_span is None:
            return None, f"remove it by hand ({package} is already required)"
        start, end = requirement.line_span
        return [(start, end, "")], f"remove it: {package} is already required"
    if requirement.poetry_version is not None:
        vstart, vend = requirement.poetry_version
        return [(requirement.start, requirement.end, package), (vstart, vend, f'"{specifier}"')], f"replace with {new_requirement}"
    return [(requirement.start, requirement.end, new_requirement)], f"replace with {new_requirement}"
