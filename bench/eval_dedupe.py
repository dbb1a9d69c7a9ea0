"""Duplicate detection on ../shared/data/images: recall of copies, false matches, speed.

For every image: rescaled (50%), re-compressed (JPEG q60), cropped (5% a side) and
bordered (8% white) copies are looked up among all originals; a copy counts as found when
its own original is among the matches. Then every original is looked up among the others:
a match between different `group`s is a false match; within one group (same patient or
paper: follow-up films, adjacent slices, panels) it is reported separately. Last, a
synthetic scale test times lookups among tens of thousands of stored hashes.

Run: .venv/bin/python bench/eval_dedupe.py  (PIPELINE_SHARED_DATA overrides the data path)
"""

from __future__ import annotations

import csv
import os
import sys
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "bench"))

import gate  # noqa: E402

from pipeline.classify.decode import load_image  # noqa: E402
from pipeline.dedupe.hashing import (  # noqa: E402
    Fingerprint,
    fingerprint_image,
    similarity,
    to_gray,
)
from pipeline.dedupe.index import HashIndex  # noqa: E402
from pipeline.dedupe.matching import MAX_HASH_DISTANCE, MIN_SIMILARITY, find_matches  # noqa: E402

DATA = Path(os.environ.get("PIPELINE_SHARED_DATA", REPO.parent / "shared" / "data"))
IMAGES = DATA / "images"
SCALE_TEST_SIZE = 30_000


def rescaled(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)


def recompressed(image: np.ndarray) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 60])
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)


