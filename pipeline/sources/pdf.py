"""PDF sources: a local file (optionally with the DOI it is), and a PDF link to download.

Both end in `pdf_document`: every image the PDF draws, written like `pdfimages -all`, with
its caption, as the document's images.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.document import SEVERAL_PAGES, Document, DocumentImage
from pipeline.files import leftovers
from pipeline.records import DocumentFacts
from pipeline.sources.base import Fetching, StepRunner, run_directly
from pipeline.sources.ids import doi_source_id, pdf_source_id, safe_name, url_source_id

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.http import HttpClient
    from pipeline.pdf.record import PdfImage

def download_pdf(url: str, config: Config, client: HttpClient) -> Path:
    """Fetch a PDF link into extracted/downloads/ (a whole PDF from an earlier run is reused).

    The client writes to a temporary file and moves it into place only when the whole body
    has arrived and opens as a PDF, so a run killed mid-download, or a server that sent half
    a PDF, leaves no PDF behind: only a temporary file, removed here before trying again. A
    file there that is not a whole PDF (left by an older release) is fetched again.
    """
    from pipeline.bodies import complete_pdf, pdf_head

    folder = config.path("extracted") / "downloads"
    name = safe_name(url, max_length=100)
    target = folder / (name if name.lower().endswith(".pdf") else f"{name}.pdf")
    if target.exists():
        if complete_pdf(target) is None:
            return target
        target.unlink(missing_ok=True)
    for leftover in leftovers(target):
        leftover.unlink(missing_ok=True)
    return client.download(url, target, check=pdf_head, complete=complete_pdf)


def document_image(image: PdfImage) -> DocumentImage:
    """A drawn (or stitched) PDF image as a document image; PDF particulars go to `origin`."""
    flags = list(image.flags)
    if len(image.pages) > 1:
        flags.append(SEVERAL_PAGES)
    return DocumentImage(
        index=image.index,
        file=image.file,
        sha256=image.sha256 or None,
        width=image.width,
        height=image.height,
        page=image.page,
        bbox=image.bbox,
        xref=image.xref,
        caption=image.caption,
        flags=flags,
        origin={
            "encoding": image.encoding,
            "colorspace": image.colorspace,
            "pages": image.pages,
            "parts": image.parts,
            "rgba_file": str(image.rgba_file) if image.rgba_file else None,
            "original_file": str(image.original_file) if image.original_file else None,
        },
    )


def extract_images(pdf_path: Path, out_dir: Path, config: Config) -> list[DocumentImage]:
    from pipeline.pdf.images import extract_pdf_images

    drawn = extract_pdf_images(pdf_path, out_dir, limits=config.extraction)
    return [document_image(image) for image in drawn]


def check_pdf(pdf_path: Path) -> None:
    """SourceError unless MuPDF can open the file as a PDF."""
    from pipeline.pdf.open import open_pdf

    open_pdf(pdf_path).close()


def pdf_document(
    pdf_path: Path,
    *,
    source_id: str,
    kind: str,
    location: str,
    facts: DocumentFacts | None,
    fetching: Fetching,
    run_step: StepRunner,
) -> Document:
    run_step("check-pdf", check_pdf, pdf_path)
    out_dir = fetching.config.path("extracted") / source_id
    images = run_step("extract-images", extract_images, pdf_path, out_dir, fetching.config)
    return Document(
        source_id=source_id,
        kind=kind,
        location=location,
        out_dir=out_dir,
        facts=facts or DocumentFacts(),
        images=images,
        pdf_path=pdf_path,
    )


@dataclass
class LocalPdf:
    """A PDF file on disk; with `doi`, the DOI's facts (Crossref) are attached to it."""

    path: Path
    doi: str | None = None

    @property
    def kind(self) -> str:
        return "doi" if self.doi else "pdf"

    @property
    def location(self) -> str:
        return self.doi or str(self.path)

    @cached_property
    def source_id(self) -> str:
        """By DOI when known, else by content: the same bytes under two names are one source."""
        if self.doi:
            return doi_source_id(self.doi)
        try:
            return pdf_source_id(self.path.read_bytes())
        except OSError:
            return f"pdf-missing-{self.path.name}"

    def resolve(self, fetching: Fetching, run_step: StepRunner = run_directly) -> Document:
        facts = None
        if self.doi:
            from pipeline.sources.crossref import resolve_doi

            facts = run_step("resolve-doi", resolve_doi, self.doi, fetching.config)
        return pdf_document(
            self.path,
            source_id=self.source_id,
            kind=self.kind,
            location=self.location,
            facts=facts,
            fetching=fetching,
            run_step=run_step,
        )


@dataclass
class PdfLink:
    """A link to a PDF (a curator's watchlist line): downloaded, then a PDF source named by
    its content."""

    url: str
    kind: str = "pdf-url"

    @property
    def location(self) -> str:
        return self.url

    @property
    def source_id(self) -> str:
        return url_source_id(self.url)

    def resolve(self, fetching: Fetching, run_step: StepRunner = run_directly) -> Document:
        path = run_step("download-pdf", download_pdf, self.url, fetching.config, fetching.http())
        return LocalPdf(path).resolve(fetching, run_step)
