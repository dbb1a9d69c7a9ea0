"""A backfill spread over several Prefect workers, with the hosts' limits shared by all.

    make backfill FROM=2020-01-01 UNTIL=2020-12-31 [QUERY=...] [MAX=n]
    python -m flows.backfill --from 2020-01-01 --until 2020-12-31 [--query Q] [--max-sources N]
                             [--db URL] [--pool backfill]

and on each worker machine (same repository path, `make setup`, PREFECT_API_URL set):

    PREFECT_WORKER_QUERY_SECONDS=2 prefect worker start --pool backfill --limit 1

Two flows (docs/scaling.md):
- `backfill`, where it is started: makes sure the process work pool, the `extract-batch`
  deployment and one global concurrency limit per configured host exist; stops flow runs
  left by a backfill that was stopped; then `pipeline.nightly.backfill.Backfill`: discovery
  window by window, and each batch of sources as one flow run of the deployment, submitted
  while the pool's workers have room. It reads each flow run's outcomes back from its
  `backfill-batch` artifact and writes the report (metadata/reports/backfill-<date>.md).
- `extract-batch`, on a worker: the sources on `max_in_flight` threads with the nightly's
  retries, every fetch inside a slot of its host's global concurrency limit
  (flows/limits.py), the outcomes published as the `backfill-batch` table artifact.

A flow run is one new Python process on the worker: about 4.5 s of CPU there and 3 s in the
server per run (8 runs of an empty flow, measured), against 0.1-0.3 s for a small paper. So
a flow run extracts a batch (`[backfill] batch_size`), not one source.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from dataclasses import asdict
from datetime import date
from typing import Any
from uuid import UUID

from flows.settings import apply_offline_defaults

apply_offline_defaults()

from prefect import flow, get_run_logger  # noqa: E402
from prefect.artifacts import create_markdown_artifact, create_table_artifact  # noqa: E402
from prefect.client.orchestration import get_client  # noqa: E402
from prefect.client.schemas.filters import (  # noqa: E402
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    WorkerFilter,
    WorkerFilterStatus,
)
from prefect.client.schemas.objects import StateType  # noqa: E402
from prefect.deployments import run_deployment  # noqa: E402
from prefect.runtime import flow_run  # noqa: E402
from prefect.settings import PREFECT_API_URL  # noqa: E402
from prefect.states import Cancelled, Cancelling, Crashed  # noqa: E402

from flows.heartbeats import HEARTBEAT_VARIABLE, SilentRuns  # noqa: E402
from flows.limits import SharedHostSlots, ensure_limits, host_limits, politeness  # noqa: E402
from flows.nightly import ProgressArtifact  # noqa: E402
from pipeline.config import REPO_ROOT, load_config  # noqa: E402
from pipeline.http import fetch_gate  # noqa: E402
from pipeline.nightly.backfill import (  # noqa: E402
    Backfill,
    BackfillRequest,
    BatchResult,
    extract_batch,
    outcome_rows,
    outcomes_from_rows,
)
from pipeline.nightly.discovery import SourceRef  # noqa: E402
from pipeline.nightly.report import render_markdown  # noqa: E402
from pipeline.nightly.settings import NightlySettings, load_nightly_settings  # noqa: E402
from pipeline.store import Store  # noqa: E402

BATCH_FLOW = "extract-batch"
ARTIFACT_KEY = "backfill-batch"
TAG = "backfill"
ACTIVE = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED,
          StateType.CANCELLING]  # fmt: skip
# Seconds a live worker takes at most to stop a cancelled flow run: its runner sends SIGTERM,
# then SIGKILL 30 s later; past that the process is gone and its sources may be queued again
# without being extracted twice.
STOP_WAIT = 45.0


# -- on a worker: one batch -------------------------------------------------------------------


@flow(name=BATCH_FLOW, log_prints=True, persist_result=False)
def extract_batch_flow(
    sources: list[dict[str, str]],
    db: str | None = None,
    extracted: str | None = None,
    hosts: dict[str, list[float]] | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Extract a batch of a backfill's sources; every fetch within its host's shared limit.

    The sources run on `threads` threads of this process, each with the nightly's retries
    on transient failures; they are not task runs: a task run costs about 45 ms of server
    CPU (its state changes go through the server's event pipeline), as much as a fifth of
    a small paper's extraction. The `backfill-batch` artifact lists each source's outcome.
    """
    if extracted:  # the backfill's folder for extracted images, which every worker sees
        os.environ["PIPELINE_PATHS_EXTRACTED"] = extracted
    config = load_config()
    settings = load_nightly_settings(config)
    store = Store.open(db or config.path("staging_db"))
    refs = [SourceRef(**source) for source in sources]
    logger = get_run_logger()
    limits = host_limits(hosts or politeness(settings))
    with (
        get_client(sync_client=True) as client,
        SharedHostSlots(client, limits) as slots,
        fetch_gate(slots),
    ):
        result = extract_batch(refs, config, store, settings, threads=threads)
    rows = [{**row, "worker": result.worker} for row in outcome_rows(result.outcomes)]
    create_table_artifact(
        rows or [{"worker": result.worker, "source_id": None}],
        key=ARTIFACT_KEY,
        description=f"Outcomes of one batch on worker {result.worker}",
    )
    failed = [outcome for outcome in result.outcomes if outcome.status == "failed"]
    for outcome in failed:
        logger.warning(f"{outcome.location}: {outcome.error}")
    stats = slots.stats
    logger.info(
        f"batch done on {result.worker}: {len(result.outcomes)} extracted ({len(failed)} "
        f"failed), {len(refs) - len(result.outcomes)} done already; host slots: "
        f"{stats.acquired} taken, {stats.reused} reused, {stats.refused} refused, "
        f"{stats.waited:.1f} s waited"
    )
    return {"worker": result.worker, "extracted": len(result.outcomes), "failed": len(failed)}


