"""The classifier on the shared dev images (skipped when ../shared/data is absent)."""

from __future__ import annotations

import csv
import os
from collections import Counter
from pathlib import Path

import pytest

from pipeline.classify import classify_file

_BASE = os.environ.get("PIPELINE_SHARED_DATA")
DATA = (
    Path(_BASE) if _BASE else Path(__file__).resolve().parents[2] / "shared" / "data"
) / "images"
VIEWS = {"PA": "frontal", "AP": "frontal", "AP Supine": "frontal", "L": "lateral"}


@pytest.mark.skipif(not (DATA / "labels.csv").exists(), reason="no shared dev images")
def test_dev_accuracy_stays_above_floor():
    with (DATA / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    outcome = Counter()
    views = Counter()
    for row in rows:
        result = classify_file(DATA / "files" / row["file"])
        outcome[(row["modality"], result.modality)] += 1
        assert result.reasons
        want = VIEWS.get(row["view"])
        if row["modality"] == "xray" and result.modality == "xray" and want:
            views[result.view == want] += 1
    accuracy = sum(n for (t, p), n in outcome.items() if t == p) / len(rows)
    called_xray = sum(n for (_, p), n in outcome.items() if p == "xray")
    xray_precision = outcome[("xray", "xray")] / max(1, called_xray)
    assert accuracy >= 0.95, outcome
    assert xray_precision >= 0.97, outcome
    assert views[True] / max(1, sum(views.values())) >= 0.95, views
