"""Reading and changing candidate rows inside a transaction; every change is audited.

Only the Store calls these (with a connection it opened): they are how the store keeps
its one rule, that no candidate changes without a version bump and an audit row.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from pipeline.errors import PipelineError
from pipeline.records import DATASET_COLUMNS, CandidateDraft
from pipeline.store.rows import Candidate
from pipeline.store.schema import audit_log, candidates, dataset_images


class ConflictError(PipelineError):
    """Someone else changed the candidate since it was read."""

    def __init__(self, candidate_id: int, current: Candidate) -> None:
        who = current.decided_by or "someone"
        at = current.decided_at.isoformat() if current.decided_at else None
        super().__init__(
            f"candidate {candidate_id} was changed by {who} at {at} "
            f"(now {current.status}); reload it before deciding"
        )
        self.candidate_id = candidate_id
        self.current = current


class UnknownCandidateError(PipelineError):
    pass


def now() -> datetime:
    return datetime.now(UTC)


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def column_text(value: Any) -> str | None:
    """A dataset value as the text the store keeps (whole floats without '.0')."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def draft_values(draft: CandidateDraft) -> dict[str, Any]:
    return {
        "source_id": draft.source_id,
        "source_kind": draft.source_kind,
        "image_sha256": draft.image_sha256,
        "image_file": draft.image_file,
        "image_index": draft.image_index,
        "page": draft.page,
        "xref": draft.xref,
        "bbox": list(draft.bbox) if draft.bbox else None,
        "panel": draft.panel,
        "caption": draft.caption,
        "classifier_modality": draft.classifier_modality,
        "classifier_view": draft.classifier_view,
        "classifier_confidence": draft.classifier_confidence,
        "classifier_reasons": draft.classifier_reasons,
        "evidence": draft.evidence,
        "flags": draft.flags,
        "status": "pending",
        "version": 1,
        "created_at": now(),
        **{f"f_{name}": column_text(draft.fields.get(name)) for name in DATASET_COLUMNS},
    }


def field_values(fields: dict[str, Any]) -> dict[str, Any]:
    """Dataset columns as the store's `f_` column values."""
    unknown = set(fields) - set(DATASET_COLUMNS)
    if unknown:
        raise ValueError(f"unknown dataset columns: {', '.join(sorted(unknown))}")
    return {f"f_{name}": column_text(value) for name, value in fields.items()}


def staged_id(conn: Connection, source_id: str, image_sha256: str) -> int | None:
    return conn.execute(
        select(candidates.c.id).where(
            candidates.c.source_id == source_id, candidates.c.image_sha256 == image_sha256
        )
    ).scalar_one_or_none()


def read_candidate(conn: Connection, candidate_id: int) -> Candidate:
    row = conn.execute(select(candidates).where(candidates.c.id == candidate_id)).first()
    if row is None:
        raise UnknownCandidateError(f"no candidate with id {candidate_id}")
    return Candidate.from_row(row)


def write_candidate(
    conn: Connection,
    candidate_id: int,
    values: dict[str, Any],
    *,
    action: str,
    actor: str,
    expected_version: int | None = None,
    before: Candidate | None = None,
) -> Candidate:
    """Change one candidate and log it, unless someone changed it first.

    `expected_version` is the version the reviewer saw; the update itself is conditional
    on the version read here, so two writers racing cannot both win.
    """
    before = before or read_candidate(conn, candidate_id)
    if expected_version is not None and before.version != expected_version:
        raise ConflictError(candidate_id, before)
    result = conn.execute(
        update(candidates)
        .where(candidates.c.id == candidate_id, candidates.c.version == before.version)
        .values(**values, version=before.version + 1)
    )
    if result.rowcount != 1:
        raise ConflictError(candidate_id, read_candidate(conn, candidate_id))
    after = read_candidate(conn, candidate_id)
    conn.execute(
        insert(audit_log).values(
            candidate_id=candidate_id,
            action=action,
            actor=actor,
            at=now(),
            before=before.to_json(),
            after=after.to_json(),
        )
    )
    return after


def next_patientid(conn: Connection) -> int:
    """One more than the highest numeric patient id in the dataset and the staging store."""
    used = [
        *conn.execute(
            select(candidates.c.f_patientid).where(candidates.c.f_patientid.is_not(None))
        ).scalars(),
        *conn.execute(
            select(dataset_images.c.patientid).where(dataset_images.c.patientid.is_not(None))
        ).scalars(),
    ]
    return max((int(value) for value in used if str(value).isdigit()), default=0) + 1


def final_identity(conn: Connection, candidate: Candidate) -> dict[str, Any]:
    """Patient id and a dataset-unique file name for a row being approved."""
    values: dict[str, Any] = {}
    fields = candidate.fields
    if not fields.get("patientid"):
        same_source = conn.execute(
            select(candidates.c.f_patientid).where(
                candidates.c.source_id == candidate.source_id,
                candidates.c.f_patientid.is_not(None),
                candidates.c.id != candidate.id,
            )
        ).first()
        values["f_patientid"] = same_source[0] if same_source else str(next_patientid(conn))
    filename = fields.get("filename") or Path(candidate.image_file).name
    taken = conn.execute(
        select(func.count())
        .select_from(candidates)
        .where(
            candidates.c.f_filename == filename,
            candidates.c.status == "approved",
            candidates.c.id != candidate.id,
        )
    ).scalar_one()
    taken += conn.execute(
        select(func.count())
        .select_from(dataset_images)
        .where(dataset_images.c.filename == filename)
    ).scalar_one()
    if taken:
        stem, dot, ext = filename.rpartition(".")
        filename = f"{stem}-{candidate.id}.{ext}" if dot else f"{filename}-{candidate.id}"
    values["f_filename"] = filename
    values["f_folder"] = "images"
    return values


def restore_values(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The decision and dataset columns of an audit snapshot, as column values."""
    decided_at = snapshot.get("decided_at")
    values: dict[str, Any] = {
        "status": snapshot["status"],
        "decided_by": snapshot.get("decided_by"),
        "decided_at": datetime.fromisoformat(decided_at) if decided_at else None,
        "decision_reason": snapshot.get("decision_reason"),
    }
    fields = snapshot.get("fields") or {}
    values.update({f"f_{name}": fields.get(name) for name in DATASET_COLUMNS})
    return values
