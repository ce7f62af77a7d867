"""Load and validate rules/*.yaml into frozen, typed objects.

All model IDs, lifecycle dates (per platform), routing, capability limits, dated prices and rule
metadata live in YAML; this module is the only place that reads them. A user's rule files are
merged over the bundled data (same sections; redefining anything is an error). A malformed file
fails with one line naming the file, the key and what was expected.

For other parts of the tool: `Model.routed_to(platform, day)` (is this model routed on that
platform that day, and to what), `Catalog.serving_model(id, platform, day)` (routes followed: the
model whose rates bill the call) and `Price.in_force(day)` / `Catalog.price_in_force(id, day)`
(the price period in force that day, `.describe()` says which).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from migrate.errors import UserError

TIERS = ("safe", "unsafe", "manual", "report")
FAMILIES = ("pro", "flash", "flash-lite")
KINDS = ("text", "embedding", "image", "tts", "live")
STAGES = ("ga", "preview", "alias")
PLATFORMS = ("developer", "vertex")  # the Gemini Developer API; Vertex AI (Gemini Enterprise Agent Platform)
SOURCE_QUALITIES = ("google", "third-party")
SDKS = ("google-genai", "google-generativeai", "vertexai", "in-house", "other")


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
    unified_limit: bool = False  # context_window counts input and output together
    explicit_cache: str = "supported"  # supported | unsupported


@dataclass(frozen=True)
class Platform:
    key: str  # developer | vertex
    name: str
    lifecycle_url: str
    article: str = ""  # "the" Gemini Developer API; Vertex AI

    @property
    def in_text(self) -> str:
        return f"{self.article} {self.name}".strip()


@dataclass(frozen=True)
class Lifecycle:
    """A model's dates on one platform. `shutdown` is announced; `earliest_shutdown` is only a floor."""

    platform: str
    source: str
    source_quality: str = "google"
    as_of: dt.date | None = None
    released: dt.date | None = None
    deprecated: dt.date | None = None
    shutdown: dt.date | None = None
    earliest_shutdown: dt.date | None = None
    routed_to: str | None = None
    routed_since: dt.date | None = None
    note: str | None = None

    def routed(self, on: dt.date) -> str | None:
        """The model that serves requests for this ID on `on`, when Google routes them elsewhere."""
        if self.routed_to is not None and self.routed_since is not None and self.routed_since <= on:
            return self.routed_to
        return None

    def shut_down(self, on: dt.date) -> bool:
        """Calls fail on `on`: past the announced shutdown and not routed to another model."""
        return self.shutdown is not None and self.shutdown <= on and self.routed(on) is None

    def status(self, on: dt.date) -> str:
        """available | deprecated | routed | shut-down, on that day."""
        if self.routed(on):
            return "routed"
        if self.shut_down(on):
            return "shut-down"
        if self.deprecated is not None and self.deprecated <= on:
            return "deprecated"
        return "available"


@dataclass(frozen=True)
class Model:
    id: str  # the canonical ID: the first of `ids`
    ids: tuple[str, ...]
    kind: str
    family: str | None
    capabilities: Capabilities | None
    source: str
    released: dt.date | None = None
    deprecated: dt.date | None = None  # on every platform without its own block
    shutdown: dt.date | None = None  # on every platform without its own block
    note: str | None = None
    stage: str = "ga"  # ga | preview | alias
    source_quality: str = "google"
    as_of: dt.date | None = None
    lifecycles: Mapping[str, Lifecycle] = field(default_factory=dict, compare=False)  # one per platform
    origin: str | None = None  # the user rule file that defined it; None: the bundled data

    def lifecycle(self, platform: str) -> Lifecycle:
        return self.lifecycles[platform]

    def routed_to(self, platform: str, on: dt.date) -> str | None:
        """Is this model routed on `platform` on day `on`, and to what: the serving model ID, or None."""
        return self.lifecycle(platform).routed(on)

    def is_shut_down(self, today: dt.date, platform: str | None = None) -> bool:
        """Calls fail on that day: on `platform`, or (None) on every platform."""
        platforms = (platform,) if platform else tuple(self.lifecycles)
        return all(self.lifecycle(p).shut_down(today) for p in platforms)

    def announced_shutdowns(self) -> dict[str, dt.date]:
        """Platform -> announced shutdown date (floors such as Vertex's "or later" are not announcements)."""
        return {p: lc.shutdown for p, lc in self.lifecycles.items() if lc.shutdown is not None}

    def rests_on_third_party(self) -> bool:
        return self.source_quality == "third-party" or any(lc.source_quality == "third-party" for lc in self.lifecycles.values())


