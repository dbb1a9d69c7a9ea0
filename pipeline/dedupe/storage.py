"""Fingerprints to and from the store's packed form (the store keeps them as bytes).

The hashes are small and loaded all at once into a HashIndex; the thumbnails (about 5 kB
per variant, compressed) are read only for the few images a lookup shortlists.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable

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
    """Every current-version fingerprint's hashes, as one index read afresh (one query)."""
    return LiveIndex().snapshot(store)


class LiveIndex:
    """The hashes of one store's fingerprints, kept current for a run that stages source
    after source (a nightly, a backfill batch) by reading only the rows added since the last
    look instead of the whole table each time (which grows with every paper).

    A fingerprint is replaced by deleting its row and inserting another, so every change is
    a new row; a key whose row is gone has no thumbnails and is never matched. Rows are read
    again from LOOKBACK_ROWS below the highest seen, which covers rows committed out of id
    order by concurrent writers and SQLite reusing the id of a deleted last row. A row whose
    id was taken long before it was committed (a PostgreSQL transaction held open while
    hundreds of others commit) can fall below that; so the whole table is read afresh every
    FULL_READ_SECONDS, which bounds how long such a row goes unseen.
    """

    LOOKBACK_ROWS = 512
    FULL_READ_SECONDS = 600.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._index = HashIndex()
        self._highest = 0
        self._read_all_at: float | None = None
        self._lock = threading.Lock()

    def snapshot(self, store: Store) -> HashIndex:
        """The index as the store holds it now; a copy the caller may add to. The rows are
        read in full before any is added, so a read that fails leaves the index as it was."""
        with self._lock:
            now = self._clock()
            full = self._read_all_at is None or now - self._read_all_at >= self.FULL_READ_SECONDS
            highest = 0 if full else self._highest
            after = max(0, highest - self.LOOKBACK_ROWS)
            rows = list(store.fingerprints.hashes(FINGERPRINT_VERSION, after_row=after))
            index = HashIndex() if full else self._index
            for row, key, hashes in rows:
                index.add(key, Fingerprint.hashes_from_bytes(hashes))
                highest = max(highest, row)
            self._index, self._highest = index, highest
            if full:
                self._read_all_at = now
            return self._index.copy()


_live: weakref.WeakKeyDictionary[Store, LiveIndex] = weakref.WeakKeyDictionary()
_live_lock = threading.Lock()


def current_index(store: Store) -> HashIndex:
    """Every current-version fingerprint's hashes, read incrementally through the one
    LiveIndex of this open store (it lives as long as the store object)."""
    with _live_lock:
        live = _live.setdefault(store, LiveIndex())
    return live.snapshot(store)


def load_thumbs(store: Store, key: Key) -> list[np.ndarray] | None:
    data = store.fingerprints.thumbs(key, FINGERPRINT_VERSION)
    return Fingerprint.thumbs_from_bytes(data) if data else None


def stored_keys(store: Store, kind: str) -> dict[str, str | None]:
    """ref -> sha256 of the current-version fingerprints of one kind."""
    return store.fingerprints.refs(kind, FINGERPRINT_VERSION)
