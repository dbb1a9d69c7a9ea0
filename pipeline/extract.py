"""Extract one source: its images, their classes, and candidate rows staged for review.

Each step is a plain function so that the CLI, the tests and the Prefect flow in
`flows/extract.py` call the same code.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import PipelineError, SourceError
from pipeline.propose import propose_row
from pipeline.records import CandidateDraft, DocumentFacts
from pipeline.sources.ids import doi_source_id, pdf_source_id, safe_name
from pipeline.store import Candidate, StageResult, Store

if TYPE_CHECKING:
    from pipeline.classify import Classification
    from pipeline.config import Config
    from pipeline.http import HttpClient
    from pipeline.pdf.record import PdfImage

log = logging.getLogger(__name__)

# Images flagged so by extraction are decorations, unusable, masks, or parts of a stitched
# figure (which is staged whole): never staged.
NOT_STAGED_FLAGS = frozenset({"icon", "repeated", "too-large", "undecodable", "tile", "in-smask"})


# Runs one named step: the library calls steps directly, the Prefect flow as tasks.
StepRunner = Callable[..., Any]


def run_directly(name: str, step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return step(*args, **kwargs)


@dataclass
class PdfSource:
    source_id: str
    kind: str  # "pdf" or "doi"
    location: str  # the file path or the DOI
    pdf_path: Path
    facts: DocumentFacts | None = None


@dataclass
class ExtractReport:
    source_id: str
    location: str
    out_dir: Path
    images: int
    candidates: list[Candidate] = field(default_factory=list)
    staged: list[int] = field(default_factory=list)
    already_staged: list[int] = field(default_factory=list)


def prepare_pdf_source(
    pdf_path: Path, *, doi: str | None = None, facts: DocumentFacts | None = None
) -> PdfSource:
    """Check the file is a readable PDF and name the source it belongs to."""
    from pipeline.pdf.open import open_pdf

    open_pdf(pdf_path).close()
    if doi:
        return PdfSource(doi_source_id(doi), "doi", doi, pdf_path, facts)
    return PdfSource(pdf_source_id(pdf_path.read_bytes()), "pdf", str(pdf_path), pdf_path, facts)


def extract_images(source: PdfSource, config: Config) -> list[PdfImage]:
    from pipeline.pdf.images import extract_pdf_images

    out_dir = config.path("extracted") / source.source_id
    return extract_pdf_images(
        source.pdf_path, out_dir, max_megapixels=config.extraction.max_megapixels
    )


def classify_images(images: list[PdfImage]) -> dict[int, Classification | str]:
    """Class of each written image by index; a string says why it could not be read."""
    from pipeline.classify import classify_files

    return classify_files((image.index, image.file) for image in images)


def _stageable(image: PdfImage, images: list[PdfImage]) -> bool:
    if image.file is None or NOT_STAGED_FLAGS.intersection(image.flags):
        return False
    # A compound figure is staged as its panels; the whole figure stays in the manifest.
    return not any(other.panel_of == image.index for other in images)


def propose_candidates(
    source: PdfSource,
    images: list[PdfImage],
    classes: dict[int, Classification | str],
    *,
    low_confidence: float,
) -> list[CandidateDraft]:
    """One draft row per X-ray or CT image (or panel) worth a reviewer's look."""
    drafts: list[CandidateDraft] = []
    for image in images:
        result = classes.get(image.index)
        if isinstance(result, str) or result is None or result.modality == "other":
            continue
        if not _stageable(image, images):
            continue
        flags = ["low confidence"] if result.confidence < low_confidence else []
        drafts.append(
            draft_for_image(
                source.source_id,
                source.kind,
                source.facts,
                image.to_json(),
                result.modality,
                result.to_json(),
                flags,
            )  # fmt: skip
        )
    return drafts


def draft_for_image(
    source_id: str,
    source_kind: str,
    facts: DocumentFacts | None,
    image: dict[str, Any],
    modality: str,
    classification: dict[str, Any],
    flags: list[str],
) -> CandidateDraft:
    """The candidate row for one extracted image (`PdfImage.to_json()` or a manifest entry)."""
    text = image.get("panel_caption") or image.get("caption")
    fields, evidence = propose_row(
        modality, classification.get("view"), text, panel=image.get("panel"), facts=facts
    )
    fields["filename"] = Path(image["file"]).name
    bbox = image.get("bbox")
    return CandidateDraft(
        source_id=source_id,
        source_kind=source_kind,
        image_sha256=image["sha256"],
        image_file=str(image["file"]),
        fields=fields,
        page=image.get("page"),
        xref=image.get("xref"),
        bbox=tuple(bbox) if bbox else None,
        image_index=image.get("index"),
        panel=image.get("panel"),
        caption=image.get("caption"),
        classifier_modality=classification.get("modality"),
        classifier_view=classification.get("view"),
        classifier_confidence=classification.get("confidence"),
        classifier_reasons=list(classification.get("reasons") or []),
        evidence=evidence,
        flags=flags,
    )


