"""A nightly run without Prefect: fan-out limits, failures, retries, bookkeeping, report."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.config import Config, load_config
from pipeline.nightly.discovery import SourceRef
from pipeline.nightly.fanout import dispatch
from pipeline.nightly.ingest import SourceOutcome, is_transient
from pipeline.nightly.report import render_html, render_markdown
from pipeline.nightly.run import NightlyRunner, run_nightly
from pipeline.nightly.settings import HostLimit, NightlySettings, load_nightly_settings
from pipeline.store import Store
from tests.httpserver import LocalServer, Reply
from tests.pdfs import case_report_pdf


def test_dispatch_keeps_each_hosts_concurrency_and_rate() -> None:
    refs = [SourceRef("pdf-url", f"http://{host}/{n}.pdf", "watchlist", host)
            for n in range(6) for host in ("slow", "fast")]  # fmt: skip
    limits = {"slow": HostLimit(concurrency=1, rate=100.0), "fast": HostLimit(3, 20.0)}
    running: dict[str, int] = defaultdict(int)
    peak: dict[str, int] = defaultdict(int)
    starts: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()
    done: list[str] = []

    def work(ref: SourceRef) -> None:
        with lock:
            running[ref.host] += 1
            peak[ref.host] = max(peak[ref.host], running[ref.host])
            starts[ref.host].append(time.monotonic())
        time.sleep(0.2)
        with lock:
            running[ref.host] -= 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        dispatch(refs, limits.__getitem__, lambda ref: pool.submit(work, ref),
                 lambda ref, _future: done.append(ref.location), max_in_flight=8)  # fmt: skip
    assert len(done) == 12 and peak == {"slow": 1, "fast": 3}
    gaps = [b - a for a, b in zip(starts["fast"], starts["fast"][1:], strict=False)]
    assert min(gaps) >= 1 / 20 - 0.01  # at most 20 starts per second


def test_transient_failures() -> None:
    from pipeline.errors import SourceError

    assert is_transient(TimeoutError("read timed out"))
    assert is_transient(SourceError("u", "HTTP 503 fetching the PDF"))
    assert not is_transient(SourceError("u", "HTTP 404 Not Found"))
    assert not is_transient(SourceError("u", "not a PDF"))


@pytest.fixture
def nightly(config: Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    monkeypatch.setenv("PIPELINE_HTTP_CACHE", "false")
    watchlist = tmp_path / "watchlist.txt"
    settings = replace(load_nightly_settings(config), crossref_queries=(), site_names=(),
                       watchlist=watchlist, retry_delay_seconds=0.05)  # fmt: skip
    return load_config(), settings, watchlist


@pytest.mark.parametrize("processes", [1, 2], ids=["threads", "worker-processes"])
def test_a_run_extracts_new_sources_and_the_next_run_skips_them(
    nightly: tuple[Config, NightlySettings, Path], store: Store, tmp_path: Path, processes: int
) -> None:
    """The same run on the run's own threads and on worker processes (a transient failure
    raised in a worker is retried; failures are recorded by the worker, in the same store)."""
    config, settings, watchlist = nightly
    settings = replace(settings, processes=processes)
    pdf = case_report_pdf(tmp_path / "paper.pdf")
    logs: list[str] = []
    with LocalServer() as server:
        server.add("/good.pdf", Reply.file(pdf))
        server.add("/flaky.pdf", Reply(503), Reply.file(pdf))  # transient: retried, then ok
        server.add("/gone.pdf", Reply(404))
        server.add("/login.pdf", Reply.html("<script>alert(1)</script>"))
        urls = [server.url(p) for p in ("/good.pdf", "/flaky.pdf", "/gone.pdf", "/login.pdf")]
        watchlist.write_text("\n".join(urls) + "\n")
        report = run_nightly(config, store, settings, runner=NightlyRunner(log=logs.append))
        second = run_nightly(config, store, settings, runner=NightlyRunner(log=logs.append))

    by_url = {o.location: o for o in report.outcomes}
    assert by_url[urls[0]].status == "ok" and len(by_url[urls[0]].staged) == 2
    # The same PDF behind another link: its images are staged already, not twice.
    assert by_url[urls[1]].status == "ok" and by_url[urls[1]].already_staged == 2
    assert "404" in by_url[urls[2]].error
    assert "HTML where a PDF was expected" in by_url[urls[3]].error
    assert len(store.candidates()) == 2
    assert report.status == "ok" and report.totals().failed == 2
    assert any("[4/4]" in line for line in logs)

    # The second run: the two good links are done; the failures are tried again.
    assert {o.location for o in second.outcomes} == {urls[2], urls[3]}
    assert second.routes[f"watchlist / 127.0.0.1:{urls[0].split(':')[2].split('/')[0]}"]
    assert store.source(by_url[urls[2]].source_id).attempts == 2
    assert [run.status for run in store.runs.history()] == ["ok", "ok"]
    assert store.runs.last_successful_start() == second.started_at

    html = Path(report.files[1]).read_text()
    assert "<script" not in html and "&lt;script" in html
    assert html.count('src="data:image/jpeg;base64,') == 2
    assert "| watchlist / 127.0.0.1:" in Path(report.files[0]).read_text()
    assert Path(report.files[0]).name.endswith(".md") and Path(second.files[0]) != report.files[0]


def test_a_run_whose_crossref_query_failed_does_not_move_the_date(
    nightly: tuple[Config, NightlySettings, Path], store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config, settings, _watchlist = nightly
    with LocalServer() as server:
        server.add("/works", Reply(500))
        monkeypatch.setenv("PIPELINE_CROSSREF_URL", server.base_url)
        settings = replace(settings, crossref_queries=("COVID-19 chest CT",))
        report = run_nightly(load_config(), store, settings, runner=NightlyRunner(log=print))
    assert report.status == "partial" and store.runs.last_successful_start() is None
    assert "COVID-19 chest CT" in render_markdown(report)


def test_report_escapes_everything_from_outside(store: Store) -> None:
    from datetime import UTC, datetime

    from pipeline.nightly.report import RunReport, count_outcome

    report = RunReport(1, datetime.now(UTC), datetime.now(UTC), status="ok")
    report.problems.append("<img src=x onerror=alert(1)>")
    count_outcome(report, SourceOutcome("url-x", "url", "http://h/<i>", "site:<b>", "h", "failed",
                                        error='"quoted" & <tag>'))  # fmt: skip
    html = render_html(report, store)
    assert "<img src=x" not in html and "<i>" not in html and "&lt;tag&gt;" in html
    assert "&amp;" in html and "site:&lt;b&gt; / h" in html
