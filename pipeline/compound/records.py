"""What cutting a figure gives: its panels, each with its box, letter and part of the caption."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in the figure's pixels


@dataclass(frozen=True)
class Panel:
    box: Box
    letter: str  # as the caption writes it ("a", "B"), or guessed A, B, C in reading order
    caption: str | None  # the caption's text about this panel, with the shared lead
    # separators that bound it: "gutter", "line" (thin), "crossed" (a gutter that text or
    # arrows cross), "seam" (abutting); "caption" when only the number of panels the
    # caption names made a faint seam count
    found_by: tuple[str, ...]
    guessed: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["box"] = list(self.box)
        data["found_by"] = list(self.found_by)
        return data


@dataclass(frozen=True)
class FigureSplit:
    """The panels of one figure in reading order; none when the figure is not cut, and
    `reason` says why (or how it was cut)."""

    width: int
    height: int
    panels: tuple[Panel, ...] = field(default_factory=tuple)
    reason: str = ""
