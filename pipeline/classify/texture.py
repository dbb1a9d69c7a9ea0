"""Texture: what the neighbourhood of each pixel looks like, counted over the image.

Local binary patterns (Ojala et al. 2002), on a half-size copy of the working image (each
pixel the mean of 2x2: less of the print's noise, a quarter of the cost): each pixel's 8
neighbours at a distance of 1, 2 and 4 of its pixels (2, 4 and 8 working pixels, RADII) are
marked brighter than it (by at least TOLERANCE grey levels) or not;
the pattern of marks says what the pixel sits on: how many neighbours are brighter when
they form one run around it (a pixel beside a straight step sees three, one on a slope
four), or irregular when they form several. A pixel with no neighbour differing by more
than FLAT is flat. The share of each kind of pattern, at each distance, is a texture a
reviewer can read: a CT slice has bright spots (vessels) in black lungs and flat black
surroundings, a film soft slopes at every scale, a chart flat fills and straight edges, a
photo irregular speckle. The tolerance makes the patterns of a JPEG's noise count as flat,
and tints and colour maps are undone before (colour.py), so how a journal printed the image
changes the counts little. (Turning an image a quarter permutes the neighbours around the
run, so the counts do not change.)

An image too narrow for a radius (a strip of a few working pixels) takes the counts of the
largest radius that fits it, not a made-up "all flat" that would read as a chart's fill.
"""

from __future__ import annotations

import cv2
import numpy as np

RADII = (2, 4, 8)  # in working pixels; measured at half of each on the half-size copy
TOLERANCE = 3  # grey levels by which a neighbour must be brighter to count
FLAT = 2  # a pixel whose neighbours all lie within this many grey levels is flat
# The kinds of pattern, in histogram order: by the number of brighter neighbours when those
# form one run around the pixel (a "uniform" pattern), else irregular; flat apart.
KINDS = (
    ("peak", "a local peak (no neighbour brighter)"),
    ("one", "one neighbour brighter (beside a spot or a line's end)"),
    ("two", "two neighbours brighter (beside a corner)"),
    ("three", "three neighbours brighter in a row (beside a straight edge)"),
    ("four", "four neighbours brighter in a row (on a slope or a slanted edge)"),
    ("five", "five neighbours brighter (inside a corner)"),
    ("six", "six neighbours brighter (beside a dark line)"),
    ("seven", "seven neighbours brighter (a dark line's end)"),
    ("pit", "a local pit (all neighbours brighter)"),
    ("irregular", "brighter neighbours in several runs (speckle, noise, thin lines)"),
    ("flat", "flat"),
)
_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def _uniform_table() -> np.ndarray:
    """Pattern code (8 bits) -> kind index: the count of brighter neighbours when they form
    one run around the pixel, else `irregular` (9)."""
    table = np.empty(256, np.int64)
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]
        changes = sum(bits[i] != bits[(i + 1) % 8] for i in range(8))
        table[code] = sum(bits) if changes <= 2 else 9
    return table


_KIND_OF_CODE = _uniform_table()


def histogram(gray: np.ndarray, radius: int) -> np.ndarray | None:
    """Share of each kind of KINDS among the pixels at least `radius` from the border; None
    when the image has no such pixel."""
    g = gray.astype(np.int16)
    h, w = g.shape
    if h <= 2 * radius or w <= 2 * radius:
        return None
    centre = g[radius : h - radius, radius : w - radius]
    code = np.zeros(centre.shape, np.int64)
    flat = np.ones(centre.shape, bool)
    for bit, (dy, dx) in enumerate(_OFFSETS):
        y, x = radius + dy * radius, radius + dx * radius
        difference = g[y : y + h - 2 * radius, x : x + w - 2 * radius] - centre
        code |= (difference >= TOLERANCE).astype(np.int64) << bit
        flat &= np.abs(difference) <= FLAT
    kinds = np.where(flat, len(KINDS) - 1, _KIND_OF_CODE[code])
    return np.bincount(kinds.ravel(), minlength=len(KINDS)) / kinds.size


def texture(gray: np.ndarray) -> tuple[float, ...]:
    """The histograms of every radius in RADII, one after the other (a radius the image is
    too small for repeats the one before; an image too small for any is all flat)."""
    fallback = np.zeros(len(KINDS))
    fallback[-1] = 1.0
    found: list[np.ndarray] = []
    h, w = gray.shape
    half = cv2.resize(gray, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    for radius in RADII:
        shares = histogram(half, radius // 2)
        found.append(shares if shares is not None else (found[-1] if found else fallback))
    return tuple(float(v) for shares in found for v in shares)
