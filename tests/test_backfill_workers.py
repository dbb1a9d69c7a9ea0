"""A backfill over two Prefect process workers: a Prefect server, PostgreSQL for the staging
store, PDF hosts that answer slowly, all on 127.0.0.1 and started here. One worker is killed
part-way and the backfill stopped; resumed, it finishes, with each source extracted once,
no host ever over its limits, and failures recorded with their reasons."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.settings import apply_offline_defaults

apply_offline_defaults()

from prefect.client.orchestration import get_client  # noqa: E402

from pipeline.store import Store  # noqa: E402
from tests.literature import Literature, numbered_pdf, papers  # noqa: E402
from tests.pdfs import case_report_pdf  # noqa: E402
from tests.postgres import needs_postgres, new_database  # noqa: E402
from tests.prefect_server import PREFECT, drain_prefect_workers, prefect_server  # noqa: E402
from tests.processes import alive, descendants  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
START, UNTIL = date(2020, 3, 1), date(2020, 3, 31)
POOL = "backfill-test"
CONCURRENCY, RATE = 2, 5.0  # per PDF host: a slot starts once per 0.4 s

pytestmark = [
    needs_postgres,
    pytest.mark.skipif(not PREFECT.exists(), reason="prefect CLI not installed"),
]


def nightly_toml(path: Path, literature: Literature) -> Path:
    hosts = "".join(f'[hosts."{host.netloc}"]\nconcurrency = {CONCURRENCY}\nrate = {RATE}\n'
                    for host in literature.hosts)  # fmt: skip
    path.write_text(f"""
[run]
max_in_flight = 4
retries = 0
[crossref]
queries = ["COVID-19 chest radiograph"]
rows = 5
[sites]
names = []
[backfill]
window_days = 8
batch_size = 3
pool = "{POOL}"
deployment = "test"
[hosts.default]
concurrency = 2
rate = 5.0
{hosts}""")
    return path


class Processes:
    """Subprocesses in sessions of their own (so a kill takes their children too), with
    their output in files for when a test fails."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.started: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *command: str) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        self.started[name] = process
        return process

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        return self.start(name, str(PREFECT), "worker", "start", "--pool", POOL, "--limit", "1",
                          "--name", name)  # fmt: skip

    def kill(self, name: str) -> None:
        """SIGKILL the process and everything it started (a worker starts each flow run as a
        process in a session of its own), as when its machine goes down."""
        process = self.started[name]
        for pid in [process.pid, *descendants(process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=30)

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                         for path in sorted(self.folder.glob("*.log")))  # fmt: skip

    def close(self) -> None:
        for name in self.started:
            self.kill(name)


