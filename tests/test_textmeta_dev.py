"""Guard the measured numbers on the real dev notes (skipped without ../shared/data)."""

import importlib.util
import json
import os
from pathlib import Path

import pytest

from pipeline.textmeta import extract_fields

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PIPELINE_SHARED_DATA", REPO.parent / "shared" / "data"))
NOTES = DATA / "notes" / "dev.jsonl"


def _bench():
    spec = importlib.util.spec_from_file_location(
        "eval_textmeta", REPO / "bench" / "eval_textmeta.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not NOTES.exists(), reason="needs ../shared/data/notes/dev.jsonl")
@pytest.mark.parametrize("field", ["age", "sex"])
def test_age_and_sex_precision_and_recall_on_dev(field):
    bench = _bench()
    stated_check = bench.age_stated if field == "age" else bench.sex_stated
    answered = correct = stated = stated_ok = 0
    for line in NOTES.read_text().splitlines():
        row = json.loads(line)
        label = row["labels"][field]
        answer = extract_fields(row["text"]).values[field]
        if answer is not None:
            answered += 1
            correct += answer == label
        if label is not None and stated_check(row["text"], label):
            stated += 1
            stated_ok += answer == label
    assert correct / answered >= 0.95
    assert stated_ok / stated >= 0.90
