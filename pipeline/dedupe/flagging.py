"""Flag staged candidates that repeat another candidate or an image of the dataset."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.dedupe.hashing import Fingerprint, fingerprint_file
from pipeline.dedupe.matching import Key, find_matches
from pipeline.dedupe.storage import current_index, load_thumbs, packed
from pipeline.errors import ImageReadError
from pipeline.store import Candidate, Store

log = logging.getLogger(__name__)


# Flags per candidate: enough for a reviewer to compare, bounded for images copied widely.
MAX_FLAGS = 5


@dataclass
class DuplicateMatch:
    candidate_id: int
    other_kind: str  # "candidate" or "dataset"
    other_id: int | str  # candidate id, or the dataset row's file name
    distance: float  # 0.0 = same bytes; grows as the copies differ (1 - detail similarity)

    @property
    def flag(self) -> str:
        return f"{flag_prefix(self.other_kind, self.other_id)} (distance {self.distance})"


def flag_prefix(kind: str, other_id: int | str) -> str:
    what = "candidate" if kind == "candidate" else "dataset image"
    return f"possible duplicate of {what} {other_id}"


class _Lookups:
    """Thumbnails and sha256 of stored images, read once per key."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.thumbs: dict[Key, list[np.ndarray] | None] = {}
        self.sha: dict[Key, str | None] = {}

    def thumbs_of(self, key: Key) -> list[np.ndarray] | None:
        if key not in self.thumbs:
            self.thumbs[key] = load_thumbs(self.store, key)
        return self.thumbs[key]

    def sha_of(self, key: Key) -> str | None:
        if key not in self.sha:
            if key[0] == "candidate":
                found = self.store.candidates(ids=[int(key[1])])
                self.sha[key] = found[0].image_sha256 if found else None
            else:
                self.sha[key] = self.store.dataset.sha256_of(str(key[1]))
        return self.sha[key]


def _same_bytes(store: Store, candidate_id: int, sha256: str) -> list[Key]:
    """Dataset rows, then other candidates, whose image has exactly these bytes (at most
    MAX_FLAGS of them)."""
    others: list[Key] = [
        ("dataset", name) for name in store.dataset.filenames_with(sha256, MAX_FLAGS)
    ]
    others += [
        ("candidate", other)
        for other in store.candidate_ids_with_image(sha256, excluding=candidate_id, limit=MAX_FLAGS)
    ]
    return others[:MAX_FLAGS]


def _fingerprint_candidates(store: Store, rows: list[Candidate]) -> dict[int, Fingerprint]:
    """Fingerprint each candidate's image file; store it and the candidate's phash."""
    found: dict[int, Fingerprint] = {}
    for row in rows:
        try:
            fingerprint = fingerprint_file(Path(row.image_file), row.image_sha256)
        except (ImageReadError, OSError) as exc:
            log.warning("candidate %s: cannot fingerprint its image: %s", row.id, exc)
            continue
        found[row.id] = fingerprint
    store.fingerprints.save_for_candidates(
        {candidate_id: packed(fingerprint) for candidate_id, fingerprint in found.items()}
    )
    return found


def _write_flags(store: Store, candidate_id: int, found: list[DuplicateMatch]) -> None:
    """Replace this candidate's duplicate flags for the matched images by the new texts."""
    store.add_flags(
        candidate_id,
        [match.flag for match in found],
        replacing=tuple(flag_prefix(match.other_kind, match.other_id) + " (" for match in found),
        actor="duplicate check",
    )


def flag_duplicates(store: Store, candidate_ids: list[int]) -> list[DuplicateMatch]:
    """Fingerprint these candidates and flag each one that repeats another stored image.

    Compares with every other candidate (any status) and every imported dataset image.
    Running it again on the same candidates adds no second flag. The store's live index is
    brought up to date first (`storage.LiveIndex`: it holds the candidates just saved).
    """
    if not candidate_ids:
        return []
    rows = store.candidates(ids=candidate_ids)
    fingerprints = _fingerprint_candidates(store, rows)
    index = current_index(store)
    lookups = _Lookups(store)
    for candidate_id, fingerprint in fingerprints.items():
        lookups.thumbs[("candidate", candidate_id)] = fingerprint.thumbs
        lookups.sha[("candidate", candidate_id)] = fingerprint.sha256

    results: list[DuplicateMatch] = []
    for row in rows:
        candidate_id = row.id
        sha256 = row.image_sha256
        found: dict[Key, float] = {key: 0.0 for key in _same_bytes(store, candidate_id, sha256)}
        fingerprint = fingerprints.get(candidate_id)
        if fingerprint is not None and len(found) < MAX_FLAGS:
            for match in find_matches(
                fingerprint,
                index,
                lookups.thumbs_of,
                exclude=("candidate", candidate_id),
                same_bytes=lambda key, sha=sha256: lookups.sha_of(key) == sha,
                skip=found.keys(),
                limit=MAX_FLAGS - len(found),
            ):
                found.setdefault(match.key, match.distance)
        matches = [
            DuplicateMatch(candidate_id, kind, other, distance)
            for (kind, other), distance in sorted(found.items(), key=lambda item: item[1])
        ]
        if matches:
            _write_flags(store, candidate_id, matches)
        results.extend(matches)
    return results
