"""Propose a dataset row for one image, weighing everything known about it.

The same rules for every kind of source. From least to most specific, later evidence wins:
1. the document's facts (doi, url, licence, credit);
2. the case's own text (a case page's clinical history): age, sex, offset, outcomes...;
3. the image's text (its caption or legend, the caption's part for a panel);
4. what the page declares in its structure (the patient's age and sex, the finding; the
   image's modality and view), which no free text overrides.
The modality is the page's when it declares X-ray or CT (a disagreeing classifier is flagged),
else the classifier's; an image neither names as X-ray or CT is not proposed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.records import MODALITY_NAMES, CandidateDraft

if TYPE_CHECKING:
    from pipeline.classify import Classification
    from pipeline.document import CaseFacts, Document, DocumentImage

# Fields the text extractor proposes that are columns of the dataset.
TEXT_FIELDS = (
    "age", "sex", "offset", "survival", "intubated", "went_icu", "needed_supplemental_O2",
    "temperature", "view", "finding", "RT_PCR_positive",
)  # fmt: skip
# What a case's history may say of the patient; view and finding belong to an image or page.
CASE_TEXT_FIELDS = tuple(name for name in TEXT_FIELDS if name not in ("view", "finding"))
# What belongs to one image of a compound figure; the rest is the patient's.
IMAGE_FIELDS = ("offset", "view")
PATIENT_FIELDS = tuple(name for name in TEXT_FIELDS if name not in (*IMAGE_FIELDS, "finding"))
# Both offset clocks travel as evidence, whichever one `offset` took.
CLOCKS = ("offset_since_onset", "offset_since_admission")
CERTAIN = re.compile(r"(?i)\bcertain\b")


@dataclass
class TextProposal:
    """Values a text states, each with the span of words that states it."""

    values: dict[str, Any]
    evidence: dict[str, dict[str, Any]]


def text_proposal(
    text: str | None,
    names: tuple[str, ...],
    *,
    language: str | None = None,
    source: str | None = None,
) -> TextProposal:
    """What `text` states of the fields `names` (and both offset clocks), with the spans;
    `source` labels where the evidence was read."""
    if not text:
        return TextProposal({}, {})
    from pipeline.textmeta import extract_fields

    return _proposal(extract_fields(text, language=language), names, source)


def _proposal(found: Any, names: tuple[str, ...], source: str | None) -> TextProposal:
    wanted = (*names, *CLOCKS)
    values = {name: found.values.get(name) for name in wanted}
    values = {name: value for name, value in values.items() if value is not None}
    label = {"from": source} if source else {}
    spans = {
        name: {**label, "start": span.start, "end": span.end, "text": span.text}
        for name, span in found.evidence.items()
        if name in values
    }
    for name in CLOCKS:  # not dataset columns: their days travel with their words
        if name in spans:
            spans[name]["value"] = values[name]
    return TextProposal({k: v for k, v in values.items() if k not in CLOCKS}, spans)


def _merged(*proposals: TextProposal) -> TextProposal:
    """Later proposals win, field by field."""
    values: dict[str, Any] = {}
    evidence: dict[str, dict[str, Any]] = {}
    for proposal in proposals:
        values.update(proposal.values)
        evidence.update(proposal.evidence)
    return TextProposal(values, evidence)


def image_proposal(
    image: DocumentImage, *, language: str | None = None, source: str | None = None
) -> TextProposal:
    """What the image's caption states. A panel reads its own part of the caption (which
    carries the caption's shared opening); a panel whose caption has no parts reads only the
    patient's facts from the whole caption, since its day, view or finding may be another
    panel's. What the caption says of each panel's day and view ("days 1 (a), 3 (b)") fills
    what the panel's own words leave open."""
    caption = image.caption
    if not image.panel or not caption:
        return text_proposal(caption, TEXT_FIELDS, language=language, source=source)
    from pipeline.textmeta import extract_panel_fields

    if image.panel_caption:
        own = text_proposal(image.panel_caption, TEXT_FIELDS, language=language, source=source)
    else:
        own = text_proposal(caption, PATIENT_FIELDS, language=language, source=source)
    per_panel = extract_panel_fields(caption).get(image.panel.upper())
    named = _proposal(per_panel, IMAGE_FIELDS, source) if per_panel else TextProposal({}, {})
    return _merged(named, own)


