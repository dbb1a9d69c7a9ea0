"""Interpretable measurements of one image, the inputs of the rules.

Everything is measured on a small copy (long side WORK_SIDE) so the cost per image is
a few milliseconds whatever the input size. Fractions are of the image area unless a
name says otherwise; intensities are 0..255; profile contrasts are divided by the
5-95 percentile range so they do not depend on windowing.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.classify.colour import normalise
from pipeline.classify.decode import shrunk
from pipeline.classify.marks import remove_marks
from pipeline.classify.texture import texture

WORK_SIDE = 256
PAPER_WHITE = 235  # grey level of the white page a picture is pasted on
PAPER_BLACK = 30  # and of a black one: a viewer's screen, a slide, the air around a body
PAPER_MIN_SHARE = 0.05  # less page than this: no page around the picture
PICTURE_MIN_SHARE = 0.25  # a smaller largest shape is a drawing's part, not its picture
PICTURE_MAX_SHARE = 0.97  # the picture already fills the image
OUTSIDE_PAGE = 0.85  # share of what lies outside the picture that is page
_STROKE = np.ones((5, 5), np.uint8)  # thinner than this (working pixels): text, ticks, lines


@dataclass(frozen=True)
class Features:
    width: int  # of the decoded image (large JPEGs are decoded reduced)
    height: int
    aspect: float  # width / height, after cutting uniform margins
    colour: float  # fraction of clearly coloured pixels (Lab chroma above CHROMA_MIN)
    off_curve: float  # fraction a monochrome rendering (tint, colour map) does not explain
    overlay: float  # fraction under regions of colour off the curve (heat map, mask, fills)
    marks: float  # fraction masked as burnt-in marks (text, arrows, outlines) and filled
    colour_detail: float  # high-pass chroma energy / chroma variance (photos high, maps low)
    flat_colour: float  # off-curve colour regions with no image detail under them (fills)
    white: float  # fraction of near-white pixels (>= 240)
    black: float  # fraction of near-black pixels (<= 15)
    border_white: float  # fraction of the outer ring that is near white
    dark_corners: int  # corners (of 4) whose patch is dark (mean < 40)
    otsu_sep: float  # Otsu between-class variance / total variance (1 = two clean modes)
    lung_frac: float  # area of the two largest enclosed dark regions (not touching border)
    lung_pair: bool  # those two regions sit side by side at similar height and size
    centre_bright: float  # column profile: centre minus the two lung columns
    bottom_bright: float  # row profile: bottom fifth minus the middle band
    body_touch_bottom: float  # fraction of the bottom row that is body (not dark)
    edges: float  # fraction of Canny edge pixels
    grad_vertical: float  # share of gradient energy along y (horizontal edges: ribs)
    fine_texture: float  # mean |Laplacian| inside the dark class / image std
    flat_any: float  # share of pixels in perfectly flat 5x5 neighbourhoods, any grey
    flat_mid: float  # share in near-flat 5x5 neighbourhoods (range <= 2) of mid grey (fills)
    detail: float  # std of (image - its blur, sigma 2) / image std: fur, wood, print
    symmetry: float  # correlation of the 64x64 copy with its mirror image (left-right)
    dark_level: float  # mean grey of the Otsu dark class, 0..1 (CT lungs in a lung window ~0.15)
    dark_spots: float  # share of the dark class that is small bright spots (CT vessels)
    levels: float  # entropy of the grey histogram, bits (charts use few levels, films many)

    # centre_bright and grad_vertical of the picture a white page holds (_on_paper), past a
    # title or tick numbers the trim stops at; the same as those two when there is no page
    view_column: float
    view_horizontal: float

    rendering: str = "grey"  # grey, one hue, colour map [name], colour
    texture: tuple[float, ...] = ()  # shares of local patterns per radius (texture.py)
    # the picture a white page (_on_paper) or else a black one (_on_screen) holds, as
    # (left, top, right, bottom) fractions of the image; None when no page is around one
    picture: tuple[float, float, float, float] | None = None


def _work_copy(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(gray, bgr or None) resized so the long side is at most WORK_SIDE."""
    image = shrunk(image, WORK_SIDE, min_side=8)
    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), image
    return image, None


