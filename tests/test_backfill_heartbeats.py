"""A backfill's batch whose worker machine died: Running on the server for ever, unless the
backfill sees that its heartbeats stopped (flows/heartbeats.py). A Prefect server of our own
with its services (the event persister stores the heartbeats), on a throwaway PostgreSQL."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.settings import apply_offline_defaults

apply_offline_defaults()

from prefect.client.orchestration import get_client  # noqa: E402
from prefect.client.schemas.actions import WorkPoolCreate  # noqa: E402
from prefect.client.schemas.objects import StateType  # noqa: E402
from prefect.events import emit_event  # noqa: E402
from prefect.states import Running  # noqa: E402
from prefect.workers.process import ProcessWorker  # noqa: E402

from flows.heartbeats import HEARTBEAT_EVENT, HEARTBEAT_VARIABLE, resource_id  # noqa: E402
from pipeline.nightly.settings import NightlySettings  # noqa: E402
from tests.postgres import needs_postgres  # noqa: E402
from tests.prefect_server import PREFECT, drain_prefect_workers, prefect_server  # noqa: E402

needs_prefect_cli = pytest.mark.skipif(not PREFECT.exists(), reason="prefect CLI not installed")
SILENCE = 6.0


@pytest.fixture
def server(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    fast = {"PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL": "0.5"}
    with prefect_server(postgres_url, tmp_path / "prefect", tmp_path / "srv.log", fast) as url:
        drain_prefect_workers()
        with temporary_settings(updates={PREFECT_API_URL: url}):
            try:
                yield url
            finally:
                drain_prefect_workers()


@needs_postgres
@needs_prefect_cli
def test_a_batch_that_stops_sending_heartbeats_is_marked_crashed(server: str) -> None:
    from flows.backfill import TAG, PoolBatches, deploy_batches

    settings = NightlySettings(
        backfill_pool="heartbeat-test", backfill_deployment="test", backfill_silence_seconds=SILENCE
    )
    said: list[str] = []
    with get_client(sync_client=True) as client:
        # an operator's pool, with an environment of its own for every flow run
        template = ProcessWorker.get_default_base_job_template()
        template["variables"]["properties"]["env"]["default"] = {"OPERATOR_SET": "yes"}
        client.create_work_pool(
            WorkPoolCreate(name=settings.backfill_pool, type="process", base_job_template=template)
        )
        deployment_id = deploy_batches(client, settings, settings.backfill_pool)
        job = client.read_deployment(deployment_id).job_variables
        assert job["env"] == {HEARTBEAT_VARIABLE: "30", "OPERATOR_SET": "yes"}

        # Two batches taken by workers (Running); no worker exists to run them.
        live, dead = (
            client.create_flow_run_from_deployment(deployment_id, parameters={"sources": []})
            for _ in range(2)
        )
        for run in (live, dead):
            client.set_flow_run_state(run.id, Running(), force=True)
        beating = threading.Event()
        stop = threading.Event()

        def heartbeats() -> None:
            resource = {"prefect.resource.id": resource_id(live.id)}
            while not stop.wait(1.0):
                if beating.is_set():
                    emit_event(HEARTBEAT_EVENT, resource=resource)

        # (with this context: the test's Prefect settings live in context variables)
        sender = threading.Thread(target=contextvars.copy_context().run, args=(heartbeats,))
        sender.start()
        try:
            batches = PoolBatches(client, settings, settings.backfill_pool, {}, [TAG], said.append)
            batches.silent.every = 1.0
            batches.runs = {live.id, dead.id}

            # No heartbeat ever reached the server: none is taken for dead.
            assert batches.finished(timeout=SILENCE + 3) == []
            assert any("no batch has sent a heartbeat yet" in line for line in said), said

            beating.set()
            ended = batches.finished(timeout=60)
            assert [run_id for run_id, _ in ended] == [dead.id], said
            result = ended[0][1]
            assert "Crashed" in result.error and "no heartbeat" in result.error
            assert client.read_flow_run(dead.id).state.type == StateType.CRASHED
            assert client.read_flow_run(live.id).state.type == StateType.RUNNING
            assert any("sent no heartbeat" in line for line in said)

            beating.clear()  # the live one's machine goes down too
            ended = batches.finished(timeout=60)
            assert [run_id for run_id, _ in ended] == [live.id], said
            assert client.read_flow_run(live.id).state.type == StateType.CRASHED
        finally:
            stop.set()
            sender.join()


def test_heartbeats_under_30_s_and_a_silence_under_three_heartbeats_are_refused(
    tmp_path: Path, pipeline_env: dict[str, str]
) -> None:
    from pipeline.config import ConfigError, load_config
    from pipeline.nightly.settings import load_nightly_settings

    nightly = tmp_path / "nightly.toml"
    nightly.write_text("[backfill]\nheartbeat_seconds = 30\nsilence_seconds = 60\n")
    with pytest.raises(ConfigError, match="silence_seconds"):
        load_nightly_settings(load_config(), nightly)
    nightly.write_text("[backfill]\nheartbeat_seconds = 30\nsilence_seconds = 90\n")
    assert load_nightly_settings(load_config(), nightly).backfill_silence_seconds == 90
    nightly.write_text("[backfill]\nheartbeat_seconds = 10\nsilence_seconds = 90\n")
    with pytest.raises(ConfigError, match="heartbeat_seconds"):
        load_nightly_settings(load_config(), nightly)
