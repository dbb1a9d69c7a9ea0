"""How much work and memory one input may cost before it is refused with a named reason.

A hostile or broken PDF can make a faithful walk of its content streams do without end
(ten nested forms each drawing the next ten times are 10^9 draws in 6 KB), and one image
can need gigabytes once decoded. Every such input is stopped by a budget here, never by
the machine running out of memory. The numbers live in configs/pipeline.toml
[extraction]; the defaults below are the one place they are written in code, and
`pdf_budget` the one place they are read.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, TypeVar

from pipeline.errors import SourceError

if TYPE_CHECKING:
    from pipeline.config import Config

MB = 1024 * 1024
B = TypeVar("B", bound="ImageBudget")


@dataclass(frozen=True)
class ImageBudget:
    """Limits for one image: its pixels, and the bytes of it decoded and held at once
    (150 MP is the cap on any image; 450 MB holds an RGB image at that cap)."""

    max_megapixels: float = 150.0
    max_image_mb: float = 450.0

    @property
    def max_image_bytes(self) -> int:
        return int(self.max_image_mb * MB)

    def refusal(self, width: int, height: int, decoded_bytes: int | None) -> str | None:
        """Why an image of this true size is not decoded, or None. `decoded_bytes` is what
        decoding it would hold (None when it is not decoded whole)."""
        size = f"{width}x{height}"
        if width * height > self.max_megapixels * 1e6:
            return (
                f"too large: {size} is over the {self.max_megapixels:g} MP cap "
                "([extraction] max_megapixels)"
            )
        if decoded_bytes is not None and decoded_bytes > self.max_image_bytes:
            return (
                f"too large to decode: {size} needs {decoded_bytes / MB:.0f} MB, over the "
                f"{self.max_image_mb:g} MB budget ([extraction] max_image_mb)"
            )
        return None


@dataclass(frozen=True)
class PdfBudget(ImageBudget):
    """Limits for extracting one PDF: its images', and the work of walking its content
    streams. Draws are image paints after forms, patterns and soft masks are expanded;
    operators are the q/Q/cm/Do/gs/scn/BI the walk scans; stream bytes are decoded
    content streams (page, form, pattern and appearance)."""

    max_images_per_document: int = 2_000  # distinct images, each decoded and written
    max_draws_per_page: int = 100_000
    max_draws_per_document: int = 1_000_000
    max_operators_per_page: int = 5_000_000
    max_operators_per_document: int = 20_000_000
    max_stream_mb_per_page: float = 256.0
    max_stream_mb_per_document: float = 1024.0


def pdf_budget(config: Config) -> PdfBudget:
    """The budget [extraction] in configs/pipeline.toml sets (defaults for missing keys)."""
    return _from_section(PdfBudget, config)


def image_budget(config: Config) -> ImageBudget:
    """The image limits [extraction] in configs/pipeline.toml sets."""
    return _from_section(ImageBudget, config)


def _from_section(kind: type[B], config: Config) -> B:
    section = config.section("extraction")
    values = {}
    for spec in fields(kind):
        if spec.name in section:
            values[spec.name] = (int if spec.type == "int" else float)(section[spec.name])
    return kind(**values)


class WorkBudgetExceeded(SourceError):
    """An input asked for more work than its budget allows; it is refused whole."""


class WorkMeter:
    """Counts the work one PDF's walk does, per page and per document, against a budget."""

    def __init__(self, source: str, budget: PdfBudget) -> None:
        self.source = source
        self.budget = budget
        self.page = 0  # 1-based page being walked
        self._page = {"draws": 0, "operators": 0, "bytes": 0, "images": 0}
        self._document = dict(self._page)
        per_page = budget.max_stream_mb_per_page * MB
        per_document = budget.max_stream_mb_per_document * MB
        self._limits = {
            "draws": (budget.max_draws_per_page, budget.max_draws_per_document),
            "operators": (budget.max_operators_per_page, budget.max_operators_per_document),
            "bytes": (per_page, per_document),
            "images": (budget.max_images_per_document, budget.max_images_per_document),
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
