"""Colour before deciding: a radiograph printed in one hue or through a colour map is grey.

A chest film or CT slice is one intensity per pixel. Journals print it tinted (blue, purple,
sepia), through a colour map (viridis, magma, jet), with coloured marks drawn on it (red
circles, yellow arrows, green boxes) or under a heat map or segmentation mask. Deciding on
the raw colours calls all of these `other`; so colour is explained first:

- the colours of a monochrome image lie on one curve in colour space. Binned by lightness,
  each bin then has one chroma: the pixels off that curve are what is not monochrome.
  Lightness is the grey image (a tint or a perceptual map such as viridis keeps the order of
  intensities in lightness);
- jet and turbo run their hue round with a lightness that goes up and down: a pixel is
  looked up in a table of the map's colours, and the map position is the grey image;
- what stays off the curve is either thin (marks drawn on the image: they are masked and
  filled from their surroundings before any feature is measured) or a region: a heat map
  or mask blended over a radiograph (an overlay, with the image's detail under it), or the
  flat colour fills of a chart or logo.

All of this runs on the classifier's small working copy (long side 256).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

CHROMA_MIN = 10.0  # Lab a*b* distance from grey of a clearly coloured pixel (JPEG grey: < 4)
OFF_CURVE = 12.0  # chroma distance from its lightness bin's colour: not on the curve
MAP_MATCH = 24.0  # colour distance to the nearest colour-map entry that still matches
MAP_FIT_MIN = 0.9  # share of pixels a colour map must explain to be inverted
_MAPS = {"jet": cv2.COLORMAP_JET, "turbo": cv2.COLORMAP_TURBO}
_Q = 32  # colour-map lookup: levels per channel


@dataclass(frozen=True)
class Normalised:
    """The grey image to measure, and what the colours said."""

    gray: np.ndarray  # uint8, the working copy as one intensity per pixel
    rendering: str  # grey, one hue, colour map <name>, colour
    colour: float  # share of clearly coloured pixels
    off_curve: float  # share of pixels a monochrome rendering does not explain
    overlay: float  # share covered by regions of colour off the curve (heat map, mask, fill)
    colour_detail: float  # fine detail in the colours, against their spread (photos: high)
    flat_colour: float  # the part of `overlay` with no image detail under it (a chart's fills)
    marks: np.ndarray | None  # bool mask of thin coloured marks, filled before measuring


def normalise(gray: np.ndarray, bgr: np.ndarray | None) -> Normalised:
    """Explain the colours of a BGR working copy (gray: its plain grey conversion)."""
    if bgr is None:
        return Normalised(gray, "grey", 0.0, 0.0, 0.0, 0.0, 0.0, None)
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab)
    light = lab[:, :, 0]
    a = lab[:, :, 1].astype(np.float32) - 128.0
    b = lab[:, :, 2].astype(np.float32) - 128.0
    chroma = np.hypot(a, b)
    coloured = chroma > CHROMA_MIN
    colour = float(coloured.mean())
    if colour < 0.002:
        return Normalised(gray, "grey", colour, 0.0, 0.0, 0.0, 0.0, None)
    off = _off_lightness_curve(light, a, b)
    off_share = float(off.mean())
    rendering = "grey" if colour < 0.01 else "one hue" if _one_hue(a, b, coloured) else "colour"
    if rendering == "colour" and off_share < 0.05:
        rendering = "colour map"
    # lightness orders a tint or a perceptual map; a grey image keeps its own grey values
    base = gray if rendering == "grey" else light
    if off_share >= 0.2 and colour >= 0.5:
        mapped = _invert_colour_map(bgr, light, coloured)
        if mapped is not None:
            name, base, off = mapped
            off_share = float(off.mean())
            rendering = f"colour map {name}"
    if off_share == 0.0:
        detail = _colour_detail(a, b, None)
        return Normalised(base, rendering, colour, 0.0, 0.0, detail, 0.0, None)
    regions = cv2.morphologyEx(off.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    thin = off & (regions == 0)
    detail = _colour_detail(a, b, thin)
    overlay = float(np.mean(regions > 0))
    flat_colour = float(np.mean((regions > 0) & ~_textured(base)))
    marks = thin if thin.any() else None
    return Normalised(base, rendering, colour, off_share, overlay, detail, flat_colour, marks)


def _off_lightness_curve(light: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels whose chroma differs from the usual chroma of their lightness (8-level bins).

    The bin colours are estimated twice (on every second pixel), the second time without
    the pixels far off the first estimate, so marks and overlays do not pull the curve
    towards themselves.
    """
    bins = (light >> 3).ravel()
    av, bv = a.ravel(), b.ravel()
    limit = OFF_CURVE * OFF_CURVE
    sample = slice(None, None, 2)
    keep = np.ones(bins[sample].shape, bool)
    for _ in range(2):
        sb = bins[sample][keep]
        n = np.bincount(sb, minlength=32) + 1e-6
        mean_a = (np.bincount(sb, av[sample][keep], 32) / n).astype(np.float32)
        mean_b = (np.bincount(sb, bv[sample][keep], 32) / n).astype(np.float32)
        da, db = av[sample] - mean_a[bins[sample]], bv[sample] - mean_b[bins[sample]]
        keep = da * da + db * db < limit
    da, db = av - mean_a[bins], bv - mean_b[bins]
    return (da * da + db * db >= limit).reshape(light.shape)


