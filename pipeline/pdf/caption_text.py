"""Caption text: how a figure caption starts, and the part of it about each panel.

One segmentation (`find_panel_markers`) finds where a compound figure's caption names its
panels; the views over it are `split_panel_captions` (each panel's text with the shared lead,
letters as written), `panel_spans` and `shared_prefix` (caption offsets, for per-panel fields).

Two ways captions name panels:
- leading markers start a panel's description: "(A) Hospital day 1 ... (B) Hospital day 14",
  "a, PA radiograph; b, lateral; c-d, CT", "A: ...", "b) lateral", "a Baseline radiograph ..."
  (Springer style);
- inline markers follow the words about a panel: "Initial radiograph (a) showed ...",
  "hospital days 1 (a), 3 (b), and 5 (c)", "(Panel B)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "Figure 2." "Fig. 2:" "FIG 2 Chest" "Figure S3 |" "Supplementary Figure 1." -- but not
# body text such as "Figure 2 shows ...".
CAPTION_START = re.compile(
    r"^\s*(?:supplementa(?:l|ry)\s+)?(?:figure|fig\.?)\s*(?P<number>S?\d+[A-Za-z]?)"
    r"(?:\s*[.:|\u2014\u2013-]|\s+(?=(?-i:[A-Z(\[]))|\s*$)",
    re.I,
)

_RANGE = r"(?:-|\u2013|\u2014|to|\?)"
_LETTERS = r"[A-Ha-h](?:\s*(?:,|and|&|-|\u2013|\u2014|to|\?)\s*[A-Ha-h])*"
_PAREN = re.compile(
    # "(A) Hospital", "(B, C) Axial": a parenthesised marker before a capital or a digit, or
    # at the start of a clause ("radiographs: (a) day 1, (b) day 4")
    r"\((?:panels?\s+)?(?P<letters>" + _LETTERS + r")\)\s*(?=(?-i:[A-Z0-9]))|"
    r"(?:^|(?<=[.;:,]\s))\((?:panels?\s+)?(?P<letters2>" + _LETTERS + r")\)\s*(?=\w)",
    re.I,
)
# "A: ...", "A. ...", "b) lateral" at a sentence or clause start
_BARE = re.compile(
    r"(?:^|(?<=[.;:]\s)|(?<=[.;:]))\s*(?:panels?\s+)?(?P<letters>[A-Ha-h])\s*[:.)]\s+(?=\w)"
)
# "a) PA view; b) lateral view, c) CT": a closing parenthesis after any space or punctuation
_CLOSING = re.compile(r"(?:^|(?<=[\s;.,:]))(?P<letters>[A-Ha-h])\)\s*")
# "a, PA radiograph; b, lateral; c-d, CT": a letter or a range and a comma at a clause start
# or right after the label ("Fig. 2 a, PA ..."); kept only while the letters run in order
# a, b, c ... (not "a, b and c" in prose, not "Fig. 3 a, the lesions").
_COMMA_ITEM = r"\s*(?P<letters>[A-Ha-h](?:\s*(?:-|\u2013|\u2014)\s*[A-Ha-h])?),\s+(?=\w)"
_COMMA_LIST = re.compile(r"(?:^|(?<=[.;:]\s)|(?<=[.;:]))" + _COMMA_ITEM)
_COMMA_AFTER_LABEL = re.compile(
    r"\s*(?:supplementa(?:l|ry)\s+)?(?:figure|fig\.?)\s*S?\d+\s*[.:|]?" + _COMMA_ITEM, re.I
)
# "a Baseline frontal radiograph" (lowercase letter, capitalised word)
_SPRINGER = re.compile(r"(?:^|(?<=[.;]\s))(?P<letters>[a-h])\s+(?=[A-Z][a-z])")
_LEADING = (_PAREN, _BARE, _SPRINGER)
_INLINE = re.compile(r"\((?:panels?\s+)?(?P<letters>" + _LETTERS + r")\)", re.I)
_SENTENCE_END = re.compile(r"[.;!?](?!\d)\s*")
_TRAILING_JOINER = re.compile(r"[\s,;:]*\b(?:and|or)\s*$")
_LABEL = re.compile(CAPTION_START.pattern + r"\s*", re.I)


@dataclass(frozen=True)
class PanelMarker:
    """Where a caption names one or more panels ("(A)", "c-d,", "(b)")."""

    start: int
    end: int
    letters: tuple[str, ...]  # as written: "a", "B"
    leading: bool  # starts the panel's description (else follows words about it)
    bare: bool = False  # a letter without parentheses ("a, PA radiograph")

    @property
    def whole_figure(self) -> bool:
        """An inline "(a-d)": the whole figure, not one panel."""
        return not self.leading and len(self.letters) >= 3


def _letters(spec: str) -> tuple[str, ...]:
    parts = re.findall(rf"\b[A-Ha-h]\b|{_RANGE}", spec)
    out: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if re.fullmatch(_RANGE, part) and out and i + 1 < len(parts):
            lo, hi = out[-1], parts[i + 1]
            steps = ord(hi.lower()) - ord(lo.lower())
            out.extend(chr(ord(lo) + n) for n in range(1, steps + 1))
            i += 2
            continue
        if len(part) == 1 and part.isalpha():
            out.append(part)
        i += 1
    return tuple(dict.fromkeys(out))


def _comma_list(caption: str) -> list[tuple[int, PanelMarker]]:
    """Markers of the "a, ...; b, ...; c-d, ..." form that run a, b, c ... from "a"."""
    matches = list(_COMMA_LIST.finditer(caption))
    after_label = _COMMA_AFTER_LABEL.match(caption)
    if after_label and all(m.start("letters") != after_label.start("letters") for m in matches):
        matches.insert(0, after_label)
    kept: list[tuple[int, PanelMarker]] = []
    for m in matches:
        letters = _letters(m.group("letters"))
        expected = chr(ord(kept[-1][1].letters[-1]) + 1) if kept else "a"
        if (
            letters
            and letters[0].lower() == expected.lower()
            and (not kept or letters[0].islower() == kept[0][1].letters[0].islower())
        ):
            start = m.start("letters")
            kept.append((start, PanelMarker(start, m.end(), letters, True, True)))
    return kept if len(kept) >= 2 else []


def find_panel_markers(caption: str) -> list[PanelMarker]:
    """The caption's panel markers in reading order; [] when it names no panels."""
    markers: dict[int, PanelMarker] = {}
    markers.update(_comma_list(caption))
    for pattern in _LEADING:
        for m in pattern.finditer(caption):
            group = "letters2" if pattern is _PAREN and m.group("letters2") else "letters"
            s = m.start(group)
            if s in markers:
                continue
            # "A rapid progression": the article "A" is not a panel.
            letter = m.group(group)
            if pattern is _BARE and letter in "Aa" and caption[m.end(group)] == " ":
                continue
            bare = pattern is not _PAREN
            markers[s] = PanelMarker(m.start(), m.end(), _letters(letter), True, bare)
    for m in _CLOSING.finditer(caption):
        s = m.start("letters")
        inside = any(k.start <= m.start() < k.end for k in markers.values())
        # "(a, b)" or "(see b)": the ")" closes a parenthesis, it does not mark a panel.
        if s in markers or inside or caption.count("(", 0, s) > caption.count(")", 0, s):
            continue
        markers[s] = PanelMarker(m.start(), m.end(), _letters(m.group("letters")), True, True)
    for m in _INLINE.finditer(caption):
        s = m.start("letters")
        if any(k.start <= m.start() < k.end for k in markers.values()):
            continue
        markers[s] = PanelMarker(m.start(), m.end(), _letters(m.group("letters")), False)
    return sorted(markers.values(), key=lambda k: k.start)


