"""ConText (Harkema et al. 2009, as medspaCy implements it) over one Doc.

Modifier cues (negation, hypothetical, another experiencer, historical, ...) come from a cue
table; each reaches the targets in its scope: FORWARD from the cue to the end of its sentence,
BACKWARD to the sentence start, or BIDIRECTIONAL, at most `max_scope` tokens, and cut at the
first cue of a category the rule names in `terminated_by` (commas, "but", "and was", ...).
PSEUDO cues ("no increase", ", including") only take their words away from other cues.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .document import Doc
from .matcher import Match, load_table, longest_first

# Cues that shape scopes rather than modify targets; they may span a target.
STRUCTURE = frozenset({"TERMINATE", "NEGATION_BREAK", "RELATIVE_CLAUSE"})


@dataclass
class Assertion:
    """A target match and the categories of the modifiers that reach it."""

    target: Match
    modifiers: list[Match] = field(default_factory=list)

    @property
    def categories(self) -> set[str]:
        return {m.category for m in self.modifiers}

    def has(self, *categories: str) -> bool:
        return any(m.category in categories for m in self.modifiers)


def modifiers(doc: Doc, tables: tuple[str, ...] = ("context",)) -> list[Match]:
    """The ConText cues of the tables' context_rules in the Doc (cached per Doc). Overlaps are
    resolved longest first within each table, in two layers, cues and scope structure, so that
    a relative clause taken whole as structure keeps the cues inside it; a PSEUDO cue takes its
    words from both layers."""
    key = "_modifiers_" + "+".join(tables)
    cached = doc.__dict__.get(key)
    if cached is None:
        cached = sorted((m for name in tables for m in _table_cues(doc, name)), key=_start)
        doc.__dict__[key] = cached
    return cached


def _start(m: Match) -> int:
    return m.start


def _table_cues(doc: Doc, name: str) -> list[Match]:
    key = f"_cues_{name}"
    cached = doc.__dict__.get(key)
    if cached is None:
        cached = _resolved(load_table(name).modifiers(doc))
        doc.__dict__[key] = cached
    return cached


def _resolved(found: list[Match]) -> list[Match]:
    """One table's cues with overlaps resolved, longest first, within each layer: the scope
    structure is one layer (a relative clause taken whole keeps no comma inside it), every
    other category its own (one phrase may hold cues of several). Cues on the same words all
    stay, since one word may open scopes of several rules; a PSEUDO cue takes its words from
    every layer."""
    pseudo = [m for m in found if m.category == "PSEUDO"]
    layers: dict[str, list[Match]] = {}
    for m in found:
        if m.category != "PSEUDO":
            layers.setdefault("" if m.category in STRUCTURE else m.category, []).append(m)
    kept: list[Match] = []
    for layer in layers.values():
        spans = {(m.start, m.end) for m in longest_first(layer + pseudo) if m in layer}
        kept += [m for m in layer if (m.start, m.end) in spans]
    return kept


def assert_targets(
    doc: Doc, targets: list[Match], tables: tuple[str, ...] = ("context",)
) -> list[Assertion]:
    """Each target with the modifiers (of the tables' context_rules) whose scope covers it."""
    cues = [
        m
        for m in modifiers(doc, tables)
        if m.category in STRUCTURE
        or not any(m.start < t.end and t.start < m.end for t in targets)
    ]
    out = [Assertion(t) for t in targets]
    for cue in cues:
        if cue.category in STRUCTURE:
            continue
        lo, hi = _scope(doc, cue, cues)
        for item in out:
            t = item.target
            types = cue.rule.allowed_types
            if types is not None and t.category not in types:
                continue
            if t.category in cue.rule.excluded_types:
                continue
            if t.start < hi and lo < t.end and not (cue.start <= t.start and t.end <= cue.end):
                item.modifiers.append(cue)
    return out


def _scope(doc: Doc, cue: Match, cues: list[Match]) -> tuple[int, int]:
    """Token range a cue reaches."""
    s_start, s_end = doc.sentence_of(cue.start)
    rule = cue.rule
    lo, hi = cue.start, cue.end
    stops = [c for c in cues if c.category in rule.terminated_by and c is not cue]
    if rule.direction in ("FORWARD", "BIDIRECTIONAL"):
        hi = s_end
        for c in stops:
            if cue.end <= c.start < hi:
                hi = c.start
        if rule.max_scope is not None:
            hi = min(hi, cue.end + rule.max_scope)
    if rule.direction in ("BACKWARD", "BIDIRECTIONAL"):
        lo = s_start
        for c in stops:
            if lo < c.end <= cue.start:
                lo = c.end
        if rule.max_scope is not None:
            lo = max(lo, cue.start - rule.max_scope)
    return lo, hi


def find_targets(doc: Doc, table: str, categories: set[str] | None = None) -> list[Match]:
    """A target table's matches, overlaps resolved longest first (blockers included)."""
    return longest_first(load_table(table).find(doc, categories))
