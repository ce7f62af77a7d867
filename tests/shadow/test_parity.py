"""migrate.shadow.parity: comparators, label statistics, operational parity, judge helpers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats.contingency import crosstab

from migrate.shadow import parity
from migrate.shadow.parity import Comparison, compare

FAST = settings(max_examples=80, deadline=None, derandomize=True)


# --------------------------------------------------------------------------- registry


def test_registry_selects_comparators_by_name():
    assert {"exact", "json", "label", "rouge_l", "token_f1"} <= set(parity.COMPARATORS)
    assert parity.get_comparator("json") is parity.json_match
    assert compare("exact", "Yes.", "yes") == parity.exact_match("Yes.", "yes")
    with pytest.raises(ValueError, match="unknown comparator 'bleu'.*known: "):
        compare("bleu", "a", "b")
    with pytest.raises(TypeError):
        compare("exact", "a", "b", no_such_option=True)
    with pytest.raises(TypeError):
        parity.COMPARATORS["mine"] = parity.exact_match  # read-only view; use register()


def test_comparison_is_frozen():
    c = compare("exact", "a", "a")
    assert isinstance(c, Comparison) and c.agree and c.score == 1.0
    with pytest.raises(AttributeError):
        c.agree = False  # type: ignore[misc]


# --------------------------------------------------------------------------- exact


@pytest.mark.parametrize(
    "a,b,switch",
    [
        ("caf\u00e9", "cafe\u0301", "nfc"),
        ("  Paris \n\n is  big ", "Paris is big", "whitespace"),
        ("PARIS", "paris", "casefold"),
        ("Stra\u00dfe", "STRASSE", "casefold"),
        ("```\nParis\n```", "Paris", "code_fence"),
        ("Paris.", "Paris", "trailing_punctuation"),
        ("It is a cat", "It is cat", "articles"),
    ],
)
def test_exact_each_normalisation_step_is_switchable(a, b, switch):
    options = {"articles": True} if switch == "articles" else {}
    assert compare("exact", a, b, **options).agree
    options[switch] = False
    assert not compare("exact", a, b, **options).agree


def test_exact_combined_normalisation_and_detail():
    result = compare("exact", "```text\n  The ANSWER is 42!!\n```\n", "the answer is 42")
    assert result.agree and result.score == 1.0 and result.detail["raw_equal"] is False
    differ = compare("exact", "answer 42", "answer 43")
    assert not differ.agree and differ.score == 0.0 and differ.detail["first_difference"] == 8
    assert compare("exact", None, "").agree  # no answer == empty answer


@pytest.mark.parametrize(
    "text,expected",
    [
        ("```json\n{\"a\": 1}\n```", '{"a": 1}'),
        ("  ```\nx\ny\n```  ", "x\ny"),
        ("~~~python\nprint(1)\n~~~", "print(1)"),
        ("````\n```inner```\n````", "```inner```"),
        ("```yes```", "yes"),
        ("before\n```\ncode\n```", "before\n```\ncode\n```"),  # not a *surrounding* fence
        ("```\nunclosed", "```\nunclosed"),
    ],
)
def test_strip_code_fence(text, expected):
    assert parity.strip_code_fence(text) == expected


def test_trailing_punctuation_keeps_quotes_and_inner_punctuation():
    assert parity.normalize_text("U.S.A. ...  !") == "u.s.a"
    assert parity.normalize_text('He said "yes".') == 'he said "yes"'
    assert parity.normalize_text("是的。") == "是的"


# --------------------------------------------------------------------------- json


def test_json_equal_modulo_formatting_key_order_and_fence():
    a = '{"name": "Ada", "tags": ["x", "y"], "n": 1}'
    b = '```json\n{\n  "n": 1.0,\n  "tags": ["x", "y"],\n  "name": "Ada"\n}\n```'
    result = compare("json", a, b)
    assert result.agree and result.score == 1.0
    assert result.detail["leaves"] == 4 and result.detail["invalid_json"] == []


def test_json_paths_and_score():
    a = {"a": {"b": [1, 2, {"c": 3}]}, "x": True, "s": "same"}
    b = {"a": {"b": [1, 2, {"c": 4}]}, "x": 1, "s": "same", "extra": [1, 2]}
    result = compare("json", json.dumps(a), json.dumps(b))
    assert not result.agree
    assert result.detail["reasons"] == {
        "a.b[2].c": "value",
        "x": "type",  # true is not 1
        "extra": "missing in a",
    }
    # leaves: a.b[0], a.b[1], a.b[2].c, x, s, extra[0], extra[1] -> 3 agree of 7
    assert result.detail["leaves"] == 7 and result.score == pytest.approx(3 / 7)


def test_json_numbers_within_tolerance():
    assert not compare("json", '{"p": 0.1}', '{"p": 0.1000001}').agree
    assert compare("json", '{"p": 0.1}', '{"p": 0.1000001}', rel_tol=1e-5).agree
    assert compare("json", '{"p": 0.0}', '{"p": 1e-9}', abs_tol=1e-6).agree
    assert compare("json", "[10]", "[11]", rel_tol=0.1).agree
    assert not compare("json", "[10]", "[12]", rel_tol=0.1).agree
    assert compare("json", "12345678901234567890", "12345678901234567890").agree
    assert not compare("json", "12345678901234567890", "12345678901234567891").agree  # exact default
    assert compare("json", "12345678901234567890", "12345678901234567891", rel_tol=1e-9).agree
    assert not compare("json", "[0.3]", "[0.30000000000000004]").agree
    assert compare("json", "[0.3]", "[0.30000000000000004]", rel_tol=1e-12).agree
    assert compare("json", "[1]", "[1.0]").agree


def test_json_lists_ordered_unless_declared_unordered():
    a = '{"items": [1, 2, 3], "tags": ["a", "b"], "other": ["a", "b"]}'
    b = '{"items": [3, 1, 2], "tags": ["b", "a"], "other": ["b", "a"]}'
    ordered = compare("json", a, b)
    assert set(ordered.detail["disagreeing_paths"]) == {"items[0]", "items[1]", "items[2]", "tags[0]", "tags[1]", "other[0]", "other[1]"}
    unordered = compare("json", a, b, unordered=["items", "tags"])
    assert unordered.detail["disagreeing_paths"] == ["other[0]", "other[1]"]


def test_json_unordered_patterns_and_multiset_semantics():
    a = {"rows": [{"id": 1, "tags": ["x", "y"]}, {"id": 2, "tags": ["z"]}]}
    b = {"rows": [{"id": 2, "tags": ["z"]}, {"id": 1, "tags": ["y", "x"]}]}
    assert not compare("json", json.dumps(a), json.dumps(b), unordered=["rows"]).agree
    assert compare("json", json.dumps(a), json.dumps(b), unordered=["rows", "rows[*].tags"]).agree
    assert compare("json", json.dumps(a), json.dumps(b), unordered=["**"]).agree
    # duplicates count: [a, a, b] vs [a, b, b] is not the same multiset
    result = compare("json", '["a", "a", "b"]', '["a", "b", "b"]', unordered=["$"])
    assert not result.agree and result.score == pytest.approx(2 / 3)
    extra = compare("json", '{"t": ["a"]}', '{"t": ["b", "a"]}', unordered=["t"])
    assert extra.detail["reasons"] == {"t[0]": "extra in b"}


def test_json_invalid_is_flagged_per_side():
    only_b = compare("json", '{"a": 1}', "Sure! Here is the JSON: {a: 1}")
    assert not only_b.agree and only_b.score == 0.0
    assert only_b.detail["invalid_json"] == ["b"] and "b" in only_b.detail["errors"]
    both = compare("json", "{", None)
    assert both.detail["invalid_json"] == ["a", "b"]
    assert compare("json", '```json\n{"a": 1}\n```', '{"a": 1}', code_fence=False).detail["invalid_json"] == ["a"]


def test_json_empty_containers_and_type_clashes():
    assert compare("json", "{}", "{}").agree
    assert compare("json", '{"a": []}', '{"a": []}').agree
    clash = compare("json", '{"a": []}', '{"a": {}}')
    assert clash.detail["reasons"] == {"a": "type"}
    nested = compare("json", '{"a": {"x": 1, "y": 2}}', '{"a": "flat"}')
    assert nested.detail["leaves"] == 2 and nested.score == 0.0


def test_json_awkward_keys_are_quoted_in_paths():
    result = compare("json", '{"a.b": 1, "c d": [1], "": 0}', '{"a.b": 2, "c d": [2], "": 1}')
    assert result.detail["disagreeing_paths"] == ['["a.b"]', '["c d"][0]', '[""]']
    for path in result.detail["disagreeing_paths"]:
        assert parity.format_path(parity.parse_path(path)) == path


@FAST
@given(st.lists(st.one_of(st.text(max_size=6), st.integers(0, 99)), max_size=6))
def test_format_and_parse_path_round_trip(segments):
    assert parity.parse_path(parity.format_path(segments)) == tuple(segments)


def test_json_string_normalisation_option():
    assert not compare("json", '{"city": "Paris"}', '{"city": "paris."}').agree
    assert compare("json", '{"city": "Paris"}', '{"city": "paris."}', normalize_strings=True).agree


def test_noisy_pro_field_is_not_blamed_on_the_candidate():
    pro_1 = '{"answer": 42, "confidence": 0.91, "explanation": "Because six times seven.", "id": "r-1"}'
    pro_2 = '{"answer": 42, "confidence": 0.87, "explanation": "6 x 7 = 42", "id": "r-2"}'
    candidate = '{"answer": 42, "confidence": 0.80, "explanation": "It is 42.", "id": "r-3"}'
    noise = parity.noisy_paths(pro_1, pro_2)
    assert noise == ["confidence", "explanation", "id"]
    blamed = compare("json", pro_1, candidate)
    assert not blamed.agree
    fair = compare("json", pro_1, candidate, ignore_paths=noise)
    assert fair.agree and fair.score == 1.0
    assert fair.detail["ignored_paths"] == ["confidence", "explanation", "id"]
    assert fair.detail["leaves"] == 1  # only "answer" is judged
    wrong = compare("json", pro_1, '{"answer": 41, "confidence": 0.8, "explanation": "", "id": "x"}', ignore_paths=noise)
    assert not wrong.agree and wrong.detail["disagreeing_paths"] == ["answer"]


def test_noisy_paths_cover_missing_keys_nested_paths_and_patterns():
    pro_1 = '{"items": [{"name": "a", "score": 0.5}, {"name": "b", "score": 0.7}], "note": "hi"}'
    pro_2 = '{"items": [{"name": "a", "score": 0.6}, {"name": "b", "score": 0.7}]}'
    noise = parity.noisy_paths(pro_1, pro_2)
    assert noise == ["items[0].score", "note"]
    cand = '{"items": [{"name": "a", "score": 0.1}, {"name": "b", "score": 0.9}]}'
    result = compare("json", pro_1, cand, ignore_paths=noise)
    assert result.detail["disagreeing_paths"] == ["items[1].score"]  # noisy for item 0 only
    widened = compare("json", pro_1, cand, ignore_paths=["items[*].score", "note"])
    assert widened.agree
    assert parity.noisy_paths("not json", pro_2) == []


# --------------------------------------------------------------------------- labels


def test_label_normalised_equality():
    assert compare("label", "Positive.", " positive").agree
    assert not compare("label", "positive", "negative").agree


def test_label_extraction_from_answers():
    labels = ["positive", "negative", "neutral", "very positive"]
    assert parity.extract_label("The sentiment is **Positive**.", labels) == "positive"
    assert parity.extract_label("I'd say: Very Positive!", labels) == "very positive"
    assert parity.extract_label("neutral", labels) == "neutral"
    assert parity.extract_label("positive or negative, hard to say", labels) is None
    assert parity.extract_label("no idea", labels) is None
    assert parity.extract_label("It's positively fine", labels) is None  # whole words only
    result = compare("label", "Label: POSITIVE", "positive", labels=labels)
    assert result.agree and result.detail["a_label"] == "positive"
    unparsed = compare("label", "positive", "I cannot classify this.", labels=labels)
    assert not unparsed.agree and unparsed.detail["unparsed"] == ["b"]
    assert not compare("label", "??", "!!", labels=labels).agree  # two non-answers do not agree


WIKIPEDIA_KAPPA = [
    # (yes/yes, yes/no, no/yes, no/no) -> kappa; en.wikipedia.org/wiki/Cohen%27s_kappa examples
    ((20, 5, 10, 15), 0.4),
    ((45, 15, 25, 15), 0.1304),
    ((25, 35, 5, 35), 0.2593),
]


def _pairs(yy, yn, ny, nn):
    return [("yes", "yes")] * yy + [("yes", "no")] * yn + [("no", "yes")] * ny + [("no", "no")] * nn


@pytest.mark.parametrize("cells,kappa", WIKIPEDIA_KAPPA)
def test_cohens_kappa_textbook_examples(cells, kappa):
    assert parity.cohens_kappa(_pairs(*cells)) == pytest.approx(kappa, abs=5e-5)


def test_cohens_kappa_three_classes_against_a_direct_formula():
    a = list("aaabbbcccabcabcaaa")
    b = list("aabbbbccaabcccbaab")
    observed = np.mean(np.array(a) == np.array(b))
    expected = sum((a.count(k) / len(a)) * (b.count(k) / len(b)) for k in "abc")
    assert parity.cohens_kappa(zip(a, b)) == pytest.approx((observed - expected) / (1 - expected))


def test_cohens_kappa_edge_cases():
    assert parity.cohens_kappa([("x", "x"), ("y", "y")]) == 1.0
    assert math.isnan(parity.cohens_kappa([]))
    assert math.isnan(parity.cohens_kappa([("x", "x")] * 5))  # one label throughout: undefined
    assert parity.cohens_kappa([("x", "y"), ("y", "x")]) == -1.0


def test_confusion_table_matches_scipy_crosstab():
    a = ["pos", "neg", "neu", "pos", "pos", "neg", None, "neu"]
    b = ["pos", "pos", "neu", "pos", "neg", "neg", "neu", None]
    table = parity.confusion_table(zip(a, b))
    assert table.labels == ("neg", "neu", "pos", None)
    codes = {lab: i for i, lab in enumerate(table.labels)}
    ref = crosstab([codes[x] for x in a], [codes[y] for y in b], levels=[range(4), range(4)]).count
    assert np.array_equal(np.array(table.counts), ref)
    assert table.total == 8 and table.observed_agreement == pytest.approx(4 / 8)
    assert table.flips() == {("neg", "pos"): 1, ("neu", None): 1, ("pos", "neg"): 1, (None, "neu"): 1}
    assert parity.cohens_kappa(table) == parity.cohens_kappa(zip(a, b))


# --------------------------------------------------------------------------- lexical


def _lcs_dp(a, b):
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


@FAST
@given(st.lists(st.sampled_from("abcd"), max_size=40), st.lists(st.sampled_from("abcd"), max_size=40))
def test_bit_parallel_lcs_matches_dynamic_programming(a, b):
    assert parity.lcs_length(a, b) == _lcs_dp(a, b)


def test_rouge_l_lin_2004_example():
    reference = "police killed the gunman"
    assert compare("rouge_l", reference, "police kill the gunman").score == pytest.approx(0.75)
    assert compare("rouge_l", reference, "the gunman kill police").score == pytest.approx(0.5)


def test_rouge_l_threshold_and_edges():
    assert compare("rouge_l", "a b c d", "a b x y", threshold=0.5).agree
    assert not compare("rouge_l", "a b c d", "a b x y", threshold=0.6).agree
    assert compare("rouge_l", "", "").score == 1.0
    assert compare("rouge_l", "words", "").score == 0.0
    r = compare("rouge_l", "one two three four", "one two")
    assert r.detail["recall"] == 0.5 and r.detail["precision"] == 1.0
    long_text = " ".join(f"w{i % 300}" for i in range(3000))
    assert compare("rouge_l", long_text, long_text).score == 1.0


def test_token_f1_squad_examples():
    assert compare("token_f1", "the Denver Broncos", "Denver Broncos won").score == pytest.approx(0.8)
    assert compare("token_f1", "Denver Broncos", "The Denver Broncos!").score == 1.0
    assert compare("token_f1", "a", "the").score == 1.0  # both empty after normalisation
    assert compare("token_f1", "Paris", "").score == 0.0
    assert compare("token_f1", "red red blue", "red blue blue").score == pytest.approx(2 / 3)
    assert not compare("token_f1", "x y z", "x", threshold=0.6).agree


@FAST
@given(st.text(max_size=40), st.text(max_size=40))
def test_lexical_scores_are_bounded_and_symmetric_in_f1(a, b):
    for name in ("rouge_l", "token_f1"):
        s_ab, s_ba = compare(name, a, b).score, compare(name, b, a).score
        assert 0.0 <= s_ab <= 1.0
        assert s_ab == pytest.approx(s_ba)
    assert compare("rouge_l", a, a).score == 1.0


# --------------------------------------------------------------------------- operational


def _resp(text="ok", finish="STOP", blocked=False, tool_calls=None):
    return {"text": text, "finish_reason": finish, "blocked": blocked, "tool_calls": tool_calls or []}


def test_operational_parity_same_behaviour():
    result = parity.operational_parity(_resp("Hello there"), _resp("Hi!"))
    assert result.agree and result.score == 1.0
    assert result.detail["length_ratio"] == pytest.approx(3 / 11)


def test_operational_parity_flags_candidate_failures():
    truncated = parity.operational_parity(_resp("full answer"), _resp("full ans", finish="MAX_TOKENS"))
    assert not truncated.agree
    assert truncated.detail["checks"]["truncated"] is False and truncated.detail["b"]["truncated"] is True
    blocked = parity.operational_parity(_resp("fine"), _resp(None, finish="SAFETY", blocked=True))
    assert blocked.detail["b"]["blocked"] and blocked.detail["b"]["empty"]
    assert not blocked.detail["checks"]["blocked"] and not blocked.detail["checks"]["empty"]
    assert blocked.detail["length_ratio"] == 0.0
    # a SAFETY finish reason counts as blocked even without the flag
    assert parity.operational_parity(_resp(), _resp(None, finish="SAFETY")).detail["b"]["blocked"]
    both_empty = parity.operational_parity(_resp(""), _resp(None))
    assert both_empty.agree and both_empty.detail["length_ratio"] is None


def test_operational_parity_finish_reason_spellings():
    assert parity.operational_parity(_resp(finish="FinishReason.STOP"), _resp(finish="stop")).agree
    assert parity.operational_parity(_resp(finish="FINISH_REASON_STOP"), _resp(finish="STOP")).agree


def test_operational_parity_tool_calls():
    call = lambda name, **args: {"name": name, "args": args}  # noqa: E731
    a = _resp(None, tool_calls=[call("search", q="x", k=5), call("clock")])
    same = _resp(None, tool_calls=[call("clock"), call("search", k=5.0, q="x")])
    assert parity.operational_parity(a, same).agree  # order, key order and 5 vs 5.0 ignored
    assert not parity.operational_parity(a, same, ordered_tool_calls=True).agree
    other_args = _resp(None, tool_calls=[call("search", q="y", k=5), call("clock")])
    result = parity.operational_parity(a, other_args)
    assert result.detail["checks"]["tool_names"] and not result.detail["checks"]["tool_args"]
    assert result.score == pytest.approx(5 / 6)
    missing = parity.operational_parity(a, _resp("I'd search for x."))
    assert not missing.detail["checks"]["tool_names"]


def test_operational_parity_optional_length_check():
    a, b = _resp("x" * 100), _resp("x" * 30)
    assert parity.operational_parity(a, b).agree
    limited = parity.operational_parity(a, b, max_length_ratio=2.0)
    assert not limited.agree and limited.detail["checks"]["length_ratio"] is False
    assert parity.operational_parity(a, _resp("x" * 60), max_length_ratio=2.0).agree


def test_operational_parity_missing_keys_default():
    assert parity.operational_parity({"text": "a"}, {"text": "b"}).agree


# --------------------------------------------------------------------------- judge


def test_judge_prompt_is_blinded():
    prompt = parity.judge_prompt("What is 6x7?", "It is 42.", "Forty-two.")
    assert "What is 6x7?" in prompt
    assert prompt.index("It is 42.") < prompt.index("Forty-two.")
    lowered = prompt.lower()
    for leak in ("gemini", "pro", "flash", "lite", "primary", "candidate", "baseline"):
        assert f" {leak} " not in f" {lowered} ".replace("\n", " ")
    assert "VERDICT: A" in prompt and "VERDICT: TIE" in prompt


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Reasoning...\nVERDICT: A", "A"),
        ("verdict: b", "B"),
        ("**VERDICT:** TIE", "tie"),
        ("VERDICT: A ... on reflection\nVERDICT: B", "B"),
        ("I prefer the first one.", None),
        (None, None),
    ],
)
def test_parse_judgement(text, expected):
    assert parity.parse_judgement(text) == expected


@pytest.mark.parametrize(
    "ab,ba,expected",
    [
        ("B", "A", "candidate"),  # candidate wins in both positions
        ("A", "B", "primary"),
        ("A", "A", "tie"),  # position bias: the first slot always wins
        ("B", "B", "tie"),
        ("B", "tie", "tie"),
        ("tie", "tie", "tie"),
        ("2", "1", "candidate"),
        (None, "A", "tie"),
    ],
)
def test_combine_judgements_requires_surviving_the_swap(ab, ba, expected):
    assert parity.combine_judgements(ab, ba) == expected


def test_combine_judgements_rejects_unknown_verdicts():
    with pytest.raises(ValueError):
        parity.combine_judgements("candidate", "A")
