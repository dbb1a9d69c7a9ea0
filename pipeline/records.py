"""The collection's dataset schema and the records that flow between steps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# The 29 columns of the collection's metadata.csv, in its order.
DATASET_COLUMNS: tuple[str, ...] = (
    "patientid", "offset", "sex", "age", "finding", "RT_PCR_positive", "survival",
    "intubated", "intubation_present", "went_icu", "in_icu", "needed_supplemental_O2",
    "extubated", "temperature", "pO2_saturation", "leukocyte_count", "neutrophil_count",
    "lymphocyte_count", "view", "modality", "date", "location", "folder", "filename", "doi",
    "url", "license", "clinical_notes", "other_notes",
)  # fmt: skip

YES_NO_COLUMNS = (
    "RT_PCR_positive", "survival", "intubated", "intubation_present", "went_icu", "in_icu",
    "needed_supplemental_O2", "extubated",
)  # fmt: skip
NUMERIC_COLUMNS = (
    "offset", "age", "temperature", "pO2_saturation", "leukocyte_count", "neutrophil_count",
    "lymphocyte_count",
)  # fmt: skip

# The collection's vocabularies (values as the curators wrote them).
VOCABULARY: dict[str, tuple[str, ...]] = {
    "sex": ("M", "F"),
    "modality": ("X-ray", "CT"),
    "view": ("PA", "AP", "AP Supine", "AP semi erect", "L", "Axial", "Coronal"),
    "folder": ("images",),
    **{column: ("Y", "N") for column in YES_NO_COLUMNS},
}

# Classifier labels to the collection's modality names.
MODALITY_NAMES = {"xray": "X-ray", "ct": "CT"}

STATUSES = ("pending", "approved", "rejected")


# A dataset file name: one path component, no hidden files, nothing a shell or URL mangles.
SAFE_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def check_row_values(fields: dict[str, Any]) -> list[str]:
    """Problems with a row's values against the collection's vocabularies, as sentences."""
    problems: list[str] = []
    filename = fields.get("filename")
    if filename not in (None, "") and not SAFE_FILENAME.match(str(filename)):
        problems.append(
            f"filename: {filename!r} must be a plain file name (letters, digits, . _ -)"
        )
    for column, allowed in VOCABULARY.items():
        value = fields.get(column)
        if value not in (None, "") and str(value) not in allowed:
            problems.append(f"{column}: {value!r} is not one of {', '.join(allowed)}")
    for column in NUMERIC_COLUMNS:
        value = fields.get(column)
        if value in (None, ""):
            continue
        try:
            float(value)
        except (TypeError, ValueError):
            problems.append(f"{column}: {value!r} is not a number")
    unknown = set(fields) - set(DATASET_COLUMNS)
    if unknown:
        problems.append(f"unknown columns: {', '.join(sorted(unknown))}")
    return problems


@dataclass
class CandidateDraft:
    """A proposed dataset row for one image, before it is staged.

    `fields` holds the dataset columns the pipeline could propose; the rest of the
    attributes are provenance that stays with the row in the staging store.
    """

    source_id: str
    source_kind: str  # "pdf", "doi" or "url"
    image_sha256: str
    image_file: str  # path of the extracted image file
    fields: dict[str, Any] = field(default_factory=dict)
    page: int | None = None
    xref: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    image_index: int | None = None
    panel: str | None = None
    caption: str | None = None
    classifier_modality: str | None = None
    classifier_view: str | None = None
    classifier_confidence: float | None = None
    classifier_reasons: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)


@dataclass
class DocumentFacts:
    """Bibliographic facts about the document a source resolved to (a paper or a case page)."""

    doi: str | None = None
    url: str | None = None  # landing page or case page
    title: str | None = None
    journal: str | None = None
    year: int | None = None
    license: str | None = None  # the collection's short names: "CC BY 4.0", ...
    credit: str | None = None  # goes to other_notes

    def dataset_fields(self) -> dict[str, Any]:
        return {
            "doi": self.doi,
            "url": self.url,
            "license": self.license,
            "other_notes": self.credit,
        }
