"""The history at presentation: "4-day history of cough", "fever for 5 days".

The image of a note that tells the presentation is taken at the presentation, so the
history's length is its offset (offset.py uses this last, when nothing dates the image itself).
"""

from __future__ import annotations

import re

from .daycount import COUNT, COUNT_UNIT, DATE, days_in, drop_nested
from .fields import Found
from .text import match_evidence, sentence_bounds

LONGEST_ACUTE_HISTORY = 30
CHRONIC = re.compile(r"\b(?:chronic\w*|long[-\s]?standing|cronic\w*)\b", re.I)
PRESENTED = re.compile(
    r"\b(?:present\w*|admit\w*|admission|attended|arriv\w+|came|referred|visited|entered|"
    r"accesse?[sd]?|returned|travel\w*|flew|flown|hospitali[sz]\w+|ricover\w+|tested|swab\w*)\b",
    re.I,
)
HISTORY = [
    # "4-day history of cough", "history of 5 days", "2-week history"
    re.compile(r"\b" + COUNT + r"[\s-]+" + COUNT_UNIT + r"\s+(?:\w+\s+)?history\b", re.I),
    re.compile(r"\bhistory\s+of\s+" + COUNT + r"\s+" + COUNT_UNIT + r"\b", re.I),
    # "for 5 days", "for about 10 days", "for the past 3 days", "for a few days"
    re.compile(
        r"\bfor\s+(?:about\s+|approximately\s+|almost\s+|nearly\s+|over\s+|the\s+(?:last|past)\s+)?"
        r"(?:" + COUNT + r"|(?P<few>a\s+few|few))\s+" + COUNT_UNIT + r"\b",
        re.I,
    ),
    # "after 7 days of hyperpyrexia", "with five days of fever", "5-day fever" (not "after 3
    # days of treatment"), "of six days duration"
    re.compile(
        r"\b(?:after|with)\s+"
        + COUNT
        + r"\s+"
        + COUNT_UNIT
        + r"\s+of\b(?!\s+(?:\w+\s+)?(?:treatment|therapy|antibiotics?|antivirals?|steroids?|"
        r"hospitali[sz]ation|admission|stay|ventilation|oxygen|follow))",
        re.I,
    ),
    re.compile(r"\bof\s+" + COUNT + r"\s+" + COUNT_UNIT + r"(?:'s?)?\s+duration\b", re.I),
    re.compile(r"\b" + COUNT + r"-(?P<unit>day|week|month)\s+(?=\w)", re.I),
    # "symptoms started five days prior", "onset 3 days ago"
    re.compile(
        r"\b(?:symptoms?|fever|cough|illness|onset)\s+(?:\w+\s+){0,2}?(?:started|began|appeared|"
        r"developed|occurred)?\s*"
        + COUNT
        + r"\s+"
        + COUNT_UNIT
        + r"\s+(?:prior|ago|earlier|before)\b",
        re.I,
    ),
    # "Eight days prior to the admission, she had a fever"
    re.compile(
        r"\b"
        + COUNT
        + r"\s+"
        + COUNT_UNIT
        + r"\s+(?:prior\s+to|before)\s+(?:the\s+|her\s+|his\s+)?"
        r"(?:admission|presentation|hospitali[sz]ation)\b",
        re.I,
    ),
    # Italian: "febbre da 5 giorni", "da circa 10 giorni", "da alcuni giorni"
    re.compile(
        r"\bda\s+(?:circa\s+|almeno\s+|oltre\s+)?(?:"
        + COUNT
        + r"|(?P<few>alcuni|qualche|pochi))\s+"
        + COUNT_UNIT
        + r"\b",
        re.I,
    ),
]
SYMPTOM = re.compile(
    r"\b(?:fever\w*|febrile|pyrexi\w*|hyperpyrexi\w*|cough\w*|dyspn\w+|breath\w*|symptoms?|"
    r"malaise|myalgi\w*|asthenia|fatigue|sore\s+throat|odynophagi\w*|pharyng\w+|diarrh\w+|"
    r"headache|chills|illness|unwell|pain|history|anosmia|ageusia|febbre|tosse|dispnea|"
    r"astenia|sintom\w+|malessere)\b",
    re.I,
)


def symptoms_dated_elsewhere(text: str, history: list[tuple[int, Found]]) -> bool:
    """Another sentence dates the symptoms themselves (not a presentation or a trip)."""
    spans = {sentence_bounds(text, pos) for pos, _ in history}
    for m in DATE.finditer(text):
        s, e = sentence_bounds(text, m.start())
        if (s, e) in spans:
            continue
        sentence = text[s:e]
        if SYMPTOM.search(sentence) and not PRESENTED.search(sentence):
            return True
    return False


def history_candidates(text: str) -> list[tuple[int, Found]]:
    out: list[tuple[int, Found]] = []
    for pattern in HISTORY:
        for m in pattern.finditer(text):
            s, e = sentence_bounds(text, m.start())
            window = text[max(s, m.start() - 80) : min(e, m.end() + 40)]
            if not SYMPTOM.search(window):
                continue
            days = days_in(m)
            if days is not None:
                out.append((m.start(), Found(days, match_evidence(text, m))))
    return drop_nested(out)


def presentation_history(text: str) -> Found | None:
    """The longest acute history the text gives, when no other sentence dates the symptoms."""
    history = history_candidates(text)
    if not CHRONIC.search(text):
        history = [(pos, f) for pos, f in history if f.value <= LONGEST_ACUTE_HISTORY]
    if not history or symptoms_dated_elsewhere(text, history):
        return None
    # Several symptoms with their own durations: onset is the earliest one.
    return max((f for _, f in history), key=lambda f: f.value)
