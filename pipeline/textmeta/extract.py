"""extract_fields / extract_panel_fields: run every field's extractor over a text."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import cache

from .age_sex import find_age, find_sex
from .document import Doc, make_doc
from .fields import CONVENTIONS, Clock, Evidence, Found, OffsetClocks, TextFields
from .finding import find_finding, find_rt_pcr
from .offset import DAY_LABEL, IMAGING, admission_day_candidates, find_clocks
from .outcomes import (
    find_intubated,
    find_supplemental_o2,
    find_survival,
    find_went_icu,
    had_ventilatory_support,
)
from .panels import panel_spans, shared_prefix
from .temperature import find_temperature
from .text import detect_language, sentence_bounds
from .view import find_view

# The text describes a later image than the presentation, so the presenting temperature
# does not describe this image.
LATER_IMAGE = re.compile(
    r"\b(?:worsen\w*|progression|follow[-\s]?up|improvement|improved|regress\w*|interval|"
    r"since\s+the\s+(?:prior|previous|last)|compared\s+(?:to|with)|peggioramento|"
    r"miglioramento|controllo)\b",
    re.I,
)
# An image sentence that times the image after an event: "B Chest X-ray performed 24 h after
# bilateral pleural drainages", "CT 3 days after admission" (not "10 days after symptom onset",
# which may be the presentation itself).
TIMED_AFTER = re.compile(
    r"\b(?:\d{1,3}|a|one|two|three|four|five|six|seven|few)\s*(?:h|hrs?|hours?|days?|weeks?)\s+"
    r"(?:after|later|post)\b(?!\s+(?:the\s+)?(?:initial\s+|first\s+)?(?:symptoms?|onset|illness|"
    r"disease|fever|infection))",
    re.I,
)
# The image shows ARDS, a complication that comes after presentation ("typical radiological
# findings of ARDS"); the presenting temperature is not this image's.
ARDS = re.compile(r"\b(?:ARDS|(?:acute\s+)?respiratory\s+distress\s+syndrome)\b", re.I)
# "days 1 (a), 3 (b), and 5 (c)", "day 4 (b) and day 5 (c)": one day per panel letter.
DAY_LIST = re.compile(
    r"\bdays?\s+\d{1,3}\s*\([a-hA-H]\)(?:\s*,?\s*(?:and\s+)?(?:day\s+)?\d{1,3}\s*\([a-hA-H]\))+",
    re.I,
)
ONSET_WORD = re.compile(r"\b(?:onset|illness|symptoms?)\b", re.I)
DAY_LIST_ITEM = re.compile(r"(?P<n>\d{1,3})\s*\((?P<letter>[a-hA-H])\)")


def extract_fields(
    text: str, *, language: str | None = None, convention: str | None = None
) -> TextFields:
    """Every field the text states about the patient, with the words that state it.

    `convention` picks the clock `offset` takes (default: configs/pipeline.toml [textmeta]
    offset_convention); both clocks are in `.clocks` and in the offset_since_* fields."""
    doc = make_doc(text)
    return _fields(doc, language, convention).quoting(doc)


@cache
def default_convention() -> str:
    from pipeline.config import load_config

    convention = load_config().textmeta.offset_convention
    if convention not in CONVENTIONS:
        raise ValueError(
            f"configs/pipeline.toml [textmeta] offset_convention: {convention!r} is not one of "
            f"{', '.join(CONVENTIONS)}"
        )
    return convention


def _fields(doc: Doc, language: str | None, convention: str | None) -> TextFields:
    text = doc.text
    convention = convention or default_convention()
    language = language or detect_language(doc)
    out = TextFields()
    out.set("age", find_age(doc))
    out.set("sex", find_sex(doc, pronouns=language == "en"))
    out.set("survival", find_survival(doc))
    out.set("intubated", find_intubated(doc))
    out.set("went_icu", find_went_icu(doc))
    # The collection leaves supplemental oxygen blank for intubated patients (30 of the 34
    # dev rows labelled intubated): ventilation is recorded as intubation, not as oxygen.
    # Ventilation without a tube (NIV, CPAP) is the same kind of support.
    if out.values["intubated"] != "Y" and not had_ventilatory_support(doc):
        out.set("needed_supplemental_O2", find_supplemental_o2(doc))
    out.set("temperature", _temperature(doc))
    finding = find_finding(doc)
    out.set("finding", finding)
    out.set(
        "RT_PCR_positive",
        find_rt_pcr(doc, covid_text=finding is not None and finding.value == "COVID-19"),
    )
    # A compound figure's caption gives "the" image a day or view only when every panel has
    # the same one: callers use these values for panels that state none of their own.
    panels = _panel_image_fields(text, convention)
    if len(panels) > 1:
        out.set("view", _agreed([p["view"] for p in panels.values()]))
        clocks = [p["clocks"] for p in panels.values()]
        agreed = _agreed([_primary_found(c) for c in clocks])
        out.set_clocks(clocks[0] if agreed is not None else OffsetClocks(convention=convention))
    else:
        out.set("view", find_view(doc))
        out.set_clocks(find_clocks(text, convention))
    return out


def extract_panel_fields(
    caption: str, *, convention: str | None = None
) -> dict[str, TextFields]:
    """Per panel letter: the caption's patient fields plus that panel's own offset and view."""
    doc = make_doc(caption)
    convention = convention or default_convention()
    panels = _panel_image_fields(doc.text, convention)
    if not panels:
        return {}
    whole = _fields(doc, None, convention)
    out: dict[str, TextFields] = {}
    for letter, image in sorted(panels.items()):
        fields = TextFields(dict(whole.values), dict(whole.evidence))
        fields.set_clocks(image["clocks"])
        fields.set("view", image["view"])
        out[letter] = fields.quoting(doc)
    return out


def _temperature(doc: Doc) -> Found | None:
    text = doc.text
    if _image_after_presentation(text):
        return None
    if any(int(m.group("n")) > 0 for m in DAY_LABEL.finditer(text)):
        return None
    # "Chest CT on day 2 of admission ...": the presenting temperature is not this image's.
    if any(found.value > 0 for _, found in admission_day_candidates(text)):
        return None
    return find_temperature(doc)


def _image_after_presentation(text: str) -> bool:
    """A sentence about an image calls it a follow-up, or the image is labelled day N > 0."""
    for pattern in (LATER_IMAGE, TIMED_AFTER, ARDS):
        for m in pattern.finditer(text):
            s, e = sentence_bounds(text, m.start())
            if IMAGING.search(text[s:e]):
                return True
    return DAY_LIST.search(text) is not None


def _panel_image_fields(caption: str, convention: str) -> dict[str, dict]:
    """Panel letter -> its offset clocks and view, read from the caption's words about it."""
    spans = panel_spans(caption)
    if not spans:
        return {}
    listed = _listed_days(caption, convention)
    prefix_start, prefix_end = shared_prefix(caption)
    prefix = caption[prefix_start:prefix_end]
    prefix_view = _shift(_view_of(prefix), prefix_start, caption)
    prefix_clocks = _shift_clocks(find_clocks(prefix, convention), prefix_start, caption)
    out: dict[str, dict] = {}
    for letter, letter_spans in spans.items():
        clocks = listed.get(letter) or _clocks_from_spans(caption, letter_spans, convention)
        if clocks is None or clocks.primary is None:
            clocks = prefix_clocks
        view = _from_spans(caption, letter_spans, _view_of) or prefix_view
        out[letter] = {"clocks": clocks, "view": view}
    return out


