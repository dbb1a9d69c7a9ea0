"""Local-pattern counts (pipeline/classify/texture.py) on drawn images whose patterns are known."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.classify.texture import KINDS, RADII, histogram, texture

KIND = {name: k for k, (name, _words) in enumerate(KINDS)}


def test_shares_sum_to_one_for_every_radius() -> None:
    image = np.random.default_rng(0).integers(0, 256, (64, 80), dtype=np.uint8)
    values = np.array(texture(image)).reshape(len(RADII), len(KINDS))
    assert np.allclose(values.sum(axis=1), 1.0)


def test_a_flat_image_and_noise_under_the_tolerance_are_flat() -> None:
    image = 120 + np.random.default_rng(1).integers(-1, 2, (50, 50))
    assert histogram(image.astype(np.uint8), 2)[KIND["flat"]] == pytest.approx(1.0)


def test_a_bright_dot_is_a_peak_and_its_ring_sees_it() -> None:
    image = np.full((21, 21), 50, np.uint8)
    image[10, 10] = 200
    shares = histogram(image, 1) * (19 * 19)
    assert shares[KIND["peak"]] == pytest.approx(1)  # the dot: no neighbour brighter
    assert shares[KIND["one"]] == pytest.approx(8)  # its 8 neighbours: one brighter each
    assert shares[KIND["flat"]] == pytest.approx(19 * 19 - 9)


def test_beside_a_straight_step_three_neighbours_are_brighter() -> None:
    image = np.full((30, 30), 40, np.uint8)
    image[:, 15:] = 200
    shares = histogram(image, 2) * (26 * 26)
    # the two dark columns next to the step see the three neighbours across it brighter
    assert shares[KIND["three"]] == pytest.approx(2 * 26)
    assert shares[KIND["peak"]] == pytest.approx(2 * 26)  # bright side: nothing brighter


def test_a_radius_the_image_is_too_narrow_for_repeats_the_largest_that_fits() -> None:
    strip = np.random.default_rng(2).integers(0, 256, (12, 200), dtype=np.uint8)
    assert histogram(strip, 8) is None
    values = np.array(texture(strip)).reshape(len(RADII), len(KINDS))
    assert np.array_equal(values[2], values[1]) and not np.array_equal(values[1], values[0])
    tiny = np.array(texture(np.zeros((3, 3), np.uint8))).reshape(len(RADII), len(KINDS))
    assert tiny[:, KIND["flat"]].tolist() == [1.0] * len(RADII)


def test_turning_an_image_a_quarter_leaves_the_counts_as_they_are() -> None:
    image = np.random.default_rng(3).integers(0, 256, (40, 60), dtype=np.uint8)
    assert np.allclose(texture(image), texture(np.rot90(image)))
