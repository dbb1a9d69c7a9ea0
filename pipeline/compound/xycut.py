"""Recursive XY cut: split a region at its separators, then each piece again.

At each level the region is first trimmed of margins in the figure's background colour.
Gutters and thin lines are tried first, on the axis with the widest one: every one found on
it cuts. Only a region with none is tried for seams (abutting panels; see lines.seams), and
last for strong seams that leave unlike pieces, each a picture (an uneven abutting grid).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from pipeline.compound.lines import FLAT_SHARE, Separator, gutters, without_strokes
from pipeline.compound.pieces import MIN_PIXELS, MIN_SHARE, Box, is_picture
from pipeline.compound.seams import SeamSearch, seams, strong_seams

MAX_DEPTH = 6
UNLIKE_SEAM_PIECE = 0.25  # share of the region's length each piece of unlike seams needs
_BACKGROUND_DISTANCE = 24.0  # grey levels between a margin line and the figure's background
_BORDER_TOLERANCE = 12  # grey levels around the border's median that count as background
_BORDER_SHARE = 0.5  # share of the border in that band for the figure to have a background


@dataclass(frozen=True)
class Leaf:
    box: Box  # in the working copy
    found_by: tuple[str, ...]  # kinds of the separators that bound it ("gutter", ...)


def background(gray: np.ndarray) -> float | None:
    """The figure's background: the median of its outermost rows and columns, when most of
    them are of that colour; None when pictures run to the figure's edge."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]]).astype(np.int16)
    level = float(np.median(border))
    near = np.count_nonzero(np.abs(border - level) <= _BORDER_TOLERANCE)
    return level if near >= _BORDER_SHARE * border.size else None


class _Figure:
    def __init__(self, gray: np.ndarray, crossed: bool) -> None:
        self.gray = gray
        self.bg = background(gray)
        self.crossed = crossed

    @cached_property
    def unstroked(self) -> np.ndarray:
        """The figure without thin strokes (text across a gutter), made when first needed."""
        return without_strokes(self.gray)


def cut(gray: np.ndarray, *, crossed: bool = True) -> tuple[list[Leaf], Box]:
    """The leaves of the recursive cut and the figure's content box (without margins).
    `crossed`: also look for gutters that thin strokes cross (lines.gutters)."""
    h, w = gray.shape
    figure = _Figure(gray, crossed)
    content = _trim(gray, (0, 0, w, h), figure.bg)
    leaves: list[Leaf] = []
    _cut(figure, content, (), 0, leaves)
    return leaves, content


def _cut(figure: _Figure, box: Box, found_by: tuple[str, ...], depth: int, out: list[Leaf]) -> None:
    gray, bg = figure.gray, figure.bg
    box = _trim(gray, box, bg)
    x0, y0, x1, y1 = box
    h, w = gray.shape
    too_small = min(x1 - x0, y1 - y0) < MIN_PIXELS
    if too_small or x1 - x0 < MIN_SHARE * w or y1 - y0 < MIN_SHARE * h or depth >= MAX_DEPTH:
        if x1 > x0 and y1 > y0:
            out.append(Leaf(box, found_by))
        return
    region = gray[y0:y1, x0:x1]
    def unstroked() -> np.ndarray:
        return figure.unstroked[y0:y1, x0:x1]

    wiped = unstroked if figure.crossed else None
    axis, separators = _widest(gutters(region, 1, bg, wiped), gutters(region, 0, bg, wiped))
    if not separators:
        searches = {axis: strong_seams(region, axis) for axis in (1, 0)}
        axis, separators = _widest(seams(searches[1]), seams(searches[0]))
        if not separators:
            axis, separators = _unlike_seams(gray, box, searches)
    if not separators:
        out.append(Leaf(box, found_by))
        return
    for (start, stop), kinds in _pieces(separators, region.shape[axis]):
        child = (x0 + start, y0, x0 + stop, y1) if axis == 1 else (x0, y0 + start, x1, y0 + stop)
        _cut(figure, child, tuple(dict.fromkeys(found_by + kinds)), depth + 1, out)


def _unlike_seams(
    gray: np.ndarray, box: Box, searches: dict[int, SeamSearch]
) -> tuple[int, list[Separator]]:
    """Strong seams that leave pieces of unlike length (a large film abutting two stacked
    slices), kept only when every piece is a picture and none is a sliver: the black band
    beside a film in its frame, with a scout view and scanner text, is a sliver."""
    x0, y0, x1, y1 = box
    region = gray[y0:y1, x0:x1]
    size = (gray.shape[1], gray.shape[0])
    for axis in (1, 0):
        cuts = searches[axis].strong
        length = region.shape[axis]
        bounds = [0, *cuts, length]
        if not cuts or min(np.diff(bounds)) < UNLIKE_SEAM_PIECE * length:
            continue
        pieces = [
            (x0 + a, y0, x0 + b, y1) if axis == 1 else (x0, y0 + a, x1, y0 + b)
            for a, b in zip(bounds, bounds[1:], strict=False)
        ]
        if all(is_picture(gray, piece, size) for piece in pieces):
            return axis, [Separator(c, c, "seam") for c in cuts]
    return 1, []


def _widest(columns: list[Separator], rows: list[Separator]) -> tuple[int, list[Separator]]:
    """The axis to cut first: the one with the widest separator (a coincidence of bright
    bands in panels of two rows can run down the whole figure, but not as wide as the gutter
    between the rows); columns when equal."""
    widest = {axis: max((s.stop - s.start for s in seps), default=-1)
              for axis, seps in ((1, columns), (0, rows))}  # fmt: skip
    return (1, columns) if widest[1] >= widest[0] else (0, rows)


def _pieces(
    separators: list[Separator], length: int
) -> list[tuple[tuple[int, int], tuple[str, ...]]]:
    """Spans between separators, each with the kinds of the separators beside it."""
    out = []
    start, before = 0, None
    for sep in [*separators, None]:
        stop = sep.start if sep is not None else length
        kinds = tuple(s.kind for s in (before, sep) if s is not None)
        if stop > start:
            out.append(((start, stop), kinds))
        if sep is not None:
            start, before = sep.stop, sep
    return out


def _trim(gray: np.ndarray, box: Box, bg: float | None) -> Box:
    """Shrink a box to its content, dropping margin lines: lines in the background colour
    (as flat as a gutter line, FLAT_SHARE of them within _BACKGROUND_DISTANCE of it)."""
    x0, y0, x1, y1 = box
    region = gray[y0:y1, x0:x1]
    if region.size == 0 or bg is None:
        return box
    near = np.abs(region.astype(np.int16) - round(bg)) < _BACKGROUND_DISTANCE
    cols = np.flatnonzero(np.count_nonzero(near, axis=0) < FLAT_SHARE * region.shape[0])
    rows = np.flatnonzero(np.count_nonzero(near, axis=1) < FLAT_SHARE * region.shape[1])
    if cols.size == 0 or rows.size == 0:
        return (x0, y0, x0, y0)
    return (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)
