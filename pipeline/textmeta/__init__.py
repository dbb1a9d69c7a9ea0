"""Metadata fields from captions and clinical notes (issue 7).

`extract_fields(text)` proposes the collection's fields (age, sex, offset, survival, ...) with
the span of text behind each; `extract_panel_fields(caption)` does it per panel letter of a
compound figure. Rules are regular expressions and small grammars over English and Italian
clinical writing (ages and sex also in Spanish, French, Portuguese and German case reports);
a field is None wherever the text does not state it. The wordings they handle come from the dev
notes and from real case reports read by hand (tests/test_textmeta_real_phrasings.py).

The extractors (about 0.1 s of regular expressions to compile) load on first use, so that
`python -m pipeline --help` stays fast.
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
