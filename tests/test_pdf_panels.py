"""Compound figures become panels with their letters and their part of the caption."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pymupdf
import pytest

from pipeline.compound import split_figure
from pipeline.config import Config
from pipeline.document import DocumentImage
from pipeline.panels import split_panels
from pipeline.pdf.captions import split_panel_captions
from pipeline.pdf.images import extract_pdf_images
from pipeline.sources.pdf import extract_images
from tests import phantoms

CAPTION = (
    "Figure 1. A 60-year-old woman with COVID-19. (A) PA radiograph on admission. "
    "(B) Lateral radiograph. (C) Axial CT on day 3. (D) Coronal CT on day 3."
)


def grid(gutter: int = 12, background: int = 255) -> np.ndarray:
    tiles = [
        phantoms.chest_xray_frontal(200, seed=1),
        phantoms.chest_xray_lateral(200, seed=2),
        phantoms.ct_axial(200, seed=3),
        phantoms.ct_axial(200, seed=4),
    ]
    size = 2 * 200 + 3 * gutter
    canvas = np.full((size, size), background, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        y, x = gutter + (i // 2) * (200 + gutter), gutter + (i % 2) * (200 + gutter)
        canvas[y : y + 200, x : x + 200] = tile
    return canvas


def figure_pdf(path: Path, images: list[np.ndarray], caption: str) -> Path:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    x = 60.0
    width = 470 / len(images) - 10
    for image in images:
        page.insert_image(pymupdf.Rect(x, 60, x + width, 60 + width),
                          stream=cv2.imencode(".png", image)[1].tobytes())  # fmt: skip
        x += width + 10
    page.insert_textbox(pymupdf.Rect(60, 70 + width, 530, 130 + width), caption, fontsize=9)
    doc.save(path)
    return path


def pdf_images_and_panels(pdf: Path, out: Path) -> list[DocumentImage]:
    """A PDF's images as the pipeline sees them, then the panels cut from them."""
    return split_panels(extract_images(pdf, out, Config()), out)


def test_compound_figure_is_cut_into_lettered_panels(tmp_path: Path) -> None:
    pdf = figure_pdf(tmp_path / "compound.pdf", [grid()], CAPTION)
    figure, *panels = pdf_images_and_panels(pdf, tmp_path / "out")

    assert figure.caption == CAPTION and figure.panel is None
    assert [p.panel for p in panels] == ["A", "B", "C", "D"]
    assert all(p.panel_of == figure.index and p.caption == CAPTION for p in panels)
    assert (
        panels[0].panel_caption == "A 60-year-old woman with COVID-19. PA radiograph on admission."
    )
    assert panels[3].panel_caption.endswith("Coronal CT on day 3.")
    assert [p.index for p in panels] == [1, 2, 3, 4]
    for panel in panels:
        crop = cv2.imread(str(panel.file), cv2.IMREAD_GRAYSCALE)
        assert abs(crop.shape[0] - 200) <= 2 and abs(crop.shape[1] - 200) <= 2
        assert panel.file.name == f"compound-{panel.index:03d}.png"
    # panel B sits right of panel A on the page
    assert panels[1].bbox[0] > panels[0].bbox[2] - 1


def test_without_letters_in_the_caption_a_regular_grid_is_cut_with_guessed_letters(
    tmp_path: Path,
) -> None:
    pdf = figure_pdf(tmp_path / "plain.pdf", [grid(background=0)], "Figure 2. Four images.")
    _, *panels = pdf_images_and_panels(pdf, tmp_path / "out")
    assert [p.panel for p in panels] == ["A", "B", "C", "D"]
    assert all("letter-guessed" in p.flags and p.panel_caption is None for p in panels)


@pytest.mark.parametrize(
    "picture",
    [
        phantoms.chest_xray_frontal(400, seed=5),
        phantoms.bar_chart(400, seed=6),
        phantoms.text_page(400, seed=7),
    ],
    ids=["xray", "chart", "text-page"],
)
def test_single_pictures_are_not_cut(picture: np.ndarray) -> None:
    assert split_figure(picture).panels == ()


def test_several_images_under_one_caption_are_lettered_in_reading_order(tmp_path: Path) -> None:
    caption = "Fig. 3: a) PA view on day 1; b) PA view on day 7"
    pictures = [phantoms.chest_xray_frontal(300, seed=s) for s in (8, 9)]
    images = extract_pdf_images(figure_pdf(tmp_path / "pair.pdf", pictures, caption), tmp_path)
    assert [(im.panel, im.panel_caption) for im in images] == [
        ("a", "PA view on day 1"),
        ("b", "PA view on day 7"),
    ]


@pytest.mark.parametrize(
    ("caption", "parts"),
    [
        (CAPTION, {"A": "A 60-year-old woman with COVID-19. PA radiograph on admission.",
                   "B": "A 60-year-old woman with COVID-19. Lateral radiograph.",
                   "C": "A 60-year-old woman with COVID-19. Axial CT on day 3.",
                   "D": "A 60-year-old woman with COVID-19. Coronal CT on day 3."}),
        ("Fig. 3: a) PA view; b) lateral view, c) CT", {"a": "PA view", "b": "lateral view",
                                                        "c": "CT"}),
        ("FIG 2 Chest CT. (A and B) GGO. (C) Follow-up.", {"A": "Chest CT. GGO.",
                                                            "B": "Chest CT. GGO.",
                                                            "C": "Chest CT. Follow-up."}),
        ("Figure 4. CT (A-C) of a patient.", {"A": "CT of a patient.", "B": "CT of a patient.",
                                             "C": "CT of a patient."}),
        ("Figure 5. Chest radiograph of a 40-year-old man.", {}),
        ("Figure 6. (B) only one letter.", {}),
    ],
)  # fmt: skip
def test_split_panel_captions(caption: str, parts: dict[str, str]) -> None:
    assert split_panel_captions(caption) == parts


@pytest.mark.parametrize(
    ("caption", "parts"),
    [
        ("Figure 1. a, PA radiograph on admission; b, lateral radiograph; c-d, CT images",
         {"a": "PA radiograph on admission", "b": "lateral radiograph", "c": "CT images",
          "d": "CT images"}),
        ("Fig. 2 a, PA view on day 1; b, PA view on day 7",
         {"a": "PA view on day 1", "b": "PA view on day 7"}),
        ("Figure 3. A 50-year-old woman. a, PA radiograph; b, lateral radiograph",
         {"a": "A 50-year-old woman. PA radiograph",
          "b": "A 50-year-old woman. lateral radiograph"}),
        # out of order: "d" after "b" starts no panel
        ("Figure 4. a, PA radiograph; b, lateral; d, CT", {"a": "PA radiograph",
                                                           "b": "lateral; d, CT"}),
    ],
)  # fmt: skip
def test_split_comma_lettered_captions(caption: str, parts: dict[str, str]) -> None:
    assert split_panel_captions(caption) == parts


@pytest.mark.parametrize(
    "caption",
    [
        "Figure 5. Consolidation in segments a, b and c of the right lung.",
        "Figure 6. a, b and c show ground-glass opacities.",
        "Figure 7. As shown in Fig. 3 a, the lesions grew; b, c and d were stable.",
        "Figure 8. Courtesy of J. A. Smith, B. Jones; a, b.",
        "Figure 9. Both lungs. b, PA view; c, lateral view.",
        "Fig. 3 a, b and c show GGO; d, CT.",
    ],
)
def test_prose_with_letters_and_commas_is_not_split(caption: str) -> None:
    assert split_panel_captions(caption) == {}
