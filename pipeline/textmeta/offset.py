"""Offset in days: the image's day since admission or since symptom onset.

The wordings are data (rules/offset.json); this module says how the statements combine.
Statements, strongest first (different values of the same strength give None):
1. days counted from admission or from the first image: "on admission" (0), "hospital
   day 14", "(Day 2)", "day 4 post-hospitalization", "(b) ... 4 days later", "after a few
   days" (5, the collection's rule). When the text anchors the image at admission the
   collection counts from there, so these win over onset-based days;
2. days counted from symptom onset: "illness day 7", "on day 5 of illness", "10 days after
   symptom onset";
3. the image called the first of a series ("initial chest radiograph", "baseline CT"): 0,
   as the collection counts a series from its first image;
4. the history at presentation: "4-day history of cough", "fever for 5 days" - only when
   nothing calls the image a follow-up, the text does not narrate numbered days and no other
   sentence dates the symptoms ("In November fever and cough ... For a few days, cough":
   two onsets, so the duration's anchor is unknown). A history over a month counts only when
   the text calls the illness chronic: otherwise "a two-month history of cough" is an older
   complaint, not the course of the acute illness imaged.
Day statements count only in a sentence about an image (or in a short caption) and not
about another event ("died on day 36"). An admission given its own calendar date ("on
admission (16 February)") is not read as day 0: the collection counted such images from a
dated onset elsewhere in the paper.
"""

from __future__ import annotations

from collections.abc import Set

from .context import modifiers
from .cues import drop_nested, opens_sentence, sentence_has, statements
from .dates import Dated, EventDates, event_dates, onset_to_admission
from .document import Doc
from .fields import CONVENTIONS, Clock, Found, OffsetClocks
from .history import presentation_history
from .matcher import Match, load_table
from .values import read_days

TABLE = "offset"
Statement = tuple[Match, Found]


def _has(doc: Doc, category: str, token: int) -> bool:
    return sentence_has(doc, TABLE, category, token)


def _short_caption(doc: Doc) -> bool:
    return len(doc.text) <= load_table(TABLE).data["short_caption"]


def _about_image(doc: Doc, m: Match, short_caption_ok: bool = True) -> bool:
    """The statement sits in a sentence about an image (or in a short caption, which is about
    its image) and not in one about some other event."""
    if _has(doc, "EVENT", m.start):
        return False
    return (short_caption_ok and _short_caption(doc)) or _has(doc, "IMAGING", m.start)


def _days(doc: Doc, m: Match) -> Statement | None:
    days = read_days(doc, m.start, m.end)
    return None if days is None else (m, Found(days, doc.evidence(m.start, m.end)))


def _day_statements(doc: Doc, category: str, *, short_caption_ok: bool = True) -> list[Statement]:
    out = []
    for m in statements(doc, TABLE, category):
        found = _days(doc, m)
        if found is not None and _about_image(doc, m, short_caption_ok):
            out.append(found)
    return out


def onset_day_candidates(doc: Doc) -> list[Statement]:
    return drop_nested(_day_statements(doc, "ONSET_DAY"))


def _panel_days(doc: Doc) -> list[Statement]:
    """"(Day 3)" anywhere; "day 1" opening the caption or right after a panel's ") "."""
    out = [s for m in statements(doc, TABLE, "DAY_LABEL") if (s := _days(doc, m))]
    for m in statements(doc, TABLE, "PANEL_DAY"):
        before = doc.tokens[m.start - 1] if m.start else None
        first = m.start == 0 and doc.tokens[0].start == len(doc.text) - len(doc.text.lstrip())
        after_panel = before is not None and before.text == ")" and (
            doc.tokens[m.start].start == before.end + 1
        )
        if (first or after_panel) and (found := _days(doc, m)):
            out.append(found)
    return out


