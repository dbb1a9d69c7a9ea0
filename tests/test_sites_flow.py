"""The Prefect `extract` flow on a case URL, each step a task, in Prefect's test harness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.settings import apply_offline_defaults

apply_offline_defaults()

from flows.extract import extract_flow  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.sources.sites.base import LayoutChanged  # noqa: E402
from pipeline.store import Store  # noqa: E402
from tests.fixtures.sites.serve import (  # noqa: E402
    RADIOPAEDIA_CASE,
    page,
    quick_server,
    serve_radiopaedia,
)
from tests.httpserver import LocalServer, Reply  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def server(
    tmp_path: Path, pipeline_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalServer]:
    monkeypatch.setenv("PIPELINE_SITES_MIN_INTERVAL", "0")
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    with quick_server() as local:
        monkeypatch.setenv("PIPELINE_RADIOPAEDIA_URL", local.base_url)
        yield local


def test_flow_stages_a_radiopaedia_case(prefect_harness: None, server: LocalServer) -> None:
    url = serve_radiopaedia(server)
    summary = extract_flow(url=url)
    assert len(summary["staged"]) == 5 and summary["location"] == url
    store = Store.open(load_config().path("staging_db"))
    assert {row.fields["modality"] for row in store.candidates()} == {"X-ray", "CT"}


def test_flow_fails_loudly_on_a_changed_layout(prefect_harness: None, server: LocalServer) -> None:
    url = serve_radiopaedia(server)
    html = page("radiopaedia", "case.html", server.base_url)
    server.add(RADIOPAEDIA_CASE, Reply.html(html.replace('class="header-title"', 'class="x"')))
    with pytest.raises(LayoutChanged, match="radiopaedia layout changed: no title"):
        extract_flow(url=url)
    store = Store.open(load_config().path("staging_db"))
    assert store.candidates() == [] and store.sources()[0].status == "failed"
