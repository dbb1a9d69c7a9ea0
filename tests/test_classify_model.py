"""The learned layer: the shipped model file, the numpy fit, and the labelled real-paper data."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.classify.features import measure
from pipeline.classify.model import CLASSES, MODEL_FILE, Model, base_values, shipped_model
from pipeline.classify.terms import TERM_KEYS, TERMS
from tests import phantoms

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import classify_fit as cf  # noqa: E402


def test_shipped_model_matches_the_terms_and_is_calibrated():
    model = shipped_model()
    assert len(TERMS) == len(TERM_KEYS) == model.weights.shape[1]
    assert model.temperature > 0 and 0.5 <= model.other_min < 1.0
    assert 0.0 < model.overlay_min < 1.0 and model.guard_start > 0
    assert model.info["cv"]["dev"]["accuracy"] > 0.9  # written by bench/train_classify.py


def test_probabilities_sum_to_one_and_json_round_trips():
    model = shipped_model()
    base = base_values([measure(phantoms.chest_xray_frontal(256)), measure(phantoms.ct_axial(256))])
    probs = model.probabilities(base)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert [CLASSES[i] for i in probs.argmax(axis=1)] == ["xray", "ct"]
    again = Model.from_json(json.loads(json.dumps(model.to_json())))
    assert np.allclose(again.probabilities(base), probs, atol=1e-6)


def test_model_file_for_other_terms_is_refused():
    data = json.loads(MODEL_FILE.read_text())
    data["terms"] = data["terms"][:-1]
    with pytest.raises(ValueError, match="retrain"):
        Model.from_json(data)


def _toy(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Term vectors for three classes told apart by two terms; groups of five."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    base = rng.normal(0, 1, (n, len(TERM_KEYS)))
    base[:, TERM_KEYS.index("mediastinum")] += np.where(labels == 0, 2.0, 0.0)
    base[:, TERM_KEYS.index("modes")] += np.where(labels == 1, 2.0, 0.0)
    base[:, TERM_KEYS.index("chest_layout")] = (labels < 2).astype(float)
    return base, labels, [f"g{i // 5}" for i in range(n)]


def test_fit_learns_separable_classes_and_generalises():
    # two informative terms among ~60 (samples scaled with the number of terms)
    base, labels, groups = _toy(1200, 0)
    model = cf.fit(base, labels, np.ones(len(labels)), groups)
    test, truth, _ = _toy(300, 1)
    assert (model.probabilities(test).argmax(axis=1) == truth).mean() > 0.9


def test_cross_validation_holds_out_whole_groups():
    base, labels, groups = _toy(300, 2)
    fold_of = cf.group_folds(groups, 5)
    assert len(set(fold_of.values())) == 5
    cv = cf.cross_validate(base, labels, groups, ["toy"] * len(labels))
    assert cv.logits.shape == (300, 3) and cv.strong.shape == (300, 2)
    assert (cv.logits.argmax(axis=1) == labels).mean() > 0.85


def test_guard_lowers_radiographs_far_from_training():
    base, labels, groups = _toy(600, 3)
    model = cf.fit(base, labels, np.ones(len(labels)), groups)
    far = base[:1] + 25.0
    assert model.guard(far)[0, :2].max() < -5 and model.guard(far)[0, 2] == 0
    assert not model.strong(far).any()


def test_recall_first_decisions_and_calibration_table():
    probs = np.array([[0.3, 0.1, 0.6], [0.35, 0.2, 0.45], [0.05, 0.9, 0.05]])
    pred, conf = cf.decisions(probs, other_min=0.5)
    assert pred.tolist() == [2, 0, 1]  # other only at 0.5 or above; else the likelier one
    assert np.allclose(conf, [0.6, 0.35, 0.9])  # the identity confidence curve
    rows = cf.calibration_table(conf, np.array([True, False, True]))
    assert sum(n for _, n, _, _ in rows) == 3


def test_confidence_curve_recovers_how_often_decisions_are_right():
    rng = np.random.default_rng(4)
    probability = rng.uniform(0.5, 0.999, 4000)
    logit = np.log(probability / (1 - probability))
    truth = 1 / (1 + np.exp(-(0.6 * logit + 0.8)))  # under-confident in the middle
    right = rng.uniform(size=4000) < truth
    slope, offset = cf.fit_confidence_curve(probability, right)
    assert abs(slope - 0.6) < 0.15 and abs(offset - 0.8) < 0.2
    calibrated = rng.uniform(size=4000) < probability
    slope, offset = cf.fit_confidence_curve(probability, calibrated)
    assert abs(slope - 1.0) < 0.15 and abs(offset) < 0.2


REAL_TSV = BENCH / "data" / "classify_real.tsv"


def test_labelled_real_images_are_well_formed_and_split_by_paper():
    with REAL_TSV.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) > 400
    split_of: dict[str, str] = {}
    for row in rows:
        assert row["modality"] in CLASSES and row["overlay"] in ("0", "1")
        assert row["split"] in ("dev", "check") and row["source"].endswith(".pdf")
        assert row["overlay"] == "0" or row["modality"] != "other"
        if row["box"]:
            box = [float(v) for v in row["box"].split(",")]
            assert len(box) == 4 and 0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1
        assert split_of.setdefault(row["group"], row["split"]) == row["split"], row["group"]
    assert {"dev", "check"} == set(split_of.values())
