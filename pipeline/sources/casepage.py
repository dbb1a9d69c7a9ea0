"""A case page (Radiopaedia, Eurorad, SIRM) in, one candidate row per radiograph staged.

The steps are plain functions run through `run_step`, as for PDFs: the CLI calls them
directly, the Prefect flow as tasks.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pipeline.errors import SourceError
from pipeline.extract import ExtractReport, StepRunner, run_directly, stage_candidates
from pipeline.records import MODALITY_NAMES, CandidateDraft
from pipeline.sources.ids import safe_name, url_source_id
from pipeline.sources.sites import SITE_NAMES, site_for_url, site_module
from pipeline.sources.sites.base import CasePage
from pipeline.sources.sites.fetcher import SiteFetcher
from pipeline.sources.sites.images import Downloaded, Selected, download_images, select_images

if TYPE_CHECKING:
    from pipeline.classify import Classification
    from pipeline.config import Config
    from pipeline.http import HttpClient
    from pipeline.store import Store

# Fields read from the case's free text (never view or finding: the page says those).
TEXT_FIELDS = (
    "age", "sex", "offset", "survival", "intubated", "went_icu", "needed_supplemental_O2",
    "temperature", "RT_PCR_positive",
)  # fmt: skip
SITE_LANGUAGE = {"sirm": "it"}


def resolve_site(url: str, config: Config) -> tuple[str, str]:
    """The site a case URL belongs to and its canonical address."""
    site = site_for_url(url, config)
    if site is None:
        known = ", ".join(config.url(name) for name in SITE_NAMES)
        raise SourceError(url, f"not a case page of a known site ({known})")
    return site, site_module(site).canonical_url(url.strip())


def fetch_case(site: str, url: str, fetcher: SiteFetcher) -> CasePage:
    return site_module(site).fetch_case(url, fetcher)


def take_images(
    page: CasePage,
    fetcher: SiteFetcher,
    out_dir: Path,
    *,
    ct_slices: int = 3,
    max_megapixels: float = 150.0,
) -> tuple[list[Selected], list[Downloaded]]:
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


def classify_downloads(downloads: list[Downloaded]) -> dict[int, Classification | str]:
    from pipeline.classify import classify_files

    return classify_files((item.index, item.file) for item in downloads)


def write_manifest(
    source_id: str,
    page: CasePage,
    selected: list[Selected],
    downloads: list[Downloaded],
    classes: dict[int, Classification | str],
    out_dir: Path,
) -> Path:
    """The page's facts and every image it shows, taken or not, beside the files."""
    by_index = {item.index: item for item in downloads}
    entries = []
    for choice in selected:
        entry: dict[str, Any] = {
            "index": choice.index,
            "taken": choice.taken,
            "not_taken_because": choice.reason,
            "image": vars(choice.image),
        }
        if choice.index in by_index:
            entry["download"] = by_index[choice.index].to_json()
        result = classes.get(choice.index)
        if isinstance(result, str):
            entry["classification_error"] = result
        elif result is not None:
            entry["classification"] = result.to_json()
        entries.append(entry)
    facts = {key: value for key, value in page.to_json().items() if key != "images"}
    manifest = {
        "source_id": source_id,
        "kind": "url",
        "location": page.url,
        "page": facts,
        "images": entries,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=".manifest.")
    with os.fdopen(handle, "w") as stream:
        json.dump(manifest, stream, indent=2, default=str, ensure_ascii=False)
    path = out_dir / "manifest.json"
    os.replace(temporary, path)
    return path


