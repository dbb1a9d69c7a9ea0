"""The Prefect `extract` flow end to end, in Prefect's test harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.settings import apply_offline_defaults

apply_offline_defaults()

from flows.extract import extract_flow  # noqa: E402
from pipeline.config import Config  # noqa: E402
from pipeline.errors import SourceError  # noqa: E402
from pipeline.store import Store  # noqa: E402
from tests.pdfs import case_report_pdf  # noqa: E402


def test_extract_flow_stages_candidates(
    prefect_harness: None, tmp_path: Path, config: Config, store: Store
) -> None:
    pdf = case_report_pdf(tmp_path / "paper.pdf")
    summary = extract_flow(pdf=str(pdf))
    assert summary["images"] == 3 and len(summary["staged"]) == 2
    assert {row.fields["modality"] for row in store.candidates()} == {"X-ray", "CT"}
    again = extract_flow(pdf=str(pdf))
    assert again["staged"] == [] and len(again["already_staged"]) == 2


def test_extract_flow_reports_a_bad_pdf(
    prefect_harness: None, tmp_path: Path, config: Config, store: Store
) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_text("<html>login</html>")
    with pytest.raises(SourceError, match="HTML page"):
        extract_flow(pdf=str(bad))
    assert store.candidates() == []
