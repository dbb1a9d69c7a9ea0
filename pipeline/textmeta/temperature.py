"""Body temperature in Celsius (one decimal), converting Fahrenheit."""

from __future__ import annotations

import re

from .fields import Found
from .text import TIME_SPAN, about_other_person, match_evidence, sentence_bounds

# In the collection's notes the degree sign often arrives as "?" (lost in a text export).
_DEG = r"(?:\s*(?:°|º|˚|\?|degrees?|gradi)\s*)"
# "℃" and "℉" are one character each; "37·5" is a decimal point in some journals (The Lancet).
_NUMBER = r"(?P<num>\d{2,3}(?:[.,·]\d{1,2})?)"
WITH_UNIT = re.compile(
    _NUMBER + r"(?:\s*" + _DEG + r"?(?P<unit>C|F|Celsius|Fahrenheit|centigradi)\b" + r"|"
    + r"\s*(?P<sign>℃|℉)|"
    + _DEG + r"(?=[\s,;:.)]|$))",
    re.I,
)  # fmt: skip
# "temperature of 38.5", "T 39", "TC 38,2", "febbre 38": a cue word right before a number.
WITH_CUE = re.compile(
    r"\b(?:(?i:temperature|temp|fever|febrile|pyrexia|hyperpyrexia|febbre|iperpiressia|temperatura)|"
    r"T|TC|Tc|Tmax|T\s?max)\b(?i:\s*(?:of|was|is|at|to|up\s+to|maximum|max|di|a|pari\s+a|=|:|\(|\?))*\s*"
    + _NUMBER,
)
HISTORY = re.compile(r"\b(?:up\s+to|fino\s+a|hasta|até|bis(?:\s+zu)?)\s*$", re.I)
# A highest value, not a measurement: "maximum temperature reached 38.5", "as high as 38.9".
# A measured value elsewhere in the text wins over it.
PEAK_BEFORE = re.compile(
    r"\b(?:max\w*|as\s+high\s+as|peak\w*|highest|reach\w*|massim\w*|picco)\b[^.;]{0,25}$", re.I
)
# Either end of a range ("101 F to 102 F") is no single measurement: left unsaid.
RANGE_AFTER = re.compile(r"\s*(?:°|º|˚|degrees?)?\s*[CF]?\s*(?:to|-|–)\s*\d{2,3}\b", re.I)
RANGE_BEFORE = re.compile(
    r"\d{2,3}(?:[.,·]\d{1,2})?\s*(?:°|º|˚|degrees?)?\s*[CF]?\s*(?:to|-|–)\s*$", re.I
)
# "dropped from 39.0 °C to 36.4 °C": a change, whose first value is no range end.
FROM_BEFORE = re.compile(r"\bfrom\s*$", re.I)
# A temperature taken after the presentation: "the next morning a fever spike of 39 °C",
# "la mattina successiva picco febbrile a 39".
LATER_MEASUREMENT = re.compile(
    r"\b(?:next|following|subsequent(?:ly)?|later|thereafter|successiv[oa]|seguente|"
    r"(?:on|at)\s+(?:the\s+)?(?:day\s+(?:[2-9]|\d{2})|(?:[2-9]|\d{2})(?:st|nd|rd|th)\s+day|"
    r"(?:second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\s+day)|"
    r"the\s+day\s+after|il\s+giorno\s+dopo|nei\s+giorni\s+successivi)\b",
    re.I,
)
# The sentence places the measurement at the presentation.
AT_PRESENTATION = re.compile(
    r"\b(?:on|at|upon|during)\s+(?:the\s+)?(?:hospital\s+)?(?:admission|presentation|arrival|"
    r"(?:physical\s+)?exam\w*)|\bwas\s+admitted|\bvital\s+signs|\bphysical\s+exam\w*|"
    r"\bin\s+the\s+(?:ED|ER|emergency)|\btriage|\bpresented\s+(?:to|with|at|in)|"
    r"\ball['’]\s*ingresso|\bin\s+PS\b|\bal\s+ingreso|\bà\s+l['’]admission|"
    r"\bbei\s+(?:der\s+)?Aufnahme",
    re.I,
)
# A temperature from before the presentation: "the day before he had a fever of 38.3",
# "3 days prior to admission", "at home", "day 1 of illness".
BEFORE_PRESENTATION = re.compile(
    r"\b(?:the\s+(?:day|night|evening)\s+before|" + TIME_SPAN + r"\s+(?:before|prior|earlier|ago)|"
    r"(?:before|prior\s+to)\s+(?:the\s+)?"
    r"(?:admission|presentation|hospitali[sz]ation)|at\s+home|day\s+1\s+of\s+(?:the\s+)?illness|"
    r"antes\s+del\s+ingreso|prima\s+del\s+ricovero|a\s+domicilio)\b",
    re.I,
)
# "fever (37.5 °C) one week before", "mild fever (37.8 °C) two days later": the time told
# right after the value is not the presentation.
BEFORE_AFTER_VALUE = re.compile(
    r"[^.;\d]{0,8}?\b(?:" + TIME_SPAN + r"\s+(?:before|earlier|prior|ago|later)|"
    r"the\s+(?:day|night)\s+(?:before|after))\b",
    re.I,
)
# A threshold, not a measurement: "fever (>38.5 °C)", "temperature above 38".
THRESHOLD_BEFORE = re.compile(
    r"(?:[<>≥≤]=?|\b(?:above|over|below|under|greater\s+than|less\s+than|at\s+least|"
    r"more\s+than|exceeding|superiore\s+a|inferiore\s+a))\s*$",
    re.I,
)
NOT_BODY = re.compile(r"\b(?:incubat\w*|stored|culture\w*|room|ambient|water)\b[^.]{0,20}$", re.I)


