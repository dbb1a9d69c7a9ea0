"""Extract one source: the one path from any source to staged candidate rows.

    source --resolve--> document --panels--> images --classify--> classes
        --manifest--> extracted/<id>/manifest.json --propose--> drafts --stage--> store

Each step is a plain function run through `run_step`: the CLI and the tests call them
directly, the Prefect flow (`flows/extract.py`) as tasks. Whatever fails, in whichever
step, is recorded against the source with its reason, then raised.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.document import Document, DocumentImage
from pipeline.errors import PipelineError
from pipeline.files import write_json_atomic
from pipeline.panels import split_panels
from pipeline.propose import case_proposal, propose
from pipeline.records import CandidateDraft
from pipeline.sources.base import Fetching, Source, StepRunner, run_directly
from pipeline.sources.ids import safe_name
from pipeline.store import Candidate, StageResult, Store

if TYPE_CHECKING:
    from pipeline.classify import Classification
    from pipeline.config import Config

log = logging.getLogger(__name__)

Classes = dict[int, "Classification | str"]


@dataclass
class ExtractReport:
    source_id: str
    location: str
    out_dir: Path
    images: int
    candidates: list[Candidate] = field(default_factory=list)
    staged: list[int] = field(default_factory=list)
    already_staged: list[int] = field(default_factory=list)
    forms: dict[str, str] = field(default_factory=dict)  # case page field -> markup form read


def classify_images(images: list[DocumentImage]) -> Classes:
    """Class of each image that can be staged, by index; a string says why it could not be
    read. Icons, the tiles of a stitched figure and the other images never staged
    (document.NOT_STAGED_FLAGS) are not classified: a diagram's icons and tiles can be most
    of a paper's images, and their class would decide nothing."""
    from pipeline.classify import classify_files

    return classify_files((image.index, image.file) for image in images if image.stageable)


def is_figure_of_panels(image: DocumentImage, images: list[DocumentImage]) -> bool:
    """A compound figure is staged as its panels; the whole stays in the manifest."""
    return any(other.panel_of == image.index for other in images)


def write_manifest(
    document: Document, images: list[DocumentImage], classes: Classes, *, low_confidence: float
) -> Path:
    """Every image found, with its class (when it can be staged), beside the image files.

    An image the classifier called `other` without conviction is marked `borderline`, so
    a reviewer can stage it by hand (`python -m pipeline stage-image`).
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
    manifest = {**document.summary_json(), "images": entries}
    return write_json_atomic(document.out_dir / "manifest.json", manifest, ensure_ascii=False)


def propose_candidates(
    document: Document, images: list[DocumentImage], classes: Classes, *, low_confidence: float
) -> list[CandidateDraft]:
    """One draft row per X-ray or CT image (or panel) worth a reviewer's look."""
    case_text = case_proposal(document.case)
    drafts = []
    for image in images:
        result = classes.get(image.index)
        if result is None or isinstance(result, str) or not image.stageable:
            continue
        if is_figure_of_panels(image, images):
            continue
        draft = propose(document, image, result, case_text, low_confidence=low_confidence)
        if draft is not None:
            drafts.append(draft)
    return drafts


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


def failure_reason(exc: BaseException) -> str:
    """One line naming why a source failed, for the store and the run report."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    if isinstance(exc, MemoryError):
        return "out of memory (MemoryError) while extracting"
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]


class StepTracker:
    """Runs steps through `run_step`, remembering which one is running."""

    def __init__(self, run_step: StepRunner) -> None:
        self.run_step = run_step
        self.current = "resolve"

    def __call__(self, name: str, step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.current = name
        return self.run_step(name, step, *args, **kwargs)


def _record_failure(
    store: Store, named: Document | Source, source: Source, exc: Exception, step: str
) -> None:
    try:
        store.record_source(
            named.source_id, source.kind, source.location, error=failure_reason(exc),
            failed_step=step,
        )  # fmt: skip
    except Exception:  # noqa: BLE001  (the store failing too must not hide why the source did)
        log.exception("%s: could not record its failure in the store", source.location)


def release_pdf_cache() -> None:
    """Empty MuPDF's store of decoded images.

    MuPDF keeps every image it decoded in its store after the document is closed: with
    PyMuPDF 1.28 a run grew by about 1.2 MB per PDF, 880 MB over 1,000 sources.
    """
    if "pymupdf" in sys.modules:
        sys.modules["pymupdf"].TOOLS.store_shrink(100)


def extract(
    source: Source,
    config: Config,
    store: Store,
    *,
    fetching: Fetching | None = None,
    run_step: StepRunner = run_directly,
) -> ExtractReport:
    """Run every step for one source. Pass `fetching` to share clients across sources."""
    own = fetching is None
    fetching = fetching or Fetching(config)
    step = StepTracker(run_step)
    document: Document | None = None
    from pipeline.netguard import source_deadline  # a local PDF loads no HTTP client

    try:
        # every fetch of the source ends by [http] source_deadline
        with source_deadline(config.http.source_deadline):
            document = source.resolve(fetching, step)
        images = step(
            "panels", split_panels, document.images, document.out_dir, config.extraction
        )
        classes = step("classify", classify_images, images)
        low = config.classify.low_confidence
        step("write-manifest", write_manifest, document, images, classes, low_confidence=low)
        drafts = step("propose", propose_candidates, document, images, classes, low_confidence=low)
        result = step("stage", stage_candidates, store, drafts)
    except Exception as exc:
        _record_failure(store, document or source, source, exc, step.current)
        raise
    finally:
        if own:
            fetching.close()
        release_pdf_cache()
    found = sum(1 for image in images if image.file is not None)
    store.record_source(
        document.source_id, document.kind, document.location,
        images_found=found, candidates_staged=len(result.staged),
    )  # fmt: skip
    return ExtractReport(
        source_id=document.source_id,
        location=document.location,
        out_dir=document.out_dir,
        images=found,
        candidates=store.candidates(source_id=document.source_id),
        staged=result.staged,
        already_staged=result.existing,
        forms=dict(document.case.matched) if document.case else {},
    )


def stage_by_hand(
    config: Config, store: Store, source_id: str, index: int, modality: str, *, actor: str
) -> StageResult:
    """Stage an image of an extracted source that the classifier left out (from its manifest)."""
    from pipeline.classify import Classification

    if modality not in ("xray", "ct"):
        raise PipelineError(f"modality must be xray or ct, not {modality!r}")
    out_dir = config.path("extracted") / safe_name(source_id, max_length=200)
    manifest_path = out_dir / "manifest.json"
    if not manifest_path.is_file():
        raise PipelineError(f"{source_id}: no manifest at {manifest_path} (extract it first)")
    manifest = json.loads(manifest_path.read_text())
    document = Document.from_manifest(manifest, out_dir)
    image = next((image for image in document.images if image.index == index), None)
    if image is None or image.file is None:
        raise PipelineError(f"{source_id}: no written image with index {index} in {manifest_path}")
    entry = next(entry for entry in manifest["images"] if entry["index"] == index)
    seen = entry.get("classification") or {}
    result = Classification(
        modality=modality,
        view=seen.get("view"),
        confidence=float(seen.get("confidence") or 0.0),
        reasons=[*seen.get("reasons", []), f"modality set by hand by {actor}"],
    )
    draft = propose(
        document,
        image,
        result,
        case_proposal(document.case),
        low_confidence=0.0,  # a person decided: no "low confidence" flag
        flags=[f"staged by hand by {actor}"],
    )
    if draft is None:
        raise PipelineError(f"{source_id}: image {index} cannot be staged")
    return stage_candidates(store, [draft])
