"""Radiographs printed the way journals print them stay radiographs; overlays are flagged.

The styles are bench/journal_styles.py (the ones the classifier is trained and scored with
on real images), applied here to the phantoms; figures in the same styles never become
confident radiographs.

The phantoms are a few blurred ellipses, smoother than any film or slice, so some styles
take away all they have: the CT phantom cropped tight, through jet or above a label strip,
the films shrunk to a low-quality thumbnail, and a segmentation mask that covers a whole
flat grey level (it then reads as a tint of that level, not as an overlay). Those cases are
scored on real images by `make eval` (bench/eval_classify.py, per style on held-out groups)
and left out here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.classify import LOW_CONFIDENCE, classify_image
from pipeline.classify.features import _on_paper
from tests import phantoms
from tests.test_classify import not_a_confident_radiograph

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import journal_styles as js  # noqa: E402

RECOLOUR = ["tint", "colour map", "jet map"]
MARKS = ["text", "scores", "boxes", "arrows", "circles", "letter"]
FRAMES = ["frame", "label strip", "axes"]
FILM_STYLES = RECOLOUR + MARKS + FRAMES + ["tight crop"]
CT_STYLES = ["tint", "colour map", *MARKS, "frame", "axes", "low quality"]
CASES = [
    *((phantoms.chest_xray_frontal, "xray", style) for style in FILM_STYLES),
    *((phantoms.chest_xray_lateral, "xray", style) for style in FILM_STYLES),
    *((phantoms.ct_axial, "ct", style) for style in CT_STYLES),
]


@pytest.mark.parametrize(("draw", "modality", "style"), CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_styled_radiograph_keeps_its_modality(draw, modality: str, style: str, seed: int):
    image, _ = js.journal_print(draw(512, seed), np.random.default_rng(seed), [style])
    result = classify_image(image)
    assert result.modality == modality, result.reasons
    assert "overlay" not in result.flags, result.reasons


def test_film_in_plot_axes_read_as_a_turned_slice_is_read_without_the_page():
    """Regression: the frontal film of seed 0 inside plot axes reads as a weak X-ray as
    given, and turned a quarter as a sure CT slice; it was staged as CT, flagged `rotated`.
    The picture without its page reads as a sure X-ray, which the retries now report."""
    image, _ = js.journal_print(
        phantoms.chest_xray_frontal(512, 0), np.random.default_rng(0), ["axes"]
    )
    result = classify_image(image)
    assert (result.modality, result.view, result.flags) == ("xray", "frontal", []), result.reasons
    assert "without the page" in result.reasons[-1]


@pytest.mark.parametrize("style", [*FRAMES, "text", "letter"])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("draw", "view"),
    [(phantoms.chest_xray_lateral, "lateral"), (phantoms.chest_xray_frontal, "frontal")],
)
def test_styled_film_keeps_its_view(draw, view: str, style: str, seed: int):
    """The view is read from the film past a title, tick numbers or a label beside it."""
    image, _ = js.journal_print(draw(512, seed), np.random.default_rng(seed), [style])
    result = classify_image(image)
    assert (result.modality, result.view) == ("xray", view), result.reasons


def _titled_axes(picture: np.ndarray) -> np.ndarray:
    """The picture on a white page with a title row above and tick numbers to its left."""
    h, w = picture.shape
    page = np.full((h + 60, w + 70), 255, np.uint8)
    page[40 : 40 + h, 60 : 60 + w] = picture
    cv2.putText(page, "PNEUMONIA X-Ray", (w // 3, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    for k in range(5):
        cv2.putText(page, str(50 * k), (2, 45 + k * h // 4), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 0, 1)
    return page


def test_the_picture_on_a_page_is_found_past_its_title_and_tick_numbers():
    film = phantoms.chest_xray_lateral(200, 0)
    box = _on_paper(_titled_axes(film))
    assert box is not None
    rows, cols = box
    assert abs(rows.start - 40) <= 2 and abs(rows.stop - 240) <= 2
    assert abs(cols.start - 60) <= 2 and abs(cols.stop - 260) <= 2


def test_no_picture_is_cut_from_a_full_bleed_film_a_grey_page_or_a_blank_one():
    film = phantoms.chest_xray_frontal(256, 0)
    assert _on_paper(film) is None
    assert (
        _on_paper(cv2.copyMakeBorder(film, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=128)) is None
    )
    assert _on_paper(np.full((200, 200), 255, np.uint8)) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_heat_map_on_a_film_is_staged_and_flagged(seed: int):
    film = phantoms.chest_xray_frontal(512, seed)
    image, _ = js.journal_print(film, np.random.default_rng(seed), ["heat map"])
    result = classify_image(image)
    assert result.modality == "xray", result.reasons
    assert "overlay" in result.flags, result.reasons


@pytest.mark.parametrize("style", RECOLOUR + ["circles", "axes", "tight crop"])
@pytest.mark.parametrize("draw", [phantoms.bar_chart, phantoms.text_page])
@pytest.mark.parametrize("seed", [0, 1])
def test_styled_figures_are_never_confident_radiographs(draw, style: str, seed: int):
    image, _ = js.journal_print(draw(512, seed), np.random.default_rng(seed), [style])
    assert not_a_confident_radiograph(classify_image(image))


def test_plain_film_is_confident():
    assert classify_image(phantoms.chest_xray_frontal(512)).confidence >= LOW_CONFIDENCE