def _celsius(number: str, unit: str | None, guess_fahrenheit: bool) -> float | None:
    value = float(number.replace(",", ".").replace("·", "."))
    is_f = unit is not None and unit.lower() in ("f", "fahrenheit", "℉")
    if unit is None and guess_fahrenheit and 93 <= value <= 110:
        is_f = True
    if is_f:
        value = (value - 32) * 5 / 9
    value = round(value, 1)
    return value if 34.0 <= value <= 43.5 else None


def find_temperature(text: str) -> Found | None:
    """The body temperature at presentation: one measured where the text says so ("on
    admission", "on examination") first, else the first other measured one; a highest value
    ("maximum 39") only when the text measures none; never one from before the presentation
    ("the day before", "at home") or after it ("the next morning")."""
    ranked: list[tuple[int, int, Found]] = []
    for pattern in (WITH_UNIT, WITH_CUE):
        for m in pattern.finditer(text):
            unit = m.groupdict().get("unit") or m.groupdict().get("sign")
            head = text[max(0, m.start() - 40) : m.start("num")]
            if pattern is WITH_UNIT and HISTORY.search(head):
                continue
            if pattern is WITH_CUE and HISTORY.search(text[m.start() : m.start("num")]):
                continue
            if NOT_BODY.search(head) or about_other_person(text, m.start("num")):
                continue
            sentence_start, sentence_end = sentence_bounds(text, m.start())
            before = text[sentence_start : m.start("num")]
            if LATER_MEASUREMENT.search(before) or BEFORE_PRESENTATION.search(before):
                continue
            # "fever (37.5 °C) one week before": the time told right after the value
            if BEFORE_AFTER_VALUE.match(text, m.end(), m.end() + 40):
                continue
            if THRESHOLD_BEFORE.search(text, max(0, m.start("num") - 20), m.start("num")):
                continue
            celsius = _celsius(m.group("num"), unit, guess_fahrenheit=pattern is WITH_CUE)
            if celsius is None:
                continue
            changed = FROM_BEFORE.search(text, max(0, m.start("num") - 8), m.start("num"))
            if not changed and RANGE_AFTER.match(text, m.end("num")) or RANGE_BEFORE.search(
                text[max(0, m.start("num") - 20) : m.start("num")]
            ):
                continue
            at_presentation = AT_PRESENTATION.search(text, sentence_start, sentence_end)
            peak = PEAK_BEFORE.search(before)
            rank = (0 if at_presentation else 1) + (2 if peak else 0)
            ranked.append((rank, m.start("num"), Found(celsius, match_evidence(text, m))))
    if not ranked:
        return None
    return min(ranked, key=lambda item: item[:2])[2]
