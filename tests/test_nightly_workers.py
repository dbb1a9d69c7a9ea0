"""Sources extracted on worker processes (pipeline/nightly/workers.py): what a worker
raises or records reaches the run as it would from a thread."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.nightly.discovery import SourceRef
from pipeline.nightly.ingest import TransientSourceError
from pipeline.nightly.workers import BROKEN_TRIES, ExtractionProcesses, WorkerDied
from pipeline.store import Store
from tests.httpserver import LocalServer, Reply
from tests.pdfs import case_report_pdf
from tests.processes import descendants


@pytest.fixture
def workers(store: Store, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    monkeypatch.setenv("PIPELINE_HTTP_RETRIES", "0")
    monkeypatch.setenv("PIPELINE_HTTP_CACHE", "false")
    with ExtractionProcesses(load_config(), store.url_with_password(), 2) as pool:
        yield pool


def _link(server: LocalServer, path: str) -> SourceRef:
    return SourceRef("pdf-url", server.url(path), "watchlist", "127.0.0.1")


def test_a_transient_failure_in_a_worker_is_raised_in_the_run(
    workers: ExtractionProcesses, store: Store, server: LocalServer
) -> None:
    server.add("/busy.pdf", Reply(503))
    ref = _link(server, "/busy.pdf")
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
        refs.append(_link(server, f"/{n}.pdf"))
    outcomes = [future.result() for future in [workers.submit(ref) for ref in refs]]
    assert all(outcome.status == "ok" for outcome in outcomes)
    assert sum(len(outcome.staged) for outcome in outcomes) == 2  # one PDF behind four links
    assert len(store.candidates()) == 2


def test_a_worker_runs_opencv_on_one_thread(workers: ExtractionProcesses) -> None:
    """The pool is the parallelism: OpenCV's threads in each worker only cost CPU."""
    import cv2

    if cv2.getNumThreads() <= 1:
        pytest.skip("OpenCV runs one thread here by default: nothing to tell apart")
    assert workers.pool.submit(cv2.getNumThreads).result() == 1


def test_one_worker_is_the_runs_own_threads(store: Store) -> None:
    with pytest.raises(ValueError, match="1 means the run's own threads"):
        ExtractionProcesses(load_config(), store.url_with_password(), 1)


def _kill_workers() -> None:
    """SIGKILL the pool's workers (the fork server's children), as the OOM killer would."""
    for pid in descendants(os.getpid()):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"forkserver" in command and int(stat[1]) != os.getpid():
            os.kill(pid, signal.SIGKILL)


def _kill_workers_at_each_request(server: LocalServer, path: str, times: int) -> threading.Thread:
    def watch() -> None:
        seen = 0
        deadline = time.monotonic() + 60
        while seen < times and time.monotonic() < deadline:
            if server.hits(path) > seen:
                seen += 1
                time.sleep(0.2)
                _kill_workers()
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_worker_killed_under_a_source_does_not_lose_it(
    workers: ExtractionProcesses, store: Store, server: LocalServer, tmp_path: Path
) -> None:
    pdf = case_report_pdf(tmp_path / "paper.pdf")
    server.add("/slow.pdf", replace(Reply.file(pdf), delay=5.0), Reply.file(pdf))
    ref = _link(server, "/slow.pdf")
    watch = _kill_workers_at_each_request(server, "/slow.pdf", 1)
    outcome = workers.extract(ref)
    watch.join()
    assert outcome.status == "ok" and len(outcome.staged) == 2
    assert server.hits("/slow.pdf") == 2  # tried again on a new pool


def test_a_source_that_kills_its_worker_every_time_fails_alone(
    workers: ExtractionProcesses, store: Store, server: LocalServer, tmp_path: Path
) -> None:
    server.add("/poison.pdf", Reply(200, b"%PDF-1.4", delay=5.0))
    ref = _link(server, "/poison.pdf")
    watch = _kill_workers_at_each_request(server, "/poison.pdf", BROKEN_TRIES)
    with pytest.raises(WorkerDied, match="died 3 times"):
        workers.extract(ref)
    watch.join()
    pdf = case_report_pdf(tmp_path / "paper.pdf")
    server.add("/good.pdf", Reply.file(pdf))
    good = _link(server, "/good.pdf")
    assert workers.extract(good).status == "ok"  # the pool works again


def _arrivals_of_sources_at_once(
    store: Store,
    server: LocalServer,
    pdf: Path,
    count: int,
    monkeypatch: pytest.MonkeyPatch,
    delay: float = 0.0,
) -> list[float]:
    """Two warm workers extract `count` PDF links on one host at once (each answered after
    `delay` seconds, the local host allowed, nothing cached): when each request reached the
    host, in order."""
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    monkeypatch.setenv("PIPELINE_HTTP_CACHE", "false")
    for n in range(count):
        server.add(f"/{n}.pdf", replace(Reply.file(pdf), delay=delay))
    server.add("/warm.pdf", Reply.file(pdf))
    with ExtractionProcesses(load_config(), store.url_with_password(), 2) as workers:
        workers.extract(_link(server, "/warm.pdf"))  # both workers started
        started = time.monotonic()
        futures = [workers.submit(_link(server, f"/{n}.pdf")) for n in range(count)]
        assert all(future.result().status == "ok" for future in futures)
    return sorted(r.at for r in server.requests if r.at >= started)


def test_workers_share_each_hosts_connection_limit(
    store: Store, server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`max_concurrent_per_host` holds for the workers together, as for one client."""
    monkeypatch.setenv("PIPELINE_HTTP_MAX_CONCURRENT_PER_HOST", "1")
    pdf = case_report_pdf(tmp_path / "paper.pdf")
    first, second = _arrivals_of_sources_at_once(store, server, pdf, 2, monkeypatch, delay=0.6)
    assert second - first >= 0.55  # one connection at a time to the host


def test_workers_keep_each_hosts_request_rate_together(
    store: Store, server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`requests_per_second` holds for the workers together, as for one client.

    Judged on the span of the arrivals: three gaps of 1/4 s make 0.75 s; unpaced it
    measured 0.19 s, and two workers each pacing only itself would make about 0.25 s. Not on
    the smallest gap: on a loaded machine one request can reach the host a tenth of a second
    after its start, closing the gap to the next one though the starts were paced."""
    monkeypatch.setenv("PIPELINE_HTTP_REQUESTS_PER_SECOND", "4")
    pdf = case_report_pdf(tmp_path / "p.pdf")
    times = _arrivals_of_sources_at_once(store, server, pdf, 4, monkeypatch)
    assert len(times) == 4
    assert times[-1] - times[0] >= 0.6


def test_case_site_pages_stay_on_the_runs_own_threads(store: Store) -> None:
    """A site's pace, robots.txt and captcha stop live in the run's one site fetcher."""
    config = load_config()
    with ExtractionProcesses(config, store.url_with_password(), 2) as workers:
        case = f"{config.url('radiopaedia')}/cases/covid-19-pneumonia-12"
        assert not workers.takes(SourceRef("url", case, "site:radiopaedia", "radiopaedia.org"))
        pdf = "https://journals.example.org/article.pdf"
        assert workers.takes(SourceRef("url", pdf, "watchlist", "journals.example.org"))
        assert workers.takes(SourceRef("doi", "10.1000/xyz", "crossref", "api.crossref.org"))
