"""A backfill without Prefect: windows of publication dates, the ledger, MAX and resume,
a stop part-way, per-worker counts in the report, and the shared per-host slots."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from prefect.exceptions import ObjectNotFound

from pipeline.config import Config, load_config
from pipeline.nightly.backfill import (
    Backfill,
    BackfillRequest,
    BatchResult,
    HostQueue,
    LocalBatches,
    Window,
    windows,
)
from pipeline.nightly.discovery import SourceRef
from pipeline.nightly.settings import HostLimit, NightlySettings, load_nightly_settings
from pipeline.store import Store
from tests.literature import Literature, numbered_pdf, papers
from tests.pdfs import case_report_pdf

START, UNTIL = date(2020, 3, 1), date(2020, 3, 21)


def test_windows_cover_the_range_once() -> None:
    found = windows(START, UNTIL, 7)
    assert found == [Window(date(2020, 3, 1), date(2020, 3, 7)),
                     Window(date(2020, 3, 8), date(2020, 3, 14)),
                     Window(date(2020, 3, 15), date(2020, 3, 21))]  # fmt: skip
    assert windows(START, START, 30) == [Window(START, START)]
    assert found[0].crossref_filter(NightlySettings()) == {
        "from-pub-date": "2020-03-01", "until-pub-date": "2020-03-07", "type": "journal-article"
    }  # fmt: skip
    with pytest.raises(ValueError, match="ends"):
        windows(UNTIL, START, 7)


def test_a_batch_takes_its_sources_round_robin_by_host() -> None:
    queue = HostQueue()
    queue.extend(SourceRef("pdf-url", f"http://{h}/{n}.pdf", "crossref", h)
                 for h in ("a", "a", "a", "b", "c") for n in range(1))  # fmt: skip
    assert [ref.host for ref in queue.take(4)] == ["a", "b", "c", "a"]
    assert len(queue) == 1 and [ref.host for ref in queue.take(4)] == ["a"]


@pytest.fixture
def literature(tmp_path: Path, pipeline_env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    items = papers(12, START, UNTIL, hosts=3, missing=[4])
    pdf = numbered_pdf(case_report_pdf(tmp_path / "paper.pdf").read_bytes())
    with Literature(items, pdf, hosts=3, latency=0.02) as served:
        monkeypatch.setenv("PIPELINE_CROSSREF_URL", served.crossref.base_url)
        monkeypatch.setenv("PIPELINE_UNPAYWALL_URL", served.crossref.base_url)  # answers 404
        monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
        monkeypatch.setenv("PIPELINE_HTTP_RETRIES", "0")
        yield served


def backfill_settings(config: Config) -> NightlySettings:
    return replace(load_nightly_settings(config), crossref_queries=("COVID-19 chest",),
                   crossref_rows=3, site_names=(), backfill_window_days=7,
                   backfill_batch_size=3, max_in_flight=4, retries=0)  # fmt: skip


def test_a_backfill_extracts_each_source_once_and_resumes_after_max(
    literature: Literature, tmp_path: Path
) -> None:
    config = load_config()
    store = Store.open(config.path("staging_db"))
    settings = backfill_settings(config)
    lines: list[str] = []

    first = Backfill(config, store, settings, BackfillRequest(START, UNTIL, max_sources=5),
                     LocalBatches(config, store, settings), log=lines.append).run()  # fmt: skip
    assert first.status == "backfill-partial" and first.totals().processed == 5
    assert any("MAX=5" in problem for problem in first.problems)

    second = Backfill(config, store, settings, BackfillRequest(START, UNTIL),
                      LocalBatches(config, store, settings), log=lines.append).run()  # fmt: skip
    total = second.totals()
    assert second.status == "backfill-ok"
    assert total.found == 12 and total.already_done == 4 and total.processed == 8
    # Each paper's PDF was fetched once over both runs (the failed one once per run: a failed
    # source has attempts left), and the ledger says so.
    rows = {row.location: row for row in store.sources()}
    for paper in literature.papers.values():
        assert literature.hits(paper) == (2 if paper.missing else 1), paper
        row = rows[paper.doi]
        assert row.status == ("failed" if paper.missing else "ok")
        assert row.attempts == (2 if paper.missing else 1)
    assert "404" in rows["10.5555/bf.4"].error
    # Discovery asked Crossref one window of publication dates at a time, in pages.
    asked = {query["filter"][0] for query in literature.queries}
    assert "from-pub-date:2020-03-08,until-pub-date:2020-03-14,type:journal-article" in asked
    assert any(query.get("cursor") != ["*"] for query in literature.queries)
    # One report per run, in the nightly's format, with its workers.
    text = Path(second.files[0]).read_text()
    assert text.startswith(f"# Backfill run {second.run_id}") and "Sources per worker" in text
    assert "works published 2020-03-01 to 2020-03-21" in text and "HTTP 404" in text
    assert sum(worker.processed for worker in second.workers.values()) == 8
    assert store.runs.last_successful_start() is None  # a backfill never moves the nightly


class StopAfterFirstBatch(LocalBatches):
    """A runner whose operator presses Ctrl-C once the first batch is back."""

    def finished(self, timeout: float) -> list[tuple[Any, BatchResult]]:
        done = super().finished(timeout)
        if done:
            raise KeyboardInterrupt
        return done


def test_a_stopped_backfill_reports_and_the_next_one_finishes_the_rest(
    literature: Literature,
) -> None:
    config = load_config()
    store = Store.open(config.path("staging_db"))
    settings = replace(backfill_settings(config), backfill_batch_size=2)
    stopping = StopAfterFirstBatch(config, store, settings)
    with pytest.raises(KeyboardInterrupt):
        Backfill(config, store, settings, BackfillRequest(START, UNTIL), stopping,
                 log=lambda _: None).run()  # fmt: skip
    stopped = store.runs.history()[0]
    assert stopped.status == "backfill-stopped" and Path(stopped.report).exists()
    done_before = {row.source_id for row in store.sources()}
    assert 0 < len(done_before) < 12

    report = Backfill(config, store, settings, BackfillRequest(START, UNTIL),
                      LocalBatches(config, store, settings), log=lambda _: None).run()  # fmt: skip
    assert report.status == "backfill-ok"
    assert all(literature.hits(paper) == 1 for paper in literature.papers.values()
               if not paper.missing)  # fmt: skip
    assert len(store.sources()) == 12


class CrashingBatches(LocalBatches):
    """The first batch's flow run crashes before finishing any source."""

    crashed = False

    def submit(self, refs: list[SourceRef]) -> Any:
        if not self.crashed:
            self.crashed = True
            future: Any = __import__("concurrent.futures").futures.Future()
            future.set_exception(RuntimeError("Crashed: process killed (SIGKILL)"))
            self.futures.add(future)
            return future
        return super().submit(refs)


