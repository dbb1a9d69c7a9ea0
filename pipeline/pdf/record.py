"""One image a PDF draws, as extraction records it (what `images --json` prints)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class PdfImage:
    pdf: str  # the PDF path as given
    page: int  # first page that draws it, 1-based
    index: int  # 0-based, in order of first draw (like pdfimages' num)
    file: Path | None  # written file, None when skipped (decompression bomb)
    width: int
    height: int
    xref: int | None  # None for inline images (and stitched or panel images)
    encoding: str  # pdfimages -list 'enc': "jpeg", "jpx", "jbig2", "ccitt", "image"
    colorspace: str  # "gray", "rgb", "cmyk", "index", "icc", "devn", "sep", "lab", "-"
    bbox: tuple[float, float, float, float] | None  # where drawn on that page, PDF points
    sha256: str  # of the written file's bytes ("" when not written)
    caption: str | None = None
    panel: str | None = None
    panel_of: int | None = None
    panel_caption: str | None = None
    parts: list[int] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    rgba_file: Path | None = None  # soft mask applied, beside `file`
    pages: list[int] = field(default_factory=list)  # every page that draws it
    original_file: Path | None = None  # encoded bytes, when `file` is a PNG rendition
    skipped: str | None = None  # why no file was written (too large to decode, ...)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["file"] = str(self.file) if self.file is not None else None
        for key in ("rgba_file", "original_file"):
            data[key] = str(data[key]) if data[key] is not None else None
        data["bbox"] = [round(v, 2) for v in self.bbox] if self.bbox is not None else None
        return data
