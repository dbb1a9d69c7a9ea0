"""From measured features to a Classification a reviewer can read.

The model (model.py) gives calibrated probabilities for X-ray, CT and other. Recall comes
first: an image is `other` only when the model is sure (probability of `other` at least
`other_min`, chosen in training so that held-out radiographs are almost never dropped).
Anything else is staged as the likelier radiograph; its confidence is how often held-out
decisions at that radiograph's probability were right (the model's confidence curve). An
image the model leans against (`other` likelier) but cannot rule out, and one without
strong evidence, are reported below LOW_CONFIDENCE and flagged for the reviewer.

The reasons name the measurements and the terms that weighed most for and against the
answer, each with its share of the decision in logit units.
"""

from __future__ import annotations

import numpy as np

from pipeline.classify.features import Features
from pipeline.classify.model import ALL_TERMS, CLASSES, HEAVY_COLOUR, Model, base_values
from pipeline.classify.result import Classification
from pipeline.classify.terms import TERMS, chest_layout
from pipeline.config import ClassifySettings

# Lateral film: no bright mediastinum column and structures that run vertically (spine,
# sternum, the back of the heart). Dev laterals: column -0.01..+0.06, horizontal-edge share
# up to 0.35; frontal films: column above 0.1 or horizontal ribs.
LATERAL_COLUMN_MAX = 0.07
LATERAL_HORIZONTAL_MAX = 0.37
# Without strong evidence (Model.strong: a chest layout, no heavy unexplained colour, layout
# and texture within the guard start of the class) a radiograph is reported below
# LOW_CONFIDENCE, whatever its probability.
WEAK_CONFIDENCE = round(ClassifySettings.low_confidence - 0.01, 2)
SHOWN_FOR = 3
SHOWN_AGAINST = 2
_WORDS = {t.key: t.words for t in TERMS}
_FORMATS = {t.key: t.fmt for t in TERMS}


def decide(f: Features, model: Model) -> Classification:
    """Modality, view, confidence, flags and reasons for one measured image."""
    values = base_values([f])
    contributions = model.contributions(values)[0]
    guard = model.guard(values)[0]
    probs = model.probabilities(values)[0]
    p = dict(zip(CLASSES, (float(v) for v in probs), strict=True))
    if p["other"] >= model.other_min:
        modality = "other"
    else:
        modality = "xray" if p["xray"] >= p["ct"] else "ct"
    calibrated = round(float(model.confidence(p[modality])), 3)
    leaned_against = modality != "other" and p["other"] > p[modality]
    weak = modality != "other" and not model.strong(values)[0][CLASSES.index(modality)]
    capped = (leaned_against or weak) and calibrated > WEAK_CONFIDENCE
    confidence = WEAK_CONFIDENCE if capped else calibrated
    reasons = [_measured(f), _verdict(modality, p, model, calibrated, capped)]
    if weak:
        reasons.append(_weak(modality, f, values, model))
    reasons.append(_weights(modality, contributions, values[0], model))
    if guard.any():
        reasons.append(_guard(values, guard, model))
    view = None
    flags: list[str] = []
    if modality == "xray":
        view, why = view_of(f)
        reasons.append(why)
    if modality != "other" and f.overlay >= model.overlay_min:
        flags.append("overlay")
        reasons.append(
            f"overlay: {f.overlay:.0%} of the image lies under colour that no tint or colour "
            f"map explains (>= {model.overlay_min:.0%}): a heat map or segmentation mask on "
            "the radiograph"
        )
    return Classification(modality, view, confidence, reasons, flags)