@dataclass(frozen=True)
class Rates:
    input: float
    output: float
    cached_input: float


@dataclass(frozen=True)
class PricePeriod:
    """The rates of one date range (both ends inclusive; None = open)."""

    start: dt.date | None
    end: dt.date | None
    standard: Rates
    long_prompt: Rates | None
    note: str | None = None

    def covers(self, on: dt.date) -> bool:
        return (self.start is None or self.start <= on) and (self.end is None or on <= self.end)

    def describe(self) -> str:
        if self.start is None and self.end is None:
            return "no end date announced"
        if self.start is None:
            return f"until {self.end}" + (f" ({self.note})" if self.note else "")
        return f"from {self.start}" + (f" until {self.end}" if self.end else "")


@dataclass(frozen=True)
class Price:
    model: str
    standard: Rates
    long_prompt_above: int | None
    long_prompt: Rates | None
    batch_discount: float
    source: str
    periods: tuple[PricePeriod, ...] = ()  # empty: `standard`/`long_prompt` always
    source_quality: str = "google"
    as_of: dt.date | None = None

    def in_force(self, on: dt.date) -> PricePeriod:
        """The price in force on day `on` (the shadow cost projection asks this and says which)."""
        for period in self.periods:
            if period.covers(on):
                return period
        return PricePeriod(None, None, self.standard, self.long_prompt)

    def rates(self, prompt_tokens: int, on: dt.date, batch: bool = False) -> Rates:
        """The rates for one request: the long-prompt tier applies to the whole request once crossed."""
        period = self.in_force(on)
        chosen = period.standard
        if period.long_prompt is not None and self.long_prompt_above is not None and prompt_tokens > self.long_prompt_above:
            chosen = period.long_prompt
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
    platform: str | None = None  # every call of it uses this platform; None: decided per call site
    names: Mapping[str, str] = field(default_factory=dict, compare=False)  # a wrapper's own model names -> Gemini IDs
    origin: str | None = None  # the user rule file that defined it; None: the bundled data

    def name_for(self, model_id: str) -> str | None:
        """The wrapper's own name for a Gemini model ID, if it has one."""
        return next((name for name, target in self.names.items() if target == model_id), None)


@dataclass(frozen=True)
class CallSites:
    packages: tuple[str, ...]
    rest_methods: tuple[str, ...]
    model_arguments: Mapping[str, ModelArgument]
    aliases: Mapping[str, str]
    client_flag: str = "vertexai"  # google.genai.Client(vertexai=True) talks to Vertex AI
    platform_hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # platform -> API hosts


@dataclass(frozen=True)
class TypeMapping:
    new: str
    positional: tuple[str, ...] = ()
    rename: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FunctionMapping:
    """A legacy module function that becomes a google-genai client method (port.yaml `functions`)."""

    new: str  # e.g. files.upload, on the client
    params: tuple[str, ...]
    to: Mapping[str, str]  # legacy parameter -> new keyword, or config.<key>
    dropped: Mapping[str, str] = field(default_factory=dict)  # parameter -> the one value that may be dropped
    returns: str = ""  # result kind, "each <kind>" for an iterable
    rule: str = "FLM213"


@dataclass(frozen=True)
class ResultKind:
    """What an object of a legacy result kind offers in google-genai (port.yaml `results`)."""

    attributes: Mapping[str, str]  # legacy attribute (or dotted path) -> google-genai name
    compared: tuple[str, ...] = ()


