"""Offset in days: the image's day since admission or since symptom onset.

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
about another event ("died on day 36"). Dates are not subtracted: which reference the
collection used for a date is a guess, so an admission given its own calendar date ("on
admission (16 February)") is not read as day 0 either - the collection counted such images
from a dated onset elsewhere in the paper.
"""

from __future__ import annotations

import re
from collections.abc import Set

from .daycount import CALENDAR_DATE, COUNT, COUNT_UNIT, days_in, drop_nested
from .fields import CONVENTIONS, Clock, Found, OffsetClocks
from .history import presentation_history
from .text import (
    FEW,
    ORDINAL_WORDS,
    OTHER_PERSON,
    TIME_SPAN,
    match_evidence,
    sentence_bounds,
    sentence_start_near,
)

OTHER_PERSON_NEXT = re.compile(r"[\s,]+(?:the\s+|his\s+|her\s+)?" + OTHER_PERSON.pattern, re.I)
_ONSET = (
    r"(?:(?:the\s+)?(?:symptoms?|illness|disease|fever|infection)\s+onset|onset(?:\s+of\s+"
    r"(?:the\s+)?(?:symptoms?|illness|disease|fever))?|(?:the\s+)?(?:initial\s+|first\s+)?"
    r"symptoms?|illness)"
)
_ADMIT = r"(?:admission|hospitali[sz]ation|presentation)"
IMAGING = re.compile(
    r"\b(?:radiograph\w*|x-?rays?|CXR|CT|film|scans?|images?|imaging|radiolog\w+|chest|"
    r"panels?|tomograph\w*|RX|radiografia|TC|lastra)\b",
    re.I,
)
# The day belongs to an event, not to the image: "died on day 36", "positive until day 18".
EVENT = re.compile(
    r"\b(?:died|death|passed\s+away|expired|succumbed|deceased|decedut\w|exitus|intubat\w+|extubat\w+|discharged|swabs?|positive|negative|"
    r"nadir|transferred|admitted\s+to\s+(?:the\s+)?(?:ICU|intensive)|started|initiated|"
    r"received|treated|therapy|treatment|developed|occurred|diagnosed|underwent)\b",
    re.I,
)

_ORD = (
    r"(?:the\s+)?(?P<ord>\d{1,3}(?:st|nd|rd|th)|" + "|".join(ORDINAL_WORDS) + r")\s+day\s+"
    r"(?:of|after|post|since|from)[\s-]+(?:the\s+)?"
)


def _days_counted_from(anchor: str, day_label: str) -> list[re.Pattern[str]]:
    """Day counts from `anchor`: "the 7th day of ...", "<label> day 7", "day 5 of ...",
    "10 days after ..."."""
    return [
        re.compile(r"\b" + _ORD + anchor + r"\b", re.I),
        re.compile(r"\b" + day_label + r"\s+days?\s+" + COUNT + r"\b", re.I),
        re.compile(
            r"\bday\s+"
            + COUNT
            + r"(?:st|nd|rd|th)?\s+(?:of|after|post|since|from)[\s-]+(?:the\s+|his\s+|her\s+)?"
            + anchor
            + r"\b",
            re.I,
        ),
        re.compile(
            r"\b" + COUNT + r"[\s-]+" + COUNT_UNIT + r"\s+(?:after|post|since|from|following)[\s-]+"
            r"(?:the\s+)?" + anchor + r"\b",
            re.I,
        ),
    ]


