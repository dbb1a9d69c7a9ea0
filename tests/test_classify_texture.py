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


def test_an_image_smaller_than_the_ring_counts_as_flat() -> None:
    assert histogram(np.zeros((5, 5), np.uint8), 4)[KIND["flat"]] == 1.0
