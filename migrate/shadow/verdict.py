"""The shadow verdict: parity against the Pro-vs-Pro noise floor, statistics, cost and latency. Pure.

`compute(run, options, judge=None)` turns a loaded run (store.load_run) into one JSON-ready dict,
the *verdict document* (schema below); every report renderer draws from it and nothing else.
`plan(...)` sizes a run before money is spent. No network, no clock, no randomness: the same run
and options give the same document (the intervals are closed-form).

How a prompt is judged
----------------------
Each prompt gets a comparator: its own ``compare`` field (a name, or ``{"kind": name, ...options}``),
else the run's default (``--compare``, else ``exact``); ``--compare-all`` forces one on every prompt.
Names: exact, json, label, rouge_l, token_f1 (aliases: text/lexical -> rouge_l, f1 -> token_f1,
classification -> label, structured -> json). For repeat r, Pro answer P_r is compared with the
candidate's C_r and with the second Pro answer N_r (the noise arm). The prompt's agreement is the
mean over repeats. A candidate or noise call without a usable answer (`failure_class`: an error
after retries, no candidates, a block, MAX_TOKENS, an empty answer) is a disagreement (0), counted
per class in ``failures``; a primary call without one leaves that repeat out of both sides (a
prompt with none left is a primary failure, counted). The noise floor is estimated only on the
prompts that have a Pro-vs-Pro pair (decision.py carries the extra uncertainty); a run without any
noise call assumes Pro agrees with itself, and says so.

JSON answers: a prompt's agreement is the share of the primary answer's leaf fields on which the
other answer agrees (invalid JSON agrees on none), so every field is compared against that
field's own Pro-vs-Pro noise; ``json_fields`` lists every field with its weight (its share of the
JSON agreement), its Pro-vs-Pro and Pro-vs-candidate counts and its excess. No field is dropped;
``noisy`` (Pro disagrees with itself on it in at least ``noisy_field_rate`` of its pairs) is
information only.

The verdict rule (gates; first the required ones)
------------------------------------------------
* ``parity``: decision.py at this look (``Options.look``, from looks.jsonl): excess disagreement
  with a normal, influence-function interval at one-sided alpha/2^look. PASS if the upper bound is
  below the margin, FAIL only if the lower bound is beyond it, else INCONCLUSIVE with the prompts
  the next look needs.
* ``slice:<name>`` (one per slice, worst first): one-sided p-values per slice, Holm-adjusted across
  slices (family-wise error); a slice FAILs (and blocks) only when it is beyond the margin at that
  level. Other slices are reported and do not block.
* ``served``: every answered call's modelVersion is the model asked for (or a dated version of it);
  otherwise the verdict is ROUTED (exit 4), unless ``allow_routed``.
* optional: ``critical`` (``max_critical_rate``: the candidate's new critical failures -- invalid
  JSON, safety blocks, empty answers, MAX_TOKENS truncation where Pro had none -- have an exact upper
  bound below the limit), ``accuracy`` (``accuracy_margin``: the same rule on the candidate's success
  against the dataset's ``expected`` answers, with McNemar's exact test shown), ``latency``
  (``max_p95_ratio``), ``saving`` (``min_monthly_saving``), and ``judge`` (when a pairwise judge was
  run: P(Pro preferred) - P(candidate preferred) below the margin, same rule).

Verdict: ROUTED if an arm was served by another model; else FAIL if any gate FAILs; else
INCONCLUSIVE if any gate is INCONCLUSIVE (with the prompts needed); else PASS. Exit codes: PASS 0,
FAIL 1, INCONCLUSIVE 3, ROUTED 4.

The document (schema ``flashlite-migrate/shadow-verdict``, ``schema_version`` 1; consumers must
ignore keys they do not know, producers only add keys within a version)::

    schema, schema_version, tool_version
    run         folder, status, created_at, dataset {path, sha256, items}, models {arm: id},
                backends {arm: kind}, repeats, noise_floor, noise_sample
    settings    the Options used (margin, confidence, power, look, allow_routed, ...)
    verdict     status, exit_code, headline, reasons [str], prompts_needed, additional_prompts
    gates       [{id, name, status (PASS|FAIL|INCONCLUSIVE|NOT_GATED), required, summary,
                  prompts_needed, ...numbers}]
    coverage    prompts, compared, primary_errors, candidate_errors (calls without a usable answer),
                not_run, noise_measured, noise_assumed (compared prompts without a noise pair), comparators
    parity      decision {the NonInferiorityResult}, metrics [three-way metric], method {interval, looks,
                look, alpha, slices, fail_rule}
    failures    {arm: {calls, classes [{class, calls, sample}]}, rule}
    served      {arm: {requested, answered, unreported, routed, served {modelVersion: calls}}}
    billing     {possibly_billed_calls, possibly_billed_usd, ...} (store.billing_exposure)
    slices      [{slice, n, share, comparators, noise, candidate, excess, low, high, p_*, status,
                  prompts_needed, cost {arm: mean_usd}, latency {arm: {p50, p95}}}] worst first
    json_fields {prompts, pairs, noisy_patterns, prompt_noisy, rule, paths [{path, weight, compared_noise,
                 noise, noise_rate, compared_candidate, candidate, candidate_rate, excess, noisy}]} | null
    labels      {items, candidate {agreement, kappa, confusion {labels, counts}, flips}, noise {...}} | null
    accuracy    {items, arms {arm: {correct, n, rate, low, high}}, mcnemar {b, c, p},
                 difference {estimate, low, high}} | null
    operational {finish_reasons {arm: {reason: n}}, metrics [three-way], length_ratio {candidate,
                 noise: {median, mean, n}}, critical [{kind, arms {arm: {count, n, rate, upper}},
                 new_in_candidate {count, n, rate, upper}}], tool_calls (prompts with any)}
    lexical     [three-way similarity metric: rouge_l, token_f1]
    judge       {...} | null
    cost        pricing {as_of, source, currency, batch, hash, models}, arms {arm: {...}},
                ratio, saving_per_request {estimate, low, high}, per_1000 {...}, monthly {...} | null,
                experiment_usd, judge_usd
    latency     arms {arm: {n, mean, p50|p95|p99 {estimate, low, high}, cdf [101 values], ttft_p50}}
    disagreements [{id, slice, comparator, reason, score, noise_agreed, primary, noise, candidate}]
    warnings    [str]

A three-way metric: {id, label, kind ("disagreement": lower is better, or "similarity": higher is
better), n, noise_measured, noise {value, low, high}, candidate {value, low, high}, excess
{estimate, low, high}}; ``excess`` is always "how much worse the candidate is than Pro's own
noise floor" (positive = worse), with a paired normal interval at ``confidence`` (two-sided).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from array import array
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping, Sequence

from migrate import __version__
from migrate.errors import UserError
from migrate.shadow import decision as D
from migrate.shadow import figures as F
from migrate.shadow import parity as P
from migrate.shadow import served as SV
from migrate.shadow import stats as S
from migrate.shadow.store import Call, Group, Prompt, Run, StreamedRun

SCHEMA = "flashlite-migrate/shadow-verdict"
SCHEMA_VERSION = 1
PASS, FAIL, INCONCLUSIVE, NOT_GATED = S.PASS, S.FAIL, S.INCONCLUSIVE, "NOT_GATED"
ROUTED = "ROUTED"  # an arm was served by another model than asked: fail closed, its own exit code
EXIT_CODES = {PASS: 0, FAIL: 1, INCONCLUSIVE: 3, ROUTED: 4}
ARMS = ("primary", "noise", "candidate")
DAYS_PER_MONTH = F.DAYS_PER_MONTH
TEXT_KEEP = 1500  # characters of each answer kept for the side-by-side view
CRITICAL_KINDS = ("invalid_json", "safety_block", "empty", "truncated")
CRITICAL_LABELS = {"invalid_json": "invalid JSON", "safety_block": "safety block", "empty": "empty answer (not blocked)",
                   "truncated": "truncated at MAX_TOKENS"}
COMPARE_ALIASES = {
    "text": "rouge_l", "lexical": "rouge_l", "rouge": "rouge_l", "rougel": "rouge_l", "rouge-l": "rouge_l",
    "f1": "token_f1", "token-f1": "token_f1", "classification": "label", "labels": "label",
    "structured": "json", "normalised": "exact", "normalized": "exact",
}  # fmt: skip
OPERATIONAL_CHECKS = (("finish_reason", "finish reason"), ("blocked", "safety block"), ("empty", "empty answer"),
                      ("truncated", "MAX_TOKENS truncation"), ("tool_names", "tool-call names"),
                      ("tool_args", "tool-call arguments"))


@dataclass(frozen=True)
class Options:
    """Everything the verdict depends on besides the run (all recorded in the document)."""

    margin: float = 0.02
    confidence: float = 0.95
    power: float = 0.8
    cluster_by_slice: bool = False
    compare: str | None = None  # comparator for prompts without their own `compare`
    compare_all: str | None = None  # comparator forced on every prompt
    noisy_field_rate: float = 0.10
    volume_per_day: float | None = None  # default: the run's --volume
    show: int = 10  # worst disagreements kept
    max_critical_rate: float | None = None
    accuracy_margin: float | None = None
    max_p95_ratio: float | None = None
    min_monthly_saving: float | None = None
    judge_gate: bool = True
    look: int = 1  # which look at this run's data this verdict is (looks.jsonl); alpha_k = alpha * 2^-k
    allow_routed: bool = False  # judge a run whose arms were served by other models than asked

    def check(self) -> None:
        if not 0.0 < self.margin < 1.0:
            raise UserError(f"--margin must be a fraction between 0 and 1 (0.02 = 2 points), got {self.margin}")
        if not 0.5 < self.confidence < 1.0:
            raise UserError(f"--confidence must be between 0.5 and 1 (e.g. 0.95), got {self.confidence}")
        if not 0.0 < self.power < 1.0:
            raise UserError(f"--power must be between 0 and 1 (e.g. 0.8), got {self.power}")
        if not 0.0 < self.noisy_field_rate <= 1.0:
            raise UserError(f"--noisy-field-rate must be in (0, 1], got {self.noisy_field_rate}")
        for name, value in (("--max-critical-rate", self.max_critical_rate), ("--accuracy-margin", self.accuracy_margin)):
            if value is not None and not 0.0 < value < 1.0:
                raise UserError(f"{name} must be a fraction between 0 and 1, got {value}")
        if self.max_p95_ratio is not None and self.max_p95_ratio <= 0:
            raise UserError(f"--max-p95-ratio must be positive, got {self.max_p95_ratio}")
        if self.look < 1:
            raise UserError(f"look must be at least 1, got {self.look}")
        if self.volume_per_day is not None and self.volume_per_day <= 0:
            raise UserError(f"--volume must be a positive number of requests per day, got {self.volume_per_day}")


# --------------------------------------------------------------------------- comparators


def resolve_comparator(spec: Any, default: str | None = None, force: str | None = None) -> tuple[str, dict[str, Any]]:
    """(registered comparator name, options) for a prompt's `compare` field and the run's choices."""
    options: dict[str, Any] = {}
    item_name = None
    if isinstance(spec, Mapping):
        item_name = str(spec.get("kind") or "")
        options = {k: v for k, v in spec.items() if k != "kind"}
    elif spec:
        item_name = str(spec)
    name = force or item_name or default or "exact"
    canon = COMPARE_ALIASES.get(name.lower(), name.lower())
    if force and item_name and COMPARE_ALIASES.get(item_name.lower(), item_name.lower()) != canon:
        options = {}  # an item's options belong to its own comparator
    if canon not in P.COMPARATORS:
        known = ", ".join(sorted(set(P.COMPARATORS) | set(COMPARE_ALIASES)))
        raise UserError(f"unknown comparator {name!r} (known: {known})")
    return canon, options


def answer_text(call: Call | None) -> str:
    """The text compared: the answer's text, or its tool calls as canonical JSON when it has no text."""
    if call is None or call.response is None:
        return ""
    resp = call.response
    if resp.text.strip() or not resp.tool_calls:
        return resp.text
    return json.dumps([{"name": t.name, "args": t.args} for t in resp.tool_calls], sort_keys=True, ensure_ascii=False)


