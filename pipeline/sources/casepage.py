"""A case page (Radiopaedia, Eurorad, SIRM) as a source: the page's facts and its images.

Fetching goes through the run's site fetcher (robots.txt, pauses, a site stopped for the
run); parsing is the site module's (`pipeline/sources/sites/`). What the page says of the
patient becomes the document's `CaseFacts`; what it says of each image (modality, view,
legend) stays with the image as declared facts for the proposal step to weigh.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.document import CaseFacts, Document, DocumentImage
from pipeline.errors import SourceError
from pipeline.records import DocumentFacts
from pipeline.sources.base import Fetching, StepRunner, run_directly
from pipeline.sources.ids import safe_name, url_source_id
from pipeline.sources.sites import SITE_NAMES, case_site, site_for_url
from pipeline.sources.sites.base import CasePage
from pipeline.sources.sites.fetcher import SiteFetcher
from pipeline.sources.sites.images import Downloaded, Selected, download_images, select_images


def take_images(
    page: CasePage,
    fetcher: SiteFetcher,
    out_dir: Path,
    *,
    ct_slices: int,
    max_megapixels: float,
) -> tuple[list[Selected], list[Downloaded]]:
    """The page's images chosen (every radiograph, a few slices per CT stack) and fetched."""
    selected = select_images(page, ct_slices)
    stem = safe_name(f"{page.site}-{_case_key(page.url)}", max_length=60)
    downloads = download_images(
        page, selected, fetcher, out_dir, stem, max_megapixels=max_megapixels
    )
    if downloads and not any(item.file for item in downloads):
        first = next(item.error for item in downloads if item.error)
        raise SourceError(page.url, f"none of the {len(downloads)} images downloaded: {first}")
    return selected, downloads


def _case_key(url: str) -> str:
    return [part for part in urlsplit(url).path.split("/") if part][-1]


def case_facts(page: CasePage, language: str | None) -> CaseFacts:
    return CaseFacts(
        site=page.site,
        title=page.title,
        age=page.age,
        sex=page.sex,
        finding=page.finding,
        diagnosis=page.diagnosis,
        certainty=page.certainty,
        clinical_history=page.clinical_history,
        text=page.text,
        date=page.date,
        language=page.language or language,
        evidence=dict(page.evidence),
        matched=dict(page.matched),
    )


def document_images(
    selected: list[Selected], downloads: list[Downloaded]
) -> list[DocumentImage]:
    """Every image the page shows, taken or not, with what the page says about it."""
    by_index = {item.index: item for item in downloads}
    images = []
    for choice in selected:
        shown = choice.image
        item = by_index.get(choice.index)
        images.append(
            DocumentImage(
                index=choice.index,
                file=item.file if item else None,
                sha256=item.sha256 if item else None,
                width=item.width if item else None,
                height=item.height if item else None,
                url=(item.url if item else None) or shown.url,
                caption=shown.legend,
                text=shown.study_findings,
                declared_modality=shown.modality,
                declared_view=shown.view,
                view_text=shown.view_text,
                flags=[] if choice.taken else ["not-taken"],
                review_flags=list(item.flags) if item else [],
                error=(item.error if item else None) or choice.reason,
                origin={
                    "page_image": shown.url,
                    "page_url": shown.page_url,
                    "study": shown.study,
                    "position": shown.position,
                    "stack_size": shown.stack_size,
                    "full_resolution": shown.full_resolution,
                },
            )
        )
    return images


@dataclass
class CaseUrl:
    """The address of a case on a known site (recognised by the base URLs in configs)."""

    url: str
    kind: str = "url"

    @property
    def location(self) -> str:
        return self.url.strip()

    @property
    def source_id(self) -> str:
        return url_source_id(self.location)

    def site_and_address(self, fetching: Fetching) -> tuple[str, str]:
        """The site the address belongs to and the case's canonical address."""
        site = site_for_url(self.location, fetching.config)
        if site is None:
            known = ", ".join(fetching.config.url(name) for name in SITE_NAMES)
            raise SourceError(self.location, f"not a case page of a known site ({known})")
        return site, case_site(site).canonical_url(self.location)

    def resolve(self, fetching: Fetching, run_step: StepRunner = run_directly) -> Document:
        config = fetching.config
        name, address = self.site_and_address(fetching)
        site = case_site(name)
        source_id = url_source_id(address)
        out_dir = config.path("extracted") / source_id
        fetcher = fetching.sites()
        page = run_step("fetch-case", site.fetch_case, address, fetcher)
        selected, downloads = run_step(
            "download-images",
            take_images,
            page,
            fetcher,
            out_dir,
            ct_slices=config.sites.ct_slices,
            max_megapixels=config.extraction.max_megapixels,
        )
        return Document(
            source_id=source_id,
            kind=self.kind,
            location=address,
            out_dir=out_dir,
            facts=DocumentFacts(
                doi=page.doi,
                url=page.url,
                title=page.title,
                license=page.license,
                credit=page.credit,
            ),
            images=document_images(selected, downloads),
            case=case_facts(page, site.language),
        )
