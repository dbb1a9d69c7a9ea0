"""Fingerprints kept in the staging store, beside the candidates and dataset rows.

One row per image: kind "candidate" (ref = candidate id) or "dataset" (ref = file name).
The hashes are small and loaded all at once into a HashIndex; the thumbnails (about 5 kB
per variant, compressed) are read only for the few images a lookup shortlists.
The table lives in this module's own MetaData and is created on the store's engine on
first use, so the store module needs no change; it works on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    delete,
    insert,
    select,
)

from pipeline.dedupe.hashing import FINGERPRINT_VERSION, Fingerprint
from pipeline.dedupe.index import HashIndex
from pipeline.store import Store, now

metadata_obj = MetaData()

fingerprints = Table(
    "image_fingerprints",
    metadata_obj,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("ref", String(1024), nullable=False),
    Column("sha256", String(64), index=True),
    Column("version", Integer, nullable=False),
    Column("hashes", LargeBinary, nullable=False),
    Column("thumbs", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "ref", name="uq_fingerprint_image"),
)

Key = tuple[str, int | str]


def ensure_table(store: Store) -> None:
    metadata_obj.create_all(store.engine, checkfirst=True)


def _key(kind: str, ref: str) -> Key:
    return (kind, int(ref)) if kind == "candidate" else (kind, ref)


def delete_fingerprint(conn: Connection, key: Key) -> None:
    conn.execute(
        delete(fingerprints).where(fingerprints.c.kind == key[0], fingerprints.c.ref == str(key[1]))
    )


def save_fingerprint(conn: Connection, key: Key, fingerprint: Fingerprint) -> None:
    """Insert or replace the fingerprint of one image (inside the caller's transaction)."""
    kind, ref = key[0], str(key[1])
    delete_fingerprint(conn, key)
    conn.execute(
        insert(fingerprints).values(
            kind=kind,
            ref=ref,
            sha256=fingerprint.sha256 or None,
            version=FINGERPRINT_VERSION,
            hashes=fingerprint.hashes_bytes(),
            thumbs=fingerprint.thumbs_bytes(),
            created_at=now(),
        )
    )


def load_index(store: Store) -> HashIndex:
    """Every current-version fingerprint's hashes, as one index (one query)."""
    ensure_table(store)
    index = HashIndex()
    query = select(fingerprints.c.kind, fingerprints.c.ref, fingerprints.c.hashes).where(
        fingerprints.c.version == FINGERPRINT_VERSION
    )
    with store.engine.connect() as conn:
        for kind, ref, hashes in conn.execute(query):
            index.add(_key(kind, ref), Fingerprint.hashes_from_bytes(hashes))
    return index


def load_thumbs(store: Store, key: Key) -> list[np.ndarray] | None:
    query = select(fingerprints.c.thumbs).where(
        fingerprints.c.kind == key[0],
        fingerprints.c.ref == str(key[1]),
        fingerprints.c.version == FINGERPRINT_VERSION,
    )
    with store.engine.connect() as conn:
        data = conn.execute(query).scalar_one_or_none()
    return Fingerprint.thumbs_from_bytes(data) if data else None


def stored_keys(store: Store, kind: str) -> dict[str, str | None]:
    """ref -> sha256 of the current-version fingerprints of one kind."""
    ensure_table(store)
    query = select(fingerprints.c.ref, fingerprints.c.sha256).where(
        fingerprints.c.kind == kind, fingerprints.c.version == FINGERPRINT_VERSION
    )
    with store.engine.connect() as conn:
        return {ref: sha for ref, sha in conn.execute(query)}
