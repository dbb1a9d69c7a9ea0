"""Propose a dataset row for one image from what is known about it."""

from __future__ import annotations

from typing import Any

from pipeline.records import MODALITY_NAMES, DocumentFacts

# Fields the text extractor proposes that are columns of the dataset.
TEXT_FIELDS = (
    "age", "sex", "offset", "survival", "intubated", "went_icu", "needed_supplemental_O2",
    "temperature", "view", "finding", "RT_PCR_positive",
)  # fmt: skip


def fields_from_text(text: str | None, panel: str | None = None) -> tuple[dict, dict]:
    """Dataset values and their supporting spans proposed from a caption or case text.

    With a panel letter, what the caption says about that panel wins over what it
    says about the whole figure.
    """
    if not text:
        return {}, {}
    from pipeline.textmeta import extract_fields, extract_panel_fields

    found = extract_fields(text)
    values = {name: found.values.get(name) for name in TEXT_FIELDS}
    evidence = {name: span for name, span in found.evidence.items() if name in TEXT_FIELDS}
    if panel:
        per_panel = extract_panel_fields(text).get(panel.upper())
        if per_panel is not None:
            for name in TEXT_FIELDS:
                if per_panel.values.get(name) is not None:
                    values[name] = per_panel.values[name]
                    if name in per_panel.evidence:
                        evidence[name] = per_panel.evidence[name]
    values = {name: value for name, value in values.items() if value is not None}
    evidence_json = {
        name: {"start": span.start, "end": span.end, "text": span.text}
        for name, span in evidence.items()
        if name in values
    }
    return values, evidence_json


def propose_row(
    modality: str,
    view: str | None,
    text: str | None,
    *,
    panel: str | None = None,
    facts: DocumentFacts | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The dataset fields for an image the classifier called `modality` (xray or ct)."""
    fields: dict[str, Any] = {}
    if facts is not None:
        fields.update({key: value for key, value in facts.dataset_fields().items() if value})
    text_values, evidence = fields_from_text(text, panel)
    fields.update(text_values)
    fields["modality"] = MODALITY_NAMES[modality]
    if "view" not in text_values and modality == "xray" and view == "lateral":
        fields["view"] = "L"
    if text:
        fields["clinical_notes"] = text
    return fields, evidence
