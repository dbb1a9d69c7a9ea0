"""Unpaywall (`/v2/<doi>?email=...`): where a paper's open-access copies are."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline.sources.licenses import license_name

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.http import HttpClient

log = logging.getLogger(__name__)

_PMC_URL = re.compile(r"/pmc/articles/(PMC\d+)|europepmc\.org/articles/(pmc\d+)", re.IGNORECASE)
_PMC_OAI = re.compile(r"^oai:pubmedcentral\.nih\.gov:(\d+)$")


@dataclass
class OaLocation:
    url_for_pdf: str | None
    landing_page: str | None
    license: str | None  # the collection's short name, when Unpaywall names a CC licence
    host_type: str | None
    is_best: bool


@dataclass
class UnpaywallRecord:
    doi: str
    is_oa: bool
    locations: list[OaLocation] = field(default_factory=list)  # best first
    pmcid: str | None = None

    def pdf_urls(self) -> list[str]:
        urls: list[str] = []
        for location in self.locations:
            if location.url_for_pdf and location.url_for_pdf not in urls:
                urls.append(location.url_for_pdf)
        return urls

    @property
    def license(self) -> str | None:
        return next((loc.license for loc in self.locations if loc.license), None)


def unpaywall_url(doi: str, config: Config) -> str:
    from pipeline.sources.crossref import doi_path

    return f"{config.url('unpaywall')}/v2/{doi_path(doi)}"


def fetch_unpaywall(doi: str, config: Config, client: HttpClient) -> UnpaywallRecord:
    """The open-access locations of `doi`; FetchError when Unpaywall cannot be asked or
    answers something other than a record (which is then not cached either)."""
    from pipeline.bodies import json_object

    data = client.get_json(
        unpaywall_url(doi, config),
        params={"email": config.contact_email},
        expect=json_object("doi"),
    )
    return parse_unpaywall(doi, data)


def parse_unpaywall(doi: str, data: dict[str, Any]) -> UnpaywallRecord:
    entries: list[dict[str, Any]] = []
    best = data.get("best_oa_location")
    if isinstance(best, dict):
        entries.append(best)
    for entry in data.get("oa_locations") or []:
        if isinstance(entry, dict) and entry not in entries:
            entries.append(entry)
    locations = [
        OaLocation(
            url_for_pdf=entry.get("url_for_pdf"),
            landing_page=entry.get("url_for_landing_page") or entry.get("url"),
            license=license_name(entry.get("license")),
            host_type=entry.get("host_type"),
            is_best=bool(entry.get("is_best")) or entry is best,
        )
        for entry in entries
    ]
    return UnpaywallRecord(
        doi=doi, is_oa=bool(data.get("is_oa")), locations=locations, pmcid=_pmcid(entries)
    )


def _pmcid(entries: list[dict[str, Any]]) -> str | None:
    for entry in entries:
        match = _PMC_OAI.match(str(entry.get("pmh_id") or ""))
        if match:
            return f"PMC{match.group(1)}"
        for key in ("url_for_pdf", "url_for_landing_page", "url"):
            found = _PMC_URL.search(str(entry.get(key) or ""))
            if found:
                return (found.group(1) or found.group(2)).upper()
    return None
