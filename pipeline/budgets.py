"""How much work and memory one input may cost before it is refused with a named reason.

A hostile or broken PDF can make a faithful walk of its content streams do without end
(ten nested forms each drawing the next ten times are 10^9 draws in 6 KB), and one image
can need gigabytes once decoded. Every such input is stopped by a budget here, never by
the machine running out of memory. The numbers are `ExtractionSettings` (configs/
pipeline.toml [extraction]); the classifier, which has no settings of its own, uses their
defaults.
"""

from __future__ import annotations

from pipeline.config import ExtractionSettings
from pipeline.errors import SourceError

MB = 1024 * 1024
DEFAULT_LIMITS = ExtractionSettings()


def image_refusal(
    limits: ExtractionSettings, width: int, height: int, decoded_bytes: int | None
) -> str | None:
    """Why an image of this true size is not decoded, or None. `decoded_bytes` is what
    decoding it would hold (None when it is not decoded whole)."""
    size = f"{width}x{height}"
    if width * height > limits.max_megapixels * 1e6:
        return (
            f"too large: {size} is over the {limits.max_megapixels:g} MP cap "
            "([extraction] max_megapixels)"
        )
    if decoded_bytes is not None and decoded_bytes > limits.max_image_bytes:
        return (
            f"too large to decode: {size} needs {decoded_bytes / MB:.0f} MB, over the "
            f"{limits.max_image_mb:g} MB budget ([extraction] max_image_mb)"
        )
    return None


class WorkBudgetExceeded(SourceError):
    """An input asked for more work than its budget allows; it is refused whole."""


class WorkMeter:
    """Counts the work one PDF's walk does, per page and per document, against its limits."""

    def __init__(self, source: str, limits: ExtractionSettings) -> None:
        self.source = source
        self.page = 0  # 1-based page being walked
        self._page = {"draws": 0, "operators": 0, "bytes": 0, "images": 0}
        self._document = dict(self._page)
        per_page = limits.max_stream_mb_per_page * MB
        per_document = limits.max_stream_mb_per_document * MB
        self._limits = {
            "draws": (limits.max_draws_per_page, limits.max_draws_per_document),
            "operators": (limits.max_operators_per_page, limits.max_operators_per_document),
            "bytes": (per_page, per_document),
            "images": (limits.max_images_per_document, limits.max_images_per_document),
        }

    def start_page(self, page: int) -> None:
        self.page = page
        self._page = dict.fromkeys(self._page, 0)

    def charge(self, what: str, amount: int) -> None:
        """Add `amount` of `what` ("draws", "operators", "bytes" or "images"); raise when
        over its limit per page or per document."""
        self._page[what] += amount
        self._document[what] += amount
        per_page, per_document = self._limits[what]
        if self._page[what] > per_page and what != "images":
            raise self._exceeded(what, per_page, f"on page {self.page}", "per_page")
        if self._document[what] > per_document:
            raise self._exceeded(what, per_document, "in the document", "per_document")

    def _exceeded(self, what: str, limit: float, where: str, scope: str) -> WorkBudgetExceeded:
        if what == "bytes":
            shown, key = f"{limit / MB:g} MB of content streams", f"max_stream_mb_{scope}"
        else:
            noun = {"draws": "image draws", "images": "distinct images"}.get(what, what)
            shown, key = f"{int(limit):,} {noun}", f"max_{what}_{scope}"
        return WorkBudgetExceeded(
            self.source,
            f"work budget exceeded: more than {shown} {where} ([extraction] {key}); "
            "refused as a hostile or broken PDF",
        )
