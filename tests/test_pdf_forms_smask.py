"""Images inside Form XObjects and soft-mask groups count; images no page draws do not."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from pipeline.pdf.images import extract_pdf_images
from tests.test_pdf_raw import RawPdf, gradient


def test_forms_soft_mask_groups_and_undrawn_images(tmp_path: Path) -> None:
    pdf = RawPdf()
    in_form = pdf.add_image(gradient(30, 20))
    in_mask = pdf.add_image(gradient(40, 40))
    never_drawn = pdf.add_image(gradient(50, 50))
    on_page = pdf.add_image(gradient(60, 60))
    inner = pdf.add_form(b"q 100 0 0 50 0 0 cm /Im1 Do Q", f"<</XObject<</Im1 {in_form} 0 R>>>>")
    outer = pdf.add_form(b"q 1 0 0 1 10 10 cm /Inner Do Q", f"<</XObject<</Inner {inner} 0 R>>>>")
    group = pdf.add_form(
        b"q 200 0 0 200 0 0 cm /Mask Do Q",
        f"<</XObject<</Mask {in_mask} 0 R>>>>",
        bbox="[0 0 600 600]",
    )
    state = pdf.add_object(f"<</Type/ExtGState/SMask<</S/Luminosity/G {group} 0 R>>>>")
    resources = (
        f"<</XObject<</Outer {outer} 0 R/Never {never_drawn} 0 R/Img {on_page} 0 R>>"
        f"/ExtGState<</GS0 {state} 0 R>>>>"
    )
    content = b"q 2 0 0 2 0 0 cm /Outer Do Q q /GS0 gs 300 0 0 300 0 0 cm /Img Do Q"
    pdf.add_page(content, resources)
    pdf.add_page(b"q 60 0 0 60 0 0 cm /Img Do Q", f"<</XObject<</Img {on_page} 0 R>>>>")
    path = pdf.save(tmp_path / "forms.pdf")
    with pymupdf.open(path) as doc:  # what PyMuPDF's resource listing alone would give
        listed = {info[0] for page in doc for info in page.get_images(full=True)}
    assert never_drawn in listed and in_mask not in listed

    images = extract_pdf_images(path, tmp_path / "out")

    by_xref = {image.xref: image for image in images}
    assert set(by_xref) == {in_form, in_mask, on_page}
    assert [image.xref for image in images] == [in_form, in_mask, on_page]  # draw order
    # Nested forms: Im1 drawn at (0,0)-(100,50), moved by 10,10, scaled by 2.
    assert by_xref[in_form].bbox == (20.0, 600 - 120.0, 220.0, 600 - 20.0)
    assert "in-smask" in by_xref[in_mask].flags
    assert by_xref[on_page].page == 1 and by_xref[on_page].pages == [1, 2]


def test_a_form_that_draws_itself_does_not_hang(tmp_path: Path) -> None:
    pdf = RawPdf()
    image = pdf.add_image(gradient(10, 10))
    loop = pdf.add_form(b"/Im0 Do /Self Do", "<<>>")
    pdf.doc.xref_set_key(loop, "Resources", f"<</XObject<</Im0 {image} 0 R/Self {loop} 0 R>>>>")
    pdf.add_page(b"/Fm0 Do", f"<</XObject<</Fm0 {loop} 0 R>>>>")
    images = extract_pdf_images(pdf.save(tmp_path / "loop.pdf"), tmp_path / "out")
    assert [im.xref for im in images] == [image]


def test_images_in_annotation_appearances_and_tiling_patterns(tmp_path: Path) -> None:
    pdf = RawPdf()
    stamp = pdf.add_image(gradient(20, 20))
    tile = pdf.add_image(gradient(8, 8))
    appearance = pdf.add_form(
        b"q 20 0 0 20 0 0 cm /St Do Q", f"<</XObject<</St {stamp} 0 R>>>>", bbox="[0 0 20 20]"
    )
    pattern = pdf.add_object(
        "<</Type/Pattern/PatternType 1/PaintType 1/TilingType 1/BBox[0 0 8 8]/XStep 8/YStep 8"
        f"/Resources<</XObject<</T {tile} 0 R>>>>>>",
        b"q 8 0 0 8 0 0 cm /T Do Q",
    )
    page = pdf.add_page(
        b"/Pattern cs /P0 scn 0 0 100 100 re f", f"<</Pattern<</P0 {pattern} 0 R>>>>"
    )
    annot = pdf.add_object(
        f"<</Type/Annot/Subtype/Stamp/Rect[100 100 140 140]/AP<</N {appearance} 0 R>>>>"
    )
    pdf.doc.xref_set_key(pdf.doc[page].xref, "Annots", f"[{annot} 0 R]")
    images = extract_pdf_images(pdf.save(tmp_path / "annot.pdf"), tmp_path / "out")
    assert {im.xref for im in images} == {stamp, tile}
    [stamped] = [im for im in images if im.xref == stamp]
    assert stamped.bbox == (100.0, 460.0, 140.0, 500.0)


def test_form_without_resources_uses_the_page_resources(tmp_path: Path) -> None:
    # Regression: old PDFs leave /Resources out of forms; the image was missed.
    pdf = RawPdf()
    image = pdf.add_image(gradient(12, 12))
    form = pdf.add_object(
        "<</Type/XObject/Subtype/Form/BBox[0 0 100 100]>>", b"q 50 0 0 50 0 0 cm /Im0 Do Q"
    )
    pdf.add_page(b"/Fm0 Do", f"<</XObject<</Fm0 {form} 0 R/Im0 {image} 0 R>>>>")
    images = extract_pdf_images(pdf.save(tmp_path / "old.pdf"), tmp_path / "out")
    assert [im.xref for im in images] == [image]
