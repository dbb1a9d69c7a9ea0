"""Image bytes for the page, found by candidate id: the path comes from the store only."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from pipeline.config import Config

# Formats every browser shows as they are; others (TIFF, JPEG 2000, ...) are sent as PNG.
BROWSER_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                 ".gif": "image/gif", ".webp": "image/webp"}  # fmt: skip
THUMB_SIZE = 320


class ImageUnavailable(Exception):
    pass


def image_path(config: Config, image_file: str) -> Path:
    path = Path(image_file)
    return path if path.is_absolute() else config.root / path


def _decode(path: Path):  # -> np.ndarray
    import cv2
    import numpy as np

    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageUnavailable(f"{path.name}: cannot be decoded")
    if image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return image


def browser_image(path: Path) -> tuple[bytes | Path, str]:
    """The file itself when a browser can show it, else a PNG of it."""
    if not path.is_file():
        raise ImageUnavailable(f"{path.name}: file is missing")
    mimetype = BROWSER_TYPES.get(path.suffix.lower())
    if mimetype:
        return path, mimetype
    import cv2

    ok, encoded = cv2.imencode(".png", _decode(path))
    if not ok:
        raise ImageUnavailable(f"{path.name}: cannot be converted")
    return encoded.tobytes(), "image/png"


class Thumbnails:
    """Small JPEGs for the grids, kept in memory (keyed by file and content hash)."""

    def __init__(self, capacity: int = 2000) -> None:
        self._cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, path: Path, sha256: str) -> bytes:
        key = (str(path), sha256)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        data = self._make(path)
        with self._lock:
            self._cache[key] = data
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return data

    @staticmethod
    def _make(path: Path) -> bytes:
        import cv2

        if not path.is_file():
            raise ImageUnavailable(f"{path.name}: file is missing")
        image = _decode(path)
        if image.ndim == 3 and image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        height, width = image.shape[:2]
        scale = THUMB_SIZE / max(height, width)
        if scale < 1:
            image = cv2.resize(
                image,
                (max(1, round(width * scale)), max(1, round(height * scale))),
                interpolation=cv2.INTER_AREA,
            )
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            raise ImageUnavailable(f"{path.name}: cannot make a thumbnail")
        return encoded.tobytes()
