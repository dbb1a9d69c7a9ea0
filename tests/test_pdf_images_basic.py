"""extract_pdf_images on a small generated paper: files, fields, captions."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.pdf.images import extract_pdf_images
from tests.pdfs import case_report_pdf


def test_case_report_images_are_written_with_provenance(tmp_path: Path) -> None:
    pdf = case_report_pdf(tmp_path / "case report.pdf")

    images = extract_pdf_images(pdf, tmp_path / "out")

    assert [image.index for image in images] == [0, 1, 2]
    assert [image.page for image in images] == [1, 1, 2]
    first = images[0]
    assert first.file is not None and first.file.name == "case_report-000.jpg"
    assert first.encoding == "jpeg" and first.width == 384 and first.height == 384
    assert first.sha256 == hashlib.sha256(first.file.read_bytes()).hexdigest()
    assert first.bbox is not None and first.bbox[0] == 150
    assert first.caption is not None and first.caption.startswith("Figure 1. Chest radiograph")
    assert images[2].caption is not None and images[2].caption.startswith("Figure 3. Axial CT")
    entry = first.to_json()
    for key in ("pdf", "page", "index", "file", "width", "height", "xref", "encoding", "bbox"):
        assert key in entry
