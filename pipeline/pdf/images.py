"""Every image a PDF draws, written to files like `pdfimages -all`, with where and what it is.

Images are found by walking the content streams (see content_stream.py), so inline images,
images inside forms and soft-mask groups count, and images no page draws do not. Each
distinct image object is listed once, at its first draw, numbered in draw order like
pdfimages' `num`. Then: tiles stitched into figures, captions, icons flagged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.budgets import DEFAULT_LIMITS
from pipeline.pdf.open import open_pdf
from pipeline.pdf.record import PdfImage

if TYPE_CHECKING:
    import numpy as np
    import pymupdf

    from pipeline.config import ExtractionSettings

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_STEM_MAX = 80


class PixelSource:
    """Decoded pixels (gray or BGR) of an image: from MuPDF while the document is open,
    else from the written file. None for an image over the memory budget."""

    def __init__(self, doc: pymupdf.Document, xrefs: dict[int, int], max_bytes: int) -> None:
        self.doc = doc
        self.xrefs = xrefs
        self.max_bytes = max_bytes

    def __call__(self, image: PdfImage) -> np.ndarray | None:
        from pipeline.pdf.encode import decoded_pixels, image_facts
        from pipeline.pdf.errors import mupdf_errors

        xref = self.xrefs.get(image.index)
        if xref is not None and not self.doc.is_closed:
            try:
                if image_facts(self.doc, xref).decoded_bytes > self.max_bytes:
                    return None
                return decoded_pixels(self.doc, xref)
            except mupdf_errors():
                return None
        if image.file is None or image.file.suffix not in (".png", ".jpg"):
            return None
        if image.width * image.height * 3 > self.max_bytes:
            return None
        import cv2
        import numpy as np

        return cv2.imdecode(np.fromfile(image.file, dtype=np.uint8), cv2.IMREAD_COLOR)


def _enrich(step: str, pdf_path: Path, function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except Exception:  # noqa: BLE001  (logged with its traceback; the images are kept)
        log.exception("%s: %s step failed; images kept without it", pdf_path, step)
        return None


def safe_stem(pdf_path: Path) -> str:
    """The PDF's file stem reduced to [A-Za-z0-9._-], as a file-name prefix."""
    stem = _UNSAFE.sub("_", pdf_path.stem).strip("._") or "pdf"
    return stem[:_STEM_MAX]


def distinct_stems(pdf_paths: list[Path]) -> dict[Path, str]:
    """A file-name stem for each PDF, distinct when several write into one folder.

    The first PDF with a name keeps it (`paper`); another file of that name gets the name
    and a digest of its path (`paper-5d41402a`), so b/paper.pdf never overwrites the
    images of a/paper.pdf.
    """
    import hashlib

    stems: dict[Path, str] = {}
    used: set[str] = set()
    for path in pdf_paths:
        where = path.resolve()
        if where in stems:
            continue
        stem = safe_stem(path)
        if stem in used:
            digest = hashlib.sha256(str(where).encode()).hexdigest()
            stem = f"{stem[: _STEM_MAX - 9]}-{digest[:8]}"
        used.add(stem)
        stems[where] = stem
    return {path: stems[path.resolve()] for path in pdf_paths}


def extract_pdf_images(
    pdf_path: Path,
    out_dir: Path,
    *,
    max_megapixels: float | None = None,
    limits: ExtractionSettings | None = None,
    derived: bool = True,
    stem: str | None = None,
) -> list[PdfImage]:
    """Write each distinct image the PDF draws into `out_dir`; return them in draw order,
    followed by the figures stitched from tiles, which point back to their tiles. With
    `derived=False`, only the images the PDF draws (what pdfimages lists). Panels of
    compound figures are cut later, for every kind of source (`pipeline.panels`). Files
    are named `<stem>-NNN.<ext>`, the stem by default the PDF's name (see `distinct_stems`).

    Raises SourceError when the file is not a PDF MuPDF can read, and WorkBudgetExceeded
    (a SourceError) when walking it would cost more than `limits` (the budgets) allow.
    """
    import pymupdf

    from pipeline.pdf.captions import attach_captions
    from pipeline.pdf.collect import collect_drawn_images
    from pipeline.pdf.decorations import flag_decorations
    from pipeline.pdf.stitch import stitch_tiles

    limits = limits or DEFAULT_LIMITS
    if max_megapixels is not None:
        limits = replace(limits, max_megapixels=max_megapixels)
    stem = stem or safe_stem(pdf_path)
    doc = open_pdf(pdf_path)
    # MuPDF prints errors about damaged objects to stderr; they become log records here.
    shown = pymupdf.TOOLS.mupdf_display_errors()
    pymupdf.TOOLS.mupdf_display_errors(False)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        images, sources = collect_drawn_images(doc, pdf_path, out_dir, stem, limits)
        pixels = PixelSource(doc, sources, limits.max_image_bytes)
        # Enrichment is best effort: a bug or an odd page here must not lose the images.
        if derived:
            stitched = _enrich("stitch", pdf_path, stitch_tiles, images, out_dir, stem, pixels,
                               limits.max_image_bytes)  # fmt: skip
            images.extend(stitched or [])
        _enrich("decorations", pdf_path, flag_decorations, images, doc.page_count)
        _enrich("captions", pdf_path, attach_captions, doc, images)
    finally:
        doc.close()
        pymupdf.TOOLS.mupdf_display_errors(shown)
        for line in pymupdf.TOOLS.mupdf_warnings(reset=True).splitlines():
            log.debug("%s: MuPDF: %s", pdf_path, line)
    return images
