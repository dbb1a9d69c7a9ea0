"""The eval gate (bench/gate.py): figures against the floors pinned in a TOML file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import gate  # noqa: E402


@pytest.fixture
def floors(tmp_path: Path) -> Path:
    path = tmp_path / "floors.toml"
    path.write_text('[demo]\naccuracy = 0.9\nrecall = 0.8\n\n[demo.max]\nfalse_rate = 0.05\n')
    return path


def test_figures_at_or_above_their_floors_pass(floors: Path) -> None:
    figures = {"accuracy": 0.9, "recall": 0.95, "false_rate": 0.0}
    assert gate.check("demo", figures, floors) == 0


def test_a_figure_below_its_floor_fails(floors: Path, capsys: pytest.CaptureFixture) -> None:
    assert gate.check("demo", {"accuracy": 0.89, "recall": 0.9, "false_rate": 0.0}, floors) == 1
    assert "accuracy" in capsys.readouterr().out.split("out of bounds")[-1]


def test_a_figure_above_its_ceiling_fails(floors: Path) -> None:
    assert gate.check("demo", {"accuracy": 1.0, "recall": 1.0, "false_rate": 0.06}, floors) == 1


def test_a_pinned_figure_that_is_not_reported_fails(floors: Path) -> None:
    assert gate.check("demo", {"accuracy": 1.0, "false_rate": 0.0}, floors) == 1


def test_a_partial_run_checks_only_what_it_reported(floors: Path) -> None:
    assert gate.check("demo", {"accuracy": 1.0}, floors, only_reported=True) == 0
    assert gate.check("demo", {"accuracy": 0.5}, floors, only_reported=True) == 1


def test_the_shipped_floors_name_evaluations_that_exist() -> None:
    for name in gate.sections(BENCH / "floors.toml"):
        assert (BENCH / f"eval_{name}.py").is_file(), name
        floors, ceilings = gate.load(name, BENCH / "floors.toml")
        assert floors or ceilings, name
