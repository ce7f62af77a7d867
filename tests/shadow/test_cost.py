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


def test_batch_rates():
    usage = Usage(prompt=5000, candidates=500)
    standard = Pricer(CAT, [LITE], today=DAY).cost(LITE, usage)
    batch = Pricer(CAT, [LITE], today=DAY, batch=True).cost(LITE, usage)
    assert batch == pytest.approx(expected(LITE, 5000, 0, 500, batch=True))
    assert batch < standard


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
