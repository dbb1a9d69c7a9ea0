"""Flag staged candidates that repeat another candidate or an image of the dataset."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, update

from pipeline.dedupe.hashing import Fingerprint, fingerprint_file
from pipeline.dedupe.index import HashIndex
from pipeline.dedupe.matching import Key, find_matches
from pipeline.dedupe.storage import ensure_table, load_index, load_thumbs, save_fingerprint
from pipeline.errors import ImageReadError
from pipeline.store import Store, candidates, dataset_images

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
                query = select(candidates.c.image_sha256).where(candidates.c.id == int(key[1]))
            else:
                query = select(dataset_images.c.sha256).where(dataset_images.c.filename == key[1])
            with self.store.engine.connect() as conn:
                self.sha[key] = conn.execute(query).scalar()
        return self.sha[key]


def _same_bytes(store: Store, candidate_id: int, sha256: str) -> list[Key]:
    """Dataset rows, then other candidates, whose image has exactly these bytes (at most
    MAX_FLAGS of them)."""
    with store.engine.connect() as conn:
        others: list[Key] = [
            ("dataset", name)
            for name in conn.execute(
                select(dataset_images.c.filename)
                .where(dataset_images.c.sha256 == sha256)
                .order_by(dataset_images.c.id)
                .limit(MAX_FLAGS)
            ).scalars()
        ]
        others += [
            ("candidate", int(other))
            for other in conn.execute(
                select(candidates.c.id)
                .where(candidates.c.image_sha256 == sha256, candidates.c.id != candidate_id)
                .order_by(candidates.c.id)
                .limit(MAX_FLAGS)
            ).scalars()
        ]
    return others[:MAX_FLAGS]


def _fingerprint_candidates(store: Store, rows: list[dict[str, Any]]) -> dict[int, Fingerprint]:
    """Fingerprint each candidate's image file; store it and the candidate's phash."""
    found: dict[int, Fingerprint] = {}
    for row in rows:
        try:
            fingerprint = fingerprint_file(Path(row["image_file"]))
        except (ImageReadError, OSError) as exc:
            log.warning("candidate %s: cannot fingerprint its image: %s", row["id"], exc)
            continue
        fingerprint.sha256 = str(row["image_sha256"])
        found[int(row["id"])] = fingerprint
    with store.engine.begin() as conn:
        for candidate_id, fingerprint in found.items():
            save_fingerprint(conn, ("candidate", candidate_id), fingerprint)
            conn.execute(
                update(candidates)
                .where(candidates.c.id == candidate_id)
                .values(phash=fingerprint.phash)
            )
    return found


def _write_flags(store: Store, candidate_id: int, found: list[DuplicateMatch]) -> None:
    """Replace this candidate's duplicate flags for the matched images by the new texts."""
    with store.engine.begin() as conn:
        flags = conn.execute(
            select(candidates.c.flags).where(candidates.c.id == candidate_id)
        ).scalar_one()
        flags = list(flags or [])
        for match in found:
            prefix = flag_prefix(match.other_kind, match.other_id) + " ("
            flags = [flag for flag in flags if not flag.startswith(prefix)]
            flags.append(match.flag)
        conn.execute(update(candidates).where(candidates.c.id == candidate_id).values(flags=flags))


def flag_duplicates(
    store: Store, candidate_ids: list[int], *, index: HashIndex | None = None
) -> list[DuplicateMatch]:
    """Fingerprint these candidates and flag each one that repeats another stored image.

    Compares with every other candidate (any status) and every imported dataset image.
    Running it again on the same candidates adds no second flag. Pass `index` (from
    `storage.load_index`) to reuse one loaded index across calls in a run; the new
    candidates are added to it.
    """
    if not candidate_ids:
        return []
    ensure_table(store)
    with store.engine.connect() as conn:
        rows = [
            dict(row._mapping)
            for row in conn.execute(
                select(candidates.c.id, candidates.c.image_file, candidates.c.image_sha256).where(
                    candidates.c.id.in_(list(candidate_ids))
                )
            )
        ]
    fingerprints = _fingerprint_candidates(store, rows)
    if index is None:
        index = load_index(store)
    else:
        for candidate_id, fingerprint in fingerprints.items():
            index.add(("candidate", candidate_id), fingerprint.hashes)
    lookups = _Lookups(store)
    for candidate_id, fingerprint in fingerprints.items():
        lookups.thumbs[("candidate", candidate_id)] = fingerprint.thumbs
        lookups.sha[("candidate", candidate_id)] = fingerprint.sha256

    results: list[DuplicateMatch] = []
    for row in sorted(rows, key=lambda r: int(r["id"])):
        candidate_id = int(row["id"])
        sha256 = str(row["image_sha256"])
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
