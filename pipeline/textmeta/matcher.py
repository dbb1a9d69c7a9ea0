"""Token patterns from the cue tables, matched over a Doc.

A rule is medspaCy's TargetRule / ConTextRule as JSON: a `literal` (a phrase, matched token by
token, case-insensitively) or a `pattern` in spaCy's token-pattern form, of which this supports
the part our tables use: per token `LOWER` or `TEXT` as a string or as `{"IN": [...]}` or
`{"REGEX": "..."}`, `IS_DIGIT`, `IS_PUNCT`, `IS_SENT_START`, `LIKE_NUM`, `ENT_TYPE` (a label
given by the table's `phrase_rules`, matched first, as spaCy's EntityRuler would), custom
attributes `{"_": {"CLASS": true}}` for the word classes of rules/values.json and of the table
(a class is a set of words, case-sensitive `texts`, `prefixes`, a `regex` on the token as
written, or the keys of a values.json section: `from`), and `OP` "?", "*", "+", "{n,m}".
The same files load into medspaCy once the classes are registered as token extensions
(rules/README.md tells how the engine was measured against it).
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

# A token test sees the token and the label phrase rules gave it (None outside phrases).
TokenTest = Callable[[Token, "str | None"], bool]


@dataclass(frozen=True)
class Rule:
    """One row of a cue table."""

    literal: str
    category: str
    steps: tuple[tuple[TokenTest, tuple[int, int]], ...]  # (test, (min, max) tokens)
    first: frozenset[str] | None  # lower-case words a match can start with; None: any
    first_key: str | None = None  # the first token's spec, when every match needs one
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


@dataclass(frozen=True)
class WordClass:
    words: frozenset[str] = frozenset()
    texts: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None
    # answers by token text, cleared when it grows large (memory stays bounded)
    seen: dict[str, bool] = field(default_factory=dict, compare=False, hash=False)

    def __contains__(self, token: Token) -> bool:
        known = self.seen.get(token.text)
        if known is None:
            known = self.seen[token.text] = (
                token.lower in self.words
                or token.text in self.texts
                or (bool(self.prefixes) and token.lower.startswith(self.prefixes))
                or (self.regex is not None and self.regex.search(token.text) is not None)
            )
            if len(self.seen) > 50_000:
                self.seen.clear()
        return known


def _section(sources: tuple[dict[str, Any], ...], dotted: str) -> Any:
    """A section of the first of `sources` that has it ("age_words.tens")."""
    for data in sources:
        try:
            for key in dotted.split("."):
                data = data[key]
        except KeyError:
            continue
        return data
    raise ValueError(f"no section {dotted!r} for a word class")


def word_classes(specs: dict[str, Any], *sources: dict[str, Any]) -> dict[str, WordClass]:
    out: dict[str, WordClass] = {}
    for name, spec in specs.items():
        words = {w.lower() for w in spec.get("words", ())}
        for source in spec.get("from", ()):
            words.update(w.lower() for w in _section(sources, source))
        regex = spec.get("regex")
        out[name] = WordClass(
            frozenset(words),
            frozenset(spec.get("texts", ())),
            tuple(p.lower() for p in spec.get("prefixes", ())),
            re.compile(regex) if regex else None,
        )
    return out


def _value_test(key: str, spec: Any) -> TokenTest:
    lower = key == "LOWER"
    if isinstance(spec, str):
        if lower:
            return lambda t, ent: t.lower == spec
        return lambda t, ent: t.text == spec
    if "IN" in spec or "NOT_IN" in spec:
        values = frozenset(spec.get("IN") or spec["NOT_IN"])
        wanted = "IN" in spec
        if lower:
            return lambda t, ent: (t.lower in values) == wanted
        return lambda t, ent: (t.text in values) == wanted
    if "REGEX" in spec:
        regex = re.compile(spec["REGEX"])
        if lower:
            return lambda t, ent: regex.search(t.lower) is not None
        return lambda t, ent: regex.search(t.text) is not None
    raise ValueError(f"unsupported token spec {key}: {spec!r}")


def _token_test(spec: dict[str, Any], classes: dict[str, WordClass]) -> TokenTest:
    tests: list[TokenTest] = []
    for key, value in spec.items():
        if key in ("LOWER", "TEXT"):
            tests.append(_value_test(key, value))
        elif key == "IS_DIGIT":
            tests.append(lambda t, ent, v=value: t.text.isdigit() == v)
        elif key == "IS_PUNCT":
            tests.append(lambda t, ent, v=value: (not t.text[0].isalnum()) == v)
        elif key == "IS_SENT_START":
            tests.append(lambda t, ent, v=value: t.sent_start == v)
        elif key == "LIKE_NUM":
            tests.append(
                lambda t, ent, v=value, c=classes["COUNT"], n=classes["NUMBER"]: (t in c or t in n)
                == v
            )
        elif key == "ENT_TYPE":
            if isinstance(value, dict) and "NOT_IN" in value:
                others = frozenset(value["NOT_IN"])
                tests.append(lambda t, ent, others=others: (ent or "") not in others)
            else:
                labels = frozenset([value] if isinstance(value, str) else value["IN"])
                tests.append(lambda t, ent, labels=labels: ent in labels)
        elif key == "_":
            for name, wanted in value.items():
                if name not in classes:
                    raise ValueError(f"unknown word class {name!r}")
                if wanted:
                    tests.append(lambda t, ent, c=classes[name]: t in c)
                else:
                    tests.append(lambda t, ent, c=classes[name]: t not in c)
        elif key != "OP":
            raise ValueError(f"unsupported token attribute {key!r}")
    if len(tests) == 1:
        return tests[0]
    return lambda t, ent: all(test(t, ent) for test in tests)


def _repeats(op: str) -> tuple[int, int]:
    """How many tokens one pattern token takes: OP "", "?", "*", "+" or spaCy's "{n,m}"."""
    fixed = {"": (1, 1), "?": (0, 1), "*": (0, 10**6), "+": (1, 10**6)}
    if op in fixed:
        return fixed[op]
    counted = re.fullmatch(r"\{(\d*),(\d+)\}", op)
    if counted is None:
        raise ValueError(f"unsupported OP {op!r}")
    return int(counted.group(1) or 0), int(counted.group(2))


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


