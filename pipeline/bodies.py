"""What makes a fetched body worth keeping, one validator per kind of body.

A body enters the response cache, or takes its final name in the documents folder, only
once its validator accepts it; otherwise a rerun would replay a bad answer (malformed
JSON, half a PDF, an error page) until the cache expires. Head checks look at the first
bytes while downloading (to stop early); file checks look at the complete file before it
is moved into place. Each returns why the body is refused, or None to keep it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.errors import SourceError

_HTML_START = re.compile(rb"^\s*(<!doctype|<html|<head|<body|<\?xml|<)", re.IGNORECASE)
_TAIL = 1024  # end markers are looked for in the last KiB, as readers do
# Where each image format says it is complete: the last bytes of a whole file.
_IMAGE_ENDS: tuple[tuple[bytes, bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82", "PNG without its IEND chunk"),
    (b"\xff\xd8\xff", b"\xff\xd9", "JPEG without its end-of-image marker"),
    (b"GIF8", b"\x3b", "GIF without its trailer"),
)


def pdf_head(first_bytes: bytes) -> str | None:
    """Why these first bytes are not a PDF's, or None when they are."""
    if first_bytes.lstrip(b"\xef\xbb\xbf\r\n\t ").startswith(b"%PDF-"):
        return None
    if _HTML_START.match(first_bytes):
        return (
            "HTML where a PDF was expected (paywall, cookie wall or landing page; "
            f"starts with {first_bytes[:16]!r})"
        )
    if not first_bytes:
        return "empty body where a PDF was expected"
    return f"not a PDF (starts with {first_bytes[:8]!r})"


def complete_pdf(path: Path) -> str | None:
    """Why the file is not a whole, readable PDF (truncated, damaged, no pages), or None."""
    from pipeline.pdf.open import open_pdf

    try:
        open_pdf(path).close()
    except SourceError as exc:
        return exc.reason
    return None


def complete_image(path: Path) -> str | None:
    """Why the file is not a whole image (its format's end marker missing), or None.

    PNG, JPEG and GIF say where they end; other formats are taken as they come (the
    classifier names what is wrong with them).
    """
    try:
        with open(path, "rb") as stream:
            head = stream.read(16)
            stream.seek(0, 2)
            stream.seek(max(0, stream.tell() - _TAIL))
            tail = stream.read()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    for magic, end, missing in _IMAGE_ENDS:
        if head.startswith(magic) and end not in tail:
            return f"truncated image: {missing} (incomplete download?)"
    return None


def json_object(*keys: str) -> Callable[[Any], str | None]:
    """A check that parsed JSON is an object holding each of `keys`."""

    def check(data: Any) -> str | None:
        if not isinstance(data, dict):
            return f"JSON {type(data).__name__} where an object was expected"
        missing = [key for key in keys if key not in data]
        return f"JSON object without {', '.join(missing)}" if missing else None

    return check


def parse_json(text: str | bytes) -> tuple[Any, str | None]:
    """(data, None) or (None, why the text is not JSON)."""
    try:
        return json.loads(text), None
    except ValueError as exc:
        head = text[:512].lstrip() if isinstance(text, bytes) else text[:512].lstrip().encode()
        if _HTML_START.match(head):
            return None, "not JSON: an HTML page (an error, maintenance or captcha page?)"
        return None, f"malformed JSON ({exc})"