# -- where the backfill runs: batches as flow runs on the pool --------------------------------


def batch_deployment_name(settings: NightlySettings) -> str:
    return f"{BATCH_FLOW}/{settings.backfill_deployment}"


def deploy_batches(client: Any, settings: NightlySettings, pool: str) -> UUID:
    """The process work pool (if missing) and the extract-batch deployment on it, whose runs
    a worker executes from this repository (checked out at the same path on every machine),
    each sending a heartbeat every `[backfill] heartbeat_seconds` (flows/heartbeats.py)."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    source = extract_batch_flow.from_source(
        str(REPO_ROOT), entrypoint="flows/backfill.py:extract_batch_flow"
    )
    template = client.read_work_pool(pool).base_job_template
    pool_env = template.get("variables", {}).get("properties", {}).get("env", {}).get("default")
    env = {**(pool_env or {}), HEARTBEAT_VARIABLE: str(settings.backfill_heartbeat_seconds)}
    return source.deploy(
        name=settings.backfill_deployment,
        work_pool_name=pool,
        job_variables={"env": env},  # the pool's own env, and the heartbeat
        tags=[TAG],
        print_next_steps=False,
        ignore_warnings=True,
    )


class PoolBatches:
    """pipeline.nightly.backfill.BatchRunner over a process work pool: one flow run of the
    extract-batch deployment per batch; room for one per online worker and one more waiting,
    so that the first worker to finish its batch finds the next one at once (one waiting per
    worker would fix too early which worker gets which batch, and lengthen the end)."""

    def __init__(
        self,
        client: Any,
        settings: NightlySettings,
        pool: str,
        parameters: dict[str, Any],
        tags: list[str],
        log: Any,
    ) -> None:
        self.client = client
        self.deployment = batch_deployment_name(settings)
        self.pool = pool
        self.parameters = parameters
        self.tags = tags
        self.log = log
        self.runs: set[UUID] = set()
        self.stopping: dict[UUID, float] = {}  # adopted runs being cancelled, since when
        self.silent = SilentRuns(client, settings.backfill_silence_seconds, log)
        self._room: tuple[float, int] = (0.0, 1)
        self._said_no_workers = False

    def room(self) -> int:
        checked_at, room = self._room
        if time.monotonic() - checked_at > 5.0:
            online = self.client.read_workers_for_work_pool(
                self.pool,
                worker_filter=WorkerFilter(status=WorkerFilterStatus(any_=["ONLINE"])),
            )
            room = len(online) + 1
            if not online and not self._said_no_workers:
                self.log(f"no worker online on pool {self.pool!r}: start one with "
                         f"`prefect worker start --pool {self.pool} --limit 1`")  # fmt: skip
            self._said_no_workers = not online
            self._room = (time.monotonic(), room)
        return room

    def submit(self, refs: list[SourceRef]) -> UUID:
        run = run_deployment(
            self.deployment,
            parameters={**self.parameters, "sources": [asdict(ref) for ref in refs]},
            timeout=0,
            tags=self.tags,
        )
        self.runs.add(run.id)
        return run.id

    def finished(self, timeout: float) -> list[tuple[Any, BatchResult]]:
        deadline = time.monotonic() + timeout
        while self.runs:
            runs = self._read(list(self.runs))
            for run in runs:
                since = self.stopping.get(run.id)
                if since is not None and time.monotonic() - since > STOP_WAIT and not (
                    run.state is not None and run.state.is_final()
                ):
                    self.log(f"flow run {run.name} did not stop within {STOP_WAIT:.0f} s: "
                             "its worker is gone; marking it cancelled")  # fmt: skip
                    run.state = Cancelled(message="its worker did not answer the cancellation")
                    self.client.set_flow_run_state(run.id, run.state, force=True)
            for run in self.silent.among(r for r in runs if r.id not in self.stopping):
                silence = self.silent.silence.total_seconds()
                self.log(f"flow run {run.name} sent no heartbeat for {silence:.0f} s: its worker "
                         "machine is gone; marking it crashed")  # fmt: skip
                # not forced: a run that ended meanwhile keeps its own final state
                self.client.set_flow_run_state(
                    run.id, Crashed(message=f"no heartbeat from its worker for {silence:.0f} s")
                )
            ended = [run for run in runs if run.state is not None and run.state.is_final()]
            if ended or time.monotonic() >= deadline:
                self.runs.difference_update(run.id for run in ended)
                return [(run.id, self._result(run)) for run in ended]
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        return []

    def _result(self, run: Any) -> BatchResult:
        artifacts = self.client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]),
                key=ArtifactFilterKey(any_=[ARTIFACT_KEY]),
            )
        )
        state = run.state
        error = None if state.is_completed() else f"flow run {run.name} {state.name}: " + (
            state.message or "no message"
        )  # fmt: skip
        if not artifacts:
            return BatchResult(worker="(none: the flow run ended early)", error=error)
        data = artifacts[0].data
        rows = json.loads(data) if isinstance(data, str) else data
        rows = [row for row in rows if row.get("source_id")]
        worker = (rows[0]["worker"] if rows else None) or "(unknown)"
        return BatchResult(worker=worker, outcomes=outcomes_from_rows(rows), error=error)

    def stop(self) -> None:
        """Cancel this backfill's flow runs still waiting or running."""
        for run in self._read(list(self.runs)):
            if run.state is not None and not run.state.is_final():
                self.client.set_flow_run_state(run.id, _cancel_state(run), force=True)

    def adopt(self) -> list[tuple[Any, list[SourceRef]]]:
        """Flow runs of the deployment that a stopped or killed backfill left waiting or
        running: cancelled (one a worker has taken or is running through that worker, which
        stops its process: _cancel_state), and followed until they end. One still not ended
        after STOP_WAIT seconds has no worker left (it was killed): it is marked cancelled
        here."""
        deployment = self.client.read_deployment_by_name(self.deployment)
        runs = self.client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=ACTIVE))
            ),
        )
        adopted = []
        for run in runs:
            self.client.set_flow_run_state(run.id, _cancel_state(run), force=True)
            self.runs.add(run.id)
            self.stopping[run.id] = time.monotonic()
            refs = [SourceRef(**source) for source in run.parameters.get("sources", [])]
            adopted.append((run.id, refs))
        return adopted

    def _read(self, run_ids: list[UUID]) -> list[Any]:
        if not run_ids:
            return []
        return self.client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids))
        )


