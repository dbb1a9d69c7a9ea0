"""Stored image fingerprints, as bytes: `pipeline.dedupe` packs and unpacks them.

One row per image: kind "candidate" (ref = candidate id) or "dataset" (ref = file name).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, insert, select, update

from pipeline.store.candidates import now
from pipeline.store.schema import candidates, image_fingerprints

Key = tuple[str, int | str]


@dataclass
class StoredFingerprint:
    """What the store keeps of one image's fingerprint."""

    sha256: str | None
    version: int
    phash: str
    hashes: bytes
    thumbs: bytes


def _where(key: Key) -> tuple:
    return (image_fingerprints.c.kind == key[0], image_fingerprints.c.ref == str(key[1]))


def delete_fingerprint(conn: Connection, key: Key) -> None:
    conn.execute(delete(image_fingerprints).where(*_where(key)))


def save_fingerprint(conn: Connection, key: Key, fingerprint: StoredFingerprint) -> None:
    """Insert or replace the fingerprint of one image (inside the caller's transaction)."""
    delete_fingerprint(conn, key)
    conn.execute(
        insert(image_fingerprints).values(
            kind=key[0],
            ref=str(key[1]),
            sha256=fingerprint.sha256 or None,
            version=fingerprint.version,
            hashes=fingerprint.hashes,
            thumbs=fingerprint.thumbs,
            created_at=now(),
        )
    )


class Fingerprints:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save_for_candidates(self, found: dict[int, StoredFingerprint]) -> None:
        """Each candidate's fingerprint and its phash column, in one transaction."""
        with self.engine.begin() as conn:
            for candidate_id, fingerprint in found.items():
                save_fingerprint(conn, ("candidate", candidate_id), fingerprint)
                conn.execute(
                    update(candidates)
                    .where(candidates.c.id == candidate_id)
                    .values(phash=fingerprint.phash)
                )

    def hashes(self, version: int, *, after_row: int = 0) -> Iterator[tuple[int, Key, bytes]]:
        """The fingerprints of this version in rows after `after_row` (all by default): row
        id, key and packed hashes (one query). A replaced fingerprint is a new row."""
        query = select(
            image_fingerprints.c.id,
            image_fingerprints.c.kind,
            image_fingerprints.c.ref,
            image_fingerprints.c.hashes,
        ).where(image_fingerprints.c.version == version, image_fingerprints.c.id > after_row)
        with self.engine.connect() as conn:
            for row, kind, ref, hashes in conn.execute(query.order_by(image_fingerprints.c.id)):
                yield row, ((kind, int(ref)) if kind == "candidate" else (kind, ref)), hashes

    def thumbs(self, key: Key, version: int) -> bytes | None:
        query = select(image_fingerprints.c.thumbs).where(
            *_where(key), image_fingerprints.c.version == version
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    def refs(self, kind: str, version: int) -> dict[str, str | None]:
        """ref -> sha256 of the fingerprints of one kind and version."""
        query = select(image_fingerprints.c.ref, image_fingerprints.c.sha256).where(
            image_fingerprints.c.kind == kind, image_fingerprints.c.version == version
        )
        with self.engine.connect() as conn:
            return {ref: sha for ref, sha in conn.execute(query)}
