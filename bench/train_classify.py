"""Fit the classifier's learned layer and write pipeline/classify/model.json.

Run: .venv/bin/python bench/train_classify.py [--copies N] [--dry-run]

Training data, all from ../shared/data, grouped by patient or paper:
- the dev images (labels.csv),
- the same images printed N times in random journal styles (bench/journal_styles.py:
  tints, colour maps, burnt-in marks, crops, frames, axes, heat maps, masks),
- the labelled figures of the `dev` papers in bench/data/classify_real.tsv (never the
  `check` papers, nor the dev papers bench/splits.py leaves unfitted),
- generated `other` figures (bench/other_figures.py: charts, diagrams, pages, MRI slices,
  blots, micrographs, photos, logos), one group per kind, weighted less: they teach the
  model that a dark field or a symmetric grey shape alone is not a radiograph.
Group-wise 5-fold cross-validation (bench/classify_fit.py) gives held-out probabilities;
from them the temperature (calibration), the threshold on P(other) that keeps 98% of the
held-out dev and real-paper radiographs (recall first; the styled copies, one to three
styles each, are harder than figures as they come and are reported apart) and the overlay
threshold are chosen, and the figures are printed. The final model is fitted on all the
data with those settings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import classify_data as data  # noqa: E402
import classify_fit as cf  # noqa: E402

RADIOGRAPH_RECALL = 0.98  # held-out radiographs kept (not called other) when choosing other_min
STYLE_SEED = 15
DEFAULT_COPIES = 4
DEFAULT_SYNTHETIC = 10


def _training_parts(copies: int, synthetic: int) -> list[tuple[str, Callable[[], Iterable]]]:
    """The parts of the training data in order: (cache name, what makes its samples or
    (sample, image) pairs). `training_set` and `training_images` both follow it."""
    dev = data.dev_samples()
    parts: list[tuple[str, Callable[[], Iterable]]] = [
        ("dev", lambda: dev),
        (f"styled-{STYLE_SEED}-{copies}", lambda: data.styled(dev, STYLE_SEED, copies)),
        ("real-fitted", lambda: data.real_samples("dev", fitted=True)),
    ]
    if synthetic:
        parts.append(
            (f"synthetic-{STYLE_SEED}-{synthetic}",
             lambda: data.synthetic_others(STYLE_SEED, synthetic))
        )  # fmt: skip
    return parts


def training_set(copies: int = DEFAULT_COPIES, synthetic: int = DEFAULT_SYNTHETIC) -> list:
    """Every training image measured (cached on disk until the measuring code changes)."""
    items: list = []
    for name, make in _training_parts(copies, synthetic):
        items += data.cached(name, lambda make=make: data.measured(make()))
    return items


def training_images(
    copies: int = DEFAULT_COPIES, synthetic: int = DEFAULT_SYNTHETIC
) -> Iterator[tuple]:
    """(sample, image) of `training_set`, in its order (the styled and generated images drawn
    again from the same seeds), one at a time."""
    for _, make in _training_parts(copies, synthetic):
        yield from data.with_images(make())


def arrays(items: list) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(term values, class indices, groups, sources) of measured samples."""
    from pipeline.classify.model import CLASSES, base_values

    base = base_values([f for _, f in items])
    labels = np.array([CLASSES.index(s.modality) for s, _ in items])
    return base, labels, [s.group for s, _ in items], [data.source_of(s) for s, _ in items]


@dataclass(frozen=True)
class HeldOut:
    """The group-wise CV's decisions as the shipped model makes them, and what made them."""

    cv: cf.CrossValidation
    temperature: float
    probs: np.ndarray  # held-out class probabilities at that temperature
    other_min: float
    fold: np.ndarray  # the fold of each sample
    pred: np.ndarray
    conf: np.ndarray  # reported confidence, each fold's curve fitted on the other folds


def held_out(
    base: np.ndarray, labels: np.ndarray, groups: list[str], sources: list[str]
) -> HeldOut:
    """Cross-validate, then choose the temperature and `other_min` on the held-out logits."""
    from pipeline.classify.model import softmax

    cv = cf.cross_validate(base, labels, groups, sources)
    temperature = cf.fit_temperature(cv.logits, labels)
    probs = softmax(cv.logits / temperature)
    real = np.isin(sources, ["dev", "real"])  # as figures come: the styled set is harder
    other_min = cf.choose_other_min(probs[real], labels[real], RADIOGRAPH_RECALL)
    fold = np.array([cv.fold_of[g] for g in groups])
    pred, conf = cf.cross_fitted_confidence(probs, labels, other_min, cv.strong, fold)
    return HeldOut(cv, temperature, probs, other_min, fold, pred, conf)


