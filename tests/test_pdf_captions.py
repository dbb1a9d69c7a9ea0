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
