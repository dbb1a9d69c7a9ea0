"""What a reviewer changes: decisions (one, or a source's at once), undo, patient ids.

Every change checks the version the reviewer saw, so two reviewers on one candidate
cannot both win silently (ConflictError carries the first decision), and is written
to the audit log with the row before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.errors import PipelineError
from pipeline.records import DATASET_COLUMNS, check_row_values
from pipeline.store import DECISIONS, Candidate, ConflictError, Store

# Needed before a row may be approved; patientid and filename are assigned on approval.
REQUIRED_ON_APPROVAL = ("modality",)


class RowProblems(PipelineError):
    """The values break the collection's vocabularies; nothing was saved."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def row_problems(fields: Mapping[str, Any], *, approving: bool) -> list[str]:
    problems = check_row_values(dict(fields))
    if approving:
        problems += [f"{name} is empty" for name in REQUIRED_ON_APPROVAL if not fields.get(name)]
    return problems


def edits_from_form(form: Mapping[str, str], current: Mapping[str, Any]) -> dict[str, str | None]:
    """The dataset fields a submitted form changed (`f_<column>` inputs; blank means empty)."""
    edits: dict[str, str | None] = {}
    for name in DATASET_COLUMNS:
        key = f"f_{name}"
        if key not in form:
            continue
        value = form[key].strip() or None
        if value != (current.get(name) or None):
            edits[name] = value
    return edits


def save(
    store: Store, candidate_id: int, edits: dict[str, Any], *, version: int, actor: str
) -> Candidate:
    """Save edited fields after checking them against the vocabularies."""
    current = store.candidate(candidate_id)
    if current.version != version:
        raise ConflictError(candidate_id, current)
    problems = row_problems({**current.fields, **edits}, approving=False)
    if problems:
        raise RowProblems(problems)
    if not edits:
        return current
    return store.update_fields(candidate_id, edits, actor=actor, expected_version=version)


def decide(
    store: Store,
    candidate_id: int,
    status: str,
    *,
    version: int,
    actor: str,
    reason: str | None = None,
    edits: dict[str, Any] | None = None,
) -> Candidate:
    """Approve (saving any edits first) or reject one candidate the reviewer saw at `version`."""
    if status not in DECISIONS:
        raise ValueError(f"a decision is one of {DECISIONS}, not {status!r}")
    if status == "rejected" and not (reason or "").strip():
        raise RowProblems(["a rejection needs a reason"])
    current = store.candidate(candidate_id)
    if current.version != version:
        raise ConflictError(candidate_id, current)
    if status == "approved":
        problems = row_problems({**current.fields, **(edits or {})}, approving=True)
        if problems:
            raise RowProblems(problems)
        if edits:
            version = store.update_fields(
                candidate_id, edits, actor=actor, expected_version=version
            ).version
    [after] = store.decide(
        [candidate_id],
        status,
        actor=actor,
        reason=reason,
        expected_versions={candidate_id: version},
    )
    return after


def decide_source(
    store: Store,
    source_id: str,
    status: str,
    versions: dict[int, int],
    *,
    actor: str,
    reason: str | None = None,
) -> list[Candidate]:
    """Decide every candidate of a source the reviewer saw in its grid (all or none)."""
    if status not in DECISIONS:
        raise ValueError(f"a decision is one of {DECISIONS}, not {status!r}")
    if status == "rejected" and not (reason or "").strip():
        raise RowProblems(["a rejection needs a reason"])
    rows = {row.id: row for row in store.candidates(source_id=source_id)}
    foreign = sorted(set(versions) - set(rows))
    if foreign:
        raise ValueError(f"candidates {foreign} are not from source {source_id}")
    if status == "approved":
        problems = [
            f"candidate {cid}: {problem}"
            for cid in versions
            for problem in row_problems(rows[cid].fields, approving=True)
        ]
        if problems:
            raise RowProblems(problems)
    return store.decide(
        sorted(versions), status, actor=actor, reason=reason, expected_versions=versions
    )


# -- patient ids and undo (the store writes; here, what a reviewer may ask) -----------------


def undo_last(store: Store, actor: str | None = None) -> Candidate:
    """Undo the reviewer's newest decision not undone yet (see `Store.undo_last`)."""
    return store.undo_last(actor)


def set_patient(
    store: Store, candidate_id: int, patientid: str, *, version: int, actor: str
) -> Candidate:
    """Move one image to an existing patient (the same person as those images)."""
    patientid = patientid.strip()
    if not patientid:
        raise RowProblems(["a patient id is needed"])
    return store.set_patient(candidate_id, patientid, version=version, actor=actor)


def split_patient(store: Store, candidate_id: int, *, version: int, actor: str) -> Candidate:
    """Give one image a new patient id of its own (the next free one)."""
    return store.split_patient(candidate_id, version=version, actor=actor)


def merge_patients(store: Store, from_id: str, into_id: str, *, actor: str) -> list[int]:
    """Every staged image of patient `from_id` becomes patient `into_id`, in one transaction."""
    from_id, into_id = from_id.strip(), into_id.strip()
    if not from_id or not into_id or from_id == into_id:
        raise RowProblems(["merging needs two different patient ids"])
    changed = store.merge_patients(from_id, into_id, actor=actor)
    if not changed:
        raise RowProblems([f"no staged image has patient id {from_id}"])
    return changed
