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
from tests.httpserver import LocalServer, Reply  # noqa: E402
from tests.pdfs import case_report_pdf  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def served_watchlist(
    tmp_path: Path, pipeline_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    for name in ("CROSSREF_QUERIES", "SITES_NAMES"):
        monkeypatch.setenv(f"PIPELINE_NIGHTLY_{name}", "")
    pdf = case_report_pdf(tmp_path / "paper.pdf")
    with LocalServer() as server:
        server.add("/paper.pdf", Reply.file(pdf))
        watchlist = tmp_path / "watchlist.txt"
        watchlist.write_text(f"{server.url('/paper.pdf')}\n{server.url('/missing.pdf')}\n")
        yield watchlist


def test_nightly_flow_extracts_reports_and_publishes_artifacts(
    prefect_harness: None, served_watchlist: Path, config: Config, store: Store
) -> None:
    summary = nightly_flow(watchlist=str(served_watchlist))
    assert summary["status"] == "ok" and summary["processed"] == 2
    assert summary["failed"] == 1 and summary["staged"] == 2
    assert {row["classifier_modality"] for row in store.candidates()} == {"xray", "ct"}
    assert Path(summary["files"][1]).read_text().count("data:image/jpeg;base64,") == 2
    with get_client(sync_client=True) as client:
        keys = {artifact.key for artifact in client.read_artifacts()}
    assert {"nightly-report", "nightly-failures", "nightly-progress"} <= keys


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
    from pipeline.nightly_settings import load_nightly_settings

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
