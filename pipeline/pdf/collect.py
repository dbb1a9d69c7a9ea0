"""Walk every page, and write each distinct image at its first draw (see images.py)."""

from __future__ import annotations

import logging
import zlib
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.budgets import WorkMeter, image_refusal
from pipeline.files import Placed
from pipeline.pdf.content_stream import Draw, PageWalker, multiply, transform_rect
from pipeline.pdf.encode import ImageFacts, Written, image_facts, write_image
from pipeline.pdf.errors import mupdf_errors
from pipeline.pdf.inline_images import materialize_inline
from pipeline.pdf.record import PdfImage
from pipeline.pdf.writer import FileWriter

if TYPE_CHECKING:
    import pymupdf

    from pipeline.config import ExtractionSettings

log = logging.getLogger(__name__)


def collect_drawn_images(
    doc: pymupdf.Document,
    pdf_path: Path,
    out_dir: Path,
    stem: str,
    limits: ExtractionSettings,
) -> tuple[list[PdfImage], dict[int, int]]:
    """Each distinct image in order of first draw, its file written and hashed; and for
    each index the object MuPDF decodes it from (inline images get one in memory).

    WorkBudgetExceeded (a SourceError) when the walk needs more work than `limits` allow.
    """
    collector = _Collector(doc, pdf_path, out_dir, stem, limits)
    with FileWriter(max_pending_bytes=limits.max_image_bytes) as writer:
        for page_index in range(doc.page_count):
            try:
                collector.page(page_index, writer)
            except mupdf_errors() as exc:  # a page MuPDF cannot load: the others still count
                log.warning("%s: page %d not readable: %s", pdf_path, page_index + 1, exc)
    for image in collector.images:
        written = collector.pending.get(image.index)
        if written is None:
            continue
        try:
            placed = written.file.result()
        except (OSError, ValueError, zlib.error) as exc:
            log.warning("%s: image %d not written: %s", pdf_path, image.index, exc)
            image.file = None
            image.flags.append("undecodable")
            continue
        image.file, image.sha256 = placed.path, placed.sha256
        image.rgba_file = _placed_path(written.rgba_file)
        image.original_file = _placed_path(written.original_file)
    return collector.images, collector.decode_xrefs


class _Collector:
    def __init__(
        self,
        doc: pymupdf.Document,
        pdf_path: Path,
        out_dir: Path,
        stem: str,
        limits: ExtractionSettings,
    ) -> None:
        self.doc = doc
        self.pdf_path = pdf_path
        self.out_dir = out_dir
        self.stem = stem
        self.limits = limits
        self.walker = PageWalker(doc, WorkMeter(str(pdf_path), limits))
        self.images: list[PdfImage] = []
        self.by_key: dict[tuple[Any, ...], PdfImage] = {}
        self.pending: dict[int, Written] = {}
        self.decode_xrefs: dict[int, int] = {}

    def page(self, page_index: int, writer: FileWriter) -> None:
        to_page = tuple(self.doc[page_index].transformation_matrix)
        for number, draw in enumerate(self.walker.page_draws(page_index)):
            if draw.inline is not None:
                # pdfimages lists every draw of an inline image (it has no object to share):
                # one drawn twice (by a form used twice) counts twice.
                draw = replace(draw, key=("inline", page_index, number))
            known = self.by_key.get(draw.key)
            if known is not None:
                if page_index + 1 not in known.pages:
                    known.pages.append(page_index + 1)
                continue
            image = self._new_image(draw, writer)
            if image is None:
                continue
            image.page = page_index + 1
            image.pages = [image.page]
            image.bbox = _bbox(draw, to_page)
            self.by_key[draw.key] = image
            self.images.append(image)

    def _new_image(self, draw: Draw, writer: FileWriter) -> PdfImage | None:
        self.walker.meter.charge("images", 1)
        index = len(self.images)
        xref = draw.xref
        try:
            if draw.inline is not None:
                inline = draw.inline
                xref = materialize_inline(self.doc, inline.dict_text, inline.data, inline.resources)
            assert xref is not None
            facts = image_facts(self.doc, xref)
            self.decode_xrefs[index] = xref
        except mupdf_errors() as exc:
            log.warning("%s: image %s not readable: %s", self.pdf_path, xref or "inline", exc)
            return None
        image = PdfImage(
            pdf=str(self.pdf_path),
            page=0,
            index=index,
            file=None,
            width=facts.width,
            height=facts.height,
            xref=draw.xref,
            encoding=facts.encoding,
            colorspace=facts.colorspace,
            bbox=None,
            sha256="",
        )
        if draw.in_smask:
            image.flags.append("in-smask")
        reason = too_large(facts, self.limits)
        if reason is not None:
            log.warning("%s: image %d skipped: %s", self.pdf_path, index, reason)
            image.flags.append("too-large")
            image.skipped = reason
            return image
        written = write_image(self.doc, xref, facts, self.out_dir / f"{self.stem}-{index:03d}",
                              writer)  # fmt: skip
        image.flags.extend(written.flags)
        self.pending[index] = written
        return image


def _placed_path(written: Future[Placed] | None) -> Path | None:
    """Where a secondary file (the soft-masked rendition, the original bytes) landed."""
    if written is None:
        return None
    try:
        return written.result().path
    except (OSError, ValueError, zlib.error):
        return None


def _bbox(draw: Draw, to_page: tuple[float, ...]) -> tuple[float, float, float, float]:
    """Where the unit square lands on the page, in PyMuPDF page coordinates (top-left)."""
    x0, y0, x1, y1 = transform_rect(multiply(draw.ctm, to_page), (0.0, 0.0, 1.0, 1.0))  # type: ignore[arg-type]
    return (x0, y0, x1, y1)


def too_large(facts: ImageFacts, limits: ExtractionSettings) -> str | None:
    """Why the image is not decoded (over the pixel cap or the memory budget), or None.
    An image written without decoding (an encoded original kept as it is, Flate samples
    streamed) is held to the pixel cap only."""
    decoded = None if facts.written_without_decoding else facts.decoded_bytes
    return image_refusal(limits, facts.width, facts.height, decoded)
