"""The staging store: candidate rows, the sources they came from, and every decision.

SQLAlchemy Core over SQLite by default (a file under metadata/); the same code runs on
PostgreSQL when the store URL names one. Every change is one transaction.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from pipeline.errors import PipelineError
from pipeline.records import DATASET_COLUMNS, STATUSES, CandidateDraft

metadata_obj = MetaData()

candidates = Table(
    "candidates",
    metadata_obj,
    Column("id", Integer, primary_key=True),
    Column("source_id", String(512), nullable=False, index=True),
    Column("source_kind", String(16), nullable=False),
    Column("image_sha256", String(64), nullable=False, index=True),
    Column("image_file", Text, nullable=False),
    Column("image_index", Integer),
    Column("page", Integer),
    Column("xref", Integer),
    Column("bbox", JSON),
    Column("panel", String(8)),
    Column("caption", Text),
    Column("classifier_modality", String(16)),
    Column("classifier_view", String(16)),
    Column("classifier_confidence", Float),
    Column("classifier_reasons", JSON),
    Column("evidence", JSON),
    Column("flags", JSON),
    Column("phash", String(64), index=True),
    Column("status", String(16), nullable=False, default="pending", index=True),
    Column("decided_by", String(128)),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision_reason", Text),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    *(Column(f"f_{name}", Text) for name in DATASET_COLUMNS),
    UniqueConstraint("source_id", "image_sha256", name="uq_source_image"),
)

sources = Table(
    "sources",
    metadata_obj,
    Column("source_id", String(512), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("location", Text, nullable=False),
    Column("status", String(16), nullable=False),  # "ok" or "failed"
    Column("error", Text),
    Column("images_found", Integer),
    Column("candidates_staged", Integer),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_run_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata_obj,
    Column("id", Integer, primary_key=True),
    Column("candidate_id", Integer, ForeignKey("candidates.id"), nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("before", JSON),
    Column("after", JSON),
)

# Rows of an existing dataset imported so the pipeline never proposes them again.
dataset_images = Table(
    "dataset_images",
    metadata_obj,
    Column("id", Integer, primary_key=True),
    Column("patientid", String(64)),
    Column("filename", Text, nullable=False),
    Column("sha256", String(64), index=True),
    Column("phash", String(64), index=True),
    Column("row", JSON),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("filename", name="uq_dataset_filename"),
)


class ConflictError(PipelineError):
    """Someone else decided on the candidate since it was read."""

    def __init__(self, candidate_id: int, current: dict[str, Any]) -> None:
        who = current.get("decided_by") or "someone"
        super().__init__(
            f"candidate {candidate_id} was changed by {who} at {current.get('decided_at')} "
            f"(now {current.get('status')}); reload it before deciding"
        )
        self.candidate_id = candidate_id
        self.current = current


class UnknownCandidateError(PipelineError):
    pass


@dataclass
class StageResult:
    staged: list[int]  # ids of rows this call added
    existing: list[int]  # ids of rows that were already staged for the same source and image


def now() -> datetime:
    return datetime.now(UTC)


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 module begins transactions lazily (reads run outside them) and
    # breaks SAVEPOINT; SQLAlchemy's documented recipe: let it do nothing and begin here.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front, so a read-then-write transaction (checking a
    # version, then updating) waits for another writer instead of failing halfway.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def row_to_dict(row: Any) -> dict[str, Any]:
    """A candidate row as a plain dict: provenance keys plus `fields` with the 29 columns."""
    data = dict(row._mapping)
    data["fields"] = {name: data.pop(f"f_{name}") for name in DATASET_COLUMNS}
    for key in ("decided_at", "created_at"):
        if isinstance(data.get(key), datetime):
            data[key] = data[key].isoformat()
    return data


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _draft_values(draft: CandidateDraft) -> dict[str, Any]:
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
        **{f"f_{name}": _text(draft.fields.get(name)) for name in DATASET_COLUMNS},
    }


class Store:
    """Candidates, sources and the audit log in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata_obj.create_all(engine)

    @classmethod
    def open(cls, location: str | Path) -> Store:
        """Open (creating when needed) a store at a SQLite file path or a database URL."""
        url = str(location)
        if "://" not in url:
            Path(url).parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{Path(url).resolve()}"
        engine = create_engine(url, future=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
        return cls(engine)

    # -- staging ---------------------------------------------------------------------------

    def stage(self, drafts: Sequence[CandidateDraft]) -> StageResult:
        """Add the drafts not already staged (same source and image sha256), atomically.

        Two runs staging the same source at once do not collide: a row the other run
        inserted first counts as already staged.
        """
        result = StageResult(staged=[], existing=[])
        with self.engine.begin() as conn:
            for draft in drafts:
                found = self._staged_id(conn, draft)
                if found is not None:
                    result.existing.append(found)
                    continue
                try:
                    with conn.begin_nested():
                        inserted = conn.execute(insert(candidates).values(**_draft_values(draft)))
                except IntegrityError:
                    found = self._staged_id(conn, draft)
                    if found is None:
                        raise
                    result.existing.append(found)
                    continue
                result.staged.append(int(inserted.inserted_primary_key[0]))
        return result

    @staticmethod
    def _staged_id(conn: Any, draft: CandidateDraft) -> int | None:
        return conn.execute(
            select(candidates.c.id).where(
                candidates.c.source_id == draft.source_id,
                candidates.c.image_sha256 == draft.image_sha256,
            )
        ).scalar_one_or_none()

    def record_source(
        self,
        source_id: str,
        kind: str,
        location: str,
        *,
        error: str | None = None,
        images_found: int | None = None,
        candidates_staged: int | None = None,
    ) -> None:
        """Remember that a source was processed, and how it ended."""
        values = {
            "kind": kind,
            "location": location,
            "status": "failed" if error else "ok",
            "error": error,
            "images_found": images_found,
            "candidates_staged": candidates_staged,
            "last_run_at": now(),
        }
        with self.engine.begin() as conn:
            attempts = conn.execute(
                select(sources.c.attempts).where(sources.c.source_id == source_id)
            ).scalar_one_or_none()
            if attempts is None:
                conn.execute(insert(sources).values(source_id=source_id, attempts=1, **values))
            else:
                conn.execute(
                    update(sources)
                    .where(sources.c.source_id == source_id)
                    .values(attempts=attempts + 1, **values)
                )

    def sources(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(sources).order_by(sources.c.last_run_at))
            return [dict(row._mapping) for row in rows]

    def source(self, source_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(sources).where(sources.c.source_id == source_id)).first()
        return dict(row._mapping) if row else None

    # -- reading ---------------------------------------------------------------------------

    def candidates(
        self, *, status: str | None = None, source_id: str | None = None
    ) -> list[dict[str, Any]]:
        query = select(candidates).order_by(candidates.c.id)
        if status:
            query = query.where(candidates.c.status == status)
        if source_id:
            query = query.where(candidates.c.source_id == source_id)
        with self.engine.connect() as conn:
            return [row_to_dict(row) for row in conn.execute(query)]

    def candidate(self, candidate_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return read_candidate(conn, candidate_id)

    def audit(self, candidate_id: int | None = None) -> list[dict[str, Any]]:
        query = select(audit_log).order_by(audit_log.c.id)
        if candidate_id is not None:
            query = query.where(audit_log.c.candidate_id == candidate_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # -- deciding --------------------------------------------------------------------------

    def decide(
        self,
        ids: Iterable[int],
        status: str,
        *,
        actor: str | None = None,
        reason: str | None = None,
        expected_versions: dict[int, int] | None = None,
    ) -> list[dict[str, Any]]:
        """Approve or reject candidates (all or none), logging each change."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        actor = actor or current_user()
        changed: list[dict[str, Any]] = []
        with self.engine.begin() as conn:
            for candidate_id in ids:
                before = read_candidate(conn, candidate_id)
                values: dict[str, Any] = {
                    "status": status,
                    "decided_by": actor,
                    "decided_at": now(),
                    "decision_reason": reason,
                }
                if status == "approved":
                    values.update(self._final_identity(conn, before))
                expected = (expected_versions or {}).get(candidate_id)
                changed.append(
                    write_candidate(conn, candidate_id, values, action=status, actor=actor,
                                    expected_version=expected, before=before)
                )  # fmt: skip
        return changed

    def update_fields(
        self,
        candidate_id: int,
        fields: dict[str, Any],
        *,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Edit a candidate's proposed dataset values."""
        unknown = set(fields) - set(DATASET_COLUMNS)
        if unknown:
            raise ValueError(f"unknown dataset columns: {', '.join(sorted(unknown))}")
        values = {f"f_{name}": _text(value) for name, value in fields.items()}
        with self.engine.begin() as conn:
            return write_candidate(
                conn, candidate_id, values, action="edit", actor=actor or current_user(),
                expected_version=expected_version,
            )  # fmt: skip

    def _final_identity(self, conn: Any, candidate: dict[str, Any]) -> dict[str, Any]:
        """Patient id and a dataset-unique file name for a row being approved."""
        values: dict[str, Any] = {}
        fields = candidate["fields"]
        if not fields.get("patientid"):
            same_source = conn.execute(
                select(candidates.c.f_patientid).where(
                    candidates.c.source_id == candidate["source_id"],
                    candidates.c.f_patientid.is_not(None),
                    candidates.c.id != candidate["id"],
                )
            ).first()
            values["f_patientid"] = same_source[0] if same_source else str(next_patientid(conn))
        filename = fields.get("filename") or Path(candidate["image_file"]).name
        taken = conn.execute(
            select(func.count())
            .select_from(candidates)
            .where(
                candidates.c.f_filename == filename,
                candidates.c.status == "approved",
                candidates.c.id != candidate["id"],
            )
        ).scalar_one()
        taken += conn.execute(
            select(func.count())
            .select_from(dataset_images)
            .where(dataset_images.c.filename == filename)
        ).scalar_one()
        if taken:
            stem, dot, ext = filename.rpartition(".")
            filename = f"{stem}-{candidate['id']}.{ext}" if dot else f"{filename}-{candidate['id']}"
        values["f_filename"] = filename
        values["f_folder"] = "images"
        return values


def next_patientid(conn: Any) -> int:
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


def read_candidate(conn: Any, candidate_id: int) -> dict[str, Any]:
    row = conn.execute(select(candidates).where(candidates.c.id == candidate_id)).first()
    if row is None:
        raise UnknownCandidateError(f"no candidate with id {candidate_id}")
    return row_to_dict(row)


def write_candidate(
    conn: Any,
    candidate_id: int,
    values: dict[str, Any],
    *,
    action: str,
    actor: str,
    expected_version: int | None = None,
    before: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Change one candidate and log it, unless someone changed it first.

    `expected_version` is the version the reviewer saw; the update itself is conditional
    on the version read here, so two writers racing cannot both win.
    """
    before = before or read_candidate(conn, candidate_id)
    if expected_version is not None and before["version"] != expected_version:
        raise ConflictError(candidate_id, before)
    result = conn.execute(
        update(candidates)
        .where(candidates.c.id == candidate_id, candidates.c.version == before["version"])
        .values(**values, version=before["version"] + 1)
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
            before=json.loads(json.dumps(before, default=str)),
            after=json.loads(json.dumps(after, default=str)),
        )
    )
    return after
