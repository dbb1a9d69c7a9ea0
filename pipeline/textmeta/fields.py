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
    "offset_since_onset",
    "offset_since_admission",
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


CONVENTIONS = ("stated", "onset", "admission")


@dataclass(frozen=True)
class Clock:
    """The image's day on one clock: `days` since symptom onset or since admission.

    `evidence` holds the spans the count rests on: one for a day the text states ("on day 5
    of illness", "on admission"), two when it adds a history to a stated admission day ("a
    7-day history" + "on admission" = day 7 since onset). `stated` is False when the count is
    inferred, not written: the image of a note that tells only the presentation is taken at
    admission (day 0), or since-admission from an onset day minus the history.
    """

    days: int
    evidence: tuple[Evidence, ...]
    stated: bool


@dataclass(frozen=True)
class OffsetClocks:
    """Both clocks for one image, and which one `offset` took.

    `primary` is "onset", "admission" or None (no offset); `convention` is the rule that chose
    it (configs/pipeline.toml [textmeta] offset_convention): "stated" takes the clock the text
    states for the image (a stated admission day first, then a stated illness day, else the
    history at presentation, i.e. onset); "onset" and "admission" prefer that clock when known.
    """

    since_onset: Clock | None = None
    since_admission: Clock | None = None
    primary: str | None = None
    convention: str = "stated"

    @property
    def offset(self) -> Clock | None:
        return {"onset": self.since_onset, "admission": self.since_admission}.get(
            self.primary or ""
        )

    @property
    def differ(self) -> bool:
        """Both clocks are known and give different days (the reviewer should pick)."""
        on, adm = self.since_onset, self.since_admission
        return on is not None and adm is not None and on.days != adm.days


@dataclass
class TextFields:
    """Every name in FIELDS, None where the text does not say; evidence for each non-null."""

    values: dict[str, Value] = field(default_factory=lambda: dict.fromkeys(FIELDS))
    evidence: dict[str, Evidence] = field(default_factory=dict)
    clocks: OffsetClocks = field(default_factory=OffsetClocks)

    def set(self, name: str, found: Found | None) -> None:
        if found is None:
            self.values[name] = None
            self.evidence.pop(name, None)
        else:
            self.values[name] = found.value
            self.evidence[name] = found.evidence

    def set_clocks(self, clocks: OffsetClocks) -> None:
        """The offset fields from both clocks (`offset` is the primary one)."""
        self.clocks = clocks
        for name, clock in (
            ("offset", clocks.offset),
            ("offset_since_onset", clocks.since_onset),
            ("offset_since_admission", clocks.since_admission),
        ):
            self.set(name, None if clock is None else Found(clock.days, clock.evidence[0]))

    def quoting(self, doc: Doc) -> TextFields:
        """The same fields with each evidence quoted from the original text of `doc` (the
        extraction ran on its repaired text)."""
        evidence = {name: doc.quote(ev) for name, ev in self.evidence.items()}
        clocks = OffsetClocks(
            *(_quote_clock(c, doc) for c in (self.clocks.since_onset, self.clocks.since_admission)),
            self.clocks.primary,
            self.clocks.convention,
        )
        return TextFields(dict(self.values), evidence, clocks)

    def to_json(self) -> dict:
        out: dict = {name: self.values.get(name) for name in FIELDS}
        out["evidence"] = {
            name: ev.to_json() for name, ev in self.evidence.items() if out.get(name) is not None
        }
        return out


def _quote_clock(clock: Clock | None, doc: Doc) -> Clock | None:
    if clock is None:
        return None
    return Clock(clock.days, tuple(doc.quote(ev) for ev in clock.evidence), clock.stated)
