"""Cost from usageMetadata: input minus cached, cache rate, thinking as output, long tier, batch, loud errors."""

import datetime as dt

import pytest

from migrate.catalog import bundled_catalog
from migrate.errors import UserError
from migrate.shadow.cost import Pricer, Usage, ZeroCostError, load_price_overrides, usage_from_gemini, usage_from_openai

CAT = bundled_catalog()
PRO = "gemini-2.5-pro"  # has a long-prompt tier in the bundled table
LITE = CAT.default_target
DAY = dt.date(2026, 11, 23)


def expected(model, prompt, cached, out, *, batch=False):
    rates = CAT.price(model).rates(prompt, on=DAY, batch=batch)
    return ((prompt - cached) * rates.input + cached * rates.cached_input + out * rates.output) / CAT.pricing.per_tokens


def test_usage_from_gemini_reads_every_field_in_either_casing():
    camel = {"promptTokenCount": 120, "cachedContentTokenCount": 20, "candidatesTokenCount": 30,
             "thoughtsTokenCount": 50, "toolUsePromptTokenCount": 4, "totalTokenCount": 200}
    snake = {"prompt_token_count": 120, "cached_content_token_count": 20, "candidates_token_count": 30,
             "thoughts_token_count": 50, "tool_use_prompt_token_count": 4, "total_token_count": 200}
    for meta in (camel, snake):
        assert usage_from_gemini(meta) == Usage(prompt=120, cached=20, candidates=30, thoughts=50, total=200, tool_use_prompt=4)
    assert usage_from_gemini(None) is None and usage_from_gemini({}) is None
    assert usage_from_gemini({"promptTokenCount": 7}).total == 7


def test_thinking_is_output_and_cached_tokens_use_the_cache_rate():
    pricer = Pricer(CAT, [PRO], today=DAY)
    usage = Usage(prompt=1000, cached=400, candidates=100, thoughts=900, total=2000)
    assert pricer.cost(PRO, usage) == pytest.approx(expected(PRO, 1000, 400, 1000))
    no_thoughts = Usage(prompt=1000, cached=400, candidates=100, thoughts=0)
    assert pricer.cost(PRO, usage) > pricer.cost(PRO, no_thoughts)


def test_long_prompt_tier_applies_to_the_whole_request():
    pricer = Pricer(CAT, [PRO], today=DAY)
    above = CAT.price(PRO).long_prompt_above
    small = pricer.cost(PRO, Usage(prompt=above, candidates=1000))
    big = pricer.cost(PRO, Usage(prompt=above + 1, candidates=1000))
    assert big == pytest.approx(expected(PRO, above + 1, 0, 1000))
    assert big / small > 1.5  # both the input and the output rate changed, not just the tokens past the line


def test_calls_cost_standard_rates_and_batch_is_a_projection_only_where_a_model_has_a_batch_rate():
    usage = Usage(prompt=5000, candidates=500)
    standard = Pricer(CAT, [LITE], today=DAY).cost(LITE, usage)
    batch = Pricer(CAT, [LITE, "gemini-1.5-pro"], today=DAY, batch=True)
    assert batch.cost(LITE, usage) == pytest.approx(standard)  # the shadow's own calls are synchronous
    assert batch.projection_factor(LITE) == pytest.approx(1 - CAT.price(LITE).batch_discount)
    assert batch.projection_factor(LITE) < 1
    assert CAT.price("gemini-1.5-pro").batch_discount == 0  # no batch rate in the table ...
    assert batch.projection_factor("gemini-1.5-pro") == 1.0  # ... so its standard rates stay
    snap = batch.snapshot()["models"]
    assert snap[LITE]["batch_applies"] is True and snap["gemini-1.5-pro"]["batch_applies"] is False
    assert Pricer(CAT, [LITE], today=DAY).projection_factor(LITE) == 1.0


FLASH = "gemini-3.8-flash"  # an introductory price until 2026-12-31 in rules/pricing.yaml


def test_each_call_is_priced_with_the_period_in_force_on_the_runs_date_and_the_snapshot_says_which():
    usage = Usage(prompt=10_000, candidates=1_000)
    december = Pricer(CAT, [FLASH], today=dt.date(2026, 12, 15))
    january = Pricer(CAT, [FLASH], today=dt.date(2027, 1, 2))
    intro, later = CAT.price(FLASH).in_force(dt.date(2026, 12, 15)), CAT.price(FLASH).in_force(dt.date(2027, 1, 2))
    assert intro != later
    assert december.cost(FLASH, usage) == pytest.approx((10_000 * intro.standard.input + 1_000 * intro.standard.output) / 1e6)
    assert january.cost(FLASH, usage) == pytest.approx((10_000 * later.standard.input + 1_000 * later.standard.output) / 1e6)
    assert january.cost(FLASH, usage) > december.cost(FLASH, usage)
    snap = december.snapshot()
    entry = snap["models"][FLASH]
    assert snap["priced_on"] == "2026-12-15" and entry["period"]["until"] == "2026-12-31"
    assert entry["input"] == intro.standard.input and "introductory" in entry["period"]["text"]
    assert entry["next_period"] == {"from": "2027-01-01", "input": later.standard.input, "output": later.standard.output,
                                    "cached_input": later.standard.cached_input}
    assert "next_period" not in january.snapshot()["models"][FLASH]


