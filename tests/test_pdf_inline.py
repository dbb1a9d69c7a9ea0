"""Inline images (BI ... ID ... EI in a content stream), which get_images() never lists."""

from __future__ import annotations

import zlib
from pathlib import Path

import cv2
import numpy as np

from pipeline.pdf.images import extract_pdf_images
from tests.test_pdf_raw import RawPdf, gradient


def test_inline_images_of_every_kind_are_found_and_decoded(tmp_path: Path) -> None:
    gray = gradient(16, 4)
    gray[1, 3:7] = list(b" EI ")  # the end marker inside the data must not end the image
    jpeg = cv2.imencode(".jpg", gradient(32, 16))[1].tobytes()
    content = b"".join(
        [
            b"q 40 0 0 30 100 200 cm BI /W 16 /H 4 /BPC 8 /CS /G ID\n", gray.tobytes(),
            b"\nEI Q\n",
            b"q 20 0 0 20 300 300 cm BI /W 2 /H 1 /BPC 8 /CS /RGB /F /AHx ID\n",
            b"ff0000 00ff00>\nEI Q\n",
            b"q 20 0 0 20 300 400 cm BI /W 2 /H 1 /BPC 8 /CS /CS0 ID\n\x00\x01\nEI Q\n",
            b"q 64 0 0 32 10 10 cm BI /W 32 /H 16 /BPC 8 /CS /G /F /DCT ID ", jpeg,
            b"\nEI Q\n",
            b"q 20 0 0 20 400 300 cm BI /W 2 /H 1 /BPC 8 /CS /RGB /F /Fl ID ",
            zlib.compress(b"\x00\x00\xff\xff\xff\xff"), b"\nEI Q\n",
            b"BT /F1 12 Tf (BI ID EI Do) Tj ET\n",
        ]
    )  # fmt: skip
    pdf = RawPdf()
    pdf.add_page(content, "<</ColorSpace<</CS0[/Indexed/DeviceRGB 1<0000FF00FF00>]>>>>")
    images = extract_pdf_images(pdf.save(tmp_path / "inline.pdf"), tmp_path / "out")

    assert [(im.width, im.height) for im in images] == [(16, 4), (2, 1), (2, 1), (32, 16), (2, 1)]
    assert all(im.xref is None and im.page == 1 for im in images)
    first = images[0]
    assert np.array_equal(cv2.imread(str(first.file), cv2.IMREAD_GRAYSCALE), gray)
    assert first.bbox == (100.0, 370.0, 140.0, 400.0)  # top-left origin, like PyMuPDF
    hex_rgb = cv2.imread(str(images[1].file))
    assert list(hex_rgb[0, 0]) == [0, 0, 255] and list(hex_rgb[0, 1]) == [0, 255, 0]
    indexed = cv2.imread(str(images[2].file))
    assert images[2].colorspace == "index"
    assert list(indexed[0, 0]) == [255, 0, 0] and list(indexed[0, 1]) == [0, 255, 0]
    assert images[3].encoding == "jpeg" and images[3].file.read_bytes().startswith(b"\xff\xd8")
    assert list(cv2.imread(str(images[4].file))[0, 1]) == [255, 255, 255]


def test_an_inline_image_drawn_twice_is_listed_twice_like_pdfimages(tmp_path: Path) -> None:
    pdf = RawPdf()
    form = pdf.add_form(b"BI /W 1 /H 1 /BPC 8 /CS /G ID \x80 EI", "<<>>")
    pdf.add_page(
        b"q 10 0 0 10 0 0 cm /Fm0 Do Q q 10 0 0 10 50 50 cm /Fm0 Do Q",
        f"<</XObject<</Fm0 {form} 0 R>>>>",
    )
    images = extract_pdf_images(pdf.save(tmp_path / "twice.pdf"), tmp_path / "out")
    assert len(images) == 2 and images[0].bbox != images[1].bbox


def test_type3_glyph_images_are_not_document_images(tmp_path: Path) -> None:
    # Regression: listing images drawn by Type 3 glyph procedures (Google Docs bullets,
    # bitmap TeX fonts) made extras; pdfimages does not run glyph procedures either.
    pdf = RawPdf()
    picture = pdf.add_image(gradient(8, 8))
    glyph = pdf.add_object("<<>>", b"8 0 0 0 0 8 d1 q 8 0 0 8 0 0 cm /Pic Do Q")
    font = pdf.add_object(
        "<</Type/Font/Subtype/Type3/FontBBox[0 0 8 8]/FontMatrix[0.125 0 0 0.125 0 0]"
        f"/CharProcs<</a {glyph} 0 R>>/Encoding<</Type/Encoding/Differences[65/a]>>"
        f"/FirstChar 65/LastChar 65/Widths[8]/Resources<</XObject<</Pic {picture} 0 R>>>>>>"
    )
    pdf.add_page(b"BT /T3 12 Tf 100 100 Td (AAA) Tj ET", f"<</Font<</T3 {font} 0 R>>>>")
    assert extract_pdf_images(pdf.save(tmp_path / "type3.pdf"), tmp_path / "out") == []
