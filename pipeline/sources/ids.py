"""Stable, file-system-safe identifiers for sources."""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, max_length: int = 80) -> str:
    """A file-name-safe version of `text`: only [A-Za-z0-9._-], no leading dot, capped."""
    cleaned = _UNSAFE.sub("_", text).strip("._") or "unnamed"
    if len(cleaned) > max_length:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        cleaned = f"{cleaned[: max_length - 9]}_{digest}"
    return cleaned


def normalise_doi(doi: str) -> str:
    doi = doi.strip()
    doi = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", doi, flags=re.IGNORECASE)
    return doi.lower()


def doi_source_id(doi: str) -> str:
    return "doi-" + safe_name(normalise_doi(doi), max_length=120)


def pdf_source_id(pdf_bytes: bytes) -> str:
    """Same bytes, same id: a PDF given twice under other names is one source."""
    return "pdf-" + hashlib.sha256(pdf_bytes).hexdigest()[:16]


def url_source_id(url: str) -> str:
    return "url-" + safe_name(re.sub(r"^https?://", "", url.strip()), max_length=120)