def _without_lone_bare(markers: list[PanelMarker]) -> list[PanelMarker]:
    # A lone bare letter ("A. Smith") is not a panel: bare markers need a second letter.
    if len({letter.upper() for k in markers for letter in k.letters}) < 2:
        return [k for k in markers if not k.bare]
    return markers


def _field_markers(caption: str) -> list[PanelMarker]:
    """Markers for per-panel fields: an inline "(a-d)" names the whole figure, never a panel."""
    return _without_lone_bare([k for k in find_panel_markers(caption) if not k.whole_figure])


def split_panel_captions(caption: str) -> dict[str, str]:
    """Panel letter (as written) -> the caption's text about that panel, with the shared lead.

    "Figure 1. A 65-year-old man. (A) Day 1 radiograph. (B) CT on day 5." gives
    {"A": "A 65-year-old man. Day 1 radiograph.", "B": "A 65-year-old man. CT on day 5."}.
    An empty dict when the caption names fewer than two panels or does not start at A.
    """
    markers = find_panel_markers(caption)
    if any(not k.whole_figure for k in markers):
        # "(a-d)" next to markers of single panels names the whole figure; alone ("CT (A-C)
        # of a patient") it gives every panel the same text.
        markers = [k for k in markers if not k.whole_figure]
    letters_seen: list[str] = []
    segments: list[tuple[tuple[str, ...], int, int]] = []
    for marker in _without_lone_bare(markers):
        if not marker.letters or any(letter in letters_seen for letter in marker.letters):
            continue
        letters_seen.extend(marker.letters)
        segments.append((marker.letters, marker.start, marker.end))
    if len(letters_seen) < 2 or letters_seen[0].upper() != "A":
        return {}
    lead = _LABEL.sub("", caption[: segments[0][1]], count=1).strip(" ,;:")
    parts: dict[str, str] = {}
    for n, (letters, _start, end) in enumerate(segments):
        stop = segments[n + 1][1] if n + 1 < len(segments) else len(caption)
        text = _TRAILING_JOINER.sub("", caption[end:stop]).strip(" ,;:")
        for letter in letters:
            parts[letter] = f"{lead} {text}".strip() if lead else text
    return dict(sorted(parts.items()))


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    s = start
    for m in _SENTENCE_END.finditer(text, start, end):
        spans.append((s, m.end()))
        s = m.end()
    if s < end:
        spans.append((s, end))
    return spans


def panel_spans(caption: str) -> dict[str, list[tuple[int, int]]]:
    """Upper-case panel letter -> spans of the caption about it (several for inline markers)."""
    markers = _field_markers(caption)
    if not markers:
        return {}
    out: dict[str, list[tuple[int, int]]] = {}

    def add(letters: tuple[str, ...], s: int, e: int) -> None:
        while s < e and caption[s] in " ,;":
            s += 1
        while e > s and caption[e - 1] in " ,;":
            e -= 1
        if s < e:
            for letter in dict.fromkeys(letter.upper() for letter in letters):
                out.setdefault(letter, []).append((s, e))

    leading = [k for k in markers if k.leading]
    # Segments: from each leading marker to the next; before the first is shared text.
    bounds = [(k.start, k.letters) for k in leading]
    segments: list[tuple[int, int, tuple[str, ...]]] = [
        (0, bounds[0][0] if bounds else len(caption), ())
    ]
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


def shared_prefix(caption: str) -> tuple[int, int]:
    """The span before the first panel marker (words about every panel)."""
    markers = _field_markers(caption)
    first = markers[0] if markers else None
    if first is None:
        return (0, len(caption))
    if first.leading:
        return (0, first.start)
    s_start = max((m.end() for m in _SENTENCE_END.finditer(caption, 0, first.start)), default=0)
    return (0, s_start)