def cropped(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    dy, dx = int(h * 0.05), int(w * 0.05)
    return image[dy : h - dy, dx : w - dx]


def bordered(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    pad = max(4, int(0.08 * max(h, w)))
    white = 255 if image.ndim == 2 else (255, 255, 255)
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=white)


def cropped_one_side(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return image[int(h * 0.10) :, : w - int(w * 0.08)]


def cropped_10(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    dy, dx = int(h * 0.10), int(w * 0.10)
    return image[dy : h - dy, dx : w - dx]


def arrow_added(image: np.ndarray) -> np.ndarray:
    marked = image.copy()
    h, w = image.shape[:2]
    colour = 255 if image.ndim == 2 else (0, 255, 255)
    start, end = (int(w * 0.75), int(h * 0.2)), (int(w * 0.6), int(h * 0.4))
    cv2.arrowedLine(marked, start, end, colour, max(2, w // 150), tipLength=0.3)
    return marked


def all_together(image: np.ndarray) -> np.ndarray:
    return bordered(recompressed(rescaled(cropped(image))))


TRANSFORMS = {
    "rescaled 50%": rescaled,
    "JPEG q60": recompressed,
    "cropped 5%": cropped,
    "bordered": bordered,
}
# Not part of the target: how far the same rules reach.
EXTRA_TRANSFORMS = {
    "crop 10%+8% on two sides": cropped_one_side,
    "cropped 10%": cropped_10,
    "arrow drawn": arrow_added,
    "all four at once": all_together,
}


def build_index(fingerprints: list[Fingerprint]) -> HashIndex:
    index = HashIndex()
    for i, fingerprint in enumerate(fingerprints):
        index.add(("dataset", i), fingerprint.hashes)
    return index


def main() -> int:
    if not (IMAGES / "labels.csv").exists():
        print(f"eval_dedupe: skipped, {IMAGES / 'labels.csv'} not found")
        return 0
    with open(IMAGES / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    images = [load_image(IMAGES / "files" / row["file"]) for row in rows]
    started = time.perf_counter()
    originals = [fingerprint_image(image) for image in images]
    per_image_ms = (time.perf_counter() - started) / len(images) * 1000
    index = build_index(originals)

    def thumbs_of(key: tuple[str, int | str]) -> list[np.ndarray]:
        return originals[int(key[1])].thumbs

    n = len(rows)
    print(f"duplicate detection on {n} images ({Counter(r['modality'] for r in rows)})")
    print(f"thresholds: hash shortlist <= {MAX_HASH_DISTANCE} bits of 64, "
          f"aligned detail similarity >= {MIN_SIMILARITY}")  # fmt: skip
    print(f"fingerprint: {per_image_ms:.1f} ms per decoded image\n")

    def recall(name: str, transform: object) -> tuple[int, int]:
        found = extra = 0
        own_hash: list[int] = []
        missed: list[str] = []
        wrong: list[str] = []
        scores: list[float] = []
        for i, image in enumerate(images):
            copy = fingerprint_image(transform(image))  # type: ignore[operator]
            own_hash.append(int(index.distances(copy.hashes)[i]))
            matches = find_matches(copy, index, thumbs_of)
            own = [m for m in matches if m.key[1] == i]
            if own:
                found += 1
                scores.append(1 - own[0].distance)
            else:
                missed.append(rows[i]["file"])
            for m in matches:
                if rows[int(m.key[1])]["group"] != rows[i]["group"]:
                    extra += 1
                    wrong.append(f"{rows[i]['file']} ~ {rows[int(m.key[1])]['file']} "
                                 f"(distance {m.distance})")  # fmt: skip
        low = np.percentile(scores, [0, 1, 5]) if scores else [0, 0, 0]
        print(f"  {name:24} {found}/{n} = {found / n:6.1%}   similarity min {low[0]:.2f} "
              f"p1 {low[1]:.2f} p5 {low[2]:.2f}   hash p99 {np.percentile(own_hash, 99):4.1f} "
              f"max {max(own_hash):2}   "
              f"other-group matches {extra}")  # fmt: skip
        for file in missed[:5]:
            print(f"      missed: {file}")
        for pair in wrong[:5]:
            print(f"      copy matched another group's image: {pair}")
        return found, extra

    print("recall of copies (copy finds its original; similarity of that match; hash distance")
    print("from copy to original; matches of the copy with images of other groups)")
    total_found = total = 0
    for name, transform in TRANSFORMS.items():
        found, _ = recall(name, transform)
        total_found += found
        total += n
    print(f"  {'all':24} {total_found}/{total} = {total_found / total:6.1%}")
    figures = {"copy_recall": total_found / total}
    print("  beyond the target:")
    for name, transform in EXTRA_TRANSFORMS.items():
        recall(name, transform)
    print()

    print("matches between distinct originals")
    false_images: set[int] = set()
    false_ct: set[int] = set()
    same_group: list[tuple[str, str, float]] = []
    cross: list[tuple[str, str, float]] = []
    exact = 0
    for i, fingerprint in enumerate(originals):
        for match in find_matches(fingerprint, index, thumbs_of, exclude=("dataset", i)):
            j = int(match.key[1])
            if j < i:
                continue
            pair = (rows[i]["file"], rows[j]["file"], match.distance)
            if match.distance == 0 and np.array_equal(images[i], images[j]):
                exact += 1
            if rows[i]["group"] == rows[j]["group"]:
                same_group.append(pair)
                continue
            cross.append(pair)
            false_images.update((i, j))
            if rows[i]["modality"] == "ct" and rows[j]["modality"] == "ct":
                false_ct.update((i, j))
    n_ct = sum(1 for r in rows if r["modality"] == "ct")
    figures["false_match_image_rate"] = len(false_images) / n
    print(f"  false matches (different groups): {len(cross)} pairs, {len(false_images)} images "
          f"= {len(false_images) / n:.2%} of images")  # fmt: skip
    print(f"  among CT: {len(false_ct)} of {n_ct} CT images = {len(false_ct) / max(1, n_ct):.2%}")
    for a, b, d in cross[:10]:
        print(f"      {a} ~ {b} (distance {d})")
    print(f"  same group (follow-up films, repeated figures; not counted as false): "
          f"{len(same_group)} pairs, {exact} pixel-identical")  # fmt: skip
    for a, b, d in same_group[:10]:
        print(f"      {a} ~ {b} (distance {d})")

    cross_scores: list[tuple[float, str, str]] = []
    for i, fingerprint in enumerate(originals):
        for key, _ in index.near(fingerprint.hashes, MAX_HASH_DISTANCE):
            j = int(key[1])
            if j > i and rows[i]["group"] != rows[j]["group"]:
                score = similarity(fingerprint.thumbs, originals[j].thumbs)
                kinds = f"{rows[i]['modality']}/{rows[j]['modality']}"
                cross_scores.append((score, kinds, f"{rows[i]['file']} ~ {rows[j]['file']}"))
    cross_scores.sort(reverse=True)
    print(f"  margin: highest similarity between different groups ({len(cross_scores)} "
          f"shortlisted pairs), threshold {MIN_SIMILARITY}")  # fmt: skip
    for score, kinds, names in cross_scores[:5]:
        print(f"      {score:.3f} {kinds:9} {names}")
    ct_scores = [score for score, kinds, _ in cross_scores if kinds == "ct/ct"]
    if ct_scores:
        print(f"      highest CT/CT: {max(ct_scores):.3f} over {len(ct_scores)} pairs")

    print(f"\nscale test: {SCALE_TEST_SIZE} stored images")
    rng = np.random.default_rng(0)
    big = HashIndex()
    started = time.perf_counter()
    variants = [cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE]
    # realistic hash statistics: rotated, flipped and shifted crops of the real images
    synthetic: list[list[int]] = []
    grays = [cv2.resize(to_gray(im), (160, 160), interpolation=cv2.INTER_AREA) for im in images]
    while len(synthetic) < SCALE_TEST_SIZE:
        gray = grays[int(rng.integers(len(grays)))]
        top, left = (int(v) for v in rng.integers(0, 32, size=2))
        piece = gray[top : top + 128, left : left + 128]
        piece = cv2.rotate(piece, variants[int(rng.integers(3))])
        if rng.random() < 0.5:
            piece = cv2.flip(piece, 1)
        synthetic.append(fingerprint_image(piece).hashes)
    build_s = time.perf_counter() - started
    for k, hashes in enumerate(synthetic):
        big.add(("candidate", k), hashes)
    for i, fingerprint in enumerate(originals):
        big.add(("dataset", i), fingerprint.hashes)
    started = time.perf_counter()
    shortlist = [len(big.near(fp.hashes, MAX_HASH_DISTANCE)) for fp in originals]
    lookup_ms = (time.perf_counter() - started) / n * 1000
    print(f"  {len(big)} hashed images (synthetic ones made in {build_s:.0f} s)")
    median, p95 = int(np.median(shortlist)), int(np.percentile(shortlist, 95))
    print(f"  hash lookup: {lookup_ms:.1f} ms per query; shortlist median {median}, p95 {p95}")
    started = time.perf_counter()
    for i in range(50):
        similarity(originals[i].thumbs, originals[i + 1].thumbs)
    verify_ms = (time.perf_counter() - started) / 50 * 1000
    print(f"  detail check: {verify_ms:.1f} ms per shortlisted pair")
    print(f"  estimated lookup with checks: {lookup_ms + verify_ms * median:.0f} ms median, "
          f"{lookup_ms + verify_ms * p95:.0f} ms p95")  # fmt: skip
    return gate.check("dedupe", figures)


if __name__ == "__main__":
    raise SystemExit(main())