def _response_dict(call: Call) -> dict[str, Any]:
    r = call.response
    assert r is not None
    return {"text": r.text, "finish_reason": r.finish_reason, "blocked": r.blocked,
            "tool_calls": [{"name": t.name, "args": t.args} for t in r.tool_calls]}


def _valid_json(text: str) -> bool:
    try:
        json.loads(P.strip_code_fence(text))
    except (ValueError, RecursionError):
        return False
    return True


def _generalise(path: str) -> str:
    """'items[3].price' -> 'items[*].price' (a run-level field pattern)."""
    out = ""
    for seg in P.parse_path(path):
        if isinstance(seg, int):
            out += "[*]"
        else:
            piece = P.format_path([seg])
            out += piece if (not out or piece.startswith("[")) else "." + piece
    return out or "$"


# --------------------------------------------------------------------------- per prompt


@dataclass(slots=True)
class _Item:
    prompt: Prompt
    slice: str
    comparator: str
    options: dict[str, Any]
    calls: dict[str, list[Call | None]]
    # filled in by evaluation
    status: str = "not_run"  # compared | primary_error | candidate_error | not_run
    noise_measured: bool = False
    cand_agree: float = 0.0
    noise_agree: float = 1.0
    cand_score: float = 0.0
    noise_score: float = 1.0
    op_cand: dict[str, float] = field(default_factory=dict)
    op_noise: dict[str, float] = field(default_factory=dict)
    lex_cand: dict[str, float] = field(default_factory=dict)
    lex_noise: dict[str, float] = field(default_factory=dict)
    ratio_cand: list[float] = field(default_factory=list)
    ratio_noise: list[float] = field(default_factory=list)
    label_pairs_cand: list[tuple[Any, Any]] = field(default_factory=list)
    label_pairs_noise: list[tuple[Any, Any]] = field(default_factory=list)
    correct: dict[str, float] = field(default_factory=dict)
    critical: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    critical_n: Counter = field(default_factory=Counter)
    new_critical: int = 0
    new_critical_n: int = 0
    pairs: list[int] = field(default_factory=list)  # repeats compared
    example: dict[str, Any] | None = None
    failures: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # arm -> class -> calls
    samples: dict[tuple[str, str], str] = field(default_factory=dict)  # (arm, class) -> a message
    json_fields: dict[str, list[tuple[set[str], set[str]]]] = field(default_factory=lambda: defaultdict(list))
    tools: bool = False
    answer_lengths: tuple[int, int] | None = None  # (Pro, candidate) characters at the first compared repeat

    @property
    def id(self) -> str:
        return self.prompt.id


def _run_comparator(item: _Item, a: Any, b: Any, **extra: Any) -> P.Comparison:
    options = dict(item.options)
    if extra.get("ignore_paths"):
        options["ignore_paths"] = list(options.get("ignore_paths") or ()) + list(extra["ignore_paths"])
    try:
        return P.compare(item.comparator, a, b, **options)
    except (TypeError, ValueError) as exc:
        raise UserError(f"prompt {item.id!r}: compare options {item.options!r} do not fit the "
                        f"{item.comparator!r} comparator ({exc})") from None


def _reason(item: _Item, comp: P.Comparison, cand: Call) -> str:
    """One line: why the candidate's answer does not agree."""
    bits = []
    resp = cand.response
    if resp is not None and resp.blocked:
        bits.append(f"candidate blocked ({resp.block_reason or resp.finish_reason or 'SAFETY'})")
    elif resp is not None and resp.finish_reason == "MAX_TOKENS":
        bits.append("candidate truncated at MAX_TOKENS")
    elif not answer_text(cand).strip():
        bits.append("candidate answer empty")
    d = comp.detail
    if item.comparator == "label":
        bits.append(f"label {d.get('a_label')!s} -> {d.get('b_label')!s}")
    elif item.comparator == "json":
        if d.get("invalid_json"):
            who = {"a": "Pro", "b": "candidate"}
            bits.append("invalid JSON from " + " and ".join(who[s] for s in d["invalid_json"]))
        else:
            reasons = d.get("reasons") or {}
            shown = [f"{p} ({r})" for p, r in list(reasons.items())[:3]]
            more = f" +{len(reasons) - 3} more" if len(reasons) > 3 else ""
            bits.append("fields differ: " + ", ".join(shown) + more)
    elif item.comparator == "exact":
        bits.append(f"differs from character {d.get('first_difference')}")
    else:
        threshold = item.options.get("threshold", 0.5)
        name = "ROUGE-L" if item.comparator == "rouge_l" else "token F1"
        bits.append(f"{name} {comp.score:.2f} < {threshold:g}")
    return "; ".join(bits)


def _critical_flags(item: _Item, call: Call) -> set[str]:
    resp = call.response
    assert resp is not None
    flags = set()
    if resp.blocked or (resp.finish_reason or "") in ("SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII"):
        flags.add("safety_block")
    if not answer_text(call).strip() and "safety_block" not in flags:
        flags.add("empty")
    if resp.finish_reason == "MAX_TOKENS":
        flags.add("truncated")
    if item.comparator == "json" and not resp.blocked and not _valid_json(resp.text):
        flags.add("invalid_json")
    return flags


def failure_class(call: Call) -> str | None:
    """Why a call gave no usable answer (None when it did): an error after retries, a 200 with no
    candidates, a safety/recitation block, a MAX_TOKENS truncation, an empty answer."""
    if not call.ok or call.response is None:
        error = call.error
        if error is None:
            return "error"
        return f"http {error.http_status}" if error.kind == "http" and error.http_status else error.kind
    resp = call.response
    if resp.blocked:
        return f"blocked ({resp.block_reason or resp.finish_reason or 'SAFETY'})"
    if resp.finish_reason == "MAX_TOKENS":
        return "truncated (MAX_TOKENS)"
    if not answer_text(call).strip():
        raw = resp.raw
        if isinstance(raw, Mapping) and raw and "choices" not in raw and not raw.get("candidates"):
            return "no candidates"
        return "empty answer"
    return None


def _failure_message(call: Call, kind: str) -> str:
    if call.error is not None and call.error.message:
        return call.error.message
    return kind


def _usable(item: _Item, call: Call | None) -> bool:
    return call is not None and failure_class(call) is None and not _critical_flags(item, call)


def _leaf_paths(text: str) -> set[str] | None:
    """Generalised leaf paths of a JSON answer (None when it is not JSON)."""
    try:
        value = json.loads(P.strip_code_fence(text))
    except (ValueError, RecursionError):
        return None
    out: set[str] = set()

    def walk(node: Any, path: list[Any]) -> None:
        if isinstance(node, dict) and node:
            for key, sub in node.items():
                walk(sub, path + [key])
        elif isinstance(node, list) and node:
            for i, sub in enumerate(node):
                walk(sub, path + [i])
        else:
            out.add(_generalise(P.format_path(path)) if path else "$")

    walk(value, [])
    return out


def _compare_pair(item, primary, other, primary_text, ignore, agree, score, operational, lexical, ratios, label_pairs) -> P.Comparison:
    """One Pro-vs-X comparison (X the candidate or the second Pro call), appended to that arm's lists."""
    other_text = answer_text(other)
    comp = _run_comparator(item, primary_text, other_text, ignore_paths=ignore)
    agree.append(_agreement_value(item, comp))
    score.append(float(comp.score))
    op = P.operational_parity(_response_dict(primary), _response_dict(other))
    for check, ok in op.detail["checks"].items():
        operational[check].append(float(ok))
    if op.detail["length_ratio"] is not None:
        ratios.append(op.detail["length_ratio"])
    lexical["rouge_l"].append(P.rouge_l(primary_text, other_text).score)
    lexical["token_f1"].append(P.token_f1(primary_text, other_text).score)
    if item.comparator == "label":
        label_pairs.append((comp.detail.get("a_label"), comp.detail.get("b_label")))
    return comp

