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

import numpy as np
import pytest

from pipeline.classify import LOW_CONFIDENCE, classify_image
from pipeline.classify.features import measure
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


# A known gap, on one phantom: the frontal film of seed 0 inside plot axes reads as a weak
# X-ray as given, and turned a quarter as a CT slice, which the retry takes (it is staged for
# review as CT, flagged `rotated`). Real films in plot axes: 122 of 131 right in the
# group-wise CV of `make eval`.
AXES_GAP = ("chest_xray_frontal", "axes", 0)


@pytest.mark.parametrize(("draw", "modality", "style"), CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_styled_radiograph_keeps_its_modality(
    draw, modality: str, style: str, seed: int, request: pytest.FixtureRequest
):
    if (draw.__name__, style, seed) == AXES_GAP:
        request.applymarker(pytest.mark.xfail(strict=True, reason="read as a turned CT slice"))
    image, _ = js.journal_print(draw(512, seed), np.random.default_rng(seed), [style])
    result = classify_image(image)
    assert result.modality == modality, result.reasons
    assert "overlay" not in result.flags, result.reasons


@pytest.mark.parametrize("style", [*FRAMES, "text", "letter"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_styled_lateral_film_stays_lateral(style: str, seed: int):
    """The view is read from the film past a title, tick numbers or a label beside it."""
    image, _ = js.journal_print(
        phantoms.chest_xray_lateral(512, seed), np.random.default_rng(seed), [style]
    )
    result = classify_image(image)
    assert (result.modality, result.view) == ("xray", "lateral"), result.reasons


@pytest.mark.parametrize("draw", [phantoms.chest_xray_lateral, phantoms.ct_axial])
def test_picture_without_a_page_is_measured_whole_for_the_view(draw):
    features = measure(draw(512, 0))
    assert (features.view_column, features.view_horizontal) == (
        features.centre_bright,
        features.grad_vertical,
    )


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
