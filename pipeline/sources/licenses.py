"""Licence URLs and identifiers mapped to the short names the collection uses ("CC BY 4.0")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_CC_URL = re.compile(
    r"creativecommons\.org/licen[cs]es/(?P<terms>[a-z-]+)(?:/(?P<version>\d+(?:\.\d+)?))?",
    re.IGNORECASE,
)
_CC_ZERO = re.compile(r"creativecommons\.org/publicdomain/zero/(?P<version>\d+(?:\.\d+)?)", re.I)
_CC_MARK = re.compile(r"creativecommons\.org/publicdomain/mark/", re.IGNORECASE)
# Unpaywall's identifiers: "cc-by", "cc-by-nc-nd", "cc0", "public-domain".
_CC_ID = re.compile(r"^cc-(?P<terms>(?:by|nc|nd|sa)(?:-(?:by|nc|nd|sa))*)$", re.IGNORECASE)
_TERMS = {"by", "nc", "nd", "sa"}

# Crossref's content versions, most telling first: the version of record's licence is
# the one that applies to the published figures.
_VERSION_ORDER = {"vor": 0, "unspecified": 1, "am": 2, "tdm": 3}


def license_name(text: str | None) -> str | None:
    """The collection's short name for a licence URL or identifier, or None if not CC."""
    if not text:
        return None
    text = text.strip()
    if match := _CC_ZERO.search(text):
        return f"CC0 {match['version']}"
    if _CC_MARK.search(text) or text.lower() in {"public-domain", "pd"}:
        return "Public domain"
    if text.lower() == "cc0":
        return "CC0 1.0"
    match = _CC_URL.search(text) or _CC_ID.match(text)
    if not match:
        return None
    terms = match["terms"].lower().split("-")
    if not terms or not set(terms) <= _TERMS or terms[0] != "by":
        return None
    name = "CC " + "-".join(term.upper() for term in terms)
    version = match.groupdict().get("version")
    return f"{name} {version}" if version else name


def crossref_license(entries: Iterable[dict[str, Any]] | None) -> str | None:
    """The Creative Commons licence among Crossref `license` entries, version of record first."""
    ranked = sorted(
        entries or [],
        key=lambda entry: _VERSION_ORDER.get(str(entry.get("content-version", "")), 9),
    )
    for entry in ranked:
        name = license_name(entry.get("URL"))
        if name:
            return name
    return None
