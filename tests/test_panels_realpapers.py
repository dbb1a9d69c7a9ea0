"""Regression: figures of the real dev papers (../shared/data/realpapers) cut into as many panels
as were counted by eye (tests/fixtures/realpaper_figures.tsv). Skipped without the data."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipeline.compound import split_figure
from tests.conftest import SHARED_DATA

PAPERS = SHARED_DATA / "realpapers"
FIGURES = Path(__file__).parent / "fixtures" / "realpaper_figures.tsv"
ROWS = list(csv.DictReader(FIGURES.open(newline=""), delimiter="\t"))


@pytest.mark.skipif(not PAPERS.is_dir(), reason=f"no real papers at {PAPERS}")
@pytest.mark.parametrize("row", ROWS, ids=[f"{r['file'][:24]}-p{r['page']}" for r in ROWS])
def test_real_figure_is_cut_into_the_counted_panels(row: dict[str, str]) -> None:
    import pymupdf

    from pipeline.pdf.encode import decoded_pixels

    with pymupdf.open(PAPERS / row["file"]) as doc:
        page = doc[int(row["page"]) - 1]
        size = (int(row["width"]), int(row["height"]))
        xref = next(info[0] for info in page.get_images(full=True) if info[2:4] == size)
        pixels = decoded_pixels(doc, xref)
    split = split_figure(pixels)
    assert len(split.panels) == int(row["panels"]), f"{row['layout']}: {split.reason}"
