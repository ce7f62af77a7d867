"""[tool.flashlite-migrate] in pyproject.toml: find it, validate it, merge it with the command line.

Lookup is per file, like ruff: a file's settings come from the nearest pyproject.toml above it that
has a [tool.flashlite-migrate] table (so each project of a monorepo has its own), then the command
line overrides. Relative paths and patterns in a config file are relative to that file's folder.

    [tool.flashlite-migrate]
    target = "gemini-3.1-flash-lite"
    select = ["FLM0", "FLM1"]          # rule IDs or prefixes; default: all
    ignore = ["FLM104"]
    unsafe = false                     # also apply edits of tier "unsafe"
    tiers = { FLM302 = "safe" }        # promote or demote a rule's tier
    exclude = ["legacy/**", "*.gen.py"]
    per-file-ignores = { "tests/**" = ["FLM001"] }
    client-name = "genai_client"
    rules = ["team-rules.yaml"]        # rule files merged over rules/: call sites, model names, models, rules
    cache-dir = ".cache/flm"
    max-file-size = "4MB"              # bigger files are skipped with a reason (default 1MB)

A key that is not one of these is an error naming the closest valid key.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pathspec

from migrate.catalog import TIERS
from migrate.errors import UserError
from migrate.settings import Settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

TOOL = "flashlite-migrate"
TABLE = f"[tool.{TOOL}]"


# --------------------------------------------------------------------------- the config file


@dataclass(frozen=True)
class ConfigFile:
    path: Path  # absolute
    values: Mapping[str, Any]

    @property
    def root(self) -> Path:
        return self.path.parent

    def where(self, key: str) -> str:
        return f"{self.path}: {TABLE} {key}"


def load(path: Path) -> ConfigFile | None:
    """The [tool.flashlite-migrate] table of one pyproject.toml, or None when it has none."""
    path = path.resolve()
    try:
        stat = path.stat()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return _load(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _load(path: Path, _mtime: int, _size: int) -> ConfigFile | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    table = data.get("tool", {}).get(TOOL) if isinstance(data.get("tool"), dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise UserError(f"{path}: {TABLE} must be a table")
    config = ConfigFile(path, table)
    _check_keys(config)
    return config


def find(directory: Path, memo: dict[Path, ConfigFile | None] | None = None) -> ConfigFile | None:
    """The nearest config at or above a folder (absolute); `memo` remembers folders within one run."""
    memo = {} if memo is None else memo
    if directory in memo:
        return memo[directory]
    candidate = directory / "pyproject.toml"
    config = load(candidate) if candidate.is_file() else None
    if config is None and directory.parent != directory:
        config = find(directory.parent, memo)
    memo[directory] = config
    return config


# --------------------------------------------------------------------------- keys


def _strings(config: ConfigFile, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{config.where(key)}: expected a list of strings, got {value!r}")
    return tuple(value)


def _string(config: ConfigFile, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise UserError(f"{config.where(key)}: expected a non-empty string, got {value!r}")
    return value


def _boolean(config: ConfigFile, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise UserError(f"{config.where(key)}: expected true or false, got {value!r}")
    return value


def _tiers(config: ConfigFile, key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise UserError(f"{config.where(key)}: expected a table of rule ID = tier, got {value!r}")
    for rule, tier in value.items():
        if tier not in TIERS:
            raise UserError(f"{config.where(key)}.{rule}: expected one of {', '.join(TIERS)}, got {tier!r}")
    return {rule.upper(): tier for rule, tier in value.items()}


def _per_file(config: ConfigFile, key: str, value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise UserError(f'{config.where(key)}: expected a table of "pattern" = [rule IDs], got {value!r}')
    return tuple((pattern, _strings(config, f"{key}.{pattern}", rules)) for pattern, rules in value.items())


_UNITS = {"": 1, "B": 1, "KB": 1024, "KIB": 1024, "MB": 1024**2, "MIB": 1024**2, "GB": 1024**3, "GIB": 1024**3}


def parse_size(text: str) -> int | None:
    """Bytes for "4MB", "512KiB" or "2000000" (units are binary: 1 MB = 1 MiB); None when malformed."""
    number = text.strip()
    digits = len(number) - len(number.lstrip("0123456789."))
    value, unit = number[:digits], number[digits:].strip().upper()
    try:
        size = float(value) * _UNITS[unit]
    except (ValueError, KeyError):
        return None
    return int(size) if size >= 1 else None


def _file_size(config: ConfigFile, key: str, value: Any) -> int:
    size = value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else parse_size(value) if isinstance(value, str) else None
    if size is None:
        raise UserError(f'{config.where(key)}: expected a size such as "4MB" or a number of bytes, got {value!r}')
    return size


def _identifier(config: ConfigFile, key: str, value: Any) -> str:
    value = _string(config, key, value)
    if not value.isidentifier():
        raise UserError(f"{config.where(key)}: expected a Python identifier, got {value!r}")
    return value


KEYS: dict[str, tuple[Callable[[ConfigFile, str, Any], Any], str]] = {
    "target": (_string, "Flash-Lite model Pro calls move to"),
    "select": (_strings, "only these rule IDs or prefixes"),
    "ignore": (_strings, "skip these rule IDs or prefixes"),
    "unsafe": (_boolean, "also apply edits of tier unsafe"),
    "tiers": (_tiers, "rule ID = safe | unsafe | manual | report"),
    "exclude": (_strings, "gitignore-style patterns, relative to the config file"),
    "per-file-ignores": (_per_file, '"pattern" = [rule IDs], relative to the config file'),
    "client-name": (_identifier, "name of a genai.Client the SDK port creates"),
    "rules": (_strings, "rule files merged over the bundled data (call sites, models, rules), relative to the config file"),
    "cache-dir": (_string, "cache folder, relative to the config file"),
    "max-file-size": (_file_size, 'largest file processed, e.g. "4MB"; bigger ones are skipped with a reason'),
}


def _check_keys(config: ConfigFile) -> None:
    for key, value in config.values.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key.replace("_", "-"), KEYS, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(KEYS)}"
            raise UserError(f"{config.path}: unknown key '{key}' in {TABLE}{hint}")
        KEYS[key][0](config, key, value)


# --------------------------------------------------------------------------- merging


@dataclass(frozen=True)
class Overrides:
    """What the command line said; None or empty means "not given"."""

    target: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    unsafe: bool | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    jobs: int = 0
    rules: tuple[str, ...] = ()
    as_of: dt.date | None = None
    config_file: str | None = None  # --config: use this file for every path
    isolated: bool = False  # --isolated: ignore config files
    max_file_size: int | None = None


@dataclass(frozen=True)
class Resolved:
    """The effective settings for the files under one config, and where each value came from."""

    settings: Settings
    config: ConfigFile | None
    exclude: pathspec.GitIgnoreSpec | None  # the config's exclude, matched relative to its folder
    cache_dir: Path | None
    sources: Mapping[str, str] = field(default_factory=dict)

    def excluded(self, path: Path) -> bool:
        if self.exclude is None or self.config is None:
            return False
        relative = _relative(path, self.config.root)
        return relative is not None and self.exclude.match_file(relative)


def _relative(path: Path, root: Path) -> str | None:
    try:
        return Path(os.path.abspath(path)).relative_to(root).as_posix()
    except ValueError:
        return None


def resolve(
    config: ConfigFile | None,
    overrides: Overrides,
    known_rules: Callable[[Settings], Iterable[str]] | None = None,
    check_target: Callable[[Settings], object] | None = None,
) -> Resolved:
    """defaults <- config <- command line, validated (rule IDs and the target against the catalogue when given)."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if config is not None:
        for key, value in config.values.items():
            values[key] = KEYS[key][0](config, key, value)
            sources[key] = str(config.path)
    root = config.root if config is not None else None

    def cli(key: str, value: Any, flag: str, extends: bool = False) -> None:
        if value in (None, ()):
            return
        given = f"command line ({flag})"
        sources[key] = f"{sources[key]} + {given}" if extends and key in sources else given

    cli("target", overrides.target, "--target")
    cli("select", overrides.select, "--select")
    cli("ignore", overrides.ignore, "--ignore", extends=True)
    cli("unsafe", overrides.unsafe, "--unsafe")
    cli("rules", overrides.rules, "--rules", extends=True)
    cli("max-file-size", overrides.max_file_size, "--max-file-size")
    rule_files = tuple(str((root / p).resolve()) for p in values.get("rules", ())) + tuple(overrides.rules)
    settings = Settings(
        target=overrides.target or values.get("target"),
        unsafe=overrides.unsafe if overrides.unsafe is not None else values.get("unsafe", False),
        select=overrides.select or values.get("select", ()),
        ignore=values.get("ignore", ()) + overrides.ignore,
        tier_overrides=values.get("tiers", {}),
        include=overrides.include or Settings().include,
        exclude=overrides.exclude,
        jobs=overrides.jobs,
        extra_rule_files=rule_files,
        as_of=overrides.as_of,
        client_name=values.get("client-name", Settings().client_name),
        per_file_ignores=values.get("per-file-ignores", ()),
        root=str(root) if root is not None else None,
        max_file_size=overrides.max_file_size or values.get("max-file-size", Settings().max_file_size),
    )
    if known_rules is not None:
        _check_rules(settings, set(known_rules(settings)), config, sources)
    if check_target is not None and settings.target:
        try:
            check_target(settings)
        except UserError as exc:
            where = config.where("target") if config is not None and sources.get("target") == str(config.path) else "--target"
            raise UserError(f"{where}: {exc}") from None
    spec = pathspec.GitIgnoreSpec.from_lines(values["exclude"]) if values.get("exclude") else None
    cache_dir = (root / values["cache-dir"]).resolve() if "cache-dir" in values and root is not None else None
    return Resolved(settings, config, spec, cache_dir, sources)