def _cancel_state(run: Any) -> Any:
    """Cancelling for a batch a worker has taken (Pending: its process is starting) or is
    running: the worker stops the process and marks it Cancelled, and meanwhile the server
    refuses the Running its engine proposes. Forced to Cancelled instead, a Pending batch
    would start all the same (the server lets a run leave Cancelled for Running) and fetch
    its sources while a resumed backfill queues them again. Cancelled at once for a batch
    no worker has taken.

    Left: a batch set Cancelling in the moment between a worker taking it and recording its
    process's pid is marked Cancelled by that worker (no process to stop yet), and may then
    start; the next backfill adopts it (Running) and cancels it through its worker. A
    Pending batch whose worker is gone stays Cancelling until adopt() gives up after
    STOP_WAIT."""
    taken = (StateType.PENDING, StateType.RUNNING, StateType.CANCELLING)
    if run.state is not None and run.state.type in taken:
        return Cancelling(message="backfill stopped")
    return Cancelled(message="backfill stopped before this batch started")


@flow(name="backfill", log_prints=True, persist_result=False)
def backfill_flow(
    start: str,
    until: str,
    query: str | None = None,
    max_sources: int | None = None,
    db: str | None = None,
    pool: str | None = None,
) -> dict[str, Any]:
    """Discover works published from `start` to `until` and extract them on the pool."""
    config = load_config()
    settings = load_nightly_settings(config)
    logger = get_run_logger()
    pool = pool or settings.backfill_pool
    request = BackfillRequest(date.fromisoformat(start), date.fromisoformat(until),
                              query=query or None, max_sources=max_sources)  # fmt: skip
    db = db or str(config.path("staging_db"))
    store = Store.open(db)
    if "://" not in db:
        logger.warning(f"the staging store is a file ({db}): workers on other machines cannot "
                       "reach it; give a PostgreSQL URL (--db or PIPELINE_DB, see "
                       "docs/scaling.md)")  # fmt: skip
    with get_client(sync_client=True) as client:
        names = ensure_limits(client, settings)
        logger.info(f"global concurrency limits: {', '.join(names) or '(none configured)'}")
        deploy_batches(client, settings, pool)
        hosts = politeness(settings)
        parameters = {
            "db": db,
            "extracted": str(config.path("extracted").resolve()),
            "hosts": hosts,
            "threads": settings.max_in_flight,
        }
        runner = PoolBatches(client, settings, pool, parameters, [TAG], logger.info)
        backfill = Backfill(config, store, settings, request, runner, log=logger.info,
                            progress=ProgressArtifact("backfill-progress"))  # fmt: skip
        # Discovery's own requests (Crossref, the case sites) count against the hosts too.
        with SharedHostSlots(client, host_limits(hosts)) as slots, fetch_gate(slots):
            report = backfill.run(flow_run_id=flow_run.id)
    create_markdown_artifact(render_markdown(report), key="backfill-report",
                             description="Backfill report")  # fmt: skip
    workers = {name: asdict(counts) for name, counts in report.workers.items()}
    return {**report.summary(), "files": [str(path) for path in report.files], "workers": workers}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flows.backfill",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--from", dest="start", required=True, help="first publication date")
    parser.add_argument("--until", required=True, help="last publication date (included)")
    parser.add_argument("--query", help="one Crossref query instead of the configured ones")
    parser.add_argument("--max-sources", type=int, help="extract at most this many sources")
    parser.add_argument("--db", help="staging store URL every worker reaches (PostgreSQL)")
    parser.add_argument("--pool", help="process work pool (default: [backfill] pool)")
    args = parser.parse_args(argv)
    try:
        for value in (args.start, args.until):
            date.fromisoformat(value)
    except ValueError as exc:
        print(f"backfill: dates are YYYY-MM-DD ({exc})", file=sys.stderr)
        return 2
    if not PREFECT_API_URL.value():
        print("a backfill needs a Prefect server that its workers reach: start one with "
              "`make server` (or set PREFECT_API_URL), then run this again",
              file=sys.stderr)  # fmt: skip
        return 2
    db = args.db or os.environ.get("PIPELINE_DB")
    summary = backfill_flow(start=args.start, until=args.until, query=args.query,
                            max_sources=args.max_sources, db=db, pool=args.pool)  # fmt: skip
    workers = ", ".join(f"{name}: {counts['processed']}"
                        for name, counts in summary["workers"].items())  # fmt: skip
    print(
        f"\nBackfill run {summary['run_id']} {summary['status']}: found {summary['found']}, "
        f"processed {summary['processed']} ({workers or 'no worker'}), failed "
        f"{summary['failed']}, staged {summary['staged']} candidates.\n"
        f"Report: {summary['files'][-1]}\nRun the same command again to resume."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
