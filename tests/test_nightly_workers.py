"""Sources extracted on worker processes (pipeline/nightly/workers.py): what a worker
raises or records reaches the run as it would from a thread."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.nightly.discovery import SourceRef
from pipeline.nightly.ingest import TransientSourceError
from pipeline.nightly.workers import ExtractionProcesses
from pipeline.store import Store
from tests.httpserver import LocalServer, Reply
from tests.pdfs import case_report_pdf


@pytest.fixture
def workers(store: Store, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    monkeypatch.setenv("PIPELINE_HTTP_RETRIES", "0")
    monkeypatch.setenv("PIPELINE_HTTP_CACHE", "false")
    with ExtractionProcesses(load_config(), store.location, 2) as pool:
        yield pool


def test_a_transient_failure_in_a_worker_is_raised_in_the_run(
    workers: ExtractionProcesses, store: Store, server: LocalServer
) -> None:
    server.add("/busy.pdf", Reply(503))
    ref = SourceRef("pdf-url", server.url("/busy.pdf"), "watchlist", "127.0.0.1")
    with pytest.raises(TransientSourceError) as raised:
        workers.extract(ref, final_attempt=False)
    assert raised.value.ref == ref and "503" in raised.value.reason
    outcome = workers.extract(ref, final_attempt=True)  # the last attempt is recorded
    assert outcome.status == "failed" and "503" in outcome.error
    assert store.source(ref.source_id).status == "failed"


def test_workers_stage_into_the_runs_store(
    workers: ExtractionProcesses, store: Store, server: LocalServer, tmp_path: Path
) -> None:
    pdf = case_report_pdf(tmp_path / "paper.pdf")
    refs = []
    for n in range(4):
        server.add(f"/{n}.pdf", Reply.file(pdf))
        refs.append(SourceRef("pdf-url", server.url(f"/{n}.pdf"), "watchlist", "127.0.0.1"))
    outcomes = [future.result() for future in [workers.submit(ref) for ref in refs]]
    assert all(outcome.status == "ok" for outcome in outcomes)
    assert sum(len(outcome.staged) for outcome in outcomes) == 2  # one PDF behind four links
    assert len(store.candidates()) == 2


def test_one_worker_is_the_runs_own_threads(store: Store) -> None:
    with pytest.raises(ValueError, match="1 means the run's own threads"):
        ExtractionProcesses(load_config(), store.location, 1)
