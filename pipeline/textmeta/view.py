"""Radiographic view in the collection's vocabulary: PA, AP, AP Supine, L, Axial, Coronal.

The wordings are data (rules/view.json).
"""

from __future__ import annotations

from .document import Doc
from .fields import Found
from .matcher import load_table


def find_view(doc: Doc) -> Found | None:
    """The one view the text names; None when it names none or several different ones."""
    found = [
        Found(m.meta["value"], doc.evidence(m.start, m.end)) for m in load_table("view").find(doc)
    ]
    if any(f.value == "AP Supine" for f in found):
        found = [f for f in found if f.value != "AP"]  # a supine film is an AP film
    if len({f.value for f in found}) != 1:
        return None
    return min(found, key=lambda f: f.evidence.start)