def _agreement_value(item: _Item, comp: P.Comparison) -> float:
    """What a comparison adds to parity: 0/1, or for JSON the share of leaf fields that agree
    (every field counts, each against Pro's own repeat of it through the noise arm)."""
    return float(comp.score) if item.comparator == "json" and not comp.detail.get("invalid_json") else float(comp.agree)


def _evaluate(item: _Item) -> None:
    """Per prompt: parity values, failures per class, operational and lexical figures, an example.

    A call without a usable answer (failure_class) counts as a disagreement of its arm (candidate or
    noise) and is counted under its class; a primary without a usable answer leaves that repeat out
    of both sides (the prompt is a primary failure when no repeat is left)."""
    prim, cand, noise = item.calls["primary"], item.calls["candidate"], item.calls["noise"]
    ignore = list(item.options.get("ignore_paths") or ()) if item.comparator == "json" else []
    c_agree, c_score, n_agree, n_score = [], [], [], []
    op_c: dict[str, list[float]] = defaultdict(list)
    op_n: dict[str, list[float]] = defaultdict(list)
    lex_c: dict[str, list[float]] = defaultdict(list)
    lex_n: dict[str, list[float]] = defaultdict(list)
    correct: dict[str, list[float]] = defaultdict(list)
    primary_ran = False
    first_bad: tuple[float, int, P.Comparison | None] | None = None
    for r, p in enumerate(prim):
        c, n = cand[r], noise[r]
        for arm, call in (("primary", p), ("candidate", c), ("noise", n)):
            if call is not None and call.ok and call.response is not None:
                item.critical_n[arm] += 1
                item.critical[arm].update(_critical_flags(item, call))
                if call.response.tool_calls:
                    item.tools = True
                if item.prompt.expected is not None:
                    expected = item.prompt.expected
                    if item.comparator != "json" and not isinstance(expected, str):
                        expected = json.dumps(expected, ensure_ascii=False)
                    comp = _run_comparator(item, expected, answer_text(call))
                    correct[arm].append(float(comp.agree))
        if p is None:
            continue
        primary_ran = True
        kind = failure_class(p)
        if kind is None and item.comparator == "json" and _leaf_paths(answer_text(p)) is None:
            kind = "invalid JSON"
        if kind is not None:
            item.failures["primary"][kind] += 1
            item.samples.setdefault(("primary", kind), _failure_message(p, kind))
            continue
        if c is None:
            continue
        item.pairs.append(r)
        a = answer_text(p)
        leaves = _leaf_paths(a) if item.comparator == "json" else None
        if c.ok and c.response is not None:
            item.new_critical_n += 1
            item.new_critical += bool(_critical_flags(item, c) - _critical_flags(item, p))
        kind = failure_class(c)
        if kind is not None:
            item.failures["candidate"][kind] += 1
            item.samples.setdefault(("candidate", kind), _failure_message(c, kind))
            c_agree.append(0.0)
            c_score.append(0.0)
            _failed_pair(op_c, lex_c)
            if first_bad is None or first_bad[0] > -1.0:
                first_bad = (-1.0, r, None)  # a failed call is the worst example
            cand_wrong = set(leaves or ())
        else:
            comp = _compare_pair(item, p, c, a, ignore, c_agree, c_score, op_c, lex_c, item.ratio_cand,
                                 item.label_pairs_cand)
            if not comp.agree and (first_bad is None or comp.score < first_bad[0]):
                first_bad = (comp.score, r, comp)
            cand_wrong = _wrong_leaves(comp, leaves)
        if n is None:
            if leaves is not None:
                item.json_fields["candidate"].append((leaves, cand_wrong))
            continue
        kind = failure_class(n)
        if kind is not None:
            item.failures["noise"][kind] += 1
            item.samples.setdefault(("noise", kind), _failure_message(n, kind))
            n_agree.append(0.0)
            n_score.append(0.0)
            _failed_pair(op_n, lex_n)
            noise_wrong = set(leaves or ())
        else:
            comp_n = _compare_pair(item, p, n, a, ignore, n_agree, n_score, op_n, lex_n, item.ratio_noise,
                                   item.label_pairs_noise)
            noise_wrong = _wrong_leaves(comp_n, leaves)
        if leaves is not None:
            item.json_fields["candidate"].append((leaves, cand_wrong))
            item.json_fields["noise"].append((leaves, noise_wrong))
    item.correct = {arm: _mean(v) for arm, v in correct.items() if v}
    if not c_agree:
        item.status = "primary_error" if primary_ran and item.failures["primary"] and not item.pairs else "not_run"
        return
    item.status = "compared"
    item.cand_agree, item.cand_score = _mean(c_agree), _mean(c_score)
    item.noise_measured = bool(n_agree)
    if n_agree:
        item.noise_agree, item.noise_score = _mean(n_agree), _mean(n_score)
    item.op_cand = {k: _mean(v) for k, v in op_c.items()}
    item.op_noise = {k: _mean(v) for k, v in op_n.items()}
    item.lex_cand = {k: _mean(v) for k, v in lex_c.items()}
    item.lex_noise = {k: _mean(v) for k, v in lex_n.items()}
    if first_bad is not None:
        score, r, comp = first_bad
        n = noise[r]
        noise_ok = n is not None and failure_class(n) is None
        noise_agreed = None
        if noise_ok:
            noise_agreed = _run_comparator(item, answer_text(prim[r]), answer_text(n), ignore_paths=ignore).agree
        failed = failure_class(cand[r])  # type: ignore[arg-type]
        item.example = {
            "id": item.id, "slice": item.slice, "comparator": item.comparator, "repeat": r,
            "score": max(0.0, score),
            "reason": (f"candidate failed: {failed}" if failed else _reason(item, comp, cand[r])),  # type: ignore[arg-type]
            "noise_agreed": noise_agreed,
            "critical": sorted(_critical_flags(item, cand[r])) if cand[r].ok and cand[r].response else [],  # type: ignore[union-attr]
            "ignored_paths": list(comp.detail.get("ignored_paths") or []) if comp is not None else [],
            "question": _question(item.prompt)[:TEXT_KEEP],
            "primary": answer_text(prim[r])[:TEXT_KEEP],
            "noise": answer_text(n)[:TEXT_KEEP] if noise_ok else None,
            "candidate": (answer_text(cand[r]) or f"[{failed}]")[:TEXT_KEEP],
        }  # fmt: skip


def _failed_pair(operational: dict[str, list[float]], lexical: dict[str, list[float]]) -> None:
    """A call without a usable answer agrees with Pro on nothing."""
    for check, _ in OPERATIONAL_CHECKS:
        operational[check].append(0.0)
    lexical["rouge_l"].append(0.0)
    lexical["token_f1"].append(0.0)


def _wrong_leaves(comp: P.Comparison, leaves: set[str] | None) -> set[str]:
    """The primary's generalised leaf paths on which a JSON comparison disagrees."""
    if leaves is None:
        return set()
    if comp.detail.get("invalid_json"):
        return set(leaves)
    wrong: set[str] = set()
    for path in comp.detail.get("disagreeing_paths") or ():
        g = _generalise(path)
        hit = {leaf for leaf in leaves if leaf == g or leaf.startswith(g + ".") or leaf.startswith(g + "[")}
        wrong |= hit or {g}
    return wrong


def _question(prompt: Prompt) -> str:
    """The last user turn's text (what a reader needs to make sense of the answers)."""
    contents = prompt.request.get("contents") or []
    for turn in reversed(contents if isinstance(contents, list) else []):
        if isinstance(turn, Mapping) and turn.get("role", "user") == "user":
            texts = [p.get("text") for p in turn.get("parts") or () if isinstance(p, Mapping) and p.get("text")]
            if texts:
                return "\n".join(texts)
    return ""


