"""Parity comparators: does the candidate say the same thing as the primary?

Every comparator is a pure function ``(a, b, **options) -> Comparison``; by convention ``a`` is
the reference (the primary, Pro) and ``b`` the other answer (candidate, or the second Pro call
for the noise floor). Comparators register themselves by name in :data:`COMPARATORS`, so a
dataset item's ``compare`` field or a run option picks one: ``compare("json", a, b, ...)``.

Also here: label statistics over many items (:func:`confusion_table`, :func:`cohens_kappa`),
operational parity of whole response records, the Pro-vs-Pro noisy JSON paths, and the pure
half of a pairwise LLM judge. No I/O.
"""

from __future__ import annotations

import functools
import json
import math
import re
import string
import types
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence

__all__ = [
    "Comparison",
    "COMPARATORS",
    "register",
    "get_comparator",
    "compare",
    "normalize_text",
    "strip_code_fence",
    "exact_match",
    "json_match",
    "noisy_paths",
    "format_path",
    "parse_path",
    "label_match",
    "extract_label",
    "ConfusionTable",
    "confusion_table",
    "cohens_kappa",
    "lcs_length",
    "rouge_l",
    "token_f1",
    "operational_parity",
    "judge_prompt",
    "parse_judgement",
    "combine_judgements",
]


@dataclass(frozen=True)
class Comparison:
    """Outcome of one comparison: a yes/no, a graded score in [0, 1], and why."""

    agree: bool
    score: float
    detail: Mapping[str, Any] = field(default_factory=dict)


Comparator = Callable[..., Comparison]
_REGISTRY: dict[str, Comparator] = {}
COMPARATORS: Mapping[str, Comparator] = types.MappingProxyType(_REGISTRY)


def register(name: str) -> Callable[[Comparator], Comparator]:
    """Decorator: make a comparator selectable by `name`."""

    def deco(fn: Comparator) -> Comparator:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"comparator {name!r} is already registered")
        _REGISTRY[name] = fn
        return fn

    return deco


def get_comparator(name: str) -> Comparator:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown comparator {name!r} (known: {known})") from None


def compare(name: str, a: str | None, b: str | None, **options: Any) -> Comparison:
    """Run the comparator called `name`; unknown options raise TypeError."""
    return get_comparator(name)(a, b, **options)


# --------------------------------------------------------------------------- normalisation

_FENCE = re.compile(r"\A(?P<fence>`{3,}|~{3,})[^\n]*\n(?P<body>.*?)\n?[ \t]*(?P=fence)[`~]*\Z", re.S)
_FENCE_ONE_LINE = re.compile(r"\A(?P<fence>`{3,})(?P<body>[^`\n].*?)(?P=fence)\Z")
# Sentence punctuation only: stripping closing quotes/brackets would make '"yes"' != 'yes' worse.
_TRAILING_PUNCT = ".,;:!?\u2026\u3002\uff0e\uff0c\u3001\uff01\uff1f\uff1b\uff1a"
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


def strip_code_fence(text: str) -> str:
    """Remove one Markdown code fence around the whole text (```lang ... ``` or ~~~), if any."""
    stripped = text.strip()
    m = _FENCE.match(stripped) or _FENCE_ONE_LINE.match(stripped)
    return m.group("body") if m else text


def _text(value: str | None) -> str:
    return "" if value is None else value


