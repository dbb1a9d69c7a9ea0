"""Shared helpers: spans, clauses, number words, negation and other-person cues, language."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .fields import Evidence

if TYPE_CHECKING:
    from .document import Doc

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "a": 1, "an": 1, "a single": 1,
    "uno": 1, "un": 1, "una": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6,
    "sette": 7, "otto": 8, "nove": 9, "dieci": 10, "quindici": 15, "venti": 20, "trenta": 30,
}  # fmt: skip
ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10,
}  # fmt: skip

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sept",
    "Sep", "Oct", "Nov", "Dec", "gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
    "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre",
)  # fmt: skip
# A count written in digits or words ("4", "four"; "a"/"an" count as one before a unit, as in
# "a week later").
NUM = r"(?:\d{1,3}|" + "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len,
                                        reverse=True)) + r")"  # fmt: skip
# A stretch of time told in words or digits, to say when something happened relative to now:
# "3 days", "two weeks", "a few days", "several months" ("... before", "... ago", "... later").
TIME_SPAN = (
    r"(?:\d{1,3}|a|one|two|three|four|five|six|seven|eight|nine|ten|(?:a\s+)?few|several)\s+"
    r"(?:days?|weeks?|months?|years?)"
)
# "a few days" is 5 days by the collection's rule; "several" and "some" are left unsaid.
FEW = r"(?:a\s+few|few|alcuni|alcune|qualche|pochi)"

UNIT_DAYS = {
    "day": 1, "days": 1, "giorno": 1, "giorni": 1, "gg": 1,
    "week": 7, "weeks": 7, "settimana": 7, "settimane": 7,
    "month": 30, "months": 30, "mese": 30, "mesi": 30,
}  # fmt: skip
UNIT = r"(?:days?|weeks?|months?|giorn[oi]|gg|settiman[ae]|mes[ei]|hours?|hrs?|ore)"
HOUR_UNITS = {"hour", "hours", "hr", "hrs", "ore"}

CLAUSE_BREAK = re.compile(r"[.;:!?\n]|,|\bbut\b|\bhowever\b|\bwhereas\b|\bma\b|\bperò\b", re.I)
NEGATION = re.compile(
    r"\b(?:no|not|never|none\s+of|without|denie[sd]|deny|negative\s+for|free\s+of|nor|neither|"
    r"did\s*n[o']t|does\s*n[o']t|do\s*n[o']t|was\s*n[o']t|were\s*n[o']t|is\s*n[o']t|"
    r"non|senza|nega|né|absence\s+of|avoid(?:ed|ing)?|avert(?:ed|ing)?|prevent(?:ed|ing)?|"
    r"obviat(?:ed|ing)|ruled\s+out|refused|declined)\b",
    re.I,
)
NEGATION_SCOPE_BREAK = re.compile(
    r"\b(?:and|or)\s+(?:was|were|is|had|has|then|subsequently|later|eventually|finally|he|"
    r"she|the\s+patient)\b|"
    r"\b(?:then|who|which|after|until|when|subsequently|later|eventually|e\s+poi|poi)\b|"
    # "hypoxia without hypercapnia despite oxygen support": the oxygen was given
    r"\b(?:despite|in\s+spite\s+of|although|even\s+though|nonostante|malgrado)\b",
    re.I,
)
# A list that continues the clause before the comma: "declined intervention, including
# intubation" is as negated as "declined intubation".
# A relative clause is about the noun before its comma: "her grandfather, who was in the ICU".
RELATIVE_CLAUSE = re.compile(r",\s*(?:who|whom|whose)\s", re.I)
LIST_CONTINUES = re.compile(r",\s*(?:including|such\s+as|e\.g\.|namely|in\s+particular)\s", re.I)
OTHER_PERSON = re.compile(
    r"\b(?:wife|husband|spouse|partner|son|daughter|mother|father|brother|sister|sibling|"
    r"child(?:ren)?|grand\w+|uncle|aunt|cousin|relatives?|friends?|colleagues?|neighbou?rs?|"
    r"contacts?|family\s+members?|cohabit\w*|roommates?|co-?workers?|donors?|"
    r"moglie|marito|coniuge|figli[oa]?|madre|padre|fratello|sorella|contatt[oi]|familiar[ei])\b",
    re.I,
)
ITALIAN_WORDS = re.compile(
    r"\b(?:il|lo|gli|della|delle|dello|degli|del|con|per|anni|paziente|uomo|donna|che|non|"
    r"una|sono|nella|nel|alla|al|dei|ed|è|si|da|riferisce|febbre|tosse|ricovero|polmonite|"
    r"giorni|torace|esame|sesso|circa)\b",
    re.I,
)
ENGLISH_WORDS = re.compile(
    r"\b(?:the|and|of|with|was|were|is|a|an|in|on|for|patient|year|old|man|woman|showed|"
    r"chest|days|history|fever|cough|he|she|his|her)\b",
    re.I,
)


def evidence(text: str, start: int, end: int) -> Evidence:
    return Evidence(start, end, text[start:end])


def match_evidence(text: str, m: re.Match, group: int | str = 0) -> Evidence:
    return evidence(text, m.start(group), m.end(group))


def to_number(word: str) -> int | None:
    w = re.sub(r"\s+", " ", word.strip().lower())
    if w.isdigit():
        return int(w)
    return NUMBER_WORDS.get(w)


def unit_days(unit: str) -> int | None:
    """Days in one `unit`; None for hours, which count only in whole days (`count_days`)."""
    return UNIT_DAYS.get(unit.lower())


def count_days(n: int, unit: str) -> int | None:
    """`n` units in days: "2 weeks" 14, "48 hours" 2; "36 hours" is no whole day, so None."""
    if unit.lower() in HOUR_UNITS:
        return n // 24 if n % 24 == 0 else None
    return n * UNIT_DAYS[unit.lower()]


def detect_language(text: str | Doc) -> str:
    """'it' when Italian function words outnumber English ones (in the first 4,000
    characters), else 'en'."""
    from .document import make_doc
    from .matcher import values_table

    doc = make_doc(text[:4000]) if isinstance(text, str) else text
    words = {lang: frozenset(ws) for lang, ws in values_table()["languages"].items()}
    lowers = [t.lower for t in doc.tokens if t.start < 4000]
    it = sum(w in words["it"] for w in lowers)
    en = sum(w in words["en"] for w in lowers)
    return "it" if it > en else "en"


def _is_number_separator(text: str, i: int) -> bool:
    """A decimal point or thousands comma ("38.5", "11,360") is not a clause break."""
    return text[i] in ".," and 0 < i < len(text) - 1 and text[i + 1].isdigit()


def clause_start(text: str, pos: int, window: int = 300) -> int:
    """Start of the clause holding `pos` (after the last . ; : , or 'but' before it)."""
    lo = max(0, pos - window)
    start = lo
    for m in CLAUSE_BREAK.finditer(text, lo, pos):
        if not _is_number_separator(text, m.start()):
            start = m.end()
    return start


SENTENCE_BREAK = re.compile(r"[.!?;\n](?!\d)")


def sentence_bounds(text: str, pos: int, window: int = 1000) -> tuple[int, int]:
    """The sentence around `pos`: split on . ! ? ; newlines, but not inside numbers.

    Looks at most `window` characters each way, so long texts stay linear."""
    lo = max(0, pos - window)
    start = lo
    for m in SENTENCE_BREAK.finditer(text, lo, pos):
        start = m.end()
    hi = min(len(text), pos + window)
    m = SENTENCE_BREAK.search(text, pos, hi)
    return start, (m.end() if m else hi)


def sentence_start_near(text: str, pos: int, max_chars: int | None = None) -> int:
    """Where the sentence holding `pos` starts, or `max_chars` before `pos` if that is later."""
    start, _ = sentence_bounds(text, pos)
    return start if max_chars is None else max(start, pos - max_chars)


def before_in_clause(text: str, pos: int, max_chars: int = 60) -> str:
    start = max(clause_start(text, pos), pos - max_chars)
    return text[start:pos]


def _clause_window(text: str, pos: int, max_chars: int, continues: re.Pattern[str]) -> str:
    """The clause before `pos`, carried back over a comma that `continues` the clause before
    it ("declined intervention, including ...", "the grandfather, who ...")."""
    window = before_in_clause(text, pos, max_chars)
    start = pos - len(window)
    joint = continues.search(text, max(0, start - 2), pos)
    if joint and joint.start() < start:
        window = before_in_clause(text, joint.start(), max_chars) + text[joint.start() : pos]
    return window


def is_negated(text: str, pos: int, max_chars: int = 45) -> bool:
    """A negation cue earlier in the same clause, close enough to govern the word at `pos`."""
    window = _clause_window(text, pos, max_chars, LIST_CONTINUES)
    # "denied fever and was admitted to the ICU": the negation stops at a new verb phrase.
    window = NEGATION_SCOPE_BREAK.split(window)[-1]
    return NEGATION.search(window) is not None


def about_other_person(text: str, pos: int, max_chars: int = 60) -> bool:
    """Someone other than the patient is the subject of the clause ('his wife died', 'the
    grandfather, who was in the ICU')."""
    return OTHER_PERSON.search(_clause_window(text, pos, max_chars, RELATIVE_CLAUSE)) is not None
