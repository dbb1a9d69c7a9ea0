"""`make extract DOI=...`: the Prefect flow with a DOI alone, against the local server."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.settings import apply_offline_defaults

apply_offline_defaults()

from flows.extract import extract_flow  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.store import Store  # noqa: E402
from tests.httpserver import LocalServer, Reply  # noqa: E402
from tests.pdfs import case_report_pdf  # noqa: E402
from tests.test_doi import SREP, route, serve_work  # noqa: E402


def test_extract_flow_with_a_doi_stages_rows_with_its_facts(
    prefect_harness: None,
    tmp_path: Path,
    pipeline_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with LocalServer() as server:
        monkeypatch.setenv("PIPELINE_CROSSREF_URL", server.base_url)
        monkeypatch.setenv("PIPELINE_UNPAYWALL_URL", server.url("/unpaywall"))
        monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
        message = serve_work(server, SREP)
        server.add(
            route(message["link"][0]["URL"]), Reply.file(case_report_pdf(tmp_path / "p.pdf"))
        )

        summary = extract_flow(doi=SREP)

    assert summary["location"] == SREP and len(summary["staged"]) == 2
    rows = Store.open(load_config().path("staging_db")).candidates()
    assert {row.fields["modality"] for row in rows} == {"X-ray", "CT"}
    for row in rows:
        assert row.fields["doi"] == SREP and row.fields["license"] == "CC BY 4.0"
        assert row.fields["url"] == message["resource"]["primary"]["URL"]
