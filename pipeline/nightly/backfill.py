"""A backfill: the nightly's discovery over a range of publication dates, its sources
extracted in batches by whatever runs them, with one report.

    windows of `window_days` --discover--> refs --ledger--> queue --batches--> BatchRunner
        --outcomes--> RunReport (the nightly's format, with per-worker counts)

Discovery goes one window of publication dates at a time (Crossref's from/until-pub-date,
cursor paging within each; the case sites once, since the first day), so memory stays
bounded and extraction starts after the first window. The store's `sources` table is the
ledger: a source it records as done is never extracted again, so a stopped backfill resumes
by running the same command. `flows/backfill.py` runs each batch as a Prefect flow run on a
process work pool (several machines); `LocalBatches` runs them on threads of this process.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import Any, Protocol

from pipeline.config import Config
from pipeline.nightly.discovery import (
    RouteResult,
    Selection,
    SiteDiscoverer,
    SourceRef,
    crossref_sources,
    select_pending,
    site_sources,
)
from pipeline.nightly.ingest import SourceOutcome
from pipeline.nightly.report import (
    RunReport,
    count_batch,
    count_discovery,
    count_outcome,
    write_report,
)
from pipeline.nightly.run import extract_with_retries, outcome_of, shared_client
from pipeline.nightly.settings import NightlySettings
from pipeline.sources.base import Fetching
from pipeline.store import SourceRecord, Store, now


@dataclass(frozen=True)
class Window:
    """Publication dates `start` to `until`, both included."""

    start: date
    until: date

    def crossref_filter(self, settings: NightlySettings) -> dict[str, str]:
        return {
            "from-pub-date": self.start.isoformat(),
            "until-pub-date": self.until.isoformat(),
            "type": settings.crossref_type,
        }

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d}..{self.until:%Y-%m-%d}"


def windows(start: date, until: date, days: int) -> list[Window]:
    if until < start:
        raise ValueError(f"the range ends ({until}) before it starts ({start})")
    step = timedelta(days=max(1, days))
    found, first = [], start
    while first <= until:
        last = min(until, first + step - timedelta(days=1))
        found.append(Window(first, last))
        first = last + timedelta(days=1)
    return found


@dataclass(frozen=True)
class BackfillRequest:
    start: date
    until: date
    query: str | None = None  # instead of the configured Crossref queries
    max_sources: int | None = None  # extract at most this many in this invocation


@dataclass
class BatchResult:
    """How one batch ended: the outcomes of the sources it finished, on which worker.

    A batch whose flow run crashed finishes some sources or none; `error` says why, and the
    orchestrator looks its other sources up in the ledger."""

    worker: str
    outcomes: list[SourceOutcome] = field(default_factory=list)
    error: str | None = None


class BatchRunner(Protocol):
    """Runs batches of sources somewhere: flow runs on a work pool, or local threads."""

    def room(self) -> int:
        """How many batches may be in flight now (the workers' room)."""
        ...

    def submit(self, refs: list[SourceRef]) -> Any:
        """Start one batch; a handle for `finished`."""
        ...

    def finished(self, timeout: float) -> list[tuple[Any, BatchResult]]:
        """Batches that ended since the last call, waiting up to `timeout` for one."""
        ...

    def stop(self) -> None:
        """Stop the batches in flight (the backfill was stopped)."""
        ...

    def adopt(self) -> list[tuple[Any, list[SourceRef]]]:
        """Batches an earlier, stopped backfill left in flight, now being stopped: they end
        through `finished` like this run's own, and what they did not finish is queued again.
        """
        ...


class HostQueue:
    """Sources waiting for a batch, taken round-robin by host so that each batch spreads
    its fetches over hosts instead of queueing them on one."""

    def __init__(self) -> None:
        self._hosts: dict[str, deque[SourceRef]] = {}

    def __len__(self) -> int:
        return sum(len(refs) for refs in self._hosts.values())

    def extend(self, refs: Iterable[SourceRef]) -> None:
        for ref in refs:
            self._hosts.setdefault(ref.host, deque()).append(ref)

    def take(self, count: int) -> list[SourceRef]:
        taken: list[SourceRef] = []
        while len(taken) < count and self._hosts:
            for host in list(self._hosts):
                if len(taken) == count:
                    break
                taken.append(self._hosts[host].popleft())
                if not self._hosts[host]:
                    del self._hosts[host]
        return taken


class Ledger:
    """The `sources` table as read once at the start, kept current from batch outcomes,
    so that each window's selection needs no full read of a table of 100,000 rows."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rows: dict[str, SourceRecord] = {row.source_id: row for row in store.sources()}

    def refresh(self, source_ids: Iterable[str]) -> None:
        for source_id in source_ids:
            row = self.store.source(source_id)
            if row is not None:
                self.rows[source_id] = row


@dataclass
class Backfill:
    """One backfill invocation: discovery, the queue, the batches in flight, the report."""

    config: Config
    store: Store
    settings: NightlySettings
    request: BackfillRequest
    runner: BatchRunner
    log: Callable[[str], None] = print
    site_discoverer: SiteDiscoverer | None = None
    progress: Callable[[int, int], None] | None = None  # (sources done, sources queued)
    report: RunReport = field(init=False)
    queue: HostQueue = field(default_factory=HostQueue)
    in_flight: dict[Any, list[SourceRef]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    crashed_once: set[str] = field(default_factory=set)
    queued_total: int = 0
    done_total: int = 0
    incomplete: bool = False  # a route failed or MAX left sources for a later invocation
    discover_seconds: float = 0.0
    first_submit: float | None = None
    final_size: int | None = None  # batch size once discovery is over

    def remaining(self) -> int | None:
        """How many more sources this invocation may queue (None: no MAX)."""
        limit = self.request.max_sources
        return None if limit is None else max(0, limit - self.queued_total)

    def run(self, flow_run_id: str | None = None) -> RunReport:
        started = now()
        since = datetime.combine(self.request.start, day_time(), tzinfo=UTC)
        run_id = self.store.runs.start(since=since, started_at=started, flow_run_id=flow_run_id)
        self.report = RunReport(run_id=run_id, started_at=started, since=since, kind="backfill",
                                scope=f"works published {self.request.start:%Y-%m-%d} to "
                                      f"{self.request.until:%Y-%m-%d}")  # fmt: skip
        status = "backfill-stopped"
        try:
            self._discover_and_extract()
            status = "backfill-partial" if self.incomplete else "backfill-ok"
        finally:
            if status == "backfill-stopped":
                self.log(f"backfill run {run_id} stopped: stopping the batches in flight")
                with contextlib.suppress(Exception):
                    self.runner.stop()
            self._finish(status)
        return self.report

    # -- the loop ---------------------------------------------------------------------------

    def _discover_and_extract(self) -> None:
        settings = self.settings
        if self.request.query:
            settings = replace(settings, crossref_queries=(self.request.query,))
        ledger = Ledger(self.store)
        self.log(
            f"backfill run {self.report.run_id}: {self.report.scope}, "
            f"{len(ledger.rows)} sources in the ledger already"
        )
        for handle, refs in self.runner.adopt():
            self.in_flight[handle] = refs
            self.seen.update(ref.source_id for ref in refs)
            self.queued_total += len(refs)
            count_discovery(self.report, [], Selection(todo=refs))
        if self.in_flight:
            self.log(f"stopping {len(self.in_flight)} batches an earlier backfill left; "
                     "what they did not finish is queued again")  # fmt: skip
        if settings.site_names:
            clock = time.monotonic()
            sites = site_sources(self.config, settings, self.report.since, self.site_discoverer)
            self.discover_seconds += time.monotonic() - clock
            self._take(sites, ledger, "case sites")
        for window in windows(self.request.start, self.request.until,
                              settings.backfill_window_days):  # fmt: skip
            self._pump(final=False)
            while len(self.queue) >= self._high_water():
                self._collect(ledger)
                self._pump(final=False)
            if self.remaining() == 0:
                self.report.problems.append(
                    f"discovery stopped before {window}: MAX={self.request.max_sources} reached"
                )
                self.incomplete = True
                break
            clock = time.monotonic()
            found = crossref_sources(self.config, settings, self.report.since,
                                     filters=window.crossref_filter(settings))  # fmt: skip
            self.discover_seconds += time.monotonic() - clock
            self._take([found], ledger, f"window {window}")
        while self.queue or self.in_flight:
            self._pump(final=True)
            self._collect(ledger)
        self.report.steps["discover"] = self.discover_seconds
        if self.first_submit is not None:
            self.report.steps["extract"] = time.monotonic() - self.first_submit

    def _take(self, results: list[RouteResult], ledger: Ledger, label: str) -> None:
        fresh = []
        for result in results:
            self.incomplete |= result.incomplete or result.truncated
            for ref in result.refs:
                if ref.source_id not in self.seen:
                    self.seen.add(ref.source_id)
                    fresh.append(ref)
        remaining = self.remaining()
        limited = replace(self.settings, max_sources=len(fresh) if remaining is None else remaining)
        selection = select_pending(self.store, fresh, limited, known=ledger.rows)
        count_discovery(self.report, results, selection)
        self.queue.extend(selection.todo)
        self.queued_total += len(selection.todo)
        self.incomplete |= bool(selection.deferred)
        self.log(
            f"{label}: {len(fresh)} new sources found, {len(selection.todo)} to extract, "
            f"{len(selection.done)} already done, {len(selection.gave_up)} given up; "
            f"{len(self.queue)} waiting, {self.done_total} done"
        )
        self._report_progress()

    def _high_water(self) -> int:
        return self.settings.backfill_batch_size * (max(1, self.runner.room()) + 1)

    def _pump(self, *, final: bool) -> None:
        """Submit batches while the workers have room. Once discovery is over, what is left
        goes in batches of an equal share of it per place in the room (fixed then: batches
        that kept shrinking would each cost a flow run's start for a few sources)."""
        size = max(1, self.settings.backfill_batch_size)
        if final:
            if self.final_size is None:
                share = math.ceil(len(self.queue) / max(1, self.runner.room()))
                self.final_size = max(1, min(size, share))
            size = self.final_size
        while self.queue:
            if self.runner.room() - len(self.in_flight) <= 0:
                return
            if not final and len(self.queue) < size:
                return
            refs = self.queue.take(size)
            if self.first_submit is None:
                self.first_submit = time.monotonic()
            self.in_flight[self.runner.submit(refs)] = refs

    def _collect(self, ledger: Ledger) -> None:
        """Count the batches that ended (waiting up to 2 s for one)."""
        for handle, result in self.runner.finished(timeout=2.0):
            refs = self.in_flight.pop(handle, [])
            outcomes = {outcome.source_id: outcome for outcome in result.outcomes}
            ledger.refresh(outcomes)
            if outcomes:
                count_batch(self.report, result.worker, list(outcomes.values()))
            missing = [ref for ref in refs if ref.source_id not in outcomes]
            if missing:
                outcomes.update(self._unfinished(missing, result, ledger))
            for outcome in outcomes.values():
                count_outcome(self.report, outcome)
            self.done_total += len(outcomes)
            self._report_progress()

    def _unfinished(
        self, refs: list[SourceRef], result: BatchResult, ledger: Ledger
    ) -> dict[str, SourceOutcome]:
        """Sources of a batch that ended without their outcome (its flow run crashed or was
        stopped, or found them done): the ledger's word where it has one (done by anyone, or
        failed during this backfill); else queued again once, then reported failed."""
        ledger.refresh(ref.source_id for ref in refs)
        outcomes = {}
        for ref in refs:
            row = ledger.rows.get(ref.source_id)
            if row is not None and (
                row.status == "ok" or row.last_run_at >= self.report.started_at
            ):
                outcomes[ref.source_id] = SourceOutcome(
                    ref.source_id, ref.kind, ref.location, ref.route, ref.site,
                    "ok" if row.status == "ok" else "failed", error=row.error,
                    images=row.images_found or 0,
                )  # fmt: skip
            elif ref.source_id not in self.crashed_once:
                self.crashed_once.add(ref.source_id)
                self.queue.extend([ref])
            else:
                reason = f"its batch ended twice without it: {result.error or 'unknown'}"
                outcomes[ref.source_id] = SourceOutcome(
                    ref.source_id, ref.kind, ref.location, ref.route, ref.site, "failed",
                    error=reason,
                )  # fmt: skip
        return outcomes

    def _report_progress(self) -> None:
        if self.progress is not None:
            self.progress(self.done_total, self.queued_total)

    def _finish(self, status: str) -> None:
        report = self.report
        report.status = status
        report.finished_at = now()
        files = write_report(report, self.store, self.config.path("metadata") / "reports")
        report.files = list(files)
        total = report.totals()
        self.store.runs.finish(
            report.run_id, status, found=total.found, processed=total.processed,
            failed=total.failed, staged=total.staged, report=str(files[0]),
        )  # fmt: skip
        self.log(
            f"backfill run {report.run_id} {status}: {total.processed} processed, "
            f"{total.failed} failed, {total.staged} candidates staged; report {files[1]}"
        )


# -- one batch ------------------------------------------------------------------------------


def worker_name() -> str:
    """The Prefect worker running this process (it sets PREFECT__WORKER_NAME), else host:pid."""
    return os.environ.get("PREFECT__WORKER_NAME") or f"{socket.gethostname()}:{os.getpid()}"


def skip_done(refs: list[SourceRef], store: Store) -> tuple[list[SourceRef], list[SourceRef]]:
    """(to extract, done already): the ledger is read again just before a batch starts, so
    a source another run finished after this one was queued is not extracted twice."""
    todo, done = [], []
    for ref in refs:
        row = store.source(ref.source_id)
        (done if row is not None and row.status == "ok" else todo).append(ref)
    return todo, done


@contextlib.contextmanager
def batch_fetching(config: Config) -> Iterator[Fetching]:
    """One HTTP client and one site fetcher for the whole batch (robots.txt read once per
    site, a blocked site stays stopped), shared by its threads."""
    with shared_client(config) as client, Fetching(config, client=client) as fetching:
        if client is not None:
            fetching.sites()
        yield fetching


def extract_batch(
    refs: list[SourceRef],
    config: Config,
    store: Store,
    settings: NightlySettings,
    *,
    threads: int | None = None,
) -> BatchResult:
    """Extract a batch on a pool of threads, each source with the nightly's retries."""
    todo, _done = skip_done(refs, store)
    outcomes: list[SourceOutcome] = []
    with batch_fetching(config) as fetching:
        pool = ThreadPoolExecutor(max_workers=max(1, threads or settings.max_in_flight))
        try:
            futures = {
                pool.submit(extract_with_retries, ref, config, store, retries=settings.retries,
                            delay=settings.retry_delay_seconds, fetching=fetching): ref
                for ref in todo
            }  # fmt: skip
            for future, ref in futures.items():
                outcomes.append(outcome_of(ref, future, store))
        except BaseException:
            # Stopped (a cancelled flow run gets SIGTERM): the sources not started stay
            # unstarted, for whoever takes the batch up again; the running ones end.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    return BatchResult(worker=worker_name(), outcomes=outcomes)


class LocalBatches:
    """Batches on threads of this process, `workers` at a time (tests; one machine)."""

    def __init__(
        self, config: Config, store: Store, settings: NightlySettings, *, workers: int = 2
    ) -> None:
        self.config, self.store, self.settings = config, store, settings
        self.workers = workers
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.futures: set[Future[BatchResult]] = set()

    def room(self) -> int:
        return self.workers

    def submit(self, refs: list[SourceRef]) -> Future[BatchResult]:
        threads = max(1, self.settings.max_in_flight // self.workers)
        future = self.pool.submit(
            extract_batch, refs, self.config, self.store, self.settings, threads=threads
        )
        self.futures.add(future)
        return future

    def finished(self, timeout: float) -> list[tuple[Any, BatchResult]]:
        if not self.futures:
            return []
        with contextlib.suppress(FutureTimeout):
            wait(self.futures, timeout=timeout, return_when="FIRST_COMPLETED")
        done = [future for future in self.futures if future.done()]
        self.futures.difference_update(done)
        return [(future, _result_of(future)) for future in done]

    def stop(self) -> None:
        for future in self.futures:
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def adopt(self) -> list[tuple[Any, list[SourceRef]]]:
        return []  # threads end with the process that ran them


def _result_of(future: Future[BatchResult]) -> BatchResult:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a batch's crash is reported, the backfill goes on
        return BatchResult(worker="local", error=f"{type(exc).__name__}: {exc}")


def outcome_rows(outcomes: Iterable[SourceOutcome]) -> list[dict[str, Any]]:
    return [outcome.to_json() for outcome in outcomes]


def outcomes_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[SourceOutcome]:
    fields = SourceOutcome.__dataclass_fields__
    return [SourceOutcome(**{k: v for k, v in row.items() if k in fields}) for row in rows]