def test_a_routed_call_is_priced_as_the_model_that_served_it():
    usage = Usage(prompt=10_000, candidates=1_000)
    day = dt.date(2026, 12, 3)
    pricer = Pricer(CAT, [PRO], today=day)
    asked = pricer.charge(PRO, usage, served=PRO + "-001")  # a dated version of the model asked for
    assert (asked.priced_as, asked.why) == (PRO, None)
    by_version = pricer.charge(PRO, usage, served=FLASH + "-001")
    assert by_version.priced_as == FLASH and "modelVersion" in by_version.why
    assert by_version.usd == pytest.approx(Pricer(CAT, [FLASH], today=day).cost(FLASH, usage))
    # no modelVersion: the catalogue's routing on that platform (the Developer API routes 2.5 Pro since 2026-12-01)
    assert CAT.model(PRO).routed_to("developer", day) == FLASH
    by_catalogue = pricer.charge(PRO, usage, platform="developer")
    assert by_catalogue.priced_as == FLASH and "rules/models.yaml" in by_catalogue.why
    assert pricer.charge(PRO, usage, platform="developer", on=dt.date(2026, 11, 20)).priced_as == PRO
    assert pricer.charge(PRO, usage, platform="vertex").priced_as == PRO  # not routed on Vertex
    unknown = pricer.charge(PRO, usage, served="some-private-model")
    assert unknown.priced_as == PRO and "no price" in unknown.why
    assert FLASH in pricer.snapshot()["models"]  # the manifest carries the rates the routed calls used
    negotiated = Pricer(CAT, [PRO], today=day, overrides={PRO: CAT.price(PRO)})
    assert negotiated.charge(PRO, usage, served="gpt-4o-2024-08-06").priced_as == PRO  # --prices keeps its rate


def test_missing_model_is_a_loud_error_before_anything_is_sent():
    with pytest.raises(UserError, match="no price"):
        Pricer(CAT, ["gpt-imaginary"])


def test_billable_call_that_prices_to_zero_raises(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("models:\n  free-model: {input: 0, output: 0.0000001}\n")
    pricer = Pricer(CAT, ["free-model"], overrides=load_price_overrides(path), today=DAY)
    with pytest.raises(ZeroCostError):
        pricer.cost("free-model", Usage(prompt=100, candidates=0))
    assert pricer.cost("free-model", Usage()) == 0.0  # nothing used: nothing billed, no error


def test_all_zero_price_table_entry_is_refused(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("models:\n  gratis: {input: 0, output: 0}\n")
    with pytest.raises(UserError, match=r"\$0"):
        Pricer(CAT, ["gratis"], overrides=load_price_overrides(path))


def test_price_overrides_validate(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("models:\n  gpt-x: {input: -1, output: 2}\n")
    with pytest.raises(UserError, match="gpt-x.input"):
        load_price_overrides(path)
    path.write_text("- just a list\n")
    with pytest.raises(UserError, match="models"):
        load_price_overrides(path)


def test_openai_usage_splits_reasoning_out_of_completion():
    usage = usage_from_openai({"prompt_tokens": 100, "completion_tokens": 80, "total_tokens": 180,
                               "prompt_tokens_details": {"cached_tokens": 30},
                               "completion_tokens_details": {"reasoning_tokens": 50}})
    assert usage == Usage(prompt=100, cached=30, candidates=30, thoughts=50, total=180)


def test_worst_case_bounds_any_real_cost():
    pricer = Pricer(CAT, [PRO], today=DAY)
    worst = pricer.worst_case(PRO, 2000, 500)
    assert worst >= pricer.cost(PRO, Usage(prompt=2000, candidates=200, thoughts=300))
    unbounded = pricer.worst_case(PRO, 2000, None)  # no maxOutputTokens: the model's output cap
    assert unbounded > worst


def test_snapshot_records_rates_and_provenance():
    snap = Pricer(CAT, [PRO, LITE], today=DAY).snapshot()
    assert snap["as_of"] == CAT.pricing.as_of.isoformat() and snap["source"] == CAT.pricing.source
    assert set(snap["models"]) == {PRO, LITE}
    assert "long_prompt" in snap["models"][PRO]
