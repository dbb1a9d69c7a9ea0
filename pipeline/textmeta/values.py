"""Value grammars: read a number, a length of time, an age, a temperature or a calendar date
from the tokens of a matched span. The words are data (rules/values.json); this module only
says how they combine ("sixty-five" is 60 + 5, "2 weeks" is 14 days, "101.5 F" is 38.6 °C).
"""

from __future__ import annotations

import re
from datetime import date

from .document import Doc, Token
from .matcher import values_table

_LEADING_INT = re.compile(r"^(\d{1,4})")
_DECIMAL = re.compile(r"^(\d{2,3})(?:[.,](\d{1,2}))?([cf])?$", re.I)


def leading_int(token: Token) -> int | None:
    m = _LEADING_INT.match(token.text)
    return int(m.group(1)) if m else None


def count_of(token: Token, articles: bool = True) -> int | None:
    """A count written in digits or in words ("4", "four"; "a" and "an" count as one)."""
    if token.text.isdigit() and len(token.text) <= 3:
        return int(token.text)
    table = values_table()
    if token.lower in table["numbers"]:
        return table["numbers"][token.lower]
    if articles and token.lower in table["articles_as_one"]:
        return 1
    return None


def ordinal_of(token: Token) -> int | None:
    """"7th", "seventh", "5a", "5ª" (Italian)."""
    table = values_table()
    if token.lower in table["ordinals"]:
        return table["ordinals"][token.lower]
    m = re.fullmatch(r"(\d{1,3})(?:st|nd|rd|th|a|ª)", token.lower)
    return int(m.group(1)) if m else None


def unit_days(word: str) -> int | None:
    """Days in one unit ("week" 7); None for hours, which count only in whole days."""
    return values_table()["unit_days"].get(word.lower())


def read_days(doc: Doc, start: int, end: int) -> int | None:
    """The length of time in tokens start..end-1, in whole days, read at its unit: the count
    before it ("4-day" 4, "2 weeks" 14, "the 7th day" 7, "a week" 7, "48 hours" 2; "36
    hours" is no whole day: None; "a few days" 5, the collection's rule, but "a few weeks" has
    no such rule), else the count after it ("day 5", "Figure 4, day 2" 2)."""
    table = values_table()
    tokens = doc.tokens[start:end]
    for u, unit in enumerate(tokens):
        if not _is_unit(unit):
            continue
        before = [t for t in tokens[:u] if t.text != "-"][-2:]
        n, few = _count_before(before)
        if n is None and not few and u + 1 < len(tokens):
            n = ordinal_of(tokens[u + 1]) or count_of(tokens[u + 1], articles=False)
        if few:
            return table["few_days"] if unit_days(unit.lower) == 1 else None
        if n is None:
            continue
        if unit.lower in table["hour_units"]:
            return n // 24 if n % 24 == 0 else None
        return n * table["unit_days"][unit.lower]
    return None


def _count_before(before: list[Token]) -> tuple[int | None, bool]:
    """The count right before a unit ("5", "five", "7th", "a", "a single") or "few"."""
    table = values_table()
    if not before:
        return None, False
    last = before[-1]
    if last.lower in table["few"]:
        return None, True
    if last.lower == "single" and len(before) == 2:
        last = before[0]
    return ordinal_of(last) or count_of(last), False


def _is_unit(token: Token) -> bool:
    table = values_table()
    return token.lower in table["unit_days"] or token.lower in table["hour_units"]


def read_age(doc: Doc, start: int, end: int) -> int | None:
    """The last number in the span ("Patient 2: 44 years" is 44), or an age written out
    ("sixty-five", "one hundred")."""
    words = values_table()["age_words"]
    numbers = [n for n in map(leading_int, doc.tokens[start:end]) if n is not None]
    if numbers:
        return numbers[-1]
    total = 0
    for token in doc.tokens[start:end]:
        if token.lower in words["tens"]:
            total += words["tens"][token.lower]
        elif token.lower in words["units"]:
            total += words["units"][token.lower]
        elif token.lower in words["teens"]:
            total += words["teens"][token.lower]
        elif token.lower in words["hundred"]:
            total = total * 100 if total else 100
    return total or None


def read_celsius(doc: Doc, start: int, end: int, guess_fahrenheit: bool) -> float | None:
    """A body temperature in Celsius, one decimal: the first number of the span with the unit
    written after it ("38.5 °C", "101.5 F", "39 ℃", "38C"); without a unit a value in the
    Fahrenheit range is read as Fahrenheit only when `guess_fahrenheit`. None outside the
    plausible range."""
    spec = values_table()["temperature"]
    tokens = doc.tokens[start:end]
    for i, token in enumerate(tokens):
        m = _DECIMAL.match(token.text)
        if not m:
            continue
        value = float(m.group(1) + ("." + m.group(2) if m.group(2) else ""))
        unit = (m.group(3) or "").lower() or None
        for after in tokens[i + 1 : i + 4]:
            if unit is not None:
                break
            if after.lower in spec["fahrenheit"]:
                unit = "f"
            elif after.lower in spec["celsius"] and after.lower not in spec["degree"]:
                unit = "c"
            elif after.lower not in spec["degree"]:
                break
        low, high = spec["fahrenheit_range"]
        if unit == "f" or (unit is None and guess_fahrenheit and low <= value <= high):
            value = (value - 32) * 5 / 9
        value = round(value, 1)
        low, high = spec["plausible_celsius"]
        return value if low <= value <= high else None
    return None


def read_date(doc: Doc, start: int, end: int, year: int | None = None) -> date | None:
    """A calendar date: "January 22, 2020", "22 January", "on 07/03" (day first, as in the
    collection's European sources), "13/03/2020". Without a year the date takes `year` (the
    text's other dates), else a leap year so that 29 February reads."""
    table = values_table()
    tokens = doc.tokens[start:end]
    day = month = None
    found_year = None
    numbers: list[int] = []
    slash = any(t.text == "/" for t in tokens)
    for token in tokens:
        if token.lower.rstrip(".") in table["months"] and month is None:
            month = table["months"][token.lower.rstrip(".")]
            continue
        value = leading_int(token)
        if value is None:
            continue
        if value >= 1900 and len(token.text) == 4:
            found_year = value
        else:
            numbers.append(value)
    if slash and month is None and len(numbers) >= 2:
        day, month = numbers[0], numbers[1]
        if len(numbers) >= 3 and found_year is None:
            found_year = 2000 + numbers[2] if numbers[2] < 100 else numbers[2]
    elif numbers:
        day = numbers[0]
    if month is None or day is None:
        return None
    try:
        return date(found_year or year or 2020, month, day)
    except ValueError:
        return None
