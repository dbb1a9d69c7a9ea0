"""The named measurements the learned layer weighs, as a reviewer reads them.

One row per term: its key in `model.json`, the words shown on the review page, how its value
is taken from the measured Features, and how the value is printed. The model gives each
term a shape (a piecewise-linear function of the value, see model.py), so a term can count
for X-ray at one end of its range and against it at the other.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.classify.features import Features
from pipeline.classify.texture import KINDS, RADII

# The chest evidence of the hand-written rules this model replaced (read off the dev films):
# one of a bright mediastinum column, two enclosed dark lungs side by side, a bright base
# on a smooth film without a white frame, or a smooth lateral film with vertical structures.
# 98% of dev radiographs show one, a quarter of the dev `other` images do.
MEDIASTINUM_MIN = 0.10
LUNG_PAIR_MIN = 0.07
BASE_MIN, SMOOTH_DETAIL_MAX, SMOOTH_STROKES_MAX, SMOOTH_EDGES_MAX = 0.12, 0.28, 1.3, 0.10
FRAME_WHITE_MAX = 0.30
LATERAL = {
    "column_max": 0.07,
    "horizontal_max": 0.37,
    "strokes_max": 0.8,
    "edges_max": 0.035,
    "white_max": 0.10,
}


def chest_layout(f: Features) -> bool:
    """The image shows one of the chest layouts of a film or a slice (see above)."""
    smooth = (
        f.detail < SMOOTH_DETAIL_MAX
        and f.fine_texture < SMOOTH_STROKES_MAX
        and f.edges < SMOOTH_EDGES_MAX
    )
    lateral = (
        f.centre_bright < LATERAL["column_max"]
        and f.grad_vertical < LATERAL["horizontal_max"]
        and f.fine_texture < LATERAL["strokes_max"]
        and f.edges < LATERAL["edges_max"]
        and f.white < LATERAL["white_max"]
    )
    return (
        f.centre_bright >= MEDIASTINUM_MIN
        or (f.lung_pair and f.lung_frac >= LUNG_PAIR_MIN)
        or (f.bottom_bright >= BASE_MIN and f.border_white < FRAME_WHITE_MAX and smooth)
        or lateral
    )


def _texture_share(position: int) -> Callable[[Features], float]:
    return lambda f: f.texture[position]


@dataclass(frozen=True)
class Term:
    key: str
    words: str
    value: Callable[[Features], float]
    fmt: str  # format of the value as shown


TERMS: tuple[Term, ...] = (
    Term(
        "chest_layout",
        "a chest layout (mediastinum column, lung pair, bright base on a "
        "smooth film, or a lateral film)",
        lambda f: float(chest_layout(f)),
        "{:.0f}",
    ),
    Term(
        "mediastinum",
        "mediastinum column (centre minus lung columns)",
        lambda f: f.centre_bright,
        "{:+.2f}",
    ),
    Term(
        "lung_pair",
        "two enclosed dark lungs side by side (area)",
        lambda f: f.lung_frac if f.lung_pair else 0.0,
        "{:.0%}",
    ),
    Term("dark_regions", "enclosed dark regions (area)", lambda f: f.lung_frac, "{:.0%}"),
    Term("base", "bright base (bottom fifth minus middle)", lambda f: f.bottom_bright, "{:+.2f}"),
    Term("modes", "two clean intensity modes (Otsu separability)", lambda f: f.otsu_sep, "{:.2f}"),
    Term(
        "white",
        "saturated white",
        lambda f: math.sqrt(f.white),
        "{:.0%}",
    ),
    Term("black", "near-black", lambda f: math.sqrt(f.black), "{:.0%}"),
    Term("white_border", "white image border", lambda f: f.border_white, "{:.0%}"),
    Term("dark_corners", "dark corners (of 4)", lambda f: float(f.dark_corners), "{:.0f}"),
    Term("body_at_base", "body across the bottom edge", lambda f: f.body_touch_bottom, "{:.0%}"),
    Term("edges", "sharp edges (Canny)", lambda f: f.edges, "{:.1%}"),
    Term(
        "horizontal_edges", "share of horizontal edges (ribs)", lambda f: f.grad_vertical, "{:.2f}"
    ),
    Term(
        "strokes",
        "fine strokes in the dark parts (text, line art)",
        lambda f: f.fine_texture,
        "{:.2f}",
    ),
    Term("flat", "perfectly flat patches (graphics)", lambda f: f.flat_any, "{:.0%}"),
    Term(
        "flat_fills",
        "near-flat fills in mid grey (charts, logos, screenshots)",
        lambda f: f.flat_mid,
        "{:.0%}",
    ),
    Term("detail", "pixel-level detail (print, fur, halftone)", lambda f: f.detail, "{:.2f}"),
    Term("symmetry", "left-right symmetry", lambda f: f.symmetry, "{:+.2f}"),
    Term(
        "dark_level",
        "grey level of the dark parts (lungs: black on CT, grey on a film)",
        lambda f: f.dark_level,
        "{:.2f}",
    ),
    Term(
        "dark_spots",
        "small bright spots in the dark parts (vessels on CT)",
        lambda f: f.dark_spots,
        "{:.1%}",
    ),
    Term("levels", "grey levels used (entropy, bits)", lambda f: f.levels, "{:.1f}"),
    Term("wide", "aspect (log width/height)", lambda f: math.log(max(f.aspect, 1e-3)), "{:+.2f}"),
    Term("colour", "coloured pixels", lambda f: f.colour, "{:.0%}"),
    Term(
        "off_curve",
        "colour not explained by one hue or a colour map",
        lambda f: f.off_curve,
        "{:.0%}",
    ),
    Term(
        "colour_detail",
        "fine detail in the colours (photos, charts; not maps or heat maps)",
        lambda f: f.colour_detail,
        "{:.2f}",
    ),
    Term(
        "flat_colour",
        "flat colour fills off the one-hue curve (charts, logos)",
        lambda f: f.flat_colour,
        "{:.0%}",
    ),
    Term("marks", "burnt-in marks masked", lambda f: f.marks, "{:.1%}"),
    *(
        Term(
            f"texture{radius}_{kind}",
            f"texture at {radius} px, share of pixels with {words}",
            _texture_share(index * len(KINDS) + k),
            "{:.1%}",
        )
        for index, radius in enumerate(RADII)
        for k, (kind, words) in enumerate(KINDS)
    ),
)

TERM_KEYS = tuple(term.key for term in TERMS)
# Layout and texture, not how the image is printed: the terms whose joint spread over the
# training radiographs says how typical an image is of an X-ray or a CT slice (the model's
# distance guard).
TYPICAL_KEYS = tuple(
    k
    for k in TERM_KEYS
    if k not in ("colour", "off_curve", "colour_detail", "flat_colour", "marks")
    and not k.startswith("texture")
)


def term_values(f: Features) -> list[float]:
    """The value of every term, in TERMS order."""
    return [float(term.value(f)) for term in TERMS]