@dataclass(frozen=True)
class PortData:
    """What the SDK port knows about the legacy SDKs (rules/port.yaml)."""

    legacy_modules: Mapping[str, tuple[str, ...]]
    legacy_surface: tuple[str, ...]  # every module whose use means "not ported yet"
    legacy_consumers: tuple[str, ...]  # modules that stay but take legacy objects: a blocker beside the legacy SDK
    legacy_instance_members: tuple[str, ...]  # fnmatch patterns: members of legacy instances google-genai lacks
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
    functions: Mapping[str, FunctionMapping] = field(default_factory=dict)
    results: Mapping[str, ResultKind] = field(default_factory=dict)

    @property
    def configure_modules(self) -> tuple[str, ...]:
        """The module of each configure call (`vertexai` for vertexai.init)."""
        return tuple(sorted({call.rsplit(".", 1)[0] for call in self.configure_calls}))

    def removable_import(self, qualified: str) -> bool:
        """An import the port drops once nothing uses it: anything under a legacy SDK or the api_core
        exceptions module, and a configure call's module itself (`import vertexai`)."""
        under = (*(m for group in self.legacy_modules.values() for m in group), self.exception_module)
        return qualified in self.configure_modules or any(qualified == m or qualified.startswith(m + ".") for m in under)

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
    platforms: Mapping[str, Platform] = field(default_factory=dict)
    default_target_reason: str = ""
    rule_files: tuple[str, ...] = ()  # the user rule files merged into this catalogue
    _by_id: Mapping[str, Model] = field(repr=False, default_factory=dict)

    def model(self, model_id: str) -> Model | None:
        """Exact lookup of a bare model ID (no `models/` prefix, no resource path)."""
        return self._by_id.get(model_id)

    def platform_name(self, platform: str) -> str:
        return self.platforms[platform].name if platform in self.platforms else platform

    def serving_model(self, model_id: str, platform: str, on: dt.date) -> str:
        """The model that answers a request for `model_id` on `platform` on day `on`, routes followed.

        Routed requests are billed at the serving model's rates: price them with this ID.
        """
        seen = [model_id]
        model = self.model(model_id)
        while model is not None and len(seen) < 8:
            routed = model.routed_to(platform, on)
            if routed is None or routed in seen:
                break
            seen.append(routed)
            model = self.model(routed)
        return seen[-1]

    def price_in_force(self, model_id: str, on: dt.date) -> PricePeriod:
        """The price of `model_id` in force on day `on` (which period it is: `.describe()`)."""
        return self.price(model_id).in_force(on)

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
            article = "an" if model.kind[:1] in "aeiou" else "a"
            raise UserError(f"target model {target!r} is {article} {model.kind} model, not a text model")
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


# --------------------------------------------------------------------------- models.yaml


_CAPABILITY_KEYS = {
    "context_window", "max_output_tokens", "thinking", "sampling", "penalties", "prefill",
    "thinking_levels", "thinking_default", "thinking_budget_min", "thinking_budget_max", "thinking_can_disable",
    "unified_limit", "explicit_cache",
}  # fmt: skip
_LIFECYCLE_KEYS = {"released", "deprecated", "shutdown", "earliest_shutdown", "routed_to", "routed_since", "note", "source", "source_quality", "as_of"}
_MODEL_KEYS = {"ids", "family", "kind", "capabilities", "stage", "released", "deprecated", "shutdown", "note", "source", "source_quality", "as_of", "platforms"}


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
        thinking_levels=tuple(str(level).upper() for level in levels),
        thinking_default=check.get(data, "thinking_default", where, str, required=False),
        thinking_budget_min=check.get(data, "thinking_budget_min", where, int, required=False),
        thinking_budget_max=check.get(data, "thinking_budget_max", where, int, required=False),
        thinking_can_disable=check.get(data, "thinking_can_disable", where, bool, required=False),
        unified_limit=check.get(data, "unified_limit", where, bool, required=False, default=False),
        explicit_cache=check.choice(data, "explicit_cache", where, ("supported", "unsupported"), default="supported"),
    )