def case_proposal(case: CaseFacts | None) -> TextProposal:
    """What the case's text states of the patient (read once per document)."""
    if case is None:
        return TextProposal({}, {})
    return text_proposal(
        case.case_text, CASE_TEXT_FIELDS, language=case.language, source="case text"
    )


def image_text(image: DocumentImage) -> str | None:
    """The words about this image: its part of the caption for a panel, else the caption."""
    return image.panel_caption or image.caption


def clinical_notes(document: Document, image: DocumentImage) -> str | None:
    """The case's history, then the image's own words where the history lacks them."""
    history = document.case.clinical_history if document.case else None
    own = image.text or image_text(image)
    parts = [history or ""]
    if own and own not in (history or ""):
        parts.append(own)
    return "\n".join(part for part in parts if part) or None


def clocks_differ(evidence: dict[str, Any]) -> str | None:
    """A flag when the text gives the image's day on both clocks and they disagree: the
    collection counted from onset in some papers and from admission in others, so the
    reviewer picks (one key on the review page)."""
    onset, admission = (evidence.get(name, {}).get("value") for name in CLOCKS)
    if onset is None or admission is None or onset == admission:
        return None
    return f"offset clocks differ: day {onset} since onset, day {admission} since admission"


def _modality(
    image: DocumentImage, result: Classification, low_confidence: float, flags: list[str]
) -> str | None:
    declared = image.declared_modality
    seen = MODALITY_NAMES.get(result.modality)
    if declared in ("X-ray", "CT"):
        if seen != declared:
            flags.append(
                f"classifier disagrees: the page says {declared}, the classifier "
                f"says {result.modality} ({result.confidence:.2f})"
            )
        return declared
    if seen is None:
        return None
    if result.confidence < low_confidence:
        flags.append("low confidence")
    return seen


def propose(
    document: Document,
    image: DocumentImage,
    result: Classification,
    case_text: TextProposal,
    *,
    low_confidence: float,
    flags: list[str] | None = None,
) -> CandidateDraft | None:
    """The candidate row for one image, or None when it is neither X-ray nor CT."""
    # The classifier's own flags (an overlay over the film, a film shown inverted or turned)
    # are for the reviewer too.
    flags = [*image.review_flags, *result.flags, *(flags or [])]
    modality = _modality(image, result, low_confidence, flags)
    if modality is None or image.file is None or not image.sha256:
        return None
    case = document.case
    fields: dict[str, Any] = {
        key: value for key, value in document.facts.dataset_fields().items() if value
    }
    evidence: dict[str, Any] = {}
    fields.update(case_text.values)
    evidence.update(case_text.evidence)
    own = image_proposal(image, language=document.language, source="caption" if case else None)
    fields.update(own.values)
    evidence.update(own.evidence)
    if case is not None:
        for name, value in (("age", case.age), ("sex", case.sex), ("finding", case.finding)):
            if value is not None:
                fields[name] = value
                words = case.diagnosis if name == "finding" else case.evidence.get(name)
                evidence[name] = {"from": "page", "text": words}
        if case.finding is None:
            flags.append(f"finding not recognised in: {case.diagnosis or case.title}")
        if case.certainty and not CERTAIN.search(case.certainty):
            flags.append(f"diagnostic certainty: {case.certainty}")
    if image.declared_view:
        fields["view"] = image.declared_view
        evidence["view"] = {"from": "page", "text": image.view_text}
    elif "view" not in fields and modality == "X-ray" and result.view == "lateral":
        fields["view"] = "L"
        evidence["view"] = {"from": "classifier", "text": None}
        flags.append("view L from the classifier")
    if image.url and case is not None:
        evidence["image_url"] = image.url
    differ = clocks_differ(evidence)
    if differ:
        flags.append(differ)
    fields["modality"] = modality
    fields["clinical_notes"] = clinical_notes(document, image)
    fields["filename"] = image.file.name
    return CandidateDraft(
        source_id=document.source_id,
        source_kind=document.kind,
        image_sha256=image.sha256,
        image_file=str(image.file),
        fields={name: value for name, value in fields.items() if value not in (None, "")},
        page=image.page,
        xref=image.xref,
        bbox=tuple(image.bbox) if image.bbox else None,
        image_index=image.index,
        panel=image.panel,
        caption=image.caption,
        classifier_modality=result.modality,
        classifier_view=result.view,
        classifier_confidence=result.confidence,
        classifier_reasons=list(result.reasons),
        evidence=evidence,
        flags=flags,
    )
