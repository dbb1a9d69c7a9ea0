"""Body temperature in Celsius (one decimal), converting Fahrenheit.

The wordings are data (rules/temperature.json): what makes a number a temperature, and the
ConText cues that make it no measurement of the patient at presentation.
"""

from __future__ import annotations

from .context import assert_targets
from .document import Doc
from .fields import Found
from .matcher import Match, load_table
from .values import read_celsius

TABLE = "temperature"
DROPPED = ("OTHER_EXPERIENCER", "UP_TO", "THRESHOLD", "NOT_BODY", "LATER", "BEFORE", "AFTER_VALUE")


def _numbers(doc: Doc) -> list[tuple[Match, bool]]:
    """One target per number read as a temperature, spanning the number and its unit, and
    whether a word naming the temperature came before it (no unit then: Fahrenheit guessed)."""
    table = load_table(TABLE)
    out: dict[int, tuple[Match, bool]] = {}
    for m in table.find(doc, {"TEMP", "TEMP_CUE"}):
        i = next(i for i in range(m.start, m.end) if table.has(doc, i, "TEMP_NUMBER"))
        end = i + 1
        while end < len(doc.tokens) and end < i + 3 and (
            table.has(doc, end, "DEGREE") or table.has(doc, end, "TEMP_UNIT")
        ):
            end += 1
        cue = m.category == "TEMP_CUE" or (i in out and out[i][1])
        out[i] = (Match(m.rule, i, end), cue)
    return [out[i] for i in sorted(out)]


def _in_range(doc: Doc, i: int) -> bool:
    """Either end of a range ("101 F to 102 F"), but the first value of a change ("from 39.0
    to 36.4") is a measurement."""
    found = load_table(TABLE).find(doc, {"RANGE", "CHANGE"})
    if any(m.category == "CHANGE" and m.start + 1 == i for m in found):
        return False
    return any(m.start <= i < m.end for m in found)


def find_temperature(doc: Doc) -> Found | None:
    """The body temperature at presentation: one measured where the text says so ("on
    admission", "on examination") first, else the first other measured one; a highest value
    ("maximum 39") only when the text measures none; never one from before the presentation
    ("the day before", "at home") or after it ("the next morning")."""
    numbers = _numbers(doc)
    cue_before = {m.start: cue for m, cue in numbers}
    ranked: list[tuple[int, int, Found]] = []
    for item in assert_targets(doc, [m for m, _ in numbers], ("context", TABLE)):
        t = item.target
        if item.has(*DROPPED) or _in_range(doc, t.start):
            continue
        table = load_table(TABLE)
        unit_given = doc.tokens[t.start].text[-1] in "CcFf" or any(
            table.has(doc, i, "TEMP_UNIT") for i in range(t.start + 1, t.end)
        )
        celsius = read_celsius(doc, t.start, t.end, cue_before[t.start] and not unit_given)
        if celsius is None:
            continue
        rank = (0 if item.has("PRESENTATION") else 1) + (2 if item.has("PEAK") else 0)
        ranked.append((rank, t.start, Found(celsius, doc.evidence(t.start, t.end))))
    if not ranked:
        return None
    return min(ranked, key=lambda item: item[:2])[2]
