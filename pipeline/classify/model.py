"""The learned layer: an additive logistic model over the named terms (terms.py).

Each term's value is clipped to the range seen in training, scaled, and expanded into a
line plus hinges at fixed knots; per class, the model adds up a weight for each piece. So a
term's contribution to a class is a piecewise-linear curve of its value, and the logit of a
class is a bias plus one contribution per term: every decision reads as "which measurements
pushed towards X-ray, CT or other, and by how much".

An image unlike anything seen in training must not be called a radiograph with confidence
because no single measurement is out of range. A guard measures how far the image's layout
and texture terms lie from those of the training X-rays, and of the training CT slices
(Mahalanobis distance), and beyond `guard_start` (the far end of what held-out radiographs
show) it lowers that class's logit by `guard_slope` per unit of distance: an MRI slice, a
blot or a grey photo then reads as `other` even when the additive terms would not say so.

Probabilities are the softmax of the logits over a temperature fitted on held-out folds.
The confidence reported for a decision is that probability recalibrated on the held-out
decisions themselves (Platt: a logistic curve of its log-odds), so a stated confidence of
0.9 is right about nine times in ten. `bench/train_classify.py` fits everything and writes
`model.json` beside this file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from pipeline.classify.features import Features
from pipeline.classify.terms import TERM_KEYS, TYPICAL_KEYS, term_values

MODEL_FILE = Path(__file__).with_name("model.json")
HEAVY_COLOUR = 0.6  # share off the one-hue curve above which the image under it is hidden
CLASSES = ("xray", "ct", "other")
ALL_TERMS = TERM_KEYS


@dataclass(frozen=True)
class Typical:
    """Where the layout and texture terms of X-rays and of CT slices lie in training."""

    low: np.ndarray  # (d,) clip range
    high: np.ndarray
    mean: np.ndarray  # (2, d) X-ray, CT
    precision: np.ndarray  # (2, d, d) inverse covariance

    def distances(self, base: np.ndarray) -> np.ndarray:
        """(samples, 2): Mahalanobis distance to the X-rays and to the CT slices."""
        index = [TERM_KEYS.index(k) for k in TYPICAL_KEYS]
        x = np.clip(base[:, index], self.low, self.high)
        d = x[:, None, :] - self.mean[None]
        return np.sqrt(np.maximum(0.0, np.einsum("nci,cij,ncj->nc", d, self.precision, d)))


@dataclass(frozen=True)
class Model:
    typical: Typical
    guard_start: float  # distance from a radiograph class beyond which its logit is lowered
    guard_slope: float  # logit units per unit of distance beyond guard_start
    low: np.ndarray  # per term: clip range, from the training data
    high: np.ndarray
    centre: np.ndarray  # per term: (value - centre) / scale before the basis
    scale: np.ndarray
    knots: np.ndarray  # (terms, hinges) in scaled units
    weights: np.ndarray  # (classes, terms, 1 + hinges)
    bias: np.ndarray  # (classes,)
    temperature: float
    other_min: float  # `other` only at this probability or above; else staged, flagged
    overlay_min: float  # overlay share above which a radiograph carries the flag
    info: dict
    confidence_curve: tuple[float, float] = (1.0, 0.0)  # Platt slope and offset

    def confidence(self, probability: np.ndarray | float) -> np.ndarray:
        """The reported confidence of a decision taken at this class probability."""
        return platt(np.asarray(probability, dtype=float), *self.confidence_curve)

    def guard(self, base: np.ndarray) -> np.ndarray:
        """(samples, classes): what the distance guard adds to each logit (0 or less)."""
        beyond = np.maximum(0.0, self.typical.distances(base) - self.guard_start)
        return np.hstack([-self.guard_slope * beyond, np.zeros((len(base), 1))])

    def basis(self, values: np.ndarray) -> np.ndarray:
        """(samples, terms, 1 + hinges): the scaled value and its hinges."""
        z = (np.clip(values, self.low, self.high) - self.centre) / self.scale
        hinges = np.maximum(0.0, z[:, :, None] - self.knots[None, :, :])
        return np.concatenate([z[:, :, None], hinges], axis=2)

    def contributions(self, values: np.ndarray) -> np.ndarray:
        """(samples, classes, terms): what each term adds to each class's logit."""
        return np.einsum("ntb,ctb->nct", self.basis(values), self.weights)

    def strong(self, base: np.ndarray) -> np.ndarray:
        """(samples, 2): strong evidence for X-ray, for CT: the image shows a chest layout, is
        not mostly covered by colour it cannot explain (a heavy overlay hides what is under
        it), and its layout and texture lie within the guard start of that class."""
        layout = base[:, TERM_KEYS.index("chest_layout")] > 0.5
        seen = base[:, TERM_KEYS.index("off_curve")] < HEAVY_COLOUR
        near = self.typical.distances(base) <= self.guard_start
        return near & (layout & seen)[:, None]

    def logits(self, base: np.ndarray) -> np.ndarray:
        return self.contributions(base).sum(axis=2) + self.bias + self.guard(base)

    def probabilities(self, base: np.ndarray) -> np.ndarray:
        """(samples, classes) calibrated class probabilities."""
        return softmax(self.logits(base) / self.temperature)

    def to_json(self) -> dict:
        def arr(a: np.ndarray) -> list:
            return np.round(a, 6).tolist()

        return {
            "classes": list(CLASSES),
            "terms": list(ALL_TERMS),
            "typical": {
                "terms": list(TYPICAL_KEYS),
                "low": arr(self.typical.low),
                "high": arr(self.typical.high),
                "mean": arr(self.typical.mean),
                "precision": arr(self.typical.precision),
            },
            "guard_start": round(self.guard_start, 4),
            "guard_slope": round(self.guard_slope, 4),
            "low": arr(self.low),
            "high": arr(self.high),
            "centre": arr(self.centre),
            "scale": arr(self.scale),
            "knots": arr(self.knots),
            "weights": arr(self.weights),
            "bias": arr(self.bias),
            "temperature": round(self.temperature, 4),
            "other_min": self.other_min,
            "overlay_min": self.overlay_min,
            "confidence_curve": [round(v, 4) for v in self.confidence_curve],
            "info": self.info,
        }

    @classmethod
    def from_json(cls, data: dict) -> Model:
        if (
            tuple(data["terms"]) != ALL_TERMS
            or tuple(data["classes"]) != CLASSES
            or tuple(data["typical"]["terms"]) != TYPICAL_KEYS
        ):
            raise ValueError(f"{MODEL_FILE.name} was fitted for other terms: retrain it")
        t = data["typical"]
        return cls(
            typical=Typical(*(np.array(t[k]) for k in ("low", "high", "mean", "precision"))),
            guard_start=float(data["guard_start"]),
            guard_slope=float(data["guard_slope"]),
            **{k: np.array(data[k]) for k in ("low", "high", "centre", "scale", "knots")},
            weights=np.array(data["weights"]),
            bias=np.array(data["bias"]),
            temperature=float(data["temperature"]),
            other_min=float(data["other_min"]),
            overlay_min=float(data["overlay_min"]),
            info=dict(data.get("info", {})),
            confidence_curve=_curve(data.get("confidence_curve", (1.0, 0.0))),
        )


def _curve(values: list[float] | tuple[float, float]) -> tuple[float, float]:
    slope, offset = values
    return float(slope), float(offset)


def log_odds(probability: np.ndarray) -> np.ndarray:
    p = np.clip(probability, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def platt(probability: np.ndarray, slope: float, offset: float) -> np.ndarray:
    """1 / (1 + exp(-(slope * log_odds(p) + offset)))."""
    return 1.0 / (1.0 + np.exp(-(slope * log_odds(probability) + offset)))


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def base_values(features: list[Features]) -> np.ndarray:
    """(samples, TERM_KEYS) measured term values."""
    return np.array([term_values(f) for f in features], dtype=float).reshape(len(features), -1)


@cache
def shipped_model() -> Model:
    """The model fitted by bench/train_classify.py (read once, on first use)."""
    return Model.from_json(json.loads(MODEL_FILE.read_text()))
