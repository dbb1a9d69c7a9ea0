"""Compound figures cut into panels, for the images of every kind of source.

A panel becomes an image of its own after all the others, pointing to its figure
(`panel_of`), with its letter, its part of the caption and its box in the figure; the
figure stays in the list (and in the manifest) but is staged as its panels. How a figure
is cut is `pipeline.compound.split_figure`.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.budgets import DEFAULT_LIMITS
from pipeline.compound import MIN_SIDE, Panel, split_figure
from pipeline.document import NOT_STAGED_FLAGS, SEVERAL_PAGES, DocumentImage
from pipeline.files import write_once_bytes

if TYPE_CHECKING:
    import numpy as np

    from pipeline.config import ExtractionSettings

log = logging.getLogger(__name__)

def _figure_pixels(image: DocumentImage, limits: ExtractionSettings) -> np.ndarray | None:
    """The image at full size (gray or BGR), or None when OpenCV cannot read the file or
    decoding it whole would hold more than the memory budget (then it is not cut)."""
    import cv2
    import numpy as np

    from pipeline.budgets import image_refusal
    from pipeline.classify.decode import declared_size

    assert image.file is not None
    try:
        data = np.fromfile(image.file, dtype=np.uint8)
    except OSError as exc:
        log.warning("%s: cannot read for panels: %s", image.file, exc)
        return None
    declared = declared_size(data.tobytes()) if data.size else None
    if declared is not None:
        width, height, _per_pixel = declared
        # Decoded to BGR, which OpenCV holds about twice while decoding.
        reason = image_refusal(limits, width, height, 2 * width * height * 3)
        if reason is not None:
            log.warning("%s: not cut into panels: %s", image.file, reason)
            return None
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


def _cuttable(image: DocumentImage) -> bool:
    if image.file is None or image.panel_of is not None:
        return False
    if NOT_STAGED_FLAGS.intersection(image.flags) or SEVERAL_PAGES in image.flags:
        return False
    return min(image.width or 0, image.height or 0) >= MIN_SIDE


def split_panels(
    images: list[DocumentImage], out_dir: Path, limits: ExtractionSettings = DEFAULT_LIMITS
) -> list[DocumentImage]:
    """The images, then a new image for each panel of each compound figure (a figure too
    large to decode within `limits` is left whole)."""
    panels: list[DocumentImage] = []
    next_index = max((image.index for image in images), default=-1) + 1
    # A caption over several images of a page is split among them (pdf/captions.py), so
    # none of them gets its letters and parts whole.
    shared = Counter((image.page, image.caption) for image in images if image.caption)
    for figure in images:
        if not _cuttable(figure):
            continue
        pixels = _figure_pixels(figure, limits)
        if pixels is None:
            continue
        alone = shared[(figure.page, figure.caption)] == 1
        for cut in split_figure(pixels, figure.caption if alone else None).panels:
            panels.append(_panel(figure, pixels, cut, next_index, out_dir))
            next_index += 1
    return [*images, *panels]


def _panel(
    figure: DocumentImage, pixels: np.ndarray, cut: Panel, index: int, out_dir: Path
) -> DocumentImage:
    from pipeline.pdf.png import encode_png

    x0, y0, x1, y1 = cut.box
    assert figure.file is not None
    stem = figure.file.stem.rsplit("-", 1)[0]
    placed = write_once_bytes(out_dir / f"{stem}-{index:03d}.png", encode_png(pixels[y0:y1, x0:x1]))
    return replace(
        figure,
        index=index,
        file=placed.path,
        sha256=placed.sha256,
        width=x1 - x0,
        height=y1 - y0,
        xref=None,
        bbox=_page_box(figure, cut.box),
        panel=cut.letter,
        panel_of=figure.index,
        panel_caption=cut.caption,
        panel_box=cut.box,
        # The page's view words described the whole figure, not this panel.
        declared_view=None,
        view_text=None,
        flags=["panel", "letter-guessed"] if cut.guessed else ["panel"],
        review_flags=list(figure.review_flags),
        origin={},
    )


def _page_box(figure: DocumentImage, box: tuple[int, int, int, int]) -> tuple[float, ...] | None:
    """Where the panel lies on the page, from where the figure is drawn."""
    if figure.bbox is None or not figure.width or not figure.height:
        return None
    fx0, fy0, fx1, fy1 = figure.bbox
    sx, sy = (fx1 - fx0) / figure.width, (fy1 - fy0) / figure.height
    x0, y0, x1, y1 = box
    return (fx0 + x0 * sx, fy0 + y0 * sy, fx0 + x1 * sx, fy0 + y1 * sy)