def _rule_hint(selector: str, known: set[str]) -> str:
    """A near miss of a whole ID (FLM10O) gets its look-alike; a prefix (FLM9) gets the families that exist."""
    width = max((len(rule) for rule in known), default=0)
    if len(selector) >= width and known:
        def likeness(rule: str) -> tuple[int, float]:
            shared = len(os.path.commonprefix([rule, selector]))
            return shared, difflib.SequenceMatcher(a=selector, b=rule).ratio()

        best = max(sorted(known), key=likeness)
        if likeness(best)[0] >= width - 2:
            return f"; did you mean '{best}'?"
    families = sorted({rule[: width - 2] for rule in known if len(rule) == width})
    return f" (rule families: {', '.join(families)}; see `flm rules list`)"


def _check_rules(settings: Settings, known: set[str], config: ConfigFile | None, sources: Mapping[str, str]) -> None:
    def where(key: str) -> str:
        source = sources.get(key, "")
        if config is not None and source.startswith(str(config.path)):
            return config.where(key)
        return f"--{key}"

    def check(key: str, selectors: Iterable[str], exact: bool = False) -> None:
        for selector in selectors:
            ok = selector in known if exact else any(rule.startswith(selector) for rule in known)
            if not ok:
                raise UserError(f"{where(key)}: unknown rule {'ID' if exact else 'ID or prefix'} '{selector}'{_rule_hint(selector, known)}")

    check("select", settings.select)
    check("ignore", settings.ignore)
    check("tiers", settings.tier_overrides, exact=True)
    for _, rules in settings.per_file_ignores:
        check("per-file-ignores", rules)


