"""What separates two panels along one axis of a figure, and the lines it is read from.

Every separator is read from line statistics of a grey working copy (rows for a horizontal
cut, columns for a vertical one), so they work for white and dark backgrounds alike:

- a *gutter* or *line* is a run of nearly flat lines of one colour (at most a few pixels of
  a letter or an arrow may cross it) running the whole length of the region; runs a few
  pixels wide are lines (hairline separators), wider ones gutters (this module);
- a *seam* is where two panels abut with no gutter: the image changes abruptly between two
  neighbouring lines along nearly their whole length (seams.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

FLAT_TOLERANCE = 10.0  # grey levels a gutter pixel may stray from the line's level
FLAT_SHARE = 0.95  # share of a gutter line's pixels within that tolerance
CROSSED_SHARE = 0.6  # a line this flat may be a gutter crossed by text
DARK = 32.0  # a line this dark nearly throughout is flat (black gutter, dark film margin)
STRICT_TOLERANCE = 4.0  # a gutter in the background colour is flatter than anything in a film
STRICT_SHARE = 0.9
SAME_COLOUR = 24.0  # grey levels between the medians of lines of one run
LINE_WIDTH = 2  # runs up to this many working pixels are thin lines, wider ones gutters
EDGE_STEP = 16.0  # mean grey step between a gutter and the lines beside it
_EDGE_REACH = 6  # lines either side of a gutter where that step is looked for
EDGE_BLEED = 0.5  # share of a line just past a light gutter that may still be of its colour
LIGHT = 128.0
_SAMPLE_ABOVE = 200  # lines longer than this are sampled at every other pixel
_STROKE = np.ones((5, 5), np.uint8)  # strokes thinner than this (working pixels) are text
_STROKE_CONTRAST = 30  # grey levels a stroke stands out from its ground
_ACROSS = np.ones((1, 25), np.uint8)  # strokes this long are lines, not text
_DOWN = np.ones((25, 1), np.uint8)
_END_SLACK = 2  # runs this close to the region's ends are its margins, not separators
_EDGE_GAP = 1  # lines between the gutter and the line checked for it (blur of the edge)


@dataclass(frozen=True)
class Separator:
    start: int  # first line of the separator, in the region
    stop: int  # one past its last line (start == stop for a seam between two lines)
    kind: str  # "gutter", "line", "crossed" (a gutter strokes cross) or "seam"


@dataclass(frozen=True)
class LineStats:
    flat: np.ndarray  # bool per line: nearly flat (or dark nearly throughout)
    strict: np.ndarray  # bool per line: flat within STRICT_TOLERANCE
    level: np.ndarray  # grey level of its flat part, per line
    share: np.ndarray  # share of each line within FLAT_TOLERANCE of its level


def as_lines(region: np.ndarray, axis: int) -> np.ndarray:
    """The region as a stack of lines: columns for axis=1 (vertical cuts), rows for axis=0."""
    return region.T if axis == 1 else region


def line_stats(region: np.ndarray, axis: int) -> LineStats:
    """Flatness of each line. The level of a line's flat part is the mean of its pixels near
    the line's mean (when 95% of a line lies within a band, its mean is at most 25 levels off
    that band): a quarter of the cost of a median per line, and as good for this test. Long
    lines are sampled at every other pixel along them (shares of a line, halved cost)."""
    import cv2

    lines = as_lines(region, axis)
    if lines.shape[1] > _SAMPLE_ABOVE:
        lines = lines[:, ::2]
    lines = np.ascontiguousarray(lines)
    length = lines.shape[1]
    wide = lines.astype(np.int16)
    rough = cv2.reduce(lines, 1, cv2.REDUCE_AVG, dtype=cv2.CV_32F).astype(np.int16)
    near = np.abs(wide - rough) <= 40
    level = np.where(near, wide, 0).sum(axis=1) / np.maximum(np.count_nonzero(near, axis=1), 1)
    off = np.abs(wide - level.astype(np.int16)[:, None])
    share = np.count_nonzero(off <= FLAT_TOLERANCE, axis=1) / length
    strict = np.count_nonzero(off <= STRICT_TOLERANCE, axis=1) >= STRICT_SHARE * length
    dark = np.count_nonzero(lines <= DARK, axis=1) >= FLAT_SHARE * length
    return LineStats((share >= FLAT_SHARE) | dark, strict, np.where(dark, 0.0, level), share)


def flat_runs(flat: np.ndarray, level: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of flat lines of one colour (a white gutter beside a black film margin
    is two runs)."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, is_flat in enumerate(flat):
        if start is not None and (not is_flat or abs(level[i] - level[start]) > SAME_COLOUR):
            runs.append((start, i))
            start = None
        if is_flat and start is None:
            start = i
    if start is not None:
        runs.append((start, len(flat)))
    return runs


def without_strokes(gray: np.ndarray) -> np.ndarray:
    """The figure with short thin strokes wiped out: dark ones on light ground (tick labels
    between two plots, a letter across a gutter), then light ones on dark ground. Long
    straight strokes stay: a plot's frame or a separator line marks a panel's edge."""
    import cv2

    out = gray
    for operation in (cv2.MORPH_CLOSE, cv2.MORPH_OPEN):
        wiped = cv2.morphologyEx(out, operation, _STROKE)
        strokes = (cv2.absdiff(wiped, out) > _STROKE_CONTRAST).astype(np.uint8)
        long = cv2.morphologyEx(strokes, cv2.MORPH_OPEN, _ACROSS) | cv2.morphologyEx(
            strokes, cv2.MORPH_OPEN, _DOWN
        )
        out = np.where(long.astype(bool), out, wiped)
    return out


def gutters(
    region: np.ndarray,
    axis: int,
    background: float | None,
    unstroked: Callable[[], np.ndarray] | None = None,
) -> list[Separator]:
    """Flat runs inside the region (not touching its ends) that cut it across: runs in the
    figure's background colour and mostly strictly flat, or runs of any colour with a step to
    the lines on both sides; either way with straight edges (see _bleeds). A smooth band
    inside a film, the spine or the mediastinum, is nearly flat too, but neither strictly
    flat nor apart from the lines beside it.

    `unstroked` (gives the region without thin strokes) adds the gutters that text crosses (tick
    labels between two plots) where the region itself has none: wiping strokes also wipes
    the fine detail at a film's edge, so it must not move the edges of the others. Looked at
    only when some line falls short of flat by a little (CROSSED_SHARE).
    """
    stats = line_stats(region, axis)
    found = [Run(*run, False) for run in _accepted_runs(as_lines(region, axis), stats, background)]
    if unstroked is not None and ((stats.share >= CROSSED_SHARE) & ~stats.flat).any():
        wiped = unstroked()
        more = _accepted_runs(as_lines(wiped, axis), line_stats(wiped, axis), background)
        found += [Run(*run, True) for run in more if not _overlaps(run, found)]
    separators = []
    for start, stop, crossed in _own_margins_kept(sorted(found)):
        kind = "crossed" if crossed else "line" if stop - start <= LINE_WIDTH else "gutter"
        separators.append(Separator(start, stop, kind))
    return separators


class Run(NamedTuple):
    start: int
    stop: int
    in_background: bool
    crossed: bool  # found only once thin strokes across it were wiped


def _overlaps(run: tuple[int, int, bool], others: list[Run]) -> bool:
    return any(run[0] < other.stop and other.start < run[1] for other in others)


def _accepted_runs(
    lines: np.ndarray, stats: LineStats, background: float | None
) -> list[tuple[int, int, bool]]:
    """(start, stop, in the background colour) of each flat run that is a separator."""
    n = len(stats.flat)
    found: list[tuple[int, int, bool]] = []
    for start, stop in flat_runs(stats.flat, stats.level):
        if start <= _END_SLACK or stop >= n - _END_SLACK:
            continue  # a margin of the region (its first line may blend into the gutter)
        colour = float(stats.level[start:stop].mean())
        in_background = (
            background is not None
            and abs(colour - background) < SAME_COLOUR
            and stats.strict[start:stop].mean() >= 0.5
        )
        if colour >= LIGHT and _bleeds(lines, start, stop, colour):
            continue
        if not in_background:
            before = lines[max(0, start - _EDGE_REACH) : start]
            after = lines[stop : stop + _EDGE_REACH]
            steps = [
                np.abs(side.astype(np.float32) - colour).mean(axis=1).max()
                for side in (before, after)
            ]
            if min(steps) < EDGE_STEP:
                continue
        found.append((start, stop, in_background))
    return found


def _bleeds(lines: np.ndarray, start: int, stop: int, colour: float) -> bool:
    """Whether the run's colour spills over both its edges: a gutter ends at the straight
    edge of a panel on at least one side (a label row on the other side is mostly gutter
    colour too), while a saturated band inside a picture (the white mediastinum of a CT in
    lung window, burnt-out bone) has ragged edges, so the lines just past it on both sides
    are still mostly of its colour. Only light runs are held to this: a dark gutter between
    CT slices on black runs on into the black around each slice, and is a gutter all the
    same."""
    for i in (start - 1 - _EDGE_GAP, stop + _EDGE_GAP):
        if not 0 <= i < len(lines):
            return False
        near = np.count_nonzero(np.abs(lines[i].astype(np.int16) - colour) <= FLAT_TOLERANCE)
        if near < EDGE_BLEED * lines.shape[1]:
            return False
    return True


def _own_margins_kept(runs: list[Run]) -> list[tuple[int, int, bool]]:
    """Touching runs are one separator; where part of it is in the background colour, that
    part alone (the dark margin beside a white gutter belongs to the film). Each with whether
    all its runs were found only once strokes were wiped."""
    groups: list[list[Run]] = []
    for run in runs:
        if groups and groups[-1][-1].stop == run.start:
            groups[-1].append(run)
        else:
            groups.append([run])
    out = []
    for group in groups:
        kept = [run for run in group if run.in_background] or group
        out.append((kept[0].start, kept[-1].stop, all(run.crossed for run in kept)))
    return out


def gutters_near(
    region: np.ndarray,
    axis: int,
    gaps: list[tuple[int, int]],
    background: float | None,
    slack: int,
) -> list[Separator | None]:
    """Where the grid of the other panels has a gutter or a line (each gap: its start and
    stop in this region; panels that abut leave none), a run of lines flat in the figure's
    background colour that lies in that place (give or take `slack` lines), or None. Not held
    to _bleeds: two slices on a white body whose white reaches the gutter on most of its
    length are cut there when the grid and the caption's count both expect it. A white band
    inside one picture (a lung-window mediastinum) is rarely as narrow as the gutter, where
    the gutter is, and across the whole picture."""
    if background is None or all(stop <= start for start, stop in gaps):
        return [None] * len(gaps)
    stats = line_stats(region, axis)
    n = len(stats.flat)
    runs = [
        (start, stop)
        for start, stop in flat_runs(stats.flat, stats.level)
        if start > _END_SLACK and stop < n - _END_SLACK
        and abs(float(stats.level[start:stop].mean()) - background) < SAME_COLOUR
        and stats.strict[start:stop].mean() >= 0.5
    ]  # fmt: skip
    found: list[Separator | None] = []
    for gap_start, gap_stop in gaps:
        on_gap = [
            (start, stop)
            for start, stop in runs
            if gap_stop > gap_start
            # no wider than the grid's gutter (a white band inside the picture), and on it
            and gap_start - slack <= start <= gap_stop and gap_start <= stop <= gap_stop + slack
        ]  # fmt: skip
        found.append(Separator(*on_gap[0], "gutter") if on_gap else None)
    return found
