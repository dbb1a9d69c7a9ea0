"""Measure, decide, and retry an image that reads as `other`, or as a weak radiograph, as given.

The retries, each accepted only when the model is sure of a radiograph once the image is
cropped, turned or inverted, and reported below LOW_CONFIDENCE so a reviewer looks:
- the picture alone: a film or slice printed on a white page with plot axes, a title or a
  label strip around it (features._on_paper found it), or shown on a black one (a viewer's
  screen with a scout view and scanner text beside the slice: features._on_screen) is read
  without the page. The page and its text are what make such a figure read as a chart;
  nothing is done to the film, so there is no flag, only the reason;
- turned a quarter (`rotated`): a film or a CT slice scanned or placed sideways;
- inverted (`inverted`): a negative print (bones dark, lungs bright), as some papers show
  chest films. Only an X-ray counts: an inverted white-page figure is a dark field with
  bright marks, which can look like a CT slice.
When several retries are sure, the flag must name what was done to the film: see _likeliest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import NamedTuple

import cv2
import numpy as np

from pipeline.classify.decide import WEAK_CONFIDENCE, decide
from pipeline.classify.decode import shrunk
from pipeline.classify.features import WORK_SIDE, Features, measure
from pipeline.classify.model import Model, shipped_model
from pipeline.classify.result import Classification

# Confidences (the model's curve: how often held-out decisions were right), as reported:
RETRY_MIN = 0.9  # of the radiograph the cropped, turned or inverted image must reach
RETRY_SKIP = 0.97  # of `other` upright, from which an image is not retried (charts)
_TURNS = ((cv2.ROTATE_90_CLOCKWISE, "clockwise"), (cv2.ROTATE_90_COUNTERCLOCKWISE, "anticlockwise"))
# Retries crop, turn and invert a reduced copy: measuring works on a far smaller one anyway,
# and three full-size variants of a 144 MP image would cost over 400 MB.
RETRY_SIDE = 4 * WORK_SIDE
MIN_PICTURE_SIDE = 32  # a cropped picture smaller than this is not read on its own


def _pixels(
    box: tuple[float, float, float, float], width: int, height: int
) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) pixels of a box given as fractions of the image."""
    left, top, right, bottom = box
    return round(left * width), round(top * height), round(right * width), round(bottom * height)


def _retries(
    image: np.ndarray, picture: tuple[float, float, float, float] | None
) -> Iterator[tuple[np.ndarray, tuple[int, int], str, str, tuple[str, ...]]]:
    """(variant, the (width, height) it stands for, flag, how, modalities it may show), one
    at a time from a reduced copy. `picture`: the box of the picture on a white or black
    page, as fractions of the image (Features.picture)."""
    height, width = image.shape[:2]
    small = shrunk(image, RETRY_SIDE, min_side=8)
    if picture is not None:
        x0, y0, x1, y1 = _pixels(picture, small.shape[1], small.shape[0])
        crop = small[y0:y1, x0:x1]
        if min(crop.shape[:2]) >= MIN_PICTURE_SIDE:
            left, top, right, bottom = _pixels(picture, width, height)
            yield (
                crop,
                (right - left, bottom - top),
                "",
                f"without the page around it (the picture at x {left}-{right}, y {top}-{bottom})",
                ("xray", "ct"),
            )
    for turn, name in _TURNS:
        yield (
            cv2.rotate(small, turn),
            (height, width),
            "rotated",
            f"turned a quarter {name}",
            ("xray", "ct"),
        )
    yield 255 - small, (width, height), "inverted", "inverted (a negative print)", ("xray",)


def _measure_sized(variant: np.ndarray, width: int, height: int) -> Features:
    """Measure a reduced variant, reporting the size of the image it stands for."""
    return replace(measure(variant), width=width, height=height)


class Retry(NamedTuple):
    result: Classification  # the cropped, turned or inverted variant's reading
    column: float  # its mediastinum column (Features.view_column)
    flag: str
    how: str


def _likeliest(sure: list[Retry]) -> Retry:
    """The retry to report: the surest modality; among X-ray readings, the variant with the
    brightest mediastinum column (confidence breaks ties). Texture does not change when a
    film is turned, so a sideways film also reads as a sure X-ray inverted, and a negative
    one turned; of a frontal film, only the variant that is the film upright and positive
    has the column. A lateral film has none either way, and the pick among its readings is
    no surer than before."""
    best = max(sure, key=lambda s: s.result.confidence)
    if best.result.modality != "xray":
        return best
    xrays = (s for s in sure if s.result.modality == "xray")
    return max(xrays, key=lambda s: (s.column, s.result.confidence))


def classify_array(image: np.ndarray, model: Model | None = None) -> Classification:
    """Classify a gray or BGR uint8 image (`model`: the shipped one unless given)."""
    model = model or shipped_model()
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    measured = measure(image)
    upright = decide(measured, model)
    if upright.modality != "other" and upright.confidence > WEAK_CONFIDENCE:
        return upright
    if upright.modality == "other" and upright.confidence >= RETRY_SKIP:
        return upright
    sure: list[Retry] = []
    for variant, (width, height), flag, how, allowed in _retries(image, measured.picture):
        features = _measure_sized(variant, width, height)
        result = decide(features, model)
        if result.modality in allowed and result.confidence >= RETRY_MIN:
            sure.append(Retry(result, features.view_column, flag, how))
    if not sure:
        return upright
    result, _, flag, how = _likeliest(sure)
    what = f"{result.view} X-ray" if result.modality == "xray" else "CT slice"
    return Classification(
        result.modality,
        result.view,
        WEAK_CONFIDENCE,
        [
            *result.reasons,
            f"{flag or 'retried'}: as given it reads as {upright.reasons[1]}; {how} it reads "
            f"as a {what} ({result.confidence:.2f}), {'flagged' if flag else 'reported'} for "
            "review",
        ],
        [*result.flags, flag] if flag else result.flags,
    )
