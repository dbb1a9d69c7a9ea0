"""The staging store: candidate rows, the sources they came from, every decision, the
imported dataset, image fingerprints and nightly runs. `Store` is the only writer."""

from pipeline.store.candidates import ConflictError, UnknownCandidateError, current_user, now
from pipeline.store.rows import AuditEntry, Candidate, RunRecord, SourceRecord
from pipeline.store.runs import RUN_STATUSES
from pipeline.store.store import DECISIONS, NothingToUndo, StageResult, Store

__all__ = [
    "DECISIONS",
    "RUN_STATUSES",
    "AuditEntry",
    "Candidate",
    "ConflictError",
    "NothingToUndo",
    "RunRecord",
    "SourceRecord",
    "StageResult",
    "Store",
    "UnknownCandidateError",
    "current_user",
    "now",
]
