"""The Store: the one writer of the staging database's tables.

SQLAlchemy Core over SQLite by default (a file under metadata/); the same code runs on
PostgreSQL when the store URL names one. Every change is one transaction, and every change
of a candidate (a decision, an edit, a flag, a patient id) bumps its version and writes an
audit row with the row before and after.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from pipeline.errors import PipelineError
from pipeline.records import STATUSES, CandidateDraft
from pipeline.store.candidates import (
    current_user,
    draft_values,
    field_values,
    final_identity,
    next_patientid,
    now,
    read_candidate,
    restore_values,
    staged_id,
    write_candidate,
)
from pipeline.store.dataset import DatasetImages
from pipeline.store.fingerprints import Fingerprints
from pipeline.store.migrate import migrate
from pipeline.store.rows import AuditEntry, Candidate, SourceRecord
from pipeline.store.runs import Runs
from pipeline.store.schema import audit_log, candidates, sources

DECISIONS = ("approved", "rejected")


class NothingToUndo(PipelineError):
    pass


@dataclass
class StageResult:
    staged: list[int]  # ids of rows this call added
    existing: list[int]  # ids of rows that were already staged for the same source and image


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 module begins transactions lazily (reads run outside them) and
    # breaks SAVEPOINT; SQLAlchemy's documented recipe: let it do nothing and begin here.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # the wait first: switching to WAL needs the lock another process may hold
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front, so a read-then-write transaction (checking a
    # version, then updating) waits for another writer instead of failing halfway.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def engine_for(location: str | Path) -> Engine:
    """The engine of a store at a SQLite file path (its folder made) or a database URL."""
    url = str(location)
    if "://" not in url:
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(url).resolve()}"
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


class Store:
    """Candidates, sources, the audit log, and (as attributes) the imported dataset,
    image fingerprints and nightly runs, in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate(engine)
        self.dataset = DatasetImages(engine)
        self.fingerprints = Fingerprints(engine)
        self.runs = Runs(engine)

    @classmethod
    def open(cls, location: str | Path) -> Store:
        """Open (creating or upgrading when needed) a store at a SQLite path or a URL."""
        return cls(engine_for(location))

    def url_with_password(self) -> str:
        """The URL the store was opened at, password included: for another process to open
        it too. Never log it."""
        return self.engine.url.render_as_string(hide_password=False)

    # -- staging ---------------------------------------------------------------------------

    def stage(self, drafts: Sequence[CandidateDraft]) -> StageResult:
        """Add the drafts not already staged (same source and image sha256), atomically.

        Two runs staging the same source at once do not collide: a row the other run
        inserted first counts as already staged.
        """
        result = StageResult(staged=[], existing=[])
        with self.engine.begin() as conn:
            for draft in drafts:
                found = staged_id(conn, draft.source_id, draft.image_sha256)
                if found is not None:
                    result.existing.append(found)
                    continue
                try:
                    with conn.begin_nested():
                        inserted = conn.execute(insert(candidates).values(**draft_values(draft)))
                except IntegrityError:
                    found = staged_id(conn, draft.source_id, draft.image_sha256)
                    if found is None:
                        raise
                    result.existing.append(found)
                    continue
                result.staged.append(int(inserted.inserted_primary_key[0]))
        return result

    def record_source(
        self,
        source_id: str,
        kind: str,
        location: str,
        *,
        error: str | None = None,
        images_found: int | None = None,
        candidates_staged: int | None = None,
        failed_step: str | None = None,
    ) -> None:
        """Remember that a source was processed, and how it ended."""
        values = {
            "kind": kind,
            "location": location,
            "status": "failed" if error else "ok",
            "error": error,
            "failed_step": failed_step if error else None,
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

    def sources(self) -> list[SourceRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(sources).order_by(sources.c.last_run_at))
            return [SourceRecord.from_row(row) for row in rows]

    def source(self, source_id: str) -> SourceRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(sources).where(sources.c.source_id == source_id)).first()
        return SourceRecord.from_row(row) if row else None

    # -- reading ---------------------------------------------------------------------------

    def candidates(
        self,
        *,
        status: str | None = None,
        source_id: str | None = None,
        ids: Iterable[int] | None = None,
    ) -> list[Candidate]:
        query = select(candidates).order_by(candidates.c.id)
        if status:
            query = query.where(candidates.c.status == status)
        if source_id:
            query = query.where(candidates.c.source_id == source_id)
        if ids is not None:
            query = query.where(candidates.c.id.in_(list(ids)))
        with self.engine.connect() as conn:
            return [Candidate.from_row(row) for row in conn.execute(query)]

    def candidate(self, candidate_id: int) -> Candidate:
        with self.engine.connect() as conn:
            return read_candidate(conn, candidate_id)

    def candidate_ids_with_image(
        self, sha256: str, *, excluding: int | None = None, limit: int = 5
    ) -> list[int]:
        """Candidates whose image has exactly these bytes, oldest first."""
        query = select(candidates.c.id).where(candidates.c.image_sha256 == sha256)
        if excluding is not None:
            query = query.where(candidates.c.id != excluding)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(candidates.c.id).limit(limit)).scalars())

    def audit(self, candidate_id: int | None = None) -> list[AuditEntry]:
        query = select(audit_log).order_by(audit_log.c.id)
        if candidate_id is not None:
            query = query.where(audit_log.c.candidate_id == candidate_id)
        with self.engine.connect() as conn:
            return [AuditEntry.from_row(row) for row in conn.execute(query)]

    def status_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            counts = dict(
                conn.execute(
                    select(candidates.c.status, func.count()).group_by(candidates.c.status)
                ).all()
            )
        return {status: counts.get(status, 0) for status in STATUSES}

    def distinct(self, column: str) -> list[Any]:
        """The distinct non-empty values of a candidate column (`source_id`, `f_modality`,
        `flags`, ...), in no particular order."""
        target = candidates.c[column]
        with self.engine.connect() as conn:
            return list(
                conn.execute(select(target).distinct().where(target.is_not(None))).scalars()
            )

    def patient_ids(self, source_id: str) -> list[str]:
        """Patient ids already given to a source's images."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(candidates.c.f_patientid)
                    .distinct()
                    .where(
                        candidates.c.source_id == source_id, candidates.c.f_patientid.is_not(None)
                    )
                ).scalars()
            )

    # -- deciding and editing ------------------------------------------------------------

    def decide(
        self,
        ids: Iterable[int],
        status: str,
        *,
        actor: str | None = None,
        reason: str | None = None,
        expected_versions: dict[int, int] | None = None,
    ) -> list[Candidate]:
        """Approve or reject candidates (all or none), logging each change."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        actor = actor or current_user()
        changed: list[Candidate] = []
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
                    values.update(final_identity(conn, before))
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
        action: str = "edit",
    ) -> Candidate:
        """Edit a candidate's proposed dataset values."""
        values = field_values(fields)
        with self.engine.begin() as conn:
            return write_candidate(
                conn, candidate_id, values, action=action, actor=actor or current_user(),
                expected_version=expected_version,
            )  # fmt: skip

    def add_flags(
        self,
        candidate_id: int,
        flags: list[str],
        *,
        replacing: tuple[str, ...] = (),
        actor: str = "pipeline",
    ) -> Candidate:
        """Add flags to a candidate, first dropping its flags that start with any of
        `replacing` (a newer measure of the same thing); no change, no audit row."""
        with self.engine.begin() as conn:
            before = read_candidate(conn, candidate_id)
            kept = [flag for flag in before.flags if not flag.startswith(replacing)]
            after = kept + [flag for flag in flags if flag not in kept]
            if after == before.flags:
                return before
            return write_candidate(
                conn, candidate_id, {"flags": after}, action="flag", actor=actor, before=before
            )

    def set_patient(
        self, candidate_id: int, patientid: str, *, version: int | None, actor: str
    ) -> Candidate:
        """Give one image the patient id of other images (the same person)."""
        with self.engine.begin() as conn:
            return write_candidate(
                conn, candidate_id, {"f_patientid": patientid}, action="set patient",
                actor=actor, expected_version=version,
            )  # fmt: skip

    def split_patient(self, candidate_id: int, *, version: int, actor: str) -> Candidate:
        """Give one image a new patient id of its own (the next free one)."""
        with self.engine.begin() as conn:
            return write_candidate(
                conn, candidate_id, {"f_patientid": str(next_patientid(conn))},
                action="split patient", actor=actor, expected_version=version,
            )  # fmt: skip

    def merge_patients(self, from_id: str, into_id: str, *, actor: str) -> list[int]:
        """Every staged image of patient `from_id` becomes patient `into_id`, at once."""
        with self.engine.begin() as conn:
            ids = list(
                conn.execute(
                    select(candidates.c.id).where(candidates.c.f_patientid == from_id)
                ).scalars()
            )
            for candidate_id in ids:
                write_candidate(
                    conn, candidate_id, {"f_patientid": into_id}, action="merge patient",
                    actor=actor,
                )  # fmt: skip
        return ids

    def undo_last(self, actor: str | None = None, *, search: int = 1000) -> Candidate:
        """Undo the actor's newest decision not undone yet; the row returns to how it was.

        Refused with ConflictError when the row changed since that decision.
        """
        actor = actor or current_user()
        with self.engine.begin() as conn:
            entries = conn.execute(
                select(audit_log)
                .where(audit_log.c.actor == actor)
                .order_by(audit_log.c.id.desc())
                .limit(search)
            ).all()
            undone: set[tuple[int, int]] = set()
            for entry in entries:
                before, after = entry.before or {}, entry.after or {}
                if entry.action == "undo":
                    undone.add((entry.candidate_id, before.get("version")))
                    continue
                if entry.action not in DECISIONS:
                    continue
                if (entry.candidate_id, after.get("version")) in undone:
                    continue
                return write_candidate(
                    conn,
                    entry.candidate_id,
                    restore_values(before),
                    action="undo",
                    actor=actor,
                    expected_version=after.get("version"),
                )
        raise NothingToUndo(f"{actor} has no decision left to undo")

