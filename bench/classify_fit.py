"""Fitting the classifier's learned layer (numpy only): basis, weights, temperature, folds.

The model (pipeline/classify/model.py) is an additive multinomial logistic regression: each
named term expanded into a line and hinges, fitted by Newton's method with an L2 penalty
on the weights. Used by bench/train_classify.py (the shipped model) and by
bench/eval_classify.py (group-wise cross-validation: every fold refits from scratch).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from pipeline.classify.decide import WEAK_CONFIDENCE
from pipeline.classify.model import ALL_TERMS, CLASSES, Model, Typical, log_odds, platt, softmax
from pipeline.classify.terms import TERM_KEYS, TYPICAL_KEYS

HINGES = 4
L2 = 10.0  # chosen over 0.3..30 by group-wise CV on three style draws (steadiest)
SOURCE_WEIGHT = {"synthetic": 0.3}  # generated figures count less than real ones
SHRINK = 0.05  # covariance diagonal loading for the distance guard
# The guard starts at the 98th percentile of unseen radiographs' distances to their class
# (inner group-wise split); 3 units beyond it cost 6 logit units (0.998 -> 0.5).
GUARD_PERCENTILE = 98
GUARD_SLOPE = 2.0


def group_folds(groups: Sequence[str], folds: int = 5, seed: int = 0) -> dict[str, int]:
    """Fold of each group: big groups first, dealt round-robin, so folds are alike in size."""
    names = sorted(set(groups))
    random.Random(seed).shuffle(names)
    size = Counter(groups)
    names.sort(key=lambda g: -size[g])
    return {g: i % folds for i, g in enumerate(names)}


def sample_weights(labels: Sequence[int], groups: Sequence[str], sources: Sequence[str]):
    """Each group counts with the square root of its size (one patient with 90 films must not
    outweigh thirty papers); then every (source, class) cell gets the same total weight, times
    SOURCE_WEIGHT for the generated figures."""
    size = Counter(groups)
    w = np.array([1.0 / np.sqrt(size[g]) for g in groups])
    cells = Counter()
    for wi, c, s in zip(w, labels, sources, strict=True):
        cells[(s, c)] += wi
    w = np.array(
        [
            wi * SOURCE_WEIGHT.get(s, 1.0) / cells[(s, c)]
            for wi, c, s in zip(w, labels, sources, strict=True)
        ],
        dtype=float,
    )
    return w * len(w) / w.sum()


def fit_typical(base: np.ndarray, labels: np.ndarray) -> Typical:
    """Mean and shrunk inverse covariance of the layout terms, for X-rays and CT slices."""
    index = [TERM_KEYS.index(k) for k in TYPICAL_KEYS]
    x = base[:, index]
    low, high = np.percentile(x, 1, axis=0), np.percentile(x, 99, axis=0)
    x = np.clip(x, low, high)
    means, precisions = [], []
    for c in (0, 1):
        xc = x[labels == c]
        cov = np.cov(xc.T)
        cov = cov + SHRINK * np.diag(np.diag(cov)) + 1e-6 * np.eye(len(index))
        means.append(xc.mean(axis=0))
        precisions.append(np.linalg.inv(cov))
    return Typical(low, high, np.array(means), np.array(precisions))


def fit(
    base: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    groups: Sequence[str],
    l2: float = L2,
) -> Model:
    """Fit the model on measured term values (samples, TERM_KEYS) and class indices."""
    radiographs = labels < 2
    typical = fit_typical(base[radiographs], labels[radiographs])
    own = held_out_distances(base, labels, groups)
    low = np.percentile(base, 1, axis=0)
    high = np.percentile(base, 99, axis=0)
    clipped = np.clip(base, low, high)
    centre = np.median(clipped, axis=0)
    scale = clipped.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = (clipped - centre) / scale
    knots = np.percentile(z, np.linspace(0, 100, HINGES + 2)[1:-1], axis=0).T
    shape = (len(CLASSES), len(ALL_TERMS), HINGES + 1)
    model = Model(
        typical=typical,
        guard_start=float(np.nanpercentile(own, GUARD_PERCENTILE)),
        guard_slope=GUARD_SLOPE,
        low=low,
        high=high,
        centre=centre,
        scale=scale,
        knots=knots,
        weights=np.zeros(shape),
        bias=np.zeros(len(CLASSES)),
        temperature=1.0,
        other_min=0.5,
        overlay_min=1.0,
        info={},
    )
    phi = model.basis(base).reshape(len(base), -1)
    w_flat, bias = _newton(phi, labels, weights, l2, model.guard(base))
    return replace(model, weights=w_flat.reshape(shape), bias=bias)


def held_out_distances(base: np.ndarray, labels: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """Each radiograph's distance to its own class, with the class spread fitted without its
    group (inner group-wise 5-fold split): what an unseen radiograph shows. NaN for others."""
    fold_of = group_folds(groups, 5, seed=1)
    fold = np.array([fold_of[g] for g in groups])
    own = np.full(len(labels), np.nan)
    for k in range(5):
        train = (fold != k) & (labels < 2)
        test = (fold == k) & (labels < 2)
        if test.any():
            d = fit_typical(base[train], labels[train]).distances(base[test])
            own[test] = d[np.arange(int(test.sum())), labels[test]]
    return own


def _newton(
    phi: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    l2: float,
    offset: np.ndarray,
    steps: int = 60,
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression with an L2 penalty on the weights and a fixed offset
    on the logits (the distance guard), by Newton steps."""
    n, p = phi.shape
    k = len(CLASSES)
    a = np.hstack([phi, np.ones((n, 1))])
    target = np.eye(k)[labels]
    theta = np.zeros((k, p + 1))
    ridge = np.full(p + 1, l2)
    ridge[-1] = 1e-6  # the bias is not shrunk (a little keeps the Hessian invertible)
    for _ in range(steps):
        prob = softmax(a @ theta.T + offset)
        grad = ((prob - target) * weights[:, None]).T @ a + ridge * theta
        hess = np.zeros((k, p + 1, k, p + 1))
        for i in range(k):
            for j in range(i, k):
                s = weights * prob[:, i] * ((i == j) - prob[:, j])
                block = a.T @ (a * s[:, None])
                hess[i, :, j, :] = block
                hess[j, :, i, :] = block.T
            hess[i, :, i, :] += np.diag(ridge)
        step = np.linalg.solve(hess.reshape(k * (p + 1), -1), grad.ravel()).reshape(k, p + 1)
        theta -= step
        if np.abs(step).max() < 1e-6:
            break
    return theta[:, :p], theta[:, p]


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of held-out logits."""
    best_t, best = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.3), np.log(5.0), 80)):
        p = softmax(logits / t)
        nll = -np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, None)).mean()
        if nll < best:
            best_t, best = float(t), nll
    return best_t


def logits_of(model: Model, base: np.ndarray) -> np.ndarray:
    return model.logits(base)


@dataclass(frozen=True)
class CrossValidation:
    fold_of: dict[str, int]  # the fold of each group
    models: list[Model]  # per fold, fitted from scratch without its groups
    logits: np.ndarray  # held-out logits of every sample
    strong: np.ndarray  # held-out strong-evidence flags (Model.strong)


def cross_validate(
    base: np.ndarray,
    labels: np.ndarray,
    groups: Sequence[str],
    sources: Sequence[str],
    folds: int = 5,
    l2: float = L2,
) -> CrossValidation:
    """Each fold's model, fitted from scratch without its groups, and what it says of the
    samples it was fitted without."""
    fold_of = group_folds(groups, folds)
    fold = np.array([fold_of[g] for g in groups])
    models = []
    logits = np.zeros((len(labels), len(CLASSES)))
    strong = np.zeros((len(labels), 2), bool)
    for k in range(folds):
        train, held_out = fold != k, fold == k
        train_groups = [g for g, t in zip(groups, train, strict=True) if t]
        w = sample_weights(
            labels[train], train_groups, [s for s, t in zip(sources, train, strict=True) if t]
        )
        model = fit(base[train], labels[train], w, train_groups, l2)
        models.append(model)
        logits[held_out] = logits_of(model, base[held_out])
        strong[held_out] = model.strong(base[held_out])
    return CrossValidation(fold_of, models, logits, strong)


def decided(
    probs: np.ndarray, other_min: float, strong: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(class index, its probability, weak) as decide.py decides: other only at other_min or
    above, else the likelier radiograph; weak (reported below LOW_CONFIDENCE) where `other`
    is likelier than that radiograph, or it lacks strong evidence (`strong`: (samples, 2)
    from Model.strong)."""
    other = probs[:, 2] >= other_min
    radiograph = np.where(probs[:, 0] >= probs[:, 1], 0, 1)
    pred = np.where(other, 2, radiograph)
    probability = probs[np.arange(len(pred)), pred]
    weak = ~other & (probs[:, 2] > probability)
    if strong is not None:
        weak |= ~other & ~strong[np.arange(len(pred)), radiograph]
    return pred, probability, weak


