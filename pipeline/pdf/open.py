"""Open a PDF file, refusing what is not a usable PDF with a reason a curator can act on."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from pipeline.errors import SourceError

# Readers look for the end-of-file marker within the last 1024 bytes (PDF 32000-1, 7.5.5).
_EOF_WINDOW = 1024


def _sniff_non_pdf(head: bytes) -> str:
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:512]:
        return "not a PDF: an HTML page (a paywall or error page served in place of the PDF?)"
    if lowered.startswith((b"{", b"[")):
        return "not a PDF: JSON data"
    if head[:4] == b"PK\x03\x04":
        return "not a PDF: a ZIP archive"
    return f"not a PDF: starts with {head[:8]!r} instead of %PDF-"


def check_pdf_bytes(source: str, data: bytes) -> None:
    """Raise SourceError unless `data` looks like a complete PDF file."""
    if not data:
        raise SourceError(source, "empty file (0 bytes)")
    # The header may be preceded by a few junk bytes; readers accept it within the first 1 KiB.
    if b"%PDF-" not in data[:1024]:
        raise SourceError(source, _sniff_non_pdf(data[:1024]))
    if b"%%EOF" not in data[-_EOF_WINDOW:]:
        raise SourceError(
            source,
            f"truncated PDF: no %%EOF marker at the end ({len(data)} bytes; incomplete download?)",
        )


def open_pdf(path: Path) -> pymupdf.Document:
    """Open `path` as a PDF, or raise SourceError naming the file and the reason.

    Damaged cross-reference tables are repaired by MuPDF when it can; a document
    that needs a password, or has no pages after repair, is refused.
    """
    source = str(path)
    if not path.exists():
        raise SourceError(source, "file not found")
    if path.is_dir():
        raise SourceError(source, "is a directory, not a PDF file")
    data = path.read_bytes()
    check_pdf_bytes(source, data)
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except (RuntimeError, ValueError) as exc:  # pymupdf raises FileDataError (a RuntimeError)
        raise SourceError(source, f"damaged PDF that MuPDF cannot repair: {exc}") from exc
    if doc.needs_pass:
        doc.close()
        raise SourceError(source, "encrypted PDF: a password is required to read it")
    if doc.page_count == 0:
        doc.close()
        raise SourceError(source, "damaged PDF: no pages could be read")
    return doc
