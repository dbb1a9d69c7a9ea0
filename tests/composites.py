"""Journal-style compound figures drawn from phantoms, as the layouts in
tests/fixtures/composites.jsonl describe them (shared by the tests and bench/eval_panels.py).

A layout is a tree: a node splits its box into `cols` or `rows` (with optional `weights`),
a leaf is a panel of one kind ("xray", "lateral", "ct", "chart"). Every cut leaves a gutter
of `gutter` pixels in `gutter_grey` (0: panels abut), optionally with a separator line of
`line` pixels in `line_grey` across its middle. `labels` puts a text row ("(a) Normal") under
or over each panel inside its cell; `letters` prints the panel letter in its top-left corner,
plain or in a white box; `crop` keeps the central share of each phantom (a tight crop, so
abutting panels meet with image on both sides). `expect_cut` false marks a single picture;
`found_by` names the separator kind its panels must be found by (where only one will do);
`axes` draws each picture inside a plot's frame with tick labels in the gutter.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tests import phantoms

LAYOUTS = Path(__file__).parent / "fixtures" / "composites.jsonl"
Box = tuple[int, int, int, int]
WORDS = ("Normal", "Pneumonia", "Day 1", "Day 5", "Follow-up", "Baseline", "COVID-19", "ARDS")


@dataclass
class Composite:
    case: dict[str, Any]
    image: np.ndarray
    boxes: list[Box] = field(default_factory=list)  # each panel's picture, in reading order
    kinds: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.case["id"])

    @property
    def caption(self) -> str:
        return str(self.case.get("caption", ""))

    @property
    def expect_cut(self) -> bool:
        return bool(self.case.get("expect_cut", True))


def load_layouts(path: Path = LAYOUTS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


Pictures = Callable[[str, int, int, int, float], np.ndarray]


def phantom(kind: str, width: int, height: int, seed: int, crop: float) -> np.ndarray:
    """A phantom of `kind` filling width x height, the central `crop` share of it kept."""
    side = max(width, height)
    draw = {
        "xray": phantoms.chest_xray_frontal,
        "lateral": phantoms.chest_xray_lateral,
        "ct": phantoms.ct_axial,
    }
    if kind == "chart":
        picture = cv2.cvtColor(phantoms.bar_chart(side, seed=seed), cv2.COLOR_BGR2GRAY)
    else:
        picture = draw[kind](round(side / crop), seed=seed)
        margin = (picture.shape[0] - side) // 2
        picture = picture[margin : margin + side, margin : margin + side]
    return cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)


def _split(box: Box, node: dict[str, Any], gutter: int) -> list[tuple[Box, dict[str, Any]]]:
    x0, y0, x1, y1 = box
    axis = "cols" if "cols" in node else "rows"
    children = node[axis]
    weights = node.get("weights") or [1] * len(children)
    span = (x1 - x0 if axis == "cols" else y1 - y0) - gutter * (len(children) - 1)
    out = []
    start = x0 if axis == "cols" else y0
    for child, weight in zip(children, weights, strict=True):
        size = round(span * weight / sum(weights))
        if axis == "cols":
            out.append(((start, y0, start + size, y1), child))
        else:
            out.append(((x0, start, x1, start + size), child))
        start += size + gutter
    return out


def _leaves(box: Box, node: dict[str, Any], gutter: int) -> list[tuple[Box, str]]:
    if "panel" in node:
        return [(box, node["panel"])]
    return [leaf for b, child in _split(box, node, gutter) for leaf in _leaves(b, child, gutter)]


def _separators(box: Box, node: dict[str, Any], gutter: int) -> list[Box]:
    """The gutters between the children of every node (where separator lines go)."""
    if "panel" in node:
        return []
    parts = _split(box, node, gutter)
    out = []
    for (a, _), (b, _) in zip(parts, parts[1:], strict=False):
        if "cols" in node:
            out.append((a[2], box[1], b[0], box[3]))
        else:
            out.append((box[0], a[3], box[2], b[1]))
    for b, child in parts:
        out.extend(_separators(b, child, gutter))
    return out


def _text(canvas: np.ndarray, text: str, box: Box, grey: int) -> None:
    x0, y0, x1, y1 = box
    scale = max(0.3, (y1 - y0) / 40)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    origin = (x0 + max(0, (x1 - x0 - tw) // 2), y0 + (y1 - y0 + th) // 2)
    cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, grey, 1, cv2.LINE_AA)


def _letter(canvas: np.ndarray, box: Box, letter: str, boxed: bool) -> None:
    x0, y0, x1, _ = box
    size = max(14, (x1 - x0) // 7)
    if boxed:
        cv2.rectangle(canvas, (x0, y0), (x0 + size, y0 + size), 255, -1)
        cv2.rectangle(canvas, (x0, y0), (x0 + size, y0 + size), 0, 1)
    grey = 0 if boxed else 255
    cv2.putText(canvas, letter, (x0 + size // 5, y0 + size * 4 // 5), cv2.FONT_HERSHEY_SIMPLEX,
                size / 30, grey, 2, cv2.LINE_AA)  # fmt: skip


def fit(picture: np.ndarray, width: int, height: int, crop: float) -> np.ndarray:
    """The central part of a picture with the cell's aspect, `crop` of it, resized to fit."""
    h, w = picture.shape[:2]
    aspect = width / height
    cw, ch = (w, round(w / aspect)) if w / h < aspect else (round(h * aspect), h)
    cw, ch = max(1, round(cw * crop)), max(1, round(ch * crop))
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return cv2.resize(picture[y0 : y0 + ch, x0 : x0 + cw], (width, height),
                      interpolation=cv2.INTER_AREA)  # fmt: skip


