"""Explicit rules over the measured features: what is not a chest image, CT vs X-ray, view.

Order of the rules:
1. other gates: colour figure or photo; text or line art; white page; flat-colour graphic.
2. chest evidence: a bright mediastinum column between darker lungs, two enclosed dark lung
   regions side by side, a bright diaphragm/abdomen base, or a smooth lateral film.
   Without any of these the image is other.
3. CT: at least 3 of 5 CT cues (clean two-mode lung-window contrast, counted twice when
   very clean; saturated white soft tissue; wider than tall; sharp edges), or a wide slice
   on dark corners around two enclosed lungs, or a body floating in a dark field of view
   around enclosed lungs.
   A CT also needs the mediastinum column or the lung pair and a slice's aspect.
4. X-ray otherwise, if its base is not darker than its middle, its aspect is a film's and
   its texture is within what films show; the view is lateral when there is no
   mediastinum column and the structures run vertically.

The thresholds were read off the dev images (bench/eval_classify.py scores them and
re-fits them under group-wise cross-validation). The reasons name the values measured
and the rule that fired, so a reviewer can see why an image was kept or dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.classify.features import Features
from pipeline.classify.result import Classification


@dataclass(frozen=True)
class Thresholds:
    """Every number the rules compare against."""

    # 1. other gates
    colour_min: float = 0.02  # coloured pixels: medical greyscale stays below 1%
    fine_strokes_min: float = 2.4  # |Laplacian| in dark parts / contrast: text, line art
    white_page_min: float = 0.65  # near-white area: CT crops keep at most half, films none
    flat_graphic_min: float = 0.5  # perfectly flat 5x5 patches: logos, banners, cartoons
    pixel_detail_min: float = 0.5  # high-pass share of contrast: print, pixel art, halftone
    # 2. chest evidence
    mediastinum_min: float = 0.10  # central column brighter than the two lung columns
    lung_pair_min: float = 0.07  # two enclosed dark regions side by side, this much area
    diaphragm_min: float = 0.12  # bottom fifth brighter than the middle band
    border_white_max: float = 0.30  # ... on a film, not a figure with a white frame
    # a bright base alone is weak evidence: only on a smooth film (dev films that rely on
    # it reach detail 0.25, strokes 1.19, edges 8%; grey photos of fur and wood go beyond)
    diaphragm_detail_max: float = 0.28
    diaphragm_strokes_max: float = 1.3
    diaphragm_edges_max: float = 0.10
    lateral_centre_max: float = 0.07  # lateral film: no mediastinum column
    lateral_grad_max: float = 0.37  # ... structures run vertically (spine, sternum)
    lateral_smooth_max: float = 0.8  # ... smooth
    lateral_edges_max: float = 0.035
    lateral_white_max: float = 0.10
    # 3. CT cues, one vote each (two for very clean modes); CT needs ct_votes_min
    ct_bimodal_min: float = 0.80  # Otsu separability: lung-window CT is two clean modes
    ct_bimodal_strong: float = 0.86  # ... very clean: a second vote
    ct_white_min: float = 0.02  # soft tissue saturated white in a lung window
    ct_aspect_wide: float = 1.2  # slices and their crops are wider than tall, films are not
    ct_edges_min: float = 0.05  # Canny edge fraction: CT slices are sharp, films smooth
    ct_votes_min: int = 3
    ct_wide_aspect: float = 1.30  # a wide slice on a dark surround
    ct_wide_edges: float = 0.04
    ct_float_touch_max: float = 0.5  # body covers under half of the bottom row
    ct_float_lungs_min: float = 0.05  # enclosed dark lung area inside the floating body
    ct_aspect_min: float = 0.6  # one slice or a crop of it (dev: 0.79 .. 1.88)
    ct_aspect_max: float = 2.2
    # 4. X-ray
    xray_base_min: float = -0.12  # the base of a chest film is not darker than the lungs
    xray_aspect_min: float = 0.45  # one chest film is roughly square (dev: 0.52 .. 1.44)
    xray_aspect_max: float = 1.6
    # texture well beyond any film on the dev split (max detail 0.30, strokes 1.74,
    # edges 12%): fur, wood, fabric and print in grey photos
    xray_detail_max: float = 0.36
    xray_strokes_max: float = 2.0
    xray_edges_max: float = 0.15


DEFAULT = Thresholds()

# The reason that starts an `other` verdict for want of any chest layout; the classifier
# then retries the image turned a quarter (a film or slice placed sideways) and inverted
# (a negative print).
NO_CHEST_LAYOUT = "no chest layout"
# The reason that starts an `other` verdict for a film whose base is darker than its middle:
# what a negative print of a chest film shows (dark diaphragm), so the classifier retries
# the image inverted.
DARK_BASE = "film-like but its base is darker than its middle"


def _sure(value: float, threshold: float, spread: float) -> float:
    """0.5 at the threshold, rising to 0.99 `spread` away from it."""
    return min(0.99, 0.5 + 0.49 * min(1.0, abs(value - threshold) / spread))


def ct_cues(f: Features, t: Thresholds = DEFAULT) -> list[tuple[bool, str]]:
    """The five CT votes (the clean-modes cue counts twice when very clean), each named."""
    return [
        (f.otsu_sep >= t.ct_bimodal_min, f"two clean intensity modes {f.otsu_sep:.2f}"),
        (f.otsu_sep >= t.ct_bimodal_strong, f"very clean (>= {t.ct_bimodal_strong})"),
        (f.white >= t.ct_white_min, f"saturated white tissue {f.white:.1%}"),
        (f.aspect >= t.ct_aspect_wide, f"wider than tall {f.aspect:.2f}"),
        (f.edges >= t.ct_edges_min, f"sharp edges {f.edges:.1%}"),
    ]


def decide(f: Features, t: Thresholds = DEFAULT) -> Classification:
    """Apply the rules to measured features."""
    measured = (
        f"decoded {f.width}x{f.height} px, content aspect {f.aspect:.2f}; "
        f"coloured pixels {f.colour:.1%}; "
        f"near-white {f.white:.0%}, near-black {f.black:.0%}"
    )

    def other(conf: float, why: str) -> Classification:
        return Classification("other", None, round(conf, 3), [measured, why])

    # 1. other gates
    if f.colour >= t.colour_min:
        return other(
            _sure(f.colour, t.colour_min, 0.05),
            f"colour figure or photo: {f.colour:.1%} coloured pixels (>= {t.colour_min:.0%})",
        )
    if f.fine_texture >= t.fine_strokes_min:
        return other(
            _sure(f.fine_texture, t.fine_strokes_min, 2.0),
            f"text or line art: sharp strokes {f.fine_texture:.2f} (>= {t.fine_strokes_min})",
        )
    if f.white >= t.white_page_min:
        return other(
            _sure(f.white, t.white_page_min, 0.2),
            f"white page background {f.white:.0%} (>= {t.white_page_min:.0%})",
        )
    if f.flat_any >= t.flat_graphic_min or f.detail >= t.pixel_detail_min:
        return other(
            max(
                _sure(f.flat_any, t.flat_graphic_min, 0.3),
                _sure(f.detail, t.pixel_detail_min, 0.3),
            ),
            f"graphic: flat patches {f.flat_any:.0%} (>= {t.flat_graphic_min:.0%}) or pixel "
            f"detail {f.detail:.2f} (>= {t.pixel_detail_min})",
        )

    # 2. chest evidence
    layout = (
        f"mediastinum column {f.centre_bright:+.2f}, enclosed dark regions {f.lung_frac:.0%}"
        f"{' side by side' if f.lung_pair else ''}, bright base {f.bottom_bright:+.2f}"
    )
    mediastinum = f.centre_bright >= t.mediastinum_min
    lung_pair = f.lung_pair and f.lung_frac >= t.lung_pair_min
    smooth_film = (
        f.detail < t.diaphragm_detail_max
        and f.fine_texture < t.diaphragm_strokes_max
        and f.edges < t.diaphragm_edges_max
    )
    diaphragm = (
        f.bottom_bright >= t.diaphragm_min and f.border_white < t.border_white_max and smooth_film
    )
    no_column = f.centre_bright < t.lateral_centre_max
    vertical = f.grad_vertical < t.lateral_grad_max
    lateral_film = (
        no_column
        and vertical
        and f.fine_texture < t.lateral_smooth_max
        and f.edges < t.lateral_edges_max
        and f.white < t.lateral_white_max
    )
    if mediastinum:
        chest_conf = _sure(f.centre_bright, t.mediastinum_min, 0.2)
        chest = f"chest: {layout}; bright mediastinum between darker lungs"
    elif lung_pair:
        chest_conf = _sure(f.lung_frac, t.lung_pair_min, 0.15)
        chest = f"chest: {layout}; two enclosed dark lung regions side by side"
    elif diaphragm:
        chest_conf = _sure(f.bottom_bright, t.diaphragm_min, 0.15)
        chest = (
            f"chest: {layout}; bright diaphragm and abdomen below the lungs on a smooth film "
            f"(detail {f.detail:.2f}, strokes {f.fine_texture:.2f}, edges {f.edges:.1%})"
        )
    elif lateral_film:
        chest_conf = 0.6
        chest = (
            f"chest: {layout}; smooth film (strokes {f.fine_texture:.2f}) with vertical "
            f"structures (horizontal-edge share {f.grad_vertical:.2f}): lateral radiograph"
        )
    else:
        conf = min(
            _sure(f.centre_bright, t.mediastinum_min, 0.2),
            max(_sure(f.bottom_bright, t.diaphragm_min, 0.2), _sure(f.lung_frac, 0.07, 0.15)),
        )
        return other(
            conf,
            f"{NO_CHEST_LAYOUT}: {layout} (needs column >= {t.mediastinum_min}, a lung pair, "
            f"or base >= {t.diaphragm_min} on a smooth film without a white frame)",
        )

    # 3. CT
    cues = ct_cues(f, t)
    votes = sum(1 for hit, _ in cues if hit)
    texture = f"CT cues {votes}/5 (needs {t.ct_votes_min}): " + ", ".join(
        f"{text} {'yes' if hit else 'no'}" for hit, text in cues
    )
    wide_slice = (
        f.aspect >= t.ct_wide_aspect
        and f.edges >= t.ct_wide_edges
        and f.dark_corners >= 2
        and lung_pair
    )
    floating = (
        f.dark_corners >= 3
        and f.body_touch_bottom < t.ct_float_touch_max
        and f.lung_frac >= t.ct_float_lungs_min
    )
    if votes >= t.ct_votes_min or wide_slice or floating:
        if votes >= t.ct_votes_min:
            ct_conf = {3: 0.7, 4: 0.85}.get(votes, 0.95)
            why = f"CT: {texture}"
        elif wide_slice:
            ct_conf = 0.6
            why = (
                f"CT: wide slice (aspect {f.aspect:.2f}) on dark corners ({f.dark_corners}/4) "
                f"around two enclosed lungs; {texture}"
            )
        else:
            ct_conf = 0.7
            why = (
                f"CT: body floats in a dark field of view (dark corners {f.dark_corners}/4, "
                f"covers {f.body_touch_bottom:.0%} of the bottom edge) around enclosed dark "
                f"lungs {f.lung_frac:.0%}; {texture}"
            )
        if not t.ct_aspect_min <= f.aspect <= t.ct_aspect_max:
            return other(
                0.6,
                f"CT-like ({why[4:]}) but aspect {f.aspect:.2f} is outside a slice's "
                f"{t.ct_aspect_min}..{t.ct_aspect_max}",
            )
        if not (mediastinum or lung_pair):
            return other(
                min(ct_conf, 0.7),
                f"CT-like ({why[4:]}) but no mediastinum column or lung pair: {layout}",
            )
        return Classification(
            "ct", None, round(min(chest_conf, ct_conf), 3), [measured, chest, why]
        )

    # 4. X-ray
    if f.bottom_bright < t.xray_base_min:
        return other(
            _sure(f.bottom_bright, t.xray_base_min, 0.2),
            f"{DARK_BASE} ({f.bottom_bright:+.2f} < {t.xray_base_min}): not a chest film; {layout}",
        )
    if not t.xray_aspect_min <= f.aspect <= t.xray_aspect_max:
        return other(
            0.6,
            f"film-like but aspect {f.aspect:.2f} is outside a chest film's "
            f"{t.xray_aspect_min}..{t.xray_aspect_max}; {layout}",
        )
    if (
        f.detail >= t.xray_detail_max
        or f.fine_texture >= t.xray_strokes_max
        or f.edges >= t.xray_edges_max
    ):
        return other(
            0.6,
            f"film-like layout but photo texture: detail {f.detail:.2f} (films < "
            f"{t.xray_detail_max}), strokes {f.fine_texture:.2f} (< {t.xray_strokes_max}), "
            f"edges {f.edges:.1%} (< {t.xray_edges_max:.0%}); {layout}",
        )
    xray_conf = {0: 0.95, 1: 0.85}.get(votes, 0.65)
    lateral = no_column and vertical
    if lateral:
        view = (
            f"lateral: no mediastinum column ({f.centre_bright:+.2f} < {t.lateral_centre_max}), "
            f"vertical structures (horizontal-edge share {f.grad_vertical:.2f} "
            f"< {t.lateral_grad_max})"
        )
    else:
        view = (
            f"frontal: mediastinum column {f.centre_bright:+.2f}, "
            f"horizontal-edge share {f.grad_vertical:.2f}"
        )
    return Classification(
        "xray",
        "lateral" if lateral else "frontal",
        round(min(chest_conf, xray_conf), 3),
        [measured, chest, f"X-ray, not CT: {texture}", view],
    )