def _profiles(check: _Checker, data: Mapping[str, Any], known: Mapping[str, Capabilities] | None = None) -> dict[str, Capabilities]:
    profiles = dict(known or {})
    for name, body in check.mapping(check.get(data, "capabilities", "", dict, required=known is None, default={}), "capabilities").items():
        if name in profiles:
            check.fail(f"capabilities.{name}", "a profile name not already defined by the bundled rules/models.yaml", name)
        profiles[str(name)] = _capabilities(check, body, f"capabilities.{name}")
    return profiles


def _platforms(check: _Checker, data: Mapping[str, Any]) -> dict[str, Platform]:
    found = {}
    for key, body in check.mapping(check.get(data, "platforms", "", dict), "platforms").items():
        if key not in PLATFORMS:
            check.fail(f"platforms.{key}", "one of " + ", ".join(PLATFORMS), key)
        body = check.mapping(body, f"platforms.{key}")
        where = f"platforms.{key}"
        found[key] = Platform(key, check.get(body, "name", where, str), check.get(body, "lifecycle", where, str),
                              check.get(body, "article", where, str, required=False, default=""))
    for key in PLATFORMS:
        if key not in found:
            check.fail("platforms", f"an entry for {key}", None)
    return found


def _lifecycle(check: _Checker, body: Mapping[str, Any], where: str, platform: str, shared: Lifecycle) -> Lifecycle:
    check.only_keys(body, where, _LIFECYCLE_KEYS)

    def date(key: str) -> dt.date | None:
        return check.date(body, key, where) if key in body else getattr(shared, key)

    routed_to = check.get(body, "routed_to", where, str, required=False)
    routed_since = check.date(body, "routed_since", where)
    if (routed_to is None) != (routed_since is None):
        check.fail(where, "routed_to and routed_since together", routed_to or routed_since)
    return Lifecycle(
        platform=platform,
        source=check.get(body, "source", where, str, required=False, default=shared.source),
        source_quality=check.choice(body, "source_quality", where, SOURCE_QUALITIES, default=shared.source_quality),
        as_of=date("as_of"), released=date("released"), deprecated=date("deprecated"), shutdown=date("shutdown"),
        earliest_shutdown=check.date(body, "earliest_shutdown", where), routed_to=routed_to, routed_since=routed_since,
        note=check.get(body, "note", where, str, required=False),
    )  # fmt: skip


def _model(check: _Checker, entry: Any, where: str, profiles: Mapping[str, Capabilities], default_as_of: dt.date | None, origin: str | None) -> Model:
    entry = check.mapping(entry, where)
    check.only_keys(entry, where, _MODEL_KEYS)
    ids = check.get(entry, "ids", where, list)
    if not ids or not all(isinstance(i, str) and i.strip() == i and i for i in ids):
        check.fail(f"{where}.ids", "a non-empty list of model ID strings", ids)
    kind = check.choice(entry, "kind", where, KINDS, default="text")
    family = capabilities = None
    if kind == "text":
        family = check.choice(entry, "family", where, FAMILIES)
        profile = check.get(entry, "capabilities", where, str)
        if profile not in profiles:
            check.fail(f"{where}.capabilities", "the name of a capability profile (see rules/models.yaml `capabilities:`)", profile)
        capabilities = profiles[profile]
    source = check.get(entry, "source", where, str, required=origin is None, default=origin)
    quality = check.choice(entry, "source_quality", where, SOURCE_QUALITIES, default="google")
    as_of = check.date(entry, "as_of", where) or default_as_of
    shared = Lifecycle(
        platform="", source=source, source_quality=quality, as_of=as_of,
        released=check.date(entry, "released", where), deprecated=check.date(entry, "deprecated", where),
        shutdown=check.date(entry, "shutdown", where),
    )  # fmt: skip
    blocks = check.mapping(check.get(entry, "platforms", where, dict, required=False, default={}), f"{where}.platforms")
    for key in blocks:
        if key not in PLATFORMS:
            check.fail(f"{where}.platforms.{key}", "one of " + ", ".join(PLATFORMS), key)
    lifecycles = {
        p: _lifecycle(check, check.mapping(blocks[p], f"{where}.platforms.{p}"), f"{where}.platforms.{p}", p, shared)
        if p in blocks else replace(shared, platform=p)
        for p in PLATFORMS
    }
    return Model(
        id=ids[0], ids=tuple(ids), kind=kind, family=family, capabilities=capabilities, source=source,
        released=shared.released, deprecated=shared.deprecated, shutdown=shared.shutdown,
        note=check.get(entry, "note", where, str, required=False), stage=check.choice(entry, "stage", where, STAGES, default="ga"),
        source_quality=quality, as_of=as_of, lifecycles=lifecycles, origin=origin,
    )  # fmt: skip


