"""Load and validate rules/*.yaml into frozen, typed objects.

All model IDs, lifecycle dates, capability limits, prices and rule metadata live in YAML; this
module is the only place that reads them. A malformed file fails with one line naming the file,
the key and what was expected.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from migrate.errors import UserError

TIERS = ("safe", "unsafe", "manual", "report")
FAMILIES = ("pro", "flash", "flash-lite")
KINDS = ("text", "embedding", "image", "tts", "live")


def rules_dir() -> Path:
    """The bundled rules/ folder: inside the wheel (migrate/rules) or beside the package in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "rules", here.parent / "rules"):
        if (candidate / "models.yaml").is_file():
            return candidate
    raise UserError(f"the bundled rules/ data folder is missing (looked in {here / 'rules'} and {here.parent / 'rules'})")


# --------------------------------------------------------------------------- typed records


@dataclass(frozen=True)
class Capabilities:
    context_window: int
    max_output_tokens: int
    thinking: str  # none | budget | level
    sampling: str  # supported | ignored
    penalties: str  # supported | rejected
    prefill: str  # allowed | rejected
    thinking_levels: tuple[str, ...] = ()
    thinking_default: str | None = None
    thinking_budget_min: int | None = None
    thinking_budget_max: int | None = None
    thinking_can_disable: bool | None = None


@dataclass(frozen=True)
class Model:
    id: str  # the canonical ID: the first of `ids`
    ids: tuple[str, ...]
    kind: str
    family: str | None
    capabilities: Capabilities | None
    source: str
    released: dt.date | None = None
    deprecated: dt.date | None = None
    shutdown: dt.date | None = None
    note: str | None = None

    def is_shut_down(self, today: dt.date) -> bool:
        return self.shutdown is not None and self.shutdown <= today


@dataclass(frozen=True)
class Rates:
    input: float
    output: float
    cached_input: float


@dataclass(frozen=True)
class Price:
    model: str
    standard: Rates
    long_prompt_above: int | None
    long_prompt: Rates | None
    batch_discount: float
    source: str
    changes: tuple[tuple[dt.date, Rates, Rates | None], ...] = ()

    def rates(self, prompt_tokens: int, on: dt.date, batch: bool = False) -> Rates:
        """The rates for one request: the long-prompt tier applies to the whole request once crossed."""
        standard, long_prompt = self.standard, self.long_prompt
        for start, std, lng in self.changes:
            if start <= on:
                standard, long_prompt = std, (lng or long_prompt)
        chosen = standard
        if long_prompt is not None and self.long_prompt_above is not None and prompt_tokens > self.long_prompt_above:
            chosen = long_prompt
        if batch:
            keep = 1.0 - self.batch_discount
            chosen = Rates(chosen.input * keep, chosen.output * keep, chosen.cached_input * keep)
        return chosen


@dataclass(frozen=True)
class Pricing:
    as_of: dt.date
    currency: str
    per_tokens: int
    source: str
    prices: Mapping[str, Price]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    title: str
    tier: str
    message: str
    docs: str
    explain: str

    def format(self, **values: Any) -> str:
        return self.message.format(**values)


@dataclass(frozen=True)
class ModelArgument:
    """One place a Gemini client takes a model: a qualified callable and where its model goes."""

    call: str
    keyword: str
    position: int | None
    sdk: str


@dataclass(frozen=True)
class CallSites:
    packages: tuple[str, ...]
    rest_methods: tuple[str, ...]
    model_arguments: Mapping[str, ModelArgument]
    aliases: Mapping[str, str]