def _weak(modality: str, f: Features, values: np.ndarray, model: Model) -> str:
    if not chest_layout(f):
        missing = "no chest layout (mediastinum column, lung pair, bright base, lateral film)"
    elif f.off_curve >= HEAVY_COLOUR:
        missing = (
            f"{f.off_curve:.0%} of the image is colour that no tint or colour map explains "
            f"(>= {HEAVY_COLOUR:.0%}): what lies under it is not clearly seen"
        )
    else:
        distance = model.typical.distances(values)[0][CLASSES.index(modality)]
        missing = (
            f"layout and texture unlike the training {modality} images (distance "
            f"{distance:.1f} > {model.guard_start:.1f})"
        )
    return f"weak evidence: {missing}; reported below {ClassifySettings.low_confidence}"


def _measured(f: Features) -> str:
    colour = f"{f.rendering}"
    if f.rendering != "grey":
        colour += f" ({f.colour:.0%} coloured, {f.off_curve:.0%} off the one-hue curve)"
    return (
        f"decoded {f.width}x{f.height} px, content aspect {f.aspect:.2f}; {colour}; "
        f"marks masked {f.marks:.1%}"
    )


def _verdict(
    modality: str, p: dict[str, float], model: Model, calibrated: float, capped: bool
) -> str:
    odds = f"X-ray {p['xray']:.2f}, CT {p['ct']:.2f}, other {p['other']:.2f}"
    said = f"; held-out decisions at {p[modality]:.2f} were right {calibrated:.0%} of the time"
    if capped:
        said += f", reported at {WEAK_CONFIDENCE} for a reviewer to decide"
    if modality == "other":
        return f"other: {odds} (other needs >= {model.other_min:.2f}){said}"
    if p["other"] > p[modality]:
        return (
            f"{modality}, not ruled out: {odds}; other is likelier but below "
            f"{model.other_min:.2f}, so the image is staged{said}"
        )
    return f"{modality}: {odds}{said}"


def _weights(modality: str, contributions: np.ndarray, values: np.ndarray, model: Model) -> str:
    """The terms that pushed the answer most, in logit units against the other classes."""
    reference = model.contributions(model.centre[None])[0]  # a typical training image
    c = contributions - reference
    k = CLASSES.index(modality)
    rest = [j for j in range(len(CLASSES)) if j != k]
    push = c[k] - c[rest].mean(axis=0)
    order = np.argsort(-push)
    pro = [i for i in order[:SHOWN_FOR] if push[i] > 0.05]
    con = [i for i in order[::-1][:SHOWN_AGAINST] if push[i] < -0.05]

    def say(i: int) -> str:
        key = ALL_TERMS[i]
        return f"{_WORDS[key]} {_FORMATS[key].format(values[i])} ({push[i]:+.1f})"

    text = f"for {modality}: " + ("; ".join(say(i) for i in pro) or "nothing stands out")
    if con:
        text += "; against: " + "; ".join(say(i) for i in con)
    return text


def _guard(values: np.ndarray, guard: np.ndarray, model: Model) -> str:
    distance = model.typical.distances(values)[0]
    parts = [
        f"{name} {distance[k]:.1f} ({guard[k]:+.1f})"
        for k, name in enumerate(("from the X-rays", "from the CT slices"))
        if guard[k] < 0
    ]
    return (
        "unlike the radiographs seen in training: layout and texture lie far "
        + ", ".join(parts)
        + f" (held-out radiographs stay within {model.guard_start:.1f})"
    )


def view_of(f: Features) -> tuple[str, str]:
    """Frontal or lateral, and why, for an image read as a chest X-ray: measured on the
    picture past any title or tick numbers around it (Features.view_*)."""
    if f.view_column < LATERAL_COLUMN_MAX and f.view_horizontal < LATERAL_HORIZONTAL_MAX:
        return "lateral", (
            f"lateral: no mediastinum column ({f.view_column:+.2f} < {LATERAL_COLUMN_MAX}), "
            f"vertical structures (horizontal-edge share {f.view_horizontal:.2f} "
            f"< {LATERAL_HORIZONTAL_MAX})"
        )
    return "frontal", (
        f"frontal: mediastinum column {f.view_column:+.2f}, "
        f"horizontal-edge share {f.view_horizontal:.2f}"
    )