def decisions(
    probs: np.ndarray,
    other_min: float,
    strong: np.ndarray | None = None,
    curve: tuple[float, float] = (1.0, 0.0),
) -> tuple[np.ndarray, np.ndarray]:
    """(class index, reported confidence) as decide.py makes them: the decision's probability
    through the confidence curve, capped below LOW_CONFIDENCE when weak."""
    pred, probability, weak = decided(probs, other_min, strong)
    conf = platt(probability, *curve)
    return pred, np.where(weak, np.minimum(conf, WEAK_CONFIDENCE), conf)


def fit_confidence_curve(probability: np.ndarray, right: np.ndarray) -> tuple[float, float]:
    """Platt's curve (slope, offset on the log-odds) from decisions' probabilities to how
    often they were right, by Newton's method on the log-likelihood (a light ridge keeps it
    near the identity when there is little to go on)."""
    x = np.stack([log_odds(probability), np.ones(len(probability))], axis=1)
    y = right.astype(float)
    w = np.array([1.0, 0.0])
    ridge = np.diag([1.0, 1.0])
    for _ in range(50):
        q = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (q - y) + ridge @ (w - np.array([1.0, 0.0]))
        hessian = (x * (q * (1 - q))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        w = w - step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), float(w[1])


def cross_fitted_confidence(
    probs: np.ndarray,
    labels: np.ndarray,
    other_min: float,
    strong: np.ndarray,
    fold: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(class index, reported confidence) with each fold's confidence curve fitted on the
    other folds' decisions: how calibrated the shipped curve is on images it did not see."""
    pred, probability, weak = decided(probs, other_min, strong)
    conf = np.zeros(len(pred))
    for k in np.unique(fold):
        fit_on = (fold != k) & ~weak
        curve = fit_confidence_curve(probability[fit_on], pred[fit_on] == labels[fit_on])
        held_out = fold == k
        _, conf[held_out] = decisions(probs[held_out], other_min, strong[held_out], curve)
    return pred, conf


def choose_other_min(probs: np.ndarray, labels: np.ndarray, recall: float) -> float:
    """The lowest threshold on P(other), at least 0.5, at which held-out radiographs are kept
    (called xray or ct) at the given rate."""
    radiograph = labels < 2
    for t in np.round(np.arange(0.5, 0.996, 0.01), 2):
        kept = (probs[radiograph, 2] < t).mean()
        if kept >= recall:
            return float(t)
    return 0.995


def choose_overlay_min(share: np.ndarray, overlay: np.ndarray) -> float:
    """The overlay share that best tells radiographs with an overlay from those without
    (balanced accuracy), on radiographs only."""
    best, best_t = -1.0, 0.05
    for t in (0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.08):
        flagged = share >= t
        score = flagged[overlay].mean() + (~flagged[~overlay]).mean()
        if score > best:
            best, best_t = score, t
    return best_t


def calibration_table(conf: np.ndarray, right: np.ndarray) -> list[tuple[str, int, float, float]]:
    """(bin, count, accuracy, mean confidence) per confidence bin."""
    edges = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (conf >= lo) & (conf < hi)
        if m.any():
            rows.append(
                (
                    f"{lo:.2f}-{min(hi, 1.0):.2f}",
                    int(m.sum()),
                    float(right[m].mean()),
                    float(conf[m].mean()),
                )
            )
    return rows
