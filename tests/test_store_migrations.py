"""The store's schema is migrated, never recreated: old stores open with today's code."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from pipeline.records import CandidateDraft
from pipeline.store import Store
from pipeline.store.migrate import BASELINE, current_revision, head_revision, migrate
from pipeline.store.schema import metadata_obj

BEFORE_MIGRATIONS = Path(__file__).parent / "fixtures" / "store" / "staging-before-migrations.sql"


def test_a_store_made_before_migrations_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "staging.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(BEFORE_MIGRATIONS.read_text())
    store = Store.open(path)
    with store.engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        tables = set(inspect(connection).get_table_names())
    assert {"image_fingerprints", "runs"} <= tables
    [approved, pending] = store.candidates()
    assert (approved.status, approved.fields["age"], approved.flags) == (
        "approved", "54", ["low confidence"],
    )  # fmt: skip
    assert [entry.action for entry in store.audit(approved.id)] == ["approved"]
    gone = store.source("doi-10.1_gone")
    assert gone.status == "failed" and gone.failed_step is None and gone.attempts == 1
    # ... and today's code works on it
    store.decide([pending.id], "rejected", actor="ana", reason="not a chest image")
    store.record_source("doi-10.1_gone", "doi", "10.1/gone", error="timed out",
                        failed_step="fetch-doi")  # fmt: skip
    assert store.source("doi-10.1_gone").failed_step == "fetch-doi"
    assert store.runs.last_successful_start() is None


def test_the_migrations_build_exactly_the_schema_the_code_declares(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    assert migrate(engine) == head_revision()
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata_obj)
    assert differences == []


def test_opening_an_up_to_date_store_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "staging.sqlite"
    Store.open(path).stage([CandidateDraft("pdf-1", "pdf", "c" * 64, "x.png")])
    before = path.read_bytes()
    assert len(Store.open(path).candidates()) == 1
    assert migrate(Store.open(path).engine) == head_revision()
    assert path.read_bytes() == before


@pytest.mark.parametrize("revision", [BASELINE, "0002"])
def test_each_revision_upgrades_to_the_newest(tmp_path: Path, revision: str) -> None:
    from alembic import command

    from pipeline.store.migrate import _alembic_config

    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)
    store = Store(engine)
    store.record_source("pdf-2", "pdf", "/x.pdf", error="bad", failed_step="check-pdf")
    assert store.source("pdf-2").failed_step == "check-pdf"


def test_the_code_knows_its_head_revision() -> None:
    from pipeline.store.migrate import newest_revision

    assert head_revision() == newest_revision()


def test_a_store_at_the_head_opens_without_loading_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "staging.sqlite"
    Store.open(path).engine.dispose()
    probe = (
        "import sys; from pipeline.store import Store; "
        f"Store.open({str(path)!r}); print('alembic' in sys.modules)"
    )
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