def _one_hue(a: np.ndarray, b: np.ndarray, coloured: np.ndarray) -> bool:
    """The coloured pixels share one hue (within 25 degrees): a tint, not a colour map."""
    hue = np.degrees(np.arctan2(b[coloured], a[coloured]))
    centre = np.degrees(np.arctan2(np.sin(np.radians(hue)).mean(), np.cos(np.radians(hue)).mean()))
    spread = np.abs((hue - centre + 180.0) % 360.0 - 180.0)
    return float(np.percentile(spread, 90)) < 25.0


@cache
def _map_table(name: str) -> tuple[np.ndarray, np.ndarray]:
    """For each quantised BGR colour: the nearest position on the map and its distance."""
    lut = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[None], _MAPS[name])[0]
    lut = lut.astype(np.float32)
    levels = (np.arange(_Q, dtype=np.float32) + 0.5) * (256 / _Q)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    # squared distances as |g|^2 - 2 g.l + |l|^2: one matrix product, not a 32768 x 256 x 3
    # array (a first coloured image paid 0.35 s a map for it). Exact in float32: the levels
    # and the map's entries are whole numbers and every sum stays below 2^24.
    dist = (grid * grid).sum(1)[:, None] - 2.0 * (grid @ lut.T) + (lut * lut).sum(1)[None, :]
    nearest = dist.argmin(1)
    return nearest.astype(np.uint8), np.sqrt(np.maximum(dist[np.arange(len(grid)), nearest], 0.0))


def _invert_colour_map(bgr: np.ndarray, light: np.ndarray, coloured: np.ndarray):
    """(map name, grey, pixels it does not explain) for the best-fitting map, or None.

    Only the coloured pixels must lie on the map: white or black pixels (a label strip, a
    frame, burnt-in text) keep their lightness. Nor do thin lines of pixels off the map count
    against the fit: an image reduced in size blends the map's colours on either side of each
    sharp edge (dark blue lung and dark red bone make purple), which no map holds.
    """
    q = (bgr >> 3).astype(np.int32)  # 256 / _Q = 8
    index = (q[:, :, 0] * _Q + q[:, :, 1]) * _Q + q[:, :, 2]
    best = None
    for name in _MAPS:
        position, distance = _map_table(name)
        off = (distance[index] > MAP_MATCH) & coloured
        wide = cv2.morphologyEx(off.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        fit = 1.0 - float(np.count_nonzero(wide)) / max(1, int(coloured.sum()))
        if fit >= MAP_FIT_MIN and (best is None or fit > best[0]):
            grey = np.where(coloured, position[index], light).astype(np.uint8)
            best = (fit, name, grey, off)
    return None if best is None else best[1:]


def _colour_detail(a: np.ndarray, b: np.ndarray, marks: np.ndarray | None) -> float:
    """High-pass energy of the chroma over its variance, away from thin marks: a heat map or
    a tint varies slowly (near 0), the colours of a photo, chart or diagram change at object
    edges."""
    keep = np.ones(a.shape, bool)
    if marks is not None:
        keep = cv2.dilate(marks.astype(np.uint8), np.ones((7, 7), np.uint8)) == 0
    if keep.mean() < 0.5:
        return 0.0
    spread = float(a[keep].var() + b[keep].var())
    if spread < 1.0:
        return 0.0
    fine_a = (a - cv2.GaussianBlur(a, (0, 0), 2.0))[keep]
    fine_b = (b - cv2.GaussianBlur(b, (0, 0), 2.0))[keep]
    return float((fine_a**2).mean() + (fine_b**2).mean()) / spread


def _textured(gray: np.ndarray) -> np.ndarray:
    """Pixels with image detail around them (local std over 5x5 above 3 grey levels)."""
    g = gray.astype(np.float32)
    mean = cv2.blur(g, (5, 5))
    var = cv2.blur(g * g, (5, 5)) - mean * mean
    return var > 9.0
