"""Chest X-ray / CT / other: OpenCV measurements and a small learned layer that explain
themselves.

`classify_file(path)`, `classify_image(array)` and `classify_array(uint8 array)` return a
`Classification` with the modality, the X-ray view, a calibrated confidence, flags (e.g.
`overlay`) and the measurements and weights that decided.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.classify.result import FLAGS, Classification
from pipeline.config import ClassifySettings

if TYPE_CHECKING:  # numpy and cv2 load on first use, so `python -m pipeline --help` stays fast
    import numpy as np

# Below this confidence a staged xray/ct is flagged for the reviewer (the default of
# configs/pipeline.toml [classify] low_confidence).
LOW_CONFIDENCE = ClassifySettings.low_confidence

__all__ = [
    "FLAGS",
    "LOW_CONFIDENCE",
    "Classification",
    "classify_array",
    "classify_file",
    "classify_files",
    "classify_image",
]


def classify_array(image: np.ndarray) -> Classification:
    """Classify a gray or BGR uint8 array."""
    from pipeline.classify.classifier import classify_array as classify

    return classify(image)


def classify_image(image: np.ndarray) -> Classification:
    """Classify a gray or BGR/BGRA uint8/uint16 array."""
    import numpy as np

    from pipeline.classify.decode import to_uint8

    return classify_array(to_uint8(np.asarray(image)))


def classify_file(path: Path) -> Classification:
    """Classify an image file; raises ImageReadError(path, reason) when it cannot be read."""
    from pipeline.classify.decode import CLASSIFY_SIDE, load_image

    return classify_array(load_image(Path(path), target_side=CLASSIFY_SIDE))


def classify_files(files: Iterable[tuple[int, Path | None]]) -> dict[int, Classification | str]:
    """Class of each (key, path); a string says why that file could not be read."""
    from pipeline.errors import ImageReadError

    results: dict[int, Classification | str] = {}
    for key, path in files:
        if path is None:
            continue
        try:
            results[key] = classify_file(path)
        except ImageReadError as exc:
            results[key] = exc.reason
        except Exception as exc:  # noqa: BLE001 - one odd file must not stop the others
            logging.getLogger(__name__).exception("%s: classifier failed", path)
            results[key] = f"internal error: {type(exc).__name__}: {exc}"
    return results
