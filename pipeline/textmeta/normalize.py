"""Read through mangled text: typography, characters lost to '?', mojibake.

The collection's notes and scraped pages carry damage from text exports: '?' for '·', '°',
'–' or '′' ("38?5", "38?C", "COVID?19"), UTF-8 read as Latin-1 ("38Â°C", "2â€“3 days") and
typographic dashes and spaces. `normalize` repairs them and keeps, for every character of
the repaired text, where it came from, so that evidence is always quoted from the original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One character for one: typographic dashes, spaces and quotes, the decimal middle dot.
_FOLDS = str.maketrans(
    {
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
        "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ",
        "\u2018": "'", "\u2019": "'", "\u2032": "'", "\u201c": '"', "\u201d": '"',
        "\u00b7": ".", "\u00ba": "°", "\u02da": "°",
    }
)  # fmt: skip
# Runs of characters that UTF-8 read as Latin-1 or cp1252 leaves behind ("Â°", "â€“", "Ã¨").
_MOJIBAKE = re.compile(r"[ÂÃâ][\u0080-\u00bf\u2013-\u203a\u20ac\u2122\u0152\u0153\u0160\u0161]+")
# A '?' that stands for a lost character, by what surrounds it (a real question mark is
# followed by a space and a capital, or ends the text).
_LOST = [
    (re.compile(r"(?<=\d)\?(?=\d)"), "."),  # "38?5": a decimal point ('·')
    (re.compile(r"(?<=\d)\s?\?(?=\s?[CcFf]\b|[\s,;.)]|$)"), "°"),  # "38?C", "37.8 ?,"
    (re.compile(r"(?<=[^\W_])\?(?=[^\W_])"), "-"),  # "COVID?19", "55?year?old"
    (re.compile(r"(?<=\s)\?(?=\s)"), " "),  # "T ? 40": a lost sign between spaced words
    (re.compile(r"(?<=[\s(])\?(?=[^\W\d_])|(?<=[^\W\d_])\?(?=\s[(a-z])"), '"'),  # "?wet market?"
]


@dataclass(frozen=True)
class Normalized:
    """Repaired text; `origin[i]` is where character i came from in the original (with one
    more entry for the end)."""

    text: str
    origin: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        if end <= start:
            return self.origin[start], self.origin[start]
        return self.origin[start], self.origin[end - 1] + 1


def normalize(text: str) -> Normalized:
    out: list[str] = []
    origin: list[int] = []
    pos = 0
    for m in _MOJIBAKE.finditer(text):
        fixed = _fix_mojibake(m.group())
        if fixed == m.group():
            continue
        out.append(text[pos : m.start()])
        origin.extend(range(pos, m.start()))
        out.append(fixed)
        origin.extend([m.start()] * len(fixed))
        pos = m.end()
    out.append(text[pos:])
    origin.extend(range(pos, len(text)))
    repaired = "".join(out).translate(_FOLDS)
    if "?" in repaired:
        chars = list(repaired)
        for pattern, replacement in _LOST:
            for m in pattern.finditer(repaired):
                i = m.end() - 1
                if chars[i] == "?":
                    chars[i] = replacement
        repaired = "".join(chars)
    origin.append(len(text))
    return Normalized(repaired, tuple(origin))


def _fix_mojibake(run: str) -> str:
    import ftfy  # only when a run looks like mojibake

    return ftfy.fix_text(run, uncurl_quotes=False)