# Days counted from symptom onset.
ONSET_DAY = [
    *_days_counted_from(_ONSET, r"(?:illness|disease|symptom)"),
    # Italian: "in 5a giornata di malattia", "giorno 5 di malattia"
    re.compile(r"\b(?P<n>\d{1,2})\s*(?:a|ª|°)\s+giornata\b", re.I),
    re.compile(r"\bgiorno\s+" + COUNT + r"\s+(?:di\s+malattia|dall'esordio)\b", re.I),
]
# Days counted from admission (the collection's other convention).
ADMISSION_DAY = _days_counted_from(_ADMIT, r"(?:hospital|admission)")
# "on day 6", "at day 4": a day of the stay, only in a sentence naming an image.
STAY_DAY = [
    re.compile(r"\b(?:on|at)\s+day\s+" + COUNT + r"\b(?!\s+(?:of|after|post|since|from)\b)", re.I),
]
# "(a) day 1": a panel labelled with its day.
PANEL_DAY = re.compile(
    r"(?:^|(?<=\)\s))(?:hospital\s+|illness\s+)?day\s+" + COUNT + r"\b"
    r"(?!\s+(?:of|after|post|since|from)\b)",
    re.I,
)
# "(Day 3)", "(day 0)", "(illness day 7)": a caption's own label for the image's day.
DAY_LABEL = re.compile(
    r"\((?:[^()]{0,30}?[,;]\s*)?(?:illness\s+|hospital\s+)?day\s+(?P<n>\d{1,3})\)", re.I
)
_AMOUNT = r"(?:" + COUNT + r"|(?P<few>" + FEW + r"))"
LATER = [
    re.compile(r"\b" + _AMOUNT + r"[\s-]+" + COUNT_UNIT + r"\s+later\b", re.I),
    re.compile(r"\b(?:after|dopo)\s+" + _AMOUNT + r"\s+" + COUNT_UNIT + r"\b(?!\s+of\b)", re.I),
]
ADMISSION = re.compile(
    r"\b(?:on|at|upon)\s+(?:the\s+)?(?:day\s+of\s+)?(?:admission|hospitali[sz]ation)\b"
    r"(?!\s+(?:to\s+)?(?:the\s+)?(?:ICU|intensive))|"
    r"\badmission\s+(?:chest\s+)?(?:radiograph|x-?ray|CXR|film|CT)\b|\(day\s+0\)|"
    r"\b(?:al|all')\s*(?:ricovero|ingresso)\b|\bin\s+ingresso\b",
    re.I,
)
# Right after an admission phrase (used with .match): "on admission (16 February".
DATED_AFTER = re.compile(r"\s*(?:\(|,|on\s+|at\s+)?\s*" + CALENDAR_DATE, re.I)
# "Initial chest radiograph (a)", "the first CXR", "baseline frontal chest radiograph",
# "without initial radiographic abnormalities": this image opens the series.
INITIAL_IMAGE = re.compile(
    r"(?<!from\s)(?<!than\s)(?<!to\s)(?<!with\s)(?<!the\s)\b(?:the\s+|an?\s+)?"
    r"(?:initial|first|baseline)\s+(?:(?:frontal|plain|portable|PA|AP|chest|admission)\s+){0,2}"
    r"(?:radiograph\w*|x-?rays?|CXR|CT|film|scans?|images?|imaging)\b",
    re.I,
)
# The image is a later one than the presentation the history describes.
FOLLOW_UP = re.compile(
    r"\b(?:worsen\w*|progression|follow[-\s]?up|improve\w*|increasing|increased|regress\w*|"
    r"resolution|resolved|interval|since\s+the\s+(?:prior|previous|last)|compared|"
    r"later|subsequent|repeat(?:ed)?|control|stable|persist\w*|peggioramento|miglioramento|"
    r"controllo|evoluzione|post-?mortem|autopsy|after\s+death)\b",
    re.I,
)
FINDINGS_SENTENCE = re.compile(
    IMAGING.pattern + r"|\b(?:opacit\w+|consolidat\w+|infiltrat\w+|lesions?|effusions?|lungs?|"
    r"GGOs?|ground[-\s]glass|nodules?|thickening|atelectasis|pneumothorax|appearances?)\b",
    re.I,
)
# Days of a narrated course ("reached a nadir on day 5 post illness onset").
NARRATED_DAY = re.compile(
    r"\bday\s+\d{1,3}\s+(?:of|post|after)\s+(?:the\s+)?(?:illness|onset|symptom|disease)|"
    r"\b(?:" + "|".join(ORDINAL_WORDS) + r"|\d{1,2}(?:st|nd|rd|th))\s+day\s+(?:of|after)\b",
    re.I,
)
PANEL_REF = re.compile(r"\((?:panel\s+)?[b-hB-H]\)|^\s*\(?[b-hB-H][).,:]\s|\bpanel\s+[B-H]\b")
SHORT_CAPTION = 240
# An image taken before the presentation: "performed 3 days before in another hospital".
IMAGE_BEFORE = re.compile(
    r"\b" + TIME_SPAN + r"\s+(?:before|earlier|prior)\b(?!\s+(?:the\s+)?(?:onset|symptoms?))|"
    r"\b(?:in|at)\s+(?:another|an\s+"
    r"outside|a\s+local|the\s+referring)\s+(?:hospital|clinic|centre|center|facility)\b",
    re.I,
)


def _about_image(text: str, start: int, short_caption_ok: bool = True) -> bool:
    """The statement sits in a sentence about an image (or in a short caption, which is about
    its image) and not in one about some other event."""
    s, e = sentence_bounds(text, start)
    sentence = text[s:e]
    if EVENT.search(sentence):
        return False
    return (short_caption_ok and len(text) <= SHORT_CAPTION) or bool(IMAGING.search(sentence))


def _day_matches(
    text: str, patterns: list[re.Pattern[str]], *, short_caption_ok: bool = True
) -> list[tuple[int, Found]]:
    out: list[tuple[int, Found]] = []
    for pattern in patterns:
        for m in pattern.finditer(text):
            days = days_in(m)
            if days is not None and _about_image(text, m.start(), short_caption_ok):
                out.append((m.start(), Found(days, match_evidence(text, m))))
    return out


def onset_day_candidates(text: str) -> list[tuple[int, Found]]:
    return drop_nested(_day_matches(text, ONSET_DAY))


