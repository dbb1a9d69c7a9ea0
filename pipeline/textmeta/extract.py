"""extract_fields / extract_panel_fields: run every field's extractor over a text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cache

from .age_sex import find_age, find_sex
from .cues import sentence_has, statements
from .document import Doc, make_doc
from .fields import CONVENTIONS, Clock, Evidence, Found, OffsetClocks, TextFields
from .finding import find_finding, find_rt_pcr
from .matcher import Match, load_table
from .offset import admission_day_candidates, find_clocks
from .outcomes import (
    find_intubated,
    find_supplemental_o2,
    find_survival,
    find_went_icu,
    had_ventilatory_support,
)
from .panels import panel_spans, shared_prefix
from .temperature import find_temperature
from .text import detect_language
from .values import read_days
from .view import find_view

OFFSET = "offset"


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
    panels = _panel_image_fields(doc, convention)
    if len(panels) > 1:
        out.set("view", _agreed([p["view"] for p in panels.values()]))
        clocks = [p["clocks"] for p in panels.values()]
        agreed = _agreed([_primary_found(c) for c in clocks])
        out.set_clocks(clocks[0] if agreed is not None else OffsetClocks(convention=convention))
    else:
        out.set("view", find_view(doc))
        out.set_clocks(find_clocks(doc, convention))
    return out


def extract_panel_fields(
    caption: str, *, convention: str | None = None
) -> dict[str, TextFields]:
    """Per panel letter: the caption's patient fields plus that panel's own offset and view."""
    doc = make_doc(caption)
    convention = convention or default_convention()
    panels = _panel_image_fields(doc, convention)
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
    """The temperature at presentation, when the text's image is the presentation's."""
    if _image_after_presentation(doc):
        return None
    if any(read_days(doc, m.start, m.end) for m in statements(doc, OFFSET, "DAY_LABEL")):
        return None
    # "Chest CT on day 2 of admission ...": the presenting temperature is not this image's.
    if any(found.value > 0 for _, found in admission_day_candidates(doc)):
        return None
    return find_temperature(doc)


def _image_after_presentation(doc: Doc) -> bool:
    """A sentence about an image calls it a follow-up or times it after an event ("CT 3 days
    after admission"), or shows ARDS, a complication that comes after presentation; or the
    caption lists one day per panel."""
    for category in ("LATER_IMAGE", "TIMED_AFTER", "ARDS"):
        for m in statements(doc, OFFSET, category):
            if sentence_has(doc, OFFSET, "IMAGING", m.start):
                return True
    return bool(statements(doc, OFFSET, "DAY_LIST"))


def _panel_image_fields(doc: Doc, convention: str) -> dict[str, dict]:
    """Panel letter -> its offset clocks and view, read from the caption's words about it."""
    caption = doc.text
    spans = panel_spans(caption)
    if not spans:
        return {}
    listed = _listed_days(doc, convention)
    prefix_start, prefix_end = shared_prefix(caption)
    prefix = caption[prefix_start:prefix_end]
    prefix_view = _shift(_view_of(prefix), prefix_start, caption)
    prefix_clocks = _shift_clocks(_clocks_of(prefix, convention), prefix_start, caption)
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


def _clocks_of(text: str, convention: str) -> OffsetClocks:
    return find_clocks(make_doc(text), convention)


def _listed_days(doc: Doc, convention: str) -> dict[str, OffsetClocks]:
    """Panel letter -> day, from lists like "days 1 (a), 3 (b), and 5 (c)" (days since onset
    when the caption counts from the onset, else since admission)."""
    clock = "onset" if load_table(OFFSET).find(doc, {"ONSET_WORD"}) else "admission"
    out: dict[str, OffsetClocks] = {}
    for m in statements(doc, OFFSET, "DAY_LIST"):
        for start, end, letter in _list_items(doc, m):
            day = Clock(int(doc.tokens[start].text), (doc.evidence(start, end),), stated=True)
            clocks = OffsetClocks(primary=clock, convention=convention)
            out[letter.upper()] = replace(clocks, **{f"since_{clock}": day})
    return out


def _list_items(doc: Doc, m: Match) -> list[tuple[int, int, str]]:
    """The items "N (x)" of a day list, following it past the match as long as it goes on."""
    tokens = doc.tokens
    out: list[tuple[int, int, str]] = []
    i = m.start
    while i < len(tokens):
        while i < len(tokens) and tokens[i].lower in ("day", "days", ",", "and"):
            i += 1
        item = [t.text for t in tokens[i : i + 4]]
        if len(item) < 4 or not item[0].isdigit() or item[1] != "(" or item[3] != ")":
            break
        if len(item[2]) != 1 or item[2].lower() not in "abcdefgh":
            break
        out.append((i, i + 4, item[2]))
        i += 4
    return out


def _clocks_from_spans(
    caption: str, spans: list[tuple[int, int]], convention: str
) -> OffsetClocks | None:
    """The clocks read in each span about a panel, when the spans agree on the offset."""
    found = [_shift_clocks(_clocks_of(caption[s:e], convention), s, caption) for s, e in spans]
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
