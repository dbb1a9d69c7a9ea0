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


def stroke_mask(gray: np.ndarray) -> np.ndarray:
    """Thin, saturated strokes much brighter or darker than their surroundings."""
    bright = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, _KERNEL)
    dark = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, _KERNEL)
    return ((bright >= STROKE_CONTRAST) & (gray >= BRIGHT_MIN)) | (
        (dark >= STROKE_CONTRAST) & (gray <= DARK_MAX)
    )


def remove_marks(gray: np.ndarray, coloured: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """(the image with marks filled from their surroundings, share of pixels masked)."""
    mask = stroke_mask(gray)
    if coloured is not None:
        mask |= coloured
    share = float(mask.mean())
    if share == 0.0:
        return gray, 0.0
    mask = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    out = gray.copy()
    out[mask] = cv2.medianBlur(gray, 7)[mask]
    return out, share
