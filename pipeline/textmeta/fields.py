"""The record a text extraction returns: one value per field, with the words behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .document import Doc

FIELDS = (
    "age",
    "sex",
    "offset",
    "survival",
    "intubated",
    "went_icu",
    "needed_supplemental_O2",
    "temperature",
    "view",
    "finding",
    "RT_PCR_positive",
)

Value = str | int | float | None


@dataclass
class Evidence:
    """A span of the input text: `text == input[start:end]`."""

    start: int
    end: int
    text: str

    def to_json(self) -> dict[str, int | str]:
        return {"start": self.start, "end": self.end, "text": self.text}


@dataclass
class Found:
    """One extractor's answer: a value in the collection's vocabulary and its span."""

    value: str | int | float
    evidence: Evidence


@dataclass
class TextFields:
    """Every name in FIELDS, None where the text does not say; evidence for each non-null."""

    values: dict[str, Value] = field(default_factory=lambda: dict.fromkeys(FIELDS))
    evidence: dict[str, Evidence] = field(default_factory=dict)

    def set(self, name: str, found: Found | None) -> None:
        if found is None:
            self.values[name] = None
            self.evidence.pop(name, None)
        else:
            self.values[name] = found.value
            self.evidence[name] = found.evidence

    def quoting(self, doc: Doc) -> TextFields:
        """The same fields with each evidence quoted from the original text of `doc` (the
        extraction ran on its repaired text)."""
        evidence = {name: doc.quote(ev) for name, ev in self.evidence.items()}
        return TextFields(dict(self.values), evidence)

    def to_json(self) -> dict:
        out: dict = {name: self.values.get(name) for name in FIELDS}
        out["evidence"] = {
            name: ev.to_json() for name, ev in self.evidence.items() if out.get(name) is not None
        }
        return out