# --------------------------------------------------------------------------- per file


class Resolver:
    """Settings per file: the nearest config above it, merged with the command line (cached per folder)."""

    def __init__(
        self,
        overrides: Overrides,
        known_rules: Callable[[Settings], Iterable[str]] | None = None,
        check_target: Callable[[Settings], object] | None = None,
    ):
        self.overrides = overrides
        self.known_rules = known_rules
        self.check_target = check_target
        self._explicit = load(Path(overrides.config_file)) if overrides.config_file else None
        if overrides.config_file and self._explicit is None:
            raise UserError(f"{overrides.config_file}: has no {TABLE} table")
        self._by_config: dict[Path | None, Resolved] = {}
        self._folders: dict[Path, ConfigFile | None] = {}

    def config_for(self, directory: Path) -> ConfigFile | None:
        if self.overrides.isolated:
            return None
        if self._explicit is not None:
            return self._explicit
        return find(Path(os.path.abspath(directory)), self._folders)

    def for_config(self, config: ConfigFile | None) -> Resolved:
        key = config.path if config is not None else None
        if key not in self._by_config:
            self._by_config[key] = resolve(config, self.overrides, self.known_rules, self.check_target)
        return self._by_config[key]

    def for_path(self, path: Path) -> Resolved:
        directory = path if path.is_dir() else path.parent
        return self.for_config(self.config_for(directory))


def per_file_rules(settings: Settings, path: Path) -> tuple[str, ...]:
    """The rule selectors that per-file-ignores attach to this file."""
    root = Path(settings.root) if settings.root else Path.cwd()
    relative = _relative(path, root)
    if relative is None:
        return ()
    rules: list[str] = []
    for pattern, selectors in settings.per_file_ignores:
        if _spec(pattern).match_file(relative):
            rules.extend(selectors)
    return tuple(rules)


@functools.lru_cache(maxsize=256)
def _spec(pattern: str) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines([pattern])


# --------------------------------------------------------------------------- flm config


def describe(resolved: Resolved) -> list[tuple[str, Any, str]]:
    """(key, effective value, where it came from) for every key, for `flm config`."""
    s = resolved.settings
    values: dict[str, Any] = {
        "target": s.target,
        "select": list(s.select),
        "ignore": list(s.ignore),
        "unsafe": s.unsafe,
        "tiers": dict(s.tier_overrides),
        "exclude": [p.pattern for p in resolved.exclude.patterns] if resolved.exclude else [],
        "per-file-ignores": {pattern: list(rules) for pattern, rules in s.per_file_ignores},
        "client-name": s.client_name,
        "rules": list(s.extra_rule_files),
        "cache-dir": str(resolved.cache_dir) if resolved.cache_dir else None,
        "max-file-size": s.max_file_size,
    }
    return [(key, values[key], resolved.sources.get(key, "default")) for key in KEYS]


def as_dict(resolved: Resolved) -> dict[str, Any]:
    return {
        "config_file": str(resolved.config.path) if resolved.config else None,
        "settings": {key: {"value": value, "source": source} for key, value, source in describe(resolved)},
    }
