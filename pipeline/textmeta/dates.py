"""Calendar dates: the days between the onset, the admission and the image when the text dates
them ("became ill with fever on January 17 ... admitted on January 22" is day 5 of the illness
at admission; a radiograph "on January 25" is day 3 of the stay).

A date dates the onset when the nearest cue before it in its sentence says the symptoms began
("became ill", "symptom onset", "fever since"), or when it opens a sentence whose cues all say
so; the admission likewise with cues of presentation ("admitted", "presented to the emergency
department", "on admission"); the image when it stands in a sentence about an image, or opens
the sentence just before one (a date that opens a sentence sets the time of the narration
that follows). Different dates for one event leave it undated. A date
without a year takes the text's year. The cues are ONSET_EVENT, ADMIT_EVENT and IMAGING rows
of rules/offset.json; the dates, DATE rows read by values.read_date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .cues import opens_sentence, sentence_has, statements
from .document import Doc
from .fields import Evidence
from .matcher import Match
from .values import read_date

TABLE = "offset"
CUE_REACH = 10  # tokens from a cue to the date it governs
# What may come before a date that opens its sentence: "On January 22, ...", "(In 3 March ..."
OPENERS = frozenset({"(", ",", "on", "in", "at", "by", "since", "from", "il", "el", "le", "am"})
LONGEST_SPAN = 60  # days: a longer difference is no course of the acute illness


@dataclass(frozen=True)
class Dated:
    day: date
    match: Match
    evidence: Evidence


@dataclass(frozen=True)
class EventDates:
    """The onset, the admission and the image, each with its date where the text gives one
    (None when it gives none or different ones)."""

    onset: Dated | None
    admission: Dated | None
    image: Dated | None

    def days(self, since: Dated | None) -> int | None:
        """Days from `since` to the image; None when either is undated or out of range."""
        if since is None or self.image is None:
            return None
        return _between(since.day, self.image.day)


def _between(first: date, later: date) -> int | None:
    days = (later - first).days
    if days < -300:  # "December 28 ... January 2": the year turned between them
        days += 365
    return days if 0 <= days <= LONGEST_SPAN else None


def onset_to_admission(dates: EventDates) -> int | None:
    if dates.onset is None or dates.admission is None:
        return None
    return _between(dates.onset.day, dates.admission.day)


def _dates(doc: Doc) -> list[tuple[int, Dated]]:
    """(sentence, dated) for every calendar date with a day and a month."""
    found = statements(doc, TABLE, "DATE")
    years = [
        t
        for m in found
        for t in doc.tokens[m.start : m.end]
        if len(t.text) == 4 and t.text.isdigit() and t.text[:2] in ("19", "20")
    ]
    year = int(years[0].text) if years else None
    out: list[tuple[int, Dated]] = []
    for m in found:
        day = read_date(doc, m.start, m.end, year)
        if day is not None:
            out.append((doc.tokens[m.start].sentence, Dated(day, m, doc.evidence(m.start, m.end))))
    return out


def _opens(doc: Doc, m: Match) -> bool:
    """The date opens its sentence ("On January 25, he received ...")."""
    return opens_sentence(doc, m, OPENERS)


def _events(doc: Doc, dates: list[tuple[int, Dated]]) -> dict[str, list[Dated]]:
    """Dates of the onset and of the admission: a date belongs to the nearest cue before it
    in its sentence (within CUE_REACH tokens), or, opening its sentence, to the sentence's
    cues when they are of one kind."""
    cues = [
        (cue, category)
        for category in ("ONSET_EVENT", "ADMIT_EVENT")
        for cue in statements(doc, TABLE, category)
    ]
    out: dict[str, list[Dated]] = {"ONSET_EVENT": [], "ADMIT_EVENT": []}
    for sentence, dated in dates:
        here = [(c, k) for c, k in cues if doc.tokens[c.start].sentence == sentence]
        before = [(c, k) for c, k in here if 0 <= dated.match.start - c.end <= CUE_REACH]
        if before:
            out[max(before, key=lambda ck: ck[0].end)[1]].append(dated)
        elif _opens(doc, dated.match) and len({k for _, k in here}) == 1:
            out[here[0][1]].append(dated)
    return out


def _one(dates: list[Dated]) -> Dated | None:
    return dates[0] if dates and len({d.day for d in dates}) == 1 else None


def event_dates(doc: Doc) -> EventDates:
    """The dated onset, admission and image of the text (cached per Doc)."""
    cached = doc.__dict__.get("_event_dates")
    if cached is not None:
        return cached
    dates = _dates(doc)
    events = _events(doc, dates)
    onset = _one(events["ONSET_EVENT"])
    admission = _one(events["ADMIT_EVENT"])
    image = _one(_image_dates(doc, dates, onset))
    cached = doc.__dict__["_event_dates"] = EventDates(onset, admission, image)
    return cached


def _image_dates(doc: Doc, dates: list[tuple[int, Dated]], onset: Dated | None) -> list[Dated]:
    """Dates of the sentences about an image: their own, or (when they have none) the date
    opening the sentence just before; the onset's date never dates an image."""
    out: list[Dated] = []
    for s, (first, _) in enumerate(doc.sentences):
        if not sentence_has(doc, TABLE, "IMAGING", first):
            continue
        own = [d for t, d in dates if t == s]
        if not own and s > 0:
            own = [d for t, d in dates if t == s - 1 and _opens(doc, d.match)]
        out += [d for d in own if onset is None or d.day != onset.day]
    return out