def _view_of(text: str) -> Found | None:
    return find_view(make_doc(text))


def _listed_days(caption: str, convention: str) -> dict[str, OffsetClocks]:
    """Panel letter -> day, from lists like "days 1 (a), 3 (b), and 5 (c)" (days since onset
    when the caption counts from the onset, else since admission)."""
    clock = "onset" if ONSET_WORD.search(caption) else "admission"
    out: dict[str, OffsetClocks] = {}
    for m in DAY_LIST.finditer(caption):
        for item in DAY_LIST_ITEM.finditer(caption, m.start(), m.end()):
            ev = Evidence(item.start(), item.end(), item.group())
            day = Clock(int(item.group("n")), (ev,), stated=True)
            clocks = OffsetClocks(primary=clock, convention=convention)
            clocks = replace(clocks, **{f"since_{clock}": day})
            out[item.group("letter").upper()] = clocks
    return out


def _clocks_from_spans(
    caption: str, spans: list[tuple[int, int]], convention: str
) -> OffsetClocks | None:
    """The clocks read in each span about a panel, when the spans agree on the offset."""
    found = [_shift_clocks(find_clocks(caption[s:e], convention), s, caption) for s, e in spans]
    found = [c for c in found if c.primary is not None]
    agreed = _agreed([_primary_found(c) for c in found])
    return found[0] if agreed is not None else None


def _primary_found(clocks: OffsetClocks) -> Found | None:
    clock = clocks.offset
    return None if clock is None else Found(clock.days, clock.evidence[0])


def _shift_clocks(clocks: OffsetClocks, by: int, caption: str) -> OffsetClocks:
    def shift(clock: Clock | None) -> Clock | None:
        if clock is None:
            return None
        spans = tuple(Evidence(e.start + by, e.end + by, caption[e.start + by : e.end + by])
                      for e in clock.evidence)  # fmt: skip
        return Clock(clock.days, spans, clock.stated)

    return replace(
        clocks, since_onset=shift(clocks.since_onset), since_admission=shift(clocks.since_admission)
    )


def _from_spans(
    caption: str, spans: list[tuple[int, int]], finder: Callable[[str], Found | None]
) -> Found | None:
    """The value `finder` reads in each span about a panel, when the spans agree."""
    values = [_shift(finder(caption[s:e]), s, caption) for s, e in spans]
    values = [v for v in values if v is not None]
    return _agreed(values)


def _agreed(values: list[Found | None]) -> Found | None:
    """The common value when every item has the same one; else None."""
    if not values or any(v is None for v in values):
        return None
    if len({v.value for v in values}) != 1:
        return None
    return values[0]


def _shift(found: Found | None, by: int, caption: str) -> Found | None:
    if found is None:
        return None
    s, e = found.evidence.start + by, found.evidence.end + by
    return Found(found.value, Evidence(s, e, caption[s:e]))
