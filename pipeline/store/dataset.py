"""Rows of an existing dataset, imported so that its images are never proposed again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, insert, select, update

from pipeline.store.candidates import now
from pipeline.store.fingerprints import StoredFingerprint, delete_fingerprint, save_fingerprint
from pipeline.store.schema import dataset_images


class DatasetImages:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def has_image(self, sha256: str) -> bool:
        """Whether an imported dataset image has exactly these bytes."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(dataset_images.c.id).where(dataset_images.c.sha256 == sha256).limit(1)
            ).first()
        return found is not None

    def filenames_with(self, sha256: str, limit: int) -> list[str]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(dataset_images.c.filename)
                    .where(dataset_images.c.sha256 == sha256)
                    .order_by(dataset_images.c.id)
                    .limit(limit)
                ).scalars()
            )

    def sha256_of(self, filename: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(dataset_images.c.sha256).where(dataset_images.c.filename == filename)
            ).scalar()

    def rows(self) -> list[dict[str, Any]]:
        """The imported rows (dataset columns), in import order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(dataset_images.c.row).order_by(dataset_images.c.id)
            ).scalars()
            return [dict(row or {}) for row in rows]

    def stored(self) -> dict[str, tuple[dict[str, Any] | None, str | None]]:
        """file name -> (row, sha256) of every imported row."""
        with self.engine.connect() as conn:
            return {
                filename: (row, sha)
                for filename, row, sha in conn.execute(
                    select(dataset_images.c.filename, dataset_images.c.row, dataset_images.c.sha256)
                )
            }

    def save(
        self,
        filename: str,
        row: dict[str, Any],
        sha256: str | None,
        *,
        fingerprint: StoredFingerprint | None,
        forget_fingerprint: bool,
    ) -> str:
        """Add or update one imported row with its image's fingerprint, in one transaction;
        "added", "updated" or "unchanged"."""
        values: dict[str, Any] = {"patientid": row.get("patientid"), "row": row, "sha256": sha256}
        if fingerprint is not None:
            values["phash"] = fingerprint.phash
        elif forget_fingerprint:
            values["phash"] = None
        key = ("dataset", filename)
        with self.engine.begin() as conn:
            before = conn.execute(
                select(dataset_images.c.row, dataset_images.c.sha256).where(
                    dataset_images.c.filename == filename
                )
            ).first()
            if before is None:
                conn.execute(
                    insert(dataset_images).values(filename=filename, imported_at=now(), **values)
                )
                outcome = "added"
            elif before[0] != row or before[1] != sha256 or fingerprint is not None:
                conn.execute(
                    update(dataset_images)
                    .where(dataset_images.c.filename == filename)
                    .values(**values)
                )
                outcome = "updated"
            else:
                outcome = "unchanged"
            if fingerprint is not None:
                save_fingerprint(conn, key, fingerprint)
            elif forget_fingerprint:
                delete_fingerprint(conn, key)
        return outcome
