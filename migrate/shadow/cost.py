"""What a call cost, from its own usage metadata, priced from rules/pricing.yaml. Pure.

Per request (Gemini `usageMetadata`):

* billed input  = promptTokenCount - cachedContentTokenCount, at the input rate;
* cached tokens = cachedContentTokenCount, at the cached-input rate;
* output        = candidatesTokenCount + thoughtsTokenCount, at the output rate (thinking is
  billed as output);
* toolUsePromptTokenCount is kept for the record but not added again (it is counted inside the
  prompt);
* the long-prompt tier applies to the *whole* request once promptTokenCount crosses it
  (`catalog.Price.rates`), with the price period in force on the day of the call.

Which model's rates: the one that served the call. When the response's modelVersion names another
model than asked (or, with no modelVersion, the catalogue says the model is routed on that platform
that day), the call is billed at the serving model's rates, as Google bills it (`Charge.why` says so).

Batch: the shadow's own calls are synchronous requests, billed at standard rates, so `cost_usd` is
always the standard price. `--batch-pricing` (the team's production traffic goes through Batch) is
a projection: `projection_factor` scales each model's figures by its own `batch_discount`, and a
model without one in rules/pricing.yaml keeps its standard rates (`snapshot` says which).

Loud, never silent: a model with no price is a `UserError` before anything is sent, and a billable
call (tokens > 0) that prices to $0 raises `ZeroCostError`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from migrate.catalog import Catalog, Price, Rates
from migrate.errors import UserError
from migrate.shadow.served import PLATFORM_NAMES, same_model

DEFAULT_MAX_OUTPUT_TOKENS = 65_536  # worst case for a model the catalogue does not describe


class ZeroCostError(Exception):
    """A call that used tokens priced to $0: the price table is wrong or incomplete."""


@dataclass(frozen=True, slots=True)
class Charge:
    """What one call cost, and at whose rates (`why` is None when at the requested model's)."""

    usd: float
    priced_as: str
    why: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call (Gemini names in comments)."""

    prompt: int = 0  # promptTokenCount (includes cached and tool-use prompt tokens)
    cached: int = 0  # cachedContentTokenCount
    candidates: int = 0  # candidatesTokenCount
    thoughts: int = 0  # thoughtsTokenCount
    total: int = 0  # totalTokenCount
    tool_use_prompt: int = 0  # toolUsePromptTokenCount (informational)

    @property
    def billable(self) -> bool:
        return self.prompt > 0 or self.candidates > 0 or self.thoughts > 0

    @property
    def output(self) -> int:
        return self.candidates + self.thoughts

    def as_dict(self) -> dict[str, int]:
        return {"prompt": self.prompt, "cached": self.cached, "candidates": self.candidates, "thoughts": self.thoughts,
                "total": self.total, "tool_use_prompt": self.tool_use_prompt}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Usage | None":
        if data is None:
            return None
        return cls(**{k: int(data.get(k) or 0) for k in cls.__slots__})


def _int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


_GEMINI_USAGE = (
    ("prompt", "promptTokenCount", "prompt_token_count"),
    ("cached", "cachedContentTokenCount", "cached_content_token_count"),
    ("candidates", "candidatesTokenCount", "candidates_token_count"),
    ("thoughts", "thoughtsTokenCount", "thoughts_token_count"),
    ("total", "totalTokenCount", "total_token_count"),
    ("tool_use_prompt", "toolUsePromptTokenCount", "tool_use_prompt_token_count"),
)


def usage_from_gemini(meta: Any) -> Usage | None:
    """`usageMetadata` (camelCase or snake_case) -> Usage; None when the response carried none."""
    if not isinstance(meta, Mapping) or not meta:
        return None
    values = {}
    for name, camel, snake in _GEMINI_USAGE:
        value = meta.get(camel)
        if value is None:
            value = meta.get(snake)
        values[name] = value if type(value) is int and value >= 0 else _int(value)
    if not values["total"]:
        values["total"] = values["prompt"] + values["candidates"] + values["thoughts"]
    return Usage(**values)


def usage_from_openai(usage: Any) -> Usage | None:
    """OpenAI `usage` -> Usage. completion_tokens includes reasoning tokens; we split them out."""
    if not isinstance(usage, Mapping) or not usage:
        return None
    prompt = _int(usage.get("prompt_tokens"))
    completion = _int(usage.get("completion_tokens"))
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    reasoning = min(completion, _int(completion_details.get("reasoning_tokens") if isinstance(completion_details, Mapping) else 0))
    cached = _int(prompt_details.get("cached_tokens") if isinstance(prompt_details, Mapping) else 0)
    return Usage(
        prompt=prompt,
        cached=min(cached, prompt),
        candidates=completion - reasoning,
        thoughts=reasoning,
        total=_int(usage.get("total_tokens")) or prompt + completion,
    )


def cost_usd(usage: Usage, rates: Rates, per_tokens: int) -> float:
    """The arithmetic alone: rates are already tier- and batch-adjusted."""
    billed_input = max(0, usage.prompt - usage.cached)
    cached = min(usage.cached, usage.prompt) if usage.prompt else usage.cached
    return (billed_input * rates.input + cached * rates.cached_input + usage.output * rates.output) / per_tokens


def _override_price(model: str, body: Any, where: str) -> Price:
    if not isinstance(body, Mapping):
        raise UserError(f"{where}: expected a mapping with input/output (USD per 1M tokens)")

    def rate(key: str, default: float | None = None) -> float:
        value = body.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise UserError(f"{where}.{key}: expected a non-negative number (USD per 1M tokens), got {value!r}")
        return float(value)

    inp = rate("input")
    standard = Rates(input=inp, output=rate("output"), cached_input=rate("cached_input", inp))
    return Price(
        model=model, standard=standard, long_prompt_above=None, long_prompt=None,
        batch_discount=float(body.get("batch_discount", 0.0) or 0.0),
        source=str(body.get("source") or "local override"),
    )  # fmt: skip


def load_price_overrides(path: Path) -> dict[str, Price]:
    """A small YAML file `models: {id: {input, output, cached_input?, batch_discount?, source?}}`:
    negotiated rates, or a non-Gemini primary (an OpenAI-compatible deployment)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read price overrides: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    models = data.get("models") if isinstance(data, Mapping) else None
    if not isinstance(models, Mapping):
        raise UserError(f"{path}: expected a top-level `models:` mapping of model ID -> rates")
    return {str(m): _override_price(str(m), body, f"{path}: models.{m}") for m, body in models.items()}


class Pricer:
    """Prices calls for a fixed set of models; built before any request is sent.

    `today` is the run's date (None: the day of each call, UTC): it picks the price period."""

    def __init__(self, catalog: Catalog, models: Iterable[str], *, batch: bool = False,
                 overrides: Mapping[str, Price] | None = None, today: dt.date | None = None):
        self.catalog = catalog
        self.batch = batch
        self.per_tokens = catalog.pricing.per_tokens
        self.overrides = dict(overrides or {})
        self.today = today
        self.prices: dict[str, Price] = {}
        for model in models:
            self.prices[model] = self._lookup(model)
            rates = self.prices[model].rates(0, on=self.day())
            if rates.input <= 0 and rates.output <= 0:
                raise UserError(f"the price of {model!r} is $0 for both input and output: fix the price table")
        self._max_output: dict[str, int] = {}
        self._served: dict[str, str | None] = {}

    def _lookup(self, model: str) -> Price:
        if model in self.overrides:
            return self.overrides[model]
        return self.catalog.price(model)  # UserError when missing: loud, before spending

    def day(self) -> dt.date:
        return self.today or dt.datetime.now(dt.timezone.utc).date()

    def rates(self, model: str, prompt_tokens: int, on: dt.date | None = None) -> Rates:
        """Standard rates (never batch: see the module docstring) in force on `on`."""
        if model not in self.prices:
            self.prices[model] = self._lookup(model)
        return self.prices[model].rates(prompt_tokens, on=on or self.day())

    def cost(self, model: str, usage: Usage, on: dt.date | None = None) -> float:
        """USD for one call at `model`'s rates; raises ZeroCostError for a billable call that prices to $0."""
        value = cost_usd(usage, self.rates(model, usage.prompt, on), self.per_tokens)
        if value <= 0.0 and usage.billable:
            raise ZeroCostError(
                f"{model}: a call with {usage.prompt} prompt and {usage.output} output tokens priced to $0"
            )
        return value

    def charge(self, model: str, usage: Usage, *, served: str | None = None, platform: str | None = None,
               on: dt.date | None = None) -> Charge:
        """One call, at the rates of the model that served it (see `billed_as`)."""
        priced_as, why = self.billed_as(model, served=served, platform=platform, on=on)
        return Charge(self.cost(priced_as, usage, on), priced_as, why)

    def billed_as(self, model: str, *, served: str | None = None, platform: str | None = None,
                  on: dt.date | None = None) -> tuple[str, str | None]:
        """(the model whose rates apply, why when it is not `model`).

        The response's modelVersion decides; without one, the catalogue's routing on `platform`. A
        model priced by --prices (a negotiated rate, a non-Gemini deployment) keeps that price."""
        if model in self.overrides:
            return model, None
        if served and not same_model(model, served, self.catalog):
            priced = self._priced_id(served)
            if priced is None:
                return model, f"served by {served}, which has no price in rules/pricing.yaml: priced as {model}"
            return priced, f"served by {served} (the response's modelVersion), billed at its rates"
        if not served and platform:
            routed = self.catalog.serving_model(model, platform, on or self.day())
            if routed != model and self._priced_id(routed) == routed:
                where = PLATFORM_NAMES.get(platform, platform)
                return routed, f"routed to {routed} on {where} (rules/models.yaml), billed at its rates"
        return model, None

    def _priced_id(self, version: str) -> str | None:
        """The price-table model for a modelVersion ("gemini-3.8-flash-001" -> "gemini-3.8-flash")."""
        if version not in self._served:
            found = None
            name = version.removeprefix("models/")
            while name and found is None:
                try:
                    self.catalog.price(name)
                    found = name
                except UserError:
                    name = name.rpartition("-")[0] if "-" in name else ""
                    found = None
            if found is not None:
                self.rates(found, 0)  # known from now on: in the snapshot
            self._served[version] = found
        return self._served[version]

    def projection_factor(self, model: str) -> float:
        """What the projection multiplies a call's standard cost by: 1 - the model's batch discount
        under --batch-pricing (a model without one keeps its standard rates), else 1."""
        price = self.prices.get(model)
        return 1.0 - price.batch_discount if self.batch and price is not None else 1.0

    def max_output_tokens(self, model: str) -> int:
        if model not in self._max_output:
            meta = self.catalog.model(model)
            caps = meta.capabilities if meta else None
            self._max_output[model] = caps.max_output_tokens if caps else DEFAULT_MAX_OUTPUT_TOKENS
        return self._max_output[model]

    def worst_case(self, model: str, prompt_tokens_max: int, output_tokens_max: int | None) -> float:
        """The most one call can cost: every prompt token uncached, every output token produced."""
        out = output_tokens_max if output_tokens_max else self.max_output_tokens(model)
        rates = self.rates(model, prompt_tokens_max)
        return (prompt_tokens_max * rates.input + out * rates.output) / self.per_tokens

    def snapshot(self) -> dict[str, Any]:
        """The rates in force, for the manifest: what every cost in the run was computed with, which
        price period that is (and when it ends), and whether a batch rate exists for each model."""
        pricing, day = self.catalog.pricing, self.day()
        models = {}
        for model, price in self.prices.items():
            std = price.rates(0, on=day)
            period = price.in_force(day)
            entry: dict[str, Any] = {"input": std.input, "output": std.output, "cached_input": std.cached_input,
                                     "batch_discount": price.batch_discount, "source": price.source,
                                     "as_of": price.as_of.isoformat() if price.as_of else None,
                                     "override": model in self.overrides,
                                     "period": {"from": _iso(period.start), "until": _iso(period.end),
                                                "note": period.note, "text": period.describe()}}
            if period.end is not None:
                after = period.end + dt.timedelta(days=1)
                nxt = price.rates(0, on=after)
                entry["next_period"] = {"from": after.isoformat(), "input": nxt.input, "output": nxt.output,
                                        "cached_input": nxt.cached_input}
            if price.long_prompt_above is not None:
                lng = price.rates(price.long_prompt_above + 1, on=day)
                entry["long_prompt"] = {"above": price.long_prompt_above, "input": lng.input,
                                        "output": lng.output, "cached_input": lng.cached_input}
            if self.batch:
                entry["batch_applies"] = price.batch_discount > 0
            models[model] = entry
        return {"as_of": pricing.as_of.isoformat(), "source": pricing.source, "currency": pricing.currency,
                "per_tokens": pricing.per_tokens, "batch": self.batch, "priced_on": day.isoformat(),
                "models": models}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
