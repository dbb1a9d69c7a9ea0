"""Caption text: how a figure caption starts, and the part of it about each panel."""

from __future__ import annotations

import re

# "Figure 2." "Fig. 2:" "FIG 2 Chest" "Figure S3 |" "Supplementary Figure 1." -- but not
# body text such as "Figure 2 shows ...".
CAPTION_START = re.compile(
    r"^\s*(?:supplementa(?:l|ry)\s+)?(?:figure|fig\.?)\s*(?P<number>S?\d+[A-Za-z]?)"
    r"(?:\s*[.:|\u2014\u2013-]|\s+(?=(?-i:[A-Z(\[]))|\s*$)",
    re.I,
)

_LETTERS = r"[A-Ha-h]"
_JOINER = r"\s*(?:,|and|&|-|\u2013|\u2014|to)\s*"
_MARKERS = [
    # (A) (a) (A, B) (A and B) (A-C)
    re.compile(rf"\((?P<letters>{_LETTERS}(?:{_JOINER}{_LETTERS})*)\)"),
    # a) A) at the start or after punctuation / space
    re.compile(rf"(?:(?<=^)|(?<=[\s;.,:]))(?P<letters>{_LETTERS})\)"),
    # A. / A: / a, at the start of a sentence
    re.compile(r"(?:(?<=^)|(?<=[.;:]\s))(?P<letters>[A-H])[.:]\s"),
]
_TRAILING_JOINER = re.compile(r"[\s,;:]*\b(?:and|or)\s*$")
_LABEL = re.compile(CAPTION_START.pattern + r"\s*", re.I)


def _expand(letters: str) -> list[str]:
    found = re.findall(rf"(?<![A-Za-z]){_LETTERS}(?![A-Za-z])|-|\u2013|\u2014|\bto\b", letters)
    out: list[str] = []
    i = 0
    while i < len(found):
        token = found[i]
        if token in ("-", "\u2013", "\u2014", "to") and out and i + 1 < len(found):
            start, end = out[-1], found[i + 1]
            out.extend(chr(c) for c in range(ord(start) + 1, ord(end) + 1))
            i += 2
            continue
        if token not in ("-", "\u2013", "\u2014", "to"):
            out.append(token)
        i += 1
    return out


def split_panel_captions(caption: str) -> dict[str, str]:
    """Panel letter -> the caption's text about that panel (with the shared lead-in).

    "Figure 1. A 65-year-old man. (A) Day 1 radiograph. (B) CT on day 5." gives
    {"A": "A 65-year-old man. Day 1 radiograph.", "B": "A 65-year-old man. CT on day 5."}.
    An empty dict when the caption names fewer than two panels.
    """
    for marker in _MARKERS:
        matches = list(marker.finditer(caption))
        letters_seen: list[str] = []
        segments: list[tuple[list[str], int, int]] = []
        for match in matches:
            letters = _expand(match.group("letters"))
            if not letters or any(letter in letters_seen for letter in letters):
                continue
            letters_seen.extend(letters)
            segments.append((letters, match.start(), match.end()))
        if len(letters_seen) < 2 or letters_seen[0].upper() != "A":
            continue
        lead = _LABEL.sub("", caption[: segments[0][1]], count=1).strip(" ,;:")
        parts: dict[str, str] = {}
        for n, (letters, _start, end) in enumerate(segments):
            stop = segments[n + 1][1] if n + 1 < len(segments) else len(caption)
            text = _TRAILING_JOINER.sub("", caption[end:stop]).strip(" ,;:")
            for letter in letters:
                parts[letter] = f"{lead} {text}".strip() if lead else text
        return dict(sorted(parts.items()))
    return {}