def _axes(canvas: np.ndarray, box: Box, grey: int) -> None:
    """A plot's frame around the picture and tick labels left of it and under it, in the
    gutter (as matplotlib draws an image with its axes)."""
    x0, y0, x1, y1 = box
    cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), grey, 1)
    for k in range(3):
        y = y0 + (k + 1) * (y1 - y0) // 4
        cv2.putText(canvas, str(50 * (k + 1)), (max(0, x0 - 22), y + 4), cv2.FONT_HERSHEY_PLAIN,
                    0.8, grey, 1)  # fmt: skip
        x = x0 + (k + 1) * (x1 - x0) // 4
        cv2.putText(canvas, str(50 * (k + 1)), (x - 8, min(canvas.shape[0] - 2, y1 + 12)),
                    cv2.FONT_HERSHEY_PLAIN, 0.8, grey, 1)  # fmt: skip


def build(case: dict[str, Any], pictures: Pictures = phantom) -> Composite:
    """The figure of one layout and where its panels' pictures are (drawn by `pictures`:
    phantoms, or real images in bench/eval_panels.py)."""
    width, height = case["size"]
    gutter = int(case.get("gutter", 10))
    outer = int(case.get("margin", gutter))
    background = int(case.get("background", 255))
    canvas = np.full((height, width), background, dtype=np.uint8)
    inner = (outer, outer, width - outer, height - outer)
    if case.get("gutter_grey") is not None:
        canvas[inner[1] : inner[3], inner[0] : inner[2]] = int(case["gutter_grey"])
    line = int(case.get("line", 0))
    for x0, y0, x1, y1 in _separators(inner, case["tree"], gutter) if line else []:
        grey = int(case.get("line_grey", 0))
        if x1 - x0 < y1 - y0:  # vertical gutter
            mid = (x0 + x1 - line) // 2
            canvas[y0:y1, mid : mid + line] = grey
        else:
            mid = (y0 + y1 - line) // 2
            canvas[mid : mid + line, x0:x1] = grey
    composite = Composite(case, canvas)
    labels = case.get("labels")
    crop = float(case.get("crop", 1.0))
    for n, (cell, kind) in enumerate(_leaves(inner, case["tree"], gutter)):
        x0, y0, x1, y1 = cell
        picture = (x0, y0, x1, y1)
        if labels:
            strip = max(12, (y1 - y0) // 7)
            if labels == "below":
                picture, label_box = (x0, y0, x1, y1 - strip), (x0, y1 - strip, x1, y1)
            else:
                picture, label_box = (x0, y0 + strip, x1, y1), (x0, y0, x1, y0 + strip)
            text_grey = 0 if background > 128 else 255
            canvas[label_box[1] : label_box[3], label_box[0] : label_box[2]] = background
            _text(canvas, f"({chr(97 + n)}) {WORDS[n % len(WORDS)]}", label_box, text_grey)
        px0, py0, px1, py1 = picture
        seed = zlib.crc32(f"{case['id']}/{n}".encode())  # each panel of each case its own
        canvas[py0:py1, px0:px1] = pictures(kind, px1 - px0, py1 - py0, seed, crop)
        if case.get("letters"):
            _letter(canvas, picture, chr(65 + n), case["letters"] == "box")
        if case.get("axes"):
            _axes(canvas, picture, 0 if background > 128 else 255)
        composite.boxes.append(picture)
        composite.kinds.append(kind)
    return composite


def iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def pairs(expected: list[Box], found: list[Box], threshold: float = 0.8) -> list[tuple[int, int]]:
    """(expected, found) index pairs: each expected panel with the found box that covers it
    best (IoU at least `threshold`), each found box used once."""
    free = list(range(len(found)))
    out = []
    for n, box in enumerate(expected):
        best = max(free, key=lambda f: iou(box, found[f]), default=None)
        if best is not None and iou(box, found[best]) >= threshold:
            free.remove(best)
            out.append((n, best))
    return out


def matched(expected: list[Box], found: list[Box], threshold: float = 0.8) -> int:
    """Expected panels that one found box covers (IoU at least `threshold`), each once."""
    return len(pairs(expected, found, threshold))


BODY = (
    "Case presentation. A patient presented with fever, dry cough and dyspnoea for five days. "
    "Oxygen saturation was 91% on room air. Reverse-transcription PCR of a nasopharyngeal swab "
    "was positive for SARS-CoV-2. Imaging on admission and during follow-up is shown below; "
    "the patient was treated with supplemental oxygen and discharged on day 21."
)


def extracted_with_panels(pdf: Path, out_dir: Path) -> list[Any]:
    """A PDF's images as the pipeline sees them (DocumentImage), then the panels cut from
    them, as `pipeline.extract` does."""
    from pipeline.config import Config
    from pipeline.panels import split_panels
    from pipeline.sources.pdf import extract_images

    return split_panels(extract_images(pdf, out_dir, Config()), out_dir)


PRINT_JPEG_QUALITY = 75  # a figure a publisher downsampled is stored as a JPEG


def downsampled_jpeg(image: np.ndarray, scale: float) -> bytes:
    """The image as a publisher stores a downsampled copy: reduced by `scale`, as a JPEG."""
    height, width = image.shape[:2]
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    reduced = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", reduced, [cv2.IMWRITE_JPEG_QUALITY, PRINT_JPEG_QUALITY])
    assert ok
    return data.tobytes()


def case_report_pdf(path: Path, composites: list[Composite], print_scale: float = 1.0) -> Path:
    """A journal-style case report: one page per figure, with a title, a paragraph of text,
    the figure and its caption under it. `print_scale` below 1: each figure is stored
    downsampled by it, as a JPEG (a publisher's or a preprint server's copy); its panels'
    boxes then scale by it too."""
    import pymupdf

    from tests.pdfs import encode

    if not 0.0 < print_scale <= 1.0:
        raise ValueError(f"print_scale must be in (0, 1], not {print_scale}")
    doc = pymupdf.open()
    for n, composite in enumerate(composites, 1):
        page = doc.new_page(width=595, height=842)
        page.insert_text((56, 60), f"Case report {n}: COVID-19 pneumonia", fontsize=14)
        page.insert_textbox(pymupdf.Rect(56, 75, 540, 160), BODY, fontsize=9)
        height, width = composite.image.shape[:2]
        scale = min(484 / width, 480 / height)
        rect = pymupdf.Rect(56, 170, 56 + width * scale, 170 + height * scale)
        if print_scale == 1.0:
            stream = encode(composite.image)
        else:
            stream = downsampled_jpeg(composite.image, print_scale)
        page.insert_image(rect, stream=stream)
        caption_box = pymupdf.Rect(56, rect.y1 + 8, 540, rect.y1 + 70)
        page.insert_textbox(caption_box, composite.caption, fontsize=9)
    doc.save(path)
    doc.close()
    return path


def random_layout(rng: np.random.Generator, number: int) -> dict[str, Any]:
    """A layout drawn at random from the classes above (for an estimate on layouts nobody
    wrote by hand): grid shape, one level of nesting, gutter width and colour, separator
    lines, labels, letters and crop."""
    kinds = ["xray", "xray", "lateral", "ct", "ct"]

    def leaf() -> dict[str, str]:
        return {"panel": kinds[int(rng.integers(len(kinds)))]}

    rows, cols = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    if rows * cols == 1:
        cols = 2
    tree: dict[str, Any] = {"rows": [{"cols": [leaf() for _ in range(cols)]} for _ in range(rows)]}
    if rng.random() < 0.25:  # nest: one cell holds two stacked panels
        row = tree["rows"][int(rng.integers(rows))]["cols"]
        row[int(rng.integers(len(row)))] = {"rows": [leaf(), leaf()]}
    gutter = int(rng.choice([0, 2, 4, 8, 14]))
    dark = rng.random() < 0.35
    cell = int(rng.integers(180, 330))
    case: dict[str, Any] = {
        "id": f"random-{number}",
        "class": "random",
        "size": [cols * cell + (cols + 1) * gutter, rows * cell + (rows + 1) * gutter],
        "gutter": gutter,
        "background": 0 if dark else 255,
        "crop": float(rng.choice([1.0, 0.9, 0.8])) if gutter else 0.8,
        "tree": tree,
    }
    if gutter >= 8 and rng.random() < 0.3:
        case["line"], case["line_grey"] = 2, 255 if dark else 0
    if gutter >= 4 and rng.random() < 0.3:
        case["labels"] = "below" if rng.random() < 0.7 else "above"
        case["size"][1] += rows * cell // 6
    if rng.random() < 0.3:
        case["letters"] = "box" if rng.random() < 0.5 else "plain"
    count = sum(1 for _ in _leaves((0, 0, 100, 100), tree, 0))
    case["caption"] = "Figure 1. A patient with COVID-19. " + " ".join(
        f"({chr(65 + n)}) {WORDS[n % len(WORDS)]}." for n in range(count)
    )
    return case
