"""The classifier's retries: negative (inverted) films and sideways films and CT slices get
in, flagged for review; inverted and turned figures are never confident radiographs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.classify import LOW_CONFIDENCE, classify_image
from tests import phantoms
from tests.memory import traced_peak
from tests.test_classify import (
    _brain_mri,
    _grey_microscopy,
    _western_blot,
    not_a_confident_radiograph,
)

TURNS = [cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE]


def _gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def test_negative_frontal_films_are_kept_and_a_retried_one_is_flagged_and_says_why():
    """Every negative film is staged as an X-ray. Some read as X-rays as given (a negative
    frontal film has a dark mediastinum and vertical structures, as a lateral film does);
    the others get in through the inversion retry, flagged, below LOW_CONFIDENCE, with
    why. (On the dev images inverted, 161 of 163 are kept, most of them flagged: make eval.)"""
    retried = 0
    for seed in (0, 1, 2):
        for size in (256, 512, 1024):
            result = classify_image(255 - phantoms.chest_xray_frontal(size, seed))
            assert result.modality == "xray", (seed, size, result.reasons)
            if "inverted" in result.flags:
                retried += 1
                assert result.view == "frontal", (seed, size, result.reasons)
                assert result.confidence < LOW_CONFIDENCE
                assert result.reasons[-1].startswith("inverted:")
                assert "flagged for review" in result.reasons[-1]
    assert retried >= 3


def test_negative_lateral_films_are_staged_and_one_is_read_as_a_negative_x_ray():
    """Never dropped; the phantom drawn at 256 and 512 px reads as a CT slice (staged, the
    wrong modality: a reviewer's key). Dev films inverted: 160 of 163 read as X-rays (make
    eval, retry_inverted_xray_kept)."""
    results = [classify_image(255 - phantoms.chest_xray_lateral(size)) for size in (256, 512, 1024)]
    assert all(result.modality != "other" for result in results), [r.reasons for r in results]
    assert any(r.modality == "xray" and "inverted" in r.flags for r in results)


@pytest.mark.parametrize("size", [256, 512, 1024])
@pytest.mark.parametrize("turn", TURNS)
def test_sideways_ct_slice_is_kept_but_flagged(turn: int, size: int):
    result = classify_image(cv2.rotate(phantoms.ct_axial(size), turn))
    assert result.modality != "other", result.reasons
    assert result.confidence < LOW_CONFIDENCE


def test_upright_images_take_no_retry():
    for image in (phantoms.chest_xray_frontal(512), phantoms.ct_axial(512)):
        result = classify_image(image)
        assert not result.flags, result.reasons
        assert not any(r.startswith(("inverted:", "rotated:")) for r in result.reasons)


FIGURES = [
    phantoms.bar_chart,
    phantoms.colour_photo,
    phantoms.text_page,
    _brain_mri,
    _western_blot,
    _grey_microscopy,
]


@pytest.mark.parametrize("size", [256, 512])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("draw", FIGURES)
def test_inverted_figures_are_never_confident_radiographs(draw, seed: int, size: int):
    image = draw(size, seed)
    for variant in (255 - image, 255 - _gray(image)):
        result = classify_image(variant)
        assert not_a_confident_radiograph(result), result.reasons


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("draw", FIGURES)
def test_turned_figures_are_never_confident_radiographs(draw, seed: int):
    image = draw(512, seed)
    for turn in TURNS:
        result = classify_image(cv2.rotate(image, turn))
        assert not_a_confident_radiograph(result), result.reasons


@pytest.mark.parametrize("turn", TURNS)
def test_large_sideways_slice_is_retried_on_a_reduced_copy_with_its_true_size(turn: int):
    """A 5000 px slice: the retries measure a reduced copy (bounded memory) and decide as on
    the image at a size they measure at anyway; the reasons give the image's own size."""
    big = cv2.rotate(cv2.resize(phantoms.ct_axial(1024), (5000, 5000)), turn)
    result, peak = traced_peak(lambda: classify_image(big))
    assert peak < big.nbytes / 2, "the turned and inverted variants are not made full size"
    small = classify_image(cv2.rotate(phantoms.ct_axial(1024), turn))
    assert (result.modality, result.flags) == (small.modality, small.flags), result.reasons
    assert abs(result.confidence - small.confidence) < 0.05
    assert "5000x5000" in " ".join(result.reasons)
