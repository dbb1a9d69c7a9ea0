"""The Prefect `nightly` flow: one run in-process, and one through a process work pool and a
worker (the path several machines use). Two flow runs in one test harness."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.settings import apply_offline_defaults

apply_offline_defaults()

from prefect.client.orchestration import get_client  # noqa: E402

from flows.nightly import nightly_flow  # noqa: E402
from pipeline.config import Config  # noqa: E402
from pipeline.store import Store  # noqa: E402
from tests import phantoms  # noqa: E402
from tests.httpserver import LocalServer, Reply  # noqa: E402
from tests.pdfs import Figure, case_report_pdf, write_pdf  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


@pytest.fixture
def served_watchlist(
    tmp_path: Path,
    pipeline_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    server: LocalServer,
) -> Path:
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    for name in ("CROSSREF_QUERIES", "SITES_NAMES"):
        monkeypatch.setenv(f"PIPELINE_NIGHTLY_{name}", "")
    server.add("/paper.pdf", Reply.file(case_report_pdf(tmp_path / "paper.pdf")))
    watchlist = tmp_path / "watchlist.txt"
    watchlist.write_text(f"{server.url('/paper.pdf')}\n{server.url('/missing.pdf')}\n")
    return watchlist


def test_nightly_flow_extracts_reports_and_publishes_artifacts(
    prefect_harness: None,
    served_watchlist: Path,
    server: LocalServer,
    config: Config,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    # A source whose first try meets a 503 (the HTTP client's own retries off): the task
    # raises TransientSourceError, Prefect retries it, and it completes.
    xray = Figure(phantoms.chest_xray_frontal(256, seed=7), "Figure 1. Chest radiograph.", "jpeg")
    flaky_pdf = write_pdf(tmp_path / "flaky.pdf", [[xray]], title="Another case report")
    server.add("/flaky.pdf", Reply(503), Reply.file(flaky_pdf))
    with served_watchlist.open("a") as watchlist:
        watchlist.write(server.url("/flaky.pdf") + "\n")
    monkeypatch.setenv("PIPELINE_NIGHTLY_RUN_RETRY_DELAY_SECONDS", "0")
    monkeypatch.setenv("PIPELINE_HTTP_RETRIES", "0")

    state = nightly_flow(watchlist=str(served_watchlist), return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary["status"] == "ok" and summary["processed"] == 3
    assert summary["failed"] == 1 and summary["staged"] == 3
    assert server.hits("/flaky.pdf") == 2
    assert {row.classifier_modality for row in store.candidates()} == {"xray", "ct"}
    assert Path(summary["files"][1]).read_text().count("data:image/jpeg;base64,") == 3
    # The failure is recorded once against its source, as without Prefect.
    missing = next(row for row in store.sources() if row.location.endswith("/missing.pdf"))
    assert missing.status == "failed" and missing.attempts == 1 and "404" in missing.error

    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        keys = {artifact.key for artifact in client.read_artifacts()}
        assert client.read_flow_run(flow_run_id).state.is_completed()
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    assert {"nightly-report", "nightly-failures", "nightly-progress"} <= keys
    sources = {run.name: run for run in runs if run.task_key.startswith("extract_one")}
    states = {name.rsplit("/", 1)[-1]: run.state.type.value for name, run in sources.items()}
    assert states == {"paper.pdf": "COMPLETED", "missing.pdf": "FAILED", "flaky.pdf": "COMPLETED"}
    failed = next(run for run in sources.values() if run.name.endswith("/missing.pdf"))
    assert "404" in (failed.state.message or "")
    flaky = next(run for run in sources.values() if run.name.endswith("/flaky.pdf"))
    assert flaky.run_count == 2
    others = [run.state for run in runs if run not in sources.values()]
    assert others and all(other.is_completed() for other in others)


@pytest.mark.skipif(not shutil.which("prefect", path=str(Path(sys.executable).parent)),
                    reason="prefect CLI not installed")  # fmt: skip
def test_a_process_worker_runs_the_deployment(
    prefect_harness: None,
    served_watchlist: Path,
    config: Config,
    store: Store,
    pipeline_env: dict[str, str],
) -> None:
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL

    from flows.deploy import deploy_to_pool
    from pipeline.nightly.settings import load_nightly_settings

    prefect = str(Path(sys.executable).parent / "prefect")
    # The worker talks to the harness's server, as a worker on another machine would.
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_API_URL": PREFECT_API_URL.value()}
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="test-pool", type="process"))
    settings = load_nightly_settings(config)
    deploy_to_pool(settings, "test-pool", {"watchlist": str(served_watchlist)})
    flow_run = run_deployment(f"nightly/{settings.deployment}", timeout=0)
    worker = subprocess.run(
        [prefect, "worker", "start", "--pool", "test-pool", "--run-once"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run.id).state
    assert state is not None and state.is_completed(), worker.stdout[-2000:] + worker.stderr[-2000:]
    assert len(store.candidates()) == 2


def test_the_command_is_the_packages_main_so_workers_do_not_import_it() -> None:
    """`python -m flows.nightly` runs flows/nightly/__main__.py: multiprocessing imports a
    command's main module into each worker process unless it is a package's `__main__`
    (and with flows.nightly, Prefect: about 55 MB a worker)."""
    import multiprocessing.spawn

    import flows.nightly

    command = subprocess.run(
        [sys.executable, "-m", "flows.nightly", "--help"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert command.returncode == 0 and "python -m flows.nightly" in command.stdout
    assert (Path(flows.nightly.__file__).parent / "__main__.py").exists()
    before = dict(sys.modules)
    multiprocessing.spawn._fixup_main_from_name("flows.nightly.__main__")
    assert sys.modules == before  # left alone: nothing imported into the worker's __main__


def test_only_a_raised_transient_error_is_retried_and_a_crash_still_raises() -> None:
    from prefect.states import Failed

    from flows.nightly import SourceFuture, _retry_transient
    from pipeline.nightly.discovery import SourceRef
    from pipeline.nightly.ingest import SourceOutcome, TransientSourceError

    ref = SourceRef("pdf-url", "http://127.0.0.1/x.pdf", "watchlist", "127.0.0.1")
    outcome = SourceOutcome("s", "pdf-url", "http://127.0.0.1/x.pdf", "watchlist", "", "failed")
    assert _retry_transient(None, None, Failed(data=TransientSourceError(ref, "HTTP 503")))
    assert not _retry_transient(None, None, Failed(data=outcome, message="HTTP 404"))
    assert not _retry_transient(None, None, Failed(data=ValueError("bug")))

    class Done:
        def __init__(self, value: object) -> None:
            self.value = value

        def result(self, raise_on_failure: bool = True) -> object:
            assert not raise_on_failure
            return self.value

    assert SourceFuture(Done(outcome)).result() is outcome  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bug"):
        SourceFuture(Done(ValueError("bug"))).result()  # type: ignore[arg-type]
