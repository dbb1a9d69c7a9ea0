"""Measure, decide, and retry an image that reads as `other`, or as a weak radiograph, as given.

Two retries, each accepted only when the model is sure of a radiograph once the image is
turned or inverted, and reported below LOW_CONFIDENCE with a flag so a reviewer looks:
- turned a quarter (`rotated`): a film or a CT slice scanned or placed sideways;
- inverted (`inverted`): a negative print (bones dark, lungs bright), as some papers show
  chest films. Only an X-ray counts: an inverted white-page figure is a dark field with
  bright marks, which can look like a CT slice.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.classify.decide import WEAK_CONFIDENCE, decide
from pipeline.classify.features import measure
from pipeline.classify.model import Model, shipped_model
from pipeline.classify.result import Classification

RETRY_MIN = 0.9  # probability of the radiograph the turned or inverted image must reach
RETRY_SKIP = 0.97  # an image `other` with this probability upright is not retried (charts)
_TURNS = ((cv2.ROTATE_90_CLOCKWISE, "clockwise"), (cv2.ROTATE_90_COUNTERCLOCKWISE, "anticlockwise"))


def classify_array(image: np.ndarray, model: Model | None = None) -> Classification:
    """Classify a gray or BGR uint8 image (`model`: the shipped one unless given)."""
    model = model or shipped_model()
    upright = decide(measure(image), model)
    if upright.modality != "other" and upright.confidence > WEAK_CONFIDENCE:
        return upright
    if upright.modality == "other" and upright.confidence >= RETRY_SKIP:
        return upright
    tries = [
        (cv2.rotate(image, turn), "rotated", f"turned a quarter {name}", ("xray", "ct"))
        for turn, name in _TURNS
    ]
    tries.append((255 - image, "inverted", "inverted (a negative print)", ("xray",)))
    best: tuple[Classification, str, str] | None = None
    for variant, flag, how, allowed in tries:
        result = decide(measure(variant), model)
        sure = result.modality in allowed and result.confidence >= RETRY_MIN
        if sure and (best is None or result.confidence > best[0].confidence):
            best = (result, flag, how)
    if best is None:
        return upright
    result, flag, how = best
    what = f"{result.view} X-ray" if result.modality == "xray" else "CT slice"
    return Classification(
        result.modality,
        result.view,
        WEAK_CONFIDENCE,
        [
            *result.reasons,
            f"{flag}: as given it reads as {upright.reasons[1]}; {how} it reads as a "
            f"{what} ({result.confidence:.2f}), flagged for review",
        ],
        [*result.flags, flag],
    )