def normalize_text(
    text: str | None,
    *,
    nfc: bool = True,
    code_fence: bool = True,
    whitespace: bool = True,
    casefold: bool = True,
    trailing_punctuation: bool = True,
    articles: bool = False,
) -> str:
    """Normalise an answer for comparison; every step can be switched off.

    In order: Unicode NFC; remove a surrounding code fence; collapse runs of whitespace to one
    space and strip; case-fold; drop English articles (off by default, as OpenAI Evals'
    normalize); strip trailing sentence punctuation (. , ; : ! ? and CJK forms). None -> "".
    """
    text = _text(text)
    if nfc:
        text = unicodedata.normalize("NFC", text)
    if code_fence:
        text = strip_code_fence(text)
    if whitespace:
        text = " ".join(text.split())
    if casefold:
        text = text.casefold()
        if nfc:
            text = unicodedata.normalize("NFC", text)
    if articles:
        text = _ARTICLES.sub(" ", text) if casefold else re.sub(r"(?i)\b(?:a|an|the)\b", " ", text)
        if whitespace:
            text = " ".join(text.split())
    if trailing_punctuation:
        while True:
            trimmed = text.rstrip(_TRAILING_PUNCT)
            if whitespace:
                trimmed = trimmed.rstrip()
            if trimmed == text:
                break
            text = trimmed
    return text


# --------------------------------------------------------------------------- exact


@register("exact")
def exact_match(
    a: str | None,
    b: str | None,
    *,
    nfc: bool = True,
    code_fence: bool = True,
    whitespace: bool = True,
    casefold: bool = True,
    trailing_punctuation: bool = True,
    articles: bool = False,
) -> Comparison:
    """Equality after :func:`normalize_text` with the given switches."""
    options = dict(
        nfc=nfc,
        code_fence=code_fence,
        whitespace=whitespace,
        casefold=casefold,
        trailing_punctuation=trailing_punctuation,
        articles=articles,
    )
    na, nb = normalize_text(a, **options), normalize_text(b, **options)
    agree = na == nb
    first_diff = None
    if not agree:
        first_diff = next((i for i, (x, y) in enumerate(zip(na, nb)) if x != y), min(len(na), len(nb)))
    return Comparison(
        agree=agree,
        score=1.0 if agree else 0.0,
        detail={"raw_equal": _text(a) == _text(b), "first_difference": first_diff},
    )


# --------------------------------------------------------------------------- JSON paths

class _Wildcard:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


_ANY_KEY = _Wildcard("*")  # any one key
_ANY_INDEX = _Wildcard("[*]")  # any one list index
_ANY_DEPTH = _Wildcard("**")  # any number of segments
_BARE_KEY = re.compile(r"[^.\[\]\"'\s*]+")
_PATH_TOKEN = re.compile(
    r"""\[(?:(?P<index>\d+)|(?P<star>\*)|(?P<quoted>"(?:[^"\\]|\\.)*"))\]"""  # [2] [*] ["k"]
    r"""|(?P<dot>\.)?(?P<key>[^.\[\]]+)"""  # key or .key
)


def format_path(segments: Sequence[str | int]) -> str:
    """('a', 'b', 2, 'c') -> 'a.b[2].c'; awkward keys are quoted: a["x.y"]; the root is '$'."""
    out = ""
    for seg in segments:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif _BARE_KEY.fullmatch(seg) and seg != "$":
            out += f".{seg}" if out else seg
        else:
            out += f"[{json.dumps(seg, ensure_ascii=False)}]"
    return out or "$"


