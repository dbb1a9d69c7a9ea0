"""Split a caption or case text into pieces, marking the spans that support each field.

Evidence offsets were taken from the text the extractor read; a reviewer may have edited
the notes since, so a span is used only where the text still holds its words, and is
otherwise looked up by its words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Piece:
    text: str
    fields: tuple[str, ...] = ()  # the fields this piece is evidence for; empty for plain text


def _span_in(text: str, span: dict[str, Any]) -> tuple[int, int] | None:
    words = str(span.get("text") or "")
    start, end = span.get("start"), span.get("end")
    in_range = isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)
    if in_range and (not words or text[start:end] == words):
        return start, end
    if words:
        found = text.find(words)
        if found >= 0:
            return found, found + len(words)
    return None


def pieces(text: str | None, evidence: dict[str, Any] | None) -> list[Piece]:
    """The text cut at every span boundary; overlapping spans mark a piece with both fields."""
    if not text:
        return []
    spans = {}
    for name, span in (evidence or {}).items():
        if isinstance(span, dict):
            found = _span_in(text, span)
            if found:
                spans[name] = found
    cuts = sorted({0, len(text), *(edge for span in spans.values() for edge in span)})
    out = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        fields = tuple(sorted(name for name, (s, e) in spans.items() if s <= start and end <= e))
        out.append(Piece(text[start:end], fields))
    return out


def found_fields(all_pieces: list[Piece]) -> set[str]:
    return {name for piece in all_pieces for name in piece.fields}