def test_the_sources_of_a_crashed_batch_are_extracted_by_another(literature: Literature) -> None:
    config = load_config()
    store = Store.open(config.path("staging_db"))
    settings = backfill_settings(config)
    crashing = CrashingBatches(config, store, settings)
    report = Backfill(config, store, settings, BackfillRequest(START, UNTIL), crashing,
                      log=lambda _: None).run()  # fmt: skip
    assert report.status == "backfill-ok" and report.totals().processed == 12
    assert {row.status for row in store.sources() if "bf.4" not in row.location} == {"ok"}


# -- the shared per-host slots (flows/limits.py) against a stand-in for the server's API ------


class FakeLimits:
    """The global concurrency limit API of a Prefect server, in memory: slots per name."""

    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = dict(limits)
        self.active: dict[str, int] = defaultdict(int)
        self.leases: dict[str, str] = {}
        self.lock = threading.Lock()
        self.calls = 0

    def read_global_concurrency_limit_by_name(self, name: str) -> Any:
        if name not in self.limits:
            raise ObjectNotFound(http_exc=LookupError(name))
        return type("Limit", (), {"limit": self.limits[name]})()

    def upsert_global_concurrency_limit_by_name(self, name: str, limit: int) -> None:
        self.limits[name] = limit

    def increment_concurrency_slots_with_lease(self, names: list[str], **_: Any) -> Any:
        (name,) = names
        with self.lock:
            self.calls += 1
            request = httpx.Request("POST", "http://server/increment-with-lease")
            if self.active[name] >= self.limits[name]:
                response = httpx.Response(423, headers={"Retry-After": "0.05"}, request=request)
                raise httpx.HTTPStatusError("locked", request=request, response=response)
            self.active[name] += 1
            lease = f"00000000-0000-0000-0000-{self.calls:012d}"
            self.leases[lease] = name
            return httpx.Response(200, json={"lease_id": lease, "limits": [{"name": name}]},
                                  request=request)  # fmt: skip

    def release_concurrency_slots_with_lease(self, lease_id: Any) -> None:
        with self.lock:
            self.active[self.leases.pop(str(lease_id))] -= 1

    def renew_concurrency_lease(self, *_: Any) -> None:
        return None


