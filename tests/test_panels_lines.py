"""Separators along one axis: gutters and thin lines of any colour, seams of abutting panels."""

from __future__ import annotations

import numpy as np

from pipeline.compound.lines import gutters
from pipeline.compound.seams import seams, strong_seams
from tests import phantoms


def side_by_side(*pictures: np.ndarray, gap: int = 0, grey: int = 255) -> np.ndarray:
    height = pictures[0].shape[0]
    parts: list[np.ndarray] = []
    for picture in pictures:
        if parts and gap:
            parts.append(np.full((height, gap), grey, dtype=np.uint8))
        parts.append(picture)
    return np.hstack(parts)


def film(seed: int, size: int = 200) -> np.ndarray:
    return phantoms.chest_xray_frontal(round(size / 0.8), seed=seed)[25:225, 25:225]


def test_a_white_gutter_is_found_where_it_is() -> None:
    figure = side_by_side(film(1), film(2), gap=10)
    (gutter,) = gutters(figure, 1, background=255.0)
    assert (gutter.start, gutter.stop, gutter.kind) == (200, 210, "gutter")
    assert gutters(figure, 0, background=255.0) == []


def test_a_dark_hairline_between_tight_crops_is_a_line() -> None:
    figure = side_by_side(film(1), film(2), gap=2, grey=0)
    (line,) = gutters(figure, 1, background=None)
    assert (line.start, line.stop, line.kind) == (200, 202, "line")


def test_a_letter_crossing_a_gutter_does_not_hide_it() -> None:
    figure = side_by_side(film(1), film(2), gap=12)
    figure[90:97, 198:214] = 0  # a few pixels of a label across the gutter
    assert [g.start for g in gutters(figure, 1, background=255.0)] == [200]


def test_abutting_panels_of_different_content_meet_at_a_seam() -> None:
    ct = phantoms.ct_axial(250, seed=3)[25:225, 25:225]
    (seam,) = seams(strong_seams(side_by_side(film(1), ct), 1))
    assert seam.kind == "seam" and seam.start == 200


def test_a_weak_seam_on_the_pitch_of_a_strong_one_completes_a_strip() -> None:
    """Three slices in a row, the last two nearly alike (the same slice, filtered twice):
    the second seam is faint but sits where a strip of three puts it."""
    ct = phantoms.ct_axial(250, seed=3)[25:225, 25:225].astype(np.int16)
    first = np.clip(ct * 0.6 + 60, 0, 255).astype(np.uint8)
    second = ct.astype(np.uint8)
    third = np.clip(ct + 20, 0, 255).astype(np.uint8)
    strip = side_by_side(first, second, third)
    assert [s.start for s in seams(strong_seams(strip, 1))] == [200, 400]


def test_a_film_is_not_cut_at_the_edge_of_its_own_frame() -> None:
    framed = np.zeros((300, 420), dtype=np.uint8)
    framed[:, 60:360] = phantoms.ct_axial(300, seed=4)
    assert seams(strong_seams(framed, 1)) == []


def test_an_edge_that_ramps_over_several_lines_is_not_a_seam() -> None:
    """A brighter region inside one picture (the spine of a coronal view) whose edge ramps
    over a few lines: its two-line jump is strong, but so are those beside it."""
    import cv2

    ct = phantoms.ct_axial(300, seed=4)[50:250, 50:250].astype(np.float32)
    brighter = np.zeros_like(ct)
    brighter[:, 90:] = 60.0
    brighter = cv2.GaussianBlur(brighter, (0, 0), 1.5)
    texture = np.random.default_rng(0).normal(0.0, 4.0, ct.shape)
    picture = np.clip(ct * 0.5 + brighter + texture, 0, 255).astype(np.uint8)
    assert seams(strong_seams(picture, 1)) == []
