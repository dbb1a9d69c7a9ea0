"""Tiles and strips drawn edge to edge come back as one figure; separate pictures do not."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from pipeline.pdf.images import extract_pdf_images
from tests import phantoms
from tests.test_pdf_raw import RawPdf


def strips_pdf(path: Path, picture: np.ndarray, rows: int, cols: int) -> Path:
    """`picture` cut into a rows x cols grid, each tile its own image, drawn edge to edge."""
    pdf = RawPdf()
    height, width = picture.shape[:2]
    th, tw = height // rows, width // cols
    names, content = [], []
    for r in range(rows):
        for c in range(cols):
            xref = pdf.add_image(picture[r * th : (r + 1) * th, c * tw : (c + 1) * tw].copy())
            names.append(f"/T{r}_{c} {xref} 0 R")
            # 0.5 pt per pixel; PDF y grows upwards, so row 0 is drawn highest.
            x, y = 50 + c * tw * 0.5, 500 - (r + 1) * th * 0.5
            content.append(f"q {tw * 0.5} 0 0 {th * 0.5} {x} {y} cm /T{r}_{c} Do Q")
    pdf.add_page("\n".join(content).encode(), f"<</XObject<<{''.join(names)}>>>>")
    return pdf.save(path)


def test_strips_are_stitched_and_the_parts_kept(tmp_path: Path) -> None:
    xray = phantoms.chest_xray_frontal(240, seed=7)
    images = extract_pdf_images(strips_pdf(tmp_path / "strips.pdf", xray, 6, 1), tmp_path / "o")

    *parts, whole = images
    assert len(parts) == 6 and all("tile" in part.flags for part in parts)
    assert whole.parts == [part.index for part in parts] and "stitched" in whole.flags
    assert whole.index == 6 and whole.xref is None and (whole.width, whole.height) == (240, 240)
    assert np.array_equal(cv2.imread(str(whole.file), cv2.IMREAD_GRAYSCALE), xray)
    assert whole.bbox == (50.0, 100.0, 170.0, 220.0)


def test_a_grid_of_tiles_is_stitched(tmp_path: Path) -> None:
    xray = phantoms.chest_xray_frontal(240, seed=8)
    images = extract_pdf_images(strips_pdf(tmp_path / "grid.pdf", xray, 2, 2), tmp_path / "o")
    stitched = [image for image in images if image.parts]
    assert len(stitched) == 1 and len(stitched[0].parts) == 4
    assert np.array_equal(cv2.imread(str(stitched[0].file), cv2.IMREAD_GRAYSCALE), xray)


def test_two_radiographs_drawn_edge_to_edge_are_not_stitched(tmp_path: Path) -> None:
    # Regression: same size, same scale and touching, but two different pictures.
    left = phantoms.chest_xray_frontal(200, seed=1)
    right = 255 - phantoms.chest_xray_frontal(200, seed=2)
    images = extract_pdf_images(
        strips_pdf(tmp_path / "pair.pdf", np.hstack([left, right]), 1, 2), tmp_path / "o"
    )
    assert len(images) == 2 and not any(image.parts or "tile" in image.flags for image in images)
