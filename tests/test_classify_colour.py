"""Colour before deciding: tints and colour maps read as grey, marks are masked, overlays seen."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.classify.colour import normalise
from pipeline.classify.features import _work_copy
from pipeline.classify.marks import remove_marks
from tests import phantoms


def _normal(image: np.ndarray):
    return normalise(*_work_copy(image))


def _rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a.ravel())).astype(float)
    rb = np.argsort(np.argsort(b.ravel())).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def _duotone(gray: np.ndarray, dark: tuple[int, int, int], light: tuple[int, int, int]):
    t = gray.astype(np.float32)[:, :, None] / 255.0
    return (np.array(dark) * (1 - t) + np.array(light) * t).astype(np.uint8)


FILM = phantoms.chest_xray_frontal(512, 0)


def test_grey_image_stays_as_it_is():
    result = _normal(FILM)
    assert result.rendering == "grey" and result.off_curve == 0.0 and result.marks is None
    assert np.array_equal(result.gray, _work_copy(FILM)[0])


@pytest.mark.parametrize(
    ("dark", "light"),
    [((60, 0, 0), (255, 230, 200)), ((40, 0, 40), (240, 200, 255)), ((0, 30, 60), (200, 235, 255))],
    ids=["blue", "purple", "sepia"],
)
def test_tinted_film_reads_as_its_grey_values(dark, light):
    result = _normal(_duotone(FILM, dark, light))
    assert result.rendering == "one hue"
    assert result.off_curve < 0.01 and result.overlay == 0.0
    assert _rank_correlation(result.gray, _work_copy(FILM)[0]) > 0.95


@pytest.mark.parametrize("cmap", [cv2.COLORMAP_VIRIDIS, cv2.COLORMAP_MAGMA, cv2.COLORMAP_CIVIDIS])
def test_film_through_a_perceptual_colour_map_reads_as_its_grey_values(cmap: int):
    result = _normal(cv2.applyColorMap(FILM, cmap))
    assert result.rendering == "colour map"
    assert result.off_curve < 0.05
    assert _rank_correlation(result.gray, _work_copy(FILM)[0]) > 0.95


@pytest.mark.parametrize("cmap", [cv2.COLORMAP_JET, cv2.COLORMAP_TURBO])
def test_film_through_jet_is_inverted_through_the_map(cmap: int):
    result = _normal(cv2.applyColorMap(FILM, cmap))
    assert result.rendering.startswith("colour map ")
    assert _rank_correlation(result.gray, _work_copy(FILM)[0]) > 0.9


@pytest.mark.parametrize("seed", range(3))
def test_ct_through_jet_reduced_in_size_is_still_inverted_through_the_map(seed):
    """A slice's sharp edges (dark lung against bright bone) blend the map's far ends into
    colours no map holds once the image is reduced to the working copy: thin lines of them
    must not make the map fail to fit."""
    ct = phantoms.ct_axial(1024, seed=seed)
    vessels = np.random.default_rng(seed).random(ct.shape) > 0.995  # small bright dots
    ct[cv2.dilate(vessels.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0] = 255
    result = _normal(cv2.applyColorMap(ct, cv2.COLORMAP_JET))
    assert result.rendering == "colour map jet"
    grey = _work_copy(ct)[0].astype(float)
    assert np.corrcoef(result.gray.astype(float).ravel(), grey.ravel())[0, 1] > 0.8


@pytest.mark.parametrize("seed", range(4))
def test_a_colour_photo_is_not_read_through_a_colour_map(seed):
    # mostly coloured and not one hue, so jet and turbo are tried; neither fits
    result = _normal(phantoms.colour_photo(512, seed))
    assert result.colour >= 0.5 and result.rendering == "colour"
    assert result.off_curve > 0.1


def test_thin_coloured_marks_are_masked_not_an_overlay():
    marked = cv2.cvtColor(FILM, cv2.COLOR_GRAY2BGR)
    cv2.circle(marked, (170, 260), 60, (0, 0, 255), 3)
    cv2.rectangle(marked, (300, 200), (400, 300), (0, 255, 0), 2)
    result = _normal(marked)
    assert result.marks is not None and result.marks.any()
    assert result.overlay < 0.005


def test_heat_map_blended_over_a_film_is_an_overlay():
    base = cv2.cvtColor(FILM, cv2.COLOR_GRAY2BGR).astype(np.float32)
    field = np.zeros(FILM.shape, np.float32)
    cv2.ellipse(field, (180, 280), (90, 120), 0, 0, 360, 1.0, -1)
    field = cv2.GaussianBlur(field, (0, 0), 30)
    heat = cv2.applyColorMap((field / field.max() * 255).astype(np.uint8), cv2.COLORMAP_JET)
    blended = (base * 0.6 + heat * 0.4).astype(np.uint8)
    result = _normal(blended)
    assert result.overlay > 0.05  # well above the overlay flag threshold (model.json)
    assert result.colour_detail < 0.05  # a heat map varies slowly


def test_burnt_in_text_is_filled_from_its_surroundings():
    film = _work_copy(FILM)[0]
    marked = film.copy()
    cv2.putText(marked, "PORTABLE AP", (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 1)
    cv2.arrowedLine(marked, (60, 200), (100, 150), 255, 1)
    strokes = marked != film
    cleaned, share = remove_marks(marked)
    assert share > 0.001
    before = np.abs(marked.astype(int) - film)[strokes].mean()
    after = np.abs(cleaned.astype(int) - film)[strokes].mean()
    assert after < before / 2  # strokes over the bright body are too faint to mask


def test_film_without_marks_is_left_alone():
    film = _work_copy(FILM)[0]
    cleaned, share = remove_marks(cv2.GaussianBlur(film, (0, 0), 2))
    assert share < 0.001
