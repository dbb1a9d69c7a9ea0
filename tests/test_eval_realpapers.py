"""The real-paper score of one page (bench/eval_realpapers.py): what counts as found, false,
and why a counted panel was missed."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from eval_realpapers import Count, score_page  # noqa: E402


def _row(modality: str = "xray", *flags: str, confidence: float = 0.99) -> dict:
    return {"modality": modality, "flags": list(flags), "confidence": confidence}


def test_a_film_flagged_overlay_on_a_page_without_overlays_is_a_missed_clean_panel() -> None:
    score = score_page(Count(xray=3), [_row(), _row(), _row("xray", "overlay")], pieces=3)
    assert (score.clean_found, score.false) == (2, 1)
    assert (score.missed_flagged, score.missed_uncut, score.missed_unstaged) == (1, 0, 0)


def test_missed_panels_are_put_down_to_missing_pieces_before_unstaged_ones() -> None:
    score = score_page(Count(xray=3), [_row()], pieces=2)
    assert score.clean_found == 1
    assert (score.missed_flagged, score.missed_uncut, score.missed_unstaged) == (0, 1, 1)


def test_a_flagged_overlay_that_was_counted_is_no_miss() -> None:
    staged = [_row(), _row("ct"), _row("xray", "overlay")]
    score = score_page(Count(xray=1, ct=1, overlay=1), staged, pieces=3)
    assert (score.clean_found, score.overlay_found, score.false) == (2, 1, 0)
    assert score.modality_right == 2
    assert (score.missed_flagged, score.missed_uncut, score.missed_unstaged) == (0, 0, 0)


def test_the_least_sure_leftovers_are_the_false_candidates() -> None:
    staged = [_row(), _row("xray", "low confidence", confidence=0.59)]
    score = score_page(Count(xray=1), staged, pieces=2)
    assert (score.false, score.false_confident) == (1, 0)