def parse_path(path: str) -> tuple:
    """Inverse of :func:`format_path`, plus patterns: '*' any key, '[*]' any index, '**' any
    number of segments. A leading '$' or '$.' is allowed."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
        if text.startswith("."):
            text = text[1:]
    segments: list = []
    pos = 0
    while pos < len(text):
        m = _PATH_TOKEN.match(text, pos)
        if not m or (m.group("dot") and pos == 0):
            raise ValueError(f"cannot parse JSON path {path!r} at offset {pos}")
        if m.group("index") is not None:
            segments.append(int(m.group("index")))
        elif m.group("star"):
            segments.append(_ANY_INDEX)
        elif m.group("quoted") is not None:
            segments.append(json.loads(m.group("quoted")))
        else:
            key = m.group("key")
            segments.append(_ANY_DEPTH if key == "**" else _ANY_KEY if key == "*" else key)
        pos = m.end()
    return tuple(segments)


def _seg_match(pattern_seg: Any, seg: str | int) -> bool:
    if pattern_seg is _ANY_INDEX:
        return isinstance(seg, int)
    if pattern_seg is _ANY_KEY:
        return isinstance(seg, str)
    return type(pattern_seg) is type(seg) and pattern_seg == seg


def _path_match(pattern: tuple, path: tuple, *, prefix: bool) -> bool:
    """Does `pattern` match `path` (or, with prefix=True, some prefix of it)?"""
    if not pattern:
        return prefix or not path
    head = pattern[0]
    if head is _ANY_DEPTH:
        return any(_path_match(pattern[1:], path[i:], prefix=prefix) for i in range(len(path) + 1))
    return bool(path) and _seg_match(head, path[0]) and _path_match(pattern[1:], path[1:], prefix=prefix)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _leaf_count(v: Any) -> int:
    if isinstance(v, dict) and v:
        return sum(_leaf_count(x) for x in v.values())
    if isinstance(v, list) and v:
        return sum(_leaf_count(x) for x in v)
    return 1


class _JsonDiff:
    """Walks two parsed JSON values side by side, counting leaf paths that agree."""

    def __init__(self, rel_tol, abs_tol, unordered, ignore, normalize_strings):
        self.rel_tol = rel_tol
        self.abs_tol = abs_tol
        self.unordered = unordered
        self.ignore = ignore
        self.normalize_strings = normalize_strings
        self.total = 0
        self.agreeing = 0
        self.reasons: dict[str, str] = {}
        self.ignored: dict[str, str] = {}

    def child(self) -> "_JsonDiff":
        return _JsonDiff(self.rel_tol, self.abs_tol, self.unordered, self.ignore, self.normalize_strings)

    def score(self) -> float:
        return self.agreeing / self.total if self.total else 1.0

    def _record(self, path: tuple, reason: str, leaves: int, ignored: bool) -> None:
        if ignored:
            self.ignored.setdefault(format_path(path), reason)
            return
        self.total += leaves
        if reason:
            self.reasons.setdefault(format_path(path), reason)
        else:
            self.agreeing += leaves

    def _scalar_equal(self, x: Any, y: Any) -> bool:
        if _is_number(x) and _is_number(y):
            if isinstance(x, int) and isinstance(y, int):
                return abs(x - y) <= max(self.rel_tol * max(abs(x), abs(y)), self.abs_tol)
            return math.isclose(x, y, rel_tol=self.rel_tol, abs_tol=self.abs_tol)
        if isinstance(x, str) and isinstance(y, str) and self.normalize_strings:
            return normalize_text(x) == normalize_text(y)
        return type(x) is type(y) and x == y

    def walk(self, x: Any, y: Any, path: tuple = (), ignored: bool = False) -> None:
        ignored = ignored or any(_path_match(p, path, prefix=True) for p in self.ignore)
        if isinstance(x, dict) and isinstance(y, dict) and (x or y):
            for key in list(x) + [k for k in y if k not in x]:
                sub = path + (key,)
                if key not in y:
                    self._record(sub, "missing in b", _leaf_count(x[key]), ignored or self._ignored(sub))
                elif key not in x:
                    self._record(sub, "missing in a", _leaf_count(y[key]), ignored or self._ignored(sub))
                else:
                    self.walk(x[key], y[key], sub, ignored)
        elif isinstance(x, list) and isinstance(y, list) and (x or y):
            if any(_path_match(p, path, prefix=False) for p in self.unordered):
                self._walk_unordered(x, y, path, ignored)
            else:
                for i in range(max(len(x), len(y))):
                    sub = path + (i,)
                    if i >= len(y):
                        self._record(sub, "missing in b", _leaf_count(x[i]), ignored or self._ignored(sub))
                    elif i >= len(x):
                        self._record(sub, "missing in a", _leaf_count(y[i]), ignored or self._ignored(sub))
                    else:
                        self.walk(x[i], y[i], sub, ignored)
        elif isinstance(x, (dict, list)) or isinstance(y, (dict, list)):
            if type(x) is type(y):  # both empty containers
                self._record(path, "", 1, ignored)
            else:
                self._record(path, "type", max(_leaf_count(x), _leaf_count(y)), ignored)
        elif self._scalar_equal(x, y):
            self._record(path, "", 1, ignored)
        else:
            same_kind = (_is_number(x) and _is_number(y)) or type(x) is type(y)
            self._record(path, "value" if same_kind else "type", 1, ignored)

    def _ignored(self, path: tuple) -> bool:
        return any(_path_match(p, path, prefix=True) for p in self.ignore)

    def _walk_unordered(self, x: list, y: list, path: tuple, ignored: bool) -> None:
        """Multiset semantics: pair each element of a with its best match in b (greedy by
        agreement score, exact matches first); paths use a's index, extras in b use b's."""
        candidates = []
        for i, xi in enumerate(x):
            for j, yj in enumerate(y):
                probe = self.child()
                probe.walk(xi, yj, path + (i,))
                candidates.append((-probe.score(), i, j))
        candidates.sort()
        used_a: set[int] = set()
        used_b: set[int] = set()
        pairs = []
        for _, i, j in candidates:
            if i not in used_a and j not in used_b:
                used_a.add(i)
                used_b.add(j)
                pairs.append((i, j))
        for i, j in sorted(pairs):
            self.walk(x[i], y[j], path + (i,), ignored)
        for i in range(len(x)):
            if i not in used_a:
                sub = path + (i,)
                self._record(sub, "missing in b", _leaf_count(x[i]), ignored or self._ignored(sub))
        for j in range(len(y)):
            if j not in used_b:
                sub = path + (j,)
                self._record(sub, "extra in b", _leaf_count(y[j]), ignored or self._ignored(sub))


_INVALID = object()


def _parse_json(value: Any, code_fence: bool) -> tuple[Any, str | None]:
    """(parsed value, error). Strings are JSON text; other values count as already parsed;
    None (no answer at all) is invalid."""
    if value is None:
        return _INVALID, "no answer"
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return value, None
    text = strip_code_fence(value) if code_fence else value
    try:
        return json.loads(text), None
    except (ValueError, RecursionError) as exc:
        return _INVALID, f"{type(exc).__name__}: {exc}"


def _patterns(paths: Iterable[str] | str) -> tuple:
    if isinstance(paths, str):
        paths = [paths]
    return tuple(parse_path(p) for p in paths)


@register("json")
def json_match(
    a: Any,
    b: Any,
    *,
    rel_tol: float = 0.0,
    abs_tol: float = 0.0,
    unordered: Iterable[str] = (),
    ignore_paths: Iterable[str] = (),
    code_fence: bool = True,
    normalize_strings: bool = False,
) -> Comparison:
    """Structural JSON comparison, leaf path by leaf path.

    * Invalid JSON on either side is a disagreement (score 0) listed in detail["invalid_json"]
      (["a"], ["b"] or both) -- count it as a critical failure of that side.
    * Numbers agree within ``math.isclose(rel_tol, abs_tol)``; the default is exact equality
      (1 == 1.0, true != 1) -- a default tolerance would let big integer IDs 1 apart agree.
    * Lists compare in order, except at paths matching a pattern in ``unordered`` (e.g.
      ["items", "results[*].tags", "**.tags"]), which compare as multisets.
    * Disagreements at or under a pattern in ``ignore_paths`` (e.g. the Pro-vs-Pro
      :func:`noisy_paths`) are reported in detail["ignored_paths"] and not counted at all.
    * score = agreeing leaf paths / compared leaf paths (1.0 if nothing left to compare); a
      missing key or a type clash counts every leaf under it. agree = no counted disagreement.
    """
    pa, err_a = _parse_json(a, code_fence)
    pb, err_b = _parse_json(b, code_fence)
    invalid = [side for side, val in (("a", pa), ("b", pb)) if val is _INVALID]
    if invalid:
        errors = {side: err for side, err in (("a", err_a), ("b", err_b)) if err}
        return Comparison(
            agree=False,
            score=0.0,
            detail={
                "invalid_json": invalid,
                "errors": errors,
                "disagreeing_paths": [],
                "reasons": {},
                "ignored_paths": [],
                "leaves": 0,
                "agreeing": 0,
            },
        )
    diff = _JsonDiff(rel_tol, abs_tol, _patterns(unordered), _patterns(ignore_paths), normalize_strings)
    diff.walk(pa, pb)
    return Comparison(
        agree=not diff.reasons,
        score=diff.score(),
        detail={
            "invalid_json": [],
            "disagreeing_paths": list(diff.reasons),
            "reasons": dict(diff.reasons),
            "ignored_paths": list(diff.ignored),
            "leaves": diff.total,
            "agreeing": diff.agreeing,
        },
    )


def noisy_paths(primary_a_json: Any, primary_b_json: Any, **options: Any) -> list[str]:
    """JSON paths on which two Pro answers to the same prompt disagree: the noise floor per
    field. Feed them to ``json_match(..., ignore_paths=...)`` so that the candidate is not
    blamed for them. Takes json_match's options; [] if either answer is not valid JSON."""
    options.pop("ignore_paths", None)
    result = json_match(primary_a_json, primary_b_json, **options)
    return list(result.detail["disagreeing_paths"])


