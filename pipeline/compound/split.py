"""Cut one figure into its panels and name each by the caption.

The figure is analysed on a grey copy at most WORK_SIDE pixels long: a recursive XY cut at
gutters, thin lines and seams (xycut.py), then the pieces that are pictures (pieces.py) are
the panels if they make a set. When the caption names several panels and the figure is one
picture, a grid of that many cells is looked for along faint seams (the caption as a hint);
when it names more panels than there are pictures, a picture spanning the cells of a row of
other pictures is cut where the gaps between them run, at a gutter or a faint seam.
Letters come from the caption in reading order when it names as many panels as were found;
otherwise they are A, B, C... and flagged as guessed.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.compound import CROSSED_MIN_SIDE, MIN_SIDE
from pipeline.compound.lines import Separator, gutters_near
from pipeline.compound.pieces import is_picture, make_a_set
from pipeline.compound.records import Box, FigureSplit, Panel
from pipeline.compound.seams import even_seams, grid_slack, seams_near
from pipeline.compound.xycut import Leaf, background, cut
from pipeline.pdf.caption_text import split_panel_captions
from pipeline.pdf.captions import reading_order

WORK_SIDE = 800  # analyse a copy at most this large
MAX_CELL_ASPECT = 2.0  # a grid the caption implies has cells no longer than this
SPAN_SLACK = 0.05  # share of a picture's length the row of others may miss its ends by
GUTTER_SHARE = 0.1  # the widest gap between two panels of that row, a share of the picture


def working_copy(pixels: np.ndarray) -> tuple[np.ndarray, float]:
    """A grey uint8 copy at most WORK_SIDE long, and its scale."""
    if pixels.dtype != np.uint8:
        pixels = cv2.normalize(pixels, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if pixels.ndim == 3:  # grey first: shrinking three channels costs four times more
        code = cv2.COLOR_BGRA2GRAY if pixels.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        pixels = cv2.cvtColor(pixels, code)
    height, width = pixels.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    if scale < 1.0:
        pixels = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return pixels, scale


def split_figure(
    pixels: np.ndarray, caption: str | None = None, *, named: int | None = None
) -> FigureSplit:
    """The figure's panels in reading order.

    `caption` is the figure's caption when this image holds the whole figure: its panel
    letters and their parts go to the panels. `named` overrides how many panels the caption
    names (0: unknown).
    """
    height, width = pixels.shape[:2]
    if min(height, width) < MIN_SIDE:
        return FigureSplit(width, height, reason=f"smaller than {MIN_SIDE} px")
    gray, scale = working_copy(pixels)
    leaves, content = cut(gray, crossed=min(height, width) >= CROSSED_MIN_SIDE)
    size = (gray.shape[1], gray.shape[0])
    pictures = [leaf for leaf in leaves if is_picture(gray, leaf.box, size)]
    parts = split_panel_captions(caption or "")
    if named is None:
        named = len(parts)
    if named >= 2 and len(pictures) == 1:
        pictures = _grid_the_caption_names(gray, pictures[0], named) or pictures
    elif named > len(pictures) >= 2:
        pictures = _cells_the_others_imply(gray, pictures, named)
    boxes = [leaf.box for leaf in pictures]
    if not make_a_set(boxes, content, named):
        reason = (
            f"{len(pictures)} picture(s) among {len(leaves)} pieces, not a set of panels"
            + (f" (the caption names {named})" if named else "")
        )
        return FigureSplit(width, height, reason=reason)
    letters = list(parts) if len(parts) == len(pictures) else []
    panels = []
    for position, i in enumerate(reading_order([tuple(map(float, b)) for b in boxes])):
        letter = letters[position] if letters else chr(ord("A") + position)
        panels.append(
            Panel(
                box=_full_size(boxes[i], scale, width, height),
                letter=letter,
                caption=parts.get(letter) if letters else None,
                found_by=pictures[i].found_by,
                guessed=not letters,
            )  # fmt: skip
        )
    kinds = sorted({kind for panel in panels for kind in panel.found_by})
    return FigureSplit(width, height, tuple(panels), f"cut at {', '.join(kinds)}")


def _grid_the_caption_names(gray: np.ndarray, picture: Leaf, named: int) -> list[Leaf]:
    """The caption names `named` panels but the figure is one picture: panels abutting with
    little to tell them apart (two films of one patient). Try the grids of that many cells
    whose cells are shaped like panels (the squarest first), each boundary a faint seam
    where the grid puts it, each cell a picture."""
    x0, y0, x1, y1 = picture.box
    region = gray[y0:y1, x0:x1]
    height, width = region.shape
    shapes = [(rows, named // rows) for rows in range(1, named + 1) if named % rows == 0]
    shapes.sort(key=lambda shape: abs(np.log((width / shape[1]) / (height / shape[0]))))
    size = (gray.shape[1], gray.shape[0])
    for rows, cols in shapes:
        cell_aspect = (width / cols) / (height / rows)
        if not 1 / MAX_CELL_ASPECT <= cell_aspect <= MAX_CELL_ASPECT:
            continue
        across = even_seams(region, 1, cols) if cols > 1 else []
        down = even_seams(region, 0, rows) if rows > 1 else []
        if len(across) != cols - 1 or len(down) != rows - 1:
            continue
        xs = [0, *(s.start for s in across), width]
        ys = [0, *(s.start for s in down), height]
        cells = [
            Leaf((x0 + xa, y0 + ya, x0 + xb, y0 + yb), (*picture.found_by, "seam", "caption"))
            for ya, yb in zip(ys, ys[1:], strict=False)
            for xa, xb in zip(xs, xs[1:], strict=False)
        ]
        if all(is_picture(gray, cell.box, size) for cell in cells):
            return cells
    return []


def _cells_the_others_imply(gray: np.ndarray, pictures: list[Leaf], named: int) -> list[Leaf]:
    """The caption names more panels than were found, and a picture spans the cells of a row
    (or column) of other pictures (two abutting panels a resampled copy blurred together, or
    two slices whose white body runs into the gutter between them): cut it where the gaps
    between those pictures run, when each has a separator there, and only as far as the
    caption has panels left to find."""
    size = (gray.shape[1], gray.shape[0])
    bg = background(gray)
    out: list[Leaf] = []
    missing = named - len(pictures)
    for leaf in pictures:
        others = [other.box for other in pictures if other is not leaf]
        pieces = [leaf]
        for axis in (1, 0):
            pieces = [
                cell
                for piece in pieces
                for cell in _cut_at(gray, piece, axis, _grid_gaps(piece.box, others, axis), bg)
            ]
        if 1 < len(pieces) <= missing + 1 and all(is_picture(gray, p.box, size) for p in pieces):
            missing -= len(pieces) - 1
            out += pieces
        else:
            out.append(leaf)  # more cells than the caption has panels left, or not pictures
    return out


def _grid_gaps(box: Box, others: list[Box], axis: int) -> list[tuple[int, int]]:
    """The gaps (start, stop, as offsets into the box along `axis`) between other pictures
    that lie side by side in one row (or column) across the box's whole span: the grid lines
    that run through it. [] when no such row spans it (one picture's edge alone is no grid
    line: a film's bright edge can end its box short of its cell)."""
    def span(b: Box) -> tuple[int, int]:
        return (b[0], b[2]) if axis == 1 else (b[1], b[3])

    start, stop = span(box)
    tolerance = SPAN_SLACK * (stop - start)
    inside = [o for o in others if start - tolerance <= span(o)[0] < span(o)[1] <= stop + tolerance]
    for first in inside:
        row = sorted((o for o in inside if _overlap_across(first, o, axis) >= 0.5), key=span)
        if len(row) < 2 or abs(span(row[0])[0] - start) > tolerance:
            continue
        if abs(span(row[-1])[1] - stop) > tolerance:
            continue
        pairs = zip(row, row[1:], strict=False)
        gaps = [(span(a)[1] - start, span(b)[0] - start) for a, b in pairs]
        if all(-tolerance <= b - a <= GUTTER_SHARE * (stop - start) for a, b in gaps):
            return gaps
    return []


def _overlap_across(a: Box, b: Box, axis: int) -> float:
    """How much two boxes overlap across `axis` (rows for a vertical line), over the shorter."""
    a0, a1, b0, b1 = (a[1], a[3], b[1], b[3]) if axis == 1 else (a[0], a[2], b[0], b[2])
    return max(0, min(a1, b1) - max(a0, b0)) / max(1, min(a1 - a0, b1 - b0))


def _cut_at(
    gray: np.ndarray, leaf: Leaf, axis: int, gaps: list[tuple[int, int]], bg: float | None
) -> list[Leaf]:
    """The leaf cut at each of these gaps of the grid: at a gutter in the background colour
    where the grid has a gutter, else at a faint seam; the leaf whole unless every gap has
    one (a cell left holding two panels would take the wrong letter)."""
    x0, y0, x1, y1 = leaf.box
    region = gray[y0:y1, x0:x1]
    length = region.shape[axis]
    found = gutters_near(region, axis, gaps, bg, grid_slack(length))
    unseparated = [round((a + b) / 2) for (a, b), gutter in zip(gaps, found, strict=True)
                   if gutter is None]  # fmt: skip
    seam_cuts = iter(seams_near(region, axis, unseparated) if unseparated else [])
    separators: list[Separator] = []
    for gutter in found:
        cut = gutter.start if gutter is not None else next(seam_cuts)
        if cut is None:
            return [leaf]
        separator = gutter or Separator(cut, cut, "seam")
        if any(separator.start < s.stop + 1 and s.start < separator.stop + 1
               for s in separators):  # fmt: skip
            return [leaf]
        separators.append(separator)
    if not separators:
        return [leaf]
    separators.sort(key=lambda s: s.start)
    bounds = [(0, separators[0].start)]
    bounds += [(a.stop, b.start) for a, b in zip(separators, separators[1:], strict=False)]
    bounds += [(separators[-1].stop, length)]
    if not all(b > a for a, b in bounds):
        return [leaf]
    found_by = tuple(dict.fromkeys((*leaf.found_by, *(s.kind for s in separators), "caption")))
    return [
        Leaf((x0 + a, y0, x0 + b, y1) if axis == 1 else (x0, y0 + a, x1, y0 + b), found_by)
        for a, b in bounds
    ]


def _full_size(box: Box, scale: float, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    return (
        max(0, int(x0 / scale)), max(0, int(y0 / scale)),
        min(width, round(x1 / scale)), min(height, round(y1 / scale)),
    )  # fmt: skip
