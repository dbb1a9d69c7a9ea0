"""The store's rows as typed records; JSON only where they leave (CLI, audit log)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from pipeline.records import DATASET_COLUMNS, CandidateDraft


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time the store writes is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(kw_only=True)
class Candidate(CandidateDraft):
    """A staged row: the draft as staged (provenance, the classifier's answer, `fields` with
    the dataset's 29 columns as proposed or edited, None where empty) and its decision."""

    id: int
    status: str
    version: int
    created_at: datetime
    phash: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Candidate:
        data = dict(row._mapping)
        values = {name: data.pop(f"f_{name}") for name in DATASET_COLUMNS}
        known = {item.name for item in fields(cls)}
        kept = {key: value for key, value in data.items() if key in known}
        for key in ("classifier_reasons", "flags"):
            kept[key] = list(kept.get(key) or [])
        kept["evidence"] = dict(kept.get("evidence") or {})
        kept["bbox"] = tuple(kept["bbox"]) if kept.get("bbox") else None
        kept["created_at"] = aware(kept["created_at"])
        kept["decided_at"] = aware(kept.get("decided_at"))
        return cls(fields=values, **kept)

    def to_json(self) -> dict[str, Any]:
        return {key: _jsonable(value) for key, value in asdict(self).items()}


@dataclass
class SourceRecord:
    """A source the pipeline was pointed at and how its last attempt ended."""

    source_id: str
    kind: str
    location: str
    status: str  # "ok" or "failed"
    attempts: int
    last_run_at: datetime
    error: str | None = None
    images_found: int | None = None
    candidates_staged: int | None = None
    failed_step: str | None = None  # the extraction step a failure stopped at

    @classmethod
    def from_row(cls, row: Any) -> SourceRecord:
        data = dict(row._mapping)
        data["last_run_at"] = aware(data["last_run_at"])
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return {key: _jsonable(value) for key, value in asdict(self).items()}


@dataclass
class AuditEntry:
    """One change of a candidate: the row before and after, as JSON snapshots."""

    id: int
    candidate_id: int
    action: str
    actor: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: Any) -> AuditEntry:
        data = dict(row._mapping)
        data["at"] = aware(data["at"])
        return cls(**data)


@dataclass
class RunRecord:
    """One nightly (or backfill) run."""

    id: int
    started_at: datetime
    status: str  # "running", "ok" or "partial"
    finished_at: datetime | None = None
    since: datetime | None = None
    found: int | None = None
    processed: int | None = None
    failed: int | None = None
    staged: int | None = None
    report: str | None = None
    flow_run_id: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> RunRecord:
        data = dict(row._mapping)
        for key in ("started_at", "finished_at", "since"):
            data[key] = aware(data[key])
        return cls(**data)