def model_text(data: dict) -> str:
    """The model as JSON with one key a line (arrays kept on that line): short diffs."""
    lines = [f" {json.dumps(key)}: {json.dumps(value)}" for key, value in data.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def scores(labels: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    def recall(c: int) -> float:
        m = labels == c
        return float((pred[m] == c).mean()) if m.any() else float("nan")

    called_xray = pred == 0
    return {
        "accuracy": float((pred == labels).mean()),
        "xray_recall": recall(0),
        "ct_recall": recall(1),
        "other_recall": recall(2),
        "xray_precision": float((labels[called_xray] == 0).mean()) if called_xray.any() else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--copies", type=int, default=DEFAULT_COPIES, help="styled copies of each dev image"
    )
    parser.add_argument(
        "--synthetic", type=int, default=DEFAULT_SYNTHETIC, help="generated figures of each kind"
    )
    parser.add_argument("--dry-run", action="store_true", help="report, do not write the model")
    args = parser.parse_args()
    if not data.dev_samples():
        print(f"no dev images under {data.shared_data()} (set PIPELINE_SHARED_DATA)")
        return 1

    import cv2

    from pipeline.classify.model import MODEL_FILE

    cv2.setNumThreads(1)
    start = time.time()
    items = training_set(args.copies, args.synthetic)
    base, labels, groups, sources = arrays(items)
    print(
        f"measured {len(items)} images in {time.time() - start:.0f} s: "
        + ", ".join(f"{k} {v}" for k, v in sorted(Counter(sources).items()))
    )

    held = held_out(base, labels, groups, sources)
    temperature, other_min, pred, conf = held.temperature, held.other_min, held.pred, held.conf
    decided, probability, weak = cf.decided(held.probs, other_min, held.cv.strong)
    curve = cf.fit_confidence_curve(probability[~weak], decided[~weak] == labels[~weak])
    radiograph = labels < 2
    overlay_min = cf.choose_overlay_min(
        np.array([f.overlay for _, f in items])[radiograph],
        np.array([s.overlay for s, _ in items])[radiograph],
    )
    print(
        f"\ngroup-wise 5-fold CV: temperature {temperature:.2f}, other_min {other_min:.2f} "
        f"(keeps {RADIOGRAPH_RECALL:.0%} of held-out dev and real radiographs), "
        f"overlay_min {overlay_min}, confidence curve {curve[0]:.2f}, {curve[1]:+.2f}"
    )
    cv = {}
    for source in ("dev", "styled", "real", "synthetic"):
        m = np.array(sources) == source
        if not m.any():
            continue
        cv[source] = scores(labels[m], pred[m])
        print(
            f"  {source:7s} n={m.sum():5d} "
            + " ".join(f"{k} {v:.3f}" for k, v in cv[source].items())
        )
    print("  calibration (reported confidence vs accuracy, all held-out; the confidence curve")
    print("  of each fold fitted on the others' decisions):")
    for name, n, acc, mean in cf.calibration_table(conf, pred == labels):
        print(f"    {name}: n {n:5d}  accuracy {acc:.3f}  mean confidence {mean:.3f}")

    model = cf.fit(base, labels, cf.sample_weights(labels, groups, sources), groups)
    info = {
        "trained_on": dict(Counter(sources)),
        "groups": len(set(groups)),
        "style_copies": args.copies,
        "style_seed": STYLE_SEED,
        "synthetic_per_kind": args.synthetic,
        "cv": {k: {m: round(v, 4) for m, v in f.items()} for k, f in cv.items()},
    }
    model = replace(
        model,
        temperature=temperature,
        other_min=other_min,
        overlay_min=overlay_min,
        confidence_curve=curve,
        info=info,
    )
    if args.dry_run:
        print("\n--dry-run: model not written")
        return 0
    MODEL_FILE.write_text(model_text(model.to_json()))
    print(f"\nwrote {MODEL_FILE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