@dataclass(frozen=True)
class TypeMapping:
    new: str
    positional: tuple[str, ...] = ()
    rename: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PortData:
    """What the SDK port knows about the legacy SDKs (rules/port.yaml)."""

    legacy_modules: Mapping[str, tuple[str, ...]]
    legacy_surface: tuple[str, ...]  # every module whose use means "not ported yet"
    legacy_consumers: tuple[str, ...]  # modules that stay but take legacy objects: a blocker beside the legacy SDK
    model_classes: Mapping[str, str]  # qualified class -> sdk
    configure_calls: Mapping[str, str]  # qualified function -> sdk
    generation_fields: frozenset[str]
    types: Mapping[str, TypeMapping]
    harm_categories: Mapping[str, str]
    harm_thresholds: Mapping[str, str]
    exception_module: str
    exceptions: Mapping[str, str]
    manual: Mapping[str, tuple[str, ...]]
    legacy_retry: Mapping[str, Mapping[str, Any]]
    vertex_location_env: tuple[str, ...]
    vertex_location_default: str

    def sdk_of(self, qualified: str) -> str | None:
        for sdk, modules in self.legacy_modules.items():
            if any(qualified == m or qualified.startswith(m + ".") for m in modules):
                return sdk
        return None

    def legacy_type(self, qualified: str) -> TypeMapping | None:
        """The google-genai type for a legacy qualified name such as `vertexai.generative_models.Part.from_text`."""
        for modules in self.legacy_modules.values():
            for module in modules:
                for prefix in (module + ".types.", module + ".protos.", module + "."):
                    if qualified.startswith(prefix):
                        found = self.types.get(qualified[len(prefix):])
                        if found is not None:
                            return found
        return None


@dataclass(frozen=True)
class Catalog:
    as_of: dt.date
    models: tuple[Model, ...]
    default_target: str
    swap_families: frozenset[str]
    never_swap: frozenset[str]
    pricing: Pricing
    rules: Mapping[str, Rule]
    call_sites: CallSites
    port: PortData
    _by_id: Mapping[str, Model] = field(repr=False, default_factory=dict)

    def model(self, model_id: str) -> Model | None:
        """Exact lookup of a bare model ID (no `models/` prefix, no resource path)."""
        return self._by_id.get(model_id)

    def should_swap(self, model: Model) -> bool:
        return (
            model.kind == "text"
            and model.family in self.swap_families
            and not (set(model.ids) & self.never_swap)
        )

    def rule(self, rule_id: str) -> Rule:
        try:
            return self.rules[rule_id]
        except KeyError:
            raise UserError(f"unknown rule ID {rule_id!r} (see `flm rules list`)") from None

    def price(self, model_id: str) -> Price:
        """The price of a model, found through any of its IDs; a missing price is an error, never zero."""
        prices = self.pricing.prices
        if model_id in prices:
            return prices[model_id]
        model = self.model(model_id)
        for alias in model.ids if model else ():
            if alias in prices:
                return prices[alias]
        raise UserError(f"no price for model {model_id!r} in rules/pricing.yaml (as of {self.pricing.as_of})")

    def resolve_target(self, target: str) -> Model:
        model = self.model(target)
        if model is None:
            raise UserError(f"unknown target model {target!r}: choose one listed by `flm models`")
        if model.kind != "text":
            raise UserError(f"target model {target!r} is a {model.kind} model, not a text model")
        return model



# --------------------------------------------------------------------------- validation helpers


