"""A DOI to its facts and an open-access PDF, trying each route in turn.

Routes, in order: Crossref `link` entries with content-type application/pdf; Unpaywall's
best location then its other locations; the landing page's `citation_pdf_url`; PubMed
Central when a PMCID is known. A download counts only if it is a whole PDF that opens
(bodies.complete_pdf): an HTML page (paywall, cookie wall) or half a PDF in its place moves
on to the next route and never takes the name `source.pdf`. Every attempt is logged and
written to `fetch.json` beside the PDF.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from pipeline.bodies import complete_pdf, pdf_head
from pipeline.errors import SourceError
from pipeline.files import write_json_atomic
from pipeline.http import FetchError, HttpClient
from pipeline.records import DocumentFacts
from pipeline.sources.base import Fetching, StepRunner, run_directly
from pipeline.sources.crossref import CrossrefWork, checked_doi, fetch_work, resolve_doi
from pipeline.sources.ids import doi_source_id
from pipeline.sources.pdf import pdf_document
from pipeline.sources.unpaywall import UnpaywallRecord, fetch_unpaywall

if TYPE_CHECKING:
    import requests

    from pipeline.config import Config
    from pipeline.document import Document

__all__ = ["DoiSource", "PdfAttempt", "fetch_doi_document", "resolve_doi"]

log = logging.getLogger(__name__)

PDF_NAME = "source.pdf"
RECORD_NAME = "fetch.json"
_CITATION_PDF_URL = re.compile(r"^citation_pdf_url$", re.I)


@dataclass
class PdfAttempt:
    route: str  # "crossref-link", "unpaywall", "citation_pdf_url", "pmc", ...
    url: str | None
    result: str  # "ok" or why it did not give a PDF


@dataclass
class _Search:
    """State shared by the routes while they look for one DOI's PDF."""

    work: CrossrefWork
    config: Config
    client: HttpClient
    attempts: list[PdfAttempt] = field(default_factory=list)
    unpaywall: UnpaywallRecord | None = None
    tried: set[str] = field(default_factory=set)

    def note(self, route: str, url: str | None, result: str) -> None:
        log.info("PDF for %s via %s %s: %s", self.work.doi, route, url or "", result)
        self.attempts.append(PdfAttempt(route, url, result))


def fetch_doi_document(
    doi: str, config: Config, dest_dir: Path, *, client: HttpClient | None = None
) -> tuple[DocumentFacts, Path]:
    """The DOI's facts and its PDF downloaded to `dest_dir/source.pdf`.

    A complete PDF already there (from an earlier run) is reused without asking anyone; one
    that is not (a partial or damaged file) is fetched again. SourceError, naming the DOI,
    when Crossref cannot resolve it or no route gives a PDF.
    """
    doi = checked_doi(doi)
    with contextlib.ExitStack() as stack:
        client = client or stack.enter_context(HttpClient(config))
        work = fetch_work(doi, config, client=client)
        facts = work.facts
        dest = dest_dir / PDF_NAME
        if dest.exists():
            problem = complete_pdf(dest)
            if problem is None:
                log.info("PDF for %s: reusing %s", doi, dest)
                facts.license = facts.license or _recorded_license(dest_dir)
                return facts, dest
            log.warning("PDF for %s: %s is not usable (%s): fetching again", doi, dest, problem)
            dest.unlink(missing_ok=True)
        search = _Search(work, config, client)
        found = _first_pdf(search, dest)
    if not facts.license and search.unpaywall and search.unpaywall.license:
        facts.license = search.unpaywall.license
    _write_record(dest_dir, doi, facts, search.attempts, found)
    if found is None:
        raise SourceError(doi, _nothing_found(doi, search.attempts))
    return facts, dest


def _first_pdf(search: _Search, dest: Path) -> PdfAttempt | None:
    for route, url in _candidate_urls(search):
        if url in search.tried:
            continue
        search.tried.add(url)
        try:
            search.client.download(url, dest, check=pdf_head, complete=complete_pdf)
        except FetchError as exc:
            search.note(route, url, exc.reason)
            continue
        search.note(route, url, "ok")
        return search.attempts[-1]
    return None


