"""Bookkeeping of nightly runs: when each started and ended, and how.

The start of the last successful run is where the next run's discovery begins (Crossref's
from-index-date). A run counts as successful ("ok") only when every discovery route
answered; sources that failed are retried through the `sources` table, not by moving this
date back. A run killed mid-way stays "running" and is ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from pipeline.store.candidates import now
from pipeline.store.rows import RunRecord, aware
from pipeline.store.schema import runs

# A backfill (pipeline/nightly/backfill.py) is recorded here too, under statuses of its own:
# it searched a range of dates, not everything since the last run, so it never moves the
# nightly's start ("ok" only does).
RUN_STATUSES = ("running", "ok", "partial", "backfill-ok", "backfill-partial", "backfill-stopped")


class Runs:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(
        self,
        *,
        since: datetime | None,
        started_at: datetime | None = None,
        flow_run_id: str | None = None,
    ) -> int:
        values = {"started_at": started_at or now(), "status": "running", "since": since}
        with self.engine.begin() as conn:
            result = conn.execute(insert(runs).values(flow_run_id=flow_run_id, **values))
            return int(result.inserted_primary_key[0])

    def finish(self, run_id: int, status: str, **counts: Any) -> None:
        if status not in RUN_STATUSES:
            raise ValueError(f"run status must be one of {RUN_STATUSES}, not {status!r}")
        with self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(status=status, finished_at=now(), **counts)
            )

    def last_successful_start(self) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(runs.c.started_at)
                .where(runs.c.status == "ok")
                .order_by(runs.c.started_at.desc())
                .limit(1)
            ).scalar_one_or_none()
        return aware(value)

    def history(self, limit: int = 20) -> list[RunRecord]:
        """The newest runs first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.id.desc()).limit(limit))
            return [RunRecord.from_row(row) for row in rows]
