from __future__ import annotations

import pytest

from pipeline.records import CandidateDraft
from pipeline.store import ConflictError, Store, UnknownCandidateError


def draft(source: str = "pdf-1", sha: str = "a" * 64, **fields: str) -> CandidateDraft:
    return CandidateDraft(
        source_id=source,
        source_kind="pdf",
        image_sha256=sha,
        image_file=f"/tmp/{sha[:6]}.png",
        fields={"modality": "X-ray", **fields},
        page=1,
        classifier_modality="xray",
        classifier_confidence=0.9,
    )


def test_staging_twice_adds_nothing_new(store: Store) -> None:
    first = store.stage([draft(sha="a" * 64), draft(sha="b" * 64)])
    again = store.stage([draft(sha="a" * 64), draft(sha="b" * 64)])
    assert len(first.staged) == 2 and first.existing == []
    assert again.staged == [] and sorted(again.existing) == sorted(first.staged)
    assert len(store.candidates()) == 2


def test_same_image_in_two_sources_is_two_candidates(store: Store) -> None:
    store.stage([draft(source="pdf-1"), draft(source="pdf-2")])
    assert len(store.candidates()) == 2


def test_stage_is_atomic_when_a_row_fails(store: Store) -> None:
    store.stage([draft(sha="a" * 64)])
    broken = draft(sha="c" * 64)
    broken.image_file = None  # type: ignore[assignment]  # violates NOT NULL
    with pytest.raises(Exception):  # noqa: B017 - any database error will do
        store.stage([draft(sha="b" * 64), broken])
    assert [row.image_sha256[0] for row in store.candidates()] == ["a"]


def test_approve_assigns_patient_and_logs(store: Store) -> None:
    ids = store.stage([draft(sha="a" * 64), draft(sha="b" * 64)]).staged
    store.decide(ids, "approved", actor="ana")
    rows = store.candidates(status="approved")
    assert {row.fields["patientid"] for row in rows} == {"1"}
    assert all(row.decided_by == "ana" and row.fields["folder"] == "images" for row in rows)
    assert [entry.action for entry in store.audit()] == ["approved", "approved"]
    other = store.stage([draft(source="pdf-2", sha="c" * 64)]).staged
    store.decide(other, "approved", actor="ana")
    assert store.candidate(other[0]).fields["patientid"] == "2"


def test_approved_file_names_stay_unique(store: Store) -> None:
    ids = store.stage(
        [
            draft(source="pdf-1", filename="fig-000.png"),
            draft(source="pdf-2", filename="fig-000.png"),
        ]
    ).staged
    store.decide(ids, "approved", actor="ana")
    names = [row.fields["filename"] for row in store.candidates()]
    assert len(set(names)) == 2


def test_reject_keeps_reason(store: Store) -> None:
    [cid] = store.stage([draft()]).staged
    store.decide([cid], "rejected", actor="bo", reason="not a chest film")
    row = store.candidate(cid)
    assert row.status == "rejected" and row.decision_reason == "not a chest film"


def test_second_reviewer_is_told_of_the_first_decision(store: Store) -> None:
    [cid] = store.stage([draft()]).staged
    seen_version = store.candidate(cid).version
    store.decide([cid], "approved", actor="ana", expected_versions={cid: seen_version})
    with pytest.raises(ConflictError, match="ana"):
        store.decide(
            [cid], "rejected", actor="bo", reason="x", expected_versions={cid: seen_version}
        )
    assert store.candidate(cid).status == "approved"


def test_edit_checks_columns_and_logs(store: Store) -> None:
    [cid] = store.stage([draft()]).staged
    store.update_fields(cid, {"age": 54, "sex": "F"}, actor="ana")
    row = store.candidate(cid)
    assert row.fields["age"] == "54" and row.fields["sex"] == "F"
    with pytest.raises(ValueError, match="unknown"):
        store.update_fields(cid, {"colour": "red"})
    assert store.audit(cid)[-1].action == "edit"


def test_unknown_candidate(store: Store) -> None:
    with pytest.raises(UnknownCandidateError):
        store.decide([999], "approved")


def test_flags_are_changes_like_any_other(store: Store) -> None:
    [cid] = store.stage([draft()]).staged
    flagged = store.add_flags(cid, ["possible duplicate of candidate 9 (distance 0.1)"],
                              replacing=("possible duplicate of candidate 9 (",))  # fmt: skip
    again = store.add_flags(cid, ["possible duplicate of candidate 9 (distance 0.2)"],
                            replacing=("possible duplicate of candidate 9 (",))  # fmt: skip
    assert again.flags == ["possible duplicate of candidate 9 (distance 0.2)"]
    assert (flagged.version, again.version) == (2, 3)
    assert [entry.action for entry in store.audit(cid)] == ["flag", "flag"]
    assert store.add_flags(cid, again.flags).version == 3  # nothing new: no change, no entry


def test_only_the_store_touches_its_tables() -> None:
    """Outside pipeline/store, nothing builds SQL or opens the store's engine (catching the
    database's errors is allowed)."""
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "pipeline"
    sql = re.compile(r"^\s*(from sqlalchemy(?!\.exc)|import sqlalchemy)|\.engine\.", re.M)
    touching = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "store" not in path.relative_to(package).parts and sql.search(path.read_text())
    ]
    assert touching == []