def admission_day_candidates(doc: Doc) -> list[Statement]:
    """Image days counted from admission or from the first image ("(b) 4 days later")."""
    out = _day_statements(doc, "ADMISSION_DAY")
    out += _day_statements(doc, "STAY_DAY", short_caption_ok=False)
    out += _panel_days(doc)
    later_image = _describes_later_image(doc)
    for m in statements(doc, TABLE, "ADMISSION"):
        if _dated_after(doc, m) or _someone_else_after(doc, m):
            continue
        # "On admission, CRP was 45 ... radiological worsening" or "... On day 3, CT
        # revealed": the image is a later one.
        if not _has(doc, "FINDINGS", m.start) and (
            later_image or _image_dated_elsewhere(doc, doc.tokens[m.start].sentence)
        ):
            continue
        out.append((m, Found(0, doc.evidence(m.start, m.end))))
    for m in statements(doc, TABLE, "LATER"):
        # "N days later" counts from the first image: only where a later panel is named, or
        # in a short caption about the image itself.
        named = _has(doc, "PANEL_REF", m.start) or _panel_letter_opens(doc, m) or (
            _short_caption(doc) and _has(doc, "IMAGING", m.start)
        )
        if not named or _has(doc, "EVENT", m.start):
            continue
        found = _days(doc, m)
        if found is not None:
            out.append(found)
    return drop_nested(out)


def _panel_letter_opens(doc: Doc, m: Match) -> bool:
    """m's sentence opens with a later panel's letter: "(b) ...", "c, ...", "B: ..."."""
    first, end = doc.sentence_of(m.start)
    tokens = doc.tokens[first : min(end, first + 3)]
    if tokens and tokens[0].text == "(":
        tokens = tokens[1:]
    return (
        len(tokens) >= 2
        and tokens[0].lower in ("b", "c", "d", "e", "f", "g", "h")
        and tokens[1].text in ").,:"
        and tokens[1].end < len(doc.text)
        and doc.text[tokens[1].end].isspace()
    )


def _dated_after(doc: Doc, m: Match) -> bool:
    """"On admission (16 February", "at admission, on 3 March": the admission has a date."""
    i = m.end
    while i < min(len(doc.tokens), m.end + 2) and doc.tokens[i].lower in ("(", ",", "on", "at"):
        i += 1
    if i >= len(doc.tokens) or doc.tokens[i].start - doc.tokens[m.end - 1].end > 30:
        return False
    return any(d.start == i for d in _dates(doc))


def _dates(doc: Doc) -> list[Match]:
    return load_table(TABLE).find(doc, {"DATE", "DATE_MONTH"})


def _someone_else_after(doc: Doc, m: Match) -> bool:
    """"On admission the mother's temperature was ...": someone else's admission."""
    i = m.end
    while i < min(len(doc.tokens), m.end + 2) and doc.tokens[i].lower in (",", "the", "his", "her"):
        i += 1
    return any(c.start == i and c.category == "OTHER_EXPERIENCER" for c in modifiers(doc))


def _image_dated_elsewhere(doc: Doc, sentence: int) -> bool:
    """Another sentence names an image and gives a day ("On day 3, CT revealed ...")."""
    for category in ("STAY_DAY", "ADMISSION_DAY", "ONSET_DAY", "LATER"):
        for m in statements(doc, TABLE, category):
            if doc.tokens[m.start].sentence != sentence and _has(doc, "IMAGING", m.start):
                return True
    return False


def _image_not_at_presentation(doc: Doc) -> bool:
    """The text names an image after a sentence moved the story on by days ("On day 11, he
    developed ...", "After 10 days, ..."), or dates an image before the presentation ("CT
    performed 3 days before in another hospital"): the presentation's history does not date
    the image."""
    opening = [
        m.start
        for category in ("STAY_DAY", "LATER")
        for m in statements(doc, TABLE, category)
        if opens_sentence(doc, m)
    ]
    imaging = load_table(TABLE).find(doc, {"IMAGING"})
    if opening and any(x.start >= min(opening) for x in imaging):
        return True
    return any(_has(doc, "IMAGING", m.start) for m in statements(doc, TABLE, "IMAGE_BEFORE"))


def initial_image(doc: Doc) -> Found | None:
    """The image is called the first of a series (and nothing calls it a later one)."""
    if _describes_later_image(doc):
        return None
    found = statements(doc, TABLE, "INITIAL_IMAGE")
    return Found(0, doc.evidence(found[0].start, found[0].end)) if found else None


def _describes_later_image(doc: Doc) -> bool:
    """A sentence about the image or its findings calls it a follow-up."""
    return any(
        _short_caption(doc) or _has(doc, "FINDINGS", m.start)
        for m in load_table(TABLE).find(doc, {"FOLLOW_UP"})
    )