def _on_paper(gray: np.ndarray) -> tuple[slice, slice] | None:
    """The box (rows, columns) of the picture a white page holds: a film or slice with a
    title, tick numbers or a label beside it. None when there is no white page around one."""
    return _on_page(gray, gray >= PAPER_WHITE)


def _on_screen(gray: np.ndarray) -> tuple[slice, slice] | None:
    """The box of the picture a black page holds: a slice on a viewer's screen with its
    scout view and scanner text beside it, a film on a black slide. Any dark ground counts
    as page, so an ordinary slice or film gets a box too (its body, inside the black air or
    border): the retry then reads that crop, which measured no harm. Only the retry reads
    it: the view rule's thresholds were set on films as they come, with their borders."""
    return _on_page(gray, gray <= PAPER_BLACK)


def _on_page(gray: np.ndarray, page: np.ndarray) -> tuple[slice, slice] | None:
    """The bounding box of the largest connected shape off the page (`page`: its pixels),
    when what lies outside that box is nearly all page (labels beside the picture, not
    touching it). A title row or a column of tick numbers blocks the row-by-row trim
    (_trim_margins); this finds the picture past them. None when the page is too small, or
    when the box would be nearly the whole image or a small part of it."""
    h, w = gray.shape
    if page.mean() < PAPER_MIN_SHARE:
        return None
    # strokes (text, tick marks, frame lines) opened away: they would join the labels
    # beside a picture to it
    shapes = cv2.morphologyEx((~page).astype(np.uint8), cv2.MORPH_OPEN, _STROKE)
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(shapes, connectivity=8)
    if n <= 1:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, bw, bh = (int(v) for v in stats[largest, :4])
    if bw * bh >= PICTURE_MAX_SHARE * h * w or bw * bh < PICTURE_MIN_SHARE * h * w:
        return None
    outside = page.copy()
    outside[y : y + bh, x : x + bw] = True
    outside_page = (float(outside.sum()) - bw * bh) / (h * w - bw * bh)
    if outside_page < OUTSIDE_PAGE:
        return None
    return slice(y, y + bh), slice(x, x + bw)


