"""Marks drawn on a figure (text, arrows, numbers, box and circle outlines) are not anatomy.

Burnt-in marks are thin and high in contrast: white or black strokes far brighter or darker
than what lies a few pixels around them, or coloured strokes off the image's colour curve
(see colour.py). They are masked and filled with the median of their surroundings before
any feature is measured, so an annotated radiograph measures like the plain one. Ribs,
vessels and CT detail are thin too but much lower in contrast against their surroundings,
and they are not saturated.
"""

from __future__ import annotations

import cv2
import numpy as np

STROKE_CONTRAST = 70  # grey levels above (or below) the 5x5 opening (closing)
BRIGHT_MIN = 215  # a white mark is near white...
DARK_MAX = 40  # ... a black one near black
_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))


def remove_marks(gray: np.ndarray, coloured: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """(the image with marks filled from their surroundings, share of pixels masked).

    A white stroke takes the value of the image opened (its surroundings without it), a
    black one of the image closed; a coloured mark the median of its 5x5 neighbourhood."""
    opened = cv2.morphologyEx(gray, cv2.MORPH_OPEN, _KERNEL)
    closed = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, _KERNEL)
    bright = (gray.astype(np.int16) - opened >= STROKE_CONTRAST) & (gray >= BRIGHT_MIN)
    dark = (closed.astype(np.int16) - gray >= STROKE_CONTRAST) & (gray <= DARK_MAX)
    marks = bright | dark if coloured is None else bright | dark | coloured
    share = float(marks.mean())
    if share == 0.0:
        return gray, 0.0
    grow = np.ones((3, 3), np.uint8)
    out = gray.copy()
    if coloured is not None:
        mask = cv2.dilate(coloured.astype(np.uint8), grow) > 0
        out[mask] = cv2.medianBlur(gray, 5)[mask]
    for strokes, fill in ((bright, opened), (dark, closed)):
        if strokes.any():
            mask = cv2.dilate(strokes.astype(np.uint8), grow) > 0
            out[mask] = fill[mask]
    return out, share
