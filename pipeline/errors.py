"""Errors that name the source they happened to and why."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class for errors the pipeline reports to the user."""


class SourceError(PipelineError):
    """A source (a PDF file, a DOI, a case URL) could not be processed.

    `str(err)` is one line: "<source>: <reason>", ready for stderr and for the
    error column recorded against the source.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class ImageReadError(PipelineError):
    """An image file could not be decoded."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
