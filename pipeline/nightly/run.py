"""One nightly run as plain functions: discover, select, extract each source, report.

`flows/nightly/` runs the same code with each step as a Prefect task and each source as
a Prefect task run; without Prefect, `run_nightly` uses a thread pool.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipeline.config import Config
from pipeline.nightly.discovery import (
    RouteResult,
    SiteDiscoverer,
    SourceRef,
    crossref_sources,
    merge,
    retry_sources,
    select_pending,
    site_sources,
    watchlist_sources,
)
from pipeline.nightly.fanout import FutureLike, dispatch
from pipeline.nightly.ingest import SourceOutcome, TransientSourceError
from pipeline.nightly.report import RunReport, count_discovery, count_outcome, write_report
from pipeline.nightly.settings import NightlySettings
from pipeline.nightly.workers import (
    ExtractionProcesses,
    extract_here_or_on_worker,
    worker_processes,
)
from pipeline.sources.base import Fetching, StepRunner, run_directly
from pipeline.store import Store, now

if TYPE_CHECKING:
    from pipeline.http import HttpClient


def extract_with_retries(
    ref: SourceRef,
    config: Config,
    store: Store,
    *,
    retries: int,
    delay: float,
    client: HttpClient | None = None,
    fetching: Fetching | None = None,
    processes: ExtractionProcesses | None = None,
) -> SourceOutcome:
    """extract_source (on a worker process when `processes` is given), tried again after
    `delay` seconds on transient failures."""
    for attempt in range(retries + 1):
        try:
            final = attempt == retries
            return extract_here_or_on_worker(ref, config, store, processes, client=client,
                                             fetching=fetching, final_attempt=final)  # fmt: skip
        except TransientSourceError:
            time.sleep(delay)
    raise AssertionError("unreachable: the final attempt never raises")


@contextlib.contextmanager
def shared_client(config: Config) -> Iterator[HttpClient | None]:
    """One HTTP client for the whole run, so each host has one rate limit across threads."""
    try:
        from pipeline.http import HttpClient
    except ImportError:
        yield None
        return
    with HttpClient(config) as client:
        yield client


@dataclass
class NightlyRunner:
    """How a run executes its steps: directly (default) or as Prefect tasks."""

    run_step: StepRunner = run_directly
    # Starts one source and returns a future of its SourceOutcome; None: a local thread pool.
    submit: Callable[[SourceRef], FutureLike] | None = None
    log: Callable[[str], None] = print
    progress: Callable[[int, int], None] | None = None  # (sources done, sources to do)


def outcome_of(ref: SourceRef, future: Any, store: Store) -> SourceOutcome:
    """The future's outcome; a crash of the worker itself is recorded against the source."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - one source's crash must not end the run
        reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
        store.record_source(ref.source_id, ref.kind, ref.location, error=reason)
        return SourceOutcome(ref.source_id, ref.kind, ref.location, ref.route, ref.site,
                             "failed", error=reason)  # fmt: skip


def discover(
    config: Config,
    settings: NightlySettings,
    store: Store,
    since: datetime,
    runner: NightlyRunner,
    site_discoverer: SiteDiscoverer | None,
    steps: dict[str, float],
) -> list[RouteResult]:
    def timed(name: str, step: Callable[..., Any], *args: Any) -> Any:
        clock = time.monotonic()
        result = runner.run_step(name, step, *args)
        steps[name] = time.monotonic() - clock
        return result

    results: list[RouteResult] = []
    if settings.crossref_queries:
        results.append(timed("discover-crossref", crossref_sources, config, settings, since))
    results.append(timed("discover-watchlist", watchlist_sources, settings.watchlist, config))
    if settings.site_names:
        results += timed("discover-sites", site_sources, config, settings, since, site_discoverer)
    results.append(timed("discover-retries", retry_sources, store, settings, config))
    return results


def run_nightly(
    config: Config,
    store: Store,
    settings: NightlySettings,
    *,
    runner: NightlyRunner | None = None,
    since: datetime | None = None,
    site_discoverer: SiteDiscoverer | None = None,
    flow_run_id: str | None = None,
) -> RunReport:
    runner = runner or NightlyRunner()
    started = now()
    lookback = timedelta(days=settings.first_run_lookback_days)
    since = since or store.runs.last_successful_start() or started - lookback
    run_id = store.runs.start(since=since, started_at=started, flow_run_id=flow_run_id)
    report = RunReport(run_id=run_id, started_at=started, since=since)
    runner.log(f"nightly run {run_id}: discovering sources indexed since {since:%Y-%m-%d}")

    results = discover(config, settings, store, since, runner, site_discoverer, report.steps)
    clock = time.monotonic()
    selection = runner.run_step("select", select_pending, store, merge(results), settings)
    report.steps["select"] = time.monotonic() - clock
    count_discovery(report, results, selection)
    runner.log(
        f"found {len(merge(results))} sources: {len(selection.todo)} to extract, "
        f"{len(selection.done)} already done, {len(selection.gave_up)} given up, "
        f"{len(selection.deferred)} deferred to the next run"
    )

    clock = time.monotonic()
    if runner.submit is not None:
        extract_all(selection.todo, config, store, settings, runner, report)
    else:
        with shared_client(config) as client:
            extract_all(selection.todo, config, store, settings, runner, report, client)
    report.steps["extract"] = time.monotonic() - clock

    report.status = "partial" if any(result.incomplete for result in results) else "ok"
    report.finished_at = now()
    files = write_report(report, store, config.path("metadata") / "reports")
    report.files = list(files)
    total = report.totals()
    store.runs.finish(
        run_id, report.status, found=total.found, processed=total.processed,
        failed=total.failed, staged=total.staged, report=str(files[0]),
    )  # fmt: skip
    runner.log(
        f"nightly run {run_id} {report.status}: {total.processed} processed, "
        f"{total.failed} failed, {total.staged} candidates staged; report {files[1]}"
    )
    return report


def extract_all(
    todo: list[SourceRef],
    config: Config,
    store: Store,
    settings: NightlySettings,
    runner: NightlyRunner,
    report: RunReport,
    client: HttpClient | None = None,
) -> None:
    progress = {"done": 0, "failed": 0}

    def on_done(ref: SourceRef, future: Any) -> None:
        outcome = outcome_of(ref, future, store)
        count_outcome(report, outcome)
        progress["done"] += 1
        progress["failed"] += outcome.status == "failed"
        detail = outcome.error if outcome.status == "failed" else (
            f"{len(outcome.staged)} staged, {outcome.already_staged} already staged"
        )  # fmt: skip
        runner.log(f"[{progress['done']}/{len(todo)}] {outcome.status} {ref.location}: {detail}")
        if runner.progress is not None:
            runner.progress(progress["done"], len(todo))

    if runner.submit is not None:
        dispatch(todo, settings.host_limit, runner.submit, on_done,
                 max_in_flight=settings.max_in_flight)  # fmt: skip
        return
    with (
        worker_processes(config, store, settings.processes) as processes,
        ThreadPoolExecutor(max_workers=max(1, settings.max_in_flight)) as pool,
    ):

        def submit(ref: SourceRef) -> FutureLike:
            retries, delay = settings.retries, settings.retry_delay_seconds
            return pool.submit(extract_with_retries, ref, config, store, retries=retries,
                               delay=delay, client=client, processes=processes)  # fmt: skip

        dispatch(todo, settings.host_limit, submit, on_done, max_in_flight=settings.max_in_flight)