@pytest.fixture
def own_prefect_server(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    """A Prefect server with its services (not the session's ephemeral one): the repossessor
    takes back, each second here, the host slots a killed worker's flow run held."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    settings = {"PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": "1"}
    with prefect_server(postgres_url, tmp_path / "prefect", tmp_path / "srv.log", settings) as url:
        drain_prefect_workers()  # the session's, bound to its server
        with temporary_settings(updates={PREFECT_API_URL: url}):
            try:
                yield url
            finally:
                drain_prefect_workers()  # ours, while our server still answers


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    folder = tmp_path / "logs"
    folder.mkdir()
    running = Processes(folder, {})
    yield running
    running.close()


def running_batches(client: Any) -> list[Any]:
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    return client.read_flow_runs(flow_run_filter=FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING]))
    ))  # fmt: skip


def wait_for(condition: Any, timeout: float, what: str, processes: Processes) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{processes.logs()}")


def max_starts_within(starts: list[float], span: float) -> int:
    starts = sorted(starts)
    return max((sum(1 for later in starts[i:] if later - start < span)
                for i, start in enumerate(starts)), default=0)  # fmt: skip


def test_two_workers_share_the_hosts_and_a_killed_workers_sources_are_picked_up_on_resume(
    own_prefect_server: str,
    postgres_url: str,
    pipeline_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    processes: Processes,
) -> None:
    import flows.backfill
    from flows.backfill import backfill_flow

    db = new_database(postgres_url, "backfill_workers")
    items = papers(18, START, UNTIL, hosts=3, missing=[7])
    pdf = numbered_pdf(case_report_pdf(tmp_path / "paper.pdf").read_bytes())
    with Literature(items, pdf, hosts=3, latency=0.3) as literature:
        env = {
            "PIPELINE_NIGHTLY_CONFIG": str(nightly_toml(tmp_path / "nightly.toml", literature)),
            "PIPELINE_CROSSREF_URL": literature.crossref.base_url,
            "PIPELINE_UNPAYWALL_URL": literature.crossref.base_url,  # answers 404
            "PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
            "PIPELINE_HTTP_RETRIES": "0",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        processes.env = {**os.environ, **env, "PYTHONPATH": str(REPO),
                         "PREFECT_API_URL": own_prefect_server,
                         "PREFECT_WORKER_QUERY_SECONDS": "1"}  # fmt: skip
        for name in ("worker-a", "worker-b"):
            processes.worker(name)
        processes.start("backfill-1", sys.executable, "-m", "flows.backfill",
                        "--from", str(START), "--until", str(UNTIL), "--db", db)  # fmt: skip
        store = Store.open(db)

        # Kill worker A (and the flow run it is running) once some sources are done.
        worker_a = processes.started["worker-a"]
        with get_client(sync_client=True) as client:

            def a_batch_under_way() -> Any:
                done = {row.location for row in store.sources()}
                if len(done) < 4:
                    return None
                mine = {str(pid) for pid in descendants(worker_a.pid)}
                return next((run for run in running_batches(client)
                             if run.infrastructure_pid in mine
                             and {s["location"] for s in run.parameters["sources"]} - done),
                            None)  # fmt: skip

            killed = wait_for(a_batch_under_way, 150, "worker A to run a batch", processes)
            processes.kill("worker-a")
            processes.kill("backfill-1")  # stopped, as an operator would
        killed_at = datetime.now(UTC)
        assert not alive(int(killed.infrastructure_pid))  # its flow run went down with it
        killed_sources = {source["location"] for source in killed.parameters["sources"]}
        done_before = {row.location for row in store.sources() if row.status == "ok"}
        # What the killed flow run had not finished (it may, rarely, have finished its last
        # source between being seen under way and the kill: then nothing is left to pick up).
        left = killed_sources - done_before
        assert done_before

        # Resume with worker B and a new worker C: the same command.
        processes.worker("worker-c")
        monkeypatch.setattr(flows.backfill, "STOP_WAIT", 5.0)
        summary = backfill_flow(start=str(START), until=str(UNTIL), db=db)

    assert summary["status"] == "backfill-ok", processes.logs()
    rows = {row.location: row for row in store.sources()}
    assert set(rows) == {paper.doi for paper in items}
    for paper in items:
        row = rows[paper.doi]
        if paper.missing:  # failed, with its reason, on each run that tried it
            assert row.status == "failed" and "HTTP 404" in row.error
            continue
        assert row.status == "ok" and row.attempts == 1, row  # extracted once
        # Fetched once, or twice when its batch was killed or stopped mid-way.
        assert literature.hits(paper) == 1 or (
            literature.hits(paper) == 2 and paper.doi not in done_before
        ), (paper, literature.hits(paper))
    for source in left:  # the killed worker's sources, picked up on resume
        assert rows[source].last_run_at > killed_at
        assert rows[source].status == "ok" or "404" in rows[source].error
    # No host ever saw more than its limits: requests at once, and starts per 0.4 s.
    for host in literature.hosts:
        starts = [start for start, _end in host.spans]
        assert host.peak <= CONCURRENCY, host.netloc
        # (a request may reach the host up to 0.15 s late: a busy machine)
        assert max_starts_within(starts, CONCURRENCY / RATE - 0.15) <= CONCURRENCY, host.netloc
    # Crossref (discovery and each DOI's record), under [hosts.default]: 2 at once.
    assert literature.crossref.peak <= 2
    # One report, with what each worker did and the failure's reason.
    report = Path(summary["files"][0]).read_text()
    assert set(summary["workers"]) == {"worker-b", "worker-c"}, report
    assert "Sources per worker" in report and "HTTP 404" in report
    # (worker B may finish its own batch between the kill and the resume: not counted here)
    assert summary["processed"] >= len(left)
