"""Bookkeeping of nightly runs: when each started and ended, and how.

The start of the last successful run is where the next run's discovery begins (Crossref's
from-index-date). A run counts as successful ("ok") only when every discovery route
answered; sources that failed are retried through the `sources` table, not by moving this
date back. A run killed mid-way stays "running" and is ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Integer, String, Table, Text, insert, select, update

from pipeline.store import Store, metadata_obj, now

RUN_STATUSES = ("running", "ok", "partial")

runs = Table(
    "runs",
    metadata_obj,
    Column("id", Integer, primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False, index=True),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),
    Column("since", DateTime(timezone=True)),
    Column("found", Integer),
    Column("processed", Integer),
    Column("failed", Integer),
    Column("staged", Integer),
    Column("report", Text),
    Column("flow_run_id", String(64)),
)


def ensure_runs_table(store: Store) -> None:
    """Create the table on stores opened before this module was imported (idempotent)."""
    metadata_obj.create_all(store.engine, tables=[runs])


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every time the pipeline writes is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def start_run(
    store: Store,
    *,
    since: datetime | None,
    started_at: datetime | None = None,
    flow_run_id: str | None = None,
) -> int:
    ensure_runs_table(store)
    values = {"started_at": started_at or now(), "status": "running", "since": since}
    with store.engine.begin() as conn:
        result = conn.execute(insert(runs).values(flow_run_id=flow_run_id, **values))
        return int(result.inserted_primary_key[0])


def finish_run(store: Store, run_id: int, status: str, **counts: Any) -> None:
    if status not in RUN_STATUSES:
        raise ValueError(f"run status must be one of {RUN_STATUSES}, not {status!r}")
    with store.engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(status=status, finished_at=now(), **counts)
        )


def last_successful_start(store: Store) -> datetime | None:
    ensure_runs_table(store)
    with store.engine.connect() as conn:
        value = conn.execute(
            select(runs.c.started_at)
            .where(runs.c.status == "ok")
            .order_by(runs.c.started_at.desc())
            .limit(1)
        ).scalar_one_or_none()
    return _aware(value)


def run_history(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    ensure_runs_table(store)
    with store.engine.connect() as conn:
        rows = conn.execute(select(runs).order_by(runs.c.id.desc()).limit(limit))
        history = [dict(row._mapping) for row in rows]
    for row in history:
        for key in ("started_at", "finished_at", "since"):
            row[key] = _aware(row[key])
    return history
