"""What every source resolves to: a Document, its facts, and its images.

A source (a local PDF, a DOI, a case page) becomes one `Document`: bibliographic facts, what
a case page says of the patient, and every image with its provenance and whatever the page
declares about it. From there one path serves every kind of source (see pipeline/extract.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from pipeline.records import DocumentFacts

# Extraction markers of images that are never staged: decorations, unusable files, masks,
# tiles of a stitched figure (staged whole), and images the source chose not to take.
NOT_STAGED_FLAGS = frozenset(
    {"icon", "repeated", "too-large", "undecodable", "tile", "in-smask", "not-taken"}
)
# An image drawn on several pages: a background or a letterhead, never a compound figure.
SEVERAL_PAGES = "several-pages"


@dataclass
class CaseFacts:
    """What a case page says about the patient, as plain text (never markup)."""

    site: str
    title: str
    age: float | int | None = None
    sex: str | None = None  # "M" or "F"
    finding: str | None = None  # the collection's finding name
    diagnosis: str | None = None  # the site's words the finding was read from
    certainty: str | None = None  # the site's diagnostic certainty, when it says
    clinical_history: str | None = None
    text: str = ""  # all the case's text, for free-text fields when there is no history
    date: str | None = None  # ISO date the case was published
    language: str | None = None  # "it" for Italian pages; None: detect
    evidence: dict[str, str] = field(default_factory=dict)  # field -> the page's words
    matched: dict[str, str] = field(default_factory=dict)  # field -> markup form it was read by

    @property
    def case_text(self) -> str:
        return self.clinical_history or self.text


@dataclass
class DocumentImage:
    """One image of a document (a drawn PDF image, a downloaded case image, or a panel cut
    from either), with where it came from and what the document says about it."""

    index: int  # unique within the document: the manifest's key for the image
    file: Path | None  # the image file written, None when it was not (see `flags`)
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    page: int | None = None  # PDF page, 1-based
    bbox: tuple[float, ...] | None = None  # where drawn on the page (PDF points)
    xref: int | None = None  # PDF object number (None for inline images)
    url: str | None = None  # the address a downloaded image came from
    caption: str | None = None  # the figure's caption, or the page's legend for the image
    text: str | None = None  # more words about this image (a case study's findings)
    panel: str | None = None  # panel letter, for a panel cut from a figure
    panel_of: int | None = None  # index of the figure a panel was cut from
    panel_caption: str | None = None  # the caption's part for this panel
    panel_box: tuple[int, int, int, int] | None = None  # pixels of the figure: x0, y0, x1, y1
    declared_modality: str | None = None  # what the page says: "X-ray", "CT", another word
    declared_view: str | None = None  # the collection's view name, when the page says
    view_text: str | None = None  # the page's own words for the view
    flags: list[str] = field(default_factory=list)  # extraction markers (NOT_STAGED_FLAGS, ...)
    review_flags: list[str] = field(default_factory=list)  # for the reviewer (a resized copy)
    error: str | None = None  # why the image could not be taken, when it was not
    origin: dict[str, Any] = field(default_factory=dict)  # source-specific provenance (JSON)

    @property
    def stageable(self) -> bool:
        return bool(self.file and self.sha256) and not NOT_STAGED_FLAGS.intersection(self.flags)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["file"] = str(self.file) if self.file is not None else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentImage:
        known = {item.name for item in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["file"] = Path(values["file"]) if values.get("file") else None
        for key in ("bbox", "panel_box"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)


@dataclass
class Document:
    """A source resolved: its facts, its images, and where its files are."""

    source_id: str
    kind: str  # "pdf", "doi" or "url"
    location: str  # the file, DOI or address as given
    out_dir: Path  # extracted/<source id>/: image files and manifest.json
    facts: DocumentFacts = field(default_factory=DocumentFacts)
    images: list[DocumentImage] = field(default_factory=list)
    case: CaseFacts | None = None
    pdf_path: Path | None = None

    @property
    def language(self) -> str | None:
        return self.case.language if self.case else None

    def summary_json(self) -> dict[str, Any]:
        """The document without its images (the head of the manifest)."""
        return {
            "source_id": self.source_id,
            "kind": self.kind,
            "location": self.location,
            "pdf": str(self.pdf_path) if self.pdf_path else None,
            "facts": asdict(self.facts),
            "case": asdict(self.case) if self.case else None,
        }

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any], out_dir: Path) -> Document:
        return cls(
            source_id=manifest["source_id"],
            kind=manifest["kind"],
            location=manifest["location"],
            out_dir=out_dir,
            facts=DocumentFacts(**(manifest.get("facts") or {})),
            images=[DocumentImage.from_json(entry) for entry in manifest.get("images", [])],
            case=CaseFacts(**manifest["case"]) if manifest.get("case") else None,
            pdf_path=Path(manifest["pdf"]) if manifest.get("pdf") else None,
        )
