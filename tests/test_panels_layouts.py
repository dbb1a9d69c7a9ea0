"""Every layout class of journal figures is cut into its panels, each with its letter and its
part of the caption; single pictures are not cut (layouts: tests/fixtures/composites.jsonl)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.compound import split_figure
from pipeline.pdf.caption_text import split_panel_captions
from tests import phantoms
from tests.composites import (
    build,
    case_report_pdf,
    extracted_with_panels,
    load_layouts,
    matched,
)

LAYOUTS = load_layouts()


@pytest.mark.parametrize("case", LAYOUTS, ids=[case["id"] for case in LAYOUTS])
def test_layout_is_cut_into_its_panels(case: dict) -> None:
    composite = build(case)
    split = split_figure(composite.image, composite.caption)
    if not composite.expect_cut:
        assert split.panels == (), split.reason
        return
    boxes = [panel.box for panel in split.panels]
    assert matched(composite.boxes, boxes) == len(composite.boxes) == len(boxes), split.reason
    parts = split_panel_captions(composite.caption)
    if len(parts) == len(boxes):
        assert [(p.letter, p.caption) for p in split.panels] == list(parts.items())
        assert not any(p.guessed for p in split.panels)
    else:
        assert [p.letter for p in split.panels] == [chr(65 + n) for n in range(len(boxes))]
        assert all(p.guessed and p.caption is None for p in split.panels)
    if "found_by" in case:  # the kind of separator that must be seen
        assert all(case["found_by"] in panel.found_by for panel in split.panels)


def test_case_report_pdf_keeps_each_panel_with_its_letter_caption_part_and_place(
    tmp_path: Path,
) -> None:
    chosen = [case for case in LAYOUTS if case["id"] in ("abutting-1x3", "dark-2x2-in-white")]
    composites = [build(case) for case in chosen]
    images = extracted_with_panels(case_report_pdf(tmp_path / "cr.pdf", composites), tmp_path)
    figures = [image for image in images if image.panel_of is None]
    assert len(figures) == 2
    for composite, figure in zip(composites, figures, strict=True):
        panels = [image for image in images if image.panel_of == figure.index]
        parts = split_panel_captions(figure.caption or "")
        assert [(p.panel, p.panel_caption) for p in panels] == list(parts.items())
        assert matched(composite.boxes, [p.panel_box for p in panels]) == len(composite.boxes)
        assert all(p.page == figure.page and p.flags == ["panel"] for p in panels)


@pytest.mark.parametrize("layout", ["white-1x2", "dark-1x3"])
def test_a_row_of_small_panels_stored_downsampled_is_cut(layout: str, tmp_path: Path) -> None:
    # stored at 120 px high, as JPEG: panels as small as the smallest CT slices curators took
    [case] = [case for case in LAYOUTS if case["id"] == layout]
    composite = build(case)
    scale = 120 / min(composite.image.shape[:2])
    pdf = case_report_pdf(tmp_path / "small.pdf", [composite], print_scale=scale)
    images = extracted_with_panels(pdf, tmp_path)
    [figure] = [image for image in images if image.panel_of is None]
    panels = [image for image in images if image.panel_of == figure.index]
    found = [tuple(round(v / scale) for v in p.panel_box) for p in panels]
    assert min(figure.width, figure.height) == 120
    assert matched(composite.boxes, found) == len(composite.boxes) == len(panels)


def test_below_crossed_min_side_no_gutter_is_found_by_wiping_strokes() -> None:
    # under 160 px a film's ribs are as thin as text: wiping strokes would turn its
    # mediastinum into a gutter, so gutters that only show once strokes are wiped are not used
    from pipeline.compound import CROSSED_MIN_SIDE

    canvas = np.full((330, 610), 255, np.uint8)
    canvas[20:310, :290] = cv2.resize(phantoms.chest_xray_frontal(512, 1), (290, 290))
    canvas[20:310, 320:] = cv2.resize(phantoms.chest_xray_frontal(512, 2), (290, 290))
    for y in (60, 160, 260):  # words across the gutter
        cv2.putText(canvas, "RIGHT LEFT", (230, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    small = cv2.resize(canvas, (240, 130), interpolation=cv2.INTER_AREA)
    assert min(small.shape) < CROSSED_MIN_SIDE

    panels = split_figure(small).panels

    assert len(panels) == 2
    assert not any("crossed" in panel.found_by for panel in panels)


def test_caption_naming_the_panels_lets_an_uneven_pair_be_cut() -> None:
    """A large film and a small CT slice with white around: not alike, not filling the
    figure, so cut only when the caption says there are two panels."""
    canvas = np.full((520, 900), 255, dtype=np.uint8)
    canvas[10:510, 10:510] = phantoms.chest_xray_frontal(500, seed=1)
    canvas[300:470, 600:770] = phantoms.ct_axial(170, seed=2)
    assert split_figure(canvas).panels == ()
    caption = "Figure 2. (A) Radiograph on admission. (B) CT on day 3."
    split = split_figure(canvas, caption)
    assert [(p.letter, p.caption) for p in split.panels] == [
        ("A", "Radiograph on admission."),
        ("B", "CT on day 3."),
    ]


def lung_window_crop(seed: int) -> np.ndarray:
    """Two dark lungs with a white mediastinum between them, as a CT in lung window cropped
    tight: the white band runs the full height, with ragged edges."""
    crop = np.full((400, 460), 250, dtype=np.uint8)
    for cx, tilt in ((120, 8), (340, -8)):
        cv2.ellipse(crop, (cx, 200), (95, 185), tilt, 0, 360, 40, -1)
    rng = np.random.default_rng(seed)
    return np.clip(crop + rng.normal(0, 3, crop.shape), 0, 255).astype(np.uint8)


def test_lung_window_ct_crop_on_white_is_not_cut_at_its_white_mediastinum() -> None:
    figure = np.full((440, 500), 255, dtype=np.uint8)
    figure[20:420, 20:480] = lung_window_crop(3)
    assert split_figure(figure).panels == ()


def test_smooth_bright_band_inside_a_film_is_not_a_gutter() -> None:
    film = phantoms.chest_xray_frontal(500, seed=4).astype(np.float32)
    band = np.exp(-(((np.arange(500) - 250) / 30.0) ** 2)) * 80  # blurred spine, full height
    film = np.clip(film + band[None, :], 0, 255).astype(np.uint8)
    assert split_figure(film).panels == ()


def test_panel_record_to_json() -> None:
    split = split_figure(build(LAYOUTS[0]).image, LAYOUTS[0]["caption"])
    data = split.panels[0].to_json()
    assert data["letter"] == "A" and data["found_by"] == ["gutter"]
    assert len(data["box"]) == 4 and data["caption"].endswith("on admission.")


def test_caption_count_finds_faint_seams_between_two_films_of_one_patient() -> None:
    """Two frontal films abutting, alike at their edges: one picture, unless the caption
    says there are two panels; then the faint seam where a 1x2 grid puts it cuts."""
    first = phantoms.chest_xray_frontal(500, seed=1)[50:450, 50:450]
    second = (phantoms.chest_xray_frontal(500, seed=2)[50:450, 50:450] * 0.85).astype(np.uint8)
    pair = np.hstack([first, second])
    assert split_figure(pair).panels == ()
    split = split_figure(pair, "Figure 1. (A) Day 1. (B) Day 5.")
    assert [(p.box, p.letter, p.found_by) for p in split.panels] == [
        ((0, 0, 400, 400), "A", ("seam", "caption")),
        ((400, 0, 800, 400), "B", ("seam", "caption")),
    ]


def test_letters_for_regions_of_one_film_do_not_cut_it() -> None:
    """A caption naming (A) and (B) for findings in one CT crop: the ragged mediastinum
    in its middle is no seam."""
    caption = "Figure 3. CT showing consolidation (A) and ground-glass opacity (B)."
    assert len(split_panel_captions(caption)) == 2
    split = split_figure(lung_window_crop(5), caption)
    assert split.panels == () and "the caption names 2" in split.reason


def test_a_pair_left_as_one_picture_is_cut_where_the_grid_of_the_others_runs() -> None:
    """A 2x2 figure whose lower two films abut, alike at their edges (one picture to the
    cut): the caption names four panels, and the upper row's column line runs where a faint
    seam lies between them."""
    figure = np.full((830, 820), 255, dtype=np.uint8)
    figure[10:410, 10:405] = phantoms.ct_axial(400, seed=3)[:, :395]
    figure[10:410, 415:810] = phantoms.ct_axial(400, seed=4)[:, 5:]
    first = phantoms.chest_xray_frontal(500, seed=1)[50:450, 50:450]
    second = (phantoms.chest_xray_frontal(500, seed=2)[50:450, 50:450] * 0.85).astype(np.uint8)
    figure[420:820, 10:810] = np.hstack([first, second])
    assert len(split_figure(figure).panels) != 4
    caption = "Figure 1. (A) CT, day 1. (B) CT, day 5. (C) Film, day 1. (D) Film, day 5."
    split = split_figure(figure, caption)
    assert [p.letter for p in split.panels] == ["A", "B", "C", "D"]
    (_, _, end_c, _), (start_d, _, _, _) = split.panels[2].box, split.panels[3].box
    assert abs(end_c - 410) <= 2 and abs(start_d - 410) <= 2
    assert split.panels[3].found_by[-2:] == ("seam", "caption")


def test_a_film_beside_two_stacked_slices_is_not_cut_at_their_line() -> None:
    """A large film spanning both rows of an uneven grid: the line between the two slices
    beside it runs through the film, which has no seam there, whatever the caption counts."""
    figure = np.full((420, 640), 255, dtype=np.uint8)
    figure[10:410, 10:410] = phantoms.chest_xray_frontal(500, seed=1)[50:450, 50:450]
    figure[10:205, 420:615] = phantoms.ct_axial(195, seed=3)
    figure[215:410, 420:615] = phantoms.ct_axial(195, seed=4)
    caption = "Figure 2. (A) Film. (B) CT, apex. (C) CT, base. (D) Not shown."
    split = split_figure(figure, caption)
    assert [p.box for p in split.panels][0] == (10, 10, 410, 410)
    assert len(split.panels) == 3


def slice_on_white(seed: int, side: int = 390) -> np.ndarray:
    """A tight crop of a slice printed on white: the body runs off the crop's sides, so the
    white around it reaches the side edges on most, not all, of their length."""
    ct = phantoms.ct_axial(side, seed=seed)
    body = np.zeros((side, side), np.uint8)
    axes = (int(side * 0.55), int(side * 0.3))
    cv2.ellipse(body, (side // 2, side // 2), axes, 0, 0, 360, 1, -1)
    return np.where(body > 0, ct, 252).astype(np.uint8)


def test_a_white_gutter_the_slices_bleed_into_is_cut_where_the_grid_runs() -> None:
    """Two slices on white with a white gutter between them: the white spills over both
    edges of the gutter on most of its length, as a white band inside a picture does, so
    the cut leaves them one picture. The caption names four panels and the upper row's
    gutter runs where this one is: it cuts."""
    figure = np.full((820, 820), 255, dtype=np.uint8)
    figure[10:400, 10:400] = phantoms.ct_axial(390, seed=1)
    figure[10:400, 420:810] = phantoms.ct_axial(390, seed=2)
    figure[420:810, 10:400] = slice_on_white(3)
    figure[420:810, 420:810] = slice_on_white(4)
    assert len(split_figure(figure).panels) == 3
    caption = "Figure 1. (A) Day 1. (B) Day 3. (C) Day 5. (D) Day 7."
    split = split_figure(figure, caption)
    assert [p.letter for p in split.panels] == ["A", "B", "C", "D"]
    lower_left, lower_right = split.panels[2], split.panels[3]
    assert lower_left.box[2] <= 402 and lower_right.box[0] >= 418
    assert lower_right.found_by == ("gutter", "caption")


def test_a_picture_spanning_more_cells_than_the_caption_has_left_stays_whole() -> None:
    """A row of three slices the cut left as one picture under two rows of three: with
    letters for one more panel only, cutting it would make a panel too many, and keeping two
    of its three cells would drop a slice; it stays whole. With letters for two more, it is
    cut into its three slices."""
    from pipeline.compound.split import _cells_the_others_imply
    from pipeline.compound.xycut import Leaf

    figure = np.full((640, 640), 255, dtype=np.uint8)
    cells = []
    for row in range(3):
        for column in range(3):
            x, y = 10 + column * 210, 10 + row * 210
            figure[y : y + 200, x : x + 200] = phantoms.ct_axial(200, seed=3 * row + column + 1)
            cells.append((x, y, x + 200, y + 200))
    singles = [Leaf(box, ("gutter",)) for box in cells[:6]]
    lower_row = Leaf((10, 430, 630, 630), ("gutter",))
    kept = _cells_the_others_imply(figure, [*singles, lower_row], named=8)
    assert [leaf.box for leaf in kept] == [*cells[:6], lower_row.box]
    cut = _cells_the_others_imply(figure, [*singles, lower_row], named=9)
    assert len(cut) == 9
    assert [leaf.box[0] for leaf in cut[6:]] == [10, 220, 430]
