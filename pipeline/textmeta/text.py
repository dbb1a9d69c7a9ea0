"""The language of a text: Italian or English, by their function words (rules/values.json)."""

from __future__ import annotations

from .document import Doc, make_doc
from .matcher import values_table

SAMPLE = 4000  # characters


def detect_language(text: str | Doc) -> str:
    """'it' when Italian function words outnumber English ones in the first SAMPLE
    characters, else 'en'."""
    doc = make_doc(text[:SAMPLE]) if isinstance(text, str) else text
    words = {lang: frozenset(ws) for lang, ws in values_table()["languages"].items()}
    lowers = [t.lower for t in doc.tokens if t.start < SAMPLE]
    it = sum(w in words["it"] for w in lowers)
    en = sum(w in words["en"] for w in lowers)
    return "it" if it > en else "en"
