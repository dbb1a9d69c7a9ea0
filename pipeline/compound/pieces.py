"""Which pieces of a cut figure are pictures, and whether they make a set of panels.

A cut leaves pictures (radiographs, CT slices, photos, plots) and the rest: label rows
("(a) Normal"), letters in boxes, coloured row labels, slivers of a frame. The rest is mostly
one flat colour with thin strokes on it; a picture is not, or has areas of other colours.
Pictures make a set of panels when they are alike in size (a grid), or the caption names as
many panels, or three or more together fill most of the figure (an uneven grid: one large
panel beside two small ones); a diagram with a thumbnail in it is mostly none of these (its
blocks leave white around them), though one whose blocks fill it is cut like an uneven grid.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.compound.records import Box

DOMINANT_SHARE = 0.6  # a piece with less of its pixels in one grey band is a picture
SOLID_SHARE = 0.15  # else it needs this share of areas outside that band (not strokes)
_STROKE_KERNEL = np.ones((5, 5), np.uint8)  # strokes of text are thinner at the working scale
MIN_SHARE = 0.08  # a picture's side, at least this share of the figure's side
MIN_PIXELS = 20  # and at least this many working pixels
MAX_ASPECT = 4.0  # long side over short side: longer strips are label rows or rulers
ALIKE = 0.6  # smallest over largest width (and height) of a grid of alike panels
FILLED = 0.7  # share of the figure's content that pictures of an uneven grid fill
UNEVEN = 0.15  # smallest over largest panel area in an uneven grid
INSET = 0.1  # a picture under this share of the largest one's area is an inset (a scout view)
MAX_PANELS = 16  # more tiles than this is a mosaic, which curators do not take apart


def dominant_band(gray: np.ndarray) -> tuple[float, int]:
    """Share of the pixels in the most common band of 16 grey levels, and its lowest level."""
    hist = cv2.calcHist([np.ascontiguousarray(gray)], [0], None, [256], [0, 256]).ravel()
    bands = np.convolve(hist, np.ones(16), mode="valid")
    low = int(bands.argmax())
    return float(bands[low]) / max(1, gray.size), low


def solid_share(gray: np.ndarray, low: int) -> float:
    """Share of the piece covered by areas (not strokes) outside its dominant band: the
    lungs of a film printed mostly white are areas; the letters of a label are strokes."""
    outside = ((gray < low) | (gray >= low + 16)).astype(np.uint8)
    opened = cv2.morphologyEx(outside, cv2.MORPH_OPEN, _STROKE_KERNEL)
    return cv2.countNonZero(opened) / max(1, gray.size)


def is_picture(gray: np.ndarray, box: Box, figure_size: tuple[int, int]) -> bool:
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    fig_w, fig_h = figure_size
    if min(width, height) < MIN_PIXELS or max(width, height) > MAX_ASPECT * min(width, height):
        return False
    if width < MIN_SHARE * fig_w or height < MIN_SHARE * fig_h:
        return False
    piece = gray[y0:y1, x0:x1]
    share, low = dominant_band(piece)
    return share < DOMINANT_SHARE or solid_share(piece, low) >= SOLID_SHARE


def alike(boxes: list[Box]) -> bool:
    widths = [x1 - x0 for x0, _, x1, _ in boxes]
    heights = [y1 - y0 for _, y0, _, y1 in boxes]
    return min(widths) >= ALIKE * max(widths) and min(heights) >= ALIKE * max(heights)


def filled_share(boxes: list[Box], content: Box) -> float:
    """Share of the content box (the figure without its margins) that the boxes cover."""
    x0, y0, x1, y1 = content
    area = max(1, (x1 - x0) * (y1 - y0))
    return sum((bx1 - bx0) * (by1 - by0) for bx0, by0, bx1, by1 in boxes) / area


def make_a_set(boxes: list[Box], content: Box, named: int) -> bool:
    """Whether these pictures are the panels of one figure (`named`: how many panels the
    caption names for this image, 0 when it does not say)."""
    if not 2 <= len(boxes) <= MAX_PANELS:
        return False
    if alike(boxes):
        return True
    areas = [(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes]
    if len(boxes) == named:
        return min(areas) >= INSET * max(areas)
    if len(boxes) < 3:
        return False  # a small picture beside a large one: an input thumbnail in a diagram
    return min(areas) >= UNEVEN * max(areas) and filled_share(boxes, content) >= FILLED
