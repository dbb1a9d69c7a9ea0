"""Questions the field rules ask of a cue table's matches in a Doc: the statements of a
category (its NOT_<category> rows taking their words, longest match first), and whether a
sentence holds a cue of some category."""

from __future__ import annotations

from .document import Doc
from .fields import Found
from .matcher import Match, load_table, longest_first


def statements(doc: Doc, table: str, category: str) -> list[Match]:
    """Matches of `category`, overlaps resolved longest first with its NOT_ rows (cached)."""
    key = f"_statements_{table}_{category}"
    cached = doc.__dict__.get(key)
    if cached is None:
        found = load_table(table).find(doc, {category, f"NOT_{category}"})
        cached = [m for m in longest_first(found) if m.category == category]
        doc.__dict__[key] = cached
    return cached


def sentences_with(doc: Doc, table: str, category: str) -> frozenset[int]:
    """Indices of the sentences that hold a match of `category` (cached)."""
    key = f"_sentences_{table}_{category}"
    cached = doc.__dict__.get(key)
    if cached is None:
        cached = frozenset(
            doc.tokens[m.start].sentence for m in load_table(table).find(doc, {category})
        )
        doc.__dict__[key] = cached
    return cached


def sentence_has(doc: Doc, table: str, category: str, token: int) -> bool:
    """The sentence of token `token` holds a match of `category`."""
    return doc.tokens[token].sentence in sentences_with(doc, table, category)


def opens_sentence(doc: Doc, m: Match, openers: frozenset[str] = frozenset("(,")) -> bool:
    """Nothing but `openers` (lower-case tokens; by default "(" and ",") comes before the
    match in its sentence."""
    first = doc.sentence_of(m.start)[0]
    return all(t.lower in openers for t in doc.tokens[first : m.start])


def drop_nested(found: list[tuple[Match, Found]]) -> list[tuple[Match, Found]]:
    """Drop statements nested inside another ("4-day" inside "4-day history")."""
    found = sorted(found, key=lambda pair: (pair[0].start, -pair[0].end))
    kept: list[tuple[Match, Found]] = []
    for m, f in found:
        if not any(k.start <= m.start and m.end <= k.end for k, _ in kept):
            kept.append((m, f))
    return kept
