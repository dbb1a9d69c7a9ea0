"""Metadata fields from captions and clinical notes (issue 7).

`extract_fields(text)` proposes the collection's fields (age, sex, offset and its two clocks,
survival, ...) with the span of text behind each; `extract_panel_fields(caption)` does it per
panel letter of a compound figure. A field is None wherever the text does not state it.

Each text is repaired (normalize.py), tokenised and split into sentences once (document.py).
The wordings are data: one cue table per field in rules/ (medspaCy's TargetRule/ConTextRule
JSON, rules/README.md), matched by one small engine (matcher.py: token patterns; context.py:
ConText scopes for negation, other experiencers, hypotheticals and history; values.py: value
grammars for numbers, lengths of time, ages, temperatures and dates). The field modules say
only how a field weighs its matches. English and Italian clinical writing; ages, sex words,
units and months also in Spanish, French, Portuguese and German.

The tables load on first use, so that `python -m pipeline --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .fields import FIELDS, Evidence, TextFields

if TYPE_CHECKING:
    from .extract import extract_fields, extract_panel_fields
    from .panels import split_panel_captions

__all__ = [
    "FIELDS",
    "Evidence",
    "TextFields",
    "extract_fields",
    "extract_panel_fields",
    "split_panel_captions",
]

_LAZY = {
    "extract_fields": "extract",
    "extract_panel_fields": "extract",
    "split_panel_captions": "panels",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