def _models(check: _Checker, data: Mapping[str, Any], profiles: Mapping[str, Capabilities], default_as_of: dt.date | None,
            origin: str | None, known: Mapping[str, Model]) -> list[Model]:  # fmt: skip
    models: list[Model] = []
    seen: dict[str, str] = {}
    for index, entry in enumerate(check.get(data, "models", "", list, required=origin is None, default=[])):
        where = f"models[{index}]"
        model = _model(check, entry, where, profiles, default_as_of, origin)
        for model_id in model.ids:
            if model_id in known:
                check.fail(f"{where}.ids", "model IDs not already defined by " + (known[model_id].origin or "the bundled rules/models.yaml"), model_id)
            if model_id in seen:
                check.fail(f"{where}.ids", f"IDs listed once (also in {seen[model_id]})", model_id)
            seen[model_id] = where
        models.append(model)
    return models


def _check_routes(check: _Checker, models: Iterable[Model], by_id: Mapping[str, Model]) -> None:
    for model in models:
        for lifecycle in model.lifecycles.values():
            if lifecycle.routed_to is not None and lifecycle.routed_to not in by_id:
                check.fail(f"{model.id}.platforms.{lifecycle.platform}.routed_to", "a model ID listed under models", lifecycle.routed_to)


def choose_default_target(models: Iterable[Model], platforms: Mapping[str, Platform], as_of: dt.date) -> tuple[str, str]:
    """The newest GA Flash-Lite model with no announced shutdown on any platform, and why it was chosen."""
    candidates = [m for m in models if m.kind == "text" and m.family == "flash-lite" and m.stage == "ga"]
    free = [m for m in candidates if not m.announced_shutdowns() and not any(lc.routed_to for lc in m.lifecycles.values())]
    if not free:
        raise UserError("rules/models.yaml: no GA Flash-Lite model without an announced shutdown: set policy.default_target")
    chosen = max(free, key=lambda m: m.released or dt.date.min)
    passed = [
        f"{m.id} (shuts down " + ", ".join(f"{d} on {platforms[p].in_text}" for p, d in sorted(m.announced_shutdowns().items())) + ")"
        for m in sorted(candidates, key=lambda m: m.released or dt.date.min, reverse=True)
        if m.announced_shutdowns() and not m.is_shut_down(as_of)
    ]
    reason = f"the newest GA Flash-Lite model with no announced shutdown on any platform (released {chosen.released})"
    if passed:
        reason += "; passed over: " + "; ".join(passed) + " - still fully supported with --target"
    return chosen.id, reason


# --------------------------------------------------------------------------- pricing.yaml


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


