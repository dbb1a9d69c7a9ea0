"""Resolve a DOI through Crossref (habanero): title, authors, journal, year, licence, links.

habanero talks to Crossref with its own HTTP library (httpx2), so the shared client's
retries and cache do not apply: this module backs off on 429/5xx itself and keeps each
work's JSON in the cache folder so a rerun does not ask Crossref again.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pipeline.errors import SourceError
from pipeline.files import write_atomic
from pipeline.http import FetchError, allowed_private_hosts, check_url
from pipeline.records import DocumentFacts
from pipeline.sources.ids import doi_source_id, normalise_doi
from pipeline.sources.licenses import crossref_license

if TYPE_CHECKING:
    from pipeline.config import Config, HttpSettings

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_CREDITED_AUTHORS = 6
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_TAGS = re.compile(r"<[^>]+>")


@dataclass
class CrossrefWork:
    """What the pipeline takes from one Crossref work record."""

    doi: str
    facts: DocumentFacts
    landing_page: str | None
    pdf_links: list[str] = field(default_factory=list)
    pmcid: str | None = None
    message: dict[str, Any] = field(default_factory=dict)


def checked_doi(doi: str) -> str:
    """The DOI in normal form, or a SourceError saying it does not look like one."""
    normal = normalise_doi(doi)
    if not _DOI.match(normal):
        raise SourceError(doi, "not a DOI (expected 10.<registrant>/<suffix>)")
    return normal


def resolve_doi(doi: str, config: Config, *, cache_dir: Path | None = None) -> DocumentFacts:
    """The DOI's bibliographic facts from Crossref (metadata only, no PDF)."""
    return fetch_work(doi, config, cache_dir=cache_dir).facts


def fetch_work(doi: str, config: Config, *, cache_dir: Path | None = None) -> CrossrefWork:
    """The Crossref work for `doi`; SourceError naming the DOI and the reason on failure."""
    doi = checked_doi(doi)
    cached = _cache_file(doi, config, cache_dir)
    if cached and cached.exists():
        try:
            message = json.loads(cached.read_text())
            log.info("Crossref: %s from cache %s", doi, cached)
            return work_from_message(doi, message)
        except (OSError, ValueError) as exc:
            log.warning("Crossref cache %s unreadable (%s): asking Crossref again", cached, exc)
    message = _ask_crossref(doi, config)
    if cached:
        write_atomic(cached, json.dumps(message))
    return work_from_message(doi, message)


def work_from_message(doi: str, message: dict[str, Any]) -> CrossrefWork:
    landing = _landing_page(message)
    facts = DocumentFacts(
        doi=str(message.get("DOI") or doi).lower(),
        url=landing,
        title=_first_text(message.get("title")),
        journal=_first_text(message.get("container-title")),
        year=_year(message),
        license=crossref_license(message.get("license")),
    )
    facts.credit = credit_line(_authors(message.get("author")), facts)
    return CrossrefWork(
        doi=doi,
        facts=facts,
        landing_page=landing,
        pdf_links=_pdf_links(message.get("link")),
        pmcid=_pmcid(message),
        message=message,
    )


def credit_line(authors: list[str], facts: DocumentFacts) -> str | None:
    """The credit for other_notes: authors, title, journal, year and DOI."""
    parts = []
    if authors:
        shown = authors[:MAX_CREDITED_AUTHORS]
        parts.append(", ".join(shown) + (", et al." if len(authors) > len(shown) else "."))
    if facts.title:
        parts.append(facts.title.rstrip(".") + ".")
    venue = ", ".join(str(part) for part in (facts.journal, facts.year) if part)
    if venue:
        parts.append(venue + ".")
    if facts.doi:
        parts.append(f"doi:{facts.doi}")
    return " ".join(parts) or None


# -- talking to Crossref -------------------------------------------------------------------


