"""How journals print radiographs: tints, colour maps, burnt-in marks, crops, frames, overlays.

Each style takes a gray or BGR uint8 image and a numpy Generator and returns a new BGR (or
gray) uint8 image, as a figure in a paper would show it. `bench/train_classify.py` fits the
classifier on the dev images altered by these styles (group-wise), `bench/eval_classify.py`
scores every style on held-out groups, and the tests run them on phantoms.

The styles copy what the team saw in missed radiographs: blue, purple and sepia tints;
films through a colour map (viridis and friends); scores, numbered boxes, arrows, dashed
circles, text and panel letters burnt in; tight crops; white, black and line frames; a
label strip under the image or plotting axes around it; Grad-CAM heat maps and colour
segmentation masks blended over part or all of the image (those carry the `overlay` flag).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Style = Callable[[np.ndarray, np.random.Generator], np.ndarray]

_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN)
_WORDS = ("PORTABLE", "AP", "SUPINE", "R", "L", "Day 3", "COVID-19", "ERECT", "1", "2", "3", "4")
# bright, saturated annotation colours (BGR) as papers draw them
_MARK_COLOURS = ((0, 0, 255), (0, 255, 255), (0, 255, 0), (255, 0, 0), (0, 165, 255), (255, 0, 255))


def _gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def _bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()


def _scale(image: np.ndarray) -> float:
    return max(image.shape[:2]) / 400.0


def _to_mark(image: np.ndarray) -> tuple[np.ndarray, int, int, float]:
    """A BGR copy to draw on, its height and width, and the stroke scale."""
    out = _bgr(image)
    return out, out.shape[0], out.shape[1], _scale(out)


def _write(
    image: np.ndarray,
    words: str,
    at: tuple[int, int],
    size: float,
    colour: tuple,
    thickness: int,
    font: int = cv2.FONT_HERSHEY_SIMPLEX,
) -> None:
    cv2.putText(image, words, at, font, size, colour, thickness, cv2.LINE_AA)


# -- colour ---------------------------------------------------------------------------------


def tint(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A duotone: black..white mapped to a dark and a light colour of one hue (blue, sepia...)."""
    g = _gray(image).astype(np.float32) / 255.0
    hue = float(rng.choice([0.0, 10.0, 20.0, 100.0, 110.0, 120.0, 135.0, 150.0, 165.0]))
    sat = float(rng.uniform(0.25, 0.75))
    lut_v = np.linspace(0, 255, 256)
    hsv = np.stack([np.full(256, hue / 2), np.full(256, sat * 255), lut_v], axis=1)
    lut = cv2.cvtColor(hsv.astype(np.uint8)[None], cv2.COLOR_HSV2BGR)[0]
    if rng.random() < 0.5:  # lighter tones washed out towards white, as in duotone prints
        lut = (
            lut * (1 - np.linspace(0, 0.6, 256))[:, None] + 255 * np.linspace(0, 0.6, 256)[:, None]
        )
    idx = np.clip(g * 255, 0, 255).astype(np.uint8)
    return lut.astype(np.uint8)[idx]


COLOUR_MAPS = {
    "viridis": cv2.COLORMAP_VIRIDIS,
    "magma": cv2.COLORMAP_MAGMA,
    "inferno": cv2.COLORMAP_INFERNO,
    "plasma": cv2.COLORMAP_PLASMA,
    "cividis": cv2.COLORMAP_CIVIDIS,
    "bone": cv2.COLORMAP_BONE,
    "pink": cv2.COLORMAP_PINK,
}


def colour_map(image: np.ndarray, rng: np.random.Generator, name: str | None = None) -> np.ndarray:
    """The image through a perceptual colour map (viridis, magma, ...), as matplotlib shows it."""
    name = name or str(rng.choice(sorted(COLOUR_MAPS)))
    return cv2.applyColorMap(_gray(image), COLOUR_MAPS[name])


