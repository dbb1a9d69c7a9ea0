"""The nightly report says which markup form read each case page's fields."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.nightly.ingest import SourceOutcome
from pipeline.nightly.report import (
    RunReport,
    count_outcome,
    form_lines,
    render_html,
    render_markdown,
)
from pipeline.store import Store


def outcome(location: str, forms: dict[str, str]) -> SourceOutcome:
    return SourceOutcome(location, "url", location, "site", "radiopaedia", "ok", forms=forms)


def test_report_shows_the_forms_that_read_the_case_pages(store: Store) -> None:
    report = RunReport(1, datetime.now(UTC), datetime.now(UTC), status="ok")
    count_outcome(report, outcome("https://r/cases/a", {"header": "2023", "study id": "2024"}))
    count_outcome(report, outcome("https://r/cases/b", {"header": "2023", "study id": "<2025>"}))
    count_outcome(report, outcome("https://r/cases/c", {}))
    assert form_lines(report) == [
        "radiopaedia header read by the 2023 form (2 cases)",
        "radiopaedia study id read by the 2024 form (1 case)",
        "radiopaedia study id read by the <2025> form (1 case)",
    ]
    assert "- radiopaedia header read by the 2023 form (2 cases)" in render_markdown(report)
    page = render_html(report, store)
    assert "<h2>Case pages read</h2>" in page and "&lt;2025&gt;" in page


def test_no_case_pages_no_section(store: Store) -> None:
    report = RunReport(2, datetime.now(UTC), datetime.now(UTC), status="ok")
    assert "Case pages read" not in render_markdown(report)
    assert "Case pages read" not in render_html(report, store)
