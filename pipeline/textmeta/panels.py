"""Split a compound-figure caption into the parts about each panel letter.

Two ways captions name panels, both handled:
- leading markers start a panel's description: "(A) Hospital day 1 ... (B) Hospital day 14",
  "a, PA radiograph; b, lateral", "A: ...", "a Baseline radiograph ..." (Springer style);
- inline markers follow the words about a panel: "Initial radiograph (a) showed ...",
  "hospital days 1 (a), 3 (b), and 5 (c)", "(Panel B)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LETTERS = r"[A-Ha-h](?:\s*(?:,|and|&|-|–|—|to|\?)\s*[A-Ha-h])*"
LEADING = [
    # "(A) Hospital", "(B, C) Axial": a parenthesised marker before a capital or a digit, or
    # at the start of a clause ("radiographs: (a) day 1, (b) day 4")
    re.compile(
        r"\((?:panels?\s+)?(?P<letters>" + _LETTERS + r")\)\s*(?=(?-i:[A-Z0-9]))|"
        r"(?:^|(?<=[.;:,]\s))\((?:panels?\s+)?(?P<letters2>" + _LETTERS + r")\)\s*(?=\w)",
        re.I,
    ),
    # "a, PA radiograph", "A: ...", "A. ...", "b) lateral" at a sentence or clause start
    re.compile(
        r"(?:^|(?<=[.;:]\s)|(?<=[.;:]))\s*(?:panels?\s+)?(?P<letters>[A-Ha-h])\s*[,:.)]\s+"
        r"(?=\w)"
    ),
    # "a Baseline frontal radiograph" (lowercase letter, capitalised word)
    re.compile(r"(?:^|(?<=[.;]\s))(?P<letters>[a-h])\s+(?=[A-Z][a-z])"),
]
INLINE = re.compile(r"\((?:panels?\s+)?(?P<letters>" + _LETTERS + r")\)", re.I)
SENTENCE_END = re.compile(r"[.;!?](?!\d)\s*")


@dataclass(frozen=True)
class Marker:
    start: int
    end: int
    letters: tuple[str, ...]
    leading: bool
    bare: bool = False  # a letter without parentheses ("a, PA radiograph")


def _letters(spec: str) -> tuple[str, ...]:
    parts = re.findall(r"\b[A-Ha-h]\b|-|–|—|\bto\b|\?", spec)
    out: list[str] = []
    i = 0
    while i < len(parts):
        p = parts[i]
        if p in {"-", "–", "—", "to", "?"} and out and i + 1 < len(parts):
            lo, hi = out[-1].upper(), parts[i + 1].upper()
            out.extend(chr(c) for c in range(ord(lo) + 1, ord(hi) + 1))
            i += 2
            continue
        if len(p) == 1 and p.isalpha():
            out.append(p.upper())
        i += 1
    return tuple(dict.fromkeys(out))


def find_markers(caption: str) -> list[Marker]:
    markers: dict[int, Marker] = {}
    for pattern in LEADING:
        for m in pattern.finditer(caption):
            group = (
                "letters2" if "letters2" in m.re.groupindex and m.group("letters2") else "letters"
            )
            s = m.start(group)
            # "a Baseline" must not read the article "A" of "A rapid progression" as a panel.
            letter = m.group(group)
            if pattern is LEADING[1] and letter in "Aa" and caption[m.end(group)] == " ":
                continue
            bare = pattern is not LEADING[0]
            markers[s] = Marker(m.start(), m.end(), _letters(m.group(group)), True, bare)
    for m in INLINE.finditer(caption):
        s = m.start("letters")
        if any(k.start <= m.start() < k.end for k in markers.values()):
            continue
        letters = _letters(m.group("letters"))
        if len(letters) >= 3:
            continue  # "(a-d)": the whole figure, not one panel
        markers[s] = Marker(m.start(), m.end(), letters, False)
    found = sorted(markers.values(), key=lambda k: k.start)
    # A lone bare letter ("A. Smith") is not a panel: bare markers need a second letter.
    if len({letter for k in found for letter in k.letters}) < 2:
        found = [k for k in found if not k.bare]
    return found


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    s = start
    for m in SENTENCE_END.finditer(text, start, end):
        spans.append((s, m.end()))
        s = m.end()
    if s < end:
        spans.append((s, end))
    return spans


def panel_spans(caption: str) -> dict[str, list[tuple[int, int]]]:
    """Panel letter -> spans of the caption about it (several spans for inline markers)."""
    markers = find_markers(caption)
    if not markers:
        return {}
    out: dict[str, list[tuple[int, int]]] = {}

    def add(letters: tuple[str, ...], s: int, e: int) -> None:
        while s < e and caption[s] in " ,;":
            s += 1
        while e > s and caption[e - 1] in " ,;":
            e -= 1
        if s < e:
            for letter in letters:
                out.setdefault(letter, []).append((s, e))

    leading = [k for k in markers if k.leading]
    # Segments: from each leading marker to the next; before the first is shared text.
    bounds = [(k.start, k.letters) for k in leading]
    segments = [(0, bounds[0][0] if bounds else len(caption), ())]
    for i, (s, letters) in enumerate(bounds):
        e = bounds[i + 1][0] if i + 1 < len(bounds) else len(caption)
        segments.append((s, e, letters))
    for seg_start, seg_end, seg_letters in segments:
        inline = [k for k in markers if not k.leading and seg_start <= k.start < seg_end]
        if not inline:
            if seg_letters:
                add(seg_letters, seg_start, seg_end)
            continue
        for s_start, s_end in _sentence_spans(caption, seg_start, seg_end):
            here = [k for k in inline if s_start <= k.start < s_end]
            if not here:
                if seg_letters:
                    add(seg_letters, s_start, s_end)
                continue
            # Words before a marker belong to it; words after the last marker to the last one.
            cut = s_start
            for i, k in enumerate(here):
                end = k.end if i + 1 < len(here) else s_end
                add(k.letters, cut, end)
                cut = k.end
    return out


def split_panel_captions(caption: str) -> dict[str, str]:
    """Panel letter -> the part of the caption about that panel; {} without panel markers."""
    return {
        letter: " ".join(caption[s:e] for s, e in spans)
        for letter, spans in sorted(panel_spans(caption).items())
    }


def shared_prefix(caption: str) -> tuple[int, int]:
    """The span before the first panel marker (words about every panel)."""
    markers = find_markers(caption)
    first = markers[0] if markers else None
    if first is None:
        return (0, len(caption))
    if first.leading:
        return (0, first.start)
    s_start = max((m.end() for m in SENTENCE_END.finditer(caption, 0, first.start)), default=0)
    return (0, s_start)
