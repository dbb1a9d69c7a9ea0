"""extract_fields / extract_panel_fields: run every field's extractor over a text."""

from __future__ import annotations

import re
from collections.abc import Callable

from .age_sex import find_age, find_sex
from .fields import Evidence, Found, TextFields
from .finding import find_finding
from .offset import DAY_LABEL, IMAGING, admission_day_candidates, find_offset
from .document import Doc, make_doc
from .outcomes import (
    find_intubated,
    find_supplemental_o2,
    find_survival,
    find_went_icu,
    had_ventilatory_support,
)
from .panels import panel_spans, shared_prefix
from .rtpcr import find_rt_pcr
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
DAY_LIST_ITEM = re.compile(r"(?P<n>\d{1,3})\s*\((?P<letter>[a-hA-H])\)")


def extract_fields(text: str, *, language: str | None = None) -> TextFields:
    """Every field the text states about the patient, with the words that state it."""
    doc = make_doc(text)
    return _fields(doc, language).quoting(doc)


def _fields(doc: Doc, language: str | None) -> TextFields:
    text = doc.text
    language = language or detect_language(text)
    out = TextFields()
    out.set("age", find_age(text))
    out.set("sex", find_sex(text, pronouns=language == "en"))
    out.set("survival", find_survival(doc))
    out.set("intubated", find_intubated(doc))
    out.set("went_icu", find_went_icu(doc))
    # The collection leaves supplemental oxygen blank for intubated patients (30 of the 34
    # dev rows labelled intubated): ventilation is recorded as intubation, not as oxygen.
    # Ventilation without a tube (NIV, CPAP) is the same kind of support.
    if out.values["intubated"] != "Y" and not had_ventilatory_support(doc):
        out.set("needed_supplemental_O2", find_supplemental_o2(doc))
    out.set("temperature", _temperature(text))
    finding = find_finding(text)
    out.set("finding", finding)
    out.set(
        "RT_PCR_positive",
        find_rt_pcr(text, covid_text=finding is not None and finding.value == "COVID-19"),
    )
    # A compound figure's caption gives "the" image a day or view only when every panel has
    # the same one: callers use these values for panels that state none of their own.
    panels = _panel_image_fields(text)
    for name, finder in (("offset", find_offset), ("view", find_view)):
        if len(panels) > 1:
            out.set(name, _agreed([p.get(name) for p in panels.values()]))
        else:
            out.set(name, finder(text))
    return out


def extract_panel_fields(caption: str) -> dict[str, TextFields]:
    """Per panel letter: the caption's patient fields plus that panel's own offset and view."""
    doc = make_doc(caption)
    caption = doc.text
    panels = _panel_image_fields(caption)
    if not panels:
        return {}
    whole = _fields(doc, None)
    out: dict[str, TextFields] = {}
    for letter, image in sorted(panels.items()):
        fields = TextFields(dict(whole.values), dict(whole.evidence))
        fields.set("offset", image.get("offset"))
        fields.set("view", image.get("view"))
        out[letter] = fields.quoting(doc)
    return out


def _temperature(text: str) -> Found | None:
    if _image_after_presentation(text):
        return None
    if any(int(m.group("n")) > 0 for m in DAY_LABEL.finditer(text)):
        return None
    # "Chest CT on day 2 of admission ...": the presenting temperature is not this image's.
    if any(found.value > 0 for _, found in admission_day_candidates(text)):
        return None
    return find_temperature(text)


def _image_after_presentation(text: str) -> bool:
    """A sentence about an image calls it a follow-up, or the image is labelled day N > 0."""
    for pattern in (LATER_IMAGE, TIMED_AFTER, ARDS):
        for m in pattern.finditer(text):
            s, e = sentence_bounds(text, m.start())
            if IMAGING.search(text[s:e]):
                return True
    return DAY_LIST.search(text) is not None


def _panel_image_fields(caption: str) -> dict[str, dict[str, Found | None]]:
    """Panel letter -> its offset and view, read from the caption's words about it."""
    spans = panel_spans(caption)
    if not spans:
        return {}
    listed = _listed_days(caption)
    prefix_start, prefix_end = shared_prefix(caption)
    prefix = caption[prefix_start:prefix_end]
    prefix_view = _shift(find_view(prefix), prefix_start, caption)
    prefix_offset = _shift(find_offset(prefix), prefix_start, caption)
    out: dict[str, dict[str, Found | None]] = {}
    for letter, letter_spans in spans.items():
        offset = (
            listed.get(letter) or _from_spans(caption, letter_spans, find_offset) or prefix_offset
        )
        view = _from_spans(caption, letter_spans, find_view) or prefix_view
        out[letter] = {"offset": offset, "view": view}
    return out


def _listed_days(caption: str) -> dict[str, Found]:
    """Panel letter -> day, from lists like "days 1 (a), 3 (b), and 5 (c)"."""
    out: dict[str, Found] = {}
    for m in DAY_LIST.finditer(caption):
        for item in DAY_LIST_ITEM.finditer(caption, m.start(), m.end()):
            ev = Evidence(item.start(), item.end(), item.group())
            out[item.group("letter").upper()] = Found(int(item.group("n")), ev)
    return out


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