def test_two_processes_share_a_hosts_slots_and_its_start_rate() -> None:
    from flows.limits import SharedHostSlots, limit_name

    host = "127.0.0.1:9"
    server = FakeLimits({limit_name(host): 2})
    limit = HostLimit(concurrency=2, rate=20.0)  # a slot starts once per 0.1 s
    running, peak, starts = [0], [0], []
    lock = threading.Lock()

    def fetch(gate: SharedHostSlots) -> None:
        with gate(quote(host, safe=":.")):
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
                starts.append(time.monotonic())
            time.sleep(0.03)
            with lock:
                running[0] -= 1

    gates = [SharedHostSlots(server, lambda _host: limit) for _ in range(2)]  # two "workers"
    threads = [threading.Thread(target=lambda g=gate: [fetch(g) for _ in range(5)])
               for gate in gates for _ in range(3)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for gate in gates:
        gate.close()
    starts.sort()
    assert len(starts) == 30 and peak[0] <= 2
    # At most 2 starts in any 0.1 s: the host's rate, 20 a second, across both processes;
    # and not far below it (a loose bound: a busy machine is slower).
    assert all(b - a >= 0.1 - 0.01 for a, b in zip(starts, starts[2:], strict=False))
    assert (len(starts) - 1) / (starts[-1] - starts[0]) > 0.5 * 20
    assert sum(gate.stats.reused for gate in gates) > 10  # slots kept while busy
    assert server.active[limit_name(host)] == 0  # everything given back


class FlakyLimits(FakeLimits):
    """A server that answers the n-th ask for a slot from now with an error (a 500, a
    timeout): `fail_in = n`."""

    def __init__(self, limits: dict[str, int]) -> None:
        super().__init__(limits)
        self.fail_in: int | None = None

    def increment_concurrency_slots_with_lease(self, names: list[str], **kwargs: Any) -> Any:
        if self.fail_in is not None:
            self.fail_in -= 1
            if self.fail_in == 0:
                self.fail_in = None
                raise httpx.ConnectError("the server went away for a moment")
        return super().increment_concurrency_slots_with_lease(names, **kwargs)


def test_a_server_error_while_waiting_for_a_slots_turn_gives_the_slot_back() -> None:
    """Our one slot of a host, paced by its rate, waits for its turn, and meanwhile we ask the
    server for a free one; an error there ends the fetch, and the slot goes back (not kept and
    renewed for nobody, which would hold the host's limit for good)."""
    from flows.limits import SharedHostSlots, limit_name

    host = "127.0.0.1:9"
    server = FlakyLimits({limit_name(host): 1})
    gate = SharedHostSlots(server, lambda _host: HostLimit(concurrency=1, rate=1.0))
    with gate(host):
        pass  # our slot; its next turn in 1 s
    server.fail_in = 2  # the first ask is refused (the host's one slot is ours), then an error
    with pytest.raises(httpx.ConnectError), gate(host):
        pass
    again = threading.Thread(target=lambda: gate(host).__enter__())
    again.start()  # the slot is ours to use again (a leaked one would leave this waiting)
    again.join(timeout=10)
    assert not again.is_alive(), "the slot was kept by the failed fetch"
    gate.close()


def test_a_stopped_batch_starts_none_of_its_queued_sources(
    pipeline_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancelled batch's flow run is stopped by SIGTERM while it waits for its sources: the
    one running ends, the queued ones are not started (the resumed backfill queues them
    again; starting them here would extract them twice)."""
    import pipeline.nightly.backfill as backfill

    started: list[str] = []
    release = threading.Event()

    def extract(ref: SourceRef, *_args: Any, **_kwargs: Any) -> Any:
        started.append(ref.location)
        release.wait(5)
        raise RuntimeError("not extracted in this test")

    def stopped(*_args: Any) -> Any:
        release.set()
        raise KeyboardInterrupt  # what SIGTERM raises in the flow's main thread

    monkeypatch.setattr(backfill, "extract_with_retries", extract)
    monkeypatch.setattr(backfill, "outcome_of", stopped)
    config = load_config()
    store = Store.open(tmp_path / "staging.sqlite")
    refs = [SourceRef("doi", f"10.5555/stop.{n}", "crossref", "a") for n in range(4)]
    with pytest.raises(KeyboardInterrupt):
        backfill.extract_batch(refs, config, store, backfill_settings(config), threads=1)
    assert started == ["10.5555/stop.0"]


def test_a_window_with_more_works_than_a_query_may_take_leaves_the_backfill_partial(
    literature: Literature,
) -> None:
    """Works past max_results_per_query in a window are never found, by this run or by a
    resume of it: the run says so and is not successful."""
    config = load_config()
    store = Store.open(config.path("staging_db"))
    settings = replace(backfill_settings(config), crossref_max_results=2)
    report = Backfill(config, store, settings, BackfillRequest(START, UNTIL),
                      LocalBatches(config, store, settings), log=print).run()  # fmt: skip
    assert report.status == "backfill-partial"
    assert any("max_results_per_query" in problem for problem in report.problems)


class ForgetfulLimits(FakeLimits):
    """A server that, from `forget` on, fails every renewal and takes the leases back (as
    its repossessor does with leases nobody renewed)."""

    def __init__(self, limits: dict[str, int]) -> None:
        super().__init__(limits)
        self.forget = False

    def renew_concurrency_lease(self, lease_id: Any, *_: Any) -> None:
        if self.forget:
            with self.lock:
                if str(lease_id) in self.leases:
                    self.active[self.leases.pop(str(lease_id))] -= 1
            raise httpx.ConnectError("the server cannot be reached")


def test_a_slot_whose_lease_could_not_be_renewed_is_not_used_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Renewals that fail for most of a lease: the server may have given the slot to another
    process, so ours is dropped and the next fetch asks for a new one."""
    import flows.limits
    from flows.limits import SharedHostSlots, limit_name

    monkeypatch.setattr(flows.limits, "LEASE_SECONDS", 0.3)
    monkeypatch.setattr(flows.limits, "RENEW_RETRY", 0.02)
    host = "127.0.0.1:9"
    server = ForgetfulLimits({limit_name(host): 1})
    gate = SharedHostSlots(server, lambda _host: HostLimit(concurrency=1, rate=2.0))
    with gate(host):
        server.forget = True
    time.sleep(0.6)  # past the lease: the keeper gave up renewing it
    with gate(host):  # a new slot from the server, not the lost one
        pass
    gate.close()
    assert gate.stats.acquired == 2 and gate.stats.reused == 0
