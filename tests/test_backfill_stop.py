"""Stopping a backfill: a batch no worker has taken is cancelled at once; one a worker has
taken (Pending: its process is starting) is set Cancelling, so that the server refuses the
Running state its engine then proposes and the worker stops the process. Against the
session's temporary Prefect server: the server's orchestration rules decide."""

from __future__ import annotations

import pytest

from flows.settings import apply_offline_defaults

apply_offline_defaults()

from prefect.client.orchestration import get_client  # noqa: E402
from prefect.client.schemas.objects import StateType  # noqa: E402
from prefect.states import Cancelled, Pending, Running  # noqa: E402

from pipeline.nightly.settings import NightlySettings  # noqa: E402


@pytest.fixture
def settings(prefect_harness: None) -> NightlySettings:
    return NightlySettings(backfill_pool="stop-test", backfill_deployment="stop-test")


def test_a_stopped_backfills_batches_do_not_start_after(settings: NightlySettings) -> None:
    from flows.backfill import TAG, PoolBatches, deploy_batches

    with get_client(sync_client=True) as client:
        deployment_id = deploy_batches(client, settings, settings.backfill_pool)
        waiting, taken = (
            client.create_flow_run_from_deployment(deployment_id, parameters={"sources": []})
            for _ in range(2)
        )
        client.set_flow_run_state(taken.id, Pending(), force=True)  # a worker took it
        batches = PoolBatches(client, settings, settings.backfill_pool, {}, [TAG], print)
        batches.runs = {waiting.id, taken.id}

        batches.stop()

        assert client.read_flow_run(waiting.id).state.type == StateType.CANCELLED
        assert client.read_flow_run(taken.id).state.type == StateType.CANCELLING
        # The taken batch's process starts: its engine proposes Running, and is refused.
        answer = client.set_flow_run_state(taken.id, Running())
        assert answer.status.value == "REJECT", answer
        assert client.read_flow_run(taken.id).state.type == StateType.CANCELLING


def test_a_run_forced_to_cancelled_may_still_start(settings: NightlySettings) -> None:
    """Why a taken batch is not forced to Cancelled: the server accepts Running after it.
    (If a Prefect release starts refusing this, Cancelled would do as well.)"""
    from flows.backfill import deploy_batches

    with get_client(sync_client=True) as client:
        deployment_id = deploy_batches(client, settings, settings.backfill_pool)
        run = client.create_flow_run_from_deployment(deployment_id, parameters={"sources": []})
        client.set_flow_run_state(run.id, Pending(), force=True)
        client.set_flow_run_state(run.id, Cancelled(), force=True)
        assert client.set_flow_run_state(run.id, Running()).status.value == "ACCEPT"
