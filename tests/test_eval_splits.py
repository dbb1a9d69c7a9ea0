"""One dev/check split of the real papers for every evaluation (bench/splits.py)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import classify_data  # noqa: E402
import splits  # noqa: E402


def _real_paper_rows() -> list[dict[str, str]]:
    """The rows of bench/data/classify_real.tsv for ../shared/data/realpapers."""
    with classify_data.REAL_TSV.open(newline="") as fh:
        return [
            r for r in csv.DictReader(fh, delimiter="\t") if r["source"].startswith("realpapers/")
        ]


def _labels_with_one_check_row_of_a_dev_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    """A labels file whose one row, in `folder`, says `check` for a name splits.py makes dev."""
    name = next(n for n in (f"paper{i}.pdf" for i in range(50)) if not splits.is_check(n))
    tsv = tmp_path / "classify_real.tsv"
    tsv.write_text(
        "source\tpage\txref\tindex\tbox\tmodality\toverlay\tgroup\tsplit\tstyle\n"
        f"{folder}/{name}\t1\t5\t0\t\txray\t0\tpaper:{name}\tcheck\tplain\n"
    )
    (tmp_path / "realpapers").mkdir()
    monkeypatch.setattr(classify_data, "REAL_TSV", tsv)


def test_classifier_figures_of_real_papers_follow_the_papers_split() -> None:
    rows = _real_paper_rows()
    assert rows
    wrong = [
        (r["source"], r["split"])
        for r in rows
        if r["split"] != splits.split_of(Path(r["source"]).name)
    ]
    assert not wrong


def test_a_row_off_the_split_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _labels_with_one_check_row_of_a_dev_name(tmp_path, monkeypatch, "realpapers")
    with pytest.raises(ValueError, match="bench/splits.py"):
        classify_data.real_samples(root=tmp_path)


def test_papers_left_unfitted_are_dev_papers_with_labelled_figures() -> None:
    labelled = {Path(r["source"]).name for r in _real_paper_rows()}
    assert splits.NOT_FITTED.issubset(labelled)
    assert not any(splits.is_check(name) for name in splits.NOT_FITTED)


def test_library_test_pdfs_keep_the_split_of_their_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only ../shared/data/realpapers follows bench/splits.py; the library test PDFs in
    ../shared/data/pdfs keep the split written in their row."""
    _labels_with_one_check_row_of_a_dev_name(tmp_path, monkeypatch, "pdfs")
    assert classify_data.real_samples("dev", root=tmp_path) == []
