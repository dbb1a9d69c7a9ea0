"""Fingerprints to and from the store's packed form (the store keeps them as bytes).

The hashes are small and loaded all at once into a HashIndex; the thumbnails (about 5 kB
per variant, compressed) are read only for the few images a lookup shortlists.
"""

from __future__ import annotations

import numpy as np

from pipeline.dedupe.hashing import FINGERPRINT_VERSION, Fingerprint
from pipeline.dedupe.index import HashIndex
from pipeline.store import Store
from pipeline.store.fingerprints import Key, StoredFingerprint


def packed(fingerprint: Fingerprint) -> StoredFingerprint:
    return StoredFingerprint(
        sha256=fingerprint.sha256 or None,
        version=FINGERPRINT_VERSION,
        phash=fingerprint.phash,
        hashes=fingerprint.hashes_bytes(),
        thumbs=fingerprint.thumbs_bytes(),
    )


def load_index(store: Store) -> HashIndex:
    """Every current-version fingerprint's hashes, as one index (one query)."""
    index = HashIndex()
    for key, hashes in store.fingerprints.hashes(FINGERPRINT_VERSION):
        index.add(key, Fingerprint.hashes_from_bytes(hashes))
    return index


def load_thumbs(store: Store, key: Key) -> list[np.ndarray] | None:
    data = store.fingerprints.thumbs(key, FINGERPRINT_VERSION)
    return Fingerprint.thumbs_from_bytes(data) if data else None


def stored_keys(store: Store, kind: str) -> dict[str, str | None]:
    """ref -> sha256 of the current-version fingerprints of one kind."""
    return store.fingerprints.refs(kind, FINGERPRINT_VERSION)
