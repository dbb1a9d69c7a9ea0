"""Flag icons, logos and decorations: small images, or images repeated on many pages."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.pdf.record import PdfImage

# A figure worth a reviewer's look has at least this many pixels on its short side...
MIN_PIXELS = 48
# ...and is drawn at least this large on the page (points; 72 points = 1 inch).
MIN_DRAWN = 36.0
# Drawn on this many pages (or on every page of a longer document): a logo or a header.
REPEATED_PAGES = 3


def flag_decorations(images: list[PdfImage], page_count: int) -> None:
    pages_by_hash: dict[str, set[int]] = defaultdict(set)
    for image in images:
        if image.sha256:
            pages_by_hash[image.sha256].update(image.pages or [image.page])
    for image in images:
        if "tile" in image.flags:
            continue
        pages = set(image.pages or [image.page]) | pages_by_hash.get(image.sha256, set())
        on_every_page = page_count >= 2 and len(pages) == page_count and _modest(image)
        if len(pages) >= REPEATED_PAGES or on_every_page:
            image.flags.append("repeated")
        if _small(image):
            image.flags.append("icon")


def _modest(image: PdfImage) -> bool:
    """Drawn smaller than a quarter of a letter page: a header logo, not a figure shown
    again on the second page of a two-page report."""
    if image.bbox is None:
        return True
    x0, y0, x1, y1 = image.bbox
    return (x1 - x0) * (y1 - y0) < 0.25 * 612 * 792


def _small(image: PdfImage) -> bool:
    if min(image.width, image.height) < MIN_PIXELS:
        return True
    if image.bbox is None:
        return False
    x0, y0, x1, y1 = image.bbox
    return min(x1 - x0, y1 - y0) < MIN_DRAWN
