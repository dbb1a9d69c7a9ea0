"""Radiographic view in the collection's vocabulary: PA, AP, AP Supine, L, Axial, Coronal."""

from __future__ import annotations

import re

from .fields import Found
from .text import match_evidence

_IMAGE = (
    r"(?:radiographs?|radiography|x-?rays?|CXR|films?|views?|projections?|images?|scans?|CT|"
    r"reformats?|reconstructions?|radiografia|proiezion[ei]|immagini?)\b"
)


def _before_image(word: str) -> str:
    """`word` followed, within three words, by a word naming an image or a view."""
    return r"\b(?:" + word + r")\b(?=(?:\W+\w+){0,3}?\W+" + _IMAGE + r")"


VIEW_CUES: list[tuple[str, re.Pattern[str]]] = [
    ("AP Supine", re.compile(
        r"\b(?:supine|(?:AP|anteroposterior|antero-posterior|portable)\s+supine|"
        r"clinostatismo|supin[oa])\b", re.I)),
    ("PA", re.compile(
        r"\bpostero-?anterior[ei]?\b|\bproiezione\s+PA\b|" + _before_image(r"PA"), re.I)),
    ("AP", re.compile(
        r"\bantero-?posterior[ei]?\b|\bportable\s+AP\b|\bproiezione\s+AP\b|"
        r"\b(?:RX|radiografia)\s+(?:del\s+)?torace\s+(?:eseguit[ao]\s+)?a(?:l)?\s+letto\b|"
        r"\b(?:portable|bedside)\s+(?:AP\s+)?(?:chest\s+)?" + _IMAGE + "|"
        + _before_image(r"AP"), re.I)),
    ("L", re.compile(
        _before_image(r"(?:left\s+|right\s+)?(?:lateral|latero-?laterale|laterale)")
        + r"|\bproiezione\s+(?:latero-?)?laterale\b", re.I)),
    ("Axial", re.compile(r"\b(?:axial|assiale|assiali)\b", re.I)),
    ("Coronal", re.compile(r"\b(?:coronal|coronale|coronali)\b", re.I)),
]  # fmt: skip


def find_view(text: str) -> Found | None:
    """The one view the text names; None when it names none or several different ones."""
    found = [
        Found(view, match_evidence(text, m))
        for view, pattern in VIEW_CUES
        for m in pattern.finditer(text)
    ]
    if any(f.value == "AP Supine" for f in found):
        found = [f for f in found if f.value != "AP"]  # a supine film is an AP film
    if len({f.value for f in found}) != 1:
        return None
    return min(found, key=lambda f: f.evidence.start)
