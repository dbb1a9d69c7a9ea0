"""Files that are not usable PDFs are refused with a reason; damaged ones are repaired;
bombs and undecodable images are reported, never fatal."""

from __future__ import annotations

import logging
from pathlib import Path

import pymupdf
import pytest

from pipeline.errors import SourceError
from pipeline.pdf.images import extract_pdf_images
from tests.pdfs import case_report_pdf
from tests.test_pdf_raw import RawPdf, gradient


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.pdf", b"", "empty file"),
        ("page.pdf", b"<!DOCTYPE html><html><body>Sign in</body></html>", "HTML page"),
        ("cut.pdf", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "truncated PDF"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    with pytest.raises(SourceError, match=reason) as caught:
        extract_pdf_images(write(tmp_path / name, data), tmp_path / "out")
    assert caught.value.source.endswith(name)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="file not found"):
        extract_pdf_images(tmp_path / "nope.pdf", tmp_path / "out")


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    doc = pymupdf.open()
    doc.new_page()
    path = tmp_path / "locked.pdf"
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    with pytest.raises(SourceError, match="encrypted"):
        extract_pdf_images(path, tmp_path / "out")


def test_damaged_cross_reference_table_is_repaired(tmp_path: Path) -> None:
    data = case_report_pdf(tmp_path / "good.pdf").read_bytes()
    start = data.rindex(b"startxref")
    damaged = data[:start] + b"startxref\n999999\n%%EOF\n"
    images = extract_pdf_images(write(tmp_path / "damaged.pdf", damaged), tmp_path / "out")
    assert len(images) == 3 and all(image.file is not None for image in images)


def test_decompression_bomb_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pdf = RawPdf()
    bomb = pdf.add_object(
        "<</Type/XObject/Subtype/Image/Width 20000/Height 10000/BitsPerComponent 8"
        "/ColorSpace/DeviceGray/Filter/FlateDecode>>",
        b"x\x9c\x03\x00\x00\x00\x00\x01",
    )
    small = pdf.add_image(gradient())
    pdf.add_page(
        b"q 100 0 0 100 0 0 cm /Bomb Do Q q 64 0 0 48 200 200 cm /Im Do Q",
        f"<</XObject<</Bomb {bomb} 0 R/Im {small} 0 R>>>>",
    )
    with caplog.at_level(logging.WARNING):
        images = extract_pdf_images(pdf.save(tmp_path / "bomb.pdf"), tmp_path / "out")
    first, second = images
    assert first.file is None and "too-large" in first.flags and first.sha256 == ""
    assert (first.width, first.height) == (20000, 10000)
    assert second.file is not None
    assert "megapixels" in caplog.text


def test_undecodable_jpx_is_written_raw_and_flagged(tmp_path: Path) -> None:
    # Regression: one JPX in the corpus fails "Failed to read JPX header"; pdfimages still
    # writes its bytes, and so do we.
    garbage = b"\x00\x00\x00\x0cjP  \r\n\x87\nthis is not a JPEG 2000 codestream"
    pdf = RawPdf()
    xref = pdf.add_object(
        "<</Type/XObject/Subtype/Image/Width 10/Height 10/BitsPerComponent 8"
        "/ColorSpace[/Indexed/DeviceRGB 1<000000FFFFFF>]/Filter/JPXDecode>>",
        garbage,
    )
    pdf.add_page(b"q 10 0 0 10 0 0 cm /J Do Q", f"<</XObject<</J {xref} 0 R>>>>")
    [image] = extract_pdf_images(pdf.save(tmp_path / "jpx.pdf"), tmp_path / "out")
    assert image.file is not None and image.file.read_bytes() == garbage
    assert image.file.suffix == ".jp2" and "undecodable" in image.flags


def test_corrupt_flate_image_does_not_stop_the_document(tmp_path: Path) -> None:
    pdf = RawPdf()
    broken = pdf.add_object(
        "<</Type/XObject/Subtype/Image/Width 10/Height 10/BitsPerComponent 8"
        "/ColorSpace/DeviceGray/Filter/FlateDecode>>",
        b"not zlib at all",
    )
    good = pdf.add_image(gradient())
    pdf.add_page(
        b"q 10 0 0 10 0 0 cm /B Do Q q 64 0 0 48 100 100 cm /G Do Q",
        f"<</XObject<</B {broken} 0 R/G {good} 0 R>>>>",
    )
    images = extract_pdf_images(pdf.save(tmp_path / "flate.pdf"), tmp_path / "out")
    assert [image.xref for image in images] == [broken, good]
    assert images[1].file is not None