def make_rule(
    row: dict[str, Any],
    defaults: dict[str, Any] | None = None,
    classes: dict[str, WordClass] | None = None,
) -> Rule:
    row = {**(defaults or {}).get(row["category"], {}), **row}
    pattern = row.get("pattern") or literal_pattern(row["literal"])
    classes = classes if classes is not None else shared_classes()
    steps = tuple((_token_test(spec, classes), _repeats(spec.get("OP", ""))) for spec in pattern)
    first_key = None
    if pattern and pattern[0].get("OP", "") in ("", "+"):
        first_key = json.dumps({k: v for k, v in pattern[0].items() if k != "OP"}, sort_keys=True)
    allowed = row.get("allowed_types")
    return Rule(
        literal=row.get("literal", ""),
        category=row["category"],
        steps=steps,
        first=_first_words(pattern),
        first_key=first_key,
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
        # Rules that start with the same (non-word) token spec share one test per token.
        self._by_key: dict[str, list[Rule]] = defaultdict(list)
        self._anywhere: list[Rule] = []
        for rule in self.rules:
            if rule.first is not None:
                for word in rule.first:
                    self._by_first[word].append(rule)
            elif rule.first_key is not None:
                self._by_key[rule.first_key].append(rule)
            else:
                self._anywhere.append(rule)
        self._key_tests = {k: rules[0].steps[0][0] for k, rules in self._by_key.items()}

    def __call__(
        self,
        doc: Doc,
        categories: Iterable[str] | None = None,
        ents: list[str | None] | None = None,
    ) -> list[Match]:
        wanted = set(categories) if categories is not None else None
        ents = ents if ents is not None else [None] * len(doc.tokens)
        out: list[Match] = []
        for i, token in enumerate(doc.tokens):
            limit = doc.sentence_of(i)[1]
            candidates = [*self._by_first.get(token.lower, ()), *self._anywhere]
            for key, test in self._key_tests.items():
                if test(token, ents[i]):
                    candidates.extend(self._by_key[key])
            for rule in candidates:
                if wanted is not None and rule.category not in wanted:
                    continue
                end = _match_at(rule.steps, doc.tokens, ents, i, limit)
                if end is not None and end > i:
                    out.append(Match(rule, i, end))
        return out


def _match_at(steps, tokens: list[Token], ents, i: int, limit: int) -> int | None:
    """End of the longest match of `steps` starting at token i, or None (greedy, backing
    off one token at a time)."""
    if not steps:
        return i
    (test, (low, high)), rest = steps[0], steps[1:]
    j = i
    while j < limit and j - i < high and test(tokens[j], ents[j]):
        j += 1
    while j - i >= low:
        end = _match_at(rest, tokens, ents, j, limit)
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


def _read_rules(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath("rules", f"{name}.json").read_text("utf-8")
    return json.loads(text)


@cache
def values_table() -> dict[str, Any]:
    """rules/values.json: the value grammars (numbers, units, months, ...)."""
    return _read_rules("values")


@cache
def shared_classes() -> dict[str, WordClass]:
    data = values_table()
    return word_classes(data["classes"], data)


@dataclass
class Table:
    """One cue table: its target rules, its own ConText modifiers, the phrase rules whose
    labels the other rules test with ENT_TYPE, its word classes and its other sections."""

    name: str
    targets: Matcher
    modifiers: Matcher
    phrases: Matcher
    classes: dict[str, WordClass]
    data: dict[str, Any]

    def labels(self, doc: Doc) -> list[str | None]:
        """Each token's phrase label (cached per Doc)."""
        key = f"_labels_{self.name}"
        cached = doc.__dict__.get(key)
        if cached is None:
            cached = [None] * len(doc.tokens)
            if self.phrases.rules:
                for m in longest_first(self.phrases(doc)):
                    cached[m.start : m.end] = [m.category] * (m.end - m.start)
            doc.__dict__[key] = cached
        return cached

    def find(self, doc: Doc, categories: Iterable[str] | None = None) -> list[Match]:
        """Target matches (overlapping ones included), cached per Doc."""
        key = f"_targets_{self.name}"
        cached = doc.__dict__.get(key)
        if cached is None:
            cached = self.targets(doc, ents=self.labels(doc))
            doc.__dict__[key] = cached
        if categories is None:
            return list(cached)
        wanted = set(categories)
        return [m for m in cached if m.category in wanted]

    def has(self, doc: Doc, i: int, word_class: str) -> bool:
        return doc.tokens[i] in self.classes[word_class]

    def words(self, doc: Doc, start: int, end: int, word_class: str) -> list[int]:
        """Token indices in start..end-1 of a word class."""
        cls = self.classes[word_class]
        return [i for i in range(start, end) if doc.tokens[i] in cls]


@cache
def load_table(name: str) -> Table:
    """One cue table (pipeline/textmeta/rules/<name>.json), read on first use."""
    data = _read_rules(name)
    classes = {**shared_classes(), **word_classes(data.get("classes", {}), data, values_table())}
    defaults = data.get("category_defaults", {})

    def rules(section: str) -> Matcher:
        return Matcher(make_rule(row, defaults, classes) for row in data.get(section, []))

    return Table(
        name, rules("target_rules"), rules("context_rules"), rules("phrase_rules"), classes, data
    )
