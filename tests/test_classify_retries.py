"""The classifier's retries: negative (inverted) films and sideways films and CT slices get
in, flagged for review; inverted and turned figures are never confident radiographs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.classify import LOW_CONFIDENCE, classify_image
from pipeline.classify.classifier import RETRY_SIDE, RETRY_SKIP, Retry, _likeliest, _retries
from pipeline.classify.decide import decide
from pipeline.classify.features import WORK_SIDE, measure
from pipeline.classify.model import shipped_model
from pipeline.classify.result import Classification
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


@pytest.mark.parametrize("size", [256, 512, 1024])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_negative_frontal_film_is_kept_flagged_and_says_why(size: int, seed: int):
    result = classify_image(255 - phantoms.chest_xray_frontal(size, seed))
    assert (result.modality, result.view) == ("xray", "frontal"), result.reasons
    assert result.confidence < LOW_CONFIDENCE
    assert "inverted" in result.flags
    assert result.reasons[-1].startswith("inverted:") and "flagged for review" in result.reasons[-1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tight_crop_of_a_negative_film_is_kept_and_flagged(seed: int):
    """Kept below LOW_CONFIDENCE and flagged; the flag the phantoms get is `rotated`, not
    `inverted` (turned a quarter, the negative crop reads surer)."""
    film = phantoms.chest_xray_frontal(512, seed)
    crop = film[80:490, 50:460]  # no field around the body left
    result = classify_image(255 - crop)
    assert result.modality == "xray", result.reasons
    assert result.confidence < LOW_CONFIDENCE
    assert {"inverted", "rotated"} & set(result.flags)


# A known gap, on two phantoms: the negative lateral film drawn at 256 and 512 px reads as a
# CT slice (0.66, 0.73: staged, the wrong modality, no flag). Dev films inverted, each read
# by the model of its CV fold: 159 of 163 read as X-rays (make eval).
LATERAL_GAP = pytest.mark.xfail(strict=True, reason="the negative lateral reads as a CT slice")


@pytest.mark.parametrize(
    "size", [pytest.param(256, marks=LATERAL_GAP), pytest.param(512, marks=LATERAL_GAP), 1024]
)
def test_negative_lateral_film_gets_in(size: int):
    assert classify_image(255 - phantoms.chest_xray_lateral(size)).modality == "xray"


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


def _reading(modality: str, confidence: float) -> Classification:
    return Classification(modality, None, confidence, ["size", "why"], [])


def test_among_sure_x_ray_retries_the_upright_positive_film_is_reported():
    """Texture does not change when a film is turned, so a sideways film may read as a sure
    X-ray inverted too: the variant with the brightest mediastinum column is the film as it
    should stand."""
    sure = [
        Retry(_reading("xray", 0.99), -0.2, "inverted", "inverted"),
        Retry(_reading("xray", 0.93), 0.35, "rotated", "turned a quarter clockwise"),
        Retry(_reading("xray", 0.95), -0.1, "rotated", "turned a quarter anticlockwise"),
    ]
    assert _likeliest(sure)[3] == "turned a quarter clockwise"


def test_the_surest_modality_is_kept_when_retries_disagree():
    sure = [
        Retry(_reading("ct", 0.97), 0.0, "rotated", "turned a quarter clockwise"),
        Retry(_reading("xray", 0.92), 0.4, "inverted", "inverted"),
    ]
    assert _likeliest(sure)[0].modality == "ct"


def _on_a_page(picture: np.ndarray, pad: int) -> np.ndarray:
    """The picture in plot axes on a white page: a frame line, tick numbers, a title."""
    h, w = picture.shape
    page = np.full((h + 2 * pad, w + 2 * pad), 255, np.uint8)
    page[pad : pad + h, pad : pad + w] = picture
    cv2.rectangle(page, (pad - 1, pad - 1), (pad + w, pad + h), 0, 1)
    for k in range(6):
        tick = str(50 * k)
        cv2.putText(page, tick, (pad - 40, pad + k * h // 5), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 0, 1)
        cv2.putText(page, tick, (pad + k * w // 5, pad + h + 25), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 0)
    title = "Chest radiograph, day 4"
    cv2.putText(page, title, (pad, pad - 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 0, 2)
    return page


def test_the_picture_on_a_page_is_retried_alone_at_its_own_size():
    film = phantoms.chest_xray_frontal(256, 0)
    page = _on_a_page(film, 60)
    picture = measure(page).picture
    assert picture is not None
    first, *others = _retries(page, picture)
    crop, (width, height), flag, how, allowed = first
    assert abs(width - 256) <= 3 and abs(height - 256) <= 3
    assert abs(crop.shape[0] - 256) <= 3 and abs(crop.shape[1] - 256) <= 3
    assert (flag, allowed) == ("", ("xray", "ct")) and how.startswith("without the page")
    assert [variant[2] for variant in others] == ["rotated", "rotated", "inverted"]
    # as it comes, the film has no white page around it: its view is read on the whole
    assert measure(film).view_column == measure(film).centre_bright
    assert [variant[2] for variant in _retries(film, None)] == ["rotated", "rotated", "inverted"]


def test_the_picture_of_a_large_page_is_cut_from_the_reduced_copy():
    """Bounded memory: the crop comes from the RETRY_SIDE copy, and stands for the picture's
    size in the image."""
    page = cv2.resize(_on_a_page(phantoms.chest_xray_frontal(256, 0), 60), None, fx=5, fy=5)
    crop, (width, height), *_ = next(_retries(page, measure(page).picture))
    # the box is found on the classifier's working copy: within two of its pixels
    slack = 2 * page.shape[0] / WORK_SIDE
    assert abs(width - 5 * 256) <= slack and abs(height - 5 * 256) <= slack
    reduced = RETRY_SIDE / page.shape[0]
    assert abs(crop.shape[0] - 5 * 256 * reduced) <= slack * reduced
    assert abs(crop.shape[1] - 5 * 256 * reduced) <= slack * reduced


def test_a_slice_in_plot_axes_read_as_other_is_staged_from_the_picture_alone():
    """The page's white, its frame and its numbers make the slice read as a chart; alone, it
    reads as a sure CT slice. It is staged for review with the reason and no flag: nothing
    was done to the slice."""
    image = _on_a_page(phantoms.ct_axial(200, 2), 50)
    assert decide(measure(image), shipped_model()).modality == "other"
    result = classify_image(image)
    assert result.modality == "ct", result.reasons
    assert result.confidence < LOW_CONFIDENCE
    assert not result.flags
    assert result.reasons[-1].startswith("retried:") and "without the page" in result.reasons[-1]


def _on_a_screen(picture: np.ndarray, pad: int) -> np.ndarray:
    """The picture on a viewer's black screen: a scout view and scanner text left of it."""
    h, w = picture.shape
    screen = np.zeros((h + 2 * pad, w + 3 * pad), np.uint8)
    screen[pad : pad + h, 2 * pad : 2 * pad + w] = picture
    side = pad + pad // 2
    scout = cv2.resize(phantoms.chest_xray_frontal(256, 1), (side, side))
    screen[pad + h - side : pad + h, 10 : 10 + side] = scout
    for k, line in enumerate(("KV: 120", "mA: 200", "ST: 2 mm", "SL: -187.5")):
        cv2.putText(screen, line, (12, pad + 20 * k + 10), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1)
    return screen


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_slice_on_a_viewers_screen_is_retried_without_the_screen(seed: int):
    """The slice's window shows air in dark grey, apart from the screen's black; the retry
    reads the slice without the scout view and the scanner text."""
    window = np.maximum(phantoms.ct_axial(300, seed), 45).astype(np.uint8)
    screen = _on_a_screen(window, 80)
    features = measure(screen)
    assert features.picture is not None
    left, top, right, bottom = features.picture
    height, width = screen.shape
    assert abs(left * width - 160) <= 4 and abs(right * width - 460) <= 4
    assert abs(top * height - 80) <= 4 and abs(bottom * height - 380) <= 4
    crop, size, flag, how, _ = next(_retries(screen, features.picture))
    assert abs(size[0] - 300) <= 4 and abs(size[1] - 300) <= 4
    assert flag == "" and how.startswith("without the page")
    assert classify_image(screen).modality == "ct"