def _trim_margins(gray: np.ndarray, tol: int = 10) -> np.ndarray:
    """Cut page margins off every side: uniform rows and columns (a white page, a black
    frame) and near-white ones holding only a label or tick numbers (a label strip, plotting
    axes). At most a third of each dimension is cut from one side.

    A figure pasted on a white page, framed, or drawn inside axes must measure like the
    image it holds.
    """
    h, w = gray.shape
    white = gray >= 235
    row_flat = ((gray.max(axis=1).astype(np.int16) - gray.min(axis=1)) <= tol) | (
        white.mean(axis=1) >= 0.9
    )
    col_flat = ((gray.max(axis=0).astype(np.int16) - gray.min(axis=0)) <= tol) | (
        white.mean(axis=0) >= 0.9
    )

    def run(flags: np.ndarray, limit: int) -> int:
        n = 0
        while n < limit and flags[n]:
            n += 1
        return n

    top, bottom = run(row_flat, h // 3), run(row_flat[::-1], h // 3)
    left, right = run(col_flat, w // 3), run(col_flat[::-1], w // 3)
    if top + bottom + left + right == 0:
        return gray
    # one more line on a cut side: resizing blends the margin into the first image line
    top, bottom, left, right = (n + 2 if n else 0 for n in (top, bottom, left, right))
    if top + bottom >= h - 8 or left + right >= w - 8:
        return gray
    return gray[top : h - bottom, left : w - right]


def _lungs(dark: np.ndarray) -> tuple[float, bool]:
    """Area of the two largest dark regions that do not touch the border; side by side?"""
    h, w = dark.shape
    n, labels, stats, cents = cv2.connectedComponentsWithStats(dark, connectivity=4)
    touches = np.zeros(n, bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        touches[np.unique(edge)] = True
    areas = stats[:, cv2.CC_STAT_AREA]
    inner = [i for i in range(1, n) if not touches[i] and areas[i] >= 0.01 * h * w]
    lungs = sorted(inner, key=lambda i: -areas[i])[:2]
    frac = float(sum(areas[i] for i in lungs)) / (h * w)
    pair = False
    if len(lungs) == 2:
        (x1, y1), (x2, y2) = cents[lungs[0]], cents[lungs[1]]
        a1, a2 = areas[lungs[0]], areas[lungs[1]]
        pair = bool(
            (x1 - w / 2) * (x2 - w / 2) < 0
            and abs(y1 - y2) < 0.2 * h
            and min(a1, a2) > 0.3 * max(a1, a2)
        )
    return frac, pair


def _profiles(tiny: np.ndarray, scale: float) -> tuple[float, float]:
    """(centre_bright, bottom_bright) from column and row mean profiles of the 64x64 copy."""
    cols = tiny[8:56, 6:58].mean(axis=0)  # 52 columns, film edges and labels trimmed
    centre = cols[21:30].mean()
    sides = np.r_[cols[7:18], cols[33:44]].mean()
    rows = tiny.mean(axis=1)
    bottom = rows[-13:].mean() - rows[26:38].mean()
    return float((centre - sides) / scale), float(bottom / scale)


def _horizontal_share(blur: np.ndarray) -> float:
    """Share of gradient energy along y: horizontal edges (ribs, a frontal film's)."""
    gx = cv2.Sobel(blur, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(blur, cv2.CV_32F, 0, 1, ksize=3)
    ex, ey = float((gx * gx).sum()), float((gy * gy).sum())
    return ey / (ex + ey) if ex + ey > 0 else 0.5


def _profile_copies(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """What the profile and edge measures read of a trimmed, stretched grey image: its 64x64
    float copy, its 5x5 blur, and its 5-95 percentile range (at least 1)."""
    p05, p95 = _percentiles(gray, (5, 95))
    tiny = cv2.resize(gray.astype(np.float32), (64, 64), interpolation=cv2.INTER_AREA)
    return tiny, cv2.GaussianBlur(gray, (5, 5), 0), max(1.0, float(p95 - p05))


def _column_and_horizontal(tiny: np.ndarray, blur: np.ndarray, scale: float) -> tuple[float, float]:
    """(centre_bright, grad_vertical) of a picture's profile copies: the mediastinum column
    of the 64x64 copy, and the share of horizontal edges (the view measures)."""
    return _profiles(tiny, scale)[0], _horizontal_share(blur)


def _percentiles(gray: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Percentiles of a uint8 image from its histogram (fast; integer grey levels)."""
    cdf = np.cumsum(np.bincount(gray.ravel(), minlength=256)) / gray.size
    return [float(np.searchsorted(cdf, q / 100.0)) for q in qs]


def _stretch(gray: np.ndarray) -> np.ndarray:
    """Grey levels stretched so the 0.5 and 99.5 percentiles span 0..255: a tint or colour
    map that never reaches black or white measures like the film it was made from."""
    lo, hi = _percentiles(gray, (0.5, 99.5))
    if hi - lo < 16 or (lo <= 2 and hi >= 253):
        return gray
    ramp = (np.arange(256, dtype=np.float32) - lo) * (255.0 / (hi - lo))
    return cv2.LUT(gray, np.clip(ramp, 0, 255).astype(np.uint8))


def _separability(blur: np.ndarray, t: int) -> float:
    """Otsu's between-class variance over the total, from the histogram (1: two clean modes)."""
    hist = np.bincount(blur.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256.0)
    n = hist.sum()
    lo_n, hi_n = hist[: t + 1].sum(), hist[t + 1 :].sum()
    if lo_n == 0 or hi_n == 0:
        return 0.0
    mean = (hist * levels).sum() / n
    var = (hist * (levels - mean) ** 2).sum() / n
    if var <= 0:
        return 0.0
    lo_mean = (hist[: t + 1] * levels[: t + 1]).sum() / lo_n
    hi_mean = (hist[t + 1 :] * levels[t + 1 :]).sum() / hi_n
    return float(lo_n / n * hi_n / n * (lo_mean - hi_mean) ** 2 / var)


def _symmetry(tiny: np.ndarray) -> float:
    """Pearson correlation between the 64x64 copy and its left-right mirror."""
    tiny = tiny - tiny.mean()
    norm = float((tiny * tiny).sum())
    return float((tiny * tiny[:, ::-1]).sum()) / norm if norm > 0 else 0.0


def measure(image: np.ndarray) -> Features:
    """Measure a gray or BGR uint8 image."""
    height, width = image.shape[:2]
    normal = normalise(*_work_copy(image))
    cleaned, marks = remove_marks(normal.gray, normal.marks)
    gray = _stretch(_trim_margins(cleaned))
    h, w = gray.shape
    g = gray.astype(np.float32)
    std = float(g.std())
    tiny, blur, scale = _profile_copies(gray)

    k = max(2, min(h, w) // 40)
    ring = np.concatenate(
        [gray[:k].ravel(), gray[-k:].ravel(), gray[:, :k].ravel(), gray[:, -k:].ravel()]
    )
    c = max(3, min(h, w) // 12)
    corners = (gray[:c, :c], gray[:c, -c:], gray[-c:, :c], gray[-c:, -c:])

    t, dark = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    otsu_sep = _separability(blur, int(t))
    lung_frac, lung_pair = _lungs(dark)
    centre_bright, bottom_bright = _profiles(tiny, scale)
    grad_vertical = _horizontal_share(blur)
    box = _on_paper(cleaned)
    view_column, view_horizontal = (
        (centre_bright, grad_vertical)
        if box is None
        else _column_and_horizontal(*_profile_copies(_stretch(_trim_margins(cleaned[box]))))
    )
    picture = box or _on_screen(cleaned)
    symmetry = _symmetry(tiny)
    in_dark = dark > 0
    dark_level = float(g[in_dark].mean()) / 255.0 if in_dark.any() else 0.0
    spots = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, np.ones((5, 5), np.uint8)) > 30
    dark_spots = float((spots & in_dark).sum()) / max(1, int(in_dark.sum()))
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    hist = hist[hist > 0] / gray.size
    levels = float(-(hist * np.log2(hist)).sum())

    lap = np.abs(cv2.Laplacian(gray, cv2.CV_32F, ksize=3))

    k5 = np.ones((5, 5), np.uint8)
    spread = cv2.dilate(gray, k5).astype(np.int16) - cv2.erode(gray, k5)
    flat_any = float(np.mean(spread == 0))
    flat_mid = float(np.mean((spread <= 2) & (gray > 30) & (gray < 225)))
    detail = float((g - cv2.GaussianBlur(g, (0, 0), 2.0)).std()) / max(std, 1.0)

    return Features(
        width=width,
        height=height,
        aspect=w / h,
        colour=normal.colour,
        off_curve=normal.off_curve,
        overlay=normal.overlay,
        marks=marks,
        colour_detail=normal.colour_detail,
        flat_colour=normal.flat_colour,
        white=float(np.mean(gray >= 240)),
        black=float(np.mean(gray <= 15)),
        border_white=float(np.mean(ring >= 240)),
        dark_corners=sum(1 for p in corners if float(p.mean()) < 40),
        otsu_sep=float(otsu_sep),
        lung_frac=lung_frac,
        lung_pair=lung_pair,
        centre_bright=centre_bright,
        bottom_bright=bottom_bright,
        body_touch_bottom=float(np.mean(blur[-1] > 40)),
        edges=float(np.mean(cv2.Canny(blur, 50, 150) > 0)),
        grad_vertical=grad_vertical,
        fine_texture=float(lap[in_dark].mean()) / max(std, 1.0) if in_dark.any() else 0.0,
        flat_any=flat_any,
        flat_mid=flat_mid,
        detail=detail,
        symmetry=symmetry,
        dark_level=dark_level,
        dark_spots=dark_spots,
        levels=levels,
        rendering=normal.rendering,
        texture=texture(gray),
        view_column=view_column,
        view_horizontal=view_horizontal,
        picture=None if picture is None else _fractions(picture, cleaned.shape),
    )


def _fractions(
    box: tuple[slice, slice], shape: tuple[int, ...]
) -> tuple[float, float, float, float]:
    rows, cols = box
    h, w = shape[:2]
    return (cols.start / w, rows.start / h, cols.stop / w, rows.stop / h)
