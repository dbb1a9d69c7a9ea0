"""Counting days in text: "4-day", "for a few days", "the 7th day", "48 hours", and dates.

Shared by the offset statements (offset.py) and the presentation history (history.py).
"""

from __future__ import annotations

import re

from .fields import Found
from .text import MONTHS, NUM, ORDINAL_WORDS, UNIT, count_days, to_number, unit_days

COUNT = r"(?P<n>" + NUM + r")"
COUNT_UNIT = r"(?P<unit>" + UNIT + r")"
MONTH_NAME = r"(?:" + "|".join(MONTHS) + r")\.?"
# A calendar date: "16 February", "March 3", "February 2020", "in November", "13/03/2020"
# (a bare "May" is a verb too, so a month needs a day, a year or a preposition with it).
CALENDAR_DATE = (
    r"(?:\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?" + MONTH_NAME + r"\b|" + MONTH_NAME + r"\s+\d{1,4}\b|"
    r"(?:in|since|from|during|early|late|mid)[\s-]+" + MONTH_NAME + r"\b|\d{1,2}/\d{1,2}/\d{2,4}\b|"
    # "on 07/03" but not a blood pressure "60/40 mm Hg"
    r"(?:on|from|since|to|il|del|dal|al)\s+\d{1,2}/\d{1,2}\b)"
)
# A sentence that dates symptoms: "In November 2019 fever, cough and asthenia".
DATE = re.compile(r"\b" + CALENDAR_DATE, re.I)


def days_in(m: re.Match) -> int | None:
    unit = m.group("unit") if "unit" in m.re.groupindex and m.group("unit") else "day"
    if "few" in m.re.groupindex and m.group("few"):
        # "a few days": 5, the collection's rule; "a few weeks" has no such rule.
        return 5 if unit_days(unit) == 1 else None
    if "ord" in m.re.groupindex:
        word = m.group("ord").lower()
        return ORDINAL_WORDS.get(word) or int(re.sub(r"\D", "", word) or 0) or None
    n = to_number(m.group("n"))
    return None if n is None else count_days(n, unit)


def drop_nested(found: list[tuple[int, Found]]) -> list[tuple[int, Found]]:
    """Drop matches nested inside another match ("4-day" inside "4-day history")."""
    found.sort(key=lambda pair: (pair[1].evidence.start, -pair[1].evidence.end))
    kept: list[tuple[int, Found]] = []
    for pos, f in found:
        if any(
            k.evidence.start <= f.evidence.start and f.evidence.end <= k.evidence.end
            for _, k in kept
        ):
            continue
        kept.append((pos, f))
    return kept