def admission_day_candidates(text: str) -> list[tuple[int, Found]]:
    """Image days counted from admission or from the first image ("(b) 4 days later")."""
    out = _day_matches(text, ADMISSION_DAY)
    out += _day_matches(text, STAY_DAY, short_caption_ok=False)
    for m in (*DAY_LABEL.finditer(text), *PANEL_DAY.finditer(text)):
        out.append((m.start(), Found(int(m.group("n")), match_evidence(text, m))))
    later_image = _describes_later_image(text)
    for m in ADMISSION.finditer(text):
        if DATED_AFTER.match(text, m.end(), m.end() + 30):
            continue
        # "On admission the mother's temperature was ...": someone else's admission.
        if OTHER_PERSON_NEXT.match(text, m.end(), m.end() + 40):
            continue
        # "On admission, CRP was 45 ... radiological worsening" or "... On day 3, CT
        # revealed": the image is a later one.
        s, e = sentence_bounds(text, m.start())
        if not FINDINGS_SENTENCE.search(text[s:e]) and (
            later_image or _image_dated_elsewhere(text, (s, e))
        ):
            continue
        out.append((m.start(), Found(0, match_evidence(text, m))))
    for m in (m for pattern in LATER for m in pattern.finditer(text)):
        s, e = sentence_bounds(text, m.start())
        # "N days later" counts from the first image: only where a later panel is named, or
        # in a short caption about the image itself.
        sentence = text[s:e]
        named = PANEL_REF.search(sentence) or (
            len(text) <= SHORT_CAPTION and IMAGING.search(sentence)
        )
        if not named or EVENT.search(sentence):
            continue
        days = days_in(m)
        if days is not None:
            out.append((m.start(), Found(days, match_evidence(text, m))))
    return drop_nested(out)


def _image_dated_elsewhere(text: str, sentence: tuple[int, int]) -> bool:
    """Another sentence names an image and gives a day ("On day 3, CT revealed ...")."""
    for pattern in (*STAY_DAY, *ADMISSION_DAY, *ONSET_DAY, *LATER):
        for m in pattern.finditer(text):
            s, e = sentence_bounds(text, m.start())
            if (s, e) != sentence and IMAGING.search(text[s:e]):
                return True
    return False


def _image_not_at_presentation(text: str) -> bool:
    """The text names an image after a sentence moved the story on by days ("On day 11, he
    developed ...", "After 10 days, ..."), or dates an image before the presentation ("CT
    performed 3 days before in another hospital"): the presentation's history does not date
    the image."""
    opening_days = [
        m.start()
        for pattern in (*STAY_DAY, *LATER)
        for m in pattern.finditer(text)
        if not text[sentence_start_near(text, m.start()) : m.start()].strip(" ,(\n")
    ]
    if opening_days and IMAGING.search(text, min(opening_days)):
        return True
    for m in IMAGE_BEFORE.finditer(text):
        s, e = sentence_bounds(text, m.start())
        if IMAGING.search(text[s:e]):
            return True
    return False


def initial_image(text: str) -> Found | None:
    """The image is called the first of a series (and nothing calls it a later one)."""
    if _describes_later_image(text):
        return None
    m = INITIAL_IMAGE.search(text)
    return Found(0, match_evidence(text, m)) if m else None


def _describes_later_image(text: str) -> bool:
    """A sentence about the image or its findings calls it a follow-up."""
    for m in FOLLOW_UP.finditer(text):
        s, e = sentence_bounds(text, m.start())
        if len(text) <= SHORT_CAPTION or FINDINGS_SENTENCE.search(text[s:e]):
            return True
    return False


def _single(found: list[tuple[int, Found]], others: Set[int] = frozenset()) -> Found | None:
    values = {f.value for _, f in found} | others
    return found[0][1] if len(values) == 1 else None


def _unplaced_stay_days(text: str) -> set[int]:
    """Days like "presented on day 6" in no sentence about an image nor about an event: not
    the image's day for sure, but enough to doubt an "on admission" in the same text."""
    out: set[int] = set()
    for pattern in STAY_DAY:
        for m in pattern.finditer(text):
            s, e = sentence_bounds(text, m.start())
            days = days_in(m)
            if days is not None and not EVENT.search(text[s:e]):
                out.add(days)
    return out


def find_offset(text: str) -> Found | None:
    """The image's day under the default convention (both clocks: `find_clocks`)."""
    clock = find_clocks(text).offset
    return None if clock is None else Found(clock.days, clock.evidence[0])


def find_clocks(text: str, convention: str = "stated") -> OffsetClocks:
    """The image's day since symptom onset and since admission, each None where the text does
    not fix it, and the primary one under `convention` (see OffsetClocks)."""
    admission = admission_day_candidates(text)
    stated_admission = _single(admission, _unplaced_stay_days(text)) if admission else None
    onset = onset_day_candidates(text)
    stated_onset = _single(onset) if onset else None
    at_presentation = not (_describes_later_image(text) or NARRATED_DAY.search(text))
    first = initial_image(text) if at_presentation and not admission and not onset else None
    if first is not None:
        stated_admission = first
    history = presentation_history(text)
    since_admission = _clock(stated_admission)
    since_onset = _clock(stated_onset)
    image_at_presentation = (
        at_presentation and not admission and not onset and not _image_not_at_presentation(text)
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
    primary = _primary(convention, admission, stated_admission, since_onset, since_admission)
    return OffsetClocks(since_onset, since_admission, primary, convention)


def _primary(
    convention: str,
    admission: list[tuple[int, Found]],
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
