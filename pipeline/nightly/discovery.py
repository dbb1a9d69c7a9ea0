"""Find the sources a nightly run should extract: Crossref queries, the curators' watchlist,
each case site's own discovery, and earlier failures still worth retrying.

Every route returns `SourceRef`s plus the problems it met; a route that fails does not stop
the others (the run report lists the problem, and the run does not count as successful, so
the next run looks back to the same date).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pipeline.config import Config
from pipeline.nightly.settings import NightlySettings
from pipeline.sources.ids import doi_source_id, normalise_doi, url_source_id
from pipeline.store import SourceRecord, Store

if TYPE_CHECKING:
    from pipeline.http import HttpClient

KINDS = ("doi", "url", "pdf-url")  # url: a case page; pdf-url: a direct link to a PDF
_DOI = re.compile(r"^(doi:\s*|https?://(dx\.)?doi\.org/)?10\.\d{4,9}/\S+$", re.IGNORECASE)
_COMMENT = re.compile(r"(^|\s)#.*$")


@dataclass(frozen=True)
class SourceRef:
    kind: str
    location: str  # the normalised DOI or the URL
    route: str  # "crossref", "watchlist", "site:<name>" or "retry"
    host: str  # the host the per-host limits apply to

    @property
    def source_id(self) -> str:
        return doi_source_id(self.location) if self.kind == "doi" else url_source_id(self.location)

    @property
    def site(self) -> str:
        return "doi" if self.kind == "doi" else self.host


@dataclass
class RouteResult:
    route: str
    refs: list[SourceRef] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # The route could not be asked (an error, not a bad watchlist line): what it would have
    # found may be missing, so the run must not count as successful.
    incomplete: bool = False
    # More works matched than max_results_per_query allowed: a cap for a nightly, a hole for
    # a backfill (its window must be made smaller).
    truncated: bool = False


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def make_ref(kind: str, location: str, route: str, config: Config) -> SourceRef:
    if kind == "doi":
        return SourceRef("doi", normalise_doi(location), route, host_of(config.url("crossref")))
    return SourceRef(kind, location.strip(), route, host_of(location))


# -- Crossref ---------------------------------------------------------------------------------


def crossref_filter(settings: NightlySettings, since: datetime) -> dict[str, str]:
    return {"from-index-date": since.date().isoformat(), "type": settings.crossref_type}


def crossref_sources(
    config: Config,
    settings: NightlySettings,
    since: datetime,
    *,
    client: HttpClient | None = None,
    filters: dict[str, str] | None = None,
) -> RouteResult:
    """DOIs of the works each configured query finds, indexed since `since` (cursor paging);
    `filters` replaces the date filter (a backfill's publication dates).

    Through the shared client: every page is size-capped and held to the fetch deadline."""
    from pipeline.http import FetchError, HttpClient
    from pipeline.sources.crossref import works_pages

    result = RouteResult("crossref")
    seen: set[str] = set()
    with contextlib.ExitStack() as stack:
        client = client or stack.enter_context(HttpClient(config, cache=False))
        for query in settings.crossref_queries:
            pages = works_pages(
                client, config, query=query, filters=filters or crossref_filter(settings, since),
                select=["DOI"], rows=settings.crossref_rows,
                max_results=settings.crossref_max_results,
            )  # fmt: skip
            try:
                for number, page in enumerate(pages):
                    total, most = page.get("total-results"), settings.crossref_max_results
                    if number == 0 and isinstance(total, int) and total > most:
                        result.truncated = True
                        result.problems.append(
                            f"crossref query {query!r}: {total} works, only the first {most} "
                            "taken (max_results_per_query)"
                        )
                    for item in page.get("items", []):
                        doi = item.get("DOI") if isinstance(item, dict) else None
                        if doi and normalise_doi(doi) not in seen:
                            seen.add(normalise_doi(doi))
                            result.refs.append(make_ref("doi", doi, "crossref", config))
            except FetchError as exc:
                result.problems.append(f"crossref query {query!r}: {exc.reason}")
                result.incomplete = True
    return result


# -- watchlist --------------------------------------------------------------------------------


def parse_watchlist_line(line: str) -> tuple[str, str] | None:
    """(kind, location) of one watchlist line, None for blank or comment lines.

    Raises ValueError for a line that is neither a DOI nor an http(s) URL.
    """
    text = _COMMENT.sub("", line).strip()
    if not text:
        return None
    if _DOI.match(text):
        return "doi", normalise_doi(text)
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and parts.netloc:
        return ("pdf-url" if parts.path.lower().endswith(".pdf") else "url"), text
    raise ValueError(f"not a DOI or an http(s) URL: {text!r}")


def watchlist_sources(path: Path | None, config: Config) -> RouteResult:
    result = RouteResult("watchlist")
    if path is None or not path.exists():
        return result
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            parsed = parse_watchlist_line(line)
        except ValueError as exc:
            result.problems.append(f"{path.name} line {number}: {exc}")
            continue
        if parsed:
            result.refs.append(make_ref(*parsed, "watchlist", config))
    return result


# -- case sites -------------------------------------------------------------------------------

SiteDiscoverer = Callable[[str, str, datetime, Config], list[str]]


def default_site_discoverer() -> SiteDiscoverer | None:
    """The case sites' own search and listing pages (pipeline/sources/sites/discover.py)."""
    try:
        from pipeline.sources.sites.discover import discover_cases
    except ImportError:
        return None

    def discover(site: str, query: str, since: datetime, config: Config) -> list[str]:
        return [str(case["url"]) for case in discover_cases(site, query, config,
                                                            since=since.date())]  # fmt: skip

    return discover


def site_sources(
    config: Config,
    settings: NightlySettings,
    since: datetime,
    discoverer: SiteDiscoverer | None = None,
) -> list[RouteResult]:
    discoverer = discoverer or default_site_discoverer()
    results = []
    for site in settings.site_names:
        result = RouteResult(f"site:{site}")
        if discoverer is None:
            result.problems.append(f"{site}: site discovery is not available in this install")
        else:
            try:
                urls = discoverer(site, settings.site_query, since, config)
                result.refs = [make_ref("url", url, result.route, config) for url in urls]
            except Exception as exc:  # noqa: BLE001 - one site failing must not stop the others
                result.problems.append(f"{site}: {type(exc).__name__}: {exc}")
                result.incomplete = True
        results.append(result)
    return results


# -- earlier failures and the selection -------------------------------------------------------


def retry_sources(store: Store, settings: NightlySettings, config: Config) -> RouteResult:
    """Sources that failed on earlier runs and have attempts left."""
    result = RouteResult("retry")
    for row in store.sources():
        if (
            row.status == "failed"
            and row.kind in KINDS
            and row.attempts < settings.max_attempts
        ):
            result.refs.append(make_ref(row.kind, row.location, "retry", config))
    return result


def merge(results: Iterable[RouteResult]) -> list[SourceRef]:
    """All refs once each (by source id), the first route that found a source keeping it."""
    merged: dict[str, SourceRef] = {}
    for result in results:
        for ref in result.refs:
            merged.setdefault(ref.source_id, ref)
    return list(merged.values())


@dataclass
class Selection:
    todo: list[SourceRef] = field(default_factory=list)
    done: list[SourceRef] = field(default_factory=list)  # processed on an earlier run
    gave_up: list[SourceRef] = field(default_factory=list)  # failed max_attempts times
    deferred: list[SourceRef] = field(default_factory=list)  # over max_sources: next run


def select_pending(
    store: Store,
    refs: list[SourceRef],
    settings: NightlySettings,
    *,
    known: Mapping[str, SourceRecord] | None = None,
) -> Selection:
    """Sort refs by the ledger (`known`: the `sources` rows by id, read here if not given)."""
    if known is None:
        known = {row.source_id: row for row in store.sources()}
    selection = Selection()
    for ref in refs:
        row = known.get(ref.source_id)
        if row is not None and row.status == "ok":
            selection.done.append(ref)
        elif row is not None and row.attempts >= settings.max_attempts:
            selection.gave_up.append(ref)
        elif len(selection.todo) < settings.max_sources:
            selection.todo.append(ref)
        else:
            selection.deferred.append(ref)
    return selection
