"""Resolve a DOI through Crossref: title, authors, journal, year, licence, links.

Requests go through the shared client (pipeline/http.py), so Crossref answers get what
every body gets: retries that honour Retry-After, the per-host rate and concurrency limits
(Crossref's polite pool: 10 a second, 3 at once), a size cap, a total deadline and the
address checks. habanero 2.9 calls `httpx2.get` itself and takes no client or transport,
which left its bodies uncapped and its reads without a deadline; its conventions are kept:
the polite-pool User-Agent with the contact address (`make_ua`) and its filter syntax
(`filter_handler`). Each work's JSON is kept in the cache folder once it has been checked,
so a rerun does not ask Crossref again.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pipeline.errors import SourceError
from pipeline.files import write_atomic
from pipeline.http import FetchError, HttpClient
from pipeline.records import DocumentFacts
from pipeline.sources.ids import doi_source_id, normalise_doi
from pipeline.sources.licenses import crossref_license

if TYPE_CHECKING:
    from pipeline.config import Config

log = logging.getLogger(__name__)

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


def fetch_work(
    doi: str, config: Config, *, cache_dir: Path | None = None, client: HttpClient | None = None
) -> CrossrefWork:
    """The Crossref work for `doi`; SourceError naming the DOI and the reason on failure."""
    doi = checked_doi(doi)
    cached = _cache_file(doi, config, cache_dir)
    if cached and cached.exists():
        try:
            message = json.loads(cached.read_text())
            if isinstance(message, dict):
                log.info("Crossref: %s from cache %s", doi, cached)
                return work_from_message(doi, message)
        except (OSError, ValueError) as exc:
            log.warning("Crossref cache %s unreadable (%s): asking Crossref again", cached, exc)
    if client is None:
        with HttpClient(config, cache=False) as own:
            message = _ask_crossref(doi, config, own)
    else:
        message = _ask_crossref(doi, config, client)
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


def _ask_crossref(doi: str, config: Config, client: HttpClient) -> dict[str, Any]:
    """The work record ('message') of `doi`, checked before anyone keeps it."""
    base = config.url("crossref")
    log.info("Crossref: resolving %s at %s", doi, base)
    try:
        result = client.get_json(
            f"{base}/works/{doi_path(doi)}",
            headers=crossref_headers(config),
            expect=_work_record,
            cache=False,  # the checked record is kept in the cache folder instead
        )
    except FetchError as exc:
        raise SourceError(doi, _crossref_reason(exc, config)) from exc
    return result["message"]


def crossref_headers(config: Config) -> dict[str, str]:
    """The User-Agent Crossref's polite pool expects (habanero's, with the contact)."""
    from habanero.habanero_utils import make_ua

    return make_ua(config.contact_email or None, config.user_agent)


def works_pages(
    client: HttpClient,
    config: Config,
    *,
    query: str,
    filters: dict[str, str],
    select: list[str],
    rows: int,
    max_results: int,
) -> Iterator[dict[str, Any]]:
    """The `message` of each page of a works query, cursor-paged up to `max_results` items.
    FetchError when a page cannot be had (each page is capped and held to the deadline)."""
    from habanero.filterhandler import filter_handler

    params = {"query": query, "filter": filter_handler(dict(filters)), "select": ",".join(select),
              "rows": str(rows), "cursor": "*"}  # fmt: skip
    seen = 0
    while True:
        page = client.get_json(
            f"{config.url('crossref')}/works",
            params=params,
            headers=crossref_headers(config),
            expect=_work_list,
            cache=False,  # "indexed since" queries: every night asks anew
        )["message"]
        yield page
        items = page.get("items") or []
        seen += len(items)
        cursor = page.get("next-cursor")
        total = page.get("total-results")
        total = total if isinstance(total, int) else max_results
        if not items or not cursor or seen >= min(max_results, total):
            return
        params = {**params, "cursor": str(cursor)}


def _work_record(data: Any) -> str | None:
    if not isinstance(data, dict) or not isinstance(data.get("message"), dict):
        return "Crossref returned JSON without a work record ('message')"
    return None


def _work_list(data: Any) -> str | None:
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("items", []), list):
        return "Crossref returned JSON without a list of works ('message.items')"
    return None


def _crossref_reason(exc: FetchError, config: Config) -> str:
    """Crossref's failure in a curator's words."""
    if exc.status == 404:
        return "not found in Crossref (HTTP 404): check the DOI"
    if exc.status is not None and exc.status >= 400:
        return f"Crossref answered HTTP {exc.status}"
    if exc.reason == "timed out":
        return f"Crossref did not answer within {config.http.read_timeout:g} s"
    if exc.reason.startswith("connection failed"):
        return f"could not connect to Crossref at {config.url('crossref')} ({exc.reason})"
    return f"Crossref: {exc.reason}"


def doi_path(doi: str) -> str:
    """The DOI as a URL path: `#`, `?`, `%`, spaces and `<>` escaped, `/` and `()` kept."""
    return quote(doi, safe="/;:()[]@!$&'*+,=")


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
