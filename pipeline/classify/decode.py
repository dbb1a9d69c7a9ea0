"""Load any image file into a uint8 gray or BGR array, whatever its extension says.

The format is sniffed from the first bytes (some `.jpg` files are PNG). Large JPEGs are
decoded already reduced (libjpeg scales by 1/2, 1/4, 1/8 while decoding), which is most
of the speed of the classifier. 16-bit images are windowed to 8 bits, palettes expanded,
alpha composited over white (a transparent figure sits on a white page), CMYK converted.

Before decoding, the size the header declares is read: an image over the pixel cap or
the memory budget ([extraction] in the settings) is refused with its true size named, and one
whose full decode would hold more than half the budget is decoded reduced.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np

from pipeline.budgets import DEFAULT_LIMITS, image_refusal
from pipeline.config import ExtractionSettings
from pipeline.errors import ImageReadError

# Pillow's reader for each sniffed format, to read the declared size without decoding.
_PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF",
               "jp2": "JPEG2000", "j2k": "JPEG2000", "pnm": "PPM", "webp": "WEBP"}  # fmt: skip
# OpenCV flags: reduce while decoding, keep 16 bits and the colour type.
_REDUCED_ANY = {2: 16 | 2 | 4, 4: 32 | 2 | 4, 8: 64 | 2 | 4}

# Large JPEGs are decoded reduced but keep at least this long a side (fingerprints,
# thumbnails); the classifier measures a copy with a 256-pixel long side and asks for
# CLASSIFY_SIDE.
TARGET_SIDE = 512
CLASSIFY_SIDE = 256

_MAGIC: list[tuple[bytes, str]] = [
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "jp2"),
    (b"\xff\x4f\xff\x51", "j2k"),
    (b"P5", "pnm"),
    (b"P6", "pnm"),
    (b"P2", "pnm"),
    (b"P3", "pnm"),
]


def sniff_format(head: bytes) -> str | None:
    """Name the image format from a file's first bytes, or None when unknown."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's SOF marker without decoding, or None."""
    i = 2
    n = len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        seg_len = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h = int.from_bytes(data[i + 5 : i + 7], "big")
            w = int.from_bytes(data[i + 7 : i + 9], "big")
            return w, h
        i += 2 + seg_len
    return None


def declared_size(data: bytes) -> tuple[int, int, int] | None:
    """(width, height, bytes per decoded pixel) from the header alone, or None.

    Pillow's format readers are called directly: `Image.open` would raise its
    DecompressionBombError before saying how large the image claims to be.
    """
    from PIL import Image

    fmt = sniff_format(data[:32])
    name = _PIL_FORMAT.get(fmt or "")
    if name is None:
        return None
    Image.init()
    if name not in Image.OPEN:
        return None
    factory, _accept = Image.OPEN[name]
    try:
        with factory(io.BytesIO(data), "") as image:
            width, height = image.size
            bands = 3 if image.mode in ("P", "PA", "1") else len(image.getbands())
            depth = 2 if image.mode.startswith("I;16") else 4 if image.mode in ("I", "F") else 1
    except Exception:  # noqa: BLE001 - any reader failure: the decoder then says why
        return None
    return width, height, bands * depth


def _reduced_flag(long_side: int, target_side: int = TARGET_SIDE) -> int:
    """The cv2 colour decode flag that keeps at least target_side pixels on the long side."""
    for scale, flag in (
        (8, cv2.IMREAD_REDUCED_COLOR_8),
        (4, cv2.IMREAD_REDUCED_COLOR_4),
        (2, cv2.IMREAD_REDUCED_COLOR_2),
    ):
        if long_side // scale >= target_side:
            return flag
    return cv2.IMREAD_COLOR


def shrunk(image: np.ndarray, long_side: int, min_side: int = 1) -> np.ndarray:
    """The image itself when its long side is at most `long_side`; else a copy reduced to
    it by area averaging (each side at least `min_side` pixels)."""
    height, width = image.shape[:2]
    if max(height, width) <= long_side:
        return image
    scale = long_side / max(height, width)
    size = (max(min_side, round(width * scale)), max(min_side, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Gray or BGR uint8 from any decoded array (uint16, float, alpha, 1-channel 3D)."""
    img = image
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 4:
        img = _composite_on_white(img)
    if img.dtype != np.uint8:
        img = _window_to_uint8(img)
    if img.ndim == 3 and img.shape[2] != 3:
        raise ValueError(f"unsupported channel count {img.shape[2]}")
    return img


