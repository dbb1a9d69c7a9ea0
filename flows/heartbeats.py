"""Which of a backfill's batch flow runs lost their worker machine.

A worker machine that dies (power, network, the OOM killer taking the worker too) leaves
its flow run Running on the server: nothing else ever ends it. Each batch's process sends a
`prefect.flow-run.heartbeat` event every `[backfill] heartbeat_seconds` (the deployment sets
PREFECT_FLOWS_HEARTBEAT_FREQUENCY in its environment; Prefect accepts no less than 30 s). A
run that has been Running or Pending longer than `[backfill] silence_seconds` with no
heartbeat within that time is gone; the backfill marks it Crashed (not forced: a run that
ended meanwhile keeps its state), and what it did not finish is queued again
(pipeline/nightly/backfill.py).

Silence counts only once a heartbeat of any batch has reached the server: a server that
stores no events (its event persister off), or a deployment made before heartbeats, would
otherwise make every batch look dead. Until then the backfill says so once and marks none.

The times compared are the worker's (a state's timestamp, a heartbeat's `occurred`) against
this machine's clock: `silence_seconds` must cover the clocks' skew as well as a few missed
heartbeats.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect.client.schemas.objects import StateType
from prefect.events.filters import (
    EventFilter,
    EventNameFilter,
    EventOccurredFilter,
    EventResourceFilter,
)

HEARTBEAT_EVENT = "prefect.flow-run.heartbeat"
HEARTBEAT_VARIABLE = "PREFECT_FLOWS_HEARTBEAT_FREQUENCY"
PAGE = 50  # the most the server returns at once


def resource_id(run_id: Any) -> str:
    return f"prefect.flow-run.{run_id}"


def _since(run: Any) -> datetime | None:
    """When the run last became Pending or Running (None in any other state)."""
    state = run.state
    if state is None or state.type not in (StateType.PENDING, StateType.RUNNING):
        return None
    if state.type == StateType.RUNNING and run.start_time is not None:
        return max(run.start_time, state.timestamp)
    return state.timestamp


class SilentRuns:
    """Finds runs with no heartbeat for `silence` seconds, looking at most every `every`."""

    def __init__(
        self,
        client: Any,
        silence: float,
        log: Callable[[str], object],
        every: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.silence = timedelta(seconds=silence)
        self.log = log
        self.every = every
        self.clock = clock
        self.heard_any = False
        self._looked_at = float("-inf")
        self._said_unheard = False

    def among(self, runs: Iterable[Any]) -> list[Any]:
        """The runs (Pending or Running for longer than the silence) that sent no heartbeat
        within it."""
        if time.monotonic() - self._looked_at < self.every:
            return []
        self._looked_at = time.monotonic()
        now = self.clock()
        active = [(run, since) for run in runs if (since := _since(run)) is not None]
        if not active:
            return []
        heard = self._heard_from([run.id for run, _ in active], now - self.silence)
        self.heard_any = self.heard_any or bool(heard)
        silent = [run for run, since in active
                  if now - since > self.silence and resource_id(run.id) not in heard]  # fmt: skip
        if silent and not self.heard_any:
            if not self._said_unheard:
                self.log("no batch has sent a heartbeat yet (does the Prefect server store "
                         "events?): a batch whose worker machine dies stays Running until the "
                         "backfill is stopped and resumed")  # fmt: skip
                self._said_unheard = True
            return []
        return silent

    def _heard_from(self, run_ids: list[Any], since: datetime) -> set[str]:
        """Resource ids of the runs with a heartbeat since `since`."""
        page = self.client.read_events(
            filter=EventFilter(
                occurred=EventOccurredFilter(since=since, until=self.clock() + self.silence),
                event=EventNameFilter(name=[HEARTBEAT_EVENT]),
                resource=EventResourceFilter(
                    id=[resource_id(run_id) for run_id in run_ids], distinct=True
                ),
            ),
            limit=PAGE,
        )
        heard = {event.resource.id for event in page.events}
        while page.next_page and len(heard) < len(run_ids):
            page = self.client.read_events_page(page.next_page)
            heard |= {event.resource.id for event in page.events}
        return heard
