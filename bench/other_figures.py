"""Figures papers print besides radiographs: charts, diagrams, tables, pages, grey scans.

The dev split has only 45 `other` images; the real papers add charts and diagrams, but few
pie charts, confusion matrices, flowcharts, text pages, MRI slices, blots or micrographs.
These generators draw such figures with random sizes, colours (or greys), fonts and layouts,
so the learned layer sees the kinds of `other` that are easy to confuse with a radiograph
once colour is normalised away. Each kind is one group in cross-validation: a held-out fold
never has seen the kind it is scored on.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Draw = Callable[[np.random.Generator], np.ndarray]
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _palette(rng: np.random.Generator, n: int, grey: bool) -> list[tuple[int, int, int]]:
    if grey:
        return [(v, v, v) for v in rng.integers(40, 220, n).tolist()]
    hues = rng.uniform(0, 180, n)
    hsv = np.stack([hues, rng.uniform(80, 230, n), rng.uniform(120, 240, n)], 1)
    bgr = cv2.cvtColor(hsv.astype(np.uint8)[None], cv2.COLOR_HSV2BGR)[0]
    return [tuple(int(c) for c in v) for v in bgr]


def _canvas(rng: np.random.Generator) -> np.ndarray:
    h = int(rng.integers(240, 700))
    w = int(h * rng.uniform(0.8, 1.8))
    return np.full((h, w, 3), 255, np.uint8)


def _words(rng: np.random.Generator, k: int) -> str:
    return " ".join(
        "".join(chr(int(c)) for c in rng.integers(97, 123, int(rng.integers(2, 9))))
        for _ in range(k)
    )


def _axes(img: np.ndarray, rng: np.random.Generator) -> tuple[int, int, int, int]:
    h, w = img.shape[:2]
    x0, y0, x1, y1 = int(0.12 * w), int(0.08 * h), int(0.95 * w), int(0.85 * h)
    cv2.line(img, (x0, y1), (x1, y1), (0, 0, 0), 1)
    cv2.line(img, (x0, y0), (x0, y1), (0, 0, 0), 1)
    for k in range(6):
        y = y1 - k * (y1 - y0) // 5
        cv2.putText(img, f"{k * 20}", (2, y + 4), _FONT, 0.35, (0, 0, 0), 1, cv2.LINE_AA)
        if rng.random() < 0.5:
            cv2.line(img, (x0, y), (x1, y), (220, 220, 220), 1)
    return x0, y0, x1, y1


def bar_chart(rng: np.random.Generator) -> np.ndarray:
    img = _canvas(rng)
    x0, y0, x1, y1 = _axes(img, rng)
    n = int(rng.integers(3, 12))
    colours = _palette(rng, 3, rng.random() < 0.3)
    width = (x1 - x0) / n
    for i in range(n):
        top = int(y1 - rng.uniform(0.1, 0.95) * (y1 - y0))
        c = colours[i % len(colours)] if rng.random() < 0.5 else colours[0]
        cv2.rectangle(img, (int(x0 + i * width + 3), top), (int(x0 + (i + 0.8) * width), y1), c, -1)
    return img


def line_plot(rng: np.random.Generator) -> np.ndarray:
    img = _canvas(rng)
    x0, y0, x1, y1 = _axes(img, rng)
    for c in _palette(rng, int(rng.integers(1, 4)), rng.random() < 0.3):
        ys = np.cumsum(rng.normal(0, 1, 60))
        ys = (ys - ys.min()) / max(np.ptp(ys), 1e-6)
        pts = np.stack([np.linspace(x0, x1, 60), y1 - ys * (y1 - y0) * 0.9], 1).astype(np.int32)
        cv2.polylines(img, [pts], False, c, int(rng.integers(1, 3)), cv2.LINE_AA)
    return img


def pie_chart(rng: np.random.Generator) -> np.ndarray:
    img = _canvas(rng)
    h, w = img.shape[:2]
    centre, r = (w // 2, h // 2), int(0.38 * min(h, w))
    cuts = np.sort(rng.uniform(0, 360, int(rng.integers(2, 6))))
    colours = _palette(rng, len(cuts), rng.random() < 0.3)
    start = 0.0
    for end, c in zip([*cuts[1:], cuts[0] + 360], colours, strict=False):
        cv2.ellipse(img, centre, (r, r), float(cuts[0]), start, end - cuts[0], c, -1)
        start = end - cuts[0]
    if rng.random() < 0.4:
        cv2.circle(img, centre, r // 2, (255, 255, 255), -1)  # donut
    cv2.putText(img, _words(rng, 3), (10, 24), _FONT, 0.7, (60, 60, 60), 2, cv2.LINE_AA)
    return img


def matrix(rng: np.random.Generator) -> np.ndarray:
    """A confusion matrix or heat map grid, in blues or greys, with numbers."""
    n = int(rng.integers(2, 6))
    values = rng.uniform(0, 1, (n, n))
    side = int(rng.integers(200, 600))
    cells = cv2.resize(
        (values * 255).astype(np.uint8), (side, side), interpolation=cv2.INTER_NEAREST
    )
    cmap = int(
        rng.choice(
            [
                cv2.COLORMAP_OCEAN,
                cv2.COLORMAP_BONE,
                cv2.COLORMAP_WINTER,
                cv2.COLORMAP_VIRIDIS,
                cv2.COLORMAP_HOT,
            ]
        )
    )
    img = cv2.applyColorMap(255 - cells, cmap) if rng.random() < 0.7 else cv2.merge([cells] * 3)
    for i in range(n):
        for j in range(n):
            cv2.putText(
                img,
                f"{int(values[i, j] * 100)}",
                (int((j + 0.3) * side / n), int((i + 0.55) * side / n)),
                _FONT,
                0.6,
                (0, 0, 0),
                1,
                cv2.LINE_AA,
            )
    return cv2.copyMakeBorder(img, 30, 60, 80, 20, cv2.BORDER_CONSTANT, value=(255, 255, 255))


def flowchart(rng: np.random.Generator) -> np.ndarray:
    img = _canvas(rng)
    h, w = img.shape[:2]
    colours = _palette(rng, 3, rng.random() < 0.4)
    boxes = []
    for _ in range(int(rng.integers(3, 9))):
        x, y = int(rng.uniform(0.05, 0.75) * w), int(rng.uniform(0.05, 0.8) * h)
        bw, bh = int(rng.uniform(0.12, 0.25) * w), int(rng.uniform(0.08, 0.15) * h)
        c = colours[int(rng.integers(len(colours)))]
        cv2.rectangle(img, (x, y), (x + bw, y + bh), c, -1)
        cv2.rectangle(img, (x, y), (x + bw, y + bh), (0, 0, 0), 1)
        cv2.putText(img, _words(rng, 1), (x + 4, y + bh // 2), _FONT, 0.4, (0, 0, 0), 1)
        boxes.append((x + bw // 2, y + bh // 2))
    for a, b in zip(boxes[:-1], boxes[1:], strict=True):
        cv2.arrowedLine(img, a, b, (0, 0, 0), 1, cv2.LINE_AA, tipLength=0.05)
    return img


def text_page(rng: np.random.Generator) -> np.ndarray:
    """A page or table of text, light paper, maybe scanned dark and tinted."""
    img = _canvas(rng)
    h, w = img.shape[:2]
    y = 20
    table = rng.random() < 0.4
    while y < h - 10:
        cv2.putText(
            img,
            _words(rng, int(rng.integers(3, 12))),
            (10, y),
            _FONT,
            rng.uniform(0.35, 0.6),
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
        if table:
            cv2.line(img, (5, y + 6), (w - 5, y + 6), (0, 0, 0), 1)
        y += int(rng.integers(14, 26))
    if rng.random() < 0.4:  # a scan: grey paper, uneven light, a tint
        shade = np.linspace(rng.uniform(0.5, 0.9), 1.0, w)[None, :, None]
        tint = np.array(_palette(rng, 1, False)[0], np.float32) / 255 * 0.3 + 0.7
        img = np.clip(img * shade * tint, 0, 255).astype(np.uint8)
    return img


def scatter_plot(rng: np.random.Generator) -> np.ndarray:
    img = _canvas(rng)
    x0, y0, x1, y1 = _axes(img, rng)
    for c in _palette(rng, int(rng.integers(1, 4)), rng.random() < 0.3):
        pts = rng.normal(0.5, 0.18, (int(rng.integers(20, 200)), 2)).clip(0, 1)
        for px, py in pts:
            cv2.circle(img, (int(x0 + px * (x1 - x0)), int(y1 - py * (y1 - y0))), 3, c, -1)
    return img


def brain_mri(rng: np.random.Generator) -> np.ndarray:
    """An axial head MRI slice: dark field, grey brain with folds, ventricles."""
    size = int(rng.integers(200, 512))
    img = np.zeros((size, size), np.float32)
    c = (size // 2, size // 2)
    cv2.ellipse(img, c, (int(size * 0.36), int(size * 0.44)), 0, 0, 360, 90, -1)
    cv2.ellipse(img, c, (int(size * 0.33), int(size * 0.41)), 0, 0, 360, 150, -1)
    folds = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), size / 60)
    img += (folds > 0.02) * 40 * (img > 100)
    for dx in (-1, 1):
        cv2.ellipse(img, (c[0] + dx * size // 18, c[1]), (size // 30, size // 8), 0, 0, 360, 30, -1)
    img = cv2.GaussianBlur(img, (0, 0), 1.5) + rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def blot(rng: np.random.Generator) -> np.ndarray:
    """A western blot strip: grey background, dark bands in lanes."""
    h, w = int(rng.integers(80, 300)), int(rng.integers(300, 800))
    img = np.full((h, w), float(rng.integers(180, 240)), np.float32)
    lanes = int(rng.integers(4, 12))
    for i in range(lanes):
        for _ in range(int(rng.integers(1, 4))):
            y = int(rng.uniform(0.2, 0.8) * h)
            cv2.ellipse(
                img,
                (int((i + 0.5) * w / lanes), y),
                (int(w / lanes * 0.35), int(h * 0.04) + 2),
                0,
                0,
                360,
                float(rng.integers(20, 150)),
                -1,
            )
    img = cv2.GaussianBlur(img, (0, 0), 2) + rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def micrograph(rng: np.random.Generator) -> np.ndarray:
    """Cells on a light field (grey, or stained pink and purple)."""
    size = int(rng.integers(200, 600))
    img = np.full((size, size, 3), 230, np.float32)
    stain = np.array(_palette(rng, 1, rng.random() < 0.4)[0], np.float32)
    for _ in range(int(rng.integers(20, 120))):
        centre = (int(rng.integers(0, size)), int(rng.integers(0, size)))
        r = int(rng.integers(4, 20))
        cv2.circle(img, centre, r, tuple(float(v) for v in stain * rng.uniform(0.4, 0.9)), -1)
    img = cv2.GaussianBlur(img, (0, 0), 1.5) + rng.normal(0, 5, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def photo(rng: np.random.Generator) -> np.ndarray:
    """A natural-looking scene: smooth colour fields, objects with edges, texture."""
    h, w = int(rng.integers(200, 600)), int(rng.integers(200, 700))
    small = rng.integers(0, 256, (int(rng.integers(3, 8)), int(rng.integers(3, 8)), 3))
    img = cv2.resize(small.astype(np.uint8), (w, h), interpolation=cv2.INTER_CUBIC).astype(
        np.float32
    )
    for _ in range(int(rng.integers(2, 8))):
        c = tuple(float(v) for v in rng.integers(0, 256, 3))
        cv2.ellipse(
            img,
            (int(rng.integers(0, w)), int(rng.integers(0, h))),
            (int(rng.integers(10, w // 3)), int(rng.integers(10, h // 3))),
            float(rng.uniform(0, 180)),
            0,
            360,
            c,
            -1,
        )
    img = cv2.GaussianBlur(img, (0, 0), 1.0) + rng.normal(0, 8, img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if rng.random() < 0.3 else img


def logo(rng: np.random.Generator) -> np.ndarray:
    """Flat shapes and a word: logos, icons, badges."""
    img = _canvas(rng)
    h, w = img.shape[:2]
    for c in _palette(rng, int(rng.integers(1, 4)), rng.random() < 0.3):
        if rng.random() < 0.5:
            cv2.circle(
                img,
                (int(rng.uniform(0.2, 0.8) * w), int(rng.uniform(0.2, 0.8) * h)),
                int(rng.uniform(0.1, 0.4) * min(h, w)),
                c,
                -1,
            )
        else:
            pts = rng.uniform(0, 1, (int(rng.integers(3, 7)), 2)) * (w, h)
            cv2.fillPoly(img, [pts.astype(np.int32)], c)
    cv2.putText(
        img,
        _words(rng, 1).upper(),
        (int(0.1 * w), int(0.9 * h)),
        _FONT,
        min(h, w) / 150,
        (0, 0, 0),
        3,
        cv2.LINE_AA,
    )
    return img


KINDS: dict[str, Draw] = {
    "bar chart": bar_chart,
    "line plot": line_plot,
    "pie chart": pie_chart,
    "matrix": matrix,
    "flowchart": flowchart,
    "text page": text_page,
    "scatter plot": scatter_plot,
    "brain MRI": brain_mri,
    "blot": blot,
    "micrograph": micrograph,
    "photo": photo,
    "logo": logo,
}


def figures(seed: int, per_kind: int) -> list[tuple[str, np.ndarray]]:
    """(kind, image) pairs, `per_kind` of each kind."""
    rng = np.random.default_rng(seed)
    return [(kind, draw(rng)) for kind, draw in KINDS.items() for _ in range(per_kind)]