def _periods(check: _Checker, body: Mapping[str, Any], where: str, standard: Rates, long_prompt: Rates | None) -> tuple[PricePeriod, ...]:
    periods: list[PricePeriod] = []
    entries = check.get(body, "periods", where, list, required=False, default=[])
    for i, entry in enumerate(entries):
        pw = f"{where}.periods[{i}]"
        entry = check.mapping(entry, pw)
        check.only_keys(entry, pw, {"from", "until", "input", "output", "cached_input", "long_prompt", "note"})
        start, end = check.date(entry, "from", pw), check.date(entry, "until", pw)
        if (i == 0) != (start is None) or (i == len(entries) - 1) != (end is None):
            check.fail(pw, "periods in order: the first without `from`, the last without `until`, the others with both", dict(entry))
        if periods and (periods[-1].end is None or start != periods[-1].end + dt.timedelta(days=1)):
            check.fail(f"{pw}.from", f"the day after the previous period's `until` ({periods[-1].end})", start)
        if start is not None and end is not None and end < start:
            check.fail(f"{pw}.until", f"a date on or after `from` ({start})", end)
        lng = long_prompt
        if "long_prompt" in entry:
            lng = _rates(check, check.mapping(entry["long_prompt"], f"{pw}.long_prompt"), f"{pw}.long_prompt", fallback=long_prompt)
        periods.append(PricePeriod(start, end, _rates(check, entry, pw, fallback=standard), lng, check.get(entry, "note", pw, str, required=False)))
    return tuple(periods)


def _load_pricing(path: Path) -> Pricing:
    check = _Checker(path)
    data = _read_yaml(path)
    as_of = check.date(data, "as_of", "", required=True)
    prices: dict[str, Price] = {}
    for model_id, body in check.mapping(check.get(data, "models", "", dict), "models").items():
        where = f"models.{model_id}"
        body = check.mapping(body, where)
        check.only_keys(body, where, {"input", "output", "cached_input", "long_prompt", "batch_discount", "periods", "source", "source_quality", "as_of"})
        standard = _rates(check, body, where)
        long_prompt, above = None, None
        if "long_prompt" in body:
            lp = check.mapping(body["long_prompt"], f"{where}.long_prompt")
            above = check.get(lp, "above", f"{where}.long_prompt", int)
            long_prompt = _rates(check, lp, f"{where}.long_prompt")
        discount = check.get(body, "batch_discount", where, float, required=False, default=0.0)
        if not 0.0 <= discount < 1.0:
            check.fail(f"{where}.batch_discount", "a fraction from 0 to below 1", discount)
        prices[model_id] = Price(
            model=model_id, standard=standard, long_prompt_above=above, long_prompt=long_prompt,
            batch_discount=discount, source=check.get(body, "source", where, str),
            periods=_periods(check, body, where, standard, long_prompt),
            source_quality=check.choice(body, "source_quality", where, SOURCE_QUALITIES, default="google"),
            as_of=check.date(body, "as_of", where) or as_of,
        )  # fmt: skip
    return Pricing(
        as_of=as_of,
        currency=check.get(data, "currency", "", str),
        per_tokens=check.get(data, "per_tokens", "", int),
        source=check.get(data, "source", "", str),
        prices=prices,
    )


# --------------------------------------------------------------------------- rules.yaml, call_sites.yaml


def _rules(check: _Checker, data: Mapping[str, Any], known: Mapping[str, Rule], required: bool = True) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for index, entry in enumerate(check.get(data, "rules", "", list, required=required, default=[])):
        where = f"rules[{index}]"
        entry = check.mapping(entry, where)
        check.only_keys(entry, where, {"id", "name", "title", "tier", "message", "docs", "explain"})
        rule_id = check.get(entry, "id", where, str)
        if len(rule_id) < 4 or not rule_id[:3].isalpha() or not rule_id[3:].isdigit():
            check.fail(f"{where}.id", "an ID like FLM001", rule_id)
        if rule_id in known:
            raise UserError(f"{check.path}: rule {rule_id} is already defined by the bundled rules")
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


def _load_rules(path: Path) -> dict[str, Rule]:
    return _rules(_Checker(path), _read_yaml(path), {})