def _ask_crossref(doi: str, config: Config) -> dict[str, Any]:
    import httpx2
    from habanero import Crossref
    from habanero.exceptions import RequestError

    settings = config.http
    base = config.url("crossref")
    try:
        check_url(base, allowed_private_hosts(config))
    except FetchError as exc:
        raise SourceError(doi, f"Crossref base URL {exc.reason}") from exc
    read_timeout = settings.read_timeout
    crossref = Crossref(
        base_url=base,
        mailto=config.contact_email or None,
        ua_string=config.user_agent,
        timeout=httpx2.Timeout(read_timeout, connect=settings.connect_timeout),
    )
    retries = settings.retries
    for attempt in range(retries + 1):
        try:
            log.info("Crossref: resolving %s at %s", doi, base)
            with _polite_pool():
                result = crossref.works(ids=doi_path(doi))
        except httpx2.HTTPStatusError as exc:
            status = exc.response.status_code
            if status in RETRY_STATUSES and attempt < retries:
                _back_off(exc.response.headers.get("Retry-After"), attempt, settings, status)
                continue
            if status == 404:
                raise SourceError(doi, "not found in Crossref (HTTP 404): check the DOI") from exc
            raise SourceError(doi, f"Crossref answered HTTP {status}") from exc
        except (httpx2.ConnectError, httpx2.TimeoutException) as exc:
            if attempt < retries:
                _back_off(None, attempt, settings, type(exc).__name__)
                continue
            if isinstance(exc, httpx2.TimeoutException):
                reason = f"Crossref did not answer within {read_timeout:g} s"
            else:
                reason = f"could not connect to Crossref at {base} ({exc})"
            raise SourceError(doi, reason) from exc
        except httpx2.HTTPError as exc:
            raise SourceError(doi, f"Crossref request failed: {exc}") from exc
        except RequestError as exc:
            if exc.status_code in RETRY_STATUSES and attempt < retries:
                _back_off(None, attempt, settings, exc.status_code)
                continue
            reason = f"Crossref answered HTTP {exc.status_code} with a body that is not JSON"
            raise SourceError(doi, f"{reason}: {str(exc.error)[:120]}") from exc
        except ValueError as exc:  # json.JSONDecodeError from r.json()
            raise SourceError(doi, f"Crossref returned malformed JSON ({exc})") from exc
        return _message(doi, result)
    raise AssertionError("unreachable: the loop returns or raises")


def doi_path(doi: str) -> str:
    """The DOI as a URL path: `#`, `?`, `%`, spaces and `<>` escaped, `/` and `()` kept."""
    return quote(doi, safe="/;:()[]@!$&'*+,=")


@contextlib.contextmanager
def _polite_pool() -> Iterator[None]:
    """Stay within Crossref's polite pool across threads: 3 at once, 10 a second."""
    slots, limiter = _crossref_gate()
    with slots:
        limiter.try_acquire("crossref")
        yield


@functools.cache
def _crossref_gate() -> tuple[threading.BoundedSemaphore, Any]:
    from pyrate_limiter import Duration, Limiter, Rate

    return threading.BoundedSemaphore(3), Limiter(Rate(10, Duration.SECOND))


def _back_off(retry_after: str | None, attempt: int, settings: HttpSettings, why: Any) -> None:
    wait = settings.backoff_factor * (2**attempt)
    if retry_after and retry_after.strip().isdigit():
        wait = float(retry_after)
    wait = min(wait, settings.max_retry_after)
    log.warning("Crossref: %s, retrying in %.1f s", why, wait)
    time.sleep(wait)


def _message(doi: str, result: Any) -> dict[str, Any]:
    if not isinstance(result, dict) or not isinstance(result.get("message"), dict):
        raise SourceError(doi, "Crossref returned JSON without a work record ('message')")
    return result["message"]


def _cache_file(doi: str, config: Config, cache_dir: Path | None) -> Path | None:
    if not config.http.cache:
        return None
    folder = cache_dir or config.path("metadata") / "http-cache"
    return folder / "crossref" / f"{doi_source_id(doi)}.json"


# -- reading a work record -----------------------------------------------------------------


def _first_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if not value:
        return None
    return " ".join(_TAGS.sub("", str(value)).split()) or None


def _year(message: dict[str, Any]) -> int | None:
    for key in ("issued", "published", "published-print", "published-online", "created"):
        parts = (message.get(key) or {}).get("date-parts") or []
        if parts and parts[0] and parts[0][0]:
            return int(parts[0][0])
    return None


def _authors(entries: Any) -> list[str]:
    names = []
    for author in entries or []:
        family = author.get("family")
        if family:
            initials = "".join(
                part[0] for part in re.split(r"[\s.-]+", author.get("given") or "") if part
            )
            names.append(f"{family} {initials}".strip())
        elif author.get("name"):
            names.append(str(author["name"]))
    return names


def _landing_page(message: dict[str, Any]) -> str | None:
    primary = ((message.get("resource") or {}).get("primary") or {}).get("URL")
    return primary or message.get("URL") or None


def _pdf_links(entries: Any) -> list[str]:
    links: list[str] = []
    for entry in entries or []:
        content_type = str(entry.get("content-type", "")).lower()
        url = entry.get("URL")
        if url and content_type.startswith("application/pdf") and url not in links:
            links.append(url)
    return links


def _pmcid(message: dict[str, Any]) -> str | None:
    """A PMCID when the record carries one (some publishers deposit it as a relation)."""
    text = json.dumps(message.get("relation") or {}) + json.dumps(message.get("link") or [])
    match = re.search(r"\bPMC\d{4,9}\b", text, re.IGNORECASE)
    return match.group(0).upper() if match else None
