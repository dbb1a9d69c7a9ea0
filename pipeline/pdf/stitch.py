"""Stitch images drawn as adjacent tiles or strips back into the one figure they make.

Scanners and some PDF writers cut a large picture into strips or a grid of tiles, each its
own image, drawn edge to edge at the same resolution. Two images are parts of one figure
when, on the same page, they share an edge (within a point), line up along it, and have
the same pixels-per-point scale. The stitched figure is a new image listing its `parts`;
each part stays in the list, flagged "tile".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.files import write_once_bytes

if TYPE_CHECKING:
    import numpy as np

    from pipeline.pdf.record import PdfImage

_EDGE = 1.5  # points: how far apart two edges may be and still touch
_SCALE = 0.03  # relative difference in pixels per point still counted as the same scale


def stitch_tiles(
    images: list[PdfImage],
    out_dir: Path,
    stem: str,
    pixels_of: Callable[[PdfImage], np.ndarray | None],
    max_bytes: int,
) -> list[PdfImage]:
    """New stitched images for groups of adjacent tiles (parts flagged "tile"); a figure
    that would need more than `max_bytes` of pixels is left in its tiles."""
    candidates = [
        image
        for image in images
        if image.bbox is not None and image.file is not None and "undecodable" not in image.flags
    ]
    by_page: dict[int, list[PdfImage]] = {}
    for image in candidates:
        by_page.setdefault(image.page, []).append(image)
    stitched: list[PdfImage] = []
    next_index = len(images)
    for page_images in by_page.values():
        if len(page_images) < 2:
            continue
        for group in _adjacent_groups(page_images):
            image = _stitch(group, out_dir, stem, next_index, pixels_of, max_bytes)
            if image is None:
                continue
            for part in group:
                part.flags.append("tile")
            stitched.append(image)
            next_index += 1
    return stitched


def _scale(image: PdfImage) -> tuple[float, float]:
    x0, y0, x1, y1 = image.bbox  # type: ignore[misc]
    return image.width / max(x1 - x0, 1e-6), image.height / max(y1 - y0, 1e-6)


def _same_scale(a: PdfImage, b: PdfImage) -> bool:
    (ax, ay), (bx, by) = _scale(a), _scale(b)
    return abs(ax - bx) <= _SCALE * max(ax, bx) and abs(ay - by) <= _SCALE * max(ay, by)


def _touching(a: PdfImage, b: PdfImage) -> bool:
    ax0, ay0, ax1, ay1 = a.bbox  # type: ignore[misc]
    bx0, by0, bx1, by1 = b.bbox  # type: ignore[misc]
    same_columns = abs(ax0 - bx0) <= _EDGE and abs(ax1 - bx1) <= _EDGE
    same_rows = abs(ay0 - by0) <= _EDGE and abs(ay1 - by1) <= _EDGE
    stacked = abs(ay1 - by0) <= _EDGE or abs(by1 - ay0) <= _EDGE
    side_by_side = abs(ax1 - bx0) <= _EDGE or abs(bx1 - ax0) <= _EDGE
    return (same_columns and stacked) or (same_rows and side_by_side)


def _adjacent_groups(images: list[PdfImage]) -> list[list[PdfImage]]:
    parent = list(range(len(images)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(images):
        for j in range(i + 1, len(images)):
            b = images[j]
            if a.colorspace == b.colorspace and _touching(a, b) and _same_scale(a, b):
                parent[find(j)] = find(i)
    groups: dict[int, list[PdfImage]] = {}
    for i, image in enumerate(images):
        groups.setdefault(find(i), []).append(image)
    return [sorted(g, key=lambda im: im.index) for g in groups.values() if len(g) >= 2]


def _stitch(
    group: list[PdfImage],
    out_dir: Path,
    stem: str,
    index: int,
    pixels_of: Callable[[PdfImage], np.ndarray | None],
    max_bytes: int,
) -> PdfImage | None:
    import numpy as np

    from pipeline.pdf.png import encode_png

    x0 = min(im.bbox[0] for im in group)  # type: ignore[index]
    y0 = min(im.bbox[1] for im in group)  # type: ignore[index]
    x1 = max(im.bbox[2] for im in group)  # type: ignore[index]
    y1 = max(im.bbox[3] for im in group)  # type: ignore[index]
    sx, sy = _scale(group[0])
    width, height = round((x1 - x0) * sx), round((y1 - y0) * sy)
    if width * height * (1 if group[0].colorspace in ("gray", "-") else 3) > max_bytes:
        return None
    canvas: np.ndarray | None = None
    for part in group:
        pixels = pixels_of(part)
        if pixels is None:
            return None
        if canvas is None:
            shape = (height, width) if pixels.ndim == 2 else (height, width, 3)
            canvas = np.full(shape, 255, dtype=np.uint8)
        if pixels.ndim != canvas.ndim:
            import cv2

            code = cv2.COLOR_GRAY2BGR if pixels.ndim == 2 else cv2.COLOR_BGR2GRAY
            pixels = cv2.cvtColor(pixels, code)
        left = round((part.bbox[0] - x0) * sx)  # type: ignore[index]
        top = round((part.bbox[1] - y0) * sy)  # type: ignore[index]
        h = min(pixels.shape[0], height - top)
        w = min(pixels.shape[1], width - left)
        if h <= 0 or w <= 0:
            continue
        canvas[top : top + h, left : left + w] = pixels[:h, :w]
    if canvas is None or not _seams_continue(canvas, group, x0, y0, sx, sy):
        return None
    placed = write_once_bytes(out_dir / f"{stem}-{index:03d}.png", encode_png(canvas))
    first = group[0]
    return replace(
        first,
        index=index,
        file=placed.path,
        width=width,
        height=height,
        xref=None,
        encoding="image",
        bbox=(x0, y0, x1, y1),
        sha256=placed.sha256,
        parts=[part.index for part in group],
        flags=["stitched"],
        rgba_file=None,
        pages=[first.page],
    )


def _seams_continue(
    canvas: np.ndarray, group: list[PdfImage], x0: float, y0: float, sx: float, sy: float
) -> bool:
    """Tiles of one picture continue across their seams; separate pictures side by side
    (two radiographs drawn edge to edge) jump there."""
    import numpy as np

    pixels = canvas  # rows and columns are widened to int16 one at a time below
    for part in group:
        left = round((part.bbox[0] - x0) * sx)  # type: ignore[index]
        top = round((part.bbox[1] - y0) * sy)  # type: ignore[index]
        right = min(left + part.width, canvas.shape[1])
        bottom = min(top + part.height, canvas.shape[0])
        if 0 < top < canvas.shape[0] - 1:
            rows = pixels[top - 1 : top + 2, left:right].astype(np.int16)
            seam = np.abs(rows[0] - rows[1]).mean()
            inside = np.abs(rows[2] - rows[1]).mean()
            if seam > 4 * inside + 25:
                return False
        if 0 < left < canvas.shape[1] - 1:
            cols = pixels[top:bottom, left - 1 : left + 2].astype(np.int16)
            seam = np.abs(cols[:, 0] - cols[:, 1]).mean()
            inside = np.abs(cols[:, 2] - cols[:, 1]).mean()
            if seam > 4 * inside + 25:
                return False
    return True
