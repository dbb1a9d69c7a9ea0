"""A builder for PDFs with hand-written content streams and image objects, used by the
other test_pdf_* files (PyMuPDF's insert_image re-encodes images; these tests need exact
filters, colour spaces, inline images, forms and soft-mask groups)."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pymupdf
from pymupdf import mupdf


class RawPdf:
    """Pages with raw content streams; objects added with exact dictionaries and bytes."""

    def __init__(self) -> None:
        self.doc = pymupdf.open()

    def add_object(self, dictionary: str, data: bytes | None = None) -> int:
        """A new object; with `data`, a stream stored exactly as given (already encoded)."""
        xref = self.doc.get_new_xref()
        self.doc.update_object(xref, dictionary)
        if data is not None:
            pdf = pymupdf._as_pdf_document(self.doc)
            obj = mupdf.pdf_load_object(pdf, xref)
            mupdf.pdf_update_stream(pdf, obj, mupdf.fz_new_buffer_from_copied_data(data), 1)
        return xref

    def add_image(self, pixels: np.ndarray, extra: str = "", colorspace: str = "") -> int:
        """A Flate image of uint8 pixels (h, w) gray or (h, w, 3) RGB or (h, w, 4) CMYK."""
        channels = 1 if pixels.ndim == 2 else pixels.shape[2]
        space = colorspace or {1: "/DeviceGray", 3: "/DeviceRGB", 4: "/DeviceCMYK"}[channels]
        height, width = pixels.shape[:2]
        return self.add_object(
            f"<</Type/XObject/Subtype/Image/Width {width}/Height {height}"
            f"/BitsPerComponent 8/ColorSpace {space}/Filter/FlateDecode{extra}>>",
            zlib.compress(np.ascontiguousarray(pixels).tobytes()),
        )

    def add_form(self, content: bytes, resources: str, bbox: str = "[0 0 1000 1000]") -> int:
        return self.add_object(
            f"<</Type/XObject/Subtype/Form/BBox {bbox}/Resources {resources}>>",
            content,
        )

    def add_page(self, content: bytes, resources: str = "<<>>", size: float = 600) -> int:
        page = self.doc.new_page(width=size, height=size)
        contents = self.add_object("<<>>", content)
        self.doc.xref_set_key(page.xref, "Contents", f"{contents} 0 R")
        self.doc.xref_set_key(page.xref, "Resources", resources)
        return page.number

    def save(self, path: Path) -> Path:
        self.doc.save(path)
        self.doc.close()
        return path


def gradient(width: int = 64, height: int = 48) -> np.ndarray:
    """A gray ramp: left dark, right bright."""
    row = np.linspace(0, 255, width).astype(np.uint8)
    return np.tile(row, (height, 1))


def test_raw_pdf_draws_what_it_says(tmp_path: Path) -> None:
    pdf = RawPdf()
    image = pdf.add_image(gradient())
    pdf.add_page(b"q 100 0 0 50 10 20 cm /Im1 Do Q", f"<</XObject<</Im1 {image} 0 R>>>>")
    path = pdf.save(tmp_path / "raw.pdf")
    with pymupdf.open(path) as doc:
        [info] = doc[0].get_image_info(xrefs=True)
        assert info["width"] == 64 and round(info["bbox"][0]) == 10