def jet_map(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The image through jet or turbo (hue runs round; lightness is not monotonic)."""
    cmap = cv2.COLORMAP_JET if rng.random() < 0.5 else cv2.COLORMAP_TURBO
    return cv2.applyColorMap(_gray(image), cmap)


# -- marks burnt in -------------------------------------------------------------------------


def _mark_colour(image: np.ndarray, rng: np.random.Generator, coloured: bool) -> tuple:
    if coloured:
        return tuple(int(v) for v in _MARK_COLOURS[int(rng.integers(len(_MARK_COLOURS)))])
    v = 255 if rng.random() < 0.75 else 0
    return (v, v, v)


def text(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scanner or author text burnt in: words in white, black or a bright colour."""
    out, h, w, s = _to_mark(image)
    coloured = rng.random() < 0.4
    for _ in range(int(rng.integers(1, 5))):
        word = str(rng.choice(_WORDS))
        size = float(rng.uniform(0.5, 1.3)) * s
        x = int(rng.uniform(0.02, 0.75) * w)
        y = int(rng.uniform(0.08, 0.98) * h)
        _write(
            out,
            word,
            (x, y),
            size,
            _mark_colour(out, rng, coloured),
            max(1, int(2 * s)),
            font=int(rng.choice(_FONTS)),
        )
    return out


def scores(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Severity scores written in each lung zone (numbers, often yellow or white)."""
    out, h, w, s = _to_mark(image)
    colour = _mark_colour(out, rng, rng.random() < 0.6)
    for fx in (0.3, 0.7):
        for fy in (0.35, 0.55, 0.75):
            _write(
                out,
                str(int(rng.integers(0, 5))),
                (int(fx * w), int(fy * h)),
                1.2 * s,
                colour,
                max(1, int(3 * s)),
            )
    if rng.random() < 0.5:
        _write(
            out,
            f"Score {int(rng.integers(0, 18))}",
            (int(0.05 * w), int(0.95 * h)),
            0.9 * s,
            colour,
            max(1, int(2 * s)),
        )
    return out


def boxes(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Numbered rectangles round findings (thin coloured or white lines)."""
    out, h, w, s = _to_mark(image)
    coloured = rng.random() < 0.7
    for k in range(int(rng.integers(1, 4))):
        x0, y0 = int(rng.uniform(0.15, 0.6) * w), int(rng.uniform(0.2, 0.6) * h)
        x1, y1 = x0 + int(rng.uniform(0.1, 0.3) * w), y0 + int(rng.uniform(0.1, 0.3) * h)
        colour = _mark_colour(out, rng, coloured)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, max(1, int(2 * s)))
        _write(out, str(k + 1), (x0 + 3, y0 - 4), 0.8 * s, colour, max(1, int(2 * s)))
    return out


def arrows(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Arrows pointing at findings."""
    out, h, w, s = _to_mark(image)
    coloured = rng.random() < 0.5
    for _ in range(int(rng.integers(1, 4))):
        tip = (int(rng.uniform(0.25, 0.75) * w), int(rng.uniform(0.3, 0.75) * h))
        angle = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(0.06, 0.15) * w
        tail = (int(tip[0] + length * np.cos(angle)), int(tip[1] + length * np.sin(angle)))
        cv2.arrowedLine(
            out,
            tail,
            tip,
            _mark_colour(out, rng, coloured),
            max(2, int(3 * s)),
            cv2.LINE_AA,
            tipLength=0.35,
        )
    return out


def circles(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dashed circles or ellipses round findings (red as in the NIH ChestX-ray14 figure)."""
    out, h, w, s = _to_mark(image)
    colour = (0, 0, 255) if rng.random() < 0.7 else _mark_colour(out, rng, True)
    for _ in range(int(rng.integers(1, 3))):
        c = (int(rng.uniform(0.25, 0.75) * w), int(rng.uniform(0.3, 0.7) * h))
        axes = (int(rng.uniform(0.08, 0.2) * w), int(rng.uniform(0.08, 0.2) * h))
        for a in range(0, 360, 24):  # dashes
            cv2.ellipse(out, c, axes, 0, a, a + 14, colour, max(2, int(3 * s)), cv2.LINE_AA)
    return out


def letter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A panel letter in a corner, bare or in a white or black box."""
    out, h, w, s = _to_mark(image)
    label = str(rng.choice(["A", "B", "a", "b", "(c)", "D", "e", "F"]))
    size = float(rng.uniform(0.9, 1.8)) * s
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, size, max(1, int(2 * s)))
    corner = int(rng.integers(4))
    x = int(0.02 * w) if corner in (0, 2) else int(w - tw - 0.04 * w)
    y = int(th + 0.03 * h) if corner in (0, 1) else int(h - 0.04 * h)
    boxed = rng.random() < 0.5
    fg = 255 if rng.random() < 0.6 else 0
    if boxed:
        pad = int(6 * s)
        bg = 255 - fg
        cv2.rectangle(out, (x - pad, y - th - pad), (x + tw + pad, y + pad), (bg, bg, bg), -1)
    _write(out, label, (x, y), size, (fg, fg, fg), max(1, int(2 * s)))
    return out


# -- geometry and frames --------------------------------------------------------------------


def tight_crop(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A tight crop: 55-85% of each side kept, off centre."""
    h, w = image.shape[:2]
    kw, kh = rng.uniform(0.55, 0.85), rng.uniform(0.55, 0.85)
    x0 = int(rng.uniform(0, 1 - kw) * w)
    y0 = int(rng.uniform(0, 1 - kh) * h)
    return image[y0 : y0 + max(8, int(kh * h)), x0 : x0 + max(8, int(kw * w))].copy()


def frame(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A white or black margin, or a thin line border, added round the image."""
    out = _bgr(image)
    h, w = out.shape[:2]
    kind = int(rng.integers(3))
    pad = int(rng.uniform(0.02, 0.12) * max(h, w))
    if kind == 0:
        return cv2.copyMakeBorder(out, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(255,) * 3)
    if kind == 1:
        return cv2.copyMakeBorder(out, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0,) * 3)
    line = max(1, int(_scale(out)))
    out = cv2.copyMakeBorder(out, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(255,) * 3)
    cv2.rectangle(out, (pad - line, pad - line), (pad + w + line, pad + h + line), (0, 0, 0), line)
    return out


def label_strip(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A white strip with a label under (or over) the image, as in a figure grid."""
    out = _bgr(image)
    h, w = out.shape[:2]
    strip_h = int(rng.uniform(0.1, 0.2) * h)
    strip = np.full((strip_h, w, 3), 255, np.uint8)
    word = str(rng.choice(["Normal", "Pneumonia", "COVID-19", "Day 1", "(a)", "Effusion"]))
    s = strip_h / 40
    _write(strip, word, (int(0.25 * w), int(0.7 * strip_h)), s, (0, 0, 0), max(1, int(2 * s)))
    return np.vstack([out, strip] if rng.random() < 0.7 else [strip, out])


def axes(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The image drawn inside plotting axes: white margin, tick marks and numbers, a title."""
    out = _bgr(image)
    h, w = out.shape[:2]
    left, bottom, top, right = int(0.14 * w), int(0.12 * h), int(0.1 * h), int(0.04 * w)
    canvas = np.full((h + top + bottom, w + left + right, 3), 255, np.uint8)
    canvas[top : top + h, left : left + w] = out
    s = _scale(out)
    cv2.rectangle(canvas, (left - 1, top - 1), (left + w, top + h), (0, 0, 0), max(1, int(s)))
    for k in range(5):
        x = left + k * w // 4
        y = top + k * h // 4
        cv2.line(canvas, (x, top + h), (x, top + h + int(6 * s)), (0, 0, 0), max(1, int(s)))
        cv2.line(canvas, (left - int(6 * s), y), (left, y), (0, 0, 0), max(1, int(s)))
        _write(
            canvas,
            str(k * 50),
            (x - int(8 * s), top + h + int(22 * s)),
            0.45 * s,
            (0, 0, 0),
            max(1, int(s)),
        )
        _write(
            canvas, str(k * 50), (int(2 * s), y + int(5 * s)), 0.45 * s, (0, 0, 0), max(1, int(s))
        )
    if rng.random() < 0.7:
        _write(
            canvas,
            "PNEUMONIA X-Ray",
            (left + w // 4, int(0.7 * top)),
            0.6 * s,
            (0, 0, 0),
            max(1, int(s)),
        )
    return canvas


def low_quality(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Downscaled to a thumbnail and JPEG-compressed hard."""
    h, w = image.shape[:2]
    side = int(rng.uniform(120, 260))
    s = side / max(h, w)
    if s < 1:
        image = cv2.resize(image, (max(8, int(w * s)), max(8, int(h * s))), cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.uniform(25, 60))])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else image


# -- overlays (flag `overlay`) ---------------------------------------------------------------


def _smooth_field(h: int, w: int, rng: np.random.Generator, blobs: int) -> np.ndarray:
    field = np.zeros((h, w), np.float32)
    for _ in range(blobs):
        c = (int(rng.uniform(0.15, 0.85) * w), int(rng.uniform(0.15, 0.85) * h))
        ax = (int(rng.uniform(0.08, 0.3) * w), int(rng.uniform(0.08, 0.3) * h))
        cv2.ellipse(
            field, c, ax, float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(0.5, 1)), -1
        )
    field = cv2.GaussianBlur(field, (0, 0), 0.08 * max(h, w))
    return field / max(float(field.max()), 1e-6)


def heat_map(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A Grad-CAM style heat map (jet) blended over the whole image or only its hot part."""
    base = _bgr(image).astype(np.float32)
    h, w = base.shape[:2]
    field = _smooth_field(h, w, rng, int(rng.integers(1, 5)))
    cmap = cv2.COLORMAP_JET if rng.random() < 0.8 else cv2.COLORMAP_TURBO
    heat = cv2.applyColorMap((field * 255).astype(np.uint8), cmap).astype(np.float32)
    alpha = float(rng.uniform(0.3, 0.55))
    if rng.random() < 0.5:  # whole image blended
        a = np.full((h, w, 1), alpha, np.float32)
    else:  # only where the map is hot
        a = (alpha * np.clip((field - 0.3) / 0.4, 0, 1))[:, :, None]
    return np.clip(base * (1 - a) + heat * a, 0, 255).astype(np.uint8)


def segmentation(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour masks over the lungs or a lesion (green, red, blue), semi-transparent."""
    base = _bgr(image).astype(np.float32)
    h, w = base.shape[:2]
    out = base.copy()
    for cx in (0.32, 0.68)[: int(rng.integers(1, 3))]:
        mask = np.zeros((h, w), np.uint8)
        cv2.ellipse(
            mask,
            (int(cx * w), int(0.5 * h)),
            (int(0.13 * w), int(0.25 * h)),
            float(rng.uniform(-10, 10)),
            0,
            360,
            1,
            -1,
        )
        colour = np.array(_MARK_COLOURS[int(rng.integers(4))], np.float32)
        alpha = float(rng.uniform(0.3, 0.6))
        m = mask.astype(bool)
        out[m] = out[m] * (1 - alpha) + colour * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


# The styles, by name; `overlay` is what the classifier must flag for each.
STYLES: dict[str, Style] = {
    "tight crop": tight_crop,
    "tint": tint,
    "colour map": colour_map,
    "jet map": jet_map,
    "heat map": heat_map,
    "segmentation": segmentation,
    "text": text,
    "scores": scores,
    "boxes": boxes,
    "arrows": arrows,
    "circles": circles,
    "letter": letter,
    "frame": frame,
    "label strip": label_strip,
    "axes": axes,
    "low quality": low_quality,
}
OVERLAY_STYLES = frozenset({"heat map", "segmentation"})
# At most one of these per image: each recolours the whole film.
COLOUR_STYLES = frozenset({"tint", "colour map", "jet map", "heat map", "segmentation"})
FRAME_STYLES = frozenset({"frame", "label strip", "axes"})


def pick_styles(rng: np.random.Generator) -> list[str]:
    """One to three style names: at most one that recolours the film and one frame."""
    names: list[str] = []
    for name in rng.permutation(sorted(STYLES))[: int(rng.integers(1, 4))]:
        clash = COLOUR_STYLES if name in COLOUR_STYLES else FRAME_STYLES
        if name in clash and clash.intersection(names):
            continue
        names.append(str(name))
    return names


def journal_print(
    image: np.ndarray, rng: np.random.Generator, names: list[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """The image in the styles named (random ones if None), applied in the order a figure
    is made: crop, recolour, marks, frame, compression."""
    order = list(STYLES)
    names = sorted(pick_styles(rng) if names is None else names, key=order.index)
    out = image
    for name in names:
        out = STYLES[name](out, rng)
    return out, names