def _model_arguments(check: _Checker, data: Mapping[str, Any], known: Mapping[str, ModelArgument], origin: str | None) -> dict[str, ModelArgument]:
    arguments: dict[str, ModelArgument] = {}
    for index, entry in enumerate(check.get(data, "model_arguments", "", list, required=origin is None, default=[])):
        where = f"model_arguments[{index}]"
        entry = check.mapping(entry, where)
        check.only_keys(entry, where, {"call", "keyword", "position", "sdk", "platform", "names"})
        names = check.mapping(check.get(entry, "names", where, dict, required=False, default={}), f"{where}.names")
        for name, model_id in names.items():
            if not isinstance(model_id, str):
                check.fail(f"{where}.names.{name}", "a Gemini model ID", model_id)
        argument = ModelArgument(
            call=check.get(entry, "call", where, str),
            keyword=check.get(entry, "keyword", where, str),
            position=check.get(entry, "position", where, int, required=False),
            sdk=check.choice(entry, "sdk", where, SDKS),
            platform=check.choice(entry, "platform", where, PLATFORMS) if "platform" in entry else None,
            names={str(k): v for k, v in names.items()},
            origin=origin,
        )
        if argument.call in known or argument.call in arguments:
            defined = known[argument.call].origin if argument.call in known else str(check.path)
            check.fail(f"{where}.call", "a call not already defined by " + (defined or "the bundled rules/call_sites.yaml"), argument.call)
        arguments[argument.call] = argument
    return arguments


def _load_call_sites(path: Path) -> CallSites:
    check = _Checker(path)
    data = _read_yaml(path)
    aliases = check.mapping(check.get(data, "aliases", "", dict, required=False, default={}), "aliases")
    hints = check.mapping(check.get(data, "platform_hints", "", dict), "platform_hints")
    hosts = check.mapping(check.get(hints, "hosts", "platform_hints", dict), "platform_hints.hosts")
    for key in hosts:
        if key not in PLATFORMS:
            check.fail(f"platform_hints.hosts.{key}", "one of " + ", ".join(PLATFORMS), key)
    return CallSites(
        packages=tuple(check.get(data, "packages", "", list)),
        rest_methods=tuple(check.get(data, "rest_methods", "", list)),
        model_arguments=_model_arguments(check, data, {}, None),
        aliases={str(k): str(v) for k, v in aliases.items()},
        client_flag=check.get(hints, "client_flag", "platform_hints", str),
        platform_hosts={k: tuple(v) for k, v in hosts.items()},
    )


# --------------------------------------------------------------------------- port.yaml


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
    functions = {}
    for name, body in mapping("functions").items():
        where = f"functions.{name}"
        body = check.mapping(body, where)
        check.only_keys(body, where, {"new", "params", "to", "dropped", "returns", "rule"})
        functions[str(name)] = FunctionMapping(
            new=check.get(body, "new", where, str),
            params=tuple(check.get(body, "params", where, list)),
            to=dict(check.get(body, "to", where, dict)),
            dropped={str(k): str(v) for k, v in check.get(body, "dropped", where, dict, required=False, default={}).items()},
            returns=check.get(body, "returns", where, str, required=False, default=""),
            rule=check.get(body, "rule", where, str),
        )
    results = {}
    for kind, body in mapping("results").items():
        where = f"results.{kind}"
        body = check.mapping(body, where)
        check.only_keys(body, where, {"attributes", "compared"})
        results[str(kind)] = ResultKind(
            attributes=dict(check.get(body, "attributes", where, dict)),
            compared=tuple(check.get(body, "compared", where, list, required=False, default=[])),
        )
    for name, function in functions.items():
        kind = function.returns.removeprefix("each ")
        if kind and kind not in results:
            check.fail(f"functions.{name}.returns", f"a kind under `results` ({', '.join(sorted(results))})", function.returns)
    exceptions = mapping("exceptions")
    return PortData(
        legacy_modules={sdk: tuple(m) for sdk, m in mapping("legacy_modules").items()},
        legacy_surface=tuple(check.get(data, "legacy_surface", "", list)),
        legacy_consumers=tuple(check.get(data, "legacy_consumers", "", list)),
        legacy_instance_members=tuple(check.get(data, "legacy_instance_members", "", list)),
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
        functions=functions,
        results=results,
    )



# --------------------------------------------------------------------------- a user's rule files

