"""One tokenisation and one sentence split per document, shared by every field.

Tokens are words, numbers (with their decimal point or comma: "38.5", "38,5") and single
punctuation marks, so "55-year-old", "55 - year - old" and "55?year?old" (after repair) are the
same five tokens: spacing does not matter to the rules. Sentences end at . ! ? ; and line
breaks (a decimal point is inside a number token, so it never ends one), but not at the point
of an abbreviation: one written with points ("y.o.", "e.g."), or a short word of ABBREVIATIONS
("Fig.", "approx.", "vs.").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from .fields import Evidence
from .normalize import Normalized, normalize

_TOKEN = re.compile(r"[^\W_]+(?:[.,]\d+)?|\n|[^\s]")
_SENTENCE_END = {".", "!", "?", ";", "\n"}
ABBREVIATIONS = frozenset({"fig", "figs", "vs", "approx", "dr", "mr", "mrs", "ms", "al", "ca",
                           "resp", "pt", "pts", "nr", "cfr", "ref"})  # fmt: skip


@dataclass(frozen=True)
class Token:
    text: str
    lower: str
    start: int  # character offsets in the repaired text
    end: int
    sentence: int
    sent_start: bool = False


@dataclass
class Doc:
    """A text, repaired, tokenised and split into sentences (token ranges)."""

    original: str
    normalized: Normalized
    tokens: list[Token] = field(default_factory=list)
    sentences: list[tuple[int, int]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.normalized.text

    @cached_property
    def lowers(self) -> list[str]:
        return [t.lower for t in self.tokens]

    def sentence_of(self, i: int) -> tuple[int, int]:
        return self.sentences[self.tokens[i].sentence]

    def char_span(self, start: int, end: int) -> tuple[int, int]:
        """Character span (repaired text) of tokens start..end-1."""
        return self.tokens[start].start, self.tokens[end - 1].end

    def span_text(self, start: int, end: int) -> str:
        s, e = self.char_span(start, end)
        return self.text[s:e]

    def evidence(self, start: int, end: int) -> Evidence:
        """The words of tokens start..end-1 (repaired text; `quote` maps to the original)."""
        s, e = self.char_span(start, end)
        return Evidence(s, e, self.text[s:e])

    def quote(self, ev: Evidence) -> Evidence:
        """The same words as a span of the original text."""
        s, e = self.normalized.original_span(ev.start, ev.end)
        return Evidence(s, e, self.original[s:e])

    def sentence_text(self, i: int) -> str:
        s, e = self.sentence_of(i)
        return self.span_text(s, e) if e > s else ""


def make_doc(text: str) -> Doc:
    normalized = normalize(text)
    doc = Doc(text, normalized)
    repaired = normalized.text
    sentence = 0
    first = 0
    for m in _TOKEN.finditer(repaired):
        value = m.group()
        if value == "\n":
            if len(doc.tokens) > first:
                doc.sentences.append((first, len(doc.tokens)))
                sentence += 1
                first = len(doc.tokens)
            continue
        token = Token(value, value.lower(), m.start(), m.end(), sentence, len(doc.tokens) == first)
        doc.tokens.append(token)
        if value in _SENTENCE_END and not (value == "." and _abbreviation(doc.tokens, repaired)):
            doc.sentences.append((first, len(doc.tokens)))
            sentence += 1
            first = len(doc.tokens)
    if len(doc.tokens) > first:
        doc.sentences.append((first, len(doc.tokens)))
    return doc


def _abbreviation(tokens: list[Token], text: str) -> bool:
    """The point just added closes an abbreviation, not a sentence."""
    point = tokens[-1]
    if point.end < len(text) and text[point.end].islower():
        return True  # "y.o", "e.g": a lower-case letter right after the point
    if len(tokens) < 2 or tokens[-2].end != point.start:
        return False
    word = tokens[-2].text
    rest = text[point.end : point.end + 3].lstrip(" ")
    # "65 y.o. man", "E. coli": a single letter, then a word in lower case
    initial = len(word) == 1 and word.isalpha() and (word.islower() or rest[:1].islower())
    return initial or word.lower() in ABBREVIATIONS
