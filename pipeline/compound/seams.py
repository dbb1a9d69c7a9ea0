"""Seams: where panels abut with no gutter, the image jumps between two neighbouring lines
along most of their length, far more than between the lines around; the pieces seams leave
are alike in length (or sit on a regular pitch, or match the count a caption names).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.compound.lines import Separator, as_lines
from pipeline.compound.pieces import ALIKE, MAX_PANELS

SEAM_STRENGTH = 4.0  # jump across the seam over the median jump between nearby lines
SEAM_SHARE = 0.6  # share of the seam's length where the jump stands out
WEAK_SEAM_STRENGTH = 2.0  # enough where a regular pitch of strong seams expects one
EVEN_SEAM_SHARE = 0.4  # and where only the caption's count of panels expects one
BLEND_PEAK = 1.5  # a seam resampled onto one mixed line: its two-line jump over those beside
_PITCH_SLACK = 0.03  # share of the length a seam may stray from its place on the pitch
_SEAM_WINDOW = 8  # lines either side that give the usual jump
_SEAM_SPACING = 6  # seams closer than this are one seam (a hairline has two edges)


def _moving_median(values: np.ndarray, half: int, skip: np.ndarray | None = None) -> np.ndarray:
    """The median of the values around each one, leaving out those `skip` marks."""
    padded = np.pad(values.astype(np.float64), half, mode="reflect")
    if skip is not None:
        padded[np.pad(skip, half, mode="reflect")] = np.nan
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    # leave out the centre and its neighbours: a seam must stand out from lines beside it
    keep = np.r_[0 : half - 1, half + 2 : 2 * half + 1]
    around = windows[:, keep]
    if skip is None:
        return np.median(around, axis=1)
    median = np.zeros(len(values))
    some = (~np.isnan(around)).any(axis=1)
    median[some] = np.nanmedian(around[some], axis=1)
    return median


def seam_profile(region: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per boundary between line i and i+1: how far the jump across it exceeds the usual jump
    between nearby lines, and on what share of its length it stands out.

    A figure resampled to its printed size mixes two abutting panels in the line where their
    seam falls, and the jump is split between the two boundaries of that line. So the jump
    over two lines (i to i+2; the mixed line goes with the piece after the boundary) counts
    too, where it peaks: BLEND_PEAK times the two-line jumps beside it, which hold half the
    step each. An edge inside a picture (a spine, a rib) ramps over several lines and its
    two-line jumps beside the strongest are nearly as strong.
    """
    lines = as_lines(region, axis).astype(np.int16)
    strength, share = _jumps(lines, 1)
    if lines.shape[0] >= 5:
        over_two, share_two = _jumps(lines, 2)
        beside = np.maximum(np.r_[np.inf, over_two[:-1]], np.r_[over_two[1:], np.inf])
        blend = (over_two >= BLEND_PEAK * beside) & (over_two > strength[:-1])
        strength[:-1][blend] = over_two[blend]
        share[:-1][blend] = share_two[blend]
    return strength, share


def _jumps(lines: np.ndarray, gap: int) -> tuple[np.ndarray, np.ndarray]:
    jump = np.abs(lines[gap:] - lines[:-gap])  # (n-gap, length)
    mean_jump = jump.mean(axis=1)
    # A line with detail that repeats the one before (an image enlarged by repeating its
    # pixels) says nothing of the usual jump: counted, its 0 would make every boundary
    # between the original lines stand out as a seam. Flat lines (a gutter) still count.
    repeated = mean_jump == 0
    if repeated.any():  # most regions have none: the lines' extremes are read only if so
        same = lines[gap:][repeated]
        repeated[repeated] = same.max(axis=1) != same.min(axis=1)
    usual = _moving_median(mean_jump, _SEAM_WINDOW, repeated if repeated.any() else None)
    share = np.count_nonzero(jump > (2.0 * usual + 6.0)[:, None], axis=1) / jump.shape[1]
    return mean_jump / (usual + 1.0), share


@dataclass(frozen=True)
class SeamSearch:
    """The strong seams along one axis of a region, and every boundary's strength."""

    length: int  # lines along the axis
    strong: list[int]  # the line index each strong seam cuts before
    strength: np.ndarray


