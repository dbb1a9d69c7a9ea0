"""The staging store and the run bookkeeping on a real PostgreSQL (one code path with SQLite).

A throwaway cluster is started in a temporary folder on 127.0.0.1 when PostgreSQL's
`initdb`/`pg_ctl` and the psycopg driver are installed; otherwise the tests skip.
"""

from __future__ import annotations

from pipeline.records import CandidateDraft
from pipeline.store import Store
from tests.postgres import needs_postgres

pytestmark = needs_postgres


def _draft(source_id: str, sha: str) -> CandidateDraft:
    return CandidateDraft(
        source_id=source_id,
        source_kind="pdf",
        image_sha256=sha,
        image_file=f"/tmp/{sha}.png",
        fields={"modality": "X-ray", "finding": "Pneumonia/Viral/COVID-19"},
        page=1,
        xref=5,
        bbox=(1.0, 2.0, 3.0, 4.0),
        image_index=0,
        panel=None,
        caption="Figure 1. Chest radiograph",
        classifier_modality="xray",
        classifier_view="frontal",
        classifier_confidence=0.9,
        classifier_reasons=["ok"],
        evidence={},
        flags=[],
    )


def test_store_and_runs_on_postgres(postgres_url: str) -> None:
    store = Store.open(postgres_url)
    first = store.stage([_draft("pdf-1", "a" * 64), _draft("pdf-1", "b" * 64)])
    again = store.stage([_draft("pdf-1", "a" * 64)])
    assert len(first.staged) == 2 and again.staged == [] and again.existing == first.staged[:1]
    store.record_source("doi-10.1_x", "doi", "10.1/x", error="HTTP 503")
    store.record_source("doi-10.1_x", "doi", "10.1/x", images_found=1, candidates_staged=1)
    assert store.source("doi-10.1_x").status == "ok"
    assert store.source("doi-10.1_x").attempts == 2
    approved = store.decide([first.staged[0]], "approved", actor="tester")
    assert approved[0].fields["patientid"] == "1"

    run_id = store.runs.start(since=None)
    assert store.runs.last_successful_start() is None
    store.runs.finish(run_id, "ok", found=2, processed=2, failed=0, staged=2)
    assert store.runs.last_successful_start() is not None
