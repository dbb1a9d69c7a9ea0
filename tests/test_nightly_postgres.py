"""The staging store and the run bookkeeping on a real PostgreSQL (one code path with SQLite).

A throwaway cluster is started in a temporary folder on 127.0.0.1 when PostgreSQL's
`initdb`/`pg_ctl` and the psycopg driver are installed; otherwise the tests skip.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.records import CandidateDraft
from pipeline.store import Store


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


INITDB, PG_CTL = _pg_bin("initdb"), _pg_bin("pg_ctl")
HAVE_DRIVER = importlib.util.find_spec("psycopg") is not None
pytestmark = pytest.mark.skipif(
    not (INITDB and PG_CTL and HAVE_DRIVER),
    reason="PostgreSQL (initdb, pg_ctl) or psycopg not installed",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_cluster_owner(command: list[str]) -> list[str]:
    # initdb refuses to run as root: run it as the `postgres` user the Debian package made.
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser")
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    # Not under pytest's tmp folder: that one is private to root, and the cluster's owner
    # must be able to reach its data directory.
    base = Path(tempfile.mkdtemp(prefix="pipeline-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        try:
            shutil.chown(base, "postgres")
        except (LookupError, PermissionError):
            shutil.rmtree(base, ignore_errors=True)
            pytest.skip("no postgres user to own a throwaway cluster")
    port = _free_port()
    subprocess.run(
        _as_cluster_owner([INITDB, "-D", str(data), "-A", "trust", "-U", "pipeline", "--no-sync"]),
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-h 127.0.0.1 -p {port} -k {base} -F"
    subprocess.run(
        _as_cluster_owner([PG_CTL, "-D", str(data), "-o", options, "-l", str(base / "log"),
                           "-w", "start"]),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql+psycopg://pipeline@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_cluster_owner([PG_CTL, "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


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
