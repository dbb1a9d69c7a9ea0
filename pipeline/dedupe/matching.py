"""Decide which stored images a fingerprint duplicates: hash shortlist, then detail check.

The thresholds were chosen on the dev images (bench/eval_dedupe.py) with margin on both
sides: copies made by resizing, JPEG re-compression, 5% crops and borders score far above
MIN_SIMILARITY, and different images, different CT slices of one patient included, far
below it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np

from pipeline.dedupe.hashing import Fingerprint, similarity
from pipeline.dedupe.index import HashIndex

# Loose: the shortlist only bounds how many pairs get the (slower) detail check.
MAX_HASH_DISTANCE = 12
# Aligned detail correlation above which two images are the same picture.
MIN_SIMILARITY = 0.55

Key = tuple[str, int | str]


@dataclass
class Match:
    key: Key
    distance: float  # 1 - similarity, rounded; 0.0 for the same bytes
    hash_distance: int


def find_matches(
    fingerprint: Fingerprint,
    index: HashIndex,
    thumbs_of: Callable[[Key], list[np.ndarray] | None],
    *,
    exclude: Key | None = None,
    same_bytes: Callable[[Key], bool] | None = None,
    skip: Collection[Key] = (),
    limit: int | None = None,
) -> list[Match]:
    """Stored images that are copies of the fingerprinted one, nearest first.

    With `limit`, stops after that many copies among the nearest hashes: an image copied
    into hundreds of sources is flagged against a few of them, not compared with all.
    """
    matches: list[Match] = []
    for key, hash_distance in index.near(fingerprint.hashes, MAX_HASH_DISTANCE):
        if limit is not None and len(matches) >= limit:
            break
        if key == exclude or key in skip:
            continue
        if same_bytes is not None and same_bytes(key):
            matches.append(Match(key, 0.0, hash_distance))
            continue
        thumbs = thumbs_of(key)
        if not thumbs:
            continue
        score = similarity(fingerprint.thumbs, thumbs)
        if score >= MIN_SIMILARITY:
            matches.append(Match(key, round(max(0.0, 1.0 - score), 3), hash_distance))
    matches.sort(key=lambda match: match.distance)
    return matches