# --------------------------------------------------------------------------- labels


def extract_label(text: str | None, labels: Iterable[str]) -> str | None:
    """The allowed label an answer gives, spelled as in `labels`; None if none or ambiguous.

    The whole normalised answer equal to a label wins; otherwise each label is searched as a
    whole word/phrase, occurrences inside a longer matching label are dropped ("positive" in
    "very positive"), and exactly one distinct label must remain.
    """
    canon: dict[str, str] = {}
    for lab in labels:
        canon.setdefault(normalize_text(lab), lab)
    answer = normalize_text(text)
    if answer in canon:
        return canon[answer]
    spans = []
    for norm, lab in canon.items():
        if not norm:
            continue
        for m in re.finditer(r"(?<!\w)" + re.escape(norm) + r"(?!\w)", answer):
            spans.append((m.start(), m.end(), lab))
    found = {
        lab
        for s, e, lab in spans
        if not any(s2 <= s and e <= e2 and (e2 - s2) > (e - s) for s2, e2, _ in spans)
    }
    return found.pop() if len(found) == 1 else None


@register("label")
def label_match(
    a: str | None,
    b: str | None,
    *,
    labels: Iterable[str] | None = None,
) -> Comparison:
    """Classification agreement: normalised label equality.

    With ``labels`` (the allowed set) each answer is reduced to a label by :func:`extract_label`;
    an answer without a clear label is "unparsed" and never agrees.
    """
    if labels is None:
        la: str | None = normalize_text(a)
        lb: str | None = normalize_text(b)
        unparsed: list[str] = []
    else:
        labels = list(labels)
        la, lb = extract_label(a, labels), extract_label(b, labels)
        unparsed = [side for side, lab in (("a", la), ("b", lb)) if lab is None]
    agree = not unparsed and la == lb
    return Comparison(
        agree=agree,
        score=1.0 if agree else 0.0,
        detail={"a_label": la, "b_label": lb, "unparsed": unparsed},
    )