def strong_seams(region: np.ndarray, axis: int, *, margin: float = 0.1) -> SeamSearch:
    """Where the image jumps along most of a line, away from the region's ends."""
    n = as_lines(region, axis).shape[0]
    if n < 4 * _SEAM_WINDOW:
        return SeamSearch(n, [], np.zeros(max(0, n - 1)))
    strength, share = seam_profile(region, axis)
    strong = (strength >= SEAM_STRENGTH) & (share >= SEAM_SHARE)
    low, high = int(margin * n), int((1 - margin) * n)
    picked: list[int] = []
    for i in sorted(np.flatnonzero(strong[low:high]) + low, key=lambda i: -strength[i]):
        if all(abs(i - j) >= _SEAM_SPACING for j in picked):
            picked.append(int(i))
    return SeamSearch(n, sorted(i + 1 for i in picked), strength)


def seams(search: SeamSearch) -> list[Separator]:
    """Seams that cut the region into pieces of like length, as abutting panels are.

    When the strong seams leave pieces of unlike length but sit on a regular pitch (one seam
    at a third of a strip of three), the missing ones are looked for at the other multiples
    of that pitch, where a weaker jump will do (two processed versions of one slice side by
    side differ little at their seam). A film's edge inside its own frame leaves a sliver
    and a wide piece: no seam.
    """
    cuts = search.strong
    if not cuts:
        return []
    if not _alike_lengths(cuts, search.length):
        cuts = _on_a_pitch(cuts, search.length, search.strength)
    return [Separator(c, c, "seam") for c in cuts]


def even_seams(region: np.ndarray, axis: int, count: int) -> list[Separator]:
    """Seams that cut the region into `count` equal pieces (when a caption says how many
    panels there are), each where expected, with a weak jump that still stands out along
    much of its length (the ragged edge of a CT's mediastinum in the middle of a crop is as
    strong but runs along a tenth of it); [] if one is missing."""
    if count < 2:
        return []
    n = as_lines(region, axis).shape[0]
    cuts = seams_near(region, axis, [round(k * n / count) for k in range(1, count)])
    if None in cuts:
        return []
    return [Separator(c, c, "seam") for c in cuts]


def _alike_lengths(cuts: list[int], n: int) -> bool:
    lengths = np.diff([0, *cuts, n])
    return bool(lengths.min() >= ALIKE * lengths.max())


def _on_a_pitch(cuts: list[int], n: int, strength: np.ndarray) -> list[int]:
    """The cuts completed to a regular pitch, or [] when they do not sit on one."""
    pitch = int(np.diff([0, *cuts, n]).min())
    count = round(n / max(1, pitch))
    if count < 2 or count > MAX_PANELS or abs(n - count * pitch) > _PITCH_SLACK * n:
        return []
    slack = grid_slack(n)
    completed = []
    for k in range(1, count):
        expected = round(k * n / count)
        near = [c for c in cuts if abs(c - expected) <= slack]
        if near:
            completed.append(near[0])
            continue
        best = _strongest_near(strength, expected, slack)
        if best is None or strength[best] < WEAK_SEAM_STRENGTH:
            return []
        completed.append(best + 1)
    if len(completed) != len(set(completed)) or any(c not in completed for c in cuts):
        return []
    return completed if _alike_lengths(completed, n) else []


def grid_slack(length: int) -> int:
    """Lines a separator may stray from where a grid puts it, in a region this long."""
    return max(3, round(_PITCH_SLACK * length))


def seams_near(region: np.ndarray, axis: int, positions: list[int]) -> list[int | None]:
    """For each position (where a grid puts a seam: the caption's count, the other panels),
    the line a faint seam cuts before within grid_slack of it, or None: a weak jump that
    still stands out along much of the line (EVEN_SEAM_SHARE)."""
    n = as_lines(region, axis).shape[0]
    if n < 4 * _SEAM_WINDOW:
        return [None] * len(positions)
    strength, share = seam_profile(region, axis)
    found: list[int | None] = []
    for position in positions:
        best = _strongest_near(strength, position, grid_slack(n))
        weak = best is None or strength[best] < WEAK_SEAM_STRENGTH
        found.append(None if weak or share[best] < EVEN_SEAM_SHARE else best + 1)
    return found


def _strongest_near(strength: np.ndarray, position: int, slack: int) -> int | None:
    """The boundary (line i to i+1: a cut before line i+1) with the strongest jump within
    `slack` of a cut before line `position`; None when no boundary is in reach."""
    lo, hi = max(1, position - slack), min(len(strength), position + slack)
    if hi < lo:
        return None
    return lo - 1 + int(np.argmax(strength[lo - 1 : hi]))
