"""Caption linking by page geometry, in one- and two-column layouts with known captions."""

from __future__ import annotations

import os
import random
from pathlib import Path

import cv2
import pymupdf
import pytest

from pipeline.pdf.captions import CAPTION_START
from pipeline.pdf.images import extract_pdf_images
from tests import phantoms

STYLES = ["Figure {n}. ", "Fig. {n}: ", "FIG {n} ", "Figure {n}: ", "FIGURE {n}. ", "Fig {n}. "]
BODY = (
    "Figure {n} shows the course of the disease over two weeks, and the patient was "
    "discharged after recovery. Laboratory findings were unremarkable. " * 3
)
DATA = Path(
    os.environ.get("PIPELINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def _png(seed: int) -> bytes:
    maker = [phantoms.chest_xray_frontal, phantoms.ct_axial, phantoms.bar_chart][seed % 3]
    return cv2.imencode(".png", maker(160, seed=seed))[1].tobytes()


def _figure(page: pymupdf.Page, rect: pymupdf.Rect, n: int, seed: int, above: bool = False) -> str:
    caption = STYLES[seed % len(STYLES)].format(n=n) + (
        f"Chest imaging of patient {n} on day {seed % 9 + 1} showing bilateral opacities."
    )
    page.insert_image(rect, stream=_png(seed))
    if above:
        box = pymupdf.Rect(rect.x0, rect.y0 - 34, rect.x1, rect.y0 - 4)
    else:
        box = pymupdf.Rect(rect.x0, rect.y1 + 4, rect.x1, rect.y1 + 40)
    assert page.insert_textbox(box, caption, fontsize=8) >= 0
    return caption


def _body(page: pymupdf.Page, rect: pymupdf.Rect, n: int) -> None:
    page.insert_textbox(rect, BODY.format(n=n), fontsize=8)


def one_column_pdf(path: Path, seed: int) -> tuple[Path, list[str]]:
    rng = random.Random(seed)
    doc = pymupdf.open()
    truth: list[str] = []
    n = 1
    for _ in range(2):
        page = doc.new_page(width=595, height=842)
        _body(page, pymupdf.Rect(56, 40, 540, 120), n)
        y = 130.0
        for _ in range(2):
            x = rng.uniform(56, 240)
            rect = pymupdf.Rect(x, y, x + 220, y + 220)
            truth.append(_figure(page, rect, n, seed + n))
            _body(page, pymupdf.Rect(56, rect.y1 + 46, 540, rect.y1 + 120), n)
            y = rect.y1 + 130
            n += 1
    doc.save(path)
    return path, truth


def two_column_pdf(path: Path, seed: int) -> tuple[Path, list[str]]:
    """A full-width figure on top, then figures in both columns beside body text; one
    figure with its caption above (a style some journals use)."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    truth = [_figure(page, pymupdf.Rect(150, 40, 445, 240), 1, seed)]
    left, right = (50.0, 290.0), (305.0, 545.0)
    truth.append(_figure(page, pymupdf.Rect(left[0], 300, left[1], 480), 2, seed + 1))
    _body(page, pymupdf.Rect(right[0], 300, right[1], 520), 3)
    _body(page, pymupdf.Rect(left[0], 530, left[1], 600), 2)
    truth.append(_figure(page, pymupdf.Rect(right[0], 600, right[1], 760), 3, seed + 2, True))
    _body(page, pymupdf.Rect(left[0], 610, left[1], 800), 3)
    doc.save(path)
    return path, truth


def caption_accuracy(cases: list[tuple[Path, list[str]]], out: Path) -> tuple[int, int]:
    correct = total = 0
    for pdf, truth in cases:
        images = [im for im in extract_pdf_images(pdf, out, derived=False) if not im.parts]
        assert len(images) == len(truth)
        for image, caption in zip(images, truth, strict=True):
            total += 1
            correct += image.caption == " ".join(caption.split())
    return correct, total


def test_captions_one_column(tmp_path: Path) -> None:
    cases = [one_column_pdf(tmp_path / f"one{seed}.pdf", seed) for seed in range(3)]
    assert caption_accuracy(cases, tmp_path / "out") == (12, 12)


def test_captions_two_columns_and_caption_above(tmp_path: Path) -> None:
    cases = [two_column_pdf(tmp_path / f"two{seed}.pdf", seed) for seed in range(3)]
    assert caption_accuracy(cases, tmp_path / "out") == (9, 9)


@pytest.mark.parametrize(
    ("text", "is_caption"),
    [
        ("Figure 2. Chest X-ray", True),
        ("Fig. 2: CT", True),
        ("FIG 2 Chest radiograph", True),
        ("Figure 2: Axial CT", True),
        ("Figure S3 | Supplementary", True),
        ("Supplementary Figure 1. More", True),
        ("Figure 2 shows the course", False),
        ("Figures 2 and 3 show", False),
        ("Configure 2. settings", False),
    ],
)
def test_caption_labels(text: str, is_caption: bool) -> None:
    assert bool(CAPTION_START.match(text)) is is_caption


@pytest.mark.skipif(not (DATA / "pdfs").exists(), reason="no shared data")
def test_covidnet_paper_captions(tmp_path: Path) -> None:
    pdf = DATA / "pdfs" / "covidnet__assets_COVIDNet_CXR.pdf"
    images = [im for im in extract_pdf_images(pdf, tmp_path) if im.panel_of is None]
    assert [im.caption.split(".")[0] for im in images] == [f"Figure {n}" for n in range(1, 7)]


def test_side_caption_in_the_margin(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_image(pymupdf.Rect(60, 100, 360, 400), stream=_png(1))
    _body(page, pymupdf.Rect(60, 420, 540, 520), 2)
    page.insert_textbox(pymupdf.Rect(372, 110, 540, 200), "Figure 1. Axial CT, lung window.",
                        fontsize=8)  # fmt: skip
    doc.save(tmp_path / "side.pdf")
    [image] = extract_pdf_images(tmp_path / "side.pdf", tmp_path / "out", derived=False)
    assert image.caption == "Figure 1. Axial CT, lung window."


def test_two_captions_on_one_baseline_are_told_apart(tmp_path: Path) -> None:
    # Regression: MuPDF put "Figure 7-26. ... Figure 7-27. ..." (two figures side by side,
    # captions on one baseline) in one text block, and both figures got both captions.
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_image(pymupdf.Rect(60, 100, 260, 300), stream=_png(1))
    page.insert_image(pymupdf.Rect(330, 100, 530, 300), stream=_png(2))
    page.insert_text((60, 318), "Figure 7-26. Self-locking nuts.", fontsize=9)
    page.insert_text((330, 318), "Figure 7-27. Stainless steel nut.", fontsize=9)
    doc.save(tmp_path / "pair.pdf")
    images = extract_pdf_images(tmp_path / "pair.pdf", tmp_path / "out", derived=False)
    assert [im.caption for im in images] == [
        "Figure 7-26. Self-locking nuts.",
        "Figure 7-27. Stainless steel nut.",
    ]


def test_regression_short_flush_left_caption_under_a_centred_figure(tmp_path: Path) -> None:
    from tests.pdfs import case_report_pdf

    images = extract_pdf_images(case_report_pdf(tmp_path / "paper.pdf"), tmp_path / "out")
    assert [image.caption.split(".")[0] for image in images] == ["Figure 1", "Figure 2", "Figure 3"]


# -- captions away from their figure: on the next or previous page, or far down the page -----


def _caption(page: pymupdf.Page, box: pymupdf.Rect, n: int, seed: int) -> str:
    caption = STYLES[seed % len(STYLES)].format(n=n) + (
        f"Chest imaging of patient {n} on day {seed % 9 + 1} showing bilateral opacities."
    )
    assert page.insert_textbox(box, caption, fontsize=8) >= 0
    return caption


def _page(doc: pymupdf.Document, number: int, right: tuple[float, float] | None) -> pymupdf.Page:
    """A new page with a running head, a page number and, if asked, a column of body text."""
    page = doc.new_page(width=595, height=842)
    page.insert_text((56, 28), f"Journal of Test Cases 2020; 12: {100 + number}", fontsize=7)
    page.insert_text((292, 822), str(number), fontsize=7)
    if right is not None:
        _body(page, pymupdf.Rect(right[0], 45, right[1], 790), 9)
    return page


def next_page_pdf(path: Path, seed: int) -> tuple[Path, list[str]]:
    """Figure 2 ends page 1 and its caption opens page 2; Figure 4's caption ends page 2 and
    the figure opens page 3. Even seeds: one column; odd seeds: figures in the left column
    with body text in the right one."""
    rng = random.Random(seed)
    two = seed % 2 == 1
    x0, x1 = (50.0, 290.0) if two else (56.0, 540.0)
    right = (305.0, 545.0) if two else None
    width = min(x1 - x0, 240.0)
    doc = pymupdf.open()
    truth: list[str] = []
    page = _page(doc, 1, right)
    _body(page, pymupdf.Rect(x0, 45, x1, 120), 1)
    left = rng.uniform(x0, x1 - width)
    rect = pymupdf.Rect(left, 130, left + width, 330)
    truth.append(_figure(page, rect, 1, seed))
    _body(page, pymupdf.Rect(x0, 380, x1, 470), 1)
    top = rng.uniform(490, 560)
    page.insert_image(pymupdf.Rect(left, top, left + width, 800), stream=_png(seed + 1))
    page = _page(doc, 2, right)
    truth.append(_caption(page, pymupdf.Rect(x0, 42, x1, 78), 2, seed + 1))
    _body(page, pymupdf.Rect(x0, 90, x1, 300), 2)
    truth.append(_figure(page, pymupdf.Rect(left, 310, left + width, 520), 3, seed + 2))
    _body(page, pymupdf.Rect(x0, 570, x1, 700), 3)
    bottom = rng.uniform(750, 765)
    caption4 = _caption(page, pymupdf.Rect(x0, bottom, x1, bottom + 36), 4, seed + 3)
    page = _page(doc, 3, right)
    page.insert_image(pymupdf.Rect(left, 45, left + width, 260), stream=_png(seed + 3))
    truth.append(caption4)
    _body(page, pymupdf.Rect(x0, 280, x1, 500), 4)
    doc.save(path)
    return path, truth


def _captions(pdf: Path, out: Path) -> list[str | None]:
    return [im.caption for im in extract_pdf_images(pdf, out, derived=False)]


def test_caption_on_the_next_page_and_on_the_previous_page(tmp_path: Path) -> None:
    cases = [next_page_pdf(tmp_path / f"next{seed}.pdf", seed) for seed in range(4)]
    assert caption_accuracy(cases, tmp_path / "out") == (16, 16)


def _bottom_figure_then(tmp_path: Path, fill_next_page) -> list[str | None]:  # noqa: ANN001
    """Figure 1 with its caption, then an uncaptioned image ending page 1; `fill_next_page`
    writes page 2."""
    doc = pymupdf.open()
    page = _page(doc, 1, None)
    _figure(page, pymupdf.Rect(150, 60, 400, 300), 1, 1)
    _body(page, pymupdf.Rect(56, 350, 540, 450), 1)
    page.insert_image(pymupdf.Rect(150, 480, 400, 790), stream=_png(2))
    fill_next_page(_page(doc, 2, None))
    doc.save(tmp_path / "case.pdf")
    return _captions(tmp_path / "case.pdf", tmp_path / "out")


def test_a_row_of_panels_shares_the_caption_on_the_next_page(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = _page(doc, 1, None)
    _body(page, pymupdf.Rect(56, 45, 540, 200), 1)
    page.insert_image(pymupdf.Rect(60, 560, 290, 790), stream=_png(1))
    page.insert_image(pymupdf.Rect(305, 560, 535, 790), stream=_png(2))
    page = _page(doc, 2, None)
    caption = "Figure 1. (A) Chest radiograph on admission. (B) Axial CT on day 3."
    page.insert_textbox(pymupdf.Rect(56, 42, 540, 70), caption, fontsize=8)
    _body(page, pymupdf.Rect(56, 90, 540, 300), 2)
    doc.save(tmp_path / "case.pdf")
    images = extract_pdf_images(tmp_path / "case.pdf", tmp_path / "out", derived=False)
    assert [(im.caption, im.panel) for im in images] == [(caption, "A"), (caption, "B")]


def test_next_page_caption_claimed_by_a_figure_there_is_left_alone(tmp_path: Path) -> None:
    def fill(page: pymupdf.Page) -> None:  # caption-above style: Figure 2 is on page 2
        _caption(page, pymupdf.Rect(56, 42, 540, 78), 2, 3)
        page.insert_image(pymupdf.Rect(150, 82, 400, 300), stream=_png(3))
        _body(page, pymupdf.Rect(56, 320, 540, 450), 2)

    captions = _bottom_figure_then(tmp_path, fill)
    assert captions[1] is None
    assert captions[2] is not None and captions[2].startswith("Figure 2")


def test_next_page_caption_with_an_inconsistent_number_is_left_alone(tmp_path: Path) -> None:
    def fill(page: pymupdf.Page) -> None:  # "Figure 1" again: not the bottom figure's
        _caption(page, pymupdf.Rect(56, 42, 540, 78), 1, 3)
        _body(page, pymupdf.Rect(56, 90, 540, 300), 2)

    assert _bottom_figure_then(tmp_path, fill)[1] is None


def test_next_page_caption_heading_a_vector_figure_is_left_alone(tmp_path: Path) -> None:
    def fill(page: pymupdf.Page) -> None:  # caption above a drawn chart (no image)
        _caption(page, pymupdf.Rect(56, 42, 540, 78), 2, 3)
        page.draw_rect(pymupdf.Rect(150, 90, 400, 300), color=(0, 0, 0), fill=(0.8, 0.8, 1))
        _body(page, pymupdf.Rect(56, 320, 540, 450), 2)

    assert _bottom_figure_then(tmp_path, fill)[1] is None


def test_next_page_opening_with_body_text_gives_no_caption(tmp_path: Path) -> None:
    def fill(page: pymupdf.Page) -> None:
        _body(page, pymupdf.Rect(56, 42, 540, 150), 2)
        _caption(page, pymupdf.Rect(56, 160, 540, 196), 2, 3)

    assert _bottom_figure_then(tmp_path, fill)[1] is None


def test_a_line_of_body_text_before_the_next_page_caption_stops_it(tmp_path: Path) -> None:
    def fill(page: pymupdf.Page) -> None:  # the paragraph of page 1 ends on page 2
        page.insert_text((56, 50), "was discharged after recovery on day 12.", fontsize=8)
        _caption(page, pymupdf.Rect(56, 60, 540, 96), 2, 3)
        _body(page, pymupdf.Rect(56, 110, 540, 300), 2)

    assert _bottom_figure_then(tmp_path, fill)[1] is None


@pytest.mark.parametrize("closes_a_chart", [False, True])
def test_caption_ending_the_previous_page(tmp_path: Path, closes_a_chart: bool) -> None:
    doc = pymupdf.open()
    page = _page(doc, 1, None)
    _figure(page, pymupdf.Rect(150, 60, 400, 300), 1, 1)
    _body(page, pymupdf.Rect(56, 350, 540, 450), 1)
    if closes_a_chart:  # the caption's own figure, drawn above it
        page.draw_rect(pymupdf.Rect(150, 470, 400, 740), color=(0, 0, 0), fill=(0.8, 0.8, 1))
    caption = _caption(page, pymupdf.Rect(56, 750, 540, 786), 2, 3)
    page = _page(doc, 2, None)
    page.insert_image(pymupdf.Rect(150, 45, 400, 300), stream=_png(2))
    _body(page, pymupdf.Rect(56, 320, 540, 450), 2)
    doc.save(tmp_path / "case.pdf")
    expected = None if closes_a_chart else " ".join(caption.split())
    assert _captions(tmp_path / "case.pdf", tmp_path / "out")[1] == expected


def test_body_text_under_the_figure_stops_the_next_page_caption(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = _page(doc, 1, None)
    page.insert_image(pymupdf.Rect(150, 400, 400, 700), stream=_png(2))
    _body(page, pymupdf.Rect(56, 720, 540, 800), 1)
    _caption(_page(doc, 2, None), pymupdf.Rect(56, 42, 540, 78), 1, 3)
    doc.save(tmp_path / "case.pdf")
    assert _captions(tmp_path / "case.pdf", tmp_path / "out") == [None]


def test_icon_never_takes_a_caption_on_the_next_page(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = _page(doc, 1, None)
    _body(page, pymupdf.Rect(56, 42, 540, 700), 1)
    icon = cv2.imencode(".png", phantoms.chest_xray_frontal(32, seed=1))[1].tobytes()
    page.insert_image(pymupdf.Rect(280, 760, 300, 780), stream=icon)
    _caption(_page(doc, 2, None), pymupdf.Rect(56, 42, 540, 78), 1, 3)
    doc.save(tmp_path / "case.pdf")
    [image] = extract_pdf_images(tmp_path / "case.pdf", tmp_path / "out", derived=False)
    assert "icon" in image.flags and image.caption is None


def test_caption_far_below_with_only_labels_in_between(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = _page(doc, 1, None)
    page.insert_image(pymupdf.Rect(150, 60, 450, 300), stream=_png(1))
    page.insert_text((200, 330), "R", fontsize=8)  # a short label, not body text
    caption = _caption(page, pymupdf.Rect(56, 700, 540, 736), 1, 0)
    doc.save(tmp_path / "case.pdf")
    assert _captions(tmp_path / "case.pdf", tmp_path / "out") == [" ".join(caption.split())]


@pytest.mark.parametrize("between", ["image", "drawing", "paragraph", "caption"])
def test_caption_far_below_is_not_taken_across_another_figure(tmp_path: Path, between: str) -> None:
    doc = pymupdf.open()
    page = _page(doc, 1, None)
    page.insert_image(pymupdf.Rect(60, 60, 280, 300), stream=_png(1))
    if between == "image":  # the caption is the nearer image's
        page.insert_image(pymupdf.Rect(60, 380, 280, 600), stream=_png(2))
    elif between == "drawing":  # a drawn chart, perhaps the caption's own figure
        page.draw_rect(pymupdf.Rect(60, 380, 280, 600), color=(0, 0, 0), fill=(0.8, 0.8, 1))
    elif between == "paragraph":
        _body(page, pymupdf.Rect(56, 380, 540, 480), 1)
    else:  # a caption in the next column: the page's captions are not simply below figures
        _caption(page, pymupdf.Rect(300, 640, 540, 676), 1, 0)
    _caption(page, pymupdf.Rect(56, 700, 540, 736), 2, 0)
    doc.save(tmp_path / "case.pdf")
    captions = _captions(tmp_path / "case.pdf", tmp_path / "out")
    assert captions[0] is None
    if between == "image":
        assert captions[1] is not None and captions[1].startswith("Figure 2")


def test_existing_layouts_keep_their_links(tmp_path: Path) -> None:
    """The away-from-figure passes add links only where none was found before."""
    for name, make in (("one", one_column_pdf), ("two", two_column_pdf)):
        cases = [make(tmp_path / f"{name}{seed}.pdf", seed) for seed in range(10)]
        correct, total = caption_accuracy(cases, tmp_path / "out")
        assert correct == total == (40 if name == "one" else 30)
