"""Build small PDFs for tests with PyMuPDF: images of known kinds and their captions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pymupdf

from tests import phantoms


@dataclass
class Figure:
    image: np.ndarray
    caption: str
    encoding: str = "png"  # "png" or "jpeg"


def encode(image: np.ndarray, encoding: str = "png") -> bytes:
    ok, data = cv2.imencode(".jpg" if encoding == "jpeg" else ".png", image)
    assert ok
    return data.tobytes()


def write_pdf(path: Path, pages: list[list[Figure]], *, title: str = "A case report") -> Path:
    """One page per list of figures, stacked top to bottom, each with its caption below."""
    doc = pymupdf.open()
    for figures in pages:
        page = doc.new_page(width=595, height=842)
        page.insert_text((56, 50), title, fontsize=14)
        y = 70.0
        height = min((842 - 100) / max(1, len(figures)) - 40, 595 - 150 - 56)
        for figure in figures:
            rect = pymupdf.Rect(150, y, 150 + height, y + height)
            page.insert_image(rect, stream=encode(figure.image, figure.encoding))
            caption_box = pymupdf.Rect(56, y + height + 4, 540, y + height + 38)
            page.insert_textbox(caption_box, figure.caption, fontsize=9)
            y += height + 40
    doc.save(path)
    doc.close()
    return path


def case_report_pdf(path: Path) -> Path:
    """A paper with a chest X-ray, a CT slice and a bar chart, each with a caption."""
    return write_pdf(
        path,
        [
            [
                Figure(
                    phantoms.chest_xray_frontal(384, seed=1),
                    "Figure 1. Chest radiograph of a 65-year-old man on day 5 of illness.",
                    "jpeg",
                ),
                Figure(phantoms.bar_chart(384, seed=2), "Figure 2. Daily case counts."),
            ],
            [
                Figure(
                    phantoms.ct_axial(384, seed=3),
                    "Figure 3. Axial CT of the same patient showing ground-glass opacity.",
                ),
            ],
        ],
    )
