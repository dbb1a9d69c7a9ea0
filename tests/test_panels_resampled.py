"""Regression: abutting panels of a figure stored at half the size it was drawn, as JPEG,
where seams fall on lines that mix two panels (eval_panels' random layouts 10, 30 and 32 of
draw 1, drawn again from the same dev images: tests/fixtures/resampled_grids.json); and,
found in review, pictures not cut where the grid of the others does not run: a slice where
one film's edge alone would put a line, and an enlarged tight crop of a slice. Skipped
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


def square(name: str, side: int) -> np.ndarray:
    """The middle of a dev image, as a square cell of `side` pixels."""
    return fit(cv2.imread(str(FILES / name), cv2.IMREAD_GRAYSCALE), side, side, 1.0)


# (large picture, upper and lower pictures stacked beside it): no grid line runs through the
# large one, though the caption names one panel more than the three.
BESIDE_TWO_STACKED = {
    # The film's bright lower edge runs into the white page, so its box ends short of the
    # cell, level with the lower slice's mediastinum: one picture's edge is no grid line.
    "slice-where-only-a-films-edge-runs": (
        "SARS-10.1148rg.242035193-g04mr34g0-Fig8c-day10.jpeg",
        "16630_5_1.jpg",
        "ctlit_ct_covid_2020.03.26.20041426-p11-133.png",
    ),
    # A lung-window crop of 190 x 119 px enlarged to 400 px (each pixel repeated three or
    # four times): the stacked films' gutter runs through it, but the jumps between its
    # repeated lines are no seam.
    "enlarged-crop": (
        "ctlit_ct_covid_Comparison-of-different-samples-for-2019-novel-cor_2020_"
        "International-Journa-p2-21_1.png",
        "bb0e626a.jpg",
        "16745_2_1.PNG",
    ),
}


@pytest.mark.skipif(not FILES.is_dir(), reason=f"no dev images at {FILES}")
@pytest.mark.parametrize("files", BESIDE_TWO_STACKED.values(), ids=BESIDE_TWO_STACKED)
def test_a_picture_beside_two_stacked_ones_is_not_cut_by_the_caption(
    files: tuple[str, str, str],
) -> None:
    large, upper, lower = files
    figure = np.full((420, 625), 255, dtype=np.uint8)
    figure[10:410, 10:410] = square(large, 400)
    figure[10:205, 420:615] = square(upper, 195)
    figure[215:410, 420:615] = square(lower, 195)
    split = split_figure(figure, "Figure 1. (A) Large. (B) Upper. (C) Lower. (D) Not shown.")
    assert not any("caption" in panel.found_by for panel in split.panels)
