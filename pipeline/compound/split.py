"""Cut one figure into its panels and name each by the caption.

The figure is analysed on a grey copy at most WORK_SIDE pixels long: a recursive XY cut at
gutters, thin lines and seams (xycut.py), then the pieces that are pictures (pieces.py) are
the panels if they make a set. When the caption names several panels and the figure is one
picture, a grid of that many cells is looked for along faint seams (the caption as a hint);
when it names more panels than there are pictures, a picture spanning cells of the grid the
others make is cut where a faint seam runs on that grid's line.
Letters come from the caption in reading order when it names as many panels as were found;
otherwise they are A, B, C... and flagged as guessed.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.compound import CROSSED_MIN_SIDE, MIN_SIDE
from pipeline.compound.lines import Separator, gutter_near
from pipeline.compound.pieces import is_picture, make_a_set
from pipeline.compound.records import Box, FigureSplit, Panel
from pipeline.compound.seams import even_seams, grid_slack, seam_near
from pipeline.compound.xycut import Leaf, background, cut
from pipeline.pdf.caption_text import split_panel_captions
from pipeline.pdf.captions import reading_order

WORK_SIDE = 800  # analyse a copy at most this large
MAX_CELL_ASPECT = 2.0  # a grid the caption implies has cells no longer than this
MIN_CELL_SHARE = 0.25  # a grid line inside a picture leaves at least this share either side
GUTTER_SHARE = 0.1  # the widest gap between two panels of a grid, a share of the figure


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
    """The caption names more panels than were found, and a picture spans cells of the grid
    the other pictures make (two abutting panels a resampled copy blurred together, or two
    slices whose white body runs into the gutter between them): cut it along each grid line
    inside it where a gutter in the background colour or a faint seam lies, while the
    caption has panels left to find."""
    size = (gray.shape[1], gray.shape[0])
    bg = background(gray)
    out: list[Leaf] = []
    missing = named - len(pictures)
    for leaf in pictures:
        others = [other.box for other in pictures if other is not leaf]
        pieces = [leaf]
        for axis in (1, 0):
            cut_pieces = []
            for piece in pieces:
                lines = _grid_lines_inside(piece.box, others, axis, size[1 - axis])
                cells = _cut_at(gray, piece, axis, lines, size, bg) if missing > 0 else [piece]
                if len(cells) - 1 > missing:
                    cells = [piece]  # more cells than the caption has panels left
                missing -= len(cells) - 1
                cut_pieces += cells
            pieces = cut_pieces
        out += pieces
    return out


def _grid_lines_inside(box: Box, others: list[Box], axis: int, figure_length: int) -> list[int]:
    """Where the grid the other pictures make runs through this box along `axis`, as offsets
    into it, well away from its ends: the middle of each gap between two other pictures side
    by side in one row (or column), abutting or a gutter apart. One picture's edge alone is
    no grid line (a film's bright edge can end its box short of the cell)."""
    start, stop = (box[0], box[2]) if axis == 1 else (box[1], box[3])
    length = stop - start
    widest_gap = GUTTER_SHARE * figure_length
    lines = set()
    for a in others:
        for b in others:
            a0, a1, b0, b1 = (a[0], a[2], b[0], b[2]) if axis == 1 else (a[1], a[3], b[1], b[3])
            gap = b0 - a1
            if a is b or not -grid_slack(length) <= gap <= widest_gap:
                continue
            if _overlap_across(a, b, axis) >= 0.5:
                lines.add(round((a1 + b0) / 2) - start)
    inside: list[int] = []
    for offset in sorted(lines):
        inner = MIN_CELL_SHARE * length <= offset <= (1 - MIN_CELL_SHARE) * length
        if inner and (not inside or offset - inside[-1] > MIN_CELL_SHARE * length):
            inside.append(offset)
    return inside


def _overlap_across(a: Box, b: Box, axis: int) -> float:
    """How much two boxes overlap across `axis` (rows for a vertical line), over the shorter."""
    a0, a1, b0, b1 = (a[1], a[3], b[1], b[3]) if axis == 1 else (a[0], a[2], b[0], b[2])
    return max(0, min(a1, b1) - max(a0, b0)) / max(1, min(a1 - a0, b1 - b0))


def _cut_at(
    gray: np.ndarray,
    leaf: Leaf,
    axis: int,
    lines: list[int],
    size: tuple[int, int],
    bg: float | None,
) -> list[Leaf]:
    """The leaf cut at a gutter or a faint seam near each of these lines, if every line has
    one and every piece is a picture; else the leaf whole (a cell of the grid left holding
    two panels would take the wrong letter)."""
    x0, y0, x1, y1 = leaf.box
    region = gray[y0:y1, x0:x1]
    length = region.shape[axis]
    separators: list[Separator] = []
    for line in lines:
        found = gutter_near(region, axis, line, bg, grid_slack(length))
        if found is None:
            seam = seam_near(region, axis, line)
            found = None if seam is None else Separator(seam, seam, "seam")
        if found is None or any(found.start < s.stop + 1 and s.start < found.stop + 1
                                for s in separators):  # fmt: skip
            return [leaf]
        separators.append(found)
    if not separators:
        return [leaf]
    separators.sort(key=lambda s: s.start)
    bounds = [(0, separators[0].start)]
    bounds += [(a.stop, b.start) for a, b in zip(separators, separators[1:], strict=False)]
    bounds += [(separators[-1].stop, length)]
    boxes = [
        (x0 + a, y0, x0 + b, y1) if axis == 1 else (x0, y0 + a, x1, y0 + b) for a, b in bounds
    ]
    if not all(b > a for a, b in bounds) or not all(is_picture(gray, b, size) for b in boxes):
        return [leaf]
    found_by = tuple(dict.fromkeys((*leaf.found_by, *(s.kind for s in separators), "caption")))
    return [Leaf(box, found_by) for box in boxes]


def _full_size(box: Box, scale: float, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    return (
        max(0, int(x0 / scale)), max(0, int(y0 / scale)),
        min(width, round(x1 / scale)), min(height, round(y1 / scale)),
    )  # fmt: skip