# --------------------------------------------------------------------------- small statistics helpers


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _binary(values: Sequence[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


@dataclass(frozen=True)
class _Interval:
    estimate: float
    low: float
    high: float
    n: int


def _mean_diff(a: Sequence[float], b: Sequence[float], confidence: float,
               clusters: Sequence[str] | None = None) -> _Interval:
    """mean(b - a) with a two-sided normal interval (cluster-robust with `clusters`).

    One pass, O(n): the figures around the verdict are read on runs of a million calls."""
    n = len(a)
    d = [float(y) - float(x) for x, y in zip(a, b)]
    mean = math.fsum(d) / n
    if clusters is None:
        var = math.fsum((x - mean) ** 2 for x in d) / max(1, n - 1) / n
    else:
        totals: dict[str, float] = {}
        for key, x in zip(clusters, d):
            totals[key] = totals.get(key, 0.0) + (x - mean)
        var = math.fsum(t * t for t in totals.values()) / (n * n)
    half = S.normal_quantile(0.5 + confidence / 2.0) * math.sqrt(max(var, 0.0))
    return _Interval(mean, mean - half, mean + half, n)


def _rate_interval(values: Sequence[float], opts: Options) -> tuple[float, float]:
    """Interval of mean(values): Wilson for 0/1 values, a normal interval of the mean otherwise."""
    n = len(values)
    if _binary(values):
        return S.wilson_interval(int(sum(values)), n, opts.confidence)
    iv = _mean_diff([0.0] * n, values, opts.confidence)
    return max(0.0, iv.low), min(1.0, iv.high)


def three_way(metric_id: str, label: str, kind: str, noise: Sequence[float], cand: Sequence[float],
              opts: Options, *, clusters: Sequence[str] | None = None, noise_measured: int | None = None) -> dict[str, Any]:
    """A figure three ways: Pro vs Pro, Pro vs candidate, and the candidate's excess over the noise.

    `noise` and `cand` are per-prompt agreement (kind "disagreement") or similarity ("similarity")
    values in [0, 1], paired by prompt."""
    n = len(cand)
    excess = _mean_diff(cand, noise, opts.confidence, clusters)

    def side(values: Sequence[float]) -> dict[str, float]:
        mean = _mean(values)
        low, high = _rate_interval(values, opts)
        if kind == "disagreement":
            return {"value": 1.0 - mean, "low": 1.0 - high, "high": 1.0 - low}
        return {"value": mean, "low": low, "high": high}

    return {
        "id": metric_id, "label": label, "kind": kind, "n": n,
        "noise_measured": n if noise_measured is None else noise_measured,
        "noise": side(noise), "candidate": side(cand),
        "excess": {"estimate": excess.estimate, "low": excess.low, "high": excess.high},
    }  # fmt: skip


def _non_inferiority(cand: Sequence[float], noise: Sequence[float], measured: Sequence[bool], opts: Options, *,
                     margin: float | None = None, clusters: Sequence[str] | None = None) -> S.NonInferiorityResult:
    """decision.py's rule at this look: excess of (1 - cand) over (1 - noise, where measured)."""
    margin = opts.margin if margin is None else margin
    alpha = 1.0 - opts.confidence
    z = D.look_z(alpha, opts.look)
    est = D.estimate(cand, noise, measured, z, clusters=clusters)
    low, high = D.bounds(est, z)
    verdict = D.decide(low, high, margin)
    needed = None
    if verdict == PASS:
        reason = f"upper bound {high:.4f} < margin {margin:g}"
    elif verdict == FAIL:
        reason = f"lower bound {low:.4f} > margin {margin:g}"
    else:
        needed = D.prompts_needed(est, margin, D.look_z(alpha, opts.look + 1), opts.power)
        reason = (f"interval [{low:.4f}, {high:.4f}] contains margin {margin:g}"
                  + (f"; need ~{needed} prompts ({needed - est.n} more)" if needed else ""))
    return S.NonInferiorityResult(
        verdict=verdict, reason=reason, n=est.n, margin=margin, confidence=1.0 - D.look_alpha(alpha, opts.look),
        noise_disagreement=est.noise_disagreement, candidate_disagreement=est.candidate_disagreement,
        excess=est.excess, low=low, high=high, std_error=est.se, prompts_needed=needed,
        additional_prompts=None if needed is None else needed - est.n, power=opts.power,
        clusters=len(set(clusters)) if clusters is not None else None, resamples=0, seed=0, smoothing=True,
    )  # fmt: skip


def _decision_dict(result: S.NonInferiorityResult) -> dict[str, Any]:
    return asdict(result)


def _labels_section(items: list[_Item]) -> dict[str, Any] | None:
    label_items = [i for i in items if i.status == "compared" and i.comparator == "label"]
    if not label_items:
        return None

    def block(pairs: list[tuple[Any, Any]]) -> dict[str, Any] | None:
        if not pairs:
            return None
        table = P.confusion_table(pairs)
        kappa = P.cohens_kappa(table)
        return {
            "pairs": table.total, "agreement": table.observed_agreement,
            "kappa": None if math.isnan(kappa) else kappa,
            "confusion": {"labels": [None if l is None else str(l) for l in table.labels],
                          "counts": [list(r) for r in table.counts]},
            "flips": [{"primary": None if a is None else str(a), "other": None if b is None else str(b), "count": c}
                      for (a, b), c in table.flips().items()],
        }  # fmt: skip

    return {
        "items": len(label_items),
        "candidate": block([p for i in label_items for p in i.label_pairs_cand]),
        "noise": block([p for i in label_items for p in i.label_pairs_noise]),
    }


def _accuracy_section(items: list[_Item], opts: Options) -> dict[str, Any] | None:
    scored = [i for i in items if i.status == "compared" and "primary" in i.correct and "candidate" in i.correct]
    if not scored:
        return None
    arms: dict[str, Any] = {}
    for arm in ARMS:  # every rate over the same prompts as the difference below
        values = [i.correct[arm] for i in scored if arm in i.correct]
        if not values:
            continue
        low, high = _rate_interval(values, opts)
        arms[arm] = {"correct": math.fsum(values), "n": len(values), "rate": _mean(values), "low": low, "high": high}
    prim = [i.correct["primary"] for i in scored]
    cand = [i.correct["candidate"] for i in scored]
    b = sum(1 for x, y in zip(prim, cand) if x >= 0.5 > y)  # only Pro right
    c = sum(1 for x, y in zip(prim, cand) if y >= 0.5 > x)  # only the candidate right
    diff = _mean_diff(prim, cand, opts.confidence)
    return {
        "items": len(scored), "arms": arms,
        "mcnemar": {"only_primary_right": b, "only_candidate_right": c, "p": S.mcnemar_exact(b, c)},
        "difference": {"estimate": diff.estimate, "low": diff.low, "high": diff.high},
        "_pairs": (prim, cand),
    }  # fmt: skip


def _bound(count: int, n: int, confidence: float) -> dict[str, Any]:
    if n == 0:
        return {"count": 0, "n": 0, "rate": None, "upper": None, "rule_of_three": False}
    upper = S.rule_of_three(n, confidence) if count == 0 else S.rate_upper_bound(count, n, confidence)
    return {"count": count, "n": n, "rate": count / n, "upper": upper, "rule_of_three": count == 0}


def _operational_section(items: list[_Item], totals: "_Totals", opts: Options,
                         clusters: list[str] | None) -> dict[str, Any]:
    compared = [i for i in items if i.status == "compared"]
    finish = {arm: totals.arms[arm].finish if arm in totals.arms else Counter() for arm in ARMS}
    tools = any(i.tools for i in compared)
    metrics = []
    checks = [c for c in OPERATIONAL_CHECKS if tools or not c[0].startswith("tool_")]
    overall_c = [min(i.op_cand.values()) if i.op_cand else 1.0 for i in compared]
    overall_n = [min(i.op_noise.values()) if i.op_noise else 1.0 for i in compared]
    measured = sum(1 for i in compared if i.op_noise)
    if compared:
        metrics.append(three_way("operational", "operational behaviour (all checks)", "disagreement", overall_n,
                                 overall_c, opts, clusters=clusters, noise_measured=measured))
        for k, (check, label) in enumerate(checks):
            metrics.append(three_way(f"operational.{check}", label, "disagreement",
                                     [i.op_noise.get(check, 1.0) for i in compared],
                                     [i.op_cand.get(check, 1.0) for i in compared], opts, clusters=clusters,
                                     noise_measured=measured))

    def ratio(values: list[float]) -> dict[str, Any] | None:
        if not values:
            return None
        return {"median": S.quantile(values, 0.5), "mean": _mean(values), "n": len(values)}

    critical = []
    for kind in CRITICAL_KINDS:
        row = {"kind": kind, "label": CRITICAL_LABELS[kind], "arms": {}}
        for arm in ARMS:
            n = sum(i.critical_n.get(arm, 0) for i in items)
            if n:
                row["arms"][arm] = _bound(sum((i.critical.get(arm) or {}).get(kind, 0) for i in items), n, opts.confidence)
        if kind != "invalid_json" or any(i.comparator == "json" for i in items):
            critical.append(row)
    new = _bound(sum(i.new_critical for i in compared), sum(i.new_critical_n for i in compared), opts.confidence)
    return {
        "finish_reasons": {arm: dict(c.most_common()) for arm, c in finish.items() if c},
        "metrics": metrics,
        "length_ratio": {"candidate": ratio([r for i in compared for r in i.ratio_cand]),
                         "noise": ratio([r for i in compared for r in i.ratio_noise])},
        "critical": critical, "new_in_candidate": new,
        "tool_calls": sum(1 for i in compared if i.tools),
    }  # fmt: skip


def _pricing_section(manifest: Mapping[str, Any]) -> dict[str, Any]:
    pricing = manifest.get("pricing") or {}
    digest = hashlib.sha256(json.dumps(pricing, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return {"as_of": pricing.get("as_of"), "source": pricing.get("source"), "currency": pricing.get("currency", "USD"),
            "batch": bool(pricing.get("batch")), "priced_on": pricing.get("priced_on"), "hash": digest[:16],
            "models": pricing.get("models") or {}, "periods": F.price_periods(pricing)}


def _cost_parts(call: Call, pricing: Mapping[str, Any]) -> dict[str, float] | None:
    """The call's cost split into input / cached / output / thinking, from the manifest's rates.

    The split is scaled to the recorded cost_usd (at the rates of the model that served it, in the
    date's price period), so the parts always add up to what the run recorded."""
    if call.usage is None or call.cost_usd is None:
        return None
    rates = (pricing.get("models") or {}).get(call.priced_as or call.model)
    if not rates:
        return None
    u = call.usage
    long = rates.get("long_prompt")
    if long and u.prompt > long.get("above", math.inf):
        rates = long
    billed_in = max(0, u.prompt - u.cached)
    cached = min(u.cached, u.prompt) if u.prompt else u.cached
    parts = {"input": billed_in * rates.get("input", 0.0), "cached": cached * rates.get("cached_input", 0.0),
             "output": u.candidates * rates.get("output", 0.0), "thinking": u.thoughts * rates.get("output", 0.0)}
    total = math.fsum(parts.values())
    scale = call.cost_usd / total if total > 0 else 0.0
    return {k: v * scale for k, v in parts.items()}


def _cost_section(run: Run | StreamedRun, totals: "_Totals", opts: Options, volume: float | None,
                  judge_usd: float | None) -> dict[str, Any]:
    pricing = _pricing_section(run.manifest)
    arms: dict[str, Any] = {}
    for arm in ARMS:
        t = totals.arms.get(arm)
        if t is None or not t.requests:
            continue
        total = math.fsum(t.costs)
        arms[arm] = {
            "model": run.arms().get(arm), "requests": t.requests, "ok": t.ok, "successful": t.successful,
            "unpriced": t.ok - len(t.priced), "total_usd": total,
            "mean_usd": math.fsum(t.priced) / len(t.priced) if t.priced else None,
            "per_success_usd": total / t.successful if t.successful else None,
            "parts_usd": {k: t.parts.get(k, 0.0) for k in ("input", "cached", "output", "thinking")} if t.split else None,
            "thinking_share": t.thoughts / t.output if t.output else None,  # of output tokens, as `summary` shows
            "thinking_cost_share": (t.parts.get("thinking", 0.0) / total) if t.split and total > 0 else None,
        }  # fmt: skip
    # paired saving per request, over prompts both arms answered (figures.paired_costs: `summary` uses it too)
    pairs = totals.pairs
    saving = per_1000 = monthly = ratio = None
    if pairs:
        prim_costs, cand_costs = [p for _, p, _ in pairs], [c for _, _, c in pairs]
        clusters = totals.pair_slices
        boot = _mean_diff(cand_costs, prim_costs, opts.confidence, clusters if opts.cluster_by_slice else None)
        saving = {"estimate": boot.estimate, "low": boot.low, "high": boot.high, "n": boot.n}
        per_1000 = {k: saving[k] * 1000 for k in ("estimate", "low", "high")}
        ratio = F.cost_ratio(pairs)
        monthly = F.monthly(pairs, volume)
        if monthly is not None:
            scale = volume * DAYS_PER_MONTH  # type: ignore[operator]
            monthly["saving_usd"] = {"estimate": monthly["saving_usd"], "low": saving["low"] * scale,
                                     "high": saving["high"] * scale}
    return {
        "pricing": pricing, "priced_as": totals.priced_as, "arms": arms, "ratio": ratio,
        "saving_per_request": saving, "per_1000": per_1000,
        "monthly": monthly, "experiment_usd": math.fsum(a["total_usd"] for a in arms.values()),
        "judge_usd": judge_usd,
        "slices": {s: {arm: _mean(v) for arm, v in d.items()} for s, d in totals.slice_cost.items()},
    }  # fmt: skip


def _latency_block(values: list[float], confidence: float) -> dict[str, Any] | None:
    if not values:
        return None
    out: dict[str, Any] = {"n": len(values), "mean": _mean(values)}
    xs = sorted(values)
    for q in (50, 95, 99):
        qi = S.quantile_interval(xs, q / 100, confidence)
        out[f"p{q}"] = {"estimate": qi.estimate, "low": qi.low, "high": qi.high}
    out["cdf"] = [S.quantile(xs, i / 100, _sorted=True) for i in range(101)]
    return out


def _latency_section(totals: "_Totals", opts: Options) -> dict[str, Any]:
    arms = {}
    for arm in ARMS:
        t = totals.arms.get(arm)
        block = _latency_block(list(t.latency), opts.confidence) if t is not None else None
        if block is not None:
            block["ttft_p50"] = S.quantile(list(t.ttft), 0.5) if t.ttft else None  # type: ignore[union-attr]
            arms[arm] = block
    slices = {s: {arm: {"p50": S.quantile(list(v), 0.5), "p95": S.quantile(list(v), 0.95), "n": len(v)}
                  for arm, v in d.items()} for s, d in totals.slice_latency.items()}
    p95_ratio = None
    if "primary" in arms and "candidate" in arms and arms["primary"]["p95"]["estimate"] > 0:
        p95_ratio = arms["candidate"]["p95"]["estimate"] / arms["primary"]["p95"]["estimate"]
    return {"arms": arms, "slices": slices, "p95_ratio": p95_ratio}


def _judge_section(judge: Mapping[str, Any] | None, items: list[_Item], opts: Options) -> dict[str, Any] | None:
    if not judge:
        return None
    final: Mapping[tuple[str, str, int], Call] = judge["final"]
    samples = int(judge.get("samples") or 1)
    wins = losses = ties = unparsed = position_biased = both_orders = longer_wins = decisive_len = 0
    primary_won: list[float] = []
    candidate_won: list[float] = []
    by_item = {i.id: i for i in items if i.status == "compared"}
    for pid, item in by_item.items():
        outcomes = []
        for s in range(samples):
            ab, ba = final.get((f"ab:{pid}", "judge", s)), final.get((f"ba:{pid}", "judge", s))
            if ab is None or ba is None or not ab.ok or not ba.ok:
                continue
            v1 = P.parse_judgement(ab.response.text if ab.response else None)
            v2 = P.parse_judgement(ba.response.text if ba.response else None)
            unparsed += (v1 is None) + (v2 is None)
            both_orders += 1
            if v1 is not None and v1 == v2 and v1 != "tie":
                position_biased += 1
            outcomes.append(P.combine_judgements(v1, v2))
        if not outcomes:
            continue
        top = Counter(outcomes).most_common()
        outcome = top[0][0] if len(top) == 1 or top[0][1] > top[1][1] else "tie"
        wins += outcome == "candidate"
        losses += outcome == "primary"
        ties += outcome == "tie"
        primary_won.append(float(outcome == "primary"))
        candidate_won.append(float(outcome == "candidate"))
        if outcome != "tie" and item.answer_lengths is not None:
            lp, lc = item.answer_lengths
            if lp != lc:
                decisive_len += 1
                longer_wins += (outcome == "candidate") == (lc > lp)
    judged = wins + losses + ties
    all_calls = judge.get("calls") or []
    out: dict[str, Any] = {
        "model": judge.get("model"), "backend": judge.get("backend"), "samples": samples, "judged": judged,
        "wins": wins, "ties": ties, "losses": losses, "unparsed_replies": unparsed,
        "position_bias_rate": position_biased / both_orders if both_orders else None,
        "longer_answer_wins": longer_wins / decisive_len if decisive_len else None,
        "cost_usd": math.fsum(c.cost_usd or 0.0 for c in all_calls),
        "calls": len(all_calls), "errors": sum(1 for c in final.values() if not c.ok),
        "same_family": bool(judge.get("same_family")),
        "tie_rule": "a win counts only if it survives the swap of answer order; anything else is a tie",
    }  # fmt: skip
    if wins + losses:
        low, high = S.wilson_interval(wins, wins + losses, opts.confidence)
        out["win_rate"] = {"value": wins / (wins + losses), "low": low, "high": high}
        out["sign_test_p"] = S.sign_test(wins, losses)
    else:
        out["win_rate"] = None
        out["sign_test_p"] = None
    out["_pairs"] = (primary_won, candidate_won)
    return out


# --------------------------------------------------------------------------- gates


def _gate(gate_id: str, name: str, status: str, summary: str, *, required: bool, **extra: Any) -> dict[str, Any]:
    return {"id": gate_id, "name": name, "status": status, "required": required, "summary": summary,
            "prompts_needed": extra.pop("prompts_needed", None), **extra}


def _pp(x: float) -> str:
    return f"{x * 100:+.1f} pp"


def _ni_gate(gate_id: str, name: str, result: S.NonInferiorityResult, what: str, *, required: bool) -> dict[str, Any]:
    level = f"{result.confidence:.0%}"
    if result.verdict == PASS:
        summary = (f"{what} {_pp(result.excess)}, upper bound {_pp(result.high)} < margin "
                   f"{result.margin * 100:g} pp ({level} one-sided)")
    elif result.verdict == FAIL:
        summary = (f"{what} {_pp(result.excess)}, lower bound {_pp(result.low)} "
                   + (f"> margin {result.margin * 100:g} pp" if result.low > result.margin
                      else f"> 0 and the estimate is beyond the margin {result.margin * 100:g} pp"))
    else:
        need = f"; need ~{result.prompts_needed} prompts" if result.prompts_needed else ""
        summary = (f"{what} {_pp(result.excess)}, interval [{result.low * 100:+.1f}, {result.high * 100:+.1f}] straddles the "
                   f"margin {result.margin * 100:g} pp{need}")
    return _gate(gate_id, name, result.verdict, summary, required=required, prompts_needed=result.prompts_needed,
                 n=result.n, estimate=result.excess, low=result.low, high=result.high, margin=result.margin)


def _critical_gate(new: Mapping[str, Any], opts: Options) -> dict[str, Any]:
    name = "critical failures new in the candidate"
    limit = opts.max_critical_rate
    n, count = new["n"], new["count"]
    if limit is None:
        summary = (f"{count} in {n} answers" + (f", at most {new['upper'] * 100:.2f}% at {opts.confidence:.0%}" if n else "")
                   + "; not gated (set --max-critical-rate)")
        return _gate("critical", name, NOT_GATED, summary, required=False, **{k: new[k] for k in ("count", "n", "upper")})
    if n == 0:
        return _gate("critical", name, INCONCLUSIVE, "no answers compared", required=True)
    rate = count / n
    upper = new["upper"]
    low = S.clopper_pearson_interval(count, n, 2 * opts.confidence - 1)[0] if count else 0.0
    needed = None
    if upper < limit:
        status, summary = PASS, f"{count} in {n}: upper bound {upper * 100:.2f}% < limit {limit * 100:g}%"
    elif low > limit:
        status, summary = FAIL, f"{count} in {n}: lower bound {low * 100:.2f}% > limit {limit * 100:g}%"
    else:
        status = INCONCLUSIVE
        if rate < limit:
            z = S.normal_quantile(opts.confidence) + S.normal_quantile(opts.power)
            needed = max(n + 1, math.ceil(z * z * max(rate * (1 - rate), 1e-12) / (limit - rate) ** 2),
                         math.ceil(math.log(1 - opts.confidence) / math.log(1 - limit)))
        summary = (f"{count} in {n}: upper bound {upper * 100:.2f}% is not below the limit {limit * 100:g}%"
                   + (f"; need ~{needed} prompts" if needed else ""))
    return _gate("critical", name, status, summary, required=True, prompts_needed=needed, count=count, n=n,
                 upper=upper, limit=limit)


def _latency_gate(latency: Mapping[str, Any], opts: Options) -> dict[str, Any] | None:
    if opts.max_p95_ratio is None:
        return None
    name = f"candidate p95 latency <= {opts.max_p95_ratio:g} x Pro's"
    arms = latency["arms"]
    if "primary" not in arms or "candidate" not in arms:
        return _gate("latency", name, INCONCLUSIVE, "latency of both arms is needed", required=False)
    p, c = arms["primary"]["p95"], arms["candidate"]["p95"]
    r = opts.max_p95_ratio
    if c["high"] is not None and p["low"] is not None and c["high"] <= r * p["low"]:
        status = PASS
    elif c["low"] is not None and p["high"] is not None and c["low"] > r * p["high"]:
        status = FAIL
    else:
        status = INCONCLUSIVE
    summary = (f"p95 {c['estimate']:,.0f} ms vs {p['estimate']:,.0f} ms (ratio {latency['p95_ratio']:.2f}); "
               "decided on the order-statistic intervals of both p95s")
    return _gate("latency", name, status, summary, required=False, ratio=latency["p95_ratio"], limit=r)


def _saving_gate(cost: Mapping[str, Any], opts: Options) -> dict[str, Any] | None:
    if opts.min_monthly_saving is None:
        return None
    name = f"projected monthly saving >= ${opts.min_monthly_saving:,.0f}"
    monthly = cost.get("monthly")
    if not monthly:
        return _gate("saving", name, INCONCLUSIVE, "no volume: pass --volume REQUESTS_PER_DAY", required=False)
    s = monthly["saving_usd"]
    status = PASS if s["low"] >= opts.min_monthly_saving else FAIL if s["high"] < opts.min_monthly_saving else INCONCLUSIVE
    summary = f"${s['estimate']:,.0f}/month [{s['low']:,.0f}, {s['high']:,.0f}] at {monthly['volume_per_day']:,.0f} requests/day"
    return _gate("saving", name, status, summary, required=False, estimate=s["estimate"], low=s["low"], high=s["high"])


# --------------------------------------------------------------------------- the document


def _item(prompt: Prompt, group: Group, repeats: int, opts: Options) -> _Item:
    name, options = resolve_comparator(prompt.compare, opts.compare, opts.compare_all)
    repeats = max([repeats] + [rep + 1 for _, rep in group])
    calls = {arm: [group.get((arm, r)) for r in range(repeats)] for arm in ARMS}
    return _Item(prompt, str(prompt.slice) if prompt.slice is not None else "(no slice)", name, options, calls)


@dataclass
class _ArmTotals:
    """What the cost, latency and finish-reason figures need of one arm's final calls."""

    requests: int = 0
    ok: int = 0
    successful: int = 0
    costs: array = field(default_factory=lambda: array("d"))  # cost_usd (0.0 when none) of every call
    priced: array = field(default_factory=lambda: array("d"))  # cost_usd of the answered calls that have one
    parts: Counter = field(default_factory=Counter)
    split: int = 0
    thoughts: int = 0
    output: int = 0
    latency: array = field(default_factory=lambda: array("d"))
    ttft: array = field(default_factory=lambda: array("d"))
    finish: Counter = field(default_factory=Counter)


@dataclass
class _Totals:
    """Every figure that needs the calls themselves, gathered prompt by prompt as the run streams by;
    an evaluated prompt then drops its calls, so memory does not grow with the answers."""

    pricing: Mapping[str, Any]
    factors: Mapping[str, float]
    arms: dict[str, _ArmTotals] = field(default_factory=dict)
    served: Counter = field(default_factory=Counter)  # (arm, model asked, modelVersion) -> answered calls
    priced_as: dict[str, dict[str, Any]] = field(default_factory=dict)
    pairs: list[tuple[str, float, float]] = field(default_factory=list)
    pair_slices: list[str] = field(default_factory=list)
    slice_cost: dict[str, dict[str, array]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(lambda: array("d"))))
    slice_latency: dict[str, dict[str, array]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(lambda: array("d"))))
    noise_calls: bool = False
    json_fields: "_JsonFields" = field(default_factory=lambda: _JsonFields())

    def add(self, item: _Item, group: Group) -> None:
        self.json_fields.add(item)
        for (arm, _), call in group.items():
            self.noise_calls |= arm == "noise"
            t = self.arms.setdefault(arm, _ArmTotals())
            t.requests += 1
            t.costs.append(call.cost_usd or 0.0)
            if not call.ok or call.response is None:
                t.finish["ERROR"] += 1
            else:
                t.finish[str(call.response.finish_reason or ("BLOCKED" if call.response.blocked else "UNSPECIFIED"))] += 1
            if not call.ok:
                continue
            t.ok += 1
            t.successful += _usable(item, call)
            self.served[(arm, call.model, call.model_version)] += 1
            if call.cost_usd is not None:
                t.priced.append(call.cost_usd)
                if arm in ("primary", "candidate"):
                    self.slice_cost[item.slice][arm].append(call.cost_usd)
            parts = _cost_parts(call, self.pricing)
            if parts is not None:
                t.split += 1
                t.parts.update(parts)
            if call.usage is not None:
                t.thoughts += call.usage.thoughts
                t.output += call.usage.output
            if call.latency_ms is not None:
                t.latency.append(call.latency_ms)
                if arm in ("primary", "candidate"):
                    self.slice_latency[item.slice][arm].append(call.latency_ms)
            if call.ttft_ms is not None:
                t.ttft.append(call.ttft_ms)
        F.priced_as((c for c in group.values()), into=self.priced_as)
        pair = F.paired_costs({(item.id, arm, rep): c for (arm, rep), c in group.items()}, self.factors)
        if pair:
            self.pairs.extend(pair)
            self.pair_slices.append(item.slice)


def _evaluated(run: Run | StreamedRun, opts: Options) -> tuple[list[_Item], _Totals, list[dict[str, Any]]]:
    """Every prompt evaluated, in dataset order, one at a time: its calls are folded into the totals
    and then let go (only the figures of each prompt stay, and the `show` worst disagreements)."""
    pricing = run.manifest.get("pricing") or {}
    totals = _Totals(pricing, F.projection_factors(pricing))
    repeats = int(run.manifest.get("repeats") or 1)
    items: list[_Item] = []
    examples: list[dict[str, Any]] = []
    shared: dict[Any, Any] = {}
    for prompt, group in run.groups():
        item = _item(prompt, group, repeats, opts)
        _evaluate(item)
        totals.add(item, group)
        if item.pairs:
            r = item.pairs[0]
            item.answer_lengths = (len(answer_text(item.calls["primary"][r])), len(answer_text(item.calls["candidate"][r])))
        _compact(item, shared)
        items.append(item)
        if item.example is not None:
            examples.append(item.example)
            if len(examples) > 4 * max(opts.show, 8):
                examples[:] = _worst_first(examples)[:opts.show]
        item.example = None
    return items, totals, _worst_first(examples)[:opts.show]


_NOTHING: tuple = ()


def _compact(item: _Item, shared: dict[Any, Any]) -> None:
    """What an evaluated prompt keeps: its figures, not its answers; equal small figures (most
    prompts' "everything agreed") are one shared object."""
    item.calls = _EMPTY  # type: ignore[assignment]
    item.prompt = dataclasses.replace(item.prompt, request=_EMPTY, logged=None, expected=None, compare=None,
                                      tags=item.prompt.tags or _NOTHING)
    item.options = _share(shared, ("options", tuple(item.options.items())), item.options) if item.options else _EMPTY  # type: ignore[assignment]
    item.pairs = _NOTHING  # type: ignore[assignment]
    item.json_fields = _EMPTY  # type: ignore[assignment]  # summed into the totals already
    item.critical = {arm: c for arm, c in item.critical.items() if c} or _EMPTY  # type: ignore[assignment]
    for name in ("failures", "samples"):
        if not getattr(item, name):
            setattr(item, name, _EMPTY)
    for name in ("op_cand", "op_noise", "lex_cand", "lex_noise", "correct", "critical_n"):
        value = getattr(item, name)
        setattr(item, name, _share(shared, (name, tuple(value.items())), value) if value else _EMPTY)
    for name in ("ratio_cand", "ratio_noise", "label_pairs_cand", "label_pairs_noise"):
        value = tuple(getattr(item, name))
        setattr(item, name, _share(shared, (name, value), value))


def _share(shared: dict[Any, Any], key: Any, value: Any) -> Any:
    """One object for equal values (bounded: past 100,000 distinct values each keeps its own)."""
    try:
        found = shared.get(key)
        if found is None and len(shared) < 100_000:
            found = shared[key] = value
    except TypeError:  # an unhashable label
        return value
    return value if found is None else found


_EMPTY: Mapping[Any, Any] = {}


def _worst_first(examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Critical failures first, then where Pro agreed with itself, then by lowest similarity."""
    return sorted(examples, key=lambda e: (not e["critical"], e["noise_agreed"] is False, e["score"], e["id"]))


def compute(run: Run | StreamedRun, options: Options | None = None, *, judge: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The verdict document for a run, loaded (store.load_run) or streamed (store.open_run), and
    optionally its pairwise judgements."""
    opts = options or Options()
    opts.check()
    manifest = run.manifest
    items, totals, worst = _evaluated(run, opts)
    compared = [i for i in items if i.status == "compared"]
    if not compared:
        raise UserError(f"{run.folder}: no prompt has both a primary and a candidate answer yet "
                        "(run `flm shadow run`, or --resume it)")
    warnings: list[str] = []
    clusters = [i.slice for i in compared] if opts.cluster_by_slice else None
    noise_measured = sum(1 for i in compared if i.noise_measured)
    has_noise_arm = "noise" in (manifest.get("arms") or {}) or totals.noise_calls

    # --- parity (the required gate)
    noise_values, cand_values = [i.noise_agree for i in compared], [i.cand_agree for i in compared]
    measured = [i.noise_measured for i in compared]
    decision = _non_inferiority(cand_values, noise_values, measured, opts, clusters=clusters)
    metrics = [
        three_way("agreement", "answers disagree (per-prompt comparator)", "disagreement",
                  [i.noise_agree for i in compared], [i.cand_agree for i in compared], opts, clusters=clusters,
                  noise_measured=noise_measured),
        three_way("similarity", "similarity score, mean (per-prompt comparator)", "similarity",
                  [i.noise_score for i in compared], [i.cand_score for i in compared], opts, clusters=clusters,
                  noise_measured=noise_measured),
    ]
    lexical = [
        three_way(f"lexical.{name}", label, "similarity", [i.lex_noise.get(name, 1.0) for i in compared],
                  [i.lex_cand[name] for i in compared], opts, clusters=clusters, noise_measured=noise_measured)
        for k, (name, label) in enumerate((("rouge_l", "ROUGE-L F1, mean"), ("token_f1", "token F1, mean")))
    ]

    # --- slices, worst first
    total = len(compared)
    slice_names = sorted({i.slice for i in compared})
    slice_rows = []
    alpha = D.look_alpha(1.0 - opts.confidence, opts.look)
    for k, name in enumerate(slice_names):
        members = [i for i in compared if i.slice == name]
        nv, cv = [i.noise_agree for i in members], [i.cand_agree for i in members]
        res = _non_inferiority(cv, nv, [i.noise_measured for i in members], opts)
        est = D.estimate(cv, nv, [i.noise_measured for i in members], D.look_z(1.0 - opts.confidence, opts.look))
        p_pass, p_fail = D.p_values(est, opts.margin)
        noise_iv = _rate_interval([1.0 - i.noise_agree for i in members if i.noise_measured] or [0.0], opts)
        cand_iv = _rate_interval([1.0 - i.cand_agree for i in members], opts)
        slice_rows.append({
            "slice": name, "n": len(members), "share": len(members) / total,
            "comparators": dict(Counter(i.comparator for i in members).most_common()),
            "noise_measured": sum(1 for i in members if i.noise_measured),
            "noise": res.noise_disagreement, "candidate": res.candidate_disagreement,
            "noise_interval": list(noise_iv), "candidate_interval": list(cand_iv),
            "excess": res.excess, "low": res.low, "high": res.high, "std_error": res.std_error,
            "p_pass": p_pass, "p_fail": p_fail, "_result": res,
        })  # fmt: skip
    for key in ("p_pass", "p_fail"):
        for row, adj in zip(slice_rows, S.holm([r[key] for r in slice_rows])):
            row[key + "_holm"] = adj
    for row in slice_rows:
        res = row.pop("_result")
        if row["p_fail_holm"] < alpha:
            row["status"] = FAIL  # beyond the margin, family-wise (Holm) across slices
        elif row["p_pass_holm"] < alpha:
            row["status"] = PASS
        else:
            row["status"] = INCONCLUSIVE
        row["blocking"] = row["status"] == FAIL
        row["prompts_needed"] = res.prompts_needed
    slice_rows.sort(key=lambda r: (-r["excess"], -r["high"], r["slice"]))

    # --- sections
    labels = _labels_section(items)
    accuracy = _accuracy_section(items, opts)
    operational = _operational_section(items, totals, opts, clusters)
    judge_doc = _judge_section(judge, items, opts)
    volume = opts.volume_per_day if opts.volume_per_day is not None else (manifest.get("settings") or {}).get("volume_per_day")
    cost = _cost_section(run, totals, opts, volume, judge_doc["cost_usd"] if judge_doc else None)
    latency = _latency_section(totals, opts)
    for row in slice_rows:
        row["cost"] = cost["slices"].get(row["slice"], {})
        row["latency"] = latency["slices"].get(row["slice"], {})

    # --- gates
    gates = [_ni_gate("parity", "parity: excess disagreement over the Pro-vs-Pro noise floor", decision,
                      "excess disagreement", required=True)]
    multi = len(slice_rows) > 1
    for row in slice_rows:
        status = row["status"]
        text = (f"noise {row['noise'] * 100:.1f}%, candidate {row['candidate'] * 100:.1f}%, excess {_pp(row['excess'])} "
                f"[{row['low'] * 100:+.1f}, {row['high'] * 100:+.1f}]")
        if multi:
            text += f"; Holm-adjusted p {row['p_pass_holm']:.3g} (below margin) / {row['p_fail_holm']:.3g} (beyond it)"
        needed = None
        gates.append(_gate(f"slice:{row['slice']}", f"slice {row['slice']}", status, text, required=row["blocking"],
                           prompts_needed=needed, n=row["n"], estimate=row["excess"], low=row["low"],
                           high=row["high"], margin=opts.margin, blocking=row["blocking"]))
    gates.append(_critical_gate(operational["new_in_candidate"], opts))
    if accuracy is not None:
        prim, cand = accuracy.pop("_pairs")
        if opts.accuracy_margin is not None:
            res = _non_inferiority(cand, prim, [True] * len(prim), opts, margin=opts.accuracy_margin)
            accuracy["decision"] = _decision_dict(res)
            gates.append(_ni_gate("accuracy", "accuracy against the expected answers", res,
                                  "candidate accuracy below Pro's by", required=True))
        else:
            gates.append(_gate("accuracy", "accuracy against the expected answers", NOT_GATED,
                               f"Pro {accuracy['arms']['primary']['rate'] * 100:.1f}%, candidate "
                               f"{accuracy['arms']['candidate']['rate'] * 100:.1f}% on {accuracy['items']} prompts; "
                               f"McNemar p = {accuracy['mcnemar']['p']:.3g}; not gated (set --accuracy-margin)",
                               required=False))
    for extra in (_latency_gate(latency, opts), _saving_gate(cost, opts)):
        if extra is not None:
            extra["required"] = True
            gates.append(extra)
    if judge_doc is not None:
        pw, cw = judge_doc.pop("_pairs")
        if pw and opts.judge_gate:
            res = _non_inferiority(cw, pw, [True] * len(pw), opts)
            judge_doc["decision"] = _decision_dict(res)
            gates.append(_ni_gate("judge", "pairwise judge: Pro preferred minus candidate preferred", res,
                                  "net preference for Pro", required=True))

    # --- who served each arm: a routed arm fails the verdict closed (unless --allow-routed)
    served = SV.service_counts(totals.served, _catalog())
    routed = {arm: row for arm, row in served.items() if row["routed"]}
    if routed:
        text = "; ".join(f"{arm} asked for {row['requested']}, served by {SV.describe(row)}" for arm, row in routed.items())
        if opts.allow_routed:
            gates.append(_gate("served", "every arm served by the model asked for", NOT_GATED,
                                  text + " (allowed by --allow-routed)", required=False))
            warnings.append(f"routed arms allowed by --allow-routed: {text}; the figures compare the models that "
                            "actually served, not the ones named")
        else:
            gates.append(_gate("served", "every arm served by the model asked for", ROUTED, text, required=True))
    else:
        gates.append(_gate("served", "every arm served by the model asked for",
                              PASS if any(r["served"] for r in served.values()) else NOT_GATED,
                              "; ".join(f"{arm}: {SV.describe(row)}" for arm, row in served.items()), required=False))

    # --- verdict
    deciding = [g for g in gates if g["status"] != NOT_GATED and (g["required"] or g["status"] == FAIL)]
    if any(g["status"] == ROUTED for g in deciding):
        status = ROUTED
    elif any(g["status"] == FAIL for g in deciding):
        status = FAIL
    elif any(g["status"] == INCONCLUSIVE for g in deciding):
        status = INCONCLUSIVE
    else:
        status = PASS
    needed = None
    if status == INCONCLUSIVE:
        needs = [g["prompts_needed"] for g in deciding if g["status"] == INCONCLUSIVE and g["prompts_needed"]]
        needed = max(needs) if needs else None
    models = run.arms()
    reasons = [f"{g['name']}: {g['status']} -- {g['summary']}" for g in deciding if g["status"] != PASS or g["id"] == "parity"]
    headline = _headline(status, decision, models, needed, total, [g for g in deciding if g["status"] == status])

    # --- warnings
    if manifest.get("status") not in (None, "complete"):
        warnings.append(f"the run's status is {manifest.get('status')!r}: not every call was made")
    if not has_noise_arm:
        warnings.append("no Pro-vs-Pro calls in this run: the noise floor is assumed to be zero, so every "
                        "disagreement counts against the candidate (run with --noise-floor)")
    elif noise_measured < total:
        warnings.append(f"{total - noise_measured} of {total} compared prompts have no Pro-vs-Pro pair: the noise "
                        f"floor is estimated on the {noise_measured} that do, and its wider uncertainty is in the interval")
    counts = Counter(i.status for i in items)
    failures = _failures_section(items)
    if failures["primary"]["calls"]:
        warnings.append(f"{failures['primary']['calls']} primary call(s) had no usable answer "
                        f"({_classes(failures['primary'])}): left out of both sides; {counts['primary_error']} "
                        "prompt(s) had no usable primary answer at all")
    if failures["candidate"]["calls"]:
        warnings.append(f"{failures['candidate']['calls']} candidate call(s) had no usable answer "
                        f"({_classes(failures['candidate'])}): each counts as a disagreement")
    if counts["not_run"]:
        warnings.append(f"{counts['not_run']} prompt(s) have not been run yet")
    unpriced = sum(a["unpriced"] for a in cost["arms"].values())
    if unpriced:
        warnings.append(f"{unpriced} successful call(s) could not be priced: cost totals are incomplete")
    if opts.cluster_by_slice and len(slice_names) < 10:
        warnings.append(f"clustered bootstrap over only {len(slice_names)} slice(s): its intervals are unreliable "
                        "with fewer than ~10 clusters")
    if judge_doc is not None and judge_doc["same_family"]:
        warnings.append(f"the judge ({judge_doc['model']}) is a Gemini model judging Gemini answers: self-preference "
                        "risk; prefer a judge from another family (--backend openai)")

    return {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "tool_version": __version__,
        "run": {
            "folder": str(run.folder), "status": manifest.get("status"), "created_at": manifest.get("created_at"),
            "dataset": {k: (manifest.get("dataset") or {}).get(k) for k in ("path", "sha256", "items")},
            "models": models, "backends": {a: s.get("backend") for a, s in (manifest.get("arms") or {}).items()},
            "repeats": manifest.get("repeats", 1), "noise_floor": has_noise_arm,
            "noise_sample": manifest.get("noise_sample"), "seed": manifest.get("seed"),
        },
        "settings": {f.name: getattr(opts, f.name) for f in fields(opts)} | {"volume_per_day": volume},
        "verdict": {"status": status, "exit_code": EXIT_CODES[status], "headline": headline, "reasons": reasons,
                    "prompts_needed": needed, "additional_prompts": (needed - total) if needed else None},
        "gates": gates,
        "coverage": {
            "prompts": len(items), "compared": total, "primary_errors": counts["primary_error"],
            "candidate_errors": failures["candidate"]["calls"], "not_run": counts["not_run"],
            "noise_measured": noise_measured, "noise_assumed": total - noise_measured,
            "comparators": dict(Counter(i.comparator for i in compared).most_common()),
        },
        "parity": {"decision": _decision_dict(decision), "metrics": metrics,
                   "method": {"interval": "normal, influence-function standard error (noise floor estimated only "
                                          "where measured), smoothed with z^2/2 pseudo-prompts at +/-1",
                              "looks": D.SPENDING, "look": opts.look,
                              "alpha": D.look_alpha(1.0 - opts.confidence, opts.look),
                              "slices": D.MULTIPLICITY,
                              "fail_rule": "FAIL only when the interval lies beyond the margin"}},
        "failures": failures, "served": served,
        "billing": dict(run.exposure or {"possibly_billed_calls": 0, "possibly_billed_usd": 0.0}),
        "slices": slice_rows,
        "json_fields": _json_fields(totals.json_fields, opts),
        "labels": labels, "accuracy": accuracy, "operational": operational, "lexical": lexical,
        "judge": judge_doc, "cost": cost, "latency": latency,
        "disagreements": worst,
        "warnings": warnings,
    }  # fmt: skip


def _failures_section(items: list[_Item]) -> dict[str, Any]:
    """Calls without a usable answer, per arm and class, with a sample message per class."""
    out: dict[str, Any] = {}
    for arm in ARMS:
        classes: Counter = Counter()
        samples: dict[str, str] = {}
        for item in items:
            classes.update(item.failures.get(arm) or {})
            for (a, kind), message in item.samples.items():
                if a == arm:
                    samples.setdefault(kind, message)
        out[arm] = {"calls": sum(classes.values()),
                    "classes": [{"class": k, "calls": n, "sample": samples.get(k)} for k, n in classes.most_common()]}
    out["rule"] = ("a candidate or noise call without a usable answer counts as a disagreement; a primary call "
                   "without one is left out of both sides")
    return out


def _classes(arm: Mapping[str, Any]) -> str:
    return ", ".join(f"{c['class']} x{c['calls']}" for c in arm["classes"])


def _catalog() -> Any:
    from migrate.catalog import bundled_catalog

    try:
        return bundled_catalog()
    except UserError:
        return None


def _more_often(x: float) -> str:
    return f"{abs(x) * 100:.1f} pp {'more' if x >= 0 else 'less'} often"


def _headline(status: str, d: S.NonInferiorityResult, models: Mapping[str, str], needed: int | None, n: int,
              deciding: list[dict[str, Any]]) -> str:
    cand, prim = models.get("candidate", "the candidate"), models.get("primary", "Pro")
    margin = f"{d.margin * 100:g} pp"
    first = deciding[0] if deciding else None
    if status == ROUTED:
        return (f"ROUTED: {first['summary']}; the comparison is not between the models named. Re-run against "
                "models served as asked, or judge what actually served with --allow-routed")
    if status == PASS:
        return (f"PASS: {cand} disagrees with {prim} {_more_often(d.excess)} than {prim} disagrees with itself; "
                f"the upper bound {_pp(d.high)} is below the {margin} margin ({n} prompts)")
    if status == FAIL:
        if first is not None and first["id"] != "parity":
            return f"FAIL: {first['name']}: {first['summary']}"
        return (f"FAIL: {cand} disagrees with {prim} {_more_often(d.excess)} than {prim} disagrees with itself; "
                f"at least {_pp(d.low)} (lower bound) against a {margin} margin ({n} prompts)")
    need = f"; need ~{needed} prompts ({needed - n} more)" if needed else ""
    what = "" if first is None or first["id"] == "parity" else f" on {first['name']}"
    return (f"INCONCLUSIVE{what}: after {n} prompts the excess disagreement is {_pp(d.excess)} "
            f"[{d.low * 100:+.1f}, {d.high * 100:+.1f}], which does not settle the {margin} margin{need}")


@dataclass
class _JsonFields:
    """Per JSON leaf field, summed over the compared JSON prompts as they stream by."""

    prompts: int = 0
    pairs: int = 0
    prompt_noisy: int = 0
    weight: Counter = field(default_factory=Counter)
    tables: dict[str, tuple[Counter, Counter]] = field(
        default_factory=lambda: {"noise": (Counter(), Counter()), "candidate": (Counter(), Counter())})

    def add(self, item: _Item) -> None:
        if item.comparator != "json" or item.status != "compared":
            return
        self.prompts += 1
        for leaves, _ in item.json_fields["candidate"]:
            self.pairs += 1
            for leaf in leaves:
                self.weight[leaf] += 1.0 / len(leaves)
        for arm, (seen, wrong) in self.tables.items():
            for leaves, bad in item.json_fields[arm]:
                seen.update(leaves)
                wrong.update(bad & leaves)
        self.prompt_noisy += any(bad for _, bad in item.json_fields["noise"])


def _json_fields(acc: _JsonFields, opts: Options) -> dict[str, Any] | None:
    """Every JSON leaf field, never dropped: its weight in the JSON parity figure (a prompt's
    agreement is the share of its fields that agree), how often Pro disagrees with itself on it
    and how often the candidate disagrees with Pro; the excess is judged against its own noise."""
    if not acc.prompts:
        return None
    weight, pairs, tables, prompt_noisy = acc.weight, acc.pairs, acc.tables, acc.prompt_noisy
    rows = []
    (n_seen, n_wrong), (c_seen, c_wrong) = tables["noise"], tables["candidate"]
    for path in set(n_seen) | set(c_seen):
        noise_rate = n_wrong[path] / n_seen[path] if n_seen[path] else None
        cand_rate = c_wrong[path] / c_seen[path] if c_seen[path] else None
        rows.append({
            "path": path, "weight": weight[path] / pairs if pairs else 0.0,
            "compared_noise": n_seen[path], "noise": n_wrong[path], "noise_rate": noise_rate,
            "compared_candidate": c_seen[path], "candidate": c_wrong[path], "candidate_rate": cand_rate,
            "excess": None if noise_rate is None or cand_rate is None else cand_rate - noise_rate,
            "noisy": noise_rate is not None and noise_rate >= opts.noisy_field_rate,
        })  # fmt: skip
    rows.sort(key=lambda r: (-(r["weight"] * (r["excess"] if r["excess"] is not None else (r["candidate_rate"] or 0.0))),
                             r["path"]))
    return {"prompts": acc.prompts, "pairs": pairs, "noisy_patterns": sorted(r["path"] for r in rows if r["noisy"]),
            "prompt_noisy": prompt_noisy, "paths": rows,
            "rule": "a prompt's JSON agreement is the share of its leaf fields that agree; no field is left out"}


# --------------------------------------------------------------------------- planning


def plan(*, margin: float, expected_agreement: float, noise_agreement: float | None = None,
         discordant_rate: float | None = None, confidence: float = 0.95, power: float = 0.8, slices: int = 1,
         critical_limit: float | None = None, cost_per_prompt: float | None = None,
         pilot: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Sample sizes before money is spent (pure). Raises UserError when no size can work."""
    if not 0.0 < margin < 1.0:
        raise UserError(f"--margin must be a fraction between 0 and 1, got {margin}")
    if slices < 1:
        raise UserError("--slices must be at least 1")
    first_look = 1.0 - D.look_alpha(1.0 - confidence, 1)  # the level the gate's first look decides at
    try:
        n = S.sample_size_non_inferiority(margin, expected_agreement, noise_agreement, first_look, power,
                                          discordant_rate=discordant_rate)
        per_slice = S.sample_size_non_inferiority(margin, expected_agreement, noise_agreement,
                                                  1.0 - (1.0 - first_look) / slices, power,
                                                  discordant_rate=discordant_rate) if slices > 1 else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    a_n = expected_agreement if noise_agreement is None else noise_agreement
    psi = discordant_rate if discordant_rate is not None else (
        expected_agreement * (1 - a_n) + a_n * (1 - expected_agreement))
    limit = critical_limit if critical_limit is not None else margin
    critical_n = max(1, math.ceil(math.log(1.0 - confidence) / math.log(1.0 - limit)))
    precision = S.sample_size_proportion(expected_agreement, margin, confidence) if 0 < expected_agreement < 1 else None
    rows = [
        {"id": "non_inferiority", "prompts": n,
         "what": f"PASS with {power:.0%} power at the first look if the candidate is as good as assumed (one-sided "
                 f"{first_look:.1%}: the first look spends half of alpha; margin {margin * 100:g} pp, discordant rate "
                 f"{psi * 100:.1f}%)"},
    ]  # fmt: skip
    if per_slice is not None:
        rows.append({"id": "per_slice", "prompts": per_slice * slices,
                     "what": f"the same in each of {slices} slices ({per_slice} per slice, Bonferroni-adjusted "
                             f"{1 - (1 - first_look) / slices:.2%})"})
    rows.append({"id": "critical", "prompts": critical_n,
                 "what": f"bound a never-seen critical failure below {limit * 100:g}% (rule of three at {confidence:.0%})"})
    if precision is not None:
        rows.append({"id": "precision", "prompts": precision,
                     "what": f"a +/-{margin * 100:g} pp interval on an agreement rate near {expected_agreement:.0%}"})
    out: dict[str, Any] = {
        "margin": margin, "expected_agreement": expected_agreement, "noise_agreement": a_n,
        "discordant_rate": psi, "confidence": confidence, "power": power, "slices": slices,
        "recommended": max(r["prompts"] for r in rows if r["id"] in ("non_inferiority", "per_slice", "critical")),
        "rows": rows, "pilot": dict(pilot) if pilot else None,
    }  # fmt: skip
    if cost_per_prompt is not None:
        out["cost_per_prompt"] = cost_per_prompt
        out["estimated_usd"] = cost_per_prompt * out["recommended"]
    return out


def pilot_figures(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What `plan RUN` takes from a pilot run's verdict document."""
    d = doc["parity"]["decision"]
    n = doc["coverage"]["compared"]
    arms = doc["cost"]["arms"]
    spent = math.fsum(a["total_usd"] for a in arms.values())
    return {"prompts": n, "expected_agreement": 1.0 - d["candidate_disagreement"],
            "noise_agreement": 1.0 - d["noise_disagreement"], "discordant_rate": None,
            "cost_per_prompt": spent / max(1, doc["coverage"]["prompts"]),
            "slices": len(doc["slices"]), "verdict": doc["verdict"]["status"]}


def exit_code(doc: Mapping[str, Any]) -> int:
    return EXIT_CODES[doc["verdict"]["status"]]