def write_manifest(
    source: PdfSource,
    images: list[PdfImage],
    classes: dict[int, Classification | str],
    out_dir: Path,
    *,
    low_confidence: float = 0.6,
) -> Path:
    """Every image found, with its class, beside the image files (written atomically).

    An image the classifier called `other` without conviction is marked `borderline`,
    so a reviewer can stage it by hand (`python -m pipeline stage-image`).
    """
    entries = []
    for image in images:
        entry = image.to_json()
        result = classes.get(image.index)
        if isinstance(result, str):
            entry["classification_error"] = result
        elif result is not None:
            entry["classification"] = result.to_json()
            entry["borderline"] = result.modality == "other" and result.confidence < low_confidence
        entries.append(entry)
    manifest = {
        "source_id": source.source_id,
        "kind": source.kind,
        "location": source.location,
        "pdf": str(source.pdf_path),
        "facts": asdict(source.facts) if source.facts else None,
        "images": entries,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "manifest.json"
    handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=".manifest.")
    with os.fdopen(handle, "w") as stream:
        json.dump(manifest, stream, indent=2, default=str)
    os.replace(temporary, path)
    return path


def stage_candidates(store: Store, drafts: list[CandidateDraft]) -> StageResult:
    """Stage the drafts whose image the dataset does not already hold; flag near-duplicates."""
    from pipeline.dedupe import flag_duplicates, known_image

    fresh = []
    for draft in drafts:
        if known_image(store, draft.image_sha256):
            log.info("%s: %s is in the dataset already", draft.source_id, draft.image_file)
        else:
            fresh.append(draft)
    result = store.stage(fresh)
    if result.staged:
        flag_duplicates(store, result.staged)
    return result


def extract_pdf(
    pdf_path: Path,
    config: Config,
    store: Store,
    *,
    doi: str | None = None,
    facts: DocumentFacts | None = None,
    run_step: StepRunner = run_directly,
) -> ExtractReport:
    """Run every step for one PDF; a failure is recorded against the source and re-raised."""
    location = doi or str(pdf_path)
    source: PdfSource | None = None
    try:
        if doi and facts is None:
            facts = run_step("resolve-doi", resolve_doi_facts, doi, config)
        source = run_step("prepare", prepare_pdf_source, pdf_path, doi=doi, facts=facts)
        images = run_step("extract-images", extract_images, source, config)
    except SourceError as exc:
        source_id = source.source_id if source else _failed_id(pdf_path, doi)
        store.record_source(source_id, "doi" if doi else "pdf", location, error=exc.reason)
        raise
    classes = run_step("classify", classify_images, images)
    out_dir = config.path("extracted") / source.source_id
    low = config.classify.low_confidence
    run_step("write-manifest", write_manifest, source, images, classes, out_dir, low_confidence=low)
    drafts = run_step("propose", propose_candidates, source, images, classes, low_confidence=low)
    result = run_step("stage", stage_candidates, store, drafts)
    store.record_source(
        source.source_id, source.kind, location,
        images_found=len(images), candidates_staged=len(result.staged),
    )  # fmt: skip
    rows = store.candidates(source_id=source.source_id)
    return ExtractReport(
        source_id=source.source_id,
        location=location,
        out_dir=out_dir,
        images=len(images),
        candidates=rows,
        staged=result.staged,
        already_staged=result.existing,
    )


def resolve_doi_facts(doi: str, config: Config) -> DocumentFacts:
    from pipeline.sources.doi import resolve_doi

    return resolve_doi(doi, config)


def fetch_doi_pdf(
    doi: str, config: Config, dest_dir: Path, client: HttpClient | None = None
) -> tuple[DocumentFacts, Path]:
    from pipeline.sources.doi import fetch_doi_document

    return fetch_doi_document(doi, config, dest_dir, client=client)


def extract_doi(
    doi: str,
    config: Config,
    store: Store,
    *,
    run_step: StepRunner = run_directly,
    client: HttpClient | None = None,
) -> ExtractReport:
    """Resolve the DOI, download its open-access PDF, and extract that PDF with its facts."""
    source_id = doi_source_id(doi)
    dest_dir = config.path("extracted") / source_id
    try:
        facts, pdf_path = run_step("fetch-doi", fetch_doi_pdf, doi, config, dest_dir, client)
    except SourceError as exc:
        store.record_source(source_id, "doi", doi, error=exc.reason)
        raise
    return extract_pdf(pdf_path, config, store, doi=doi, facts=facts, run_step=run_step)


def _failed_id(pdf_path: Path, doi: str | None) -> str:
    """An id to record a failure against when the file could not be read as a PDF."""
    if doi:
        return doi_source_id(doi)
    try:
        return pdf_source_id(pdf_path.read_bytes())
    except OSError:
        return f"pdf-missing-{pdf_path.name}"


def stage_by_hand(
    config: Config, store: Store, source_id: str, index: int, modality: str, *, actor: str
) -> StageResult:
    """Stage an image of an extracted source that the classifier left out (from its manifest)."""
    if modality not in ("xray", "ct"):
        raise PipelineError(f"modality must be xray or ct, not {modality!r}")
    manifest_path = (
        config.path("extracted") / safe_name(source_id, max_length=200) / "manifest.json"
    )
    if not manifest_path.is_file():
        raise PipelineError(f"{source_id}: no manifest at {manifest_path} (extract it first)")
    manifest = json.loads(manifest_path.read_text())
    entry = next((image for image in manifest["images"] if image["index"] == index), None)
    if entry is None or not entry.get("file"):
        raise PipelineError(f"{source_id}: no written image with index {index} in {manifest_path}")
    facts = DocumentFacts(**manifest["facts"]) if manifest.get("facts") else None
    classification = {**(entry.get("classification") or {}), "modality": modality}
    draft = draft_for_image(
        source_id, manifest["kind"], facts, entry, modality, classification,
        [f"staged by hand by {actor}"],
    )  # fmt: skip
    return stage_candidates(store, [draft])