def _candidate_urls(search: _Search) -> Iterator[tuple[str, str]]:
    """(route, url) pairs, computed lazily: later routes are asked only if earlier fail."""
    work = search.work
    if not work.pdf_links:
        search.note("crossref-link", None, "no link with content-type application/pdf")
    for url in work.pdf_links:
        yield "crossref-link", url

    try:
        search.unpaywall = fetch_unpaywall(work.doi, search.config, search.client)
    except FetchError as exc:
        search.note("unpaywall", exc.source, f"lookup failed: {exc.reason}")
    else:
        urls = search.unpaywall.pdf_urls()
        if not urls:
            search.note("unpaywall", None, "no open-access location with a PDF URL")
        for url in urls:
            yield "unpaywall", url

    if work.landing_page:
        yield from _citation_pdf_urls(search, work.landing_page)
    else:
        search.note("citation_pdf_url", None, "Crossref gives no landing page")

    pmcid = work.pmcid or (search.unpaywall.pmcid if search.unpaywall else None)
    if pmcid:
        yield "pmc", f"{search.config.url('pmc')}/articles/{pmcid}/pdf/"
    else:
        search.note("pmc", None, "no PMCID known")


def _citation_pdf_urls(search: _Search, landing_page: str) -> Iterator[tuple[str, str]]:
    from bs4 import BeautifulSoup

    found: list[str] = []

    def pdf_links(response: requests.Response) -> str | None:
        """A landing page is kept (cached) only when it names the PDF: a cookie wall or a
        bot check in its place would otherwise be replayed on every rerun."""
        soup = BeautifulSoup(response.text, "html.parser")
        tags = soup.find_all("meta", attrs={"name": _CITATION_PDF_URL})
        found[:] = [str(tag.get("content")).strip() for tag in tags if tag.get("content")]
        return None if found else "no citation_pdf_url meta tag"

    try:
        response = search.client.get(landing_page, validate=pdf_links)
    except FetchError as exc:
        reason = exc.reason if exc.status == 200 else f"landing page: {exc.reason}"
        search.note("citation_pdf_url", landing_page, reason)
        return
    for url in found:
        yield "citation_pdf_url", urljoin(response.url, url)


def _nothing_found(doi: str, attempts: list[PdfAttempt]) -> str:
    tried = "; ".join(
        f"{attempt.route}{' ' + attempt.url if attempt.url else ''}: {attempt.result}"
        for attempt in attempts
    )
    return (
        f"no open-access PDF found (tried {tried}). Download the PDF by hand and run "
        f"`make extract PDF=file.pdf DOI={doi}` to attach this DOI's metadata to it"
    )


def _recorded_license(dest_dir: Path) -> str | None:
    try:
        record = json.loads((dest_dir / RECORD_NAME).read_text())
        return (record.get("facts") or {}).get("license")
    except (OSError, ValueError, AttributeError):
        return None


def _write_record(
    dest_dir: Path,
    doi: str,
    facts: DocumentFacts,
    attempts: list[PdfAttempt],
    found: PdfAttempt | None,
) -> None:
    record: dict[str, Any] = {
        "doi": doi,
        "facts": asdict(facts),
        "pdf": PDF_NAME if found else None,
        "pdf_url": found.url if found else None,
        "route": found.route if found else None,
        "attempts": [asdict(attempt) for attempt in attempts],
    }
    write_json_atomic(dest_dir / RECORD_NAME, record)


@dataclass
class DoiSource:
    """A DOI: its facts from Crossref and its open-access PDF, found by the routes above."""

    doi: str
    kind: str = "doi"

    @property
    def location(self) -> str:
        return self.doi

    @property
    def source_id(self) -> str:
        return doi_source_id(self.doi)

    def resolve(self, fetching: Fetching, run_step: StepRunner = run_directly) -> Document:
        dest = fetching.config.path("extracted") / self.source_id
        facts, pdf = run_step(
            "fetch-doi", fetch_doi_document, self.doi, fetching.config, dest, client=fetching.http()
        )
        return pdf_document(
            pdf,
            source_id=self.source_id,
            kind=self.kind,
            location=self.doi,
            facts=facts,
            fetching=fetching,
            run_step=run_step,
        )
