"""Regression: abutting panels of a figure stored at half the size it was drawn, as JPEG,
where seams fall on lines that mix two panels (eval_panels' random layouts 10, 30 and 32 of
draw 1, drawn again from the same dev images: tests/fixtures/resampled_grids.json). Skipped
without ../shared/data/images."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.compound import split_figure
from tests.composites import build, downsampled_jpeg, fit
from tests.conftest import SHARED_DATA

FILES = SHARED_DATA / "images" / "files"
GRIDS = json.loads((Path(__file__).parent / "fixtures" / "resampled_grids.json").read_text())


@pytest.mark.skipif(not FILES.is_dir(), reason=f"no dev images at {FILES}")
@pytest.mark.parametrize("grid", GRIDS, ids=[g["case"]["id"] for g in GRIDS])
def test_abutting_panels_stored_at_half_size_are_cut(grid: dict) -> None:
    files = iter(grid["files"])

    def dev_picture(_kind: str, width: int, height: int, _seed: int, crop: float) -> np.ndarray:
        picture = cv2.imread(str(FILES / next(files)), cv2.IMREAD_GRAYSCALE)
        return fit(picture, width, height, crop)

    figure = build(grid["case"], dev_picture)
    stored = cv2.imdecode(np.frombuffer(downsampled_jpeg(figure.image, 0.5), np.uint8), 1)
    split = split_figure(stored, figure.caption)
    assert len(split.panels) == len(figure.boxes), split.reason
