"""Find the panels of a compound figure along gutters; name each by its caption letter.

A gutter is a band of rows (or columns) of one flat colour, white or black, running the
whole width (or height) of the figure or of a piece already cut from it (recursive XY
cut). A figure is cut only when that yields 2 to 12 panels, each a real part of the
figure; panel letters come from the caption in reading order when the caption names as
many panels as were found, otherwise they are A, B, C... in reading order (guessed).
`pipeline/panels.py` applies this to the images of every kind of source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.pdf.caption_text import split_panel_captions
from pipeline.pdf.captions import reading_order

if TYPE_CHECKING:
    import numpy as np

MIN_SIDE = 160  # pixels: smaller images are not cut
MAX_PANELS = 12
_FLAT = 6.0  # standard deviation of a gutter row (0-255 scale)
_GUTTER = 0.012  # minimum gutter width, share of the side it cuts
_MIN_PANEL = 0.08  # minimum panel side, share of the figure's side
_ALIKE = 0.75  # smallest / largest panel side in a grid of alike panels
_WORK_SIDE = 700  # analyse a copy at most this large


@dataclass(frozen=True)
class PanelCut:
    """One panel of a compound figure: its box in the figure's pixels and its name."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1
    letter: str
    caption: str | None  # the caption's part for this panel, when the caption has parts
    guessed: bool  # the caption names no letters: A, B, C... in reading order


def plan_panels(pixels: np.ndarray, caption: str | None) -> list[PanelCut]:
    """The panels of a compound figure in reading order; [] when it is not cut."""
    boxes = find_panels(pixels)
    if len(boxes) < 2:
        return []
    parts = split_panel_captions(caption or "")
    letters = list(parts) if len(parts) == len(boxes) else []
    if not letters and not regular_grid(boxes):
        return []  # text blocks of a scanned page, a chart's legend: not panels
    order = reading_order([(x0, y0, x1, y1) for x0, y0, x1, y1 in boxes])
    cuts = []
    for position, box_index in enumerate(order):
        letter = letters[position] if letters else chr(ord("A") + position)
        cuts.append(PanelCut(boxes[box_index], letter, parts.get(letter), not letters))
    return cuts


def regular_grid(boxes: list[tuple[int, int, int, int]]) -> bool:
    """Panels of a compound figure are usually alike in size; blocks of a scanned page or
    parts of a diagram are not. Without a caption naming the panels, only a grid of
    similar panels is cut."""
    if len(boxes) > 9:
        return False
    widths = sorted(x1 - x0 for x0, _, x1, _ in boxes)
    heights = sorted(y1 - y0 for _, y0, _, y1 in boxes)
    return widths[0] >= _ALIKE * widths[-1] and heights[0] >= _ALIKE * heights[-1]


def find_panels(pixels: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Panel boxes (x0, y0, x1, y1) in pixels; [] when the image is not cut."""
    import cv2

    height, width = pixels.shape[:2]
    scale = min(1.0, _WORK_SIDE / max(height, width))
    if scale < 1.0:  # shrink first: converting the full-size image costs more than all else
        pixels = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
    h, w = small.shape
    # Slivers (a row of panel letters, a scale bar, a legend) are not panels.
    boxes = [
        (x0, y0, x1, y1)
        for x0, y0, x1, y1 in _xy_cut(small, (0, 0, w, h), 0, _background(small))
        if x1 - x0 >= _MIN_PANEL * w and y1 - y0 >= _MIN_PANEL * h
    ]
    if not 2 <= len(boxes) <= MAX_PANELS:
        return []
    return [
        (round(x0 / scale), round(y0 / scale), min(width, round(x1 / scale)),
         min(height, round(y1 / scale)))
        for x0, y0, x1, y1 in boxes
    ]  # fmt: skip


def _background(gray: np.ndarray) -> float:
    """The figure's background: the median of its outermost rows and columns."""
    import numpy as np

    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(np.median(border))


def _xy_cut(
    gray: np.ndarray, box: tuple[int, int, int, int], depth: int, background: float
) -> list[tuple[int, int, int, int]]:
    box = _trim(gray, box, background)
    x0, y0, x1, y1 = box
    if x1 - x0 < 8 or y1 - y0 < 8:
        return []
    if depth >= 4:
        return [box]
    full_h, full_w = gray.shape
    region = gray[y0:y1, x0:x1]
    for axis in (1, 0):  # columns first (side-by-side panels), then rows
        spans = _content_spans(region, axis, full_w if axis == 1 else full_h, background)
        if len(spans) < 2:
            continue
        pieces: list[tuple[int, int, int, int]] = []
        for start, stop in spans:
            child = (
                (x0 + start, y0, x0 + stop, y1) if axis == 1 else (x0, y0 + start, x1, y0 + stop)
            )
            pieces.extend(_xy_cut(gray, child, depth + 1, background))
        return pieces
    return [box]


def _flat_lines(region: np.ndarray, axis: int, background: float) -> np.ndarray:
    """Boolean per column (axis=1) or row (axis=0): flat, in the figure's background colour
    (so the black margin of a radiograph on a white figure is not a gutter)."""
    import numpy as np

    lines = region.T if axis == 1 else region
    mean = lines.mean(axis=1)
    flat = (lines.std(axis=1) < _FLAT) | (np.ptp(lines, axis=1) < 4)
    return flat & (np.abs(mean - background) < 24)


def _content_spans(
    region: np.ndarray, axis: int, full: int, background: float
) -> list[tuple[int, int]]:
    flat = _flat_lines(region, axis, background)
    min_gap = max(2, round(_GUTTER * full))
    spans: list[tuple[int, int]] = []
    start: int | None = None
    gap = 0
    for i, is_flat in enumerate(flat):
        if not is_flat:
            if start is None:
                start = i
            elif gap >= min_gap:
                spans.append((start, i - gap))
                start = i
            gap = 0
        else:
            gap += 1
    if start is not None:
        spans.append((start, len(flat) - gap))
    return spans


def _trim(
    gray: np.ndarray, box: tuple[int, int, int, int], background: float
) -> tuple[int, int, int, int]:
    """Shrink a box to its content, dropping flat margins."""
    import numpy as np

    x0, y0, x1, y1 = box
    region = gray[y0:y1, x0:x1]
    if region.size == 0:
        return box
    cols = np.flatnonzero(~_flat_lines(region, 1, background))
    rows = np.flatnonzero(~_flat_lines(region, 0, background))
    if cols.size == 0 or rows.size == 0:
        return (x0, y0, x0, y0)
    return (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)