class _Checker:
    """Reads one YAML document and turns every shape error into a one-line UserError."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, expected: str, got: Any) -> None:
        raise UserError(f"{self.path}: {where}: expected {expected}, got {got!r}")

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(where, "a mapping", value)
        return value

    def get(self, data: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...], *, required: bool = True, default: Any = None) -> Any:
        if key not in data:
            if required:
                self.fail(f"{where}.{key}" if where else key, f"a {_kind_name(kind)} (key is missing)", None)
            return default
        value = data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            self.fail(f"{where}.{key}" if where else key, f"a {_kind_name(kind)}", value)
        return value

    def choice(self, data: Mapping[str, Any], key: str, where: str, options: Iterable[str], default: str | None = None) -> str:
        options = tuple(options)
        value = self.get(data, key, where, str, required=default is None, default=default)
        if value not in options:
            self.fail(f"{where}.{key}", "one of " + ", ".join(options), value)
        return value

    def date(self, data: Mapping[str, Any], key: str, where: str, required: bool = False) -> dt.date | None:
        value = self.get(data, key, where, (dt.date, str), required=required)
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                self.fail(f"{where}.{key}", "an ISO date (YYYY-MM-DD)", value)
        return value

    def price(self, data: Any, where: str) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)) or data < 0:
            self.fail(where, "a non-negative number (USD per 1M tokens)", data)
        return float(data)

    def only_keys(self, data: Mapping[str, Any], where: str, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        for key in data:
            if key not in allowed:
                self.fail(f"{where}.{key}" if where else str(key), "one of the keys " + ", ".join(sorted(allowed)), key)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "string", int: "integer", float: "number", list: "list", dict: "mapping", bool: "boolean", dt.date: "date"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _read_yaml(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise UserError(f"{path}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return _Checker(path).mapping(data, "top level")


# --------------------------------------------------------------------------- the three files


_CAPABILITY_KEYS = {
    "context_window", "max_output_tokens", "thinking", "sampling", "penalties", "prefill",
    "thinking_levels", "thinking_default", "thinking_budget_min", "thinking_budget_max", "thinking_can_disable",
}  # fmt: skip


def _capabilities(check: _Checker, data: Any, where: str) -> Capabilities:
    data = check.mapping(data, where)
    check.only_keys(data, where, _CAPABILITY_KEYS)
    levels = check.get(data, "thinking_levels", where, list, required=False, default=[])
    return Capabilities(
        context_window=check.get(data, "context_window", where, int),
        max_output_tokens=check.get(data, "max_output_tokens", where, int),
        thinking=check.choice(data, "thinking", where, ("none", "budget", "level")),
        sampling=check.choice(data, "sampling", where, ("supported", "ignored")),
        penalties=check.choice(data, "penalties", where, ("supported", "rejected")),
        prefill=check.choice(data, "prefill", where, ("allowed", "rejected")),
        thinking_levels=tuple(str(level) for level in levels),
        thinking_default=check.get(data, "thinking_default", where, str, required=False),
        thinking_budget_min=check.get(data, "thinking_budget_min", where, int, required=False),
        thinking_budget_max=check.get(data, "thinking_budget_max", where, int, required=False),
        thinking_can_disable=check.get(data, "thinking_can_disable", where, bool, required=False),
    )


def _load_models(path: Path) -> tuple[dt.date, tuple[Model, ...], Mapping[str, Any]]:
    check = _Checker(path)
    data = _read_yaml(path)
    as_of = check.date(data, "as_of", "", required=True)
    profiles = {
        name: _capabilities(check, body, f"capabilities.{name}")
        for name, body in check.mapping(check.get(data, "capabilities", "", dict), "capabilities").items()
    }
    models: list[Model] = []
    seen: dict[str, str] = {}
    for index, entry in enumerate(check.get(data, "models", "", list)):
        where = f"models[{index}]"
        entry = check.mapping(entry, where)
        check.only_keys(entry, where, {"ids", "family", "kind", "capabilities", "released", "deprecated", "shutdown", "note", "source"})
        ids = check.get(entry, "ids", where, list)
        if not ids or not all(isinstance(i, str) and i.strip() == i and i for i in ids):
            check.fail(f"{where}.ids", "a non-empty list of model ID strings", ids)
        for model_id in ids:
            if model_id in seen:
                check.fail(f"{where}.ids", f"IDs listed once (also in {seen[model_id]})", model_id)
            seen[model_id] = where
        kind = check.choice(entry, "kind", where, KINDS, default="text")
        family = capabilities = None
        if kind == "text":
            family = check.choice(entry, "family", where, FAMILIES)
            profile = check.get(entry, "capabilities", where, str)
            if profile not in profiles:
                check.fail(f"{where}.capabilities", "the name of a profile under `capabilities:`", profile)
            capabilities = profiles[profile]
        models.append(
            Model(
                id=ids[0], ids=tuple(ids), kind=kind, family=family, capabilities=capabilities,
                source=check.get(entry, "source", where, str),
                released=check.date(entry, "released", where),
                deprecated=check.date(entry, "deprecated", where),
                shutdown=check.date(entry, "shutdown", where),
                note=check.get(entry, "note", where, str, required=False),
            )
        )  # fmt: skip
    policy = check.mapping(check.get(data, "policy", "", dict), "policy")
    return as_of, tuple(models), policy


def _rates(check: _Checker, data: Mapping[str, Any], where: str, fallback: Rates | None = None) -> Rates:
    def rate(key: str) -> float:
        if key in data:
            return check.price(data[key], f"{where}.{key}")
        if fallback is not None:
            return getattr(fallback, key)
        if key == "cached_input":  # a model without context caching: cached tokens never occur
            return check.price(data["input"], f"{where}.input") if "input" in data else 0.0
        check.fail(f"{where}.{key}", "a price (key is missing)", None)

    return Rates(input=rate("input"), output=rate("output"), cached_input=rate("cached_input"))


def _load_pricing(path: Path) -> Pricing:
    check = _Checker(path)
    data = _read_yaml(path)
    prices: dict[str, Price] = {}
    for model_id, body in check.mapping(check.get(data, "models", "", dict), "models").items():
        where = f"models.{model_id}"
        body = check.mapping(body, where)
        check.only_keys(body, where, {"input", "output", "cached_input", "long_prompt", "batch_discount", "changes", "source"})
        standard = _rates(check, body, where)
        long_prompt, above = None, None
        if "long_prompt" in body:
            lp = check.mapping(body["long_prompt"], f"{where}.long_prompt")
            above = check.get(lp, "above", f"{where}.long_prompt", int)
            long_prompt = _rates(check, lp, f"{where}.long_prompt")
        changes = []
        for i, change in enumerate(check.get(body, "changes", where, list, required=False, default=[])):
            cw = f"{where}.changes[{i}]"
            change = check.mapping(change, cw)
            start = check.date(change, "from", cw, required=True)
            changes.append((start, _rates(check, change, cw, fallback=standard), None))
        discount = check.get(body, "batch_discount", where, float, required=False, default=0.0)
        if not 0.0 <= discount < 1.0:
            check.fail(f"{where}.batch_discount", "a fraction from 0 to below 1", discount)
        prices[model_id] = Price(
            model=model_id, standard=standard, long_prompt_above=above, long_prompt=long_prompt,
            batch_discount=discount, source=check.get(body, "source", where, str),
            changes=tuple(sorted(changes, key=lambda c: c[0])),
        )  # fmt: skip
    return Pricing(
        as_of=check.date(data, "as_of", "", required=True),
        currency=check.get(data, "currency", "", str),
        per_tokens=check.get(data, "per_tokens", "", int),
        source=check.get(data, "source", "", str),
        prices=prices,
    )


def _load_rules(path: Path) -> dict[str, Rule]:
    check = _Checker(path)
    data = _read_yaml(path)
    rules: dict[str, Rule] = {}
    for index, entry in enumerate(check.get(data, "rules", "", list)):
        where = f"rules[{index}]"
        entry = check.mapping(entry, where)
        check.only_keys(entry, where, {"id", "name", "title", "tier", "message", "docs", "explain"})
        rule_id = check.get(entry, "id", where, str)
        if len(rule_id) < 4 or not rule_id[:3].isalpha() or not rule_id[3:].isdigit():
            check.fail(f"{where}.id", "an ID like FLM001", rule_id)
        if rule_id in rules:
            check.fail(f"{where}.id", "a unique rule ID", rule_id)
        rules[rule_id] = Rule(
            id=rule_id,
            name=check.get(entry, "name", where, str),
            title=check.get(entry, "title", where, str),
            tier=check.choice(entry, "tier", where, TIERS),
            message=check.get(entry, "message", where, str),
            docs=check.get(entry, "docs", where, str),
            explain=check.get(entry, "explain", where, str).strip(),
        )
    return rules


def _load_call_sites(path: Path) -> CallSites:
    check = _Checker(path)
    data = _read_yaml(path)
    arguments: dict[str, ModelArgument] = {}
    for index, entry in enumerate(check.get(data, "model_arguments", "", list)):
        where = f"model_arguments[{index}]"
        entry = check.mapping(entry, where)
        check.only_keys(entry, where, {"call", "keyword", "position", "sdk"})
        argument = ModelArgument(
            call=check.get(entry, "call", where, str),
            keyword=check.get(entry, "keyword", where, str),
            position=check.get(entry, "position", where, int, required=False),
            sdk=check.choice(entry, "sdk", where, ("google-genai", "google-generativeai", "vertexai", "other")),
        )
        arguments[argument.call] = argument
    aliases = check.mapping(check.get(data, "aliases", "", dict, required=False, default={}), "aliases")
    return CallSites(
        packages=tuple(check.get(data, "packages", "", list)),
        rest_methods=tuple(check.get(data, "rest_methods", "", list)),
        model_arguments=arguments,
        aliases={str(k): str(v) for k, v in aliases.items()},
    )


def _load_port(path: Path) -> PortData:
    check = _Checker(path)
    data = _read_yaml(path)

    def mapping(key: str) -> Mapping[str, Any]:
        return check.mapping(check.get(data, key, "", dict), key)

    def table(key: str) -> dict[str, str]:
        return {str(k).lower(): str(v) for k, v in mapping(key).items()}

    types = {}
    for name, body in mapping("types").items():
        body = check.mapping(body, f"types.{name}")
        check.only_keys(body, f"types.{name}", {"new", "positional", "rename"})
        types[str(name)] = TypeMapping(
            new=check.get(body, "new", f"types.{name}", str),
            positional=tuple(check.get(body, "positional", f"types.{name}", list, required=False, default=[])),
            rename=dict(check.get(body, "rename", f"types.{name}", dict, required=False, default={})),
        )
    exceptions = mapping("exceptions")
    return PortData(
        legacy_modules={sdk: tuple(m) for sdk, m in mapping("legacy_modules").items()},
        legacy_surface=tuple(check.get(data, "legacy_surface", "", list)),
        legacy_consumers=tuple(check.get(data, "legacy_consumers", "", list)),
        model_classes={cls: sdk for sdk, classes in mapping("model_classes").items() for cls in classes},
        configure_calls={fn: sdk for sdk, fn in mapping("configure_calls").items()},
        generation_fields=frozenset(check.get(data, "generation_fields", "", list)),
        types=types,
        harm_categories=table("harm_categories"),
        harm_thresholds=table("harm_thresholds"),
        exception_module=check.get(exceptions, "module", "exceptions", str),
        exceptions=dict(check.get(exceptions, "map", "exceptions", dict)),
        manual={rule: tuple(prefixes) for rule, prefixes in mapping("manual").items()},
        legacy_retry={sdk: dict(check.mapping(v, f"legacy_retry.{sdk}")) for sdk, v in mapping("legacy_retry").items()},
        vertex_location_env=tuple(check.get(mapping("vertex_location"), "env", "vertex_location", list)),
        vertex_location_default=check.get(mapping("vertex_location"), "default", "vertex_location", str),
    )


def load_catalog(directory: Path | None = None, extra_rule_files: Iterable[Path] = ()) -> Catalog:
    """Read models.yaml, pricing.yaml, rules.yaml and call_sites.yaml (plus a user's extra rule files) into one Catalog."""
    directory = directory or rules_dir()
    models_path = directory / "models.yaml"
    as_of, models, policy = _load_models(models_path)
    check = _Checker(models_path)
    by_id = {model_id: model for model in models for model_id in model.ids}
    default_target = check.get(policy, "default_target", "policy", str)
    if default_target not in by_id:
        check.fail("policy.default_target", "an ID listed under models", default_target)
    families = check.get(policy, "swap_families", "policy", list)
    for family in families:
        if family not in FAMILIES:
            check.fail("policy.swap_families", "families from " + ", ".join(FAMILIES), family)
    rules = _load_rules(directory / "rules.yaml")
    for path in extra_rule_files:
        for rule_id, rule in _load_rules(Path(path)).items():
            if rule_id in rules:
                raise UserError(f"{path}: rule {rule_id} is already defined by the bundled rules")
            rules[rule_id] = rule
    return Catalog(
        as_of=as_of,
        models=models,
        default_target=default_target,
        swap_families=frozenset(families),
        never_swap=frozenset(check.get(policy, "never_swap", "policy", list, required=False, default=[])),
        pricing=_load_pricing(directory / "pricing.yaml"),
        rules=rules,
        call_sites=_load_call_sites(directory / "call_sites.yaml"),
        port=_load_port(directory / "port.yaml"),
        _by_id=by_id,
    )


@functools.lru_cache(maxsize=1)
def bundled_catalog() -> Catalog:
    """The catalogue shipped with the tool, loaded once per process."""
    return load_catalog()
