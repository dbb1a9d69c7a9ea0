"""The review app without a browser: security, decisions, undo, patients, the queue."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from pipeline.review import actions, queries
from pipeline.review.app import create_app
from pipeline.review.cli import register
from pipeline.review.highlight import pieces
from pipeline.review.security import BindError, check_bind
from pipeline.store import ConflictError, NothingToUndo
from pipeline.store.schema import dataset_images
from tests.test_review_fixtures import ALPHA, CASE, CSRF, HOSTILE_NOTES, Staging, make_staging


@pytest.fixture
def staging(tmp_path: Path) -> Staging:
    return make_staging(tmp_path / "staging")


@pytest.fixture
def client(staging: Staging) -> Any:
    return create_app(staging.store, staging.config).test_client()


def csrf(client: Any, path: str = "/") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def decide(client: Any, staging: Staging, key: str, action: str, **form: str) -> Any:
    cid = staging.ids[key]
    version = staging.store.candidate(cid).version
    data = {"csrf_token": csrf(client), "action": action, "version": str(version), **form}
    return client.post(f"/candidate/{cid}", data=data)


# -- security --------------------------------------------------------------------------------


def test_hostile_text_is_escaped_and_links_stay_http(client: Any, staging: Staging) -> None:
    response = client.get(f"/candidate/{staging.ids['hostile']}")
    html = response.get_data(as_text=True)
    assert "<script>window" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_change_without_the_csrf_token_is_refused(client: Any, staging: Staging) -> None:
    cid = staging.ids["alpha_a"]
    client.get("/")
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post(
            f"/candidate/{cid}", data={"action": "approved", "version": "1", **data}
        )
        assert response.status_code == 400
    assert client.post("/export").status_code == 400
    assert client.post("/undo").status_code == 400
    assert staging.store.candidate(cid).status == "pending"
    assert not staging.config.path("dataset_csv").exists()


def test_the_access_token_is_required_when_set(staging: Staging) -> None:
    client = create_app(staging.store, staging.config, token="s3cret-token").test_client()
    assert client.get("/").status_code == 401
    assert client.get("/image/1").status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    entered = client.get("/?token=s3cret-token&status=all")
    assert entered.status_code == 302 and "token" not in entered.headers["Location"]
    assert client.get("/").status_code == 200  # the session remembers it


def test_only_loopback_names_are_served_without_a_token(client: Any) -> None:
    assert client.get("/", headers={"Host": "127.0.0.1:8765"}).status_code == 200
    assert client.get("/", headers={"Host": "rebound.example:8765"}).status_code == 400


def test_binding_beyond_loopback_needs_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("localhost", None)
    check_bind("0.0.0.0", "t")
    with pytest.raises(BindError):
        check_bind("0.0.0.0", None)
    with pytest.raises(BindError):
        check_bind("192.168.1.20", "")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["review", "--host", "0.0.0.0", "--port", "0"])
    assert args.func(args) == 2
    assert "refusing to listen on 0.0.0.0 without an access token" in capsys.readouterr().err


def test_images_are_found_by_candidate_id_only(client: Any, staging: Staging) -> None:
    response = client.get(f"/image/{staging.ids['alpha_a']}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data == Path(staging.store.candidate(1).image_file).read_bytes()
    thumb = client.get(f"/thumb/{staging.ids['alpha_a']}")
    assert thumb.status_code == 200 and thumb.data[:2] == b"\xff\xd8"
    assert client.get("/image/9999").status_code == 404
    assert client.get("/image/..%2F..%2Fetc%2Fpasswd").status_code == 404


# -- deciding --------------------------------------------------------------------------------


def test_approving_saves_edits_checked_against_the_vocabulary(
    client: Any, staging: Staging
) -> None:
    cid = staging.ids["alpha_a"]
    refused = decide(client, staging, "alpha_a", "approved", f_sex="male", f_age="54")
    assert refused.status_code == 422
    assert "sex: &#39;male&#39; is not one of M, F" in refused.get_data(as_text=True)
    assert staging.store.candidate(cid).status == "pending"

    done = decide(client, staging, "alpha_a", "approved", f_sex="F", f_location="Wuhan")
    assert done.status_code == 302 and done.headers["Location"].endswith(
        f"/candidate/{staging.ids['alpha_b']}"
    )
    row = staging.store.candidate(cid)
    assert row.status == "approved" and row.fields["sex"] == "F"
    assert row.fields["location"] == "Wuhan" and row.decided_by
    assert [entry.action for entry in staging.store.audit(cid)] == ["edit", "approved"]


def test_a_rejection_needs_a_reason(client: Any, staging: Staging) -> None:
    assert decide(client, staging, "alpha_b", "rejected").status_code == 422
    assert decide(client, staging, "alpha_b", "rejected", reason="duplicate").status_code == 302
    assert staging.store.candidate(staging.ids["alpha_b"]).decision_reason == "duplicate"


def test_the_second_of_two_decisions_is_told_of_the_first(staging: Staging) -> None:
    app = create_app(staging.store, staging.config)
    ana, ben = app.test_client(), app.test_client()
    ana.set_cookie("reviewer", "ana")
    ben.set_cookie("reviewer", "ben")
    cid = staging.ids["alpha_a"]
    form = {"version": "1", "action": "approved"}
    assert ana.post(f"/candidate/{cid}", data={**form, "csrf_token": csrf(ana)}).status_code == 302
    late = ben.post(
        f"/candidate/{cid}",
        data={**form, "action": "rejected", "reason": "blurry", "csrf_token": csrf(ben)},
    )
    assert late.status_code == 409
    html = late.get_data(as_text=True)
    assert "ana changed this candidate" in html and "now approved" in html
    assert "rejection was not saved" in html
    edited = ben.post(
        f"/candidate/{cid}",
        data={**form, "f_location": "Rome", "csrf_token": csrf(ben)},
    )
    assert edited.status_code == 409
    assert "Your unsaved edits were: location = Rome" in edited.get_data(as_text=True)
    assert staging.store.candidate(cid).decided_by == "ana"
    assert staging.store.candidate(cid).fields["location"] is None


def test_undo_walks_back_the_reviewers_own_decisions(staging: Staging) -> None:
    store, ids = staging.store, staging.ids
    first = actions.decide(store, ids["alpha_a"], "approved", version=1, actor="ana")
    assert first.fields["patientid"] == "1" and first.fields["folder"] == "images"
    actions.decide(store, ids["alpha_b"], "rejected", version=1, actor="ana", reason="dup")
    actions.decide(store, ids["case_1"], "rejected", version=1, actor="ben", reason="x")

    assert actions.undo_last(store, "ana").id == ids["alpha_b"]
    back = actions.undo_last(store, "ana")
    assert back.id == ids["alpha_a"] and back.status == "pending"
    assert back.fields["patientid"] is None and back.decided_by is None
    with pytest.raises(NothingToUndo):
        actions.undo_last(store, "ana")
    assert store.candidate(ids["case_1"]).status == "rejected"  # ben's stays


def test_undo_is_refused_when_someone_changed_the_row_since(staging: Staging) -> None:
    store, cid = staging.store, staging.ids["alpha_a"]
    actions.decide(store, cid, "approved", version=1, actor="ana")
    store.update_fields(cid, {"age": "55"}, actor="ben")
    with pytest.raises(ConflictError):
        actions.undo_last(store, "ana")
    assert store.candidate(cid).status == "approved"


def test_undo_through_the_page(client: Any, staging: Staging) -> None:
    decide(client, staging, "alpha_b", "rejected", reason="duplicate")
    response = client.post("/undo", data={"csrf_token": csrf(client)})
    assert response.headers["Location"].endswith(f"/candidate/{staging.ids['alpha_b']}")
    assert staging.store.candidate(staging.ids["alpha_b"]).status == "pending"


def test_bulk_decisions_take_the_whole_source_or_nothing(client: Any, staging: Staging) -> None:
    store = staging.store
    versions = {row.id: row.version for row in store.candidates(source_id=CASE)}
    form = {f"v_{cid}": str(version) for cid, version in versions.items()}
    stale = {**form, f"v_{staging.ids['case_1']}": "7"}
    client.post("/source", data={"csrf_token": csrf(client), "source_id": CASE,
                                 "action": "approved", **stale})  # fmt: skip
    assert {row.status for row in store.candidates(source_id=CASE)} == {"pending"}
    foreign = {**form, f"v_{staging.ids['alpha_a']}": "1"}
    client.post("/source", data={"csrf_token": csrf(client), "source_id": CASE,
                                 "action": "approved", **foreign})  # fmt: skip
    assert store.candidate(staging.ids["alpha_a"]).status == "pending"

    client.post("/source", data={"csrf_token": csrf(client), "source_id": CASE,
                                 "action": "approved", **form})  # fmt: skip
    rows = store.candidates(source_id=CASE)
    assert {row.status for row in rows} == {"approved"}
    assert {row.fields["patientid"] for row in rows} == {"1"}


# -- patients --------------------------------------------------------------------------------


def test_new_patients_continue_after_the_existing_dataset(staging: Staging) -> None:
    store, ids = staging.store, staging.ids
    with store.engine.begin() as conn:
        conn.execute(insert(dataset_images).values(
            patientid="40", filename="old.png", imported_at=datetime.now(UTC), row={}
        ))  # fmt: skip
    a = actions.decide(store, ids["alpha_a"], "approved", version=1, actor="ana")
    b = actions.decide(store, ids["alpha_b"], "approved", version=1, actor="ana")
    case = actions.decide(store, ids["case_1"], "approved", version=1, actor="ana")
    assert a.fields["patientid"] == b.fields["patientid"] == "41"
    assert case.fields["patientid"] == "42"

    split = actions.split_patient(store, ids["alpha_b"], version=b.version, actor="ana")
    assert split.fields["patientid"] == "43"
    moved = actions.merge_patients(store, "43", "41", actor="ana")
    assert moved == [ids["alpha_b"]]
    assert store.candidate(ids["alpha_b"]).fields["patientid"] == "41"
    again = actions.set_patient(store, ids["case_1"], "41", version=case.version, actor="ana")
    assert again.fields["patientid"] == "41"
    assert [e.action for e in store.audit(ids["alpha_b"])][-2:] == [
        "split patient", "merge patient",
    ]  # fmt: skip


def test_patient_changes_through_the_page(client: Any, staging: Staging) -> None:
    cid = staging.ids["alpha_a"]
    client.post(f"/candidate/{cid}/patient",
                data={"csrf_token": csrf(client), "action": "split", "version": "1"})  # fmt: skip
    assert staging.store.candidate(cid).fields["patientid"] == "1"
    stale = client.post(f"/candidate/{cid}/patient",
                        data={"csrf_token": csrf(client), "action": "set", "version": "1",
                              "patientid": "9"})  # fmt: skip
    assert stale.status_code == 409


# -- reading ---------------------------------------------------------------------------------


def test_the_queue_filters_by_source_modality_flag_and_status(
    client: Any, staging: Staging
) -> None:
    store, ids = staging.store, staging.ids

    def ids_in(**args: str) -> list[int]:
        return [row.id for row in queries.queue(store, queries.QueueFilter.from_args(args))]

    assert ids_in(source=ALPHA) == [ids["alpha_a"], ids["alpha_b"], ids["alpha_c"]]
    assert ids_in(modality="CT") == [ids["alpha_c"]]
    assert ids_in(flag="low confidence") == [ids["alpha_c"]]
    assert ids_in(flag="possible duplicate") == [ids["case_2"]]
    # what the classifier was unsure of waits until the likely rows are done
    assert ids_in()[-1] == ids["alpha_c"] and ids_in()[:2] == [ids["alpha_a"], ids["alpha_b"]]
    actions.decide(store, ids["alpha_a"], "approved", version=1, actor="ana")
    assert ids["alpha_a"] not in ids_in() and ids_in(status="approved") == [ids["alpha_a"]]
    assert len(ids_in(status="all")) == 6

    html = client.get("/?flag=possible+duplicate").get_data(as_text=True)
    assert f"/candidate/{ids['case_2']}" in html and f"/candidate/{ids['alpha_c']}?" not in html
    page = client.get(f"/candidate/{ids['case_2']}").get_data(as_text=True)
    assert f'src="/image/{ids["alpha_a"]}"' in page  # the named duplicate, side by side


def test_evidence_spans_are_marked_where_the_text_still_holds_them() -> None:
    text = "A 54-year-old man, day 3."
    evidence = {
        "age": {"start": 2, "end": 13, "text": "54-year-old"},
        "sex": {"start": 99, "end": 102, "text": "man"},  # stale offsets: found by its words
        "offset": {"start": 19, "end": 24, "text": "gone"},  # words no longer there
        "view": {"start": 2, "end": 17, "text": "54-year-old man"},  # overlaps two
    }
    parts = pieces(text, evidence)
    assert "".join(part.text for part in parts) == text
    marked = {part.text: part.fields for part in parts if part.fields}
    assert marked == {"54-year-old": ("age", "view"), " ": ("view",), "man": ("sex", "view")}
    assert pieces(HOSTILE_NOTES, {})[0].text == HOSTILE_NOTES


def test_export_button_writes_the_dataset(client: Any, staging: Staging) -> None:
    decide(client, staging, "alpha_a", "approved")
    response = client.post("/export", data={"csrf_token": csrf(client)}, follow_redirects=True)
    assert "Exported 1 rows" in response.get_data(as_text=True)
    assert (staging.config.path("dataset_images") / "alpha-p2-a.png").is_file()


def test_the_queue_pages_through_every_candidate(
    client: Any, staging: Staging, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipeline.review.app.QUEUE_PAGE", 4)
    first = client.get("/?status=all").get_data(as_text=True)
    second = client.get("/?status=all&page=2").get_data(as_text=True)
    assert "showing 1&ndash;4" in first and 'href="/?page=2&amp;status=all"' in first
    assert "showing 5&ndash;6" in second and 'rel="next"' not in second
    shown = {cid for cid in staging.ids.values() if f"/candidate/{cid}?" in first + second}
    assert shown == set(staging.ids.values())
    assert "showing 5&ndash;6" in client.get("/?status=all&page=99").get_data(as_text=True)


def test_ids_beyond_what_the_store_holds_are_not_found(client: Any, staging: Staging) -> None:
    token = csrf(client)
    for huge in (2**63, 10**40):
        for path in (f"/candidate/{huge}", f"/image/{huge}", f"/thumb/{huge}"):
            assert client.get(path).status_code == 404, path
        for path in (f"/candidate/{huge}", f"/candidate/{huge}/patient"):
            assert client.post(path, data={"csrf_token": token}).status_code == 404, path
    assert client.get(f"/candidate/{2**63 - 1}").status_code == 404  # in range, no such row
    cid = staging.ids["alpha_a"]
    data = {"csrf_token": token, "action": "approved", "version": str(2**64)}
    assert client.post(f"/candidate/{cid}", data=data).status_code == 400
    bulk = {"csrf_token": token, "source_id": CASE, "action": "approved", f"v_{10**30}": "1"}
    assert client.post("/source", data=bulk).status_code == 400
    assert staging.store.candidate(cid).status == "pending"
