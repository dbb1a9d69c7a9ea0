"""The case-report panel score (bench/eval_panels.py): which expected panel a found box is,
and which panels count as staged."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from eval_panels import _scored, score  # noqa: E402

from pipeline.document import DocumentImage  # noqa: E402
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


def test_each_found_panel_is_read_against_the_file_drawn_into_its_expected_panel() -> None:
    """Found panels come in any order: the one over an expected panel is read with the file
    drawn there."""
    composite = build(next(case for case in load_layouts() if case["id"] == "white-2x2"))
    drawn = [Path(f"drawn-{n}.png") for n in range(len(composite.boxes))]
    figure = DocumentImage(index=0, file=Path("figure.png"))
    panels = [
        DocumentImage(index=1 + n, file=Path(f"panel-over-{n}.png"), panel_of=0,
                      panel_box=composite.boxes[n])
        for n in reversed(range(len(composite.boxes)))
    ]  # fmt: skip

    class Reader:
        def staged(self, panel_file: Path, drawn_file: Path) -> bool:
            assert panel_file.name == "panel-over-" + drawn_file.name.removeprefix("drawn-")
            return True

    scored = _scored([composite], [figure, *panels], False, [drawn], Reader())  # type: ignore[arg-type]
    assert scored["panel_recall"] == 1.0 and scored["panels_staged"] == 1.0