def test_a_film_on_black_keeps_its_view_read_as_it_comes():
    """The view rule was set on films as they come, their black borders included: a black
    page gives the retry its picture, not the view its column."""
    film = np.zeros((400, 560), np.uint8)
    film[40:360, 120:440] = cv2.resize(phantoms.chest_xray_frontal(512, 0), (320, 320))
    features = measure(film)
    assert features.picture is not None
    assert features.view_column == features.centre_bright
    assert features.view_horizontal == features.grad_vertical


# Grey figures on a page that the shipped layer calls `other` short of RETRY_SKIP, so the
# retries run (pinned on the shipped model: the first assertion says when that changes).
PAGE_FIGURES = [(_brain_mri, 0), (_brain_mri, 1), (_brain_mri, 2), (_grey_microscopy, 0),
                (_grey_microscopy, 1)]  # fmt: skip


@pytest.mark.parametrize(("draw", "seed"), PAGE_FIGURES)
def test_figures_on_a_page_are_not_made_radiographs_by_their_picture(draw, seed: int):
    image = _on_a_page(_gray(draw(256, seed)), 60)
    features = measure(image)
    upright = decide(features, shipped_model())
    assert features.picture is not None
    assert upright.modality == "other" and upright.confidence < RETRY_SKIP, upright.reasons
    result = classify_image(image)
    assert result.modality == "other", result.reasons
    assert not any("without the page" in reason for reason in result.reasons)
