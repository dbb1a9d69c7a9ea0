"""The case-report panel score (bench/eval_panels.py): which expected panel a found box is,
and which panels count as staged."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from eval_panels import score  # noqa: E402

from tests.composites import build, load_layouts, pairs  # noqa: E402


def test_each_found_box_is_paired_with_one_expected_panel() -> None:
    expected = [(0, 0, 10, 10), (20, 0, 30, 10), (40, 0, 50, 10)]
    found = [(20, 0, 30, 10), (0, 0, 10, 10), (0, 0, 10, 10), (40, 0, 45, 10)]
    assert pairs(expected, found) == [(0, 1), (1, 0)]  # the half-covered third is no match


class _Reader:
    """Stages the panels whose drawn file is named in `radiographs`; records what it read."""

    def __init__(self, radiographs: set[str]) -> None:
        self.radiographs = radiographs
        self.read: list[str] = []

    def staged(self, panel_file: Path, drawn: Path) -> bool:
        assert panel_file.exists()
        self.read.append(drawn.name)
        return drawn.name in self.radiographs


def test_panels_staged_count_the_panels_drawn_from_files_that_the_reader_stages() -> None:
    case = next(case for case in load_layouts() if case["id"] == "white-2x2")
    composite = build(case)
    drawn = [Path("a.png"), Path("b.png"), None, Path("d.png")]  # the third: a phantom
    reader = _Reader({"a.png", "d.png"})
    scored = score([composite], False, [drawn], reader)  # type: ignore[arg-type]
    assert scored["panel_recall"] == 1.0
    assert sorted(reader.read) == ["a.png", "b.png", "d.png"]
    assert scored["panels_staged"] == 2 / 3