def _window_to_uint8(img: np.ndarray) -> np.ndarray:
    """Map a deep image to 8 bits between its 0.5 and 99.5 percentiles."""
    f = img.astype(np.float32)
    lo, hi = np.percentile(
        f[:: max(1, f.shape[0] // 256), :: max(1, f.shape[1] // 256)], (0.5, 99.5)
    )
    if hi <= lo:
        hi = lo + 1.0
    return np.clip((f - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)


def _composite_on_white(bgra: np.ndarray) -> np.ndarray:
    bgr = bgra[:, :, :3].astype(np.float32)
    alpha = bgra[:, :, 3:4].astype(np.float32)
    full = 65535.0 if bgra.dtype == np.uint16 else 255.0
    if bgra.dtype not in (np.uint8, np.uint16):
        full = float(alpha.max()) or 1.0
    a = alpha / full
    out = bgr * a + full * (1.0 - a)
    return out.astype(bgra.dtype)


def _decode_with_pillow(data: bytes, name: str, budget: ExtractionSettings) -> np.ndarray | None:
    """Fallback for formats this OpenCV build cannot read (GIF, some TIFF/JPEG 2000)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            held = width * height * len(im.getbands())
            _refuse(name, image_refusal(budget, width, height, held))
            im.seek(0)
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                return np.asarray(im.convert("I")).astype(np.uint32)
            if im.mode == "F":
                return np.asarray(im, dtype=np.float32)
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                arr = np.asarray(im.convert("RGBA"))
                return cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA)
            if im.mode in ("L", "1"):
                return np.asarray(im.convert("L"))
            return cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2BGR)
    except Image.DecompressionBombError as err:
        raise ImageReadError(name, f"too large: {err}") from err
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def _quiet_opencv() -> None:
    """Stop OpenCV printing its own decoder errors: a failure is reported once, by us."""
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_FATAL)


def decode_bytes(
    data: bytes,
    name: str = "<bytes>",
    budget: ExtractionSettings = DEFAULT_LIMITS,
    target_side: int = TARGET_SIDE,
) -> np.ndarray:
    """Decode image bytes to gray or BGR uint8, large JPEGs reduced to >= target_side.

    Raises ImageReadError(name, reason) when the bytes are not a readable image, or one
    too large for `budget` (its declared size named).
    """
    _quiet_opencv()
    if not data:
        raise ImageReadError(name, "empty file")
    fmt = sniff_format(data[:32])
    buf = np.frombuffer(data, dtype=np.uint8)
    img: np.ndarray | None = None
    if fmt is not None:
        flag = _decode_flag(data, fmt, name, budget, target_side)
        try:
            img = cv2.imdecode(buf, flag)
        except cv2.error:
            img = None
    if img is None or img.size == 0:
        img = _decode_with_pillow(data, name, budget)
    if img is None or img.size == 0:
        reason = "not an image (unknown format)" if fmt is None else f"cannot decode {fmt} data"
        raise ImageReadError(name, reason)
    try:
        return to_uint8(img)
    except ValueError as err:
        raise ImageReadError(name, str(err)) from err


def _decode_flag(
    data: bytes, fmt: str, name: str, budget: ExtractionSettings, target_side: int
) -> int:
    """The OpenCV decode flag for these bytes; ImageReadError when over the budget."""
    declared = declared_size(data)
    if fmt == "jpeg":
        size = _jpeg_size(data) or (declared[:2] if declared else None)
        flag = _reduced_flag(max(size) if size else 0, target_side)
        if size is not None:
            scale = {cv2.IMREAD_REDUCED_COLOR_8: 8, cv2.IMREAD_REDUCED_COLOR_4: 4,
                     cv2.IMREAD_REDUCED_COLOR_2: 2}.get(flag, 1)  # fmt: skip
            held = (size[0] // scale) * (size[1] // scale) * 3
            _refuse(name, image_refusal(budget, size[0], size[1], held))
        return flag
    if declared is None:
        return cv2.IMREAD_UNCHANGED  # the decoder says what is wrong with it
    width, height, per_pixel = declared
    held = width * height * per_pixel
    _refuse(name, image_refusal(budget, width, height, held))
    if 2 * held <= budget.max_image_bytes:
        return cv2.IMREAD_UNCHANGED  # keep 16-bit depth and alpha for to_uint8
    # OpenCV holds about twice the image while decoding it whole: decode it reduced.
    scale = next((s for s in (2, 4, 8) if max(width, height) // (2 * s) < TARGET_SIDE), 8)
    return _REDUCED_ANY[scale]


def _refuse(name: str, reason: str | None) -> None:
    if reason is not None:
        raise ImageReadError(name, reason)


def load_image(
    path: Path, budget: ExtractionSettings = DEFAULT_LIMITS, target_side: int = TARGET_SIDE
) -> np.ndarray:
    """Read and decode an image file; ImageReadError(path, reason) when that fails."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ImageReadError(str(path), err.strerror or str(err)) from err
    return decode_bytes(data, str(path), budget, target_side)