USER_SECTIONS = ("rules", "models", "capabilities", "model_arguments", "aliases", "packages")


def _merge_user_file(path: Path, rules: dict[str, Rule], profiles: dict[str, Capabilities], models: list[Model],
                     by_id: dict[str, Model], call_sites: CallSites) -> CallSites:  # fmt: skip
    """Add one user rule file's sections to the catalogue; anything already defined is an error."""
    check = _Checker(path)
    data = _read_yaml(path)
    check.only_keys(data, "", USER_SECTIONS)
    rules.update(_rules(check, data, rules, required=False))
    profiles.update(_profiles(check, data, profiles))
    added = _models(check, data, profiles, None, str(path), by_id)
    models.extend(added)
    by_id.update({model_id: model for model in added for model_id in model.ids})
    arguments = _model_arguments(check, data, call_sites.model_arguments, str(path))
    for argument in arguments.values():
        for name, model_id in argument.names.items():
            if model_id not in by_id:
                check.fail(f"model_arguments ({argument.call}).names.{name}", "a model ID known to rules/models.yaml or this file's `models`", model_id)
    aliases = check.mapping(check.get(data, "aliases", "", dict, required=False, default={}), "aliases")
    packages = [str(p) for p in check.get(data, "packages", "", list, required=False, default=[])]
    packages += [a.call.split("(")[0].rsplit(".", 1)[0] for a in arguments.values()]  # the wrapper's module
    return replace(
        call_sites,
        packages=tuple(dict.fromkeys((*call_sites.packages, *packages))),
        model_arguments={**call_sites.model_arguments, **arguments},
        aliases={**call_sites.aliases, **{str(k): str(v) for k, v in aliases.items()}},
    )


def load_catalog(directory: Path | None = None, extra_rule_files: Iterable[Path] = ()) -> Catalog:
    """Read the bundled rules/*.yaml, then merge a user's extra rule files over them, into one Catalog."""
    directory = directory or rules_dir()
    models_path = directory / "models.yaml"
    check = _Checker(models_path)
    data = _read_yaml(models_path)
    as_of = check.date(data, "as_of", "", required=True)
    platforms = _platforms(check, data)
    profiles = _profiles(check, data)
    models = _models(check, data, profiles, as_of, None, {})
    by_id = {model_id: model for model in models for model_id in model.ids}
    _check_routes(check, models, by_id)
    policy = check.mapping(check.get(data, "policy", "", dict), "policy")
    check.only_keys(policy, "policy", {"default_target", "swap_families", "never_swap"})
    families = check.get(policy, "swap_families", "policy", list)
    for family in families:
        if family not in FAMILIES:
            check.fail("policy.swap_families", "families from " + ", ".join(FAMILIES), family)
    if "default_target" in policy:
        default_target = check.get(policy, "default_target", "policy", str)
        if default_target not in by_id:
            check.fail("policy.default_target", "an ID listed under models", default_target)
        reason = "set by policy.default_target in rules/models.yaml"
    else:
        default_target, reason = choose_default_target(models, platforms, as_of)
    rules = _load_rules(directory / "rules.yaml")
    call_sites = _load_call_sites(directory / "call_sites.yaml")
    extra = tuple(Path(p) for p in extra_rule_files)
    for path in extra:
        call_sites = _merge_user_file(path, rules, profiles, models, by_id, call_sites)
    return Catalog(
        as_of=as_of,
        models=tuple(models),
        default_target=default_target,
        swap_families=frozenset(families),
        never_swap=frozenset(check.get(policy, "never_swap", "policy", list, required=False, default=[])),
        pricing=_load_pricing(directory / "pricing.yaml"),
        rules=rules,
        call_sites=call_sites,
        port=_load_port(directory / "port.yaml"),
        platforms=platforms,
        default_target_reason=reason,
        rule_files=tuple(str(p) for p in extra),
        _by_id=by_id,
    )


@functools.lru_cache(maxsize=1)
def bundled_catalog() -> Catalog:
    """The catalogue shipped with the tool, loaded once per process."""
    return load_catalog()
