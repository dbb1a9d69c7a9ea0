"""Token patterns from the cue tables, matched over a Doc.

A rule is medspaCy's TargetRule / ConTextRule as JSON: a `literal` (a phrase, matched token by
token, case-insensitively) or a `pattern` in spaCy's token-pattern form, of which this
supports the part our tables use: per token `LOWER` or `TEXT` as a string or as
`{"IN": [...]}` or `{"REGEX": "..."}`, `IS_DIGIT`, `LIKE_NUM`, and `OP` "?", "*", "+", "{n,m}".
The same
files load into medspaCy (`ConTextRule.from_json`), which is how the engine was measured
against it (rules/README.md).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .document import Doc, Token
from .text import NUMBER_WORDS as COUNT_WORDS

TokenTest = Callable[[Token], bool]
# Counts written out ("two days"), not the article ("a") that counts as one elsewhere.
NUMBER_WORDS = frozenset(w for w in COUNT_WORDS if len(w) > 2 and " " not in w)


@dataclass(frozen=True)
class Rule:
    """One row of a cue table."""

    literal: str
    category: str
    steps: tuple[tuple[TokenTest, tuple[int, int]], ...]  # (test, (min, max) tokens)
    first: frozenset[str] | None  # lower-case words a match can start with; None: any
    direction: str = "FORWARD"
    max_scope: int | None = None
    terminated_by: frozenset[str] = frozenset()
    allowed_types: frozenset[str] | None = None
    excluded_types: frozenset[str] = frozenset()
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Match:
    rule: Rule
    start: int  # token indices, end exclusive
    end: int

    @property
    def category(self) -> str:
        return self.rule.category

    @property
    def meta(self) -> dict[str, Any]:
        return self.rule.metadata


def _value_test(key: str, spec: Any) -> TokenTest:
    attr = "lower" if key == "LOWER" else "text"
    if isinstance(spec, str):
        return lambda t: getattr(t, attr) == spec
    if "IN" in spec:
        values = frozenset(spec["IN"])
        return lambda t: getattr(t, attr) in values
    if "REGEX" in spec:
        regex = re.compile(spec["REGEX"])
        return lambda t: regex.search(getattr(t, attr)) is not None
    raise ValueError(f"unsupported token spec {key}: {spec!r}")


def _token_test(spec: dict[str, Any]) -> TokenTest:
    tests: list[TokenTest] = []
    for key, value in spec.items():
        if key in ("LOWER", "TEXT"):
            tests.append(_value_test(key, value))
        elif key == "IS_DIGIT":
            tests.append(lambda t, v=value: t.text.isdigit() == v)
        elif key == "LIKE_NUM":
            tests.append(lambda t, v=value: (_like_num(t.lower)) == v)
        elif key != "OP":
            raise ValueError(f"unsupported token attribute {key!r}")
    return lambda t: all(test(t) for test in tests)


def _repeats(op: str) -> tuple[int, int]:
    """How many tokens one pattern token takes: OP "", "?", "*", "+" or spaCy's "{n,m}"."""
    fixed = {"": (1, 1), "?": (0, 1), "*": (0, 10**6), "+": (1, 10**6)}
    if op in fixed:
        return fixed[op]
    counted = re.fullmatch(r"\{(\d*),(\d+)\}", op)
    if counted is None:
        raise ValueError(f"unsupported OP {op!r}")
    return int(counted.group(1) or 0), int(counted.group(2))


def _like_num(word: str) -> bool:
    return word.replace(".", "", 1).replace(",", "", 1).isdigit() or word in NUMBER_WORDS


def _first_words(pattern: list[dict[str, Any]]) -> frozenset[str] | None:
    words: set[str] = set()
    for spec in pattern:
        lower = spec.get("LOWER")
        if isinstance(lower, str):
            words.add(lower)
        elif isinstance(lower, dict) and "IN" in lower:
            words.update(lower["IN"])
        else:
            return None
        if spec.get("OP", "") in ("", "+"):
            return frozenset(words)
    return None


def literal_pattern(literal: str) -> list[dict[str, Any]]:
    from .document import make_doc

    return [{"LOWER": t.lower} for t in make_doc(literal).tokens]


def make_rule(row: dict[str, Any], defaults: dict[str, Any] | None = None) -> Rule:
    row = {**(defaults or {}).get(row["category"], {}), **row}
    pattern = row.get("pattern") or literal_pattern(row["literal"])
    steps = tuple((_token_test(spec), _repeats(spec.get("OP", ""))) for spec in pattern)
    allowed = row.get("allowed_types")
    return Rule(
        literal=row["literal"],
        category=row["category"],
        steps=steps,
        first=_first_words(pattern),
        direction=row.get("direction", "FORWARD"),
        max_scope=row.get("max_scope"),
        terminated_by=frozenset(row.get("terminated_by", ())),
        allowed_types=frozenset(allowed) if allowed is not None else None,
        excluded_types=frozenset(row.get("excluded_types", ())),
        metadata=row.get("metadata") or {},
    )


class Matcher:
    """Every rule's matches in a Doc; a match never crosses a sentence end."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self._by_first: dict[str, list[Rule]] = defaultdict(list)
        self._anywhere: list[Rule] = []
        for rule in self.rules:
            if rule.first is None:
                self._anywhere.append(rule)
            else:
                for word in rule.first:
                    self._by_first[word].append(rule)

    def __call__(self, doc: Doc, categories: Iterable[str] | None = None) -> list[Match]:
        wanted = set(categories) if categories is not None else None
        out: list[Match] = []
        for i, token in enumerate(doc.tokens):
            limit = doc.sentence_of(i)[1]
            for rule in (*self._by_first.get(token.lower, ()), *self._anywhere):
                if wanted is not None and rule.category not in wanted:
                    continue
                end = _match_at(rule.steps, doc.tokens, i, limit)
                if end is not None and end > i:
                    out.append(Match(rule, i, end))
        return out


def _match_at(steps, tokens: list[Token], i: int, limit: int) -> int | None:
    """End of the longest match of `steps` starting at token i, or None (greedy, backing
    off one token at a time)."""
    if not steps:
        return i
    (test, (low, high)), rest = steps[0], steps[1:]
    j = i
    while j < limit and j - i < high and test(tokens[j]):
        j += 1
    while j - i >= low:
        end = _match_at(rest, tokens, j, limit)
        if end is not None:
            return end
        j -= 1
    return None


def longest_first(matches: list[Match]) -> list[Match]:
    """Non-overlapping matches, longer ones winning over those they overlap."""
    kept: list[Match] = []
    for m in sorted(matches, key=lambda m: (-(m.end - m.start), m.start)):
        if all(m.end <= k.start or k.end <= m.start for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.start)


@cache
def load_table(name: str) -> tuple[list[Rule], dict[str, Any]]:
    """Rules of one cue table (pipeline/textmeta/rules/<name>.json), read on first use, and
    the table's other sections (word lists, settings)."""
    text = resources.files(__package__).joinpath("rules", f"{name}.json").read_text("utf-8")
    data = json.loads(text)
    defaults = data.get("category_defaults", {})
    rows = data.get("context_rules", []) + data.get("target_rules", [])
    return [make_rule(row, defaults) for row in rows], data


@cache
def matcher(name: str) -> Matcher:
    return Matcher(load_table(name)[0])
