"""Fingerprints of an image: its exact sha256, perceptual hashes and a small detail thumbnail.

Two images are the same radiograph when one is a resized, re-compressed, cropped or padded
copy of the other. A perceptual hash alone cannot tell that apart from a different slice of
the same kind: all axial CT slices share a round body on black, so coarse hashes of
different patients' slices are close. The fingerprint therefore has two parts:

- 64-bit DCT hashes (pHash) of the image with and without its uniform padding, each of the
  whole picture and of windows that cut 5-10% off the centre, one side or one corner, so that
  a copy cropped by up to about 10% (evenly or not) has its whole-picture hash close to one
  of the original's windows. They find candidates quickly (see `index.py`).
- A grey thumbnail (long side 96 px) of each variant. `similarity` aligns two thumbnails over
  scale and shift and correlates their fine detail (the image minus its blur, squashed so
  that an added arrow or label weighs little): vessels, ribs, text and noise of one picture,
  which a different picture does not share.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

# Bump when any step below changes: stored fingerprints of another version are ignored
# until `flag-duplicates` or `import-dataset` computes them again.
FINGERPRINT_VERSION = 1

# Windows hashed per variant, as fractions cut from (top, bottom, left, right); whole first.
WINDOWS: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 0.0, 0.0, 0.0),
    (0.05, 0.05, 0.05, 0.05),
    (0.10, 0.10, 0.10, 0.10),
    (0.10, 0.0, 0.0, 0.0),
    (0.0, 0.10, 0.0, 0.0),
    (0.0, 0.0, 0.10, 0.0),
    (0.0, 0.0, 0.0, 0.10),
    (0.10, 0.0, 0.10, 0.0),
    (0.10, 0.0, 0.0, 0.10),
    (0.0, 0.10, 0.10, 0.0),
    (0.0, 0.10, 0.0, 0.10),
)
THUMB_SIDE = 96
# Larger images are reduced to this long side before anything else: every hash and thumbnail
# is a reduction far below it, and full-size working copies of a 144 MP image cost ~1 GB.
# Images up to it are fingerprinted exactly as before (no FINGERPRINT_VERSION bump).
WORK_SIDE = 2048
PAD_TOLERANCE = 12  # grey levels around the padding colour
PAD_COVER = 0.98  # share of a row that must be padding colour for the row to be padding
TEMPLATE_MARGIN = 0.15  # the template is the central 70% of a thumbnail
# Relative scales tried when aligning thumbnails: every 0.05, then 0.025 around the best.
COARSE_SCALES = (0.80, 0.85, 0.90, 0.95, 1.00, 1.05, 1.10, 1.15, 1.20, 1.25)
FINE_STEP = 0.025
MIN_VARIANCE_RATIO = 0.25  # a window with under a quarter of the template's detail cannot match
DETAIL_SIGMA = 2.0
DETAIL_SQUASH = 3.0  # detail beyond ~3x its median size counts about the same
# Grey levels: on flat figures (charts on white) the median detail is ~0, and without a
# floor every speck of noise would count as much as a line of the drawing.
DETAIL_FLOOR = 1.0


@dataclass
class Fingerprint:
    """What is stored per image. `hashes` has len(WINDOWS) entries per variant."""

    sha256: str
    hashes: list[int]
    thumbs: list[np.ndarray]  # uint8 grey, one per variant (untrimmed, trimmed)

    @property
    def phash(self) -> str:
        """The untrimmed full-image pHash and the trimmed one, as hex (the `phash` column)."""
        main = self.hashes[0]
        trimmed = self.hashes[len(WINDOWS)] if len(self.hashes) > len(WINDOWS) else main
        return f"{main:016x}{trimmed:016x}"

    def hashes_bytes(self) -> bytes:
        return struct.pack(f"<{len(self.hashes)}Q", *self.hashes)

    def thumbs_bytes(self) -> bytes:
        """The thumbnails, zlib-compressed (about half their 9 kB each)."""
        parts = [struct.pack("<B", len(self.thumbs))]
        for thumb in self.thumbs:
            h, w = thumb.shape
            parts.append(struct.pack("<BB", h, w))
            parts.append(np.ascontiguousarray(thumb, dtype=np.uint8).tobytes())
        return zlib.compress(b"".join(parts), 6)

    @staticmethod
    def hashes_from_bytes(data: bytes) -> list[int]:
        return list(struct.unpack(f"<{len(data) // 8}Q", data))

    @staticmethod
    def thumbs_from_bytes(compressed: bytes) -> list[np.ndarray]:
        data = zlib.decompress(compressed)
        count = data[0]
        offset = 1
        thumbs = []
        for _ in range(count):
            h, w = data[offset], data[offset + 1]
            offset += 2
            thumb = np.frombuffer(data, dtype=np.uint8, count=h * w, offset=offset).reshape(h, w)
            thumbs.append(thumb)
            offset += h * w
        return thumbs


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        return cv2.cvtColor(image, code)
    return image


def _padding_rows(rows: np.ndarray) -> int:
    """How many leading rows are one uniform colour (0 when the first row is not)."""
    first = rows[0]
    colour = int(np.median(first))
    close = np.abs(rows - colour) <= PAD_TOLERANCE
    uniform = close.mean(axis=1) >= PAD_COVER
    return len(uniform) if uniform.all() else int(np.argmin(uniform))


def trim_padding(gray: np.ndarray) -> np.ndarray:
    """The image without uniform bands at its edges (nested bands of other colours too)."""
    image = gray
    for _ in range(4):
        values = image.astype(np.int16)
        top = _padding_rows(values)
        bottom = values.shape[0] - _padding_rows(values[::-1])
        left = _padding_rows(values.T)
        right = values.shape[1] - _padding_rows(values.T[::-1])
        if bottom - top < 16 or right - left < 16:
            return image
        if (top, bottom, left, right) == (0, values.shape[0], 0, values.shape[1]):
            return image
        image = image[top:bottom, left:right]
    return image


def window(gray: np.ndarray, cut: tuple[float, float, float, float]) -> np.ndarray:
    h, w = gray.shape
    top, bottom, left, right = cut
    return gray[round(h * top) : h - round(h * bottom), round(w * left) : w - round(w * right)]


def dct_hash(gray: np.ndarray) -> int:
    """64-bit pHash: signs of the 8x8 lowest DCT coefficients of a 32x32 reduction vs median."""
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].flatten()
    bits = low > np.median(low)
    return int(np.packbits(bits).view(">u8")[0])


def thumbnail(gray: np.ndarray) -> np.ndarray:
    h, w = gray.shape
    scale = THUMB_SIDE / max(h, w)
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def fingerprint_image(image: np.ndarray, sha256: str = "") -> Fingerprint:
    """Fingerprint a decoded gray or BGR uint8 array."""
    from pipeline.classify.decode import shrunk

    gray = shrunk(to_gray(image), WORK_SIDE)
    variants = [gray]
    trimmed = trim_padding(gray)
    if trimmed.shape != gray.shape:
        variants.append(trimmed)
    hashes = [dct_hash(window(variant, cut)) for variant in variants for cut in WINDOWS]
    return Fingerprint(sha256=sha256, hashes=hashes, thumbs=[thumbnail(v) for v in variants])


def fingerprint_file(path: Path, sha256: str | None = None) -> Fingerprint:
    """Fingerprint an image file (any format `pipeline.classify.decode` reads); `sha256`:
    the file's, when the caller knows it already.

    Raises ImageReadError when the file cannot be read or decoded.
    """
    from pipeline.classify.decode import load_image

    return fingerprint_image(load_image(Path(path)), sha256 or file_sha256(Path(path)))


def _detail(thumb: np.ndarray) -> np.ndarray:
    """Fine detail, squashed so that a few strong edges (an arrow, a label) cannot dominate."""
    values = thumb.astype(np.float32)
    detail = values - cv2.GaussianBlur(values, (0, 0), DETAIL_SIGMA)
    typical = DETAIL_SQUASH * max(float(np.median(np.abs(detail))), DETAIL_FLOOR)
    return np.tanh(detail / typical)


@functools.lru_cache(maxsize=128)  # about 200 kB each; a lookup uses about 30
def _scaled_detail(
    data: bytes, shape: tuple[int, int], scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Detail of a thumbnail resized by `scale`, with integral tables of it and its square.

    Cached: a lookup compares one new image with each shortlisted one at the same scales.
    """
    image = np.frombuffer(data, dtype=np.uint8).reshape(shape)
    size = (round(shape[1] * scale), round(shape[0] * scale))
    if min(size) < 2:
        return None
    detail = _detail(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    return detail, cv2.integral(detail), cv2.integral(detail * detail)


def _window_variance(sums: np.ndarray, squares: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Variance of every window of `shape`, laid out like matchTemplate's result."""
    h, w = shape
    count = float(h * w)

    def window_sums(table: np.ndarray) -> np.ndarray:
        return table[h:, w:] - table[:-h, w:] - table[h:, :-w] + table[:-h, :-w]

    mean = window_sums(sums) / count
    return window_sums(squares) / count - mean * mean


def _score_at(image: np.ndarray, template: np.ndarray, scale: float) -> float:
    scaled = _scaled_detail(image.tobytes(), image.shape, scale)
    if scaled is None:
        return -1.0
    detail, sums, squares = scaled
    if detail.shape[0] < template.shape[0] or detail.shape[1] < template.shape[1]:
        return -1.0
    scores = cv2.matchTemplate(detail, template, cv2.TM_CCOEFF_NORMED)
    # matchTemplate's normalisation is unstable on near-flat windows (white page around a
    # chart) and can return 1 there; a copy's window has about the template's own detail.
    variance = _window_variance(sums, squares, template.shape)
    scores[variance < MIN_VARIANCE_RATIO * float(template.var())] = 0.0
    return float(scores.max())


def _aligned_correlation(image: np.ndarray, other: np.ndarray) -> float:
    """Best correlation of the centre of `other` placed anywhere in `image`, over scales."""
    h, w = other.shape
    mh, mw = round(h * TEMPLATE_MARGIN), round(w * TEMPLATE_MARGIN)
    scaled = _scaled_detail(other.tobytes(), other.shape, 1.0)
    if scaled is None:
        return 0.0
    template = scaled[0][mh : h - mh, mw : w - mw]
    if template.size == 0 or float(template.std()) < 1e-3:
        return 0.0
    scores = {scale: _score_at(image, template, scale) for scale in COARSE_SCALES}
    coarse = max(scores, key=lambda scale: scores[scale])
    for scale in (coarse - FINE_STEP, coarse + FINE_STEP):
        scores[scale] = _score_at(image, template, scale)
    return max(scores.values())


def similarity(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """How surely two images are copies of one picture: best aligned detail correlation.

    The centre (70%) of b's thumbnails is searched for in a's. One direction is enough: that
    centre lies inside a crop of up to 15% a side, and a smaller copy is searched for at
    scales in both directions. Keep the new image as `a`: its resized details are cached.
    """
    best = -1.0
    for thumb_a in a:
        for thumb_b in b:
            best = max(best, _aligned_correlation(thumb_a, thumb_b))
    return best