def _dated_image(doc: Doc, dates: EventDates, since: Dated | None) -> list[Statement]:
    """The image's date counted from a dated event. An image dated on the day of a dated
    admission is day 0 only when the text dates the onset too: otherwise the collection
    counted such images from a dated onset elsewhere in the paper."""
    days = dates.days(since)
    if days is None or dates.image is None:
        return []
    if days == 0 and since is dates.admission and dates.onset is None:
        return []
    m = dates.image.match
    return [(m, Found(days, dates.image.evidence))]


def _single(found: list[Statement], others: Set[int] = frozenset()) -> Found | None:
    values = {f.value for _, f in found} | others
    return found[0][1] if len(values) == 1 else None


def _unplaced_stay_days(doc: Doc) -> set[int]:
    """Days like "presented on day 6" in no sentence about an event: not the image's day for
    sure, but enough to doubt an "on admission" in the same text."""
    out: set[int] = set()
    for m in statements(doc, TABLE, "STAY_DAY"):
        found = _days(doc, m)
        if found is not None and not _has(doc, "EVENT", m.start):
            out.add(int(found[1].value))
    return out


def find_clocks(doc: Doc, convention: str = "stated") -> OffsetClocks:
    """The image's day since symptom onset and since admission, each None where the text does
    not fix it, and the primary one under `convention` (see OffsetClocks)."""
    dates = event_dates(doc)
    admission = admission_day_candidates(doc) + _dated_image(doc, dates, dates.admission)
    stated_admission = _single(admission, _unplaced_stay_days(doc)) if admission else None
    onset = onset_day_candidates(doc) + _dated_image(doc, dates, dates.onset)
    stated_onset = _single(onset) if onset else None
    narrated = bool(load_table(TABLE).find(doc, {"NARRATED_DAY"}))
    at_presentation = not (_describes_later_image(doc) or narrated)
    first = initial_image(doc) if at_presentation and not admission and not onset else None
    if first is not None:
        stated_admission = first
    history = presentation_history(doc)
    since_admission = _clock(stated_admission)
    since_onset = _clock(stated_onset)
    image_at_presentation = (
        at_presentation and not admission and not onset and not _image_not_at_presentation(doc)
    )
    if history is not None and since_onset is None:
        if since_admission is not None:
            # "a 7-day history ... X-ray on admission": day 7 of the illness
            since_onset = Clock(
                history.value + since_admission.days,
                (history.evidence, *since_admission.evidence),
                stated=False,
            )
        elif image_at_presentation:
            # the note tells the presentation: its image is taken then
            since_onset = Clock(history.value, (history.evidence,), stated=True)
            since_admission = Clock(0, (history.evidence,), stated=False)
    elif history is not None and since_admission is None and since_onset.days >= history.value:
        since_admission = Clock(
            since_onset.days - history.value,
            (*since_onset.evidence, history.evidence),
            stated=False,
        )
    if since_onset is None and since_admission is not None and since_admission.days == 0:
        # dated onset and admission, image at admission: "ill on January 17 ... admitted on
        # January 22" is day 5 of the illness
        days = onset_to_admission(dates)
        if days is not None and dates.onset and dates.admission:
            evidence = (dates.onset.evidence, dates.admission.evidence)
            since_onset = Clock(days, evidence, stated=True)
    primary = _primary(convention, admission, stated_admission, since_onset, since_admission)
    return OffsetClocks(since_onset, since_admission, primary, convention)


def _primary(
    convention: str,
    admission: list[Statement],
    stated_admission: Found | None,
    since_onset: Clock | None,
    since_admission: Clock | None,
) -> str | None:
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown offset convention {convention!r}; one of {CONVENTIONS}")
    if convention == "onset":
        return "onset" if since_onset else "admission" if since_admission else None
    if convention == "admission":
        return "admission" if since_admission else "onset" if since_onset else None
    # "stated": a day the text states since admission first (conflicting ones give none),
    # then one since onset (stated, or the history at presentation).
    if admission or stated_admission is not None:
        return "admission" if stated_admission is not None else None
    return "onset" if since_onset is not None else None


def _clock(found: Found | None) -> Clock | None:
    return None if found is None else Clock(int(found.value), (found.evidence,), stated=True)
