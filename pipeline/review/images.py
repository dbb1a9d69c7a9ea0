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
    from pipeline.classify.decode import load_image
    from pipeline.errors import ImageReadError

    try:
        return load_image(path)
    except ImageReadError as exc:
        raise ImageUnavailable(f"{path.name}: {exc.reason}") from exc


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
        from pipeline.errors import ImageReadError
        from pipeline.thumbnails import thumbnail_jpeg

        if not path.is_file():
            raise ImageUnavailable(f"{path.name}: file is missing")
        try:
            return thumbnail_jpeg(path, THUMB_SIZE)
        except ImageReadError as exc:
            raise ImageUnavailable(f"{path.name}: {exc.reason}") from exc