def text_fields(page: CasePage) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fields the case's free text states: age and sex where the page has no such field,
    and offset, survival, intubation, ... from the clinical history."""
    from pipeline.textmeta import extract_fields

    text = page.clinical_history or page.text
    if not text:
        return {}, {}
    found = extract_fields(text, language=SITE_LANGUAGE.get(page.site))
    values = {name: found.values.get(name) for name in TEXT_FIELDS}
    values = {name: value for name, value in values.items() if value is not None}
    evidence = {name: span.to_json() for name, span in found.evidence.items() if name in values}
    return values, evidence


def propose_case_candidates(
    source_id: str,
    page: CasePage,
    downloads: list[Downloaded],
    classes: dict[int, Classification | str],
    *,
    low_confidence: float,
) -> list[CandidateDraft]:
    """One draft per X-ray or CT image, with what the page says about the case."""
    found, found_evidence = text_fields(page)
    drafts = []
    for item in downloads:
        result = classes.get(item.index)
        if item.file is None or item.sha256 is None or result is None or isinstance(result, str):
            continue
        draft = _draft(source_id, page, item, result, found, found_evidence, low_confidence)
        if draft is not None:
            drafts.append(draft)
    return drafts


def _draft(
    source_id: str,
    page: CasePage,
    item: Downloaded,
    result: Classification,
    found: dict[str, Any],
    found_evidence: dict[str, Any],
    low_confidence: float,
) -> CandidateDraft | None:
    image = item.image
    flags = list(item.flags)
    classifier_modality = MODALITY_NAMES.get(result.modality)
    modality = image.modality if image.modality in ("X-ray", "CT") else classifier_modality
    if modality is None:
        return None  # the page does not say, and the classifier sees neither X-ray nor CT
    if image.modality in ("X-ray", "CT"):
        if classifier_modality != image.modality:
            flags.append(
                f"classifier disagrees: the page says {image.modality}, the classifier "
                f"says {result.modality} ({result.confidence:.2f})"
            )
    elif result.confidence < low_confidence:
        flags.append("low confidence")
    view = image.view
    if view is None and modality == "X-ray" and result.view == "lateral":
        view = "L"
        flags.append("view L from the classifier")
    if page.finding is None:
        flags.append(f"finding not recognised in: {page.diagnosis or page.title}")
    if page.certainty and not re.search(r"(?i)\bcertain\b", page.certainty):
        flags.append(f"diagnostic certainty: {page.certainty}")
    fields: dict[str, Any] = {**found}
    evidence: dict[str, Any] = {
        name: {"from": "case text", **span} for name, span in found_evidence.items()
    }
    for name, value in (("age", page.age), ("sex", page.sex)):
        if value is not None:
            fields[name] = value
            evidence[name] = {"from": "page", "text": page.evidence.get(name)}
    fields.update(
        {
            "finding": page.finding,
            "view": view,
            "modality": modality,
            "url": page.url,
            "doi": page.doi,
            "license": page.license,
            "other_notes": page.credit,
            "clinical_notes": _notes(page, image.study_findings or image.legend),
            "filename": item.file.name,
        }
    )
    if page.finding:
        evidence["finding"] = {"from": "page", "text": page.diagnosis}
    if image.view_text:
        evidence["view"] = {"from": "page", "text": image.view_text}
    return CandidateDraft(
        source_id=source_id,
        source_kind="url",
        image_sha256=item.sha256,
        image_file=str(item.file),
        fields={name: value for name, value in fields.items() if value not in (None, "")},
        image_index=item.index,
        caption=image.legend,
        classifier_modality=result.modality,
        classifier_view=result.view,
        classifier_confidence=result.confidence,
        classifier_reasons=list(result.reasons),
        evidence={**evidence, "image_url": item.url},
        flags=flags,
    )


def _notes(page: CasePage, image_text: str | None) -> str | None:
    history = page.clinical_history or ""
    parts = [history]
    if image_text and image_text not in history:
        parts.append(image_text)
    return "\n".join(part for part in parts if part) or None


def extract_case_page(
    url: str,
    config: Config,
    store: Store,
    *,
    run_step: StepRunner = run_directly,
    client: HttpClient | None = None,
    fetcher: SiteFetcher | None = None,
) -> ExtractReport:
    """Fetch a case page, download its radiographs and stage one candidate for each.

    A failure (unknown site, layout changed, 404, site stopped, no image downloaded) is
    recorded against the source and re-raised. Pass one `fetcher` to several calls to
    share robots.txt and a site's stop across a run.
    """
    location = url.strip()
    source_id = url_source_id(location)
    own = fetcher is None
    try:
        site, location = resolve_site(location, config)
        source_id = url_source_id(location)
        fetcher = fetcher or SiteFetcher.from_config(config, client)
        out_dir = config.path("extracted") / source_id
        page = run_step("fetch-case", fetch_case, site, location, fetcher)
        selected, downloads = run_step(
            "download-images",
            take_images,
            page,
            fetcher,
            out_dir,
            ct_slices=config.sites.ct_slices,
            max_megapixels=config.extraction.max_megapixels,
        )
    except SourceError as exc:
        store.record_source(source_id, "url", location, error=exc.reason)
        raise
    finally:
        if own and fetcher is not None:
            fetcher.close()
    classes = run_step("classify", classify_downloads, downloads)
    run_step(
        "write-manifest", write_manifest, source_id, page, selected, downloads, classes, out_dir
    )
    low = config.classify.low_confidence
    drafts = run_step(
        "propose", propose_case_candidates, source_id, page, downloads, classes, low_confidence=low
    )
    result = run_step("stage", stage_candidates, store, drafts)
    images = sum(1 for item in downloads if item.file is not None)
    store.record_source(
        source_id, "url", location, images_found=images, candidates_staged=len(result.staged)
    )
    return ExtractReport(
        source_id=source_id,
        location=location,
        out_dir=out_dir,
        images=images,
        candidates=store.candidates(source_id=source_id),
        staged=result.staged,
        already_staged=result.existing,
    )
