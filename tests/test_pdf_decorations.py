"""Icons, logos and decorations stay in the list, flagged so that they are never staged."""

from __future__ import annotations

from pathlib import Path

from pipeline.pdf.images import extract_pdf_images
from tests import phantoms
from tests.test_pdf_raw import RawPdf, gradient


def test_small_and_repeated_images_are_flagged(tmp_path: Path) -> None:
    pdf = RawPdf()
    logo = pdf.add_image(gradient(120, 60))
    icon = pdf.add_image(gradient(20, 20))
    figure = pdf.add_image(phantoms.chest_xray_frontal(256, seed=3))
    resources = f"<</XObject<</Logo {logo} 0 R/Icon {icon} 0 R/Fig {figure} 0 R>>>>"
    header = b"q 120 0 0 60 20 520 cm /Logo Do Q "
    pdf.add_page(header + b"q 300 0 0 300 100 100 cm /Fig Do Q", resources)
    pdf.add_page(header + b"q 12 0 0 12 300 300 cm /Icon Do Q", resources)
    pdf.add_page(header, resources)
    images = extract_pdf_images(pdf.save(tmp_path / "deco.pdf"), tmp_path / "out")
    flags = {image.xref: image.flags for image in images}
    assert "repeated" in flags[logo] and "icon" in flags[icon]
    assert flags[figure] == []


def test_a_figure_on_both_pages_of_a_two_page_report_is_not_a_logo(tmp_path: Path) -> None:
    pdf = RawPdf()
    figure = pdf.add_image(phantoms.chest_xray_frontal(256, seed=4))
    resources = f"<</XObject<</Fig {figure} 0 R>>>>"
    pdf.add_page(b"q 400 0 0 400 100 100 cm /Fig Do Q", resources)
    pdf.add_page(b"q 400 0 0 400 100 100 cm /Fig Do Q", resources)
    [image] = extract_pdf_images(pdf.save(tmp_path / "twice.pdf"), tmp_path / "out")
    assert image.pages == [1, 2] and image.flags == []
