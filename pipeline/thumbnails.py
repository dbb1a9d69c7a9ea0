"""Small JPEGs of image files for pages (the review grids, the nightly report).

Decoding goes through the classifier's loader, so a huge or hostile file costs no more
memory than the image budget allows and fails with a named reason (ImageReadError).
"""

from __future__ import annotations

from pathlib import Path


def thumbnail_jpeg(path: Path, side: int, quality: int = 85) -> bytes:
    """A JPEG whose long side is at most `side`; ImageReadError when the file cannot be."""
    import cv2

    from pipeline.classify.decode import load_image, shrunk
    from pipeline.errors import ImageReadError

    image = shrunk(load_image(path), side)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ImageReadError(str(path), "cannot be encoded as a thumbnail")
    return encoded.tobytes()