def _label_key(x: Any) -> tuple:
    return (x is None, str(x))


@dataclass(frozen=True)
class ConfusionTable:
    """counts[i][j] = items labelled labels[i] by a (rows) and labels[j] by b (columns)."""

    labels: tuple
    counts: tuple[tuple[int, ...], ...]

    @property
    def total(self) -> int:
        return sum(map(sum, self.counts))

    @property
    def observed_agreement(self) -> float:
        t = self.total
        return sum(self.counts[i][i] for i in range(len(self.labels))) / t if t else math.nan

    def flips(self) -> dict[tuple, int]:
        """Off-diagonal cells with their counts: (a_label, b_label) -> n, largest first."""
        cells = [
            ((self.labels[i], self.labels[j]), c)
            for i, row in enumerate(self.counts)
            for j, c in enumerate(row)
            if i != j and c
        ]
        return dict(sorted(cells, key=lambda kv: -kv[1]))


def confusion_table(pairs: Iterable[tuple[Hashable, Hashable]]) -> ConfusionTable:
    """Cross-tabulate (a_label, b_label) pairs; labels sorted, None (unparsed) last."""
    counter = Counter((x, y) for x, y in pairs)
    labels = tuple(sorted({l for pair in counter for l in pair}, key=_label_key))
    index = {lab: i for i, lab in enumerate(labels)}
    rows = [[0] * len(labels) for _ in labels]
    for (x, y), c in counter.items():
        rows[index[x]][index[y]] += c
    return ConfusionTable(labels, tuple(tuple(r) for r in rows))


