"""The Prefect `nightly` flow: discover new sources, extract each one, report.

Run once with `make nightly` (`python -m flows.nightly`, flows/nightly/__main__.py); on a
schedule with `make serve` (flows/deploy.py). The work itself is
`pipeline.nightly.run_nightly`; this module makes each discovery step a task and each source
a task run, so the Prefect UI shows progress, retries and failures per source, and publishes
the run report as artifacts.

Per-host limits: the flow's dispatcher (pipeline/nightly/fanout.py) submits a source only while its
host has a free slot and its start rate allows, into a thread-pool task runner bounded by
`max_in_flight`. Prefect's global concurrency limits were not used for this: a blocked task
polls the server with a Retry-After that grows with the queue (up to 30 s), which left slots
idle and wasted threads on waiting tasks; bounded dispatch keeps every slot busy. For
several workers sharing one host, see docs/scaling.md.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from flows.settings import apply_offline_defaults

apply_offline_defaults()

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import (  # noqa: E402
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.futures import PrefectFuture  # noqa: E402
from prefect.runtime import flow_run, task_run  # noqa: E402
from prefect.states import Failed, State  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from pipeline.config import Config, load_config  # noqa: E402
from pipeline.nightly.discovery import SourceRef  # noqa: E402
from pipeline.nightly.ingest import SourceOutcome, TransientSourceError  # noqa: E402
from pipeline.nightly.report import RunReport, render_markdown  # noqa: E402
from pipeline.nightly.run import NightlyRunner, run_nightly, shared_client  # noqa: E402
from pipeline.nightly.settings import NightlySettings, load_nightly_settings  # noqa: E402
from pipeline.nightly.workers import (  # noqa: E402
    ExtractionProcesses,
    extract_here_or_on_worker,
    worker_processes,
)
from pipeline.store import Store  # noqa: E402


def run_as_task(name: str, step: Any, *args: Any, **kwargs: Any) -> Any:
    return task(step, name=name, cache_policy=NO_CACHE, persist_result=False)(*args, **kwargs)


def _retry_transient(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry a raised TransientSourceError only; a source's returned failure is final."""
    return isinstance(state.result(raise_on_failure=False), TransientSourceError)


def extract_one(
    ref: SourceRef,
    config: Config,
    store: Store,
    client: Any,
    retries: int,
    processes: ExtractionProcesses | None = None,
) -> SourceOutcome | State[SourceOutcome]:
    """One source; raises TransientSourceError (and Prefect retries) while attempts are left.

    A failed source (already recorded in the store by extract_source) ends its task run in a
    Failed state with the reason as its message, so the UI shows which sources failed; the
    outcome travels in the state's data and the flow run goes on (SourceFuture).
    """
    final = task_run.run_count > retries
    outcome = extract_here_or_on_worker(
        ref, config, store, processes, client=client, final_attempt=final
    )
    if outcome.status == "failed":
        return Failed(message=outcome.error, data=outcome)
    return outcome


class SourceFuture:
    """A source's task run future whose result is its SourceOutcome, also when it Failed.

    An exception that escaped the task (not a recorded source failure) is raised as before,
    for pipeline.nightly.run.outcome_of to record.
    """

    def __init__(self, future: PrefectFuture[SourceOutcome]) -> None:
        self.future = future

    def add_done_callback(self, fn: Any) -> None:
        self.future.add_done_callback(lambda _done: fn(self))

    def result(self) -> SourceOutcome:
        value = self.future.result(raise_on_failure=False)
        if isinstance(value, BaseException):
            raise value
        if not isinstance(value, SourceOutcome):
            raise TypeError(f"extract-source returned {type(value).__name__}, not an outcome")
        return value


def extract_task(settings: NightlySettings) -> Any:
    return task(
        extract_one,
        name="extract-source",
        task_run_name="{ref.kind} {ref.location}",
        retries=settings.retries,
        retry_delay_seconds=settings.retry_delay_seconds,
        retry_condition_fn=_retry_transient,
        cache_policy=NO_CACHE,
        persist_result=False,
    )


class ProgressArtifact:
    """A progress bar in the flow run's Artifacts tab, updated at most every 2 seconds."""

    def __init__(self, key: str = "nightly-progress") -> None:
        self.artifact_id = create_progress_artifact(0.0, key=key, description="Sources extracted")
        self.updated_at = 0.0

    def __call__(self, done: int, total: int) -> None:
        if done == total or time.monotonic() - self.updated_at > 2.0:
            update_progress_artifact(self.artifact_id, 100.0 * done / max(total, 1))
            self.updated_at = time.monotonic()


def publish_artifacts(report: RunReport) -> None:
    create_markdown_artifact(
        render_markdown(report), key="nightly-report", description="Nightly run report"
    )
    failures = [
        {"source": o.location, "route": o.route, "site": o.site, "reason": o.error}
        for o in report.failures
    ]
    if failures:
        create_table_artifact(failures, key="nightly-failures", description="Failed sources")
    if report.files:
        html = Path(report.files[-1]).resolve()
        create_link_artifact(
            html.as_uri(),
            link_text=html.name,
            key="nightly-report-html",
            description="Report with thumbnails of the new candidates",
        )


@flow(name="nightly", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=8))
def nightly_flow(
    db: str | None = None,
    max_sources: int | None = None,
    watchlist: str | None = None,
) -> dict[str, Any]:
    """Discover sources new since the last successful run, extract each, write the report."""
    config = load_config()
    settings = load_nightly_settings(config)
    if max_sources is not None:
        settings = replace(settings, max_sources=max_sources)
    if watchlist is not None:
        settings = replace(settings, watchlist=Path(watchlist))
    store = Store.open(db or config.path("staging_db"))
    logger = get_run_logger()
    extract = extract_task(settings)
    with (
        shared_client(config) as client,
        worker_processes(config, store, settings.processes) as processes,
    ):
        runner = NightlyRunner(
            run_step=run_as_task,
            submit=lambda ref: SourceFuture(
                extract.submit(ref, config, store, client, settings.retries, processes)
            ),
            log=logger.info,
            progress=ProgressArtifact(),
        )
        report = run_nightly(config, store, settings, runner=runner, flow_run_id=flow_run.id)
    publish_artifacts(report)
    return {**report.summary(), "files": [str(path) for path in report.files]}


def configured_flow(settings: NightlySettings) -> Any:
    """The flow with a task runner sized to the configured number of sources in flight."""
    return nightly_flow.with_options(
        task_runner=ThreadPoolTaskRunner(max_workers=max(1, settings.max_in_flight))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.nightly", description=__doc__)
    parser.add_argument("--db", help="staging store: a SQLite path or a database URL")
    parser.add_argument("--max-sources", type=int, help="extract at most this many sources")
    parser.add_argument("--watchlist", help="a watchlist file instead of the configured one")
    args = parser.parse_args(argv)
    settings = load_nightly_settings(load_config())
    summary = configured_flow(settings)(
        db=args.db, max_sources=args.max_sources, watchlist=args.watchlist
    )
    print(
        f"\nNightly run {summary['run_id']} {summary['status']}: found {summary['found']}, "
        f"processed {summary['processed']}, failed {summary['failed']}, "
        f"staged {summary['staged']} candidates.\nReport: {summary['files'][-1]}\n"
        "Review the new candidates with `make review`."
    )
    return 0
