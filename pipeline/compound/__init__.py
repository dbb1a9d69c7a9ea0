"""Compound figures cut into panels: a decoded image (and its caption) in, panels out.

`split_figure(pixels, caption)` works on any image, from a PDF or a case page, and returns a
`FigureSplit`: each `Panel` has its box in the figure, its letter, its part of the caption
and the kinds of separators it was found by. Nothing here knows about PDFs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.compound.records import FigureSplit, Panel

if TYPE_CHECKING:  # numpy and cv2 load on first use
    import numpy as np

__all__ = ["CROSSED_MIN_SIDE", "MIN_SIDE", "FigureSplit", "Panel", "split_figure"]

# Pixels: an image with a shorter side is not cut. A figure whose short side could hold one
# radiograph as small as curators take is tried: the collection's smallest CT slices are
# about 105 px on their short side, and a row of such panels is that short (160 before:
# such rows were never cut).
MIN_SIDE = 96
# Below this short side, gutters crossed by thin strokes are not looked for: at that size a
# film's ribs are as thin as text, and with them wiped its mediastinum reads as a gutter
# (single dev films reduced to 96-130 px were cut in two at it).
CROSSED_MIN_SIDE = 160


def split_figure(
    pixels: np.ndarray, caption: str | None = None, *, named: int | None = None
) -> FigureSplit:
    """Cut a gray or BGR(A) image into its panels (see pipeline/compound/split.py)."""
    from pipeline.compound.split import split_figure as split

    return split(pixels, caption, named=named)
