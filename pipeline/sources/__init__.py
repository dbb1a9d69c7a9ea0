"""Kinds of source: a local PDF, a DOI, a case-page URL, a PDF link. Each resolves to a
`Document` (see `sources.base.Source`); `open_source` is the one place that maps a kind of
source to its class, for the CLI, the Prefect flows and the nightly run alike."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from pipeline.sources.base import Source

# kind -> "module:Class"; imported on use, so naming a kind costs nothing.
SOURCE_KINDS = {
    "pdf": "pipeline.sources.pdf:LocalPdf",
    "doi": "pipeline.sources.doi:DoiSource",
    "url": "pipeline.sources.casepage:CaseUrl",
    "pdf-url": "pipeline.sources.pdf:PdfLink",
}


def open_source(kind: str, location: str) -> Source:
    """The source of a kind at a location (a file path, a DOI, an address)."""
    if kind not in SOURCE_KINDS:
        raise PipelineError(f"unknown kind of source {kind!r}: one of {', '.join(SOURCE_KINDS)}")
    module, name = SOURCE_KINDS[kind].split(":")
    cls = getattr(importlib.import_module(module), name)
    return cls(Path(location)) if kind == "pdf" else cls(location)


def source_from_arguments(
    *, pdf: str | Path | None = None, doi: str | None = None, url: str | None = None
) -> Source:
    """The source named by the commands' --pdf / --doi / --url (a PDF with a DOI: that DOI's
    facts attached to the file)."""
    if url:
        return open_source("url", url)
    if pdf:
        from pipeline.sources.pdf import LocalPdf

        return LocalPdf(Path(pdf), doi=doi or None)
    if doi:
        return open_source("doi", doi)
    raise PipelineError("give a PDF file (and its DOI), a DOI, or a case-page URL")
