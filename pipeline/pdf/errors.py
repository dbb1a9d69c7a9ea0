"""The exceptions MuPDF raises for damaged objects, to catch them and nothing else."""

from __future__ import annotations


def mupdf_errors() -> tuple[type[Exception], ...]:
    """RuntimeError/ValueError from PyMuPDF, and the low-level FzError* types (not
    RuntimeError subclasses) from `pymupdf.mupdf` calls.

    TypeError too: PyMuPDF 1.28 sometimes fails to build the FzError for a damaged image
    and raises "FzErrorSyntax.__init__() missing 1 required positional argument" instead
    (seen on a corrupted JPX; the same call on a sound image works).
    """
    from pymupdf import mupdf

    return (RuntimeError, ValueError, TypeError, mupdf.FzErrorBase)