def cohens_kappa(pairs: Iterable[tuple[Hashable, Hashable]] | ConfusionTable) -> float:
    """Cohen's kappa = (p_o - p_e) / (1 - p_e) for two raters over many items.

    NaN when undefined: no items, or both raters used one and the same label throughout
    (p_e == 1).
    """
    table = pairs if isinstance(pairs, ConfusionTable) else confusion_table(pairs)
    total = table.total
    if total == 0:
        return math.nan
    k = len(table.labels)
    rows = [sum(r) for r in table.counts]
    cols = [sum(table.counts[i][j] for i in range(k)) for j in range(k)]
    p_o = sum(table.counts[i][i] for i in range(k)) / total
    p_e = sum(r * c for r, c in zip(rows, cols)) / (total * total)
    if p_e >= 1.0:
        return math.nan
    return (p_o - p_e) / (1.0 - p_e)


# --------------------------------------------------------------------------- lexical

_WORD = re.compile(r"\w+")


@functools.lru_cache(maxsize=4096)
def _tokens(text: str | None) -> tuple[str, ...]:
    """Word tokens (cached: each Pro answer is compared with the candidate's and with Pro's own)."""
    return tuple(_WORD.findall(normalize_text(text, trailing_punctuation=False)))


def lcs_length(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Length of the longest common subsequence, bit-parallel (Allison-Dix / Hyyro):
    O(len(a) * len(b) / wordsize) with Python's big integers."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return 0
    masks: dict[Hashable, int] = {}
    for i, tok in enumerate(a):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for tok in b:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


@register("rouge_l")
def rouge_l(a: str | None, b: str | None, *, threshold: float = 0.5, beta: float = 1.0) -> Comparison:
    """ROUGE-L F-measure on word tokens (NFC, case-folded): LCS recall vs a (the reference),
    precision vs b. agree = score >= threshold. Two empty answers score 1."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        score = 1.0 if not ta and not tb else 0.0
        return Comparison(score >= threshold, score, {"lcs": 0, "precision": score, "recall": score})
    lcs = lcs_length(ta, tb)
    recall, precision = lcs / len(ta), lcs / len(tb)
    if lcs == 0:
        score = 0.0
    else:
        b2 = beta * beta
        score = (1 + b2) * precision * recall / (recall + b2 * precision)
    return Comparison(score >= threshold, score, {"lcs": lcs, "precision": precision, "recall": recall})


_SQUAD_PUNCT = frozenset(string.punctuation)
_ASCII_PUNCT = str.maketrans("", "", string.punctuation)  # every ASCII P* character is in it


@functools.lru_cache(maxsize=4096)
def _squad_tokens(text: str | None) -> tuple[str, ...]:
    """SQuAD v1.1 normalize_answer: lower, drop punctuation, drop articles, split. Also drops
    Unicode punctuation (category P*), which the ASCII-only original leaves in."""
    text = _text(text).lower()
    if text.isascii():
        text = text.translate(_ASCII_PUNCT)
    else:
        text = "".join(
            ch for ch in text if ch not in _SQUAD_PUNCT and not unicodedata.category(ch).startswith("P")
        )
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return tuple(text.split())


@register("token_f1")
def token_f1(a: str | None, b: str | None, *, threshold: float = 0.5) -> Comparison:
    """SQuAD-style bag-of-tokens F1 between b (prediction) and a (reference).
    agree = score >= threshold. Both empty -> 1, one empty -> 0."""
    ta, tb = _squad_tokens(a), _squad_tokens(b)
    if not ta or not tb:
        score = float(ta == tb)
        return Comparison(score >= threshold, score, {"common": 0, "precision": score, "recall": score})
    common = sum((Counter(ta) & Counter(tb)).values())
    if common == 0:
        return Comparison(0.0 >= threshold, 0.0, {"common": 0, "precision": 0.0, "recall": 0.0})
    precision, recall = common / len(tb), common / len(ta)
    score = 2 * precision * recall / (precision + recall)
    return Comparison(score >= threshold, score, {"common": common, "precision": precision, "recall": recall})


# --------------------------------------------------------------------------- operational

_BLOCK_REASONS = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY"})


def _finish_reason(value: Any) -> str | None:
    """'STOP', 'FinishReason.STOP', 'FINISH_REASON_STOP', 'stop' -> 'STOP'."""
    if value is None:
        return None
    text = str(getattr(value, "name", value)).strip().upper()
    text = text.rsplit(".", 1)[-1]
    if text.startswith("FINISH_REASON_"):
        text = text[len("FINISH_REASON_") :]
    return text or None


def _canonical(value: Any) -> Any:
    """JSON-ish value with integral floats as ints and dict keys sorted, for comparing args."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def _tool_calls(resp: Mapping[str, Any]) -> list[tuple[str, str]]:
    calls = []
    for call in resp.get("tool_calls") or ():
        name = str(call.get("name"))
        args = json.dumps(_canonical(call.get("args") or {}), sort_keys=True, default=str)
        calls.append((name, args))
    return calls


def _side(resp: Mapping[str, Any]) -> dict[str, Any]:
    text = resp.get("text")
    finish = _finish_reason(resp.get("finish_reason"))
    calls = _tool_calls(resp)
    return {
        "finish_reason": finish,
        "blocked": bool(resp.get("blocked")) or finish in _BLOCK_REASONS,
        "empty": not (text or "").strip() and not calls,
        "truncated": finish == "MAX_TOKENS",
        "length": len(text or ""),
        "tool_calls": calls,
    }


def operational_parity(
    resp_a: Mapping[str, Any],
    resp_b: Mapping[str, Any],
    *,
    ordered_tool_calls: bool = False,
    max_length_ratio: float | None = None,
) -> Comparison:
    """Do two response records behave the same operationally?

    Records are dicts: text (str|None), finish_reason (str|None), blocked (bool), tool_calls
    (list of {"name", "args"}); missing keys mean None/False/[]. A finish reason of SAFETY,
    PROHIBITED_CONTENT, BLOCKLIST, SPII or IMAGE_SAFETY also counts as blocked; "empty" means
    no text and no tool call; "truncated" means MAX_TOKENS.

    Checks (agree = all pass, score = fraction passing): finish_reason, blocked, empty,
    truncated, tool_names (multiset, or sequence with ordered_tool_calls), tool_args (names
    with canonical args: key order and 1 vs 1.0 do not matter) and, only if
    ``max_length_ratio`` is set, length_ratio within [1/r, r]. detail["a"]/detail["b"] carry
    each side's flags -- detail["b"]["blocked"/"empty"/"truncated"] are the candidate's
    critical failures -- and detail["length_ratio"] = len(b.text) / len(a.text) (None if a is
    empty).
    """
    sa, sb = _side(resp_a), _side(resp_b)
    names_a = [n for n, _ in sa["tool_calls"]]
    names_b = [n for n, _ in sb["tool_calls"]]
    if ordered_tool_calls:
        names_ok = names_a == names_b
        args_ok = sa["tool_calls"] == sb["tool_calls"]
    else:
        names_ok = Counter(names_a) == Counter(names_b)
        args_ok = Counter(sa["tool_calls"]) == Counter(sb["tool_calls"])
    ratio = sb["length"] / sa["length"] if sa["length"] else None
    checks = {
        "finish_reason": sa["finish_reason"] == sb["finish_reason"],
        "blocked": sa["blocked"] == sb["blocked"],
        "empty": sa["empty"] == sb["empty"],
        "truncated": sa["truncated"] == sb["truncated"],
        "tool_names": names_ok,
        "tool_args": args_ok,
    }
    if max_length_ratio is not None:
        if max_length_ratio < 1.0:
            raise ValueError("max_length_ratio must be >= 1")
        if ratio is None:
            checks["length_ratio"] = sb["length"] == 0
        else:
            checks["length_ratio"] = 1.0 / max_length_ratio <= ratio <= max_length_ratio
    passed = sum(checks.values())
    return Comparison(
        agree=passed == len(checks),
        score=passed / len(checks),
        detail={
            "checks": checks,
            "length_ratio": ratio,
            "a": {k: v for k, v in sa.items() if k != "tool_calls"},
            "b": {k: v for k, v in sb.items() if k != "tool_calls"},
        },
    )


# --------------------------------------------------------------------------- pairwise judge

_JUDGE_TEMPLATE = """\
You are an impartial judge comparing two responses to the same request.

Judge which response better fulfils the request: correctness first, then completeness, \
instruction following and clarity. The responses are labelled A and B in an arbitrary order; \
the order and the labels carry no information. Do not prefer a response for being longer. \
If they are equally good, or equally bad, say TIE.

[REQUEST]
{question}
[END REQUEST]

[RESPONSE A]
{answer_1}
[END RESPONSE A]

[RESPONSE B]
{answer_2}
[END RESPONSE B]

Explain your reasoning briefly, then end with exactly one line, one of:
VERDICT: A
VERDICT: B
VERDICT: TIE
"""

_VERDICT_LINE = re.compile(r"VERDICT\s*:\s*\**\s*(A|B|TIE)\b", re.I)


def judge_prompt(question: str, answer_1: str, answer_2: str) -> str:
    """Pairwise judge prompt with blinded labels: the judge sees "Response A" (answer_1) and
    "Response B" (answer_2), never which model wrote which. Ask twice, swapping the answers,
    and combine with :func:`combine_judgements`."""
    return _JUDGE_TEMPLATE.format(question=question, answer_1=answer_1, answer_2=answer_2)


def parse_judgement(text: str | None) -> str | None:
    """'A', 'B' or 'tie' from a judge's reply (the last VERDICT line); None if there is none."""
    matches = _VERDICT_LINE.findall(text or "")
    if not matches:
        return None
    v = matches[-1].upper()
    return "tie" if v == "TIE" else v


def _position_winner(verdict: str | None) -> str | None:
    if verdict is None:
        return None
    v = str(verdict).strip().upper()
    if v in ("A", "1"):
        return "A"
    if v in ("B", "2"):
        return "B"
    if v == "TIE":
        return None
    raise ValueError(f"unknown judge verdict {verdict!r}; expected 'A', 'B', 'tie' or None")


def combine_judgements(verdict_order_ab: str | None, verdict_order_ba: str | None) -> str:
    """Combine the two orders into "candidate", "primary" or "tie".

    verdict_order_ab: the judge's verdict when A = primary, B = candidate;
    verdict_order_ba: when A = candidate, B = primary. Verdicts are "A"/"B"/"tie" (or "1"/"2";
    None = no usable verdict, treated as tie). A win counts only if it survives the swap;
    anything else -- including a position-biased A/A or B/B -- is a tie.
    """
    first = _position_winner(verdict_order_ab)
    second = _position_winner(verdict_order_ba)
    winner_ab = {"A": "primary", "B": "candidate"}.get(first or "")
    winner_ba = {"A": "candidate", "B": "primary"}.get(second or "")
    if winner_ab is not None and winner_ab == winner_ba:
        return winner_ab
    return "tie"
